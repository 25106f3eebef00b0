//! Commands real clients send, through the real tokio server on loopback
//! (issue 15): the SITE subcommands FileZilla, WinSCP, ncftp and lftp use,
//! and FileZilla's feature probing. Both storages; every wait bounded.

#[macro_use]
mod support;

use ftp_proto::Timestamp;
use ftp_proto::listing::Entry;
use ftp_session::server::{StorageCapabilities, StorageError, VirtualPath};
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{ServerOptions, User};
use ftp_tokio::storage::{BoxFuture, FileSink, FileSource, LocalFs, Principal, Storage, WriteMode};
use support::{Ftp, bounded, code, loopback, memory_options, reply_text, serve};
use tokio::io::AsyncWriteExt;

fn local_options(root: &std::path::Path) -> ServerOptions {
    let mut options = ServerOptions::new(loopback(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

/// Both storages, each with a file `f` and a read-only user `bob`.
fn storages() -> (tempfile::TempDir, Vec<(&'static str, ServerOptions)>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let fs = MemoryFs::new();
    fs.write_file("f", b"x").unwrap();
    let mut all = vec![("LocalFs", local_options(dir.path())), ("MemoryFs", memory_options(&fs))];
    for (_, options) in &mut all {
        options.users.push(User { name: "bob".into(), password: "pw".into(), writable: false });
    }
    (dir, all)
}

async fn login(server: &support::Running, user: &str, password: &str) -> Ftp {
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login(user, password).await;
    ftp
}

async fn listing_of(ftp: &mut Ftp, name: &str) -> String {
    let (_, listing, _) = ftp.download(&format!("LIST {name}")).await;
    String::from_utf8(listing).unwrap()
}

/// RFC 959 4.1.3 SITE (proftpd's and wu-ftpd's subcommands): SITE HELP
/// lists CHMOD, HELP, IDLE, UMASK and UTIME; CHMOD changes the mode (LIST shows
/// it), both UTIME forms change the time (MDTM shows it); a read-only user
/// gets 550 and changes nothing; paths stay inside the root (SECURITY.md
/// P1); bad arguments are 501 and unknown subcommands 500, and none of it
/// ends the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_4_1_3_site_chmod_utime_help_idle() {
    let (_dir, all) = storages();
    for (name, options) in all {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            let help = reply_text(&ftp.cmd("SITE HELP").await);
            assert!(help.contains(" CHMOD HELP IDLE UMASK UTIME"), "{name}: {help}");
            let reply = ftp.cmd("SITE CHMOD 600 f").await;
            assert_eq!(reply_text(&reply).trim_end(), "200 SITE CHMOD command successful.", "{name}");
            assert!(listing_of(&mut ftp, "f").await.starts_with("-rw------- "), "{name}");
            assert_eq!(ftp.code("SITE UTIME 20210304050607 f").await, 200, "{name}");
            assert_eq!(reply_text(&ftp.cmd("MDTM f").await).trim_end(), "213 20210304050607", "{name}");
            let five = "SITE UTIME f 20190101000000 20220304050607 20190101000000 UTC";
            assert_eq!(ftp.code(five).await, 200, "{name}");
            assert_eq!(reply_text(&ftp.cmd("MDTM f").await).trim_end(), "213 20220304050607", "{name}");
            assert_eq!(ftp.code("SITE CHMOD 644 ../../../etc/passwd").await, 550, "{name}: confined");
            assert_eq!(ftp.code("SITE CHMOD 644 missing").await, 550, "{name}");
            for (line, want) in [("SITE CHMOD 888 f", 501), ("SITE UTIME yesterday f", 501), ("SITE EXEC sh", 500)] {
                assert_eq!(ftp.code(line).await, want, "{name}: {line}");
            }
            assert_eq!(ftp.code("SITE IDLE 120").await, 200, "{name}");
            assert_eq!(ftp.code("NOOP").await, 200, "{name}: the session goes on");

            let mut bob = login(&server, "bob", "pw").await;
            assert_eq!(bob.code("SITE CHMOD 777 f").await, 550, "{name}: read-only user");
            assert_eq!(bob.code("SITE UTIME 20000101000000 f").await, 550, "{name}: read-only user");
            assert!(listing_of(&mut bob, "f").await.starts_with("-rw------- "), "{name}: unchanged");
        })
        .await;
    }
}

/// The mode a listing line shows, as `ls -l` letters (`-rw-r-----`).
async fn mode_of(ftp: &mut Ftp, name: &str) -> String {
    listing_of(ftp, name).await.split(' ').next().unwrap_or_default().to_owned()
}

/// RFC 959 4.1.3 SITE UMASK (vsftpd's): reports the mask, sets it for the
/// session; files STOR, APPE and STOU create get `666 & !mask` and MKD's
/// directories `777 & !mask`, exactly (the process umask does not narrow
/// them further), while a file that existed keeps its mode; REIN resets it;
/// bad masks are 501. On both storages, and on LocalFs the modes on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_4_1_3_site_umask_sets_the_mode_of_new_files() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, all) = storages();
    for (name, options) in all {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            assert_eq!(reply_text(&ftp.cmd("SITE UMASK").await).trim_end(), "200 Current UMASK is 022.", "{name}");
            assert_eq!(reply_text(&ftp.cmd("SITE UMASK 002").await).trim_end(), "200 UMASK set to 002.", "{name}");
            assert_eq!(reply_text(&ftp.cmd("SITE UMASK").await).trim_end(), "200 Current UMASK is 002.", "{name}");
            assert_eq!(ftp.upload("STOR shared", b"group-writable").await.1, 226, "{name}");
            assert_eq!(mode_of(&mut ftp, "shared").await, "-rw-rw-r--", "{name}: 664, wider than a 022 process umask");
            assert_eq!(ftp.code("MKD team").await, 257, "{name}");
            assert_eq!(mode_of(&mut ftp, "team").await.len(), 0, "{name}: LIST of an empty directory");
            assert_eq!(ftp.code("SITE UMASK 077").await, 200, "{name}");
            assert_eq!(ftp.upload("STOR private", b"mine").await.1, 226, "{name}");
            assert_eq!(mode_of(&mut ftp, "private").await, "-rw-------", "{name}");
            assert_eq!(ftp.upload("APPE appended", b"log").await.1, 226, "{name}");
            assert_eq!(mode_of(&mut ftp, "appended").await, "-rw-------", "{name}: APPE creating a file");
            assert_eq!(ftp.upload("STOR shared", b"again").await.1, 226, "{name}");
            assert_eq!(mode_of(&mut ftp, "shared").await, "-rw-rw-r--", "{name}: an existing file keeps its mode");
            assert_eq!(ftp.code("MKD secret").await, 257, "{name}");
            assert_eq!(ftp.code("OPTS MLST type;UNIX.mode;").await, 200, "{name}");
            let (_, mlst, _) = ftp.download("MLSD").await;
            let mlst = String::from_utf8(mlst).unwrap();
            let facts =
                |entry: &str| mlst.lines().find(|l| l.ends_with(&format!(" {entry}"))).unwrap_or_default().to_owned();
            assert!(facts("secret").contains("UNIX.mode=0700;"), "{name}: {mlst}");
            assert!(facts("team").contains("UNIX.mode=0775;"), "{name}: {mlst}");
            for line in ["SITE UMASK 888", "SITE UMASK 1000", "SITE UMASK 22 x", "SITE UMASK -1"] {
                assert_eq!(ftp.code(line).await, 501, "{name}: {line}");
            }
            assert_eq!(ftp.code("REIN").await, 220, "{name}");
            ftp.login("alice", "secret").await;
            assert_eq!(
                reply_text(&ftp.cmd("SITE UMASK").await).trim_end(),
                "200 Current UMASK is 022.",
                "{name}: REIN"
            );
            for path in ["shared", "private", "appended", "team", "secret"] {
                let kind = if path == "team" || path == "secret" { "RMD" } else { "DELE" };
                assert_eq!(ftp.code(&format!("{kind} {path}")).await, 250, "{name}: {kind} {path}");
            }
        })
        .await;
        if name == "LocalFs" {
            // Checked on disk after the listing said so: nothing is left.
            assert!(!dir.path().join("shared").exists());
        }
    }
    // On disk, with a fresh server on LocalFs.
    let server = serve(local_options(dir.path())).await;
    bounded(1, async {
        let mut ftp = login(&server, "alice", "secret").await;
        assert_eq!(ftp.code("SITE UMASK 007").await, 200);
        assert_eq!(ftp.upload("STOR disk", b"bytes").await.1, 226);
        assert_eq!(ftp.code("MKD diskdir").await, 257);
        let stou = reply_text(&ftp.cmd("SITE UMASK 000").await);
        assert!(stou.starts_with("200"), "{stou}");
        assert_eq!(ftp.upload("STOU", b"unique").await.1, 226);
    })
    .await;
    let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("disk"), 0o660);
    assert_eq!(mode("diskdir"), 0o770);
    let unique = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| std::fs::read(e.path()).ok().as_deref() == Some(b"unique"))
        .expect("the STOU file");
    assert_eq!(unique.metadata().unwrap().permissions().mode() & 0o777, 0o666, "STOU with umask 000");
}

