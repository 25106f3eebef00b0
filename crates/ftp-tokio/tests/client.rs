//! The async client against our own server, in-process on loopback: every
//! operation, passive and active, plain and explicit FTPS, with the bytes
//! compared.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ftp_proto::listing::EntryKind;
use ftp_session::client::{ClientConfig, DataMode};
use ftp_tokio::background::Background;
use ftp_tokio::client::{Client, ClientError, ClientOptions, Security};
use ftp_tokio::server::{ServerOptions, User};

fn start(root: &Path, tls: bool) -> Background {
    start_with(root, tls, false)
}

fn start_with(root: &Path, tls: bool, implicit: bool) -> Background {
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    if tls {
        options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
        options.implicit_tls = implicit;
    }
    Background::start(options).unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pub")).unwrap();
    std::fs::write(dir.path().join("pub/hello world.txt"), b"hello ftp\n").unwrap();
    std::fs::write(dir.path().join("pub/big.bin"), pattern(5_000_000)).unwrap();
    dir
}

fn options(security: Security, mode: DataMode) -> ClientOptions {
    ClientOptions {
        security,
        insecure: true,
        config: ClientConfig::default().data_mode(mode),
        ..ClientOptions::default()
    }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f).await.expect("test timed out")
}

/// One full session: RFC 959 4.1 (every service command the client has),
/// RFC 3659 (SIZE, MDTM, MLSD, REST STREAM) and RFC 2428 (EPSV/EPRT).
async fn full_session(root: &Path, addr: SocketAddr, options: ClientOptions) {
    let mut c = Client::connect("127.0.0.1", addr.port(), options).await.unwrap();
    assert_eq!(c.greeting().unwrap().code().as_u16(), 220);
    c.login("alice", "secret").await.unwrap();
    assert!(c.capabilities().mlst, "FEAT read at login (RFC 2389)");
    assert_eq!(c.pwd().await.unwrap(), "/");

    // Listing: MLSD, parsed (RFC 3659 section 7).
    let entries = c.list(Some("pub")).await.unwrap();
    let mut names: Vec<_> = entries.iter().map(|e| String::from_utf8_lossy(e.name()).into_owned()).collect();
    names.sort();
    assert_eq!(names, ["big.bin", "hello world.txt"]);
    let big = entries.iter().find(|e| e.name() == b"big.bin").unwrap();
    assert_eq!(big.size(), Some(5_000_000));
    assert_eq!(big.kind(), &EntryKind::File);
    let mut nlst = c.nlst(Some("pub")).await.unwrap();
    nlst.sort();
    assert_eq!(nlst.len(), 2, "{nlst:?}");

    // Download, whole and resumed (RFC 3659 section 5, REST then RETR).
    let mut got = Vec::new();
    assert_eq!(c.get("pub/big.bin", 0, &mut got).await.unwrap(), 5_000_000);
    assert!(got == pattern(5_000_000), "download differs");
    let mut tail = Vec::new();
    assert_eq!(c.get("pub/big.bin", 4_000_000, &mut tail).await.unwrap(), 1_000_000);
    assert!(tail[..] == pattern(5_000_000)[4_000_000..], "resumed download differs");
    assert_eq!(c.size("pub/big.bin").await.unwrap(), 5_000_000);
    assert!(c.mdtm("pub/big.bin").await.unwrap().year() >= 2024);

    // Upload, resumed upload, append (RFC 959 STOR/APPE, RFC 3659 REST STREAM).
    c.mkdir("up").await.unwrap();
    c.cwd("up").await.unwrap();
    let data = pattern(3_000_000);
    assert_eq!(c.put("whole.bin", 0, &mut &data[..]).await.unwrap(), 3_000_000);
    assert_eq!(c.put("resumed.bin", 0, &mut &data[..1_000_000]).await.unwrap(), 1_000_000);
    assert_eq!(c.put("resumed.bin", 1_000_000, &mut &data[1_000_000..]).await.unwrap(), 2_000_000);
    c.put("log.txt", 0, &mut &b"one\n"[..]).await.unwrap();
    c.append("log.txt", &mut &b"two\n"[..]).await.unwrap();
    assert!(std::fs::read(root.join("up/whole.bin")).unwrap() == data);
    assert!(std::fs::read(root.join("up/resumed.bin")).unwrap() == data);
    assert_eq!(std::fs::read(root.join("up/log.txt")).unwrap(), b"one\ntwo\n");

    // Rename, delete, rmdir; errors carry the reply.
    c.rename("whole.bin", "renamed.bin").await.unwrap();
    assert!(root.join("up/renamed.bin").exists());
    for name in ["renamed.bin", "resumed.bin", "log.txt"] {
        c.delete(name).await.unwrap();
    }
    let err = c.delete("missing").await.unwrap_err();
    assert_eq!(err.reply().map(|r| r.code().as_u16()), Some(550), "{err}");
    c.cwd("/").await.unwrap();
    c.rmdir("up").await.unwrap();
    assert!(!root.join("up").exists());
    // Issue 16: a refusal names the command it answered, and the reply.
    let err = c.get("nope.txt", 0, &mut Vec::new()).await.unwrap_err();
    assert!(matches!(&err, ClientError::Rejected { command, .. } if command == "RETR nope.txt"), "{err}");
    assert!(err.to_string().starts_with("RETR nope.txt: server replied 550"), "{err}");
    c.noop().await.unwrap();
    c.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_session() {
    let dir = fixture();
    let addr_server = start(dir.path(), false);
    let addr = addr_server.addr();
    timed(full_session(dir.path(), addr, options(Security::Plain, DataMode::Passive))).await;
}

/// RFC 959 PORT (EPRT for IPv6): the server connects to our listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_session() {
    let dir = fixture();
    let addr_server = start(dir.path(), false);
    let addr = addr_server.addr();
    timed(full_session(dir.path(), addr, options(Security::Plain, DataMode::Active))).await;
}

