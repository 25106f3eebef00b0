//! Issue 19: HAProxy (TCP mode) in front of two of our servers serving one
//! directory, each trusting the balancer's 127.0.0.1 for the PROXY
//! protocol: node A behind `send-proxy` (version 1), node B behind
//! `send-proxy-v2` (version 2), one frontend each
//! (`tests/peers/haproxy.cfg.in`, started by `ftp_interop::cluster`).
//! Clients upload through the balancer to node A and download through it
//! from node B, over FTP and FTPS, with
//! passive data connections straight to the nodes (README "Running a
//! cluster"). The clients connect from 127.0.0.2 and 127.0.0.3 while the
//! balancer connects from 127.0.0.1: a node that took the balancer's address
//! for the client's would refuse their data connections (SECURITY.md D3),
//! so every transfer that completes shows the carried address in use.
//! Skipped with a notice without haproxy or curl; failed instead under
//! `FTP_INTEROP_REQUIRED=1`. Every wait is bounded.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ftp_interop::cluster::{Haproxy, have_haproxy};
use ftp_interop::data::{sha256_file, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, USER, have_program, run};

/// A raw control connection from 127.0.0.1 through a frontend.
struct Control {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Control {
    fn connect(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self { reader: BufReader::new(stream.try_clone()?), stream })
    }

    /// The next reply's last line (multi-line replies skipped to their end).
    fn reply(&mut self) -> std::io::Result<String> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return Ok(line);
            }
        }
    }

    fn command(&mut self, line: &str) -> std::io::Result<String> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }
}

/// Two nodes serving one directory, trusting the balancer (127.0.0.1) for
/// the PROXY protocol, and haproxy in front; `None` (skipped) without
/// haproxy or curl.
fn cluster(tls: bool) -> Option<(OurServer, OurServer, Haproxy)> {
    if !have_haproxy() || !have_program("curl") {
        return None;
    }
    let trust = |o: &mut ftp_tokio::server::ServerOptions| {
        o.proxy_protocol_from = vec!["127.0.0.1/32".parse().expect("network")];
    };
    let start = |tweak: &dyn Fn(&mut ftp_tokio::server::ServerOptions)| {
        if tls { OurServer::start_tls(tweak) } else { OurServer::start(tweak) }
    };
    let a = start(&trust);
    let shared = a.root().to_path_buf();
    let b = start(&|o| {
        trust(o);
        o.root.clone_from(&shared);
    });
    let haproxy = Haproxy::start(a.addr(), b.addr(), std::net::Ipv4Addr::LOCALHOST);
    Some((a, b, haproxy))
}

fn curl(from: &str, tls: bool, args: &[&str]) -> Output {
    let mut command = Command::new("curl");
    command.args(["-s", "-S", "--max-time", "60", "--interface", from, "-u", &format!("{USER}:{PASSWORD}")]);
    if tls {
        command.args(["--ssl-reqd", "-k"]);
    }
    let out = run(command.args(args), Duration::from_secs(90));
    assert!(out.status.success(), "curl {args:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Upload through the balancer to node A, download through it from node
/// B, from `from`, with curl; EPSV sends the data connections straight to
/// the nodes (on loopback the balancer's host is theirs).
fn curl_round_trip(haproxy: &Haproxy, shared: &Path, from: &str, tls: bool, name: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let local = scratch.path().join("up.bin");
    let digest = write_pseudo_random_file(&local, 19, 3 << 20);
    curl(from, tls, &["-T", path(&local), &format!("ftp://127.0.0.1:{}/{name}", haproxy.port_a())]);
    assert_eq!(sha256_file(&shared.join(name)), digest, "uploaded through node A");
    let down: PathBuf = scratch.path().join("down.bin");
    curl(from, tls, &["-o", path(&down), &format!("ftp://127.0.0.1:{}/{name}", haproxy.port_b())]);
    assert_eq!(sha256_file(&down), digest, "downloaded through node B");
}

/// Issue 19 ("PROXY v1 and v2 from a trusted source give the real client
/// address"): curl from 127.0.0.2 and Python's ftplib (PASV) from
/// 127.0.0.3 upload through haproxy's `send-proxy` frontend to node A and
/// download the same bytes through the `send-proxy-v2` frontend from node
/// B, their data connections straight to the nodes from their own address.
#[test]
fn issue19_haproxy_send_proxy_v1_and_v2_plain_ftp() {
    let Some((a, _b, haproxy)) = cluster(false) else { return };
    curl_round_trip(&haproxy, a.root(), "127.0.0.2", false, "curl.bin");
    let script = r#"
import ftplib, io, sys
user, password, port_a, port_b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = bytes(range(256)) * 4096
up = ftplib.FTP(timeout=30, source_address=("127.0.0.3", 0))
up.connect("127.0.0.1", port_a)
up.login(user, password)
up.storbinary("STOR ftplib.bin", io.BytesIO(data))
up.quit()
down = ftplib.FTP(timeout=30, source_address=("127.0.0.3", 0))
down.connect("127.0.0.1", port_b)
down.login(user, password)
got = io.BytesIO()
down.retrbinary("RETR ftplib.bin", got.write)
down.quit()
assert got.getvalue() == data, "different bytes through node B"
"#;
    let out = run(
        Command::new("python3").arg("-c").arg(script).args([
            USER,
            PASSWORD,
            &haproxy.port_a().to_string(),
            &haproxy.port_b().to_string(),
        ]),
        Duration::from_secs(90),
    );
    assert!(
        out.status.success(),
        "ftplib through haproxy failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::metadata(a.root().join("ftplib.bin")).expect("uploaded").len(), 256 * 4096);
}

/// Issue 19, over FTPS (RFC 4217, curl `--ssl-reqd`): the PROXY header
/// comes before the TLS handshake of `AUTH TLS`, and protected data
/// connections go straight to the nodes.
#[test]
fn issue19_haproxy_send_proxy_v1_and_v2_ftps() {
    let Some((a, _b, haproxy)) = cluster(true) else { return };
    curl_round_trip(&haproxy, a.root(), "127.0.0.2", true, "tls.bin");
}

/// Issue 19 ("a spoofed PORT to another address through the balancer is
/// still refused"; SECURITY.md D1): through either frontend, PORT and
/// EPRT naming another host than the client's own (127.0.0.1, carried in
/// the header) are refused 504, while its own address is accepted.
#[test]
fn issue19_haproxy_spoofed_port_is_refused() {
    let Some((_a, _b, haproxy)) = cluster(false) else { return };
    for port in [haproxy.port_a(), haproxy.port_b()] {
        let mut ftp = Control::connect(port).expect("connect to haproxy");
        assert!(ftp.reply().expect("greeting").starts_with("220"));
        assert!(ftp.command(&format!("USER {USER}")).expect("USER").starts_with("331"));
        assert!(ftp.command(&format!("PASS {PASSWORD}")).expect("PASS").starts_with("230"));
        for spoofed in ["PORT 127,0,0,9,200,10", "EPRT |1|127.0.0.2|51210|", "PORT 10,0,0,1,200,10"] {
            let reply = ftp.command(spoofed).expect("reply");
            assert!(reply.starts_with("504"), "{spoofed} through port {port}: {reply}");
        }
        let reply = ftp.command("PORT 127,0,0,1,200,10").expect("reply");
        assert!(reply.starts_with("200"), "its own address: {reply}");
        let _ = ftp.command("QUIT");
    }
}
