//! Property tests for the decoders and encoders (SECURITY.md section 5,
//! recommendation 2): no panic on any input, chunk-invariance, bounded
//! memory, and encode -> decode round trips of every value the `arbitrary`
//! impls can build (those need `--features arbitrary`).

use bytes::BytesMut;
use ftp_proto::{Command, CommandDecoder, DecodeError, ParseOptions, Reply, ReplyDecoder, ReplyError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Options from a flag byte and a line cap, so every leniency is exercised.
fn options(flags: u8, max_line_len: usize) -> ParseOptions {
    ParseOptions::default()
        .allow_bare_lf(flags & 1 == 0)
        .allow_trailing_space(flags & 2 == 0)
        .allow_mismatched_multiline_end(flags & 4 != 0)
        .allow_code_only_reply(flags & 8 == 0)
        .max_line_len(max_line_len)
        .max_reply_lines(if flags & 16 != 0 { 3 } else { 8192 })
        .max_reply_len(if flags & 32 != 0 { 256 } else { 64 * 1024 })
}

/// Input that looks like FTP often enough to reach deep states: pieces of
/// commands, replies, line ends and Telnet sequences, mixed with raw bytes.
fn ftpish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        3 => vec(any::<u8>(), 0..8),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\r\0".to_vec()),
        1 => Just(vec![0xFF]),
        1 => Just(vec![0xFF, 0xFF]),
        1 => Just(vec![0xFF, 0xF4, 0xFF, 0xF2]),
        1 => Just(vec![0xFF, 0xFB, 0x01]),
        1 => Just(b" ".to_vec()),
        2 => prop::sample::select(vec![
            &b"USER "[..], b"PASS ", b"RETR ", b"PORT ", b"EPRT ", b"EPSV", b"TYPE ", b"REST ", b"PBSZ ", b"MFMT ",
            b"OPTS ", b"HOST ", b"NOOP", b"ABOR", b"LIST", b"ALLO ", b"MFF ", b"LANG ", b"AUTH ", b"xyz ",
        ]).prop_map(<[u8]>::to_vec),
        2 => prop::sample::select(vec![
            &b"211-"[..], b"211 ", b"227 ", b"229 ", b"257 ", b"213 ", b"150 ", b"110 ", b"350 ", b"123-", b"123 ",
            b"226", b"999 ", b"6",
        ]).prop_map(<[u8]>::to_vec),
        2 => prop::sample::select(vec![
            &b"1,2,3,4,5,6"[..], b"(127,0,0,1,4,1).", b"(|||6446|)", b"|1|1.2.3.4|5|", b"|2|::1|5|", b"\"a\"\"b\"",
            b"A N", b"L 8", b"20020717210715", b"18446744073709551616", b"4294967296", b"256,", b"MARK 1 = 2",
            b"(12 bytes)", b"ALL", b"UTF8 ON",
        ]).prop_map(<[u8]>::to_vec),
    ];
    vec(token, 0..48).prop_map(|t| t.concat())
}

/// Cuts `data` at the given points (taken modulo its length).
fn cut<'a>(data: &'a [u8], points: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = points.iter().map(|i| i.index(data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for a in at {
        out.push(&data[from..a]);
        from = a;
    }
    out.push(&data[from..]);
    out
}

/// Decodes commands from `pieces`, checking the memory bound after every
/// feed: the buffer never holds more than one line's cap plus the newest
/// read (SECURITY.md F1), and less than the cap once drained.
fn decode_commands(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Command, DecodeError>> {
    let cap = opts.max_line_len_value();
    let mut dec = CommandDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        assert!(buf.len() <= cap + piece.len(), "buffer {} > cap {cap} + read {}", buf.len(), piece.len());
        while let Some(item) = dec.decode(&mut buf) {
            out.push(item);
        }
        assert!(buf.len() < cap, "drained buffer {} not under cap {cap}", buf.len());
    }
    out
}

fn decode_replies(opts: &ParseOptions, pieces: &[&[u8]]) -> Vec<Result<Reply, ReplyError>> {
    let cap = opts.max_line_len_value();
    let mut dec = ReplyDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        assert!(buf.len() <= cap + piece.len(), "buffer {} > cap {cap} + read {}", buf.len(), piece.len());
        while let Some(item) = dec.decode(&mut buf) {
            out.push(item);
        }
        assert!(buf.len() < cap, "drained buffer {} not under cap {cap}", buf.len());
    }
    out
}

