//! A blocking FTP client, for programs without an async runtime (a
//! command-line tool, a build script, a test harness).
//!
//! [`Client`] owns a tokio current-thread runtime and the async
//! [`Client`](super::Client), and runs each call to its end on that
//! runtime: the same session, the same driver, the same FTPS; only the
//! waiting is blocking. Downloads go into any [`std::io::Write`], uploads
//! come from any [`std::io::Read`], and [`Client::retr_stream`] gives a
//! download as a [`std::io::Read`].
//!
//! It must not be used inside an async runtime (a tokio task, an async
//! `main`): blocking there would stall that runtime's other tasks, and
//! tokio refuses to start a runtime within another. Every call checks and
//! returns [`ClientError::InsideRuntime`] instead of blocking or
//! panicking; from async code use the async client, or call this one from
//! `tokio::task::spawn_blocking`.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ftp_tokio::background::Background;
//! use ftp_tokio::client::ClientOptions;
//! use ftp_tokio::client::blocking::Client;
//! use ftp_tokio::memory::MemoryFs;
//! use ftp_tokio::server::{ServerOptions, User};
//!
//! // A server on loopback, from memory, on its own thread.
//! let mut options = ServerOptions::with_storage("127.0.0.1:0".parse()?, std::sync::Arc::new(MemoryFs::new()));
//! options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
//! let server = Background::start(options)?;
//!
//! // No runtime here: plain blocking calls.
//! let mut client = Client::connect("127.0.0.1", server.addr().port(), ClientOptions::default())?;
//! client.login("alice", "secret")?;
//! client.mkdir("inbox")?;
//! client.put("inbox/hello.txt", 0, &mut &b"hello, blocking world\n"[..])?;
//! let mut copy = Vec::new();
//! client.get("inbox/hello.txt", 0, &mut copy)?;
//! assert_eq!(copy, b"hello, blocking world\n");
//! assert_eq!(client.size("inbox/hello.txt")?, 22);
//! client.quit()?;
//! server.stop(std::time::Duration::from_secs(5));
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;

use ftp_proto::listing::Entry;
use ftp_proto::{Reply, Timestamp};
use ftp_session::client::Capabilities;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

use super::{ClientError, ClientOptions, FtpUrl};

/// Bytes moved at a time by [`Client::get`] and [`Client::put`].
const CHUNK: usize = 256 * 1024;

/// A blocking FTP client connection: the async
/// [`Client`](super::Client) on a runtime of its own. See the
/// [module docs](self).
pub struct Client {
    runtime: Runtime,
    inner: super::Client,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client").field("inner", &self.inner).finish_non_exhaustive()
    }
}

/// [`ClientError::InsideRuntime`] when called from within a runtime,
/// where `block_on` would panic (and blocking would stall it).
fn outside_runtime() -> Result<(), ClientError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Err(ClientError::InsideRuntime),
        Err(_) => Ok(()),
    }
}

