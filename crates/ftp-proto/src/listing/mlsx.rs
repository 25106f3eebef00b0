//! RFC 3659 section 7 machine listings: `MLSD` data lines and `MLST` fact
//! lines, parsed and produced.
//!
//! ```text
//! entry     = [ facts ] SP pathname            (RFC 3659 7.2)
//! facts     = 1*( fact ";" )
//! fact      = factname "=" value
//! ```
//!
//! The fact list holds no space, so the pathname is everything after the
//! first space of the line: it may hold spaces, `;` and `=`, and may begin
//! with spaces of its own (RFC 3659 7.7.4's `" leading space"`).

use bytes::{Bytes, BytesMut};

use super::{Entry, EntryKind, Format, ListingError, ListingTime, Precision};
use crate::time::Timestamp;

const UNRECOGNISED: ListingError = ListingError::Unrecognised(Format::Mlsx);
const OUT_OF_RANGE: ListingError = ListingError::OutOfRange(Format::Mlsx);

/// Parses one RFC 3659 section 7 listing line: an `MLSD` data line
/// (`facts SP pathname`) or an `MLST` fact line from a `250-` reply, whose
/// single leading space is skipped. The line is given without its line end.
///
/// Accepts what the servers of RFC 3659 section 7.7's examples, ProFTPD
/// (`mod_facts`), Pure-FTPd and other MLSx servers send:
///
/// ```text
/// line      = [ SP ] facts SP pathname     ; the SP of an MLST line is optional
///           / SP pathname                  ; MLSD line with no facts
///           / SP SP pathname               ; MLST line with no facts
/// facts     = *( fact ";" ) [ fact ]       ; a missing last ";" is tolerated (7.7.4)
/// fact      = factname "=" value           ; names compare case-insensitively
/// ```
///
/// - `type`: `file`, `dir`, `cdir`, `pdir` (any case) give
///   [`EntryKind::File`], [`Directory`](EntryKind::Directory),
///   [`CurrentDir`](EntryKind::CurrentDir), [`ParentDir`](EntryKind::ParentDir);
///   `OS.unix=slink[:target]` and `OS.unix=symlink[:target]` a
///   [`Symlink`](EntryKind::Symlink) (Pure-FTPd and the RFC send the target,
///   ProFTPD does not); any other value (`OS.unix=chr-13/29`) is kept as
///   [`EntryKind::Other`]. Without a `type` fact the kind is unknown:
///   `Other` with an empty value.
/// - `size` (or `sizd`, which Pure-FTPd sends for directories, used only
///   when there is no `size`): decimal digits.
/// - `modify`, `create`: RFC 3659 2.3 `time-val`, precision
///   [`Precision::Second`] or, with a fraction, [`Precision::Fraction`].
/// - `UNIX.mode`: octal (`0644`), kept as the permission bits (`& 0o7777`).
/// - `UNIX.owner`/`UNIX.uid`, `UNIX.group`/`UNIX.gid`, `perm`, `unique`:
///   kept as sent.
/// - Every other fact (`lang`, `media-type`, `charset`, `UNIX.ownername`,
///   `x.*`...) is kept in [`Entry::facts`] as sent, and so is a repeated
///   fact after its first occurrence.
///
/// A line starting with one space followed by a valid fact list and a space
/// is read as an `MLST` line; otherwise the space is the separator of an
/// `MLSD` line without facts. The two readings differ only for an `MLSD`
/// line without facts whose name looks like `facts SP name`, which no
/// server sends (a server that omits all facts still lists files).
///
/// # Errors
/// - [`ListingError::NotAnEntry`] for an empty line, or a line with neither
///   facts nor name.
/// - [`ListingError::Unrecognised`] for a line without a space, a fact list
///   whose last fact is not followed by `;` (RFC 3659 7.2; even the RFC's
///   own example in 7.7.4 lacks it), a fact without `=` or with an empty
///   name, a `size`, `modify`, `create` or `UNIX.mode`
///   value that is not in its syntax.
/// - [`ListingError::OutOfRange`] for a size beyond `u64`, a date that does
///   not exist (30 February), a mode beyond `u32`.
pub fn parse_mlsx(line: &Bytes) -> Result<Entry, ListingError> {
    let s: &[u8] = line;
    let (facts_at, name_at) = split_line(s)?;
    if facts_at.is_empty() && name_at >= s.len() {
        return Err(ListingError::NotAnEntry);
    }
    let mut entry = Entry::parsed(line, Format::Mlsx, line.slice(name_at..), EntryKind::Other(Bytes::new()));
    let mut seen = Seen::default();
    let mut from = facts_at.start;
    while from < facts_at.end {
        let end = memchr::memchr(b';', &s[from..facts_at.end]).map_or(facts_at.end, |i| from + i);
        if end > from {
            // `split_line` checked that the fact has a name and an `=`.
            let eq = memchr::memchr(b'=', &s[from..end]).map_or(end, |i| from + i);
            let value_at = (eq + 1).min(end);
            apply_fact(&mut entry, &mut seen, line, from..eq, value_at..end)?;
        }
        from = end + 1;
    }
    Ok(entry)
}

