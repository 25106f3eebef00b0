//! The users file: named users with password hashes, homes, networks and
//! limits, and [`Users`], the [`Authenticator`] `ftpkit serve` builds from
//! it (issue 18).
//!
//! # Format
//!
//! A TOML file with one `[users.NAME]` table per user, written and edited by
//! `ftpkit passwd NAME --users-file FILE`:
//!
//! ```toml
//! # Written by `ftpkit passwd NAME --users-file FILE`.
//! [users.alice]
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! home = "/srv/ftp/alice"
//! writable = true
//! allow_from = ["10.0.0.0/8", "::1/128"]
//! download_rate = "1M"
//! upload_rate = 524288
//! quota_bytes = "10G"
//! quota_files = 10000
//! max_sessions = 4
//! ```
//!
//! - `password` (required): a crypt-style hash. `$argon2id$` (what `ftpkit
//!   passwd` writes; `$argon2i$` and `$argon2d$` too), bcrypt (`$2a$`,
//!   `$2b$`, `$2y$`) and SHA-512 crypt (`$6$`) are accepted, so that users
//!   can be moved over from vsftpd, pure-ftpd or proftpd with their
//!   passwords. A plaintext password (no `$` scheme prefix) is refused: run
//!   `ftpkit passwd` to hash it. An unknown scheme is an error naming the
//!   user.
//! - `home`: the user's own root. A relative path is relative to the
//!   directory of the users file. Absent: the server's root.
//! - `writable`: whether the user may upload, delete, rename and make
//!   directories; `false` when absent.
//! - `allow_from`: the networks (CIDR) the user may log in from; any when
//!   absent. An IPv4-mapped IPv6 client address (`::ffff:10.1.2.3`) counts
//!   as the IPv4 address it maps.
//! - `download_rate`, `upload_rate` (bytes per second, per transfer),
//!   `quota_bytes`: an integer, or a string with a `K`, `M` or `G` suffix
//!   (powers of 1024): `"1M"` is 1048576. Rates must be above zero.
//! - `quota_files`, `max_sessions`: integers; `max_sessions` above zero.
//!
//! Any other key is an error that names the key and its line, and so is a
//! value of the wrong type.
//!
//! # Users from the file and from `--user`
//!
//! [`Users`] also holds the plaintext users given with `--user
//! NAME:PASSWORD`, compared in constant time as
//! [`UserList`](ftp_tokio::auth::UserList) does. When a name is in both, the
//! file's entry wins and the `--user` one is never consulted.
//!
//! # Timing
//!
//! When there is a users file, a name that is not in it (unknown, or only a
//! `--user` one) still costs one argon2id verification, against a fixed
//! dummy hash with the parameters `ftpkit passwd` uses, so that the time a
//! refused login takes does not tell which names exist (SECURITY.md A3,
//! A4). Entries still holding bcrypt or SHA-512 crypt hashes take their own
//! scheme's time, which may differ: rehash them with `ftpkit passwd`.
//! Without a file every name takes the `--user` path, which is constant-time
//! on its own. For the same reason a user whose `allow_from` refuses the client
//! address still has their password checked before being refused.

// serve.rs (another change of issue 18) builds `Users` from `load`; until
// it does, nothing outside the tests calls this module.
#![allow(dead_code, reason = "serve.rs calls this API (issue 18)")]

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use ftp_proto::{Password, Secret, Username};
use ftp_tokio::BoxFuture;
use ftp_tokio::auth::{Access, Authenticator, Limits, Principal, User, constant_time_eq};
use ipnet::IpNet;
use serde::Deserialize;

/// An argon2id hash with the argon2 crate's default parameters (those
/// `ftpkit passwd` writes) of a password nobody knows: unknown users' passwords are checked against it so
/// that they take as long as known users' (SECURITY.md A4).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$4XK2NVcxXIGlfVD5etTmJQ$Q1axZN6De9DfIveo9xYW0d4KshoCnygceOxK0YR+UOM";

/// The parsed users file: who may log in, with which hash, home, networks
/// and limits. Made by [`load`]; handed to [`Users::new`].
pub(crate) struct UsersFile {
    users: BTreeMap<String, Arc<Entry>>,
}

