//! Where an upload goes, in the shape that takes it fastest.
//!
//! A [`Storage`](crate::storage::Storage) opens a `STOR` (`APPE`, `STOU`)
//! as a [`FileSink`]: a local file ([`FileSink::from_file`]) or any writer
//! ([`FileSink::from_writer`]). A local file in TYPE I is written by the
//! server straight from the buffers the data connection was read into, on
//! the blocking pool, one buffer while the next one is being received
//! (no copy into an intermediate buffer, one trip to the pool per megabyte).
//! Anything else is written through [`AsyncWrite`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Where an upload (`STOR`, `APPE`, `STOU`) goes: a local file
/// ([`FileSink::from_file`]) or any writer ([`FileSink::from_writer`]).
///
/// A local file in TYPE I is written by the server straight from the
/// buffers the data connection was read into, on the blocking pool, one
/// buffer while the next one is being received. Anything else is written
/// through [`AsyncWrite`]; the driver flushes it after the last byte and
/// before it answers 226, so a writer that buffers must make the data
/// durable (or at least visible) there.
pub struct FileSink(Shape);

enum Shape {
    /// A local file, positioned where the upload's first byte goes (or
    /// opened for appending); boxed, as tokio's file is large.
    File(Box<tokio::fs::File>),
    /// Any other writer.
    Writer(Box<dyn AsyncWrite + Send + Unpin>),
}

/// What a transfer does with a [`FileSink`]: the shape it was made in.
pub(crate) enum SinkParts {
    File(tokio::fs::File),
    Writer(FileSink),
}

impl FileSink {
    /// An upload into a local file, positioned where the first byte goes
    /// (or opened with `O_APPEND`).
    #[must_use]
    pub fn from_file(file: std::fs::File) -> Self {
        Self(Shape::File(Box::new(tokio::fs::File::from_std(file))))
    }

    /// An upload into any writer.
    #[must_use]
    pub fn from_writer(writer: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        Self(Shape::Writer(Box::new(writer)))
    }

    /// The shape this sink was made in, for the transfer to pick its way
    /// of writing.
    pub(crate) fn into_parts(self) -> SinkParts {
        match self.0 {
            Shape::File(file) => SinkParts::File(*file),
            writer @ Shape::Writer(_) => SinkParts::Writer(Self(writer)),
        }
    }
}

impl SinkParts {
    /// The sink these parts came from, to be written like any other.
    pub(crate) fn into_sink(self) -> FileSink {
        match self {
            SinkParts::File(file) => FileSink(Shape::File(Box::new(file))),
            SinkParts::Writer(sink) => sink,
        }
    }
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Shape::File(_) => "FileSink::File",
            Shape::Writer(_) => "FileSink::Writer",
        })
    }
}

impl AsyncWrite for FileSink {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.0 {
            Shape::File(file) => Pin::new(file).poll_write(cx, buf),
            Shape::Writer(writer) => Pin::new(writer).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.0 {
            Shape::File(file) => Pin::new(file).poll_flush(cx),
            Shape::Writer(writer) => Pin::new(writer).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.0 {
            Shape::File(file) => Pin::new(file).poll_shutdown(cx),
            Shape::Writer(writer) => Pin::new(writer).poll_shutdown(cx),
        }
    }
}
