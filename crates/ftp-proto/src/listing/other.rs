//! `LIST` lines of VMS, OS/400 (IBM i), MVS (z/OS) and NetWare servers, and
//! the splitting of a whole `LIST` body into entries.
//!
//! Each parser checks every field it reads and refuses the line otherwise:
//! these formats are tried one after the other on lines of unknown origin,
//! so a loose parser would turn another format's line into a wrong entry.

use alloc::vec::Vec;
use core::ops::Range;

use bytes::{Bytes, BytesMut};

use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision, date};
use crate::time::Timestamp;

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The blank-separated fields of a line, as ranges, from `pos` on.
struct Fields<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(s: &'a [u8]) -> Self {
        Self { s, pos: 0 }
    }

    /// Skips blanks and returns where the rest of the line starts.
    fn rest(&mut self) -> usize {
        while self.s.get(self.pos).is_some_and(|&b| is_blank(b)) {
            self.pos += 1;
        }
        self.pos
    }
}

impl Iterator for Fields<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let start = self.rest();
        while self.s.get(self.pos).is_some_and(|&b| !is_blank(b)) {
            self.pos += 1;
        }
        (self.pos > start).then_some(start..self.pos)
    }
}

/// At most `N` fields of a line, and how many there are; `None` when there
/// are more.
fn fields<const N: usize>(s: &[u8]) -> Option<([Range<usize>; N], usize)> {
    let mut out = [const { 0..0 }; N];
    let mut n = 0;
    for field in Fields::new(s) {
        *out.get_mut(n)? = field;
        n += 1;
    }
    Some((out, n))
}

/// All digits, at least one.
fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// A decimal count: `Unrecognised` unless digits, `OutOfRange` beyond u64.
fn count(b: &[u8], format: Format) -> Result<u64, ListingError> {
    if !all_digits(b) {
        return Err(ListingError::Unrecognised(format));
    }
    date::number(b, usize::MAX).ok_or(ListingError::OutOfRange(format))
}

/// A number of exactly `len` digits.
fn fixed(b: &[u8], len: usize) -> Option<u16> {
    if b.len() != len {
        return None;
    }
    date::number(b, len).and_then(|n| u16::try_from(n).ok())
}

/// `HH:MM` or `HH:MM:SS` (`sep` between the fields) as (h, m, s, has
/// seconds).
fn clock(b: &[u8], sep: u8) -> Option<(u8, u8, u8, bool)> {
    let mut parts = b.split(|&c| c == sep);
    let h = parts.next().and_then(|p| fixed(p, 2).or_else(|| fixed(p, 1)))?;
    let m = fixed(parts.next()?, 2)?;
    let s = match parts.next() {
        Some(p) => Some(fixed(p, 2)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    // Two-digit fields fit in a u8.
    Some((h as u8, m as u8, s.unwrap_or(0) as u8, s.is_some()))
}

// --- VMS -------------------------------------------------------------------

/// Parses one line of a VMS `DIRECTORY` listing as the VMS FTP servers
/// (TCPware, MultiNet, TCP/IP Services for OpenVMS, Apache-era HP servers)
/// send it:
///
/// ```text
/// line    = name ";" version 1*SP size 1*SP date 1*SP time
///           [ 1*SP "[" owner "]" ] [ 1*SP "(" protection ")" ] *SP
/// size    = used-blocks [ "/" allocated-blocks ]     ; 512-byte blocks
/// date    = 1*2DIGIT "-" month "-" 4DIGIT            ; 29-JAN-1996, any case
/// time    = HH ":" MM [ ":" SS [ "." 1*9DIGIT ] ]
/// owner   = [ group "," ] member                      ; [GROUP,OWNER], [OWNER]
/// protection = sys "," owner "," group "," world     ; each a subset of RWED
/// ```
///
/// `CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)`
/// is a file of 213 * 512 bytes, owner `ANONYMOUS`, group `ANONYMOU`.
///
/// - A file keeps its version in its name (`CII-MANUAL.TEX;1`): that names
///   exactly the listed version on a VMS server, and a listing may show
///   several versions of one file.
/// - A directory file `NAME.DIR;1` is reported as the directory `NAME`
///   (kind [`EntryKind::Directory`], `.DIR;version` dropped), the name a
///   client gives to `CWD` on VMS servers, as FileZilla shows it.
/// - The size is the used blocks times 512 (the allocation is ignored).
/// - The protection's owner, group and world fields become Unix mode bits
///   (R to r, W to w, E to x; D, delete, and the system field have no Unix
///   equivalent and are dropped), as Apache Commons Net maps them.
/// - An owner with no closing `]` (a server truncating a long owner at its
///   column, seen from Apache on VMS) runs to the end of its field.
///
/// A long name pushes the rest of the entry onto a second line; this
/// function reads one line, [`parse_list`](super::parse_list) joins the two.
///
/// # Errors
/// [`ListingError::NotAnEntry`] for the listing's headers and trailers
/// (`Directory DISK$USER:[DIR]`, `Total of 6 files, 18/18 blocks.`,
/// `Grand total of ...`) and for VMS messages (`%RMS-E-PRV, insufficient
/// privilege...`, `%DIRECT-W-NOFILES`), alone or after a name;
/// [`ListingError::Unrecognised`] for anything else out of the grammar
/// (`12:45:27 PM`, `JUN-2-1998`, `(RWED2,...)`, a name alone);
/// [`ListingError::OutOfRange`] for an impossible date or time, or a size
/// beyond `u64` bytes.
pub fn parse_vms(line: &Bytes) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Vms);
    const RANGE: ListingError = ListingError::OutOfRange(Format::Vms);
    let s: &[u8] = line;
    if vms_noise(s) {
        return Err(ListingError::NotAnEntry);
    }
    let mut f = Fields::new(s);
    let name_field = f.next().ok_or(BAD)?;
    if name_field.start != 0 {
        return Err(BAD);
    }
    let semi = vms_version_at(&s[name_field.clone()]).ok_or(BAD)?;
    let size_field = f.next().ok_or(BAD)?;
    if s[size_field.start] == b'%' {
        return Err(ListingError::NotAnEntry);
    }
    let mut blocks = s[size_field].splitn(2, |&b| b == b'/');
    let used = count(blocks.next().ok_or(BAD)?, Format::Vms)?;
    if let Some(allocated) = blocks.next() {
        count(allocated, Format::Vms)?;
    }
    let size = used.checked_mul(512).ok_or(RANGE)?;
    let modified = vms_time(&s[f.next().ok_or(BAD)?], &s[f.next().ok_or(BAD)?])?;

    let mut owner = None;
    let mut group = None;
    let mut at = f.rest();
    if s.get(at) == Some(&b'[') {
        let close = memchr::memchr(b']', &s[at..]).map(|i| at + i);
        let end = close.unwrap_or_else(|| {
            let mut rest = Fields { s, pos: at };
            rest.next().map_or(at, |r| r.end)
        });
        let (g, o) = vms_owner(s, at + 1..end).ok_or(BAD)?;
        group = g.map(|g| line.slice(g));
        owner = Some(line.slice(o));
        at = close.map_or(end, |c| c + 1);
    }
    f.pos = at;
    at = f.rest();
    let mut mode = None;
    if s.get(at) == Some(&b'(') {
        let close = memchr::memchr(b')', &s[at..]).map(|i| at + i).ok_or(BAD)?;
        mode = Some(vms_protection(&s[at + 1..close]).ok_or(BAD)?);
        f.pos = close + 1;
    }
    if f.rest() != s.len() {
        return Err(BAD);
    }

    let base = &s[..semi];
    let is_dir = base.len() > 4 && base[base.len() - 4..].eq_ignore_ascii_case(b".DIR");
    let (name, kind) =
        if is_dir { (line.slice(..semi - 4), EntryKind::Directory) } else { (line.slice(name_field), EntryKind::File) };
    let mut entry = Entry::parsed(line, Format::Vms, name, kind);
    entry.size = Some(size);
    entry.modified = Some(modified);
    entry.owner = owner;
    entry.group = group;
    entry.mode = mode;
    Ok(entry)
}

