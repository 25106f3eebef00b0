//! What the storage behind a session can do beyond the operations every
//! storage has (DESIGN: capabilities, not promises).
//!
//! A driver asks its storage for its [`StorageCapabilities`] and puts them
//! in the [`ServerConfig`](super::ServerConfig). The session lists a verb in
//! `FEAT` and `HELP` only when the verb table, the configuration and these
//! capabilities all allow it, and answers a verb the storage cannot serve
//! with 502 without asking the storage: a client is never told about a
//! command that then fails as unsupported.

/// A set of optional storage operations.
///
/// ```
/// use ftp_session::server::StorageCapabilities;
///
/// let caps = StorageCapabilities::NONE.with(StorageCapabilities::SET_MODIFIED);
/// assert!(caps.contains(StorageCapabilities::SET_MODIFIED));
/// assert!(!StorageCapabilities::NONE.contains(StorageCapabilities::SET_MODIFIED));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StorageCapabilities {
    bits: u32,
}

impl StorageCapabilities {
    /// Nothing optional.
    pub const NONE: Self = Self { bits: 0 };

    /// Set a file's modification time: `MFMT` (draft-somers-ftp-mfxx).
    pub const SET_MODIFIED: Self = Self { bits: 1 };

    /// Change a file's or directory's permission bits: the `UNIX.mode`
    /// fact of `MFF` (draft-somers-ftp-mfxx section 5.3).
    pub const SET_MODE: Self = Self { bits: 2 };

    /// Create files and directories with the mode a [`Umask`](super::Umask)
    /// gives (`SITE UMASK`), whatever the server process's own umask.
    pub const CREATE_MODE: Self = Self { bits: 4 };

    /// Tell the space free for a user in a directory: `ALLO` is checked
    /// against it (RFC 959 4.1.3).
    pub const FREE_SPACE: Self = Self { bits: 8 };

    /// The set with `other`'s operations added.
    #[must_use]
    pub const fn with(self, other: Self) -> Self {
        Self { bits: self.bits | other.bits }
    }

    /// Whether every operation of `other` is in the set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.bits & other.bits == other.bits
    }
}
