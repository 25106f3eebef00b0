//! The client role: one [`Session`] per control connection.
//!
//! # Driving a session
//!
//! The caller connects the control socket, creates the session with the
//! peer's address, and then, as for the server role:
//!
//! - feeds what it reads with [`Input::Control`], data-connection events with
//!   [`Input::Data`], the end of a TLS handshake with
//!   [`Input::TlsEstablished`], and [`Input::Timeout`] once the deadline of
//!   the last [`Output::Wait`] has passed;
//! - starts operations ([`Session::login`], [`Session::retrieve`],
//!   [`Session::list`]...) with the current instant, one at a time; each
//!   returns an [`OpId`] and ends with [`Event::OpCompleted`];
//! - drains [`Session::poll_output`] until [`Output::Wait`] after every call,
//!   carrying out outputs in order.
//!
//! A transfer completes only when both the final reply (226/250) arrived and
//! the caller reported the data connection finished, in whichever order they
//! come.
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//! use ftp_session::client::{ClientConfig, Event, Input, OpOutput, Output, Session};
//!
//! let now = Instant::now();
//! let mut client = Session::new(ClientConfig::default().auto_feat(false), "127.0.0.1:21".parse().unwrap(), now);
//! let mut sent = Vec::new();
//! let mut drain = |c: &mut Session, sent: &mut Vec<u8>| {
//!     let mut events = Vec::new();
//!     loop {
//!         match c.poll_output() {
//!             Output::Transmit(b) => sent.extend_from_slice(&b),
//!             Output::Event(e) => events.push(e),
//!             Output::Wait(_) => return events,
//!             _ => {}
//!         }
//!     }
//! };
//! client.handle_input(now, Input::Control(b"220 ready\r\n")).unwrap();
//! drain(&mut client, &mut sent);
//! let op = client.login(now, "alice", "secret", None).unwrap();
//! drain(&mut client, &mut sent);
//! client.handle_input(now, Input::Control(b"331 Password required\r\n")).unwrap();
//! drain(&mut client, &mut sent);
//! client.handle_input(now, Input::Control(b"230 Logged in\r\n")).unwrap();
//! let events = drain(&mut client, &mut sent);
//! assert_eq!(sent, b"USER alice\r\nPASS secret\r\n");
//! assert!(matches!(&events[..], [Event::OpCompleted { op: id, result: Ok(OpOutput::LoggedIn) }] if *id == op));
//! ```

// The caller's vocabulary lives apart from the machine, as on the server
// side: io.rs (inputs, outputs, events, results), data.rs (data-connection
// actions and events), listing.rs, config.rs, caps.rs. transfer.rs holds
// the steps of a transfer and their pure transitions; this file drives them.
mod caps;
mod config;
mod data;
mod io;
mod listing;
mod transfer;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ftp_proto::{
    Command, EpsvArg, Mechanism, NetProto, Opts, Password, Pathname, ProtectionLevel, Reply, ReplyCode, ReplyDecoder,
    Secret, Text, Timestamp, TransferType, Username, Verb,
};

pub use caps::Capabilities;
pub use config::{ClientConfig, DataMode, PasvPolicy, TlsMode};
pub use data::{DataAction, DataEvent, DataId, DataTls, Direction};
pub use io::{Event, Input, OpError, OpId, OpOutput, Output, PasvDecision, StartError};
pub use listing::{ListCommand, parse_listing};

use transfer::{Accept, DataEnd, Link, Next, Step, Transfer};

use crate::Misuse;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    AwaitGreeting,
    Ready,
    AwaitTls,
    Closed,
}

#[derive(Debug, Clone)]
enum LoginStep {
    Auth,
    User,
    Pass,
    Acct,
    Pbsz,
    Prot,
    Feat,
    Utf8,
}

#[derive(Debug, Clone)]
struct Login {
    user: Username,
    password: Secret<Password>,
    account: Option<Secret<Text>>,
    step: LoginStep,
}

/// What a simple (one command, one reply) operation turns its reply into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simple {
    Done,
    Pathname,
    MadeDir,
    Size,
    Time,
    Facts,
    Features,
    Raw,
    KeepAlive,
}

#[derive(Debug, Clone)]
enum OpKind {
    Login(Box<Login>),
    Simple(Simple),
    Rename { to: Pathname, sent_rnto: bool },
    Transfer(Box<Transfer>),
    Quit,
    Rein,
}

#[derive(Debug, Clone)]
struct Op {
    id: OpId,
    kind: OpKind,
}

/// The client's side of one control connection. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    config: Arc<ClientConfig>,
    peer: SocketAddr,
    decoder: ReplyDecoder,
    input: BytesMut,
    out: VecDeque<Output>,
    conn: Conn,
    secured: bool,
    caps: Capabilities,
    epsv_refused: bool,
    ascii_type: Option<bool>,
    op: Option<Op>,
    next_id: u64,
    reply_deadline: Option<Instant>,
    last_activity: Instant,
}

/// Whether an address is one a server behind NAT would advertise by mistake.
fn unroutable(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6.is_unicast_link_local()
        }
    }
}

/// SECURITY.md E3: a pathname from the server is reused only if it holds no
/// control character.
fn clean_path(p: &Pathname) -> bool {
    !p.as_bytes().iter().any(|&b| b < 0x20 || b == 0x7f)
}

