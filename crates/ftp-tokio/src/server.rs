//! The FTP server driver: sockets, files and time for `ftp_session::server`.
//!
//! One tokio task per control connection runs a server `Session`: it feeds
//! the session what the control socket, the data sockets, the storage and
//! the clock produce, and carries out what the session asks, in order. All
//! protocol decisions are the session's; this module only moves bytes.
//!
//! FTPS (RFC 4217, explicit `AUTH TLS`) runs on rustls when a certificate
//! is configured ([`crate::tls`]); data connections are protected when the
//! session says `PROT P` is in force, and must resume their own control
//! connection's TLS session unless that check is turned off (SECURITY.md
//! L6). Clearing TLS again (`CCC`, `REIN` on a protected connection)
//! exchanges close_notify alerts and goes on in plaintext on the same TCP
//! connection (RFC 4217 sections 12.3 and 13). Implicit FTPS
//! ([`ServerOptions::implicit_tls`]) runs the handshake as soon as a
//! connection is accepted.
//!
//! Files come from a [`Storage`] and logins are decided by an
//! [`Authenticator`]; by default a [`LocalFs`] and a [`UserList`].
//!
//! Limits (SECURITY.md C3): [`ServerOptions::max_sessions`] in all and
//! [`ServerOptions::max_sessions_per_ip`] from one address; past either, a
//! connection gets 421 and is closed before the greeting. Passive
//! listeners are capped per client address
//! ([`ServerOptions::max_passive_per_ip`]: 425 past it) and their ports
//! drawn at random from the range (D3). A request's storage work stops
//! when the session cancels it (ABOR, connection end), and what it opened
//! is closed (X1, X3). A [`ShutdownHandle`] stops the server gracefully (C5).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, DataTls, Direction, Event, Input, ListFormat,
    Output, RequestId, RequestKind, ServerConfig, Session, StorageError, StoreMode,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ascii::{FromWire, ToWire};
pub use crate::auth::User;
use crate::auth::{Access, Authenticator, Principal, UserList};
use crate::buffer::Buffer;
use crate::guard::{self, LoginGuard, LoginGuardOptions};
use crate::storage::{
    FileSink, FileSource, Listing, LocalFs, Storage, WriteMode, format_listing, narrow_perms, now_timestamp,
};

/// The default of [`ServerOptions::max_sessions_per_ip`].
pub const DEFAULT_MAX_SESSIONS_PER_IP: usize = 16;

/// What the server serves, to whom, and how.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The directory served by the default storage ([`LocalFs`]); unused
    /// when [`storage`](Self::storage) is set.
    pub root: std::path::PathBuf,
    /// What is served instead of [`root`](Self::root), e.g. a
    /// [`MemoryFs`](crate::memory::MemoryFs).
    pub storage: Option<Arc<dyn Storage>>,
    /// Who may log in instead of the default [`UserList`] made from
    /// [`anonymous`](Self::anonymous), [`anonymous_writable`](Self::anonymous_writable)
    /// and [`users`](Self::users) (which are then unused).
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Accept `anonymous`/`ftp` with any password.
    pub anonymous: bool,
    /// Anonymous users may write (off by default, as vsftpd).
    pub anonymous_writable: bool,
    /// Named users.
    pub users: Vec<User>,
    /// Passive ports (inclusive); `None` lets the system pick. Each
    /// PASV/EPSV gets a port drawn at random from the range (SECURITY.md D3).
    pub passive_ports: Option<(u16, u16)>,
    /// Most passive listeners held at once by sessions from one client
    /// address (IPv4-mapped IPv6 counts as IPv4); a PASV/EPSV past it gets
    /// 425, while a session's new PASV replaces its own listener and does
    /// not count twice (SECURITY.md C3, D6). `None` (the default): a
    /// quarter of the [`passive_ports`](Self::passive_ports) range (at least
    /// one), so that one address cannot take the whole range; no cap when
    /// the system picks the ports (sessions per address bound them then).
    pub max_passive_per_ip: Option<usize>,
    /// The session configuration (timeouts, passive address, limits).
    pub session: ServerConfig,
    /// Most concurrent sessions; more are refused with 421 (SECURITY.md C3).
    /// Default 256.
    pub max_sessions: usize,
    /// Most concurrent sessions from one IP address (IPv4-mapped IPv6
    /// counts as IPv4); more are refused with 421 (SECURITY.md C3). Default
    /// 16: twice Pure-FTPd's sample of 8, so that a client running parallel
    /// transfers (lftp `mirror --parallel`, FileZilla's up to 10) and a few
    /// users behind one NAT fit, while one host cannot take all of
    /// [`max_sessions`](Self::max_sessions). `usize::MAX` turns it off.
    pub max_sessions_per_ip: usize,
    /// Implicit FTPS: the TLS handshake starts as soon as a connection is
    /// accepted, before the greeting (the `ftps://` scheme, port 990 by
    /// convention). Needs [`tls`](Self::tls); `AUTH` is then refused (503)
    /// and `CCC` is not available. A connection past the session limits is
    /// closed without a handshake (a 421 could only go through one).
    /// Default off.
    pub implicit_tls: bool,
    /// FTPS: the certificate and settings (enables `AUTH TLS`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Failed logins counted per client address: pacing and bans
    /// (SECURITY.md A1, A2; see [`crate::guard`]). The pace is the
    /// session's [`ServerConfig::failed_login_delay`].
    pub login_guard: LoginGuardOptions,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("listen", &self.listen)
            .field("root", &self.root)
            .field("storage", &self.storage.as_ref().map(|_| "custom"))
            .field("authenticator", &self.authenticator.as_ref().map(|_| "custom"))
            .field("anonymous", &self.anonymous)
            .field("anonymous_writable", &self.anonymous_writable)
            .field("users", &self.users.iter().map(|u| &u.name).collect::<Vec<_>>())
            .field("passive_ports", &self.passive_ports)
            .field("max_passive_per_ip", &self.max_passive_per_ip)
            .field("session", &self.session)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_ip", &self.max_sessions_per_ip)
            .field("implicit_tls", &self.implicit_tls)
            .field("tls", &self.tls.is_some())
            .field("login_guard", &self.login_guard)
            .finish()
    }
}

impl ServerOptions {
    /// Anonymous, read-only, on `listen`, serving `root`.
    #[must_use]
    pub fn new(listen: SocketAddr, root: std::path::PathBuf) -> Self {
        Self {
            listen,
            root,
            anonymous: true,
            anonymous_writable: false,
            users: Vec::new(),
            passive_ports: None,
            max_passive_per_ip: None,
            session: ServerConfig::default().anonymous(true),
            max_sessions: 256,
            max_sessions_per_ip: DEFAULT_MAX_SESSIONS_PER_IP,
            implicit_tls: false,
            tls: None,
            storage: None,
            authenticator: None,
            login_guard: LoginGuardOptions::default(),
        }
    }

