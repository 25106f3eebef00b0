//! One test per codec row of SECURITY.md section 1 (F1-F6, T1-T4, E1-E6,
//! N1-N6, R1-R2), through the public API only.
//!
//! Each test quotes the row's requirement for the codec layer and its
//! sources, and asserts something that would fail without the protection.
//! Where part of a row is a session-layer duty (`ftp-session`), only the codec
//! part is tested and the doc comment says so.

use std::net::SocketAddrV4;

use bytes::{Bytes, BytesMut};
use ftp_proto::{
    Base64, Command, CommandDecoder, DecodeError, EpsvArg, FactList, FrameError, HostName, LangTag, LineDecoder,
    Mechanism, ParseError, ParseOptions, Password, Pathname, Reply, ReplyCode, ReplyDataError, ReplyDecoder,
    ReplyError, Text, TransferType, Username, ValidationErrorKind, Verb,
};

// ---------------------------------------------------------------------------
// Helpers.

fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

fn p(b: &[u8]) -> Pathname {
    Pathname::try_from(b).unwrap()
}

fn t(b: &[u8]) -> Text {
    Text::try_from(b).unwrap()
}

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

/// Feeds `pieces` one after the other into a command decoder, draining it
/// after each; returns the items and the largest buffer length seen right
/// after a feed.
fn commands_in(opts: &ParseOptions, pieces: &[&[u8]]) -> (Vec<Result<Command, DecodeError>>, usize) {
    let mut dec = CommandDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut peak = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        peak = peak.max(buf.len());
        while let Some(item) = dec.decode(&mut buf) {
            out.push(item);
        }
    }
    (out, peak)
}

fn commands(input: &[u8]) -> Vec<Result<Command, DecodeError>> {
    commands_in(&ParseOptions::default(), &[input]).0
}

fn replies_in(opts: &ParseOptions, pieces: &[&[u8]]) -> (Vec<Result<Reply, ReplyError>>, usize) {
    let mut dec = ReplyDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut peak = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        peak = peak.max(buf.len());
        while let Some(item) = dec.decode(&mut buf) {
            out.push(item);
        }
    }
    (out, peak)
}

fn replies(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    replies_in(&ParseOptions::default(), &[input]).0
}

fn one_reply(input: &[u8]) -> Reply {
    match &replies(input)[..] {
        [Ok(r)] => r.clone(),
        other => panic!("{}: {other:?}", show(input)),
    }
}

fn parse(line: &[u8]) -> Result<Command, ParseError> {
    Command::parse(&Bytes::copy_from_slice(line), &ParseOptions::default())
}

fn encode(cmd: &Command) -> Vec<u8> {
    let mut out = BytesMut::new();
    cmd.encode(&mut out);
    out.to_vec()
}

fn wire(reply: &Reply) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(&mut out);
    out.to_vec()
}

/// Splits `input` into single bytes.
fn bytewise(input: &[u8]) -> Vec<&[u8]> {
    input.chunks(1).collect()
}

/// Every way of cutting `input` in two, and in three.
fn splits(input: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    let n = input.len();
    let two = (0..=n).map(move |i| vec![&input[..i], &input[i..]]);
    let three = (0..=n).flat_map(move |i| (i..=n).map(move |j| vec![&input[..i], &input[i..j], &input[j..]]));
    two.chain(three)
}

/// The wire rule for one encoded line: it ends with CRLF, holds no other
/// LF, and every other CR is RFC 2640's `CR NUL`.
fn assert_one_line(wire: &[u8]) {
    assert!(wire.ends_with(b"\r\n"), "{}", show(wire));
    let body = &wire[..wire.len() - 2];
    assert!(!body.contains(&b'\n'), "embedded LF in {}", show(wire));
    for (i, &b) in body.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(body.get(i + 1), Some(&0), "bare CR at {i} in {}", show(wire));
        }
    }
}

fn reply_code_of(item: &Result<Command, DecodeError>) -> u16 {
    item.as_ref().expect_err("an error").reply_code().as_u16()
}

// ---------------------------------------------------------------------------
// F: framing.

/// SECURITY.md F1, "Command line with no LF within N bytes (memory/CPU DoS)".
///
/// Codec: "Hard cap on buffered line (configurable; 4096 incl. CRLF is a sane
/// default). On overflow report `LineTooLong` once, then discard up to the
/// next LF and resync. Never grow the buffer past the cap."
///
/// Sources: vsftpd `defs.h` (`VSFTP_MAX_COMMAND_LINE` 4096) and `ftpcmdio.c`;
/// ProFTPD `CommandBufferSize` and `src/netio.c`; pyftpdlib; Pure-FTPd;
/// CVE-2019-18217 (ProFTPD infinite loop). Replying 500 and counting the
/// offence is the server state machine's duty; the codec gives the code.
#[test]
fn sec_f1_overlong_command_line_is_bounded_and_resyncs() {
    const CHUNK: usize = 4096;
    let opts = ParseOptions::default();
    let limit = opts.max_line_len_value();
    assert_eq!(limit, 4096);
    let mut dec = CommandDecoder::new(opts);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let chunk = [b'A'; CHUNK];
    // 1 MiB with no LF, in 4 KiB reads (the endless line of CVE-2019-18217).
    buf.extend_from_slice(b"RETR ");
    for _ in 0..256 {
        buf.extend_from_slice(&chunk);
        assert!(buf.len() <= limit + CHUNK, "buffer grew to {}", buf.len());
        assert!(buf.capacity() <= 4 * (limit + CHUNK), "allocation grew to {}", buf.capacity());
        while let Some(item) = dec.decode(&mut buf) {
            items.push(item);
        }
        assert!(buf.len() < limit);
    }
    buf.extend_from_slice(b"AAAA\r\nNOOP\r\n");
    while let Some(item) = dec.decode(&mut buf) {
        items.push(item);
    }
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Err(DecodeError::Frame(FrameError::LineTooLong { limit })));
    assert_eq!(reply_code_of(&items[0]), 500);
    assert_eq!(items[1], Ok(Command::Noop));
    assert!(buf.is_empty() && !dec.has_partial_line());

    // The cap counts the line end: exactly `limit` bytes pass, one more fails,
    // whether the line arrives at once or byte by byte.
    let small = ParseOptions::default().max_line_len(16);
    let fits = b"RETR 123456789\r\n"; // 16 bytes
    let too_long = b"RETR 1234567890\r\nNOOP\r\n"; // 17 bytes, then NOOP
    for pieces in [vec![&fits[..]], bytewise(fits)] {
        assert_eq!(commands_in(&small, &pieces).0, vec![Ok(Command::Retr(p(b"123456789")))]);
    }
    for pieces in [vec![&too_long[..]], bytewise(too_long)] {
        let (got, peak) = commands_in(&small, &pieces);
        assert_eq!(got, vec![Err(DecodeError::Frame(FrameError::LineTooLong { limit: 16 })), Ok(Command::Noop)]);
        assert!(peak <= 16 + pieces[0].len());
    }
}

