//! `ftpkit serve`'s settings (issue 18): the flags given on the command
//! line, over the keys of the configuration file (`--config FILE`), over
//! the defaults, which are kept here and only here ([`Settings::default`]).
//!
//! # The file
//!
//! A TOML file whose top-level keys are the `serve` flags' long names in
//! snake_case, with the same values: `max_sessions_per_ip = 16`,
//! `tls_cert = "/etc/ssl/ftp.pem"`, `passive_ports = "30000-30100"`,
//! `user = ["alice:pw:rw"]`, `atomic_uploads = true`,
//! `anonymous_download_rate = "1M"` (docs/ftpkit.example.toml has every
//! key). A relative path in the file (`root`, `tls_cert`, `tls_key`,
//! `users_file`, `anonymous_root`, `xferlog`) is relative to the file's
//! directory; on the command line, to the current directory. An unknown key
//! is an error naming the key, its line and column.
//!
//! # Merging
//!
//! Both the flags and the file are a [`Layer`] (every value optional; the
//! same struct is the clap argument group and the file's schema, so that a
//! flag cannot miss its key). [`merge`] takes each value from the flags,
//! else from the file, else from [`Settings::default`], then checks the
//! combinations (`--tls-cert` needs `--tls-key`, ...). A switch given on
//! the command line may carry a value to override the file's `true`:
//! `--atomic-uploads=false`. A list (`user`) given on the command line
//! replaces the file's, it is not added to it.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::logging::{LogFormat, LogLevel};

/// Where `--metrics-listen` given without an address listens.
pub(crate) const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9121";

/// The masked form of a password in `--print-config`.
const MASK: &str = "********";

/// A byte count (a rate in bytes per second): digits, or digits with a `K`,
/// `M` or `G` suffix in powers of 1024 (`"1M"` is 1048576); in the file an
/// integer too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bytes(pub(crate) u64);

