//! The two storages side by side: `MemoryFs` must answer every operation
//! as `LocalFs` does (the same errors, hence the same reply codes, RFC 959
//! 4.2), and must keep clients inside it as `LocalFs` keeps them inside its
//! root (SECURITY.md P1).

mod support;

use ftp_session::server::{ListFormat, StorageError, VirtualPath};
use ftp_tokio::auth::Access;
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::storage::{LocalFs, Principal, Storage, WriteMode, format_listing};
use support::{Ftp, bounded, code, memory_options, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn v(s: &str) -> VirtualPath {
    VirtualPath::root().join(s.as_bytes())
}

/// A user who may write (the storage tests act as one).
fn rw() -> Principal {
    Principal::new(ftp_proto::Username::try_from("alice").unwrap(), Access::read_write())
}

async fn put(fs: &dyn Storage, path: &str, mode: WriteMode, bytes: &[u8]) -> Result<(), StorageError> {
    let mut sink = fs.open_write(&rw(), &v(path), mode).await?;
    sink.write_all(bytes).await.map_err(|_| StorageError::LocalError)?;
    sink.flush().await.map_err(|_| StorageError::LocalError)
}

async fn get(fs: &dyn Storage, path: &str, offset: u64) -> Result<Vec<u8>, StorageError> {
    let mut source = fs.open_read(&rw(), &v(path), offset).await?;
    let mut out = Vec::new();
    source.read_to_end(&mut out).await.map_err(|_| StorageError::LocalError)?;
    Ok(out)
}

/// `(name, is a directory, size of a file)` for each entry.
async fn names(fs: &dyn Storage, path: &str, all: bool) -> Result<Vec<(String, bool, Option<u64>)>, StorageError> {
    let entries = fs.entries(&rw(), &v(path), all).await?;
    Ok(entries
        .iter()
        .map(|e| {
            let dir = matches!(e.kind(), ftp_proto::listing::EntryKind::Directory);
            (e.name_str().unwrap().to_owned(), dir, if dir { None } else { e.size() })
        })
        .collect())
}

/// One script of operations, each result written down as text.
async fn script(fs: &dyn Storage) -> Vec<String> {
    let mut log = Vec::new();
    macro_rules! step {
        ($e:expr) => {
            log.push(format!("{} => {:?}", stringify!($e), $e))
        };
    }
    step!(fs.make_dir(&rw(), &v("a")).await);
    step!(fs.make_dir(&rw(), &v("a")).await);
    step!(fs.make_dir(&rw(), &v("x/y")).await);
    step!(put(fs, "a/f", WriteMode::Replace, b"hello").await);
    step!(fs.size(&rw(), &v("a/f")).await);
    step!(put(fs, "a/f", WriteMode::Append, b" world").await);
    step!(get(fs, "a/f", 0).await);
    step!(put(fs, "a/f", WriteMode::Resume(3), b"LO").await);
    step!(get(fs, "a/f", 0).await);
    step!(get(fs, "a/f", 2).await);
    step!(get(fs, "a/f", 99).await);
    step!(put(fs, "a/f", WriteMode::CreateNew, b"no").await);
    step!(put(fs, "a/new", WriteMode::CreateNew, b"yes").await);
    // MFMT (draft-somers-ftp-mfxx 3): the time set is the time read back.
    let t = ftp_proto::Timestamp::new(2020, 1, 2, 3, 4, 5).unwrap();
    step!(fs.capabilities().contains(ftp_session::server::StorageCapabilities::SET_MODIFIED));
    step!(fs.set_modified(&rw(), &v("a/new"), t).await);
    step!(fs.modified(&rw(), &v("a/new")).await.map(|t| t.to_string()));
    step!(fs.set_modified(&rw(), &v("a"), t).await);
    step!(fs.modified(&rw(), &v("a")).await.map(|t| t.to_string()));
    step!(fs.set_modified(&rw(), &v("a/missing"), t).await);
    step!(put(fs, "a", WriteMode::Replace, b"onto a directory").await);
    step!(put(fs, "missing/f", WriteMode::Replace, b"no parent").await);
    step!(put(fs, "/", WriteMode::Replace, b"the root").await);
    step!(put(fs, ".hidden", WriteMode::Replace, b"h").await);
    step!(get(fs, "a", 0).await);
    step!(get(fs, "a/nothing", 0).await);
    step!(fs.size(&rw(), &v("a")).await);
    step!(fs.change_dir(&rw(), &v("a")).await);
    step!(fs.change_dir(&rw(), &v("a/f")).await);
    step!(fs.change_dir(&rw(), &v("a/nothing")).await);
    step!(fs.change_dir(&rw(), &v("/")).await);
    step!(names(fs, "/", false).await);
    step!(names(fs, "/", true).await);
    step!(names(fs, "a", false).await);
    step!(names(fs, "a/f", false).await);
    step!(names(fs, "nothing", false).await);
    step!(fs.modified(&rw(), &v("a/f")).await.is_ok());
    step!(fs.modified(&rw(), &v("a/nothing")).await);
    step!(fs.delete(&rw(), &v("a")).await);
    step!(fs.delete(&rw(), &v("a/nothing")).await);
    step!(fs.remove_dir(&rw(), &v("a")).await);
    step!(fs.remove_dir(&rw(), &v("a/f")).await);
    step!(fs.remove_dir(&rw(), &v("/")).await);
    step!(fs.rename(&rw(), &v("a/f"), &v("a/g")).await);
    step!(fs.rename(&rw(), &v("a/f"), &v("a/h")).await);
    step!(fs.rename(&rw(), &v("a/g"), &v("nowhere/g")).await);
    step!(fs.rename(&rw(), &v("a"), &v("a/inside")).await);
    step!(fs.make_dir(&rw(), &v("d")).await);
    step!(fs.rename(&rw(), &v("a/g"), &v("d")).await);
    step!(fs.rename(&rw(), &v("d"), &v("a/g")).await);
    step!(fs.rename(&rw(), &v("a/g"), &v("a/new")).await);
    step!(get(fs, "a/new", 0).await);
    step!(fs.rename(&rw(), &v("d"), &v("e")).await);
    step!(names(fs, "/", false).await);
    step!(fs.delete(&rw(), &v("a/new")).await);
    step!(fs.remove_dir(&rw(), &v("a")).await);
    step!(fs.rename(&rw(), &v("/"), &v("z")).await);
    step!(names(fs, "/", true).await);
    log
}

/// MemoryFs answers exactly as LocalFs: the same results and the same
/// errors (so the same reply codes, RFC 959 4.2) for one script of
/// operations, error cases included.
#[tokio::test]
async fn rfc959_4_2_memory_fs_answers_as_local_fs() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalFs::new(dir.path()).unwrap();
    let memory = MemoryFs::new();
    let (expected, got) = (script(&local).await, script(&memory).await);
    for (e, g) in expected.iter().zip(&got) {
        assert_eq!(e, g);
    }
    assert_eq!(expected.len(), got.len());
    let set = expected.iter().filter(|l| l.ends_with("=> Ok(\"20200102030405\")")).count();
    assert_eq!(set, 2, "MFMT set the file's and the directory's time: {expected:#?}");
}

