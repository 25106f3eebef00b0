//! What a session may hold, and for how long, through the real tokio server
//! on loopback with a raw client (issue 13): descriptors of aborted
//! requests (SECURITY.md X1, X3), storage work of a cancelled listing (X1),
//! passive ports drawn at random (D3), passive listeners per client
//! address and idle listeners reclaimed (C3, D6, C2), and the stall timeout
//! of a silent upload bounded by the idle timeout (C2).
//!
//! The descriptor test counts the whole process's open descriptors
//! (`/proc/self/fd`; the server runs in the test process), so every test
//! here takes [`SERIAL`] and they run one at a time. Every wait is bounded.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ftp_proto::{Reply, Timestamp, listing::Entry};
use ftp_session::server::{ServerConfig, StorageError, VirtualPath};
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{ServerOptions, User};
use ftp_tokio::storage::{BoxFuture, FileSink, FileSource, Listing, Principal, Storage, WriteMode};
use support::{Ftp, bounded, code, loopback, memory_options, reply_text, serve};

/// One test at a time: the descriptor count is process-wide.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Commands written at once before the replies are read.
const BATCH: usize = 500;

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// The open descriptors of this process.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// A loopback port nothing listens on (bound, then released): an active
/// data connection to it is refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn port_command(port: u16) -> String {
    format!("PORT 127,0,0,1,{},{}", port / 256, port % 256)
}

/// Writes `unit` (CRLF-terminated commands) `times` times, in batches each
/// closed by `SYST`, and reads every reply up to each batch's 215. Returns
/// how many replies came before the 215s. Panics on a 421 (the session
/// ended) or when a reply is slower than the support module's wait.
async fn pipelined(ftp: &mut Ftp, unit: &str, times: usize) -> usize {
    let mut replies = 0;
    let mut left = times;
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let mut batch = unit.repeat(n);
        batch.push_str("SYST");
        ftp.send(&batch).await;
        loop {
            let reply = ftp.reply().await;
            match code(&reply) {
                215 => break,
                421 => panic!("the session ended: {}", reply_text(&reply)),
                _ => replies += 1,
            }
        }
    }
    replies
}

/// Waits (bounded) until the process's descriptors are back to at most
/// `limit`; returns the last count.
async fn descriptors_settle(limit: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = open_descriptors();
        if n <= limit || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Logs `alice` in, runs `pairs` pipelined `PORT`, `command`, `ABOR`, and
/// quits; checks the descriptors came back and the server still serves.
async fn aborted_pairs_leave_nothing(addr: SocketAddr, command: &str, pairs: usize) {
    let before = open_descriptors();
    let (mut ftp, greeting) = Ftp::connect(addr).await;
    assert_eq!(code(&greeting), 220);
    ftp.login("alice", "secret").await;
    let unit = format!("{}\r\n{command}\r\nABOR\r\n", port_command(closed_port()));
    let replies = pipelined(&mut ftp, &unit, pairs).await;
    // 200 for PORT, then 426 and 226 (ABOR before the storage answered), or
    // 150, 425 and 225/226 (the answer came first).
    assert!(replies >= 3 * pairs, "{command}: {replies} replies to {pairs} triples");
    // While the session is still open (its two socket ends count), not
    // only once it ended: the leak was per session, freed at its end.
    let open = descriptors_settle(before + 8).await;
    assert!(open <= before + 8, "{command} + ABOR x{pairs}: {before} descriptors before, {open} in the session");
    assert_eq!(ftp.code("QUIT").await, 221);
    assert!(ftp.closed().await);
    let after = descriptors_settle(before + 8).await;
    assert!(after <= before + 8, "{command} + ABOR x{pairs}: {before} descriptors before, {after} after");
    let (mut again, greeting) = Ftp::connect(addr).await;
    assert_eq!(code(&greeting), 220, "{}", reply_text(&greeting));
    again.login("alice", "secret").await;
    assert_eq!(again.code("PWD").await, 257);
    assert_eq!(again.code("QUIT").await, 221);
}

/// SECURITY.md X1, X3 (issue 13): pipelined `RETR f` + `ABOR` (and `STOR` +
/// `ABOR`, `LIST` + `ABOR`), 10,000 of each, leave no descriptor open: the
/// file an aborted request opened is closed as soon as its stale answer
/// arrives (or its task is stopped before it opens anything), never kept
/// for a transfer that will not come. Before the fix every pair leaked one
/// descriptor until the session ended, and a server under a descriptor
/// limit stopped serving everyone; here the count stays within 8 of the
/// start while the session is open and after it ended, and a new session
/// is served.
#[tokio::test]
async fn sec_x1_x3_aborted_requests_leave_no_descriptor_open() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), vec![7u8; 64 * 1024]).unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    for i in 0..50 {
        std::fs::write(dir.path().join(format!("d/file{i}")), b"x").unwrap();
    }
    let mut options = ServerOptions::new(loopback(), dir.path().to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    let server = serve(options).await;
    bounded(10, async {
        aborted_pairs_leave_nothing(server.addr, "RETR f", 10_000).await;
        aborted_pairs_leave_nothing(server.addr, "STOR up", 10_000).await;
        aborted_pairs_leave_nothing(server.addr, "LIST d", 10_000).await;
    })
    .await;
}

