//! Windows/IIS/DOS `dir`-style listing lines.

use bytes::Bytes;

use super::date;
use super::{Entry, EntryKind, Format, ListingError, Precision};

const UNRECOGNISED: ListingError = ListingError::Unrecognised(Format::Dos);
const OUT_OF_RANGE: ListingError = ListingError::OutOfRange(Format::Dos);

/// How many spaces IIS writes after `<DIR>` before the name: more belong to
/// the name.
const DIR_PADDING: usize = 10;

/// Parses one Windows/DOS style line, as sent for `LIST` by Microsoft IIS
/// (its default "MS-DOS" directory listing style, with two- or four-digit
/// years), Windows CE (24-hour clock) and other Windows servers imitating
/// `dir`.
///
/// Grammar (fields separated by one or more spaces):
///
/// ```text
/// line  = date SP+ time SP+ ( "<DIR>" 1*10SP | size SP ) name
/// date  = MM "-" DD "-" (YY | YYYY)        ; "/" also accepted, consistently
/// time  = HH ":" MM [ ["SP"] ("AM" | "PM") ] ; 12-hour with AM/PM, else 24-hour
/// size  = 1*DIGIT | 1*3DIGIT 1*("," 3DIGIT) ; thousands separators allowed
/// name  = the rest of the line, kept exactly
/// ```
///
/// IIS pads `<DIR>` with ten spaces so that names line up with the names of
/// files: up to ten spaces after `<DIR>` are the separator and any more
/// belong to the name; after a size the name starts after exactly one space.
/// Two-digit years 70-99 are 19xx and 00-69 20xx. Times are the server's
/// local time, to the minute. Directories have no size.
///
/// # Errors
/// [`ListingError::OutOfRange`] for an impossible date or time (`02-30-24`,
/// `13:00PM`, `24:00`) or a size beyond `u64`; [`ListingError::NotAnEntry`]
/// for a blank line; [`ListingError::Unrecognised`] for anything else that is
/// not such a line (day-first dates like `20-05-97` are out of range).
pub fn parse_dos(line: &Bytes) -> Result<Entry, ListingError> {
    let bytes: &[u8] = line;
    if bytes.iter().all(|&b| b == b' ' || b == b'\t') {
        return Err(ListingError::NotAnEntry);
    }
    let mut at = 0;
    let date_field = next_field(bytes, &mut at).ok_or(UNRECOGNISED)?;
    let (month, day, year) = parse_date(date_field).ok_or(UNRECOGNISED)?;
    let time_field = next_field(bytes, &mut at).ok_or(UNRECOGNISED)?;
    let (mut hour, minute, mut meridiem) = parse_time(time_field).ok_or(UNRECOGNISED)?;
    let mut field = next_field(bytes, &mut at).ok_or(UNRECOGNISED)?;
    if meridiem.is_none()
        && let Some(m) = meridiem_of(field)
    {
        meridiem = Some(m);
        field = next_field(bytes, &mut at).ok_or(UNRECOGNISED)?;
    }
    if let Some(pm) = meridiem {
        if !(1..=12).contains(&hour) {
            return Err(OUT_OF_RANGE);
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }

    let (kind, size, name_start) = if field == b"<DIR>" {
        let spaces = bytes.get(at..).unwrap_or_default().iter().take(DIR_PADDING).take_while(|&&b| b == b' ').count();
        if spaces == 0 {
            return Err(UNRECOGNISED);
        }
        (EntryKind::Directory, None, at + spaces)
    } else {
        let size = parse_size(field)?;
        if bytes.get(at) != Some(&b' ') {
            return Err(UNRECOGNISED);
        }
        (EntryKind::File, Some(size), at + 1)
    };
    if name_start >= bytes.len() {
        return Err(UNRECOGNISED);
    }
    let modified = date::at(year, month, day, hour, minute, 0, Precision::Minute).ok_or(OUT_OF_RANGE)?;

    let mut entry = Entry::parsed(line, Format::Dos, line.slice(name_start..), kind);
    entry.size = size;
    entry.modified = Some(modified);
    Ok(entry)
}

/// The next space-separated field from `*at`, moving `*at` past it.
fn next_field<'a>(line: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = line.get(*at..)?;
    let start = *at + rest.iter().position(|&b| b != b' ')?;
    let rest = line.get(start..)?;
    let end = start + rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    *at = end;
    line.get(start..end)
}

/// `MM-DD-YY`, `MM-DD-YYYY` (or with `/`) to (month, day, year).
fn parse_date(field: &[u8]) -> Option<(u8, u8, u16)> {
    let sep = *field.iter().find(|&&b| b == b'-' || b == b'/')?;
    let mut parts = field.split(|&b| b == sep);
    let (Some(m), Some(d), Some(y), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return None;
    }
    let year = match y.len() {
        2 => date::two_digit_year(number(y)?),
        4 => number(y)?,
        _ => return None,
    };
    Some((number(m)?.try_into().ok()?, number(d)?.try_into().ok()?, year))
}

