//! Property tests for the RFC 3659 section 7 listing codec: every entry
//! `format_mlsx` writes reads back with `parse_mlsx` to the same name and
//! facts (as an `MLSD` line and as an `MLST` line), the written line is
//! byte-stable, and `parse_mlsx` never panics and only returns slices of
//! its line. Also the server-side body writer (`write_listing`): RFC 3659
//! section 7.5.5 `perm` letters never promise more than the user's
//! permissions allow, and RFC 959 / RFC 3659 section 7.2 bodies are
//! CRLF-terminated lines, one per writable entry.

use bytes::{Bytes, BytesMut};
use ftp_proto::Timestamp;
use ftp_proto::listing::{
    Entry, EntryKind, Format, ListingStyle, ListingTime, Perms, Precision, format_mlsx, parse_mlsx, write_listing,
};
use proptest::collection::vec;
use proptest::prelude::*;

const ALL: &[&str] = &[
    "type",
    "size",
    "modify",
    "create",
    "perm",
    "unique",
    "UNIX.mode",
    "UNIX.owner",
    "UNIX.group",
    "lang",
    "media-type",
    "charset",
];

/// Bytes that may stand in a fact value.
fn fact_safe(v: &[u8]) -> bool {
    !v.iter().any(|&b| matches!(b, b';' | b' ' | b'\r' | b'\n'))
}

/// Names: any bytes but CR and LF, with spaces, `;` and `=` made common.
fn name() -> impl Strategy<Value = Vec<u8>> {
    let tricky = prop::sample::select(vec![b' ', b';', b'=', b'a', b'.', b'/', b'\t', 0x00, 0xFF, 0xC3, 0xA9]);
    prop_oneof![
        vec(any::<u8>().prop_filter("no line break", |b| *b != b'\r' && *b != b'\n'), 0..48),
        vec(tricky, 0..16),
        prop::sample::select(vec![
            &b" leading space"[..],
            b"   ",
            b"file name; with semicolon.txt",
            b"type=file; x",
            b"a=b;c=d e",
            b"",
            b"..",
            b"trailing ",
        ])
        .prop_map(<[u8]>::to_vec),
    ]
}

/// Fact values: mostly safe, sometimes holding what cannot be written.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[A-Za-z0-9+/!?._-]{0,12}".prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..12),
        1 => "[a-z]{1,4}[; ][a-z]{0,4}".prop_map(String::into_bytes),
    ]
}

fn timestamp() -> impl Strategy<Value = (Timestamp, Precision)> {
    (0u16..=9999, 1u8..=12, 1u8..=28, 0u8..=23, 0u8..=59, 0u8..=60, prop::option::of((1u8..=9, any::<u32>()))).prop_map(
        |(y, mo, d, h, mi, s, fraction)| {
            let t = Timestamp::new(y, mo, d, h, mi, s).unwrap();
            match fraction {
                None => (t, Precision::Second),
                Some((digits, v)) => {
                    let v = v % 10u32.pow(u32::from(digits));
                    (t.with_fraction(v, digits).unwrap(), Precision::Fraction)
                }
            }
        },
    )
}

/// Kinds that always write a `type` fact.
fn kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        Just(EntryKind::File),
        Just(EntryKind::Directory),
        Just(EntryKind::CurrentDir),
        Just(EntryKind::ParentDir),
        prop::option::of(name()).prop_map(|t| EntryKind::Symlink { target: t.map(Bytes::from) }),
        prop::sample::select(vec!["OS.unix=chr-13/29", "OS.unix=blk-11/108", "OS.unix=fifo", "OS.z/OS=pds"])
            .prop_map(|v| EntryKind::Other(Bytes::from_static(v.as_bytes()))),
    ]
}

/// The kind a written entry reads back as.
fn expected_kind(kind: &EntryKind) -> EntryKind {
    match kind {
        EntryKind::Symlink { target: Some(t) } if !fact_safe(t) => EntryKind::Symlink { target: None },
        k => k.clone(),
    }
}

