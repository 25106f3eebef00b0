//! A [`Storage`] on an object store (S3 and S3-compatible stores, a local
//! directory; GCS and Azure where `object_store` is built with them),
//! through the `object_store` crate (issue 19).
//!
//! [`ObjectStorage::from_url`] picks the store from a URL:
//! `s3://bucket/prefix` (credentials, region and endpoint from the standard
//! `AWS_*` environment variables, or [`ObjectOptions::s3_endpoint`] for an
//! S3-compatible store such as SeaweedFS or MinIO), `file:///dir`.
//! `gs://` and `az://` are refused with an error naming the missing
//! support: this build of `object_store` has only its `aws` feature.
//!
//! # Semantics
//!
//! A virtual path `/a/b.txt` is the key `prefix/a/b.txt`.
//!
//! - **Directories** are common prefixes (`/` is the delimiter): `a` is a
//!   directory when some key starts with `prefix/a/`. `MKD` creates a
//!   zero-byte marker object `a/.ftpkit-dir` (`object_store` paths cannot
//!   end in `/`, so the usual `a/` marker cannot be written through it);
//!   the marker never appears in listings, and a path element with its name
//!   is refused (553). `a/` markers made by other tools are understood
//!   (the directory exists and lists empty). `RMD` removes the marker only
//!   when nothing else is under the prefix, else 550 "Directory not
//!   empty"; a directory held only by a foreign `a/` marker cannot be
//!   removed through `object_store` (550, logged). `CWD` succeeds for the
//!   root and any non-empty prefix.
//! - **Listings** (`LIST`, `NLST`, `MLSD`, `MLST`, `STAT`): sizes and
//!   modification times from the object metadata; directories have no
//!   time. A listing is gathered whole (`list_with_delimiter` collects
//!   every page) before it is sent.
//! - **`RETR`** is a GET streamed into the data connection; after `REST n`
//!   a ranged GET from byte `n`. Never the whole object in memory.
//! - **`STOR`** is a multipart upload in parts of [`DEFAULT_PART_SIZE`]
//!   with at most [`PARTS_IN_FLIGHT`] parts uploading while the next one
//!   fills: the memory of one upload is bounded by three parts, whatever
//!   the file's size. A file smaller than one part is one `PUT` at the end.
//!   The upload is completed when the server flushes the sink at the end of
//!   a successful transfer (before the 226); an upload that fails or is
//!   aborted (`ABOR`, a lost data connection, a store error) is dropped
//!   unflushed, and the multipart upload is aborted, so no object, partial
//!   or whole, appears. `STOU` checks that the name is free first (not
//!   atomically). `REST n` (n > 0) then `STOR`, and `APPE`, answer 502: an
//!   object cannot be written from the middle, and copying it to append is
//!   not done.
//! - **`DELE`** deletes the object; **`RNFR`/`RNTO`** is the store's rename
//!   (copy then delete on S3, a real rename on a local directory), of files
//!   only: renaming a directory (a whole prefix) answers 502.
//! - **`SIZE`**, **`MDTM`**: from a HEAD. **`MFMT`** is neither advertised
//!   nor served (an object's time cannot be set), nor `MFF`, `SITE UMASK`
//!   modes or `ALLO` ([`StorageCapabilities::NONE`]).
//!
//! # Errors
//!
//! Store errors become [`StorageError`]s, so reply codes: not found 550,
//! already exists 550, a failed precondition 450; a throttled or
//! unavailable store (HTTP 429, 503) 450 "try again later"; failed
//! authentication or authorization of the server's own credentials
//! 451, logged at `error` level (it is the operator's problem, not the
//! user's); everything else (network, timeouts, other 5xx) 451, logged at
//! `warn` level with the key and the error. During a transfer the error
//! is logged and the transfer fails (451 or 426). Nothing here panics on
//! what a store returns.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use ftp_proto::Timestamp;
use ftp_proto::listing::{Entry, EntryKind, ListingTime, Precision};
use ftp_session::server::{StorageCapabilities, StorageError, VirtualPath};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::{Path, PathPart};
use object_store::{GetOptions, GetRange, MultipartUpload, ObjectMeta, ObjectStore, PutPayload};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::{JoinHandle, JoinSet};

use crate::storage::{BoxFuture, FileSink, FileSource, Principal, Storage, WriteMode};

/// The size of each part of a multipart upload: 8 MiB (S3's minimum part
/// is 5 MiB, except the last).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// The parts of one upload sent at once while the next part fills: the
/// memory of an upload is at most `PARTS_IN_FLIGHT + 1` parts.
pub const PARTS_IN_FLIGHT: usize = 2;

