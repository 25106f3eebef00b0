//! A scripted client for the server session: feed lines, collect what the
//! session sends and asks, answer, move a virtual clock. No sockets.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataId, Event, Input, Output, Request, ServerConfig, Session,
};

pub const PEER: &str = "127.0.0.1:40000";
pub const LOCAL: &str = "127.0.0.1:2121";

/// Everything one drain produced, in order.
#[derive(Debug, Default)]
pub struct Drained {
    pub outputs: Vec<Output>,
}

impl Drained {
    /// The reply lines transmitted, as text.
    pub fn lines(&self) -> Vec<String> {
        let mut text = String::new();
        for o in &self.outputs {
            if let Output::Transmit(b) = o {
                text.push_str(&String::from_utf8_lossy(b));
            }
        }
        text.split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    /// The codes of the final lines of each reply (`ddd ` lines).
    pub fn codes(&self) -> Vec<u16> {
        self.lines()
            .iter()
            .filter(|l| l.len() >= 4 && l.as_bytes()[3] == b' ' && l[..3].bytes().all(|b| b.is_ascii_digit()))
            .map(|l| l[..3].parse().unwrap())
            .collect()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.outputs.iter().filter_map(|o| if let Output::Request(r) = o { Some(r.clone()) } else { None }).collect()
    }

    pub fn data(&self) -> Vec<DataAction> {
        self.outputs.iter().filter_map(|o| if let Output::Data(a) = o { Some(a.clone()) } else { None }).collect()
    }

    pub fn events(&self) -> Vec<Event> {
        self.outputs.iter().filter_map(|o| if let Output::Event(e) = o { Some(e.clone()) } else { None }).collect()
    }

    pub fn closed(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::Close))
    }

    pub fn start_tls(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::StartTls))
    }

    pub fn stop_tls(&self) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::StopTls))
    }

    /// The one request of this drain.
    pub fn request(&self) -> Request {
        let r = self.requests();
        assert_eq!(r.len(), 1, "expected one request, got {:?}", self.outputs);
        r.into_iter().next().unwrap()
    }

    /// The id of the first data action of this drain.
    pub fn data_id(&self) -> DataId {
        match self.data().first() {
            Some(
                DataAction::Listen { id, .. }
                | DataAction::Connect { id, .. }
                | DataAction::Transfer { id, .. }
                | DataAction::Accept { id, .. }
                | DataAction::Reject { id, .. }
                | DataAction::Close { id },
            ) => *id,
            other => panic!("no data action: {other:?} in {:?}", self.outputs),
        }
    }

    /// The last transmitted line.
    pub fn last(&self) -> String {
        self.lines().last().cloned().unwrap_or_default()
    }
}

pub struct Harness {
    pub session: Session,
    pub now: Instant,
    pub start: Instant,
}

impl Harness {
    pub fn new(config: ServerConfig) -> (Self, Drained) {
        Self::with_conn(config, PEER, LOCAL)
    }

    pub fn with_conn(config: ServerConfig, peer: &str, local: &str) -> (Self, Drained) {
        let now = Instant::now();
        let conn = Connection::new(peer.parse().unwrap(), local.parse().unwrap());
        let mut h = Harness { session: Session::new(Arc::new(config), conn, now), now, start: now };
        let greeting = h.drain();
        (h, greeting)
    }

    pub fn drain(&mut self) -> Drained {
        let mut d = Drained::default();
        for _ in 0..10_000 {
            match self.session.poll_output() {
                Output::Wait(_) => return d,
                o => d.outputs.push(o),
            }
        }
        panic!("drain did not end");
    }

    /// Sends one line (CRLF added) and drains.
    pub fn send(&mut self, line: &str) -> Drained {
        self.bytes(format!("{line}\r\n").as_bytes())
    }

    pub fn bytes(&mut self, b: &[u8]) -> Drained {
        self.session.handle_input(self.now, Input::Control(b)).expect("input accepted");
        self.drain()
    }

    pub fn answer(&mut self, req: &Request, answer: Answer) -> Drained {
        self.session.answer(self.now, req.id, answer).expect("answer accepted");
        self.drain()
    }

    pub fn data(&mut self, id: DataId, event: DataEvent) -> Drained {
        self.session.handle_input(self.now, Input::Data(id, event)).expect("data event accepted");
        self.drain()
    }

    pub fn input(&mut self, input: Input<'_>) -> Drained {
        self.session.handle_input(self.now, input).expect("input accepted");
        self.drain()
    }

    /// Moves the clock and feeds a timeout.
    pub fn advance(&mut self, by: Duration) -> Drained {
        self.now += by;
        self.session.handle_input(self.now, Input::Timeout).expect("timeout accepted");
        self.drain()
    }

    /// USER + PASS answered with LoggedIn.
    pub fn login(&mut self) {
        assert_eq!(self.send("USER alice").codes(), vec![331]);
        let d = self.send("PASS secret");
        let req = d.request();
        assert_eq!(self.answer(&req, Answer::LoggedIn).codes(), vec![230]);
    }

    /// PASV answered with a listener on `port`; returns the data id.
    pub fn pasv(&mut self, port: u16) -> DataId {
        let d = self.send("PASV");
        let id = d.data_id();
        let d = self.data(id, DataEvent::Listening { addr: format!("127.0.0.1:{port}").parse().unwrap() });
        assert_eq!(d.codes(), vec![227], "{:?}", d.lines());
        id
    }
}

pub fn logged_in(config: ServerConfig) -> Harness {
    let (mut h, _) = Harness::new(config);
    h.login();
    h
}
