//! FTP over TLS: RFC 4217 (and RFC 2228 for PBSZ and PROT).
//!
//! These checks use TLS whatever the target says, and skip when the server
//! does not offer `AUTH TLS`.

use ftp_proto::{Command, ProtectionLevel};

use super::{code, first_difference, get, has_feature, pattern, put, want};
use crate::catalogue::Cx;
use crate::client::{Stop, Verdict, escape, fail, mech_tls, show, skip};

/// RFC 4217 4.1: "AUTH TLS" → 234, then the TLS handshake; afterwards the
/// control connection carries commands in TLS.
pub(crate) async fn auth_tls(cx: &Cx) -> Verdict {
    let tls = cx.tls()?;
    let mut c = cx.connect().await?;
    let features = c.features().await?;
    let listed = features.iter().any(|f| f.is("AUTH") && f.params().is_some_and(contains_tls));
    let r = c.cmd(Command::Auth(mech_tls()?)).await?;
    if code(&r) != 234 {
        if listed {
            return fail(format!("FEAT lists AUTH TLS, but AUTH TLS got {}", show(&r)));
        }
        return skip(format!("the server does not offer AUTH TLS ({})", show(&r)));
    }
    c.start_tls(&tls).await?;
    let r = c.cmd(Command::User(crate::client::username(&cx.target.user)?)).await?;
    want("USER in TLS", &r, &[331, 332, 230])
}

fn contains_tls(params: &[u8]) -> bool {
    params.split(|&b| b == b' ' || b == b';' || b == b',').any(|w| w.eq_ignore_ascii_case(b"TLS"))
}

/// RFC 4217 6: "the server MUST advertise supported AUTH, PBSZ, and PROT
/// commands in the reply" to FEAT.
pub(crate) async fn feat_lists_tls(cx: &Cx) -> Verdict {
    drop(cx.connect_tls().await?);
    let mut c = cx.connect().await?;
    let features = c.features().await?;
    let mut missing = Vec::new();
    if !features.iter().any(|f| f.is("AUTH") && f.params().is_some_and(contains_tls)) {
        missing.push("AUTH TLS");
    }
    for name in ["PBSZ", "PROT"] {
        if !has_feature(&features, name) {
            missing.push(name);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        fail(format!("AUTH TLS works, but FEAT (before AUTH) does not list {}", missing.join(", ")))
    }
}

/// RFC 4217 9: "a PBSZ command MUST be preceded by a successful security
/// data exchange"; RFC 2228 3: otherwise 503.
pub(crate) async fn pbsz_before_auth(cx: &Cx) -> Verdict {
    let mut c = cx.connect().await?;
    let r = c.cmd(Command::Pbsz(0)).await?;
    if code(&r) == 503 {
        return Ok(());
    }
    // Only a server that offers TLS is bound by the rule.
    drop(cx.connect_tls().await?);
    want("PBSZ 0 before AUTH TLS", &r, &[503])
}

/// RFC 4217 9: "the PROT command MUST be preceded by a PBSZ command";
/// RFC 2228 3: otherwise 503.
pub(crate) async fn prot_before_pbsz(cx: &Cx) -> Verdict {
    let mut c = cx.connect_tls().await?;
    let r = c.cmd(Command::Prot(ProtectionLevel::Private)).await?;
    want("PROT P before PBSZ", &r, &[503])
}

/// RFC 4217 9: "the PBSZ command MUST still be issued, but must have a
/// parameter of '0'"; RFC 2228: 200 on success.
pub(crate) async fn pbsz_0(cx: &Cx) -> Verdict {
    let mut c = cx.connect_tls().await?;
    let r = c.cmd(Command::Pbsz(0)).await?;
    want("PBSZ 0 after AUTH TLS", &r, &[200])
}

/// RFC 4217 9: after PROT P "the security of subsequent data connections
/// MUST be at that level"; the data connection runs TLS (section 7).
pub(crate) async fn prot_p_data(cx: &Cx) -> Verdict {
    let mut c = cx.connect_tls().await?;
    c.login(&cx.target.user, &cx.target.password).await?;
    c.protect_data().await?;
    cx.enter_dir(&mut c).await?;
    c.expect(Command::Type(ftp_proto::TransferType::Image), &[200]).await?;
    let name = cx.scratch_file("prot-p");
    let sent = pattern(50_000);
    match put(&mut c, &name, &sent).await {
        Err(Stop::Skip(why)) if why.contains("TLS") => return fail(why),
        other => other?,
    }
    let got = get(&mut c, &name).await?;
    if got == sent {
        Ok(())
    } else {
        fail(format!("the file came back changed over TLS: {}", first_difference(&sent, &got)))
    }
}

/// RFC 2228 3 and RFC 4217 9: PROT S has no meaning with TLS: 536 ("not
/// supported by mechanism"), 504 or 534.
pub(crate) async fn prot_s(cx: &Cx) -> Verdict {
    let mut c = cx.connect_tls().await?;
    c.expect(Command::Pbsz(0), &[200]).await?;
    let r = c.cmd(Command::Prot(ProtectionLevel::Safe)).await?;
    want("PROT S", &r, &[536, 504, 534])
}

/// RFC 4217 4 and SECURITY.md L1 (the CVE-2011-0411 class): bytes the
/// client pipelined in the clear after `AUTH TLS` must not be executed.
/// `USER` is pipelined; then `PASS` in TLS must not log in.
pub(crate) async fn no_plaintext_after_auth(cx: &Cx) -> Verdict {
    let tls = cx.tls()?;
    let mut c = cx.connect().await?;
    let line = format!("AUTH TLS\r\nUSER {}\r\n", cx.target.user);
    c.send_raw(line.as_bytes()).await?;
    let r = c.reply().await?;
    match code(&r) {
        234 => {}
        500 | 502 | 504 | 534 | 431 | 530 => return skip(format!("the server does not offer AUTH TLS ({})", show(&r))),
        _ => return fail(format!("AUTH TLS: expected 234, got {}", show(&r))),
    }
    match c.start_tls(&tls).await {
        Ok(()) => {}
        Err(Stop::Fail(why)) if why.contains("plaintext after 234") => {
            return fail(format!("the server answered the USER sent in the clear after AUTH TLS: {why}"));
        }
        Err(Stop::Fail(why)) => {
            // The server read the pipelined bytes as TLS and gave up: they
            // were not executed.
            c.log().note(format!("handshake failed ({why}): the plaintext was not executed as a command"));
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    c.send(&Command::Pass(crate::client::password_of(&cx.target.password)?)).await?;
    let r = c.reply().await?;
    match code(&r) {
        331 | 332 => fail(format!("the USER pipelined in the clear was answered inside TLS: {}", show(&r))),
        230 | 202 => fail(format!("the USER pipelined in the clear was executed: PASS logged in ({})", show(&r))),
        _ => {
            c.log().note(format!("PASS after AUTH TLS got {} (no USER executed)", escape(r.text().as_bytes())));
            Ok(())
        }
    }
}
