//! Directory listings: parse what servers send for `LIST`, `MLSD` and
//! `MLST`, and produce listing lines and bodies for servers
//! ([`write_listing`]).
//!
//! `LIST` output is not standardised: servers send Unix `ls -l` lines in many
//! variants, Windows/IIS lines, EPLF, VMS, OS/400, MVS (datasets and JES
//! job lists), NetWare, OS/2, Enterprise Unix and Stratus VOS forms.
//! RFC 3659's `MLSD`/`MLST` facts fix that where servers implement them. Each
//! parser here reads one line (without its line end), zero-copy: names and
//! other strings are `Bytes` slices of the line. A parser refuses a line it
//! does not recognise with an error rather than returning a wrong entry
//! (SECURITY.md R4), and none of them recurses or allocates per byte.
//!
//! Dates without a year (Unix `Mon DD HH:MM`) are resolved against a
//! reference time the caller passes in: the codec never reads a clock.
//!
//! ```
//! use bytes::Bytes;
//! use ftp_proto::listing::{self, EntryKind};
//! use ftp_proto::Timestamp;
//!
//! let now = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
//! let line = Bytes::from_static(b"-rw-r--r--    1 ftp      ftp          1234 Feb 28 09:30 annual report.pdf");
//! let entry = listing::parse_list_line(&line, now).unwrap();
//! assert_eq!(entry.name(), b"annual report.pdf");
//! assert_eq!(entry.kind(), &EntryKind::File);
//! assert_eq!(entry.size(), Some(1234));
//! assert_eq!(entry.modified().unwrap().time().year(), 2024);
//! ```

mod body;
mod date;
mod dos;
mod enterprise;
mod eplf;
mod fields;
mod mlsx;
mod mvs;
mod mvs_jes;
mod netware;
mod os2;
mod os400;
mod unix;
mod vms;
mod vos;
mod write;

use alloc::vec::Vec;

use bytes::Bytes;

pub use body::listing_lines;
pub use dos::parse_dos;
pub use enterprise::parse_enterprise_unix;
pub use eplf::parse_eplf;
pub use mlsx::{format_mlsx, parse_mlsx};
pub use mvs::parse_mvs;
pub use mvs_jes::parse_mvs_jes;
pub use netware::parse_netware;
pub use os2::parse_os2;
pub use os400::parse_os400;
pub use unix::{format_unix, parse_unix};
pub use vms::parse_vms;
pub use vos::{VosSection, parse_vos, vos_section};
pub use write::{ListingStyle, Perms, write_entry, write_listing};

use crate::time::Timestamp;

/// What a listing entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// The listed directory itself (MLSD `type=cdir`).
    CurrentDir,
    /// The parent of the listed directory (MLSD `type=pdir`).
    ParentDir,
    /// A symbolic link, with its target when the listing gives it
    /// (`name -> target`, MLSx `OS.unix=slink:target`).
    Symlink {
        /// The link target, as sent.
        target: Option<Bytes>,
    },
    /// Anything else: a device, a FIFO, a socket, an OS-specific MLSx type
    /// (`OS.unix=chr-4/1`), a VMS or MVS dataset type. Holds the server's
    /// word for it (the Unix type letter, or the MLSx `type` value).
    Other(Bytes),
}

/// How precise a listing's time is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Precision {
    /// Only the date is known (`Mon DD  YYYY`).
    Day,
    /// Hours and minutes (`Mon DD HH:MM`, DOS lines).
    Minute,
    /// Seconds (VMS, EPLF, MLSx).
    Second,
    /// Fractions of a second (MLSx `modify=YYYYMMDDHHMMSS.sss`).
    Fraction,
}

/// Which clock a listing's time is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Zone {
    /// The server's local time, in a zone the listing does not say: the
    /// `LIST` dialects (Unix `ls -l`, DOS/IIS, VMS, OS/400, MVS, NetWare).
    ServerLocal,
    /// UTC: MLSx facts (RFC 3659 section 2.3) and EPLF's Unix seconds.
    Utc,
}

/// A listing's time, how much of it the server actually said, and on
/// which clock.
///
/// Fields below the precision are zero. Times are as the server wrote them:
/// MLSx and EPLF times are UTC, `LIST` times are the server's local time
/// in an unknown zone (RFC 3659 section 2.3 explains why MLSx exists), so a
/// program must not present a `LIST` time as UTC.
///
/// ```
/// use ftp_proto::Timestamp;
/// use ftp_proto::listing::{ListingTime, Precision, Zone};
///
/// let t = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
/// assert_eq!(ListingTime::new(t, Precision::Minute).zone(), Zone::ServerLocal);
/// assert_eq!(ListingTime::utc(t, Precision::Second).zone(), Zone::Utc);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListingTime {
    time: Timestamp,
    precision: Precision,
    zone: Zone,
}

