//! Issue 19 (scale-out), through the real binary: two `ftpkit serve` nodes
//! on one SeaweedFS bucket (`--storage s3://...`, tests/peers/seaweedfs.sh)
//! behind HAProxy in TCP mode (tests/peers/haproxy.cfg.in: `send-proxy` to
//! node A, `send-proxy-v2` to node B, and a frontend to both with health
//! checks), every address on loopback:
//!
//! - HAProxy listens on 127.0.0.1 and connects to the nodes from
//!   127.0.0.9, the one address the nodes trust for the PROXY protocol;
//! - node A listens on 127.0.0.11, node B on 127.0.0.12, each advertising
//!   its own address and passive range (`--passive-address`,
//!   `--passive-ports`), so passive data connections go straight to the
//!   node (README "Running a cluster", the first layout; the clients use
//!   PASV, whose 227 names the node);
//! - the clients connect from addresses of their own (curl 127.0.0.2,
//!   ftplib 127.0.0.3, lftp 127.0.0.4; ftpkit's client from 127.0.0.1), so
//!   a node that took the balancer's address for the client's would refuse
//!   their data connections (SECURITY.md D3), and the nodes' logs must name
//!   the clients' addresses for the logins.
//!
//! Skipped with a notice without weed, haproxy, curl, python3, lftp or
//! openssl; failed instead under `FTP_INTEROP_REQUIRED=1`. Every wait is
//! bounded; SeaweedFS, HAProxy and the nodes are killed when a test ends,
//! passed or failed (their guards' `Drop`).

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ftp_interop::cluster::{AWS_ENV, Haproxy, SeaweedFs, have_haproxy};
use ftp_interop::data::{sha256_file, write_pseudo_random_file};
use ftp_interop::{TlsFiles, have_program, run};
use support::*;

/// The address HAProxy connects to the nodes from.
const BALANCER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);
const NODE_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
const NODE_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 12);
const USER: &str = "alice";
const PASSWORD: &str = "pw";

/// SeaweedFS, two nodes on its bucket and HAProxy in front of them; the
/// fields drop in order, HAProxy and the nodes before the store.
struct Cluster {
    haproxy: Haproxy,
    a: Served,
    b: Served,
    _weed: SeaweedFs,
    _tls: Option<TlsFiles>,
    work: tempfile::TempDir,
}

/// `count` passive ports starting at a port that was free, twice, the two
/// ranges apart (one per node).
fn passive_ranges(count: u16) -> [(u16, u16); 2] {
    for _ in 0..100 {
        let low = ftp_interop::free_port();
        if low < 60_000 && low.checked_add(2 * count).is_some() {
            return [(low, low + count - 1), (low + count, low + 2 * count - 1)];
        }
    }
    panic!("no room for passive ranges");
}

/// Whether the programs every client test needs are here (a skip notice,
/// or a failure under `FTP_INTEROP_REQUIRED=1`, for the first missing).
fn have_peers(programs: &[&str]) -> bool {
    have_haproxy() && programs.iter().all(|p| have_program(p))
}

/// Starts SeaweedFS with `bucket`, two nodes serving it (with the same
/// certificate when `tls`, FTPS optional for the clients) and HAProxy in
/// front; `extra` goes to both nodes. `None` (skipped) without weed.
fn cluster(bucket: &str, tls: bool, extra: &[&str]) -> Option<Cluster> {
    let weed = SeaweedFs::start(bucket)?;
    let tls = if tls { Some(TlsFiles::generate()?) } else { None };
    let work = tempfile::tempdir().unwrap();
    let storage = format!("s3://{bucket}/ftp");
    let trust = format!("{BALANCER}/32");
    let ranges = passive_ranges(20);
    let node = |ip: Ipv4Addr, (low, high): (u16, u16)| {
        let listen = format!("{ip}:0");
        let passive_address = ip.to_string();
        let passive_ports = format!("{low}-{high}");
        let mut args = vec!["--listen", &listen, "--storage", &storage, "--s3-endpoint", weed.endpoint()];
        args.extend(["--s3-allow-http", "--user", "alice:pw:rw", "--log-format", "json"]);
        args.extend(["--proxy-protocol-from", &trust, "--passive-address", &passive_address]);
        args.extend(["--passive-ports", &passive_ports]);
        let (cert, key);
        if let Some(files) = &tls {
            (cert, key) = (files.cert().display().to_string(), files.key().display().to_string());
            args.extend(["--tls-cert", &cert, "--tls-key", &key]);
        }
        args.extend(extra);
        args.extend(run_as_root());
        Served::start_with_env(work.path(), &args, &AWS_ENV)
    };
    let a = node(NODE_A, ranges[0]);
    let b = node(NODE_B, ranges[1]);
    let address = |s: &Served| s.addr.parse::<SocketAddr>().expect("node address");
    let haproxy = Haproxy::start(address(&a), address(&b), BALANCER);
    Some(Cluster { haproxy, a, b, _weed: weed, _tls: tls, work })
}