/// Which typed facts a line has already given (the first one wins).
#[derive(Default)]
struct Seen {
    kind: bool,
    size: bool,
    sizd: bool,
    modify: bool,
    create: bool,
    mode: bool,
    owner: bool,
    group: bool,
    perm: bool,
    unique: bool,
    /// Where the `sizd` fact in use is: a later `size` overrides it and
    /// moves it to the other facts.
    sizd_at: Option<(core::ops::Range<usize>, core::ops::Range<usize>)>,
}

/// Splits a line into its fact list and the start of its name.
fn split_line(s: &[u8]) -> Result<(core::ops::Range<usize>, usize), ListingError> {
    if s.is_empty() {
        return Err(ListingError::NotAnEntry);
    }
    if s[0] == b' ' {
        // MLST line (` facts SP name`, `  name`) or MLSD line without facts
        // (` name`).
        if s.get(1) == Some(&b' ') {
            return Ok((1..1, 2));
        }
        if let Some(i) = memchr::memchr(b' ', &s[1..]) {
            let end = 1 + i;
            if facts_well_formed(&s[1..end]) {
                return Ok((1..end, end + 1));
            }
        }
        return Ok((1..1, 1));
    }
    let end = memchr::memchr(b' ', s).ok_or(UNRECOGNISED)?;
    if !facts_well_formed(&s[..end]) {
        return Err(UNRECOGNISED);
    }
    Ok((0..end, end + 1))
}

/// Whether the fact list is RFC 3659 7.2's `1*(factname "=" value ";")`:
/// it ends with `;` (the one before the space that precedes the name), and
/// every fact has a name and an `=` (its value may be empty). Empty pieces
/// (`;;`) are tolerated.
fn facts_well_formed(facts: &[u8]) -> bool {
    facts.ends_with(b";")
        && facts[..facts.len() - 1]
            .split(|&b| b == b';')
            .all(|fact| fact.is_empty() || memchr::memchr(b'=', fact).is_some_and(|eq| eq > 0))
}

/// Stores one fact in the entry.
fn apply_fact(
    entry: &mut Entry,
    seen: &mut Seen,
    line: &Bytes,
    name: core::ops::Range<usize>,
    value: core::ops::Range<usize>,
) -> Result<(), ListingError> {
    let n: &[u8] = &line[name.clone()];
    let v: &[u8] = &line[value.clone()];
    let is = |known: &str| n.eq_ignore_ascii_case(known.as_bytes());
    if is("type") && !seen.kind {
        seen.kind = true;
        entry.kind = parse_type(line, value);
    } else if is("size") && !seen.size {
        seen.size = true;
        entry.size = Some(decimal(v)?);
        if let Some((n, v)) = seen.sizd_at.take() {
            entry.facts.push((line.slice(n), line.slice(v)));
        }
    } else if is("sizd") && !seen.size && !seen.sizd {
        seen.sizd = true;
        entry.size = Some(decimal(v)?);
        seen.sizd_at = Some((name, value));
    } else if is("modify") && !seen.modify {
        seen.modify = true;
        entry.modified = Some(time_val(v)?);
    } else if is("create") && !seen.create {
        seen.create = true;
        entry.created = Some(time_val(v)?);
    } else if is("UNIX.mode") && !seen.mode {
        seen.mode = true;
        entry.mode = Some(octal(v)? & 0o7777);
    } else if (is("UNIX.owner") || is("UNIX.uid")) && !seen.owner {
        seen.owner = true;
        entry.owner = Some(line.slice(value));
    } else if (is("UNIX.group") || is("UNIX.gid")) && !seen.group {
        seen.group = true;
        entry.group = Some(line.slice(value));
    } else if is("perm") && !seen.perm {
        seen.perm = true;
        entry.perm = Some(line.slice(value));
    } else if is("unique") && !seen.unique {
        seen.unique = true;
        entry.unique = Some(line.slice(value));
    } else {
        entry.facts.push((line.slice(name), line.slice(value)));
    }
    Ok(())
}

/// The `type` fact (RFC 3659 7.5.1).
fn parse_type(line: &Bytes, value: core::ops::Range<usize>) -> EntryKind {
    let v: &[u8] = &line[value.clone()];
    if v.eq_ignore_ascii_case(b"file") {
        return EntryKind::File;
    }
    if v.eq_ignore_ascii_case(b"dir") {
        return EntryKind::Directory;
    }
    if v.eq_ignore_ascii_case(b"cdir") {
        return EntryKind::CurrentDir;
    }
    if v.eq_ignore_ascii_case(b"pdir") {
        return EntryKind::ParentDir;
    }
    for prefix in [&b"OS.unix=slink"[..], b"OS.unix=symlink"] {
        if v.len() >= prefix.len() && v[..prefix.len()].eq_ignore_ascii_case(prefix) {
            match v.get(prefix.len()) {
                None => return EntryKind::Symlink { target: None },
                Some(b':') => {
                    let at = value.start + prefix.len() + 1;
                    return EntryKind::Symlink { target: Some(line.slice(at..value.end)) };
                }
                Some(_) => {}
            }
        }
    }
    EntryKind::Other(line.slice(value))
}

