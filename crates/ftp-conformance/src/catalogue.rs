//! The catalogue: what a check is, and the context it runs in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use ftp_proto::Command;

use crate::client::{Control, Stop, TlsSetup, Transcript, fail, skip};
use crate::{Options, Target};

/// How strong a rule is: the RFC 2119 keyword of its source, or `Interop`
/// for behaviour that no RFC requires but that clients depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// MUST, MUST NOT, REQUIRED, SHALL (or a rule the RFC states as fact).
    Must,
    /// SHOULD, SHOULD NOT, RECOMMENDED.
    Should,
    /// MAY, OPTIONAL.
    May,
    /// De-facto behaviour that interoperating clients rely on.
    Interop,
}

impl Severity {
    /// Every severity, strongest first.
    pub const ALL: [Severity; 4] = [Self::Must, Self::Should, Self::May, Self::Interop];

    /// `MUST`, `SHOULD`, `MAY` or `INTEROP`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::May => "MAY",
            Self::Interop => "INTEROP",
        }
    }
}

/// The future a check runs as.
pub(crate) type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Stop>> + Send + 'a>>;

/// One check of the catalogue.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Check {
    /// A stable id: `<source>-<section>-<what>`, such as
    /// `rfc959-5.4-pass-without-user`.
    pub id: &'static str,
    /// Where the rule comes from: `RFC 959 5.4`, `widely followed practice`.
    pub source: &'static str,
    /// How strong the rule is.
    pub severity: Severity,
    /// One line saying what is checked.
    pub title: &'static str,
    pub(crate) run: for<'a> fn(&'a Cx) -> CheckFuture<'a>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("severity", &self.severity)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// Builds a catalogue entry from an `async fn(&Cx) -> Verdict`.
macro_rules! check {
    ($id:literal, $source:literal, $severity:ident, $title:literal, $f:path) => {
        $crate::catalogue::Check {
            id: $id,
            source: $source,
            severity: $crate::catalogue::Severity::$severity,
            title: $title,
            run: |cx| Box::pin($f(cx)),
        }
    };
}
pub(crate) use check;

/// Something a check made in the writable directory, removed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Created {
    File(String),
    Dir(String),
}

/// Counts scratch names across the whole process, so that two runs in one
/// process never collide.
static SCRATCH: AtomicU32 = AtomicU32::new(0);

/// What a check runs with: the target, the options, its transcript and the
/// list of what it created.
pub(crate) struct Cx {
    pub(crate) target: Target,
    pub(crate) options: Options,
    pub(crate) log: Transcript,
    tls: Result<TlsSetup, String>,
    created: Mutex<Vec<Created>>,
    conns: AtomicU32,
}

impl Cx {
    pub(crate) fn new(target: Target, options: Options, tls: Result<TlsSetup, String>) -> Self {
        Self {
            target,
            options,
            log: Transcript::default(),
            tls,
            created: Mutex::new(Vec::new()),
            conns: AtomicU32::new(0),
        }
    }

    /// The TLS settings; a skip when none could be built.
    pub(crate) fn tls(&self) -> Result<TlsSetup, Stop> {
        match &self.tls {
            Ok(t) => Ok(t.clone()),
            Err(e) => skip(format!("TLS is not available to the checker: {e}")),
        }
    }

    /// A new control connection, from `source` when given; the greeting is
    /// not read yet.
    pub(crate) async fn connect_from(&self, source: Option<std::net::IpAddr>) -> Result<Control, Stop> {
        let n = self.conns.fetch_add(1, Ordering::Relaxed) + 1;
        Control::connect(
            self.target.addr,
            source,
            self.options.timeout,
            self.log.clone(),
            format!("c{n}"),
            self.tls.as_ref().ok().cloned(),
        )
        .await
    }

    /// A new control connection in the clear, greeting read (220).
    pub(crate) async fn connect(&self) -> Result<Control, Stop> {
        let mut c = self.connect_from(None).await?;
        c.greeting().await?;
        Ok(c)
    }

