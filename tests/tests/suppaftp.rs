//! Our server with suppaftp 12.2 (a Rust FTP client, sync API, FTPS on
//! rustls with ring): every operation in plain FTP and explicit FTPS
//! (`AUTH TLS`, `PBSZ 0`, `PROT P`) under TLS 1.2 and TLS 1.3, over `PASV`,
//! `EPSV` and `PORT`; many consecutive protected uploads; `REST` sent before
//! the data connection is set up; `MLST` of a directory.
//!
//! suppaftp's rustls client keeps a session cache in its `ClientConfig` and
//! resumes the control connection's TLS session on its data connections,
//! so the server's resumption check (SECURITY.md L6) stays on, except
//! where a TLS 1.3 session makes more data connections than it holds
//! tickets: rustls uses each TLS 1.3 ticket once (RFC 8446 C.4) and gets
//! new ones only where the server sends them (the control handshake, and
//! at most data connections the client reads to the end: tickets on an
//! upload's data connection cut it short), so a run of uploads can outlast
//! the supply. Those tests turn the check off and
//! [`suppaftp_ftps_tls13_many_data_connections_with_resumption_required`]
//! covers the combination. The certificate is self-signed: the client
//! accepts any certificate (and still checks the handshake signatures).
//! Every transferred file is compared byte for byte with its source.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ftp_interop::data::{
    PseudoRandom, pseudo_random_bytes, pseudo_random_sha256, sha256_file, sha256_hex, verify_file,
    write_pseudo_random_file,
};
use ftp_interop::{OurServer, PASSWORD, USER};
use rustls::SupportedProtocolVersion;
use suppaftp::types::FileType;
use suppaftp::{
    FtpError, FtpResult, FtpStream, ImplFtpStream, Mode, RustlsConnector, RustlsFtpStream, Status, TlsStream,
};

