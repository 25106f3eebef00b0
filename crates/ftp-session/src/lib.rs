//! # ftp-session: sans-IO FTP state machines
//!
//! The protocol's rules, done once: which command may follow which, what
//! every reply says, how the data connection is negotiated, how TLS is
//! entered, what to refuse. The state machines never touch a socket, a file,
//! a TLS library or the clock: the caller feeds bytes, events and the current
//! [`Instant`](std::time::Instant), and drains replies to send and actions to
//! perform. That is what lets them be tested exhaustively without a network
//! and reused by any driver (`ftp-tokio` is one).
//!
//! - [`server`]: one [`server::Session`] per control connection.
//! - [`client`]: one [`client::Session`] per connection to a server.
//!
//! ## The run loop
//!
//! Every call that changes a session (`handle_input`, `answer`) is followed
//! by draining `poll_output()` until it returns `Output::Wait(deadline)`;
//! outputs are carried out in order. When the deadline passes, feed
//! `Input::Timeout`. The session never reads a clock: calling it early, late
//! or twice is harmless. See the [`server`] module for a complete example.
//!
//! ## Errors
//!
//! Mistakes of the *peer* are never `Err`: the session answers them with the
//! right reply (500, 501, 503...) and counts them. `Err(`[`Misuse`]`)` is for
//! mistakes of the *caller* (answering a request twice, feeding input after
//! close); the state is left unchanged.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// A chainable setter for one field of a `*Config` (`config.idle_timeout(d)`).
/// Defined before the modules so both roles' configurations use it.
macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty) => {
        $(#[$m])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

pub mod client;
mod io;
pub mod server;

#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzzing;

/// A mistake in how the caller drives a session. The session's state is
/// unchanged when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// The session has closed; it takes no more input.
    #[error("the session is closed")]
    Closed,
    /// The id is not the outstanding request (stale, cancelled, or unknown).
    #[error("no such outstanding request")]
    UnknownRequest,
    /// The answer does not fit the request (a size for a login...).
    #[error("answer does not fit the request")]
    WrongAnswer,
    /// An input that the session's state does not expect.
    #[error("unexpected input: {0}")]
    UnexpectedInput(&'static str),
}

/// The workspace README's code examples (codec and session), compiled and
/// run as doctests here, where both crates are in scope.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
