//! Listing bodies for servers: the bytes of a `LIST`, `NLST` or `MLSD`
//! data transfer, and the single fact line of an `MLST` reply.
//!
//! A server's storage says what its objects are ([`Entry`]); this module
//! turns them into the wire format a command asks for, so that every
//! storage's listings look the same and the rules (what a line may hold,
//! which `perm` letters a user is shown) live in the codec, not in each
//! driver. It reads no clock: `ls -l` dates need the current time, which
//! the caller passes in.

use bytes::BytesMut;

use super::mlsx::format_mlsx_allowing;
use super::unix::format_unix;
use super::{Entry, EntryKind};
use crate::time::Timestamp;

/// Which body a listing command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListingStyle {
    /// `LIST` (and `STAT path`): human-readable lines, which RFC 959
    /// section 4.1.3 leaves to the server; written as Unix `ls -l` lines
    /// ([`format_unix`](super::format_unix)), the form clients parse best.
    Long,
    /// `NLST`: names only, one per line (RFC 959 section 4.1.3), so that
    /// a client can feed them back as pathnames.
    Names,
    /// `MLSD` / `MLST`: RFC 3659 section 7.2 fact lines
    /// ([`format_mlsx`](super::format_mlsx)).
    Facts,
}

/// What the logged-in user may do with listed objects, from which the
/// MLSx `perm` fact is cut down (RFC 3659 section 7.5.5).
///
/// A typed value rather than a letter string, so that a server states
/// its policy (may this user read, may they write) and the codec, not each
/// driver, knows which letters that means for a file and for a directory.
/// A read-only user is then never told `perm=adfw`, which would invite an
/// upload that answers 550.
///
/// ```
/// use ftp_proto::listing::{EntryKind, Perms};
/// assert_eq!(Perms::READ_ONLY.letters(&EntryKind::File), b"r");
/// assert_eq!(Perms::READ_ONLY.letters(&EntryKind::Directory), b"el");
/// assert_eq!(Perms::READ_WRITE.letters(&EntryKind::File), b"radfw");
/// assert!(!Perms::new(true, false).write());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perms {
    read: bool,
    write: bool,
}

impl Perms {
    /// Nothing: no `perm` letter is reported.
    pub const NONE: Self = Self::new(false, false);
    /// Download and list, never change (an anonymous user, say).
    pub const READ_ONLY: Self = Self::new(true, false);
    /// Everything RFC 3659 section 7.5.5 defines.
    pub const READ_WRITE: Self = Self::new(true, true);

    /// A user who may read (`RETR`, `CWD`, `LIST`) and/or write (`STOR`,
    /// `APPE`, `DELE`, `RNFR`, `MKD`, `RMD`).
    #[must_use]
    pub const fn new(read: bool, write: bool) -> Self {
        Self { read, write }
    }

    /// Whether the user may read: files `r`, directories `e` and `l`.
    #[must_use]
    pub const fn read(self) -> bool {
        self.read
    }

    /// Whether the user may write: files `a d f w`, directories
    /// `c d m p f`.
    #[must_use]
    pub const fn write(self) -> bool {
        self.write
    }

    /// The RFC 3659 section 7.5.5 letters these permissions allow on an
    /// object of kind `kind`. A file (and anything that is not a
    /// directory): `r` (`RETR`) when readable; `a` (`APPE`), `d` (`DELE`),
    /// `f` (`RNFR`), `w` (`STOR`) when writable. A directory (also the
    /// current and parent one): `e` (`CWD`), `l` (`LIST`) when readable;
    /// `c` (create files), `d` (`RMD`), `m` (`MKD`), `p` (purge members),
    /// `f` (`RNFR`) when writable.
    #[must_use]
    pub const fn letters(self, kind: &EntryKind) -> &'static [u8] {
        let dir = matches!(kind, EntryKind::Directory | EntryKind::CurrentDir | EntryKind::ParentDir);
        match (dir, self.read, self.write) {
            (false, true, true) => b"radfw",
            (false, true, false) => b"r",
            (false, false, true) => b"adfw",
            (true, true, true) => b"elcdmpf",
            (true, true, false) => b"el",
            (true, false, true) => b"cdmpf",
            (_, false, false) => b"",
        }
    }
}

