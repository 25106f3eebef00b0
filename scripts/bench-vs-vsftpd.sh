#!/usr/bin/env bash
# ftpkit vs vsftpd, side by side on loopback, in one run, with the same client.
#
#   scripts/bench-vs-vsftpd.sh           full run: 1 GiB RETR/STOR, 1,000 small files,
#                                        2,000 sessions, 1,000 idle sessions (a few minutes)
#   scripts/bench-vs-vsftpd.sh --quick   smoke run: 64 MiB, 200 files, 200 sessions
#
# Needs: root (vsftpd), vsftpd (apt-get install vsftpd), curl, python3, cargo.
# Environment: BENCH_TMP (where the server roots go; default /dev/shm when it
# has room, else /tmp), FTPKIT_BIN (skip the build), VSFTPD_EXTRA (extra
# vsftpd.conf lines, e.g. "isolate_network=NO"), REPS_BIG, REPS_SMALL.
#
# Everything listens on 127.0.0.1 only. Results: stdout and scripts/bench/results.md
# (scripts/bench/results-quick.md for --quick).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH="$HERE/bench"
COMMAND="scripts/bench-vs-vsftpd.sh${*:+ $*}"

MODE=full
for arg in "$@"; do
    case "$arg" in
        --quick) MODE=quick ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$MODE" = quick ]; then
    BIG_MIB=64; SMALL_COUNT=200; SESSION_COUNT=200; IDLE_COUNT=200
    REPS_BIG=${REPS_BIG:-3}; REPS_SMALL=${REPS_SMALL:-1}
    RESULTS="$BENCH/results-quick.md"
else
    BIG_MIB=1024; SMALL_COUNT=1000; SESSION_COUNT=2000; IDLE_COUNT=1000
    REPS_BIG=${REPS_BIG:-5}; REPS_SMALL=${REPS_SMALL:-3}
    RESULTS="$BENCH/results.md"
fi
SMALL_SIZE=4096
SESSION_CONCURRENCY=50
SESSION_PROCS=2

