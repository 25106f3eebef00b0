//! Validated byte strings: the values that go on the wire.
//!
//! FTP carries bytes, not Unicode: pathnames arrive in whatever encoding the
//! peer's file system uses (RFC 2640 only makes UTF-8 the recommendation).
//! Every type here therefore wraps [`Bytes`] and offers a `to_str()` accessor
//! that returns `None` instead of converting lossily.
//!
//! Each type is validated when it is built, so that the encoders can never
//! fail and no value can smuggle a line break into the control stream
//! (SECURITY.md E1, E2, E4). The rules:
//!
//! - no LF anywhere;
//! - a CR only as RFC 2640's `CR NUL` escape, which a [`Pathname`] stores
//!   decoded (as a bare CR) and the encoder writes back as `CR NUL`;
//! - NUL is data (RFC 959 `<char>` excludes only CR and LF) but is exposed
//!   through `has_nul()` so a server can refuse it in pathnames (F5).

use bytes::Bytes;
use core::fmt;

use crate::validation::{ValidationError, ValidationErrorKind};

/// Longest `USER` argument accepted (SECURITY.md A6 and section 7).
pub const MAX_USERNAME_LEN: usize = 256;
/// Longest `PASS` argument accepted (SECURITY.md A6 and section 7).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest verb accepted: RFC 959 verbs have three or four letters; a few
/// extensions (`XSHA256`) are longer. Anything longer is refused (F4).
pub const MAX_VERB_LEN: usize = 8;

/// Checks the wire rule shared by every text value: no LF, and a CR only when
/// a NUL follows it (RFC 2640 section 3.1's escape).
#[inline]
fn check_line_safe(bytes: &[u8]) -> Result<(), ValidationError> {
    let mut from = 0;
    while let Some(i) = crate::scan::find2(&bytes[from..], b'\r', b'\n') {
        let at = from + i;
        if bytes[at] == b'\n' {
            return Err(ValidationError::new(ValidationErrorKind::LineFeed, at));
        }
        if bytes.get(at + 1) != Some(&0) {
            return Err(ValidationError::new(ValidationErrorKind::BareCarriageReturn, at));
        }
        from = at + 2;
    }
    Ok(())
}

/// Writes `src` into `dst`, doubling every 0xFF (Telnet IAC, RFC 959 3.2 and
/// RFC 3659 2.2) so the peer's Telnet layer gives back the same byte.
pub(crate) fn put_escaped(dst: &mut bytes::BytesMut, src: &[u8]) {
    let mut rest = src;
    while let Some(i) = memchr::memchr(0xFF, rest) {
        dst.extend_from_slice(&rest[..=i]);
        dst.extend_from_slice(&[0xFF]);
        rest = &rest[i + 1..];
    }
    dst.extend_from_slice(rest);
}

macro_rules! bytes_accessors {
    ($ty:ident) => {
        impl $ty {
            /// The bytes of the value, as they are held (not wire-escaped).
            #[must_use]
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// The value as UTF-8, or `None` when it is not valid UTF-8.
            /// Never converts lossily: FTP carries legacy encodings.
            #[must_use]
            pub fn to_str(&self) -> Option<&str> {
                core::str::from_utf8(&self.0).ok()
            }

            /// The underlying shared buffer (cheap to clone).
            #[must_use]
            pub fn into_bytes(self) -> Bytes {
                self.0
            }

            /// Whether the value holds a NUL byte (SECURITY.md F5: a server
            /// refuses NUL in pathnames before they reach storage).
            #[must_use]
            pub fn has_nul(&self) -> bool {
                memchr::memchr(0, &self.0).is_some()
            }

            /// Number of bytes held.
            #[must_use]
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the value is empty.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl AsRef<[u8]> for $ty {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), crate::text::Escaped(&self.0))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&crate::text::Escaped(&self.0), f)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = ValidationError;
            fn try_from(value: &str) -> Result<Self, ValidationError> {
                Self::new(Bytes::copy_from_slice(value.as_bytes()))
            }
        }

        impl TryFrom<&[u8]> for $ty {
            type Error = ValidationError;
            fn try_from(value: &[u8]) -> Result<Self, ValidationError> {
                Self::new(Bytes::copy_from_slice(value))
            }
        }

        impl TryFrom<Bytes> for $ty {
            type Error = ValidationError;
            fn try_from(value: Bytes) -> Result<Self, ValidationError> {
                Self::new(value)
            }
        }
    };
}

