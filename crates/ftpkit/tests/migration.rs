//! The vsftpd migration example (issue 18, `docs/migrating-from-vsftpd.md`)
//! end to end: the documented `ftpkit.toml` and `ftpkit passwd` commands,
//! as written there (paths moved into a temporary directory, the port
//! changed to a free one), served by the real binary and used with curl
//! and lftp on loopback. Local users locked in their homes, FTPS required
//! for them, anonymous read-only over plaintext, the passive range, the
//! per-address limit and the xferlog. Every wait is bounded.
//!
//! Skips with a notice when curl, lftp or openssl is missing, and fails
//! then under `FTP_INTEROP_REQUIRED=1` (CI).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::*;

const GUIDE: &str = include_str!("../../../docs/migrating-from-vsftpd.md");

/// The first fenced block of `lang` after the heading `after`.
fn block<'a>(after: &str, lang: &str) -> &'a str {
    let rest = &GUIDE[GUIDE.find(after).expect("the heading is in the guide")..];
    let fence = format!("```{lang}\n");
    let start = rest.find(&fence).expect("the block is in the guide") + fence.len();
    &rest[start..start + rest[start..].find("```").unwrap()]
}

fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"), "{program} is required");
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// Runs `program ARGS` to its end, killed after a minute (`timeout`).
fn run(program: &str, args: &[&str]) -> Output {
    Command::new("timeout").arg("60").arg(program).args(args).stdin(Stdio::null()).output().unwrap()
}

