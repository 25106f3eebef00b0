//! `LIST` lines of MVS (z/OS) servers: dataset and member lists.
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{all_digits, clock, fields, fixed};
use super::{Entry, EntryKind, Format, ListingError, Precision, date};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::fields::testing::{at, b};

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
}
