//! Decode throughput of the control-connection codec, side by side with a
//! bare `memchr` line split (the ceiling: no decoder can frame lines faster)
//! and with `libftp` 0.1.0, the only other Rust FTP parser with a public API.
//!
//! Every contender reads the same bytes (`corpus.rs`, about 1 MiB per stream)
//! in the same run. Each stream is one criterion group (`commands`,
//! `commands_common`, `replies`) holding every contender: `memchr_lines`,
//! `ftp_proto` (the owned decoder, `decode`: every command or reply built,
//! arguments as zero-copy `Bytes` slices), `ftp_proto_ref` (the borrowing
//! fast path, `decode_ref`: the same checks, each item a view of the buffer
//! that is never made owned) and `libftp`. Each reports bytes/s and
//! elements/s, one element being one *message* of the stream (a command, or
//! a reply, a multi-line reply counting once) for every contender, the
//! memchr split included: so within a group elements/s compare directly,
//! and `ftp_proto`'s elements/s divided by `memchr_lines`' is its fraction
//! of the ceiling on the same bytes (the goal is at least 1/3). A reply
//! stream has more lines than replies (multi-line replies), so memchr's
//! *lines*/s are higher than its elements/s there; the element counts are
//! printed before the run.
//!
//! After the criterion groups the bench prints a `ratios` table: the
//! contenders timed again over the same bytes, interleaved round by round,
//! the fastest of each kept (the figure least disturbed by other load on a
//! shared machine), with ftp-proto's fraction of the memchr ceiling and its
//! speed-up over libftp, owned and borrowing (`ref`). It is skipped under `--list`, `--test` and
//! `--profile-time`. Results and the command that produced them:
//! `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p ftp-proto --bench decode -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use ftp_proto::{CommandDecoder, ParseOptions, ReplyDecoder};

mod corpus;

use corpus::{Corpus, Stream};

/// The ceiling: find every line end with `memchr` and hand out each line,
/// doing nothing else (no CR stripping, no Telnet, no parsing).
fn memchr_lines(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    let mut lines = 0;
    while let Some(end) = memchr::memchr(b'\n', rest) {
        black_box(&rest[..end]);
        rest = &rest[end + 1..];
        lines += 1;
    }
    lines
}

/// Decodes every command of `buf`, dropping each one as a server does after
/// answering it. Returns the count and the (now empty) buffer, so that
/// freeing the buffer is not timed.
fn ftp_proto_commands(mut buf: BytesMut) -> (usize, BytesMut) {
    let mut decoder = CommandDecoder::new(ParseOptions::default());
    let mut commands = 0;
    while let Some(item) = decoder.decode(&mut buf) {
        black_box(item.expect("every corpus command is valid"));
        commands += 1;
    }
    (commands, buf)
}

/// The same through the borrowing fast path: each command is checked in
/// place and dropped as a view of the buffer, never made owned.
fn ftp_proto_commands_ref(mut buf: BytesMut) -> (usize, BytesMut) {
    let mut decoder = CommandDecoder::new(ParseOptions::default());
    let mut commands = 0;
    while let Some(item) = decoder.decode_ref(&mut buf) {
        black_box(item.expect("every corpus command is valid"));
        commands += 1;
    }
    (commands, buf)
}

/// The same with `libftp`: it parses from a `&[u8]` and returns the rest.
/// A line it does not understand is skipped up to its LF, as a server
/// answering `500` would do; it counts among the `rejected`.
fn libftp_commands(bytes: &[u8]) -> (usize, usize) {
    let mut rest = bytes;
    let (mut parsed, mut rejected) = (0, 0);
    while !rest.is_empty() {
        match libftp::parser::parse_command(rest) {
            Ok((tail, command)) => {
                black_box(command);
                rest = tail;
                parsed += 1;
            }
            Err(_) => {
                let Some(end) = memchr::memchr(b'\n', rest) else { break };
                rest = &rest[end + 1..];
                rejected += 1;
            }
        }
    }
    (parsed, rejected)
}

fn ftp_proto_replies(mut buf: BytesMut) -> (usize, BytesMut) {
    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let mut replies = 0;
    while let Some(item) = decoder.decode(&mut buf) {
        black_box(item.expect("every corpus reply is valid"));
        replies += 1;
    }
    (replies, buf)
}

