//! Body of the `server_session` cargo-fuzz target (feature `__fuzz`), kept in
//! the crate so that it compiles, and runs on seeds, with every `cargo test`.
//!
//! The input is a configuration and a list of operations a driver could
//! perform on one [`Session`]: control bytes (raw, an arbitrary encoded
//! [`Command`] or a well-formed command line), end of file, a TLS handshake
//! completing, time passing, data-connection events, answers to requests
//! (fitting or not, current or stale), shutdown. After each operation the
//! outputs are drained to `Wait` and checked against the invariants every
//! driver relies on; a violation panics.
//!
//! Input layout (hand-writable; missing bytes read as zero):
//!
//! | Byte | Meaning |
//! |---|---|
//! | 0 | flags: anonymous, tls_available, require_tls_login, require_tls_data, allow_foreign_data_address, allow_privileged_data_port, implicit_tls, allow_ccc (bit 0 to 7) |
//! | 1 | flags: site_enabled, require_tls_resumption, passive_address, strict parsing, 64-byte lines (bit 0 to 4) |
//! | 2 | limits: login failures `1 + (b & 3)`, consecutive errors `1 + (b >> 2 & 7)`, pending commands `b >> 5` |
//! | 3 | session errors `1 + (b & 15)`; bits 4-7 shorten the login delay (0 s), idle and login timeouts (1 s), data timeouts (1 s) |
//! | 4 | connection: `b % 8` 0-4 IPv4, 5 IPv4-mapped IPv6, 6 IPv6, 7 refused before the greeting |
//! | 5.. | operations: a tag byte (`b % 16`, see `Op`) and its operands |
//!
//! With anonymous login on, `USER anonymous` / `PASS x` is fed first. Set
//! `FTPKIT_FUZZ_TRACE=1` to print every operation and output (to replay a
//! crash: `cargo +nightly fuzz run server_session <file>`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::{Bytes, BytesMut};
use ftp_proto::{Command, ParseOptions, Pathname, Reply, ReplyCode, ReplyDecoder, Text, Timestamp};

use crate::Misuse;
use crate::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, Event, Input, ListFormat, Output, RequestId,
    RequestKind, ServerConfig, Session, StorageError, StoreMode,
};

/// Polls allowed per drain before it counts as a livelock.
const MAX_POLLS: usize = 10_000;
/// Operations read from one input.
const MAX_OPS: usize = 512;

/// Well-formed command lines (CRLF is appended), picked by index. Index 0 is
/// the login prefix.
const LINES: &[&[u8]] = &[
    b"USER anonymous\r\nPASS x",
    b"USER anonymous",
    b"USER alice",
    b"PASS x",
    b"ACCT acme",
    b"PASV",
    b"EPSV",
    b"EPSV 1",
    b"EPSV 2",
    b"EPSV ALL",
    b"PORT 127,0,0,1,4,1",
    b"PORT 127,0,0,2,4,1",
    b"PORT 127,0,0,1,0,20",
    b"EPRT |1|127.0.0.1|1025|",
    b"EPRT |2|::1|1025|",
    b"EPRT |2|::ffff:127.0.0.1|2000|",
    b"RETR f",
    b"STOR f",
    b"APPE f",
    b"STOU",
    b"LIST",
    b"LIST -la d",
    b"NLST",
    b"MLSD",
    b"ABOR",
    b"\xff\xf4\xff\xf2ABOR",
    b"STAT",
    b"STAT f",
    b"QUIT",
    b"REIN",
    b"NOOP",
    b"TYPE I",
    b"TYPE A",
    b"MODE S",
    b"STRU F",
    b"REST 10",
    b"RNFR a",
    b"RNTO b",
    b"CWD d",
    b"CDUP",
    b"PWD",
    b"MKD d",
    b"RMD d",
    b"DELE f",
    b"SIZE f",
    b"MDTM f",
    b"MFMT 20240101000000 f",
    b"MLST f",
    b"AUTH TLS",
    b"AUTH SSL",
    b"PBSZ 0",
    b"PROT P",
    b"PROT C",
    b"CCC",
    b"FEAT",
    b"HELP",
    b"SYST",
    b"OPTS UTF8 ON",
    b"OPTS MLST type;size;",
    b"SITE CHMOD 644 f",
    b"HOST example.com",
    b"LANG en",
    b"ALLO 10",
    b"XYZZY",
    b"",
    b"GET / HTTP/1.1",
];

/// One thing a driver does to the session.
#[derive(Debug, Clone)]
enum Op {
    /// Tags 0-5: bytes read from the control connection.
    Control(Vec<u8>),
    /// Tag 6.
    ControlEof,
    /// Tag 7.
    TlsEstablished,
    /// Tags 8-9: the clock advances; then `Input::Timeout` unless `feed` is off.
    Time { advance: Duration, feed: bool },
    /// Tags 10-11: a data event for the most recent data id seen (or a stale one).
    Data { stale: bool, event: DataEventPick },
    /// Tags 12-14: an answer to the outstanding request (or a stale id).
    Answer { id: IdPick, answer: AnswerPick },
    /// Tag 15.
    Shutdown,
}

#[derive(Debug, Clone, Copy)]
enum DataEventPick {
    Listening(u16),
    ListenFailed,
    IncomingFromPeer,
    IncomingForeign,
    Connected,
    ConnectFailed,
    Progress(u64),
    Finished(u64),
    Failed(u64, DataFailure),
}

#[derive(Debug, Clone, Copy)]
enum IdPick {
    Current,
    Previous,
    Other(u64),
}

#[derive(Debug, Clone)]
enum AnswerPick {
    /// An answer that fits the outstanding request, chosen by the byte.
    Fitting(u8),
    /// Any answer: may not fit (`Misuse::WrongAnswer` is then expected).
    Given(Answer),
}

fn config(u: &mut Unstructured<'_>) -> Result<(ServerConfig, u8)> {
    let [a, b, limits, timeouts, conn]: [u8; 5] = u.arbitrary()?;
    let bit = |x: u8, n: u32| x & (1 << n) != 0;
    let mut parse = if bit(b, 3) { ParseOptions::strict() } else { ParseOptions::default() };
    if bit(b, 4) {
        parse = parse.max_line_len(64);
    }
    let short = |n: u32, tiny: Duration, normal: Duration| if bit(timeouts, n) { tiny } else { normal };
    let config = ServerConfig::default()
        .anonymous(bit(a, 0))
        .tls_available(bit(a, 1))
        .require_tls_login(bit(a, 2))
        .require_tls_data(bit(a, 3))
        .allow_foreign_data_address(bit(a, 4))
        .allow_privileged_data_port(bit(a, 5))
        .implicit_tls(bit(a, 6))
        .allow_ccc(bit(a, 7))
        .site_enabled(bit(b, 0))
        .require_tls_resumption(bit(b, 1))
        .passive_address(bit(b, 2).then_some(Ipv4Addr::new(203, 0, 113, 7)))
        .parse_options(parse)
        .max_login_failures(1 + u32::from(limits & 3))
        .max_consecutive_errors(1 + u32::from(limits >> 2 & 7))
        .max_pending_commands(usize::from(limits >> 5))
        .max_session_errors(1 + u32::from(timeouts & 15))
        .failed_login_delay(short(4, Duration::ZERO, Duration::from_secs(2)))
        .idle_timeout(short(5, Duration::from_secs(1), Duration::from_secs(300)))
        .login_timeout(short(5, Duration::from_secs(1), Duration::from_secs(120)))
        .data_connect_timeout(short(6, Duration::from_secs(1), Duration::from_secs(60)))
        .data_stall_timeout(short(7, Duration::from_secs(1), Duration::from_secs(300)));
    Ok((config, conn % 8))
}

