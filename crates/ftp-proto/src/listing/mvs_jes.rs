//! `LIST` lines of z/OS servers in JES mode (`SITE FILETYPE=JES`): the
//! jobs on the spool, at JES interface level 1 and 2.
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{all_digits, fields};
use super::{Entry, EntryKind, Format, ListingError};

/// Parses one line of a z/OS FTP server's job list in JES mode, as IBM's
/// z/OS Communications Server sends it:
///
/// ```text
/// level 1 = jobname 1*SP jobid 1*SP status [ 1*SP count 1*SP "Spool" 1*SP "Files" ]
/// level 2 = jobname 1*SP jobid 1*SP owner 1*SP status 1*SP class
///           [ 1*SP ( "RC=" 1*DIGIT / "ABEND=" 1*ALNUM / "(JCL error)" ... ) ]
///           [ 1*SP count 1*SP "spool" 1*SP "files" ]
/// header  = "JOBNAME" 1*SP "JOBID" 1*SP "OWNER" 1*SP "STATUS" 1*SP "CLASS"
/// jobid   = ( "JOB" / "TSU" / "STC" ) 5DIGIT / ( "J" / "T" / "S" ) 7DIGIT
/// status  = "INPUT" / "HELD" / "ACTIVE" / "OUTPUT"
/// ```
///
/// `IBMUSER1  JOB01906  OUTPUT    3 Spool Files` (level 1),
/// `IBMUSER2 JOB01906 IBMUSER  OUTPUT A        RC=0000 3 spool files`
/// (level 2; the lines of Apache Commons Net's `MVSFTPEntryParserTest`).
///
/// The entry's name is the job id, which `RETR` takes to fetch the job's
/// output (`RETR JOB01906` or `RETR JOB01906.2` for one spool file); its
/// kind is a file. The job name, status, class, return code and spool file
/// count are kept as [`facts`](Entry::facts) `jobname`, `status`, `class`,
/// `retcode` and `spool-files`; the owner (level 2) as the owner. A job has
/// no size and no time in these lists.
///
/// # Errors
/// [`ListingError::NotAnEntry`] for the level 2 header and for the lines
/// that describe one job's spool files (`--------`, the `ID STEPNAME`
/// header, `3 spool files`); [`ListingError::Unrecognised`] for anything
/// else out of the grammar (a job id that is not one, an unknown status).
pub fn parse_mvs_jes(line: &Bytes) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::MvsJes);
    let s: &[u8] = line;
    let (t, n) = fields::<12>(s).ok_or(BAD)?;
    let word = |i: usize| &s[t[i].clone()];
    if n == 0 || is_detail_line(s, &t[..n]) {
        return Err(ListingError::NotAnEntry);
    }
    if n < 3 || t[0].start != 0 || !is_job_name(word(0)) || !is_job_id(word(1)) {
        return Err(BAD);
    }
    let mut facts = alloc::vec![(Bytes::from_static(b"jobname"), line.slice(t[0].clone()))];
    let mut owner = None;
    // Level 1: the status is the third field; level 2: owner, status, class.
    let rest = if is_status(word(2)) {
        facts.push((Bytes::from_static(b"status"), line.slice(t[2].clone())));
        3
    } else if n >= 5 && is_job_name(word(2)) && is_status(word(3)) {
        owner = Some(line.slice(t[2].clone()));
        facts.push((Bytes::from_static(b"status"), line.slice(t[3].clone())));
        facts.push((Bytes::from_static(b"class"), line.slice(t[4].clone())));
        5
    } else {
        return Err(BAD);
    };
    let mut i = rest;
    if i < n && owner.is_some() && !all_digits(word(i)) {
        // RC=0000, ABEND=522, CC=0004, or a word such as "(JCL" "error)".
        let end = (i..n).find(|&j| all_digits(word(j))).unwrap_or(n);
        facts.push((Bytes::from_static(b"retcode"), line.slice(t[i].start..t[end - 1].end)));
        i = end;
    }
    match &t[i..n] {
        [] => {}
        [count, spool, files]
            if all_digits(&s[count.clone()])
                && s[spool.clone()].eq_ignore_ascii_case(b"spool")
                && s[files.clone()].eq_ignore_ascii_case(b"files") =>
        {
            facts.push((Bytes::from_static(b"spool-files"), line.slice(count.clone())));
        }
        _ => return Err(BAD),
    }
    let mut entry = Entry::parsed(line, Format::MvsJes, line.slice(t[1].clone()), EntryKind::File);
    entry.owner = owner;
    entry.facts = facts;
    Ok(entry)
}

/// The level 2 header and the lines that describe a job's spool files.
fn is_detail_line(s: &[u8], t: &[core::ops::Range<usize>]) -> bool {
    let word = |i: usize| t.get(i).map_or(&b""[..], |r| &s[r.clone()]);
    let header = word(0) == b"JOBNAME" && word(1) == b"JOBID";
    let rule = t.len() == 1 && word(0).len() >= 4 && word(0).iter().all(|&b| b == b'-');
    let spool_header = word(0) == b"ID" && word(1) == b"STEPNAME";
    let count = t.len() == 3 && all_digits(word(0)) && word(1).eq_ignore_ascii_case(b"spool");
    // `001 JES2  A JESMSGLG  1200`: one spool file of a job, indented.
    let spool_file = t.first().is_some_and(|r| r.start > 0) && all_digits(word(0)) && word(0).len() == 3;
    header || rule || spool_header || count || spool_file
}