/// Writes one entry's listing line, without a line end, in `style`: what
/// [`write_listing`] writes per entry, and what an `MLST` reply carries
/// (after its one leading space, RFC 3659 section 7.2).
///
/// `facts` are the MLSx facts the client chose (`OPTS MLST`; ignored
/// unless `style` is [`ListingStyle::Facts`]); `now` decides whether an
/// `ls -l` date shows the time or the year. The `perm` fact holds the
/// entry's own letters (what the storage allows) that `perms` also allows
/// for its kind ([`Perms::letters`]), so a read-only user is shown `r` or
/// `el`; an entry without letters of its own gets no `perm` fact, since
/// nothing said what the object allows.
///
/// An entry that cannot be written (a name holding CR or LF, for `NLST`
/// and MLSx lines) writes nothing: `out` does not grow, and the caller
/// leaves it out.
pub fn write_entry(
    entry: &Entry,
    style: ListingStyle,
    facts: &[&str],
    perms: Perms,
    now: Timestamp,
    out: &mut BytesMut,
) {
    match style {
        // A name with a line break would read as two names: left out.
        ListingStyle::Names if entry.name().iter().any(|&b| b == b'\r' || b == b'\n') => {}
        ListingStyle::Names => out.extend_from_slice(entry.name()),
        ListingStyle::Facts => format_mlsx_allowing(entry, facts, Some(perms.letters(entry.kind())), out),
        ListingStyle::Long => format_unix(entry, now, out),
    }
}

