//! The server role: one [`Session`] per control connection.
//!
//! # Driving a session
//!
//! The caller owns the sockets, the TLS library, the storage and the clock.
//! It feeds what happens into the session and then drains the session's
//! outputs until [`Output::Wait`]:
//!
//! 1. [`Session::new`] queues the 220 greeting.
//! 2. Bytes read from the control connection: [`Input::Control`].
//! 3. Data-connection events (listener bound, connection arrived, transfer
//!    finished...): [`Input::Data`].
//! 4. Requests ([`Output::Request`]): answer with [`Session::answer`], now or
//!    later.
//! 5. Time: when the instant of the last [`Output::Wait`] has passed, feed
//!    [`Input::Timeout`]. Early or spurious timeouts are harmless.
//!
//! After every input or answer, drain [`Session::poll_output`] until it
//! returns [`Output::Wait`]; outputs are ordered: write reply bytes and carry
//! out actions in the order they come (a 150 goes out before its data
//! connection is used, a 226 only after the transfer ended).
//!
//! # States
//!
//! | State | Entered by | Commands | Left by |
//! |---|---|---|---|
//! | greeted | connect, REIN, AUTH | pre-login allow-list (S1), else 530 | USER |
//! | awaiting PASS | USER | PASS (or any allow-listed command) | PASS: request `Login` |
//! | awaiting ACCT | `Answer::NeedAccount` | ACCT | ACCT: request `Account` |
//! | logged in | `Answer::LoggedIn` | all | USER (new login, A5), REIN |
//!
//! Orthogonal to login, the session is *idle*, *waiting for an answer*,
//! *waiting for a listener*, *transferring*, *holding a failed login's
//! reply* (A1), or *handing the control connection to TLS* (AUTH). While not
//! idle, commands are read and queued (up to a limit, then reading stops,
//! C4) and answered in order afterwards; `ABOR`, `STAT` and `QUIT` act at
//! once during a transfer (RFC 959 4.1.3, SECURITY.md X2), and `REIN` gets
//! its 120 at once and takes effect after the transfer.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use ftp_session::server::{Answer, Input, Output, RequestKind, ServerConfig, Session, Connection};
//!
//! let now = Instant::now();
//! let config = Arc::new(ServerConfig::default());
//! let conn = Connection::new("127.0.0.1:50000".parse().unwrap(), "127.0.0.1:21".parse().unwrap());
//! let mut session = Session::new(config, conn, now);
//!
//! // Drain: the greeting, then a Wait.
//! let mut sent = Vec::new();
//! let mut drain = |s: &mut Session, sent: &mut Vec<u8>| {
//!     let mut requests = Vec::new();
//!     loop {
//!         match s.poll_output() {
//!             Output::Transmit(bytes) => sent.extend_from_slice(&bytes),
//!             Output::Request(r) => requests.push(r),
//!             Output::Wait(_) => return requests,
//!             _ => {}
//!         }
//!     }
//! };
//! drain(&mut session, &mut sent);
//! assert!(sent.starts_with(b"220 "));
//!
//! session.handle_input(now, Input::Control(b"USER alice\r\nPASS secret\r\n")).unwrap();
//! let requests = drain(&mut session, &mut sent);
//! assert!(matches!(requests[0].kind, RequestKind::Login { .. }));
//! session.answer(now, requests[0].id, Answer::LoggedIn).unwrap();
//! drain(&mut session, &mut sent);
//! assert!(sent.ends_with(b"230 Login successful.\r\n"));
//! ```

mod capabilities;
mod config;
mod data;
mod path;
mod request;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ftp_proto::{
    Command, CommandDecoder, CommandKind, DecodeError, EpsvArg, NetProto, Pathname, ProtectionLevel, Reply, ReplyCode,
    Structure, Text, TransferMode, TransferType, Username,
};

pub use capabilities::StorageCapabilities;
pub use config::{DEFAULT_DATA_STALL_TIMEOUT, ServerConfig};
pub use data::{DataAction, DataEvent, DataFailure, DataId, DataTls, Direction};
pub use path::VirtualPath;
pub use request::{Answer, ListFormat, Request, RequestId, RequestKind, StorageError, StoreMode};

use crate::Misuse;

/// The two ends of the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The client's address: PORT/EPRT targets and passive data connections
    /// must come from its IP (RFC 2577).
    pub peer: SocketAddr,
    /// The server's address the client connected to.
    pub local: SocketAddr,
}

impl Connection {
    /// Both ends of a control connection.
    #[must_use]
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        Self { peer, local }
    }
}

/// Something that happened to the session, for the caller's logs and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A `PASS` was refused (bad password, unknown user, or the anonymous
    /// account while it is off). The 530 follows after the failed-login
    /// delay; the driver counts these per client address (SECURITY.md A1,
    /// A2) and logs them.
    LoginFailed {
        /// The user name given to `USER`.
        user: Username,
        /// Failures in this session so far, this one included.
        failures: u32,
    },
    /// A user logged in.
    LoggedIn {
        /// The user name.
        user: Username,
        /// Logged in through the anonymous account.
        anonymous: bool,
    },
    /// A request was cancelled (ABOR, connection end): do not answer it.
    RequestCancelled(RequestId),
    /// A transfer completed.
    TransferCompleted {
        /// The request it served.
        request: RequestId,
        /// Bytes moved.
        bytes: u64,
    },
    /// An upload ended early (ABOR, broken connection, timeout, truncation):
    /// never answered 226. Apply the upload policy (keep, delete, or discard
    /// a temporary file) to `path` (SECURITY.md X3).
    UploadIncomplete {
        /// The file.
        path: VirtualPath,
        /// Bytes received.
        bytes: u64,
    },
    /// A protected upload was accepted (226) although its data connection
    /// ended without a TLS close_notify: it may be truncated (SECURITY.md
    /// L7). Log it; compare sizes if the file matters.
    UploadPossiblyTruncated {
        /// The file.
        path: VirtualPath,
        /// Bytes received.
        bytes: u64,
    },
    /// A passive data connection from a foreign address was refused (D3).
    ForeignDataConnection {
        /// Who tried.
        peer: SocketAddr,
    },
    /// The session ended; [`Output::Close`] follows.
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The client closed the control connection.
    PeerEof,
    /// No command within the idle timeout (C1).
    IdleTimeout,
    /// Not logged in within the login timeout (C1).
    LoginTimeout,
    /// Too many protocol errors (S4).
    TooManyErrors,
    /// Too many failed logins (A1).
    TooManyLoginFailures,
    /// The first bytes were an HTTP request (S3).
    HttpRequest,
    /// The server refused the session before the greeting (C3).
    Refused,
    /// The server is shutting down (C5).
    Shutdown,
}

/// Input for [`Session::handle_input`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Bytes read from the control connection (plaintext, after TLS).
    Control(&'a [u8]),
    /// The control connection reached end of file.
    ControlEof,
    /// The TLS handshake asked for by [`Output::StartTls`] completed.
    TlsEstablished,
    /// A deadline reported by [`Output::Wait`] may have passed.
    Timeout,
    /// Something happened on a data connection.
    Data(DataId, DataEvent),
    /// The server is shutting down: 421 and close (C5).
    Shutdown,
}

/// What the session wants done, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "outputs must be carried out in order"]
pub enum Output {
    /// Write these reply bytes to the control connection.
    Transmit(Bytes),
    /// Act on a data connection.
    Data(DataAction),
    /// Run the TLS handshake on the control connection now (after writing
    /// everything transmitted before). Then feed [`Input::TlsEstablished`].
    StartTls,
    /// Send TLS close_notify and continue in plaintext (CCC, REIN).
    StopTls,
    /// The application must decide something.
    Request(Request),
    /// For the caller's information.
    Event(Event),
    /// Close the control connection after writing what was transmitted.
    Close,
    /// Nothing more to do until input arrives or this instant passes.
    Wait(Option<Instant>),
}

/// The server's side of one control connection. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    config: Arc<ServerConfig>,
    conn: Connection,
    decoder: CommandDecoder,
    input: BytesMut,
    out: VecDeque<Output>,
    queued: VecDeque<Result<Command, DecodeError>>,
    login: Login,
    cwd: VirtualPath,
    params: Params,
    tls: Tls,
    data: DataSetup,
    busy: Busy,
    after_transfer: AfterTransfer,
    next_id: u64,
    errors_in_row: u32,
    errors_total: u32,
    login_failures: u32,
    /// Every `PASS` reply is held for the failed-login delay, a correct
    /// password's too: set after a failure here, or by the driver through
    /// [`Session::hold_logins`] when the client's address failed elsewhere
    /// (SECURITY.md A1, A2).
    logins_held: bool,
    last_activity: Instant,
    login_deadline: Option<Instant>,
    data_deadline: Option<Instant>,
    /// [`Session::shut_down`] was called: close once the transfer ends.
    shutting_down: bool,
    closed: bool,
}

/// Login progress (RFC 959 4.1.1, 5.4 state diagram for USER/PASS/ACCT).
#[derive(Debug, Clone)]
enum Login {
    Greeted,
    AwaitPass { user: Username },
    AwaitAcct { user: Username },
    LoggedIn { anonymous: bool },
}

