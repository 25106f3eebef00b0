//! `ftpkit serve`: a directory over FTP and FTPS.
//!
//! Settings come from the flags, then the configuration file (`--config`),
//! then the defaults (see [`crate::config`]); `--print-config` shows the
//! result. A settings error (an unknown key, a bad value, a combination
//! that cannot work, root without `--run-as`) exits with 2, as a usage
//! error; a failure to start (the port is taken, a certificate does not
//! load) with 1.
//!
//! # Reload
//!
//! `SIGHUP` re-reads the configuration file and the users file, merges them
//! under the same flags, and applies to the running server, without
//! dropping a session: the users (`user`, `users_file`), the certificate
//! and key (re-read even when their paths did not change, for a renewed
//! certificate) and `max_sessions`/`max_sessions_per_ip`. A reload that
//! fails changes nothing and logs why; any other key that changed is
//! logged as needing a restart.
//!
//! # Privileges
//!
//! Started as root, `serve` needs `--run-as USER`: it binds the port and
//! opens the root as root, then switches to USER's uid, gid and groups and
//! checks that root cannot be taken back. Everything read later (the
//! served files, the configuration, users file and certificate on a
//! reload) is read as USER. `--run-as root` keeps root on purpose.

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ftp_session::server::ServerConfig;
use ftp_tokio::auth::Access;
use ftp_tokio::server::{Reloader, Server, ServerOptions};
use nix::unistd::{Gid, Uid};

use crate::config::{self, Settings};
use crate::users::{self, Users};

#[derive(clap::Args)]
pub(crate) struct Serve {
    /// A configuration file (TOML) whose keys are the flags' long names in
    /// snake_case (docs/ftpkit.example.toml); flags given here override
    /// it, and relative paths in it are relative to its directory.
    /// Re-read on SIGHUP.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML (every key, passwords
    /// masked) and exit without serving.
    #[arg(long)]
    print_config: bool,
    #[command(flatten)]
    flags: config::Layer,
}

/// Keys a reload applies; a change to any other needs a restart.
const RELOADED: [&str; 6] = ["user", "users_file", "tls_cert", "tls_key", "max_sessions", "max_sessions_per_ip"];

/// Exits with 2 (usage) after printing `message`, as clap does for a bad
/// flag: the settings cannot work.
fn usage(message: &str) -> ! {
    eprintln!("ftpkit: {}", crate::display::escape(message));
    std::process::exit(2)
}

