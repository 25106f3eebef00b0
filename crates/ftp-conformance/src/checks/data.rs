//! Data connection setup: PASV, EPSV, PORT, EPRT (RFC 959 4.1.2, RFC 1123
//! 4.1.2.6, RFC 2428) and the RFC 2577 protections.
//!
//! Data connections go only to the control connection's peer. PORT and EPRT
//! naming another host are sent, but no transfer ever follows them, so the
//! server is never asked to connect there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use ftp_proto::{Command, EpsvArg, NetProto};

use super::{code, put, transfer_at, want};
use crate::catalogue::Cx;
use crate::client::{Control, Data, Stop, Verdict, fail, path, show, skip};

/// An address in TEST-NET-1 (RFC 5737), for "another host".
const THIRD_PARTY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// A skip when the control connection is not IPv4 (PASV and PORT are IPv4).
fn need_ipv4(c: &Control) -> Verdict {
    if c.peer().is_ipv4() { Ok(()) } else { skip("PASV and PORT need an IPv4 control connection") }
}

/// RFC 1123 4.1.2.6: "The Server-FTP MUST implement PASV"; RFC 959 4.1.2:
/// the reply is h1,h2,h3,h4,p1,p2, each a decimal 0-255.
pub(crate) async fn pasv_227(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    c.pasv().await.map(|_| ())
}

/// The transfer that proves a data port works: a listing.
async fn list_over(c: &mut Control, addr: SocketAddr) -> Verdict {
    let x = transfer_at(c, addr, Command::List(None), None).await?;
    x.completed("LIST")
}

/// RFC 959 4.1.2: the port is p1*256+p2; a transfer must use it.
pub(crate) async fn pasv_port(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    let (addr, _) = c.pasv().await?;
    list_over(&mut c, addr).await
}

/// De-facto: the 227 address is the server address the client reached
/// (behind NAT the server must be told its public address).
pub(crate) async fn pasv_address(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    let (_, r) = c.pasv().await?;
    let advertised = r.passive_addr().map_err(|e| Stop::Fail(format!("227: {e}")))?;
    if IpAddr::V4(*advertised.ip()) == c.peer().ip() {
        Ok(())
    } else {
        fail(format!(
            "227 advertises {}, but the control connection goes to {} (clients that trust 227 will fail)",
            advertised.ip(),
            c.peer().ip()
        ))
    }
}

/// Whether the server keeps a data connection to `addr` open: connects and
/// waits a little for it to be closed.
async fn still_listening(c: &mut Control, addr: SocketAddr) -> Result<bool, Stop> {
    let limit = c.timeout().min(Duration::from_secs(3));
    let Ok(mut data) = c.data_connect(addr, None).await else {
        c.log().note(format!("{addr}: connection refused (listener closed)"));
        return Ok(false);
    };
    match data.poll_for(limit).await {
        Some(0) => {
            c.log().note(format!("{addr}: closed by the server"));
            Ok(false)
        }
        Some(_) => Ok(true),
        None => Ok(true),
    }
}

/// RFC 2577 5 (port stealing) and widely followed practice: a new PASV
/// drops the previous listener.
pub(crate) async fn second_pasv(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    let (first, _) = c.pasv().await?;
    let (second, _) = c.pasv().await?;
    if first == second {
        c.log().note("the second PASV reused the first port");
        return Ok(());
    }
    if still_listening(&mut c, first).await? {
        return fail(format!("after a second PASV ({second}), the first listener ({first}) still accepts connections"));
    }
    Ok(())
}

/// The port of a 229 reply, read strictly: `(<d><d><d>port<d>)` with the
/// same delimiter four times (RFC 2428 3).
fn strict_229(text: &str) -> Result<u16, String> {
    let open = text.find('(').ok_or("no '(' in the 229 reply")?;
    let inner = &text[open + 1..];
    let close = inner.find(')').ok_or("no ')' in the 229 reply")?;
    let inner = &inner.as_bytes()[..close];
    let Some(&d) = inner.first() else { return Err("empty parentheses".into()) };
    if !(33..=126).contains(&d) || d.is_ascii_digit() {
        return Err(format!("bad delimiter {:?}", char::from(d)));
    }
    if inner.len() < 5 || inner[1] != d || inner[2] != d || inner[inner.len() - 1] != d {
        return Err("not (<d><d><d>port<d>)".into());
    }
    let digits = &inner[3..inner.len() - 1];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 5 {
        return Err("the port is not a decimal number".into());
    }
    let port: u32 = digits.iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0'));
    u16::try_from(port).ok().filter(|&p| p > 0).ok_or_else(|| format!("port {port} out of range"))
}