impl Cluster {
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// The ends of both nodes' logs and haproxy's, for a failure message.
    fn logs(&self) -> String {
        format!("node A:\n{}\nnode B:\n{}\nhaproxy:\n{}", tail(&self.a.log()), tail(&self.b.log()), self.haproxy.log())
    }

    /// Checks that `name` is not in the bucket any more (NLST through node B).
    fn assert_gone(&self, name: &str) {
        let listing = curl("127.0.0.2", false, &["-l", &format!("ftp://127.0.0.1:{}/", self.haproxy.port_b())]);
        assert!(!text(&listing.stdout).lines().any(|l| l.trim() == name), "{name} is still listed: {}", self.logs());
    }
}

/// The last 30 lines of `log`.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The client addresses the `login` events of a JSON log name, with the
/// user (ftp_tokio::events: `login` carries `session`, `peer`, `user`).
fn logins(log: &str) -> Vec<(IpAddr, String)> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["fields"]["message"] == "login")
        .filter_map(|event| {
            let peer = event["fields"]["peer"].as_str()?.parse::<SocketAddr>().ok()?;
            Some((peer.ip(), event["fields"]["user"].as_str()?.to_owned()))
        })
        .collect()
}

fn logged_in_from(served: &Served, ip: Ipv4Addr, user: &str) -> bool {
    logins(&served.log()).iter().any(|(peer, name)| *peer == IpAddr::V4(ip) && name == user)
}

/// Whether the log has a completed download of `path` of `bytes` bytes.
fn downloaded(served: &Served, path: &str, bytes: u64) -> bool {
    served.log().lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).any(|event| {
        let f = &event["fields"];
        f["message"] == "transfer"
            && f["direction"] == "download"
            && f["path"] == path
            && f["result"] == "completed"
            && f["bytes"] == bytes
    })
}

/// curl's options for PASV to the address the 227 names (the node's; curl
/// takes the control connection's by default since 7.74).
const CURL_PASV: [&str; 2] = ["--disable-epsv", "--no-ftp-skip-pasv-ip"];

