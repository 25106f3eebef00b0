//! The virtual current directory and path resolution.
//!
//! The session keeps the working directory as a clean absolute path and
//! resolves every pathname argument against it, so the application always
//! receives absolute paths with no `.`, `..` or repeated `/`, and `..` never
//! climbs above `/` (SECURITY.md P1). Where those paths map on a real file
//! system, symbolic links included, stays the storage's business (P2).

use bytes::{BufMut, Bytes, BytesMut};
use ftp_proto::Pathname;

/// A clean absolute virtual path: starts with `/`, no `.` or `..`
/// components, no empty components, no trailing `/` except for the root.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VirtualPath(Bytes);

impl VirtualPath {
    /// The root, `/`.
    #[must_use]
    pub fn root() -> Self {
        Self(Bytes::from_static(b"/"))
    }

    /// Resolves `arg` against `self`: absolute arguments start from the root.
    #[must_use]
    pub fn join(&self, arg: &[u8]) -> Self {
        let mut parts: Vec<&[u8]> = Vec::new();
        if arg.first() != Some(&b'/') {
            parts.extend(self.0.split(|&b| b == b'/').filter(|p| !p.is_empty()));
        }
        for part in arg.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        let mut out = BytesMut::with_capacity(arg.len() + self.0.len() + 1);
        for p in &parts {
            out.put_u8(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            return Self::root();
        }
        Self(out.freeze())
    }

    /// The parent directory (the root is its own parent).
    #[must_use]
    pub fn parent(&self) -> Self {
        self.join(b"..")
    }

    /// Whether this is `/`.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The path's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path as UTF-8, if it is.
    #[must_use]
    pub fn to_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }

    /// The last component (empty for the root).
    #[must_use]
    pub fn file_name(&self) -> &[u8] {
        let i = self.0.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        &self.0[i..]
    }

    /// As a codec pathname (for 257 replies).
    pub(crate) fn to_pathname(&self) -> Pathname {
        Pathname::try_from(self.0.clone()).unwrap_or_else(|_| Pathname::try_from("/").expect("valid"))
    }
}

impl core::fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VirtualPath({:?})", String::from_utf8_lossy(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VirtualPath {
        VirtualPath::root().join(s.as_bytes())
    }

    /// SECURITY.md P1: `..` never climbs above the root; paths come out clean.
    #[test]
    fn sec_p1_dotdot_stays_inside_root() {
        assert_eq!(p("../../etc/passwd").as_bytes(), b"/etc/passwd");
        assert_eq!(p("/a/b/../../../..").as_bytes(), b"/");
        assert_eq!(p("a//b/./c/").as_bytes(), b"/a/b/c");
        assert_eq!(p("a").join(b"b c").as_bytes(), b"/a/b c");
        assert_eq!(p("a/b").join(b"/x").as_bytes(), b"/x");
        assert_eq!(p("a/b").parent().as_bytes(), b"/a");
        assert_eq!(p("a/b").file_name(), b"b");
        assert!(VirtualPath::root().parent().is_root());
    }
}
