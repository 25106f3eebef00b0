//! Unix `ls -l` listing lines: the parser clients need for `LIST` output and
//! the producer servers use to answer `LIST`.

use bytes::{Bytes, BytesMut};

use super::date;
use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision};
use crate::time::Timestamp;

const UNRECOGNISED: ListingError = ListingError::Unrecognised(Format::Unix);
const OUT_OF_RANGE: ListingError = ListingError::OutOfRange(Format::Unix);

/// Most space-separated fields looked at after the permissions: the date
/// has to start among them (a Cygwin group name with spaces takes a few).
const MAX_FIELDS: usize = 32;

/// The separator between a symlink's name and its target.
const ARROW: &[u8] = b" -> ";

/// How old a time may be and still be written `Mon DD HH:MM` (vsftpd's 182
/// days; GNU `ls` uses half a Gregorian year).
const RECENT_SECONDS: i64 = 182 * 86_400;

/// Type letters `format_unix` writes for [`EntryKind::Other`].
const OTHER_LETTERS: &[u8] = b"cbpsDn";

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Parses one Unix `ls -l` style line, as sent for `LIST` by vsftpd,
/// ProFTPD, Pure-FTPd, busybox and GNU `ls`-based servers, FileZilla Server
/// and IIS in their Unix modes, WFTPD, NetPresenz, Synology/QNAP and other
/// NAS boxes.
///
/// Grammar (fields separated by one or more spaces):
///
/// ```text
/// line     = perms [links] [owner [group]] size-or-dev date SP name
/// perms    = type 9*(rwx letter) [ "+" | "@" | "." ]   ; ACL, xattr, SELinux
/// type     = "-" | "d" | "l" | "c" | "b" | "p" | "s" | "D" | "n"
///          | "C" | "M" | "P" | "w" | "?"   ; GNU ls and BSD letters
/// rwx      = "r" / "-", "w" / "-", then "x" "-" "s" "S" (user, group; "l" "L"
///            for Solaris mandatory locking in the group slot), "x" "-" "t" "T"
/// links    = 1*DIGIT                       ; may follow an ACL "+" unspaced
/// size-or-dev = 1*DIGIT | major "," [SP] minor   ; devices (c, b) only
/// date     = Mon SP+ D[D] SP+ (H[H] ":" MM | YYYY)
///          | YYYY "-" MM "-" DD SP+ HH ":" MM [":" SS]   ; ls --time-style=long-iso
/// name     = the rest of the line, kept exactly (leading and trailing spaces
///            included); for type "l", "name -> target" splits at the first
///            " -> "
/// ```
///
/// The fields between the permissions and the size are read by their
/// count: four or more are links, owner and a group (a group with spaces,
/// Cygwin's `Domain Users`, takes the rest), two are links and owner (no
/// group: `-rw-------+   1 9469            0 May  6  2011 .Xauthority`), one
/// is an owner alone (NetPresenz `folder`). The name starts after exactly
/// one space following the time or year: any further spaces belong to it.
///
/// A `Mon DD HH:MM` date has no year: it is the latest year that does not put
/// the date more than a day after `now` (what `ls` means by it), and a
/// `Feb 29` falls back to the latest leap year. No clock is read. Times are
/// the server's local time, to the minute (or to the day for `Mon DD  YYYY`).
///
/// The entry's `mode` holds the permission bits including setuid, setgid and
/// sticky (`0o7777` at most); `C` (contiguous) and `M` (migrated) are
/// regular files; devices, FIFOs, sockets, doors, ports, whiteouts,
/// network special files and `?` are [`EntryKind::Other`] with the type
/// letter; a device's
/// `major, minor` leaves the size unset.
///
/// # Errors
/// [`ListingError::NotAnEntry`] for `total N` (also `total 12K`) and blank
/// lines; [`ListingError::OutOfRange`] for an impossible date or time
/// (`Aug 36`, `30:01`, `Feb 30`) or a size beyond `u64`;
/// [`ListingError::Unrecognised`] for anything else that is not such a line
/// (a bad permission string, an unknown month, no name).
pub fn parse_unix(line: &Bytes, now: Timestamp) -> Result<Entry, ListingError> {
    let bytes: &[u8] = line;
    if bytes.iter().all(|&b| b == b' ' || b == b'\t') || is_total(bytes) {
        return Err(ListingError::NotAnEntry);
    }
    let perm_end = bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len());
    let perms = parse_perms(bytes.get(..perm_end).unwrap_or_default())?;

    let mut fields = Fields::new();
    if let Some(links_at) = perms.glued_links {
        fields.push(Span { start: links_at, end: perm_end });
    }
    fields.split(bytes, perm_end);
    let found = (1..fields.len).find_map(|k| {
        let date = date_shape(bytes, fields.spans.get(k..fields.len)?)?;
        let layout = layout(bytes, fields.spans.get(..k)?, perms.device)?;
        Some((date, layout))
    });
    let Some((date, layout)) = found else {
        return Err(UNRECOGNISED);
    };

    // The name starts after exactly one space.
    if bytes.get(date.end) != Some(&b' ') {
        return Err(UNRECOGNISED);
    }
    let whole_name = line.slice(date.end + 1..);
    if whole_name.is_empty() {
        return Err(UNRECOGNISED);
    }
    let modified = date.resolve(now)?;
    let size = match layout.size {
        Some(span) => Some(decimal(span.of(bytes)).ok_or(OUT_OF_RANGE)?),
        None => None,
    };

    let (name, kind) = match perms.kind {
        b'-' | b'C' | b'M' => (whole_name, EntryKind::File),
        b'd' => (whole_name, EntryKind::Directory),
        b'l' => match find(&whole_name, ARROW) {
            Some(at) => {
                if at == 0 {
                    return Err(UNRECOGNISED);
                }
                let target = whole_name.slice(at + ARROW.len()..);
                (whole_name.slice(..at), EntryKind::Symlink { target: Some(target) })
            }
            None => (whole_name, EntryKind::Symlink { target: None }),
        },
        _ => (whole_name, EntryKind::Other(line.slice(0..1))),
    };

    let mut entry = Entry::parsed(line, Format::Unix, name, kind);
    entry.size = size;
    entry.modified = Some(modified);
    entry.mode = Some(perms.mode);
    entry.owner = layout.owner.map(|s| line.slice(s.start..s.end));
    entry.group = layout.group.map(|s| line.slice(s.start..s.end));
    Ok(entry)
}

