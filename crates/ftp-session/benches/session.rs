//! Throughput of the server session state machine: a whole scripted control
//! session, driven the way a real driver does (feed each command's bytes,
//! drain outputs to `Wait`, answer requests, report data events), with no
//! I/O at all. One element is one session, so criterion reports sessions
//! per second. Results and the command that produced them: `BENCHMARKS.md`.
//!
//! The session: greeting; `USER alice` / `PASS secret` answered
//! `Answer::LoggedIn`; `TYPE I`; `PASV` (listener reported listening),
//! `LIST` answered `Answer::Ready`, the data connection arrives, the transfer
//! finishes; the same for `RETR f`; `QUIT`. That is 13 inputs (7 reads of
//! control bytes, 6 data events) and 3 answers in, 11 replies and 16 other
//! outputs (3 requests, 13 data actions and events) out.
//!
//! ```text
//! cargo bench -p ftp-session --bench session -- --warm-up-time 1 --measurement-time 3
//! ```

// A driver takes its `now` from the clock; the session never does.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, DataId, Input, Output, RequestId, ServerConfig, Session,
};

/// What the caller learnt from one drain.
#[derive(Default)]
struct Drained {
    /// Outputs other than `Transmit` and `Wait`.
    outputs: usize,
    request: Option<RequestId>,
    listen: Option<DataId>,
    transfer: bool,
    closed: bool,
}

/// The caller's loop: carry out every output until `Wait`. Reply bytes are
/// "written" to `wire`, which a real driver would hand to its socket.
fn drain(s: &mut Session, wire: &mut Vec<u8>) -> Drained {
    let mut d = Drained::default();
    loop {
        let out = s.poll_output();
        if !matches!(out, Output::Transmit(_) | Output::Wait(_)) {
            d.outputs += 1;
        }
        match out {
            Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
            Output::Request(r) => d.request = Some(r.id),
            Output::Data(DataAction::Listen { id, .. }) => d.listen = Some(id),
            Output::Data(DataAction::Transfer { .. }) => d.transfer = true,
            Output::Close => d.closed = true,
            Output::Wait(_) => return d,
            other => drop(black_box(other)),
        }
    }
}

fn control(s: &mut Session, now: Instant, bytes: &[u8], wire: &mut Vec<u8>) -> Drained {
    s.handle_input(now, Input::Control(bytes)).expect("open");
    drain(s, wire)
}

fn event(s: &mut Session, now: Instant, id: DataId, event: DataEvent, wire: &mut Vec<u8>) -> Drained {
    s.handle_input(now, Input::Data(id, event)).expect("open");
    drain(s, wire)
}

/// One whole session; returns the bytes written to the control connection
/// and the number of outputs other than replies.
fn scripted_session(config: &Arc<ServerConfig>, conn: Connection, now: Instant, wire: &mut Vec<u8>) -> (usize, usize) {
    wire.clear();
    let mut outputs = 0;
    let mut s = Session::new(Arc::clone(config), conn, now);
    outputs += drain(&mut s, wire).outputs;
    let login = control(&mut s, now, b"USER alice\r\nPASS secret\r\n", wire);
    outputs += login.outputs;
    s.answer(now, login.request.expect("login request"), Answer::LoggedIn).expect("fits");
    outputs += drain(&mut s, wire).outputs;
    outputs += control(&mut s, now, b"TYPE I\r\n", wire).outputs;
    for command in [&b"LIST\r\n"[..], b"RETR f\r\n"] {
        let pasv = control(&mut s, now, b"PASV\r\n", wire);
        outputs += pasv.outputs;
        let id = pasv.listen.expect("listen");
        let addr: SocketAddr = SocketAddr::new(conn.local.ip(), 50_001);
        outputs += event(&mut s, now, id, DataEvent::Listening { addr }, wire).outputs;
        let asked = control(&mut s, now, command, wire);
        outputs += asked.outputs;
        s.answer(now, asked.request.expect("storage request"), Answer::Ready).expect("fits");
        outputs += drain(&mut s, wire).outputs;
        let peer = SocketAddr::new(conn.peer.ip(), 40_001);
        let started = event(&mut s, now, id, DataEvent::Incoming { peer }, wire);
        debug_assert!(started.transfer);
        outputs += started.outputs;
        outputs += event(&mut s, now, id, DataEvent::Finished { bytes: 4096 }, wire).outputs;
    }
    let end = control(&mut s, now, b"QUIT\r\n", wire);
    debug_assert!(end.closed);
    outputs += end.outputs;
    (wire.len(), outputs)
}

fn benches(c: &mut Criterion) {
    let config = Arc::new(ServerConfig::default());
    let conn = Connection::new("192.0.2.10:50000".parse().expect("addr"), "192.0.2.1:21".parse().expect("addr"));
    let now = Instant::now();
    let mut wire = Vec::with_capacity(1024);

    // The script does what it says: check the transcript once.
    let (_, outputs) = scripted_session(&config, conn, now, &mut wire);
    assert_eq!(outputs, 16, "3 requests and 13 data actions and events");
    let transcript = String::from_utf8(wire.clone()).expect("ASCII replies");
    let codes: Vec<&str> = transcript.lines().map(|l| &l[..3]).collect();
    assert_eq!(codes, ["220", "331", "230", "200", "227", "150", "226", "227", "150", "226", "221"], "{transcript}");

    let mut group = c.benchmark_group("server_session");
    group.throughput(Throughput::Elements(1));
    group.bench_function("login_pasv_list_retr_quit", |b| {
        b.iter(|| black_box(scripted_session(&config, conn, now, &mut wire)));
    });
    group.finish();
}

criterion_group!(session, benches);
criterion_main!(session);
