//! Typed readers for the replies that carry data: 227, 229, 257, 213, 211
//! (FEAT), 150 (size), 110 (restart marker) and 350 (restart offset).

use core::net::SocketAddrV4;

use bytes::Bytes;

use super::{Reply, ReplyCode};
use crate::addr;
use crate::error::ReplyDataError;
use crate::text::{Pathname, Text};
use crate::time::Timestamp;

/// One line of a `FEAT` reply (RFC 2389 section 3.2): a feature name and its
/// parameters, such as `MLST` and `type*;size*;modify*;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    name: Bytes,
    params: Option<Bytes>,
}

impl Feature {
    /// The feature name (`EPSV`, `AUTH`, `MLST`), as sent.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether the name is `name`, compared case-insensitively (RFC 2389 3.2).
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The parameters after the name, if any (`TLS` for `AUTH TLS`).
    #[must_use]
    pub fn params(&self) -> Option<&[u8]> {
        self.params.as_deref()
    }
}

/// A 110 restart marker (RFC 959 4.1.3 and 4.2): `MARK yyyy = mmmm`, the
/// client's and the server's marker for the same point of the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartMarker {
    /// `yyyy`: the marker in the data stream as the client sees it.
    pub client: Bytes,
    /// `mmmm`: the server's equivalent marker.
    pub server: Bytes,
}

impl Reply {
    fn expect(&self, code: ReplyCode) -> Result<(), ReplyDataError> {
        if self.code == code {
            Ok(())
        } else {
            Err(ReplyDataError::WrongCode { expected: code.as_u16(), found: self.code.as_u16() })
        }
    }

