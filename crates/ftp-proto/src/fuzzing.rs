//! Bodies of the cargo-fuzz targets (feature `__fuzz`), kept in the crate so
//! that they compile, and run in unit tests, with every `cargo test`.
//!
//! Each function panics when it finds a bug; the fuzz targets in `fuzz/` are
//! three-line shims around them.

use alloc::vec::Vec;

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;

use crate::{Command, CommandDecoder, DecodeError, ParseOptions, Reply, ReplyDecoder, ReplyError};

/// Options chosen from the input's first byte, so every leniency is fuzzed.
fn options(flags: u8) -> ParseOptions {
    ParseOptions::default()
        .allow_bare_lf(flags & 1 == 0)
        .allow_trailing_space(flags & 2 == 0)
        .allow_mismatched_multiline_end(flags & 4 != 0)
        .allow_code_only_reply(flags & 8 == 0)
        .max_line_len(if flags & 16 != 0 { 64 } else { 4096 })
        .max_reply_lines(if flags & 32 != 0 { 4 } else { 8192 })
}

/// Splits `data` into chunks whose sizes come from `sizes`, cycling.
fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes.get(i % sizes.len().max(1)).map_or(rest.len(), |&s| usize::from(s).max(1)).min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Feeds `pieces` one read at a time to a decoder, collecting every item.
fn feed<T>(opts: &ParseOptions, pieces: &[&[u8]], mut decode: impl FnMut(&mut BytesMut) -> Option<T>) -> Vec<T> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(item) = decode(&mut buf) {
            out.push(item);
        }
        // SECURITY.md F1, R1: the decoder never holds more than a line plus
        // the newest read.
        assert!(buf.len() <= opts.max_line_len_value() + piece.len(), "buffer grew past its bound");
    }
    out
}

