#!/usr/bin/env bash
# The object-store back end beside the local disk (issue 19): ftpkit serve on
# SeaweedFS S3 (loopback) and on a local directory, in one run, with curl:
# STOR and RETR of one big file, and 1,000 x 4 KiB files uploaded and
# downloaded over one connection each way, with the server's peak memory
# (VmHWM) after each.
#
#   scripts/bench-s3.sh                1 GiB, 1,000 small files
#   BIG_MIB=256 SMALL_COUNT=200 scripts/bench-s3.sh
#
# Needs: weed (tests/peers/install.sh puts it in /opt/ftpkit-peers/bin),
# curl, python3, cargo. Loopback only. Results: stdout and
# scripts/bench/s3.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BIG_MIB="${BIG_MIB:-1024}"
SMALL_COUNT="${SMALL_COUNT:-1000}"
PREFIX="${FTPKIT_PEERS_PREFIX:-/opt/ftpkit-peers}"
export PATH="$PREFIX/bin:$PATH"
command -v weed >/dev/null || { echo "weed not found: run tests/peers/install.sh" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-bench-s3.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    # weed may take its time over a graceful stop: not with our data gone.
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

FTPKIT="${FTPKIT_BIN:-$REPO/target/release/ftpkit}"
[ -n "${FTPKIT_BIN:-}" ] || (cd "$REPO" && cargo build --release -q -p ftpkit)

# SeaweedFS on free ports (and their +10000 gRPC twins).
free_pair() {
    python3 - <<'EOF'
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p > 55000: continue
    try:
        t = socket.socket(); t.bind(("127.0.0.1", p + 10000)); t.close(); print(p); break
    except OSError:
        pass
EOF
}
ports=()
for _ in 1 2 3 4; do ports+=("$(free_pair)"); done
bash "$HERE/../tests/peers/seaweedfs.sh" "$WORK/weed" "${ports[@]}" bench > "$WORK/weed.out" 2>"$WORK/weed.err" &
PIDS+=($!)
for _ in $(seq 120); do grep -q '^endpoint ' "$WORK/weed.out" && break; sleep 1; done
endpoint=$(sed -n 's/^endpoint //p' "$WORK/weed.out")
[ -n "$endpoint" ] || { echo "SeaweedFS did not start: $(tail -5 "$WORK/weed.err")" >&2; exit 1; }
PIDS+=("$(sed -n 's/^pid //p' "$WORK/weed.out")")

export AWS_ACCESS_KEY_ID=ftpkit AWS_SECRET_ACCESS_KEY=ftpkit-secret AWS_REGION=us-east-1
root_flag=$( [ "$(id -u)" != 0 ] || echo "--run-as root" )
mkdir -p "$WORK/disk"
start() {  # NAME ARGS... -> PORT[NAME], PID[NAME]
    local name=$1; shift
    # shellcheck disable=SC2086
    "$FTPKIT" serve $root_flag --listen 127.0.0.1:0 --user bench:bench:rw --log-level warn "$@" \
        > "$WORK/$name.out" 2> "$WORK/$name.err" &
    PID[$name]=$!
    PIDS+=("${PID[$name]}")
    for _ in $(seq 100); do
        PORT[$name]=$(sed -n 's|.*ftp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/$name.out")
        [ -n "${PORT[$name]}" ] && return
        sleep 0.1
    done
    echo "$name did not start: $(cat "$WORK/$name.err")" >&2; exit 1
}
declare -A PORT PID
start s3 --storage s3://bench/files --s3-endpoint "$endpoint" --s3-allow-http
start disk --root "$WORK/disk"

head -c $((BIG_MIB << 20)) /dev/urandom > "$WORK/big.bin"
mkdir -p "$WORK/small"
for i in $(seq -w 1 "$SMALL_COUNT"); do head -c 4096 /dev/urandom > "$WORK/small/f$i.bin"; done
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rate() { python3 -c "import sys; print(f'{$1 / $2 / 1e6:.0f}')"; }

RAW="$WORK/raw"
for s in s3 disk; do
    url="ftp://bench:bench@127.0.0.1:${PORT[$s]}"
    up=$(curl -sS -T "$WORK/big.bin" -w '%{time_total}' "$url/big.bin")
    mem_up=$(hwm "${PID[$s]}")
    down=$(curl -sS -o "$WORK/got-$s.bin" -w '%{time_total}' "$url/big.bin")
    cmp -s "$WORK/big.bin" "$WORK/got-$s.bin" || { echo "$s: RETR differs from STOR" >&2; exit 1; }
    rm -f "$WORK/got-$s.bin"
    mem_down=$(hwm "${PID[$s]}")
    # Small files: one curl, one connection, every file (curl reuses it).
    args=()
    for f in "$WORK"/small/*.bin; do args+=(-T "$f" "$url/small/$(basename "$f")"); done
    t0=$(date +%s.%N)
    curl -sS --ftp-create-dirs "${args[@]}"
    t1=$(date +%s.%N)
    args=()
    for f in "$WORK"/small/*.bin; do args+=(-o "$WORK/got-$(basename "$f")" "$url/small/$(basename "$f")"); done
    curl -sS "${args[@]}"
    t2=$(date +%s.%N)
    rm -f "$WORK"/got-f*.bin
    mem_small=$(hwm "${PID[$s]}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$(rate $((BIG_MIB << 20)) "$up")" "$(rate $((BIG_MIB << 20)) "$down")" \
        "$mem_up" "$mem_down" \
        "$(python3 -c "print(f'{$SMALL_COUNT / ($t1 - $t0):.0f}')")" \
        "$(python3 -c "print(f'{$SMALL_COUNT / ($t2 - $t1):.0f}')")" "$mem_small" | tee -a "$RAW"
done

python3 - "$RAW" "$BIG_MIB" "$SMALL_COUNT" <<'EOF' | tee "$HERE/bench/s3.md"
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
print(f"# ftpkit on SeaweedFS S3 beside the local disk ({sys.argv[2]} MiB, {sys.argv[3]} x 4 KiB; curl; loopback)\n")
print("| storage | STOR MB/s | RETR MB/s | peak memory after STOR, MiB | after RETR, MiB | small STOR files/s | small RETR files/s | peak memory after small files, MiB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    name = {"s3": "SeaweedFS S3 (--storage s3://)", "disk": "local disk (--root)"}[r[0]]
    print(f"| {name} | {r[1]} | {r[2]} | {int(r[3]) / 1024:.1f} | {int(r[4]) / 1024:.1f} | {r[5]} | {r[6]} | {int(r[7].strip()) / 1024:.1f} |")
EOF
