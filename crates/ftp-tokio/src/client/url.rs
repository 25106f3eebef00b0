//! `ftp://` and `ftps://` URLs (RFC 1738 section 3.2, as curl reads them).
//!
//! `ftp://user:password@host:port/path`: user and password are
//! percent-decoded; the host may be a bracketed IPv6 address; the port
//! defaults to 21. The path is percent-decoded and taken relative to the
//! login directory, as curl does: `ftp://host/dir/file` is `dir/file`, and
//! `ftp://host//etc/motd` is the absolute `/etc/motd`. `ftps://` means
//! explicit FTPS (`AUTH TLS` on the normal port), as curl's `--ssl-reqd`.

use std::fmt;

use ftp_proto::PercentDecodeError;
use ftp_proto::url::percent_decode;

/// A parsed FTP URL (see the module's documentation).
///
/// ```
/// use ftp_tokio::client::FtpUrl;
/// let url = FtpUrl::parse("ftp://alice:p%40ss@example.test:2121/dir/my%20file.txt").unwrap();
/// assert_eq!((url.user.as_str(), url.password.as_str()), ("alice", "p@ss"));
/// assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("example.test", 2121, "dir/my file.txt"));
/// assert_eq!(url.file_name(), Some("my file.txt"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FtpUrl {
    /// `ftps://`: AUTH TLS before login.
    pub tls: bool,
    /// The user, decoded (`anonymous` when the URL names none).
    pub user: String,
    /// The password, decoded (`ftpkit@` for anonymous; empty when the URL
    /// names a user without one).
    pub password: String,
    /// Whether the URL names the user (`ftp://user@host/`); without one
    /// `user` and `password` are anonymous's.
    pub user_given: bool,
    /// Whether it gives a password (`user:password@`, empty included).
    pub password_given: bool,
    /// The host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// The port (21 when the URL gives none).
    pub port: u16,
    /// The path, decoded, relative to the login directory ("" for it).
    pub path: String,
}

impl fmt::Debug for FtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}@{}:{}/{}", if self.tls { "ftps" } else { "ftp" }, self.user, self.host, self.port, self.path)
    }
}

/// Percent-decodes a URL component (RFC 1738 3.2.2, RFC 3986 2.1); the
/// error says which component is wrong.
fn decode(s: &str) -> Result<String, String> {
    percent_decode(s).map_err(|e| match e {
        PercentDecodeError::NotUtf8 => format!("{s:?} does not decode to UTF-8"),
        _ => format!("bad %-escape in {s:?}"),
    })
}

impl FtpUrl {
    /// Parses `url`; the error says what is wrong in one line.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = strip_prefix_ci(url, "ftp://") {
            (false, rest)
        } else if let Some(rest) = strip_prefix_ci(url, "ftps://") {
            (true, rest)
        } else {
            return Err(format!("{url}: not an ftp:// or ftps:// URL"));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let user_given = userinfo.is_some();
        let password_given = userinfo.is_some_and(|info| info.contains(':'));
        let (user, password) = match userinfo {
            None => ("anonymous".to_owned(), "ftpkit@".to_owned()),
            Some(info) => {
                let (u, p) = info.split_once(':').unwrap_or((info, ""));
                (decode(u)?, decode(p)?)
            }
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| format!("{url}: bad host or port"))?;
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let path = decode(path)?;
        if path.contains(['\r', '\n']) {
            return Err(format!("{url}: line breaks in the path"));
        }
        Ok(Self { tls, user, password, user_given, password_given, host, port, path })
    }

    /// The last path segment as a local file name (for `get`), if it is a
    /// plain one: not empty, `.` or `..`, and without a separator or NUL
    /// (which percent-decoding can produce: `%2e%2e`, `%2f`, `%00`), so
    /// that a URL never names a file outside the current directory
    /// (issue 13: `ftp://h/sub/..` used to write `../.part`).
    pub fn file_name(&self) -> Option<&str> {
        let name = self.path.rsplit('/').next()?;
        let plain = !matches!(name, "" | "." | "..") && !name.contains(['/', '\\', '\0']);
        plain.then_some(name)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &s[prefix.len()..])
}

fn split_host_port(hostport: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => 21,
        Some(p) => p.parse().ok().filter(|&p: &u16| p != 0)?,
    };
    Some((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::FtpUrl;

    #[test]
    fn full_url() {
        let u = FtpUrl::parse("ftp://alice:p%40ss@example.test:2121/dir/my%20file.txt").unwrap();
        assert!(!u.tls);
        assert_eq!((u.user.as_str(), u.password.as_str()), ("alice", "p@ss"));
        assert_eq!((u.host.as_str(), u.port), ("example.test", 2121));
        assert_eq!(u.path, "dir/my file.txt");
        assert_eq!(u.file_name(), Some("my file.txt"));
    }

    #[test]
    fn defaults_and_ipv6() {
        let u = FtpUrl::parse("FTPS://[::1]/").unwrap();
        assert!(u.tls);
        assert_eq!((u.user.as_str(), u.host.as_str(), u.port), ("anonymous", "::1", 21));
        assert_eq!(u.path, "");
        assert_eq!(u.file_name(), None);
        for hostile in [
            "ftp://h/sub/..",
            "ftp://h/sub/.",
            "ftp://h/sub/%2e%2e",
            "ftp://h/a%2f..",
            "ftp://h/a%00b",
            "ftp://h/a%5cb",
        ] {
            assert_eq!(FtpUrl::parse(hostile).unwrap().file_name(), None, "{hostile}");
        }
        let u = FtpUrl::parse("ftp://[::1]:990//etc/motd").unwrap();
        assert_eq!((u.port, u.path.as_str()), (990, "/etc/motd"));
    }

    #[test]
    fn refusals() {
        for bad in [
            "http://x/",
            "ftp://",
            "ftp://h:0/",
            "ftp://h:99999/",
            "ftp://h/%zz",
            "ftp://h/a%0d%0aDELE%20x",
            "ftp://[::1/",
        ] {
            assert!(FtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
