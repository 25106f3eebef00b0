//! The client session's vocabulary: what the caller feeds in ([`Input`]),
//! what it drains ([`Output`], [`Event`]), and how operations end
//! ([`OpOutput`], [`OpError`], [`StartError`]). Kept apart from the state
//! machine so a driver's author reads the contract without the machinery.

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Instant;

use bytes::Bytes;
use ftp_proto::{Pathname, Reply, Text, Timestamp};

use super::Capabilities;
use super::data::{DataAction, DataEvent, DataId};

/// Names one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub(super) u64);

/// Input for [`Session::handle_input`](super::Session::handle_input).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Bytes read from the control connection.
    Control(&'a [u8]),
    /// The control connection reached EOF.
    ControlEof,
    /// The TLS handshake asked for by [`Output::StartTls`] completed.
    TlsEstablished,
    /// A deadline may have passed.
    Timeout,
    /// A data connection event.
    Data(DataId, DataEvent),
}

/// How a 227 address was used (reported so the caller can log it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasvDecision {
    /// The address of the reply was used.
    Trusted,
    /// The reply's address was ignored for the control peer's.
    ControlPeer,
    /// The reply's address was unroutable and replaced by the control peer's.
    Substituted,
    /// A 229 reply: the control peer's address by definition (RFC 2428).
    Extended,
}

/// A successful operation's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpOutput {
    /// Logged in (230).
    LoggedIn,
    /// The operation's final reply.
    Done(Reply),
    /// A pathname (`PWD`, `MKD` 257, RFC 959 Appendix II).
    Pathname(Pathname),
    /// A size (`SIZE` 213).
    Size(u64),
    /// A time (`MDTM` 213).
    Time(Timestamp),
    /// The facts line(s) of `MLST` (250).
    Facts(Vec<Text>),
    /// The capability set (`FEAT`).
    Features(Capabilities),
    /// A transfer's byte count.
    Transferred {
        /// Bytes moved on the data connection.
        bytes: u64,
    },
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The server refused (4yz/5yz): 425, 426, 451, 452, 550, 552, 553...
    #[error("server replied {}", .0.code())]
    Rejected(Reply),
    /// The server refused `AUTH TLS` and plaintext fallback is not allowed.
    #[error("server refused TLS")]
    TlsRefused(Reply),
    /// The server broke the protocol; the connection is closed.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// No reply in time; the connection is closed.
    #[error("no reply in time")]
    Timeout,
    /// The connection ended (421 or EOF).
    #[error("connection closed")]
    Closed(Option<Reply>),
    /// The data connection could not be made or broke.
    #[error("data connection failed")]
    DataConnection,
    /// Fewer bytes arrived than the server announced (SECURITY.md R5).
    #[error("partial transfer: {received} of {expected} bytes")]
    Partial {
        /// Announced by SIZE or the 150 reply.
        expected: u64,
        /// Offset plus bytes received.
        received: u64,
    },
    /// Aborted with [`Session::abort`](super::Session::abort).
    #[error("aborted")]
    Aborted,
}

/// What happened, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting (220).
    Greeting(Reply),
    /// A preliminary reply (110, 120, 125, 150) of an operation.
    Intermediate {
        /// The operation.
        op: OpId,
        /// The reply.
        reply: Reply,
    },
    /// A passive data address was chosen.
    PassiveAddress {
        /// The address in the 227 reply (None for 229).
        reported: Option<SocketAddrV4>,
        /// The address connected to.
        used: SocketAddr,
        /// Why.
        decision: PasvDecision,
    },
    /// An operation ended.
    OpCompleted {
        /// The operation.
        op: OpId,
        /// Its result.
        result: Result<OpOutput, OpError>,
    },
    /// The connection ended (after QUIT, 421, EOF, a timeout or a violation).
    Closed,
}

/// What the session wants done, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "outputs must be carried out in order"]
pub enum Output {
    /// Write these bytes to the control connection.
    Transmit(Bytes),
    /// Write these bytes as TCP urgent data (the Telnet Synch before ABOR,
    /// RFC 959 4.1.3); with TLS on the control connection, write them
    /// normally (RFC 4217 section 14).
    TransmitUrgent(Bytes),
    /// Act on a data connection.
    Data(DataAction),
    /// Run the TLS handshake (client side) on the control connection now.
    StartTls,
    /// Send close_notify and continue in plaintext (after REIN).
    StopTls,
    /// For the caller.
    Event(Event),
    /// Close the control connection.
    Close,
    /// Nothing to do until input arrives or this instant passes.
    Wait(Option<Instant>),
}

/// Why an operation cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Another operation is in progress (FTP is serial).
    #[error("an operation is in progress")]
    Busy,
    /// The greeting has not arrived yet.
    #[error("not connected yet")]
    NotReady,
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// An argument would not survive the wire (CR, LF; SECURITY.md E1).
    #[error("invalid argument")]
    InvalidArgument,
}
