//! Opening, describing and reading files the kernel already holds in its
//! caches, without leaving the async thread.
//!
//! [`LocalFs`](crate::storage::LocalFs) runs its file-system calls on
//! tokio's blocking pool, because a call that waits for a disk (or a
//! network file system) would stall every session on that thread. But a
//! server's files are mostly hot, and then each trip to the pool is the
//! largest cost of a small download: two thread switches, and on a busy
//! machine two chances to wait behind other processes for a CPU.
//!
//! Linux can say in advance that a call will not wait: `openat2` with
//! `RESOLVE_CACHED` (5.12) resolves a path only from the dentry cache, and
//! `preadv2` with `RWF_NOWAIT` (4.14) reads only what is in the page cache;
//! both fail with `EAGAIN` instead of waiting. The functions here try that
//! first, beneath the root with the same `RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS` rules as the storage's own opens (SECURITY.md P1,
//! P2). Any failure at all, `EAGAIN`, a link leading out or a missing file,
//! returns `None`, and the caller takes its usual path through the pool,
//! which then gives the answer and the error it always gave: this module
//! never changes what a client sees, only how fast it sees it.
//!
//! Elsewhere (other systems, older kernels) every function returns `None`.

use std::path::Path;

use cap_std::fs::Dir;

use crate::source::FileSource;

/// The followed metadata of `rel` beneath `root` when the path resolves
/// from the caches.
#[cfg(target_os = "linux")]
pub(crate) fn metadata(root: &Dir, rel: &Path) -> Option<cap_std::fs::Metadata> {
    use rustix::fs::OFlags;
    let fd = open(root, rel, OFlags::PATH)?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some(cap_std::fs::Metadata::from_just_metadata(meta))
}

/// A download source for the regular file `rel` from `offset`, read whole
/// when at most `small` bytes are left and all of them are in the page
/// cache (see [`FileSource`]), else the open file at `offset`.
#[cfg(target_os = "linux")]
pub(crate) fn open_read(root: &Dir, rel: &Path, offset: u64, small: u64) -> Option<FileSource> {
    use rustix::fs::OFlags;
    use std::io::Seek;
    let fd = open(root, rel, OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK)?;
    let mut file = std::fs::File::from(fd);
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let left = meta.len().saturating_sub(offset);
    if left <= small {
        use std::os::unix::fs::MetadataExt;
        return read_cached(&file, meta.dev(), offset, left).map(|bytes| FileSource::from_bytes(bytes.into()));
    }
    file.seek(std::io::SeekFrom::Start(offset)).ok()?;
    Some(FileSource::from_file(file))
}

/// `openat2(root, rel, flags | O_CLOEXEC)` resolved beneath `root` from the
/// dentry cache only.
#[cfg(target_os = "linux")]
fn open(root: &Dir, rel: &Path, flags: rustix::fs::OFlags) -> Option<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | ResolveFlags::CACHED;
    rustix::fs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve).ok()
}

/// The `len` bytes of `file` from `offset`, when every one of them is in
/// the page cache (`RWF_NOWAIT`), or the file lives in memory (tmpfs and
/// ramfs, whose reads never wait for a disk but which refuse `RWF_NOWAIT`
/// on some kernels); fewer when the file was cut meanwhile. `dev` is the
/// file's device: one found in memory is remembered, so that its next
/// files are read without the refused call and the `fstatfs` that follows
/// it (two system calls of a small download's dozen).
#[cfg(target_os = "linux")]
fn read_cached(file: &std::fs::File, dev: u64, offset: u64, len: u64) -> Option<Vec<u8>> {
    use rustix::io::{Errno, ReadWriteFlags, preadv2};
    use std::io::IoSliceMut;
    let mut bytes = vec![0u8; usize::try_from(len).ok()?];
    let mut flags = if MEMORY_DEVICE.get() == Some(dev) { ReadWriteFlags::empty() } else { ReadWriteFlags::NOWAIT };
    let mut done = 0;
    while done < bytes.len() {
        let at = offset + done as u64;
        match preadv2(file, &mut [IoSliceMut::new(&mut bytes[done..])], at, flags) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::OPNOTSUPP) if !flags.is_empty() && in_memory(file) => {
                MEMORY_DEVICE.set(Some(dev));
                flags = ReadWriteFlags::empty();
            }
            Err(_) => return None,
        }
    }
    bytes.truncate(done);
    Some(bytes)
}

