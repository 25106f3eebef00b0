//! Transcript tests for the client session: canned server replies and data
//! events in, the exact command bytes, data actions and events out. Each
//! test names the RFC section, SECURITY.md row or PEERS.md quirk it checks.
//! The numbered sections follow the behaviour list of the client issue.

// A test picks its starting instant; the sessions themselves never read the clock.
#![allow(clippy::disallowed_methods)]

#[path = "client_support/mod.rs"]
mod client_support;

use std::time::Duration;

use bytes::BytesMut;
use ftp_proto::{Command, ExtensionCommand, NetProto, ParseOptions, Reply, ReplyDecoder, Text, Timestamp, Verb};
use ftp_session::Misuse;
use ftp_session::client::{
    Capabilities, ClientConfig, DataAction, DataEvent, DataMode, DataTls, Direction, Event, Input, ListCommand,
    OpError, OpOutput, Output, PasvDecision, PasvPolicy, StartError, TlsMode,
};

use client_support::{Client, Drained, PEER6, addr, path, plain, reply_text};

/// A reply as the codec decodes it (the value an `OpError` carries).
fn reply(wire: &str) -> Reply {
    let mut buf = BytesMut::from(wire.as_bytes());
    ReplyDecoder::new(ParseOptions::default()).decode(&mut buf).expect("a whole reply").expect("a valid reply")
}

/// Data connections without TLS (the control connection is plaintext).
const NO_TLS: DataTls = DataTls { required: false, resume_control_session: true };
/// `PROT P` in force: TLS on the data connection, resuming the control session.
const PROT_P: DataTls = DataTls { required: true, resume_control_session: true };

fn transfer(id: ftp_session::client::DataId, direction: Direction, tls: DataTls) -> Vec<DataAction> {
    vec![DataAction::Transfer { id, direction, tls }]
}

/// After `EPSV` went out: a 229 for `port`, the Connect to the control
/// peer, and `Connected`. Returns the data id and what `Connected` produced
/// (the REST or transfer command).
fn epsv_connected(c: &mut Client, port: u16) -> (ftp_session::client::DataId, Drained) {
    let d = c.feed(format!("229 Entering Extended Passive Mode (|||{port}|)\r\n").as_bytes());
    let used = std::net::SocketAddr::new(c.peer.ip(), port);
    assert_eq!(d.passive(), vec![(None, used, PasvDecision::Extended)]);
    let (id, at) = d.connect();
    assert_eq!(at, used);
    assert!(d.sent().is_empty(), "nothing is sent before the data connection is open");
    let d = c.data(id, DataEvent::Connected);
    (id, d)
}

/// A logged-in session (plain FTP) with a passive `RETR f` running: the
/// 150 came, the data transfer was asked for.
fn running_retrieve(c: &mut Client) -> (ftp_session::client::OpId, ftp_session::client::DataId) {
    let (op, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");
    assert_eq!(c.feed(b"200 Type set to I\r\n").sent(), "EPSV\r\n");
    let (id, d) = epsv_connected(c, 50000);
    assert_eq!(d.sent(), "RETR f\r\n");
    let d = c.feed(b"150 Opening BINARY mode data connection for f\r\n");
    assert_eq!(d.intermediates(), vec![150]);
    assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
    (op, id)
}

/// Lets the server list `features` in its FEAT reply (explicit `FEAT`).
fn with_features(c: &mut Client, features: &str) -> Capabilities {
    let (op, d) = c.start(|s, now| s.feat(now));
    assert_eq!(d.sent(), "FEAT\r\n");
    let d = c.feed(format!("211-Features:\r\n{features}211 End\r\n").as_bytes());
    match &d.completed()[..] {
        [(id, Ok(OpOutput::Features(caps)))] if *id == op => caps.clone(),
        other => panic!("FEAT gave {other:?}"),
    }
}

// ---- 1. Connection and login -------------------------------------------------

/// RFC 959 section 5.4: the server greets with 220; nothing is sent before it,
/// and no operation can start before it.
#[test]
fn rfc959_5_4_greeting_220() {
    let (mut c, d) = Client::new(plain());
    assert!(d.is_empty());
    assert_eq!(c.session.login(c.now, "alice", "secret", None), Err(StartError::NotReady));
    let d = c.feed(b"220 ftpkit test server ready\r\n");
    assert_eq!(d.events(), vec![Event::Greeting(reply("220 ftpkit test server ready\r\n"))]);
    assert!(d.sent().is_empty());
    assert!(c.session.login(c.now, "alice", "secret", None).is_ok());
}

/// RFC 959 section 5.4: `120` (service ready in nnn minutes) means wait for
/// the 220; both may also arrive in one read.
#[test]
fn rfc959_5_4_120_then_220_waits() {
    let (mut c, _) = Client::new(plain());
    let d = c.feed(b"120 Service ready in 2 minutes\r\n");
    assert!(d.is_empty(), "120 is not the greeting: {:#?}", d.outputs);
    assert_eq!(c.session.pwd(c.now), Err(StartError::NotReady));
    let d = c.feed(b"220 Ready now\r\n");
    assert_eq!(d.events(), vec![Event::Greeting(reply("220 Ready now\r\n"))]);

    let (mut c, _) = Client::new(plain());
    let d = c.feed(b"120 Wait\r\n220 Ready\r\n");
    assert_eq!(d.events(), vec![Event::Greeting(reply("220 Ready\r\n"))]);
}

/// RFC 959 section 5.4: `421` instead of a greeting refuses the session; the
/// connection closes and takes no more input.
#[test]
fn rfc959_5_4_421_greeting_refused() {
    let (mut c, _) = Client::new(plain());
    let d = c.feed(b"421 Too many connections\r\n");
    assert_eq!(d.events(), vec![Event::Closed]);
    assert!(d.closed());
    assert!(c.session.is_closed());
    assert_eq!(c.session.login(c.now, "alice", "secret", None), Err(StartError::Closed));
    assert_eq!(c.session.handle_input(c.now, Input::Control(b"220 late\r\n")), Err(Misuse::Closed));
}

/// RFC 959 section 4.1.1: `USER`, `331`, `PASS`, `230`.
#[test]
fn rfc959_4_1_1_user_331_pass_230() {
    let mut c = Client::greeted(plain());
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent_bytes(), b"USER alice\r\n");
    let d = c.feed(b"331 Password required for alice\r\n");
    assert_eq!(d.sent_bytes(), b"PASS secret\r\n");
    assert!(d.completed().is_empty());
    let d = c.feed(b"230 Logged in\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    assert!(d.sent().is_empty());
    assert!(!c.session.is_busy());
}

/// RFC 959 section 4.1.1 (and 5.4's state diagram): a 230 to `USER` logs in
/// without a password; PASS is not sent.
#[test]
fn rfc959_4_1_1_user_230_needs_no_password() {
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "anonymous", "guest", None));
    let d = c.feed(b"230 Anonymous access granted\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    assert!(d.sent().is_empty());
}