impl UsersFile {
    /// Number of users in the file.
    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file holds no user.
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// Names only: the hashes stay out of logs and panics.
impl fmt::Debug for UsersFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsersFile").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

/// One user of the file, checked.
struct Entry {
    hash: Hash,
    home: Option<PathBuf>,
    access: Access,
    allow_from: Option<Vec<IpNet>>,
    limits: Limits,
}

/// A password hash, by scheme. The string is the whole crypt string.
enum Hash {
    /// `$argon2id$`, `$argon2i$`, `$argon2d$` (PHC string).
    Argon2(String),
    /// `$2a$`, `$2b$`, `$2y$`.
    Bcrypt(String),
    /// `$6$` (SHA-512 crypt).
    Sha512Crypt(String),
}

impl Hash {
    /// Parses a `password` value of user `name` (for the messages).
    fn parse(name: &str, value: &str) -> Result<Self, String> {
        let Some(rest) = value.strip_prefix('$') else {
            return Err(format!(
                "user {name:?}: the password is not hashed (plaintext passwords are refused); \
                 run `ftpkit passwd {name} --users-file FILE` to set it"
            ));
        };
        let scheme = rest.split('$').next().unwrap_or_default();
        let malformed = |what: &str| format!("user {name:?}: malformed {what} password hash");
        match scheme {
            "argon2id" | "argon2i" | "argon2d" => {
                let hash = PasswordHash::new(value).map_err(|_| malformed("argon2"))?;
                if hash.salt.is_none() || hash.hash.is_none() || argon2::Params::try_from(&hash).is_err() {
                    return Err(malformed("argon2"));
                }
                Ok(Self::Argon2(value.to_owned()))
            }
            "2a" | "2b" | "2y" => {
                value.parse::<bcrypt::HashParts>().map_err(|_| malformed("bcrypt"))?;
                Ok(Self::Bcrypt(value.to_owned()))
            }
            "6" => {
                // `$6$[rounds=N$]salt$hash`: the hash is 86 characters of
                // crypt's base 64.
                let parts: Vec<&str> = rest.split('$').collect();
                let well_formed = match parts.as_slice() {
                    ["6", salt, hash] => !salt.starts_with("rounds=") && hash.len() == 86,
                    ["6", rounds, _salt, hash] => {
                        rounds.strip_prefix("rounds=").is_some_and(|n| n.parse::<u32>().is_ok()) && hash.len() == 86
                    }
                    _ => false,
                };
                if !well_formed {
                    return Err(malformed("SHA-512 crypt"));
                }
                Ok(Self::Sha512Crypt(value.to_owned()))
            }
            _ => Err(format!(
                "user {name:?}: unknown password hash scheme (accepted: $argon2id$, bcrypt $2a$/$2b$/$2y$, \
                 SHA-512 crypt $6$); run `ftpkit passwd {name} --users-file FILE` to set a new password"
            )),
        }
    }

    /// Whether `password` is the one hashed. Slow (tens of milliseconds
    /// for argon2): call on the blocking pool.
    fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Argon2(hash) => {
                PasswordHash::new(hash).is_ok_and(|hash| Argon2::default().verify_password(password, &hash).is_ok())
            }
            Self::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            // sha-crypt takes the password as `&str`; a password that is
            // not UTF-8 was not hashed from one either.
            Self::Sha512Crypt(hash) => {
                std::str::from_utf8(password).is_ok_and(|password| sha_crypt::sha512_check(password, hash).is_ok())
            }
        }
    }
}

/// The file as written, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    users: BTreeMap<String, RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    password: String,
    home: Option<PathBuf>,
    #[serde(default)]
    writable: bool,
    allow_from: Option<Vec<IpNet>>,
    download_rate: Option<Size>,
    upload_rate: Option<Size>,
    quota_bytes: Option<Size>,
    quota_files: Option<u64>,
    max_sessions: Option<usize>,
}

/// A number of bytes: an integer, or a string with a K, M or G suffix
/// (powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Size;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of bytes: an integer, or a string such as \"512K\", \"1M\" or \"10G\"")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v).map(Size).map_err(|_| E::custom(format!("{v} is negative")))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).ok_or_else(|| {
                    E::custom(format!("{v:?} is not a number of bytes (an integer with an optional K, M or G suffix)"))
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `"1024"`, `"512K"`, `"1M"`, `"10G"` (suffix in either case, powers of
/// 1024); `None` when malformed or too large.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Reads and checks the users file at `path`. Errors start with the path;
/// syntax errors, unknown keys and wrong types give the line and column.
pub(crate) fn load(path: &Path) -> Result<UsersFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("users file {}: {e}", path.display()))?;
    // Relative homes are relative to the file's directory.
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &dir).map_err(|e| format!("users file {}: {e}", path.display()))
}

