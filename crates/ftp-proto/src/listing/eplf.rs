//! EPLF, D. J. Bernstein's Easily Parsed LIST Format
//! (<https://cr.yp.to/ftp/list/eplf.html>).

use bytes::Bytes;

use super::date;
use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision};

const UNRECOGNISED: ListingError = ListingError::Unrecognised(Format::Eplf);
const OUT_OF_RANGE: ListingError = ListingError::OutOfRange(Format::Eplf);

/// The last second a [`Timestamp`](crate::Timestamp) can hold, 9999-12-31 23:59:59 UTC, in
/// seconds since 1970.
const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// Parses one EPLF line, as sent for `LIST` by publicfile, anonftpd and
/// other servers following D. J. Bernstein's format.
///
/// Grammar:
///
/// ```text
/// line = "+" *(fact ",") TAB name
/// fact = "/"              ; CWD may succeed: a directory
///      | "r"              ; RETR may succeed: a file
///      | "s" 1*DIGIT      ; size in bytes
///      | "m" 1*DIGIT      ; modification time, seconds since 1970-01-01 UTC
///      | "i" 1*BYTE       ; an identifier unique on the server
///      | "up" 1*OCTDIGIT  ; Unix permission bits, as for chmod
///      | anything else    ; ignored, as the spec requires
/// name = the rest of the line after the first tab, kept exactly
/// ```
///
/// A fact is zero or more bytes without tab or comma; a last fact not ended
/// by a comma before the tab is read as well. An entry with the `/` fact is
/// a directory, any other a file (the spec's `r` says only that `RETR` may
/// succeed). The time is UTC, to the second; the identifier goes to
/// [`Entry::unique`], the permissions to [`Entry::mode`].
///
/// # Errors
/// [`ListingError::OutOfRange`] for a size beyond `u64`, a time after the
/// year 9999 or permissions above `7777`; [`ListingError::NotAnEntry`] for a
/// blank line; [`ListingError::Unrecognised`] for a line that does not start
/// with `+`, has no tab or no name, or has a known fact that is malformed
/// (`s12k`, `m`, `up9`).
pub fn parse_eplf(line: &Bytes) -> Result<Entry, ListingError> {
    let bytes: &[u8] = line;
    if bytes.iter().all(|&b| b == b' ' || b == b'\t') {
        return Err(ListingError::NotAnEntry);
    }
    let Some(rest) = bytes.strip_prefix(b"+") else {
        return Err(UNRECOGNISED);
    };
    let tab = rest.iter().position(|&b| b == b'\t').ok_or(UNRECOGNISED)?;
    let (facts, name) = (rest.get(..tab).unwrap_or_default(), rest.get(tab + 1..).unwrap_or_default());
    if name.is_empty() {
        return Err(UNRECOGNISED);
    }

    let mut directory = false;
    let mut size = None;
    let mut modified = None;
    let mut unique = None;
    let mut mode = None;
    for fact in facts.split(|&b| b == b',') {
        match fact {
            b"/" => directory = true,
            [b's', digits @ ..] => size = Some(decimal(digits)?),
            [b'm', digits @ ..] => modified = Some(unix_time(decimal(digits)?)?),
            [b'i', id @ ..] if !id.is_empty() => unique = Some(line.slice_ref(id)),
            [b'u', b'p', octal @ ..] => mode = Some(permissions(octal)?),
            _ => {}
        }
    }

    let kind = if directory { EntryKind::Directory } else { EntryKind::File };
    let mut entry = Entry::parsed(line, Format::Eplf, line.slice_ref(name), kind);
    entry.size = size;
    entry.modified = modified;
    entry.unique = unique;
    entry.mode = mode;
    Ok(entry)
}

fn decimal(digits: &[u8]) -> Result<u64, ListingError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(UNRECOGNISED);
    }
    date::number(digits, usize::MAX).ok_or(OUT_OF_RANGE)
}

fn permissions(octal: &[u8]) -> Result<u32, ListingError> {
    if octal.is_empty() || !octal.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return Err(UNRECOGNISED);
    }
    octal
        .iter()
        .try_fold(0u32, |acc, &d| acc.checked_mul(8)?.checked_add(u32::from(d - b'0')))
        .filter(|&mode| mode <= 0o7777)
        .ok_or(OUT_OF_RANGE)
}

