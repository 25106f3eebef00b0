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
