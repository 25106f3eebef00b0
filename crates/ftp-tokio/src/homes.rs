//! Each user in a root of their own, and quotas: [`Homes`], the storage the
//! server puts in front of its [`LocalFs`].
//!
//! A user whose [`Principal::home`] is set is served from that directory
//! by a [`LocalFs`] of its own, confined to it as the server's root is
//! (SECURITY.md P1, P2): one user's paths never reach another's files.
//! Everyone else is served from the server's storage. The [`LocalFs`] of a
//! home is opened at the user's first request and kept; a home that cannot
//! be opened (removed, not a directory) is "not found" (550) to that user's
//! requests, and tried again on the next one, so it does not take the
//! server down.
//!
//! A user with [`Limits::quota_bytes`] or [`Limits::quota_files`] has their
//! tree measured before each upload (no running count to drift when files
//! change outside the server): a new file past the file quota, or any
//! upload once the bytes are used up, is refused with 552 before the data
//! connection is used; an upload that would pass the byte quota is cut at
//! it with 552 (the part written stays or goes as
//! [`ServerOptions::remove_failed_uploads`](crate::server::ServerOptions::remove_failed_uploads)
//! says). Measuring walks the tree: meant for homes of thousands of files,
//! not millions ([`MAX_MEASURED`]).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ftp_proto::Timestamp;
use ftp_proto::listing::Entry;
use ftp_session::server::{StorageCapabilities, StorageError, VirtualPath};
use tokio::io::AsyncWrite;

use crate::BoxFuture;
use crate::auth::{Limits, Principal};
use crate::storage::{FileSink, FileSource, Listing, LocalFs, Storage, WriteMode};

/// Most homes kept open at once; past it the cache starts again.
const MAX_OPEN_HOMES: usize = 4096;

/// Most entries a quota measurement counts; a larger tree counts as full.
pub const MAX_MEASURED: u64 = 1_000_000;

/// The storage in front of a server's own: users with a home get a
/// [`LocalFs`] on it, others the server's storage; quotas are applied to
/// both.
pub struct Homes {
    default: Arc<dyn Storage>,
    /// The directory behind `default`, for measuring quotas of users
    /// without a home (`None`: not a local directory, no quota measured).
    default_root: Option<PathBuf>,
    open: Mutex<HashMap<PathBuf, Arc<LocalFs>>>,
}

impl std::fmt::Debug for Homes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Homes").field("default_root", &self.default_root).finish_non_exhaustive()
    }
}

impl Homes {
    /// Homes in front of `default`, which serves the directory
    /// `default_root` when it is a local one.
    #[must_use]
    pub fn new(default: Arc<dyn Storage>, default_root: Option<PathBuf>) -> Self {
        Self { default, default_root, open: Mutex::new(HashMap::new()) }
    }

    /// The storage serving `user`, and the directory it serves.
    fn of(&self, user: &Principal) -> Result<(Arc<dyn Storage>, Option<PathBuf>), StorageError> {
        let Some(home) = &user.home else { return Ok((self.default.clone(), self.default_root.clone())) };
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(fs) = open.get(home) {
            // A home removed since it was opened serves nothing (the old
            // descriptor would still serve the unlinked tree).
            if fs.root().is_dir() {
                return Ok((fs.clone(), Some(fs.root().to_path_buf())));
            }
            open.remove(home);
        }
        let fs = Arc::new(LocalFs::new(home).map_err(|_| StorageError::NotFound)?);
        if open.len() >= MAX_OPEN_HOMES {
            open.clear();
        }
        open.insert(home.clone(), fs.clone());
        let root = fs.root().to_path_buf();
        Ok((fs, Some(root)))
    }
}

/// What a tree holds.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    bytes: u64,
    files: u64,
}

/// Measures the tree under `root` (symbolic links not followed).
fn measure(root: &Path) -> Usage {
    let mut usage = Usage::default();
    let mut dirs = vec![root.to_path_buf()];
    let mut seen = 0u64;
    while let Some(dir) = dirs.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        for entry in read.flatten() {
            seen += 1;
            if seen > MAX_MEASURED {
                return Usage { bytes: u64::MAX, files: u64::MAX };
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.is_file() {
                usage.files += 1;
                usage.bytes = usage.bytes.saturating_add(meta.len());
            }
        }
    }
    usage
}

