//! FTPS beyond `AUTH TLS`: implicit FTPS (TLS from the first byte) with
//! curl's `ftps://` and a Python ftplib wrapper, and clearing TLS again
//! with `CCC` and `REIN` (RFC 4217 sections 12.3 and 13), checked with
//! Python's ftplib. Each test skips with a notice when its client is
//! missing, and fails instead when `FTP_INTEROP_REQUIRED=1`. Every client
//! call is bounded by a timeout.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ftp_tokio::background::Background;
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{Server, ServerOptions, User};

/// Whether `program` can run; panics when it cannot and peers are required.
fn peer(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"),
            "{program} is required (FTP_INTEROP_REQUIRED=1)"
        );
        eprintln!("notice: {program} not found; skipping this interop test");
    }
    found
}

/// A MemoryFs with `pub/hello.txt` and a 3 MB `pub/big.bin`.
fn fixture() -> (MemoryFs, Vec<u8>) {
    let fs = MemoryFs::new();
    fs.write_file("pub/hello.txt", b"hello ftps\n").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs.write_file("pub/big.bin", &big).unwrap();
    (fs, big)
}

/// Starts a TLS server over `fs` (self-signed certificate, `alice:secret`
/// writable) in its own runtime thread, adjusted by `tweak`.
fn start(fs: &MemoryFs, tweak: impl FnOnce(&mut ServerOptions)) -> Background {
    let mut options = ServerOptions::with_storage("127.0.0.1:0".parse().unwrap(), Arc::new(fs.clone()));
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
    tweak(&mut options);
    Background::start(options).unwrap()
}

fn curl(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new("curl").args(["-s", "-S", "--max-time", "30"]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout)
}

fn python(script: &str, port: u16) {
    let out = Command::new("timeout").args(["60", "python3", "-c", script, &port.to_string()]).output().unwrap();
    assert!(
        out.status.success(),
        "python: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

/// Implicit FTPS (the `ftps://` scheme): curl handshakes at once, sends
/// PBSZ 0 and PROT P (RFC 4217 9), and its TLS data connections resume the
/// control session, as the server requires by default (SECURITY.md L6).
#[test]
fn rfc4217_implicit_ftps_with_curl() {
    if !peer("curl") {
        return;
    }
    let (fs, big) = fixture();
    let addr_server = start(&fs, |o| o.implicit_tls = true);
    let addr = addr_server.addr();
    let url = format!("ftps://{addr}/pub/hello.txt");
    assert_eq!(curl(&["-k", &url]), (0, b"hello ftps\n".to_vec()));
    let (rc, got) = curl(&["-k", &format!("ftps://{addr}/pub/big.bin")]);
    assert_eq!(rc, 0);
    assert!(got == big, "the 3 MB file arrives intact");
    let (rc, names) = curl(&["-k", "--list-only", &format!("ftps://{addr}/pub/")]);
    let names = String::from_utf8(names).unwrap();
    let names: Vec<&str> = names.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!((rc, names), (0, vec!["big.bin", "hello.txt"]));
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), b"implicitly secret").unwrap();
    let (rc, _) =
        curl(&["-k", "-u", "alice:secret", "-T", src.path().to_str().unwrap(), &format!("ftps://{addr}/pub/up.txt")]);
    assert_eq!(rc, 0);
    assert_eq!(fs.read_file("pub/up.txt").as_deref(), Some(&b"implicitly secret"[..]));
    // A plaintext client on the implicit port gets no FTP greeting.
    let (rc, _) = curl(&["--max-time", "5", &format!("ftp://{addr}/pub/hello.txt")]);
    assert_ne!(rc, 0);
}