/// SECURITY.md F2, "Line-ending variants: bare LF, CR CR LF, bare CR
/// mid-line, line starting with LF, empty line".
///
/// Codec: "LF terminates; strip trailing CR(s). A bare CR inside a line is
/// kept as data but flagged so validation can reject it. Empty line → typed
/// "empty command", no out-of-bounds access. Strict-CRLF mode available."
///
/// Sources: vsftpd `ftpcmdio.c`; Pure-FTPd `ftp_parser.c`; ProFTPD NEWS Issue
/// 2020 and test `telnet_initial_crlf_issue1527`; curl `REPLYLF`; curl PR
/// 20949. Answering 500 to an empty line is the server's duty.
#[test]
fn sec_f2_line_end_variants_are_normalised_or_flagged() {
    // LF terminates; trailing CRs are stripped.
    assert_eq!(commands(b"NOOP\n"), vec![Ok(Command::Noop)]);
    assert_eq!(commands(b"NOOP\r\r\r\n"), vec![Ok(Command::Noop)]);
    assert_eq!(commands(b"RETR a b\r\r\n"), vec![Ok(Command::Retr(p(b"a b")))]);
    // A line starting with LF, and empty lines: typed errors, then resync.
    let got = commands(b"\nNOOP\r\n\r\n\r\r\n\n");
    assert_eq!(got.len(), 5);
    assert_eq!(got[1], Ok(Command::Noop));
    for i in [0, 2, 3, 4] {
        assert_eq!(got[i], Err(DecodeError::Parse(ParseError::Empty)), "{i}");
        assert_eq!(reply_code_of(&got[i]), 500);
    }
    // A bare CR mid-line is kept by the framer...
    let mut lines = LineDecoder::new(&ParseOptions::default());
    let mut buf = BytesMut::from(&b"CWD a\rDELE b\r\n"[..]);
    assert_eq!(&lines.decode(&mut buf).unwrap().unwrap()[..], b"CWD a\rDELE b");
    // ...and refused by validation: one 501, never a second command.
    for input in [&b"CWD a\rDELE b\r\n"[..], b"SITE a\rb\r\n", b"USER x\ry\r\n", b"XYZ a\rb\r\n"] {
        let got = commands(input);
        assert_eq!(got.len(), 1, "{}", show(input));
        assert_eq!(reply_code_of(&got[0]), 501, "{}", show(input));
    }
    // Strict-CRLF mode: a bare LF is refused once, then decoding goes on.
    let strict = ParseOptions::default().allow_bare_lf(false);
    assert!(!strict.bare_lf_allowed());
    let got = commands_in(&strict, &[b"NOOP\nQUIT\r\n"]).0;
    assert_eq!(got, vec![Err(DecodeError::Frame(FrameError::BareLineFeed)), Ok(Command::Quit)]);
    assert_eq!(reply_code_of(&got[0]), 500);
    // Replies: LF-only accepted by default, refused in strict mode.
    assert_eq!(one_reply(b"226 Transfer complete\n").text().as_bytes(), b"Transfer complete");
    assert_eq!(replies_in(&strict, &[b"226 ok\n"]).0, vec![Err(ReplyError::Frame(FrameError::BareLineFeed))]);
    // The encoders never emit a bare LF.
    assert_eq!(encode(&Command::Noop), b"NOOP\r\n");
    let r = Reply::multiline(code(211), [t(b"a"), t(b"b"), t(b"c")]).unwrap();
    assert_eq!(wire(&r), b"211-a\r\nb\r\n211 c\r\n");
}

/// SECURITY.md F3, "Several commands in one read (pipelining)".
///
/// Codec: "Return one command per call; keep the remainder; results
/// identical whatever the chunking."
///
/// Sources: Pure-FTPd `sfgets()`; vsftpd Changelog (SSL pipelining); RFC 959
/// section 5.4. Processing in order with one reply each is the server's duty.
#[test]
fn sec_f3_pipelined_commands_come_out_in_order_whatever_the_chunking() {
    let input = b"USER anonymous\r\nPASS guest\r\nTYPE I\r\nEPSV\r\nRETR pub/file one.bin\r\nQUIT\r\n";
    let want = vec![
        Ok(Command::User(Username::try_from("anonymous").unwrap())),
        Ok(Command::Pass(Password::try_from("guest").unwrap().into())),
        Ok(Command::Type(TransferType::Image)),
        Ok(Command::Epsv(EpsvArg::Any)),
        Ok(Command::Retr(p(b"pub/file one.bin"))),
        Ok(Command::Quit),
    ];
    // One command per call; the remainder is kept (in the caller's buffer or
    // held by the decoder, which then reports a partial line) and comes out
    // in order on the next calls, with no new input.
    let mut dec = CommandDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&input[..]);
    let mut got = Vec::new();
    while let Some(item) = dec.decode(&mut buf) {
        got.push(item);
        if got.len() < want.len() {
            assert!(!buf.is_empty() || dec.has_partial_line(), "remainder lost after {} commands", got.len());
        }
    }
    assert_eq!(got, want);
    assert!(buf.is_empty() && !dec.has_partial_line());
    // Identical for every split point and byte by byte.
    for pieces in splits(input).chain([bytewise(input)]) {
        assert_eq!(commands_in(&ParseOptions::default(), &pieces).0, want);
    }
}

/// SECURITY.md F4, "Non-ASCII or non-letter bytes in the verb; over-long verb".
///
/// Codec: "Verb = ASCII letters only, case-insensitive, short (RFC 959: four
/// or fewer letters; allow a small fixed maximum for extensions). Anything
/// else → `BadVerb`. Never case-fold non-ASCII bytes."
///
/// Sources: RFC 959 section 5.3.1; ProFTPD NEWS Issue 2019 (`toupper()` on
/// non-ASCII bytes) and test `telnet_nonascii_uppercase_issue2019`. Digits
/// after the first letter are allowed for extensions (`XSHA256`).
#[test]
fn sec_f4_verb_is_ascii_letters_only_and_never_case_folded() {
    let bad: &[&[u8]] = &[
        b"R\xc3\x89TR x",      // RÉTR
        b"\xc5\xbftor x",      // U+017F LONG S, which Unicode upper-cases to S: must not become STOR
        b"l\xc4\xb1st",        // U+0131 DOTLESS I, upper-cased to I: must not become LIST
        b"\xe9\xe9\xe9\xe9 x", // Latin-1 bytes
        b"RETR\x00 x",
        b"1ABC",
        b"R-TR x",
        b"RE.TR",
        b"ABCDEFGHI x", // longer than MAX_VERB_LEN
        b"\tNOOP",
    ];
    for line in bad {
        let got = commands(&[*line, b"\r\n"].concat());
        assert!(matches!(got[..], [Err(DecodeError::Parse(ParseError::BadVerb { .. }))]), "{}: {got:?}", show(line));
        assert_eq!(reply_code_of(&got[0]), 500);
    }
    assert!(Verb::try_from("\u{17f}tor").is_err());
    assert!(Verb::try_from("ABCDEFGHI").is_err());
    // ASCII case-insensitivity still works; extensions up to the maximum.
    assert_eq!(parse(b"sToR x").unwrap(), Command::Stor(p(b"x")));
    assert!(matches!(parse(b"XSHA256 f").unwrap(), Command::Other(_)));
    assert!(matches!(parse(b"ABCDEFGH").unwrap(), Command::Other(_)));
}

/// SECURITY.md F5, "NUL byte in a command or reply".
///
/// Codec: "Keep NUL as data (RFC 959 `<char>` excludes only CR and LF) but
/// expose it; never truncate at NUL."
///
/// Sources: RFC 959 section 5.3.2; vsftpd `ftpcmdio.c`; curl `lib/pingpong.c`;
/// CVE-2018-1000120. Refusing NUL in pathnames (501) and replies containing
/// NUL is the session's duty; the codec exposes it through `has_nul()`.
#[test]
fn sec_f5_nul_is_kept_as_data_and_exposed() {
    let got = commands(b"RETR a\0b.txt\r\n");
    let [Ok(Command::Retr(path))] = &got[..] else { panic!("{got:?}") };
    assert_eq!(path.as_bytes(), b"a\0b.txt", "truncated at NUL");
    assert_eq!(path.len(), 7);
    assert!(path.has_nul());
    assert_eq!(encode(&Command::Retr(path.clone())), b"RETR a\0b.txt\r\n");
    let [Ok(Command::User(user))] = &commands(b"USER ro\0ot\r\n")[..] else { panic!() };
    assert!(user.has_nul() && user.len() == 5);
    let [Ok(Command::Site(site))] = &commands(b"SITE \0\r\n")[..] else { panic!() };
    assert!(site.has_nul());
    // CR NUL is RFC 2640's escape for CR, not a NUL in the name.
    let [Ok(Command::Retr(path))] = &commands(b"RETR a\r\0b\r\n")[..] else { panic!() };
    assert_eq!(path.as_bytes(), b"a\rb");
    assert!(!path.has_nul());
    assert!(!p(b"plain").has_nul());
    // Replies: kept and exposed for the client to refuse.
    let r = one_reply(b"550 a\0b: not found\r\n");
    assert!(r.text().has_nul());
    assert_eq!(r.text().as_bytes(), b"a\0b: not found");
}

