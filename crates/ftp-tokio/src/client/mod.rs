//! The FTP client driver: an async API over `ftp_session::client::Session`.
//!
//! [`Client`] owns the control socket (plain or TLS), the data sockets and
//! the clock; the session decides every command and checks every reply.
//! Each method starts one session operation and drives the connection until
//! that operation completes, so the methods take `&mut self` and run one at
//! a time, as FTP's control connection does.
//!
//! Data connections are passive by default (EPSV, then PASV for the rest of
//! the session once a server or middlebox refuses EPSV), with the 227
//! address handled by the session's [`PasvPolicy`](ftp_session::client::PasvPolicy);
//! active mode is `ClientConfig::data_mode(DataMode::Active)`. Under FTPS,
//! data connections resume the control connection's TLS session, which
//! servers such as vsftpd (`require_ssl_reuse=YES`) and ours insist on
//! (SECURITY.md L6), and every TLS handshake sends SNI and ALPN `ftp` and
//! verifies the certificate name (SECURITY.md L10).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ftp_tokio::client::ClientError> {
//! use ftp_tokio::client::{Client, ClientOptions};
//! let mut client = Client::connect("127.0.0.1", 2121, ClientOptions::default()).await?;
//! client.login("anonymous", "guest@").await?;
//! for entry in client.list(None).await? {
//!     println!("{}", String::from_utf8_lossy(entry.name()));
//! }
//! let mut file = tokio::fs::File::create("README.md").await.unwrap();
//! client.get("README.md", 0, &mut file).await?;
//! client.quit().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::listing::Entry;
use ftp_proto::{Pathname, Reply, Timestamp};
use ftp_session::client::{
    Capabilities, ClientConfig, DataAction, DataEvent, DataId, Direction, Event, Input, ListCommand, OpError, OpId,
    OpOutput, Output, Session, StartError, TlsMode,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::ascii::{FromWire, ToWire};
use crate::buffer::Buffer;

pub mod blocking;
mod control;
mod data;
mod drive;
mod stream;
mod url;

use control::Control;
use data::{DataIo, DataSide, TransferFuture, connect_from, move_bytes};
use drive::{Driven, transferred};
use stream::{DataConn, Handoff, Pending};
pub use stream::{RetrStream, StorStream};
pub use url::FtpUrl;

/// How the control connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Security {
    /// Plain FTP.
    #[default]
    Plain,
    /// `AUTH TLS` before login (RFC 4217): `ftps://` in curl's sense of
    /// `--ssl-reqd`. A server that refuses TLS is an error, never a silent
    /// downgrade.
    Explicit,
    /// TLS from the first byte (the de-facto port 990 mode).
    Implicit,
}

