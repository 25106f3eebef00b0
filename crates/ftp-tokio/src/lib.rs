//! # ftp-tokio: FTP on tokio, driving the `ftp-session` state machines
//!
//! [`server::Server`] serves a directory ([`storage::LocalFs`], confined to
//! its root) with one tokio task per control connection, each running an
//! `ftp_session::server::Session`. The driver owns sockets, files and the
//! clock; every protocol decision is the session's.
//!
//! Status: the server, in plain FTP and explicit FTPS (passive and active
//! data connections, anonymous and named users, read-only or writable,
//! session limit). Not yet: implicit FTPS, the async client, graceful
//! shutdown (issue 6).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod memory;
pub mod server;
pub mod storage;
pub mod tls;
