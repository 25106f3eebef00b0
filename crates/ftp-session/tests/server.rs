//! Transcript tests for the server session: client lines in, exact replies
//! and actions out. Each test names the RFC section, SECURITY.md row or
//! design decision it checks.

// A test picks its starting instant; the sessions themselves never read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::time::Duration;

use ftp_proto::ProtectionLevel;
use ftp_session::Misuse;
use ftp_session::server::{
    Answer, CloseReason, DataAction, DataEvent, DataFailure, DataTls, Direction, Event, Input, ListFormat, Output,
    RequestKind, ServerConfig, Session, StorageError, StoreMode,
};
use support::{Harness, PEER, logged_in};

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

// ---- 1. Greeting and login ---------------------------------------------------

/// RFC 959 5.4: connection establishment answers 220.
#[test]
fn rfc959_5_4_greeting_is_220() {
    let (_, d) = Harness::new(ServerConfig::default().greeting("Welcome to ftpkit"));
    assert_eq!(d.lines(), vec!["220 Welcome to ftpkit"]);
}

/// RFC 959 5.4 / SECURITY.md C3: over capacity the server answers 421 and closes.
#[test]
fn sec_c3_refused_session_gets_421_and_close() {
    let now = std::time::Instant::now();
    let conn = ftp_session::server::Connection::new(addr(PEER), addr(support::LOCAL));
    let mut s = Session::refuse(std::sync::Arc::new(ServerConfig::default()), conn, now);
    let mut outs = Vec::new();
    loop {
        match s.poll_output() {
            Output::Wait(_) => break,
            o => outs.push(o),
        }
    }
    assert!(matches!(&outs[0], Output::Transmit(b) if b.starts_with(b"421 ")));
    assert!(matches!(outs.last(), Some(Output::Close)));
    assert_eq!(s.handle_input(now, Input::Control(b"USER x\r\n")), Err(Misuse::Closed));
}

/// SECURITY.md A3 / RFC 2577 section 7: USER is always answered 331, so the
/// reply never reveals whether the account exists.
#[test]
fn sec_a3_user_always_331() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    for user in ["root", "nobody-here", "alice", "anonymous"] {
        assert_eq!(h.send(&format!("USER {user}")).lines(), vec!["331 Password required."]);
    }
}

/// RFC 959 4.1.1: PASS is decided by the application; 230 on success.
#[test]
fn rfc959_4_1_1_pass_asks_the_application() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    h.send("USER alice");
    let d = h.send("PASS s3cret");
    let req = d.request();
    let RequestKind::Login { user, password } = &req.kind else { panic!("{req:?}") };
    assert_eq!(user.as_bytes(), b"alice");
    assert_eq!(password.expose().as_bytes(), b"s3cret");
    let d = h.answer(&req, Answer::LoggedIn);
    assert_eq!(d.lines(), vec!["230 Login successful."]);
    assert!(d.events().iter().any(|e| matches!(e, Event::LoggedIn { anonymous: false, .. })));
    assert!(h.session.is_logged_in());
}

/// RFC 959 5.4 (PASS: 503) and SECURITY.md A5: PASS without USER is a bad sequence.
#[test]
fn sec_a5_pass_without_user_is_503() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    assert_eq!(h.send("PASS x").codes(), vec![503]);
}

/// SECURITY.md A1 / RFC 2577 section 5: a failed login's 530 comes after a
/// delay (a deadline, never a sleep); the third failure gets 530 then 421.
#[test]
fn sec_a1_failed_logins_are_delayed_then_421() {
    let config = ServerConfig::default().failed_login_delay(Duration::from_secs(2)).max_login_failures(3);
    let (mut h, _) = Harness::new(config);
    for attempt in 1..=3 {
        h.send("USER alice");
        let req = h.send("PASS wrong").request();
        let d = h.answer(&req, Answer::LoginDenied);
        assert!(d.lines().is_empty(), "530 must wait for the delay");
        // Commands sent meanwhile wait too.
        assert!(h.send("NOOP").lines().is_empty());
        let deadline = h.session.poll_timeout().unwrap();
        assert_eq!(deadline, h.now + Duration::from_secs(2));
        assert!(h.advance(Duration::from_secs(1)).lines().is_empty(), "not yet");
        let d = h.advance(Duration::from_secs(1));
        if attempt < 3 {
            assert_eq!(d.codes(), vec![530, 200], "530 then the held NOOP");
        } else {
            assert_eq!(d.codes(), vec![530, 421]);
            assert!(d.closed());
            assert!(d.events().contains(&Event::Closed(CloseReason::TooManyLoginFailures)));
        }
    }
}

/// SECURITY.md A1: after a failure, a correct password's 230 is held as
/// long as a 530 would be, so the reply's timing tells nothing; every
/// failure is reported for the driver's per-address count (A2).
#[test]
fn sec_a1_correct_password_after_a_failure_waits_too() {
    let config = ServerConfig::default().failed_login_delay(Duration::from_secs(2));
    let (mut h, _) = Harness::new(config);
    h.send("USER alice");
    let req = h.send("PASS wrong").request();
    let d = h.answer(&req, Answer::LoginDenied);
    assert!(d.events().iter().any(|e| matches!(e, Event::LoginFailed { failures: 1, .. })), "{:?}", d.events());
    assert_eq!(h.advance(Duration::from_secs(2)).codes(), vec![530]);
    assert!(h.session.are_logins_held());
    h.send("USER alice");
    let req = h.send("PASS right").request();
    let d = h.answer(&req, Answer::LoggedIn);
    assert!(d.lines().is_empty(), "230 must wait for the delay: {:?}", d.lines());
    assert!(!h.session.is_logged_in(), "not logged in before the reply");
    assert!(h.send("PWD").lines().is_empty(), "commands wait behind the held login");
    assert!(h.advance(Duration::from_secs(1)).lines().is_empty());
    let d = h.advance(Duration::from_secs(1));
    assert_eq!(d.codes(), vec![230, 257]);
    assert!(d.events().iter().any(|e| matches!(e, Event::LoggedIn { anonymous: false, .. })));
    assert!(h.session.is_logged_in());
}

/// SECURITY.md A2: the driver marks a session whose address failed
/// elsewhere; its very first PASS, right or wrong, is then held.
#[test]
fn sec_a2_held_logins_delay_the_first_pass() {
    let config = ServerConfig::default().failed_login_delay(Duration::from_secs(3)).anonymous(true);
    let (mut h, _) = Harness::new(config);
    assert!(!h.session.are_logins_held());
    h.session.hold_logins();
    h.send("USER anonymous");
    assert!(h.send("PASS guest@").lines().is_empty(), "anonymous 230 held too");
    assert_eq!(h.advance(Duration::from_secs(3)).codes(), vec![230]);
    assert!(h.session.is_anonymous());
}

/// RFC 959 4.1.1: ACCT after a 332.
#[test]
fn rfc959_4_1_1_account_flow() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    h.send("USER alice");
    let req = h.send("PASS pw").request();
    assert_eq!(h.answer(&req, Answer::NeedAccount).codes(), vec![332]);
    let req = h.send("ACCT billing").request();
    assert!(matches!(req.kind, RequestKind::Account { .. }));
    assert_eq!(h.answer(&req, Answer::LoggedIn).codes(), vec![230]);
    assert_eq!(h.send("ACCT again").codes(), vec![202]);
}

/// SECURITY.md S1 (CVE-2015-3306): before login only the allow-list runs;
/// everything else is 530, enforced by the session for every command.
#[test]
fn sec_s1_pre_login_allow_list() {
    let (mut h, _) = Harness::new(ServerConfig::default().site_enabled(true));
    for cmd in
        ["SITE CPFR /etc/passwd", "RETR x", "LIST", "CWD /", "PASV", "PORT 127,0,0,1,4,1", "DELE x", "MKD x", "STAT x"]
    {
        let d = h.send(cmd);
        assert_eq!(d.codes(), vec![530], "{cmd}");
        assert!(d.requests().is_empty() && d.data().is_empty(), "{cmd} must not reach the application");
        h.send("NOOP"); // keep the error run short
    }
    for (cmd, code) in [("SYST", 215), ("FEAT", 211), ("NOOP", 200), ("HELP", 214), ("OPTS UTF8 ON", 200)] {
        assert_eq!(h.send(cmd).codes(), vec![code], "{cmd}");
    }
}

/// Anonymous login is a configuration choice (vsftpd `anonymous_enable`).
#[test]
fn anonymous_login_when_enabled() {
    let (mut h, _) = Harness::new(ServerConfig::default().anonymous(true));
    h.send("USER anonymous");
    let d = h.send("PASS guest@example.com");
    assert!(d.requests().is_empty(), "anonymous does not ask the application");
    assert_eq!(d.codes(), vec![230]);
    assert!(h.session.is_anonymous());

    let (mut h, _) = Harness::new(ServerConfig::default().failed_login_delay(Duration::ZERO));
    h.send("USER ftp");
    assert!(h.send("PASS x").lines().is_empty());
    assert_eq!(h.advance(Duration::ZERO).codes(), vec![530]);
}

/// SECURITY.md A5: a new USER after login starts a new login.
#[test]
fn sec_a5_user_after_login_starts_over() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("USER bob").codes(), vec![331]);
    assert!(!h.session.is_logged_in());
    assert_eq!(h.send("PWD").codes(), vec![530]);
}

/// SECURITY.md S3: an HTTP request on the FTP port closes the connection.
#[test]
fn sec_s3_http_request_closes() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    let d = h.send("GET / HTTP/1.1");
    assert!(d.closed());
    assert!(d.events().contains(&Event::Closed(CloseReason::HttpRequest)));
}

// ---- 2. Data connection negotiation -------------------------------------------

