//! Directory trees on either side of a multi-file command (`mirror`,
//! `get -r`, `put -r`): what is there, by path relative to the tree's root,
//! with sizes and modification times to compare.
//!
//! A remote tree is read one directory at a time (`CWD` there, then `MLSD`
//! or `LIST` with no argument, so that no server globs a name with `*` or
//! `[` in it), breadth first from a queue: the walk is iterative and bounded
//! by a depth and an entry count, never recursion driven by the server's
//! data (SECURITY.md R4). Every remote name is checked by [`checked_name`]
//! before it becomes part of a path: a hostile server's `..`, `/`, NUL or
//! escape sequence is reported and skipped, never written to disk.
//!
//! A local tree follows symbolic links on the side that is read from
//! (`put -r`, `mirror -R`), with a loop check on the chain of directories
//! above, and does not follow them on the side that is written to.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ftp_proto::listing::{Entry, EntryKind, Precision, Zone};
use ftp_tokio::client::{Client, ClientError};

use crate::filter::Filter;

/// Deepest directory level a walk enters by default (`--max-depth`).
pub(crate) const DEFAULT_MAX_DEPTH: usize = 64;

/// Most entries one walk takes (files and directories together): a server
/// that lists without end fills no memory.
pub(crate) const MAX_ENTRIES: usize = 1_000_000;

/// What a path in a tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    /// Something that is neither (a local symbolic link on the side written
    /// to, a device): never written through, replaced only by `--delete`.
    Other,
}

/// A modification time as precise as its source gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Seconds since 1970 (UTC when `utc`).
    pub(crate) secs: i64,
    /// Nanoseconds within the second (0 unless the source had a fraction).
    pub(crate) nanos: u32,
    pub(crate) precision: Precision,
    /// A UTC time (MLSx, MDTM, the local file system). `LIST` times are the
    /// server's local time in a zone nobody says: not comparable.
    pub(crate) utc: bool,
}

impl Stamp {
    /// A local file's time (nanoseconds kept).
    pub(crate) fn local(t: SystemTime) -> Option<Self> {
        let d = t.duration_since(UNIX_EPOCH).ok()?;
        Some(Self {
            secs: i64::try_from(d.as_secs()).ok()?,
            nanos: d.subsec_nanos(),
            precision: Precision::Fraction,
            utc: true,
        })
    }

    /// A time from MDTM or MLSx (UTC).
    pub(crate) fn utc(t: ftp_proto::Timestamp, precision: Precision) -> Self {
        Self { secs: t.unix_seconds(), nanos: t.nanos(), precision, utc: true }
    }

    /// The time as the file system takes it, to the second (a fraction
    /// kept when the source had one).
    pub(crate) fn system_time(self) -> Option<SystemTime> {
        let secs = u64::try_from(self.secs).ok()?;
        let nanos = if self.precision == Precision::Fraction { self.nanos } else { 0 };
        UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
    }

    /// As an MFMT/MDTM timestamp (whole seconds: what most servers keep).
    pub(crate) fn timestamp(self) -> Option<ftp_proto::Timestamp> {
        ftp_proto::Timestamp::try_from(UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(self.secs).ok()?))?)
            .ok()
    }

    /// Both times cut to the coarser precision of the two, in nanoseconds
    /// since 1970; `None` when they cannot be compared (a zone unknown).
    fn common(self, other: Self) -> Option<(i128, i128)> {
        if !self.utc || !other.utc {
            return None;
        }
        let precision = self.precision.min(other.precision);
        let cut = |s: Self| -> i128 {
            let whole = match precision {
                Precision::Day => s.secs.div_euclid(86_400) * 86_400,
                Precision::Minute => s.secs.div_euclid(60) * 60,
                _ => s.secs,
            };
            let nanos = if precision == Precision::Fraction { i128::from(s.nanos) } else { 0 };
            i128::from(whole) * 1_000_000_000 + nanos
        };
        Some((cut(self), cut(other)))
    }

    /// `Some(Ordering)` of the two times at their common precision.
    pub(crate) fn compare(self, other: Self) -> Option<std::cmp::Ordering> {
        self.common(other).map(|(a, b)| a.cmp(&b))
    }
}

/// One file or directory of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Bytes (files; 0 otherwise).
    pub(crate) size: u64,
    pub(crate) modified: Option<Stamp>,
}