impl ListingTime {
    /// A time in the server's local zone, with its precision (a `LIST`
    /// line's).
    #[must_use]
    pub const fn new(time: Timestamp, precision: Precision) -> Self {
        Self { time, precision, zone: Zone::ServerLocal }
    }
    /// A UTC time with its precision (MLSx, EPLF, a server's own files).
    #[must_use]
    pub const fn utc(time: Timestamp, precision: Precision) -> Self {
        Self { time, precision, zone: Zone::Utc }
    }
    /// The time (fields below the precision are zero).
    #[must_use]
    pub const fn time(&self) -> Timestamp {
        self.time
    }
    /// How precise it is.
    #[must_use]
    pub const fn precision(&self) -> Precision {
        self.precision
    }
    /// Which clock it is on.
    #[must_use]
    pub const fn zone(&self) -> Zone {
        self.zone
    }
}

/// Which parser produced an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Unix `ls -l`.
    Unix,
    /// Windows/IIS/DOS.
    Dos,
    /// EPLF.
    Eplf,
    /// RFC 3659 MLSx facts.
    Mlsx,
    /// VMS.
    Vms,
    /// OS/400.
    Os400,
    /// MVS (z/OS) datasets.
    Mvs,
    /// NetWare.
    NetWare,
    /// OS/2 (`dir` style, size first).
    Os2,
    /// z/OS jobs on the JES spool (`SITE FILETYPE=JES`).
    MvsJes,
    /// Sterling Commerce CONNECT:Enterprise for UNIX (flags, then `FTP` or
    /// `TCP`).
    EnterpriseUnix,
    /// Stratus VOS (sections of files, directories and links).
    StratusVos,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub(crate) name: Bytes,
    pub(crate) kind: EntryKind,
    pub(crate) size: Option<u64>,
    pub(crate) modified: Option<ListingTime>,
    pub(crate) created: Option<ListingTime>,
    pub(crate) mode: Option<u32>,
    pub(crate) perm: Option<Bytes>,
    pub(crate) owner: Option<Bytes>,
    pub(crate) group: Option<Bytes>,
    pub(crate) unique: Option<Bytes>,
    pub(crate) version: Option<u32>,
    pub(crate) path: Option<Bytes>,
    pub(crate) facts: Vec<(Bytes, Bytes)>,
    pub(crate) raw: Bytes,
    pub(crate) format: Format,
}

impl Entry {
    /// An entry built by hand (a server producing listings): a name and a
    /// kind; set the rest with the `with_*` methods.
    #[must_use]
    pub fn new(name: Bytes, kind: EntryKind) -> Self {
        Self {
            name,
            kind,
            size: None,
            modified: None,
            created: None,
            mode: None,
            perm: None,
            owner: None,
            group: None,
            unique: None,
            version: None,
            path: None,
            facts: Vec::new(),
            raw: Bytes::new(),
            format: Format::Unix,
        }
    }

    pub(crate) fn parsed(raw: &Bytes, format: Format, name: Bytes, kind: EntryKind) -> Self {
        let mut e = Self::new(name, kind);
        e.raw = raw.clone();
        e.format = format;
        e
    }

    /// Renames the entry, keeping its facts: a server describing one object
    /// by its full path (`MLST`, RFC 3659 7.2) after finding it in its
    /// parent's listing.
    #[must_use]
    pub fn with_name(mut self, name: Bytes) -> Self {
        self.name = name;
        self
    }