fn decode_commands(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Command, DecodeError>> {
    let mut dec = CommandDecoder::new(opts.clone());
    feed(opts, pieces, |buf| dec.decode(buf))
}

fn decode_replies(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Reply, ReplyError>> {
    let mut dec = ReplyDecoder::new(opts.clone());
    feed(opts, pieces, |buf| dec.decode(buf))
}

/// The same through the borrowing path (`decode_ref`), each view turned
/// into its owned value at once: it must give exactly what `decode` gives.
fn decode_commands_ref(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Command, DecodeError>> {
    let mut dec = CommandDecoder::new(opts.clone());
    feed(opts, pieces, |buf| {
        dec.decode_ref(buf).map(|item| item.and_then(|c| c.to_command().map_err(DecodeError::from)))
    })
}

/// Replies through the borrowing path (see [`decode_commands_ref`]).
fn decode_replies_ref(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Reply, ReplyError>> {
    let mut dec = ReplyDecoder::new(opts.clone());
    feed(opts, pieces, |buf| dec.decode_ref(buf).map(|item| item.map(|r| r.to_reply())))
}

fn encode_command(cmd: &Command) -> BytesMut {
    let mut out = BytesMut::new();
    cmd.encode(&mut out);
    // SECURITY.md E1: exactly one line end, at the end.
    assert!(out.ends_with(b"\r\n"));
    assert_eq!(memchr::memchr(b'\n', &out), Some(out.len() - 1), "encoded command holds a line break: {out:?}");
    out
}

/// Reads the encoding of `cmd` back with `opts`.
fn reparse_command(cmd: &Command, opts: &ParseOptions) -> Command {
    let wire = encode_command(cmd);
    let got = decode_commands(opts, &[&wire]);
    assert_eq!(got.len(), 1, "one command must decode to one item: {wire:?}");
    match got.into_iter().next() {
        Some(Ok(c)) => c,
        other => panic!("encoded {cmd:?} as {wire:?}, which decodes to {other:?}"),
    }
}

/// The options a peer reads a command back with, when the command was
/// decoded with `opts`: the same argument grammar (whether trailing spaces
/// are leniency, which decides what a blank optional argument is), the
/// default framing and limits (the encoder writes CRLF, and may write a
/// line a byte longer than it read: `LIST` ended by a bare LF, `PASS`).
fn reread_options(opts: &ParseOptions) -> ParseOptions {
    ParseOptions::default().allow_trailing_space(opts.trailing_space_allowed())
}

/// `cmd` as a peer with the default leniency reads its encoding: an
/// optional argument made only of spaces is trailing padding there, so no
/// argument. RFC 959 5.3.2 (`NLST [<SP> <pathname>]`, a pathname any
/// characters but CR and LF) makes it a pathname of spaces, which is what a
/// decoder that refuses trailing spaces returns; the wire cannot tell the
/// two apart, so only those commands read back differently.
fn as_read_leniently(cmd: &Command) -> Command {
    use crate::text::Pathname;
    use Command as C;
    fn blank(bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| b == b' ')
    }
    let path = |p: &Option<Pathname>| p.clone().filter(|p| !blank(p.as_bytes()));
    match cmd {
        C::Stou(p) => C::Stou(path(p)),
        C::List(p) => C::List(path(p)),
        C::Nlst(p) => C::Nlst(path(p)),
        C::Stat(p) => C::Stat(path(p)),
        C::Mlst(p) => C::Mlst(path(p)),
        C::Mlsd(p) => C::Mlsd(path(p)),
        C::Help(t) => C::Help(t.clone().filter(|t| !blank(t.as_bytes()))),
        other => other.clone(),
    }
}

/// Arbitrary bytes, split arbitrarily, into the command decoder: no panic,
/// bounded buffer, the same items however the bytes were split, the same
/// through the borrowing path (`decode_ref`), and every decoded command
/// re-encodes to itself under the argument grammar it was decoded with,
/// and, under the default leniency, to itself but for an optional argument
/// made only of spaces, which reads as none there (RFC 959 5.3.2).
pub fn command_decode(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let opts = options(flags);
    let (sizes, input) = rest.split_at(rest.len().min(4));
    let whole = decode_commands(&opts, &[input]);
    let split = decode_commands(&opts, &chunks(input, sizes));
    let bytewise = decode_commands(&opts, &chunks(input, &[1]));
    assert_eq!(whole, split, "chunking changed the result");
    assert_eq!(whole, bytewise, "byte-at-a-time feeding changed the result");
    assert_eq!(whole, decode_commands_ref(&opts, &chunks(input, sizes)), "the borrowing path differs");
    for cmd in whole.iter().flatten() {
        assert_eq!(&reparse_command(cmd, &reread_options(&opts)), cmd);
        assert_eq!(reparse_command(cmd, &ParseOptions::default()), as_read_leniently(cmd));
        let _ = alloc::format!("{cmd} {cmd:?}");
    }
}

/// Arbitrary bytes into the reply decoder: no panic, bounded buffer, the
/// same replies however the bytes were split, and decode -> encode -> decode
/// reaches a fixed point after one pass (RFC 959 4.2 padding).
pub fn reply_decode(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let opts = options(flags);
    let (sizes, input) = rest.split_at(rest.len().min(4));
    let whole = decode_replies(&opts, &[input]);
    let split = decode_replies(&opts, &chunks(input, sizes));
    assert_eq!(whole, split, "chunking changed the result");
    assert_eq!(whole, decode_replies_ref(&opts, &chunks(input, sizes)), "the borrowing path differs");
    for reply in whole.iter().flatten() {
        let once = reencode_reply(reply);
        let twice = reencode_reply(&once);
        assert_eq!(once, twice, "reply encoding is not idempotent");
        exercise_readers(reply);
    }
}

fn reencode_reply(reply: &Reply) -> Reply {
    let mut wire = BytesMut::new();
    reply.encode(&mut wire);
    let got = decode_replies(&ParseOptions::default(), &[&wire]);
    match <[_; 1]>::try_from(got) {
        Ok([Ok(r)]) => r,
        other => panic!("encoded {reply:?} as {wire:?}, which decodes to {other:?}"),
    }
}

/// Runs every typed reader; none may panic.
fn exercise_readers(reply: &Reply) {
    let _ = reply.passive_addr();
    let _ = reply.extended_passive_port();
    let _ = reply.pathname();
    let _ = reply.size();
    let _ = reply.modification_time();
    if let Ok(features) = reply.features() {
        features.for_each(drop);
    }
    let _ = reply.transfer_size();
    let _ = reply.restart_marker();
    let _ = reply.restart_offset();
    let _ = alloc::format!("{reply} {reply:?}");
}

/// An arbitrary command: encoding then decoding gives back the same value.
pub fn command_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(cmd) = Command::arbitrary(&mut u) else { return };
    assert_eq!(reparse_command(&cmd, &ParseOptions::default()), cmd);
}

/// An arbitrary reply: encoding then decoding gives back the same value.
pub fn reply_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(reply) = Reply::arbitrary(&mut u) else { return };
    assert_eq!(reencode_reply(&reply), reply);
}

/// The data-carrying reply readers (227, 229, 257, 213, 150, 110, 350) on
/// arbitrary text under each of their codes: no panic.
pub fn reply_data(data: &[u8]) {
    for code in [110, 150, 211, 213, 227, 229, 257, 350] {
        let mut line = BytesMut::new();
        line.extend_from_slice(alloc::format!("{code} ").as_bytes());
        line.extend_from_slice(data);
        line.extend_from_slice(b"\r\n");
        for reply in decode_replies(&ParseOptions::default(), &[&line]).iter().flatten() {
            exercise_readers(reply);
        }
    }
}

/// A listing parser that needs no reference time.
type LineParser = fn(&bytes::Bytes) -> Result<crate::listing::Entry, crate::listing::ListingError>;

/// Listing lines (issue 5, SECURITY.md R4): every parser on arbitrary
/// lines, and on whole bodies; no panic; an entry's name is a slice of its
/// line; what the MLSx and Unix producers write parses back to the same
/// name, kind and size.
pub fn listing(data: &[u8]) {
    use crate::listing;
    let now = crate::Timestamp::new(2024, 6, 15, 12, 0, 0).expect("valid");
    let body = bytes::Bytes::copy_from_slice(data);
    for entry in listing::parse_list(&body, now) {
        let _ = alloc::format!("{entry:?}");
    }
    for line in body.split(|&b| b == b'\n') {
        let line = body.slice_ref(line.strip_suffix(b"\r").unwrap_or(line));
        if line.is_empty() {
            continue;
        }
        let parsers: [LineParser; 6] = [
            listing::parse_mlsx,
            listing::parse_dos,
            listing::parse_eplf,
            listing::parse_vms,
            listing::parse_os400,
            listing::parse_mvs,
        ];
        let mut entries: Vec<listing::Entry> = parsers.iter().filter_map(|p| p(&line).ok()).collect();
        entries.extend(listing::parse_unix(&line, now).ok());
        entries.extend(listing::parse_netware(&line, now).ok());
        entries.extend(listing::parse_list_line(&line, now).ok());
        for e in &entries {
            assert!(!e.name().is_empty() || e.format() == listing::Format::Mlsx, "empty name from {line:?}");
        }
        if let Ok(e) = listing::parse_mlsx(&line) {
            let mut out = BytesMut::new();
            listing::format_mlsx(&e, &["type", "size", "modify", "perm", "unique", "UNIX.mode"], &mut out);
            // A line with no facts starts with a space, and a name that also
            // starts with spaces is ambiguous in RFC 3659 itself (MLSD line or
            // MLST line): the round trip is checked when a fact was written.
            if memchr::memchr2(b'\r', b'\n', e.name()).is_none() && !out.is_empty() && out[0] != b' ' {
                let again = listing::parse_mlsx(&out.freeze()).expect("format_mlsx output parses");
                assert_eq!(again.name(), e.name());
                // Values that cannot be written safely (`;`, space, CR, LF)
                // are left out by the producer; the standard types always are.
                if matches!(
                    e.kind(),
                    listing::EntryKind::File
                        | listing::EntryKind::Directory
                        | listing::EntryKind::CurrentDir
                        | listing::EntryKind::ParentDir
                ) {
                    assert_eq!(again.kind(), e.kind());
                }
                assert_eq!(again.size(), e.size());
            }
        }
    }
}

/// Runs one listing parser on every line of `data` (SECURITY.md R4): no
/// panic, and an entry keeps its line as `raw` and has a name.
fn listing_lines(data: &[u8], parse: impl Fn(&bytes::Bytes) -> Option<crate::listing::Entry>) {
    let body = bytes::Bytes::copy_from_slice(data);
    for line in body.split(|&b| b == b'\n') {
        let line = body.slice_ref(line.strip_suffix(b"\r").unwrap_or(line));
        if let Some(e) = parse(&line) {
            assert_eq!(e.raw(), &line[..], "an entry keeps its line");
            assert!(!e.name().is_empty() || e.format() == crate::listing::Format::Mlsx);
        }
    }
}

fn fuzz_now() -> crate::Timestamp {
    crate::Timestamp::new(2024, 6, 15, 12, 0, 0).expect("valid")
}

/// Unix `ls -l` lines; a parsed entry written back by `format_unix` parses
/// to the same name, kind and size.
pub fn listing_unix(data: &[u8]) {
    use crate::listing;
    listing_lines(data, |l| {
        let e = listing::parse_unix(l, fuzz_now()).ok()?;
        let mut out = BytesMut::new();
        listing::format_unix(&e, fuzz_now(), &mut out);
        let symlink_arrow =
            matches!(e.kind(), listing::EntryKind::Symlink { .. }) && memchr::memmem::find(e.name(), b" ->").is_some();
        if memchr::memchr2(b'\r', b'\n', e.name()).is_none() && !symlink_arrow {
            let again = listing::parse_unix(&out.freeze(), fuzz_now()).expect("format_unix output parses");
            assert_eq!(again.name(), e.name());
            // A device lists `major, minor` instead of a size; the producer
            // writes 0 for an entry without one.
            if e.size().is_some() {
                assert_eq!(again.size(), e.size());
            }
        }
        Some(e)
    });
}

/// Windows/IIS/DOS lines.
pub fn listing_dos(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_dos(l).ok());
}

