//! Memory held by an idle server session: its inline size plus the heap it
//! keeps, after greeting, login and `PWD`, with every output drained.
//!
//! Target: at most 1 KiB per idle session (the budget; a server
//! keeps one per control connection, so this is the per-connection floor).
//! SECURITY.md C3 (connection floods) is what makes the figure matter.
//!
//! The heap figure is the net of `allocation-counter`'s global allocator
//! (per thread, so the parallel harness does not disturb it) across
//! `Session::new` and the whole drive: everything else created there
//! (outputs, requests, events, the caller's buffers) is dropped before the
//! measurement ends, so what is left is exactly what the session holds. The
//! workspace forbids `unsafe_code`, which a hand-written `GlobalAlloc` would
//! need. The shared `Arc<ServerConfig>` is created outside the measurement:
//! one serves every session.
//!
//! Run with `cargo test -p ftp-session --test memory -- --nocapture` to see
//! the figures.

// A driver takes its `now` from the clock; the session never does.
#![allow(clippy::disallowed_methods)]

use std::mem::size_of;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use allocation_counter::{AllocationInfo, measure};
use ftp_session::server::{
    Answer, Connection, DataAction, DataEvent, Input, Output, Request, ServerConfig, Session, VirtualPath,
};

/// The budget per idle session, inline plus heap.
const BUDGET: usize = 1024;

/// Drains outputs until `Wait`, keeping the transmitted bytes, the requests
/// and the newest data id.
fn drain(s: &mut Session, sent: &mut Vec<u8>) -> (Vec<Request>, Option<ftp_session::server::DataId>) {
    let mut requests = Vec::new();
    let mut data = None;
    loop {
        match s.poll_output() {
            Output::Transmit(b) => sent.extend_from_slice(&b),
            Output::Request(r) => requests.push(r),
            Output::Data(DataAction::Listen { id, .. }) => data = Some(id),
            Output::Wait(_) => return (requests, data),
            _ => {}
        }
    }
}

/// Feeds a command line and answers its request, if any, with `answer`.
fn command(s: &mut Session, now: Instant, line: &[u8], answer: Answer, sent: &mut Vec<u8>) {
    s.handle_input(now, Input::Control(line)).expect("open");
    let (requests, _) = drain(s, sent);
    if let Some(r) = requests.first() {
        s.answer(now, r.id, answer).expect("fits");
        drain(s, sent);
    }
}

/// Greeting, `USER`/`PASS` answered `LoggedIn`, `PWD`: the state of a
/// session that logged in and now waits for its next command.
fn idle_session(config: Arc<ServerConfig>, conn: Connection, now: Instant) -> Session {
    let mut s = Session::new(config, conn, now);
    let mut sent = Vec::new();
    drain(&mut s, &mut sent);
    command(&mut s, now, b"USER alice\r\nPASS secret\r\n", Answer::LoggedIn, &mut sent);
    command(&mut s, now, b"PWD\r\n", Answer::Done, &mut sent);
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("220 "), "{text}");
    assert!(text.contains("\r\n230 "), "{text}");
    assert!(text.ends_with("257 \"/\" is the current directory\r\n"), "{text}");
    assert!(s.is_logged_in());
    s
}

/// The same, then `CWD /pub/incoming`, `TYPE I`, `PASV` + `RETR` through a
/// finished transfer: idle again, in a subdirectory.
fn idle_session_after_transfer(config: Arc<ServerConfig>, conn: Connection, now: Instant) -> Session {
    let mut s = idle_session(config, conn, now);
    let mut sent = Vec::new();
    command(&mut s, now, b"CWD /pub/incoming\r\n", Answer::Done, &mut sent);
    command(&mut s, now, b"TYPE I\r\n", Answer::Done, &mut sent);
    s.handle_input(now, Input::Control(b"PASV\r\n")).expect("open");
    let id = drain(&mut s, &mut sent).1.expect("a listener");
    let addr = SocketAddr::new(conn.local.ip(), 50_001);
    s.handle_input(now, Input::Data(id, DataEvent::Listening { addr })).expect("open");
    drain(&mut s, &mut sent);
    command(&mut s, now, b"RETR report.pdf\r\n", Answer::Ready, &mut sent);
    let peer = SocketAddr::new(conn.peer.ip(), 40_001);
    s.handle_input(now, Input::Data(id, DataEvent::Incoming { peer })).expect("open");
    drain(&mut s, &mut sent);
    s.handle_input(now, Input::Data(id, DataEvent::Finished { bytes: 1 << 20 })).expect("open");
    drain(&mut s, &mut sent);
    let text = String::from_utf8_lossy(&sent);
    assert!(text.ends_with("226 Transfer complete.\r\n"), "{text}");
    assert_eq!(s.cwd(), &VirtualPath::root().join(b"/pub/incoming"));
    s
}