/// Transfer parameters and one-shot markers; all reset by REIN and AUTH.
#[derive(Debug, Clone, Default)]
struct Params {
    ascii: bool,
    /// The MLST facts chosen with `OPTS MLST` (bits of [`MLST_FACTS`]).
    mlst_facts: u8,
    rest: Option<u64>,
    rename_from: Option<VirtualPath>,
    epsv_all: bool,
}

impl Params {
    fn new() -> Self {
        Self { ascii: true, mlst_facts: u8::MAX, ..Self::default() }
    }

    /// The facts to write in MLST/MLSD lines, in RFC 3659 7.8's order.
    fn facts(&self) -> Vec<&'static str> {
        MLST_FACTS.iter().enumerate().filter(|(i, _)| self.mlst_facts & (1 << i) != 0).map(|(_, f)| *f).collect()
    }
}

/// The control connection's protection (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Plain,
    /// TLS through AUTH; `pbsz` once PBSZ was accepted; `prot` the data level.
    Explicit {
        pbsz: bool,
        prot: ProtectionLevel,
    },
    /// TLS from the first byte.
    Implicit {
        pbsz: bool,
        prot: ProtectionLevel,
    },
    /// TLS through AUTH, then cleared with CCC: the control connection is
    /// plaintext again, while the data protection chosen with PROT stays
    /// in force (RFC 4217 section 6: CCC concerns the control connection
    /// only; clearing it is for firewalls that must read PORT and PASV).
    Cleared {
        pbsz: bool,
        prot: ProtectionLevel,
    },
}

impl Tls {
    /// Whether the control connection runs in TLS now.
    fn secured(self) -> bool {
        matches!(self, Self::Explicit { .. } | Self::Implicit { .. })
    }
    fn prot(self) -> ProtectionLevel {
        match self {
            Self::Plain => ProtectionLevel::Clear,
            Self::Explicit { prot, .. } | Self::Implicit { prot, .. } | Self::Cleared { prot, .. } => prot,
        }
    }
    fn pbsz(self) -> bool {
        match self {
            Self::Plain => false,
            Self::Explicit { pbsz, .. } | Self::Implicit { pbsz, .. } | Self::Cleared { pbsz, .. } => pbsz,
        }
    }
    fn with(self, pbsz: bool, prot: ProtectionLevel) -> Self {
        match self {
            Self::Plain => Self::Plain,
            Self::Explicit { .. } => Self::Explicit { pbsz, prot },
            Self::Implicit { .. } => Self::Implicit { pbsz, prot },
            Self::Cleared { .. } => Self::Cleared { pbsz, prot },
        }
    }
}

/// The negotiated data connection, if any (one setup serves one transfer, D6).
#[derive(Debug, Clone)]
enum DataSetup {
    None,
    /// Listener requested; waiting for its address.
    Binding {
        id: DataId,
        extended: bool,
    },
    /// Listening; `peer` once a connection was accepted.
    Passive {
        id: DataId,
        peer: Option<SocketAddr>,
    },
    /// PORT/EPRT target.
    Active {
        id: DataId,
        addr: SocketAddr,
    },
}

impl DataSetup {
    fn id(&self) -> Option<DataId> {
        match self {
            Self::None => None,
            Self::Binding { id, .. } | Self::Passive { id, .. } | Self::Active { id, .. } => Some(*id),
        }
    }
}

/// What the session is doing besides reading commands.
#[derive(Debug, Clone)]
enum Busy {
    Idle,
    /// Waiting for [`Session::answer`].
    Request {
        id: RequestId,
        pending: Pending,
    },
    /// Waiting for the listener's address (PASV/EPSV).
    Binding,
    Transfer(Transfer),
    /// A login's reply is held until `until` (A1): a failed one always, a
    /// successful one after a failure (so that how fast PASS is answered
    /// tells nothing about the password).
    Penalty {
        until: Instant,
        outcome: Held,
    },
    /// AUTH accepted; the caller runs the handshake.
    Handshake,
}

/// The outcome of a login whose reply is held back (SECURITY.md A1).
#[derive(Debug, Clone)]
enum Held {
    /// 530, then 421 and close when `close`.
    Failed { close: bool },
    /// 230 and [`Event::LoggedIn`].
    LoggedIn { user: Username, anonymous: bool },
}

/// What to do with the answer to a request.
#[derive(Debug, Clone)]
enum Pending {
    Login {
        user: Username,
        anonymous: bool,
    },
    ChangeDir(VirtualPath),
    MakeDir(VirtualPath),
    /// Success is `250 <text>`.
    Simple(&'static str),
    Size,
    ModTime,
    SetModTime {
        time: ftp_proto::Timestamp,
        path: VirtualPath,
    },
    Facts(VirtualPath),
    StatList(VirtualPath),
    Site,
    Transfer(Plan),
}

/// A transfer command waiting for its storage answer.
#[derive(Debug, Clone)]
struct Plan {
    direction: Direction,
    /// For uploads: the path reported on an incomplete upload.
    path: VirtualPath,
    label: &'static str,
}

#[derive(Debug, Clone)]
struct Transfer {
    id: DataId,
    request: RequestId,
    plan: Plan,
    phase: Phase,
    bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// 150 sent; waiting for the passive connection or the active connect.
    Connecting,
    /// Bytes are moving.
    Running,
}

/// What QUIT or REIN received during a transfer asks for once it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterTransfer {
    Nothing,
    Quit,
    Rein,
}

/// The MLST facts the server offers (FEAT) and writes for
/// [`Answer::Entries`].
const MLST_FACTS: [&str; 5] = ["type", "size", "modify", "perm", "unique"];

/// Longest virtual path the session resolves (working directory plus
/// argument), well under the 4096-byte line limit of a 257 reply.
pub const MAX_VIRTUAL_PATH: usize = 1024;

/// Data-setup and parameter commands between `REST` and the transfer
/// command leave the restart marker in place (the verb table's `rest`).
fn keeps_restart_marker(cmd: &Command) -> bool {
    cmd.kind().is_some_and(CommandKind::keeps_restart_marker)
}

/// The commands allowed before login (SECURITY.md S1; the verb table's
/// `login`).
fn allowed_before_login(cmd: &Command) -> bool {
    cmd.kind().is_some_and(CommandKind::allowed_before_login)
}

/// Compares addresses as the same host, treating `::ffff:a.b.c.d` as
/// `a.b.c.d` (SECURITY.md D2).
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn is_anonymous_user(user: &Username) -> bool {
    let b = user.as_bytes();
    b.eq_ignore_ascii_case(b"anonymous") || b.eq_ignore_ascii_case(b"ftp")
}

impl Session {
    /// A session for a new control connection; queues the 220 greeting
    /// (RFC 959 5.4: "Connection Establishment: 220").
    #[must_use]
    pub fn new(config: Arc<ServerConfig>, conn: Connection, now: Instant) -> Self {
        let mut s = Self::blank(config, conn, now);
        let greeting = Reply::new(ReplyCode::SERVICE_READY, s.config.greeting.clone());
        s.send(greeting);
        s
    }

