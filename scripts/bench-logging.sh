#!/usr/bin/env bash
# What the operators' log costs (issue 18: "the memory and sessions/s rows do
# not regress with logging on at the default level"): ftpkit serve with its
# default log (--log-level info: a line per connection, login, transfer and
# disconnect, to a file) beside the same binary logging warnings only, and
# optionally beside an older build (OLD_FTPKIT), in one run, alternating
# which goes first.
#
#   scripts/bench-logging.sh             5 repetitions of each row
#   REPS=3 OLD_FTPKIT=/path/to/ftpkit scripts/bench-logging.sh
#
# Rows (the same clients as scripts/bench.sh): sessions/s (2,000 logins,
# 50 at a time, ftpload.py sessions) and 1,000 concurrent logged-in sessions
# each downloading 4 KiB (ftpload.py hold): lost sessions, the server's
# memory per session. Loopback only. Results: stdout and
# scripts/bench/logging.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH="$HERE/bench"
REPS="${REPS:-5}"
SESSIONS=2000
HOLD=1000
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-bench-logging.XXXXXX")"
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$WORK"' EXIT

FTPKIT="${FTPKIT_BIN:-$REPO/target/release/ftpkit}"
[ -n "${FTPKIT_BIN:-}" ] || (cd "$REPO" && cargo build --release -q -p ftpkit)
mkdir -p "$WORK/root/small"
head -c 4096 /dev/urandom > "$WORK/root/small/f00000.bin"
root_flag=$( [ "$(id -u)" != 0 ] || echo "--run-as root" )

declare -A BIN ARGS
BIN[info]="$FTPKIT"; ARGS[info]=""
BIN[warn]="$FTPKIT"; ARGS[warn]="--log-level warn"
VARIANTS=(info warn)
if [ -n "${OLD_FTPKIT:-}" ]; then
    # A build from before the log (it has neither --log-level nor --run-as).
    BIN[old]="$OLD_FTPKIT"; ARGS[old]=""; VARIANTS+=(old)
fi

start() {  # VARIANT -> $SERVER_PID, $port (the system's pick, read from the banner)
    local v=$1 extra=() log="$WORK/$v.out"
    [ "$v" = old ] || extra=($root_flag)
    : > "$log"
    # shellcheck disable=SC2086
    "${BIN[$v]}" serve "${extra[@]}" ${ARGS[$v]} --root "$WORK/root" --listen "127.0.0.1:0" \
        --user ftptest:ftptest:rw --max-sessions 5000 --max-sessions-per-ip 5000 --idle-timeout 600 \
        >"$log" 2>>"$WORK/$v.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|.*ftp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$port" ] && return
        sleep 0.1
    done
    echo "$v did not start: $(tail -3 "$WORK/$v.log")" >&2; exit 1
}
stop() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
json() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(*(d[k] for k in sys.argv[2:]))' "$@"; }

RAW="$WORK/raw.tsv"
for rep in $(seq "$REPS"); do
    # Rotate the order each repetition.
    order=("${VARIANTS[@]:$((rep % ${#VARIANTS[@]}))}" "${VARIANTS[@]:0:$((rep % ${#VARIANTS[@]}))}")
    for v in "${order[@]}"; do
        start "$v"
        out=$(python3 "$BENCH/ftpload.py" sessions --port "$port" --count "$SESSIONS" --concurrency 50 --procs 2 \
              --user ftptest --password ftptest)
        read -r rate failed <<<"$(json "$out" rate failed)"
        stop
        start "$v"
        sleep 1
        mem0=$(json "$(python3 "$BENCH/memstat.py" "$SERVER_PID")" rss_kib)
        ready="$WORK/hold-$v-$rep.json"
        python3 "$BENCH/ftpload.py" hold --port "$port" --count "$HOLD" --ready "$ready" --burst 50 --retries 0 \
            --timeout 30 --retr small/f00000.bin --retr-size 4096 --user ftptest --password ftptest &
        hold=$!
        for _ in $(seq 1800); do [ -s "$ready" ] && break; sleep 0.1; done
        mem1=$(json "$(python3 "$BENCH/memstat.py" "$SERVER_PID")" rss_kib)
        lost=$(json "$(cat "$ready")" lost)
        kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null || true
        stop
        per=$(( (mem1 - mem0) * 1024 / HOLD ))
        printf '%s\t%s\t%s\t%s\t%s\n' "$v" "$rate" "$failed" "$lost" "$per" | tee -a "$RAW"
    done
done

python3 - "$RAW" "$REPS" <<'EOF' | tee "$BENCH/logging.md"
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
variants = list(dict.fromkeys(r[0] for r in rows))
names = {"info": "default log (info, to a file)", "warn": "warnings only", "old": "build before the log"}
print(f"# The operators' log: what it costs ({sys.argv[2]} repetitions, medians, min-max)\n")
print("| ftpkit | sessions/s | failed | 1,000 sessions: lost | memory per session, bytes |")
print("|---|---|---|---|---|")
med = {}
for v in variants:
    r = [x for x in rows if x[0] == v]
    rate = [float(x[1]) for x in r]; per = [int(x[4]) for x in r]
    med[v] = (statistics.median(rate), statistics.median(per))
    print(f"| {names.get(v, v)} | {med[v][0]:.0f} ({min(rate):.0f}-{max(rate):.0f}) | "
          f"{sum(int(x[2]) for x in r)} | {sum(int(x[3]) for x in r)} | "
          f"{med[v][1]:.0f} ({min(per)}-{max(per)}) |")
base = "old" if "old" in med else "warn"
print(f"\nsessions/s, default log / {names[base]}: {med['info'][0] / med[base][0]:.2f}; "
      f"memory per session: {med['info'][1] / max(med[base][1], 1):.2f}")
EOF
