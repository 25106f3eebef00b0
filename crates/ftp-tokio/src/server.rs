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
//! L6). Clearing TLS again (`CCC`, `REIN` on a protected connection) ends
//! the session for now.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, Event, Input, Output, RequestId, RequestKind,
    ServerConfig, Session, StorageError, StoreMode,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::storage::LocalFs;

/// A user who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name given to `USER`.
    pub name: String,
    /// The password given to `PASS`.
    pub password: String,
    /// Whether the user may upload, delete, rename and make directories.
    pub writable: bool,
}

/// What the server serves, to whom, and how.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The directory served.
    pub root: std::path::PathBuf,
    /// Accept `anonymous`/`ftp` with any password.
    pub anonymous: bool,
    /// Anonymous users may write (off by default, as vsftpd).
    pub anonymous_writable: bool,
    /// Named users.
    pub users: Vec<User>,
    /// Passive ports (inclusive); `None` lets the system pick.
    pub passive_ports: Option<(u16, u16)>,
    /// The session configuration (timeouts, passive address, limits).
    pub session: ServerConfig,
    /// Most concurrent sessions; more are refused with 421 (SECURITY.md C3).
    pub max_sessions: usize,
    /// FTPS: the certificate and settings (enables `AUTH TLS`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
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
            session: ServerConfig::default().anonymous(true),
            max_sessions: 256,
            tls: None,
        }
    }
}

struct Shared {
    config: Arc<ServerConfig>,
    fs: LocalFs,
    users: Vec<User>,
    anonymous_writable: bool,
    passive_ports: Option<(u16, u16)>,
    next_port: AtomicUsize,
    sessions: AtomicUsize,
    max_sessions: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
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
    /// The address cannot be bound or the root cannot be served.
    pub async fn bind(options: ServerOptions) -> io::Result<Self> {
        let fs = LocalFs::new(&options.root)?;
        let socket =
            if options.listen.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(options.listen)?;
        let listener = socket.listen(1024)?;
        let session = options.session.anonymous(options.anonymous).tls_available(options.tls.is_some());
        let shared = Shared {
            config: Arc::new(session),
            fs,
            users: options.users,
            anonymous_writable: options.anonymous_writable,
            passive_ports: options.passive_ports,
            next_port: AtomicUsize::new(0),
            sessions: AtomicUsize::new(0),
            max_sessions: options.max_sessions,
            tls: options.tls,
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

    /// The directory served (canonical).
    #[must_use]
    pub fn root(&self) -> &std::path::Path {
        self.shared.fs.root()
    }

    /// Accepts and serves connections until the task is dropped.
    ///
    /// # Errors
    /// Accepting failed for good.
    pub async fn run(self) -> io::Result<()> {
        loop {
            let (stream, _) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            };
            let _ = stream.set_nodelay(true);
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let _ = serve(stream, shared).await;
            });
        }
    }
}

/// What background tasks tell the connection task.
enum Note {
    Answer(RequestId, Answer, Option<Job>),
    Incoming(DataId, TcpStream, SocketAddr),
    Connected(DataId, io::Result<TcpStream>),
    Done(DataId, DataEvent),
}

/// The prepared source or sink of a transfer.
enum Job {
    Read(tokio::fs::File, bool),
    Write(tokio::fs::File, bool),
    Listing(Bytes),
}