/// The name of the zero-byte object `MKD` creates in a new directory.
pub const DIR_MARKER: &str = ".ftpkit-dir";

/// How [`ObjectStorage::from_url`] reaches the store, beyond the URL and
/// the environment.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ObjectOptions {
    /// An S3-compatible endpoint (`http://127.0.0.1:8333`) instead of
    /// AWS's (`--s3-endpoint`); also `AWS_ENDPOINT` in the environment.
    pub s3_endpoint: Option<String>,
    /// Allow plain HTTP to the endpoint (`--s3-allow-http`), for a local
    /// test store.
    pub s3_allow_http: bool,
    /// Give up a failing request after this long, retries included
    /// (`object_store`'s default, 3 minutes, when `None`).
    pub retry_timeout: Option<std::time::Duration>,
}

/// A [`Storage`] on an object store (see the module docs). Clones share
/// the store.
#[derive(Debug, Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    /// The key prefix every virtual path is under (`None`: the bucket root).
    prefix: Option<Path>,
    part_size: usize,
}

impl ObjectStorage {
    /// Serves `store` beneath the key `prefix` (`""`: the whole store).
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        let prefix = Path::from(prefix);
        let prefix = if prefix.as_ref().is_empty() { None } else { Some(prefix) };
        Self { store, prefix, part_size: DEFAULT_PART_SIZE }
    }

    /// The same storage uploading in parts of `bytes` (at least 5 MiB for
    /// S3, except in tests of stores without that minimum).
    #[must_use]
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// The store a URL names: `s3://bucket[/prefix]` (credentials, region
    /// and endpoint from the `AWS_*` environment variables, the endpoint
    /// and plain HTTP from `options`), `file:///dir[/...]` (the directory
    /// must exist). `gs://` and `az://` need `object_store`'s `gcp` and
    /// `azure` features, which this build does not have: an error says so.
    ///
    /// # Errors
    /// An unknown scheme, a missing bucket, a store the builder refuses
    /// (bad credentials configuration), a missing local directory.
    pub fn from_url(url: &str, options: ObjectOptions) -> io::Result<Self> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid(format!("{url}: not a storage URL")))?;
        match scheme {
            "s3" | "s3a" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid(format!("{url}: no bucket")));
                }
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(endpoint) = &options.s3_endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if options.s3_allow_http {
                    builder = builder.with_allow_http(true);
                }
                if let Some(timeout) = options.retry_timeout {
                    builder = builder.with_retry(retry_config(timeout));
                }
                let store = builder.build().map_err(|e| invalid(format!("{url}: {e}")))?;
                Ok(Self::new(Arc::new(store), prefix))
            }
            "file" => {
                if !rest.starts_with('/') {
                    return Err(invalid(format!("{url}: a file URL needs an absolute path (file:///dir)")));
                }
                let store = object_store::local::LocalFileSystem::new_with_prefix(rest)
                    .map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("{url}: {e}")))?;
                Ok(Self::new(Arc::new(store), ""))
            }
            "gs" | "az" | "azure" | "abfs" | "abfss" => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{url}: this build has no {} support (object_store's `{}` feature)",
                    if scheme == "gs" { "Google Cloud Storage" } else { "Azure Blob Storage" },
                    if scheme == "gs" { "gcp" } else { "azure" },
                ),
            )),
            _ => Err(invalid(format!("{url}: unknown storage scheme {scheme}:// (s3://, file://)"))),
        }
    }

    /// The key of a virtual path (the prefix for the root). Names that are
    /// not UTF-8, or that use the marker's name, are not allowed.
    fn key(&self, path: &VirtualPath) -> Result<Option<Path>, StorageError> {
        let text = std::str::from_utf8(path.as_bytes()).map_err(|_| StorageError::NameNotAllowed)?;
        let mut key = self.prefix.clone().unwrap_or_default();
        for part in text.split('/').filter(|p| !p.is_empty()) {
            if part == DIR_MARKER || part.contains('\0') {
                return Err(StorageError::NameNotAllowed);
            }
            key = key.child(PathPart::from(part));
        }
        Ok(if key.as_ref().is_empty() { None } else { Some(key) })
    }

    /// The key of a path that is not the root.
    fn object_key(&self, path: &VirtualPath) -> Result<Path, StorageError> {
        if path.is_root() {
            return Err(StorageError::NotFound);
        }
        self.key(path)?.ok_or(StorageError::NotFound)
    }

    /// Whether anything is stored under the directory `key` (the root
    /// always exists).
    async fn dir_exists(&self, key: Option<&Path>) -> Result<bool, StorageError> {
        let Some(key) = key else { return Ok(true) };
        if self.prefix.as_ref() == Some(key) {
            return Ok(true);
        }
        let mut list = self.store.list(Some(key));
        match list.next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(store_error("list", key, e)),
        }
    }

    /// The object's metadata, `None` when there is none.
    async fn head(&self, key: &Path) -> Result<Option<ObjectMeta>, StorageError> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("head", key, e)),
        }
    }

    /// A directory's entries, `None` when nothing is under it.
    async fn list_dir(&self, key: Option<&Path>, all: bool) -> Result<Option<Vec<Entry>>, StorageError> {
        let listed = match self.store.list_with_delimiter(key).await {
            Ok(listed) => listed,
            Err(e) => return Err(store_error("list", key.unwrap_or(&Path::default()), e)),
        };
        if listed.common_prefixes.is_empty() && listed.objects.is_empty() {
            return Ok(None);
        }
        let visible = |name: &str| !name.is_empty() && name != DIR_MARKER && (all || !name.starts_with('.'));
        let mut entries = Vec::new();
        for dir in &listed.common_prefixes {
            let name = dir.filename().unwrap_or_default();
            if visible(name) {
                entries.push(
                    Entry::new(Bytes::copy_from_slice(name.as_bytes()), EntryKind::Directory)
                        .with_size(0)
                        .with_mode(0o755)
                        .with_perm(Bytes::from_static(b"elcdmp")),
                );
            }
        }
        for object in &listed.objects {
            // A foreign `dir/` marker lists as the directory's own key.
            if Some(&object.location) == key {
                continue;
            }
            let name = object.location.filename().unwrap_or_default();
            if visible(name) {
                entries.push(file_entry(name.as_bytes(), object));
            }
        }
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(Some(entries))
    }

    /// `CWD`, `MKD`, `STOR`: the parent directory exists.
    async fn parent_exists(&self, path: &VirtualPath) -> Result<(), StorageError> {
        let parent = self.key(&path.parent())?;
        if self.dir_exists(parent.as_ref()).await? { Ok(()) } else { Err(StorageError::NotFound) }
    }
}