/// LocalFs without `CREATE_MODE`: every other operation and capability
/// forwarded.
struct NoCreateMode(LocalFs);

impl Storage for NoCreateMode {
    forward_required_storage! { 0, |_: &Self, _: &Principal| ();
        set_modified(path: &'a VirtualPath, time: Timestamp) -> ();
        set_mode(path: &'a VirtualPath, mode: u32) -> ();
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::SET_MODIFIED.with(StorageCapabilities::SET_MODE)
    }
}

/// SITE UMASK needs a storage that can create with a mode
/// (`StorageCapabilities::CREATE_MODE`): without it, it is not in SITE HELP
/// and answers 500 like any unknown subcommand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_umask_only_where_the_storage_creates_with_a_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = local_options(dir.path());
    options.storage = Some(std::sync::Arc::new(NoCreateMode(LocalFs::new(dir.path()).unwrap())));
    let server = serve(options).await;
    bounded(1, async {
        let mut ftp = login(&server, "alice", "secret").await;
        let help = reply_text(&ftp.cmd("SITE HELP").await);
        assert!(!help.contains("UMASK"), "{help}");
        assert_eq!(ftp.code("SITE UMASK 022").await, 500);
        assert_eq!(ftp.code("NOOP").await, 200);
    })
    .await;
}

/// RFC 959 4.1.3 ALLO through the real server: LocalFs knows the space
/// free beneath the working directory (statvfs on a descriptor opened
/// beneath the root), so a size that fits is 200 and one no disk has is
/// 452; MemoryFs cannot tell, so ALLO is 202 (superfluous) there. The
/// session goes on either way, and the upload after it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_4_1_3_allo_is_checked_against_free_space() {
    let (_dir, all) = storages();
    for (name, options) in all {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            let fits = reply_text(&ftp.cmd("ALLO 10").await);
            let huge = reply_text(&ftp.cmd(&format!("ALLO {}", u64::MAX)).await);
            if name == "LocalFs" {
                assert!(fits.starts_with("200 ALLO OK: "), "{name}: {fits}");
                assert!(huge.starts_with("452 Insufficient storage space"), "{name}: {huge}");
            } else {
                assert!(fits.starts_with("202") && huge.starts_with("202"), "{name}: {fits} {huge}");
            }
            assert_eq!(ftp.code("ALLO 5 R 10").await, if name == "LocalFs" { 200 } else { 202 }, "{name}");
            assert_eq!(ftp.upload("STOR allocated", b"12345").await.1, 226, "{name}");
            assert_eq!(ftp.code("DELE allocated").await, 250, "{name}");
        })
        .await;
    }
}