/// Runs every typed reader and formatter of a reply; none may panic.
fn exercise(reply: &Reply) {
    let _ = reply.passive_addr();
    let _ = reply.extended_passive_port();
    let _ = reply.pathname();
    let _ = reply.size();
    let _ = reply.modification_time();
    if let Ok(features) = reply.features() {
        for f in features {
            let _ = (f.name(), f.params(), f.is("MLST"));
        }
    }
    let _ = reply.transfer_size();
    let _ = reply.restart_marker();
    let _ = reply.restart_offset();
    let _ = format!("{reply} {reply:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// SECURITY.md P3 (`NLST *.txt` for mget): a name without wildcards is
    /// a pattern matching itself only; `*` matches every name not starting
    /// with `.`; `*` plus a literal tail is `ends_with`; `?` per byte is
    /// "same length"; and matching any pattern never panics.
    #[test]
    fn glob_matches_as_the_shell_does(
        name in "[a-z0-9. _-]{1,40}",
        other in "[a-z0-9. _-]{1,40}",
        pattern in "[a-z.*?\\[\\]!-]{1,30}",
    ) {
        use ftp_proto::glob::Glob;
        let literal = Glob::new(name.clone()).unwrap();
        prop_assert!(literal.matches(name.as_bytes()));
        prop_assert_eq!(literal.matches(other.as_bytes()), name == other);
        let star = Glob::new("*").unwrap();
        prop_assert_eq!(star.matches(name.as_bytes()), !name.starts_with('.'));
        let tail: String = name.chars().skip(name.len() / 2).collect();
        let ends = Glob::new(format!("*{tail}")).unwrap();
        if !other.starts_with('.') {
            prop_assert_eq!(ends.matches(other.as_bytes()), other.ends_with(&tail));
        }
        let marks = Glob::new("?".repeat(name.len())).unwrap();
        prop_assert_eq!(marks.matches(other.as_bytes()), other.len() == name.len() && !other.starts_with('.'));
        let _ = Glob::new(pattern).map(|g| g.matches(name.as_bytes()));
    }

    /// `Timestamp::unix_seconds` inverts `from_unix_seconds` over the whole
    /// range a timestamp holds (MFMT sets file times with it).
    #[test]
    fn unix_seconds_round_trip(secs in 0u64..253_402_300_800) {
        let t = ftp_proto::Timestamp::from_unix_seconds(secs).unwrap();
        prop_assert_eq!(t.unix_seconds(), secs as i64);
    }

    /// Decoding never panics, whatever the bytes and the leniency flags
    /// (SECURITY.md F1-F6, T1-T4, R1-R2: "never panic, whatever the input";
    /// CVE-2010-4221, CVE-2017-1000254, suppaftp PR #166). Every decoded
    /// value can be formatted, encoded, and read by every typed reader.
    #[test]
    fn decoders_never_panic(
        data in prop_oneof![vec(any::<u8>(), 0..2048), ftpish()],
        flags in any::<u8>(),
        cap in 8usize..600,
    ) {
        let opts = options(flags, cap);
        for cmd in decode_commands(&opts, &[&data]).iter().flatten() {
            let mut out = BytesMut::new();
            cmd.encode(&mut out);
            let _ = (format!("{cmd} {cmd:?}"), cmd.verb(), cmd.is_out_of_band(), cmd.clone().canonical());
        }
        for item in decode_replies(&opts, &[&data]) {
            match item {
                Ok(reply) => exercise(&reply),
                Err(e) => { let _ = format!("{e} {e:?}"); }
            }
        }
        // Line-level parsing of whatever bytes there are, LF included.
        let _ = Command::parse(&bytes::Bytes::from(data.clone()), &opts);
    }

    /// Results are identical however the input is split (SECURITY.md F3, F6:
    /// "output independent of chunking"; RFC 959 5.4 pipelining): random
    /// split points, and one byte at a time, for commands and replies.
    #[test]
    fn results_do_not_depend_on_chunking(
        data in prop_oneof![ftpish(), vec(any::<u8>(), 0..512)],
        points in vec(any::<Index>(), 0..12),
        flags in any::<u8>(),
        cap in 8usize..300,
    ) {
        let opts = options(flags, cap);
        let split = cut(&data, &points);
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        let whole = decode_commands(&opts, &[&data]);
        prop_assert_eq!(&decode_commands(&opts, &split), &whole);
        prop_assert_eq!(&decode_commands(&opts, &bytes), &whole);
        let whole = decode_replies(&opts, &[&data]);
        prop_assert_eq!(&decode_replies(&opts, &split), &whole);
        prop_assert_eq!(&decode_replies(&opts, &bytes), &whole);
    }

    /// The borrowing decoders accept and refuse exactly what the owned ones
    /// do, and their views turn into the same commands and replies, however
    /// the input is split (and when the two kinds of call are mixed).
    #[test]
    fn borrowing_decoders_agree_with_owned_ones(
        data in prop_oneof![ftpish(), vec(any::<u8>(), 0..512)],
        points in vec(any::<Index>(), 0..12),
        flags in any::<u8>(),
        cap in 8usize..300,
        mix in any::<u64>(),
    ) {
        let opts = options(flags, cap);
        let split = cut(&data, &points);
        let (mut commands, mut replies) = (CommandDecoder::new(opts.clone()), ReplyDecoder::new(opts.clone()));
        let (mut cbuf, mut rbuf) = (BytesMut::new(), BytesMut::new());
        let (mut got_commands, mut got_replies) = (Vec::new(), Vec::new());
        let mut turn = 0u32;
        for piece in &split {
            cbuf.extend_from_slice(piece);
            rbuf.extend_from_slice(piece);
            loop {
                turn += 1;
                let item = if mix >> (turn % 64) & 1 == 1 {
                    commands.decode_ref(&mut cbuf).map(|item| {
                        item.map(|c| {
                            let _ = format!("{c:?} {:?} {:?}", c.verb(), c.argument());
                            c.to_command().expect("a decoded line rebuilds")
                        })
                    })
                } else {
                    commands.decode(&mut cbuf)
                };
                let Some(item) = item else { break };
                got_commands.push(item);
            }
            loop {
                turn += 1;
                let item = if mix >> (turn % 64) & 1 == 1 {
                    replies.decode_ref(&mut rbuf).map(|item| {
                        item.map(|r| {
                            let owned = r.to_reply();
                            assert_eq!(owned.code(), r.code());
                            assert_eq!(owned.is_multiline(), r.is_multiline());
                            assert_eq!(owned.text().as_bytes(), r.text());
                            assert!(owned.lines().iter().map(|t| t.as_bytes()).eq(r.lines()));
                            let _ = format!("{r:?}");
                            owned
                        })
                    })
                } else {
                    replies.decode(&mut rbuf)
                };
                let Some(item) = item else { break };
                got_replies.push(item);
            }
        }
        prop_assert_eq!(&got_commands, &decode_commands(&opts, &[&data]));
        prop_assert_eq!(&got_replies, &decode_replies(&opts, &[&data]));
    }

    /// Decoder memory is bounded (SECURITY.md F1, R1, T4: "Never grow the
    /// buffer past the cap"; the cap applies to raw bytes, Telnet escapes
    /// included): the `BytesMut` never exceeds `max_line_len` plus the last
    /// read, even for long inputs without line ends or made of IAC runs.
    #[test]
    fn decoder_memory_is_bounded(
        unit in prop_oneof![vec(any::<u8>(), 1..64), Just(vec![0xFF]), Just(vec![0xFF, 0xFF]), Just(b"A".to_vec())],
        repeat in 1usize..400,
        tail in ftpish(),
        chunk in 1usize..2048,
        flags in any::<u8>(),
        cap in 8usize..1024,
    ) {
        let opts = options(flags, cap);
        let mut data = unit.repeat(repeat);
        data.extend_from_slice(&tail);
        let pieces: Vec<&[u8]> = data.chunks(chunk).collect();
        // The asserts are inside the decode helpers, after every feed.
        let _ = decode_commands(&opts, &pieces);
        let _ = decode_replies(&opts, &pieces);
    }

    /// A decoded reply re-encodes to a fixed point after one pass (RFC 959
    /// 4.2: the encoder pads digit-leading middle lines; SECURITY.md E5).
    #[test]
    fn decoded_replies_reencode_to_a_fixed_point(data in ftpish(), flags in any::<u8>()) {
        let opts = options(flags, 4096);
        for reply in decode_replies(&opts, &[&data]).into_iter().flatten() {
            let mut once = BytesMut::new();
            reply.encode(&mut once);
            let back = decode_replies(&ParseOptions::default(), &[&once]);
            prop_assert_eq!(back.len(), 1);
            let back = back.into_iter().next().unwrap().unwrap();
            prop_assert_eq!(back.code(), reply.code());
            prop_assert_eq!(back.lines().len(), reply.lines().len());
            let mut twice = BytesMut::new();
            back.encode(&mut twice);
            prop_assert_eq!(&twice, &once);
        }
    }
}

mod arbitrary_roundtrip {
    #![cfg(feature = "arbitrary")]
    //! Values built through the crate's `Arbitrary` impls (validated
    //! constructors only) encode to wire-safe bytes and decode back to the
    //! same value (imap-codec's misuse-resistance property, STYLE.md).

    use arbitrary::{Arbitrary, Unstructured};
    use bytes::BytesMut;
    use ftp_proto::{Command, ParseOptions, Reply};
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::{decode_commands, decode_replies};

    /// Every CR is part of a CRLF line end or of RFC 2640's `CR NUL`, every
    /// LF ends a line after a CR; returns the number of lines.
    fn wire_lines(wire: &[u8]) -> usize {
        let mut lines = 0;
        for (i, &b) in wire.iter().enumerate() {
            match b {
                b'\n' => {
                    assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i}: {:?}", wire.escape_ascii().to_string());
                    lines += 1;
                }
                b'\r' => {
                    assert!(matches!(wire.get(i + 1), Some(b'\n' | 0)), "bare CR at {i}");
                }
                _ => {}
            }
        }
        assert!(wire.ends_with(b"\r\n"));
        lines
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Every `Command` the `arbitrary` impl builds encodes to exactly one
        /// CRLF-terminated line with no bare CR or LF (SECURITY.md E1, E2) and
        /// decodes back to the same value (RFC 959 5.3; RFC 2640 3.1 for CR
        /// NUL; RFC 3659 2.2 for 0xFF).
        #[test]
        fn arbitrary_commands_roundtrip(bytes in vec(any::<u8>(), 0..256)) {
            let mut u = Unstructured::new(&bytes);
            let Ok(cmd) = Command::arbitrary(&mut u) else { return Ok(()) };
            let mut wire = BytesMut::new();
            cmd.encode(&mut wire);
            prop_assert_eq!(wire_lines(&wire), 1);
            let back = decode_commands(&ParseOptions::default(), &[&wire]);
            prop_assert_eq!(back, vec![Ok(cmd)], "wire {:?}", wire.escape_ascii().to_string());
        }

        /// Every `Reply` the `arbitrary` impl builds encodes to one CRLF per
        /// line with no bare CR or LF (SECURITY.md E4, E5) and decodes back
        /// to the same value (RFC 959 4.2).
        #[test]
        fn arbitrary_replies_roundtrip(bytes in vec(any::<u8>(), 0..256)) {
            let mut u = Unstructured::new(&bytes);
            let Ok(reply) = Reply::arbitrary(&mut u) else { return Ok(()) };
            let mut wire = BytesMut::new();
            reply.encode(&mut wire);
            prop_assert_eq!(wire_lines(&wire), reply.lines().len());
            let back = decode_replies(&ParseOptions::default(), &[&wire]);
            prop_assert_eq!(back, vec![Ok(reply)], "wire {:?}", wire.escape_ascii().to_string());
        }
    }
}