/// A tree: relative path (components joined with `/`, each one a
/// [`checked_name`]) to what is there. Sorted, so a directory comes before
/// what is in it.
pub(crate) type Tree = BTreeMap<String, Node>;

/// Something a walk left out, and why (shown as a warning and a `skip`
/// event; a hostile name also makes the command's exit code non-zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Where: the relative path of the directory and the name as shown
    /// (escaped when printed).
    pub(crate) path: String,
    pub(crate) reason: String,
    /// A name no server should send (`..`, `/`, controls): counts as a
    /// failure of the command.
    pub(crate) hostile: bool,
}

/// A walk that cannot go on.
#[derive(Debug)]
pub(crate) enum WalkError {
    Client {
        path: String,
        error: ClientError,
    },
    Local {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Deeper than `--max-depth`.
    TooDeep {
        path: String,
        limit: usize,
    },
    /// A local directory reached again through a symbolic link.
    Loop {
        path: PathBuf,
    },
    /// More than [`MAX_ENTRIES`] entries.
    TooMany,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Client { path, error } => write!(f, "{path}: {error}"),
            Self::Local { path, error } => write!(f, "{}: {error}", path.display()),
            Self::TooDeep { path, limit } => {
                write!(f, "{path}: deeper than {limit} levels (a directory loop on the server? see --max-depth)")
            }
            Self::Loop { path } => {
                write!(f, "{}: a symbolic link loop (this directory is its own ancestor)", path.display())
            }
            Self::TooMany => write!(f, "more than {MAX_ENTRIES} entries: stopped"),
        }
    }
}

/// A name from a listing, fit to be one component of a local path and of a
/// remote one: UTF-8 (commands take text), not empty, `.` or `..`, no `/`
/// or `\`, no NUL or other control character (no terminal escape, no CR or
/// LF that could end a command), at most 255 bytes. The reason otherwise.
pub(crate) fn checked_name(name: &[u8]) -> Result<&str, &'static str> {
    let name = std::str::from_utf8(name).map_err(|_| "not UTF-8")?;
    if name.is_empty() {
        return Err("an empty name");
    }
    if name == "." || name == ".." {
        return Err("a name that climbs the tree");
    }
    if name.contains(['/', '\\']) {
        return Err("a name with a path separator");
    }
    if name.chars().any(char::is_control) {
        return Err("a name with control characters");
    }
    if name.len() > 255 {
        return Err("a name longer than 255 bytes");
    }
    Ok(name)
}

/// `dir/name`, or `name` at the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// The remote path of `rel` under `root` (an absolute path).
pub(crate) fn remote_join(root: &str, rel: &str) -> String {
    match (root.trim_end_matches('/'), rel) {
        ("", "") => "/".to_owned(),
        (r, "") => r.to_owned(),
        (r, rel) => format!("{r}/{rel}"),
    }
}

/// The local path of `rel` under `root` (each component was checked).
pub(crate) fn local_join(root: &Path, rel: &str) -> PathBuf {
    if rel.is_empty() { root.to_path_buf() } else { rel.split('/').fold(root.to_path_buf(), |p, c| p.join(c)) }
}

fn depth(rel: &str) -> usize {
    if rel.is_empty() { 0 } else { rel.split('/').count() }
}

/// A listing entry as a node: files and directories only (links and the
/// rest are skipped: a link on the server could point anywhere).
fn remote_node(entry: &Entry) -> Result<Node, String> {
    let kind = match entry.kind() {
        EntryKind::File => Kind::File,
        EntryKind::Directory => Kind::Dir,
        EntryKind::Symlink { .. } => return Err("a symbolic link (not followed)".into()),
        _ => return Err("neither a file nor a directory".into()),
    };
    let modified = entry.modified().map(|m| Stamp {
        secs: m.time().unix_seconds(),
        nanos: m.time().nanos(),
        precision: m.precision(),
        utc: m.zone() == Zone::Utc,
    });
    Ok(Node { kind, size: if kind == Kind::File { entry.size().unwrap_or(0) } else { 0 }, modified })
}

