//! Extensions: FEAT and OPTS (RFC 2389), SIZE, MDTM, MLST and MLSD (RFC
//! 3659), UTF-8 (RFC 2640), HOST (RFC 7151).

use ftp_proto::{Command, Opts};

use super::{code, put, require_feature, transfer, want};
use crate::catalogue::Cx;
use crate::client::{Stop, Verdict, escape, fail, path, show, skip};

/// RFC 2389 3.2: `feature-listing = "211-" *TCHAR CRLF 1*( SP feature CRLF )
/// "211 End" CRLF`, `feature = feature-label [ SP feature-parms ]`,
/// `feature-label = 1*VCHAR`; or a single-line `211` for no features.
pub(crate) async fn feat_syntax(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let before = c.raw().len();
    let r = c.cmd(Command::Feat).await?;
    if matches!(code(&r), 500 | 502) {
        return skip(format!("FEAT is not implemented ({})", show(&r)));
    }
    want("FEAT", &r, &[211])?;
    let raw = c.raw()[before..].to_vec();
    let lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let Some(first) = lines.first() else { return fail("FEAT: empty reply") };
    if first.starts_with(b"211 ") {
        return Ok(());
    }
    if !first.starts_with(b"211-") {
        return fail(format!("FEAT: the first line is not 211- or 211 : {}", escape(first)));
    }
    let mut ended = false;
    for line in &lines[1..] {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if ended {
            break;
        }
        if line.len() >= 4 && line.starts_with(b"211") && line[3] == b' ' {
            if !line[4..].to_ascii_lowercase().starts_with(b"end") {
                return fail(format!("FEAT: the last line is not '211 End': {}", escape(line)));
            }
            ended = true;
            continue;
        }
        let ok = line.len() >= 2 && line[0] == b' ' && (0x21..=0x7e).contains(&line[1]);
        if !ok {
            return fail(format!("FEAT: a feature line does not begin with exactly one space: {}", escape(line)));
        }
    }
    if ended { Ok(()) } else { fail("FEAT: no '211 End' line") }
}

/// RFC 2389 4: "The OPTS command MUST be implemented whenever the FEAT
/// command is implemented"; an unknown command name gets "opts-bad", 501 for
/// a permanent error.
pub(crate) async fn opts_unknown(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Feat).await?;
    if code(&r) != 211 {
        return skip(format!("FEAT is not implemented ({})", show(&r)));
    }
    let verb = ftp_proto::Verb::try_from("XYZZY").map_err(|e| Stop::Fail(e.to_string()))?;
    let on = ftp_proto::Text::try_from("ON").map_err(|e| Stop::Fail(e.to_string()))?;
    let r = c.cmd(Command::Opts(Opts::new(verb, Some(on)))).await?;
    want("OPTS XYZZY ON", &r, &[501])
}

/// RFC 3659 4.2: `213 SP 1*DIGIT`, the exact size in TYPE I.
pub(crate) async fn size(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "SIZE").await?;
    let name = cx.scratch_file("size");
    put(&mut c, &name, &super::pattern(12_345)).await?;
    let r = c.cmd(Command::Size(path(&name)?)).await?;
    want("SIZE", &r, &[213])?;
    match r.size() {
        Ok(12_345) => Ok(()),
        Ok(n) => fail(format!("SIZE says {n}, the file has 12345 bytes")),
        Err(e) => fail(format!("SIZE: not '213 <digits>' ({e}): {}", show(&r))),
    }
}

/// RFC 3659 4.2: "the server-PI SHOULD return 550 (File not found) if the
/// file does not exist" (the size reply grammar has no other error).
pub(crate) async fn size_missing(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "SIZE").await?;
    let r = c.cmd(Command::Size(path(&cx.scratch_name("missing"))?)).await?;
    want("SIZE of a missing file", &r, &[550])
}

/// RFC 3659 3: `time-val = 14DIGIT [ "." 1*DIGIT ]`, a valid UTC time.
pub(crate) async fn mdtm(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "MDTM").await?;
    let name = cx.scratch_file("mdtm");
    put(&mut c, &name, b"mdtm\n").await?;
    let r = c.cmd(Command::Mdtm(path(&name)?)).await?;
    want("MDTM", &r, &[213])?;
    let text = r.text().as_bytes();
    let word: &[u8] = text.split(|&b| b == b' ').find(|w| !w.is_empty()).unwrap_or(&[]);
    let (digits, fraction) = match word.iter().position(|&b| b == b'.') {
        Some(dot) => (&word[..dot], Some(&word[dot + 1..])),
        None => (word, None),
    };
    let syntax = digits.len() == 14
        && digits.iter().all(u8::is_ascii_digit)
        && fraction.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
    if !syntax {
        return fail(format!("MDTM: not YYYYMMDDHHMMSS[.sss]: {}", show(&r)));
    }
    match r.modification_time() {
        Ok(_) => Ok(()),
        Err(e) => fail(format!("MDTM: not a valid time ({e}): {}", show(&r))),
    }
}

/// MLSx facts: lower-case names and their values.
type Facts = Vec<(String, String)>;

