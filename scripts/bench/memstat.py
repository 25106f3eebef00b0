#!/usr/bin/env python3
"""Memory of a server process and all its descendants, from /proc.

  memstat.py PID  ->  one JSON line:
    procs      number of processes (PID and its descendants)
    pss_kib    sum of Pss over them (/proc/N/smaps_rollup): shared pages are
               divided among the processes that map them, so forked session
               processes are not charged the whole shared text/libraries
    rss_kib    sum of VmRSS (counts shared pages once per process)
    root_rss_kib, root_hwm_kib, root_pss_kib   the PID itself (VmRSS, VmHWM, Pss)
"""

import json
import os
import sys


def status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def kib(value: str) -> int:
    return int(value.split()[0]) if value else 0


def pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def tree(root: int) -> list:
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = status(int(name))
        except (FileNotFoundError, ProcessLookupError):
            continue
        if st.get("State", "").startswith("Z"):
            continue
        children.setdefault(int(st.get("PPid", "0")), []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def main() -> None:
    root = int(sys.argv[1])
    total_pss = total_rss = procs = 0
    for pid in tree(root):
        try:
            st = status(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        procs += 1
        total_rss += kib(st.get("VmRSS", ""))
        total_pss += pss(pid)
    st = status(root)
    print(json.dumps({
        "procs": procs,
        "pss_kib": total_pss,
        "rss_kib": total_rss,
        "root_rss_kib": kib(st.get("VmRSS", "")),
        "root_hwm_kib": kib(st.get("VmHWM", "")),
        "root_pss_kib": pss(root),
    }))


if __name__ == "__main__":
    main()
