//! Body of the `client_session` cargo-fuzz target. Input layout (hand-writable; missing bytes read
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

use bytes::{Bytes, BytesMut};
use ftp_proto::{Command, CommandDecoder, ExtensionCommand, NetProto, ParseOptions, Pathname, Text, Timestamp, Verb};

use super::Role;
use crate::Misuse;
use crate::client::{
    ClientConfig, DataAction, DataEvent, DataId, DataMode, Event, Input, ListCommand, OpId, Output, PasvDecision,
    PasvPolicy, Session, StartError, TlsMode,
};

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
fn start(s: &mut Session, now: Instant, b: u8) -> Result<OpId, StartError> {
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

/// What a client drain noticed.
#[derive(Debug, Default)]
struct Seen {
    transmitted: bool,
    urgent: bool,
    transfers: Vec<DataId>,
    abor: bool,
}

type Drained = super::Drained<Seen>;

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
    /// Polls to `Wait`, checking every output.
    fn drain(&mut self) -> Drained {
        super::drain(self)
    }

    fn data_action(&mut self, action: DataAction, d: &mut Seen) {
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
            assert!(!d.seen.transmitted);
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
                    EventPick::AcceptedFromPeer => DataEvent::Accepted { peer: SocketAddr::new(self.peer.ip(), 20) },
                    EventPick::AcceptedForeign => DataEvent::Accepted { peer: foreign },
                    EventPick::Finished(bytes) => DataEvent::Finished { bytes },
                    EventPick::Failed(bytes) => DataEvent::Failed { bytes },
                };
                let d = self.input(Input::Data(id, event));
                if matches!(event, DataEvent::Accepted { peer } if peer == foreign) {
                    // SECURITY.md D4.
                    assert!(d.seen.transfers.is_empty(), "a connection from {foreign} was used");
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
                    assert!(d.seen.urgent && d.seen.abor, "abort without IP DM and ABOR");
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

impl Role for Harness {
    type Output = Output;
    type Seen = Seen;

    role_basics!();

    fn at_wait(&self) {
        if self.outstanding.is_some() {
            assert!(self.session.is_busy(), "operation {:?} ended without OpCompleted", self.outstanding);
        }
    }

    fn output(&mut self, out: Output, seen: &mut Seen) {
        match out {
            Output::Transmit(bytes) => {
                // SECURITY.md L2: nothing goes out between 234 and the handshake.
                assert!(!self.handshake, "transmitted {:?} during the TLS handshake", String::from_utf8_lossy(&bytes));
                seen.transmitted = true;
                let cmd = one_command(&bytes);
                if matches!(cmd, Command::User(_) | Command::Pass(_) | Command::Acct(_)) {
                    // SECURITY.md A8: credentials only under TLS when it is required.
                    let required =
                        matches!(self.tls, TlsMode::Implicit | TlsMode::Explicit { allow_plaintext_fallback: false });
                    assert!(!required || self.session.is_secured(), "{cmd:?} sent without TLS");
                }
                if matches!(cmd, Command::Abor) {
                    seen.abor = true;
                }
            }
            Output::TransmitUrgent(bytes) => {
                assert!(!self.handshake, "urgent data during the TLS handshake");
                assert_eq!(&bytes[..], SYNCH, "urgent data other than IP DM");
                seen.urgent = true;
            }
            Output::Data(action) => self.data_action(action, seen),
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
}

/// Arbitrary server bytes and caller events into a client session, with an
/// operation in flight (the input layout is in the module docs). Panics when an invariant
/// breaks: a drain that never reaches `Wait`, a `Transmit` that is
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