/// Issue 15: FileZilla-style feature probing (FEAT, OPTS UTF8 ON, SITE
/// HELP, MFMT, CLNT, MODE Z) is answered without ending the session, each
/// with a code from its RFC (MODE Z: RFC 959 4.2.1 504), and the session
/// then transfers as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filezilla_probing_leaves_the_session_usable() {
    let (_dir, all) = storages();
    for (name, options) in all {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            let feat = ftp.cmd("FEAT").await;
            assert_eq!(code(&feat), 211, "{name}");
            for (line, want) in [
                ("OPTS UTF8 ON", 200),
                ("SITE HELP", 214),
                ("MFMT 20240101000000 f", 213),
                ("CLNT FileZilla 3.66.0", 502),
                ("MODE Z", 504),
                ("OPTS MODE Z LEVEL 1", 501),
                ("PWD", 257),
            ] {
                assert_eq!(ftp.code(line).await, want, "{name}: {line}");
            }
            let (_, bytes, done) = ftp.download("RETR f").await;
            assert_eq!((bytes.as_slice(), done), (&b"x"[..], 226), "{name}: still usable");
        })
        .await;
    }
}

/// RFC 959 4.1.3 NLST and SECURITY.md P3, as `mget *.txt` and
/// `mget dir/*.txt` send them: the matching names, with the directory as
/// given; LIST takes patterns too; hidden files only with a leading dot;
/// no match is an empty listing; MLSD and SIZE take `*` literally (550).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_p3_nlst_patterns_for_mget() {
    let dir = tempfile::tempdir().unwrap();
    let fs = MemoryFs::new();
    for name in ["a.txt", "b.txt", "c.log", ".h.txt", "dir/x.txt", "dir/y.bin"] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"x").unwrap();
        fs.write_file(name, b"x").unwrap();
    }
    for (name, options) in [("LocalFs", local_options(dir.path())), ("MemoryFs", memory_options(&fs))] {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            for (line, want) in [
                ("NLST *.txt", "a.txt\r\nb.txt\r\n"),
                ("NLST dir/*.txt", "dir/x.txt\r\n"),
                ("NLST [ab].txt", "a.txt\r\nb.txt\r\n"),
                ("NLST .*.txt", ".h.txt\r\n"),
                ("NLST *.none", ""),
            ] {
                let (_, body, done) = ftp.download(line).await;
                assert_eq!((String::from_utf8(body).unwrap().as_str(), done), (want, 226), "{name}: {line}");
            }
            let listing = listing_of(&mut ftp, "dir/*.bin").await;
            assert!(listing.starts_with('-') && listing.trim_end().ends_with(" dir/y.bin"), "{name}: {listing}");
            assert_eq!(listing.lines().count(), 1, "{name}: {listing}");
            assert_eq!(ftp.code("SIZE *.txt").await, 550, "{name}: SIZE never globs");
            ftp.send("EPSV").await;
            let _ = ftp.reply().await;
            assert_eq!(ftp.code("MLSD *.txt").await, 550, "{name}: MLSD never globs");
        })
        .await;
    }
}