/// Counts the storage calls in progress: created when one starts, dropped
/// when it ends or is stopped.
struct InProgress(Arc<AtomicUsize>);

impl InProgress {
    fn start(live: &Arc<AtomicUsize>, started: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        started.fetch_add(1, Ordering::SeqCst);
        Self(live.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A [`MemoryFs`] whose listing of `/slow` never ends (a huge directory on
/// a slow disk), counting the listings in progress.
#[derive(Clone)]
struct Stalling {
    inner: MemoryFs,
    live: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
}

impl Stalling {
    fn stall<'a, T: 'a>(&'a self) -> BoxFuture<'a, T> {
        Box::pin(async move {
            let _working = InProgress::start(&self.live, &self.started);
            std::future::pending().await
        })
    }
}

impl Storage for Stalling {
    fn change_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.change_dir(user, path)
    }
    fn entries<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Vec<Entry>, StorageError>> {
        if path.as_bytes() == b"/slow" { self.stall() } else { self.inner.entries(user, path, all) }
    }
    fn listing<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        all: bool,
    ) -> BoxFuture<'a, Result<Listing, StorageError>> {
        if path.as_bytes() == b"/slow" { self.stall() } else { self.inner.listing(user, path, all) }
    }
    fn stat<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<Entry, StorageError>> {
        self.inner.stat(user, path)
    }
    fn size<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<u64, StorageError>> {
        self.inner.size(user, path)
    }
    fn modified<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<Timestamp, StorageError>> {
        self.inner.modified(user, path)
    }
    fn open_read<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        offset: u64,
    ) -> BoxFuture<'a, Result<FileSource, StorageError>> {
        self.inner.open_read(user, path, offset)
    }
    fn open_write<'a>(
        &'a self,
        user: &'a Principal,
        path: &'a VirtualPath,
        mode: WriteMode,
    ) -> BoxFuture<'a, Result<FileSink, StorageError>> {
        self.inner.open_write(user, path, mode)
    }
    fn delete<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.delete(user, path)
    }
    fn make_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.make_dir(user, path)
    }
    fn remove_dir<'a>(&'a self, user: &'a Principal, path: &'a VirtualPath) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.remove_dir(user, path)
    }
    fn rename<'a>(
        &'a self,
        user: &'a Principal,
        from: &'a VirtualPath,
        to: &'a VirtualPath,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.rename(user, from, to)
    }
}

/// Waits (bounded) until `counter` reads `want`.
async fn until(counter: &AtomicUsize, want: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if counter.load(Ordering::SeqCst) == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    counter.load(Ordering::SeqCst) == want
}

/// SECURITY.md X1 (issue 13: `LIST bigdir` + `ABOR` went on scanning, 77 s
/// of CPU for 20 pairs): the storage work of a request the session
/// cancelled stops at once, whether ABOR cancelled it or the connection
/// ended; the session goes on.
#[tokio::test]
async fn sec_x1_cancelled_listing_stops_its_storage_work() {
    let _serial = SERIAL.lock().await;
    let fs = Stalling { inner: MemoryFs::new(), live: Arc::default(), started: Arc::default() };
    let options = ServerOptions::with_storage(loopback(), Arc::new(fs.clone()));
    let server = serve(options).await;
    bounded(2, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("anonymous", "guest@").await;
        let port = port_command(closed_port());
        for round in 1..=3 {
            assert_eq!(ftp.code(&port).await, 200);
            ftp.send("LIST slow").await;
            assert!(until(&fs.started, round).await, "the listing started");
            assert_eq!(ftp.code("ABOR").await, 426);
            assert_eq!(code(&ftp.reply().await), 226);
            assert!(until(&fs.live, 0).await, "round {round}: the aborted listing still runs");
        }
        assert_eq!(ftp.code("PWD").await, 257, "the session goes on");
        // The connection ends while the listing runs: it stops too.
        assert_eq!(ftp.code(&port).await, 200);
        ftp.send("LIST slow").await;
        assert!(until(&fs.started, 4).await);
        drop(ftp);
        assert!(until(&fs.live, 0).await, "the listing of a closed session still runs");
    })
    .await;
}

