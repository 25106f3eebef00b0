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