/// RFC 959 section 4.1.1: `332` after `PASS` asks for `ACCT`.
#[test]
fn rfc959_4_1_1_332_after_pass_sends_acct() {
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", Some("acme")));
    assert_eq!(c.feed(b"331 Password required\r\n").sent(), "PASS secret\r\n");
    assert_eq!(c.feed(b"332 Need account for login\r\n").sent(), "ACCT acme\r\n");
    let d = c.feed(b"230 Logged in\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 959 section 4.1.1: `332` may also answer `USER` directly.
#[test]
fn rfc959_4_1_1_332_after_user_sends_acct() {
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", Some("acme")));
    assert_eq!(c.feed(b"332 Need account\r\n").sent(), "ACCT acme\r\n");
    assert_eq!(c.feed(b"230 Logged in\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 959 section 4.1.1: a 332 when the caller gave no account ends the
/// login with that reply as the refusal, rather than sending an empty ACCT;
/// the session stays in step and usable.
#[test]
fn rfc959_4_1_1_332_without_account_is_an_error() {
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"331 Password required\r\n");
    let d = c.feed(b"332 Need account\r\n");
    assert!(d.sent().is_empty());
    let completed = d.completed();
    assert!(
        matches!(&completed[..], [(o, Err(OpError::Rejected(r)))] if *o == op && r.code().as_u16() == 332),
        "{completed:?}"
    );
}

/// RFC 959 section 4.1.1: `530` ends the login with the reply; the session
/// stays open for another attempt.
#[test]
fn rfc959_4_1_1_530_rejected() {
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "wrong", None));
    assert_eq!(c.feed(b"331 Password required\r\n").sent(), "PASS wrong\r\n");
    let d = c.feed(b"530 Login incorrect.\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("530 Login incorrect.\r\n"))))]);
    assert!(!d.closed());
    // 530 to USER as well.
    let (op, _) = c.start(|s, now| s.login(now, "root", "x", None));
    let d = c.feed(b"530 Not allowed\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("530 Not allowed\r\n"))))]);
    assert!(d.sent().is_empty(), "no PASS after a 530 to USER");
}

/// SECURITY.md E1: arguments that would not survive the wire (line breaks)
/// are refused before anything is sent; RFC 959 is serial, so a second
/// operation while one runs is `Busy`.
#[test]
fn sec_e1_invalid_arguments_and_busy() {
    let mut c = Client::greeted(plain());
    assert_eq!(c.session.login(c.now, "alice\r\nDELE x", "secret", None), Err(StartError::InvalidArgument));
    assert_eq!(c.session.login(c.now, "alice", "se\ncret", None), Err(StartError::InvalidArgument));
    assert_eq!(c.session.login(c.now, "alice", "secret", Some("a\rb")), Err(StartError::InvalidArgument));
    assert!(c.drain().is_empty());
    let _ = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(c.session.pwd(c.now), Err(StartError::Busy));
}

/// RFC 959 section 4.1.1: `REIN` puts the session back in the just-greeted
/// state (220); the transfer type is forgotten, so the next transfer sends
/// TYPE again. A 120 before the 220 is reported as intermediate.
#[test]
fn rfc959_4_1_1_rein_back_to_greeting_220() {
    let mut c = Client::logged_in(plain());
    let (_, id) = running_retrieve(&mut c);
    c.data(id, DataEvent::Finished { bytes: 1 });
    c.feed(b"226 Done\r\n");
    let (op, d) = c.start(|s, now| s.rein(now));
    assert_eq!(d.sent(), "REIN\r\n");
    let d = c.feed(b"120 Reinitializing\r\n");
    assert_eq!(d.intermediates(), vec![120]);
    let d = c.feed(b"220 Service ready for new user\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Done(reply("220 Service ready for new user\r\n"))))]);
    assert!(!d.stop_tls(), "no TLS to clear");
    let (_, d) = c.start(|s, now| s.login(now, "bob", "pw", None));
    assert_eq!(d.sent(), "USER bob\r\n");
    c.feed(b"230 Logged in\r\n");
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n", "TYPE is sent again after REIN");
}

/// RFC 959 section 4.1.1: a REIN refused (502 by servers without it) is an
/// error carrying the reply.
#[test]
fn rfc959_4_1_1_rein_refused() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.rein(now));
    let d = c.feed(b"502 REIN not implemented\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("502 REIN not implemented\r\n"))))]);
}

/// RFC 959 section 4.1.1: `QUIT`, `221`, then the connection closes.
#[test]
fn rfc959_4_1_1_quit_221() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.quit(now));
    assert_eq!(d.sent(), "QUIT\r\n");
    let d = c.feed(b"221 Goodbye.\r\n");
    assert_eq!(
        d.events(),
        vec![Event::OpCompleted { op, result: Ok(OpOutput::Done(reply("221 Goodbye.\r\n"))) }, Event::Closed]
    );
    assert!(matches!(d.outputs.last(), Some(Output::Close)));
    assert_eq!(d.deadline, None);
    assert_eq!(c.session.pwd(c.now), Err(StartError::Closed));
    assert_eq!(c.session.handle_input(c.now, Input::ControlEof), Err(Misuse::Closed));
}

// ---- 2. Capabilities ------------------------------------------------------------

const ALL_FEATURES: &str = " EPRT\r\n EPSV\r\n MDTM\r\n MFMT\r\n MLST type*;size*;modify*;perm;\r\n REST STREAM\r\n \
                            SIZE\r\n TVFS\r\n UTF8\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n HOST\r\n";

fn all_capabilities() -> Capabilities {
    let mut want = Capabilities::default();
    want.feat_known = true;
    want.epsv = true;
    want.eprt = true;
    want.mlst = true;
    want.mlst_facts = vec!["type".into(), "size".into(), "modify".into(), "perm".into()];
    want.mdtm = true;
    want.size = true;
    want.rest_stream = true;
    want.utf8 = true;
    want.tvfs = true;
    want.auth_tls = true;
    want.pbsz = true;
    want.prot = true;
    want.mfmt = true;
    want.host = true;
    want
}

/// RFC 2389 section 3 and RFC 2640 (UTF8 feature; `OPTS UTF8 ON` as in
/// draft-ietf-ftpext-utf-8-option): after login FEAT is parsed
/// into the capability set (RFC 3659 EPSV/EPRT/MLST facts/MDTM/SIZE/REST
/// STREAM/TVFS, RFC 4217 AUTH TLS/PBSZ/PROT, MFMT, HOST), and `OPTS UTF8 ON`
/// is sent because UTF8 is offered.
#[test]
fn rfc2389_feat_parsed_into_capabilities_then_opts_utf8_on() {
    let mut c = Client::greeted(ClientConfig::default());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"331 Password required\r\n");
    assert_eq!(c.feed(b"230 Logged in\r\n").sent(), "FEAT\r\n");
    let d = c.feed(format!("211-Extensions supported:\r\n{ALL_FEATURES}211 End\r\n").as_bytes());
    assert_eq!(d.sent(), "OPTS UTF8 ON\r\n");
    assert!(d.completed().is_empty());
    assert_eq!(c.session.capabilities(), &all_capabilities());
    let d = c.feed(b"200 UTF8 set to on\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 2640 / RFC 2389 section 4 (OPTS): no UTF8 in FEAT, no OPTS; a refused OPTS UTF8 does
/// not fail the login.
#[test]
fn rfc2640_opts_utf8_only_when_offered() {
    let mut c = Client::greeted(ClientConfig::default());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"230 Logged in\r\n");
    let d = c.feed(b"211-Features:\r\n SIZE\r\n211 End\r\n");
    assert!(d.sent().is_empty());
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    assert!(c.session.capabilities().size && !c.session.capabilities().utf8);

    let mut c = Client::greeted(ClientConfig::default());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"230 Logged in\r\n");
    assert_eq!(c.feed(b"211-Features:\r\n UTF8\r\n211 End\r\n").sent(), "OPTS UTF8 ON\r\n");
    let d = c.feed(b"501 Option not understood\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 2389 section 3: a server without FEAT (500/502) has no features; the
/// login still succeeds.
#[test]
fn rfc2389_feat_refused_means_no_capabilities() {
    let mut c = Client::greeted(ClientConfig::default());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"230 Logged in\r\n");
    let d = c.feed(b"502 Command not implemented\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    assert_eq!(c.session.capabilities(), &Capabilities::default());
}

/// RFC 2389 section 3.2: an explicit `FEAT` returns the set and refreshes it;
/// PEERS.md section 3 (jlaffaye #260): `211-` before every feature line is
/// read the same way.
#[test]
fn rfc2389_feat_operation_and_prefixed_lines() {
    let mut c = Client::logged_in(plain());
    let caps = with_features(&mut c, ALL_FEATURES);
    assert_eq!(caps, all_capabilities());
    let caps = with_features(&mut c, "211-EPSV\r\n211-SIZE\r\n");
    assert!(caps.epsv && caps.size && !caps.mlst);
    assert_eq!(c.session.capabilities(), &caps);
}

/// RFC 3659 section 7 / SECURITY.md R4: a listing prefers MLSD when the
/// server offers MLST (machine-readable facts, no LIST parsing); LIST
/// otherwise. Listings use TYPE A.
#[test]
fn rfc3659_7_list_auto_prefers_mlsd() {
    let mut c = Client::logged_in(plain());
    let (_, d) = c.start(|s, now| s.list(now, ListCommand::Auto, None));
    assert_eq!(d.sent(), "TYPE A\r\n");
    c.feed(b"200 Type set to A\r\n");
    let (_, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "LIST\r\n");
    c.feed(b"550 No listing today\r\n");

    with_features(&mut c, " MLST type*;size*;\r\n");
    let (_, d) = c.start(|s, now| s.list(now, ListCommand::Auto, Some(&path("pub"))));
    assert_eq!(d.sent(), "EPSV\r\n", "TYPE A is still in force");
    let (_, d) = epsv_connected(&mut c, 50001);
    assert_eq!(d.sent(), "MLSD pub\r\n");
}

/// RFC 3659 section 4 / SECURITY.md R5: a resumed download asks SIZE first
/// when the server has it (to detect a short transfer), then REST (RFC 3659
/// section 5); without SIZE in FEAT it goes straight to REST.
#[test]
fn rfc3659_4_size_before_a_resume() {
    let mut c = Client::logged_in(plain());
    with_features(&mut c, " SIZE\r\n REST STREAM\r\n");
    let (op, d) = c.start(|s, now| s.retrieve(now, &path("big.iso"), 1000));
    assert_eq!(d.sent(), "SIZE big.iso\r\n");
    assert_eq!(c.feed(b"213 5000\r\n").sent(), "TYPE I\r\n");
    assert_eq!(c.feed(b"200 Type set to I\r\n").sent(), "EPSV\r\n");
    let (id, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "REST 1000\r\n");
    assert_eq!(c.feed(b"350 Restarting at 1000. Send STORE or RETRIEVE\r\n").sent(), "RETR big.iso\r\n");
    assert_eq!(c.feed(b"150 Opening data connection\r\n").data(), transfer(id, Direction::Download, NO_TLS));
    c.data(id, DataEvent::Finished { bytes: 4000 });
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 4000 }))]);

    // No SIZE offered: no SIZE sent.
    let mut c = Client::logged_in(plain());
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("big.iso"), 1000));
    assert_eq!(d.sent(), "TYPE I\r\n");
}

/// Issue 16 (no command sent twice) and SECURITY.md R5: a size the caller
/// already asked is not asked again, and the download is held to it.
#[test]
fn r5_known_size_is_not_asked_again_and_still_checked() {
    let mut c = Client::logged_in(plain());
    with_features(&mut c, " SIZE\r\n REST STREAM\r\n");
    let (op, d) = c.start(|s, now| s.retrieve_sized(now, &path("big.iso"), 1000, 5000));
    assert_eq!(d.sent(), "TYPE I\r\n", "no SIZE");
    assert_eq!(c.feed(b"200 Type set to I\r\n").sent(), "EPSV\r\n");
    let (id, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "REST 1000\r\n");
    assert_eq!(c.feed(b"350 Restarting at 1000\r\n").sent(), "RETR big.iso\r\n");
    c.feed(b"150 Opening data connection\r\n");
    c.data(id, DataEvent::Finished { bytes: 3000 });
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Partial { expected: 5000, received: 4000 }))]);
}

// ---- 3. Passive mode ---------------------------------------------------------------

/// RFC 2428 section 3: EPSV first; the 229 port is joined to the control
/// connection's peer address, and the choice is reported.
#[test]
fn rfc2428_3_epsv_first_connects_to_control_peer() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(c.feed(b"200 Type set to I\r\n").sent(), "EPSV\r\n");
    let d = c.feed(b"229 Entering Extended Passive Mode (|||50000|)\r\n");
    assert_eq!(
        d.events(),
        vec![Event::PassiveAddress { reported: None, used: addr("127.0.0.1:50000"), decision: PasvDecision::Extended }]
    );
    let (id, at) = d.connect();
    assert_eq!(at, addr("127.0.0.1:50000"));
    assert_eq!(c.data(id, DataEvent::Connected).sent(), "RETR f\r\n");
    let _ = op;
}

/// RFC 2428 section 3: any delimiter in ASCII 33-126 (not a digit), used
/// three times before the port and once after it.
#[test]
fn rfc2428_3_229_other_delimiters() {
    for (text, port) in [
        ("229 Entering Extended Passive Mode (!!!50001!)\r\n", 50001),
        ("229 Entering Extended Passive Mode (###50002#)\r\n", 50002),
        ("229 Entering Extended Passive Mode (|||50004|).\r\n", 50004),
    ] {
        let mut c = Client::logged_in(plain());
        c.start(|s, now| s.retrieve(now, &path("f"), 0));
        c.feed(b"200 Type set to I\r\n");
        let d = c.feed(text.as_bytes());
        assert_eq!(d.connect().1, addr(&format!("127.0.0.1:{port}")), "{text}");
    }
}

/// RFC 2428 section 3, strictly: a 229 that is not exactly
/// `(<d><d><d><port><d>)` (FluentFTP #1793's `(||port|)`, fields filled
/// in, mixed delimiters, a port out of range) gives no number to connect
/// to: no Connect is emitted, PASV is sent instead, and the session keeps
/// to PASV.
#[test]
fn rfc2428_3_malformed_229_falls_back_to_pasv() {
    for text in [
        "229 Extended Passive (||50003|)\r\n",
        "229 Entering Extended Passive Mode (|1|10.0.0.9|50003|)\r\n",
        "229 Entering Extended Passive Mode (||!50003|)\r\n",
        "229 Entering Extended Passive Mode (|||70000|)\r\n",
        "229 Entering Extended Passive Mode\r\n",
    ] {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
        c.feed(b"200 Type set to I\r\n");
        let d = c.feed(text.as_bytes());
        assert!(d.data().is_empty(), "no connection for {text}");
        assert_eq!(d.sent(), "PASV\r\n", "{text}");
        let (id, at) = c.feed(b"227 Entering Passive Mode (127,0,0,1,195,80)\r\n").connect();
        assert_eq!(at, addr("127.0.0.1:50000"));
        assert_eq!(c.data(id, DataEvent::Connected).sent(), "RETR f\r\n");
        c.feed(b"150 Opening\r\n");
        c.data(id, DataEvent::Finished { bytes: 1 });
        assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 1 }))]);
        let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
        assert_eq!(d.sent(), "PASV\r\n", "EPSV is not tried again after {text}");
    }
}

/// RFC 2428 section 3 over IPv6: the 229 port joined to `::1`.
#[test]
fn rfc2428_3_epsv_ipv6_peer() {
    let mut c = Client::logged_in_at(plain(), PEER6);
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let (_, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "RETR f\r\n");
}

/// RFC 2428 section 3 and PEERS.md section 5 pain point 3 (EPSV refused):
/// on 500 or 502 the client falls back to PASV and remembers it for the
/// session, so the next transfer sends PASV at once.
#[test]
fn rfc2428_epsv_refused_falls_back_to_pasv_and_remembers() {
    for refusal in ["500 'EPSV': command not understood\r\n", "502 EPSV not implemented\r\n"] {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
        c.feed(b"200 Type set to I\r\n");
        let d = c.feed(refusal.as_bytes());
        assert_eq!(d.sent(), "PASV\r\n");
        assert!(d.completed().is_empty());
        let d = c.feed(b"227 Entering Passive Mode (127,0,0,1,195,80).\r\n");
        assert_eq!(
            d.passive(),
            vec![(Some("127.0.0.1:50000".parse().unwrap()), addr("127.0.0.1:50000"), PasvDecision::ControlPeer)]
        );
        let (id, _) = d.connect();
        assert_eq!(c.data(id, DataEvent::Connected).sent(), "RETR f\r\n");
        c.feed(b"150 Opening\r\n");
        c.data(id, DataEvent::Finished { bytes: 1 });
        assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 1 }))]);

        let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
        assert_eq!(d.sent(), "PASV\r\n", "EPSV is not tried again in this session");
    }
}