/// EPSV, with a skip when it is not implemented.
async fn epsv_or_skip(c: &mut Control) -> Result<(SocketAddr, ftp_proto::Reply), Stop> {
    c.send(&Command::Epsv(EpsvArg::Any)).await?;
    let r = c.reply().await?;
    match code(&r) {
        229 => {}
        500 | 502 => return skip(format!("EPSV is not implemented ({})", show(&r))),
        _ => return fail(format!("EPSV: expected 229, got {}", show(&r))),
    }
    let text = r.lines().iter().map(|l| l.to_str().unwrap_or("")).collect::<Vec<_>>().join(" ");
    match strict_229(&text) {
        Ok(port) => Ok((SocketAddr::new(c.peer().ip(), port), r)),
        Err(why) => fail(format!("EPSV: {why}: {}", show(&r))),
    }
}

/// RFC 2428 3: "The text returned in response to the EPSV command MUST be:
/// <text> (<d><d><d><tcp-port><d>)".
pub(crate) async fn epsv_229(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    epsv_or_skip(&mut c).await.map(|_| ())
}

/// RFC 2428 3: the client connects to the control connection's address at
/// the 229 port.
pub(crate) async fn epsv_port(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let (addr, _) = epsv_or_skip(&mut c).await?;
    list_over(&mut c, addr).await
}

/// RFC 2428 3: "If the requested protocol is supported by the server, it
/// SHOULD use the protocol. If not, the server MUST return the 522 error
/// messages as outlined in section 2" (protocols listed in parentheses).
pub(crate) async fn epsv_522(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    // An IPv6 listener cannot serve an IPv4 control connection: EPSV uses
    // the control connection's address.
    let r = c.cmd(Command::Epsv(EpsvArg::Protocol(NetProto::Ipv6))).await?;
    if matches!(code(&r), 500 | 502) {
        return skip(format!("EPSV is not implemented ({})", show(&r)));
    }
    want("EPSV 2 on an IPv4 connection", &r, &[522])?;
    let text = r.text().to_str().unwrap_or("");
    let listed = text
        .find('(')
        .and_then(|o| text[o + 1..].find(')').map(|e| &text[o + 1..o + 1 + e]))
        .is_some_and(|l| !l.is_empty() && l.split(',').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())));
    if listed { Ok(()) } else { fail(format!("522 must list the supported protocols as (1,2): {}", show(&r))) }
}

/// EPSV ALL, with a skip when it is not supported.
async fn epsv_all(cx: &Cx) -> Result<Control, Stop> {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::Epsv(EpsvArg::All)).await?;
    if !r.code().is_positive_completion() {
        return skip(format!("EPSV ALL is not supported ({})", show(&r)));
    }
    Ok(c)
}

/// Sends `cmd` after EPSV ALL; any acceptance breaks RFC 2428 4: "the
/// server MUST reject all data connection setup commands other than EPSV".
async fn refused_after_all(c: &mut Control, cmd: Command) -> Verdict {
    let shown = cmd.to_string();
    let r = c.cmd(cmd).await?;
    if r.code().is_positive_completion() || r.code().is_positive_preliminary() {
        fail(format!("{shown} after EPSV ALL was accepted: {}", show(&r)))
    } else {
        Ok(())
    }
}

/// Our own address and a port we listen on (never used for a transfer).
fn own_port(c: &Control, listener: &tokio::net::TcpListener) -> Result<SocketAddr, Stop> {
    let port = listener.local_addr().map_err(|e| Stop::Fail(format!("listener: {e}")))?.port();
    Ok(SocketAddr::new(c.local().ip(), port))
}

fn v4(addr: SocketAddr) -> Result<SocketAddrV4, Stop> {
    match addr {
        SocketAddr::V4(a) => Ok(a),
        SocketAddr::V6(_) => skip("PORT needs an IPv4 control connection"),
    }
}

/// RFC 2428 4, PASV.
pub(crate) async fn epsv_all_pasv(cx: &Cx) -> Verdict {
    let mut c = epsv_all(cx).await?;
    refused_after_all(&mut c, Command::Pasv).await
}

/// RFC 2428 4, PORT.
pub(crate) async fn epsv_all_port(cx: &Cx) -> Verdict {
    let mut c = epsv_all(cx).await?;
    let listener = c.active_listener().await?;
    let addr = v4(own_port(&c, &listener)?)?;
    refused_after_all(&mut c, Command::Port(addr)).await
}

/// RFC 2428 4, EPRT.
pub(crate) async fn epsv_all_eprt(cx: &Cx) -> Verdict {
    let mut c = epsv_all(cx).await?;
    let listener = c.active_listener().await?;
    let addr = own_port(&c, &listener)?;
    refused_after_all(&mut c, Command::Eprt(addr)).await
}

/// An active-mode listing: `setup` (PORT or EPRT) must be accepted with 200,
/// then the server connects to us.
async fn active_list(c: &mut Control, setup: Command, listener: &tokio::net::TcpListener) -> Verdict {
    let shown = setup.to_string();
    let r = c.cmd(setup).await?;
    want(&shown, &r, &[200])?;
    c.send(&Command::List(None)).await?;
    let first = c.reply().await?;
    if !first.code().is_positive_preliminary() {
        return fail(format!("LIST after {shown}: expected 125 or 150, got {}", show(&first)));
    }
    let mut data: Data = c.data_accept(listener).await?;
    c.secure_data(&mut data).await?;
    data.read_to_end(16 << 20).await?;
    let last = c.final_reply().await?;
    want("LIST (active mode), after the data", &last, &[226, 250])
}

