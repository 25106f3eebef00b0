//! Commands real clients send beyond the base: MFMT (draft-somers-ftp-mfxx),
//! SITE CHMOD and UMASK, ALLO, REST with APPE and past the end of a file (RFC 3659 5.3),
//! FEAT telling the truth, and refusals that leave the session usable.

use ftp_proto::{Command, Text, Timestamp};

use super::{code, get, put, require_feature, transfer, want};
use crate::catalogue::Cx;
use crate::client::{Stop, Verdict, fail, path, show, skip};

fn text(s: &str) -> Result<Text, Stop> {
    Text::try_from(s).map_err(|e| Stop::Fail(e.to_string()))
}

fn time(s: &str) -> Result<Timestamp, Stop> {
    Timestamp::parse(s.as_bytes()).map_err(|e| Stop::Fail(e.to_string()))
}

/// draft-somers-ftp-mfxx 3: when FEAT lists MFMT, `MFMT time path` is
/// answered 213 and MDTM then reads the time set.
pub(crate) async fn mfmt_round_trip(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "MFMT").await?;
    let name = cx.scratch_file("mfmt");
    put(&mut c, &name, b"mfmt\n").await?;
    let r = c.cmd(Command::Mfmt(time("20200102030405")?, path(&name)?)).await?;
    want("MFMT", &r, &[213])?;
    let r = c.cmd(Command::Mdtm(path(&name)?)).await?;
    want("MDTM after MFMT", &r, &[213])?;
    match r.modification_time() {
        Ok(t) if t.to_string().starts_with("20200102030405") => Ok(()),
        Ok(t) => fail(format!("MFMT answered 213, but MDTM then says {t}")),
        Err(e) => fail(format!("MDTM: not a time ({e}): {}", show(&r))),
    }
}

/// DESIGN (capabilities, not promises): a command FEAT lists is carried
/// out; none of MFMT, MFF, SIZE, MDTM, MLST answers 500 or 502 on a stored
/// file when FEAT lists it.
pub(crate) async fn feat_claims_work(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let features = c.features().await?;
    let name = cx.scratch_file("feat-claims");
    put(&mut c, &name, b"claims\n").await?;
    let listed = |label: &str| features.iter().any(|f| f.name().eq_ignore_ascii_case(label.as_bytes()));
    let mut tried = 0;
    for label in ["MFMT", "MFF", "SIZE", "MDTM", "MLST"] {
        if !listed(label) {
            continue;
        }
        let p = path(&name)?;
        let cmd = match label {
            "MFMT" => Command::Mfmt(time("20200102030405")?, p),
            "MFF" => Command::Mff(
                ftp_proto::FactList::try_from("modify=20200102030405;").map_err(|e| Stop::Fail(e.to_string()))?,
                p,
            ),
            "SIZE" => Command::Size(p),
            "MDTM" => Command::Mdtm(p),
            _ => Command::Mlst(Some(p)),
        };
        let r = c.cmd(cmd).await?;
        if matches!(code(&r), 500 | 502) {
            return fail(format!("FEAT lists {label}, but {label} answers {}", show(&r)));
        }
        tried += 1;
    }
    if tried == 0 { skip("FEAT lists none of MFMT, MFF, SIZE, MDTM, MLST") } else { Ok(()) }
}

/// SITE CHMOD (wu-ftpd, proftpd, vsftpd; what FileZilla's "File
/// permissions" sends): `SITE CHMOD 600 path` on a file the user wrote is
/// answered 200.
pub(crate) async fn site_chmod(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("chmod");
    put(&mut c, &name, b"chmod\n").await?;
    let r = c.cmd(Command::Site(text(&format!("CHMOD 600 {name}"))?)).await?;
    if matches!(code(&r), 500 | 502 | 504) {
        return skip(format!("SITE CHMOD is not offered ({})", show(&r)));
    }
    want("SITE CHMOD 600", &r, &[200])
}

