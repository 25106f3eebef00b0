//! Who the client logs in as: the URL's user and password, `--user NAME`
//! with the password from standard input, a netrc file or the terminal, a
//! netrc file's entry for the host, or anonymous.
//!
//! Passwords stay out of the command line (where `ps` and the shell's
//! history show them): `--user` takes a name only, and its password comes
//! from `--password-stdin`, the netrc file (`-n` for `~/.netrc` or
//! `$NETRC`, `--netrc-file FILE`) or a prompt without echo. The netrc
//! format is ftp(1)'s, as curl and Python's `netrc` read it: `machine
//! HOST`, `default`, `login`, `password`, `account` and `macdef` (skipped)
//! tokens, separated by white space, with double-quoted tokens and `#`
//! comments. Like ftp(1) and Python, a password is not taken from a file
//! other users can read.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

/// The user, password and account to log in with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) account: Option<String>,
}

impl std::fmt::Debug for Credentials {
    /// Never the password (it could reach a log or an error message).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("account", &self.account).finish()
    }
}

/// What the command line says about the login (the options of
/// [`crate::remote::Connection`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct Sources {
    /// `--user NAME`.
    pub(crate) user: Option<String>,
    /// `--password-stdin`.
    pub(crate) password_stdin: bool,
    /// `-n`/`--netrc` or `--netrc-file`: which file, if any.
    pub(crate) netrc: Option<PathBuf>,
}

/// One `machine` (or `default`) entry of a netrc file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Entry {
    /// `None` for `default`.
    machine: Option<String>,
    login: Option<String>,
    password: Option<String>,
    account: Option<String>,
}

/// A parsed netrc file.
#[derive(Debug, Default)]
pub(crate) struct Netrc {
    entries: Vec<Entry>,
}

impl Netrc {
    /// Parses netrc text; the error names the line.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokens(text)?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let (line, word) = (tokens[i].0, tokens[i].1.as_str());
            let value = |i: usize| -> Result<String, String> {
                tokens.get(i + 1).map(|t| t.1.clone()).ok_or_else(|| format!("line {line}: {word} without a value"))
            };
            match word {
                "machine" => {
                    entries.push(Entry { machine: Some(value(i)?), ..Entry::default() });
                    i += 2;
                }
                "default" => {
                    entries.push(Entry::default());
                    i += 1;
                }
                "login" | "password" | "account" => {
                    let v = value(i)?;
                    let entry = entries.last_mut().ok_or_else(|| format!("line {line}: {word} before any machine"))?;
                    let slot = match word {
                        "login" => &mut entry.login,
                        "password" => &mut entry.password,
                        _ => &mut entry.account,
                    };
                    *slot = Some(v);
                    i += 2;
                }
                // A macro runs to the next empty line: its body was
                // dropped by `tokens`; only its name is left here.
                "macdef" => i += 2,
                // Tokens some readers know and ftp(1) ignores.
                "port" => i += 2,
                other => return Err(format!("line {line}: unexpected {other:?}")),
            }
        }
        Ok(Self { entries })
    }

    /// The entry for `host` (the first `machine` that names it, case
    /// insensitively; with `login`, the first whose login is that user),
    /// else the `default` entry.
    fn find(&self, host: &str, login: Option<&str>) -> Option<&Entry> {
        let fits = |e: &&Entry| login.is_none_or(|l| e.login.as_deref().is_none_or(|el| el == l));
        self.entries
            .iter()
            .filter(|e| e.machine.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(host)))
            .find(fits)
            .or_else(|| self.entries.iter().filter(|e| e.machine.is_none()).find(fits))
    }
}

/// The netrc text split into (line, token) pairs: white space separates,
/// `"..."` quotes (with `\` escapes), `#` starts a comment at the start of
/// a token, and a `macdef`'s body (up to an empty line) is dropped.
fn tokens(text: &str) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::new();
    let mut in_macro = false;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        if in_macro {
            in_macro = !raw.trim().is_empty();
            continue;
        }
        let mut chars = raw.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            if first == '#' {
                break;
            }
            let mut token = String::new();
            if first == '"' {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {line}: unterminated quote")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => token.push('\n'),
                            Some('r') => token.push('\r'),
                            Some('t') => token.push('\t'),
                            Some(c) => token.push(c),
                            None => return Err(format!("line {line}: unterminated quote")),
                        },
                        Some(c) => token.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    token.push(c);
                }
            }
            let was_macdef = out.last().is_some_and(|(_, t): &(usize, String)| t == "macdef");
            out.push((line, token));
            if was_macdef {
                // The macro's name ends its line; its body follows.
                in_macro = true;
                break;
            }
        }
    }
    Ok(out)
}

