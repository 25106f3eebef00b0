#!/usr/bin/env bash
# Former name of scripts/bench.sh (ftpkit beside vsftpd, pure-ftpd and pyftpdlib), kept for .ci/run.
exec "$(dirname "$0")/bench.sh" "$@"