fn runtime() -> Result<Runtime, ClientError> {
    outside_runtime()?;
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

impl Client {
    /// Connects to `host:port` (see [`Client::connect`](super::Client::connect)).
    ///
    /// # Errors
    /// [`ClientError::InsideRuntime`] inside an async runtime; otherwise as
    /// the async `connect`.
    pub fn connect(host: &str, port: u16, options: ClientOptions) -> Result<Self, ClientError> {
        let runtime = runtime()?;
        let inner = runtime.block_on(super::Client::connect(host, port, options))?;
        Ok(Self { runtime, inner })
    }

    /// Connects to an `ftp://` or `ftps://` URL's server and logs in (see
    /// [`Client::connect_url`](super::Client::connect_url)).
    ///
    /// # Errors
    /// [`ClientError::InsideRuntime`] inside an async runtime; otherwise as
    /// the async `connect_url`.
    pub fn connect_url(url: &str, options: ClientOptions) -> Result<(Self, FtpUrl), ClientError> {
        let runtime = runtime()?;
        let (inner, url) = runtime.block_on(super::Client::connect_url(url, options))?;
        Ok((Self { runtime, inner }, url))
    }

    /// Runs one async call to its end on the client's runtime.
    fn run<'a, T, F>(&'a mut self, call: impl FnOnce(&'a mut super::Client) -> F) -> Result<T, ClientError>
    where
        F: std::future::Future<Output = Result<T, ClientError>> + 'a,
    {
        outside_runtime()?;
        self.runtime.block_on(call(&mut self.inner))
    }

    /// The async client underneath, for what this wrapper does not offer
    /// (its futures must be run on a runtime of the caller's).
    #[must_use]
    pub fn get_ref(&self) -> &super::Client {
        &self.inner
    }

    /// The server's greeting.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.inner.greeting()
    }

    /// What the server's `FEAT` offered (after [`login`](Self::login)).
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    /// Logs in (see [`Client::login`](super::Client::login)).
    ///
    /// # Errors
    /// [`ClientError::Rejected`] with the 530 when the server refuses.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.run(|c| c.login(user, password))
    }

    /// `PWD`: the working directory.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub fn pwd(&mut self) -> Result<String, ClientError> {
        self.run(super::Client::pwd)
    }

    /// `CWD`.
    ///
    /// # Errors
    /// The server refused (550) or the connection failed.
    pub fn cwd(&mut self, path: &str) -> Result<(), ClientError> {
        self.run(|c| c.cwd(path))
    }

    /// `CDUP`: to the parent directory.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub fn cdup(&mut self) -> Result<(), ClientError> {
        self.run(super::Client::cdup)
    }

    /// `MKD`: the created directory's name.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub fn mkdir(&mut self, path: &str) -> Result<String, ClientError> {
        self.run(|c| c.mkdir(path))
    }

    /// `RMD`.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub fn rmdir(&mut self, path: &str) -> Result<(), ClientError> {
        self.run(|c| c.rmdir(path))
    }

    /// `DELE`.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub fn delete(&mut self, path: &str) -> Result<(), ClientError> {
        self.run(|c| c.delete(path))
    }

    /// `RNFR` then `RNTO`.
    ///
    /// # Errors
    /// The server refused either step or the connection failed.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), ClientError> {
        self.run(|c| c.rename(from, to))
    }

    /// `SIZE` (RFC 3659 section 4).
    ///
    /// # Errors
    /// The server refused or does not implement SIZE.
    pub fn size(&mut self, path: &str) -> Result<u64, ClientError> {
        self.run(|c| c.size(path))
    }

    /// `MDTM` (RFC 3659 section 3): the modification time, in UTC.
    ///
    /// # Errors
    /// The server refused or does not implement MDTM.
    pub fn mdtm(&mut self, path: &str) -> Result<Timestamp, ClientError> {
        self.run(|c| c.mdtm(path))
    }

    /// `MLST` (RFC 3659 section 7): one entry's facts, parsed.
    ///
    /// # Errors
    /// The server refused or sent no facts line.
    pub fn mlst(&mut self, path: Option<&str>) -> Result<Entry, ClientError> {
        self.run(|c| c.mlst(path))
    }

    /// `MFMT`: sets the modification time.
    ///
    /// # Errors
    /// The server refused (no MFMT, no such file, not allowed).
    pub fn mfmt(&mut self, path: &str, time: Timestamp) -> Result<(), ClientError> {
        self.run(|c| c.mfmt(path, time))
    }

    /// Lists a directory, parsed (`MLSD` when offered, `LIST` otherwise).
    ///
    /// # Errors
    /// The server refused, or the data connection failed.
    pub fn list(&mut self, path: Option<&str>) -> Result<Vec<Entry>, ClientError> {
        self.run(|c| c.list(path))
    }

    /// `NLST`: names only.
    ///
    /// # Errors
    /// The server refused, or the data connection failed.
    pub fn nlst(&mut self, path: Option<&str>) -> Result<Vec<String>, ClientError> {
        self.run(|c| c.nlst(path))
    }

    /// `FEAT` again: refreshes and returns the capabilities.
    ///
    /// # Errors
    /// The connection failed.
    pub fn feat(&mut self) -> Result<Capabilities, ClientError> {
        self.run(|c| async move { c.feat().await.cloned() })
    }

    /// `SITE args`: the final reply.
    ///
    /// # Errors
    /// Arguments no line can carry; the server refused or the connection
    /// failed.
    pub fn site(&mut self, args: &str) -> Result<Reply, ClientError> {
        self.run(|c| c.site(args))
    }

    /// Any one command line and its final reply (see
    /// [`Client::raw`](super::Client::raw) for what is refused).
    ///
    /// # Errors
    /// A line that is not a command, or one with a call of its own; the
    /// connection failed.
    pub fn raw(&mut self, line: &str) -> Result<Reply, ClientError> {
        self.run(|c| c.raw(line))
    }

    /// `NOOP`.
    ///
    /// # Errors
    /// The connection failed.
    pub fn noop(&mut self) -> Result<(), ClientError> {
        self.run(super::Client::noop)
    }

    /// Aborts a transfer a dropped [`RetrStream`] left (see
    /// [`Client::abort`](super::Client::abort)); with none, does nothing.
    ///
    /// # Errors
    /// The server refused `ABOR`, or the connection failed.
    pub fn abort(&mut self) -> Result<(), ClientError> {
        self.run(super::Client::abort)
    }

    /// Downloads `path` into `out`, from byte `offset` when resuming;
    /// returns the bytes received. Through a [`RetrStream`], so `out` is
    /// written as the bytes arrive.
    ///
    /// # Errors
    /// The server refused, the data connection failed, the download came
    /// short (SECURITY.md R5), or `out` failed (the transfer is then
    /// aborted).
    pub fn get<W: io::Write + ?Sized>(&mut self, path: &str, offset: u64, out: &mut W) -> Result<u64, ClientError> {
        self.run(|c| async move {
            let mut stream = c.retr_stream(path, offset).await?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                if let Err(e) = out.write_all(&buf[..n]) {
                    stream.abort().await?;
                    return Err(ClientError::Io(e));
                }
            }
            out.flush()?;
            stream.finish().await
        })
    }

    /// Uploads `input` to `path` (`STOR`; `REST offset` first when
    /// resuming, so `input` should start at that offset); returns the
    /// bytes sent. Through a `StorStream`.
    ///
    /// # Errors
    /// The server refused, the data connection failed, or `input` failed
    /// (the transfer is then aborted, never completed as if the file had
    /// ended).
    pub fn put<R: io::Read + ?Sized>(&mut self, path: &str, offset: u64, input: &mut R) -> Result<u64, ClientError> {
        self.run(|c| async move {
            let mut stream = c.stor_stream(path, offset).await?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        stream.abort().await?;
                        return Err(ClientError::Io(e));
                    }
                };
                stream.write_all(&buf[..n]).await?;
            }
            stream.finish().await
        })
    }

    /// Downloads `path` as a [`std::io::Read`], from byte `offset` when
    /// resuming: for callers that pull the bytes (see
    /// [`RetrStream`](super::RetrStream) for the details).
    ///
    /// # Errors
    /// The server refused, the data connection could not be made, or the
    /// connection failed.
    pub fn retr_stream(&mut self, path: &str, offset: u64) -> Result<RetrStream<'_>, ClientError> {
        outside_runtime()?;
        let Self { runtime, inner } = self;
        let stream = runtime.block_on(inner.retr_stream(path, offset))?;
        Ok(RetrStream { runtime, inner: Some(stream) })
    }

    /// `QUIT`, then closes the connection. A transfer still pending is
    /// aborted first.
    ///
    /// # Errors
    /// The connection failed before the 221.
    pub fn quit(self) -> Result<(), ClientError> {
        outside_runtime()?;
        let Self { runtime, inner } = self;
        runtime.block_on(inner.quit())
    }
}