/// [`load`] on text already read; `dir` is where relative homes start.
fn parse(text: &str, dir: &Path) -> Result<UsersFile, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut users = BTreeMap::new();
    for (name, user) in raw.users {
        if name.is_empty() || Username::try_from(name.as_str()).is_err() {
            return Err(format!("user {name:?}: not a valid user name"));
        }
        let hash = Hash::parse(&name, &user.password)?;
        let mut limits = Limits::default();
        limits.download_rate = user.download_rate.map(|s| s.0);
        limits.upload_rate = user.upload_rate.map(|s| s.0);
        limits.quota_bytes = user.quota_bytes.map(|s| s.0);
        limits.quota_files = user.quota_files;
        limits.max_sessions = user.max_sessions;
        for (key, value) in [
            ("download_rate", limits.download_rate),
            ("upload_rate", limits.upload_rate),
            ("max_sessions", limits.max_sessions.map(|n| n as u64)),
        ] {
            if value == Some(0) {
                return Err(format!("user {name:?}: {key} must be above zero (leave it out for no limit)"));
            }
        }
        let entry = Entry {
            hash,
            home: user.home.map(|home| dir.join(home)),
            access: if user.writable { Access::read_write() } else { Access::read_only() },
            allow_from: user.allow_from,
            limits,
        };
        users.insert(name, Arc::new(entry));
    }
    Ok(UsersFile { users })
}

/// The server's authenticator with a users file: the file's users (password
/// hashes), the `--user` ones (plaintext, from the command line) and the
/// anonymous account. See the module docs for who wins and for timing.
pub(crate) struct Users {
    file: Option<UsersFile>,
    plain: Vec<User>,
    anonymous: Option<Access>,
}

impl Users {
    /// The file's users (a name in both wins over `plain`), the `--user`
    /// ones, and anonymous logins with this access (`None`: refused).
    pub(crate) fn new(file: Option<UsersFile>, plain: Vec<User>, anonymous: Option<Access>) -> Users {
        Users { file, plain, anonymous }
    }

    /// The `--user` users' check, in constant time over the whole list as
    /// [`UserList`](ftp_tokio::auth::UserList) does.
    fn plain_login(&self, user: &Username, password: &[u8]) -> Option<Access> {
        let mut granted = None;
        for u in &self.plain {
            let matches = constant_time_eq(u.name.as_bytes(), user.as_bytes())
                & constant_time_eq(u.password.as_bytes(), password);
            if matches && granted.is_none() {
                granted = Some(if u.writable { Access::read_write() } else { Access::read_only() });
            }
        }
        granted
    }
}

/// Counts only: no names' passwords, no hashes.
impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("file", &self.file)
            .field("plain", &self.plain.iter().map(|u| &u.name).collect::<Vec<_>>())
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

/// Whether `from` is in one of `networks` (IPv4-mapped IPv6 addresses as
/// IPv4).
fn allowed(networks: &[IpNet], from: IpAddr) -> bool {
    let from = from.to_canonical();
    networks.iter().any(|net| net.contains(&from))
}

