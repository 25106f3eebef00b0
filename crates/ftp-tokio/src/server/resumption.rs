//! Which TLS session a protected data connection may resume (SECURITY.md
//! L6), per [`TlsResumption`].
//!
//! Every TLS session this server issues carries, as rustls resumption data,
//! the id of the control connection it was first made on (set on the
//! control handshake and on every data handshake, so tickets a data
//! connection sends carry it too). A data connection that resumes a
//! session is then accepted when that id is its own control connection's
//! ([`TlsResumption::ControlSession`], with each control connection's own
//! ticket key and store, as before), or when it names a control
//! connection from the same client address logged in as the same user
//! ([`TlsResumption::SameClient`], where the control connections of one
//! address share a key and a store: rclone before 1.64 keeps one session
//! cache for all its parallel control connections).
//!
//! rustls carries resumption data in TLS 1.3 tickets only. So that TLS 1.2
//! sessions (tickets and session ids) name their control connection too,
//! the shared key and store are wrapped per control connection
//! ([`crate::tls::tagged_session`]): each ticket's plaintext and each
//! stored session begins with the issuing connection's id, and the data
//! connection's handshake leaves the id it found in an
//! [`IssuerSlot`](crate::tls::IssuerSlot).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ftp_proto::Username;

use crate::guard::address_key;
use crate::tls::{AddressKeys, IssuerSlot, SessionTls};

/// Which TLS sessions a protected data connection may resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsResumption {
    /// Only a session of its own control connection (the default; vsftpd's
    /// `require_ssl_reuse`). Right for curl, lftp, wget, FileZilla, WinSCP,
    /// Python's ftplib with TLS 1.3 off, and rclone with
    /// `--ftp-concurrency 1`.
    #[default]
    ControlSession,
    /// A session this server made on any control connection from the same
    /// client address, logged in as the same user: for clients that share
    /// one TLS session cache across parallel control connections (rclone
    /// before 1.64). Another user, or another address, is still refused.
    SameClient,
}

/// Most client addresses whose shared TLS settings are kept at once.
const MAX_CLIENTS: usize = 4096;

/// Most control connections whose login is remembered at once.
const MAX_LOGINS: usize = 16 * 1024;

/// How long the sessions of a control connection that ended may still be
/// resumed by its client's other connections (rclone keeps sessions of
/// connections it closed in its cache).
const ENDED_LOGIN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// A control connection's login: its client address (as [`address_key`]
/// groups them), its user, and when the connection ended.
struct LoginEntry {
    address: IpAddr,
    /// `None` until the connection logs in.
    user: Option<Username>,
    ended: Option<std::time::Instant>,
}

/// Whether a data connection may resume the session it offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Yes,
    No,
    /// The session was made on another control connection of the same
    /// address that has not logged in yet (a client opening connections in
    /// parallel): ask again in a moment.
    NotYet,
}

/// The server's record of control connections and their logins, and (for
/// [`TlsResumption::SameClient`]) the TLS settings each client address
/// shares.
#[derive(Default)]
pub(super) struct Resumption {
    mode: TlsResumption,
    /// Control connections, by id: their address and login.
    logins: Mutex<HashMap<u64, LoginEntry>>,
    /// Per client address, in [`TlsResumption::SameClient`].
    shared: Mutex<HashMap<IpAddr, Arc<AddressKeys>>>,
}

impl Resumption {
    pub(super) fn new(mode: TlsResumption) -> Self {
        Self { mode, ..Self::default() }
    }

    /// The mode in force.
    pub(super) fn mode(&self) -> TlsResumption {
        self.mode
    }

    /// The TLS settings for new control connection `id` from `peer`: its
    /// own key and store, or (in [`TlsResumption::SameClient`]) its
    /// address's shared ones, tagged with `id`, and the slot in which its
    /// data connections' handshakes leave the issuer of the session they
    /// resumed.
    pub(super) fn settings(
        &self,
        base: &Arc<crate::tls::ServerConfig>,
        peer: IpAddr,
        id: u64,
    ) -> (SessionTls, Option<Arc<IssuerSlot>>) {
        if self.mode == TlsResumption::ControlSession {
            return (crate::tls::per_session(base), None);
        }
        let keys = {
            let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if shared.len() >= MAX_CLIENTS && !shared.contains_key(&address_key(peer)) {
                shared.clear();
            }
            shared.entry(address_key(peer)).or_insert_with(|| Arc::new(AddressKeys::new(base))).clone()
        };
        let slot = Arc::new(IssuerSlot::default());
        (crate::tls::tagged_session(base, &keys, id, slot.clone()), Some(slot))
    }

    /// Control connection `id` from `peer` opened.
    pub(super) fn opened(&self, id: u64, peer: IpAddr) {
        self.record(id, peer, None);
    }