impl FromStr for Bytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected a byte count such as 524288, 512K, 1M or 2G");
        let (digits, shift) = match s.as_bytes().last() {
            Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
            Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
            Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
            _ => (s, 0),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(1 << shift)).ok_or_else(bad)?;
        Ok(Bytes(n))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte count: an integer, or a string such as \"512K\", \"1M\" or \"2G\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Bytes, E> {
                u64::try_from(v).map(Bytes).map_err(|_| E::custom("a byte count cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bytes, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The `serve` flags, and the keys of the configuration file: every value
/// is optional so that [`merge`] can tell a flag given from one left out.
/// The defaults the help text quotes are [`Settings::default`]'s.
#[derive(Clone, Debug, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    /// The directory to serve (default: the current directory). As root
    /// with --run-as USER, USER must be able to read it (and write it for
    /// writable users).
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Serve an object store instead of a directory: s3://BUCKET/PREFIX
    /// (credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_SESSION_TOKEN, AWS_REGION) or file:///DIR; several nodes on the
    /// same bucket serve the same files (default: --root).
    #[arg(long, value_name = "URL")]
    pub(crate) storage: Option<String>,
    /// The endpoint of an S3-compatible store (SeaweedFS, MinIO) for an
    /// s3:// --storage (default: AWS, or AWS_ENDPOINT).
    #[arg(long, value_name = "URL")]
    pub(crate) s3_endpoint: Option<String>,
    /// Let --s3-endpoint be plain http:// (a store on this host or a
    /// private network; default: off).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) s3_allow_http: Option<bool>,
    /// Where to listen (default: 127.0.0.1:2121).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// Allow anonymous login (default: on when no --user and no
    /// --users-file is given, off otherwise).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) anonymous: Option<bool>,
    /// A user, NAME:PASSWORD, or NAME:PASSWORD:rw for write access.
    /// Repeatable. The password is visible to every local user (ps):
    /// prefer --users-file with `ftpkit passwd`.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:rw]")]
    #[serde(default)]
    pub(crate) user: Vec<String>,
    /// Users with hashed passwords, homes, networks and limits (written by
    /// `ftpkit passwd NAME --users-file FILE`); re-read on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub(crate) users_file: Option<PathBuf>,
    /// Let anonymous users write too (default: off).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) writable: Option<bool>,
    /// The anonymous users' own root (default: --root).
    #[arg(long, value_name = "DIR")]
    pub(crate) anonymous_root: Option<PathBuf>,
    /// An upload-only directory for anonymous users, such as /incoming
    /// (a path under their root): new files may be dropped there even when
    /// anonymous users are read-only, and no anonymous user can download,
    /// list or change them (vsftpd's anon_upload_enable + chown_uploads;
    /// default: none).
    #[arg(long, value_name = "PATH")]
    pub(crate) anonymous_incoming: Option<String>,
    /// Bytes per second of each anonymous download; K, M and G suffixes
    /// are powers of 1024 (default: no limit).
    #[arg(long, value_name = "BYTES")]
    pub(crate) anonymous_download_rate: Option<Bytes>,
    /// Bytes per second of each anonymous upload; K, M and G suffixes are
    /// powers of 1024 (default: no limit).
    #[arg(long, value_name = "BYTES")]
    pub(crate) anonymous_upload_rate: Option<Bytes>,
    /// Remove what a failed upload wrote instead of keeping it for a
    /// resume (default: kept, as vsftpd and proftpd).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) remove_failed_uploads: Option<bool>,
    /// Passive data ports, LOW-HIGH (default: drawn at random from 1024-65535).
    #[arg(long, value_name = "LOW-HIGH")]
    pub(crate) passive_ports: Option<String>,
    /// The IPv4 address to advertise in PASV replies (behind NAT).
    #[arg(long, value_name = "IP")]
    pub(crate) passive_address: Option<IpAddr>,
    /// A load balancer's network (CIDR, or one address) trusted to open
    /// each connection with a PROXY protocol header, version 1 or 2
    /// (HAProxy's send-proxy / send-proxy-v2), whose client address is then
    /// the session's for limits, bans, the PORT check and the log; from it
    /// the header is required, from elsewhere a header is refused with 421.
    /// Repeatable (default: none, the PROXY protocol off).
    #[arg(long = "proxy-protocol-from", value_name = "CIDR")]
    #[serde(default)]
    pub(crate) proxy_protocol_from: Vec<String>,
    /// Most concurrent sessions, 421 past it (default: 256; 0: no limit).
    /// Changed by a reload (SIGHUP).
    #[arg(long, value_name = "N")]
    pub(crate) max_sessions: Option<usize>,
    /// Most concurrent sessions from one IP address, 421 past it (default:
    /// 16; 0: no limit). Changed by a reload (SIGHUP).
    #[arg(long, value_name = "N")]
    pub(crate) max_sessions_per_ip: Option<usize>,
    /// Seconds running transfers may take to finish on Ctrl-C or SIGTERM
    /// before they are cut; every session gets 421 either way (default: 10).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) shutdown_grace: Option<u64>,
    /// On Ctrl-C or SIGTERM, close the listening socket at once, so new
    /// connections are refused instead of answered 421: behind a load
    /// balancer its health checks fail and it sends new sessions to the
    /// other nodes, while running transfers here still finish within
    /// --shutdown-grace (README "Running a cluster").
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) close_listener_on_stop: Option<bool>,
    /// Threads the sessions run on, each session on one of them with every
    /// task it starts (default: one per CPU this process may use).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<u64>,
    /// Seconds without a command before a session is closed (default: 300).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) idle_timeout: Option<u64>,
    /// Seconds from the first byte of a command line to its end before the
    /// session is closed with 421, so that a client trickling bytes cannot
    /// hold a session (default: 15; 0: no limit, the idle timeout still
    /// applies).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) line_timeout: Option<u64>,
    /// Seconds a transfer may go without moving a byte before it is aborted
    /// with 426 (default: 300, or --idle-timeout when that is shorter).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) data_timeout: Option<u64>,
    /// Most passive listeners held at once by sessions from one IP address
    /// (425 past it; default: a quarter of --passive-ports, no cap without).
    #[arg(long, value_name = "N")]
    pub(crate) max_passive_per_ip: Option<usize>,
    /// Failed logins from one IP address (an IPv6 /64) within
    /// --login-failure-window that ban it for --login-ban (default: 10; 0:
    /// no ban). Passwords from an address that failed recently are checked
    /// at most one per --failed-login-delay, over all its connections.
    #[arg(long, value_name = "N")]
    pub(crate) max_login_failures_per_ip: Option<u32>,
    /// Seconds a failed login counts towards --max-login-failures-per-ip
    /// (default: 600).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) login_failure_window: Option<u64>,
    /// Seconds a banned address is refused, 421 before the greeting
    /// (default: 900).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) login_ban: Option<u64>,
    /// Seconds a failed login's 530 is held back, and, after a failure
    /// from the same address, every login reply (default: 2).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) failed_login_delay: Option<u64>,
    /// FTPS: the certificate chain (PEM). Needs --tls-key. Re-read on
    /// SIGHUP (a renewed certificate without a restart).
    #[arg(long, value_name = "PEM")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// FTPS: the private key (PEM). Re-read on SIGHUP.
    #[arg(long, value_name = "PEM")]
    pub(crate) tls_key: Option<PathBuf>,
    /// FTPS with a fresh self-signed certificate (for local use).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) tls_self_signed: Option<bool>,
    /// Implicit FTPS: TLS from the first byte (ftps:// in curl, port 990 by
    /// convention) instead of AUTH TLS. Needs a certificate.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) implicit_tls: Option<bool>,
    /// Accept CCC (RFC 4217 section 6: back to a plaintext control
    /// connection after login, for NAT helpers that read it). Off by default.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) allow_ccc: Option<bool>,
    /// Refuse logins and transfers without TLS (RFC 4217; needs a
    /// certificate), the anonymous account's included.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) require_tls: Option<bool>,
    /// With --require-tls, still let anonymous users log in and download
    /// over plaintext (a public mirror offering FTPS to named users).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) allow_plaintext_anonymous: Option<bool>,
    /// Do not require data connections to resume the control connection's TLS
    /// session (for clients that cannot, such as Python's ftplib; weakens
    /// the protection against data-connection theft).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) no_tls_resumption: Option<bool>,
    /// Let a data connection resume a TLS session made on another control
    /// connection from the same address and user (rclone before 1.64, whose
    /// parallel connections share one session cache); other users and
    /// addresses are still refused.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) tls_resumption_same_client: Option<bool>,
    /// Refuse (426) a protected upload whose data connection ends without a
    /// TLS close_notify, instead of accepting it with a warning that it may
    /// be truncated (SECURITY.md L7; vsftpd's strict_ssl_read_eof).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) require_tls_close_notify: Option<bool>,
    /// Write each STOR to a hidden temporary file in the same directory and
    /// rename it over the target only when the upload completed, so no
    /// reader sees half a file and a failed upload replaces nothing
    /// (APPE and resumed uploads still write in place).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) atomic_uploads: Option<bool>,
    /// The log on stderr: human lines or one JSON object a line (default:
    /// text).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormat>,
    /// The least severe events logged on stderr (default: info:
    /// connections, logins, transfers).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub(crate) log_level: Option<LogLevel>,
    /// Also write every finished transfer to FILE in the xferlog format
    /// (as wu-ftpd and vsftpd do).
    #[arg(long, value_name = "FILE")]
    pub(crate) xferlog: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR/metrics (given without an
    /// address: 127.0.0.1:9121; keep it on loopback or a private network).
    #[arg(long, num_args = 0..=1, default_missing_value = DEFAULT_METRICS_LISTEN, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Started as root: switch to USER (its uid, gid and groups) once the
    /// port and the root are open (default as root: nobody, as vsftpd's
    /// nopriv_user; `--run-as root` keeps root deliberately, with a
    /// warning).
    #[arg(long, value_name = "USER")]
    pub(crate) run_as: Option<String>,
}

/// The effective configuration: what `serve` runs with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) root: PathBuf,
    pub(crate) storage: Option<String>,
    pub(crate) s3_endpoint: Option<String>,
    pub(crate) s3_allow_http: bool,
    pub(crate) listen: SocketAddr,
    pub(crate) anonymous: bool,
    /// `NAME:PASSWORD[:rw]` as given (checked by [`merge`]).
    pub(crate) user: Vec<String>,
    pub(crate) users_file: Option<PathBuf>,
    pub(crate) writable: bool,
    pub(crate) anonymous_root: Option<PathBuf>,
    pub(crate) anonymous_incoming: Option<String>,
    pub(crate) anonymous_download_rate: Option<u64>,
    pub(crate) anonymous_upload_rate: Option<u64>,
    pub(crate) remove_failed_uploads: bool,
    pub(crate) passive_ports: Option<(u16, u16)>,
    pub(crate) passive_address: Option<Ipv4Addr>,
    pub(crate) proxy_protocol_from: Vec<ipnet::IpNet>,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_ip: usize,
    pub(crate) shutdown_grace: u64,
    pub(crate) close_listener_on_stop: bool,
    pub(crate) threads: Option<u64>,
    pub(crate) idle_timeout: u64,
    pub(crate) line_timeout: u64,
    pub(crate) data_timeout: Option<u64>,
    pub(crate) max_passive_per_ip: Option<usize>,
    pub(crate) max_login_failures_per_ip: u32,
    pub(crate) login_failure_window: u64,
    pub(crate) login_ban: u64,
    pub(crate) failed_login_delay: u64,
    pub(crate) tls_cert: Option<PathBuf>,
    pub(crate) tls_key: Option<PathBuf>,
    pub(crate) tls_self_signed: bool,
    pub(crate) implicit_tls: bool,
    pub(crate) allow_ccc: bool,
    pub(crate) require_tls: bool,
    pub(crate) allow_plaintext_anonymous: bool,
    pub(crate) no_tls_resumption: bool,
    pub(crate) tls_resumption_same_client: bool,
    pub(crate) require_tls_close_notify: bool,
    pub(crate) atomic_uploads: bool,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: LogLevel,
    pub(crate) xferlog: Option<PathBuf>,
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) run_as: Option<String>,
}