impl Authenticator for Users {
    fn login<'a>(
        &'a self,
        user: &'a Username,
        password: &'a Secret<Password>,
        from: IpAddr,
    ) -> BoxFuture<'a, Option<Principal>> {
        Box::pin(async move {
            let password = password.expose().as_bytes();
            let entry = self
                .file
                .as_ref()
                .and_then(|file| std::str::from_utf8(user.as_bytes()).ok().and_then(|name| file.users.get(name)))
                .cloned();
            let Some(entry) = entry else {
                let plain = self.plain_login(user, password);
                if self.file.is_some() {
                    // The same work as for a user of the file (A4).
                    let owned = password.to_vec();
                    let _ = tokio::task::spawn_blocking(move || {
                        Hash::Argon2(DUMMY_HASH.to_owned()).verify(&owned);
                    })
                    .await;
                }
                return plain.map(|access| Principal::new(user.clone(), access));
            };
            let owned = password.to_vec();
            let hash_entry = Arc::clone(&entry);
            let good = tokio::task::spawn_blocking(move || hash_entry.hash.verify(&owned)).await.unwrap_or(false);
            // Checked after the hash, so that a refused address takes as
            // long as a wrong password.
            let from_ok = entry.allow_from.as_deref().is_none_or(|networks| allowed(networks, from));
            if !(good && from_ok) {
                if good {
                    tracing::debug!(
                        target: ftp_tokio::events::LOGIN,
                        user = %String::from_utf8_lossy(user.as_bytes()),
                        %from,
                        "login refused: address not in allow_from"
                    );
                }
                return None;
            }
            let mut principal = Principal::new(user.clone(), entry.access).with_limits(entry.limits);
            if let Some(home) = &entry.home {
                principal = principal.with_home(home.clone());
            }
            Some(principal)
        })
    }

    fn anonymous(&self) -> Option<Access> {
        self.anonymous
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use argon2::password_hash::SaltString;
    use argon2::password_hash::rand_core::OsRng;
    use argon2::{Argon2, PasswordHasher};

    use super::*;

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));

    fn name(s: &str) -> Username {
        Username::try_from(s).unwrap()
    }

    fn secret(s: &str) -> Secret<Password> {
        Secret::new(Password::try_from(s).unwrap())
    }

    fn argon2id(password: &str) -> String {
        Argon2::default().hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng)).unwrap().to_string()
    }

    fn users_from(text: &str) -> Users {
        Users::new(Some(parse(text, Path::new("/srv/ftp")).unwrap()), Vec::new(), None)
    }

    fn parse_err(text: &str) -> String {
        match parse(text, Path::new("/srv")) {
            Ok(file) => panic!("parsed: {file:?}"),
            Err(e) => e,
        }
    }

    /// Issue 18: the fixed dummy hash unknown users are checked against is
    /// a well-formed argon2id hash with the parameters `ftpkit passwd`
    /// writes (the argon2 crate's defaults), so it costs the same (A4).
    #[test]
    fn dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = argon2id("x");
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!Hash::Argon2(DUMMY_HASH.to_owned()).verify(b""));
    }

    /// Issue 18: argon2id, bcrypt and SHA-512 crypt hashes verify the right
    /// password and refuse a wrong one.
    #[tokio::test]
    async fn each_scheme_verifies() {
        let bcrypt = bcrypt::hash("b-secret", 4).unwrap();
        assert!(bcrypt.starts_with("$2b$04$"), "{bcrypt}");
        let sha = sha_crypt::sha512_simple("s-secret", &sha_crypt::Sha512Params::new(1000).unwrap()).unwrap();
        assert!(sha.starts_with("$6$rounds=1000$"), "{sha}");
        let text = format!(
            "[users.alice]\npassword = \"{}\"\n\
             [users.bob]\npassword = \"{bcrypt}\"\n\
             [users.carol]\npassword = \"{sha}\"\n\
             [users.dave]\npassword = \"{}\"\n",
            argon2id("a-secret"),
            // The test vector of sha-crypt's docs (and of Drepper's
            // SHA-crypt.txt): default rounds, no `rounds=`.
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        let users = users_from(&text);
        for (user, right, wrong) in
            [("alice", "a-secret", "b-secret"), ("bob", "b-secret", "a-secret"), ("carol", "s-secret", "a-secret")]
        {
            let granted = users.login(&name(user), &secret(right), V4).await;
            assert_eq!(granted, Some(Principal::new(name(user), Access::read_only())), "{user}");
            assert_eq!(users.login(&name(user), &secret(wrong), V4).await, None, "{user} with a wrong password");
        }
        assert!(users.login(&name("dave"), &secret("Hello world!"), V4).await.is_some(), "SHA-crypt.txt vector");
        assert_eq!(users.login(&name("dave"), &secret("Hello world"), V4).await, None);
    }

    /// Issue 18 (SECURITY.md A3, A4): an unknown name is refused, whatever
    /// the password (even the dummy hash's, or a file user's).
    #[tokio::test]
    async fn unknown_user_refused() {
        let users = users_from(&format!("[users.alice]\npassword = \"{}\"\n", argon2id("a-secret")));
        assert_eq!(users.login(&name("mallory"), &secret("a-secret"), V4).await, None);
        assert_eq!(users.login(&name("Alice"), &secret("a-secret"), V4).await, None, "names are case-sensitive");
        assert_eq!(users.anonymous(), None);
    }

    /// SECURITY.md A4 (issue 18): refusing an unknown name takes about as
    /// long as refusing a known user's wrong password: the dummy hash is
    /// checked, on the blocking pool.
    #[tokio::test]
    async fn sec_a4_unknown_user_costs_a_hash() {
        let users = users_from(&format!("[users.alice]\npassword = \"{}\"\n", argon2id("pw")));
        let time = |user: &'static str| {
            let users = &users;
            async move {
                let start = std::time::Instant::now();
                assert_eq!(users.login(&name(user), &secret("wrong"), V4).await, None);
                start.elapsed()
            }
        };
        let known = time("alice").await;
        let unknown = time("mallory").await;
        assert!(unknown * 4 > known, "unknown {unknown:?} vs known {known:?}");
    }

    /// Issue 18: `--user` users log in next to the file's; a name in both
    /// is the file's; `anonymous()` is what was given.
    #[tokio::test]
    async fn plain_users_and_the_file() {
        let file = parse(&format!("[users.alice]\npassword = \"{}\"\n", argon2id("hashed")), Path::new("/")).unwrap();
        let plain = vec![
            User { name: "alice".into(), password: "plain".into(), writable: true },
            User { name: "bob".into(), password: "bobpw".into(), writable: true },
        ];
        let users = Users::new(Some(file), plain, Some(Access::read_only()));
        assert_eq!(users.anonymous(), Some(Access::read_only()));
        assert_eq!(
            users.login(&name("bob"), &secret("bobpw"), V4).await,
            Some(Principal::new(name("bob"), Access::read_write()))
        );
        assert_eq!(users.login(&name("bob"), &secret("bobp"), V4).await, None);
        assert_eq!(users.login(&name("alice"), &secret("plain"), V4).await, None, "the file wins");
        assert!(users.login(&name("alice"), &secret("hashed"), V4).await.is_some());

        let no_file = Users::new(None, vec![User { name: "bob".into(), password: "pw".into(), writable: false }], None);
        assert_eq!(
            no_file.login(&name("bob"), &secret("pw"), V4).await,
            Some(Principal::new(name("bob"), Access::read_only()))
        );
        assert_eq!(no_file.login(&name("eve"), &secret("pw"), V4).await, None);
    }

    /// Issue 18: `allow_from` refuses addresses outside every listed network
    /// (even with the right password) and accepts those inside, for IPv4,
    /// IPv6 and IPv4-mapped IPv6 (as IPv4) clients.
    #[tokio::test]
    async fn allow_from_networks() {
        let users = users_from(&format!(
            "[users.alice]\npassword = \"{}\"\nallow_from = [\"10.0.0.0/8\", \"2001:db8::/32\", \"::1/128\"]\n\
             [users.bob]\npassword = \"{}\"\n",
            argon2id("pw"),
            argon2id("pw"),
        ));
        let v6 = |s: &str| IpAddr::V6(s.parse::<Ipv6Addr>().unwrap());
        let alice = |from: IpAddr| {
            let users = &users;
            async move { users.login(&name("alice"), &secret("pw"), from).await.is_some() }
        };
        assert!(alice(V4).await);
        assert!(alice(v6("2001:db8::7")).await);
        assert!(alice(IpAddr::V6(Ipv6Addr::LOCALHOST)).await);
        assert!(alice(v6("::ffff:10.9.9.9")).await, "IPv4-mapped counts as 10.9.9.9");
        assert!(!alice(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))).await);
        assert!(!alice(IpAddr::V4(Ipv4Addr::LOCALHOST)).await, "127.0.0.1 is not ::1");
        assert!(!alice(v6("2001:db9::1")).await);
        assert!(!alice(v6("::ffff:192.168.1.1")).await, "IPv4-mapped outside 10/8");
        assert!(
            users.login(&name("bob"), &secret("pw"), IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))).await.is_some(),
            "no allow_from: any address"
        );
    }

    /// Issue 18: home (absolute, and relative to the file's directory),
    /// writable and every limit, with K/M/G suffixes, reach the Principal.
    #[tokio::test]
    async fn home_writable_and_limits() {
        let users = users_from(&format!(
            "[users.alice]\npassword = \"{0}\"\nhome = \"alice\"\nwritable = true\n\
             download_rate = \"1M\"\nupload_rate = 524288\nquota_bytes = \"10G\"\nquota_files = 10000\nmax_sessions = 4\n\
             [users.bob]\npassword = \"{0}\"\nhome = \"/data/bob\"\nupload_rate = \"64k\"\n\
             [users.carol]\npassword = \"{0}\"\n",
            argon2id("pw")
        ));
        let mut limits = Limits::default();
        limits.download_rate = Some(1 << 20);
        limits.upload_rate = Some(524_288);
        limits.quota_bytes = Some(10 << 30);
        limits.quota_files = Some(10_000);
        limits.max_sessions = Some(4);
        assert_eq!(
            users.login(&name("alice"), &secret("pw"), V4).await,
            Some(Principal::new(name("alice"), Access::read_write()).with_home("/srv/ftp/alice").with_limits(limits))
        );
        let mut limits = Limits::default();
        limits.upload_rate = Some(64 * 1024);
        assert_eq!(
            users.login(&name("bob"), &secret("pw"), V4).await,
            Some(Principal::new(name("bob"), Access::read_only()).with_home("/data/bob").with_limits(limits))
        );
        let carol = users.login(&name("carol"), &secret("pw"), V4).await.unwrap();
        assert_eq!((carol.home, carol.limits), (None, Limits::default()));
    }

    /// Issue 18: sizes are integers or strings with K, M or G (powers of
    /// 1024); anything else is refused.
    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("512K"), Some(512 * 1024));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("3G"), Some(3 << 30));
        for bad in ["", "M", "1.5M", "-1", "1 M", "1T", "1MB", "99999999999999999999G"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
        let e = parse_err("[users.a]\npassword = \"$6$x$y\"\ndownload_rate = \"fast\"\n");
        assert!(e.contains("line 3") && e.contains("\"fast\""), "{e}");
        let e = parse_err("[users.a]\npassword = \"$6$x$y\"\nquota_bytes = -5\n");
        assert!(e.contains("line 3") && e.contains("negative"), "{e}");
        let e = parse_err(&format!("[users.a]\npassword = \"{}\"\ndownload_rate = 0\n", argon2id("x")));
        assert!(e.contains("download_rate must be above zero"), "{e}");
    }

    /// Issue 18: an unknown key is an error naming the key and its line,
    /// and `load` puts the file's path in front.
    #[test]
    fn unknown_key_named_with_its_line() {
        let text = format!("# users\n[users.alice]\npassword = \"{}\"\nwriteable = true\n", argon2id("pw"));
        let e = parse_err(&text);
        assert!(e.contains("writeable") && e.contains("line 4"), "{e}");
        let e = parse_err("[groups.x]\n");
        assert!(e.contains("groups") && e.contains("line 1"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, &text).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains(&path.display().to_string()) && e.contains("writeable") && e.contains("line 4"), "{e}");
        let e = load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(e.contains("missing.toml"), "{e}");
    }

    /// Issue 18: `load` resolves a relative home against the file's own
    /// directory, not the current one.
    #[test]
    fn load_resolves_relative_home() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, format!("[users.alice]\npassword = \"{}\"\nhome = \"homes/alice\"\n", argon2id("pw")))
            .unwrap();
        let file = load(&path).unwrap();
        assert_eq!((file.len(), file.is_empty()), (1, false));
        assert_eq!(file.users["alice"].home.as_deref(), Some(dir.path().join("homes/alice").as_path()));
        let empty = parse("# nobody yet\n", Path::new("/")).unwrap();
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
    }

    /// Issue 18: a plaintext password is refused, pointing at `ftpkit
    /// passwd`; an unknown or malformed hash names the user.
    #[test]
    fn plaintext_and_unknown_schemes_refused() {
        let e = parse_err("[users.alice]\npassword = \"hunter2\"\n");
        assert!(e.contains("alice") && e.contains("ftpkit passwd") && e.contains("plaintext"), "{e}");
        assert!(!e.contains("hunter2"), "the password is not echoed: {e}");
        let e = parse_err("[users.bob]\npassword = \"$1$salt$md5cryptdigest\"\n");
        assert!(e.contains("bob") && e.contains("unknown password hash scheme"), "{e}");
        let e = parse_err("[users.carol]\npassword = \"$argon2id$garbage\"\n");
        assert!(e.contains("carol") && e.contains("malformed argon2"), "{e}");
        let e = parse_err("[users.dave]\npassword = \"$2b$04$short\"\n");
        assert!(e.contains("dave") && e.contains("malformed bcrypt"), "{e}");
        let e = parse_err("[users.erin]\npassword = \"$6$salt$short\"\n");
        assert!(e.contains("erin") && e.contains("malformed SHA-512"), "{e}");
    }

    /// Issue 18: Debug never shows a hash.
    #[test]
    fn debug_hides_hashes() {
        let hash = argon2id("pw");
        let file = parse(&format!("[users.alice]\npassword = \"{hash}\"\n"), Path::new("/")).unwrap();
        let users = Users::new(
            Some(file),
            vec![User { name: "bob".into(), password: "plainpw".into(), writable: false }],
            None,
        );
        let shown = format!("{users:?}");
        assert!(shown.contains("alice") && shown.contains("bob"), "{shown}");
        assert!(!shown.contains("argon2") && !shown.contains("plainpw"), "{shown}");
    }
}
