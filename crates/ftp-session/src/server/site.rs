//! SITE subcommands (RFC 959 4.1.3: "services specific to its system"),
//! the ones FileZilla, WinSCP, ncftp and lftp send: `SITE HELP`,
//! `SITE CHMOD mode path`, `SITE UTIME` in proftpd's two forms,
//! `SITE UMASK [mask]` and `SITE IDLE [seconds]`.
//!
//! SITE itself is always implemented; a subcommand this server does not
//! know is 500 (never 502, which would say SITE is missing), or goes to the
//! application when [`ServerConfig::site_enabled`](super::ServerConfig)
//! asks for that. CHMOD and UTIME change files: they need write permission
//! (the driver refuses read-only users, as for MFF), a storage capability
//! (without it they are unknown here and absent from `SITE HELP`), and
//! their paths are confined like every other path.

use std::time::Duration;

use bytes::Bytes;
use ftp_proto::{Pathname, Reply, ReplyCode, Text, Timestamp};

use super::state::Pending;
use super::{MAX_VIRTUAL_PATH, RequestKind, Session, StorageCapabilities, Umask};

/// The shortest idle timeout `SITE IDLE` may set: a client may ask to be
/// dropped sooner than the configured timeout, not to keep a session
/// longer (the configured timeout is the upper bound).
pub(super) const MIN_SITE_IDLE: Duration = Duration::from_secs(30);

/// A SITE subcommand this server carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    Help,
    Chmod,
    Utime,
    Idle,
    Umask,
}

impl Sub {
    const ALL: [Self; 5] = [Self::Chmod, Self::Help, Self::Idle, Self::Umask, Self::Utime];

    fn name(self) -> &'static str {
        match self {
            Self::Help => "HELP",
            Self::Chmod => "CHMOD",
            Self::Utime => "UTIME",
            Self::Idle => "IDLE",
            Self::Umask => "UMASK",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Self::Help => "SITE HELP [subcommand]",
            Self::Chmod => "SITE CHMOD <octal mode> <path>",
            Self::Utime => "SITE UTIME <YYYYMMDDhhmm[ss]> <path> | SITE UTIME <path> <atime> <mtime> <ctime> UTC",
            Self::Idle => "SITE IDLE [seconds]",
            Self::Umask => "SITE UMASK [octal mask]",
        }
    }
}

