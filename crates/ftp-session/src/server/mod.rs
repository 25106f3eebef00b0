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
//! use std::time::{Duration, Instant};
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

mod answer;
mod capabilities;
mod config;
mod data;
mod files;
mod info;
mod login;
mod path;
mod request;
mod setup;
mod site;
mod state;
mod timers;
mod tls;
mod transfer;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ftp_proto::{
    Command, CommandDecoder, CommandKind, DecodeError, NetProto, ProtectionLevel, Reply, ReplyCode, Text, Username,
};

pub use capabilities::StorageCapabilities;
pub use config::{DEFAULT_DATA_STALL_TIMEOUT, DEFAULT_LINE_TIMEOUT, ServerConfig};
pub use data::{DataAction, DataEvent, DataFailure, DataId, DataTls, Direction};
pub use path::VirtualPath;
pub use request::{Answer, ListFormat, Matching, Request, RequestId, RequestKind, StorageError, StoreMode, Umask};

use crate::Misuse;
use answer::answer_fits;
use setup::{DataSetup, epsv_protocols};
use state::{AfterTransfer, Busy, Held, Lifecycle, Login, Marker, Params, Pending, Phase, Tls};
use timers::{Timer, TimerTable};

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
    /// A command line was begun and not ended within the line timeout (C1).
    LineTimeout,
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
    /// When the last command or answer came: the idle and unused-passive
    /// timers count from it.
    last_activity: Instant,
    /// When the partial command line now in the input began (the line
    /// timer, SECURITY.md C1); `None` while no line is in progress.
    line_started: Option<Instant>,
    /// The idle timeout in force: the configured one, or shorter after
    /// `SITE IDLE` (until REIN).
    idle_timeout: Duration,
    timers: TimerTable,
    lifecycle: Lifecycle,
}

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
        let config_idle = config.idle_timeout;
        let mut timers = TimerTable::default();
        timers.set(Timer::Login, Some(now + config.login_timeout));
        let mut s = Self {
            decoder: CommandDecoder::new(config.parse_options.clone()),
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
            line_started: None,
            idle_timeout: config_idle,
            timers,
            lifecycle: Lifecycle::Open,
        };
        s.sync_timers();
        s
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

    /// Whether data connections are protected (`PROT P`, RFC 4217 section
    /// 9): their TLS handshake may come before the transfer command, so a
    /// driver accepts them as they come.
    #[must_use]
    pub fn data_protected(&self) -> bool {
        self.tls.prot() == ftp_proto::ProtectionLevel::Private
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
        self.lifecycle == Lifecycle::Closed
    }

    /// The earliest deadline, if any: feed [`Input::Timeout`] once it passed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() { None } else { self.timers.next() }
    }

    /// Writes the timers that follow from the state (see [`timers`]): the
    /// held login reply while one is held, the idle and unused-passive
    /// timers while idle, no login timer once logged in. Called at the end
    /// of every entry point.
    fn sync_timers(&mut self) {
        let penalty = match &self.busy {
            Busy::Penalty { until, .. } => Some(*until),
            _ => None,
        };
        self.timers.set(Timer::Penalty, penalty);
        let idle = matches!(self.busy, Busy::Idle).then(|| self.last_activity + self.idle_timeout);
        self.timers.set(Timer::Idle, idle);
        // Counted from the line's first byte, or from when the session last
        // became idle if the line began while a command was running.
        let line = match (&self.busy, self.line_started, self.config.line_timeout) {
            (Busy::Idle, Some(started), Some(limit)) => Some(started.max(self.last_activity) + limit),
            _ => None,
        };
        self.timers.set(Timer::Line, line);
        self.timers.set(Timer::UnusedPassive, self.unused_passive_deadline());
        if self.is_logged_in() {
            self.timers.stop(Timer::Login);
        }
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
        if self.is_closed() {
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
        self.sync_timers();
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
        if self.is_closed() {
            return Err(Misuse::Closed);
        }
        self.lifecycle = Lifecycle::ShuttingDown;
        match &self.busy {
            Busy::Transfer(t) if t.phase == Phase::Running => self.last_activity = now,
            _ => self.close_for_shutdown(),
        }
        self.sync_timers();
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
        if self.is_closed() {
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
        self.sync_timers();
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
        if self.is_closed() {
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
        self.lifecycle = Lifecycle::Closed;
        self.input = BytesMut::new();
        self.queued.clear();
    }

    // ---- reading commands -----------------------------------------------

    /// Decodes and runs commands while the session is idle; while busy, reads
    /// ahead into a bounded queue and handles ABOR/STAT/QUIT/REIN of a
    /// transfer at once.
    fn pump(&mut self, now: Instant) {
        while !self.is_closed() {
            match self.busy {
                Busy::Idle => {
                    let item = match self.queued.pop_front() {
                        Some(item) => item,
                        None => match self.decoder.decode(&mut self.input) {
                            Some(item) => {
                                self.line_started = None;
                                item
                            }
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
                    self.line_started = None;
                    if self.queued.is_empty()
                        && self.after_transfer == AfterTransfer::Nothing
                        && let Ok(cmd) = &item
                        && self.out_of_band(now, cmd)
                    {
                        continue;
                    }
                    self.queued.push_back(item);
                }
            }
        }
        if self.input.is_empty() && !self.decoder.has_partial_line() {
            // An idle session keeps no heap.
            self.input = BytesMut::new();
            self.line_started = None;
        } else if self.line_started.is_none() {
            self.line_started = Some(now);
        }
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
        let marker = if keeps_restart_marker(&cmd) && matches!(self.params.marker, Marker::Restart(_)) {
            self.params.marker.clone()
        } else {
            std::mem::take(&mut self.params.marker)
        };

        if let Command::Other(ext) = &cmd
            && ext.verb().is_http_method()
        {
            // SECURITY.md S3: an HTTP request on the FTP port.
            return self.close_with(ReplyCode::SYNTAX_ERROR, "HTTP is not spoken here.", CloseReason::HttpRequest);
        }
        if !self.is_logged_in() && !allowed_before_login(&cmd) {
            return self.error(ReplyCode::NOT_LOGGED_IN, "Please login with USER and PASS.");
        }
        if let Some(p) = cmd.pathname()
            && self.cwd.as_bytes().len() + 1 + p.len() > MAX_VIRTUAL_PATH
        {
            // Bounded paths keep every 257 reply under the line limit and
            // the session's memory small.
            return self.reply(ReplyCode::FILE_NAME_NOT_ALLOWED, "Pathname too long.");
        }
        if cmd.kind().is_some_and(|kind| !self.implemented(kind)) {
            // DESIGN: capabilities, not promises: a verb this server cannot
            // carry out is 502 here, never a request the storage refuses.
            return self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "Command not implemented.");
        }
        self.command(now, cmd, marker);
    }

    /// Routes one command to its handler: one arm per verb, grouped by the
    /// file that handles it.
    fn command(&mut self, now: Instant, cmd: Command, marker: Marker) {
        use Command as C;
        match cmd {
            // login.rs
            C::User(user) => self.user(user),
            C::Pass(password) => self.pass(now, password),
            C::Acct(account) => self.acct(account),
            C::Host(_) => self.host(),
            C::Rein => self.reinitialize(now),
            C::Quit => self.quit(),
            // tls.rs
            C::Auth(mech) => self.auth(&mech),
            C::Pbsz(_) => self.pbsz(),
            C::Prot(level) => self.prot(level),
            C::Ccc => self.ccc(),
            // files.rs
            C::Cwd(p) | C::Xcwd(p) => self.change_dir(&p),
            C::Cdup | C::Xcup => self.change_to_parent(),
            C::Pwd | C::Xpwd => self.print_dir(),
            C::Mkd(p) | C::Xmkd(p) => self.make_dir(&p),
            C::Rmd(p) | C::Xrmd(p) => self.remove_dir(&p),
            C::Dele(p) => self.delete(&p),
            C::Rnfr(p) => self.rename_from(&p),
            C::Rnto(p) => self.rename_to(&p, marker.rename_from()),
            C::Size(p) => self.size(&p),
            C::Mdtm(p) => self.mod_time(&p),
            C::Mfmt(time, p) => self.set_mod_time(time, &p),
            C::Mff(facts, p) => self.modify_facts(&facts, &p),
            C::Mlst(p) => self.facts(p.as_ref()),
            C::Stat(Some(p)) => self.stat_path(&p),
            // setup.rs
            C::Port(addr) => self.active(now, SocketAddr::V4(addr)),
            C::Eprt(addr) => self.active(now, addr),
            C::Pasv => self.passive(false, NetProto::Ipv4),
            C::Epsv(arg) => self.epsv(arg),
            // transfer.rs
            C::Rest(n) => self.restart_at(n),
            C::Retr(p) => self.retrieve(&p, marker.restart()),
            C::Stor(p) => self.store_at(&p, marker.restart(), "STOR"),
            C::Appe(p) => self.store_at(&p, marker.restart(), "APPE"),
            C::Stou(p) => self.store_unique(p, marker.restart()),
            C::List(p) => self.listing(p.as_ref(), ListFormat::List),
            C::Nlst(p) => self.listing(p.as_ref(), ListFormat::Nlst),
            C::Mlsd(p) => self.listing(p.as_ref(), ListFormat::Mlsd),
            C::Abor => self.abort_idle(),
            // info.rs
            C::Stat(None) => self.status(),
            C::Type(t) => self.set_type(t),
            C::Mode(mode) => self.set_mode(mode),
            C::Stru(s) => self.set_structure(s),
            C::Allo(a) => self.allocate(a.size),
            C::Noop => self.reply(ReplyCode::COMMAND_OK, "NOOP ok."),
            C::Syst => self.system(),
            C::Help(_) => self.help(),
            C::Feat => self.feat(),
            C::Opts(o) => self.opts(&o),
            C::Site(text) => self.site(text),
            C::Lang(tag) => self.language(tag.as_ref()),
            // Unimplemented verbs were answered 502 before dispatch
            // (`implemented`); this is for extension verbs.
            _ => self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "Command not implemented."),
        }
    }

    // ---- answers ------------------------------------------------------------

    // ---- data events ----------------------------------------------------------

    fn on_timeout(&mut self, now: Instant) {
        if matches!(&self.busy, Busy::Penalty { until, .. } if now >= *until)
            && let Busy::Penalty { outcome, .. } = std::mem::replace(&mut self.busy, Busy::Idle)
        {
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
        if self.is_closed() {
            return;
        }
        self.sync_timers();
        if !self.is_logged_in() && self.timers.is_due(Timer::Login, now) {
            self.abort_transfer();
            return self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Login timeout.", CloseReason::LoginTimeout);
        }
        if let Some(d) = self.timers.get(Timer::Data)
            && now >= d
        {
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
                self.timers.stop(Timer::Data);
            }
        }
        self.sync_timers();
        if !self.is_closed() && self.timers.is_due(Timer::Idle, now) {
            self.close_with(ReplyCode::SERVICE_NOT_AVAILABLE, "Idle timeout, closing.", CloseReason::IdleTimeout);
        }
        self.sync_timers();
        if !self.is_closed() && self.timers.is_due(Timer::Line, now) {
            self.close_with(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Command line not completed in time, closing.",
                CloseReason::LineTimeout,
            );
        }
        self.sync_timers();
        if !self.is_closed() && self.timers.is_due(Timer::UnusedPassive, now) {
            // SECURITY.md C2, D6: an idle session does not keep a passive
            // port; closed without a reply (a later transfer gets 425).
            self.close_data();
        }
    }
}
