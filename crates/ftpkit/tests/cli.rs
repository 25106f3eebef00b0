//! The `ftpkit` binary end to end, against our server on loopback: each
//! client subcommand, its output, its exit code, and what it leaves on
//! disk when it fails.

use std::io::{BufRead, BufReader};

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ftp_tokio::background::Background;
use ftp_tokio::server::{ServerOptions, User};

const FTPKIT: &str = env!("CARGO_BIN_EXE_ftpkit");

fn start(root: &Path) -> Background {
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), root.to_path_buf());
    options.users = vec![
        User { name: "alice".into(), password: "s3cret:x".into(), writable: true },
        User { name: "reader".into(), password: "pw".into(), writable: false },
    ];
    Background::start(options).unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + i / 509) as u8).collect()
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pub")).unwrap();
    std::fs::write(dir.path().join("pub/data.bin"), pattern(2_000_000)).unwrap();
    std::fs::write(dir.path().join("pub/a b.txt"), b"spaces\n").unwrap();
    dir
}

fn ftpkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(FTPKIT).current_dir(cwd).args(args).stdin(Stdio::null()).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `get` writes FILE (via FILE.part), `-o -` writes stdout; RFC 1738 3.2
/// URL escapes (`%20`, `%3A` in the password) are decoded.
#[test]
fn get_to_file_and_stdout() {
    let served = fixture();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    let base = format!("ftp://alice:s3cret%3Ax@{addr}");
    let out = ftpkit(work.path(), &["get", &format!("{base}/pub/data.bin")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("data.bin")).unwrap() == pattern(2_000_000));
    assert!(!work.path().join("data.bin.part").exists());
    let out = ftpkit(work.path(), &["get", &format!("{base}/pub/a%20b.txt"), "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"spaces\n");
}

/// `get --resume` continues from FILE.part with REST (RFC 3659 section 5).
#[test]
fn get_resumes_a_part_file() {
    let served = fixture();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("out.bin.part"), &pattern(2_000_000)[..700_000]).unwrap();
    let url = format!("ftp://alice:s3cret%3Ax@{addr}/pub/data.bin");
    let out = ftpkit(work.path(), &["get", &url, "-o", "out.bin", "--resume", "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("> REST 700000"), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("> SIZE ").count(), 1, "SIZE is asked once: {}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"), "the password is masked in -v output");
    assert!(std::fs::read(work.path().join("out.bin")).unwrap() == pattern(2_000_000));
}

/// A missing file: one line, exit 5, and no file left behind.
#[test]
fn get_missing_file() {
    let served = fixture();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["get", &format!("ftp://alice:s3cret%3Ax@{addr}/pub/nope.bin")]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("550"), "{err}");
    assert!(std::fs::read_dir(work.path()).unwrap().next().is_none(), "nothing left: {err}");
}

/// Login refused: exit 4; nothing listening: exit 3; a bad URL: exit 2.
#[test]
fn failures_have_their_exit_codes() {
    let served = fixture();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["ls", &format!("ftp://alice:wrong@{addr}/")]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("530"), "{}", stderr(&out));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = ftpkit(work.path(), &["ls", &format!("ftp://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = ftpkit(work.path(), &["ls", "http://127.0.0.1/"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A read-only user cannot upload: refused, exit 5.
    std::fs::write(work.path().join("f.txt"), b"x").unwrap();
    let out = ftpkit(work.path(), &["put", "f.txt", &format!("ftp://reader:pw@{addr}/pub/")]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

/// `put`, `put --append`, `put --resume`, `mkdir`, `mv`, `rm`, `rmdir`.
#[test]
fn put_and_file_operations() {
    let served = fixture();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    let base = format!("ftp://alice:s3cret%3Ax@{addr}");
    let ok = |args: &[&str]| {
        let out = ftpkit(work.path(), args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    std::fs::write(work.path().join("up.bin"), pattern(1_500_000)).unwrap();
    ok(&["mkdir", &format!("{base}/new")]);
    ok(&["put", "up.bin", &format!("{base}/new/")]);
    assert!(std::fs::read(served.path().join("new/up.bin")).unwrap() == pattern(1_500_000));
    // Resume: the server has the first 400,000 bytes.
    std::fs::write(served.path().join("new/half.bin"), &pattern(1_500_000)[..400_000]).unwrap();
    ok(&["put", "--resume", "up.bin", &format!("{base}/new/half.bin")]);
    assert!(std::fs::read(served.path().join("new/half.bin")).unwrap() == pattern(1_500_000));
    std::fs::write(work.path().join("more.txt"), b"more\n").unwrap();
    std::fs::write(served.path().join("new/log.txt"), b"first\n").unwrap();
    ok(&["put", "--append", "more.txt", &format!("{base}/new/log.txt")]);
    assert_eq!(std::fs::read(served.path().join("new/log.txt")).unwrap(), b"first\nmore\n");
    ok(&["mv", &format!("{base}/new/up.bin"), "new/moved.bin"]);
    assert!(served.path().join("new/moved.bin").exists());
    for name in ["moved.bin", "half.bin", "log.txt"] {
        ok(&["rm", &format!("{base}/new/{name}")]);
    }
    ok(&["rmdir", &format!("{base}/new/")]);
    assert!(!served.path().join("new").exists());
}

/// `ls --json`: one object per entry with the issue's fields.
#[test]
fn ls_json() {
    let served = fixture();
    std::os::unix::fs::symlink("data.bin", served.path().join("pub/link")).unwrap();
    let addr_server = start(served.path());
    let addr = addr_server.addr();
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["ls", "--json", &format!("ftp://alice:s3cret%3Ax@{addr}/pub")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let entries: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let find = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name}: {stdout}"));
    let data = find("data.bin");
    assert_eq!(data["kind"], "file");
    assert_eq!(data["size"], 2_000_000);
    let modified = data["modified"].as_str().unwrap();
    assert!(modified.len() == 20 && modified.ends_with('Z') && modified.as_bytes()[10] == b'T', "{modified}");
    assert_eq!(data["zone"], "utc", "MLSD times are UTC (RFC 3659 2.3)");
    assert!(data["raw"].as_str().unwrap().contains("data.bin"));
    assert_eq!(find("a b.txt")["size"], 7);
    // The server's link policy: a link inside the root is its target.
    let link = find("link");
    assert!(link["kind"] == "file" && link["size"] == 2_000_000, "{link}");
    // Text form: one line per entry.
    let out = ftpkit(work.path(), &["ls", &format!("ftp://alice:s3cret%3Ax@{addr}/pub")]);
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with('-') && l.ends_with(" data.bin")));
}

/// The README's main command: `ftpkit serve` with no options serves the
/// current directory read-only to anonymous users on 127.0.0.1:2121 and
/// says so; a listing works and an upload is refused (RFC 959 4.2: 550).
#[test]
fn serve_with_no_options() {
    if std::net::TcpListener::bind("127.0.0.1:2121").is_err() {
        eprintln!("notice: 127.0.0.1:2121 is in use; skipping the default-serve test");
        return;
    }
    let served = fixture();
    let mut child = Command::new(FTPKIT)
        .current_dir(served.path())
        .arg("serve")
        .args(run_as_root())
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("127.0.0.1:2121") && line.contains("read-only") && line.contains("anonymous"), "{line}");
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["ls", "ftp://127.0.0.1:2121/"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" pub"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// SIGTERM stops `ftpkit serve` gracefully: a logged-in session gets 421
/// (RFC 959 4.2: service closing) and the process exits 0.
#[test]
fn serve_stops_gracefully_on_sigterm() {
    use std::io::{Read, Write};
    let served = fixture();
    let (mut child, addr) = spawn_serve(served.path(), &["serve", "--listen", "127.0.0.1:0", "--shutdown-grace", "2"]);
    let mut control = std::net::TcpStream::connect(&addr).unwrap();
    control.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 512];
    let n = control.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"220"), "{:?}", String::from_utf8_lossy(&buf[..n]));
    control.write_all(b"USER anonymous\r\nPASS x@\r\n").unwrap();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("230") {
        let n = control.read(&mut buf).unwrap();
        assert!(n > 0, "closed before login");
        got.extend_from_slice(&buf[..n]);
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut rest = Vec::new();
    let _ = control.read_to_end(&mut rest);
    assert!(String::from_utf8_lossy(&rest).starts_with("421"), "{:?}", String::from_utf8_lossy(&rest));
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// `ftpkit check` wired in: a subset of the catalogue (RFC 959 login
/// sequence checks) against our server passes, in JUnit form; against a
/// closed port it exits 2.
#[test]
fn check_subcommand() {
    let served = fixture();
    std::fs::create_dir(served.path().join("w")).unwrap();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let url = format!("ftp://alice:s3cret%3Ax@{addr}/w");
    let out = ftpkit(work.path(), &["check", &url, "--only", "rfc959", "--format", "junit", "--timeout", "10"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", stderr(&out));
    assert!(report.contains("<testsuite") && report.contains("rfc959"), "{report}");
    assert!(std::fs::read_dir(served.path().join("w")).unwrap().next().is_none(), "the writable dir is left empty");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = ftpkit(work.path(), &["check", &format!("ftp://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `get -o FIFO`: the download streams into the FIFO itself (its reader
/// gets every byte) and the FIFO is still a FIFO afterwards; no FIFO.part.
/// A path that exists and is not a regular file is never replaced by a
/// rename; the bytes are written as they come (RFC 959 section 3.4.1,
/// stream mode).
#[test]
fn get_into_a_fifo_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let fifo = work.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut got = Vec::new();
        let r = std::fs::File::open(&reader_path).and_then(|mut f| f.read_to_end(&mut got));
        let _ = tx.send(r.map(|_| got));
    });
    let out = ftpkit(work.path(), &["get", &format!("ftp://alice:s3cret%3Ax@{addr}/pub/data.bin"), "-o", "pipe"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = rx.recv_timeout(Duration::from_secs(60)).expect("the FIFO's reader finished").unwrap();
    assert!(got == pattern(2_000_000), "the reader got {} bytes", got.len());
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert!(!work.path().join("pipe.part").exists());
}

/// `get -o /dev/null`: /dev/null stays the character device (it is written
/// as a stream, RFC 959 section 3.4.1, not replaced by a renamed
/// FILE.part, which as root would put a regular file in its place), and no
/// `/dev/null.part` is created.
#[test]
fn get_to_dev_null_keeps_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let null = Path::new("/dev/null");
    assert!(std::fs::symlink_metadata(null).unwrap().file_type().is_char_device());
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["get", &format!("ftp://alice:s3cret%3Ax@{addr}/pub/data.bin"), "-o", "/dev/null"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(null).unwrap().file_type().is_char_device(), "/dev/null is still a device");
    assert!(!Path::new("/dev/null.part").exists(), "no /dev/null.part");
    assert!(std::fs::read_dir(work.path()).unwrap().next().is_none(), "nothing written in the working directory");
}

/// `get -o -`: standard output carries exactly the file's bytes (2 MB,
/// TYPE I, RFC 959 section 3.1.1.3), and `-v`'s control conversation stays
/// on stderr.
#[test]
fn get_to_stdout_is_exactly_the_file() {
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["get", &format!("ftp://alice:s3cret%3Ax@{addr}/pub/data.bin"), "-o", "-", "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == pattern(2_000_000), "stdout has {} bytes", out.stdout.len());
    assert!(stderr(&out).contains("> RETR pub/data.bin"), "{}", stderr(&out));
    assert!(std::fs::read_dir(work.path()).unwrap().next().is_none(), "nothing written in the working directory");
}

/// `get --resume` with a local file larger than the remote one (RFC 3659
/// section 5: a REST marker past the end names no byte to continue from): refused
/// with exit 6, and the local file, FILE or FILE.part, is left byte for
/// byte as it was, under its own name.
#[test]
fn get_resume_refuses_a_larger_local_file() {
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let url = format!("ftp://alice:s3cret%3Ax@{addr}/pub/data.bin");
    let larger: Vec<u8> = pattern(2_000_123).iter().map(|b| b ^ 0x5a).collect();
    for name in ["out.bin", "out.bin.part"] {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join(name), &larger).unwrap();
        let out = ftpkit(work.path(), &["get", &url, "-o", "out.bin", "--resume"]);
        assert_eq!(out.status.code(), Some(6), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("cannot resume") && err.contains("2000123") && err.contains("2000000"), "{err}");
        assert!(std::fs::read(work.path().join(name)).unwrap() == larger, "{name} is unchanged");
        let names: Vec<_> = std::fs::read_dir(work.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(name)], "nothing else appears");
    }
}

/// Explicit (`ftps://`, `AUTH TLS`) and implicit (`--implicit`) FTPS
/// against our server: the download arrives intact, and the commands go in
/// curl's order, RFC 4217 sections 4 and 9: TLS first, then `USER`/`PASS`,
/// then `PBSZ 0` and `PROT P`.
#[test]
fn get_over_ftps_logs_in_before_pbsz_prot() {
    let served = fixture();
    for implicit in [false, true] {
        let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), served.path().to_path_buf());
        options.users = vec![User { name: "alice".into(), password: "pw".into(), writable: false }];
        options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
        options.implicit_tls = implicit;
        let server = Background::start(options).unwrap();
        let addr = server.addr();
        let work = tempfile::tempdir().unwrap();
        let url = format!("ftps://alice:pw@{addr}/pub/data.bin");
        let mut args = vec!["get", &url, "-o", "out.bin", "--insecure", "-v"];
        if implicit {
            args.push("--implicit");
        }
        let out = ftpkit(work.path(), &args);
        let err = stderr(&out);
        assert!(out.status.success(), "implicit={implicit}: {err}");
        assert!(std::fs::read(work.path().join("out.bin")).unwrap() == pattern(2_000_000));
        let sent: Vec<&str> = err.lines().filter_map(|l| l.strip_prefix("> ")).collect();
        let mut expected = if implicit { vec![] } else { vec!["AUTH TLS"] };
        expected.extend(["USER alice", "PASS ****", "PBSZ 0", "PROT P"]);
        assert_eq!(&sent[..expected.len()], &expected[..], "implicit={implicit}: {err}");
        assert!(err.contains("TLS established"), "{err}");
    }
}

/// `ftpkit serve --tls-resumption-same-client` (SECURITY.md L6, for
/// rclone's shared session cache): a client resuming its own control
/// session still downloads over FTPS; the flag cannot be combined with
/// `--no-tls-resumption` (exit 2).
#[test]
fn serve_tls_resumption_same_client() {
    let served = fixture();
    let args =
        ["serve", "--listen", "127.0.0.1:0", "--tls-self-signed", "--user", "alice:pw", "--tls-resumption-same-client"];
    let (mut child, addr) = spawn_serve(served.path(), &args);
    let work = tempfile::tempdir().unwrap();
    let url = format!("ftps://alice:pw@{addr}/pub/data.bin");
    let out = ftpkit(work.path(), &["get", &url, "-o", "out.bin", "--insecure"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("out.bin")).unwrap() == pattern(2_000_000));
    let both =
        ftpkit(work.path(), &["serve", "--tls-self-signed", "--no-tls-resumption", "--tls-resumption-same-client"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
}

/// Uploads over FTPS with Python's ssl module and closes the data
/// connection without a TLS close_notify (`close()` without `unwrap()`);
/// prints the final reply.
const PY_NO_CLOSE_NOTIFY: &str = r#"
import ftplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=30)
f.connect('127.0.0.1', int(sys.argv[1]))
f.auth(); f.login('alice', 'pw'); f.prot_p()
conn = f.transfercmd('STOR cut.bin')
conn.sendall(b'x' * 300000)
conn.close()
try:
    print(f.voidresp())
except ftplib.Error as e:
    print(e)
f.quit()
"#;

/// SECURITY.md L7 through `ftpkit serve`: an FTPS upload that ends without
/// close_notify is accepted with a reply saying so and a warning on the
/// server's stderr; with `--require-tls-close-notify` it is refused (426),
/// and with `--atomic-uploads` too it never takes the target's name
/// (SECURITY.md X3).
#[test]
fn serve_flags_uploads_without_close_notify() {
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        assert!(std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"), "python3 is required");
        eprintln!("notice: python3 is missing; skipping");
        return;
    }
    for (strict, atomic) in [(false, false), (true, false), (true, true)] {
        let served = tempfile::tempdir().unwrap();
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--tls-self-signed", "--user", "alice:pw:rw"];
        // ftplib does not resume the control session on data connections.
        args.push("--no-tls-resumption");
        if strict {
            args.push("--require-tls-close-notify");
        }
        if atomic {
            // SECURITY.md X3: the refused upload is not left under its name.
            args.push("--atomic-uploads");
        }
        let (child, addr) = spawn_serve(served.path(), &args);
        let port = addr.rsplit(':').next().unwrap();
        let out = Command::new("timeout")
            .args(["60", "python3", "-c", PY_NO_CLOSE_NOTIFY, port])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let server = child.wait_with_output().unwrap();
        let reply = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&server.stderr);
        assert!(out.status.success(), "{reply}\n{}", String::from_utf8_lossy(&out.stderr));
        if strict {
            assert!(reply.starts_with("426"), "{reply}");
            if atomic {
                let names: Vec<_> = std::fs::read_dir(served.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
                assert!(names.iter().all(|n| n != "cut.bin"), "the refused upload took its name: {names:?}");
            }
        } else {
            assert!(reply.starts_with("226") && reply.contains("close_notify"), "{reply}");
            assert!(log.contains("possibly truncated") && log.contains("cut.bin"), "server log: {log}");
            assert_eq!(std::fs::metadata(served.path().join("cut.bin")).unwrap().len(), 300_000);
        }
    }
}

/// A greeting that is not FTP (an SSH banner, an HTTP response: another
/// service on the port) fails at once with exit code 3 and says so; it does
/// not wait for the reply timeout.
#[test]
fn greeting_of_another_protocol_exits_3_at_once() {
    use std::io::Write;
    for banner in [&b"SSH-2.0-OpenSSH_9.6\r\n"[..], b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(banner).unwrap();
            std::thread::sleep(Duration::from_secs(3));
        });
        let started = std::time::Instant::now();
        let out = Command::new(FTPKIT).args(["ls", &format!("ftp://{addr}/")]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not FTP"), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(started.elapsed() < Duration::from_secs(3), "answered at once: {:?}", started.elapsed());
        server.join().unwrap();
    }
}

/// A scripted server's control connection: the next one accepted on
/// `listener`, greeted, every read bounded by a timeout; its writing and
/// its line-reading halves.
fn accept_greeted(
    listener: &std::net::TcpListener,
    greeting: &[u8],
) -> (std::net::TcpStream, BufReader<std::net::TcpStream>) {
    use std::io::Write;
    let (control, _) = listener.accept().unwrap();
    control.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut writer = control.try_clone().unwrap();
    writer.write_all(greeting).unwrap();
    (writer, BufReader::new(control))
}

/// A scripted server on loopback for what our own server never sends:
/// `listing` as every LIST/MLSD answer (no FEAT features, so the client
/// uses LIST), `refusal` as every RETR/SIZE answer. Serves one control
/// connection, each read bounded by a timeout.
fn hostile_server(
    listing: &'static [u8],
    refusal: &'static str,
) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::Write;
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut writer, mut reader) = accept_greeted(&listener, b"220 hostile\r\n");
        let mut data: Option<TcpListener> = None;
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let reply: Vec<u8> = match verb.as_str() {
                "USER" => b"331 pw\r\n".to_vec(),
                "PASS" => b"230 in\r\n".to_vec(),
                "FEAT" => b"211-Features:\r\n211 End\r\n".to_vec(),
                "PWD" => b"257 \"/\"\r\n".to_vec(),
                "TYPE" | "OPTS" | "MODE" | "STRU" => b"200 ok\r\n".to_vec(),
                "SYST" => b"215 UNIX Type: L8\r\n".to_vec(),
                "EPSV" => {
                    let l = TcpListener::bind("127.0.0.1:0").unwrap();
                    let port = l.local_addr().unwrap().port();
                    data = Some(l);
                    format!("229 Entering Extended Passive Mode (|||{port}|)\r\n").into_bytes()
                }
                "LIST" | "NLST" | "MLSD" => {
                    writer.write_all(b"150 here\r\n").unwrap();
                    if let Some(l) = data.take() {
                        let (mut d, _) = l.accept().unwrap();
                        d.write_all(listing).unwrap();
                    }
                    b"226 done\r\n".to_vec()
                }
                "RETR" | "SIZE" | "MDTM" => refusal.as_bytes().to_vec(),
                "QUIT" => {
                    let _ = writer.write_all(b"221 bye\r\n");
                    return;
                }
                _ => b"502 no\r\n".to_vec(),
            };
            writer.write_all(&reply).unwrap();
            line.clear();
        }
    });
    (addr, thread)
}

/// Issue 16: `LIST` times are the server's local time in an unknown zone:
/// `ls --json` writes them without `Z` and says `"zone": "server-local"`; a
/// `Mon DD YYYY` line gives a date alone.
#[test]
fn ls_json_list_times_are_server_local() {
    let listing: &[u8] = b"-rw-r--r--   1 u g   5 Mar 01 12:00 recent\r\n\
        -rw-r--r--   1 u g   5 Jan 01  2026 dated\r\n";
    let (addr, server) = hostile_server(listing, "550 no\r\n");
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["ls", "--json", &format!("ftp://{addr}/")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let entries: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 2, "{stdout}");
    let recent = entries[0]["modified"].as_str().unwrap();
    assert!(recent.len() == 19 && recent.ends_with("-03-01T12:00:00"), "no Z on a LIST time: {recent}");
    assert_eq!(entries[0]["zone"], "server-local");
    assert_eq!(entries[1]["modified"], "2026-01-01", "a date alone");
    assert_eq!(entries[1]["zone"], "server-local");
    server.join().unwrap();
}

/// The bytes of `out` that would act on a terminal: C0 controls other than
/// the line ends the tool itself prints, DEL, and ESC above all.
fn terminal_controls(out: &[u8]) -> Vec<u8> {
    out.iter().copied().filter(|&b| (b < 0x20 && b != b'\n') || b == 0x7f).collect()
}

/// SECURITY.md R4, E4 (issue 13): a listing whose names carry ANSI and OSC
/// escapes, a bare CR and a link target with colour codes is shown with
/// all of them escaped; the names are still all there.
#[test]
fn sec_r4_ls_escapes_hostile_names() {
    let listing: &[u8] = b"-rw-r--r--   1 u g   5 Jan 01  2026 \x1b]0;owned\x07evil\r\n\
        -rw-r--r--   1 u g   5 Jan 01  2026 \x1b[2Jcls\r\n\
        -rw-r--r--   1 u g   5 Jan 01  2026 over\rwrite\r\n\
        -rw-r--r--   1 u g   5 Jan 01  2026 bell\x07\x08\x7f\r\n\
        lrwxrwxrwx   1 u g   5 Jan 01  2026 link -> \x1b[31mred\r\n";
    let (addr, server) = hostile_server(listing, "550 no\r\n");
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["ls", &format!("ftp://{addr}/")]);
    server.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(terminal_controls(&out.stdout), Vec::<u8>::new(), "{:?}", String::from_utf8_lossy(&out.stdout));
    let shown = String::from_utf8_lossy(&out.stdout);
    for expected in
        ["\\x1b]0;owned\\x07evil", "\\x1b[2Jcls", "over\\rwrite", "bell\\x07\\x08\\x7f", "link -> \\x1b[31mred"]
    {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }
    assert_eq!(shown.lines().count(), 5, "{shown}");
}

/// SECURITY.md R4 (issue 13): a refusal whose text carries an OSC title
/// sequence reaches the terminal escaped, in the error line and in `-v`.
#[test]
fn sec_r4_errors_and_verbose_output_are_escaped() {
    let (addr, server) = hostile_server(b"", "550 \x1b]0;pwned\x1b\\ \x1b[8mhidden\x1b[0m gone\r\n");
    let work = tempfile::tempdir().unwrap();
    let out = ftpkit(work.path(), &["get", &format!("ftp://{addr}/file.txt"), "-v"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(terminal_controls(&out.stderr), Vec::<u8>::new(), "{:?}", stderr(&out));
    assert!(stderr(&out).contains("\\x1b]0;pwned\\x1b"), "{}", stderr(&out));
    assert!(stderr(&out).contains("< 550"), "the -v transcript is there: {}", stderr(&out));
    assert!(
        stderr(&out).contains("RETR file.txt: server replied 550"),
        "the refusal names its command: {}",
        stderr(&out)
    );

    // SECURITY.md F5: a BEL (or another control byte but ESC and HT) is no
    // reply text at all: the connection ends, and the message says why.
    let (addr, server) = hostile_server(b"", "550 \x1b]0;pwned\x07 gone\r\n");
    let out = ftpkit(work.path(), &["get", &format!("ftp://{addr}/file.txt"), "-v"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(terminal_controls(&out.stderr), Vec::<u8>::new(), "{:?}", stderr(&out));
    assert!(stderr(&out).contains("SECURITY.md F5"), "{}", stderr(&out));
    assert!(stderr(&out).contains("SIZE file.txt: protocol violation"), "names the command: {}", stderr(&out));
}

/// Issue 13: the local name `get` derives from a URL is a plain file name
/// in the current directory; `..`, `.` and percent-encoded separators are
/// refused (exit 2) before connecting, and nothing is written anywhere.
#[test]
fn get_refuses_a_url_naming_no_plain_file() {
    let work = tempfile::tempdir().unwrap();
    let inner = work.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    // Port 9 on loopback: nothing is connected to anyway.
    for url in
        ["ftp://127.0.0.1:9/sub/..", "ftp://127.0.0.1:9/sub/.", "ftp://127.0.0.1:9/a%2F..", "ftp://127.0.0.1:9/%2e%2e"]
    {
        let out = ftpkit(&inner, &["get", url]);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("-o FILE"), "{url}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1, "only inner/ in the parent");
    assert_eq!(std::fs::read_dir(&inner).unwrap().count(), 0, "nothing in the working directory");
}

/// SECURITY.md A1, A2 through `ftpkit serve`: failed logins are logged on
/// stderr with the client's address, and `--max-login-failures-per-ip`
/// bans the address (421 before the greeting).
#[test]
fn sec_a2_serve_logs_failed_logins_and_bans() {
    use std::io::Write;
    let served = tempfile::tempdir().unwrap();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--user",
        "alice:pw",
        "--failed-login-delay",
        "1",
        "--max-login-failures-per-ip",
        "2",
        "--login-ban",
        "60",
    ];
    let (child, addr) = spawn_serve(served.path(), &args);
    let connect = || {
        let stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut greeting = String::new();
        reader.read_line(&mut greeting).unwrap();
        (stream, reader, greeting)
    };
    let (mut stream, mut reader, greeting) = connect();
    assert!(greeting.starts_with("220"), "{greeting}");
    for n in 0..2 {
        let mut reply = String::new();
        write!(stream, "USER alice\r\nPASS wrong{n}\r\n").unwrap();
        reader.read_line(&mut reply).unwrap();
        assert!(reply.starts_with("331"), "{reply}");
        reply.clear();
        reader.read_line(&mut reply).unwrap();
        assert!(reply.starts_with("530"), "{reply}");
    }
    let (_, _, greeting) = connect();
    assert!(greeting.starts_with("421"), "banned: {greeting}");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let server = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&server.stderr);
    // ftp_tokio::events: LOGIN "login failed" (fail2ban's pattern).
    assert_eq!(log.matches("login failed").count(), 2, "server log: {log}");
    assert!(log.contains("127.0.0.1") && log.contains("alice"), "server log: {log}");
    assert!(log.contains("banned"), "server log: {log}");
}

/// Starts `ftpkit ARGS` (a `serve`) in `dir`, stdout and stderr piped, and
/// returns it with the address from its banner line.
/// SECURITY.md C1 through `ftpkit serve`: a command line trickled one
/// byte at a time is cut `--line-timeout` seconds after its first byte
/// (421), although bytes keep coming; a line that ends in time is served.
#[test]
fn sec_c1_serve_line_timeout_cuts_a_trickled_line() {
    use std::io::{Read, Write};
    let served = tempfile::tempdir().unwrap();
    let args = ["serve", "--listen", "127.0.0.1:0", "--anonymous", "--line-timeout", "2"];
    let (mut child, addr) = spawn_serve(served.path(), &args);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(250))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220"), "{greeting}");
    stream.write_all(b"NO").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stream.write_all(b"OP\r\n").unwrap();
    let mut reply = String::new();
    reader.read_line(&mut reply).unwrap();
    assert!(reply.starts_with("200"), "a line ended in time is served: {reply}");
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut byte = b"NOOP ".iter().copied().chain(std::iter::repeat(b'A'));
    while started.elapsed() < Duration::from_secs(10) {
        if stream.write_all(&[byte.next().unwrap()]).is_err() {
            break;
        }
        let mut buf = [0u8; 256];
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.starts_with("421"), "{text:?}");
    assert!(elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(8), "cut after {elapsed:?}");
    let _ = child.kill();
    let _ = child.wait();
}

/// `--run-as root` when the tests run as root (CI): `serve` refuses root
/// without it.
fn run_as_root() -> &'static [&'static str] {
    if nix::unistd::geteuid().is_root() { &["--run-as", "root"] } else { &[] }
}

fn spawn_serve(dir: &Path, args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(FTPKIT)
        .current_dir(dir)
        .args(args)
        .args(run_as_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("ftp://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    (child, addr)
}

/// A server that asks for an account (RFC 959 section 5.4: PASS answered
/// 332) and logs in only after `ACCT ledger`; every other command but QUIT
/// and FEAT/PWD/TYPE is refused, so `ftpkit ls` ends with the LIST refusal
/// once logged in. Returns the commands it saw.
fn account_server() -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut writer, mut reader) = accept_greeted(&listener, b"220 accounting\r\n");
        let mut seen = Vec::new();
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let command = line.trim_end().to_string();
            line.clear();
            let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            seen.push(command.clone());
            let reply: &[u8] = match (verb.as_str(), command.as_str()) {
                ("USER", _) => b"331 password\r\n",
                ("PASS", _) => b"332 need account for login\r\n",
                (_, "ACCT ledger") => b"230 logged in with account\r\n",
                ("ACCT", _) => b"530 unknown account\r\n",
                ("FEAT", _) => b"211-Features:\r\n211 End\r\n",
                ("PWD", _) => b"257 \"/\"\r\n",
                ("TYPE", _) => b"200 ok\r\n",
                ("QUIT", _) => {
                    let _ = writer.write_all(b"221 bye\r\n");
                    break;
                }
                _ => b"550 nothing here\r\n",
            };
            if writer.write_all(reply).is_err() {
                break;
            }
        }
        seen
    });
    (addr, thread)
}

