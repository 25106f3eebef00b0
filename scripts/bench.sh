#!/usr/bin/env bash
# ftpkit beside vsftpd, pure-ftpd and pyftpdlib on loopback, in one run, with
# the same files and the same clients.
#
#   scripts/bench.sh           full run: 1 GiB RETR/STOR, 1,000 small files,
#                              2,000 sessions, 200 and 1,000 concurrent sessions,
#                              5 repetitions of everything (about half an hour)
#   scripts/bench.sh --quick   smoke run (CI): 32 MiB, 100 files, 100 sessions,
#                              100 concurrent sessions, one repetition (2-3 minutes)
#
# Needs: root; vsftpd, pure-ftpd, pyftpdlib and the user ftptest (all from
# `bash tests/peers/install.sh`); curl, python3, taskset, cargo.
# Environment: BENCH_TMP (where the server roots go; default /dev/shm when it
# has room, else /tmp), FTPKIT_BIN (skip the build), VSFTPD_EXTRA (extra
# vsftpd.conf lines, e.g. "isolate_network=NO"), REPS (repetitions),
# ROUNDS (runs per repetition of the rows that take a second or less and
# spread the most: the loopback ceiling, RETR, STOR and ftplib's small
# files; default 3 full, 1 quick),
# CURL_PASV_CAP (seconds one curl EPSV small-files run may take; default 10
# quick, 30 full), CONC_COUNTS (the concurrent-session rows; default "100"
# quick, "200 1000" full), BENCH_SERVER_CPU / BENCH_CLIENT_CPU (the CPUs of the
# pinned rows; default the first two this script may use),
# FTPKIT_PEERS_PREFIX (where install.sh put the peers; /opt/ftpkit-peers).
#
# Everything listens on 127.0.0.1 only. Results: stdout and scripts/bench/results.md
# (scripts/bench/results-quick.md for --quick). scripts/bench-vs-vsftpd.sh runs this.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH="$HERE/bench"
COMMAND="scripts/bench.sh${*:+ $*}"
PREFIX="${FTPKIT_PEERS_PREFIX:-/opt/ftpkit-peers}"

MODE=full
for arg in "$@"; do
    case "$arg" in
        --quick) MODE=quick ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# Full mode is quick mode with bigger numbers: the same code paths.
if [ "$MODE" = quick ]; then
    BIG_MIB=32; SMALL_COUNT=100; SESSION_COUNT=100; CONC_COUNTS=${CONC_COUNTS:-100}; NOOP_COUNT=2000
    REPS=${REPS:-1}; CURL_PASV_CAP=${CURL_PASV_CAP:-10}; ROUNDS=${ROUNDS:-1}
    RESULTS="$BENCH/results-quick.md"
else
    BIG_MIB=1024; SMALL_COUNT=1000; SESSION_COUNT=2000; CONC_COUNTS=${CONC_COUNTS:-200 1000}; NOOP_COUNT=10000
    REPS=${REPS:-5}; CURL_PASV_CAP=${CURL_PASV_CAP:-30}; ROUNDS=${ROUNDS:-3}
    RESULTS="$BENCH/results.md"
fi
SMALL_SIZE=4096
SESSION_CONCURRENCY=50
SESSION_PROCS=2
HOLD_BURST=50
SERVERS=(ftpkit vsftpd pure-ftpd pyftpdlib)
MAX_CONC=0
for n in $CONC_COUNTS; do [ "$n" -gt "$MAX_CONC" ] && MAX_CONC=$n; done

