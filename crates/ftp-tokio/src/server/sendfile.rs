//! Downloads from a local file on a plaintext data connection with
//! `sendfile(2)`: the kernel moves the bytes from the page cache to the
//! socket, with no copy through user space and no trip to the blocking
//! pool per chunk (vsftpd, pure-ftpd and pyftpdlib send the same way).
//!
//! The socket is non-blocking: each call sends what fits in the socket's
//! buffer and the task waits for it to drain like any other write, so ABOR
//! (which drops the task) stops a download between two calls. Reading a
//! file that is not in the page cache blocks the calling thread for the
//! disk, as it does in those servers; each call is bounded by [`CHUNK`].
//!
//! A client on this machine is sent to by reading the file and writing
//! what was read ([`send_read`], as pure-ftpd does for every client): over
//! loopback no network card reads the pages, so `sendfile` saves no copy
//! (the client copies out of the page cache instead of out of the
//! socket's buffers) and moves the bytes as one 4 KiB page a fragment
//! rather than in 32 KiB ones. Measured with curl on loopback (1 GiB from
//! tmpfs, 8 alternating rounds, five setups: separate files or one file
//! hard-linked, with and without other transfers between rounds), the
//! reading path ran at 1.0x to 1.3x the rate of `sendfile` for the same or
//! less server CPU, and spread half as much.

use std::io;

use tokio::io::Interest;
use tokio::net::TcpStream;

use super::transfer::Progress;
use ftp_session::server::{DataEvent, DataFailure};

/// At most this many bytes per `sendfile` call. Small calls keep the
/// socket's queue short and the client's copy close behind the send: on
/// loopback (1 GiB from the page cache to curl, 5 alternating runs) 128 KiB
/// calls moved 1,928 MB/s for 543 ms of server CPU, 4 MiB calls 1,565 MB/s
/// for 677 ms; 64 KiB calls cost more in calls than they gain (about
/// 1,450 MB/s), and 256 KiB to 1 MiB fall between.
#[cfg(any(target_os = "linux", target_os = "android"))]
const CHUNK: usize = 128 << 10;

/// How a [`send`] ended.
pub(super) enum Sent {
    /// Every byte up to the end of the file was sent.
    All(u64),
    /// The connection or the file failed; the event to report.
    Failed(DataEvent),
    /// The kernel cannot send from this file (or this system has no
    /// `sendfile`); nothing was sent, read the file instead.
    Unsupported,
}

/// Sends `file` from its current offset to its end on `tcp`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) async fn send(tcp: &TcpStream, file: &tokio::fs::File, progress: &mut Progress) -> Sent {
    let mut total = 0u64;
    loop {
        let sent = loop {
            if tcp.writable().await.is_err() {
                return lost(total, true);
            }
            // `try_io` clears the readiness when the buffer is full, so the
            // next `writable` waits for room.
            match tcp.try_io(Interest::WRITABLE, || Ok(rustix::fs::sendfile(tcp, file, None, CHUNK)?)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => break other,
            }
        };
        match sent {
            Ok(0) => return Sent::All(total),
            Ok(n) => {
                total += n as u64;
                progress.moved(total);
            }
            // EINVAL / ENOSYS / EOPNOTSUPP: a file system without the
            // kernel's splice support (some FUSE ones) or a device.
            Err(e) if total == 0 && unsupported(&e) => return Sent::Unsupported,
            Err(e) => return lost(total, is_connection(&e)),
        }
    }
}

/// Without `sendfile`, every file is read (see [`Sent::Unsupported`]).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) async fn send(_tcp: &TcpStream, _file: &tokio::fs::File, _progress: &mut Progress) -> Sent {
    Sent::Unsupported
}

/// Sends `file` from its current offset to its end on `tcp`, read
/// [`CHUNK`] bytes at a time into a buffer of this transfer's and written
/// from there (see the module's documentation for when). The read blocks
/// the thread like `sendfile`'s; the writes wait for room like any other.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) async fn send_read(tcp: &TcpStream, file: &tokio::fs::File, progress: &mut Progress) -> Sent {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let read = match rustix::io::read(file, &mut buf) {
            Ok(0) => return Sent::All(total),
            Ok(n) => n,
            // Not a file that reads this way: the caller's path reads it.
            Err(e) if total == 0 && unsupported(&e.into()) => return Sent::Unsupported,
            Err(_) => return lost(total, false),
        };
        let mut written = 0;
        while written < read {
            if tcp.writable().await.is_err() {
                return lost(total, true);
            }
            match tcp.try_write(&buf[written..read]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return lost(total, true),
            }
        }
        total += read as u64;
        progress.moved(total);
    }
}