    fn line_bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.lines().iter().map(Text::as_bytes)
    }

    /// The address of a 227 reply. The six numbers are found anywhere in the
    /// text, on any line (RFC 1123 4.1.2.6), so `(h1,...,p2)`, `=h1,...,p2`,
    /// text without parentheses and multi-line 227 replies all work. A run of
    /// numbers with one above 255 is an error, never a shorter match
    /// (SECURITY.md N6).
    ///
    /// Whether to connect to this address is the client's policy: by default
    /// it should use the control connection's peer (SECURITY.md D5).
    ///
    /// # Errors
    /// [`ReplyDataError`] for another code, no six numbers, or out-of-range numbers.
    ///
    /// ```
    /// use ftp_proto::{Reply, ReplyCode};
    /// let r = Reply::from_static(ReplyCode::ENTERING_PASSIVE_MODE, "Entering Passive Mode (10,0,0,5,4,1).");
    /// assert_eq!(r.passive_addr().unwrap(), "10.0.0.5:1025".parse().unwrap());
    /// ```
    pub fn passive_addr(&self) -> Result<SocketAddrV4, ReplyDataError> {
        self.expect(ReplyCode::ENTERING_PASSIVE_MODE)?;
        addr::scan_pasv(self.line_bytes())
    }

    /// The port of a 229 reply, `(<d><d><d>port<d>)` with any delimiter in
    /// ASCII 33..=126 (RFC 2428 section 3). The client connects to the
    /// control connection's peer address.
    ///
    /// # Errors
    /// [`ReplyDataError`] for another code, a missing or malformed tuple, or a
    /// port outside 1..=65535.
    pub fn extended_passive_port(&self) -> Result<u16, ReplyDataError> {
        self.expect(ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE)?;
        addr::scan_epsv(self.line_bytes())
    }

    /// The pathname of a 257 reply: the text between the first `"` and its
    /// closing `"`, with `""` read as one `"` (RFC 959 Appendix II) and
    /// `CR NUL` as CR (RFC 2640 3.1).
    ///
    /// # Errors
    /// [`ReplyDataError::Malformed`] for a missing closing quote
    /// (CVE-2017-1000254) or an empty name, [`ReplyDataError::NotFound`]
    /// without any quote.
    ///
    /// ```
    /// use ftp_proto::{Reply, ReplyCode};
    /// let r = Reply::from_static(ReplyCode::PATHNAME_CREATED, r#""/usr/dm/""quoted""" created"#);
    /// assert_eq!(r.pathname().unwrap().to_str(), Some(r#"/usr/dm/"quoted""#));
    /// ```
    pub fn pathname(&self) -> Result<Pathname, ReplyDataError> {
        self.expect(ReplyCode::PATHNAME_CREATED)?;
        let text = self.text().clone().into_bytes();
        let open = memchr::memchr(b'"', &text).ok_or(ReplyDataError::NotFound)?;
        let mut i = open + 1;
        let mut doubled = false;
        loop {
            let q = memchr::memchr(b'"', &text[i..]).ok_or(ReplyDataError::Malformed)? + i;
            if text.get(q + 1) == Some(&b'"') {
                doubled = true;
                i = q + 2;
                continue;
            }
            let inner = text.slice(open + 1..q);
            let wire = if doubled {
                let mut v = alloc::vec::Vec::with_capacity(inner.len());
                let mut j = 0;
                while j < inner.len() {
                    v.push(inner[j]);
                    j += if inner[j] == b'"' { 2 } else { 1 };
                }
                Bytes::from(v)
            } else {
                inner
            };
            return Pathname::from_wire(wire).map_err(|_| ReplyDataError::Malformed);
        }
    }

    /// The number of a 213 reply to `SIZE` (RFC 3659 section 4.2:
    /// `213 SP 1*DIGIT`).
    ///
    /// # Errors
    /// [`ReplyDataError`] for another code or text that is not a number.
    pub fn size(&self) -> Result<u64, ReplyDataError> {
        self.expect(ReplyCode::FILE_STATUS)?;
        let word = first_word(self.text().as_bytes());
        addr::parse_decimal(word, 20).ok_or(if word.is_empty() {
            ReplyDataError::NotFound
        } else {
            ReplyDataError::Malformed
        })
    }

    /// The time of a 213 reply to `MDTM` (RFC 3659 section 3.2).
    ///
    /// # Errors
    /// [`ReplyDataError`] for another code or an invalid time.
    pub fn modification_time(&self) -> Result<Timestamp, ReplyDataError> {
        self.expect(ReplyCode::FILE_STATUS)?;
        Timestamp::parse(first_word(self.text().as_bytes())).map_err(|_| ReplyDataError::Malformed)
    }

    /// The features of a 211 reply to `FEAT` (RFC 2389 section 3.2): every
    /// middle line, without its leading space. Lines that servers prefix with
    /// `211-` (PEERS.md section 3) are read the same way. A single-line 211
    /// reply lists no features.
    ///
    /// # Errors
    /// [`ReplyDataError::WrongCode`] for another code.
    pub fn features(&self) -> Result<impl Iterator<Item = Feature> + '_, ReplyDataError> {
        self.expect(ReplyCode::SYSTEM_STATUS)?;
        let lines = self.lines();
        let middle = if lines.len() > 2 { &lines[1..lines.len() - 1] } else { &[][..] };
        Ok(middle.iter().filter_map(|line| {
            let b = line.clone().into_bytes();
            let start = if b.starts_with(b"211-") { 4 } else { 0 };
            let start = start + b[start..].iter().take_while(|&&c| c == b' ').count();
            let rest = b.slice(start..);
            if rest.is_empty() {
                return None;
            }
            Some(match memchr::memchr(b' ', &rest) {
                Some(sp) => Feature { name: rest.slice(..sp), params: Some(rest.slice(sp + 1..)) },
                None => Feature { name: rest, params: None },
            })
        }))
    }

    /// The size announced by a 150 reply, `(N bytes)`, as most servers write
    /// it (`150 Opening BINARY mode data connection for f (1234 bytes).`).
    /// A client compares it with what it received (SECURITY.md R5).
    #[must_use]
    pub fn transfer_size(&self) -> Option<u64> {
        if self.code != ReplyCode::FILE_STATUS_OK {
            return None;
        }
        let text = self.text().as_bytes();
        let mut from = 0;
        while let Some(open) = memchr::memchr(b'(', &text[from..]).map(|i| from + i) {
            from = open + 1;
            let rest = &text[open + 1..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let after = &rest[digits..];
            if digits > 0 && (after.starts_with(b" bytes)") || after.starts_with(b" bytes )")) {
                return addr::parse_decimal(&rest[..digits], 20);
            }
        }
        None
    }

    /// The markers of a 110 reply, `MARK yyyy = mmmm` (RFC 959 4.2).
    ///
    /// # Errors
    /// [`ReplyDataError`] for another code or text without the markers.
    pub fn restart_marker(&self) -> Result<RestartMarker, ReplyDataError> {
        self.expect(ReplyCode::RESTART_MARKER)?;
        let text = self.text().clone().into_bytes();
        let at = memchr::memmem::find(&text, b"MARK ").ok_or(ReplyDataError::NotFound)?;
        let rest = text.slice(at + 5..);
        let eq = memchr::memmem::find(&rest, b" = ").ok_or(ReplyDataError::Malformed)?;
        let client = rest.slice(..eq);
        let server_all = rest.slice(eq + 3..);
        let server = server_all.slice(..first_word(&server_all).len());
        if client.is_empty() || server.is_empty() {
            return Err(ReplyDataError::Malformed);
        }
        Ok(RestartMarker { client, server })
    }

    /// The offset a 350 reply to `REST` confirms, when the server states it
    /// (`350 Restarting at 1024. Send STORE or RETRIEVE`): the first number
    /// in the text.
    #[must_use]
    pub fn restart_offset(&self) -> Option<u64> {
        if self.code != ReplyCode::FILE_ACTION_PENDING {
            return None;
        }
        let text = self.text().as_bytes();
        let start = text.iter().position(u8::is_ascii_digit)?;
        let len = text[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        addr::parse_decimal(&text[start..start + len], 20)
    }
}

fn first_word(b: &[u8]) -> &[u8] {
    let start = b.iter().take_while(|&&c| c == b' ').count();
    let b = &b[start..];
    let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
    &b[..end]
}