/// `HH:MM`, `HH:MMAM` or `HH:MMPM` to (hour, minute, Some(is PM)).
fn parse_time(field: &[u8]) -> Option<(u8, u8, Option<bool>)> {
    let (clock, meridiem) = match field.len().checked_sub(2).and_then(|at| field.split_at_checked(at)) {
        Some((clock, suffix)) if meridiem_of(suffix).is_some() => (clock, meridiem_of(suffix)),
        _ => (field, None),
    };
    let (h, m) = clock.split_at_checked(clock.iter().position(|&b| b == b':')?)?;
    let m = m.get(1..)?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    Some((number(h)?.try_into().ok()?, number(m)?.try_into().ok()?, meridiem))
}

/// `AM` or `PM` (any case) to whether it is PM.
fn meridiem_of(field: &[u8]) -> Option<bool> {
    if field.eq_ignore_ascii_case(b"AM") {
        Some(false)
    } else if field.eq_ignore_ascii_case(b"PM") {
        Some(true)
    } else {
        None
    }
}

/// A size, plain or with `,` thousands separators.
fn parse_size(field: &[u8]) -> Result<u64, ListingError> {
    let mut groups = field.split(|&b| b == b',');
    let first = groups.next().unwrap_or_default();
    let grouped = field.contains(&b',');
    let well_formed = !first.is_empty()
        && first.iter().all(u8::is_ascii_digit)
        && (!grouped || first.len() <= 3)
        && groups.all(|g| g.len() == 3 && g.iter().all(u8::is_ascii_digit));
    if !well_formed {
        return Err(UNRECOGNISED);
    }
    field
        .iter()
        .filter(|&&b| b != b',')
        .try_fold(0u64, |acc, &d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
        .ok_or(OUT_OF_RANGE)
}

/// A number of at most four digits.
fn number(digits: &[u8]) -> Option<u16> {
    date::number(digits, 4).and_then(|v| u16::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Entry, ListingError> {
        parse_dos(&Bytes::copy_from_slice(line.as_bytes()))
    }

    fn ok(line: &str) -> Entry {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
    }

    fn time(e: &Entry) -> (u16, u8, u8, u8, u8) {
        let m = e.modified().unwrap();
        assert_eq!(m.precision(), Precision::Minute);
        let t = m.time();
        (t.year(), t.month(), t.day(), t.hour(), t.minute())
    }

    #[test]
    fn iis_ms_dos_style_two_digit_years() {
        // ftpparse.c ("MSDOS format") and jlaffaye/ftp parse_test.go.
        let e = ok("04-27-00  09:09PM       <DIR>          licensed");
        assert_eq!((e.name(), e.kind(), e.size()), (&b"licensed"[..], &EntryKind::Directory, None));
        assert_eq!(time(&e), (2000, 4, 27, 21, 9));
        assert_eq!(e.format(), Format::Dos);
        let e = ok("04-14-00  03:47PM                  589 readme.htm");
        assert_eq!((e.name(), e.kind(), e.size()), (&b"readme.htm"[..], &EntryKind::File, Some(589)));
        assert_eq!(time(&e), (2000, 4, 14, 15, 47));
        let e = ok("08-07-15  07:50PM                  718 Post_PRR_20150901_1166_265118_13049.dat");
        assert_eq!(time(&e), (2015, 8, 7, 19, 50));
        let e = ok("08-10-15  02:04PM       <DIR>          Billing");
        assert_eq!(e.name(), b"Billing");
        // A pydio issue #267 Windows_NT server.
        let e = ok("08-19-13  05:14PM                    0 test.txt");
        assert_eq!((e.size(), time(&e)), (Some(0), (2013, 8, 19, 17, 14)));
    }

    #[test]
    fn iis_twelve_oclock_and_old_years() {
        // commons-net NTFTPEntryParserTest.
        let e = ok("05-22-97  12:08AM                  5000000000 AUTOEXEC.BAK");
        assert_eq!((e.size(), time(&e)), (Some(5_000_000_000), (1997, 5, 22, 0, 8)));
        let e = ok("05-26-95  10:57AM               143712 $LDR$");
        assert_eq!((e.name(), time(&e)), (&b"$LDR$"[..], (1995, 5, 26, 10, 57)));
        let e = ok("12-03-96  06:38PM       <DIR>          123 abc xyz");
        assert_eq!((e.name(), time(&e)), (&b"123 abc xyz"[..], (1996, 12, 3, 18, 38)));
        let e = ok("01-22-98  12:52PM                  795 AUTOEXEC.BAT");
        assert_eq!(time(&e).3, 12);
    }

    #[test]
    fn iis_four_digit_years() {
        // commons-net; IIS with the FourDigitYears setting.
        let e = ok("05-26-1995  10:57AM               143712 $LDR$");
        assert_eq!((e.size(), time(&e)), (Some(143_712), (1995, 5, 26, 10, 57)));
        let e = ok("02-03-2014  02:32PM       <DIR>          aspnet_client");
        assert_eq!((e.name(), time(&e)), (&b"aspnet_client"[..], (2014, 2, 3, 14, 32)));
    }

    #[test]
    fn windows_ce_24_hour_clock() {
        // commons-net NTFTPEntryParserTest (Windows CE).
        let e = ok("12-05-96  17:03         <DIR>          absoft2");
        assert_eq!((e.name(), time(&e)), (&b"absoft2"[..], (1996, 12, 5, 17, 3)));
        let e = ok("09-13-10  13:08                   23 Control Panel.lnk");
        assert_eq!((e.name(), e.size()), (&b"Control Panel.lnk"[..], Some(23)));
        let e = ok("09-13-10  13:08       <DIR>          My Documents");
        assert_eq!(e.name(), b"My Documents");
        let e = ok("05-22-97  12:08                  5000000000 10 years and under");
        assert_eq!((e.name(), time(&e)), (&b"10 years and under"[..], (1997, 5, 22, 12, 8)));
    }

    #[test]
    fn names_keep_spaces_beyond_the_padding() {
        // IIS pads <DIR> with exactly ten spaces: an eleventh is the name's.
        let e = ok("12-03-96  06:38PM       <DIR>           leading space");
        assert_eq!(e.name(), b" leading space");
        let e = ok("12-03-96  06:38PM                  12  two leading");
        assert_eq!(e.name(), b" two leading");
        let e = ok("12-03-96  06:38PM       <DIR> short padding");
        assert_eq!(e.name(), b"short padding");
        let e = ok("12-03-96  06:38PM                  12 trailing  ");
        assert_eq!(e.name(), b"trailing  ");
    }

    #[test]
    fn thousands_separators_and_separate_meridiem() {
        let e = ok("03-01-2024  09:15 AM        1,234,567 video.mp4");
        assert_eq!((e.size(), time(&e)), (Some(1_234_567), (2024, 3, 1, 9, 15)));
        let e = ok("03/01/2024  11:59PM               999 slashes.txt");
        assert_eq!(time(&e), (2024, 3, 1, 23, 59));
        assert_eq!(ok("03-01-24  12:00am    18,446,744,073,709,551,615 big").size(), Some(u64::MAX));
    }

    #[test]
    fn zero_copy_name() {
        let line = Bytes::from_static(b"04-27-00  09:09PM       <DIR>          licensed");
        let e = parse_dos(&line).unwrap();
        assert!(line.as_ptr_range().contains(&e.name().as_ptr()));
        assert_eq!(e.raw(), &line[..]);
    }

    #[test]
    fn rejected_lines() {
        for (line, error) in [
            // commons-net bad samples: day first, and an OS/2 line.
            ("20-05-97  03:31PM                  681 .bash_history", OUT_OF_RANGE),
            ("     0           DIR   05-19-97   12:56  local", UNRECOGNISED),
            ("02-30-24  10:00AM                  1 impossible", OUT_OF_RANGE),
            ("02-28-24  13:00PM                  1 late", OUT_OF_RANGE),
            ("02-28-24  00:10AM                  1 zero", OUT_OF_RANGE),
            ("02-28-24  24:00                    1 midnight", OUT_OF_RANGE),
            ("02-28-24  10:60                    1 minute", OUT_OF_RANGE),
            ("02-28-24  10:00AM   18446744073709551616 too big", OUT_OF_RANGE),
            ("02-28-24  10:00AM   1,23,456 bad grouping", UNRECOGNISED),
            ("02-28-24  10:00AM   ,123 bad grouping", UNRECOGNISED),
            ("02-28-24  10:00AM   1234,567 bad grouping", UNRECOGNISED),
            ("02-28-24  10:00AM   <JUNCTION>     Documents", UNRECOGNISED),
            ("02-28-24  10:00AM                  1", UNRECOGNISED),
            ("02-28-24  10:00AM                  1 ", UNRECOGNISED),
            ("02-28-24  10:00AM       <DIR>", UNRECOGNISED),
            ("02-28-24  10:00AM       <DIR>          ", UNRECOGNISED),
            ("02-28-241  10:00AM                 1 year", UNRECOGNISED),
            ("02-28/24  10:00AM                  1 mixed", UNRECOGNISED),
            ("02-28-24  1000AM                   1 colon", UNRECOGNISED),
            ("-rw-r--r--   1 root     other        531 Jan 29 03:26 README", UNRECOGNISED),
            ("+i8388621.29609,m824255902,/,\tdev", UNRECOGNISED),
            ("", ListingError::NotAnEntry),
        ] {
            assert_eq!(parse(line).unwrap_err(), error, "{line}");
        }
    }

    #[test]
    fn no_panic_on_prefixes_of_real_lines() {
        let line = b"05-26-1995  10:57AM               143712 $LDR$";
        for end in 0..=line.len() {
            let _ = parse_dos(&Bytes::copy_from_slice(&line[..end]));
        }
    }
}
