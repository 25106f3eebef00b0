//! Application decisions: requests the session makes and the answers it
//! turns into replies.
//!
//! Authentication and every storage operation belong to the application.
//! The session asks with a [`Request`] carrying a [`RequestId`], and the
//! application answers later (it may be asynchronous) with
//! [`Session::answer`](super::Session::answer). The session picks the reply
//! code from the typed [`Answer`], so no caller writes reply codes by hand.

use bytes::{Bytes, BytesMut};
use ftp_proto::glob::Glob;
use ftp_proto::listing::Entry;
use ftp_proto::{Password, Pathname, Reply, ReplyCode, Secret, Text, Timestamp, Username};

use super::path::VirtualPath;

/// Names one request. Ids are never reused within a session, so an answer to
/// a cancelled or finished request is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// A decision the session needs from the application.
#[derive(Debug, Clone)]
#[must_use = "every request must be answered with Session::answer (or it was cancelled)"]
pub struct Request {
    /// Pass it back to [`Session::answer`](super::Session::answer).
    pub id: RequestId,
    /// What is asked.
    pub kind: RequestKind,
}

/// How a listing is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// `LIST`: human-readable lines, `ls -l` style (RFC 959 4.1.3).
    List,
    /// `NLST`: names only, one per line.
    Nlst,
    /// `MLSD`: RFC 3659 section 7 fact lines.
    Mlsd,
    /// `STAT path`: a listing sent on the control connection in a 213 reply;
    /// answer with [`Answer::Lines`].
    Stat,
}

/// The permission bits a storage clears on the files and directories it
/// creates, set per session by `SITE UMASK` (as vsftpd's): a new file gets
/// `0o666 & !umask`, a new directory `0o777 & !umask`. Only `0..=0o777`
/// exists, so a mask can never carry setuid or sticky bits.
///
/// ```
/// use ftp_session::server::Umask;
///
/// let mask = Umask::new(0o027).unwrap();
/// assert_eq!(mask.file_mode(), 0o640);
/// assert_eq!(mask.dir_mode(), 0o750);
/// assert_eq!(mask.to_string(), "027");
/// assert!(Umask::new(0o1000).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Umask(u16);

impl Umask {
    /// The usual default, `022`: files `644`, directories `755`.
    pub const DEFAULT: Self = Self(0o022);

    /// A mask of at most `0o777`.
    #[must_use]
    pub const fn new(bits: u32) -> Option<Self> {
        if bits <= 0o777 { Some(Self(bits as u16)) } else { None }
    }

    /// The mask's bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0 as u32
    }

    /// The mode of a new file: `0o666` without the mask's bits.
    #[must_use]
    pub const fn file_mode(self) -> u32 {
        0o666 & !self.bits()
    }

    /// The mode of a new directory: `0o777` without the mask's bits.
    #[must_use]
    pub const fn dir_mode(self) -> u32 {
        0o777 & !self.bits()
    }
}

impl core::fmt::Display for Umask {
    /// Three octal digits, as `SITE UMASK` reports it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:03o}", self.0)
    }
}

/// Where a store writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreMode {
    /// `STOR`: create or replace (from `offset` when a `REST` preceded it).
    Replace,
    /// `APPE`: append, creating the file if needed.
    Append,
    /// `STOU`: create under a name the storage chooses; answer with
    /// [`Answer::StoredAs`].
    Unique,
}