/// Elsewhere, the caller's path reads every file.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) async fn send_read(_tcp: &TcpStream, _file: &tokio::fs::File, _progress: &mut Progress) -> Sent {
    Sent::Unsupported
}

fn lost(bytes: u64, connection: bool) -> Sent {
    let reason = if connection { DataFailure::ConnectionLost } else { DataFailure::Storage };
    Sent::Failed(DataEvent::Failed { bytes, reason })
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP))
}

/// Whether a `sendfile` error is the socket's (the other end went away)
/// rather than the file's (an I/O error reading it).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::TimedOut
    )
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::io::{Seek, SeekFrom, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A file of `len` bytes that differ from their neighbours, read from
    /// `offset` (REST, RFC 3659 5), sent by `how` over a loopback
    /// connection: the client gets exactly the bytes from the offset on,
    /// and the sender counts them.
    async fn sends_from_the_offset(how: &str, len: usize, offset: u64) {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut std_file = tempfile::tempfile().unwrap();
        std_file.write_all(&bytes).unwrap();
        std_file.seek(SeekFrom::Start(offset)).unwrap();
        let file = tokio::fs::File::from_std(std_file);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        let moved = Arc::new(AtomicU64::new(0));
        let mut progress = Progress::unreported(moved.clone());
        let sent = match how {
            "sendfile" => send(&server, &file, &mut progress).await,
            _ => send_read(&server, &file, &mut progress).await,
        };
        drop(server);
        let Sent::All(total) = sent else { panic!("{how}: the whole file is sent") };
        let rest = &bytes[usize::try_from(offset).unwrap()..];
        assert_eq!(total, rest.len() as u64);
        assert_eq!(moved.load(Ordering::Relaxed), total);
        let got = tokio::time::timeout(Duration::from_secs(30), reader).await.unwrap().unwrap();
        assert!(got == rest, "{how}: the bytes arrive in order, each once");
    }

    /// RFC 959 3.4: the file's bytes, in order, through `sendfile` (the
    /// path of a client on another machine, which loopback tests cannot
    /// be), larger than the socket's buffer and a chunk.
    #[tokio::test]
    async fn rfc959_3_4_sendfile_sends_every_byte_from_the_restart_marker() {
        sends_from_the_offset("sendfile", 3 * CHUNK + 1234, 0).await;
        sends_from_the_offset("sendfile", 3 * CHUNK + 1234, 70_001).await;
    }

    /// The same through the reading path of a client on this machine.
    #[tokio::test]
    async fn rfc959_3_4_the_reading_path_sends_every_byte_from_the_restart_marker() {
        sends_from_the_offset("read", 3 * CHUNK + 1234, 0).await;
        sends_from_the_offset("read", 3 * CHUNK + 1234, 70_001).await;
        sends_from_the_offset("read", 0, 0).await;
    }

    /// A client that goes away mid-file is a lost connection, whichever
    /// path sends (SECURITY.md X3: the transfer is reported cut).
    #[tokio::test]
    async fn a_client_gone_mid_file_is_a_lost_connection() {
        for how in ["sendfile", "read"] {
            let mut std_file = tempfile::tempfile().unwrap();
            std_file.write_all(&vec![5u8; 64 << 20]).unwrap();
            std_file.seek(SeekFrom::Start(0)).unwrap();
            let file = tokio::fs::File::from_std(std_file);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let client = client.into_std().unwrap();
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO)).unwrap();
            drop(client);
            let mut progress = Progress::unreported(Arc::new(AtomicU64::new(0)));
            let sent = match how {
                "sendfile" => send(&server, &file, &mut progress).await,
                _ => send_read(&server, &file, &mut progress).await,
            };
            assert!(
                matches!(sent, Sent::Failed(DataEvent::Failed { reason: DataFailure::ConnectionLost, .. })),
                "{how}"
            );
        }
    }
}
