#!/usr/bin/env bash
# Regenerates docs/conformance.md: `ftpkit check` against our server
# (`ftpkit serve`) and the peers vsftpd, pure-ftpd, proftpd and pyftpdlib,
# each on a loopback port with FTPS (a throwaway self-signed certificate),
# side by side.
#
#   scripts/conformance-report.sh [--timeout SECONDS] [--out FILE]
#
# Peers are started with tests/peers/start.sh (install them with
# tests/peers/install.sh); a peer that is not installed gets a column saying
# so. A peer's failures are data, not errors of this script: it exits 0 once
# the report is written, 2 when it cannot run at all.
set -euo pipefail

cd "$(dirname "$0")/.."
timeout=15
out=docs/conformance.md
while [ $# -gt 0 ]; do
    case $1 in
    --timeout) timeout=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--timeout SECONDS] [--out FILE]" >&2; exit 2 ;;
    esac
done

cargo build --release --bin ftpkit
ftpkit=target/release/ftpkit
if "$ftpkit" check --help >/dev/null 2>&1; then
    check=("$ftpkit" check)
    check_shown="ftpkit check"
else
    # Until the binary has its `check` subcommand: the same code, as the
    # crate's example.
    cargo build --release -p ftp-conformance --example check
    check=(target/release/examples/check)
    check_shown="cargo run --release -p ftp-conformance --example check --"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-conformance.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem" "$work/cert.pem"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    for _ in $(seq 1 100); do
        if ! port_free "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

servers=(ftpkit vsftpd pure-ftpd proftpd pyftpdlib)
port=$((30000 + RANDOM % 20000))
for server in "${servers[@]}"; do
    root=$work/$server
    mkdir -p "$root/upload"
    started=0
    # Two tries, on fresh ports: a peer occasionally fails to bind.
    for _ in 1 2; do
        while ! port_free "$port"; do port=$((port + 1)); done
        if [ "$server" = ftpkit ]; then
            "$ftpkit" serve $( [ "$(id -u)" != 0 ] || echo --run-as root ) --root "$root" --listen "127.0.0.1:$port" --user ftptest:ftptest:rw \
                --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/$server.log" 2>&1 &
        else
            tests/peers/start.sh "$server" "$port" "$root" --tls "$work/cert.pem" "$work/key.pem" \
                >"$work/$server.log" 2>&1 &
        fi
        pid=$!
        pids+=("$pid")
        if wait_port "$port"; then
            started=1
            break
        fi
        echo "conformance-report: $server did not start: $(tail -n 3 "$work/$server.log" | tr '\n' ' ')" >&2
        kill "$pid" 2>/dev/null || true
        port=$((port + 1))
    done
    if [ "$started" -eq 0 ]; then
        echo '{"unavailable": true}' >"$work/$server.json"
        continue
    fi
    echo "conformance-report: checking $server on 127.0.0.1:$port" >&2
    status=0
    "${check[@]}" "ftp://ftptest:ftptest@127.0.0.1:$port/upload" --insecure --timeout "$timeout" \
        --format json >"$work/$server.json" || status=$?
    if [ "$status" -ge 2 ]; then
        echo "conformance-report: the check of $server could not run (exit $status)" >&2
        echo '{"unavailable": true}' >"$work/$server.json"
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -n "$(ls -A "$root/upload")" ]; then
        echo "conformance-report: $server: the writable directory was not left empty: $(ls -A "$root/upload")" >&2
    fi
    port=$((port + 1))
done

mkdir -p "$(dirname "$out")"
versions=$(
    printf 'vsftpd %s; ' "$(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || echo '?')"
    printf 'pure-ftpd %s; ' "$(dpkg-query -W -f '${Version}' pure-ftpd 2>/dev/null || ls /opt/ftpkit-peers/root/usr/share/doc 2>/dev/null | grep -m1 pure-ftpd || echo '?')"
    printf 'proftpd %s; ' "$(/opt/ftpkit-peers/root/usr/sbin/proftpd --version 2>/dev/null | awk '{print $NF}' || echo '?')"
    printf 'pyftpdlib %s' "$(PYTHONPATH=/opt/ftpkit-peers/python python3 -c 'import pyftpdlib; print(pyftpdlib.__ver__)' 2>/dev/null || echo '?')"
)
python3 - "$work" "$out" "$check_shown" "$timeout" "$versions" "${servers[@]}" <<'PY'
import json, sys, datetime
work, out, check, timeout, versions, *servers = sys.argv[1:]
reports = {}
for s in servers:
    try:
        reports[s] = json.load(open(f"{work}/{s}.json"))
    except Exception:
        reports[s] = {"unavailable": True}