/// RFC 2428 section 3: other EPSV failures (522, network protocol not
/// supported) are not a reason to try PASV; the operation fails.
#[test]
fn rfc2428_epsv_522_is_an_error() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let d = c.feed(b"522 Network protocol not supported, use (1)\r\n");
    assert_eq!(
        d.completed(),
        vec![(op, Err(OpError::Rejected(reply("522 Network protocol not supported, use (1)\r\n"))))]
    );
    assert!(d.sent().is_empty());
}

/// Reaches the PASV step of a retrieve (EPSV refused).
fn at_pasv(config: ClientConfig, peer: &str) -> Client {
    let mut c = Client::logged_in_at(config, peer);
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    assert_eq!(c.feed(b"502 No EPSV\r\n").sent(), "PASV\r\n");
    c
}

/// SECURITY.md D5 (CVE-2020-8284, CVE-2021-4189) and PEERS.md section 5
/// pain point 1 (227 with an internal address behind NAT): by default the
/// 227 address is ignored for the control peer's; the reported address is
/// in the event so the caller can log it.
#[test]
fn sec_d5_peers3_227_internal_address_behind_nat_uses_control_peer() {
    for (text, reported) in [
        ("227 Entering Passive Mode (10,0,0,5,195,80).\r\n", "10.0.0.5:50000"),
        ("227 Entering Passive Mode (192,168,1,20,195,80)\r\n", "192.168.1.20:50000"),
    ] {
        let mut c = at_pasv(plain(), client_support::PEER);
        let d = c.feed(text.as_bytes());
        assert_eq!(
            d.events(),
            vec![Event::PassiveAddress {
                reported: Some(reported.parse().unwrap()),
                used: addr("127.0.0.1:50000"),
                decision: PasvDecision::ControlPeer,
            }]
        );
        assert_eq!(d.connect().1, addr("127.0.0.1:50000"));
    }
    // Over IPv6 the control peer is `::1`.
    let mut c = at_pasv(plain(), PEER6);
    let d = c.feed(b"227 Entering Passive Mode (10,0,0,5,195,80)\r\n");
    assert_eq!(d.passive()[0].2, PasvDecision::ControlPeer);
    assert_eq!(d.connect().1, addr("[::1]:50000"));
}

/// SECURITY.md D5, `PasvPolicy::Trust`: the 227 address as given.
#[test]
fn sec_d5_227_policy_trust() {
    let mut c = at_pasv(plain().pasv_policy(PasvPolicy::Trust), client_support::PEER);
    let d = c.feed(b"227 Entering Passive Mode (127,0,0,2,195,80)\r\n");
    assert_eq!(
        d.passive(),
        vec![(Some("127.0.0.2:50000".parse().unwrap()), addr("127.0.0.2:50000"), PasvDecision::Trusted)]
    );
    assert_eq!(d.connect().1, addr("127.0.0.2:50000"));
}

/// SECURITY.md D5, `PasvPolicy::SubstituteUnroutable`: the 227 address is
/// kept when the control peer is no more routable than it (both loopback
/// here), so nothing is substituted.
#[test]
fn sec_d5_227_policy_substitute_unroutable_keeps_when_peer_is_no_better() {
    let mut c = at_pasv(plain().pasv_policy(PasvPolicy::SubstituteUnroutable), client_support::PEER);
    let d = c.feed(b"227 Entering Passive Mode (127,0,0,2,195,80)\r\n");
    assert_eq!(
        d.passive(),
        vec![(Some("127.0.0.2:50000".parse().unwrap()), addr("127.0.0.2:50000"), PasvDecision::Trusted)]
    );
}

/// PEERS.md section 3 (ruby/net-ftp #16, sys-ftpd #7): `227` without
/// parentheses; RFC 1123 section 4.1.2.6: the six numbers are found anywhere.
#[test]
fn peers3_227_without_parentheses() {
    let mut c = at_pasv(plain(), client_support::PEER);
    let d = c.feed(b"227 Entering Passive Mode 127,0,0,1,195,81\r\n");
    assert_eq!(d.connect().1, addr("127.0.0.1:50001"));
    assert_eq!(d.passive()[0].0, Some("127.0.0.1:50001".parse().unwrap()));
}

/// PEERS.md section 3 (aioftp PR #85): a multi-line 227, the address on its
/// last line.
#[test]
fn peers3_227_multiline() {
    let mut c = at_pasv(plain(), client_support::PEER);
    let d = c.feed(b"227-listen socket created\r\n227 Entering Passive Mode (127,0,0,1,154,21)\r\n");
    assert_eq!(d.connect().1, addr("127.0.0.1:39445"));
}

/// PEERS.md section 3 (cpython #127478, curl #10598): a 229 answer to PASV
/// is used all the same (the control peer's address).
#[test]
fn peers3_229_answered_to_pasv() {
    let mut c = at_pasv(plain(), client_support::PEER);
    let d = c.feed(b"229 Entering Extended Passive Mode (|||50002|)\r\n");
    assert_eq!(d.passive(), vec![(None, addr("127.0.0.1:50002"), PasvDecision::Extended)]);
}

/// PEERS.md section 3 (basic-ftp #164): a 227 answer to EPSV goes through
/// the 227 policy (control peer by default) instead of failing.
#[test]
fn peers3_227_answered_to_epsv() {
    let mut c = Client::logged_in(plain());
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let d = c.feed(b"227 Entering Passive Mode (10,0,0,5,195,80)\r\n");
    assert_eq!(
        d.passive(),
        vec![(Some("10.0.0.5:50000".parse().unwrap()), addr("127.0.0.1:50000"), PasvDecision::ControlPeer)]
    );
    let (id, _) = d.connect();
    assert_eq!(c.data(id, DataEvent::Connected).sent(), "RETR f\r\n");
}

/// PEERS.md section 3 (LightFTP #1: `227 Entering Passive Mode (` with the
/// numbers missing) and SECURITY.md N6 (octets above 255): a 227 without a
/// usable address is a protocol violation; the connection closes.
#[test]
fn peers3_227_without_address_is_a_protocol_error() {
    for text in ["227 Entering Passive Mode (\r\n", "227 Entering Passive Mode (127,0,0,256,195,80)\r\n"] {
        let mut c = at_pasv(plain(), client_support::PEER);
        let d = c.feed(text.as_bytes());
        assert_eq!(d.completed().len(), 1);
        assert_eq!(d.completed()[0].1, Err(OpError::Protocol("malformed 227 reply")), "{text}");
        assert!(d.data().is_empty(), "no Connect for {text}");
        assert!(d.closed());
    }
}

/// RFC 959 section 3.2 and RFC 2428 (as curl does): the 229 port cannot be
/// connected to (refused, or the connect timed out), so the transfer goes
/// on with PASV on the same control connection, and the session keeps to
/// PASV; when the 227's connection (the control peer) fails too, the
/// operation fails without sending the command.
#[test]
fn rfc2428_epsv_connection_failing_falls_back_to_pasv() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let (id, _) = c.feed(b"229 Entering Extended Passive Mode (|||50000|)\r\n").connect();
    let d = c.data(id, DataEvent::ConnectFailed);
    assert_eq!(d.sent(), "PASV\r\n");
    assert!(d.completed().is_empty());
    let (id, at) = c.feed(b"227 Entering Passive Mode (127,0,0,1,195,81)\r\n").connect();
    assert_eq!(at, addr("127.0.0.1:50001"));
    let d = c.data(id, DataEvent::ConnectFailed);
    assert!(d.sent().is_empty(), "no RETR without a data connection");
    assert_eq!(d.completed(), vec![(op, Err(OpError::DataConnection))]);
    assert!(!c.session.is_busy());
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
    assert_eq!(d.sent(), "PASV\r\n", "EPSV is not tried again in this session");
}

/// RFC 1123 4.1.2.6 and SECURITY.md D5, per address policy: a 227 address
/// that cannot be reached is retried on the control connection's peer
/// (where the policy had trusted another address: `Trust`, and
/// `SubstituteUnroutable` for a routable report); `UseControlPeer` already
/// used the peer, so nothing else is tried, and no policy ever falls back
/// to an address the policy refused.
#[test]
fn rfc1123_4_1_2_6_unreachable_227_address_retried_on_the_control_peer() {
    use ftp_session::client::PasvPolicy;
    let cases = [
        (PasvPolicy::Trust, "192.0.2.7:50000", Some("127.0.0.1:50000")),
        (PasvPolicy::SubstituteUnroutable, "192.0.2.7:50000", Some("127.0.0.1:50000")),
        (PasvPolicy::UseControlPeer, "127.0.0.1:50000", None),
    ];
    for (policy, first, second) in cases {
        let mut c = at_pasv(plain().pasv_policy(policy), client_support::PEER);
        let (id, at) = c.feed(b"227 Entering Passive Mode (192,0,2,7,195,80)\r\n").connect();
        assert_eq!(at, addr(first), "{policy:?}");
        let d = c.data(id, DataEvent::ConnectFailed);
        match second {
            Some(next) => {
                assert_eq!(d.passive(), vec![(None, addr(next), PasvDecision::ControlPeer)], "{policy:?}");
                let (id, at) = d.connect();
                assert_eq!(at, addr(next));
                assert_eq!(c.data(id, DataEvent::Connected).sent(), "RETR f\r\n", "{policy:?}");
            }
            None => {
                assert!(d.data().is_empty(), "{policy:?}: nothing else to try");
                assert_eq!(d.completed().len(), 1);
                assert_eq!(d.completed()[0].1, Err(OpError::DataConnection));
            }
        }
    }
}

// ---- 4. Active mode -------------------------------------------------------------------

/// RFC 959 section 4.1.2 (PORT) and 3.2: the client listens on an address
/// the caller chooses, sends PORT, and starts moving data only once the
/// server connected after the 150 mark.
#[test]
fn rfc959_4_1_2_port_ipv4() {
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    let (op, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");
    let d = c.feed(b"200 Type set to I\r\n");
    assert!(d.sent().is_empty());
    let id = d.listen();
    assert_eq!(d.data(), vec![DataAction::Listen { id, family: NetProto::Ipv4 }]);
    let d = c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    assert_eq!(d.sent(), "PORT 127,0,0,1,195,81\r\n");
    assert_eq!(c.feed(b"200 PORT command successful\r\n").sent(), "RETR f\r\n");
    let d = c.feed(b"150 Opening BINARY mode data connection\r\n");
    assert_eq!(d.intermediates(), vec![150]);
    assert!(d.data().is_empty(), "no transfer before the server connected");
    let d = c.data(id, DataEvent::Accepted { peer: addr("127.0.0.1:20") });
    assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
    assert!(c.feed(b"226 Transfer complete\r\n").is_empty());
    let d = c.data(id, DataEvent::Finished { bytes: 3 });
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 3 }))]);
}

/// RFC 959 section 4.1.2 PASV only, when EPSV is turned off (curl's
/// `--disable-epsv`, for middleboxes that mangle RFC 2428 commands).
#[test]
fn rfc959_4_1_2_pasv_only_when_epsv_is_off() {
    let mut c = Client::logged_in(plain().epsv(false));
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(c.feed(b"200 Type set to I\r\n").sent(), "PASV\r\n");
}

