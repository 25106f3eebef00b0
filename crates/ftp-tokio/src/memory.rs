//! An in-memory [`Storage`]: a tree of directories and files kept in RAM.
//!
//! For tests and examples: a server can be started without touching the
//! disk, and a test can fill the tree before and read it after. It answers
//! like [`LocalFs`](crate::storage::LocalFs) does (the same
//! [`StorageError`]s for the same situations, the same listing lines through
//! [`format_listing`](crate::storage::format_listing)), so a test against
//! one says something about the other. There are no links, so nothing can
//! lead outside the tree: the session's clean virtual paths (no `.`/`..`)
//! are the whole namespace (SECURITY.md P1).
//!
//! A file being uploaded is visible while it is written, as on a disk: an
//! interrupted upload leaves what arrived (SECURITY.md X3's "keep" policy,
//! the default of vsftpd and ProFTPD).

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use ftp_proto::Timestamp;
use ftp_proto::listing::{Entry, EntryKind, ListingTime, Precision};
use ftp_session::server::{StorageCapabilities, StorageError, VirtualPath};
use tokio::io::AsyncWrite;

use crate::storage::{BoxFuture, FileSink, FileSource, Principal, Storage, WriteMode};

/// A file's contents, shared with the writers that have it open.
#[derive(Debug, Default)]
struct FileData {
    bytes: Vec<u8>,
    modified: u64,
    /// Permission bits set with MFF `UNIX.mode`; `None` lists as 0644.
    mode: Option<u32>,
}

#[derive(Debug)]
enum Node {
    Dir(Dir),
    File(Arc<Mutex<FileData>>),
}

#[derive(Debug, Default)]
struct Dir {
    children: BTreeMap<Vec<u8>, Node>,
    modified: u64,
    /// Permission bits set with MFF `UNIX.mode`; `None` lists as 0755.
    mode: Option<u32>,
}

/// A thread-safe in-memory file tree (see the module docs). Clones share
/// the same tree.
#[derive(Debug, Clone, Default)]
pub struct MemoryFs {
    tree: Arc<Mutex<Dir>>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Locks, ignoring poisoning: every mutation leaves the tree consistent
/// before anything that could panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The path's elements; NUL is refused as [`LocalFs`](crate::storage::LocalFs)
/// refuses it.
fn parts(path: &VirtualPath) -> Result<Vec<&[u8]>, StorageError> {
    let bytes = path.as_bytes();
    if bytes.contains(&0) {
        return Err(StorageError::NameNotAllowed);
    }
    Ok(bytes.split(|&b| b == b'/').filter(|p| !p.is_empty()).collect())
}

fn listing_time(secs: u64) -> Option<ListingTime> {
    Timestamp::from_unix_seconds(secs).map(|t| ListingTime::utc(t, Precision::Second))
}

impl Dir {
    fn node(&self, parts: &[&[u8]]) -> Result<&Node, StorageError> {
        let (last, dirs) = parts.split_last().ok_or(StorageError::NotFound)?;
        self.dir(dirs)?.children.get(*last).ok_or(StorageError::NotFound)
    }

    fn dir(&self, parts: &[&[u8]]) -> Result<&Dir, StorageError> {
        let mut dir = self;
        for p in parts {
            match dir.children.get(*p) {
                Some(Node::Dir(d)) => dir = d,
                _ => return Err(StorageError::NotFound),
            }
        }
        Ok(dir)
    }

    fn dir_mut(&mut self, parts: &[&[u8]]) -> Result<&mut Dir, StorageError> {
        let mut dir = self;
        for p in parts {
            match dir.children.get_mut(*p) {
                Some(Node::Dir(d)) => dir = d,
                _ => return Err(StorageError::NotFound),
            }
        }
        Ok(dir)
    }

    fn entry(name: &[u8], node: &Node) -> Entry {
        match node {
            Node::Dir(d) => Self::dir_entry(name, d),
            Node::File(f) => {
                let f = lock(f);
                let mut e = Entry::new(Bytes::copy_from_slice(name), EntryKind::File)
                    .with_size(f.bytes.len() as u64)
                    .with_mode(f.mode.unwrap_or(0o644));
                if let Some(t) = listing_time(f.modified) {
                    e = e.with_modified(t);
                }
                e.with_perm(Bytes::from_static(b"radfw"))
            }
        }
    }