impl Default for Settings {
    /// The defaults, the only place they are written (the help text
    /// quotes them).
    fn default() -> Self {
        Settings {
            root: PathBuf::from("."),
            storage: None,
            s3_endpoint: None,
            s3_allow_http: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 2121)),
            // Resolved by `merge`: on when nobody else can log in.
            anonymous: true,
            user: Vec::new(),
            users_file: None,
            writable: false,
            anonymous_root: None,
            anonymous_incoming: None,
            anonymous_download_rate: None,
            anonymous_upload_rate: None,
            remove_failed_uploads: false,
            passive_ports: None,
            passive_address: None,
            proxy_protocol_from: Vec::new(),
            max_sessions: 256,
            max_sessions_per_ip: ftp_tokio::server::DEFAULT_MAX_SESSIONS_PER_IP,
            shutdown_grace: 10,
            close_listener_on_stop: false,
            threads: None,
            idle_timeout: 300,
            line_timeout: 15,
            data_timeout: None,
            max_passive_per_ip: None,
            max_login_failures_per_ip: 10,
            login_failure_window: 600,
            login_ban: 900,
            failed_login_delay: 2,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            implicit_tls: false,
            allow_ccc: false,
            require_tls: false,
            allow_plaintext_anonymous: false,
            no_tls_resumption: false,
            tls_resumption_same_client: false,
            require_tls_close_notify: false,
            atomic_uploads: false,
            log_format: LogFormat::Text,
            log_level: LogLevel::Info,
            xferlog: None,
            metrics_listen: None,
            run_as: None,
        }
    }
}

