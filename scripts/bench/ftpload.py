#!/usr/bin/env python3
"""Control-connection load for scripts/bench-vs-vsftpd.sh (same helper for every server).

  ftpload.py sessions --port P --count 2000 --concurrency 50 [--procs 2]
      Runs COUNT sessions (connect, 220, USER anonymous, [331 -> PASS], 230,
      QUIT, 221, close), at most CONCURRENCY at a time in total, spread over
      PROCS client processes. Prints one JSON line: ok, failed, seconds, rate.

  ftpload.py files --port P --count 1000 [--dir small]
      Python ftplib (PASV), one control connection: logs in once, then RETRs
      DIR/f00000.bin ... in turn, discarding the bytes. Prints one JSON line:
      files, seconds, rate, slow (files that took over 0.5 s).

  ftpload.py hold --port P --count 1000 --ready FILE
      Logs COUNT sessions in (at most 50 connecting at a time, each retried
      on failure), keeps them all open and idle, writes a JSON line to FILE
      (ok, failed), then waits until it is terminated (SIGTERM) and exits,
      closing every connection.

Loopback only: the host is 127.0.0.1 and cannot be changed.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import sys
import time

HOST = "127.0.0.1"


async def reply(reader: asyncio.StreamReader) -> int:
    """Reads one (possibly multi-line) FTP reply and returns its code."""
    line = await reader.readline()
    if len(line) < 4 or not line[:3].isdigit():
        raise ConnectionError(f"bad reply {line!r}")
    code = line[:3]
    if line[3:4] == b"-":
        while True:
            more = await reader.readline()
            if not more:
                raise ConnectionError("eof in multi-line reply")
            if more[:3] == code and more[3:4] == b" ":
                break
    return int(code)


async def login(port: int):
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        code = await reply(reader)
        if code != 220:
            raise ConnectionError(f"greeting {code}")
        writer.write(b"USER anonymous\r\n")
        code = await reply(reader)
        if code == 331:
            writer.write(b"PASS bench@example.com\r\n")
            code = await reply(reader)
        if code != 230:
            raise ConnectionError(f"login {code}")
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def one_session(port: int) -> None:
    reader, writer = await login(port)
    writer.write(b"QUIT\r\n")
    code = await reply(reader)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    if code != 221:
        raise ConnectionError(f"quit {code}")


async def run_sessions(port: int, count: int, concurrency: int, timeout: float):
    ok = failed = 0
    errors = {}
    next_index = 0

    async def worker():
        nonlocal ok, failed, next_index
        while next_index < count:
            next_index += 1
            try:
                await asyncio.wait_for(one_session(port), timeout)
                ok += 1
            except (OSError, ConnectionError, asyncio.TimeoutError) as e:
                failed += 1
                key = type(e).__name__ + ": " + str(e)[:60]
                errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed, errors


def sessions_proc(args):
    port, count, concurrency, timeout, start_at = args
    # Start together so that the processes overlap.
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    t0 = time.perf_counter()
    ok, failed, errors = asyncio.run(run_sessions(port, count, concurrency, timeout))
    return ok, failed, errors, t0, time.perf_counter()


def cmd_sessions(a) -> None:
    procs = max(1, a.procs)
    counts = [a.count // procs + (1 if i < a.count % procs else 0) for i in range(procs)]
    conc = [a.concurrency // procs + (1 if i < a.concurrency % procs else 0) for i in range(procs)]
    start_at = time.time() + 0.3
    t0 = time.perf_counter()
    with multiprocessing.Pool(procs) as pool:
        results = pool.map(sessions_proc, [(a.port, c, k, a.timeout, start_at) for c, k in zip(counts, conc)])
    # perf_counter is system-wide monotonic on Linux: comparable across processes.
    begin = min(r[3] for r in results)
    end = max(r[4] for r in results)
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    errors = {}
    for r in results:
        for k, v in r[2].items():
            errors[k] = errors.get(k, 0) + v
    seconds = end - begin
    print(json.dumps({"ok": ok, "failed": failed, "seconds": round(seconds, 4),
                      "rate": round(ok / seconds, 1) if seconds > 0 else 0.0, "errors": errors,
                      "wall": round(time.perf_counter() - t0, 3)}))


async def hold(a) -> None:
    conns = []
    failed = 0
    sem = asyncio.Semaphore(50)

    async def open_one():
        nonlocal failed
        async with sem:
            for attempt in range(5):
                try:
                    conns.append(await asyncio.wait_for(login(a.port), 15))
                    return
                except (OSError, ConnectionError, asyncio.TimeoutError):
                    await asyncio.sleep(0.2 * (attempt + 1))
            failed += 1

    await asyncio.gather(*(open_one() for _ in range(a.count)))
    # Let the servers settle (vsftpd's session processes finish their setup).
    await asyncio.sleep(a.settle)
    # Still connected? A closed session reads EOF at once.
    alive = 0
    for reader, _ in conns:
        if not reader.at_eof():
            alive += 1
    with open(a.ready + ".tmp", "w") as f:
        f.write(json.dumps({"ok": len(conns), "alive": alive, "failed": failed}) + "\n")
    os.replace(a.ready + ".tmp", a.ready)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), a.max_hold)
    except asyncio.TimeoutError:
        pass
    for _, writer in conns:
        writer.close()


def cmd_files(a) -> None:
    import ftplib
    ftp = ftplib.FTP()
    ftp.connect(HOST, a.port, timeout=30)
    ftp.login()
    ftp.voidcmd("TYPE I")
    slow = 0
    t0 = time.perf_counter()
    for i in range(a.count):
        t1 = time.perf_counter()
        ftp.retrbinary(f"RETR {a.dir}/f{i:05d}.bin", lambda _b: None)
        if time.perf_counter() - t1 > 0.5:
            slow += 1
    seconds = time.perf_counter() - t0
    ftp.quit()
    print(json.dumps({"files": a.count, "seconds": round(seconds, 4), "rate": round(a.count / seconds, 1),
                      "slow": slow}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sessions")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, default=2000)
    s.add_argument("--concurrency", type=int, default=50)
    s.add_argument("--procs", type=int, default=2)
    s.add_argument("--timeout", type=float, default=10.0)
    f = sub.add_parser("files")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, default=1000)
    f.add_argument("--dir", default="small")
    h = sub.add_parser("hold")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--count", type=int, default=1000)
    h.add_argument("--ready", required=True)
    h.add_argument("--settle", type=float, default=1.0)
    h.add_argument("--max-hold", type=float, default=300.0)
    a = p.parse_args()
    if a.cmd == "sessions":
        cmd_sessions(a)
    elif a.cmd == "files":
        cmd_files(a)
    else:
        asyncio.run(hold(a))


if __name__ == "__main__":
    sys.exit(main())