proptest! {
    /// RFC 959 3.1.1.1 (TYPE A): LF-to-CRLF then CRLF-to-LF gives back the
    /// file, with any CRLF it held read as LF (a CRLF file is sent as it is
    /// and stored as LF), however either side cuts the bytes; the wire
    /// form never holds a bare LF.
    #[test]
    fn rfc959_3_1_1_1_type_a_round_trips_for_any_chunking(
        data in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()], 0..256),
        file_cuts in vec(any::<Index>(), 0..8),
        wire_cuts in vec(any::<Index>(), 0..8),
    ) {
        use ftp_proto::ascii::{FromWire, ToWire};
        let (mut to, mut wire, mut out) = (ToWire::default(), Vec::new(), Vec::new());
        for piece in cut(&data, &file_cuts) {
            to.convert(piece, &mut out);
            wire.extend_from_slice(&out);
        }
        prop_assert!(wire.iter().enumerate().all(|(i, &b)| b != b'\n' || (i > 0 && wire[i - 1] == b'\r')));
        let (mut from, mut back) = (FromWire::default(), Vec::new());
        for piece in cut(&wire, &wire_cuts) {
            from.convert(piece, &mut out);
            back.extend_from_slice(&out);
        }
        back.extend_from_slice(from.finish());
        let mut expected = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            if data[i..].starts_with(b"\r\n") {
                i += 1;
            }
            expected.push(data[i]);
            i += 1;
        }
        prop_assert_eq!(back, expected);
    }
}

