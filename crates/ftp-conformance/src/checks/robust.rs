//! Robustness at the byte level: how the server reads lines.

use std::time::Duration;

use ftp_proto::Command;

use super::{code, want};
use crate::catalogue::Cx;
use crate::client::{Ended, TELNET_SYNCH, Verdict, escape, fail, path, show};

/// TCP is a byte stream (RFC 959 2.2, the Telnet NVT): a command line may
/// arrive in any number of segments and is one command.
pub(crate) async fn split_command(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    c.send_split(&[b"NO", b"OP", b"\r", b"\n"], Duration::from_millis(150)).await?;
    let r = c.reply().await?;
    want("NOOP sent in four segments", &r, &[200])?;
    c.send(&Command::Pwd).await?;
    let r = c.reply().await?;
    want("PWD after the split NOOP (one reply per command)", &r, &[257])
}

/// RFC 959 4.2: "each command must generate at least one reply", answered in
/// the order the commands came, also when they arrive together.
pub(crate) async fn pipelined(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    c.send_raw(b"PWD\r\nNOOP\r\nCWD .\r\nTYPE I\r\nPWD\r\nNOOP\r\n").await?;
    let expected: [(&str, &[u16]); 6] = [
        ("PWD", &[257]),
        ("NOOP", &[200]),
        ("CWD .", &[250, 200]),
        ("TYPE I", &[200]),
        ("PWD", &[257]),
        ("NOOP", &[200]),
    ];
    for (i, (cmd, codes)) in expected.iter().enumerate() {
        let r = c.reply().await?;
        want(&format!("reply {} of 6 ({cmd})", i + 1), &r, codes)?;
    }
    Ok(())
}

/// De-facto (SECURITY.md F1): a line longer than any command is refused
/// once (or the session is closed, 421), never split into several commands.
pub(crate) async fn overlong(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let mut line = vec![b'X'; 16 * 1024];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    c.send_raw(&line).await?;
    let mut errors = Vec::new();
    loop {
        let r = match c.reply_or_close().await? {
            Some(r) => r,
            None => break,
        };
        match code(&r) {
            200 => break,
            421 => {
                errors.push(show(&r));
                break;
            }
            _ if r.code().is_negative() => errors.push(show(&r)),
            _ => return fail(format!("an overlong line got a positive reply: {}", show(&r))),
        }
    }
    // One error, or one error and 421 (too many errors, closing).
    let counted = errors.iter().filter(|e| !e.starts_with("421")).count();
    if counted > 1 {
        return fail(format!(
            "one overlong line got {counted} error replies (it was read as several commands): {}",
            errors.join("; ")
        ));
    }
    Ok(())
}

/// De-facto (SECURITY.md F3): a NUL inside an argument must not end it:
/// `CWD dir\0junk` names no directory.
pub(crate) async fn nul(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let dir = cx.scratch_dir("nul");
    c.expect(Command::Mkd(path(&dir)?), &[257]).await?;
    let line = [b"CWD ", dir.as_bytes(), b"\0junk\r\n"].concat();
    c.send_raw(&line).await?;
    let Some(r) = c.reply_or_close().await? else { return Ok(()) };
    if r.code().is_positive_completion() {
        return fail(format!("CWD {dir}\\0junk entered {dir}: the NUL cut the argument short ({})", show(&r)));
    }
    Ok(())
}

/// RFC 959 5.4 (500 for an unrecognised command): bytes that are not a
/// command get an error reply, and the session goes on.
pub(crate) async fn garbage(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    // No 0xFF (Telnet IAC), no CR or LF.
    let mut line: Vec<u8> = (0x80u8..0xfe).chain(0x01..0x09).collect();
    line.extend_from_slice(b"\r\n");
    c.send_raw(&line).await?;
    let Some(r) = c.reply_or_close().await? else { return fail("the server closed the connection without a reply") };
    if !r.code().is_negative() {
        return fail(format!("a line of binary garbage got {}", show(&r)));
    }
    if code(&r) == 421 {
        return Ok(());
    }
    let r = c.cmd(Command::Noop).await?;
    want("NOOP after binary garbage", &r, &[200])
}

/// De-facto: most clients' scripts and some clients end lines with LF only;
/// servers accept it.
pub(crate) async fn bare_lf(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    c.send_raw(b"NOOP\n").await?;
    let r = c.reply().await.map_err(|_| crate::client::Stop::Fail("no reply to NOOP ended by a bare LF".into()))?;
    want("NOOP ended by LF", &r, &[200])
}

/// RFC 959 4.1.3 ABOR: the client sends Telnet IP and Synch (IAC IP, IAC
/// DM) before ABOR; the server must ignore them and read ABOR. All four
/// bytes go in-band here (as under TLS, RFC 4217 section 14, and as a server
/// reading urgent data inline sees them), so the server's Telnet parsing is
/// what is checked; the transfer checks send the DM as urgent data.
pub(crate) async fn telnet_abor(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    c.send_raw(&[TELNET_SYNCH, b"ABOR\r\n"].concat()).await?;
    let r = c.reply().await?;
    if r.code().is_negative() {
        return fail(format!(
            "IAC IP IAC DM ABOR was not read as ABOR: {} (sent {})",
            show(&r),
            escape(&[TELNET_SYNCH, b"ABOR"].concat())
        ));
    }
    want("IAC IP IAC DM ABOR", &r, &[225, 226])
}

/// De-facto (SECURITY.md C1): a client that sends a command line one byte
/// at a time and never ends it must not hold the session open: a server
/// whose idle timer counts bytes, not commands, never ends it, and one
/// whose idle timer counts commands ends it only minutes later. The check
/// wants the session closed within [`Options::idle_limit`](crate::Options)
/// (20 s by default), as a per-line deadline does.
pub(crate) async fn slow_loris(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let limit = cx.options.idle_limit;
    let started = tokio::time::Instant::now();
    let mut bytes = b"NOOP ".iter().copied().chain(std::iter::repeat(b'A'));
    let mut sent = 0usize;
    while started.elapsed() < limit {
        let b = bytes.next().unwrap_or(b'A');
        if c.send_raw(&[b]).await.is_err() {
            return Ok(());
        }
        sent += 1;
        let wait = Duration::from_secs(1).min(limit.saturating_sub(started.elapsed()));
        if c.wait_close(wait).await == Ended::Closed {
            c.log().note(format!("closed after {} s and {sent} bytes", started.elapsed().as_secs()));
            return Ok(());
        }
    }
    fail(format!(
        "the session was still open after {} s of an unfinished line ({sent} bytes, one per second): no line deadline",
        limit.as_secs_f32()
    ))
}
