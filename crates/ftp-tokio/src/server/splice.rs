//! Uploads into a local file from a plaintext data connection with
//! `splice(2)`: the kernel moves the received pages from the socket into a
//! pipe without a copy, then from the pipe into the file's page cache, so
//! a byte is copied once (into the file) instead of twice (out of the
//! socket into user space, and from there into the file), with no trip to
//! the blocking pool per chunk. The mirror image of [`super::sendfile`].
//!
//! The socket is non-blocking: each splice from it takes what has arrived
//! and the task waits for more like any other read, so ABOR (which drops
//! the task) stops an upload between two calls; the pipe's descriptors
//! close with it. Writing into the file blocks the calling thread while
//! the kernel takes the pages (as `write` does in vsftpd and pure-ftpd),
//! at most one pipe's worth ([`PIPE_SIZE`]) per call.
//!
//! Not every file takes a splice: one opened with `O_APPEND` (APPE) is
//! refused by the kernel, as are files on some FUSE file systems. Those go
//! the copying way ([`super::upload::receive`]), from wherever this one
//! stopped: bytes already in the pipe are written out first.

use std::io;

use tokio::net::TcpStream;

use super::transfer::{Broken, Progress};

/// How a [`receive`] ended.
pub(super) enum Spliced {
    /// The upload reached its end: every byte is in the file.
    All(u64),
    /// The connection or the file failed.
    Failed(Broken),
    /// The file cannot be written by splicing; this many bytes are in it
    /// already, the rest is to be copied.
    Fallback(u64),
}

/// The pipe's capacity asked for: about a socket buffer's worth per pair
/// of calls (the kernel's default is 64 KiB).
#[cfg(any(target_os = "linux", target_os = "android"))]
const PIPE_SIZE: usize = 1 << 20;

/// Receives `tcp` to its end into `file`, from the file's position.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) async fn receive(tcp: &TcpStream, file: &std::fs::File, progress: &mut Progress) -> Spliced {
    use rustix::fs::{OFlags, fcntl_getfl};
    use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};
    use tokio::io::Interest;

    // The kernel refuses to splice into a file opened for appending.
    if fcntl_getfl(file).map_or(true, |flags| flags.contains(OFlags::APPEND)) {
        return Spliced::Fallback(0);
    }
    let Ok((pipe_out, pipe_in)) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK) else {
        return Spliced::Fallback(0);
    };
    // A larger pipe moves more per call; the default one works too.
    let capacity = fcntl_setpipe_size(&pipe_in, PIPE_SIZE).unwrap_or(64 << 10);
    let mut written = 0u64;
    loop {
        let got = loop {
            if tcp.readable().await.is_err() {
                return Spliced::Failed(Broken::new(written, true));
            }
            // `try_io` clears the readiness when nothing is there, so the
            // next `readable` waits for more.
            let r = tcp.try_io(Interest::READABLE, || {
                Ok(splice(tcp, None, &pipe_in, None, capacity, SpliceFlags::MOVE | SpliceFlags::NONBLOCK)?)
            });
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => break other,
            }
        };
        let mut in_pipe = match got {
            Ok(0) => return Spliced::All(written),
            Ok(n) => n,
            Err(_) => return Spliced::Failed(Broken::new(written, true)),
        };
        while in_pipe > 0 {
            match splice(&pipe_out, None, file, None, in_pipe, SpliceFlags::MOVE) {
                Ok(0) => return Spliced::Failed(Broken::new(written, false)),
                Ok(n) => {
                    in_pipe -= n;
                    written += n as u64;
                    progress.moved(written);
                }
                Err(e) if written == 0 && matches!(e, rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                    // This file takes no splice: what is in the pipe is
                    // written the ordinary way, the rest copied.
                    return match drain(&pipe_out, file, in_pipe) {
                        Ok(n) => {
                            progress.moved(n);
                            Spliced::Fallback(n)
                        }
                        Err(e) => Spliced::Failed(Broken::writing(0, &e)),
                    };
                }
                Err(e) => return Spliced::Failed(Broken::writing(written, &e.into())),
            }
        }
    }
}

/// Reads `len` bytes out of the pipe and writes them into the file.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn drain(pipe: &std::os::fd::OwnedFd, mut file: &std::fs::File, len: usize) -> io::Result<u64> {
    use std::io::Write;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match rustix::io::read(pipe, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    file.write_all(&buf[..filled])?;
    Ok(filled as u64)
}

/// Without `splice`, every upload is copied.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) async fn receive(_tcp: &TcpStream, _file: &std::fs::File, _progress: &mut Progress) -> Spliced {
    Spliced::Fallback(0)
}