/// Where the `;` of a `NAME;VERSION` field is, when the field is one: a
/// non-empty name and a version of 1 to 5 digits (VMS versions go to 32767).
fn vms_version_at(field: &[u8]) -> Option<usize> {
    let semi = memchr::memrchr(b';', field)?;
    let version = &field[semi + 1..];
    (semi > 0 && version.len() <= 5 && all_digits(version)).then_some(semi)
}

/// Lines of a VMS listing that carry no entry.
fn vms_noise(s: &[u8]) -> bool {
    let mut f = Fields::new(s);
    let mut word = || f.next().map_or(&b""[..], |r| &s[r]);
    let first = word();
    let second = word();
    let more = !word().is_empty();
    // VMS messages: `%FACILITY-S-IDENT, text`.
    if first.len() > 1 && first[0] == b'%' && first[1].is_ascii_uppercase() && first.contains(&b'-') {
        return true;
    }
    match first {
        b"Directory" => !more && second.iter().any(|&b| b == b':' || b == b'['),
        b"Total" => second == b"of" || all_digits(second),
        b"Grand" => second == b"total",
        _ => false,
    }
}

/// The date and time fields of a VMS line.
fn vms_time(date_field: &[u8], time_field: &[u8]) -> Result<ListingTime, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Vms);
    let mut parts = date_field.split(|&b| b == b'-');
    let (Some(d), Some(mon), Some(y), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(BAD);
    };
    let day = fixed(d, 2).or_else(|| fixed(d, 1)).ok_or(BAD)?;
    let month = date::month(mon).ok_or(BAD)?;
    let year = fixed(y, 4).ok_or(BAD)?;
    let (clock_part, fraction) = match memchr::memchr(b'.', time_field) {
        Some(dot) => (&time_field[..dot], Some(&time_field[dot + 1..])),
        None => (time_field, None),
    };
    let (h, m, sec, has_seconds) = clock(clock_part, b':').ok_or(BAD)?;
    if fraction.is_some() && !has_seconds {
        return Err(BAD);
    }
    let time = Timestamp::new(year, month, day as u8, h, m, sec).map_err(|_| ListingError::OutOfRange(Format::Vms))?;
    match fraction {
        None => Ok(ListingTime::new(time, if has_seconds { Precision::Second } else { Precision::Minute })),
        Some(digits) => {
            if digits.is_empty() || digits.len() > 9 || !all_digits(digits) {
                return Err(BAD);
            }
            let value = date::number(digits, 9).and_then(|v| u32::try_from(v).ok()).ok_or(BAD)?;
            let time = time.with_fraction(value, digits.len() as u8).map_err(|_| BAD)?;
            Ok(ListingTime::new(time, Precision::Fraction))
        }
    }
}

/// `[GROUP,OWNER]` or `[OWNER]` (the brackets' content at `r`): the group
/// and owner ranges. Identifiers are letters, digits, `$` and `_` (a UIC
/// in numbers too), with blanks around them tolerated.
fn vms_owner(s: &[u8], r: Range<usize>) -> Option<(Option<Range<usize>>, Range<usize>)> {
    let trim = |mut a: usize, mut b: usize| {
        while a < b && is_blank(s[a]) {
            a += 1;
        }
        while b > a && is_blank(s[b - 1]) {
            b -= 1;
        }
        let ok = b > a && s[a..b].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'$' || c == b'_');
        ok.then_some(a..b)
    };
    let inner = s.get(r.clone())?;
    match memchr::memchr(b',', inner) {
        Some(i) => Some((Some(trim(r.start, r.start + i)?), trim(r.start + i + 1, r.end)?)),
        None => Some((None, trim(r.start, r.end)?)),
    }
}

/// `(S,O,G,W)`, each a subset of `RWED`: the owner, group and world rights
/// as Unix mode bits.
fn vms_protection(p: &[u8]) -> Option<u32> {
    let mut mode = 0;
    let mut n = 0;
    for (i, class) in p.split(|&b| b == b',').enumerate() {
        n += 1;
        let mut bits = 0u32;
        for &c in class {
            bits |= match c {
                b'R' => 4,
                b'W' => 2,
                b'E' => 1,
                b'D' => 0,
                _ => return None,
            };
        }
        // System rights (the first class) have no Unix counterpart.
        if (1..=3).contains(&i) {
            mode |= bits << (3 * (3 - i));
        }
    }
    (n == 4).then_some(mode)
}

// --- OS/400 ----------------------------------------------------------------

/// Parses one line of an OS/400 (IBM i, AS/400) FTP server listing in its
/// native (`LISTFMT 0`) form, for the IFS and for `QSYS.LIB`:
///
/// ```text
/// line  = owner 1*SP [ size 1*SP date 1*SP time 1*SP ] type 1*SP name
/// owner = 1*10( ALPHA / DIGIT / "$" / "#" / "@" / "_" )
/// date  = MM "/" DD "/" YY    ; the job's date format: tried in this order,
///       / DD "/" MM "/" YY    ; the first valid date wins
///       / YY "/" MM "/" DD
///       / DD "." MM "." YY / YYYY "/" MM "/" DD / MM "/" DD "/" YYYY
/// time  = HH ":" MM ":" SS / HH "." MM "." SS
/// type  = "*" 1*10( ALPHA / DIGIT )      ; *STMF, *DIR, *FILE, *MEM, *FLR...
/// ```
///
/// `QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/`,
/// `PEP              4019 04/03/18 18:58:16 *STMF      einladung.zip`,
/// `QPGMR                                   *MEM       RPGUNITC1.FILE/RUCALLTST.MBR`.
///
/// A name ending in `/`, or of type `*DIR`, `*LIB` or `*FLR`, is a
/// directory (the one trailing `/` is left out of the name); anything else
/// is a file. Names are kept as sent, paths included. Two-digit years are
/// 1970-2069. The date order is the server job's setting, which the line
/// does not say: an ambiguous date (`04/03/24`) is read month first, the
/// IBM default (`*MDY`).
///
/// # Errors
/// [`ListingError::Unrecognised`] outside the grammar (a size without date,
/// a type without `*`, no name, fields run together);
/// [`ListingError::OutOfRange`] when no reading of the date and time is
/// valid (`30:06:29`), or for a size beyond `u64`.
pub fn parse_os400(line: &Bytes) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Os400);
    let s: &[u8] = line;
    let mut f = Fields::new(s);
    let owner = f.next().ok_or(BAD)?;
    let owner_ok = owner.start == 0
        && owner.len() <= 10
        && s[owner.clone()].iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'$' | b'#' | b'@' | b'_'));
    if !owner_ok {
        return Err(BAD);
    }
    let second = f.next().ok_or(BAD)?;
    let (size, modified, kind_field) = if s[second.start] == b'*' {
        (None, None, second)
    } else {
        let size = count(&s[second], Format::Os400)?;
        let date_field = f.next().ok_or(BAD)?;
        let time_field = f.next().ok_or(BAD)?;
        let time = os400_time(&s[date_field], &s[time_field])?;
        (Some(size), Some(time), f.next().ok_or(BAD)?)
    };
    let kind_word = &s[kind_field];
    let kind_ok = kind_word.len() >= 2
        && kind_word.len() <= 11
        && kind_word[0] == b'*'
        && kind_word[1..].iter().all(u8::is_ascii_alphanumeric);
    if !kind_ok {
        return Err(BAD);
    }
    let name_start = f.rest();
    let slash = s.last() == Some(&b'/');
    let name_end = if slash { s.len() - 1 } else { s.len() };
    if name_end <= name_start {
        return Err(BAD);
    }
    let dir_kind = [&b"*DIR"[..], b"*LIB", b"*FLR"].contains(&kind_word);
    let kind = if slash || dir_kind { EntryKind::Directory } else { EntryKind::File };
    let mut entry = Entry::parsed(line, Format::Os400, line.slice(name_start..name_end), kind);
    entry.owner = Some(line.slice(owner));
    entry.size = size;
    entry.modified = modified;
    Ok(entry)
}

