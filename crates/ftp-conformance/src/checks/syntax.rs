//! Reply syntax and the basic commands: RFC 959 4.2, 5.1, 5.3, 5.4.

use ftp_proto::{Command, FormatControl, Structure, TransferMode, TransferType};

use super::{code, other, want};
use crate::catalogue::Cx;
use crate::client::{Stop, Verdict, escape, fail, show, skip};

/// A session exercising single- and multi-line replies; returns every byte
/// the server sent on the control connection (after TLS, the plaintext).
async fn exchange(cx: &Cx) -> Result<Vec<u8>, Stop> {
    let mut c = cx.connect_secure().await?;
    c.login(&cx.target.user, &cx.target.password).await?;
    for cmd in [
        Command::Syst,
        Command::Noop,
        Command::Help(None),
        Command::Feat,
        Command::Pwd,
        Command::Stat(None),
        Command::Type(TransferType::Image),
        Command::Quit,
    ] {
        c.cmd(cmd).await?;
    }
    Ok(c.raw().to_vec())
}

/// Splits on LF, keeping each line's bytes without the LF (and without a
/// CR before it).
fn lines(raw: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
    if out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.into_iter().map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect()
}

fn code_of(line: &[u8]) -> Option<&[u8]> {
    let c = line.get(..3)?;
    (c.iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&c[0])).then_some(c)
}

/// RFC 959 4.2: "A reply is defined to contain the 3-digit code, followed by
/// Space <SP>, followed by one line of text", or a hyphen for a multi-line
/// reply.
pub(crate) async fn reply_code_syntax(cx: &Cx) -> Verdict {
    let raw = exchange(cx).await?;
    let mut open: Option<Vec<u8>> = None;
    for line in lines(&raw) {
        if let Some(c) = &open {
            if line.starts_with(c) && line.get(3) == Some(&b' ') {
                open = None;
            }
            continue;
        }
        let Some(c) = code_of(line) else {
            return fail(format!("a reply line does not begin with a three-digit code: {}", escape(line)));
        };
        match line.get(3) {
            Some(b' ') => {}
            Some(b'-') => open = Some(c.to_vec()),
            _ => return fail(format!("the code is not followed by a space or a hyphen: {}", escape(line))),
        }
    }
    Ok(())
}

/// RFC 959 4.2: a multi-line reply ends with a line of the same code and a
/// space; "If an intermediary line begins with a 3-digit number, the Server
/// must pad the front to avoid confusion".
pub(crate) async fn multiline_framing(cx: &Cx) -> Verdict {
    let raw = exchange(cx).await?;
    let mut open: Option<Vec<u8>> = None;
    let mut seen = 0;
    for line in lines(&raw) {
        match &open {
            Some(c) => {
                if line.starts_with(c) && line.get(3) == Some(&b' ') {
                    open = None;
                    seen += 1;
                } else if line.len() >= 4
                    && line[..3].iter().all(u8::is_ascii_digit)
                    && matches!(line[3], b' ' | b'-')
                    // `ddd-text` with the reply's own code is the widely used
                    // continuation form (RFC 2389 3.2 notes it): no confusion.
                    && !(line.starts_with(c) && line[3] == b'-')
                {
                    return fail(format!(
                        "inside a multi-line {} reply, a line begins with a code (not padded): {}",
                        escape(c),
                        escape(line)
                    ));
                }
            }
            None => {
                if let Some(c) = code_of(line)
                    && line.get(3) == Some(&b'-')
                {
                    open = Some(c.to_vec());
                }
            }
        }
    }
    if let Some(c) = open {
        return fail(format!("a multi-line {} reply was never closed with '{} '", escape(&c), escape(&c)));
    }
    if seen == 0 {
        return skip("no multi-line reply seen (HELP, FEAT, STAT)");
    }
    Ok(())
}

