//! The streaming reply decoder: bytes from a server in, whole replies out.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use super::{Reply, ReplyCode};
use crate::error::ReplyError;
use crate::line::LineDecoder;
use crate::options::ParseOptions;
use crate::text::Text;

#[derive(Debug, Clone)]
enum State {
    /// Between replies.
    Idle,
    /// Inside a multi-line reply opened by `code`.
    Open { code: ReplyCode, lines: Vec<Text>, bytes: usize },
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
}

/// The code that starts a line, and what follows it.
enum Start {
    /// `ddd text` (or a bare `ddd` when allowed): a last or only line.
    Final(ReplyCode, Bytes),
    /// `ddd-text`: the first line of a multi-line reply.
    Open(ReplyCode, Bytes),
}

impl ReplyDecoder {
    /// A decoder with the given leniency and limits.
    #[must_use]
    pub fn new(options: ParseOptions) -> Self {
        Self { lines: LineDecoder::new(&options), options, state: State::Idle }
    }

    /// The next reply or error, or `None` until a whole reply is buffered.
    #[must_use = "a decoded reply (or error) must be handled"]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Reply, ReplyError>> {
        loop {
            let line = match self.lines.decode(buf)? {
                Ok(line) => line,
                Err(e) => {
                    if let State::Open { code, .. } = self.state {
                        self.state = State::Skipping { code };
                    }
                    return Some(Err(e.into()));
                }
            };
            if let Some(item) = self.push_line(line) {
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
    }

    fn start(&self, line: &Bytes) -> Option<Start> {
        let digits: [u8; 3] = line.get(..3)?.try_into().ok()?;
        let code = ReplyCode::from_digits(digits)?;
        match line.get(3) {
            Some(b' ') => Some(Start::Final(code, line.slice(4..))),
            Some(b'-') => Some(Start::Open(code, line.slice(4..))),
            None if self.options.code_only_reply_allowed() => Some(Start::Final(code, Bytes::new())),
            _ => None,
        }
    }

    fn text(line: Bytes, offset: usize) -> Result<Text, ReplyError> {
        Text::new(line).map_err(|e| ReplyError::BareCarriageReturn { at: e.at + offset })
    }

    fn push_line(&mut self, line: Bytes) -> Option<Result<Reply, ReplyError>> {
        match core::mem::replace(&mut self.state, State::Idle) {
            State::Idle => match self.start(&line) {
                Some(Start::Final(code, text)) => Some(Self::text(text, 4).map(|t| Reply::new(code, t))),
                Some(Start::Open(code, text)) => match Self::text(text, 4) {
                    Ok(t) => {
                        let bytes = line.len();
                        let mut lines = Vec::with_capacity(4);
                        lines.push(t);
                        self.state = State::Open { code, lines, bytes };
                        None
                    }
                    Err(e) => {
                        self.state = State::Skipping { code };
                        Some(Err(e))
                    }
                },
                None => Some(Err(ReplyError::BadCode)),
            },
            State::Skipping { code } => {
                if !self.closes(code, &line) {
                    self.state = State::Skipping { code };
                }
                None
            }
            State::Open { code, mut lines, bytes } => {
                let bytes = bytes + line.len() + 2;
                if bytes > self.options.max_reply_len_value() {
                    self.skip_unless_closing(code, &line);
                    return Some(Err(ReplyError::TooLong { limit: self.options.max_reply_len_value() }));
                }
                if lines.len() + 1 > self.options.max_reply_lines_value() {
                    self.skip_unless_closing(code, &line);
                    return Some(Err(ReplyError::TooManyLines { limit: self.options.max_reply_lines_value() }));
                }
                if self.closes(code, &line) {
                    let Some(Start::Final(end_code, text)) = self.start(&line) else {
                        return Some(Err(ReplyError::BadCode));
                    };
                    return Some(Self::text(text, 4).map(|t| {
                        lines.push(t);
                        Reply::from_parts(end_code, lines)
                    }));
                }
                match Self::text(line, 0) {
                    Ok(t) => {
                        lines.push(t);
                        self.state = State::Open { code, lines, bytes };
                        None
                    }
                    Err(e) => {
                        self.state = State::Skipping { code };
                        Some(Err(e))
                    }
                }
            }
        }
    }

    fn skip_unless_closing(&mut self, code: ReplyCode, line: &Bytes) {
        self.state = if self.closes(code, line) { State::Idle } else { State::Skipping { code } };
    }

    /// Whether `line` closes a multi-line reply opened with `code`: the same
    /// code and a space (RFC 959 4.2), or, when allowed, any code and a space.
    fn closes(&self, code: ReplyCode, line: &Bytes) -> bool {
        match self.start(line) {
            Some(Start::Final(c, _)) => c == code || self.options.mismatched_multiline_end_allowed(),
            _ => false,
        }
    }
}
