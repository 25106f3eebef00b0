//! The peers of the scale-out tests (issue 19) on loopback: SeaweedFS S3
//! for the shared bucket (`tests/peers/seaweedfs.sh`) and HAProxy in TCP
//! mode in front of two nodes (`tests/peers/haproxy.cfg.in`). Each is
//! killed when dropped, whatever the test did.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{peers_dir, peers_prefix, skip};

/// The S3 identity `seaweedfs.sh` configures, as the standard AWS
/// variables a node reads its credentials from.
pub const AWS_ENV: [(&str, &str); 3] =
    [("AWS_ACCESS_KEY_ID", "ftpkit"), ("AWS_SECRET_ACCESS_KEY", "ftpkit-secret"), ("AWS_REGION", "us-east-1")];

/// Where `weed` is: on `PATH`, else `$FTPKIT_PEERS_PREFIX/bin/weed`.
#[must_use]
pub fn weed() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("weed")).find(|p| p.is_file()));
    on_path.or_else(|| Some(peers_prefix().join("bin/weed")).filter(|p| p.is_file()))
}

/// A free loopback port `p` with `p + 10000` free too (SeaweedFS's gRPC
/// ports are its HTTP ports plus 10000), none of them in `taken`.
fn free_pair(taken: &[u16]) -> u16 {
    for _ in 0..1000 {
        let port = crate::free_port();
        if port <= 55_000
            && !taken.contains(&port)
            && !taken.contains(&(port + 10_000))
            && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}

/// SeaweedFS (master, volume, filer and S3 gateway) on 127.0.0.1 with one
/// bucket, started by `tests/peers/seaweedfs.sh`; its `weed` process is
/// killed with SIGKILL when this is dropped.
#[derive(Debug)]
pub struct SeaweedFs {
    script: Child,
    pid: Option<u32>,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl SeaweedFs {
    /// Starts SeaweedFS with `bucket` and waits (at most 120 s) until S3
    /// answers and the bucket exists; `None` after [`skip`] when `weed` or
    /// curl (which the script polls with) is missing.
    ///
    /// # Panics
    /// SeaweedFS does not come up in time, or a peer is missing while
    /// [`crate::required`].
    #[must_use]
    pub fn start(bucket: &str) -> Option<Self> {
        if !crate::have_program("curl") {
            return None;
        }
        let Some(weed) = weed() else {
            skip("weed (SeaweedFS)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("ftp-interop-weed-").tempdir().expect("tempdir");
        let mut ports = Vec::new();
        for _ in 0..4 {
            let p = free_pair(&ports);
            ports.push(p);
        }
        let path = std::env::var("PATH").unwrap_or_default();
        let mut script = Command::new("bash")
            .arg(peers_dir().join("seaweedfs.sh"))
            .arg(dir.path())
            .args(ports.iter().map(u16::to_string))
            .arg(bucket)
            .env("PATH", format!("{}:{path}", weed.parent().expect("weed's directory").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start seaweedfs.sh");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = script.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut weed = Self { script, pid: None, endpoint: String::new(), dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        while weed.pid.is_none() || weed.endpoint.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            // Dropping `weed` on the panic kills what started.
            let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("SeaweedFS not ready within 120 s"));
            if let Some(p) = line.strip_prefix("pid ") {
                weed.pid = p.parse().ok();
            } else if let Some(e) = line.strip_prefix("endpoint ") {
                e.clone_into(&mut weed.endpoint);
            }
        }
        Some(weed)
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The tail of SeaweedFS's log, for a failure message.
    #[must_use]
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        } else {
            // Not ready yet, so the pid is unknown: the script's TERM trap
            // kills weed (within its 0.5 s polling sleep).
            let script = self.script.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &script]).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while self.script.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.script.kill();
        let _ = self.script.wait();
    }
}

/// Whether `haproxy -v` runs (it has no `--version`); a skip notice, or a
/// failure under `FTP_INTEROP_REQUIRED=1`, when it does not.
///
/// # Panics
/// haproxy is missing while [`crate::required`].
#[must_use]
pub fn have_haproxy() -> bool {
    let found = Command::new("haproxy").arg("-v").stdin(Stdio::null()).output().is_ok_and(|o| o.status.success());
    if !found {
        skip("haproxy");
    }
    found
}

/// HAProxy in TCP mode in front of two nodes (`tests/peers/haproxy.cfg.in`),
/// killed when dropped. Three frontends on 127.0.0.1: [`port_a`] to node A
/// with PROXY protocol version 1 (`send-proxy`), [`port_b`] to node B with
/// version 2 (`send-proxy-v2`), and [`port_any`] to both, A first while its
/// health checks (every 200 ms) pass, a refused connect retried on B.
///
/// [`port_a`]: Self::port_a
/// [`port_b`]: Self::port_b
/// [`port_any`]: Self::port_any
#[derive(Debug)]
pub struct Haproxy {
    child: Child,
    port_a: u16,
    port_b: u16,
    port_any: u16,
    dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts haproxy in front of `node_a` and `node_b`, connecting to them
    /// from `source` (the address the nodes must trust for the PROXY
    /// protocol), and waits (at most 10 s per try) until a greeting comes
    /// through every frontend; retries with other ports when one was taken.
    ///
    /// # Panics
    /// haproxy does not start in three tries.
    #[must_use]
    pub fn start(node_a: SocketAddr, node_b: SocketAddr, source: Ipv4Addr) -> Self {
        let template = std::fs::read_to_string(peers_dir().join("haproxy.cfg.in")).expect("haproxy.cfg.in");
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new().prefix("ftp-interop-haproxy-").tempdir().expect("tempdir");
            let (port_a, port_b, port_any) = (crate::free_port(), crate::free_port(), crate::free_port());
            let config = template
                .replace("@PORT_A@", &port_a.to_string())
                .replace("@PORT_B@", &port_b.to_string())
                .replace("@PORT_ANY@", &port_any.to_string())
                .replace("@NODE_A@", &node_a.to_string())
                .replace("@NODE_B@", &node_b.to_string())
                .replace("@SOURCE@", &source.to_string());
            let path = dir.path().join("haproxy.cfg");
            std::fs::write(&path, config).expect("write haproxy.cfg");
            let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("log file");
            let child = Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start haproxy");
            let mut haproxy = Self { child, port_a, port_b, port_any, dir };
            if haproxy.ready() {
                return haproxy;
            }
            last = haproxy.log();
        }
        panic!("haproxy did not start:\n{last}");
    }

    /// The frontend to node A (`send-proxy`, PROXY protocol version 1).
    #[must_use]
    pub fn port_a(&self) -> u16 {
        self.port_a
    }

    /// The frontend to node B (`send-proxy-v2`, version 2).
    #[must_use]
    pub fn port_b(&self) -> u16 {
        self.port_b
    }

    /// The frontend to both nodes: node A while it is up, node B otherwise.
    #[must_use]
    pub fn port_any(&self) -> u16 {
        self.port_any
    }

    /// What haproxy wrote (its warnings, health check changes).
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    /// Whether every frontend passes a greeting within 10 s (false as soon
    /// as haproxy exits).
    fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in [self.port_a, self.port_b, self.port_any] {
            loop {
                if self.child.try_wait().ok().flatten().is_some() {
                    return false;
                }
                if greeting(port).is_some_and(|g| g.starts_with("220")) {
                    break;
                }
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        true
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line a server sends on 127.0.0.1:`port` (within 5 s), after
/// which the connection is closed with `QUIT`.
#[must_use]
pub fn greeting(port: u16) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 512 && !line.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => break,
        }
    }
    let _ = stream.write_all(b"QUIT\r\n");
    (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned())
}
