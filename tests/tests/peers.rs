//! Our async client (`ftp_tokio::client`) against vsftpd, pure-ftpd,
//! proftpd and pyftpdlib, started with `tests/peers/start.sh`: login,
//! listings, every transfer kind with resume, rename, delete, directories,
//! in each data-connection mode (EPSV, PASV, active), and over explicit
//! FTPS. Every transferred file is compared through its SHA-256, on the
//! server's disk and as received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftp_interop::data::{
    HashingWriter, PseudoRandom, VerifyingWriter, pseudo_random_bytes, pseudo_random_sha256, sha256_file, sha256_hex,
    verify_file,
};
use ftp_interop::{EpsvRefusingRelay, PASSWORD, Peer, PeerServer, USER};
use ftp_proto::listing::EntryKind;
use ftp_session::client::{ClientConfig, DataMode};
use ftp_tokio::client::{Client, ClientError, ClientOptions, Line, Security};

/// Upper bound for one exercise (connect to quit) against one peer.
const EXERCISE: Duration = Duration::from_secs(180);

/// The commands a client sent, recorded through its transcript.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<String>>>);

impl Sent {
    fn attach(&self, options: &mut ClientOptions) {
        let log = Arc::clone(&self.0);
        options.transcript = Some(Arc::new(move |line: Line<'_>| {
            if let Line::Sent(text) = line {
                log.lock().unwrap().push(text.to_owned());
            }
        }));
    }

    fn verbs(&self) -> Vec<String> {
        let log = self.0.lock().unwrap();
        log.iter().map(|l| l.split(' ').next().unwrap_or_default().to_ascii_uppercase()).collect()
    }
}

fn options(security: Security, mode: DataMode) -> ClientOptions {
    ClientOptions {
        security,
        insecure: true,
        config: ClientConfig::default().data_mode(mode).reply_timeout(Duration::from_secs(30)),
        connect_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(30),
        ..ClientOptions::default()
    }
}

/// Panics with the context and the client's error.
fn fail<T>(ctx: &str, error: &ClientError) -> T {
    panic!("{ctx}: {error}")
}

fn code(error: &ClientError) -> Option<u16> {
    error.reply().map(|r| r.code().as_u16())
}

/// A reader over a byte slice, as the client takes it.
fn reader(bytes: &[u8]) -> &[u8] {
    bytes
}