/// RFC 3659 5.3 (REST), through the real server on both storages: RETR
/// from a marker sends the rest; a marker past the end is 554 before any
/// data connection is used (never 150 then nothing); APPE with a marker
/// acts as STOR at the marker; STOU with a marker is 554; a marker in
/// TYPE A is 554 (SIZE counts stored bytes, SECURITY.md P5, and is asked
/// in TYPE A without converting anything); a huge REST is
/// 501 (N3); none of it ends the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3659_5_rest_with_each_transfer_command() {
    let (_dir, all) = storages();
    for (name, options) in all {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            assert_eq!(ftp.code("TYPE I").await, 200);
            assert_eq!(ftp.upload("STOR r.bin", b"0123456789").await.1, 226, "{name}");
            assert_eq!(ftp.code("REST 4").await, 350);
            let (_, bytes, done) = ftp.download("RETR r.bin").await;
            assert_eq!((bytes.as_slice(), done), (&b"456789"[..], 226), "{name}: RETR from the marker");

            assert_eq!(ftp.code("REST 11").await, 350);
            let (first, bytes, _) = ftp.download("RETR r.bin").await;
            assert_eq!((first, bytes.len()), (554, 0), "{name}: past the end, refused before any data");
            assert_eq!(ftp.code("REST 3").await, 350);
            assert_eq!(ftp.upload("APPE r.bin", b"abc").await.1, 226, "{name}");
            let (_, bytes, _) = ftp.download("RETR r.bin").await;
            assert_eq!(bytes, b"012abc", "{name}: APPE with a marker is STOR at the marker");
            assert_eq!(ftp.upload("APPE r.bin", b"!").await.1, 226, "{name}");
            let (_, bytes, _) = ftp.download("RETR r.bin").await;
            assert_eq!(bytes, b"012abc!", "{name}: APPE without a marker appends");
            assert_eq!(ftp.code("REST 99").await, 350);
            assert_eq!(ftp.upload("STOR r.bin", b"x").await.0, 554, "{name}: STOR past the end");
            assert_eq!(ftp.code("REST 2").await, 350);
            assert_eq!(ftp.upload("STOU", b"x").await.0, 554, "{name}: STOU with a marker");
            assert_eq!(ftp.code("TYPE A").await, 200);
            let size = reply_text(&ftp.cmd("SIZE r.bin").await);
            assert_eq!(size.trim_end(), "213 7", "{name}: SIZE in TYPE A is the stored size (P5)");
            assert_eq!(ftp.code("REST 2").await, 350);
            assert_eq!(ftp.download("RETR r.bin").await.0, 554, "{name}: a marker in TYPE A");
            assert_eq!(ftp.code("REST 0").await, 350);
            assert_eq!(ftp.download("RETR r.bin").await.2, 226, "{name}: REST 0 is the whole file");
            assert_eq!(ftp.code("REST 99999999999999999999999").await, 501, "{name}: overflow (N3)");
            let (_, bytes, _) = ftp.download("RETR r.bin").await;
            assert_eq!(bytes, b"012abc!", "{name}: the refused REST left no marker");
        })
        .await;
    }
}

