//! Property tests of the server session: random command sequences, fed in
//! random chunks, with a caller that answers requests and reports data
//! events at random but plausibly.
//!
//! A model driver keeps, in order, the command lines whose bytes it has
//! fed and that have not had their final reply yet, and matches every
//! reply the session transmits against them:
//!
//! - a 1yz reply is preliminary: a 150/125 must be for the transfer command
//!   at the head, a 120 for a REIN received during a transfer;
//! - `213 Status:` is STAT during a transfer: the head must be the transfer
//!   command and the STAT the very next line (RFC 959 4.1.3, SECURITY.md X2);
//! - 421 closes the session (error limits, failed logins, timeouts): the
//!   lines still waiting get no reply;
//! - any other reply is the final reply of the head, and its code must be
//!   one that command can get in the model's state (530 for anything but the
//!   pre-login allow-list before login, 503 for PORT and PASV after EPSV ALL,
//!   226 for a transfer only when the driver reported it finished...).
//!
//! ABOR during a transfer thus gives 426 to the transfer and 226 to ABOR;
//! QUIT and REIN during a transfer get their reply after the transfer's.
//! `AUTH TLS` (and REIN under TLS) discard everything read behind them
//! (SECURITY.md L1): the driver drops those lines and skips to the next line
//! start. At the end, unless the session closed, every line must have had
//! exactly one final reply; a reply with no line waiting fails at once.
//!
//! Data actions are checked against the line at the head: `Listen` only for
//! PASV/EPSV (never PASV after EPSV ALL), `Connect` (only to the control
//! peer, port 1024 or above: D1) and `Transfer` only for a transfer command,
//! none of them before login (SECURITY.md S1, D7). Requests before login
//! are only the login's. An upload cut short must be reported
//! (`UploadIncomplete`) with its failing reply (X3).
//!
//! The driver either pipelines (sends lines without waiting for replies) or
//! waits for each final reply and sends only while a transfer command is
//! pending, as an interactive client sends ABOR or STAT during a RETR. It
//! feeds a line at a time or in random chunks (1-byte reads included),
//! answers each request with a random fitting answer (now or after more
//! input), reports listeners (or their failure), connections (from the
//! control peer or a third host), connects, progress, ends and failures of
//! transfers, completes TLS handshakes (after sometimes sending a line
//! during one) and, rarely or when nothing else is left, lets time pass to
//! the next deadline. The session's limits are random too: error limits,
//! the command queue bound (C4, 0 included), the failed-login delay (A1).
//! Set `FTPKIT_PROP_TRACE=1` to print every input and output.

// A driver takes its `now` from the clock; the session never does.
#![allow(clippy::disallowed_methods)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ftp_proto::{ParseOptions, Reply, ReplyDecoder};
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, Event, Input, Output, RequestId, RequestKind,
    ServerConfig, Session, StorageError,
};
use proptest::prelude::*;

/// Line limit of the sessions under test, so overlong lines stay cheap.
const MAX_LINE: usize = 128;

/// What a command line is, for matching its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Pass,
    Acct,
    Pasv,
    Epsv,
    EpsvAll,
    Port,
    Retr,
    Stor,
    List,
    Abor,
    Stat,
    Quit,
    Rein,
    Noop,
    Type,
    Rest,
    Rnfr,
    Rnto,
    Cwd,
    Mkd,
    Garbage,
    Overlong,
    Auth,
    Pbsz,
    Prot,
}

impl Kind {
    fn is_transfer(self) -> bool {
        matches!(self, Self::Retr | Self::Stor | Self::List)
    }

    /// RFC 959 and SECURITY.md S1: what may run before login.
    fn allowed_before_login(self) -> bool {
        matches!(
            self,
            Self::User
                | Self::Pass
                | Self::Acct
                | Self::Quit
                | Self::Rein
                | Self::Noop
                | Self::Auth
                | Self::Pbsz
                | Self::Prot
                | Self::Garbage
                | Self::Overlong
        )
    }
}

#[derive(Clone)]
struct Line {
    kind: Kind,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = String::from_utf8_lossy(&self.bytes);
        if text.len() > 40 { write!(f, "{:?}..({} bytes)", &text[..20], text.len()) } else { write!(f, "{text:?}") }
    }
}

fn fixed(kind: Kind, text: &'static [u8]) -> BoxedStrategy<Line> {
    let mut bytes = text.to_vec();
    bytes.extend_from_slice(b"\r\n");
    Just(Line { kind, bytes }).boxed()
}

/// Weights of the command mix; each test leans on its own area.
#[derive(Debug, Clone, Copy)]
struct Mix {
    login: u32,
    setup: u32,
    transfer: u32,
    control: u32,
    epsv_all: u32,
    misc: u32,
    tls: u32,
}

const BALANCED: Mix = Mix { login: 6, setup: 8, transfer: 8, control: 6, epsv_all: 1, misc: 6, tls: 3 };

