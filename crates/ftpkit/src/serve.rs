//! `ftpkit serve`: a directory over FTP and FTPS.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ftp_session::server::ServerConfig;
use ftp_tokio::server::{Server, ServerOptions, User};

#[derive(clap::Args)]
pub(crate) struct Serve {
    /// The directory to serve.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:2121")]
    listen: SocketAddr,
    /// Allow anonymous login (the default when no --user is given).
    #[arg(long)]
    anonymous: bool,
    /// A user, NAME:PASSWORD, or NAME:PASSWORD:rw for write access. Repeatable.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:rw]")]
    users: Vec<String>,
    /// Let anonymous users write too.
    #[arg(long)]
    writable: bool,
    /// Passive data ports, LOW-HIGH (default: drawn at random from 1024-65535).
    #[arg(long, value_name = "LOW-HIGH")]
    passive_ports: Option<String>,
    /// The IPv4 address to advertise in PASV replies (behind NAT).
    #[arg(long, value_name = "IP")]
    passive_address: Option<IpAddr>,
    /// Most concurrent sessions (421 past it).
    #[arg(long, default_value_t = 256)]
    max_sessions: usize,
    /// Most concurrent sessions from one IP address (421 past it).
    #[arg(long, default_value_t = 16)]
    max_sessions_per_ip: usize,
    /// Seconds running transfers may take to finish on Ctrl-C or SIGTERM
    /// before they are cut (every session gets 421 either way).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    shutdown_grace: u64,
    /// Threads the sessions run on, each session on one of them with every
    /// task it starts (default: one per CPU this process may use).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Seconds without a command before a session is closed.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Seconds from the first byte of a command line to its end before the
    /// session is closed with 421, so that a client trickling bytes cannot
    /// hold a session (0: no limit; the idle timeout still applies).
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    line_timeout: u64,
    /// Seconds a transfer may go without moving a byte before it is aborted
    /// with 426 (default: 300, or --idle-timeout when that is shorter).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    data_timeout: Option<u64>,
    /// Most passive listeners held at once by sessions from one IP address
    /// (425 past it; default: a quarter of --passive-ports, no cap without).
    #[arg(long, value_name = "N")]
    max_passive_per_ip: Option<usize>,
    /// Failed logins from one IP address (an IPv6 /64) within
    /// --login-failure-window that ban it for --login-ban; 0: no ban.
    /// Passwords from an address that failed recently are checked at most
    /// one per --failed-login-delay, over all its connections.
    #[arg(long, default_value_t = 10, value_name = "N")]
    max_login_failures_per_ip: u32,
    /// Seconds a failed login counts towards --max-login-failures-per-ip.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    login_failure_window: u64,
    /// Seconds a banned address is refused (421 before the greeting).
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    login_ban: u64,
    /// Seconds a failed login's 530 is held back (and, after a failure from
    /// the same address, every login reply).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    failed_login_delay: u64,
    /// FTPS: the certificate chain (PEM). Needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// FTPS: the private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// FTPS with a fresh self-signed certificate (for local use).
    #[arg(long)]
    tls_self_signed: bool,
    /// Implicit FTPS: TLS from the first byte (ftps:// in curl, port 990 by
    /// convention) instead of AUTH TLS. Needs a certificate.
    #[arg(long)]
    implicit_tls: bool,
    /// Accept CCC (RFC 4217 section 6: back to a plaintext control
    /// connection after login, for NAT helpers that read it). Off by default.
    #[arg(long)]
    allow_ccc: bool,
    /// Refuse logins and transfers without TLS (RFC 4217; needs a
    /// certificate), the anonymous account's included.
    #[arg(long)]
    require_tls: bool,
    /// With --require-tls, still let anonymous users log in and download
    /// over plaintext (a public mirror offering FTPS to named users).
    #[arg(long, requires = "require_tls")]
    allow_plaintext_anonymous: bool,
    /// Do not require data connections to resume the control connection's TLS
    /// session (for clients that cannot, such as Python's ftplib; weakens
    /// the protection against data-connection theft).
    #[arg(long)]
    no_tls_resumption: bool,
    /// Let a data connection resume a TLS session made on another control
    /// connection from the same address and user (rclone before 1.64, whose
    /// parallel connections share one session cache); other users and
    /// addresses are still refused.
    #[arg(long, conflicts_with = "no_tls_resumption")]
    tls_resumption_same_client: bool,
    /// Refuse (426) a protected upload whose data connection ends without a
    /// TLS close_notify, instead of accepting it with a warning that it may
    /// be truncated (SECURITY.md L7; vsftpd's strict_ssl_read_eof).
    #[arg(long)]
    require_tls_close_notify: bool,
    /// Write each STOR to a hidden temporary file in the same directory and
    /// rename it over the target only when the upload completed, so no
    /// reader sees half a file and a failed upload replaces nothing
    /// (APPE and resumed uploads still write in place).
    #[arg(long)]
    atomic_uploads: bool,
}

fn parse_user(spec: &str) -> Result<User, String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(name), Some(password)) = (parts.next(), parts.next()) else {
        return Err(format!("--user {spec}: expected NAME:PASSWORD[:rw]"));
    };
    let writable = match parts.next() {
        None => false,
        Some("rw") => true,
        Some(other) => return Err(format!("--user {spec}: unknown mode {other:?} (use rw)")),
    };
    Ok(User { name: name.to_owned(), password: password.to_owned(), writable })
}

