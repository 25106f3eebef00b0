//! Our server with curl and Python's ftplib, the cases that
//! `crates/ftp-tokio/tests/interop.rs` does not cover: PASV without EPSV,
//! active mode in both directions, resuming an interrupted transfer, MLSD
//! facts, RNFR/RNTO, REST with RETR and STOR, and `FTP_TLS.prot_p()`.
//! Every transferred file is compared through its SHA-256.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ftp_interop::data::{pseudo_random_bytes, sha256_file, sha256_hex, write_pseudo_random_file};
use ftp_interop::{OurServer, PASSWORD, USER, have_program, run};

const MIB: u64 = 1 << 20;

fn curl(args: &[&str]) -> Output {
    run(
        Command::new("curl")
            .args(["-s", "-S", "-v", "--max-time", "60", "-u", &format!("{USER}:{PASSWORD}")])
            .args(args),
        Duration::from_secs(90),
    )
}

/// Runs curl and requires exit status 0; returns (stdout, stderr).
fn curl_ok(args: &[&str]) -> (Vec<u8>, String) {
    let out = curl(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "curl {args:?}: {}\n{stderr}", out.status);
    (out.stdout, stderr)
}

/// The commands curl sent, from its `-v` output (`> VERB ...` lines).
fn sent(stderr: &str) -> Vec<&str> {
    stderr.lines().filter_map(|l| l.strip_prefix("> ")).map(|l| l.split(' ').next().unwrap_or(l)).collect()
}

fn python(script: &str, args: &[&str]) {
    let out = run(Command::new("python3").arg("-c").arg(script).args(args), Duration::from_secs(120));
    assert!(
        out.status.success(),
        "ftplib script failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// RFC 959 4.1.2 `PASV` (and RFC 2428 only not used): curl with
/// `--ftp-pasv --disable-epsv`, the fallback git-ftp added for servers where
/// EPSV hangs (PEERS.md 2.10). Download, upload and name list.
#[test]
fn curl_pasv_with_epsv_disabled() {
    if !have_program("curl") {
        return;
    }
    let server = OurServer::start(|_| {});
    let expected = write_pseudo_random_file(&server.root().join("down.bin"), 11, 3 * MIB + 7);
    let (body, log) = curl_ok(&["--ftp-pasv", "--disable-epsv", &format!("ftp://{}/down.bin", server.addr())]);
    assert_eq!(sha256_hex(&body), expected);
    let commands = sent(&log);
    assert!(commands.contains(&"PASV") && !commands.contains(&"EPSV"), "{commands:?}");

    let local = tempfile::tempdir().unwrap();
    let upload = local.path().join("up.bin");
    let expected = write_pseudo_random_file(&upload, 12, 2 * MIB + 1);
    let (_, log) =
        curl_ok(&["--ftp-pasv", "--disable-epsv", "-T", path(&upload), &format!("ftp://{}/up.bin", server.addr())]);
    assert_eq!(sha256_file(&server.root().join("up.bin")), expected);
    assert!(sent(&log).contains(&"STOR"));

    let (names, _) = curl_ok(&["--ftp-pasv", "--disable-epsv", "--list-only", &format!("ftp://{}/", server.addr())]);
    let names = String::from_utf8(names).unwrap();
    let mut names: Vec<&str> = names.lines().map(|l| l.trim_end_matches('\r')).collect();
    names.sort_unstable();
    assert_eq!(names, ["down.bin", "up.bin"]);
}

/// RFC 2428 2 `EPRT` and RFC 959 4.1.2 `PORT`: curl's active mode
/// (`--ftp-port 127.0.0.1`, with and without `--disable-eprt`), downloading
/// and uploading: the server connects back to curl.
#[test]
fn curl_active_mode_both_directions() {
    if !have_program("curl") {
        return;
    }
    let server = OurServer::start(|_| {});
    let local = tempfile::tempdir().unwrap();
    for (i, (extra, verb)) in [(None, "EPRT"), (Some("--disable-eprt"), "PORT")].into_iter().enumerate() {
        let seed = 20 + i as u64;
        let name = format!("active{i}.bin");
        let expected = write_pseudo_random_file(&server.root().join(&name), seed, 2 * MIB + 3);
        let url = format!("ftp://{}/{name}", server.addr());
        let mut args = vec!["--ftp-port", "127.0.0.1"];
        args.extend(extra);
        let (body, log) = curl_ok(&[args.as_slice(), &[url.as_str()]].concat());
        assert_eq!(sha256_hex(&body), expected, "download over {verb}");
        assert!(sent(&log).contains(&verb), "{:?}", sent(&log));

        let upload = local.path().join(&name);
        let expected = write_pseudo_random_file(&upload, seed + 100, MIB + 5);
        let target = format!("ftp://{}/up-{name}", server.addr());
        let (_, log) = curl_ok(&[args.as_slice(), &["-T", path(&upload), target.as_str()]].concat());
        assert_eq!(sha256_file(&server.root().join(format!("up-{name}"))), expected, "upload over {verb}");
        assert!(sent(&log).contains(&verb));
    }
}

/// RFC 3659 5 (`REST` then `RETR`) and RFC 959 4.1.3 (`APPE`): a download
/// that curl cuts after 1,000,000 bytes (`-r 0-999999`: it closes the data
/// connection mid-transfer) is continued with `-C -`; an upload cut short is
/// continued with `-C - -T` (`SIZE`, then `APPE` of the rest).
#[test]
fn curl_resumes_interrupted_transfers() {
    if !have_program("curl") {
        return;
    }
    let server = OurServer::start(|_| {});
    let len = 5 * MIB + 123;
    let expected = write_pseudo_random_file(&server.root().join("big.bin"), 30, len);
    let url = format!("ftp://{}/big.bin", server.addr());
    let local = tempfile::tempdir().unwrap();
    let partial = local.path().join("big.bin");
    let (_, _) = curl_ok(&["-r", "0-999999", "-o", path(&partial), &url]);
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), 1_000_000, "the first transfer was cut");
    let (_, log) = curl_ok(&["-C", "-", "-o", path(&partial), &url]);
    assert!(log.contains("> REST 1000000"), "{log}");
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), len);
    assert_eq!(sha256_file(&partial), expected, "resumed download is byte-exact");

    // Upload: the server holds the first 1,500,000 bytes of the file.
    let whole = pseudo_random_bytes(31, 4_000_001);
    let source = local.path().join("up.bin");
    std::fs::write(&source, &whole).unwrap();
    std::fs::write(server.root().join("up.bin"), &whole[..1_500_000]).unwrap();
    let (_, log) = curl_ok(&["-C", "-", "-T", path(&source), &format!("ftp://{}/up.bin", server.addr())]);
    assert!(sent(&log).contains(&"APPE"), "{:?}", sent(&log));
    assert_eq!(sha256_file(&server.root().join("up.bin")), sha256_hex(&whole), "resumed upload is byte-exact");
}