fn line(mix: Mix, tls: bool) -> BoxedStrategy<Line> {
    let garbage =
        "ZZ[a-z0-9 ]{0,30}".prop_map(|s| Line { kind: Kind::Garbage, bytes: format!("{s}\r\n").into_bytes() });
    let overlong = (2 * MAX_LINE..3 * MAX_LINE)
        .prop_map(|n| Line { kind: Kind::Overlong, bytes: format!("NOOP {}\r\n", "x".repeat(n)).into_bytes() });
    let mut choices: Vec<(u32, BoxedStrategy<Line>)> = vec![
        (mix.login * 2, fixed(Kind::User, b"USER alice")),
        (mix.login, fixed(Kind::User, b"USER anonymous")),
        (mix.login * 3, fixed(Kind::Pass, b"PASS x")),
        (1, fixed(Kind::Acct, b"ACCT acme")),
        (mix.setup * 2, fixed(Kind::Pasv, b"PASV")),
        (mix.setup * 2, fixed(Kind::Epsv, b"EPSV")),
        (mix.setup, fixed(Kind::Port, b"PORT 127,0,0,1,4,1")),
        (mix.setup, fixed(Kind::Port, b"EPRT |1|127.0.0.1|1025|")),
        (mix.setup.div_ceil(2), fixed(Kind::Port, b"PORT 10,0,0,9,4,1")),
        (mix.setup.div_ceil(2), fixed(Kind::Port, b"PORT 127,0,0,1,0,21")),
        (mix.epsv_all, fixed(Kind::EpsvAll, b"EPSV ALL")),
        (mix.transfer * 2, fixed(Kind::Retr, b"RETR f")),
        (mix.transfer, fixed(Kind::Stor, b"STOR f")),
        (mix.transfer * 2, fixed(Kind::List, b"LIST")),
        (mix.control * 2, fixed(Kind::Abor, b"ABOR")),
        (mix.control, fixed(Kind::Abor, b"\xff\xf4\xff\xf2ABOR")),
        (mix.control * 2, fixed(Kind::Stat, b"STAT")),
        (mix.control.div_ceil(4), fixed(Kind::Quit, b"QUIT")),
        (mix.control.div_ceil(3), fixed(Kind::Rein, b"REIN")),
        (mix.misc, fixed(Kind::Noop, b"NOOP")),
        (mix.misc, fixed(Kind::Type, b"TYPE I")),
        (mix.misc, fixed(Kind::Type, b"TYPE A")),
        (mix.misc, fixed(Kind::Rest, b"REST 100")),
        (mix.misc, fixed(Kind::Rnfr, b"RNFR a")),
        (mix.misc, fixed(Kind::Rnto, b"RNTO b")),
        (mix.misc, fixed(Kind::Cwd, b"CWD d")),
        (mix.misc, fixed(Kind::Mkd, b"MKD d")),
        (mix.misc, garbage.boxed()),
        (mix.misc.div_ceil(2), overlong.boxed()),
    ];
    if tls {
        choices.extend([
            (mix.tls * 2, fixed(Kind::Auth, b"AUTH TLS")),
            (mix.tls, fixed(Kind::Pbsz, b"PBSZ 0")),
            (mix.tls, fixed(Kind::Prot, b"PROT P")),
            (mix.tls, fixed(Kind::Prot, b"PROT C")),
        ]);
    }
    proptest::strategy::Union::new_weighted(choices.into_iter().filter(|(w, _)| *w > 0).collect()).boxed()
}

/// One generated session.
#[derive(Debug, Clone)]
struct Case {
    anonymous: bool,
    tls: bool,
    max_errors: u32,
    max_pending: usize,
    login_delay: Duration,
    /// Send lines without waiting for replies; else wait for each final
    /// reply, except that commands go out while a transfer is pending.
    pipelined: bool,
    lines: Vec<Line>,
    chunks: Vec<usize>,
    dice: Vec<u8>,
}

/// A data connection set up, a transfer command, then what may arrive
/// while it runs.
fn transfer_block(mix: Mix) -> BoxedStrategy<Vec<Line>> {
    let setup = proptest::strategy::Union::new_weighted(vec![
        (3, fixed(Kind::Pasv, b"PASV")),
        (3, fixed(Kind::Epsv, b"EPSV")),
        (2, fixed(Kind::Port, b"PORT 127,0,0,1,4,1")),
        (1, fixed(Kind::Port, b"EPRT |1|127.0.0.1|1025|")),
        (mix.epsv_all + 1, fixed(Kind::EpsvAll, b"EPSV ALL")),
    ]);
    let transfer = prop_oneof![fixed(Kind::Retr, b"RETR f"), fixed(Kind::Stor, b"STOR f"), fixed(Kind::List, b"LIST")];
    let during = proptest::strategy::Union::new_weighted(vec![
        (4, fixed(Kind::Abor, b"ABOR")),
        (1, fixed(Kind::Abor, b"\xff\xf4\xff\xf2ABOR")),
        (4, fixed(Kind::Stat, b"STAT")),
        (1, fixed(Kind::Quit, b"QUIT")),
        (2, fixed(Kind::Rein, b"REIN")),
        (2, fixed(Kind::Noop, b"NOOP")),
        (1, fixed(Kind::Retr, b"RETR f")),
        (1, fixed(Kind::Epsv, b"EPSV")),
    ]);
    (setup, transfer, prop::collection::vec(during, 0..4))
        .prop_map(|(setup, transfer, during)| {
            let mut lines = vec![setup, transfer];
            for l in during {
                let rein = l.kind == Kind::Rein;
                lines.push(l);
                if rein {
                    // A client that reinitialises logs in again.
                    lines.push(Line { kind: Kind::User, bytes: b"USER alice\r\n".to_vec() });
                    lines.push(Line { kind: Kind::Pass, bytes: b"PASS x\r\n".to_vec() });
                }
            }
            lines
        })
        .boxed()
}