fn has_quota(limits: &Limits) -> bool {
    limits.quota_bytes.is_some() || limits.quota_files.is_some()
}

/// A sink that takes at most `left` more bytes, then fails with `EDQUOT`
/// (552 to the client).
struct Quota {
    inner: FileSink,
    left: u64,
}

impl AsyncWrite for Quota {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.left == 0 && !buf.is_empty() {
            // What was taken is on the storage before the upload is cut, so
            // the part kept is every byte up to the quota.
            std::task::ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
            return Poll::Ready(Err(io::Error::from_raw_os_error(libc::EDQUOT)));
        }
        let take = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..take]))?;
        self.left -= n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Homes {
    /// Opens a file for writing within `user`'s quota.
    async fn write_within_quota(
        &self,
        user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
        create_mode: Option<u32>,
    ) -> Result<FileSink, StorageError> {
        let (fs, root) = self.of(user)?;
        let open = |fs: Arc<dyn Storage>| async move {
            match create_mode {
                Some(m) => fs.open_write_with_mode(user, path, mode, m).await,
                None => fs.open_write(user, path, mode).await,
            }
        };
        let (limits, Some(root)) = (user.limits, root) else { return open(fs).await };
        if !has_quota(&limits) {
            return open(fs).await;
        }
        let usage = tokio::task::spawn_blocking(move || measure(&root)).await.map_err(|_| StorageError::LocalError)?;
        let existing = fs.size(user, path).await.ok();
        if existing.is_none() && limits.quota_files.is_some_and(|max| usage.files >= max) {
            return Err(StorageError::QuotaExceeded);
        }
        let Some(max_bytes) = limits.quota_bytes else { return open(fs).await };
        // Replacing a file frees what it held.
        let freed = if mode == WriteMode::Replace { existing.unwrap_or(0) } else { 0 };
        let used = usage.bytes.saturating_sub(freed);
        if used >= max_bytes {
            return Err(StorageError::QuotaExceeded);
        }
        let sink = open(fs).await?;
        Ok(FileSink::from_writer(Quota { inner: sink, left: max_bytes - used }))
    }
}

impl Storage for Homes {
    fn change_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.change_dir(user, path).await })
    }

    fn entries<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        Box::pin(async move { self.of(user)?.0.entries(user, path, all).await })
    }

    fn listing<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Listing, StorageError>> {
        Box::pin(async move { self.of(user)?.0.listing(user, path, all).await })
    }

    fn stat<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move { self.of(user)?.0.stat(user, path).await })
    }

    fn size<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move { self.of(user)?.0.size(user, path).await })
    }

    fn modified<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        Box::pin(async move { self.of(user)?.0.modified(user, path).await })
    }

    fn capabilities(&self) -> StorageCapabilities {
        // Homes are LocalFs, which has every capability the default has
        // when the default is a LocalFs too (the only case the server
        // builds).
        self.default.capabilities()
    }

    fn set_modified<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        time: Timestamp,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.set_modified(user, path, time).await })
    }

    fn set_mode<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.set_mode(user, path, mode).await })
    }

    fn free_space<'a>(&'a self, user: &'a Principal, dir: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move { self.of(user)?.0.free_space(user, dir).await })
    }

    fn open_read<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        Box::pin(async move { self.of(user)?.0.open_read(user, path, offset).await })
    }

    fn open_write<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(self.write_within_quota(user, path, mode, None))
    }

    fn open_write_with_mode<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
        create_mode: u32,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(self.write_within_quota(user, path, mode, Some(create_mode)))
    }

    fn delete<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.delete(user, path).await })
    }

    fn make_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.make_dir(user, path).await })
    }

    fn make_dir_with_mode<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.make_dir_with_mode(user, path, mode).await })
    }

    fn remove_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.remove_dir(user, path).await })
    }

    fn rename<'a>(
        &'a self,
        user: &'a Principal,
        from: &'a VirtualPath,
        to: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { self.of(user)?.0.rename(user, from, to).await })
    }
}
