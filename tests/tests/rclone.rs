//! Our server with rclone's FTP backend (Debian's rclone 1.60, on the Go
//! library jlaffaye/ftp): `copyto` both ways, `copy` of several files,
//! `lsf`/`ls`, ranged downloads (`cat --offset`: `REST` + `RETR`),
//! `moveto` (server-side `RNFR`/`RNTO`), `deletefile`, `mkdir`, `rmdir` and
//! `check --download`, in plain FTP (`EPSV`, and `PASV` with
//! `--ftp-disable-epsv`) and explicit FTPS (`--ftp-explicit-tls`) under
//! TLS 1.3 and TLS 1.2 (`--ftp-disable-tls13`); and the sizes rclone lists
//! for symbolic links.
//!
//! rclone is used through an on-the-fly remote (`:ftp:`) configured by
//! `RCLONE_FTP_*` variables and an empty config file. Its FTP backend has
//! no active mode (jlaffaye/ftp dials passive data connections only) and
//! no resumable or appending upload (every upload is a whole `STOR`), so
//! `PORT` and upload continuation are not exercised here. rclone keeps a
//! TLS session cache (`--ftp-tls-cache-size`, 32) and resumes a cached
//! session on its data connections, so the server's resumption check
//! (SECURITY.md L6) stays on. Before 1.64 that cache is shared by all of
//! rclone's parallel control connections (one entry per host), so a data
//! connection may resume another control connection's session, which L6
//! rightly refuses (rclone issue 7234, jlaffaye/ftp issue 342: FileZilla
//! Server answers 425 the same way); over FTPS the tests therefore run
//! rclone with `--ftp-concurrency 1`. Every transfer is compared by
//! SHA-256.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ftp_interop::data::{pseudo_random_bytes, sha256_file, sha256_hex, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, USER, have_program, run};

const MIB: u64 = 1 << 20;

/// How rclone reaches the server.
#[derive(Clone, Copy)]
enum Mode {
    /// Plain FTP, `EPSV` (rclone's default when `FEAT` lists it).
    Epsv,
    /// Plain FTP, `PASV` only.
    Pasv,
    /// Explicit FTPS, TLS 1.3 allowed (and chosen by both sides).
    Tls13,
    /// Explicit FTPS, TLS 1.2 only.
    Tls12,
    /// Explicit FTPS, TLS 1.3, four control connections sharing rclone's
    /// one TLS session cache.
    Tls13Parallel,
}

struct Rclone {
    port: u16,
    mode: Mode,
    /// An empty config file and the cache directory.
    scratch: tempfile::TempDir,
    obscured: String,
}

