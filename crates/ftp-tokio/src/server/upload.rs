//! Uploads into a local file in TYPE I: each buffer read from the data
//! connection is handed whole to a blocking-pool thread that writes it to
//! the file, while the next buffer is being received. No byte is copied
//! between buffers (tokio's own file writer copies every chunk into a
//! buffer of its own first), and the trips to the pool are one per
//! [`CHUNK`], not one per read.
//!
//! At most two buffers are held per upload: the one being written and the
//! one being filled. Dropping the future (ABOR, a stall, the session's
//! end) leaves at most one write running, which owns its buffer and the
//! file and closes it when done.

use std::io::{self, Write};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use super::transfer::{Broken, Copied, Progress};

/// The size of each buffer: a write to the file is this large unless the
/// upload ends first.
const CHUNK: usize = 1 << 20;

/// What a write on the pool gives back: the file and the buffer, for the
/// next round, and how the write went.
type Written = (std::fs::File, BytesMut, io::Result<()>);

/// Receives `from` to its end into `file`, from the file's position, with
/// `start` bytes of this upload already in it (counted in the result). With
/// `tls_source`, a TLS stream that ends without close_notify counts as the
/// end, marked in the result (SECURITY.md L7).
pub(super) async fn receive<R>(
    from: &mut R,
    file: std::fs::File,
    start: u64,
    tls_source: bool,
    progress: &mut Progress,
) -> Result<Copied, Broken>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut file = Some(file);
    let mut spare = Some(BytesMut::with_capacity(CHUNK));
    let mut writing: Option<JoinHandle<Written>> = None;
    let mut received = start;
    let mut written = start;
    let mut without_close_notify = false;
    loop {
        let mut buf = spare.take().unwrap_or_else(|| BytesMut::with_capacity(CHUNK));
        buf.clear();
        // Fill the buffer, or stop at the end of the upload.
        let mut ended = false;
        while buf.len() < CHUNK {
            match from.read_buf(&mut buf).await {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => {
                    received += n as u64;
                    progress.moved(received);
                }
                Err(e) if tls_source && e.kind() == io::ErrorKind::UnexpectedEof => {
                    without_close_notify = true;
                    ended = true;
                    break;
                }
                Err(_) => return Err(Broken::new(written, true)),
            }
        }
        // The previous write must be done before this buffer is written.
        if let Some(write) = writing.take() {
            let (f, done, result) = finished(write).await.map_err(|()| Broken::new(written, false))?;
            result.map_err(|e| Broken::writing(written, &e))?;
            written += done.len() as u64;
            file = Some(f);
            spare = Some(done);
        }
        if !buf.is_empty() {
            let Some(mut f) = file.take() else { return Err(Broken::new(written, false)) };
            writing = Some(tokio::task::spawn_blocking(move || {
                let result = f.write_all(&buf);
                (f, buf, result)
            }));
        }
        if ended {
            if let Some(write) = writing.take() {
                let (_, done, result) = finished(write).await.map_err(|()| Broken::new(written, false))?;
                result.map_err(|e| Broken::writing(written, &e))?;
                written += done.len() as u64;
            }
            return Ok(Copied::new(written, without_close_notify));
        }
    }
}

/// A write's outcome; `Err` when its thread panicked or was cancelled.
async fn finished(write: JoinHandle<Written>) -> Result<Written, ()> {
    write.await.map_err(|_| ())
}
