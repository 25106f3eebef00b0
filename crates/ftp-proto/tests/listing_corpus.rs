//! Real-world `LIST` lines per dialect, gathered from the public test
//! suites of long-lived FTP clients, each with the entry it must give
//! (issue 16). Every good line goes through the auto-detection
//! (`parse_list_line`), so it must be read by the right dialect, not only
//! by its own parser; every bad line is refused by the parser of the
//! dialect it imitates.
//!
//! Sources (each table says which):
//! - Apache Commons Net, `src/test/java/org/apache/commons/net/ftp/parser/`:
//!   `OS2FTPEntryParserTest`, `NetwareFTPEntryParserTest`,
//!   `NTFTPEntryParserTest`, `MVSFTPEntryParserTest`,
//!   `EnterpriseUnixFTPEntryParserTest`.
//! - Indy (`IdFTPListParseStercomUnixEnt` and its list parser tests) for
//!   CONNECT:Enterprise `TCP` lines.

use bytes::Bytes;
use ftp_proto::Timestamp;
use ftp_proto::listing::{EntryKind, Format, parse_list_line};

const FILE: bool = false;
const DIR: bool = true;

fn now() -> Timestamp {
    Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap()
}

/// Each line is read by `format`'s parser as `name`, a directory or not.
fn good(format: Format, lines: &[(&str, &str, bool)]) {
    for (line, name, dir) in lines {
        let e = parse_list_line(&Bytes::copy_from_slice(line.as_bytes()), now())
            .unwrap_or_else(|err| panic!("{line:?}: {err:?}"));
        assert_eq!(e.format(), format, "{line:?}");
        assert_eq!(e.name(), name.as_bytes(), "{line:?}");
        assert_eq!(e.kind() == &EntryKind::Directory, *dir, "{line:?}: {:?}", e.kind());
    }
}

/// Each line is refused by `parse`.
fn bad<E: std::fmt::Debug, T: std::fmt::Debug>(parse: impl Fn(&Bytes) -> Result<T, E>, lines: &[&str]) {
    for line in lines {
        let r = parse(&Bytes::copy_from_slice(line.as_bytes()));
        assert!(r.is_err(), "{line:?} was read: {r:?}");
    }
}

/// Commons Net `OS2FTPEntryParserTest`: `goodsamples` and `badsamples`.
#[test]
fn commons_net_os2() {
    good(
        Format::Os2,
        &[
            ("     0           DIR   12-30-97   12:32  jbrekke", "jbrekke", DIR),
            ("     0           DIR   11-25-97   09:42  junk", "junk", DIR),
            ("     0           DIR   05-12-97   16:44  LANGUAGE", "LANGUAGE", DIR),
            ("     0           DIR   05-19-97   12:56  local", "local", DIR),
            ("     0           DIR   05-12-97   16:52  Maintenance Desktop", "Maintenance Desktop", DIR),
            ("     0           DIR   05-13-97   10:49  MPTN", "MPTN", DIR),
            ("587823    RSA    DIR   01-08-97   13:58  OS2KRNL", "OS2KRNL", DIR),
            (" 33280      A          02-09-97   13:49  OS2LDR", "OS2LDR", FILE),
            ("     0           DIR   11-28-97   09:42  PC", "PC", DIR),
            ("149473      A          11-17-98   16:07  POPUPLOG.OS2", "POPUPLOG.OS2", FILE),
            ("     0           DIR   05-12-97   16:44  PSFONTS", "PSFONTS", DIR),
            ("     0           DIR   05-19-2000 12:56  local", "local", DIR),
        ],
    );
    bad(
        ftp_proto::listing::parse_os2,
        &[
            "                 DIR   12-30-97   12:32  jbrekke",
            "     0    rsa    DIR   11-25-97   09:42  junk",
            "     0           dir   05-12-97   16:44  LANGUAGE",
            "     0           DIR   13-05-97   25:49  MPTN",
            "587823    RSA    DIR   Jan-08-97   13:58  OS2KRNL",
            " 33280      A          1997-02-03  13:49  OS2LDR",
            "12-05-96  05:03PM       <DIR>          absoft2",
            "11-14-97  04:21PM                  953 AUDITOR3.INI",
        ],
    );
}

/// Commons Net `NetwareFTPEntryParserTest`: `goodsamples`, `badsamples`
/// and the lines of its field tests.
#[test]
fn commons_net_netware() {
    good(
        Format::NetWare,
        &[
            ("d [-----F--] SCION_SYS                         512 Apr 13 23:52 SYS", "SYS", DIR),
            ("d [----AF--]          0                        512 Feb 22 17:32 _ADMIN", "_ADMIN", DIR),
            ("d [-W---F--] SCION_VOL2                        512 Apr 13 23:12 VOL2", "VOL2", DIR),
            (
                "- [RWCEAFMS] rwinston                        19968 Mar 12 15:20 Executive Summary.doc",
                "Executive Summary.doc",
                FILE,
            ),
            ("d [RWCEAFMS] rwinston                          512 Nov 24  2005 Favorites", "Favorites", DIR),
            ("d [-W---F--] testUser                        512 Apr 13 23:12 testFile", "testFile", DIR),
            (
                "- [R-CEAFMS] rwinston                        19968 Mar 12 15:20 Document name with spaces.doc",
                "Document name with spaces.doc",
                FILE,
            ),
        ],
    );
    let parse = |l: &Bytes| ftp_proto::listing::parse_netware(l, now());
    bad(
        parse,
        &[
            "a [-----F--] SCION_SYS                         512 Apr 13 23:52 SYS",
            "d [----AF--]          0                        512 10-04-2001 _ADMIN",
        ],
    );
}

