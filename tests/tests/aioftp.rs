//! Our server with aioftp (Python asyncio FTP client, 0.28), driven by
//! `tests/peers/clients/aioftp_client.py`: every operation in plain FTP
//! (over `EPSV` and over `PASV`), explicit FTPS under TLS 1.2 and TLS 1.3,
//! implicit FTPS, and aioftp's `MLST`-based existence checks.
//!
//! aioftp has no active mode (its data connections are always passive), so
//! `PORT`/`EPRT` are not exercised here. It resumes the control
//! connection's TLS session on every data connection (it hands the control
//! connection's `SSLSession` to each new one), so the server's resumption
//! check (SECURITY.md L6) stays on. It starts the data connection's TLS
//! handshake as soon as the TCP connection is up and waits for it to finish
//! before sending `REST`/`RETR`/`STOR`: the server must run the handshake
//! before the transfer command arrives. Every step in the script is bounded
//! (15 s), so a server that waits for the command fails the test instead of
//! hanging it. Transferred files are compared by SHA-256.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ftp_interop::data::{pseudo_random_bytes, sha256_file, sha256_hex, write_pseudo_random_file};
use ftp_interop::{OurServer, have_program, peers_prefix, run, skip};

const MIB: u64 = 1 << 20;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/clients/aioftp_client.py")
}

/// Whether python3 can import aioftp from the peers prefix; [`skip`]s
/// otherwise.
fn have_aioftp() -> bool {
    if !have_program("python3") {
        return false;
    }
    let found = Command::new("python3")
        .args(["-c", "import aioftp"])
        .env("PYTHONPATH", peers_prefix().join("python"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip("aioftp (python, in $FTPKIT_PEERS_PREFIX/python)");
    }
    found
}

#[derive(Clone, Copy)]
enum Security {
    Plain,
    Explicit,
    Implicit,
}

/// Runs one scenario of the script; panics with its output unless it exits 0.
fn aioftp(server: &OurServer, security: Security, tls: &str, passive: &str, scenario: &str, local: &Path) {
    let security = match security {
        Security::Plain => "plain",
        Security::Explicit => "explicit",
        Security::Implicit => "implicit",
    };
    let out = run(
        Command::new("python3")
            .arg(script())
            .args([&server.port().to_string(), security, tls, passive, scenario])
            .arg(local)
            .env("PYTHONPATH", peers_prefix().join("python")),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "aioftp {security} (TLS {tls}, {passive}) {scenario} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `ops` scenario (see the script) and its checks on both sides.
fn every_operation(server: &OurServer, security: Security, tls: &str, passive: &str) {
    let root = server.root();
    let local = tempfile::tempdir().unwrap();
    let up = write_pseudo_random_file(&local.path().join("up.bin"), 1, 2 * MIB + 5);
    let part = pseudo_random_bytes(2, 2_000_003);
    std::fs::write(local.path().join("part.bin"), &part).unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    let down = write_pseudo_random_file(&root.join("src/down.bin"), 3, 3 * MIB - 1);
    let down_bytes = std::fs::read(root.join("src/down.bin")).unwrap();
    std::fs::write(local.path().join("resumed.bin"), &down_bytes[..1_000_000]).unwrap();
    std::fs::write(root.join("src/part.bin"), &part[..1_200_000]).unwrap();
    std::fs::write(root.join("src/app.bin"), &part[..777_777]).unwrap();

    aioftp(server, security, tls, passive, "ops", local.path());

    assert_eq!(sha256_file(&root.join("up.bin")), up, "STOR");
    assert_eq!(sha256_file(&local.path().join("down.bin")), down, "RETR");
    assert_eq!(sha256_file(&local.path().join("again.bin")), down, "RETR (aioftp's download)");
    assert_eq!(sha256_file(&local.path().join("resumed.bin")), down, "download continued with REST + RETR");
    assert_eq!(sha256_file(&root.join("src/part.bin")), sha256_hex(&part), "upload continued with REST + STOR");
    assert_eq!(sha256_file(&root.join("src/app.bin")), sha256_hex(&part), "upload continued with APPE");
    assert_eq!(sha256_file(&root.join("d/renamed.bin")), up, "aioftp's upload, then RNFR/RNTO keeps the bytes");
    for gone in ["d/moved.bin", "d/gone.bin", "d/sub"] {
        assert!(!root.join(gone).exists(), "{gone} was renamed or removed");
    }
}

/// RFC 959 4.1.3 (`STOR`, `RETR`, `APPE`, `RNFR`/`RNTO`, `DELE`, `MKD`,
/// `RMD`), RFC 2428 3 (`EPSV`), RFC 3659 5 and 7 (`REST` with `RETR` and
/// `STOR`, `MLSD`, `MLST`): aioftp over plain FTP with `EPSV`.
#[test]
fn aioftp_plain_every_operation_epsv() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, Security::Plain, "any", "epsv");
}

/// RFC 959 4.1.2 (`PASV`): the same with aioftp's passive commands limited
/// to `PASV`.
#[test]
fn aioftp_plain_every_operation_pasv() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, Security::Plain, "any", "pasv");
}

/// RFC 4217 (`AUTH TLS`, `PBSZ 0`, `PROT P`) under TLS 1.3: every
/// operation; aioftp completes each data connection's TLS handshake before
/// it sends the transfer command (RFC 4217 7 leaves the order to the
/// client), resuming the control session (SECURITY.md L6, required).
#[test]
fn aioftp_ftps_tls13_every_operation() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    every_operation(&server, Security::Explicit, "1.3", "epsv");
}

/// RFC 4217 under TLS 1.2: the same, over `PASV`.
#[test]
fn aioftp_ftps_tls12_every_operation() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    every_operation(&server, Security::Explicit, "1.2", "pasv");
}

/// Implicit FTPS (TLS from the first byte, `aioftp.Client(ssl=...)`; no
/// RFC, the `ftps://` convention) with `PBSZ 0`/`PROT P` (RFC 4217 9):
/// every operation on protected data connections.
#[test]
fn aioftp_implicit_ftps_every_operation() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start_tls(|o| o.implicit_tls = true);
    every_operation(&server, Security::Implicit, "any", "epsv");
}

fn dirs_fixture(root: &Path) {
    std::fs::create_dir_all(root.join("sub/inner")).unwrap();
    std::fs::write(root.join("sub/a first.txt"), b"first").unwrap();
    std::fs::write(root.join("sub/b.txt"), b"second file").unwrap();
}

/// RFC 3659 7.1-7.2 (`MLST` describes the object named): aioftp's
/// `exists`, `is_dir`, `is_file` and `stat` are `MLST`; on a directory with
/// files in it they must see a directory (`type=dir`), not its first
/// member; a missing name is 550 (7.2.1); `make_directory(parents=True)`
/// walks up with `exists` and makes only what is missing.
#[test]
fn aioftp_mlst_directory_existence_checks() {
    if !have_aioftp() {
        return;
    }
    let server = OurServer::start(|_| {});
    dirs_fixture(server.root());
    let local = tempfile::tempdir().unwrap();
    aioftp(&server, Security::Plain, "any", "epsv", "dirs", local.path());
    assert!(server.root().join("sub/new/deeper").is_dir(), "MKD of the missing levels");
}
