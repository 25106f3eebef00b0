//! Decode throughput of the control-connection codec, side by side with a
//! bare `memchr` line split (the ceiling: no decoder can frame lines faster)
//! and with `libftp` 0.1.0, the only other Rust FTP parser with a public API.
//!
//! Every contender reads the same bytes (`corpus.rs`, about 1 MiB per stream)
//! in the same run. Each benchmark reports bytes/s and elements/s, one
//! element being one line (`memchr_ceiling`), one command, or one reply; the
//! element counts are printed before the run. Results and the command that
//! produced them: `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p ftp-proto --bench decode -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
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
    let (parsed, rejected) = libftp_commands(&all.bytes);
    assert_eq!(parsed + rejected, all.messages);

    let common = &corpus.common;
    assert_eq!(ftp_proto_commands(BytesMut::from(&common.bytes[..])).0, common.messages);
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

/// The `ftp_proto` contender: a fresh `BytesMut` holding the stream for
/// every iteration, copied in the untimed setup of `iter_batched`.
fn bench_ftp_proto(
    group: &mut BenchmarkGroup<'_, WallTime>,
    stream: &Stream,
    decode: fn(BytesMut) -> (usize, BytesMut),
) {
    group.bench_function("ftp_proto", |b| {
        b.iter_batched(|| BytesMut::from(&stream.bytes[..]), decode, BatchSize::LargeInput);
    });
}

fn benches(c: &mut Criterion) {
    let corpus = corpus::build();
    check(&corpus);

    let mut g = group(c, "memchr_ceiling");
    for (name, stream) in
        [("commands", &corpus.commands), ("commands_common", &corpus.common), ("replies", &corpus.replies)]
    {
        g.throughput(throughput(stream, stream.lines));
        g.bench_function(name, |b| b.iter(|| memchr_lines(black_box(&stream.bytes))));
    }
    g.finish();

    for (name, stream) in [("commands", &corpus.commands), ("commands_common", &corpus.common)] {
        let mut g = group(c, name);
        g.throughput(throughput(stream, stream.messages));
        bench_ftp_proto(&mut g, stream, ftp_proto_commands);
        g.bench_function("libftp", |b| b.iter(|| libftp_commands(black_box(&stream.bytes))));
        g.finish();
    }

    let stream = &corpus.replies;
    let mut g = group(c, "replies");
    g.throughput(throughput(stream, stream.messages));
    bench_ftp_proto(&mut g, stream, ftp_proto_replies);
    g.bench_function("libftp", |b| b.iter(|| libftp_replies(black_box(&stream.bytes))));
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
