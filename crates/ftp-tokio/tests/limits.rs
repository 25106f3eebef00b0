//! Session limits (SECURITY.md C3) and graceful shutdown (SECURITY.md C5)
//! of the server, driven over loopback by a raw client. Nothing here
//! depends on timing: each step waits for a reply, bounded by a timeout.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use ftp_tokio::memory::MemoryFs;
use support::{Ftp, bounded, code, memory_options, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// Connects until the greeting is not 421: a session that just ended is
/// counted out when its task ends, which may be a moment after the client
/// saw the connection close. Bounded.
async fn connect_when_admitted(from: Option<IpAddr>, addr: std::net::SocketAddr) -> Ftp {
    for _ in 0..200 {
        let (c, greeting) = Ftp::connect_from(from, addr).await;
        if code(&greeting) == 220 {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never admitted again");
}

/// SECURITY.md C3: past `max_sessions_per_ip`, a connection from the same
/// address gets 421 and is closed before the greeting, while another
/// address (127.0.0.2) is still served; a slot freed is usable again.
#[tokio::test]
async fn sec_c3_sessions_per_ip_are_limited() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let mut options = memory_options(&fs);
        options.max_sessions_per_ip = 2;
        let server = serve(options).await;
        let (mut a, g) = Ftp::connect_from(ip("127.0.0.1"), server.addr).await;
        assert_eq!(code(&g), 220);
        let (_b, g) = Ftp::connect_from(ip("127.0.0.1"), server.addr).await;
        assert_eq!(code(&g), 220);
        let (mut c, g) = Ftp::connect_from(ip("127.0.0.1"), server.addr).await;
        assert_eq!(code(&g), 421, "{}", reply_text(&g));
        assert!(c.closed().await, "refused before the greeting, then closed");
        let (mut d, g) = Ftp::connect_from(ip("127.0.0.2"), server.addr).await;
        assert_eq!(code(&g), 220, "another address has its own count");
        d.login("anonymous", "guest@").await;
        assert_eq!(a.code("QUIT").await, 221);
        assert!(a.closed().await);
        let mut e = connect_when_admitted(ip("127.0.0.1"), server.addr).await;
        e.login("alice", "secret").await;
    })
    .await;
}

/// SECURITY.md C3: past `max_sessions` in all, 421 whatever the address.
#[tokio::test]
async fn sec_c3_sessions_in_all_are_limited() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let mut options = memory_options(&fs);
        options.max_sessions = 2;
        let server = serve(options).await;
        let (_a, g) = Ftp::connect_from(ip("127.0.0.1"), server.addr).await;
        assert_eq!(code(&g), 220);
        let (_b, g) = Ftp::connect_from(ip("127.0.0.2"), server.addr).await;
        assert_eq!(code(&g), 220);
        let (mut c, g) = Ftp::connect_from(ip("127.0.0.3"), server.addr).await;
        assert_eq!(code(&g), 421);
        assert!(c.closed().await);
    })
    .await;
}

/// SECURITY.md C5: a shutdown closes idle sessions with 421 at once, lets a
/// running download finish (226, then 421), answers new connections 421
/// meanwhile, and then `run` returns; nothing was cut.
#[tokio::test]
async fn sec_c5_shutdown_drains_running_transfers() {
    bounded(4, async {
        let fs = MemoryFs::new();
        let big: Vec<u8> = (0..16_000_000u32).map(|i| (i % 253) as u8).collect();
        fs.write_file("big.bin", &big).unwrap();
        let server = serve(memory_options(&fs)).await;
        let (mut idle, _) = Ftp::connect(server.addr).await;
        idle.login("anonymous", "x").await;
        let (mut busy, _) = Ftp::connect(server.addr).await;
        busy.login("anonymous", "x").await;
        assert_eq!(busy.code("TYPE I").await, 200);
        let to = busy.epsv().await;
        let mut data = busy.data(to).await;
        assert_eq!(busy.code("RETR big.bin").await, 125);
        // The download cannot finish until this test reads it: 16 MB do not
        // fit in the socket buffers.
        let handle = server.shutdown.clone();
        let stopping = tokio::spawn(async move { handle.shutdown(Duration::from_secs(120)).await });
        let bye = idle.reply().await;
        assert_eq!(code(&bye), 421, "idle sessions are told at once");
        assert!(idle.closed().await);
        let (mut late, g) = Ftp::connect(server.addr).await;
        assert_eq!(code(&g), 421, "new connections are refused while draining");
        assert!(late.closed().await);
        let mut got = Vec::new();
        data.read_to_end(&mut got).await.unwrap();
        assert!(got == big, "the download completed");
        assert_eq!(code(&busy.reply().await), 226);
        assert_eq!(code(&busy.reply().await), 421);
        assert!(busy.closed().await);
        assert_eq!(stopping.await.unwrap(), 0, "nothing was cut");
        assert!(server.task.await.unwrap().is_ok(), "run returned");
    })
    .await;
}

