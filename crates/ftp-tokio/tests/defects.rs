//! Defects real clients hit (rclone, wget, tnftp, aioftp, basic-ftp,
//! suppaftp), each reproduced through the real tokio server on loopback
//! with a hand-driven client, so the test does exactly what the client did:
//! TLS 1.3 uploads cut short by session tickets, a TLS handshake before the
//! transfer command, uploads ending without close_notify or with a reset,
//! REST markers lost to PASV/EPSV/TYPE, MLST of a directory, symbolic
//! links, refusals counted as errors, FEAT advertising MFMT, RMD of a
//! non-empty directory. Every wait is bounded.

#[macro_use]
mod support;

use std::sync::Arc;

use ftp_proto::Timestamp;
use ftp_proto::listing::Entry;
use ftp_session::server::{StorageError, VirtualPath};
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{ServerOptions, User};
use ftp_tokio::storage::{BoxFuture, FileSink, FileSource, Principal, Storage, WriteMode};
use support::{Ftp, bounded, code, loopback, memory_options, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8).collect()
}

// ---- a minimal FTPS client --------------------------------------------------

/// One client configuration (so one session cache: data connections
/// resume the control session, as the server requires) for one version.
fn connector(version: &'static rustls::SupportedProtocolVersion) -> tokio_rustls::TlsConnector {
    let provider = ftp_tokio::tls::provider().unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ftp_tokio::tls::AcceptAnyCertificate::new(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::try_from("localhost").unwrap()
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// An FTPS control connection: AUTH TLS, login, PBSZ 0, PROT P.
struct Ftps {
    control: Tls,
    buf: bytes::BytesMut,
    decoder: ftp_proto::ReplyDecoder,
    tls: tokio_rustls::TlsConnector,
}

impl Ftps {
    async fn connect(addr: std::net::SocketAddr, version: &'static rustls::SupportedProtocolVersion) -> Self {
        let (mut plain, greeting) = Ftp::connect(addr).await;
        assert_eq!(code(&greeting), 220);
        assert_eq!(plain.code("AUTH TLS").await, 234);
        let stream = plain.into_stream();
        let tls = connector(version);
        let control = bounded(1, tls.connect(server_name(), stream)).await.expect("control handshake");
        let mut ftps = Self {
            control,
            buf: bytes::BytesMut::new(),
            decoder: ftp_proto::ReplyDecoder::new(ftp_proto::ParseOptions::default()),
            tls,
        };
        assert_eq!(ftps.code("USER alice").await, 331);
        assert_eq!(ftps.code("PASS secret").await, 230);
        assert_eq!(ftps.code("PBSZ 0").await, 200);
        assert_eq!(ftps.code("PROT P").await, 200);
        assert_eq!(ftps.code("TYPE I").await, 200);
        ftps
    }

    async fn reply(&mut self) -> ftp_proto::Reply {
        loop {
            if let Some(r) = self.decoder.decode(&mut self.buf) {
                return r.expect("a well-formed reply");
            }
            let mut chunk = [0u8; 4096];
            let n = bounded(1, self.control.read(&mut chunk)).await.expect("read");
            assert!(n > 0, "the server closed the control connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn cmd(&mut self, line: &str) -> ftp_proto::Reply {
        self.control.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        self.reply().await
    }

    async fn code(&mut self, line: &str) -> u16 {
        code(&self.cmd(line).await)
    }

    /// EPSV and a TCP connection to the port it names.
    async fn data_tcp(&mut self) -> TcpStream {
        let text = reply_text(&self.cmd("EPSV").await);
        let port: u16 = text.split("(|||").nth(1).and_then(|s| s.split('|').next()).unwrap().parse().unwrap();
        bounded(1, TcpStream::connect(("127.0.0.1", port))).await.unwrap()
    }

    async fn handshake(&self, tcp: TcpStream) -> Tls {
        bounded(1, self.tls.connect(server_name(), tcp)).await.expect("data handshake")
    }
}

fn tls_options(fs: &MemoryFs) -> ServerOptions {
    let mut options = memory_options(fs);
    options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
    options
}

/// Issue 12 / SECURITY.md L6: TLS 1.3 uploads that close at once, never
/// reading from the data connection (as suppaftp and rclone do), all
/// arrive whole and get 226. Session tickets sent on an upload's data
/// connection sat unread in the client's socket, its close became a reset,
/// and the reset discarded upload bytes: 426 and a truncated file. Now
/// only the control connection and downloads send tickets; this client's
/// tickets are single-use (rustls): the control connection's eight last
/// for seven uploads and a listing, the listing brings eight more, and
/// every data connection resumes the control session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_uploads_that_close_at_once_arrive_whole() {
    let fs = MemoryFs::new();
    let server = serve(tls_options(&fs)).await;
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let mut ftps = Ftps::connect(server.addr, version).await;
        for i in 0..15u32 {
            if i == 7 {
                let tcp = ftps.data_tcp().await;
                ftps.control.write_all(b"LIST\r\n").await.unwrap();
                assert!(matches!(code(&ftps.reply().await), 125 | 150));
                let mut data = ftps.handshake(tcp).await;
                let mut listing = Vec::new();
                bounded(1, data.read_to_end(&mut listing))
                    .await
                    .unwrap_or_else(|e| panic!("LIST ({version:?}) after {} bytes: {e}", listing.len()));
                assert_eq!(code(&ftps.reply().await), 226);
            }
            let body = pattern(2 * 1024 * 1024, i);
            let tcp = ftps.data_tcp().await;
            let name = format!("up{i}.bin");
            ftps.control.write_all(format!("STOR {name}\r\n").as_bytes()).await.unwrap();
            assert!(matches!(code(&ftps.reply().await), 125 | 150));
            let mut data = ftps.handshake(tcp).await;
            data.write_all(&body).await.unwrap_or_else(|e| panic!("upload {i} ({version:?}): {e}"));
            data.shutdown().await.unwrap(); // close_notify and FIN, nothing read
            drop(data);
            let last = ftps.reply().await;
            assert_eq!(code(&last), 226, "upload {i}: {}", reply_text(&last));
            assert!(fs.read_file(&name).as_deref() == Some(&body[..]), "upload {i} whole ({version:?})");
        }
    }
}

/// SECURITY.md L6: a ticket is good only on its own control connection's
/// data connections. Session B's data connection offered a ticket that
/// session A issued (same server, same client cache) is refused with 522,
/// for TLS 1.3 and TLS 1.2 alike, while B's own tickets work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_l6_tickets_of_another_session_are_refused() {
    let fs = MemoryFs::new();
    fs.write_file("f.bin", b"data").unwrap();
    let server = serve(tls_options(&fs)).await;
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let a = Ftps::connect(server.addr, version).await;
        let mut b = Ftps::connect(server.addr, version).await;
        let own = b.tls.clone();
        b.tls = a.tls.clone(); // holds only A's tickets or session
        let tcp = b.data_tcp().await;
        b.control.write_all(b"RETR f.bin\r\n").await.unwrap();
        assert!(matches!(code(&b.reply().await), 125 | 150));
        let _ = tokio::time::timeout(support::WAIT, b.tls.connect(server_name(), tcp)).await;
        let last = b.reply().await;
        assert_eq!(code(&last), 522, "{version:?}: {}", reply_text(&last));
        b.tls = own;
        let tcp = b.data_tcp().await;
        b.control.write_all(b"RETR f.bin\r\n").await.unwrap();
        assert!(matches!(code(&b.reply().await), 125 | 150));
        let mut data = b.handshake(tcp).await;
        let mut got = Vec::new();
        bounded(1, data.read_to_end(&mut got)).await.unwrap();
        assert_eq!(got, b"data");
        assert_eq!(code(&b.reply().await), 226, "{version:?}");
    }
}