/// RFC 959 4.1.2 (PASV): the listener's port and the configured passive
/// address (NAT) go into `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
#[test]
fn rfc959_4_1_2_pasv_advertises_configured_address() {
    let mut h = logged_in(ServerConfig::default().passive_address(Some("203.0.113.7".parse().unwrap())));
    let d = h.send("PASV");
    assert!(d.lines().is_empty(), "227 waits for the listener");
    let id = d.data_id();
    assert!(matches!(d.data()[0], DataAction::Listen { family: ftp_proto::NetProto::Ipv4, .. }));
    let d = h.data(id, DataEvent::Listening { addr: addr("127.0.0.1:50123") });
    // 50123 = 195 * 256 + 203
    assert_eq!(d.lines(), vec!["227 Entering Passive Mode (203,0,113,7,195,203)."]);
}

/// Without a configured address, PASV advertises the control connection's local address.
#[test]
fn rfc959_4_1_2_pasv_defaults_to_local_address() {
    let (mut h, _) = Harness::with_conn(ServerConfig::default(), "127.0.0.9:5000", "127.0.0.5:21");
    h.login();
    let id = h.send("PASV").data_id();
    let d = h.data(id, DataEvent::Listening { addr: addr("127.0.0.5:1025") });
    assert_eq!(d.lines(), vec!["227 Entering Passive Mode (127,0,0,5,4,1)."]);
}

/// SECURITY.md D6: a second PASV closes the first listener and its connections.
#[test]
fn sec_d6_second_pasv_closes_the_first() {
    let mut h = logged_in(ServerConfig::default());
    let first = h.pasv(40001);
    h.data(first, DataEvent::Incoming { peer: addr("127.0.0.1:5555") });
    let d = h.send("PASV");
    let actions = d.data();
    assert_eq!(actions[0], DataAction::Close { id: first });
    let DataAction::Listen { id: second, .. } = actions[1] else { panic!("{actions:?}") };
    assert_ne!(first, second);
    // Late events for the old listener are ignored.
    assert!(h.data(first, DataEvent::Incoming { peer: addr("127.0.0.1:5556") }).outputs.is_empty());
}

/// RFC 2428 section 3: `229 Entering Extended Passive Mode (|||port|)`.
#[test]
fn rfc2428_3_epsv_reply() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.send("EPSV").data_id();
    let d = h.data(id, DataEvent::Listening { addr: addr("127.0.0.1:6446") });
    assert_eq!(d.lines(), vec!["229 Entering Extended Passive Mode (|||6446|)"]);
}

/// RFC 2428 section 2/3: EPSV for a protocol the control connection does not
/// use gets 522 with the supported list.
#[test]
fn rfc2428_3_epsv_other_protocol_is_522() {
    let mut h = logged_in(ServerConfig::default());
    let d = h.send("EPSV 2");
    assert_eq!(d.lines(), vec!["522 Network protocol not supported, use (1)"]);
    assert!(d.data().is_empty());
    assert!(matches!(h.send("EPSV 1").data()[0], DataAction::Listen { .. }));
}

/// RFC 2428 section 4 / SECURITY.md D7: after `EPSV ALL`, PORT, PASV and EPRT
/// are refused; EPSV still works.
#[test]
fn sec_d7_epsv_all_forbids_other_setups() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("EPSV ALL").codes(), vec![200]);
    for cmd in ["PASV", "PORT 127,0,0,1,4,1", "EPRT |1|127.0.0.1|5000|"] {
        let d = h.send(cmd);
        assert_eq!(d.codes(), vec![503], "{cmd}");
        assert!(d.data().is_empty(), "{cmd}: no data action");
        h.send("NOOP");
    }
    assert!(matches!(h.send("EPSV").data()[0], DataAction::Listen { .. }));
}

/// RFC 959 4.1.2 (PORT) and RFC 2428 section 2 (EPRT): accepted with 200
/// for the control peer and a port of at least 1024.
#[test]
fn rfc959_4_1_2_port_and_eprt_accepted() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("PORT 127,0,0,1,4,1").lines(), vec!["200 PORT command successful."]);
    assert_eq!(h.send("EPRT |1|127.0.0.1|5000|").codes(), vec![200]);
    // An IPv4-mapped IPv6 peer is the same host (SECURITY.md D2).
    let (mut h, _) = Harness::with_conn(ServerConfig::default(), "[::ffff:127.0.0.1]:4000", "[::ffff:127.0.0.1]:21");
    h.login();
    assert_eq!(h.send("PORT 127,0,0,1,4,1").codes(), vec![200]);
}

/// SECURITY.md D1 / RFC 2577 sections 2-3: a PORT to another host or to a
/// privileged port is refused (504) unless configured.
#[test]
fn sec_d1_bounce_attack_refused() {
    let mut h = logged_in(ServerConfig::default());
    let d = h.send("PORT 127,0,0,2,4,1");
    assert_eq!(d.codes(), vec![504]);
    h.send("NOOP");
    assert_eq!(h.send("PORT 127,0,0,1,0,25").codes(), vec![504]);
    h.send("NOOP");
    assert_eq!(h.send("EPRT |1|127.0.0.3|5000|").codes(), vec![504]);

    let mut h = logged_in(ServerConfig::default().allow_foreign_data_address(true).allow_privileged_data_port(true));
    assert_eq!(h.send("PORT 127,0,0,2,0,25").codes(), vec![200]);
}

/// RFC 959 4.1.2: PORT stops any passive listener.
#[test]
fn rfc959_4_1_2_port_closes_passive_listener() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let d = h.send("PORT 127,0,0,1,4,1");
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
}

/// The server never connects to port 20 by default: a transfer with no
/// PORT/PASV/EPRT/EPSV before it gets 425.
#[test]
fn rfc959_transfer_without_data_setup_is_425() {
    let mut h = logged_in(ServerConfig::default());
    for cmd in ["RETR f", "STOR f", "LIST", "NLST", "MLSD"] {
        let d = h.send(cmd);
        assert_eq!(d.codes(), vec![425], "{cmd}");
        assert!(d.requests().is_empty());
    }
}

/// RFC 959 5.4 / issue: for PORT the session sends 150, then asks the caller
/// to connect; a failed connect answers the transfer 425.
#[test]
fn rfc959_active_transfer_sequence_and_connect_failure() {
    let mut h = logged_in(ServerConfig::default());
    h.send("PORT 127,0,0,1,4,1");
    let req = h.send("RETR report.pdf").request();
    let RequestKind::Retrieve { path, offset, .. } = &req.kind else { panic!() };
    assert_eq!(path.as_bytes(), b"/report.pdf");
    assert_eq!(*offset, 0);
    let d = h.answer(&req, Answer::Ready);
    assert_eq!(d.codes(), vec![150]);
    // The 150 goes out before the connect.
    assert!(matches!(d.outputs[0], Output::Transmit(_)));
    let DataAction::Connect { id, addr: to, .. } = d.data()[0] else { panic!("{:?}", d.data()) };
    assert_eq!(to, addr("127.0.0.1:1025"));
    let d = h.data(id, DataEvent::Connected);
    assert!(matches!(d.data()[0], DataAction::Transfer { direction: Direction::Send, .. }));
    let d = h.data(id, DataEvent::Finished { bytes: 1234 });
    assert_eq!(d.codes(), vec![226]);
    assert!(d.events().iter().any(|e| matches!(e, Event::TransferCompleted { bytes: 1234, .. })));

    h.send("PORT 127,0,0,1,4,1");
    let req = h.send("RETR report.pdf").request();
    let id = h.answer(&req, Answer::Ready).data_id();
    assert_eq!(h.data(id, DataEvent::ConnectFailed).codes(), vec![425]);
}

/// RFC 2577 section 8 / SECURITY.md D3: a passive connection from another
/// address is refused and the session keeps waiting for the real client.
#[test]
fn sec_d3_port_theft_refused_and_waits() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    assert_eq!(h.answer(&req, Answer::Ready).codes(), vec![150]);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.66:7000") });
    assert_eq!(d.data(), vec![DataAction::Reject { id, peer: addr("127.0.0.66:7000") }]);
    assert!(d.events().contains(&Event::ForeignDataConnection { peer: addr("127.0.0.66:7000") }));
    assert!(d.lines().is_empty(), "no reply: still waiting");
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7001") });
    assert_eq!(
        d.data()[0],
        DataAction::Accept { id, tls: DataTls { required: false, must_resume_control_session: true } }
    );
    assert!(matches!(d.data()[1], DataAction::Transfer { .. }));
}

/// SECURITY.md C2: a listener that gets no connection within the data
/// connect timeout ends the transfer with 425.
#[test]
fn sec_c2_accept_timeout_is_425() {
    let mut h = logged_in(ServerConfig::default().data_connect_timeout(Duration::from_secs(60)));
    let id = h.pasv(40000);
    let req = h.send("LIST").request();
    h.answer(&req, Answer::Ready);
    assert!(h.advance(Duration::from_secs(59)).lines().is_empty());
    let d = h.advance(Duration::from_secs(1));
    assert_eq!(d.codes(), vec![425]);
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
}

/// RFC 959 4.1.3 / SECURITY.md X1: ABOR during a transfer closes the data
/// connection, answers 426 for the transfer and 226 for ABOR.
#[test]
fn sec_x1_abor_during_transfer() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    let req = h.send("RETR big.iso").request();
    assert_eq!(h.answer(&req, Answer::Ready).codes(), vec![125]);
    // Telnet IP + DM before ABOR, as RFC 959 asks clients to send.
    let d = h.bytes(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert_eq!(d.codes(), vec![426, 226]);
    // The late Finished of the aborted transfer is ignored.
    assert!(h.data(id, DataEvent::Finished { bytes: 10 }).outputs.is_empty());
}

/// RFC 959 4.1.3 / SECURITY.md X1: ABOR with nothing running: 225; 226 when
/// it closed an idle data connection.
#[test]
fn sec_x1_abor_without_transfer() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("ABOR").codes(), vec![225]);
    let id = h.pasv(40000);
    let d = h.send("ABOR");
    assert_eq!(d.codes(), vec![225], "listener only");
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    let id = h.pasv(40001);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert_eq!(h.send("ABOR").codes(), vec![226]);
}

