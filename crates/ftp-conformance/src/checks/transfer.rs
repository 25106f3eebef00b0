//! Transfers and file commands: RFC 959 4.1.3 and 5.4, RFC 1123, RFC 3659 5.

use ftp_proto::{Command, TransferType};

use super::{code, first_difference, get, pattern, put, transfer, want};
use crate::catalogue::Cx;
use crate::client::{Control, Data, Stop, Verdict, fail, path, show, skip};

/// Big enough that a server cannot finish sending it into socket buffers
/// while the client does not read (loopback buffers reach a few MiB).
const BIG: usize = 24 << 20;

/// RFC 959 5.4: STOR → 125, 150, then 226, 250.
pub(crate) async fn stor(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("stor");
    let x = transfer(&mut c, Command::Stor(path(&name)?), Some(&pattern(4096))).await?;
    x.completed("STOR")
}

/// RFC 959 3.1.1.3: image type, "data are sent as contiguous bits".
pub(crate) async fn retr_roundtrip(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("roundtrip");
    let sent = pattern(200_000);
    put(&mut c, &name, &sent).await?;
    let got = get(&mut c, &name).await?;
    if got == sent {
        Ok(())
    } else {
        fail(format!("RETR returned other bytes than STOR stored: {}", first_difference(&sent, &got)))
    }
}

/// RFC 959 5.4: RETR → 125, 150 (110), then 226, 250.
pub(crate) async fn retr_replies(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("replies");
    put(&mut c, &name, b"replies\n").await?;
    let x = transfer(&mut c, Command::Retr(path(&name)?), None).await?;
    x.completed("RETR")
}

/// RFC 959 5.4: RETR → 450, 550 when the file is not there.
pub(crate) async fn retr_missing(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_name("missing");
    let x = transfer(&mut c, Command::Retr(path(&name)?), None).await?;
    if x.first.code().is_positive_preliminary() {
        return fail(format!("RETR of a missing file started a transfer: {}", show(&x.first)));
    }
    want("RETR of a missing file", &x.first, &[550, 450])
}

/// RFC 959 4.1.3 APPE: "if the file ... exists at the server site, then
/// the data shall be appended to that file".
pub(crate) async fn appe(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("appe");
    put(&mut c, &name, b"first part;").await?;
    let x = transfer(&mut c, Command::Appe(path(&name)?), Some(b"second part")).await?;
    if matches!(code(&x.first), 500 | 502) {
        return skip(format!("APPE is not implemented ({})", show(&x.first)));
    }
    x.completed("APPE")?;
    let got = get(&mut c, &name).await?;
    let want_bytes = b"first part;second part";
    if got == want_bytes {
        Ok(())
    } else {
        fail(format!(
            "after APPE the file holds {:?}, expected {:?}",
            String::from_utf8_lossy(&got),
            "first part;second part"
        ))
    }
}

/// The name in `FILE: name` (RFC 1123 4.1.2.9).
fn stou_name(text: &str) -> Option<String> {
    let at = text.find("FILE:")?;
    let name = text[at + 5..].trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The names NLST lists (empty when it fails).
async fn names(c: &mut Control) -> Result<Vec<String>, Stop> {
    let x = transfer(c, Command::Nlst(None), None).await?;
    if x.completed("NLST").is_err() {
        return Ok(Vec::new());
    }
    Ok(String::from_utf8_lossy(&x.data).lines().map(|l| l.trim_end_matches('\r').to_owned()).collect())
}

/// RFC 1123 4.1.2.9: "a Server-FTP MUST return the actual file name in the
/// '125 Transfer Starting' or the '150 Opening Data Connection' message
/// that precedes the transfer ... 125 FILE: pppp".
pub(crate) async fn stou(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let before = names(&mut c).await?;
    let content = b"stored under a unique name\n";
    let x = transfer(&mut c, Command::Stou(None), Some(content)).await?;
    if matches!(code(&x.first), 500 | 502) {
        return skip(format!("STOU is not implemented ({})", show(&x.first)));
    }
    let named = x.first.text().to_str().and_then(stou_name);
    match &named {
        Some(name) => cx.created_file(name),
        None => {
            // Clean up whatever appeared, so the directory is left as found.
            if x.first.code().is_positive_preliminary() {
                for n in names(&mut c).await? {
                    if !before.contains(&n) {
                        cx.created_file(&n);
                    }
                }
            }
        }
    }
    x.completed("STOU")?;
    let Some(name) = named else {
        return fail(format!("the STOU reply does not give the name as 'FILE: name': {}", show(&x.first)));
    };
    let got = get(&mut c, &name).await?;
    if got == content { Ok(()) } else { fail(format!("the file STOU named ({name}) does not hold what was sent")) }
}

/// RFC 959 3.1.1.1: in ASCII type "the <CRLF> sequence should be used where
/// necessary to denote the end of a line of text".
pub(crate) async fn type_a(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("ascii");
    put(&mut c, &name, b"line one\nline two\n").await?;
    c.expect(Command::Type(TransferType::Ascii(None)), &[200]).await?;
    let got = get(&mut c, &name).await?;
    if got == b"line one\r\nline two\r\n" {
        Ok(())
    } else {
        fail(format!(
            "a file of LF-ended lines came back in TYPE A as {:?} (expected CRLF line ends)",
            String::from_utf8_lossy(&got)
        ))
    }
}

/// A skip unless FEAT lists `REST STREAM` (RFC 3659 5.4).
async fn need_rest_stream(c: &mut Control) -> Verdict {
    let features = c.features().await?;
    let listed = features.iter().any(|f| f.is("REST") && f.params().is_some_and(|p| p.eq_ignore_ascii_case(b"STREAM")));
    if listed { Ok(()) } else { skip("the server does not list REST STREAM in FEAT") }
}

/// RFC 3659 5.3: "the server-PI ... MUST respond with a 350 reply" to a
/// valid REST in stream mode.
pub(crate) async fn rest_350(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_rest_stream(&mut c).await?;
    let r = c.cmd(Command::Rest(100)).await?;
    want("REST 100", &r, &[350])
}

/// RFC 3659 5.5: after `REST n`, RETR sends the file from octet n.
pub(crate) async fn rest_retr(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_rest_stream(&mut c).await?;
    let name = cx.scratch_file("rest");
    let sent = pattern(10_000);
    put(&mut c, &name, &sent).await?;
    let addr = c.passive().await?;
    let r = c.cmd(Command::Rest(3000)).await?;
    want("REST 3000", &r, &[350])?;
    let x = super::transfer_at(&mut c, addr, Command::Retr(path(&name)?), None).await?;
    x.completed("RETR after REST")?;
    if x.data == sent[3000..] {
        Ok(())
    } else {
        fail(format!(
            "RETR after REST 3000 did not send the file from byte 3000: {}",
            first_difference(&sent[3000..], &x.data)
        ))
    }
}

/// RFC 959 4.1.3 ABOR: with no transfer, "the server does not close the
/// control connection, but the data connection must be closed"; 5.4: 225,
/// 226.
pub(crate) async fn abor_idle(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Abor).await?;
    want("ABOR with no transfer", &r, &[225, 226])
}

