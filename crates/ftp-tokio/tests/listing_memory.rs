//! Issue 13 / SECURITY.md C3: a huge directory listing does not make the
//! server hold it whole. Before the fix a 100,000-entry LIST built every
//! entry and the whole formatted text first (64 MB at its peak, four in
//! parallel 250 MB); now `LocalFs` sends it in chunks of 256 entries. This
//! test binary counts the bytes allocated (its own global allocator: the
//! server runs in the test process) and compares the peak during four
//! parallel LISTs of a 40,000-entry directory with the size of the listing
//! itself. One test in this file, so no other test disturbs the count.

mod support;

use ftp_tokio::server::ServerOptions;
use support::{Ftp, WAIT, loopback, serve};
use tokio::io::AsyncReadExt;

/// The process's resident memory: now (`VmRSS`) or its peak (`VmHWM`), in
/// bytes.
fn resident(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Resets the peak resident size to the current one (Linux 4.0 and later).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

const FILES: usize = 100_000;

/// LIST over a data connection, bytes counted and dropped as they come.
async fn list_size(addr: std::net::SocketAddr) -> usize {
    let (mut ftp, _) = Ftp::connect(addr).await;
    ftp.login("anonymous", "guest").await;
    let to = ftp.epsv().await;
    let mut data = ftp.data(to).await;
    assert!(matches!(ftp.code("LIST").await, 125 | 150));
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = tokio::time::timeout(WAIT, data.read(&mut buf)).await.expect("data in time").expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(ftp.code("NOOP").await, 226, "the LIST's 226 comes first, then NOOP's 200");
    total
}

/// SECURITY.md C3: four parallel LISTs of a 100,000-entry directory (each
/// 9 MB of text) raise the server's peak memory by less than four
/// listings' worth: each holds only its names (for the sort) and one
/// chunk; built whole they took 250 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_c3_huge_listings_are_streamed_not_built_whole() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        std::fs::File::create(dir.path().join(format!("some-longer-file-name-{i:06}.dat"))).unwrap();
    }
    let mut options = ServerOptions::new(loopback(), dir.path().to_path_buf());
    options.anonymous = true;
    let server = serve(options).await;
    // Warm up (thread pools, TLS-free session state), then measure.
    let one = list_size(server.addr).await;
    assert!(one > FILES * 50, "a full listing came: {one} bytes");
    let before = resident("VmRSS:");
    if !reset_peak() {
        println!("skipped: /proc/self/clear_refs cannot reset the peak resident size here");
        return;
    }
    let lists: Vec<_> = (0..4).map(|_| tokio::spawn(list_size(server.addr))).collect();
    for list in lists {
        assert_eq!(list.await.unwrap(), one);
    }
    let peak = resident("VmHWM:").saturating_sub(before);
    // The names (about 80 bytes each with their allocation) are held for
    // the sort; entries and text only a chunk at a time. Built whole, each
    // listing held all its entries (over 300 bytes each) and its text.
    assert!(peak < one * 4, "four listings of {one} bytes each raised the peak by {peak} bytes");
}