/// Issue 12 (aioftp): the client runs the TLS handshake on the passive
/// data connection before it sends RETR; the server must start its side
/// as soon as the connection is accepted, not wait for the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_tls_handshake_before_the_transfer_command() {
    let fs = MemoryFs::new();
    let body = pattern(300_000, 7);
    fs.write_file("f.bin", &body).unwrap();
    let server = serve(tls_options(&fs)).await;
    let mut ftps = Ftps::connect(server.addr, &rustls::version::TLS13).await;
    for _ in 0..2 {
        let tcp = ftps.data_tcp().await;
        let mut data = ftps.handshake(tcp).await; // before RETR
        assert!(matches!(ftps.code("RETR f.bin").await, 125 | 150));
        let mut got = Vec::new();
        bounded(1, data.read_to_end(&mut got)).await.unwrap();
        assert!(got == body, "{} bytes downloaded of {}", got.len(), body.len());
        assert_eq!(code(&ftps.reply().await), 226);
    }
    // And an upload the same way.
    let tcp = ftps.data_tcp().await;
    let mut data = ftps.handshake(tcp).await;
    assert!(matches!(ftps.code("STOR early.bin").await, 125 | 150));
    data.write_all(&body).await.unwrap();
    data.shutdown().await.unwrap();
    assert_eq!(code(&ftps.reply().await), 226);
    assert_eq!(fs.read_file("early.bin").as_deref(), Some(&body[..]));
}

