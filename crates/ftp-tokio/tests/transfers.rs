//! The shapes a transfer takes through the real tokio server on LocalFs
//! (issue 17): small files read whole when opened, large ones sent with
//! `sendfile(2)` on plaintext TYPE I connections, and read through the
//! buffered copy under TYPE A; uploads written from the receive buffers
//! on the blocking pool (TYPE I) or through the copy (TYPE A). Every size
//! at the edges of those paths, at every interesting `REST` offset, arrives
//! byte for byte (RFC 959 3.4 stream mode, RFC 3659 5 restart), and ABOR
//! stops a transfer and frees what it held (SECURITY.md X1). Every wait is
//! bounded.

#[macro_use]
mod support;

use ftp_tokio::server::{ServerOptions, User};
use support::{Ftp, bounded, code, loopback, serve};
use tokio::io::AsyncReadExt;

/// Where the server stops reading a file whole at open (`SMALL_FILE` in
/// the storage).
const SMALL: usize = 64 << 10;

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len).map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8).collect()
}

fn local_options(root: &std::path::Path) -> ServerOptions {
    let mut options = ServerOptions::new(loopback(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// RFC 959 3.4, RFC 3659 5.3: in TYPE I every size around the small-file
/// edge and well past it (sent with `sendfile`), from every interesting
/// restart marker, is the file's bytes from the marker on.
#[tokio::test]
async fn rfc3659_5_every_size_and_marker_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [0, 1, 4096, SMALL - 1, SMALL, SMALL + 1, 3 << 20];
    for (i, &size) in sizes.iter().enumerate() {
        std::fs::write(dir.path().join(format!("f{size}")), pattern(size, i as u32)).unwrap();
    }
    let server = serve(local_options(dir.path())).await;
    bounded(4, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE I").await, 200);
        for (i, &size) in sizes.iter().enumerate() {
            let whole = pattern(size, i as u32);
            let mut markers = vec![0, 1, size / 2, size.saturating_sub(1), size];
            markers.retain(|&m| m <= size);
            markers.sort_unstable();
            markers.dedup();
            for marker in markers {
                if marker > 0 {
                    assert_eq!(ftp.code(&format!("REST {marker}")).await, 350);
                }
                let (first, bytes, last) = ftp.download(&format!("RETR f{size}")).await;
                assert!(matches!(first, 125 | 150) && last == 226, "RETR f{size} from {marker}: {first} {last}");
                assert!(bytes == whole[marker..], "RETR f{size} from {marker}: {} bytes", bytes.len());
            }
        }
    })
    .await;
}

/// RFC 959 3.1.1.1: TYPE A converts line ends on large files too (they
/// take the buffered path, not `sendfile`), and on small ones.
#[tokio::test]
async fn rfc959_3_1_1_1_type_a_large_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let line = b"a line of text\n";
    let large: Vec<u8> = line.iter().copied().cycle().take(line.len() * 20_000).collect();
    std::fs::write(dir.path().join("large.txt"), &large).unwrap();
    std::fs::write(dir.path().join("small.txt"), &large[..line.len() * 3]).unwrap();
    let server = serve(local_options(dir.path())).await;
    bounded(2, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE A").await, 200);
        for (name, lines) in [("large.txt", 20_000), ("small.txt", 3)] {
            let (first, bytes, last) = ftp.download(&format!("RETR {name}")).await;
            assert!(matches!(first, 125 | 150) && last == 226, "{name}: {first} {last}");
            let expected: Vec<u8> = b"a line of text\r\n".iter().copied().cycle().take(16 * lines).collect();
            assert!(bytes == expected, "{name}: {} bytes", bytes.len());
        }
    })
    .await;
}

/// SECURITY.md X1 (issue 17): ABOR during a `sendfile` download stops it
/// (426 then 226, RFC 959 4.1.3), the session goes on, and the file's
/// descriptor and the data connection are closed; a download that the
/// client stops reading does not hold the task either.
#[tokio::test]
async fn sec_x1_abor_stops_a_sendfile_download() {
    let dir = tempfile::tempdir().unwrap();
    let big = pattern(32 << 20, 7);
    std::fs::write(dir.path().join("big"), &big).unwrap();
    let server = serve(local_options(dir.path())).await;
    bounded(2, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE I").await, 200);
        let before = open_descriptors();
        for _ in 0..20 {
            let to = ftp.epsv().await;
            let mut data = ftp.data(to).await;
            assert!(matches!(ftp.code("RETR big").await, 125 | 150));
            // Some bytes arrive; then the client stops reading and aborts.
            let mut first = vec![0u8; 1 << 16];
            let n = data.read(&mut first).await.unwrap();
            assert!(n > 0 && first[..n] == big[..n]);
            let abor = ftp.code("ABOR").await;
            if abor == 426 {
                assert_eq!(code(&ftp.reply().await), 226, "ABOR's own reply");
            } else {
                // The transfer had finished first: 226, then 226 for ABOR.
                assert_eq!(abor, 226);
            }
            drop(data);
        }
        assert_eq!(ftp.code("NOOP").await, 200);
        // The server runs in this process: its files and sockets are ours.
        let after = open_descriptors();
        assert!(after <= before + 2, "{before} descriptors before, {after} after 20 aborted downloads");
    })
    .await;
}