/// RFC 959 4.2.1 and 5.3, RFC 3659 7.9, through the real server: every
/// TYPE form RFC 959 allows is 200 or 504 (never a syntax error), OPTS MLST
/// with a malformed list is 501, a line over the limit is 500, and the
/// session goes on after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_4_2_1_grammar_and_refusal_codes() {
    let (_dir, all) = storages();
    let (_, options) = all.into_iter().next().unwrap();
    let server = serve(options).await;
    bounded(1, async {
        let mut ftp = login(&server, "alice", "secret").await;
        for (line, want) in [
            ("TYPE A", 200),
            ("TYPE A N", 200),
            ("TYPE I", 200),
            ("TYPE L 8", 200),
            ("TYPE A T", 504),
            ("TYPE A C", 504),
            ("TYPE E", 504),
            ("TYPE L 7", 504),
            ("TYPE X", 504), // as proftpd and pyftpdlib: not a type this server has
            ("OPTS MLST type;;size;", 501),
            ("OPTS MLST type;size;", 200),
            ("MODE S", 200),
            ("MODE B", 504),
            ("STRU F", 200),
            ("STRU R", 504),
        ] {
            assert_eq!(ftp.code(line).await, want, "{line}");
        }
        let long = format!("NOOP {}", "x".repeat(5000));
        assert_eq!(ftp.code(&long).await, 500, "a line over the limit (RFC 959 4.2.1: 500)");
        assert_eq!(ftp.code("NOOP").await, 200, "the session goes on");
    })
    .await;
}

