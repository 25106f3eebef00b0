//! The splitting of a whole `LIST` body into entries, line by line,
//! joining the VMS entries whose long name pushed the rest onto a second
//! line.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use super::fields::is_blank;
use super::vms::{parse_vms, vms_version_at};
use super::vos::{VosSection, parse_vos, vos_section};
use super::{Entry, ListingError};
use crate::time::Timestamp;

/// The lines of a body split on LF, each without its CR.
struct Lines<'a> {
    body: &'a Bytes,
    pos: usize,
}

impl Iterator for Lines<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let rest = self.body.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += len + 1;
        let end = if len > 0 && rest[len - 1] == b'\r' { start + len - 1 } else { start + len };
        Some(self.body.slice(start..end))
    }
}

/// The lines of a listing body (`LIST`, `NLST`, `MLSD`): split on LF,
/// each without the CR before it, empty lines left out. Each line is a
/// slice of `body`, not a copy. The one splitter of listing bodies: an
/// `NLST` body is these lines, one pathname each (RFC 959 4.1.3), an
/// `MLSD` body one fact line each (RFC 3659 7.2).
///
/// ```
/// use bytes::Bytes;
/// use ftp_proto::listing::listing_lines;
///
/// let body = Bytes::from_static(b"a.txt\r\n\r\ndir/b c\nlast");
/// let lines: Vec<Bytes> = listing_lines(&body).collect();
/// assert_eq!(lines, [&b"a.txt"[..], b"dir/b c", b"last"]);
/// ```
pub fn listing_lines(body: &Bytes) -> impl Iterator<Item = Bytes> + '_ {
    Lines { body, pos: 0 }.filter(|line| !line.is_empty())
}

/// Whether a line is a VMS name standing alone, its entry pushed onto the
/// next line by the name's length.
fn lone_vms_name(line: &[u8]) -> bool {
    let end = line.iter().rposition(|&b| !is_blank(b)).map_or(0, |i| i + 1);
    let name = &line[..end];
    !name.is_empty() && !name.iter().any(|&b| is_blank(b)) && vms_version_at(name).is_some()
}