#[derive(Debug, Clone)]
struct Spec {
    name: Vec<u8>,
    kind: EntryKind,
    size: Option<u64>,
    modified: Option<(Timestamp, Precision)>,
    mode: Option<u32>,
    owner: Option<(Vec<u8>, Vec<u8>)>,
    perm: Option<Vec<u8>>,
    unique: Option<Vec<u8>>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        name(),
        kind(),
        prop::option::of(prop_oneof![any::<u64>(), 0u64..10_000]),
        prop::option::of(timestamp()),
        prop::option::of(0u32..=0o7777),
        prop::option::of((value(), value())),
        prop::option::of(prop_oneof!["[adfcemlprw]{0,10}".prop_map(String::into_bytes), value()]),
        prop::option::of(value()),
    )
        .prop_map(|(name, kind, size, modified, mode, owner, perm, unique)| Spec {
            name,
            kind,
            size,
            modified,
            mode,
            owner,
            perm,
            unique,
        })
}

fn build(s: &Spec) -> Entry {
    let mut e = Entry::new(Bytes::from(s.name.clone()), s.kind.clone());
    if let Some(size) = s.size {
        e = e.with_size(size);
    }
    if let Some((t, p)) = s.modified {
        e = e.with_modified(ListingTime::utc(t, p));
    }
    if let Some(mode) = s.mode {
        e = e.with_mode(mode);
    }
    if let Some((o, g)) = &s.owner {
        e = e.with_owner(Bytes::from(o.clone()), Bytes::from(g.clone()));
    }
    if let Some(p) = &s.perm {
        e = e.with_perm(Bytes::from(p.clone()));
    }
    if let Some(u) = &s.unique {
        e = e.with_unique(Bytes::from(u.clone()));
    }
    e
}

fn format(e: &Entry, facts: &[&str]) -> Bytes {
    let mut out = BytesMut::new();
    format_mlsx(e, facts, &mut out);
    out.freeze()
}

/// What a fact value reads back as.
fn kept(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|v| fact_safe(v))
}