/// Shows bytes as text, escaping what is not printable ASCII, so that `Debug`
/// and `Display` output is readable and can never break a log line.
pub(crate) struct Escaped<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Free text that may travel on the control connection: a command argument
/// without further grammar (`SITE`, `HELP`, `ACCT`) or a line of reply text.
///
/// Holds no LF and no CR except in RFC 2640's `CR NUL` pair, so it can never
/// end a line early (SECURITY.md E1, E4).
///
/// ```
/// use ftp_proto::Text;
/// assert!(Text::try_from("Service ready").is_ok());
/// assert!(Text::try_from("evil\r\nDELE x").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Bytes);

impl Text {
    /// Validates `bytes` as wire-safe text.
    ///
    /// # Errors
    /// [`ValidationError`] when the bytes hold an LF or a CR not followed by NUL.
    pub fn new(bytes: Bytes) -> Result<Self, ValidationError> {
        check_line_safe(&bytes)?;
        Ok(Self(bytes))
    }

    /// Text from a static string, checked once.
    ///
    /// # Panics
    /// When the string holds a line break: this is for constants in code.
    #[must_use]
    pub fn from_static(s: &'static str) -> Self {
        match Self::new(Bytes::from_static(s.as_bytes())) {
            Ok(t) => t,
            Err(e) => panic!("Text::from_static({s:?}): {e}"),
        }
    }

    /// Empty text.
    #[must_use]
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    /// Built by a parser that has already checked the bytes.
    pub(crate) fn trusted(bytes: Bytes) -> Self {
        debug_assert!(check_line_safe(&bytes).is_ok());
        Self(bytes)
    }

    /// Checks text taken from a received line, unless the line framer
    /// already found the line `clean` (no CR, no LF), which leaves nothing
    /// to check. Build it afterwards with [`trusted`](Self::trusted).
    #[inline(always)]
    pub(crate) fn check_line(bytes: &[u8], clean: bool) -> Result<(), ValidationError> {
        if clean { Ok(()) } else { check_line_safe(bytes) }
    }

    pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) {
        put_escaped(dst, &self.0);
    }
}

bytes_accessors!(Text);

/// A pathname as the peer sent it, byte for byte (RFC 959 5.3.2
/// `<pathname>`, RFC 3659 2.2: "retained and retransmitted identically").
///
/// A CR inside a pathname is held as a bare CR; on the wire it travels as
/// `CR NUL` (RFC 2640 section 3.1), which the decoder turns back into CR.
/// LF can never be part of a pathname. Spaces are kept: only the first space
/// after the verb separates it from its argument.
///
/// ```
/// use ftp_proto::Pathname;
/// let p = Pathname::try_from("My Documents/report 2024.pdf").unwrap();
/// assert_eq!(p.to_str(), Some("My Documents/report 2024.pdf"));
/// assert!(Pathname::try_from("a\nb").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pathname(Bytes);

impl Pathname {
    /// Validates `bytes` (decoded form) as a pathname.
    ///
    /// # Errors
    /// [`ValidationError`] when the bytes are empty or hold an LF.
    pub fn new(bytes: Bytes) -> Result<Self, ValidationError> {
        if bytes.is_empty() {
            return Err(ValidationError::new(ValidationErrorKind::Empty, 0));
        }
        if let Some(at) = memchr::memchr(b'\n', &bytes) {
            return Err(ValidationError::new(ValidationErrorKind::LineFeed, at));
        }
        Ok(Self(bytes))
    }

    /// Decodes a pathname from its wire form: `CR NUL` becomes CR (RFC 2640
    /// 3.1); a CR followed by anything else is refused (SECURITY.md F2).
    /// Copies only when an escape is present.
    #[inline]
    pub(crate) fn from_wire(wire: Bytes) -> Result<Self, ValidationError> {
        Self::check_wire(&wire, false)?;
        Ok(Self::from_checked_wire(wire, false))
    }

    /// Checks a pathname in wire form, as [`from_wire`](Self::from_wire)
    /// does, without building it; when the line framer found the line
    /// `clean` (no CR, no LF) there is no escape to look at.
    #[inline(always)]
    pub(crate) fn check_wire(wire: &[u8], clean: bool) -> Result<(), ValidationError> {
        if wire.is_empty() {
            return Err(ValidationError::new(ValidationErrorKind::Empty, 0));
        }
        if clean { Ok(()) } else { Self::check_escapes(wire) }
    }

