//! Pieces of `ftp://` URLs (RFC 1738 section 3.2) that every client and
//! tool needs the same way: percent-decoding of the user, password and
//! path components. Kept in the codec so that the `ftpkit` client and the
//! conformance runner read a URL alike.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::PercentDecodeError;

/// Percent-decodes one URL component (RFC 3986 section 2.1; RFC 1738
/// section 3.2.2 for the user, password and path of an `ftp://` URL):
/// each `%XX` becomes the byte `0xXX`, everything else stays as it is.
/// The decoded bytes must be UTF-8, because the components end up as
/// command arguments typed on a command line.
///
/// `+` is not a space here: that is HTML form encoding, not URL syntax.
///
/// # Errors
/// [`PercentDecodeError::BadEscape`] for a `%` not followed by two hex
/// digits (with the offset of the `%`), [`PercentDecodeError::NotUtf8`]
/// when the decoded bytes are not UTF-8.
///
/// ```
/// use ftp_proto::url::percent_decode;
/// use ftp_proto::PercentDecodeError;
///
/// assert_eq!(percent_decode("my%20file%3A1").unwrap(), "my file:1");
/// assert_eq!(percent_decode("caf%C3%A9").unwrap(), "café");
/// assert_eq!(percent_decode("a%zz"), Err(PercentDecodeError::BadEscape { at: 1 }));
/// assert_eq!(percent_decode("%ff"), Err(PercentDecodeError::NotUtf8));
/// ```
pub fn percent_decode(s: &str) -> Result<String, PercentDecodeError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // `from_str_radix` also takes a sign (`%+f`), as the decoder this
            // one replaced did: kept so that no URL reads differently.
            let hex = b.get(i + 1..i + 3).and_then(|h| core::str::from_utf8(h).ok());
            let v = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(PercentDecodeError::BadEscape { at: i })?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PercentDecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 2.1: `%` HEXDIG HEXDIG, either case; a short or non-hex
    /// escape is an error at the `%`, never passed through.
    #[test]
    fn rfc3986_2_1_escapes() {
        assert_eq!(percent_decode("").unwrap(), "");
        assert_eq!(percent_decode("%2f%2F%25").unwrap(), "//%");
        assert_eq!(percent_decode("a+b").unwrap(), "a+b");
        for (bad, at) in [("%", 0), ("x%2", 1), ("%g0", 0), ("ok%%41", 2)] {
            assert_eq!(percent_decode(bad), Err(PercentDecodeError::BadEscape { at }), "{bad}");
        }
        // RFC 1738 3.2.2: an escaped `/` or NUL is data, for the caller to judge.
        assert_eq!(percent_decode("%00").unwrap(), "\0");
        assert_eq!(percent_decode("%C3"), Err(PercentDecodeError::NotUtf8));
    }
}
