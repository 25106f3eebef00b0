//! Shell-style patterns for `NLST` and `LIST` arguments: `*`, `?` and
//! `[...]` in the last component, as `mget *.txt` in tnftp, inetutils-ftp
//! and ncftp sends them (`NLST *.txt`) and as servers since wu-ftpd answer
//! them.
//!
//! Matching is bounded (SECURITY.md P3): a pattern is at most
//! [`MAX_PATTERN_LEN`] bytes, and [`Glob::matches`] runs in time linear in
//! the pattern times the name (one backtracking point, the last `*`, as
//! the classic iterative matcher keeps), so no pattern can make a listing
//! take exponential work.

use bytes::Bytes;

use crate::error::{ValidationError, ValidationErrorKind};

/// Longest pattern accepted (a file name component's usual limit).
pub const MAX_PATTERN_LEN: usize = 255;

/// Whether `component` holds a wildcard (`*`, `?`, `[`): whether a server
/// should treat an `NLST`/`LIST` argument's last component as a pattern.
#[must_use]
pub fn has_wildcards(component: &[u8]) -> bool {
    component.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// A validated pattern for one path component (no `/`).
///
/// ```
/// use ftp_proto::glob::Glob;
///
/// let g = Glob::new("*.tx[tx]").unwrap();
/// assert!(g.matches(b"notes.txt") && g.matches(b"a.txx"));
/// assert!(!g.matches(b"notes.txt.gz"));
/// assert!(Glob::new("a/*").is_err(), "one component only");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    pattern: Bytes,
}

impl Glob {
    /// A pattern: not empty, at most [`MAX_PATTERN_LEN`] bytes, no `/`,
    /// CR, LF or NUL.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the first offending byte.
    pub fn new(pattern: impl Into<Bytes>) -> Result<Self, ValidationError> {
        let pattern = pattern.into();
        if pattern.is_empty() {
            return Err(ValidationError::new(ValidationErrorKind::Empty, 0));
        }
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(ValidationError::new(ValidationErrorKind::TooLong { limit: MAX_PATTERN_LEN }, MAX_PATTERN_LEN));
        }
        if let Some(at) = pattern.iter().position(|&b| matches!(b, b'/' | b'\r' | b'\n' | 0)) {
            return Err(ValidationError::new(ValidationErrorKind::BadCharacter, at));
        }
        Ok(Self { pattern })
    }

    /// The pattern as given.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.pattern
    }

    /// Whether `name` matches, byte for byte and case-sensitively: `*` any
    /// run of bytes, `?` one byte, `[abc]`, `[a-z]` one of a set (`[!...]`
    /// or `[^...]` one not in it; an unclosed `[` is itself). As in `ls`,
    /// a leading `.` is only matched by a leading `.` in the pattern, so
    /// `*` leaves hidden files out.
    #[must_use]
    pub fn matches(&self, name: &[u8]) -> bool {
        let p = &self.pattern[..];
        if name.first() == Some(&b'.') && p.first() != Some(&b'.') {
            return false;
        }
        let (mut pi, mut ni) = (0, 0);
        // The last `*` seen and the name position it is tried from.
        let mut star: Option<(usize, usize)> = None;
        while ni < name.len() {
            if pi < p.len() {
                match p[pi] {
                    b'*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    b'?' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    b'[' => {
                        if let Some((matched, len)) = class(&p[pi..], name[ni]) {
                            if matched {
                                pi += len;
                                ni += 1;
                                continue;
                            }
                        } else if name[ni] == b'[' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                    c if c == name[ni] => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            // Mismatch: let the last `*` take one more byte.
            match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&b| b == b'*')
    }
}

/// A `[...]` class at the start of `p`: whether `c` is in it and the
/// class's length; `None` when the `[` is not closed (then it is literal).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(p.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        let b = p[i];
        if b == b']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            let end = p[i + 2];
            found |= (b..=end).contains(&c);
            i += 3;
        } else {
            found |= b == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, name: &str) -> bool {
        Glob::new(p.to_owned()).unwrap().matches(name.as_bytes())
    }

    /// The wildcards of mget: `*`, `?`, classes, ranges, negation.
    #[test]
    fn wildcards() {
        assert!(m("*.txt", "a.txt") && m("*.txt", "b c.txt") && !m("*.txt", "a.txt.gz"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[ab]x", "bx") && !m("[ab]x", "cx"));
        assert!(m("file[0-9].log", "file7.log") && !m("file[0-9].log", "filex.log"));
        assert!(m("[!a]*", "b1") && !m("[!a]*", "a1") && m("[^a]*", "z"));
        assert!(m("[]]", "]"), "a ] first in a class is itself");
        assert!(m("a[b", "a[b"), "an unclosed [ is literal");
        assert!(m("*", "anything") && m("**", "x") && m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*", ".hidden") && m(".*", ".hidden"), "hidden files need a leading dot");
        assert!(m("abc", "abc") && !m("abc", "abcd") && !m("abcd", "abc"));
    }

    /// SECURITY.md P3: patterns are bounded and matching stays linear:
    /// many stars against a long name that almost matches finish at once.
    #[test]
    fn sec_p3_patterns_are_bounded() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("a".repeat(MAX_PATTERN_LEN + 1)).is_err());
        assert!(Glob::new("../*").is_err() && Glob::new("a\r\n").is_err());
        let pattern = Glob::new(format!("{}b", "*a".repeat(100))).unwrap();
        let name = "a".repeat(10_000);
        // Exponential backtracking would never finish this.
        assert!(!pattern.matches(name.as_bytes()));
        assert!(has_wildcards(b"*.txt") && has_wildcards(b"a[1]") && !has_wildcards(b"plain.txt"));
    }
}