/// Blocks of lines: a login, a transfer with what comes during it, or any
/// one line.
fn block(mix: Mix, tls: bool) -> BoxedStrategy<Vec<Line>> {
    let login = prop_oneof![fixed(Kind::User, b"USER alice"), fixed(Kind::User, b"USER anonymous")]
        .prop_map(|user| vec![user, Line { kind: Kind::Pass, bytes: b"PASS x\r\n".to_vec() }]);
    proptest::strategy::Union::new_weighted(vec![
        (12, line(mix, tls).prop_map(|l| vec![l]).boxed()),
        (mix.login, login.boxed()),
        (mix.transfer, transfer_block(mix)),
    ])
    .boxed()
}

fn case(mix: Mix, tls_always: bool, login_prefix: bool) -> impl Strategy<Value = Case> {
    (any::<bool>(), any::<bool>(), prop::bool::weighted(0.8))
        .prop_flat_map(move |(anonymous, tls, prefix)| {
            let tls = tls || tls_always;
            (
                Just(anonymous),
                Just(tls),
                prop_oneof![3 => Just(1000u32), 1 => 2u32..6],
                prop_oneof![7 => 1usize..8, 1 => Just(0usize)],
                (prop_oneof![Just(Duration::ZERO), Just(Duration::from_secs(2))], any::<bool>()),
                prop::collection::vec(block(mix, tls), 1..24).prop_map(|b| b.concat()),
                Just(prefix && login_prefix),
                prop::collection::vec(
                    prop_oneof![2 => Just(1usize), 6 => 1usize..16, 2 => 16usize..64, 1 => 64usize..400],
                    1..12,
                ),
                prop::collection::vec(any::<u8>(), 16..128),
            )
        })
        .prop_map(
            |(anonymous, tls, max_errors, max_pending, (login_delay, pipelined), mut lines, prefix, chunks, dice)| {
                if prefix {
                    let user = if anonymous { "USER anonymous\r\n" } else { "USER alice\r\n" };
                    lines.insert(0, Line { kind: Kind::User, bytes: user.as_bytes().to_vec() });
                    lines.insert(1, Line { kind: Kind::Pass, bytes: b"PASS x\r\n".to_vec() });
                }
                Case { anonymous, tls, max_errors, max_pending, login_delay, pipelined, lines, chunks, dice }
            },
        )
}

/// The driver: the session, the bytes still to feed, the lines waiting for
/// their final reply, and what the caller knows of requests and data.
struct Driver {
    session: Session,
    conn: Connection,
    now: Instant,
    lines: Vec<Line>,
    /// Start offset of each line in `stream`.
    starts: Vec<usize>,
    stream: Vec<u8>,
    /// Bytes fed so far.
    pos: usize,
    /// Lines (indices) whose first byte was fed and that have no final reply.
    awaiting: VecDeque<usize>,
    chunks: Vec<usize>,
    chunk_i: usize,
    pipelined: bool,
    dice: Vec<u8>,
    dice_i: usize,
    greeted: bool,
    closed: bool,
    /// A 421 went out; `Close` must follow.
    terminating: bool,
    logged_in: bool,
    epsv_all: bool,
    handshake: bool,
    outstanding: Option<(RequestId, RequestKind)>,
    listen: Option<DataId>,
    passive: Option<(DataId, bool)>,
    connect: Option<DataId>,
    transfer: Option<DataId>,
    /// The driver reported the running transfer finished.
    finished: bool,
    /// The head transfer command's bytes started moving (`Transfer` action).
    started: bool,
    progress: u64,
    /// An `UploadIncomplete` in the current drain.
    upload_incomplete: bool,
    /// Print every input and output (`FTPKIT_PROP_TRACE` set).
    trace: bool,
}