/// Commons Net `NTFTPEntryParserTest`: the DOS-style `goodsamples` and
/// `badsamples`, and the lines of its field tests (leading digits,
/// NET-339's 24-hour clock).
#[test]
fn commons_net_nt_dos() {
    good(
        Format::Dos,
        &[
            ("05-26-95  10:57AM               143712 $LDR$", "$LDR$", FILE),
            ("05-20-97  03:31PM                  681 .bash_history", ".bash_history", FILE),
            ("12-05-96  05:03PM       <DIR>          absoft2", "absoft2", DIR),
            ("11-14-97  04:21PM                  953 AUDITOR3.INI", "AUDITOR3.INI", FILE),
            ("12-03-96  06:38AM       <DIR>          123xyz", "123xyz", DIR),
            ("05-26-1995  10:57AM               143712 $LDR$", "$LDR$", FILE),
            ("12-05-96  17:03         <DIR>          absoft2", "absoft2", DIR),
            ("05-22-97  08:08                    828 AUTOEXEC.BAK", "AUTOEXEC.BAK", FILE),
            ("09-13-10  13:08                   23 Control Panel.lnk", "Control Panel.lnk", FILE),
            ("09-13-10  13:08       <DIR>          My Documents", "My Documents", DIR),
            ("05-22-97  12:08AM                  5000000000 10 years and under", "10 years and under", FILE),
            ("12-03-96  06:38AM       <DIR>          123 abc xyz", "123 abc xyz", DIR),
            ("05-22-97  12:08                  5000000000 10 years and under", "10 years and under", FILE),
        ],
    );
    bad(
        ftp_proto::listing::parse_dos,
        &[
            "20-05-97  03:31PM                  681 .bash_history",
            "     0           DIR   05-19-97   12:56  local",
            "     0           DIR   05-12-97   16:52  Maintenance Desktop",
        ],
    );
}

/// Commons Net `MVSFTPEntryParserTest`: the dataset, member and JES lists
/// and `badsamples`.
#[test]
fn commons_net_mvs() {
    good(
        Format::Mvs,
        &[
            (
                "SAVE00 3390   2004/06/23  1    1  FB     128  6144  PS    INCOMING.RPTBM023.D061704",
                "INCOMING.RPTBM023.D061704",
                FILE,
            ),
            (
                "SAVE01 3390   2004/06/23  1    1  FB     128  6144  PO    INCOMING.RPTBM024.D061704",
                "INCOMING.RPTBM024.D061704",
                DIR,
            ),
            (
                "SAVE02 3390   2004/06/23  1    1  FB     128  6144  PO-E  INCOMING.RPTBM025.D061704",
                "INCOMING.RPTBM025.D061704",
                DIR,
            ),
            ("PSMLC1 3390   2005/04/04  1    1  VB   27994 27998  PS    file3.I", "file3.I", FILE),
            ("SAVE03    01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001", "SAVE03", FILE),
            ("TBSHELF1  01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001", "TBSHELF1", FILE),
        ],
    );
    good(
        Format::MvsJes,
        &[
            ("IBMUSER1  JOB01906  OUTPUT    3 Spool Files", "JOB01906", FILE),
            ("IBMUSER2 JOB01906 IBMUSER  OUTPUT A        RC=0000 3 spool files", "JOB01906", FILE),
            ("IBMUSER  TSU01830 IBMUSER  OUTPUT TSU      ABEND=522 3 spool files", "TSU01830", FILE),
        ],
    );
    bad(
        ftp_proto::listing::parse_mvs,
        &["MigratedP201.$FTXPBI1.$CF2ITB.$AAB0402.I", "PSMLC133902005/04/041VB2799427998PSfile1.I", "file2.O"],
    );
}

/// Commons Net `EnterpriseUnixFTPEntryParserTest` (`GOODSAMPLES`, and its
/// Unix `BADSAMPLES`, which are no Enterprise Unix lines), and Indy's
/// CONNECT:Enterprise `TCP` line.
#[test]
fn commons_net_and_indy_enterprise_unix() {
    good(
        Format::EnterpriseUnix,
        &[
            ("-C--E-----FTP B QUA1I1      18128       41 Aug 12 13:56 QUADTEST", "QUADTEST", FILE),
            ("-C--E-----FTP A QUA1I1      18128       41 Aug 12 13:56 QUADTEST2", "QUADTEST2", FILE),
            ("-C--E-----FTP A QUA1I1      18128       41 Apr 1 2014 QUADTEST3", "QUADTEST3", FILE),
            ("-ARTE-----TCP A cbeodm   22159   629629 Aug 06 05:47 PSEUDOFILENAME", "PSEUDOFILENAME", FILE),
        ],
    );
    let parse = |l: &Bytes| ftp_proto::listing::parse_enterprise_unix(l, now());
    bad(
        parse,
        &[
            "zrwxr-xr-x   2 root     root         4096 Mar  2 15:13 zxbox",
            "-rw-r--r--   1 ftp      nogroup    126552 Jan 22  2001 zxJDBC-1.2.4.zip",
            "drwxr-xr-x   2 root     root         4096 Aug 26  20 zztpp",
        ],
    );
}
