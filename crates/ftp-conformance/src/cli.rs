//! `ftpkit check`: the command line of the conformance runner.
//!
//! The `ftpkit` binary embeds [`CheckArgs`] as its `check` subcommand and
//! calls [`run`]:
//!
//! ```no_run
//! # async fn demo() -> std::process::ExitCode {
//! use clap::Parser;
//!
//! #[derive(Parser)]
//! enum Cli {
//!     /// Grade an FTP server against the RFCs.
//!     Check(ftp_conformance::cli::CheckArgs),
//! }
//!
//! match Cli::parse() {
//!     Cli::Check(args) => ftp_conformance::cli::run(args).await,
//! }
//! # }
//! ```

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use crate::{Options, Target};

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// A table for people.
    Text,
    /// JSON, one object.
    Json,
    /// JUnit XML, for CI.
    Junit,
}

/// Arguments of `ftpkit check`.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct CheckArgs {
    /// The server: ftp://user:password@host:port/writable-dir (user
    /// `anonymous` when absent, port 21 by default, %XX escapes decoded).
    /// Everything the checks create goes into writable-dir and is removed.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Run the checks' sessions in TLS (AUTH TLS, PBSZ 0, PROT P).
    #[arg(long)]
    pub tls: bool,
    /// Accept any TLS certificate (self-signed servers).
    #[arg(long)]
    pub insecure: bool,
    /// Run only the check with this id, or the checks whose id starts with
    /// it (`rfc4217`). Repeatable.
    #[arg(long = "only", value_name = "ID")]
    pub only: Vec<String>,
    /// How to print the report.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Seconds to wait for each reply or data read.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Seconds the slow-loris check waits for the server to close a
    /// session whose command line never ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    pub idle_limit: f64,
    /// List the checks (id, severity, source, title) and exit.
    #[arg(long)]
    pub list: bool,
}

/// A parsed `ftp://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FtpUrl {
    /// The user (decoded); `anonymous` when the URL has none.
    pub user: String,
    /// The password (decoded); empty when the URL has none.
    pub password: String,
    /// The host, as written (IPv6 without brackets).
    pub host: String,
    /// The port (21 by default).
    pub port: u16,
    /// The path after the host (decoded, without the leading `/`), if any.
    pub dir: Option<String>,
}

/// Reads `ftp://[user[:password]@]host[:port][/path]` (RFC 1738 3.2).
///
/// # Errors
/// A message saying what is wrong with the URL.
///
/// ```
/// use ftp_conformance::cli::parse_url;
/// let u = parse_url("ftp://al%40ice:p%3Ass@[::1]:2121/up%20load").unwrap();
/// assert_eq!((u.user.as_str(), u.password.as_str(), u.host.as_str(), u.port), ("al@ice", "p:ss", "::1", 2121));
/// assert_eq!(u.dir.as_deref(), Some("up load"));
/// assert_eq!(parse_url("ftp://example.com").unwrap().user, "anonymous");
/// ```
pub fn parse_url(url: &str) -> Result<FtpUrl, String> {
    let rest = url
        .strip_prefix("ftp://")
        .or_else(|| url.strip_prefix("FTP://"))
        .ok_or_else(|| format!("{url}: expected ftp://user:password@host:port/writable-dir"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => ("anonymous".to_owned(), String::new()),
        Some(info) => match info.find(':') {
            Some(i) => (percent_decode(&info[..i])?, percent_decode(&info[i + 1..])?),
            None => (percent_decode(info)?, String::new()),
        },
    };
    let user = if user.is_empty() { "anonymous".to_owned() } else { user };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let end = v6.find(']').ok_or("an IPv6 address needs a closing ']'")?;
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => 21,
            None => return Err(format!("unexpected {after:?} after the IPv6 address")),
        };
        (v6[..end].to_owned(), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (hostport[..i].to_owned(), parse_port(&hostport[i + 1..])?),
            None => (hostport.to_owned(), 21),
        }
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    let dir = match path {
        Some(p) if !p.is_empty() => {
            // A `;type=` suffix (RFC 1738 3.2.2) means nothing here.
            let p = p.split(';').next().unwrap_or("");
            let d = percent_decode(p)?;
            let d = d.trim_end_matches('/').to_owned();
            if d.is_empty() { None } else { Some(d) }
        }
        _ => None,
    };
    Ok(FtpUrl { user, password, host, port, dir })
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{p:?} is not a port")),
        Ok(n) => Ok(n),
    }
}