impl Session {
    /// A session for a control connection to `peer`, waiting for the greeting.
    #[must_use]
    pub fn new(config: ClientConfig, peer: SocketAddr, now: Instant) -> Self {
        let secured = matches!(config.tls, TlsMode::Implicit);
        let epsv_refused = !config.epsv;
        Self {
            decoder: ReplyDecoder::new(config.parse_options.clone()),
            config: Arc::new(config),
            peer,
            input: BytesMut::new(),
            out: VecDeque::new(),
            conn: Conn::AwaitGreeting,
            secured,
            caps: Capabilities::default(),
            epsv_refused,
            ascii_type: None,
            op: None,
            next_id: 0,
            reply_deadline: None,
            last_activity: now,
        }
        .with_greeting_deadline(now)
    }

    fn with_greeting_deadline(mut self, now: Instant) -> Self {
        self.reply_deadline = Some(now + self.config.reply_timeout);
        self
    }

    /// The server's capabilities, from `FEAT` (empty until then).
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Whether the control connection is protected by TLS.
    #[must_use]
    pub fn is_secured(&self) -> bool {
        self.secured
    }

    /// Whether an operation is in progress.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.op.is_some()
    }

    /// Whether the connection has closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.conn == Conn::Closed
    }

    /// The earliest deadline: a reply timeout or a keep-alive.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.conn == Conn::Closed {
            return None;
        }
        let keepalive = match (self.config.keepalive, &self.op, self.conn) {
            (Some(k), None, Conn::Ready) => Some(self.last_activity + k),
            _ => None,
        };
        match (self.reply_deadline, keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next output; call until [`Output::Wait`].
    pub fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(o) => o,
            None => Output::Wait(self.poll_timeout()),
        }
    }

    // ---- operations ---------------------------------------------------------

    fn start(&mut self, now: Instant, kind: OpKind) -> Result<OpId, StartError> {
        match self.conn {
            Conn::Closed => return Err(StartError::Closed),
            Conn::AwaitGreeting | Conn::AwaitTls => return Err(StartError::NotReady),
            Conn::Ready => {}
        }
        if self.op.is_some() {
            return Err(StartError::Busy);
        }
        self.next_id += 1;
        let id = OpId(self.next_id);
        self.op = Some(Op { id, kind });
        self.last_activity = now;
        Ok(id)
    }

    fn start_simple(&mut self, now: Instant, cmd: Command, kind: Simple) -> Result<OpId, StartError> {
        let id = self.start(now, OpKind::Simple(kind))?;
        self.send(now, &cmd);
        Ok(id)
    }

    /// Logs in: `AUTH TLS` first when explicit TLS is configured, then
    /// `USER`/`PASS` (and `ACCT` when asked, RFC 959 4.1.1), then, on a
    /// secured connection, `PBSZ 0` and `PROT`, then `FEAT` and
    /// `OPTS UTF8 ON` when enabled.
    ///
    /// PBSZ and PROT come after the login, as curl sends them: RFC 4217
    /// section 9 only asks that they follow the security exchange, and some
    /// servers refuse them before `USER`/`PASS`.
    ///
    /// # Errors
    /// [`StartError`] when busy, not connected, or the strings hold line breaks.
    pub fn login(
        &mut self,
        now: Instant,
        user: &str,
        password: &str,
        account: Option<&str>,
    ) -> Result<OpId, StartError> {
        let user = Username::try_from(user).map_err(|_| StartError::InvalidArgument)?;
        let password = Secret::new(Password::try_from(password).map_err(|_| StartError::InvalidArgument)?);
        let account =
            account.map(|a| Text::try_from(a).map(Secret::new)).transpose().map_err(|_| StartError::InvalidArgument)?;
        let tls = matches!(self.config.tls, TlsMode::Explicit { .. }) && !self.secured;
        // Already secured (implicit FTPS, or a second login): USER first;
        // PBSZ and PROT follow the login (`on_login_reply`).
        let step = if tls { LoginStep::Auth } else { LoginStep::User };
        let login = Login { user, password, account, step };
        let id = self.start(now, OpKind::Login(Box::new(login.clone())))?;
        self.login_step(now, &login);
        Ok(id)
    }

    fn login_step(&mut self, now: Instant, login: &Login) {
        let cmd = match login.step {
            LoginStep::Auth => Command::Auth(Mechanism::try_from("TLS").expect("valid")),
            LoginStep::Pbsz => Command::Pbsz(0),
            LoginStep::Prot => {
                Command::Prot(if self.config.protect_data { ProtectionLevel::Private } else { ProtectionLevel::Clear })
            }
            LoginStep::User => Command::User(login.user.clone()),
            LoginStep::Pass => Command::Pass(login.password.clone()),
            LoginStep::Acct => match &login.account {
                Some(a) => Command::Acct(a.clone()),
                None => return self.finish(Err(OpError::Protocol("server asked for an account; none given"))),
            },
            LoginStep::Feat => Command::Feat,
            LoginStep::Utf8 => {
                Command::Opts(Opts::new(Verb::try_from("UTF8").expect("valid"), Some(Text::from_static("ON"))))
            }
        };
        self.set_login_step(login.step.clone());
        self.send(now, &cmd);
    }

    fn set_login_step(&mut self, step: LoginStep) {
        if let Some(Op { kind: OpKind::Login(l), .. }) = &mut self.op {
            l.step = step;
        }
    }

    /// `PWD`: the working directory (257, RFC 959 Appendix II).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn pwd(&mut self, now: Instant) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Pwd, Simple::Pathname)
    }

    /// `CWD path`.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn cwd(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Cwd(path.clone()), Simple::Done)
    }

    /// `CDUP`.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn cdup(&mut self, now: Instant) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Cdup, Simple::Done)
    }

    /// `MKD path`: [`OpOutput::Pathname`] with the created directory's name
    /// when the 257 reply quotes one, [`OpOutput::Done`] with the reply
    /// otherwise. Any 2xx is success, a 257 without a quoted pathname
    /// included (aioftp sends a bare `257`): RFC 959 section 4.2 makes 257
    /// the success reply, and the quoted name is Appendix II's convention.
    /// A quoted name holding a control character is still refused
    /// (SECURITY.md E3).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn mkdir(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Mkd(path.clone()), Simple::MadeDir)
    }

    /// `RMD path`.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn rmdir(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Rmd(path.clone()), Simple::Done)
    }

    /// `DELE path`.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn delete(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Dele(path.clone()), Simple::Done)
    }

    /// `SIZE path` (RFC 3659 4).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn size(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Size(path.clone()), Simple::Size)
    }

    /// `MDTM path` (RFC 3659 3).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn mdtm(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Mdtm(path.clone()), Simple::Time)
    }

    /// `MFMT time path`.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn mfmt(&mut self, now: Instant, time: Timestamp, path: &Pathname) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Mfmt(time, path.clone()), Simple::Done)
    }

    /// `MLST path` (RFC 3659 7): the facts lines of the 250 reply.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn mlst(&mut self, now: Instant, path: Option<&Pathname>) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Mlst(path.cloned()), Simple::Facts)
    }

    /// `FEAT`: refreshes [`capabilities`](Self::capabilities).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn feat(&mut self, now: Instant) -> Result<OpId, StartError> {
        self.start_simple(now, Command::Feat, Simple::Features)
    }

    /// Any command, its final reply returned as is (extensions, `SITE`,
    /// `STAT`, `SYST`, `HELP`, `NOOP`).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn raw(&mut self, now: Instant, command: Command) -> Result<OpId, StartError> {
        self.start_simple(now, command, Simple::Raw)
    }

    /// `RNFR from` then `RNTO to` (RFC 959 4.1.3).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn rename(&mut self, now: Instant, from: &Pathname, to: &Pathname) -> Result<OpId, StartError> {
        let id = self.start(now, OpKind::Rename { to: to.clone(), sent_rnto: false })?;
        self.send(now, &Command::Rnfr(from.clone()));
        Ok(id)
    }

    /// `QUIT` (221, then close).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn quit(&mut self, now: Instant) -> Result<OpId, StartError> {
        let id = self.start(now, OpKind::Quit)?;
        self.send(now, &Command::Quit);
        Ok(id)
    }

    /// `REIN`: back to the just-greeted state; accepts RFC 959's 220 and the
    /// 230 pyftpdlib sends.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn rein(&mut self, now: Instant) -> Result<OpId, StartError> {
        let id = self.start(now, OpKind::Rein)?;
        self.send(now, &Command::Rein);
        Ok(id)
    }

    /// Downloads `path` from `offset` (REST, RFC 3659 5; SIZE first when the
    /// server has it, to detect a short download, SECURITY.md R5).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn retrieve(&mut self, now: Instant, path: &Pathname, offset: u64) -> Result<OpId, StartError> {
        self.transfer(now, Command::Retr(path.clone()), Direction::Download, self.config.ascii, offset)
    }

    /// Uploads to `path` (`STOR`), from `offset` when resuming.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn store(&mut self, now: Instant, path: &Pathname, offset: u64) -> Result<OpId, StartError> {
        self.transfer(now, Command::Stor(path.clone()), Direction::Upload, self.config.ascii, offset)
    }

    /// Appends to `path` (`APPE`).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn append(&mut self, now: Instant, path: &Pathname) -> Result<OpId, StartError> {
        self.transfer(now, Command::Appe(path.clone()), Direction::Upload, self.config.ascii, 0)
    }

    /// Uploads under a name the server chooses (`STOU`; the 150 reply says it).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn store_unique(&mut self, now: Instant) -> Result<OpId, StartError> {
        self.transfer(now, Command::Stou(None), Direction::Upload, self.config.ascii, 0)
    }

    /// Lists a directory over a data connection, in ASCII type.
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn list(&mut self, now: Instant, command: ListCommand, path: Option<&Pathname>) -> Result<OpId, StartError> {
        let path = path.cloned();
        let cmd = match self.list_command(command) {
            ListCommand::Mlsd => Command::Mlsd(path),
            ListCommand::Nlst => Command::Nlst(path),
            _ => Command::List(path),
        };
        self.transfer(now, cmd, Direction::Download, true, 0)
    }

    fn transfer(
        &mut self,
        now: Instant,
        command: Command,
        direction: Direction,
        ascii: bool,
        offset: u64,
    ) -> Result<OpId, StartError> {
        let t = Transfer { command, direction, ascii, offset, expected: None, step: Step::Size };
        let id = self.start(now, OpKind::Transfer(Box::new(t)))?;
        if offset > 0 && self.caps.size && direction == Direction::Download {
            if let Some(path) = self.transfer_path() {
                self.send(now, &Command::Size(path));
                return Ok(id);
            }
        }
        self.transfer_type(now);
        Ok(id)
    }

    fn transfer_path(&self) -> Option<Pathname> {
        match &self.op {
            Some(Op { kind: OpKind::Transfer(t), .. }) => match &t.command {
                Command::Retr(p) => Some(p.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The command [`list`](Self::list) sends for `command`: `Auto` is MLSD
    /// when the server's FEAT offered MLST (RFC 3659 7), LIST otherwise. Pass
    /// it to [`parse_listing`] with the bytes the transfer received.
    #[must_use]
    pub fn list_command(&self, command: ListCommand) -> ListCommand {
        match command {
            ListCommand::Auto if self.caps.mlst => ListCommand::Mlsd,
            ListCommand::Auto => ListCommand::List,
            other => other,
        }
    }

    /// Aborts the running transfer: Telnet IP and Synch (urgent), then
    /// `ABOR` (RFC 959 4.1.3); accepts 426 then 226, 226 alone, or 225.
    ///
    /// # Errors
    /// [`Misuse::UnexpectedInput`] when no transfer is running.
    pub fn abort(&mut self, now: Instant) -> Result<(), Misuse> {
        let Some(Op { kind: OpKind::Transfer(t), .. }) = &mut self.op else {
            return Err(Misuse::UnexpectedInput("no transfer to abort"));
        };
        if !t.step.commanded() {
            return Err(Misuse::UnexpectedInput("the transfer has not started"));
        }
        let data = t.step.data();
        t.step = Step::Aborting { got_426: false };
        if let Some(id) = data {
            self.out.push_back(Output::Data(DataAction::Close { id }));
        }
        self.out.push_back(Output::TransmitUrgent(Bytes::from_static(b"\xff\xf4\xff\xf2")));
        self.send(now, &Command::Abor);
        Ok(())
    }

    // ---- input ---------------------------------------------------------------

    /// Feeds one input.
    ///
    /// # Errors
    /// [`Misuse`] when the session is closed or the input does not fit.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), Misuse> {
        if self.conn == Conn::Closed {
            return Err(Misuse::Closed);
        }
        match input {
            Input::Control(bytes) => {
                if self.conn == Conn::AwaitTls {
                    // SECURITY.md L2: nothing may arrive between 234 and the handshake.
                    self.fail_all(OpError::Protocol("bytes after 234 before the TLS handshake"));
                    return Ok(());
                }
                self.input.extend_from_slice(bytes);
                self.read_replies(now);
            }
            Input::ControlEof => self.fail_all(OpError::Closed(None)),
            Input::TlsEstablished => {
                if self.conn != Conn::AwaitTls {
                    return Err(Misuse::UnexpectedInput("TLS established without a handshake"));
                }
                self.conn = Conn::Ready;
                self.secured = true;
                if let Some(Op { kind: OpKind::Login(l), .. }) = &self.op {
                    let mut l = (**l).clone();
                    l.step = LoginStep::User;
                    self.login_step(now, &l);
                }
            }
            Input::Timeout => self.on_timeout(now),
            Input::Data(id, event) => self.on_data(now, id, event),
        }
        Ok(())
    }

    fn read_replies(&mut self, now: Instant) {
        while self.conn != Conn::Closed && self.conn != Conn::AwaitTls {
            let Some(item) = self.decoder.decode(&mut self.input) else { break };
            match item {
                Ok(reply) => self.on_reply(now, reply),
                Err(_) => self.fail_all(OpError::Protocol("malformed reply")),
            }
        }
        if self.input.is_empty() && !self.decoder.has_partial_reply() {
            self.input = BytesMut::new();
        }
    }

    fn send(&mut self, now: Instant, cmd: &Command) {
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        self.out.push_back(Output::Transmit(buf.freeze()));
        self.reply_deadline = Some(now + self.config.reply_timeout);
        self.last_activity = now;
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// Ends the operation, closing the data connection a transfer holds.
    fn finish(&mut self, result: Result<OpOutput, OpError>) {
        self.reply_deadline = None;
        if let Some(id) = self.transfer_mut().and_then(|t| t.step.data()) {
            self.out.push_back(Output::Data(DataAction::Close { id }));
        }
        self.complete(result);
    }

    /// Ends the operation; a transfer's data connection is already gone
    /// (it ended, or never opened).
    fn complete(&mut self, result: Result<OpOutput, OpError>) {
        self.reply_deadline = None;
        if let Some(op) = self.op.take() {
            if !matches!(op.kind, OpKind::Simple(Simple::KeepAlive)) {
                self.event(Event::OpCompleted { op: op.id, result });
            }
        }
    }

    /// Ends every operation with `err` and closes (421, EOF, violations).
    fn fail_all(&mut self, err: OpError) {
        if self.conn == Conn::Closed {
            return;
        }
        self.finish(Err(err));
        self.conn = Conn::Closed;
        self.input = BytesMut::new();
        self.event(Event::Closed);
        self.out.push_back(Output::Close);
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.reply_deadline.is_some_and(|d| now >= d) {
            return self.fail_all(OpError::Timeout);
        }
        if let (Some(k), None, Conn::Ready) = (self.config.keepalive, &self.op, self.conn) {
            if now >= self.last_activity + k {
                self.next_id += 1;
                self.op = Some(Op { id: OpId(self.next_id), kind: OpKind::Simple(Simple::KeepAlive) });
                self.send(now, &Command::Noop);
            }
        }
    }

    fn on_reply(&mut self, now: Instant, reply: Reply) {
        self.last_activity = now;
        let code = reply.code();
        if self.conn == Conn::AwaitGreeting {
            return self.on_greeting(now, reply);
        }
        if code == ReplyCode::SERVICE_NOT_AVAILABLE {
            // RFC 959 4.2: 421 may answer anything; the session is over.
            return self.fail_all(OpError::Closed(Some(reply)));
        }
        let Some(op) = self.op.take() else {
            // SECURITY.md R3: a reply with nothing outstanding.
            return self.fail_all(OpError::Protocol("unsolicited reply"));
        };
        let id = op.id;
        if code.is_positive_preliminary() && !matches!(op.kind, OpKind::Transfer(_)) {
            self.op = Some(op);
            return self.event(Event::Intermediate { op: id, reply });
        }
        match op.kind {
            OpKind::Login(login) => {
                self.op = Some(Op { id, kind: OpKind::Login(login.clone()) });
                self.on_login_reply(now, *login, reply);
            }
            OpKind::Simple(kind) => {
                self.op = Some(Op { id, kind: OpKind::Simple(kind) });
                self.on_simple_reply(kind, reply);
            }
            OpKind::Rename { to, sent_rnto } => {
                if !sent_rnto && code == ReplyCode::FILE_ACTION_PENDING {
                    self.op = Some(Op { id, kind: OpKind::Rename { to: to.clone(), sent_rnto: true } });
                    self.send(now, &Command::Rnto(to));
                } else {
                    self.op = Some(Op { id, kind: OpKind::Rename { to, sent_rnto } });
                    let result = if sent_rnto && code.is_positive_completion() {
                        Ok(OpOutput::Done(reply))
                    } else {
                        Err(OpError::Rejected(reply))
                    };
                    self.finish(result);
                }
            }
            OpKind::Transfer(t) => {
                self.op = Some(Op { id, kind: OpKind::Transfer(t) });
                self.on_transfer_reply(now, reply);
            }
            OpKind::Quit => {
                self.op = Some(Op { id, kind: OpKind::Quit });
                self.finish(Ok(OpOutput::Done(reply)));
                self.conn = Conn::Closed;
                self.event(Event::Closed);
                self.out.push_back(Output::Close);
            }
            OpKind::Rein => {
                self.op = Some(Op { id, kind: OpKind::Rein });
                if code == ReplyCode::SERVICE_READY || code == ReplyCode::LOGGED_IN {
                    self.ascii_type = None;
                    if self.secured && !matches!(self.config.tls, TlsMode::Implicit) {
                        // RFC 4217 13: the server clears TLS after its reply.
                        self.secured = false;
                        self.out.push_back(Output::StopTls);
                    }
                    self.finish(Ok(OpOutput::Done(reply)));
                } else {
                    self.finish(Err(OpError::Rejected(reply)));
                }
            }
        }
    }

    fn on_greeting(&mut self, now: Instant, reply: Reply) {
        let code = reply.code();
        if code == ReplyCode::SERVICE_READY_IN {
            // RFC 959 5.4: 120, then 220 later.
            self.reply_deadline = Some(now + self.config.reply_timeout);
            return;
        }
        if code == ReplyCode::SERVICE_READY || code == ReplyCode::LOGGED_IN {
            // SECURITY.md A8 (CVE-2021-22946): a 230 greeting is taken as
            // 220; a required TLS upgrade still happens at login.
            self.conn = Conn::Ready;
            self.reply_deadline = None;
            return self.event(Event::Greeting(reply));
        }
        self.fail_all(OpError::Closed(Some(reply)));
    }

    fn on_login_reply(&mut self, now: Instant, mut login: Login, reply: Reply) {
        let code = reply.code();
        let next = match login.step {
            LoginStep::Auth => {
                if code == ReplyCode::AUTH_OK {
                    if !self.input.is_empty() || self.decoder.has_partial_reply() {
                        // SECURITY.md L2 (CVE-2021-22947).
                        return self.fail_all(OpError::Protocol("bytes after 234 before the TLS handshake"));
                    }
                    self.conn = Conn::AwaitTls;
                    self.reply_deadline = None;
                    self.out.push_back(Output::StartTls);
                    return;
                }
                match self.config.tls {
                    TlsMode::Explicit { allow_plaintext_fallback: true } => LoginStep::User,
                    _ => return self.finish(Err(OpError::TlsRefused(reply))),
                }
            }
            LoginStep::Pbsz if code.is_positive_completion() => LoginStep::Prot,
            LoginStep::Prot if code.is_positive_completion() => match self.after_protection() {
                Some(step) => step,
                None => return self.finish(Ok(OpOutput::LoggedIn)),
            },
            LoginStep::User | LoginStep::Pass | LoginStep::Acct if code == ReplyCode::LOGGED_IN => {
                if self.secured {
                    // RFC 4217 section 9: the data protection defaults to
                    // C under TLS too, so PBSZ 0 and PROT are always sent.
                    LoginStep::Pbsz
                } else {
                    match self.after_protection() {
                        Some(step) => step,
                        None => return self.finish(Ok(OpOutput::LoggedIn)),
                    }
                }
            }
            LoginStep::User if code == ReplyCode::NEED_PASSWORD => LoginStep::Pass,
            LoginStep::User | LoginStep::Pass if code == ReplyCode::NEED_ACCOUNT => LoginStep::Acct,
            LoginStep::Feat => {
                self.caps = Capabilities::from_feat(&reply);
                if self.caps.utf8 {
                    LoginStep::Utf8
                } else {
                    return self.finish(Ok(OpOutput::LoggedIn));
                }
            }
            LoginStep::Utf8 => return self.finish(Ok(OpOutput::LoggedIn)),
            _ => return self.finish(Err(OpError::Rejected(reply))),
        };
        login.step = next;
        self.login_step(now, &login);
    }

    /// The login step after `USER`/`PASS` (and `PBSZ`/`PROT` under TLS):
    /// `FEAT` when enabled, else none (logged in).
    fn after_protection(&self) -> Option<LoginStep> {
        self.config.auto_feat.then_some(LoginStep::Feat)
    }

    fn on_simple_reply(&mut self, kind: Simple, reply: Reply) {
        let code = reply.code();
        let ok = code.is_positive_completion();
        let result = match kind {
            Simple::Raw => Ok(OpOutput::Done(reply)),
            Simple::KeepAlive => Ok(OpOutput::Done(reply)),
            _ if !ok => Err(OpError::Rejected(reply)),
            Simple::Done => Ok(OpOutput::Done(reply)),
            Simple::Pathname if code == ReplyCode::PATHNAME_CREATED => match reply.pathname() {
                Ok(p) if clean_path(&p) => Ok(OpOutput::Pathname(p)),
                Ok(_) => Err(OpError::Protocol("control character in a 257 pathname")),
                Err(_) => Err(OpError::Protocol("malformed 257 pathname")),
            },
            Simple::MadeDir if code == ReplyCode::PATHNAME_CREATED => match reply.pathname() {
                Ok(p) if clean_path(&p) => Ok(OpOutput::Pathname(p)),
                Ok(_) => Err(OpError::Protocol("control character in a 257 pathname")),
                // RFC 959 Appendix II: the directory was made; which name
                // it got is not said.
                Err(_) => Ok(OpOutput::Done(reply)),
            },
            Simple::Pathname | Simple::MadeDir => Ok(OpOutput::Done(reply)),
            Simple::Size => reply.size().map(OpOutput::Size).map_err(|_| OpError::Protocol("malformed SIZE reply")),
            Simple::Time => {
                reply.modification_time().map(OpOutput::Time).map_err(|_| OpError::Protocol("malformed MDTM reply"))
            }
            Simple::Facts => {
                let lines = reply.lines();
                let facts = if lines.len() > 2 { lines[1..lines.len() - 1].to_vec() } else { Vec::new() };
                Ok(OpOutput::Facts(facts))
            }
            Simple::Features => {
                self.caps = Capabilities::from_feat(&reply);
                Ok(OpOutput::Features(self.caps.clone()))
            }
        };
        self.finish(result);
    }

    // ---- transfers -----------------------------------------------------------

    /// The running transfer, if the operation is one.
    fn transfer_mut(&mut self) -> Option<&mut Transfer> {
        match &mut self.op {
            Some(Op { kind: OpKind::Transfer(t), .. }) => Some(t),
            _ => None,
        }
    }

    /// Moves the running transfer to `step`.
    fn set_step(&mut self, step: Step) {
        if let Some(t) = self.transfer_mut() {
            t.step = step;
        }
    }

    fn transfer_type(&mut self, now: Instant) {
        let Some(ascii) = self.transfer_mut().map(|t| t.ascii) else { return };
        if self.ascii_type == Some(ascii) {
            return self.transfer_setup(now);
        }
        self.set_step(Step::Type);
        let ty = if ascii { TransferType::Ascii(None) } else { TransferType::Image };
        self.send(now, &Command::Type(ty));
    }

    fn new_data_id(&mut self) -> DataId {
        self.next_id += 1;
        DataId(self.next_id)
    }

    fn transfer_setup(&mut self, now: Instant) {
        if self.config.data_mode == DataMode::Active {
            let id = self.new_data_id();
            self.set_step(Step::Listening(Link::Pending(id)));
            let family = NetProto::of(&self.peer.ip().to_canonical());
            return self.out.push_back(Output::Data(DataAction::Listen { id, family }));
        }
        if self.epsv_refused {
            self.set_step(Step::Pasv);
            self.send(now, &Command::Pasv);
        } else {
            self.set_step(Step::Epsv);
            self.send(now, &Command::Epsv(EpsvArg::Any));
        }
    }

    fn connect(&mut self, addr: SocketAddr, reported: Option<SocketAddrV4>, decision: PasvDecision) {
        let id = self.new_data_id();
        self.set_step(Step::Connecting(Link::Pending(id)));
        self.event(Event::PassiveAddress { reported, used: addr, decision });
        self.out.push_back(Output::Data(DataAction::Connect { id, addr }));
    }

    /// RFC 1123 4.1.2.6 / SECURITY.md D5: the 227 address goes through the policy.
    fn pasv_target(&self, reported: SocketAddrV4) -> (SocketAddr, PasvDecision) {
        let peer = SocketAddr::new(self.peer.ip(), reported.port());
        match self.config.pasv_policy {
            PasvPolicy::UseControlPeer => (peer, PasvDecision::ControlPeer),
            PasvPolicy::Trust => (SocketAddr::V4(reported), PasvDecision::Trusted),
            PasvPolicy::SubstituteUnroutable => {
                if unroutable(IpAddr::V4(*reported.ip())) && !unroutable(self.peer.ip()) {
                    (peer, PasvDecision::Substituted)
                } else {
                    (SocketAddr::V4(reported), PasvDecision::Trusted)
                }
            }
        }
    }

    /// With the data connection set up (`link`): `REST` first when resuming
    /// and not sent yet, then the transfer command.
    fn transfer_command(&mut self, now: Instant, link: Link) {
        let Some(t) = self.transfer_mut() else { return };
        if t.offset > 0 && !matches!(t.step, Step::Rest(_)) {
            let offset = t.offset;
            t.step = Step::Rest(link);
            return self.send(now, &Command::Rest(offset));
        }
        t.step = Step::Command(link);
        let cmd = t.command.clone();
        self.send(now, &cmd);
    }

    /// Carries out a transition of the steps after the command.
    fn advance(&mut self, next: Next) {
        match next {
            Next::Wait(step) => self.set_step(step),
            Next::Move(step) => {
                self.set_step(step);
                self.start_moving();
            }
            Next::Done(end) => self.data_ended(end),
            Next::Empty => self.finish(Ok(OpOutput::Transferred { bytes: 0 })),
        }
    }

    /// Hands the data connection the bytes (`DataAction::Transfer`).
    fn start_moving(&mut self) {
        let tls = DataTls {
            required: self.secured && self.config.protect_data,
            resume_control_session: self.config.resume_tls_session,
        };
        let Some(t) = self.transfer_mut() else { return };
        let Some(id) = t.step.data() else { return };
        let direction = t.direction;
        self.out.push_back(Output::Data(DataAction::Transfer { id, direction, tls }));
        // The data moves for as long as it takes: the reply deadline
        // starts again when the data side ends (SECURITY.md R5).
        self.reply_deadline = None;
    }

    /// Completes a transfer whose final reply and data side are both known.
    fn data_ended(&mut self, end: DataEnd) {
        let Some(t) = self.transfer_mut() else { return };
        let result = match end {
            DataEnd::Finished(n) => {
                let received = t.offset + n;
                match t.expected {
                    Some(expected) if t.direction == Direction::Download && received < expected => {
                        Err(OpError::Partial { expected, received })
                    }
                    _ => Ok(OpOutput::Transferred { bytes: n }),
                }
            }
            DataEnd::Failed => Err(OpError::DataConnection),
        };
        self.complete(result);
    }

    fn on_transfer_reply(&mut self, now: Instant, reply: Reply) {
        let code = reply.code();
        let Some(t) = self.transfer_mut() else { return };
        let step = t.step;
        let id = self.op.as_ref().map(|o| o.id).expect("op");
        match step {
            Step::Size => {
                if let (Ok(n), Some(t)) = (reply.size(), self.transfer_mut()) {
                    t.expected = Some(n);
                }
                self.transfer_type(now);
            }
            Step::Type if code.is_positive_completion() => {
                self.ascii_type = self.transfer_mut().map(|t| t.ascii);
                self.transfer_setup(now);
            }
            Step::Epsv if code == ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => match reply.extended_passive_port() {
                Ok(port) => self.connect(SocketAddr::new(self.peer.ip(), port), None, PasvDecision::Extended),
                Err(_) => self.fail_all(OpError::Protocol("malformed 229 reply")),
            },
            Step::Epsv if code == ReplyCode::SYNTAX_ERROR || code == ReplyCode::COMMAND_NOT_IMPLEMENTED => {
                // RFC 2428 / PEERS.md pain point 3: fall back to PASV, and
                // remember it for the session.
                self.epsv_refused = true;
                self.set_step(Step::Pasv);
                self.send(now, &Command::Pasv);
            }
            // A 227 answer to EPSV (PEERS.md section 3, basic-ftp #164) goes
            // through the same policy.
            Step::Pasv | Step::Epsv if code == ReplyCode::ENTERING_PASSIVE_MODE => match reply.passive_addr() {
                Ok(reported) => {
                    let (addr, decision) = self.pasv_target(reported);
                    self.connect(addr, Some(reported), decision);
                }
                Err(_) => self.fail_all(OpError::Protocol("malformed 227 reply")),
            },
            Step::Pasv if code == ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => match reply.extended_passive_port() {
                // A 229 answer to PASV (cpython #127478): usable all the same.
                Ok(port) => self.connect(SocketAddr::new(self.peer.ip(), port), None, PasvDecision::Extended),
                Err(_) => self.fail_all(OpError::Protocol("malformed 229 reply")),
            },
            Step::Port(link) if code.is_positive_completion() => self.transfer_command(now, link),
            Step::Rest(link) if code == ReplyCode::FILE_ACTION_PENDING => self.transfer_command(now, link),
            _ if step.commanded() && code.is_positive_preliminary() => {
                if step.awaits_preliminary() && code == ReplyCode::FILE_STATUS_OK {
                    if let (Some(n), Some(t)) = (reply.transfer_size(), self.transfer_mut()) {
                        if t.expected.is_none() && t.direction == Direction::Download {
                            t.expected = Some(n);
                        }
                    }
                }
                // 110 restart markers and other preliminaries are passed on.
                self.event(Event::Intermediate { op: id, reply });
                self.advance(step.on_preliminary());
            }
            _ if step.commanded() && code.is_positive_completion() => {
                let next = step.on_final_ok();
                if let Next::Wait(Step::FinalAccepting(_)) = next {
                    // Active mode: the server said 150 and connected, and its
                    // 226 overtook our accept. The data is on its way; wait
                    // for it, but not for ever.
                    self.reply_deadline = Some(now + self.config.reply_timeout);
                }
                self.advance(next);
            }
            _ if step.commanded() => self.finish(Err(OpError::Rejected(reply))),
            Step::Aborting { got_426 } => {
                if code.is_positive_preliminary() {
                    // The 125/150 of the transfer, sent before the server saw ABOR.
                } else if code == ReplyCode::TRANSFER_ABORTED && !got_426 {
                    self.set_step(Step::Aborting { got_426: true });
                } else if code.is_positive_completion() {
                    self.finish(Err(OpError::Aborted));
                } else {
                    self.finish(Err(OpError::Rejected(reply)));
                }
            }
            _ => self.finish(Err(OpError::Rejected(reply))),
        }
    }

    fn on_data(&mut self, now: Instant, id: DataId, event: DataEvent) {
        let Some(step) = self.transfer_mut().map(|t| t.step) else { return };
        if step.data() != Some(id) {
            return; // A closed connection: late events are ignored.
        }
        match event {
            DataEvent::Connected => {
                if let Step::Connecting(_) = step {
                    self.transfer_command(now, Link::Open(id));
                }
            }
            DataEvent::ConnectFailed | DataEvent::ListenFailed => {
                // The connection never opened: nothing to close.
                self.complete(Err(OpError::DataConnection));
            }
            DataEvent::Listening { addr } => {
                if let Step::Listening(link) = step {
                    self.set_step(Step::Port(link));
                    let cmd = match addr {
                        SocketAddr::V4(v4) => Command::Port(v4),
                        v6 => Command::Eprt(v6),
                    };
                    self.send(now, &cmd);
                }
            }
            DataEvent::Accepted { peer } => match step.on_accepted() {
                // SECURITY.md D4: only the server may connect, and only
                // once (a second connection would get a second Transfer).
                Accept::Take(next) if peer.ip().to_canonical() == self.peer.ip().to_canonical() => self.advance(next),
                _ => self.out.push_back(Output::Data(DataAction::Reject { id, peer })),
            },
            DataEvent::Finished { .. } | DataEvent::Failed { .. } => {
                let end = match event {
                    DataEvent::Finished { bytes } => DataEnd::Finished(bytes),
                    _ => DataEnd::Failed,
                };
                // The end of bytes never asked for is not this transfer's.
                let Some(next) = step.on_data_end(end) else { return };
                self.reply_deadline = Some(now + self.config.reply_timeout);
                self.advance(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Session-level checks of the transfer steps a driver reaches only by
    //! reporting data events out of turn (the transcripts in
    //! `tests/client.rs` follow the contract).

    use super::*;

    /// Feeds `input` and drains to `Wait`.
    fn feed(s: &mut Session, now: Instant, input: Input<'_>) -> Vec<Output> {
        s.handle_input(now, input).expect("input taken");
        drain(s)
    }

    fn drain(s: &mut Session) -> Vec<Output> {
        let mut out = Vec::new();
        loop {
            match s.poll_output() {
                Output::Wait(_) => return out,
                o => out.push(o),
            }
        }
    }

    /// A greeted session with a passive `RETR f` whose data connection is
    /// open and whose `RETR` went out; returns the data id.
    fn retr_sent(s: &mut Session, now: Instant) -> DataId {
        feed(s, now, Input::Control(b"220 ready\r\n"));
        s.retrieve(now, &Pathname::try_from("f").expect("valid"), 0).expect("starts");
        drain(s);
        feed(s, now, Input::Control(b"200 ok\r\n"));
        let out = feed(s, now, Input::Control(b"229 (|||50000|)\r\n"));
        let id = out
            .iter()
            .find_map(|o| match o {
                Output::Data(DataAction::Connect { id, .. }) => Some(*id),
                _ => None,
            })
            .expect("a Connect");
        feed(s, now, Input::Data(id, DataEvent::Connected));
        id
    }

    fn completed(out: &[Output]) -> Option<&Result<OpOutput, OpError>> {
        out.iter().find_map(|o| match o {
            Output::Event(Event::OpCompleted { result, .. }) => Some(result),
            _ => None,
        })
    }

    #[allow(clippy::disallowed_methods)] // A test picks its starting instant.
    fn start() -> (Session, Instant) {
        let now = Instant::now();
        (Session::new(ClientConfig::default().auto_feat(false), "127.0.0.1:21".parse().expect("valid"), now), now)
    }

    /// A data end reported before the 1xx is kept (`Step::EarlyEnd`), and
    /// the 150 that follows still announces the size: 43 of 100 bytes is a
    /// short download (SECURITY.md R5), as before the steps were an enum.
    #[test]
    fn a_data_end_before_the_150_keeps_the_announced_size() {
        let (mut s, now) = start();
        let id = retr_sent(&mut s, now);
        assert!(feed(&mut s, now, Input::Data(id, DataEvent::Finished { bytes: 43 })).is_empty());
        feed(&mut s, now, Input::Control(b"150 Opening BINARY mode data connection (100 bytes).\r\n"));
        let out = feed(&mut s, now, Input::Control(b"226 Transfer complete\r\n"));
        assert_eq!(completed(&out), Some(&Err(OpError::Partial { expected: 100, received: 43 })));
    }

    /// A data end reported while the connection is still being set up is
    /// not about this transfer's bytes (none were asked for): it is
    /// ignored, and the transfer goes on to ask for them.
    #[test]
    fn a_data_end_before_the_command_is_ignored() {
        let (mut s, now) = start();
        feed(&mut s, now, Input::Control(b"220 ready\r\n"));
        s.retrieve(now, &Pathname::try_from("f").expect("valid"), 0).expect("starts");
        drain(&mut s);
        feed(&mut s, now, Input::Control(b"200 ok\r\n"));
        let out = feed(&mut s, now, Input::Control(b"229 (|||50000|)\r\n"));
        let Some(Output::Data(DataAction::Connect { id, .. })) = out.last() else { panic!("{out:?}") };
        let id = *id;
        assert!(feed(&mut s, now, Input::Data(id, DataEvent::Failed { bytes: 0 })).is_empty());
        feed(&mut s, now, Input::Data(id, DataEvent::Connected));
        let out = feed(&mut s, now, Input::Control(b"150 ok\r\n"));
        assert!(
            out.iter().any(|o| matches!(o, Output::Data(DataAction::Transfer { id: t, .. }) if *t == id)),
            "{out:?}"
        );
        feed(&mut s, now, Input::Data(id, DataEvent::Finished { bytes: 5 }));
        let out = feed(&mut s, now, Input::Control(b"226 Transfer complete\r\n"));
        assert_eq!(completed(&out), Some(&Ok(OpOutput::Transferred { bytes: 5 })));
    }
}