/// RFC 959 4.1.3 / SECURITY.md X2: STAT during a transfer reports progress;
/// QUIT lets the transfer finish, then 221; other commands wait, in order.
#[test]
fn sec_x2_stat_quit_and_queued_commands_during_transfer() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    h.data(id, DataEvent::Progress { bytes: 4096 });
    let d = h.send("STAT");
    assert_eq!(d.lines(), vec!["213 Status: RETR in progress, 4096 bytes transferred."]);
    assert!(h.send("NOOP").lines().is_empty(), "NOOP waits for the transfer");
    assert!(h.send("PWD").lines().is_empty());
    let d = h.data(id, DataEvent::Finished { bytes: 8192 });
    assert_eq!(d.codes(), vec![226, 200, 257], "transfer, then the queued commands in order");

    let id = h.pasv(40001);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert!(h.send("QUIT").lines().is_empty(), "QUIT waits for the transfer");
    let d = h.data(id, DataEvent::Finished { bytes: 1 });
    assert_eq!(d.codes(), vec![226, 221]);
    assert!(d.closed());
}

// ---- 3. Transfers ---------------------------------------------------------------

/// RFC 959 5.4: 125 when the data connection is already open, 150 otherwise.
#[test]
fn rfc959_5_4_125_or_150() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("LIST").request();
    assert_eq!(h.answer(&req, Answer::Ready).codes(), vec![150]);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert!(matches!(d.data()[1], DataAction::Transfer { .. }));
    h.data(id, DataEvent::Finished { bytes: 0 });
    let id = h.pasv(40001);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    let req = h.send("NLST").request();
    assert_eq!(h.answer(&req, Answer::Ready).codes(), vec![125]);
}

/// RFC 959 4.1.3 / RFC 1123 4.1.2.9: STOU answers `150 FILE: name`.
#[test]
fn rfc1123_stou_reports_the_name() {
    let mut h = logged_in(ServerConfig::default());
    h.pasv(40000);
    let req = h.send("STOU").request();
    assert!(matches!(req.kind, RequestKind::Store { mode: StoreMode::Unique, .. }));
    let d = h.answer(&req, Answer::StoredAs(ftp_proto::Pathname::try_from("upload.1").unwrap()));
    assert_eq!(d.lines(), vec!["150 FILE: upload.1"]);
}

/// RFC 959 4.1.3 (LIST, NLST) and RFC 3659 7 (MLSD): the listing format is
/// passed on; LIST options are data, only `-a` is understood (SECURITY.md P4).
#[test]
fn rfc3659_listing_formats_and_options() {
    let mut h = logged_in(ServerConfig::default());
    for (cmd, want_format, want_path, want_all) in [
        ("LIST", ListFormat::List, "/", false),
        ("LIST -la docs", ListFormat::List, "/docs", true),
        ("NLST -l", ListFormat::Nlst, "/", false),
        ("MLSD /pub", ListFormat::Mlsd, "/pub", false),
    ] {
        h.pasv(40000);
        let req = h.send(cmd).request();
        let RequestKind::List { path, format, all, .. } = &req.kind else { panic!("{req:?}") };
        assert_eq!((path.as_bytes(), *format, *all), (want_path.as_bytes(), want_format, want_all), "{cmd}");
        h.answer(&req, Answer::Failed(StorageError::NotFound));
    }
}

/// RFC 3659 section 5: REST n then RETR/STOR starts at n; the marker
/// survives data-setup and parameter commands between REST and the
/// transfer (PASV, EPSV, PORT, EPRT, TYPE: suppaftp and ncftp send REST
/// first; issue 12), is cleared by any other command, and applies to one
/// transfer only (SECURITY.md N3).
#[test]
fn rfc3659_5_rest_applies_once() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("REST 1000").lines(), vec!["350 Restarting at 1000. Send STORE or RETRIEVE."]);
    assert_eq!(h.send("TYPE I").codes(), vec![200]);
    h.pasv(40000);
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { offset: 1000, .. }), "kept across TYPE and PASV: {req:?}");
    h.answer(&req, Answer::Failed(StorageError::NotFound));
    h.send("REST 2000");
    h.pasv(40001);
    h.send("MODE S");
    let req = h.send("STOR f").request();
    assert!(matches!(req.kind, RequestKind::Store { offset: 2000, mode: StoreMode::Replace, .. }), "{req:?}");
    h.answer(&req, Answer::Failed(StorageError::NotFound));
    h.pasv(40002);
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { offset: 0, .. }), "cleared after use");
    h.answer(&req, Answer::Failed(StorageError::NotFound));
    h.send("REST 3000");
    assert_eq!(h.send("PWD").codes(), vec![257]);
    h.pasv(40003);
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { offset: 0, .. }), "cleared by a command that is not data setup");
    h.answer(&req, Answer::Failed(StorageError::NotFound));
    h.send("REST 4000");
    h.send("PORT 127,0,0,1,200,10");
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { offset: 4000, .. }), "kept across PORT: {req:?}");
}

/// RFC 959 4.1.2 / SECURITY.md N5: TYPE A, I and L 8 are supported and each
/// transfer knows its ASCII/binary choice; other forms get 504.
#[test]
fn rfc959_4_1_2_type_mode_stru() {
    let mut h = logged_in(ServerConfig::default());
    for (cmd, code) in [
        ("TYPE I", 200),
        ("TYPE A", 200),
        ("TYPE A N", 200),
        ("TYPE L 8", 200),
        ("TYPE E", 504),
        ("TYPE L 7", 504),
        ("MODE S", 200),
        ("MODE B", 504),
        ("STRU F", 200),
        ("STRU R", 504),
        ("TYPE X", 504),
        ("TYPE I junk", 501),
    ] {
        assert_eq!(h.send(cmd).codes(), vec![code], "{cmd}");
        h.send("NOOP");
    }
    h.send("TYPE A");
    h.pasv(40000);
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { ascii: true, .. }));
    h.answer(&req, Answer::Failed(StorageError::NotFound));
    h.send("TYPE I");
    h.pasv(40001);
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { ascii: false, .. }));
}

/// SECURITY.md X3: an upload that breaks is never answered 226; the caller
/// is told it is incomplete, with its byte count.
#[test]
fn sec_x3_broken_upload_is_reported_incomplete() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("STOR up.bin").request();
    h.answer(&req, Answer::Ready);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert!(matches!(d.data()[1], DataAction::Transfer { direction: Direction::Receive, .. }));
    let d = h.data(id, DataEvent::Failed { bytes: 777, reason: DataFailure::ConnectionLost });
    assert_eq!(d.codes(), vec![426]);
    let incomplete = d.events().into_iter().find_map(|e| match e {
        Event::UploadIncomplete { path, bytes } => Some((path, bytes)),
        _ => None,
    });
    let (path, bytes) = incomplete.expect("upload incomplete event");
    assert_eq!((path.as_bytes(), bytes), (&b"/up.bin"[..], 777));

    // ABOR of an upload: 426 + 226 and the incomplete event.
    let id = h.pasv(40001);
    let req = h.send("APPE log.txt").request();
    assert!(matches!(req.kind, RequestKind::Store { mode: StoreMode::Append, .. }));
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    h.data(id, DataEvent::Progress { bytes: 10 });
    let d = h.send("ABOR");
    assert_eq!(d.codes(), vec![426, 226]);
    assert!(d.events().iter().any(|e| matches!(e, Event::UploadIncomplete { bytes: 10, .. })));
}

/// SECURITY.md L7: a protected upload that ended without TLS close_notify
/// is accepted (226) but reported as possibly truncated; with
/// `require_tls_close_notify` it is refused (426) and reported incomplete.
#[test]
fn sec_l7_upload_without_close_notify_is_flagged_or_refused() {
    for strict in [false, true] {
        let mut h = logged_in(ServerConfig::default().require_tls_close_notify(strict));
        let id = h.pasv(40000);
        let req = h.send("STOR up.bin").request();
        h.answer(&req, Answer::Ready);
        h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
        let d = h.data(id, DataEvent::FinishedWithoutCloseNotify { bytes: 4096 });
        let events = d.events();
        if strict {
            assert_eq!(d.codes(), vec![426]);
            assert!(events.iter().any(|e| matches!(e, Event::UploadIncomplete { bytes: 4096, .. })), "{events:?}");
        } else {
            assert_eq!(d.codes(), vec![226]);
            let flagged = events.iter().find_map(|e| match e {
                Event::UploadPossiblyTruncated { path, bytes } => Some((path.as_bytes().to_vec(), *bytes)),
                _ => None,
            });
            assert_eq!(flagged, Some((b"/up.bin".to_vec(), 4096)), "{events:?}");
        }
    }
}

/// Issue 12: RMD of a directory with entries says what happened.
#[test]
fn rfc959_4_1_3_rmd_of_non_empty_directory_says_so() {
    let mut h = logged_in(ServerConfig::default());
    let req = h.send("RMD full").request();
    let d = h.answer(&req, Answer::Failed(StorageError::DirectoryNotEmpty));
    assert_eq!(d.lines(), vec!["550 Directory not empty."]);
}

/// RFC 959 4.1.3 HELP, DESIGN (capabilities, not promises): HELP lists
/// only verbs this session can run: no MFMT (issue 12) without the storage
/// capability, SITE always (SITE HELP works), the TLS verbs only when TLS
/// is available.
#[test]
fn rfc959_4_1_3_help_lists_only_working_verbs() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    let help = h.send("HELP").lines().join("\n");
    let words: Vec<&str> = help.split_whitespace().collect();
    for absent in ["MFMT", "AUTH", "PBSZ", "PROT", "CCC", "MFCT", "MFF"] {
        assert!(!words.contains(&absent), "{absent} in {help}");
    }
    for present in ["RETR", "STOR", "MLST", "EPSV", "REST", "SITE"] {
        assert!(words.contains(&present), "{present} missing from {help}");
    }
    let (mut h, _) = Harness::new(tls_config().site_enabled(true));
    let help = h.send("HELP").lines().join("\n");
    let words: Vec<&str> = help.split_whitespace().collect();
    for present in ["SITE", "AUTH", "PBSZ", "PROT"] {
        assert!(words.contains(&present), "{present} missing from {help}");
    }
}