/// RFC 959 4.2 and the Telnet NVT (RFC 854): lines end with CRLF.
pub(crate) async fn crlf(cx: &Cx) -> Verdict {
    let raw = exchange(cx).await?;
    for (i, &b) in raw.iter().enumerate() {
        let bad = match b {
            b'\n' => i == 0 || raw[i - 1] != b'\r',
            // CR NUL is a CR inside a pathname (RFC 2640 3.1).
            b'\r' => !matches!(raw.get(i + 1), Some(b'\n' | 0)),
            _ => false,
        };
        if bad {
            let from = i.saturating_sub(40);
            return fail(format!("a bare CR or LF at byte {i}: {}", escape(&raw[from..(i + 10).min(raw.len())])));
        }
    }
    if !raw.ends_with(b"\r\n") {
        return fail("the last reply does not end with CRLF");
    }
    Ok(())
}

/// RFC 959 5.4: NOOP → 200.
pub(crate) async fn noop(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Noop).await?;
    want("NOOP", &r, &[200])
}

/// RFC 959 5.4: "500 Syntax error, command unrecognized"; 502 "Command not
/// implemented" is also used.
pub(crate) async fn unknown_command(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(other("XYZZY", None)?).await?;
    want("XYZZY (an unknown command)", &r, &[500, 502])?;
    let r = c.cmd(Command::Noop).await?;
    want("NOOP after an unknown command", &r, &[200])
}

/// RFC 959 5.3: "The command codes themselves are alphabetic characters
/// terminated by the character <SP> ... upper or lower case alphabetic
/// characters are to be treated identically".
pub(crate) async fn case_insensitive(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    for line in [&b"noop\r\n"[..], b"NoOp\r\n"] {
        c.send_raw(line).await?;
        let r = c.reply().await?;
        want(&escape(line), &r, &[200])?;
    }
    Ok(())
}

/// RFC 959 5.1, the minimum implementation: TYPE ASCII Non-print, MODE
/// Stream, STRUCTURE File; RFC 1123 4.1.2.2 adds TYPE I.
pub(crate) async fn minimum_parameters(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    for cmd in [
        Command::Type(TransferType::Ascii(None)),
        Command::Type(TransferType::Ascii(Some(FormatControl::NonPrint))),
        Command::Type(TransferType::Image),
        Command::Mode(TransferMode::Stream),
        Command::Stru(Structure::File),
    ] {
        let shown = cmd.to_string();
        let r = c.cmd(cmd).await?;
        want(&shown, &r, &[200])?;
    }
    Ok(())
}

/// RFC 959 4.1.3 and 5.4: SYST → 215 NAME.
pub(crate) async fn syst(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Syst).await?;
    if code(&r) == 502 {
        return skip("SYST is not implemented (502)");
    }
    want("SYST", &r, &[215])
}

/// RFC 959 5.4: HELP → 211, 214.
pub(crate) async fn help(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Help(None)).await?;
    if code(&r) == 502 {
        return skip("HELP is not implemented (502)");
    }
    want("HELP", &r, &[211, 214])
}

/// RFC 959 5.4: STAT → 211, 212, 213.
pub(crate) async fn stat_idle(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Stat(None)).await?;
    if code(&r) == 502 {
        return skip("STAT is not implemented (502)");
    }
    want("STAT", &r, &[211, 212, 213])
}

/// RFC 959 Appendix II: `257 "PATHNAME"` (quotes doubled inside).
pub(crate) async fn pwd(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Pwd).await?;
    want("PWD", &r, &[257])?;
    match r.pathname() {
        Ok(_) => Ok(()),
        Err(e) => fail(format!("PWD: the 257 reply has no quoted pathname ({e}): {}", show(&r))),
    }
}

/// RFC 959 5.4: PORT → 200, 500, 501, 421, 530; a malformed argument is a
/// syntax error in parameters (501).
pub(crate) async fn port_syntax(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    c.send_raw(b"PORT 1,2,3\r\n").await?;
    let r = c.reply().await?;
    want("PORT 1,2,3", &r, &[501])
}
