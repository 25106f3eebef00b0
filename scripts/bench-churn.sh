#!/usr/bin/env bash
# Memory of `ftpkit serve` under churn: sessions that log in and quit, and
# small-file downloads, without pause for MINUTES minutes (default 10), with
# the server's RSS sampled every 30 s. A server that keeps something per
# session it served (a map entry, a buffer, a task) grows; ftpkit must stay
# flat. Also holds IDLE logged-in sessions at the end (default 10,000) and
# reports the memory per idle session.
#
#   scripts/bench-churn.sh [MINUTES] [IDLE]
#
# Needs: python3, cargo (or FTPKIT_BIN). Loopback only. Results on stdout and
# in scripts/bench/churn.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH="$HERE/bench"
MINUTES=${1:-10}
IDLE=${2:-10000}
OUT="$BENCH/churn.md"

say() { printf '>> %s\n' "$*" >&2; }
die() { printf 'churn: %s\n' "$*" >&2; exit 1; }

if [ -n "${FTPKIT_BIN:-}" ]; then
    FTPKIT="$FTPKIT_BIN"
else
    (cd "$REPO" && cargo build --release --bin ftpkit --quiet) || die "cargo build failed"
    FTPKIT="${CARGO_TARGET_DIR:-$REPO/target}/release/ftpkit"
fi
want=$((IDLE * 2 + 1000))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$want" ] || want=$(ulimit -Hn)
ulimit -n "$want" || die "cannot raise the open-file limit"

WORK="$(mktemp -d)"
SERVER=; HOLD=
cleanup() {
    [ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/root/small"
python3 - "$WORK/root/small" <<'EOF'
import os, sys
for i in range(200):
    with open(os.path.join(sys.argv[1], f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(4096))
EOF
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$FTPKIT" serve $( [ "$(id -u)" != 0 ] || echo --run-as root ) --root "$WORK/root" --listen "127.0.0.1:$PORT" --user bench:bench:rw \
    --max-sessions $((IDLE + 1000)) --max-sessions-per-ip $((IDLE + 1000)) --idle-timeout 600 \
    >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null && break
    sleep 0.1
done
rss() { python3 "$BENCH/memstat.py" "$SERVER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_kib"])'; }
LOGIN=(--user bench --password bench)

say "churn for $MINUTES min on 127.0.0.1:$PORT (pid $SERVER)"
samples=()
start=$(date +%s)
next=$start
sessions=0; files=0; failed=0
while [ $(( $(date +%s) - start )) -lt $((MINUTES * 60)) ]; do
    out=$(python3 "$BENCH/ftpload.py" sessions --port "$PORT" --count 1000 --concurrency 50 --procs 2 "${LOGIN[@]}")
    sessions=$((sessions + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ok"])' "$out")))
    failed=$((failed + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failed"])' "$out")))
    python3 "$BENCH/ftpload.py" files --port "$PORT" --count 200 "${LOGIN[@]}" >/dev/null
    files=$((files + 200))
    if [ "$(date +%s)" -ge "$next" ]; then
        r=$(rss)
        samples+=("$(( $(date +%s) - start )) $r")
        say "t=$(( $(date +%s) - start ))s RSS $r KiB ($sessions sessions, $files files so far)"
        next=$((next + 30))
    fi
done
samples+=("$(( $(date +%s) - start )) $(rss)")
idle0=$(rss)

say "holding $IDLE idle sessions"
python3 "$BENCH/ftpload.py" hold --port "$PORT" --count "$IDLE" --ready "$WORK/ready.json" \
    --burst 100 --retries 2 --timeout 60 "${LOGIN[@]}" &
HOLD=$!
for _ in $(seq 600); do [ -s "$WORK/ready.json" ] && break; sleep 0.5; done
[ -s "$WORK/ready.json" ] || die "the idle sessions did not log in"
held=$(cat "$WORK/ready.json")
idle1=$(rss)

python3 - "$OUT" "$MINUTES" "$sessions" "$files" "$failed" "$IDLE" "$idle0" "$idle1" "$held" \
    "$(git -C "$REPO" rev-parse --short HEAD)" "${samples[@]}" <<'EOF'
import json, sys, time
out, minutes, sessions, files, failed, idle, idle0, idle1, held, git = sys.argv[1:11]
samples = [tuple(map(int, s.split())) for s in sys.argv[11:]]
held = json.loads(held)
rss = [r for _, r in samples]
first, last = rss[1] if len(rss) > 1 else rss[0], rss[-1]
lines = [
    "# ftpkit serve under churn",
    "",
    f"- Command: `scripts/bench-churn.sh {minutes} {idle}`; git {git}; {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}",
    f"- {minutes} min of churn: {int(sessions):,} sessions (connect, login, QUIT; 50 at a time), "
    f"{int(files):,} downloads of 4 KiB (ftplib PASV), {int(failed)} failed sessions",
    f"- RSS over the run (KiB): min {min(rss):,}, max {max(rss):,}; at the first sample after a "
    f"round of churn {first:,}, at the end {last:,} ({(last - first) / max(first, 1) * 100:+.1f}%)",
    f"- {int(idle):,} idle logged-in sessions held after it: {held['alive']:,} alive, {held['lost']} lost; "
    f"RSS {int(idle1):,} KiB, {(int(idle1) - int(idle0)) / int(idle):.1f} KiB per session",
    "",
    "| seconds | RSS (KiB) |",
    "|---:|---:|",
] + [f"| {t} | {r:,} |" for t, r in samples]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