/// `1*DIGIT` as a `u64`.
fn decimal(v: &[u8]) -> Result<u64, ListingError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(UNRECOGNISED);
    }
    v.iter().try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))).ok_or(OUT_OF_RANGE)
}

/// `1*ODIGIT` as a `u32`.
fn octal(v: &[u8]) -> Result<u32, ListingError> {
    if v.is_empty() || !v.iter().all(|d| (b'0'..=b'7').contains(d)) {
        return Err(UNRECOGNISED);
    }
    v.iter().try_fold(0u32, |acc, d| acc.checked_mul(8)?.checked_add(u32::from(d - b'0'))).ok_or(OUT_OF_RANGE)
}

/// RFC 3659 2.3 `time-val`: `14DIGIT [ "." 1*DIGIT ]` (at most 9 fraction
/// digits, what [`Timestamp`] keeps).
fn time_val(v: &[u8]) -> Result<ListingTime, ListingError> {
    let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    let (whole, fraction) = match v.get(14..) {
        Some([]) => (v, None),
        Some([b'.', f @ ..]) => (&v[..14], Some(f)),
        _ => return Err(UNRECOGNISED),
    };
    if !digits(whole) || fraction.is_some_and(|f| f.is_empty() || f.len() > 9 || !digits(f)) {
        return Err(UNRECOGNISED);
    }
    let time = Timestamp::parse(v).map_err(|_| OUT_OF_RANGE)?;
    let precision = if fraction.is_some() { Precision::Fraction } else { Precision::Second };
    // RFC 3659 2.3: MLSx times are UTC.
    Ok(ListingTime::utc(time, precision))
}

