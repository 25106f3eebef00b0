//! The bytes of a download, in the shape that moves them fastest.
//!
//! A [`Storage`](crate::storage::Storage) hands a `RETR` its bytes as a
//! [`FileSource`]. Most storages only have a reader, but two shapes let the
//! server skip work on every file:
//!
//! - **bytes already in memory** ([`FileSource::from_bytes`]): a small local
//!   file is read whole in the same trip to the blocking pool that opened
//!   it, and an in-memory file is a snapshot. The transfer is then one
//!   write, with no further trip per read (a 4 KiB file used to cost three
//!   trips: open, the read, the read that finds the end).
//! - **a local file** ([`FileSource::from_file`]): on a plaintext data
//!   connection in TYPE I the server sends it with `sendfile(2)`, from the
//!   page cache to the socket without copying through user space and
//!   without the blocking pool, as vsftpd, pure-ftpd and pyftpdlib do.
//!   Under TLS or TYPE A, or where `sendfile` is not available, it is read
//!   like any other reader.
//!
//! Anything else is a reader ([`FileSource::from_reader`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};

/// The bytes of a file being downloaded (`RETR`), positioned at the offset
/// asked for.
///
/// Most storages only have a reader ([`FileSource::from_reader`]), but two
/// shapes let the server skip work on every file:
///
/// - **bytes already in memory** ([`FileSource::from_bytes`]): a small
///   local file is read whole when it is opened, and an in-memory file is
///   a snapshot. The transfer is then one write.
/// - **a local file** ([`FileSource::from_file`]): on a plaintext data
///   connection in TYPE I the server sends it with `sendfile(2)`, from the
///   page cache to the socket without copying through user space, as
///   vsftpd, pure-ftpd and pyftpdlib do. Under TLS or TYPE A, or where
///   `sendfile` is not available, it is read like any other reader.
pub struct FileSource(Shape);

/// The shapes of a [`FileSource`].
enum Shape {
    /// Every byte to send, held in memory.
    Bytes(Bytes),
    /// A local file, positioned at the first byte to send (boxed: tokio's
    /// file is large, and a source travels in messages between tasks).
    File(Box<tokio::fs::File>),
    /// Any other reader.
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// What a transfer does with a [`FileSource`]: the shape it was made in.
pub(crate) enum Parts {
    Bytes(Bytes),
    File(tokio::fs::File),
    Reader(FileSource),
}

impl FileSource {
    /// A download whose bytes are all in memory: sent with one write.
    #[must_use]
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self(Shape::Bytes(bytes))
    }

    /// A download from a local file, positioned at the first byte to send
    /// (seeked to the `REST` offset): eligible for `sendfile(2)`. The file
    /// must be a regular file.
    #[must_use]
    pub fn from_file(file: std::fs::File) -> Self {
        Self(Shape::File(Box::new(tokio::fs::File::from_std(file))))
    }

    /// A download from any reader.
    #[must_use]
    pub fn from_reader(reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self(Shape::Reader(Box::new(reader)))
    }

    /// The shape this source was made in, for the transfer to pick its way
    /// of sending it.
    pub(crate) fn into_parts(self) -> Parts {
        match self.0 {
            Shape::Bytes(bytes) => Parts::Bytes(bytes),
            Shape::File(file) => Parts::File(*file),
            reader @ Shape::Reader(_) => Parts::Reader(Self(reader)),
        }
    }
}

impl Parts {
    /// The source these parts came from, to be read like any other.
    pub(crate) fn into_source(self) -> FileSource {
        match self {
            Parts::Bytes(bytes) => FileSource::from_bytes(bytes),
            Parts::File(file) => FileSource::from(file),
            Parts::Reader(source) => source,
        }
    }
}

impl From<tokio::fs::File> for FileSource {
    /// A local file opened with tokio, not yet read from.
    fn from(file: tokio::fs::File) -> Self {
        Self(Shape::File(Box::new(file)))
    }
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Shape::Bytes(b) => write!(f, "FileSource::Bytes({} bytes)", b.len()),
            Shape::File(_) => f.write_str("FileSource::File"),
            Shape::Reader(_) => f.write_str("FileSource::Reader"),
        }
    }
}

impl AsyncRead for FileSource {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.0 {
            Shape::Bytes(bytes) => {
                let n = bytes.len().min(buf.remaining());
                buf.put_slice(&bytes[..n]);
                bytes.advance(n);
                Poll::Ready(Ok(()))
            }
            Shape::File(file) => Pin::new(file).poll_read(cx, buf),
            Shape::Reader(reader) => Pin::new(reader).poll_read(cx, buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn every_shape_reads_the_same_bytes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let sources = [
            FileSource::from_bytes(Bytes::from(data.clone())),
            FileSource::from_file(std::fs::File::open(&path).unwrap()),
            FileSource::from_reader(std::io::Cursor::new(data.clone())),
        ];
        for mut source in sources {
            let mut read = Vec::new();
            source.read_to_end(&mut read).await.unwrap();
            assert_eq!(read, data, "{source:?}");
        }
    }
}
