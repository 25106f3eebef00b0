//! The streaming reply decoder: bytes from a server in, whole replies out.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use super::{Reply, ReplyCode};
use crate::error::ReplyError;
use crate::line::{LineDecoder, LineRef};
use crate::options::ParseOptions;
use crate::text::{Escaped, Text};

#[derive(Debug, Clone)]
enum State {
    /// Between replies.
    Idle,
    /// Inside a multi-line reply opened by `code`; its lines so far are in
    /// the decoder's `spans`.
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
    /// The lines of the open (or just returned) multi-line reply, as ranges
    /// of `held` or of the framer's current buffer. Reused, so that a
    /// multi-line reply costs no allocation until it is turned into a
    /// [`Reply`] (one: its own line list).
    spans: Vec<LineSpan>,
    /// The buffers those lines live in that the framer has let go of, one
    /// reference each: a reply whose lines all sit in the framer's current
    /// buffer (the usual case) takes none.
    held: Vec<Bytes>,
}

/// One line of a multi-line reply: its text's range in `held[chunk]`, or,
/// for `chunk == held.len()`, in the framer's current buffer.
#[derive(Debug, Clone, Copy)]
struct LineSpan {
    chunk: usize,
    start: usize,
    end: usize,
}

/// What a line did to the reply being assembled.
enum Step {
    /// It was taken into an open reply, or skipped; read on.
    More,
    /// It was a whole single-line reply: the code, and the text's range in
    /// the line's buffer.
    One(ReplyCode, usize, usize),
    /// It closed a multi-line reply, whose lines are in `spans`.
    Many(ReplyCode),
    /// It broke a rule.
    Error(ReplyError),
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
        Self { lines: LineDecoder::new(&options), options, state: State::Idle, spans: Vec::new(), held: Vec::new() }
    }

    /// The next reply or error, or `None` until a whole reply is buffered.
    #[must_use = "a decoded reply (or error) must be handled"]
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Reply, ReplyError>> {
        // `decode_ref` then `to_reply`, with the owned reply built straight
        // from the line: the same steps, without the view in between.
        self.release();
        loop {
            let Self { lines, options, state, spans, held } = self;
            let line = match lines.next_line(buf)? {
                Ok(line) => line,
                Err(e) => return Some(Err(self.frame_error(e))),
            };
            match push_line(state, spans, held, options, line) {
                Step::More => hold_current(lines, spans, held),
                Step::One(code, start, end) => {
                    return Some(Ok(Reply::new(code, Text::trusted(line.chunk.slice(start..end)))));
                }
                Step::Many(code) => {
                    let reply = Lines::Many { current: lines.chunk(), held, spans }.to_reply(code);
                    self.clear_lines();
                    return Some(Ok(reply));
                }
                Step::Error(e) => return Some(Err(e)),
            }
        }
    }

    /// Like [`decode`](Self::decode), but the reply is checked in place and
    /// handed out as a view of the decoder's buffers: no reference count is
    /// taken and nothing is allocated (a multi-line reply whose lines began
    /// in a buffer the framer has since let go of holds one reference to
    /// that buffer). The same
    /// replies and errors come out as from `decode`;
    /// [`ReplyRef::to_reply`] builds the owned [`Reply`] when one is needed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::{ParseOptions, ReplyDecoder};
    ///
    /// let mut decoder = ReplyDecoder::new(ParseOptions::default());
    /// let mut buf = BytesMut::from(&b"226 Transfer complete\r\n211-Features:\r\n EPSV\r\n211 End\r\n"[..]);
    /// let done = decoder.decode_ref(&mut buf).unwrap().unwrap();
    /// assert_eq!((done.code().as_u16(), done.text()), (226, &b"Transfer complete"[..]));
    /// let feat = decoder.decode_ref(&mut buf).unwrap().unwrap();
    /// assert_eq!(feat.lines().collect::<Vec<_>>(), [&b"Features:"[..], b" EPSV", b"End"]);
    /// assert_eq!(feat.to_reply().lines().len(), 3);
    /// ```
    #[must_use = "a decoded reply (or error) must be handled"]
    #[inline]
    pub fn decode_ref(&mut self, buf: &mut BytesMut) -> Option<Result<ReplyRef<'_>, ReplyError>> {
        self.release();
        loop {
            let Self { lines, options, state, spans, held } = self;
            let step = match lines.next_line(buf)? {
                Ok(line) => push_line(state, spans, held, options, line),
                Err(e) => Step::Error(self.frame_error(e)),
            };
            match step {
                Step::More => hold_current(&self.lines, &self.spans, &mut self.held),
                Step::One(code, start, end) => {
                    return Some(Ok(ReplyRef { code, lines: Lines::One { chunk: self.lines.chunk(), start, end } }));
                }
                Step::Many(code) => {
                    return Some(Ok(ReplyRef {
                        code,
                        lines: Lines::Many { current: self.lines.chunk(), held: &self.held, spans: &self.spans },
                    }));
                }
                Step::Error(e) => return Some(Err(e)),
            }
        }
    }

    /// A line the framer refused: an open reply is broken, and skipped to
    /// its end.
    fn frame_error(&mut self, e: crate::error::FrameError) -> ReplyError {
        if let State::Open { code, .. } = self.state {
            self.state = State::Skipping { code };
            self.spans.clear();
            self.held.clear();
        }
        e.into()
    }

    /// Drops the lines of a multi-line reply already handed out (not those
    /// of one still open).
    #[inline(always)]
    fn release(&mut self) {
        if matches!(self.state, State::Idle) && !self.spans.is_empty() {
            self.clear_lines();
        }
    }

    #[inline]
    fn clear_lines(&mut self) {
        self.spans.clear();
        self.held.clear();
        // Do not keep a huge reply's worth of memory around.
        if self.spans.capacity() > 64 {
            self.spans = Vec::new();
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
        self.spans.clear();
        self.held.clear();
    }
}