/// SECURITY.md F6, "Input split at every possible byte boundary (1-byte
/// reads, TLS record edges, IAC split across reads)".
///
/// Codec: "Decoder state (partial line, pending IAC) persists across feeds;
/// output independent of chunking."
///
/// Sources: ProFTPD `src/netio.c`; the inference in SECURITY.md (the random
/// version of this is a property test in `tests/properties.rs`).
#[test]
fn sec_f6_every_split_point_gives_the_same_items() {
    let input: &[u8] = b"\xff\xf4\xff\xf2ABOR\r\nUSER anonymous\r\nPASS \xff\xffpw\r\nRETR a\xff\xffb c\r\n\
NO\xff\xfb\x01OP\r\nSTOR x\r\0y\r\nLIST\n\r\nTYPE X\r\nMFMT 20020717210715 f\r\nQU\xff\xffIT\r\nQUIT";
    let opts = ParseOptions::default();
    let (want, _) = commands_in(&opts, &[input]);
    assert_eq!(want.len(), 11, "{want:?}");
    assert_eq!(want[0], Ok(Command::Abor));
    assert_eq!(want[3], Ok(Command::Retr(p(b"a\xffb c"))));
    assert_eq!(want[4], Ok(Command::Noop));
    let events = |pieces: &[&[u8]]| {
        let mut dec = CommandDecoder::new(opts.clone());
        let mut buf = BytesMut::new();
        let (mut items, mut interrupt, mut mark, mut negotiations) = (Vec::new(), false, false, 0);
        for piece in pieces {
            buf.extend_from_slice(piece);
            while let Some(item) = dec.decode(&mut buf) {
                items.push(item);
            }
            let ev = dec.take_telnet_events();
            interrupt |= ev.interrupt;
            mark |= ev.data_mark;
            negotiations += ev.negotiations;
        }
        // The trailing "QUIT" without a line end is held, never returned.
        assert!(dec.has_partial_line());
        (items, interrupt, mark, negotiations)
    };
    let whole = events(&[input]);
    assert_eq!(whole.0, want);
    assert_eq!((whole.1, whole.2, whole.3), (true, true, 1));
    for pieces in splits(input).chain([bytewise(input)]) {
        assert_eq!(events(&pieces), whole, "{:?}", pieces.iter().map(|p| p.len()).collect::<Vec<_>>());
    }
    // The same for replies.
    let input: &[u8] =
        b"220-Welcome\r\n220 ready\r\n227 Entering Passive Mode (1,2,3,4,5,6).\r\n211-Features:\r\n EPSV\r\n\
211-MDTM\r\n211 End\r\n226\n550 caf\xff\xff\r\n";
    let (want, _) = replies_in(&opts, &[input]);
    assert_eq!(want.len(), 5, "{want:?}");
    assert_eq!(want[4].as_ref().unwrap().text().as_bytes(), b"caf\xff");
    for pieces in splits(input).chain([bytewise(input)]) {
        assert_eq!(replies_in(&opts, &pieces).0, want);
    }
}

// ---------------------------------------------------------------------------
// T: Telnet.

/// SECURITY.md T1, "`IAC IAC` inside an argument (a real 0xFF byte, e.g. in
/// a filename)".
///
/// Codec: "Decode to one 0xFF data byte. Encoder doubles 0xFF in arguments and
/// reply text when Telnet escaping is on."
///
/// Sources: RFC 3659 section 2.2; ProFTPD Bug#3697 and test
/// `telnet_iac_bug3697`; vsftpd `ftpcmdio.c` (doubles `\377` in replies).
#[test]
fn sec_t1_iac_iac_is_one_ff_byte_and_encoders_double_it() {
    let got = commands(b"RETR \xff\xffa\xff\xffb\xff\xff\r\n");
    assert_eq!(got, vec![Ok(Command::Retr(p(b"\xffa\xffb\xff")))]);
    // Encoders double it, and the doubled form decodes to the same value.
    let cmds = [
        Command::Retr(p(b"\xffa\xffb\xff")),
        Command::User(Username::try_from(&b"\xff\xff"[..]).unwrap()),
        Command::Pass(Password::try_from(&b"pw\xff"[..]).unwrap().into()),
        Command::Site(t(b"x\xffy")),
    ];
    let wires: [&[u8]; 4] = [
        b"RETR \xff\xffa\xff\xffb\xff\xff\r\n",
        b"USER \xff\xff\xff\xff\r\n",
        b"PASS pw\xff\xff\r\n",
        b"SITE x\xff\xffy\r\n",
    ];
    for (cmd, want) in cmds.iter().zip(wires) {
        assert_eq!(show(&encode(cmd)), show(want));
        assert_eq!(commands(want), vec![Ok(cmd.clone())]);
    }
    let r = Reply::new(code(550), t(b"caf\xff: no such file"));
    assert_eq!(wire(&r), b"550 caf\xff\xff: no such file\r\n");
    assert_eq!(one_reply(&wire(&r)), r);
    // Command::parse works on one framed line: no Telnet processing there.
    assert_eq!(parse(b"RETR \xff\xff").unwrap(), Command::Retr(p(b"\xff\xff")));
}

/// SECURITY.md T2, "`IAC WILL/WONT/DO/DONT <opt>` (option negotiation)".
///
/// Codec: "Consume the 3 bytes; surface as an event, not as data."
///
/// Sources: RFC 3659 section 2.2 (negotiation MUST NOT be attempted);
/// ProFTPD `src/netio.c`. Refusing (or ignoring) is the session's duty.
#[test]
fn sec_t2_option_negotiation_is_consumed_and_reported() {
    let input = b"N\xff\xfb\x01O\xff\xfc\x03O\xff\xfd\x18P\xff\xfe\x03\r\nRETR a\xff\xfd\x01b\r\n";
    for pieces in [vec![&input[..]], bytewise(input)] {
        let mut dec = CommandDecoder::new(ParseOptions::default());
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let mut count = 0;
        let mut last = None;
        for piece in &pieces {
            buf.extend_from_slice(piece);
            while let Some(item) = dec.decode(&mut buf) {
                items.push(item);
            }
            let ev = dec.take_telnet_events();
            count += ev.negotiations;
            last = ev.last_negotiation.or(last);
            assert!(!ev.interrupt);
        }
        assert_eq!(items, vec![Ok(Command::Noop), Ok(Command::Retr(p(b"ab")))]);
        assert_eq!(count, 5);
        assert_eq!(last, Some((253, 1)));
    }
    // Taken once: the next call reports nothing new.
    let mut dec = CommandDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&b"\xff\xfd\x01NOOP\r\n"[..]);
    assert_eq!(dec.decode(&mut buf), Some(Ok(Command::Noop)));
    assert_eq!(dec.take_telnet_events().negotiations, 1);
    assert_eq!(dec.take_telnet_events().negotiations, 0);
}

