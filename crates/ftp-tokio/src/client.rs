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
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::ascii::{FromWire, ToWire};
use crate::buffer::Buffer;

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
    pub roots: Option<Arc<rustls::RootCertStore>>,
    /// The session's configuration: data mode, 227 policy, `PROT` level,
    /// reply timeout... Its TLS mode is set from [`security`](Self::security).
    pub config: ClientConfig,
    /// How long connecting may take (control and data connections).
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
    /// The server refused the operation; the reply says why.
    #[error("server replied {}", reply_text(.0))]
    Rejected(Reply),
    /// The operation failed otherwise (protocol violation, timeout, lost
    /// data connection, partial transfer...).
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
}

impl ClientError {
    /// The server's reply, when the server refused.
    #[must_use]
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Rejected(r) | Self::Failed(OpError::Rejected(r) | OpError::TlsRefused(r)) => Some(r),
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
            OpError::Rejected(r) => Self::Rejected(r),
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

type RustlsClient = tokio_rustls::client::TlsStream<TcpStream>;

/// The control connection, in plaintext or under TLS.
enum Control {
    Plain(TcpStream),
    Tls(Box<RustlsClient>),
    Closed,
}

impl Control {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
            Self::Closed => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.write_all(bytes).await,
            Self::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// RFC 959 4.1.3: the Telnet Synch goes out as TCP urgent data, so a
    /// server busy sending data still notices the abort. Under TLS there is
    /// no urgent data (RFC 4217 section 14): the bytes go in-band.
    async fn write_urgent(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s) => {
                // The last byte (DM) is the one the urgent pointer marks.
                let (head, mark) = bytes.split_at(bytes.len().saturating_sub(1));
                s.write_all(head).await?;
                match socket2::SockRef::from(&*s).send_out_of_band(mark) {
                    Ok(_) => Ok(()),
                    Err(_) => s.write_all(mark).await,
                }
            }
            other => other.write_all(bytes).await,
        }
    }

    async fn shutdown(&mut self) {
        match std::mem::replace(self, Self::Closed) {
            Self::Plain(mut s) => drop(s.shutdown().await),
            Self::Tls(mut s) => drop(s.shutdown().await),
            Self::Closed => {}
        }
    }
}

/// One data connection's state on our side.
struct DataSide {
    id: DataId,
    listener: Option<TcpListener>,
    streams: Vec<(SocketAddr, TcpStream)>,
}