/// A reply checked in place: a view of its lines in the decoder's buffers,
/// from [`ReplyDecoder::decode_ref`].
///
/// Every line has passed the checks [`ReplyDecoder::decode`] makes, so
/// [`to_reply`](Self::to_reply) cannot fail and checks nothing again: it
/// takes a zero-copy slice of the buffer per line (and, for a multi-line
/// reply, allocates the line list). The view borrows the decoder, so it
/// must be dropped (or turned into a `Reply`) before the next call.
#[derive(Clone, Copy)]
pub struct ReplyRef<'a> {
    code: ReplyCode,
    lines: Lines<'a>,
}

#[derive(Clone, Copy)]
enum Lines<'a> {
    One { chunk: &'a Bytes, start: usize, end: usize },
    Many { current: &'a Bytes, held: &'a [Bytes], spans: &'a [LineSpan] },
}

impl Lines<'_> {
    /// The owned reply of these lines: one zero-copy slice per line.
    #[inline]
    fn to_reply(self, code: ReplyCode) -> Reply {
        match self {
            Lines::One { chunk, start, end } => Reply::new(code, Text::trusted(chunk.slice(start..end))),
            Lines::Many { current, held, spans } => Reply::from_parts(
                code,
                spans
                    .iter()
                    .map(|s| Text::trusted(held.get(s.chunk).unwrap_or(current).slice(s.start..s.end)))
                    .collect(),
            ),
        }
    }
}

impl<'a> ReplyRef<'a> {
    /// The reply code (of the last line, for a multi-line reply).
    #[must_use]
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The first line's text, as [`Reply::text`] gives it.
    #[must_use]
    pub fn text(&self) -> &'a [u8] {
        self.lines().next().unwrap_or_default()
    }

    /// The text lines, as [`Reply::lines`] gives them: without codes and
    /// line ends, middle lines as received.
    #[must_use]
    pub fn lines(&self) -> ReplyLines<'a> {
        ReplyLines { lines: self.lines, next: 0 }
    }

    /// Whether the reply spans several lines.
    #[must_use]
    pub fn is_multiline(&self) -> bool {
        matches!(self.lines, Lines::Many { .. })
    }

    /// The owned reply: what [`ReplyDecoder::decode`] returns.
    #[must_use]
    #[inline]
    pub fn to_reply(&self) -> Reply {
        self.lines.to_reply(self.code)
    }
}