pub(crate) async fn serve(args: Serve) -> Result<(), String> {
    let file = match args.config.as_deref().map(config::load).transpose() {
        Ok(file) => file,
        Err(e) => usage(&e),
    };
    let settings = config::merge(&args.flags, file.as_ref()).unwrap_or_else(|e| usage(&e));
    if args.print_config {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    if !args.flags.user.is_empty() {
        eprintln!(
            "ftpkit: warning: --user puts passwords on the command line, where every local user can read them \
             (ps); prefer --users-file FILE, written by `ftpkit passwd NAME --users-file FILE`"
        );
    }
    let target = plan_run_as(settings.run_as.as_deref()).unwrap_or_else(|e| usage(&e));
    crate::logging::init(settings.log_format, settings.log_level, settings.xferlog.as_deref())?;

    let anonymous =
        settings.anonymous.then_some(if settings.writable { Access::read_write() } else { Access::read_only() });
    let (users, named) = authenticator(&settings, anonymous)?;
    let tls = match (&settings.tls_cert, &settings.tls_key, settings.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(ftp_tokio::tls::from_pem(cert, key)?),
        (_, _, true) => Some(ftp_tokio::tls::self_signed()?),
        _ => None,
    };
    let mut session = ServerConfig::default()
        .require_tls_login(settings.require_tls)
        .allow_plaintext_anonymous(settings.allow_plaintext_anonymous)
        .require_tls_data(settings.require_tls)
        .require_tls_resumption(!settings.no_tls_resumption)
        .require_tls_close_notify(settings.require_tls_close_notify)
        .allow_ccc(settings.allow_ccc)
        .passive_address(settings.passive_address)
        .idle_timeout(Duration::from_secs(settings.idle_timeout))
        .default_umask(process_umask())
        .line_timeout((settings.line_timeout > 0).then(|| Duration::from_secs(settings.line_timeout)))
        .failed_login_delay(Duration::from_secs(settings.failed_login_delay))
        .greeting("ftpkit ready");
    if let Some(secs) = settings.data_timeout {
        session = session.data_stall_timeout(Duration::from_secs(secs));
    }
    let mut options = match &settings.storage {
        None => ServerOptions::new(settings.listen, settings.root.clone()),
        Some(url) => {
            let mut object = ftp_tokio::object::ObjectOptions::default();
            object.s3_endpoint.clone_from(&settings.s3_endpoint);
            object.s3_allow_http = settings.s3_allow_http;
            let storage = ftp_tokio::object::ObjectStorage::from_url(url, object)
                .unwrap_or_else(|e| usage(&format!("--storage {url}: {e}")));
            ServerOptions::with_storage(settings.listen, Arc::new(storage))
        }
    };
    options.authenticator = Some(Arc::new(users));
    options.anonymous = settings.anonymous;
    options.anonymous_writable = settings.writable;
    options.anonymous_root = settings.anonymous_root.clone();
    options.anonymous_incoming = settings.anonymous_incoming.clone();
    let mut limits = ftp_tokio::auth::Limits::default();
    limits.download_rate = settings.anonymous_download_rate;
    limits.upload_rate = settings.anonymous_upload_rate;
    options.anonymous_limits = limits;
    options.remove_failed_uploads = settings.remove_failed_uploads;
    options.passive_ports = settings.passive_ports;
    options.proxy_protocol_from = settings.proxy_protocol_from.clone();
    options.session = session;
    options.max_sessions = settings.max_sessions;
    options.max_sessions_per_ip = settings.max_sessions_per_ip;
    options.session_threads = match settings.threads {
        Some(n) => usize::try_from(n).unwrap_or(1),
        None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
    };
    options.max_passive_per_ip = settings.max_passive_per_ip;
    options.implicit_tls = settings.implicit_tls;
    options.atomic_uploads = settings.atomic_uploads;
    if settings.tls_resumption_same_client {
        options.tls_resumption = ftp_tokio::server::TlsResumption::SameClient;
    }
    options.login_guard.max_failures = settings.max_login_failures_per_ip;
    options.login_guard.window = Duration::from_secs(settings.login_failure_window);
    options.login_guard.ban = Duration::from_secs(settings.login_ban);
    let tls_note = match (&tls, settings.implicit_tls) {
        (None, _) => "",
        (Some(_), false) => ", FTPS available (AUTH TLS)",
        (Some(_), true) => ", implicit FTPS only",
    };
    let tls_on = tls.is_some();
    options.tls = tls;
    let server = Server::bind(options).await.map_err(|e| format!("cannot serve {}: {e}", settings.listen))?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    // Bound as root too (a port below 1024 is allowed), before the switch.
    let metrics = match settings.metrics_listen {
        Some(listen) => Some(crate::metrics::serve(listen, server.stats()).await?),
        None => None,
    };
    if let Some(target) = &target {
        drop_to(target)?;
    }
    let who = match (settings.anonymous, settings.writable, named) {
        (true, false, 0) => "read-only to anonymous users".to_owned(),
        (true, true, 0) => "read-write to anonymous users".to_owned(),
        (true, false, n) => format!("to {n} user(s) and read-only to anonymous users"),
        (true, true, n) => format!("to {n} user(s) and read-write to anonymous users"),
        (false, _, n) => format!("to {n} user(s)"),
    };
    let scheme = if settings.implicit_tls { "ftps" } else { "ftp" };
    let metrics_note = match &metrics {
        Some((addr, _)) => format!(", metrics on http://{addr}/metrics"),
        None => String::new(),
    };
    let as_note = match &target {
        Some(target) => format!(", as {}", target.name),
        None => String::new(),
    };
    // The handlers are in place before anyone can connect: a SIGTERM that
    // comes right after the first login is a graceful stop, not a kill, and
    // a SIGHUP a reload.
    let stop = stop_signal().map_err(|e| format!("cannot watch for Ctrl-C and SIGTERM: {e}"))?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("cannot watch for SIGHUP: {e}"))?;
    let mut reload = Reload {
        config: args.config,
        flags: args.flags,
        started: settings.clone(),
        applied: settings.clone(),
        reloader: server.reloader(),
        anonymous,
        tls_on,
    };
    let served = match &settings.storage {
        Some(url) => url.clone(),
        None => server.root().display().to_string(),
    };
    println!("ftpkit: serving {served} {who} on {scheme}://{addr}/{tls_note}{metrics_note}{as_note} (Ctrl-C to stop)");
    let reloads = tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match reload.apply() {
                Ok(done) => tracing::info!("configuration reloaded: {done}"),
                Err(e) => tracing::error!("configuration not reloaded, the previous one stays: {e}"),
            }
        }
    });
    let handle = server.shutdown_handle();
    let run = tokio::spawn(server.run());
    stop.await;
    reloads.abort();
    if let Some((_, task)) = &metrics {
        task.abort();
    }
    let grace = Duration::from_secs(settings.shutdown_grace);
    let cut = if settings.close_listener_on_stop {
        eprintln!(
            "ftpkit: stopping: listener closed, 421 to idle sessions, {}s for running transfers",
            settings.shutdown_grace
        );
        handle.drain(grace).await
    } else {
        eprintln!("ftpkit: stopping: 421 to every session, {}s for running transfers", settings.shutdown_grace);
        handle.shutdown(grace).await
    };
    if cut > 0 {
        eprintln!("ftpkit: {cut} session(s) cut at the end of the grace period");
    }
    let result = match run.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    // The last sessions' `disconnected` lines are written before exiting.
    crate::logging::finish();
    result
}