/// Where a transfer's bytes come from or go.
enum DataIo<'a> {
    None,
    /// Where downloaded bytes go, the most accepted, and whether to turn
    /// CRLF into LF (a `TYPE A` file, RFC 959 3.1.1.1).
    Sink(&'a mut (dyn AsyncWrite + Unpin + Send), u64, bool),
    /// Where uploaded bytes come from, and whether to turn LF into CRLF.
    Source(&'a mut (dyn AsyncRead + Unpin + Send), bool),
}

type TransferFuture<'a> = Pin<Box<dyn Future<Output = DataEvent> + Send + 'a>>;

/// What [`Client::drive`] waits for.
enum Want {
    Greeting,
    Op(OpId),
}

/// An FTP client connection. See the [module docs](self).
pub struct Client {
    session: Session,
    control: Control,
    buf: Vec<u8>,
    received: Vec<u8>,
    local_ip: std::net::IpAddr,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    data: Option<DataSide>,
    options: ClientOptions,
    greeting: Option<Reply>,
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
        let tls = match options.security {
            Security::Plain => None,
            _ => Some(tls_connector(&options, host)?),
        };
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
        };
        client.info(&format!("connected to {peer}"));
        if client.options.security == Security::Implicit {
            client.start_tls().await?;
        }
        client.drive(Want::Greeting, DataIo::None).await?.map_err(ClientError::from)?;
        Ok(client)
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
        let (user, password) = (user.to_owned(), password.to_owned());
        self.op(move |s, now| s.login(now, &user, &password, None), DataIo::None).await.map(drop)
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
        Ok(String::from_utf8_lossy(&listing.raw)
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
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

    /// Starts one operation and drives the connection until it completes.
    async fn op(
        &mut self,
        start: impl FnOnce(&mut Session, Instant) -> Result<OpId, StartError>,
        io: DataIo<'_>,
    ) -> Result<OpOutput, ClientError> {
        let id = start(&mut self.session, Instant::now())?;
        let result = self.drive(Want::Op(id), io).await;
        self.data = None;
        result?.map_err(ClientError::from)
    }

    /// Carries out the session's outputs and feeds it input until `want`
    /// happens. Returns the operation's result (`Ok(Ok(LoggedIn))` stands
    /// in for the greeting).
    async fn drive(&mut self, want: Want, io: DataIo<'_>) -> Result<Result<OpOutput, OpError>, ClientError> {
        let mut io = Some(io);
        let mut transfer: Option<(DataId, TransferFuture<'_>)> = None;
        loop {
            let mut done = None;
            let mut closed = false;
            let deadline = loop {
                match self.session.poll_output() {
                    Output::Transmit(bytes) => {
                        self.log_sent(&bytes);
                        self.control.write_all(&bytes).await?;
                    }
                    Output::TransmitUrgent(bytes) => self.control.write_urgent(&bytes).await?,
                    Output::Data(action) => self.data_action(action, &mut io, &mut transfer).await,
                    Output::StartTls => self.start_tls().await?,
                    Output::StopTls => self.stop_tls().await?,
                    Output::Event(event) => match (event, &want) {
                        (Event::Greeting(reply), Want::Greeting) => {
                            self.greeting = Some(reply);
                            done = Some(Ok(OpOutput::LoggedIn));
                        }
                        (Event::OpCompleted { op, result }, Want::Op(id)) if op == *id => done = Some(result),
                        (Event::PassiveAddress { used, decision, .. }, _) => {
                            self.info(&format!("data connection to {used} ({decision:?})"));
                        }
                        (Event::Closed, _) => closed = true,
                        _ => {}
                    },
                    Output::Close => {
                        self.control.shutdown().await;
                        closed = true;
                    }
                    Output::Wait(deadline) => break deadline,
                    _ => {}
                }
            };
            if let Some(done) = done {
                return Ok(done);
            }
            if closed {
                return Err(ClientError::Closed(
                    self.greeting.clone().filter(|g| g.code().class() == ftp_proto::ReplyClass::TransientNegative),
                ));
            }
            let step = {
                let sleep = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d.into()).await,
                        None => std::future::pending().await,
                    }
                };
                let listener = self.data.as_ref().and_then(|d| d.listener.as_ref());
                tokio::select! {
                    read = self.control.read(&mut self.buf) => match read {
                        Ok(0) | Err(_) => Step::Eof,
                        Ok(n) => Step::Control(n),
                    },
                    event = async { transfer.as_mut().expect("guarded").1.as_mut().await }, if transfer.is_some() => {
                        let id = transfer.take().expect("guarded").0;
                        Step::Data(id, event)
                    }
                    accepted = async { listener.expect("guarded").accept().await }, if listener.is_some() => {
                        Step::Accepted(accepted)
                    }
                    () = sleep => Step::Timeout,
                }
            };
            let now = Instant::now();
            let _ = match step {
                Step::Eof => self.session.handle_input(now, Input::ControlEof),
                Step::Control(n) => {
                    self.log_received(n);
                    self.session.handle_input(now, Input::Control(&self.buf[..n]))
                }
                Step::Data(id, event) => self.session.handle_input(now, Input::Data(id, event)),
                Step::Accepted(Ok((stream, peer))) => {
                    let Some(data) = self.data.as_mut() else { continue };
                    let _ = stream.set_nodelay(true);
                    data.streams.push((peer, stream));
                    let id = data.id;
                    self.info(&format!("data connection from {peer}"));
                    self.session.handle_input(now, Input::Data(id, DataEvent::Accepted { peer }))
                }
                Step::Accepted(Err(_)) => continue,
                Step::Timeout => self.session.handle_input(now, Input::Timeout),
            };
        }
    }

    async fn data_action<'a>(
        &mut self,
        action: DataAction,
        io: &mut Option<DataIo<'a>>,
        transfer: &mut Option<(DataId, TransferFuture<'a>)>,
    ) {
        let now = Instant::now;
        match action {
            DataAction::Connect { id, addr } => {
                let connected = tokio::time::timeout(self.options.connect_timeout, connect_from(self.local_ip, addr))
                    .await
                    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
                let event = match connected {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        self.data = Some(DataSide { id, listener: None, streams: vec![(addr, stream)] });
                        DataEvent::Connected
                    }
                    Err(e) => {
                        self.info(&format!("data connection to {addr} failed: {e}"));
                        DataEvent::ConnectFailed
                    }
                };
                let _ = self.session.handle_input(now(), Input::Data(id, event));
            }
            DataAction::Listen { id, .. } => {
                let event = match TcpListener::bind(SocketAddr::new(self.local_ip, 0)).await {
                    Ok(listener) => match listener.local_addr() {
                        Ok(addr) => {
                            self.data = Some(DataSide { id, listener: Some(listener), streams: Vec::new() });
                            DataEvent::Listening { addr }
                        }
                        Err(_) => DataEvent::ListenFailed,
                    },
                    Err(_) => DataEvent::ListenFailed,
                };
                let _ = self.session.handle_input(now(), Input::Data(id, event));
            }
            DataAction::Reject { id, peer } => {
                if let Some(data) = self.data.as_mut().filter(|d| d.id == id) {
                    data.streams.retain(|(p, _)| *p != peer);
                }
                self.info(&format!("refused a data connection from {peer} (SECURITY.md D4)"));
            }
            DataAction::Transfer { id, direction, tls } => {
                let stream = self.data.as_mut().filter(|d| d.id == id).and_then(|d| {
                    d.listener = None;
                    (!d.streams.is_empty()).then(|| d.streams.remove(0).1)
                });
                let io = io.take().unwrap_or(DataIo::None);
                let Some(stream) = stream else {
                    let _ = self.session.handle_input(now(), Input::Data(id, DataEvent::Failed { bytes: 0 }));
                    return;
                };
                let connector = if tls.required { self.tls.clone() } else { None };
                let stall = self.options.data_timeout;
                let future: TransferFuture<'a> = Box::pin(async move {
                    match connector {
                        None => move_bytes(stream, io, direction, stall).await,
                        Some((connector, name)) => {
                            match tokio::time::timeout(stall, connector.connect(name, stream)).await {
                                Ok(Ok(tls)) => move_bytes(tls, io, direction, stall).await,
                                _ => DataEvent::Failed { bytes: 0 },
                            }
                        }
                    }
                });
                *transfer = Some((id, future));
            }
            DataAction::Close { id } => {
                if self.data.as_ref().is_some_and(|d| d.id == id) {
                    self.data = None;
                }
                if transfer.as_ref().is_some_and(|(t, _)| *t == id) {
                    *transfer = None;
                }
            }
            _ => {}
        }
    }

    async fn start_tls(&mut self) -> Result<(), ClientError> {
        let Some((connector, name)) = self.tls.clone() else {
            return Err(ClientError::Tls("no TLS configuration".into()));
        };
        let Control::Plain(tcp) = std::mem::replace(&mut self.control, Control::Closed) else {
            return Err(ClientError::Tls("the control connection is not plain".into()));
        };
        let tls = tokio::time::timeout(self.options.connect_timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| ClientError::Tls("handshake timed out".into()))?
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        let (_, conn) = tls.get_ref();
        let version = conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
        self.control = Control::Tls(Box::new(tls));
        self.info(&format!("TLS established ({version})"));
        if self.options.security == Security::Explicit {
            let _ = self.session.handle_input(Instant::now(), Input::TlsEstablished);
        }
        Ok(())
    }

    /// RFC 4217 section 13 (REIN) / 12.3 (CCC): close_notify both ways,
    /// then plaintext on the same TCP connection.
    async fn stop_tls(&mut self) -> Result<(), ClientError> {
        let Control::Tls(mut tls) = std::mem::replace(&mut self.control, Control::Closed) else {
            return Ok(());
        };
        tls.get_mut().1.send_close_notify();
        tls.flush().await?;
        let mut scratch = [0u8; 512];
        let drained = tokio::time::timeout(self.options.connect_timeout, async {
            loop {
                match tls.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        if drained.is_err() {
            return Err(ClientError::Tls("no close_notify from the server".into()));
        }
        let (tcp, _) = tls.into_inner();
        self.control = Control::Plain(tcp);
        self.info("TLS cleared");
        Ok(())
    }

    // ---- transcript ------------------------------------------------------------

    fn info(&self, text: &str) {
        if let Some(t) = &self.options.transcript {
            t(Line::Info(text));
        }
    }

    fn log_sent(&self, bytes: &[u8]) {
        let Some(t) = &self.options.transcript else { return };
        let line = String::from_utf8_lossy(bytes);
        let line = line.trim_end();
        if line.len() >= 5 && line[..5].eq_ignore_ascii_case("PASS ") {
            t(Line::Sent("PASS ****"));
        } else {
            t(Line::Sent(line));
        }
    }

    fn log_received(&mut self, n: usize) {
        if self.options.transcript.is_none() {
            return;
        }
        self.received.extend_from_slice(&self.buf[..n]);
        while let Some(end) = self.received.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.received.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            if let Some(t) = &self.options.transcript {
                t(Line::Received(text.trim_end()));
            }
        }
        if self.received.len() > CONTROL_BUFFER {
            self.received.clear();
        }
    }
}

/// What woke the driver.
enum Step {
    Eof,
    Control(usize),
    Data(DataId, DataEvent),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Timeout,
}

fn transferred(out: OpOutput) -> Result<u64, ClientError> {
    match out {
        OpOutput::Transferred { bytes } => Ok(bytes),
        _ => Ok(0),
    }
}

/// Connects from the control connection's local address, so the server
/// sees the data connection come from the same host (servers that check,
/// as ours does, SECURITY.md D3).
async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    if local.is_ipv4() != addr.is_ipv4() {
        return TcpStream::connect(addr).await;
    }
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(addr).await
}