/// RFC 959 section 3.2 and 4.1.2: in active mode the server's 226 can
/// overtake the client's accept of the data connection (the server wrote a
/// short listing and closed at once). After a 150 the data is on its way:
/// the transfer waits for it instead of completing empty (found by the
/// tokio client against our server: MLSD in active mode came back empty).
#[test]
fn rfc959_3_2_final_reply_before_accept_waits_for_the_data() {
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    let (op, _) = c.start(|s, now| s.list(now, ListCommand::Nlst, None));
    let id = c.feed(b"200 Type set to A\r\n").listen();
    c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    assert_eq!(c.feed(b"200 PORT command successful\r\n").sent(), "NLST\r\n");
    c.feed(b"150 Here comes the directory listing\r\n");
    let d = c.feed(b"226 Directory send OK\r\n");
    assert!(d.completed().is_empty(), "completed before the data arrived: {:?}", d.completed());
    let d = c.data(id, DataEvent::Accepted { peer: addr("127.0.0.1:20") });
    assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
    let d = c.data(id, DataEvent::Finished { bytes: 12 });
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 12 }))]);
}

/// RFC 959 section 4.2: a 226 with no 150 and no connection (servers that
/// answer an empty listing at once) completes at once, empty.
#[test]
fn rfc959_4_2_final_reply_without_mark_is_an_empty_transfer() {
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    let (op, _) = c.start(|s, now| s.list(now, ListCommand::Nlst, None));
    let id = c.feed(b"200 Type set to A\r\n").listen();
    c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    c.feed(b"200 PORT command successful\r\n");
    let d = c.feed(b"226 No files\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 0 }))]);
}

/// RFC 2428 section 2: EPRT for IPv6, `|2|::1|port|`; a connection accepted
/// before the 150 mark starts moving at the mark.
#[test]
fn rfc2428_2_eprt_ipv6_accept_before_mark() {
    let mut c = Client::logged_in_at(plain().data_mode(DataMode::Active), PEER6);
    let (op, _) = c.start(|s, now| s.store(now, &path("up.bin"), 0));
    let d = c.feed(b"200 Type set to I\r\n");
    let id = d.listen();
    assert_eq!(d.data(), vec![DataAction::Listen { id, family: NetProto::Ipv6 }]);
    let d = c.data(id, DataEvent::Listening { addr: addr("[::1]:50001") });
    assert_eq!(d.sent(), "EPRT |2|::1|50001|\r\n");
    assert_eq!(c.feed(b"200 EPRT command successful\r\n").sent(), "STOR up.bin\r\n");
    assert!(c.data(id, DataEvent::Accepted { peer: addr("[::1]:20") }).is_empty());
    let d = c.feed(b"150 Ok to send data\r\n");
    assert_eq!(d.data(), transfer(id, Direction::Upload, NO_TLS));
    assert!(c.data(id, DataEvent::Finished { bytes: 5 }).is_empty());
    assert_eq!(c.feed(b"226 Transfer complete\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 5 }))]);
}

/// SECURITY.md D4 (RFC 2577 section 4): a connection to the listener from
/// another host is rejected and the session keeps waiting for the server's;
/// once the server's connection is in use, a second one is rejected too.
#[test]
fn sec_d4_active_connection_from_another_host_rejected() {
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    let id = c.feed(b"200 Type set to I\r\n").listen();
    c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    c.feed(b"200 PORT command successful\r\n");
    c.feed(b"150 Opening\r\n");
    let d = c.data(id, DataEvent::Accepted { peer: addr("127.0.0.2:20") });
    assert_eq!(d.data(), vec![DataAction::Reject { id, peer: addr("127.0.0.2:20") }]);
    assert!(d.events().is_empty());
    let d = c.data(id, DataEvent::Accepted { peer: addr("127.0.0.1:20") });
    assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
    // Only one connection is used, even from the server's address.
    let d = c.data(id, DataEvent::Accepted { peer: addr("127.0.0.1:2020") });
    assert_eq!(d.data(), vec![DataAction::Reject { id, peer: addr("127.0.0.1:2020") }]);
}

/// RFC 959 section 4.1.2: a refused PORT fails the operation and closes the
/// listener; a listener that could not open fails it too.
#[test]
fn rfc959_4_1_2_port_refused_and_listen_failed() {
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    let id = c.feed(b"200 Type set to I\r\n").listen();
    c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    let d = c.feed(b"500 Illegal PORT command\r\n");
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("500 Illegal PORT command\r\n"))))]);

    let (op, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    let id = d.listen();
    let d = c.data(id, DataEvent::ListenFailed);
    assert_eq!(d.completed(), vec![(op, Err(OpError::DataConnection))]);
    assert!(d.sent().is_empty());
}

// ---- 5. FTPS (RFC 4217) -------------------------------------------------------------

/// Runs an explicit-FTPS login up to and including PROT (`AUTH TLS`, the
/// handshake, `USER`/`PASS`, `PBSZ 0`, then `prot`), returning the op.
fn explicit_tls_login(c: &mut Client, prot: &str) -> ftp_session::client::OpId {
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent(), "AUTH TLS\r\n");
    let d = c.feed(b"234 Proceed with negotiation.\r\n");
    assert!(d.start_tls());
    assert!(d.sent().is_empty() && d.events().is_empty());
    assert!(!c.session.is_secured());
    let d = c.tls_established();
    assert!(c.session.is_secured());
    assert_eq!(d.sent(), "USER alice\r\n");
    assert_eq!(c.feed(b"331 Password required\r\n").sent(), "PASS secret\r\n");
    let d = c.feed(b"230 Logged in\r\n");
    assert!(d.completed().is_empty(), "PBSZ and PROT still to come: {:#?}", d.outputs);
    assert_eq!(d.sent(), "PBSZ 0\r\n");
    assert_eq!(c.feed(b"200 PBSZ=0\r\n").sent(), prot);
    op
}

/// RFC 4217 sections 4 and 9, in curl's order: `AUTH TLS`, `234`, a
/// handshake on the control connection (nothing sent meanwhile), the login
/// (`USER`/`PASS`) under TLS, then `PBSZ 0` and `PROT P` (section 9 asks
/// only that they follow the security exchange; some servers refuse them
/// before the login). Every data transfer then asks for TLS resuming the
/// control session (PEERS.md pain point 2, SECURITY.md L6).
#[test]
fn rfc4217_explicit_auth_tls_login_then_pbsz_prot_p() {
    let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    let op = explicit_tls_login(&mut c, "PROT P\r\n");
    assert_eq!(c.feed(b"200 Protection level set to P\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);

    c.start(|s, now| s.list(now, ListCommand::Nlst, None));
    c.feed(b"200 Type set to A\r\n");
    let (id, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "NLST\r\n");
    assert_eq!(c.feed(b"150 Here comes the listing\r\n").data(), transfer(id, Direction::Download, PROT_P));
}

/// RFC 4217 section 9: `PROT C` when configured; the data connections are
/// then plaintext. Without session resumption configured, the flag says so.
#[test]
fn rfc4217_9_prot_c_and_no_resumption() {
    let config = plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }).protect_data(false);
    let mut c = Client::greeted(config);
    let op = explicit_tls_login(&mut c, "PROT C\r\n");
    assert_eq!(c.feed(b"200 Protection level set to C\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    let (_, id) = running_retrieve(&mut c);
    let _ = id;

    let config = plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }).resume_tls_session(false);
    let mut c = Client::greeted(config);
    explicit_tls_login(&mut c, "PROT P\r\n");
    c.feed(b"200 Protection level set to P\r\n");
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let (id, _) = epsv_connected(&mut c, 50000);
    let d = c.feed(b"150 Opening\r\n");
    assert_eq!(d.data(), transfer(id, Direction::Download, DataTls { required: true, resume_control_session: false }));
}

/// RFC 4217 section 9 (PBSZ/PROT) with implicit FTPS: a session configured as
/// already secured sends no AUTH; it logs in first (`USER`/`PASS`), then
/// sends PBSZ 0 and PROT P, since data protection defaults to Clear, in
/// curl's order (some servers refuse PBSZ before the login); data
/// connections are TLS.
#[test]
fn rfc4217_implicit_ftps_login_then_pbsz_prot_p() {
    let (mut c, _) = Client::new(plain().tls(TlsMode::Implicit));
    assert!(c.session.is_secured());
    c.feed(b"220 Implicit TLS ready\r\n");
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent(), "USER alice\r\n");
    assert!(!d.start_tls());
    assert_eq!(c.feed(b"331 Password required\r\n").sent(), "PASS secret\r\n");
    let d = c.feed(b"230 Logged in\r\n");
    assert!(d.completed().is_empty(), "not logged in before PROT: {:#?}", d.outputs);
    assert_eq!(d.sent(), "PBSZ 0\r\n");
    assert_eq!(c.feed(b"200 PBSZ=0\r\n").sent(), "PROT P\r\n");
    assert_eq!(c.feed(b"200 PROT now Private\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let (id, _) = epsv_connected(&mut c, 50000);
    assert_eq!(c.feed(b"150 Opening\r\n").data(), transfer(id, Direction::Download, PROT_P));
}

/// RFC 4217 sections 4 and 9, the whole login in order: `AUTH TLS`, the
/// handshake, `USER`, `PASS` (and `ACCT` when asked, RFC 959 4.1.1), only
/// then `PBSZ 0` and `PROT P`, then `FEAT` and `OPTS UTF8 ON`; the login
/// completes after the last of them. A PBSZ refused after the login fails
/// the login (data protection could not be set).
#[test]
fn rfc4217_9_pbsz_prot_follow_user_pass_acct_before_feat() {
    let config = ClientConfig::default().tls(TlsMode::Explicit { allow_plaintext_fallback: false });
    let mut c = Client::greeted(config);
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", Some("acme")));
    let mut sent = d.sent();
    sent += &c.feed(b"234 Proceed\r\n").sent();
    sent += &c.tls_established().sent();
    for wire in [
        &b"331 Password required\r\n"[..],
        b"332 Account required\r\n",
        b"230 Logged in\r\n",
        b"200 PBSZ=0\r\n",
        b"200 Protection level set to P\r\n",
        b"211-Features:\r\n UTF8\r\n211 End\r\n",
    ] {
        let d = c.feed(wire);
        assert!(d.completed().is_empty(), "the login ends only after OPTS: {:#?}", d.outputs);
        sent += &d.sent();
    }
    assert_eq!(
        sent,
        "AUTH TLS\r\nUSER alice\r\nPASS secret\r\nACCT acme\r\nPBSZ 0\r\nPROT P\r\nFEAT\r\nOPTS UTF8 ON\r\n"
    );
    assert_eq!(c.feed(b"200 UTF8 set to on\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);

    let mut c = Client::greeted(plain().tls(TlsMode::Implicit));
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"331 Password required\r\n");
    assert_eq!(c.feed(b"230 Logged in\r\n").sent(), "PBSZ 0\r\n");
    let d = c.feed(b"503 Bad sequence of commands\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("503 Bad sequence of commands\r\n"))))]);
    assert!(d.sent().is_empty(), "no PROT after a refused PBSZ");
}

/// RFC 4217 (AUTH TLS refused): a server that refuses AUTH is an error (the password
/// is never sent in the clear) unless plaintext fallback was allowed.
#[test]
fn rfc4217_auth_refused_is_an_error() {
    let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    let d = c.feed(b"502 AUTH not supported\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::TlsRefused(reply("502 AUTH not supported\r\n"))))]);
    assert!(d.sent().is_empty(), "no USER or PASS in plaintext");
    assert!(!c.session.is_secured());
}

/// RFC 4217 (AUTH TLS refused) with `allow_plaintext_fallback`: the login goes on in
/// plaintext and data connections are not TLS.
#[test]
fn rfc4217_auth_refused_plaintext_fallback_when_allowed() {
    let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: true }));
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(c.feed(b"500 AUTH not understood\r\n").sent(), "USER alice\r\n");
    c.feed(b"331 Password required\r\n");
    assert_eq!(c.feed(b"230 Logged in\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
    running_retrieve(&mut c);
}

/// SECURITY.md L2 (CVE-2021-22947): replies pipelined behind the 234 in the
/// same read are a fatal error; no handshake is asked for.
#[test]
fn sec_l2_bytes_after_234_in_the_same_read_are_fatal() {
    for wire in [&b"234 AUTH TLS successful\r\n230 Fake login\r\n"[..], b"234 AUTH TLS successful\r\n2"] {
        let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
        let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
        let d = c.feed(wire);
        assert!(!d.start_tls());
        assert_eq!(
            d.events(),
            vec![
                Event::OpCompleted { op, result: Err(OpError::Protocol("bytes after 234 before the TLS handshake")) },
                Event::Closed
            ]
        );
        assert!(d.closed());
        assert!(d.sent().is_empty());
    }
}

/// SECURITY.md L2 (CVE-2021-22947): a byte read after the 234 and before
/// the handshake completed is a fatal error too.
#[test]
fn sec_l2_bytes_before_the_handshake_are_fatal() {
    let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert!(c.feed(b"234 Proceed\r\n").start_tls());
    let d = c.feed(b"3");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol("bytes after 234 before the TLS handshake")))]);
    assert!(d.closed());
    assert_eq!(c.session.handle_input(c.now, Input::TlsEstablished), Err(Misuse::Closed));
}

