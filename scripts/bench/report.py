#!/usr/bin/env python3
"""Turns the raw figures of scripts/bench.sh into a markdown report.

  report.py RAW META OUT
    RAW   lines "metric<TAB>server<TAB>value<TAB>json" written by the script,
          one per run (the json holds the run's other figures)
    META  a JSON object (command, machine, load, sizes, versions)
    OUT   markdown file to write (also printed on stdout)

Every figure is the median over the repetitions, with min–max in the notes;
the ratio column compares ftpkit with the best of the peers on that row.
"""

import json
import statistics
import sys

SERVERS = ("ftpkit", "vsftpd", "pure-ftpd", "pyftpdlib")
PEERS = SERVERS[1:]
# One process (all sessions in it) or a process per session.
FORKING = {"vsftpd", "pure-ftpd"}


def load(raw_path):
    data = {}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            metric, server, value, extra = parts[:4]
            try:
                value = float(value)
            except ValueError:
                value = json.loads(value)
            data.setdefault(metric, {}).setdefault(server, []).append((value, json.loads(extra)))
    return data


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def median(xs):
    return statistics.median(xs) if xs else None


def best_peer(values, higher):
    """values: server -> median. The best peer (name, value) or None."""
    got = [(s, values[s]) for s in PEERS if values.get(s) is not None]
    if not got:
        return None
    return (max if higher else min)(got, key=lambda sv: sv[1])


def ratio_cell(values, higher):
    best = best_peer(values, higher)
    f = values.get("ftpkit")
    if best is None or f is None:
        return "n/a"
    name, b = best
    if b == 0:
        return f"= ({name})" if f == 0 else f"n/a ({name}: 0)"
    return f"{f / b:,.2f} ({name})"


