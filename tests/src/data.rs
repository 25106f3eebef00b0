//! Deterministic test data and SHA-256 comparison.
//!
//! Files are pseudo-random (splitmix64 from a seed), so any size can be
//! produced and re-produced as a stream without keeping it in memory, and
//! every transfer is checked byte for byte through its SHA-256.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Buffer size for file copies and hashing.
const CHUNK: usize = 1 << 20;

/// A deterministic pseudo-random byte stream of a given length: the same
/// seed and length always give the same bytes. Implements [`Read`] and
/// tokio's [`AsyncRead`] (always ready).
#[derive(Debug, Clone)]
pub struct PseudoRandom {
    state: u64,
    remaining: u64,
    word: [u8; 8],
    used: usize,
}

impl PseudoRandom {
    /// `len` bytes from `seed`.
    #[must_use]
    pub fn new(seed: u64, len: u64) -> Self {
        Self { state: seed ^ 0x6a09_e667_f3bc_c908, remaining: len, word: [0; 8], used: 8 }
    }

    /// Bytes not yet produced.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn next_word(&mut self) -> [u8; 8] {
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_le_bytes()
    }

    /// Fills as much of `out` as the stream has left; returns the count.
    pub fn fill(&mut self, out: &mut [u8]) -> usize {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(out.len());
        let out = &mut out[..n];
        let mut i = 0;
        while i < n && self.used < 8 {
            out[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        let mut words = out[i..].chunks_exact_mut(8);
        for chunk in &mut words {
            chunk.copy_from_slice(&self.next_word());
        }
        let tail = words.into_remainder();
        if !tail.is_empty() {
            self.word = self.next_word();
            tail.copy_from_slice(&self.word[..tail.len()]);
            self.used = tail.len();
        }
        self.remaining -= n as u64;
        n
    }
}

impl Read for PseudoRandom {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl AsyncRead for PseudoRandom {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = this.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// `len` pseudo-random bytes from `seed`, in memory (for small files).
#[must_use]
pub fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    let n = PseudoRandom::new(seed, len as u64).fill(&mut out);
    debug_assert_eq!(n, len);
    out
}

/// Writes `len` pseudo-random bytes from `seed` to `path`, streamed;
/// returns their SHA-256 (hex).
///
/// # Panics
/// The file cannot be written.
pub fn write_pseudo_random_file(path: &Path, seed: u64, len: u64) -> String {
    let mut file = io::BufWriter::with_capacity(CHUNK, std::fs::File::create(path).expect("create file"));
    let mut source = PseudoRandom::new(seed, len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0; CHUNK];
    loop {
        let n = source.fill(&mut buf);
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).expect("write file");
    }
    file.flush().expect("flush file");
    hex(&hasher.finalize())
}

/// The SHA-256 of a pseudo-random stream, computed without storing it.
#[must_use]
pub fn pseudo_random_sha256(seed: u64, len: u64) -> String {
    sha256_reader(PseudoRandom::new(seed, len))
}

/// The SHA-256 of `bytes` (hex).
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of everything `reader` yields (hex).
///
/// # Panics
/// A read fails.
#[must_use]
pub fn sha256_reader(mut reader: impl Read) -> String {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; CHUNK];
    loop {
        let n = reader.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex(&hasher.finalize())
}

/// The SHA-256 of a file (hex), streamed.
///
/// # Panics
/// The file cannot be read.
#[must_use]
pub fn sha256_file(path: &Path) -> String {
    sha256_reader(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// An [`AsyncWrite`] sink that keeps only the SHA-256 and the length of
/// what is written: downloads of any size in constant memory.
#[derive(Debug, Default, Clone)]
pub struct HashingWriter {
    hasher: Sha256,
    len: u64,
}

impl HashingWriter {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 (hex) of everything written.
    #[must_use]
    pub fn sha256(self) -> String {
        hex(&self.hasher.finalize())
    }
}

impl AsyncWrite for HashingWriter {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.hasher.update(buf);
        this.len += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An [`AsyncWrite`] sink that checks, byte for byte, that what is written
/// is exactly a [`PseudoRandom`] stream: verifies downloads of any size in
/// constant memory, without the cost of hashing (SHA-256 runs at about
/// 30 MB/s in the unoptimised builds `cargo test` makes).
#[derive(Debug, Clone)]
pub struct VerifyingWriter {
    expected: PseudoRandom,
    offset: u64,
    mismatch: Option<u64>,
    scratch: Vec<u8>,
}

impl VerifyingWriter {
    /// Expects the `len` bytes of `seed`.
    #[must_use]
    pub fn new(seed: u64, len: u64) -> Self {
        Self { expected: PseudoRandom::new(seed, len), offset: 0, mismatch: None, scratch: Vec::new() }
    }

    /// `Ok(len)` when exactly the expected bytes arrived, else where they
    /// first differed or how many were missing.
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn finish(self) -> Result<u64, String> {
        if let Some(at) = self.mismatch {
            return Err(format!("bytes differ from offset {at}"));
        }
        if self.expected.remaining() > 0 {
            return Err(format!("{} bytes missing after offset {}", self.expected.remaining(), self.offset));
        }
        Ok(self.offset)
    }

    fn check(&mut self, buf: &[u8]) {
        self.scratch.resize(buf.len(), 0);
        let n = self.expected.fill(&mut self.scratch);
        if self.mismatch.is_none() {
            if let Some(i) = buf[..n].iter().zip(&self.scratch[..n]).position(|(a, b)| a != b) {
                self.mismatch = Some(self.offset + i as u64);
            } else if n < buf.len() {
                self.mismatch = Some(self.offset + n as u64);
            }
        }
        self.offset += buf.len() as u64;
    }
}

impl AsyncWrite for VerifyingWriter {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().check(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Checks that the file at `path` holds exactly the `len` pseudo-random
/// bytes of `seed`, streamed (see [`VerifyingWriter`]).
///
/// # Errors
/// The file cannot be read, or where it first differs.
pub fn verify_file(path: &Path, seed: u64, len: u64) -> Result<u64, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut check = VerifyingWriter::new(seed, len);
    let mut buf = vec![0; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        check.check(&buf[..n]);
    }
    check.finish()
}

/// A directory tree's contents: relative path (with `/` separators; a
/// directory's ends in `/`) to the file's SHA-256, or `None` for a
/// directory. Symbolic links and special files are left out.
pub type TreeDigest = BTreeMap<String, Option<String>>;

/// The [`TreeDigest`] of the tree under `root` (not including `root`).
///
/// # Panics
/// The tree cannot be read.
#[must_use]
pub fn tree_digest(root: &Path) -> TreeDigest {
    fn walk(dir: &Path, prefix: &str, out: &mut TreeDigest) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry"))
            .collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().into_string().expect("UTF-8 name");
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                let path = format!("{prefix}{name}/");
                out.insert(path.clone(), None);
                walk(&entry.path(), &path, out);
            } else if kind.is_file() {
                out.insert(format!("{prefix}{name}"), Some(sha256_file(&entry.path())));
            }
        }
    }
    let mut out = TreeDigest::new();
    walk(root, "", &mut out);
    out
}

/// Builds the standard tree for mirror tests under `root` (which must
/// exist): nested directories, several files of different sizes, an empty
/// file, an empty directory, and names with spaces. Returns its digest.
///
/// # Panics
/// The tree cannot be written.
pub fn make_tree(root: &Path, seed: u64) -> TreeDigest {
    let files: [(&str, u64); 8] = [
        ("top.bin", 100_000),
        ("empty.txt", 0),
        ("name with spaces.txt", 1_234),
        ("nested/small.txt", 17),
        ("nested/deeper/deep.bin", 1_048_577),
        ("nested/deeper/deepest/leaf.dat", 65_536),
        ("dir with space/inner file.bin", 300_001),
        ("dir with space/empty.bin", 0),
    ];
    std::fs::create_dir_all(root.join("nested/empty dir")).expect("mkdir");
    for (i, (name, len)) in files.iter().enumerate() {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let _ = write_pseudo_random_file(&path, seed.wrapping_add(i as u64), *len);
    }
    tree_digest(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_random_is_deterministic_however_read() {
        let whole = pseudo_random_bytes(7, 1000);
        let mut pieces = Vec::new();
        let mut source = PseudoRandom::new(7, 1000);
        for size in [1, 3, 8, 13, 100, 999].iter().cycle() {
            let mut buf = vec![0; *size];
            let n = source.fill(&mut buf);
            if n == 0 {
                break;
            }
            pieces.extend_from_slice(&buf[..n]);
        }
        assert_eq!(whole, pieces);
        assert_ne!(whole, pseudo_random_bytes(8, 1000));
        assert_eq!(pseudo_random_sha256(7, 1000), sha256_hex(&whole));
    }

    #[test]
    fn verifying_writer_finds_the_first_difference() {
        let mut good = VerifyingWriter::new(3, 100);
        good.check(&pseudo_random_bytes(3, 100));
        assert_eq!(good.finish(), Ok(100));
        let mut bytes = pseudo_random_bytes(3, 100);
        bytes[42] ^= 1;
        let mut bad = VerifyingWriter::new(3, 100);
        bad.check(&bytes[..50]);
        bad.check(&bytes[50..]);
        assert_eq!(bad.finish(), Err("bytes differ from offset 42".to_owned()));
        let mut short = VerifyingWriter::new(3, 100);
        short.check(&pseudo_random_bytes(3, 99));
        assert!(short.finish().is_err());
        let mut long = VerifyingWriter::new(3, 99);
        long.check(&pseudo_random_bytes(3, 100));
        assert_eq!(long.finish(), Err("bytes differ from offset 99".to_owned()));
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
