//! Transfer rates: a stream that moves at most a set number of bytes per
//! second, measured from its first byte. The server paces each user's data
//! connections with it ([`Limits::download_rate`](crate::auth::Limits),
//! [`Limits::upload_rate`](crate::auth::Limits)); a client can pace the
//! local file it reads or writes (`ftpkit --limit-rate`), and TCP's flow
//! control then holds the data connection to the same rate.
//!
//! ```
//! use ftp_tokio::pace::Paced;
//! use tokio::io::AsyncWriteExt;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! // At most 1 MiB/s into a sink: 64 KiB take about a sixteenth of a second.
//! let mut out = Paced::new(tokio::io::sink(), 1 << 20);
//! out.write_all(&[0u8; 64 * 1024]).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Each read or write is capped to a twentieth of a second's bytes, and the
//! stream waits before each one until the bytes moved so far are within
//! the rate. The transfer is at most one such slice ahead of the rate at
//! any moment, so over a transfer of ten seconds the rate holds within
//! half a percent (issue 18: within 5%). An upload's client is held back
//! by TCP's flow control once the socket's receive buffer is full.
//!
//! A paced transfer goes through the buffered copy, never `sendfile(2)`,
//! whose one call would move megabytes at once.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The least bytes a read or write moves, however low the rate.
const MIN_SLICE: u64 = 4 * 1024;
/// The most bytes a read or write moves, however high the rate.
const MAX_SLICE: u64 = 256 * 1024;

/// A stream moving at most `rate` bytes per second.
pub struct Paced<S> {
    inner: S,
    rate: u64,
    slice: usize,
    /// When the first byte moved (the rate is measured from there).
    start: Option<Instant>,
    moved: u64,
    wait: Option<Pin<Box<Sleep>>>,
}

impl<S> Paced<S> {
    /// `inner` at most `rate` bytes per second (`rate` of at least 1).
    pub fn new(inner: S, rate: u64) -> Self {
        let rate = rate.max(1);
        let slice = usize::try_from((rate / 20).clamp(MIN_SLICE, MAX_SLICE)).unwrap_or(4096);
        Self { inner, rate, slice, start: None, moved: 0, wait: None }
    }

    /// Ready when the next slice may move; how many bytes it may be.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        loop {
            if let Some(wait) = &mut self.wait {
                ready!(wait.as_mut().poll(cx));
                self.wait = None;
            }
            let start = *self.start.get_or_insert_with(Instant::now);
            // When the bytes moved so far are due at this rate.
            let due = start + Duration::from_secs_f64(self.moved as f64 / self.rate as f64);
            if due <= Instant::now() {
                return Poll::Ready(self.slice);
            }
            self.wait = Some(Box::pin(tokio::time::sleep_until(due)));
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Paced<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let slice = ready!(self.poll_turn(cx));
        let n = if buf.remaining() <= slice {
            let before = buf.filled().len();
            ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
            buf.filled().len() - before
        } else {
            // A slice of what is left, initialized first (no unsafe here),
            // then marked filled in `buf` by what the read put in it.
            let mut part = ReadBuf::new(buf.initialize_unfilled_to(slice));
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut part))?;
            let n = part.filled().len();
            buf.advance(n);
            n
        };
        self.moved += n as u64;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Paced<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let slice = ready!(self.poll_turn(cx));
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &data[..data.len().min(slice)]))?;
        self.moved += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
