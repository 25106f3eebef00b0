//! Our server with tnftp (NetBSD's ftp(1), Debian's tnftp 20210827),
//! driven by a command script on its standard input: `put`, `get`,
//! `reget` (download continued: `SIZE`, `REST` + `RETR`), `restart` +
//! `put` (upload continued: `REST` + `STOR`), `append` (`APPE`), `ls`
//! (`LIST`), `mls` (`NLST`), `mlst`, `size`, `rename`, `delete`, `mkdir`
//! and `rmdir`, over each data connection kind: `EPSV`, `PASV`, `EPRT`
//! and `PORT` (tnftp's `-A` for active mode, `epsv4` off for the RFC 959
//! commands).
//!
//! Plain FTP only: tnftp has no FTP over TLS (it speaks TLS only for
//! `https://` URLs), so there is no FTPS test here. The harness closes a
//! program's standard input, so the script goes through `sh -c 'exec
//! tnftp ... < script'`. tnftp carries on after a failed command, so the
//! tests check its log (every reply it prints) for 4xx/5xx replies and the
//! files on both sides, compared by SHA-256. tnftp's `-q 20` quits a
//! transfer stalled for 20 s; the whole run is bounded by [`run`].

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ftp_interop::data::{pseudo_random_bytes, sha256_file, sha256_hex, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, USER, run, skip};

const MIB: u64 = 1 << 20;

/// Whether tnftp can be started (it has no `--version`); [`skip`]s
/// otherwise.
fn have_tnftp() -> bool {
    let found = Command::new("tnftp").arg("-?").output().is_ok();
    if !found {
        skip("tnftp");
    }
    found
}

#[derive(Clone, Copy, Debug)]
enum Data {
    Epsv,
    Pasv,
    Eprt,
    Port,
}

impl Data {
    /// The command tnftp must send to set up each data connection.
    fn verb(self) -> &'static str {
        match self {
            Self::Epsv => "EPSV",
            Self::Pasv => "PASV",
            Self::Eprt => "EPRT",
            Self::Port => "PORT",
        }
    }
}

/// Runs tnftp with `script` (after the login) against the server; returns
/// its log (stdout and stderr), after checking that it exited 0 and that
/// no reply was a 4xx or 5xx one.
fn tnftp(server: &OurServer, data: Data, local: &Path, script: &str) -> String {
    let file = local.join("script.ftp");
    // `debug` prints each command sent as "---> VERB ..."; `epsv4`
    // toggles EPSV/EPRT (on by default) off.
    let epsv4 = if matches!(data, Data::Pasv | Data::Port) { "epsv4\n" } else { "" };
    std::fs::write(
        &file,
        format!("user {USER} {PASSWORD}\ndebug\n{epsv4}binary\nlcd {}\n{script}bye\n", local.display()),
    )
    .unwrap();
    let mode = if matches!(data, Data::Eprt | Data::Port) { "-A" } else { "-p" };
    let out = run(
        Command::new("sh")
            .arg("-c")
            .arg(format!("exec tnftp -n -i -e -v -q 20 {mode} 127.0.0.1 {} < \"$0\"", server.port()))
            .arg(&file),
        Duration::from_secs(120),
    );
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tnftp ({data:?}) failed ({}):\n{log}", out.status);
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.len() > 3 && l.as_bytes()[..3].iter().all(u8::is_ascii_digit) && matches!(l.as_bytes()[0], b'4' | b'5')
        })
        .collect();
    assert!(refused.is_empty(), "tnftp ({data:?}) got error replies {refused:?}:\n{log}");
    let verb = format!("---> {}", data.verb());
    assert!(log.contains(&verb), "tnftp ({data:?}) set up its data connections with {}:\n{log}", data.verb());
    log
}