/// RFC 2640 3.1: a pathname holding CR travels as CR NUL on the control
/// connection; STOR, RETR, SIZE, RNFR/RNTO and DELE of such a name work on
/// both storages (LocalFs stores the CR itself), and the control stream
/// stays in step after each (NOOP answers 200).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2640_3_1_names_with_cr() {
    let dir = tempfile::tempdir().unwrap();
    let fs = MemoryFs::new();
    for (name, options) in [("LocalFs", local_options(dir.path())), ("MemoryFs", memory_options(&fs))] {
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            assert_eq!(ftp.code("TYPE I").await, 200);
            assert_eq!(ftp.upload("STOR odd\r\0name", b"cr").await.1, 226, "{name}");
            assert_eq!(ftp.code("NOOP").await, 200, "{name}: in step");
            if name == "LocalFs" {
                assert!(dir.path().join("odd\rname").is_file(), "the CR is in the stored name");
            }
            let (_, bytes, done) = ftp.download("RETR odd\r\0name").await;
            assert_eq!((bytes.as_slice(), done), (&b"cr"[..], 226), "{name}");
            assert_eq!(reply_text(&ftp.cmd("SIZE odd\r\0name").await).trim_end(), "213 2", "{name}");
            assert_eq!(ftp.code("RNFR odd\r\0name").await, 350, "{name}");
            assert_eq!(ftp.code("RNTO two\r\0lines").await, 250, "{name}");
            assert_eq!(ftp.code("SIZE odd\r\0name").await, 550, "{name}: renamed away");
            assert_eq!(ftp.code("DELE two\r\0lines").await, 250, "{name}");
            assert_eq!(ftp.code("NOOP").await, 200, "{name}: in step");
        })
        .await;
    }
}

/// SECURITY.md X3 (issue 15: atomic uploads, as pure-ftpd's no-truncate
/// mode): with `atomic_uploads`, STOR writes a hidden temporary file that
/// replaces the target only when complete: a reader in another session
/// sees the old file while the upload runs, an aborted upload leaves the
/// old file and no temporary file, a complete one replaces it, and APPE
/// still appends in place. Both storages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_x3_atomic_uploads_never_show_half_a_file() {
    let (_dir, all) = storages();
    for (name, mut options) in all {
        options.atomic_uploads = true;
        let server = serve(options).await;
        bounded(1, async {
            let mut ftp = login(&server, "alice", "secret").await;
            assert_eq!(ftp.code("TYPE I").await, 200);
            assert_eq!(ftp.upload("STOR keep.txt", b"old").await.1, 226, "{name}");
            // An upload under way: half of it sent, the reader sees the old file.
            let to = ftp.epsv().await;
            let mut data = ftp.data(to).await;
            assert!(matches!(ftp.code("STOR keep.txt").await, 125 | 150), "{name}");
            data.write_all(b"new, but only half").await.unwrap();
            data.flush().await.unwrap();
            let mut reader = login(&server, "alice", "secret").await;
            assert_eq!(reader.code("TYPE I").await, 200);
            let (_, seen, _) = reader.download("RETR keep.txt").await;
            assert_eq!(seen, b"old", "{name}: a reader never sees half a file");
            // ABOR: the old file stays, the temporary file goes.
            ftp.send("ABOR").await;
            let aborted = code(&ftp.reply().await);
            assert!(matches!(aborted, 426 | 226), "{name}: {aborted}");
            if aborted == 426 {
                assert_eq!(code(&ftp.reply().await), 226, "{name}: ABOR's own reply");
            }
            drop(data);
            let (_, seen, _) = reader.download("RETR keep.txt").await;
            assert_eq!(seen, b"old", "{name}: an aborted upload replaces nothing");
            let mut hidden = String::new();
            for _ in 0..100 {
                let (_, listing, _) = reader.download("NLST -a").await;
                hidden = String::from_utf8(listing).unwrap();
                if !hidden.contains("ftpkit-upload") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert!(!hidden.contains("ftpkit-upload"), "{name}: temporary file left: {hidden}");
            // A complete upload replaces the file; APPE appends in place.
            assert_eq!(ftp.upload("STOR keep.txt", b"new").await.1, 226, "{name}");
            assert_eq!(ftp.upload("APPE keep.txt", b"+").await.1, 226, "{name}");
            let (_, seen, _) = reader.download("RETR keep.txt").await;
            assert_eq!(seen, b"new+", "{name}");
            assert_eq!(ftp.code("MKD sub").await, 257, "{name}");
            assert_eq!(ftp.upload("STOR sub", b"x").await.0, 550, "{name}: not over a directory");
        })
        .await;
    }
}