impl Driver {
    fn new(case: &Case) -> Self {
        let config = ServerConfig::default()
            .anonymous(case.anonymous)
            .tls_available(case.tls)
            .max_consecutive_errors(case.max_errors)
            .max_session_errors(case.max_errors)
            .max_pending_commands(case.max_pending)
            .failed_login_delay(case.login_delay)
            .parse_options(ParseOptions::default().max_line_len(MAX_LINE));
        let peer: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let local: SocketAddr = "127.0.0.1:21".parse().expect("addr");
        let conn = Connection::new(peer, local);
        let now = Instant::now();
        let mut stream = Vec::new();
        let mut starts = Vec::new();
        for l in &case.lines {
            starts.push(stream.len());
            stream.extend_from_slice(&l.bytes);
        }
        Self {
            session: Session::new(Arc::new(config), conn, now),
            conn,
            now,
            lines: case.lines.clone(),
            starts,
            stream,
            pos: 0,
            awaiting: VecDeque::new(),
            chunks: case.chunks.clone(),
            chunk_i: 0,
            pipelined: case.pipelined,
            dice: case.dice.clone(),
            dice_i: 0,
            greeted: false,
            closed: false,
            terminating: false,
            logged_in: false,
            epsv_all: false,
            handshake: false,
            outstanding: None,
            listen: None,
            passive: None,
            connect: None,
            transfer: None,
            finished: false,
            started: false,
            progress: 0,
            upload_incomplete: false,
            trace: std::env::var_os("FTPKIT_PROP_TRACE").is_some(),
        }
    }

    fn roll(&mut self) -> u8 {
        let d = self.dice[self.dice_i % self.dice.len()].wrapping_add((self.dice_i / self.dice.len()) as u8);
        self.dice_i += 1;
        d
    }