/// RFC 4217: AUTH TLS, PBSZ 0, PROT P; every data connection resumes the
/// control session, which our server requires (SECURITY.md L6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_ftps_session() {
    let dir = fixture();
    let addr_server = start(dir.path(), true);
    let addr = addr_server.addr();
    timed(full_session(dir.path(), addr, options(Security::Explicit, DataMode::Passive))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_ftps_active_session() {
    let dir = fixture();
    let addr_server = start(dir.path(), true);
    let addr = addr_server.addr();
    timed(full_session(dir.path(), addr, options(Security::Explicit, DataMode::Active))).await;
}

/// Implicit FTPS: TLS from the first byte, then PBSZ 0 / PROT P (RFC 4217
/// section 9: the data protection still defaults to clear).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_ftps_session() {
    let dir = fixture();
    let addr_server = start_with(dir.path(), true, true);
    let addr = addr_server.addr();
    timed(full_session(dir.path(), addr, options(Security::Implicit, DataMode::Passive))).await;
}

/// A server without TLS refuses AUTH TLS: explicit FTPS then fails rather
/// than falling back to plaintext (RFC 4217 section 4; SECURITY.md L3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_silent_downgrade() {
    let dir = fixture();
    let addr_server = start(dir.path(), false);
    let addr = addr_server.addr();
    let mut c =
        timed(Client::connect("127.0.0.1", addr.port(), options(Security::Explicit, DataMode::Passive))).await.unwrap();
    let err = timed(c.login("alice", "secret")).await.unwrap_err();
    assert!(err.reply().is_some_and(|r| r.code().as_u16() >= 500), "{err}");
}

/// Without `insecure`, a self-signed certificate is refused (SECURITY.md L10:
/// verify the certificate name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_verified() {
    let dir = fixture();
    let addr_server = start(dir.path(), true);
    let addr = addr_server.addr();
    let mut o = options(Security::Explicit, DataMode::Passive);
    o.insecure = false;
    let mut c = timed(Client::connect("127.0.0.1", addr.port(), o)).await.unwrap();
    let err = timed(c.login("alice", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err}");
}

/// RFC 959 4.2: 530 for a bad password, as a `Rejected` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_login() {
    let dir = fixture();
    let addr_server = start(dir.path(), false);
    let addr = addr_server.addr();
    let mut c = timed(Client::connect("127.0.0.1", addr.port(), ClientOptions::default())).await.unwrap();
    let err = timed(c.login("alice", "wrong")).await.unwrap_err();
    assert_eq!(err.reply().map(|r| r.code().as_u16()), Some(530), "{err}");
}

