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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, DataTls, Direction, Event, Input, ListFormat,
    Matching, Output, RequestId, RequestKind, ServerConfig, Session, StorageError, StoreMode,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ascii::{FromWire, ToWire};
pub use crate::auth::User;
use crate::auth::{Access, Authenticator, Limits, Principal, UserList};
use crate::buffer::Buffer;
use crate::guard::{self, LoginGuard, LoginGuardOptions};
use crate::stats::Refusal;
use crate::storage::{
    FileSink, FileSource, Listing, LocalFs, Storage, WriteMode, format_listing, narrow_perms, now_timestamp,
};

mod atomic;
mod conn;
mod control;
mod decide;
mod lanes;
#[cfg(target_os = "linux")]
mod peer_read;
mod resumption;
mod sendfile;
mod socket;
mod splice;
mod transfer;
mod upload;

use atomic::Commit;
use conn::{Note, serve};
use control::{Control, DataTlsConfigs, conn_tls, timed_out};
use decide::decide;
pub use resumption::TlsResumption;
use resumption::{Resumption, Verdict};
use transfer::{Job, Progress, transfer, transfer_plain};

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
    /// Passive ports (inclusive). Each PASV/EPSV gets a port drawn at
    /// random from the range (SECURITY.md D3). `None`: drawn from
    /// 1024-65535, as pure-ftpd does, rather than left to the system, whose
    /// pick comes from its ephemeral range: every finished download leaves
    /// its port in TIME_WAIT for a minute (the server closes first to mark
    /// the end), so after some thousands of small files the system's search
    /// for a free port scanned past all of them (measured here at 1 ms of
    /// kernel time per PASV) and took the ports clients need to connect.
    pub passive_ports: Option<(u16, u16)>,
    /// Threads the sessions run on, each with a single-threaded runtime of
    /// its own; a session and every task it starts stay on one of them
    /// (see the `lanes` module: on a work-stealing runtime a session's
    /// tasks wake each other across threads, which cost a small-file
    /// download more than the download itself). `0` (the default): every
    /// session is a task of the runtime that runs [`Server::run`].
    pub session_threads: usize,
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
    /// Default 256; `0` is no limit (as vsftpd's `max_clients` and
    /// pyftpdlib's `max_cons`).
    pub max_sessions: usize,
    /// Most concurrent sessions from one IP address (IPv4-mapped IPv6
    /// counts as IPv4); more are refused with 421 (SECURITY.md C3). Default
    /// 16: twice Pure-FTPd's sample of 8, so that a client running parallel
    /// transfers (lftp `mirror --parallel`, FileZilla's up to 10) and a few
    /// users behind one NAT fit, while one host cannot take all of
    /// [`max_sessions`](Self::max_sessions). `0` is no limit (as vsftpd's
    /// `max_per_ip`).
    pub max_sessions_per_ip: usize,
    /// The anonymous users' own root (vsftpd's `anon_root`), served by a
    /// [`LocalFs`] of its own; `None`: the server's root. Named users get
    /// theirs from [`Principal::home`].
    pub anonymous_root: Option<std::path::PathBuf>,
    /// Rates and quota of anonymous users (their quota measured on their
    /// root, shared by all of them). [`Limits::max_sessions`] does not
    /// apply: anonymous logins are the session's own; bound them with
    /// [`max_sessions_per_ip`](Self::max_sessions_per_ip).
    pub anonymous_limits: Limits,
    /// An upload-only directory for anonymous users (a virtual path under
    /// their root, such as `/incoming`): they may upload new files into it
    /// even when read-only, never over an existing file, and may not
    /// download, list, rename or delete there, so what one drops no other
    /// anonymous user can fetch until an operator moves it out (vsftpd's
    /// `anon_upload_enable` with `chown_uploads`). `None` (the default):
    /// no such directory.
    pub anonymous_incoming: Option<String>,
    /// What happens to the part of a file an upload wrote when the upload
    /// fails (a full disk, a broken connection, a quota, ABOR): kept (the
    /// default, as vsftpd and proftpd; a client can resume it with `REST`)
    /// or removed (pure-ftpd's `--keepallfiles` off). Atomic uploads never
    /// leave one.
    pub remove_failed_uploads: bool,
    /// Implicit FTPS: the TLS handshake starts as soon as a connection is
    /// accepted, before the greeting (the `ftps://` scheme, port 990 by
    /// convention). Needs [`tls`](Self::tls); `AUTH` is then refused (503)
    /// and `CCC` is not available. A connection past the session limits is
    /// closed without a handshake (a 421 could only go through one).
    /// Default off.
    pub implicit_tls: bool,
    /// Atomic uploads: a `STOR` (not `APPE`, not a restarted `STOR`) is
    /// written to a hidden temporary file in the same directory and renamed
    /// over the target only once the upload completed, as pure-ftpd's
    /// no-truncate mode, so a reader never sees half a file and a failed
    /// upload never replaces a good one; the temporary file of a failed or
    /// aborted upload is removed (SECURITY.md X3). Default off (the file is
    /// written in place, as vsftpd and proftpd do).
    pub atomic_uploads: bool,
    /// Which TLS session a protected data connection may resume, when the
    /// session requires resumption ([`ServerConfig::require_tls_resumption`],
    /// on by default; SECURITY.md L6): the control connection's own
    /// (default), or one made for the same client address and user
    /// ([`TlsResumption::SameClient`], for rclone before 1.64).
    pub tls_resumption: TlsResumption,
    /// FTPS: the certificate and settings (enables `AUTH TLS`).
    pub tls: Option<Arc<crate::tls::ServerConfig>>,
    /// Failed logins counted per client address: pacing and bans
    /// (SECURITY.md A1, A2; see [`crate::guard`]). The pace is the
    /// session's [`ServerConfig::failed_login_delay`].
    pub login_guard: LoginGuardOptions,
    /// Load balancers trusted to send a PROXY protocol header (version 1
    /// or 2, HAProxy's `send-proxy` / `send-proxy-v2`; see [`crate::proxy`])
    /// at the start of each control connection. A connection from one of
    /// these networks must start with a header, within
    /// [`proxy::HEADER_TIMEOUT`](crate::proxy::HEADER_TIMEOUT), and the
    /// client address it carries is the session's peer for everything:
    /// per-address limits and bans, the PORT/EPRT bounce check (SECURITY.md
    /// D1, D2), the passive theft check (D3), the log. A connection from
    /// elsewhere that sends a header is answered 421 and closed
    /// (SECURITY.md C6). Empty (the default): the PROXY protocol is off.
    pub proxy_protocol_from: Vec<ipnet::IpNet>,
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
            .field("session_threads", &self.session_threads)
            .field("max_passive_per_ip", &self.max_passive_per_ip)
            .field("session", &self.session)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_ip", &self.max_sessions_per_ip)
            .field("anonymous_root", &self.anonymous_root)
            .field("anonymous_limits", &self.anonymous_limits)
            .field("anonymous_incoming", &self.anonymous_incoming)
            .field("remove_failed_uploads", &self.remove_failed_uploads)
            .field("implicit_tls", &self.implicit_tls)
            .field("atomic_uploads", &self.atomic_uploads)
            .field("tls_resumption", &self.tls_resumption)
            .field("tls", &self.tls.is_some())
            .field("login_guard", &self.login_guard)
            .field("proxy_protocol_from", &self.proxy_protocol_from)
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
            session_threads: 0,
            max_passive_per_ip: None,
            session: ServerConfig::default().anonymous(true),
            max_sessions: 256,
            max_sessions_per_ip: DEFAULT_MAX_SESSIONS_PER_IP,
            anonymous_root: None,
            anonymous_limits: Limits::default(),
            anonymous_incoming: None,
            remove_failed_uploads: false,
            implicit_tls: false,
            atomic_uploads: false,
            tls_resumption: TlsResumption::ControlSession,
            tls: None,
            storage: None,
            authenticator: None,
            login_guard: LoginGuardOptions::default(),
            proxy_protocol_from: Vec::new(),
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
    /// Who may log in; replaced by [`Reloader::set_authenticator`].
    auth: RwLock<Arc<dyn Authenticator>>,
    anonymous: Option<Access>,
    passive_ports: Option<(u16, u16)>,
    /// Draws of passive ports so far (the input of [`unpredictable`]).
    port_draws: AtomicU64,
    /// The effective [`ServerOptions::max_passive_per_ip`].
    max_passive_per_ip: usize,
    /// Passive listeners held, per client address.
    passive_per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// [`ServerOptions::max_sessions`], `usize::MAX` for none; replaced by
    /// [`Reloader::set_session_limits`].
    max_sessions: AtomicUsize,
    /// [`ServerOptions::max_sessions_per_ip`], the same way.
    max_sessions_per_ip: AtomicUsize,
    counts: Mutex<Counts>,
    /// Connection tasks alive (admitted or being refused).
    live: watch::Sender<usize>,
    phase: watch::Sender<Phase>,
    /// The certificate and settings; replaced by [`Reloader::set_tls`]
    /// (new connections get the new one).
    tls: RwLock<Option<Arc<crate::tls::ServerConfig>>>,
    implicit_tls: bool,
    /// Failed logins per client address (SECURITY.md A1, A2).
    guard: LoginGuard,
    /// [`ServerOptions::atomic_uploads`].
    atomic_uploads: bool,
    /// [`ServerOptions::remove_failed_uploads`].
    remove_failed_uploads: bool,
    /// [`ServerOptions::anonymous_root`] and
    /// [`ServerOptions::anonymous_limits`], given to every anonymous login.
    anonymous_root: Option<std::path::PathBuf>,
    anonymous_limits: Limits,
    /// [`ServerOptions::anonymous_incoming`], as a clean virtual path.
    anonymous_incoming: Option<ftp_session::server::VirtualPath>,
    /// Who may resume which TLS session ([`ServerOptions::tls_resumption`]).
    resumption: Arc<Resumption>,
    /// Control connections so far: the next one's id.
    next_conn: AtomicU64,
    /// What the server has done, counted ([`Server::stats`]).
    stats: Arc<crate::stats::Stats>,
    /// Sessions logged in per user with [`Limits::max_sessions`].
    user_sessions: Mutex<HashMap<ftp_proto::Username, usize>>,
    /// [`ServerOptions::proxy_protocol_from`].
    proxy_from: Vec<ipnet::IpNet>,
    /// Set by [`ShutdownHandle::drain`] before the server drains: the
    /// listening sockets close instead of answering 421.
    close_listeners: AtomicBool,
}

