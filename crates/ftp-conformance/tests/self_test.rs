//! The whole catalogue against our own server (ftp-tokio on loopback):
//! every MUST, SHOULD and INTEROP check passes, in the clear and in TLS,
//! and the writable directory is left as it was found.

mod support;

use std::time::Duration;

use ftp_conformance::{Options, Outcome, Report, Severity, Target};
use support::{DIR, PASSWORD, USER};

fn options() -> Options {
    Options::default().timeout(Duration::from_secs(5)).idle_limit(support::IDLE * 3)
}

fn assert_all_pass(report: &Report, allowed_skips: &[&str]) {
    let text = report.render_text();
    for r in &report.results {
        match &r.outcome {
            Outcome::Pass => {}
            Outcome::Fail(why) => panic!("{} ({:?}) failed: {why}\n{text}", r.id, r.severity),
            Outcome::Skip(why) => {
                assert!(allowed_skips.contains(&r.id), "{} skipped: {why}\n{text}", r.id);
            }
        }
    }
    assert!(!report.must_failed());
    assert_eq!(report.results.len(), ftp_conformance::catalogue().len());
    let _ = Severity::Must;
}

/// Every check, plaintext sessions (TLS checks still use AUTH TLS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_passes_every_check_in_the_clear() {
    let root = tempfile::tempdir().unwrap();
    let addr = support::start_server(root.path(), true);
    let before = support::listing(&root.path().join(DIR));
    let target = Target::new(addr, USER, PASSWORD, Some(DIR)).with_tls(false, true);
    let report = ftp_conformance::run(&target, &options()).await;
    println!("{}", report.render_text());
    assert_all_pass(&report, &[]);
    assert_eq!(support::listing(&root.path().join(DIR)), before, "the writable directory was not left as found");
}

/// Every check with TLS sessions (AUTH TLS, PBSZ 0, PROT P on every data
/// connection; RFC 4217). The REIN checks stay in the clear (RFC 4217 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_passes_every_check_in_tls() {
    let root = tempfile::tempdir().unwrap();
    let addr = support::start_server(root.path(), true);
    let before = support::listing(&root.path().join(DIR));
    let target = Target::new(addr, USER, PASSWORD, Some(DIR)).with_tls(true, true);
    let report = ftp_conformance::run(&target, &options()).await;
    println!("{}", report.render_text());
    assert_all_pass(&report, &[]);
    assert_eq!(support::listing(&root.path().join(DIR)), before, "the writable directory was not left as found");
}

/// The three renderings carry every result, escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_render_in_three_formats() {
    let root = tempfile::tempdir().unwrap();
    let addr = support::start_server(root.path(), true);
    let target = Target::new(addr, USER, PASSWORD, Some(DIR));
    let report = ftp_conformance::run(&target, &options().only(["rfc959-5.4", "rfc2428-4"])).await;
    assert!(report.results.len() >= 8);
    let text = report.render_text();
    let json = report.render_json();
    let junit = report.render_junit();
    for r in &report.results {
        assert!(text.contains(r.id) && json.contains(r.id) && junit.contains(r.id), "{}", r.id);
    }
    assert!(json.starts_with("{\"target\":") && json.ends_with("\"must_failed\":false}"));
    assert!(junit.starts_with("<?xml") && junit.contains("<testsuite ") && junit.trim_end().ends_with("</testsuites>"));
    let scores = report.scores();
    assert_eq!(scores.iter().map(|s| s.passed + s.failed + s.skipped).sum::<usize>(), report.results.len());
}
