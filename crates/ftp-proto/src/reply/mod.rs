//! Replies: what a server sends, one code and one or more lines of text.
//!
//! RFC 959 4.2: a reply is `ddd text CRLF`, or a multi-line reply that opens
//! with `ddd-text`, has any number of middle lines, and closes with
//! `ddd text` (same code, then a space). [`ReplyDecoder`] assembles them from
//! a byte stream; [`Reply::encode`] writes them with the middle lines that
//! begin with a digit padded, so that no body line can close a reply early
//! (SECURITY.md E5).

pub(crate) mod code;
mod data;
mod decoder;

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use bytes::{BufMut, Bytes, BytesMut};

pub use code::{ReplyCategory, ReplyClass, ReplyCode};
pub use data::{Feature, RestartMarker};
pub use decoder::{ReplyDecoder, ReplyLines, ReplyRef};

use crate::text::{Pathname, Text};
use crate::validation::{ValidationError, ValidationErrorKind};

/// The lines of a reply: one line needs no allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Lines {
    One(Text),
    /// Two or more lines.
    Many(Vec<Text>),
}

/// One reply: a code and its text lines.
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::{Reply, ReplyCode, Text};
///
/// let reply = Reply::multiline(
///     ReplyCode::SYSTEM_STATUS,
///     ["Features:", " EPSV", " UTF8", "End"].map(Text::from_static),
/// ).unwrap();
/// let mut out = BytesMut::new();
/// reply.encode(&mut out);
/// assert_eq!(&out[..], b"211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    lines: Lines,
}

impl Reply {
    /// A single-line reply.
    #[must_use]
    pub fn new(code: ReplyCode, text: Text) -> Self {
        Self { code, lines: Lines::One(text) }
    }

    /// A single-line reply from static text.
    ///
    /// # Panics
    /// When the text holds a line break: it is meant for constants.
    #[must_use]
    pub fn from_static(code: ReplyCode, text: &'static str) -> Self {
        Self::new(code, Text::from_static(text))
    }

