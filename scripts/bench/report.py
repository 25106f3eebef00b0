#!/usr/bin/env python3
"""Turns the raw figures of scripts/bench-vs-vsftpd.sh into a markdown report.

  report.py RAW META OUT
    RAW   lines "metric<TAB>server<TAB>value..." written by the script
    META  a JSON object (command, machine, load, sizes, versions)
    OUT   markdown file to write (also printed on stdout)
"""

import json
import statistics
import sys

SERVERS = ("ftpkit", "vsftpd")


def load(raw_path):
    data = {}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            metric, server, *values = parts
            data.setdefault(metric, {}).setdefault(server, []).append(values)
    return data


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main() -> None:
    raw_path, meta_path, out_path = sys.argv[1:4]
    data = load(raw_path)
    with open(meta_path) as f:
        meta = json.load(f)

    def series(metric, server, index=0, conv=float):
        return [conv(v[index]) for v in data.get(metric, {}).get(server, [])]

    def median(metric, server, index=0):
        s = series(metric, server, index)
        return statistics.median(s) if s else None

    def spread(metric, server, index=0):
        s = series(metric, server, index)
        return f"{min(s):,.0f}–{max(s):,.0f}" if len(s) > 1 else ""

    rows = []
    big = meta["big_label"]
    small_n = meta["small_count"]
    for metric, label in (("retr", f"RETR {big}, one stream, data phase (MB/s)"),
                          ("stor", f"STOR {big}, one stream, data phase (MB/s)")):
        f, v = median(metric, "ftpkit"), median(metric, "vsftpd")
        stalls = {s: sum(int(x) for x in series(metric, s, 2, int)) for s in SERVERS}
        rows.append((label, fmt(f), fmt(v), ratio(f, v), "higher is better",
                     f"ftpkit {spread(metric, 'ftpkit')}; vsftpd {spread(metric, 'vsftpd')}; whole-command "
                     f"medians {fmt(median(metric, 'ftpkit', 1))} / {fmt(median(metric, 'vsftpd', 1))}; "
                     f"runs with a curl connect stall: ftpkit {stalls['ftpkit']}, vsftpd {stalls['vsftpd']}"))

    # Small files: seconds per run -> files per second.
    def files_row(metric, label):
        fs = [small_n / x for x in series(metric, "ftpkit")]
        vs = [small_n / x for x in series(metric, "vsftpd")]
        f = statistics.median(fs) if fs else None
        v = statistics.median(vs) if vs else None
        note = f"ftpkit {min(fs):,.0f}–{max(fs):,.0f}; vsftpd {min(vs):,.0f}–{max(vs):,.0f}" if fs and vs else ""
        if metric == "smallpy":
            slow = {s: sum(int(x) for x in series(metric, s, 1, int)) for s in SERVERS}
            note += f"; files over 0.5 s: ftpkit {slow['ftpkit']}, vsftpd {slow['vsftpd']}"
        rows.append((label, fmt(f), fmt(v), ratio(f, v), "higher is better", note))

    files_row("small", f"{small_n:,} files of {meta['small_label']}, one control connection, "
                       "curl active `-P 127.0.0.1` (files/s)")
    files_row("smallpy", f"{small_n:,} files of {meta['small_label']}, one control connection, "
                         "Python ftplib PASV (files/s)")
    pasv = {}
    for s in SERVERS:
        v = data.get("smallpasv", {}).get(s)
        if v:
            secs, done, stalls = float(v[0][0]), int(v[0][1]), int(v[0][2])
            pasv[s] = (done / secs if secs else None, done, stalls)
    if len(pasv) == 2:
        rows.append((f"first {pasv['ftpkit'][1]} files, curl passive EPSV, one run (files/s)",
                     fmt(pasv["ftpkit"][0]), fmt(pasv["vsftpd"][0]), ratio(pasv["ftpkit"][0], pasv["vsftpd"][0]),
                     "diagnostic",
                     f"curl one-second connect stalls: ftpkit {pasv['ftpkit'][2]}, vsftpd {pasv['vsftpd'][2]} "
                     f"(vsftpd {pasv['vsftpd'][1]} files)"))

    f, v = median("sessions", "ftpkit"), median("sessions", "vsftpd")
    fails = {s: sum(int(x) for x in series("sessions", s, 2, int)) for s in SERVERS}
    rows.append((f"sessions/s ({meta['session_count']:,} × connect+login+QUIT, {meta['session_concurrency']} concurrent)",
                 fmt(f), fmt(v), ratio(f, v), "higher is better",
                 f"failed sessions: ftpkit {fails['ftpkit']}, vsftpd {fails['vsftpd']}; "
                 f"ftpkit {spread('sessions', 'ftpkit')}; vsftpd {spread('sessions', 'vsftpd')}"))

    mem = {}
    for s in SERVERS:
        m0 = data.get("mem0", {}).get(s)
        m1 = data.get("mem1", {}).get(s)
        hold = data.get("hold", {}).get(s)
        mem[s] = (json.loads(m0[0][0]) if m0 else None, json.loads(m1[0][0]) if m1 else None,
                  json.loads(hold[0][0]) if hold else None)
    n_idle = meta["idle_count"]

    def compared(s, m):
        # ftpkit: one process, its RSS. vsftpd: forks per session, sum of PSS.
        if m is None:
            return None
        return m["root_rss_kib"] if s == "ftpkit" else m["pss_kib"]

    f1, v1 = compared("ftpkit", mem["ftpkit"][1]), compared("vsftpd", mem["vsftpd"][1])
    f0, v0 = compared("ftpkit", mem["ftpkit"][0]), compared("vsftpd", mem["vsftpd"][0])
    # Divide by the sessions actually held open (all of them, unless something failed).
    held = {s: (mem[s][2]["alive"] if mem[s][2] and mem[s][2]["alive"] else n_idle) for s in SERVERS}
    per_f = (f1 - f0) / held["ftpkit"] if f1 is not None and f0 is not None else None
    per_v = (v1 - v0) / held["vsftpd"] if v1 is not None and v0 is not None else None
    rows.append((f"memory at {n_idle:,} idle logged-in sessions (MiB; ftpkit RSS, vsftpd ΣPSS)",
                 fmt(f1 / 1024 if f1 else None, 1), fmt(v1 / 1024 if v1 else None, 1), ratio(f1, v1),
                 "lower is better",
                 f"ftpkit VmHWM {fmt(mem['ftpkit'][1]['root_hwm_kib'] / 1024, 1)} MiB"
                 if mem["ftpkit"][1] else ""))
    rows.append(("memory per session, (total at N − total at 0) / N (KiB)", fmt(per_f, 1), fmt(per_v, 1),
                 ratio(per_f, per_v), "lower is better", ""))

    # Server CPU cost, independent of what else the machine was doing.
    cpu_rows = []
    gb = meta["big_bytes"] / 1e9

    def cpu_row(metric, index, label, scale):
        f = median(metric, "ftpkit", index)
        v = median(metric, "vsftpd", index)
        if f is None or v is None:
            return
        cpu_rows.append((label, fmt(f * scale, 0), fmt(v * scale, 0), ratio(f, v)))

    cpu_row("retr", 3, "RETR, server CPU ms per GB", 1000 / gb)
    cpu_row("stor", 3, "STOR, server CPU ms per GB", 1000 / gb)
    cpu_row("small", 1, f"small files (curl active), server CPU ms per 1,000 files", 1000 * 1000 / small_n)
    cpu_row("sessions", 3, "sessions, server CPU ms per 1,000 sessions", 1000 * 1000 / meta["session_count"])

    out = []
    out.append(f"# ftpkit vs vsftpd on loopback ({meta['mode']} run)\n")
    out.append(f"- Command: `{meta['command']}`")
    out.append(f"- Date: {meta['date']}; git {meta['git']}")
    out.append(f"- Machine: {meta['nproc']} CPUs, {meta['cpu']}; {meta['kernel']}; files on {meta['fs']}")
    out.append(f"- Load average before / after: {meta['load_before']} / {meta['load_after']}")
    out.append(f"- Busiest other processes at the start: {meta['busy']}")
    out.append(f"- Servers: ftpkit (release build, `{meta['ftpkit_cmd']}`), {meta['vsftpd_version']} "
               f"(config scripts/bench/vsftpd.conf.in, anonymous, sendfile on)")
    out.append(f"- Client: {meta['curl_version']} for RETR, STOR (passive, EPSV) and the small files "
               f"(one curl invocation with {small_n:,} URLs in active mode; `-v` shows one control connection, "
               f"{meta['reuse_note']}); Python {meta['python']} ftplib for the small files once more (PASV), "
               f"and an asyncio helper (scripts/bench/ftpload.py, {meta['session_procs']} processes) "
               f"for sessions and idle sessions")
    out.append(f"- Repetitions: {meta['reps_big']} for RETR/STOR, {meta['reps_small']} for small files and sessions, "
               f"alternating which server goes first, after one uncounted RETR and STOR per server; "
               f"medians shown, min–max in the notes. MB = 10^6 bytes.\n")
    out.append("| figure | ftpkit | vsftpd | ftpkit/vsftpd | | notes |")
    out.append("|---|---:|---:|---:|---|---|")
    for label, fv, vv, r, better, note in rows:
        out.append(f"| {label} | {fv} | {vv} | {fmt(r, 2) if r is not None else 'n/a'} | {better} | {note} |")
    out.append("")
    out.append("Client, servers and the rest of the machine share the same CPUs: when a server needs "
               "little CPU per operation (see below), its figure is bounded by the client (curl, Python) "
               "rather than by the server.\n")
    out.append("Server CPU time (user + system, all threads; for vsftpd the listener and every session "
               "process; scripts/bench/cpustat.py, a lower bound for vsftpd's sessions row, whose "
               "processes live for milliseconds), median per repetition:\n")
    out.append("| figure | ftpkit | vsftpd | ftpkit/vsftpd (lower is better) |")
    out.append("|---|---:|---:|---:|")
    for label, fv, vv, r in cpu_rows:
        out.append(f"| {label} | {fv} | {vv} | {fmt(r, 2) if r is not None else 'n/a'} |")
    out.append("")
    out.append("Memory detail (KiB):\n")
    out.append("| server | state | processes | ΣPSS | ΣRSS | main process RSS | main process VmHWM | sessions |")
    out.append("|---|---|---:|---:|---:|---:|---:|---|")
    for s in SERVERS:
        m0, m1, hold = mem[s]
        for state, m in (("idle, 0 sessions", m0), (f"{n_idle:,} idle sessions", m1)):
            if m is None:
                continue
            sess = f"{hold['ok']} logged in, {hold['alive']} alive, {hold['failed']} failed" \
                if hold and m is m1 else ""
            out.append(f"| {s} | {state} | {m['procs']} | {m['pss_kib']:,} | {m['rss_kib']:,} | "
                       f"{m['root_rss_kib']:,} | {m['root_hwm_kib']:,} | {sess} |")
    after = data.get("after", {})
    if "ftpkit" in after:
        a = json.loads(after["ftpkit"][0][0])
        out.append(f"\nftpkit after the transfer phases (same process): RSS {a['root_rss_kib']:,} KiB, "
                   f"VmHWM {a['root_hwm_kib']:,} KiB.")
    out.append("\nCompared memory metric: ftpkit is one process, so its RSS (VmRSS, which counts every "
               "shared page in full) is compared with the sum of PSS over vsftpd's listener and all its "
               "session processes (PSS divides shared pages among the processes mapping them, so vsftpd "
               "is not charged its shared text once per fork). ΣRSS is shown for completeness; it "
               "overstates vsftpd.")
    text = "\n".join(out) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
