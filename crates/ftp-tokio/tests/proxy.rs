//! The PROXY protocol on the control connection (issue 19;
//! `ServerOptions::proxy_protocol_from`, SECURITY.md C6), through the real
//! tokio server on loopback: a raw client from 127.0.0.1 plays the trusted
//! balancer and sends version 1 and 2 headers naming 127.0.0.2 or
//! 127.0.0.3 as the client, then speaks FTP as that client. Every wait is
//! bounded.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{Server, ServerOptions};
use support::{Ftp, WAIT, bounded, code, memory_options, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The balancer's address, trusted by [`trusting`].
const BALANCER: &str = "127.0.0.1";

/// Options trusting 127.0.0.1/32 to send PROXY headers.
fn trusting(fs: &MemoryFs) -> ServerOptions {
    let mut options = memory_options(fs);
    options.proxy_protocol_from = vec!["127.0.0.1/32".parse().unwrap()];
    options
}

/// A version 1 header naming `client` (port 40000) as the source.
fn v1(client: &str, server: SocketAddr) -> Vec<u8> {
    format!("PROXY TCP4 {client} {} 40000 {}\r\n", server.ip(), server.port()).into_bytes()
}

/// A version 2 PROXY header naming `client` (port 40000) as the source.
fn v2(client: &str, server: SocketAddr) -> Vec<u8> {
    let source = SocketAddr::new(ip(client), 40000);
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (source, server),
    )
    .build()
    .unwrap()
}

/// A TCP connection from `from` to `to`.
async fn connect(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(ip(from), 0)).unwrap();
    tokio::time::timeout(WAIT, socket.connect(to)).await.expect("connect in time").expect("connect")
}

/// Connects from the balancer, writes `chunks` (a pause between them, so
/// they are separate TCP segments), and returns the control connection of
/// `client` (data connections made from `client`) with its first reply,
/// `None` when the server closed without one.
async fn through_balancer(to: SocketAddr, chunks: &[&[u8]], client: &str) -> (Ftp, Option<u16>) {
    let mut stream = connect(BALANCER, to).await;
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        stream.write_all(chunk).await.unwrap();
    }
    let mut ftp = Ftp::from_stream(stream, ip(client));
    let first = ftp.try_reply().await.map(|r| code(&r));
    (ftp, first)
}

/// Reads `stream` to its end (bounded) and returns what came.
async fn drain(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut bytes)).await.expect("closed in time").unwrap_or(0);
    bytes
}

/// Issue 19 ("PROXY v1 and v2 from a trusted source give the real client
/// address in ... limits"; SECURITY.md C3, C6): `max_sessions_per_ip = 1`
/// counts the address the header carries, not the balancer's: a second
/// session of 127.0.0.2 is refused 421 whichever version carried it, one of
/// 127.0.0.3 is served, and the balancer's own address holds no session.
#[tokio::test]
async fn issue19_v1_and_v2_carry_the_client_for_the_limits() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let mut options = trusting(&fs);
        options.max_sessions_per_ip = 1;
        let server = serve(options).await;
        let (mut a, first) = through_balancer(server.addr, &[&v1("127.0.0.2", server.addr)], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        a.login("alice", "secret").await;
        let (mut b, first) = through_balancer(server.addr, &[&v2("127.0.0.2", server.addr)], "127.0.0.2").await;
        assert_eq!(first, Some(421), "a second session of 127.0.0.2");
        assert!(b.closed().await);
        let (mut c, first) = through_balancer(server.addr, &[&v2("127.0.0.3", server.addr)], "127.0.0.3").await;
        assert_eq!(first, Some(220), "127.0.0.3 has its own count");
        c.login("alice", "secret").await;
        let (mut d, first) = through_balancer(server.addr, &[&v1("127.0.0.3", server.addr)], "127.0.0.3").await;
        assert_eq!(first, Some(421), "a second session of 127.0.0.3");
        assert!(d.closed().await);
        assert_eq!(a.code("NOOP").await, 200);
        assert_eq!(c.code("NOOP").await, 200);
    })
    .await;
}

