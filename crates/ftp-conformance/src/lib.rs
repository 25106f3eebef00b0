//! # ftp-conformance: grade an FTP server against the RFCs
//!
//! A catalogue of checks ([`catalogue()`]), each tied to the RFC section (or
//! the widely followed practice) it comes from, with a severity taken from
//! the RFC's own wording ([`Severity`]). [`run`] runs them against a live
//! server over real TCP (and TLS) connections, each check in sessions of its
//! own, and returns a [`Report`] that prints as a table, JSON or JUnit XML.
//! [`cli`] is the `ftpkit check` command.
//!
//! ```no_run
//! # async fn demo() {
//! use ftp_conformance::{Options, Target};
//!
//! let target = Target::new("127.0.0.1:2121".parse().unwrap(), "alice", "secret", Some("upload"));
//! let report = ftp_conformance::run(&target, &Options::default()).await;
//! print!("{}", report.render_text());
//! assert!(!report.must_failed());
//! # }
//! ```
//!
//! ## What it promises the server's operator
//!
//! - It connects to nothing but the target: data connections go to the
//!   control connection's peer address (never to the address in a 227
//!   reply); a check that sends `PORT` with another host's address never
//!   starts a transfer, so the server is never asked to connect there. The
//!   check for data connections from another address binds a second
//!   loopback address (127.0.0.2), and only when the target is 127.0.0.1.
//! - Every read has a timeout, and every check a time limit: a server that
//!   never answers fails a check, it never hangs the run.
//! - What a check creates lives in the writable directory under a unique
//!   `ftpkit-check-<pid>-<n>-...` name and is removed at the end of the
//!   check, pass or fail, so the directory is left as it was found.
//!
//! ## What it does not do
//!
//! It does not load-test, fuzz or attack; the robustness checks send one
//! malformed line at a time. It does not follow 227 addresses, and it does
//! not test active mode towards other hosts.

#![forbid(unsafe_code)]

mod catalogue;
mod checks;
pub mod cli;
mod client;
mod report;
mod tls;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use catalogue::{Check, Severity};
pub use report::{CheckResult, Outcome, Report, Score};

use crate::client::{Stop, TlsSetup};

/// The server to check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The host name as given (for TLS server names and the report).
    pub host: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// The user to log in as (`anonymous` for anonymous FTP).
    pub user: String,
    /// The password.
    pub password: String,
    /// A directory the user may write to, relative to the login directory or
    /// absolute; `None` for the login directory itself.
    pub dir: Option<String>,
    /// Run the checks' sessions in TLS (`AUTH TLS`, `PBSZ 0`, `PROT P`).
    pub tls: bool,
    /// Accept any certificate (self-signed test servers).
    pub insecure: bool,
}

impl Target {
    /// A target at `addr` (host name: the IP), in the clear.
    #[must_use]
    pub fn new(addr: SocketAddr, user: &str, password: &str, dir: Option<&str>) -> Self {
        Self {
            host: addr.ip().to_string(),
            addr,
            user: user.to_owned(),
            password: password.to_owned(),
            dir: dir.map(str::to_owned),
            tls: false,
            insecure: false,
        }
    }

    /// The same target with TLS sessions (`insecure`: accept any certificate).
    #[must_use]
    pub fn with_tls(mut self, tls: bool, insecure: bool) -> Self {
        self.tls = tls;
        self.insecure = insecure;
        self
    }
}

/// How to run the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Run only checks whose id equals, or starts with, one of these
    /// (all checks when empty).
    pub only: Vec<String>,
    /// How long to wait for each reply or data read (default 10 s).
    pub timeout: Duration,
    /// How long the slow-loris check waits for the server to close a
    /// session that never finishes its command line (default 20 s: Apache's
    /// `mod_reqtimeout` allows 20 s for a request header).
    pub idle_limit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { only: Vec::new(), timeout: Duration::from_secs(10), idle_limit: Duration::from_secs(20) }
    }
}

impl Options {
    /// Only the checks whose id equals or starts with one of `ids`.
    #[must_use]
    pub fn only(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.only = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The per-read timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The idle-timeout check's limit.
    #[must_use]
    pub fn idle_limit(mut self, limit: Duration) -> Self {
        self.idle_limit = limit;
        self
    }

    /// Whether the check `id` is selected.
    #[must_use]
    pub fn selects(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| id == o || id.starts_with(o.as_str()))
    }
}

/// Every check, in the order they run.
///
/// ```
/// let ids: Vec<&str> = ftp_conformance::catalogue().iter().map(|c| c.id).collect();
/// assert!(ids.contains(&"rfc959-5.4-pass-without-user"));
/// assert!(ids.len() >= 60);
/// ```
#[must_use]
pub fn catalogue() -> &'static [Check] {
    checks::CATALOGUE
}

/// Runs the selected checks against `target`, one after the other, each in
/// sessions of its own, and removes what each created.
pub async fn run(target: &Target, options: &Options) -> Report {
    let base = tls::client_config(target.insecure).and_then(|config| {
        let name = tls::server_name(&target.host)?;
        Ok(TlsSetup { config, name })
    });
    // Every read is bounded; this bounds a check as a whole on top of that.
    let limit = options.timeout * 20 + options.idle_limit + Duration::from_secs(10);
    let mut results = Vec::new();
    for check in catalogue().iter().filter(|c| options.selects(c.id)) {
        // A fresh TLS client (its own session cache) per check.
        let tls = base.clone().map(|mut t| {
            let mut config = (*t.config).clone();
            config.resumption = rustls::client::Resumption::default();
            t.config = std::sync::Arc::new(config);
            t
        });
        let cx = catalogue::Cx::new(target.clone(), options.clone(), tls);
        let started = Instant::now();
        let outcome = match tokio::time::timeout(limit, (check.run)(&cx)).await {
            Ok(Ok(())) => Outcome::Pass,
            Ok(Err(Stop::Fail(why))) => Outcome::Fail(why),
            Ok(Err(Stop::Skip(why))) => Outcome::Skip(why),
            Err(_) => Outcome::Fail(format!("the check did not finish within {} s", limit.as_secs())),
        };
        let _ = tokio::time::timeout(options.timeout * 4, cx.cleanup()).await;
        results.push(CheckResult {
            id: check.id,
            source: check.source,
            severity: check.severity,
            title: check.title,
            outcome,
            transcript: cx.log.lines(),
            duration: started.elapsed(),
        });
    }
    Report { target: format!("{}:{}", target.host, target.addr.port()), results }
}