fn check_round_trip(e: &Entry, line: &Bytes, asked: &[&str]) -> Result<(), TestCaseError> {
    let wants = |f: &str| asked.iter().any(|a| a.eq_ignore_ascii_case(f));
    let back = parse_mlsx(line).map_err(|err| TestCaseError::fail(format!("{err:?} for {line:?}")))?;
    prop_assert_eq!(back.name(), e.name());
    prop_assert_eq!(back.format(), Format::Mlsx);
    prop_assert_eq!(back.raw(), &line[..]);
    let kind = if wants("type") { expected_kind(e.kind()) } else { EntryKind::Other(Bytes::new()) };
    prop_assert_eq!(back.kind(), &kind);
    prop_assert_eq!(back.size(), e.size().filter(|_| wants("size")));
    prop_assert_eq!(back.modified(), e.modified().filter(|_| wants("modify")));
    prop_assert_eq!(back.mode(), e.mode().filter(|_| wants("UNIX.mode")));
    prop_assert_eq!(back.owner(), kept(e.owner()).filter(|_| wants("UNIX.owner")));
    prop_assert_eq!(back.group(), kept(e.group()).filter(|_| wants("UNIX.group")));
    prop_assert_eq!(back.perm(), kept(e.perm()).filter(|_| wants("perm")));
    prop_assert_eq!(back.unique(), kept(e.unique()).filter(|_| wants("unique")));
    prop_assert!(back.facts().is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Every fact: format -> parse gives the entry back, as an MLSD line and
    /// as an MLST line (one leading space), and the line is byte-stable.
    #[test]
    fn format_then_parse_round_trips(s in spec()) {
        let e = build(&s);
        let line = format(&e, ALL);
        prop_assert!(!line.starts_with(b" "), "a type fact is always written");
        check_round_trip(&e, &line, ALL)?;

        let mut mlst = BytesMut::from(&b" "[..]);
        mlst.extend_from_slice(&line);
        let mlst = mlst.freeze();
        let back = parse_mlsx(&mlst).unwrap();
        prop_assert_eq!(back.name(), e.name());
        prop_assert_eq!(back.kind(), &expected_kind(e.kind()));
        prop_assert_eq!(back.modified(), e.modified());

        // Byte-exact and stable: writing what was read gives the same line.
        prop_assert_eq!(format(&parse_mlsx(&line).unwrap(), ALL), line);
    }

    /// Any subset of the facts, in any order and case, with repeats and
    /// unknown names: only the requested facts come back.
    #[test]
    fn requested_facts_only(
        s in spec(),
        asked in vec(prop::sample::select(vec![
            "type", "Type", "SIZE", "size", "modify", "Modify", "perm", "unique", "UNIX.mode", "unix.MODE",
            "UNIX.owner", "UNIX.group", "x.unknown", "sizd", "lang", "",
        ]), 0..10),
    ) {
        let e = build(&s);
        let mut asked = asked;
        asked.push("type");
        let line = format(&e, &asked);
        check_round_trip(&e, &line, &asked)?;
        // Each fact is written once.
        let facts = &line[..line.iter().position(|&b| b == b' ').unwrap()];
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for fact in facts.split(|&b| b == b';').filter(|f| !f.is_empty()) {
            let name = fact.split(|&b| b == b'=').next().unwrap().to_ascii_lowercase();
            prop_assert!(!seen.contains(&name), "{:?} written twice in {:?}", name, line);
            seen.push(name);
        }
    }

    /// With no fact written the line is ` name`, which reads back as the
    /// name when it does not start with a space or `;` and has no `=`
    /// (otherwise it could be an MLST line, ` facts; name`, with no fact:
    /// see `parse_mlsx`).
    #[test]
    fn no_facts(name in "[^ =;\r\n][^=\r\n]{0,20}") {
        let e = Entry::new(Bytes::from(name.clone().into_bytes()), EntryKind::File);
        let line = format(&e, &[]);
        prop_assert_eq!(&line[..1], b" ");
        let back = parse_mlsx(&line).unwrap();
        prop_assert_eq!(back.name(), name.as_bytes());
    }

    /// Names holding CR or LF are never written (RFC 3659 2.2): nothing can
    /// end the line early.
    #[test]
    fn line_breaks_never_written(s in spec(), cut in 0usize..48, brk in prop::sample::select(vec![&b"\r"[..], b"\n", b"\r\n"])) {
        let mut s = s;
        let at = cut.min(s.name.len());
        let mut broken = s.name[..at].to_vec();
        broken.extend_from_slice(brk);
        broken.extend_from_slice(&s.name[at..]);
        s.name = broken;
        let line = format(&build(&s), ALL);
        prop_assert!(line.is_empty());
    }

    /// Arbitrary lines: no panic, and what comes back is slices of the line.
    #[test]
    fn parse_never_panics(line in prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(prop::sample::select(vec![b' ', b';', b'=', b'0', b'9', b'.', b'a', b':', b'/']), 0..64),
        "(( ?)([tT]ype|size|sizd|modify|create|UNIX\\.mode|unique|perm|x\\.y)=[0-9a-zA-Z.:/=]{0,16};){0,6}( [ -~]{0,12})?"
            .prop_map(String::into_bytes),
    ]) {
        let line = Bytes::from(line);
        if let Ok(e) = parse_mlsx(&line) {
            prop_assert!(line.ends_with(e.name()));
            let inside = |b: &[u8]| b.is_empty() || line.as_ptr_range().contains(&b.as_ptr());
            prop_assert!(inside(e.name()));
            for (n, v) in e.facts() {
                prop_assert!(inside(n) && inside(v));
            }
            for v in [e.owner(), e.group(), e.perm(), e.unique()].into_iter().flatten() {
                prop_assert!(inside(v));
            }
        }
    }
}

/// Whatever letters a storage claims, in either case, RFC 3659 7.5.5 or not.
fn letters() -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(b"acdeflmprwACDEFLMPRWxz".to_vec()), 0..12)
}

fn write_now() -> Timestamp {
    Timestamp::new(2024, 6, 1, 12, 0, 0).unwrap()
}

fn style() -> impl Strategy<Value = ListingStyle> {
    prop_oneof![Just(ListingStyle::Long), Just(ListingStyle::Names), Just(ListingStyle::Facts)]
}

