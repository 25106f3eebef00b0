//! Where the server's files live: the [`Storage`] trait, and [`LocalFs`],
//! a local directory confined to its root.
//!
//! The session hands the storage clean absolute virtual paths (no `.`/`..`).
//! [`LocalFs`] maps them under its root, and then makes sure that symbolic
//! links cannot lead out of it: the deepest existing ancestor of every path
//! is canonicalised and must still lie inside the canonical root, and a
//! dangling link is never followed to create a file (SECURITY.md P2). A path
//! that leaves the root is "not found", so nothing about the outside is
//! revealed.
//!
//! # Symbolic links
//!
//! One policy for every command, as pyftpdlib presents links: a link whose
//! target exists inside the root *is* its target to clients. `LIST`,
//! `NLST`, `MLSD`, `MLST` and `STAT` show the target's type, size, time and
//! id under the link's name, and `SIZE`, `MDTM`, `RETR` and `CWD` follow it,
//! so a mirroring client (rclone, `wget -r`) sees sizes that match what it
//! downloads. A link that dangles or leads out of the root is left out of
//! listings and is "not found" to every other command (SECURITY.md P2).
//! Clients never see `l` lines or `type=OS.unix=slink`.
//!
//! # Why boxed futures
//!
//! [`Storage`] methods return [`BoxFuture`]s rather than being `async fn`s
//! or making the server generic: the server holds its storage as an
//! `Arc<dyn Storage>`, so [`ServerOptions`](crate::server::ServerOptions)
//! stays one plain type that a command line can fill in, and a test can swap
//! in [`MemoryFs`](crate::memory::MemoryFs) without a type parameter running
//! through `Server`, its options and its handles. The cost is one allocation
//! per storage call, next to the system calls and the network round trip of
//! every FTP command. File bytes do not pay it per byte: a transfer opens one
//! [`FileSource`] or [`FileSink`] and the driver copies through it with a
//! large buffer.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use ftp_proto::Timestamp;
use ftp_proto::listing::{self, Entry, EntryKind, ListingTime, Precision};
use ftp_session::server::{ListFormat, StorageError, VirtualPath};
use tokio::io::{AsyncRead, AsyncWrite};

/// A future a [`Storage`] (or an [`Authenticator`](crate::auth::Authenticator))
/// returns: boxed so that the trait is object safe (see the module docs).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The bytes of a file being downloaded (`RETR`), positioned at the offset
/// asked for.
pub type FileSource = Box<dyn AsyncRead + Send + Unpin>;

/// Where an upload (`STOR`, `APPE`, `STOU`) goes. The driver calls
/// `flush` after the last byte and before it answers 226, so a sink that
/// buffers must make the data durable (or at least visible) there.
pub type FileSink = Box<dyn AsyncWrite + Send + Unpin>;

/// How [`Storage::open_write`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteMode {
    /// `STOR`: create, or replace the contents.
    Replace,
    /// `REST n` then `STOR` (RFC 3659 5): keep the first `n` bytes (cutting
    /// anything after them) and write from there.
    Resume(u64),
    /// `APPE`: create, or write after the end.
    Append,
    /// `STOU`: create a file that must not exist yet; fail with
    /// [`StorageError::AlreadyExists`] if it does.
    CreateNew,
}