/// Starts downloading a big file and reads a little of it.
async fn start_big_download(cx: &Cx, c: &mut Control) -> Result<Data, Stop> {
    let name = cx.scratch_file("big");
    put(c, &name, &pattern(BIG)).await?;
    let addr = c.passive().await?;
    let mut data = c.data_connect(addr, None).await?;
    c.send(&Command::Retr(path(&name)?)).await?;
    let first = c.reply().await?;
    if !first.code().is_positive_preliminary() {
        return fail(format!("RETR: expected 125 or 150, got {}", show(&first)));
    }
    c.secure_data(&mut data).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < 64 * 1024 {
        let n = data.read_some(&mut buf).await?;
        if n == 0 {
            return fail("the data connection closed after a few bytes");
        }
        got += n;
    }
    c.log().note(format!("read {got} bytes of {BIG}, then stopped reading"));
    Ok(data)
}

/// Reads and discards data until the end (bounded by the read timeout).
async fn drain(mut data: Data) {
    let mut buf = vec![0u8; 256 * 1024];
    while let Ok(n) = data.read_some(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// RFC 959 4.1.3 ABOR during a transfer: "the server closes the data
/// connection ... returns a 426 reply ... The server then sends a 226 reply";
/// when the transfer had completed, 226 then 226.
pub(crate) async fn abor_transfer(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let data = start_big_download(cx, &mut c).await?;
    // As a user-PI does (RFC 959 4.1.3): Telnet IP and Synch, then ABOR.
    c.send_with_synch(&Command::Abor).await?;
    // Keep reading the data: a server that notices ABOR only between writes
    // must not be stuck on a full socket.
    let (_, replies) = tokio::join!(drain(data), async {
        let first = c.reply().await?;
        let second = c.reply().await?;
        Ok::<_, Stop>((first, second))
    });
    let (first, second) = replies?;
    want("the transfer's reply after ABOR", &first, &[426, 451, 226, 250])?;
    want("ABOR during a transfer", &second, &[226, 225])
}

/// RFC 959 4.1.3 STAT: "If this command is sent during a file transfer ...
/// the server will respond with the status of the operation in progress".
pub(crate) async fn stat_transfer(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let data = start_big_download(cx, &mut c).await?;
    // "The command may be sent during a file transfer (along with the
    // Telnet IP and Synch signals ...)" (RFC 959 4.1.3, STAT): many servers
    // read nothing during a transfer until the urgent data arrives.
    c.send_with_synch(&Command::Stat(None)).await?;
    // Do not read the data: the transfer cannot finish meanwhile.
    let r = c.reply().await;
    drop(data);
    let r = r?;
    if matches!(code(&r), 226 | 250) {
        return fail(format!("the transfer finished before STAT was answered: {}", show(&r)));
    }
    want("STAT during a transfer", &r, &[211, 212, 213])
}

/// RFC 959 4.1.3 NLST: "a directory listing ... a stream of names of files
/// and no other information"; ASCII lines, CRLF ended.
pub(crate) async fn nlst(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("nlst");
    put(&mut c, &name, b"nlst\n").await?;
    let x = transfer(&mut c, Command::Nlst(None), None).await?;
    x.completed("NLST")?;
    if !x.data.ends_with(b"\r\n") || x.data.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') {
        return fail("NLST lines do not all end with CRLF");
    }
    let found = x.data.split(|&b| b == b'\n').any(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        l == name.as_bytes() || l.ends_with(format!("/{name}").as_bytes())
    });
    if found { Ok(()) } else { fail(format!("NLST does not list the file {name}")) }
}