/// Writes one Unix `ls -l` line for `entry`, without a line end, laid out as
/// vsftpd does:
///
/// ```text
/// drwxr-xr-x    1 ftp      ftp          4096 Mar 01 12:00 name
/// -rw-r--r--    1 ftp      ftp      12345678 Sep 30  2023 old report.pdf
/// lrwxrwxrwx    1 ftp      ftp             7 Mar 01 12:00 link -> target
/// ```
///
/// Permissions (type letter, then `rwx` with `s`/`S`/`t`/`T` for setuid,
/// setgid and sticky), a link count right-aligned in 4, owner and group
/// left-aligned in 8, size right-aligned in 8 (wider values push the line
/// right, as in vsftpd), then `Mon DD HH:MM` when the modification time is
/// at most 182 days before `now` (and not after it) or `Mon DD  YYYY`
/// otherwise (always for a time of [`Precision::Day`]), one space and the
/// name. What `ls` cannot know is given defaults: mode `0644` for files,
/// `0755` for directories, `0777` for symlinks; owner and group `ftp`; size
/// 0; one link; a missing time is written as `Jan 01  1970`. [`EntryKind`]
/// maps to the type letter: `d` for directories (and the current and parent
/// directory), `l` for symlinks, the letter of an [`EntryKind::Other`] whose
/// word is one of `c b p s D n`, `-` for everything else.
///
/// The line is byte-exact and [`parse_unix`] reads back the name, kind, size,
/// mode, owner, group and time (to the minute, or to the day in the year
/// form), including names with leading, trailing or repeated spaces, with
/// these limits:
/// - a line cannot hold CR or LF: they are written as `?` in names, link
///   targets, owners and groups, so that a file name cannot forge extra
///   listing lines;
/// - owner and group are single words: spaces and tabs in them are written
///   as `_`, and an empty owner or group as `ftp`;
/// - a symlink's name must not contain ` -> ` nor end in ` ->` (readers
///   split at the first ` -> `), and no name may be empty;
/// - a device's major and minor numbers are not in [`Entry`]: its size (0 if
///   unset) is written instead.
pub fn format_unix(entry: &Entry, now: Timestamp, out: &mut BytesMut) {
    let (type_letter, default_mode) = match &entry.kind {
        EntryKind::Directory | EntryKind::CurrentDir | EntryKind::ParentDir => (b'd', 0o755),
        EntryKind::Symlink { .. } => (b'l', 0o777),
        EntryKind::Other(word) => match word.as_ref() {
            [letter] if OTHER_LETTERS.contains(letter) => (*letter, 0o644),
            _ => (b'-', 0o644),
        },
        EntryKind::File => (b'-', 0o644),
    };
    let mode = entry.mode.unwrap_or(default_mode) & 0o7777;
    out.reserve(64 + entry.name.len());
    out.extend_from_slice(&perm_string(type_letter, mode));
    out.extend_from_slice(b"    1 ");
    write_word(out, entry.owner.as_deref());
    out.extend_from_slice(b" ");
    write_word(out, entry.group.as_deref());
    out.extend_from_slice(b" ");
    let mut digits = [0u8; 20];
    let size = format_decimal(entry.size.unwrap_or(0), &mut digits);
    pad(out, 8usize.saturating_sub(size.len()));
    out.extend_from_slice(size);
    out.extend_from_slice(b" ");
    write_date(out, entry.modified, now);
    out.extend_from_slice(b" ");
    write_line_safe(out, &entry.name);
    if let EntryKind::Symlink { target: Some(target) } = &entry.kind {
        out.extend_from_slice(ARROW);
        write_line_safe(out, target);
    }
}