impl Rclone {
    fn new(server: &OurServer, mode: Mode) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::write(scratch.path().join("rclone.conf"), b"").unwrap();
        let out = run(Command::new("rclone").args(["obscure", PASSWORD]), Duration::from_secs(30));
        assert!(out.status.success(), "rclone obscure: {}", String::from_utf8_lossy(&out.stderr));
        let obscured = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Self { port: server.port(), mode, scratch, obscured }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("rclone");
        command
            .arg("--config")
            .arg(self.scratch.path().join("rclone.conf"))
            .arg("--cache-dir")
            .arg(self.scratch.path().join("cache"))
            // Fail fast, bounded network waits.
            .args(["--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "30s"])
            .env("RCLONE_FTP_HOST", "127.0.0.1")
            .env("RCLONE_FTP_PORT", self.port.to_string())
            .env("RCLONE_FTP_USER", USER)
            .env("RCLONE_FTP_PASS", &self.obscured);
        match self.mode {
            Mode::Epsv => {}
            Mode::Pasv => {
                command.arg("--ftp-disable-epsv");
            }
            // One control connection at a time: see the module docs.
            Mode::Tls13 => {
                command.args(["--ftp-explicit-tls", "--ftp-no-check-certificate", "--ftp-concurrency", "1"]);
            }
            Mode::Tls12 => {
                command.args(["--ftp-explicit-tls", "--ftp-no-check-certificate", "--ftp-concurrency", "1"]);
                command.arg("--ftp-disable-tls13");
            }
            Mode::Tls13Parallel => {
                command.args(["--ftp-explicit-tls", "--ftp-no-check-certificate", "--ftp-concurrency", "4"]);
            }
        }
        command.args(args);
        command
    }

    /// Runs an rclone command; panics with its output unless it exits 0.
    fn ok(&self, args: &[&str]) -> Output {
        let out = run(&mut self.command(args), Duration::from_secs(120));
        assert!(
            out.status.success(),
            "rclone {args:?} failed ({})\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok(args).stdout).expect("UTF-8 output")
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `rclone ls` output as (path, size) pairs, sorted.
fn ls(rclone: &Rclone, remote: &str) -> Vec<(String, u64)> {
    let mut entries: Vec<(String, u64)> = rclone
        .stdout(&["ls", remote])
        .lines()
        .map(|l| {
            let (size, name) = l.trim_start().split_once(' ').unwrap_or_else(|| panic!("rclone ls line {l:?}"));
            (name.to_owned(), size.parse().unwrap_or_else(|_| panic!("rclone ls size in {l:?}")))
        })
        .collect();
    entries.sort();
    entries
}

/// Every operation rclone has, then the server's files compared with
/// their sources.
fn every_operation(server: &OurServer, mode: Mode) {
    let root = server.root();
    let rclone = Rclone::new(server, mode);
    let local = tempfile::tempdir().unwrap();

    // copyto both ways.
    let up = write_pseudo_random_file(&local.path().join("up.bin"), 1, 2 * MIB + 1);
    let _ = rclone.ok(&["copyto", path(&local.path().join("up.bin")), ":ftp:d/up.bin"]);
    assert_eq!(sha256_file(&root.join("d/up.bin")), up, "copyto (upload, STOR)");
    std::fs::create_dir(root.join("src")).unwrap();
    let down = write_pseudo_random_file(&root.join("src/down.bin"), 2, 3 * MIB - 5);
    let _ = write_pseudo_random_file(&root.join("src/small.txt"), 3, 1234);
    let _ = rclone.ok(&["copyto", ":ftp:src/down.bin", path(&local.path().join("down.bin"))]);
    assert_eq!(sha256_file(&local.path().join("down.bin")), down, "copyto (download, RETR)");

    // Listings.
    let names = rclone.stdout(&["lsf", ":ftp:src"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["down.bin", "small.txt"], "lsf");
    assert_eq!(ls(&rclone, ":ftp:src"), [("down.bin".to_owned(), 3 * MIB - 5), ("small.txt".to_owned(), 1234)], "ls");

    // A download continued from an offset: rclone reads a range with
    // REST + RETR; the local part plus the tail is the whole file.
    let tail = rclone.ok(&["cat", "--offset", "1000000", ":ftp:src/down.bin"]).stdout;
    let whole = std::fs::read(root.join("src/down.bin")).unwrap();
    let mut resumed = whole[..1_000_000].to_vec();
    resumed.extend_from_slice(&tail);
    assert_eq!(sha256_hex(&resumed), down, "cat --offset (REST + RETR) continues the download");
    let middle = rclone.ok(&["cat", "--offset", "2000000", "--count", "123456", ":ftp:src/down.bin"]).stdout;
    assert_eq!(middle, &whole[2_000_000..2_123_456], "cat --offset --count");

    // Several files, then a byte-for-byte check through the server.
    let tree = local.path().join("tree");
    std::fs::create_dir_all(tree.join("nested")).unwrap();
    for (i, name) in ["a.bin", "b.bin", "nested/c.bin"].iter().enumerate() {
        let _ = write_pseudo_random_file(&tree.join(name), 10 + i as u64, MIB + i as u64 * 333_333);
    }
    let _ = rclone.ok(&["copy", path(&tree), ":ftp:tree"]);
    for name in ["a.bin", "b.bin", "nested/c.bin"] {
        assert_eq!(sha256_file(&root.join("tree").join(name)), sha256_file(&tree.join(name)), "copy: {name}");
    }
    let _ = rclone.ok(&["check", "--download", path(&tree), ":ftp:tree"]);

    // moveto (RNFR/RNTO on the server), deletefile, mkdir, rmdir.
    let _ = rclone.ok(&["moveto", ":ftp:d/up.bin", ":ftp:d/renamed.bin"]);
    assert!(!root.join("d/up.bin").exists(), "moveto removed the source");
    assert_eq!(sha256_file(&root.join("d/renamed.bin")), up, "moveto kept the bytes");
    let _ = rclone.ok(&["deletefile", ":ftp:d/renamed.bin"]);
    assert!(!root.join("d/renamed.bin").exists(), "deletefile");
    let _ = rclone.ok(&["mkdir", ":ftp:d/sub/deeper"]);
    assert!(root.join("d/sub/deeper").is_dir(), "mkdir");
    let _ = rclone.ok(&["rmdir", ":ftp:d/sub/deeper"]);
    assert!(!root.join("d/sub/deeper").exists(), "rmdir");
    let _ = rclone.ok(&["rmdir", ":ftp:d/sub"]);
    assert!(!root.join("d/sub").exists() && root.join("d").is_dir(), "rmdir");
}

/// RFC 959 4.1.3 (`STOR`, `RETR`, `RNFR`/`RNTO`, `DELE`, `MKD`, `RMD`),
/// RFC 2428 3 (`EPSV`), RFC 3659 5 and 7 (`REST` + `RETR`, `MLSD`): rclone
/// over plain FTP.
#[test]
fn rclone_plain_every_operation_epsv() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, Mode::Epsv);
}

/// RFC 959 4.1.2 (`PASV`): the same with `--ftp-disable-epsv`.
#[test]
fn rclone_plain_every_operation_pasv() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, Mode::Pasv);
}

/// RFC 4217 (`AUTH TLS`, `PBSZ 0`, `PROT P`) under TLS 1.3: every
/// operation on protected data connections resuming the control session
/// (SECURITY.md L6, required).
#[test]
fn rclone_ftps_tls13_every_operation() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    every_operation(&server, Mode::Tls13);
}