/// Parses `facts SP pathname` (RFC 3659 7.2 `entry`); the facts as
/// lower-case name and value pairs.
fn entry(line: &[u8]) -> Result<(Facts, Vec<u8>), String> {
    let sp = line.iter().position(|&b| b == b' ').ok_or("no space between the facts and the name")?;
    let (facts, name) = (&line[..sp], &line[sp + 1..]);
    if name.is_empty() {
        return Err("empty pathname".into());
    }
    let mut out = Vec::new();
    if facts.is_empty() {
        return Ok((out, name.to_vec()));
    }
    if !facts.ends_with(b";") {
        return Err(format!("the facts do not end with ';': {}", escape(facts)));
    }
    for fact in facts[..facts.len() - 1].split(|&b| b == b';') {
        let eq = fact.iter().position(|&b| b == b'=').ok_or_else(|| format!("a fact without '=': {}", escape(fact)))?;
        if eq == 0 {
            return Err(format!("a fact without a name: {}", escape(fact)));
        }
        out.push((
            String::from_utf8_lossy(&fact[..eq]).to_ascii_lowercase(),
            String::from_utf8_lossy(&fact[eq + 1..]).into_owned(),
        ));
    }
    Ok((out, name.to_vec()))
}

fn fact<'a>(facts: &'a [(String, String)], name: &str) -> Option<&'a str> {
    facts.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// RFC 3659 7.2: `"250-" ... CRLF 1*( SP entry CRLF ) "250" ...`.
pub(crate) async fn mlst(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "MLST").await?;
    let name = cx.scratch_file("mlst");
    put(&mut c, &name, b"mlst\n").await?;
    let r = c.cmd(Command::Mlst(Some(path(&name)?))).await?;
    want("MLST", &r, &[250])?;
    let lines = r.lines();
    if lines.len() < 3 {
        return fail(format!("MLST: expected 250-, an entry line and 250: {}", show(&r)));
    }
    for line in &lines[1..lines.len() - 1] {
        let bytes = line.as_bytes();
        let Some(rest) = bytes.strip_prefix(b" ") else {
            return fail(format!("MLST: the entry line does not begin with one space: {}", escape(bytes)));
        };
        let (facts, pathname) = entry(rest).map_err(|e| Stop::Fail(format!("MLST: {e}")))?;
        if !pathname.ends_with(name.as_bytes()) {
            return fail(format!("MLST: the entry names {}, not {name}", escape(&pathname)));
        }
        if let Some(t) = fact(&facts, "type")
            && !t.eq_ignore_ascii_case("file")
        {
            return fail(format!("MLST: type={t} for a file"));
        }
    }
    Ok(())
}

/// MLSD of the writable directory after storing a file and making a
/// directory there.
async fn mlsd_listing(cx: &Cx) -> Result<(Vec<u8>, String, String, usize), Stop> {
    let mut c = cx.session().await?;
    require_feature(&mut c, "MLST").await?;
    let name = cx.scratch_file("mlsd");
    let size = 777;
    put(&mut c, &name, &super::pattern(size)).await?;
    let dir = cx.scratch_dir("mlsd-dir");
    c.expect(Command::Mkd(path(&dir)?), &[257]).await?;
    let x = transfer(&mut c, Command::Mlsd(None), None).await?;
    x.completed("MLSD")?;
    Ok((x.data, name, dir, size))
}

/// RFC 3659 7.2: each MLSD line is `entry CRLF` (no leading space).
pub(crate) async fn mlsd_syntax(cx: &Cx) -> Verdict {
    let (data, ..) = mlsd_listing(cx).await?;
    if !data.ends_with(b"\r\n") {
        return fail("MLSD: the listing does not end with CRLF");
    }
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Some(line) = line.strip_suffix(b"\r") else {
            return fail(format!("MLSD: a line ends with a bare LF: {}", escape(line)));
        };
        if line.starts_with(b" ") {
            return fail(format!("MLSD: a line begins with a space: {}", escape(line)));
        }
        entry(line).map_err(|e| Stop::Fail(format!("MLSD: {e} in {}", escape(line))))?;
    }
    Ok(())
}

/// RFC 3659 7.5.1 (type: file, dir) and 7.5.7 (size in octets).
pub(crate) async fn mlsd_facts(cx: &Cx) -> Verdict {
    let (data, name, dir, size) = mlsd_listing(cx).await?;
    let mut seen_file = false;
    let mut seen_dir = false;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok((facts, entry_name)) = entry(line) else { continue };
        if entry_name == name.as_bytes() {
            seen_file = true;
            match fact(&facts, "type") {
                Some(t) if t.eq_ignore_ascii_case("file") => {}
                other => return fail(format!("MLSD: {name} has type={other:?}, expected file")),
            }
            if let Some(s) = fact(&facts, "size")
                && s != size.to_string()
            {
                return fail(format!("MLSD: {name} has size={s}, the file has {size} bytes"));
            }
        } else if entry_name == dir.as_bytes() {
            seen_dir = true;
            match fact(&facts, "type") {
                Some(t) if t.eq_ignore_ascii_case("dir") => {}
                other => return fail(format!("MLSD: {dir} has type={other:?}, expected dir")),
            }
        }
    }
    match (seen_file, seen_dir) {
        (true, true) => Ok(()),
        (false, _) => fail(format!("MLSD does not list the file {name}")),
        (_, false) => fail(format!("MLSD does not list the directory {dir}")),
    }
}