impl Session {
    /// The subcommands that work with this storage, for SITE HELP and
    /// dispatch.
    fn site_commands(&self) -> impl Iterator<Item = Sub> + '_ {
        let caps = self.config.storage_capabilities;
        Sub::ALL.into_iter().filter(move |sub| match sub {
            Sub::Chmod => caps.contains(StorageCapabilities::SET_MODE),
            Sub::Utime => caps.contains(StorageCapabilities::SET_MODIFIED),
            Sub::Umask => caps.contains(StorageCapabilities::CREATE_MODE),
            Sub::Help | Sub::Idle => true,
        })
    }

    /// `SITE <subcommand> [arguments]`.
    pub(super) fn site(&mut self, text: Text) {
        let line = text.as_bytes();
        let (word, args) = split_word(line);
        if word.is_empty() {
            return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "SITE needs a subcommand: try SITE HELP.");
        }
        let known = self.site_commands().find(|sub| sub.name().as_bytes().eq_ignore_ascii_case(word));
        match known {
            Some(Sub::Help) => self.site_help(args),
            Some(Sub::Chmod) => self.site_chmod(args),
            Some(Sub::Utime) => self.site_utime(args),
            Some(Sub::Idle) => self.site_idle(args),
            Some(Sub::Umask) => self.site_umask(args),
            None if self.config.site_enabled => self.request(RequestKind::Site { command: text }, Pending::Site),
            None => self.error(ReplyCode::SYNTAX_ERROR, "Unknown SITE command: try SITE HELP."),
        }
    }

    /// `SITE HELP`: 214 with the subcommands that work; `SITE HELP CHMOD`
    /// its usage.
    fn site_help(&mut self, args: &[u8]) {
        let (word, _) = split_word(args);
        if !word.is_empty() {
            let Some(sub) = self.site_commands().find(|sub| sub.name().as_bytes().eq_ignore_ascii_case(word)) else {
                return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Unknown SITE command.");
            };
            return self.reply_text(ReplyCode::HELP_MESSAGE, format!("Syntax: {}", sub.usage()));
        }
        let names: Vec<&str> = self.site_commands().map(Sub::name).collect();
        let lines = [
            Text::from_static("The following SITE commands are recognized:"),
            Text::new(Bytes::from(format!(" {}", names.join(" ")))).expect("ascii"),
            Text::from_static("SITE HELP <command> gives its syntax."),
        ];
        self.send(Reply::multiline(ReplyCode::HELP_MESSAGE, lines).expect("three lines"));
    }

    /// `SITE CHMOD 644 path`: the mode in octal (at most 7777).
    fn site_chmod(&mut self, args: &[u8]) {
        let (mode, path) = split_word(args);
        let (Some(mode), Some(path)) = (parse_mode(mode), self.site_path(path)) else {
            return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Syntax: SITE CHMOD <octal mode> <path>.");
        };
        let path = self.cwd.join(path.as_bytes());
        let kind = RequestKind::SetFacts { path, mode: Some(mode), modify: None };
        self.request(kind, Pending::SiteDone("SITE CHMOD command successful."));
    }

    /// `SITE UTIME`, proftpd's two forms: `SITE UTIME 202401021304[05]
    /// path` and `SITE UTIME path atime mtime ctime UTC`; only the
    /// modification time is set (UTC in both).
    fn site_utime(&mut self, args: &[u8]) {
        let Some((time, path)) = parse_utime(args) else {
            return self.error(
                ReplyCode::SYNTAX_ERROR_ARGUMENTS,
                "Syntax: SITE UTIME <YYYYMMDDhhmm[ss]> <path>, or <path> <atime> <mtime> <ctime> UTC.",
            );
        };
        let Some(path) = self.site_path(path) else {
            return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "SITE UTIME needs a path.");
        };
        let path = self.cwd.join(path.as_bytes());
        let kind = RequestKind::SetFacts { path, mode: None, modify: Some(time) };
        self.request(kind, Pending::SiteDone("SITE UTIME command successful."));
    }

    /// `SITE IDLE`: the idle timeout now; `SITE IDLE n` sets it, from
    /// [`MIN_SITE_IDLE`] up to the configured timeout.
    fn site_idle(&mut self, args: &[u8]) {
        let (word, rest) = split_word(args);
        let max = self.config.idle_timeout;
        if word.is_empty() {
            let text =
                format!("Current idle time limit is {} seconds; max {}.", self.idle_timeout.as_secs(), max.as_secs());
            return self.reply_text(ReplyCode::COMMAND_OK, text);
        }
        let seconds = core::str::from_utf8(word).ok().filter(|_| rest.is_empty()).and_then(|s| s.parse::<u64>().ok());
        let low = MIN_SITE_IDLE.min(max);
        match seconds.map(Duration::from_secs) {
            Some(d) if (low..=max).contains(&d) => {
                self.idle_timeout = d;
                self.reply_text(ReplyCode::COMMAND_OK, format!("Maximum idle time set to {} seconds.", d.as_secs()));
            }
            _ => self.reply_text(
                ReplyCode::SYNTAX_ERROR_ARGUMENTS,
                format!("SITE IDLE takes seconds from {} to {}.", low.as_secs(), max.as_secs()),
            ),
        }
    }

    /// `SITE UMASK`: the mask files and directories this session creates
    /// get; `SITE UMASK 027` sets it (octal, at most `777`) for the rest of
    /// the session (REIN resets it). Until set, the storage's default
    /// applies, reported as [`ServerConfig::default_umask`](super::ServerConfig).
    fn site_umask(&mut self, args: &[u8]) {
        let (word, rest) = split_word(args);
        if word.is_empty() {
            let mask = self.params.umask.unwrap_or(self.config.default_umask);
            return self.reply_text(ReplyCode::COMMAND_OK, format!("Current UMASK is {mask}."));
        }
        let mask = parse_mode(word).filter(|_| rest.is_empty() && word.len() <= 4).and_then(Umask::new);
        match mask {
            Some(mask) => {
                self.params.umask = Some(mask);
                self.reply_text(ReplyCode::COMMAND_OK, format!("UMASK set to {mask}."));
            }
            None => self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Syntax: SITE UMASK <octal mask, 000 to 777>."),
        }
    }

    /// A SITE argument as a pathname, bounded as every pathname is.
    fn site_path(&self, raw: &[u8]) -> Option<Pathname> {
        if raw.is_empty() || self.cwd.as_bytes().len() + 1 + raw.len() > MAX_VIRTUAL_PATH {
            return None;
        }
        Pathname::new(Bytes::copy_from_slice(raw)).ok()
    }
}

