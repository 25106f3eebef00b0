//! Heap allocations per decoded command and reply, in steady state.
//!
//! The crate promises "no allocation on the hot path" (lib.rs): a command is
//! split off the caller's buffer and parsed into views of it, so decoding one
//! must not allocate at all; a reply of one line neither; a multi-line reply
//! needs its one `Vec` of lines. Targets: zero allocations per command, at
//! most one per reply on average.
//!
//! The counter is `allocation-counter`'s global allocator (per thread, so the
//! parallel test harness does not disturb it): the workspace forbids
//! `unsafe_code`, which a hand-written `GlobalAlloc` would need. The corpus
//! is the benchmark's (`benches/corpus.rs`). Run with
//! `cargo test -p ftp-proto --test alloc -- --nocapture` to see the figures.

#[path = "../benches/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::hint::black_box;

use allocation_counter::{AllocationInfo, measure};
use bytes::BytesMut;
use corpus::Stream;
use ftp_proto::{CommandDecoder, ParseOptions, ReplyDecoder};

/// Read size of the chunked runs: what a server's socket read might return.
const CHUNK: usize = 4096;

/// Decodes a whole stream held in one buffer. The first item is decoded
/// before counting starts: its split turns the buffer's `Vec` into shared
/// storage, one allocation per buffer, not per item.
fn whole<T, E: std::fmt::Debug>(
    stream: &Stream,
    mut decode: impl FnMut(&mut BytesMut) -> Option<Result<T, E>>,
) -> (AllocationInfo, usize) {
    let mut buf = BytesMut::from(&stream.bytes[..]);
    drop(decode(&mut buf).expect("a first item").expect("valid corpus"));
    let mut items = 1;
    let info = measure(|| {
        while let Some(item) = decode(&mut buf) {
            black_box(item.expect("valid corpus"));
            items += 1;
        }
    });
    (info, items)
}

/// Decodes a stream as a server or client loop does: read a chunk into the
/// same buffer, decode what is complete, drop it, read again. Counting
/// starts after the first chunk (the buffer's first growth).
fn chunked<T, E: std::fmt::Debug>(
    stream: &Stream,
    mut decode: impl FnMut(&mut BytesMut) -> Option<Result<T, E>>,
) -> (AllocationInfo, usize) {
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    let mut chunks = stream.bytes.chunks(CHUNK);
    let mut items = 0;
    let mut read_and_decode = |buf: &mut BytesMut, chunk: &[u8]| {
        buf.extend_from_slice(chunk);
        while let Some(item) = decode(buf) {
            black_box(item.expect("valid corpus"));
            items += 1;
        }
    };
    read_and_decode(&mut buf, chunks.next().expect("a first chunk"));
    let info = measure(|| {
        for chunk in chunks {
            read_and_decode(&mut buf, chunk);
        }
    });
    assert!(buf.is_empty(), "the corpus ends with a complete line");
    (info, items)
}

fn per(info: &AllocationInfo, items: usize) -> f64 {
    info.count_total as f64 / items as f64
}

/// Commands that still allocate, with the most allocations each may make.
/// Target: empty.
///
/// `PORT`: `addr::parse_host_port` collects the six numbers with nom's
/// `separated_list1`, a `Vec<u8>` (8 bytes) per command.
const KNOWN_ALLOCATING: &[(&str, u64)] = &[];

/// Allocations and commands per verb, counting each `decode` call alone
/// (one buffer, after the first command).
fn allocations_per_verb(stream: &Stream) -> BTreeMap<String, (u64, usize)> {
    let mut decoder = CommandDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&stream.bytes[..]);
    let mut verbs: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut first = true;
    loop {
        let mut item = None;
        let info = measure(|| item = decoder.decode(&mut buf));
        let Some(item) = item else { break };
        let command = item.expect("valid corpus");
        let entry = verbs.entry(command.verb().to_owned()).or_default();
        // The first split turns the buffer's `Vec` into shared storage: one
        // allocation per buffer, not per command.
        entry.0 += if first { 0 } else { info.count_total };
        entry.1 += 1;
        first = false;
    }
    verbs
}