/// Every operation over one kind of data connection, checked on both
/// sides.
fn every_operation(data: Data) {
    let server = OurServer::start(|_| {});
    let root = server.root();
    let local = tempfile::tempdir().unwrap();
    let up = write_pseudo_random_file(&local.path().join("up.bin"), 1, 2 * MIB + 11);
    let part = pseudo_random_bytes(2, 2_000_003);
    std::fs::write(local.path().join("part.bin"), &part).unwrap();
    std::fs::write(local.path().join("app-tail.bin"), &part[777_777..]).unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    let down_len = 3 * MIB - 13;
    let down = write_pseudo_random_file(&root.join("src/down.bin"), 3, down_len);
    let down_bytes = std::fs::read(root.join("src/down.bin")).unwrap();
    std::fs::write(local.path().join("resumed.bin"), &down_bytes[..1_000_000]).unwrap();
    std::fs::write(root.join("src/part.bin"), &part[..1_200_000]).unwrap();
    std::fs::write(root.join("src/app.bin"), &part[..777_777]).unwrap();

    let log = tnftp(
        &server,
        data,
        local.path(),
        "mkdir /d\n\
         put up.bin /d/up.bin\n\
         put up.bin /d/moved.bin\n\
         put up.bin /d/gone.bin\n\
         get /src/down.bin down.bin\n\
         reget /src/down.bin resumed.bin\n\
         restart 1200000\n\
         put part.bin /src/part.bin\n\
         append app-tail.bin /src/app.bin\n\
         ls /src ls.txt\n\
         mls /src mls.txt\n\
         mlst /src/down.bin\n\
         size /src/down.bin\n\
         rename /d/moved.bin /d/renamed.bin\n\
         delete /d/gone.bin\n\
         mkdir /d/sub\n\
         rmdir /d/sub\n",
    );

    assert_eq!(sha256_file(&root.join("d/up.bin")), up, "put (STOR)");
    assert_eq!(sha256_file(&local.path().join("down.bin")), down, "get (RETR)");
    assert!(log.contains("---> REST 1000000"), "reget continued from the local size:\n{log}");
    assert_eq!(sha256_file(&local.path().join("resumed.bin")), down, "reget (REST + RETR)");
    assert_eq!(sha256_file(&root.join("src/part.bin")), sha256_hex(&part), "restart + put (REST + STOR)");
    assert_eq!(sha256_file(&root.join("src/app.bin")), sha256_hex(&part), "append (APPE)");
    assert_eq!(sha256_file(&root.join("d/renamed.bin")), up, "rename keeps the bytes");
    for gone in ["d/moved.bin", "d/gone.bin", "d/sub"] {
        assert!(!root.join(gone).exists(), "{gone} was renamed or removed");
    }

    // LIST: one line per file, Unix style, with the exact sizes.
    let list = std::fs::read_to_string(local.path().join("ls.txt")).unwrap();
    let whole = part.len() as u64;
    for (name, len) in [("down.bin", down_len), ("part.bin", whole), ("app.bin", whole)] {
        assert!(
            list.lines()
                .any(|l| l.ends_with(&format!(" {name}")) && l.split_whitespace().any(|w| w == len.to_string())),
            "LIST shows {name} with {len} bytes:\n{list}"
        );
    }
    // NLST: the names.
    let nlst = std::fs::read_to_string(local.path().join("mls.txt")).unwrap();
    let mut names: Vec<&str> = nlst.lines().map(|l| l.trim_end().rsplit('/').next().unwrap_or_default()).collect();
    names.sort_unstable();
    assert_eq!(names, ["app.bin", "down.bin", "part.bin"], "NLST");
    // MLST and SIZE replies (RFC 3659 4 and 7), printed in the log.
    let size = format!("size={down_len};");
    assert!(
        log.lines().any(|l| l.starts_with(' ') && l.contains("type=file;") && l.contains(&size)),
        "MLST /src/down.bin:\n{log}"
    );
    assert!(log.lines().any(|l| l == format!("213 {down_len}")), "SIZE /src/down.bin:\n{log}");
}

/// RFC 2428 3 (`EPSV`), RFC 959 4.1.3 (`STOR`, `RETR`, `APPE`, `LIST`,
/// `NLST`, `RNFR`/`RNTO`, `DELE`, `MKD`, `RMD`), RFC 3659 4, 5 and 7
/// (`SIZE`, `REST` with `RETR` and `STOR`, `MLST`): tnftp's default
/// passive mode.
#[test]
fn tnftp_every_operation_epsv() {
    if have_tnftp() {
        every_operation(Data::Epsv);
    }
}

/// RFC 959 4.1.2 (`PASV`): the same with `epsv4` off.
#[test]
fn tnftp_every_operation_pasv() {
    if have_tnftp() {
        every_operation(Data::Pasv);
    }
}

/// RFC 2428 2 (`EPRT`): the same in active mode (`-A`), the server
/// connecting back to tnftp.
#[test]
fn tnftp_every_operation_eprt() {
    if have_tnftp() {
        every_operation(Data::Eprt);
    }
}

/// RFC 959 4.1.2 (`PORT`): active mode with `epsv4` off.
#[test]
fn tnftp_every_operation_port() {
    if have_tnftp() {
        every_operation(Data::Port);
    }
}