/// Runs curl from `from`; PASV to the node, FTPS when `tls`.
fn curl(from: &str, tls: bool, args: &[&str]) -> Output {
    let mut command = Command::new("curl");
    command.args(["-s", "-S", "--max-time", "60", "--interface", from]).args(CURL_PASV);
    command.args(["-u", &format!("{USER}:{PASSWORD}")]);
    if tls {
        command.args(["--ssl-reqd", "-k"]);
    }
    let out = run(command.args(args), Duration::from_secs(90));
    assert!(out.status.success(), "curl {args:?} failed ({}):\n{}", out.status, text(&out.stderr));
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// One client's round trip through the balancer: upload through node A's
/// frontend, list and download through node B's (the bytes compared),
/// delete through node A's, then the file is gone.
fn round_trip(cluster: &Cluster, client: Client, tls: bool, seed: u64) {
    let name = format!("{}-{}.bin", client.name(), if tls { "ftps" } else { "ftp" });
    let local = cluster.path(&format!("up-{name}"));
    let digest = write_pseudo_random_file(&local, seed, (1 << 20) + seed * 4099);
    let down = cluster.path(&format!("down-{name}"));
    let (pa, pb) = (cluster.haproxy.port_a(), cluster.haproxy.port_b());
    match client {
        Client::Curl => {
            let url = |port: u16, file: &str| format!("ftp://127.0.0.1:{port}/{file}");
            curl("127.0.0.2", tls, &["-T", path(&local), &url(pa, &name)]);
            let listing = curl("127.0.0.2", tls, &["-l", &url(pb, "")]);
            assert!(text(&listing.stdout).lines().any(|l| l.trim() == name), "curl NLST: {}", text(&listing.stdout));
            curl("127.0.0.2", tls, &["-o", path(&down), &url(pb, &name)]);
            curl("127.0.0.2", tls, &["-Q", &format!("DELE {name}"), "-o", "/dev/null", &url(pa, "")]);
        }
        Client::Ftplib => {
            let out = run(
                Command::new("python3").arg("-c").arg(FTPLIB).args([
                    USER,
                    PASSWORD,
                    &pa.to_string(),
                    &pb.to_string(),
                    if tls { "1" } else { "0" },
                    &name,
                    path(&local),
                    path(&down),
                ]),
                Duration::from_secs(120),
            );
            assert!(
                out.status.success(),
                "ftplib failed ({}):\n{}\n{}\n{}",
                out.status,
                text(&out.stdout),
                text(&out.stderr),
                cluster.logs()
            );
        }
        Client::Lftp => {
            let security = if tls {
                "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; \
                 set ssl:verify-certificate no;"
            } else {
                "set ftp:ssl-allow no;"
            };
            let open = |port: u16| format!("open -u {USER},{PASSWORD} -p {port} ftp://127.0.0.1;");
            let script = format!(
                "set cmd:fail-exit yes; set net:max-retries 2; set net:timeout 20; set net:reconnect-interval-base 1; \
                 set xfer:clobber on; set ftp:passive-mode yes; set ftp:prefer-epsv no; \
                 set net:socket-bind-ipv4 127.0.0.4; {security} \
                 {} put {} -o {name}; close; {} cls -1; get {name} -o {}; close; {} rm {name}",
                open(pa),
                path(&local),
                open(pb),
                path(&down),
                open(pa),
            );
            let out = run(Command::new("lftp").arg("-c").arg(&script), Duration::from_secs(120));
            assert!(
                out.status.success(),
                "lftp failed ({}):\n{}\n{}\n{}",
                out.status,
                text(&out.stdout),
                text(&out.stderr),
                cluster.logs()
            );
            assert!(text(&out.stdout).lines().any(|l| l.trim() == name), "lftp cls: {}", text(&out.stdout));
        }
        Client::Ftpkit => {
            let scheme = if tls { "ftps" } else { "ftp" };
            let url = |port: u16, file: &str| format!("{scheme}://{USER}:{PASSWORD}@127.0.0.1:{port}/{file}");
            let mut conn = vec!["--disable-epsv", "--pasv-address-policy", "trust"];
            if tls {
                conn.push("--insecure");
            }
            let ftpkit = |args: &[&str]| {
                let out = run(
                    Command::new(FTPKIT).current_dir(cluster.work.path()).args(args).args(&conn),
                    Duration::from_secs(90),
                );
                assert!(
                    out.status.success(),
                    "ftpkit {args:?} failed ({}):\n{}\n{}",
                    out.status,
                    text(&out.stderr),
                    cluster.logs()
                );
                out
            };
            ftpkit(&["put", path(&local), &url(pa, &name)]);
            let listing = ftpkit(&["ls", &url(pb, "")]);
            assert!(text(&listing.stdout).contains(&name), "ftpkit ls: {}", text(&listing.stdout));
            ftpkit(&["get", &url(pb, &name), "-o", path(&down)]);
            ftpkit(&["rm", &url(pa, &name)]);
        }
    }
    assert_eq!(sha256_file(&down), digest, "{name}: node B serves the bytes stored through node A");
    cluster.assert_gone(&name);
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Curl,
    Ftplib,
    Lftp,
    Ftpkit,
}

impl Client {
    const ALL: [Self; 4] = [Self::Curl, Self::Ftplib, Self::Lftp, Self::Ftpkit];

    fn name(self) -> &'static str {
        match self {
            Self::Curl => "curl",
            Self::Ftplib => "ftplib",
            Self::Lftp => "lftp",
            Self::Ftpkit => "ftpkit",
        }
    }

    /// The address the client connects from.
    fn source(self) -> Ipv4Addr {
        match self {
            Self::Curl => Ipv4Addr::new(127, 0, 0, 2),
            Self::Ftplib => Ipv4Addr::new(127, 0, 0, 3),
            Self::Lftp => Ipv4Addr::new(127, 0, 0, 4),
            Self::Ftpkit => Ipv4Addr::LOCALHOST,
        }
    }
}