    /// The facts `MLST` and `MLSD` lines carry: all of RFC 3659 7.8's
    /// until `OPTS MLST` chooses (RFC 3659 7.9). The driver writes `MLSD`
    /// listings with these.
    #[must_use]
    pub fn mlst_facts(&self) -> Vec<&'static str> {
        self.params.facts()
    }

    /// A session the server refuses before the greeting, over capacity or
    /// shutting down: `421` and close (RFC 959 5.4, SECURITY.md C3, C5).
    #[must_use]
    pub fn refuse(config: Arc<ServerConfig>, conn: Connection, now: Instant) -> Self {
        let mut s = Self::blank(config, conn, now);
        s.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Too many users or server shutting down.", CloseReason::Refused);
        s
    }

    /// A session refused before the greeting for another reason, given as
    /// the 421's text (a client address banned for failed logins,
    /// SECURITY.md A2).
    #[must_use]
    pub fn refuse_with(config: Arc<ServerConfig>, conn: Connection, now: Instant, text: &'static str) -> Self {
        let mut s = Self::blank(config, conn, now);
        s.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, text, CloseReason::Refused);
        s
    }

    fn blank(config: Arc<ServerConfig>, conn: Connection, now: Instant) -> Self {
        let tls =
            if config.implicit_tls { Tls::Implicit { pbsz: false, prot: ProtectionLevel::Clear } } else { Tls::Plain };
        Self {
            decoder: CommandDecoder::new(config.parse_options.clone()),
            login_deadline: Some(now + config.login_timeout),
            config,
            conn,
            input: BytesMut::new(),
            out: VecDeque::new(),
            queued: VecDeque::new(),
            login: Login::Greeted,
            cwd: VirtualPath::root(),
            params: Params::new(),
            tls,
            data: DataSetup::None,
            busy: Busy::Idle,
            after_transfer: AfterTransfer::Nothing,
            next_id: 0,
            errors_in_row: 0,
            errors_total: 0,
            login_failures: 0,
            logins_held: false,
            last_activity: now,
            data_deadline: None,
            shutting_down: false,
            closed: false,
        }
    }

    /// The virtual working directory.
    #[must_use]
    pub fn cwd(&self) -> &VirtualPath {
        &self.cwd
    }

    /// From now on, hold every `PASS` reply of this session for the
    /// failed-login delay, a correct password's included. The driver calls
    /// it when the client's address has failed to log in recently, in this
    /// session or another (SECURITY.md A2): without it, a client guessing
    /// over many connections learns that a password is wrong from the 530
    /// not coming at once, and moves on without waiting for it.
    pub fn hold_logins(&mut self) {
        self.logins_held = true;
    }

    /// Whether `PASS` replies are held (after a failed login, or
    /// [`hold_logins`](Self::hold_logins)).
    #[must_use]
    pub fn are_logins_held(&self) -> bool {
        self.logins_held
    }

    /// Whether a user is logged in.
    #[must_use]
    pub fn is_logged_in(&self) -> bool {
        matches!(self.login, Login::LoggedIn { .. })
    }

    /// Whether the logged-in user came through the anonymous account.
    #[must_use]
    pub fn is_anonymous(&self) -> bool {
        matches!(self.login, Login::LoggedIn { anonymous: true })
    }

    /// Whether the session has ended (after [`Output::Close`]).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The earliest deadline, if any: feed [`Input::Timeout`] once it passed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut add = |d: Option<Instant>| {
            if let Some(d) = d {
                t = Some(t.map_or(d, |t| t.min(d)));
            }
        };
        add(self.login_deadline.filter(|_| !self.is_logged_in()));
        add(self.data_deadline);
        match &self.busy {
            Busy::Penalty { until, .. } => add(Some(*until)),
            Busy::Idle => {
                add(Some(self.last_activity + self.config.idle_timeout));
                add(self.unused_passive_deadline());
            }
            _ => {}
        }
        t
    }

    /// The next output. Call until it returns [`Output::Wait`].
    pub fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(o) => o,
            None => {
                // An idle session keeps no heap: release the drained queue.
                self.out = VecDeque::new();
                Output::Wait(self.poll_timeout())
            }
        }
    }

    /// Feeds one input.
    ///
    /// # Errors
    /// [`Misuse`] when the session is closed or the input does not fit its
    /// state (a TLS event without a handshake); the state is unchanged.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), Misuse> {
        if self.closed {
            return Err(Misuse::Closed);
        }
        match input {
            Input::Control(bytes) => {
                if matches!(self.busy, Busy::Handshake) {
                    // SECURITY.md L1: nothing between AUTH and the handshake
                    // is ever executed.
                    return Ok(());
                }
                self.input.extend_from_slice(bytes);
                self.pump(now);
            }
            Input::ControlEof => {
                self.abort_transfer();
                self.event(Event::Closed(CloseReason::PeerEof));
                self.finish_close();
            }
            Input::TlsEstablished => {
                if !matches!(self.busy, Busy::Handshake) {
                    return Err(Misuse::UnexpectedInput("TLS established without a handshake"));
                }
                self.tls = Tls::Explicit { pbsz: false, prot: ProtectionLevel::Clear };
                self.busy = Busy::Idle;
                self.last_activity = now;
                self.pump(now);
            }
            Input::Timeout => self.on_timeout(now),
            Input::Data(id, event) => self.on_data(now, id, event),
            Input::Shutdown => self.close_for_shutdown(),
        }
        Ok(())
    }

    /// The server is shutting down (SECURITY.md C5; RFC 959 4.2: 421 may
    /// answer any command when the service must shut down). An idle session
    /// (or one waiting for a storage answer, a listener, a data connection
    /// or a TLS handshake) gets `421` and closes at once. A running transfer
    /// may finish first: its `226` (or `426`) goes out, then `421` and
    /// close; commands that arrive meanwhile are not run, but `ABOR` and
    /// `STAT` still act on the transfer. [`Input::Shutdown`] later cuts
    /// the transfer short; an upload cut so is never answered `226`.
    ///
    /// # Errors
    /// [`Misuse::Closed`] when the session has already ended.
    pub fn shut_down(&mut self, now: Instant) -> Result<(), Misuse> {
        if self.closed {
            return Err(Misuse::Closed);
        }
        self.shutting_down = true;
        match &self.busy {
            Busy::Transfer(t) if t.phase == Phase::Running => self.last_activity = now,
            _ => self.close_for_shutdown(),
        }
        Ok(())
    }

    /// Ends a transfer without its final reply, then 421 and close (C5).
    fn close_for_shutdown(&mut self) {
        self.abort_transfer();
        self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Server shutting down.", CloseReason::Shutdown);
    }

    /// Answers a request.
    ///
    /// # Errors
    /// [`Misuse::UnknownRequest`] for an id that is not the outstanding
    /// request (stale, cancelled or never issued), [`Misuse::WrongAnswer`]
    /// when the answer does not fit the request. The state is unchanged.
    pub fn answer(&mut self, now: Instant, id: RequestId, answer: Answer) -> Result<(), Misuse> {
        if self.closed {
            return Err(Misuse::Closed);
        }
        let Busy::Request { id: want, pending } = &self.busy else {
            return Err(Misuse::UnknownRequest);
        };
        if *want != id {
            return Err(Misuse::UnknownRequest);
        }
        if !answer_fits(pending, &answer) {
            return Err(Misuse::WrongAnswer);
        }
        let Busy::Request { pending, .. } = std::mem::replace(&mut self.busy, Busy::Idle) else { unreachable!() };
        self.last_activity = now;
        self.on_answer(now, id, pending, answer);
        if matches!(self.busy, Busy::Idle) {
            self.pump(now);
        }
        Ok(())
    }

    // ---- output helpers -------------------------------------------------

    fn send(&mut self, reply: Reply) {
        let mut buf = BytesMut::new();
        reply.encode(&mut buf);
        self.out.push_back(Output::Transmit(buf.freeze()));
    }

    fn reply(&mut self, code: ReplyCode, text: &'static str) {
        self.send(Reply::from_static(code, text));
    }

    fn reply_text(&mut self, code: ReplyCode, text: String) {
        let text = Text::new(Bytes::from(text)).unwrap_or_else(|_| Text::from_static("..."));
        self.send(Reply::new(code, text));
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn action(&mut self, a: DataAction) {
        self.out.push_back(Output::Data(a));
    }

    fn request(&mut self, kind: RequestKind, pending: Pending) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.busy = Busy::Request { id, pending };
        self.out.push_back(Output::Request(Request { id, kind }));
    }

    fn new_data_id(&mut self) -> DataId {
        self.next_id += 1;
        DataId(self.next_id)
    }

    /// A refusal of a well-formed command (502, 504, 503, 530, 550...).
    /// Not counted toward the error limits: clients probe features this way
    /// (DESIGN, defaults).
    fn error(&mut self, code: ReplyCode, text: &'static str) {
        self.send(Reply::from_static(code, text));
    }

    /// A reply to input that is not FTP (an unparsable or over-long line,
    /// a bad verb): counted toward the limits (SECURITY.md S4), and the
    /// session closes with 421 when a limit is reached.
    fn protocol_error(&mut self, reply: Reply) {
        self.send(reply);
        self.errors_in_row += 1;
        self.errors_total += 1;
        if self.errors_in_row >= self.config.max_consecutive_errors
            || self.errors_total >= self.config.max_session_errors
        {
            self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Too many errors, closing.", CloseReason::TooManyErrors);
        }
    }

    fn close_with(&mut self, code: ReplyCode, text: &'static str, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.reply(code, text);
        self.event(Event::Closed(reason));
        self.finish_close();
    }

    fn finish_close(&mut self) {
        if let Some(id) = self.data.id() {
            self.action(DataAction::Close { id });
        }
        self.data = DataSetup::None;
        if let Busy::Request { id, .. } = self.busy {
            self.event(Event::RequestCancelled(id));
        }
        self.busy = Busy::Idle;
        self.out.push_back(Output::Close);
        self.closed = true;
        self.input = BytesMut::new();
        self.queued.clear();
    }

    fn close_data(&mut self) {
        if let Some(id) = self.data.id() {
            self.action(DataAction::Close { id });
        }
        self.data = DataSetup::None;
        self.data_deadline = None;
    }

    fn data_tls(&self) -> DataTls {
        DataTls {
            required: self.tls.prot() == ProtectionLevel::Private,
            must_resume_control_session: self.config.require_tls_resumption,
        }
    }

    // ---- reading commands -----------------------------------------------

    /// Decodes and runs commands while the session is idle; while busy, reads
    /// ahead into a bounded queue and handles ABOR/STAT/QUIT/REIN of a
    /// transfer at once.
    fn pump(&mut self, now: Instant) {
        while !self.closed {
            match self.busy {
                Busy::Idle => {
                    let item = match self.queued.pop_front() {
                        Some(item) => item,
                        None => match self.decoder.decode(&mut self.input) {
                            Some(item) => item,
                            None => break,
                        },
                    };
                    self.last_activity = now;
                    self.dispatch(now, item);
                }
                Busy::Handshake | Busy::Penalty { .. } => break,
                Busy::Request { .. } | Busy::Binding | Busy::Transfer(_) => {
                    if self.queued.len() >= self.config.max_pending_commands {
                        break; // C4: stop reading; the peer must wait.
                    }
                    let Some(item) = self.decoder.decode(&mut self.input) else { break };
                    if self.queued.is_empty() && self.after_transfer == AfterTransfer::Nothing {
                        if let Ok(cmd) = &item {
                            if self.out_of_band(now, cmd) {
                                continue;
                            }
                        }
                    }
                    self.queued.push_back(item);
                }
            }
        }
        if self.input.is_empty() && !self.decoder.has_partial_line() {
            // An idle session keeps no heap.
            self.input = BytesMut::new();
        }
    }

    /// ABOR, STAT, QUIT and REIN during a transfer (RFC 959 4.1.3, 5.4).
    /// Returns whether the command was handled.
    fn out_of_band(&mut self, now: Instant, cmd: &Command) -> bool {
        if let Busy::Request { id, pending: Pending::Transfer(_) } = &self.busy {
            if matches!(cmd, Command::Abor) {
                // ABOR before the storage answered: cancel the request; the
                // transfer command gets 426 and ABOR 226 (RFC 959 4.1.3).
                let id = *id;
                self.event(Event::RequestCancelled(id));
                self.close_data();
                self.reply(ReplyCode::TRANSFER_ABORTED, "Transfer aborted.");
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
                self.busy = Busy::Idle;
                self.last_activity = now;
                return true;
            }
            return false;
        }
        let Busy::Transfer(t) = &self.busy else { return false };
        match cmd {
            Command::Abor => {
                let t = t.clone();
                self.action(DataAction::Close { id: t.id });
                self.data = DataSetup::None;
                self.data_deadline = None;
                if t.plan.direction == Direction::Receive {
                    self.event(Event::UploadIncomplete { path: t.plan.path.clone(), bytes: t.bytes });
                }
                self.reply(ReplyCode::TRANSFER_ABORTED, "Connection closed; transfer aborted.");
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
                self.busy = Busy::Idle;
                self.last_activity = now;
                self.run_after_transfer(now);
                true
            }
            Command::Stat(None) => {
                let text = format!("Status: {} in progress, {} bytes transferred.", t.plan.label, t.bytes);
                self.reply_text(ReplyCode::FILE_STATUS, text);
                true
            }
            Command::Quit => {
                self.after_transfer = AfterTransfer::Quit;
                true
            }
            Command::Rein => {
                self.reply(ReplyCode::SERVICE_READY_IN, "Transfer in progress; ready when it ends.");
                self.after_transfer = AfterTransfer::Rein;
                true
            }
            _ => false,
        }
    }

    fn run_after_transfer(&mut self, now: Instant) {
        let after = std::mem::replace(&mut self.after_transfer, AfterTransfer::Nothing);
        if self.shutting_down {
            return self.close_for_shutdown();
        }
        match after {
            AfterTransfer::Nothing => {}
            AfterTransfer::Quit => self.quit(),
            AfterTransfer::Rein => self.reinitialize(now),
        }
    }

    fn quit(&mut self) {
        self.close_with(ReplyCode::CLOSING_CONTROL, "Goodbye.", CloseReason::Quit);
    }

    // ---- commands ---------------------------------------------------------

    fn dispatch(&mut self, now: Instant, item: Result<Command, DecodeError>) {
        let cmd = match item {
            Ok(cmd) => cmd,
            Err(e) => {
                let code = e.reply_code();
                let text = match e {
                    DecodeError::Frame(_) => "Command line too long.",
                    DecodeError::Parse(ftp_proto::ParseError::Empty | ftp_proto::ParseError::BadVerb { .. }) => {
                        "Syntax error, command unrecognized."
                    }
                    DecodeError::Parse(ftp_proto::ParseError::UnsupportedProtocol { .. }) => {
                        return self.protocol_error(epsv_protocols(self.conn.local.ip()));
                    }
                    _ => "Syntax error in parameters or arguments.",
                };
                return self.protocol_error(Reply::from_static(code, text));
            }
        };
        // A line that is FTP ends a run of protocol errors (S4).
        self.errors_in_row = 0;
        // One-shot markers: only the next command may use them. The restart
        // marker survives data-setup and parameter commands (REST, PASV,
        // RETR is what suppaftp and ncftp send; vsftpd, proftpd and
        // pyftpdlib keep it too): RFC 3659 5.3 only requires that the
        // transfer command follow, and losing it rewrites a file from 0.
        let rest = if keeps_restart_marker(&cmd) { self.params.rest } else { self.params.rest.take() };
        let rename_from = self.params.rename_from.take();

        if let Command::Other(ext) = &cmd {
            if ext.verb().is_http_method() {
                // SECURITY.md S3: an HTTP request on the FTP port.
                return self.close_with(ReplyCode::SYNTAX_ERROR, "HTTP is not spoken here.", CloseReason::HttpRequest);
            }
        }
        if !self.is_logged_in() && !allowed_before_login(&cmd) {
            return self.error(ReplyCode::NOT_LOGGED_IN, "Please login with USER and PASS.");
        }
        if let Some(p) = cmd.pathname() {
            if self.cwd.as_bytes().len() + 1 + p.len() > MAX_VIRTUAL_PATH {
                // Bounded paths keep every 257 reply under the line limit and
                // the session's memory small.
                return self.reply(ReplyCode::FILE_NAME_NOT_ALLOWED, "Pathname too long.");
            }
        }
        if cmd.kind().is_some_and(|kind| !self.implemented(kind)) {
            // DESIGN: capabilities, not promises: a verb this server cannot
            // carry out is 502 here, never a request the storage refuses.
            return self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "Command not implemented.");
        }
        self.command(now, cmd, rest, rename_from);
    }

    /// Whether this server carries out `kind` at all: the verbs the session
    /// has no handler for are not, and a verb that needs a storage
    /// capability is only with it. Policy refusals (CCC not allowed, AUTH
    /// without TLS) are answered by the handlers with their own codes.
    fn implemented(&self, kind: CommandKind) -> bool {
        use CommandKind as K;
        match kind {
            K::Smnt | K::Hash | K::Mfct | K::Mff | K::Adat | K::Mic | K::Conf | K::Enc => false,
            K::Mfmt => self.config.storage_capabilities.contains(StorageCapabilities::SET_MODIFIED),
            _ => true,
        }
    }

    /// Whether HELP lists `kind`: implemented, and enabled by the
    /// configuration (TLS for AUTH, PBSZ and PROT; CCC also needs
    /// `allow_ccc`; SITE needs `site_enabled`).
    fn advertised(&self, kind: CommandKind) -> bool {
        use CommandKind as K;
        self.implemented(kind)
            && match kind {
                K::Auth | K::Pbsz | K::Prot => self.config.tls_available,
                K::Ccc => self.config.tls_available && self.config.allow_ccc,
                K::Site => self.config.site_enabled,
                _ => true,
            }
    }

    fn command(&mut self, now: Instant, cmd: Command, rest: Option<u64>, rename_from: Option<VirtualPath>) {
        use Command as C;
        match cmd {
            C::User(user) => self.user(user),
            C::Pass(password) => self.pass(now, password),
            C::Acct(account) => match &self.login {
                Login::AwaitAcct { user } => {
                    let user = user.clone();
                    self.request(
                        RequestKind::Account { user: user.clone(), account },
                        Pending::Login { user, anonymous: false },
                    );
                }
                Login::LoggedIn { .. } => self.reply(ReplyCode::COMMAND_SUPERFLUOUS, "ACCT not needed."),
                _ => self.error(ReplyCode::BAD_SEQUENCE, "Login with USER first."),
            },
            C::Cwd(p) | C::Xcwd(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::ChangeDir { path: path.clone() }, Pending::ChangeDir(path));
            }
            C::Cdup | C::Xcup => {
                let path = self.cwd.parent();
                self.request(RequestKind::ChangeDir { path: path.clone() }, Pending::ChangeDir(path));
            }
            C::Pwd | C::Xpwd => {
                let reply = Reply::pathname_created(
                    ReplyCode::PATHNAME_CREATED,
                    &self.cwd.to_pathname(),
                    "is the current directory",
                );
                self.send(reply);
            }
            C::Mkd(p) | C::Xmkd(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::MakeDir { path: path.clone() }, Pending::MakeDir(path));
            }
            C::Rmd(p) | C::Xrmd(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::RemoveDir { path }, Pending::Simple("Directory removed."));
            }
            C::Dele(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::Delete { path }, Pending::Simple("File deleted."));
            }
            C::Rnfr(p) => {
                self.params.rename_from = Some(self.cwd.join(p.as_bytes()));
                self.reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO.");
            }
            C::Rnto(p) => match rename_from {
                Some(from) => {
                    let to = self.cwd.join(p.as_bytes());
                    self.request(RequestKind::Rename { from, to }, Pending::Simple("Rename successful."));
                }
                None => self.error(ReplyCode::BAD_SEQUENCE, "RNFR required first."),
            },
            C::Size(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::Size { path }, Pending::Size);
            }
            C::Mdtm(p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::ModTime { path }, Pending::ModTime);
            }
            C::Mfmt(time, p) => {
                let path = self.cwd.join(p.as_bytes());
                self.request(RequestKind::SetModTime { path: path.clone(), time }, Pending::SetModTime { time, path });
            }
            C::Mlst(p) => {
                let path = self.resolve_opt(p.as_ref());
                self.request(RequestKind::Facts { path: path.clone() }, Pending::Facts(path));
            }
            C::Stat(None) => self.status(),
            C::Stat(Some(p)) => {
                let (path, all) = self.list_target(Some(&p));
                self.request(
                    RequestKind::List { path: path.clone(), format: ListFormat::Stat, all },
                    Pending::StatList(path),
                );
            }
            C::Type(t) => match t {
                TransferType::Ascii(None | Some(ftp_proto::FormatControl::NonPrint)) => {
                    self.params.ascii = true;
                    self.reply(ReplyCode::COMMAND_OK, "Switching to ASCII mode.");
                }
                t if t.is_binary() => {
                    self.params.ascii = false;
                    self.reply(ReplyCode::COMMAND_OK, "Switching to Binary mode.");
                }
                _ => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Type not supported."),
            },
            C::Mode(TransferMode::Stream) => self.reply(ReplyCode::COMMAND_OK, "Mode set to S."),
            C::Mode(_) => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only stream mode is supported."),
            C::Stru(Structure::File) => self.reply(ReplyCode::COMMAND_OK, "Structure set to F."),
            C::Stru(_) => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only file structure is supported."),
            C::Port(addr) => self.active(now, std::net::SocketAddr::V4(addr)),
            C::Eprt(addr) => self.active(now, addr),
            C::Pasv => self.passive(false, NetProto::Ipv4),
            C::Epsv(EpsvArg::All) => {
                // RFC 2428 section 4: from now on only EPSV; a PORT/PASV
                // setup made before is dropped with it (SECURITY.md D7).
                self.close_data();
                self.params.epsv_all = true;
                self.reply(ReplyCode::COMMAND_OK, "EPSV ALL ok.");
            }
            C::Epsv(EpsvArg::Any) => self.passive(true, NetProto::of(&self.conn.local.ip())),
            C::Epsv(EpsvArg::Protocol(proto)) => {
                if proto == NetProto::of(&self.conn.local.ip().to_canonical()) {
                    self.passive(true, proto);
                } else {
                    let reply = epsv_protocols(self.conn.local.ip());
                    self.send(reply);
                }
            }
            C::Rest(n) => {
                self.params.rest = Some(n);
                self.reply_text(ReplyCode::FILE_ACTION_PENDING, format!("Restarting at {n}. Send STORE or RETRIEVE."));
            }
            C::Retr(p) => {
                let path = self.cwd.join(p.as_bytes());
                let ascii = self.params.ascii;
                let plan = Plan { direction: Direction::Send, path: path.clone(), label: "RETR" };
                self.transfer(RequestKind::Retrieve { path, offset: rest.unwrap_or(0), ascii }, plan);
            }
            C::Stor(p) => self.store(&p, StoreMode::Replace, rest.unwrap_or(0), "STOR"),
            C::Appe(p) => self.store(&p, StoreMode::Append, 0, "APPE"),
            C::Stou(p) => {
                let hint = p.unwrap_or_else(|| Pathname::try_from("ftpkit.upload").expect("valid"));
                self.store(&hint, StoreMode::Unique, 0, "STOU");
            }
            C::List(p) => self.listing(p.as_ref(), ListFormat::List),
            C::Nlst(p) => self.listing(p.as_ref(), ListFormat::Nlst),
            C::Mlsd(p) => self.listing(p.as_ref(), ListFormat::Mlsd),
            C::Abor => {
                // RFC 959 4.1.3: nothing to abort. 226 when an idle data
                // connection was closed, else 225 (SECURITY.md X1).
                let had_connection = matches!(self.data, DataSetup::Passive { peer: Some(_), .. });
                self.close_data();
                if had_connection {
                    self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Data connection closed.");
                } else {
                    self.reply(ReplyCode::DATA_CONNECTION_OPEN, "No transfer to abort.");
                }
            }
            C::Allo(_) => self.reply(ReplyCode::COMMAND_SUPERFLUOUS, "ALLO not needed."),
            C::Noop => self.reply(ReplyCode::COMMAND_OK, "NOOP ok."),
            C::Syst => {
                let reply = Reply::new(ReplyCode::SYSTEM_TYPE, self.config.system_type.clone());
                self.send(reply);
            }
            C::Help(_) => self.help(),
            C::Feat => self.feat(),
            C::Opts(o) => self.opts(&o),
            C::Site(text) => {
                if self.config.site_enabled {
                    self.request(RequestKind::Site { command: text }, Pending::Site);
                } else {
                    self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "SITE not implemented.");
                }
            }
            C::Host(_) => {
                if matches!(self.login, Login::Greeted) {
                    self.reply(ReplyCode::SERVICE_READY, "Host accepted.");
                } else {
                    self.error(ReplyCode::BAD_SEQUENCE, "HOST must come before USER.");
                }
            }
            C::Lang(tag) => match tag {
                None => self.reply(ReplyCode::COMMAND_OK, "Language set to EN."),
                Some(t) if t.as_bytes().len() >= 2 && t.as_bytes()[..2].eq_ignore_ascii_case(b"en") => {
                    self.reply(ReplyCode::COMMAND_OK, "Language set to EN.")
                }
                Some(_) => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Language not supported."),
            },
            C::Auth(mech) => {
                if !self.config.tls_available {
                    self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "TLS not available.");
                } else if self.tls.secured() {
                    self.error(ReplyCode::BAD_SEQUENCE, "Already using TLS.");
                } else if self.is_logged_in() {
                    // SECURITY.md L3: AUTH only before login.
                    self.error(ReplyCode::BAD_SEQUENCE, "AUTH must come before login.");
                } else if !mech.is_tls() {
                    self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only AUTH TLS is supported.");
                } else {
                    self.reply(ReplyCode::AUTH_OK, "Proceed with negotiation.");
                    // SECURITY.md L1: discard whatever followed the AUTH line.
                    self.input = BytesMut::new();
                    self.decoder.reset();
                    self.queued.clear();
                    self.reset_state();
                    self.busy = Busy::Handshake;
                    self.out.push_back(Output::StartTls);
                }
            }
            C::Pbsz(_) => {
                if self.tls.secured() {
                    self.tls = self.tls.with(true, self.tls.prot());
                    self.reply(ReplyCode::COMMAND_OK, "PBSZ=0");
                } else {
                    self.error(ReplyCode::BAD_SEQUENCE, "PBSZ requires AUTH first.");
                }
            }
            C::Prot(level) => {
                if !self.tls.pbsz() {
                    self.error(ReplyCode::BAD_SEQUENCE, "PROT requires PBSZ first.");
                    return;
                }
                match level {
                    ProtectionLevel::Private => {
                        self.tls = self.tls.with(true, level);
                        self.reply(ReplyCode::COMMAND_OK, "Protection level set to P.");
                    }
                    ProtectionLevel::Clear if self.config.require_tls_data => {
                        self.error(ReplyCode::POLICY_DENIED, "Data connections must be protected.");
                    }
                    ProtectionLevel::Clear => {
                        self.tls = self.tls.with(true, level);
                        self.reply(ReplyCode::COMMAND_OK, "Protection level set to C.");
                    }
                    _ => self.error(ReplyCode::PROT_LEVEL_NOT_SUPPORTED, "PROT S and E are not supported."),
                }
            }
            C::Ccc => {
                if matches!(self.tls, Tls::Explicit { .. }) && self.config.allow_ccc && self.is_logged_in() {
                    self.reply(ReplyCode::COMMAND_OK, "Control connection cleared.");
                    self.input = BytesMut::new();
                    self.decoder.reset();
                    self.queued.clear();
                    self.tls = Tls::Cleared { pbsz: self.tls.pbsz(), prot: self.tls.prot() };
                    self.out.push_back(Output::StopTls);
                } else {
                    self.error(ReplyCode::PROTECTION_DENIED, "CCC not allowed.");
                }
            }
            C::Rein => self.reinitialize(now),
            C::Quit => self.quit(),
            // Unimplemented verbs were answered 502 before dispatch
            // (`implemented`); this is for extension verbs.
            _ => self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "Command not implemented."),
        }
    }

    fn user(&mut self, user: Username) {
        let plaintext_anonymous =
            self.config.allow_plaintext_anonymous && self.config.anonymous && is_anonymous_user(&user);
        if self.config.require_tls_login && !self.tls.secured() && !plaintext_anonymous {
            // SECURITY.md A7.
            return self.error(ReplyCode::NOT_LOGGED_IN, "Login requires TLS: use AUTH TLS first.");
        }
        if self.is_logged_in() {
            // SECURITY.md A5: a new USER starts a new login.
            self.close_data();
            self.cwd = VirtualPath::root();
            self.login_deadline = Some(self.last_activity + self.config.login_timeout);
        }
        self.login = Login::AwaitPass { user };
        // SECURITY.md A3: always 331, whether the account exists or not.
        self.reply(ReplyCode::NEED_PASSWORD, "Password required.");
    }

    fn pass(&mut self, now: Instant, password: ftp_proto::Secret<ftp_proto::Password>) {
        let Login::AwaitPass { user } = &self.login else {
            return if self.is_logged_in() {
                self.error(ReplyCode::BAD_SEQUENCE, "Already logged in.")
            } else {
                self.error(ReplyCode::BAD_SEQUENCE, "Login with USER first.")
            };
        };
        let user = user.clone();
        if is_anonymous_user(&user) {
            if self.config.anonymous {
                self.logged_in(now, user, true);
            } else {
                self.login_failed(now, user);
            }
            return;
        }
        self.request(RequestKind::Login { user: user.clone(), password }, Pending::Login { user, anonymous: false });
    }

    /// A login succeeded: 230 now, or after the failed-login delay when
    /// logins are held (SECURITY.md A1).
    fn logged_in(&mut self, now: Instant, user: Username, anonymous: bool) {
        if self.logins_held {
            self.login = Login::Greeted;
            let until = now + self.config.failed_login_delay;
            self.busy = Busy::Penalty { until, outcome: Held::LoggedIn { user, anonymous } };
            return;
        }
        self.finish_login(user, anonymous);
    }

    fn finish_login(&mut self, user: Username, anonymous: bool) {
        self.login = Login::LoggedIn { anonymous };
        self.login_deadline = None;
        self.login_failures = 0;
        self.reply(ReplyCode::LOGGED_IN, "Login successful.");
        self.event(Event::LoggedIn { user, anonymous });
    }

    /// SECURITY.md A1: hold the 530 for the configured delay; after too many
    /// failures, 530 then 421 and close.
    fn login_failed(&mut self, now: Instant, user: Username) {
        self.login = Login::Greeted;
        self.login_failures += 1;
        self.logins_held = true;
        let close = self.login_failures >= self.config.max_login_failures;
        self.busy = Busy::Penalty { until: now + self.config.failed_login_delay, outcome: Held::Failed { close } };
        self.event(Event::LoginFailed { user, failures: self.login_failures });
    }

    fn resolve_opt(&self, p: Option<&Pathname>) -> VirtualPath {
        match p {
            Some(p) => self.cwd.join(p.as_bytes()),
            None => self.cwd.clone(),
        }
    }

    /// `LIST -la dir`: leading `-` words are options (only `a` matters),
    /// never passed on (SECURITY.md P4).
    fn list_target(&self, p: Option<&Pathname>) -> (VirtualPath, bool) {
        let Some(p) = p else { return (self.cwd.clone(), false) };
        let mut arg = p.as_bytes();
        let mut all = false;
        while arg.first() == Some(&b'-') {
            let end = arg.iter().position(|&b| b == b' ').unwrap_or(arg.len());
            all |= arg[..end].contains(&b'a');
            arg = arg.get(end + 1..).unwrap_or(&[]);
        }
        if arg.is_empty() { (self.cwd.clone(), all) } else { (self.cwd.join(arg), all) }
    }

    fn listing(&mut self, p: Option<&Pathname>, format: ListFormat) {
        let (path, all) = if format == ListFormat::Mlsd { (self.resolve_opt(p), false) } else { self.list_target(p) };
        let label = match format {
            ListFormat::List => "LIST",
            ListFormat::Nlst => "NLST",
            _ => "MLSD",
        };
        let plan = Plan { direction: Direction::Send, path: path.clone(), label };
        self.transfer(RequestKind::List { path, format, all }, plan);
    }

    fn store(&mut self, p: &Pathname, mode: StoreMode, offset: u64, label: &'static str) {
        let path = self.cwd.join(p.as_bytes());
        let ascii = self.params.ascii;
        let plan = Plan { direction: Direction::Receive, path: path.clone(), label };
        self.transfer(RequestKind::Store { path, mode, offset, ascii }, plan);
    }

    /// The checks every transfer command passes before the storage is asked.
    fn transfer(&mut self, kind: RequestKind, plan: Plan) {
        let plaintext_anonymous = self.config.allow_plaintext_anonymous && self.is_anonymous() && !self.tls.secured();
        if self.config.require_tls_data && self.tls.prot() != ProtectionLevel::Private && !plaintext_anonymous {
            // SECURITY.md L5: refuse before any 150 (A7: an anonymous user
            // let in over plaintext may transfer over plaintext).
            return self.error(ReplyCode::PROTECTION_LEVEL_REFUSED, "Data connections must be protected (PROT P).");
        }
        if matches!(self.data, DataSetup::None | DataSetup::Binding { .. }) {
            // Never a connection to port 20 by default.
            return self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Use PORT, PASV, EPRT or EPSV first.");
        }
        self.request(kind, Pending::Transfer(plan));
    }

    /// PASV and EPSV (RFC 959 4.1.2, RFC 2428 section 3).
    fn passive(&mut self, extended: bool, family: NetProto) {
        if self.params.epsv_all && !extended {
            return self.error(ReplyCode::BAD_SEQUENCE, "Only EPSV is allowed after EPSV ALL.");
        }
        if !extended && self.config.passive_address.is_none() && !self.conn.local.ip().to_canonical().is_ipv4() {
            return self.error(ReplyCode::CANT_OPEN_DATA_CONNECTION, "PASV needs IPv4: use EPSV.");
        }
        // A new PASV drops the old listener and its connections (D6).
        self.close_data();
        let id = self.new_data_id();
        self.data = DataSetup::Binding { id, extended };
        self.busy = Busy::Binding;
        self.action(DataAction::Listen { id, family });
    }

    /// PORT and EPRT (RFC 959 4.1.2, RFC 2428 section 2, RFC 2577).
    fn active(&mut self, _now: Instant, addr: SocketAddr) {
        if self.params.epsv_all {
            return self.error(ReplyCode::BAD_SEQUENCE, "Only EPSV is allowed after EPSV ALL.");
        }
        if !self.config.allow_foreign_data_address && !same_host(addr.ip(), self.conn.peer.ip()) {
            // SECURITY.md D1: the bounce attack.
            return self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Data address must be the control peer's.");
        }
        if !self.config.allow_privileged_data_port && addr.port() < 1024 {
            return self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Data port must be 1024 or above.");
        }
        self.close_data();
        let id = self.new_data_id();
        self.data = DataSetup::Active { id, addr };
        self.reply(ReplyCode::COMMAND_OK, "PORT command successful.");
    }

    fn status(&mut self) {
        let mut lines = vec![Text::from_static("ftpkit status:")];
        let state = format!(
            "Logged in: {}; TYPE: {}; TLS: {}; PROT: {:?}; data: {}",
            if self.is_logged_in() { "yes" } else { "no" },
            if self.params.ascii { "ASCII" } else { "BINARY" },
            if self.tls.secured() { "yes" } else { "no" },
            self.tls.prot(),
            match self.data {
                DataSetup::None => "none",
                DataSetup::Binding { .. } | DataSetup::Passive { .. } => "passive",
                DataSetup::Active { .. } => "active",
            }
        );
        lines.push(Text::new(Bytes::from(state)).expect("no line breaks"));
        lines.push(Text::from_static("End of status"));
        let reply = Reply::multiline(ReplyCode::SYSTEM_STATUS, lines).expect("three lines");
        self.send(reply);
    }

    /// RFC 959 4.1.3 HELP: the verbs this session can actually run, so a
    /// client that reads HELP (as some do instead of FEAT) is not told about
    /// a command that then answers 502 (DESIGN: capabilities, not promises).
    fn help(&mut self) {
        let mut words: Vec<&str> =
            CommandKind::ALL.iter().copied().filter(|k| self.advertised(*k)).map(CommandKind::name).collect();
        words.sort_unstable();
        let mut lines = vec![Text::from_static("The following commands are recognized:")];
        for chunk in words.chunks(12) {
            lines.push(Text::new(Bytes::from(format!(" {}", chunk.join(" ")))).expect("ascii"));
        }
        lines.push(Text::from_static("Help OK."));
        self.send(Reply::multiline(ReplyCode::HELP_MESSAGE, lines).expect("lines"));
    }

    /// RFC 2389 section 3: only what is enabled.
    fn feat(&mut self) {
        let mut features = vec!["EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;unique*;", "PASV"];
        debug_assert!(MLST_FACTS.iter().all(|f| features[3].contains(f)));
        features.extend(["REST STREAM", "SIZE", "TVFS", "UTF8", "LANG EN*", "HOST"]);
        if self.advertised(CommandKind::Mfmt) {
            // draft-somers-ftp-mfxx section 3.
            features.push("MFMT");
        }
        if self.config.tls_available {
            features.extend(["AUTH TLS", "PBSZ", "PROT"]);
        }
        self.send(Reply::feature_list(features.into_iter().map(Text::from_static)));
    }

    fn opts(&mut self, o: &ftp_proto::Opts) {
        let name = o.command().as_bytes();
        let value = o.options().map(Text::as_bytes).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"UTF8") {
            if value.eq_ignore_ascii_case(b"ON") || value.eq_ignore_ascii_case(b"OFF") || value.is_empty() {
                self.reply(ReplyCode::COMMAND_OK, "UTF8 mode set.");
            } else {
                self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "OPTS UTF8 takes ON or OFF.");
            }
        } else if name.eq_ignore_ascii_case(b"MLST") {
            // RFC 3659 7.9: the facts the client wants, from those offered.
            let mut mask = 0u8;
            for f in value.split(|&b| b == b';') {
                if let Some(i) = MLST_FACTS.iter().position(|k| k.as_bytes().eq_ignore_ascii_case(f)) {
                    mask |= 1 << i;
                }
            }
            self.params.mlst_facts = mask;
            let chosen: String = self.params.facts().iter().map(|f| format!("{f};")).collect();
            self.reply_text(ReplyCode::COMMAND_OK, format!("MLST OPTS {chosen}"));
        } else {
            self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Option not understood.");
        }
    }

    /// REIN (RFC 959 4.1.1): back to the state right after the greeting. On
    /// an explicit TLS connection the reply goes out protected and then the
    /// TLS session is cleared (RFC 4217 section 13); implicit TLS stays, as
    /// the connection cannot exist without it.
    fn reinitialize(&mut self, now: Instant) {
        self.close_data();
        self.reset_state();
        self.login_deadline = Some(now + self.config.login_timeout);
        self.reply(ReplyCode::SERVICE_READY, "Service ready for new user.");
        if matches!(self.tls, Tls::Cleared { .. }) {
            self.tls = Tls::Plain;
        } else if matches!(self.tls, Tls::Explicit { .. }) {
            self.tls = Tls::Plain;
            self.input = BytesMut::new();
            self.decoder.reset();
            self.queued.clear();
            self.out.push_back(Output::StopTls);
        } else if let Tls::Implicit { .. } = self.tls {
            self.tls = self.tls.with(false, ProtectionLevel::Clear);
        }
    }

    /// Login, account, transfer parameters, markers, cwd, data setup and
    /// EPSV ALL back to their defaults (REIN; AUTH per RFC 4217 4.2).
    fn reset_state(&mut self) {
        self.close_data();
        self.login = Login::Greeted;
        self.params = Params::new();
        self.cwd = VirtualPath::root();
    }

    // ---- answers ------------------------------------------------------------

    fn on_answer(&mut self, now: Instant, id: RequestId, pending: Pending, answer: Answer) {
        if let Answer::Failed(e) = answer {
            if matches!(pending, Pending::Transfer(_)) {
                self.close_data();
            }
            return self.reply(e.reply_code(), e.text());
        }
        match pending {
            Pending::Login { user, anonymous } => match answer {
                Answer::LoggedIn => self.logged_in(now, user, anonymous),
                Answer::NeedAccount => {
                    self.login = Login::AwaitAcct { user };
                    self.reply(ReplyCode::NEED_ACCOUNT, "Need account for login.");
                }
                _ => self.login_failed(now, user),
            },
            Pending::ChangeDir(path) => {
                self.cwd = path;
                self.reply(ReplyCode::FILE_ACTION_OK, "Directory successfully changed.");
            }
            Pending::MakeDir(path) => {
                let reply = Reply::pathname_created(ReplyCode::PATHNAME_CREATED, &path.to_pathname(), "created");
                self.send(reply);
            }
            Pending::Simple(text) => self.reply(ReplyCode::FILE_ACTION_OK, text),
            Pending::Size => {
                if let Answer::Size(n) = answer {
                    self.reply_text(ReplyCode::FILE_STATUS, n.to_string());
                }
            }
            Pending::ModTime => {
                if let Answer::ModTime(t) = answer {
                    self.reply_text(ReplyCode::FILE_STATUS, t.to_string());
                }
            }
            Pending::SetModTime { time, path } => {
                let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
                self.reply_text(ReplyCode::FILE_STATUS, format!("Modify={time}; {name}"));
            }
            Pending::Facts(path) => {
                let lines = match answer {
                    Answer::Lines(lines) => lines,
                    // RFC 3659 7.2: the session writes the fact line itself.
                    // The `perm` fact as the storage gives it, for now.
                    Answer::Entries { entries, now } => {
                        let facts = self.params.facts();
                        let (style, perms) =
                            (ftp_proto::listing::ListingStyle::Facts, ftp_proto::listing::Perms::READ_WRITE);
                        entries
                            .iter()
                            .filter_map(|e| {
                                entry_line(|out| ftp_proto::listing::write_entry(e, style, &facts, perms, now, out))
                            })
                            .collect()
                    }
                    _ => return,
                };
                self.lines_reply(ReplyCode::FILE_ACTION_OK, &path, "Listing", lines, true);
            }
            Pending::StatList(path) => {
                let lines = match answer {
                    Answer::Lines(lines) => lines,
                    // RFC 959 4.1.3 (STAT path): `ls -l` lines, as servers send.
                    Answer::Entries { entries, now } => entries
                        .iter()
                        .filter_map(|e| entry_line(|out| ftp_proto::listing::format_unix(e, now, out)))
                        .collect(),
                    _ => return,
                };
                self.lines_reply(ReplyCode::FILE_STATUS, &path, "Status of", lines, false);
            }
            Pending::Site => {
                if let Answer::SiteReply(reply) = answer {
                    self.send(reply);
                }
            }
            Pending::Transfer(plan) => {
                let name = match answer {
                    Answer::StoredAs(name) => Some(name),
                    _ => None,
                };
                self.start_transfer(now, id, plan, name);
            }
        }
    }

    fn lines_reply(&mut self, code: ReplyCode, path: &VirtualPath, head: &str, lines: Vec<Text>, space: bool) {
        let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
        let mut all = vec![Text::new(Bytes::from(format!("{head} {name}"))).unwrap_or_else(|_| Text::empty())];
        for l in lines {
            if space {
                let mut b = BytesMut::with_capacity(l.len() + 1);
                b.extend_from_slice(b" ");
                b.extend_from_slice(l.as_bytes());
                all.push(Text::new(b.freeze()).unwrap_or_else(|_| Text::empty()));
            } else {
                all.push(l);
            }
        }
        all.push(Text::from_static("End"));
        self.send(Reply::multiline(code, all).expect("at least two lines"));
    }

    /// The storage is ready: 125 or 150, then the data connection.
    fn start_transfer(&mut self, now: Instant, request: RequestId, plan: Plan, unique: Option<Pathname>) {
        let mark = |s: &mut Self, code: ReplyCode, text: &'static str| match &unique {
            Some(name) => {
                s.reply_text(code, format!("FILE: {}", String::from_utf8_lossy(name.as_bytes())));
            }
            None => s.reply(code, text),
        };
        let (id, phase) = match self.data.clone() {
            DataSetup::Passive { id, peer: Some(_) } => {
                mark(self, ReplyCode::DATA_CONNECTION_ALREADY_OPEN, "Data connection already open; transfer starting.");
                (id, Phase::Running)
            }
            DataSetup::Passive { id, peer: None } => {
                mark(self, ReplyCode::FILE_STATUS_OK, "Opening data connection.");
                self.data_deadline = Some(now + self.config.data_connect_timeout);
                (id, Phase::Connecting)
            }
            DataSetup::Active { id, addr } => {
                mark(self, ReplyCode::FILE_STATUS_OK, "Opening data connection.");
                let tls = self.data_tls();
                self.action(DataAction::Connect { id, addr, tls });
                self.data_deadline = Some(now + self.config.data_connect_timeout);
                (id, Phase::Connecting)
            }
            DataSetup::None | DataSetup::Binding { .. } => {
                return self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "No data connection.");
            }
        };
        let t = Transfer { id, request, plan, phase, bytes: 0 };
        if phase == Phase::Running {
            self.run(now, t);
        } else {
            self.busy = Busy::Transfer(t);
        }
    }

    fn run(&mut self, now: Instant, mut t: Transfer) {
        t.phase = Phase::Running;
        self.data_deadline = Some(now + self.config.data_stall_timeout);
        let tls = self.data_tls();
        self.action(DataAction::Transfer { id: t.id, request: t.request, direction: t.plan.direction, tls });
        self.busy = Busy::Transfer(t);
    }

    // ---- data events ----------------------------------------------------------

    fn on_data(&mut self, now: Instant, id: DataId, event: DataEvent) {
        if self.data.id() != Some(id) {
            return; // A closed setup: late events are expected and ignored.
        }
        match event {
            DataEvent::Listening { addr } => {
                let DataSetup::Binding { extended, .. } = self.data else { return };
                self.data = DataSetup::Passive { id, peer: None };
                if matches!(self.busy, Busy::Binding) {
                    self.busy = Busy::Idle;
                }
                if extended {
                    self.send(Reply::extended_passive(addr.port()));
                } else {
                    let ip = match (self.config.passive_address, self.conn.local.ip().to_canonical()) {
                        (Some(ip), _) => ip,
                        (None, IpAddr::V4(ip)) => ip,
                        (None, IpAddr::V6(_)) => std::net::Ipv4Addr::UNSPECIFIED,
                    };
                    self.send(Reply::passive(std::net::SocketAddrV4::new(ip, addr.port())));
                }
                self.pump(now);
            }
            DataEvent::ListenFailed => {
                self.data = DataSetup::None;
                if matches!(self.busy, Busy::Binding) {
                    self.busy = Busy::Idle;
                }
                self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Cannot open passive connection.");
                self.pump(now);
            }
            DataEvent::Incoming { peer } => {
                let DataSetup::Passive { peer: current, .. } = self.data else {
                    return self.action(DataAction::Reject { id, peer });
                };
                if current.is_some() {
                    return self.action(DataAction::Reject { id, peer });
                }
                if !self.config.allow_foreign_data_address && !same_host(peer.ip(), self.conn.peer.ip()) {
                    // RFC 2577 section 8, SECURITY.md D3: refuse and keep waiting.
                    self.action(DataAction::Reject { id, peer });
                    return self.event(Event::ForeignDataConnection { peer });
                }
                self.data = DataSetup::Passive { id, peer: Some(peer) };
                let tls = self.data_tls();
                self.action(DataAction::Accept { id, tls });
                if let Busy::Transfer(t) = &self.busy {
                    if t.phase == Phase::Connecting {
                        let t = t.clone();
                        self.run(now, t);
                    }
                }
            }
            DataEvent::Connected => {
                if let Busy::Transfer(t) = &self.busy {
                    if t.phase == Phase::Connecting {
                        let t = t.clone();
                        self.run(now, t);
                    }
                }
            }
            DataEvent::ConnectFailed => {
                if let Busy::Transfer(_) = self.busy {
                    self.close_data();
                    self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Cannot open data connection.");
                    self.end_transfer(now);
                }
            }
            DataEvent::Progress { bytes } => {
                if let Busy::Transfer(t) = &mut self.busy {
                    t.bytes = bytes;
                    self.data_deadline = Some(now + self.config.data_stall_timeout);
                }
            }
            DataEvent::Finished { bytes } => {
                let Busy::Transfer(t) = &self.busy else { return };
                if t.phase != Phase::Running {
                    return;
                }
                let request = t.request;
                self.close_data();
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete.");
                self.event(Event::TransferCompleted { request, bytes });
                self.end_transfer(now);
            }
            DataEvent::FinishedWithoutCloseNotify { bytes } => {
                let Busy::Transfer(t) = &self.busy else { return };
                if t.phase != Phase::Running {
                    return;
                }
                if self.config.require_tls_close_notify {
                    return self.on_data(now, id, DataEvent::Failed { bytes, reason: DataFailure::Truncated });
                }
                let (request, path) = (t.request, t.plan.path.clone());
                self.close_data();
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete (no TLS close_notify).");
                self.event(Event::UploadPossiblyTruncated { path, bytes });
                self.event(Event::TransferCompleted { request, bytes });
                self.end_transfer(now);
            }
            DataEvent::Failed { bytes, reason } => {
                let Busy::Transfer(t) = &self.busy else { return };
                let t = t.clone();
                self.close_data();
                if t.plan.direction == Direction::Receive {
                    self.event(Event::UploadIncomplete { path: t.plan.path.clone(), bytes });
                }
                match reason {
                    DataFailure::Storage => self.reply(ReplyCode::LOCAL_ERROR, "Local error; transfer aborted."),
                    DataFailure::TlsFailed | DataFailure::TlsNotResumed => self.reply(
                        ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
                        "Data connection must resume the control connection's TLS session.",
                    ),
                    DataFailure::Truncated => self.reply(
                        ReplyCode::TRANSFER_ABORTED,
                        "Upload ended without TLS close_notify; possibly truncated, refused.",
                    ),
                    _ => self.reply(ReplyCode::TRANSFER_ABORTED, "Connection closed; transfer aborted."),
                }
                self.end_transfer(now);
            }
        }
    }

    fn end_transfer(&mut self, now: Instant) {
        self.busy = Busy::Idle;
        self.data_deadline = None;
        self.last_activity = now;
        self.run_after_transfer(now);
        self.pump(now);
    }

    /// A transfer ends without its final reply (EOF, shutdown).
    fn abort_transfer(&mut self) {
        if let Busy::Transfer(t) = &self.busy {
            if t.plan.direction == Direction::Receive {
                let (path, bytes) = (t.plan.path.clone(), t.bytes);
                self.event(Event::UploadIncomplete { path, bytes });
            }
            self.busy = Busy::Idle;
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        if matches!(&self.busy, Busy::Penalty { until, .. } if now >= *until) {
            if let Busy::Penalty { outcome, .. } = std::mem::replace(&mut self.busy, Busy::Idle) {
                match outcome {
                    Held::Failed { close } => {
                        self.reply(ReplyCode::NOT_LOGGED_IN, "Login incorrect.");
                        if close {
                            return self.close_with(
                                ReplyCode::SERVICE_NOT_AVAILABLE,
                                "Too many failed logins.",
                                CloseReason::TooManyLoginFailures,
                            );
                        }
                    }
                    Held::LoggedIn { user, anonymous } => self.finish_login(user, anonymous),
                }
                self.pump(now);
            }
        }
        if self.closed {
            return;
        }
        if !self.is_logged_in() && self.login_deadline.is_some_and(|d| now >= d) {
            self.abort_transfer();
            return self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Login timeout.", CloseReason::LoginTimeout);
        }
        if let Some(d) = self.data_deadline {
            if now >= d {
                if let Busy::Transfer(t) = &self.busy {
                    let t = t.clone();
                    self.close_data();
                    if t.phase == Phase::Connecting {
                        self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Data connection timed out.");
                    } else {
                        if t.plan.direction == Direction::Receive {
                            self.event(Event::UploadIncomplete { path: t.plan.path.clone(), bytes: t.bytes });
                        }
                        self.reply(ReplyCode::TRANSFER_ABORTED, "Data connection stalled; transfer aborted.");
                    }
                    self.end_transfer(now);
                } else {
                    self.data_deadline = None;
                }
            }
        }
        if matches!(self.busy, Busy::Idle) && !self.closed && now >= self.last_activity + self.config.idle_timeout {
            self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Idle timeout, closing.", CloseReason::IdleTimeout);
        }
        if !self.closed && self.unused_passive_deadline().is_some_and(|d| now >= d) {
            // SECURITY.md C2, D6: an idle session does not keep a passive
            // port; closed without a reply (a later transfer gets 425).
            self.close_data();
        }
    }

    /// When an unused passive setup of an idle session is reclaimed: after
    /// the data connect timeout without a command (see
    /// [`ServerConfig::data_connect_timeout`]).
    fn unused_passive_deadline(&self) -> Option<Instant> {
        let unused = matches!(self.busy, Busy::Idle) && matches!(self.data, DataSetup::Passive { .. });
        unused.then(|| self.last_activity + self.config.data_connect_timeout)
    }
}

