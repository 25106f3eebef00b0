//! Issue 13 / SECURITY.md P1, P2: symbolic-link races out of the root,
//! through the real tokio server and `LocalFs`. A thread (standing for
//! anyone who can change the served tree: a shell user, a sync job) swaps
//! a directory for a link to the outside while a client downloads and
//! uploads through it; a second FTP session moves a relative link so that
//! it would point outside while the first writes through it. Before the
//! fix, `LocalFs` checked a path and then opened it by name again, and
//! about one RETR in seven read the outside file. Every loop is bounded by
//! an iteration count and every wait by a timeout.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ftp_tokio::server::{ServerOptions, User};
use support::{Ftp, loopback, serve};

const INSIDE: &[u8] = b"inside the root";
const OUTSIDE: &[u8] = b"OUTSIDE-SECRET";

/// A writable `alice:secret` on a `LocalFs` at `root`.
fn options(root: &Path) -> ServerOptions {
    let mut options = ServerOptions::new(loopback(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

/// The files directly in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Swaps `root/d` between a real directory and a link to `outside`, as
/// fast as it can, until stopped: `d` is the link about a quarter of the
/// time and the directory most of the rest.
struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Swapper {
    fn start(root: &Path, outside: &Path) -> Self {
        let (d, real, link) = (root.join("d"), root.join("d.real"), root.join("d.link"));
        std::os::unix::fs::symlink(outside, &link).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let _ = std::fs::rename(&d, &real);
                let _ = std::fs::rename(&link, &d);
                std::thread::sleep(std::time::Duration::from_micros(50));
                let _ = std::fs::rename(&d, &link);
                let _ = std::fs::rename(&real, &d);
                std::thread::sleep(std::time::Duration::from_micros(50));
                swaps += 1;
            }
            swaps
        });
        Self { stop, thread: Some(thread) }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// A session logged in as alice, in TYPE I.
async fn binary_session(addr: std::net::SocketAddr) -> Ftp {
    let (mut ftp, _) = Ftp::connect(addr).await;
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("TYPE I").await, 200);
    ftp
}

/// A served root with `d/f` inside, and an outside directory with its own
/// `f`, beside it.
fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let (root, outside) = (base.path().join("root"), base.path().join("outside"));
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(root.join("d/f"), INSIDE).unwrap();
    std::fs::write(outside.join("f"), OUTSIDE).unwrap();
    (base, root, outside)
}

/// SECURITY.md P2: RETR through a path whose directory is being swapped
/// for a link to the outside never returns a byte of the outside file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_p2_retr_racing_a_symlink_swap_never_reads_outside() {
    let (_base, root, outside) = tree();
    let server = serve(options(&root)).await;
    let mut ftp = binary_session(server.addr).await;
    let swapper = Swapper::start(&root, &outside);
    let (mut inside, mut leaked) = (0, 0);
    for _ in 0..400 {
        let (first, bytes, last) = ftp.download("RETR d/f").await;
        if (first == 150 || first == 125) && last == 226 {
            if bytes == OUTSIDE {
                leaked += 1;
            } else {
                assert_eq!(bytes, INSIDE);
                inside += 1;
            }
        }
    }
    let swaps = swapper.stop();
    assert_eq!(leaked, 0, "RETR read the file outside the root {leaked} times");
    assert!(inside > 0 && swaps > 0, "the race ran ({inside} downloads, {swaps} swaps)");
}

/// SECURITY.md P2: STOR, APPE and MKD through a path whose directory is
/// being swapped for a link to the outside never create anything outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_p2_stor_racing_a_symlink_swap_never_writes_outside() {
    let (_base, root, outside) = tree();
    let server = serve(options(&root)).await;
    let mut ftp = binary_session(server.addr).await;
    let swapper = Swapper::start(&root, &outside);
    let mut stored = 0;
    for i in 0..400 {
        let command = if i % 2 == 0 { format!("STOR d/new{i}") } else { format!("APPE d/new{i}") };
        if matches!(ftp.upload(&command, b"planted").await, (125 | 150, 226)) {
            stored += 1;
        }
        let _ = ftp.code(&format!("MKD d/dir{i}")).await;
    }
    let swaps = swapper.stop();
    assert_eq!(names(&outside), ["f"], "nothing was created outside the root");
    assert_eq!(std::fs::read(outside.join("f")).unwrap(), OUTSIDE);
    assert!(stored > 0 && swaps > 0, "the race ran ({stored} uploads, {swaps} swaps)");
}

/// SECURITY.md P2: one writable FTP user alone, with one relative link
/// inside the root (`a/b/up -> ../..`, the root): a second session keeps
/// moving the link to where it would point above the root and back, while
/// the first uploads and downloads through `up`. The moves are refused,
/// and nothing is written or read outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_p2_renaming_a_link_to_point_outside_is_refused() {
    let base = tempfile::tempdir().unwrap();
    // `up` at the root would lead to `base`, where the secret is.
    let root = base.path().join("srv/root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(base.path().join("secret"), OUTSIDE).unwrap();
    std::os::unix::fs::symlink("../..", root.join("a/b/up")).unwrap();
    let server = serve(options(&root)).await;
    let (mut mover, _) = Ftp::connect(server.addr).await;
    mover.login("alice", "secret").await;
    let mut user = binary_session(server.addr).await;

    let moves = tokio::spawn(async move {
        let mut moved = 0;
        for _ in 0..200 {
            if mover.code("RNFR a/b/up").await == 350 && mover.code("RNTO up").await == 250 {
                moved += 1;
                let _ = mover.code("RNFR up").await;
                let _ = mover.code("RNTO a/b/up").await;
            }
        }
        moved
    });
    let mut read_outside = 0;
    for i in 0..200 {
        let _ = user.upload(&format!("STOR up/evil{i}"), b"planted").await;
        let (first, bytes, _) = user.download("RETR up/secret").await;
        if (first == 150 || first == 125) && bytes == OUTSIDE {
            read_outside += 1;
        }
    }
    let moved = support::bounded(2, moves).await.unwrap();
    assert_eq!(moved, 0, "the link was moved to point above the root");
    assert_eq!(read_outside, 0);
    assert_eq!(names(base.path()), ["secret", "srv"], "nothing was written outside the root");
    assert!(std::fs::symlink_metadata(root.join("a/b/up")).unwrap().file_type().is_symlink());
}
