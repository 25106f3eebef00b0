//! `ftpkit serve --config`, `--print-config`, the SIGHUP reload and
//! `--run-as` (issue 18), through the real binary on loopback. Every wait
//! is bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::*;

/// `--print-config`: a flag beats the file, a switch's `=false` beats the
/// file's `true`, the defaults appear, a password is masked, and the
/// file's relative paths are relative to its directory (not to the
/// current one).
#[test]
fn print_config_merges_flags_file_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(
        etc.join("ftpkit.toml"),
        "# a comment\nmax_sessions = 3\nmax_sessions_per_ip = 2\nuser = [\"alice:topsecret:rw\", \"bob:pw\"]\n\
         root = \"srv\"\ntls_cert = \"certs/ftp.pem\"\ntls_key = \"/abs/key.pem\"\natomic_uploads = true\n\
         anonymous_download_rate = \"1M\"\npassive_ports = \"30000-30100\"\n",
    )
    .unwrap();
    let out = ftpkit(
        dir.path(),
        &["serve", "--config", "etc/ftpkit.toml", "--print-config", "--max-sessions", "9", "--atomic-uploads=false"],
    );
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let etc = std::path::absolute(&etc).unwrap();
    for line in [
        "max_sessions = 9".to_owned(),
        "max_sessions_per_ip = 2".to_owned(),
        "atomic_uploads = false".to_owned(),
        "idle_timeout = 300".to_owned(),
        "listen = \"127.0.0.1:2121\"".to_owned(),
        "anonymous = false".to_owned(),
        "log_level = \"info\"".to_owned(),
        "anonymous_download_rate = 1048576".to_owned(),
        "passive_ports = \"30000-30100\"".to_owned(),
        "user = [\"alice:********:rw\", \"bob:********\"]".to_owned(),
        format!("root = \"{}\"", etc.join("srv").display()),
        format!("tls_cert = \"{}\"", etc.join("certs/ftp.pem").display()),
        "tls_key = \"/abs/key.pem\"".to_owned(),
    ] {
        assert!(printed.lines().any(|l| l == line), "no {line:?} in:\n{printed}");
    }
    assert!(!printed.contains("topsecret"), "{printed}");
    assert!(printed.contains("# xferlog ="), "unset keys are listed: {printed}");
    // What it prints is a configuration file.
    std::fs::write(dir.path().join("printed.toml"), &printed).unwrap();
    let again = ftpkit(dir.path(), &["serve", "--config", "printed.toml", "--print-config"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), printed);
}

