//! # ftp-tokio: FTP on tokio, driving the `ftp-session` state machines
//!
//! The drivers own sockets, files, TLS and the clock; every protocol
//! decision is the sans-IO sessions'.
//!
//! - [`server::Server`]: one tokio task per control connection, each running
//!   an `ftp_session::server::Session`; answers its requests from a
//!   [`storage::Storage`] ([`storage::LocalFs`], confined to its root, or
//!   [`memory::MemoryFs`]) and an [`auth::Authenticator`]. Passive and active
//!   data connections, explicit and implicit FTPS ([`tls`]), session limits
//!   in all and per IP, password guessing paced and banned per address
//!   ([`guard`]), the PROXY protocol from trusted load balancers
//!   ([`proxy`]), graceful shutdown. [`background::Background`] runs
//!   one on a thread of its own.
//! - [`client::Client`]: an async client over `ftp_session::client::Session`:
//!   plain, explicit or implicit FTPS, passive or active, parsed listings,
//!   downloads and uploads with resume, downloads and uploads as streams
//!   ([`client::RetrStream`], [`client::StorStream`]), ABOR; [`blocking`]
//!   wraps it for programs without an async runtime.
//!
//! Both sides' options have builder-style setters beside their public
//! fields (`ServerOptions::new(..).user("alice", "pw", true)`,
//! `ClientOptions::default().insecure(true)`).
//!
//! FTPS is the `rustls` feature (a default, with the `ring` or `aws-lc-rs`
//! crypto provider); without it the crate speaks plain FTP only (see
//! [`tls`] and the README's Features).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ascii;
pub mod auth;
pub mod background;
mod buffer;
mod builders;
mod cached;
pub mod client;
pub mod events;
pub mod guard;
pub mod homes;
pub mod memory;
#[cfg(feature = "object-store")]
pub mod object;
pub mod pace;
pub mod proxy;
pub mod server;
mod sink;
mod source;
pub mod stats;
pub mod storage;
pub mod tls;

// What a user of this crate names besides its own types, so that a client
// or an embedded server depends on this crate alone.
pub use client::blocking;
pub use ftp_proto::listing::{Entry, EntryKind, ListingTime};
pub use ftp_proto::{Password, Pathname, Reply, ReplyCode, Timestamp, Username};
pub use ftp_session::client::{Capabilities, ClientConfig, DataMode, PasvPolicy};
pub use ftp_session::server::{StorageCapabilities, StorageError, VirtualPath};

/// A future a [`Storage`](storage::Storage) or an
/// [`Authenticator`](auth::Authenticator) returns: boxed so that the traits
/// are object safe (see [`storage`]). Also at `storage::BoxFuture`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What a driver does with a session's [`Misuse`](ftp_session::Misuse) of
/// an input: it is a bug in the driver, never the peer's doing (the
/// sessions themselves ignore late events of a data setup they closed, and
/// the drivers stop feeding a session once it closed), so it is logged,
/// and fatal in debug builds, where the tests run. Never ignored.
#[track_caller]
pub(crate) fn checked(result: Result<(), ftp_session::Misuse>) {
    if let Err(misuse) = result {
        tracing::error!(?misuse, "the session refused an input: a driver bug");
        debug_assert!(false, "the session refused an input: {misuse:?}");
    }
}

/// The README's examples, compiled and run as doctests so that they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
