//! Greeting, login and logout: RFC 959 4.1.1 and 5.4.

use ftp_proto::Command;

use super::{code, put, want};
use crate::catalogue::Cx;
use crate::client::{Ended, Stop, Verdict, fail, password_of, path, show, skip, username};

/// RFC 959 5.4, connection establishment: 120 (any number), then 220.
pub(crate) async fn greeting(cx: &Cx) -> Verdict {
    let mut c = cx.connect_from(None).await?;
    let mut prelim = 0;
    loop {
        let r = c.reply().await?;
        match code(&r) {
            120 if prelim < 10 => prelim += 1,
            220 => return Ok(()),
            _ => return fail(format!("greeting: expected 220, got {}", show(&r))),
        }
    }
}

/// RFC 959 5.4: USER → 230, 530, 500, 501, 421, 331, 332.
pub(crate) async fn user_reply(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    let r = c.cmd(Command::User(username(&cx.target.user)?)).await?;
    want("USER", &r, &[331, 332, 230])
}

/// RFC 959 5.4: PASS with no USER before it is a bad sequence (503).
pub(crate) async fn pass_without_user(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    let r = c.cmd(Command::Pass(password_of(&cx.target.password)?)).await?;
    if r.code().is_positive_completion() {
        return fail(format!("PASS without USER logged in: {}", show(&r)));
    }
    want("PASS without USER", &r, &[503])
}

/// RFC 959 5.4: USER, PASS → 230.
pub(crate) async fn login(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    c.login(&cx.target.user, &cx.target.password).await
}

fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

/// RFC 959 5.4: a wrong PASS gets 530, and the session is not logged in.
pub(crate) async fn bad_password(cx: &Cx) -> Verdict {
    if is_anonymous(&cx.target.user) {
        return skip("anonymous logins take any password");
    }
    let mut c = cx.connect_secure().await?;
    let r = c.cmd(Command::User(username(&cx.target.user)?)).await?;
    want("USER", &r, &[331, 332])?;
    let wrong = format!("{}-ftpkit-wrong", cx.target.password);
    let r = c.cmd(Command::Pass(password_of(&wrong)?)).await?;
    want("PASS with a wrong password", &r, &[530])?;
    let r = c.cmd(Command::Cwd(path("/")?)).await?;
    if r.code().is_positive_completion() {
        return fail(format!("after a refused password, CWD was accepted: {}", show(&r)));
    }
    Ok(())
}

/// RFC 959 5.4: CWD and DELE list 530 among their replies; before login
/// they must be refused.
pub(crate) async fn not_logged_in(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    let r = c.cmd(Command::Cwd(path("/")?)).await?;
    want("CWD before login", &r, &[530])?;
    let missing = cx.scratch_name("never-created");
    let r = c.cmd(Command::Dele(path(&missing)?)).await?;
    want("DELE before login", &r, &[530])
}

/// RFC 959 4.1.1: "This command terminates a USER and if file transfer is
/// not in progress, the server closes the control connection"; 5.4: 221.
pub(crate) async fn quit(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    c.login(&cx.target.user, &cx.target.password).await?;
    let r = c.cmd(Command::Quit).await?;
    want("QUIT", &r, &[221])?;
    match c.wait_close(c.timeout()).await {
        Ended::Closed => Ok(()),
        Ended::Open => fail(format!("the connection stayed open {} s after 221", c.timeout().as_secs_f32())),
    }
}

/// A plaintext logged-in session for the REIN checks (RFC 4217 13: REIN
/// clears TLS, which these checks do not cover).
async fn plain_session(cx: &Cx) -> Result<crate::client::Control, Stop> {
    let mut c = cx.connect().await?;
    match c.login(&cx.target.user, &cx.target.password).await {
        Ok(()) => Ok(c),
        Err(Stop::Fail(why)) => skip(format!("the REIN checks need a login in the clear: {why}")),
        Err(e) => Err(e),
    }
}

/// REIN: 120 (any number), then 220; a skip when not implemented.
async fn rein(c: &mut crate::client::Control) -> Verdict {
    let r = c.cmd(Command::Rein).await?;
    let mut r = r;
    let mut prelim = 0;
    while code(&r) == 120 && prelim < 10 {
        prelim += 1;
        r = c.reply().await?;
    }
    match code(&r) {
        220 => Ok(()),
        500 | 502 => skip(format!("REIN is not implemented ({})", show(&r))),
        _ => fail(format!("REIN: expected 220, got {}", show(&r))),
    }
}

/// RFC 959 4.1.1 REIN: "terminates a USER, flushing all I/O and account
/// information ... the state in which a user finds himself immediately
/// after the control connection is opened".
pub(crate) async fn rein_login(cx: &Cx) -> Verdict {
    let mut c = plain_session(cx).await?;
    rein(&mut c).await?;
    let r = c.cmd(Command::Cwd(path("/")?)).await?;
    want("CWD after REIN (no new login)", &r, &[530])
}

/// RFC 959 4.1.1 REIN: "All parameters are reset to the default settings":
/// a PASV made before REIN must not carry a transfer after it.
pub(crate) async fn rein_data(cx: &Cx) -> Verdict {
    let mut c = plain_session(cx).await?;
    cx.enter_dir(&mut c).await?;
    c.expect(Command::Type(ftp_proto::TransferType::Image), &[200]).await?;
    let name = cx.scratch_file("rein");
    put(&mut c, &name, b"rein\n").await?;
    let _ = c.pasv().await?;
    rein(&mut c).await?;
    c.login(&cx.target.user, &cx.target.password).await?;
    cx.enter_dir(&mut c).await?;
    let r = c.cmd(Command::Retr(path(&name)?)).await?;
    if r.code().is_positive_preliminary() || r.code().is_positive_completion() {
        return fail(format!("RETR after REIN started a transfer on the PASV setup made before REIN: {}", show(&r)));
    }
    Ok(())
}