/// Moves one transfer's bytes and reports how it ended.
async fn move_bytes<S>(mut stream: S, io: DataIo<'_>, direction: Direction, stall: Duration) -> DataEvent
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = Buffer::new();
    let mut moved = 0u64;
    let failed = |bytes| DataEvent::Failed { bytes };
    match (io, direction) {
        (DataIo::Sink(out, limit, ascii), Direction::Download) => {
            let mut lines = ascii.then(FromWire::default);
            let mut converted = Vec::new();
            loop {
                let n = match tokio::time::timeout(stall, stream.read_buf(buf.next())).await {
                    Ok(Ok(n)) => n,
                    // A TLS peer that closes without close_notify: the session
                    // still compares the count with SIZE / the 150 reply (R5).
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                    _ => return failed(moved),
                };
                if n == 0 {
                    let tail = lines.as_mut().map_or(&b""[..], FromWire::finish);
                    return match async { out.write_all(tail).await.and(out.flush().await) }.await {
                        Ok(()) => DataEvent::Finished { bytes: moved },
                        Err(_) => failed(moved),
                    };
                }
                moved += n as u64;
                let bytes = match &mut lines {
                    Some(lines) => {
                        lines.convert(&buf, &mut converted);
                        &converted[..]
                    }
                    None => &buf[..],
                };
                if moved > limit || out.write_all(bytes).await.is_err() {
                    return failed(moved);
                }
            }
        }
        (DataIo::Source(input, ascii), Direction::Upload) => {
            let mut lines = ascii.then(ToWire::default);
            let mut converted = Vec::new();
            loop {
                let n = match input.read_buf(buf.next()).await {
                    Ok(n) => n,
                    Err(_) => return failed(moved),
                };
                if n == 0 {
                    break;
                }
                let bytes = match &mut lines {
                    Some(lines) => {
                        lines.convert(&buf, &mut converted);
                        &converted[..]
                    }
                    None => &buf[..],
                };
                match tokio::time::timeout(stall, stream.write_all(bytes)).await {
                    Ok(Ok(())) => moved += bytes.len() as u64,
                    _ => return failed(moved),
                }
            }
            if !matches!(tokio::time::timeout(stall, stream.shutdown()).await, Ok(Ok(()))) {
                return failed(moved);
            }
            // Read to the server's close: under TLS 1.3 this also takes in
            // the session tickets the next data connection resumes with.
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while matches!(stream.read_buf(buf.next()).await, Ok(n) if n > 0) {}
            })
            .await;
            DataEvent::Finished { bytes: moved }
        }
        // An operation without a source or sink: take what comes and drop it.
        (_, Direction::Upload) => {
            let _ = stream.shutdown().await;
            DataEvent::Finished { bytes: 0 }
        }
        _ => loop {
            match tokio::time::timeout(stall, stream.read_buf(buf.next())).await {
                Ok(Ok(0)) => return DataEvent::Finished { bytes: moved },
                Ok(Ok(n)) => moved += n as u64,
                _ => return failed(moved),
            }
        },
    }
}

fn now_timestamp() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"))
}

/// The rustls client configuration: system roots (or the given ones, or
/// none with `insecure`), ALPN `ftp` (SECURITY.md L10), and the default
/// in-memory resumption store, shared by the control and data connections
/// so data connections resume the control session (SECURITY.md L6).
fn tls_connector(
    options: &ClientOptions,
    host: &str,
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        if options.tls12_only { &[&rustls::version::TLS12] } else { rustls::DEFAULT_VERSIONS };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let mut config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::AcceptAnyCertificate::new(provider)))
            .with_no_client_auth()
    } else {
        let roots = match &options.roots {
            Some(roots) => (**roots).clone(),
            None => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
                roots
            }
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"ftp".to_vec()];
    let name = options.server_name.as_deref().unwrap_or(host);
    let name = ServerName::try_from(name.to_owned()).map_err(|e| ClientError::Tls(format!("{name}: {e}")))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}