/// A misspelt key is an error naming the key, the file and the line, with
/// the usage exit code (2); so is a value of the wrong type.
#[test]
fn unknown_key_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "listen = \"127.0.0.1:0\"\n\nmax_sesions = 3\n").unwrap();
    let out = ftpkit(dir.path(), &["serve", "--config", "bad.toml", "--print-config"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:3:1") && err.contains("unknown field `max_sesions`"), "{err}");
    std::fs::write(dir.path().join("bad.toml"), "max_sessions = \"many\"\n").unwrap();
    let out = ftpkit(dir.path(), &["serve", "--config", "bad.toml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:1:16"), "{err}");
    let out = ftpkit(dir.path(), &["serve", "--config", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// `serve --config`: the root (relative to the file), the listening
/// address and the users come from the file; a named user logs in,
/// anonymous logins are off (a user is configured).
#[test]
fn serve_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pub")).unwrap();
    std::fs::write(dir.path().join("pub/hello.txt"), b"hello\n").unwrap();
    add_user(dir.path(), "users.toml", "carol", "c-pass");
    std::fs::write(
        dir.path().join("ftpkit.toml"),
        "listen = \"127.0.0.1:0\"\nroot = \"pub\"\nuser = [\"bob:b-pass\"]\nusers_file = \"users.toml\"\n\
         metrics_listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = dir.path().join("ftpkit.toml");
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend(run_as_root());
    let served = Served::start(work.path(), &args);
    assert!(served.banner.contains("to 2 user(s)"), "{}", served.banner);
    let mut bob = Control::connect(&served.addr);
    assert!(bob.login("bob", "b-pass").starts_with("230"));
    assert!(bob.command("SIZE hello.txt").starts_with("213 6"), "served from the file's root");
    let mut carol = Control::connect(&served.addr);
    assert!(carol.login("carol", "c-pass").starts_with("230"));
    let mut anonymous = Control::connect(&served.addr);
    assert!(anonymous.login("anonymous", "x@").starts_with("530"));
    // The metrics address is in the banner, and answers.
    let metrics = served.banner.split("metrics on http://").nth(1).and_then(|r| r.split('/').next()).unwrap();
    let mut scrape = TcpStream::connect(metrics).unwrap();
    scrape.set_read_timeout(Some(WAIT)).unwrap();
    scrape.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = scrape.read_to_string(&mut body);
    assert!(body.starts_with("HTTP/1.1 200") && body.contains("ftpkit_"), "{body}");
}

/// The certificate a NEW FTPS session (AUTH TLS) is shown, by `openssl
/// s_client -starttls ftp`, bounded by [`WAIT`].
fn served_cert(addr: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-starttls", "ftp", "-connect", addr, "-servername", "localhost"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    pem_body(&text(&out.stdout))
}

/// SIGHUP: a new FTPS session gets the certificate rewritten in place, a
/// user added to the users file logs in, a session opened before goes on;
/// a reload of a broken file or a broken certificate changes nothing and
/// says why.
#[test]
fn sighup_reloads_certificate_and_users() {
    if !Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success()) {
        assert!(std::env::var("FTP_INTEROP_REQUIRED").as_deref() != Ok("1"), "openssl is required");
        eprintln!("notice: openssl is missing; skipping the SIGHUP test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let cert_a = make_cert(&cert, &key, "a.test");
    std::fs::create_dir(dir.path().join("root")).unwrap();
    add_user(dir.path(), "users.toml", "carol", "c-pass");
    let config = dir.path().join("ftpkit.toml");
    let write_config = |max_sessions: usize| {
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\nroot = \"root\"\nusers_file = \"users.toml\"\n\
                 tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\nmax_sessions = {max_sessions}\n"
            ),
        )
        .unwrap();
    };
    write_config(100);
    let mut args = vec!["--config", config.to_str().unwrap(), "--log-level", "info"];
    args.extend(run_as_root());
    let served = Served::start(dir.path(), &args);
    assert_eq!(served_cert(&served.addr), cert_a, "the first certificate");
    let mut old = Control::connect(&served.addr);
    assert!(old.login("carol", "c-pass").starts_with("230"));
    assert!(Control::connect(&served.addr).login("dave", "d-pass").starts_with("530"), "dave is not there yet");

    // Cert B over A, dave added, max_sessions changed; an idle_timeout
    // change takes a restart.
    let cert_b = make_cert(&cert, &key, "b.test");
    assert_ne!(cert_a, cert_b);
    add_user(dir.path(), "users.toml", "dave", "d-pass");
    write_config(50);
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap() + "idle_timeout = 60\n").unwrap();
    served.signal("HUP");
    served.wait_log("configuration reloaded", 1);
    let log = served.log();
    assert!(log.contains("2 named user(s)") && log.contains("certificate re-read"), "{log}");
    assert!(log.contains("changed: max_sessions"), "{log}");
    assert!(log.contains("idle_timeout changed, which takes a restart"), "{log}");
    assert_eq!(served_cert(&served.addr), cert_b, "a new session gets the new certificate");
    assert!(Control::connect(&served.addr).login("dave", "d-pass").starts_with("230"), "dave is in");
    assert!(old.command("NOOP").starts_with("200"), "the old session goes on");

    // A broken file: nothing changes.
    std::fs::write(&config, "max_sessions = [\n").unwrap();
    served.signal("HUP");
    served.wait_log("configuration not reloaded", 1);
    assert!(served.log().contains("ftpkit.toml:"), "{}", served.log());
    // A broken certificate: nothing changes either.
    write_config(50);
    std::fs::write(&cert, "not a certificate\n").unwrap();
    served.signal("HUP");
    served.wait_log("configuration not reloaded", 2);
    assert_eq!(served_cert(&served.addr), cert_b, "the last good certificate stays");
    assert!(Control::connect(&served.addr).login("dave", "d-pass").starts_with("230"));
    assert!(old.command("NOOP").starts_with("200"));
}

/// As root: `--run-as nobody` serves, after its banner, as nobody (uid,
/// gid), a root nobody can read; without `--run-as`, root switches to
/// nobody all the same (vsftpd's `nopriv_user` default) and says how to
/// choose. Not as root: another user cannot be taken.
#[test]
fn run_as_drops_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("file.txt"), b"abc").unwrap();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("notice: not root; only checking that --run-as cannot switch users");
        let out = ftpkit(dir.path(), &["serve", "--listen", "127.0.0.1:0", "--run-as", "root"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("only root can switch"), "{err}");
        return;
    }
    let out = ftpkit(dir.path(), &["serve", "--listen", "127.0.0.1:0", "--run-as", "no-such-user-here"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no such user"), "{}", text(&out.stderr));

    let Some(nobody) = nix::unistd::User::from_name("nobody").unwrap() else {
        eprintln!("notice: no user nobody; skipping the switch");
        return;
    };
    // tempdir() is 0700: nobody needs to reach the root.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root_arg = root.to_str().unwrap();
    for args in [&["--run-as", "nobody"][..], &[]] {
        let served = Served::start(dir.path(), &[&["--listen", "127.0.0.1:0", "--root", root_arg][..], args].concat());
        assert!(served.banner.contains(", as nobody"), "{}", served.banner);
        if args.is_empty() {
            served.wait_log("started as root: serving as nobody", 1);
            assert!(served.log().contains("--run-as USER"), "{}", served.log());
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", served.child.id())).unwrap();
        let ids = |key: &str| -> Vec<u32> {
            let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
            line.split_whitespace().map(|n| n.parse().unwrap()).collect()
        };
        assert_eq!(ids("Uid:"), vec![nobody.uid.as_raw(); 4], "{status}");
        assert_eq!(ids("Gid:"), vec![nobody.gid.as_raw(); 4], "{status}");
        let mut anonymous = Control::connect(&served.addr);
        assert!(anonymous.login("anonymous", "x@").starts_with("230"));
        assert!(anonymous.command("SIZE file.txt").starts_with("213 3"));
    }
}

/// docs/ftpkit.example.toml is a valid configuration and shows every key
/// (the ones `--print-config` prints, set or commented out).
#[test]
fn example_config_has_every_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ftpkit.example.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = ftpkit(dir.path(), &["serve", "--config", example.to_str().unwrap(), "--print-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let example = std::fs::read_to_string(&example).unwrap();
    for line in text(&out.stdout).lines().filter(|l| !l.starts_with("# ftpkit")) {
        let key = line.trim_start_matches("# ").split(" =").next().unwrap();
        let shown = example.lines().any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")));
        assert!(shown, "{key} is not in docs/ftpkit.example.toml");
    }
}