/// Reads the configuration file at `path`. Relative paths in it are made
/// relative to its directory. Errors start with the path; a syntax error,
/// an unknown key or a value of the wrong type gives the line and column.
pub(crate) fn load(path: &Path) -> Result<Layer, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?;
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &dir).map_err(|e| format!("config {}:{e}", path.display()))
}

/// [`load`] on text already read; `dir` is where relative paths start.
/// Errors start with `LINE:COLUMN: ` when the position is known.
fn parse(text: &str, dir: &Path) -> Result<Layer, String> {
    let mut layer: Layer = toml::from_str(text).map_err(|e| {
        let mut message = e.message().trim_end().to_owned();
        // "unknown field `x`, expected one of <every key>": the key is
        // what matters; the example file lists them all.
        if message.starts_with("unknown field")
            && let Some(cut) = message.find(", expected")
        {
            message.truncate(cut);
            message.push_str(" (docs/ftpkit.example.toml lists every key)");
        }
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("{line}:{column}: {message}")
            }
            None => format!(" {message}"),
        }
    })?;
    for path in [
        &mut layer.root,
        &mut layer.users_file,
        &mut layer.anonymous_root,
        &mut layer.tls_cert,
        &mut layer.tls_key,
        &mut layer.xferlog,
    ]
    .into_iter()
    .flatten()
    {
        if path.is_relative() {
            *path = dir.join(&*path);
        }
    }
    Ok(layer)
}