struct DataSlot {
    listener: Option<JoinHandle<()>>,
    pending: Option<TcpStream>,
    stream: Option<TcpStream>,
    task: Option<JoinHandle<()>>,
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

/// The control connection, in plaintext or after `AUTH TLS`.
enum Control {
    Plain(tokio::net::tcp::OwnedReadHalf, tokio::net::tcp::OwnedWriteHalf),
    Tls(
        tokio::io::ReadHalf<tokio_rustls::server::TlsStream<TcpStream>>,
        tokio::io::WriteHalf<tokio_rustls::server::TlsStream<TcpStream>>,
    ),
    Closed,
}

impl Control {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(r, _) => r.read(buf).await,
            Self::Tls(r, _) => r.read(buf).await,
            Self::Closed => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(_, w) => w.write_all(bytes).await,
            Self::Tls(_, w) => {
                w.write_all(bytes).await?;
                w.flush().await
            }
            Self::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    async fn shutdown(&mut self) {
        match self {
            Self::Plain(_, w) => drop(w.shutdown().await),
            Self::Tls(_, w) => drop(w.shutdown().await),
            Self::Closed => {}
        }
    }

    /// RFC 4217 section 4: the handshake right after the 234 went out.
    async fn start_tls(&mut self, acceptor: &tokio_rustls::TlsAcceptor) -> io::Result<()> {
        let Self::Plain(r, w) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let tcp = r.reunite(w).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let tls = tokio::time::timeout(Duration::from_secs(30), acceptor.accept(tcp))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let (r, w) = tokio::io::split(tls);
        *self = Self::Tls(r, w);
        Ok(())
    }
}

struct Conn {
    shared: Arc<Shared>,
    /// This control connection's TLS settings, with its own resumption store.
    tls: Option<tokio_rustls::TlsAcceptor>,
    local_ip: IpAddr,
    tx: mpsc::UnboundedSender<Note>,
    data: HashMap<DataId, DataSlot>,
    jobs: HashMap<RequestId, Job>,
    writable: bool,
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let count = shared.sessions.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = SessionGuard(shared.clone());
    let conn_info = Connection::new(peer, local);
    let mut session = if count > shared.max_sessions {
        Session::refuse(shared.config.clone(), conn_info, Instant::now())
    } else {
        Session::new(shared.config.clone(), conn_info, Instant::now())
    };
    let (rd, wr) = stream.into_split();
    let mut control = Control::Plain(rd, wr);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tls = conn_tls(&shared);
    let mut conn =
        Conn { shared, tls, local_ip: local.ip(), tx, data: HashMap::new(), jobs: HashMap::new(), writable: false };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Carry out everything the session wants, in order.
        let deadline = loop {
            match session.poll_output() {
                Output::Transmit(bytes) => control.write_all(&bytes).await?,
                Output::Data(action) => conn.act(&mut session, action).await,
                Output::Request(req) => conn.request(req.id, req.kind),
                Output::Event(Event::LoggedIn { user, anonymous }) => {
                    conn.writable = if anonymous {
                        conn.shared.anonymous_writable
                    } else {
                        conn.shared.users.iter().any(|u| u.name.as_bytes() == user.as_bytes() && u.writable)
                    };
                }
                Output::StartTls => {
                    let Some(acceptor) = conn.tls.clone() else { return Ok(()) };
                    control.start_tls(&acceptor).await?;
                    let _ = session.handle_input(Instant::now(), Input::TlsEstablished);
                }
                Output::StopTls | Output::Close => {
                    control.shutdown().await;
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
                let _ = match read {
                    Ok(0) | Err(_) => session.handle_input(now, Input::ControlEof),
                    Ok(n) => session.handle_input(now, Input::Control(&buf[..n])),
                };
            }
            Some(note) = rx.recv() => conn.note(&mut session, note),
            () = sleep => { let _ = session.handle_input(Instant::now(), Input::Timeout); }
        }
    }
}

fn conn_tls(shared: &Shared) -> Option<tokio_rustls::TlsAcceptor> {
    shared.tls.as_ref().map(|base| tokio_rustls::TlsAcceptor::from(crate::tls::per_session(base)))
}

/// Counts sessions down when a connection task ends.
struct SessionGuard(Arc<Shared>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Conn {
    async fn bind_passive(&self) -> io::Result<TcpListener> {
        let Some((low, high)) = self.shared.passive_ports else {
            return TcpListener::bind(SocketAddr::new(self.local_ip, 0)).await;
        };
        let span = usize::from(high.saturating_sub(low)) + 1;
        for _ in 0..span.min(64) {
            let i = self.shared.next_port.fetch_add(7919, Ordering::Relaxed) % span;
            let port = low + i as u16;
            if let Ok(l) = TcpListener::bind(SocketAddr::new(self.local_ip, port)).await {
                return Ok(l);
            }
        }
        Err(io::Error::new(io::ErrorKind::AddrInUse, "no free passive port"))
    }

    async fn act(&mut self, session: &mut Session, action: DataAction) {
        match action {
            DataAction::Listen { id, .. } => match self.bind_passive().await {
                Ok(listener) => {
                    let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::new(self.local_ip, 0));
                    let tx = self.tx.clone();
                    let task = tokio::spawn(async move {
                        while let Ok((stream, peer)) = listener.accept().await {
                            if tx.send(Note::Incoming(id, stream, peer)).is_err() {
                                break;
                            }
                        }
                    });
                    self.data.insert(id, DataSlot { listener: Some(task), pending: None, stream: None, task: None });
                    let _ = session.handle_input(Instant::now(), Input::Data(id, DataEvent::Listening { addr }));
                }
                Err(_) => {
                    let _ = session.handle_input(Instant::now(), Input::Data(id, DataEvent::ListenFailed));
                }
            },
            DataAction::Accept { id } => {
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.stream = slot.pending.take();
                }
            }
            DataAction::Reject { id, .. } => {
                if let Some(slot) = self.data.get_mut(&id) {
                    slot.pending = None;
                }
            }
            DataAction::Connect { id, addr } => {
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
                self.data.insert(id, DataSlot { listener: None, pending: None, stream: None, task: Some(task) });
            }
            DataAction::Transfer { id, request, tls, .. } => {
                let stream = self.data.get_mut(&id).and_then(|s| s.stream.take());
                let job = self.jobs.remove(&request);
                let tx = self.tx.clone();
                let (Some(stream), Some(job)) = (stream, job) else {
                    let failed = DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost };
                    let _ = session.handle_input(Instant::now(), Input::Data(id, failed));
                    return;
                };
                let acceptor = if tls.required { self.tls.clone() } else { None };
                let must_resume = tls.must_resume_control_session;
                let task = tokio::spawn(async move {
                    let event = match acceptor {
                        None => transfer(stream, job, false).await,
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Err(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::TlsFailed },
                            Ok(tls)
                                if must_resume
                                    && tls.get_ref().1.handshake_kind() != Some(rustls::HandshakeKind::Resumed) =>
                            {
                                DataEvent::Failed { bytes: 0, reason: DataFailure::TlsNotResumed }
                            }
                            Ok(tls) => transfer(tls, job, true).await,
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
            }
            _ => {}
        }
    }

    fn note(&mut self, session: &mut Session, note: Note) {
        let now = Instant::now();
        match note {
            Note::Answer(id, answer, job) => {
                if let Some(job) = job {
                    self.jobs.insert(id, job);
                }
                let _ = session.answer(now, id, answer);
            }
            Note::Incoming(id, stream, peer) => {
                if let Some(slot) = self.data.get_mut(&id) {
                    let _ = stream.set_nodelay(true);
                    slot.pending = Some(stream);
                    let _ = session.handle_input(now, Input::Data(id, DataEvent::Incoming { peer }));
                }
            }
            Note::Connected(id, result) => {
                let Some(slot) = self.data.get_mut(&id) else { return };
                let event = match result {
                    Ok(stream) => {
                        slot.stream = Some(stream);
                        DataEvent::Connected
                    }
                    Err(_) => DataEvent::ConnectFailed,
                };
                let _ = session.handle_input(now, Input::Data(id, event));
            }
            Note::Done(id, event) => {
                let _ = session.handle_input(now, Input::Data(id, event));
            }
        }
    }

    /// Answers a request from the storage, in the background.
    fn request(&mut self, id: RequestId, kind: RequestKind) {
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        let writable = self.writable;
        tokio::spawn(async move {
            let (answer, job) = decide(&shared, writable, kind).await;
            let _ = tx.send(Note::Answer(id, answer, job));
        });
    }
}

fn failed(e: StorageError) -> (Answer, Option<Job>) {
    (Answer::Failed(e), None)
}

/// The storage's answer to one request.
async fn decide(shared: &Shared, writable: bool, kind: RequestKind) -> (Answer, Option<Job>) {
    let fs = &shared.fs;
    let write_op = matches!(
        kind,
        RequestKind::Store { .. }
            | RequestKind::Delete { .. }
            | RequestKind::MakeDir { .. }
            | RequestKind::RemoveDir { .. }
            | RequestKind::Rename { .. }
    );
    if write_op && !writable {
        return failed(StorageError::PermissionDenied);
    }
    let done = |r: Result<(), StorageError>| match r {
        Ok(()) => (Answer::Done, None),
        Err(e) => failed(e),
    };
    match kind {
        RequestKind::Login { user, password } => {
            let ok = shared.users.iter().any(|u| {
                u.name.as_bytes() == user.as_bytes()
                    && constant_time_eq(u.password.as_bytes(), password.expose().as_bytes())
            });
            (if ok { Answer::LoggedIn } else { Answer::LoginDenied }, None)
        }
        RequestKind::ChangeDir { path } => done(fs.change_dir(&path).await),
        RequestKind::List { path, format, all } => match format {
            ftp_session::server::ListFormat::Stat => match fs.entries(&path, all).await {
                Ok(entries) => {
                    let now = Timestamp::from_unix_seconds(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0),
                    )
                    .unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"));
                    (Answer::Entries { entries, now }, None)
                }
                Err(e) => failed(e),
            },
            format => match fs.listing(&path, format, all).await {
                Ok(bytes) => (Answer::Ready, Some(Job::Listing(bytes))),
                Err(e) => failed(e),
            },
        },
        RequestKind::Retrieve { path, offset, ascii } => match fs.open_read(&path, offset).await {
            Ok(file) => (Answer::Ready, Some(Job::Read(file, ascii))),
            Err(e) => failed(e),
        },
        RequestKind::Store { path, mode, offset, ascii } => {
            let target = if mode == StoreMode::Unique { unique_name(fs, &path).await } else { Some(path.clone()) };
            let Some(target) = target else { return failed(StorageError::NameNotAllowed) };
            match fs.open_write(&target, mode == StoreMode::Append, offset).await {
                Ok(file) if mode == StoreMode::Unique => {
                    let name = ftp_proto::Pathname::try_from(Bytes::copy_from_slice(target.file_name()));
                    match name {
                        Ok(name) => (Answer::StoredAs(name), Some(Job::Write(file, ascii))),
                        Err(_) => failed(StorageError::NameNotAllowed),
                    }
                }
                Ok(file) => (Answer::Ready, Some(Job::Write(file, ascii))),
                Err(e) => failed(e),
            }
        }
        RequestKind::Delete { path } => done(fs.delete(&path).await),
        RequestKind::MakeDir { path } => done(fs.make_dir(&path).await),
        RequestKind::RemoveDir { path } => done(fs.remove_dir(&path).await),
        RequestKind::Rename { from, to } => done(fs.rename(&from, &to).await),
        RequestKind::Size { path } => match fs.size(&path).await {
            Ok(n) => (Answer::Size(n), None),
            Err(e) => failed(e),
        },
        RequestKind::ModTime { path } => match fs.modified(&path).await {
            Ok(t) => (Answer::ModTime(t), None),
            Err(e) => failed(e),
        },
        RequestKind::Facts { path } => match fs.entries(&path, true).await {
            Ok(mut entries) if path.is_root() || entries.len() == 1 => {
                entries.truncate(1);
                let now = Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid");
                (Answer::Entries { entries, now }, None)
            }
            Ok(_) => failed(StorageError::NotFound),
            Err(e) => failed(e),
        },
        _ => failed(StorageError::NotSupported),
    }
}

use ftp_proto::Timestamp;

/// A name for STOU that does not exist yet: the hint, then `hint.1`, `hint.2`...
async fn unique_name(
    fs: &LocalFs,
    hint: &ftp_session::server::VirtualPath,
) -> Option<ftp_session::server::VirtualPath> {
    for i in 0..1000u32 {
        let candidate = if i == 0 {
            hint.clone()
        } else {
            let mut name = hint.file_name().to_vec();
            name.extend_from_slice(format!(".{i}").as_bytes());
            hint.parent().join(&name)
        };
        let full = fs.resolve(&candidate).ok()?;
        if tokio::fs::symlink_metadata(&full).await.is_err() {
            return Some(candidate);
        }
    }
    None
}

/// Compares secrets without stopping at the first difference (SECURITY.md A4).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Buffer for file transfers: large, as DESIGN.md's driver notes measured.
const TRANSFER_BUFFER: usize = 1 << 20;

/// Moves one transfer's bytes and reports how it ended. Under TLS a peer
/// that closes without close_notify is taken as a normal end of an upload,
/// as vsftpd does by default (`strict_ssl_read_eof=NO`; SECURITY.md L7).
async fn transfer<S>(mut stream: S, job: Job, tls: bool) -> DataEvent
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let result = match job {
        Job::Listing(bytes) => stream.write_all(&bytes).await.map(|()| bytes.len() as u64),
        Job::Read(file, ascii) => copy(file, &mut stream, if ascii { Ascii::ToWire } else { Ascii::Off }, false).await,
        Job::Write(mut file, ascii) => {
            let r = copy(&mut stream, &mut file, if ascii { Ascii::FromWire } else { Ascii::Off }, tls).await;
            match r {
                Ok(n) => file.flush().await.map(|()| n),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(bytes) => {
            let _ = stream.shutdown().await;
            DataEvent::Finished { bytes }
        }
        Err(e) => DataEvent::Failed {
            bytes: 0,
            reason: if e.kind() == io::ErrorKind::Other { DataFailure::Storage } else { DataFailure::ConnectionLost },
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ascii {
    Off,
    /// LF to CRLF (TYPE A downloads, RFC 959 3.1.1.1).
    ToWire,
    /// CRLF to LF (TYPE A uploads).
    FromWire,
}

/// Copies with a large buffer; converts line ends only in TYPE A.
async fn copy<R, W>(mut from: R, to: &mut W, ascii: Ascii, eof_without_notify: bool) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; TRANSFER_BUFFER];
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut last_cr = false;
    loop {
        let n = match from.read(&mut buf).await {
            Err(e) if eof_without_notify && e.kind() == io::ErrorKind::UnexpectedEof => 0,
            r => r?,
        };
        if n == 0 {
            if last_cr {
                to.write_all(b"\r").await?;
            }
            return Ok(total);
        }
        total += n as u64;
        match ascii {
            Ascii::Off => to.write_all(&buf[..n]).await?,
            Ascii::ToWire => {
                out.clear();
                for &b in &buf[..n] {
                    if b == b'\n' && !last_cr {
                        out.push(b'\r');
                    }
                    last_cr = b == b'\r';
                    out.push(b);
                }
                to.write_all(&out).await?;
            }
            Ascii::FromWire => {
                out.clear();
                for &b in &buf[..n] {
                    if last_cr && b != b'\n' {
                        out.push(b'\r');
                    }
                    last_cr = b == b'\r';
                    if !last_cr {
                        out.push(b);
                    }
                }
                to.write_all(&out).await?;
            }
        }
    }
}