/// Python's ftplib from 127.0.0.3, PASV (its default for IPv4): STOR
/// through node A, NLST and RETR through node B, DELE through node A. Over
/// FTPS (`FTP_TLS`, `prot_p()`) each data connection resumes its control
/// connection's TLS session, as the nodes require (SECURITY.md L6);
/// ftplib alone does not (cpython #63699), hence the subclass.
const FTPLIB: &str = r#"
import ftplib, ssl, sys
user, password, port_a, port_b, tls, name, local, out = sys.argv[1:9]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class Resuming(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
def session(port):
    if tls == "1":
        f = Resuming(context=ctx, timeout=30, source_address=("127.0.0.3", 0))
    else:
        f = ftplib.FTP(timeout=30, source_address=("127.0.0.3", 0))
    # The 227's address is the node's (ftplib takes the control
    # connection's by default since Python 3.6.11).
    f.trust_server_pasv_ipv4_address = True
    f.connect("127.0.0.1", int(port))
    f.login(user, password)
    if tls == "1":
        f.prot_p()
    return f
up = session(port_a)
with open(local, "rb") as src:
    up.storbinary("STOR " + name, src)
up.quit()
down = session(port_b)
assert name in down.nlst(), down.nlst()
with open(out, "wb") as dst:
    down.retrbinary("RETR " + name, dst.write)
down.quit()
rm = session(port_a)
rm.delete(name)
rm.quit()
"#;

/// Issue 19, "the whole interop matrix (curl, ftplib, lftp as clients;
/// ftpkit's own client) runs against ftpkit-on-SeaweedFS through HAProxy,
/// in plain and FTPS": each client uploads through the `send-proxy`
/// frontend (node A, PROXY v1), lists and downloads through the
/// `send-proxy-v2` one (node B, PROXY v2), compares the bytes and deletes
/// through node A, over plain FTP (RFC 959) and explicit FTPS (RFC 4217,
/// AUTH TLS, PROT P); passive data connections go straight to the node
/// named in the 227 (RFC 959 4.1.2 PASV). Both nodes' logs name each
/// client's own address for its logins (the carried PROXY address,
/// SECURITY.md C6), never the balancer's.
#[test]
fn issue19_interop_matrix_through_haproxy_on_seaweedfs() {
    if !have_peers(&["curl", "python3", "lftp"]) {
        return;
    }
    let Some(cluster) = cluster("matrix", true, &[]) else { return };
    let started = Instant::now();
    for (i, client) in Client::ALL.into_iter().enumerate() {
        for tls in [false, true] {
            let seed = 2 * i as u64 + u64::from(tls) + 1;
            round_trip(&cluster, client, tls, seed);
            eprintln!("{} {}: done at {:?}", client.name(), if tls { "ftps" } else { "ftp" }, started.elapsed());
        }
    }
    for client in Client::ALL {
        for (node, served) in [("A", &cluster.a), ("B", &cluster.b)] {
            assert!(
                logged_in_from(served, client.source(), USER),
                "node {node} has no login of {USER} from {} ({}): {:?}\n{}",
                client.source(),
                client.name(),
                logins(&served.log()),
                cluster.logs()
            );
        }
    }
    for served in [&cluster.a, &cluster.b] {
        assert!(
            !logins(&served.log()).iter().any(|(peer, _)| *peer == IpAddr::V4(BALANCER)),
            "a login under the balancer's address: {}",
            cluster.logs()
        );
    }
}

/// Waits (at most `limit`) for `child` to exit; its status, or `None`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A curl download running in the background, killed when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 19, "a node drained with SIGTERM finishes its transfers while the
/// balancer sends new sessions elsewhere" (SECURITY.md C5 under
/// `--close-listener-on-stop`): a download paced by the server (a user
/// with `download_rate`, so the transfer runs on the node, not out of the
/// socket buffers) through the frontend to both nodes runs on node A
/// (HAProxy `balance first`); node A
/// gets SIGTERM; its listener closes at once (a connect to it is refused),
/// so new sessions through the same frontend land on node B (HAProxy's
/// health check fails, a refused connect is redispatched); the download
/// completes with the right bytes, and node A exits after it, within the
/// grace period, with nothing cut.
#[test]
fn issue19_drained_node_finishes_its_transfer_while_new_sessions_go_elsewhere() {
    if !have_peers(&["curl"]) {
        return;
    }
    // 12 MiB at 2 MiB/s: about 6 s to drain around.
    let users = tempfile::tempdir().unwrap();
    add_user(users.path(), "users.toml", "slow", "pw");
    let file = users.path().join("users.toml");
    let mut toml = std::fs::read_to_string(&file).unwrap();
    toml.push_str("download_rate = \"2M\"\n");
    std::fs::write(&file, toml).unwrap();
    let extra = ["--close-listener-on-stop", "--shutdown-grace", "60", "--users-file", path(&file)];
    let Some(mut cluster) = cluster("drain", false, &extra) else { return };
    let any = cluster.haproxy.port_any();
    let big = cluster.path("big.bin");
    let size: u64 = 12 << 20;
    let digest = write_pseudo_random_file(&big, 77, size);
    curl("127.0.0.2", false, &["-T", path(&big), &format!("ftp://127.0.0.1:{}/big.bin", cluster.haproxy.port_a())]);

    let down = cluster.path("big.down");
    let mut download = Background(
        Command::new("curl")
            .args(["-s", "-S", "--max-time", "120", "--interface", "127.0.0.2"])
            .args(CURL_PASV)
            .args(["-u", "slow:pw", "-o", path(&down)])
            .arg(format!("ftp://127.0.0.1:{any}/big.bin"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start curl"),
    );
    let deadline = Instant::now() + WAIT;
    while std::fs::metadata(&down).map_or(0, |m| m.len()) < 1 << 20 {
        assert!(Instant::now() < deadline, "the download did not start: {}", cluster.logs());
        assert!(download.0.try_wait().unwrap().is_none(), "curl ended early: {}", cluster.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    let curl_ip = Ipv4Addr::new(127, 0, 0, 2);
    assert!(logged_in_from(&cluster.a, curl_ip, "slow"), "the download is on node A: {}", cluster.logs());
    assert!(!logged_in_from(&cluster.b, curl_ip, "slow"), "not on node B: {}", cluster.logs());

    cluster.a.signal("TERM");
    cluster.a.wait_log("ftpkit: stopping: listener closed", 1);
    // The listener closes as the drain starts (the line comes just
    // before): within moments a connect to node A is refused.
    let a_addr: SocketAddr = cluster.a.addr.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = TcpStream::connect_timeout(&a_addr, Duration::from_secs(5));
        if attempt.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused) {
            break;
        }
        assert!(Instant::now() < deadline, "node A still accepts while draining: {attempt:?}");
        std::thread::sleep(Duration::from_millis(20));
    }

    // New sessions through the frontend to both nodes: node B serves them.
    let b_before = logins(&cluster.b.log()).len();
    for _ in 0..3 {
        let listing = curl("127.0.0.3", false, &["-l", &format!("ftp://127.0.0.1:{any}/")]);
        assert!(text(&listing.stdout).lines().any(|l| l.trim() == "big.bin"), "{}", text(&listing.stdout));
    }
    assert!(logins(&cluster.b.log()).len() >= b_before + 3, "node B took the new sessions: {}", cluster.logs());
    let new_ip = Ipv4Addr::new(127, 0, 0, 3);
    assert!(!logged_in_from(&cluster.a, new_ip, USER), "node A took a new session: {}", cluster.logs());
    assert!(logged_in_from(&cluster.b, new_ip, USER), "node B took the new sessions: {}", cluster.logs());
    assert!(download.0.try_wait().unwrap().is_none(), "the download is still running (too fast to test the drain)");
    assert!(cluster.a.child.try_wait().unwrap().is_none(), "node A waits for its transfer: {}", cluster.logs());
    assert!(!downloaded(&cluster.a, "/big.bin", size), "node A is still sending: {}", cluster.logs());

    let status = wait_exit(&mut download.0, Duration::from_secs(90)).expect("the download ends within 90 s");
    let mut stderr = String::new();
    if let Some(mut pipe) = download.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert!(status.success(), "the download through the draining node failed ({status}): {stderr}\n{}", cluster.logs());
    assert_eq!(sha256_file(&down), digest, "the drained node sent every byte");

    let exit = wait_exit(&mut cluster.a.child, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("node A did not exit after its transfer: {}", cluster.logs()));
    assert!(exit.success(), "node A: {exit}: {}", cluster.logs());
    assert!(downloaded(&cluster.a, "/big.bin", size), "node A completed the download first: {}", cluster.logs());
    assert!(!cluster.a.log().contains("cut at the end of the grace period"), "{}", cluster.logs());
}