/// EPLF lines.
pub fn listing_eplf(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_eplf(l).ok());
}

/// MLSD/MLST fact lines (the round trip is in [`listing`]).
pub fn listing_mlsx(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_mlsx(l).ok());
}

/// VMS lines (one at a time; continuation joining is in [`listing`]).
pub fn listing_vms(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_vms(l).ok());
}

/// OS/400 lines.
pub fn listing_os400(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_os400(l).ok());
}

/// MVS dataset and member lines.
pub fn listing_mvs(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_mvs(l).ok());
}

/// NetWare lines.
pub fn listing_netware(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_netware(l, fuzz_now()).ok());
}

/// MVS JES job list lines.
pub fn listing_mvs_jes(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_mvs_jes(l).ok());
}

/// Enterprise Unix lines.
pub fn listing_enterprise(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_enterprise_unix(l, fuzz_now()).ok());
}

/// Stratus VOS lines, read as each section's.
pub fn listing_vos(data: &[u8]) {
    use crate::listing::{VosSection, parse_vos};
    listing_lines(data, |l| {
        [VosSection::Files, VosSection::Dirs, VosSection::Links].into_iter().find_map(|s| parse_vos(l, s).ok())
    });
}

/// OS/2 lines.
pub fn listing_os2(data: &[u8]) {
    listing_lines(data, |l| crate::listing::parse_os2(l).ok());
}

