//! Transfers as streams: [`RetrStream`] reads a download and
//! [`StorStream`] writes an upload on the data connection itself, for
//! callers that pull or push the bytes (a decompressor, a hash, a proxy)
//! rather than hand [`Client::get`] / [`Client::put`] a whole reader or
//! writer.
//!
//! The session runs the transfer exactly as for `get`/`put` (TYPE, EPSV or
//! PASV or PORT, REST, the command, the 1xx); when it asks the driver to
//! move the bytes, the connection (after its TLS handshake under `PROT P`)
//! goes to the stream instead, and the control connection is left unread
//! until the stream ends. `finish` then reports the data side's end to the
//! session and reads the final reply (RFC 959 3.4: in stream mode the
//! end of the file is the close of the data connection; the server's
//! 226/250 follows).
//!
//! A stream dropped unfinished leaves a transfer the server still runs.
//! Its data connection is parked in the client, and the next call ends it
//! before anything else is sent: a download found at its end (within a
//! short tail) completes normally; otherwise the client sends `ABOR`
//! (RFC 959 4.1.3: Telnet IP and Synch, then `ABOR`) and reads 426 then
//! 226, or 226 alone, so that no reply of the abandoned transfer is ever
//! taken for the next command's.

#[allow(clippy::wildcard_imports)]
use super::*;

use std::task::{Context, Poll, ready};

use tokio::io::ReadBuf;
use tokio::time::Sleep;

/// How long replies already on their way are waited for before `ABOR` is
/// sent: long enough for bytes already in the socket to be read, short
/// enough not to matter. A final reply read here is one `ABOR` would
/// otherwise have crossed (RFC 959 4.1.3 then has the server answer both,
/// one reply more than an aborted transfer gets).
const REPLY_GRACE: Duration = Duration::from_millis(20);

/// How much of a dropped download is read, looking for its end, before it
/// is aborted instead: a caller that read exactly the announced size has
/// not seen the end-of-file yet, and aborting a finished transfer is the
/// one case where `ABOR`'s replies are ambiguous.
const TAIL_BUDGET: usize = 256 * 1024;

/// Bytes read from the connection at a time when converting `TYPE A`.
const ASCII_CHUNK: usize = 64 * 1024;

/// A data connection handed to a stream: plain, or under TLS (`PROT P`,
/// RFC 4217 section 9).
pub(super) enum DataConn {
    Plain(TcpStream),
    Tls(Box<crate::tls::ClientStream>),
}

impl DataConn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => crate::tls::tcp(s),
        }
    }

    /// Closes with a TCP reset rather than a FIN: in stream mode a FIN is
    /// how an upload ends (RFC 959 3.4), so an upload cut short must not
    /// close that way or the server would keep a truncated file as
    /// complete.
    fn reset(self) {
        let _ = socket2::SockRef::from(self.tcp()).set_linger(Some(Duration::ZERO));
    }
}

impl AsyncRead for DataConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for DataConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

/// The data connection the driver opened for a stream.
pub(super) struct Handoff {
    pub(super) id: DataId,
    pub(super) direction: Direction,
    pub(super) conn: DataConn,
}

/// A stream's transfer, from its start until its final reply is read.
pub(super) struct Pending {
    op: OpId,
    data: DataId,
    /// The transfer command as sent (`RETR big.bin`): what errors name.
    command: String,
    direction: Direction,
    /// The data connection, once the stream let go of it unfinished.
    conn: Option<DataConn>,
    /// Bytes moved on the data connection.
    bytes: u64,
    /// The data side ended: the end of the file read (download), or the
    /// connection shut down by `finish` (upload).
    ended: bool,
}

/// How a stream's transfer ended.
pub(super) struct Ended {
    abor_sent: bool,
    result: Result<u64, ClientError>,
    command: String,
    bytes: u64,
}

/// The stall timeout ([`ClientOptions::data_timeout`]) of a stream: no
/// progress on the data connection for that long is an error
/// ([`io::ErrorKind::TimedOut`]), as for [`Client::get`].
struct Stall {
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    progress: tokio::time::Instant,
}

impl Stall {
    fn new(limit: Duration) -> Self {
        let progress = tokio::time::Instant::now();
        Self { limit, timer: Box::pin(tokio::time::sleep_until(Self::due(progress, limit))), progress }
    }

    fn due(from: tokio::time::Instant, limit: Duration) -> tokio::time::Instant {
        from.checked_add(limit).unwrap_or_else(|| from + Duration::from_secs(86_400 * 365 * 30))
    }