/// Issue 19 / SECURITY.md D3: the passive theft check compares with the
/// carried client address: with 127.0.0.2 as the client, a data
/// connection from the balancer's 127.0.0.1 is refused (closed, no
/// bytes), and the session keeps waiting for 127.0.0.2's, which gets the
/// file; an upload from 127.0.0.2 goes through too.
#[tokio::test]
async fn issue19_sec_d3_passive_theft_check_uses_the_carried_address() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let server = serve(trusting(&fs)).await;
        let (mut ftp, first) = through_balancer(server.addr, &[&v2("127.0.0.2", server.addr)], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.upload("STOR f.txt", b"proxied bytes").await.1, 226);
        let to = ftp.epsv().await;
        assert_eq!(ftp.code("RETR f.txt").await, 150);
        let mut thief = connect(BALANCER, to).await;
        assert!(drain(&mut thief).await.is_empty(), "the balancer's address is not the client's");
        let mut data = ftp.data(to).await;
        assert_eq!(drain(&mut data).await, b"proxied bytes");
        assert_eq!(code(&ftp.reply().await), 226);
    })
    .await;
}

/// Issue 19 ("a spoofed PORT to another address through the balancer is
/// still refused"; SECURITY.md D1, D2): with 127.0.0.2 as the carried
/// client, PORT and EPRT naming the balancer's 127.0.0.1 (or any other
/// host) are refused 504; naming 127.0.0.2 they are accepted.
#[tokio::test]
async fn issue19_sec_d1_port_bounce_check_uses_the_carried_address() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let server = serve(trusting(&fs)).await;
        let (mut ftp, first) = through_balancer(server.addr, &[&v1("127.0.0.2", server.addr)], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        ftp.login("alice", "secret").await;
        for refused in ["PORT 127,0,0,1,200,10", "EPRT |1|127.0.0.1|51210|", "PORT 127,0,0,9,200,10"] {
            let reply = ftp.cmd(refused).await;
            assert_eq!(code(&reply), 504, "{refused}: {}", reply_text(&reply));
        }
        assert_eq!(ftp.code("PORT 127,0,0,2,200,10").await, 200);
        assert_eq!(ftp.code("EPRT |1|127.0.0.2|51210|").await, 200);
    })
    .await;
}

/// Issue 19: a trusted balancer that sends no header is refused: the
/// connection is closed without a greeting, at once for bytes that are not
/// a header (junk after `PROXY`, a plain command, an overlong line) and
/// after `proxy::HEADER_TIMEOUT` for silence; each counts as a
/// `proxy_protocol` refusal.
#[tokio::test]
async fn issue19_trusted_source_without_a_valid_header_is_closed() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let server = Server::bind(trusting(&fs)).await.unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats();
        let _task = tokio::spawn(server.run());
        let long = format!("PROXY UNKNOWN {}\r\n", "x".repeat(200));
        let junk: [&[u8]; 5] = [
            b"PROXY JUNK\r\n",
            b"PROXY TCP4 127.0.0.2 127.0.0.1 40000\r\n",
            b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 21\n",
            b"USER alice\r\n",
            long.as_bytes(),
        ];
        for bytes in junk {
            let mut stream = connect(BALANCER, addr).await;
            stream.write_all(bytes).await.unwrap();
            assert!(drain(&mut stream).await.is_empty(), "{:?}: closed, no greeting", String::from_utf8_lossy(bytes));
        }
        let started = tokio::time::Instant::now();
        let mut silent = connect(BALANCER, addr).await;
        assert!(drain(&mut silent).await.is_empty(), "silence: closed, no greeting");
        assert!(started.elapsed() >= ftp_tokio::proxy::HEADER_TIMEOUT - Duration::from_millis(100));
        assert_eq!(stats.snapshot().refused_proxy_protocol, 6);
        assert_eq!(stats.snapshot().sessions_total, 0);
    })
    .await;
}

