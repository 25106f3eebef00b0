//! The streaming command decoder: bytes as they arrive in, commands out.

use bytes::BytesMut;

use super::Command;
use crate::error::DecodeError;
use crate::line::{LineDecoder, TelnetEvents};
use crate::options::ParseOptions;

/// Turns a stream of control-connection bytes into commands (server side).
///
/// Each call to [`decode`](Self::decode) returns at most one item: a command,
/// or an error for one line that the server answers (its
/// [`reply_code`](DecodeError::reply_code)) before going on. Nothing is
/// returned until a whole line is buffered, and no line can grow past the
/// configured limit (SECURITY.md F1). Results do not depend on how the input
/// was split into reads (F6).
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::{Command, CommandDecoder, ParseOptions};
///
/// let mut decoder = CommandDecoder::new(ParseOptions::default());
/// let mut buf = BytesMut::from(&b"USER anonymous\r\nPASV x\r\nNO"[..]);
/// assert!(matches!(decoder.decode(&mut buf), Some(Ok(Command::User(_)))));
/// let err = decoder.decode(&mut buf).unwrap().unwrap_err();
/// assert_eq!(err.reply_code().as_u16(), 501);
/// assert!(decoder.decode(&mut buf).is_none()); // "NO" waits for its line end
/// ```
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    lines: LineDecoder,
    options: ParseOptions,
}

impl CommandDecoder {
    /// A decoder with the given leniency and limits.
    #[must_use]
    pub fn new(options: ParseOptions) -> Self {
        Self { lines: LineDecoder::new(&options), options }
    }

    /// The next command or error, or `None` when no complete line is
    /// buffered. Commands and the bytes they hold are split off the front of
    /// `buf` without copying.
    #[must_use = "a decoded command (or error) must be answered"]
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Command, DecodeError>> {
        match self.lines.next_line(buf)? {
            Ok(line) => Some(super::parse::parse(line, &self.options).map_err(DecodeError::Parse)),
            Err(e) => Some(Err(DecodeError::Frame(e))),
        }
    }

    /// Telnet signals (IP, DM, negotiation) seen since the last call.
    pub fn take_telnet_events(&mut self) -> TelnetEvents {
        self.lines.take_telnet_events()
    }

    /// Whether a partial line is held. A server checks this (and that its
    /// buffer is empty) after `AUTH TLS`: any byte past the AUTH line must be
    /// discarded, never executed after the handshake (SECURITY.md L1).
    #[must_use]
    pub fn has_partial_line(&self) -> bool {
        self.lines.has_partial_line()
    }

    /// Forgets any partial line; call it after clearing the buffer.
    pub fn reset(&mut self) {
        self.lines.reset();
    }

    /// The options in force.
    #[must_use]
    pub fn options(&self) -> &ParseOptions {
        &self.options
    }
}