/// Retries bounded by `timeout` in all.
fn retry_config(timeout: std::time::Duration) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: timeout.min(std::time::Duration::from_secs(2)),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: timeout,
    }
}

/// A listing entry of an object.
fn file_entry(name: &[u8], meta: &ObjectMeta) -> Entry {
    let mut entry = Entry::new(Bytes::copy_from_slice(name), EntryKind::File).with_size(meta.size).with_mode(0o644);
    if let Some(t) = timestamp(meta) {
        entry = entry.with_modified(ListingTime::utc(t, Precision::Second));
    }
    entry.with_perm(Bytes::from_static(b"radfw"))
}

/// An object's modification time (`None` before 1970).
fn timestamp(meta: &ObjectMeta) -> Option<Timestamp> {
    u64::try_from(meta.last_modified.timestamp()).ok().and_then(Timestamp::from_unix_seconds)
}

/// The [`StorageError`] for a store error, logged unless it is an
/// ordinary answer (not found, exists).
fn store_error(op: &'static str, key: &Path, error: object_store::Error) -> StorageError {
    use object_store::Error as E;
    match error {
        E::NotFound { .. } => StorageError::NotFound,
        E::AlreadyExists { .. } => StorageError::AlreadyExists,
        E::Precondition { .. } | E::NotModified { .. } => StorageError::Unavailable,
        E::InvalidPath { .. } => StorageError::NameNotAllowed,
        E::NotSupported { .. } | E::NotImplemented => StorageError::NotSupported,
        E::Unauthenticated { .. } | E::PermissionDenied { .. } => {
            tracing::error!(op, key = %key, error = %error, "object store: the server's credentials were refused");
            StorageError::LocalError
        }
        other => {
            let text = other.to_string();
            if ["429 Too Many Requests", "503 Service Unavailable", "SlowDown"].iter().any(|s| text.contains(s)) {
                tracing::warn!(op, key = %key, error = %text, "object store: throttled or unavailable");
                StorageError::Unavailable
            } else {
                tracing::warn!(op, key = %key, error = %text, "object store: request failed");
                StorageError::LocalError
            }
        }
    }
}