/// An OS/400 date and time, trying the date orders the server may use.
fn os400_time(date_field: &[u8], time_field: &[u8]) -> Result<ListingTime, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Os400);
    let sep = *date_field.iter().find(|b| !b.is_ascii_digit()).ok_or(BAD)?;
    let mut parts = date_field.split(|&b| b == sep);
    let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(BAD);
    };
    let time_sep = if time_field.contains(&b':') { b':' } else { b'.' };
    let (h, mi, sec, has_seconds) = clock(time_field, time_sep).ok_or(BAD)?;
    if !has_seconds || time_field.len() != 8 {
        return Err(BAD);
    }
    let two = |p: &[u8]| fixed(p, 2);
    let yy = |p: &[u8]| fixed(p, 2).map(date::two_digit_year);
    // (year, month, day) readings, in order of preference.
    let readings: [Option<(u16, u16, u16)>; 3] = match (sep, a.len(), b.len(), c.len()) {
        (b'/', 2, 2, 2) => [
            yy(c).zip(two(a)).zip(two(b)).map(|((y, m), d)| (y, m, d)),
            yy(c).zip(two(b)).zip(two(a)).map(|((y, m), d)| (y, m, d)),
            yy(a).zip(two(b)).zip(two(c)).map(|((y, m), d)| (y, m, d)),
        ],
        (b'/', 2, 2, 4) => [
            fixed(c, 4).zip(two(a)).zip(two(b)).map(|((y, m), d)| (y, m, d)),
            fixed(c, 4).zip(two(b)).zip(two(a)).map(|((y, m), d)| (y, m, d)),
            None,
        ],
        (b'.', 2, 2, 2) => [yy(c).zip(two(b)).zip(two(a)).map(|((y, m), d)| (y, m, d)), None, None],
        (b'.', 2, 2, 4) => [fixed(c, 4).zip(two(b)).zip(two(a)).map(|((y, m), d)| (y, m, d)), None, None],
        (b'/' | b'-', 4, 2, 2) => [fixed(a, 4).zip(two(b)).zip(two(c)).map(|((y, m), d)| (y, m, d)), None, None],
        _ => return Err(BAD),
    };
    if readings[0].is_none() {
        return Err(BAD);
    }
    readings
        .into_iter()
        .flatten()
        .find_map(|(y, m, d)| {
            let (m, d) = (u8::try_from(m).ok()?, u8::try_from(d).ok()?);
            date::at(y, m, d, h, mi, sec, Precision::Second)
        })
        .ok_or(ListingError::OutOfRange(Format::Os400))
}

// --- MVS -------------------------------------------------------------------

/// Parses one line of an MVS (z/OS, OS/390) FTP server listing: a dataset
/// list (`LIST` of a high-level qualifier) or a partitioned dataset's member
/// list (`LIST` inside a PDS), as IBM's z/OS Communications Server sends
/// them:
///
/// ```text
/// Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname      ; header
/// dataset = volume 1*SP unit 1*SP referred 1*SP ext 1*SP used 1*SP recfm
///           1*SP lrecl 1*SP blksize 1*SP dsorg 1*SP dsname
///         / "Migrated" 1*SP dsname                  ; migrated by HSM
///         / "Pseudo Directory" 1*SP dsname          ; a qualifier level
///         / volume 1*SP unit 1*SP "VSAM" 1*SP dsname
///         / volume 1*SP "Tape" 1*SP dsname
///         / volume 1*SP "Not Direct Access Device" 1*SP dsname
/// referred = YYYY "/" MM "/" DD / "**NONE**"
/// dsname  = name / "'" name "'"                      ; quotes are dropped
///
///  Name     VV.MM   Created       Changed      Size  Init   Mod   Id   ; header
/// member  = member-name [ 1*SP VV.MM 1*SP created 1*SP changed-date
///           1*SP changed-time 1*SP size 1*SP init 1*SP mod [ 1*SP id ] ]
/// ```
///
/// `WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'`,
/// `Migrated                                                SOME.NAME`,
/// `MEMBER1   01.03 2001/04/02 2001/04/02 16:54    15    15     0 USER1`.
///
/// - Dataset organisation `PO` and `PO-E` (partitioned: holds members) is a
///   [`EntryKind::Directory`], `PS` (sequential) a file, others (`DA`,
///   `VS`...) and VSAM clusters [`EntryKind::Other`] with the word; a
///   pseudo directory is a directory; migrated, tape and other
///   non-DASD datasets are files.
/// - A dataset list has no byte size and no modification time (`Referred`
///   is the last access date; it is checked, not kept).
/// - A member's `Changed` date and time are its modification time,
///   `Created` its creation date, `Id` its owner; `Size` counts records,
///   not bytes, and is not kept. A member without ISPF statistics is its
///   name alone.
/// - Member names are 1 to 8 of `A-Z 0-9 $ # @`, not starting with a digit.
///
/// # Errors
/// [`ListingError::NotAnEntry`] for both headers;
/// [`ListingError::Unrecognised`] outside the grammar (fields run together,
/// `MigratedP201.X`, a lowercase or overlong member name);
/// [`ListingError::OutOfRange`] for an impossible date or time.
pub fn parse_mvs(line: &Bytes) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Mvs);
    let s: &[u8] = line;
    let (t, n) = fields::<11>(s).ok_or(BAD)?;
    if n == 0 {
        return Err(ListingError::NotAnEntry);
    }
    let w = |i: usize| if i < n { t.get(i).map_or(&b""[..], |r| &s[r.clone()]) } else { &b""[..] };
    let slice = |i: usize| t.get(i).map_or_else(Bytes::new, |r| line.slice(r.clone()));
    if (w(0) == b"Volume" && w(1) == b"Unit") || (w(0) == b"Name" && (w(1) == b"VV.MM" || w(1) == b"Size")) {
        return Err(ListingError::NotAnEntry);
    }
    let parsed = |name: Bytes, kind| Entry::parsed(line, Format::Mvs, name, kind);

    // Member lists.
    if n == 1 && is_member_name(w(0)) {
        return Ok(parsed(slice(0), EntryKind::File));
    }
    if (n == 8 || n == 9) && is_member_name(w(0)) && is_version(w(1)) {
        let created = mvs_date(w(2)).ok_or(BAD)?;
        let changed = mvs_date(w(3)).ok_or(BAD)?;
        let (h, m, sec, has_seconds) = clock(w(4), b':').ok_or(BAD)?;
        if !(all_digits(w(5)) && all_digits(w(6)) && all_digits(w(7))) {
            return Err(BAD);
        }
        let range = ListingError::OutOfRange(Format::Mvs);
        let created = date::at(created.0, created.1, created.2, 0, 0, 0, Precision::Day).ok_or(range)?;
        let precision = if has_seconds { Precision::Second } else { Precision::Minute };
        let modified = date::at(changed.0, changed.1, changed.2, h, m, sec, precision).ok_or(range)?;
        let mut entry = parsed(slice(0), EntryKind::File);
        entry.created = Some(created);
        entry.modified = Some(modified);
        entry.owner = (n == 9).then(|| slice(8));
        return Ok(entry);
    }

    // Dataset lists.
    if n < 2 {
        return Err(BAD);
    }
    let last = n - 1;
    let kind = match (n, w(0), w(1)) {
        (2, b"Migrated", _) => EntryKind::File,
        (3, b"Pseudo", b"Directory") => EntryKind::Directory,
        (3, _, b"Tape") if is_volume(w(0)) => EntryKind::File,
        (6, _, b"Not") if is_volume(w(0)) && w(2) == b"Direct" && w(3) == b"Access" && w(4) == b"Device" => {
            EntryKind::File
        }
        (4, _, _) if is_volume(w(0)) && w(2) == b"VSAM" => EntryKind::Other(slice(2)),
        (9 | 10, _, _) => {
            // ext and used run together when used has five digits.
            let at = if n == 10 { 5 } else { 4 };
            let ok = is_volume(w(0))
                && w(1).iter().all(u8::is_ascii_alphanumeric)
                && (w(2) == b"**NONE**" || mvs_date(w(2)).is_some())
                && all_digits(w(3))
                && (n == 9 || all_digits(w(4)))
                && (1..=4).contains(&w(at).len())
                && w(at).iter().all(u8::is_ascii_alphabetic)
                && all_digits(w(at + 1))
                && all_digits(w(at + 2));
            let dsorg = w(last - 1);
            if !ok || dsorg.is_empty() || !dsorg.iter().all(|&c| c.is_ascii_uppercase() || c == b'-') {
                return Err(BAD);
            }
            match dsorg {
                b"PO" | b"PO-E" => EntryKind::Directory,
                b"PS" => EntryKind::File,
                _ => EntryKind::Other(slice(last - 1)),
            }
        }
        _ => return Err(BAD),
    };
    let name = t.get(last).ok_or(BAD)?;
    let quoted = name.len() > 2 && s[name.start] == b'\'' && s[name.end - 1] == b'\'';
    let name = if quoted { name.start + 1..name.end - 1 } else { name.clone() };
    Ok(parsed(line.slice(name), kind))
}

