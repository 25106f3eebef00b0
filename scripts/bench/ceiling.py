#!/usr/bin/env python3
"""Loopback ceiling for scripts/bench.sh: the same bytes as the big RETR/STOR,
through one plain TCP connection on 127.0.0.1, with no FTP at all.

  ceiling.py FILE   ->  one JSON line: bytes, seconds, mbps (10^6 bytes/s)

Two processes, as in a transfer: this one listens, accepts and sends FILE
with os.sendfile() (as the servers' RETR does, from the same tmpfs file);
a second Python process connects, reads with recv_into() into a 256 KiB
buffer and writes what it got to /dev/null (as `curl -o /dev/null` does),
until EOF. Timed from the accept to the receiver's EOF (perf_counter is
CLOCK_MONOTONIC, the same in both processes). Socket buffers are the
kernel's defaults (autotuning), as for every FTP data connection here.
"""

import json
import os
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"


def receive(port: int) -> None:
    sock = socket.create_connection((HOST, port))
    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    total = 0
    null = os.open(os.devnull, os.O_WRONLY)
    while True:
        n = sock.recv_into(buf)
        if n == 0:
            break
        os.write(null, view[:n])
        total += n
    end = time.perf_counter()
    sock.close()
    print(json.dumps({"bytes": total, "end": end}), flush=True)


def send(path: str) -> None:
    size = os.path.getsize(path)
    lsock = socket.socket()
    lsock.bind((HOST, 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--receive", str(port)], stdout=subprocess.PIPE)
    conn, _ = lsock.accept()
    start = time.perf_counter()
    with open(path, "rb") as f:
        offset = 0
        while offset < size:
            sent = os.sendfile(conn.fileno(), f.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    conn.shutdown(socket.SHUT_WR)
    out, _ = child.communicate(timeout=600)
    conn.close()
    lsock.close()
    got = json.loads(out)
    if got["bytes"] != size:
        sys.exit(f"ceiling: received {got['bytes']} of {size} bytes")
    seconds = got["end"] - start
    print(json.dumps({"bytes": size, "seconds": round(seconds, 4), "mbps": round(size / 1e6 / seconds, 1)}))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--receive":
        receive(int(sys.argv[2]))
    elif len(sys.argv) == 2:
        send(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
