//! Password guessing across connections (SECURITY.md A1, A2).
//!
//! The session holds a failed login's 530 for a delay, and after a failure
//! holds a correct password's 230 as long, so one connection learns at most
//! one password per delay. A client with many connections, or one that
//! reconnects after every guess, is met here: failures are counted per
//! client address (an IPv6 client by its /64, the smallest network one
//! host is routinely given), and
//!
//! - once an address has failed recently, every session from it holds every
//!   `PASS` reply ([`ftp_session::server::Session::hold_logins`]), and its
//!   passwords are checked one at a time, at most one per delay for the
//!   whole address ([`LoginGuard::slot`]): sixteen connections guess no
//!   faster than one (and past [`MAX_QUEUED_CHECKS`] waiting, a password
//!   is refused unchecked);
//! - past [`LoginGuardOptions::max_failures`] failures within the window,
//!   the address is banned: new connections get 421 before the greeting,
//!   and passwords from its open sessions are refused without being
//!   checked.
//!
//! The table is bounded ([`MAX_TRACKED`]): when it is full, addresses whose
//! failures have aged out go first, then the one with the oldest failure.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most client addresses whose failures are remembered at once.
pub const MAX_TRACKED: usize = 16 * 1024;

/// Most password checks queued for one suspect address (a wait of up to
/// this many delays); a `PASS` past it is refused unchecked, so that
/// reconnecting clients cannot queue work without bound.
pub const MAX_QUEUED_CHECKS: u32 = 16;

/// How failed logins from one address are counted and punished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginGuardOptions {
    /// Failed logins from one address within [`window`](Self::window)
    /// that ban it; 0 turns banning off (the per-address pacing stays).
    /// Default 10.
    pub max_failures: u32,
    /// How long a failure counts. Default 10 minutes.
    pub window: Duration,
    /// How long a ban lasts, from the failure that caused it. Default 15
    /// minutes.
    pub ban: Duration,
}

impl Default for LoginGuardOptions {
    fn default() -> Self {
        Self { max_failures: 10, window: Duration::from_secs(600), ban: Duration::from_secs(900) }
    }
}

/// One address's record.
#[derive(Debug, Default)]
struct Record {
    /// Failure times within the window, oldest first (at most
    /// `max_failures.max(1)` kept).
    failures: VecDeque<Instant>,
    /// Until when the address is banned.
    banned_until: Option<Instant>,
    /// When the next password from this address may be checked.
    next_check: Option<Instant>,
}

/// Failed logins per client address, shared by all sessions of a server.
#[derive(Debug)]
pub struct LoginGuard {
    options: LoginGuardOptions,
    /// The session's failed-login delay: the pace of checks for a suspect
    /// address.
    delay: Duration,
    records: Mutex<HashMap<IpAddr, Record>>,
}

/// What a failure did to its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Failures of the address within the window, this one included.
    pub recent: usize,
    /// This failure banned the address.
    pub banned_now: bool,
}