/// RFC 959 5.4: storage errors map to their reply codes (550, 553, 452, 552, 451).
#[test]
fn rfc959_5_4_storage_errors_map_to_codes() {
    let mut h = logged_in(ServerConfig::default());
    for (err, code) in [
        (StorageError::NotFound, 550),
        (StorageError::PermissionDenied, 550),
        (StorageError::NameNotAllowed, 553),
        (StorageError::InsufficientStorage, 452),
        (StorageError::QuotaExceeded, 552),
        (StorageError::LocalError, 451),
        (StorageError::Unavailable, 450),
    ] {
        let req = h.send("DELE x").request();
        assert_eq!(h.answer(&req, Answer::Failed(err)).codes(), vec![code], "{err:?}");
    }
    // A storage failure mid-transfer is 451.
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert_eq!(h.data(id, DataEvent::Failed { bytes: 1, reason: DataFailure::Storage }).codes(), vec![451]);
}

// ---- 4. TLS sequencing (RFC 4217, RFC 2228) ------------------------------------------

fn tls_config() -> ServerConfig {
    ServerConfig::default().tls_available(true)
}

/// RFC 4217 section 4 / SECURITY.md L1 (CVE-2011-1575): AUTH TLS gets 234 and
/// a StartTls; every byte after the AUTH line is discarded, never executed.
#[test]
fn sec_l1_auth_tls_discards_injected_commands() {
    let (mut h, _) = Harness::new(tls_config());
    let d = h.bytes(b"AUTH TLS\r\nUSER mallory\r\nPASS x\r\n");
    assert_eq!(d.lines(), vec!["234 Proceed with negotiation."]);
    assert!(d.start_tls());
    assert!(d.requests().is_empty());
    // Plaintext arriving before the handshake completes is dropped too.
    assert!(h.bytes(b"DELE everything\r\n").outputs.is_empty());
    let d = h.input(Input::TlsEstablished);
    assert!(d.outputs.is_empty(), "the injected USER/PASS never ran: {:?}", d.lines());
    assert_eq!(h.send("USER alice").codes(), vec![331]);
}

/// SECURITY.md A7: required TLS means no login of any kind before AUTH,
/// the anonymous account's included, unless explicitly allowed.
#[test]
fn sec_a7_anonymous_needs_tls_too_unless_allowed() {
    let (mut h, _) = Harness::new(tls_config().anonymous(true).require_tls_login(true));
    for user in ["anonymous", "ftp"] {
        assert_eq!(h.send(&format!("USER {user}")).codes(), vec![530], "{user}");
        h.send("NOOP");
    }
    assert_eq!(h.send("PASS x").codes(), vec![503], "no USER was accepted");
    assert!(!h.session.is_logged_in());
    let (mut h, _) = Harness::new(tls_config().anonymous(true).require_tls_login(true).allow_plaintext_anonymous(true));
    assert_eq!(h.send("USER anonymous").codes(), vec![331]);
    assert_eq!(h.send("PASS guest@").codes(), vec![230]);
    assert_eq!(h.send("USER alice").codes(), vec![530], "named users still need TLS");
}

/// RFC 4217 section 4: AUTH when TLS is not available is 502; other
/// mechanisms 504; AUTH after login 503 (SECURITY.md L3).
#[test]
fn rfc4217_4_auth_refusals() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    assert_eq!(h.send("AUTH TLS").codes(), vec![502]);
    let (mut h, _) = Harness::new(tls_config());
    assert_eq!(h.send("AUTH GSSAPI").codes(), vec![504]);
    let mut h = logged_in(tls_config());
    assert_eq!(h.send("AUTH TLS").codes(), vec![503]);
}

/// RFC 4217 section 9 / SECURITY.md L4: PBSZ before AUTH 503; `200 PBSZ=0`;
/// PROT before PBSZ 503; PROT P then every data action requires TLS with
/// resumption of the control session (L6); PROT S/E 536.
#[test]
fn sec_l4_pbsz_prot_sequencing() {
    let (mut h, _) = Harness::new(tls_config());
    assert_eq!(h.send("PBSZ 0").codes(), vec![503]);
    assert_eq!(h.send("PROT P").codes(), vec![503]);
    h.send("NOOP");
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    assert_eq!(h.send("PROT P").codes(), vec![503]);
    assert_eq!(h.send("PBSZ 0").lines(), vec!["200 PBSZ=0"]);
    assert_eq!(h.send("PROT S").codes(), vec![536]);
    assert_eq!(h.send("PROT P").codes(), vec![200]);
    h.login();
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    let DataAction::Transfer { tls, .. } = d.data()[1] else { panic!() };
    assert!(tls.required && tls.must_resume_control_session);
    // L6: a data connection that did not resume the control session: 522.
    assert_eq!(h.data(id, DataEvent::Failed { bytes: 0, reason: DataFailure::TlsNotResumed }).codes(), vec![522]);
}

/// SECURITY.md L5 / RFC 4217 10.2: with data protection required, a transfer
/// on an unprotected channel gets 521 before any 150; PROT C gets 534.
#[test]
fn sec_l5_unprotected_data_refused() {
    let (mut h, _) = Harness::new(tls_config().require_tls_data(true));
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    h.send("PBSZ 0");
    assert_eq!(h.send("PROT C").codes(), vec![534]);
    h.login();
    h.pasv(40000);
    let d = h.send("RETR f");
    assert_eq!(d.codes(), vec![521]);
    assert!(d.requests().is_empty());
}

/// SECURITY.md A7: with TLS required for login, USER on plaintext is 530.
#[test]
fn sec_a7_login_requires_tls() {
    let (mut h, _) = Harness::new(tls_config().require_tls_login(true));
    assert_eq!(h.send("USER alice").codes(), vec![530]);
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    assert_eq!(h.send("USER alice").codes(), vec![331]);
}

/// RFC 4217 section 6 / SECURITY.md L8: CCC is refused (533) unless allowed.
#[test]
fn sec_l8_ccc_refused_by_default() {
    let (mut h, _) = Harness::new(tls_config());
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    h.login();
    assert_eq!(h.send("CCC").codes(), vec![533]);
    let (mut h, _) = Harness::new(tls_config().allow_ccc(true));
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    h.login();
    let d = h.send("CCC");
    assert_eq!(d.codes(), vec![200]);
    assert!(d.stop_tls());
}

/// RFC 4217 section 6 and 12.3: CCC clears the control connection only;
/// the data protection chosen with PROT stays in force, and a plaintext
/// control connection takes no PBSZ (503) until a new AUTH.
#[test]
fn rfc4217_12_3_ccc_keeps_data_protection() {
    let (mut h, _) = Harness::new(tls_config().allow_ccc(true));
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    h.send("PBSZ 0");
    h.send("PROT P");
    h.login();
    let d = h.send("CCC");
    assert_eq!(d.codes(), vec![200]);
    assert!(d.stop_tls());
    assert_eq!(h.send("PWD").codes(), vec![257], "commands go on in plaintext");
    let id = h.pasv(40000);
    let req = h.send("LIST").request();
    h.answer(&req, Answer::Ready);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    let DataAction::Transfer { tls, .. } = d.data()[1] else { panic!("{:?}", d.outputs) };
    assert!(tls.required, "PROT P survives CCC");
    h.data(id, DataEvent::Finished { bytes: 1 });
    assert_eq!(h.send("PBSZ 0").codes(), vec![503], "the control connection is plaintext");
    let d = h.send("REIN");
    assert_eq!(d.codes(), vec![220]);
    assert!(!d.stop_tls(), "nothing to clear any more");
}

// ---- 5. REIN ------------------------------------------------------------------------

/// RFC 959 4.1.1 (REIN): back to the state after the greeting; TYPE, REST,
/// RNFR, data setup and EPSV ALL are reset; the reply is 220.
#[test]
fn rfc959_4_1_1_rein_resets_everything() {
    let mut h = logged_in(ServerConfig::default());
    h.send("TYPE I");
    h.send("EPSV ALL");
    let id = h.send("EPSV").data_id();
    h.data(id, DataEvent::Listening { addr: addr("127.0.0.1:40000") });
    h.send("REST 10");
    let d = h.send("REIN");
    assert_eq!(d.codes(), vec![220]);
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert!(!h.session.is_logged_in());
    assert_eq!(h.send("PWD").codes(), vec![530]);
    h.login();
    assert_eq!(h.send("PORT 127,0,0,1,4,1").codes(), vec![200], "EPSV ALL was reset");
    let req = h.send("RETR f").request();
    assert!(matches!(req.kind, RequestKind::Retrieve { offset: 0, ascii: true, .. }), "REST and TYPE reset");
}

/// RFC 959 4.1.1 and 5.4: REIN during a transfer lets it finish: 120 now,
/// then 226 and 220.
#[test]
fn rfc959_rein_during_transfer_waits() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    assert_eq!(h.send("REIN").codes(), vec![120]);
    assert!(h.session.is_logged_in(), "still logged in until the transfer ends");
    assert_eq!(h.data(id, DataEvent::Finished { bytes: 5 }).codes(), vec![226, 220]);
    assert!(!h.session.is_logged_in());
}