/// The files a server serves. Paths are clean absolute virtual paths from
/// the session; the storage decides what they mean and must keep every one
/// of them inside what it serves (SECURITY.md P1, P2). Permissions (who
/// may write) are the server's business: a storage is asked to write only
/// for users allowed to.
///
/// Errors are [`StorageError`]s, from which the session picks the reply
/// code, so two storages with the same errors look the same to clients.
pub trait Storage: Send + Sync + 'static {
    /// `CWD`: succeeds if `path` is a directory.
    fn change_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The entries of a directory sorted by name, or the single entry of a
    /// file (named by its last path element); names starting with `.` only
    /// when `all`. Listings (`LIST`, `NLST`, `MLSD`, `STAT path`, `MLST`)
    /// are all written from these by the server ([`format_listing`]).
    fn entries<'a>(&'a self, path: &'a VirtualPath, all: bool) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>>;

    /// `MLST` (RFC 3659 7.2): the entry of the object `path` names itself,
    /// a file or a directory (never a directory's first child), named by
    /// the full virtual path.
    ///
    /// The default looks the name up in the parent's [`entries`](Self::entries)
    /// (the root is a directory when it can be listed); a storage that can
    /// ask for one object's metadata directly should override it.
    fn stat<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move {
            let full = Bytes::copy_from_slice(path.as_bytes());
            if path.is_root() {
                self.entries(path, false).await?;
                return Ok(Entry::new(full, EntryKind::Directory));
            }
            let siblings = self.entries(&path.parent(), true).await?;
            siblings
                .into_iter()
                .find(|e| e.name() == path.file_name())
                .map(|e| e.with_name(full))
                .ok_or(StorageError::NotFound)
        })
    }

    /// `SIZE` (RFC 3659 4): the size of a file in bytes as stored.
    fn size<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>>;

    /// `MDTM` (RFC 3659 3): the modification time of a file, UTC.
    fn modified<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<Timestamp, StorageError>>;

    /// `RETR`: a file's bytes from `offset` (past the end: nothing).
    fn open_read<'a>(&'a self, path: &'a VirtualPath, offset: u64) -> BoxFuture<'a, Result<FileSource, StorageError>>;

    /// `STOR`, `APPE`, `STOU`: where to write a file; its parent must exist.
    fn open_write<'a>(
        &'a self,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>>;

    /// `DELE`: removes a file (not a directory).
    fn delete<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `MKD`: creates a directory whose parent exists.
    fn make_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `RMD`: removes an empty directory, never the root.
    fn remove_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `RNFR`/`RNTO`: renames within the storage.
    fn rename<'a>(&'a self, from: &'a VirtualPath, to: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;
}

/// The current time as a listing timestamp (the epoch if the clock is off).
pub(crate) fn now_timestamp() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"))
}

/// A listing in the wire format a command asks for, CRLF line ends: names
/// for `NLST`, RFC 3659 7 fact lines for `MLSD`, `ls -l` lines otherwise.
/// `now` decides whether `ls` dates show the time or the year. Every
/// storage's listings go through here, so they look the same.
#[must_use]
pub fn format_listing(entries: &[Entry], format: ListFormat, facts: &[&str], now: Timestamp) -> Bytes {
    let mut out = BytesMut::new();
    for e in entries {
        let before = out.len();
        match format {
            // A name with a line break would read as two names: left out.
            ListFormat::Nlst if e.name().iter().any(|&b| b == b'\r' || b == b'\n') => {}
            ListFormat::Nlst => out.extend_from_slice(e.name()),
            ListFormat::Mlsd => listing::format_mlsx(e, facts, &mut out),
            _ => listing::format_unix(e, now, &mut out),
        }
        if out.len() > before {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.freeze()
}

/// A local directory served over FTP, confined to its root (see the module
/// docs).
#[derive(Debug, Clone)]
pub struct LocalFs {
    root: PathBuf,
}

fn storage_error(e: &io::Error) -> StorageError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => StorageError::NotFound,
        io::ErrorKind::PermissionDenied | io::ErrorKind::IsADirectory => StorageError::PermissionDenied,
        io::ErrorKind::DirectoryNotEmpty => StorageError::DirectoryNotEmpty,
        io::ErrorKind::AlreadyExists => StorageError::AlreadyExists,
        io::ErrorKind::StorageFull => StorageError::InsufficientStorage,
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidFilename => StorageError::NameNotAllowed,
        _ => StorageError::LocalError,
    }
}