/// A download being read, blocking: a [`std::io::Read`] over the
/// [`RetrStream`](super::RetrStream) of [`Client::retr_stream`]. Read it
/// to the end, then [`finish`](Self::finish) for the server's final
/// reply. Dropped unfinished, the next call on the client aborts the
/// transfer first (RFC 959 4.1.3).
pub struct RetrStream<'a> {
    runtime: &'a Runtime,
    inner: Option<super::RetrStream<'a>>,
}

impl fmt::Debug for RetrStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::RetrStream").field("inner", &self.inner).finish()
    }
}

impl RetrStream<'_> {
    /// Bytes received so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.inner.as_ref().map_or(0, super::RetrStream::bytes)
    }

    /// Ends the download and reads the final reply (see
    /// [`RetrStream::finish`](super::RetrStream::finish)).
    ///
    /// # Errors
    /// As the async `finish`.
    pub fn finish(mut self) -> Result<u64, ClientError> {
        outside_runtime()?;
        let stream = self.inner.take().ok_or(ClientError::Closed(None))?;
        self.runtime.block_on(stream.finish())
    }

    /// Aborts the download (`ABOR`), leaving the client ready.
    ///
    /// # Errors
    /// As [`Client::abort`](super::Client::abort).
    pub fn abort(mut self) -> Result<(), ClientError> {
        outside_runtime()?;
        let stream = self.inner.take().ok_or(ClientError::Closed(None))?;
        self.runtime.block_on(stream.abort())
    }
}

impl io::Read for RetrStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(io::Error::other(ClientError::InsideRuntime));
        }
        let Some(stream) = self.inner.as_mut() else { return Ok(0) };
        self.runtime.block_on(stream.read(buf))
    }
}

impl Drop for RetrStream<'_> {
    fn drop(&mut self) {
        // The stream's sockets and timer belong to this runtime.
        let _entered = self.runtime.enter();
        drop(self.inner.take());
    }
}