/// RFC 959 4.1.3 LIST.
pub(crate) async fn list(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("list");
    put(&mut c, &name, b"list\n").await?;
    let x = transfer(&mut c, Command::List(None), None).await?;
    x.completed("LIST")?;
    let text = String::from_utf8_lossy(&x.data);
    if text.lines().any(|l| l.trim_end().ends_with(&name)) {
        Ok(())
    } else {
        fail(format!("LIST does not show the file {name}"))
    }
}

/// RFC 959 5.4: DELE → 250; 450, 550 when it cannot be done.
pub(crate) async fn dele(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("dele");
    put(&mut c, &name, b"dele\n").await?;
    let r = c.cmd(Command::Dele(path(&name)?)).await?;
    want("DELE", &r, &[250])?;
    let r = c.cmd(Command::Dele(path(&name)?)).await?;
    want("DELE of a file already deleted", &r, &[550, 450])
}

/// RFC 959 5.4: RNFR → 350, RNTO → 250.
pub(crate) async fn rename(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let from = cx.scratch_file("from");
    let to = cx.scratch_file("to");
    put(&mut c, &from, b"renamed\n").await?;
    let r = c.cmd(Command::Rnfr(path(&from)?)).await?;
    want("RNFR", &r, &[350])?;
    let r = c.cmd(Command::Rnto(path(&to)?)).await?;
    want("RNTO", &r, &[250])?;
    let got = get(&mut c, &to).await?;
    if got == b"renamed\n" { Ok(()) } else { fail("the renamed file does not hold the original content") }
}

/// RFC 959 5.4: RNTO → 503 when no RNFR came first.
pub(crate) async fn rnto_without_rnfr(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let to = cx.scratch_file("rnto");
    let r = c.cmd(Command::Rnto(path(&to)?)).await?;
    want("RNTO without RNFR", &r, &[503])
}

/// RFC 959 Appendix II: MKD → `257 "<directory-name>"`; RMD → 250.
pub(crate) async fn mkd_rmd(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let dir = cx.scratch_dir("mkd");
    let r = c.cmd(Command::Mkd(path(&dir)?)).await?;
    want("MKD", &r, &[257])?;
    match r.pathname() {
        Ok(p) if p.as_bytes().ends_with(dir.as_bytes()) => {}
        Ok(p) => return fail(format!("MKD's 257 names {p:?}, not the new directory {dir}")),
        Err(e) => return fail(format!("MKD: no quoted pathname in 257 ({e}): {}", show(&r))),
    }
    let r = c.cmd(Command::Rmd(path(&dir)?)).await?;
    want("RMD", &r, &[250])
}

/// RFC 959 Appendix II: "an embedded double-quote [is] represented by two
/// double-quotes".
pub(crate) async fn quote_doubling(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let dir = cx.scratch_dir("q\"uote");
    let r = c.cmd(Command::Mkd(path(&dir)?)).await?;
    if !r.code().is_positive_completion() {
        return skip(format!("the server does not create a directory named with a quote ({})", show(&r)));
    }
    want("MKD", &r, &[257])?;
    let text = r.text().as_bytes();
    if !text.windows(7).any(|w| w == b"q\"\"uote") {
        return fail(format!("the quote in the new directory's name is not doubled in 257: {}", show(&r)));
    }
    Ok(())
}

/// RFC 959 4.1.1 CWD and CDUP; 5.4: CWD → 250, CDUP → 200 (250 in
/// practice, RFC 1123 4.1.3.1 lists both).
pub(crate) async fn cwd_cdup(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.expect(Command::Pwd, &[257]).await?;
    let base = r.pathname().map_err(|e| Stop::Fail(format!("PWD: {e}")))?;
    let dir = cx.scratch_dir("cwd");
    c.expect(Command::Mkd(path(&dir)?), &[257]).await?;
    c.expect(Command::Cwd(path(&dir)?), &[250]).await?;
    let r = c.expect(Command::Pwd, &[257]).await?;
    let inside = r.pathname().map_err(|e| Stop::Fail(format!("PWD: {e}")))?;
    if !inside.as_bytes().ends_with(dir.as_bytes()) {
        return fail(format!("after CWD {dir}, PWD says {inside:?}"));
    }
    c.expect(Command::Cdup, &[200, 250]).await?;
    let r = c.expect(Command::Pwd, &[257]).await?;
    let back = r.pathname().map_err(|e| Stop::Fail(format!("PWD: {e}")))?;
    if back != base {
        return fail(format!("after CDUP, PWD says {back:?}, expected {base:?}"));
    }
    Ok(())
}