/// A volume serial: 1 to 6 letters, digits or national characters.
fn is_volume(w: &[u8]) -> bool {
    (1..=6).contains(&w.len()) && w.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'$' | b'#' | b'@'))
}

/// A PDS member name: 1 to 8 of `A-Z 0-9 $ # @`, not starting with a digit.
fn is_member_name(w: &[u8]) -> bool {
    (1..=8).contains(&w.len())
        && !w[0].is_ascii_digit()
        && w.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'$' | b'#' | b'@'))
}

/// An ISPF version and modification level, `VV.MM`.
fn is_version(w: &[u8]) -> bool {
    w.len() == 5 && w[2] == b'.' && fixed(&w[..2], 2).is_some() && fixed(&w[3..], 2).is_some()
}

/// `YYYY/MM/DD` (its syntax only; validity is checked with the time).
fn mvs_date(w: &[u8]) -> Option<(u16, u8, u8)> {
    if w.len() != 10 || w[4] != b'/' || w[7] != b'/' {
        return None;
    }
    Some((fixed(&w[..4], 4)?, fixed(&w[5..7], 2)? as u8, fixed(&w[8..], 2)? as u8))
}

// --- NetWare ---------------------------------------------------------------

/// Parses one line of a Novell NetWare FTP server (NetWare 4 to 6.5
/// `NWFTPD`) listing:
///
/// ```text
/// line   = type 1*SP "[" rights "]" 1*SP owner 1*SP size 1*SP month 1*SP day
///          1*SP ( HH ":" MM / YYYY ) 1*SP name
/// type   = "d" / "-"
/// rights = 8( "-" / the letter of its place in "RWCEAFMS" ), any case
/// ```
///
/// `d [R----F--] supervisor            512       Jan 16 18:53    login`,
/// `- [R----F--] rhiggins     108674       Jul 17 12:09    Wynken.txt`.
///
/// A date without a year is resolved against `now` as Unix dates are (the
/// latest year that does not put it more than a day after `now`), precision
/// minute; a date with a year has precision day. The rights (NetWare
/// trustee rights, not Unix permissions) are checked and left in
/// [`Entry::raw`]. The name is the rest of the line and may hold spaces.
///
/// # Errors
/// [`ListingError::Unrecognised`] outside the grammar (another type letter,
/// rights out of place, a numeric date); [`ListingError::OutOfRange`] for an
/// impossible date or a size beyond `u64`.
pub fn parse_netware(line: &Bytes, now: Timestamp) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::NetWare);
    let s: &[u8] = line;
    let kind = match s {
        [b'd', b, ..] if is_blank(*b) => EntryKind::Directory,
        [b'-', b, ..] if is_blank(*b) => EntryKind::File,
        _ => return Err(BAD),
    };
    let mut f = Fields { s, pos: 1 };
    let rights = &s[f.next().ok_or(BAD)?];
    let rights_ok = match rights {
        [b'[', inner @ .., b']'] if inner.len() == 8 => {
            inner.iter().zip(b"RWCEAFMS").all(|(&c, &letter)| c == b'-' || c.eq_ignore_ascii_case(&letter))
        }
        _ => false,
    };
    if !rights_ok {
        return Err(BAD);
    }
    let owner = f.next().ok_or(BAD)?;
    let size = count(&s[f.next().ok_or(BAD)?], Format::NetWare)?;
    let month = date::month(&s[f.next().ok_or(BAD)?]).ok_or(BAD)?;
    let day_field = &s[f.next().ok_or(BAD)?];
    let day = fixed(day_field, 2).or_else(|| fixed(day_field, 1)).ok_or(BAD)? as u8;
    let last = &s[f.next().ok_or(BAD)?];
    let modified = if let Some(year) = fixed(last, 4) {
        date::at(year, month, day, 0, 0, 0, Precision::Day)
    } else {
        let (h, m, _, has_seconds) = clock(last, b':').ok_or(BAD)?;
        if has_seconds {
            return Err(BAD);
        }
        date::at(date::resolve_year(month, day, now), month, day, h, m, 0, Precision::Minute)
    }
    .ok_or(ListingError::OutOfRange(Format::NetWare))?;
    let name_start = f.rest();
    if name_start == s.len() {
        return Err(BAD);
    }
    let mut entry = Entry::parsed(line, Format::NetWare, line.slice(name_start..), kind);
    entry.owner = Some(line.slice(owner));
    entry.size = Some(size);
    entry.modified = Some(modified);
    Ok(entry)
}

// --- Whole listings ----------------------------------------------------------

/// The lines of a body split on LF, each without its CR.
struct Lines<'a> {
    body: &'a Bytes,
    pos: usize,
}