    fn progress(&mut self) {
        self.progress = tokio::time::Instant::now();
    }

    /// Called when the connection is not ready: the error once the limit
    /// passed since the last progress (the timer wakes the task then).
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let due = Self::due(self.progress, self.limit);
        if self.timer.deadline() != due {
            self.timer.as_mut().reset(due);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the data connection stalled")),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `TYPE A` downloads: CRLF to LF (RFC 959 3.1.1.1), and the converted
/// bytes the caller has not read yet.
struct FromWireState {
    lines: FromWire,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
}

/// `TYPE A` uploads: LF to CRLF, and the converted bytes not yet written.
struct ToWireState {
    lines: ToWire,
    out: Vec<u8>,
    at: usize,
}

/// A download being read: an [`AsyncRead`] over the data connection of a
/// `RETR` (plain or TLS, whatever the session negotiated), from
/// [`Client::retr_stream`].
///
/// Read it to the end, then call [`finish`](Self::finish) for the
/// server's final reply: only then is the download known to be complete
/// (a server that fails mid-file closes the data connection as if the
/// file ended, and says so in its reply; RFC 959 3.4). The stall timeout
/// ([`ClientOptions::data_timeout`]) applies to every read. Under
/// `TYPE A` ([`ClientConfig::ascii`]) CRLF line ends are read as LF.
///
/// It borrows the [`Client`] mutably: no other command can be sent while
/// it lives. Dropping it unfinished leaves the client usable: the next
/// call first ends this transfer (see [`Client::abort`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ftp_tokio::background::Background;
/// use ftp_tokio::client::{Client, ClientOptions};
/// use ftp_tokio::memory::MemoryFs;
/// use ftp_tokio::server::{ServerOptions, User};
/// use tokio::io::AsyncReadExt;
///
/// // A server on loopback, serving one file from memory.
/// let fs = MemoryFs::new();
/// fs.write_file("/notes.txt", b"hello from the data connection")?;
/// let mut options = ServerOptions::with_storage("127.0.0.1:0".parse()?, std::sync::Arc::new(fs));
/// options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: false }];
/// let server = Background::start(options)?;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// runtime.block_on(async {
///     let mut client = Client::connect("127.0.0.1", server.addr().port(), ClientOptions::default()).await?;
///     client.login("alice", "secret").await?;
///     let mut download = client.retr_stream("notes.txt", 6).await?; // REST 6 first
///     let mut text = String::new();
///     download.read_to_string(&mut text).await?;
///     assert_eq!(download.finish().await?, 24); // the 226
///     assert_eq!(text, "from the data connection");
///     client.quit().await?;
///     Ok::<_, Box<dyn std::error::Error>>(())
/// })?;
/// server.stop(std::time::Duration::from_secs(5));
/// # Ok(()) }
/// ```
pub struct RetrStream<'a> {
    client: &'a mut Client,
    conn: Option<DataConn>,
    bytes: u64,
    eof: bool,
    /// A read failed (or stalled): the data side is broken.
    broken: Option<io::ErrorKind>,
    stall: Stall,
    ascii: Option<Box<FromWireState>>,
}

impl fmt::Debug for RetrStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetrStream").field("bytes", &self.bytes).field("eof", &self.eof).finish_non_exhaustive()
    }
}

impl<'a> RetrStream<'a> {
    fn new(client: &'a mut Client, conn: Option<DataConn>) -> Self {
        let ascii = client.options.config.is_ascii().then(|| {
            Box::new(FromWireState { lines: FromWire::default(), raw: vec![0; ASCII_CHUNK], out: Vec::new(), at: 0 })
        });
        let stall = Stall::new(client.options.data_timeout);
        let eof = conn.is_none();
        Self { client, conn, bytes: 0, eof, broken: None, stall, ascii }
    }