impl LocalFs {
    /// Serves `root`, which must be an existing directory.
    ///
    /// # Errors
    /// The root cannot be canonicalised or is not a directory.
    pub fn new(root: &Path) -> io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "the root is not a directory"));
        }
        Ok(Self { root })
    }

    /// The canonical root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a virtual path under the root and checks that it stays there,
    /// symbolic links included.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] when the path would leave the root
    /// (through a link, or a dangling link that creating the file would
    /// follow), [`StorageError::NameNotAllowed`] for a NUL byte.
    pub fn resolve(&self, path: &VirtualPath) -> Result<PathBuf, StorageError> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_bytes();
        if bytes.contains(&0) {
            return Err(StorageError::NameNotAllowed);
        }
        let mut full = self.root.clone();
        for part in bytes.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            full.push(std::ffi::OsStr::from_bytes(part));
        }
        // The deepest ancestor that exists must canonicalise inside the root.
        let mut probe = full.as_path();
        loop {
            match std::fs::canonicalize(probe) {
                Ok(real) => {
                    return if real.starts_with(&self.root) { Ok(full) } else { Err(StorageError::NotFound) };
                }
                // A link whose target does not exist: opening it to write
                // would create the target, wherever it points.
                Err(_) if std::fs::symlink_metadata(probe).is_ok() => return Err(StorageError::NotFound),
                Err(_) => match probe.parent() {
                    Some(parent) if parent.starts_with(&self.root) => probe = parent,
                    _ => return Err(StorageError::NotFound),
                },
            }
        }
    }

    /// The real path of an existing file or directory: symbolic links are
    /// followed, and must end inside the root.
    fn existing(&self, path: &VirtualPath) -> Result<PathBuf, StorageError> {
        let full = self.resolve(path)?;
        let real = std::fs::canonicalize(&full).map_err(|e| storage_error(&e))?;
        if real.starts_with(&self.root) { Ok(real) } else { Err(StorageError::NotFound) }
    }

    /// An entry for one directory member (or the file itself).
    fn entry(name: &[u8], meta: &std::fs::Metadata) -> Entry {
        use std::os::unix::fs::MetadataExt;
        // `meta` is always followed metadata (see the symbolic-link policy
        // in the module docs), so there are no link entries.
        let kind = if meta.is_dir() { EntryKind::Directory } else { EntryKind::File };
        let mut entry = Entry::new(Bytes::copy_from_slice(name), kind).with_size(meta.len()).with_mode(meta.mode());
        let secs = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        if let Some(t) = secs.and_then(Timestamp::from_unix_seconds) {
            entry = entry.with_modified(ListingTime::new(t, Precision::Second));
        }
        // RFC 3659 7.5.2: the same file (through any name) has the same id.
        let unique = format!("{:x}g{:x}", meta.dev(), meta.ino());
        entry
            .with_perm(Bytes::from_static(if meta.is_dir() { b"elcdmp" } else { b"radfw" }))
            .with_unique(Bytes::from(unique))
    }

    async fn entries_of(&self, path: &VirtualPath, all: bool) -> Result<Vec<Entry>, StorageError> {
        use std::os::unix::ffi::OsStrExt;
        let real = self.existing(path)?;
        let meta = tokio::fs::metadata(&real).await.map_err(|e| storage_error(&e))?;
        if !meta.is_dir() {
            return Ok(vec![Self::entry(path.file_name(), &meta)]);
        }
        let mut dir = tokio::fs::read_dir(&real).await.map_err(|e| storage_error(&e))?;
        let mut out = Vec::new();
        while let Some(item) = dir.next_entry().await.map_err(|e| storage_error(&e))? {
            let name = item.file_name();
            let name = name.as_bytes();
            if !all && name.starts_with(b".") {
                continue;
            }
            let Ok(mut meta) = item.metadata().await else { continue };
            if meta.file_type().is_symlink() {
                // The link policy (module docs): presented as its target
                // when that lies inside the root, else left out.
                match self.link_target(&item.path()).await {
                    Some(target) => meta = target,
                    None => continue,
                }
            }
            out.push(Self::entry(name, &meta));
        }
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    /// The metadata of what a symbolic link leads to, when that exists and
    /// lies inside the root (SECURITY.md P2); `None` for a dangling link
    /// or one leading out.
    async fn link_target(&self, link: &Path) -> Option<std::fs::Metadata> {
        let real = tokio::fs::canonicalize(link).await.ok()?;
        if !real.starts_with(&self.root) {
            return None;
        }
        tokio::fs::metadata(&real).await.ok()
    }

    async fn open_read_at(&self, path: &VirtualPath, offset: u64) -> Result<FileSource, StorageError> {
        use tokio::io::AsyncSeekExt;
        let real = self.existing(path)?;
        let mut file = tokio::fs::File::open(&real).await.map_err(|e| storage_error(&e))?;
        let meta = file.metadata().await.map_err(|e| storage_error(&e))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        if offset > 0 {
            file.seek(io::SeekFrom::Start(offset)).await.map_err(|e| storage_error(&e))?;
        }
        Ok(Box::new(file))
    }

    async fn open_write_as(&self, path: &VirtualPath, mode: WriteMode) -> Result<FileSink, StorageError> {
        use tokio::io::AsyncSeekExt;
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let full = self.resolve(path)?;
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true);
        match mode {
            WriteMode::Replace => options.create(true).truncate(true),
            WriteMode::Resume(_) => options.create(true),
            WriteMode::Append => options.create(true).append(true),
            WriteMode::CreateNew => options.create_new(true),
        };
        let mut file = options.open(&full).await.map_err(|e| storage_error(&e))?;
        if let WriteMode::Resume(offset) = mode {
            file.set_len(offset).await.map_err(|e| storage_error(&e))?;
            file.seek(io::SeekFrom::Start(offset)).await.map_err(|e| storage_error(&e))?;
        }
        Ok(Box::new(file))
    }
}

