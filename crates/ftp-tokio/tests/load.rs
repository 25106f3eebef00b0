//! Load and faults (issue 6 section 4): a thousand concurrent sessions,
//! and clients that misbehave mid-transfer. Loopback only, every wait
//! bounded, no timing assertions. In each fault the server keeps serving
//! the other sessions, and an interrupted upload is never answered 226
//! (SECURITY.md X3, C2, C5).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ftp_session::server::ServerConfig;
use ftp_tokio::server::{ServerOptions, User};
use support::{Ftp, bounded, code, loopback, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A served directory: `small.txt`, and `big.bin` (16 MB: more than the
/// loopback socket buffers hold, so a download of it waits for its reader).
struct Tree {
    dir: tempfile::TempDir,
    small: Vec<u8>,
    big: Vec<u8>,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let small: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let big: Vec<u8> = (0..16_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(dir.path().join("small.txt"), &small).unwrap();
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    Tree { dir, small, big }
}

fn options(tree: &Tree) -> ServerOptions {
    let mut options = ServerOptions::new(loopback(), tree.dir.path().to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

/// One well-behaved session: login, LIST, RETR, QUIT; checks every reply
/// and the bytes.
async fn healthy(addr: SocketAddr, small: &[u8]) {
    let (mut c, greeting) = Ftp::connect(addr).await;
    assert_eq!(code(&greeting), 220);
    c.login("anonymous", "guest@").await;
    assert_eq!(c.code("TYPE I").await, 200);
    let (_, list, last) = c.download("LIST").await;
    assert_eq!(last, 226);
    assert!(String::from_utf8_lossy(&list).contains("small.txt"));
    let (_, bytes, last) = c.download("RETR small.txt").await;
    assert_eq!(last, 226);
    assert!(bytes == small, "RETR small.txt is byte-exact");
    assert_eq!(c.code("QUIT").await, 221);
}

/// Issue 6 section 4: 1,000 concurrent sessions, each logging in, listing
/// and retrieving a file, with zero failures. All sessions are open at the
/// same time (a barrier holds them after login) before any transfers.
/// About five sockets per session on both sides stay well under the fd
/// limit of this machine (20,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_1000_concurrent_sessions() {
    const SESSIONS: usize = 1000;
    let tree = tree();
    let mut options = options(&tree);
    options.max_sessions = SESSIONS + 10;
    options.max_sessions_per_ip = usize::MAX;
    let server = serve(options).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let small = Arc::new(tree.small.clone());
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let (barrier, small, addr) = (barrier.clone(), small.clone(), server.addr);
        tasks.push(tokio::spawn(async move {
            let (mut c, greeting) = Ftp::connect(addr).await;
            assert_eq!(code(&greeting), 220, "{}", reply_text(&greeting));
            c.login("anonymous", "guest@").await;
            barrier.wait().await;
            assert_eq!(c.code("TYPE I").await, 200);
            let (_, list, last) = c.download("LIST").await;
            assert_eq!(last, 226);
            assert!(String::from_utf8_lossy(&list).contains("small.txt"));
            let (_, bytes, last) = c.download("RETR small.txt").await;
            assert_eq!(last, 226);
            assert!(bytes == *small, "RETR is byte-exact");
            assert_eq!(c.code("QUIT").await, 221);
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = bounded(10, t).await {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{} of {SESSIONS} sessions failed; first: {}", failures.len(), failures[0]);
    healthy(server.addr, &tree.small).await;
}

/// A client that vanishes in the middle of a download (data and control
/// connection dropped): its session ends, and the others go on.
#[tokio::test]
async fn fault_client_disconnects_mid_download() {
    bounded(4, async {
        let tree = tree();
        let server = serve(options(&tree)).await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("anonymous", "x").await;
        assert_eq!(c.code("TYPE I").await, 200);
        let to = c.epsv().await;
        let mut data = c.data(to).await;
        assert_eq!(c.code("RETR big.bin").await, 125);
        let mut some = vec![0u8; 100_000];
        data.read_exact(&mut some).await.unwrap();
        assert!(some[..] == tree.big[..100_000]);
        drop(data);
        drop(c);
        healthy(server.addr, &tree.small).await;
        healthy(server.addr, &tree.small).await;
    })
    .await;
}

/// SECURITY.md X3: an upload whose data connection breaks (reset, so no
/// end of file could be mistaken for completion) is answered 426, never
/// 226; what arrived is kept (the default policy) and the client was told.
/// The session goes on, and so do the others.
#[tokio::test]
async fn fault_upload_connection_reset_is_426() {
    bounded(4, async {
        let tree = tree();
        let server = serve(options(&tree)).await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("alice", "secret").await;
        assert_eq!(c.code("TYPE I").await, 200);
        let to = c.epsv().await;
        let data = c.data(to).await;
        assert_eq!(c.code("STOR cut.bin").await, 125);
        let mut data = data;
        data.write_all(&[1u8; 50_000]).await.unwrap();
        data.flush().await.unwrap();
        data.set_zero_linger().unwrap();
        drop(data); // RST instead of FIN
        let reply = c.reply().await;
        assert_eq!(code(&reply), 426, "{}", reply_text(&reply));
        assert_eq!(c.code("NOOP").await, 200, "the session goes on");
        let (_, bytes, last) = c.download("RETR small.txt").await;
        assert_eq!((bytes == tree.small, last), (true, 226));
        healthy(server.addr, &tree.small).await;
    })
    .await;
}

/// SECURITY.md C2 (RFC 959 4.2 reply 425): PASV, then RETR, and the client
/// never connects: after the data-connection timeout the server answers
/// 425, the listener is gone, and the session and the others go on.
#[tokio::test]
async fn fault_data_connection_never_arrives() {
    bounded(4, async {
        let tree = tree();
        let mut options = options(&tree);
        options.session = ServerConfig::default().data_connect_timeout(Duration::from_millis(300));
        let server = serve(options).await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("anonymous", "x").await;
        assert_eq!(c.code("TYPE I").await, 200);
        let _never = c.epsv().await;
        assert_eq!(c.code("RETR small.txt").await, 150);
        healthy(server.addr, &tree.small).await;
        let reply = c.reply().await;
        assert_eq!(code(&reply), 425, "{}", reply_text(&reply));
        assert_eq!(c.code("NOOP").await, 200);
        let (_, bytes, last) = c.download("RETR small.txt").await;
        assert_eq!((bytes == tree.small, last), (true, 226));
    })
    .await;
}

/// RFC 959 4.1.3 (ABOR) and SECURITY.md X1: ABOR during a download and
/// during an upload: 426 for the transfer, then 226 for ABOR; the
/// interrupted upload is never answered 226 itself; the session goes on.
#[tokio::test]
async fn fault_abor_mid_transfer() {
    bounded(4, async {
        let tree = tree();
        let server = serve(options(&tree)).await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("alice", "secret").await;
        assert_eq!(c.code("TYPE I").await, 200);

        let to = c.epsv().await;
        let mut data = c.data(to).await;
        assert_eq!(c.code("RETR big.bin").await, 125);
        let mut some = vec![0u8; 10_000];
        data.read_exact(&mut some).await.unwrap();
        c.send("ABOR").await;
        assert_eq!(code(&c.reply().await), 426);
        assert_eq!(code(&c.reply().await), 226);
        drop(data);

        let to = c.epsv().await;
        let mut data = c.data(to).await;
        assert_eq!(c.code("STOR aborted.bin").await, 125);
        data.write_all(&[2u8; 30_000]).await.unwrap();
        c.send("ABOR").await;
        assert_eq!(code(&c.reply().await), 426, "the upload is not complete");
        assert_eq!(code(&c.reply().await), 226, "ABOR succeeded");
        drop(data);

        let (_, bytes, last) = c.download("RETR small.txt").await;
        assert_eq!((bytes == tree.small, last), (true, 226));
        healthy(server.addr, &tree.small).await;
    })
    .await;
}

/// SECURITY.md C5 and X3: a server shutdown in the middle of an upload and
/// a download: the idle sessions get 421 at once; when the grace period is
/// over, the uploader gets 421 (never 226) and the downloader 421 after a
/// short file; nothing is left without its client being told.
#[tokio::test]
async fn fault_shutdown_mid_transfer() {
    bounded(4, async {
        let tree = tree();
        let server = serve(options(&tree)).await;
        let mut idle = Vec::new();
        for _ in 0..10 {
            let (mut c, _) = Ftp::connect(server.addr).await;
            c.login("anonymous", "x").await;
            idle.push(c);
        }
        let (mut up, _) = Ftp::connect(server.addr).await;
        up.login("alice", "secret").await;
        let to = up.epsv().await;
        let mut up_data = up.data(to).await;
        assert_eq!(up.code("STOR partial.bin").await, 125);
        up_data.write_all(&[3u8; 200_000]).await.unwrap();

        let (mut down, _) = Ftp::connect(server.addr).await;
        down.login("anonymous", "x").await;
        assert_eq!(down.code("TYPE I").await, 200);
        let to = down.epsv().await;
        let mut down_data = down.data(to).await;
        assert_eq!(down.code("RETR big.bin").await, 125);

        let cut = server.shutdown.shutdown(Duration::from_millis(300)).await;
        // The idle sessions close at once; a busy machine may still be
        // closing some of them when the grace period ends.
        assert!(cut >= 2, "the two transfers were cut, not finished: {cut}");
        for c in &mut idle {
            assert_eq!(code(&c.reply().await), 421);
            assert!(c.closed().await);
        }
        assert_eq!(code(&up.reply().await), 421, "the uploader is told");
        assert!(up.closed().await, "and gets no 226");
        let mut got = Vec::new();
        let _ = down_data.read_to_end(&mut got).await;
        assert!(got.len() < tree.big.len(), "the download was cut short");
        assert_eq!(code(&down.reply().await), 421, "and the downloader is told");
        assert!(server.task.await.unwrap().is_ok());
    })
    .await;
}