/// RFC 4217 under TLS 1.2 (`--ftp-disable-tls13`): the same, with the
/// server's resumption check off: Go's TLS client resumes TLS 1.2 only
/// through session tickets (RFC 5077), never by session id; see
/// [`rclone_ftps_tls12_data_connections_resume_the_control_session`].
#[test]
fn rclone_ftps_tls12_every_operation() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start_tls(|o| o.session = o.session.clone().require_tls_resumption(false));
    every_operation(&server, Mode::Tls12);
}

/// RFC 4217 10.2 and SECURITY.md L6 under TLS 1.2, with the server's
/// default policy (data connections must resume the control session):
/// rclone lists, uploads and downloads. Go's TLS client (rclone) resumes a
/// TLS 1.2 session only with a session ticket (RFC 5077), so the server has
/// to issue tickets (scoped to the control session, as its store is) for
/// this client to pass the check; vsftpd with `require_ssl_reuse=YES`
/// (OpenSSL, tickets on) does.
#[test]
fn rclone_ftps_tls12_data_connections_resume_the_control_session() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    let rclone = Rclone::new(&server, Mode::Tls12);
    let down = write_pseudo_random_file(&server.root().join("down.bin"), 50, MIB + 3);
    assert_eq!(rclone.stdout(&["lsf", ":ftp:"]), "down.bin\n", "lsf (MLSD on a data connection)");
    let local = tempfile::tempdir().unwrap();
    let _ = rclone.ok(&["copyto", ":ftp:down.bin", path(&local.path().join("down.bin"))]);
    assert_eq!(sha256_file(&local.path().join("down.bin")), down, "RETR");
    let _ = rclone.ok(&["copyto", path(&local.path().join("down.bin")), ":ftp:up.bin"]);
    assert_eq!(sha256_file(&server.root().join("up.bin")), down, "STOR");
}

/// RFC 4217 7 and SECURITY.md L7 under TLS 1.3: rclone uploads eight 2 MiB
/// files, one after the other on one control connection (module docs),
/// over protected data connections; each must arrive whole, compared byte
/// for byte on the server. rclone (Go) never reads an upload's data
/// connection, so TLS 1.3 session tickets sent there would sit unread and
/// its close would reset the connection under the upload's last bytes.
#[test]
fn rclone_ftps_tls13_uploads_arrive_whole() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    let rclone = Rclone::new(&server, Mode::Tls13);
    let local = tempfile::tempdir().unwrap();
    let sources: Vec<(String, String)> = (0..8_u64)
        .map(|i| {
            let name = format!("f{i}.bin");
            let sha = write_pseudo_random_file(&local.path().join(&name), 100 + i, 2 * MIB);
            (name, sha)
        })
        .collect();
    let _ = rclone.ok(&["copy", "--transfers", "1", path(local.path()), ":ftp:up"]);
    let bad: Vec<String> = sources
        .iter()
        .filter_map(|(name, sha)| {
            let there = server.root().join("up").join(name);
            let len = std::fs::metadata(&there).map(|m| m.len()).unwrap_or(0);
            (sha256_file(&there) != *sha).then(|| format!("{name}: {len} of {} bytes, or different bytes", 2 * MIB))
        })
        .collect();
    assert!(bad.is_empty(), "uploads cut short or changed:\n{}", bad.join("\n"));
    // A second round onto the same names (rclone replaces them) on one
    // connection at a time.
    for (name, _) in &sources {
        let _ = write_pseudo_random_file(&local.path().join(name), 200 + name.len() as u64, 2 * MIB + 7);
    }
    let _ = rclone.ok(&["copy", "--transfers", "1", "--ignore-times", path(local.path()), ":ftp:up"]);
    for (name, _) in &sources {
        assert_eq!(
            sha256_file(&server.root().join("up").join(name)),
            sha256_file(&local.path().join(name)),
            "second upload of {name}"
        );
    }
}