proptest! {
    /// RFC 2428 section 3: a 229 reply's port is read only from the exact
    /// frame `(<d><d><d><port><d>)`: empty protocol and address fields, one
    /// delimiter, a decimal port in 1..=65535. Any other field contents give
    /// no port (and the client falls back to PASV).
    #[test]
    fn rfc2428_3_epsv_port_only_from_the_exact_frame(
        d in (33u8..=126).prop_filter("not a digit", |b| !b.is_ascii_digit() && *b != b'(' && *b != b')'),
        proto in prop::sample::select(vec!["", "", "1", "2", " "]),
        address in prop::sample::select(vec!["", "", "127.0.0.1", "::1", "x"]),
        port in prop::sample::select(vec!["1", "21", "6446", "65535", "0", "65536", "00080", "1 2", "+5", "", "123456"]),
        tail in prop::sample::select(vec!["", "", "", "9", "|"]),
    ) {
        let d = char::from(d);
        let text = format!("229 Entering Extended Passive Mode ({d}{proto}{d}{address}{d}{port}{d}{tail})\r\n");
        let mut decoder = ReplyDecoder::new(ParseOptions::default());
        let mut buf = BytesMut::from(text.as_bytes());
        let reply = decoder.decode(&mut buf).expect("a reply").expect("well formed");
        let exact = proto.is_empty() && address.is_empty() && tail.is_empty();
        let valid = port.parse::<u32>().ok().filter(|p| (1..=65535).contains(p) && !port.starts_with('+'));
        match (exact, valid, reply.extended_passive_port()) {
            (true, Some(p), Ok(got)) => prop_assert_eq!(u32::from(got), p),
            (true, Some(_), other) => prop_assert!(false, "{text:?} gave {other:?}"),
            (_, _, Ok(got)) => prop_assert!(false, "{text:?} gave port {got}"),
            _ => {}
        }
    }
}