/// Who may log in: the users file's users, the `user` ones and anonymous
/// users with `anonymous`; with the number of named users.
fn authenticator(settings: &Settings, anonymous: Option<Access>) -> Result<(Users, usize), String> {
    let plain = settings.user.iter().map(|u| config::parse_user(u)).collect::<Result<Vec<_>, _>>()?;
    let file = settings.users_file.as_deref().map(users::load).transpose()?;
    let named = plain.len() + file.as_ref().map_or(0, users::UsersFile::len);
    Ok((Users::new(file, plain, anonymous), named))
}

/// What a `SIGHUP` needs: where the settings came from and what runs.
struct Reload {
    config: Option<PathBuf>,
    flags: config::Layer,
    /// The settings the server started with (for the keys a reload cannot
    /// change).
    started: Settings,
    /// The settings of the last good reload.
    applied: Settings,
    reloader: Reloader,
    /// Anonymous access, fixed at start.
    anonymous: Option<Access>,
    /// Whether the server started with TLS (it cannot be turned on later).
    tls_on: bool,
}

impl Reload {
    /// Reads everything first, then applies; on an error nothing changed.
    /// Returns what was applied, for the log.
    fn apply(&mut self) -> Result<String, String> {
        let file = self.config.as_deref().map(config::load).transpose()?;
        let new = config::merge(&self.flags, file.as_ref())?;
        let (users, named) = authenticator(&new, self.anonymous)?;
        let tls = match (&new.tls_cert, &new.tls_key) {
            (Some(cert), Some(key)) if self.tls_on => Some(ftp_tokio::tls::from_pem(cert, key)?),
            _ => None,
        };
        let mut restart: Vec<&str> =
            self.started.changed(&new).into_iter().filter(|key| !RELOADED.contains(key)).collect();
        if new.tls_cert.is_some() && !self.tls_on {
            restart.push("tls_cert (FTPS was off at start)");
        }
        if self.started.tls_cert.is_some() && new.tls_cert.is_none() {
            restart.push("tls_cert (FTPS cannot be turned off; the last certificate stays)");
        }
        if !restart.is_empty() {
            tracing::warn!("configuration reload: {} changed, which takes a restart", restart.join(", "));
        }
        let changed: Vec<&str> = self.applied.changed(&new).into_iter().filter(|key| RELOADED.contains(key)).collect();
        self.reloader.set_authenticator(Arc::new(users));
        let mut done = format!("{named} named user(s)");
        if let Some(tls) = tls {
            self.reloader.set_tls(tls).map_err(|e| format!("certificate: {e}"))?;
            done.push_str(", certificate re-read");
        }
        self.reloader.set_session_limits(new.max_sessions, new.max_sessions_per_ip);
        done.push_str(&format!(", max_sessions {}, max_sessions_per_ip {}", new.max_sessions, new.max_sessions_per_ip));
        if !changed.is_empty() {
            done.push_str(&format!(" (changed: {})", changed.join(", ")));
        }
        self.applied = new;
        Ok(done)
    }
}