/// The port of a 227 reply, `None` for any other reply.
fn pasv_port(reply: &Reply) -> Option<u16> {
    if code(reply) != 227 {
        return None;
    }
    let text = reply_text(reply);
    let inner = text.split('(').nth(1)?.split(')').next()?;
    let n: Vec<u16> = inner.split(',').map(|n| n.trim().parse().unwrap()).collect();
    Some(n[4] * 256 + n[5])
}

/// Whether `ports` step by the same amount modulo the range's `span`.
fn arithmetic(ports: &[u16], span: u16) -> bool {
    let step = |w: &[u16]| (w[1] + span - w[0]) % span;
    let first = step(&ports[..2]);
    ports.windows(2).all(|w| step(w) == first)
}

/// SECURITY.md D3 (issue 13: one shared counter stepping by 7919): each
/// PASV's port is drawn at random from the range, so 20 in a row are not
/// an arithmetic sequence (modulo the range), and another session does not
/// continue the first one's sequence.
#[tokio::test]
async fn sec_d3_passive_ports_are_drawn_at_random() {
    let _serial = SERIAL.lock().await;
    let (low, high) = (24000u16, 24999u16);
    let span = high - low + 1;
    let fs = MemoryFs::new();
    let mut options = memory_options(&fs);
    options.passive_ports = Some((low, high));
    let server = serve(options).await;
    bounded(2, async {
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let (mut ftp, _) = Ftp::connect(server.addr).await;
            ftp.login("alice", "secret").await;
            let mut ports = Vec::new();
            for _ in 0..20 {
                let reply = ftp.cmd("PASV").await;
                let port = pasv_port(&reply).unwrap_or_else(|| panic!("{}", reply_text(&reply)));
                assert!((low..=high).contains(&port), "{port} outside {low}-{high}");
                ports.push(port - low);
            }
            assert!(!arithmetic(&ports, span), "predictable passive ports: {ports:?}");
            sessions.push(ports);
        }
        assert_ne!(sessions[0], sessions[1], "two sessions, the same ports");
        let both: Vec<u16> = sessions.concat();
        assert!(!arithmetic(&both, span), "the second session continues the first: {both:?}");
    })
    .await;
}

/// SECURITY.md C3, D6 (issue 13: ten sessions each holding one PASV took a
/// 10-port range from everyone): with a cap of 4 listeners per client
/// address, ten sessions from 127.0.0.1 hold at most 4 (the others get
/// 425), a session's repeated PASV replaces its own listener without
/// counting twice, and a session from 127.0.0.2 still gets a port.
#[tokio::test]
async fn sec_c3_d6_passive_listeners_per_address_are_capped() {
    let _serial = SERIAL.lock().await;
    let fs = MemoryFs::new();
    let mut options = memory_options(&fs);
    options.passive_ports = Some((24100, 24109));
    options.max_passive_per_ip = Some(4);
    let server = serve(options).await;
    bounded(2, async {
        let mut sessions = Vec::new();
        let mut granted = 0;
        for _ in 0..10 {
            let (mut ftp, _) = Ftp::connect_from(ip("127.0.0.1"), server.addr).await;
            ftp.login("alice", "secret").await;
            match code(&ftp.cmd("PASV").await) {
                227 => granted += 1,
                425 => {}
                other => panic!("PASV answered {other}"),
            }
            sessions.push(ftp);
        }
        assert_eq!(granted, 4, "listeners held from one address");
        // D6: the first session's new PASVs replace its listener.
        for _ in 0..3 {
            assert_eq!(sessions[0].code("PASV").await, 227, "a repeated PASV counted twice");
        }
        assert_eq!(sessions[9].code("PASV").await, 425, "still capped");
        let (mut other, _) = Ftp::connect_from(ip("127.0.0.2"), server.addr).await;
        other.login("alice", "secret").await;
        assert_eq!(other.code("PASV").await, 227, "another address is not locked out");
        // A listener given back is free for the same address again.
        assert_eq!(sessions[0].code("PORT 127,0,0,1,4,1").await, 200);
        assert_eq!(sessions[9].code("PASV").await, 227);
    })
    .await;
}