/// Sends `body` as a protected upload, then closes the TCP connection
/// without a TLS close_notify; returns the final reply.
async fn upload_without_close_notify(ftps: &mut Ftps, name: &str, body: &[u8]) -> ftp_proto::Reply {
    let tcp = ftps.data_tcp().await;
    ftps.control.write_all(format!("STOR {name}\r\n").as_bytes()).await.unwrap();
    let mut data = ftps.handshake(tcp).await;
    assert!(matches!(code(&ftps.reply().await), 125 | 150));
    data.write_all(body).await.unwrap();
    data.flush().await.unwrap();
    let (tcp, _) = data.get_mut();
    tcp.shutdown().await.unwrap(); // FIN without close_notify
    ftps.reply().await
}

/// SECURITY.md L7: an upload whose TLS data connection ends without
/// close_notify is accepted by default and flagged as possibly truncated
/// in its reply; with `require_tls_close_notify` it is refused with 426.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_l7_upload_without_close_notify() {
    let body = pattern(500_000, 3);
    let fs = MemoryFs::new();
    let server = serve(tls_options(&fs)).await;
    let mut ftps = Ftps::connect(server.addr, &rustls::version::TLS13).await;
    let reply = upload_without_close_notify(&mut ftps, "lenient.bin", &body).await;
    assert_eq!(code(&reply), 226, "{}", reply_text(&reply));
    assert!(reply_text(&reply).contains("close_notify"), "flagged: {}", reply_text(&reply));
    assert_eq!(fs.read_file("lenient.bin").as_deref(), Some(&body[..]));

    let strict_fs = MemoryFs::new();
    let mut options = tls_options(&strict_fs);
    options.session = options.session.clone().require_tls_close_notify(true);
    let strict = serve(options).await;
    let mut ftps = Ftps::connect(strict.addr, &rustls::version::TLS13).await;
    let reply = upload_without_close_notify(&mut ftps, "strict.bin", &body).await;
    assert_eq!(code(&reply), 426, "{}", reply_text(&reply));
    // A proper close is still accepted.
    let tcp = ftps.data_tcp().await;
    ftps.control.write_all(b"STOR proper.bin\r\n").await.unwrap();
    let mut data = ftps.handshake(tcp).await;
    assert!(matches!(code(&ftps.reply().await), 125 | 150));
    data.write_all(&body).await.unwrap();
    data.shutdown().await.unwrap();
    assert_eq!(code(&ftps.reply().await), 226);
}