const PY_LOGIN: &str = r#"
import ftplib, hashlib, io, sys
port = int(sys.argv[1])
f = ftplib.FTP()
f.connect('127.0.0.1', port, timeout=30)
f.login('ftptest', 'ftptest')
def sha(b): return hashlib.sha256(b).hexdigest()
def fetch(path, rest=None):
    buf = io.BytesIO(); f.retrbinary('RETR ' + path, buf.write, rest=rest); return buf.getvalue()
"#;

/// RFC 3659 7 `MLSD` through `FTP.mlsd()`: one entry per name (including
/// names with spaces), `type` file/dir, exact `size`, a 14-digit UTC
/// `modify` (RFC 3659 7.5.3, 2.3).
#[test]
fn ftplib_mlsd_facts() {
    if !have_program("python3") {
        return;
    }
    let server = OurServer::start(|_| {});
    mlsd_fixture(server.root());
    let script = format!(
        "{PY_LOGIN}{}",
        r#"
facts = {name: fs for name, fs in f.mlsd('d') if fs['type'] not in ('cdir', 'pdir')}
assert sorted(facts) == ['empty', 'file one.bin', 'sub dir'], facts
assert facts['file one.bin']['type'] == 'file' and facts['file one.bin']['size'] == '12345', facts
assert facts['empty']['size'] == '0', facts
assert facts['sub dir']['type'] == 'dir', facts
for name, fs in facts.items():
    assert len(fs['modify']) >= 14 and fs['modify'][:14].isdigit(), (name, fs)
f.quit()
"#
    );
    python(&script, &[&server.port().to_string()]);
}

fn mlsd_fixture(root: &Path) {
    let dir = root.join("d");
    std::fs::create_dir_all(dir.join("sub dir")).unwrap();
    let _ = write_pseudo_random_file(&dir.join("file one.bin"), 40, 12_345);
    let _ = write_pseudo_random_file(&dir.join("empty"), 41, 0);
}

/// RFC 3659 7.9: after `OPTS MLST type;size;` (what `FTP.mlsd(facts=...)`
/// sends), `MLSD` lines carry only the selected facts.
#[test]
fn ftplib_mlsd_honours_opts_mlst() {
    if !have_program("python3") {
        return;
    }
    let server = OurServer::start(|_| {});
    mlsd_fixture(server.root());
    let script = format!(
        "{PY_LOGIN}{}",
        r#"
only = {name: fs for name, fs in f.mlsd('d', facts=['type', 'size']) if fs['type'] == 'file'}
assert set(only['file one.bin']) == {'type', 'size'}, only
f.quit()
"#
    );
    python(&script, &[&server.port().to_string()]);
}