/// Python ftplib has no implicit mode; this wrapper wraps the socket before
/// the greeting. `FTP_TLS` does not resume the control session on data
/// connections (cpython #63699), so the server runs with the L6 check off.
const PY_IMPLICIT: &str = r#"
import ftplib, io, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class Implicit(ftplib.FTP_TLS):
    def connect(self, host, port, timeout=20):
        self.host, self.port, self.timeout = host, port, timeout
        sock = socket.create_connection((host, port), timeout)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=host)
        self.file = self.sock.makefile('r', encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome
f = Implicit(context=ctx, timeout=20)
assert f.connect('127.0.0.1', int(sys.argv[1])).startswith('220')
f.login('alice', 'secret')
f.prot_p()
buf = io.BytesIO(); f.retrbinary('RETR pub/hello.txt', buf.write); assert buf.getvalue() == b'hello ftps\n', buf.getvalue()
f.storbinary('STOR pub/py.bin', io.BytesIO(b'z' * 70000))
assert f.size('pub/py.bin') == 70000
try:
    f.sendcmd('AUTH TLS')
    raise SystemExit('AUTH on an implicit connection must fail')
except ftplib.error_perm as e:
    assert str(e).startswith('503'), e
f.quit()
print('ok')
"#;

/// Implicit FTPS with Python's ftplib wrapped: TLS before the greeting,
/// PBSZ/PROT P, protected transfers both ways; `AUTH` on an implicit
/// connection is a bad sequence (503).
#[test]
fn rfc4217_implicit_ftps_with_python() {
    if !peer("python3") {
        return;
    }
    let (fs, _) = fixture();
    let addr_server = start(&fs, |o| {
        o.implicit_tls = true;
        o.session = o.session.clone().require_tls_resumption(false);
    });
    let addr = addr_server.addr();
    python(PY_IMPLICIT, addr.port());
    assert_eq!(fs.read_file("pub/py.bin").map(|b| b.len()), Some(70000));
}

const PY_CONNECT: &str = r#"
import ftplib, io, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=20)
f.connect('127.0.0.1', int(sys.argv[1]))
def plaintext(f):
    # SSLSocket.unwrap() (close_notify both ways) leaves an SSLSocket object
    # without TLS; ftplib.auth() refuses to run on it, so take a plain one.
    s = f.sock.unwrap()
    f.sock = socket.socket(fileno=s.detach())
    f.sock.settimeout(f.timeout)
    f.file = f.sock.makefile('r', encoding=f.encoding)
"#;

/// RFC 4217 section 12.3: after `CCC` the server sends close_notify, waits
/// for the client's, and the control connection goes on in plaintext on the
/// same TCP connection; the data protection (PROT P) stays in force
/// (section 6). Python's `FTP_TLS.ccc()` unwraps the socket, so a command
/// that works afterwards proves the server speaks plaintext.
#[test]
fn rfc4217_12_3_ccc_continues_in_plaintext() {
    if !peer("python3") {
        return;
    }
    let (fs, _) = fixture();
    let addr_server = start(&fs, |o| o.session = o.session.clone().allow_ccc(true).require_tls_resumption(false));
    let addr = addr_server.addr();
    let script = format!(
        r#"{PY_CONNECT}
f.login('alice', 'secret')
f.prot_p()
assert f.ccc().startswith('200')
assert f.sock._sslobj is None, 'TLS was shut down both ways'
assert f.pwd() == '/', 'a plaintext command after CCC'
assert f.sendcmd('NOOP').startswith('200')
assert sorted(f.nlst('pub')) == ['big.bin', 'hello.txt'], 'data still protected (PROT P)'
f.quit()
print('ok')
"#
    );
    python(&script, addr.port());
}

/// RFC 4217 section 13: `REIN` on an explicit TLS connection answers 220
/// protected, then clears TLS like CCC; the client logs in again in
/// plaintext (USER/PASS), may REIN again, and may secure the same
/// connection again with AUTH TLS.
#[test]
fn rfc4217_13_rein_clears_tls_and_login_continues_in_plaintext() {
    if !peer("python3") {
        return;
    }
    let (fs, _) = fixture();
    let addr_server = start(&fs, |_| {});
    let addr = addr_server.addr();
    let script = format!(
        r#"{PY_CONNECT}
f.auth()
f.login('alice', 'secret')
assert f.pwd() == '/'
assert f.sendcmd('REIN').startswith('220')
plaintext(f)
f.login('alice', 'secret', secure=False)
assert f.pwd() == '/', 'logged in again in plaintext'
assert f.sendcmd('CWD pub').startswith('250')
assert f.sendcmd('REIN').startswith('220'), 'REIN in plaintext'
f.auth()
assert isinstance(f.sock, ssl.SSLSocket)
f.login('alice', 'secret')
assert f.pwd() == '/', 'REIN reset the working directory'
f.quit()
print('ok')
"#
    );
    python(&script, addr.port());
}