/// One line of the control conversation, for `-v` style logging.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Line<'a> {
    /// A command sent (passwords are masked).
    Sent(&'a str),
    /// A reply line received.
    Received(&'a str),
    /// What the driver did (connections, TLS).
    Info(&'a str),
}

/// Receives the control conversation.
pub type Transcript = Arc<dyn Fn(Line<'_>) + Send + Sync>;

/// How to connect.
#[derive(Clone)]
pub struct ClientOptions {
    /// Plain, explicit or implicit FTPS.
    pub security: Security,
    /// Accept any server certificate (self-signed test servers). The
    /// connection is then encrypted but not authenticated.
    pub insecure: bool,
    /// The name to send as SNI and to verify the certificate against;
    /// default: the host given to [`Client::connect`].
    pub server_name: Option<String>,
    /// Offer TLS 1.2 only. For servers that require every data connection
    /// to resume the control session but hand out no fresh TLS 1.3 tickets
    /// on data connections (proftpd): a TLS 1.3 ticket is single-use on the
    /// client side, while a TLS 1.2 session resumes any number of times.
    pub tls12_only: bool,
    /// Trust anchors; default: the system's certificate store.
    pub roots: Option<Arc<crate::tls::RootCertStore>>,
    /// The session's configuration: data mode, 227 policy, `PROT` level,
    /// reply timeout... Its TLS mode is set from [`security`](Self::security).
    pub config: ClientConfig,
    /// How long connecting may take (control and data connections; for
    /// the control connection, up to the server's greeting, TLS included).
    pub connect_timeout: Duration,
    /// How long a data connection may stall before the transfer fails.
    pub data_timeout: Duration,
    /// Largest directory listing accepted (SECURITY.md R4), in bytes.
    pub max_listing: u64,
    /// Receives the control conversation.
    pub transcript: Option<Transcript>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            security: Security::Plain,
            insecure: false,
            server_name: None,
            tls12_only: false,
            roots: None,
            config: ClientConfig::default(),
            connect_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(60),
            max_listing: 256 << 20,
            transcript: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("security", &self.security)
            .field("insecure", &self.insecure)
            .field("server_name", &self.server_name)
            .field("tls12_only", &self.tls12_only)
            .field("config", &self.config)
            .field("connect_timeout", &self.connect_timeout)
            .field("data_timeout", &self.data_timeout)
            .field("max_listing", &self.max_listing)
            .field("transcript", &self.transcript.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// No address of the host accepted the connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The TLS handshake or configuration failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Explicit or implicit FTPS was asked of a build without TLS
    /// (`ftp-tokio`'s `rustls` feature is off); nothing was sent.
    #[error("TLS is not available: ftp-tokio was built without its `rustls` feature")]
    TlsUnavailable,
    /// The server refused the operation; the reply says why. `command` is
    /// the command it answered, as sent (a password masked).
    #[error("{command}: server replied {}", reply_text(.reply))]
    Rejected {
        /// The command the refusal answered (`RETR report.pdf`).
        command: String,
        /// The refusal.
        reply: Reply,
    },
    /// The server broke the protocol answering `command` (a reply the
    /// client cannot use: a malformed 227, a reply that is not text...);
    /// the connection is closed, since it cannot be known to be in step.
    #[error("{command}: protocol violation: {why}")]
    Violation {
        /// The command the unusable reply answered, as sent (a password
        /// masked).
        command: String,
        /// What was wrong.
        why: &'static str,
    },
    /// The operation failed otherwise (timeout, lost data connection,
    /// partial transfer, a protocol violation before any command...).
    #[error("{0}")]
    Failed(OpError),
    /// The connection ended.
    #[error("connection closed{}", .0.as_ref().map(|r| format!(" ({})", reply_text(r))).unwrap_or_default())]
    Closed(Option<Reply>),
    /// A local read or write failed (the file being sent or received, or
    /// the control socket).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The call does not fit: a path with a line break, or a call before
    /// the greeting.
    #[error("cannot start: {0}")]
    Usage(StartError),
    /// A stream's transfer was ended before all of its bytes moved
    /// ([`RetrStream::finish`] before the end of the file,
    /// [`StorStream::abort`]...): the server was sent `ABOR` (RFC 959
    /// 4.1.3) and the connection is ready for the next command.
    #[error("{command}: transfer aborted after {bytes} bytes")]
    Aborted {
        /// The transfer command (`RETR report.pdf`).
        command: String,
        /// Bytes moved on the data connection before the abort.
        bytes: u64,
    },
    /// A [`blocking::Client`] was called from inside an async runtime,
    /// where its own runtime cannot block: use the async [`Client`] there
    /// (or call it from `tokio::task::spawn_blocking`).
    #[error("the blocking FTP client was called inside an async runtime; use ftp_tokio::client::Client there")]
    InsideRuntime,
}

impl ClientError {
    /// The server's reply, when the server refused.
    #[must_use]
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Rejected { reply: r, .. } | Self::Failed(OpError::Rejected(r) | OpError::TlsRefused(r)) => Some(r),
            Self::Closed(r) => r.as_ref(),
            _ => None,
        }
    }
}

fn reply_text(reply: &Reply) -> String {
    let text = reply.lines().last().map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned()).unwrap_or_default();
    format!("{} {}", reply.code(), text.trim())
}

impl From<OpError> for ClientError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Rejected(reply) => Self::Rejected { command: String::new(), reply },
            OpError::Closed(r) => Self::Closed(r),
            other => Self::Failed(other),
        }
    }
}