/// The effective settings: each value from `flags`, else from `file`, else
/// the default; then the combinations are checked.
///
/// # Errors
/// A value or a combination that cannot work, with the flag's name.
pub(crate) fn merge(flags: &Layer, file: Option<&Layer>) -> Result<Settings, String> {
    let empty = Layer::default();
    let file = file.unwrap_or(&empty);
    let d = Settings::default();
    macro_rules! pick {
        ($field:ident) => {
            flags.$field.clone().or_else(|| file.$field.clone())
        };
    }
    let user = if flags.user.is_empty() { file.user.clone() } else { flags.user.clone() };
    for spec in &user {
        parse_user(spec)?;
    }
    let users_file = pick!(users_file);
    let anonymous = pick!(anonymous).unwrap_or(user.is_empty() && users_file.is_none());
    let passive_ports = pick!(passive_ports).as_deref().map(parse_ports).transpose()?;
    let passive_address = match pick!(passive_address) {
        None => None,
        Some(IpAddr::V4(ip)) => Some(ip),
        Some(IpAddr::V6(_)) => {
            return Err("--passive-address must be IPv4 (PASV cannot carry IPv6; EPSV needs none)".into());
        }
    };
    let proxy_protocol_from =
        if flags.proxy_protocol_from.is_empty() { &file.proxy_protocol_from } else { &flags.proxy_protocol_from };
    let proxy_protocol_from = proxy_protocol_from.iter().map(|s| parse_network(s)).collect::<Result<Vec<_>, _>>()?;
    let threads = pick!(threads);
    if threads.is_some_and(|n| !(1..=1024).contains(&n)) {
        return Err("--threads must be 1 to 1024".into());
    }
    let data_timeout = pick!(data_timeout);
    if data_timeout == Some(0) {
        return Err("--data-timeout must be at least 1 second".into());
    }
    let rate = |value: Option<Bytes>, flag: &str| match value {
        Some(Bytes(0)) => Err(format!("--{flag} must be above zero (leave it out for no limit)")),
        other => Ok(other.map(|b| b.0)),
    };
    let s = Settings {
        root: pick!(root).unwrap_or(d.root),
        storage: pick!(storage),
        s3_endpoint: pick!(s3_endpoint),
        s3_allow_http: pick!(s3_allow_http).unwrap_or(d.s3_allow_http),
        listen: pick!(listen).unwrap_or(d.listen),
        anonymous,
        user,
        users_file,
        writable: pick!(writable).unwrap_or(d.writable),
        anonymous_root: pick!(anonymous_root),
        anonymous_incoming: pick!(anonymous_incoming),
        anonymous_download_rate: rate(pick!(anonymous_download_rate), "anonymous-download-rate")?,
        anonymous_upload_rate: rate(pick!(anonymous_upload_rate), "anonymous-upload-rate")?,
        remove_failed_uploads: pick!(remove_failed_uploads).unwrap_or(d.remove_failed_uploads),
        passive_ports,
        passive_address,
        proxy_protocol_from,
        max_sessions: pick!(max_sessions).unwrap_or(d.max_sessions),
        max_sessions_per_ip: pick!(max_sessions_per_ip).unwrap_or(d.max_sessions_per_ip),
        shutdown_grace: pick!(shutdown_grace).unwrap_or(d.shutdown_grace),
        close_listener_on_stop: pick!(close_listener_on_stop).unwrap_or(d.close_listener_on_stop),
        threads,
        idle_timeout: pick!(idle_timeout).unwrap_or(d.idle_timeout),
        line_timeout: pick!(line_timeout).unwrap_or(d.line_timeout),
        data_timeout,
        max_passive_per_ip: pick!(max_passive_per_ip),
        max_login_failures_per_ip: pick!(max_login_failures_per_ip).unwrap_or(d.max_login_failures_per_ip),
        login_failure_window: pick!(login_failure_window).unwrap_or(d.login_failure_window),
        login_ban: pick!(login_ban).unwrap_or(d.login_ban),
        failed_login_delay: pick!(failed_login_delay).unwrap_or(d.failed_login_delay),
        tls_cert: pick!(tls_cert),
        tls_key: pick!(tls_key),
        tls_self_signed: pick!(tls_self_signed).unwrap_or(d.tls_self_signed),
        implicit_tls: pick!(implicit_tls).unwrap_or(d.implicit_tls),
        allow_ccc: pick!(allow_ccc).unwrap_or(d.allow_ccc),
        require_tls: pick!(require_tls).unwrap_or(d.require_tls),
        allow_plaintext_anonymous: pick!(allow_plaintext_anonymous).unwrap_or(d.allow_plaintext_anonymous),
        no_tls_resumption: pick!(no_tls_resumption).unwrap_or(d.no_tls_resumption),
        tls_resumption_same_client: pick!(tls_resumption_same_client).unwrap_or(d.tls_resumption_same_client),
        require_tls_close_notify: pick!(require_tls_close_notify).unwrap_or(d.require_tls_close_notify),
        atomic_uploads: pick!(atomic_uploads).unwrap_or(d.atomic_uploads),
        log_format: pick!(log_format).unwrap_or(d.log_format),
        log_level: pick!(log_level).unwrap_or(d.log_level),
        xferlog: pick!(xferlog),
        metrics_listen: pick!(metrics_listen),
        run_as: pick!(run_as),
    };
    s.check()?;
    Ok(s)
}