/// Reads TLS records one at a time from `tcp` into `conn` until the peer's
/// close_notify, never reading past it.
async fn read_until_close_notify(tcp: &mut tokio::net::TcpStream, conn: &mut rustls::ClientConnection) {
    use tokio::io::AsyncReadExt;
    for _ in 0..100 {
        let state = conn.process_new_packets().unwrap();
        let mut sink = [0u8; 1024];
        while let Ok(1..) = std::io::Read::read(&mut conn.reader(), &mut sink) {}
        if state.peer_has_closed() {
            return;
        }
        let mut record = vec![0u8; 5];
        tcp.read_exact(&mut record).await.unwrap();
        let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
        record.resize(5 + len, 0);
        tcp.read_exact(&mut record[5..]).await.unwrap();
        conn.read_tls(&mut &record[..]).unwrap();
    }
    panic!("no close_notify");
}

/// RFC 4217 section 12.3 and SECURITY.md L1: a client may send its
/// close_notify and its first plaintext command in one TCP segment. The
/// server reads the peer's TLS records one by one, so the command is not
/// swallowed by the TLS layer: it is answered, in plaintext.
#[tokio::test]
async fn rfc4217_12_3_command_right_behind_close_notify_is_answered() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), certified.key_pair.serialize_pem()).unwrap();
    let fs = MemoryFs::new();
    let mut options = ServerOptions::with_storage("127.0.0.1:0".parse().unwrap(), Arc::new(fs));
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: false }];
    options.tls = Some(ftp_tokio::tls::from_pem(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap());
    options.session = options.session.clone().allow_ccc(true);
    let server = Server::bind(options).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    let step = Duration::from_secs(30);

    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut line = String::new();
    let mut plain = BufReader::new(&mut tcp);
    tokio::time::timeout(step, plain.read_line(&mut line)).await.unwrap().unwrap();
    assert!(line.starts_with("220 "), "{line}");
    plain.get_mut().write_all(b"AUTH TLS\r\n").await.unwrap();
    line.clear();
    tokio::time::timeout(step, plain.read_line(&mut line)).await.unwrap().unwrap();
    assert!(line.starts_with("234 "), "{line}");
    drop(plain);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = ftp_tokio::tls::provider().unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio::time::timeout(step, connector.connect(name, tcp)).await.unwrap().unwrap();
    let mut tls = BufReader::new(tls);
    for (command, code) in [("USER alice", "331 "), ("PASS secret", "230 "), ("CCC", "200 ")] {
        tls.get_mut().write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
        tls.get_mut().flush().await.unwrap();
        line.clear();
        tokio::time::timeout(step, tls.read_line(&mut line)).await.unwrap().unwrap();
        assert!(line.starts_with(code), "{command}: {line}");
    }
    assert!(tls.buffer().is_empty());
    let (mut tcp, mut conn) = tls.into_inner().into_inner();
    conn.send_close_notify();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    out.extend_from_slice(b"PWD\r\n");
    tcp.write_all(&out).await.unwrap(); // close_notify and PWD together
    tokio::time::timeout(step, read_until_close_notify(&mut tcp, &mut conn)).await.unwrap();
    let mut plain = BufReader::new(tcp);
    line.clear();
    tokio::time::timeout(step, plain.read_line(&mut line)).await.unwrap().unwrap();
    assert_eq!(line, "257 \"/\" is the current directory\r\n");
}