say() { printf '>> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- what the run needs ---------------------------------------------------
[ "$(id -u)" = 0 ] || die "vsftpd and pure-ftpd need root; run as root"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
command -v python3 >/dev/null || die "python3 not found"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
INSTALL_HINT="install the peers with: sudo bash tests/peers/install.sh"
missing=()
VSFTPD="$(command -v vsftpd || echo /usr/sbin/vsftpd)"
[ -x "$VSFTPD" ] || missing+=("vsftpd (apt-get install vsftpd)")
PURE_FTPD="$PREFIX/root/usr/sbin/pure-ftpd"
[ -x "$PURE_FTPD" ] || PURE_FTPD="$(command -v pure-ftpd || echo /usr/sbin/pure-ftpd)"
[ -x "$PURE_FTPD" ] || missing+=("pure-ftpd (expected at $PREFIX/root/usr/sbin/pure-ftpd)")
PURE_PW="$PREFIX/root/usr/bin/pure-pw"
[ -x "$PURE_PW" ] || PURE_PW="$(command -v pure-pw || echo /usr/bin/pure-pw)"
[ -x "$PURE_PW" ] || missing+=("pure-pw (expected at $PREFIX/root/usr/bin/pure-pw)")
PYFTPDLIB_PATH="$PREFIX/python${PYTHONPATH:+:$PYTHONPATH}"
PYTHONPATH="$PYFTPDLIB_PATH" python3 -c 'import pyftpdlib' 2>/dev/null \
    || missing+=("pyftpdlib (expected under $PREFIX/python)")
getent passwd ftptest >/dev/null || missing+=("user ftptest (pure-ftpd's sessions run as it)")
getent passwd ftp >/dev/null \
    || missing+=("user ftp (vsftpd's anonymous user; apt-get install vsftpd creates it)")
if [ ${#missing[@]} -gt 0 ]; then
    for m in "${missing[@]}"; do printf 'bench: missing peer: %s\n' "$m" >&2; done
    die "$INSTALL_HINT"
fi

# 1,000 sessions: sockets on both sides, plus the forking servers' processes.
hard=$(ulimit -Hn)
want=20000
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want" || die "cannot raise the open-file limit"
[ "$(ulimit -n)" -ge $((MAX_CONC * 2 + 200)) ] || die "open-file limit $(ulimit -n) is too low"

# Pinned rows: the server on one CPU, the client on another.
read -r -a CPUS <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
ALL_CPUS="$(IFS=,; echo "${CPUS[*]}")"
SERVER_CPU=${BENCH_SERVER_CPU:-${CPUS[0]}}
CLIENT_CPU=${BENCH_CLIENT_CPU:-${CPUS[1]:-}}
[ -n "$CLIENT_CPU" ] && [ "$CLIENT_CPU" != "$SERVER_CPU" ] \
    || die "the pinned rows need two CPUs (this script may use: $ALL_CPUS)"

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
    need_kib=$(( (BIG_MIB * 3 + 512) * 1024 ))
    if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2{print $4}')" -gt "$need_kib" ]; then
        BENCH_TMP=/dev/shm
    else
        BENCH_TMP=/tmp
    fi
fi
WORK="$(mktemp -d "$BENCH_TMP/ftpkit-bench.XXXXXX")"
chmod 755 "$WORK"
PIDS=()

descendants() {  # PID -> its descendants, parents before children (one ps, for 2,000 processes too)
    ps -eo pid=,ppid= | awk -v root="$1" '
        function walk(p,    n, a, i) { n = split(kids[p], a, " "); for (i = 1; i <= n; i++) { print a[i]; walk(a[i]) } }
        { kids[$2] = kids[$2] " " $1 }
        END { walk(root) }'
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

# --- content: the same files for every server -----------------------------
# One copy on disk, hard-linked into each server's tree (the same inodes, so
# the same page-cache state for everyone); uploads go to each tree's upload/.
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
chmod -R a+rX "$WORK/src"
for s in "${SERVERS[@]}"; do
    mkdir -p "$WORK/$s/small" "$WORK/$s/upload"
    ln "$WORK/src/big.bin" "$WORK/$s/big.bin"
    ln "$WORK/src/small/"* "$WORK/$s/small/"
    chmod 755 "$WORK/$s" "$WORK/$s/small" "$WORK/$s/upload"
done
# vsftpd: the anonymous root must not be writable by its user; uploads go to
# a directory the 'ftp' user owns. pure-ftpd runs its sessions as ftptest.
chown ftp "$WORK/vsftpd/upload"
chown ftptest:ftptest "$WORK/pure-ftpd" "$WORK/pure-ftpd/small" "$WORK/pure-ftpd/upload"
mkdir -p /var/run/vsftpd/empty
BIG_BYTES=$(stat -c %s "$WORK/src/big.bin")

# --- servers ------------------------------------------------------------
# Logins: ftptest/ftptest on ftpkit (--user), pure-ftpd (puredb) and pyftpdlib;
# vsftpd stays anonymous (as in scripts/bench/vsftpd.conf.in), because its
# local users go through PAM and the system's yescrypt hash, which would
# make its sessions row a measure of the password hash.
declare -A PORT PID CREDS
for s in "${SERVERS[@]}"; do CREDS[$s]="ftptest:ftptest"; done
CREDS[vsftpd]="anonymous:bench@example.com"

start_ftpkit() {
    FTPKIT_ARGS=(serve $( [ "$(id -u)" != 0 ] || echo --run-as root ) --root "$WORK/ftpkit" --listen "127.0.0.1:${PORT[ftpkit]}"
                 --user ftptest:ftptest:rw --max-sessions 5000 --max-sessions-per-ip 5000
                 --idle-timeout 600)
    "$FTPKIT" "${FTPKIT_ARGS[@]}" >>"$WORK/ftpkit.log" 2>&1 &
    PID[ftpkit]=$!
}
start_vsftpd() {
    sed -e "s|@PORT@|${PORT[vsftpd]}|" -e "s|@ROOT@|$WORK/vsftpd|" -e "s|@EXTRA@|${VSFTPD_EXTRA:-}|" \
        "$BENCH/vsftpd.conf.in" > "$WORK/vsftpd.conf"
    "$VSFTPD" "$WORK/vsftpd.conf" >>"$WORK/vsftpd.log" 2>&1 &
    PID[vsftpd]=$!
}
start_pure-ftpd() {
    local run="$WORK/pure-ftpd.run" flags=() line
    mkdir -p "$run"
    # A virtual user in a puredb file, as tests/peers/start.sh writes it, but
    # with an MD5-crypt hash: the cheapest crypt(3) hash pure-ftpd takes, so
    # that a login costs the server, not a deliberately slow password hash.
    printf 'ftptest:%s:%s:%s::%s/./::::::::::::\n' "$(openssl passwd -1 ftptest)" \
        "$(id -u ftptest)" "$(id -g ftptest)" "$WORK/pure-ftpd" > "$run/pureftpd.passwd"
    rm -f "$run/pureftpd.pdb"
    "$PURE_PW" mkdb "$run/pureftpd.pdb" -f "$run/pureftpd.passwd" >/dev/null
    while IFS= read -r line; do
        case $line in '' | '#'*) ;; *) flags+=("$line") ;; esac
    done < <(sed -e "s|@PORT@|${PORT[pure-ftpd]}|" -e "s|@RUNDIR@|$run|" "$BENCH/pure-ftpd.flags.in")
    "$PURE_FTPD" "${flags[@]}" >>"$WORK/pure-ftpd.log" 2>&1 &
    PID[pure-ftpd]=$!
}
start_pyftpdlib() {
    PYTHONPATH="$PYFTPDLIB_PATH" python3 "$BENCH/pyftpdlib_server.py" "${PORT[pyftpdlib]}" \
        "$WORK/pyftpdlib" >>"$WORK/pyftpdlib.log" 2>&1 &
    PID[pyftpdlib]=$!
}
start_server() {  # SERVER: on a fresh port
    PORT[$1]=$(free_port)
    "start_$1"
    PIDS+=("${PID[$1]}")
    wait_ready "${PORT[$1]}" "${PID[$1]}" || { cat "$WORK/$1.log" >&2; die "$1 did not start"; }
}
stop_server() { stop_tree "${PID[$1]}"; }

pin_server() {  # SERVER CPUS: the server, every thread and every process it forked
    local p
    for p in "${PID[$1]}" $(descendants "${PID[$1]}"); do
        taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true
    done
}
check_alive() {  # SERVER: dies, with the end of its log, if the server has exited
    kill -0 "${PID[$1]}" 2>/dev/null && return 0
    tail -n 5 "$WORK/$1.log" >&2 || true
    die "$1 (pid ${PID[$1]}) exited during the run (its log ends above; 'stopping' means a signal from outside)"
}
CPU_WATCH=; CPU_SECS=; CPU_SERVER=
cpu_start() {  # SERVER: sample its CPU use until cpu_stop
    CPU_SERVER=$1
    check_alive "$1"
    rm -f "$WORK/cpu.out" "$WORK/cpu.out.ready"
    python3 "$BENCH/cpustat.py" watch "${PID[$1]}" "$WORK/cpu.out" &
    CPU_WATCH=$!
    PIDS+=("$CPU_WATCH")
    for _ in $(seq 100); do [ -e "$WORK/cpu.out.ready" ] && break; sleep 0.01; done
}
cpu_stop() {  # sets CPU_SECS: CPU seconds since cpu_start
    sleep 0.3  # let the session processes finish
    kill -TERM "$CPU_WATCH"
    wait "$CPU_WATCH" 2>/dev/null || true
    check_alive "$CPU_SERVER"
    CPU_SECS=$(cat "$WORK/cpu.out")
}
order() {  # REP -> the servers, rotated by one place per repetition
    local n=${#SERVERS[@]} i
    for ((i = 0; i < n; i++)); do printf '%s ' "${SERVERS[$(( (i + $1 - 1) % n ))]}"; done
}
url() { echo "ftp://127.0.0.1:${PORT[$1]}/$2"; }
login_args() {  # SERVER -> ftpload.py's --user/--password
    echo "--user ${CREDS[$1]%%:*} --password ${CREDS[$1]#*:}"
}
json() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(*(d[k] for k in sys.argv[2:]))' "$@"; }
record() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$RAW"; }  # METRIC SERVER VALUE JSON

for s in "${SERVERS[@]}"; do start_server "$s"; done
for s in "${SERVERS[@]}"; do say "$s on 127.0.0.1:${PORT[$s]} (pid ${PID[$s]}), login ${CREDS[$s]%%:*}"; done

RAW="$WORK/raw.tsv"
: > "$RAW"
CURL=(curl --silent --show-error --max-time 300)
PINNED=(taskset -c "$CLIENT_CPU")

# --- 1. loopback ceiling, RETR and STOR of the big file --------------------
# The rate is the data phase: bytes / (time_total - time_pretransfer), so that
# curl's passive-connect stall (see section 2) does not count; the stalls
# (time_pretransfer > 0.15 s) and the whole-command rate are recorded too.
rate() {  # BYTES TOTAL PRETRANSFER -> data-phase MB/s, whole-command MB/s, stalled?
    python3 -c "import sys; b,t,p=map(float,sys.argv[1:]); print(round(b/1e6/(t-p),1), round(b/1e6/t,1), int(p>0.15))" "$@"
}
# Every upload of the big file starts right after a prefault (see
# scripts/bench/prefault.py): on a virtual machine with free page reporting,
# a write into tmpfs runs 5-9x slower on pages the host has taken back, and
# which server draws them is luck. Twice the file's size is touched.
prefault() { python3 "$BENCH/prefault.py" $((BIG_MIB * 2)) || die "prefault failed"; }
# Warm-up, not counted: the first large upload into a fresh tmpfs pays for
# page allocation (and showed 2-4x the CPU of later ones).
for s in "${SERVERS[@]}"; do
    "${CURL[@]}" -u "${CREDS[$s]}" -o /dev/null "$(url "$s" big.bin)" || die "$s warm-up RETR failed"
    prefault
    "${CURL[@]}" -u "${CREDS[$s]}" -T "$WORK/src/big.bin" "$(url "$s" upload/warm-up.bin)" \
        || die "$s warm-up STOR failed"
    rm -f "$WORK/$s/upload/warm-up.bin"
done
python3 "$BENCH/ceiling.py" "$WORK/src/big.bin" >/dev/null || die "loopback ceiling failed"
for rep in $(seq $((REPS * ROUNDS))); do
    out=$(python3 "$BENCH/ceiling.py" "$WORK/src/big.bin") || die "loopback ceiling failed"
    say "loopback ceiling #$rep: $out"
    record ceiling - "$(json "$out" mbps)" "$out"
    for s in $(order "$rep"); do
        cpu_start "$s"
        out=$("${CURL[@]}" -u "${CREDS[$s]}" -o /dev/null -w '%{size_download} %{time_total} %{time_pretransfer}' \
              "$(url "$s" big.bin)") || die "$s RETR failed"
        read -r size secs pre <<<"$out"
        [ "$size" = "$BIG_BYTES" ] || die "$s RETR: got $size of $BIG_BYTES bytes"
        read -r mbps whole stalled <<<"$(rate "$size" "$secs" "$pre")"
        cpu_stop; cpu=$CPU_SECS
        say "RETR $s #$rep: $mbps MB/s (whole command $whole MB/s, pretransfer $pre s, server CPU $cpu s)"
        record retr "$s" "$mbps" "{\"whole\": $whole, \"stalled\": $stalled, \"cpu\": $cpu}"
    done
    for s in $(order "$rep"); do
        name="big-$rep.bin"
        prefault
        cpu_start "$s"
        out=$("${CURL[@]}" -u "${CREDS[$s]}" -T "$WORK/src/big.bin" \
              -w '%{size_upload} %{time_total} %{time_pretransfer}' "$(url "$s" "upload/$name")") \
            || die "$s STOR failed"
        read -r size secs pre <<<"$out"
        cpu_stop; cpu=$CPU_SECS
        stored=$(stat -c %s "$WORK/$s/upload/$name" 2>/dev/null || echo 0)
        [ "$size" = "$BIG_BYTES" ] && [ "$stored" = "$BIG_BYTES" ] \
            || die "$s STOR: sent $size, stored $stored of $BIG_BYTES bytes"
        cmp -s "$WORK/src/big.bin" "$WORK/$s/upload/$name" || die "$s STOR: the stored file differs"
        rm -f "$WORK/$s/upload/$name"
        read -r mbps whole stalled <<<"$(rate "$size" "$secs" "$pre")"
        say "STOR $s #$rep: $mbps MB/s (whole command $whole MB/s, pretransfer $pre s, server CPU $cpu s)"
        record stor "$s" "$mbps" "{\"whole\": $whole, \"stalled\": $stalled, \"cpu\": $cpu}"
    done
done

# --- 2. many small files over one control connection ----------------------
# Three clients, each over one control connection for all the files:
#  - Python ftplib, PASV (scripts/bench/ftpload.py files);
#  - curl, passive (EPSV, curl's default): one invocation with every URL;
#  - curl, active (-P 127.0.0.1: the server connects to curl), unpinned only.
# curl 7.88 sleeps a full second before a passive data connection when the
# complete 227/229 is already there at the read it makes right after its
# send: it then waits for a data connection it has not started, polling no
# socket, until its 1 s timeout (lib/multi.c: DO goes straight to
# DOING_MORE; README, Performance). That is a client artefact, and how often
# it strikes depends on the server's timing, so the EPSV runs count those
# stalls (time_pretransfer > 0.9 s) and stop after CURL_PASV_CAP seconds
# (files/s is then over the files done).
# Each curl run checks that it used one control connection: the transfers'
# num_connects add up to 1 (active) or 1 + one data connection per file (EPSV).
for s in "${SERVERS[@]}"; do
    cfg="$WORK/small-$s.curl"
    : > "$cfg"
    for ((i = 0; i < SMALL_COUNT; i++)); do
        printf 'url = "%s"\noutput = "/dev/null"\n' "$(url "$s" "small/$(printf 'f%05d.bin' "$i")")" >> "$cfg"
    done
done
CURL_W='%{stderr}%{response_code} %{time_pretransfer} %{num_connects}\n'
run_files() {  # SERVER VARIANT(py|pasv|active) PIN(0|1) REP
    local s=$1 variant=$2 pin=$3 rep=$4 client=() t0 t1 secs out rc done_files stalls connects want capped
    [ "$pin" = 1 ] && { client=("${PINNED[@]}"); pin_server "$s" "$SERVER_CPU"; }
    cpu_start "$s"
    if [ "$variant" = py ]; then
        # shellcheck disable=SC2046
        out=$("${client[@]}" python3 "$BENCH/ftpload.py" files --port "${PORT[$s]}" --count "$SMALL_COUNT" \
              $(login_args "$s")) || die "$s small files (ftplib) failed"
        cpu_stop
        read -r secs slow <<<"$(json "$out" seconds slow)"
        say "small files $s #$rep, ftplib PASV, pinned $pin: $out, server CPU $CPU_SECS s"
        record "files-py-$pin" "$s" "$(python3 -c "print(round($SMALL_COUNT / $secs, 1))")" \
            "{\"seconds\": $secs, \"slow\": $slow, \"cpu\": $CPU_SECS}"
    else
        local mode=() cap=$CURL_PASV_CAP
        [ "$variant" = active ] && { mode=(-P 127.0.0.1); cap=600; }
        t0=$(date +%s%N)
        rc=0
        timeout "$cap" "${client[@]}" curl --silent --show-error --max-time 60 -u "${CREDS[$s]}" \
            "${mode[@]}" -K "$WORK/small-$s.curl" -w "$CURL_W" 2> "$WORK/files.out" || rc=$?
        t1=$(date +%s%N)
        cpu_stop
        secs=$(python3 -c "print(($t1 - $t0) / 1e9)")
        done_files=$(awk '$1 == 226' "$WORK/files.out" | wc -l)
        stalls=$(awk '$1 ~ /^[0-9][0-9][0-9]$/ && $2 > 0.9' "$WORK/files.out" | wc -l)
        connects=$(awk '$1 ~ /^[0-9][0-9][0-9]$/ {n += $3} END {print n + 0}' "$WORK/files.out")
        capped=0
        if [ "$rc" = 124 ] && [ "$variant" = pasv ]; then
            capped=1
        elif [ "$rc" != 0 ] || [ "$done_files" != "$SMALL_COUNT" ]; then
            tail -5 "$WORK/files.out" >&2
            die "$s small files (curl $variant): exit $rc, $done_files of $SMALL_COUNT files"
        fi
        if [ "$variant" = active ]; then want=1; else want=$((done_files + 1)); fi
        [ "$capped" = 1 ] || [ "$connects" = "$want" ] \
            || die "$s small files (curl $variant): $connects connections for $done_files files, not $want"
        say "small files $s #$rep, curl $variant, pinned $pin: $done_files files in $secs s" \
            "($stalls one-second stalls$([ "$capped" = 1 ] && echo ", stopped at ${CURL_PASV_CAP}s")), server CPU $CPU_SECS s"
        record "files-$variant-$pin" "$s" "$(python3 -c "print(round($done_files / $secs, 1))")" \
            "{\"seconds\": $secs, \"files\": $done_files, \"stalls\": $stalls, \"capped\": $capped, \"cpu\": $CPU_SECS}"
    fi
    [ "$pin" = 1 ] && pin_server "$s" "$ALL_CPUS"
    return 0
}
for rep in $(seq $((REPS * ROUNDS))); do
    # curl's runs take up to CURL_PASV_CAP each (a peer that stalls): REPS.
    variants=("py 0" "py 1")
    [ "$rep" -le "$REPS" ] && variants+=("pasv 0" "pasv 1" "active 0")
    for variant in "${variants[@]}"; do
        for s in $(order "$rep"); do
            # shellcheck disable=SC2086
            run_files "$s" $variant "$rep"
        done
    done
done

# --- 3. sessions per second ------------------------------------------------
for rep in $(seq "$REPS"); do
    for s in $(order "$rep"); do
        cpu_start "$s"
        # shellcheck disable=SC2046
        out=$(python3 "$BENCH/ftpload.py" sessions --port "${PORT[$s]}" --count "$SESSION_COUNT" \
              --concurrency "$SESSION_CONCURRENCY" --procs "$SESSION_PROCS" $(login_args "$s"))
        read -r rate ok failed <<<"$(json "$out" rate ok failed)"
        cpu_stop
        say "sessions $s #$rep: $rate/s ($ok ok, $failed failed, server CPU $CPU_SECS s) $out"
        record sessions "$s" "$rate" "{\"ok\": $ok, \"failed\": $failed, \"cpu\": $CPU_SECS}"
    done
done

# --- 4. NOOP round trip, pinned ----------------------------------------------
for rep in $(seq "$REPS"); do
    for s in $(order "$rep"); do
        pin_server "$s" "$SERVER_CPU"
        # shellcheck disable=SC2046
        out=$("${PINNED[@]}" python3 "$BENCH/ftpload.py" noop --port "${PORT[$s]}" --count "$NOOP_COUNT" \
              $(login_args "$s")) || die "$s NOOP failed"
        pin_server "$s" "$ALL_CPUS"
        say "NOOP $s #$rep: $out"
        record noop "$s" "$(json "$out" median_us)" "$out"
    done
done

record after ftpkit "$(python3 "$BENCH/memstat.py" "${PID[ftpkit]}")" "{}"
for s in "${SERVERS[@]}"; do stop_server "$s"; done

# --- 5. concurrent sessions: lost sessions, memory (a fresh server each time) ---
# ftpload.py hold logs N sessions in, 50 connecting at a time and no retry,
# holds them, then downloads a 4 KiB file on each (50 at a time, every
# session still open): lost = N - (whole file and 226).
for n in $CONC_COUNTS; do
    for rep in $(seq "$REPS"); do
        for s in $(order "$rep"); do
            start_server "$s"
            sleep 1
            mem0=$(python3 "$BENCH/memstat.py" "${PID[$s]}")
            ready="$WORK/hold-$s-$n-$rep.json"
            # shellcheck disable=SC2046
            python3 "$BENCH/ftpload.py" hold --port "${PORT[$s]}" --count "$n" --ready "$ready" \
                --burst "$HOLD_BURST" --retries 0 --timeout 30 \
                --retr small/f00000.bin --retr-size "$SMALL_SIZE" $(login_args "$s") &
            hold_pid=$!
            PIDS+=("$hold_pid")
            for _ in $(seq 1800); do
                [ -s "$ready" ] && break
                kill -0 "$hold_pid" 2>/dev/null || die "$s: the concurrent-session helper died"
                sleep 0.1
            done
            [ -s "$ready" ] || die "$s: $n sessions did not log in within 180 s"
            mem1=$(python3 "$BENCH/memstat.py" "${PID[$s]}")
            held=$(cat "$ready")
            lost=$(json "$held" lost)
            say "$n sessions $s #$rep: $held; memory $mem1"
            [ "$lost" = 0 ] || say "WARNING: $s lost $lost of $n sessions"
            record "conc-$n" "$s" "$lost" "{\"hold\": $held, \"mem0\": $mem0, \"mem1\": $mem1}"
            stop_tree "$hold_pid"
            # The forking servers' sessions end with their connections: let
            # them go before the listener is stopped.
            for _ in $(seq 100); do
                [ -z "$(descendants "${PID[$s]}")" ] && break
                sleep 0.1
            done
            stop_server "$s"
        done
    done
done

# --- report ---------------------------------------------------------------
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
FTPKIT_SHOWN="ftpkit ${FTPKIT_ARGS[*]}"
FTPKIT_SHOWN="${FTPKIT_SHOWN//"$WORK"/\$WORK}"
FTPKIT_SHOWN="${FTPKIT_SHOWN//127.0.0.1:${PORT[ftpkit]}/127.0.0.1:\$PORT}"
export MODE COMMAND REPO WORK BENCH_TMP LOAD_BEFORE LOAD_AFTER BUSY FTPKIT_SHOWN FTPKIT VSFTPD PURE_FTPD \
    PYFTPDLIB_PATH BIG_MIB BIG_BYTES SMALL_COUNT SMALL_SIZE SESSION_COUNT SESSION_CONCURRENCY SESSION_PROCS \
    CONC_COUNTS NOOP_COUNT REPS ROUNDS CURL_PASV_CAP SERVER_CPU CLIENT_CPU HOLD_BURST
python3 - "$WORK/meta.json" <<'EOF'
import json, os, platform, subprocess, sys
e = os.environ
def sh(c, env=None):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True,
                              env=dict(e, **(env or {}))).stdout.strip()
    except Exception:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
big_mib = int(e["BIG_MIB"])
meta = {
    "mode": e["MODE"],
    "command": e["COMMAND"],
    "date": sh("date -u +%Y-%m-%dT%H:%MZ"),
    "git": sh(f"git -C '{e['REPO']}' rev-parse --short HEAD"),
    "nproc": sh("nproc"),
    "cpu": cpu,
    "kernel": "Linux " + platform.release(),
    "fs": sh(f"df -PT '{e['WORK']}' | awk 'NR==2{{print $2}}'") + f" ({e['BENCH_TMP']})",
    "load_before": e["LOAD_BEFORE"],
    "load_after": e["LOAD_AFTER"],
    "busy": e["BUSY"],
    "ftpkit_cmd": e["FTPKIT_SHOWN"],
    "versions": {
        "ftpkit": sh(f"'{e['FTPKIT']}' --version") or "ftpkit ?",
        "vsftpd": "vsftpd " + (sh("dpkg-query -W -f='${Version}' vsftpd 2>/dev/null") or "?"),
        "pure-ftpd": "pure-ftpd " + (sh(f"'{e['PURE_FTPD']}' --help 2>&1 | head -1 | awk '{{print $2}}'") or "?"),
        "pyftpdlib": "pyftpdlib " + (sh("python3 -c 'import pyftpdlib; print(pyftpdlib.__ver__)'",
                                        {"PYTHONPATH": e["PYFTPDLIB_PATH"]}) or "?"),
    },
    "curl_version": sh("curl --version | head -1 | cut -d' ' -f1-2"),
    "python": platform.python_version(),
    "big_label": f"{big_mib} MiB" if big_mib < 1024 else f"{big_mib // 1024} GiB",
    "big_bytes": int(e["BIG_BYTES"]),
    "small_count": int(e["SMALL_COUNT"]),
    "small_label": f"{int(e['SMALL_SIZE']) // 1024} KiB",
    "session_count": int(e["SESSION_COUNT"]),
    "session_concurrency": int(e["SESSION_CONCURRENCY"]),
    "session_procs": int(e["SESSION_PROCS"]),
    "conc_counts": [int(x) for x in e["CONC_COUNTS"].split()],
    "hold_burst": int(e["HOLD_BURST"]),
    "noop_count": int(e["NOOP_COUNT"]),
    "reps": int(e["REPS"]),
    "rounds": int(e["ROUNDS"]),
    "curl_pasv_cap": int(e["CURL_PASV_CAP"]),
    "server_cpu": e["SERVER_CPU"],
    "client_cpu": e["CLIENT_CPU"],
}
json.dump(meta, open(sys.argv[1], "w"))
EOF
cp "$RAW" "$BENCH/raw-$MODE.tsv"
python3 "$BENCH/report.py" "$RAW" "$WORK/meta.json" "$RESULTS"
say "written to ${RESULTS#"$REPO"/}"