fn curl(args: &[&str]) -> Output {
    run("curl", &[&["--silent", "--show-error", "--max-time", "30"], args].concat())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether `dir` and everything in it may be written by `nobody` (the
/// `run_as` user of the guide, when the test runs as root).
fn give_to_nobody(dir: &Path) {
    let status = Command::new("chown").args(["-R", "nobody", dir.to_str().unwrap()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn vsftpd_migration_example_with_curl_and_lftp() {
    if !(have("curl") && have("lftp") && have("openssl")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base: PathBuf = tmp.path().to_path_buf();
    let root = nix::unistd::geteuid().is_root();
    let port = free_port();
    let at = |p: &str| {
        p.replace("/srv/ftp", &format!("{}/srv/ftp", base.display()))
            .replace("/etc/ftpkit", &format!("{}/etc/ftpkit", base.display()))
    };

    // The tree of the guide.
    for dir in ["srv/ftp/pub", "srv/ftp/home/alice", "srv/ftp/home/bob", "srv/ftp/log", "etc/ftpkit"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    std::fs::write(base.join("srv/ftp/pub/readme.txt"), "public\n").unwrap();
    std::fs::write(base.join("srv/ftp/home/bob/secret.txt"), "bob's\n").unwrap();
    make_cert(&base.join("etc/ftpkit/ftp.pem"), &base.join("etc/ftpkit/ftp.key"), "localhost");

    // The configuration as documented; only paths and the port differ.
    let mut config =
        at(block("## The same as ftpkit.toml", "toml")).replace("0.0.0.0:21", &format!("127.0.0.1:{port}"));
    if root {
        // `nobody` must reach the tree after the switch, and write the homes.
        for dir in
            [base.as_path(), &base.join("srv"), &base.join("srv/ftp"), &base.join("etc"), &base.join("etc/ftpkit")]
        {
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        give_to_nobody(&base.join("srv/ftp/home"));
    } else {
        // Not root: nothing to drop (run_as as another user is refused).
        config = config.lines().filter(|l| !l.starts_with("run_as")).collect::<Vec<_>>().join("\n");
    }
    let config_path = base.join("etc/ftpkit/ftpkit.toml");
    std::fs::write(&config_path, &config).unwrap();

    // The users, with the guide's commands.
    for line in block("The users, each with", "sh").lines().filter(|l| l.starts_with("ftpkit passwd")) {
        let words: Vec<String> = at(line).split_whitespace().skip(1).map(str::to_owned).collect();
        let name = words[1].clone();
        let mut child = Command::new(FTPKIT)
            .args(&words)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{name}-pw\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{line}: {}", text(&out.stderr));
    }

    let served = Served::start(&base, &["--config", config_path.to_str().unwrap()]);
    let url = format!("ftp://127.0.0.1:{port}");

    // Anonymous: read-only downloads over plaintext (allow_plaintext_anonymous),
    // from anon_root; passive ports from the range.
    let out = curl(&["-v", &format!("{url}/readme.txt")]);
    assert_eq!(text(&out.stdout), "public\n", "curl: {}", text(&out.stderr));
    let verbose = text(&out.stderr);
    let pasv_port: u16 = verbose
        .split("Extended Passive Mode (|||")
        .nth(1)
        .and_then(|r| r.split('|').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no EPSV reply in {verbose}"));
    assert!((30000..=30100).contains(&pasv_port), "passive port {pasv_port} outside pasv_min_port..pasv_max_port");
    let upload = base.join("upload.txt");
    std::fs::write(&upload, "from a client\n").unwrap();
    let out = curl(&["-T", upload.to_str().unwrap(), &format!("{url}/anon.txt")]);
    assert!(!out.status.success(), "anonymous may not upload (anon_upload_enable=NO)");

    // Local users: no login without TLS (force_local_logins_ssl) ...
    let out = curl(&[&format!("ftp://alice:alice-pw@127.0.0.1:{port}/")]);
    assert!(!out.status.success(), "alice logged in over plaintext");
    // ... and with it, uploads and downloads in the home only.
    let tls = ["--ssl-reqd", "--insecure", "--path-as-is"];
    let alice = format!("ftp://alice:alice-pw@127.0.0.1:{port}");
    let out = curl(&[&tls[..], &["-T", upload.to_str().unwrap(), &format!("{alice}/up.txt")]].concat());
    assert!(out.status.success(), "alice's FTPS upload: {}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(base.join("srv/ftp/home/alice/up.txt")).unwrap(), "from a client\n");
    let out = curl(&[&tls[..], &[&format!("{alice}/up.txt")]].concat());
    assert_eq!(text(&out.stdout), "from a client\n", "{}", text(&out.stderr));
    for escape in ["/../bob/secret.txt", "/../../pub/readme.txt", "/bob/secret.txt"] {
        let out = curl(&[&tls[..], &[&format!("{alice}{escape}")]].concat());
        assert!(!out.status.success() && out.stdout.is_empty(), "alice reached {escape}");
    }

    // lftp: bob mirrors a directory up over FTPS and lists his home.
    let local = base.join("to-mirror");
    std::fs::create_dir(&local).unwrap();
    for i in 0..5 {
        std::fs::write(local.join(format!("f{i}.txt")), format!("file {i}\n").repeat(100)).unwrap();
    }
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; \
         set net:max-retries 1; set net:timeout 20; \
         open -u bob,bob-pw ftp://127.0.0.1:{port}; mirror -R {} mirrored; cls -1",
        local.display()
    );
    let out = run("lftp", &["-c", &script]);
    assert!(out.status.success(), "lftp: {}{}", text(&out.stdout), text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.contains("secret.txt") && listing.contains("mirrored"), "bob's home: {listing}");
    for i in 0..5 {
        let got = std::fs::read_to_string(base.join(format!("srv/ftp/home/bob/mirrored/f{i}.txt"))).unwrap();
        assert_eq!(got, format!("file {i}\n").repeat(100));
    }

    // max_per_ip = 8: the ninth session from one address gets 421.
    let open: Vec<Control> = (0..8).map(|_| Control::connect(&served.addr)).collect();
    let ninth = std::net::TcpStream::connect(&served.addr).unwrap();
    ninth.set_read_timeout(Some(WAIT)).unwrap();
    let mut greeting = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(ninth), &mut greeting).unwrap();
    assert!(greeting.starts_with("421"), "the ninth session: {greeting}");
    drop(open);

    // xferlog_std_format: a line per transfer, in both directions.
    let xferlog = std::fs::read_to_string(base.join("srv/ftp/log/xferlog")).unwrap_or_default();
    let line = |path: &str, dir: &str, user: &str| {
        xferlog.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() == 18 && f[8].ends_with(path) && f[11] == dir && f[13] == user && f[17] == "c"
        })
    };
    assert!(line("/readme.txt", "o", "anonymous"), "{xferlog}");
    assert!(line("/up.txt", "i", "alice"), "{xferlog}");
    assert!(line("/mirrored/f4.txt", "i", "bob"), "{xferlog}");
    if root {
        let status = std::fs::read_to_string(format!("/proc/{}/status", served.child.id())).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap().to_owned();
        assert!(!uid.split_whitespace().skip(1).any(|u| u == "0"), "still root: {uid}");
    }
}