/// The tree under the remote directory `root` (absolute): `Ok(None)` when
/// `root` cannot be entered (it does not exist: a destination to create).
pub(crate) async fn remote_tree(
    client: &mut Client,
    root: &str,
    filter: &Filter,
    max_depth: usize,
    recursive: bool,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<Tree>, WalkError> {
    let mut tree = Tree::new();
    let mut queue = VecDeque::from([String::new()]);
    while let Some(dir) = queue.pop_front() {
        let path = remote_join(root, &dir);
        if let Err(error) = client.cwd(&path).await {
            if dir.is_empty() && matches!(error, ClientError::Rejected { .. }) {
                return Ok(None);
            }
            return Err(WalkError::Client { path, error });
        }
        let entries = client.list(None).await.map_err(|error| WalkError::Client { path: path.clone(), error })?;
        for entry in &entries {
            let name = match checked_name(entry.name()) {
                Ok(name) => name,
                Err(reason) => {
                    skipped.push(Skipped {
                        path: join(&dir, &String::from_utf8_lossy(entry.name())),
                        reason: reason.into(),
                        hostile: reason != "not UTF-8",
                    });
                    continue;
                }
            };
            let rel = join(&dir, name);
            let node = match remote_node(entry) {
                Ok(node) => node,
                Err(reason) => {
                    skipped.push(Skipped { path: rel, reason, hostile: false });
                    continue;
                }
            };
            if !filter.admits(&rel, node.kind == Kind::Dir) || (!recursive && node.kind == Kind::Dir) {
                continue;
            }
            if node.kind == Kind::Dir {
                if depth(&rel) > max_depth {
                    return Err(WalkError::TooDeep { path: remote_join(root, &rel), limit: max_depth });
                }
                queue.push_back(rel.clone());
            }
            if tree.insert(rel, node).is_some() {
                // The same name twice in one listing: the first one stands.
                continue;
            }
            if tree.len() > MAX_ENTRIES {
                return Err(WalkError::TooMany);
            }
        }
    }
    Ok(Some(tree))
}

/// The tree under the local directory `root`: `Ok(None)` when it does not
/// exist. `follow` follows symbolic links (the side read from), with a loop
/// check; otherwise a link is [`Kind::Other`].
pub(crate) fn local_tree(
    root: &Path,
    filter: &Filter,
    max_depth: usize,
    follow: bool,
    recursive: bool,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<Tree>, WalkError> {
    let local = |path: &Path| {
        let path = path.to_path_buf();
        move |error| WalkError::Local { path, error }
    };
    let top = match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            return Err(WalkError::Local { path: root.into(), error: std::io::Error::other("not a directory") });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalkError::Local { path: root.into(), error: e }),
    };
    let mut tree = Tree::new();
    // Each directory to read with the (device, inode) of itself and every
    // directory above it: a link back to one of them is a loop.
    let mut queue: VecDeque<(String, Vec<(u64, u64)>)> =
        VecDeque::from([(String::new(), vec![(top.dev(), top.ino())])]);
    while let Some((dir, ancestors)) = queue.pop_front() {
        let dir_path = local_join(root, &dir);
        let mut entries: Vec<_> = std::fs::read_dir(&dir_path)
            .map_err(local(&dir_path))?
            .collect::<Result<_, _>>()
            .map_err(local(&dir_path))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str().and_then(|n| checked_name(n.as_bytes()).ok()) else {
                skipped.push(Skipped {
                    path: join(&dir, &os_name.to_string_lossy()),
                    reason: "a name that cannot be sent as a path".into(),
                    hostile: false,
                });
                continue;
            };
            let rel = join(&dir, name);
            let path = entry.path();
            let meta = if follow { std::fs::metadata(&path) } else { std::fs::symlink_metadata(&path) };
            let meta = match meta {
                Ok(m) => m,
                Err(e) if follow && e.kind() == std::io::ErrorKind::NotFound => {
                    skipped.push(Skipped { path: rel, reason: "a dangling symbolic link".into(), hostile: false });
                    continue;
                }
                Err(e) => return Err(WalkError::Local { path, error: e }),
            };
            let kind = if meta.is_file() {
                Kind::File
            } else if meta.is_dir() {
                Kind::Dir
            } else {
                Kind::Other
            };
            if !filter.admits(&rel, kind == Kind::Dir) || (!recursive && kind == Kind::Dir) {
                continue;
            }
            if kind == Kind::Dir {
                if depth(&rel) > max_depth {
                    return Err(WalkError::TooDeep { path: path.display().to_string(), limit: max_depth });
                }
                let id = (meta.dev(), meta.ino());
                if ancestors.contains(&id) {
                    return Err(WalkError::Loop { path });
                }
                let mut chain = ancestors.clone();
                chain.push(id);
                queue.push_back((rel.clone(), chain));
            }
            let modified = meta.modified().ok().and_then(Stamp::local);
            tree.insert(rel, Node { kind, size: if kind == Kind::File { meta.len() } else { 0 }, modified });
            if tree.len() > MAX_ENTRIES {
                return Err(WalkError::TooMany);
            }
        }
    }
    Ok(Some(tree))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SECURITY.md R4 (issue 20): names that would leave the target
    /// directory or act on a terminal never become paths.
    #[test]
    fn sec_r4_hostile_names_are_refused() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"../etc",
            b"/etc/passwd",
            b"a/b",
            b"a\\b",
            b"nul\0",
            b"esc\x1b[2J",
            b"cr\rlf\n",
            b"\xff\xfe",
            b"del\x7f",
            "c1\u{9b}31m".as_bytes(),
        ] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
        for good in [&b"a"[..], b"name with spaces.txt", b"...", b"..a", b"caf\xc3\xa9", b"[x]*?"] {
            assert!(checked_name(good).is_ok(), "{good:?}");
        }
        assert!(checked_name(&[b'a'; 256]).is_err());
    }

    proptest::proptest! {
        /// SECURITY.md R4: whatever bytes a server sends as a name, one
        /// that is accepted is exactly one plain component under the
        /// target: joined to it, its parent is the target itself.
        #[test]
        fn sec_r4_an_accepted_name_stays_under_the_target(name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            if let Ok(n) = checked_name(&name) {
                let root = Path::new("/target");
                let joined = local_join(root, n);
                proptest::prop_assert_eq!(joined.parent(), Some(root));
                proptest::prop_assert_eq!(joined.components().count(), 3);
                proptest::prop_assert!(!n.chars().any(char::is_control));
            }
        }

        /// The same for names built from the characters that matter.
        #[test]
        fn sec_r4_names_of_dots_and_separators(name in "[./\\a\\x00\\x1b]{0,6}") {
            if let Ok(n) = checked_name(name.as_bytes()) {
                let root = Path::new("/target");
                let joined = local_join(root, n);
                proptest::prop_assert_eq!(joined.parent(), Some(root));
            }
        }
    }

    #[test]
    fn joins() {
        assert_eq!(remote_join("/", ""), "/");
        assert_eq!(remote_join("/", "a/b"), "/a/b");
        assert_eq!(remote_join("/pub/", "a"), "/pub/a");
        assert_eq!(local_join(Path::new("/t"), "a/b"), PathBuf::from("/t/a/b"));
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("d", "x"), "d/x");
    }

    /// Times compare at the coarser precision of the two; a LIST time (no
    /// zone) compares with nothing.
    #[test]
    fn stamps_compare_at_common_precision() {
        let second = Stamp { secs: 1_700_000_030, nanos: 0, precision: Precision::Second, utc: true };
        let fine = Stamp { secs: 1_700_000_030, nanos: 500, precision: Precision::Fraction, utc: true };
        assert_eq!(second.compare(fine), Some(std::cmp::Ordering::Equal));
        let minute = Stamp { secs: 1_700_000_000 - 20, nanos: 0, precision: Precision::Minute, utc: true };
        assert_eq!(minute.compare(second), Some(std::cmp::Ordering::Equal));
        let list = Stamp { utc: false, ..second };
        assert_eq!(list.compare(second), None);
        assert_eq!(fine.system_time().unwrap().duration_since(UNIX_EPOCH).unwrap().subsec_nanos(), 500);
    }

    /// A symbolic link to an ancestor directory stops the walk with an
    /// error; deeper than the limit too.
    #[test]
    fn local_walk_stops_at_loops_and_depth() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("../..", dir.path().join("a/b/up")).unwrap();
        let mut skipped = Vec::new();
        let all = Filter::default();
        let err = local_tree(dir.path(), &all, 64, true, true, &mut skipped).unwrap_err();
        assert!(matches!(err, WalkError::Loop { .. }), "{err}");
        // Not followed: the link is "other", and the walk completes.
        let tree = local_tree(dir.path(), &all, 64, false, true, &mut skipped).unwrap().unwrap();
        assert_eq!(tree["a/b/up"].kind, Kind::Other);
        assert_eq!(tree["a/b/f"].size, 1);
        let err = local_tree(dir.path(), &all, 1, false, true, &mut skipped).unwrap_err();
        assert!(matches!(err, WalkError::TooDeep { limit: 1, .. }), "{err}");
        assert!(local_tree(&dir.path().join("none"), &all, 64, true, true, &mut skipped).unwrap().is_none());
    }
}