/// Parses a whole `LIST` body (see [`super::parse_list`]).
pub(crate) fn parse_list_body(body: &Bytes, now: Timestamp) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut lines = Lines { body, pos: 0 };
    let mut pending: Option<Bytes> = None;
    // Stratus VOS: the section a header opened (its lines' kind).
    let mut vos: Option<VosSection> = None;
    while let Some(line) = pending.take().or_else(|| lines.next()) {
        if let Some(section) = vos_section(&line) {
            vos = Some(section);
            continue;
        }
        if let Some(entry) = vos.and_then(|section| parse_vos(&line, section).ok()) {
            entries.push(entry);
            continue;
        }
        if lone_vms_name(&line) {
            // `UCX$REXECD_STARTUP.LOG;1098` then, indented, the rest.
            let Some(next) = lines.next() else { break };
            if !next.first().is_some_and(|&b| is_blank(b)) {
                pending = Some(next);
                continue;
            }
            let mut joined = BytesMut::with_capacity(line.len() + next.len());
            joined.extend_from_slice(&line);
            joined.extend_from_slice(&next);
            match parse_vms(&joined.freeze()) {
                Ok(entry) => entries.push(entry),
                Err(ListingError::NotAnEntry) => {}
                Err(_) => pending = Some(next),
            }
            continue;
        }
        if let Ok(entry) = super::parse_list_line(&line, now) {
            entries.push(entry);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::fields::testing::{b, ts};

    use crate::listing::{EntryKind, parse_mvs, parse_netware, parse_os400};

    #[test]
    fn vms_body_with_long_names_on_two_lines() {
        let body = b(b"Directory SYS$SYSDEVICE:[ANONYMOUS]\r\n\r\n\
UCX$REXECD_STARTUP.LOG;1098\r\n                         4/15         24-FEB-2003 13:17:24  [POSTWARE,LP]    (RWED,RWED,RE,)\r\n\
UNARCHIVE.COM;1          2/15          7-JUL-1997 16:37:45  [POSTWARE,LP]    (RWE,RWE,RWE,RE)\r\n\
UNZIP_AND_ATTACH_FILES.COM;12\r\n                        14/15         24-JUL-2002 14:35:40  [TRANSLATED]    (RWE,RWE,RWE,RE)\r\n\
PRIVATE.DIR;1\r\n                     %RMS-E-PRV, insufficient privilege or file protection violation\r\n\
1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)\r\n\
\r\nTotal of 4 files, 29/54 blocks.\r\n");
        let now = ts(2024, 3, 1, 12, 0, 0);
        let entries = parse_list_body(&body, now);
        let names: Vec<&[u8]> = entries.iter().map(Entry::name).collect();
        assert_eq!(
            names,
            [&b"UCX$REXECD_STARTUP.LOG"[..], b"UNARCHIVE.COM", b"UNZIP_AND_ATTACH_FILES.COM", b"1-JUN.LIS"]
        );
        let versions: Vec<Option<u32>> = entries.iter().map(Entry::version).collect();
        assert_eq!(versions, [Some(1098), Some(1), Some(12), Some(1)]);
        let first = &entries[0];
        assert_eq!(first.size(), Some(4 * 512));
        assert_eq!(first.owner(), Some(&b"LP"[..]));
        assert_eq!(
            first.raw(),
            &b"UCX$REXECD_STARTUP.LOG;1098                         4/15         24-FEB-2003 13:17:24  [POSTWARE,LP]    (RWED,RWED,RE,)"[..]
        );
        assert_eq!(entries[2].owner(), Some(&b"TRANSLATED"[..]));
    }

    /// Stratus VOS (issue 16): each section header sets the kind of the
    /// lines after it; the lines of Indy's `IdFTPListParseStratusVOS`.
    #[test]
    fn stratus_vos_body_with_sections() {
        let body = b(b"Files: 2  Blocks: 160\r\n\r\nw    158 stm       90-05-19 11:53:44  acctng.cobol\r\n\
r      2 seq       99-06-15 13:11:39  add_ftp_to_path.cm\r\n\r\nDirs: 1\r\n\r\n\
m      3  04-01-18 14:31:15  test_dir\r\n\r\nLinks: 1\r\n\r\n\
04-07-13 21:15:43  backholding_logs ->  %descc#m2_d01>l3s>db>lti>in>cp_exception\r\n");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        let got: Vec<(&[u8], bool, bool)> = entries
            .iter()
            .map(|e| (e.name(), e.kind() == &EntryKind::Directory, matches!(e.kind(), EntryKind::Symlink { .. })))
            .collect();
        assert_eq!(
            got,
            [
                (&b"acctng.cobol"[..], false, false),
                (b"add_ftp_to_path.cm", false, false),
                (b"test_dir", true, false),
                (b"backholding_logs", false, true)
            ]
        );
        assert!(entries.iter().all(|e| e.format() == crate::listing::Format::StratusVos));
    }

    #[test]
    fn lone_name_without_continuation_is_skipped_not_glued() {
        let body = b(b"LONG_NAME.TXT;1\nSHORT.TXT;1  1/1  1-JUL-1998 08:43:20\nLAST_NAME.TXT;2");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].name(), entries[0].version()), (&b"SHORT.TXT"[..], Some(1)));
        // The continuation line fails: the name is dropped and the next line
        // is read on its own.
        let body = b(b"LONG_NAME.TXT;1\n garbage\nSHORT.TXT;1  1/1  1-JUL-1998 08:43:20\n");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn body_lines_split_on_lf_and_crlf() {
        let body = b(b"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname\r\n\
ZASYS1 3390   2020/12/16  1   10  FB      80 23440  PO  CLIST\n\
Migrated                                                OLD.DATA\r\n\r\n\n");
        let entries = parse_list_body(&body, ts(2024, 3, 1, 12, 0, 0));
        let names: Vec<&[u8]> = entries.iter().map(Entry::name).collect();
        assert_eq!(names, [&b"CLIST"[..], b"OLD.DATA"]);
        assert!(parse_list_body(&Bytes::new(), ts(2024, 3, 1, 12, 0, 0)).is_empty());
        assert!(parse_list_body(&b(b"\r\n\n\r"), ts(2024, 3, 1, 12, 0, 0)).is_empty());
    }

    #[test]
    fn no_panic_on_prefixes_and_mutations_of_real_lines() {
        let now = ts(2024, 3, 1, 12, 0, 0);
        let lines: [&[u8]; 12] = [
            b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)",
            b"LOGIN.COM;5  2/3  12-JAN-2005 14:06:36.52  [GROUP,OWNER]  (RWED,RWED,RE,RE)",
            b"FREEWARE40.DIR;1        27/36         16-FEB-1999 10:01:46  [AP_HTTPD,APACHE$WWW      (RWE,RWE,RE,RE)",
            b"Directory DISK$USER:[DIR]",
            b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/",
            b"QPGMR        16347136 29.06.13 15:45:09 *FILE      RPGUNIT.SAVF",
            b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'",
            b"TSO005 3390   2005/06/06 213000 U 0 27998 PO 50-MVS-PDS",
            b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54:10    15    15     0 USER1",
            b"ARCIVE Not Direct Access Device                         KJ.IOP998.ERROR.PL.UNITTEST",
            b"d [R----F--] supervisor            512       Jan 16 18:53    login",
            b"- [RWCEAFMS] rwinston                          512 Nov 24  2005 Favorites",
        ];
        let run = |l: &[u8]| {
            let line = Bytes::copy_from_slice(l);
            let results = [parse_vms(&line), parse_os400(&line), parse_mvs(&line), parse_netware(&line, now)];
            for e in results.into_iter().flatten() {
                assert!(line.as_ptr_range().contains(&e.name().as_ptr()) || e.name().is_empty());
            }
            let _ = parse_list_body(&line, now);
        };
        let swaps =
            [b' ', b'\t', b'/', b':', b'.', b'-', b';', b'[', b']', b'(', b')', b',', b'*', b'\'', b'%', b'9', 0xFF];
        for l in lines {
            for end in 0..=l.len() {
                run(&l[..end]);
                run(&l[end..]);
            }
            for at in 0..l.len() {
                for &c in &swaps {
                    let mut m = l.to_vec();
                    m[at] = c;
                    run(&m);
                }
            }
        }
        // Long names alone, then pieces of continuations, in one body.
        let mut body = Vec::new();
        for l in lines {
            body.extend_from_slice(b"LONG_NAME_THAT_WRAPS.TXT;1\r\n ");
            body.extend_from_slice(l);
            body.extend_from_slice(b"\n");
        }
        let _ = parse_list_body(&Bytes::from(body), now);
    }
}