impl From<ReplyRef<'_>> for Reply {
    fn from(reply: ReplyRef<'_>) -> Self {
        reply.to_reply()
    }
}

impl core::fmt::Debug for ReplyRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        /// The lines, each shown as escaped text.
        struct Shown<'a>(ReplyLines<'a>);
        impl core::fmt::Debug for Shown<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.0.clone().map(Escaped)).finish()
            }
        }
        f.debug_struct("ReplyRef").field("code", &self.code.as_u16()).field("lines", &Shown(self.lines())).finish()
    }
}

/// The text lines of a [`ReplyRef`], first to last.
#[derive(Clone)]
pub struct ReplyLines<'a> {
    lines: Lines<'a>,
    next: usize,
}

impl<'a> Iterator for ReplyLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let i = self.next;
        let line: &'a [u8] = match self.lines {
            Lines::One { chunk, start, end } if i == 0 => &chunk[start..end],
            Lines::One { .. } => return None,
            Lines::Many { current, held, spans } => {
                let s = spans.get(i)?;
                &held.get(s.chunk).unwrap_or(current)[s.start..s.end]
            }
        };
        self.next += 1;
        Some(line)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let total = match self.lines {
            Lines::One { .. } => 1,
            Lines::Many { spans, .. } => spans.len(),
        };
        let left = total.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for ReplyLines<'_> {}

/// The code that starts a line, and whether it closes or opens a reply. The
/// text starts after the fourth byte.
#[inline(always)]
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

/// The range of the line's text from its byte `from` on (empty when the
/// line is shorter), checked unless the framer found the line clean; an
/// error's offset counts from the line's start.
#[inline(always)]
fn text(line: LineRef<'_>, from: usize) -> Result<(usize, usize), ReplyError> {
    let from = (line.start + from).min(line.end);
    Text::check_line(&line.chunk[from..line.end], line.clean)
        .map_err(|e| ReplyError::BareCarriageReturn { at: e.at + (from - line.start) })?;
    Ok((from, line.end))
}

/// Whether `line` closes a multi-line reply opened with `code`: the same code
/// and a space (RFC 959 4.2), or, when allowed, any code and a space.
fn closes(options: &ParseOptions, code: ReplyCode, line: &[u8]) -> bool {
    match start(options, line) {
        Some(Start::Final(c)) => c == code || options.mismatched_multiline_end_allowed(),
        _ => false,
    }
}

/// Adds the text `start..end` of the framer's current buffer (where the
/// line just taken lives) to the open reply. No reference is taken here:
/// [`hold_current`] takes one when the framer is about to let the buffer go.
#[inline]
fn keep(spans: &mut Vec<LineSpan>, held: &[Bytes], (start, end): (usize, usize)) {
    spans.push(LineSpan { chunk: held.len(), start, end });
}

/// After a line was taken into an open reply: if the framer has served the
/// last line of its current buffer, it drops that buffer on the next call
/// (that is the only time it does), so the reply takes a reference to it
/// first, when some of its lines live there.
#[inline(always)]
fn hold_current(lines: &LineDecoder, spans: &[LineSpan], held: &mut Vec<Bytes>) {
    if lines.served_all() && spans.last().is_some_and(|s| s.chunk == held.len()) {
        held.push(lines.chunk().clone());
    }
}