impl Settings {
    /// The combinations clap checked when every setting was a flag.
    fn check(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
            (Some(_), Some(_)) if self.tls_self_signed => {
                return Err("--tls-cert and --tls-self-signed cannot be used together".into());
            }
            _ => {}
        }
        let tls = self.tls_cert.is_some() || self.tls_self_signed;
        if self.implicit_tls && !tls {
            return Err("--implicit-tls needs --tls-cert/--tls-key or --tls-self-signed".into());
        }
        if self.require_tls && !tls {
            return Err("--require-tls needs --tls-cert/--tls-key or --tls-self-signed".into());
        }
        if self.allow_plaintext_anonymous && !self.require_tls {
            return Err("--allow-plaintext-anonymous needs --require-tls".into());
        }
        if self.no_tls_resumption && self.tls_resumption_same_client {
            return Err("--no-tls-resumption and --tls-resumption-same-client cannot be used together".into());
        }
        if self.run_as.as_deref() == Some("") {
            return Err("--run-as needs a user name".into());
        }
        Ok(())
    }

    /// Every key with its value (TOML), `None` for one that is unset;
    /// passwords masked when `mask`.
    fn entries(&self, mask: bool) -> Vec<(&'static str, Option<toml::Value>, &'static str)> {
        use toml::Value;
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| Value::String(p.to_string_lossy().into_owned()));
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        let user = self
            .user
            .iter()
            .map(|spec| Value::String(if mask { masked(spec) } else { spec.clone() }))
            .collect::<Vec<_>>();
        vec![
            ("root", Some(Value::String(self.root.to_string_lossy().into_owned())), ""),
            ("storage", self.storage.clone().map(Value::String), "the root directory"),
            ("s3_endpoint", self.s3_endpoint.clone().map(Value::String), "AWS, or AWS_ENDPOINT"),
            ("s3_allow_http", Some(Value::Boolean(self.s3_allow_http)), ""),
            ("listen", Some(Value::String(self.listen.to_string())), ""),
            ("anonymous", Some(Value::Boolean(self.anonymous)), ""),
            ("user", Some(Value::Array(user)), ""),
            ("users_file", path(&self.users_file), "no users file"),
            ("writable", Some(Value::Boolean(self.writable)), ""),
            ("anonymous_root", path(&self.anonymous_root), "the root"),
            ("anonymous_incoming", self.anonymous_incoming.clone().map(Value::String), "no upload-only directory"),
            ("anonymous_download_rate", self.anonymous_download_rate.map(int), "no limit"),
            ("anonymous_upload_rate", self.anonymous_upload_rate.map(int), "no limit"),
            ("remove_failed_uploads", Some(Value::Boolean(self.remove_failed_uploads)), ""),
            (
                "passive_ports",
                self.passive_ports.map(|(low, high)| Value::String(format!("{low}-{high}"))),
                "drawn at random from 1024-65535",
            ),
            (
                "passive_address",
                self.passive_address.map(|ip| Value::String(ip.to_string())),
                "the control connection's own address",
            ),
            (
                "proxy_protocol_from",
                Some(Value::Array(self.proxy_protocol_from.iter().map(|n| Value::String(n.to_string())).collect())),
                "",
            ),
            ("max_sessions", Some(int(self.max_sessions as u64)), ""),
            ("max_sessions_per_ip", Some(int(self.max_sessions_per_ip as u64)), ""),
            ("shutdown_grace", Some(int(self.shutdown_grace)), ""),
            ("close_listener_on_stop", Some(Value::Boolean(self.close_listener_on_stop)), ""),
            ("threads", self.threads.map(int), "one per CPU"),
            ("idle_timeout", Some(int(self.idle_timeout)), ""),
            ("line_timeout", Some(int(self.line_timeout)), ""),
            ("data_timeout", self.data_timeout.map(int), "300, or idle_timeout when shorter"),
            (
                "max_passive_per_ip",
                self.max_passive_per_ip.map(|n| int(n as u64)),
                "a quarter of passive_ports, no cap without",
            ),
            ("max_login_failures_per_ip", Some(int(u64::from(self.max_login_failures_per_ip))), ""),
            ("login_failure_window", Some(int(self.login_failure_window)), ""),
            ("login_ban", Some(int(self.login_ban)), ""),
            ("failed_login_delay", Some(int(self.failed_login_delay)), ""),
            ("tls_cert", path(&self.tls_cert), "no certificate"),
            ("tls_key", path(&self.tls_key), "no key"),
            ("tls_self_signed", Some(Value::Boolean(self.tls_self_signed)), ""),
            ("implicit_tls", Some(Value::Boolean(self.implicit_tls)), ""),
            ("allow_ccc", Some(Value::Boolean(self.allow_ccc)), ""),
            ("require_tls", Some(Value::Boolean(self.require_tls)), ""),
            ("allow_plaintext_anonymous", Some(Value::Boolean(self.allow_plaintext_anonymous)), ""),
            ("no_tls_resumption", Some(Value::Boolean(self.no_tls_resumption)), ""),
            ("tls_resumption_same_client", Some(Value::Boolean(self.tls_resumption_same_client)), ""),
            ("require_tls_close_notify", Some(Value::Boolean(self.require_tls_close_notify)), ""),
            ("atomic_uploads", Some(Value::Boolean(self.atomic_uploads)), ""),
            ("log_format", Some(Value::String(value_name(self.log_format))), ""),
            ("log_level", Some(Value::String(value_name(self.log_level))), ""),
            ("xferlog", path(&self.xferlog), "no xferlog"),
            ("metrics_listen", self.metrics_listen.map(|a| Value::String(a.to_string())), "no metrics"),
            ("run_as", self.run_as.clone().map(Value::String), "the current user"),
        ]
    }

    /// The configuration as a TOML file (`--print-config`): every key, the
    /// defaults included; an unset optional key as a comment saying what
    /// applies instead. Passwords in `user` are masked.
    pub(crate) fn to_toml(&self) -> String {
        let mut out = String::from("# ftpkit serve: the effective configuration (flags, then file, then defaults)\n");
        for (key, value, unset) in self.entries(true) {
            let _ = match value {
                Some(value) => writeln!(out, "{key} = {value}"),
                None => writeln!(out, "# {key} =   (unset: {unset})"),
            };
        }
        out
    }

    /// The keys whose values differ between `self` and `other`.
    pub(crate) fn changed(&self, other: &Settings) -> Vec<&'static str> {
        self.entries(false)
            .into_iter()
            .zip(other.entries(false))
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect()
    }
}

