#!/usr/bin/env python3
"""Control-connection load for scripts/bench.sh (same helper for every server).

Every mode takes --port P and --user NAME --password PASS (default: anonymous).

  ftpload.py sessions --port P --count 2000 --concurrency 50 [--procs 2]
      Runs COUNT sessions (connect, 220, USER, [331 -> PASS], 230,
      QUIT, 221, close), at most CONCURRENCY at a time in total, spread over
      PROCS client processes. Prints one JSON line: ok, failed, seconds, rate.

  ftpload.py files --port P --count 1000 [--dir small]
      Python ftplib (PASV), one control connection: logs in once, then RETRs
      DIR/f00000.bin ... in turn, discarding the bytes. Prints one JSON line:
      files, seconds, rate, slow (files that took over 0.5 s).

  ftpload.py noop --port P --count 10000
      One logged-in control connection (blocking socket, TCP_NODELAY), 200
      uncounted NOOPs, then COUNT NOOPs one after the other, each timed from
      send to the end of its 200 reply. Prints one JSON line: count,
      median_us, min_us, p90_us, p99_us, max_us.

  ftpload.py hold --port P --count 1000 --ready FILE [--burst 50] [--retries 5]
                 [--retr small/f00000.bin --retr-size 4096]
      Logs COUNT sessions in (at most BURST connecting at a time, each retried
      RETRIES times on failure), keeps them all open and idle, waits SETTLE
      seconds, then sends one NOOP on each (with --retr: downloads that file
      on each, BURST at a time) : a session is alive when it answers 200
      (with --retr: when the whole file and 226 arrive). Writes a JSON line to FILE (ok: logged in, failed: never
      logged in, alive, lost = COUNT - alive, login_seconds: time until the
      last login, errors), then waits until it is terminated (SIGTERM) and
      exits, closing every connection.

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


USER = "anonymous"
PASSWORD = "bench@example.com"


async def login(port: int):
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        code = await reply(reader)
        if code != 220:
            raise ConnectionError(f"greeting {code}")
        writer.write(f"USER {USER}\r\n".encode())
        code = await reply(reader)
        if code == 331:
            writer.write(f"PASS {PASSWORD}\r\n".encode())
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
    global USER, PASSWORD
    port, count, concurrency, timeout, start_at, USER, PASSWORD = args
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
        results = pool.map(sessions_proc, [(a.port, c, k, a.timeout, start_at, USER, PASSWORD)
                                              for c, k in zip(counts, conc)])
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


async def reply_line(reader: asyncio.StreamReader) -> bytes:
    """Reads one single-line reply and returns it whole."""
    line = await reader.readline()
    if len(line) < 4 or not line[:3].isdigit():
        raise ConnectionError(f"bad reply {line!r}")
    return line


async def retr(reader, writer, path: str, size: int) -> bool:
    """TYPE I, PASV, RETR path on a logged-in session: whether `size` bytes
    and 226 arrived. The data connection goes to 127.0.0.1 whatever the 227
    says (loopback only)."""
    writer.write(b"TYPE I\r\n")
    if await reply(reader) != 200:
        return False
    writer.write(b"PASV\r\n")
    line = await reply_line(reader)
    if not line.startswith(b"227"):
        return False
    nums = line[line.index(b"(") + 1:line.index(b")")].split(b",")
    port = int(nums[4]) * 256 + int(nums[5])
    data_reader, data_writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"RETR {path}\r\n".encode())
        if await reply(reader) not in (125, 150):
            return False
        got = 0
        while True:
            chunk = await data_reader.read(65536)
            if not chunk:
                break
            got += len(chunk)
    finally:
        data_writer.close()
    return await reply(reader) == 226 and got == size


async def hold(a) -> None:
    conns = []
    failed = 0
    errors = {}
    sem = asyncio.Semaphore(a.burst)
    t0 = time.perf_counter()
    last_login = t0

    def note(e):
        key = type(e).__name__ + ": " + str(e)[:60]
        errors[key] = errors.get(key, 0) + 1

    async def open_one():
        nonlocal failed, last_login
        async with sem:
            for attempt in range(a.retries + 1):
                try:
                    conns.append(await asyncio.wait_for(login(a.port), a.timeout))
                    last_login = time.perf_counter()
                    return
                except (OSError, ConnectionError, asyncio.TimeoutError) as e:
                    note(e)
                    if attempt < a.retries:
                        await asyncio.sleep(0.2 * (attempt + 1))
            failed += 1

    await asyncio.gather(*(open_one() for _ in range(a.count)))
    login_seconds = last_login - t0
    # Let the servers settle (vsftpd's session processes finish their setup).
    await asyncio.sleep(a.settle)

    # Still there? One NOOP on every session (alive = answered 200), or
    # with --retr one download of that file on every session, all at once
    # (alive = the whole file and 226).
    async def check(conn):
        reader, writer = conn
        try:
            if a.retr:
                return await asyncio.wait_for(retr(reader, writer, a.retr, a.retr_size), a.timeout)
            writer.write(b"NOOP\r\n")
            return await asyncio.wait_for(reply(reader), a.timeout) == 200
        except (OSError, ConnectionError, asyncio.TimeoutError) as e:
            note(e)
            return False

    alive = 0
    for i in range(0, len(conns), a.burst):
        alive += sum(await asyncio.gather(*(check(c) for c in conns[i:i + a.burst])))
    with open(a.ready + ".tmp", "w") as f:
        f.write(json.dumps({"count": a.count, "ok": len(conns), "alive": alive, "failed": failed,
                            "lost": a.count - alive, "login_seconds": round(login_seconds, 3),
                            "errors": errors}) + "\n")
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
    ftp.login(USER, PASSWORD)
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


def cmd_noop(a) -> None:
    import socket
    import statistics
    sock = socket.create_connection((HOST, a.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = sock.makefile("rb")

    def read_reply() -> int:
        line = f.readline()
        if len(line) < 4 or not line[:3].isdigit():
            raise ConnectionError(f"bad reply {line!r}")
        code = line[:3]
        if line[3:4] == b"-":
            while True:
                more = f.readline()
                if not more:
                    raise ConnectionError("eof in multi-line reply")
                if more[:3] == code and more[3:4] == b" ":
                    break
        return int(code)

    if read_reply() != 220:
        raise ConnectionError("no 220 greeting")
    sock.sendall(f"USER {USER}\r\n".encode())
    code = read_reply()
    if code == 331:
        sock.sendall(f"PASS {PASSWORD}\r\n".encode())
        code = read_reply()
    if code != 230:
        raise ConnectionError(f"login {code}")
    clock = time.perf_counter_ns
    samples = []
    for i in range(a.warmup + a.count):
        t0 = clock()
        sock.sendall(b"NOOP\r\n")
        code = read_reply()
        t1 = clock()
        if code != 200:
            raise ConnectionError(f"NOOP {code}")
        if i >= a.warmup:
            samples.append((t1 - t0) / 1000)
    sock.sendall(b"QUIT\r\n")
    try:
        read_reply()
    except (OSError, ConnectionError):
        pass
    sock.close()
    samples.sort()

    def pct(p):
        return round(samples[min(len(samples) - 1, int(p * len(samples)))], 1)

    print(json.dumps({"count": a.count, "median_us": round(statistics.median(samples), 1),
                      "min_us": round(samples[0], 1), "p90_us": pct(0.90), "p99_us": pct(0.99),
                      "max_us": round(samples[-1], 1)}))


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
    h.add_argument("--burst", type=int, default=50)
    h.add_argument("--retries", type=int, default=5)
    h.add_argument("--retr", default=None, help="download this file on every session at once")
    h.add_argument("--retr-size", type=int, default=4096, help="the size --retr must give")
    h.add_argument("--timeout", type=float, default=15.0)
    n = sub.add_parser("noop")
    n.add_argument("--port", type=int, required=True)
    n.add_argument("--count", type=int, default=10000)
    n.add_argument("--warmup", type=int, default=200)
    for sp in (s, f, h, n):
        sp.add_argument("--user", default="anonymous")
        sp.add_argument("--password", default=None)
    a = p.parse_args()
    global USER, PASSWORD
    USER = a.user
    PASSWORD = a.password if a.password is not None else \
        ("bench@example.com" if a.user == "anonymous" else "")
    if a.cmd == "sessions":
        cmd_sessions(a)
    elif a.cmd == "files":
        cmd_files(a)
    elif a.cmd == "noop":
        cmd_noop(a)
    else:
        asyncio.run(hold(a))


if __name__ == "__main__":
    sys.exit(main())