/// SECURITY.md A8 (CVE-2021-22946): a server greeting with 230 is taken as
/// 220; the required TLS upgrade still happens first at login.
#[test]
fn sec_a8_230_greeting_cannot_skip_tls() {
    let (mut c, _) = Client::new(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    let d = c.feed(b"230 Already logged in\r\n");
    assert_eq!(d.events(), vec![Event::Greeting(reply("230 Already logged in\r\n"))]);
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent(), "AUTH TLS\r\n");
    let d = c.feed(b"230 No need\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::TlsRefused(reply("230 No need\r\n"))))]);
    assert!(d.sent().is_empty());
}

/// RFC 959 5.4: a 230 greeting means the server needs no login: the login
/// sends no USER or PASS (plaintext: FEAT only; with required TLS: AUTH
/// TLS, the handshake, PBSZ and PROT, and still no USER).
#[test]
fn rfc959_5_4_230_greeting_sends_no_user() {
    let (mut c, _) = Client::new(plain().auto_feat(true));
    c.feed(b"230 Welcome, no login needed\r\n");
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent(), "FEAT\r\n");
    let d = c.feed(b"211 No features\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);

    let (mut c, _) = Client::new(plain());
    c.feed(b"230 Welcome\r\n");
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert!(d.sent().is_empty());
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))]);

    let (mut c, _) = Client::new(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    c.feed(b"230 Welcome\r\n");
    let (op, d) = c.start(|s, now| s.login(now, "alice", "secret", None));
    assert_eq!(d.sent(), "AUTH TLS\r\n");
    assert!(c.feed(b"234 Proceed\r\n").start_tls());
    let d = c.input(Input::TlsEstablished);
    assert_eq!(d.sent(), "PBSZ 0\r\n", "no USER after the handshake either");
    assert_eq!(c.feed(b"200 PBSZ=0\r\n").sent(), "PROT P\r\n");
    assert_eq!(c.feed(b"200 PROT P\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 959 5.4 and RFC 2228: USER answered 230, 232 (logged in by the
/// security exchange) or another 2yz is logged in without PASS; PASS
/// answered 202 (superfluous) is logged in.
#[test]
fn rfc959_5_4_user_and_pass_success_codes() {
    for code in ["230 No password needed", "232 Logged in, authorized by security data exchange", "200 Ok"] {
        let mut c = Client::greeted(plain());
        let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
        let d = c.feed(format!("{code}\r\n").as_bytes());
        assert!(d.sent().is_empty(), "no PASS after {code}");
        assert_eq!(d.completed(), vec![(op, Ok(OpOutput::LoggedIn))], "{code}");
    }
    let mut c = Client::greeted(plain());
    let (op, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    c.feed(b"331 Password required\r\n");
    assert_eq!(c.feed(b"202 Already logged in\r\n").completed(), vec![(op, Ok(OpOutput::LoggedIn))]);
}

/// RFC 4217: `TlsEstablished` without a handshake asked for is the
/// caller's mistake and changes nothing.
#[test]
fn rfc4217_tls_established_without_start_tls_is_misuse() {
    let mut c = Client::greeted(plain());
    assert!(matches!(c.session.handle_input(c.now, Input::TlsEstablished), Err(Misuse::UnexpectedInput(_))));
    assert!(c.drain().is_empty());
    assert!(!c.session.is_secured());
}

/// RFC 4217 / RFC 2228 (REIN resets the security state) and SECURITY.md R6
/// (a session's TLS level is part of its identity): after REIN the client
/// drops TLS (close_notify) and the next login negotiates it again.
#[test]
fn rfc4217_rein_clears_tls_and_login_renegotiates() {
    let mut c = Client::greeted(plain().tls(TlsMode::Explicit { allow_plaintext_fallback: false }));
    explicit_tls_login(&mut c, "PROT P\r\n");
    c.feed(b"200 PROT P\r\n");
    let (op, _) = c.start(|s, now| s.rein(now));
    let d = c.feed(b"220 Ready for new user\r\n");
    assert!(d.stop_tls());
    let stop = d.outputs.iter().position(|o| matches!(o, Output::StopTls));
    let done = d.outputs.iter().position(|o| matches!(o, Output::Event(Event::OpCompleted { .. })));
    assert!(stop < done, "TLS is dropped before the REIN is reported done");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Done(reply("220 Ready for new user\r\n"))))]);
    assert!(!c.session.is_secured());
    let (_, d) = c.start(|s, now| s.login(now, "bob", "pw", None));
    assert_eq!(d.sent(), "AUTH TLS\r\n");
}

// ---- 6. Transfers ---------------------------------------------------------------------

/// RFC 959 sections 3.2-3.3 and 4.1.3 (RETR): TYPE, EPSV, connect, RETR,
/// 150, transfer, data EOF then 226.
#[test]
fn rfc959_retrieve_data_eof_then_226() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    assert!(c.data(id, DataEvent::Finished { bytes: 10 }).is_empty(), "the final reply is still missing");
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 10 }))]);
    assert!(d.data().is_empty(), "the data connection already ended");
}

/// The quirk list ("226 before data EOF", seen from servers that
/// reply as soon as they wrote the last byte) and RFC 959 section 3.2 (the
/// final reply and the data connection's close are not ordered): the
/// operation waits for both.
#[test]
fn quirk_226_before_data_eof() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    let d = c.feed(b"226 Transfer complete\r\n");
    assert!(d.completed().is_empty(), "waits for the data EOF: {:#?}", d.outputs);
    let d = c.data(id, DataEvent::Finished { bytes: 10 });
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 10 }))]);
}

/// RFC 959 section 4.1.2 (TYPE): TYPE is sent only when it changes: binary
/// for files, ASCII for listings, `ascii(true)` for ASCII files.
#[test]
fn rfc959_4_1_2_type_only_when_it_changes() {
    let mut c = Client::logged_in(plain());
    let (_, id) = running_retrieve(&mut c);
    c.data(id, DataEvent::Finished { bytes: 1 });
    c.feed(b"226 Done\r\n");
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
    assert_eq!(d.sent(), "EPSV\r\n", "TYPE I is still in force");
    c.feed(b"425 No data connection\r\n");
    let (_, d) = c.start(|s, now| s.list(now, ListCommand::List, None));
    assert_eq!(d.sent(), "TYPE A\r\n");
    c.feed(b"200 Type set to A\r\n");
    c.feed(b"425 No data connection\r\n");
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");
    // A refused TYPE is not remembered.
    c.feed(b"504 Not that type\r\n");
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("g"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");

    let mut c = Client::logged_in(plain().ascii(true));
    let (_, d) = c.start(|s, now| s.retrieve(now, &path("notes.txt"), 0));
    assert_eq!(d.sent(), "TYPE A\r\n");
}

/// RFC 3659 section 5 (REST STREAM): a resumed download sends REST, waits
/// for 350, then RETR; a resumed upload does the same before STOR.
#[test]
fn rfc3659_5_rest_resume() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 100));
    c.feed(b"200 Type set to I\r\n");
    let (id, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "REST 100\r\n");
    assert_eq!(c.feed(b"350 Restarting at 100\r\n").sent(), "RETR f\r\n");
    c.feed(b"150 Opening\r\n");
    c.data(id, DataEvent::Finished { bytes: 50 });
    assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 50 }))]);

    let (op, d) = c.start(|s, now| s.store(now, &path("up"), 7));
    assert_eq!(d.sent(), "EPSV\r\n");
    let (_, d) = epsv_connected(&mut c, 50001);
    assert_eq!(d.sent(), "REST 7\r\n");
    let d = c.feed(b"502 REST not implemented\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("502 REST not implemented\r\n"))))]);
}

/// RFC 959 section 4.1.3 (STOR, APPE, STOU): uploads; STOU's 150 names the
/// file, reported as an intermediate reply.
#[test]
fn rfc959_4_1_3_store_append_store_unique() {
    type Start =
        fn(&mut ftp_session::client::Session, std::time::Instant) -> Result<ftp_session::client::OpId, StartError>;
    let cases: [(Start, &str, &str); 3] = [
        (|s, now| s.store(now, &path("up.bin"), 0), "STOR up.bin\r\n", "150 Ok to send data.\r\n"),
        (|s, now| s.append(now, &path("log.txt")), "APPE log.txt\r\n", "150 Ok to send data.\r\n"),
        (|s, now| s.store_unique(now), "STOU\r\n", "150 FILE: ftpkit.upload.1\r\n"),
    ];
    for (start, line, mark) in cases {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(start);
        c.feed(b"200 Type set to I\r\n");
        let (id, d) = epsv_connected(&mut c, 50000);
        assert_eq!(d.sent(), line);
        let d = c.feed(mark.as_bytes());
        assert_eq!(d.events()[0], Event::Intermediate { op, reply: reply(mark) });
        assert_eq!(d.data(), transfer(id, Direction::Upload, NO_TLS));
        c.data(id, DataEvent::Finished { bytes: 42 });
        assert_eq!(
            c.feed(b"226 Transfer complete\r\n").completed(),
            vec![(op, Ok(OpOutput::Transferred { bytes: 42 }))]
        );
    }
}

/// RFC 959 section 4.1.3 (LIST, NLST) and RFC 3659 section 7 (MLSD): each
/// listing is one operation over a data connection; 125 is a mark too.
#[test]
fn rfc959_4_1_3_list_nlst_mlsd() {
    for (cmd, dir, line) in [
        (ListCommand::List, Some("pub"), "LIST pub\r\n"),
        (ListCommand::Nlst, None, "NLST\r\n"),
        (ListCommand::Mlsd, Some("a dir"), "MLSD a dir\r\n"),
    ] {
        let mut c = Client::logged_in(plain());
        let p = dir.map(path);
        let (op, d) = c.start(|s, now| s.list(now, cmd, p.as_ref()));
        assert_eq!(d.sent(), "TYPE A\r\n");
        c.feed(b"200 Type set to A\r\n");
        let (id, d) = epsv_connected(&mut c, 50000);
        assert_eq!(d.sent(), line);
        let d = c.feed(b"125 Data connection already open; transfer starting.\r\n");
        assert_eq!(d.intermediates(), vec![125]);
        assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
        c.data(id, DataEvent::Finished { bytes: 300 });
        assert_eq!(
            c.feed(b"226 Closing data connection.\r\n").completed(),
            vec![(op, Ok(OpOutput::Transferred { bytes: 300 }))]
        );
    }
}