/// The facts [`format_mlsx`] can write, in their canonical spelling.
const WRITABLE: [&str; 12] = [
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

/// Whether a value can stand in a fact list: no `;` (it ends the fact), no
/// space (it ends the list) and no line break.
fn fact_safe(v: &[u8]) -> bool {
    !v.iter().any(|&b| matches!(b, b';' | b' ' | b'\r' | b'\n'))
}

/// Writes one listing line for `entry` as RFC 3659 section 7.2 defines it,
/// `fact=value;...; name`, without a line end: an `MLSD` data line as is,
/// an `MLST` fact line once the caller puts the one leading space before it
/// (and the 250 reply's encoding, with its Telnet escaping, around it).
///
/// `facts` are the facts to give, in order, as the client selected them
/// with `OPTS MLST` (names compare case-insensitively, repeats are written
/// once): `type`, `size`, `modify`, `create`, `perm`, `unique`,
/// `UNIX.mode`, `UNIX.owner`, `UNIX.group`, `lang`, `media-type`, `charset`.
/// Other names are skipped, and so is a fact the entry has no value for.
/// Fact names are written in the spelling above; values as held, except:
///
/// - `type` is `file`, `dir`, `cdir`, `pdir`, `OS.unix=slink:target` for a
///   symbolic link (the Pure-FTPd and RFC 3659 7.7.4 form; `OS.unix=slink`
///   when the target is unknown or cannot be written), or the value of
///   [`EntryKind::Other`];
/// - `modify`/`create` are RFC 3659 2.3 times (UTC, fraction as held);
/// - `UNIX.mode` is octal with a leading zero (`0644`, `04755`), as
///   ProFTPD and Pure-FTPd write it;
/// - `lang`, `media-type`, `charset` come from [`Entry::facts`].
///
/// A value holding `;`, a space, CR or LF cannot be written in a fact list
/// and its fact is skipped. A name holding CR or LF cannot be written on a
/// listing line at all (RFC 3659 2.2): nothing is written for such an
/// entry, and the caller leaves it out of the listing (`out` did not grow).
///
/// The line reads back with [`parse_mlsx`] to the same name and facts. Each
/// fact ends with `;` and one space comes before the name, the shape
/// clients split on (Python's `ftplib.mlsd` splits at the first space and
/// at each `;`). With no fact written the line is ` name`, which an `MLSD`
/// reader takes as a name without facts.
pub fn format_mlsx(entry: &Entry, facts: &[&str], out: &mut BytesMut) {
    format_mlsx_allowing(entry, facts, None, out);
}

/// [`format_mlsx`] with the `perm` fact cut down to the letters in
/// `allowed` (all of the entry's letters when `None`): the writer of
/// [`write_listing`](super::write_listing) reports only what both the
/// storage and the user allow (RFC 3659 7.5.5).
pub(crate) fn format_mlsx_allowing(entry: &Entry, facts: &[&str], allowed: Option<&[u8]>, out: &mut BytesMut) {
    if entry.name.iter().any(|&b| b == b'\r' || b == b'\n') {
        return;
    }
    let mut written = 0u16;
    for requested in facts {
        let Some(which) = WRITABLE.iter().position(|known| known.eq_ignore_ascii_case(requested)) else {
            continue;
        };
        let bit = 1u16 << which;
        if written & bit != 0 {
            continue;
        }
        written |= bit;
        write_fact(entry, which, allowed, out);
    }
    out.extend_from_slice(b" ");
    out.extend_from_slice(&entry.name);
}

/// Writes `name=value;` for fact `WRITABLE[which]`, when the entry has a
/// value that can be written (for `perm`, only the letters in `allowed`).
fn write_fact(entry: &Entry, which: usize, allowed: Option<&[u8]>, out: &mut BytesMut) {
    let Some(&name) = WRITABLE.get(which) else {
        return;
    };
    let start = |out: &mut BytesMut| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=");
    };
    let bytes_fact = |out: &mut BytesMut, value: Option<&[u8]>| {
        if let Some(v) = value.filter(|v| fact_safe(v)) {
            start(out);
            out.extend_from_slice(v);
            out.extend_from_slice(b";");
        }
    };
    match name {
        "type" => {
            let (word, target): (&[u8], Option<&[u8]>) = match &entry.kind {
                EntryKind::File => (b"file", None),
                EntryKind::Directory => (b"dir", None),
                EntryKind::CurrentDir => (b"cdir", None),
                EntryKind::ParentDir => (b"pdir", None),
                EntryKind::Symlink { target } => (b"OS.unix=slink", target.as_deref().filter(|t| fact_safe(t))),
                EntryKind::Other(v) if !v.is_empty() && fact_safe(v) => (v, None),
                EntryKind::Other(_) => return,
            };
            start(out);
            out.extend_from_slice(word);
            if let Some(t) = target {
                out.extend_from_slice(b":");
                out.extend_from_slice(t);
            }
            out.extend_from_slice(b";");
        }
        "size" => {
            if let Some(size) = entry.size {
                start(out);
                crate::addr::put_u64(out, size);
                out.extend_from_slice(b";");
            }
        }
        "modify" | "create" => {
            let time = if name == "modify" { entry.modified } else { entry.created };
            if let Some(time) = time {
                start(out);
                time.time().encode(out);
                out.extend_from_slice(b";");
            }
        }
        "UNIX.mode" => {
            if let Some(mode) = entry.mode {
                use core::fmt::Write as _;
                start(out);
                // Writing to a BytesMut cannot fail.
                let _ = write!(out, "0{:o};", mode & 0o7777);
            }
        }
        "perm" => match (allowed, entry.perm.as_deref().filter(|v| fact_safe(v))) {
            (Some(allowed), Some(letters)) => {
                start(out);
                out.extend(letters.iter().filter(|b| allowed.contains(&b.to_ascii_lowercase())));
                out.extend_from_slice(b";");
            }
            (None, letters) => bytes_fact(out, letters),
            (Some(_), None) => {}
        },
        "unique" => bytes_fact(out, entry.unique.as_deref()),
        "UNIX.owner" => bytes_fact(out, entry.owner.as_deref()),
        "UNIX.group" => bytes_fact(out, entry.group.as_deref()),
        _ => {
            let value = entry.facts.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| &v[..]);
            bytes_fact(out, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn parse(line: &'static [u8]) -> Result<Entry, ListingError> {
        parse_mlsx(&Bytes::from_static(line))
    }

    fn ok(line: &'static [u8]) -> Entry {
        match parse(line) {
            Ok(e) => e,
            Err(e) => panic!("{:?}: {e:?}", crate::text::Escaped(line)),
        }
    }

    fn ts(s: &[u8]) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn format(entry: &Entry, facts: &[&str]) -> Vec<u8> {
        let mut out = BytesMut::new();
        format_mlsx(entry, facts, &mut out);
        out.to_vec()
    }

    const ALL: &[&str] = &WRITABLE;

    #[test]
    fn rfc3659_7_7_1_simple_mlst() {
        let e = ok(b" Type=file;Size=1024990;Perm=r; /tmp/cap60.pl198.tar.gz");
        assert_eq!(e.name(), b"/tmp/cap60.pl198.tar.gz");
        assert_eq!(e.kind(), &EntryKind::File);
        assert_eq!(e.size(), Some(1_024_990));
        assert_eq!(e.perm(), Some(&b"r"[..]));
        assert_eq!(e.format(), Format::Mlsx);
        assert_eq!(e.raw(), b" Type=file;Size=1024990;Perm=r; /tmp/cap60.pl198.tar.gz");
    }

    #[test]
    fn rfc3659_7_7_2_mlst_of_a_directory() {
        let e = ok(b" Type=dir;Modify=19981107085215;Perm=el; /tmp");
        assert_eq!(e.kind(), &EntryKind::Directory);
        assert_eq!(e.name(), b"/tmp");
        assert_eq!(e.modified(), Some(ListingTime::utc(ts(b"19981107085215"), Precision::Second)));
        assert_eq!(e.perm(), Some(&b"el"[..]));
    }

    #[test]
    fn rfc3659_7_7_3_mlsd_of_a_directory() {
        let e = ok(b"Type=cdir;Modify=19981107085215;Perm=el; tmp");
        assert_eq!((e.kind(), e.name()), (&EntryKind::CurrentDir, &b"tmp"[..]));
        let e = ok(b"Type=cdir;Modify=19981107085215;Perm=el; /tmp");
        assert_eq!((e.kind(), e.name()), (&EntryKind::CurrentDir, &b"/tmp"[..]));
        let e = ok(b"Type=pdir;Modify=19990112030508;Perm=el; ..");
        assert_eq!((e.kind(), e.name()), (&EntryKind::ParentDir, &b".."[..]));
        // "Perm=;": no permission at all, which is not the same as no fact.
        let e = ok(b"Type=file;Size=25730;Modify=19940728095854;Perm=; capmux.tar.z");
        assert_eq!(e.perm(), Some(&b""[..]));
        assert_eq!(e.size(), Some(25730));
        assert_eq!(e.name(), b"capmux.tar.z");
        let e = ok(b"Type=file;Size=54757;Modify=19951105101754;Perm=r; iptnnladev.1.0.sit.hqx");
        assert_eq!(e.name(), b"iptnnladev.1.0.sit.hqx");
        assert_eq!(e.modified().unwrap().time(), ts(b"19951105101754"));
    }

    #[test]
    fn rfc3659_7_7_4_a_more_complex_example() {
        // The MLST line of the example has no ";" after its last fact, which
        // section 7.2's grammar (`1*(factname "=" value ";")`) does not
        // allow: read strictly, it is an entry without facts whose name is
        // the rest of the line, and without the leading space it is no
        // entry at all.
        let e = ok(b" Type=dir;Perm=el;Unique=keVO1+ZF4 test");
        assert_eq!(
            (e.kind(), e.name()),
            (&EntryKind::Other(Bytes::new()), &b"Type=dir;Perm=el;Unique=keVO1+ZF4 test"[..])
        );
        assert_eq!(parse_mlsx(&Bytes::from_static(b"Type=dir;Perm=el;Unique=keVO1+ZF4 test")), Err(UNRECOGNISED));
        let e = ok(b" Type=dir;Perm=el;Unique=keVO1+ZF4; test");
        assert_eq!((e.kind(), e.name()), (&EntryKind::Directory, &b"test"[..]));
        assert_eq!(e.unique(), Some(&b"keVO1+ZF4"[..]));

        let e = ok(b"Type=OS.unix=slink:/foobar;Perm=;Unique=keVO1+4G4; foobar");
        assert_eq!(e.kind(), &EntryKind::Symlink { target: Some(Bytes::from_static(b"/foobar")) });
        assert_eq!(e.name(), b"foobar");
        let e = ok(b"Type=OS.unix=chr-13/29;Perm=;Unique=keVO1+5G4; device");
        assert_eq!(e.kind(), &EntryKind::Other(Bytes::from_static(b"OS.unix=chr-13/29")));
        let e = ok(b"Type=OS.unix=blk-11/108;Perm=;Unique=keVO1+6G4; block");
        assert_eq!(e.kind(), &EntryKind::Other(Bytes::from_static(b"OS.unix=blk-11/108")));
        let e = ok(b"Type=dir;Perm=cpmel;Unique=keVO1+7G4; promiscuous");
        assert_eq!(e.perm(), Some(&b"cpmel"[..]));

        // "two words" and " leading space": the pathname is everything after
        // the one space that ends the facts.
        let e = ok(b"Type=file;Perm=r;Unique=keVO1+EG4; two words");
        assert_eq!(e.name(), b"two words");
        let e = ok(b"Type=file;Perm=r;Unique=keVO1+IH4;  leading space");
        assert_eq!(e.name(), b" leading space");
        // A name of exactly three spaces (the RFC cannot print it).
        let e = ok(b"Type=file;Perm=awdrf;Unique=keVO1+LH4;    ");
        assert_eq!(e.name(), b"   ");
        let e = ok(b"Type=dir;Perm=cpmdelf;Unique=keVO1+!s2; empty");
        assert_eq!(e.unique(), Some(&b"keVO1+!s2"[..]));
    }

    #[test]
    fn rfc3659_7_7_5_more_accurate_time() {
        let e = ok(b" Type=file;Modify=19990929003355.237; file1");
        let m = e.modified().unwrap();
        assert_eq!(m.precision(), Precision::Fraction);
        assert_eq!(m.time().nanos(), 237_000_000);
        assert_eq!((m.time().hour(), m.time().minute(), m.time().second()), (0, 33, 55));
    }

    #[test]
    fn rfc3659_7_7_6_to_7_7_11_other_servers() {
        let e = ok(b" type=dir;unique=AQkAAAAAAAABCAAA; /");
        assert_eq!((e.kind(), e.name()), (&EntryKind::Directory, &b"/"[..]));
        let e = ok(b"type=file;size=12514594;unique=AQkAAAAAAAAEYAEA; linux-2.1.130.tar.gz");
        assert_eq!(e.size(), Some(12_514_594));
        let e = ok(b"Type=file;Size=699;Modify=19950911140000; no-bok");
        assert_eq!(e.name(), b"no-bok");
        // 7.7.8: fact names in any case, unique values case-sensitive.
        let e = ok(b"Type=file;Size=4096;Modify=19990929011440;Perm=r;Unique=keVO1+bD8; File1");
        assert_eq!(e.unique(), Some(&b"keVO1+bD8"[..]));
        // 7.7.9: facts in another order.
        let e = ok(b"type=file;modify=19990406234304;perm=r;size=20059; BOOTPC.C");
        assert_eq!((e.size(), e.name()), (Some(20059), &b"BOOTPC.C"[..]));
        let e = ok(b" type=file;perm=r;size=993; /misc/SRC/INSTALL/WINDOWS.C");
        assert_eq!(e.name(), b"/misc/SRC/INSTALL/WINDOWS.C");
        // 7.7.10 and 7.7.11.
        let e = ok(b"Type=cdir;Unique=AAD/AAAABIA; .");
        assert_eq!((e.kind(), e.name()), (&EntryKind::CurrentDir, &b"."[..]));
        let e = ok(b"Type=file;Unique=aaaaafUYqaaa;Perm=rf;Size=15741; x");
        assert_eq!((e.size(), e.perm()), (Some(15741), Some(&b"rf"[..])));
    }

    #[test]
    fn rfc3659_7_4_sample_facts_keep_lang_and_local_facts() {
        let e = ok(b"size=4161;lang=en-US;modify=19970214165800;create=19961001124534;type=file;x.myfact=foo,bar; f");
        assert_eq!(e.size(), Some(4161));
        assert_eq!(e.created().unwrap().time(), ts(b"19961001124534"));
        assert_eq!(
            e.facts(),
            &[
                (Bytes::from_static(b"lang"), Bytes::from_static(b"en-US")),
                (Bytes::from_static(b"x.myfact"), Bytes::from_static(b"foo,bar")),
            ]
        );
    }

    #[test]
    fn unix_facts_pure_ftpd_and_proftpd_lines() {
        // Pure-FTPd, with a name holding "; " itself.
        let e = ok(b"type=file;size=1234;modify=20240101120000;UNIX.mode=0644;UNIX.uid=1000;UNIX.gid=1000;unique=803g1a0b; file name; with semicolon.txt");
        assert_eq!(e.name(), b"file name; with semicolon.txt");
        assert_eq!(e.mode(), Some(0o644));
        assert_eq!((e.owner(), e.group()), (Some(&b"1000"[..]), Some(&b"1000"[..])));
        assert_eq!(e.unique(), Some(&b"803g1a0b"[..]));
        assert!(e.facts().is_empty());
        // ProFTPD mod_facts: numeric owner and group; the names, when sent,
        // are extra facts.
        let e = ok(b"modify=20240305101112;perm=adfrw;size=42;type=file;unique=FD00U1A2B3;UNIX.group=100;UNIX.groupname=users;UNIX.mode=0640;UNIX.owner=1000;UNIX.ownername=alice; notes.txt");
        assert_eq!((e.owner(), e.group()), (Some(&b"1000"[..]), Some(&b"100"[..])));
        assert_eq!(e.mode(), Some(0o640));
        assert_eq!(e.facts().len(), 2);
        assert_eq!(&e.facts()[1].1[..], b"alice");
        // ProFTPD lists a symbolic link without its target.
        let e = ok(
            b"modify=20240305101112;perm=adfrw;size=7;type=OS.unix=symlink;unique=FD00U1A2B4;UNIX.mode=0777; latest",
        );
        assert_eq!(e.kind(), &EntryKind::Symlink { target: None });
        // Pure-FTPd lists it with its target.
        let e = ok(b"type=OS.unix=slink:/srv/ftp/releases/1.2;size=23;modify=20240305101112;UNIX.mode=0777; current");
        assert_eq!(e.kind(), &EntryKind::Symlink { target: Some(Bytes::from_static(b"/srv/ftp/releases/1.2")) });
        // Pure-FTPd: a directory's size as sizd, setuid/setgid/sticky bits.
        let e = ok(b"type=dir;sizd=4096;modify=20070218021044;UNIX.mode=0755;UNIX.uid=32257;UNIX.gid=32259;unique=808g1550003; prog");
        assert_eq!((e.kind(), e.size(), e.mode()), (&EntryKind::Directory, Some(4096), Some(0o755)));
        let e = ok(b"type=file;size=4096;modify=20070218021044;UNIX.mode=07755;UNIX.uid=32257;UNIX.gid=32259;unique=808g1550004; prog2");
        assert_eq!(e.mode(), Some(0o7755));
        // ProFTPD's cdir and pdir lines.
        let e = ok(b"modify=20210930020540;perm=flcdmpe;type=cdir;unique=36U22;UNIX.group=65534;UNIX.mode=0755;UNIX.owner=112; .");
        assert_eq!((e.kind(), e.owner(), e.group()), (&EntryKind::CurrentDir, Some(&b"112"[..]), Some(&b"65534"[..])));
        // Fractional modify times (RFC 3659 2.3) from Windows servers.
        let e = ok(b"type=dir;modify=20231231235959.123;perm=flcdmpe; Docs and Settings");
        assert_eq!(e.name(), b"Docs and Settings");
        assert_eq!(e.modified().unwrap().precision(), Precision::Fraction);
        // RFC 3659 7.5.8 and 7.5.9: media-type and charset stay as facts.
        let e = ok(b"Type=file;Size=10;Modify=20240101000000;media-type=text/plain;charset=UTF-8; a=b.txt");
        assert_eq!(e.name(), b"a=b.txt");
        assert_eq!(e.facts().len(), 2);
    }

    #[test]
    fn fact_names_and_type_values_are_case_insensitive() {
        let e = ok(b"TYPE=DIR;SIZE=1;MODIFY=20240101000000;unix.MODE=755;Unix.Owner=root;UNIX.GROUP=wheel; d");
        assert_eq!(e.kind(), &EntryKind::Directory);
        assert_eq!(e.mode(), Some(0o755));
        assert_eq!(e.owner(), Some(&b"root"[..]));
        assert_eq!(e.group(), Some(&b"wheel"[..]));
        let e = ok(b"Type=OS.UNIX=SLINK:/x; l");
        assert_eq!(e.kind(), &EntryKind::Symlink { target: Some(Bytes::from_static(b"/x")) });
        let e = ok(b"Type=Cdir; .");
        assert_eq!(e.kind(), &EntryKind::CurrentDir);
    }

    #[test]
    fn repeated_facts_first_wins_rest_kept() {
        let e = ok(b"type=file;size=1;size=2;sizd=3; f");
        assert_eq!(e.size(), Some(1));
        assert_eq!(e.facts().len(), 2);
        // sizd first, then size: size wins and sizd is kept as a fact.
        let e = ok(b"sizd=3;size=2; f");
        assert_eq!(e.size(), Some(2));
        assert_eq!(e.facts(), &[(Bytes::from_static(b"sizd"), Bytes::from_static(b"3"))]);
        let e = ok(b"type=file;type=dir; f");
        assert_eq!(e.kind(), &EntryKind::File);
    }

    #[test]
    fn empty_fact_lists() {
        // MLSD line without facts: one space, then the name.
        let e = ok(b" name");
        assert_eq!(e.name(), b"name");
        assert_eq!(e.kind(), &EntryKind::Other(Bytes::new()));
        let e = ok(b" two words");
        assert_eq!(e.name(), b"two words");
        // MLST line without facts: two spaces (RFC 3659 7.2).
        let e = ok(b"  name");
        assert_eq!(e.name(), b"name");
        // Empty pieces between semicolons are skipped.
        let e = ok(b"type=file;;size=3;; x");
        assert_eq!((e.kind(), e.size()), (&EntryKind::File, Some(3)));
        // An MLST line naming nothing (RFC 3659 7.3.1 allows an empty name).
        let e = ok(b" type=cdir; ");
        assert_eq!((e.kind(), e.name()), (&EntryKind::CurrentDir, &b""[..]));
    }

    #[test]
    fn rejected_lines() {
        use ListingError::*;
        assert_eq!(parse(b""), Err(NotAnEntry));
        assert_eq!(parse(b" "), Err(NotAnEntry));
        assert_eq!(parse(b"  "), Err(NotAnEntry));
        // No space: no name.
        assert_eq!(parse(b"type=file;size=1;"), Err(UNRECOGNISED));
        assert_eq!(parse(b"file.txt"), Err(UNRECOGNISED));
        // A fact without "=" or without a name.
        assert_eq!(parse(b"type=file;size; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"=file; f"), Err(UNRECOGNISED));
        // A Unix LIST line is not an MLSx line.
        assert_eq!(parse(b"-rw-r--r--   1 ftp ftp 1 Jan 1 00:00 x"), Err(UNRECOGNISED));
        // Typed facts out of their syntax.
        assert_eq!(parse(b"size=12a; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"size=; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"size=-1; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"modify=2024010112000; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"modify=20240101120000Z; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"modify=20240101120000.; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"modify=20240101120000.1234567890; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"UNIX.mode=0955; f"), Err(UNRECOGNISED));
        assert_eq!(parse(b"UNIX.mode=rwxr-xr-x; f"), Err(UNRECOGNISED));
        // Values out of range.
        assert_eq!(parse(b"size=18446744073709551616; f"), Err(OUT_OF_RANGE));
        assert_eq!(parse(b"size=18446744073709551615; f").unwrap().size(), Some(u64::MAX));
        assert_eq!(parse(b"modify=20230229000000; f"), Err(OUT_OF_RANGE));
        assert_eq!(parse(b"create=20231301000000; f"), Err(OUT_OF_RANGE));
        assert_eq!(parse(b"UNIX.mode=77777777777; f"), Err(OUT_OF_RANGE));
    }

    #[test]
    fn format_writes_requested_facts_in_order() {
        let e = Entry::new(Bytes::from_static(b"file name; with semicolon.txt"), EntryKind::File)
            .with_size(1234)
            .with_modified(ListingTime::utc(ts(b"20240101120000"), Precision::Second))
            .with_mode(0o644)
            .with_owner(Bytes::from_static(b"1000"), Bytes::from_static(b"1000"))
            .with_unique(Bytes::from_static(b"803g1a0b"));
        assert_eq!(
            format(&e, &["type", "size", "modify", "UNIX.mode", "UNIX.owner", "UNIX.group", "unique"]),
            b"type=file;size=1234;modify=20240101120000;UNIX.mode=0644;UNIX.owner=1000;UNIX.group=1000;unique=803g1a0b; file name; with semicolon.txt"
        );
        // Order as asked, names in any case, repeats and unknown names
        // skipped, facts without a value skipped.
        assert_eq!(
            format(&e, &["Size", "TYPE", "size", "x.foo", "perm", "create", "lang"]),
            b"size=1234;type=file; file name; with semicolon.txt"
        );
        assert_eq!(format(&e, &[]), b" file name; with semicolon.txt");
    }

    #[test]
    fn format_types_and_times() {
        let at = |k: EntryKind| format(&Entry::new(Bytes::from_static(b"n"), k), &["type"]);
        assert_eq!(at(EntryKind::Directory), b"type=dir; n");
        assert_eq!(at(EntryKind::CurrentDir), b"type=cdir; n");
        assert_eq!(at(EntryKind::ParentDir), b"type=pdir; n");
        assert_eq!(
            at(EntryKind::Symlink { target: Some(Bytes::from_static(b"/foobar")) }),
            b"type=OS.unix=slink:/foobar; n"
        );
        assert_eq!(
            at(EntryKind::Symlink { target: Some(Bytes::from_static(b"My Documents")) }),
            b"type=OS.unix=slink; n"
        );
        assert_eq!(at(EntryKind::Symlink { target: None }), b"type=OS.unix=slink; n");
        assert_eq!(at(EntryKind::Other(Bytes::from_static(b"OS.unix=chr-13/29"))), b"type=OS.unix=chr-13/29; n");
        assert_eq!(at(EntryKind::Other(Bytes::new())), b" n");
        let t = ts(b"19990929003355.237");
        let e = Entry::new(Bytes::from_static(b"file1"), EntryKind::File)
            .with_modified(ListingTime::utc(t, Precision::Fraction))
            .with_mode(0o4755);
        assert_eq!(
            format(&e, &["type", "modify", "UNIX.mode"]),
            b"type=file;modify=19990929003355.237;UNIX.mode=04755; file1"
        );
    }

    #[test]
    fn format_skips_values_that_would_break_the_line() {
        let e = Entry::new(Bytes::from_static(b"x"), EntryKind::File)
            .with_perm(Bytes::from_static(b"r;w"))
            .with_unique(Bytes::from_static(b"a b"))
            .with_owner(Bytes::from_static(b"o\r\n"), Bytes::from_static(b"g"));
        assert_eq!(format(&e, ALL), b"type=file;UNIX.group=g; x");
        // A name with a line break is not written at all (RFC 3659 2.2).
        for name in [&b"a\r\nb"[..], b"a\nb", b"a\r"] {
            let e = Entry::new(Bytes::copy_from_slice(name), EntryKind::File);
            assert_eq!(format(&e, ALL), b"");
        }
    }

    #[test]
    fn format_lang_media_type_charset_from_parsed_facts() {
        let e = ok(b"Type=file;Size=10;Lang=en-US;Media-Type=text/plain;CharSet=ISO-8859-1;x.y=z; a");
        assert_eq!(format(&e, ALL), b"type=file;size=10;lang=en-US;media-type=text/plain;charset=ISO-8859-1; a");
    }

    #[test]
    fn round_trip_parse_format_parse() {
        let lines: [&'static [u8]; 6] = [
            b"type=file;size=1234;modify=20240101120000;unique=803g1a0b;UNIX.mode=0644;UNIX.owner=1000;UNIX.group=1000; file name; with semicolon.txt",
            b"type=OS.unix=slink:/foobar;perm=;unique=keVO1+4G4; foobar",
            b"type=file;perm=r;unique=keVO1+IH4;  leading space",
            b"type=file;perm=awdrf;unique=keVO1+LH4;    ",
            b"type=dir;modify=19990929003355.237;create=19990101000000;perm=cpmel; a=b; c=d",
            b"type=OS.unix=chr-13/29;perm=; device",
        ];
        for line in lines {
            let first = ok(line);
            let written = format(&first, ALL);
            assert_eq!(written, line, "byte-exact for canonical lines");
            let again = parse_mlsx(&Bytes::from(written.clone())).unwrap();
            assert_eq!(again.name(), first.name());
            assert_eq!(again.kind(), first.kind());
            // And as an MLST line.
            let mut mlst = vec![b' '];
            mlst.extend_from_slice(&written);
            let mlst = parse_mlsx(&Bytes::from(mlst)).unwrap();
            assert_eq!((mlst.name(), mlst.kind(), mlst.unique()), (first.name(), first.kind(), first.unique()));
        }
    }

    #[test]
    fn zero_copy_slices_of_the_line() {
        let line = Bytes::from_static(b"type=file;UNIX.owner=bob;x.k=v; the name");
        let e = parse_mlsx(&line).unwrap();
        let inside = |b: &[u8]| line.as_ptr_range().contains(&b.as_ptr());
        assert!(inside(e.name()));
        assert!(inside(e.owner().unwrap()));
        assert!(inside(&e.facts()[0].1));
    }
}