/// RFC 3659 7.9: `OPTS MLST type;` → `200 MLST OPTS type;`, and MLST then
/// gives only the facts selected.
pub(crate) async fn opts_mlst(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "MLST").await?;
    let verb = ftp_proto::Verb::try_from("MLST").map_err(|e| Stop::Fail(e.to_string()))?;
    let sel = ftp_proto::Text::try_from("type;").map_err(|e| Stop::Fail(e.to_string()))?;
    let r = c.cmd(Command::Opts(Opts::new(verb, Some(sel)))).await?;
    want("OPTS MLST type;", &r, &[200])?;
    let text = r.text().to_str().unwrap_or("").to_ascii_lowercase();
    if !text.starts_with("mlst opts") {
        return fail(format!("OPTS MLST: the reply must begin 'MLST OPTS': {}", show(&r)));
    }
    let name = cx.scratch_file("opts-mlst");
    put(&mut c, &name, b"x\n").await?;
    let r = c.cmd(Command::Mlst(Some(path(&name)?))).await?;
    want("MLST", &r, &[250])?;
    let lines = r.lines();
    let Some(line) = lines.get(1) else { return fail(format!("MLST: no entry line: {}", show(&r))) };
    let bytes = line.as_bytes().strip_prefix(b" ").unwrap_or(line.as_bytes());
    let (facts, _) = entry(bytes).map_err(|e| Stop::Fail(format!("MLST: {e}")))?;
    match facts.iter().find(|(n, _)| n != "type") {
        Some((n, _)) => fail(format!("after OPTS MLST type;, MLST still gives the fact {n}")),
        None => Ok(()),
    }
}

/// The UTF8 option: draft-ietf-ftpext-utf-8-option, as clients send it.
pub(crate) async fn opts_utf8(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "UTF8").await?;
    let verb = ftp_proto::Verb::try_from("UTF8").map_err(|e| Stop::Fail(e.to_string()))?;
    let on = ftp_proto::Text::try_from("ON").map_err(|e| Stop::Fail(e.to_string()))?;
    let r = c.cmd(Command::Opts(Opts::new(verb, Some(on)))).await?;
    want("OPTS UTF8 ON", &r, &[200])
}

/// RFC 2640 2.2 and 3.1: pathnames in UTF-8, kept byte for byte.
pub(crate) async fn utf8_names(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    require_feature(&mut c, "UTF8").await?;
    if let (Ok(verb), Ok(on)) = (ftp_proto::Verb::try_from("UTF8"), ftp_proto::Text::try_from("ON")) {
        let _ = c.cmd(Command::Opts(Opts::new(verb, Some(on)))).await?;
    }
    let name = cx.scratch_file("\u{e9}t\u{e9}-\u{2713}-\u{65e5}");
    put(&mut c, &name, b"utf8\n").await?;
    let x = transfer(&mut c, Command::Nlst(None), None).await?;
    x.completed("NLST")?;
    let found = x.data.split(|&b| b == b'\n').any(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        l == name.as_bytes() || l.ends_with(format!("/{name}").as_bytes())
    });
    if found { Ok(()) } else { fail(format!("NLST does not list the UTF-8 name {name:?} byte for byte")) }
}

/// A skip unless FEAT (before login) lists HOST.
async fn need_host(c: &mut crate::client::Control) -> Verdict {
    let features = c.features().await?;
    if super::has_feature(&features, "HOST") { Ok(()) } else { skip("the server does not list HOST in FEAT") }
}

/// RFC 7151 3: `hostname = domain / IP-literal`, IPv6 in brackets.
fn host_name(cx: &Cx) -> Result<ftp_proto::HostName, Stop> {
    let bare = cx.target.host.trim_start_matches('[').trim_end_matches(']');
    let host = match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => format!("[{bare}]"),
        _ => bare.to_owned(),
    };
    ftp_proto::HostName::try_from(host.as_str()).map_err(|e| Stop::Fail(format!("HOST {host}: {e}")))
}

/// RFC 7151 3: `host-ok = "220" [ SP *TCHAR ] CRLF`.
pub(crate) async fn host_before_login(cx: &Cx) -> Verdict {
    let mut c = cx.connect_secure().await?;
    need_host(&mut c).await?;
    let r = c.cmd(Command::Host(host_name(cx)?)).await?;
    want("HOST before login", &r, &[220])
}

/// RFC 7151 3: "MUST treat a situation in which the HOST command is issued
/// after the user has been authenticated as an erroneous sequence of
/// commands and return a 503 reply".
pub(crate) async fn host_after_login(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_host(&mut c).await?;
    let r = c.cmd(Command::Host(host_name(cx)?)).await?;
    want("HOST after login", &r, &[503])
}
