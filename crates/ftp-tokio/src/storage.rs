//! Where the server's files live: the [`Storage`] trait, and [`LocalFs`],
//! a local directory confined to its root.
//!
//! The session hands the storage clean absolute virtual paths (no `.`/`..`).
//! [`LocalFs`] opens its root directory once and resolves every path
//! beneath that descriptor in the kernel (cap-std: `openat2` with
//! `RESOLVE_BENEATH`, else an `O_NOFOLLOW` walk), for open, create,
//! delete, rename, mkdir, rmdir, stat and listing alike. Nothing is
//! checked by name and then opened by name again, so a client, or anyone
//! who can change the served tree, cannot win a race by swapping a
//! component for a symbolic link (SECURITY.md P2). A path that would leave
//! the root is "not found", so nothing about the outside is revealed.
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
//! Clients never see `l` lines or `type=OS.unix=slink`. A link with an
//! absolute target counts as leading out (the kernel resolves beneath the
//! root, where `/` is not the root), as does one whose `..` climb above it.
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

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use cap_std::fs::Dir;
use ftp_proto::Timestamp;
use ftp_proto::listing::{self, Entry, EntryKind, ListingStyle, ListingTime, Perms, Precision};
use ftp_session::server::{ListFormat, StorageCapabilities, StorageError, VirtualPath};

use crate::auth::Access;
/// Who is asking, passed to every [`Storage`] method.
pub use crate::auth::Principal;
use tokio::sync::mpsc;

/// A future a [`Storage`] (or an [`Authenticator`](crate::auth::Authenticator))
/// returns: boxed so that the trait is object safe (see the module docs).
pub use crate::BoxFuture;

/// The bytes of a file being downloaded (`RETR`), positioned at the offset
/// asked for: in memory, a local file (sent with `sendfile(2)` where it
/// can be) or any reader.
pub use crate::source::FileSource;

