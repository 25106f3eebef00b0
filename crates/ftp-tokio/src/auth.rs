//! Who may log in, and what they may do: the [`Authenticator`] trait and
//! [`UserList`], the server's default.
//!
//! The session decides *when* to ask (after `PASS`, with the failure delay
//! and the limit on attempts of SECURITY.md A1 around it); an authenticator
//! only answers whether a name and password are good, and grants an
//! [`Access`]. Anonymous logins (`anonymous`/`ftp` with any password) are
//! accepted by the session itself when [`Authenticator::anonymous`] grants
//! them, so an authenticator never sees the e-mail address such users give
//! as their password.

use std::net::IpAddr;
use std::path::PathBuf;

use ftp_proto::{Password, Secret, Username};

use crate::BoxFuture;

/// What a logged-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Access {
    /// May upload, delete, rename and make or remove directories.
    pub writable: bool,
}

impl Access {
    /// Download and list only.
    #[must_use]
    pub fn read_only() -> Self {
        Self { writable: false }
    }

    /// Everything the storage allows.
    #[must_use]
    pub fn read_write() -> Self {
        Self { writable: true }
    }
}

/// Who is asking: the logged-in user, as the storage receives them with
/// every request (libunftp's `User`), so that a storage can give each user
/// their own root, their own permissions, and MLSx `perm` facts that tell
/// the truth. Built by the server from the login name and the [`Access`]
/// the [`Authenticator`] granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Principal {
    /// The name given to `USER` (`anonymous` or `ftp` for anonymous users).
    pub name: Username,
    /// Whether the user came in through the anonymous account.
    pub anonymous: bool,
    /// What the user may do.
    pub access: Access,
    /// The user's own root, for a storage that gives each user one (a
    /// directory for [`Homes`](crate::homes::Homes) over local files).
    /// `None`: the server's root.
    pub home: Option<PathBuf>,
    /// Rates, quota and sessions allowed to this user.
    pub limits: Limits,
}

impl Principal {
    /// A named user with this access, the server's root and no limits.
    #[must_use]
    pub fn new(name: Username, access: Access) -> Self {
        Self { name, anonymous: false, access, home: None, limits: Limits::default() }
    }

    /// An anonymous user with this access, the server's root and no limits.
    #[must_use]
    pub fn anonymous(access: Access) -> Self {
        Self {
            name: Username::try_from("anonymous").expect("a valid name"),
            anonymous: true,
            access,
            home: None,
            limits: Limits::default(),
        }
    }

    /// The same user with `home` as their root.
    #[must_use]
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// The same user with these limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// What one user may use: transfer rates, storage and sessions. `None`
/// everywhere (the default) is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes per second a download (`RETR`, and listings) of this
    /// user's sends, per transfer.
    pub download_rate: Option<u64>,
    /// Most bytes per second an upload of this user's receives, per
    /// transfer.
    pub upload_rate: Option<u64>,
    /// Most bytes this user's files may take under their root; an upload
    /// past it is refused or cut with 552.
    pub quota_bytes: Option<u64>,
    /// Most files under this user's root; a new file past it is refused
    /// with 552.
    pub quota_files: Option<u64>,
    /// Most sessions logged in as this user at once; a login past it is
    /// refused with 530.
    pub max_sessions: Option<usize>,
}

/// Decides logins. Held by the server as an `Arc<dyn Authenticator>`; the
/// future is boxed for the reason [`crate::storage`] gives.
pub trait Authenticator: Send + Sync + 'static {
    /// Checks a named user's password, given from the client address
    /// `from`: `Some` grants a login as that [`Principal`] (usually
    /// [`Principal::new`] with the name given and the user's [`Access`]),
    /// which the storage then receives with every request of the session;
    /// `None` refuses it (the client gets 530 after the failure delay).
    /// Compare secrets in constant time (SECURITY.md A4). A slow check
    /// (a password hash) belongs on the blocking pool
    /// ([`tokio::task::spawn_blocking`]): sessions share their thread.
    fn login<'a>(
        &'a self,
        user: &'a Username,
        password: &'a Secret<Password>,
        from: IpAddr,
    ) -> BoxFuture<'a, Option<Principal>>;

    /// Whether anonymous logins are accepted, and with what access. Asked
    /// once, when the server starts.
    fn anonymous(&self) -> Option<Access>;
}

/// A user who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name given to `USER`.
    pub name: String,
    /// The password given to `PASS`.
    pub password: String,
    /// Whether the user may upload, delete, rename and make directories.
    pub writable: bool,
}

/// The default authenticator: a fixed list of users with their passwords
/// and write permission, and an anonymous account that is off, read-only
/// (vsftpd's default when enabled) or writable.
#[derive(Debug, Clone, Default)]
pub struct UserList {
    /// Named users.
    pub users: Vec<User>,
    /// Anonymous logins and their access; `None` refuses them.
    pub anonymous: Option<Access>,
}

impl Authenticator for UserList {
    fn login<'a>(
        &'a self,
        user: &'a Username,
        password: &'a Secret<Password>,
        _from: IpAddr,
    ) -> BoxFuture<'a, Option<Principal>> {
        Box::pin(async move {
            let password = password.expose().as_bytes();
            // Every entry is compared, so the time taken does not say which
            // names exist or where a password first differs (A3, A4).
            let mut granted = None;
            for u in &self.users {
                let matches = constant_time_eq(u.name.as_bytes(), user.as_bytes())
                    & constant_time_eq(u.password.as_bytes(), password);
                if matches && granted.is_none() {
                    granted = Some(Access { writable: u.writable });
                }
            }
            granted.map(|access| Principal::new(user.clone(), access))
        })
    }

    fn anonymous(&self) -> Option<Access> {
        self.anonymous
    }
}

/// Compares secrets without stopping at the first difference (SECURITY.md A4).
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn name(s: &str) -> Username {
        Username::try_from(s).unwrap()
    }

    fn secret(s: &str) -> Secret<Password> {
        Secret::new(Password::try_from(s).unwrap())
    }

    /// SECURITY.md A4: the right name and password grant the user's access;
    /// anything else is refused.
    #[tokio::test]
    async fn sec_a4_user_list_checks_name_and_password() {
        let list = UserList {
            users: vec![
                User { name: "alice".into(), password: "secret".into(), writable: true },
                User { name: "bob".into(), password: "hunter2".into(), writable: false },
            ],
            anonymous: None,
        };
        let granted = |n: &str| {
            Some(Principal::new(name(n), if n == "alice" { Access::read_write() } else { Access::read_only() }))
        };
        assert_eq!(list.login(&name("alice"), &secret("secret"), LOCAL).await, granted("alice"));
        assert_eq!(list.login(&name("bob"), &secret("hunter2"), LOCAL).await, granted("bob"));
        assert_eq!(list.login(&name("alice"), &secret("hunter2"), LOCAL).await, None, "another user's password");
        assert_eq!(list.login(&name("alice"), &secret("secre"), LOCAL).await, None, "a prefix");
        assert_eq!(list.login(&name("carol"), &secret("secret"), LOCAL).await, None);
        assert_eq!(list.anonymous(), None);
    }
}