fn control(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let pick: u8 = u.arbitrary()?;
    let mut out = Vec::new();
    match pick {
        // Most of the time a well-formed line.
        0..=159 => {
            out.extend_from_slice(LINES[usize::from(pick) % LINES.len()]);
            out.extend_from_slice(b"\r\n");
        }
        160..=223 => {
            let mut buf = BytesMut::new();
            Command::arbitrary(u)?.encode(&mut buf);
            out.extend_from_slice(&buf);
        }
        _ => {
            let len = usize::from(u.arbitrary::<u8>()?) % 96;
            out.extend_from_slice(u.bytes(len.min(u.len()))?);
        }
    }
    Ok(out)
}

fn duration(u: &mut Unstructured<'_>, b: u8) -> Result<Duration> {
    const STEPS: [Duration; 8] = [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(500),
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(61),
        Duration::from_secs(121),
        Duration::from_secs(301),
    ];
    Ok(if b & 8 == 0 { STEPS[usize::from(b & 7)] } else { Duration::from_millis(u64::from(u.arbitrary::<u16>()?)) })
}

fn storage_error(b: u8) -> StorageError {
    const ALL: [StorageError; 8] = [
        StorageError::NotFound,
        StorageError::PermissionDenied,
        StorageError::NameNotAllowed,
        StorageError::Unavailable,
        StorageError::InsufficientStorage,
        StorageError::QuotaExceeded,
        StorageError::LocalError,
        StorageError::NotSupported,
    ];
    ALL[usize::from(b) % ALL.len()]
}

fn data_failure(b: u8) -> DataFailure {
    const ALL: [DataFailure; 5] = [
        DataFailure::ConnectionLost,
        DataFailure::Storage,
        DataFailure::TlsFailed,
        DataFailure::TlsNotResumed,
        DataFailure::Truncated,
    ];
    ALL[usize::from(b) % ALL.len()]
}

/// A SITE reply the application might write. Its code is never one the
/// checks below give a meaning to (220, 227, 230, 234, 331, 332, 421).
fn site_reply(u: &mut Unstructured<'_>, b: u8) -> Result<Reply> {
    const CODES: [u16; 6] = [200, 214, 250, 500, 502, 550];
    let code = ReplyCode::new(CODES[usize::from(b) % CODES.len()]).expect("valid code");
    let lines: Vec<Text> = (0..1 + b % 3).map(|_| Text::arbitrary(u)).collect::<Result<_>>()?;
    Ok(Reply::multiline(code, lines.clone()).unwrap_or_else(|_| Reply::new(code, lines[0].clone())))
}

fn given_answer(u: &mut Unstructured<'_>, b: u8) -> Result<Answer> {
    Ok(match b % 11 {
        0 => Answer::LoggedIn,
        1 => Answer::NeedAccount,
        2 => Answer::LoginDenied,
        3 => Answer::Done,
        4 => Answer::Ready,
        5 => Answer::StoredAs(Pathname::arbitrary(u)?),
        6 => Answer::Size(u.arbitrary()?),
        7 => Answer::ModTime(Timestamp::arbitrary(u)?),
        8 => {
            let n = u.int_in_range(0..=3)?;
            Answer::Lines((0..n).map(|_| Text::arbitrary(u)).collect::<Result<_>>()?)
        }
        9 => {
            let b = u.arbitrary()?;
            Answer::SiteReply(site_reply(u, b)?)
        }
        _ => Answer::Failed(storage_error(u.arbitrary()?)),
    })
}

/// An answer the request takes, chosen by the 5-bit `b` (a failure a
/// quarter of the time where failures fit).
fn fitting(kind: &RequestKind, b: u8) -> Answer {
    let login = matches!(kind, RequestKind::Login { .. } | RequestKind::Account { .. });
    if !login && b & 0x18 == 0x18 {
        return Answer::Failed(storage_error(b));
    }
    match kind {
        RequestKind::Login { .. } | RequestKind::Account { .. } => match b % 4 {
            0 | 1 => Answer::LoggedIn,
            2 => Answer::NeedAccount,
            _ => Answer::LoginDenied,
        },
        RequestKind::List { format: ListFormat::Stat, .. } | RequestKind::Facts { .. } => Answer::Lines(
            (0..b % 3).map(|i| Text::from_static(["type=file; f", "x", "drwx d"][usize::from(i)])).collect(),
        ),
        RequestKind::List { .. } | RequestKind::Retrieve { .. } => Answer::Ready,
        RequestKind::Store { mode: StoreMode::Unique, .. } => {
            Answer::StoredAs(Pathname::try_from("ftpkit.upload.1").expect("valid"))
        }
        RequestKind::Store { .. } => Answer::Ready,
        RequestKind::Size { .. } => Answer::Size(u64::from(b)),
        RequestKind::ModTime { .. } => Answer::ModTime(Timestamp::new(2024, 1, 2, 3, 4, 5).expect("valid")),
        RequestKind::Site { .. } => Answer::SiteReply(Reply::from_static(ReplyCode::COMMAND_OK, "SITE ok.")),
        RequestKind::ChangeDir { .. }
        | RequestKind::Delete { .. }
        | RequestKind::MakeDir { .. }
        | RequestKind::RemoveDir { .. }
        | RequestKind::Rename { .. }
        | RequestKind::SetModTime { .. }
        | RequestKind::SetFacts { .. } => Answer::Done,
    }
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    let tag: u8 = u.arbitrary()?;
    Ok(match tag % 16 {
        0..=5 => Op::Control(control(u)?),
        6 => Op::ControlEof,
        7 => Op::TlsEstablished,
        8 | 9 => {
            let b: u8 = u.arbitrary()?;
            Op::Time { advance: duration(u, b)?, feed: b & 16 == 0 }
        }
        10 | 11 => {
            let b: u8 = u.arbitrary()?;
            let event = match b % 9 {
                0 => DataEventPick::Listening(u.arbitrary()?),
                1 => DataEventPick::ListenFailed,
                2 => DataEventPick::IncomingFromPeer,
                3 => DataEventPick::IncomingForeign,
                4 => DataEventPick::Connected,
                5 => DataEventPick::ConnectFailed,
                6 => DataEventPick::Progress(u.arbitrary()?),
                7 => DataEventPick::Finished(u.arbitrary()?),
                _ => DataEventPick::Failed(u.arbitrary()?, data_failure(u.arbitrary()?)),
            };
            Op::Data { stale: b & 0x80 != 0, event }
        }
        12..=14 => {
            let b: u8 = u.arbitrary()?;
            let id = match b & 3 {
                0 | 1 => IdPick::Current,
                2 => IdPick::Previous,
                _ => IdPick::Other(u64::from(u.arbitrary::<u8>()?)),
            };
            let answer =
                if b & 4 == 0 { AnswerPick::Fitting(b >> 3) } else { AnswerPick::Given(given_answer(u, b >> 3)?) };
            Op::Answer { id, answer }
        }
        _ => Op::Shutdown,
    })
}

/// What one drain produced, for the checks of the operation that caused it.
#[derive(Debug, Default)]
struct Drained {
    /// Outputs other than the final `Wait`.
    outputs: usize,
    transmitted: bool,
    accepted: bool,
    closed: bool,
    deadline: Option<Instant>,
}

/// The session under test and what its outputs have told the driver so far.
struct Harness {
    session: Session,
    config: Arc<ServerConfig>,
    conn: Connection,
    now: Instant,
    /// `Output::Close` was seen.
    closed: bool,
    /// The request awaiting an answer.
    outstanding: Option<(RequestId, RequestKind)>,
    /// The last request answered or cancelled.
    previous: Option<RequestId>,
    /// The newest data id in any output.
    last_data: Option<DataId>,
    /// A 230 went out and no 220, 234 or 331/332 since.
    logged_in: bool,
    /// A 200 to `EPSV ALL` went out (and no 220/234 since).
    epsv_all: bool,
    /// The newest PORT/EPRT was accepted while EPSV ALL was in force.
    port_under_epsv_all: bool,
    /// `Output::StartTls` went out and `Input::TlsEstablished` was not fed yet.
    handshake: bool,
    /// The code of the last reply transmitted.
    last_code: Option<u16>,
    /// Print every operation and output (`FTPKIT_FUZZ_TRACE` set).
    trace: bool,
}