/// What the session asks of the application. Paths are absolute, clean
/// virtual paths (no `.`/`..`; see [`VirtualPath`]).
///
/// Not `#[non_exhaustive]` on purpose: a new kind of request must break
/// every driver's `match` until the driver answers it, so that a verb can
/// never fall through to a silent "not supported" (issue 14: MFMT did).
#[derive(Debug, Clone)]
pub enum RequestKind {
    /// Check a user name and password. Answer [`Answer::LoggedIn`],
    /// [`Answer::NeedAccount`] or [`Answer::LoginDenied`].
    Login {
        /// From `USER`.
        user: Username,
        /// From `PASS`.
        password: Secret<Password>,
    },
    /// Check an account after [`Answer::NeedAccount`]. Answer
    /// [`Answer::LoggedIn`] or [`Answer::LoginDenied`].
    Account {
        /// From `USER`.
        user: Username,
        /// From `ACCT`.
        account: Secret<Text>,
    },
    /// `CWD`/`CDUP`: may the user enter this directory? Answer
    /// [`Answer::Done`] or [`Answer::Failed`].
    ChangeDir {
        /// The new working directory.
        path: VirtualPath,
    },
    /// `LIST`/`NLST`/`MLSD` (answer [`Answer::Ready`], then send the listing
    /// when the session emits [`DataAction::Transfer`](super::DataAction::Transfer)),
    /// or `STAT path` (answer [`Answer::Lines`]).
    List {
        /// The directory (or file) to list.
        path: VirtualPath,
        /// The format wanted.
        format: ListFormat,
        /// `-a` was given (show hidden entries). Other `ls` options are
        /// ignored, never passed on (SECURITY.md P4).
        all: bool,
        /// For `LIST`/`NLST dir/*.txt`: `path` is the directory; send only
        /// the entries [`Matching::apply`] keeps.
        matching: Option<Matching>,
    },
    /// `RETR`: open the file for reading from `offset`. Answer
    /// [`Answer::Ready`] or [`Answer::Failed`].
    Retrieve {
        /// The file.
        path: VirtualPath,
        /// From a preceding `REST`, else 0.
        offset: u64,
        /// `TYPE A` is in force: convert line ends to CRLF while sending.
        ascii: bool,
    },
    /// `STOR`/`APPE`/`STOU`: open the file for writing. Answer
    /// [`Answer::Ready`] (or [`Answer::StoredAs`] for `STOU`) or
    /// [`Answer::Failed`].
    Store {
        /// The file (for `STOU`, the directory and name hint).
        path: VirtualPath,
        /// Replace, append or unique.
        mode: StoreMode,
        /// From a preceding `REST`, else 0.
        offset: u64,
        /// `TYPE A` is in force: convert CRLF to local line ends.
        ascii: bool,
        /// From `SITE UMASK`: the mode a file this creates gets
        /// ([`Umask::file_mode`]); `None`: the storage's default. An existing
        /// file keeps its mode.
        umask: Option<Umask>,
    },
    /// `DELE`. Answer [`Answer::Done`] or [`Answer::Failed`].
    Delete {
        /// The file.
        path: VirtualPath,
    },
    /// `MKD`. Answer [`Answer::Done`] or [`Answer::Failed`].
    MakeDir {
        /// The new directory.
        path: VirtualPath,
        /// From `SITE UMASK`: the new directory's mode is
        /// [`Umask::dir_mode`]; `None`: the storage's default.
        umask: Option<Umask>,
    },
    /// `RMD`. Answer [`Answer::Done`] or [`Answer::Failed`].
    RemoveDir {
        /// The directory.
        path: VirtualPath,
    },
    /// `RNFR` + `RNTO`. Answer [`Answer::Done`] or [`Answer::Failed`].
    Rename {
        /// From `RNFR`.
        from: VirtualPath,
        /// From `RNTO`.
        to: VirtualPath,
    },
    /// `SIZE` (RFC 3659 4): answer [`Answer::Size`] with the size in bytes
    /// as stored (SECURITY.md P5: never computed for ASCII mode).
    Size {
        /// The file.
        path: VirtualPath,
    },
    /// `ALLO` ([`StorageCapabilities::FREE_SPACE`](super::StorageCapabilities)):
    /// the bytes this user may still store in `path`; answer
    /// [`Answer::Size`].
    FreeSpace {
        /// The working directory.
        path: VirtualPath,
    },
    /// `MDTM` (RFC 3659 3): answer [`Answer::ModTime`].
    ModTime {
        /// The file.
        path: VirtualPath,
    },
    /// `MFMT`: answer [`Answer::Done`] or [`Answer::Failed`].
    SetModTime {
        /// The file.
        path: VirtualPath,
        /// The new modification time (UTC).
        time: Timestamp,
    },
    /// `MFF` (draft-somers-ftp-mfxx section 5): set each fact given (at
    /// least one is); answer [`Answer::Done`] when all were set, or
    /// [`Answer::Failed`] (the client then assumes nothing about which
    /// were, section 5.1). Only facts the storage's capabilities allow
    /// reach here: `mode` with [`StorageCapabilities::SET_MODE`](super::StorageCapabilities::SET_MODE),
    /// `modify` with [`SET_MODIFIED`](super::StorageCapabilities::SET_MODIFIED).
    /// Set the mode first, then the time, so that changing the mode does
    /// not move the time just set.
    SetFacts {
        /// The file or directory.
        path: VirtualPath,
        /// `UNIX.mode`: the new permission bits (at most `0o7777`).
        mode: Option<u32>,
        /// `Modify`: the new modification time (UTC).
        modify: Option<Timestamp>,
    },
    /// `MLST` (RFC 3659 7.2): answer [`Answer::Entries`] with the one entry
    /// describing the object `path` names itself (for a directory, the
    /// directory, never a child), named by its full path; the session writes
    /// its fact line. Or [`Answer::Lines`] with one fact line,
    /// `type=file;size=12; /name`, without a leading space.
    Facts {
        /// The file or directory.
        path: VirtualPath,
    },
    /// `SITE` (only when enabled): answer [`Answer::SiteReply`].
    Site {
        /// The text after `SITE `.
        command: Text,
    },
}