proptest! {
    /// RFC 3659 7.5.5: with read-only permissions no `perm` fact holds a
    /// letter that changes anything (a, c, d, f, m, p, w), whatever the
    /// storage claims; every letter shown is one the storage gave.
    #[test]
    fn rfc3659_7_5_5_read_only_perm_never_allows_a_change(kind in kind(), claimed in letters()) {
        let entry = Entry::new(Bytes::from_static(b"x"), kind).with_perm(Bytes::from(claimed.clone()));
        let mut out = BytesMut::new();
        write_listing(&[entry], ListingStyle::Facts, &["perm"], Perms::READ_ONLY, write_now(), &mut out);
        let line = Bytes::from(out.freeze().strip_suffix(b"\r\n").unwrap().to_vec());
        let back = parse_mlsx(&line).unwrap();
        let shown = back.perm().unwrap();
        prop_assert!(!shown.iter().any(|b| b"acdfmpw".contains(&b.to_ascii_lowercase())), "{:?}", shown);
        prop_assert!(shown.iter().all(|b| claimed.contains(b)));
    }

    /// RFC 959 4.1.3 / RFC 3659 7.2: a body is one CRLF-terminated line per
    /// entry (none for a name holding CR or LF in NLST and MLSD), no other
    /// CR or LF, and writing in chunks gives the bytes of writing at once.
    #[test]
    fn rfc959_bodies_are_crlf_lines(
        names in vec(vec(any::<u8>(), 1..12), 0..8),
        style in style(),
        split in 0usize..8,
        read in any::<bool>(),
        write in any::<bool>(),
    ) {
        let entries: Vec<Entry> = names
            .iter()
            .map(|n| Entry::new(Bytes::from(n.clone()), EntryKind::File).with_perm(Bytes::from_static(b"radfw")))
            .collect();
        let perms = Perms::new(read, write);
        let facts = ["type", "perm"];
        let mut whole = BytesMut::new();
        write_listing(&entries, style, &facts, perms, write_now(), &mut whole);
        let mut chunked = BytesMut::new();
        let (a, b) = entries.split_at(split.min(entries.len()));
        write_listing(a, style, &facts, perms, write_now(), &mut chunked);
        write_listing(b, style, &facts, perms, write_now(), &mut chunked);
        prop_assert_eq!(&whole, &chunked);
        let broken = names.iter().filter(|n| n.iter().any(|&c| c == b'\r' || c == b'\n')).count();
        let lines = whole.windows(2).filter(|w| w == b"\r\n").count();
        let expected = if style == ListingStyle::Long { names.len() } else { names.len() - broken };
        prop_assert_eq!(lines, expected);
        prop_assert_eq!(whole.iter().filter(|&&c| c == b'\r' || c == b'\n').count(), 2 * lines);
        prop_assert!(whole.is_empty() || whole.ends_with(b"\r\n"));
    }
}

/// RFC 3659 section 7.2, strictly: `facts SP pathname` where the facts are
/// `1*(factname "=" value ";")`. A fact list without its final `;` before
/// the space is no MLSD entry; values may be empty; the name is every byte
/// after the first space, so a name starting with a space, or a single
/// space, is kept exactly.
#[test]
fn rfc3659_7_2_strict_entry_grammar() {
    let parse = |s: &'static [u8]| parse_mlsx(&Bytes::from_static(s));
    for line in [&b"type=file;size=3 name"[..], b"type=file size=3; name", b"=x; name", b"type; name"] {
        assert!(parse(line).is_err(), "{}", line.escape_ascii());
    }
    let e = parse(b"type=file;perm=;lang=; name").unwrap();
    assert_eq!((e.perm(), e.name()), (Some(&b""[..]), &b"name"[..]), "empty values");
    assert_eq!(parse(b"type=file;size=1;  leading").unwrap().name(), b" leading");
    assert_eq!(parse(b"type=file;size=1;  ").unwrap().name(), b" ", "a name that is one space");
    assert_eq!(parse(b"type=file;size=1; a  b ").unwrap().name(), b"a  b ");
}