impl Harness {
    // The virtual clock starts from one real instant; the session itself
    // never reads a clock (the harness moves `now` forward).
    #[allow(clippy::disallowed_methods)]
    fn new(config: ServerConfig, conn_pick: u8) -> Self {
        let (peer, local) = match conn_pick {
            5 => (
                SocketAddr::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), 50000),
                SocketAddr::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), 21),
            ),
            6 => (SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 50000), SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 21)),
            _ => (SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 50000), SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 21)),
        };
        let conn = Connection::new(peer, local);
        let config = Arc::new(config);
        let now = Instant::now();
        let session = if conn_pick == 7 {
            Session::refuse(Arc::clone(&config), conn, now)
        } else {
            Session::new(Arc::clone(&config), conn, now)
        };
        let mut h = Self {
            session,
            config,
            conn,
            now,
            closed: false,
            outstanding: None,
            previous: None,
            last_data: None,
            logged_in: false,
            epsv_all: false,
            port_under_epsv_all: false,
            handshake: false,
            last_code: None,
            trace: std::env::var_os("FTPKIT_FUZZ_TRACE").is_some(),
        };
        let d = h.drain();
        // RFC 959 5.4: 220 on connection, or 421 and close (SECURITY.md C3).
        let greeting = if conn_pick == 7 { 421 } else { 220 };
        assert_eq!(h.last_code, Some(greeting), "no greeting");
        assert_eq!(d.closed, conn_pick == 7);
        h
    }

    /// Polls to `Wait`, checking every output.
    fn drain(&mut self) -> Drained {
        let mut d = Drained::default();
        for _ in 0..MAX_POLLS {
            let out = self.session.poll_output();
            if self.trace {
                match &out {
                    Output::Transmit(b) => eprintln!("  < {:?}", String::from_utf8_lossy(b)),
                    o => eprintln!("  < {o:?}"),
                }
            }
            if let Output::Wait(deadline) = out {
                assert_eq!(self.session.is_closed(), self.closed, "is_closed disagrees with Output::Close");
                if self.closed {
                    assert_eq!(deadline, None, "a closed session reports a deadline");
                }
                d.deadline = deadline;
                return d;
            }
            assert!(!self.closed, "output after Output::Close: {out:?}");
            d.outputs += 1;
            match out {
                Output::Transmit(bytes) => {
                    d.transmitted = true;
                    self.transmitted(&bytes);
                }
                Output::Data(action) => {
                    if let DataAction::Accept { .. } = action {
                        d.accepted = true;
                    }
                    self.data_action(&action);
                }
                Output::StartTls => {
                    // SECURITY.md L1: StartTls right after the 234 to AUTH.
                    assert!(!self.handshake, "StartTls twice");
                    assert!(self.config.tls_available, "StartTls without TLS available");
                    assert_eq!(self.last_code, Some(234), "StartTls not preceded by 234");
                    self.handshake = true;
                }
                Output::StopTls => assert!(!self.handshake, "StopTls during the AUTH handshake"),
                Output::Request(r) => {
                    assert!(!self.handshake, "L1: request {:?} between AUTH and TlsEstablished", r.kind);
                    if let Some((id, kind)) = &self.outstanding {
                        panic!("two outstanding requests: {id:?} {kind:?} and {:?} {:?}", r.id, r.kind);
                    }
                    // SECURITY.md S1: only the login is asked before login.
                    assert!(
                        self.logged_in || matches!(r.kind, RequestKind::Login { .. } | RequestKind::Account { .. }),
                        "S1: request {:?} before login",
                        r.kind
                    );
                    self.outstanding = Some((r.id, r.kind));
                }
                Output::Event(e) => match e {
                    Event::RequestCancelled(id) => {
                        let Some((want, _)) = self.outstanding.take() else {
                            panic!("cancelled {id:?} with no outstanding request")
                        };
                        assert_eq!(id, want, "cancelled another request than the outstanding one");
                        self.previous = Some(id);
                    }
                    Event::ForeignDataConnection { peer } => {
                        assert!(!self.config.allow_foreign_data_address, "foreign connection refused though allowed");
                        assert!(peer.ip().to_canonical() != self.conn.peer.ip().to_canonical());
                    }
                    _ => {}
                },
                Output::Close => {
                    self.closed = true;
                    self.outstanding = None;
                    d.closed = true;
                }
                Output::Wait(_) => unreachable!(),
            }
        }
        panic!("the drain did not reach Output::Wait within {MAX_POLLS} polls");
    }

    fn transmitted(&mut self, bytes: &Bytes) {
        // Each chunk is whole, well-formed replies (RFC 959 4.2), nothing left over.
        let mut decoder = ReplyDecoder::new(ParseOptions::strict());
        let mut buf = BytesMut::from(&bytes[..]);
        let mut replies = 0;
        while let Some(item) = decoder.decode(&mut buf) {
            let reply = item.unwrap_or_else(|e| panic!("malformed reply {bytes:?}: {e}"));
            replies += 1;
            self.reply(&reply);
        }
        assert!(replies > 0, "transmit without a reply: {bytes:?}");
        assert!(buf.is_empty() && !decoder.has_partial_reply(), "transmit with a partial reply: {bytes:?}");
    }

    fn reply(&mut self, reply: &Reply) {
        let code = reply.code().as_u16();
        let text = reply.lines().first().map_or(&b""[..], Text::as_bytes);
        // SECURITY.md L1: between StartTls and TlsEstablished only a closing 421.
        assert!(!self.handshake || code == 421, "L1: reply {reply:?} between AUTH and TlsEstablished");
        match code {
            230 => self.logged_in = true,
            331 | 332 => self.logged_in = false,
            220 | 234 => {
                // REIN or AUTH: back to the state after the greeting.
                self.logged_in = false;
                self.epsv_all = false;
            }
            200 if text.starts_with(b"EPSV ALL") => self.epsv_all = true,
            200 if text.starts_with(b"PORT") => {
                // SECURITY.md D7: EPSV ALL refuses PORT/EPRT for good.
                assert!(!self.epsv_all, "D7: PORT/EPRT accepted after EPSV ALL");
                self.port_under_epsv_all = self.epsv_all;
            }
            227 => assert!(!self.epsv_all, "D7: PASV accepted after EPSV ALL"),
            _ => {}
        }
        self.last_code = Some(code);
    }

    fn data_action(&mut self, action: &DataAction) {
        let id = match action {
            DataAction::Listen { id, .. }
            | DataAction::Accept { id, .. }
            | DataAction::Reject { id, .. }
            | DataAction::Connect { id, .. }
            | DataAction::Transfer { id, .. }
            | DataAction::Close { id } => *id,
        };
        self.last_data = Some(id);
        if matches!(action, DataAction::Close { .. }) {
            return;
        }
        // SECURITY.md L1 and S1: no data connection during the AUTH
        // handshake, none before login.
        assert!(!self.handshake, "L1: {action:?} between AUTH and TlsEstablished");
        assert!(self.logged_in, "S1: {action:?} before login");
        if let DataAction::Connect { addr, .. } = action {
            // SECURITY.md D1: never a third host or a privileged port.
            if !self.config.allow_foreign_data_address {
                assert_eq!(addr.ip().to_canonical(), self.conn.peer.ip().to_canonical(), "D1: connect to {addr}");
            }
            if !self.config.allow_privileged_data_port {
                assert!(addr.port() >= 1024, "D1: connect to privileged port {addr}");
            }
            assert!(!(self.epsv_all && self.port_under_epsv_all), "D7: connect set up after EPSV ALL");
        }
    }

    /// Runs one operation and checks what it produced.
    fn run(&mut self, op: Op) {
        if self.trace {
            match &op {
                Op::Control(b) => eprintln!("> Control({:?})", String::from_utf8_lossy(b)),
                op => eprintln!("> {op:?}"),
            }
        }
        let now = self.now;
        match op {
            Op::Control(bytes) => {
                let r = self.session.handle_input(now, Input::Control(&bytes));
                let handshake = self.handshake;
                let d = self.after(r);
                if handshake {
                    // SECURITY.md L1: bytes during the handshake are never read.
                    assert_eq!(d.outputs, 0, "L1: control bytes acted on during the AUTH handshake");
                }
            }
            Op::ControlEof => {
                let r = self.session.handle_input(now, Input::ControlEof);
                let d = self.after(r);
                assert!(d.closed || d.outputs == 0, "EOF did not close");
            }
            Op::TlsEstablished => {
                let was = self.handshake;
                let r = self.session.handle_input(now, Input::TlsEstablished);
                if self.closed {
                    assert_eq!(r, Err(Misuse::Closed));
                } else if was {
                    assert_eq!(r, Ok(()));
                    self.handshake = false;
                    // SECURITY.md L1: nothing sent behind AUTH survives.
                    let d = self.drain();
                    assert_eq!(d.outputs, 0, "L1: input from before the handshake executed after it");
                } else {
                    assert!(matches!(r, Err(Misuse::UnexpectedInput(_))), "TlsEstablished without StartTls: {r:?}");
                    let d = self.drain();
                    assert_eq!(d.outputs, 0, "a Misuse changed the state");
                }
            }
            Op::Time { advance, feed } => {
                self.now += advance;
                if feed {
                    let now = self.now;
                    let r = self.session.handle_input(now, Input::Timeout);
                    let d = self.after(r);
                    // A deadline at or before `now` right after a Timeout is
                    // only legal if the timeout made progress (a held 530
                    // went out and the next failed login holds another).
                    if let Some(t) = d.deadline {
                        assert!(t > now || d.transmitted, "Timeout at {now:?} left deadline {t:?} without progress");
                    }
                }
            }
            Op::Data { stale, event } => {
                let id = match (self.last_data, stale) {
                    (Some(DataId(n)), false) => DataId(n),
                    (Some(DataId(n)), true) => DataId(n.wrapping_sub(1)),
                    (None, _) => DataId(1),
                };
                let foreign = SocketAddr::new(
                    match self.conn.peer.ip() {
                        IpAddr::V4(_) => Ipv4Addr::new(127, 0, 0, 2).into(),
                        IpAddr::V6(_) => Ipv4Addr::new(127, 0, 0, 2).to_ipv6_mapped().into(),
                    },
                    40000,
                );
                let event = match event {
                    DataEventPick::Listening(port) => {
                        DataEvent::Listening { addr: SocketAddr::new(self.conn.local.ip(), port) }
                    }
                    DataEventPick::ListenFailed => DataEvent::ListenFailed,
                    DataEventPick::IncomingFromPeer => {
                        DataEvent::Incoming { peer: SocketAddr::new(self.conn.peer.ip(), 40001) }
                    }
                    DataEventPick::IncomingForeign => DataEvent::Incoming { peer: foreign },
                    DataEventPick::Connected => DataEvent::Connected,
                    DataEventPick::ConnectFailed => DataEvent::ConnectFailed,
                    DataEventPick::Progress(bytes) => DataEvent::Progress { bytes },
                    DataEventPick::Finished(bytes) => DataEvent::Finished { bytes },
                    DataEventPick::Failed(bytes, reason) => DataEvent::Failed { bytes, reason },
                };
                let r = self.session.handle_input(now, Input::Data(id, event));
                let d = self.after(r);
                if matches!(event, DataEvent::Incoming { peer } if peer == foreign)
                    && !self.config.allow_foreign_data_address
                {
                    // SECURITY.md D3: port theft.
                    assert!(!d.accepted, "D3: accepted a data connection from {foreign}");
                }
            }
            Op::Answer { id, answer } => self.answer(id, answer),
            Op::Shutdown => {
                let r = self.session.handle_input(now, Input::Shutdown);
                let d = self.after(r);
                assert!(d.closed || d.outputs == 0, "Shutdown did not close");
            }
        }
    }

    /// Checks an input's result and drains.
    fn after(&mut self, r: std::result::Result<(), Misuse>) -> Drained {
        if self.closed {
            assert_eq!(r, Err(Misuse::Closed), "input accepted after Close");
        } else {
            assert_eq!(r, Ok(()), "input refused");
        }
        self.drain()
    }

    fn answer(&mut self, pick: IdPick, answer: AnswerPick) {
        let current = self.outstanding.as_ref().map(|(id, _)| *id);
        let id = match pick {
            IdPick::Current => current.or(self.previous).unwrap_or(RequestId(0)),
            IdPick::Previous => self.previous.unwrap_or(RequestId(0)),
            IdPick::Other(n) => RequestId(n),
        };
        let (answer, must_fit) = match (answer, &self.outstanding) {
            (AnswerPick::Fitting(b), Some((_, kind))) => (fitting(kind, b), true),
            (AnswerPick::Fitting(_), None) => (Answer::Done, false),
            (AnswerPick::Given(a), _) => (a, false),
        };
        let r = self.session.answer(self.now, id, answer);
        if self.closed {
            assert_eq!(r, Err(Misuse::Closed), "answer accepted after Close");
        } else if Some(id) != current {
            assert_eq!(r, Err(Misuse::UnknownRequest), "answer to {id:?}, not the outstanding {current:?}");
        } else if must_fit {
            assert_eq!(r, Ok(()), "a fitting answer was refused");
        } else {
            assert!(matches!(r, Ok(()) | Err(Misuse::WrongAnswer)), "{r:?}");
        }
        if r.is_ok() {
            self.outstanding = None;
            self.previous = Some(id);
        }
        let d = self.drain();
        if r.is_err() {
            assert_eq!(d.outputs, 0, "a Misuse changed the state");
        }
    }
}