    /// Anonymous, read-only, on `listen`, serving `storage` (a
    /// [`MemoryFs`](crate::memory::MemoryFs) in tests, or any other
    /// [`Storage`]).
    #[must_use]
    pub fn with_storage(listen: SocketAddr, storage: Arc<dyn Storage>) -> Self {
        let mut options = Self::new(listen, std::path::PathBuf::new());
        options.storage = Some(storage);
        options
    }
}

/// How long a control-connection write may take before the session is
/// given up (a peer that never reads, SECURITY.md C4).
const CONTROL_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// The same once the server is stopping: the 421 gets this long.
const STOP_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// A TLS handshake (implicit FTPS, AUTH TLS) or close_notify exchange (CCC,
/// REIN) must complete within this.
const TLS_TIMEOUT: Duration = Duration::from_secs(30);
/// After the grace period, how long [`ShutdownHandle::shutdown`] waits for
/// sessions to send their 421 and close.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Most bytes read (and discarded) while waiting for the peer's close_notify.
const MAX_DISCARD_BEFORE_CLOSE_NOTIFY: usize = 64 * 1024;
/// The largest TLS record (RFC 8446 section 5.2: 2^14 + 256 of ciphertext;
/// TLS 1.2 allows up to 2^14 + 2048).
const MAX_TLS_RECORD: usize = (1 << 14) + 2048;
/// How often a running transfer reports progress (which keeps the session's
/// stall timer from firing and feeds `STAT`).
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// New connections are refused with 421; idle sessions close with 421;
    /// running transfers may finish.
    Draining,
    /// Every session sends 421 and closes now.
    Stopping,
}

/// Open sessions, in all and per address (SECURITY.md C3).
#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

struct Shared {
    config: Arc<ServerConfig>,
    storage: Arc<dyn Storage>,
    root: std::path::PathBuf,
    auth: Arc<dyn Authenticator>,
    anonymous: Option<Access>,
    passive_ports: Option<(u16, u16)>,
    /// Draws of passive ports so far (the input of [`unpredictable`]).
    port_draws: AtomicU64,
    /// The effective [`ServerOptions::max_passive_per_ip`].
    max_passive_per_ip: usize,
    /// Passive listeners held, per client address.
    passive_per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_sessions: usize,
    max_sessions_per_ip: usize,
    counts: Mutex<Counts>,
    /// Connection tasks alive (admitted or being refused).
    live: watch::Sender<usize>,
    phase: watch::Sender<Phase>,
    tls: Option<Arc<rustls::ServerConfig>>,
    implicit_tls: bool,
    /// Failed logins per client address (SECURITY.md A1, A2).
    guard: LoginGuard,
}

impl Shared {
    /// Counts a new connection in, and says whether it is within the limits
    /// and its address is not banned.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Ticket {
        let ip = ip.to_canonical();
        self.live.send_modify(|n| *n += 1);
        if self.guard.is_banned(ip, Instant::now()) {
            return Ticket { shared: self.clone(), ip, admitted: false, banned: true };
        }
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
        let admitted = counts.total < self.max_sessions && from_ip < self.max_sessions_per_ip;
        if admitted {
            counts.total += 1;
            *counts.per_ip.entry(ip).or_insert(0) += 1;
        }
        Ticket { shared: self.clone(), ip, admitted, banned: false }
    }
}

/// A connection's place in the counts, given back when its task ends.
struct Ticket {
    shared: Arc<Shared>,
    ip: IpAddr,
    admitted: bool,
    /// Refused because the address is banned for failed logins (A2).
    banned: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.admitted {
            let mut counts = self.shared.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            counts.total -= 1;
            if let Some(n) = counts.per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    counts.per_ip.remove(&self.ip);
                }
            }
        }
        self.shared.live.send_modify(|n| *n -= 1);
    }
}

/// The effective passive-listener cap per client address when
/// [`ServerOptions::max_passive_per_ip`] is `None`: a quarter of the range,
/// at least one; none without a range.
fn default_passive_cap(range: Option<(u16, u16)>) -> usize {
    match range {
        Some((low, high)) => (usize::from(high.saturating_sub(low)) + 1).div_ceil(4),
        None => usize::MAX,
    }
}

impl Shared {
    /// A place for one more passive listener of a session from `ip`, or
    /// `None` past [`ServerOptions::max_passive_per_ip`] (SECURITY.md C3).
    fn take_passive(self: &Arc<Self>, ip: IpAddr) -> Option<PassiveTicket> {
        let ip = ip.to_canonical();
        let mut held = self.passive_per_ip.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = held.get(&ip).copied().unwrap_or(0);
        if n >= self.max_passive_per_ip {
            return None;
        }
        held.insert(ip, n + 1);
        Some(PassiveTicket { shared: self.clone(), ip })
    }
}

