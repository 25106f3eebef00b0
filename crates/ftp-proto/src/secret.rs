//! A wrapper that keeps secrets out of logs.

use core::fmt;

/// A value that must not be shown: `Debug` and `Display` print `****`.
///
/// Wraps `PASS` and `ACCT` arguments and RFC 2228 `ADAT` payloads, so that a
/// logged command or error never carries a credential.
///
/// ```
/// use ftp_proto::{Password, Secret};
/// let pw = Secret::new(Password::try_from("hunter2").unwrap());
/// assert_eq!(format!("{pw:?}"), "Secret(****)");
/// assert_eq!(pw.expose().to_str(), Some("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value, for the one place that needs it (the encoder, an
    /// authenticator). The name makes each use easy to find in review.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}