    fn dir_entry(name: &[u8], d: &Dir) -> Entry {
        let mut e = Entry::new(Bytes::copy_from_slice(name), EntryKind::Directory)
            .with_size(0)
            .with_mode(d.mode.unwrap_or(0o755));
        if let Some(t) = listing_time(d.modified) {
            e = e.with_modified(t);
        }
        e.with_perm(Bytes::from_static(b"elcdmp"))
    }
}

impl MemoryFs {
    /// Changes the file or directory `path` names (the root included).
    fn update(
        &self,
        path: &VirtualPath,
        file: impl FnOnce(&mut FileData),
        dir: impl FnOnce(&mut Dir),
    ) -> Result<(), StorageError> {
        let parts = parts(path)?;
        let mut tree = self.tree();
        let Some((name, dirs)) = parts.split_last() else {
            dir(&mut tree);
            return Ok(());
        };
        match tree.dir_mut(dirs)?.children.get_mut(*name) {
            Some(Node::File(f)) => file(&mut lock(f)),
            Some(Node::Dir(d)) => dir(d),
            None => return Err(StorageError::NotFound),
        }
        Ok(())
    }

    /// An empty tree (just the root directory).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn tree(&self) -> MutexGuard<'_, Dir> {
        lock(&self.tree)
    }

    /// Creates `path` and any missing parents, for setting up a test.
    ///
    /// # Errors
    /// An element of the path is a file ([`StorageError::NotFound`]), or
    /// the path holds a NUL.
    pub fn create_dir_all(&self, path: &str) -> Result<(), StorageError> {
        let path = VirtualPath::root().join(path.as_bytes());
        let parts = parts(&path)?;
        let mut tree = self.tree();
        let mut dir = &mut *tree;
        for p in parts {
            let node = dir
                .children
                .entry(p.to_vec())
                .or_insert_with(|| Node::Dir(Dir { children: BTreeMap::new(), modified: now_secs(), mode: None }));
            match node {
                Node::Dir(d) => dir = d,
                Node::File(_) => return Err(StorageError::NotFound),
            }
        }
        Ok(())
    }

    /// Writes a file (replacing it), creating missing parent directories,
    /// for setting up a test.
    ///
    /// # Errors
    /// As [`create_dir_all`](Self::create_dir_all); or `path` is a directory
    /// ([`StorageError::PermissionDenied`]).
    pub fn write_file(&self, path: &str, contents: &[u8]) -> Result<(), StorageError> {
        let vpath = VirtualPath::root().join(path.as_bytes());
        if vpath.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let parent = vpath.parent();
        self.create_dir_all(parent.to_str().ok_or(StorageError::NameNotAllowed)?)?;
        let data = FileData { bytes: contents.to_vec(), modified: now_secs(), mode: None };
        let parts = parts(&vpath)?;
        let (name, dirs) = parts.split_last().ok_or(StorageError::PermissionDenied)?;
        let mut tree = self.tree();
        let dir = tree.dir_mut(dirs)?;
        if let Some(Node::Dir(_)) = dir.children.get(*name) {
            return Err(StorageError::PermissionDenied);
        }
        dir.children.insert(name.to_vec(), Node::File(Arc::new(Mutex::new(data))));
        Ok(())
    }