/// A field's position in the line.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn of(self, line: &[u8]) -> &[u8] {
        line.get(self.start..self.end).unwrap_or_default()
    }
}

/// The first [`MAX_FIELDS`] space-separated fields after the permissions.
struct Fields {
    spans: [Span; MAX_FIELDS],
    len: usize,
}

impl Fields {
    fn new() -> Self {
        Self { spans: [Span::default(); MAX_FIELDS], len: 0 }
    }

    fn push(&mut self, span: Span) {
        if let Some(slot) = self.spans.get_mut(self.len) {
            *slot = span;
            self.len += 1;
        }
    }

    fn split(&mut self, line: &[u8], from: usize) {
        let mut at = from;
        while self.len < MAX_FIELDS {
            let Some(start) = line.get(at..).and_then(|rest| rest.iter().position(|&b| b != b' ')) else {
                return;
            };
            let start = at + start;
            let len = line.get(start..).map_or(0, |rest| rest.iter().position(|&b| b == b' ').unwrap_or(rest.len()));
            self.push(Span { start, end: start + len });
            at = start + len;
        }
    }
}

/// What the permission field says.
struct Perms {
    kind: u8,
    mode: u32,
    /// Whether the type allows `major, minor` instead of a size.
    device: bool,
    /// Where a link count written right after an ACL `+` starts
    /// (`drwxr-x---+1464 ...`).
    glued_links: Option<usize>,
}

fn parse_perms(field: &[u8]) -> Result<Perms, ListingError> {
    let Some(&[kind, ur, uw, ux, gr, gw, gx, or, ow, ox]) = field.get(..10) else {
        return Err(UNRECOGNISED);
    };
    // GNU `ls` and the BSDs: `C` contiguous and `M` migrated (off-line)
    // regular files, `P` a Solaris event port, `w` a BSD whiteout, `?` a
    // type `ls` does not know.
    if !matches!(kind, b'-' | b'd' | b'l' | b'c' | b'b' | b'p' | b's' | b'D' | b'n' | b'C' | b'M' | b'P' | b'w' | b'?')
    {
        return Err(UNRECOGNISED);
    }
    let flag = |c: u8, letter: u8, bit: u32| match c {
        b'-' => Some(0),
        c if c == letter => Some(bit),
        _ => None,
    };
    let exec = |c: u8, special: u8, bit: u32, special_bit: u32| match c {
        b'-' => Some(0),
        b'x' => Some(bit),
        c if c == special => Some(bit | special_bit),
        c if c == special.to_ascii_uppercase() => Some(special_bit),
        _ => None,
    };
    let group_exec = match gx {
        // Solaris shows mandatory locking (setgid without group execute) as `l`.
        b'l' | b'L' => Some(0o2000),
        c => exec(c, b's', 0o010, 0o2000),
    };
    let bits = [
        flag(ur, b'r', 0o400),
        flag(uw, b'w', 0o200),
        exec(ux, b's', 0o100, 0o4000),
        flag(gr, b'r', 0o040),
        flag(gw, b'w', 0o020),
        group_exec,
        flag(or, b'r', 0o004),
        flag(ow, b'w', 0o002),
        exec(ox, b't', 0o001, 0o1000),
    ];
    let mode = bits.iter().try_fold(0u32, |acc, bit| bit.map(|b| acc | b)).ok_or(UNRECOGNISED)?;
    let glued_links = match field.get(10..).unwrap_or_default() {
        [] | [b'+' | b'@' | b'.'] => None,
        [b'+' | b'@' | b'.', links @ ..] if links.iter().all(u8::is_ascii_digit) => Some(11),
        _ => return Err(UNRECOGNISED),
    };
    Ok(Perms { kind, mode, device: matches!(kind, b'c' | b'b'), glued_links })
}