impl From<StartError> for ClientError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Closed => Self::Closed(None),
            other => Self::Usage(other),
        }
    }
}

/// A directory listing: the command that produced it, the bytes, and the
/// entries parsed from them.
#[derive(Debug, Clone)]
pub struct Listing {
    /// `MLSD`, `LIST` or `NLST`.
    pub command: ListCommand,
    /// The bytes received.
    pub raw: Bytes,
    /// The parsed entries (lines no parser recognises are left out; they
    /// are still in `raw`).
    pub entries: Vec<Entry>,
}

/// What [`Client::drive`] waits for.
enum Want {
    Greeting,
    /// The operation's end.
    Op(OpId),
    /// A transfer's data connection, to hand to a stream (or the
    /// operation's end, when it ends without one).
    Stream(OpId),
    /// The operation's end, if it comes before the instant: replies
    /// already on their way are taken, nothing is waited for.
    Ready(OpId, Instant),
}

/// An FTP client connection. See the [module docs](self).
pub struct Client {
    session: Session,
    control: Control,
    buf: Vec<u8>,
    received: Vec<u8>,
    local_ip: std::net::IpAddr,
    tls: Option<crate::tls::Connector>,
    data: Option<DataSide>,
    options: ClientOptions,
    greeting: Option<Reply>,
    /// The last command sent, as logged (a password masked): what a
    /// refusal names.
    last_command: String,
    /// A transfer's data connection the driver opened for a stream, until
    /// the stream takes it.
    handoff: Option<Handoff>,
    /// The transfer a [`RetrStream`] or [`StorStream`] runs, until its
    /// final reply is read: ended (aborted when unfinished) before any
    /// other command.
    pending: Option<Pending>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("secured", &self.session.is_secured())
            .field("closed", &self.session.is_closed())
            .finish_non_exhaustive()
    }
}

/// Bytes of one control read; replies are small, so this is plenty.
const CONTROL_BUFFER: usize = 16 * 1024;

fn pathname(path: &str) -> Result<Pathname, ClientError> {
    Pathname::new(Bytes::copy_from_slice(path.as_bytes())).map_err(|_| ClientError::Usage(StartError::InvalidArgument))
}

