#!/usr/bin/env python3
"""pyftpdlib for scripts/bench.sh (needs pyftpdlib on PYTHONPATH, as
tests/peers/install.sh puts it under /opt/ftpkit-peers/python).

usage: pyftpdlib_server.py PORT ROOT

The stock FTPHandler and FTPServer (epoll I/O loop, sendfile for RETR,
backlog 100, 64 KiB data buffers); only what the benchmark needs differs
from tests/peers/pyftpdlib_server.py: no cap on connections (the peers'
test setup allows 64; the benchmark holds 1,000 sessions), 600 s idle
timeout as every server here gets, and warnings only in the log.
User ftptest, password ftptest, may read and write ROOT; 127.0.0.1 only.
"""

import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    authorizer = DummyAuthorizer()
    authorizer.add_user("ftptest", "ftptest", root, perm="elradfmwMT")
    handler = FTPHandler
    handler.authorizer = authorizer
    handler.banner = "pyftpdlib (ftpkit benchmark)"
    handler.timeout = 600
    handler.masquerade_address = None
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server = FTPServer(("127.0.0.1", port), handler)
    server.max_cons = 0  # no limit
    server.max_cons_per_ip = 0
    server.serve_forever()


if __name__ == "__main__":
    main()