/// `total 123` (`ls -l`'s block count; `total 12K` with `-h`).
fn is_total(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"total ") else {
        return false;
    };
    let rest = trim_spaces(rest);
    matches!(rest.first(), Some(b'0'..=b'9'))
        && rest
            .iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'K' | b'M' | b'G' | b'T' | b'P' | b'k'))
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ').map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Owner, group and size, read from the fields between the permissions and
/// the date.
struct Layout {
    owner: Option<Span>,
    group: Option<Span>,
    /// `None` for a device's `major, minor`.
    size: Option<Span>,
}

fn layout(line: &[u8], fields: &[Span], device: bool) -> Option<Layout> {
    let text = |s: &Span| s.of(line);
    let is_major = |s: &Span| text(s).strip_suffix(b",").is_some_and(is_digits);
    let is_pair = |s: &Span| {
        let t = text(s);
        t.iter().position(|&b| b == b',').is_some_and(|at| {
            is_digits(t.get(..at).unwrap_or_default()) && is_digits(t.get(at + 1..).unwrap_or_default())
        })
    };
    let (rest, size) = match fields {
        [rest @ .., major, minor] if device && is_major(major) && is_digits(text(minor)) => (rest, None),
        [rest @ .., pair] if device && is_pair(pair) => (rest, None),
        // `major, minor` on a type that is not a device is not a size.
        [.., major, _] if is_major(major) => return None,
        [rest @ .., size] if is_digits(text(size)) => (rest, Some(*size)),
        _ => return None,
    };
    let (owner, group) = match rest {
        [] => return None,
        [owner] => (*owner, None),
        [links, owner] if is_digits(text(links)) => (*owner, None),
        [links, owner, group @ ..] if is_digits(text(links)) => {
            let (first, last) = (group.first()?, group.last()?);
            (*owner, Some(Span { start: first.start, end: last.end }))
        }
        _ => return None,
    };
    Some(Layout { owner: Some(owner), group, size })
}

fn is_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// A decimal number of any length that fits in a `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    date::number(digits, usize::MAX)
}

/// A date whose fields have the right shape; their values are checked when
/// it is resolved.
struct DateShape {
    /// `None` for `Mon DD HH:MM`.
    year: Option<u16>,
    month: u8,
    day: u8,
    /// Hour, minute and maybe second; `None` for `Mon DD  YYYY`.
    clock: Option<(u8, u8, Option<u8>)>,
    /// Where the last field of the date ends.
    end: usize,
}

impl DateShape {
    fn resolve(&self, now: Timestamp) -> Result<ListingTime, ListingError> {
        let year = match self.year {
            Some(year) => year,
            None => {
                let mut year = date::resolve_year(self.month, self.day, now);
                // `Feb 29` without a year is in the latest leap year.
                if (self.month, self.day) == (2, 29) {
                    for _ in 0..8 {
                        if Timestamp::new(year, 2, 29, 0, 0, 0).is_ok() {
                            break;
                        }
                        year = year.saturating_sub(1);
                    }
                }
                year
            }
        };
        let (hour, minute, second, precision) = match self.clock {
            None => (0, 0, 0, Precision::Day),
            Some((hour, minute, None)) => (hour, minute, 0, Precision::Minute),
            Some((hour, minute, Some(second))) => (hour, minute, second, Precision::Second),
        };
        date::at(year, self.month, self.day, hour, minute, second, precision).ok_or(OUT_OF_RANGE)
    }
}