impl Storage for ObjectStorage {
    fn change_dir<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let key = self.key(path)?;
            if self.dir_exists(key.as_ref()).await? { Ok(()) } else { Err(StorageError::NotFound) }
        })
    }

    fn entries<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        Box::pin(async move {
            let key = self.key(path)?;
            if let Some(entries) = self.list_dir(key.as_ref(), all).await? {
                return Ok(entries);
            }
            if path.is_root() || self.prefix.as_ref() == key.as_ref() {
                return Ok(Vec::new());
            }
            let key = self.object_key(path)?;
            match self.head(&key).await? {
                Some(meta) => Ok(vec![file_entry(path.file_name(), &meta)]),
                None => Err(StorageError::NotFound),
            }
        })
    }

    fn stat<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move {
            let full = Bytes::copy_from_slice(path.as_bytes());
            let dir = || Entry::new(full.clone(), EntryKind::Directory).with_perm(Bytes::from_static(b"elcdmp"));
            if path.is_root() {
                return Ok(dir());
            }
            let key = self.object_key(path)?;
            if let Some(meta) = self.head(&key).await? {
                return Ok(file_entry(&full, &meta));
            }
            if self.dir_exists(Some(&key)).await? { Ok(dir()) } else { Err(StorageError::NotFound) }
        })
    }

    fn size<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            self.head(&key).await?.map(|m| m.size).ok_or(StorageError::NotFound)
        })
    }

    fn modified<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            let meta = self.head(&key).await?.ok_or(StorageError::NotFound)?;
            timestamp(&meta).ok_or(StorageError::LocalError)
        })
    }

    fn capabilities(&self) -> StorageCapabilities {
        // No MFMT (an object's time cannot be set), no modes, no ALLO.
        StorageCapabilities::NONE
    }

    fn open_read<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            if offset > 0 {
                let meta = self.head(&key).await?.ok_or(StorageError::NotFound)?;
                if offset >= meta.size {
                    return Ok(FileSource::from_bytes(Bytes::new()));
                }
            }
            let options =
                GetOptions { range: (offset > 0).then_some(GetRange::Offset(offset)), ..GetOptions::default() };
            let result = self.store.get_opts(&key, options).await.map_err(|e| store_error("get", &key, e))?;
            Ok(FileSource::from_reader(ObjectReader { stream: result.into_stream(), chunk: Bytes::new(), key }))
        })
    }

    fn open_write<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            match mode {
                WriteMode::Replace | WriteMode::Resume(0) => {}
                WriteMode::CreateNew => {
                    if self.head(&key).await?.is_some() {
                        return Err(StorageError::AlreadyExists);
                    }
                }
                // An object cannot be written from its middle or end.
                _ => return Err(StorageError::NotSupported),
            }
            self.parent_exists(path).await?;
            if self.dir_exists(Some(&key)).await? {
                // A directory of that name.
                return Err(StorageError::PermissionDenied);
            }
            Ok(FileSink::from_writer(ObjectWriter::new(self.store.clone(), key, self.part_size)))
        })
    }

    fn delete<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            // S3 deletes a missing key without complaint: look first, for 550.
            if self.head(&key).await?.is_none() {
                return Err(StorageError::NotFound);
            }
            self.store.delete(&key).await.map_err(|e| store_error("delete", &key, e))
        })
    }

    fn make_dir<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let key = self.object_key(path)?;
            if self.dir_exists(Some(&key)).await? || self.head(&key).await?.is_some() {
                return Err(StorageError::AlreadyExists);
            }
            self.parent_exists(path).await?;
            let marker = key.child(DIR_MARKER);
            self.store.put(&marker, PutPayload::new()).await.map(|_| ()).map_err(|e| store_error("put", &marker, e))
        })
    }

    fn remove_dir<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if path.is_root() {
                return Err(StorageError::PermissionDenied);
            }
            let key = self.object_key(path)?;
            let marker = key.child(DIR_MARKER);
            let mut under = self.store.list(Some(&key));
            let (mut has_marker, mut foreign_marker) = (false, false);
            while let Some(item) = under.next().await {
                let meta = item.map_err(|e| store_error("list", &key, e))?;
                if meta.location == marker {
                    has_marker = true;
                } else if meta.location == key {
                    foreign_marker = true;
                } else {
                    return Err(StorageError::DirectoryNotEmpty);
                }
            }
            drop(under);
            if foreign_marker {
                tracing::warn!(key = %key, "object store: a `dir/` marker made by another tool cannot be removed");
                return Err(StorageError::PermissionDenied);
            }
            if !has_marker {
                return Err(StorageError::NotFound);
            }
            self.store.delete(&marker).await.map_err(|e| store_error("delete", &marker, e))
        })
    }

    fn rename<'a>(
        &'a self,
        _user: &'a Principal,
        from: &'a VirtualPath,
        to: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if from.is_root() || to.is_root() {
                return Err(StorageError::PermissionDenied);
            }
            let (from_key, to_key) = (self.object_key(from)?, self.object_key(to)?);
            if self.head(&from_key).await?.is_none() {
                // A directory is a whole prefix: not renamed.
                return if self.dir_exists(Some(&from_key)).await? {
                    Err(StorageError::NotSupported)
                } else {
                    Err(StorageError::NotFound)
                };
            }
            self.parent_exists(to).await?;
            if self.dir_exists(Some(&to_key)).await? {
                return Err(StorageError::PermissionDenied);
            }
            self.store.rename(&from_key, &to_key).await.map_err(|e| store_error("rename", &from_key, e))
        })
    }
}

