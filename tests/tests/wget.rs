//! Our server with GNU Wget 1.21 (Debian, GnuTLS): recursive retrieval of
//! a tree with symbolic links (`wget -r`, which walks `LIST` output), and
//! download continuation (`wget -c`: `SIZE`, then `REST` + `RETR`), over
//! passive (`PASV`) and active (`--no-passive-ftp`: `PORT`) data
//! connections, in plain FTP and explicit FTPS (`ftps://`: `AUTH TLS`,
//! `PBSZ 0`, `PROT P`) under TLS 1.2 and TLS 1.3.
//!
//! Wget only downloads: it has no upload, rename, delete, mkdir or rmdir,
//! so those are not exercised here. It resumes the control connection's
//! TLS session on data connections (`--ftps-resume-ssl`, its default), so
//! the server's resumption check (SECURITY.md L6) stays on. Every
//! downloaded file is compared by SHA-256 with the served one.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ftp_interop::data::{TreeDigest, make_tree, sha256_file, tree_digest, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, USER, have_program, run};

const MIB: u64 = 1 << 20;

#[derive(Clone, Copy, Debug)]
enum Security {
    Plain,
    Tls12,
    Tls13,
}

#[derive(Clone, Copy, Debug)]
enum Data {
    Passive,
    Active,
}

/// Runs wget in `dir` against `path` on the server; returns its output
/// (the caller checks the status).
fn wget(server: &OurServer, security: Security, data: Data, dir: &Path, extra: &[&str], path: &str) -> Output {
    let mut command = Command::new("wget");
    command
        .current_dir(dir)
        // Bounded: one try, 20 s for connects and reads.
        .args(["--no-verbose", "--tries=1", "--timeout=20", "--no-host-directories"])
        .arg(format!("--ftp-user={USER}"))
        .arg(format!("--ftp-password={PASSWORD}"));
    let scheme = match security {
        Security::Plain => "ftp",
        // The test certificate is self-signed.
        Security::Tls12 => {
            command.args(["--no-check-certificate", "--secure-protocol=TLSv1_2"]);
            "ftps"
        }
        Security::Tls13 => {
            command.args(["--no-check-certificate", "--secure-protocol=TLSv1_3"]);
            "ftps"
        }
    };
    if let Data::Active = data {
        command.arg("--no-passive-ftp");
    }
    command.args(extra).arg(format!("{scheme}://127.0.0.1:{}/{path}", server.port()));
    run(&mut command, Duration::from_secs(120))
}