    /// Every CR of `wire` is followed by a NUL.
    fn check_escapes(wire: &[u8]) -> Result<(), ValidationError> {
        let mut from = 0;
        while let Some(i) = crate::scan::find(&wire[from..], b'\r') {
            let at = from + i;
            if wire.get(at + 1) != Some(&0) {
                return Err(ValidationError::new(ValidationErrorKind::BareCarriageReturn, at));
            }
            from = at + 2;
        }
        Ok(())
    }

    /// Builds a pathname from a wire form that passed
    /// [`check_wire`](Self::check_wire): each `CR NUL` becomes CR. Copies
    /// only when an escape is present.
    #[inline(always)]
    pub(crate) fn from_checked_wire(wire: Bytes, clean: bool) -> Self {
        debug_assert!(Self::check_wire(&wire, clean).is_ok());
        if clean { Self(wire) } else { Self::unescape(wire) }
    }

    /// [`from_checked_wire`](Self::from_checked_wire) for a line that may
    /// hold escapes.
    fn unescape(wire: Bytes) -> Self {
        let Some(first) = crate::scan::find(&wire, b'\r') else {
            return Self(wire);
        };
        let mut out = alloc::vec::Vec::with_capacity(wire.len());
        out.extend_from_slice(&wire[..first]);
        let mut i = first;
        while i < wire.len() {
            let b = wire[i];
            out.push(b);
            // A CR is always followed by its NUL here: skip the NUL.
            i += if b == b'\r' { 2 } else { 1 };
        }
        Self(Bytes::from(out))
    }

    /// Writes the wire form: 0xFF doubled, CR as `CR NUL`.
    pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) {
        for (i, part) in self.0.split(|&b| b == b'\r').enumerate() {
            if i > 0 {
                dst.extend_from_slice(b"\r\0");
            }
            put_escaped(dst, part);
        }
    }
}

bytes_accessors!(Pathname);

/// A command verb: ASCII letters (digits allowed after the first letter, for
/// extensions such as `XSHA256`), at most [`MAX_VERB_LEN`] bytes.
///
/// Compared case-insensitively (RFC 959 5.3); non-ASCII bytes are refused,
/// never case-folded (SECURITY.md F4).
#[derive(Clone)]
pub struct Verb(Bytes);

impl Verb {
    /// Validates a verb.
    ///
    /// # Errors
    /// [`ValidationError`] for an empty, overlong or non-letter verb.
    pub fn new(bytes: Bytes) -> Result<Self, ValidationError> {
        check_verb(&bytes)?;
        Ok(Self(bytes))
    }

    /// Built from bytes that passed [`check_verb`].
    #[inline]
    pub(crate) fn trusted(bytes: Bytes) -> Self {
        debug_assert!(check_verb(&bytes).is_ok());
        Self(bytes)
    }

    /// The verb in upper case, as it is written on the wire.
    #[must_use]
    pub fn to_uppercase(&self) -> ([u8; MAX_VERB_LEN], usize) {
        let mut out = [0u8; MAX_VERB_LEN];
        for (o, b) in out.iter_mut().zip(self.0.iter()) {
            *o = b.to_ascii_uppercase();
        }
        (out, self.0.len())
    }

    /// Whether this is the verb of an HTTP request (`GET`, `POST`, `HEAD`,
    /// `PUT`, `CONNECT`, `OPTIONS`, `DELETE`, `TRACE`, `PATCH`): a sign of a
    /// cross-protocol attack (SECURITY.md S3), on which a server closes.
    #[must_use]
    pub fn is_http_method(&self) -> bool {
        const HTTP: [&[u8]; 9] =
            [b"GET", b"POST", b"HEAD", b"PUT", b"CONNECT", b"OPTIONS", b"DELETE", b"TRACE", b"PATCH"];
        HTTP.iter().any(|m| m.eq_ignore_ascii_case(&self.0))
    }

    pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) {
        let (upper, len) = self.to_uppercase();
        dst.extend_from_slice(&upper[..len]);
    }
}