/// One listing line written by a producer, as reply text; `None` when the
/// producer wrote nothing (a name it cannot carry) or the line is not
/// wire-safe.
fn entry_line(write: impl FnOnce(&mut BytesMut)) -> Option<Text> {
    let mut out = BytesMut::new();
    write(&mut out);
    if out.is_empty() { None } else { Text::new(out.freeze()).ok() }
}

/// The 522 reply listing the protocols the server takes (RFC 2428 section 2).
fn epsv_protocols(local: IpAddr) -> Reply {
    let text = if local.to_canonical().is_ipv4() {
        "Network protocol not supported, use (1)"
    } else {
        "Network protocol not supported, use (2)"
    };
    Reply::from_static(ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED, text)
}

/// Whether an answer is one the pending request can take.
fn answer_fits(pending: &Pending, answer: &Answer) -> bool {
    match (pending, answer) {
        (Pending::Login { .. }, Answer::LoggedIn | Answer::NeedAccount | Answer::LoginDenied) => true,
        (Pending::Login { .. }, _) => false,
        (_, Answer::Failed(_)) => true,
        (
            Pending::ChangeDir(_) | Pending::MakeDir(_) | Pending::Simple(_) | Pending::SetModTime { .. },
            Answer::Done,
        ) => true,
        (Pending::Size, Answer::Size(_)) | (Pending::ModTime, Answer::ModTime(_)) => true,
        (Pending::Facts(_) | Pending::StatList(_), Answer::Lines(_) | Answer::Entries { .. }) => true,
        (Pending::Site, Answer::SiteReply(_)) => true,
        (Pending::Transfer(p), Answer::Ready) => p.label != "STOU",
        (Pending::Transfer(p), Answer::StoredAs(_)) => p.label == "STOU",
        _ => false,
    }
}