impl Iterator for Lines<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let rest = self.body.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += len + 1;
        let end = if len > 0 && rest[len - 1] == b'\r' { start + len - 1 } else { start + len };
        Some(self.body.slice(start..end))
    }
}

/// Whether a line is a VMS name standing alone, its entry pushed onto the
/// next line by the name's length.
fn lone_vms_name(line: &[u8]) -> bool {
    let end = line.iter().rposition(|&b| !is_blank(b)).map_or(0, |i| i + 1);
    let name = &line[..end];
    !name.is_empty() && !name.iter().any(|&b| is_blank(b)) && vms_version_at(name).is_some()
}

/// Parses a whole `LIST` body (see [`super::parse_list`]).
pub(crate) fn parse_list_body(body: &Bytes, now: Timestamp) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut lines = Lines { body, pos: 0 };
    let mut pending: Option<Bytes> = None;
    while let Some(line) = pending.take().or_else(|| lines.next()) {
        if lone_vms_name(&line) {
            // `UCX$REXECD_STARTUP.LOG;1098` then, indented, the rest.
            let Some(next) = lines.next() else { break };
            if !next.first().is_some_and(|&b| is_blank(b)) {
                pending = Some(next);
                continue;
            }
            let mut joined = BytesMut::with_capacity(line.len() + next.len());
            joined.extend_from_slice(&line);
            joined.extend_from_slice(&next);
            match parse_vms(&joined.freeze()) {
                Ok(entry) => entries.push(entry),
                Err(ListingError::NotAnEntry) => {}
                Err(_) => pending = Some(next),
            }
            continue;
        }
        if let Ok(entry) = super::parse_list_line(&line, now) {
            entries.push(entry);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    fn ts(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Timestamp {
        Timestamp::new(y, mo, d, h, mi, s).unwrap()
    }

    fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, p: Precision) -> Option<ListingTime> {
        Some(ListingTime::new(ts(y, mo, d, h, mi, s), p))
    }

    // --- VMS ---

    #[test]
    fn vms_multinet_anonymous_listing() {
        let e = parse_vms(&b(b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)"))
            .unwrap();
        assert_eq!(e.name(), b"CII-MANUAL.TEX;1");
        assert_eq!(e.kind(), &EntryKind::File);
        assert_eq!(e.size(), Some(213 * 512));
        assert_eq!(e.modified(), at(1996, 1, 29, 3, 33, 12, Precision::Second));
        assert_eq!(e.owner(), Some(&b"ANONYMOUS"[..]));
        assert_eq!(e.group(), Some(&b"ANONYMOU"[..]));
        assert_eq!(e.mode(), Some(0o700));
        assert_eq!(e.format(), Format::Vms);
    }

    #[test]
    fn vms_directory_files_are_directories_without_dir_suffix() {
        let e = parse_vms(&b(
            b"DATA.DIR;1               1/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)",
        ))
        .unwrap();
        assert_eq!(e.kind(), &EntryKind::Directory);
        assert_eq!(e.name(), b"DATA");
        assert_eq!(e.size(), Some(512));
        assert_eq!(e.mode(), Some(0o775));
        let e = parse_vms(&b(b"DIR.DIR;1  1 19-NOV-2001 21:41 [root,root] (RWE,RWE,RE,RE)")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"DIR"[..], &EntryKind::Directory));
        assert_eq!(e.modified(), at(2001, 11, 19, 21, 41, 0, Precision::Minute));
        // Lowercase as some servers print it.
        let e = parse_vms(&b(b"tools.dir;1  3/4  2-jun-1998 07:32:04  [SYSTEM]  (RWE,RWE,RE,RE)")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"tools"[..], &EntryKind::Directory));
    }

    #[test]
    fn vms_variants_seen_from_servers() {
        // TRANSLATED owner (an identifier with no UIC group).
        let e =
            parse_vms(&b(b"1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [TRANSLATED]    (RWED,RD,,)"))
                .unwrap();
        assert_eq!((e.owner(), e.group()), (Some(&b"TRANSLATED"[..]), None));
        assert_eq!(e.mode(), Some(0o400));
        // Size without allocation, no owner, no protection.
        let e = parse_vms(&b(b"ALLOCMISS.COM;1            1         15-AUG-1996 14:10:38")).unwrap();
        assert_eq!(e.size(), Some(512));
        assert_eq!((e.owner(), e.mode()), (None, None));
        // Hundredths of a second.
        let e = parse_vms(&b(b"LOGIN.COM;5  2/3  12-JAN-2005 14:06:36.52  [GROUP,OWNER]  (RWED,RWED,RE,RE)")).unwrap();
        let m = e.modified().unwrap();
        assert_eq!((m.precision(), m.time().nanos()), (Precision::Fraction, 520_000_000));
        // An owner truncated at its column by the server (Apache on VMS).
        let e = parse_vms(&b(
            b"FREEWARE40.DIR;1        27/36         16-FEB-1999 10:01:46  [AP_HTTPD,APACHE$WWW                               (RWE,RWE,RE,RE)",
        ))
        .unwrap();
        assert_eq!(
            (e.name(), e.owner(), e.group()),
            (&b"FREEWARE40"[..], Some(&b"APACHE$WWW"[..]), Some(&b"AP_HTTPD"[..]))
        );
        // Name with no extension.
        let e = parse_vms(&b(
            b"A.;2                    18/18          1-JUL-1998 08:43:20  [GROUP,OWNER]    (RWED,RWED,RWED,RE)",
        ))
        .unwrap();
        assert_eq!(e.name(), b"A.;2");
        // Numeric UIC.
        let e = parse_vms(&b(b"NOTES.TXT;3  4/6  3-MAR-2003 09:00:00  [300,7]  (RWED,RWED,R,)")).unwrap();
        assert_eq!((e.group(), e.owner()), (Some(&b"300"[..]), Some(&b"7"[..])));
    }

    #[test]
    fn vms_headers_trailers_and_messages_are_not_entries() {
        for line in [
            &b"Directory DISK$USER:[DIR]"[..],
            b"Directory USER1:[TEMP]",
            b"Total of 6 files, 18/18 blocks.",
            b"Total 14 files",
            b"Grand total of 2 directories, 44 files, 1120/1220 blocks.",
            b"%RMS-E-PRV, insufficient privilege or file protection violation",
            b"%DIRECT-W-NOFILES, no files found",
            b"PRIVATE.DIR;1        %RMS-E-PRV, insufficient privilege or file protection violation",
        ] {
            assert_eq!(parse_vms(&Bytes::copy_from_slice(line)), Err(ListingError::NotAnEntry), "{line:?}");
        }
    }

    #[test]
    fn vms_rejected_lines() {
        use ListingError::{OutOfRange, Unrecognised};
        let bad = Unrecognised(Format::Vms);
        for (line, err) in [
            (
                &b"1-JUN.LIS;2              9/9           JUN-2-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,)"[..],
                bad,
            ),
            (b"1-JUN.LIS;2              a/9           2-JUN-98 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,)", bad),
            (b"DATA.DIR; 1              1/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (,RWED,RWED,RE)", bad),
            (b"120196.TXT;1           118/126        14-APR-1997 12:45:27 PM  [GROUP,OWNER]    (RWED,,RWED,RE)", bad),
            (
                b"30CHARBAR.TXT;1         11/18          2-JUN-1998 08:38:42  [GROUP-1,OWNER]    (RWED,RWED,RWED,RE)",
                bad,
            ),
            (b"A.;2                    18/18          1-JUL-1998 08:43:20  [GROUP,OWNER]    (RWED2,RWED,RWED,RE)", bad),
            (b"AA.;2                  152/153        13-FED-1997 08:13:43  [GROUP,OWNER]    (RWED,RWED,RWED,RE)", bad),
            (b"A.;2  18/18  1-JUL-1998 08:43:20  [GROUP,OWNER]  (RWED,RWED,RWED)", bad),
            (b"A.;2  18/18  1-JUL-1998 08:43:20  (RWED,RWED,RWED,RE", bad),
            (b"UCX$REXECD_STARTUP.LOG;1098", bad),
            (b"README.TXT  1/1  1-JUL-1998 08:43:20", bad),
            (b" README.TXT;1  1/1  1-JUL-1998 08:43:20", bad),
            (b"A.;2  18/18  31-FEB-1998 08:43:20", OutOfRange(Format::Vms)),
            (b"A.;2  18/18  1-JUL-1998 25:43:20", OutOfRange(Format::Vms)),
            (b"A.;2  36028797018963968/1  1-JUL-1998 08:43:20", OutOfRange(Format::Vms)),
            (b"A.;2  99999999999999999999999/1  1-JUL-1998 08:43:20", OutOfRange(Format::Vms)),
        ] {
            assert_eq!(parse_vms(&Bytes::copy_from_slice(line)), Err(err), "{line:?}");
        }
    }

    // --- OS/400 ---

    #[test]
    fn os400_ifs_and_qsys_lines() {
        let e = parse_os400(&b(b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"QSYS.LIB"[..], &EntryKind::Directory));
        assert_eq!((e.owner(), e.size()), (Some(&b"QSYS"[..]), Some(77824)));
        assert_eq!(e.modified(), at(2000, 2, 23, 15, 9, 55, Precision::Second));
        let e = parse_os400(&b(b"QDOC            0 01/01/70 00:00:00 *FLR       QDOC/")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"QDOC"[..], &EntryKind::Directory));
        assert_eq!(e.modified(), at(1970, 1, 1, 0, 0, 0, Precision::Second));
        let e = parse_os400(&b(b"PEP              4019 04/03/18 18:58:16 *STMF      einladung.zip")).unwrap();
        assert_eq!((e.name(), e.kind(), e.size()), (&b"einladung.zip"[..], &EntryKind::File, Some(4019)));
        // Month first, the *MDY default, for an ambiguous date.
        assert_eq!(e.modified(), at(2018, 4, 3, 18, 58, 16, Precision::Second));
        let e = parse_os400(&b(b"PEP             36864 04/03/24 14:06:34 *DIR       dir1/")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"dir1"[..], &EntryKind::Directory));
        let e = parse_os400(&b(b"PEP              5000000000 04/03/24 14:06:29 *STMF      build.xml")).unwrap();
        assert_eq!(e.size(), Some(5_000_000_000));
        // A member: no size, no date.
        let e = parse_os400(&b(b"QPGMR                                   *MEM       RPGUNITC1.FILE/RUCALLTST.MBR"))
            .unwrap();
        assert_eq!((e.name(), e.kind()), (&b"RPGUNITC1.FILE/RUCALLTST.MBR"[..], &EntryKind::File));
        assert_eq!((e.size(), e.modified()), (None, None));
        // DD.MM.YY (a *DMY job).
        let e = parse_os400(&b(b"QPGMR        16347136 29.06.13 15:45:09 *FILE      RPGUNIT.SAVF")).unwrap();
        assert_eq!(e.modified(), at(2013, 6, 29, 15, 45, 9, Precision::Second));
        // DD/MM/YY when the month-first reading is impossible.
        let e = parse_os400(&b(b"QSYS            77824 23/02/00 15:09:55 *DIR       QSYS.LIB/")).unwrap();
        assert_eq!(e.modified(), at(2000, 2, 23, 15, 9, 55, Precision::Second));
        // A full path, kept as sent.
        let e = parse_os400(&b(b"ZFTPDEV 9069 05/20/15 15:36:52 *STMF /DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF"))
            .unwrap();
        assert_eq!(e.name(), b"/DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF");
        assert_eq!(e.modified(), at(2015, 5, 20, 15, 36, 52, Precision::Second));
        // A name with spaces in the IFS.
        let e = parse_os400(&b(b"QSECOFR          1024 12/31/23 23:59:59 *STMF      Annual Report.pdf")).unwrap();
        assert_eq!(e.name(), b"Annual Report.pdf");
    }

    #[test]
    fn os400_rejected_lines() {
        let bad = ListingError::Unrecognised(Format::Os400);
        let range = ListingError::OutOfRange(Format::Os400);
        for (line, err) in [
            (&b"PEP              4019 04/03/18 18:58:16 STMF       einladung.zip"[..], bad),
            (b"PEP               422 03/24 14:06:26 *STMF      readme", bad),
            (b"PEP              6409 04/03/24 30:06:29 *STMF      build.xml", range),
            (b"PEP USR         36864 04/03/24 14:06:34 *DIR       dir1/", bad),
            (b"PEP             3686404/03/24 14:06:47 *DIR       zdir2/", bad),
            (b"QPGMR          135168 04/03/18 13:18:19 *FILE", bad),
            (b"QPGMR                 04/03/18 13:18:19 *FILE      RPGUNITC1.FILE", bad),
            (b"QPGMR          135168                   *MEM       RPGUNITC1.FILE/RUCALLTST.MBR", bad),
            (b"QPGMR                                   *MEM       ", bad),
            (b"QPGMR          135168 13/13/13 13:18:19 *FILE      X.FILE", range),
            (b"-rw-r--r--   1 ftp ftp 1 Jan 1 00:00 x", bad),
        ] {
            assert_eq!(parse_os400(&Bytes::copy_from_slice(line)), Err(err), "{line:?}");
        }
    }

    // --- MVS ---

    #[test]
    fn mvs_dataset_list_from_zos() {
        let header = b(b"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname");
        assert_eq!(parse_mvs(&header), Err(ListingError::NotAnEntry));
        let e = parse_mvs(&b(b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"JOHN.DATA"[..], &EntryKind::File));
        assert_eq!((e.size(), e.modified()), (None, None));
        let e = parse_mvs(&b(b"ZASYS1 3390   2020/12/16  1   10  FB      80 23440  PO  CLIST")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"CLIST"[..], &EntryKind::Directory));
        let e = parse_mvs(&b(b"ZASYS1 3390   **NONE**    1   10  U    32760 32760  PO  LPALIB")).unwrap();
        assert_eq!(e.kind(), &EntryKind::Directory);
        let e = parse_mvs(&b(b"SAVE02 3390   2004/06/23  1    1  FB     128  6144  PO-E  INCOMING.RPTBM025.D061704"))
            .unwrap();
        assert_eq!((e.name(), e.kind()), (&b"INCOMING.RPTBM025.D061704"[..], &EntryKind::Directory));
        let e = parse_mvs(&b(b"PSMLC1 3390   2005/04/04  1    1  VB   27994 27998  PS    file3.I")).unwrap();
        assert_eq!(e.name(), b"file3.I");
        let e = parse_mvs(&b(b"SESPUS 3380                                        VSAM DDIR.D")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"DDIR.D"[..], &EntryKind::Other(b(b"VSAM"))));
        let e = parse_mvs(&b(b"SCPMV5 3380   1999/03/02  1    8  VBA    125   129  DA  SPFLOG1.LIST")).unwrap();
        assert_eq!(e.kind(), &EntryKind::Other(b(b"DA")));
        // Ext and Used run together.
        let e = parse_mvs(&b(b"TSO005 3390   2005/06/06 213000 U 0 27998 PO 50-MVS-PDS")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"50-MVS-PDS"[..], &EntryKind::Directory));
        let e = parse_mvs(&b(b"Migrated                                                SOME.NAME")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"SOME.NAME"[..], &EntryKind::File));
        let e = parse_mvs(&b(b"Pseudo Directory                                        ALICE.PROJECTS")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"ALICE.PROJECTS"[..], &EntryKind::Directory));
        let e = parse_mvs(&b(b"ARCIVE Not Direct Access Device                         KJ.IOP998.ERROR.PL.UNITTEST"))
            .unwrap();
        assert_eq!((e.name(), e.kind()), (&b"KJ.IOP998.ERROR.PL.UNITTEST"[..], &EntryKind::File));
        let e = parse_mvs(&b(b"H19761 Tape                                             BACKUP.WEEKLY")).unwrap();
        assert_eq!(e.name(), b"BACKUP.WEEKLY");
    }

    #[test]
    fn mvs_member_list_from_zos() {
        for header in [
            &b"Name     VV.MM   Created       Changed      Size  Init   Mod   Id"[..],
            b" Name     VV.MM   Created       Changed      Size  Init   Mod   Id                  ",
            b" Name      Size     TTR   Alias-of AC --------- Attributes --------- Amode Rmode",
        ] {
            assert_eq!(parse_mvs(&Bytes::copy_from_slice(header)), Err(ListingError::NotAnEntry));
        }
        let e = parse_mvs(&b(b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54    15    15     0 USER1")).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"MEMBER1"[..], &EntryKind::File));
        assert_eq!(e.modified(), at(2001, 4, 2, 16, 54, 0, Precision::Minute));
        assert_eq!(e.created(), at(2001, 4, 2, 0, 0, 0, Precision::Day));
        assert_eq!((e.owner(), e.size()), (Some(&b"USER1"[..]), None));
        let e = parse_mvs(&b(b"COFVLFSV  01.06 1991/06/09 1997/04/28 14:14    24    31    23 RALEY")).unwrap();
        assert_eq!(e.modified(), at(1997, 4, 28, 14, 14, 0, Precision::Minute));
        // No ISPF statistics: the name alone, padded.
        let e = parse_mvs(&b(b"SAVE04                                                              ")).unwrap();
        assert_eq!((e.name(), e.modified()), (&b"SAVE04"[..], None));
        let e = parse_mvs(&b(b"$$INDEX")).unwrap();
        assert_eq!(e.name(), b"$$INDEX");
    }

    #[test]
    fn mvs_rejected_lines() {
        let bad = ListingError::Unrecognised(Format::Mvs);
        for (line, err) in [
            (&b"MigratedP201.$FTXPBI1.$CF2ITB.$AAB0402.I"[..], bad),
            (b"PSMLC133902005/04/041VB2799427998PSfile1.I", bad),
            (b"file2.O", bad),
            (b"MEMBER123", bad),
            (b"1MEMBER", bad),
            (b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  ps  JOHN.DATA", bad),
            (b"WYOSPT 3420   21/05/2003  1  200  FB      80  8000  PS  JOHN.DATA", bad),
            (b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54    15    x5     0 USER1", bad),
            (
                b"MEMBER1   01.03 2001/02/30 2001/04/02 16:54    15    15     0 USER1",
                ListingError::OutOfRange(Format::Mvs),
            ),
            (b"-rw-r--r--   1 ftp ftp 1 Jan 1 00:00 x", bad),
        ] {
            assert_eq!(parse_mvs(&Bytes::copy_from_slice(line)), Err(err), "{line:?}");
        }
    }

    // --- NetWare ---

    #[test]
    fn netware_lines() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let e = parse_netware(&b(b"d [R----F--] supervisor            512       Jan 16 18:53    login"), now).unwrap();
        assert_eq!((e.name(), e.kind()), (&b"login"[..], &EntryKind::Directory));
        assert_eq!((e.owner(), e.size()), (Some(&b"supervisor"[..]), Some(512)));
        assert_eq!(e.modified(), at(2024, 1, 16, 18, 53, 0, Precision::Minute));
        let e = parse_netware(&b(b"- [R----F--] rhiggins     108674       Jul 17 12:09    Wynken.txt"), now).unwrap();
        assert_eq!((e.name(), e.kind(), e.size()), (&b"Wynken.txt"[..], &EntryKind::File, Some(108_674)));
        assert_eq!(e.modified(), at(2023, 7, 17, 12, 9, 0, Precision::Minute));
        let e = parse_netware(
            &b(b"- [RWCEAFMS] rwinston                        19968 Mar 12 15:20 Executive Summary.doc"),
            now,
        )
        .unwrap();
        assert_eq!(e.name(), b"Executive Summary.doc");
        assert_eq!(e.modified(), at(2023, 3, 12, 15, 20, 0, Precision::Minute));
        let e = parse_netware(&b(b"d [RWCEAFMS] rwinston                          512 Nov 24  2005 Favorites"), now)
            .unwrap();
        assert_eq!(e.modified(), at(2005, 11, 24, 0, 0, 0, Precision::Day));
        let e =
            parse_netware(&b(b"d [----AF--]          0                        512 Feb 22 17:32 _ADMIN"), now).unwrap();
        assert_eq!((e.owner(), e.name()), (Some(&b"0"[..]), &b"_ADMIN"[..]));
    }

    #[test]
    fn netware_rejected_lines() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let bad = ListingError::Unrecognised(Format::NetWare);
        for (line, err) in [
            (&b"a [-----F--] SCION_SYS                         512 Apr 13 23:52 SYS"[..], bad),
            (b"d [----AF--]          0                        512 10-04-2001 _ADMIN", bad),
            (b"d [F-------] admin 512 Apr 13 23:52 SYS", bad),
            (b"d [R----F-] admin 512 Apr 13 23:52 SYS", bad),
            (b"d [R----F--] admin 512 Apr 13 23:52", bad),
            (b"d [R----F--] admin 512 Apr 13 23:52:10 SYS", bad),
            (b"drwxr-xr-x   2 ftp ftp 512 Apr 13 23:52 SYS", bad),
            (b"d [R----F--] admin 512 Feb 30 23:52 SYS", ListingError::OutOfRange(Format::NetWare)),
            (b"d [R----F--] admin 99999999999999999999 Feb 3 23:52 SYS", ListingError::OutOfRange(Format::NetWare)),
        ] {
            assert_eq!(parse_netware(&Bytes::copy_from_slice(line), now), Err(err), "{line:?}");
        }
    }

    // --- Whole bodies ---

    #[test]
    fn vms_body_with_long_names_on_two_lines() {
        let body = b(b"Directory SYS$SYSDEVICE:[ANONYMOUS]\r\n\r\n\
UCX$REXECD_STARTUP.LOG;1098\r\n                         4/15         24-FEB-2003 13:17:24  [POSTWARE,LP]    (RWED,RWED,RE,)\r\n\
UNARCHIVE.COM;1          2/15          7-JUL-1997 16:37:45  [POSTWARE,LP]    (RWE,RWE,RWE,RE)\r\n\
UNZIP_AND_ATTACH_FILES.COM;12\r\n                        14/15         24-JUL-2002 14:35:40  [TRANSLATED]    (RWE,RWE,RWE,RE)\r\n\
PRIVATE.DIR;1\r\n                     %RMS-E-PRV, insufficient privilege or file protection violation\r\n\
1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)\r\n\
\r\nTotal of 4 files, 29/54 blocks.\r\n");
        let now = ts(2024, 3, 1, 12, 0, 0);
        let entries = parse_list_body(&body, now);
        let names: Vec<&[u8]> = entries.iter().map(Entry::name).collect();
        assert_eq!(
            names,
            [&b"UCX$REXECD_STARTUP.LOG;1098"[..], b"UNARCHIVE.COM;1", b"UNZIP_AND_ATTACH_FILES.COM;12", b"1-JUN.LIS;1"]
        );
        let first = &entries[0];
        assert_eq!(first.size(), Some(4 * 512));
        assert_eq!(first.owner(), Some(&b"LP"[..]));
        assert_eq!(
            first.raw(),
            &b"UCX$REXECD_STARTUP.LOG;1098                         4/15         24-FEB-2003 13:17:24  [POSTWARE,LP]    (RWED,RWED,RE,)"[..]
        );
        assert_eq!(entries[2].owner(), Some(&b"TRANSLATED"[..]));
    }

    #[test]
    fn lone_name_without_continuation_is_skipped_not_glued() {
        let body = b(b"LONG_NAME.TXT;1\nSHORT.TXT;1  1/1  1-JUL-1998 08:43:20\nLAST_NAME.TXT;2");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name(), b"SHORT.TXT;1");
        // The continuation line fails: the name is dropped and the next line
        // is read on its own.
        let body = b(b"LONG_NAME.TXT;1\n garbage\nSHORT.TXT;1  1/1  1-JUL-1998 08:43:20\n");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn body_lines_split_on_lf_and_crlf() {
        let body = b(b"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname\r\n\
ZASYS1 3390   2020/12/16  1   10  FB      80 23440  PO  CLIST\n\
Migrated                                                OLD.DATA\r\n\r\n\n");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        let names: Vec<&[u8]> = entries.iter().map(Entry::name).collect();
        assert_eq!(names, [&b"CLIST"[..], b"OLD.DATA"]);
        assert!(parse_list_body(&Bytes::new(), ts(2024, 3, 1, 12, 0, 0)).is_empty());
        assert!(parse_list_body(&b(b"\r\n\n\r"), ts(2024, 3, 1, 12, 0, 0)).is_empty());
    }

    #[test]
    fn no_panic_on_prefixes_and_mutations_of_real_lines() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let lines: [&[u8]; 12] = [
            b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)",
            b"LOGIN.COM;5  2/3  12-JAN-2005 14:06:36.52  [GROUP,OWNER]  (RWED,RWED,RE,RE)",
            b"FREEWARE40.DIR;1        27/36         16-FEB-1999 10:01:46  [AP_HTTPD,APACHE$WWW      (RWE,RWE,RE,RE)",
            b"Directory DISK$USER:[DIR]",
            b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/",
            b"QPGMR        16347136 29.06.13 15:45:09 *FILE      RPGUNIT.SAVF",
            b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'",
            b"TSO005 3390   2005/06/06 213000 U 0 27998 PO 50-MVS-PDS",
            b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54:10    15    15     0 USER1",
            b"ARCIVE Not Direct Access Device                         KJ.IOP998.ERROR.PL.UNITTEST",
            b"d [R----F--] supervisor            512       Jan 16 18:53    login",
            b"- [RWCEAFMS] rwinston                          512 Nov 24  2005 Favorites",
        ];
        let run = |l: &[u8]| {
            let line = Bytes::copy_from_slice(l);
            let results = [parse_vms(&line), parse_os400(&line), parse_mvs(&line), parse_netware(&line, now)];
            for e in results.into_iter().flatten() {
                assert!(line.as_ptr_range().contains(&e.name().as_ptr()) || e.name().is_empty());
            }
            let _ = parse_list_body(&line, now);
        };
        let swaps =
            [b' ', b'\t', b'/', b':', b'.', b'-', b';', b'[', b']', b'(', b')', b',', b'*', b'\'', b'%', b'9', 0xFF];
        for l in lines {
            for end in 0..=l.len() {
                run(&l[..end]);
                run(&l[end..]);
            }
            for at in 0..l.len() {
                for &c in &swaps {
                    let mut m = l.to_vec();
                    m[at] = c;
                    run(&m);
                }
            }
        }
        // Long names alone, then pieces of continuations, in one body.
        let mut body = Vec::new();
        for l in lines {
            body.extend_from_slice(b"LONG_NAME_THAT_WRAPS.TXT;1\r\n ");
            body.extend_from_slice(l);
            body.extend_from_slice(b"\n");
        }
        let _ = parse_list_body(&Bytes::from(body), now);
    }

    #[test]
    fn entries_are_slices_of_the_line() {
        let line = b(b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/");
        let e = parse_os400(&line).unwrap();
        let inside = |s: &[u8]| line.as_ptr_range().contains(&s.as_ptr());
        assert!(inside(e.name()) && inside(e.owner().unwrap()));
    }
}