/// Writes a listing body (`LIST`, `NLST`, `MLSD`) for `entries` to `out`,
/// each line ([`write_entry`]) ending in CRLF as RFC 959 section 3.1.1.1
/// and RFC 3659 section 7.2 want; an entry that cannot be written is left
/// out. Called once per chunk of a long listing, it appends, so the body
/// never has to be held whole.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ftp_proto::Timestamp;
/// use ftp_proto::listing::{Entry, EntryKind, ListingStyle, Perms, write_listing};
///
/// let now = Timestamp::new(2024, 6, 1, 12, 0, 0).unwrap();
/// let entries = [
///     Entry::new(Bytes::from_static(b"a.txt"), EntryKind::File).with_size(5).with_perm(Bytes::from_static(b"radfw")),
///     Entry::new(Bytes::from_static(b"sub"), EntryKind::Directory).with_perm(Bytes::from_static(b"elcdmp")),
/// ];
/// let mut out = BytesMut::new();
/// write_listing(&entries, ListingStyle::Facts, &["type", "size", "perm"], Perms::READ_ONLY, now, &mut out);
/// assert_eq!(&out[..], b"type=file;size=5;perm=r; a.txt\r\ntype=dir;perm=el; sub\r\n");
/// ```
pub fn write_listing(
    entries: &[Entry],
    style: ListingStyle,
    facts: &[&str],
    perms: Perms,
    now: Timestamp,
    out: &mut BytesMut,
) {
    for entry in entries {
        let before = out.len();
        write_entry(entry, style, facts, perms, now, out);
        if out.len() > before {
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn now() -> Timestamp {
        Timestamp::new(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn file(name: &'static [u8], perm: &'static [u8]) -> Entry {
        Entry::new(Bytes::from_static(name), EntryKind::File).with_perm(Bytes::from_static(perm))
    }

    fn dir(name: &'static [u8], perm: &'static [u8]) -> Entry {
        Entry::new(Bytes::from_static(name), EntryKind::Directory).with_perm(Bytes::from_static(perm))
    }

    fn body(entries: &[Entry], style: ListingStyle, perms: Perms) -> BytesMut {
        let mut out = BytesMut::new();
        write_listing(entries, style, &["type", "perm"], perms, now(), &mut out);
        out
    }

    /// RFC 3659 7.5.5: the letters a user is shown depend on what they may
    /// do; read-only users see `r` on files and `e l` on directories.
    #[test]
    fn rfc3659_7_5_5_perm_letters_follow_the_user() {
        let entries = [file(b"f", b"radfw"), dir(b"d", b"elcdmp")];
        assert_eq!(
            &body(&entries, ListingStyle::Facts, Perms::READ_WRITE)[..],
            b"type=file;perm=radfw; f\r\ntype=dir;perm=elcdmp; d\r\n"
        );
        assert_eq!(
            &body(&entries, ListingStyle::Facts, Perms::READ_ONLY)[..],
            b"type=file;perm=r; f\r\ntype=dir;perm=el; d\r\n"
        );
        assert_eq!(
            &body(&entries, ListingStyle::Facts, Perms::NONE)[..],
            b"type=file;perm=; f\r\ntype=dir;perm=; d\r\n"
        );
        let write_only = Perms::new(false, true);
        assert_eq!(
            &body(&entries, ListingStyle::Facts, write_only)[..],
            b"type=file;perm=adfw; f\r\ntype=dir;perm=cdmp; d\r\n"
        );
    }

    /// RFC 3659 7.5.5: the storage's letters are the upper bound; the user's
    /// permissions never add a letter the storage did not give, and an
    /// entry without letters gets no `perm` fact.
    #[test]
    fn rfc3659_7_5_5_perm_never_exceeds_the_storage() {
        let entries = [file(b"ro", b"r"), Entry::new(Bytes::from_static(b"none"), EntryKind::File)];
        assert_eq!(
            &body(&entries, ListingStyle::Facts, Perms::READ_WRITE)[..],
            b"type=file;perm=r; ro\r\ntype=file; none\r\n"
        );
        // Letters compare case-insensitively (RFC 3659 7.5.5 ABNF strings).
        let upper = [dir(b"D", b"ELC")];
        assert_eq!(&body(&upper, ListingStyle::Facts, Perms::READ_ONLY)[..], b"type=dir;perm=EL; D\r\n");
    }

    /// RFC 3659 7.5.5: read-only permissions never allow a letter that
    /// changes anything (`a c d f m p w`), whatever the kind.
    #[test]
    fn rfc3659_7_5_5_read_only_letters_change_nothing() {
        let kinds = [
            EntryKind::File,
            EntryKind::Directory,
            EntryKind::CurrentDir,
            EntryKind::ParentDir,
            EntryKind::Symlink { target: None },
            EntryKind::Other(Bytes::from_static(b"OS.unix=chr-4/1")),
        ];
        for kind in &kinds {
            for perms in [Perms::READ_ONLY, Perms::NONE] {
                let letters = perms.letters(kind);
                assert!(!letters.iter().any(|b| b"acdfmpw".contains(b)), "{kind:?}: {letters:?}");
            }
        }
    }

    /// RFC 959 4.1.3 (NLST): one name per line, CRLF; a name that would
    /// read as two lines is left out. `LIST` lines are `ls -l` lines.
    #[test]
    fn rfc959_nlst_and_list_bodies() {
        let entries = [file(b"a", b"r"), file(b"b\r\nc", b"r"), dir(b"d", b"el")];
        assert_eq!(&body(&entries, ListingStyle::Names, Perms::READ_ONLY)[..], b"a\r\nd\r\n");
        let list = body(&entries[..1], ListingStyle::Long, Perms::READ_ONLY);
        assert!(list.starts_with(b"-rw-r--r--") && list.ends_with(b" a\r\n"), "{list:?}");
        // MLSx cannot hold the name either (RFC 3659 2.2).
        assert_eq!(&body(&entries[1..2], ListingStyle::Facts, Perms::READ_WRITE)[..], b"");
    }
}
