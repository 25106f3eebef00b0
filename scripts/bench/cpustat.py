#!/usr/bin/env python3
"""CPU seconds a server process and everything it forks use during a phase.

  cpustat.py watch PID OUT   creates OUT.ready once it has its baseline, samples
                             until SIGTERM, then writes the seconds to OUT

Two estimates, and the larger one is written (both can only miss time,
never count it twice):
  - reaped: the change in PID's utime + stime + cutime + cstime. Complete
    when every process is waited for by its parent, up to PID. vsftpd runs
    each session as the init of a new PID namespace (isolate=YES), and the
    session's own children are then not always waited for, so their time
    is lost from this sum.
  - sampled: PID's own utime + stime change, plus, for every descendant
    seen while sampling (every 10 ms), its utime + stime when last seen.
    Misses processes that live less than a sample interval and the last
    few milliseconds of each process.
For one process with threads (ftpkit) both are exact and equal.
"""

import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid: int):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return utime + stime, cutime + cstime


def children(pid: int) -> list:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out.extend(int(x) for x in f.read().split())
            except (FileNotFoundError, ProcessLookupError):
                pass
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] != "watch":
        sys.exit(__doc__)
    root, out = int(sys.argv[2]), sys.argv[3]
    self0, reaped0 = stat(root)
    seen = {}
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    open(out + ".ready", "w").close()
    while True:
        todo = children(root)
        while todo:
            pid = todo.pop()
            try:
                seen[pid] = stat(pid)[0]
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
            todo.extend(children(pid))
        if stop:
            break
        time.sleep(0.01)
    try:
        self1, reaped1 = stat(root)
    except (FileNotFoundError, ProcessLookupError):
        sys.exit(1)  # the server is gone; the script says so
    reaped = (self1 + reaped1) - (self0 + reaped0)
    sampled = (self1 - self0) + sum(seen.values())
    with open(out, "w") as f:
        f.write(f"{max(reaped, sampled) / TICK:.3f}\n")


if __name__ == "__main__":
    main()
