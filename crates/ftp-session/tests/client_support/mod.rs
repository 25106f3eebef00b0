//! A scripted server for the client session: feed canned reply bytes, data
//! events and time, collect what the session sends and asks for. No
//! sockets: every address is a plain value, and the control peers are
//! loopback addresses.
//!
//! Every drain checks what any driver relies on: it reaches `Wait` within a
//! bounded number of polls, every `Transmit` is exactly one well-formed
//! command line, and nothing follows `Close`.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ftp_proto::{CommandDecoder, ParseOptions, Pathname, Reply};
use ftp_session::Misuse;
use ftp_session::client::{
    ClientConfig, DataAction, DataEvent, DataId, Event, Input, OpError, OpId, OpOutput, Output, PasvDecision, Session,
    StartError,
};

/// The control connection's peer (the server).
pub const PEER: &str = "127.0.0.1:21";
/// The same over IPv6.
pub const PEER6: &str = "[::1]:21";
/// Polls allowed per drain before it counts as a livelock.
const MAX_POLLS: usize = 10_000;

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

pub fn path(s: &str) -> Pathname {
    Pathname::try_from(s).expect("a valid pathname")
}

/// Everything one drain produced, in order, and the deadline it ended with.
#[derive(Debug, Default)]
pub struct Drained {
    pub outputs: Vec<Output>,
    pub deadline: Option<Instant>,
}

impl Drained {
    /// The bytes transmitted on the control connection (not urgent), as text.
    pub fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent_bytes()).into_owned()
    }

    pub fn sent_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for o in &self.outputs {
            if let Output::Transmit(b) = o {
                v.extend_from_slice(b);
            }
        }
        v
    }

    /// The bytes to send as TCP urgent data.
    pub fn urgent(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for o in &self.outputs {
            if let Output::TransmitUrgent(b) = o {
                v.extend_from_slice(b);
            }
        }
        v
    }

    pub fn data(&self) -> Vec<DataAction> {
        self.outputs.iter().filter_map(|o| if let Output::Data(a) = o { Some(a.clone()) } else { None }).collect()
    }

    pub fn events(&self) -> Vec<Event> {
        self.outputs.iter().filter_map(|o| if let Output::Event(e) = o { Some(e.clone()) } else { None }).collect()
    }

    /// The `OpCompleted` events.
    pub fn completed(&self) -> Vec<(OpId, Result<OpOutput, OpError>)> {
        self.events()
            .into_iter()
            .filter_map(|e| if let Event::OpCompleted { op, result } = e { Some((op, result)) } else { None })
            .collect()
    }

    /// The result of the one operation that completed in this drain.
    pub fn result(&self) -> Result<OpOutput, OpError> {
        let mut done = self.completed();
        assert_eq!(done.len(), 1, "expected exactly one OpCompleted in {:#?}", self.outputs);
        done.remove(0).1
    }

    /// The codes of the `Intermediate` events.
    pub fn intermediates(&self) -> Vec<u16> {
        self.events()
            .iter()
            .filter_map(|e| if let Event::Intermediate { reply, .. } = e { Some(reply.code().as_u16()) } else { None })
            .collect()
    }

    /// The `PassiveAddress` events: (reported, used, decision).
    pub fn passive(&self) -> Vec<(Option<std::net::SocketAddrV4>, SocketAddr, PasvDecision)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::PassiveAddress { reported, used, decision } => Some((reported, used, decision)),
                _ => None,
            })
            .collect()
    }

    /// The id and address of the one `Connect` action.
    pub fn connect(&self) -> (DataId, SocketAddr) {
        let all: Vec<_> = self
            .data()
            .into_iter()
            .filter_map(|a| if let DataAction::Connect { id, addr } = a { Some((id, addr)) } else { None })
            .collect();
        assert_eq!(all.len(), 1, "expected one Connect in {:#?}", self.outputs);
        all[0]
    }

    /// The id of the one `Listen` action.
    pub fn listen(&self) -> DataId {
        let all: Vec<_> = self
            .data()
            .into_iter()
            .filter_map(|a| if let DataAction::Listen { id, .. } = a { Some(id) } else { None })
            .collect();
        assert_eq!(all.len(), 1, "expected one Listen in {:#?}", self.outputs);
        all[0]
    }

    pub fn closed(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::Close))
    }

    pub fn closed_event(&self) -> bool {
        self.events().contains(&Event::Closed)
    }

    pub fn start_tls(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::StartTls))
    }

    pub fn stop_tls(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::StopTls))
    }

    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }
}

/// The text of a reply's lines, joined by `\n` (for assertions).
pub fn reply_text(r: &Reply) -> String {
    r.lines().iter().map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned()).collect::<Vec<_>>().join("\n")
}

/// A client session, its virtual clock and whether it has closed.
pub struct Client {
    pub session: Session,
    pub now: Instant,
    pub peer: SocketAddr,
    closed: bool,
}

impl Client {
    /// A session connected to `PEER`, before the greeting.
    pub fn new(config: ClientConfig) -> (Self, Drained) {
        Self::with_peer(config, PEER)
    }

