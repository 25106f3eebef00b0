//! `ftpkit passwd` run as a program (issue 18): adds users, changes a
//! password, deletes a user, keeping the file's comments and mode 0600, and
//! never writing the password itself.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use argon2::{Argon2, PasswordHash, PasswordVerifier};

const FTPKIT: &str = env!("CARGO_BIN_EXE_ftpkit");

/// `ftpkit passwd ARGS` with `stdin` piped in (not a terminal).
fn passwd(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(FTPKIT)
        .arg("passwd")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ftpkit passwd failed: {stderr}");
    stderr
}

/// The users table of the file, parsed.
fn users(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap();
    let mut doc: toml::Table = toml::from_str(&text).unwrap();
    match doc.remove("users") {
        Some(toml::Value::Table(users)) => users,
        other => panic!("no users table: {other:?}\n{text}"),
    }
}

fn field<'a>(users: &'a toml::Table, user: &str, key: &str) -> Option<&'a toml::Value> {
    users.get(user)?.as_table()?.get(key)
}

/// Whether `password` verifies against the user's argon2id hash.
fn verifies(users: &toml::Table, user: &str, password: &str) -> bool {
    let hash = field(users, user, "password").and_then(toml::Value::as_str).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let hash = PasswordHash::new(hash).unwrap();
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Issue 18: add alice (writable) and bob, then change alice's password:
/// the file parses, keeps its comment, stays mode 0600, holds argon2id
/// hashes of the right passwords and never the passwords themselves.
#[test]
fn passwd_adds_and_changes_users() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.toml");
    let f = file.to_str().unwrap();
    std::fs::write(&file, "# Our FTP users: ask ops before editing.\n").unwrap();

    let stderr = ok(&passwd(&["alice", "--users-file", f, "--writable"], "alice-first-pw\n"));
    assert!(stderr.contains("alice"), "{stderr}");
    assert_eq!(mode(&file), 0o600, "replaced by a 0600 file");
    ok(&passwd(&["bob", "--users-file", f, "--home", "bob-home"], "bob pw with spaces\r\n"));
    ok(&passwd(&["alice", "--users-file", f], "alice-second-pw\n"));

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# Our FTP users: ask ops before editing.\n"), "{text}");
    for pw in ["alice-first-pw", "alice-second-pw", "bob pw with spaces", "bob pw"] {
        assert!(!text.contains(pw), "{pw:?} written to the file:\n{text}");
    }
    assert_eq!(mode(&file), 0o600);
    let users = users(&file);
    assert_eq!(users.len(), 2, "{text}");
    assert!(verifies(&users, "alice", "alice-second-pw"));
    assert!(!verifies(&users, "alice", "alice-first-pw"), "the password changed");
    assert!(verifies(&users, "bob", "bob pw with spaces"), "CR LF stripped, spaces kept");
    assert_eq!(field(&users, "alice", "writable").and_then(toml::Value::as_bool), Some(true), "kept on change");
    assert_eq!(field(&users, "bob", "writable"), None, "not given: the default (read-only)");
    assert_eq!(field(&users, "bob", "home").and_then(toml::Value::as_str), Some("bob-home"));
    assert!(!dir.path().read_dir().unwrap().any(|e| e.unwrap().file_name() != "users.toml"), "no temporary left");

    // Another user's entry and hand-written keys and comments survive an
    // edit; --read-only turns write access off.
    let text = text.replace("[users.bob]", "# Bob is in finance.\n[users.bob]\nmax_sessions = 2 # at most two\n");
    std::fs::write(&file, &text).unwrap();
    ok(&passwd(&["alice", "--users-file", f, "--read-only"], "alice-third-pw\n"));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains("# Bob is in finance.\n") && after.contains("max_sessions = 2 # at most two"), "{after}");
    let users = self::users(&file);
    assert!(verifies(&users, "alice", "alice-third-pw"));
    assert!(verifies(&users, "bob", "bob pw with spaces"));
    assert_eq!(field(&users, "alice", "writable").and_then(toml::Value::as_bool), Some(false));

    // --delete removes bob only.
    let stderr = ok(&passwd(&["bob", "--users-file", f, "--delete"], ""));
    assert!(stderr.contains("bob"), "{stderr}");
    let users = self::users(&file);
    assert_eq!(users.keys().collect::<Vec<_>>(), ["alice"]);
    assert!(verifies(&users, "alice", "alice-third-pw"));
    let out = passwd(&["bob", "--users-file", f, "--delete"], "");
    assert!(!out.status.success(), "deleting a missing user fails");
}

/// Issue 18: a missing file is created (mode 0600); an empty password or
/// none at all is refused and leaves the file as it was; the password is
/// never taken from the command line.
#[test]
fn passwd_creates_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.toml");
    let f = file.to_str().unwrap();

    for stdin in ["\n", "", "\r\n"] {
        let out = passwd(&["carol", "--users-file", f], stdin);
        assert_eq!(out.status.code(), Some(1), "{stdin:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("empty password"), "{out:?}");
        assert!(!file.exists(), "nothing written for {stdin:?}");
    }

    ok(&passwd(&["carol", "--users-file", f], "carol-pw\nsecond line ignored\n"));
    assert_eq!(mode(&file), 0o600);
    let users = users(&file);
    assert!(verifies(&users, "carol", "carol-pw"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with('#'), "a new file starts with a comment: {text}");

    let before = std::fs::read_to_string(&file).unwrap();
    let out = passwd(&["carol", "--users-file", f, ""], "x\n");
    assert_eq!(out.status.code(), Some(2), "no password argument: {out:?}");
    let out = passwd(&["carol", "--users-file", f], "\n");
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "a refused change leaves the file alone");
    let out = passwd(&["bad\rname", "--users-file", f], "pw\n");
    assert!(!out.status.success(), "{out:?}");
}