/// RFC 4217 section 13: REIN on an explicit TLS connection sends 220
/// protected, then clears the TLS session (StopTls), and PROT is reset.
#[test]
fn rfc4217_13_rein_clears_tls() {
    let (mut h, _) = Harness::new(tls_config());
    h.send("AUTH TLS");
    h.input(Input::TlsEstablished);
    h.send("PBSZ 0");
    h.send("PROT P");
    let d = h.send("REIN");
    assert_eq!(d.codes(), vec![220]);
    assert!(d.stop_tls());
    let transmit_then_stop: Vec<bool> = d
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit(_) => Some(true),
            Output::StopTls => Some(false),
            _ => None,
        })
        .collect();
    assert_eq!(transmit_then_stop, vec![true, false], "220 goes out before TLS is cleared");
    assert_eq!(h.send("PROT P").codes(), vec![503], "back to plaintext: PBSZ needs AUTH again");
}

// ---- 6. Everything else ------------------------------------------------------------

/// RFC 2389 section 3: FEAT lists only what is enabled.
#[test]
fn rfc2389_3_feat_lists_enabled_features() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    let lines = h.send("FEAT").lines();
    assert_eq!(lines.first().unwrap(), "211-Features:");
    assert_eq!(lines.last().unwrap(), "211 End");
    for f in [" EPSV", " EPRT", " MDTM", " SIZE", " REST STREAM", " UTF8", " TVFS", " PASV"] {
        assert!(lines.iter().any(|l| l == f), "{f} in {lines:?}");
    }
    // Issue 12: MFMT answered 502 through the real server; not advertised
    // until it works end to end (DESIGN: capabilities, not promises).
    assert!(!lines.iter().any(|l| l.contains("MFMT")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with(" MLST type*;size*;modify*;")));
    assert!(!lines.iter().any(|l| l.contains("AUTH")), "no TLS configured");
    let (mut h, _) = Harness::new(tls_config());
    let lines = h.send("FEAT").lines();
    for f in [" AUTH TLS", " PBSZ", " PROT"] {
        assert!(lines.iter().any(|l| l == f), "{f}");
    }
}

/// RFC 2389 4 / RFC 2640 3.2 / RFC 3659 7.9: OPTS UTF8 ON and OPTS MLST.
#[test]
fn rfc2389_4_opts() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    assert_eq!(h.send("OPTS UTF8 ON").codes(), vec![200]);
    assert_eq!(h.send("OPTS MLST type;size;bogus;").lines(), vec!["200 MLST OPTS type;size;"]);
    assert_eq!(h.send("OPTS FOO BAR").codes(), vec![501]);
}

/// RFC 959 4.1.3: SYST 215, NOOP 200, HELP 214, STAT 211, ALLO 202, SMNT 502.
#[test]
fn rfc959_4_1_3_service_commands() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("SYST").lines(), vec!["215 UNIX Type: L8"]);
    assert_eq!(h.send("NOOP").codes(), vec![200]);
    let help = h.send("HELP");
    assert_eq!(help.codes(), vec![214]);
    assert!(help.lines()[0].starts_with("214-"));
    assert_eq!(h.send("STAT").codes(), vec![211]);
    assert_eq!(h.send("ALLO 1000").codes(), vec![202]);
    assert_eq!(h.send("SMNT /mnt").codes(), vec![502]);
}

/// SECURITY.md S2: a SITE subcommand the session does not carry out goes
/// to the application only when enabled; else 500 (SITE itself is
/// implemented, so not 502). SITE EXEC is never run.
#[test]
fn sec_s2_site_to_caller_or_500() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("SITE EXEC /bin/sh").codes(), vec![500]);
    assert!(h.send("SITE EXEC /bin/sh").requests().is_empty());
    let mut h = logged_in(ServerConfig::default().site_enabled(true));
    let req = h.send("SITE CHMOD 644 f").request();
    let RequestKind::Site { command } = &req.kind else { panic!() };
    assert_eq!(command.as_bytes(), b"CHMOD 644 f");
    let d = h.answer(&req, Answer::SiteReply(ftp_proto::Reply::from_static(ftp_proto::ReplyCode::COMMAND_OK, "ok")));
    assert_eq!(d.lines(), vec!["200 ok"]);
}

/// RFC 959 4.1.1 (CWD, CDUP) and SECURITY.md P1: the session normalises the
/// virtual directory; `..` never climbs above `/`; PWD doubles quotes (RFC
/// 959 Appendix II).
#[test]
fn sec_p1_cwd_normalises_and_pwd_quotes() {
    let mut h = logged_in(ServerConfig::default());
    let req = h.send("CWD ../../etc/./x//y").request();
    let RequestKind::ChangeDir { path } = &req.kind else { panic!() };
    assert_eq!(path.as_bytes(), b"/etc/x/y");
    h.answer(&req, Answer::Done);
    let req = h.send("CDUP").request();
    let RequestKind::ChangeDir { path } = &req.kind else { panic!() };
    assert_eq!(path.as_bytes(), b"/etc/x");
    assert_eq!(h.answer(&req, Answer::Failed(StorageError::NotFound)).codes(), vec![550]);
    assert_eq!(h.session.cwd().as_bytes(), b"/etc/x/y", "a refused CWD leaves the directory");
    let req = h.send("XCWD /My \"Docs\"").request();
    h.answer(&req, Answer::Done);
    assert_eq!(h.send("PWD").lines(), vec![r#"257 "/My ""Docs""" is the current directory"#]);
}

/// RFC 959 4.1.3 (RNFR, RNTO): 350 then 250; RNTO without RNFR 503; any
/// other command between them cancels the rename.
#[test]
fn rfc959_4_1_3_rename_sequence() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("RNFR old name").codes(), vec![350]);
    let req = h.send("RNTO new name").request();
    let RequestKind::Rename { from, to } = &req.kind else { panic!() };
    assert_eq!((from.as_bytes(), to.as_bytes()), (&b"/old name"[..], &b"/new name"[..]));
    assert_eq!(h.answer(&req, Answer::Done).codes(), vec![250]);
    assert_eq!(h.send("RNTO x").codes(), vec![503]);
    h.send("RNFR a");
    h.send("NOOP");
    assert_eq!(h.send("RNTO b").codes(), vec![503], "NOOP cancelled the rename");
}

