//! The server's log: one `tracing` event per thing an operator audits,
//! under fixed targets and field names, so that a subscriber (a JSON log,
//! the classic xferlog, fail2ban reading text) can rely on them.
//!
//! Every event of a session carries two fields first: `session` (a number
//! unique in the server's life) and `peer` (the client's address and
//! port), so any one line says whose it is. They are fields, not a span: a
//! span per session would cost every open session a record in the
//! subscriber, for what two fields say. Behind a load balancer trusted for
//! the PROXY protocol
//! ([`ServerOptions::proxy_protocol_from`](crate::server::ServerOptions::proxy_protocol_from)),
//! `peer` is the client address the balancer's header carried, not the
//! balancer's; a connection refused for its header (reason
//! `proxy_protocol`, with a `detail` field) is logged with the address it
//! came from.
//!
//! | target | level | message | fields |
//! |---|---|---|---|
//! | [`CONNECTION`] | INFO | `connected` | `local` |
//! | [`CONNECTION`] | INFO | `refused` | `reason` ([`Refusal::as_str`](crate::stats::Refusal::as_str)); `detail` for `proxy_protocol` |
//! | [`CONNECTION`] | INFO | `disconnected` | `duration_ms`, `reason` |
//! | [`LOGIN`] | INFO | `login` | `user`, `anonymous` |
//! | [`LOGIN`] | WARN | `login failed` | `user`, `session_failures`, `address_failures` |
//! | [`LOGIN`] | WARN | `address banned` | `ip` |
//! | [`POLICY`] | INFO | `refused` | `user`, `command`, `reason` |
//! | [`TRANSFER`] | INFO | `transfer` | `user`, `anonymous`, `path`, `direction` (`download`, `upload`, `listing`), `binary`, `bytes`, `duration_ms`, `result` ([`TransferResult::as_str`](crate::stats::TransferResult::as_str)), `tls` |
//!
//! A password is never a field. Policy refusals are logged at most
//! [`POLICY_EVENTS_PER_SESSION`] times a session, so a client looping on a
//! refused command cannot flood the log.

/// Connections: accepted, refused before the greeting (or, for a PROXY
/// header from an untrusted address, at the first bytes), ended.
pub const CONNECTION: &str = "ftp_tokio::connection";
/// Logins, failed logins and bans.
pub const LOGIN: &str = "ftp_tokio::login";
/// Commands refused by policy (a read-only user writing, a user not
/// allowed from an address).
pub const POLICY: &str = "ftp_tokio::policy";
/// Transfers, one event each when they end.
pub const TRANSFER: &str = "ftp_tokio::transfer";
/// Most [`POLICY`] events one session writes.
pub const POLICY_EVENTS_PER_SESSION: u32 = 32;
