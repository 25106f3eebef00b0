#!/usr/bin/env python3
"""Counts curl's one-second passive-connect stalls in a `curl -v --trace-time` log.

A stall: a gap of more than 0.9 s before the "Trying HOST:PORT..." line of a
data connection (curl started the connect, saw it incomplete, and waited for
its poll timeout instead of the socket).
"""

import datetime
import sys


def main() -> None:
    prev, stalls = None, 0
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            try:
                t = datetime.datetime.strptime(line[:15], "%H:%M:%S.%f")
            except ValueError:
                continue
            if prev is not None and (t - prev).total_seconds() > 0.9 and "Trying" in line:
                stalls += 1
            prev = t
    print(stalls)


if __name__ == "__main__":
    main()