/// A passive listener's place in its client address's count, given back
/// when its data setup closes.
struct PassiveTicket {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for PassiveTicket {
    fn drop(&mut self) {
        let mut held = self.shared.passive_per_ip.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// A bound FTP server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds the listening socket (backlog 1024: DESIGN.md driver notes).
    ///
    /// # Errors
    /// The address cannot be bound, the root cannot be served, or implicit
    /// TLS was asked for without a TLS configuration.
    pub async fn bind(options: ServerOptions) -> io::Result<Self> {
        if options.implicit_tls && options.tls.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "implicit FTPS needs a TLS configuration"));
        }
        let (storage, root) = match options.storage {
            Some(storage) => (storage, options.root),
            None => {
                let fs = LocalFs::new(&options.root)?;
                let root = fs.root().to_path_buf();
                (Arc::new(fs) as Arc<dyn Storage>, root)
            }
        };
        let auth = options.authenticator.unwrap_or_else(|| {
            let anonymous = options.anonymous.then_some(if options.anonymous_writable {
                Access::read_write()
            } else {
                Access::read_only()
            });
            Arc::new(UserList { users: options.users, anonymous })
        });
        let anonymous = auth.anonymous();
        let socket =
            if options.listen.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(options.listen)?;
        let listener = socket.listen(1024)?;
        let session = options
            .session
            .anonymous(anonymous.is_some())
            .tls_available(options.tls.is_some())
            .implicit_tls(options.implicit_tls)
            // What FEAT and HELP list and what is served follow the storage
            // (DESIGN: capabilities, not promises).
            .storage_capabilities(storage.capabilities())
            // No SITE subcommand is served yet: SITE stays 502 and out of
            // HELP whatever the session configuration says.
            .site_enabled(false);
        let delay = session.failed_login_delay_in_force();
        let shared = Shared {
            config: Arc::new(session),
            storage,
            root,
            auth,
            anonymous,
            passive_ports: options.passive_ports,
            port_draws: AtomicU64::new(0),
            max_passive_per_ip: options
                .max_passive_per_ip
                .unwrap_or_else(|| default_passive_cap(options.passive_ports)),
            passive_per_ip: Mutex::new(HashMap::new()),
            max_sessions: options.max_sessions,
            max_sessions_per_ip: options.max_sessions_per_ip,
            counts: Mutex::new(Counts::default()),
            live: watch::Sender::new(0),
            phase: watch::Sender::new(Phase::Running),
            tls: options.tls,
            implicit_tls: options.implicit_tls,
            guard: LoginGuard::new(options.login_guard, delay),
        };
        Ok(Self { listener, shared: Arc::new(shared) })
    }

    /// The bound address.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The directory served (canonical), or the unused
    /// [`ServerOptions::root`] when a custom storage is served.
    #[must_use]
    pub fn root(&self) -> &std::path::Path {
        &self.shared.root
    }

    /// A handle that stops this server gracefully, from any task; take it
    /// before [`run`](Self::run) consumes the server.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: self.shared.clone() }
    }

    /// Accepts and serves connections until the task is dropped or a
    /// [`ShutdownHandle`] stops the server. While it drains, connections
    /// are still accepted, and answered 421 (SECURITY.md C5). Failing
    /// accepts (out of file descriptors, say) are retried after a pause, so
    /// a burst does not end the server.
    ///
    /// # Errors
    /// None so far; the result leaves room for fatal listener errors.
    pub async fn run(self) -> io::Result<()> {
        let mut phase = self.shared.phase.subscribe();
        loop {
            let accepted = tokio::select! {
                r = self.listener.accept() => r,
                _ = phase.wait_for(|p| *p == Phase::Stopping) => return Ok(()),
            };
            let (stream, peer) = match accepted {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            // RFC 959 4.1.3: a client aborting a transfer sends the Telnet
            // Synch, whose DM byte travels as TCP urgent data. Linux drops
            // that byte from the normal stream unless it is kept inline, and
            // the decoder would then see `IAC IP IAC ABOR`; inline, it sees
            // the whole `IAC IP IAC DM` and strips it (SECURITY.md T3).
            let _ = socket2::SockRef::from(&stream).set_out_of_band_inline(true);
            let ticket = self.shared.admit(peer.ip());
            tokio::spawn(async move {
                let (admitted, banned) = (ticket.admitted, ticket.banned);
                let shared = ticket.shared.clone();
                let _ = serve(stream, shared, admitted, banned).await;
                drop(ticket);
            });
        }
    }
}

/// Stops a [`Server`] gracefully (SECURITY.md C5). Clones stop the same
/// server.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle").field("phase", &*self.shared.phase.borrow()).finish()
    }
}

impl ShutdownHandle {
    /// Stops the server: new connections are answered 421; idle sessions
    /// get 421 and are closed at once; running transfers may finish within
    /// `grace` (each then gets its 226, then 421). When `grace` is over,
    /// every session left gets 421 and is closed, cutting its transfer (an
    /// upload so cut is never answered 226), and [`Server::run`] returns.
    /// Returns after every session ended, or at most a few seconds after
    /// `grace` when some peer does not take its 421.
    ///
    /// Returns how many sessions were still open when `grace` ran out.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.shared.phase.send_if_modified(|p| {
            let running = *p == Phase::Running;
            if running {
                *p = Phase::Draining;
            }
            running
        });
        let mut live = self.shared.live.subscribe();
        let drained = tokio::time::timeout(grace, live.wait_for(|n| *n == 0)).await.is_ok();
        let cut = if drained { 0 } else { *live.borrow() };
        self.shared.phase.send_replace(Phase::Stopping);
        let _ = tokio::time::timeout(STOP_TIMEOUT, live.wait_for(|n| *n == 0)).await;
        cut
    }
}

/// What background tasks tell the connection task.
enum Note {
    Answer(RequestId, Answer, Option<Job>, Option<Access>),
    Incoming(DataId, TcpStream, SocketAddr),
    Connected(DataId, io::Result<TcpStream>),
    Progress(DataId, u64),
    Done(DataId, DataEvent),
}

/// The prepared source or sink of a transfer.
enum Job {
    Read(FileSource, bool),
    Write(FileSink, bool),
    /// A listing, formatted and sent chunk by chunk (see [`Listing`]).
    Listing {
        listing: Listing,
        format: ListFormat,
        facts: Vec<&'static str>,
        now: ftp_proto::Timestamp,
        /// What the user may do, to which each entry's `perm` is narrowed.
        access: Access,
    },
}

struct DataSlot {
    listener: Option<JoinHandle<()>>,
    pending: Option<TcpStream>,
    stream: Option<DataStream>,
    task: Option<JoinHandle<()>>,
    /// For an active connection: the protection asked for with `Connect`,
    /// applied when the connection is made.
    connect_tls: Option<DataTls>,
    /// For a passive listener: its place in the per-address count.
    passive: Option<PassiveTicket>,
}

impl DataSlot {
    fn new(listener: Option<JoinHandle<()>>, task: Option<JoinHandle<()>>) -> Self {
        Self { listener, pending: None, stream: None, task, connect_tls: None, passive: None }
    }
}

type TlsData = tokio_rustls::server::TlsStream<TcpStream>;

/// An accepted or connected data connection.
enum DataStream {
    Plain(TcpStream),
    /// `PROT P`: the TLS handshake, started as soon as the connection was
    /// made (see `DataAction::Accept`), running in the background.
    Tls(Handshake),
}

/// A data connection's TLS handshake task; aborted when dropped, so a
/// closed data setup leaves nothing running. `direction` is set when the
/// transfer command arrives; the handshake reads it when the ClientHello
/// has come, to choose whether to send session tickets (only to a client
/// that will read to the end: see [`crate::tls::SessionTls`]).
struct Handshake {
    task: JoinHandle<Result<TlsData, DataFailure>>,
    direction: watch::Sender<Option<Direction>>,
}

impl Handshake {
    fn start(configs: Arc<DataTlsConfigs>, stream: TcpStream, must_resume: bool) -> Self {
        let (direction, known) = watch::channel(None);
        Self { task: tokio::spawn(data_handshake(configs, stream, must_resume, known)), direction }
    }