/// SECURITY.md X3: an upload whose data connection ends with a TCP reset
/// is never answered 226.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_x3_upload_ended_by_reset_is_426() {
    let fs = MemoryFs::new();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    let to = ftp.epsv().await;
    let data = ftp.data(to).await;
    assert!(matches!(ftp.code("STOR reset.bin").await, 125 | 150));
    let mut data = data;
    data.write_all(&pattern(100_000, 1)).await.unwrap();
    data.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let std = data.into_std().unwrap();
    socket2::SockRef::from(&std).set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(std); // RST
    let last = ftp.reply().await;
    assert_eq!(code(&last), 426, "{}", reply_text(&last));
}

// ---- REST, MLST, links, refusals, FEAT, RMD ----------------------------------------

/// RFC 3659 5.3 / issue 12: REST, then PASV/EPSV/TYPE, then RETR or STOR
/// uses the marker (suppaftp and ncftp send REST first); another command
/// in between clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3659_5_rest_survives_pasv_epsv_and_type() {
    let fs = MemoryFs::new();
    let body = pattern(200_000, 9);
    fs.write_file("r.bin", &body).unwrap();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("REST 150000").await, 350);
    assert_eq!(ftp.code("TYPE I").await, 200);
    assert_eq!(ftp.code("PASV").await, 227);
    let (first, got, last) = ftp.download("RETR r.bin").await; // sends EPSV too
    assert!(matches!(first, 125 | 150) && last == 226, "{first} {last}");
    assert_eq!(got, &body[150_000..], "REST kept across TYPE, PASV and EPSV");

    // An interrupted upload continued from its marker.
    fs.write_file("u.bin", &body[..120_000]).unwrap();
    assert_eq!(ftp.code("REST 120000").await, 350);
    assert!(matches!(ftp.upload("STOR u.bin", &body[120_000..]).await, (125 | 150, 226)));
    assert_eq!(fs.read_file("u.bin").as_deref(), Some(&body[..]));

    assert_eq!(ftp.code("REST 100").await, 350);
    assert_eq!(ftp.code("PWD").await, 257);
    let (_, got, _) = ftp.download("RETR r.bin").await;
    assert_eq!(got.len(), body.len(), "PWD cleared the marker");
}

/// The facts of `MLST path` (RFC 3659 7.2), one line: (facts, name).
async fn mlst(ftp: &mut Ftp, path: &str) -> Option<(String, String)> {
    let reply = ftp.cmd(&if path.is_empty() { "MLST".to_owned() } else { format!("MLST {path}") }).await;
    if code(&reply) != 250 {
        return None;
    }
    let text = reply_text(&reply);
    let line = text.lines().nth(1).expect("a fact line").trim_start().to_owned();
    let (facts, name) = line.split_once(' ').expect("facts and name");
    Some((facts.to_ascii_lowercase(), name.to_owned()))
}