/// The user `--run-as` switches to.
struct Target {
    name: String,
    uid: Uid,
    gid: Gid,
}

/// The user root switches to without `--run-as`, as vsftpd's
/// `nopriv_user` and proftpd's `User` default to.
const DEFAULT_RUN_AS: &str = "nobody";

/// Checks `--run-as` before anything is bound: root without it switches to
/// [`DEFAULT_RUN_AS`] (and refuses to serve when there is no such user);
/// naming the current user changes nothing (root with a warning); another
/// user needs root.
fn plan_run_as(run_as: Option<&str>) -> Result<Option<Target>, String> {
    let euid = nix::unistd::geteuid();
    let Some(name) = run_as else {
        if !euid.is_root() {
            return Ok(None);
        }
        let exists = nix::unistd::User::from_name(DEFAULT_RUN_AS).ok().flatten().is_some();
        if !exists {
            return Err(format!(
                "refusing to serve as root: there is no user {DEFAULT_RUN_AS} to switch to; give --run-as USER \
                 to switch to USER once the port and the root are open (USER must be able to read the root), \
                 or --run-as root to keep root deliberately"
            ));
        }
        eprintln!(
            "ftpkit: started as root: serving as {DEFAULT_RUN_AS} once the port and the root are open \
             (--run-as USER to choose the user, --run-as root to keep root)"
        );
        return plan_run_as(Some(DEFAULT_RUN_AS));
    };
    let user = nix::unistd::User::from_name(name)
        .map_err(|e| format!("--run-as {name}: cannot look the user up: {e}"))?
        .ok_or_else(|| format!("--run-as {name}: no such user"))?;
    if user.uid == euid {
        if euid.is_root() {
            eprintln!("ftpkit: warning: --run-as {name}: serving as root, as asked");
        }
        return Ok(None);
    }
    if !euid.is_root() {
        return Err(format!("--run-as {name}: only root can switch to another user (this is uid {euid})"));
    }
    Ok(Some(Target { name: name.to_owned(), uid: user.uid, gid: user.gid }))
}

/// Switches the whole process (every thread) to `target`'s groups, gid and
/// uid, then checks that root cannot be taken back.
fn drop_to(target: &Target) -> Result<(), String> {
    use nix::unistd::{getegid, geteuid, initgroups, setgid, setuid};
    let name = &target.name;
    let fail = |what: &str, e: nix::Error| format!("--run-as {name}: {what} failed: {e}");
    let c_name = CString::new(name.as_bytes()).map_err(|_| format!("--run-as {name:?}: not a user name"))?;
    initgroups(&c_name, target.gid).map_err(|e| fail("initgroups", e))?;
    setgid(target.gid).map_err(|e| fail("setgid", e))?;
    setuid(target.uid).map_err(|e| fail("setuid", e))?;
    if setuid(Uid::from_raw(0)).is_ok() || geteuid() != target.uid || getegid() != target.gid {
        return Err(format!("--run-as {name}: root privileges were not dropped"));
    }
    Ok(())
}

/// Ctrl-C (SIGINT), or SIGTERM (service managers, `docker stop`). Both
/// handlers are registered when this is called, not when the future is
/// first polled, so no signal between the two goes to the default action.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// The process's umask, which `LocalFs` files get until a session sets its
/// own with `SITE UMASK` (read from `/proc/self/status`, as setting it to
/// read it back would race with the runtime's threads; `022` elsewhere).
fn process_umask() -> ftp_session::server::Umask {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
            u32::from_str_radix(line.trim(), 8).ok()
        })
        .and_then(ftp_session::server::Umask::new)
        .unwrap_or(ftp_session::server::Umask::DEFAULT)
}