/// SECURITY.md T3, "`IAC IP`, `IAC DM` (Synch) before ABOR/STAT, possibly
/// with TCP urgent data".
///
/// Codec: "Strip; surface an "interrupt" hint; the following command parses
/// normally."
///
/// Sources: RFC 959 section 4.1; RFC 4217 section 14; vsftpd `postlogin.c`
/// `handle_sigurg`. Urgent data and acting on the hint are the driver's and
/// the session's duty.
#[test]
fn sec_t3_interrupt_and_synch_are_stripped_and_reported() {
    for (input, want) in [
        (&b"\xff\xf4\xff\xf2ABOR\r\n"[..], Command::Abor),
        (b"\xff\xf4\xff\xf2STAT\r\n", Command::Stat(None)),
        (b"\xff\xf4\xff\xf2QUIT\r\n", Command::Quit),
    ] {
        for pieces in [vec![input], bytewise(input)] {
            let mut dec = CommandDecoder::new(ParseOptions::default());
            let mut buf = BytesMut::new();
            let mut items = Vec::new();
            for piece in &pieces {
                buf.extend_from_slice(piece);
                while let Some(item) = dec.decode(&mut buf) {
                    items.push(item);
                }
            }
            assert_eq!(items, vec![Ok(want.clone())]);
            assert!(want.is_out_of_band());
            let ev = dec.take_telnet_events();
            assert!(ev.interrupt && ev.data_mark, "{ev:?}");
            assert!(!dec.take_telnet_events().interrupt);
        }
    }
    // Without the Synch, no interrupt is reported.
    let mut dec = CommandDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&b"ABOR\r\n"[..]);
    assert_eq!(dec.decode(&mut buf), Some(Ok(Command::Abor)));
    assert!(!dec.take_telnet_events().interrupt);
}

/// SECURITY.md T4, "Long runs of IAC, lone IAC at end of buffer, IAC +
/// unknown byte".
///
/// Codec: "Escape handling must not break length accounting: the cap in F1
/// applies to raw bytes, a lone trailing IAC is held as state; IAC + unknown
/// byte handled deterministically (ProFTPD keeps both bytes). Encoder sizes
/// output after doubling."
///
/// Sources: CVE-2010-4221 (ProFTPD IAC miscount, RCE) and test
/// `telnet_iac_bug3521`; CVE-2010-3972 (IIS Telnet output path).
#[test]
fn sec_t4_iac_runs_and_lone_trailing_iac_keep_length_accounting() {
    let opts = ParseOptions::default();
    let limit = opts.max_line_len_value();
    // 2000 escaped 0xFF bytes: 4007 raw bytes fit the cap, 2000 data bytes out.
    let mut fits = b"RETR ".to_vec();
    fits.extend(std::iter::repeat_n(0xFF, 4000));
    fits.extend_from_slice(b"\r\n");
    assert!(fits.len() <= limit);
    let got = commands(&fits);
    assert_eq!(got, vec![Ok(Command::Retr(p(&[0xFF; 2000])))]);
    // The encoder sizes its output after doubling: the same 4007 bytes.
    assert_eq!(encode(&Command::Retr(p(&[0xFF; 2000]))), fits);
    // 3000 escaped bytes are 6007 raw bytes: over the cap although the data
    // (3005 bytes) would fit. Then the decoder resyncs.
    let mut over = b"RETR ".to_vec();
    over.extend(std::iter::repeat_n(0xFF, 6000));
    over.extend_from_slice(b"\r\nNOOP\r\n");
    for pieces in [vec![&over[..]], over.chunks(1000).collect(), bytewise(&over)] {
        let (got, peak) = commands_in(&opts, &pieces);
        assert_eq!(got, vec![Err(DecodeError::Frame(FrameError::LineTooLong { limit })), Ok(Command::Noop)]);
        assert!(peak <= limit + pieces.iter().map(|p| p.len()).max().unwrap());
    }
    // An endless run of IAC in 4 KiB reads: bounded, one error.
    let mut dec = CommandDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let mut errors = 0;
    for _ in 0..256 {
        buf.extend_from_slice(&[0xFF; 4096]);
        assert!(buf.len() <= limit + 4096);
        while let Some(item) = dec.decode(&mut buf) {
            assert!(matches!(item, Err(DecodeError::Frame(FrameError::LineTooLong { .. }))));
            errors += 1;
        }
    }
    assert_eq!(errors, 1);
    // A lone IAC at the end of a read is held as state.
    let mut dec = CommandDecoder::new(opts.clone());
    let mut buf = BytesMut::from(&b"RETR a\xff"[..]);
    assert!(dec.decode(&mut buf).is_none());
    assert!(dec.has_partial_line());
    buf.extend_from_slice(b"\xffb\r\n");
    assert_eq!(dec.decode(&mut buf), Some(Ok(Command::Retr(p(b"a\xffb")))));
    let mut buf = BytesMut::from(&b"RETR a\xff"[..]);
    assert!(dec.decode(&mut buf).is_none());
    buf.extend_from_slice(b"\xf4b\r\n");
    assert_eq!(dec.decode(&mut buf), Some(Ok(Command::Retr(p(b"ab")))));
    assert!(dec.take_telnet_events().interrupt);
    // IAC + a byte that is no Telnet command: both kept; before LF: IAC kept
    // and the LF still ends the line; an odd run keeps the last IAC.
    for (input, want) in [
        (&b"RETR a\xffAb\r\n"[..], &b"a\xffAb"[..]),
        (b"RETR a\xff\nNOOP\r\n", b"a\xff"),
        (b"RETR \xff\xff\xff\r\n", b"\xff\xff"),
        (b"RETR \xff\xff\xff\xff\xff\xff\xff\r\n", b"\xff\xff\xff\xff"),
    ] {
        for pieces in [vec![input], bytewise(input)] {
            let got = commands_in(&opts, &pieces).0;
            assert_eq!(got[0], Ok(Command::Retr(p(want))), "{}", show(input));
        }
    }
    // Reply output is sized after doubling too.
    let r = Reply::new(code(550), t(&[0xFF; 1000]));
    assert_eq!(wire(&r).len(), 4 + 2000 + 2);
}

// ---------------------------------------------------------------------------
// E: encoders and injection.

/// One command of every variant, with the nastiest values the constructors
/// accept: CR (held decoded), 0xFF, NUL, quotes, spaces, digits.
fn every_command_with_nasty_values() -> Vec<Command> {
    use ftp_proto::{Allocation, ExtensionCommand, NetProto, Opts, ProtectionLevel, Secret, Structure, TransferMode};
    let path = p(b" a\rb\xff\0\"c 257 d\r");
    let text = t(b"x\r\0y\xff\0 \"227 (1,2,3,4,5,6)");
    let ts = ftp_proto::Timestamp::parse(b"20020717210715.5").unwrap();
    let b64 = Base64::try_from("YWJj+/==").unwrap();
    let verb = |s: &str| Verb::try_from(s).unwrap();
    vec![
        Command::User(Username::try_from(&b"u\r\0\xff"[..]).unwrap()),
        Command::Pass(Secret::new(Password::try_from(&b" \r\0\xff "[..]).unwrap())),
        Command::Acct(Secret::new(text.clone())),
        Command::Cwd(path.clone()),
        Command::Cdup,
        Command::Smnt(path.clone()),
        Command::Rein,
        Command::Quit,
        Command::Port("1.2.3.4:65535".parse().unwrap()),
        Command::Pasv,
        Command::Type(TransferType::Local(std::num::NonZeroU8::new(255).unwrap())),
        Command::Stru(Structure::Page),
        Command::Mode(TransferMode::Deflate),
        Command::Retr(path.clone()),
        Command::Stor(path.clone()),
        Command::Stou(Some(path.clone())),
        Command::Appe(path.clone()),
        Command::Allo(Allocation { size: u64::MAX, record_size: Some(u64::MAX) }),
        Command::Rest(u64::MAX),
        Command::Rnfr(path.clone()),
        Command::Rnto(path.clone()),
        Command::Abor,
        Command::Dele(path.clone()),
        Command::Rmd(path.clone()),
        Command::Mkd(path.clone()),
        Command::Pwd,
        Command::List(Some(path.clone())),
        Command::Nlst(Some(path.clone())),
        Command::Site(text.clone()),
        Command::Syst,
        Command::Stat(Some(path.clone())),
        Command::Help(Some(text.clone())),
        Command::Noop,
        Command::Auth(Mechanism::try_from("TLS-C").unwrap()),
        Command::Adat(Secret::new(b64.clone())),
        Command::Prot(ProtectionLevel::Private),
        Command::Pbsz(u32::MAX),
        Command::Ccc,
        Command::Mic(b64.clone()),
        Command::Conf(b64.clone()),
        Command::Enc(b64),
        Command::Feat,
        Command::Opts(Opts::new(verb("MLST"), Some(text.clone()))),
        Command::Eprt("[::ffff:1.2.3.4]:1".parse().unwrap()),
        Command::Epsv(EpsvArg::Protocol(NetProto::Ipv6)),
        Command::Lang(Some(LangTag::try_from("en-AU").unwrap())),
        Command::Size(path.clone()),
        Command::Mdtm(path.clone()),
        Command::Mlst(Some(path.clone())),
        Command::Mlsd(Some(path.clone())),
        Command::Host(HostName::try_from("[::1]").unwrap()),
        Command::Mfmt(ts, path.clone()),
        Command::Mfct(ts, path.clone()),
        Command::Mff(FactList::try_from("modify=1;UNIX.mode=0755;").unwrap(), path.clone()),
        Command::Hash(path.clone()),
        Command::Xcwd(path.clone()),
        Command::Xcup,
        Command::Xmkd(path.clone()),
        Command::Xrmd(path),
        Command::Xpwd,
        Command::Other(ExtensionCommand::new(verb("CLNT"), Some(text)).unwrap()),
    ]
}

