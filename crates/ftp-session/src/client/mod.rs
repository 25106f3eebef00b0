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
mod login;
mod run;
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

use login::Login;
use transfer::{Accept, DataEnd, Link, Next, Retry, Step, Transfer};

use crate::Misuse;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    AwaitGreeting,
    Ready,
    AwaitTls,
    Closed,
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
    /// The greeting was 230 (RFC 959 5.4: the server needs no login): the
    /// login sends no USER, only what the connection needs (AUTH TLS first
    /// when TLS is required, then PBSZ/PROT, FEAT).
    greeted_logged_in: bool,
    /// Why the session closed, when it did on a violation, a timeout or
    /// the peer's end (see [`close_reason`](Self::close_reason)).
    close_reason: Option<OpError>,
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
            greeted_logged_in: false,
            close_reason: None,
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

    /// Why the session closed, once it has: the error every operation
    /// outstanding then got. Useful when nothing was outstanding (a
    /// greeting that is not FTP, a timeout while idle).
    #[must_use]
    pub fn close_reason(&self) -> Option<&OpError> {
        self.close_reason.as_ref()
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

    /// [`retrieve`](Self::retrieve) of a file whose size the caller already
    /// asked (`SIZE`, for a progress bar): it is not asked again, and the
    /// download is held to it (SECURITY.md R5).
    ///
    /// # Errors
    /// [`StartError`] when an operation cannot start now.
    pub fn retrieve_sized(
        &mut self,
        now: Instant,
        path: &Pathname,
        offset: u64,
        size: u64,
    ) -> Result<OpId, StartError> {
        self.transfer_expecting(
            now,
            Command::Retr(path.clone()),
            Direction::Download,
            self.config.ascii,
            offset,
            Some(size),
        )
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
                    let l = (**l).clone();
                    self.credentials_or_logged_in(now, l);
                }
            }
            Input::Timeout => self.on_timeout(now),
            Input::Data(id, event) => self.on_data(now, id, event),
        }
        Ok(())
    }
}

/// Why a reply that is not text ends the session (SECURITY.md F5).
const NOT_TEXT: &str = "a reply line holds a NUL, a bare CR or another control byte (SECURITY.md F5)";

/// SECURITY.md F5: whether a reply holds bytes no FTP reply text has: a
/// NUL or a CR on its own (RFC 2640 3.1 sends a CR inside a name as
/// CR NUL; that pair is text), another C0 control but HT, or DEL. ESC is
/// let through: ANSI-coloured banners exist (glftpd sites), and the text is
/// escaped before it is shown (R4).
fn not_text(reply: &Reply) -> bool {
    reply.lines().iter().any(|line| {
        let b = line.as_bytes();
        (0..b.len()).any(|i| match b[i] {
            b'\r' => b.get(i + 1) != Some(&0),
            0 => i == 0 || b[i - 1] != b'\r',
            b'\t' | 0x1b => false,
            c => c < 0x20 || c == 0x7f,
        })
    })
}

impl Session {
    fn read_replies(&mut self, now: Instant) {
        while self.conn != Conn::Closed && self.conn != Conn::AwaitTls {
            let Some(item) = self.decoder.decode(&mut self.input) else { break };
            match item {
                Ok(reply) if not_text(&reply) => self.fail_all(OpError::Protocol(NOT_TEXT)),
                Err(ftp_proto::ReplyError::BareCarriageReturn { .. }) => self.fail_all(OpError::Protocol(NOT_TEXT)),
                Ok(reply) => self.on_reply(now, reply),
                // Another service on the port: an HTTP response, an SSH or
                // SMTP banner. Said at once rather than waited out.
                Err(_) if self.conn == Conn::AwaitGreeting => {
                    self.fail_all(OpError::Protocol("the server's greeting is not FTP (an HTTP or SSH server?)"))
                }
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
        if let Some(op) = self.op.take()
            && !matches!(op.kind, OpKind::Simple(Simple::KeepAlive))
        {
            self.event(Event::OpCompleted { op: op.id, result });
        }
    }

    /// Ends every operation with `err` and closes (421, EOF, violations).
    fn fail_all(&mut self, err: OpError) {
        if self.conn == Conn::Closed {
            return;
        }
        self.close_reason = Some(err.clone());
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
        if let (Some(k), None, Conn::Ready) = (self.config.keepalive, &self.op, self.conn)
            && now >= self.last_activity + k
        {
            self.next_id += 1;
            self.op = Some(Op { id: OpId(self.next_id), kind: OpKind::Simple(Simple::KeepAlive) });
            self.send(now, &Command::Noop);
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
}

#[cfg(test)]
mod tests;