pub(crate) fn check_verb(bytes: &[u8]) -> Result<(), ValidationError> {
    if bytes.is_empty() {
        return Err(ValidationError::new(ValidationErrorKind::Empty, 0));
    }
    if bytes.len() > MAX_VERB_LEN {
        return Err(ValidationError::new(ValidationErrorKind::TooLong { limit: MAX_VERB_LEN }, MAX_VERB_LEN));
    }
    if !bytes[0].is_ascii_alphabetic() {
        return Err(ValidationError::new(ValidationErrorKind::BadVerb, 0));
    }
    if let Some(at) = bytes.iter().position(|b| !b.is_ascii_alphanumeric()) {
        return Err(ValidationError::new(ValidationErrorKind::BadVerb, at));
    }
    Ok(())
}

bytes_accessors!(Verb);

impl PartialEq for Verb {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Verb {}

impl core::hash::Hash for Verb {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let (upper, len) = self.to_uppercase();
        upper[..len].hash(state);
    }
}

/// Defines a newtype over [`Text`] with an extra check.
macro_rules! text_newtype {
    ($(#[$m:meta])* $ty:ident, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $ty(Bytes);

        impl $ty {
            /// Validates the value.
            ///
            /// # Errors
            /// [`ValidationError`] when the bytes break the type's grammar or
            /// hold a line break.
            pub fn new(bytes: Bytes) -> Result<Self, ValidationError> {
                Self::check_line(&bytes, false)?;
                Ok(Self(bytes))
            }

            /// Checks [`new`](Self::new)'s rules on a part of a received
            /// line without building the value: the line check is skipped
            /// when the framer found the line `clean` (no CR, no LF); the
            /// type's own grammar is always checked.
            #[inline]
            pub(crate) fn check_line(bytes: &[u8], clean: bool) -> Result<(), ValidationError> {
                if clean {
                    debug_assert!(check_line_safe(bytes).is_ok());
                } else {
                    check_line_safe(bytes)?;
                }
                let check: fn(&[u8]) -> Result<(), ValidationError> = $check;
                check(bytes)
            }

            /// Built from bytes that passed [`check_line`](Self::check_line).
            #[inline]
            pub(crate) fn trusted(bytes: Bytes) -> Self {
                debug_assert!(Self::check_line(&bytes, false).is_ok());
                Self(bytes)
            }

            pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) {
                put_escaped(dst, &self.0);
            }
        }

        bytes_accessors!($ty);
    };
}

fn non_empty_max(bytes: &[u8], limit: usize) -> Result<(), ValidationError> {
    if bytes.is_empty() {
        return Err(ValidationError::new(ValidationErrorKind::Empty, 0));
    }
    if bytes.len() > limit {
        return Err(ValidationError::new(ValidationErrorKind::TooLong { limit }, limit));
    }
    Ok(())
}

fn all_bytes(bytes: &[u8], ok: impl Fn(u8) -> bool) -> Result<(), ValidationError> {
    match bytes.iter().position(|&b| !ok(b)) {
        Some(at) => Err(ValidationError::new(ValidationErrorKind::BadCharacter, at)),
        None => Ok(()),
    }
}

text_newtype!(
    /// A `USER` argument: 1 to [`MAX_USERNAME_LEN`] bytes (SECURITY.md A6).
    Username,
    |b| non_empty_max(b, MAX_USERNAME_LEN)
);

text_newtype!(
    /// A `PASS` argument: up to [`MAX_PASSWORD_LEN`] bytes, possibly empty
    /// (anonymous clients send none). Wrap it in [`crate::Secret`] so that it
    /// never reaches a log.
    Password,
    |b| if b.len() > MAX_PASSWORD_LEN {
        Err(ValidationError::new(ValidationErrorKind::TooLong { limit: MAX_PASSWORD_LEN }, MAX_PASSWORD_LEN))
    } else {
        Ok(())
    }
);

text_newtype!(
    /// An RFC 2228 security mechanism name (`AUTH TLS`, `AUTH SSL`,
    /// `AUTH GSSAPI`): 1 to 20 letters, digits, `-` or `_` (RFC 2228 section 3,
    /// "mechanism names ... up to 20 characters").
    Mechanism,
    |b| {
        non_empty_max(b, 20)?;
        all_bytes(b, |c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    }
);

impl Mechanism {
    /// Whether the mechanism asks for TLS (`TLS`, `TLS-C`, `SSL`, `TLS-P`),
    /// the names RFC 4217 section 4 and deployed clients use.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        [&b"TLS"[..], b"TLS-C", b"SSL", b"TLS-P"].iter().any(|m| m.eq_ignore_ascii_case(&self.0))
    }
}