#[cfg(test)]
mod dispatch_tests {
    use super::*;

    /// Every style reaches its parser through `parse_list_line`, which tries
    /// Unix and DOS first.
    #[test]
    fn each_style_through_parse_list_line() {
        let now = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
        for (line, format, name) in [
            (
                &b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)"[..],
                Format::Vms,
                &b"CII-MANUAL.TEX;1"[..],
            ),
            (
                b"1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)",
                Format::Vms,
                b"1-JUN.LIS;1",
            ),
            (
                b"120196.TXT;1           118/126        14-APR-1997 12:45:27  [GROUP,OWNER]    (RWED,,RWED,RE)",
                Format::Vms,
                b"120196.TXT;1",
            ),
            (b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/", Format::Os400, b"QSYS.LIB"),
            (
                b"QPGMR                                   *MEM       RPGUNITC1.FILE/RUCALLTST.MBR",
                Format::Os400,
                b"RPGUNITC1.FILE/RUCALLTST.MBR",
            ),
            (b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'", Format::Mvs, b"JOHN.DATA"),
            (b"Migrated                                                SOME.NAME", Format::Mvs, b"SOME.NAME"),
            (b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54    15    15     0 USER1", Format::Mvs, b"MEMBER1"),
            (b"d [R----F--] supervisor            512       Jan 16 18:53    login", Format::NetWare, b"login"),
            (b"- [R----F--] rhiggins     108674       Jul 17 12:09    Wynken.txt", Format::NetWare, b"Wynken.txt"),
        ] {
            let e = super::super::parse_list_line(&Bytes::copy_from_slice(line), now)
                .unwrap_or_else(|err| panic!("{:?}: {err:?}", crate::text::Escaped(line)));
            assert_eq!((e.format(), e.name()), (format, name), "{:?}", crate::text::Escaped(line));
        }
        for line in [
            &b"Directory DISK$USER:[DIR]"[..],
            b"Total of 6 files, 18/18 blocks.",
            b"%RMS-E-PRV, insufficient privilege or file protection violation",
            b"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname",
            b" Name     VV.MM   Created       Changed      Size  Init   Mod   Id",
        ] {
            let r = super::super::parse_list_line(&Bytes::copy_from_slice(line), now);
            assert_eq!(r.map(|e| e.format()), Err(ListingError::NotAnEntry), "{:?}", crate::text::Escaped(line));
        }
    }
}