/// RFC 959 4.1.3 (DELE, MKD, RMD) and RFC 3659 (SIZE, MDTM), MFMT draft.
#[test]
fn rfc3659_file_commands() {
    let caps = ftp_session::server::StorageCapabilities::SET_MODIFIED;
    let mut h = logged_in(ServerConfig::default().storage_capabilities(caps));
    let req = h.send("MKD new \"dir\"").request();
    assert_eq!(h.answer(&req, Answer::Done).lines(), vec![r#"257 "/new ""dir""" created"#]);
    let req = h.send("RMD new").request();
    assert!(matches!(req.kind, RequestKind::RemoveDir { .. }));
    assert_eq!(h.answer(&req, Answer::Done).codes(), vec![250]);
    let req = h.send("SIZE f").request();
    assert_eq!(h.answer(&req, Answer::Size(73421)).lines(), vec!["213 73421"]);
    let req = h.send("MDTM f").request();
    let t = ftp_proto::Timestamp::parse(b"20240101120000").unwrap();
    assert_eq!(h.answer(&req, Answer::ModTime(t)).lines(), vec!["213 20240101120000"]);
    let req = h.send("MFMT 20240101120000 f").request();
    assert!(matches!(req.kind, RequestKind::SetModTime { .. }));
    assert_eq!(h.answer(&req, Answer::Done).lines(), vec!["213 Modify=20240101120000; /f"]);
    let req = h.send("MLST f").request();
    let fact = ftp_proto::Text::try_from("type=file;size=3; f").unwrap();
    assert_eq!(
        h.answer(&req, Answer::Lines(vec![fact])).lines(),
        vec!["250-Listing /f", " type=file;size=3; f", "250 End"]
    );
    // A wrong kind of answer is refused and the request stays outstanding.
    let req = h.send("SIZE f").request();
    assert_eq!(h.session.answer(h.now, req.id, Answer::Done), Err(Misuse::WrongAnswer));
    assert_eq!(h.answer(&req, Answer::Size(1)).codes(), vec![213]);
    assert_eq!(h.session.answer(h.now, req.id, Answer::Size(1)), Err(Misuse::UnknownRequest), "stale id");
}

/// DESIGN (capabilities, not promises): without the storage capability,
/// MFMT is neither in FEAT nor in HELP, and answers 502 without a request;
/// with it, it is in both. Verbs the session never serves are in neither.
#[test]
fn design_capabilities_decide_feat_help_and_502() {
    let caps = ftp_session::server::StorageCapabilities::SET_MODIFIED;
    for (config, served) in
        [(ServerConfig::default(), false), (ServerConfig::default().storage_capabilities(caps), true)]
    {
        let mut h = logged_in(config);
        let feat = h.send("FEAT").lines().join("\n");
        let help = h.send("HELP").lines().join("\n");
        assert_eq!(feat.contains(" MFMT"), served, "{feat}");
        assert_eq!(help.split_whitespace().any(|w| w == "MFMT"), served, "{help}");
        assert_eq!(help.split_whitespace().any(|w| w == "MFF"), served, "{help}");
        assert_eq!(feat.contains(" MFF Modify;\n"), served, "{feat}");
        for never in ["SMNT", "HASH", "MFCT", "ADAT", "CONF", "ENC", "MIC"] {
            assert!(!help.split_whitespace().any(|w| w == never), "{never} in {help}");
        }
        let d = h.send("MFMT 20240101120000 f");
        if served {
            assert!(matches!(d.request().kind, RequestKind::SetModTime { .. }));
        } else {
            assert_eq!(d.codes(), vec![502]);
            assert!(d.requests().is_empty(), "no request for a verb that cannot be served");
        }
    }
}

/// draft-somers-ftp-mfxx section 5 (MFF): the facts the storage can set,
/// in FEAT and in one request; 213 lists them as set. A fact it cannot set
/// is 504 naming it, a bad value or a repeated fact 501, and nothing is
/// asked of the storage then.
#[test]
fn mfxx_5_mff_sets_the_facts_the_storage_can() {
    use ftp_session::server::StorageCapabilities as Caps;
    let mut h = logged_in(ServerConfig::default().storage_capabilities(Caps::SET_MODIFIED.with(Caps::SET_MODE)));
    let feat = h.send("FEAT").lines().join("\n");
    assert!(feat.contains(" MFF Modify;UNIX.mode;\n"), "{feat}");
    let req = h.send("MFF modify=20240102030405;UNIX.mode=0640; dir/f").request();
    let RequestKind::SetFacts { path, mode, modify } = &req.kind else { panic!("{:?}", req.kind) };
    assert_eq!((path.as_bytes(), *mode), (&b"/dir/f"[..], Some(0o640)));
    assert_eq!(modify.map(|t| t.to_string()), Some("20240102030405".into()));
    assert_eq!(h.answer(&req, Answer::Done).lines(), vec!["213 Modify=20240102030405;UNIX.mode=0640; /dir/f"]);
    let req = h.send("MFF UNIX.mode=755; f").request();
    assert!(matches!(req.kind, RequestKind::SetFacts { mode: Some(0o755), modify: None, .. }));
    assert_eq!(h.answer(&req, Answer::Failed(StorageError::NotFound)).codes(), vec![550]);
    for (line, code) in [
        ("MFF Create=20240102030405; f", 504),
        ("MFF UNIX.owner=0; f", 504),
        ("MFF modify=20240230000000; f", 501),
        ("MFF UNIX.mode=0999; f", 501),
        ("MFF modify=20240102030405;Modify=20240102030405; f", 501),
    ] {
        let d = h.send(line);
        assert_eq!(d.codes(), vec![code], "{line}");
        assert!(d.requests().is_empty(), "{line}: nothing asked of the storage");
    }
    let only_times = Caps::SET_MODIFIED;
    let mut h = logged_in(ServerConfig::default().storage_capabilities(only_times));
    let d = h.send("MFF UNIX.mode=0644; f");
    assert_eq!(d.codes(), vec![504], "a storage that cannot change modes");
    assert!(d.lines()[0].contains("UNIX.mode"), "{:?}", d.lines());
}

/// The verb table's `writes` and `RequestKind::is_write` agree, so a
/// driver that refuses writes by the request refuses exactly the verbs the
/// table marks (a read-only user may do everything else).
#[test]
fn verb_table_writes_agree_with_request_kinds() {
    use ftp_session::server::StorageCapabilities as Caps;
    let caps = Caps::SET_MODIFIED.with(Caps::SET_MODE);
    let mut h = logged_in(ServerConfig::default().storage_capabilities(caps));
    for line in [
        "CWD d",
        "CDUP",
        "MKD d",
        "RMD d",
        "DELE f",
        "SIZE f",
        "MDTM f",
        "MLST f",
        "STAT f",
        "MFMT 20240101000000 f",
        "MFF UNIX.mode=0644; f",
    ] {
        let verb = line.split(' ').next().unwrap();
        let kind = ftp_proto::CommandKind::ALL.iter().find(|k| k.name() == verb).unwrap();
        let req = h.send(line).request();
        assert_eq!(req.kind.is_write(), kind.writes(), "{line}");
        h.answer(&req, Answer::Failed(StorageError::NotFound));
    }
    h.send("RNFR a");
    let req = h.send("RNTO b").request();
    assert!(req.kind.is_write() && ftp_proto::CommandKind::ALL.iter().any(|k| k.name() == "RNTO" && k.writes()));
}

/// RFC 959 4.1.3 SITE, proftpd's and wu-ftpd's subcommands: SITE HELP
/// lists what works with the storage; CHMOD and UTIME (both of proftpd's
/// forms) become storage requests, 200 when done; bad arguments 501, an
/// unknown subcommand 500; SITE IDLE bounds the idle timeout and it takes
/// effect.
#[test]
fn rfc959_4_1_3_site_subcommands() {
    use ftp_session::server::StorageCapabilities as Caps;
    let config = ServerConfig::default()
        .storage_capabilities(Caps::SET_MODIFIED.with(Caps::SET_MODE))
        .idle_timeout(Duration::from_secs(300));
    let mut h = logged_in(config);
    let help = h.send("SITE HELP").lines();
    assert_eq!(help[0], "214-The following SITE commands are recognized:");
    assert_eq!(help[1].trim(), "CHMOD HELP IDLE UTIME");
    assert_eq!(h.send("SITE HELP chmod").lines(), vec!["214 Syntax: SITE CHMOD <octal mode> <path>"]);

    let req = h.send("SITE CHMOD 640 dir/a file").request();
    let RequestKind::SetFacts { path, mode, modify } = &req.kind else { panic!("{:?}", req.kind) };
    assert_eq!((path.as_bytes(), *mode, *modify), (&b"/dir/a file"[..], Some(0o640), None));
    assert_eq!(h.answer(&req, Answer::Done).lines(), vec!["200 SITE CHMOD command successful."]);
    let req = h.send("SITE CHMOD 755 missing").request();
    assert_eq!(h.answer(&req, Answer::Failed(StorageError::NotFound)).codes(), vec![550]);

    let t = ftp_proto::Timestamp::parse(b"20240102030405").unwrap();
    for line in ["SITE UTIME 20240102030405 f", "SITE utime f 20200101000000 20240102030405 20200101000000 UTC"] {
        let req = h.send(line).request();
        let RequestKind::SetFacts { path, modify, .. } = &req.kind else { panic!("{line}: {:?}", req.kind) };
        assert_eq!((path.as_bytes(), *modify), (&b"/f"[..], Some(t)), "{line}");
        assert_eq!(h.answer(&req, Answer::Done).codes(), vec![200], "{line}");
    }
    for (line, code) in [
        ("SITE CHMOD 999 f", 501),
        ("SITE CHMOD 644", 501),
        ("SITE UTIME 2024 f", 501),
        ("SITE UTIME 20240102030405", 501),
        ("SITE", 501),
        ("SITE NEWER 2024", 500),
        ("SITE UMASK 022", 500),
        ("SITE IDLE 10", 501),
        ("SITE IDLE 301", 501),
        ("SITE IDLE soon", 501),
    ] {
        let d = h.send(line);
        assert_eq!(d.codes(), vec![code], "{line}");
        assert!(d.requests().is_empty(), "{line}");
    }
    assert_eq!(h.send("SITE IDLE").lines(), vec!["200 Current idle time limit is 300 seconds; max 300."]);
    assert_eq!(h.send("SITE IDLE 60").lines(), vec!["200 Maximum idle time set to 60 seconds."]);
    let d = h.advance(Duration::from_secs(61));
    assert!(d.closed(), "closed after the idle time SITE IDLE set: {:?}", d.lines());

    // Without capabilities, only HELP and IDLE.
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("SITE HELP").lines()[1].trim(), "HELP IDLE");
    assert_eq!(h.send("SITE UTIME 20240102030405 f").codes(), vec![500]);
}

/// RFC 959 4.1.3 NLST and SECURITY.md P3: a last component with
/// wildcards lists its directory with a pattern, named with the directory
/// as given (`mget dir/*.txt`); MLSD, STAT, SIZE, MDTM and RETR never glob.
#[test]
fn sec_p3_nlst_and_list_glob_the_last_component_only() {
    let mut h = logged_in(ServerConfig::default());
    for (line, dir, pattern, prefix, all) in [
        ("NLST dir/*.txt", "/dir", "*.txt", "dir/", false),
        ("NLST *.txt", "/", "*.txt", "", false),
        ("LIST -la /pub/[ab]?.c", "/pub", "[ab]?.c", "/pub/", true),
    ] {
        h.pasv(40000);
        let req = h.send(line).request();
        let RequestKind::List { path, all: a, matching, .. } = &req.kind else { panic!("{line}: {:?}", req.kind) };
        let m = matching.as_ref().unwrap_or_else(|| panic!("{line}: no pattern"));
        assert_eq!(path.as_bytes(), dir.as_bytes(), "{line}");
        assert_eq!((m.glob.as_bytes(), &m.prefix[..], *a), (pattern.as_bytes(), prefix.as_bytes(), all), "{line}");
        h.answer(&req, Answer::Failed(StorageError::NotFound));
    }
    for line in ["MLSD *.txt", "NLST */x", "STAT *.txt"] {
        if !line.starts_with("STAT") {
            h.pasv(40000);
        }
        let req = h.send(line).request();
        let RequestKind::List { matching, .. } = &req.kind else { panic!("{line}: {:?}", req.kind) };
        assert!(matching.is_none(), "{line} globbed");
        h.answer(&req, Answer::Failed(StorageError::NotFound));
    }
    let req = h.send("SIZE *.txt").request();
    let RequestKind::Size { path } = &req.kind else { panic!() };
    assert_eq!(path.as_bytes(), b"/*.txt", "SIZE takes the name as it is");
}

/// RFC 959 4.1.3 NLST: `Matching::apply` keeps the matching entries, in
/// order, named with the prefix.
#[test]
fn rfc959_4_1_3_matching_keeps_and_renames() {
    use ftp_proto::listing::{Entry, EntryKind};
    use ftp_session::server::Matching;
    let entries =
        ["a.txt", "b.log", ".hidden.txt", "c.txt"].map(|n| Entry::new(bytes::Bytes::from(n), EntryKind::File)).to_vec();
    let m = Matching { glob: ftp_proto::glob::Glob::new("*.txt").unwrap(), prefix: bytes::Bytes::from("d/") };
    let names: Vec<Vec<u8>> = m.apply(entries).iter().map(|e| e.name().to_vec()).collect();
    assert_eq!(names, vec![b"d/a.txt".to_vec(), b"d/c.txt".to_vec()]);
}

/// RFC 3659 7.9: OPTS MLST chooses among the offered facts, ignores
/// unknown ones, and refuses (501, nothing changed) a list that is not
/// fact names ended by `;`.
#[test]
fn rfc3659_7_9_opts_mlst_grammar() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("OPTS MLST type;size;x.unknown;").lines(), vec!["200 MLST OPTS type;size;"]);
    assert_eq!(h.send("OPTS MLST size;modify").lines(), vec!["200 MLST OPTS size;modify;"]);
    for bad in ["OPTS MLST type;;size;", "OPTS MLST type size;", "OPTS MLST ;", "OPTS MLST ty=pe;"] {
        assert_eq!(h.send(bad).codes(), vec![501], "{bad}");
    }
    assert_eq!(h.send("OPTS MLST").lines(), vec!["200 MLST OPTS "], "no facts at all");
}