    /// Control connection `id` from `peer` logged in as `user`.
    pub(super) fn logged_in(&self, id: u64, peer: IpAddr, user: Username) {
        self.record(id, peer, Some(user));
    }

    fn record(&self, id: u64, peer: IpAddr, user: Option<Username>) {
        if self.mode == TlsResumption::ControlSession {
            return; // A connection's own tag is all that is checked.
        }
        let mut logins = self.lock();
        if logins.len() >= MAX_LOGINS {
            let now = std::time::Instant::now();
            logins.retain(|_, e| e.ended.is_none_or(|t| now.duration_since(t) < ENDED_LOGIN_LIFETIME));
            if logins.len() >= MAX_LOGINS {
                logins.retain(|_, e| e.ended.is_none());
            }
        }
        logins.insert(id, LoginEntry { address: address_key(peer), user, ended: None });
    }

    /// Control connection `id` ended: its sessions stay resumable by its
    /// client's other connections for [`ENDED_LOGIN_LIFETIME`].
    pub(super) fn ended(&self, id: u64) {
        if let Some(entry) = self.lock().get_mut(&id) {
            entry.ended = Some(std::time::Instant::now());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LoginEntry>> {
        self.logins.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a data connection of control connection `own` may resume
    /// the session whose resumption data is `received` (`None`: it did not
    /// resume at all).
    pub(super) fn may_resume(&self, own: u64, received: Option<&[u8]>) -> Verdict {
        let Some(issuer) = received.and_then(|r| <[u8; 8]>::try_from(r).ok()).map(u64::from_le_bytes) else {
            return Verdict::No;
        };
        if issuer == own {
            return Verdict::Yes;
        }
        if self.mode != TlsResumption::SameClient {
            return Verdict::No;
        }
        let logins = self.lock();
        let (Some(own), Some(issuer)) = (logins.get(&own), logins.get(&issuer)) else { return Verdict::No };
        let fresh = issuer.ended.is_none_or(|t| t.elapsed() < ENDED_LOGIN_LIFETIME);
        if !fresh || own.address != issuer.address || own.user.is_none() {
            return Verdict::No;
        }
        match &issuer.user {
            Some(user) if Some(user) == own.user.as_ref() => Verdict::Yes,
            None if issuer.ended.is_none() => Verdict::NotYet,
            _ => Verdict::No,
        }
    }
}

/// The resumption data a control connection's sessions carry.
pub(super) fn tag(id: u64) -> [u8; 8] {
    id.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> Username {
        Username::try_from(s).unwrap()
    }

    /// SECURITY.md L6: with SameClient a session from the same address and
    /// user, never another user's or another address's; a session whose
    /// control connection has not logged in yet waits; by default only the
    /// connection's own tag.
    #[test]
    fn sec_l6_who_may_resume() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        {
            let mode = TlsResumption::SameClient;
            let r = Resumption::new(mode);
            r.logged_in(1, ip("192.0.2.1"), user("alice"));
            r.logged_in(2, ip("192.0.2.1"), user("alice"));
            r.logged_in(3, ip("192.0.2.1"), user("bob"));
            r.logged_in(4, ip("192.0.2.9"), user("alice"));
            let same = Verdict::Yes;
            assert_eq!(r.may_resume(1, Some(&tag(1))), Verdict::Yes, "its own");
            assert_eq!(r.may_resume(1, None), Verdict::No, "not resumed");
            assert_eq!(r.may_resume(1, Some(b"garbage")), Verdict::No);
            assert_eq!(r.may_resume(2, Some(&tag(1))), same, "same address and user");
            assert_eq!(r.may_resume(3, Some(&tag(1))), Verdict::No, "another user");
            assert_eq!(r.may_resume(4, Some(&tag(1))), Verdict::No, "another address");
            r.opened(5, ip("192.0.2.1"));
            let wait = Verdict::NotYet;
            assert_eq!(r.may_resume(2, Some(&tag(5))), wait, "its issuer has not logged in yet");
            r.logged_in(5, ip("192.0.2.1"), user("bob"));
            assert_eq!(r.may_resume(2, Some(&tag(5))), Verdict::No, "it logged in as someone else");
            r.ended(1);
            assert_eq!(r.may_resume(2, Some(&tag(1))), same, "an ended connection's sessions, for a while");
        }
        let strict = Resumption::new(TlsResumption::ControlSession);
        strict.logged_in(1, "192.0.2.1".parse().unwrap(), user("alice"));
        strict.logged_in(2, "192.0.2.1".parse().unwrap(), user("alice"));
        assert_eq!(strict.may_resume(2, Some(&tag(2))), Verdict::Yes);
        assert_eq!(strict.may_resume(2, Some(&tag(1))), Verdict::No, "another control connection's, same user");
    }
}