/// The first space-separated word and the rest (leading spaces skipped).
fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], trim_start(&s[i + 1..])),
        None => (s, &[]),
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    &s[start..]
}

/// An octal mode of one to four digits (the permission, set-id and sticky
/// bits; file-type bits cannot be set), as `chmod` takes it.
pub(super) fn parse_mode(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > 5 || !value.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let mode = value.iter().fold(0u32, |m, b| m * 8 + u32::from(b - b'0'));
    (mode <= 0o7777).then_some(mode)
}

/// A UTIME time: 14 digits, or 12 (no seconds), UTC.
fn utime_time(word: &[u8]) -> Option<Timestamp> {
    match word.len() {
        14 => Timestamp::parse(word).ok(),
        12 => {
            let mut full = word.to_vec();
            full.extend_from_slice(b"00");
            Timestamp::parse(&full).ok()
        }
        _ => None,
    }
}

/// The two forms of proftpd's SITE UTIME: the time and the path to set it
/// on (the modification time of the five-word form).
fn parse_utime(args: &[u8]) -> Option<(Timestamp, &[u8])> {
    let args = trim_start(args);
    // `path atime mtime ctime UTC`: from the end, as the path may hold spaces.
    let words: Vec<&[u8]> = args.rsplitn(5, |&b| b == b' ').collect();
    if let [utc, ctime, mtime, atime, path] = words[..]
        && utc.eq_ignore_ascii_case(b"UTC")
        && utime_time(atime).is_some()
        && utime_time(ctime).is_some()
        && let Some(t) = utime_time(mtime)
    {
        return Some((t, path));
    }
    // `YYYYMMDDhhmm[ss] path`.
    let (time, path) = split_word(args);
    utime_time(time).map(|t| (t, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// draft-somers-ftp-mfxx 5.3.1, chmod(1): `UNIX.mode` and SITE CHMOD
    /// take octal.
    #[test]
    fn modes_are_octal_within_7777() {
        assert_eq!(parse_mode(b"0644"), Some(0o644));
        assert_eq!(parse_mode(b"755"), Some(0o755));
        assert_eq!(parse_mode(b"07777"), Some(0o7777));
        for bad in [&b""[..], b"0648", b"10000", b"-1", b"0x1ff", b"000000", b"rwx"] {
            assert_eq!(parse_mode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// proftpd's SITE UTIME forms, paths with spaces included.
    #[test]
    fn utime_forms() {
        let t = |s: &str| Timestamp::parse(s.as_bytes()).unwrap();
        assert_eq!(parse_utime(b"20240102030405 a b.txt"), Some((t("20240102030405"), &b"a b.txt"[..])));
        assert_eq!(parse_utime(b"202401020304 f"), Some((t("20240102030400"), &b"f"[..])));
        let five = parse_utime(b"my file 20200101000000 20240102030405 20200101000000 UTC");
        assert_eq!(five, Some((t("20240102030405"), &b"my file"[..])));
        assert_eq!(parse_utime(b"2024 f"), None);
        assert_eq!(parse_utime(b"20240230000000 f"), None, "no February 30th");
        assert_eq!(parse_utime(b""), None);
    }
}