fn local_options(root: &std::path::Path) -> ServerOptions {
    let mut options = ServerOptions::new(loopback(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

/// RFC 3659 7.2 / issue 12: MLST describes the object named itself: `/`
/// and a subdirectory are `type=dir` (not their first child), a file is a
/// file with its size; a missing name is 550. Both storages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3659_7_2_mlst_describes_the_object_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/inner")).unwrap();
    std::fs::write(dir.path().join("a.txt"), b"12345").unwrap();
    std::fs::write(dir.path().join("sub/b.txt"), b"x").unwrap();
    let fs = MemoryFs::new();
    fs.create_dir_all("sub/inner").unwrap();
    fs.write_file("a.txt", b"12345").unwrap();
    fs.write_file("sub/b.txt", b"x").unwrap();
    for options in [local_options(dir.path()), memory_options(&fs)] {
        let server = serve(options).await;
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        for (path, name) in [("/", "/"), ("sub", "/sub"), ("/sub/inner", "/sub/inner")] {
            let (facts, got) = mlst(&mut ftp, path).await.unwrap_or_else(|| panic!("MLST {path}"));
            assert!(facts.contains("type=dir;"), "MLST {path}: {facts}");
            assert_eq!(got, name);
        }
        let (facts, name) = mlst(&mut ftp, "a.txt").await.unwrap();
        assert!(facts.contains("type=file;") && facts.contains("size=5;"), "{facts}");
        assert_eq!(name, "/a.txt");
        assert_eq!(ftp.code("CWD sub").await, 250);
        let (facts, name) = mlst(&mut ftp, "").await.expect("MLST without a path: the working directory");
        assert!(facts.contains("type=dir;"), "{facts}");
        assert_eq!(name, "/sub");
        let (facts, name) = mlst(&mut ftp, "b.txt").await.unwrap();
        assert!(facts.contains("size=1;"), "{facts}");
        assert_eq!(name, "/sub/b.txt");
        assert!(mlst(&mut ftp, "nothing").await.is_none(), "550 for a missing name");
    }
}

/// Issue 12 / SECURITY.md P2: one symbolic-link policy. A link to a file
/// or directory inside the root is shown as its target (LIST without `l`
/// lines, MLSD/MLST `type=file` with the target's size), and SIZE and RETR
/// agree with that size; links that dangle or lead out of the root are
/// not listed and are not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_p2_symlinks_are_their_targets_inside_the_root_and_invisible_outside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"outside the root").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("real.bin"), pattern(4321, 5)).unwrap();
    std::fs::create_dir(root.join("realdir")).unwrap();
    std::fs::write(root.join("realdir/inside.txt"), b"in").unwrap();
    std::os::unix::fs::symlink("real.bin", root.join("link.bin")).unwrap();
    std::os::unix::fs::symlink("realdir", root.join("linkdir")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), root.join("escape")).unwrap();
    std::os::unix::fs::symlink("missing", root.join("dangling")).unwrap();
    let server = serve(local_options(root)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("TYPE I").await, 200);

    let (_, list, _) = ftp.download("LIST").await;
    let list = String::from_utf8(list).unwrap();
    assert!(!list.lines().any(|l| l.starts_with('l')), "no link lines: {list}");
    let line = list.lines().find(|l| l.ends_with(" link.bin")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.starts_with('-') && line.contains(" 4321 "), "{line}");
    assert!(list.lines().any(|l| l.starts_with('d') && l.ends_with(" linkdir")), "{list}");
    assert!(!list.contains("escape") && !list.contains("dangling"), "{list}");

    let (_, mlsd, _) = ftp.download("MLSD").await;
    let mlsd = String::from_utf8(mlsd).unwrap().to_ascii_lowercase();
    let line = mlsd.lines().find(|l| l.ends_with(" link.bin")).unwrap();
    assert!(line.contains("type=file;") && line.contains("size=4321;"), "{line}");
    assert!(!mlsd.contains("slink") && !mlsd.contains("escape") && !mlsd.contains("dangling"), "{mlsd}");

    let (facts, _) = mlst(&mut ftp, "linkdir").await.unwrap();
    assert!(facts.contains("type=dir;"), "{facts}");
    assert_eq!(reply_text(&ftp.cmd("SIZE link.bin").await).trim_end(), "213 4321");
    let (_, got, _) = ftp.download("RETR link.bin").await;
    assert_eq!(got.len(), 4321);
    for hidden in ["escape", "dangling"] {
        assert_eq!(ftp.code(&format!("SIZE {hidden}")).await, 550);
        assert!(mlst(&mut ftp, hidden).await.is_none());
        let (first, _, _) = ftp.download(&format!("RETR {hidden}")).await;
        assert_eq!(first, 550);
    }
}