/// Seconds since 1970-01-01 UTC to a UTC time to the second.
fn unix_time(seconds: u64) -> Result<ListingTime, ListingError> {
    if seconds > MAX_UNIX_SECONDS {
        return Err(OUT_OF_RANGE);
    }
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    // Each value is in range by construction; `at` checks anyway.
    let narrow = |v: u64| u8::try_from(v).map_err(|_| OUT_OF_RANGE);
    date::at(year, month, day, narrow(hour)?, narrow(minute)?, narrow(second)?, Precision::Second)
        .map(|t| ListingTime::utc(t.time(), t.precision()))
        .ok_or(OUT_OF_RANGE)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard
/// Hinnant's `civil_from_days`, for days on or after 1970).
pub(super) fn civil_from_days(days: u64) -> (u16, u8, u8) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era.saturating_mul(400).saturating_add(year_of_era + u64::from(month <= 2));
    // Callers keep `days` within the years a Timestamp holds; saturate anyway.
    (u16::try_from(year).unwrap_or(u16::MAX), month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::time::days_from_civil;

    fn parse(line: &[u8]) -> Result<Entry, ListingError> {
        parse_eplf(&Bytes::copy_from_slice(line))
    }

    fn ok(line: &[u8]) -> Entry {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
    }

    fn time(e: &Entry) -> (u16, u8, u8, u8, u8, u8) {
        let m = e.modified().unwrap();
        assert_eq!(m.precision(), Precision::Second);
        let t = m.time();
        (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
    }

    #[test]
    fn eplf_spec_examples() {
        // The two lines of the spec's example (and ftpparse.c's).
        let e = ok(b"+i8388621.29609,m824255902,/,\tdev");
        assert_eq!((e.name(), e.kind()), (&b"dev"[..], &EntryKind::Directory));
        assert_eq!(e.unique(), Some(&b"8388621.29609"[..]));
        assert_eq!(time(&e), (1996, 2, 13, 23, 58, 22));
        assert_eq!((e.size(), e.mode(), e.format()), (None, None, Format::Eplf));

        let e = ok(b"+i8388621.44468,m839956783,r,s10376,\tRFCEPLF");
        assert_eq!((e.name(), e.kind()), (&b"RFCEPLF"[..], &EntryKind::File));
        assert_eq!(e.size(), Some(10376));
        assert_eq!(e.unique(), Some(&b"8388621.44468"[..]));
        assert_eq!(time(&e), (1996, 8, 13, 17, 19, 43));
    }

    #[test]
    fn publicfile_permissions_fact() {
        // publicfile writes "up" with the file's permission bits.
        let e = ok(b"+i8388621.48594,m825718503,r,s280,up644,\tdjb.html");
        assert_eq!((e.mode(), e.size()), (Some(0o644), Some(280)));
        assert_eq!(ok(b"+/,up4755,\tx").mode(), Some(0o4755));
    }

    #[test]
    fn unknown_and_empty_facts_are_ignored() {
        let e = ok(b"+r,,xyz,s1,q,\tname with spaces and\ttab");
        assert_eq!(e.name(), b"name with spaces and\ttab");
        assert_eq!(e.size(), Some(1));
        // No facts at all; a last fact without its comma.
        let e = ok(b"+\tbare");
        assert_eq!((e.name(), e.kind(), e.modified()), (&b"bare"[..], &EntryKind::File, None));
        assert_eq!(ok(b"+/,s5\td").size(), Some(5));
        assert_eq!(ok(b"+i,\tx").unique(), None);
    }

    #[test]
    fn zero_copy() {
        let line = Bytes::from_static(b"+i8388621.29609,m824255902,/,\tdev");
        let e = parse_eplf(&line).unwrap();
        let within = |s: &[u8]| line.as_ptr_range().contains(&s.as_ptr());
        assert!(within(e.name()) && within(e.unique().unwrap()));
        assert_eq!(e.raw(), &line[..]);
    }

    #[test]
    fn time_limits() {
        assert_eq!(time(&ok(b"+m0,\tepoch")), (1970, 1, 1, 0, 0, 0));
        assert_eq!(time(&ok(b"+m951782400,\tleap")), (2000, 2, 29, 0, 0, 0));
        assert_eq!(time(&ok(b"+m253402300799,\tlast")), (9999, 12, 31, 23, 59, 59));
        assert_eq!(parse(b"+m253402300800,\ttoo late").unwrap_err(), OUT_OF_RANGE);
        assert_eq!(parse(b"+m99999999999999999999999,\tway too late").unwrap_err(), OUT_OF_RANGE);
    }

    #[test]
    fn rejected_lines() {
        for (line, error) in [
            (&b"+i8388621.29609,m824255902,/,dev"[..], UNRECOGNISED),
            (b"+i8388621.29609,m824255902,/,\t", UNRECOGNISED),
            (b"i8388621.29609,m824255902,/,\tdev", UNRECOGNISED),
            (b"+s12k,\tfile", UNRECOGNISED),
            (b"+s,\tfile", UNRECOGNISED),
            (b"+m-5,\tfile", UNRECOGNISED),
            (b"+up9,\tfile", UNRECOGNISED),
            (b"+up,\tfile", UNRECOGNISED),
            (b"+up17777,\tfile", OUT_OF_RANGE),
            (b"+s18446744073709551616,\tfile", OUT_OF_RANGE),
            (b"-rw-r--r--   1 root     other        531 Jan 29 03:26 README", UNRECOGNISED),
            (b"04-27-00  09:09PM       <DIR>          licensed", UNRECOGNISED),
            (b"", ListingError::NotAnEntry),
        ] {
            assert_eq!(parse(line).unwrap_err(), error, "{line:?}");
        }
    }

    #[test]
    fn civil_conversion_round_trips() {
        for days in (0..2_932_897u64).step_by(997).chain([0, 59, 60, 11_016, 11_017, 2_932_896]) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days as i64, "{days} -> {y}-{m}-{d}");
            assert!(Timestamp::new(y, m, d, 0, 0, 0).is_ok());
        }
    }

    #[test]
    fn no_panic_on_prefixes() {
        let line = b"+i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF";
        for end in 0..=line.len() {
            let _ = parse(&line[..end]);
        }
    }
}
