//! A local directory served over FTP, confined to its root.
//!
//! The session hands the storage clean absolute virtual paths (no `.`/`..`).
//! The storage maps them under its root, and then makes sure that symbolic
//! links cannot lead out of it: the deepest existing ancestor of every path is
//! canonicalised and must still lie inside the canonical root (SECURITY.md
//! P2). A path that leaves the root is "not found", so nothing about the
//! outside is revealed.

use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use ftp_proto::Timestamp;
use ftp_proto::listing::{self, Entry, EntryKind, ListingTime, Precision};
use ftp_session::server::{ListFormat, StorageError, VirtualPath};

/// A directory served over FTP.
#[derive(Debug, Clone)]
pub struct LocalFs {
    root: PathBuf,
}

fn storage_error(e: &io::Error) -> StorageError {
    match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound,
        io::ErrorKind::PermissionDenied => StorageError::PermissionDenied,
        io::ErrorKind::AlreadyExists => StorageError::PermissionDenied,
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
    /// [`StorageError::NotFound`] when the path would leave the root,
    /// [`StorageError::NameNotAllowed`] for a NUL byte.
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

    /// CWD: the path must be a directory.
    ///
    /// # Errors
    /// Not found, or not a directory.
    pub async fn change_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        let real = self.existing(path)?;
        let meta = tokio::fs::metadata(&real).await.map_err(|e| storage_error(&e))?;
        if meta.is_dir() { Ok(()) } else { Err(StorageError::NotFound) }
    }

    /// An entry for one directory member (or the file itself).
    fn entry(name: &[u8], meta: &std::fs::Metadata) -> Entry {
        use std::os::unix::fs::MetadataExt;
        let kind = if meta.is_dir() {
            EntryKind::Directory
        } else if meta.file_type().is_symlink() {
            EntryKind::Symlink { target: None }
        } else {
            EntryKind::File
        };
        let mut entry = Entry::new(Bytes::copy_from_slice(name), kind).with_size(meta.len()).with_mode(meta.mode());
        let secs = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        if let Some(t) = secs.and_then(Timestamp::from_unix_seconds) {
            entry = entry.with_modified(ListingTime::new(t, Precision::Second));
        }
        entry.with_perm(Bytes::from_static(if meta.is_dir() { b"elcdmp" } else { b"radfw" }))
    }

    /// The entries of a directory (or the entry of a file), sorted by name;
    /// names starting with `.` only when `all`.
    ///
    /// # Errors
    /// Not found or unreadable.
    pub async fn entries(&self, path: &VirtualPath, all: bool) -> Result<Vec<Entry>, StorageError> {
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
            if let Ok(meta) = item.metadata().await {
                out.push(Self::entry(name, &meta));
            }
        }
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    /// A listing in the wire format the command asks for, CRLF line ends.
    ///
    /// # Errors
    /// Not found or unreadable.
    pub async fn listing(&self, path: &VirtualPath, format: ListFormat, all: bool) -> Result<Bytes, StorageError> {
        let entries = self.entries(path, all).await?;
        let now = Timestamp::from_unix_seconds(
            std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        )
        .unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"));
        let mut out = BytesMut::new();
        for e in &entries {
            let before = out.len();
            match format {
                ListFormat::Nlst => out.extend_from_slice(e.name()),
                ListFormat::Mlsd => listing::format_mlsx(e, &["type", "size", "modify", "perm"], &mut out),
                _ => listing::format_unix(e, now, &mut out),
            }
            if out.len() > before {
                out.extend_from_slice(b"\r\n");
            }
        }
        Ok(out.freeze())
    }

    /// Size in bytes of a file (RFC 3659 4).
    ///
    /// # Errors
    /// Not found, or a directory.
    pub async fn size(&self, path: &VirtualPath) -> Result<u64, StorageError> {
        let meta = tokio::fs::metadata(self.existing(path)?).await.map_err(|e| storage_error(&e))?;
        if meta.is_file() { Ok(meta.len()) } else { Err(StorageError::NotFound) }
    }

    /// Modification time of a file (RFC 3659 3), UTC.
    ///
    /// # Errors
    /// Not found.
    pub async fn modified(&self, path: &VirtualPath) -> Result<Timestamp, StorageError> {
        let meta = tokio::fs::metadata(self.existing(path)?).await.map_err(|e| storage_error(&e))?;
        let secs = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        secs.and_then(Timestamp::from_unix_seconds).ok_or(StorageError::LocalError)
    }

    /// Opens a file for reading from `offset`.
    ///
    /// # Errors
    /// Not found, a directory, or unreadable.
    pub async fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<tokio::fs::File, StorageError> {
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
        Ok(file)
    }

    /// Opens a file for writing: replace (from `offset` when resuming) or append.
    ///
    /// # Errors
    /// The parent does not exist, or the file cannot be written.
    pub async fn open_write(
        &self,
        path: &VirtualPath,
        append: bool,
        offset: u64,
    ) -> Result<tokio::fs::File, StorageError> {
        use tokio::io::AsyncSeekExt;
        let full = self.resolve(path)?;
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true);
        if append {
            options.append(true);
        } else if offset == 0 {
            options.truncate(true);
        }
        let mut file = options.open(&full).await.map_err(|e| storage_error(&e))?;
        if !append && offset > 0 {
            file.set_len(offset).await.map_err(|e| storage_error(&e))?;
            file.seek(io::SeekFrom::Start(offset)).await.map_err(|e| storage_error(&e))?;
        }
        Ok(file)
    }

    /// Deletes a file.
    ///
    /// # Errors
    /// Not found or not permitted.
    pub async fn delete(&self, path: &VirtualPath) -> Result<(), StorageError> {
        tokio::fs::remove_file(self.resolve(path)?).await.map_err(|e| storage_error(&e))
    }

    /// Creates a directory.
    ///
    /// # Errors
    /// Exists already, or the parent does not.
    pub async fn make_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        tokio::fs::create_dir(self.resolve(path)?).await.map_err(|e| storage_error(&e))
    }

    /// Removes an empty directory (never the root).
    ///
    /// # Errors
    /// Not found, not empty, or the root.
    pub async fn remove_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        tokio::fs::remove_dir(self.resolve(path)?).await.map_err(|e| storage_error(&e))
    }

    /// Renames within the root.
    ///
    /// # Errors
    /// Not found or not permitted.
    pub async fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> Result<(), StorageError> {
        let (from, to) = (self.resolve(from)?, self.resolve(to)?);
        tokio::fs::rename(from, to).await.map_err(|e| storage_error(&e))
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
}