/// RFC 959 section 4.2: the failure replies of a transfer (425, 426, 451,
/// 452, 550, 552, 553), before or after the 150 mark, each end the
/// operation with a typed error carrying the reply, and close the data
/// connection if still open.
#[test]
fn rfc959_4_2_transfer_failures_are_typed_errors() {
    // Refusals of the command itself.
    for wire in [
        "425 Can't open data connection.\r\n",
        "450 File busy\r\n",
        "550 No such file or directory.\r\n",
        "553 File name not allowed.\r\n",
        "452 Insufficient storage space.\r\n",
    ] {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.store(now, &path("f"), 0));
        c.feed(b"200 Type set to I\r\n");
        let (id, _) = epsv_connected(&mut c, 50000);
        let d = c.feed(wire.as_bytes());
        assert_eq!(d.data(), vec![DataAction::Close { id }], "{wire}");
        assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply(wire))))]);
    }
    // Failures after the mark, with the data side still open.
    for wire in [
        "426 Connection closed; transfer aborted.\r\n",
        "451 Requested action aborted: local error in processing.\r\n",
        "452 Insufficient storage space.\r\n",
        "552 Exceeded storage allocation.\r\n",
    ] {
        let mut c = Client::logged_in(plain());
        let (op, id) = running_retrieve(&mut c);
        let d = c.feed(wire.as_bytes());
        assert_eq!(d.data(), vec![DataAction::Close { id }], "{wire}");
        assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply(wire))))]);
        assert!(c.data(id, DataEvent::Finished { bytes: 1 }).is_empty(), "late data events are ignored");
    }
    // ...and after the data side ended.
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    c.data(id, DataEvent::Finished { bytes: 5 });
    let d = c.feed(b"426 Failure writing network stream.\r\n");
    assert!(d.data().is_empty());
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("426 Failure writing network stream.\r\n"))))]);
}

/// RFC 959 section 3.2: a data connection that broke ends the operation
/// with `DataConnection`, even when the server says 226.
#[test]
fn rfc959_3_2_data_connection_failed() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    assert!(c.data(id, DataEvent::Failed { bytes: 3 }).is_empty());
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::DataConnection))]);
}

/// RFC 959 section 4.2 (110 restart marker `MARK yyyy = mmmm`): reported as
/// an intermediate reply, the transfer goes on.
#[test]
fn rfc959_4_2_110_restart_marker() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    let d = c.feed(b"110 MARK 1024 = 2048\r\n");
    assert_eq!(d.events(), vec![Event::Intermediate { op, reply: reply("110 MARK 1024 = 2048\r\n") }]);
    c.data(id, DataEvent::Finished { bytes: 9 });
    assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 9 }))]);
}

/// RFC 959 section 4.1.3 (ABOR): the data connection is closed, Telnet IP
/// and DM go as urgent data, then `ABOR`; `426` then `226` ends it.
#[test]
fn rfc959_4_1_3_abor_426_then_226() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    c.session.abort(c.now).unwrap();
    let d = c.drain();
    assert!(
        matches!(
            &d.outputs[..],
            [Output::Data(DataAction::Close { id: closed }), Output::TransmitUrgent(urgent), Output::Transmit(abor)]
                if *closed == id && &urgent[..] == b"\xff\xf4\xff\xf2" && &abor[..] == b"ABOR\r\n"
        ),
        "{:#?}",
        d.outputs
    );
    assert!(c.data(id, DataEvent::Failed { bytes: 7 }).is_empty(), "the closed connection's events are ignored");
    assert!(c.feed(b"426 Connection closed; transfer aborted.\r\n").is_empty());
    let d = c.feed(b"226 Closing data connection.\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Aborted))]);
    assert!(!c.session.is_busy());
}

/// RFC 959 section 4.1.3 (ABOR): `226` alone (the transfer had finished) or
/// `225` (data connection open, no transfer) end the abort as well; 426 and
/// 226 may come in one read.
#[test]
fn rfc959_4_1_3_abor_226_alone_or_225() {
    for wire in [
        &b"226 Abort successful\r\n"[..],
        b"225 Data connection open; no transfer in progress\r\n",
        b"426 Aborted\r\n226 Done\r\n",
    ] {
        let mut c = Client::logged_in(plain());
        let (op, _) = running_retrieve(&mut c);
        c.session.abort(c.now).unwrap();
        c.drain();
        assert_eq!(c.feed(wire).completed(), vec![(op, Err(OpError::Aborted))]);
    }
}

/// RFC 959 section 4.1.3: ABOR sent before the 150 mark (which is then still
/// on its way), followed by 426 and 226.
#[test]
fn rfc959_4_1_3_abor_before_the_mark() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    c.feed(b"200 Type set to I\r\n");
    let (_, d) = epsv_connected(&mut c, 50000);
    assert_eq!(d.sent(), "RETR f\r\n");
    c.session.abort(c.now).unwrap();
    assert_eq!(c.drain().sent(), "ABOR\r\n");
    let d = c.feed(b"150 Opening\r\n426 Aborted\r\n226 Abort done\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Aborted))]);
    assert!(d.data().is_empty(), "no transfer asked for after the abort");
}

/// RFC 959 section 4.1.3: ABOR with no transfer running is the caller's
/// mistake.
#[test]
fn rfc959_4_1_3_abor_without_transfer_is_misuse() {
    let mut c = Client::logged_in(plain());
    assert!(matches!(c.session.abort(c.now), Err(Misuse::UnexpectedInput(_))));
    c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert!(matches!(c.session.abort(c.now), Err(Misuse::UnexpectedInput(_))), "not during TYPE");
    assert!(c.drain().is_empty());
}

// ---- 7. Other operations -------------------------------------------------------------

/// RFC 959 Appendix II: the 257 reply's pathname, `""` read as one `"`.
#[test]
fn rfc959_appendix2_pwd_257_undoubled() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.pwd(now));
    assert_eq!(d.sent(), "PWD\r\n");
    let d = c.feed(b"257 \"/usr/dm/\"\"quoted\"\"\" is current directory.\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Pathname(path("/usr/dm/\"quoted\""))))]);
    // A refusal is an error.
    let (op, _) = c.start(|s, now| s.pwd(now));
    assert_eq!(c.feed(b"550 No\r\n").completed(), vec![(op, Err(OpError::Rejected(reply("550 No\r\n"))))]);
    // A 257 without a closing quote (CVE-2017-1000254) is a protocol error.
    let (op, _) = c.start(|s, now| s.pwd(now));
    assert_eq!(
        c.feed(b"257 \"/unterminated\r\n").completed(),
        vec![(op, Err(OpError::Protocol("malformed 257 pathname")))]
    );
}

/// RFC 959 sections 4.1.1 and 4.1.3: CWD, CDUP, MKD (257 with the name, or
/// another 2xx), RMD, DELE; failures carry the reply.
#[test]
fn rfc959_4_1_directory_and_file_commands() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.cwd(now, &path("/pub")));
    assert_eq!(d.sent(), "CWD /pub\r\n");
    assert_eq!(c.feed(b"250 Okay.\r\n").completed(), vec![(op, Ok(OpOutput::Done(reply("250 Okay.\r\n"))))]);
    let (op, d) = c.start(|s, now| s.cdup(now));
    assert_eq!(d.sent(), "CDUP\r\n");
    assert_eq!(c.feed(b"200 Okay.\r\n").completed(), vec![(op, Ok(OpOutput::Done(reply("200 Okay.\r\n"))))]);
    let (op, d) = c.start(|s, now| s.mkdir(now, &path("new dir")));
    assert_eq!(d.sent(), "MKD new dir\r\n");
    let d = c.feed(b"257 \"/pub/new dir\" created\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Pathname(path("/pub/new dir"))))]);
    let (op, _) = c.start(|s, now| s.mkdir(now, &path("other")));
    assert_eq!(c.feed(b"250 Created\r\n").completed(), vec![(op, Ok(OpOutput::Done(reply("250 Created\r\n"))))]);
    let (op, d) = c.start(|s, now| s.rmdir(now, &path("old")));
    assert_eq!(d.sent(), "RMD old\r\n");
    assert_eq!(c.feed(b"250 Removed\r\n").completed(), vec![(op, Ok(OpOutput::Done(reply("250 Removed\r\n"))))]);
    let (op, d) = c.start(|s, now| s.delete(now, &path("f")));
    assert_eq!(d.sent(), "DELE f\r\n");
    let d = c.feed(b"550 Permission denied\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("550 Permission denied\r\n"))))]);
}

/// RFC 959 section 4.2 and Appendix II: 257 is MKD's success reply and the
/// quoted pathname is a convention, so a 257 without one (aioftp sends a
/// bare `257 `) or with an unterminated quote is success, with the reply;
/// PWD, which exists to return the pathname, still needs it. A quoted
/// pathname with a control character is still refused (SECURITY.md E3).
#[test]
fn rfc959_appendix2_mkd_257_without_a_pathname_is_success() {
    let mut c = Client::logged_in(plain());
    for wire in ["257 \r\n", "257\r\n", "257 Directory created.\r\n", "257 \"/unterminated created\r\n"] {
        let (op, d) = c.start(|s, now| s.mkdir(now, &path("made")));
        assert_eq!(d.sent(), "MKD made\r\n");
        assert_eq!(c.feed(wire.as_bytes()).completed(), vec![(op, Ok(OpOutput::Done(reply(wire))))], "{wire:?}");
    }
    let (op, _) = c.start(|s, now| s.mkdir(now, &path("made")));
    let d = c.feed(b"257 \"/a\x1bb\" created\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol("control character in a 257 pathname")))]);
    let (op, _) = c.start(|s, now| s.pwd(now));
    assert_eq!(c.feed(b"257 \r\n").completed(), vec![(op, Err(OpError::Protocol("malformed 257 pathname")))]);
}

/// RFC 959 section 4.1.3: RNFR, 350, RNTO, 250; a refused RNFR sends no RNTO.
#[test]
fn rfc959_4_1_3_rename_rnfr_350_rnto() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.rename(now, &path("a"), &path("b")));
    assert_eq!(d.sent(), "RNFR a\r\n");
    assert_eq!(c.feed(b"350 Ready for RNTO.\r\n").sent(), "RNTO b\r\n");
    assert_eq!(
        c.feed(b"250 Rename successful.\r\n").completed(),
        vec![(op, Ok(OpOutput::Done(reply("250 Rename successful.\r\n"))))]
    );

    let (op, _) = c.start(|s, now| s.rename(now, &path("missing"), &path("b")));
    let d = c.feed(b"550 No such file\r\n");
    assert!(d.sent().is_empty());
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("550 No such file\r\n"))))]);

    let (op, _) = c.start(|s, now| s.rename(now, &path("a"), &path("bad/name")));
    c.feed(b"350 Ready\r\n");
    let d = c.feed(b"553 Rename failed\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Rejected(reply("553 Rename failed\r\n"))))]);
}

/// RFC 3659 sections 3 and 4 (MDTM, SIZE) and draft-somers-ftp-mfxx (MFMT).
#[test]
fn rfc3659_size_mdtm_and_mfmt() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.size(now, &path("f")));
    assert_eq!(d.sent(), "SIZE f\r\n");
    assert_eq!(c.feed(b"213 123456\r\n").completed(), vec![(op, Ok(OpOutput::Size(123_456)))]);
    let (op, d) = c.start(|s, now| s.mdtm(now, &path("f")));
    assert_eq!(d.sent(), "MDTM f\r\n");
    let when = Timestamp::new(2024, 1, 2, 3, 4, 5).unwrap();
    assert_eq!(c.feed(b"213 20240102030405\r\n").completed(), vec![(op, Ok(OpOutput::Time(when)))]);
    let (op, d) = c.start(|s, now| s.mfmt(now, when, &path("f")));
    assert_eq!(d.sent(), "MFMT 20240102030405 f\r\n");
    let d = c.feed(b"213 Modify=20240102030405; f\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Done(reply("213 Modify=20240102030405; f\r\n"))))]);
    // Malformed numbers are protocol errors, refusals carry the reply.
    let (op, _) = c.start(|s, now| s.size(now, &path("f")));
    assert_eq!(c.feed(b"213 lots\r\n").completed(), vec![(op, Err(OpError::Protocol("malformed SIZE reply")))]);
    let (op, _) = c.start(|s, now| s.mdtm(now, &path("f")));
    assert_eq!(c.feed(b"213 2024\r\n").completed(), vec![(op, Err(OpError::Protocol("malformed MDTM reply")))]);
    let (op, _) = c.start(|s, now| s.size(now, &path("dir")));
    assert_eq!(
        c.feed(b"550 Not a plain file\r\n").completed(),
        vec![(op, Err(OpError::Rejected(reply("550 Not a plain file\r\n"))))]
    );
}