/// Where an upload (`STOR`, `APPE`, `STOU`) goes: a local file (written
/// straight from the receive buffers) or any writer.
pub use crate::sink::FileSink;

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
/// of them inside what it serves (SECURITY.md P1, P2).
///
/// Every method receives the [`Principal`] asking (as libunftp's storage
/// back ends receive their `User`), so a storage can give each user a root
/// of their own or refuse what a user may not do. The server's own check
/// comes first: a storage is asked to write only for users whose
/// [`Access`] allows writing, and the `perm` facts it writes are narrowed
/// to the user's access ([`narrow_perms`]).
///
/// Errors are [`StorageError`]s, from which the session picks the reply
/// code, so two storages with the same errors look the same to clients.
pub trait Storage: Send + Sync + 'static {
    /// `CWD`: succeeds if `path` is a directory.
    fn change_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The entries of a directory sorted by name, or the single entry of a
    /// file (named by its last path element); names starting with `.` only
    /// when `all`. Listings (`LIST`, `NLST`, `MLSD`, `STAT path`, `MLST`)
    /// are all written from these by the server ([`format_listing`]).
    fn entries<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>>;

    /// `LIST`, `NLST`, `MLSD`: the same entries as [`entries`](Self::entries),
    /// as a [`Listing`] the server sends chunk by chunk. The default is
    /// `entries` in one chunk; a storage that can list a directory
    /// incrementally should override it, so that a huge directory is never
    /// held whole and an aborted listing stops its work.
    fn listing<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Listing, StorageError>> {
        Box::pin(async move { self.entries(user, path, all).await.map(Listing::whole) })
    }

    /// `MLST` (RFC 3659 7.2): the entry of the object `path` names itself,
    /// a file or a directory (never a directory's first child), named by
    /// the full virtual path.
    ///
    /// The default looks the name up in the parent's [`entries`](Self::entries)
    /// (the root is a directory when it can be listed); a storage that can
    /// ask for one object's metadata directly should override it.
    fn stat<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move {
            let full = Bytes::copy_from_slice(path.as_bytes());
            if path.is_root() {
                self.entries(user, path, false).await?;
                return Ok(Entry::new(full, EntryKind::Directory));
            }
            let siblings = self.entries(user, &path.parent(), true).await?;
            siblings
                .into_iter()
                .find(|e| e.name() == path.file_name())
                .map(|e| e.with_name(full))
                .ok_or(StorageError::NotFound)
        })
    }

    /// `SIZE` (RFC 3659 4): the size of a file in bytes as stored.
    fn size<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>>;

    /// `MDTM` (RFC 3659 3): the modification time of a file, UTC.
    fn modified<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>>;

    /// The optional operations this storage implements, which the server
    /// advertises (FEAT, HELP) and serves; the rest answer 502 without
    /// reaching the storage. The default is none.
    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::NONE
    }

    /// `MFMT` ([`StorageCapabilities::SET_MODIFIED`]): sets the
    /// modification time of a file or directory, UTC. The default is
    /// [`StorageError::NotSupported`].
    fn set_modified<'a>(
        &'a self,
        _user: &'a Principal,
        _path: &'a VirtualPath,
        _time: Timestamp,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        not_supported()
    }

    /// `MFF` `UNIX.mode` ([`StorageCapabilities::SET_MODE`]): sets the
    /// permission bits (at most `0o7777`) of a file or directory. The
    /// default is [`StorageError::NotSupported`].
    fn set_mode<'a>(
        &'a self,
        _user: &'a Principal,
        _path: &'a VirtualPath,
        _mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        not_supported()
    }

    /// `ALLO` ([`StorageCapabilities::FREE_SPACE`]): the bytes `user` may
    /// still store beneath `dir` (free space, or what a quota leaves). The
    /// default is [`StorageError::NotSupported`].
    fn free_space<'a>(
        &'a self,
        _user: &'a Principal,
        _dir: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async { Err(StorageError::NotSupported) })
    }

    /// `RETR`: a file's bytes from `offset` (past the end: nothing).
    fn open_read<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>>;

    /// `STOR`, `APPE`, `STOU`: where to write a file; its parent must exist.
    fn open_write<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>>;

    /// `STOR`, `APPE`, `STOU` after `SITE UMASK`
    /// ([`StorageCapabilities::CREATE_MODE`]): as
    /// [`open_write`](Self::open_write), and a file this creates gets
    /// exactly `create_mode` (at most `0o777`), whatever the process's umask;
    /// an existing file keeps its mode. The default ignores the mode.
    fn open_write_with_mode<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
        _create_mode: u32,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        self.open_write(user, path, mode)
    }

    /// `DELE`: removes a file (not a directory).
    fn delete<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `MKD`: creates a directory whose parent exists.
    fn make_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `MKD` after `SITE UMASK` ([`StorageCapabilities::CREATE_MODE`]): as
    /// [`make_dir`](Self::make_dir), the new directory getting exactly
    /// `mode` (at most `0o777`). The default ignores the mode.
    fn make_dir_with_mode<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        _mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.make_dir(user, path)
    }

    /// `RMD`: removes an empty directory, never the root.
    fn remove_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>>;

    /// `RNFR`/`RNTO`: renames within the storage.
    fn rename<'a>(
        &'a self,
        user: &'a Principal,
        from: &'a VirtualPath,
        to: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>>;
}

/// The answer of an optional [`Storage`] operation a storage does not
/// implement (its capability is not declared, so the server never asks).
fn not_supported<'a>() -> BoxFuture<'a, Result<(), StorageError>> {
    Box::pin(async { Err(StorageError::NotSupported) })
}

/// Narrows each entry's `perm` fact (RFC 3659 7.5.5) to what a user with
/// `access` may do, so that MLST, MLSD and STAT never tell a read-only user
/// that they may write: a letter stays when the storage gave it and the
/// codec's [`Perms::letters`] allow it for the entry's kind (a read-only
/// user keeps `r` on files, `e` and `l` on directories). A storage writes
/// what the object allows; the server narrows it per user here, for every
/// storage.
pub fn narrow_perms(entries: &mut [Entry], access: Access) {
    let perms = Perms::new(true, access.writable);
    for entry in entries {
        let Some(perm) = entry.perm() else { continue };
        let allowed = perms.letters(entry.kind());
        if perm.iter().all(|c| allowed.contains(&c.to_ascii_lowercase())) {
            continue;
        }
        let kept: Vec<u8> = perm.iter().copied().filter(|c| allowed.contains(&c.to_ascii_lowercase())).collect();
        // `with_perm` takes the entry by value; the placeholder is never seen.
        let owned = std::mem::replace(entry, Entry::new(Bytes::new(), EntryKind::File));
        *entry = owned.with_perm(Bytes::from(kept));
    }
}