fn ftp_proto_replies_ref(mut buf: BytesMut) -> (usize, BytesMut) {
    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let mut replies = 0;
    while let Some(item) = decoder.decode_ref(&mut buf) {
        black_box(item.expect("every corpus reply is valid"));
        replies += 1;
    }
    (replies, buf)
}

fn libftp_replies(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    let mut replies = 0;
    while !rest.is_empty() {
        let (tail, reply) = libftp::parser::parse_reply(rest).expect("libftp parses every corpus reply");
        black_box(reply);
        rest = tail;
        replies += 1;
    }
    replies
}

/// Checks, before anything is timed, that every contender reads the whole
/// corpus as intended, and prints the element counts.
fn check(corpus: &Corpus) {
    let all = &corpus.commands;
    assert_eq!(ftp_proto_commands(BytesMut::from(&all.bytes[..])).0, all.messages);
    assert_eq!(ftp_proto_commands_ref(BytesMut::from(&all.bytes[..])).0, all.messages);
    let (parsed, rejected) = libftp_commands(&all.bytes);
    assert_eq!(parsed + rejected, all.messages);

    let common = &corpus.common;
    assert_eq!(ftp_proto_commands(BytesMut::from(&common.bytes[..])).0, common.messages);
    assert_eq!(ftp_proto_commands_ref(BytesMut::from(&common.bytes[..])).0, common.messages);
    // libftp must understand every line of the common subset, one by one.
    for line in common.bytes.split_inclusive(|&b| b == b'\n') {
        match libftp::parser::parse_command(line) {
            Ok(([], _)) => {}
            other => panic!("libftp does not parse {:?}: {other:?}", String::from_utf8_lossy(line)),
        }
    }
    assert_eq!(libftp_commands(&common.bytes), (common.messages, 0));

    let replies = &corpus.replies;
    assert_eq!(ftp_proto_replies(BytesMut::from(&replies.bytes[..])).0, replies.messages);
    assert_eq!(ftp_proto_replies_ref(BytesMut::from(&replies.bytes[..])).0, replies.messages);
    assert_eq!(libftp_replies(&replies.bytes), replies.messages);
    for (line, stream) in [
        (memchr_lines(&all.bytes), all),
        (memchr_lines(&common.bytes), common),
        (memchr_lines(&replies.bytes), replies),
    ] {
        assert_eq!(line, stream.lines);
    }

    eprintln!(
        "corpus: commands {} bytes, {} commands ({} understood by libftp, {} rejected); \
         common subset {} bytes, {} commands; replies {} bytes, {} replies ({} multi-line), {} lines",
        all.bytes.len(),
        all.messages,
        parsed,
        rejected,
        common.bytes.len(),
        common.messages,
        replies.bytes.len(),
        replies.messages,
        corpus.multiline_replies,
        replies.lines,
    );
}

fn throughput(stream: &Stream, elements: usize) -> Throughput {
    Throughput::ElementsAndBytes { elements: elements as u64, bytes: stream.bytes.len() as u64 }
}

/// A group of contenders over one stream: each iteration takes about a
/// millisecond or more, so samples are flat rather than linearly growing.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// An `ftp_proto` contender: a fresh `BytesMut` holding the stream for
/// every iteration, copied in the untimed setup of `iter_batched`.
fn bench_ftp_proto(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    stream: &Stream,
    decode: fn(BytesMut) -> (usize, BytesMut),
) {
    group.bench_function(name, |b| {
        b.iter_batched(|| BytesMut::from(&stream.bytes[..]), decode, BatchSize::LargeInput);
    });
}

/// One contender's decode of a whole stream, for the ratio table.
type Run<'a> = Box<dyn Fn() + 'a>;