/// Takes one line into the reply being assembled. The common case, a
/// single-line `ddd text` reply between replies, is decided here; the rest
/// (multi-line replies, errors, skipping) in [`push_line_slow`].
#[inline(always)]
fn push_line(
    state: &mut State,
    spans: &mut Vec<LineSpan>,
    held: &mut Vec<Bytes>,
    options: &ParseOptions,
    l: LineRef<'_>,
) -> Step {
    let line = l.bytes();
    match state {
        State::Idle => match start(options, line) {
            Some(Start::Final(code)) => {
                return match text(l, 4) {
                    Ok((s, e)) => Step::One(code, s, e),
                    Err(err) => Step::Error(err),
                };
            }
            // The first line of a multi-line reply, with nothing to check
            // in its text.
            Some(Start::Open(code)) if l.clean => {
                spans.clear();
                held.clear();
                keep(spans, held, (l.start + 4, l.end));
                *state = State::Open { code, bytes: line.len() };
                return Step::More;
            }
            _ => {}
        },
        // A clean line of a multi-line reply, within the limits.
        State::Open { code, bytes } if l.clean && line.len() != 3 => {
            let total = *bytes + line.len() + 2;
            if total <= options.max_reply_len_value() && spans.len() < options.max_reply_lines_value() {
                // No space after three bytes: a middle line, which cannot
                // close the reply.
                if line.get(3) != Some(&b' ') {
                    *bytes = total;
                    keep(spans, held, (l.start, l.end));
                    return Step::More;
                }
                // The same code and a space: the last line (RFC 959 4.2).
                // Another code is left to `push_line_slow` (a middle line,
                // or a last line when that is allowed).
                if let Some(Start::Final(c)) = start(options, line)
                    && c == *code
                {
                    keep(spans, held, (l.start + 4, l.end));
                    *state = State::Idle;
                    return Step::Many(c);
                }
            }
        }
        State::Open { .. } | State::Skipping { .. } => {}
    }
    push_line_slow(state, spans, held, options, l)
}

fn push_line_slow(
    state: &mut State,
    spans: &mut Vec<LineSpan>,
    held: &mut Vec<Bytes>,
    options: &ParseOptions,
    l: LineRef<'_>,
) -> Step {
    let line = l.bytes();
    match core::mem::replace(state, State::Idle) {
        State::Idle => match start(options, line) {
            Some(Start::Final(code)) => match text(l, 4) {
                Ok((s, e)) => Step::One(code, s, e),
                Err(err) => Step::Error(err),
            },
            Some(Start::Open(code)) => match text(l, 4) {
                Ok(t) => {
                    spans.clear();
                    held.clear();
                    keep(spans, held, t);
                    *state = State::Open { code, bytes: line.len() };
                    Step::More
                }
                Err(err) => {
                    *state = State::Skipping { code };
                    Step::Error(err)
                }
            },
            None => Step::Error(ReplyError::BadCode),
        },
        State::Skipping { code } => {
            if !closes(options, code, line) {
                *state = State::Skipping { code };
            }
            Step::More
        }
        State::Open { code, bytes } => {
            let bytes = bytes + line.len() + 2;
            let over = if bytes > options.max_reply_len_value() {
                Some(ReplyError::TooLong { limit: options.max_reply_len_value() })
            } else if spans.len() + 1 > options.max_reply_lines_value() {
                Some(ReplyError::TooManyLines { limit: options.max_reply_lines_value() })
            } else {
                None
            };
            if let Some(err) = over {
                spans.clear();
                held.clear();
                if !closes(options, code, line) {
                    *state = State::Skipping { code };
                }
                return Step::Error(err);
            }
            if closes(options, code, line) {
                let Some(Start::Final(end_code)) = start(options, line) else {
                    return Step::Error(ReplyError::BadCode);
                };
                return match text(l, 4) {
                    Ok(t) => {
                        keep(spans, held, t);
                        Step::Many(end_code)
                    }
                    Err(err) => {
                        spans.clear();
                        held.clear();
                        Step::Error(err)
                    }
                };
            }
            match text(l, 0) {
                Ok(t) => {
                    keep(spans, held, t);
                    *state = State::Open { code, bytes };
                    Step::More
                }
                Err(err) => {
                    spans.clear();
                    held.clear();
                    *state = State::Skipping { code };
                    Step::Error(err)
                }
            }
        }
    }
}