/// The current time as a listing timestamp (the epoch if the clock is off).
pub(crate) fn now_timestamp() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap_or_else(|| Timestamp::new(1970, 1, 1, 0, 0, 0).expect("valid"))
}

/// A listing in the wire format a command asks for, CRLF line ends: names
/// for `NLST`, RFC 3659 7 fact lines for `MLSD`, `ls -l` lines otherwise.
/// `now` decides whether `ls` dates show the time or the year. Every
/// storage's listings go through here, so they look the same; the bytes
/// are written by [`listing::write_listing`], with the `perm` fact as the
/// storage gives it ([`Perms::READ_WRITE`] removes no letter).
#[must_use]
pub fn format_listing(entries: &[Entry], format: ListFormat, facts: &[&str], now: Timestamp) -> Bytes {
    let style = match format {
        ListFormat::Nlst => ListingStyle::Names,
        ListFormat::Mlsd => ListingStyle::Facts,
        _ => ListingStyle::Long,
    };
    let mut out = BytesMut::new();
    listing::write_listing(entries, style, facts, Perms::READ_WRITE, now, &mut out);
    out.freeze()
}

/// A directory listing for a data connection (`LIST`, `NLST`, `MLSD`),
/// delivered in chunks of entries in name order, so that a directory of
/// a hundred thousand files is never held whole, formatted or not
/// (SECURITY.md C3: four such listings in parallel took 250 MB when they
/// were built whole). The server formats and sends one chunk at a time;
/// when it stops reading (ABOR, a lost data connection) the producer's
/// sends fail and it stops scanning (SECURITY.md X1).
#[derive(Debug)]
pub struct Listing {
    first: Option<Vec<Entry>>,
    rest: Option<mpsc::Receiver<Result<Vec<Entry>, StorageError>>>,
}

/// The sending half of a [`Listing`] built with [`Listing::channel`]: a
/// chunk that fails to send means the listing was dropped, and the
/// producer should stop.
pub type ListingSender = mpsc::Sender<Result<Vec<Entry>, StorageError>>;

impl Listing {
    /// A listing already in memory, sent as one chunk.
    #[must_use]
    pub fn whole(entries: Vec<Entry>) -> Self {
        Self { first: Some(entries), rest: None }
    }

    /// A listing produced elsewhere (a blocking task, a remote store) as
    /// chunks sent on the returned sender, with at most `capacity` chunks
    /// waiting. An `Err` chunk ends the listing with that error (the
    /// transfer fails with 451).
    #[must_use]
    pub fn channel(capacity: usize) -> (ListingSender, Self) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, Self { first: None, rest: Some(rx) })
    }

    /// The next chunk, `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<Entry>, StorageError>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        self.rest.as_mut()?.recv().await
    }
}

/// A timestamp as a `SystemTime` (`None` if the platform cannot hold it).
fn system_time(time: Timestamp) -> Option<std::time::SystemTime> {
    let secs = time.unix_seconds();
    let whole = std::time::Duration::from_secs(secs.unsigned_abs());
    let base = if secs >= 0 { UNIX_EPOCH.checked_add(whole) } else { UNIX_EPOCH.checked_sub(whole) };
    base?.checked_add(std::time::Duration::from_nanos(time.nanos().into()))
}

/// Entries per [`Listing`] chunk from [`LocalFs`]: large enough that the
/// per-chunk costs vanish, small enough to keep a listing's memory flat.
const LISTING_CHUNK: usize = 256;

/// A local directory served over FTP, confined to its root (see the module
/// docs).
///
/// Every operation names its path relative to a descriptor of the root
/// directory, opened once, and lets the kernel resolve it beneath that
/// descriptor (cap-std: `openat2` with `RESOLVE_BENEATH` where the kernel
/// has it, else a component-by-component walk with `O_NOFOLLOW`). No path
/// is checked first and opened by name later, so a component swapped for
/// a symbolic link between two steps cannot lead out (SECURITY.md P2: the
/// race found by the attack pass of issue 13).
#[derive(Debug, Clone)]
pub struct LocalFs {
    root: PathBuf,
    dir: Arc<Dir>,
}