/// Issue 16, RFC 959 section 5.4: `--account ACCT` answers a 332 after PASS
/// with ACCT through the real binary; without it the login fails with exit
/// 4 and says the server asks for an account.
#[test]
fn rfc959_5_4_account_option_answers_332() {
    let work = tempfile::tempdir().unwrap();
    let (addr, server) = account_server();
    let out = ftpkit(work.path(), &["ls", &format!("ftp://alice:pw@{addr}/"), "--account", "ledger"]);
    let seen = server.join().unwrap();
    assert!(seen.iter().any(|c| c == "ACCT ledger"), "ACCT sent: {seen:?}");
    // Logged in: what fails afterwards is the listing (550), exit 5, not the login.
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    let (addr, server) = account_server();
    let out = ftpkit(work.path(), &["ls", &format!("ftp://alice:pw@{addr}/")]);
    let seen = server.join().unwrap();
    assert!(!seen.iter().any(|c| c.starts_with("ACCT")), "no ACCT invented: {seen:?}");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("account"), "{}", stderr(&out));
}

/// `ftpkit` with `input` on standard input.
fn ftpkit_stdin(cwd: &Path, args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(FTPKIT)
        .current_dir(cwd)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Issue 20, credentials: `--user NAME` with `--password-stdin`, netrc
/// files (`--netrc-file`, `-n` with `$NETRC`), the URL before them, and no
/// password ever on the command line or in the verbose transcript.
#[test]
fn logins_from_user_stdin_and_netrc() {
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let url = format!("ftp://{addr}/pub/a%20b.txt");

    // --user with the password on stdin; -v shows the login, masked.
    let out = ftpkit_stdin(
        work.path(),
        &["get", "-v", "-o", "-", "--user", "alice", "--password-stdin", &url],
        b"s3cret:x\n",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"spaces\n");
    assert!(stderr(&out).contains("> USER alice") && !stderr(&out).contains("s3cret"), "{}", stderr(&out));
    // Every connection of one command takes the password read once:
    // `mirror --parallel 2` logs in twice from one line of stdin.
    let copy = work.path().join("copy");
    let out = ftpkit_stdin(
        work.path(),
        &[
            "mirror",
            "--parallel",
            "2",
            "--user",
            "alice",
            "--password-stdin",
            &format!("ftp://{addr}/pub"),
            copy.to_str().unwrap(),
        ],
        b"s3cret:x\n",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(copy.join("a b.txt")).unwrap(), b"spaces\n");
    assert_eq!(std::fs::read(copy.join("data.bin")).unwrap(), pattern(2_000_000));
    // A wrong one is the server's refusal: exit 4.
    let out = ftpkit_stdin(work.path(), &["ls", "--user", "alice", "--password-stdin", &url], b"nope\n", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // --user with no password source and no terminal: a usage error, no prompt.
    let out = ftpkit(work.path(), &["ls", "--user", "alice", &format!("ftp://{addr}/")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no password for alice"), "{}", stderr(&out));

    // A netrc file for the host (by name: the URL's host, 127.0.0.1).
    let netrc = work.path().join("netrc");
    std::fs::write(
        &netrc,
        "machine 127.0.0.1\n  login alice\n  password \"s3cret:x\"\ndefault login reader password pw\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let netrc_path = netrc.to_str().unwrap();
    let out = ftpkit(work.path(), &["get", "-o", "-", "--netrc-file", netrc_path, &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"spaces\n");
    // Logged in as alice (writable): an upload works.
    std::fs::write(work.path().join("up.txt"), b"up").unwrap();
    let out = ftpkit(work.path(), &["put", "up.txt", &format!("ftp://{addr}/"), "--netrc-file", netrc_path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(served.path().join("up.txt")).unwrap(), b"up");
    // -n reads $NETRC; the URL's own user and password come first.
    let env = [("NETRC", netrc_path)];
    let out = ftpkit_stdin(work.path(), &["ls", "-n", &format!("ftp://{addr}/pub/")], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ftpkit_stdin(work.path(), &["ls", "-n", &format!("ftp://alice:wrong@{addr}/pub/")], b"", &env);
    assert_eq!(out.status.code(), Some(4), "the URL's password is used, not the file's: {}", stderr(&out));
    // The URL's user without a password takes that user's password from the file.
    let out = ftpkit_stdin(work.path(), &["ls", "-n", &format!("ftp://alice@{addr}/pub/")], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // A file other users can read holds no secret: refused, exit 2.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = ftpkit(work.path(), &["ls", "--netrc-file", netrc_path, &format!("ftp://{addr}/")]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    }
}

/// Issue 20, robustness: `--connect-timeout` bounds the wait for a server
/// that accepts and never greets (exit 3), `--timeout` the wait for a reply
/// that never comes; neither waits for the defaults (30 s, 60 s).
#[test]
fn connect_timeout_and_stall_timeout() {
    use std::io::{Read as _, Write as _};
    let work = tempfile::tempdir().unwrap();
    // Accepts, then says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = ftpkit(work.path(), &["ls", "--connect-timeout", "1", &format!("ftp://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    drop(silent);

    // Greets and logs in, then never answers again.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = mute.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"220 hi\r\n").unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        // USER, PASS answered; everything after that is read and ignored.
        let mut answered = 0;
        while let Ok(n @ 1..) = s.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            while answered < 2 && seen.iter().filter(|&&b| b == b'\n').count() > answered {
                s.write_all(if answered == 0 { b"331 pw\r\n" } else { b"230 in\r\n" }).unwrap();
                answered += 1;
            }
        }
    });
    let started = std::time::Instant::now();
    let out = ftpkit(work.path(), &["ls", "--timeout", "1", &format!("ftp://u:p@127.0.0.1:{port}/")]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    drop(server);
}

/// Issue 20, `--retry`: a download the server cuts off (stopped mid-way,
/// then back on the same port) is tried again after a second and goes on
/// from FILE.part (REST, RFC 3659 section 5) instead of starting over. The
/// second server's file differs from the first's in every byte, so the
/// result shows where each part came from: the first server's prefix, the
/// second's rest.
#[test]
fn retry_resumes_a_download_the_server_cut() {
    let len = 2_000_000;
    let first_root = fixture();
    let second_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(second_root.path().join("pub")).unwrap();
    let inverted: Vec<u8> = pattern(len).iter().map(|b| !b).collect();
    std::fs::write(second_root.path().join("pub/data.bin"), &inverted).unwrap();
    let options = |addr: std::net::SocketAddr, root: &Path, rate: Option<u64>| {
        let mut options = ServerOptions::new(addr, root.to_path_buf());
        options.anonymous = true;
        options.anonymous_limits.download_rate = rate;
        options
    };
    let first = Background::start(options("127.0.0.1:0".parse().unwrap(), first_root.path(), Some(400_000))).unwrap();
    let addr = first.addr();
    let work = tempfile::tempdir().unwrap();
    let child = Command::new(FTPKIT)
        .current_dir(work.path())
        .args(["get", "--retry", "3", "-o", "out.bin", &format!("ftp://{addr}/pub/data.bin")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // About 600 KB in, the server goes, and comes back at once.
    std::thread::sleep(Duration::from_millis(1500));
    first.stop(Duration::ZERO);
    let _second = Background::start(options(addr, second_root.path(), None)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("attempt 1 of 4; again in 1 s"), "{}", stderr(&out));
    let got = std::fs::read(work.path().join("out.bin")).unwrap();
    assert_eq!(got.len(), len);
    let original = pattern(len);
    let cut = got.iter().zip(&original).position(|(a, b)| a != b).expect("the second server sent a part");
    assert!(cut > 0, "the first server's bytes were kept, not fetched again");
    assert_eq!(&got[cut..], &inverted[cut..], "the rest is the second server's, from where the first stopped");
    assert!(!work.path().join("out.bin.part").exists());
}

/// `--retry` does not try again what cannot succeed: a 550 (no such file)
/// fails at once, exit 5, without a wait.
#[test]
fn retry_leaves_permanent_failures_alone() {
    let served = fixture();
    let server = start(served.path());
    let work = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = ftpkit(
        work.path(),
        &["get", "--retry", "5", &format!("ftp://alice:s3cret%3Ax@{}/pub/none.bin", server.addr())],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(!stderr(&out).contains("again in"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Issue 20, `--limit-rate`: 2,000,000 bytes at 1M (1,048,576 bytes per
/// second) cannot take less than 1.9 s either way (the pace holds the
/// local file; TCP's flow control holds the connection to it); the bytes
/// are the same. Only the lower bound is checked: a slow machine may take
/// longer.
#[test]
fn limit_rate_paces_downloads_and_uploads() {
    let served = fixture();
    let server = start(served.path());
    let addr = server.addr();
    let work = tempfile::tempdir().unwrap();
    let base = format!("ftp://alice:s3cret%3Ax@{addr}");
    let started = std::time::Instant::now();
    let out = ftpkit(work.path(), &["get", "--limit-rate", "1M", "-o", "d.bin", &format!("{base}/pub/data.bin")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() >= Duration::from_millis(1850), "download took only {:?}", started.elapsed());
    assert_eq!(std::fs::read(work.path().join("d.bin")).unwrap(), pattern(2_000_000));
    let started = std::time::Instant::now();
    let out = ftpkit(work.path(), &["put", "--limit-rate", "1m", "d.bin", &format!("{base}/up.bin")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() >= Duration::from_millis(1850), "upload took only {:?}", started.elapsed());
    assert_eq!(std::fs::read(served.path().join("up.bin")).unwrap(), pattern(2_000_000));
    let out = ftpkit(work.path(), &["get", "--limit-rate", "fast", &format!("{base}/pub/data.bin")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// A scripted server for one session: each command gets the reply of the
/// first `(prefix, reply)` whose prefix it starts with (else 502); QUIT
/// gets 221 and ends it. Returns the port and the commands it saw.
fn scripted(script: &'static [(&'static str, &'static str)]) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut out = stream.try_clone().unwrap();
        out.write_all(b"220 scripted\r\n").unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = line.trim_end().to_owned();
            if line == "QUIT" {
                out.write_all(b"221 bye\r\n").unwrap();
                seen.push(line);
                break;
            }
            let reply = script.iter().find(|(p, _)| line.starts_with(p)).map_or("502 no", |(_, r)| r);
            out.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
            seen.push(line);
        }
        seen
    });
    (port, handle)
}

/// Issue 20: `ftpkit stat` (MLST, RFC 3659 section 7, through our server;
/// SIZE and MDTM from a server without MLST), `ftpkit chmod` (SITE CHMOD)
/// and `ftpkit raw` (one command, its reply printed; data-connection and
/// login commands refused).
#[test]
fn stat_chmod_and_raw() {
    let served = fixture();
    let server = start(served.path());
    let work = tempfile::tempdir().unwrap();
    let base = format!("ftp://alice:s3cret%3Ax@{}", server.addr());

    let out = ftpkit(work.path(), &["stat", "--json", &format!("{base}/pub/data.bin")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((json["kind"].as_str(), json["size"].as_u64()), (Some("file"), Some(2_000_000)), "{json}");
    assert!(json["modified"].as_str().is_some_and(|t| t.ends_with('Z')), "{json}");
    let out = ftpkit(work.path(), &["stat", &format!("{base}/pub")]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("d "), "{}", String::from_utf8_lossy(&out.stdout));
    let out = ftpkit(work.path(), &["stat", &format!("{base}/pub/none")]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let out = ftpkit(work.path(), &["chmod", "600", &format!("{base}/pub/a%20b.txt")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mode = std::fs::metadata(served.path().join("pub/a b.txt")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let out = ftpkit(work.path(), &["chmod", "9z", &format!("{base}/pub/a%20b.txt")]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }

    let out = ftpkit(work.path(), &["raw", &base, "SYST"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("215 "), "{}", String::from_utf8_lossy(&out.stdout));
    let out = ftpkit(work.path(), &["raw", &format!("{base}/pub"), "SIZE", "data.bin"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "213 2000000", "the URL's directory is entered first");
    let out = ftpkit(work.path(), &["raw", &base, "RETR pub/data.bin"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ftpkit(work.path(), &["raw", &base, "DELE", "pub/none"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("550"), "the refusal is printed too");

    // Without MLST in FEAT: SIZE and MDTM; a path without a size that CWD
    // enters is a directory (and the client goes back).
    let (port, seen) = scripted(&[
        ("USER", "331 pw"),
        ("PASS", "230 in"),
        ("FEAT", "211 no features"),
        ("SIZE f.txt", "213 4096"),
        ("MDTM f.txt", "213 20240102030405"),
        ("SIZE", "550 not a plain file"),
        ("PWD", "257 \"/home\""),
        ("CWD", "250 ok"),
        ("MDTM", "550 no"),
    ]);
    let out = ftpkit(work.path(), &["stat", "--json", &format!("ftp://u:p@127.0.0.1:{port}/f.txt")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["size"].as_u64(), Some(4096), "{json}");
    assert_eq!(json["modified"].as_str(), Some("2024-01-02T03:04:05Z"), "{json}");
    assert!(seen.join().unwrap().iter().all(|c| !c.starts_with("MLST")));
    let (port, seen) = scripted(&[
        ("USER", "331 pw"),
        ("PASS", "230 in"),
        ("FEAT", "211 no features"),
        ("SIZE", "550 not a plain file"),
        ("PWD", "257 \"/home\""),
        ("CWD", "250 ok"),
        ("MDTM", "550 no"),
    ]);
    let out = ftpkit(work.path(), &["stat", &format!("ftp://u:p@127.0.0.1:{port}/sub")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("d "),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let seen = seen.join().unwrap();
    assert!(seen.contains(&"CWD sub".to_owned()) && seen.contains(&"CWD /home".to_owned()), "{seen:?}");
}