#[cfg(target_os = "linux")]
thread_local! {
    /// The device of the last file this thread found on a file system held
    /// in memory (a server's root is mostly one file system). A device
    /// number is reused only after its file system is unmounted; should a
    /// disk file system be mounted in its place under a running server, its
    /// uncached reads would wait on this thread (slower, never wrong).
    static MEMORY_DEVICE: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Whether `file` is on a file system held in memory (tmpfs, ramfs).
#[cfg(target_os = "linux")]
fn in_memory(file: &std::fs::File) -> bool {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const RAMFS_MAGIC: u64 = 0x8584_58f6;
    // `f_type`'s integer type differs between architectures.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    rustix::fs::fstatfs(file).is_ok_and(|fs| matches!(fs.f_type as u64, TMPFS_MAGIC | RAMFS_MAGIC))
}

/// Not Linux: nothing is known to be cached.
#[cfg(not(target_os = "linux"))]
pub(crate) fn metadata(_root: &Dir, _rel: &Path) -> Option<cap_std::fs::Metadata> {
    None
}

/// Not Linux: nothing is known to be cached.
#[cfg(not(target_os = "linux"))]
pub(crate) fn open_read(_root: &Dir, _rel: &Path, _offset: u64, _small: u64) -> Option<FileSource> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn root() -> (tempfile::TempDir, Dir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/small"), b"hello world").unwrap();
        std::fs::write(dir.path().join("big"), vec![7u8; 100_000]).unwrap();
        std::os::unix::fs::symlink("../../outside", dir.path().join("sub/out")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("small", dir.path().join("sub/in")).unwrap();
        let cap = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        (dir, cap)
    }

    async fn read(source: FileSource) -> Vec<u8> {
        let mut source = source;
        let mut out = Vec::new();
        source.read_to_end(&mut out).await.unwrap();
        out
    }

    /// [`open_read`] of a file just read through the ordinary path, so that
    /// its dentries and pages are in the caches: on a busy machine (CI,
    /// right after a build) the kernel may drop them between the write and
    /// the test, and a miss is the fallback's business, not this test's.
    fn warm_open(dir: &Path, root: &Dir, rel: &str, offset: u64, small: u64) -> Option<FileSource> {
        (0..5).find_map(|_| {
            let _ = std::fs::read(dir.join(rel));
            open_read(root, Path::new(rel), offset, small)
        })
    }

    #[tokio::test]
    async fn hot_files_open_and_read_here() {
        let (dir, root) = root();
        let small = warm_open(dir.path(), &root, "sub/small", 6, 64).expect("cached");
        assert_eq!(read(small).await, b"world");
        let linked = warm_open(dir.path(), &root, "sub/in", 0, 64).expect("a link inside is its target");
        assert_eq!(read(linked).await, b"hello world");
        let big = warm_open(dir.path(), &root, "big", 99_990, 8).expect("cached");
        assert_eq!(read(big).await, vec![7u8; 10]);
        assert_eq!(metadata(&root, Path::new("big")).map(|m| m.len()), Some(100_000));
        assert!(metadata(&root, Path::new("sub")).is_some_and(|m| m.is_dir()));
    }

    /// tmpfs refuses `RWF_NOWAIT` on some kernels; its files are memory
    /// and are read here all the same.
    #[tokio::test]
    async fn tmpfs_files_are_read_here() {
        let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("no /dev/shm: skipped");
            return;
        };
        std::fs::write(dir.path().join("f"), b"in memory").unwrap();
        let root = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        let file = std::fs::File::open(dir.path().join("f")).unwrap();
        if !in_memory(&file) {
            eprintln!("/dev/shm is not tmpfs here: skipped");
            return;
        }
        let source = open_read(&root, Path::new("f"), 3, 64).expect("read in place");
        assert!(format!("{source:?}").contains("Bytes"), "{source:?}");
        assert_eq!(read(source).await, b"memory");
    }

    /// SECURITY.md P1, P2: nothing outside the root, through `..` or
    /// through links relative or absolute; nothing that is not a file.
    #[tokio::test]
    async fn sec_p2_ways_out_are_left_to_the_slow_path() {
        let (_dir, root) = root();
        for path in ["sub/out", "abs", "../x", "/etc/passwd", "sub/../../x", "missing"] {
            assert!(open_read(&root, Path::new(path), 0, 64).is_none(), "{path}");
            assert!(metadata(&root, Path::new(path)).is_none(), "{path}");
        }
        assert!(open_read(&root, Path::new("sub"), 0, 64).is_none(), "a directory is not a download");
    }
}
