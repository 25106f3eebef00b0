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