/// The `StorageError` for an I/O error. cap-std reports a path that would
/// leave the root (a link leading out, an absolute link) as
/// `PermissionDenied` without an OS error code; that is "not found", so
/// nothing about the outside is revealed. `ELOOP` (a chain of links too
/// long) is "not found" too.
fn storage_error(e: &io::Error) -> StorageError {
    if e.kind() == io::ErrorKind::PermissionDenied && e.raw_os_error().is_none() {
        return StorageError::NotFound;
    }
    if e.raw_os_error() == Some(libc::ELOOP) {
        return StorageError::NotFound;
    }
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

/// Runs blocking file-system work off the async threads (as `tokio::fs`
/// does), mapping its I/O error.
async fn blocking<T, F>(work: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| storage_error(&e)),
        Err(_) => Err(StorageError::LocalError),
    }
}

/// The path of `path` relative to the root (`.` for the root itself).
/// Virtual paths are clean (no `.` or `..` elements); a NUL byte cannot
/// be a file name.
fn relative(path: &VirtualPath) -> Result<PathBuf, StorageError> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    if bytes.contains(&0) {
        return Err(StorageError::NameNotAllowed);
    }
    let mut rel = PathBuf::from(".");
    for part in bytes.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        if part == b"." || part == b".." {
            return Err(StorageError::NameNotAllowed);
        }
        rel.push(std::ffi::OsStr::from_bytes(part));
    }
    Ok(rel)
}

/// Where a symbolic link whose text is `target` leads when it sits in the
/// directory `parent` (relative to the root), worked out on the names
/// alone: `None` when it would lead above the root or is absolute.
fn link_destination(parent: &Path, target: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    for c in parent.components().chain(target.components()) {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

/// Files with at most this many bytes left to send are read whole when
/// opened (see [`FileSource`]); larger ones are sent from the file.
const SMALL_FILE: u64 = 64 << 10;

impl LocalFs {
    /// Serves `root`, which must be an existing directory.
    ///
    /// # Errors
    /// The root cannot be canonicalised, is not a directory or cannot be
    /// opened.
    pub fn new(root: &Path) -> io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "the root is not a directory"));
        }
        let dir = Dir::open_ambient_dir(&root, cap_std::ambient_authority())?;
        Ok(Self { root, dir: Arc::new(dir) })
    }

    /// The canonical root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An entry for one directory member (or the file itself).
    fn entry(name: &[u8], meta: &cap_std::fs::Metadata) -> Entry {
        use cap_std::fs::MetadataExt;
        // `meta` is always followed metadata (see the symbolic-link policy
        // in the module docs), so there are no link entries.
        let kind = if meta.is_dir() { EntryKind::Directory } else { EntryKind::File };
        let mut entry = Entry::new(Bytes::copy_from_slice(name), kind).with_size(meta.len()).with_mode(meta.mode());
        let secs = meta.modified().ok().and_then(|t| t.into_std().duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        if let Some(t) = secs.and_then(Timestamp::from_unix_seconds) {
            entry = entry.with_modified(ListingTime::utc(t, Precision::Second));
        }
        // RFC 3659 7.5.2: the same file (through any name) has the same id.
        let unique = format!("{:x}g{:x}", meta.dev(), meta.ino());
        entry
            .with_perm(Bytes::from_static(if meta.is_dir() { b"elcdmp" } else { b"radfw" }))
            .with_unique(Bytes::from(unique))
    }

    /// The followed metadata of `path` (links inside the root are their
    /// targets; links leading out are "not found").
    async fn metadata(&self, path: &VirtualPath) -> Result<cap_std::fs::Metadata, StorageError> {
        let (dir, rel) = (self.dir.clone(), relative(path)?);
        if let Some(meta) = crate::cached::metadata(&dir, &rel) {
            return Ok(meta);
        }
        blocking(move || dir.metadata(rel)).await
    }

    /// The start of a listing: a file's own entry, or the sorted names of
    /// a directory's members, with the directory opened beneath the root.
    async fn scan(&self, path: &VirtualPath, all: bool) -> Result<Scan, StorageError> {
        use std::os::unix::ffi::OsStrExt;
        let (root, rel) = (self.dir.clone(), relative(path)?);
        let name = path.file_name().to_vec();
        blocking(move || {
            let meta = root.metadata(&rel)?;
            if !meta.is_dir() {
                return Ok(Scan::File(Box::new(Self::entry(&name, &meta))));
            }
            let dir = root.open_dir(&rel)?;
            let mut names = Vec::new();
            for item in dir.entries()? {
                let item = item?;
                let name = item.file_name();
                let name = name.as_bytes();
                if !all && name.starts_with(b".") {
                    continue;
                }
                let link = item.file_type().map(|t| t.is_symlink()).unwrap_or(false);
                names.push((name.to_vec(), link));
            }
            names.sort_unstable();
            Ok(Scan::Dir { root, rel, dir, names })
        })
        .await
    }

    async fn open_read_at(&self, path: &VirtualPath, offset: u64) -> Result<FileSource, StorageError> {
        use cap_std::fs::OpenOptionsExt;
        use std::io::{Read, Seek};
        let (dir, rel) = (self.dir.clone(), relative(path)?);
        // A hot file opens (and a small one is read) here, without a trip
        // to the blocking pool; anything else takes the path below.
        if let Some(source) = crate::cached::open_read(&dir, &rel, offset, SMALL_FILE) {
            return Ok(source);
        }
        let source = blocking(move || {
            let mut options = cap_std::fs::OpenOptions::new();
            // O_NONBLOCK: opening a FIFO placed in the tree must not hang
            // a thread waiting for a writer; it is refused just below.
            options.read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
            let mut file = dir.open_with(rel, &options)?.into_std();
            let meta = file.metadata()?;
            if !meta.is_file() {
                return Err(io::ErrorKind::NotFound.into());
            }
            if offset > 0 {
                file.seek(io::SeekFrom::Start(offset))?;
            }
            // A small file is read whole here, in the trip to the blocking
            // pool that opened it: its transfer is then one write. What it
            // held when opened is sent (bytes appended since are not, and a
            // file growing meanwhile cannot make this read unbounded).
            let left = meta.len().saturating_sub(offset);
            if left <= SMALL_FILE {
                let mut bytes = Vec::with_capacity(usize::try_from(left).unwrap_or(0));
                (&mut file).take(left).read_to_end(&mut bytes)?;
                return Ok(FileSource::from_bytes(Bytes::from(bytes)));
            }
            Ok(FileSource::from_file(file))
        })
        .await?;
        Ok(source)
    }

    async fn open_write_as(
        &self,
        path: &VirtualPath,
        mode: WriteMode,
        create_mode: Option<u32>,
    ) -> Result<FileSink, StorageError> {
        use std::io::Seek;
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let (dir, rel) = (self.dir.clone(), relative(path)?);
        let file = blocking(move || {
            // A link is followed only where it stays beneath the root, a
            // dangling one included: creating its target outside is
            // refused by the kernel like any other way out.
            let mut file = match create_mode {
                None => dir.open_with(&rel, &write_options(mode, None))?.into_std(),
                Some(create_mode) => open_keeping_mode(&dir, &rel, mode, create_mode)?,
            };
            if !file.metadata()?.is_file() {
                return Err(io::Error::from_raw_os_error(libc::EACCES));
            }
            if let WriteMode::Resume(offset) = mode {
                file.set_len(offset)?;
                file.seek(io::SeekFrom::Start(offset))?;
            }
            Ok(file)
        })
        .await?;
        Ok(FileSink::from_file(file))
    }
}