fn wget_ok(server: &OurServer, security: Security, data: Data, dir: &Path, extra: &[&str], path: &str) -> Output {
    let out = wget(server, security, data, dir, extra, path);
    assert!(
        out.status.success(),
        "wget {extra:?} {path} ({security:?}, {data:?}) failed ({})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last lines of wget's log, for failure messages.
fn tail(log: &[u8]) -> String {
    let log = String::from_utf8_lossy(log);
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The served tree under `/tree`: [`make_tree`] plus symbolic links, two
/// leading to files inside the root and two leading out of it. Returns
/// what a client must see: the links inside as copies of their targets,
/// the links outside not at all.
fn tree_with_links(root: &Path, outside: &Path) -> TreeDigest {
    let tree = root.join("tree");
    std::fs::create_dir(&tree).unwrap();
    let mut expected = make_tree(&tree, 40);
    std::os::unix::fs::symlink("top.bin", tree.join("link to top.bin")).unwrap();
    std::os::unix::fs::symlink("../../top.bin", tree.join("nested/deeper/uplink.bin")).unwrap();
    std::fs::write(outside.join("secret.txt"), b"not served").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), tree.join("outside.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", tree.join("nested/hostname")).unwrap();
    let top = expected["top.bin"].clone();
    expected.insert("link to top.bin".to_owned(), top.clone());
    expected.insert("nested/deeper/uplink.bin".to_owned(), top);
    expected
}

/// `wget -r` of `/tree`, checked file by file; no symbolic link is made
/// locally and nothing from outside the root arrives.
fn recursive(server: &OurServer, security: Security, data: Data) {
    let outside = tempfile::tempdir().unwrap();
    let expected = tree_with_links(server.root(), outside.path());
    let local = tempfile::tempdir().unwrap();
    let out = wget_ok(server, security, data, local.path(), &["-r", "-l", "10"], "tree/");
    let got = local.path().join("tree");
    assert_eq!(
        tree_digest(&got),
        expected,
        "wget -r fetched every file (links inside the root as their targets); wget said:\n{}",
        tail(&out.stderr)
    );
    let mut links = Vec::new();
    let mut stack = vec![got];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                links.push(entry.path());
            } else if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    assert!(links.is_empty(), "wget made symbolic links instead of fetching files: {links:?}");
}

/// `wget -c` of a 3 MiB file of which the first 1,000,000 bytes are
/// already here: the rest must come from that offset.
fn continued(server: &OurServer, security: Security, data: Data) {
    let served = server.root().join("big.bin");
    let expected = write_pseudo_random_file(&served, 41, 3 * MIB + 17);
    let local = tempfile::tempdir().unwrap();
    let whole = std::fs::read(&served).unwrap();
    std::fs::write(local.path().join("big.bin"), &whole[..1_000_000]).unwrap();
    let _ = wget_ok(server, security, data, local.path(), &["-c"], "big.bin");
    assert_eq!(std::fs::metadata(local.path().join("big.bin")).unwrap().len(), whole.len() as u64);
    assert_eq!(sha256_file(&local.path().join("big.bin")), expected, "wget -c continued from the offset");
    // And a whole download next to it.
    let fresh = tempfile::tempdir().unwrap();
    let _ = wget_ok(server, security, data, fresh.path(), &[], "big.bin");
    assert_eq!(sha256_file(&fresh.path().join("big.bin")), expected, "wget (whole file)");
}

/// RFC 959 4.1.2-4.1.3 (`PASV`, `LIST`, `RETR`) and SECURITY.md P2 with
/// the server's link policy: `wget -r` over plain FTP, passive.
#[test]
fn wget_recursive_with_symlinks_passive() {
    if !have_program("wget") {
        return;
    }
    let server = OurServer::start(|_| {});
    recursive(&server, Security::Plain, Data::Passive);
}

/// RFC 959 4.1.2 (`PORT`): `wget -r --no-passive-ftp`, the server
/// connecting back to wget.
#[test]
fn wget_recursive_with_symlinks_active() {
    if !have_program("wget") {
        return;
    }
    let server = OurServer::start(|_| {});
    recursive(&server, Security::Plain, Data::Active);
}

/// RFC 3659 4 and 5 (`SIZE`, `REST` + `RETR`): `wget -c` over plain FTP,
/// passive and active.
#[test]
fn wget_continues_download_plain() {
    if !have_program("wget") {
        return;
    }
    let server = OurServer::start(|_| {});
    continued(&server, Security::Plain, Data::Passive);
    continued(&server, Security::Plain, Data::Active);
}

/// RFC 4217 under TLS 1.3: `wget -r` and `wget -c` over `ftps://` with
/// protected data connections, passive and active, resuming the control
/// session (SECURITY.md L6, required).
#[test]
fn wget_ftps_tls13() {
    if !have_program("wget") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    recursive(&server, Security::Tls13, Data::Passive);
    continued(&server, Security::Tls13, Data::Passive);
    continued(&server, Security::Tls13, Data::Active);
}

/// RFC 4217 under TLS 1.2: the same.
#[test]
fn wget_ftps_tls12() {
    if !have_program("wget") {
        return;
    }
    let server = OurServer::start_tls(|_| {});
    recursive(&server, Security::Tls12, Data::Active);
    continued(&server, Security::Tls12, Data::Passive);
    continued(&server, Security::Tls12, Data::Active);
}