/// SECURITY.md E1, "CR, LF or NUL in any value the encoder is asked to put on
/// the wire (path, user, ACCT, SITE args, reply text)".
///
/// Codec: "Encoder returns an error; it never strips or escapes silently.
/// Exactly one CRLF per command."
///
/// Sources: Python bpo-30119; curl `ftp_has_ctrl()` and PR 22301 (CRLF in
/// ACCT); CVE-2004-1166; CVE-2026-39983. Here the error comes from the
/// validating constructors, so the encoder itself cannot fail. A CR is
/// accepted only as RFC 2640's `CR NUL` (a `Pathname` holds it decoded and
/// writes `CR NUL`); NUL is data per F5 and exposed by `has_nul()`, so
/// refusing it is the caller's policy.
#[test]
fn sec_e1_values_with_line_breaks_cannot_be_built_and_commands_have_one_crlf() {
    let smuggled: &[&[u8]] = &[b"x\r\nDELE important", b"x\nDELE important", b"x\rDELE important", b"x\r", b"\n"];
    for bad in smuggled {
        let lf = bad.contains(&b'\n');
        assert!(Text::try_from(*bad).is_err(), "Text {}", show(bad));
        assert!(Username::try_from(*bad).is_err(), "Username {}", show(bad));
        assert!(Password::try_from(*bad).is_err(), "Password {}", show(bad));
        assert!(Mechanism::try_from(*bad).is_err());
        assert!(Base64::try_from(*bad).is_err());
        assert!(LangTag::try_from(*bad).is_err());
        assert!(HostName::try_from(*bad).is_err());
        assert!(FactList::try_from(*bad).is_err());
        assert!(Verb::try_from(*bad).is_err());
        // A pathname holds a CR decoded (it travels as CR NUL), never an LF.
        assert_eq!(Pathname::try_from(*bad).is_err(), lf, "Pathname {}", show(bad));
    }
    let e = Text::try_from("acct\r\nDELE x").unwrap_err();
    assert_eq!((e.kind, e.at), (ValidationErrorKind::BareCarriageReturn, 4));
    let e = Pathname::try_from("file\nDELE x").unwrap_err();
    assert_eq!((e.kind, e.at), (ValidationErrorKind::LineFeed, 4));
    // RFC 2640's escape is the one legal CR.
    assert!(Text::try_from(&b"a\r\0b"[..]).is_ok());
    // Every command, with the nastiest accepted values, is exactly one line,
    // and decodes back to itself.
    let all = every_command_with_nasty_values();
    let verbs: std::collections::BTreeSet<_> = all.iter().map(Command::verb).collect();
    assert_eq!(verbs.len(), 61, "one command per variant");
    for cmd in &all {
        let out = encode(cmd);
        assert_one_line(&out);
        assert_eq!(out.windows(2).filter(|w| w == b"\r\n").count(), 1, "{}", show(&out));
        assert_eq!(commands(&out), vec![Ok(cmd.clone())], "{}", show(&out));
    }
}

/// SECURITY.md E2, "NAT/ALG smuggling ("FTP injection"/slipstreaming):
/// attacker-influenced bytes start a TCP segment with `PORT
/// a,b,c,d,p1,p2`, so a stateful firewall opens a pinhole".
///
/// Codec: "E1 is the defence: no embedded line breaks ever."
///
/// Sources: Timothy Morgan's `ecbftw/poc` `ftp-injection-server.py`; RFC 2428
/// section 4 (EPSV ALL). Preferring EPSV is the client's duty; the codec
/// offers `EPSV ALL`.
#[test]
fn sec_e2_a_pathname_cannot_start_a_new_line_with_port() {
    // The classic payload cannot be built.
    for payload in [&b"x\r\nPORT 10,0,0,1,0,25"[..], b"x\nPORT 10,0,0,1,0,25", b"x%0A\nPORT 10,0,0,1,0,25"] {
        assert!(Pathname::try_from(payload).is_err());
        assert!(Text::try_from(payload).is_err());
    }
    // With a CR only, it is escaped: whatever padding pushes `PORT` to a
    // segment boundary, no line of the output starts with PORT.
    for pad in 0..64 {
        let mut name = vec![b'a'; pad];
        name.extend_from_slice(b"\rPORT 10,0,0,1,0,25");
        let cmd = Command::Retr(p(&name));
        let out = encode(&cmd);
        assert_one_line(&out);
        for line in out.split(|&b| b == b'\n').skip(1) {
            assert!(!line.starts_with(b"PORT"), "{}", show(&out));
        }
        // A server decodes one RETR, never a PORT.
        assert_eq!(commands(&out), vec![Ok(cmd)]);
    }
    // Received with a bare CR (a separator on some servers, curl PR 20949):
    // one 501, not a RETR followed by a PORT.
    let got = commands(b"RETR x\rPORT 10,0,0,1,0,25\r\n");
    assert_eq!(got.len(), 1);
    assert_eq!(reply_code_of(&got[0]), 501);
    assert_eq!(encode(&Command::Epsv(EpsvArg::All)), b"EPSV ALL\r\n");
}