rows = {}
order = []
for s in servers:
    for r in reports[s].get("results", []):
        if r["id"] not in rows:
            rows[r["id"]] = r
            order.append(r["id"])
def cell(s, cid):
    rep = reports[s]
    if rep.get("unavailable"):
        return "n/a"
    for r in rep["results"]:
        if r["id"] == cid:
            return {"pass": "pass", "fail": "**FAIL**", "skip": "skip"}[r["result"]]
    return "-"
def esc(t):
    return t.replace("|", "\\|").replace("\n", " ")
lines = []
lines.append("# Conformance: ftpkit and the FTP servers people run\n")
lines.append("Generated by `scripts/conformance-report.sh` on "
             + datetime.date.today().isoformat() + "; do not edit by hand.\n")
lines.append("Each server ran on 127.0.0.1 with FTPS available (a self-signed certificate), "
             "user `ftptest` with write access to `upload/`, started by `tests/peers/start.sh` "
             "(ours: `ftpkit serve --user ftptest:ftptest:rw --tls-cert ... --tls-key ...`). "
             "The checks were run with:\n")
lines.append("```\n" + check + " ftp://ftptest:ftptest@127.0.0.1:PORT/upload --insecure --timeout "
             + timeout + " --format json\n```\n")
lines.append("Servers: ftpkit (this repository); " + versions + ".\n")
lines.append("A peer's failure is data, not a test failure. `skip` means the check does not apply "
             "(the server does not announce the feature in FEAT, or the check needs something the "
             "setup does not offer); the reasons are listed below. Every server runs with its defaults: "
             "`robust-slow-loris-idle-timeout` trickles a command line one byte a second for 20 s; "
             "ftpkit ends such a line 15 s after its first byte (`--line-timeout`), the peers only "
             "at their idle timeouts (minutes).\n")
lines.append("## Scores\n")
lines.append("| severity | " + " | ".join(servers) + " |")
lines.append("|---|" + "---|" * len(servers))
for sev in ["MUST", "SHOULD", "MAY", "INTEROP"]:
    cells = []
    for s in servers:
        rep = reports[s]
        if rep.get("unavailable"):
            cells.append("n/a")
            continue
        sc = next((x for x in rep["scores"] if x["severity"] == sev), None)
        if sc is None or sc["passed"] + sc["failed"] + sc["skipped"] == 0:
            cells.append("-")
        else:
            cells.append(f"{sc['passed']} pass / {sc['failed']} fail / {sc['skipped']} skip")
    lines.append(f"| {sev} | " + " | ".join(cells) + " |")
lines.append("")
lines.append("## Side by side\n")
lines.append("| check | source | severity | " + " | ".join(servers) + " |")
lines.append("|---|---|---|" + "---|" * len(servers))
for cid in order:
    r = rows[cid]
    lines.append(f"| `{cid}` | {esc(r['source'])} | {r['severity']} | "
                 + " | ".join(cell(s, cid) for s in servers) + " |")
lines.append("")
lines.append("## Why each failure and skip\n")
for s in servers:
    rep = reports[s]
    lines.append(f"### {s}\n")
    if rep.get("unavailable"):
        lines.append("Not available on the machine that made this report (see tests/peers/install.sh).\n")
        continue
    notes = [r for r in rep["results"] if r["result"] != "pass"]
    if not notes:
        lines.append("Every check passed.\n")
        continue
    for r in notes:
        reason = esc(r["reason"] or "")
        if len(reason) > 300:
            reason = reason[:300] + "..."
        lines.append(f"- `{r['id']}` ({r['result']}): {reason}")
    lines.append("")
open(out, "w").write("\n".join(lines))
PY
echo "conformance-report: wrote $out" >&2