/// The listings of both storages are the same lines (up to the dates),
/// written by one formatter (RFC 959 NLST, RFC 3659 7 MLSD).
#[tokio::test]
async fn rfc3659_7_listings_are_written_alike() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("b.txt"), b"12345").unwrap();
    let local = LocalFs::new(dir.path()).unwrap();
    let memory = MemoryFs::new();
    memory.create_dir_all("sub").unwrap();
    memory.write_file("b.txt", b"12345").unwrap();
    let now = ftp_proto::Timestamp::new(2030, 1, 1, 0, 0, 0).unwrap();
    let root = VirtualPath::root();
    let l = local.entries(&rw(), &root, false).await.unwrap();
    let m = memory.entries(&rw(), &root, false).await.unwrap();
    assert_eq!(format_listing(&l, ListFormat::Nlst, &[], now), format_listing(&m, ListFormat::Nlst, &[], now));
    let mlsd = |e: &[ftp_proto::listing::Entry]| {
        let text =
            String::from_utf8(format_listing(e, ListFormat::Mlsd, &["type", "size", "modify", "perm"], now).to_vec())
                .unwrap();
        // Only the facts that do not depend on the disk: type, and size of files.
        text.lines()
            .map(|line| {
                let (facts, name) = line.split_once(' ').unwrap();
                let kept: Vec<&str> = facts
                    .split(';')
                    .filter(|f| f.starts_with("type=") || (f.starts_with("size=") && !facts.contains("type=dir")))
                    .collect();
                format!("{} {name}", kept.join(";"))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(mlsd(&l), vec!["type=file;size=5 b.txt", "type=dir sub"]);
    assert_eq!(mlsd(&l), mlsd(&m));
}

/// SECURITY.md P1 (CVE-1999-0201 class): through the server, `..` never
/// leaves a MemoryFs; anonymous users are read-only; a named writable user
/// can upload, and the bytes land in the tree.
#[tokio::test]
async fn sec_p1_memory_fs_through_the_server() {
    bounded(2, async {
        let fs = MemoryFs::new();
        fs.write_file("pub/a.txt", b"alpha").unwrap();
        let server = serve(memory_options(&fs)).await;
        let (mut c, greeting) = Ftp::connect(server.addr).await;
        assert_eq!(code(&greeting), 220);
        c.login("anonymous", "guest@").await;
        assert_eq!(c.code("CWD ../../..").await, 250);
        assert!(reply_text(&c.cmd("PWD").await).contains("\"/\""));
        assert_eq!(c.code("SIZE ../../pub/a.txt").await, 213);
        let (first, _, last) = c.download("RETR ../../../etc/passwd").await;
        assert_eq!((first, last), (550, 550));
        let (_, list, last) = c.download("NLST ../../pub").await;
        assert_eq!((list, last), (b"a.txt\r\n".to_vec(), 226));
        let (first, bytes, last) = c.download("RETR /../pub/a.txt").await;
        assert_eq!((first, bytes, last), (125, b"alpha".to_vec(), 226));
        assert_eq!(c.upload("STOR ../../pub/b.txt", b"nope").await, (550, 550), "anonymous is read-only");
        assert_eq!(c.code("USER alice").await, 331);
        assert_eq!(c.code("PASS secret").await, 230);
        assert_eq!(c.upload("STOR ../../pub/b.txt", b"beta").await, (125, 226));
        assert_eq!(fs.read_file("pub/b.txt").as_deref(), Some(&b"beta"[..]));
        assert_eq!(c.code("MKD ../../x").await, 257);
        assert_eq!(c.code("CWD /x").await, 250);
        assert_eq!(c.upload("STOU", b"unique").await, (125, 226));
        assert_eq!(c.upload("STOU", b"unique too").await, (125, 226));
        assert_eq!(fs.read_file("x/ftpkit.upload").as_deref(), Some(&b"unique"[..]));
        assert_eq!(fs.read_file("x/ftpkit.upload.1").as_deref(), Some(&b"unique too"[..]));
        assert_eq!(c.code("QUIT").await, 221);
    })
    .await;
}