/// SECURITY.md E3, "Server-supplied string reused in a later command (257
/// path → CWD on reconnect)".
///
/// Codec: none ("—"). Client SM: "Validate server strings (no control bytes)
/// before reuse; error otherwise."
///
/// Sources: curl PR 20949 (CR inside a 257 path became an injected command);
/// curl `lib/ftp.c` PWD parser. This is a client-session duty: the codec's
/// part, tested here, is to return the 257 path's exact bytes so the client
/// can check them, to refuse a bare CR in the reply, and to keep any reused
/// path on one line.
#[test]
fn sec_e3_257_path_bytes_are_returned_for_the_client_to_check() {
    let r = one_reply(b"257 \"/tmp/a\x1bb\x01\" is the current directory\r\n");
    let path = r.pathname().unwrap();
    assert_eq!(path.as_bytes(), b"/tmp/a\x1bb\x01");
    assert!(path.as_bytes().iter().any(u8::is_ascii_control), "the client can see the control bytes");
    // A bare CR in the reply (the vector of curl PR 20949) is refused by the
    // reply decoder itself.
    assert!(matches!(replies(b"257 \"/a\rDELE x\" created\r\n")[..], [Err(ReplyError::BareCarriageReturn { at: 7 })]));
    // An LF ends the line: the quote is unterminated, the rest is not a reply.
    let got = replies(b"257 \"/a\nDELE x\" created\r\n");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().pathname(), Err(ReplyDataError::Malformed));
    assert_eq!(got[1], Err(ReplyError::BadCode));
    // CR NUL is a CR in the name; reused as-is it still cannot break a line.
    let path = one_reply(b"257 \"/a\r\0DELE x\" created\r\n").pathname().unwrap();
    assert_eq!(path.as_bytes(), b"/a\rDELE x");
    let out = encode(&Command::Cwd(path.clone()));
    assert_eq!(out, b"CWD /a\r\0DELE x\r\n");
    assert_one_line(&out);
    assert_eq!(commands(&out), vec![Ok(Command::Cwd(path))]);
}

/// SECURITY.md E4, "Attacker data echoed in reply text (filename in a 550,
/// user name in 331) containing CR/LF".
///
/// Codec: "Reply encoder refuses or neutralises CR/LF in text (vsftpd maps
/// LF→NUL) and doubles 0xFF."
///
/// Sources: vsftpd `ftpcmdio.c` (`ftp_write_str_common`). `Text` refuses the
/// line break when the reply is built; `Reply::pathname_created`, which
/// takes `&str`, documents that it turns CR/LF into spaces.
#[test]
fn sec_e4_reply_text_cannot_carry_line_breaks() {
    for echoed in [&b"x\r\n230 Login successful"[..], b"x\n230 ok", b"x\r230 ok"] {
        assert!(Text::try_from(echoed).is_err(), "{}", show(echoed));
    }
    // What can be built is one line per Text, 0xFF doubled, CR only as CR NUL.
    let r = Reply::new(code(550), t(b"caf\xff\r\0x: No such file"));
    assert_eq!(wire(&r), b"550 caf\xff\xff\r\0x: No such file\r\n");
    let r = Reply::multiline(code(214), [t(b"a\xff"), t(b"b\r\0"), t(b"c")]).unwrap();
    let out = wire(&r);
    assert_eq!(out.windows(2).filter(|w| w == b"\r\n").count(), 3);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 3);
    // The 257 builder neutralises a line break in its free text.
    let r = Reply::pathname_created(code(257), &p(b"/d"), "created\r\n230 Login successful");
    assert_eq!(wire(&r), b"257 \"/d\" created  230 Login successful\r\n");
    // Display never prints a raw CR or LF either.
    let shown = format!("{}", Reply::new(code(550), t(b"a\r\0b")));
    assert!(!shown.contains('\r') && !shown.contains('\n'), "{shown:?}");
}

/// SECURITY.md E5, "Multi-line reply whose body line (a filename in STAT/HELP
/// output) starts with `ddd ` or `ddd-`".
///
/// Codec: "Encoder pads such body lines (leading space) so they cannot end
/// the reply early."
///
/// Sources: RFC 959 section 4.2 ("If an intermediary line begins with a
/// 3-digit number, the Server must pad the front"). `Reply::multiline`
/// stores the padded line (documented), so the value is what a peer decodes.
#[test]
fn sec_e5_digit_leading_body_lines_are_padded() {
    let body = [&b"Status of /pub:"[..], b"211 End", b"226 Transfer complete", b"211-more", b"1999-report.pdf", b"End"];
    let r = Reply::multiline(code(211), body.iter().map(|l| t(l))).unwrap();
    let out = wire(&r);
    assert_eq!(
        out,
        b"211-Status of /pub:\r\n 211 End\r\n 226 Transfer complete\r\n 211-more\r\n 1999-report.pdf\r\n211 End\r\n"
    );
    // Strict and tolerant clients both read all six lines.
    for opts in [ParseOptions::default(), ParseOptions::default().allow_mismatched_multiline_end(true)] {
        let got = replies_in(&opts, &[&out]).0;
        assert_eq!(got.len(), 1);
        let back = got[0].as_ref().unwrap();
        assert_eq!(back.code().as_u16(), 211);
        assert_eq!(back.lines().len(), 6);
        assert_eq!(back, &r);
    }
    // Without the padding, the second line would close the reply early.
    let unpadded = b"211-Status of /pub:\r\n211 End\r\n226 Transfer complete\r\n211 End\r\n";
    let got = replies(unpadded);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap().lines().len(), 2);
    assert_eq!(got[1].as_ref().unwrap().code().as_u16(), 226);
}

/// SECURITY.md E6, "257 reply with a double quote in the directory name; no
/// closing quote".
///
/// Codec: "Encoder applies quote-doubling; decoder un-doubles; missing
/// closing quote → error."
///
/// Sources: RFC 959 Appendix II; CVE-2017-1000254 (curl read past the buffer
/// on a 257 without closing quote); curl `lib/ftp.c` PWD parser.
#[test]
fn sec_e6_257_quotes_are_doubled_and_an_unterminated_quote_is_an_error() {
    for name in [&b"\""[..], b"\"\"", b"a\"", b"\"a\"", b"/usr/dm/foo\"bar", b"x\"\"\"y"] {
        let r = Reply::pathname_created(ReplyCode::PATHNAME_CREATED, &p(name), "created");
        let out = wire(&r);
        let quotes_in_name = name.iter().filter(|&&b| b == b'"').count();
        assert_eq!(out.iter().filter(|&&b| b == b'"').count(), 2 + 2 * quotes_in_name, "{}", show(&out));
        assert_eq!(one_reply(&out).pathname().unwrap().as_bytes(), name);
    }
    for bad in
        [&b"257 \"\r\n"[..], b"257 \"/usr/dm\r\n", b"257 \"/usr/dm\"\"\r\n", b"257 \"\"\"\r\n", b"257 \"a\"\"b\r\n"]
    {
        assert_eq!(one_reply(bad).pathname(), Err(ReplyDataError::Malformed), "{}", show(bad));
    }
    assert_eq!(one_reply(b"257 no quotes\r\n").pathname(), Err(ReplyDataError::NotFound));
    // A huge unterminated name: an error, not a read past the line.
    let mut huge = b"257 \"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 4000));
    huge.extend_from_slice(b"\r\n");
    assert_eq!(one_reply(&huge).pathname(), Err(ReplyDataError::Malformed));
}

// ---------------------------------------------------------------------------
// N: numeric arguments.

fn assert_501(lines: &[&[u8]]) {
    for line in lines {
        let e = parse(line).expect_err(&show(line));
        assert!(matches!(e, ParseError::InvalidArgument { .. } | ParseError::MissingArgument { .. }), "{e:?}");
        assert_eq!(e.reply_code().as_u16(), 501, "{}", show(line));
    }
}