/// `NLST`/`LIST` patterns (SECURITY.md P3): the bytes up to the first LF
/// are a pattern, the rest a name. Matching never panics; a pattern without
/// wildcards matches exactly the name equal to it; `*` followed by a
/// literal tail matches every name that ends with the tail (and does not
/// start with `.`).
pub fn glob(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (pattern, name) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(glob) = crate::glob::Glob::new(bytes::Bytes::copy_from_slice(pattern)) else { return };
    let matched = glob.matches(name);
    if !crate::glob::has_wildcards(pattern) {
        assert_eq!(matched, pattern == name, "a literal pattern matches itself only");
    }
    if let Some(tail) = pattern.strip_prefix(b"*")
        && !crate::glob::has_wildcards(tail)
        && name.first() != Some(&b'.')
    {
        assert_eq!(matched, name.ends_with(tail), "`*tail` is `ends_with`");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 959 5.3.2, `NLST [<SP> <pathname>]` with `<pathname> ::=
    /// <string>` of any characters but CR and LF: with trailing spaces
    /// refused, `NLST  ` is NLST of the pathname ` `; with the default
    /// leniency it is NLST with trailing padding, no argument. The check
    /// once read every decoded command back with the default options, and
    /// failed on this fuzz input (flags 0x12: trailing spaces refused, a
    /// 64-byte line cap), seed `fuzz/corpus/command_decode/seed-blank-arg`.
    #[test]
    fn rfc959_5_3_2_blank_optional_argument_reads_back_under_its_own_grammar() {
        command_decode(b"\x12\x19\x25\x26\x25NLST  \r\n");
        for verb in ["STOU", "LIST", "NLST", "STAT", "MLST", "MLSD", "HELP"] {
            for blank in [" ", "  ", "   "] {
                let line = alloc::format!("{verb} {blank}\r\n");
                for flags in 0..=u8::MAX {
                    command_decode(&[&[flags, 1, 2, 3, 4], line.as_bytes()].concat());
                }
                let strict = decode_commands(&ParseOptions::strict(), &[line.as_bytes()]);
                let lenient = decode_commands(&ParseOptions::default(), &[line.as_bytes()]);
                let ([Ok(strict)], [Ok(lenient)]) = (&strict[..], &lenient[..]) else {
                    panic!("{line:?}: {strict:?} {lenient:?}")
                };
                assert_eq!(strict.to_string(), alloc::format!("{verb} {blank}"), "a pathname (text) of spaces");
                assert_eq!(lenient.to_string(), verb, "no argument");
                assert_eq!(&as_read_leniently(strict), lenient);
                assert_eq!(&reparse_command(strict, &ParseOptions::strict()), strict);
                assert_eq!(&reparse_command(strict, &ParseOptions::default()), lenient);
            }
        }
    }

    /// The fuzz bodies on a few fixed inputs, so `cargo test` runs them.
    #[test]
    fn fuzz_bodies_run_on_seeds() {
        let seeds: &[&[u8]] = &[
            b"\x00\x03\x01\x07USER anonymous\r\nPASS \r\nEPSV ALL\r\nRETR a b\xff\xff\r\n",
            b"\x01\x02\x02\x02\xff\xf4\xff\xf2ABOR\nTYPE L 8\r\nMFMT 20240101000000 x y\r\n",
            b"\x10\x01\x01\x01AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nNOOP\r\n",
        ];
        for s in seeds {
            command_decode(s);
            reply_decode(s);
            command_roundtrip(s);
            reply_roundtrip(s);
            reply_data(s);
            listing(s);
            for f in [
                listing_unix,
                listing_dos,
                listing_eplf,
                listing_mlsx,
                listing_vms,
                listing_os400,
                listing_mvs,
                listing_netware,
                listing_os2,
                listing_mvs_jes,
                listing_enterprise,
                listing_vos,
                glob,
            ] {
                f(s);
            }
        }
        reply_decode(b"\x00\x05\x05\x05\x05211-Features:\r\n EPSV\r\n211-MDTM\r\n211 End\r\n227 Entering Passive Mode (1,2,3,4,5,6).\r\n");
    }
}