/// The pattern of an `NLST`/`LIST` argument (`NLST dir/*.txt`, as `mget`
/// sends it): which entries of the listed directory to send, and under
/// what name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching {
    /// The last component of the argument.
    pub glob: Glob,
    /// The directory part as the client wrote it (`dir/`, or empty), put
    /// before each name: RFC 959 4.1.3 NLST returns pathnames the client
    /// can send back (`RETR dir/a.txt`), as `ls dir/*.txt` prints them.
    pub prefix: Bytes,
}

impl Matching {
    /// The entries whose names match, renamed `prefix` + name, in order.
    /// Work is one linear match per entry (SECURITY.md P3).
    #[must_use]
    pub fn apply(&self, entries: Vec<Entry>) -> Vec<Entry> {
        entries
            .into_iter()
            .filter(|e| self.glob.matches(e.name()))
            .map(|e| {
                if self.prefix.is_empty() {
                    return e;
                }
                let mut name = BytesMut::with_capacity(self.prefix.len() + e.name().len());
                name.extend_from_slice(&self.prefix);
                name.extend_from_slice(e.name());
                e.with_name(name.freeze())
            })
            .collect()
    }
}

impl RequestKind {
    /// Whether carrying the request out creates, changes or removes served
    /// files: what a driver refuses a read-only user (550) before its
    /// storage is asked. The same verbs are marked `writes` in the verb
    /// table; a test holds the two together.
    #[must_use]
    pub fn is_write(&self) -> bool {
        match self {
            Self::Store { .. }
            | Self::Delete { .. }
            | Self::MakeDir { .. }
            | Self::RemoveDir { .. }
            | Self::Rename { .. }
            | Self::SetModTime { .. }
            | Self::SetFacts { .. } => true,
            Self::Login { .. }
            | Self::Account { .. }
            | Self::ChangeDir { .. }
            | Self::List { .. }
            | Self::Retrieve { .. }
            | Self::Size { .. }
            | Self::FreeSpace { .. }
            | Self::ModTime { .. }
            | Self::Facts { .. }
            | Self::Site { .. } => false,
        }
    }
}

