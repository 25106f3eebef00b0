//! What the tests that run the `ftpkit` binary share: a served `ftpkit
//! serve` with its banner and log, a plaintext control connection, users
//! added with `ftpkit passwd`, certificates made with `openssl`.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const FTPKIT: &str = env!("CARGO_BIN_EXE_ftpkit");

/// How long any one wait may take.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// `--run-as root` when the tests run as root (CI): `serve` refuses root
/// without it.
pub(crate) fn run_as_root() -> &'static [&'static str] {
    if nix::unistd::geteuid().is_root() { &["--run-as", "root"] } else { &[] }
}

pub(crate) fn ftpkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(FTPKIT).current_dir(cwd).args(args).stdin(Stdio::null()).output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `ftpkit serve`, killed when dropped; its stderr is collected.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) banner: String,
    pub(crate) stderr: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `ftpkit serve ARGS` in `dir` and reads its banner.
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Served {
        Self::start_with_env(dir, args, &[])
    }

    /// [`start`](Self::start) with `env` in the server's environment.
    pub(crate) fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let mut child = Command::new(FTPKIT)
            .current_dir(dir)
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let banner = rx.recv_timeout(WAIT).unwrap_or_default();
        let Some(addr) = banner.split("ftp://").nth(1).and_then(|r| r.split('/').next()).map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            panic!("no banner: {banner:?}; stderr: {}", stderr.lock().unwrap());
        };
        Served { child, addr, banner, stderr }
    }

    pub(crate) fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the stderr log holds `needle` `count` times.
    pub(crate) fn wait_log(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + WAIT;
        while self.log().matches(needle).count() < count {
            assert!(Instant::now() < deadline, "no {needle:?} (x{count}) in the log: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plaintext control connection.
pub(crate) struct Control {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Control {
    pub(crate) fn connect(addr: &str) -> Control {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut control = Control { stream, reader };
        let greeting = control.reply();
        assert!(greeting.starts_with("220"), "{greeting}");
        control
    }

    /// The next reply (the last line of a multi-line one).
    pub(crate) fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            assert!(!line.is_empty(), "connection closed");
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return line;
            }
        }
    }

    pub(crate) fn command(&mut self, line: &str) -> String {
        self.stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }

    /// USER and PASS; the final reply.
    pub(crate) fn login(&mut self, user: &str, password: &str) -> String {
        let reply = self.command(&format!("USER {user}"));
        if !reply.starts_with("331") {
            return reply;
        }
        self.command(&format!("PASS {password}"))
    }
}

/// Adds `name` with `password` to the users file `file` (`ftpkit passwd`).
pub(crate) fn add_user(dir: &Path, file: &str, name: &str, password: &str) {
    let mut child = Command::new(FTPKIT)
        .current_dir(dir)
        .args(["passwd", name, "--users-file", file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ftpkit passwd: {}", text(&out.stderr));
}

/// Writes a fresh self-signed certificate and key (`openssl req`) to
/// `cert` and `key`; returns the certificate's PEM body.
pub(crate) fn make_cert(cert: &Path, key: &Path, name: &str) -> String {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={name}"), "-keyout", key.to_str().unwrap(), "-out", cert.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl req: {}", text(&out.stderr));
    pem_body(&std::fs::read_to_string(cert).unwrap())
}

/// The base 64 of the first PEM certificate in `text`, without line ends.
pub(crate) fn pem_body(text: &str) -> String {
    let begin = "-----BEGIN CERTIFICATE-----";
    let Some(start) = text.find(begin) else { return String::new() };
    let rest = &text[start + begin.len()..];
    let end = rest.find("-----END CERTIFICATE-----").unwrap_or(rest.len());
    rest[..end].split_whitespace().collect()
}