def main() -> None:
    raw_path, meta_path, out_path = sys.argv[1:4]
    data = load(raw_path)
    with open(meta_path) as f:
        meta = json.load(f)
    reps = meta["reps"]

    def runs(metric, server):
        return data.get(metric, {}).get(server, [])

    def values(metric, server, fn=None):
        """Per-run numbers: the value, or fn(value, extra)."""
        return [fn(v, x) if fn else v for v, x in runs(metric, server)]

    def spread_note(per_server, digits):
        parts = []
        for s in SERVERS:
            xs = per_server.get(s) or []
            if len(xs) > 1:
                parts.append(f"{s} {fmt(min(xs), digits)}–{fmt(max(xs), digits)}")
        return "min–max: " + ", ".join(parts) if parts else ""

    rows = []

    def row(label, per_server, higher, digits=0, note="", spread=True):
        """per_server: server -> list of per-run numbers."""
        meds = {s: median(per_server.get(s) or []) for s in SERVERS}
        notes = [n for n in ((spread_note(per_server, digits) if spread else ""), note) if n]
        rows.append((label, [fmt(meds[s], digits) for s in SERVERS], ratio_cell(meds, higher),
                     "higher is better" if higher else "lower is better", "; ".join(notes)))
        return meds

    def sum_extra(metric, key):
        return {s: sum(int(x.get(key, 0)) for _, x in runs(metric, s)) for s in SERVERS}

    big = meta["big_label"]
    small_n = meta["small_count"]
    pin = f"pinned (server CPU {meta['server_cpu']}, client CPU {meta['client_cpu']})"

    # --- transfers, and the loopback ceiling they are measured against ---
    ceiling = [v for v, _ in runs("ceiling", "-")]
    ceiling_med = median(ceiling)
    ceiling_spread = f"{fmt(min(ceiling))}–{fmt(max(ceiling))}" if len(ceiling) > 1 else "one run"
    rows.append((f"loopback ceiling: {big} through one plain TCP connection, no FTP: "
                 f"**{fmt(ceiling_med)} MB/s**", ["", "", "", ""], "", "reference",
                 f"min–max {ceiling_spread}; scripts/bench/ceiling.py: Python os.sendfile() from the same "
                 f"file to a socket, read by a second Python process (recv_into, 256 KiB buffer) and "
                 f"written to /dev/null"))
    for metric, name in (("retr", "RETR"), ("stor", "STOR")):
        per = {s: values(metric, s) for s in SERVERS}
        whole = {s: median(values(metric, s, lambda v, x: x["whole"])) for s in SERVERS}
        stalls = sum_extra(metric, "stalled")
        row(f"{name} {big}, one stream, curl EPSV, data phase (MB/s)", per, True,
            note="whole-command medians " + " / ".join(fmt(whole[s]) for s in SERVERS)
                 + "; runs with a curl connect stall: " + ", ".join(f"{s} {stalls[s]}" for s in SERVERS))
    for metric, name in (("retr", "RETR"), ("stor", "STOR")):
        if ceiling_med:
            per = {s: [v / ceiling_med * 100 for v in values(metric, s)] for s in SERVERS}
            row(f"{name} as % of the loopback ceiling", per, True, spread=False,
                note="median of the row above / median ceiling")

    # --- small files ---
    def files_rows(metric, label, curl):
        per = {s: values(metric, s) for s in SERVERS}
        if not any(per.values()):
            return
        note = ""
        if curl == "pasv":
            stalls = sum_extra(metric, "stalls")
            capped = sum_extra(metric, "capped")
            done = {s: sum(int(x["files"]) for _, x in runs(metric, s)) for s in SERVERS}
            note = "one-second curl connect stalls: " + ", ".join(
                f"{s} {stalls[s]} in {done[s]:,} files" for s in SERVERS)
            if any(capped.values()):
                note += (f"; runs stopped at the {meta['curl_pasv_cap']} s cap (files/s over the files "
                         f"done): " + ", ".join(f"{s} {capped[s]}" for s in SERVERS if capped[s]))
        elif curl is None:
            slow = sum_extra(metric, "slow")
            if any(slow.values()):
                note = "files over 0.5 s: " + ", ".join(f"{s} {slow[s]}" for s in SERVERS)
        row(label, per, True, note=note)

    head = f"{small_n:,} files of {meta['small_label']}, one control connection"
    files_rows("files-py-0", f"{head}, Python ftplib PASV, unpinned (files/s)", None)
    files_rows("files-py-1", f"{head}, Python ftplib PASV, {pin} (files/s)", None)
    files_rows("files-pasv-0", f"{head}, curl EPSV, unpinned (files/s)", "pasv")
    files_rows("files-pasv-1", f"{head}, curl EPSV, {pin} (files/s)", "pasv")
    files_rows("files-active-0", f"{head}, curl active `-P 127.0.0.1`, unpinned (files/s)", "active")

    # --- sessions, latency ---
    per = {s: values("sessions", s) for s in SERVERS}
    fails = sum_extra("sessions", "failed")
    row(f"sessions/s ({meta['session_count']:,} × connect+login+QUIT, {meta['session_concurrency']} "
        f"concurrent, {meta['session_procs']} client processes)", per, True,
        note="failed sessions: " + ", ".join(f"{s} {fails[s]}" for s in SERVERS))
    per = {s: values("noop", s) for s in SERVERS}
    p99 = {s: median(values("noop", s, lambda v, x: x["p99_us"])) for s in SERVERS}
    row(f"NOOP round trip, one logged-in connection, {meta['noop_count']:,} NOOPs, {pin}, "
        f"median (µs)", per, False, digits=1,
        note="median p99: " + ", ".join(f"{s} {fmt(p99[s], 1)}" for s in SERVERS))

    # --- concurrent sessions and memory ---
    def compared(s, m):
        # One process: its RSS. A process per session: ΣPSS over all of them.
        return m["pss_kib"] if s in FORKING else m["root_rss_kib"]

    def peak(s, m):
        # One process: its high-water mark; forking: ΣPSS with every session alive.
        return m["pss_kib"] if s in FORKING else m["root_hwm_kib"]

    conc = meta["conc_counts"]
    for n in conc:
        metric = f"conc-{n}"
        lost = {s: values(metric, s) for s in SERVERS}
        secs = {s: median(values(metric, s, lambda v, x: x["hold"]["login_seconds"])) for s in SERVERS}
        errs = {}
        for s in SERVERS:
            for _, x in runs(metric, s):
                for k, c in x["hold"].get("errors", {}).items():
                    errs.setdefault(s, {}).setdefault(k, 0)
                    errs[s][k] += c
        note = ("seconds to log them all in (median): "
                + ", ".join(f"{s} {fmt(secs[s], 2)}" for s in SERVERS))
        if errs:
            note += "; errors: " + "; ".join(
                f"{s}: " + ", ".join(f"{k} ×{c}" for k, c in e.items()) for s, e in errs.items())
        row(f"{n:,} concurrent logged-in sessions ({meta['hold_burst']} connecting at a time, no retry), "
            f"then a 4 KiB RETR on every one of them ({meta['hold_burst']} at a time): "
            f"sessions lost (of {n:,})", lost, False, note=note)
        mem = {s: values(metric, s, lambda v, x, s=s: peak(s, x["mem1"]) / 1024) for s in SERVERS}
        row(f"{n:,} concurrent sessions: peak server memory (MiB; one process: VmHWM, "
            f"a process per session: ΣPSS)", mem, False, digits=1)
    if conc:
        n = max(conc)
        metric = f"conc-{n}"

        def per_session(s):
            def fn(v, x):
                alive = x["hold"]["alive"] or n
                return (compared(s, x["mem1"]) - compared(s, x["mem0"])) / alive
            return values(metric, s, fn)

        row(f"memory per session at {n:,}: (total at N − total at 0) / N (KiB; one process: RSS, "
            f"a process per session: ΣPSS)", {s: per_session(s) for s in SERVERS}, False, digits=1)

    # --- server CPU ---
    cpu_rows = []
    gb = meta["big_bytes"] / 1e9

    def cpu_row(metric, label, per_unit):
        per = {s: [x["cpu"] * per_unit(x) for _, x in runs(metric, s)] for s in SERVERS}
        if not any(per.values()):
            return
        meds = {s: median(per[s]) for s in SERVERS}
        cpu_rows.append((label, [fmt(meds[s]) for s in SERVERS], ratio_cell(meds, False),
                         spread_note(per, 0)))

    cpu_row("retr", "RETR, server CPU ms per GB", lambda x: 1000 / gb)
    cpu_row("stor", "STOR, server CPU ms per GB", lambda x: 1000 / gb)
    cpu_row("files-py-0", "small files (ftplib PASV, unpinned), server CPU ms per 1,000 files",
            lambda x: 1000 * 1000 / small_n)
    cpu_row("files-py-1", "small files (ftplib PASV, pinned), server CPU ms per 1,000 files",
            lambda x: 1000 * 1000 / small_n)
    cpu_row("files-pasv-0", "small files (curl EPSV, unpinned), server CPU ms per 1,000 files",
            lambda x: 1000 * 1000 / max(1, x["files"]))
    cpu_row("files-active-0", "small files (curl active, unpinned), server CPU ms per 1,000 files",
            lambda x: 1000 * 1000 / max(1, x["files"]))
    cpu_row("sessions", "sessions, server CPU ms per 1,000 sessions",
            lambda x: 1000 * 1000 / meta["session_count"])

    v = meta["versions"]
    out = []
    out.append(f"# ftpkit, vsftpd, pure-ftpd and pyftpdlib on loopback ({meta['mode']} run)\n")
    out.append(f"- Command: `{meta['command']}`")
    out.append(f"- Date: {meta['date']}; git {meta['git']}")
    out.append(f"- Machine: {meta['nproc']} CPUs, {meta['cpu']}; {meta['kernel']}; files on {meta['fs']}")
    out.append(f"- Load average before / after: {meta['load_before']} / {meta['load_after']}")
    out.append(f"- Busiest other processes at the start: {meta['busy']}")
    out.append(f"- Servers: {v['ftpkit']} (release build, `{meta['ftpkit_cmd']}`); "
               f"{v['vsftpd']} (scripts/bench/vsftpd.conf.in: anonymous, sendfile, a process per session); "
               f"{v['pure-ftpd']} (scripts/bench/pure-ftpd.flags.in: virtual user, MD5-crypt hash, a process "
               f"per session); {v['pyftpdlib']} (scripts/bench/pyftpdlib_server.py: stock FTPHandler, "
               f"one process, Python {meta['python']}). Logins: ftptest/ftptest everywhere except vsftpd "
               f"(anonymous: its local users go through PAM and the system's yescrypt hash)")
    out.append(f"- Clients: {meta['curl_version']} for RETR and STOR (EPSV) and the small files (one "
               f"invocation with {small_n:,} URLs, checked each run to use one control connection; EPSV runs "
               f"stop after {meta['curl_pasv_cap']} s); Python {meta['python']} ftplib for the small files "
               f"(PASV, one connection); an asyncio helper (scripts/bench/ftpload.py) for sessions and "
               f"concurrent sessions, and a blocking socket for NOOP")
    out.append(f"- Pinned rows: server (every thread and session process) on CPU {meta['server_cpu']} and "
               f"client on CPU {meta['client_cpu']} with taskset; the other rows are not pinned")
    many = reps * meta.get("rounds", 1)
    out.append(f"- Repetitions: {reps} of everything ({many} of the loopback ceiling, RETR, STOR and "
               f"ftplib's small files: the noisiest rows, a second or less a run), rotating which server goes first, after one uncounted "
               f"RETR and STOR per server; medians shown, min–max in the notes. Ratio: ftpkit / the best "
               f"of vsftpd, pure-ftpd and pyftpdlib on that row (named); above 1 is better for ftpkit "
               f"where higher is better, below 1 where lower is better. MB = 10^6 bytes.\n")
    out.append("| figure | " + " | ".join(SERVERS) + " | ftpkit / best peer | | notes |")
    out.append("|---|" + "---:|" * len(SERVERS) + "---:|---|---|")
    for label, cells, r, better, note in rows:
        out.append(f"| {label} | " + " | ".join(cells) + f" | {r} | {better} | {note} |")
    out.append("")
    out.append("Client, servers and the rest of the machine share the CPUs (except in the pinned rows, "
               "where the server and the client each have one): when a server needs little CPU per "
               "operation (see below), its figure is bounded by the client (curl, Python) rather than "
               "by the server.\n")
    out.append("Server CPU time (user + system, all threads; for vsftpd and pure-ftpd the listener and "
               "every session process; scripts/bench/cpustat.py, a lower bound for the forking servers' "
               "sessions row, whose processes live for milliseconds), median per repetition:\n")
    out.append("| figure | " + " | ".join(SERVERS) + " | ftpkit / best peer (lower is better) | notes |")
    out.append("|---|" + "---:|" * len(SERVERS) + "---:|---|")
    for label, cells, r, note in cpu_rows:
        out.append(f"| {label} | " + " | ".join(cells) + f" | {r} | {note} |")
    out.append("")
    if conc:
        n = max(conc)
        out.append(f"Memory detail at {n:,} concurrent sessions, median run by compared memory (KiB):\n")
        out.append("| server | state | processes | ΣPSS | ΣRSS | main process RSS | main process VmHWM | sessions |")
        out.append("|---|---|---:|---:|---:|---:|---:|---|")
        for s in SERVERS:
            rs = sorted(runs(f"conc-{n}", s), key=lambda r: compared(s, r[1]["mem1"]))
            if not rs:
                continue
            _, x = rs[len(rs) // 2]
            h = x["hold"]
            for state, m in (("idle, 0 sessions", x["mem0"]), (f"{n:,} idle sessions", x["mem1"])):
                sess = (f"{h['ok']} logged in, {h['alive']} alive, {h['failed']} failed"
                        if m is x["mem1"] else "")
                out.append(f"| {s} | {state} | {m['procs']} | {m['pss_kib']:,} | {m['rss_kib']:,} | "
                           f"{m['root_rss_kib']:,} | {m['root_hwm_kib']:,} | {sess} |")
    after = data.get("after", {}).get("ftpkit")
    if after:
        a = after[0][0]
        out.append(f"\nftpkit after the transfer, small-file, session and NOOP phases (same process): "
                   f"RSS {a['root_rss_kib']:,} KiB, VmHWM {a['root_hwm_kib']:,} KiB.")
    out.append("\nCompared memory metric: ftpkit and pyftpdlib are one process each, so their RSS (VmRSS, "
               "which counts every shared page in full) is compared with the sum of PSS over the listener "
               "and all session processes of vsftpd and pure-ftpd (PSS divides shared pages among the "
               "processes mapping them, so a forking server is not charged its shared text once per fork). "
               "ΣRSS is shown for completeness; it overstates the forking servers.")
    text = "\n".join(out) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