/// A session limit as stored: `0` (no limit) becomes `usize::MAX`.
fn limit(n: usize) -> usize {
    if n == 0 { usize::MAX } else { n }
}

impl Shared {
    /// Counts a new connection in, and says whether it is within the limits
    /// and its address is not banned.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Ticket {
        let ip = ip.to_canonical();
        self.live.send_modify(|n| *n += 1);
        if self.guard.is_banned(ip, Instant::now()) {
            return Ticket { shared: self.clone(), ip, refused: Some(Refusal::Banned) };
        }
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
        let refused = if counts.total >= self.max_sessions.load(Ordering::Relaxed) {
            Some(Refusal::MaxSessions)
        } else if from_ip >= self.max_sessions_per_ip.load(Ordering::Relaxed) {
            Some(Refusal::MaxSessionsPerIp)
        } else {
            counts.total += 1;
            *counts.per_ip.entry(ip).or_insert(0) += 1;
            None
        };
        Ticket { shared: self.clone(), ip, refused }
    }

    /// Whether a connection from `ip` comes from a trusted load balancer
    /// and must start with a PROXY header.
    fn trusts_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.proxy_from.iter().any(|net| net.contains(&ip))
    }

    /// The authenticator in force.
    fn auth(&self) -> Arc<dyn Authenticator> {
        self.auth.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The TLS configuration in force.
    fn tls(&self) -> Option<Arc<crate::tls::ServerConfig>> {
        self.tls.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// A connection's place in the counts, given back when its task ends.
struct Ticket {
    shared: Arc<Shared>,
    ip: IpAddr,
    /// Why the connection is refused before its greeting; `None`: admitted.
    refused: Option<Refusal>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.refused.is_none() {
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
    /// With lanes: one more listener on the same port per lane after the
    /// first (`SO_REUSEPORT`), so that each lane accepts its own sessions
    /// and a new session is never handed from thread to thread.
    more_listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
    /// [`ServerOptions::session_threads`], when not zero.
    lanes: Option<lanes::Lanes>,
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
                // Users with a home of their own, and quotas, in front of
                // the root (see `crate::homes`).
                let fs = LocalFs::new(&options.root)?;
                let root = fs.root().to_path_buf();
                let homes = crate::homes::Homes::new(Arc::new(fs), Some(root.clone()));
                (Arc::new(homes) as Arc<dyn Storage>, root)
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
        let lanes_wanted = options.session_threads;
        let listen_on = |addr: SocketAddr| -> io::Result<TcpListener> {
            let socket =
                if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
            socket.set_reuseaddr(true)?;
            if lanes_wanted > 1 {
                socket.set_reuseport(true)?;
            }
            socket.bind(addr)?;
            socket.listen(1024)
        };
        if lanes_wanted > 1 && options.listen.port() != 0 {
            // SO_REUSEPORT would let the lanes join another server's group
            // on this port, taking a share of its connections without a
            // word: a socket without it cannot bind where anyone listens,
            // so it finds out first.
            let probe = if options.listen.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            probe.set_reuseaddr(true)?;
            probe.bind(options.listen)?;
        }
        let listener = listen_on(options.listen)?;
        // The same port for every lane (port 0 picked one above).
        let bound = listener.local_addr()?;
        let more_listeners = (1..lanes_wanted).map(|_| listen_on(bound)).collect::<io::Result<Vec<_>>>()?;
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
        // Cleaned as the session cleans paths: relative to the root,
        // `..` cannot climb above it.
        let anonymous_incoming = options
            .anonymous_incoming
            .as_deref()
            .map(|dir| ftp_session::server::VirtualPath::root().join(dir.as_bytes()));
        let shared = Shared {
            config: Arc::new(session),
            storage,
            root,
            auth: RwLock::new(auth),
            anonymous,
            passive_ports: options.passive_ports,
            port_draws: AtomicU64::new(0),
            max_passive_per_ip: options
                .max_passive_per_ip
                .unwrap_or_else(|| default_passive_cap(options.passive_ports)),
            passive_per_ip: Mutex::new(HashMap::new()),
            max_sessions: AtomicUsize::new(limit(options.max_sessions)),
            max_sessions_per_ip: AtomicUsize::new(limit(options.max_sessions_per_ip)),
            counts: Mutex::new(Counts::default()),
            live: watch::Sender::new(0),
            phase: watch::Sender::new(Phase::Running),
            tls: RwLock::new(options.tls),
            implicit_tls: options.implicit_tls,
            guard: LoginGuard::new(options.login_guard, delay),
            atomic_uploads: options.atomic_uploads,
            remove_failed_uploads: options.remove_failed_uploads,
            anonymous_root: options.anonymous_root,
            anonymous_limits: options.anonymous_limits,
            anonymous_incoming,
            resumption: Arc::new(Resumption::new(options.tls_resumption)),
            next_conn: AtomicU64::new(1),
            stats: Arc::new(crate::stats::Stats::default()),
            user_sessions: Mutex::new(HashMap::new()),
            proxy_from: options.proxy_protocol_from,
            close_listeners: AtomicBool::new(false),
        };
        let lanes = match options.session_threads {
            0 => None,
            n => Some(lanes::Lanes::start(n, &shared.live)?),
        };
        Ok(Self { listener, more_listeners, shared: Arc::new(shared), lanes })
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

    /// The server's counters (sessions, logins, bytes, transfers,
    /// refusals), live: take a [`Snapshot`](crate::stats::Snapshot) of
    /// them whenever needed, from any thread.
    #[must_use]
    pub fn stats(&self) -> Arc<crate::stats::Stats> {
        self.shared.stats.clone()
    }

    /// A handle that changes the logins, the certificate and the session
    /// limits of the running server, for a configuration reload (`SIGHUP`).
    #[must_use]
    pub fn reloader(&self) -> Reloader {
        Reloader { shared: self.shared.clone() }
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
        let Self { listener, more_listeners, shared, lanes } = self;
        let Some(lanes) = lanes else {
            accept_loop(listener, shared).await;
            return Ok(());
        };
        // Each lane accepts on a listener of its own (the kernel spreads
        // connections over them); the sockets move to the lanes' reactors.
        for (i, listener) in std::iter::once(listener).chain(more_listeners).enumerate() {
            let listener = listener.into_std()?;
            let shared = shared.clone();
            drop(lanes.lane(i).spawn(async move {
                if let Ok(listener) = TcpListener::from_std(listener) {
                    accept_loop(listener, shared).await;
                }
            }));
        }
        let mut phase = shared.phase.subscribe();
        let _ = phase.wait_for(|p| *p == Phase::Stopping).await;
        drop(lanes);
        Ok(())
    }
}

/// Accepts and serves connections on `listener`, each session a task of
/// the runtime this runs on, until the server is stopping. While it
/// drains, connections are still accepted, and answered 421 (SECURITY.md
/// C5), unless [`ShutdownHandle::drain`] closed the listener: then it is
/// dropped as the drain starts and this waits for the stop. Failing
/// accepts (out of file descriptors, say) are retried after a pause, so a
/// burst does not end the server.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut phase = shared.phase.subscribe();
    let closing =
        |p: &Phase| *p == Phase::Stopping || (*p == Phase::Draining && shared.close_listeners.load(Ordering::SeqCst));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = phase.wait_for(closing) => break,
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
        // Synch, whose DM byte travels as TCP urgent data. Linux drops that
        // byte from the normal stream unless it is kept inline, and the
        // decoder would then see `IAC IP IAC ABOR`; inline, it sees the
        // whole `IAC IP IAC DM` and strips it (SECURITY.md T3).
        let _ = socket2::SockRef::from(&stream).set_out_of_band_inline(true);
        if shared.trusts_proxy(peer.ip()) {
            // The header is read in the connection's own task, so a slow
            // balancer never holds up the accepts.
            drop(tokio::spawn(serve_proxied(stream, peer, shared.clone())));
            continue;
        }
        let ticket = shared.admit(peer.ip());
        drop(tokio::spawn(async move {
            let shared = ticket.shared.clone();
            let _ = serve(stream, shared, ticket.refused, None).await;
            drop(ticket);
        }));
    }
    // Closed now: new connections are refused by the kernel (a balancer
    // moves on to another node) while the open sessions drain.
    drop(listener);
    let _ = phase.wait_for(|p| *p == Phase::Stopping).await;
}

/// Serves a connection from a trusted load balancer
/// ([`ServerOptions::proxy_protocol_from`]): its PROXY header first, then
/// the session of the client it names, admitted and served as that
/// client's. Without a valid header in time the connection is closed and
/// counted as refused (`proxy_protocol`).
async fn serve_proxied(mut stream: TcpStream, proxy: SocketAddr, shared: Arc<Shared>) {
    let client = match crate::proxy::read_header(&mut stream, crate::proxy::HEADER_TIMEOUT).await {
        Ok(source) => source.unwrap_or(proxy),
        Err(e) => {
            let session = shared.next_conn.fetch_add(1, Ordering::Relaxed);
            shared.stats.refused(Refusal::ProxyProtocol);
            tracing::info!(
                target: crate::events::CONNECTION,
                session,
                peer = %proxy,
                reason = Refusal::ProxyProtocol.as_str(),
                detail = e.as_str(),
                "refused"
            );
            return;
        }
    };
    let ticket = shared.admit(client.ip());
    let shared = ticket.shared.clone();
    let _ = serve(stream, shared, ticket.refused, Some(client)).await;
    drop(ticket);
}

/// Changes a running [`Server`]'s configuration without dropping a session
/// (`ftpkit serve` on `SIGHUP`): sessions already open keep what they
/// started with (a logged-in user stays logged in, a TLS session keeps its
/// certificate); new logins and new connections get the new settings.
/// Whether anonymous logins are accepted is fixed when the server starts.
#[derive(Clone)]
pub struct Reloader {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl Reloader {
    /// Who may log in, from the next `PASS` on.
    pub fn set_authenticator(&self, auth: Arc<dyn Authenticator>) {
        *self.shared.auth.write().unwrap_or_else(std::sync::PoisonError::into_inner) = auth;
    }

    /// The certificate and settings for new connections (a renewed
    /// certificate without a restart).
    ///
    /// # Errors
    /// The server was started without TLS (FTPS cannot be turned on by a
    /// reload: FEAT and the session configuration are fixed at start).
    pub fn set_tls(&self, tls: Arc<crate::tls::ServerConfig>) -> io::Result<()> {
        let mut current = self.shared.tls.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the server was started without TLS"));
        }
        *current = Some(tls);
        Ok(())
    }

    /// [`ServerOptions::max_sessions`] and
    /// [`ServerOptions::max_sessions_per_ip`] for new connections (`0`: no
    /// limit); sessions past the new limits are not closed.
    pub fn set_session_limits(&self, max_sessions: usize, max_sessions_per_ip: usize) {
        self.shared.max_sessions.store(limit(max_sessions), Ordering::Relaxed);
        self.shared.max_sessions_per_ip.store(limit(max_sessions_per_ip), Ordering::Relaxed);
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

    /// [`shutdown`](Self::shutdown) for a node behind a load balancer: the
    /// listening sockets are closed as the drain starts, so new
    /// connections are refused by the kernel instead of answered 421 (the
    /// balancer's health checks fail and a refused connect is retried on
    /// another node), while the sessions already open drain as with
    /// `shutdown`: idle ones get 421 at once, running transfers may finish
    /// within `grace`. Returns how many sessions `grace` cut.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.shared.close_listeners.store(true, Ordering::SeqCst);
        self.shutdown(grace).await
    }
}

/// Random ports tried in the passive range before scanning it.
const PASSIVE_DRAWS: u64 = 16;

/// Where passive ports are drawn from when no range is configured (see
/// [`ServerOptions::passive_ports`]).
const DEFAULT_PASSIVE_PORTS: (u16, u16) = (1024, 65535);

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
///
/// The listener is not yet watched by the runtime (see
/// [`conn::Conn::watch_listeners`]): the client's connection waits in the
/// kernel's queue until its command arrives.
async fn bind_passive(shared: &Shared, local_ip: IpAddr) -> io::Result<(std::net::TcpListener, SocketAddr)> {
    // SO_REUSEADDR, as `std`'s and tokio's binds set it; non-blocking from
    // the start (for tokio later), and the address known without asking
    // the socket unless the system picked the port: two system calls fewer
    // per passive transfer than `std`'s bind and `set_nonblocking`.
    let bind = |port: u16| -> io::Result<(std::net::TcpListener, SocketAddr)> {
        let addr = SocketAddr::new(local_ip, port);
        let kind = socket2::Type::STREAM.nonblocking().cloexec();
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), kind, Some(socket2::Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(128)?;
        let listener = std::net::TcpListener::from(socket);
        let addr = if port == 0 { listener.local_addr()? } else { addr };
        Ok((listener, addr))
    };
    let Some((low, high)) = shared.passive_ports else {
        // The default range: a few draws, then the system's pick (a scan
        // of 64,512 ports would take longer than that pick).
        let (low, high) = DEFAULT_PASSIVE_PORTS;
        let span = u64::from(high - low) + 1;
        for _ in 0..PASSIVE_DRAWS {
            let port = low + u16::try_from(unpredictable(&shared.port_draws) % span).unwrap_or(0);
            if let Ok(l) = bind(port) {
                return Ok(l);
            }
        }
        return bind(0);
    };
    let span = u64::from(high.saturating_sub(low)) + 1;
    // Below `span`, so the port stays within `low..=high`.
    let port = |n: u64| low + u16::try_from(n % span).unwrap_or(0);
    for _ in 0..PASSIVE_DRAWS.min(span) {
        let port = port(unpredictable(&shared.port_draws));
        if let Ok(l) = bind(port) {
            return Ok(l);
        }
    }
    let start = unpredictable(&shared.port_draws) % span;
    for i in 0..span {
        if let Ok(l) = bind(port(start + i)) {
            return Ok(l);
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, "no free passive port"))
}

/// Takes a connection waiting on a passive listener, non-blocking from the
/// start (one system call; `std`'s accept and `set_nonblocking` are two).
pub(super) fn accept_nonblocking(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    #[cfg(target_os = "linux")]
    {
        use rustix::net::SocketFlags;
        let (fd, peer) = rustix::net::acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
        let stream = std::net::TcpStream::from(fd);
        let peer = match peer.and_then(|p| SocketAddr::try_from(p).ok()) {
            Some(peer) => peer,
            None => stream.peer_addr()?,
        };
        Ok((stream, peer))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let (stream, peer) = listener.accept()?;
        stream.set_nonblocking(true)?;
        Ok((stream, peer))
    }
}