fn parse_ports(spec: &str) -> Result<(u16, u16), String> {
    let (low, high) = spec.split_once('-').ok_or_else(|| format!("--passive-ports {spec}: expected LOW-HIGH"))?;
    let low: u16 = low.parse().map_err(|_| format!("--passive-ports: bad port {low:?}"))?;
    let high: u16 = high.parse().map_err(|_| format!("--passive-ports: bad port {high:?}"))?;
    if low == 0 || low > high {
        return Err(format!("--passive-ports {spec}: LOW must be 1..=HIGH"));
    }
    Ok((low, high))
}

pub(crate) async fn serve(args: Serve) -> Result<(), String> {
    // The server's warnings (an upload accepted without close_notify, an
    // incomplete upload) go to stderr; the banner stays on stdout.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    let users = args.users.iter().map(|u| parse_user(u)).collect::<Result<Vec<_>, _>>()?;
    let anonymous = args.anonymous || users.is_empty();
    let passive_address = match args.passive_address {
        None => None,
        Some(IpAddr::V4(ip)) => Some(ip),
        Some(IpAddr::V6(_)) => {
            return Err("--passive-address must be IPv4 (PASV cannot carry IPv6; EPSV needs none)".into());
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(ftp_tokio::tls::from_pem(cert, key)?),
        (_, _, true) => Some(ftp_tokio::tls::self_signed()?),
        _ => None,
    };
    if args.implicit_tls && tls.is_none() {
        return Err("--implicit-tls needs --tls-cert/--tls-key or --tls-self-signed".into());
    }
    if args.require_tls && tls.is_none() {
        return Err("--require-tls needs --tls-cert/--tls-key or --tls-self-signed".into());
    }
    let mut session = ServerConfig::default()
        .require_tls_login(args.require_tls)
        .allow_plaintext_anonymous(args.allow_plaintext_anonymous)
        .require_tls_data(args.require_tls)
        .require_tls_resumption(!args.no_tls_resumption)
        .require_tls_close_notify(args.require_tls_close_notify)
        .allow_ccc(args.allow_ccc)
        .passive_address(passive_address)
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .default_umask(process_umask())
        .line_timeout((args.line_timeout > 0).then(|| Duration::from_secs(args.line_timeout)))
        .failed_login_delay(Duration::from_secs(args.failed_login_delay))
        .greeting("ftpkit ready");
    if let Some(secs) = args.data_timeout {
        session = session.data_stall_timeout(Duration::from_secs(secs));
    }
    let mut options = ServerOptions::new(args.listen, args.root.clone());
    options.anonymous = anonymous;
    options.anonymous_writable = args.writable;
    options.users = users;
    options.passive_ports = args.passive_ports.as_deref().map(parse_ports).transpose()?;
    options.session = session;
    options.max_sessions = args.max_sessions;
    options.max_sessions_per_ip = args.max_sessions_per_ip;
    options.session_threads = match args.threads {
        Some(n) => usize::try_from(n).unwrap_or(1),
        None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
    };
    options.max_passive_per_ip = args.max_passive_per_ip;
    options.implicit_tls = args.implicit_tls;
    options.atomic_uploads = args.atomic_uploads;
    if args.tls_resumption_same_client {
        options.tls_resumption = ftp_tokio::server::TlsResumption::SameClient;
    }
    options.login_guard.max_failures = args.max_login_failures_per_ip;
    options.login_guard.window = Duration::from_secs(args.login_failure_window);
    options.login_guard.ban = Duration::from_secs(args.login_ban);
    let tls_note = match (&tls, args.implicit_tls) {
        (None, _) => "",
        (Some(_), false) => ", FTPS available (AUTH TLS)",
        (Some(_), true) => ", implicit FTPS only",
    };
    options.tls = tls;
    let server = Server::bind(options).await.map_err(|e| format!("cannot serve {}: {e}", args.listen))?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    let who = match (anonymous, args.writable) {
        (true, false) => "read-only to anonymous users".to_owned(),
        (true, true) => "read-write to anonymous users".to_owned(),
        (false, _) => format!("to {} user(s)", args.users.len()),
    };
    let scheme = if args.implicit_tls { "ftps" } else { "ftp" };
    // The handlers are in place before anyone can connect: a SIGTERM that
    // comes right after the first login is a graceful stop, not a kill.
    let stop = stop_signal().map_err(|e| format!("cannot watch for Ctrl-C and SIGTERM: {e}"))?;
    println!("ftpkit: serving {} {who} on {scheme}://{addr}/{tls_note} (Ctrl-C to stop)", server.root().display());
    let handle = server.shutdown_handle();
    let run = tokio::spawn(server.run());
    stop.await;
    eprintln!("ftpkit: stopping: 421 to every session, {}s for running transfers", args.shutdown_grace);
    let cut = handle.shutdown(Duration::from_secs(args.shutdown_grace)).await;
    if cut > 0 {
        eprintln!("ftpkit: {cut} session(s) cut at the end of the grace period");
    }
    match run.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
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
