//! Harness for the interop tests: our server and client against real FTP
//! programs on loopback.
//!
//! - [`PeerServer`] starts vsftpd, pure-ftpd, proftpd or pyftpdlib through
//!   `tests/peers/start.sh` (installed by `tests/peers/install.sh`), waits
//!   for its `220` greeting and kills it on drop.
//! - [`OurServer`] runs `ftp_tokio::server::Server` in its own runtime thread.
//! - [`EpsvRefusingRelay`] relays a control connection and refuses `EPSV`,
//!   so a client falls back to `PASV` against a server that has both.
//! - [`cluster`] starts SeaweedFS S3 and HAProxy for the scale-out tests
//!   (issue 19).
//! - [`data`] makes deterministic pseudo-random files and trees and compares
//!   them by SHA-256.
//!
//! A test that needs a program or peer that is missing calls [`skip`]: it
//! prints a notice and the test returns, or, when `FTP_INTEROP_REQUIRED=1`
//! (as `.ci/run` sets), it fails. Every wait is bounded; no connection
//! leaves 127.0.0.0/8.

pub mod cluster;
pub mod data;
mod ours;
mod peer;
mod relay;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use ours::OurServer;
pub use peer::{Peer, PeerServer};
pub use relay::EpsvRefusingRelay;

/// The user every server in these tests accepts, with read and write rights.
pub const USER: &str = "ftptest";
/// [`USER`]'s password.
pub const PASSWORD: &str = "ftptest";

/// Whether missing peers fail the tests (`FTP_INTEROP_REQUIRED=1`) instead
/// of skipping them.
#[must_use]
pub fn required() -> bool {
    std::env::var("FTP_INTEROP_REQUIRED").as_deref() == Ok("1")
}

/// Reports that `what` is missing: prints a skip notice, or panics when
/// [`required`].
///
/// # Panics
/// When `FTP_INTEROP_REQUIRED=1`.
pub fn skip(what: &str) {
    assert!(!required(), "{what} is required (FTP_INTEROP_REQUIRED=1); run tests/peers/install.sh");
    eprintln!("notice: {what} is missing; skipping this interop test (run tests/peers/install.sh)");
}

/// Whether `program --version` runs; calls [`skip`] when it does not.
///
/// # Panics
/// When the program is missing and `FTP_INTEROP_REQUIRED=1`.
#[must_use]
pub fn have_program(program: &str) -> bool {
    let found = Command::new(program).arg("--version").stdin(Stdio::null()).output().is_ok_and(|o| o.status.success());
    if !found {
        skip(program);
    }
    found
}

/// A loopback port that was free a moment ago (bound to port 0, then
/// released). A peer that loses the race fails to bind; [`PeerServer`]
/// retries with another port.
///
/// # Panics
/// No loopback socket can be bound.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// Where `tests/peers/install.sh` put the peers: `$FTPKIT_PEERS_PREFIX`,
/// or `/opt/ftpkit-peers`.
#[must_use]
pub fn peers_prefix() -> PathBuf {
    std::env::var_os("FTPKIT_PEERS_PREFIX").map_or_else(|| PathBuf::from("/opt/ftpkit-peers"), PathBuf::from)
}

/// The directory holding `install.sh`, `start.sh` and the templates.
#[must_use]
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Runs `command` to completion with stdin closed, stdout and stderr
/// captured, killing it after `timeout`.
///
/// # Panics
/// The program cannot start, or it runs longer than `timeout`.
#[must_use]
pub fn run(command: &mut Command, timeout: Duration) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} ran longer than {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()),
                String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).expect("read stdout"),
        stderr: std::fs::read(&err_path).expect("read stderr"),
    }
}

/// Like [`run`], and panics with both outputs unless the program exits 0.
///
/// # Panics
/// See [`run`]; also a non-zero exit status.
#[must_use]
pub fn run_ok(command: &mut Command, timeout: Duration) -> Output {
    let out = run(command, timeout);
    assert!(
        out.status.success(),
        "{command:?} failed ({})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A self-signed RSA certificate and key for `localhost` and 127.0.0.1 in
/// PEM files (made with the `openssl` program, so every peer can load them).
#[derive(Debug)]
pub struct TlsFiles {
    dir: tempfile::TempDir,
}

impl TlsFiles {
    /// Makes a fresh certificate and key; `None` (after [`skip`]) when the
    /// `openssl` program is missing.
    ///
    /// # Panics
    /// `openssl` fails, or is missing while [`required`].
    #[must_use]
    pub fn generate() -> Option<Self> {
        if !Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success()) {
            skip("openssl");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("ftp-interop-tls-").tempdir().expect("tempdir");
        set_mode(dir.path(), 0o755);
        let files = Self { dir };
        let _ = run_ok(
            Command::new("openssl").args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]).args([
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                files.key().to_str().expect("utf-8 path"),
                "-out",
                files.cert().to_str().expect("utf-8 path"),
            ]),
            Duration::from_secs(60),
        );
        set_mode(&files.key(), 0o644);
        Some(files)
    }

    /// The certificate (PEM).
    #[must_use]
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The private key (PEM, unencrypted).
    #[must_use]
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// Sets a file's or directory's permission bits.
///
/// # Panics
/// The file does not exist or cannot be changed.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A fresh directory for a server to serve, readable by every user (the
/// setuid peers run sessions as `ftptest`), removed on drop.
///
/// # Panics
/// The directory cannot be made.
#[must_use]
pub fn served_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("ftp-interop-").tempdir().expect("tempdir");
    set_mode(dir.path(), 0o755);
    dir
}