/// A GET's body as an [`AsyncRead`], one chunk held at a time.
struct ObjectReader {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    key: Path,
}

impl AsyncRead for ObjectReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        while self.chunk.is_empty() {
            match ready!(self.stream.poll_next_unpin(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    tracing::warn!(key = %self.key, error = %e, "object store: download failed");
                    return Poll::Ready(Err(io::Error::other(e)));
                }
            }
        }
        let n = self.chunk.len().min(buf.remaining());
        let head = self.chunk.split_to(n);
        buf.put_slice(&head);
        Poll::Ready(Ok(()))
    }
}

/// A multipart upload begun or beginning: aborted when dropped (so that
/// no parts are left behind and no object appears), unless taken.
#[derive(Default)]
enum Upload {
    /// Nothing sent yet.
    #[default]
    None,
    Starting(JoinHandle<object_store::Result<Box<dyn MultipartUpload>>>),
    Started(Box<dyn MultipartUpload>),
}

/// An [`Upload`] aborted on drop unless it was completed.
struct AbortOnDrop {
    upload: Upload,
    key: Path,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let upload = std::mem::take(&mut self.upload);
        if matches!(upload, Upload::None) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "object store: no runtime to abort an unfinished upload");
            return;
        };
        let key = self.key.clone();
        runtime.spawn(async move {
            let mut upload = match upload {
                Upload::None => return,
                Upload::Starting(start) => match start.await {
                    Ok(Ok(upload)) => upload,
                    _ => return,
                },
                Upload::Started(upload) => upload,
            };
            match upload.abort().await {
                Ok(()) => tracing::info!(key = %key, "object store: unfinished upload aborted, no object stored"),
                Err(e) => tracing::warn!(key = %key, error = %e, "object store: aborting an unfinished upload failed"),
            }
        });
    }
}

/// The writer of a `STOR`: fills one part at a time, uploads it while the
/// next fills (at most [`PARTS_IN_FLIGHT`] at once), completes on flush
/// (see the module docs).
struct ObjectWriter {
    store: Arc<dyn ObjectStore>,
    pending: AbortOnDrop,
    part_size: usize,
    buf: Vec<u8>,
    parts: JoinSet<object_store::Result<()>>,
    finishing: Option<BoxFuture<'static, object_store::Result<()>>>,
    state: WriterState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriterState {
    Writing,
    Done,
    Failed,
}

impl ObjectWriter {
    fn new(store: Arc<dyn ObjectStore>, key: Path, part_size: usize) -> Self {
        Self {
            store,
            pending: AbortOnDrop { upload: Upload::None, key },
            part_size,
            buf: Vec::new(),
            parts: JoinSet::new(),
            finishing: None,
            state: WriterState::Writing,
        }
    }

    fn fail(&mut self, op: &'static str, e: &dyn std::fmt::Display) -> io::Error {
        tracing::warn!(op, key = %self.pending.key, error = %e, "object store: upload failed");
        self.state = WriterState::Failed;
        io::Error::other(format!("object store {op}: {e}"))
    }

