//! Every check can fail: each test puts a fault-injecting proxy
//! (`support/proxy.rs`) in front of our server, so that the pair breaks
//! exactly the rule the check is about, runs that one check, and expects
//! `fail`. Each test names the rule (RFC section) it breaks. The writable
//! directory must be left as found even when the check fails.
//!
//! `through_the_proxy_without_faults_every_check_passes` shows that the
//! proxy alone breaks nothing, so each failure below comes from its fault.

mod support;

use std::time::Duration;

use ftp_conformance::{Options, Outcome, Target};
use support::proxy::{Action, Fault};
use support::{DIR, PASSWORD, USER};

fn options(ids: &[&str]) -> Options {
    Options::default().only(ids.iter().copied()).timeout(Duration::from_secs(2)).idle_limit(support::IDLE * 2)
}

async fn run_through(fault: Fault, ids: &[&str]) -> ftp_conformance::Report {
    let root = tempfile::tempdir().unwrap();
    let server = support::start_server(root.path(), false);
    let proxy = support::proxy::start(server, fault);
    let before = support::listing(&root.path().join(DIR));
    let target = Target::new(proxy, USER, PASSWORD, Some(DIR)).with_tls(false, true);
    let report = ftp_conformance::run(&target, &options(ids)).await;
    // Cleanup runs through the (faulty) proxy; give the server a moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        support::listing(&root.path().join(DIR)),
        before,
        "the writable directory was not left as found\n{}",
        report.render_text()
    );
    report
}