text_newtype!(
    /// A base64 security payload (RFC 2228 `ADAT`, `MIC`, `CONF`, `ENC`), kept
    /// as the encoded bytes: the base64 alphabet and `=` padding only.
    Base64,
    |b| {
        non_empty_max(b, usize::MAX)?;
        all_bytes(b, |c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
    }
);

text_newtype!(
    /// A language tag for `LANG` (RFC 2640 section 4.1, tags per RFC 1766):
    /// letters, digits and `-`, at most 64 bytes, starting with a letter.
    LangTag,
    |b| {
        non_empty_max(b, 64)?;
        all_bytes(b, |c| c.is_ascii_alphanumeric() || c == b'-')?;
        if b[0].is_ascii_alphabetic() {
            Ok(())
        } else {
            Err(ValidationError::new(ValidationErrorKind::BadCharacter, 0))
        }
    }
);

text_newtype!(
    /// A `HOST` argument (RFC 7151 section 3): a domain name in ASCII
    /// (A-labels), an IPv4 literal, or an IPv6 literal in brackets.
    HostName,
    check_host_name
);

fn check_host_name(b: &[u8]) -> Result<(), ValidationError> {
    non_empty_max(b, 255)?;
    if b[0] == b'[' {
        let inner = b
            .strip_prefix(b"[")
            .and_then(|s| s.strip_suffix(b"]"))
            .ok_or(ValidationError::new(ValidationErrorKind::BadCharacter, 0))?;
        let ok = core::str::from_utf8(inner).ok().and_then(|s| s.parse::<core::net::Ipv6Addr>().ok()).is_some();
        return if ok { Ok(()) } else { Err(ValidationError::new(ValidationErrorKind::BadCharacter, 1)) };
    }
    all_bytes(b, |c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

text_newtype!(
    /// The facts of an `MFF` command (draft-somers-ftp-mfxx section 5):
    /// `fact=value;` pairs with no space in them.
    FactList,
    |b| {
        non_empty_max(b, usize::MAX)?;
        all_bytes(b, |c| c != b' ')
    }
);

impl FactList {
    /// The `(name, value)` pairs, in order. Names compare case-insensitively
    /// (RFC 3659 section 7).
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.0.split(|&b| b == b';').filter(|p| !p.is_empty()).map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (&p[..eq], &p[eq + 1..]),
            None => (p, &p[p.len()..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_e1_text_refuses_line_breaks() {
        assert!(Text::try_from("a\rb").is_err());
        assert!(Text::try_from("a\nb").is_err());
        assert!(Text::try_from("a\r").is_err());
        // RFC 2640 3.1: CR NUL is the only form a CR may take.
        assert!(Text::try_from(&b"a\r\0b"[..]).is_ok());
    }

    #[test]
    fn rfc2640_pathname_cr_nul_is_decoded() {
        let p = Pathname::from_wire(Bytes::from_static(b"a\r\0b")).unwrap();
        assert_eq!(p.as_bytes(), b"a\rb");
        assert!(Pathname::from_wire(Bytes::from_static(b"a\rb")).is_err());
        let mut out = bytes::BytesMut::new();
        p.encode(&mut out);
        assert_eq!(&out[..], b"a\r\0b");
    }

    #[test]
    fn sec_f4_verb_rules() {
        assert!(Verb::try_from("RETR").is_ok());
        assert!(Verb::try_from("XSHA256").is_ok());
        assert!(Verb::try_from("R\u{e9}TR").is_err());
        assert!(Verb::try_from("1ABC").is_err());
        assert!(Verb::try_from("ABCDEFGHI").is_err());
        assert_eq!(Verb::try_from("retr").unwrap(), Verb::try_from("RETR").unwrap());
    }

    #[test]
    fn host_names_rfc7151() {
        assert!(HostName::try_from("ftp.example.com").is_ok());
        assert!(HostName::try_from("[::1]").is_ok());
        assert!(HostName::try_from("192.0.2.1").is_ok());
        assert!(HostName::try_from("bad host").is_err());
        assert!(HostName::try_from("[nope]").is_err());
    }
}
