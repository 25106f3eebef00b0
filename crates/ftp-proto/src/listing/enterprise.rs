//! `LIST` lines of Sterling Commerce CONNECT:Enterprise for UNIX servers
//! (a file-transfer mailbox service that writes its own flags and the
//! protocol a file came by before the usual `ls -l` columns).
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{Fields, count, month_day_year_or_clock};
use super::{Entry, EntryKind, Format, ListingError};
use crate::time::Timestamp;

/// Parses one line of an Enterprise Unix FTP server listing:
///
/// ```text
/// line  = flags proto 1*SP class 1*SP owner 1*SP batch 1*SP size 1*SP
///         month 1*SP day 1*SP ( HH ":" MM / YYYY ) 1*SP name
/// flags = 10( "-" / %x41-5A )          ; ten of "-" and capital letters
/// proto = "FTP" / "TCP"                ; how the file arrived
/// class = %x41-5A                      ; one capital letter
/// ```
///
/// `-C--E-----FTP B QUA1I1      18128       41 Aug 12 13:56 QUADTEST`
/// (Apache Commons Net's `EnterpriseUnixFTPEntryParserTest`): the file
/// `QUADTEST` of 41 bytes, owner `QUA1I1`, batch `18128` (kept as the
/// group); `-ARTE-----TCP A cbeodm   22159   629629 Aug 06 05:47 PSEUDOFILENAME`
/// (Indy's list parser tests, from a CONNECT:Enterprise for UNIX 1.3.01
/// server).
///
/// Every entry is a file. A date without a year is resolved against `now`
/// as Unix dates are, to the minute; with a year, to the day; the time is
/// the server's local time. The flags are checked and left in
/// [`Entry::raw`]. The name is the rest of the line.
///
/// # Errors
/// [`ListingError::Unrecognised`] outside the grammar (flags that are not
/// ten of `-` and capitals, no `FTP`, a size that is not digits, no name);
/// [`ListingError::OutOfRange`] for an impossible date or a size beyond
/// `u64`.
pub fn parse_enterprise_unix(line: &Bytes, now: Timestamp) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::EnterpriseUnix);
    let s: &[u8] = line;
    let flags_ok = s.len() > 13
        && s[..10].iter().all(|&b| b == b'-' || b.is_ascii_uppercase())
        && matches!(&s[10..13], b"FTP" | b"TCP")
        && s[13] == b' ';
    if !flags_ok {
        return Err(BAD);
    }
    let mut f = Fields { s, pos: 13 };
    let class = &s[f.next().ok_or(BAD)?];
    if !matches!(class, [c] if c.is_ascii_uppercase()) {
        return Err(BAD);
    }
    let owner = f.next().ok_or(BAD)?;
    let group = f.next().ok_or(BAD)?;
    let size = count(&s[f.next().ok_or(BAD)?], Format::EnterpriseUnix)?;
    let modified = month_day_year_or_clock(&mut f, now, Format::EnterpriseUnix)?;
    let name_start = f.rest();
    if name_start == s.len() {
        return Err(BAD);
    }
    let mut entry = Entry::parsed(line, Format::EnterpriseUnix, line.slice(name_start..), EntryKind::File);
    entry.owner = Some(line.slice(owner));
    entry.group = Some(line.slice(group));
    entry.size = Some(size);
    entry.modified = Some(modified);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::super::Precision;
    use super::super::fields::testing::{at, b, ts};
    use super::*;

    /// Apache Commons Net's `EnterpriseUnixFTPEntryParserTest` samples.
    #[test]
    fn commons_net_enterprise_unix_samples() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let e = parse_enterprise_unix(&b(b"-C--E-----FTP B QUA1I1      18128       41 Aug 12 13:56 QUADTEST"), now)
            .unwrap();
        assert_eq!((e.name(), e.kind(), e.size()), (&b"QUADTEST"[..], &EntryKind::File, Some(41)));
        assert_eq!((e.owner(), e.group()), (Some(&b"QUA1I1"[..]), Some(&b"18128"[..])));
        assert_eq!(e.modified(), at(2023, 8, 12, 13, 56, 0, Precision::Minute));
        let e =
            parse_enterprise_unix(&b(b"-C--E-----FTP A QUA1I1      18128       41 Apr 1 2014 QUADTEST3"), now).unwrap();
        assert_eq!(e.modified(), at(2014, 4, 1, 0, 0, 0, Precision::Day));
        assert_eq!(e.format(), Format::EnterpriseUnix);
        // Indy's tests (a CONNECT:Enterprise for UNIX 1.3.01 server).
        let line = b"-ARTE-----TCP A cbeodm   22159   629629 Aug 06 05:47 PSEUDOFILENAME";
        let e = parse_enterprise_unix(&b(line), now).unwrap();
        assert_eq!((e.name(), e.size(), e.owner()), (&b"PSEUDOFILENAME"[..], Some(629_629), Some(&b"cbeodm"[..])));
    }

    #[test]
    fn rejected_lines() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let bad = Err(ListingError::Unrecognised(Format::EnterpriseUnix));
        for line in [
            &b"zrwxr-xr-x   2 root     root         4096 Mar  2 15:13 zxbox"[..],
            b"-C--E-----FTX B QUA1I1      18128       41 Aug 12 13:56 QUADTEST",
            b"-c--E-----FTP B QUA1I1      18128       41 Aug 12 13:56 QUADTEST",
            b"-C--E-----FTP BB QUA1I1      18128       41 Aug 12 13:56 QUADTEST",
            b"-C--E-----FTP B QUA1I1      18128       4x1 Aug 12 13:56 QUADTEST",
            b"-C--E-----FTP B QUA1I1      18128       41 Aug 12 13:56",
            b"-C--E-----FTP B QUA1I1      18128       41 Jam 12 13:56 QUADTEST",
        ] {
            assert_eq!(parse_enterprise_unix(&b(line), now), bad, "{:?}", crate::text::Escaped(line));
        }
        let range = Err(ListingError::OutOfRange(Format::EnterpriseUnix));
        assert_eq!(parse_enterprise_unix(&b(b"-C--E-----FTP B Q 1 41 Feb 30 13:56 X"), now), range);
    }
}
