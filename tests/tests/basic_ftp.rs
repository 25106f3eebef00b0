//! Our server with basic-ftp (the npm FTP client, version 5, on node),
//! driven by `tests/peers/clients/basic_ftp_client.js`: every operation in
//! plain FTP (`EPSV`, and `PASV` only), explicit FTPS under TLS 1.2 and
//! TLS 1.3, and implicit FTPS.
//!
//! basic-ftp has no active mode, so `PORT`/`EPRT` are not exercised; it
//! resumes downloads with `REST` + `RETR` and uploads with `SIZE` + `APPE`
//! (it never sends `REST` before `STOR`). It resumes the control
//! connection's TLS session on each data connection (node's
//! `tls.connect({session})`), so the server's resumption check
//! (SECURITY.md L6) stays on; it sends the data connection's `ClientHello`
//! right after connecting, before the transfer command. Transferred files
//! are compared by SHA-256.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ftp_interop::data::{pseudo_random_bytes, sha256_file, sha256_hex, write_pseudo_random_file};
use ftp_interop::{OurServer, have_program, peers_prefix, run, skip};

const MIB: u64 = 1 << 20;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/clients/basic_ftp_client.js")
}

fn node_path() -> PathBuf {
    peers_prefix().join("node/node_modules")
}

/// Whether node can load basic-ftp from the peers prefix; [`skip`]s
/// otherwise.
fn have_basic_ftp() -> bool {
    if !have_program("node") {
        return false;
    }
    let found = Command::new("node")
        .args(["-e", "require('basic-ftp')"])
        .env("NODE_PATH", node_path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip("basic-ftp (npm, in $FTPKIT_PEERS_PREFIX/node)");
    }
    found
}

/// The `ops` scenario of the script (`security`: plain, explicit or
/// implicit; `tls`: any, 1.2 or 1.3; `passive`: epsv or pasv) and its
/// checks on both sides.
fn every_operation(server: &OurServer, security: &str, tls: &str, passive: &str) {
    let root = server.root();
    let local = tempfile::tempdir().unwrap();
    let up = write_pseudo_random_file(&local.path().join("up.bin"), 1, 2 * MIB + 9);
    let part = pseudo_random_bytes(2, 2_000_003);
    std::fs::write(local.path().join("part.bin"), &part).unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    let down = write_pseudo_random_file(&root.join("src/down.bin"), 3, 3 * MIB - 3);
    let down_bytes = std::fs::read(root.join("src/down.bin")).unwrap();
    std::fs::write(local.path().join("resumed.bin"), &down_bytes[..1_000_000]).unwrap();
    std::fs::write(root.join("src/part.bin"), &part[..1_200_000]).unwrap();

    let out = run(
        Command::new("node")
            .arg(script())
            .args([&server.port().to_string(), security, tls, passive, "ops"])
            .arg(local.path())
            .env("NODE_PATH", node_path()),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "basic-ftp {security} (TLS {tls}, {passive}) failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(sha256_file(&root.join("d/up.bin")), up, "STOR");
    assert_eq!(sha256_file(&local.path().join("down.bin")), down, "RETR");
    assert_eq!(sha256_file(&local.path().join("resumed.bin")), down, "download continued with REST + RETR");
    assert_eq!(sha256_file(&root.join("src/part.bin")), sha256_hex(&part), "upload continued with SIZE + APPE");
    assert_eq!(sha256_file(&root.join("d/renamed.bin")), up, "RNFR/RNTO keeps the bytes");
    for gone in ["d/moved.bin", "d/gone.bin", "d/sub"] {
        assert!(!root.join(gone).exists(), "{gone} was renamed or removed");
    }
}

/// RFC 959 4.1.3 (`STOR`, `RETR`, `APPE`, `RNFR`/`RNTO`, `DELE`, `MKD`,
/// `RMD`), RFC 2428 3 (`EPSV`), RFC 3659 4, 5 and 7 (`SIZE`, `REST` +
/// `RETR`, `MLSD`): basic-ftp over plain FTP.
#[test]
fn basic_ftp_plain_every_operation_epsv() {
    if !have_basic_ftp() {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, "plain", "any", "epsv");
}

/// RFC 959 4.1.2 (`PASV`): the same with basic-ftp's IPv4 passive mode
/// only.
#[test]
fn basic_ftp_plain_every_operation_pasv() {
    if !have_basic_ftp() {
        return;
    }
    let server = OurServer::start(|_| {});
    every_operation(&server, "plain", "any", "pasv");
}

/// RFC 4217 (`AUTH TLS`, `PBSZ 0`, `PROT P`) under TLS 1.3: every
/// operation on protected data connections that resume the control
/// session (SECURITY.md L6, required).
#[test]
fn basic_ftp_ftps_tls13_every_operation() {
    if !have_basic_ftp() {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    every_operation(&server, "explicit", "1.3", "epsv");
}

/// RFC 4217 under TLS 1.2: the same, over `PASV`.
#[test]
fn basic_ftp_ftps_tls12_every_operation() {
    if !have_basic_ftp() {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    every_operation(&server, "explicit", "1.2", "pasv");
}

/// Implicit FTPS (TLS from the first byte, basic-ftp's `secure:
/// "implicit"`; no RFC, the `ftps://` convention) with `PBSZ 0`/`PROT P`
/// (RFC 4217 9): every operation on protected data connections.
#[test]
fn basic_ftp_implicit_ftps_every_operation() {
    if !have_basic_ftp() {
        return;
    }
    let server = OurServer::start_tls(|o| o.implicit_tls = true);
    every_operation(&server, "implicit", "any", "epsv");
}