say() { printf '>> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "vsftpd needs root; run as root"
VSFTPD="$(command -v vsftpd || echo /usr/sbin/vsftpd)"
[ -x "$VSFTPD" ] || die "vsftpd not found (apt-get install vsftpd)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"
getent passwd ftp >/dev/null || die "vsftpd's anonymous user 'ftp' does not exist (useradd -r -d /srv/ftp ftp)"

# 1,000 sessions: sockets on both sides, plus vsftpd's processes.
hard=$(ulimit -Hn)
want=20000
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want" || die "cannot raise the open-file limit"
[ "$(ulimit -n)" -ge $((IDLE_COUNT * 2 + 200)) ] || die "open-file limit $(ulimit -n) is too low"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
BUSY="$(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | awk '{printf "%s%s %s%%", (NR>1?", ":""), $2, $1}')"

# --- build --------------------------------------------------------------
if [ -n "${FTPKIT_BIN:-}" ]; then
    FTPKIT="$FTPKIT_BIN"
else
    say "building ftpkit (release)"
    (cd "$REPO" && cargo build --release --bin ftpkit --quiet) || die "cargo build failed"
    TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
    FTPKIT="$TARGET_DIR/release/ftpkit"
fi
[ -x "$FTPKIT" ] || die "no ftpkit binary at $FTPKIT"

# --- work area, and cleanup of everything started here -------------------
if [ -z "${BENCH_TMP:-}" ]; then
    need_kib=$(( (BIG_MIB * 4 + 512) * 1024 ))
    if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2{print $4}')" -gt "$need_kib" ]; then
        BENCH_TMP=/dev/shm
    else
        BENCH_TMP=/tmp
    fi
fi
WORK="$(mktemp -d "$BENCH_TMP/ftpkit-bench.XXXXXX")"
chmod 755 "$WORK"
PIDS=()

descendants() {  # PID -> its descendants, deepest last
    local kids
    kids="$(ps -o pid= --ppid "$1" 2>/dev/null || true)"
    for k in $kids; do echo "$k"; descendants "$k"; done
}

stop_tree() {  # stops a process we started and every process it forked
    local pid="$1" all
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    all="$(descendants "$pid")"
    kill "$pid" 2>/dev/null || true
    for k in $all; do kill "$k" 2>/dev/null || true; done
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    for k in $all; do kill -9 "$k" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do stop_tree "$pid"; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {  # PORT PID: until the server answers with 220
    for _ in $(seq 100); do
        kill -0 "$2" 2>/dev/null || return 1
        if python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
sys.exit(0 if s.recv(100).startswith(b"220") else 1)
EOF
        sleep 0.1
    done
    return 1
}

# --- content: identical trees for both servers --------------------------
say "generating $BIG_MIB MiB and $SMALL_COUNT x $SMALL_SIZE-byte files in $WORK"
mkdir -p "$WORK/src/small"
head -c "$((BIG_MIB * 1024 * 1024))" /dev/urandom > "$WORK/src/big.bin"
python3 - "$WORK/src/small" "$SMALL_COUNT" "$SMALL_SIZE" <<'EOF'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
EOF
for s in ftpkit vsftpd; do
    mkdir -p "$WORK/$s"
    cp -r "$WORK/src/small" "$WORK/$s/small"
    cp "$WORK/src/big.bin" "$WORK/$s/big.bin"
    mkdir -p "$WORK/$s/upload"
    chmod -R a+rX "$WORK/$s"
done
# vsftpd: the anonymous root must not be writable by its user; uploads go to a
# directory the 'ftp' user owns.
chown ftp "$WORK/vsftpd/upload"
mkdir -p /var/run/vsftpd/empty
BIG_BYTES=$(stat -c %s "$WORK/src/big.bin")

# --- servers ------------------------------------------------------------
FTPKIT_PID=; VSFTPD_PID=; FTPKIT_PORT=; VSFTPD_PORT=
start_ftpkit() {
    FTPKIT_PORT=$(free_port)
    FTPKIT_ARGS=(serve --root "$WORK/ftpkit" --listen "127.0.0.1:$FTPKIT_PORT" --writable
                 --max-sessions 5000 --idle-timeout 600)
    # Every benchmark session comes from 127.0.0.1.
    if "$FTPKIT" serve --help | grep -q -- '--max-sessions-per-ip'; then
        FTPKIT_ARGS+=(--max-sessions-per-ip 5000)
    fi
    "$FTPKIT" "${FTPKIT_ARGS[@]}" >>"$WORK/ftpkit.log" 2>&1 &
    FTPKIT_PID=$!
    PIDS+=("$FTPKIT_PID")
    wait_ready "$FTPKIT_PORT" "$FTPKIT_PID" || { cat "$WORK/ftpkit.log" >&2; die "ftpkit did not start"; }
}
start_vsftpd() {
    VSFTPD_PORT=$(free_port)
    sed -e "s|@PORT@|$VSFTPD_PORT|" -e "s|@ROOT@|$WORK/vsftpd|" -e "s|@EXTRA@|${VSFTPD_EXTRA:-}|" \
        "$BENCH/vsftpd.conf.in" > "$WORK/vsftpd.conf"
    "$VSFTPD" "$WORK/vsftpd.conf" >>"$WORK/vsftpd.log" 2>&1 &
    VSFTPD_PID=$!
    PIDS+=("$VSFTPD_PID")
    wait_ready "$VSFTPD_PORT" "$VSFTPD_PID" || { cat "$WORK/vsftpd.log" >&2; die "vsftpd did not start"; }
}
port_of() { if [ "$1" = ftpkit ]; then echo "$FTPKIT_PORT"; else echo "$VSFTPD_PORT"; fi; }
pid_of() { if [ "$1" = ftpkit ]; then echo "$FTPKIT_PID"; else echo "$VSFTPD_PID"; fi; }
CPU_WATCH=; CPU_SECS=
cpu_start() {  # SERVER: sample its CPU use until cpu_stop
    rm -f "$WORK/cpu.out" "$WORK/cpu.out.ready"
    python3 "$BENCH/cpustat.py" watch "$(pid_of "$1")" "$WORK/cpu.out" &
    CPU_WATCH=$!
    PIDS+=("$CPU_WATCH")
    for _ in $(seq 100); do [ -e "$WORK/cpu.out.ready" ] && break; sleep 0.01; done
}
cpu_stop() {  # sets CPU_SECS: CPU seconds since cpu_start
    sleep 0.3  # let the session processes finish
    kill -TERM "$CPU_WATCH"
    wait "$CPU_WATCH" || true
    CPU_SECS=$(cat "$WORK/cpu.out")
}
order() { if [ $(($1 % 2)) = 1 ]; then echo ftpkit vsftpd; else echo vsftpd ftpkit; fi; }

start_ftpkit
start_vsftpd
say "ftpkit on 127.0.0.1:$FTPKIT_PORT (pid $FTPKIT_PID), vsftpd on 127.0.0.1:$VSFTPD_PORT (pid $VSFTPD_PID)"

RAW="$WORK/raw.tsv"
: > "$RAW"
CURL=(curl --silent --show-error --max-time 300)

# --- 1. RETR, one stream --------------------------------------------------
# The rate is the data phase: bytes / (time_total - time_pretransfer), so that
# curl's passive-connect stall (see section 3) does not count; the stalls
# (time_pretransfer > 0.15 s) and the whole-command rate are recorded too.
rate() {  # BYTES TOTAL PRETRANSFER -> data-phase MB/s, whole-command MB/s, stalled?
    python3 -c "import sys; b,t,p=map(float,sys.argv[1:]); print(round(b/1e6/(t-p),1), round(b/1e6/t,1), int(p>0.15))" "$@"
}
# Warm-up, not counted: the first large upload into a fresh tmpfs pays for
# page allocation (and showed 2-4x the CPU of later ones for both servers).
for s in ftpkit vsftpd; do
    "${CURL[@]}" -o /dev/null "ftp://127.0.0.1:$(port_of $s)/big.bin" || die "$s warm-up RETR failed"
    "${CURL[@]}" -T "$WORK/src/big.bin" "ftp://127.0.0.1:$(port_of $s)/upload/warm-up.bin" || die "$s warm-up STOR failed"
    rm -f "$WORK/$s/upload/warm-up.bin"
done
for rep in $(seq "$REPS_BIG"); do
    for s in $(order "$rep"); do
        cpu_start "$s"
        out=$("${CURL[@]}" -o /dev/null -w '%{size_download} %{time_total} %{time_pretransfer}' \
              "ftp://127.0.0.1:$(port_of $s)/big.bin")
        read -r size secs pre <<<"$out"
        [ "$size" = "$BIG_BYTES" ] || die "$s RETR: got $size of $BIG_BYTES bytes"
        read -r mbps whole stalled <<<"$(rate "$size" "$secs" "$pre")"
        cpu_stop; cpu=$CPU_SECS
        say "RETR $s #$rep: $mbps MB/s (whole command $whole MB/s, pretransfer $pre s, server CPU $cpu s)"
        printf 'retr\t%s\t%s\t%s\t%s\t%s\n' "$s" "$mbps" "$whole" "$stalled" "$cpu" >> "$RAW"
    done
done

# --- 2. STOR, one stream --------------------------------------------------
for rep in $(seq "$REPS_BIG"); do
    for s in $(order "$rep"); do
        name="big-$rep.bin"
        cpu_start "$s"
        out=$("${CURL[@]}" -T "$WORK/src/big.bin" -w '%{size_upload} %{time_total} %{time_pretransfer}' \
              "ftp://127.0.0.1:$(port_of $s)/upload/$name")
        read -r size secs pre <<<"$out"
        cpu_stop; cpu=$CPU_SECS
        stored=$(stat -c %s "$WORK/$s/upload/$name" 2>/dev/null || echo 0)
        [ "$size" = "$BIG_BYTES" ] && [ "$stored" = "$BIG_BYTES" ] \
            || die "$s STOR: sent $size, stored $stored of $BIG_BYTES bytes"
        cmp -s "$WORK/src/big.bin" "$WORK/$s/upload/$name" || die "$s STOR: the stored file differs"
        rm -f "$WORK/$s/upload/$name"
        read -r mbps whole stalled <<<"$(rate "$size" "$secs" "$pre")"
        say "STOR $s #$rep: $mbps MB/s (whole command $whole MB/s, pretransfer $pre s, server CPU $cpu s)"
        printf 'stor\t%s\t%s\t%s\t%s\t%s\n' "$s" "$mbps" "$whole" "$stalled" "$cpu" >> "$RAW"
    done
done

# --- 3. many small files over one control connection ----------------------
# curl (7.88 here) sometimes sleeps a full second after it starts a passive
# data connect that does not complete at once (it then polls only the control
# socket until its 1 s timeout; compare curl issue #12901). That is a client
# artefact, and how often it strikes depends on the server's timing, so the
# main figure uses curl in active mode (-P 127.0.0.1: the server connects to
# curl); Python ftplib (PASV) gives a second opinion; and a short curl
# passive (EPSV) sample counts the one-second stalls for each server.
PASV_SAMPLE=$(( SMALL_COUNT < 50 ? SMALL_COUNT : 50 ))
for s in ftpkit vsftpd; do
    cfg="$WORK/small-$s.curl"
    : > "$cfg"
    for ((i = 0; i < SMALL_COUNT; i++)); do
        printf 'url = "ftp://127.0.0.1:%s/small/f%05d.bin"\noutput = "/dev/null"\n' "$(port_of $s)" "$i" >> "$cfg"
    done
    head -n $((PASV_SAMPLE * 2)) "$cfg" > "$WORK/pasv-$s.curl"
    # Once with -v: one control connection, reused for every file?
    "${CURL[@]}" -P 127.0.0.1 -v -K "$cfg" 2> "$WORK/small-$s.verbose" || die "$s small files (verbose) failed"
    logins=$(grep -c '^> USER ' "$WORK/small-$s.verbose" || true)
    reused=$(grep -c 'Re-using existing connection' "$WORK/small-$s.verbose" || true)
    retrs=$(grep -c '^> RETR ' "$WORK/small-$s.verbose" || true)
    [ "$logins" = 1 ] && [ "$reused" = $((SMALL_COUNT - 1)) ] && [ "$retrs" = "$SMALL_COUNT" ] \
        || die "$s: curl did not reuse one control connection (logins $logins, reused $reused, RETR $retrs)"
    say "small files $s: curl -v shows $logins login, $reused reuses, $retrs RETR"
done
REUSE_NOTE="checked each run: 1 USER, $((SMALL_COUNT - 1)) reuses, $SMALL_COUNT RETR per server"
for rep in $(seq "$REPS_SMALL"); do
    for s in $(order "$rep"); do
        cpu_start "$s"
        t0=$(date +%s%N)
        "${CURL[@]}" -P 127.0.0.1 -K "$WORK/small-$s.curl" || die "$s small files failed"
        t1=$(date +%s%N)
        cpu_stop; cpu=$CPU_SECS
        secs=$(python3 -c "print(($t1-$t0)/1e9)")
        say "small files $s #$rep, curl active: $(python3 -c "print(round($SMALL_COUNT/$secs))") files/s, server CPU $cpu s"
        printf 'small\t%s\t%s\t%s\n' "$s" "$secs" "$cpu" >> "$RAW"
        out=$(python3 "$BENCH/ftpload.py" files --port "$(port_of $s)" --count "$SMALL_COUNT")
        say "small files $s #$rep, ftplib passive: $out"
        printf 'smallpy\t%s\t%s\n' "$s" \
            "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["seconds"], d["slow"], sep="\t")' "$out")" \
            >> "$RAW"
    done
done
for s in ftpkit vsftpd; do
    t0=$(date +%s%N)
    curl --silent --max-time 120 -v --trace-time -K "$WORK/pasv-$s.curl" 2> "$WORK/pasv-$s.verbose" || true
    t1=$(date +%s%N)
    stalls=$(python3 "$BENCH/stalls.py" "$WORK/pasv-$s.verbose")
    done_files=$(grep -c '^[0-9:.]* < 226' "$WORK/pasv-$s.verbose" || true)
    secs=$(python3 -c "print(($t1-$t0)/1e9)")
    say "small files $s, curl passive sample: $done_files files in $secs s, $stalls one-second stalls"
    printf 'smallpasv\t%s\t%s\t%s\t%s\n' "$s" "$secs" "$done_files" "$stalls" >> "$RAW"
done

# --- 4. sessions per second ------------------------------------------------
for rep in $(seq "$REPS_SMALL"); do
    for s in $(order "$rep"); do
        cpu_start "$s"
        out=$(python3 "$BENCH/ftpload.py" sessions --port "$(port_of $s)" --count "$SESSION_COUNT" \
              --concurrency "$SESSION_CONCURRENCY" --procs "$SESSION_PROCS")
        read -r rate ok failed <<<"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["rate"], d["ok"], d["failed"])' "$out")"
        cpu_stop; cpu=$CPU_SECS
        say "sessions $s #$rep: $rate/s ($ok ok, $failed failed, server CPU $cpu s) $out"
        printf 'sessions\t%s\t%s\t%s\t%s\t%s\n' "$s" "$rate" "$ok" "$failed" "$cpu" >> "$RAW"
    done
done

printf 'after\t%s\t%s\n' ftpkit "$(python3 "$BENCH/memstat.py" "$FTPKIT_PID")" >> "$RAW"
stop_tree "$FTPKIT_PID"
stop_tree "$VSFTPD_PID"

# --- 5. memory at N idle logged-in sessions (fresh servers) ---------------
for s in ftpkit vsftpd; do
    "start_$s"
    pid=$(pid_of "$s")
    sleep 1
    printf 'mem0\t%s\t%s\n' "$s" "$(python3 "$BENCH/memstat.py" "$pid")" >> "$RAW"
    ready="$WORK/hold-$s.json"
    python3 "$BENCH/ftpload.py" hold --port "$(port_of $s)" --count "$IDLE_COUNT" --ready "$ready" &
    hold_pid=$!
    PIDS+=("$hold_pid")
    for _ in $(seq 1200); do
        [ -s "$ready" ] && break
        kill -0 "$hold_pid" 2>/dev/null || die "$s: the idle-session helper died"
        sleep 0.1
    done
    [ -s "$ready" ] || die "$s: $IDLE_COUNT sessions did not log in within 120 s"
    printf 'mem1\t%s\t%s\n' "$s" "$(python3 "$BENCH/memstat.py" "$pid")" >> "$RAW"
    printf 'hold\t%s\t%s\n' "$s" "$(cat "$ready")" >> "$RAW"
    say "memory $s: $(tail -2 "$RAW" | tr '\n' ' ')"
    alive=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["alive"])' "$ready")
    [ "$alive" = "$IDLE_COUNT" ] || say "WARNING: $s holds $alive of $IDLE_COUNT idle sessions"
    stop_tree "$hold_pid"
    stop_tree "$pid"
done

# --- report ---------------------------------------------------------------
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
FTPKIT_SHOWN="ftpkit ${FTPKIT_ARGS[*]}"
FTPKIT_SHOWN="${FTPKIT_SHOWN//"$WORK"/\$WORK}"
python3 - "$WORK/meta.json" <<EOF
import json, platform, subprocess, sys
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
meta = {
    "mode": "$MODE",
    "command": "$COMMAND",
    "date": sh("date -u +%Y-%m-%dT%H:%MZ"),
    "git": sh("git -C '$REPO' rev-parse --short HEAD"),
    "nproc": sh("nproc"),
    "cpu": cpu,
    "kernel": "Linux " + platform.release(),
    "fs": sh("df -PT '$WORK' | awk 'NR==2{print \$2}'") + " ($BENCH_TMP)",
    "load_before": "$LOAD_BEFORE",
    "load_after": "$LOAD_AFTER",
    "busy": "$BUSY",
    "ftpkit_cmd": "$FTPKIT_SHOWN",
    "vsftpd_version": "vsftpd " + sh("dpkg-query -W -f='\${Version}' vsftpd 2>/dev/null || echo '?'"),
    "curl_version": sh("curl --version | head -1 | cut -d' ' -f1-2"),
    "python": platform.python_version(),
    "big_label": "$BIG_MIB MiB" if $BIG_MIB < 1024 else "$((BIG_MIB / 1024)) GiB",
    "small_count": $SMALL_COUNT,
    "big_bytes": $BIG_BYTES,
    "small_label": "$((SMALL_SIZE / 1024)) KiB",
    "session_count": $SESSION_COUNT,
    "session_concurrency": $SESSION_CONCURRENCY,
    "session_procs": $SESSION_PROCS,
    "idle_count": $IDLE_COUNT,
    "reps_big": $REPS_BIG,
    "reps_small": $REPS_SMALL,
    "reuse_note": "$REUSE_NOTE",
}
json.dump(meta, open(sys.argv[1], "w"))
EOF
cp "$RAW" "$BENCH/raw-$MODE.tsv"
python3 "$BENCH/report.py" "$RAW" "$WORK/meta.json" "$RESULTS"
say "written to ${RESULTS#"$REPO"/}"