/// vsftpd's `SITE UMASK`: after `SITE UMASK 077` a file the session uploads
/// is created `-rw-------` (as LIST shows it). Skipped where SITE UMASK is
/// not offered.
pub(crate) async fn site_umask(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Site(text("UMASK 077")?)).await?;
    if matches!(code(&r), 500 | 502 | 504) {
        return skip(format!("SITE UMASK is not offered ({})", show(&r)));
    }
    want("SITE UMASK 077", &r, &[200])?;
    let name = cx.scratch_file("umask");
    put(&mut c, &name, b"umask\n").await?;
    let x = transfer(&mut c, Command::List(Some(path(&name)?)), None).await?;
    x.completed("LIST")?;
    let listing = String::from_utf8_lossy(&x.data).into_owned();
    let mode = listing.split_whitespace().next().unwrap_or_default();
    if mode == "-rw-------" {
        return Ok(());
    }
    fail(format!(
        "after SITE UMASK 077 the new file lists as {mode:?}, expected \"-rw-------\": {}",
        listing.trim_end()
    ))
}

/// RFC 959 4.1.3 ALLO: a small size is answered 200 or 202 (the codes RFC
/// 959 5.4 lists for success); a size no disk has is never confirmed with
/// 200 (a server that cannot tell says 202, superfluous).
pub(crate) async fn allo(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Allo(ftp_proto::Allocation { size: 10, record_size: None })).await?;
    want("ALLO 10", &r, &[200, 202])?;
    let r = c.cmd(Command::Allo(ftp_proto::Allocation { size: u64::MAX, record_size: None })).await?;
    if code(&r) == 200 {
        return fail(format!("ALLO {} (no disk has it) was confirmed: {}", u64::MAX, show(&r)));
    }
    c.expect(Command::Noop, &[200]).await.map(|_| ())
}

/// RFC 3659 5.3: "If APPE (append) is permitted, it MUST act identically
/// to STOR when a restart marker has been set": after `REST 3`, `APPE`
/// writes at byte 3. Refusing the combination is allowed; appending at the
/// end is not.
pub(crate) async fn rest_appe(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("rest-appe");
    put(&mut c, &name, b"0123456789").await?;
    c.expect(Command::Rest(3), &[350]).await?;
    let x = transfer(&mut c, Command::Appe(path(&name)?), Some(b"abc")).await?;
    if !x.first.code().is_positive_preliminary() {
        return Ok(()); // refused: allowed.
    }
    x.completed("APPE after REST")?;
    match get(&mut c, &name).await?.as_slice() {
        b"012abc" => Ok(()),
        b"0123456789abc" => fail("APPE after REST 3 appended at the end: the marker was ignored"),
        other => {
            fail(format!("APPE after REST 3: the file is {:?}, expected \"012abc\"", String::from_utf8_lossy(other)))
        }
    }
}

/// RFC 3659 5.3: "problems as restart marker out of range ... will cause
/// that transfer request to be rejected": RETR after a REST past the end
/// is an error reply, not 150 and an empty transfer.
pub(crate) async fn rest_past_end(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let name = cx.scratch_file("rest-past-end");
    put(&mut c, &name, b"0123456789").await?;
    c.expect(Command::Rest(1000), &[350]).await?;
    let x = transfer(&mut c, Command::Retr(path(&name)?), None).await?;
    let first = code(&x.first);
    if (400..600).contains(&first) {
        Ok(())
    } else {
        fail(format!("RETR after REST 1000 of a 10-byte file was not rejected: {}", show(&x.first)))
    }
}

/// RFC 959 4.2 (replies): refusals of well-formed commands (an unknown
/// verb, MODE Z, RNTO without RNFR, an unknown SITE subcommand, STRU R)
/// leave the session usable: NOOP is then 200.
pub(crate) async fn refusals_keep_session(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    for line in ["XYZZY\r\n", "MODE Z\r\n", "RNTO nowhere\r\n", "SITE XYZZY\r\n", "STRU R\r\n", "CLNT probe\r\n"] {
        c.send_raw(line.as_bytes()).await?;
        match c.reply_or_close().await? {
            Some(r) if code(&r) == 421 => return fail(format!("{} ended the session: {}", line.trim_end(), show(&r))),
            Some(_) => {}
            None => return fail(format!("{} closed the connection", line.trim_end())),
        }
    }
    let r = c.cmd(Command::Noop).await?;
    want("NOOP after six refusals", &r, &[200])
}
