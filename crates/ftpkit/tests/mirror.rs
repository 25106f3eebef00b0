//! `ftpkit mirror`, `get -r`, `put -r` and client-side globs end to end
//! (issue 20), against our server and the four peer servers on loopback:
//! vsftpd (LIST and MDTM, no MFMT), pure-ftpd, proftpd and pyftpdlib
//! (MLSD), and against scripted hostile servers whose names would leave the
//! target directory (SECURITY.md R4) or whose tree never ends.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ftp_interop::data::{make_tree, tree_digest, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, Peer, PeerServer, USER};

const FTPKIT: &str = env!("CARGO_BIN_EXE_ftpkit");

fn ftpkit(args: &[&str]) -> Output {
    let mut command = Command::new(FTPKIT);
    command.args(args).stdin(Stdio::null());
    ftp_interop::run(&mut command, Duration::from_secs(120))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `--json` events of a run, and its `summary`.
fn events(out: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = events.last().cloned().expect("a summary");
    assert_eq!(summary["event"], "summary", "the summary comes last");
    (events, summary)
}

/// The paths of the events of one kind.
fn paths(events: &[serde_json::Value], kind: &str) -> Vec<String> {
    let mut out: Vec<String> =
        events.iter().filter(|e| e["event"] == kind).map(|e| e["path"].as_str().unwrap_or("").to_owned()).collect();
    out.sort();
    out
}

/// Runs `ftpkit mirror ARGS --json`, which must succeed.
fn mirror(args: &[&str]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut all = vec!["mirror", "--json"];
    all.extend_from_slice(args);
    let out = ftpkit(&all);
    assert!(out.status.success(), "mirror {args:?}: {}\n{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    events(&out)
}

/// Both directions against one server, as a user would run them:
/// - upload (mirror -R): everything, then a second run that sends nothing,
///   then a changed file alone, then `--delete` removing exactly what is
///   gone locally;
/// - download: everything, a second run that fetches nothing, a file
///   changed on the server fetched alone, `--delete` removing exactly the
///   file deleted on the server.
fn both_ways(name: &str, port: u16, served: &Path) {
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/mirror");
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let digest = make_tree(&src, 7);
    let src_arg = src.to_str().unwrap();

    // Upload.
    let (first, summary) = mirror(&[src_arg, &url]);
    assert_eq!(summary["files"], 8, "{name}: every file: {first:?}");
    assert_eq!(tree_digest(&served.join("mirror")), digest, "{name}: the upload is byte for byte");
    let (again, summary) = mirror(&[src_arg, &url]);
    assert_eq!(summary["files"], 0, "{name}: a second upload sends nothing: {again:?}");
    write_pseudo_random_file(&src.join("nested/small.txt"), 99, 4_321);
    let (changed, summary) = mirror(&[src_arg, &url]);
    assert_eq!(paths(&changed, "done"), ["nested/small.txt"], "{name}: the changed file alone: {summary}");
    std::fs::remove_file(src.join("top.bin")).unwrap();
    std::fs::remove_dir_all(src.join("nested/deeper")).unwrap();
    let (deleted, summary) = mirror(&["--delete", src_arg, &url]);
    assert_eq!(
        paths(&deleted, "delete"),
        ["nested/deeper/deep.bin", "nested/deeper/deepest/leaf.dat", "top.bin"],
        "{name}: {summary}"
    );
    assert_eq!(paths(&deleted, "rmdir"), ["nested/deeper", "nested/deeper/deepest"], "{name}");
    assert_eq!(tree_digest(&served.join("mirror")), tree_digest(&src), "{name}: the server's copy is the source");

    // Download.
    let dst = work.path().join("dst");
    let dst_arg = dst.to_str().unwrap();
    let (_, summary) = mirror(&[&url, dst_arg]);
    assert_eq!(summary["files"], 5, "{name}");
    assert_eq!(tree_digest(&dst), tree_digest(&src), "{name}: the download is byte for byte");
    let (again, summary) = mirror(&[&url, dst_arg]);
    assert_eq!(summary["files"], 0, "{name}: a second download fetches nothing: {again:?}");
    // A file changed on the server (through the server), and one deleted.
    let changed = work.path().join("changed.bin");
    write_pseudo_random_file(&changed, 5, 77_777);
    let out = ftpkit(&["put", changed.to_str().unwrap(), &format!("{url}/dir with space/inner file.bin")]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let out = ftpkit(&["rm", &format!("{url}/name with spaces.txt")]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let (fetched, summary) = mirror(&["--delete", &url, dst_arg]);
    assert_eq!(paths(&fetched, "done"), ["dir with space/inner file.bin"], "{name}: {summary}");
    assert_eq!(paths(&fetched, "delete"), ["name with spaces.txt"], "{name}");
    assert_eq!(tree_digest(&dst), tree_digest(&served.join("mirror")), "{name}: the local copy is the server's");
    let (again, summary) = mirror(&[&url, dst_arg]);
    assert_eq!(summary["files"], 0, "{name}: settled: {again:?}");
}

/// Issue 20: mirror both ways against ftpkit's own server (MLSD, MFMT).
#[test]
fn mirror_both_ways_ours() {
    let server = OurServer::start(|_| {});
    both_ways("ftpkit", server.port(), server.root());
}

fn with_peer(peer: Peer) {
    let Some(server) = PeerServer::start(peer, false) else { return };
    both_ways(peer.name(), server.port(), server.root());
}

/// Issue 20: vsftpd lists with LIST only (times from MDTM) and cannot set
/// times (no MFMT): a second run still sends nothing.
#[test]
fn mirror_both_ways_vsftpd() {
    with_peer(Peer::Vsftpd);
}

/// Issue 20: pure-ftpd (MLSD).
#[test]
fn mirror_both_ways_pure_ftpd() {
    with_peer(Peer::PureFtpd);
}

/// Issue 20: ProFTPD (MLSD, MFMT).
#[test]
fn mirror_both_ways_proftpd() {
    with_peer(Peer::Proftpd);
}

/// Issue 20: pyftpdlib (MLSD, MFMT).
#[test]
fn mirror_both_ways_pyftpdlib() {
    with_peer(Peer::Pyftpdlib);
}

/// `--dry-run` shows the plan and changes nothing; `--parallel` moves the
/// same bytes over several connections; `--exclude` and `--include` leave
/// files out of both the transfer and `--delete`.
#[test]
fn mirror_dry_run_parallel_and_filters() {
    let server = OurServer::start(|_| {});
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", server.port());
    make_tree(server.root(), 3);
    let work = tempfile::tempdir().unwrap();
    let dst = work.path().join("d");
    let dst_arg = dst.to_str().unwrap();
    let out = ftpkit(&["mirror", "--dry-run", &url, dst_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("get    nested/deeper/deep.bin (1048577 bytes, new)"), "{plan}");
    assert!(plan.contains("mkdir  nested/empty dir/"), "{plan}");
    assert!(!dst.exists(), "a dry run changes nothing");

    let (events, summary) = mirror(&["--parallel", "4", "--exclude", "*.bin", &url, dst_arg]);
    assert_eq!(summary["files"], 4, "{events:?}");
    assert!(paths(&events, "done").iter().all(|p| !p.ends_with(".bin")));
    std::fs::write(dst.join("local-only.bin"), b"kept: excluded").unwrap();
    let (events, _) = mirror(&["--delete", "--exclude", "*.bin", &url, dst_arg]);
    assert!(paths(&events, "delete").is_empty(), "excluded files are not deleted: {events:?}");
    assert!(dst.join("local-only.bin").exists());
    let (events, summary) = mirror(&["--parallel", "3", "--include", "*.bin", &url, dst_arg]);
    assert_eq!(summary["files"], 4, "{events:?}");
    std::fs::remove_file(dst.join("local-only.bin")).unwrap();
    assert_eq!(tree_digest(&dst), tree_digest(server.root()));
}

/// A download that stopped (NAME.part left behind) goes on from where it
/// was; the finished file carries the server's time.
#[test]
fn mirror_resumes_a_part_file_and_keeps_times() {
    let server = OurServer::start(|_| {});
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", server.port());
    write_pseudo_random_file(&server.root().join("big.bin"), 11, 3_000_000);
    let whole = std::fs::read(server.root().join("big.bin")).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("big.bin.part"), &whole[..1_000_000]).unwrap();
    let (events, _) = mirror(&[&url, work.path().to_str().unwrap()]);
    let start = events.iter().find(|e| e["event"] == "start").unwrap();
    assert_eq!(start["offset"], 1_000_000, "{events:?}");
    assert_eq!(std::fs::read(work.path().join("big.bin")).unwrap(), whole);
    assert!(!work.path().join("big.bin.part").exists());
    let remote = std::fs::metadata(server.root().join("big.bin")).unwrap().modified().unwrap();
    let local = std::fs::metadata(work.path().join("big.bin")).unwrap().modified().unwrap();
    let secs = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs(local), secs(remote), "the server's time, to the second");
}

/// An upload that stopped (the remote file smaller, and newer than the
/// local one) goes on with REST from the remote size (RFC 3659 section 5);
/// the finished file gets the local time (MFMT).
#[test]
fn mirror_resumes_a_stopped_upload() {
    let server = OurServer::start(|_| {});
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/up", server.port());
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("big.bin");
    write_pseudo_random_file(&local, 12, 2_500_000);
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3_600);
    std::fs::File::options().write(true).open(&local).unwrap().set_modified(an_hour_ago).unwrap();
    let whole = std::fs::read(&local).unwrap();
    std::fs::create_dir(server.root().join("up")).unwrap();
    std::fs::write(server.root().join("up/big.bin"), &whole[..1_000_000]).unwrap();
    let (events, _) = mirror(&[work.path().to_str().unwrap(), &url]);
    let start = events.iter().find(|e| e["event"] == "start").unwrap();
    assert_eq!(start["offset"], 1_000_000, "{events:?}");
    assert_eq!(std::fs::read(server.root().join("up/big.bin")).unwrap(), whole);
    let (again, summary) = mirror(&[work.path().to_str().unwrap(), &url]);
    assert_eq!(summary["files"], 0, "the time was set: nothing to do: {again:?}");
}

/// `get -r` and `put -r` copy whole trees; `get 'dir/*.csv'` and `ls
/// 'dir/*.csv'` glob on the client (SECURITY.md P3: the server never sees
/// the pattern).
#[test]
fn get_and_put_recursive_and_globs() {
    let server = OurServer::start(|_| {});
    let base = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}", server.port());
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let digest = make_tree(&tree, 9);
    let out = ftpkit(&["put", "-r", tree.to_str().unwrap(), &format!("{base}/")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree_digest(&server.root().join("tree")), digest, "put -r DIR URL/ puts DIR under its own name");
    let back = work.path().join("back");
    let out = ftpkit(&["get", "-r", &format!("{base}/tree"), "-o", back.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree_digest(&back), digest);

    let csv = server.root().join("csv");
    std::fs::create_dir(&csv).unwrap();
    for name in ["a.csv", "b.csv", "c.txt", "[x].csv"] {
        std::fs::write(csv.join(name), name).unwrap();
    }
    std::fs::create_dir(csv.join("sub.csv")).unwrap();
    let globbed = work.path().join("globbed");
    let out = ftpkit(&["get", &format!("{base}/csv/*.csv"), "-o", globbed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut got: Vec<String> =
        std::fs::read_dir(&globbed).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    got.sort();
    assert_eq!(got, ["[x].csv", "a.csv", "b.csv"], "files matching, not the directory");
    // -g: the brackets are a name.
    let literal = work.path().join("literal.csv");
    let out = ftpkit(&["get", "-g", &format!("{base}/csv/[x].csv"), "-o", literal.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&literal).unwrap(), b"[x].csv");
    let out = ftpkit(&["ls", &format!("{base}/csv/?.csv")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains(" a.csv") && listed.contains(" b.csv"), "{listed}");
}

/// A scripted server on loopback: answers a login, CWD anywhere, PWD,
/// TYPE, EPSV, `listing(dir)` for every LIST, SIZE from `size`, and RETR
/// with `size` bytes of `x` (the first RETR with a 451 when `flaky`). No
/// FEAT features (so LIST, no MDTM use).
fn scripted_server(
    listing: fn(&str) -> Vec<u8>,
    size: usize,
    sessions: usize,
) -> (SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    scripted(listing, size, sessions, false)
}

fn scripted(
    listing: fn(&str) -> Vec<u8>,
    size: usize,
    sessions: usize,
    mut flaky: bool,
) -> (SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..sessions {
            let (control, _) = listener.accept().unwrap();
            control.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut writer = control.try_clone().unwrap();
            let mut reader = BufReader::new(control);
            writer.write_all(b"220 scripted\r\n").unwrap();
            let mut cwd = "/".to_owned();
            let mut data: Option<TcpListener> = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let text = line.trim_end().to_owned();
                seen.push(text.clone());
                let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
                let reply: Vec<u8> = match verb.to_ascii_uppercase().as_str() {
                    "USER" => b"331 pw\r\n".to_vec(),
                    "PASS" => b"230 in\r\n".to_vec(),
                    "FEAT" => b"211-Features:\r\n211 End\r\n".to_vec(),
                    "PWD" => format!("257 \"{cwd}\"\r\n").into_bytes(),
                    "CWD" => {
                        cwd = arg.to_owned();
                        b"250 ok\r\n".to_vec()
                    }
                    "TYPE" | "OPTS" | "MODE" | "STRU" => b"200 ok\r\n".to_vec(),
                    "EPSV" => {
                        let l = TcpListener::bind("127.0.0.1:0").unwrap();
                        let port = l.local_addr().unwrap().port();
                        data = Some(l);
                        format!("229 Entering Extended Passive Mode (|||{port}|)\r\n").into_bytes()
                    }
                    "SIZE" => format!("213 {size}\r\n").into_bytes(),
                    "RETR" if flaky => {
                        flaky = false;
                        data = None;
                        b"451 Local error in processing; try again\r\n".to_vec()
                    }
                    "LIST" | "RETR" => {
                        writer.write_all(b"150 here\r\n").unwrap();
                        if let Some(l) = data.take() {
                            let (mut d, _) = l.accept().unwrap();
                            let body = if verb.eq_ignore_ascii_case("LIST") { listing(&cwd) } else { vec![b'x'; size] };
                            let _ = d.write_all(&body);
                        }
                        b"226 done\r\n".to_vec()
                    }
                    "QUIT" => {
                        let _ = writer.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"502 no\r\n".to_vec(),
                };
                if writer.write_all(&reply).is_err() {
                    break;
                }
                line.clear();
            }
        }
        seen
    });
    (addr, thread)
}

/// `--retry` (RFC 959 4.2: a 4yz reply means the action may be requested
/// again): a file refused with 451 once is tried again after a wait and
/// arrives; the `failed` event says which attempt failed.
#[test]
fn mirror_retries_a_transient_failure() {
    fn listing(_: &str) -> Vec<u8> {
        b"-rw-r--r--   1 u g   5 Jan 01  2026 file.txt\r\n".to_vec()
    }
    let (addr, server) = scripted(listing, 5, 1, true);
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(&["mirror", "--json", "--retry", "2", &format!("ftp://{addr}/d"), work.path().to_str().unwrap()]);
    server.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (events, summary) = events(&out);
    assert_eq!(summary["files"], 1);
    assert_eq!(summary["failed"], 0);
    let failed: Vec<_> = events.iter().filter(|e| e["event"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0]["attempt"], 1);
    assert_eq!(std::fs::read(work.path().join("file.txt")).unwrap(), b"xxxxx");
}

/// SECURITY.md R4 (issue 20): a hostile server's names (`..`, a path,
/// escapes, a NUL) never become paths: they are refused, reported, and
/// the exit code says so (6), while the plain file next to them arrives.
/// A symbolic link on the server is not followed (skipped, said so).
#[test]
fn sec_r4_mirror_refuses_names_that_escape() {
    fn listing(_: &str) -> Vec<u8> {
        b"-rw-r--r--   1 u g   3 Jan 01  2026 ok.txt\r\n\
          -rw-r--r--   1 u g   3 Jan 01  2026 ../escaped.txt\r\n\
          drwxr-xr-x   2 u g   0 Jan 01  2026 ..\r\n\
          -rw-r--r--   1 u g   3 Jan 01  2026 /etc/owned\r\n\
          -rw-r--r--   1 u g   3 Jan 01  2026 \x1b]0;title\x07\r\n\
          -rw-r--r--   1 u g   3 Jan 01  2026 nul\0byte\r\n\
          lrwxrwxrwx   1 u g   4 Jan 01  2026 link -> /etc\r\n"
            .to_vec()
    }
    let (addr, server) = scripted_server(listing, 3, 1);
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("in");
    let out = ftpkit(&["mirror", &format!("ftp://{addr}/pub"), target.to_str().unwrap()]);
    let seen = server.join().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("names refused"), "{err}");
    assert!(!err.contains('\x1b'), "escaped when shown: {err:?}");
    assert!(err.contains("link: a symbolic link (not followed): skipped"), "{err}");
    assert_eq!(std::fs::read(target.join("ok.txt")).unwrap(), b"xxx");
    let mut everything: Vec<String> = walk(work.path());
    everything.sort();
    assert_eq!(everything, ["in", "in/ok.txt"], "nothing else was written anywhere");
    assert_eq!(seen.iter().filter(|l| l.starts_with("RETR")).count(), 1, "{seen:?}");
}

/// Every path under `root`, relative.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// SECURITY.md R4 (issue 20): a server whose every directory holds
/// another (a loop) stops the walk at `--max-depth` with an error, having
/// written nothing; the walk never recurses on the server's data.
#[test]
fn sec_r4_mirror_stops_an_endless_tree() {
    fn listing(_: &str) -> Vec<u8> {
        b"drwxr-xr-x   2 u g   0 Jan 01  2026 again\r\n".to_vec()
    }
    let (addr, server) = scripted_server(listing, 0, 1);
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("in");
    let out = ftpkit(&["mirror", "--max-depth", "20", &format!("ftp://{addr}/loop"), target.to_str().unwrap()]);
    let seen = server.join().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("deeper than 20 levels"), "{}", stderr(&out));
    assert!(!target.exists(), "nothing written before the walk ends");
    assert!(seen.iter().filter(|l| l.starts_with("LIST")).count() <= 21, "{}", seen.len());
}

/// A local symbolic link back up the tree stops `mirror -R` with an error
/// before anything is sent.
#[test]
fn mirror_upload_stops_at_a_symlink_loop() {
    let server = OurServer::start(|_| {});
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("a/b")).unwrap();
    std::fs::write(work.path().join("a/f"), b"f").unwrap();
    std::os::unix::fs::symlink("..", work.path().join("a/b/up")).unwrap();
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/up", server.port());
    let out = ftpkit(&["mirror", work.path().join("a").to_str().unwrap(), &url]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link loop"), "{}", stderr(&out));
    assert!(!server.root().join("up").exists());
}

/// On a terminal, a multi-file command shows one overall display (files
/// done of all, bytes, rate) with a line per running transfer; with
/// stdout and stderr not a terminal it prints nothing but its summary.
#[test]
fn mirror_shows_one_overall_progress_display_on_a_terminal() {
    if !ftp_interop::have_program("script") {
        ftp_interop::skip("script (util-linux), for a pseudo-terminal");
        return;
    }
    let server = OurServer::start(|_| {});
    for (i, name) in ["one.bin", "two.bin"].iter().enumerate() {
        write_pseudo_random_file(&server.root().join(name), i as u64, 600_000);
    }
    let work = tempfile::tempdir().unwrap();
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", server.port());
    // Paced to about 1.2 s, so that the display is drawn a few times.
    let command = format!("{FTPKIT} mirror --limit-rate 1M {url} {}", work.path().join("d").display());
    let mut script = Command::new("script");
    script.args(["-qfec", &command, "/dev/null"]).stdin(Stdio::null());
    let out = ftp_interop::run(&mut script, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("/2 files"), "the overall line: {shown:?}");
    assert!(shown.contains("one.bin") || shown.contains("two.bin"), "a line per transfer: {shown:?}");
    assert!(shown.contains("2 files (1200000 bytes) transferred"), "{shown:?}");

    let quiet = ftpkit(&["mirror", &url, work.path().join("e").to_str().unwrap()]);
    assert!(quiet.status.success());
    assert!(quiet.stdout.is_empty(), "nothing on stdout without --json");
    assert_eq!(stderr(&quiet).lines().count(), 1, "only the summary: {}", stderr(&quiet));
}

/// Usage errors: two remote sides, no remote side.
#[test]
fn mirror_needs_one_remote_side() {
    let out = ftpkit(&["mirror", "a", "b"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ftpkit(&["mirror", "ftp://127.0.0.1:1/a", "ftp://127.0.0.1:1/b"]);
    assert_eq!(out.status.code(), Some(2));
}