#[cfg(test)]
mod dispatch_tests {
    use super::*;
    use crate::listing::Format;

    /// Every style reaches its parser through `parse_list_line`, which tries
    /// Unix and DOS first.
    #[test]
    fn each_style_through_parse_list_line() {
        let now = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
        for (line, format, name) in [
            (
                &b"CII-MANUAL.TEX;1  213/216  29-JAN-1996 03:33:12  [ANONYMOU,ANONYMOUS]  (RWED,RWED,,)"[..],
                Format::Vms,
                &b"CII-MANUAL.TEX"[..],
            ),
            (
                b"1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)",
                Format::Vms,
                b"1-JUN.LIS",
            ),
            (
                b"120196.TXT;1           118/126        14-APR-1997 12:45:27  [GROUP,OWNER]    (RWED,,RWED,RE)",
                Format::Vms,
                b"120196.TXT",
            ),
            (b"QSYS            77824 02/23/00 15:09:55 *DIR       QSYS.LIB/", Format::Os400, b"QSYS.LIB"),
            (
                b"QPGMR                                   *MEM       RPGUNITC1.FILE/RUCALLTST.MBR",
                Format::Os400,
                b"RUCALLTST.MBR",
            ),
            (b"WYOSPT 3420   2003/05/21  1  200  FB      80  8000  PS  'JOHN.DATA'", Format::Mvs, b"JOHN.DATA"),
            (b"Migrated                                                SOME.NAME", Format::Mvs, b"SOME.NAME"),
            (b"MEMBER1   01.03 2001/04/02 2001/04/02 16:54    15    15     0 USER1", Format::Mvs, b"MEMBER1"),
            (b"d [R----F--] supervisor            512       Jan 16 18:53    login", Format::NetWare, b"login"),
            (b"- [R----F--] rhiggins     108674       Jul 17 12:09    Wynken.txt", Format::NetWare, b"Wynken.txt"),
            (b"     0           DIR   12-30-97   12:32  jbrekke", Format::Os2, b"jbrekke"),
            (b"36611      A    04-23-03   10:57  OSHELL.ZIP", Format::Os2, b"OSHELL.ZIP"),
            (b"IBMUSER1  JOB01906  OUTPUT    3 Spool Files", Format::MvsJes, b"JOB01906"),
            (b"-C--E-----FTP B QUA1I1      18128       41 Aug 12 13:56 QUADTEST", Format::EnterpriseUnix, b"QUADTEST"),
            (b"IBMUSER1 JOB01906 IBMUSER  OUTPUT A        RC=0000 3 spool files", Format::MvsJes, b"JOB01906"),
        ] {
            let e = super::super::parse_list_line(&Bytes::copy_from_slice(line), now)
                .unwrap_or_else(|err| panic!("{:?}: {err:?}", crate::text::Escaped(line)));
            assert_eq!((e.format(), e.name()), (format, name), "{:?}", crate::text::Escaped(line));
        }
        for line in [
            &b"Directory DISK$USER:[DIR]"[..],
            b"Total of 6 files, 18/18 blocks.",
            b"%RMS-E-PRV, insufficient privilege or file protection violation",
            b"Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname",
            b" Name     VV.MM   Created       Changed      Size  Init   Mod   Id",
        ] {
            let r = super::super::parse_list_line(&Bytes::copy_from_slice(line), now);
            assert_eq!(r.map(|e| e.format()), Err(ListingError::NotAnEntry), "{:?}", crate::text::Escaped(line));
        }
    }
}