    /// Sets the size in bytes.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
    /// Sets the modification time.
    #[must_use]
    pub fn with_modified(mut self, time: ListingTime) -> Self {
        self.modified = Some(time);
        self
    }
    /// Sets the Unix permission bits (`0o755`; file type bits are ignored).
    #[must_use]
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode & 0o7777);
        self
    }
    /// Sets the owner and group names.
    #[must_use]
    pub fn with_owner(mut self, owner: Bytes, group: Bytes) -> Self {
        self.owner = Some(owner);
        self.group = Some(group);
        self
    }
    /// Sets the MLSx `perm` fact (RFC 3659 7.5.5: letters `adfcemlprw`).
    #[must_use]
    pub fn with_perm(mut self, perm: Bytes) -> Self {
        self.perm = Some(perm);
        self
    }
    /// Sets the MLSx `unique` fact.
    #[must_use]
    pub fn with_unique(mut self, unique: Bytes) -> Self {
        self.unique = Some(unique);
        self
    }

    /// The name, as sent (bytes: any encoding).
    #[must_use]
    pub fn name(&self) -> &[u8] {
        &self.name
    }
    /// The name as UTF-8, if it is.
    #[must_use]
    pub fn name_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.name).ok()
    }
    /// What the entry is.
    #[must_use]
    pub fn kind(&self) -> &EntryKind {
        &self.kind
    }
    /// The size in bytes, when given (MLSx `size` or `sizd`).
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.size
    }
    /// The modification time, when given.
    #[must_use]
    pub fn modified(&self) -> Option<ListingTime> {
        self.modified
    }
    /// The creation time (MLSx `create`), when given.
    #[must_use]
    pub fn created(&self) -> Option<ListingTime> {
        self.created
    }
    /// Unix permission bits (`0o7777` at most: setuid, setgid, sticky and
    /// rwx), when known.
    #[must_use]
    pub fn mode(&self) -> Option<u32> {
        self.mode
    }
    /// The MLSx `perm` fact, when given.
    #[must_use]
    pub fn perm(&self) -> Option<&[u8]> {
        self.perm.as_deref()
    }
    /// The owner name or number, when given.
    #[must_use]
    pub fn owner(&self) -> Option<&[u8]> {
        self.owner.as_deref()
    }
    /// The group name or number, when given.
    #[must_use]
    pub fn group(&self) -> Option<&[u8]> {
        self.group.as_deref()
    }
    /// A server-unique id (MLSx `unique`, EPLF `i`), when given.
    #[must_use]
    pub fn unique(&self) -> Option<&[u8]> {
        self.unique.as_deref()
    }
    /// The file's version, where the system keeps several (VMS
    /// `1-JUN.LIS;1` is [`name`](Self::name) `1-JUN.LIS`, version 1).
    /// `RETR name` gets the newest; `RETR name;version` this one.
    #[must_use]
    pub fn version(&self) -> Option<u32> {
        self.version
    }
    /// The path the listing gave, when it named the entry by a path rather
    /// than a name (OS/400 `RPGUNITC1.FILE/RUCALLTST.MBR`): then
    /// [`name`](Self::name) is its last component.
    #[must_use]
    pub fn path(&self) -> Option<&[u8]> {
        self.path.as_deref()
    }
    /// MLSx facts without a field of their own (`lang`, `media-type`,
    /// `charset`, unknown facts), names as sent, in order.
    #[must_use]
    pub fn facts(&self) -> &[(Bytes, Bytes)] {
        &self.facts
    }
    /// The line the entry was parsed from (empty for entries built by hand).
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// The parser that produced the entry.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Why a listing line was not turned into an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListingError {
    /// The line is not in the parser's format (or any known format).
    #[error("not a {0:?} listing line")]
    Unrecognised(Format),
    /// No parser recognised the line.
    #[error("unrecognised listing line")]
    Unknown,
    /// A line that carries no entry: `total 123`, a blank line, a VMS
    /// directory header.
    #[error("listing line without an entry")]
    NotAnEntry,
    /// A field is present but out of range (a day 32, a size beyond u64).
    #[error("out-of-range field in a {0:?} line")]
    OutOfRange(Format),
}

/// Parses one line of `LIST` output, picking the format from the line
/// itself: Unix, then Windows/DOS, EPLF, VMS, OS/400, MVS, NetWare, OS/2,
/// MVS JES job lists, Enterprise Unix. `now` is
/// the reference for Unix dates without a year (the most recent such date
/// not more than a few days after `now`).
///
/// # Errors
/// [`ListingError::NotAnEntry`] for `total N` and blank lines,
/// [`ListingError::Unknown`] when no format matches.
pub fn parse_list_line(line: &Bytes, now: Timestamp) -> Result<Entry, ListingError> {
    if line.iter().all(|&b| b == b' ' || b == b'\t') {
        return Err(ListingError::NotAnEntry);
    }
    let first = line[0];
    let mut not_entry = false;
    let mut attempt = |r: Result<Entry, ListingError>| match r {
        Ok(e) => Some(e),
        Err(ListingError::NotAnEntry) => {
            not_entry = true;
            None
        }
        Err(_) => None,
    };
    let found = if first == b'+' {
        attempt(parse_eplf(line))
    } else if first.is_ascii_digit() {
        attempt(parse_dos(line))
            .or_else(|| attempt(parse_unix(line, now)))
            .or_else(|| attempt(parse_vms(line)))
            .or_else(|| attempt(parse_os400(line)))
            .or_else(|| attempt(parse_mvs(line)))
            .or_else(|| attempt(parse_os2(line)))
    } else {
        attempt(parse_unix(line, now))
            .or_else(|| attempt(parse_vms(line)))
            .or_else(|| attempt(parse_os400(line)))
            .or_else(|| attempt(parse_mvs(line)))
            .or_else(|| attempt(parse_netware(line, now)))
            .or_else(|| attempt(parse_os2(line)))
            .or_else(|| attempt(parse_mvs_jes(line)))
            .or_else(|| attempt(parse_enterprise_unix(line, now)))
    };
    match found {
        Some(e) => Ok(e),
        None if not_entry => Err(ListingError::NotAnEntry),
        None => Err(ListingError::Unknown),
    }
}

/// Parses a whole `LIST` reply body (lines separated by CRLF or LF), skipping
/// lines that carry no entry and lines no parser recognises, and joining the
/// VMS continuation lines of entries whose long name pushed the rest onto a
/// second line. A Stratus VOS section header (`Files:`, `Dirs:`, `Links:`)
/// sets how the lines after it are read ([`parse_vos`]). Iterative, bounded
/// by the input.
#[must_use]
pub fn parse_list(body: &Bytes, now: Timestamp) -> Vec<Entry> {
    body::parse_list_body(body, now)
}