/// The netrc file `-n` means: `$NETRC`, else `~/.netrc`.
pub(crate) fn default_netrc() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".netrc"))
}

/// Reads and parses a netrc file; `Ok(None)` when it does not exist.
fn read_netrc(path: &Path) -> Result<Option<(Netrc, bool)>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let netrc = Netrc::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some((netrc, readable_by_others(path))))
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

/// The first line of standard input, without its line ending. Read once
/// per process: a second connection (`--retry`, `mirror --parallel`) takes
/// the same password, not the next line.
fn password_from_stdin() -> Result<String, String> {
    static READ: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    READ.get_or_init(|| {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
    })
    .clone()
}

/// The password typed at the prompt for `user`, asked once per process
/// and user (a second connection does not ask again).
fn prompted(user: &str) -> Result<String, String> {
    static TYPED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut typed = TYPED.lock().map_err(|_| "the password prompt failed".to_owned())?;
    if let Some((_, password)) = typed.iter().find(|(u, _)| u == user) {
        return Ok(password.clone());
    }
    let password = rpassword::prompt_password(format!("Password for {user}: "))
        .map_err(|e| format!("cannot read the password: {e}"))?;
    typed.push((user.to_owned(), password.clone()));
    Ok(password)
}

/// What the URL says: `(user, password)`, each only when it is written.
pub(crate) struct FromUrl<'a> {
    pub(crate) host: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
}