/// A `--proxy-protocol-from` network: `10.0.0.0/24`, or one address
/// (`10.0.0.5`, as `/32` or `/128`).
fn parse_network(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("--proxy-protocol-from {s:?}: expected a network such as 10.0.0.0/24 or an address"))
}

/// A clap value enum's name on the command line (`text`, `json`, `info`).
fn value_name<T: clap::ValueEnum>(value: T) -> String {
    value.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

/// `NAME:PASSWORD[:rw]` with the password masked (`NAME:********[:rw]`).
fn masked(spec: &str) -> String {
    let mut parts = spec.splitn(3, ':');
    let name = parts.next().unwrap_or_default();
    let _password = parts.next();
    match parts.next() {
        Some(mode) => format!("{name}:{MASK}:{mode}"),
        None => format!("{name}:{MASK}"),
    }
}

/// A `--user` value: `NAME:PASSWORD` or `NAME:PASSWORD:rw`.
pub(crate) fn parse_user(spec: &str) -> Result<ftp_tokio::auth::User, String> {
    let mut parts = spec.splitn(3, ':');
    let shown = masked(spec);
    let (Some(name), Some(password)) = (parts.next(), parts.next()) else {
        return Err(format!("--user {shown}: expected NAME:PASSWORD[:rw]"));
    };
    let writable = match parts.next() {
        None => false,
        Some("rw") => true,
        Some(other) => return Err(format!("--user {shown}: unknown mode {other:?} (use rw)")),
    };
    Ok(ftp_tokio::auth::User { name: name.to_owned(), password: password.to_owned(), writable })
}

/// A `--passive-ports` value: `LOW-HIGH`.
fn parse_ports(spec: &str) -> Result<(u16, u16), String> {
    let (low, high) = spec.split_once('-').ok_or_else(|| format!("--passive-ports {spec}: expected LOW-HIGH"))?;
    let low: u16 = low.parse().map_err(|_| format!("--passive-ports: bad port {low:?}"))?;
    let high: u16 = high.parse().map_err(|_| format!("--passive-ports: bad port {high:?}"))?;
    if low == 0 || low > high {
        return Err(format!("--passive-ports {spec}: LOW must be 1..=HIGH"));
    }
    Ok((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_suffixes() {
        assert_eq!("512".parse::<Bytes>(), Ok(Bytes(512)));
        assert_eq!("1K".parse::<Bytes>(), Ok(Bytes(1024)));
        assert_eq!("1m".parse::<Bytes>(), Ok(Bytes(1 << 20)));
        assert_eq!("2G".parse::<Bytes>(), Ok(Bytes(2 << 30)));
        assert!("1T".parse::<Bytes>().is_err());
        assert!("M".parse::<Bytes>().is_err());
        assert!("-1".parse::<Bytes>().is_err());
        assert!("99999999999999999999G".parse::<Bytes>().is_err());
    }

    #[test]
    fn flags_over_file_over_defaults() {
        let file = parse(
            "max_sessions = 3\nmax_sessions_per_ip = 2\nroot = \"srv\"\natomic_uploads = true\n",
            Path::new("/etc/ftp"),
        )
        .unwrap();
        let flags = Layer { max_sessions: Some(9), atomic_uploads: Some(false), ..Layer::default() };
        let s = merge(&flags, Some(&file)).unwrap();
        assert_eq!(s.max_sessions, 9);
        assert_eq!(s.max_sessions_per_ip, 2);
        assert_eq!(s.root, Path::new("/etc/ftp/srv"));
        assert!(!s.atomic_uploads);
        assert_eq!(s.idle_timeout, Settings::default().idle_timeout);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let Err(e) = parse("listen = \"127.0.0.1:21\"\nmax_sesions = 3\n", Path::new("/")) else { panic!() };
        assert!(e.starts_with("2:1: unknown field `max_sesions`"), "{e}");
    }

    #[test]
    fn anonymous_follows_users_unless_set() {
        let flags = Layer { user: vec!["a:b".into()], ..Layer::default() };
        assert!(!merge(&flags, None).unwrap().anonymous);
        assert!(merge(&Layer::default(), None).unwrap().anonymous);
        let flags = Layer { user: vec!["a:b".into()], anonymous: Some(true), ..Layer::default() };
        assert!(merge(&flags, None).unwrap().anonymous);
    }

    #[test]
    fn printed_config_reads_back() {
        let flags =
            Layer { user: vec!["alice:s3cret:rw".into()], passive_ports: Some("3000-3010".into()), ..Layer::default() };
        let s = merge(&flags, None).unwrap();
        let text = s.to_toml();
        assert!(text.contains("\"alice:********:rw\"") && !text.contains("s3cret"), "{text}");
        let back = merge(&Layer::default(), Some(&parse(&text, Path::new("/")).unwrap())).unwrap();
        assert_eq!(back.changed(&s), vec!["root", "user"], "{text}");
    }

    /// Issue 19: `--proxy-protocol-from` (repeatable, CIDR or one
    /// address) and the file's `proxy_protocol_from` list, the flags
    /// replacing the file's; a bad network names the flag; the printed
    /// configuration reads back.
    #[test]
    fn issue19_proxy_protocol_from() {
        let file = parse("proxy_protocol_from = [\"10.0.0.0/24\"]\n", Path::new("/")).unwrap();
        let s = merge(&Layer::default(), Some(&file)).unwrap();
        assert_eq!(s.proxy_protocol_from, vec!["10.0.0.0/24".parse::<ipnet::IpNet>().unwrap()]);
        let flags = Layer { proxy_protocol_from: vec!["127.0.0.1".into(), "::1/128".into()], ..Layer::default() };
        let s = merge(&flags, Some(&file)).unwrap();
        let expected: Vec<ipnet::IpNet> = vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()];
        assert_eq!(s.proxy_protocol_from, expected);
        let text = s.to_toml();
        assert!(text.contains("proxy_protocol_from = [\"127.0.0.1/32\", \"::1/128\"]"), "{text}");
        let back = merge(&Layer::default(), Some(&parse(&text, Path::new("/")).unwrap())).unwrap();
        assert!(!back.changed(&s).contains(&"proxy_protocol_from"), "{text}");
        assert_eq!(merge(&Layer::default(), None).unwrap().proxy_protocol_from, vec![]);
        let flags = Layer { proxy_protocol_from: vec!["10.0.0.0/33".into()], ..Layer::default() };
        let Err(e) = merge(&flags, None) else { panic!() };
        assert!(e.starts_with("--proxy-protocol-from"), "{e}");
    }
}
