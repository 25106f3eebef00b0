//! Peer servers started through `tests/peers/start.sh`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TlsFiles, peers_dir, peers_prefix, served_dir, skip};

/// How long a peer may take to answer its first `220`.
const STARTUP: Duration = Duration::from_secs(30);

/// A peer FTP server program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// vsftpd 3.0.3 (Debian package).
    Vsftpd,
    /// pure-ftpd 1.0.50 (unpacked from the Debian package).
    PureFtpd,
    /// ProFTPD 1.3.8 (unpacked from the Debian package).
    Proftpd,
    /// pyftpdlib (PyPI).
    Pyftpdlib,
}

impl Peer {
    /// Every peer.
    pub const ALL: [Self; 4] = [Self::Vsftpd, Self::PureFtpd, Self::Proftpd, Self::Pyftpdlib];

    /// The name `start.sh` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Vsftpd => "vsftpd",
            Self::PureFtpd => "pure-ftpd",
            Self::Proftpd => "proftpd",
            Self::Pyftpdlib => "pyftpdlib",
        }
    }

    /// Whether the server answers `MLSD` (RFC 3659 7); vsftpd does not.
    #[must_use]
    pub fn has_mlsd(self) -> bool {
        self != Self::Vsftpd
    }

    /// Why the peer cannot run here, if it cannot: not installed, or (for
    /// the servers that switch to user `ftptest`) not root or no such user.
    #[must_use]
    pub fn missing(self) -> Option<String> {
        let prefix = peers_prefix();
        let binary = |name: &str| {
            let unpacked = prefix.join("root/usr/sbin").join(name);
            let system = Path::new("/usr/sbin").join(name);
            unpacked.exists() || system.exists()
        };
        let setuid = |name: &str| {
            if !binary(name) {
                Some(format!("{name} (not installed)"))
            } else if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
                Some(format!("{name} (needs root: sessions run as user ftptest)"))
            } else if !std::fs::read_to_string("/etc/passwd")
                .unwrap_or_default()
                .lines()
                .any(|l| l.starts_with("ftptest:"))
            {
                Some(format!("{name} (user ftptest)"))
            } else {
                None
            }
        };
        match self {
            Self::Vsftpd => setuid("vsftpd"),
            Self::PureFtpd => setuid("pure-ftpd"),
            Self::Proftpd => setuid("proftpd"),
            Self::Pyftpdlib => {
                let python = std::env::join_paths(
                    std::iter::once(prefix.join("python"))
                        .chain(std::env::var_os("PYTHONPATH").iter().flat_map(std::env::split_paths)),
                )
                .expect("PYTHONPATH");
                let ok = Command::new("python3")
                    .args(["-c", "import pyftpdlib, OpenSSL"])
                    .env("PYTHONPATH", python)
                    .stdin(Stdio::null())
                    .output()
                    .is_ok_and(|o| o.status.success());
                (!ok).then(|| "pyftpdlib (python3 with pyftpdlib and pyOpenSSL)".to_owned())
            }
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A running peer server, serving a fresh directory to `ftptest` on
/// 127.0.0.1; killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct PeerServer {
    peer: Peer,
    child: Child,
    port: u16,
    root: tempfile::TempDir,
    log: PathBuf,
    _scratch: tempfile::TempDir,
    tls: Option<TlsFiles>,
}

impl PeerServer {
    /// Starts `peer`, with explicit FTPS when `tls`, and waits for its
    /// greeting. `None` (after [`skip`]) when the peer cannot run here.
    ///
    /// # Panics
    /// The peer is missing while `FTP_INTEROP_REQUIRED=1`, or it does not
    /// answer `220` within 30 seconds (the panic shows its log).
    #[must_use]
    pub fn start(peer: Peer, tls: bool) -> Option<Self> {
        if let Some(why) = peer.missing() {
            skip(&why);
            return None;
        }
        let tls = if tls { Some(TlsFiles::generate()?) } else { None };
        let scratch = tempfile::Builder::new().prefix("ftp-interop-log-").tempdir().expect("tempdir");
        let log = scratch.path().join(format!("{peer}.log"));
        let root = served_dir();
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = crate::free_port();
            let mut command = Command::new("bash");
            command.arg(peers_dir().join("start.sh")).arg(peer.name()).arg(port.to_string()).arg(root.path());
            if let Some(files) = &tls {
                command.arg("--tls").arg(files.cert()).arg(files.key());
            }
            let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
            let err = out.try_clone().expect("log file");
            let mut child = command
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", peers_dir().join("start.sh").display()));
            match wait_for_greeting(&mut child, port) {
                Ok(()) => return Some(Self { peer, child, port, root, log, _scratch: scratch, tls }),
                Err(e) => {
                    // Try again on another port: another process may have
                    // taken this one between free_port() and the bind.
                    last_error = e;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!(
            "{peer} did not start: {last_error}\n--- {}:\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Which peer this is.
    #[must_use]
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The served directory (the user's `/`).
    #[must_use]
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Whether the peer was started with `--tls`.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The peer's output so far (its log), for failure messages.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls `port` until the greeting's last line (`220 `) arrives.
fn wait_for_greeting(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("start.sh exited: {status}"));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
            let mut greeting = Vec::new();
            let mut buf = [0u8; 1024];
            while greeting.len() < 16 * 1024 {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => greeting.extend_from_slice(&buf[..n]),
                }
                if String::from_utf8_lossy(&greeting).split("\r\n").any(|line| line.starts_with("220 ")) {
                    let _ = stream.write_all(b"QUIT\r\n");
                    return Ok(());
                }
            }
            if !greeting.is_empty() {
                return Err(format!("unexpected greeting: {}", String::from_utf8_lossy(&greeting)));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("no 220 greeting on {addr} within {STARTUP:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