/// DESIGN (defaults) / SECURITY.md S4, issue 12: well-formed commands that
/// the server refuses (502, 504, 503) do not end the session; only input
/// that is not FTP counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_s4_refusals_keep_the_session() {
    let fs = MemoryFs::new();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    for _ in 0..3 {
        assert_eq!(ftp.code("XCRC f").await, 502);
        assert_eq!(ftp.code("SITE XYZZY f").await, 500, "an unknown SITE subcommand: a refusal, not counted");
        assert_eq!(ftp.code("MODE B").await, 504);
        assert_eq!(ftp.code("RNTO x").await, 503);
    }
    assert_eq!(ftp.code("NOOP").await, 200, "still connected after twelve refusals");
    for _ in 0..2 {
        assert_eq!(ftp.code("@@@").await, 500);
    }
    ftp.send("###").await;
    let reply = ftp.reply().await;
    assert_eq!(code(&reply), 500);
    assert_eq!(code(&ftp.reply().await), 421, "three protocol errors in a row");
}

/// A MemoryFs behind a storage that implements only the required
/// operations: no optional capability at all.
struct Plain(MemoryFs);

impl Storage for Plain {
    forward_required_storage! { 0, |_: &Self, _: &Principal| () }
}

/// A probe for a verb HELP lists: its command line, or `None` for verbs a
/// walk must not send (they end the login, the session or the plaintext).
fn probe(verb: &str) -> Option<String> {
    Some(match verb {
        "QUIT" | "REIN" | "USER" | "PASS" | "ACCT" | "AUTH" | "CCC" => return None,
        "PORT" => "PORT 127,0,0,1,4,1".into(),
        "EPRT" => "EPRT |1|127.0.0.1|1025|".into(),
        "TYPE" => "TYPE I".into(),
        "MODE" => "MODE S".into(),
        "STRU" => "STRU F".into(),
        "REST" => "REST 0".into(),
        "ALLO" => "ALLO 10".into(),
        "OPTS" => "OPTS UTF8 ON".into(),
        "HOST" => "HOST localhost".into(),
        "LANG" => "LANG EN".into(),
        "MFMT" => "MFMT 20240101000000 f".into(),
        "MFF" => "MFF modify=20240101000000; f".into(),
        "SITE" => "SITE HELP".into(),
        "RNTO" => "RNTO g".into(),
        "PBSZ" => "PBSZ 0".into(),
        "PROT" => "PROT P".into(),
        v @ ("CWD" | "XCWD" | "MKD" | "XMKD" | "RMD" | "XRMD" | "DELE" | "RNFR" | "SIZE" | "MDTM" | "MLST" | "RETR"
        | "STOR" | "STOU" | "APPE" | "LIST" | "NLST" | "MLSD" | "STAT") => format!("{v} f"),
        v => v.into(),
    })
}

/// RFC 2389 3 / DESIGN (capabilities, not promises), issues 12 and 14:
/// through the real server, on LocalFs, MemoryFs and a storage with no
/// optional capability, every verb HELP lists is carried out (never 502),
/// FEAT and HELP list MFMT and MFF exactly when the storage can set times
/// (and MFF's FEAT line the facts it can set), and they then work (213)
/// and otherwise answer 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn design_capability_walk_every_advertised_verb_works() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let fs = MemoryFs::new();
    fs.write_file("f", b"x").unwrap();
    let plain_fs = MemoryFs::new();
    plain_fs.write_file("f", b"x").unwrap();
    let mut plain = ServerOptions::with_storage(loopback(), Arc::new(Plain(plain_fs)));
    plain.users = memory_options(&fs).users;
    for (name, options, sets_times) in
        [("LocalFs", local_options(dir.path()), true), ("MemoryFs", memory_options(&fs), true), ("plain", plain, false)]
    {
        let server = serve(options).await;
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        let feat = reply_text(&ftp.cmd("FEAT").await);
        let help = reply_text(&ftp.cmd("HELP").await);
        let listed: Vec<String> = help
            .lines()
            .filter(|l| l.starts_with(' '))
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert!(listed.len() > 30, "{name}: {help}");
        assert_eq!(feat.lines().any(|l| l.trim() == "MFMT"), sets_times, "{name}: {feat}");
        assert_eq!(listed.iter().any(|v| v == "MFMT"), sets_times, "{name}: {help}");
        let mfmt = ftp.cmd("MFMT 20240101000000 f").await;
        assert_eq!(code(&mfmt), if sets_times { 213 } else { 502 }, "{name}: {}", reply_text(&mfmt));
        let mff_feat = if sets_times { Some("MFF Modify;UNIX.mode;") } else { None };
        assert_eq!(feat.lines().map(str::trim).find(|l| l.starts_with("MFF")), mff_feat, "{name}: {feat}");
        assert_eq!(listed.iter().any(|v| v == "MFF"), sets_times, "{name}: {help}");
        let mff = ftp.cmd("MFF modify=20240101000000;UNIX.mode=0644; f").await;
        assert_eq!(code(&mff), if sets_times { 213 } else { 502 }, "{name}: {}", reply_text(&mff));
        // The walk may delete or rename `f`: it comes last.
        for verb in &listed {
            let Some(line) = probe(verb) else { continue };
            let reply = ftp.cmd(&line).await;
            assert_ne!(code(&reply), 502, "{name}: HELP lists {verb}, but {line} answers {}", reply_text(&reply));
            if code(&reply) == 150 || code(&reply) == 125 {
                panic!("{name}: {line} started a transfer without a data connection");
            }
            ftp.send("NOOP").await;
            assert_eq!(code(&ftp.reply().await), 200, "{name}: after {line}");
        }
        for never in ["SMNT", "MFCT", "HASH", "ADAT", "CONF", "ENC", "MIC"] {
            assert!(!listed.iter().any(|v| v == never), "{name}: {never} listed: {help}");
        }
    }
}