const MIB: u64 = 1 << 20;
/// Bound on every socket read, write and connect (control and data).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback TCP connection with bounded connect, reads and writes.
fn bounded_tcp(addr: SocketAddr) -> std::io::Result<TcpStream> {
    assert!(addr.ip().is_loopback(), "only loopback connections: {addr}");
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

fn bound(socket: &TcpStream) {
    socket.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    socket.set_write_timeout(Some(IO_TIMEOUT)).expect("write timeout");
}

fn passive_builder(addr: SocketAddr) -> FtpResult<TcpStream> {
    bounded_tcp(addr).map_err(FtpError::ConnectionError)
}

/// A plain session, logged in, binary type.
fn plain(server: &OurServer) -> FtpStream {
    let stream = bounded_tcp(server.addr()).expect("connect");
    let mut ftp = FtpStream::connect_with_stream(stream)
        .expect("greeting")
        .passive_stream_builder(passive_builder)
        .active_mode(IO_TIMEOUT);
    ftp.set_mode(Mode::Passive);
    ftp.login(USER, PASSWORD).expect("login");
    // put_file and append_file would turn LF into CRLF in the default ASCII type.
    ftp.transfer_type(FileType::Binary).expect("TYPE I");
    ftp
}

/// A rustls client configuration offering only `versions`, with rustls'
/// default in-memory session cache (so data connections resume).
fn client_config(versions: &[&'static SupportedProtocolVersion]) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ftp_tokio::tls::AcceptAnyCertificate::new(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// An explicit FTPS session (`AUTH TLS`, `PBSZ 0`, `PROT P`), logged in,
/// binary type.
fn secure(server: &OurServer, versions: &[&'static SupportedProtocolVersion]) -> RustlsFtpStream {
    let stream = bounded_tcp(server.addr()).expect("connect");
    let mut ftp = RustlsFtpStream::connect_with_stream(stream)
        .expect("greeting")
        .passive_stream_builder(passive_builder)
        .active_mode(IO_TIMEOUT);
    ftp.set_mode(Mode::Passive);
    let mut ftp =
        ftp.into_secure(RustlsConnector::from(client_config(versions)), "localhost").expect("AUTH TLS, PBSZ, PROT P");
    ftp.login(USER, PASSWORD).expect("login over TLS");
    ftp.transfer_type(FileType::Binary).expect("TYPE I");
    ftp
}

/// `RETR` into memory; the data socket is bounded before the first byte
/// (and before the data connection's TLS handshake, which rustls runs on
/// first use).
fn download<T: TlsStream>(ftp: &mut ImplFtpStream<T>, path: &str) -> Vec<u8> {
    let mut stream = ftp.retr_as_stream(path).unwrap_or_else(|e| panic!("RETR {path}: {e}"));
    bound(stream.get_ref().get_ref());
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap_or_else(|e| panic!("reading the data of RETR {path}: {e}"));
    stream.finish().unwrap_or_else(|e| panic!("completion reply of RETR {path}: {e}"));
    out
}

#[derive(Clone, Copy, Debug)]
enum Upload {
    Stor,
    Appe,
}

/// `STOR` or `APPE` of everything `source` yields.
fn upload<T: TlsStream>(ftp: &mut ImplFtpStream<T>, how: Upload, path: &str, source: &mut impl Read) -> FtpResult<u64> {
    let mut stream = match how {
        Upload::Stor => ftp.put_with_stream(path)?,
        Upload::Appe => ftp.append_with_stream(path)?,
    };
    bound(stream.get_ref().get_ref());
    let sent = std::io::copy(source, &mut stream).map_err(FtpError::ConnectionError)?;
    stream.flush().map_err(FtpError::ConnectionError)?;
    stream.finish()?;
    Ok(sent)
}

fn must<V>(what: &str, result: FtpResult<V>) -> V {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Every operation in one directory named `tag`, with the data channel in
/// `mode`: MKD, STOR, RETR, LIST/NLST/MLSD, REST+RETR, SIZE then REST+STOR,
/// APPE, RNFR/RNTO, DELE, MKD/RMD of a subdirectory, and cleanup.
fn every_operation<T: TlsStream>(ftp: &mut ImplFtpStream<T>, root: &Path, mode: Mode, tag: &str, seed: u64) {
    ftp.set_mode(mode);
    let dir = format!("/{tag}");
    must("MKD", ftp.mkdir(&dir));
    assert!(root.join(tag).is_dir(), "{tag}: MKD made the directory");
    must("CWD", ftp.cwd(&dir));
    assert_eq!(must("PWD", ftp.pwd()), dir);

    // Upload (STOR) and download (RETR), byte for byte.
    let up_len = 2 * MIB + 13;
    let sent = must("STOR up.bin", upload(ftp, Upload::Stor, "up.bin", &mut PseudoRandom::new(seed, up_len)));
    assert_eq!(sent, up_len);
    assert_eq!(verify_file(&root.join(tag).join("up.bin"), seed, up_len), Ok(up_len), "{tag}: STOR");
    let down_sha = write_pseudo_random_file(&root.join(tag).join("down.bin"), seed + 1, 3 * MIB - 7);
    assert_eq!(sha256_hex(&download(ftp, "down.bin")), down_sha, "{tag}: RETR");

    // Listings name both files; MLSD gives their exact sizes.
    let list = must("LIST", ftp.list(None));
    assert!(list.iter().any(|l| l.ends_with(" up.bin")) && list.iter().any(|l| l.ends_with(" down.bin")), "{list:?}");
    let mut names: Vec<String> =
        must("NLST", ftp.nlst(None)).into_iter().map(|n| n.rsplit('/').next().unwrap_or(&n).to_owned()).collect();
    names.sort();
    assert_eq!(names, ["down.bin", "up.bin"], "{tag}: NLST");
    let mlsd = must("MLSD", ftp.mlsd(Some(&dir)));
    let entry = |name: &str| {
        mlsd.iter()
            .find(|l| l.split_once(' ').is_some_and(|(_, n)| n == name))
            .unwrap_or_else(|| panic!("{tag}: MLSD has {name}: {mlsd:?}"))
            .to_ascii_lowercase()
    };
    assert!(entry("up.bin").contains(&format!("size={up_len};")), "{tag}: {mlsd:?}");
    assert!(entry("down.bin").contains(&format!("size={};", 3 * MIB - 7)), "{tag}: {mlsd:?}");
    assert!(entry("up.bin").contains("type=file;"), "{tag}: {mlsd:?}");

    // Download continued with REST (suppaftp sends it after PASV/EPSV/PORT,
    // right before RETR).
    let whole = std::fs::read(root.join(tag).join("down.bin")).unwrap();
    must("REST", ftp.resume_transfer(1_000_000));
    assert_eq!(sha256_hex(&download(ftp, "down.bin")), sha256_hex(&whole[1_000_000..]), "{tag}: REST+RETR");

    // Upload continued: the first 1,200,000 bytes, SIZE, then REST+STOR of the rest.
    let part = pseudo_random_bytes(seed + 2, 2_000_003);
    must("STOR part.bin", upload(ftp, Upload::Stor, "part.bin", &mut &part[..1_200_000]));
    let have = must("SIZE", ftp.size("part.bin"));
    assert_eq!(have, 1_200_000, "{tag}: SIZE of the interrupted upload");
    must("REST", ftp.resume_transfer(have));
    must("REST+STOR part.bin", upload(ftp, Upload::Stor, "part.bin", &mut &part[have..]));
    assert_eq!(sha256_file(&root.join(tag).join("part.bin")), sha256_hex(&part), "{tag}: REST+STOR");

    // Upload continued with APPE.
    must("STOR app.bin", upload(ftp, Upload::Stor, "app.bin", &mut &part[..777_777]));
    must("APPE app.bin", upload(ftp, Upload::Appe, "app.bin", &mut &part[777_777..]));
    assert_eq!(sha256_file(&root.join(tag).join("app.bin")), sha256_hex(&part), "{tag}: APPE");

    // Rename, delete, make and remove a directory.
    must("RNFR/RNTO", ftp.rename("up.bin", "renamed.bin"));
    assert!(!root.join(tag).join("up.bin").exists(), "{tag}: RNFR source gone");
    assert_eq!(verify_file(&root.join(tag).join("renamed.bin"), seed, up_len), Ok(up_len), "{tag}: RNTO bytes");
    for name in ["renamed.bin", "down.bin", "part.bin", "app.bin"] {
        must("DELE", ftp.rm(name));
        assert!(!root.join(tag).join(name).exists(), "{tag}: DELE {name}");
    }
    assert!(ftp.rm("renamed.bin").is_err(), "{tag}: DELE of a missing file fails");
    must("MKD sub", ftp.mkdir("sub"));
    assert!(root.join(tag).join("sub").is_dir());
    must("RMD sub", ftp.rmdir("sub"));
    assert!(!root.join(tag).join("sub").exists(), "{tag}: RMD");
    must("CWD /", ftp.cwd("/"));
    must("RMD", ftp.rmdir(&dir));
    assert!(!root.join(tag).exists(), "{tag}: RMD of the emptied directory");
}

fn every_mode<T: TlsStream>(ftp: &mut ImplFtpStream<T>, root: &Path, seed: u64) {
    for (i, (mode, tag)) in
        [(Mode::Passive, "pasv"), (Mode::ExtendedPassive, "epsv"), (Mode::Active, "port")].into_iter().enumerate()
    {
        every_operation(ftp, root, mode, tag, seed + 10 * i as u64);
    }
}

/// RFC 959 4.1.2-4.1.3 (`PASV`, `PORT`, `STOR`, `RETR`, `APPE`, `RNFR`/`RNTO`,
/// `DELE`, `MKD`, `RMD`, `LIST`, `NLST`), RFC 2428 (`EPSV`), RFC 3659 4, 5
/// and 7 (`SIZE`, `REST` with `RETR` and `STOR`, `MLSD`): plain FTP with
/// suppaftp in passive, extended passive and active mode.
#[test]
fn suppaftp_plain_every_operation_pasv_epsv_active() {
    let server = OurServer::start(|_| {});
    let mut ftp = plain(&server);
    every_mode(&mut ftp, server.root(), 100);
    must("QUIT", ftp.quit());
}

/// RFC 4217 (`AUTH TLS`, `PBSZ 0`, `PROT P`) under TLS 1.2 only: every
/// operation on protected data connections, passive and active; each data
/// connection resumes the control session (SECURITY.md L6, required).
#[test]
fn suppaftp_ftps_tls12_every_operation() {
    let server = OurServer::start_tls(|_| {});
    let mut ftp = secure(&server, &[&rustls::version::TLS12]);
    every_mode(&mut ftp, server.root(), 200);
    must("QUIT", ftp.quit());
}

/// RFC 4217 under TLS 1.3 only: every operation on protected data
/// connections, passive and active. About thirty data connections: more
/// than the control connection's tickets, so the resumption check is off
/// (see the module docs).
#[test]
fn suppaftp_ftps_tls13_every_operation() {
    let server = OurServer::start_tls(no_resumption_check);
    let mut ftp = secure(&server, &[&rustls::version::TLS13]);
    every_mode(&mut ftp, server.root(), 300);
    must("QUIT", ftp.quit());
}

/// `count` consecutive `STOR`s of 2 MiB (distinct contents) on one
/// session, then every file on the server compared with its source; the
/// failures are listed together.
fn consecutive_uploads<T: TlsStream>(ftp: &mut ImplFtpStream<T>, root: &Path, count: u64, seed: u64) {
    let len = 2 * MIB;
    for i in 0..count {
        let name = format!("up-{i:02}.bin");
        let sent = upload(ftp, Upload::Stor, &name, &mut PseudoRandom::new(seed + i, len))
            .unwrap_or_else(|e| panic!("upload {i} of {count} ({name}): {e}"));
        assert_eq!(sent, len);
    }
    let bad: Vec<String> = (0..count)
        .filter_map(|i| {
            let name = format!("up-{i:02}.bin");
            verify_file(&root.join(&name), seed + i, len).err().map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(bad.is_empty(), "{} of {count} uploads did not arrive whole:\n{}", bad.len(), bad.join("\n"));
    // The server's copy hashes like the source (SHA-256), for the first one.
    assert_eq!(sha256_file(&root.join("up-00.bin")), pseudo_random_sha256(seed, len));
}

/// RFC 4217 7 and SECURITY.md L7 under TLS 1.3: fifty consecutive 2 MiB
/// uploads on protected (`PROT P`) passive data connections, each compared
/// byte for byte on the server afterwards. TLS 1.3 session tickets sent on
/// a data connection that the uploading client never reads must not cost
/// the upload its last bytes (the client's close answers unread bytes with
/// a TCP reset). Fifty data connections outnumber the control
/// connection's tickets, so the resumption check is off (module docs).
#[test]
fn suppaftp_ftps_tls13_fifty_uploads_arrive_whole() {
    let server = OurServer::start_tls(no_resumption_check);
    let mut ftp = secure(&server, &[&rustls::version::TLS13]);
    consecutive_uploads(&mut ftp, server.root(), 50, 1_000);
    must("QUIT", ftp.quit());
}

/// RFC 4217 7 and SECURITY.md L7 under TLS 1.2: consecutive 2 MiB uploads
/// on protected passive data connections, each compared byte for byte.
#[test]
fn suppaftp_ftps_tls12_uploads_arrive_whole() {
    let server = OurServer::start_tls(|_| {});
    let mut ftp = secure(&server, &[&rustls::version::TLS12]);
    consecutive_uploads(&mut ftp, server.root(), 12, 2_000);
    must("QUIT", ftp.quit());
}

/// RFC 4217 10.2 and SECURITY.md L6 under TLS 1.3, with the server's
/// default policy (every data connection must resume the control
/// session): a session with twelve protected data connections (uploads,
/// downloads, listings, alternating), more than rustls' default of two
/// tickets per handshake. suppaftp offers a ticket of this session on
/// every data connection while it holds one and uses each once (rustls,
/// RFC 8446 C.4); a TLS 1.2 session resumes any number of times
/// ([`suppaftp_ftps_tls12_every_operation`]). The server must keep such a
/// client supplied (or accept its resumptions), not refuse a data
/// connection with 522 once the control handshake's tickets are used up.
#[test]
fn suppaftp_ftps_tls13_many_data_connections_with_resumption_required() {
    let server = OurServer::start_tls(|_| {});
    let mut ftp = secure(&server, &[&rustls::version::TLS13]);
    let down = write_pseudo_random_file(&server.root().join("down.bin"), 600, MIB + 1);
    for i in 0..4_u64 {
        let name = format!("up-{i}.bin");
        let sent = upload(&mut ftp, Upload::Stor, &name, &mut PseudoRandom::new(610 + i, MIB))
            .unwrap_or_else(|e| panic!("data connection {}: STOR {name}: {e}", 3 * i + 1));
        assert_eq!(sent, MIB);
        assert_eq!(verify_file(&server.root().join(&name), 610 + i, MIB), Ok(MIB), "{name}");
        let mut stream =
            ftp.retr_as_stream("down.bin").unwrap_or_else(|e| panic!("data connection {}: RETR: {e}", 3 * i + 2));
        bound(stream.get_ref().get_ref());
        let mut body = Vec::new();
        let read = stream.read_to_end(&mut body);
        let finished = stream.finish();
        assert!(read.is_ok() && finished.is_ok(), "data connection {}: RETR: {read:?} {finished:?}", 3 * i + 2);
        assert_eq!(sha256_hex(&body), down);
        let names = ftp.nlst(None).unwrap_or_else(|e| panic!("data connection {}: NLST: {e}", 3 * i + 3));
        assert!(names.iter().any(|n| n.ends_with(&name)), "{names:?}");
    }
    must("QUIT", ftp.quit());
}

fn no_resumption_check(options: &mut ftp_tokio::server::ServerOptions) {
    options.session = options.session.clone().require_tls_resumption(false);
}

fn rest(ftp: &mut FtpStream, offset: usize) {
    let _ =
        must(&format!("REST {offset}"), ftp.custom_command(format!("REST {offset}"), &[Status::RequestFilePending]));
}

/// RFC 3659 5.3 and 5.5 (REST, then the transfer command): `REST` sent as
/// soon as the client knows the offset, before `PASV`, `EPSV`, `PORT` or
/// `TYPE I` (what suppaftp did before 12, and other clients do), then
/// `RETR` or `STOR`. RFC 3659 wants `REST` last and leaves other orders
/// undefined; the server keeps the marker until the next transfer
/// command, as vsftpd does, rather than silently sending the whole file
/// (or overwriting from 0). `RETR` must send the tail from the offset;
/// `STOR` must write from it.
#[test]
fn suppaftp_rest_before_pasv_is_kept() {
    let server = OurServer::start(|_| {});
    let whole = pseudo_random_bytes(400, 2_500_000);
    std::fs::write(server.root().join("r.bin"), &whole).unwrap();
    let mut ftp = plain(&server);
    for (mode, label) in [(Mode::Passive, "PASV"), (Mode::ExtendedPassive, "EPSV"), (Mode::Active, "PORT")] {
        ftp.set_mode(mode);
        rest(&mut ftp, 1_234_567);
        let tail = download(&mut ftp, "r.bin");
        assert_eq!(tail.len(), whole.len() - 1_234_567, "REST, {label}, RETR: length");
        assert_eq!(sha256_hex(&tail), sha256_hex(&whole[1_234_567..]), "REST, {label}, RETR");
    }
    // REST, TYPE I, PASV, RETR.
    ftp.set_mode(Mode::Passive);
    rest(&mut ftp, 2_000_000);
    must("TYPE I", ftp.transfer_type(FileType::Binary));
    assert_eq!(sha256_hex(&download(&mut ftp, "r.bin")), sha256_hex(&whole[2_000_000..]), "REST, TYPE I, PASV, RETR");

    // REST, TYPE I, EPSV, STOR: the server holds the first 1,000,000 bytes.
    std::fs::write(server.root().join("w.bin"), &whole[..1_000_000]).unwrap();
    ftp.set_mode(Mode::ExtendedPassive);
    rest(&mut ftp, 1_000_000);
    must("TYPE I", ftp.transfer_type(FileType::Binary));
    must("STOR", upload(&mut ftp, Upload::Stor, "w.bin", &mut &whole[1_000_000..]));
    assert_eq!(sha256_file(&server.root().join("w.bin")), sha256_hex(&whole), "REST, TYPE I, EPSV, STOR");

    // The marker is used once: a following RETR sends the whole file.
    assert_eq!(sha256_hex(&download(&mut ftp, "r.bin")), sha256_hex(&whole), "REST applies to one transfer");
    must("QUIT", ftp.quit());
}

/// The facts and the pathname of an `MLST` reply line
/// (`" type=dir;modify=...; /sub"` after suppaftp trims it).
fn mlst_entry(line: &str) -> (String, String) {
    let (facts, name) = line.split_once(' ').unwrap_or_else(|| panic!("MLST entry without a pathname: {line:?}"));
    (facts.to_ascii_lowercase(), name.to_owned())
}

fn fact<'a>(facts: &'a str, name: &str) -> Option<&'a str> {
    facts.split(';').find_map(|f| f.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// RFC 3659 7.1-7.2 (`MLST`): the entry describes the object named, not
/// its contents: `MLST /sub` and `MLST sub` give `type=dir` for `sub`
/// itself (not its first child), `MLST` of a file gives `type=file` and
/// its exact size, no argument describes the working directory, and a
/// missing name gives 550 (7.2.1). This is the existence check many
/// clients (aioftp, rclone) build on.
#[test]
fn suppaftp_mlst_describes_the_named_directory_itself() {
    let server = OurServer::start(|_| {});
    let sub = server.root().join("sub");
    std::fs::create_dir_all(sub.join("inner dir")).unwrap();
    let _ = write_pseudo_random_file(&sub.join("a first.bin"), 500, 54_321);
    let _ = write_pseudo_random_file(&sub.join("b.bin"), 501, 10);
    let mut ftp = plain(&server);
    let features = must("FEAT", ftp.feat());
    assert!(features.keys().any(|k| k.eq_ignore_ascii_case("MLST")), "FEAT lists MLST: {features:?}");

    for path in ["/sub", "sub"] {
        let line = must(&format!("MLST {path}"), ftp.mlst(Some(path)));
        let (facts, name) = mlst_entry(&line);
        assert_eq!(fact(&facts, "type"), Some("dir"), "MLST {path} describes a directory: {line:?}");
        assert!(name.trim_end_matches('/').ends_with("sub"), "MLST {path} names {path} itself: {line:?}");
    }
    let line = must("MLST /sub/a first.bin", ftp.mlst(Some("/sub/a first.bin")));
    let (facts, name) = mlst_entry(&line);
    assert_eq!(fact(&facts, "type"), Some("file"), "{line:?}");
    assert_eq!(fact(&facts, "size"), Some("54321"), "{line:?}");
    assert!(name.ends_with("a first.bin"), "{line:?}");

    must("CWD", ftp.cwd("/sub"));
    let line = must("MLST", ftp.mlst(None));
    let (facts, name) = mlst_entry(&line);
    assert!(matches!(fact(&facts, "type"), Some("dir" | "cdir")), "MLST with no argument: the directory: {line:?}");
    assert!(!name.contains("first") && !name.contains("inner"), "not a member of the directory: {line:?}");

    match ftp.mlst(Some("/nowhere")) {
        Err(FtpError::UnexpectedResponse(r)) => assert_eq!(r.status, Status::FileUnavailable, "{r:?}"),
        other => panic!("MLST of a missing name: expected 550, got {other:?}"),
    }
    must("QUIT", ftp.quit());
}