/// RFC 7151 section 3: HOST before login 220; after USER 503.
#[test]
fn rfc7151_3_host_before_login_only() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    assert_eq!(h.send("HOST ftp.example.com").codes(), vec![220]);
    h.send("USER alice");
    assert_eq!(h.send("HOST ftp.example.com").codes(), vec![503]);
}

/// RFC 959 4.1.1 (QUIT): 221 then close.
#[test]
fn rfc959_4_1_1_quit() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    let d = h.send("QUIT");
    assert_eq!(d.lines(), vec!["221 Goodbye."]);
    assert!(d.closed());
    assert!(d.events().contains(&Event::Closed(CloseReason::Quit)));
}

/// RFC 959 4.2.1 / SECURITY.md F1, S4: unknown verbs 502, bad arguments 501,
/// overlong lines 500 without dropping the connection; three protocol
/// errors (input that is not FTP) in a row give 421 and close.
#[test]
fn sec_s4_errors_and_error_budget() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("XYZZY").codes(), vec![502]);
    assert_eq!(h.send("NOOP").codes(), vec![200]);
    assert_eq!(h.send("PORT 1,2,3").codes(), vec![501]);
    assert_eq!(h.send("NOOP").codes(), vec![200]);
    let long = format!("RETR {}", "a".repeat(5000));
    assert_eq!(h.send(&long).codes(), vec![500]);
    assert_eq!(h.send("NOOP").codes(), vec![200], "still connected");
    assert_eq!(h.send("@@@@").codes(), vec![500]);
    assert_eq!(h.bytes(b"\x01\x02\x03\r\n").codes(), vec![500]);
    let d = h.send("{}{}");
    assert_eq!(d.codes(), vec![500, 421]);
    assert!(d.events().contains(&Event::Closed(CloseReason::TooManyErrors)));
}

/// DESIGN (defaults) / SECURITY.md S4: a well-formed command the server
/// refuses (502, 504, 503, 530, 550) is not a protocol error, so clients
/// that probe features in a row (issue 12: four refusals gave 421) keep
/// their session.
#[test]
fn sec_s4_refusals_do_not_count_as_errors() {
    let mut h = logged_in(ServerConfig::default());
    for _ in 0..4 {
        assert_eq!(h.send("XCRC f").codes(), vec![502]);
        assert_eq!(h.send("MODE B").codes(), vec![504]);
        assert_eq!(h.send("RNTO x").codes(), vec![503]);
        assert_eq!(h.send("SITE CHMOD 644 f").codes(), vec![500], "no SET_MODE: unknown here");
        assert_eq!(h.send("SITE IDLE 1").codes(), vec![501]);
        assert_eq!(h.send("STRU R").codes(), vec![504]);
    }
    let d = h.send("NOOP");
    assert_eq!(d.codes(), vec![200], "still connected after twenty refusals");
    assert!(!d.closed());
    let (mut h, _) = Harness::new(ServerConfig::default());
    for _ in 0..5 {
        assert_eq!(h.send("PWD").codes(), vec![530], "before login");
    }
    assert_eq!(h.send("NOOP").codes(), vec![200]);
}

/// RFC 959 5.4 / SECURITY.md F3: pipelined commands are answered in order,
/// one final reply each.
#[test]
fn sec_f3_pipelined_commands_in_order() {
    let mut h = logged_in(ServerConfig::default());
    let d = h.bytes(b"NOOP\r\nPWD\r\nTYPE I\r\nSIZE f\r\nSYST\r\n");
    assert_eq!(d.codes(), vec![200, 257, 200], "SIZE waits for its answer");
    let req = d.request();
    assert_eq!(h.answer(&req, Answer::Size(5)).codes(), vec![213, 215]);
}

// ---- 7. Time and capacity -------------------------------------------------------------

/// SECURITY.md C1: the idle timeout gives 421 and close.
#[test]
fn sec_c1_idle_timeout() {
    let mut h = logged_in(ServerConfig::default().idle_timeout(Duration::from_secs(300)));
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(300)));
    assert!(h.advance(Duration::from_secs(299)).outputs.is_empty());
    let d = h.advance(Duration::from_secs(1));
    assert_eq!(d.codes(), vec![421]);
    assert!(d.events().contains(&Event::Closed(CloseReason::IdleTimeout)));
}

/// SECURITY.md C1: not logged in within the login timeout: 421.
#[test]
fn sec_c1_login_timeout() {
    let (mut h, _) = Harness::new(ServerConfig::default().login_timeout(Duration::from_secs(120)));
    h.send("USER alice");
    let d = h.advance(Duration::from_secs(120));
    assert_eq!(d.codes(), vec![421]);
    assert!(d.events().contains(&Event::Closed(CloseReason::LoginTimeout)));
}

/// RFC 959 4.1.3 ALLO: with a storage that knows its free space, the size
/// is checked against the space free in the working directory (200 when it
/// fits, 452 when it does not); without one 202; before login 530.
#[test]
fn rfc959_4_1_3_allo_checks_free_space() {
    use ftp_session::server::StorageCapabilities as Caps;
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("ALLO 10").codes(), vec![202], "no capability");
    let (mut h, _) = Harness::new(ServerConfig::default().storage_capabilities(Caps::FREE_SPACE));
    assert_eq!(h.send("ALLO 10").codes(), vec![530], "not logged in: the storage is not asked");
    h.login();
    let req = h.send("ALLO 100").request();
    assert!(matches!(&req.kind, RequestKind::FreeSpace { path } if path.as_bytes() == b"/"));
    let d = h.answer(&req, Answer::Size(100));
    assert_eq!(d.lines(), vec!["200 ALLO OK: 100 bytes free."]);
    let req = h.send("ALLO 101 R 10").request();
    let d = h.answer(&req, Answer::Size(100));
    assert_eq!(d.lines(), vec!["452 Insufficient storage space: 101 bytes asked, 100 free."]);
    assert_eq!(h.send("NOOP").codes(), vec![200], "the session goes on");
}

/// SECURITY.md C1: a command line trickled one byte a second never resets
/// the idle timer, and the line timer ends it 15 s (the default) after its
/// first byte: 421, closed with `LineTimeout`.
#[test]
fn sec_c1_slow_loris_line_is_cut_by_the_line_timeout() {
    let mut h = logged_in(ServerConfig::default());
    assert!(h.bytes(b"N").outputs.is_empty());
    assert_eq!(h.session.poll_timeout(), Some(h.now + ftp_session::server::DEFAULT_LINE_TIMEOUT));
    for b in b"OOP AAAAAAAAAA" {
        assert!(h.advance(Duration::from_secs(1)).outputs.is_empty());
        assert!(h.bytes(&[*b]).outputs.is_empty(), "a byte does not push the deadline back");
    }
    let d = h.advance(Duration::from_secs(1));
    assert_eq!(d.codes(), vec![421], "{:?}", d.lines());
    assert!(d.events().contains(&Event::Closed(CloseReason::LineTimeout)));
}

/// SECURITY.md C1: the line timer counts per line. Lines that each end in
/// time keep the session, even when every write also begins the next line;
/// a complete line stops the timer; `None` turns it off.
#[test]
fn sec_c1_line_timeout_counts_each_line_from_its_first_byte() {
    let config = ServerConfig::default().line_timeout(Some(Duration::from_secs(10)));
    let mut h = logged_in(config);
    assert!(h.bytes(b"NO").outputs.is_empty());
    for _ in 0..5 {
        assert!(h.advance(Duration::from_secs(8)).outputs.is_empty());
        assert_eq!(h.bytes(b"OP\r\nNO").codes(), vec![200]);
    }
    assert_eq!(h.bytes(b"OP\r\n").codes(), vec![200]);
    // No partial line: only the idle timer is armed.
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(300)));

    let mut h = logged_in(ServerConfig::default().line_timeout(None));
    assert!(h.bytes(b"NOOP").outputs.is_empty());
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(300)));
    let d = h.advance(Duration::from_secs(300));
    assert!(d.events().contains(&Event::Closed(CloseReason::IdleTimeout)), "{:?}", d.lines());
}

/// SECURITY.md C1: before login the line timer applies too.
#[test]
fn sec_c1_line_timeout_before_login() {
    let (mut h, _) = Harness::new(ServerConfig::default());
    assert!(h.bytes(b"USER ali").outputs.is_empty());
    let d = h.advance(ftp_session::server::DEFAULT_LINE_TIMEOUT);
    assert_eq!(d.codes(), vec![421]);
    assert!(d.events().contains(&Event::Closed(CloseReason::LineTimeout)));
}