/// RFC 3659 section 7 (MLST): the facts of the 250 multi-line reply.
#[test]
fn rfc3659_7_mlst_facts() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.mlst(now, Some(&path("f"))));
    assert_eq!(d.sent(), "MLST f\r\n");
    let d = c.feed(b"250-Listing f\r\n type=file;size=10;modify=20240102030405; f\r\n250 End\r\n");
    assert_eq!(
        d.completed(),
        vec![(op, Ok(OpOutput::Facts(vec![Text::from_static(" type=file;size=10;modify=20240102030405; f")])))]
    );
    let (op, d) = c.start(|s, now| s.mlst(now, None));
    assert_eq!(d.sent(), "MLST\r\n");
    assert_eq!(c.feed(b"501 No\r\n").completed(), vec![(op, Err(OpError::Rejected(reply("501 No\r\n"))))]);
}

/// RFC 959 section 4.1.3 (STAT, SYST, HELP, NOOP, SITE) and extension
/// commands: raw passthrough, the final reply returned as is (even a
/// refusal), multi-line replies whole.
#[test]
fn rfc959_4_1_3_raw_passthrough_stat_syst_help_noop_site() {
    let mut c = Client::logged_in(plain());
    let xcrc =
        Command::Other(ExtensionCommand::new(Verb::try_from("XCRC").unwrap(), Some(Text::from_static("f"))).unwrap());
    for (cmd, line, wire) in [
        (Command::Stat(None), "STAT\r\n", "211-FTP server status:\r\n Logged in as alice\r\n211 End of status\r\n"),
        (Command::Syst, "SYST\r\n", "215 UNIX Type: L8\r\n"),
        (
            Command::Help(None),
            "HELP\r\n",
            "214-The following commands are recognized.\r\n USER PASS\r\n214 Help OK.\r\n",
        ),
        (Command::Noop, "NOOP\r\n", "200 NOOP ok.\r\n"),
        (Command::Site(Text::from_static("CHMOD 644 f")), "SITE CHMOD 644 f\r\n", "200 SITE CHMOD command ok.\r\n"),
        (xcrc, "XCRC f\r\n", "500 Unknown command.\r\n"),
    ] {
        let (op, d) = c.start(|s, now| s.raw(now, cmd));
        assert_eq!(d.sent(), line);
        let d = c.feed(wire.as_bytes());
        assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Done(reply(wire))))], "{line}");
    }
}

/// RFC 959 section 4.1.3 (NOOP) as a keep-alive: with `keepalive` set, an
/// idle session asks for `Timeout` at the keep-alive instant and then sends
/// NOOP; its reply produces no event. While it runs, operations are Busy.
#[test]
fn rfc959_keepalive_noop_when_idle() {
    let k = Duration::from_secs(30);
    let mut c = Client::greeted(plain().keepalive(Some(k)));
    let (_, _) = c.start(|s, now| s.login(now, "alice", "secret", None));
    let d = c.feed(b"230 Logged in\r\n");
    let start = c.now;
    assert_eq!(d.deadline, Some(start + k));
    assert!(c.advance(Duration::from_secs(29)).is_empty());
    let d = c.advance(Duration::from_secs(1));
    assert_eq!(d.sent(), "NOOP\r\n");
    assert!(d.events().is_empty());
    assert_eq!(c.session.pwd(c.now), Err(StartError::Busy));
    let d = c.feed(b"200 NOOP ok\r\n");
    assert!(d.is_empty(), "the keep-alive's reply is not reported: {:#?}", d.outputs);
    assert_eq!(d.deadline, Some(c.now + k));
    assert!(!c.session.is_busy());
    // Without keepalive, an idle session has no deadline at all.
    let c = Client::logged_in(plain());
    assert_eq!(c.session.poll_timeout(), None);
}

/// SECURITY.md R2 (curl's 60 s response timeout): a reply that does not come
/// by the `poll_timeout()` deadline ends the operation and the connection.
#[test]
fn sec_r2_reply_timeout() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.pwd(now));
    assert_eq!(d.deadline, Some(c.now + Duration::from_secs(60)));
    assert_eq!(c.session.poll_timeout(), d.deadline);
    assert!(c.advance(Duration::from_secs(59)).is_empty());
    let d = c.advance(Duration::from_secs(1));
    assert_eq!(d.events(), vec![Event::OpCompleted { op, result: Err(OpError::Timeout) }, Event::Closed]);
    assert!(d.closed());
    assert_eq!(d.deadline, None);

    // The greeting is waited for the same way.
    let (mut c, d) = Client::new(plain().reply_timeout(Duration::from_secs(5)));
    assert_eq!(d.deadline, Some(c.now + Duration::from_secs(5)));
    let d = c.advance(Duration::from_secs(5));
    assert_eq!(d.events(), vec![Event::Closed]);
    assert!(d.closed());
}

/// SECURITY.md R2 and R5: the reply deadline covers waiting for replies,
/// not the data transfer itself: a transfer longer than the reply timeout
/// goes on; once the data side ended, the final reply is waited for again.
#[test]
fn sec_r5_reply_deadline_does_not_cover_the_transfer() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    assert_eq!(c.session.poll_timeout(), None, "no reply is due while the data moves");
    assert!(c.advance(Duration::from_secs(600)).is_empty());
    let d = c.data(id, DataEvent::Finished { bytes: 1 << 30 });
    assert_eq!(d.deadline, Some(c.now + Duration::from_secs(60)));
    let d = c.advance(Duration::from_secs(60));
    assert_eq!(d.completed(), vec![(op, Err(OpError::Timeout))]);
    assert!(d.closed());

    // Active mode: until the server connects, the deadline stands (SECURITY.md
    // D4's accept timeout).
    let mut c = Client::logged_in(plain().data_mode(DataMode::Active));
    let (op, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");
    let id = c.feed(b"200 Type set to I\r\n").listen();
    c.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50001") });
    c.feed(b"200 PORT ok\r\n");
    c.feed(b"150 Opening\r\n");
    let d = c.advance(Duration::from_secs(60));
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert_eq!(d.completed(), vec![(op, Err(OpError::Timeout))]);
}

// ---- 8. Robustness ------------------------------------------------------------------------

/// RFC 959 section 4.2: middle lines of a multi-line reply that begin with
/// digits, even with another code and a space, do not end it.
#[test]
fn rfc959_4_2_multiline_digit_leading_middle_lines() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.raw(now, Command::Stat(None)));
    let wire = "211-Status:\r\n226 not the end\r\n211x neither\r\n 211 nor this\r\n211 End\r\n";
    let d = c.feed(wire.as_bytes());
    match &d.completed()[..] {
        [(id, Ok(OpOutput::Done(r)))] if *id == op => {
            assert_eq!(reply_text(r), "Status:\n226 not the end\n211x neither\n 211 nor this\nEnd");
        }
        other => panic!("{other:?}"),
    }
    assert!(!d.closed());
}

/// RFC 959 section 4.2 / SECURITY.md R1: a multi-line FEAT reply split at
/// every byte position, and fed one byte per read, gives the same result.
#[test]
fn rfc959_4_2_reply_split_at_every_byte() {
    let wire = format!("211-Extensions supported:\r\n{ALL_FEATURES}211 End\r\n");
    let wire = wire.as_bytes();
    let at_feat = || {
        let mut c = Client::greeted(ClientConfig::default());
        c.start(|s, now| s.login(now, "alice", "secret", None));
        c.feed(b"331 Password required\r\n");
        assert_eq!(c.feed(b"230 Logged in\r\n").sent(), "FEAT\r\n");
        c
    };
    for split in 0..=wire.len() {
        let mut c = at_feat();
        let first = c.feed(&wire[..split]);
        let second = c.feed(&wire[split..]);
        assert!(first.is_empty() || split == wire.len(), "split {split}: acted on a partial reply");
        let sent = format!("{}{}", first.sent(), second.sent());
        assert_eq!(sent, "OPTS UTF8 ON\r\n", "split {split}");
        assert_eq!(c.session.capabilities(), &all_capabilities(), "split {split}");
    }
    let mut c = at_feat();
    let d = c.feed_bytewise(wire);
    assert_eq!(d.sent(), "OPTS UTF8 ON\r\n");
    assert_eq!(c.session.capabilities(), &all_capabilities());
}

/// RFC 959 section 4.2: several replies in one read, here a 150 mark and
/// the 226 (the greeting's 120 + 220 and ABOR's 426 + 226 are checked with
/// those behaviours): each is acted on in order.
#[test]
fn rfc959_4_2_several_replies_in_one_read() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.list(now, ListCommand::List, None));
    c.feed(b"200 Type set to A\r\n");
    let (id, _) = epsv_connected(&mut c, 50000);
    let d = c.feed(b"150 Here comes the directory listing.\r\n226 Directory send OK.\r\n");
    assert_eq!(d.intermediates(), vec![150]);
    assert_eq!(d.data(), transfer(id, Direction::Download, NO_TLS));
    assert!(d.completed().is_empty());
    assert_eq!(
        c.data(id, DataEvent::Finished { bytes: 0 }).completed(),
        vec![(op, Ok(OpOutput::Transferred { bytes: 0 }))]
    );
}

/// SECURITY.md R3 and RFC 959 section 4.2 (421 may answer any command): an
/// unsolicited 421 mid-operation ends the pending operation with that
/// reply, closes its data connection and the control connection.
#[test]
fn sec_r3_unsolicited_421_mid_operation() {
    let mut c = Client::logged_in(plain());
    let (op, id) = running_retrieve(&mut c);
    let wire = "421 Timeout (idle), closing control connection.\r\n";
    let d = c.feed(wire.as_bytes());
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert_eq!(
        d.events(),
        vec![Event::OpCompleted { op, result: Err(OpError::Closed(Some(reply(wire)))) }, Event::Closed]
    );
    assert!(matches!(d.outputs.last(), Some(Output::Close)));
    assert_eq!(c.session.handle_input(c.now, Input::Data(id, DataEvent::Finished { bytes: 1 })), Err(Misuse::Closed));
    assert_eq!(c.session.pwd(c.now), Err(StartError::Closed));
}

/// SECURITY.md R3: a reply with nothing outstanding (or a surplus reply
/// after an operation ended) is a desynchronisation: the connection closes.
#[test]
fn sec_r3_unsolicited_reply_closes() {
    let mut c = Client::logged_in(plain());
    let d = c.feed(b"200 Surprise\r\n");
    assert_eq!(d.events(), vec![Event::Closed]);
    assert!(d.closed());

    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.raw(now, Command::Noop));
    let d = c.feed(b"200 NOOP ok\r\n200 NOOP ok again\r\n");
    assert_eq!(
        d.events(),
        vec![Event::OpCompleted { op, result: Ok(OpOutput::Done(reply("200 NOOP ok\r\n"))) }, Event::Closed]
    );
}

/// RFC 959 section 4.2 / SECURITY.md R3: EOF on the control connection
/// ends the operation with `Closed(None)`.
#[test]
fn sec_r3_control_eof_mid_operation() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.pwd(now));
    let d = c.input(Input::ControlEof);
    assert_eq!(d.events(), vec![Event::OpCompleted { op, result: Err(OpError::Closed(None)) }, Event::Closed]);
    assert!(d.closed());
}