/// Reads `Mon DD HH:MM`, `Mon DD YYYY` or `YYYY-MM-DD HH:MM[:SS]` from the
/// start of `fields`, the month also as CJK servers write it (`3月 14`,
/// `3월 14일`, `3 月 14`, `03 14`) and the year with its mark (`2009年`).
fn date_shape(line: &[u8], fields: &[Span]) -> Option<DateShape> {
    let text = |s: &Span| s.of(line);
    let byte = |d: &[u8]| small(d).and_then(|v| u8::try_from(v).ok());
    match fields {
        [first, second, ..] if is_iso_date(text(first)) => {
            let d = text(first);
            Some(DateShape {
                year: Some(small(d.get(0..4)?)?),
                month: byte(d.get(5..7)?)?,
                day: byte(d.get(8..10)?)?,
                clock: Some(clock(text(second))?),
                end: second.end,
            })
        }
        // `3 月 14 12:00`: the month's number and its mark as two fields.
        [num, mark, day, last, ..] if is_month_mark(text(mark)) => {
            let month = byte(text(num)).filter(|m| (1..=12).contains(m))?;
            month_day_last(line, month, text(day), last)
        }
        [mon, day, last, ..] => month_day_last(line, month_token(text(mon))?, text(day), last),
        _ => None,
    }
}

/// `月` (Chinese, Japanese) and `월` (Korean): "month" after its number.
const MONTH_MARKS: [&[u8]; 2] = ["月".as_bytes(), "월".as_bytes()];
/// `日` and `일`: "day" after its number.
const DAY_MARKS: [&[u8]; 2] = ["日".as_bytes(), "일".as_bytes()];
/// `年` and `년`: "year" after its number.
const YEAR_MARKS: [&[u8]; 2] = ["年".as_bytes(), "년".as_bytes()];

fn is_month_mark(s: &[u8]) -> bool {
    MONTH_MARKS.contains(&s)
}

/// `s` without one of `marks` at its end, if it has one.
fn unmarked<'a>(s: &'a [u8], marks: &[&[u8]]) -> &'a [u8] {
    marks.iter().find_map(|m| s.strip_suffix(*m)).unwrap_or(s)
}

/// A month field: an English abbreviation (`Mar`, any case), a number with
/// a month mark (`3月`, `03월`: servers in a CJK locale), or a number
/// alone (`03`), 1 to 12.
fn month_token(s: &[u8]) -> Option<u8> {
    if let Some(m) = date::month(s) {
        return Some(m);
    }
    let digits = unmarked(s, &MONTH_MARKS);
    if !(1..=2).contains(&digits.len()) || !is_digits(digits) {
        return None;
    }
    small(digits).and_then(|v| u8::try_from(v).ok()).filter(|m| (1..=12).contains(m))
}

/// The day (one or two digits, maybe with a day mark) and the year (four
/// digits, maybe with a year mark) or `HH:MM` after a month.
fn month_day_last(line: &[u8], month: u8, day: &[u8], last: &Span) -> Option<DateShape> {
    let day = unmarked(day, &DAY_MARKS);
    if !(1..=2).contains(&day.len()) || !is_digits(day) {
        return None;
    }
    let last_text = unmarked(last.of(line), &YEAR_MARKS);
    let (year, clock) = if last_text.len() == 4 && is_digits(last_text) {
        (Some(small(last_text)?), None)
    } else {
        match clock(last.of(line))? {
            (hour, minute, None) => (None, Some((hour, minute, None))),
            _ => return None,
        }
    };
    let day = small(day).and_then(|v| u8::try_from(v).ok())?;
    Some(DateShape { year, month, day, clock, end: last.end })
}