    async fn finish(mut self, direction: Direction) -> Result<TlsData, DataFailure> {
        self.direction.send_replace(Some(direction));
        (&mut self.task).await.unwrap_or(Err(DataFailure::TlsFailed))
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server side of a data connection's handshake, bounded in time;
/// the session must resume the control connection's (SECURITY.md L6).
async fn data_handshake(
    configs: Arc<DataTlsConfigs>,
    stream: TcpStream,
    must_resume: bool,
    direction: watch::Receiver<Option<Direction>>,
) -> Result<TlsData, DataFailure> {
    let handshake = async {
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let config = if *direction.borrow() == Some(Direction::Send) {
            configs.with_tickets.clone()
        } else {
            configs.without_tickets.clone()
        };
        start.into_stream(config).await
    };
    match tokio::time::timeout(TLS_TIMEOUT, handshake).await {
        Err(_) | Ok(Err(_)) => Err(DataFailure::TlsFailed),
        Ok(Ok(tls)) if must_resume && tls.get_ref().1.handshake_kind() != Some(rustls::HandshakeKind::Resumed) => {
            Err(DataFailure::TlsNotResumed)
        }
        Ok(Ok(tls)) => Ok(tls),
    }
}

impl Drop for DataSlot {
    fn drop(&mut self) {
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

type TlsControl = tokio_rustls::server::TlsStream<TcpStream>;

/// The control connection, in plaintext or TLS.
enum Control {
    /// The halves, and whether a direct read already saw the peer's EOF.
    Plain(tokio::net::tcp::OwnedReadHalf, tokio::net::tcp::OwnedWriteHalf, bool),
    Tls(tokio::io::ReadHalf<TlsControl>, tokio::io::WriteHalf<TlsControl>),
    Closed,
}

fn timed_out() -> io::Error {
    io::Error::from(io::ErrorKind::TimedOut)
}

impl Control {
    fn plain(stream: TcpStream) -> Self {
        let (r, w) = stream.into_split();
        Self::Plain(r, w, false)
    }

    async fn handshake(stream: TcpStream, acceptor: &tokio_rustls::TlsAcceptor) -> io::Result<Self> {
        let tls = tokio::time::timeout(TLS_TIMEOUT, acceptor.accept(stream)).await.map_err(|_| timed_out())??;
        let (r, w) = tokio::io::split(tls);
        Ok(Self::Tls(r, w))
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(_, _, true) => Ok(0),
            Self::Plain(r, _, eof) => {
                // Linux ends a read at the urgent mark even when more bytes
                // wait, and tokio takes a short read as "drained" and waits
                // for a readiness event that will not come. So read on,
                // straight from the (non-blocking) socket, until it would
                // block; an EOF seen there is reported by the next call.
                use std::io::Read;
                let mut n = r.read(buf).await?;
                let socket = socket2::SockRef::from(r.as_ref());
                while n > 0 && n < buf.len() {
                    match (&*socket).read(&mut buf[n..]) {
                        Ok(0) => {
                            *eof = true;
                            break;
                        }
                        Ok(m) => n += m,
                        Err(_) => break,
                    }
                }
                Ok(n)
            }
            Self::Tls(r, _) => r.read(buf).await,
            Self::Closed => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(_, w, _) => w.write_all(bytes).await,
            Self::Tls(_, w) => {
                w.write_all(bytes).await?;
                w.flush().await
            }
            Self::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    async fn shutdown(&mut self) {
        match self {
            Self::Plain(_, w, _) => drop(w.shutdown().await),
            Self::Tls(_, w) => drop(w.shutdown().await),
            Self::Closed => {}
        }
    }

    /// RFC 4217 section 4: the handshake right after the 234 went out.
    async fn start_tls(&mut self, acceptor: &tokio_rustls::TlsAcceptor) -> io::Result<()> {
        let Self::Plain(r, w, _) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let tcp = r.reunite(w).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        *self = Self::handshake(tcp, acceptor).await?;
        Ok(())
    }

    /// RFC 4217 sections 12.3 (CCC) and 13 (REIN): after the reply went
    /// out protected, send close_notify, wait for the peer's, and go on in
    /// plaintext on the same TCP connection. Anything that arrives before
    /// the peer's close_notify is discarded, never run (SECURITY.md L1).
    ///
    /// The peer's records are read from the socket one at a time (a 5-byte
    /// header, then exactly its length), never more: the plaintext command
    /// a client sends right after its close_notify may already be in the
    /// socket, and must stay there for the plaintext reader.
    async fn stop_tls(&mut self) -> io::Result<()> {
        let Self::Tls(r, w) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let (mut tcp, mut tls) = r.unsplit(w).into_inner();
        let exchange = async {
            tls.send_close_notify();
            let mut out = Vec::new();
            while tls.wants_write() {
                tls.write_tls(&mut out)?;
            }
            tcp.write_all(&out).await?;
            let mut discarded = 0usize;
            let mut sink = [0u8; 4096];
            loop {
                let state = tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                // Application data before the close_notify: dropped.
                while let Ok(n @ 1..) = io::Read::read(&mut tls.reader(), &mut sink) {
                    discarded += n;
                }
                if state.peer_has_closed() {
                    return Ok(());
                }
                if discarded > MAX_DISCARD_BEFORE_CLOSE_NOTIFY {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "no close_notify from the peer"));
                }
                let mut record = vec![0u8; 5];
                tcp.read_exact(&mut record).await?;
                let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
                if len > MAX_TLS_RECORD {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "oversized TLS record"));
                }
                record.resize(5 + len, 0);
                tcp.read_exact(&mut record[5..]).await?;
                discarded += record.len();
                let mut rest = &record[..];
                while !rest.is_empty() {
                    if tls.read_tls(&mut rest)? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        };
        tokio::time::timeout(TLS_TIMEOUT, exchange).await.map_err(|_| timed_out())??;
        *self = Self::plain(tcp);
        Ok(())
    }
}

/// A connection's running request tasks, by request; dropping it aborts
/// them all (SECURITY.md X1: work for a session that ended stops).
#[derive(Default)]
struct RequestTasks(HashMap<RequestId, JoinHandle<()>>);

impl RequestTasks {
    /// The task that answers `id`.
    fn insert(&mut self, id: RequestId, task: JoinHandle<()>) {
        // Finished tasks whose answer is still on its way are forgotten
        // here, so the map holds only what runs.
        self.0.retain(|_, t| !t.is_finished());
        self.0.insert(id, task);
    }

    /// `id` was answered: its task has ended.
    fn answered(&mut self, id: RequestId) {
        self.0.remove(&id);
    }

    /// The session cancelled `id` (ABOR, connection end): stop its work now,
    /// dropping whatever it opened (a file, a directory being listed).
    fn cancel(&mut self, id: RequestId) {
        if let Some(task) = self.0.remove(&id) {
            task.abort();
        }
    }
}

impl Drop for RequestTasks {
    fn drop(&mut self) {
        for task in self.0.values() {
            task.abort();
        }
    }
}

struct Conn {
    shared: Arc<Shared>,
    /// This control connection's TLS settings, with its own resumption store.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// The same for its data connections (see [`crate::tls::SessionTls`]).
    data_tls: Option<Arc<DataTlsConfigs>>,
    local_ip: IpAddr,
    /// The client's address (passive listeners are counted per address).
    peer_ip: IpAddr,
    tx: mpsc::UnboundedSender<Note>,
    data: HashMap<DataId, DataSlot>,
    /// The prepared source or sink of the last request the session
    /// accepted an answer to, until a `Transfer` takes it. At most one:
    /// the next accepted answer or the closing of the data setup drops it
    /// (SECURITY.md X1, X3: nothing an aborted request opened stays open).
    job: Option<(RequestId, Job)>,
    /// The storage tasks of requests not answered yet, aborted when the
    /// session cancels their request and when the connection ends.
    requests: RequestTasks,
    /// Who is logged in, passed to the storage with every request (before
    /// login: an anonymous read-only placeholder no request is made for).
    user: Principal,
    /// The access granted with the last named login, taken when the
    /// session reports the login.
    granted: Option<Access>,
}

async fn serve(stream: TcpStream, shared: Arc<Shared>, admitted: bool, banned: bool) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let mut phase = shared.phase.subscribe();
    let running = *phase.borrow_and_update() == Phase::Running;
    if shared.implicit_tls && !(admitted && running) {
        // A 421 could only go out after a TLS handshake: a refused client
        // of implicit FTPS costs no handshake, it is just closed (C3).
        return Ok(());
    }
    let (tls, data_tls) = conn_tls(&shared);
    let mut control = match &tls {
        Some(acceptor) if shared.implicit_tls => Control::handshake(stream, acceptor).await?,
        _ => Control::plain(stream),
    };
    let conn_info = Connection::new(peer, local);
    let now = Instant::now();
    let mut session = if banned {
        Session::refuse_with(shared.config.clone(), conn_info, now, "Too many failed logins from your address.")
    } else if admitted && running {
        Session::new(shared.config.clone(), conn_info, now)
    } else {
        Session::refuse(shared.config.clone(), conn_info, now)
    };
    if shared.guard.is_suspect(peer.ip(), now) {
        session.hold_logins();
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        shared,
        tls,
        data_tls,
        local_ip: local.ip(),
        peer_ip: peer.ip(),
        tx,
        data: HashMap::new(),
        job: None,
        requests: RequestTasks::default(),
        user: Principal::anonymous(Access::read_only()),
        granted: None,
    };
    let mut write_timeout = CONTROL_WRITE_TIMEOUT;
    // Commands are at most 4 KiB a line and the decoder takes them in
    // pieces, so a small read buffer costs nothing but keeps idle sessions
    // small (README: memory per session).
    let mut buf = vec![0u8; 4 * 1024];
    loop {
        // Carry out everything the session wants, in order.
        let deadline = loop {
            match session.poll_output() {
                Output::Transmit(bytes) => {
                    tokio::time::timeout(write_timeout, control.write_all(&bytes)).await.map_err(|_| timed_out())??;
                }
                Output::Data(action) => conn.act(&mut session, action).await,
                Output::Request(req) => conn.request(req.id, req.kind, session.mlst_facts()),
                Output::Event(Event::LoggedIn { user, anonymous }) => {
                    conn.user = if anonymous {
                        let mut principal =
                            Principal::anonymous(conn.shared.anonymous.unwrap_or_else(Access::read_only));
                        principal.name = user;
                        principal
                    } else {
                        Principal::new(user, conn.granted.take().unwrap_or_else(Access::read_only))
                    };
                }
                Output::Event(Event::UploadPossiblyTruncated { path, bytes }) => {
                    tracing::warn!(
                        %peer,
                        path = %String::from_utf8_lossy(path.as_bytes()),
                        bytes,
                        "upload accepted without TLS close_notify: possibly truncated (SECURITY.md L7)"
                    );
                }
                Output::Event(Event::UploadIncomplete { path, bytes }) => {
                    tracing::warn!(%peer, path = %String::from_utf8_lossy(path.as_bytes()), bytes, "upload incomplete");
                }
                Output::Event(Event::RequestCancelled(id)) => conn.requests.cancel(id),
                Output::Event(Event::LoginFailed { user, failures }) => {
                    let recorded = conn.shared.guard.record_failure(peer.ip(), Instant::now());
                    tracing::warn!(
                        %peer,
                        user = ?String::from_utf8_lossy(user.as_bytes()),
                        session_failures = failures,
                        address_failures = recorded.recent,
                        "failed login (SECURITY.md A1)"
                    );
                    if recorded.banned_now {
                        tracing::warn!(ip = %guard::address_key(peer.ip()), "address banned for failed logins (SECURITY.md A2)");
                    }
                }
                Output::StartTls => {
                    let Some(acceptor) = conn.tls.clone() else { return Ok(()) };
                    control.start_tls(&acceptor).await?;
                    checked(session.handle_input(Instant::now(), Input::TlsEstablished));
                }
                Output::StopTls => control.stop_tls().await?,
                Output::Close => {
                    let _ = tokio::time::timeout(write_timeout, control.shutdown()).await;
                    return Ok(());
                }
                Output::Wait(deadline) => break deadline,
                _ => {}
            }
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = control.read(&mut buf) => {
                let now = Instant::now();
                checked(match read {
                    Ok(0) | Err(_) => session.handle_input(now, Input::ControlEof),
                    Ok(n) => {
                        // A2: another session from this address failed
                        // since: this one's PASS replies are held too.
                        if !session.are_logins_held() && !session.is_logged_in()
                            && conn.shared.guard.is_suspect(peer.ip(), now)
                        {
                            session.hold_logins();
                        }
                        session.handle_input(now, Input::Control(&buf[..n]))
                    }
                });
            }
            Some(note) = rx.recv() => conn.note(&mut session, note),
            () = sleep => { checked(session.handle_input(Instant::now(), Input::Timeout)); }
            Ok(()) = phase.changed() => {
                let now = Instant::now();
                let current = *phase.borrow_and_update();
                match current {
                    Phase::Running => {}
                    Phase::Draining => { checked(session.shut_down(now)); }
                    Phase::Stopping => {
                        write_timeout = STOP_WRITE_TIMEOUT;
                        checked(session.handle_input(now, Input::Shutdown));
                    }
                }
            }
        }
    }
}

/// A control connection's two data-connection configurations.
struct DataTlsConfigs {
    with_tickets: Arc<rustls::ServerConfig>,
    without_tickets: Arc<rustls::ServerConfig>,
}

/// This control connection's acceptor, and its data connections'
/// configurations (see [`crate::tls::SessionTls`]).
fn conn_tls(shared: &Shared) -> (Option<tokio_rustls::TlsAcceptor>, Option<Arc<DataTlsConfigs>>) {
    match shared.tls.as_ref().map(crate::tls::per_session) {
        Some(t) => (
            Some(t.control.into()),
            Some(Arc::new(DataTlsConfigs {
                with_tickets: t.data_with_tickets,
                without_tickets: t.data_without_tickets,
            })),
        ),
        None => (None, None),
    }
}

/// Random ports tried in the passive range before scanning it.
const PASSIVE_DRAWS: u64 = 16;

/// A number no one outside the process can predict: SipHash keyed by the
/// standard library from the OS's randomness ([`RandomState`] keys are
/// drawn once per thread, and each `RandomState` differs), over a counter
/// that never repeats. Enough to pick passive ports a process on the
/// client's address cannot guess (SECURITY.md D3), without a dependency.
///
/// [`RandomState`]: std::collections::hash_map::RandomState
fn unpredictable(counter: &AtomicU64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(counter.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A passive listener on the control connection's local address, in the
/// configured port range: each port drawn at random from the whole range
/// (RFC 2577 section 8, SECURITY.md D3), a few more draws when it is busy,
/// then a scan of the range from a random start.
async fn bind_passive(shared: &Shared, local_ip: IpAddr) -> io::Result<TcpListener> {
    let Some((low, high)) = shared.passive_ports else {
        return TcpListener::bind(SocketAddr::new(local_ip, 0)).await;
    };
    let span = u64::from(high.saturating_sub(low)) + 1;
    // Below `span`, so the port stays within `low..=high`.
    let port = |n: u64| low + u16::try_from(n % span).unwrap_or(0);
    for _ in 0..PASSIVE_DRAWS.min(span) {
        let port = port(unpredictable(&shared.port_draws));
        if let Ok(l) = TcpListener::bind(SocketAddr::new(local_ip, port)).await {
            return Ok(l);
        }
    }
    let start = unpredictable(&shared.port_draws) % span;
    for i in 0..span {
        if let Ok(l) = TcpListener::bind(SocketAddr::new(local_ip, port(start + i))).await {
            return Ok(l);
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, "no free passive port"))
}

impl Conn {
    async fn act(&mut self, session: &mut Session, action: DataAction) {
        match action {
            DataAction::Listen { id, .. } => {
                // D6: one listener per session. The session closes the old
                // setup before it asks for a new one; should one be left,
                // it goes now, so a new PASV never counts twice.
                self.data.retain(|_, slot| slot.passive.is_none());
                // C3: past the cap for this client address, 425.
                let bound = match self.shared.take_passive(self.peer_ip) {
                    Some(ticket) => bind_passive(&self.shared, self.local_ip).await.ok().map(|l| (l, ticket)),
                    None => None,
                };
                let Some((listener, ticket)) = bound else {
                    checked(session.handle_input(Instant::now(), Input::Data(id, DataEvent::ListenFailed)));
                    return;
                };
                let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::new(self.local_ip, 0));
                let tx = self.tx.clone();
                let task = tokio::spawn(async move {
                    while let Ok((stream, peer)) = listener.accept().await {
                        if tx.send(Note::Incoming(id, stream, peer)).is_err() {
                            break;
                        }
                    }
                });
                let mut slot = DataSlot::new(Some(task), None);
                slot.passive = Some(ticket);
                self.data.insert(id, slot);
                checked(session.handle_input(Instant::now(), Input::Data(id, DataEvent::Listening { addr })));
            }
            DataAction::Accept { id, tls } => {
                let stream = self.data.get_mut(&id).and_then(|slot| slot.pending.take());
                if let Some(stream) = stream {
                    let stream = self.protect(stream, tls);
                    if let Some(slot) = self.data.get_mut(&id) {
                        slot.stream = Some(stream);
                    }
                }
            }
            DataAction::Reject { id, .. } => {
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.pending = None;
                }
            }
            DataAction::Connect { id, addr, tls } => {
                let tx = self.tx.clone();
                let local = SocketAddr::new(self.local_ip, 0);
                let task = tokio::spawn(async move {
                    let connect = async {
                        let socket = if local.is_ipv4() {
                            tokio::net::TcpSocket::new_v4()?
                        } else {
                            tokio::net::TcpSocket::new_v6()?
                        };
                        socket.bind(local)?;
                        socket.connect(addr).await
                    };
                    let result = tokio::time::timeout(Duration::from_secs(60), connect)
                        .await
                        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")));
                    let _ = tx.send(Note::Connected(id, result));
                });
                let mut slot = DataSlot::new(None, Some(task));
                slot.connect_tls = Some(tls);
                self.data.insert(id, slot);
            }
            DataAction::Transfer { id, request, tls, direction } => {
                let stream = self.data.get_mut(&id).and_then(|s| s.stream.take());
                // A job left by another request is stale: dropped here.
                let job = self.job.take().filter(|(r, _)| *r == request).map(|(_, job)| job);
                let tx = self.tx.clone();
                let (Some(stream), Some(job)) = (stream, job) else {
                    let failed = DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost };
                    checked(session.handle_input(Instant::now(), Input::Data(id, failed)));
                    return;
                };
                // PROT P set after the connection came: the handshake starts now.
                let stream = match stream {
                    DataStream::Plain(tcp) => self.protect(tcp, tls),
                    tls_stream @ DataStream::Tls(_) => tls_stream,
                };
                let task = tokio::spawn(async move {
                    let progress = Progress { tx: tx.clone(), id, last: Instant::now() };
                    let event = match stream {
                        DataStream::Plain(tcp) if !tls.required => transfer(tcp, job, false, progress).await,
                        // Required but no certificate: the session never
                        // allows PROT P then; refuse rather than send plaintext.
                        DataStream::Plain(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::TlsFailed },
                        DataStream::Tls(handshake) => match handshake.finish(direction).await {
                            Ok(tls) => transfer(tls, job, true, progress).await,
                            Err(reason) => DataEvent::Failed { bytes: 0, reason },
                        },
                    };
                    let _ = tx.send(Note::Done(id, event));
                });
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.task = Some(task);
                }
            }
            DataAction::Close { id } => {
                self.data.remove(&id);
                // The setup a prepared job was waiting for is gone (ABOR,
                // a failed connection, a timeout): close its file now.
                self.job = None;
            }
            _ => {}
        }
    }