    /// A new control connection, in TLS when the target asks for it.
    pub(crate) async fn connect_secure(&self) -> Result<Control, Stop> {
        let mut c = self.connect().await?;
        if self.target.tls {
            c.auth_tls().await?;
        }
        Ok(c)
    }

    /// A connection in TLS whatever the target says (for RFC 4217 checks): a
    /// skip when the server does not offer AUTH TLS.
    pub(crate) async fn connect_tls(&self) -> Result<Control, Stop> {
        self.tls()?;
        let mut c = self.connect().await?;
        let r = c.cmd(Command::Auth(crate::client::mech_tls()?)).await?;
        match r.code().as_u16() {
            234 => {}
            500 | 502 | 504 | 534 | 431 | 530 => {
                return skip(format!("the server does not offer AUTH TLS ({})", crate::client::show(&r)));
            }
            _ => return fail(format!("AUTH TLS: expected 234, got {}", crate::client::show(&r))),
        }
        let tls = self.tls()?;
        c.start_tls(&tls).await?;
        Ok(c)
    }

    /// A logged-in session in the writable directory, binary type; in TLS
    /// with protected data connections when the target asks for it.
    pub(crate) async fn session(&self) -> Result<Control, Stop> {
        let mut c = self.connect_secure().await?;
        // A refused login is the login checks' failure; here it only means
        // this check cannot be judged.
        match c.login(&self.target.user, &self.target.password).await {
            Err(Stop::Fail(why)) => return skip(format!("setup: cannot log in: {why}")),
            other => other?,
        }
        if self.target.tls {
            c.protect_data().await?;
        }
        self.enter_dir(&mut c).await?;
        c.expect(Command::Type(ftp_proto::TransferType::Image), &[200]).await?;
        Ok(c)
    }

    /// `CWD` into the writable directory, if one was given.
    pub(crate) async fn enter_dir(&self, c: &mut Control) -> Result<(), Stop> {
        if let Some(dir) = &self.target.dir {
            let r = c.cmd(Command::Cwd(crate::client::path(dir)?)).await?;
            if !r.code().is_positive_completion() {
                return skip(format!("setup: cannot enter the writable directory {dir}: {}", crate::client::show(&r)));
            }
        }
        Ok(())
    }

    /// A unique name for something the check creates, not yet registered.
    pub(crate) fn scratch_name(&self, what: &str) -> String {
        let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
        format!("ftpkit-check-{}-{n}-{what}", std::process::id())
    }

    /// A unique file name, registered for removal at the end of the check.
    pub(crate) fn scratch_file(&self, what: &str) -> String {
        let name = self.scratch_name(what);
        self.created_file(&name);
        name
    }

    /// A unique directory name, registered for removal at the end of the check.
    pub(crate) fn scratch_dir(&self, what: &str) -> String {
        let name = self.scratch_name(what);
        self.created_dir(&name);
        name
    }

    /// Registers a file (relative to the writable directory) for removal.
    pub(crate) fn created_file(&self, name: &str) {
        if let Ok(mut v) = self.created.lock() {
            v.push(Created::File(name.to_owned()));
        }
    }

    /// Registers a directory for removal (after what it contains).
    pub(crate) fn created_dir(&self, name: &str) {
        if let Ok(mut v) = self.created.lock() {
            v.push(Created::Dir(name.to_owned()));
        }
    }

    /// Removes what the check created, newest first, in a fresh session.
    /// Best effort: errors are logged, never reported.
    pub(crate) async fn cleanup(&self) {
        let items: Vec<Created> = match self.created.lock() {
            Ok(v) => v.clone(),
            Err(_) => return,
        };
        if items.is_empty() {
            return;
        }
        self.log.note("-- cleanup");
        let Ok(mut c) = self.session().await else {
            self.log.note("cleanup: no session");
            return;
        };
        for item in items.iter().rev() {
            let cmd = match item {
                Created::File(name) => crate::client::path(name).map(Command::Dele),
                Created::Dir(name) => crate::client::path(name).map(Command::Rmd),
            };
            if let Ok(cmd) = cmd {
                let _ = c.cmd(cmd).await;
            }
        }
        let _ = c.cmd(Command::Quit).await;
        c.close().await;
    }
}