/// Nothing listens: a `Connect` error naming the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = timed(Client::connect("127.0.0.1", port, ClientOptions::default())).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}

/// RFC 959 3.1.1.1: with `ClientConfig::ascii(true)` files go as `TYPE A`;
/// the client turns CRLF into LF on the way in and LF into CRLF on the way
/// out, and the server does the reverse, so text survives both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_transfers_convert_line_ends() {
    let dir = fixture();
    std::fs::write(dir.path().join("pub/text.txt"), b"x\r\ny\nlast").unwrap();
    let server = start(dir.path(), false);
    let o = ClientOptions { config: ClientConfig::default().ascii(true), ..ClientOptions::default() };
    let mut c = timed(Client::connect("127.0.0.1", server.addr().port(), o)).await.unwrap();
    timed(c.login("alice", "secret")).await.unwrap();
    let mut got = Vec::new();
    timed(c.get("pub/text.txt", 0, &mut got)).await.unwrap();
    assert_eq!(got, b"x\ny\nlast");
    let sent = timed(c.put("pub/up.txt", 0, &mut &b"p\nq\n"[..])).await.unwrap();
    assert_eq!(sent, 6, "p CR LF q CR LF on the wire");
    assert_eq!(std::fs::read(dir.path().join("pub/up.txt")).unwrap(), b"p\nq\n");
    // In binary the same file arrives as stored.
    let o = ClientOptions::default();
    let mut b = timed(Client::connect("127.0.0.1", server.addr().port(), o)).await.unwrap();
    timed(b.login("alice", "secret")).await.unwrap();
    let mut raw = Vec::new();
    timed(b.get("pub/text.txt", 0, &mut raw)).await.unwrap();
    assert_eq!(raw, b"x\r\ny\nlast");
}

/// Issue 20, the library: MLST (RFC 3659 section 7), MFMT, FEAT again,
/// CDUP, SITE and any other command through `raw`, against our server;
/// `raw` refuses what would put the session out of step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlst_mfmt_feat_cdup_site_raw() {
    let root = fixture();
    let server = start(root.path(), false);
    timed(async {
        let mut c = Client::connect("127.0.0.1", server.addr().port(), options(Security::Plain, DataMode::Passive))
            .await
            .unwrap();
        c.login("alice", "secret").await.unwrap();
        let entry = c.mlst(Some("pub/big.bin")).await.unwrap();
        assert_eq!((entry.kind(), entry.size()), (&EntryKind::File, Some(5_000_000)));
        assert!(matches!(c.mlst(Some("pub")).await.unwrap().kind(), EntryKind::Directory));
        assert!(matches!(c.mlst(Some("pub/none")).await, Err(ClientError::Rejected { .. })));

        let time = ftp_proto::Timestamp::new(2001, 2, 3, 4, 5, 6).unwrap();
        c.mfmt("pub/big.bin", time).await.unwrap();
        assert_eq!(c.mdtm("pub/big.bin").await.unwrap(), time);
        assert!(c.feat().await.unwrap().mfmt);

        c.cwd("pub").await.unwrap();
        c.cdup().await.unwrap();
        assert_eq!(c.pwd().await.unwrap(), "/");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            c.site("CHMOD 600 pub/big.bin").await.unwrap();
            let mode = std::fs::metadata(root.path().join("pub/big.bin")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(c.site("FROBNICATE").await, Err(ClientError::Rejected { .. })));
        assert_eq!(c.raw("SYST").await.unwrap().code().as_u16(), 215);
        // A refusal is the server's answer here.
        assert_eq!(c.raw("DELE pub/none").await.unwrap().code().as_u16(), 550);
        for line in ["PASV", "RETR pub/big.bin", "USER bob", "AUTH TLS", "NOOP\r\nDELE pub/big.bin", ""] {
            assert!(matches!(c.raw(line).await, Err(ClientError::Usage(_))), "{line}");
        }
        // Still in step.
        c.noop().await.unwrap();
        c.quit().await.unwrap();
    })
    .await;
}