/// `YYYY-MM-DD`.
fn is_iso_date(s: &[u8]) -> bool {
    s.len() == 10 && s.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

/// `H:MM`, `HH:MM` or `HH:MM:SS`.
fn clock(s: &[u8]) -> Option<(u8, u8, Option<u8>)> {
    let mut parts = s.split(|&b| b == b':');
    let hour = parts.next().filter(|h| (1..=2).contains(&h.len()))?;
    let minute = parts.next().filter(|m| m.len() == 2)?;
    let second = parts.next();
    if parts.next().is_some() || second.is_some_and(|s| s.len() != 2) {
        return None;
    }
    let byte = |d: &[u8]| small(d).and_then(|v| u8::try_from(v).ok());
    let second = match second {
        Some(s) => Some(byte(s)?),
        None => None,
    };
    Some((byte(hour)?, byte(minute)?, second))
}

/// A number of at most four digits.
fn small(digits: &[u8]) -> Option<u16> {
    date::number(digits, 4).and_then(|v| u16::try_from(v).ok())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn perm_string(type_letter: u8, mode: u32) -> [u8; 10] {
    let bit = |b: u32, c: u8| if mode & b != 0 { c } else { b'-' };
    let exec = |x: u32, special: u32, lower: u8| match (mode & x != 0, mode & special != 0) {
        (true, true) => lower,
        (false, true) => lower.to_ascii_uppercase(),
        (true, false) => b'x',
        (false, false) => b'-',
    };
    [
        type_letter,
        bit(0o400, b'r'),
        bit(0o200, b'w'),
        exec(0o100, 0o4000, b's'),
        bit(0o040, b'r'),
        bit(0o020, b'w'),
        exec(0o010, 0o2000, b's'),
        bit(0o004, b'r'),
        bit(0o002, b'w'),
        exec(0o001, 0o1000, b't'),
    ]
}

fn pad(out: &mut BytesMut, n: usize) {
    for _ in 0..n {
        out.extend_from_slice(b" ");
    }
}

/// An owner or group: one word, left-aligned in 8.
fn write_word(out: &mut BytesMut, word: Option<&[u8]>) {
    let word = match word {
        Some(w) if !w.is_empty() => w,
        _ => b"ftp",
    };
    for &b in word {
        let b = match b {
            b' ' | b'\t' => b'_',
            b'\r' | b'\n' => b'?',
            b => b,
        };
        out.extend_from_slice(&[b]);
    }
    pad(out, 8usize.saturating_sub(word.len()));
}

/// Bytes as they are, but CR and LF, which would end the line, as `?`.
fn write_line_safe(out: &mut BytesMut, s: &[u8]) {
    let mut rest = s;
    while let Some(at) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        out.extend_from_slice(b"?");
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

/// `Mon DD HH:MM` or `Mon DD  YYYY`.
fn write_date(out: &mut BytesMut, time: Option<ListingTime>, now: Timestamp) {
    let Some(time) = time else {
        out.extend_from_slice(b"Jan 01  1970");
        return;
    };
    let t = time.time();
    let month = MONTHS.get(usize::from(t.month()).wrapping_sub(1)).map_or(&b"Jan"[..], |m| &m[..]);
    out.extend_from_slice(month);
    out.extend_from_slice(b" ");
    out.extend_from_slice(&two_digits(t.day()));
    if time.precision() != Precision::Day && is_recent(t, now) {
        out.extend_from_slice(b" ");
        out.extend_from_slice(&two_digits(t.hour()));
        out.extend_from_slice(b":");
        out.extend_from_slice(&two_digits(t.minute()));
    } else {
        let y = t.year();
        // Four digits: Timestamp years are 0-9999.
        let digits = [(y / 1000 % 10) as u8, (y / 100 % 10) as u8, (y / 10 % 10) as u8, (y % 10) as u8];
        out.extend_from_slice(b"  ");
        out.extend_from_slice(&digits.map(|d| b'0' + d));
    }
}

fn two_digits(v: u8) -> [u8; 2] {
    [b'0' + v / 10 % 10, b'0' + v % 10]
}

/// Whether `ls` would print `t` as `Mon DD HH:MM` at `now` and a reader
/// resolving the year against `now` would get `t`'s year back.
fn is_recent(t: Timestamp, now: Timestamp) -> bool {
    let age = seconds(now) - seconds(t);
    (0..=RECENT_SECONDS).contains(&age) && date::resolve_year(t.month(), t.day(), now) == t.year()
}

/// Seconds since 1970-01-01 (negative before), ignoring leap seconds.
fn seconds(t: Timestamp) -> i64 {
    t.unix_seconds()
}

/// `v` in decimal, in the tail of `buf`.
fn format_decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

#[cfg(test)]
mod tests;
