//! # ftp-proto: the FTP control-connection codec
//!
//! Bytes in, typed [`Command`]s and [`Reply`]s out, and back. No sockets, no
//! clock, no allocation on the hot path, `no_std` + `alloc` capable. This is
//! the bottom layer of the workspace: the sans-IO state machines in
//! `ftp-session` and the tokio drivers in `ftp-tokio` stand on it.
//!
//! ```text
//!  bytes ──► LineDecoder ──► Command::parse ──► Command      (server side)
//!            (framing,        (grammar of one line)
//!             Telnet, limits)
//!  bytes ──► LineDecoder ──► ReplyDecoder   ──► Reply        (client side)
//!  Command / Reply ──► encode ──► bytes (validated values: cannot fail)
//! ```
//!
//! ## Example
//!
//! ```
//! use bytes::BytesMut;
//! use ftp_proto::{Command, CommandDecoder, ParseOptions, Reply, ReplyCode};
//!
//! // Server side: decode what a client sent, in whatever pieces it arrived.
//! let mut decoder = CommandDecoder::new(ParseOptions::default());
//! let mut input = BytesMut::from(&b"EPSV\r\nRETR annual report.pdf\r\n"[..]);
//! let mut commands = Vec::new();
//! while let Some(item) = decoder.decode(&mut input) {
//!     commands.push(item.expect("valid command"));
//! }
//! assert!(matches!(commands[1], Command::Retr(ref p) if p.as_bytes() == b"annual report.pdf"));
//!
//! // ...and answer it.
//! let mut output = BytesMut::new();
//! Reply::extended_passive(50000).encode(&mut output);
//! assert_eq!(&output[..], b"229 Entering Extended Passive Mode (|||50000|)\r\n");
//! ```
//!
//! ## What it does not do
//!
//! It does not decide what a command means in a session (that is
//! `ftp-session`), it does not open connections or files, and it does not
//! read the clock. It does not normalise pathnames: they are bytes, kept and
//! sent back exactly as received (RFC 3659 2.2).
//!
//! ## Safety properties
//!
//! - Every value that goes on the wire is validated when built: no CR or LF
//!   can be smuggled into a command or reply (SECURITY.md E1-E6).
//! - The decoders never buffer without bound and never panic, whatever the
//!   input (F1-F6, T1-T4, R1-R2); this is fuzzed (`fuzz/`).
//! - `PASS`, `ACCT` and `ADAT` arguments are redacted in `Debug`/`Display`.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

extern crate alloc;

mod addr;
pub mod ascii;
mod command;
mod datetime;
mod error;
pub mod glob;
mod line;
pub mod listing;
mod options;
mod reply;
mod scan;
mod secret;
#[cfg(feature = "std")]
mod system_time;
mod text;
mod time;
pub mod url;
mod validation;

#[cfg(feature = "arbitrary")]
mod arbitrary;
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzzing;

pub use addr::{EpsvArg, NetProto};
pub use command::{
    Allocation, Command, CommandDecoder, CommandKind, CommandRef, ExtensionCommand, FormatControl, Opts,
    ProtectionLevel, Structure, TransferMode, TransferType,
};
pub use datetime::OutOfRange;
pub use error::{
    DecodeError, FrameError, ParseError, PercentDecodeError, ReplyDataError, ReplyError, ValidationError,
    ValidationErrorKind,
};
pub use line::{LineDecoder, TelnetEvents};
pub use options::{DEFAULT_MAX_LINE_LEN, DEFAULT_MAX_REPLY_LEN, DEFAULT_MAX_REPLY_LINES, ParseOptions};
pub use reply::{
    Feature, Reply, ReplyCategory, ReplyClass, ReplyCode, ReplyDecoder, ReplyLines, ReplyRef, RestartMarker,
};
pub use secret::Secret;
pub use text::{
    Base64, FactList, HostName, LangTag, MAX_PASSWORD_LEN, MAX_USERNAME_LEN, MAX_VERB_LEN, Mechanism, Password,
    Pathname, Text, Username, Verb,
};
pub use time::Timestamp;