    fn line_end(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.stream.len())
    }

    /// The line holding byte offset `at`.
    fn line_at(&self, at: usize) -> usize {
        self.starts.partition_point(|&s| s <= at) - 1
    }

    fn head(&self) -> Option<Kind> {
        self.awaiting.front().map(|&i| self.lines[i].kind)
    }

    /// Runs the session to the end; panics on a violated property.
    fn run(mut self) {
        self.drain();
        for _ in 0..20_000 {
            if self.closed {
                // Nothing more comes out of a closed session.
                assert!(matches!(self.session.poll_output(), Output::Wait(None)));
                assert_eq!(
                    self.session.handle_input(self.now, Input::Control(b"NOOP\r\n")),
                    Err(ftp_session::Misuse::Closed)
                );
                return;
            }
            if !self.step() {
                assert_eq!(self.pos, self.stream.len(), "stopped before feeding everything");
                let waiting: Vec<_> = self.awaiting.iter().map(|&i| &self.lines[i]).collect();
                assert!(waiting.is_empty(), "lines without a final reply: {waiting:?}");
                return;
            }
        }
        panic!("the session did not settle within 20,000 steps");
    }

    /// Does one thing a caller would do; false when nothing is left to do.
    fn step(&mut self) -> bool {
        let mut actions: Vec<u8> = Vec::new();
        let mid_line = self.pos > 0 && self.pos < self.stream.len() && self.starts[self.line_at(self.pos)] != self.pos;
        let may_send = self.pipelined
            || mid_line
            || self.awaiting.is_empty()
            || (self.awaiting.len() == 1 && self.head().is_some_and(Kind::is_transfer));
        if self.pos < self.stream.len() && !self.handshake && may_send {
            // Feed more often when nothing else is pending.
            let busy = self.outstanding.is_some()
                || self.listen.is_some()
                || self.connect.is_some()
                || self.transfer.is_some()
                || matches!(self.passive, Some((_, false)));
            actions.extend(if busy { &[0][..] } else { &[0, 0, 0][..] });
        }
        // The caller's own work comes first more often than not, so that
        // commands also arrive while transfers run.
        if self.outstanding.is_some() {
            actions.extend([1, 1, 1]);
        }
        if self.listen.is_some() {
            actions.extend([2, 2, 2]);
        }
        if matches!(self.passive, Some((_, false))) {
            actions.push(3);
        }
        if self.connect.is_some() {
            actions.extend([4, 4, 4]);
        }
        if self.transfer.is_some() && !self.finished {
            actions.push(5);
        }
        if self.handshake {
            actions.push(6);
        }
        let deadline = self.session.poll_timeout();
        if actions.is_empty() {
            // Only time is left: a held 530 (SECURITY.md A1) or a timeout.
            if self.awaiting.is_empty() || deadline.is_none() {
                return false;
            }
            actions.push(7);
        } else if deadline.is_some() && self.roll() == 0 && self.roll() < 128 {
            // Now and then, time passes (C1, C2).
            actions = vec![7];
        }
        let pick = actions[usize::from(self.roll()) % actions.len()];
        match pick {
            0 => self.feed(),
            1 => self.answer(),
            2 => {
                let id = self.listen.take().expect("listen");
                let event = if self.roll() < 24 {
                    DataEvent::ListenFailed
                } else {
                    self.passive = Some((id, false));
                    DataEvent::Listening { addr: "127.0.0.1:50001".parse().expect("addr") }
                };
                self.input(Input::Data(id, event));
            }
            3 => {
                let (id, _) = self.passive.expect("passive");
                let foreign = self.roll() < 40;
                let peer: SocketAddr =
                    if foreign { "10.0.0.9:40000" } else { "127.0.0.1:40001" }.parse().expect("addr");
                self.input(Input::Data(id, DataEvent::Incoming { peer }));
            }
            4 => {
                let id = self.connect.take().expect("connect");
                let event = if self.roll() < 24 { DataEvent::ConnectFailed } else { DataEvent::Connected };
                self.input(Input::Data(id, event));
            }
            5 => {
                let id = self.transfer.expect("transfer");
                let r = self.roll();
                self.progress += u64::from(r);
                let bytes = self.progress;
                let event = match r {
                    0..=79 => DataEvent::Progress { bytes },
                    80..=219 => {
                        self.finished = true;
                        DataEvent::Finished { bytes }
                    }
                    _ => {
                        self.transfer = None;
                        let reason = [DataFailure::ConnectionLost, DataFailure::Storage, DataFailure::Truncated]
                            [usize::from(r % 3)];
                        DataEvent::Failed { bytes, reason }
                    }
                };
                self.input(Input::Data(id, event));
            }
            6 => {
                if self.pos < self.stream.len() && self.roll() < 128 {
                    // SECURITY.md L1: a line sent before the handshake ended
                    // is never read.
                    let i = self.line_at(self.pos);
                    let end = self.line_end(i);
                    let bytes = self.stream[self.pos..end].to_vec();
                    self.pos = end;
                    self.session.handle_input(self.now, Input::Control(&bytes)).expect("open");
                    assert!(
                        matches!(self.session.poll_output(), Output::Wait(_)),
                        "L1: input read during the handshake"
                    );
                } else {
                    self.handshake = false;
                    self.input(Input::TlsEstablished);
                }
            }
            _ => {
                if let Some(t) = deadline {
                    self.now = self.now.max(t);
                }
                self.input(Input::Timeout);
            }
        }
        true
    }

    fn feed(&mut self) {
        let end = if !self.pipelined {
            // The rest of the line, in chunks.
            let n = self.chunks[self.chunk_i % self.chunks.len()];
            self.chunk_i += 1;
            (self.pos + n).min(self.line_end(self.line_at(self.pos)))
        } else if self.roll() < 112 {
            // A line at a time (or the rest of one), as interactive clients send.
            self.line_end(self.line_at(self.pos))
        } else {
            let n = self.chunks[self.chunk_i % self.chunks.len()];
            self.chunk_i += 1;
            (self.pos + n).min(self.stream.len())
        };
        // Lines whose first byte goes out now join the queue.
        let first = if self.pos == 0 { 0 } else { self.line_at(self.pos - 1) + 1 };
        let mut i = first;
        while i < self.lines.len() && self.starts[i] < end {
            if self.starts[i] >= self.pos {
                self.awaiting.push_back(i);
            }
            i += 1;
        }
        let bytes = self.stream[self.pos..end].to_vec();
        self.pos = end;
        self.input(Input::Control(&bytes));
    }

    fn answer(&mut self) {
        let (id, kind) = self.outstanding.take().expect("outstanding");
        let r = self.roll();
        let answer = match kind {
            RequestKind::Login { .. } | RequestKind::Account { .. } => match r % 10 {
                0..=7 => Answer::LoggedIn,
                8 => Answer::LoginDenied,
                _ => Answer::NeedAccount,
            },
            _ if r < 40 => Answer::Failed([StorageError::NotFound, StorageError::PermissionDenied][usize::from(r % 2)]),
            RequestKind::Retrieve { .. } | RequestKind::Store { .. } | RequestKind::List { .. } => Answer::Ready,
            _ => Answer::Done,
        };
        self.session.answer(self.now, id, answer).expect("a fitting answer to the outstanding request");
        self.drain();
    }

    fn input(&mut self, input: Input<'_>) {
        if self.trace {
            match input {
                Input::Control(b) => eprintln!("> {:?} (fed to {})", String::from_utf8_lossy(b), self.pos),
                i => eprintln!("> {i:?}"),
            }
        }
        self.session.handle_input(self.now, input).expect("the session is open");
        self.drain();
    }

    /// Polls to `Wait`, matching every output against the model.
    fn drain(&mut self) {
        self.upload_incomplete = false;
        for _ in 0..10_000 {
            let out = self.session.poll_output();
            if self.trace {
                match &out {
                    Output::Transmit(b) => eprintln!("  < {:?}", String::from_utf8_lossy(b)),
                    o => eprintln!("  < {o:?}"),
                }
            }
            if let Output::Wait(_) = out {
                assert!(!self.terminating || self.closed, "421 without Close");
                return;
            }
            assert!(!self.closed, "output after Close: {out:?}");
            match out {
                Output::Transmit(bytes) => self.transmitted(&bytes),
                Output::Data(action) => self.data_action(action),
                Output::Request(r) => {
                    assert!(self.outstanding.is_none(), "two outstanding requests");
                    // S1: before login, only the login is asked.
                    assert!(
                        self.logged_in || matches!(r.kind, RequestKind::Login { .. } | RequestKind::Account { .. }),
                        "S1: {:?} before login",
                        r.kind
                    );
                    self.outstanding = Some((r.id, r.kind));
                }
                Output::Event(Event::RequestCancelled(id)) => {
                    let (want, _) = self.outstanding.take().expect("a request to cancel");
                    assert_eq!(id, want);
                }
                Output::Event(Event::UploadIncomplete { .. }) => self.upload_incomplete = true,
                Output::StartTls => {
                    assert!(!self.handshake);
                    self.handshake = true;
                    self.discard_input();
                }
                Output::StopTls => self.discard_input(),
                Output::Close => self.closed = true,
                _ => {}
            }
        }
        panic!("the drain did not reach Wait");
    }

    /// AUTH, or REIN under TLS: the session dropped what it had read (L1).
    /// Lines behind it will never be answered; the rest of a half-fed line
    /// is not sent.
    fn discard_input(&mut self) {
        self.awaiting.clear();
        if self.pos > 0 && self.pos < self.stream.len() {
            let i = self.line_at(self.pos - 1);
            self.pos = self.pos.max(self.line_end(i));
        }
    }

    fn data_action(&mut self, action: DataAction) {
        let head = self.head();
        match action {
            DataAction::Close { id } => {
                if self.listen == Some(id) {
                    self.listen = None;
                }
                if self.passive.is_some_and(|(p, _)| p == id) {
                    self.passive = None;
                }
                if self.connect == Some(id) {
                    self.connect = None;
                }
                if self.transfer == Some(id) {
                    self.transfer = None;
                }
                return;
            }
            DataAction::Accept { id, .. } => {
                assert!(self.logged_in, "S1: accept before login");
                self.passive = Some((id, true));
                return;
            }
            DataAction::Reject { .. } => return,
            _ => {}
        }
        // S1: no data connection before login.
        assert!(self.logged_in, "S1: {action:?} before login");
        match action {
            DataAction::Listen { id, .. } => {
                assert!(matches!(head, Some(Kind::Pasv | Kind::Epsv)), "Listen for {head:?}");
                // RFC 2428 section 4, SECURITY.md D7.
                assert!(!(self.epsv_all && head == Some(Kind::Pasv)), "D7: PASV listens after EPSV ALL");
                self.listen = Some(id);
            }
            DataAction::Connect { id, addr, .. } => {
                assert!(head.is_some_and(Kind::is_transfer), "Connect for {head:?}");
                assert_eq!(addr.ip(), self.conn.peer.ip(), "D1: connect to a third host");
                assert!(addr.port() >= 1024, "D1: connect to a privileged port");
                self.connect = Some(id);
            }
            DataAction::Transfer { id, .. } => {
                assert!(head.is_some_and(Kind::is_transfer), "Transfer for {head:?}");
                self.transfer = Some(id);
                self.finished = false;
                self.started = true;
            }
            _ => unreachable!(),
        }
    }

    fn transmitted(&mut self, bytes: &Bytes) {
        let mut decoder = ReplyDecoder::new(ParseOptions::strict());
        let mut buf = BytesMut::from(&bytes[..]);
        while let Some(reply) = decoder.decode(&mut buf) {
            let reply = reply.expect("well-formed reply");
            self.reply(&reply);
        }
        assert!(buf.is_empty() && !decoder.has_partial_reply(), "partial reply {bytes:?}");
    }

    fn reply(&mut self, reply: &Reply) {
        let code = reply.code().as_u16();
        let text = String::from_utf8_lossy(reply.text().as_bytes()).into_owned();
        if !self.greeted {
            assert_eq!(code, 220, "greeting");
            self.greeted = true;
            return;
        }
        assert!(!self.terminating, "reply after 421: {reply:?}");
        let head = self.head();
        if code == 421 {
            // Error limits, failed logins, timeouts: the session closes.
            self.terminating = true;
            return;
        }
        if reply.code().is_positive_preliminary() {
            match code {
                // X2: REIN during a transfer, 220 follows after it.
                120 => assert!(
                    self.awaiting.iter().skip(1).any(|&i| self.lines[i].kind == Kind::Rein),
                    "120 with no REIN waiting"
                ),
                125 | 150 => assert!(head.is_some_and(Kind::is_transfer), "{code} for {head:?}"),
                _ => panic!("unexpected preliminary reply {reply:?}"),
            }
            return;
        }
        if code == 213 && text.starts_with("Status:") {
            // RFC 959 4.1.3, X2: STAT during a transfer, answered at once.
            let second = self.awaiting.get(1).map(|&i| self.lines[i].kind);
            assert!(
                head.is_some_and(Kind::is_transfer) && second == Some(Kind::Stat),
                "213 for STAT out of order: head {head:?}, next {second:?}"
            );
            self.awaiting.remove(1);
            return;
        }
        let Some(i) = self.awaiting.pop_front() else { panic!("reply {reply:?} with no command waiting") };
        let line = &self.lines[i];
        let kind = line.kind;
        assert!(
            self.line_end(i) <= self.pos || kind == Kind::Overlong,
            "reply {reply:?} to {line:?} before the whole line was sent"
        );
        self.check_final(kind, code, line, reply);
        // The model's state follows the replies.
        match (kind, code) {
            (Kind::User, 331) | (Kind::Pass, 332) => self.logged_in = false,
            (Kind::Pass | Kind::Acct, 230) => self.logged_in = true,
            (Kind::Rein, 220) | (Kind::Auth, 234) => {
                self.logged_in = false;
                self.epsv_all = false;
            }
            (Kind::EpsvAll, 200) => self.epsv_all = true,
            _ => {}
        }
        if kind.is_transfer() {
            self.finished = false;
            self.started = false;
        }
    }

    /// The codes each command may get as its final reply (RFC 959 4.2.1 and
    /// 5.4, RFC 2428, RFC 4217), in the model's state.
    fn check_final(&self, kind: Kind, code: u16, line: &Line, reply: &Reply) {
        let negative = (400..600).contains(&code);
        let ctx = || format!("{line:?} got {reply:?} (logged in: {}, EPSV ALL: {})", self.logged_in, self.epsv_all);
        match kind {
            // An unknown verb parses as an extension: 530 before login (S1),
            // else 502; a verb with digits does not parse: 500.
            Kind::Garbage => {
                assert!(matches!(code, 500 | 502) || (code == 530 && !self.logged_in), "{}", ctx());
                return;
            }
            // SECURITY.md F1: one 500 per overlong line.
            Kind::Overlong => {
                assert_eq!(code, 500, "F1: {}", ctx());
                return;
            }
            _ => {}
        }
        if !self.logged_in && !kind.allowed_before_login() {
            // SECURITY.md S1.
            assert_eq!(code, 530, "S1: {}", ctx());
            return;
        }
        let ok = match kind {
            Kind::User => code == 331,
            Kind::Pass | Kind::Acct => matches!(code, 230 | 332 | 530 | 503 | 202),
            Kind::Pasv | Kind::Port if self.epsv_all => code == 503, // D7
            Kind::Pasv => matches!(code, 227 | 425),
            Kind::Epsv => matches!(code, 229 | 425),
            Kind::EpsvAll => code == 200,
            Kind::Port => matches!(code, 200 | 504),
            Kind::Retr | Kind::Stor | Kind::List => {
                // 226 only for a transfer the driver finished (X3: an
                // aborted or failed upload never gets 226).
                if code == 226 {
                    self.finished
                } else {
                    let upload_cut = kind == Kind::Stor && self.started;
                    negative && (!upload_cut || self.upload_incomplete)
                }
            }
            Kind::Abor => matches!(code, 225 | 226),
            Kind::Stat => code == 211,
            Kind::Quit => code == 221,
            Kind::Rein => code == 220,
            Kind::Noop | Kind::Type => code == 200,
            Kind::Rest | Kind::Rnfr => code == 350,
            Kind::Rnto => matches!(code, 250 | 503 | 550),
            Kind::Cwd => matches!(code, 250 | 550),
            Kind::Mkd => matches!(code, 257 | 550),
            Kind::Auth => matches!(code, 234 | 503),
            Kind::Pbsz => matches!(code, 200 | 503),
            Kind::Prot => matches!(code, 200 | 503),
            Kind::Garbage | Kind::Overlong => unreachable!(),
        };
        assert!(ok, "{}", ctx());
    }
}