    pub fn with_peer(config: ClientConfig, peer: &str) -> (Self, Drained) {
        let now = Instant::now();
        let peer = addr(peer);
        let mut c = Self { session: Session::new(config, peer, now), now, peer, closed: false };
        let d = c.drain();
        (c, d)
    }

    /// A session that got `220` from `peer`.
    pub fn greeted_at(config: ClientConfig, peer: &str) -> Self {
        let (mut c, d) = Self::with_peer(config, peer);
        assert!(d.is_empty(), "the session spoke before the greeting: {:#?}", d.outputs);
        let d = c.feed(b"220 ftpkit test server ready\r\n");
        assert!(matches!(&d.events()[..], [Event::Greeting(r)] if r.code().as_u16() == 220), "{:#?}", d.outputs);
        assert!(d.sent().is_empty());
        c
    }

    pub fn greeted(config: ClientConfig) -> Self {
        Self::greeted_at(config, PEER)
    }

    /// Greeted and logged in as alice (`USER`/`331`/`PASS`/`230`); pass a
    /// config with `auto_feat(false)` unless the test wants FEAT.
    pub fn logged_in_at(config: ClientConfig, peer: &str) -> Self {
        let mut c = Self::greeted_at(config, peer);
        let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
        assert_eq!(d.sent(), "USER alice\r\n");
        assert_eq!(c.feed(b"331 Password required\r\n").sent(), "PASS secret\r\n");
        let d = c.feed(b"230 Logged in\r\n");
        assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
        c
    }

    pub fn logged_in(config: ClientConfig) -> Self {
        Self::logged_in_at(config, PEER)
    }

    /// Starts an operation and drains.
    pub fn start(&mut self, f: impl FnOnce(&mut Session, Instant) -> Result<OpId, StartError>) -> (OpId, Drained) {
        let op = f(&mut self.session, self.now).expect("the operation starts");
        (op, self.drain())
    }

    /// Bytes read from the control connection.
    pub fn feed(&mut self, bytes: &[u8]) -> Drained {
        self.input(Input::Control(bytes))
    }

    /// The same bytes, one read per byte; the drains concatenated.
    pub fn feed_bytewise(&mut self, bytes: &[u8]) -> Drained {
        let mut all = Drained::default();
        for b in bytes {
            let d = self.feed(std::slice::from_ref(b));
            all.outputs.extend(d.outputs);
            all.deadline = d.deadline;
        }
        all
    }

    pub fn data(&mut self, id: DataId, event: DataEvent) -> Drained {
        self.input(Input::Data(id, event))
    }

    pub fn tls_established(&mut self) -> Drained {
        self.input(Input::TlsEstablished)
    }

    /// Moves the clock on by `d` and feeds `Input::Timeout`.
    pub fn advance(&mut self, d: Duration) -> Drained {
        self.now += d;
        self.input(Input::Timeout)
    }

    /// Feeds an input the session must accept, and drains.
    pub fn input(&mut self, input: Input<'_>) -> Drained {
        self.try_input(input).expect("input accepted")
    }

    pub fn try_input(&mut self, input: Input<'_>) -> Result<Drained, Misuse> {
        let r = self.session.handle_input(self.now, input);
        if self.closed {
            assert_eq!(r, Err(Misuse::Closed), "input accepted after Close");
        }
        r.map(|()| self.drain())
    }

    /// Polls to `Wait`, checking every output.
    pub fn drain(&mut self) -> Drained {
        let mut d = Drained::default();
        for _ in 0..MAX_POLLS {
            match self.session.poll_output() {
                Output::Wait(deadline) => {
                    assert_eq!(self.session.is_closed(), self.closed, "is_closed disagrees with Output::Close");
                    d.deadline = deadline;
                    return d;
                }
                out => {
                    assert!(!self.closed, "output after Close: {out:?}");
                    match &out {
                        Output::Transmit(b) => check_command_line(b),
                        Output::Close => self.closed = true,
                        _ => {}
                    }
                    d.outputs.push(out);
                }
            }
        }
        panic!("poll_output did not reach Wait in {MAX_POLLS} polls");
    }
}

/// Exactly one command line that the codec decodes, with nothing left over.
fn check_command_line(bytes: &[u8]) {
    let mut decoder = CommandDecoder::new(ParseOptions::strict());
    let mut buf = BytesMut::from(bytes);
    match decoder.decode(&mut buf) {
        Some(Ok(_)) => {}
        other => panic!("transmitted {:?} is not a command line: {other:?}", String::from_utf8_lossy(bytes)),
    }
    assert!(decoder.decode(&mut buf).is_none(), "more than one line in {:?}", String::from_utf8_lossy(bytes));
    assert!(buf.is_empty(), "bytes left over in {:?}", String::from_utf8_lossy(bytes));
}

/// Default config without the automatic FEAT, so logins are USER/PASS only.
pub fn plain() -> ClientConfig {
    ClientConfig::default().auto_feat(false)
}