// The fuzz bodies themselves over random inputs (with `--all-features`,
// which CI runs): among their checks, the borrowing `decode_ref` gives what
// `decode` gives however the bytes are split (SECURITY.md F3, F6).
#[cfg(feature = "__fuzz")]
proptest! {
    #[test]
    fn fuzz_bodies_hold_on_random_streams(
        flags in any::<u8>(),
        sizes in vec(1u8..40, 4),
        lines in vec(proptest::sample::select(vec![
            &b"RETR file.txt\r\n"[..], &b"NOOP\r\n"[..], &b"PORT 127,0,0,1,4,1\r\n"[..],
            &b"EPRT |2|::1|5000|\r\n"[..], &b"USER a\r\nPASS b\r\n"[..], &b"\xff\xf4\xff\xf2ABOR\r\n"[..],
            &b"211-Features:\r\n MDTM\r\n211 End\r\n"[..], &b"229 Entering (|||1234|)\r\n"[..],
            &b"550 no\r\n"[..], &b"bad\x00line\r\n"[..], &b"\r\n"[..], &b"STOR a\rb\r\n"[..],
        ]), 0..12),
    ) {
        let mut data = vec![flags];
        data.extend_from_slice(&sizes);
        for l in &lines {
            data.extend_from_slice(l);
        }
        ftp_proto::fuzzing::command_decode(&data);
        ftp_proto::fuzzing::reply_decode(&data);
    }
}