    /// Bytes received on the data connection so far (as sent: before any
    /// `TYPE A` conversion), counting from the offset asked for.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Ends the download and reads the server's final reply; returns the
    /// bytes received (from the offset on).
    ///
    /// Call it after reading to the end. Called before (with bytes still
    /// coming), it aborts the transfer (`ABOR`, RFC 959 4.1.3) and returns
    /// [`ClientError::Aborted`].
    ///
    /// # Errors
    /// [`ClientError::Rejected`] naming the `RETR` when the final reply is
    /// a refusal (426, 451...); [`ClientError::Failed`] with
    /// [`OpError::Partial`] for a download shorter than the server
    /// announced (SECURITY.md R5); [`ClientError::Aborted`] as above;
    /// [`ClientError::Io`] when the data connection failed or stalled.
    pub async fn finish(mut self) -> Result<u64, ClientError> {
        if let Some(kind) = self.broken {
            // The data side failed already: the transfer cannot complete.
            self.park();
            self.client.end_pending(true).await?;
            return Err(ClientError::Io(io::Error::new(kind, "the data connection failed")));
        }
        let mut unfinished = !self.eof;
        if unfinished {
            // A caller that read exactly the file's size has not seen the
            // end-of-file yet: one more read tells.
            let mut probe = [0u8; 4096];
            match self.read(&mut probe).await {
                Ok(0) => unfinished = false,
                Ok(_) => {}
                Err(e) => {
                    self.park();
                    self.client.end_pending(false).await?;
                    return Err(ClientError::Io(e));
                }
            }
        }
        self.park();
        match self.client.end_pending(unfinished).await? {
            Some(ended) if unfinished => Err(ClientError::Aborted { command: ended.command, bytes: ended.bytes }),
            Some(ended) => ended.result,
            None => Ok(self.bytes),
        }
    }

    /// Aborts the download (`ABOR`, RFC 959 4.1.3, reading 426 then 226,
    /// or 226 alone), leaving the client ready for the next command: for
    /// a caller that wanted only the beginning of a file.
    ///
    /// # Errors
    /// As [`Client::abort`].
    pub async fn abort(mut self) -> Result<(), ClientError> {
        self.park();
        self.client.abort().await
    }

    /// Hands the data connection and the counts to the client's pending
    /// transfer (done once: by `finish`, `abort` or the drop).
    fn park(&mut self) {
        if let Some(p) = self.client.pending.as_mut() {
            if p.conn.is_none() {
                p.conn = self.conn.take();
            }
            p.bytes = self.bytes;
            p.ended = self.eof;
        }
    }

    /// Reads the connection's bytes as they come (no conversion).
    fn poll_raw(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let Some(conn) = self.conn.as_mut().filter(|_| !self.eof) else { return Poll::Ready(Ok(())) };
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(conn).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                self.eof = n == 0;
                self.bytes += n as u64;
                self.stall.progress();
                Poll::Ready(Ok(()))
            }
            // A TLS peer that closes without close_notify: the session
            // still compares the count with SIZE / the 150 (as `get`).
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.eof = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                self.broken = Some(e.kind());
                Poll::Ready(Err(e))
            }
            Poll::Pending => self.stall.poll_expired(cx).map(|e| {
                self.broken = Some(e.kind());
                Err(e)
            }),
        }
    }
}

impl AsyncRead for RetrStream<'_> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(mut ascii) = this.ascii.take() else { return this.poll_raw(cx, buf) };
        let result = loop {
            if ascii.at < ascii.out.len() {
                let n = buf.remaining().min(ascii.out.len() - ascii.at);
                buf.put_slice(&ascii.out[ascii.at..ascii.at + n]);
                ascii.at += n;
                break Poll::Ready(Ok(()));
            }
            if this.eof || buf.remaining() == 0 {
                break Poll::Ready(Ok(()));
            }
            let state = &mut *ascii;
            let mut raw = ReadBuf::new(&mut state.raw);
            match this.poll_raw(cx, &mut raw) {
                Poll::Ready(Ok(())) => {}
                other => break other,
            }
            let n = raw.filled().len();
            state.at = 0;
            if n == 0 {
                state.out.clear();
                state.out.extend_from_slice(state.lines.finish());
            } else {
                state.lines.convert(&state.raw[..n], &mut state.out);
            }
        };
        this.ascii = Some(ascii);
        result
    }
}

impl Drop for RetrStream<'_> {
    fn drop(&mut self) {
        self.park();
    }
}