/// SECURITY.md C5 behind a load balancer (issue 19, "a node drained with
/// SIGTERM finishes its transfers while the balancer sends new sessions
/// elsewhere"): `ShutdownHandle::drain` closes the listener, so a new
/// connection is refused by the kernel (not answered 421), while idle
/// sessions get 421 and a running download finishes (226, then 421); then
/// `run` returns and nothing was cut.
#[tokio::test]
async fn sec_c5_drain_closes_the_listener_and_finishes_transfers() {
    bounded(4, async {
        let fs = MemoryFs::new();
        let big: Vec<u8> = (0..16_000_000u32).map(|i| (i % 251) as u8).collect();
        fs.write_file("big.bin", &big).unwrap();
        let server = serve(memory_options(&fs)).await;
        let (mut idle, _) = Ftp::connect(server.addr).await;
        idle.login("anonymous", "x").await;
        let (mut busy, _) = Ftp::connect(server.addr).await;
        busy.login("anonymous", "x").await;
        assert_eq!(busy.code("TYPE I").await, 200);
        let to = busy.epsv().await;
        let mut data = busy.data(to).await;
        assert_eq!(busy.code("RETR big.bin").await, 125);
        // 16 MB do not fit in the socket buffers: the download runs until
        // this test reads it.
        let handle = server.shutdown.clone();
        let draining = tokio::spawn(async move { handle.drain(Duration::from_secs(120)).await });
        assert_eq!(code(&idle.reply().await), 421, "idle sessions are told at once");
        assert!(idle.closed().await);
        // The listener closes as the drain starts (the idle session's 421
        // comes from the same phase change): a connect is refused at once.
        let mut refused = false;
        for _ in 0..100 {
            match tokio::net::TcpStream::connect(server.addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        assert!(refused, "new connections are refused while draining");
        let mut got = Vec::new();
        data.read_to_end(&mut got).await.unwrap();
        assert!(got == big, "the download completed");
        assert_eq!(code(&busy.reply().await), 226);
        assert_eq!(code(&busy.reply().await), 421);
        assert!(busy.closed().await);
        assert_eq!(draining.await.unwrap(), 0, "nothing was cut");
        assert!(server.task.await.unwrap().is_ok(), "run returned");
    })
    .await;
}

/// SECURITY.md C5 and X3: an upload still running when the grace period
/// ends is cut; the client gets 421, never 226.
#[tokio::test]
async fn sec_c5_shutdown_cuts_an_upload_with_421() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let server = serve(memory_options(&fs)).await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("alice", "secret").await;
        let to = c.epsv().await;
        let mut data = c.data(to).await;
        assert_eq!(c.code("STOR part.bin").await, 125);
        data.write_all(&[7u8; 100_000]).await.unwrap();
        // The upload never ends by itself: the data connection stays open.
        let cut = server.shutdown.shutdown(Duration::from_millis(200)).await;
        assert_eq!(cut, 1, "one session was still transferring");
        let reply = c.reply().await;
        assert_eq!(code(&reply), 421, "{}", reply_text(&reply));
        assert!(c.closed().await, "and nothing after it: no 226");
        assert!(server.task.await.unwrap().is_ok());
    })
    .await;
}

/// SECURITY.md C3 under implicit FTPS: a connection past the limit is
/// closed before any TLS handshake (nothing is sent: a 421 could only go
/// out through one), so refused clients cost no handshake.
#[tokio::test]
async fn sec_c3_implicit_ftps_refusal_costs_no_handshake() {
    bounded(2, async {
        let fs = MemoryFs::new();
        let mut options = memory_options(&fs);
        options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
        options.implicit_tls = true;
        options.max_sessions_per_ip = 1;
        let server = serve(options).await;
        // Admitted: the server waits for this client's TLS hello.
        let first = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut second = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut buf = [0u8; 64];
        let n = second.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "closed without a byte");
        drop(first);
    })
    .await;
}
