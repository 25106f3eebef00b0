//! Property tests for Unix `ls -l` listing lines: `format_unix` then
//! `parse_unix` gives back what was written (name, kind, size, mode, owner,
//! group, and the time at the precision the line carries), and the listing
//! parsers never panic, whatever the line.

use bytes::{Bytes, BytesMut};
use ftp_proto::Timestamp;
use ftp_proto::listing::{self, Entry, EntryKind, ListingTime, Precision};
use proptest::collection::vec;
use proptest::prelude::*;

/// Any valid timestamp, seconds included.
fn timestamp(years: core::ops::RangeInclusive<u16>) -> impl Strategy<Value = Timestamp> {
    (years, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, 0u8..60)
        .prop_filter_map("a day that exists", |(y, mo, d, h, mi, s)| Timestamp::new(y, mo, d, h, mi, s).ok())
}

/// A modification time and the reference time it is written against: often
/// within the last year of `now` (both sides of the six-month line), now and
/// then anywhere at all.
fn times() -> impl Strategy<Value = (Option<ListingTime>, Timestamp)> {
    let precision = prop_oneof![Just(Precision::Minute), Just(Precision::Second), Just(Precision::Day)];
    let near = (timestamp(1..=9999), 0u16..=1, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, precision.clone())
        .prop_filter_map("a day that exists", |(now, back, mo, d, h, mi, p)| {
            let t = Timestamp::new(now.year().checked_sub(back)?, mo, d, h, mi, 0).ok()?;
            Some((Some(ListingTime::new(t, p)), now))
        });
    let anywhere = (timestamp(0..=9999), timestamp(0..=9999), precision)
        .prop_map(|(t, now, p)| (Some(ListingTime::new(t, p)), now));
    let none = timestamp(1..=9999).prop_map(|now| (None, now));
    prop_oneof![6 => near, 3 => anywhere, 1 => none]
}

/// Any bytes but CR and LF, which a line cannot carry.
fn line_bytes(len: core::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'), len)
}

/// Names, with spaces (leading, trailing, repeated) and `->` made likely.
fn name() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => line_bytes(1..6),
        2 => Just(b" ".to_vec()),
        1 => Just(b"  ".to_vec()),
        1 => Just(b"->".to_vec()),
        1 => Just(b" -> ".to_vec()),
        1 => Just(b"Mar 01 12:00".to_vec()),
        1 => Just(b"\t".to_vec()),
    ];
    vec(piece, 1..6).prop_map(|pieces| pieces.concat())
}

/// Owner and group words, including ones that look like dates and numbers.
fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_.-]{0,15}".prop_map(String::into_bytes),
        2 => "[0-9]{1,10}".prop_map(String::into_bytes),
        1 => prop::sample::select(vec!["Mar", "Jan", "01", "2020", "12", "ftp-admin", "Dec"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        3 => Just(EntryKind::File),
        2 => Just(EntryKind::Directory),
        2 => prop::option::of(line_bytes(0..24))
            .prop_map(|t| EntryKind::Symlink { target: t.map(Bytes::from) }),
        1 => prop::sample::select(vec![&b"c"[..], b"b", b"p", b"s", b"D", b"n"])
            .prop_map(|l| EntryKind::Other(Bytes::from_static(l))),
    ]
}

