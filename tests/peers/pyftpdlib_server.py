"""pyftpdlib for the interop tests: started by tests/peers/start.sh.

usage: pyftpdlib_server.py PORT ROOT [CERT KEY]

User ftptest/ftptest may read and write ROOT. Listens on 127.0.0.1:PORT;
passive ports on 127.0.0.1, active mode to the control peer's address.
With CERT and KEY, explicit AUTH TLS (TLS_FTPHandler, pyOpenSSL), optional
for clients.
"""

import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    tls = sys.argv[3:5]
    authorizer = DummyAuthorizer()
    authorizer.add_user("ftptest", "ftptest", root, perm="elradfmwMT")
    if tls:
        from pyftpdlib.handlers import TLS_FTPHandler

        handler = TLS_FTPHandler
        handler.certfile, handler.keyfile = tls
        handler.tls_control_required = False
        handler.tls_data_required = False
    else:
        handler = FTPHandler
    handler.authorizer = authorizer
    handler.banner = "pyftpdlib (ftpkit interop peer)"
    handler.masquerade_address = None
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server = FTPServer(("127.0.0.1", port), handler)
    server.max_cons = 64
    server.serve_forever()


if __name__ == "__main__":
    main()