/// Arbitrary bytes and caller events into a server session (see the module
/// docs for the input layout). Panics when an invariant breaks: a drain that
/// never reaches `Wait`, output after `Close`, a malformed reply, two
/// outstanding requests, anything done between AUTH and the handshake (L1),
/// a data action before login (S1), PORT or PASV after EPSV ALL (D7), a
/// connection to a third host or a privileged port (D1), a foreign passive
/// connection accepted (D3), a deadline left in the past by a timeout, an
/// input accepted after close, or a refused input that changed the state.
pub fn server_session(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((config, conn)) = config(&mut u) else { return };
    let anonymous = config.is_anonymous_allowed();
    let mut ops = Vec::new();
    if anonymous {
        ops.push(Op::Control(b"USER anonymous\r\nPASS x\r\n".to_vec()));
    }
    while !u.is_empty() && ops.len() < MAX_OPS {
        match op(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    let mut h = Harness::new(config, conn);
    for op in ops {
        h.run(op);
    }
}

// ---- The client role: body of the `client_session` target -----------------

/// Arbitrary server bytes and caller events into a client session, with an
/// operation in flight (the input layout is in the docs of the `client_fuzz` module). Panics when an
/// invariant breaks: a drain that never reaches `Wait`, a `Transmit` that is
/// not exactly one well-formed command line, output after `Close`, two
/// completions of one operation or completions out of order, an operation
/// that ends without `OpCompleted`, anything transmitted between `StartTls`
/// and `TlsEstablished` (SECURITY.md L2), control bytes during the handshake
/// not treated as fatal, `USER`/`PASS` sent unprotected when TLS is
/// required (A8), a passive connection to another host than the control
/// peer under `UseControlPeer` (D5), a foreign active connection accepted
/// (D4), a deadline left in the past by a timeout, or an input accepted
/// after close.
pub fn client_session(data: &[u8]) {
    client_fuzz::run(data);
}

pub(crate) mod client_fuzz {
    //! The client fuzz body. Input layout (hand-writable; missing bytes read
    //! as zero):
    //!
    //! | Byte | Meaning |
    //! |---|---|
    //! | 0 | TLS `b & 3` (off, explicit, explicit with plaintext fallback, implicit); bit 2 active mode; bits 3-4 227 policy (control peer, substitute unroutable, trust, control peer); bit 5 `PROT C`; bit 6 automatic FEAT; bit 7 keep-alive 30 s |
    //! | 1 | peer `b & 3` (127.0.0.1, ::1, ::ffff:127.0.0.1, 127.0.0.1); bit 2 strict parsing; bit 3 64-byte lines and 8-line replies; bit 4 mismatched multi-line ends; bit 5 ASCII files; bit 6 no TLS session resumption; bit 7 the greeting is a length byte and raw bytes instead of `220` |
    //! | 2 | the first operation (see `start`) |
    //! | 3.. | steps: a tag byte (`b % 16`, see `Step`) and its operands |
    //!
    //! `FTPKIT_FUZZ_TRACE=1` prints every step and output.

    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::time::{Duration, Instant};

    use bytes::BytesMut;
    use ftp_proto::{
        Command, CommandDecoder, ExtensionCommand, NetProto, ParseOptions, Pathname, Text, Timestamp, Verb,
    };

    use crate::Misuse;
    use crate::client::{
        ClientConfig, DataAction, DataEvent, DataId, DataMode, Event, Input, ListCommand, OpId, Output, PasvDecision,
        PasvPolicy, Session, StartError, TlsMode,
    };

    /// Polls allowed per drain before it counts as a livelock.
    const MAX_POLLS: usize = 10_000;
    /// Steps read from one input.
    const MAX_STEPS: usize = 1024;
    /// Telnet IP and DM, sent as urgent data before ABOR.
    const SYNCH: &[u8] = b"\xff\xf4\xff\xf2";

    /// Replies a server sends (CRLF is appended), picked by index: every
    /// code the client gives a meaning to, and the quirks of PEERS.md
    /// section 3.
    const REPLIES: &[&[u8]] = &[
        b"220 ready",
        b"120 wait",
        b"230 Logged in",
        b"331 Password required",
        b"332 Need account",
        b"530 Login incorrect",
        b"234 AUTH TLS ok",
        b"200 ok",
        b"500 not understood",
        b"502 not implemented",
        b"229 Entering Extended Passive Mode (|||50000|)",
        b"229 (!!!50001!)",
        b"229 (||50002|)",
        b"227 Entering Passive Mode (127,0,0,1,195,80).",
        b"227 Entering Passive Mode (10,0,0,5,195,81)",
        b"227 Entering Passive Mode 192,168,1,20,195,82",
        b"227-listen socket created\r\n227 (127,0,0,2,195,83)",
        b"227 Entering Passive Mode (",
        b"150 Opening BINARY mode data connection (100 bytes).",
        b"150 FILE: ftpkit.upload.1",
        b"125 Data connection already open",
        b"110 MARK 10 = 20",
        b"226 Transfer complete",
        b"225 No transfer",
        b"250 ok",
        b"250-Listing f\r\n type=file;size=10; f\r\n250 End",
        b"350 Restarting at 100",
        b"213 100",
        b"213 20240102030405",
        b"257 \"/usr/dm/\"\"q\"\"\" created",
        b"257 \"/a\r\0b\"",
        b"211-Features:\r\n EPSV\r\n EPRT\r\n SIZE\r\n MDTM\r\n MLST type*;size*;\r\n REST STREAM\r\n UTF8\r\n AUTH TLS\r\n211 End",
        b"211-Status\r\n226 inside\r\n211 End",
        b"215 UNIX Type: L8",
        b"221 Goodbye",
        b"421 Service not available",
        b"425 Can't open data connection",
        b"426 Connection closed; transfer aborted",
        b"451 Local error",
        b"452 Insufficient storage",
        b"550 No such file",
        b"552 Exceeded storage allocation",
        b"553 Name not allowed",
        b"522 Use (1)",
    ];

    /// Pathnames for operations.
    const PATHS: &[&str] = &["f", "dir/file name.txt", "\"quoted\"", "caf\u{e9}", "-la", "a b "];

    /// Clock steps.
    const STEPS: [Duration; 8] = [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_secs(1),
        Duration::from_secs(29),
        Duration::from_secs(30),
        Duration::from_secs(59),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    ];

    /// One thing a driver does to the session.
    #[derive(Debug, Clone)]
    enum Step {
        /// Tags 0-3: raw bytes read from the control connection.
        Raw(Vec<u8>),
        /// Tags 4-6: a canned reply, read in two pieces split at a byte.
        Reply { index: usize, split: usize },
        /// Tag 7.
        TlsEstablished,
        /// Tag 8: the clock advances; then `Input::Timeout` unless `feed` is off.
        Time { advance: Duration, feed: bool },
        /// Tags 9-11: a data event for the newest data id (or the one before).
        Data { stale: bool, event: EventPick },
        /// Tags 12-13: start an operation.
        Start(u8),
        /// Tag 14: `abort`.
        Abort,
        /// Tag 15.
        ControlEof,
    }

    #[derive(Debug, Clone, Copy)]
    enum EventPick {
        Connected,
        ConnectFailed,
        Listening(u16),
        ListenFailed,
        AcceptedFromPeer,
        AcceptedForeign,
        Finished(u64),
        Failed(u64),
    }

    /// A little reader over the input: missing bytes read as zero.
    struct Reader<'a>(&'a [u8]);

    impl Reader<'_> {
        fn byte(&mut self) -> u8 {
            match self.0.split_first() {
                Some((&b, rest)) => {
                    self.0 = rest;
                    b
                }
                None => 0,
            }
        }
        fn take(&mut self, n: usize) -> Vec<u8> {
            let n = n.min(self.0.len());
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            a.to_vec()
        }
        fn u16(&mut self) -> u16 {
            u16::from_le_bytes([self.byte(), self.byte()])
        }
    }

    fn step(r: &mut Reader<'_>) -> Step {
        let tag = r.byte();
        match tag % 16 {
            0..=3 => {
                let len = usize::from(r.byte() % 97);
                Step::Raw(r.take(len))
            }
            4..=6 => Step::Reply { index: usize::from(r.byte()), split: usize::from(r.byte()) },
            7 => Step::TlsEstablished,
            8 => {
                let b = r.byte();
                Step::Time { advance: STEPS[usize::from(b & 7)], feed: b & 8 == 0 }
            }
            9..=11 => {
                let b = r.byte();
                let event = match b % 8 {
                    0 => EventPick::Connected,
                    1 => EventPick::ConnectFailed,
                    2 => EventPick::Listening(r.u16()),
                    3 => EventPick::ListenFailed,
                    4 => EventPick::AcceptedFromPeer,
                    5 => EventPick::AcceptedForeign,
                    6 => EventPick::Finished(u64::from(r.u16())),
                    _ => EventPick::Failed(u64::from(r.u16())),
                };
                Step::Data { stale: b & 0x80 != 0, event }
            }
            12 | 13 => Step::Start(r.byte()),
            14 => Step::Abort,
            _ => Step::ControlEof,
        }
    }

    fn config(a: u8, b: u8) -> ClientConfig {
        let bit = |x: u8, n: u32| x & (1 << n) != 0;
        let tls = match a & 3 {
            0 => TlsMode::Off,
            1 => TlsMode::Explicit { allow_plaintext_fallback: false },
            2 => TlsMode::Explicit { allow_plaintext_fallback: true },
            _ => TlsMode::Implicit,
        };
        let policy = match a >> 3 & 3 {
            1 => PasvPolicy::SubstituteUnroutable,
            2 => PasvPolicy::Trust,
            _ => PasvPolicy::UseControlPeer,
        };
        let mut parse = if bit(b, 2) { ParseOptions::strict() } else { ParseOptions::default() };
        if bit(b, 3) {
            parse = parse.max_line_len(64).max_reply_lines(8);
        }
        parse = parse.allow_mismatched_multiline_end(bit(b, 4));
        ClientConfig::default()
            .tls(tls)
            .data_mode(if bit(a, 2) { DataMode::Active } else { DataMode::Passive })
            .pasv_policy(policy)
            .protect_data(!bit(a, 5))
            .auto_feat(bit(a, 6))
            .keepalive(bit(a, 7).then_some(Duration::from_secs(30)))
            .parse_options(parse)
            .ascii(bit(b, 5))
            .resume_tls_session(!bit(b, 6))
    }

    fn peer(b: u8) -> SocketAddr {
        match b & 3 {
            1 => "[::1]:21".parse().expect("valid"),
            2 => "[::ffff:127.0.0.1]:21".parse().expect("valid"),
            _ => "127.0.0.1:21".parse().expect("valid"),
        }
    }

    fn path(b: u8) -> Pathname {
        Pathname::try_from(PATHS[usize::from(b) % PATHS.len()]).expect("valid")
    }

    /// Starts the operation `b` picks (`b % 32`; the path is `b / 32`).
    pub(super) fn start(s: &mut Session, now: Instant, b: u8) -> Result<OpId, StartError> {
        let p = path(b / 32);
        let q = path(b / 32 + 1);
        match b % 32 {
            0 | 1 => s.login(now, "alice", "secret", None),
            2 => s.login(now, "alice", "secret", Some("acme")),
            3 => s.retrieve(now, &p, 0),
            4 => s.retrieve(now, &p, 100),
            5 => s.store(now, &p, 0),
            6 => s.store(now, &p, 7),
            7 => s.append(now, &p),
            8 => s.store_unique(now),
            9 => s.list(now, ListCommand::Auto, None),
            10 => s.list(now, ListCommand::List, Some(&p)),
            11 => s.list(now, ListCommand::Nlst, None),
            12 => s.list(now, ListCommand::Mlsd, Some(&p)),
            13 => s.rename(now, &p, &q),
            14 => s.pwd(now),
            15 => s.cwd(now, &p),
            16 => s.cdup(now),
            17 => s.mkdir(now, &p),
            18 => s.rmdir(now, &p),
            19 => s.delete(now, &p),
            20 => s.size(now, &p),
            21 => s.mdtm(now, &p),
            22 => s.mfmt(now, Timestamp::new(2024, 1, 2, 3, 4, 5).expect("valid"), &p),
            23 => s.mlst(now, Some(&p)),
            24 => s.mlst(now, None),
            25 => s.feat(now),
            26 => s.raw(now, Command::Stat(None)),
            27 => s.raw(now, Command::Site(Text::from_static("CHMOD 644 f"))),
            28 => s.raw(
                now,
                Command::Other(
                    ExtensionCommand::new(Verb::try_from("XCRC").expect("valid"), Some(Text::from_static("f")))
                        .expect("an extension verb"),
                ),
            ),
            29 => s.rein(now),
            30 => s.quit(now),
            _ => s.raw(now, Command::Noop),
        }
    }

    /// Exactly one command line that the codec decodes, nothing left over.
    fn one_command(bytes: &[u8]) -> Command {
        let mut decoder = CommandDecoder::new(ParseOptions::default());
        let mut buf = BytesMut::from(bytes);
        let cmd = match decoder.decode(&mut buf) {
            Some(Ok(cmd)) => cmd,
            other => panic!("transmitted {:?} is not a command line: {other:?}", String::from_utf8_lossy(bytes)),
        };
        assert!(decoder.decode(&mut buf).is_none(), "several lines in {:?}", String::from_utf8_lossy(bytes));
        assert!(buf.is_empty(), "bytes left over in {:?}", String::from_utf8_lossy(bytes));
        cmd
    }

    /// What one drain produced.
    #[derive(Debug, Default)]
    struct Drained {
        outputs: usize,
        transmitted: bool,
        urgent: bool,
        transfers: Vec<DataId>,
        abor: bool,
        deadline: Option<Instant>,
    }

    /// The session under test and what its outputs told the driver so far.
    struct Harness {
        session: Session,
        peer: SocketAddr,
        tls: TlsMode,
        policy: PasvPolicy,
        protect_data: bool,
        resume: bool,
        now: Instant,
        /// `Output::Close` was seen.
        closed: bool,
        /// `Output::StartTls` was seen and `TlsEstablished` not fed yet.
        handshake: bool,
        /// The operation started and not completed yet.
        outstanding: Option<OpId>,
        last_started: Option<OpId>,
        last_completed: Option<OpId>,
        /// The newest data id of a Connect or Listen, and the one before.
        newest: Option<DataId>,
        previous: Option<DataId>,
        /// The data id of the last `Transfer` action.
        transferred: Option<DataId>,
        /// The last `PassiveAddress` event, for the `Connect` that follows.
        passive: Option<(SocketAddr, PasvDecision)>,
        trace: bool,
    }

    impl Harness {
        fn drain(&mut self) -> Drained {
            let mut d = Drained::default();
            for _ in 0..MAX_POLLS {
                let out = self.session.poll_output();
                if self.trace {
                    match &out {
                        Output::Transmit(b) => eprintln!("  < {:?}", String::from_utf8_lossy(b)),
                        o => eprintln!("  < {o:?}"),
                    }
                }
                if let Output::Wait(deadline) = out {
                    assert_eq!(self.session.is_closed(), self.closed, "is_closed disagrees with Output::Close");
                    if self.closed {
                        assert_eq!(deadline, None, "a closed session reports a deadline");
                    }
                    if self.outstanding.is_some() {
                        assert!(self.session.is_busy(), "operation {:?} ended without OpCompleted", self.outstanding);
                    }
                    d.deadline = deadline;
                    return d;
                }
                assert!(!self.closed, "output after Close: {out:?}");
                d.outputs += 1;
                self.output(out, &mut d);
            }
            panic!("poll_output did not reach Wait in {MAX_POLLS} polls");
        }

        fn output(&mut self, out: Output, d: &mut Drained) {
            match out {
                Output::Transmit(bytes) => {
                    // SECURITY.md L2: nothing goes out between 234 and the handshake.
                    assert!(
                        !self.handshake,
                        "transmitted {:?} during the TLS handshake",
                        String::from_utf8_lossy(&bytes)
                    );
                    d.transmitted = true;
                    let cmd = one_command(&bytes);
                    if matches!(cmd, Command::User(_) | Command::Pass(_) | Command::Acct(_)) {
                        // SECURITY.md A8: credentials only under TLS when it is required.
                        let required = matches!(
                            self.tls,
                            TlsMode::Implicit | TlsMode::Explicit { allow_plaintext_fallback: false }
                        );
                        assert!(!required || self.session.is_secured(), "{cmd:?} sent without TLS");
                    }
                    if matches!(cmd, Command::Abor) {
                        d.abor = true;
                    }
                }
                Output::TransmitUrgent(bytes) => {
                    assert!(!self.handshake, "urgent data during the TLS handshake");
                    assert_eq!(&bytes[..], SYNCH, "urgent data other than IP DM");
                    d.urgent = true;
                }
                Output::Data(action) => self.data_action(action, d),
                Output::StartTls => {
                    assert!(!self.handshake, "StartTls twice");
                    assert!(matches!(self.tls, TlsMode::Explicit { .. }), "StartTls without explicit TLS");
                    self.handshake = true;
                }
                Output::StopTls => assert!(!self.handshake, "StopTls during the handshake"),
                Output::Event(Event::OpCompleted { op, .. }) => {
                    assert_eq!(Some(op), self.outstanding, "OpCompleted for {op:?}, not the running operation");
                    assert!(self.last_completed.is_none_or(|last| op > last), "operations completed out of order");
                    self.outstanding = None;
                    self.last_completed = Some(op);
                }
                Output::Event(Event::PassiveAddress { used, decision, .. }) => {
                    self.passive = Some((used, decision));
                }
                Output::Event(_) => {}
                Output::Close => {
                    assert!(self.outstanding.is_none(), "closed with {:?} not completed", self.outstanding);
                    self.closed = true;
                    self.handshake = false;
                }
                Output::Wait(_) => unreachable!("handled by drain"),
            }
        }

        fn data_action(&mut self, action: DataAction, d: &mut Drained) {
            match action {
                DataAction::Connect { id, addr } => {
                    let (used, decision) = self.passive.take().expect("Connect without a PassiveAddress event");
                    assert_eq!(used, addr, "the PassiveAddress event names another address");
                    // SECURITY.md D5.
                    if self.policy == PasvPolicy::UseControlPeer || decision != PasvDecision::Trusted {
                        assert_eq!(addr.ip(), self.peer.ip(), "connect to {addr}, not the control peer ({decision:?})");
                    }
                    self.new_id(id);
                }
                DataAction::Listen { id, family } => {
                    assert_eq!(family, NetProto::of(&self.peer.ip().to_canonical()), "listen in another family");
                    self.new_id(id);
                }
                DataAction::Transfer { id, tls, .. } => {
                    assert_eq!(Some(id), self.newest, "transfer on an old data connection");
                    assert_ne!(Some(id), self.transferred, "two transfers on one data connection");
                    self.transferred = Some(id);
                    if tls.required {
                        assert!(self.protect_data && self.session.is_secured(), "data TLS without PROT P");
                    } else {
                        assert!(!(self.protect_data && self.session.is_secured()), "PROT P data without TLS");
                    }
                    assert_eq!(tls.resume_control_session, self.resume);
                    d.transfers.push(id);
                }
                DataAction::Reject { .. } | DataAction::Close { .. } => {}
            }
        }

        fn new_id(&mut self, id: DataId) {
            assert!(self.newest.is_none_or(|n| id > n), "data id {id:?} reused");
            self.previous = self.newest;
            self.newest = Some(id);
        }

        /// Feeds an input the session must take (unless closed), and drains.
        fn input(&mut self, input: Input<'_>) -> Drained {
            let r = self.session.handle_input(self.now, input);
            if self.closed {
                assert_eq!(r, Err(Misuse::Closed), "input accepted after Close");
            } else {
                assert_eq!(r, Ok(()), "input refused");
            }
            self.drain()
        }

        fn control(&mut self, bytes: &[u8]) {
            if bytes.is_empty() {
                return;
            }
            if self.trace {
                eprintln!("> Control({:?})", String::from_utf8_lossy(bytes));
            }
            let handshake = self.handshake;
            let d = self.input(Input::Control(bytes));
            if handshake {
                // SECURITY.md L2 (CVE-2021-22947).
                assert!(self.closed, "bytes during the TLS handshake were not fatal");
                assert!(!d.transmitted);
            }
        }

        fn run(&mut self, step: Step) {
            if self.trace && !matches!(step, Step::Raw(_) | Step::Reply { .. }) {
                eprintln!("> {step:?}");
            }
            match step {
                Step::Raw(bytes) => self.control(&bytes),
                Step::Reply { index, split } => {
                    let mut wire = REPLIES[index % REPLIES.len()].to_vec();
                    wire.extend_from_slice(b"\r\n");
                    let split = split % (wire.len() + 1);
                    self.control(&wire[..split]);
                    self.control(&wire[split..]);
                }
                Step::TlsEstablished => {
                    let r = self.session.handle_input(self.now, Input::TlsEstablished);
                    if self.closed {
                        assert_eq!(r, Err(Misuse::Closed));
                    } else if self.handshake {
                        assert_eq!(r, Ok(()));
                        self.handshake = false;
                        assert!(self.session.is_secured(), "not secured after the handshake");
                    } else {
                        assert!(matches!(r, Err(Misuse::UnexpectedInput(_))), "TlsEstablished without StartTls: {r:?}");
                        assert_eq!(self.drain().outputs, 0, "a Misuse changed the state");
                        return;
                    }
                    self.drain();
                }
                Step::Time { advance, feed } => {
                    self.now += advance;
                    if feed {
                        let now = self.now;
                        let d = self.input(Input::Timeout);
                        if let Some(t) = d.deadline {
                            assert!(t > now, "Timeout at {now:?} left deadline {t:?} in the past");
                        }
                    }
                }
                Step::Data { stale, event } => {
                    let id = if stale { self.previous.or(self.newest) } else { self.newest };
                    let Some(id) = id else { return };
                    let foreign = match self.peer.ip() {
                        IpAddr::V4(_) => SocketAddr::new(Ipv4Addr::new(127, 0, 0, 2).into(), 20),
                        IpAddr::V6(_) => SocketAddr::new(Ipv4Addr::new(127, 0, 0, 2).to_ipv6_mapped().into(), 20),
                    };
                    let listen_ip = if self.peer.ip().to_canonical().is_ipv4() {
                        IpAddr::V4(Ipv4Addr::LOCALHOST)
                    } else {
                        self.peer.ip()
                    };
                    let event = match event {
                        EventPick::Connected => DataEvent::Connected,
                        EventPick::ConnectFailed => DataEvent::ConnectFailed,
                        // A listener has a real port: with port 0 the PORT/EPRT
                        // would be refused by any server (the session does not
                        // check what the caller reports).
                        EventPick::Listening(port) => {
                            DataEvent::Listening { addr: SocketAddr::new(listen_ip, port.max(1)) }
                        }
                        EventPick::ListenFailed => DataEvent::ListenFailed,
                        EventPick::AcceptedFromPeer => {
                            DataEvent::Accepted { peer: SocketAddr::new(self.peer.ip(), 20) }
                        }
                        EventPick::AcceptedForeign => DataEvent::Accepted { peer: foreign },
                        EventPick::Finished(bytes) => DataEvent::Finished { bytes },
                        EventPick::Failed(bytes) => DataEvent::Failed { bytes },
                    };
                    let d = self.input(Input::Data(id, event));
                    if matches!(event, DataEvent::Accepted { peer } if peer == foreign) {
                        // SECURITY.md D4.
                        assert!(d.transfers.is_empty(), "a connection from {foreign} was used");
                    }
                }
                Step::Start(b) => {
                    let busy = self.session.is_busy();
                    let r = start(&mut self.session, self.now, b);
                    if self.trace {
                        eprintln!("  = {r:?}");
                    }
                    match r {
                        Ok(id) => {
                            assert!(!self.closed, "an operation started after Close");
                            assert!(!busy, "an operation started while another ran");
                            assert!(self.outstanding.is_none());
                            assert!(self.last_started.is_none_or(|last| id > last), "operation id reused");
                            self.outstanding = Some(id);
                            self.last_started = Some(id);
                        }
                        Err(StartError::Closed) => assert!(self.closed, "Closed while open"),
                        Err(StartError::Busy) => assert!(busy, "Busy while idle"),
                        Err(StartError::NotReady) => assert!(!self.closed),
                        Err(e) => panic!("valid arguments refused: {e:?}"),
                    }
                    self.drain();
                }
                Step::Abort => {
                    let r = self.session.abort(self.now);
                    let d = self.drain();
                    if r.is_ok() {
                        assert!(d.urgent && d.abor, "abort without IP DM and ABOR");
                    } else {
                        assert_eq!(d.outputs, 0, "a refused abort changed the state");
                    }
                }
                Step::ControlEof => {
                    let d = self.input(Input::ControlEof);
                    assert!(self.closed, "EOF did not close");
                    let _ = d;
                }
            }
        }
    }

    pub(super) fn run(data: &[u8]) {
        let mut r = Reader(data);
        let (a, b, first) = (r.byte(), r.byte(), r.byte());
        let config = config(a, b);
        let peer = peer(b);
        // A test picks its starting instant; the session never reads the clock.
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut h = Harness {
            tls: config.tls,
            policy: config.pasv_policy,
            protect_data: config.protect_data,
            resume: config.resume_tls_session,
            session: Session::new(config, peer, now),
            peer,
            now,
            closed: false,
            handshake: false,
            outstanding: None,
            last_started: None,
            last_completed: None,
            newest: None,
            previous: None,
            transferred: None,
            passive: None,
            trace: std::env::var_os("FTPKIT_FUZZ_TRACE").is_some(),
        };
        let d = h.drain();
        assert_eq!(d.outputs, 0, "the client spoke before the greeting");
        if b & 0x80 == 0 {
            h.control(b"220 ready\r\n");
        } else {
            let len = usize::from(r.byte());
            let greeting = r.take(len);
            h.control(&greeting);
        }
        h.run(Step::Start(first));
        let mut steps = 0;
        while !r.0.is_empty() && steps < MAX_STEPS {
            let s = step(&mut r);
            h.run(s);
            steps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One operation of a seed, in the layout of the module docs.
    #[derive(Clone, Copy)]
    enum S {
        /// A line of [`LINES`].
        L(&'static str),
        /// Raw control bytes.
        Raw(&'static [u8]),
        /// An arbitrary command from these bytes.
        Cmd(&'static [u8]),
        /// A fitting answer chosen by the selector (0: LoggedIn, Ready,
        /// Done...; 2: NeedAccount; 3: LoginDenied; 3 << 3: a failure).
        A(u8),
        /// An answer to the last request answered (stale).
        StaleAnswer,
        /// `Listening` on this port.
        Listening(u16),
        /// Incoming from the control peer, from a third host.
        Incoming,
        Foreign,
        Connected,
        /// A data event with a byte count: 6 progress, 7 finished.
        Data(u8, u64),
        /// A failed transfer: byte count, reason (4: truncated).
        Failed(u64, u8),
        /// Clock step (index into the step table), then a timeout if `true`.
        Time(u8, bool),
        Tls,
        Eof,
        Shutdown,
    }

    /// Config bytes (`a`, `b`: flags; `t`: timeout bits 4-7) with 3 login
    /// failures, 3 consecutive errors, 4 pending commands and 10 session
    /// errors, then the operations.
    fn seed(a: u8, b: u8, t: u8, ops: &[S]) -> Vec<u8> {
        let mut out = vec![a, b, 0x02 | 2 << 2 | 4 << 5, 9 | t, 0];
        for op in ops {
            match *op {
                S::L(l) => {
                    let i = LINES.iter().position(|x| *x == l.as_bytes()).expect("a line of LINES");
                    out.extend_from_slice(&[0, u8::try_from(i).expect("fits")]);
                }
                S::Raw(b) => {
                    out.extend_from_slice(&[0, 224, u8::try_from(b.len()).expect("short")]);
                    out.extend_from_slice(b);
                }
                S::Cmd(b) => {
                    out.extend_from_slice(&[0, 200]);
                    out.extend_from_slice(b);
                }
                S::A(sel) => out.extend_from_slice(&[12, sel << 3]),
                S::StaleAnswer => out.extend_from_slice(&[12, 2]),
                S::Listening(port) => {
                    out.extend_from_slice(&[10, 0]);
                    out.extend_from_slice(&port.to_le_bytes());
                }
                S::Incoming => out.extend_from_slice(&[10, 2]),
                S::Foreign => out.extend_from_slice(&[10, 3]),
                S::Connected => out.extend_from_slice(&[10, 4]),
                S::Data(event, n) => {
                    out.extend_from_slice(&[10, event]);
                    out.extend_from_slice(&n.to_le_bytes());
                }
                S::Failed(n, reason) => {
                    out.extend_from_slice(&[10, 8]);
                    out.extend_from_slice(&n.to_le_bytes());
                    out.push(reason);
                }
                S::Time(step, feed) => out.extend_from_slice(&[8, step | if feed { 0 } else { 16 }]),
                S::Tls => out.push(7),
                S::Eof => out.push(6),
                S::Shutdown => out.push(15),
            }
        }
        out
    }

    /// The seeds of `fuzz/corpus/server_session/seed-*`.
    #[rustfmt::skip]
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        use S::*;
        vec![
            // Login with the caller answering: a refusal held back (A1), an
            // account, CWD, QUIT, then inputs after close.
            ("login", seed(0, 2, 0, &[
                L("PWD"), L("USER alice"), L("PASS x"), A(0), L("CWD d"), A(0), L("PWD"), L("NOOP"),
                L("USER alice"), L("PASS x"), A(3), Time(4, true), L("USER alice"), L("PASS x"), A(2),
                L("ACCT acme"), A(0), L("QUIT"), L("NOOP"), A(0),
            ])),
            // Anonymous login, PASV + RETR with STAT during the transfer, a
            // foreign connection refused (D3), ABOR of a transfer (X1),
            // EPSV ALL refusing PASV and PORT (D7).
            ("pasv-retr", seed(1, 2, 0, &[
                L("TYPE I"), L("PASV"), Listening(50001), L("RETR f"), A(0), Incoming, Data(6, 100), L("STAT"),
                Data(7, 200), L("LIST"), L("PASV"), Listening(50002), Foreign, Incoming, L("LIST"), A(0),
                L("ABOR"), L("EPSV ALL"), L("PASV"), L("PORT 127,0,0,1,4,1"), L("EPSV"), Listening(50003),
                L("NLST"), A(0), Incoming, Data(7, 5), L("QUIT"),
            ])),
            // AUTH TLS with a command pipelined behind it and another sent
            // during the handshake (L1), PROT P, an upload failing, REIN.
            ("auth-tls", seed(2, 2, 0, &[
                Raw(b"AUTH TLS\r\nUSER evil\r\n"), L("PASS x"), Tls, L("PBSZ 0"), L("PROT P"), L("USER alice"),
                L("PASS x"), A(0), L("EPSV"), Listening(50004), L("STOR f"), A(0), Incoming, Failed(10, 4),
                L("REIN"), Tls, Time(7, true),
            ])),
            // PORT to a third host and to port 20 refused (D1), then an
            // active RETR with REIN and QUIT during the transfer (X2).
            ("active", seed(1, 2, 0, &[
                L("PORT 127,0,0,2,4,1"), L("PORT 127,0,0,1,0,20"), L("PORT 127,0,0,1,4,1"), L("RETR f"), A(0),
                Connected, L("REIN"), L("QUIT"), Data(7, 7), L("NOOP"), StaleAnswer, Shutdown,
            ])),
            // Short timeouts: a data connection never made (C2), a stalled
            // upload, the login and idle timeouts (C1).
            ("timeouts", seed(1, 2, 0xF0, &[
                L("PASV"), Listening(50005), L("RETR f"), A(0), Time(3, true), L("STOR f"), A(0), Time(5, true),
                L("REIN"), L("USER anonymous"), L("PASS x"), Time(2, false), Time(0, true), Time(7, true),
            ])),
            // Strict parsing, 64-byte lines, SITE on: lines split across
            // reads, the requests of SITE, SIZE, MDTM, MLST and STAT with a
            // path, an arbitrary command (PWD), an HTTP request (S3), EOF.
            ("commands", seed(0x82, 0x19, 0, &[
                Raw(b"USER a\r\nPA"), Raw(b"SS b\r\nSITE x\r\n"), A(0), A(0), L("HELP"), L("FEAT"), L("SIZE f"),
                A(0), L("MDTM f"), A(0), L("MLST f"), A(0), L("STAT f"), A(0), Cmd(&[25]), L("GET / HTTP/1.1"),
                Eof,
            ])),
        ]
    }

    /// The fuzz body on the seeds, so `cargo test` runs it; and the seed
    /// files, when the repository's `fuzz/` is there, are these seeds
    /// (`FTPKIT_WRITE_SEEDS=1` rewrites them).
    #[test]
    fn server_session_runs_on_seeds() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/server_session");
        for (name, seed) in seeds() {
            server_session(&seed);
            if std::env::var_os("FTPKIT_WRITE_SEEDS").is_some() {
                std::fs::write(corpus.join(format!("seed-{name}")), &seed).expect("write the seed");
            }
            if let Ok(file) = std::fs::read(corpus.join(format!("seed-{name}"))) {
                assert_eq!(file, seed, "fuzz/corpus/server_session/seed-{name} differs from its builder");
            }
        }
    }

    /// Edge inputs: empty, config only, refused session, all ones.
    #[test]
    fn server_session_runs_on_edge_inputs() {
        server_session(b"");
        server_session(&[1, 2, 3, 4, 5]);
        server_session(&[0, 0, 0, 0, 7, 0, 30, 12, 0, 6]);
        server_session(&[0xFF; 300]);
        server_session(&(0..=255).collect::<Vec<u8>>());
    }
}