/// RFC 959 4.1.3 (STOR, APPE), RFC 3659 5.3 (REST then STOR): uploads of
/// every size around the upload buffer's edge (1 MiB) land byte for byte,
/// replacing, appending and resuming: STOR spliced from the socket, APPE
/// (a file opened for appending takes no splice) copied.
#[tokio::test]
async fn rfc959_4_1_3_uploads_of_every_size_land_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(local_options(dir.path())).await;
    let mib = 1 << 20;
    bounded(4, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE I").await, 200);
        for (i, size) in [0, 1, 4096, mib - 1, mib, mib + 1, 5 * mib + 3].into_iter().enumerate() {
            let bytes = pattern(size, i as u32 + 100);
            let name = format!("up{size}");
            let (first, last) = ftp.upload(&format!("STOR {name}"), &bytes).await;
            assert!(matches!(first, 125 | 150) && last == 226, "STOR {name}: {first} {last}");
            assert!(std::fs::read(dir.path().join(&name)).unwrap() == bytes, "STOR {name}");
            // Replaced by a shorter upload: nothing of the old file stays.
            let (_, last) = ftp.upload(&format!("STOR {name}"), b"short").await;
            assert_eq!(last, 226);
            assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"short");
            // APPE adds the whole upload after the end.
            let (_, last) = ftp.upload(&format!("APPE {name}"), &bytes).await;
            assert_eq!(last, 226);
            let mut expected = b"short".to_vec();
            expected.extend_from_slice(&bytes);
            assert!(std::fs::read(dir.path().join(&name)).unwrap() == expected, "APPE {name}");
            // REST 2 then STOR: the first two bytes kept, the rest replaced.
            assert_eq!(ftp.code("REST 2").await, 350);
            let (_, last) = ftp.upload(&format!("STOR {name}"), &bytes).await;
            assert_eq!(last, 226);
            let mut expected = b"sh".to_vec();
            expected.extend_from_slice(&bytes);
            assert!(std::fs::read(dir.path().join(&name)).unwrap() == expected, "REST 2 STOR {name}");
        }
        // RFC 959 3.1.1.1: TYPE A uploads turn CRLF into LF (the copy path).
        assert_eq!(ftp.code("TYPE A").await, 200);
        let text: Vec<u8> = b"line\r\n".iter().copied().cycle().take(6 * 300_000).collect();
        let (_, last) = ftp.upload("STOR text", &text).await;
        assert_eq!(last, 226);
        let stored = std::fs::read(dir.path().join("text")).unwrap();
        assert!(stored.len() == 5 * 300_000 && stored.chunks(5).all(|c| c == b"line\n"));
    })
    .await;
}

/// SECURITY.md X1, RFC 959 4.1.3: ABOR during a large upload ends it (426
/// then 226, or 226 twice when it had ended first), the session goes on,
/// and no descriptor stays open (the splice's pipe included).
#[tokio::test]
async fn sec_x1_abor_stops_an_upload() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(local_options(dir.path())).await;
    let chunk = pattern(1 << 20, 3);
    bounded(2, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE I").await, 200);
        let before = open_descriptors();
        for i in 0..20 {
            let to = ftp.epsv().await;
            let mut data = ftp.data(to).await;
            assert!(matches!(ftp.code(&format!("STOR cut{i}")).await, 125 | 150));
            for _ in 0..3 {
                data.write_all(&chunk).await.unwrap();
            }
            let abor = ftp.code("ABOR").await;
            assert!(matches!(abor, 426 | 226), "ABOR answered {abor}");
            assert_eq!(code(&ftp.reply().await), 226, "ABOR's own reply");
            drop(data);
        }
        assert_eq!(ftp.code("NOOP").await, 200);
        let after = open_descriptors();
        assert!(after <= before + 2, "{before} descriptors before, {after} after 20 aborted uploads");
    })
    .await;
}

