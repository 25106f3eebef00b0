#!/usr/bin/env bash
# Rate limits held (issue 18: "bandwidth limits that hold within 5% on
# loopback over a 10 s transfer"): ftpkit serve with a download and an upload
# rate, curl moving RATE x 10 bytes each way, the achieved rate as measured by
# curl (first byte to last, the 226 included) against the configured one.
#
#   scripts/bench-rate.sh              RATE=10M (10 MiB/s, 100 MiB each way)
#   RATE=1M scripts/bench-rate.sh
#
# Loopback only. Results: stdout and scripts/bench/rate.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
RATE="${RATE:-10M}"
case "$RATE" in
    *K) BYTES=$(( ${RATE%K} * 1024 )) ;;
    *M) BYTES=$(( ${RATE%M} * 1024 * 1024 )) ;;
    *) BYTES=$RATE ;;
esac
SIZE=$(( BYTES * 10 ))
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-bench-rate.XXXXXX")"
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

FTPKIT="${FTPKIT_BIN:-$REPO/target/release/ftpkit}"
[ -n "${FTPKIT_BIN:-}" ] || (cd "$REPO" && cargo build --release -q -p ftpkit)
mkdir -p "$WORK/root"
head -c "$SIZE" /dev/urandom > "$WORK/root/big.bin"
cp "$WORK/root/big.bin" "$WORK/up.bin"

# shellcheck disable=SC2046
"$FTPKIT" serve $( [ "$(id -u)" != 0 ] || echo --run-as root ) --root "$WORK/root" --listen 127.0.0.1:0 \
    --writable --anonymous-download-rate "$RATE" --anonymous-upload-rate "$RATE" --log-level warn \
    > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*ftp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/out")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "${PORT:-}" ] || { echo "ftpkit did not start: $(cat "$WORK/err")" >&2; exit 1; }

down=$(curl -s -o "$WORK/got.bin" -w '%{size_download} %{time_total}' "ftp://127.0.0.1:$PORT/big.bin")
cmp -s "$WORK/got.bin" "$WORK/root/big.bin" || { echo "download corrupted" >&2; exit 1; }
up=$(curl -s -T "$WORK/up.bin" -w '%{size_upload} %{time_total}' "ftp://127.0.0.1:$PORT/up.bin")
cmp -s "$WORK/up.bin" "$WORK/root/up.bin" || { echo "upload corrupted" >&2; exit 1; }

python3 - "$BYTES" "$RATE" "$down" "$up" <<'EOF' | tee "$HERE/bench/rate.md"
import sys
rate, label = int(sys.argv[1]), sys.argv[2]
print(f"# Rate limits held: {label} bytes/s configured (K, M: powers of 1024), 10 s of bytes each way (curl, loopback)\n")
print("| direction | bytes | seconds | achieved, B/s | achieved / configured |")
print("|---|---|---|---|---|")
for name, arg in (("download", sys.argv[3]), ("upload", sys.argv[4])):
    size, secs = arg.split()
    achieved = int(size) / float(secs)
    print(f"| {name} | {int(size)} | {float(secs):.2f} | {achieved:.0f} | {achieved / rate:.3f} |")
EOF