/// SECURITY.md N1, "PORT fields out of range, signs, spaces, extra/missing
/// fields, huge digit strings".
///
/// Codec: "Exactly six decimal fields, each 0..255 (RFC grammar says 1..255;
/// real clients send 0), bounded digit count, no sign or inner whitespace."
///
/// Sources: RFC 959 section 5.3.2; vsftpd Changelog ("reject numbers
/// <0 or >255"); Pure-FTPd `doport()`. Refusing an all-zero host or port 0 is the
/// server's policy (the codec accepts the grammar).
#[test]
fn sec_n1_port_grammar_is_strict() {
    assert_eq!(parse(b"PORT 0,0,0,0,0,0").unwrap(), Command::Port("0.0.0.0:0".parse().unwrap()));
    assert_eq!(
        parse(b"PORT 255,255,255,255,255,255").unwrap(),
        Command::Port("255.255.255.255:65535".parse().unwrap())
    );
    assert_501(&[
        b"PORT 256,0,0,1,4,1",
        b"PORT 1,2,3,4,5,999",
        b"PORT -1,2,3,4,5,6",
        b"PORT +1,2,3,4,5,6",
        b"PORT 1,2,3,4,5,-0",
        b"PORT 1, 2,3,4,5,6",
        b"PORT 1,2,3,4,5,6 ",
        b"PORT  1,2,3,4,5,6",
        b"PORT 1,2,3,4,5",
        b"PORT 1,2,3,4,5,6,7",
        b"PORT 1,2,3,4,,6",
        b"PORT ,1,2,3,4,5,6",
        b"PORT 1,2,3,4,5,6,",
        b"PORT 1.2.3.4.5.6",
        b"PORT 1,2,3,4,5,0006",
        b"PORT 1,2,3,4,5,00000000000000000000000000000000000006",
        b"PORT 1,2,3,4,5,18446744073709551617",
        b"PORT 0x7f,0,0,1,4,1",
        b"PORT",
    ]);
}

/// SECURITY.md N2, "EPRT with bad delimiter, unknown protocol, bad address,
/// port > 65535".
///
/// Codec: "Delimiter must be one byte in 33..126 and used consistently;
/// protocol 1 or 2; address parsed with the family it names; port 0..65535."
///
/// Sources: RFC 2428 sections 2-3; vsftpd `handle_eprt`; curl ("Illegal port
/// number in EPSV reply"). The codec refuses port 0 too (a data connection
/// cannot use it) and refuses digits as delimiters (ambiguous).
#[test]
fn sec_n2_eprt_grammar_is_strict() {
    for d in 0u8..=255 {
        let line = [&b"EPRT "[..], &[d], b"2", &[d], b"::1", &[d], b"2000", &[d]].concat();
        let valid = (33..=126).contains(&d) && !d.is_ascii_digit() && d != b':';
        assert_eq!(parse(&line).is_ok(), valid, "delimiter {d}");
    }
    for line in [&b"EPRT |3|1.2.3.4|5|"[..], b"EPRT |0|1.2.3.4|5|", b"EPRT |99999|x|5|"] {
        let e = parse(line).unwrap_err();
        assert_eq!(e, ParseError::UnsupportedProtocol { verb: "EPRT" });
        assert_eq!(e.reply_code().as_u16(), 522);
    }
    assert_eq!(parse(b"EPSV 3").unwrap_err().reply_code().as_u16(), 522);
    assert_501(&[
        b"EPRT |1|::1|2000|",
        b"EPRT |2|1.2.3.4|2000|",
        b"EPRT |1|1.2.3.4.5|2000|",
        b"EPRT |1|01.2.3.4|2000|",
        b"EPRT |1| 1.2.3.4|2000|",
        b"EPRT |2|::1%1|2000|",
        b"EPRT |1|1.2.3.4|65536|",
        b"EPRT |1|1.2.3.4|99999999999999999999|",
        b"EPRT |1|1.2.3.4|0|",
        b"EPRT |1|1.2.3.4|+80|",
        b"EPRT |1|1.2.3.4|80",
        b"EPRT |1|1.2.3.4!80!",
        b"EPRT |-1|1.2.3.4|80|",
        b"EPRT ",
    ]);
    assert_eq!(parse(b"EPRT |1|1.2.3.4|65535|").unwrap(), Command::Eprt("1.2.3.4:65535".parse().unwrap()));
    // The same strictness for the port of a 229 reply (client side).
    let port = |s: &[u8]| one_reply(s).extended_passive_port();
    assert_eq!(port(b"229 Entering Extended Passive Mode (|||65536|)\r\n"), Err(ReplyDataError::OutOfRange));
    assert_eq!(
        port(b"229 Entering Extended Passive Mode (|||99999999999999999999|)\r\n"),
        Err(ReplyDataError::OutOfRange)
    );
    assert_eq!(port(b"229 Entering Extended Passive Mode (|||-1|)\r\n"), Err(ReplyDataError::OutOfRange));
}

/// SECURITY.md N3, "REST negative, huge, non-digit, or left over for the
/// wrong command".
///
/// Codec: "`1*DIGIT` → u64 with overflow check → 501 on failure."
///
/// Sources: RFC 3659 section 5 (REST ABNF); vsftpd `sysutil.c` (more than 15
/// digits → 0); ProFTPD NEWS Issue 2286 (negative offsets). Clearing the
/// offset after the next transfer is the server's duty.
#[test]
fn sec_n3_rest_is_a_u64_without_wrapping() {
    assert_eq!(parse(b"REST 18446744073709551615").unwrap(), Command::Rest(u64::MAX));
    assert_eq!(parse(b"REST 1234567890123456").unwrap(), Command::Rest(1_234_567_890_123_456));
    assert_501(&[
        b"REST 18446744073709551616",
        b"REST 36893488147419103232",
        b"REST 99999999999999999999",
        b"REST 000000000000000000000",
        b"REST -1",
        b"REST -0",
        b"REST +1",
        b"REST 1e3",
        b"REST 0x10",
        b"REST 1 ",
        b"REST  1",
        b"REST ",
        b"REST",
    ]);
}

/// SECURITY.md N4, "PBSZ with a huge or non-zero value".
///
/// Codec: "Decimal bounded to u32."
///
/// Sources: RFC 4217 section 9; RFC 2228 grammar; vsftpd `handle_pbsz`;
/// pyftpdlib. Requiring TLS first (503) and answering `200 PBSZ=0` is the
/// server's duty; the codec hands over the exact u32.
#[test]
fn sec_n4_pbsz_is_a_u32_without_wrapping() {
    assert_eq!(parse(b"PBSZ 0").unwrap(), Command::Pbsz(0));
    assert_eq!(parse(b"PBSZ 4294967295").unwrap(), Command::Pbsz(u32::MAX));
    assert_eq!(parse(b"PBSZ 16384").unwrap(), Command::Pbsz(16384));
    // 2^32 must not wrap to 0 (which a server would then accept).
    assert_501(&[
        b"PBSZ 4294967296",
        b"PBSZ 8589934592",
        b"PBSZ 18446744073709551616",
        b"PBSZ -1",
        b"PBSZ +0",
        b"PBSZ 0.0",
        b"PBSZ zero",
        b"PBSZ 0 ",
        b"PBSZ ",
        b"PBSZ",
    ]);
}

/// SECURITY.md N5, "TYPE/MODE/STRU with odd parameters (`A X`, `L 9`,
/// trailing junk)".
///
/// Codec: "Strict grammar; unknown form → typed error."
///
/// Sources: RFC 959 section 5.3.2; ProFTPD NEWS Issue 2141 (TYPE silently
/// ignored an invalid form code); vsftpd `handle_type`. `L 9` follows the
/// grammar (`L <byte-size>`), so the codec returns it typed and not binary;
/// answering 504 for byte sizes it does not support is the server's duty.
#[test]
fn sec_n5_type_mode_stru_odd_parameters_are_typed_errors() {
    for (line, verb) in [
        (&b"TYPE A X"[..], "TYPE"),
        (b"TYPE X", "TYPE"),
        (b"TYPE E Q", "TYPE"),
        (b"MODE Q", "MODE"),
        (b"STRU Z", "STRU"),
        (b"PROT Q", "PROT"),
    ] {
        let e = parse(line).unwrap_err();
        assert_eq!(e, ParseError::UnsupportedParameter { verb }, "{}", show(line));
        assert_eq!(e.reply_code().as_u16(), 504);
    }
    let Command::Type(l9) = parse(b"TYPE L 9").unwrap() else { panic!() };
    assert!(!l9.is_binary());
    let Command::Type(l8) = parse(b"TYPE L 8").unwrap() else { panic!() };
    assert!(l8.is_binary());
    assert!(TransferType::Image.is_binary());
    assert!(!TransferType::Ascii(None).is_binary());
    assert_501(&[
        b"TYPE I junk",
        b"TYPE A N junk",
        b"TYPE A N ",
        b"TYPE L 8 junk",
        b"TYPE L 0",
        b"TYPE L 256",
        b"TYPE",
        b"MODE S junk",
        b"MODE SS",
        b"STRU F junk",
        b"STRU",
        b"PROT P junk",
    ]);
}