/// How `LocalFs` opens a file for `mode`; with `create: Some(m)` only a new
/// file is created, with mode `m` (less the process umask).
fn write_options(mode: WriteMode, create: Option<u32>) -> cap_std::fs::OpenOptions {
    use cap_std::fs::OpenOptionsExt;
    let mut options = cap_std::fs::OpenOptions::new();
    options.write(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    if let Some(m) = create {
        options.create_new(true).mode(m);
        if mode == WriteMode::Append {
            options.append(true);
        }
        return options;
    }
    match mode {
        WriteMode::Replace => options.create(true).truncate(true),
        WriteMode::Resume(_) => options.create(true),
        WriteMode::Append => options.create(true).append(true),
        WriteMode::CreateNew => options.create_new(true),
    };
    options
}

/// Opens `rel` for `mode` after `SITE UMASK`: a file that did not exist is
/// created (exclusively) and given exactly `create_mode` with `fchmod`, so
/// the process's umask does not narrow it further; an existing one is
/// opened as it is, keeping its mode. If the name appears or disappears
/// between the two attempts, they are tried again (a bounded number of
/// times).
fn open_keeping_mode(
    dir: &cap_std::fs::Dir,
    rel: &Path,
    mode: WriteMode,
    create_mode: u32,
) -> io::Result<std::fs::File> {
    use std::os::unix::fs::PermissionsExt;
    for _ in 0..8 {
        match dir.open_with(rel, &write_options(mode, Some(create_mode))) {
            Ok(file) => {
                let file = file.into_std();
                file.set_permissions(std::fs::Permissions::from_mode(create_mode))?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && mode != WriteMode::CreateNew => {}
            Err(e) => return Err(e),
        }
        let mut existing = cap_std::fs::OpenOptions::new();
        {
            use cap_std::fs::OpenOptionsExt;
            existing.write(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
        }
        match mode {
            WriteMode::Replace => existing.truncate(true),
            WriteMode::Append => existing.append(true),
            WriteMode::Resume(_) | WriteMode::CreateNew => &mut existing,
        };
        match dir.open_with(rel, &existing) {
            Ok(file) => return Ok(file.into_std()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// What [`LocalFs::scan`] found.
enum Scan {
    File(Box<Entry>),
    /// A directory: the root (to follow links from), the directory's path
    /// below it, the directory itself, and its members' names (with
    /// whether each is a symbolic link), sorted.
    Dir {
        root: Arc<Dir>,
        rel: PathBuf,
        dir: Dir,
        names: Vec<(Vec<u8>, bool)>,
    },
}

impl Scan {
    /// The entries of `names`: a member's own metadata, or for a link its
    /// target's, resolved beneath the root; members that vanished, and
    /// links that dangle or lead out, are left out (module docs).
    fn entries_of(root: &Dir, rel: &Path, dir: &Dir, names: &[(Vec<u8>, bool)]) -> Vec<Entry> {
        use std::os::unix::ffi::OsStrExt;
        names
            .iter()
            .filter_map(|(name, link)| {
                let os = std::ffi::OsStr::from_bytes(name);
                let meta = if *link { root.metadata(rel.join(os)) } else { dir.symlink_metadata(os) };
                let meta = meta.ok()?;
                // Replaced by a link since the scan: follow it the safe way.
                let meta = if meta.is_symlink() { root.metadata(rel.join(os)).ok()? } else { meta };
                Some(LocalFs::entry(name, &meta))
            })
            .collect()
    }

    /// Every entry at once (`STAT`, `MLST`'s default).
    fn whole(self) -> Vec<Entry> {
        match self {
            Self::File(entry) => vec![*entry],
            Self::Dir { root, rel, dir, names } => Self::entries_of(&root, &rel, &dir, &names),
        }
    }
}

impl Storage for LocalFs {
    fn change_dir<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { if self.metadata(path).await?.is_dir() { Ok(()) } else { Err(StorageError::NotFound) } })
    }

    fn entries<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        Box::pin(async move {
            let scan = self.scan(path, all).await?;
            blocking(move || Ok(scan.whole())).await
        })
    }

    fn listing<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Listing, StorageError>> {
        Box::pin(async move {
            let (root, rel, dir, names) = match self.scan(path, all).await? {
                Scan::File(entry) => return Ok(Listing::whole(vec![*entry])),
                Scan::Dir { root, rel, dir, names } => (root, rel, dir, names),
            };
            let (tx, listing) = Listing::channel(2);
            tokio::task::spawn_blocking(move || {
                for chunk in names.chunks(LISTING_CHUNK) {
                    if tx.blocking_send(Ok(Scan::entries_of(&root, &rel, &dir, chunk))).is_err() {
                        // The listing was dropped (ABOR, lost connection).
                        return;
                    }
                }
            });
            Ok(listing)
        })
    }

    fn stat<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        Box::pin(async move { Ok(Self::entry(path.as_bytes(), &self.metadata(path).await?)) })
    }

    fn size<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            let meta = self.metadata(path).await?;
            if meta.is_file() { Ok(meta.len()) } else { Err(StorageError::NotFound) }
        })
    }

    fn modified<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        Box::pin(async move {
            let meta = self.metadata(path).await?;
            let secs =
                meta.modified().ok().and_then(|t| t.into_std().duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
            secs.and_then(Timestamp::from_unix_seconds).ok_or(StorageError::LocalError)
        })
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::SET_MODIFIED
            .with(StorageCapabilities::SET_MODE)
            .with(StorageCapabilities::CREATE_MODE)
            .with(StorageCapabilities::FREE_SPACE)
    }

    fn free_space<'a>(
        &'a self,
        _user: &'a Principal,
        dir: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            let (root, rel) = (self.dir.clone(), relative(dir)?);
            blocking(move || {
                // The directory opened beneath the root (P2), then statvfs
                // on its descriptor: the blocks an unprivileged user may
                // still fill (f_bavail, not f_bfree).
                let dir = root.open_dir(&rel)?;
                let stat = rustix::fs::fstatvfs(&dir)?;
                Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
            })
            .await
        })
    }

    fn set_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            use cap_std::fs::PermissionsExt;
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            // Beneath the root, following links only inside it (P2), as
            // every other operation here.
            blocking(move || dir.set_permissions(rel, cap_std::fs::Permissions::from_mode(mode))).await
        })
    }

    fn set_modified<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        time: Timestamp,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            use cap_std::fs::OpenOptionsExt;
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            let when = system_time(time).ok_or(StorageError::LocalError)?;
            blocking(move || {
                // Opened read-only beneath the root (a directory too):
                // futimens needs a descriptor, not write access to the bytes.
                let mut options = cap_std::fs::OpenOptions::new();
                options.read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
                dir.open_with(rel, &options)?.into_std().set_modified(when)
            })
            .await
        })
    }

    fn open_read<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        Box::pin(self.open_read_at(path, offset))
    }

    fn open_write<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(self.open_write_as(path, mode, None))
    }

    fn open_write_with_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
        create_mode: u32,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        Box::pin(self.open_write_as(path, mode, Some(create_mode & 0o777)))
    }

    fn delete<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            // unlinkat of the last element: a link is removed, not its target.
            blocking(move || dir.remove_file(rel)).await
        })
    }

    fn make_dir<'a>(&'a self, _user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            blocking(move || dir.create_dir(rel)).await
        })
    }

    fn make_dir_with_mode<'a>(
        &'a self,
        _user: &'a Principal,
        path: &'a VirtualPath,
        mode: u32,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            use cap_std::fs::{DirBuilderExt, PermissionsExt};
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            let mode = mode & 0o777;
            blocking(move || {
                let mut builder = cap_std::fs::DirBuilder::new();
                builder.mode(mode);
                dir.create_dir_with(&rel, &builder)?;
                // Exactly `mode`, not narrowed by the process umask; beneath
                // the root like every operation here (P2).
                dir.set_permissions(&rel, cap_std::fs::Permissions::from_mode(mode))
            })
            .await
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
            let (dir, rel) = (self.dir.clone(), relative(path)?);
            blocking(move || dir.remove_dir(rel)).await
        })
    }

    /// Renames beneath the root. A symbolic link is moved only where it
    /// still leads inside the root from its new place (worked out on its
    /// text, relative links only): moving `a/b/up -> ../..` to the root
    /// would make it point outside (SECURITY.md P2). Every later use of a
    /// link is resolved beneath the root by the kernel anyway, so this
    /// refusal keeps the tree honest rather than being the only defence.
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
            let (dir, from, to) = (self.dir.clone(), relative(from)?, relative(to)?);
            blocking(move || {
                if dir.symlink_metadata(&from)?.is_symlink() {
                    let target = dir.read_link(&from)?;
                    let parent = to.parent().unwrap_or(Path::new("."));
                    if link_destination(parent, &target).is_none() {
                        return Err(io::Error::from_raw_os_error(libc::EACCES));
                    }
                }
                dir.rename(&from, &dir, &to)
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> VirtualPath {
        VirtualPath::root().join(s.as_bytes())
    }

    /// A user who may write (the storage tests act as one).
    fn rw() -> Principal {
        Principal::new(ftp_proto::Username::try_from("alice").unwrap(), Access::read_write())
    }

    /// SECURITY.md P2: no path or symbolic link leads outside the root.
    #[tokio::test]
    async fn sec_p2_symlinks_cannot_escape_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("pub")).unwrap();
        std::fs::write(root.path().join("pub/ok.txt"), b"ok").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("pub/leak")).unwrap();
        std::os::unix::fs::symlink("ok.txt", root.path().join("pub/alias")).unwrap();
        std::os::unix::fs::symlink("../..", root.path().join("pub/up")).unwrap();
        let fs = LocalFs::new(root.path()).unwrap();
        assert_eq!(fs.size(&rw(), &v("pub/ok.txt")).await, Ok(2));
        assert_eq!(fs.size(&rw(), &v("escape/secret")).await, Err(StorageError::NotFound));
        assert_eq!(fs.size(&rw(), &v("pub/leak")).await, Err(StorageError::NotFound));
        assert_eq!(fs.size(&rw(), &v("pub/up/secret")).await, Err(StorageError::NotFound));
        assert_eq!(
            fs.open_write(&rw(), &v("escape/new-file"), WriteMode::Replace).await.err(),
            Some(StorageError::NotFound)
        );
        assert!(!outside.path().join("new-file").exists(), "no writing through a link");
        assert_eq!(fs.size(&rw(), &v("pub/alias")).await, Ok(2), "links inside the root are fine");
        assert!(
            fs.open_write(&rw(), &v("pub/not-yet"), WriteMode::Replace).await.is_ok(),
            "a new file inside the root"
        );
        let names: Vec<_> =
            fs.entries(&rw(), &v("pub"), true).await.unwrap().iter().map(|e| e.name().to_vec()).collect();
        assert_eq!(names, [b"alias".to_vec(), b"not-yet".to_vec(), b"ok.txt".to_vec()], "links out are invisible");
    }

    /// SECURITY.md P2: a relative link is not moved to where it would
    /// point above the root; moved where it still points inside, it is.
    #[tokio::test]
    async fn sec_p2_links_are_not_renamed_to_point_outside() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink("../..", root.path().join("a/b/up")).unwrap();
        let fs = LocalFs::new(root.path()).unwrap();
        assert_eq!(fs.rename(&rw(), &v("a/b/up"), &v("up")).await, Err(StorageError::PermissionDenied));
        assert_eq!(fs.rename(&rw(), &v("a/b/up"), &v("a/up")).await, Err(StorageError::PermissionDenied));
        assert!(std::fs::symlink_metadata(root.path().join("a/b/up")).is_ok(), "the link stayed");
        std::fs::create_dir_all(root.path().join("a/c")).unwrap();
        assert_eq!(fs.rename(&rw(), &v("a/b/up"), &v("a/c/up")).await, Ok(()), "still points at the root");
    }

    /// A FIFO placed in the tree (by someone with a shell) is not a file:
    /// RETR and STOR of it are refused at once instead of holding a thread
    /// until a writer or reader appears.
    #[tokio::test]
    async fn fifos_are_refused_without_blocking() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let fs = LocalFs::new(root.path()).unwrap();
        let wait = std::time::Duration::from_secs(10);
        let read = tokio::time::timeout(wait, fs.open_read(&rw(), &v("pipe"), 0)).await.expect("not blocked");
        assert_eq!(read.err(), Some(StorageError::NotFound));
        let write = tokio::time::timeout(wait, fs.open_write(&rw(), &v("pipe"), WriteMode::Replace))
            .await
            .expect("not blocked");
        assert!(write.is_err());
    }

    /// SECURITY.md C3: a directory is listed in chunks, in name order,
    /// with the same entries as `entries`.
    #[tokio::test]
    async fn listings_come_in_sorted_chunks() {
        let root = tempfile::tempdir().unwrap();
        for i in 0..(LISTING_CHUNK * 2 + 7) {
            std::fs::write(root.path().join(format!("f{i:05}")), b"").unwrap();
        }
        let fs = LocalFs::new(root.path()).unwrap();
        let mut listing = fs.listing(&rw(), &VirtualPath::root(), false).await.unwrap();
        let mut chunks = 0;
        let mut names = Vec::new();
        while let Some(chunk) = listing.next_chunk().await {
            chunks += 1;
            names.extend(chunk.unwrap().iter().map(|e| e.name().to_vec()));
        }
        assert_eq!(chunks, 3);
        let whole: Vec<_> =
            fs.entries(&rw(), &VirtualPath::root(), false).await.unwrap().iter().map(|e| e.name().to_vec()).collect();
        assert_eq!(names, whole);
        assert!(names.windows(2).all(|w| w[0] < w[1]));
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
        assert_eq!(fs.open_write(&rw(), &v("trap"), WriteMode::Replace).await.err(), Some(StorageError::NotFound));
        assert_eq!(fs.open_write(&rw(), &v("trap"), WriteMode::Append).await.err(), Some(StorageError::NotFound));
        assert!(!outside.path().join("planted").exists(), "nothing was created outside the root");
    }
}
