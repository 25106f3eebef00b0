//! Unit tests of the Unix `ls -l` reader and writer, kept apart so that
//! `unix.rs` reads as the parser.

use alloc::vec::Vec;

use super::*;
use crate::time::days_from_civil;

fn ts(y: u16, mo: u8, d: u8, h: u8, mi: u8) -> Timestamp {
    Timestamp::new(y, mo, d, h, mi, 0).unwrap()
}

/// The reference time for year resolution in these tests.
fn now() -> Timestamp {
    ts(2024, 3, 10, 23, 0)
}

fn parse(line: &str) -> Result<Entry, ListingError> {
    parse_unix(&Bytes::copy_from_slice(line.as_bytes()), now())
}

fn ok(line: &str) -> Entry {
    parse(line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
}

fn time(e: &Entry) -> (u16, u8, u8, u8, u8, Precision) {
    let m = e.modified().unwrap();
    let t = m.time();
    (t.year(), t.month(), t.day(), t.hour(), t.minute(), m.precision())
}

fn target(e: &Entry) -> Option<&[u8]> {
    match e.kind() {
        EntryKind::Symlink { target } => target.as_deref(),
        _ => None,
    }
}

// --- vsftpd (ls.c build_dir_line: "%4d" links, owner/group "%-8s",
// size "%8s", "%b %d %H:%M" / "%b %d  %Y"; numeric ids by default) ---

#[test]
fn vsftpd_recent_and_old() {
    // The layout of vsftpd's ls.c with its default numeric ids.
    let e = ok("drwxr-xr-x    2 0        0            4096 Mar 01 12:00 pub");
    assert_eq!(e.name(), b"pub");
    assert_eq!(e.kind(), &EntryKind::Directory);
    assert_eq!(e.size(), Some(4096));
    assert_eq!(e.mode(), Some(0o755));
    assert_eq!((e.owner(), e.group()), (Some(&b"0"[..]), Some(&b"0"[..])));
    assert_eq!(time(&e), (2024, 3, 1, 12, 0, Precision::Minute));
    assert_eq!(e.format(), Format::Unix);
    assert_eq!(e.raw(), b"drwxr-xr-x    2 0        0            4096 Mar 01 12:00 pub");

    // vsFTPd 2.3.4, as logged in metasploit-framework PR #21379.
    let e = ok("drwxr-xr-x    6 1000     1000         4096 Apr 28  2010 vulnerable");
    assert_eq!(e.name(), b"vulnerable");
    assert_eq!(e.size(), Some(4096));
    assert_eq!(time(&e), (2010, 4, 28, 0, 0, Precision::Day));
    assert_eq!((e.owner(), e.group()), (Some(&b"1000"[..]), Some(&b"1000"[..])));
}

#[test]
fn vsftpd_symlink_with_target() {
    let e = ok("lrwxrwxrwx    1 0        1001           27 Jul 07  2017 R-3.4.0.pkg -> el-capitan/base/R-3.4.0.pkg");
    assert_eq!(e.name(), b"R-3.4.0.pkg");
    assert_eq!(target(&e), Some(&b"el-capitan/base/R-3.4.0.pkg"[..]));
    assert_eq!(e.mode(), Some(0o777));
    assert_eq!(e.size(), Some(27));
}

#[test]
fn vsftpd_dot_entries_with_ls_a() {
    // Rebuilt from the vsftpd 3.0.3 fields quoted in basic-ftp issue #61.
    let e = ok("drwxr-xr-x    2 1001     1001         4096 Feb 25 19:03 .");
    assert_eq!((e.name(), e.kind()), (&b"."[..], &EntryKind::Directory));
    let e = ok("dr-xr-xr-x    3 65534    65534        4096 Feb 25 18:55 ..");
    assert_eq!((e.name(), e.mode()), (&b".."[..], Some(0o555)));
}

// --- ProFTPD ("%s %3d %-8s %-8s %8s Mon %2d ...") ---

#[test]
fn proftpd_lines() {
    // pyfilesystem2 PR #84, "ProFTPD 1.3.4a".
    let e = ok("drwxr-xr-x   8 foo      bar          4096 Oct  4 09:05 test");
    assert_eq!((e.name(), e.owner(), e.group()), (&b"test"[..], Some(&b"foo"[..]), Some(&b"bar"[..])));
    assert_eq!(time(&e), (2023, 10, 4, 9, 5, Precision::Minute), "October is after March 2024: last year");
    // commons-net NET-294.
    let e = ok("-rwxrwx---   1 ftp      ftp-admin 816026400 Oct  5  2008 bloplab 7 cd1.img");
    assert_eq!(e.name(), b"bloplab 7 cd1.img");
    assert_eq!(e.group(), Some(&b"ftp-admin"[..]));
    assert_eq!(e.size(), Some(816_026_400));
    assert_eq!(e.mode(), Some(0o770));
}

// --- Pure-FTPd (lines in the layout of its ls.c: "%s %4u %s %s %10llu
// %s %2d %s %s", ids "%-10d" when not resolved, "%5d" year; it sends no
// `total` line) ---

#[test]
fn pure_ftpd_numeric_ids() {
    let e = ok("-rw-r--r--    1 1000       1000             1234 Mar  1 12:00 annual report.pdf");
    assert_eq!(e.name(), b"annual report.pdf");
    assert_eq!((e.owner(), e.group()), (Some(&b"1000"[..]), Some(&b"1000"[..])));
    assert_eq!(e.size(), Some(1234));
    let e = ok("drwxr-xr-x    2 1000       1000             4096 Nov 30  2022 archive");
    assert_eq!(time(&e), (2022, 11, 30, 0, 0, Precision::Day));
}

#[test]
fn pure_ftpd_setuid_setgid_sticky_letters() {
    // Pure-FTPd writes s/S/t/T from the mode bits the way ls does.
    assert_eq!(ok("-rwsr-sr-t    1 0          0                   0 Mar  1 12:00 a").mode(), Some(0o7755));
    assert_eq!(ok("-rwSr-Sr-T    1 0          0                   0 Mar  1 12:00 a").mode(), Some(0o7644));
}

// --- GNU ls / busybox ls based servers ---

#[test]
fn ls_total_header() {
    // The header `ls -l` prints; also seen first in LIST output from
    // sidads.colorado.edu (node-ftp issue #112).
    assert_eq!(parse("total 871").unwrap_err(), ListingError::NotAnEntry);
    assert_eq!(parse("total 0").unwrap_err(), ListingError::NotAnEntry);
    assert_eq!(parse("total 12K").unwrap_err(), ListingError::NotAnEntry);
    assert_eq!(parse("").unwrap_err(), ListingError::NotAnEntry);
    assert_eq!(parse("   ").unwrap_err(), ListingError::NotAnEntry);
    assert_eq!(parse("total of everything").unwrap_err(), UNRECOGNISED);
}

#[test]
fn busybox_device_files() {
    let e = ok("crw-rw-rw-    1 root     root        1,   3 Jan  1 00:00 null");
    assert_eq!(e.kind(), &EntryKind::Other(Bytes::from_static(b"c")));
    assert_eq!(e.size(), None);
    assert_eq!(e.mode(), Some(0o666));
    assert_eq!(time(&e), (2024, 1, 1, 0, 0, Precision::Minute));
    let e = ok("brw-rw----    1 root     disk       8,   0 Mar  9 08:15 sda");
    assert_eq!((e.name(), e.size()), (&b"sda"[..], None));
    assert_eq!(e.kind(), &EntryKind::Other(Bytes::from_static(b"b")));
}

#[test]
fn freebsd_and_solaris_device_files() {
    // commons-net UnixFTPEntryParserTest.
    let e = ok("crw-r----- 1 root kmem 0, 27 Jan 30 11:42 kmem");
    assert_eq!((e.name(), e.size(), e.group()), (&b"kmem"[..], None, Some(&b"kmem"[..])));
    let e = ok("crw-------   1 root     sys      109,767 Jul  2  2004 pci@1c,600000:devctl");
    assert_eq!(e.name(), b"pci@1c,600000:devctl");
    assert_eq!((e.size(), e.group()), (None, Some(&b"sys"[..])));
    // A device listed with a size instead of numbers.
    let e = ok("brw-r--r--   1 ftp      nogroup    126552 Jan 22  2001 zxJDBC-1.2.4.zip");
    assert_eq!(e.size(), Some(126_552));
}

#[test]
fn fifo_socket_door_and_network_types() {
    for (line, letter) in [
        ("prw-r--r--    1 root     root             0 Mar  9 08:15 initctl", b"p"),
        ("srwxrwxrwx    1 root     root             0 Mar  9 08:15 log", b"s"),
        ("Dr--r--r--    1 root     root             0 Mar  9 08:15 name_service_door", b"D"),
        ("nrwxr-xr-x    1 root     root             0 Mar  9 08:15 net", b"n"),
    ] {
        let e = ok(line);
        assert_eq!(e.kind(), &EntryKind::Other(Bytes::from_static(letter)), "{line}");
        assert_eq!(e.size(), Some(0));
    }
}

#[test]
fn gnu_ls_long_iso_dates() {
    // commons-net testNumericDateFormat.
    let e = ok("-rw-r-----   1 neeme neeme   346 2005-04-08 11:22 services.vsp");
    assert_eq!(time(&e), (2005, 4, 8, 11, 22, Precision::Minute));
    assert_eq!(e.name(), b"services.vsp");
    let e = ok("lrwxrwxrwx   1 neeme neeme    23 2005-03-02 18:06 macros -> ./../../global/macros/.");
    assert_eq!(target(&e), Some(&b"./../../global/macros/."[..]));
    let e = ok("-rw-r--r--   1 u g 5 2005-03-02 18:06:07 with seconds");
    let m = e.modified().unwrap();
    assert_eq!((m.time().second(), m.precision()), (7, Precision::Second));
    assert_eq!(e.name(), b"with seconds");
}

// --- Missing groups, numeric owners, odd link counts ---

#[test]
fn sidads_colorado_missing_group_with_acl() {
    // node-ftp issue #112: owner only, ACL marks.
    let e = ok("-rw-------+   1 9469            0 May  6  2011 .Xauthority");
    assert_eq!(e.name(), b".Xauthority");
    assert_eq!((e.owner(), e.group()), (Some(&b"9469"[..]), None));
    assert_eq!((e.size(), e.mode()), (Some(0), Some(0o600)));
    let e = ok("lrwxrwxrwx    1 0              12 Oct 20  2010 DATASETS -> pub/DATASETS");
    assert_eq!((e.name(), target(&e)), (&b"DATASETS"[..], Some(&b"pub/DATASETS"[..])));
    let e = ok("drwxr-x---+  82 9424           89 Mar 17 11:57 private");
    assert_eq!(time(&e), (2023, 3, 17, 11, 57, Precision::Minute), "a week after now: last year");
    let e = ok("d--x--x--x+   2 0               7 May  9  2011 bin");
    assert_eq!(e.mode(), Some(0o111));
}

#[test]
fn sidads_colorado_whole_listing() {
    // The complete LIST output quoted in node-ftp issue #112.
    let body = "total 871
-rw-------+   1 9469            0 May  6  2011 .Xauthority
-rw-------+   1 49             21 Jan 17  2014 .bash_history
-r--------+   1 0               0 Jan 31  2001 .forward
----------+   1 0               0 Mar  1  2001 .notar
-r--------+   1 0               0 Jan 31  2001 .rhosts
lrwxrwxrwx    1 0              12 Oct 20  2010 DATASETS -> pub/DATASETS
-rw-r--r--+   1 0               0 Aug 11  2006 _ftp_
d--x--x--x+   2 0               7 May  9  2011 bin
drw-rw-rw-+   2 0               3 Oct 12  2005 dev
d--x--x--x+   2 0               6 Jan 15  2014 etc
drwxrwx---    4 9450            8 Mar 31 13:08 ftp_reports
drwxr-xr-x+   2 0               2 Feb  5 08:50 gibs
dr-xr-xr-x+   3 0               9 Oct 20  2005 lib
drwxrwxr-x    9 200            13 Aug 23  2006 paccess
drwxr-x---+  82 9424           89 Mar 17 11:57 private
drwxr-xr-x+  18 49             26 Apr  4 00:13 pub
-rw-------+   1 0         1945600 Oct 20  2005 system.files
dr-xr-xr-x+   3 0               4 Oct 20  2005 usr
-rw-r--r--+   1 0             426 Nov  7  2003 welcome.msg";
    let mut lines = body.lines();
    assert_eq!(parse(lines.next().unwrap()).unwrap_err(), ListingError::NotAnEntry);
    let entries: Vec<Entry> = lines.map(ok).collect();
    assert_eq!(entries.len(), 19);
    assert!(entries.iter().all(|e| e.group().is_none() && e.owner().is_some()));
    let dirs = entries.iter().filter(|e| e.kind() == &EntryKind::Directory).count();
    assert_eq!(dirs, 10);
    assert_eq!(entries[16].size(), Some(1_945_600));
    assert_eq!(entries[16].name(), b"system.files");
}

#[test]
fn commons_net_group_missing_and_spaces() {
    // node-ftp issue #188: owner, no group.
    let e = ok("-rw-r--r-- 1 oinstall 65536 Jul 25 15:01 csxl20170724.dmp");
    assert_eq!((e.owner(), e.group(), e.size()), (Some(&b"oinstall"[..]), None, Some(65536)));
    let e = ok("drwxr-xr-x 2 oinstall  4096 Jul 25 14:33 log");
    assert_eq!((e.name(), e.kind()), (&b"log"[..], &EntryKind::Directory));
    let e = ok("drwxr-xr-x 1 usernameftp 512 Jan 29 23:32 prog");
    assert_eq!((e.owner(), e.group(), e.size()), (Some(&b"usernameftp"[..]), None, Some(512)));
    let e = ok("-rw-r--r-- 1 1 3518644 May 25 12:12 std");
    assert_eq!((e.owner(), e.size()), (Some(&b"1"[..]), Some(3_518_644)));
    // Cygwin groups with spaces.
    let e = ok("drwx------ 4 maxm Domain Users 512 Oct 2 10:59 .metadata");
    assert_eq!((e.owner(), e.group()), (Some(&b"maxm"[..]), Some(&b"Domain Users"[..])));
    assert_eq!(e.name(), b".metadata");
    let e = ok(
        "-rw-r--r--   1 ftp      group with spaces in it as allowed in cygwin see bug 38634   83853 Jan 22  2001 zxJDBC-1.2.4.tar.gz",
    );
    assert_eq!(e.group(), Some(&b"group with spaces in it as allowed in cygwin see bug 38634"[..]));
    assert_eq!(e.size(), Some(83853));
}

#[test]
fn commons_net_acl_glued_to_link_count() {
    let e = ok("drwxr-x---+1464 chrism   chrism     41472 Feb 25 13:17 20090225");
    assert_eq!((e.kind(), e.size()), (&EntryKind::Directory, Some(41472)));
    assert_eq!((e.owner(), e.group()), (Some(&b"chrism"[..]), Some(&b"chrism"[..])));
    assert_eq!(e.name(), b"20090225");
}

#[test]
fn node_ftp_setgid_without_exec() {
    // node-ftp issue #6.
    let e = ok("drwxr-S---    3 105207   501            18 Jul 04  2017 .pki");
    assert_eq!(e.mode(), Some(0o2740));
    assert_eq!(e.name(), b".pki");
}

#[test]
fn hostedftp_zero_links_and_huge_sizes() {
    // jlaffaye/ftp parse_test.go.
    let e = ok("-r--------   0 user group     65222236 Feb 24 00:39 RegularFile");
    assert_eq!((e.size(), e.mode()), (Some(65_222_236), Some(0o400)));
    let e = ok("-rw-r--r--        0   18446744073709551615 18446744073709551615 Nov 16  2006 VIDEO_TS.VOB");
    assert_eq!(e.size(), Some(u64::MAX));
    assert_eq!(e.owner(), Some(&b"18446744073709551615"[..]));
    assert_eq!(parse("-rw-r--r--    1 ftp  ftp  18446744073709551616 Nov 16  2006 too-big").unwrap_err(), OUT_OF_RANGE);
    let e = ok("-rwxr-xr-x   2 user     my group 500        5000000000 Mar  2 15:13 zxbox");
    assert_eq!((e.size(), e.group()), (Some(5_000_000_000), Some(&b"my group 500"[..])));
}

#[test]
fn netpresenz_owner_only() {
    // ftpparse.c and jlaffaye/ftp: NetPresenz for the Mac.
    let e = ok("drwxrwxr-x               folder        2 May 10  1996 network");
    assert_eq!((e.owner(), e.group(), e.size()), (Some(&b"folder"[..]), None, Some(2)));
    let e = ok("drwxr-xr-x               folder        0 Aug 15 05:49 !!!-Tipp des Haus!");
    assert_eq!(e.name(), b"!!!-Tipp des Haus!");
    assert_eq!(time(&e), (2023, 8, 15, 5, 49, Precision::Minute));
}

// --- Windows servers in Unix mode ---

#[test]
fn iis_unix_style() {
    // ftpparse.c: Microsoft's FTP servers for Windows.
    let e = ok("----------   1 owner    group         1803128 Jul 10 10:18 ls-lR.Z");
    assert_eq!((e.mode(), e.size()), (Some(0), Some(1_803_128)));
    let e = ok("d---------   1 owner    group               0 May  9 19:45 Softlib");
    assert_eq!(e.kind(), &EntryKind::Directory);
    // WFTPD for MSDOS.
    let e = ok("-rwxrwxrwx   1 noone    nogroup      322 Aug 19  1996 message.ftp");
    assert_eq!((e.mode(), e.group()), (Some(0o777), Some(&b"nogroup"[..])));
}

#[test]
fn filezilla_server_unix_emulation() {
    // FileZilla Server 0.9 Permissions.cpp: " 1 ftp ftp ", "% 14I64d",
    // " %s %02d ", then " %d " or "%02d:%02d ".
    let e = ok("-rw-r--r-- 1 ftp ftp          12345 Mar 01 09:30 setup.exe");
    assert_eq!((e.name(), e.size()), (&b"setup.exe"[..], Some(12345)));
    assert_eq!(time(&e), (2024, 3, 1, 9, 30, Precision::Minute));
    let e = ok("drwxr-xr-x 1 ftp ftp              0 Jun 17  2013 Backup 2013");
    assert_eq!((e.name(), e.kind()), (&b"Backup 2013"[..], &EntryKind::Directory));
    assert_eq!(time(&e), (2013, 6, 17, 0, 0, Precision::Day));
}

#[test]
fn nas_style_lines_and_permission_markers() {
    // NAS-style lines (shared folders world-writable, long group names
    // that push the size right); modeled on the ProFTPD layout, not
    // captured from a device.
    let e = ok("drwxrwxrwx   1 admin    users        4096 Jan 12 14:02 photo");
    assert_eq!((e.name(), e.mode()), (&b"photo"[..], Some(0o777)));
    let e = ok("-rwxrwxrwx   1 admin    administrators 2147483648 Dec 31  2019 backup.hbk");
    assert_eq!((e.size(), e.group()), (Some(2_147_483_648), Some(&b"administrators"[..])));
    // GNU ls's SELinux context marker and macOS ls's xattr marker.
    assert_eq!(ok("-rw-r--r--. 1 root root 12 Feb  1 10:00 f").mode(), Some(0o644));
    assert_eq!(ok("-rw-r--r--@ 1 user staff 12 Feb  1 10:00 f").mode(), Some(0o644));
}

// --- Names ---

#[test]
fn names_with_spaces_leading_and_trailing() {
    let e = ok("drwxr-xr-x    3 110      1002            3 Dec 02  2009 spaces   dir   name");
    assert_eq!(e.name(), b"spaces   dir   name");
    let e = ok("-rwxr-xr-x    3 110      1002            1234567 Dec 02  2009  foo bar ");
    assert_eq!(e.name(), b" foo bar ");
    let e = ok("drwxr-xr-x   2 john     group         4096 Mar  2 15:13   zxbox     ");
    assert_eq!(e.name(), b"  zxbox     ");
    let e = ok("-rw-rw-rw-   1 user group 5840 Mar 19 09:34 123 456 abc.csv");
    assert_eq!(e.name(), b"123 456 abc.csv");
    let e = ok("-rw-r--r--   1 ftpuser  ftpusers 12414535 Mar 17 11:07 test 1999 abc.pdf");
    assert_eq!(e.name(), b"test 1999 abc.pdf");
    // `->` only splits symlinks.
    let e = ok("-rw-r--r--   1 a b 1 Mar  1 12:00 a -> b.txt");
    assert_eq!((e.name(), e.kind()), (&b"a -> b.txt"[..], &EntryKind::File));
    let e = ok("lrwxrwxrwx   1 a b 1 Mar  1 12:00 dangling");
    assert_eq!(e.kind(), &EntryKind::Symlink { target: None });
}

#[test]
fn zero_copy_slices_of_the_line() {
    let line = Bytes::from_static(b"lrwxrwxrwx   1 root     other          7 Jan 25 00:17 bin -> usr/bin");
    let e = parse_unix(&line, now()).unwrap();
    let within = |s: &[u8]| line.as_ptr_range().contains(&s.as_ptr());
    assert!(within(e.name()) && within(e.owner().unwrap()) && within(e.group().unwrap()));
    assert!(within(target(&e).unwrap()));
    assert_eq!(time(&e), (2024, 1, 25, 0, 17, Precision::Minute));
}

// --- Year resolution ---

#[test]
fn year_resolved_against_reference() {
    assert_eq!(time(&ok("-rw-r--r-- 1 a b 1 Mar 10 22:00 x")).0, 2024);
    assert_eq!(time(&ok("-rw-r--r-- 1 a b 1 Mar 11 22:00 x")).0, 2024, "a day of slack");
    assert_eq!(time(&ok("-rw-r--r-- 1 a b 1 Mar 12 22:00 x")).0, 2023);
    assert_eq!(time(&ok("-rw-r--r-- 1 a b 1 Dec 31 22:00 x")).0, 2023);
    // Feb 29 without a year: the latest leap year.
    let later = ts(2025, 3, 5, 0, 0);
    let e = parse_unix(&Bytes::from_static(b"-rw-r--r-- 1 a b 1 Feb 29 08:00 x"), later).unwrap();
    assert_eq!(time(&e), (2024, 2, 29, 8, 0, Precision::Minute));
}

/// Issue 16: the other type letters of GNU `ls` (`C` contiguous, `M`
/// migrated: regular files; `P` Solaris event port, `?` unknown) and of
/// the BSDs (`w` whiteout).
#[test]
fn gnu_and_bsd_type_letters() {
    for (letter, kind) in [
        ('C', EntryKind::File),
        ('M', EntryKind::File),
        ('P', EntryKind::Other(Bytes::from_static(b"P"))),
        ('w', EntryKind::Other(Bytes::from_static(b"w"))),
        ('?', EntryKind::Other(Bytes::from_static(b"?"))),
    ] {
        let line = format!("{letter}rw-r--r--   1 root     root         4096 Mar  2 15:13 thing");
        let e = ok(&line);
        assert_eq!((e.kind(), e.name()), (&kind, &b"thing"[..]), "{line}");
    }
    assert!(parse("Xrw-r--r--   1 root     root         4096 Mar  2 15:13 thing").is_err());
}

// --- CJK locales ---

/// Issue 16: servers in a Chinese, Japanese or Korean locale write the
/// month as a number with 月 or 월 (sometimes as two fields, `3 月`), the
/// day with 日 or 일, the year with 年 or 년, or the month as a bare number.
/// The first line is Apache Commons Net's `UnixFTPEntryParserTest` sample
/// (`testParseFieldsOnFileJapaneseTime`), which its default parser rejects.
#[test]
fn cjk_month_day_and_year_marks() {
    for (line, want, name) in [
        // A year-less date: the latest year not after `now` (2024-03-10).
        (
            "-rw-rw---- 1 ep1adm sapsys 0 8\u{6708} 17\u{65e5} 20:10 caerrinf",
            (2023, 8, 17, 20, 10, Precision::Minute),
            "caerrinf",
        ),
        (
            "-rw-r--r-- 1 user group 1234 3\u{c6d4} 14 2009 korean.txt",
            (2009, 3, 14, 0, 0, Precision::Day),
            "korean.txt",
        ),
        (
            "drwxr-xr-x 2 user group 4096 10\u{c6d4} 1\u{c77c} 2013\u{b144} dir",
            (2013, 10, 1, 0, 0, Precision::Day),
            "dir",
        ),
        ("-rw-r--r-- 1 u g 5 3 \u{6708} 14 2009 two tokens", (2009, 3, 14, 0, 0, Precision::Day), "two tokens"),
        (
            "-rw-r--r-- 1 u g 5 12\u{6708} 31\u{65e5} 1999\u{5e74} year mark",
            (1999, 12, 31, 0, 0, Precision::Day),
            "year mark",
        ),
        ("-rw-r--r-- 1 u g 5 03 14 2009 numeric", (2009, 3, 14, 0, 0, Precision::Day), "numeric"),
    ] {
        let e = ok(line);
        assert_eq!(time(&e), want, "{line}");
        assert_eq!(e.name(), name.as_bytes(), "{line}");
    }
    for line in ["-rw-r--r-- 1 u g 5 13\u{6708} 14 2009 f", "-rw-r--r-- 1 u g 5 3\u{6708} 32 2009 f"] {
        assert!(parse(line).is_err(), "{line}");
    }
}

// --- Rejections ---

#[test]
fn commons_net_bad_samples_are_rejected() {
    for (line, error) in [
        ("zrwxr-xr-x   2 root     root         4096 Mar  2 15:13 zxbox", UNRECOGNISED),
        ("dxrwr-xr-x   2 root     root         4096 Aug 24  2001 zxjdbc", UNRECOGNISED),
        ("drwxr-xr-x   2 root     root         4096 Jam  4 00:03 zziplib", UNRECOGNISED),
        ("drwxr-xr-x   2 root     99           4096 Feb 23 30:01 zzplayer", OUT_OF_RANGE),
        ("drwxr-xr-x   2 root     root         4096 Aug 36  2001 zztpp", OUT_OF_RANGE),
        ("-rw-r--r--   1 14       staff       80284 Aug 22  zxJDBC-1.2.3.tar.gz", UNRECOGNISED),
        ("-rw-r--r--   1 14       staff      119:26 Aug 22  2000 zxJDBC-1.2.3.zip", UNRECOGNISED),
        ("-rw-r--r--   1ftp       nogroup    126552 Jan 22  2001 zxJDBC-1.2.4.zip", UNRECOGNISED),
        ("-rw-r--r--   1 root     root       190144 2001-04-27 zxJDBC-2.0.1b1.zip", UNRECOGNISED),
        ("-rw-r--r--   1 root     root       111325 Apr -7 18:79 zxJDBC-2.0.1b1.tar.gz", UNRECOGNISED),
        ("drwxr-xr-x   2 root     99           4096Feb 23 30:01 zzplayer", UNRECOGNISED),
    ] {
        assert_eq!(parse(line).unwrap_err(), error, "{line}");
    }
}

#[test]
fn jlaffaye_unsupported_lines_are_rejected() {
    for line in [
        "d [R----F--] supervisor            512       Jan 16 18:53 login",
        "- [R----F--] rhesus             214059       Oct 20 15:27 cx.exe",
        "drwxr-xr-x    3 110      1002            3 Dec 02  209 pub",
        "modify=20150806235817;invalid;UNIX.owner=0; movies",
        "Zrwxrwxrwx   1 root     other          7 Jan 25 00:17 bin -> usr/bin",
        "000000000x ",
        // StingRay FTP Server 3.0.2 (CoreFTP issue #29): no type letter.
        "rw-rw-rw-          0  464195454  464195454 Jul  1  2016 G53_EZ_s234_Batch_01.zip",
        "08-10-15  02:04PM       <DIR>          Billing",
        "+i8388621.29609,m824255902,/,\tdev",
    ] {
        assert_eq!(parse(line).unwrap_err(), UNRECOGNISED, "{line}");
    }
}

#[test]
fn other_rejections() {
    for (line, error) in [
        ("-rw-r--r--   1 a b 1 Feb 30  2020 impossible", OUT_OF_RANGE),
        ("-rw-r--r--   1 a b 1 Feb 29  2023 not a leap year", OUT_OF_RANGE),
        ("-rw-r--r--   1 a b 1 Jan  1 12:60 x", OUT_OF_RANGE),
        ("-rw-r--r--   1 a b 1 2024-13-01 12:00 x", OUT_OF_RANGE),
        ("-rw-r--r--   1 a b 1 Jan  1 12:00", UNRECOGNISED),
        ("-rw-r--r--   1 a b 1 Jan  1 12:00 ", UNRECOGNISED),
        ("-rwxr-xr-xx  1 a b 1 Jan  1 12:00 x", UNRECOGNISED),
        ("-rwxr-xr-   1 a b 1 Jan  1 12:00 x", UNRECOGNISED),
        ("-rwqr-xr-x   1 a b 1 Jan  1 12:00 x", UNRECOGNISED),
        ("-r-xr-xr-x   1 a 1, 2 Jan  1 12:00 not a device", UNRECOGNISED),
        ("lrwxrwxrwx   1 a b 1 Jan  1 12:00  -> nameless", UNRECOGNISED),
        ("-rw-r--r--   1 Jan  1 12:00 x", UNRECOGNISED),
        ("-rw-r--r--", UNRECOGNISED),
        ("-", UNRECOGNISED),
    ] {
        assert_eq!(parse(line).unwrap_err(), error, "{line}");
    }
}

// --- Producer ---

fn produce(entry: &Entry, now: Timestamp) -> Vec<u8> {
    let mut out = BytesMut::new();
    format_unix(entry, now, &mut out);
    out.to_vec()
}

#[test]
fn format_vsftpd_layout() {
    let now = ts(2024, 3, 10, 12, 0);
    let dir = Entry::new(Bytes::from_static(b"name"), EntryKind::Directory)
        .with_size(4096)
        .with_modified(ListingTime::new(ts(2024, 3, 1, 12, 0), Precision::Minute));
    assert_eq!(produce(&dir, now), b"drwxr-xr-x    1 ftp      ftp          4096 Mar 01 12:00 name");
    let old = Entry::new(Bytes::from_static(b"old report.pdf"), EntryKind::File)
        .with_size(12_345_678)
        .with_mode(0o640)
        .with_owner(Bytes::from_static(b"alice"), Bytes::from_static(b"staff"))
        .with_modified(ListingTime::new(ts(2023, 9, 1, 8, 5), Precision::Minute));
    assert_eq!(produce(&old, now), b"-rw-r-----    1 alice    staff    12345678 Sep 01  2023 old report.pdf");
    let link =
        Entry::new(Bytes::from_static(b"link"), EntryKind::Symlink { target: Some(Bytes::from_static(b"target")) })
            .with_size(6);
    assert_eq!(produce(&link, now), b"lrwxrwxrwx    1 ftp      ftp             6 Jan 01  1970 link -> target");
    let special = Entry::new(Bytes::from_static(b"tty"), EntryKind::Other(Bytes::from_static(b"c")))
        .with_mode(0o7620)
        .with_modified(ListingTime::new(ts(2024, 3, 10, 12, 0), Precision::Second));
    assert_eq!(produce(&special, now), b"crwS-wS--T    1 ftp      ftp             0 Mar 10 12:00 tty");
    let in_future = Entry::new(Bytes::from_static(b"f"), EntryKind::File)
        .with_modified(ListingTime::new(ts(2024, 3, 11, 12, 0), Precision::Minute));
    assert_eq!(produce(&in_future, now), b"-rw-r--r--    1 ftp      ftp             0 Mar 11  2024 f");
    let day_only = Entry::new(Bytes::from_static(b"d"), EntryKind::File)
        .with_modified(ListingTime::new(ts(2024, 3, 9, 0, 0), Precision::Day));
    assert_eq!(produce(&day_only, now), b"-rw-r--r--    1 ftp      ftp             0 Mar 09  2024 d");
}

#[test]
fn format_keeps_lines_single() {
    let now = ts(2024, 3, 10, 12, 0);
    let evil = Entry::new(Bytes::from_static(b"a\r\n-rw-r--r-- 1 x x 1 Mar 01 12:00 fake"), EntryKind::File)
        .with_owner(Bytes::from_static(b"two words"), Bytes::new());
    let line = produce(&evil, now);
    assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
    let back = parse_unix(&Bytes::from(line), now).unwrap();
    assert_eq!(back.name(), b"a??-rw-r--r-- 1 x x 1 Mar 01 12:00 fake");
    assert_eq!((back.owner(), back.group()), (Some(&b"two_words"[..]), Some(&b"ftp"[..])));
}

#[test]
fn round_trips() {
    let now = ts(2024, 3, 10, 12, 0);
    let cases = [
        Entry::new(Bytes::from_static(b"  leading and trailing  "), EntryKind::File)
            .with_size(u64::MAX)
            .with_mode(0o7777)
            .with_owner(Bytes::from_static(b"1000"), Bytes::from_static(b"Mar"))
            .with_modified(ListingTime::new(ts(2024, 2, 29, 23, 59), Precision::Minute)),
        Entry::new(Bytes::from_static(b"dir"), EntryKind::Directory)
            .with_size(0)
            .with_mode(0o1777)
            .with_owner(Bytes::from_static(b"Jan"), Bytes::from_static(b"01"))
            .with_modified(ListingTime::new(ts(1999, 12, 31, 0, 0), Precision::Day)),
        Entry::new(Bytes::from_static(b"l"), EntryKind::Symlink { target: Some(Bytes::from_static(b"a -> b")) })
            .with_size(6)
            .with_mode(0o777)
            .with_owner(Bytes::from_static(b"u"), Bytes::from_static(b"g"))
            .with_modified(ListingTime::new(ts(2023, 9, 11, 7, 8), Precision::Minute)),
        Entry::new(Bytes::from_static(b"fifo"), EntryKind::Other(Bytes::from_static(b"p")))
            .with_size(0)
            .with_mode(0o600)
            .with_owner(Bytes::from_static(b"root"), Bytes::from_static(b"root"))
            .with_modified(ListingTime::new(ts(9999, 12, 31, 23, 59), Precision::Minute)),
    ];
    for entry in cases {
        let line = Bytes::from(produce(&entry, now));
        let back = parse_unix(&line, now).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
        assert_eq!(back.name(), entry.name(), "{line:?}");
        assert_eq!(back.kind(), entry.kind(), "{line:?}");
        assert_eq!((back.size(), back.mode()), (entry.size(), entry.mode()), "{line:?}");
        assert_eq!((back.owner(), back.group()), (entry.owner(), entry.group()), "{line:?}");
        let (sent, got) = (entry.modified().unwrap(), back.modified().unwrap());
        let t = sent.time();
        let expected = match got.precision() {
            Precision::Minute => (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            _ => (t.year(), t.month(), t.day(), 0, 0),
        };
        let g = got.time();
        assert_eq!((g.year(), g.month(), g.day(), g.hour(), g.minute()), expected, "{line:?}");
    }
}

#[test]
fn civil_days() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(days_from_civil(0, 1, 1), -719_528);
}

#[test]
fn no_panic_on_prefixes_of_real_lines() {
    let line = b"lrwxrwxrwx   1 root     other          7 Jan 25 00:17 bin -> usr/bin";
    for end in 0..=line.len() {
        let _ = parse_unix(&Bytes::copy_from_slice(&line[..end]), now());
    }
}