/// The fastest of `rounds` timings of each contender, the contenders taking
/// turns within every round so that a burst of outside load hits them alike.
// A benchmark reads the clock; the sans-IO rule is for the library.
#[allow(clippy::disallowed_methods)]
fn fastest(rounds: usize, runs: &[Run<'_>]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; runs.len()];
    for _ in 0..rounds {
        for (run, best) in runs.iter().zip(&mut best) {
            let start = Instant::now();
            run();
            *best = (*best).min(start.elapsed());
        }
    }
    best
}

/// The ratio table: per stream, ns per message of each contender and
/// ftp-proto's fraction of the memchr ceiling and speed-up over libftp,
/// for the owned decoder (`decode`) and the borrowing one (`decode_ref`).
fn ratios(corpus: &Corpus) {
    const ROUNDS: usize = 200;
    println!();
    println!("ratios (fastest of {ROUNDS} interleaved rounds over the same bytes; ns per message)");
    println!(
        "{:<16} {:>8} {:>7} {:>10} {:>14} {:>7}   {:>17} {:>17}",
        "stream", "messages", "memchr", "ftp_proto", "ftp_proto_ref", "libftp", "of memchr", "x libftp"
    );
    type Decode = fn(BytesMut) -> (usize, BytesMut);
    for (name, stream, owned, borrowed, commands) in [
        ("commands", &corpus.commands, ftp_proto_commands as Decode, ftp_proto_commands_ref as Decode, true),
        ("commands_common", &corpus.common, ftp_proto_commands, ftp_proto_commands_ref, true),
        ("replies", &corpus.replies, ftp_proto_replies, ftp_proto_replies_ref, false),
    ] {
        let bytes = &stream.bytes;
        let copy = || BytesMut::from(&bytes[..]);
        let runs: Vec<Run<'_>> = vec![
            Box::new(|| {
                black_box(memchr_lines(black_box(bytes)));
            }),
            Box::new(|| {
                black_box(owned(copy()));
            }),
            Box::new(|| {
                black_box(borrowed(copy()));
            }),
            Box::new(move || {
                if commands {
                    black_box(libftp_commands(black_box(bytes)));
                } else {
                    black_box(libftp_replies(black_box(bytes)));
                }
            }),
            // The buffer copy is part of the ftp_proto runs: time it alone
            // and take it off, as criterion's untimed setup does.
            Box::new(|| drop(black_box(copy()))),
        ];
        let best = fastest(ROUNDS, &runs);
        let copying = best[4];
        let (memchr, ours, ours_ref, libftp) =
            (best[0], best[1].saturating_sub(copying), best[2].saturating_sub(copying), best[3]);
        let per = |d: Duration| d.as_secs_f64() * 1e9 / stream.messages as f64;
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "{name:<16} {:>8} {:>7.1} {:>10.1} {:>14.1} {:>7.1}   {:>8.2} {:>4.2} ref {:>7.2}x {:>5.2}x ref",
            stream.messages,
            per(memchr),
            per(ours),
            per(ours_ref),
            per(libftp),
            ratio(memchr, ours),
            ratio(memchr, ours_ref),
            ratio(libftp, ours),
            ratio(libftp, ours_ref),
        );
    }
}

fn benches(c: &mut Criterion, corpus: &Corpus) {
    check(corpus);

    for (name, stream) in [("commands", &corpus.commands), ("commands_common", &corpus.common)] {
        let mut g = group(c, name);
        g.throughput(throughput(stream, stream.messages));
        g.bench_function("memchr_lines", |b| b.iter(|| memchr_lines(black_box(&stream.bytes))));
        bench_ftp_proto(&mut g, "ftp_proto", stream, ftp_proto_commands);
        bench_ftp_proto(&mut g, "ftp_proto_ref", stream, ftp_proto_commands_ref);
        g.bench_function("libftp", |b| b.iter(|| libftp_commands(black_box(&stream.bytes))));
        g.finish();
    }

    let stream = &corpus.replies;
    let mut g = group(c, "replies");
    g.throughput(throughput(stream, stream.messages));
    g.bench_function("memchr_lines", |b| b.iter(|| memchr_lines(black_box(&stream.bytes))));
    bench_ftp_proto(&mut g, "ftp_proto", stream, ftp_proto_replies);
    bench_ftp_proto(&mut g, "ftp_proto_ref", stream, ftp_proto_replies_ref);
    g.bench_function("libftp", |b| b.iter(|| libftp_replies(black_box(&stream.bytes))));
    g.finish();
}

fn main() {
    let corpus = corpus::build();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &corpus);
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| matches!(a.as_str(), "--list" | "--test" | "--profile-time")) {
        ratios(&corpus);
    }
}