fn run(case: &Case) {
    Driver::new(case).run();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every complete command line gets exactly one final reply, in order
    /// (RFC 959 4.2: one reply per command, 1yz followed by a final one;
    /// 5.4 sequencing), whatever the chunking and whatever the caller
    /// answers. Covers ABOR, STAT, QUIT and REIN during transfers
    /// (RFC 959 4.1.3, SECURITY.md X1, X2) and the command queue bound (C4).
    #[test]
    fn one_final_reply_per_command_in_order(case in case(BALANCED, false, true)) {
        run(&case);
    }

    /// Before a 230, everything but the allow-list gets 530, no request but
    /// the login is made and no data connection is set up (SECURITY.md S1;
    /// RFC 959 4.1.1 and 5.4 "Login" sequence).
    #[test]
    fn nothing_runs_before_login(case in case(Mix { login: 3, setup: 10, transfer: 10, control: 4, epsv_all: 1, misc: 6, tls: 3 }, false, false)) {
        run(&case);
    }

    /// After `EPSV ALL` is accepted, PASV, PORT and EPRT get 503 and no
    /// listener for PASV and no active connection follows; the state
    /// survives aborted and failed transfers and ends only with REIN
    /// (RFC 2428 section 4, SECURITY.md D7). PORT to a third host or a
    /// privileged port is refused (D1).
    #[test]
    fn epsv_all_refuses_other_setups(case in case(Mix { login: 2, setup: 10, transfer: 6, control: 4, epsv_all: 5, misc: 2, tls: 1 }, false, true)) {
        run(&case);
    }

    /// `AUTH TLS`: whatever was sent behind it, or during the handshake, is
    /// never executed (SECURITY.md L1, CVE-2011-1575; RFC 4217 section 4),
    /// and REIN under TLS clears the protected session (RFC 4217 13).
    #[test]
    fn auth_tls_discards_pipelined_commands(case in case(Mix { login: 4, setup: 4, transfer: 4, control: 4, epsv_all: 1, misc: 4, tls: 10 }, true, false)) {
        run(&case);
    }

    /// Transfers with ABOR, STAT, QUIT and REIN arriving while the data
    /// flows: ABOR gives 426 to the transfer and 226 to itself, STAT 213 at
    /// once, QUIT and REIN their replies after the transfer's (RFC 959
    /// 4.1.3, SECURITY.md X1, X2); an upload cut short is reported and never
    /// answered 226 (X3).
    #[test]
    fn transfers_with_abor_stat_quit_rein(case in case(Mix { login: 3, setup: 10, transfer: 12, control: 12, epsv_all: 0, misc: 2, tls: 1 }, false, true)) {
        run(&case);
    }
}