/// SECURITY.md L6 with `TlsResumption::SameClient` (issue 15): rclone's
/// parallel control connections share one TLS session cache, so a data
/// connection offers a session made on another of its control
/// connections, which the default mode refuses (522; see the module docs);
/// with `SameClient` the server takes it (same address, same user, waiting
/// a moment for a control connection still logging in) and four-way
/// parallel uploads and downloads arrive whole.
#[test]
fn rclone_ftps_parallel_connections_with_same_client_resumption() {
    if !have_program("rclone") {
        return;
    }
    let local = tempfile::tempdir().unwrap();
    let sources: Vec<(String, String)> = (0..8_u64)
        .map(|i| {
            let name = format!("p{i}.bin");
            (name.clone(), write_pseudo_random_file(&local.path().join(&name), 300 + i, MIB + i * 1000))
        })
        .collect();
    let server = OurServer::start_tls(|o| o.tls_resumption = ftp_tokio::server::TlsResumption::SameClient);
    let rclone = Rclone::new(&server, Mode::Tls13Parallel);
    let _ = rclone.ok(&["copy", "--transfers", "4", path(local.path()), ":ftp:par"]);
    for (name, sha) in &sources {
        assert_eq!(sha256_file(&server.root().join("par").join(name)), *sha, "upload of {name}");
    }
    let back = tempfile::tempdir().unwrap();
    let _ = rclone.ok(&["copy", "--transfers", "4", ":ftp:par", path(back.path())]);
    for (name, sha) in &sources {
        assert_eq!(sha256_file(&back.path().join(name)), *sha, "download of {name}");
    }
}

/// SECURITY.md P2 and the server's symbolic-link policy: a link inside the
/// root is listed as its target (type and size, RFC 3659 7.5.1 and 7.5.7),
/// so `rclone ls` sizes match what a download returns; a link leading out
/// of the root is not listed at all and cannot be read.
#[test]
fn rclone_ls_sizes_follow_symlinks_inside_the_root() {
    if !have_program("rclone") {
        return;
    }
    let server = OurServer::start(|_| {});
    let root = server.root();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"outside the root").unwrap();
    std::fs::create_dir(root.join("pub")).unwrap();
    let len = 1_500_001;
    let real = pseudo_random_bytes(7, len);
    std::fs::write(root.join("pub/real.bin"), &real).unwrap();
    std::os::unix::fs::symlink("real.bin", root.join("pub/inside.bin")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("pub/outside.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("pub/hostname")).unwrap();

    let rclone = Rclone::new(&server, Mode::Epsv);
    let len = len as u64;
    assert_eq!(
        ls(&rclone, ":ftp:pub"),
        [("inside.bin".to_owned(), len), ("real.bin".to_owned(), len)],
        "the inside link has its target's size; the outside links are not listed"
    );
    let local = tempfile::tempdir().unwrap();
    let _ = rclone.ok(&["copyto", ":ftp:pub/inside.bin", path(&local.path().join("inside.bin"))]);
    assert_eq!(sha256_file(&local.path().join("inside.bin")), sha256_hex(&real), "the link reads as its target");
    let _ = rclone.ok(&["copy", ":ftp:pub", path(&local.path().join("mirror"))]);
    let mut copied: Vec<String> = std::fs::read_dir(local.path().join("mirror"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    copied.sort();
    assert_eq!(copied, ["inside.bin", "real.bin"], "copy fetches the inside link, not the outside ones");
    let out = run(&mut rclone.command(&["cat", ":ftp:pub/outside.txt"]), Duration::from_secs(60));
    assert!(!out.status.success() && out.stdout.is_empty(), "the outside link cannot be read");
}
