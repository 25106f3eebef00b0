//! Two `ftpkit serve` nodes on one bucket (issue 19: "a client can upload
//! through one node and download through another"), through the real
//! binary: SeaweedFS S3 on loopback (tests/peers/seaweedfs.sh, `weed` from
//! tests/peers/install.sh), `--storage s3://BUCKET --s3-endpoint URL
//! --s3-allow-http` with the credentials in the standard AWS variables,
//! curl as the client. Skips with a notice when `weed` or curl is missing,
//! and fails then under `FTP_INTEROP_REQUIRED=1` (CI). Every wait bounded.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use support::*;

const BUCKET: &str = "cluster";

fn missing(what: &str) -> bool {
    assert!(std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"), "{what} is required");
    eprintln!("skipped: {what} is not installed");
    true
}

/// Where `weed` is: on PATH, else `$FTPKIT_PEERS_PREFIX/bin/weed`.
fn weed() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("weed")).find(|p| p.is_file()));
    let prefix =
        std::env::var_os("FTPKIT_PEERS_PREFIX").map_or_else(|| PathBuf::from("/opt/ftpkit-peers"), PathBuf::from);
    on_path.or_else(|| Some(prefix.join("bin/weed")).filter(|p| p.is_file()))
}

/// A free loopback port `p` with `p + 10000` free too (SeaweedFS's gRPC).
fn free_pair(taken: &[u16]) -> u16 {
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if port <= 55_000
            && !taken.contains(&port)
            && !taken.contains(&(port + 10_000))
            && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}

/// SeaweedFS, stopped (with the `weed` it started) when dropped.
struct Weed(Child, u32);

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.1.to_string()]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["60", "curl", "--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn upload_through_one_node_download_through_another() {
    if Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_err() && missing("curl") {
        return;
    }
    let Some(weed) = weed() else {
        missing("weed (SeaweedFS)");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let mut ports = Vec::new();
    for _ in 0..4 {
        let p = free_pair(&ports);
        ports.push(p);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/seaweedfs.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .arg(data.path())
        .args(ports.iter().map(u16::to_string))
        .arg(BUCKET)
        .env("PATH", format!("{}:{}", weed.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut pid, mut endpoint) = (None, None);
    while pid.is_none() || endpoint.is_none() {
        let line = rx.recv_timeout(Duration::from_secs(120)).expect("SeaweedFS ready within 120 s");
        if let Some(p) = line.strip_prefix("pid ") {
            pid = p.parse::<u32>().ok();
        } else if let Some(e) = line.strip_prefix("endpoint ") {
            endpoint = Some(e.to_owned());
        }
    }
    let _weed = Weed(child, pid.unwrap());
    let endpoint = endpoint.unwrap();

    // Two nodes, the same bucket, the same user; credentials from the
    // environment, as on a real host.
    let storage = format!("s3://{BUCKET}/ftp");
    let node = || {
        let mut args = vec!["--listen", "127.0.0.1:0", "--storage", &storage, "--s3-endpoint", &endpoint];
        args.extend(["--s3-allow-http", "--user", "alice:pw:rw", "--log-level", "warn"]);
        args.extend(run_as_root());
        Served::start_with_env(
            data.path(),
            &args,
            &[("AWS_ACCESS_KEY_ID", "ftpkit"), ("AWS_SECRET_ACCESS_KEY", "ftpkit-secret"), ("AWS_REGION", "us-east-1")],
        )
    };
    let (a, b) = (node(), node());
    assert!(a.banner.contains(&storage), "{}", a.banner);

    let file = data.path().join("upload.bin");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let out =
        curl(&["-T", file.to_str().unwrap(), &format!("ftp://alice:pw@{}/dir/up.bin", a.addr), "--ftp-create-dirs"]);
    assert!(out.status.success(), "upload through node A: {}{}", text(&out.stderr), a.log());
    let got = data.path().join("got.bin");
    let out = curl(&["-o", got.to_str().unwrap(), &format!("ftp://alice:pw@{}/dir/up.bin", b.addr)]);
    assert!(out.status.success(), "download through node B: {}{}", text(&out.stderr), b.log());
    assert!(std::fs::read(&got).unwrap() == bytes, "node B serves the bytes node A stored");
    let out = curl(&["-l", &format!("ftp://alice:pw@{}/dir/", b.addr)]);
    assert_eq!(text(&out.stdout).trim(), "up.bin", "{}", text(&out.stderr));

    // --print-config shows the storage in force.
    let out = ftpkit(data.path(), &["serve", "--storage", &storage, "--s3-endpoint", &endpoint, "--print-config"]);
    let printed = text(&out.stdout);
    assert!(printed.contains(&format!("storage = \"{storage}\"")), "{printed}");
}