/// Issue 19 ("a PROXY header from an untrusted source is refused";
/// SECURITY.md C6): a client that is not a trusted balancer and starts
/// with a header (either version) gets 421 after the greeting and is
/// closed, so it cannot name an address of its choosing; the same with
/// the PROXY protocol off.
#[tokio::test]
async fn issue19_sec_c6_header_from_an_untrusted_source_is_refused() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let trusted = serve(trusting(&fs)).await;
        let off = serve(memory_options(&fs)).await;
        for (addr, from) in [(trusted.addr, "127.0.0.5"), (off.addr, "127.0.0.5"), (off.addr, BALANCER)] {
            for header in [v1("127.0.0.9", addr), v2("127.0.0.9", addr)] {
                let (mut ftp, greeting) = Ftp::connect_from(Some(ip(from)), addr).await;
                assert_eq!(code(&greeting), 220);
                let mut stream = ftp.into_stream();
                stream.write_all(&header).await.unwrap();
                ftp = Ftp::from_stream(stream, ip(from));
                let reply = ftp.reply().await;
                assert_eq!(code(&reply), 421, "{from} to {addr}: {}", reply_text(&reply));
                assert!(ftp.closed().await);
            }
        }
        // A trusted balancer's header followed by a second one.
        let (mut ftp, first) = through_balancer(trusted.addr, &[&v1("127.0.0.2", trusted.addr)], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        let mut stream = ftp.into_stream();
        stream.write_all(&v1("127.0.0.9", trusted.addr)).await.unwrap();
        ftp = Ftp::from_stream(stream, ip("127.0.0.2"));
        assert_eq!(code(&ftp.reply().await), 421, "a second header");
    })
    .await;
}

/// Issue 19: a header split over several TCP writes (version 1 in three,
/// version 2 byte by byte for its first 20 bytes) is read whole, and bytes
/// the client sent right after the header in the same write are kept for
/// the session (`read_header` consumes the header only).
#[tokio::test]
async fn issue19_split_header_and_bytes_after_it() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let server = serve(trusting(&fs)).await;
        let header = v1("127.0.0.2", server.addr);
        let (mut ftp, first) =
            through_balancer(server.addr, &[&header[..3], &header[3..20], &header[20..]], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        ftp.login("alice", "secret").await;
        let header = v2("127.0.0.3", server.addr);
        let mut chunks: Vec<&[u8]> = header[..20].chunks(1).collect();
        chunks.push(&header[20..]);
        let (mut ftp, first) = through_balancer(server.addr, &chunks, "127.0.0.3").await;
        assert_eq!(first, Some(220));
        ftp.login("alice", "secret").await;
        let mut both = v2("127.0.0.2", server.addr);
        both.extend_from_slice(b"USER alice\r\n");
        let (mut ftp, first) = through_balancer(server.addr, &[&both], "127.0.0.2").await;
        assert_eq!(first, Some(220));
        assert_eq!(code(&ftp.reply().await), 331, "the USER sent with the header");
        assert_eq!(ftp.code("PASS secret").await, 230);
    })
    .await;
}

/// Issue 19: version 1 `PROXY UNKNOWN` and version 2 `LOCAL` (HAProxy's
/// health checks) are served as the balancer's own address.
#[tokio::test]
async fn issue19_unknown_and_local_are_the_balancers_address() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let mut options = trusting(&fs);
        options.max_sessions_per_ip = 1;
        let server = serve(options).await;
        let (mut ftp, first) = through_balancer(server.addr, &[b"PROXY UNKNOWN\r\n"], BALANCER).await;
        assert_eq!(first, Some(220));
        ftp.login("alice", "secret").await;
        let local = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Local,
            ppp::v2::Protocol::Stream,
            (SocketAddr::new(ip("127.0.0.9"), 1), server.addr),
        )
        .build()
        .unwrap();
        let (_, first) = through_balancer(server.addr, &[&local], BALANCER).await;
        assert_eq!(first, Some(421), "the balancer's own address already holds its one session");
    })
    .await;
}