/// SECURITY.md L9: a server-to-server (FXP) transfer under TLS is not set
/// up: after AUTH TLS, PBSZ and PROT P, PORT and EPRT naming another host
/// (127.0.0.2, not the control peer 127.0.0.1) are refused with 504 and
/// no connection is made (D1), and the session goes on: a protected
/// transfer works afterwards.
#[test]
fn sec_l9_fxp_under_tls_is_refused() {
    if !peer("python3") {
        return;
    }
    let (fs, _) = fixture();
    let server = start(&fs, |o| o.session = o.session.clone().require_tls_resumption(false));
    python(PY_FXP, server.addr().port());
}

const PY_FXP: &str = r#"
import ftplib, io, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=20)
f.connect('127.0.0.1', int(sys.argv[1]))
f.auth(); f.login('alice', 'secret'); f.prot_p()
for cmd in ['PORT 127,0,0,2,7,208', 'EPRT |1|127.0.0.2|2000|']:
    try:
        r = f.sendcmd(cmd)
        raise SystemExit('accepted a third-party data address: %s -> %s' % (cmd, r))
    except ftplib.error_perm as e:
        assert str(e).startswith('504'), (cmd, str(e))
out = io.BytesIO()
f.retrbinary('RETR pub/hello.txt', out.write)
assert out.getvalue() == b'hello ftps\n', out.getvalue()
f.quit()
print('ok')
"#;

/// SECURITY.md L6 with [`TlsResumption::SameClient`] under TLS 1.2
/// (session ids and tickets, not TLS 1.3 tickets): a client sharing one TLS
/// session cache between two control connections (rclone before 1.64) may
/// resume, on connection B's data connection, the session made on
/// connection A, when both are the same user from the same address; another
/// user may not (522), and by default ([`TlsResumption::ControlSession`])
/// neither may. Python's ssl, capped at TLS 1.2, passes the session by
/// hand.
#[test]
fn sec_l6_same_client_resumption_under_tls12() {
    use ftp_tokio::server::TlsResumption;
    if !peer("python3") {
        return;
    }
    let (fs, _) = fixture();
    let add_bob = |o: &mut ServerOptions| {
        o.users.push(User { name: "bob".into(), password: "pw".into(), writable: false });
    };
    let server = start(&fs, |o| {
        add_bob(o);
        o.tls_resumption = TlsResumption::SameClient;
    });
    python(&PY_SHARED_CACHE.replace("EXPECT_BOB", "False").replace("EXPECT_ALICE", "True"), server.addr().port());
    let server = start(&fs, add_bob);
    python(&PY_SHARED_CACHE.replace("EXPECT_BOB", "False").replace("EXPECT_ALICE", "False"), server.addr().port());
}

const PY_SHARED_CACHE: &str = r#"
import ftplib, io, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
shared = {}
class Shared(ftplib.FTP_TLS):
    # One session for every connection, as a client with one cache.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=shared.get('s', self.sock.session))
            shared.setdefault('s', conn.session)
            self.reused = conn.session_reused
        return conn, size
def session(user, password):
    f = Shared(context=ctx, timeout=20)
    f.connect('127.0.0.1', int(sys.argv[1]))
    f.auth(); f.login(user, password); f.prot_p()
    assert f.sock.version() == 'TLSv1.2', f.sock.version()
    return f
def fetch(f):
    out = io.BytesIO()
    try:
        f.retrbinary('RETR pub/hello.txt', out.write)
    except ftplib.error_perm as e:
        assert str(e).startswith('522'), str(e)
        return False
    except (ssl.SSLError, OSError):
        # The server ended the data handshake; its reply follows on the
        # control connection.
        try:
            raise SystemExit('refused without an error reply: %s' % f.getresp())
        except ftplib.error_perm as e:
            assert str(e).startswith('522'), str(e)
            return False
    assert out.getvalue() == b'hello ftps\n', out.getvalue()
    assert f.reused, 'the data connection did not resume'
    return True
a = session('alice', 'secret')
assert fetch(a), 'connection A resumes its own session'
b = session('alice', 'secret')
assert fetch(b) == EXPECT_ALICE, 'alice on a second connection'
c = session('bob', 'pw')
assert fetch(c) == EXPECT_BOB, 'bob offering alice\'s session'
for f in (a, b, c):
    f.quit()
print('ok')
"#;