/// Builds a session inside `measure`, keeping only the session: the net
/// heap bytes are then the session's own.
fn measured(build: impl FnOnce() -> Session) -> (Session, AllocationInfo, usize) {
    let mut kept = None;
    let info = measure(|| kept = Some(build()));
    let heap = usize::try_from(info.bytes_current).expect("a session cannot free more than it allocated");
    (kept.expect("built"), info, heap)
}

fn report(what: &str, info: &AllocationInfo, heap: usize) -> usize {
    let inline = size_of::<Session>();
    let total = inline + heap;
    println!("{what}: {total} bytes = {inline} inline (size_of::<Session>()) + {heap} heap");
    println!(
        "  heap: {} allocations held; while driving: {} allocations, {} bytes in total, peak {} bytes",
        info.count_current, info.count_total, info.bytes_total, info.bytes_max
    );
    total
}

fn fixture() -> (Arc<ServerConfig>, Connection, Instant) {
    let config = Arc::new(ServerConfig::default());
    let peer: SocketAddr = "192.0.2.10:50000".parse().expect("addr");
    let local: SocketAddr = "192.0.2.1:21".parse().expect("addr");
    (config, Connection::new(peer, local), Instant::now())
}

/// An idle, logged-in session (greeting, login, `PWD`, all drained) takes
/// at most 1 KiB, inline plus heap. The figure is in `BENCHMARKS.md`.
#[test]
fn idle_session_fits_in_1_kib() {
    let (config, conn, now) = fixture();
    let (session, info, heap) = measured(|| idle_session(Arc::clone(&config), conn, now));
    let total = report("idle server session", &info, heap);
    println!("  sizes of public parts (for a breakdown):");
    println!("    Connection                          {:>4}", size_of::<Connection>());
    println!("    Instant                             {:>4}", size_of::<Instant>());
    println!("    Option<Instant>                     {:>4}", size_of::<Option<Instant>>());
    println!("    Arc<ServerConfig>                   {:>4}", size_of::<Arc<ServerConfig>>());
    println!("    bytes::BytesMut                     {:>4}", size_of::<bytes::BytesMut>());
    println!("    ftp_proto::CommandDecoder           {:>4}", size_of::<ftp_proto::CommandDecoder>());
    println!("    VecDeque<Output>                    {:>4}", size_of::<std::collections::VecDeque<Output>>());
    println!("    VirtualPath                         {:>4}", size_of::<VirtualPath>());
    println!("    ftp_proto::Username                 {:>4}", size_of::<ftp_proto::Username>());
    println!("    Output                              {:>4}", size_of::<Output>());
    println!("    ServerConfig (shared, not counted)  {:>4}", size_of::<ServerConfig>());
    assert!(session.is_logged_in());
    assert!(total <= BUDGET, "an idle session takes {total} bytes, over the {BUDGET}-byte budget");
}

/// Idle again after a subdirectory and a whole transfer: what the session
/// keeps is its working directory, nothing of the transfer.
#[test]
fn idle_session_after_a_transfer_fits_in_1_kib() {
    let (config, conn, now) = fixture();
    let (session, info, heap) = measured(|| idle_session_after_transfer(Arc::clone(&config), conn, now));
    let total = report("idle server session in /pub/incoming after a RETR", &info, heap);
    assert!(session.is_logged_in());
    assert!(total <= BUDGET, "an idle session takes {total} bytes, over the {BUDGET}-byte budget");
}
