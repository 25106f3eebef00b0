//! The streaming reply decoder: bytes from a server in, whole replies out.

use alloc::vec::Vec;

use bytes::BytesMut;

use super::{Reply, ReplyCode};
use crate::error::ReplyError;
use crate::line::{LineDecoder, LineRef};
use crate::options::ParseOptions;
use crate::text::Text;

#[derive(Debug, Clone)]
enum State {
    /// Between replies.
    Idle,
    /// Inside a multi-line reply opened by `code`; its lines so far are in
    /// the decoder's `scratch`.
    Open { code: ReplyCode, bytes: usize },
    /// Skipping the rest of a multi-line reply that broke a limit.
    Skipping { code: ReplyCode },
}

/// Assembles replies from a byte stream (client side), RFC 959 4.2.
///
/// Returns nothing until a whole reply (all lines of a multi-line one) is
/// buffered. Each line is bounded by the line limit and each reply by the
/// line-count and byte limits (SECURITY.md R1); after an error the decoder
/// skips the rest of the broken reply and goes on. By default a multi-line
/// reply ends only at its own code followed by a space, so middle lines that
/// begin with digits or another code stay inside it.
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::{ParseOptions, ReplyDecoder};
///
/// let mut decoder = ReplyDecoder::new(ParseOptions::default());
/// let mut buf = BytesMut::from(&b"123-First line\r\n234 A line beginning with numbers\r\n123 The last line\r\n"[..]);
/// let reply = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(reply.code().as_u16(), 123);
/// assert_eq!(reply.lines().len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct ReplyDecoder {
    lines: LineDecoder,
    options: ParseOptions,
    state: State,
    /// The lines of the open multi-line reply. Reused, so that each
    /// multi-line reply costs exactly one allocation (its own line list).
    scratch: Vec<Text>,
}

/// The code that starts a line, and what follows it.
enum Start {
    /// `ddd text` (or a bare `ddd` when allowed): a last or only line.
    Final(ReplyCode),
    /// `ddd-text`: the first line of a multi-line reply.
    Open(ReplyCode),
}

impl ReplyDecoder {
    /// A decoder with the given leniency and limits.
    #[must_use]
    pub fn new(options: ParseOptions) -> Self {
        Self { lines: LineDecoder::new(&options), options, state: State::Idle, scratch: Vec::new() }
    }

    /// The next reply or error, or `None` until a whole reply is buffered.
    #[must_use = "a decoded reply (or error) must be handled"]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Reply, ReplyError>> {
        loop {
            let Self { lines, options, state, scratch } = self;
            // Lines come as ranges of a shared buffer: each reply line costs
            // one reference (its text), nothing for the code prefix.
            let line = match lines.next_line(buf)? {
                Ok(line) => line,
                Err(e) => {
                    if let State::Open { code, .. } = *state {
                        *state = State::Skipping { code };
                        scratch.clear();
                    }
                    return Some(Err(e.into()));
                }
            };
            if let Some(item) = push_line(state, scratch, options, line) {
                return Some(item);
            }
        }
    }

    /// Whether part of a reply is held: a partial line, or the first lines of
    /// a multi-line reply. After a `234` reply to `AUTH TLS`, a client must
    /// find nothing held and nothing buffered (SECURITY.md L2).
    #[must_use]
    pub fn has_partial_reply(&self) -> bool {
        self.lines.has_partial_line() || !matches!(self.state, State::Idle)
    }

    /// Forgets any partial reply; call it after clearing the buffer.
    pub fn reset(&mut self) {
        self.lines.reset();
        self.state = State::Idle;
        self.scratch.clear();
    }
}

/// The code that starts a line, and whether it closes or opens a reply. The
/// text starts after the fourth byte.
fn start(options: &ParseOptions, line: &[u8]) -> Option<Start> {
    let digits: [u8; 3] = line.get(..3)?.try_into().ok()?;
    let code = ReplyCode::from_digits(digits)?;
    match line.get(3) {
        Some(b' ') => Some(Start::Final(code)),
        Some(b'-') => Some(Start::Open(code)),
        None if options.code_only_reply_allowed() => Some(Start::Final(code)),
        _ => None,
    }
}

/// The text of the line from its byte `from` on (empty when the line is
/// shorter), checked unless the framer found the line clean; an error's
/// offset counts from the line's start.
#[inline]
fn text(line: LineRef<'_>, from: usize) -> Result<Text, ReplyError> {
    let from = (line.start + from).min(line.end);
    Text::from_line(line.chunk.slice(from..line.end), line.clean)
        .map_err(|e| ReplyError::BareCarriageReturn { at: e.at + (from - line.start) })
}

/// Whether `line` closes a multi-line reply opened with `code`: the same code
/// and a space (RFC 959 4.2), or, when allowed, any code and a space.
fn closes(options: &ParseOptions, code: ReplyCode, line: &[u8]) -> bool {
    match start(options, line) {
        Some(Start::Final(c)) => c == code || options.mismatched_multiline_end_allowed(),
        _ => false,
    }
}

/// Moves the open reply's lines out in one exactly-sized allocation.
fn take_lines(scratch: &mut Vec<Text>) -> Vec<Text> {
    // Not `mem::take`: the scratch keeps its capacity for the next reply and
    // the reply gets an exactly-sized list, one allocation either way.
    #[allow(clippy::drain_collect)]
    let lines: Vec<Text> = scratch.drain(..).collect();
    if scratch.capacity() > 64 {
        // Do not keep a huge reply's worth of memory around.
        *scratch = Vec::new();
    }
    lines
}

#[inline]
fn push_line(
    state: &mut State,
    scratch: &mut Vec<Text>,
    options: &ParseOptions,
    l: LineRef<'_>,
) -> Option<Result<Reply, ReplyError>> {
    let line = l.bytes();
    match core::mem::replace(state, State::Idle) {
        State::Idle => match start(options, line) {
            Some(Start::Final(code)) => Some(text(l, 4).map(|t| Reply::new(code, t))),
            Some(Start::Open(code)) => match text(l, 4) {
                Ok(t) => {
                    scratch.clear();
                    scratch.push(t);
                    *state = State::Open { code, bytes: line.len() };
                    None
                }
                Err(err) => {
                    *state = State::Skipping { code };
                    Some(Err(err))
                }
            },
            None => Some(Err(ReplyError::BadCode)),
        },
        State::Skipping { code } => {
            if !closes(options, code, line) {
                *state = State::Skipping { code };
            }
            None
        }
        State::Open { code, bytes } => {
            let bytes = bytes + line.len() + 2;
            let over = if bytes > options.max_reply_len_value() {
                Some(ReplyError::TooLong { limit: options.max_reply_len_value() })
            } else if scratch.len() + 1 > options.max_reply_lines_value() {
                Some(ReplyError::TooManyLines { limit: options.max_reply_lines_value() })
            } else {
                None
            };
            if let Some(err) = over {
                scratch.clear();
                if !closes(options, code, line) {
                    *state = State::Skipping { code };
                }
                return Some(Err(err));
            }
            if closes(options, code, line) {
                let Some(Start::Final(end_code)) = start(options, line) else {
                    return Some(Err(ReplyError::BadCode));
                };
                return Some(text(l, 4).map(|t| {
                    scratch.push(t);
                    Reply::from_parts(end_code, take_lines(scratch))
                }));
            }
            match text(l, 0) {
                Ok(t) => {
                    scratch.push(t);
                    *state = State::Open { code, bytes };
                    None
                }
                Err(err) => {
                    *state = State::Skipping { code };
                    Some(Err(err))
                }
            }
        }
    }
}
