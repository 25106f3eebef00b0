//! Runtime leniency and limits for the decoders.
//!
//! Be lenient on input, strict on output: these switches only change what
//! the decoders accept; the encoders always write RFC-conformant bytes.

/// How strict the decoders are, and how much they may buffer.
///
/// Built with [`ParseOptions::default`] and chainable setters:
///
/// ```
/// use ftp_proto::ParseOptions;
/// let strict = ParseOptions::default()
///     .allow_bare_lf(false)
///     .max_line_len(512);
/// assert_eq!(strict.max_line_len_value(), 512);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    max_line_len: usize,
    max_reply_len: usize,
    max_reply_lines: usize,
    allow_bare_lf: bool,
    allow_trailing_space: bool,
    allow_mismatched_multiline_end: bool,
    allow_code_only_reply: bool,
}

/// Default cap on one line, CRLF included (SECURITY.md section 7: 4096, as
/// vsftpd's `VSFTP_MAX_COMMAND_LINE`).
pub const DEFAULT_MAX_LINE_LEN: usize = 4096;
/// Default cap on one whole reply (SECURITY.md R1: 64 KiB, as curl).
pub const DEFAULT_MAX_REPLY_LEN: usize = 64 * 1024;
/// Default cap on the number of lines of one multi-line reply.
pub const DEFAULT_MAX_REPLY_LINES: usize = 8 * 1024;

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_reply_len: DEFAULT_MAX_REPLY_LEN,
            max_reply_lines: DEFAULT_MAX_REPLY_LINES,
            allow_bare_lf: true,
            allow_trailing_space: true,
            allow_mismatched_multiline_end: false,
            allow_code_only_reply: true,
        }
    }
}

impl ParseOptions {
    /// The RFC's rules only: CRLF line ends, no trailing spaces after
    /// argument-less verbs, no code-only replies, multi-line replies closed
    /// only by their own code.
    #[must_use]
    pub fn strict() -> Self {
        Self::default().allow_bare_lf(false).allow_trailing_space(false).allow_code_only_reply(false)
    }

    /// Cap on one line, CRLF included. Longer lines are reported once and
    /// skipped (SECURITY.md F1). At least 8 bytes.
    #[must_use]
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes.max(8);
        self
    }

    /// Cap on the bytes of one multi-line reply (SECURITY.md R1).
    #[must_use]
    pub fn max_reply_len(mut self, bytes: usize) -> Self {
        self.max_reply_len = bytes.max(8);
        self
    }

    /// Cap on the lines of one multi-line reply (SECURITY.md R1).
    #[must_use]
    pub fn max_reply_lines(mut self, lines: usize) -> Self {
        self.max_reply_lines = lines.max(2);
        self
    }

    /// Accept a line ended by LF alone (default: yes; many servers and
    /// scripted clients send them, SECURITY.md F2). Encoders always write CRLF.
    #[must_use]
    pub fn allow_bare_lf(mut self, yes: bool) -> Self {
        self.allow_bare_lf = yes;
        self
    }

    /// Accept trailing spaces after a verb that takes no argument (`PASV `),
    /// and read an optional argument made only of spaces as no argument
    /// (`LIST  ` is `LIST`). Default: yes.
    ///
    /// Refused, `PASV ` is a 501, and `LIST  ` lists the pathname ` `: RFC
    /// 959 5.3.2's `LIST [<SP> <pathname>]`, a pathname being any characters
    /// but CR and LF. Either way `LIST ` (nothing after the space) is `LIST`.
    /// Such a pathname encodes as the same line, which reads back as itself
    /// only under this option off: the wire cannot tell the two apart.
    #[must_use]
    pub fn allow_trailing_space(mut self, yes: bool) -> Self {
        self.allow_trailing_space = yes;
        self
    }

    /// End a multi-line reply at any `ddd ` line, even with another code than
    /// the first line's (glftpd and others, PEERS.md section 3). Default: no,
    /// RFC 959 4.2's rule: only the same code followed by a space ends it.
    #[must_use]
    pub fn allow_mismatched_multiline_end(mut self, yes: bool) -> Self {
        self.allow_mismatched_multiline_end = yes;
        self
    }

    /// Accept a reply line that is only a code (`226` with no space or
    /// text), as a single-line reply or a multi-line end. Default: yes.
    #[must_use]
    pub fn allow_code_only_reply(mut self, yes: bool) -> Self {
        self.allow_code_only_reply = yes;
        self
    }

    /// The line cap in force.
    #[must_use]
    pub fn max_line_len_value(&self) -> usize {
        self.max_line_len
    }
    /// The reply byte cap in force.
    #[must_use]
    pub fn max_reply_len_value(&self) -> usize {
        self.max_reply_len
    }
    /// The reply line cap in force.
    #[must_use]
    pub fn max_reply_lines_value(&self) -> usize {
        self.max_reply_lines
    }
    /// Whether bare LF is accepted.
    #[must_use]
    pub fn bare_lf_allowed(&self) -> bool {
        self.allow_bare_lf
    }
    /// Whether trailing spaces are accepted.
    #[must_use]
    pub fn trailing_space_allowed(&self) -> bool {
        self.allow_trailing_space
    }
    /// Whether a multi-line reply may end with another code.
    #[must_use]
    pub fn mismatched_multiline_end_allowed(&self) -> bool {
        self.allow_mismatched_multiline_end
    }
    /// Whether a code-only line is a reply.
    #[must_use]
    pub fn code_only_reply_allowed(&self) -> bool {
        self.allow_code_only_reply
    }
}