    fn note(&mut self, session: &mut Session, note: Note) {
        let now = Instant::now();
        match note {
            Note::Answer(id, answer, job, access) => {
                self.requests.answered(id);
                if access.is_some() {
                    self.granted = access;
                }
                // Kept only when the session takes the answer: the answer to
                // a cancelled request (ABOR) is stale, and its file is
                // closed here (SECURITY.md X1, X3).
                if session.answer(now, id, answer).is_ok() {
                    self.job = job.map(|job| (id, job));
                }
            }
            Note::Incoming(id, stream, peer) => {
                if let Some(slot) = self.data.get_mut(&id) {
                    let _ = stream.set_nodelay(true);
                    slot.pending = Some(stream);
                    checked(session.handle_input(now, Input::Data(id, DataEvent::Incoming { peer })));
                }
            }
            Note::Connected(id, result) => {
                let Some(slot) = self.data.get_mut(&id) else { return };
                let tls = slot.connect_tls.take();
                let event = match result {
                    Ok(stream) => {
                        let stream = match tls {
                            Some(tls) => self.protect(stream, tls),
                            None => DataStream::Plain(stream),
                        };
                        if let Some(slot) = self.data.get_mut(&id) {
                            slot.stream = Some(stream);
                        }
                        DataEvent::Connected
                    }
                    Err(_) => DataEvent::ConnectFailed,
                };
                checked(session.handle_input(now, Input::Data(id, event)));
            }
            Note::Progress(id, bytes) => {
                checked(session.handle_input(now, Input::Data(id, DataEvent::Progress { bytes })));
            }
            Note::Done(id, event) => {
                checked(session.handle_input(now, Input::Data(id, event)));
            }
        }
    }