/// A job or user name: 1 to 8 of `A-Z 0-9 $ # @`, not starting with a digit.
fn is_job_name(w: &[u8]) -> bool {
    (1..=8).contains(&w.len())
        && !w[0].is_ascii_digit()
        && w.iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'$' | b'#' | b'@'))
}

/// `JOB01906`, `TSU01830`, `STC00012`, or `J0012345` past 99999.
fn is_job_id(w: &[u8]) -> bool {
    let short = w.len() == 8 && matches!(&w[..3], b"JOB" | b"TSU" | b"STC") && all_digits(&w[3..]);
    let long = w.len() == 8 && matches!(w[0], b'J' | b'T' | b'S') && all_digits(&w[1..]);
    short || long
}

fn is_status(w: &[u8]) -> bool {
    matches!(w, b"INPUT" | b"HELD" | b"ACTIVE" | b"OUTPUT")
}

#[cfg(test)]
mod tests {
    use super::super::fields::testing::b;
    use super::*;

    fn ok(line: &'static [u8]) -> Entry {
        parse_mvs_jes(&b(line)).unwrap_or_else(|e| panic!("{:?}: {e:?}", crate::text::Escaped(line)))
    }

    fn fact<'a>(e: &'a Entry, name: &str) -> Option<&'a [u8]> {
        e.facts().iter().find(|(n, _)| n.as_ref() == name.as_bytes()).map(|(_, v)| v.as_ref())
    }

    /// JES interface level 1: Apache Commons Net's `MVSFTPEntryParserTest`
    /// line (`goodsamplesJES1List`), then the other statuses IBM's z/OS FTP
    /// documentation lists.
    #[test]
    fn commons_net_jes_level_1() {
        let e = ok(b"IBMUSER1  JOB01906  OUTPUT    3 Spool Files");
        assert_eq!((e.name(), e.kind()), (&b"JOB01906"[..], &EntryKind::File));
        assert_eq!(fact(&e, "jobname"), Some(&b"IBMUSER1"[..]));
        assert_eq!(fact(&e, "status"), Some(&b"OUTPUT"[..]));
        assert_eq!(fact(&e, "spool-files"), Some(&b"3"[..]));
        let e = ok(b"IBMUSER   JOB01904  ACTIVE");
        assert_eq!((e.name(), fact(&e, "status")), (&b"JOB01904"[..], Some(&b"ACTIVE"[..])));
        let e = ok(b"IBMUSER2  JOB01903  INPUT");
        assert_eq!(fact(&e, "spool-files"), None);
        assert_eq!(e.format(), Format::MvsJes);
    }

    /// JES interface level 2: Commons Net's `goodsamplesJES2List` lines, then
    /// the header, an active job, a J-prefixed id and a JCL error, and the
    /// spool file lines of one job as z/OS writes them.
    #[test]
    fn commons_net_jes_level_2() {
        assert_eq!(parse_mvs_jes(&b(b"JOBNAME  JOBID    OWNER    STATUS CLASS")), Err(ListingError::NotAnEntry));
        let e = ok(b"IBMUSER2 JOB01906 IBMUSER  OUTPUT A        RC=0000 3 spool files");
        assert_eq!((e.name(), e.owner()), (&b"JOB01906"[..], Some(&b"IBMUSER"[..])));
        assert_eq!((fact(&e, "class"), fact(&e, "retcode")), (Some(&b"A"[..]), Some(&b"RC=0000"[..])));
        assert_eq!(fact(&e, "spool-files"), Some(&b"3"[..]));
        let e = ok(b"IBMUSER  TSU01830 IBMUSER  OUTPUT TSU      ABEND=522 3 spool files");
        assert_eq!((e.name(), fact(&e, "retcode")), (&b"TSU01830"[..], Some(&b"ABEND=522"[..])));
        let e = ok(b"IBMUSER  JOB01832 IBMUSER  ACTIVE A");
        assert_eq!((fact(&e, "status"), fact(&e, "retcode")), (Some(&b"ACTIVE"[..]), None));
        let e = ok(b"IBMUSERX J0012345 IBMUSER  OUTPUT A        (JCL error) 2 spool files");
        assert_eq!(fact(&e, "retcode"), Some(&b"(JCL error)"[..]));
        for detail in [
            &b"--------"[..],
            b"         ID  STEPNAME PROCSTEP C DDNAME   BYTE-COUNT",
            b"         001 JES2              A JESMSGLG       1200",
            b"3 spool files",
        ] {
            assert_eq!(parse_mvs_jes(&b(detail)), Err(ListingError::NotAnEntry), "{:?}", crate::text::Escaped(detail));
        }
    }

    #[test]
    fn rejected_lines() {
        let bad = Err(ListingError::Unrecognised(Format::MvsJes));
        for line in [
            &b"IBMUSER1  JOB1906  OUTPUT"[..],
            b"IBMUSER1  XYZ01906  OUTPUT",
            b"IBMUSER1  JOB01906  RUNNING",
            b"ibmuser1  JOB01906  OUTPUT",
            b"IBMUSER1  JOB01906  OUTPUT  3 Spool",
            b"  IBMUSER1  JOB01906  OUTPUT",
            b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'",
        ] {
            assert_eq!(parse_mvs_jes(&b(line)), bad, "{:?}", crate::text::Escaped(line));
        }
    }
}
