//! `LIST` lines of OS/2 servers (IBM TCP/IP for OS/2 `ftpd`, the `dir`
//! style with the size first).
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{Fields, clock, count, fixed};
use super::{Entry, EntryKind, Format, ListingError, Precision, date};

/// Parses one line of an OS/2 FTP server listing:
///
/// ```text
/// line  = *SP size 1*SP [ attrs 1*SP ] [ "DIR" 1*SP ] date 1*SP time 1*SP name
/// attrs = 1*4( "A" / "H" / "R" / "S" )     ; archive, hidden, read-only, system
/// date  = MM "-" DD "-" ( YY / YYYY )      ; a two-digit year is 1970-2069
/// time  = HH ":" MM
/// ```
///
/// `     0           DIR   12-30-97   12:32  jbrekke`,
/// `587823    RSA    DIR   01-08-97   13:58  OS2KRNL`,
/// ` 33280      A          02-09-97   13:49  OS2LDR` (lines of Apache Commons
/// Net's `OS2FTPEntryParserTest`).
///
/// A line with `DIR` is a directory (its size, 0, is not a file size and is
/// left unset); any other is a file of that size. The time is the server's
/// local time, to the minute. The name is the rest of the line after the
/// blanks that follow the time, and may hold spaces.
///
/// # Errors
/// [`ListingError::Unrecognised`] outside the grammar (a size that is not
/// digits, attribute letters other than `AHRS`, a date that is not
/// `MM-DD-YY`, no name); [`ListingError::OutOfRange`] for an impossible
/// date or time (`13-01-99`, `25:00`) or a size beyond `u64`.
pub fn parse_os2(line: &Bytes) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::Os2);
    const RANGE: ListingError = ListingError::OutOfRange(Format::Os2);
    let s: &[u8] = line;
    let mut f = Fields::new(s);
    let size = count(&s[f.next().ok_or(BAD)?], Format::Os2)?;
    let mut field = f.next().ok_or(BAD)?;
    if is_attrs(&s[field.clone()]) {
        field = f.next().ok_or(BAD)?;
    }
    let dir = &s[field.clone()] == b"DIR";
    if dir {
        field = f.next().ok_or(BAD)?;
    }
    let (month, day, year) = mm_dd_yy(&s[field]).ok_or(BAD)?;
    let year = if year < 100 { date::two_digit_year(year) } else { year };
    let time_field = f.next().ok_or(BAD)?;
    let (hour, minute, _, has_seconds) = clock(&s[time_field], b':').ok_or(BAD)?;
    if has_seconds {
        return Err(BAD);
    }
    let name_start = f.rest();
    if name_start >= s.len() {
        return Err(BAD);
    }
    let modified = date::at(year, month, day, hour, minute, 0, Precision::Minute).ok_or(RANGE)?;
    let kind = if dir { EntryKind::Directory } else { EntryKind::File };
    let mut entry = Entry::parsed(line, Format::Os2, line.slice(name_start..), kind);
    entry.size = (!dir).then_some(size);
    entry.modified = Some(modified);
    Ok(entry)
}

/// One to four of the attribute letters, each once.
fn is_attrs(s: &[u8]) -> bool {
    (1..=4).contains(&s.len())
        && s.iter().all(|b| b"AHRS".contains(b))
        && s.iter().enumerate().all(|(i, b)| !s[..i].contains(b))
}

/// `MM-DD-YY` or `MM-DD-YYYY` as (month, day, year as written).
fn mm_dd_yy(s: &[u8]) -> Option<(u8, u8, u16)> {
    let mut parts = s.split(|&b| b == b'-');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (m, d, y) = (fixed(m, 2)?, fixed(d, 2)?, fixed(y, 2).or_else(|| fixed(y, 4))?);
    // Two digits fit in a u8.
    Some((m as u8, d as u8, y))
}

#[cfg(test)]
mod tests {
    use super::super::fields::testing::{at, b};
    use super::*;

    fn ok(line: &'static [u8]) -> Entry {
        parse_os2(&b(line)).unwrap_or_else(|e| panic!("{:?}: {e:?}", crate::text::Escaped(line)))
    }

    /// Apache Commons Net's `OS2FTPEntryParserTest`: `testParseFieldsOnDirectory`,
    /// `testParseFieldsOnFile` and lines of its good samples (the whole
    /// list is in `tests/listing_corpus.rs`).
    #[test]
    fn commons_net_os2_samples() {
        let e = ok(b"     0           DIR   11-28-97   09:42  PC");
        assert_eq!((e.name(), e.kind(), e.size()), (&b"PC"[..], &EntryKind::Directory, None));
        assert_eq!(e.modified(), at(1997, 11, 28, 9, 42, 0, Precision::Minute));
        let e = ok(b"5000000000      A          11-17-98   16:07  POPUPLOG.OS2");
        assert_eq!((e.name(), e.kind(), e.size()), (&b"POPUPLOG.OS2"[..], &EntryKind::File, Some(5_000_000_000)));
        assert_eq!(e.modified(), at(1998, 11, 17, 16, 7, 0, Precision::Minute));
        let e = ok(b"587823    RSA    DIR   01-08-97   13:58  OS2KRNL");
        assert_eq!((e.name(), e.kind()), (&b"OS2KRNL"[..], &EntryKind::Directory));
        let e = ok(b"     0           DIR   05-12-97   16:52  Maintenance Desktop");
        assert_eq!(e.name(), b"Maintenance Desktop");
        let e = ok(b"     0           DIR   05-19-2000 12:56  local");
        assert_eq!(e.modified(), at(2000, 5, 19, 12, 56, 0, Precision::Minute));
        let e = ok(b"   264               04-23-03   10:57  TOMS.TXT");
        assert_eq!((e.name(), e.size()), (&b"TOMS.TXT"[..], Some(264)));
        assert_eq!(e.format(), Format::Os2);
    }

    #[test]
    fn rejected_lines() {
        let bad = ListingError::Unrecognised(Format::Os2);
        let range = ListingError::OutOfRange(Format::Os2);
        for (line, want) in [
            (&b"  abc    A    04-23-03   10:57  X"[..], bad),
            (b"  264   AX    04-23-03   10:57  X", bad),
            (b"  264   AA    04-23-03   10:57  X", bad),
            (b"  264    A    2003-04-23   10:57  X", bad),
            (b"  264    A    04-23-03   10:57:01  X", bad),
            (b"  264    A    04-23-03   10:57", bad),
            (b"  264    A    04-23-03   10:57  ", bad),
            (b"  264    A    13-23-03   10:57  X", range),
            (b"  264    A    02-30-03   10:57  X", range),
            (b"  264    A    04-23-03   25:00  X", range),
            // A DOS/IIS line is not an OS/2 one.
            (b"04-27-00  09:09PM       <DIR>          licensed", bad),
        ] {
            assert_eq!(parse_os2(&b(line)), Err(want), "{:?}", crate::text::Escaped(line));
        }
    }
}