async fn expect_fail(id: &str, fault: Fault) {
    assert!(ftp_conformance::catalogue().iter().any(|c| c.id == id), "no check {id}");
    let report = run_through(fault, &[id]).await;
    let r = report.get(id).unwrap_or_else(|| panic!("{id} did not run"));
    assert!(
        matches!(r.outcome, Outcome::Fail(_)),
        "{id}: expected fail, got {:?}\n{}",
        r.outcome,
        r.transcript.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_proxy_without_faults_every_check_passes() {
    let report = run_through(Fault::none(), &[]).await;
    for r in &report.results {
        assert_eq!(r.outcome, Outcome::Pass, "{}\n{}", r.id, report.render_text());
    }
    assert_eq!(report.results.len(), ftp_conformance::catalogue().len());
}

/// Every check has a test below.
#[test]
fn every_check_has_a_fault_test() {
    let source = include_str!("faults.rs");
    for c in ftp_conformance::catalogue() {
        assert!(source.contains(&format!("\"{}\"", c.id)), "no fault test for {}", c.id);
    }
}

macro_rules! fails {
    ($(#[$doc:meta])* $name:ident, $id:literal, $fault:expr) => {
        $(#[$doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            expect_fail($id, $fault).await;
        }
    };
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if !from.is_empty() && hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

// ---- greeting and login (RFC 959 4.1.1, 5.4) ----

fails!(/** RFC 959 5.4: the greeting is 220. */ greeting_200, "rfc959-5.4-greeting-220", Fault::reply_to("<greeting>", "200 hello"));
fails!(/** RFC 959 5.4: USER → 331. */ user_200, "rfc959-5.4-user-reply", Fault::reply_to("USER", "200 ok"));
fails!(/** RFC 959 5.4: PASS without USER → 503. */ pass_without_user_530, "rfc959-5.4-pass-without-user", Fault::reply_code("PASS", "503", "530 Not logged in."));
fails!(/** RFC 959 5.4: valid PASS → 230. */ login_refused, "rfc959-5.4-login", Fault::reply_code("PASS", "230", "530 Login incorrect."));
fails!(/** RFC 959 5.4: a wrong PASS → 530. */ bad_password_accepted, "rfc959-5.4-bad-password-530", Fault::reply_code("PASS", "530", "230 Welcome."));
fails!(/** RFC 959 5.4: CWD before login → 530. */ cwd_before_login, "rfc959-5.4-not-logged-in-530", Fault::reply_code("CWD", "530", "250 ok"));
fails!(/** RFC 959 4.1.1: QUIT closes the connection. */ quit_stays_open, "rfc959-4.1.1-quit-221", Fault::keep_open());
fails!(/** RFC 959 4.1.1: REIN ends the login. */ rein_keeps_login, "rfc959-4.1.1-rein-resets-login", Fault::answer("REIN", "220 Ready."));
fails!(
    /** RFC 959 4.1.1: REIN resets the PASV setup. */
    rein_keeps_pasv,
    "rfc959-4.1.1-rein-resets-data",
    Fault::command(|st, verb, line| {
        if verb == "REIN" {
            st.flags.insert("rein");
            return Action::Answer(b"220 Ready.\r\n".to_vec());
        }
        if st.flags.contains("rein") {
            match verb {
                "USER" => return Action::Answer(b"331 Password.\r\n".to_vec()),
                "PASS" => return Action::Answer(b"230 Logged in.\r\n".to_vec()),
                "CWD" => return Action::Answer(b"250 ok\r\n".to_vec()),
                _ => {}
            }
        }
        Action::Forward(line.to_vec())
    })
);

// ---- reply syntax and basic commands (RFC 959 4.2, 5.1, 5.3, 5.4) ----

fails!(/** RFC 959 4.2: a code is followed by a space. */ code_without_space, "rfc959-4.2-reply-code-syntax", Fault::reply_to("SYST", "215"));
fails!(/** RFC 959 4.2: middle lines beginning with a code must be padded. */ unpadded_middle_line, "rfc959-4.2-multiline-framing", Fault::reply_to("HELP", "214-Help\r\n200 looks like a reply\r\n214 End"));
fails!(/** RFC 959 4.2: lines end with CRLF. */ bare_lf_reply, "rfc959-4.2-crlf", Fault::reply(|v, r| Some(if v == "NOOP" { b"200 ok\n".to_vec() } else { r.to_vec() })));
fails!(/** RFC 959 5.4: NOOP → 200. */ noop_500, "rfc959-5.4-noop-200", Fault::reply_to("NOOP", "500 What?"));
fails!(/** RFC 959 5.4: unknown commands → 500. */ unknown_accepted, "rfc959-5.4-unknown-command-500", Fault::reply_to("XYZZY", "200 ok"));
fails!(
    /** RFC 959 5.3: verbs are case-insensitive. */
    lowercase_refused,
    "rfc959-5.3-case-insensitive",
    Fault::command(|_, _, line| {
        if line.first().is_some_and(u8::is_ascii_lowercase) {
            Action::Answer(b"500 Unknown command.\r\n".to_vec())
        } else {
            Action::Forward(line.to_vec())
        }
    })
);
fails!(/** RFC 959 5.1: MODE S is required. */ mode_s_refused, "rfc959-5.1-minimum-parameters", Fault::reply_to("MODE", "504 No."));
fails!(/** RFC 959 5.4: SYST → 215. */ syst_200, "rfc959-4.1.3-syst-215", Fault::reply_to("SYST", "200 UNIX"));
fails!(/** RFC 959 5.4: HELP → 211/214. */ help_200, "rfc959-4.1.3-help", Fault::reply_to("HELP", "200 no help"));
fails!(/** RFC 959 5.4: STAT → 211. */ stat_200, "rfc959-4.1.3-stat-idle", Fault::reply_to("STAT", "200 fine"));
fails!(/** RFC 959 Appendix II: PWD → 257 "path". */ pwd_unquoted, "rfc959-appendix2-pwd-257", Fault::reply_to("PWD", "257 /upload is the directory"));
fails!(/** RFC 959 5.4: bad PORT → 501. */ port_syntax_500, "rfc959-5.4-port-syntax-501", Fault::reply_code("PORT", "501", "500 Illegal PORT command."));

// ---- data connection setup (RFC 959 4.1.2, RFC 1123, RFC 2428, RFC 2577) ----

fails!(/** RFC 959 4.1.2: numbers 0-255. */ pasv_out_of_range, "rfc1123-4.1.2.6-pasv-227", Fault::reply_to("PASV", "227 Entering Passive Mode (127,0,0,1,300,1)."));
fails!(/** RFC 959 4.1.2: port = p1*256+p2 (here a closed port). */ pasv_wrong_port, "rfc959-4.1.2-pasv-port", Fault::reply_to("PASV", "227 Entering Passive Mode (127,0,0,1,0,1)."));
fails!(
    /** De-facto: the 227 address is the server's. */
    pasv_private_address,
    "rfc959-4.1.2-pasv-address",
    Fault::reply(|v, r| Some(if v == "PASV" { replace(r, b"(127,0,0,1,", b"(10,1,2,3,") } else { r.to_vec() }))
);
fails!(/** RFC 2577 5: a second PASV closes the first listener. */ pasv_leaks_listener, "rfc2577-pasv-second-closes-first", Fault::data_listeners(true));
fails!(/** RFC 2428 3: (|||port|). */ epsv_missing_delimiter, "rfc2428-3-epsv-229", Fault::reply(|v, r| Some(if v == "EPSV" { replace(r, b"|)", b")") } else { r.to_vec() })));
fails!(/** RFC 2428 3: the 229 port takes the connection. */ epsv_wrong_port, "rfc2428-3-epsv-port", Fault::reply_to("EPSV", "229 Entering Extended Passive Mode (|||1|)"));
fails!(/** RFC 2428 3: unsupported protocol → 522. */ epsv_501, "rfc2428-3-epsv-unsupported-protocol-522", Fault::reply_code("EPSV", "522", "501 Bad argument."));
fails!(
    /** RFC 2428 4: PASV after EPSV ALL. */
    epsv_all_ignored_pasv,
    "rfc2428-4-epsv-all-refuses-pasv",
    Fault::command(|_, v, l| if v == "EPSV" && l.windows(3).any(|w| w == b"ALL") { Action::Answer(b"200 EPSV ALL ok.\r\n".to_vec()) } else { Action::Forward(l.to_vec()) })
);
fails!(
    /** RFC 2428 4: PORT after EPSV ALL. */
    epsv_all_ignored_port,
    "rfc2428-4-epsv-all-refuses-port",
    Fault::command(|_, v, l| if v == "EPSV" && l.windows(3).any(|w| w == b"ALL") { Action::Answer(b"200 EPSV ALL ok.\r\n".to_vec()) } else { Action::Forward(l.to_vec()) })
);
fails!(
    /** RFC 2428 4: EPRT after EPSV ALL. */
    epsv_all_ignored_eprt,
    "rfc2428-4-epsv-all-refuses-eprt",
    Fault::command(|_, v, l| if v == "EPSV" && l.windows(3).any(|w| w == b"ALL") { Action::Answer(b"200 EPSV ALL ok.\r\n".to_vec()) } else { Action::Forward(l.to_vec()) })
);
fails!(/** RFC 959 4.1.2: PORT → 200. */ port_refused, "rfc959-4.1.2-port-transfer", Fault::reply_to("PORT", "500 No."));
fails!(/** RFC 2428 2: EPRT → 200. */ eprt_refused, "rfc2428-2-eprt-transfer", Fault::reply_to("EPRT", "425 No."));
fails!(/** RFC 2577 3: PORT to another host. */ port_bounce, "rfc2577-port-third-party-refused", Fault::answer("PORT", "200 PORT command successful."));
fails!(/** RFC 2577 3: EPRT to another host. */ eprt_bounce, "rfc2577-eprt-third-party-refused", Fault::answer("EPRT", "200 EPRT command successful."));
fails!(/** RFC 2577 3: PORT below 1024. */ port_privileged, "rfc2577-port-privileged-refused", Fault::answer("PORT", "200 PORT command successful."));
fails!(/** RFC 2577 5: data from another address is used. */ foreign_data_used, "rfc2577-foreign-data-connection-refused", Fault::data_listeners(false));
fails!(/** De-facto: no data setup → 425. */ transfer_without_setup, "interop-transfer-without-setup-425", Fault::reply_code("LIST", "425", "150 Here it comes."));

// ---- transfers (RFC 959 4.1.3, 5.4; RFC 1123; RFC 3659 5) ----

fails!(/** RFC 959 5.4: STOR → 125/150 first. */ stor_no_preliminary, "rfc959-4.1.3-stor", Fault::reply_code("STOR", "1", "200 Go ahead."));
fails!(
    /** RFC 959 3.1.1.3: TYPE I keeps every byte. */
    retr_corrupted,
    "rfc959-4.1.3-retr-roundtrip",
    Fault::data(|b| { let mut v = b.to_vec(); if let Some(x) = v.get_mut(0) { *x ^= 0x20; } v })
);
fails!(/** RFC 959 5.4: RETR ends with 226/250. */ retr_ends_200, "rfc959-5.4-retr-replies", Fault::reply_code("RETR", "226", "200 Done."));
fails!(/** RFC 959 5.4: RETR of a missing file → 550. */ retr_missing_150, "rfc959-5.4-retr-missing-550", Fault::reply_code("RETR", "550", "150 Opening data connection."));
fails!(/** RFC 959 4.1.3: APPE appends. */ appe_overwrites, "rfc959-4.1.3-appe", Fault::command(|_, v, l| if v == "APPE" { Action::Forward(replace(l, b"APPE", b"STOR")) } else { Action::Forward(l.to_vec()) }));
fails!(/** RFC 1123 4.1.2.9: STOU names the file. */ stou_without_name, "rfc1123-4.1.2.9-stou", Fault::reply_code("STOU", "1", "125 Transfer starting."));
fails!(/** RFC 959 3.1.1.1: TYPE A sends CRLF. */ type_a_ignored, "rfc959-3.1.1.1-type-a-crlf", Fault::command(|_, v, l| if v == "TYPE" && l.starts_with(b"TYPE A") { Action::Forward(b"TYPE I\r\n".to_vec()) } else { Action::Forward(l.to_vec()) }));
fails!(/** RFC 3659 5.3: REST → 350. */ rest_200, "rfc3659-5.3-rest-350", Fault::reply_to("REST", "200 ok"));
fails!(/** RFC 3659 5.5: RETR after REST n starts at n. */ rest_ignored, "rfc3659-5.5-rest-retr", Fault::rewrite("REST", "REST 0"));
fails!(/** RFC 959 5.4: ABOR → 225/226. */ abor_idle_500, "rfc959-4.1.3-abor-idle", Fault::reply_to("ABOR", "500 What?"));
fails!(/** RFC 959 4.1.3: ABOR during a transfer is answered. */ abor_ignored, "rfc959-4.1.3-abor-transfer", Fault::command(|_, v, l| if v == "ABOR" { Action::Drop } else { Action::Forward(l.to_vec()) }));
fails!(/** RFC 959 4.1.3: STAT during a transfer is answered. */ stat_ignored, "rfc959-4.1.3-stat-transfer", Fault::command(|_, v, l| if v == "STAT" { Action::Drop } else { Action::Forward(l.to_vec()) }));
fails!(/** RFC 959 4.1.3: NLST lines end with CRLF. */ nlst_bare_lf, "rfc959-4.1.3-nlst", Fault::data(|b| b.iter().copied().filter(|&c| c != b'\r').collect()));
fails!(/** RFC 959 4.1.3: LIST shows the file. */ list_empty, "rfc959-4.1.3-list", Fault::data(|_| Vec::new()));
fails!(
    /** RFC 959 5.4: DELE of a missing file → 550. */
    dele_always_250,
    "rfc959-4.1.3-dele",
    Fault::command(|st, v, l| {
        // The first DELE is real; a repeated one gets a made-up 250.
        if v != "DELE" || st.flags.insert("dele") {
            Action::Forward(l.to_vec())
        } else {
            Action::Answer(b"250 Deleted.\r\n".to_vec())
        }
    })
);
fails!(/** RFC 959 4.1.3: RNTO renames. */ rnto_ignored, "rfc959-4.1.3-rename", Fault::answer("RNTO", "250 Renamed."));
fails!(/** RFC 959 5.4: RNTO without RNFR → 503. */ rnto_550, "rfc959-5.4-rnto-without-rnfr-503", Fault::reply_code("RNTO", "503", "550 No."));
fails!(/** RFC 959 Appendix II: 257 names the new directory. */ mkd_wrong_name, "rfc959-4.1.3-mkd-rmd", Fault::reply_to("MKD", "257 \"/elsewhere\" created"));
fails!(/** RFC 959 Appendix II: quotes doubled. */ quote_not_doubled, "rfc959-appendix2-257-quotes", Fault::reply(|v, r| Some(if v == "MKD" { replace(r, b"\"\"", b"\"") } else { r.to_vec() })));
fails!(/** RFC 959 4.1.1: CDUP leaves the directory. */ cdup_ignored, "rfc959-4.1.1-cwd-cdup", Fault::answer("CDUP", "250 ok"));

// ---- FTP over TLS (RFC 4217, RFC 2228) ----

fails!(/** RFC 4217 4: AUTH TLS → 234 when FEAT lists it. */ auth_refused, "rfc4217-4-auth-tls", Fault::reply_to("AUTH", "502 Not now."));
fails!(/** RFC 4217 6: FEAT lists PBSZ. */ feat_without_pbsz, "rfc4217-6-feat-lists-tls", Fault::reply(|v, r| Some(if v == "FEAT" { replace(r, b" PBSZ\r\n", b"") } else { r.to_vec() })));
fails!(/** RFC 4217 9: PBSZ before AUTH → 503. */ pbsz_before_auth_accepted, "rfc4217-9-pbsz-before-auth-503", Fault::reply_to("PBSZ", "200 PBSZ=0"));
fails!(/** RFC 4217 9: PROT before PBSZ → 503. */ prot_before_pbsz_accepted, "rfc4217-9-prot-before-pbsz-503", Fault::reply_code("PROT", "503", "200 Protection set."));
fails!(/** RFC 4217 9: PBSZ 0 → 200. */ pbsz_refused, "rfc4217-9-pbsz-0", Fault::reply_to("PBSZ", "500 No."));
fails!(/** RFC 4217 9: PROT P protects data connections. */ prot_p_ignored, "rfc4217-9-prot-p-data", Fault::rewrite("PROT", "PROT C"));
fails!(/** RFC 4217 9: PROT S → 536. */ prot_s_accepted, "rfc4217-9-prot-s-536", Fault::reply_code("PROT", "536", "200 ok"));
fails!(/** RFC 4217 4: nothing in the clear after 234. */ plaintext_after_234, "rfc4217-4-no-plaintext-after-auth", Fault::after_234(b"331 Password required.\r\n"));

// ---- commands real clients send (issue 15) ----

fails!(/** draft-somers-ftp-mfxx 3: MDTM reads what MFMT set. */ mfmt_not_kept, "mfxx-3-mfmt-round-trip", Fault::reply_to("MDTM", "213 19990101000000"));
fails!(/** RFC 2389 3: FEAT lists SIZE, which answers 502. */ feat_lies, "rfc2389-feat-claims-work", Fault::reply_to("SIZE", "502 Not implemented."));
fails!(/** SITE CHMOD refused with 550. */ site_chmod_refused, "site-chmod", Fault::reply_to("SITE", "550 No."));
fails!(/** SITE UMASK confirmed but never applied (the proxy answers it). */ site_umask_ignored, "site-umask", Fault::answer("SITE", "200 UMASK set to 077."));
fails!(/** RFC 959 4.1.3: ALLO of an impossible size confirmed with 200. */ allo_confirms_anything, "rfc959-4.1.3-allo", Fault::answer("ALLO", "200 ALLO OK."));
fails!(/** RFC 3659 5.3: the server never sees REST, so APPE appends at the end. */ rest_ignored_by_appe, "rfc3659-5.3-rest-appe", Fault::answer("REST", "350 Restarting."));
fails!(/** RFC 3659 5.3: the server never sees REST, so RETR sends from 0. */ rest_past_end_served, "rfc3659-5.3-rest-past-end", Fault::answer("REST", "350 Restarting."));
fails!(/** RFC 959 4.2: a refusal that ends the session. */ refusal_closes, "rfc959-4.2-refusals-keep-session", Fault::reply_to("MODE", "421 Too many errors."));

// ---- extensions (RFC 2389, 3659, 2640, 7151) ----

fails!(/** RFC 2389 3.2: one space before each feature. */ feat_unindented, "rfc2389-3.2-feat-syntax", Fault::reply(|v, r| Some(if v == "FEAT" { replace(r, b"\r\n ", b"\r\n") } else { r.to_vec() })));
fails!(/** RFC 2389 4: OPTS for no such command → 501. */ opts_accepts_anything, "rfc2389-4-opts-unknown-501", Fault::reply_to("OPTS", "200 ok"));
fails!(/** RFC 3659 4: SIZE is exact. */ size_wrong, "rfc3659-4-size", Fault::reply_to("SIZE", "213 1"));
fails!(/** RFC 3659 4.2: SIZE of a missing file → 550. */ size_missing_0, "rfc3659-4-size-missing-550", Fault::reply_code("SIZE", "550", "213 0"));
fails!(/** RFC 3659 3: MDTM time-val. */ mdtm_bad_time, "rfc3659-3-mdtm", Fault::reply_to("MDTM", "213 2024-01-01 12:00"));
fails!(/** RFC 3659 7.2: MLST entry begins with a space. */ mlst_unindented, "rfc3659-7.2-mlst-syntax", Fault::reply(|v, r| Some(if v == "MLST" { replace(r, b"\r\n ", b"\r\n") } else { r.to_vec() })));
fails!(/** RFC 3659 7.2: MLSD lines end with CRLF. */ mlsd_bare_lf, "rfc3659-7.2-mlsd-syntax", Fault::data(|b| replace(b, b"\r\n", b"\n")));
fails!(/** RFC 3659 7.5.1: type=file for files. */ mlsd_wrong_type, "rfc3659-7.5-mlsd-facts", Fault::data(|b| replace(b, b"type=file", b"type=dir")));
fails!(/** RFC 3659 7.9: 200 MLST OPTS. */ opts_mlst_text, "rfc3659-7.9-opts-mlst", Fault::reply_to("OPTS", "200 OK"));
fails!(/** UTF8 option: OPTS UTF8 ON → 200. */ opts_utf8_refused, "rfc2640-opts-utf8-on", Fault::reply_to("OPTS", "501 No."));
fails!(/** RFC 2640 2.2: UTF-8 names byte for byte. */ utf8_mangled, "rfc2640-2.2-utf8-names", Fault::data(|b| b.iter().map(|&c| if c >= 0x80 { b'?' } else { c }).collect()));
fails!(/** RFC 7151 3: HOST → 220. */ host_refused, "rfc7151-3-host-before-login", Fault::reply_to("HOST", "530 No."));
fails!(/** RFC 7151 3: HOST after login → 503. */ host_after_login_accepted, "rfc7151-3-host-after-login-503", Fault::reply_to("HOST", "220 ok"));

// ---- robustness ----

fails!(/** RFC 959 2.2: a split command is one line. */ split_lines_executed, "robust-split-command", Fault::forward_partial());
fails!(/** RFC 959 4.2: every pipelined command answered in order. */ pipelined_reply_lost, "robust-pipelined-order", Fault::reply(|v, r| if v == "TYPE" { None } else { Some(r.to_vec()) }));
fails!(/** SECURITY.md F1: an overlong line is one error. */ overlong_split, "robust-overlong-line", Fault::split_long());
fails!(
    /** SECURITY.md F3: NUL does not end an argument. */
    nul_truncates,
    "robust-nul-in-argument",
    Fault::command(|_, _, l| match l.iter().position(|&b| b == 0) {
        Some(at) => { let mut v = l[..at].to_vec(); v.extend_from_slice(b"\r\n"); Action::Forward(v) }
        None => Action::Forward(l.to_vec()),
    })
);
fails!(/** RFC 959 5.4: garbage is an error. */ garbage_accepted, "robust-binary-garbage", Fault::command(|_, _, l| if l.first().is_some_and(|&b| b >= 0x80) { Action::Answer(b"200 ok\r\n".to_vec()) } else { Action::Forward(l.to_vec()) }));
fails!(/** De-facto: a bare LF ends a line. */ bare_lf_ignored, "robust-bare-lf", Fault::command(|_, _, l| if l.ends_with(b"\n") && !l.ends_with(b"\r\n") { Action::Drop } else { Action::Forward(l.to_vec()) }));
fails!(/** RFC 959 4.1.3: Telnet IP/DM before ABOR. */ telnet_not_stripped, "robust-telnet-ip-abor", Fault::command(|_, _, l| if l.contains(&0xff) { Action::Answer(b"500 Unknown command.\r\n".to_vec()) } else { Action::Forward(l.to_vec()) }));
fails!(/** SECURITY.md C1: an idle timeout ends a slow session. */ no_idle_timeout, "robust-slow-loris-idle-timeout", Fault::keep_open());
