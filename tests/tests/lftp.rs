//! Our server with lftp: `mirror` of a tree in both directions, plain and
//! over explicit FTPS, compared file by file through SHA-256.
//!
//! lftp walks the tree with `MLSD` when `FEAT` offers it (RFC 3659 7),
//! makes directories with `MKD` (RFC 959 4.1.3), and moves files with
//! `RETR`/`STOR` over passive data connections (RFC 959 3.2, 4.1.3).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ftp_interop::data::{make_tree, tree_digest};
use ftp_interop::{OurServer, PASSWORD, USER, have_program, run_ok};

/// Settings for every lftp run: fail fast, bounded network waits.
const BASE: &str = "set cmd:fail-exit yes; set net:max-retries 2; set net:timeout 20; \
                    set net:reconnect-interval-base 1; set xfer:clobber on;";
const PLAIN: &str = "set ftp:ssl-allow no;";
/// RFC 4217: AUTH TLS before USER, PROT P for data; the test certificate
/// is self-signed.
const FTPS: &str = "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; \
                    set ssl:verify-certificate no;";
/// GnuTLS priority string without TLS 1.3.
const TLS12: &str = "set ssl:priority NORMAL:-VERS-TLS1.3;";

fn lftp(port: u16, settings: &str, command: &str) {
    let script = format!("{BASE} {settings} open -u {USER},{PASSWORD} -p {port} ftp://127.0.0.1; {command}");
    let _ = run_ok(Command::new("lftp").arg("-c").arg(script), Duration::from_secs(180));
}

fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.to_str().expect("UTF-8 path"))
}

/// Downloads `/src` with `mirror`, uploads a local tree with `mirror -R`.
fn mirror_both_ways(server: &OurServer, settings: &str) {
    let src = server.root().join("src");
    std::fs::create_dir(&src).unwrap();
    let served = make_tree(&src, 1);
    assert!(served.len() >= 12, "the fixture has nested directories and files: {served:?}");

    let local = tempfile::tempdir().unwrap();
    let dst = local.path().join("dst");
    lftp(server.port(), settings, &format!("mirror src {}", quoted(&dst)));
    assert_eq!(tree_digest(&dst), served, "mirror (download) copies every file byte for byte");

    let upload = local.path().join("upload");
    std::fs::create_dir(&upload).unwrap();
    let uploaded = make_tree(&upload, 2);
    lftp(server.port(), settings, &format!("mirror -R {} up", quoted(&upload)));
    assert_eq!(tree_digest(&server.root().join("up")), uploaded, "mirror -R (upload) copies every file byte for byte");
}

/// RFC 959 and RFC 3659: `mirror` and `mirror -R` over plain FTP.
#[test]
fn lftp_mirror_both_directions() {
    if !have_program("lftp") {
        return;
    }
    let server = OurServer::start(|_| {});
    mirror_both_ways(&server, PLAIN);
}

/// RFC 4217: the same over explicit FTPS with protected data connections,
/// limited to TLS 1.2. The server's resumption check (SECURITY.md L6,
/// vsftpd's `require_ssl_reuse`) stays on: lftp (GnuTLS) resumes the
/// control connection's TLS 1.2 session on every data connection.
#[test]
fn lftp_mirror_over_explicit_ftps_tls12() {
    if !have_program("lftp") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    mirror_both_ways(&server, &format!("{FTPS} {TLS12}"));
}

/// RFC 4217 over TLS 1.3, with the server's resumption check off: see
/// [`lftp_ftps_tls13_reuses_the_control_ticket`] for why.
#[test]
fn lftp_mirror_over_explicit_ftps_tls13() {
    if !have_program("lftp") {
        return;
    }
    let server = OurServer::start_tls(|o| o.session = o.session.clone().require_tls_resumption(false));
    mirror_both_ways(&server, FTPS);
}

/// SECURITY.md L6 with TLS 1.3: lftp copies the control connection's
/// session (one ticket) into every data connection. vsftpd
/// (`require_ssl_reuse=YES`, OpenSSL tickets reusable) accepts all of them,
/// and so does our server: its per-session store lets a ticket be used
/// again within its own control session (rustls' default store would hand
/// each out once, and the second data connection would get 522).
#[test]
fn lftp_ftps_tls13_reuses_the_control_ticket() {
    if !have_program("lftp") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    std::fs::write(server.root().join("a.txt"), b"first").unwrap();
    std::fs::write(server.root().join("b.txt"), b"second").unwrap();
    let local = tempfile::tempdir().unwrap();
    lftp(server.port(), FTPS, &format!("get -O {} a.txt b.txt a.txt", quoted(local.path())));
    assert_eq!(std::fs::read(local.path().join("b.txt")).unwrap(), b"second");
}
