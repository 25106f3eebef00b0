//! [`ValidationError`]: a value could not be built because it would not
//! survive the wire. In a file of its own because everything that builds a
//! wire value (text, reply codes, replies) uses it, while the other errors
//! ([`crate::error`]) speak of replies: so neither depends on the other.

/// What was wrong with a value being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// A line feed, which would end the line early.
    LineFeed,
    /// A carriage return not followed by NUL (RFC 2640 3.1 escape).
    BareCarriageReturn,
    /// The value may not be empty.
    Empty,
    /// The value is longer than allowed.
    TooLong {
        /// The maximum length in bytes.
        limit: usize,
    },
    /// A verb that is not ASCII letters (SECURITY.md F4).
    BadVerb,
    /// A byte outside the value's grammar.
    BadCharacter,
    /// A number outside its range, or a date that does not exist.
    OutOfRange,
    /// The verb names a known command, so it cannot be an extension command.
    KnownVerb,
}

/// A value could not be built because it would not survive the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid value at byte {at}: {kind:?}")]
pub struct ValidationError {
    /// What was wrong.
    pub kind: ValidationErrorKind,
    /// Offset of the offending byte in the value.
    pub at: usize,
}

impl ValidationError {
    pub(crate) const fn new(kind: ValidationErrorKind, at: usize) -> Self {
        Self { kind, at }
    }
}