    /// Collects finished parts; `Ready(Ok)` once fewer than `limit` are
    /// uploading.
    fn poll_parts(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<io::Result<()>> {
        loop {
            if self.parts.is_empty() {
                return Poll::Ready(Ok(()));
            }
            match self.parts.poll_join_next(cx) {
                Poll::Ready(Some(Ok(Ok(())))) => {}
                Poll::Ready(Some(Ok(Err(e)))) => return Poll::Ready(Err(self.fail("put part", &e))),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(self.fail("put part", &e))),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending if self.parts.len() < limit => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The multipart upload, begun when the first part is full.
    fn poll_started(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.pending.upload {
                Upload::Started(_) => return Poll::Ready(Ok(())),
                Upload::None => {
                    let (store, key) = (self.store.clone(), self.pending.key.clone());
                    self.pending.upload =
                        Upload::Starting(tokio::spawn(async move { store.put_multipart(&key).await }));
                }
                Upload::Starting(start) => {
                    let started = ready!(Pin::new(start).poll(cx));
                    match started {
                        Ok(Ok(upload)) => self.pending.upload = Upload::Started(upload),
                        Ok(Err(e)) => {
                            self.pending.upload = Upload::None;
                            return Poll::Ready(Err(self.fail("start multipart", &e)));
                        }
                        Err(e) => {
                            self.pending.upload = Upload::None;
                            return Poll::Ready(Err(self.fail("start multipart", &e)));
                        }
                    }
                }
            }
        }
    }

    /// Sends the full buffer as the next part.
    fn poll_send_part(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_started(cx))?;
        ready!(self.poll_parts(cx, PARTS_IN_FLIGHT))?;
        let Upload::Started(upload) = &mut self.pending.upload else {
            return Poll::Ready(Err(self.fail("put part", &"the upload was not started")));
        };
        let part = PutPayload::from(Bytes::from(std::mem::take(&mut self.buf)));
        self.parts.spawn(upload.put_part(part));
        Poll::Ready(Ok(()))
    }

    /// The future that ends the upload: the last part, every part, then
    /// complete; or, for a file smaller than a part, one PUT.
    fn finish(&mut self) -> BoxFuture<'static, object_store::Result<()>> {
        let buf = Bytes::from(std::mem::take(&mut self.buf));
        let key = self.pending.key.clone();
        let mut pending = AbortOnDrop { upload: std::mem::take(&mut self.pending.upload), key: key.clone() };
        let mut parts = std::mem::take(&mut self.parts);
        let store = self.store.clone();
        Box::pin(async move {
            let mut upload = match std::mem::take(&mut pending.upload) {
                Upload::None => return store.put(&key, PutPayload::from(buf)).await.map(|_| ()),
                Upload::Starting(start) => start.await.map_err(join_error)??,
                Upload::Started(upload) => upload,
            };
            if !buf.is_empty() {
                parts.spawn(upload.put_part(PutPayload::from(buf)));
            }
            pending.upload = Upload::Started(upload);
            while let Some(part) = parts.join_next().await {
                // On an error `pending` is dropped: the upload is aborted.
                part.map_err(join_error)??;
            }
            let Upload::Started(upload) = &mut pending.upload else { return unreachable_upload() };
            upload.complete().await?;
            // Completed: nothing to abort when `pending` drops.
            let _completed = std::mem::take(&mut pending.upload);
            Ok(())
        })
    }
}

/// A part's task that panicked or was cancelled, as a store error.
fn join_error(e: tokio::task::JoinError) -> object_store::Error {
    object_store::Error::Generic { store: "upload", source: Box::new(e) }
}

/// The upload vanished between two lines of [`ObjectWriter::finish`]
/// (it cannot): an error rather than a panic.
fn unreachable_upload() -> object_store::Result<()> {
    Err(object_store::Error::Generic { store: "upload", source: "the multipart upload is missing".into() })
}

impl AsyncWrite for ObjectWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.state != WriterState::Writing || this.finishing.is_some() {
            return Poll::Ready(Err(io::Error::other("the upload has ended")));
        }
        // Errors of parts already sent show as early as possible.
        ready!(this.poll_parts(cx, usize::MAX))?;
        if this.buf.len() >= this.part_size {
            ready!(this.poll_send_part(cx))?;
        }
        let n = data.len().min(this.part_size - this.buf.len());
        if this.buf.len() + n > this.buf.capacity() {
            // Grow by doubling, never past one part.
            let want = (this.buf.capacity() * 2).clamp(this.buf.len() + n, this.part_size);
            this.buf.reserve_exact(want - this.buf.len());
        }
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    /// Completes the upload: the server flushes the sink exactly once, at
    /// the end of a transfer that succeeded (see the module docs).
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.state {
            WriterState::Done => return Poll::Ready(Ok(())),
            WriterState::Failed => return Poll::Ready(Err(io::Error::other("the upload failed"))),
            WriterState::Writing => {}
        }
        if this.finishing.is_none() {
            this.finishing = Some(this.finish());
        }
        let Some(finishing) = this.finishing.as_mut() else { return Poll::Ready(Ok(())) };
        let result = ready!(finishing.as_mut().poll(cx));
        this.finishing = None;
        match result {
            Ok(()) => {
                this.state = WriterState::Done;
                Poll::Ready(Ok(()))
            }
            Err(e) => Poll::Ready(Err(this.fail("complete", &e))),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    //! Issue 19: the object-store back end's path, listing and marker
    //! semantics on `object_store`'s in-memory store (no S3 needed).
    use super::*;
    use crate::auth::Access;
    use object_store::memory::InMemory;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn v(s: &str) -> VirtualPath {
        VirtualPath::root().join(s.as_bytes())
    }

    fn rw() -> Principal {
        Principal::new(ftp_proto::Username::try_from("alice").unwrap(), Access::read_write())
    }

    fn names(entries: &[Entry]) -> Vec<(String, EntryKind)> {
        entries.iter().map(|e| (String::from_utf8_lossy(e.name()).into_owned(), e.kind().clone())).collect()
    }

    async fn put(fs: &ObjectStorage, path: &str, data: &[u8]) {
        let mut sink = fs.open_write(&rw(), &v(path), WriteMode::Replace).await.unwrap();
        sink.write_all(data).await.unwrap();
        sink.flush().await.unwrap();
    }

    async fn get(fs: &ObjectStorage, path: &str, offset: u64) -> Vec<u8> {
        let mut source = fs.open_read(&rw(), &v(path), offset).await.unwrap();
        let mut out = Vec::new();
        source.read_to_end(&mut out).await.unwrap();
        out
    }

    /// Issue 19: keys under the prefix; directories are common prefixes
    /// and MKD markers; the marker is never listed; RMD refuses a
    /// non-empty prefix.
    #[tokio::test]
    async fn issue_19_prefixes_markers_and_listings() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let fs = ObjectStorage::new(store.clone(), "base/ftp");
        assert_eq!(fs.make_dir(&rw(), &v("a")).await, Ok(()));
        put(&fs, "a/b.txt", b"hello").await;
        assert!(store.head(&Path::from("base/ftp/a/b.txt")).await.is_ok(), "the key is under the prefix");
        assert_eq!(fs.make_dir(&rw(), &v("empty")).await, Ok(()));
        assert_eq!(fs.make_dir(&rw(), &v("empty")).await, Err(StorageError::AlreadyExists));
        assert_eq!(fs.make_dir(&rw(), &v("no/such")).await, Err(StorageError::NotFound), "parent must exist");
        let root = fs.entries(&rw(), &VirtualPath::root(), true).await.unwrap();
        assert_eq!(names(&root), [("a".into(), EntryKind::Directory), ("empty".into(), EntryKind::Directory)]);
        assert_eq!(fs.entries(&rw(), &v("empty"), true).await.unwrap().len(), 0, "the marker is hidden");
        let a = fs.entries(&rw(), &v("a"), false).await.unwrap();
        assert_eq!(names(&a), [("b.txt".into(), EntryKind::File)]);
        assert_eq!(a[0].size(), Some(5));
        assert_eq!(fs.change_dir(&rw(), &v("a")).await, Ok(()));
        assert_eq!(fs.change_dir(&rw(), &v("empty")).await, Ok(()));
        assert_eq!(fs.change_dir(&rw(), &v("nope")).await, Err(StorageError::NotFound));
        assert_eq!(fs.change_dir(&rw(), &VirtualPath::root()).await, Ok(()));
        assert_eq!(fs.remove_dir(&rw(), &v("a")).await, Err(StorageError::DirectoryNotEmpty));
        assert_eq!(fs.remove_dir(&rw(), &v("empty")).await, Ok(()));
        assert_eq!(fs.change_dir(&rw(), &v("empty")).await, Err(StorageError::NotFound));
        assert_eq!(fs.remove_dir(&rw(), &v("empty")).await, Err(StorageError::NotFound));
        assert_eq!(fs.size(&rw(), &v(".ftpkit-dir")).await, Err(StorageError::NameNotAllowed));
        // A single file lists as itself; MLST of a directory and a file.
        assert_eq!(names(&fs.entries(&rw(), &v("a/b.txt"), false).await.unwrap()), [("b.txt".into(), EntryKind::File)]);
        assert_eq!(*fs.stat(&rw(), &v("a")).await.unwrap().kind(), EntryKind::Directory);
        assert_eq!(fs.stat(&rw(), &v("a/b.txt")).await.unwrap().name(), b"/a/b.txt");
        assert_eq!(fs.stat(&rw(), &v("zz")).await.err(), Some(StorageError::NotFound));
        assert!(fs.capabilities() == StorageCapabilities::NONE, "no MFMT advertised");
    }