/// SECURITY.md R1 (CVE-2018-1000300): an overlong line, or an endless one
/// (no line end at all), is bounded by the codec's line limit and ends the
/// session instead of growing a buffer.
#[test]
fn sec_r1_overlong_and_endless_lines_are_bounded() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.pwd(now));
    let mut wire = b"257 \"".to_vec();
    wire.extend(std::iter::repeat_n(b'a', 5000));
    wire.extend_from_slice(b"\"\r\n");
    let d = c.feed(&wire);
    assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol("malformed reply")))]);
    assert!(d.closed());

    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.pwd(now));
    let chunk = [b'x'; 1024];
    let mut done = Vec::new();
    for _ in 0..8 {
        if c.session.is_closed() {
            break;
        }
        done.extend(c.feed(&chunk).completed());
    }
    assert_eq!(done, vec![(op, Err(OpError::Protocol("malformed reply")))]);
}

/// SECURITY.md R1: a multi-line reply with more lines than the configured
/// limit is refused, and so is one above the byte limit.
#[test]
fn sec_r1_endless_multiline_reply_is_bounded() {
    let mut c = Client::logged_in(plain().parse_options(ParseOptions::default().max_reply_lines(4)));
    let (op, _) = c.start(|s, now| s.feat(now));
    let d = c.feed(b"211-Features:\r\n EPSV\r\n SIZE\r\n UTF8\r\n MDTM\r\n MLST\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol("malformed reply")))]);
    assert!(d.closed());

    let mut c = Client::logged_in(plain().parse_options(ParseOptions::default().max_reply_len(256)));
    let (op, _) = c.start(|s, now| s.feat(now));
    let mut done = c.feed(b"211-Features:\r\n").completed();
    for _ in 0..20 {
        if c.session.is_closed() {
            break;
        }
        done.extend(c.feed(b" SOME-FEATURE-NAME-THAT-GOES-ON\r\n").completed());
    }
    assert_eq!(done, vec![(op, Err(OpError::Protocol("malformed reply")))]);
}

/// SECURITY.md R2: a malformed reply code, and a multi-line reply never
/// closed (the reply deadline ends it).
#[test]
fn sec_r2_malformed_code_and_unclosed_multiline() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.pwd(now));
    let d = c.feed(b"hello there\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol("malformed reply")))]);
    assert!(d.closed());

    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.pwd(now));
    assert!(c.feed(b"257-the first line of many\r\n more\r\n").is_empty());
    let d = c.advance(Duration::from_secs(60));
    assert_eq!(d.completed(), vec![(op, Err(OpError::Timeout))]);
}

/// SECURITY.md E3 (curl PR 20949): a 257 pathname holding a control
/// character (a CR, sent as RFC 2640's CR NUL, or a NUL) is refused rather
/// than handed out for reuse in a later command.
#[test]
fn sec_e3_257_path_with_control_characters_refused() {
    let e3 = "control character in a 257 pathname";
    let f5 = "a reply line holds a NUL, a bare CR or another control byte (SECURITY.md F5)";
    let cases: [(&[u8], &str); 3] = [
        (b"257 \"/home/a\r\0DELE x\" is current\r\n", e3),
        (b"257 \"/a\x1bb\"\r\n", e3),
        // A NUL on its own is not even reply text (F5).
        (b"257 \"/a\0b\" created\r\n", f5),
    ];
    for (wire, why) in cases {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.pwd(now));
        let d = c.feed(wire);
        assert_eq!(d.completed(), vec![(op, Err(OpError::Protocol(why)))]);
    }
}

/// SECURITY.md F5: a reply line holding a NUL, a CR that is not RFC 2640's
/// CR NUL, or another control byte (BEL, BS, DEL...) is a protocol error
/// with a message saying so, whatever operation it answers; the connection
/// closes (it cannot be known to be in step). HT, ESC and CR NUL are text.
#[test]
fn sec_f5_control_bytes_in_a_reply_are_a_protocol_error() {
    let f5 = OpError::Protocol("a reply line holds a NUL, a bare CR or another control byte (SECURITY.md F5)");
    for wire in [&b"250 ok\0\r\n"[..], b"250 o\rk\r\n", b"250 ok\x07\r\n", b"250 ok\x08\r\n", b"250 ok\x7f\r\n"] {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.delete(now, &path("f")));
        let d = c.feed(wire);
        assert_eq!(d.completed(), vec![(op, Err(f5.clone()))], "{}", wire.escape_ascii());
        assert!(d.closed());
    }
    for wire in [&b"250 ok\tfine\r\n"[..], b"250 \x1b[1mok\x1b[0m\r\n", b"250 a\r\0b\r\n"] {
        let mut c = Client::logged_in(plain());
        let (op, _) = c.start(|s, now| s.delete(now, &path("f")));
        let d = c.feed(wire);
        assert!(
            matches!(&d.completed()[..], [(id, Ok(_))] if *id == op),
            "{}: {:?}",
            wire.escape_ascii(),
            d.completed()
        );
    }
}

/// A greeting that is not FTP (an HTTP response, an SSH banner) closes the
/// session at once, and `close_reason` says why, instead of waiting.
#[test]
fn greeting_that_is_not_ftp_fails_at_once() {
    for banner in [&b"SSH-2.0-OpenSSH_9.6\r\n"[..], b"HTTP/1.1 400 Bad Request\r\n"] {
        let (mut c, _) = Client::new(plain());
        let d = c.feed(banner);
        assert!(d.closed(), "{}", banner.escape_ascii());
        let why = OpError::Protocol("the server's greeting is not FTP (an HTTP or SSH server?)");
        assert_eq!(c.session.close_reason(), Some(&why));
    }
}

/// SECURITY.md R5 (curl CURLE_PARTIAL_FILE): a download shorter than the
/// SIZE reply announced (counting the resume offset) is a partial transfer.
#[test]
fn sec_r5_short_download_against_size_is_partial() {
    let mut c = Client::logged_in(plain());
    with_features(&mut c, " SIZE\r\n");
    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 40));
    assert_eq!(c.feed(b"213 100\r\n").sent(), "TYPE I\r\n");
    c.feed(b"200 Type set to I\r\n");
    let (id, _) = epsv_connected(&mut c, 50000);
    c.feed(b"350 Restarting at 40\r\n");
    c.feed(b"150 Opening\r\n");
    c.data(id, DataEvent::Finished { bytes: 50 });
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Partial { expected: 100, received: 90 }))]);
}

/// SECURITY.md R5: the `(N bytes)` of the 150 reply is compared as well;
/// exactly N bytes is a success, an upload is not compared.
#[test]
fn sec_r5_short_download_against_150_is_partial() {
    let mut c = Client::logged_in(plain());
    let (op, d) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    assert_eq!(d.sent(), "TYPE I\r\n");
    c.feed(b"200 Type set to I\r\n");
    let (id, _) = epsv_connected(&mut c, 50000);
    c.feed(b"150 Opening BINARY mode data connection for f (1000 bytes).\r\n");
    c.data(id, DataEvent::Finished { bytes: 999 });
    let d = c.feed(b"226 Transfer complete\r\n");
    assert_eq!(d.completed(), vec![(op, Err(OpError::Partial { expected: 1000, received: 999 }))]);

    let (op, _) = c.start(|s, now| s.retrieve(now, &path("f"), 0));
    let (id, _) = epsv_connected(&mut c, 50001);
    c.feed(b"150 Opening BINARY mode data connection for f (1000 bytes).\r\n");
    c.data(id, DataEvent::Finished { bytes: 1000 });
    assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 1000 }))]);

    let (op, _) = c.start(|s, now| s.store(now, &path("f"), 0));
    let (id, _) = epsv_connected(&mut c, 50002);
    c.feed(b"150 Ok to send data (1000 bytes).\r\n");
    c.data(id, DataEvent::Finished { bytes: 10 });
    assert_eq!(c.feed(b"226 Done\r\n").completed(), vec![(op, Ok(OpOutput::Transferred { bytes: 10 }))]);
}

/// PEERS.md section 3 (pyftpdlib replies 230 to REIN): accepted like RFC
/// 959's 220.
#[test]
fn peers3_rein_accepts_pyftpdlib_230() {
    let mut c = Client::logged_in(plain());
    let (op, _) = c.start(|s, now| s.rein(now));
    let d = c.feed(b"230 Ready for new user.\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Done(reply("230 Ready for new user.\r\n"))))]);
    assert!(!c.session.is_busy());
}

/// SECURITY.md D5 / PEERS.md pain point 1, `PasvPolicy::SubstituteUnroutable`:
/// a server behind NAT advertises its private address in 227; the client
/// connects to the control peer instead, and says so. The control peer here
/// is a documentation-range address (RFC 5737) held as a value only: this
/// test is in memory and nothing ever connects to it.
#[test]
fn sec_d5_227_policy_substitutes_private_address_behind_nat() {
    let mut c = at_pasv(plain().pasv_policy(PasvPolicy::SubstituteUnroutable), "198.51.100.10:21");
    let d = c.feed(b"227 Entering Passive Mode (192,168,1,20,195,80)\r\n");
    assert_eq!(
        d.passive(),
        vec![(Some("192.168.1.20:50000".parse().unwrap()), addr("198.51.100.10:50000"), PasvDecision::Substituted)]
    );
}

/// RFC 959 5.4 / SECURITY.md R2: the reply timeout counts from when the
/// command goes out, not from the last activity: an operation started after
/// a long idle time does not time out at once.
#[test]
fn r2_reply_deadline_counts_from_the_command_not_from_idle_time() {
    let mut c = Client::logged_in(plain());
    c.now += Duration::from_secs(3600);
    let (op, _) = c.start(|s, now| s.pwd(now));
    // The caller feeds a Timeout for the stale deadline it was shown.
    let d = c.input(ftp_session::client::Input::Timeout);
    assert!(d.completed().is_empty(), "not timed out: {:#?}", d.outputs);
    let d = c.feed(b"257 \"/\" is the current directory\r\n");
    assert_eq!(d.completed(), vec![(op, Ok(OpOutput::Pathname(path("/"))))]);
    // And a server that never answers still times out, a full timeout later.
    let (op, _) = c.start(|s, now| s.pwd(now));
    let d = c.advance(Duration::from_secs(59));
    assert!(d.completed().is_empty());
    let d = c.advance(Duration::from_secs(2));
    assert_eq!(d.completed(), vec![(op, Err(OpError::Timeout))]);
}

/// Issue 5 wiring: a listing body is parsed with the parser of the command
/// the session sent; `Auto` follows FEAT (RFC 3659 7: MLSD over LIST).
#[test]
fn rfc3659_7_parse_listing_by_command() {
    use bytes::Bytes;
    use ftp_session::client::{ListCommand, parse_listing};
    let now = Timestamp::parse(b"20240601120000").unwrap();
    let c = Client::logged_in(plain());
    assert_eq!(c.session.list_command(ListCommand::Auto), ListCommand::List, "no FEAT: LIST");
    let mlsd =
        Bytes::from_static(b"type=cdir; .\r\ntype=file;size=7;modify=20240101000000; x y.txt\r\nnot an mlsx line\r\n");
    let entries = parse_listing(&mlsd, ListCommand::Mlsd, now);
    assert_eq!(entries.len(), 2, "the unrecognised line is skipped, never a wrong entry");
    assert_eq!((entries[1].name(), entries[1].size()), (&b"x y.txt"[..], Some(7)));
    let list = Bytes::from_static(
        b"total 8\r\ndrwxr-xr-x    2 ftp      ftp          4096 May 01 12:00 pub\r\n-rw-r--r--    1 ftp      ftp            12 Jan 01  2020 old file\r\n",
    );
    let entries = parse_listing(&list, ListCommand::List, now);
    assert_eq!(
        entries.iter().map(|e| e.name().to_vec()).collect::<Vec<_>>(),
        vec![b"pub".to_vec(), b"old file".to_vec()]
    );
    let nlst = Bytes::from_static(b"a\r\nb c\n");
    assert_eq!(parse_listing(&nlst, ListCommand::Nlst, now).len(), 2);
}