    /// A new data connection, with its TLS handshake started in the
    /// background when `PROT P` is in force.
    fn protect(&self, stream: TcpStream, tls: DataTls) -> DataStream {
        match &self.data_tls {
            Some(configs) if tls.required => {
                DataStream::Tls(Handshake::start(configs.clone(), stream, tls.must_resume_control_session))
            }
            _ => DataStream::Plain(stream),
        }
    }

    /// Answers a request from the authenticator or the storage, in the
    /// background.
    fn request(&mut self, id: RequestId, kind: RequestKind, facts: Vec<&'static str>) {
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        if let RequestKind::Login { user, password } = kind {
            // A2: from an address that failed recently, passwords are
            // checked one per delay for the whole address, and not at all
            // while it is banned. An authentication runs to its end even
            // when the session goes away (an authenticator is not cut
            // mid-way), so its task is not tracked.
            let slot = self.shared.guard.slot(self.peer_ip, Instant::now());
            tokio::spawn(async move {
                let Some(slot) = slot else {
                    let _ = tx.send(Note::Answer(id, Answer::LoginDenied, None, None));
                    return;
                };
                tokio::time::sleep_until(slot.into()).await;
                let access = shared.auth.login(&user, &password).await;
                let answer = if access.is_some() { Answer::LoggedIn } else { Answer::LoginDenied };
                let _ = tx.send(Note::Answer(id, answer, None, access));
            });
            return;
        }
        // Storage work stops when its request is cancelled (SECURITY.md X1).
        let user = self.user.clone();
        let task = tokio::spawn(async move {
            let (answer, job) = decide(shared.storage.as_ref(), &user, kind, &facts).await;
            let _ = tx.send(Note::Answer(id, answer, job, None));
        });
        self.requests.insert(id, task);
    }
}

