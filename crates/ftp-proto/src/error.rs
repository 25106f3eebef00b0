//! Errors, one type per layer.
//!
//! - [`ValidationError`]: a value could not be built (it would break the wire).
//! - [`FrameError`]: the line framer refused bytes (overlong line, bare LF in
//!   strict mode). The framer has already resynchronised when it reports one.
//! - [`ParseError`]: one complete command line did not follow its grammar.
//!   [`ParseError::reply_code`] is the reply a server sends.
//! - [`DecodeError`]: what the streaming command decoder yields: a frame or a
//!   parse error, each an item the server answers before going on.
//! - [`ReplyError`]: the streaming reply decoder's errors (client side).
//! - [`ReplyDataError`]: a typed reader (227, 229, 257, 213...) found no
//!   usable value in a reply.
//! - [`PercentDecodeError`]: a URL component did not percent-decode
//!   ([`url::percent_decode`](crate::url::percent_decode)).
//!
//! Messages are lowercase without a trailing period and never include the
//! bytes of a secret (a password is never echoed in an error).

use crate::reply::code::ReplyCode;
pub use crate::validation::{ValidationError, ValidationErrorKind};

/// The line framer refused some input. The framer has already skipped the
/// offending line; decoding goes on with the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line longer than the configured limit (SECURITY.md F1, R1). Its
    /// bytes were discarded up to the next LF.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The configured limit, CRLF included.
        limit: usize,
    },
    /// A line ended by LF alone while bare LF is not allowed (SECURITY.md F2).
    #[error("line ended by a bare line feed")]
    BareLineFeed,
}

impl FrameError {
    /// The reply a server sends for this error: 500 (RFC 959 4.2.1, "syntax
    /// error, command unrecognized ... command line too long").
    #[must_use]
    pub fn reply_code(&self) -> ReplyCode {
        ReplyCode::SYNTAX_ERROR
    }
}

/// A command line that does not follow its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An empty line.
    #[error("empty command line")]
    Empty,
    /// The verb is not ASCII letters or is too long (SECURITY.md F4).
    #[error("malformed verb at byte {at}")]
    BadVerb {
        /// Offset of the first offending byte.
        at: usize,
    },
    /// The verb needs an argument and none was given.
    #[error("{verb} needs an argument")]
    MissingArgument {
        /// The verb, in upper case.
        verb: &'static str,
    },
    /// The verb takes no argument and one was given.
    #[error("{verb} takes no argument")]
    UnexpectedArgument {
        /// The verb, in upper case.
        verb: &'static str,
    },
    /// The argument does not follow the verb's grammar.
    #[error("invalid {verb} argument at byte {at}: {reason}")]
    InvalidArgument {
        /// The verb, in upper case.
        verb: &'static str,
        /// What was expected.
        reason: &'static str,
        /// Offset of the problem in the argument.
        at: usize,
    },
    /// The argument is well formed but names a parameter this codec does not
    /// know (`TYPE X`, `MODE Q`, `STRU Z`): RFC 959 reply 504.
    #[error("unsupported {verb} parameter")]
    UnsupportedParameter {
        /// The verb, in upper case.
        verb: &'static str,
    },
    /// `EPRT`/`EPSV` named a network protocol other than 1 (IPv4) or 2 (IPv6):
    /// RFC 2428 section 2 reply 522.
    #[error("unsupported network protocol in {verb}")]
    UnsupportedProtocol {
        /// The verb, in upper case.
        verb: &'static str,
    },
}

impl ParseError {
    /// The reply code a server answers this error with: 500 for a line that
    /// is not a command, 501 for a bad argument, 504 for an unsupported
    /// parameter, 522 for an unsupported network protocol (RFC 959 4.2.1,
    /// RFC 2428 section 2).
    #[must_use]
    pub fn reply_code(&self) -> ReplyCode {
        match self {
            Self::Empty | Self::BadVerb { .. } => ReplyCode::SYNTAX_ERROR,
            Self::MissingArgument { .. } | Self::UnexpectedArgument { .. } | Self::InvalidArgument { .. } => {
                ReplyCode::SYNTAX_ERROR_ARGUMENTS
            }
            Self::UnsupportedParameter { .. } => ReplyCode::PARAMETER_NOT_IMPLEMENTED,
            Self::UnsupportedProtocol { .. } => ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
        }
    }
}

/// One item the command decoder could not turn into a command. The decoder
/// goes on with the next line; the server answers [`DecodeError::reply_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The framer refused the line.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The line was framed but is not a valid command.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl DecodeError {
    /// The reply code a server answers with.
    #[must_use]
    pub fn reply_code(&self) -> ReplyCode {
        match self {
            Self::Frame(e) => e.reply_code(),
            Self::Parse(e) => e.reply_code(),
        }
    }
}

/// The reply decoder met something that is not a valid reply (RFC 959 4.2).
/// The decoder has resynchronised; a client usually treats this as fatal for
/// the connection (SECURITY.md R1, R2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The framer refused a line.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A line that should start a reply does not start with a valid code
    /// followed by a space, a hyphen or the end of the line.
    #[error("malformed reply line")]
    BadCode,
    /// A reply line holds a CR that is not part of a `CR NUL` pair.
    #[error("bare carriage return in reply at byte {at}")]
    BareCarriageReturn {
        /// Offset in the line.
        at: usize,
    },
    /// A multi-line reply has more lines than allowed; its remaining lines
    /// are skipped.
    #[error("multi-line reply has more than {limit} lines")]
    TooManyLines {
        /// The configured limit.
        limit: usize,
    },
    /// A multi-line reply has more bytes than allowed; its remaining lines
    /// are skipped.
    #[error("reply longer than {limit} bytes")]
    TooLong {
        /// The configured limit.
        limit: usize,
    },
}

/// A typed reader did not find its value in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyDataError {
    /// The reply has another code than the reader expects.
    #[error("reply {found} is not a {expected} reply")]
    WrongCode {
        /// The code the reader handles.
        expected: u16,
        /// The reply's code.
        found: u16,
    },
    /// The value the reader looks for is not in the text.
    #[error("no value found in the reply text")]
    NotFound,
    /// A number is out of range (a 227 octet above 255, a port above 65535).
    #[error("number out of range in reply")]
    OutOfRange,
    /// The value is malformed (unterminated 257 quote, bad delimiter).
    #[error("malformed value in reply")]
    Malformed,
}

/// A URL component could not be percent-decoded (RFC 3986 section 2.1):
/// what [`url::percent_decode`](crate::url::percent_decode) refuses, so
/// that a tool reports the URL as wrong instead of sending a mangled
/// user name or path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PercentDecodeError {
    /// A `%` not followed by two hex digits.
    #[error("bad %-escape at byte {at}")]
    BadEscape {
        /// Offset of the `%` in the component.
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("does not decode to UTF-8")]
    NotUtf8,
}