#[test]
fn zero_allocations_per_command() {
    let corpus = corpus::build();
    for (name, stream) in [("commands", &corpus.commands), ("commands_common", &corpus.common)] {
        let mut decoder = CommandDecoder::new(ParseOptions::default());
        let (info, commands) = whole(stream, |buf| decoder.decode(buf));
        assert_eq!(commands, stream.messages);
        println!(
            "{name}, one buffer: {commands} commands, {} allocations ({:.4} per command, {} bytes)",
            info.count_total,
            per(&info, commands),
            info.bytes_total
        );

        let verbs = allocations_per_verb(stream);
        let mut allowed = 0;
        for (verb, &(allocations, count)) in &verbs {
            match KNOWN_ALLOCATING.iter().find(|(v, _)| v == verb) {
                None => assert_eq!(allocations, 0, "{name}: {verb} allocates ({allocations} for {count} commands)"),
                Some(&(_, limit)) => {
                    println!("{name}: {verb} still allocates: {allocations} for {count} commands");
                    assert!(allocations <= limit * count as u64, "{name}: {verb} allocates more than {limit} each");
                    assert_ne!(allocations, 0, "{verb} no longer allocates: remove it from KNOWN_ALLOCATING");
                    allowed += allocations;
                }
            }
        }
        assert_eq!(info.count_total, allowed, "{name}: allocations outside the per-command decode calls");

        // Reading in chunks into one reused buffer adds none: once the
        // commands are dropped, `BytesMut::reserve` reclaims the buffer.
        let mut decoder = CommandDecoder::new(ParseOptions::default());
        let (info, commands) = chunked(stream, |buf| decoder.decode(buf));
        assert_eq!(commands, stream.messages);
        println!(
            "{name}, {CHUNK}-byte reads: {commands} commands, {} allocations ({:.4} per command, {} bytes)",
            info.count_total,
            per(&info, commands),
            info.bytes_total
        );
        assert!(info.count_total <= allowed, "{name}: allocations while reading and decoding commands");
    }
}

#[test]
fn at_most_one_allocation_per_reply() {
    let corpus = corpus::build();
    let stream = &corpus.replies;
    let multiline = corpus.multiline_replies;
    let report = |how: &str, info: &AllocationInfo, replies: usize| {
        println!(
            "replies, {how}: {replies} replies ({multiline} multi-line), {} allocations ({:.4} per reply, {:.2} per \
             multi-line reply, {} bytes)",
            info.count_total,
            per(info, replies),
            per(info, multiline),
            info.bytes_total
        );
    };

    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let (info, replies) = whole(stream, |buf| decoder.decode(buf));
    assert_eq!(replies, stream.messages);
    report("one buffer", &info, replies);
    assert!(info.count_total as usize <= replies, "more than one allocation per reply");

    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let (info, replies) = chunked(stream, |buf| decoder.decode(buf));
    assert_eq!(replies, stream.messages);
    report(&format!("{CHUNK}-byte reads"), &info, replies);
    assert!(info.count_total as usize <= replies, "more than one allocation per reply");
}

/// One-line replies alone: none of them may allocate.
#[test]
fn zero_allocations_per_single_line_reply() {
    let corpus = corpus::build();
    let mut single = Vec::new();
    let mut count = 0;
    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&corpus.replies.bytes[..]);
    while let Some(reply) = decoder.decode(&mut buf) {
        let reply = reply.expect("valid corpus");
        if !reply.is_multiline() {
            let mut line = BytesMut::new();
            reply.encode(&mut line);
            single.extend_from_slice(&line);
            count += 1;
        }
    }
    let stream = Stream { bytes: single, messages: count, lines: count };
    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let (info, replies) = whole(&stream, |buf| decoder.decode(buf));
    assert_eq!(replies, count);
    println!("single-line replies, one buffer: {replies} replies, {} allocations", info.count_total);
    assert_eq!(info.count_total, 0, "allocations while decoding single-line replies");
}

/// The borrowing decoders (`decode_ref`) allocate nothing per item: not for
/// commands, not for single-line replies, not even for multi-line replies
/// (their line list is reused; it only grows, a few times per stream, when
/// a longer reply than any before comes).
#[test]
fn borrowing_path_allocates_nothing_per_item() {
    let corpus = corpus::build();
    for (name, stream) in [("commands", &corpus.commands), ("commands_common", &corpus.common)] {
        let mut decoder = CommandDecoder::new(ParseOptions::default());
        let mut buf = BytesMut::from(&stream.bytes[..]);
        let _ = decoder.decode_ref(&mut buf).expect("a first command").expect("valid corpus");
        let mut commands = 1;
        let info = measure(|| {
            while let Some(item) = decoder.decode_ref(&mut buf) {
                black_box(item.expect("valid corpus"));
                commands += 1;
            }
        });
        assert_eq!(commands, stream.messages);
        println!("{name}, decode_ref, one buffer: {commands} commands, {} allocations", info.count_total);
        assert_eq!(info.count_total, 0, "{name}: decode_ref allocates");
    }

    let stream = &corpus.replies;
    let mut decoder = ReplyDecoder::new(ParseOptions::default());
    let mut buf = BytesMut::from(&stream.bytes[..]);
    let _ = decoder.decode_ref(&mut buf).expect("a first reply").expect("valid corpus");
    let mut replies = 1;
    let info = measure(|| {
        while let Some(item) = decoder.decode_ref(&mut buf) {
            black_box(item.expect("valid corpus"));
            replies += 1;
        }
    });
    assert_eq!(replies, stream.messages);
    println!(
        "replies, decode_ref, one buffer: {replies} replies ({} multi-line), {} allocations ({} bytes)",
        corpus.multiline_replies, info.count_total, info.bytes_total
    );
    assert!(info.count_total <= 16, "decode_ref allocates per reply: {} allocations", info.count_total);
}
