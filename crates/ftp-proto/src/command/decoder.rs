//! The streaming command decoder: bytes as they arrive in, commands out.

use bytes::{Bytes, BytesMut};

use super::parse::{self, Check, Owned, Span};
use super::{Command, CommandKind};
use crate::error::{DecodeError, ParseError};
use crate::line::{LineDecoder, TelnetEvents};
use crate::options::ParseOptions;
use crate::text::Escaped;

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
        let line = match self.lines.next_line(buf)? {
            Ok(line) => line,
            Err(e) => return Some(Err(DecodeError::Frame(e))),
        };
        match parse::parse(line, &self.options, &Owned { chunk: line.chunk, clean: line.clean }) {
            Ok(checked) => Some(Ok(checked.out)),
            Err(e) => Some(Err(DecodeError::Parse(e))),
        }
    }

    /// Like [`decode`](Self::decode), but the command is checked in place
    /// and handed out as a view of the decoder's buffer: no reference count
    /// is taken and nothing is allocated, whatever the command. The same
    /// lines are accepted and refused, with the same errors;
    /// [`CommandRef::to_command`] builds the owned [`Command`] when one is
    /// needed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ftp_proto::{Command, CommandDecoder, CommandKind, ParseOptions};
    ///
    /// let mut decoder = CommandDecoder::new(ParseOptions::default());
    /// let mut buf = BytesMut::from(&b"RETR annual report.pdf\r\nNOOP\r\n"[..]);
    /// let retr = decoder.decode_ref(&mut buf).unwrap().unwrap();
    /// assert_eq!(retr.kind(), Some(CommandKind::Retr));
    /// assert_eq!(retr.argument(), Some(&b"annual report.pdf"[..]));
    /// assert!(matches!(retr.to_command(), Ok(Command::Retr(p)) if p.as_bytes() == b"annual report.pdf"));
    /// assert!(matches!(decoder.decode(&mut buf), Some(Ok(Command::Noop))));
    /// ```
    #[must_use = "a decoded command (or error) must be answered"]
    #[inline]
    pub fn decode_ref(&mut self, buf: &mut BytesMut) -> Option<Result<CommandRef<'_>, DecodeError>> {
        let line = match self.lines.next_line(buf)? {
            Ok(line) => line,
            Err(e) => return Some(Err(DecodeError::Frame(e))),
        };
        match parse::parse(line, &self.options, &Check) {
            Ok(checked) => Some(Ok(CommandRef {
                chunk: line.chunk,
                start: line.start,
                end: line.end,
                verb_len: checked.verb_len,
                clean: line.clean,
                kind: checked.kind,
                arg: checked.arg,
            })),
            Err(e) => Some(Err(DecodeError::Parse(e))),
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

/// A command checked in place: a view of the line in the decoder's buffer,
/// from [`CommandDecoder::decode_ref`].
///
/// The line has passed every check [`CommandDecoder::decode`] makes:
/// turning it into a [`Command`] ([`to_command`](Self::to_command)) cannot
/// fail. That reads the argument once more and takes a zero-copy slice of
/// the buffer for it (copying only a pathname with a `CR NUL` escape); a
/// command without bytes of its own (`NOOP`, `PASV`, `EPSV`) needs no slice.
/// The view borrows the decoder, so it must be dropped (or turned into a
/// `Command`) before the next call.
///
/// `Debug` shows the verb and, except for `PASS`, `ACCT` and `ADAT`, the
/// argument.
#[derive(Clone, Copy)]
pub struct CommandRef<'a> {
    chunk: &'a Bytes,
    start: usize,
    end: usize,
    verb_len: usize,
    clean: bool,
    kind: Option<CommandKind>,
    /// The argument the grammar took (`NOOP ` has none).
    arg: Option<Span>,
}

impl<'a> CommandRef<'a> {
    /// The verb's kind; `None` for an extension command
    /// ([`Command::Other`]).
    #[must_use]
    pub fn kind(&self) -> Option<CommandKind> {
        self.kind
    }

    /// The verb as it was received (case preserved).
    #[must_use]
    pub fn verb(&self) -> &'a [u8] {
        &self.chunk[self.start..self.start + self.verb_len]
    }

    /// Everything after the space that follows the verb, as it was received
    /// (a pathname still in wire form, `CR NUL` for a CR); `None` when the
    /// line is the verb alone. This is the raw text: the command's typed
    /// argument is in [`to_command`](Self::to_command), where, for instance,
    /// `NOOP ` has none.
    #[must_use]
    pub fn argument(&self) -> Option<&'a [u8]> {
        let chunk: &'a [u8] = self.chunk;
        (self.verb_len < self.end - self.start).then(|| &chunk[self.start + self.verb_len + 1..self.end])
    }

    /// The owned command: what [`CommandDecoder::decode`] returns for the
    /// same line. The line was checked by the same grammar when it was
    /// decoded, so this is always `Ok`; it is a `Result` so that no input
    /// can make the codec panic.
    ///
    /// # Errors
    /// None in practice (see above).
    pub fn to_command(&self) -> Result<Command, ParseError> {
        let verb = Span { start: self.start, end: self.start + self.verb_len };
        parse::rebuild(self.chunk, self.kind, verb, self.arg, self.clean)
    }

    /// Whether `Debug` must hide the argument.
    fn is_secret(&self) -> bool {
        matches!(self.kind, Some(CommandKind::Pass | CommandKind::Acct | CommandKind::Adat))
    }
}

impl TryFrom<CommandRef<'_>> for Command {
    type Error = ParseError;
    fn try_from(command: CommandRef<'_>) -> Result<Self, ParseError> {
        command.to_command()
    }
}

impl core::fmt::Debug for CommandRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("CommandRef");
        d.field("verb", &Escaped(self.verb()));
        match self.argument() {
            Some(_) if self.is_secret() => d.field("argument", &"****"),
            Some(arg) => d.field("argument", &Escaped(arg)),
            None => d.field("argument", &None::<()>),
        };
        d.finish()
    }
}