/// SECURITY.md N6, "227 reply with numbers > 255, the 6-tuple buried in
/// text, or junk".
///
/// Codec: "Scan for a strict 6-number tuple, each ≤ 255."
///
/// Sources: curl `lib/ftp.c` `match_pasv_6nums()` and the OSS-Fuzz range
/// check (curl #1997). Ignoring the 227 address by default is the client's
/// duty (D5); the codec returns it exactly.
#[test]
fn sec_n6_227_needs_a_strict_six_number_tuple() {
    let addr = |s: &[u8]| one_reply(s).passive_addr();
    let v4 = |s: &str| -> SocketAddrV4 { s.parse().unwrap() };
    assert_eq!(addr(b"227 Data transfer will passively listen to 127,0,0,1,4,51\r\n"), Ok(v4("127.0.0.1:1075")));
    assert_eq!(addr(b"227 Entering Passive Mode (255,255,255,255,255,255)\r\n"), Ok(v4("255.255.255.255:65535")));
    // Never a shorter match inside an out-of-range run.
    for bad in [
        &b"227 Entering Passive Mode (1127,0,0,1,4,1)\r\n"[..],
        b"227 Entering Passive Mode (127,0,0,1,4,1000)\r\n",
        b"227 Entering Passive Mode (256,0,0,1,4,1)\r\n",
        b"227 Entering Passive Mode (99999999999999999999999,1,2,3,4,5)\r\n",
    ] {
        assert_eq!(addr(bad), Err(ReplyDataError::OutOfRange), "{}", show(bad));
    }
    assert_eq!(addr(b"227 Entering Passive Mode (127,0,0,1,4,1,2)\r\n"), Err(ReplyDataError::Malformed));
    for junk in [&b"227 Entering Passive Mode\r\n"[..], b"227 ok (1,2,3)\r\n", b"227 \xff\xff\r\n", b"227\r\n"] {
        assert_eq!(addr(junk), Err(ReplyDataError::NotFound), "{}", show(junk));
    }
}

// ---------------------------------------------------------------------------
// R: reply parsing (client).

/// SECURITY.md R1, "Endless reply line / giant multi-line reply from a
/// hostile server".
///
/// Codec: "Cap per line and per reply (curl caps the buffer at 64 KiB);
/// overflow → error, no growth."
///
/// Sources: CVE-2018-1000300; CVE-2000-0973; httrack PR 473; curl
/// `lib/pingpong.c` / `dynbuf.h`. Failing the command and closing the
/// connection is the client's duty; the decoder reports once and recovers.
#[test]
fn sec_r1_endless_and_giant_replies_are_bounded_and_the_decoder_recovers() {
    // An endless line in 4 KiB reads.
    let opts = ParseOptions::default();
    let limit = opts.max_line_len_value();
    let mut dec = ReplyDecoder::new(opts.clone());
    let mut buf = BytesMut::from(&b"220 "[..]);
    let mut items = Vec::new();
    for _ in 0..256 {
        buf.extend_from_slice(&[b'x'; 4096]);
        assert!(buf.len() <= limit + 4096);
        while let Some(item) = dec.decode(&mut buf) {
            items.push(item);
        }
    }
    buf.extend_from_slice(b"\r\n220 Service ready\r\n");
    while let Some(item) = dec.decode(&mut buf) {
        items.push(item);
    }
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Err(ReplyError::Frame(FrameError::LineTooLong { limit })));
    assert_eq!(items[1].as_ref().unwrap().text().as_bytes(), b"Service ready");

    // A giant multi-line reply: too many lines, then too many bytes.
    let mut giant = b"211-start\r\n".to_vec();
    for i in 0..10_000 {
        giant.extend_from_slice(format!(" line {i:05} {}\r\n", "y".repeat(50)).as_bytes());
    }
    giant.extend_from_slice(b"211 End\r\n200 next\r\n");
    for (opts, want) in [
        (ParseOptions::default().max_reply_lines(100), ReplyError::TooManyLines { limit: 100 }),
        (ParseOptions::default().max_reply_len(1024), ReplyError::TooLong { limit: 1024 }),
        (ParseOptions::default(), ReplyError::TooLong { limit: 64 * 1024 }),
    ] {
        for pieces in [vec![&giant[..]], giant.chunks(4096).collect()] {
            let (got, peak) = replies_in(&opts, &pieces);
            assert_eq!(got.len(), 2, "{:?}", got.first());
            assert_eq!(got[0], Err(want.clone()));
            assert_eq!(got[1].as_ref().unwrap().code().as_u16(), 200);
            assert!(peak <= opts.max_line_len_value() + pieces[0].len());
        }
    }
    // The default line-count cap: 10 000 short lines (40 KB) are too many.
    let mut many = b"211-start\r\n".to_vec();
    for _ in 0..10_000 {
        many.extend_from_slice(b" x\r\n");
    }
    many.extend_from_slice(b"211 End\r\n");
    assert_eq!(replies(&many), vec![Err(ReplyError::TooManyLines { limit: 8192 })]);
}

/// SECURITY.md R2, "Malformed reply: code not 3 digits, first digit outside
/// 1–5, `123-` never closed".
///
/// Codec: "Reject malformed codes; track the open multi-line code."
///
/// Sources: RFC 959 section 4.2; curl `ftp_endofresp()`; curl
/// `PINGPONG_TIMEOUT_MS`. First digit 6 is accepted: RFC 2228 section 4
/// protected replies. The deadline for a never-closed reply is the client's.
#[test]
fn sec_r2_malformed_reply_codes_are_rejected() {
    for bad in [
        &b"99 x"[..],
        b"abc",
        b"7xx",
        b"12",
        b"1234 x",
        b"099 x",
        b"700 x",
        b"800 x",
        b"2O0 x",
        b" 200 x",
        b"200x",
        b"200_x",
        b"",
    ] {
        let input = [bad, b"\r\n200 ok\r\n"].concat();
        let got = replies(&input);
        assert_eq!(got.len(), 2, "{}", show(bad));
        assert_eq!(got[0], Err(ReplyError::BadCode), "{}", show(bad));
        assert_eq!(got[1].as_ref().unwrap().code().as_u16(), 200, "the decoder goes on");
    }
    assert!(ReplyCode::new(99).is_err() && ReplyCode::new(700).is_err() && ReplyCode::new(0).is_err());
    assert_eq!(ReplyCode::from_digits(*b"7xx"), None);
    assert!(one_reply(b"632 cHJvdGVjdGVk\r\n").code().is_protected());
    // `123-` never closed: nothing is returned; other codes do not close it.
    let mut dec = ReplyDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&b"123-start\r\n124 other\r\n123-again\r\n123x\r\n 123 padded\r\n"[..]);
    assert!(dec.decode(&mut buf).is_none());
    assert!(dec.has_partial_reply());
    buf.extend_from_slice(b"123 end\r\n");
    let r = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(r.code().as_u16(), 123);
    assert_eq!(r.lines().len(), 6);
    assert!(!dec.has_partial_reply());
    // A client may drop a half reply (e.g. on its deadline) and start over.
    let mut buf = BytesMut::from(&b"123-start\r\n"[..]);
    assert!(dec.decode(&mut buf).is_none());
    buf.clear();
    dec.reset();
    assert!(!dec.has_partial_reply());
    buf.extend_from_slice(b"200 ok\r\n");
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().code().as_u16(), 200);
}