    /// A file's contents, if `path` is a file: for checking a test's
    /// uploads.
    #[must_use]
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        let vpath = VirtualPath::root().join(path.as_bytes());
        let parts = parts(&vpath).ok()?;
        match self.tree().node(&parts) {
            Ok(Node::File(f)) => Some(lock(f).bytes.clone()),
            _ => None,
        }
    }

    fn file(&self, path: &VirtualPath) -> Result<Arc<Mutex<FileData>>, StorageError> {
        let parts = parts(path)?;
        match self.tree().node(&parts)? {
            Node::File(f) => Ok(f.clone()),
            Node::Dir(_) => Err(StorageError::NotFound),
        }
    }

    fn open_sink(
        &self,
        path: &VirtualPath,
        mode: WriteMode,
        create_mode: Option<u32>,
    ) -> Result<FileSink, StorageError> {
        let parts = parts(path)?;
        let Some((name, dirs)) = parts.split_last() else { return Err(StorageError::PermissionDenied) };
        let mut tree = self.tree();
        let dir = tree.dir_mut(dirs)?;
        let now = now_secs();
        let file = match dir.children.get(*name) {
            Some(Node::Dir(_)) => return Err(StorageError::PermissionDenied),
            Some(Node::File(_)) if mode == WriteMode::CreateNew => return Err(StorageError::AlreadyExists),
            Some(Node::File(f)) => f.clone(),
            None => {
                let f = Arc::new(Mutex::new(FileData { bytes: Vec::new(), modified: now, mode: create_mode }));
                dir.children.insert(name.to_vec(), Node::File(f.clone()));
                dir.modified = now;
                f
            }
        };
        drop(tree);
        let mut data = lock(&file);
        let pos = match mode {
            WriteMode::Replace | WriteMode::CreateNew => {
                data.bytes.clear();
                0
            }
            WriteMode::Resume(offset) => {
                let offset = usize::try_from(offset).map_err(|_| StorageError::InsufficientStorage)?;
                data.bytes.resize(offset, 0);
                offset
            }
            WriteMode::Append => data.bytes.len(),
        };
        data.modified = now;
        drop(data);
        Ok(FileSink::from_writer(MemorySink { file, pos, append: mode == WriteMode::Append }))
    }

    /// MKD: a new directory whose parent exists, with `mode` if given.
    fn new_dir(&self, path: &VirtualPath, mode: Option<u32>) -> Result<(), StorageError> {
        let parts = parts(path)?;
        let Some((name, dirs)) = parts.split_last() else { return Err(StorageError::AlreadyExists) };
        let mut tree = self.tree();
        let dir = tree.dir_mut(dirs)?;
        if dir.children.contains_key(*name) {
            return Err(StorageError::AlreadyExists);
        }
        let now = now_secs();
        dir.children.insert(name.to_vec(), Node::Dir(Dir { children: BTreeMap::new(), modified: now, mode }));
        dir.modified = now;
        Ok(())
    }

    fn remove(&self, path: &VirtualPath, want_dir: bool) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let parts = parts(path)?;
        let Some((name, dirs)) = parts.split_last() else { return Err(StorageError::PermissionDenied) };
        let mut tree = self.tree();
        let dir = tree.dir_mut(dirs)?;
        match (dir.children.get(*name), want_dir) {
            (None, _) => return Err(StorageError::NotFound),
            // rmdir(2) of a file: ENOTDIR; unlink(2) of a directory: EISDIR.
            (Some(Node::File(_)), true) => return Err(StorageError::NotFound),
            (Some(Node::Dir(_)), false) => return Err(StorageError::PermissionDenied),
            (Some(Node::Dir(d)), true) if !d.children.is_empty() => return Err(StorageError::DirectoryNotEmpty),
            _ => {}
        }
        dir.children.remove(*name);
        dir.modified = now_secs();
        Ok(())
    }

    /// rename(2) within the tree: a file replaces a file, a directory an
    /// empty directory; a directory cannot move into itself.
    fn move_node(&self, from: &VirtualPath, to: &VirtualPath) -> Result<(), StorageError> {
        if from.is_root() || to.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let (from_parts, to_parts) = (parts(from)?, parts(to)?);
        if from_parts == to_parts {
            return self.tree().node(&from_parts).map(|_| ());
        }
        let mut tree = self.tree();
        let source_is_dir = matches!(tree.node(&from_parts)?, Node::Dir(_));
        let (to_name, to_dirs) = to_parts.split_last().ok_or(StorageError::PermissionDenied)?;
        if source_is_dir && to_parts.starts_with(&from_parts) {
            return Err(StorageError::NameNotAllowed); // EINVAL
        }
        match (tree.dir(to_dirs)?.children.get(*to_name), source_is_dir) {
            (Some(Node::Dir(_)), false) => return Err(StorageError::PermissionDenied), // EISDIR
            (Some(Node::File(_)), true) => return Err(StorageError::NotFound),         // ENOTDIR
            (Some(Node::Dir(d)), true) if !d.children.is_empty() => return Err(StorageError::DirectoryNotEmpty),
            _ => {}
        }
        let (from_name, from_dirs) = from_parts.split_last().ok_or(StorageError::PermissionDenied)?;
        let now = now_secs();
        let from_dir = tree.dir_mut(from_dirs)?;
        let node = from_dir.children.remove(*from_name).ok_or(StorageError::NotFound)?;
        from_dir.modified = now;
        let to_dir = tree.dir_mut(to_dirs).expect("checked above, and not inside the moved node");
        to_dir.children.insert(to_name.to_vec(), node);
        to_dir.modified = now;
        Ok(())
    }
}

