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

use super::Role;
use crate::Misuse;
use crate::server::{
    Answer, Connection, DataAction, DataEvent, DataFailure, DataId, Event, Input, ListFormat, Output, RequestId,
    RequestKind, ServerConfig, Session, StorageCapabilities, StorageError, StoreMode,
};

/// Operations read from one input.
const MAX_OPS: usize = 512;

/// Well-formed command lines (CRLF is appended), picked by index. Index 0 is
/// the login prefix.
pub(super) const LINES: &[&[u8]] = &[
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
        // Every optional storage operation, or none (SITE UMASK, MFMT, MFF,
        // ALLO's free space are reachable only with them).
        .storage_capabilities(if bit(b, 5) { all_capabilities() } else { StorageCapabilities::NONE })
        .line_timeout(bit(b, 6).then_some(Duration::from_secs(1)))
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

fn all_capabilities() -> StorageCapabilities {
    StorageCapabilities::SET_MODIFIED
        .with(StorageCapabilities::SET_MODE)
        .with(StorageCapabilities::CREATE_MODE)
        .with(StorageCapabilities::FREE_SPACE)
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
    const ALL: [DataFailure; 7] = [
        DataFailure::ConnectionLost,
        DataFailure::Storage,
        DataFailure::StorageFull,
        DataFailure::QuotaExceeded,
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
        RequestKind::Size { .. } | RequestKind::FreeSpace { .. } => Answer::Size(u64::from(b)),
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

/// What a server drain noticed, for the checks of the operation that caused it.
#[derive(Debug, Default)]
struct Seen {
    transmitted: bool,
    accepted: bool,
    closed: bool,
}

type Drained = super::Drained<Seen>;

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
        assert_eq!(d.seen.closed, conn_pick == 7);
        h
    }

    /// Polls to `Wait`, checking every output.
    fn drain(&mut self) -> Drained {
        super::drain(self)
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
                assert!(d.seen.closed || d.outputs == 0, "EOF did not close");
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
                        assert!(
                            t > now || d.seen.transmitted,
                            "Timeout at {now:?} left deadline {t:?} without progress"
                        );
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
                    assert!(!d.seen.accepted, "D3: accepted a data connection from {foreign}");
                }
            }
            Op::Answer { id, answer } => self.answer(id, answer),
            Op::Shutdown => {
                let r = self.session.handle_input(now, Input::Shutdown);
                let d = self.after(r);
                assert!(d.seen.closed || d.outputs == 0, "Shutdown did not close");
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

impl Role for Harness {
    type Output = Output;
    type Seen = Seen;

    role_basics!();

    fn output(&mut self, out: Output, seen: &mut Seen) {
        match out {
            Output::Transmit(bytes) => {
                seen.transmitted = true;
                self.transmitted(&bytes);
            }
            Output::Data(action) => {
                if let DataAction::Accept { .. } = action {
                    seen.accepted = true;
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
                seen.closed = true;
            }
            Output::Wait(_) => unreachable!(),
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