/// What to do with the session's [`Misuse`] of an input: a bug in this
/// driver, never the peer's doing (the session itself ignores late events
/// of a data setup it closed, and the loop ends at [`Output::Close`]), so it
/// is logged, and fatal in debug builds, where the tests run.
#[track_caller]
fn checked(result: Result<(), ftp_session::Misuse>) {
    if let Err(misuse) = result {
        tracing::error!(?misuse, "the session refused an input: a driver bug");
        debug_assert!(false, "the session refused an input: {misuse:?}");
    }
}

fn failed(e: StorageError) -> (Answer, Option<Job>) {
    (Answer::Failed(e), None)
}

/// The storage's answer to one request.
async fn decide(
    fs: &dyn Storage,
    user: &Principal,
    kind: RequestKind,
    facts: &[&'static str],
) -> (Answer, Option<Job>) {
    if kind.is_write() && !user.access.writable {
        return failed(StorageError::PermissionDenied);
    }
    let done = |r: Result<(), StorageError>| match r {
        Ok(()) => (Answer::Done, None),
        Err(e) => failed(e),
    };
    match kind {
        RequestKind::ChangeDir { path } => done(fs.change_dir(user, &path).await),
        RequestKind::List { path, format: ListFormat::Stat, all } => match fs.entries(user, &path, all).await {
            Ok(mut entries) => {
                narrow_perms(&mut entries, user.access);
                (Answer::Entries { entries, now: now_timestamp() }, None)
            }
            Err(e) => failed(e),
        },
        RequestKind::List { path, format, all } => match fs.listing(user, &path, all).await {
            Ok(listing) => {
                let facts = facts.to_vec();
                let access = user.access;
                (Answer::Ready, Some(Job::Listing { listing, format, facts, now: now_timestamp(), access }))
            }
            Err(e) => failed(e),
        },
        RequestKind::Retrieve { path, offset, ascii } => match fs.open_read(user, &path, offset).await {
            Ok(file) => (Answer::Ready, Some(Job::Read(file, ascii))),
            Err(e) => failed(e),
        },
        RequestKind::Store { path, mode: StoreMode::Unique, ascii, .. } => match store_unique(fs, user, &path).await {
            Ok((name, file)) => (Answer::StoredAs(name), Some(Job::Write(file, ascii))),
            Err(e) => failed(e),
        },
        RequestKind::Store { path, mode, offset, ascii } => {
            let mode = match mode {
                StoreMode::Append => WriteMode::Append,
                _ if offset > 0 => WriteMode::Resume(offset),
                _ => WriteMode::Replace,
            };
            match fs.open_write(user, &path, mode).await {
                Ok(file) => (Answer::Ready, Some(Job::Write(file, ascii))),
                Err(e) => failed(e),
            }
        }
        RequestKind::Delete { path } => done(fs.delete(user, &path).await),
        RequestKind::MakeDir { path } => done(fs.make_dir(user, &path).await),
        RequestKind::RemoveDir { path } => done(fs.remove_dir(user, &path).await),
        RequestKind::Rename { from, to } => done(fs.rename(user, &from, &to).await),
        RequestKind::Size { path } => match fs.size(user, &path).await {
            Ok(n) => (Answer::Size(n), None),
            Err(e) => failed(e),
        },
        RequestKind::SetModTime { path, time } => done(fs.set_modified(user, &path, time).await),
        RequestKind::SetFacts { path, mode, modify } => {
            // draft-somers-ftp-mfxx 5.1: not atomic; the first failure is
            // the answer.
            if let Some(mode) = mode {
                if let Err(e) = fs.set_mode(user, &path, mode).await {
                    return failed(e);
                }
            }
            match modify {
                Some(time) => done(fs.set_modified(user, &path, time).await),
                None => (Answer::Done, None),
            }
        }
        RequestKind::ModTime { path } => match fs.modified(user, &path).await {
            Ok(t) => (Answer::ModTime(t), None),
            Err(e) => failed(e),
        },
        // RFC 3659 7.2: MLST describes the object named, not its contents.
        RequestKind::Facts { path } => match fs.stat(user, &path).await {
            Ok(entry) => {
                let mut entries = vec![entry];
                narrow_perms(&mut entries, user.access);
                (Answer::Entries { entries, now: now_timestamp() }, None)
            }
            Err(e) => failed(e),
        },
        // Answered before the storage is asked (`Conn::request`).
        RequestKind::Login { .. } => failed(StorageError::NotSupported),
        // No authenticator here asks for ACCT (it never answers
        // NeedAccount), and `Server::bind` turns SITE off: neither reaches
        // the storage.
        RequestKind::Account { .. } | RequestKind::Site { .. } => failed(StorageError::NotSupported),
    }
}

/// STOU: a file that did not exist, named after the hint: the hint, then
/// `hint.1`, `hint.2`... Each candidate is created with
/// [`WriteMode::CreateNew`], so two uploads never get the same name.
async fn store_unique(
    fs: &dyn Storage,
    user: &Principal,
    hint: &ftp_session::server::VirtualPath,
) -> Result<(ftp_proto::Pathname, FileSink), StorageError> {
    for i in 0..1000u32 {
        let candidate = if i == 0 {
            hint.clone()
        } else {
            let mut name = hint.file_name().to_vec();
            name.extend_from_slice(format!(".{i}").as_bytes());
            hint.parent().join(&name)
        };
        match fs.open_write(user, &candidate, WriteMode::CreateNew).await {
            Ok(file) => {
                let name = ftp_proto::Pathname::try_from(Bytes::copy_from_slice(candidate.file_name()))
                    .map_err(|_| StorageError::NameNotAllowed)?;
                return Ok((name, file));
            }
            Err(StorageError::AlreadyExists) => {}
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::NameNotAllowed)
}

/// Reports a running transfer's byte count to the connection task, at most
/// once per [`PROGRESS_INTERVAL`].
struct Progress {
    tx: mpsc::UnboundedSender<Note>,
    id: DataId,
    last: Instant,
}

impl Progress {
    fn moved(&mut self, total: u64) {
        if self.last.elapsed() >= PROGRESS_INTERVAL {
            self.last = Instant::now();
            let _ = self.tx.send(Note::Progress(self.id, total));
        }
    }
}

/// Which end of a copy failed, and after how many bytes.
struct Broken {
    bytes: u64,
    /// The source failed (else the destination).
    reading: bool,
}

/// Moves one transfer's bytes and reports how it ended: a broken data
/// connection (a reset included) is 426, a failing storage 451; only a
/// transfer that reached its end (and, for an upload, whose sink flushed)
/// is `Finished`. Under TLS, an upload whose peer closed without
/// close_notify is reported as `FinishedWithoutCloseNotify`: the session
/// accepts it, flagged as possibly truncated, or refuses it when so
/// configured (SECURITY.md L7; vsftpd `strict_ssl_read_eof`).
async fn transfer<S>(mut stream: S, job: Job, tls: bool, mut progress: Progress) -> DataEvent
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let result = match job {
        Job::Listing { mut listing, format, facts, now, access } => {
            let mut sent = 0u64;
            loop {
                match listing.next_chunk().await {
                    None => break Ok(sent),
                    Some(Err(_)) => break Err(DataEvent::Failed { bytes: sent, reason: DataFailure::Storage }),
                    Some(Ok(mut entries)) => {
                        narrow_perms(&mut entries, access);
                        let bytes = format_listing(&entries, format, &facts, now);
                        if stream.write_all(&bytes).await.is_err() {
                            break Err(DataEvent::Failed { bytes: sent, reason: DataFailure::ConnectionLost });
                        }
                        sent += bytes.len() as u64;
                        progress.moved(sent);
                    }
                }
            }
        }
        Job::Read(mut file, ascii) => {
            let mode = if ascii { Ascii::ToWire(ToWire::default()) } else { Ascii::Off };
            copy(&mut file, &mut stream, mode, false, &mut progress).await.map(|c| c.bytes).map_err(|b| {
                DataEvent::Failed {
                    bytes: b.bytes,
                    reason: if b.reading { DataFailure::Storage } else { DataFailure::ConnectionLost },
                }
            })
        }
        Job::Write(mut file, ascii) => {
            let mode = if ascii { Ascii::FromWire(FromWire::default()) } else { Ascii::Off };
            match copy(&mut stream, &mut file, mode, tls, &mut progress).await {
                Ok(c) => match file.flush().await {
                    Ok(()) if c.without_close_notify => {
                        let _ = stream.shutdown().await;
                        return DataEvent::FinishedWithoutCloseNotify { bytes: c.bytes };
                    }
                    Ok(()) => Ok(c.bytes),
                    Err(_) => Err(DataEvent::Failed { bytes: c.bytes, reason: DataFailure::Storage }),
                },
                Err(b) => Err(DataEvent::Failed {
                    bytes: b.bytes,
                    reason: if b.reading { DataFailure::ConnectionLost } else { DataFailure::Storage },
                }),
            }
        }
    };
    match result {
        Ok(bytes) => {
            let _ = stream.shutdown().await;
            DataEvent::Finished { bytes }
        }
        Err(event) => event,
    }
}

enum Ascii {
    Off,
    /// LF to CRLF (TYPE A downloads, RFC 959 3.1.1.1).
    ToWire(ToWire),
    /// CRLF to LF (TYPE A uploads).
    FromWire(FromWire),
}

/// How a copy that reached the end of its source ended.
struct Copied {
    bytes: u64,
    /// The source was TLS and ended without close_notify (SECURITY.md L7).
    without_close_notify: bool,
}

/// Copies with a large buffer; converts line ends only in TYPE A. With
/// `tls_source`, a TLS stream that ends without close_notify (rustls
/// reports `UnexpectedEof`) counts as the end, marked in the result.
async fn copy<R, W>(
    from: &mut R,
    to: &mut W,
    ascii: Ascii,
    tls_source: bool,
    progress: &mut Progress,
) -> Result<Copied, Broken>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = Buffer::new();
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut ascii = ascii;
    let mut without_close_notify = false;
    loop {
        let n = match from.read_buf(buf.next()).await {
            Err(e) if tls_source && e.kind() == io::ErrorKind::UnexpectedEof => {
                without_close_notify = true;
                0
            }
            Ok(n) => n,
            Err(_) => return Err(Broken { bytes: total, reading: true }),
        };
        let wrote = if n == 0 {
            // A CR held back by the upload conversion was not part of a CRLF.
            match &mut ascii {
                Ascii::FromWire(c) => to.write_all(c.finish()).await,
                _ => Ok(()),
            }
        } else {
            match &mut ascii {
                Ascii::Off => to.write_all(&buf[..n]).await,
                Ascii::ToWire(c) => {
                    c.convert(&buf[..n], &mut out);
                    to.write_all(&out).await
                }
                Ascii::FromWire(c) => {
                    c.convert(&buf[..n], &mut out);
                    to.write_all(&out).await
                }
            }
        };
        if wrote.is_err() {
            return Err(Broken { bytes: total, reading: false });
        }
        if n == 0 {
            return Ok(Copied { bytes: total, without_close_notify });
        }
        total += n as u64;
        progress.moved(total);
    }
}