/// RFC 959 4.1.2 and 5.1 (PORT is in the minimum implementation).
pub(crate) async fn port_transfer(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    let listener = c.active_listener().await?;
    let addr = v4(own_port(&c, &listener)?)?;
    active_list(&mut c, Command::Port(addr), &listener).await
}

/// RFC 2428 2: "Upon receipt of a valid EPRT command, the server MUST
/// return a code of 200".
pub(crate) async fn eprt_transfer(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let listener = c.active_listener().await?;
    let addr = own_port(&c, &listener)?;
    let r = c.cmd(Command::Eprt(addr)).await?;
    match code(&r) {
        200 => {}
        500 | 502 => return skip(format!("EPRT is not implemented ({})", show(&r))),
        _ => return fail(format!("EPRT to our own address: expected 200, got {}", show(&r))),
    }
    c.send(&Command::List(None)).await?;
    let first = c.reply().await?;
    if !first.code().is_positive_preliminary() {
        return fail(format!("LIST after EPRT: expected 125 or 150, got {}", show(&first)));
    }
    let mut data = c.data_accept(&listener).await?;
    c.secure_data(&mut data).await?;
    data.read_to_end(16 << 20).await?;
    let last = c.final_reply().await?;
    want("LIST (EPRT), after the data", &last, &[226, 250])
}

/// Sends a setup naming another host; it must be refused. No transfer
/// follows either way.
async fn refused(c: &mut Control, cmd: Command, what: &str) -> Verdict {
    let shown = cmd.to_string();
    let r = c.cmd(cmd).await?;
    if r.code().is_positive_completion() {
        return fail(format!("{shown} ({what}) was accepted: {}", show(&r)));
    }
    Ok(())
}

/// RFC 2577 3: servers should refuse data connections to hosts other than
/// the client (the "bounce attack").
pub(crate) async fn port_third_party(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    refused(&mut c, Command::Port(SocketAddrV4::new(THIRD_PARTY, 2121)), "another host").await
}

/// RFC 2577 3, with EPRT.
pub(crate) async fn eprt_third_party(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    refused(&mut c, Command::Eprt(SocketAddr::new(IpAddr::V4(THIRD_PARTY), 2121)), "another host").await
}

/// RFC 2577 3: "the server [should] not open data connections to TCP
/// ports less than 1024".
pub(crate) async fn port_privileged(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    need_ipv4(&c)?;
    let addr = v4(SocketAddr::new(c.local().ip(), 1023))?;
    refused(&mut c, Command::Port(addr), "a privileged port").await
}

/// RFC 2577 5 (port stealing): a passive data connection from another
/// address than the client's must not be used. Needs a second loopback
/// address, so only for targets on 127.0.0.1.
pub(crate) async fn foreign_data(cx: &Cx) -> Verdict {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    if cx.target.addr.ip() != loopback {
        return skip("needs a target on 127.0.0.1 (to connect from 127.0.0.2)");
    }
    let mut c = cx.session().await?;
    if c.local().ip() != loopback {
        return skip("the control connection does not come from 127.0.0.1");
    }
    let name = cx.scratch_file("foreign");
    let content = b"only for the client that logged in\n";
    put(&mut c, &name, content).await?;
    let addr = c.passive().await?;
    let foreign_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut foreign = match c.data_connect(addr, Some(foreign_ip)).await {
        Ok(d) => d,
        Err(Stop::Fail(why)) if why.contains("assign") || why.contains("not available") => {
            return skip(format!("cannot bind {foreign_ip} on this machine: {why}"));
        }
        Err(_) => {
            c.log().note("foreign: connection refused");
            return Ok(());
        }
    };
    c.send(&Command::Retr(path(&name)?)).await?;
    let limit = c.timeout().min(Duration::from_secs(3));
    if c.prot_private {
        // The server would speak TLS: a handshake it completes is as bad as
        // data.
        match tokio::time::timeout(limit, c.secure_data(&mut foreign)).await {
            Ok(Ok(())) => {
                return fail(format!("the server completed a TLS handshake on a data connection from {foreign_ip}"));
            }
            _ => return Ok(()),
        }
    }
    match foreign.poll_for(limit).await {
        Some(n) if n > 0 => fail(format!("the server sent the file to a data connection from {foreign_ip}")),
        _ => Ok(()),
    }
}

/// De-facto (DESIGN.md): a transfer with no data setup is refused with 425;
/// connecting to the RFC 959 default port is not done by current servers.
pub(crate) async fn no_setup(cx: &Cx) -> Verdict {
    let mut c = cx.session().await?;
    let r = c.cmd(Command::List(None)).await?;
    if r.code().is_positive_preliminary() || r.code().is_positive_completion() {
        return fail(format!("LIST with no PORT or PASV started a transfer: {}", show(&r)));
    }
    want("LIST with no data setup", &r, &[425, 503])
}
