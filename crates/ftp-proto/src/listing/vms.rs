//! `LIST` lines of VMS servers (`DIRECTORY` output).
//!
//! Like every dialect parser here it checks each field it reads and refuses
//! the line otherwise: the dialects are tried one after the other on lines
//! of unknown origin, so a loose parser would turn another format's line
//! into a wrong entry.

use core::ops::Range;

use bytes::Bytes;

use super::fields::{Fields, all_digits, clock, count, fixed, is_blank};
use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision, date};
use crate::time::Timestamp;

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
/// - A file's version is a field of its own: `CII-MANUAL.TEX;1` is the
///   name `CII-MANUAL.TEX` (what `RETR` takes, for the newest version) with
///   [`version`](Entry::version) 1 (`RETR CII-MANUAL.TEX;1` for exactly
///   this one; a listing may show several versions of one file).
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
        if is_dir { (line.slice(..semi - 4), EntryKind::Directory) } else { (line.slice(..semi), EntryKind::File) };
    let mut entry = Entry::parsed(line, Format::Vms, name, kind);
    entry.version = core::str::from_utf8(&s[semi + 1..name_field.end]).ok().and_then(|v| v.parse().ok());
    entry.size = Some(size);
    entry.modified = Some(modified);
    entry.owner = owner;
    entry.group = group;
    entry.mode = mode;
    Ok(entry)
}

/// Where the `;` of a `NAME;VERSION` field is, when the field is one: a
/// non-empty name and a version of 1 to 5 digits (VMS versions go to 32767).
pub(super) fn vms_version_at(field: &[u8]) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::fields::testing::{at, b};

    #[test]
    fn vms_multinet_anonymous_listing() {
        let e = parse_vms(&b(b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)"))
            .unwrap();
        assert_eq!((e.name(), e.version()), (&b"CII-MANUAL.TEX"[..], Some(1)));
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
        assert_eq!((e.name(), e.version()), (&b"A."[..], Some(2)));
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
}