/// The login for `url` given `sources`. The URL's own user and password
/// come first, then `--user`; a password missing from both is taken from
/// standard input (`--password-stdin`), the netrc file, or the terminal.
/// With neither a user nor a netrc entry for the host: anonymous.
pub(crate) fn resolve(url: &FromUrl<'_>, sources: &Sources) -> Result<Credentials, String> {
    let netrc = match &sources.netrc {
        Some(path) => read_netrc(path)?.map(|(n, open)| (n, open, path.clone())),
        None => None,
    };
    // A user named on the command line wins over the URL's.
    let user = sources.user.as_deref().or(url.user);
    let entry = netrc.as_ref().and_then(|(n, _, _)| n.find(url.host, user));
    let from_netrc = |e: &Entry| -> Result<Option<String>, String> {
        let Some(password) = &e.password else { return Ok(None) };
        let (_, open, path) = netrc.as_ref().expect("an entry comes from a file");
        if *open {
            return Err(format!(
                "{} holds a password and other users can read it; `chmod 600 {}` (as ftp(1) demands)",
                path.display(),
                path.display()
            ));
        }
        Ok(Some(password.clone()))
    };
    let Some(user) = user.map(str::to_owned).or_else(|| entry.and_then(|e| e.login.clone())) else {
        if sources.password_stdin {
            return Err("--password-stdin needs a user (--user NAME or ftp://NAME@host/)".to_owned());
        }
        return Ok(Credentials { user: "anonymous".into(), password: "ftpkit@".into(), account: None });
    };
    if user.contains(['\r', '\n', '\0']) {
        return Err("a user name cannot hold CR, LF or NUL".to_owned());
    }
    // The URL's password belongs to the URL's user only.
    let url_password = url.password.filter(|_| url.user == Some(user.as_str()));
    let password = if let Some(p) = url_password {
        p.to_owned()
    } else if sources.password_stdin {
        password_from_stdin()?
    } else if let Some(p) = entry.map(from_netrc).transpose()?.flatten() {
        p
    } else if sources.user.is_some() && std::io::stdin().is_terminal() {
        prompted(&user)?
    } else if sources.user.is_some() {
        return Err(format!(
            "no password for {user}: give it on a terminal, with --password-stdin, or in a netrc file (-n, --netrc-file)"
        ));
    } else {
        // ftp://user@host/ with nothing else: an empty password, as curl.
        String::new()
    };
    if password.contains(['\r', '\n', '\0']) {
        return Err("a password cannot hold CR, LF or NUL (FTP could not send it)".to_owned());
    }
    Ok(Credentials { user, password, account: entry.and_then(|e| e.account.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETRC: &str = "# a comment\n\
        machine ftp.example.com login alice password \"pa ss\\\"word\"\n\
        machine ftp.example.com\n  login bob\n  password bobpw account acct1\n\
        macdef init\nbinary\nls\n\n\
        machine other.example login carol password c\n\
        default login anonymous password guest@\n";

    #[test]
    fn machines_logins_and_the_default() {
        let n = Netrc::parse(NETRC).unwrap();
        let alice = n.find("FTP.example.com", None).unwrap();
        assert_eq!(alice.login.as_deref(), Some("alice"));
        assert_eq!(alice.password.as_deref(), Some("pa ss\"word"));
        let bob = n.find("ftp.example.com", Some("bob")).unwrap();
        assert_eq!((bob.password.as_deref(), bob.account.as_deref()), (Some("bobpw"), Some("acct1")));
        assert_eq!(n.find("other.example", None).unwrap().login.as_deref(), Some("carol"));
        let default = n.find("nowhere.example", None).unwrap();
        assert_eq!(default.password.as_deref(), Some("guest@"));
        // The macro's body is not read as tokens.
        assert!(n.entries.iter().all(|e| e.login.as_deref() != Some("binary")));
    }

    #[test]
    fn broken_files_say_where() {
        assert_eq!(Netrc::parse("login x").unwrap_err(), "line 1: login before any machine");
        assert_eq!(Netrc::parse("machine h\n password").unwrap_err(), "line 2: password without a value");
        assert_eq!(Netrc::parse("machine \"h").unwrap_err(), "line 1: unterminated quote");
        assert!(Netrc::parse("machine h frobnicate 1").unwrap_err().contains("unexpected \"frobnicate\""));
    }

    fn file(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netrc");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn url_then_user_then_netrc_then_anonymous() {
        let (_dir, path) = file(NETRC, 0o600);
        let netrc = Sources { netrc: Some(path), ..Sources::default() };
        let url = |user, password| FromUrl { host: "ftp.example.com", user, password };
        // The URL's own user and password.
        let c = resolve(&url(Some("zed"), Some("zpw")), &netrc).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("zed", "zpw"));
        // The URL's user, the file's password for that user.
        let c = resolve(&url(Some("bob"), None), &netrc).unwrap();
        assert_eq!((c.password.as_str(), c.account.as_deref()), ("bobpw", Some("acct1")));
        // No user anywhere: the file's first entry for the host.
        let c = resolve(&url(None, None), &netrc).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "pa ss\"word"));
        // --user picks the entry.
        let sources = Sources { user: Some("bob".into()), ..netrc.clone() };
        assert_eq!(resolve(&url(None, None), &sources).unwrap().password, "bobpw");
        // Without a netrc file: anonymous, as always.
        let c = resolve(&url(None, None), &Sources::default()).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("anonymous", "ftpkit@"));
        // A missing file is no error (curl's -n without ~/.netrc).
        let none = Sources { netrc: Some("/nonexistent/netrc".into()), ..Sources::default() };
        assert_eq!(resolve(&url(None, None), &none).unwrap().user, "anonymous");
    }

    #[test]
    fn passwords_are_not_taken_from_a_file_others_can_read() {
        let (_dir, path) = file(NETRC, 0o644);
        let sources = Sources { netrc: Some(path), ..Sources::default() };
        let err = resolve(&FromUrl { host: "ftp.example.com", user: None, password: None }, &sources).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_named_user_without_a_password_source_is_refused() {
        let sources = Sources { user: Some("dave".into()), ..Sources::default() };
        // The test's stdin is not a terminal: no prompt, a clear error.
        if !std::io::stdin().is_terminal() {
            let err = resolve(&FromUrl { host: "h", user: None, password: None }, &sources).unwrap_err();
            assert!(err.contains("no password for dave"), "{err}");
        }
        let no_user = Sources { password_stdin: true, ..Sources::default() };
        assert!(resolve(&FromUrl { host: "h", user: None, password: None }, &no_user).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let c = Credentials { user: "u".into(), password: "hunter2".into(), account: None };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
