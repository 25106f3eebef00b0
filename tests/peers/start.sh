#!/usr/bin/env bash
# Starts one FTP peer server in the foreground; see tests/peers/README.md.
#
#   start.sh <vsftpd|pure-ftpd|proftpd|pyftpdlib> <port> <root-dir> [--tls CERT KEY]
#
# Listens on 127.0.0.1:<port>, serves <root-dir> to user ftptest (password
# ftptest) with read and write rights; passive ports on 127.0.0.1, active
# mode allowed; with --tls, explicit AUTH TLS (optional for the client).
# The script execs the server, so its pid is the server's: kill it to stop.
# Exit status 2: bad arguments; 3: the peer is not installed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${FTPKIT_PEERS_PREFIX:-/opt/ftpkit-peers}

usage() {
    echo "usage: $0 <vsftpd|pure-ftpd|proftpd|pyftpdlib> <port> <root-dir> [--tls CERT KEY]" >&2
    exit 2
}

[ $# -eq 3 ] || [ $# -eq 6 ] || usage
peer=$1
port=$2
root=$3
cert=
key=
if [ $# -eq 6 ]; then
    [ "$4" = --tls ] || usage
    cert=$(realpath "$5")
    key=$(realpath "$6")
    [ -r "$cert" ] && [ -r "$key" ] || { echo "start.sh: cannot read $cert or $key" >&2; exit 2; }
fi
case $port in '' | *[!0-9]*) usage ;; esac
[ -d "$root" ] || { echo "start.sh: $root is not a directory" >&2; exit 2; }
root=$(realpath "$root")

# A peer binary: the system's, else the one install.sh unpacked.
find_bin() {
    local name=$1
    if [ -x "$PREFIX/root/usr/sbin/$name" ]; then
        echo "$PREFIX/root/usr/sbin/$name"
    elif command -v "$name" >/dev/null; then
        command -v "$name"
    elif [ -x "/usr/sbin/$name" ]; then
        echo "/usr/sbin/$name"
    else
        echo "start.sh: $name is not installed (run tests/peers/install.sh)" >&2
        exit 3
    fi
}

# Generated configuration and logs live in their own directory, removed
# once the server (this pid, after exec) is gone.
# With FTPKIT_PEER_KEEP=1 it is kept, for the peers' own logs.
rundir=$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-peer.XXXXXX")
chmod 755 "$rundir"
if [ "${FTPKIT_PEER_KEEP:-}" = 1 ]; then
    echo "start.sh: configuration and logs in $rundir" >&2
else
    pid=$$
    (
        while kill -0 "$pid" 2>/dev/null; do sleep 1; done
        rm -rf "$rundir"
    ) </dev/null >/dev/null 2>&1 &
fi

# Fills in a template: @PORT@ @ROOT@ @RUNDIR@ @PREFIX@ @CERT@ @KEY@.
render() {
    sed -e "s|@PORT@|$port|g" -e "s|@ROOT@|$root|g" -e "s|@RUNDIR@|$rundir|g" \
        -e "s|@PREFIX@|$PREFIX|g" -e "s|@CERT@|$cert|g" -e "s|@KEY@|$key|g" "$1"
}

# The setuid peers run sessions as ftptest, which must own the served tree.
own_root() {
    if ! getent passwd ftptest >/dev/null; then
        echo "start.sh: user ftptest is missing (run tests/peers/install.sh)" >&2
        exit 3
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown -R ftptest:ftptest "$root"
    fi
}

case $peer in
vsftpd)
    bin=$(find_bin vsftpd)
    own_root
    mkdir -p /var/run/vsftpd/empty
    render "$HERE/vsftpd.conf.in" >"$rundir/vsftpd.conf"
    [ -z "$cert" ] || render "$HERE/vsftpd-tls.conf.in" >>"$rundir/vsftpd.conf"
    exec "$bin" "$rundir/vsftpd.conf"
    ;;
proftpd)
    bin=$(find_bin proftpd)
    own_root
    uid=$(id -u ftptest)
    gid=$(id -g ftptest)
    hash=$(openssl passwd -6 ftptest)
    printf 'ftptest:%s:%s:%s::%s:/bin/sh\n' "$hash" "$uid" "$gid" "$root" >"$rundir/passwd"
    printf 'ftptest:x:%s:\n' "$gid" >"$rundir/group"
    chmod 600 "$rundir/passwd"
    render "$HERE/proftpd.conf.in" >"$rundir/proftpd.conf"
    [ -z "$cert" ] || render "$HERE/proftpd-tls.conf.in" >>"$rundir/proftpd.conf"
    exec "$bin" --nodaemon --config "$rundir/proftpd.conf"
    ;;
pure-ftpd)
    bin=$(find_bin pure-ftpd)
    pw=$PREFIX/root/usr/bin/pure-pw
    [ -x "$pw" ] || pw=$(command -v pure-pw) || { echo "start.sh: pure-pw is not installed" >&2; exit 3; }
    own_root
    # pure-pw useradd hashes with argon2id at a cost that takes seconds per
    # login on a loaded machine; a SHA-512 crypt(3) hash is accepted too.
    printf 'ftptest:%s:%s:%s::%s/./::::::::::::\n' "$(openssl passwd -6 ftptest)" \
        "$(id -u ftptest)" "$(id -g ftptest)" "$root" >"$rundir/pureftpd.passwd"
    "$pw" mkdb "$rundir/pureftpd.pdb" -f "$rundir/pureftpd.passwd" >/dev/null
    flags=()
    while IFS= read -r line; do
        case $line in '' | '#'*) ;; *) flags+=("$line") ;; esac
    done < <(render "$HERE/pure-ftpd.flags.in"; [ -z "$cert" ] || render "$HERE/pure-ftpd-tls.flags.in")
    exec "$bin" "${flags[@]}"
    ;;
pyftpdlib)
    export PYTHONPATH="$PREFIX/python${PYTHONPATH:+:$PYTHONPATH}"
    if ! python3 -c 'import pyftpdlib' 2>/dev/null; then
        echo "start.sh: pyftpdlib is not installed (run tests/peers/install.sh)" >&2
        exit 3
    fi
    if [ -n "$cert" ]; then
        exec python3 "$HERE/pyftpdlib_server.py" "$port" "$root" "$cert" "$key"
    fi
    exec python3 "$HERE/pyftpdlib_server.py" "$port" "$root"
    ;;
*)
    usage
    ;;
esac