impl Client {
    /// Connects to `host:port`, runs the TLS handshake first for implicit
    /// FTPS, and waits for the greeting (120 then 220; 421 is an error).
    ///
    /// # Errors
    /// The name does not resolve, no address accepts, TLS fails, or the
    /// server refuses service.
    pub async fn connect(host: &str, port: u16, options: ClientOptions) -> Result<Self, ClientError> {
        // The TLS settings first: a build without TLS, or settings that
        // cannot work, fail before any connection is made.
        let tls = match options.security {
            Security::Plain => None,
            _ => Some(crate::tls::connector(&options, host)?),
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| ClientError::Resolve { host: host.to_owned(), source })?
            .collect();
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    stream = Some(s);
                    break;
                }
                Ok(Err(e)) => last = Some((addr, e)),
                Err(_) => last = Some((addr, io::Error::new(io::ErrorKind::TimedOut, "timed out"))),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some((addr, source))) => return Err(ClientError::Connect { addr, source }),
            (None, None) => {
                let source = io::Error::new(io::ErrorKind::NotFound, "no address");
                return Err(ClientError::Resolve { host: host.to_owned(), source });
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr()?;
        let local_ip = stream.local_addr()?.ip();
        let mode = match options.security {
            Security::Plain => TlsMode::Off,
            Security::Explicit => TlsMode::Explicit { allow_plaintext_fallback: false },
            Security::Implicit => TlsMode::Implicit,
        };
        let config = options.config.clone().tls(mode);
        let session = Session::new(config, peer, Instant::now());
        let mut client = Self {
            session,
            control: Control::Plain(stream),
            buf: vec![0; CONTROL_BUFFER],
            received: Vec::new(),
            local_ip,
            tls,
            data: None,
            options,
            greeting: None,
            last_command: String::new(),
            handoff: None,
            pending: None,
        };
        client.info(&format!("connected to {peer}"));
        if client.options.security == Security::Implicit {
            client.start_tls().await?;
        }
        // A server that accepts and never greets is as unreachable as one
        // that never accepts: the greeting counts toward the connect timeout.
        let greeting = tokio::time::timeout(client.options.connect_timeout, client.drive(Want::Greeting, DataIo::None));
        match greeting.await {
            Ok(done) => {
                if let Driven::Done(done) = done? {
                    done.map_err(ClientError::from)?;
                }
            }
            Err(_) => {
                let source = io::Error::new(io::ErrorKind::TimedOut, "no greeting in time");
                return Err(ClientError::Connect { addr: peer, source });
            }
        }
        Ok(client)
    }

    /// Connects to an `ftp://` or `ftps://` URL's server and logs in with
    /// its user and password (anonymous when it names none); `ftps://`
    /// means explicit FTPS unless `options` asks for implicit. The URL's
    /// path is left to the caller, parsed in the [`FtpUrl`] returned (the
    /// same parser as the `ftpkit` command's).
    ///
    /// ```no_run
    /// use ftp_tokio::client::{Client, ClientOptions};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, url) = Client::connect_url("ftp://alice:secret@127.0.0.1:2121/pub/", ClientOptions::default()).await?;
    /// for entry in client.list(Some(&url.path)).await? {
    ///     println!("{}", String::from_utf8_lossy(entry.name()));
    /// }
    /// client.quit().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Usage`] for a URL that does not parse; otherwise as
    /// [`connect`](Self::connect) and [`login`](Self::login).
    pub async fn connect_url(url: &str, mut options: ClientOptions) -> Result<(Self, FtpUrl), ClientError> {
        let url = FtpUrl::parse(url).map_err(|_| ClientError::Usage(StartError::InvalidArgument))?;
        if url.tls && options.security == Security::Plain {
            options.security = Security::Explicit;
        }
        let mut client = Self::connect(&url.host, url.port, options).await?;
        client.login(&url.user, &url.password).await?;
        Ok((client, url))
    }

    /// The server's greeting.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// What the server's `FEAT` offered (after [`login`](Self::login)).
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        self.session.capabilities()
    }

    /// Whether the control connection is under TLS.
    #[must_use]
    pub fn is_secured(&self) -> bool {
        self.session.is_secured()
    }

    /// Logs in: `AUTH TLS` first for explicit FTPS, then `USER`/`PASS`,
    /// then, under TLS (explicit or implicit), `PBSZ 0` and `PROT P` (after
    /// the login, as curl sends them: some servers refuse them before it,
    /// RFC 4217 section 9), then `FEAT` and `OPTS UTF8 ON` unless turned off.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] with the 530 when the server refuses.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.login_with_account(user, password, None).await
    }

    /// [`login`](Self::login), answering a `332` (RFC 959 5.4: the server
    /// asks for an account) with `ACCT account`; without an account a 332
    /// ends the login with [`ClientError::Failed`] saying so.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] with the 530 when the server refuses.
    pub async fn login_with_account(
        &mut self,
        user: &str,
        password: &str,
        account: Option<&str>,
    ) -> Result<(), ClientError> {
        let (user, password, account) = (user.to_owned(), password.to_owned(), account.map(str::to_owned));
        self.op(move |s, now| s.login(now, &user, &password, account.as_deref()), DataIo::None).await.map(drop)
    }

    /// `PWD`: the working directory.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub async fn pwd(&mut self) -> Result<String, ClientError> {
        match self.op(|s, now| s.pwd(now), DataIo::None).await? {
            OpOutput::Pathname(p) => Ok(String::from_utf8_lossy(p.as_bytes()).into_owned()),
            _ => Err(ClientError::Failed(OpError::Protocol("PWD gave no pathname"))),
        }
    }

    /// `CWD`.
    ///
    /// # Errors
    /// The server refused (550) or the connection failed.
    pub async fn cwd(&mut self, path: &str) -> Result<(), ClientError> {
        let path = pathname(path)?;
        self.op(move |s, now| s.cwd(now, &path), DataIo::None).await.map(drop)
    }

    /// `MKD`: returns the created directory's name from the 257 reply
    /// (or the name asked for, when the reply does not quote one).
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub async fn mkdir(&mut self, path: &str) -> Result<String, ClientError> {
        let name = pathname(path)?;
        match self.op(move |s, now| s.mkdir(now, &name), DataIo::None).await? {
            OpOutput::Pathname(p) => Ok(String::from_utf8_lossy(p.as_bytes()).into_owned()),
            _ => Ok(path.to_owned()),
        }
    }

    /// `RMD`.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub async fn rmdir(&mut self, path: &str) -> Result<(), ClientError> {
        let path = pathname(path)?;
        self.op(move |s, now| s.rmdir(now, &path), DataIo::None).await.map(drop)
    }

    /// `DELE`.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub async fn delete(&mut self, path: &str) -> Result<(), ClientError> {
        let path = pathname(path)?;
        self.op(move |s, now| s.delete(now, &path), DataIo::None).await.map(drop)
    }

    /// `RNFR` then `RNTO`.
    ///
    /// # Errors
    /// The server refused either step or the connection failed.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), ClientError> {
        let (from, to) = (pathname(from)?, pathname(to)?);
        self.op(move |s, now| s.rename(now, &from, &to), DataIo::None).await.map(drop)
    }

    /// `SIZE` (RFC 3659 section 4).
    ///
    /// # Errors
    /// The server refused or does not implement SIZE.
    pub async fn size(&mut self, path: &str) -> Result<u64, ClientError> {
        let path = pathname(path)?;
        match self.op(move |s, now| s.size(now, &path), DataIo::None).await? {
            OpOutput::Size(n) => Ok(n),
            _ => Err(ClientError::Failed(OpError::Protocol("SIZE gave no size"))),
        }
    }

    /// `MDTM` (RFC 3659 section 3): the modification time, in UTC.
    ///
    /// # Errors
    /// The server refused or does not implement MDTM.
    pub async fn mdtm(&mut self, path: &str) -> Result<Timestamp, ClientError> {
        let path = pathname(path)?;
        match self.op(move |s, now| s.mdtm(now, &path), DataIo::None).await? {
            OpOutput::Time(t) => Ok(t),
            _ => Err(ClientError::Failed(OpError::Protocol("MDTM gave no time"))),
        }
    }

    /// Lists a directory (`MLSD` when the server offers it, `LIST`
    /// otherwise) and parses the entries; `.` and `..` are left out.
    ///
    /// # Errors
    /// The server refused, or the data connection failed.
    pub async fn list(&mut self, path: Option<&str>) -> Result<Vec<Entry>, ClientError> {
        let listing = self.listing(ListCommand::Auto, path).await?;
        Ok(listing
            .entries
            .into_iter()
            .filter(|e| {
                !matches!(
                    e.kind(),
                    ftp_proto::listing::EntryKind::CurrentDir | ftp_proto::listing::EntryKind::ParentDir
                )
            })
            .filter(|e| e.name() != b"." && e.name() != b"..")
            .collect())
    }

    /// Lists a directory with the command asked for, keeping the raw bytes.
    ///
    /// # Errors
    /// The server refused, or the data connection failed.
    pub async fn listing(&mut self, command: ListCommand, path: Option<&str>) -> Result<Listing, ClientError> {
        let path = path.map(pathname).transpose()?;
        let command = self.session.list_command(command);
        let mut body = Vec::new();
        let limit = self.options.max_listing;
        self.op(move |s, now| s.list(now, command, path.as_ref()), DataIo::Sink(&mut body, limit, false)).await?;
        let raw = Bytes::from(body);
        let entries = if command == ListCommand::Nlst {
            Vec::new()
        } else {
            ftp_session::client::parse_listing(&raw, command, now_timestamp())
        };
        Ok(Listing { command, raw, entries })
    }

    /// `NLST`: names only.
    ///
    /// # Errors
    /// The server refused, or the data connection failed.
    pub async fn nlst(&mut self, path: Option<&str>) -> Result<Vec<String>, ClientError> {
        let listing = self.listing(ListCommand::Nlst, path).await?;
        Ok(ftp_proto::listing::listing_lines(&listing.raw)
            .map(|name| String::from_utf8_lossy(&name).into_owned())
            .collect())
    }

    /// Downloads `path` into `out`, from byte `offset` (`REST`, RFC 3659
    /// section 5) when resuming. Returns the bytes received. A download
    /// shorter than the server announced is an error (SECURITY.md R5).
    ///
    /// # Errors
    /// The server refused, the data connection failed, or `out` failed.
    pub async fn get<W>(&mut self, path: &str, offset: u64, out: &mut W) -> Result<u64, ClientError>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let path = pathname(path)?;
        let ascii = self.options.config.is_ascii();
        let out = self.op(move |s, now| s.retrieve(now, &path, offset), DataIo::Sink(out, u64::MAX, ascii)).await?;
        transferred(out)
    }

    /// [`get`](Self::get) of a file whose size the caller already asked
    /// with [`size`](Self::size) (for a progress bar, or to refuse a
    /// resume): `SIZE` is not sent again, and the download is held to
    /// `size` (SECURITY.md R5).
    ///
    /// # Errors
    /// The server refused, the data connection failed, the download came
    /// short of `size`, or `out` failed.
    pub async fn get_sized<W>(&mut self, path: &str, offset: u64, size: u64, out: &mut W) -> Result<u64, ClientError>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let path = pathname(path)?;
        let ascii = self.options.config.is_ascii();
        let io = DataIo::Sink(out, u64::MAX, ascii);
        let out = self.op(move |s, now| s.retrieve_sized(now, &path, offset, size), io).await?;
        transferred(out)
    }

    /// Uploads `input` to `path` (`STOR`; `REST offset` first when
    /// resuming, so `input` should start at that offset). Returns the bytes
    /// sent.
    ///
    /// # Errors
    /// The server refused, the data connection failed, or `input` failed.
    pub async fn put<R>(&mut self, path: &str, offset: u64, input: &mut R) -> Result<u64, ClientError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let path = pathname(path)?;
        let ascii = self.options.config.is_ascii();
        let out = self.op(move |s, now| s.store(now, &path, offset), DataIo::Source(input, ascii)).await?;
        transferred(out)
    }

    /// Appends `input` to `path` (`APPE`).
    ///
    /// # Errors
    /// The server refused, the data connection failed, or `input` failed.
    pub async fn append<R>(&mut self, path: &str, input: &mut R) -> Result<u64, ClientError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let path = pathname(path)?;
        let ascii = self.options.config.is_ascii();
        let out = self.op(move |s, now| s.append(now, &path), DataIo::Source(input, ascii)).await?;
        transferred(out)
    }

    /// `MLST path` (RFC 3659 section 7): the facts of one file or
    /// directory, parsed (the login directory's without a path).
    ///
    /// # Errors
    /// The server refused (no MLST, no such file) or sent no facts line
    /// this parser takes.
    pub async fn mlst(&mut self, path: Option<&str>) -> Result<Entry, ClientError> {
        let path = path.map(pathname).transpose()?;
        match self.op(move |s, now| s.mlst(now, path.as_ref()), DataIo::None).await? {
            OpOutput::Facts(lines) => lines
                .iter()
                .find_map(|line| ftp_proto::listing::parse_mlsx(&Bytes::copy_from_slice(line.as_bytes())).ok())
                .ok_or(ClientError::Failed(OpError::Protocol("MLST gave no facts line"))),
            _ => Err(ClientError::Failed(OpError::Protocol("MLST gave no facts"))),
        }
    }

    /// `MFMT time path` (draft-somers-ftp-mfxx): sets the modification
    /// time.
    ///
    /// # Errors
    /// The server refused (no MFMT, no such file, not allowed).
    pub async fn mfmt(&mut self, path: &str, time: Timestamp) -> Result<(), ClientError> {
        let path = pathname(path)?;
        self.op(move |s, now| s.mfmt(now, time, &path), DataIo::None).await.map(drop)
    }

    /// `FEAT` again: refreshes and returns [`capabilities`](Self::capabilities)
    /// (after `OPTS` or a change of user, say).
    ///
    /// # Errors
    /// The connection failed; a server without FEAT gives no capabilities.
    pub async fn feat(&mut self) -> Result<&Capabilities, ClientError> {
        match self.op(|s, now| s.feat(now), DataIo::None).await {
            Ok(_) | Err(ClientError::Rejected { .. }) => Ok(self.session.capabilities()),
            Err(e) => Err(e),
        }
    }

    /// `CDUP`: to the parent directory.
    ///
    /// # Errors
    /// The server refused or the connection failed.
    pub async fn cdup(&mut self) -> Result<(), ClientError> {
        self.op(|s, now| s.cdup(now), DataIo::None).await.map(drop)
    }

    /// `SITE args` (RFC 959 4.1.3): a server's own commands, such as
    /// `CHMOD 644 file`; the final reply.
    ///
    /// # Errors
    /// [`ClientError::Usage`] for arguments no line can carry (CR, LF);
    /// the server refused or the connection failed.
    pub async fn site(&mut self, args: &str) -> Result<Reply, ClientError> {
        let text = ftp_proto::Text::new(Bytes::copy_from_slice(args.as_bytes()))
            .map_err(|_| ClientError::Usage(StartError::InvalidArgument))?;
        let command = format!("SITE {args}");
        let reply = self.done(ftp_proto::Command::Site(text)).await?;
        if reply.code().is_positive_completion() { Ok(reply) } else { Err(ClientError::Rejected { command, reply }) }
    }

    /// Any one command line (`SYST`, `STAT`, `HELP SITE`, an extension),
    /// checked by the codec first, and its final reply, whatever its code
    /// (a 550 is the server's answer, not an error here). Commands that
    /// open a data connection, change the login or the TLS state are
    /// refused here: they have calls of their own that keep the session
    /// in step.
    ///
    /// # Errors
    /// [`ClientError::Usage`] for a line that is not a command, or one of
    /// those above; the server refused or the connection failed.
    pub async fn raw(&mut self, line: &str) -> Result<Reply, ClientError> {
        use ftp_proto::Command as C;
        let usage = || ClientError::Usage(StartError::InvalidArgument);
        let command = ftp_proto::Command::parse(&Bytes::copy_from_slice(line.as_bytes()), &Default::default())
            .map_err(|_| usage())?;
        let keeps_step = !matches!(
            command,
            C::User(_)
                | C::Pass(_)
                | C::Acct(_)
                | C::Rein
                | C::Quit
                | C::Auth(_)
                | C::Ccc
                | C::Pasv
                | C::Epsv(_)
                | C::Port(_)
                | C::Eprt(_)
                | C::Retr(_)
                | C::Stor(_)
                | C::Stou(_)
                | C::Appe(_)
                | C::List(_)
                | C::Nlst(_)
                | C::Mlsd(_)
                | C::Abor
        );
        if !keeps_step {
            return Err(usage());
        }
        self.done(command).await
    }

    /// Runs `command` and gives its final reply.
    async fn done(&mut self, command: ftp_proto::Command) -> Result<Reply, ClientError> {
        match self.op(move |s, now| s.raw(now, command), DataIo::None).await? {
            OpOutput::Done(reply) => Ok(reply),
            _ => Err(ClientError::Failed(OpError::Protocol("no final reply"))),
        }
    }

    /// `NOOP`, to keep the connection alive or check it.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn noop(&mut self) -> Result<(), ClientError> {
        self.op(|s, now| s.raw(now, ftp_proto::Command::Noop), DataIo::None).await.map(drop)
    }

    /// `QUIT`, then closes the connection.
    ///
    /// # Errors
    /// The connection failed before the 221.
    pub async fn quit(mut self) -> Result<(), ClientError> {
        let result = self.op(|s, now| s.quit(now), DataIo::None).await.map(drop);
        self.control.shutdown().await;
        match result {
            Err(ClientError::Closed(_)) => Ok(()),
            other => other,
        }
    }

    // ---- driving -----------------------------------------------------------

    // ---- transcript ------------------------------------------------------------
}

fn now_timestamp() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"))
}
