//! `LIST` lines of OS/400 (IBM i) servers, for the IFS and `QSYS.LIB`.
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{Fields, clock, count, fixed};
use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision, date};

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
/// is a file. A name that is a path (`RPGUNITC1.FILE/RUCALLTST.MBR`, a
/// member of a file) gives its last component as the name and the whole as
/// [`path`](Entry::path). Two-digit years are
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
    // A name that is a path (`RPGUNITC1.FILE/RUCALLTST.MBR`): the last
    // component is the name, the whole the path.
    let last = memchr::memrchr(b'/', &s[name_start..name_end]).map_or(name_start, |i| name_start + i + 1);
    if last == name_end {
        return Err(BAD);
    }
    let mut entry = Entry::parsed(line, Format::Os400, line.slice(last..name_end), kind);
    if last != name_start {
        entry.path = Some(line.slice(name_start..name_end));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::fields::testing::{at, b};

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
        // Issue 16: the name is the last component, the path kept apart.
        assert_eq!((e.name(), e.kind()), (&b"RUCALLTST.MBR"[..], &EntryKind::File));
        assert_eq!(e.path(), Some(&b"RPGUNITC1.FILE/RUCALLTST.MBR"[..]));
        assert_eq!((e.size(), e.modified()), (None, None));
        // DD.MM.YY (a *DMY job).
        let e = parse_os400(&b(b"QPGMR        16347136 29.06.13 15:45:09 *FILE      RPGUNIT.SAVF")).unwrap();
        assert_eq!(e.modified(), at(2013, 6, 29, 15, 45, 9, Precision::Second));
        // DD/MM/YY when the month-first reading is impossible.
        let e = parse_os400(&b(b"QSYS            77824 23/02/00 15:09:55 *DIR       QSYS.LIB/")).unwrap();
        assert_eq!(e.modified(), at(2000, 2, 23, 15, 9, 55, Precision::Second));
        // A full path: the last component is the name, the path kept.
        let e = parse_os400(&b(b"ZFTPDEV 9069 05/20/15 15:36:52 *STMF /DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF"))
            .unwrap();
        assert_eq!(e.name(), b"AUDWRK0204232015114625.PDF");
        assert_eq!(e.path(), Some(&b"/DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF"[..]));
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

    #[test]
    fn entries_are_slices_of_the_line() {
        let line = b(b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/");
        let e = parse_os400(&line).unwrap();
        let inside = |s: &[u8]| line.as_ptr_range().contains(&s.as_ptr());
        assert!(inside(e.name()) && inside(e.owner().unwrap()));
    }
}