/// The key an address is counted under: IPv4 (IPv4-mapped IPv6 included)
/// as it is, IPv6 by its /64.
#[must_use]
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl LoginGuard {
    /// A guard with these options, pacing suspect addresses at `delay`.
    #[must_use]
    pub fn new(options: LoginGuardOptions, delay: Duration) -> Self {
        Self { options, delay, records: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets failures older than the window and bans that are over.
    fn expire(&self, record: &mut Record, now: Instant) {
        while record.failures.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.options.window) {
            record.failures.pop_front();
        }
        if record.banned_until.is_some_and(|until| now >= until) {
            record.banned_until = None;
        }
        if record.next_check.is_some_and(|t| now >= t) {
            record.next_check = None;
        }
    }

    fn is_stale(&self, record: &mut Record, now: Instant) -> bool {
        self.expire(record, now);
        record.failures.is_empty() && record.banned_until.is_none() && record.next_check.is_none()
    }

    /// Counts a failed login from `ip` at `now`.
    pub fn record_failure(&self, ip: IpAddr, now: Instant) -> Recorded {
        let key = address_key(ip);
        let mut records = self.lock();
        if !records.contains_key(&key) && records.len() >= MAX_TRACKED {
            records.retain(|_, r| !self.is_stale(r, now));
            if records.len() >= MAX_TRACKED {
                let oldest = records.iter().min_by_key(|(_, r)| r.failures.back().copied()).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    records.remove(&oldest);
                }
            }
        }
        let record = records.entry(key).or_default();
        self.expire(record, now);
        let keep = usize::try_from(self.options.max_failures.max(1)).unwrap_or(usize::MAX);
        if record.failures.len() >= keep {
            record.failures.pop_front();
        }
        record.failures.push_back(now);
        let recent = record.failures.len();
        let banned_now = self.options.max_failures > 0 && recent >= keep && record.banned_until.is_none();
        if self.options.max_failures > 0 && recent >= keep {
            record.banned_until = Some(now + self.options.ban);
        }
        Recorded { recent, banned_now }
    }

    /// Whether `ip` is banned at `now`.
    #[must_use]
    pub fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        let mut records = self.lock();
        let Some(record) = records.get_mut(&address_key(ip)) else { return false };
        self.expire(record, now);
        record.banned_until.is_some()
    }

    /// Whether `ip` failed to log in within the window (its sessions hold
    /// every `PASS` reply).
    #[must_use]
    pub fn is_suspect(&self, ip: IpAddr, now: Instant) -> bool {
        let mut records = self.lock();
        let Some(record) = records.get_mut(&address_key(ip)) else { return false };
        self.expire(record, now);
        !record.failures.is_empty() || record.banned_until.is_some()
    }

    /// When a password from `ip` may be checked: `now` for an address with
    /// no recent failure, else the next free slot, one per delay for the
    /// whole address (the slot is taken). `None`: the address is banned,
    /// or [`MAX_QUEUED_CHECKS`] checks are already waiting; refuse the
    /// password without checking it.
    #[must_use]
    pub fn slot(&self, ip: IpAddr, now: Instant) -> Option<Instant> {
        let mut records = self.lock();
        let Some(record) = records.get_mut(&address_key(ip)) else { return Some(now) };
        self.expire(record, now);
        if record.banned_until.is_some() {
            return None;
        }
        if record.failures.is_empty() {
            return Some(now);
        }
        let at = record.next_check.map_or(now, |t| t.max(now));
        if at.saturating_duration_since(now) >= self.delay * MAX_QUEUED_CHECKS {
            return None;
        }
        record.next_check = Some(at + self.delay);
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// SECURITY.md A2: the ban comes at the configured count within the
    /// window, lasts its time, and failures older than the window do not
    /// count.
    #[test]
    fn sec_a2_ban_after_failures_within_the_window() {
        let options =
            LoginGuardOptions { max_failures: 3, window: Duration::from_secs(60), ban: Duration::from_secs(30) };
        let guard = LoginGuard::new(options, Duration::from_secs(1));
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert!(!guard.is_suspect(a, t0));
        assert_eq!(guard.record_failure(a, t0), Recorded { recent: 1, banned_now: false });
        assert!(guard.is_suspect(a, t0) && !guard.is_banned(a, t0));
        // Aged out: the next failure counts alone.
        let t1 = t0 + Duration::from_secs(61);
        assert!(!guard.is_suspect(a, t1));
        assert_eq!(guard.record_failure(a, t1).recent, 1);
        guard.record_failure(a, t1 + Duration::from_secs(1));
        let r = guard.record_failure(a, t1 + Duration::from_secs(2));
        assert_eq!(r, Recorded { recent: 3, banned_now: true });
        assert!(guard.is_banned(a, t1 + Duration::from_secs(31)));
        assert!(!guard.is_banned(a, t1 + Duration::from_secs(32)));
        assert!(!guard.is_banned(ip("192.0.2.2"), t1), "other addresses are not affected");
    }

    /// SECURITY.md A2: IPv4-mapped IPv6 counts as IPv4, and an IPv6 /64
    /// counts as one address.
    #[test]
    fn sec_a2_addresses_are_grouped() {
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), address_key(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
    }

    /// SECURITY.md A2: a suspect address gets one check per delay in all.
    #[test]
    fn sec_a2_checks_are_paced_per_address() {
        let delay = Duration::from_millis(500);
        let guard = LoginGuard::new(LoginGuardOptions::default(), delay);
        let t0 = Instant::now();
        let a = ip("192.0.2.9");
        assert_eq!(guard.slot(a, t0), Some(t0), "no failure: no wait");
        guard.record_failure(a, t0);
        let slots: Vec<Instant> = (0..4).filter_map(|_| guard.slot(a, t0)).collect();
        assert_eq!(slots, vec![t0, t0 + delay, t0 + delay * 2, t0 + delay * 3]);
        let queued = (4..100).filter_map(|_| guard.slot(a, t0)).count();
        assert_eq!(queued, MAX_QUEUED_CHECKS as usize - 4, "the queue is bounded");
        assert!(guard.slot(a, t0 + delay * 30).is_some(), "and drains");
    }

    /// SECURITY.md A2, C3: the table stays bounded under failures from
    /// ever new addresses.
    #[test]
    fn sec_a2_table_is_bounded() {
        let guard = LoginGuard::new(LoginGuardOptions::default(), Duration::from_secs(1));
        let t0 = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 100) {
            guard.record_failure(IpAddr::V4(n.into()), t0);
        }
        assert!(guard.lock().len() <= MAX_TRACKED);
    }
}