/// Why a storage operation failed; the session picks the reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageError {
    /// No such file or directory: 550.
    NotFound,
    /// Not allowed for this user: 550.
    PermissionDenied,
    /// The name is not allowed (bad characters, outside the root): 553.
    NameNotAllowed,
    /// The file is busy or temporarily unavailable: 450.
    Unavailable,
    /// No space left: 452.
    InsufficientStorage,
    /// A quota or allocation was exceeded: 552.
    QuotaExceeded,
    /// A local error (I/O): 451.
    LocalError,
    /// The storage does not support the operation: 502.
    NotSupported,
    /// The name is taken (`MKD` of an existing directory, or a `STOU`
    /// candidate name): 550. A driver choosing a `STOU` name tries the next
    /// candidate on this error.
    AlreadyExists,
    /// `RMD` of a directory that still has entries (or a rename onto one):
    /// 550 "Directory not empty.", so the user learns what to do.
    DirectoryNotEmpty,
    /// A restart marker past the end of the file (`REST` then `RETR`, or
    /// `STOR` beyond what is stored): 554, before any data connection is
    /// used (RFC 3659 5.3).
    InvalidRestart,
}

impl StorageError {
    /// The reply code for this error (RFC 959 4.2.1).
    #[must_use]
    pub fn reply_code(self) -> ReplyCode {
        match self {
            Self::NotFound | Self::PermissionDenied | Self::AlreadyExists | Self::DirectoryNotEmpty => {
                ReplyCode::FILE_NOT_AVAILABLE
            }
            Self::NameNotAllowed => ReplyCode::FILE_NAME_NOT_ALLOWED,
            Self::Unavailable => ReplyCode::FILE_UNAVAILABLE,
            Self::InsufficientStorage => ReplyCode::INSUFFICIENT_STORAGE,
            Self::QuotaExceeded => ReplyCode::EXCEEDED_STORAGE,
            Self::LocalError => ReplyCode::LOCAL_ERROR,
            Self::NotSupported => ReplyCode::COMMAND_NOT_IMPLEMENTED,
            Self::InvalidRestart => ReplyCode::INVALID_REST_PARAMETER,
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::NotFound => "No such file or directory.",
            Self::PermissionDenied => "Permission denied.",
            Self::NameNotAllowed => "File name not allowed.",
            Self::Unavailable => "File unavailable, try again later.",
            Self::InsufficientStorage => "Insufficient storage space.",
            Self::QuotaExceeded => "Exceeded storage allocation.",
            Self::LocalError => "Local error in processing.",
            Self::NotSupported => "Not supported by this server.",
            Self::AlreadyExists => "File exists.",
            Self::DirectoryNotEmpty => "Directory not empty.",
            Self::InvalidRestart => "Restart marker past the end of the file.",
        }
    }
}

impl core::fmt::Display for StorageError {
    /// The reply text the session sends for this error ("No such file or
    /// directory.", "Directory not empty."...).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for StorageError {}

/// The application's answer to a [`Request`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Answer {
    /// Login accepted: 230.
    LoggedIn,
    /// Login needs an account (`ACCT`): 332.
    NeedAccount,
    /// Login refused: 530 (after the failure delay; counts toward the limit).
    LoginDenied,
    /// The operation succeeded (CWD, DELE, MKD, RMD, rename, MFMT).
    Done,
    /// The file or listing is open; the session sets up the data connection
    /// and then emits `DataAction::Transfer`.
    Ready,
    /// `STOU`: the file is open under this name: `150 FILE: name`.
    StoredAs(Pathname),
    /// `SIZE`: 213 with the size.
    Size(u64),
    /// `MDTM`: 213 with the time.
    ModTime(Timestamp),
    /// `MLST` facts or `STAT path` listing lines, written by the application.
    Lines(Vec<Text>),
    /// `MLST` or `STAT path` entries, which the session writes itself: MLSx
    /// fact lines with the facts chosen by `OPTS MLST` (RFC 3659 7), or
    /// `ls -l` lines for STAT. `now` dates the `ls` lines (recent files show
    /// the time, older ones the year).
    Entries {
        /// The entries.
        entries: Vec<ftp_proto::listing::Entry>,
        /// The current UTC time, for the `ls -l` date form.
        now: Timestamp,
    },
    /// `SITE`: the application's own reply.
    SiteReply(Reply),
    /// The operation failed.
    Failed(StorageError),
}