/// Percent-decoding (RFC 3986 2.1, RFC 1738 3.2.2) of one URL component
/// with [`ftp_proto::url::percent_decode`]; the result must be UTF-8. The
/// error is a usage message naming the component.
///
/// # Errors
/// A bad `%XX` escape, or bytes that are not UTF-8 once decoded.
///
/// ```
/// use ftp_conformance::cli::percent_decode;
/// assert_eq!(percent_decode("my%20file%3A1").unwrap(), "my file:1");
/// assert!(percent_decode("%zz").is_err());
/// ```
pub fn percent_decode(s: &str) -> Result<String, String> {
    ftp_proto::url::percent_decode(s).map_err(|e| match e {
        ftp_proto::PercentDecodeError::NotUtf8 => format!("{s:?} does not decode to UTF-8"),
        _ => format!("bad %-escape in {s:?}"),
    })
}

fn seconds(v: f64, what: &str) -> Result<Duration, String> {
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!("--{what} {v}: expected a number of seconds"))
    }
}

/// The target and options the arguments describe (resolves the host).
///
/// # Errors
/// A usage message: bad URL, unknown host, bad number.
pub fn target_of(args: &CheckArgs) -> Result<(Target, Options), String> {
    let url = parse_url(&args.url)?;
    let addr: SocketAddr = match url.host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, url.port),
        Err(_) => (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", url.host))?
            .next()
            .ok_or_else(|| format!("{}: no address", url.host))?,
    };
    let target = Target {
        host: url.host,
        addr,
        user: url.user,
        password: url.password,
        dir: url.dir,
        tls: args.tls,
        insecure: args.insecure,
    };
    let options = Options {
        only: args.only.clone(),
        timeout: seconds(args.timeout, "timeout")?,
        idle_limit: seconds(args.idle_limit, "idle-limit")?,
    };
    if !options.only.is_empty() && !crate::catalogue().iter().any(|c| options.selects(c.id)) {
        return Err(format!("--only {}: no check has such an id (see --list)", options.only.join(", ")));
    }
    Ok((target, options))
}

/// Runs `ftpkit check`: prints the report on standard output.
///
/// Exit status: 0 when no MUST check failed, 1 when one did, 2 for a usage
/// error or when the server cannot be reached at all.
pub async fn run(args: CheckArgs) -> ExitCode {
    if args.list {
        for c in crate::catalogue() {
            println!("{:<48} {:<8} {:<40} {}", c.id, c.severity.label(), c.source, c.title);
        }
        return ExitCode::SUCCESS;
    }
    let (target, options) = match target_of(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ftpkit check: {e}");
            return ExitCode::from(2);
        }
    };
    // Reachability first, so that a wrong port is one clear error, not 80
    // failed checks.
    match tokio::time::timeout(options.timeout, tokio::net::TcpStream::connect(target.addr)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            eprintln!("ftpkit check: cannot connect to {}: {e}", target.addr);
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("ftpkit check: cannot connect to {}: timed out", target.addr);
            return ExitCode::from(2);
        }
    }
    let report = crate::run(&target, &options).await;
    let out = match args.format {
        Format::Text => report.render_text(),
        Format::Json => report.render_json() + "\n",
        Format::Junit => report.render_junit(),
    };
    print!("{out}");
    if report.must_failed() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_defaults_and_decoding() {
        let u = parse_url("ftp://h").unwrap();
        assert_eq!((u.user.as_str(), u.password.as_str(), u.port, u.dir), ("anonymous", "", 21, None));
        let u = parse_url("ftp://a:b%20c@127.0.0.1:2121/x/y/").unwrap();
        assert_eq!((u.user.as_str(), u.password.as_str(), u.host.as_str()), ("a", "b c", "127.0.0.1"));
        assert_eq!(u.dir.as_deref(), Some("x/y"));
        let u = parse_url("ftp://u@h/%2Fabs").unwrap();
        assert_eq!((u.user.as_str(), u.dir.as_deref()), ("u", Some("/abs")));
    }

    #[test]
    fn url_errors() {
        assert!(parse_url("http://h").is_err());
        assert!(parse_url("ftp://h:0").is_err());
        assert!(parse_url("ftp://h:99999").is_err());
        assert!(parse_url("ftp://[::1").is_err());
        assert!(parse_url("ftp://u:%zz@h").is_err());
        assert!(parse_url("ftp://:21").is_err());
    }
}