// ---- regressions found by the properties above --------------------------

/// An anonymous session with `RETR f` running on a passive connection; the
/// replies so far are drained.
fn running_retr() -> (Session, Instant, DataId) {
    let config = ServerConfig::default().anonymous(true);
    let conn = Connection::new("127.0.0.1:50000".parse().expect("addr"), "127.0.0.1:21".parse().expect("addr"));
    let now = Instant::now();
    let mut s = Session::new(Arc::new(config), conn, now);
    s.handle_input(now, Input::Control(b"USER anonymous\r\nPASS x\r\nPASV\r\n")).expect("open");
    let listen = drain(&mut s).1.into_iter().find_map(|o| match o {
        Output::Data(DataAction::Listen { id, .. }) => Some(id),
        _ => None,
    });
    let id = listen.expect("a listener");
    let addr = "127.0.0.1:50001".parse().expect("addr");
    s.handle_input(now, Input::Data(id, DataEvent::Listening { addr })).expect("open");
    s.handle_input(now, Input::Control(b"RETR f\r\n")).expect("open");
    let request = drain(&mut s).1.into_iter().find_map(|o| match o {
        Output::Request(r) => Some(r.id),
        _ => None,
    });
    s.answer(now, request.expect("a request"), Answer::Ready).expect("fits");
    let peer = "127.0.0.1:40000".parse().expect("addr");
    s.handle_input(now, Input::Data(id, DataEvent::Incoming { peer })).expect("open");
    let (text, _) = drain(&mut s);
    assert!(text.ends_with("150 Opening data connection.\r\n"), "{text}");
    (s, now, id)
}