    /// Issue 19 (RFC 3659 4, 3, 5): SIZE, MDTM, RETR after REST, DELE,
    /// rename; REST STOR and APPE refused with 502.
    #[tokio::test]
    async fn issue_19_files() {
        let fs = ObjectStorage::new(Arc::new(InMemory::new()), "");
        put(&fs, "f", b"0123456789").await;
        assert_eq!(fs.size(&rw(), &v("f")).await, Ok(10));
        assert!(fs.modified(&rw(), &v("f")).await.is_ok());
        assert_eq!(get(&fs, "f", 0).await, b"0123456789");
        assert_eq!(get(&fs, "f", 7).await, b"789");
        assert_eq!(get(&fs, "f", 10).await, b"");
        assert_eq!(fs.open_write(&rw(), &v("f"), WriteMode::Append).await.err(), Some(StorageError::NotSupported));
        assert_eq!(fs.open_write(&rw(), &v("f"), WriteMode::Resume(3)).await.err(), Some(StorageError::NotSupported));
        assert_eq!(fs.open_write(&rw(), &v("f"), WriteMode::CreateNew).await.err(), Some(StorageError::AlreadyExists));
        assert_eq!(fs.open_write(&rw(), &v("d/f"), WriteMode::Replace).await.err(), Some(StorageError::NotFound));
        assert_eq!(fs.rename(&rw(), &v("f"), &v("g")).await, Ok(()));
        assert_eq!(fs.size(&rw(), &v("f")).await, Err(StorageError::NotFound));
        assert_eq!(get(&fs, "g", 0).await, b"0123456789");
        fs.make_dir(&rw(), &v("d")).await.unwrap();
        assert_eq!(fs.rename(&rw(), &v("d"), &v("e")).await, Err(StorageError::NotSupported));
        assert_eq!(fs.delete(&rw(), &v("g")).await, Ok(()));
        assert_eq!(fs.delete(&rw(), &v("g")).await, Err(StorageError::NotFound));
    }