/// SECURITY.md C2, D6 (issue 13: idle sessions holding the range): a
/// passive listener unused while its session is idle for the data accept
/// deadline (the data connect timeout, here 1 s) is closed without a
/// reply, so another session gets the port; the idle session's transfer
/// command then gets 425.
#[tokio::test]
async fn sec_c2_d6_idle_passive_listener_is_reclaimed() {
    let _serial = SERIAL.lock().await;
    let fs = MemoryFs::new();
    fs.write_file("/f", b"data").unwrap();
    let mut options = memory_options(&fs);
    options.passive_ports = Some((24200, 24201));
    options.max_passive_per_ip = Some(usize::MAX);
    options.session = ServerConfig::default().anonymous(true).data_connect_timeout(Duration::from_secs(1));
    let server = serve(options).await;
    bounded(2, async {
        let (mut a, _) = Ftp::connect(server.addr).await;
        a.login("alice", "secret").await;
        let (mut b, _) = Ftp::connect(server.addr).await;
        b.login("alice", "secret").await;
        let (mut c, _) = Ftp::connect(server.addr).await;
        c.login("alice", "secret").await;
        assert_eq!(a.code("PASV").await, 227);
        assert_eq!(b.code("PASV").await, 227);
        assert_eq!(c.code("PASV").await, 425, "the two ports are taken");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            match c.code("PASV").await {
                227 => break,
                425 if Instant::now() < deadline => {}
                other => panic!("PASV answered {other}; the idle listeners were never reclaimed"),
            }
        }
        assert_eq!(a.code("RETR f").await, 425, "the reclaimed setup is gone");
        assert_eq!(a.code("NOOP").await, 200, "and the session goes on");
    })
    .await;
}

/// SECURITY.md C2 (issue 13: a silent STOR data connection held its
/// session for a fixed 300 s whatever the idle timeout said): with an idle
/// timeout of 2 s and no stall timeout set, an upload whose data connection
/// sends nothing gets 426 after about 2 s; the wait is bounded at 20 s,
/// far below the 300 s default stall timeout (whose bounding by the idle
/// timeout the session tests check).
#[tokio::test]
async fn sec_c2_silent_upload_is_cut_after_the_idle_timeout() {
    let _serial = SERIAL.lock().await;
    let fs = MemoryFs::new();
    let mut options = memory_options(&fs);
    options.session = ServerConfig::default().anonymous(true).idle_timeout(Duration::from_secs(2));
    let server = serve(options).await;
    bounded(2, async {
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("alice", "secret").await;
        let to = ftp.epsv().await;
        let _silent = ftp.data(to).await;
        let started = Instant::now();
        let first = ftp.code("STOR quiet").await;
        assert!(first == 125 || first == 150, "STOR answered {first}");
        let reply = tokio::time::timeout(Duration::from_secs(20), ftp.reply())
            .await
            .expect("the stalled upload is cut within 20 s, not after 300 s");
        assert_eq!(code(&reply), 426, "{}", reply_text(&reply));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1500), "cut before the timeout: {waited:?}");
    })
    .await;
}

/// SECURITY.md D3 with the thief first: a connection from another address
/// queued on the passive port before the transfer command is taken with
/// it, refused (closed, no bytes), and the session waits for the client's
/// own connection, which gets the file. (Passive listeners are watched
/// only from the next command on; the refusal must start the watch.)
#[tokio::test]
async fn sec_d3_a_thief_queued_before_retr_is_refused_and_the_client_served() {
    use tokio::io::AsyncReadExt;
    bounded(2, async {
        let fs = ftp_tokio::memory::MemoryFs::new();
        fs.write_file("f.txt", b"the client's bytes").unwrap();
        let server = serve(support::memory_options(&fs)).await;
        let (mut ftp, _) = Ftp::connect(server.addr).await;
        ftp.login("anonymous", "x").await;
        let to = ftp.epsv().await;
        let thief_socket = tokio::net::TcpSocket::new_v4().unwrap();
        thief_socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut thief = thief_socket.connect(to).await.unwrap();
        // The thief's connection waits in the kernel's queue: RETR takes
        // it, refuses it, and so opens none yet (150, not 125).
        assert_eq!(ftp.code("RETR f.txt").await, 150);
        let mut stolen = Vec::new();
        thief.read_to_end(&mut stolen).await.unwrap_or(0);
        assert!(stolen.is_empty(), "another address gets nothing");
        let mut data = ftp.data(to).await;
        let mut got = Vec::new();
        data.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"the client's bytes");
        assert_eq!(code(&ftp.reply().await), 226);
    })
    .await;
}