/// Drains to `Wait`: the transmitted text and the other outputs.
fn drain(s: &mut Session) -> (String, Vec<Output>) {
    let mut text = String::new();
    let mut rest = Vec::new();
    loop {
        match s.poll_output() {
            Output::Transmit(b) => text.push_str(&String::from_utf8_lossy(&b)),
            Output::Wait(_) => return (text, rest),
            o => rest.push(o),
        }
    }
}

/// QUIT then REIN during a transfer: QUIT must not be forgotten. RFC 959
/// 4.1.1 (QUIT waits for the transfer), 4.2 (one reply per command, in
/// order), SECURITY.md X2. Found by `epsv_all_refuses_other_setups`: REIN
/// replaced the pending QUIT, which never got its 221 and the session
/// stayed open.
#[test]
fn quit_then_rein_during_transfer_still_quits() {
    let (mut s, now, id) = running_retr();
    s.handle_input(now, Input::Control(b"QUIT\r\nREIN\r\n")).expect("open");
    assert_eq!(drain(&mut s).0, "");
    s.handle_input(now, Input::Data(id, DataEvent::Finished { bytes: 3 })).expect("open");
    let (text, outputs) = drain(&mut s);
    assert_eq!(text, "226 Transfer complete.\r\n221 Goodbye.\r\n");
    assert!(matches!(outputs.last(), Some(Output::Close)));
}

/// REIN then QUIT during a transfer: REIN gets 120 at once and its 220 after
/// the transfer's 226, then QUIT its 221 (RFC 959 4.1.1, 4.2; X2). Before,
/// QUIT replaced the pending REIN, whose 120 was never followed by a final
/// reply.
#[test]
fn rein_then_quit_during_transfer_answers_both_in_order() {
    let (mut s, now, id) = running_retr();
    s.handle_input(now, Input::Control(b"REIN\r\nQUIT\r\n")).expect("open");
    assert_eq!(drain(&mut s).0, "120 Transfer in progress; ready when it ends.\r\n");
    s.handle_input(now, Input::Data(id, DataEvent::Finished { bytes: 3 })).expect("open");
    let (text, outputs) = drain(&mut s);
    assert_eq!(text, "226 Transfer complete.\r\n220 Service ready for new user.\r\n221 Goodbye.\r\n");
    assert!(matches!(outputs.last(), Some(Output::Close)));
}

/// QUIT then ABOR during a transfer: replies stay in command order (RFC 959
/// 4.2; X1, X2). Found by `one_final_reply_per_command_in_order`: ABOR ran
/// at once and its 226 went out before QUIT's 221.
#[test]
fn quit_then_abor_during_transfer_keeps_reply_order() {
    let (mut s, now, id) = running_retr();
    s.handle_input(now, Input::Control(b"QUIT\r\nABOR\r\n")).expect("open");
    assert_eq!(drain(&mut s).0, "");
    s.handle_input(now, Input::Data(id, DataEvent::Finished { bytes: 3 })).expect("open");
    let (text, outputs) = drain(&mut s);
    assert_eq!(text, "226 Transfer complete.\r\n221 Goodbye.\r\n");
    assert!(matches!(outputs.last(), Some(Output::Close)));
}
