//! Two `ftpkit serve` nodes on one bucket (issue 19: "a client can upload
//! through one node and download through another"), through the real
//! binary: SeaweedFS S3 on loopback (tests/peers/seaweedfs.sh, `weed` from
//! tests/peers/install.sh), `--storage s3://BUCKET --s3-endpoint URL
//! --s3-allow-http` with the credentials in the standard AWS variables,
//! curl as the client. Skips with a notice when `weed` or curl is missing,
//! and fails then under `FTP_INTEROP_REQUIRED=1` (CI). Every wait bounded.

mod support;

use std::process::{Command, Output, Stdio};

use ftp_interop::cluster::{AWS_ENV, SeaweedFs};
use support::*;

const BUCKET: &str = "cluster";

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
    let Some(weed) = SeaweedFs::start(BUCKET) else { return };
    let endpoint = weed.endpoint();
    let data = tempfile::tempdir().unwrap();

    // Two nodes, the same bucket, the same user; credentials from the
    // environment, as on a real host.
    let storage = format!("s3://{BUCKET}/ftp");
    let node = || {
        let mut args = vec!["--listen", "127.0.0.1:0", "--storage", &storage, "--s3-endpoint", endpoint];
        args.extend(["--s3-allow-http", "--user", "alice:pw:rw", "--log-level", "warn"]);
        args.extend(run_as_root());
        Served::start_with_env(data.path(), &args, &AWS_ENV)
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
    let out = ftpkit(data.path(), &["serve", "--storage", &storage, "--s3-endpoint", endpoint, "--print-config"]);
    let printed = text(&out.stdout);
    assert!(printed.contains(&format!("storage = \"{storage}\"")), "{printed}");
}

/// The server's peak resident memory (`VmHWM`), in bytes.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/PID/status");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Issue 19, Done when: "a 1 GiB STOR through the S3 back end keeps server
/// memory under 64 MB". The upload streams in bounded multipart parts
/// (8 MiB, at most two in flight): the whole object is never held. curl
/// reads the bytes from a pipe, so the client holds none either; the
/// object's size is checked afterwards with SIZE.
#[test]
fn a_gibibyte_stor_to_s3_stays_under_64_mb() {
    use std::io::Write as _;
    const LEN: u64 = 1 << 30;
    let Some(weed) = SeaweedFs::start("big") else { return };
    let data = tempfile::tempdir().unwrap();
    let storage = "s3://big/ftp";
    let mut args = vec!["--listen", "127.0.0.1:0", "--storage", storage, "--s3-endpoint", weed.endpoint()];
    args.extend(["--s3-allow-http", "--user", "alice:pw:rw", "--log-level", "warn"]);
    args.extend(run_as_root());
    let node = Served::start_with_env(data.path(), &args, &AWS_ENV);
    let before = peak_memory(node.child.id());

    let url = format!("ftp://alice:pw@{}/big.bin", node.addr);
    let mut curl = Command::new("timeout")
        .args(["600", "curl", "--silent", "--show-error", "-T", "-", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = curl.stdin.take().unwrap();
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i * 13 % 251) as u8).collect();
    for _ in 0..LEN / block.len() as u64 {
        stdin.write_all(&block).unwrap();
    }
    drop(stdin);
    let out = curl.wait_with_output().unwrap();
    assert!(out.status.success(), "1 GiB STOR: {}{}\n{}", text(&out.stderr), node.log(), weed.log_tail());

    // The release build starts at about 10 MiB (scripts/bench/s3.md: 44.6
    // MiB peak after this upload); this debug build starts at about 21
    // MiB of its own, so the test holds what the upload adds: under 48 MiB
    // keeps a release server under 64 MB.
    let peak = peak_memory(node.child.id());
    let added = peak.saturating_sub(before);
    assert!(added < 48 << 20, "a 1 GiB STOR added {added} bytes at its peak (from {before} to {peak})");
    let mut control = Control::connect(&node.addr);
    control.login("alice", "pw");
    control.command("TYPE I");
    assert_eq!(control.command("SIZE big.bin").trim_end(), format!("213 {LEN}"));
    eprintln!(
        "1 GiB STOR through S3: peak memory {:.1} MiB (at start {:.1} MiB)",
        peak as f64 / 1048576.0,
        before as f64 / 1048576.0
    );
}