    /// A reply of one or more lines. Middle lines that begin with a digit are
    /// padded with a space (RFC 959 4.2), so the value is exactly what a
    /// peer decodes.
    ///
    /// # Errors
    /// [`ValidationErrorKind::Empty`] when `lines` is empty.
    pub fn multiline(code: ReplyCode, lines: impl IntoIterator<Item = Text>) -> Result<Self, ValidationError> {
        let mut all: Vec<Text> = lines.into_iter().collect();
        match all.len() {
            0 => Err(ValidationError::new(ValidationErrorKind::Empty, 0)),
            1 => Ok(Self::new(code, all.remove(0))),
            n => {
                for line in &mut all[1..n - 1] {
                    if line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                        let mut padded = BytesMut::with_capacity(line.len() + 1);
                        padded.put_u8(b' ');
                        padded.extend_from_slice(line.as_bytes());
                        *line = Text::trusted(padded.freeze());
                    }
                }
                Ok(Self { code, lines: Lines::Many(all) })
            }
        }
    }

    /// Built by the decoder: lines already checked, middle lines as received.
    pub(crate) fn from_parts(code: ReplyCode, mut lines: Vec<Text>) -> Self {
        if lines.len() == 1 { Self::new(code, lines.remove(0)) } else { Self { code, lines: Lines::Many(lines) } }
    }

    /// `257 "path" text`: the pathname in quotes, each `"` in it doubled
    /// (RFC 959 Appendix II) and a CR written `CR NUL` (RFC 2640 3.1).
    #[must_use]
    pub fn pathname_created(code: ReplyCode, path: &Pathname, text: &str) -> Self {
        let mut out = BytesMut::with_capacity(path.len() + text.len() + 4);
        out.put_u8(b'"');
        for &b in path.as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\"\""),
                b'\r' => out.extend_from_slice(b"\r\0"),
                _ => out.put_u8(b),
            }
        }
        out.put_u8(b'"');
        if !text.is_empty() {
            out.put_u8(b' ');
            // Line breaks in `text` become spaces: reply text is ours, and
            // refusing here would make a server unable to answer at all.
            out.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        }
        Self::new(code, Text::trusted(out.freeze()))
    }

    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).` (RFC 959 4.1.2,
    /// p1 = port / 256, p2 = port % 256).
    #[must_use]
    pub fn passive(addr: SocketAddrV4) -> Self {
        let mut out = BytesMut::with_capacity(48);
        out.extend_from_slice(b"Entering Passive Mode (");
        crate::addr::encode_host_port(&addr, &mut out);
        out.extend_from_slice(b").");
        Self::new(ReplyCode::ENTERING_PASSIVE_MODE, Text::trusted(out.freeze()))
    }

    /// `229 Entering Extended Passive Mode (|||port|)` (RFC 2428 section 3).
    #[must_use]
    pub fn extended_passive(port: u16) -> Self {
        let mut out = BytesMut::with_capacity(48);
        out.extend_from_slice(b"Entering Extended Passive Mode (|||");
        crate::addr::put_u64(&mut out, u64::from(port));
        out.extend_from_slice(b"|)");
        Self::new(ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE, Text::trusted(out.freeze()))
    }

    /// The `FEAT` reply (RFC 2389 section 3.2): `211-Features:`, one line per
    /// feature starting with a space, `211 End`. With no features RFC 2389
    /// allows a single line, `211 No features`.
    #[must_use]
    pub fn feature_list(features: impl IntoIterator<Item = Text>) -> Self {
        let mut lines = alloc::vec![Text::from_static("Features:")];
        for f in features {
            let mut line = BytesMut::with_capacity(f.len() + 1);
            line.put_u8(b' ');
            line.extend_from_slice(f.as_bytes());
            lines.push(Text::trusted(line.freeze()));
        }
        if lines.len() == 1 {
            return Self::from_static(ReplyCode::SYSTEM_STATUS, "No features");
        }
        lines.push(Text::from_static("End"));
        Self { code: ReplyCode::SYSTEM_STATUS, lines: Lines::Many(lines) }
    }

    /// The reply code.
    #[must_use]
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The text lines, without codes and line ends. For a multi-line reply
    /// the first and last line are the text after `ddd-` and `ddd `; middle
    /// lines are as received.
    #[must_use]
    pub fn lines(&self) -> &[Text] {
        match &self.lines {
            Lines::One(t) => core::slice::from_ref(t),
            Lines::Many(v) => v,
        }
    }

    /// The first line's text.
    #[must_use]
    pub fn text(&self) -> &Text {
        &self.lines()[0]
    }

    /// Whether the reply spans several lines.
    #[must_use]
    pub fn is_multiline(&self) -> bool {
        matches!(self.lines, Lines::Many(_))
    }

    /// Writes the reply, CRLF after each line. Middle lines that begin with a
    /// digit are padded with a space (RFC 959 4.2), 0xFF is doubled.
    pub fn encode(&self, dst: &mut BytesMut) {
        let digits = self.code.digits();
        match &self.lines {
            Lines::One(t) => {
                dst.extend_from_slice(&digits);
                dst.put_u8(b' ');
                t.encode(dst);
                dst.extend_from_slice(b"\r\n");
            }
            Lines::Many(lines) => {
                let last = lines.len() - 1;
                for (i, t) in lines.iter().enumerate() {
                    if i == 0 {
                        dst.extend_from_slice(&digits);
                        dst.put_u8(b'-');
                    } else if i == last {
                        dst.extend_from_slice(&digits);
                        dst.put_u8(b' ');
                    } else if t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                        dst.put_u8(b' ');
                    }
                    t.encode(dst);
                    dst.extend_from_slice(b"\r\n");
                }
            }
        }
    }
}

impl core::fmt::Debug for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reply").field("code", &self.code.as_u16()).field("lines", &self.lines()).finish()
    }
}

impl core::fmt::Display for Reply {
    /// The reply as it is written on the wire, lines separated by `\n`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        let text = &out[..out.len() - 2];
        let mut first = true;
        for line in text.split(|&b| b == b'\n') {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            core::fmt::Display::fmt(&crate::text::Escaped(line), f)?;
        }
        Ok(())
    }
}

impl From<Reply> for Bytes {
    fn from(reply: Reply) -> Bytes {
        let mut out = BytesMut::new();
        reply.encode(&mut out);
        out.freeze()
    }
}