/// `ServerOptions::session_threads` (issue 17): sessions spread over
/// threads of their own serve transfers as on the caller's runtime, many at
/// once, and a graceful shutdown (SECURITY.md C5) still reaches every one
/// of them, with their 421, and ends them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_c5_sessions_on_their_own_threads_transfer_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let big = pattern(3 << 20, 9);
    std::fs::write(dir.path().join("big"), &big).unwrap();
    std::fs::write(dir.path().join("small"), b"small file").unwrap();
    let mut options = local_options(dir.path());
    options.session_threads = 3;
    let server = serve(options).await;
    bounded(2, async {
        let mut sessions = Vec::new();
        for i in 0..8u32 {
            let addr = server.addr;
            let big = big.clone();
            sessions.push(tokio::spawn(async move {
                let (mut ftp, _) = Ftp::connect(addr).await;
                ftp.login("alice", "secret").await;
                assert_eq!(ftp.code("TYPE I").await, 200);
                let (_, bytes, last) = ftp.download("RETR big").await;
                assert!(last == 226 && bytes == big, "session {i}: {} bytes", bytes.len());
                let (_, bytes, _) = ftp.download("RETR small").await;
                assert_eq!(bytes, b"small file");
                let (_, last) = ftp.upload(&format!("STOR up{i}"), &big[..100_000]).await;
                assert_eq!(last, 226);
                ftp
            }));
        }
        let mut open = Vec::new();
        for session in sessions {
            open.push(session.await.unwrap());
        }
        for i in 0..8 {
            assert!(std::fs::read(dir.path().join(format!("up{i}"))).unwrap() == big[..100_000]);
        }
        // Every idle session gets 421 and is closed; `shutdown` returns
        // once all of them ended, and `run` with it.
        let cut = server.shutdown.shutdown(std::time::Duration::from_secs(5)).await;
        assert_eq!(cut, 0);
        for mut ftp in open {
            let reply = ftp.try_reply().await.expect("421 before the close");
            assert_eq!(code(&reply), 421);
            assert!(ftp.closed().await);
        }
        server.task.await.unwrap().unwrap();
    })
    .await;
}

/// A second server on a port already served refuses to start, lanes or
/// not: the lanes' SO_REUSEPORT must not let it join the first one's
/// listeners and quietly take a share of their connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_already_served_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = local_options(dir.path());
    options.session_threads = 2;
    let first = ftp_tokio::server::Server::bind(options).await.unwrap();
    let taken = first.local_addr().unwrap();
    for lanes in [2, 0] {
        let mut options = local_options(dir.path());
        options.listen = taken;
        options.session_threads = lanes;
        let second = ftp_tokio::server::Server::bind(options).await;
        assert_eq!(second.err().map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse), "lanes: {lanes}");
    }
}

/// RFC 959 3.4: a small file (read whole at open, and sent at once in the
/// session's own turn where the socket takes it) arrives whole to a client
/// with a tiny receive window that reads only after a pause (on loopback
/// the socket still takes 64 KiB at once; what it does not take goes on
/// the general path, tested in the server's `socket` module). And when the
/// client connects only after the transfer command (the connection then
/// comes through the listener's own task, registered with the event loop),
/// the same bytes arrive.
#[tokio::test]
async fn rfc959_3_4_small_files_arrive_whole_whatever_the_socket_takes() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [1, 4096, SMALL];
    for &size in &sizes {
        std::fs::write(dir.path().join(format!("s{size}")), pattern(size, 7)).unwrap();
    }
    let server = serve(local_options(dir.path())).await;
    bounded(4, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("TYPE I").await, 200);
        // The control connection's address, which data connections must
        // come from (RFC 2577 section 8).
        let local = std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
        for &size in &sizes {
            // A tiny window, read after a pause.
            let to = ftp.epsv().await;
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(2048).unwrap();
            socket.bind(std::net::SocketAddr::new(local, 0)).unwrap();
            let mut data = socket.connect(to).await.unwrap();
            assert!(matches!(ftp.code(&format!("RETR s{size}")).await, 125 | 150));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).await.unwrap();
            assert_eq!(code(&ftp.reply().await), 226, "RETR s{size}, tiny window");
            assert!(bytes == pattern(size, 7), "RETR s{size}, tiny window: {} bytes", bytes.len());

            // Connected only after the command.
            let to = ftp.epsv().await;
            ftp.send(&format!("RETR s{size}")).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let mut data = ftp.data(to).await;
            assert!(matches!(code(&ftp.reply().await), 125 | 150));
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).await.unwrap();
            assert_eq!(code(&ftp.reply().await), 226, "RETR s{size}, connected late");
            assert!(bytes == pattern(size, 7), "RETR s{size}, connected late: {} bytes", bytes.len());
        }
    })
    .await;
}