    /// Issue 19: a multi-part upload never buffers more than one part and
    /// never has more than `PARTS_IN_FLIGHT` parts uploading; the object
    /// appears only on the final flush, and a dropped (aborted) upload
    /// leaves no object.
    #[tokio::test]
    async fn issue_19_upload_buffering_is_bounded_and_abort_leaves_nothing() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let part = 1024;
        let data: Vec<u8> = (0..part * 10 + 123).map(|i| (i % 251) as u8).collect();
        let mut writer = ObjectWriter::new(store.clone(), Path::from("big"), part);
        for chunk in data.chunks(700) {
            writer.write_all(chunk).await.unwrap();
            assert!(writer.buf.capacity() <= part, "one part buffered at most");
            assert!(writer.parts.len() <= PARTS_IN_FLIGHT, "at most {PARTS_IN_FLIGHT} parts in flight");
        }
        assert!(store.head(&Path::from("big")).await.is_err(), "nothing visible before completion");
        writer.flush().await.unwrap();
        let stored = store.get(&Path::from("big")).await.unwrap().bytes().await.unwrap();
        assert_eq!(&stored[..], &data[..]);

        let mut writer = ObjectWriter::new(store.clone(), Path::from("aborted"), part);
        writer.write_all(&data).await.unwrap();
        drop(writer);
        tokio::task::yield_now().await;
        assert!(store.head(&Path::from("aborted")).await.is_err(), "an aborted upload leaves no object");
    }

    /// Issue 19: gs:// and az:// name the missing support; unknown schemes
    /// and bucketless URLs are refused.
    #[test]
    fn issue_19_urls() {
        let e = ObjectStorage::from_url("gs://b/p", ObjectOptions::default()).unwrap_err();
        assert!(e.to_string().contains("gcp"), "{e}");
        let e = ObjectStorage::from_url("az://c/p", ObjectOptions::default()).unwrap_err();
        assert!(e.to_string().contains("azure"), "{e}");
        assert!(ObjectStorage::from_url("ftp://x", ObjectOptions::default()).is_err());
        assert!(ObjectStorage::from_url("s3:///p", ObjectOptions::default()).is_err());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        assert!(ObjectStorage::from_url(&url, ObjectOptions::default()).is_ok());
    }
}
