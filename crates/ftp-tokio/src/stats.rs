//! What a server has done, counted: sessions, logins, bytes, transfers and
//! refusals, for an operator's metrics endpoint (`ftpkit serve
//! --metrics-listen` renders a [`Snapshot`] for Prometheus).
//!
//! Counters are relaxed atomics bumped by the driver where the matching
//! log event is written (see [`crate::events`]), so the numbers and the
//! log tell the same story. A [`Snapshot`] is a plain copy, taken without
//! stopping anyone.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one [`Server`](crate::server::Server), shared by its
/// sessions ([`Server::stats`](crate::server::Server::stats)).
#[derive(Debug, Default)]
pub struct Stats {
    sessions_current: AtomicU64,
    sessions_total: AtomicU64,
    logins_ok: AtomicU64,
    logins_failed: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    transfers_completed: AtomicU64,
    transfers_failed: AtomicU64,
    transfers_aborted: AtomicU64,
    refused_max_sessions: AtomicU64,
    refused_max_sessions_per_ip: AtomicU64,
    refused_banned: AtomicU64,
    refused_shutting_down: AtomicU64,
    refused_proxy_protocol: AtomicU64,
    tls_handshakes_failed: AtomicU64,
}

/// Why a connection was refused before its greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// [`ServerOptions::max_sessions`](crate::server::ServerOptions::max_sessions) reached.
    MaxSessions,
    /// [`ServerOptions::max_sessions_per_ip`](crate::server::ServerOptions::max_sessions_per_ip) reached.
    MaxSessionsPerIp,
    /// The address is banned for failed logins (SECURITY.md A2).
    Banned,
    /// The server is stopping.
    ShuttingDown,
    /// The PROXY protocol was not followed: a trusted proxy's header was
    /// missing, late or malformed, or a connection from elsewhere sent
    /// one ([`ServerOptions::proxy_protocol_from`](crate::server::ServerOptions::proxy_protocol_from);
    /// SECURITY.md C6).
    ProxyProtocol,
}

impl Refusal {
    /// The reason as a metric label or log field: `max_sessions`,
    /// `max_sessions_per_ip`, `banned`, `shutting_down`, `proxy_protocol`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxSessions => "max_sessions",
            Self::MaxSessionsPerIp => "max_sessions_per_ip",
            Self::Banned => "banned",
            Self::ShuttingDown => "shutting_down",
            Self::ProxyProtocol => "proxy_protocol",
        }
    }
}

/// How a transfer ended, for [`Stats`] and the transfer log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferResult {
    /// Every byte moved (226).
    Completed,
    /// The data connection or the storage failed (426, 451, 452, 552).
    Failed,
    /// The client aborted it (ABOR) or the session ended first.
    Aborted,
}

impl TransferResult {
    /// `completed`, `failed` or `aborted`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }
}

/// A copy of a server's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Sessions open now (refused connections not included).
    pub sessions_current: u64,
    /// Sessions admitted since the server started.
    pub sessions_total: u64,
    /// Logins that succeeded (named and anonymous).
    pub logins_ok: u64,
    /// Logins refused (bad password, unknown user, not allowed from the
    /// address, too many sessions of the user).
    pub logins_failed: u64,
    /// Bytes received on data connections (uploads).
    pub bytes_in: u64,
    /// Bytes sent on data connections (downloads and listings).
    pub bytes_out: u64,
    /// Transfers that completed.
    pub transfers_completed: u64,
    /// Transfers that failed.
    pub transfers_failed: u64,
    /// Transfers aborted by the client.
    pub transfers_aborted: u64,
    /// Connections refused: too many sessions.
    pub refused_max_sessions: u64,
    /// Connections refused: too many sessions from the address.
    pub refused_max_sessions_per_ip: u64,
    /// Connections refused: the address is banned.
    pub refused_banned: u64,
    /// Connections refused: the server is stopping.
    pub refused_shutting_down: u64,
    /// Connections refused: the PROXY protocol was not followed.
    pub refused_proxy_protocol: u64,
    /// TLS handshakes that failed (control and data connections).
    pub tls_handshakes_failed: u64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Stats {
    /// A session was admitted.
    pub(crate) fn session_opened(&self) {
        bump(&self.sessions_current, 1);
        bump(&self.sessions_total, 1);
    }

    /// An admitted session ended.
    pub(crate) fn session_closed(&self) {
        self.sessions_current.fetch_sub(1, Ordering::Relaxed);
    }

    /// A login was decided.
    pub(crate) fn login(&self, ok: bool) {
        bump(if ok { &self.logins_ok } else { &self.logins_failed }, 1);
    }

    /// A transfer ended after moving `bytes` in (`upload`) or out.
    pub(crate) fn transfer(&self, upload: bool, bytes: u64, result: TransferResult) {
        bump(if upload { &self.bytes_in } else { &self.bytes_out }, bytes);
        bump(
            match result {
                TransferResult::Completed => &self.transfers_completed,
                TransferResult::Failed => &self.transfers_failed,
                TransferResult::Aborted => &self.transfers_aborted,
            },
            1,
        );
    }

    /// A connection was refused before its greeting.
    pub(crate) fn refused(&self, why: Refusal) {
        bump(
            match why {
                Refusal::MaxSessions => &self.refused_max_sessions,
                Refusal::MaxSessionsPerIp => &self.refused_max_sessions_per_ip,
                Refusal::Banned => &self.refused_banned,
                Refusal::ShuttingDown => &self.refused_shutting_down,
                Refusal::ProxyProtocol => &self.refused_proxy_protocol,
            },
            1,
        );
    }

    /// A TLS handshake failed.
    pub(crate) fn tls_failed(&self) {
        bump(&self.tls_handshakes_failed, 1);
    }

    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            sessions_current: get(&self.sessions_current),
            sessions_total: get(&self.sessions_total),
            logins_ok: get(&self.logins_ok),
            logins_failed: get(&self.logins_failed),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            transfers_completed: get(&self.transfers_completed),
            transfers_failed: get(&self.transfers_failed),
            transfers_aborted: get(&self.transfers_aborted),
            refused_max_sessions: get(&self.refused_max_sessions),
            refused_max_sessions_per_ip: get(&self.refused_max_sessions_per_ip),
            refused_banned: get(&self.refused_banned),
            refused_shutting_down: get(&self.refused_shutting_down),
            refused_proxy_protocol: get(&self.refused_proxy_protocol),
            tls_handshakes_failed: get(&self.tls_handshakes_failed),
        }
    }
}