/// An upload being written: an [`AsyncWrite`] over the data connection of
/// a `STOR` (plain or TLS, whatever the session negotiated), from
/// [`Client::stor_stream`].
///
/// Write the file, then call [`finish`](Self::finish): it closes the
/// data connection the way a complete upload ends (TLS close_notify, then
/// the TCP close, RFC 959 3.4) and reads the server's final reply. The
/// stall timeout ([`ClientOptions::data_timeout`]) applies to every write.
/// Under `TYPE A` ([`ClientConfig::ascii`]) LF line ends are sent as CRLF.
///
/// It borrows the [`Client`] mutably. Dropped unfinished, the upload is
/// not completed: the data connection is reset, never closed as if the
/// file ended, and the next call on the client aborts the transfer
/// (`ABOR`) before anything else.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ftp_tokio::background::Background;
/// use ftp_tokio::client::{Client, ClientOptions};
/// use ftp_tokio::memory::MemoryFs;
/// use ftp_tokio::server::{ServerOptions, User};
/// use tokio::io::AsyncWriteExt;
///
/// let fs = std::sync::Arc::new(MemoryFs::new());
/// let mut options = ServerOptions::with_storage("127.0.0.1:0".parse()?, fs.clone());
/// options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
/// let server = Background::start(options)?;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// runtime.block_on(async {
///     let mut client = Client::connect("127.0.0.1", server.addr().port(), ClientOptions::default()).await?;
///     client.login("alice", "secret").await?;
///     let mut upload = client.stor_stream("report.csv", 0).await?;
///     upload.write_all(b"day,files\n").await?;
///     upload.write_all(b"monday,12\n").await?;
///     assert_eq!(upload.finish().await?, 20); // closed, then the 226
///     client.quit().await?;
///     Ok::<_, Box<dyn std::error::Error>>(())
/// })?;
/// assert_eq!(fs.read_file("/report.csv").as_deref(), Some(&b"day,files\nmonday,12\n"[..]));
/// server.stop(std::time::Duration::from_secs(5));
/// # Ok(()) }
/// ```
pub struct StorStream<'a> {
    client: &'a mut Client,
    conn: Option<DataConn>,
    bytes: u64,
    shut: bool,
    stall: Stall,
    ascii: Option<Box<ToWireState>>,
}

impl fmt::Debug for StorStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorStream").field("bytes", &self.bytes).finish_non_exhaustive()
    }
}

impl<'a> StorStream<'a> {
    fn new(client: &'a mut Client, conn: Option<DataConn>) -> Self {
        let ascii = client
            .options
            .config
            .is_ascii()
            .then(|| Box::new(ToWireState { lines: ToWire::default(), out: Vec::new(), at: 0 }));
        let stall = Stall::new(client.options.data_timeout);
        Self { client, conn, bytes: 0, shut: false, stall, ascii }
    }

    /// Bytes sent on the data connection so far (as sent: after any
    /// `TYPE A` conversion).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Completes the upload: closes the data connection (TLS close_notify
    /// then FIN, so the server can tell a complete upload from a cut one)
    /// and reads the server's final reply; returns the bytes sent.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] naming the `STOR` when the final reply is
    /// a refusal (426, 451, 452, 552...); [`ClientError::Io`] when the data
    /// connection failed or stalled (the transfer is then aborted).
    pub async fn finish(mut self) -> Result<u64, ClientError> {
        if let Err(e) = self.shutdown().await {
            self.park();
            self.client.end_pending(false).await?;
            return Err(ClientError::Io(e));
        }
        self.shut = true;
        if let Some(conn) = self.conn.as_mut() {
            // Read to the server's close: under TLS 1.3 this also takes in
            // the session tickets the next data connection resumes with.
            let mut scratch = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while matches!(conn.read(&mut scratch).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        self.park();
        match self.client.end_pending(false).await? {
            Some(ended) => ended.result,
            None => Ok(self.bytes),
        }
    }

    /// Abandons the upload: `ABOR` (RFC 959 4.1.3), the data connection
    /// reset rather than closed, 426 then 226 (or 226 alone) read. What
    /// the server keeps of the file is its own policy.
    ///
    /// # Errors
    /// As [`Client::abort`].
    pub async fn abort(mut self) -> Result<(), ClientError> {
        self.park();
        self.client.abort().await
    }

    fn park(&mut self) {
        if let Some(p) = self.client.pending.as_mut() {
            if p.conn.is_none() {
                p.conn = self.conn.take();
            }
            p.bytes = self.bytes;
            p.ended = self.shut;
        }
    }

    fn poll_raw_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "the transfer has no data connection")));
        };
        match Pin::new(conn).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                self.bytes += n as u64;
                self.stall.progress();
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.stall.poll_expired(cx).map(Err),
        }
    }

    /// Writes out converted `TYPE A` bytes held back.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(mut ascii) = self.ascii.take() else { return Poll::Ready(Ok(())) };
        let result = loop {
            if ascii.at >= ascii.out.len() {
                ascii.out.clear();
                ascii.at = 0;
                break Poll::Ready(Ok(()));
            }
            match self.poll_raw_write(cx, &ascii.out[ascii.at..]) {
                Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => ascii.at += n,
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        self.ascii = Some(ascii);
        result
    }

    fn poll_with_stall(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(Pin<&mut DataConn>, &mut Context<'_>) -> Poll<io::Result<()>>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        let Some(conn) = self.conn.as_mut() else { return Poll::Ready(Ok(())) };
        match f(Pin::new(conn), cx) {
            Poll::Pending => self.stall.poll_expired(cx).map(Err),
            ready => ready,
        }
    }
}

impl AsyncWrite for StorStream<'_> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.ascii.is_none() {
            return this.poll_raw_write(cx, buf);
        }
        ready!(this.poll_drain(cx))?;
        if let Some(ascii) = this.ascii.as_mut() {
            ascii.lines.convert(buf, &mut ascii.out);
            ascii.at = 0;
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_with_stall(cx, DataConn::poll_flush)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_with_stall(cx, DataConn::poll_shutdown)
    }
}