/// Seconds since 1970 (Howard Hinnant's `days_from_civil`), to check which
/// date form the producer chose.
fn seconds(t: Timestamp) -> i64 {
    let (m, d) = (i64::from(t.month()), i64::from(t.day()));
    let y = i64::from(t.year()) - i64::from(m <= 2);
    let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

fn day(t: Timestamp) -> (u16, u8, u8) {
    (t.year(), t.month(), t.day())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn format_then_parse_round_trips(
        name in name(),
        kind in kind(),
        size in prop::option::of(any::<u64>()),
        mode in prop::option::of(0u32..=0o7777),
        ids in prop::option::of((word(), word())),
        (modified, now) in times(),
    ) {
        // format_unix's documented limit: a symlink's name must be followed
        // by the first ` -> ` of the line (else test it as a file).
        let mut probe = name.clone();
        probe.extend_from_slice(b" -> ");
        let kind = match kind {
            EntryKind::Symlink { .. } if probe.windows(4).position(|w| w == b" -> ") != Some(name.len()) => {
                EntryKind::File
            }
            kind => kind,
        };

        let mut entry = Entry::new(Bytes::from(name.clone()), kind.clone());
        if let Some(size) = size { entry = entry.with_size(size); }
        if let Some(mode) = mode { entry = entry.with_mode(mode); }
        if let Some((owner, group)) = &ids {
            entry = entry.with_owner(Bytes::from(owner.clone()), Bytes::from(group.clone()));
        }
        if let Some(m) = modified { entry = entry.with_modified(m); }

        let mut out = BytesMut::new();
        listing::format_unix(&entry, now, &mut out);
        let line = out.freeze();
        prop_assert!(!line.contains(&b'\r') && !line.contains(&b'\n'));
        let back = listing::parse_unix(&line, now);
        prop_assert!(back.is_ok(), "{:?} -> {:?}", String::from_utf8_lossy(&line), back);
        let back = back.unwrap();

        prop_assert_eq!(back.name(), &name[..]);
        prop_assert_eq!(back.kind(), &kind);
        prop_assert_eq!(back.size(), Some(size.unwrap_or(0)));
        let default_mode = match kind {
            EntryKind::Directory => 0o755,
            EntryKind::Symlink { .. } => 0o777,
            _ => 0o644,
        };
        prop_assert_eq!(back.mode(), Some(mode.unwrap_or(default_mode)));
        let (owner, group) = ids.unwrap_or((b"ftp".to_vec(), b"ftp".to_vec()));
        prop_assert_eq!(back.owner(), Some(&owner[..]));
        prop_assert_eq!(back.group(), Some(&group[..]));

        let got = back.modified().unwrap();
        match modified {
            None => {
                prop_assert_eq!(got.precision(), Precision::Day);
                prop_assert_eq!(day(got.time()), (1970, 1, 1));
            }
            Some(sent) => {
                let (t, g) = (sent.time(), got.time());
                prop_assert_eq!(day(g), day(t));
                let age = seconds(now) - seconds(t);
                let recent = sent.precision() != Precision::Day && (0..=182 * 86_400).contains(&age);
                if recent {
                    prop_assert_eq!(got.precision(), Precision::Minute);
                    prop_assert_eq!((g.hour(), g.minute(), g.second()), (t.hour(), t.minute(), 0));
                } else {
                    prop_assert_eq!(got.precision(), Precision::Day);
                    prop_assert_eq!((g.hour(), g.minute(), g.second()), (0, 0, 0));
                }
            }
        }
        // Byte-exact: the same entry written again gives the same line.
        let mut again = BytesMut::new();
        listing::format_unix(&back, now, &mut again);
        prop_assert_eq!(&again[..], &line[..]);
        // And the auto-detecting parser picks the Unix parser for it.
        prop_assert_eq!(listing::parse_list_line(&line, now).ok(), Some(back));
    }

    #[test]
    fn parsers_never_panic(
        line in prop_oneof![
            vec(any::<u8>(), 0..96),
            (
                prop::sample::select(vec![
                    &b"-rw-r--r--   1 ftp ftp  12 Mar  1 12:00 a"[..],
                    b"crw-r----- 1 root kmem 0, 27 Jan 30 11:42 kmem",
                    b"drwxr-x---+1464 chrism   chrism     41472 Feb 25 13:17 20090225",
                    b"-rw-r-----   1 neeme neeme   346 2005-04-08 11:22 services.vsp",
                    b"04-27-00  09:09PM       <DIR>          licensed",
                    b"05-26-1995  10:57AM          143,712 $LDR$",
                    b"+i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF",
                ]),
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                vec(any::<u8>(), 0..4),
            )
                .prop_map(|(base, cut, at, insert)| {
                    // A real line, truncated, with a few bytes spliced in.
                    let base = &base[..cut.index(base.len() + 1)];
                    let at = at.index(base.len() + 1);
                    [&base[..at], &insert[..], &base[at..]].concat()
                }),
        ],
        now in timestamp(0..=9999),
    ) {
        let line = Bytes::from(line);
        let _ = listing::parse_unix(&line, now);
        let _ = listing::parse_dos(&line);
        let _ = listing::parse_eplf(&line);
    }
}

proptest! {
    /// Issue 16, the OS/2 dialect: every line written in its grammar
    /// (size, attributes, DIR, MM-DD-YY, HH:MM, a name) parses back to its
    /// name, kind, size and time, through the auto-detection too; no line
    /// makes it panic.
    #[test]
    fn os2_lines_parse_back(
        size in 0u64..10_000_000_000,
        attrs in prop::sample::select(vec!["", "A", "R", "AHRS", "HS"]),
        dir in any::<bool>(),
        (month, day, year) in (1u8..=12, 1u8..=28, 0u16..=99),
        (hour, minute) in (0u8..=23, 0u8..=59),
        name in "[A-Za-z0-9_][A-Za-z0-9_ .-]{0,20}",
        junk in vec(any::<u8>(), 0..64),
    ) {
        let size = if dir { 0 } else { size };
        let marker = if dir { "DIR" } else { "" };
        let line = format!("{size:>8} {attrs:>5} {marker:>4} {month:02}-{day:02}-{year:02}   {hour:02}:{minute:02}  {name}");
        let bytes = Bytes::from(line.clone().into_bytes());
        let e = ftp_proto::listing::parse_os2(&bytes).map_err(|err| TestCaseError::fail(format!("{line:?}: {err:?}")))?;
        prop_assert_eq!(e.name(), name.as_bytes());
        prop_assert_eq!(e.kind(), if dir { &EntryKind::Directory } else { &EntryKind::File });
        prop_assert_eq!(e.size(), (!dir).then_some(size));
        let t = e.modified().unwrap().time();
        let full_year = if year >= 70 { 1900 + year } else { 2000 + year };
        prop_assert_eq!((t.year(), t.month(), t.day(), t.hour(), t.minute()), (full_year, month, day, hour, minute));
        let detected = ftp_proto::listing::parse_list_line(&bytes, Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap());
        prop_assert_eq!(detected.map(|d| d.name().to_vec()), Ok(name.into_bytes()), "{}", line);
        let _ = ftp_proto::listing::parse_os2(&Bytes::from(junk));
    }
}

proptest! {
    /// Issue 16, z/OS JES job lists: a level 1 or level 2 line written in
    /// its grammar parses back to its job id, job name and status, through
    /// the auto-detection too; no line makes it panic.
    #[test]
    fn mvs_jes_lines_parse_back(
        jobname in "[A-Z@#$][A-Z0-9@#$]{0,7}",
        prefix in prop::sample::select(vec!["JOB", "TSU", "STC"]),
        number in 0u32..100_000,
        status in prop::sample::select(vec!["INPUT", "HELD", "ACTIVE", "OUTPUT"]),
        level2 in any::<bool>(),
        spool in prop::option::of(1u32..1000),
        junk in vec(any::<u8>(), 0..64),
    ) {
        let id = format!("{prefix}{number:05}");
        let tail = spool.map(|n| format!(" {n} spool files")).unwrap_or_default();
        let line = if level2 {
            format!("{jobname:<8} {id} IBMUSER  {status} A        RC=0000{tail}")
        } else {
            format!("{jobname:<8}  {id}  {status}{tail}")
        };
        let bytes = Bytes::from(line.clone().into_bytes());
        let e = ftp_proto::listing::parse_mvs_jes(&bytes).map_err(|err| TestCaseError::fail(format!("{line:?}: {err:?}")))?;
        prop_assert_eq!(e.name(), id.as_bytes());
        let fact = |n: &str| e.facts().iter().find(|(k, _)| k.as_ref() == n.as_bytes()).map(|(_, v)| v.to_vec());
        prop_assert_eq!(fact("jobname"), Some(jobname.clone().into_bytes()));
        prop_assert_eq!(fact("status"), Some(status.as_bytes().to_vec()));
        prop_assert_eq!(fact("spool-files"), spool.map(|n| n.to_string().into_bytes()));
        let detected = ftp_proto::listing::parse_list_line(&bytes, Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap());
        prop_assert_eq!(detected.map(|d| d.name().to_vec()), Ok(id.into_bytes()), "{}", line);
        let _ = ftp_proto::listing::parse_mvs_jes(&Bytes::from(junk));
    }
}

proptest! {
    /// Issue 16, Enterprise Unix: a line in its grammar parses back to its
    /// name, size, owner and group, through the auto-detection too.
    #[test]
    fn enterprise_unix_lines_parse_back(
        flags in "[A-Z-]{10}",
        class in "[A-Z]",
        owner in "[A-Z0-9]{1,8}",
        group in "[0-9]{1,6}",
        size in any::<u64>(),
        month in prop::sample::select(vec!["Jan", "Apr", "Aug", "Dec"]),
        day in 1u8..=28,
        year in 1970u16..=2030,
        name in "[A-Za-z0-9_][A-Za-z0-9_ .]{0,20}",
    ) {
        let line = format!("{flags}FTP {class} {owner}      {group} {size:>8} {month} {day} {year} {name}");
        let bytes = Bytes::from(line.clone().into_bytes());
        let now = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
        let e = ftp_proto::listing::parse_enterprise_unix(&bytes, now)
            .map_err(|err| TestCaseError::fail(format!("{line:?}: {err:?}")))?;
        prop_assert_eq!((e.name(), e.size()), (name.as_bytes(), Some(size)));
        prop_assert_eq!((e.owner(), e.group()), (Some(owner.as_bytes()), Some(group.as_bytes())));
        let detected = ftp_proto::listing::parse_list_line(&bytes, now).map(|d| d.format());
        prop_assert_eq!(detected, Ok(ftp_proto::listing::Format::EnterpriseUnix), "{}", line);
    }
}

proptest! {
    /// Issue 16, Stratus VOS: a body of `Files:`, `Dirs:` and `Links:`
    /// sections in VOS's grammar gives each line's entry with the kind its
    /// section says, through `parse_list`.
    #[test]
    fn stratus_vos_sections_parse_back(
        files in vec(("[unerw]", 0u64..100_000, "[a-z]{3}", "[a-z][a-z0-9_.]{0,20}"), 0..4),
        dirs in vec(("[unsm]", 0u64..1000, "[a-z][a-z0-9_]{0,20}"), 0..4),
        (y, m, d, h, mi, s) in (0u16..=99, 1u8..=12, 1u8..=28, 0u8..=23, 0u8..=59, 0u8..=59),
    ) {
        let when = format!("{y:02}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
        let mut body = format!("Files: {}  Blocks: 1\r\n\r\n", files.len());
        for (access, blocks, org, name) in &files {
            body.push_str(&format!("{access} {blocks:>6} {org}       {when}  {name}\r\n"));
        }
        body.push_str(&format!("\r\nDirs: {}\r\n\r\n", dirs.len()));
        for (access, blocks, name) in &dirs {
            body.push_str(&format!("{access} {blocks:>6}  {when}  {name}\r\n"));
        }
        let entries = ftp_proto::listing::parse_list(&Bytes::from(body.clone().into_bytes()), Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap());
        prop_assert_eq!(entries.len(), files.len() + dirs.len(), "{}", body);
        for (e, (_, blocks, _, name)) in entries.iter().zip(&files) {
            prop_assert_eq!((e.name(), e.kind(), e.size()), (name.as_bytes(), &EntryKind::File, Some(blocks * 4096)));
        }
        for (e, (_, _, name)) in entries.iter().skip(files.len()).zip(&dirs) {
            prop_assert_eq!((e.name(), e.kind()), (name.as_bytes(), &EntryKind::Directory));
        }
    }
}