/// RFC 959 4.1.3 `RNFR`/`RNTO` through `FTP.rename()`: a file within its
/// directory, into another directory, a directory with its contents; the
/// bytes are untouched; a missing source gives 550.
#[test]
fn ftplib_rename() {
    if !have_program("python3") {
        return;
    }
    let server = OurServer::start(|_| {});
    std::fs::create_dir_all(server.root().join("from dir")).unwrap();
    std::fs::create_dir_all(server.root().join("to")).unwrap();
    let a = write_pseudo_random_file(&server.root().join("a.bin"), 50, 777_777);
    let b = write_pseudo_random_file(&server.root().join("from dir/b.bin"), 51, 1_000);
    let script = format!(
        "{PY_LOGIN}{}",
        r#"
f.rename('a.bin', 'renamed a.bin')
f.rename('renamed a.bin', 'to/a.bin')
f.rename('from dir', 'to/moved dir')
try:
    f.rename('nowhere.bin', 'x.bin')
    raise SystemExit('expected 550')
except ftplib.error_perm as e:
    assert str(e).startswith('550'), e
assert sorted(f.nlst('to')) in (['a.bin', 'moved dir'], ['to/a.bin', 'to/moved dir']), f.nlst('to')
f.quit()
"#
    );
    python(&script, &[&server.port().to_string()]);
    assert!(!server.root().join("a.bin").exists() && !server.root().join("from dir").exists());
    assert_eq!(sha256_file(&server.root().join("to/a.bin")), a);
    assert_eq!(sha256_file(&server.root().join("to/moved dir/b.bin")), b);
}

/// RFC 3659 5 `REST` with `RETR` and with `STOR` (ftplib's `rest=`): the
/// tail of a file from an offset, and an interrupted upload (the server
/// holds its first 2,000,000 bytes) completed by sending the rest from
/// that offset.
#[test]
fn ftplib_rest_with_retr_and_stor() {
    if !have_program("python3") {
        return;
    }
    let server = OurServer::start(|_| {});
    let whole = pseudo_random_bytes(60, 3_000_000);
    std::fs::write(server.root().join("r.bin"), &whole).unwrap();
    std::fs::write(server.root().join("partial.bin"), &whole[..2_000_000]).unwrap();
    let local = tempfile::tempdir().unwrap();
    let tail_path = local.path().join("tail.bin");
    let rest_path = local.path().join("rest.bin");
    std::fs::write(&rest_path, &whole[2_000_000..]).unwrap();
    let script = format!(
        "{PY_LOGIN}{}",
        r#"
tail = fetch('r.bin', rest=1234567)
open(sys.argv[2], 'wb').write(tail)
assert fetch('r.bin', rest=3000000) == b''
with open(sys.argv[3], 'rb') as src:
    f.storbinary('STOR partial.bin', src, rest=2000000)
f.quit()
"#
    );
    python(&script, &[&server.port().to_string(), path(&tail_path), path(&rest_path)]);
    assert_eq!(sha256_file(&tail_path), sha256_hex(&whole[1_234_567..]), "RETR from the REST offset");
    assert_eq!(
        sha256_file(&server.root().join("partial.bin")),
        sha256_hex(&whole),
        "STOR from the REST offset completes the file"
    );
}

/// RFC 4217 through `FTP_TLS`: `AUTH TLS`, `PBSZ 0`, `PROT P` (`prot_p()`),
/// then uploads and downloads on protected data connections, passive and
/// active. ftplib does not resume the control session on data connections
/// (cpython #63699, PEERS.md 2.8), so the server's resumption check is off.
#[test]
fn ftplib_ftp_tls_prot_p_transfers() {
    if !have_program("python3") {
        return;
    }
    let server = OurServer::start_tls(|o| o.session = o.session.clone().require_tls_resumption(false));
    let local = tempfile::tempdir().unwrap();
    let upload = local.path().join("up.bin");
    let up_sha = write_pseudo_random_file(&upload, 70, 2 * MIB + 17);
    let down_sha = write_pseudo_random_file(&server.root().join("down.bin"), 71, 3 * MIB + 5);
    let passive = local.path().join("passive.bin");
    let active = local.path().join("active.bin");
    let script = r#"
import ftplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=30)
f.connect('127.0.0.1', int(sys.argv[1]))
f.auth()
f.login('ftptest', 'ftptest')
f.prot_p()
with open(sys.argv[2], 'rb') as src:
    f.storbinary('STOR up.bin', src)
with open(sys.argv[3], 'wb') as out:
    f.retrbinary('RETR down.bin', out.write)
f.set_pasv(False)
with open(sys.argv[4], 'wb') as out:
    f.retrbinary('RETR down.bin', out.write)
with open(sys.argv[2], 'rb') as src:
    f.storbinary('STOR up-active.bin', src)
f.quit()
"#;
    python(script, &[&server.port().to_string(), path(&upload), path(&passive), path(&active)]);
    assert_eq!(sha256_file(&server.root().join("up.bin")), up_sha, "protected upload (passive)");
    assert_eq!(sha256_file(&server.root().join("up-active.bin")), up_sha, "protected upload (active)");
    assert_eq!(sha256_file(&passive), down_sha, "protected download (passive)");
    assert_eq!(sha256_file(&active), down_sha, "protected download (active)");
}