/// Writes into a shared file, like a file descriptor: at its position, or
/// at the end in append mode.
struct MemorySink {
    file: Arc<Mutex<FileData>>,
    pos: usize,
    append: bool,
}

impl AsyncWrite for MemorySink {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut data = lock(&this.file);
        if this.append {
            this.pos = data.bytes.len();
        }
        let end = this.pos + buf.len();
        if data.bytes.len() < end {
            data.bytes.resize(end, 0);
        }
        data.bytes[this.pos..end].copy_from_slice(buf);
        data.modified = now_secs();
        this.pos = end;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Storage for MemoryFs {
    fn change_dir<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let parts = parts(path)?;
            self.tree().dir(&parts).map(|_| ())
        })
    }

    fn entries<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        Box::pin(async move {
            let parts = parts(path)?;
            let tree = self.tree();
            let dir = if parts.is_empty() {
                &*tree
            } else {
                match tree.node(&parts)? {
                    Node::Dir(d) => d,
                    file @ Node::File(_) => return Ok(vec![Dir::entry(path.file_name(), file)]),
                }
            };
            // BTreeMap order is byte order: sorted by name, as LocalFs sorts.
            Ok(dir
                .children
                .iter()
                .filter(|(name, _)| all || !name.starts_with(b"."))
                .map(|(name, node)| Dir::entry(name, node))
                .collect())
        })
    }

    fn stat<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move {
            let parts = parts(path)?;
            let tree = self.tree();
            if parts.is_empty() {
                return Ok(Dir::dir_entry(path.as_bytes(), &tree));
            }
            Ok(Dir::entry(path.as_bytes(), tree.node(&parts)?))
        })
    }

    fn size<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            let file = self.file(path)?;
            let len = lock(&file).bytes.len();
            Ok(len as u64)
        })
    }

    fn modified<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        Box::pin(async move {
            let parts = parts(path)?;
            let tree = self.tree();
            let secs = match tree.node(&parts) {
                Ok(Node::File(f)) => lock(f).modified,
                Ok(Node::Dir(d)) => d.modified,
                Err(_) if parts.is_empty() => tree.modified,
                Err(e) => return Err(e),
            };
            Timestamp::from_unix_seconds(secs).ok_or(StorageError::LocalError)
        })
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::SET_MODIFIED.with(StorageCapabilities::SET_MODE).with(StorageCapabilities::CREATE_MODE)
    }

    fn set_modified<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        time: Timestamp,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            // Times are whole seconds since 1970 here, as listings show them.
            let secs = u64::try_from(time.unix_seconds()).map_err(|_| StorageError::LocalError)?;
            self.update(path, |f| f.modified = secs, |d| d.modified = secs)
        })
    }

    fn set_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.update(path, |f| f.mode = Some(mode), |d| d.mode = Some(mode)) })
    }

    fn open_read<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        Box::pin(async move {
            let file = self.file(path)?;
            let data = lock(&file);
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.bytes.len());
            // A snapshot: later writes to the file do not change this download.
            let bytes = Bytes::copy_from_slice(&data.bytes[start..]);
            Ok(FileSource::from_bytes(bytes))
        })
    }

    fn open_write<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(async move { self.open_sink(path, mode, None) })
    }

    fn open_write_with_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
        create_mode: u32,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(async move { self.open_sink(path, mode, Some(create_mode)) })
    }

    fn delete<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.remove(path, false) })
    }

    fn make_dir<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.new_dir(path, None) })
    }

    fn make_dir_with_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.new_dir(path, Some(mode)) })
    }

    fn remove_dir<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.remove(path, true) })
    }

    fn rename<'a>(
        &'a self,
        _user: &'a Principal,
        from: &'a VirtualPath,
        to: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.move_node(from, to) })
    }
}
