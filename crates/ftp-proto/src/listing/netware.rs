//! `LIST` lines of Novell NetWare servers.
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{Fields, count, is_blank, month_day_year_or_clock};
use super::{Entry, EntryKind, Format, ListingError};
use crate::time::Timestamp;

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
    let modified = month_day_year_or_clock(&mut f, now, Format::NetWare)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Precision;
    use crate::listing::fields::testing::{at, b, ts};

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
}