/// SECURITY.md C2: a transfer without progress for the stall timeout: 426.
#[test]
fn sec_c2_data_stall_timeout() {
    let mut h = logged_in(ServerConfig::default().data_stall_timeout(Duration::from_secs(300)));
    let id = h.pasv(40000);
    let req = h.send("STOR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    h.now += Duration::from_secs(200);
    h.data(id, DataEvent::Progress { bytes: 100 });
    assert!(h.advance(Duration::from_secs(299)).outputs.is_empty(), "progress moved the deadline");
    let d = h.advance(Duration::from_secs(1));
    assert_eq!(d.codes(), vec![426]);
    assert!(d.events().iter().any(|e| matches!(e, Event::UploadIncomplete { bytes: 100, .. })));
}

/// SECURITY.md C5: shutdown sends 421 and closes.
#[test]
fn sec_c5_shutdown() {
    let mut h = logged_in(ServerConfig::default());
    let d = h.input(Input::Shutdown);
    assert_eq!(d.codes(), vec![421]);
    assert!(d.closed());
}

/// SECURITY.md C5: a graceful shutdown of an idle session is 421 and close
/// at once.
#[test]
fn sec_c5_graceful_shutdown_of_idle_session() {
    let mut h = logged_in(ServerConfig::default());
    h.session.shut_down(h.now).unwrap();
    let d = h.drain();
    assert_eq!(d.codes(), vec![421]);
    assert!(d.closed());
    assert!(d.events().contains(&Event::Closed(CloseReason::Shutdown)));
    assert_eq!(h.session.shut_down(h.now), Err(Misuse::Closed));
}

/// SECURITY.md C5: a graceful shutdown lets a running transfer finish (its
/// 226 goes out), then 421 and close; a command sent meanwhile is not run.
#[test]
fn sec_c5_graceful_shutdown_waits_for_the_transfer() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    h.session.shut_down(h.now).unwrap();
    let d = h.drain();
    assert!(d.outputs.is_empty(), "the transfer runs on: {:?}", d.outputs);
    assert!(h.send("NOOP").lines().is_empty());
    let d = h.data(id, DataEvent::Finished { bytes: 10 });
    assert_eq!(d.codes(), vec![226, 421], "the transfer's reply, then 421; never the NOOP's 200");
    assert!(d.closed());
}

/// SECURITY.md C5 and X3: a shutdown that cuts an upload short answers 421,
/// never 226, and reports the upload incomplete.
#[test]
fn sec_c5_shutdown_cuts_an_upload_without_226() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("STOR f").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    h.data(id, DataEvent::Progress { bytes: 4096 });
    h.session.shut_down(h.now).unwrap();
    assert!(h.drain().outputs.is_empty());
    let d = h.input(Input::Shutdown);
    assert_eq!(d.codes(), vec![421]);
    assert!(d.data().contains(&DataAction::Close { id }), "the data connection is closed");
    assert!(d.events().iter().any(|e| matches!(e, Event::UploadIncomplete { bytes: 4096, .. })));
    assert!(d.closed());
}

/// SECURITY.md C5: a transfer still waiting for its data connection is not
/// "running": the shutdown closes at once.
#[test]
fn sec_c5_graceful_shutdown_does_not_wait_for_a_data_connection() {
    let mut h = logged_in(ServerConfig::default());
    h.pasv(40000);
    let req = h.send("RETR f").request();
    assert_eq!(h.answer(&req, Answer::Ready).codes(), vec![150]);
    h.session.shut_down(h.now).unwrap();
    let d = h.drain();
    assert_eq!(d.codes(), vec![421]);
    assert!(d.closed());
}

/// SECURITY.md C4: while a request is outstanding the session reads ahead a
/// bounded number of commands, then stops reading.
#[test]
fn sec_c4_bounded_read_ahead() {
    let mut h = logged_in(ServerConfig::default().max_pending_commands(4));
    let req = h.send("SIZE f").request();
    let d = h.bytes(&b"NOOP\r\n".repeat(10));
    assert!(d.lines().is_empty());
    let d = h.answer(&req, Answer::Size(1));
    assert_eq!(d.codes().len(), 11, "213 and all ten NOOPs, in order");
}

/// The data-connection protection level is carried on every transfer
/// (RFC 4217 9): clear by default.
#[test]
fn rfc4217_9_clear_data_by_default() {
    let mut h = logged_in(ServerConfig::default());
    let id = h.pasv(40000);
    let req = h.send("RETR f").request();
    h.answer(&req, Answer::Ready);
    let d = h.data(id, DataEvent::Incoming { peer: addr("127.0.0.1:7000") });
    let DataAction::Transfer { tls, .. } = d.data()[1] else { panic!() };
    assert!(!tls.required);
    let _ = ProtectionLevel::Clear;
}

/// Paths are bounded: a working directory can never grow past
/// `MAX_VIRTUAL_PATH`, so a 257 reply always fits the 4096-byte line limit.
#[test]
fn long_paths_are_refused_before_the_application() {
    let mut h = logged_in(ServerConfig::default());
    let long = "d".repeat(ftp_session::server::MAX_VIRTUAL_PATH);
    let d = h.send(&format!("CWD {long}"));
    assert_eq!(d.codes(), vec![553]);
    assert!(d.requests().is_empty());
    let req = h.send(&format!("CWD {}", "d".repeat(1000))).request();
    h.answer(&req, Answer::Done);
    assert_eq!(h.send(&format!("MKD {}", "e".repeat(100))).codes(), vec![553]);
    assert!(h.send("PWD").lines()[0].len() < 1100);
}

/// RFC 2428 section 4 / SECURITY.md D7: `EPSV ALL` drops a PORT setup made before it.
#[test]
fn sec_d7_epsv_all_drops_earlier_port() {
    let mut h = logged_in(ServerConfig::default());
    assert_eq!(h.send("PORT 127,0,0,1,4,1").codes(), vec![200]);
    let d = h.send("EPSV ALL");
    assert_eq!(d.codes(), vec![200]);
    assert!(matches!(d.data()[..], [DataAction::Close { .. }]));
    assert_eq!(h.send("RETR f").codes(), vec![425], "no data setup is left");
}

/// RFC 3659 7.2 and 7.9: the session writes MLST fact lines from entries,
/// with the facts `OPTS MLST` chose (UNIX.mode among the defaults, as
/// ProFTPD offers it); `STAT path` gets `ls -l` lines.
#[test]
fn rfc3659_7_mlst_and_stat_from_entries() {
    use bytes::Bytes;
    use ftp_proto::listing::{Entry, EntryKind, ListingTime, Precision};
    let now = ftp_proto::Timestamp::parse(b"20240601120000").unwrap();
    let entry = Entry::new(Bytes::from_static(b"report 1.pdf"), EntryKind::File)
        .with_size(1234)
        .with_modified(ListingTime::utc(ftp_proto::Timestamp::parse(b"20240501093000").unwrap(), Precision::Second))
        .with_mode(0o644);
    let mut h = logged_in(ServerConfig::default());
    let req = h.send("MLST report 1.pdf").request();
    let d = h.answer(&req, Answer::Entries { entries: vec![entry.clone()], now });
    assert_eq!(
        d.lines(),
        vec![
            "250-Listing /report 1.pdf",
            " type=file;size=1234;modify=20240501093000;UNIX.mode=0644; report 1.pdf",
            "250 End"
        ]
    );
    assert_eq!(h.send("OPTS MLST size;Type;bogus;").lines(), vec!["200 MLST OPTS type;size;"]);
    let req = h.send("MLST report 1.pdf").request();
    let d = h.answer(&req, Answer::Entries { entries: vec![entry.clone()], now });
    assert_eq!(d.lines()[1], " type=file;size=1234; report 1.pdf");
    let req = h.send("STAT /").request();
    let d = h.answer(&req, Answer::Entries { entries: vec![entry], now });
    let lines = d.lines();
    assert_eq!(lines[0], "213-Status of /");
    assert!(lines[1].starts_with("-rw-r--r--") && lines[1].ends_with(" May 01 09:30 report 1.pdf"), "{lines:?}");
    assert_eq!(lines[2], "213 End");
}

/// SECURITY.md C2 (issue 13): the stall timeout defaults to 300 s, is
/// bounded by a shorter idle timeout unless set explicitly (in either
/// order), and a silent transfer under a 2 s idle timeout gets 426 after
/// 2 s, not 300 s.
#[test]
fn sec_c2_stall_timeout_is_bounded_by_the_idle_timeout() {
    use ftp_session::server::DEFAULT_DATA_STALL_TIMEOUT;
    let secs = Duration::from_secs;
    assert_eq!(DEFAULT_DATA_STALL_TIMEOUT, secs(300));
    assert_eq!(ServerConfig::default().data_stall_timeout_in_force(), secs(300));
    assert_eq!(ServerConfig::default().idle_timeout(secs(2)).data_stall_timeout_in_force(), secs(2));
    assert_eq!(ServerConfig::default().idle_timeout(secs(900)).data_stall_timeout_in_force(), secs(300));
    let explicit = |c: ServerConfig| c.data_stall_timeout_in_force();
    assert_eq!(explicit(ServerConfig::default().data_stall_timeout(secs(10)).idle_timeout(secs(2))), secs(10));
    assert_eq!(explicit(ServerConfig::default().idle_timeout(secs(2)).data_stall_timeout(secs(10))), secs(10));

    let mut h = logged_in(ServerConfig::default().idle_timeout(secs(2)));
    let id = h.pasv(40000);
    let req = h.send("STOR quiet").request();
    h.answer(&req, Answer::Ready);
    h.data(id, DataEvent::Incoming { peer: addr(PEER) });
    assert!(h.advance(Duration::from_millis(1900)).codes().is_empty());
    let d = h.advance(Duration::from_millis(200));
    assert_eq!(d.codes(), vec![426], "{:?}", d.lines());
}

/// SECURITY.md C2, D6 (issue 13): a passive setup left unused while the
/// session is idle for the data connect timeout is closed without a reply
/// (the driver frees the port); commands keep it; a transfer command
/// afterwards gets 425.
#[test]
fn sec_c2_d6_idle_passive_setup_is_reclaimed() {
    let mut h = logged_in(ServerConfig::default().data_connect_timeout(Duration::from_secs(60)));
    let id = h.pasv(40000);
    assert!(h.advance(Duration::from_secs(59)).data().is_empty());
    assert_eq!(h.send("NOOP").codes(), vec![200], "a command restarts the clock");
    assert!(h.advance(Duration::from_secs(59)).data().is_empty());
    let d = h.advance(Duration::from_secs(2));
    assert!(d.codes().is_empty(), "no reply: {:?}", d.lines());
    assert_eq!(d.data(), vec![DataAction::Close { id }]);
    assert!(!d.closed());
    assert_eq!(h.send("RETR f").codes(), vec![425]);
}