/// One full session against `addr` (the peer itself, or a relay in front
/// of it), working in the fresh directory `tag` of the peer's root.
///
/// - RFC 959 4.1.1 USER/PASS; 4.1.3 PWD, CWD, MKD, RMD, DELE, RNFR/RNTO,
///   RETR, STOR, APPE, LIST and NLST; 5.4 a permanent 5xx for a missing file.
/// - RFC 3659 4 SIZE, 3 MDTM, 5 REST before RETR and STOR, 7 MLSD (where
///   offered; vsftpd has only LIST, parsed as Unix `ls -l` lines).
async fn exercise(server: &PeerServer, addr: SocketAddr, options: ClientOptions, tag: &str) {
    let peer = server.peer();
    let ctx = format!("{peer} ({tag})");
    let mut c = Client::connect(&addr.ip().to_string(), addr.port(), options).await.unwrap_or_else(|e| fail(&ctx, &e));
    c.login(USER, PASSWORD).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert_eq!(c.pwd().await.unwrap_or_else(|e| fail(&ctx, &e)), "/", "{ctx}: the user starts in the served directory");
    let made = c.mkdir(tag).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert!(made.ends_with(tag), "{ctx}: MKD answers the new path: {made}");
    c.cwd(tag).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert_eq!(c.pwd().await.unwrap_or_else(|e| fail(&ctx, &e)), format!("/{tag}"));
    let dir = server.root().join(tag);

    // STOR of a streamed pseudo-random file, then SIZE and RETR.
    let (seed, len) = (tag.len() as u64 * 1000 + 1, 700_001u64);
    let sent = c.put("a.bin", 0, &mut PseudoRandom::new(seed, len)).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert_eq!(sent, len);
    let a_sha = pseudo_random_sha256(seed, len);
    assert_eq!(sha256_file(&dir.join("a.bin")), a_sha, "{ctx}: STOR stored every byte");
    assert_eq!(c.size("a.bin").await.unwrap_or_else(|e| fail(&ctx, &e)), len, "{ctx}: SIZE");
    let mut sink = HashingWriter::new();
    assert_eq!(c.get("a.bin", 0, &mut sink).await.unwrap_or_else(|e| fail(&ctx, &e)), len, "{ctx}: RETR length");
    assert_eq!(sink.sha256(), a_sha, "{ctx}: RETR");

    // REST + RETR: the tail from an offset.
    let whole = pseudo_random_bytes(seed, len as usize);
    let mut sink = HashingWriter::new();
    assert_eq!(c.get("a.bin", 123_457, &mut sink).await.unwrap_or_else(|e| fail(&ctx, &e)), len - 123_457);
    assert_eq!(sink.sha256(), sha256_hex(&whole[123_457..]), "{ctx}: REST then RETR");

    // REST + STOR: an interrupted upload completed from where it stopped.
    let b = pseudo_random_bytes(seed + 1, 400_003);
    assert_eq!(c.put("b.bin", 0, &mut reader(&b[..150_000])).await.unwrap_or_else(|e| fail(&ctx, &e)), 150_000);
    assert_eq!(c.put("b.bin", 150_000, &mut reader(&b[150_000..])).await.unwrap_or_else(|e| fail(&ctx, &e)), 250_003);
    assert_eq!(sha256_file(&dir.join("b.bin")), sha256_hex(&b), "{ctx}: REST then STOR");

    // APPE.
    let cc = pseudo_random_bytes(seed + 2, 300_007);
    let _ = c.put("c.bin", 0, &mut reader(&cc[..100_000])).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert_eq!(c.append("c.bin", &mut reader(&cc[100_000..])).await.unwrap_or_else(|e| fail(&ctx, &e)), 200_007);
    assert_eq!(sha256_file(&dir.join("c.bin")), sha256_hex(&cc), "{ctx}: APPE");

    // An empty file both ways.
    assert_eq!(c.put("empty", 0, &mut reader(&[])).await.unwrap_or_else(|e| fail(&ctx, &e)), 0);
    assert_eq!(std::fs::metadata(dir.join("empty")).unwrap().len(), 0);
    let mut sink = HashingWriter::new();
    assert_eq!(c.get("empty", 0, &mut sink).await.unwrap_or_else(|e| fail(&ctx, &e)), 0);

    // A directory with a space, and a listing of everything.
    let _ = c.mkdir("sub dir").await.unwrap_or_else(|e| fail(&ctx, &e));
    let entries = c.list(None).await.unwrap_or_else(|e| fail(&ctx, &e));
    let mut names: Vec<(String, bool, Option<u64>)> = entries
        .iter()
        .filter(|e| !matches!(e.kind(), EntryKind::CurrentDir | EntryKind::ParentDir))
        .map(|e| (e.name_str().unwrap().to_owned(), matches!(e.kind(), EntryKind::Directory), e.size()))
        .collect();
    names.sort();
    let expected_names = ["a.bin", "b.bin", "c.bin", "empty", "sub dir"];
    assert_eq!(names.iter().map(|n| n.0.as_str()).collect::<Vec<_>>(), expected_names, "{ctx}: {entries:?}");
    assert_eq!(names[0], ("a.bin".to_owned(), false, Some(len)), "{ctx}: listing facts");
    assert!(names[4].1, "{ctx}: 'sub dir' is a directory");
    let mut listed: Vec<String> = c
        .nlst(None)
        .await
        .unwrap_or_else(|e| fail(&ctx, &e))
        .into_iter()
        .map(|n| n.rsplit('/').next().unwrap_or_default().to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    listed.sort();
    assert_eq!(listed, expected_names, "{ctx}: NLST");
    let _ = c.mdtm("b.bin").await.unwrap_or_else(|e| fail(&ctx, &e));

    // RNFR/RNTO into the subdirectory, then DELE, RMD.
    c.rename("a.bin", "sub dir/a renamed.bin").await.unwrap_or_else(|e| fail(&ctx, &e));
    assert_eq!(sha256_file(&dir.join("sub dir/a renamed.bin")), a_sha, "{ctx}: RNFR/RNTO");
    assert!(!dir.join("a.bin").exists());
    let missing = c.get("a.bin", 0, &mut HashingWriter::new()).await.unwrap_err();
    assert_eq!(code(&missing).map(|c| c / 100), Some(5), "{ctx}: RETR of a missing file: {missing}");
    for name in ["b.bin", "c.bin", "empty", "sub dir/a renamed.bin"] {
        c.delete(name).await.unwrap_or_else(|e| fail(&ctx, &e));
    }
    c.rmdir("sub dir").await.unwrap_or_else(|e| fail(&ctx, &e));
    c.cwd("..").await.unwrap_or_else(|e| fail(&ctx, &e));
    c.rmdir(tag).await.unwrap_or_else(|e| fail(&ctx, &e));
    assert!(!dir.exists(), "{ctx}: RMD removed the directory");
    c.quit().await.unwrap_or_else(|e| fail(&ctx, &e));
}

async fn bounded(what: &str, f: impl Future<Output = ()>) {
    tokio::time::timeout(EXERCISE, f).await.unwrap_or_else(|_| panic!("{what} took longer than {EXERCISE:?}"));
}

/// Plain FTP against `peer`: EPSV (the client's default, RFC 2428 3) and
/// PASV (RFC 959 4.1.2; the relay refuses EPSV with 502 and the client
/// falls back, PEERS.md pain point 3).
async fn plain(peer: Peer) {
    let Some(server) = PeerServer::start(peer, false) else { return };
    let direct = SocketAddr::from(([127, 0, 0, 1], server.port()));

    let sent = Sent::default();
    let mut o = options(Security::Plain, DataMode::Passive);
    sent.attach(&mut o);
    bounded(&format!("{peer} EPSV"), exercise(&server, direct, o, "epsv")).await;
    let verbs = sent.verbs();
    assert!(verbs.contains(&"EPSV".to_owned()) && !verbs.contains(&"PASV".to_owned()), "{peer}: {verbs:?}");
    if peer.has_mlsd() {
        assert!(verbs.contains(&"MLSD".to_owned()), "{peer}: MLSD is used when offered: {verbs:?}");
    } else {
        assert!(verbs.contains(&"LIST".to_owned()), "{peer}: LIST without MLSD: {verbs:?}");
    }

    let relay = EpsvRefusingRelay::start(direct).await;
    let sent = Sent::default();
    let mut o = options(Security::Plain, DataMode::Passive);
    sent.attach(&mut o);
    bounded(&format!("{peer} PASV"), exercise(&server, relay.addr(), o, "pasv")).await;
    assert!(relay.refused() >= 1);
    let verbs = sent.verbs();
    assert!(verbs.contains(&"PASV".to_owned()), "{peer}: PASV after EPSV was refused: {verbs:?}");
    assert_eq!(verbs.iter().filter(|v| *v == "EPSV").count(), 1, "{peer}: the refusal is remembered: {verbs:?}");
}

/// Active mode (RFC 959 4.1.2 `PORT`): the peer connects to the client.
async fn active(peer: Peer) {
    let Some(server) = PeerServer::start(peer, false) else { return };
    let direct = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let sent = Sent::default();
    let mut o = options(Security::Plain, DataMode::Active);
    sent.attach(&mut o);
    bounded(&format!("{peer} active"), exercise(&server, direct, o, "active")).await;
    let verbs = sent.verbs();
    assert!(verbs.contains(&"PORT".to_owned()) && !verbs.contains(&"EPSV".to_owned()), "{peer}: {verbs:?}");
}

/// Explicit FTPS (RFC 4217: AUTH TLS, PBSZ 0, PROT P) against `peer`, in
/// passive and active mode. vsftpd (`require_ssl_reuse=YES`) and proftpd
/// refuse a data connection that does not resume the control connection's
/// TLS session (PEERS.md pain point 2); the client resumes it.
async fn ftps(peer: Peer) {
    ftps_with(peer, false).await;
}

async fn ftps_with(peer: Peer, tls12_only: bool) {
    let Some(server) = PeerServer::start(peer, true) else { return };
    let direct = SocketAddr::from(([127, 0, 0, 1], server.port()));
    for (mode, tag) in [(DataMode::Passive, "tls-passive"), (DataMode::Active, "tls-active")] {
        let sent = Sent::default();
        let mut o = options(Security::Explicit, mode);
        o.tls12_only = tls12_only;
        sent.attach(&mut o);
        bounded(&format!("{peer} {tag}"), exercise(&server, direct, o, tag)).await;
        let verbs = sent.verbs();
        let i = |v: &str| verbs.iter().position(|x| x == v).unwrap_or_else(|| panic!("{peer}: no {v}: {verbs:?}"));
        assert!(i("AUTH") < i("USER") && i("PBSZ") < i("PROT"), "{peer}: RFC 4217 order: {verbs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_plain() {
    plain(Peer::Vsftpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pure_ftpd_plain() {
    plain(Peer::PureFtpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proftpd_plain() {
    plain(Peer::Proftpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyftpdlib_plain() {
    plain(Peer::Pyftpdlib).await;
}

/// See [`active`]. The peer often connects, sends and says 226 before the
/// client has taken the connection off its listener: the client must wait
/// for the data after a 150 (RFC 959 3.2), not complete empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_active() {
    active(Peer::Vsftpd).await;
}

/// See [`active`]. The peer often connects, sends and says 226 before the
/// client has taken the connection off its listener: the client must wait
/// for the data after a 150 (RFC 959 3.2), not complete empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pure_ftpd_active() {
    active(Peer::PureFtpd).await;
}

/// See [`active`]. The peer often connects, sends and says 226 before the
/// client has taken the connection off its listener: the client must wait
/// for the data after a 150 (RFC 959 3.2), not complete empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proftpd_active() {
    active(Peer::Proftpd).await;
}

/// See [`active`]. The peer often connects, sends and says 226 before the
/// client has taken the connection off its listener: the client must wait
/// for the data after a 150 (RFC 959 3.2), not complete empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyftpdlib_active() {
    active(Peer::Pyftpdlib).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_ftps_with_require_ssl_reuse() {
    ftps(Peer::Vsftpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyftpdlib_ftps() {
    ftps(Peer::Pyftpdlib).await;
}

/// proftpd requires every data connection to resume the control session
/// (no `NoSessionReuseRequired`) and hands out no TLS 1.3 tickets on data
/// connections, while a client's TLS 1.3 ticket is single-use: over TLS
/// 1.3 the fifth data connection would make a full handshake and get 425.
/// With `tls12_only` the client resumes the control connection's TLS 1.2
/// session on every data connection, as SECURITY.md L6 wants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proftpd_ftps_with_session_reuse_required() {
    ftps_with(Peer::Proftpd, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pure_ftpd_ftps() {
    ftps(Peer::PureFtpd).await;
}

/// Size of the large-file test.
const BIG: u64 = 300 << 20;

/// RFC 959 3.4 stream mode with a large file: 300 MiB up to vsftpd and back,
/// streamed from a pseudo-random generator and checked byte for byte
/// against the regenerated stream, as stored on the server's disk and as
/// received (never held in memory). A byte-by-byte comparison instead of
/// SHA-256 here: hashing 300 MiB three times takes about 30 s in the
/// unoptimised test build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_large_file_round_trip() {
    let Some(server) = PeerServer::start(Peer::Vsftpd, false) else { return };
    bounded("300 MiB round trip", async {
        let mut c =
            Client::connect("127.0.0.1", server.port(), options(Security::Plain, DataMode::Passive)).await.unwrap();
        c.login(USER, PASSWORD).await.unwrap();
        assert_eq!(c.put("big.bin", 0, &mut PseudoRandom::new(99, BIG)).await.unwrap(), BIG);
        let on_disk = server.root().join("big.bin");
        assert_eq!(tokio::task::spawn_blocking(move || verify_file(&on_disk, 99, BIG)).await.unwrap(), Ok(BIG));
        assert_eq!(c.size("big.bin").await.unwrap(), BIG);
        let mut sink = VerifyingWriter::new(99, BIG);
        assert_eq!(c.get("big.bin", 0, &mut sink).await.unwrap(), BIG);
        assert_eq!(sink.finish(), Ok(BIG), "as received");
        c.quit().await.unwrap();
    })
    .await;
}