impl Drop for StorStream<'_> {
    fn drop(&mut self) {
        self.park();
    }
}

/// Reads a dropped download's tail, looking for its end within
/// [`TAIL_BUDGET`] bytes.
async fn at_end(conn: &mut DataConn, bytes: &mut u64) -> bool {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut budget = TAIL_BUDGET;
    loop {
        match tokio::time::timeout(REPLY_GRACE, conn.read(&mut scratch)).await {
            Ok(Ok(0)) => return true,
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return true,
            Ok(Ok(n)) if n < budget => {
                *bytes += n as u64;
                budget -= n;
            }
            _ => return false,
        }
    }
}

impl Client {
    /// Downloads `path` as a stream: an [`AsyncRead`] over the data
    /// connection, from byte `offset` (`REST`, RFC 3659 section 5) when
    /// resuming; for callers that pull the bytes (to decompress, hash or
    /// forward them) rather than hand [`get`](Self::get) a writer. See
    /// [`RetrStream`] for an example.
    ///
    /// The session runs the transfer as for `get` (`SIZE` first when
    /// resuming, TYPE, EPSV/PASV or PORT, REST, RETR); the stream is
    /// returned once the server's 1xx came and the data connection is
    /// open (its TLS handshake done under `PROT P`).
    ///
    /// # Errors
    /// The server refused (550: [`ClientError::Rejected`] naming the
    /// `RETR`), the data connection could not be made, or the control
    /// connection failed.
    pub async fn retr_stream(&mut self, path: &str, offset: u64) -> Result<RetrStream<'_>, ClientError> {
        let path = pathname(path)?;
        let conn = self.open_stream(move |s, now| s.retrieve(now, &path, offset)).await?;
        Ok(RetrStream::new(self, conn))
    }

    /// Uploads to `path` as a stream: an [`AsyncWrite`] over the data
    /// connection (`STOR`; `REST offset` first when resuming, so the bytes
    /// written should start at that offset); for callers that produce the
    /// bytes as they go rather than hand [`put`](Self::put) a reader. See
    /// [`StorStream`] for an example.
    ///
    /// # Errors
    /// The server refused (553, 550: [`ClientError::Rejected`] naming the
    /// `STOR`), the data connection could not be made, or the control
    /// connection failed.
    pub async fn stor_stream(&mut self, path: &str, offset: u64) -> Result<StorStream<'_>, ClientError> {
        let path = pathname(path)?;
        let conn = self.open_stream(move |s, now| s.store(now, &path, offset)).await?;
        Ok(StorStream::new(self, conn))
    }

    /// Aborts the transfer a stream left unfinished (dropped, or given up
    /// with [`RetrStream::abort`]): RFC 959 4.1.3's Telnet IP and Synch
    /// (TCP urgent data; in-band under TLS, RFC 4217 section 14), then
    /// `ABOR`, and the replies read: 426 for the transfer then 226 for the
    /// `ABOR`, or 226 alone. A final reply that already arrived is read
    /// first and no `ABOR` is sent (a finished transfer needs none, and
    /// `ABOR` after it would get a reply of its own). The data connection
    /// is reset.
    ///
    /// With no transfer in progress it does nothing and returns `Ok`: it
    /// sends no `ABOR`, whose reply some servers make 225 and others 226
    /// or 502. Every other call ends such a transfer by itself first, so
    /// calling this is needed only to end it now.
    ///
    /// # Errors
    /// The server refused the `ABOR` itself ([`ClientError::Rejected`]
    /// naming it), or the control connection failed or closed. A transfer
    /// that ended in a refusal of its own (426, 451) is not an error here:
    /// it is over, which is what was asked.
    pub async fn abort(&mut self) -> Result<(), ClientError> {
        let Some(ended) = self.end_pending(true).await? else { return Ok(()) };
        match ended.result {
            Err(ClientError::Rejected { reply, .. }) if ended.abor_sent => {
                Err(ClientError::Rejected { command: "ABOR".to_owned(), reply })
            }
            Err(e @ (ClientError::Closed(_) | ClientError::Io(_) | ClientError::Violation { .. })) => Err(e),
            _ => Ok(()),
        }
    }

    /// Ends a transfer a dropped stream left, its outcome dropped: the
    /// caller gave it up. Errors are the control connection's.
    pub(super) async fn settle(&mut self) -> Result<(), ClientError> {
        self.end_pending(false).await.map(drop)
    }

    /// Starts a transfer and drives it until its data connection is open,
    /// for a stream. `None`: the transfer completed without one (a final
    /// reply at once, with no 1xx).
    async fn open_stream(
        &mut self,
        start: impl FnOnce(&mut Session, Instant) -> Result<OpId, StartError>,
    ) -> Result<Option<DataConn>, ClientError> {
        self.settle().await?;
        let id = start(&mut self.session, Instant::now())?;
        let driven = self.drive(Want::Stream(id), DataIo::Handoff).await;
        self.data = None;
        match driven? {
            Driven::Stream => {
                let Some(handoff) = self.handoff.take() else {
                    return Err(ClientError::Failed(OpError::Protocol("no data connection to hand over")));
                };
                self.pending = Some(Pending {
                    op: id,
                    data: handoff.id,
                    command: self.last_command.clone(),
                    direction: handoff.direction,
                    conn: None,
                    bytes: 0,
                    ended: false,
                });
                Ok(Some(handoff.conn))
            }
            Driven::Done(Ok(_)) => Ok(None),
            Driven::Done(Err(e)) => Err(self.named(e, None)),
            Driven::NotYet => Err(ClientError::Failed(OpError::Protocol("transfer left unfinished"))),
        }
    }

    fn data_end(&mut self, id: DataId, event: DataEvent) {
        if !self.session.is_closed() {
            crate::checked(self.session.handle_input(Instant::now(), Input::Data(id, event)));
        }
    }

    /// Ends the pending stream transfer, if any: reports its data side's
    /// end and reads its final reply; when the data side did not end (or
    /// `abort`), sends `ABOR` unless the final reply is already here.
    /// The outer error is the control connection's; the inner result is
    /// the transfer's.
    pub(super) async fn end_pending(&mut self, abort: bool) -> Result<Option<Ended>, ClientError> {
        let Some(mut p) = self.pending.take() else { return Ok(None) };
        if self.session.is_closed() {
            if let Some(conn) = p.conn.take() {
                conn.reset();
            }
            return Err(ClientError::Closed(None));
        }
        if !abort
            && !p.ended
            && p.direction == Direction::Download
            && let Some(conn) = p.conn.as_mut()
        {
            p.ended = at_end(conn, &mut p.bytes).await;
        }
        let mut abor_sent = false;
        let driven = if p.ended {
            drop(p.conn.take());
            self.data_end(p.data, DataEvent::Finished { bytes: p.bytes });
            self.drive(Want::Op(p.op), DataIo::None).await
        } else {
            self.data_end(p.data, DataEvent::Failed { bytes: p.bytes });
            match self.drive(Want::Ready(p.op, Instant::now() + REPLY_GRACE), DataIo::None).await {
                Ok(Driven::NotYet) => {
                    if let Some(conn) = p.conn.take() {
                        conn.reset();
                    }
                    self.info("aborting the transfer (ABOR)");
                    abor_sent = self.session.abort(Instant::now()).is_ok();
                    self.drive(Want::Op(p.op), DataIo::None).await
                }
                other => other,
            }
        };
        if let Some(conn) = p.conn.take() {
            conn.reset();
        }
        self.data = None;
        let result = match driven? {
            Driven::Done(done) => done.map_err(|e| self.named(e, Some(&p.command))).and_then(transferred),
            Driven::Stream | Driven::NotYet => Err(ClientError::Failed(OpError::Protocol("transfer left unfinished"))),
        };
        Ok(Some(Ended { abor_sent, result, command: p.command, bytes: p.bytes }))
    }
}