/// draft-somers-ftp-mfxx section 5 (MFF), end to end on both storages:
/// the mode and time set show in LIST and MDTM, a read-only user is
/// refused (550), and a path outside the root is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfxx_5_mff_sets_mode_and_time_on_both_storages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let fs = MemoryFs::new();
    fs.write_file("f", b"x").unwrap();
    for (name, mut options) in [("LocalFs", local_options(dir.path())), ("MemoryFs", memory_options(&fs))] {
        options.users.push(User { name: "bob".into(), password: "pw".into(), writable: false });
        let server = serve(options).await;
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        let reply = reply_text(&ftp.cmd("MFF UNIX.mode=0640;modify=20200304050607; f").await);
        assert_eq!(reply.trim_end(), "213 Modify=20200304050607;UNIX.mode=0640; /f", "{name}");
        assert_eq!(reply_text(&ftp.cmd("MDTM f").await).trim_end(), "213 20200304050607", "{name}");
        let (_, listing, _) = ftp.download("LIST f").await;
        let listing = String::from_utf8(listing).unwrap();
        assert!(listing.starts_with("-rw-r----- "), "{name}: {listing}");
        assert_eq!(ftp.code("MFF UNIX.mode=0644; ../../etc/passwd").await, 550, "{name}: confined (P1)");
        assert_eq!(ftp.code("MFF UNIX.mode=0644; missing").await, 550, "{name}");

        let (mut bob, _) = Ftp::connect(server.addr).await;
        bob.login("bob", "pw").await;
        assert_eq!(bob.code("MFF UNIX.mode=0777; f").await, 550, "{name}: a read-only user");
        let (_, listing, _) = bob.download("LIST f").await;
        assert!(String::from_utf8(listing).unwrap().starts_with("-rw-r----- "), "{name}: unchanged");
    }
}

/// Issue 12: RMD of a non-empty directory says so (550 Directory not
/// empty.), on both storages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_4_1_3_rmd_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("full")).unwrap();
    std::fs::write(dir.path().join("full/f"), b"x").unwrap();
    let fs = MemoryFs::new();
    fs.write_file("full/f", b"x").unwrap();
    for options in [local_options(dir.path()), memory_options(&fs)] {
        let server = serve(options).await;
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        let reply = ftp.cmd("RMD full").await;
        assert_eq!(reply_text(&reply).trim_end(), "550 Directory not empty.");
        assert_eq!(ftp.code("DELE full/f").await, 250);
        assert_eq!(ftp.code("RMD full").await, 250);
    }
}