impl Storage for LocalFs {
    fn change_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let real = self.existing(path)?;
            let meta = tokio::fs::metadata(&real).await.map_err(|e| storage_error(&e))?;
            if meta.is_dir() { Ok(()) } else { Err(StorageError::NotFound) }
        })
    }

    fn entries<'a>(&'a self, path: &'a VirtualPath, all: bool) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        Box::pin(self.entries_of(path, all))
    }

    fn stat<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move {
            let meta = tokio::fs::metadata(self.existing(path)?).await.map_err(|e| storage_error(&e))?;
            Ok(Self::entry(path.as_bytes(), &meta))
        })
    }

    fn size<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            let meta = tokio::fs::metadata(self.existing(path)?).await.map_err(|e| storage_error(&e))?;
            if meta.is_file() { Ok(meta.len()) } else { Err(StorageError::NotFound) }
        })
    }

    fn modified<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        Box::pin(async move {
            let meta = tokio::fs::metadata(self.existing(path)?).await.map_err(|e| storage_error(&e))?;
            let secs = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
            secs.and_then(Timestamp::from_unix_seconds).ok_or(StorageError::LocalError)
        })
    }

    fn open_read<'a>(&'a self, path: &'a VirtualPath, offset: u64) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        Box::pin(self.open_read_at(path, offset))
    }

    fn open_write<'a>(
        &'a self,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(self.open_write_as(path, mode))
    }

    fn delete<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { tokio::fs::remove_file(self.resolve(path)?).await.map_err(|e| storage_error(&e)) })
    }

    fn make_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { tokio::fs::create_dir(self.resolve(path)?).await.map_err(|e| storage_error(&e)) })
    }

    fn remove_dir<'a>(&'a self, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if path.is_root() {
                return Err(StorageError::PermissionDenied);
            }
            tokio::fs::remove_dir(self.resolve(path)?).await.map_err(|e| storage_error(&e))
        })
    }

    fn rename<'a>(&'a self, from: &'a VirtualPath, to: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if from.is_root() || to.is_root() {
                return Err(StorageError::PermissionDenied);
            }
            let (from, to) = (self.resolve(from)?, self.resolve(to)?);
            tokio::fs::rename(from, to).await.map_err(|e| storage_error(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> VirtualPath {
        VirtualPath::root().join(s.as_bytes())
    }

    /// SECURITY.md P2: no path or symbolic link leads outside the root.
    #[test]
    fn sec_p2_symlinks_cannot_escape_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("pub")).unwrap();
        std::fs::write(root.path().join("pub/ok.txt"), b"ok").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("pub/leak")).unwrap();
        std::os::unix::fs::symlink("ok.txt", root.path().join("pub/alias")).unwrap();
        let fs = LocalFs::new(root.path()).unwrap();
        assert!(fs.resolve(&v("pub/ok.txt")).is_ok());
        assert_eq!(fs.resolve(&v("escape/secret")), Err(StorageError::NotFound));
        assert_eq!(fs.existing(&v("pub/leak")), Err(StorageError::NotFound));
        assert_eq!(fs.resolve(&v("escape/new-file")), Err(StorageError::NotFound), "no writing through a link");
        assert!(fs.existing(&v("pub/alias")).is_ok(), "links inside the root are fine");
        assert!(fs.resolve(&v("pub/not-yet")).is_ok(), "a new file inside the root");
    }

    /// SECURITY.md P2: a dangling link pointing outside is not followed to
    /// create its target (opening it for writing would create the file
    /// outside the root).
    #[tokio::test]
    async fn sec_p2_dangling_link_is_not_followed_on_write() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("planted"), root.path().join("trap")).unwrap();
        let fs = LocalFs::new(root.path()).unwrap();
        assert_eq!(fs.open_write(&v("trap"), WriteMode::Replace).await.err(), Some(StorageError::NotFound));
        assert_eq!(fs.open_write(&v("trap"), WriteMode::Append).await.err(), Some(StorageError::NotFound));
        assert!(!outside.path().join("planted").exists(), "nothing was created outside the root");
    }
}
