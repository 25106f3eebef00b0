//! The checks, grouped by subject, and the helpers they share.

mod commands;
mod data;
mod ext;
mod login;
mod robust;
mod syntax;
mod tls;
mod transfer;

use std::net::SocketAddr;

use ftp_proto::{Command, Feature, Reply};

use crate::catalogue::{Check, check};
use crate::client::{Control, Stop, Verdict, codes_text, fail, path, show, skip};

/// The whole catalogue, in run order.
pub(crate) static CATALOGUE: &[Check] = &[
    // Greeting and login (RFC 959 4.1.1, 5.4).
    check!(
        "rfc959-5.4-greeting-220",
        "RFC 959 5.4",
        Must,
        "A new connection is greeted with 220 (after 120s, if any)",
        login::greeting
    ),
    check!(
        "rfc959-5.4-user-reply",
        "RFC 959 5.4",
        Must,
        "USER is answered 331 or 332 (230 when no password is needed)",
        login::user_reply
    ),
    check!(
        "rfc959-5.4-pass-without-user",
        "RFC 959 5.4",
        Should,
        "PASS without USER is refused with 503 (bad sequence)",
        login::pass_without_user
    ),
    check!("rfc959-5.4-login", "RFC 959 5.4", Must, "USER and PASS with valid credentials log in (230)", login::login),
    check!(
        "rfc959-5.4-bad-password-530",
        "RFC 959 5.4",
        Must,
        "A wrong password is refused with 530 and does not log in",
        login::bad_password
    ),
    check!(
        "rfc959-5.4-not-logged-in-530",
        "RFC 959 5.4",
        Must,
        "CWD and DELE before login are refused with 530",
        login::not_logged_in
    ),
    check!(
        "rfc959-4.1.1-quit-221",
        "RFC 959 4.1.1",
        Must,
        "QUIT is answered 221 and the server closes the connection",
        login::quit
    ),
    check!(
        "rfc959-4.1.1-rein-resets-login",
        "RFC 959 4.1.1",
        Should,
        "REIN is answered 220 and a new login is needed afterwards (530)",
        login::rein_login
    ),
    check!(
        "rfc959-4.1.1-rein-resets-data",
        "RFC 959 4.1.1",
        Should,
        "REIN resets the data connection setup: no transfer starts on an earlier PASV",
        login::rein_data
    ),
    // Reply syntax and basic commands (RFC 959 4.2, 5.1, 5.3, 5.4).
    check!(
        "rfc959-4.2-reply-code-syntax",
        "RFC 959 4.2",
        Must,
        "Every reply begins with a three-digit code (first digit 1-5) and a space or hyphen",
        syntax::reply_code_syntax
    ),
    check!(
        "rfc959-4.2-multiline-framing",
        "RFC 959 4.2",
        Must,
        "Multi-line replies end with their own code and a space; no middle line begins with a code",
        syntax::multiline_framing
    ),
    check!("rfc959-4.2-crlf", "RFC 959 4.2", Must, "Reply lines end with CRLF", syntax::crlf),
    check!("rfc959-5.4-noop-200", "RFC 959 5.4", Must, "NOOP is answered 200", syntax::noop),
    check!(
        "rfc959-5.4-unknown-command-500",
        "RFC 959 5.4",
        Must,
        "An unknown command is answered 500 (or 502) and the session goes on",
        syntax::unknown_command
    ),
    check!(
        "rfc959-5.3-case-insensitive",
        "RFC 959 5.3",
        Must,
        "Command verbs are case-insensitive (noop, NoOp)",
        syntax::case_insensitive
    ),
    check!(
        "rfc959-5.1-minimum-parameters",
        "RFC 959 5.1",
        Must,
        "TYPE A, TYPE I, MODE S and STRU F are accepted (200)",
        syntax::minimum_parameters
    ),
    check!("rfc959-4.1.3-syst-215", "RFC 959 4.1.3", Should, "SYST is answered 215", syntax::syst),
    check!("rfc959-4.1.3-help", "RFC 959 4.1.3", Should, "HELP is answered 211 or 214", syntax::help),
    check!(
        "rfc959-4.1.3-stat-idle",
        "RFC 959 4.1.3",
        Should,
        "STAT with no transfer is answered 211 (or 212, 213)",
        syntax::stat_idle
    ),
    check!(
        "rfc959-appendix2-pwd-257",
        "RFC 959 Appendix II",
        Must,
        "PWD is answered 257 with the directory in quotes",
        syntax::pwd
    ),
    check!(
        "rfc959-5.4-port-syntax-501",
        "RFC 959 5.4",
        Should,
        "A malformed PORT argument is answered 501",
        syntax::port_syntax
    ),
    // Data connection setup (RFC 959 4.1.2, RFC 1123 4.1.2.6, RFC 2428, RFC 2577).
    check!(
        "rfc1123-4.1.2.6-pasv-227",
        "RFC 1123 4.1.2.6",
        Must,
        "PASV is answered 227 with six numbers h1,h2,h3,h4,p1,p2, each 0-255",
        data::pasv_227
    ),
    check!(
        "rfc959-4.1.2-pasv-port",
        "RFC 959 4.1.2",
        Must,
        "The 227 port (p1*256+p2) takes the data connection of a transfer",
        data::pasv_port
    ),
    check!(
        "rfc959-4.1.2-pasv-address",
        "widely followed practice",
        Interop,
        "The 227 address is the address the client connected to",
        data::pasv_address
    ),
    check!(
        "rfc2577-pasv-second-closes-first",
        "RFC 2577 5 (port stealing)",
        Should,
        "A second PASV closes the listener of the first",
        data::second_pasv
    ),
    check!("rfc2428-3-epsv-229", "RFC 2428 3", Must, "EPSV is answered 229 with (<d><d><d>port<d>)", data::epsv_229),
    check!(
        "rfc2428-3-epsv-port",
        "RFC 2428 3",
        Must,
        "The 229 port, on the control connection's address, takes the data connection",
        data::epsv_port
    ),
    check!(
        "rfc2428-3-epsv-unsupported-protocol-522",
        "RFC 2428 2, 3",
        Must,
        "EPSV with a protocol the connection cannot use is answered 522 (protocols listed)",
        data::epsv_522
    ),
    check!(
        "rfc2428-4-epsv-all-refuses-pasv",
        "RFC 2428 4",
        Must,
        "After EPSV ALL, PASV is refused",
        data::epsv_all_pasv
    ),
    check!(
        "rfc2428-4-epsv-all-refuses-port",
        "RFC 2428 4",
        Must,
        "After EPSV ALL, PORT is refused",
        data::epsv_all_port
    ),
    check!(
        "rfc2428-4-epsv-all-refuses-eprt",
        "RFC 2428 4",
        Must,
        "After EPSV ALL, EPRT is refused",
        data::epsv_all_eprt
    ),
    check!(
        "rfc959-4.1.2-port-transfer",
        "RFC 959 4.1.2, 5.1",
        Must,
        "PORT to the client's address is accepted (200) and used for a transfer",
        data::port_transfer
    ),
    check!(
        "rfc2428-2-eprt-transfer",
        "RFC 2428 2",
        Must,
        "EPRT to the client's address is accepted (200) and used for a transfer",
        data::eprt_transfer
    ),
    check!(
        "rfc2577-port-third-party-refused",
        "RFC 2577 3 (bounce attack)",
        Should,
        "PORT naming another host is refused",
        data::port_third_party
    ),
    check!(
        "rfc2577-eprt-third-party-refused",
        "RFC 2577 3 (bounce attack)",
        Should,
        "EPRT naming another host is refused",
        data::eprt_third_party
    ),
    check!(
        "rfc2577-port-privileged-refused",
        "RFC 2577 3 (bounce attack)",
        Should,
        "PORT to a port below 1024 is refused",
        data::port_privileged
    ),
    check!(
        "rfc2577-foreign-data-connection-refused",
        "RFC 2577 5 (port stealing)",
        Should,
        "A passive data connection from another address is not used",
        data::foreign_data
    ),
    check!(
        "interop-transfer-without-setup-425",
        "widely followed practice",
        Interop,
        "A transfer with no PORT or PASV first is refused (425), not started",
        data::no_setup
    ),
    // Transfers (RFC 959 4.1.3, 5.4; RFC 1123; RFC 3659 5).
    check!(
        "rfc959-4.1.3-stor",
        "RFC 959 4.1.3, 5.4",
        Must,
        "STOR is answered 125/150, then 226/250 after the data",
        transfer::stor
    ),
    check!(
        "rfc959-4.1.3-retr-roundtrip",
        "RFC 959 3.1.1.3, 4.1.3",
        Must,
        "RETR in TYPE I returns exactly the bytes stored",
        transfer::retr_roundtrip
    ),
    check!(
        "rfc959-5.4-retr-replies",
        "RFC 959 5.4",
        Must,
        "RETR is answered 125/150 before the data and 226/250 after it",
        transfer::retr_replies
    ),
    check!(
        "rfc959-5.4-retr-missing-550",
        "RFC 959 5.4",
        Must,
        "RETR of a missing file is refused (550 or 450), with no transfer",
        transfer::retr_missing
    ),
    check!("rfc959-4.1.3-appe", "RFC 959 4.1.3", Should, "APPE appends to an existing file", transfer::appe),
    check!(
        "rfc1123-4.1.2.9-stou",
        "RFC 1123 4.1.2.9",
        Must,
        "STOU stores under a unique name, given as 'FILE: name' in its 125/150 reply",
        transfer::stou
    ),
    check!(
        "rfc959-3.1.1.1-type-a-crlf",
        "RFC 959 3.1.1.1",
        Should,
        "In TYPE A, line ends go over the data connection as CRLF",
        transfer::type_a
    ),
    check!("rfc3659-5.3-rest-350", "RFC 3659 5.3", Must, "REST in stream mode is answered 350", transfer::rest_350),
    check!(
        "rfc3659-5.5-rest-retr",
        "RFC 3659 5.5",
        Must,
        "REST n then RETR sends the file from byte n",
        transfer::rest_retr
    ),
    check!(
        "rfc959-4.1.3-abor-idle",
        "RFC 959 4.1.3, 5.4",
        Must,
        "ABOR with no transfer is answered 225 or 226",
        transfer::abor_idle
    ),
    check!(
        "rfc959-4.1.3-abor-transfer",
        "RFC 959 4.1.3",
        Must,
        "ABOR during RETR: the transfer ends (426 or 226), then ABOR gets 226 (or 225)",
        transfer::abor_transfer
    ),
    check!(
        "rfc959-4.1.3-stat-transfer",
        "RFC 959 4.1.3",
        Should,
        "STAT during a transfer is answered while the transfer runs",
        transfer::stat_transfer
    ),
    check!("rfc959-4.1.3-nlst", "RFC 959 4.1.3", Should, "NLST lists file names, one per CRLF line", transfer::nlst),
    check!(
        "rfc959-4.1.3-list",
        "RFC 959 4.1.3",
        Should,
        "LIST sends a listing that names a stored file",
        transfer::list
    ),
    check!(
        "rfc959-4.1.3-dele",
        "RFC 959 4.1.3, 5.4",
        Should,
        "DELE removes a file (250); a missing file gets 550",
        transfer::dele
    ),
    check!(
        "rfc959-4.1.3-rename",
        "RFC 959 4.1.3, 5.4",
        Should,
        "RNFR (350) then RNTO (250) renames a file",
        transfer::rename
    ),
    check!(
        "rfc959-5.4-rnto-without-rnfr-503",
        "RFC 959 5.4",
        Should,
        "RNTO without RNFR is refused with 503",
        transfer::rnto_without_rnfr
    ),
    check!(
        "rfc959-4.1.3-mkd-rmd",
        "RFC 959 4.1.3, Appendix II",
        Should,
        "MKD is answered 257 with the new directory's name; RMD removes it",
        transfer::mkd_rmd
    ),
    check!(
        "rfc959-appendix2-257-quotes",
        "RFC 959 Appendix II",
        Should,
        "A quote in a 257 pathname is doubled",
        transfer::quote_doubling
    ),
    check!(
        "rfc959-4.1.1-cwd-cdup",
        "RFC 959 4.1.1, 5.4",
        Should,
        "CWD enters a directory and CDUP leaves it, as PWD shows",
        transfer::cwd_cdup
    ),
    // FTP over TLS (RFC 4217, RFC 2228).
    check!(
        "rfc4217-4-auth-tls",
        "RFC 4217 4",
        Must,
        "AUTH TLS is answered 234 and a TLS handshake follows",
        tls::auth_tls
    ),
    check!(
        "rfc4217-6-feat-lists-tls",
        "RFC 4217 6",
        Must,
        "FEAT lists AUTH TLS, PBSZ and PROT when AUTH TLS works",
        tls::feat_lists_tls
    ),
    check!(
        "rfc4217-9-pbsz-before-auth-503",
        "RFC 4217 9, RFC 2228 3",
        Must,
        "PBSZ before AUTH TLS is refused with 503",
        tls::pbsz_before_auth
    ),
    check!(
        "rfc4217-9-prot-before-pbsz-503",
        "RFC 4217 9, RFC 2228 3",
        Must,
        "PROT before PBSZ is refused with 503",
        tls::prot_before_pbsz
    ),
    check!("rfc4217-9-pbsz-0", "RFC 4217 9", Must, "PBSZ 0 after AUTH TLS is answered 200", tls::pbsz_0),
    check!(
        "rfc4217-9-prot-p-data",
        "RFC 4217 9",
        Must,
        "With PROT P, data connections run TLS and carry the file",
        tls::prot_p_data
    ),
    check!(
        "rfc4217-9-prot-s-536",
        "RFC 4217 9, RFC 2228 3",
        Should,
        "PROT S is refused (536, 504 or 534)",
        tls::prot_s
    ),
    check!(
        "rfc4217-4-no-plaintext-after-auth",
        "RFC 4217 4, SECURITY.md L1",
        Must,
        "Commands pipelined in the clear after AUTH TLS are not executed",
        tls::no_plaintext_after_auth
    ),
    // Commands real clients send (issue 15).
    check!(
        "mfxx-3-mfmt-round-trip",
        "draft-somers-ftp-mfxx 3",
        Should,
        "When FEAT lists MFMT, MFMT sets the time MDTM then reads",
        commands::mfmt_round_trip
    ),
    check!(
        "rfc2389-feat-claims-work",
        "RFC 2389 3, DESIGN (capabilities, not promises)",
        Must,
        "No command FEAT lists (MFMT, MFF, SIZE, MDTM, MLST) answers 500 or 502",
        commands::feat_claims_work
    ),
    check!(
        "site-chmod",
        "widely followed practice (wu-ftpd, proftpd, vsftpd SITE CHMOD)",
        Interop,
        "SITE CHMOD 600 on an uploaded file is answered 200",
        commands::site_chmod
    ),
    check!(
        "site-umask",
        "widely followed practice (vsftpd SITE UMASK)",
        Interop,
        "After SITE UMASK 077 an uploaded file is created -rw-------",
        commands::site_umask
    ),
    check!(
        "rfc959-4.1.3-allo",
        "RFC 959 4.1.3, 5.4",
        Should,
        "ALLO of a small size is 200 or 202; a size no disk has is not confirmed with 200",
        commands::allo
    ),
    check!(
        "rfc3659-5.3-rest-appe",
        "RFC 3659 5.3",
        Must,
        "APPE after REST writes at the marker, as STOR, or is refused",
        commands::rest_appe
    ),
    check!(
        "rfc3659-5.3-rest-past-end",
        "RFC 3659 5.3",
        Should,
        "RETR after a REST past the end of the file is rejected, not 150 and nothing",
        commands::rest_past_end
    ),
    check!(
        "rfc959-4.2-refusals-keep-session",
        "RFC 959 4.2",
        Must,
        "Refused commands (unknown verb, MODE Z, RNTO alone, SITE XYZZY) leave the session usable",
        commands::refusals_keep_session
    ),
    // Extensions (RFC 2389, RFC 3659, RFC 2640, RFC 7151).
    check!(
        "rfc2389-3.2-feat-syntax",
        "RFC 2389 3.2",
        Must,
        "FEAT: 211- first line, one space before each feature, 211 End",
        ext::feat_syntax
    ),
    check!(
        "rfc2389-4-opts-unknown-501",
        "RFC 2389 4",
        Should,
        "OPTS for a command without options is refused with 501",
        ext::opts_unknown
    ),
    check!(
        "rfc3659-4-size",
        "RFC 3659 4",
        Must,
        "SIZE of a stored file is answered 213 with its exact size (TYPE I)",
        ext::size
    ),
    check!(
        "rfc3659-4-size-missing-550",
        "RFC 3659 4.2",
        Must,
        "SIZE of a missing file is answered 550",
        ext::size_missing
    ),
    check!("rfc3659-3-mdtm", "RFC 3659 3", Must, "MDTM is answered 213 YYYYMMDDHHMMSS[.sss]", ext::mdtm),
    check!(
        "rfc3659-7.2-mlst-syntax",
        "RFC 3659 7.2",
        Must,
        "MLST: 250-, one entry line ' facts pathname', 250",
        ext::mlst
    ),
    check!(
        "rfc3659-7.2-mlsd-syntax",
        "RFC 3659 7.2",
        Must,
        "MLSD lines are 'fact=value;... name' with CRLF",
        ext::mlsd_syntax
    ),
    check!(
        "rfc3659-7.5-mlsd-facts",
        "RFC 3659 7.5",
        Must,
        "MLSD gives type=file with the right size for a file, type=dir for a directory",
        ext::mlsd_facts
    ),
    check!(
        "rfc3659-7.9-opts-mlst",
        "RFC 3659 7.9",
        Should,
        "OPTS MLST selects facts: 200 MLST OPTS, then only those facts",
        ext::opts_mlst
    ),
    check!(
        "rfc2640-opts-utf8-on",
        "widely followed practice (draft-ietf-ftpext-utf-8-option)",
        Interop,
        "OPTS UTF8 ON is accepted (200) when FEAT lists UTF8",
        ext::opts_utf8
    ),
    check!(
        "rfc2640-2.2-utf8-names",
        "RFC 2640 2.2, 3.1",
        Should,
        "A UTF-8 file name is stored and listed byte for byte",
        ext::utf8_names
    ),
    check!(
        "rfc7151-3-host-before-login",
        "RFC 7151 3",
        Must,
        "HOST before login is answered 220",
        ext::host_before_login
    ),
    check!(
        "rfc7151-3-host-after-login-503",
        "RFC 7151 3",
        Must,
        "HOST after login is refused with 503",
        ext::host_after_login
    ),
    // Robustness (byte level).
    check!(
        "robust-split-command",
        "RFC 959 2.2, 4.1 (Telnet stream)",
        Must,
        "A command split across TCP segments is read as one line",
        robust::split_command
    ),
    check!(
        "robust-pipelined-order",
        "RFC 959 4.2",
        Must,
        "Commands sent together are all answered, in order",
        robust::pipelined
    ),
    check!(
        "robust-overlong-line",
        "widely followed practice (SECURITY.md F1)",
        Interop,
        "An overlong line gets at most one error reply, and the session recovers",
        robust::overlong
    ),
    check!(
        "robust-nul-in-argument",
        "widely followed practice (SECURITY.md F5)",
        Interop,
        "A NUL byte in an argument does not cut it short",
        robust::nul
    ),
    check!(
        "robust-binary-garbage",
        "RFC 959 5.4",
        Interop,
        "A line of binary garbage gets an error reply and the session goes on",
        robust::garbage
    ),
    check!(
        "robust-bare-lf",
        "widely followed practice",
        Interop,
        "A command ended by a bare LF is accepted",
        robust::bare_lf
    ),
    check!(
        "robust-telnet-ip-abor",
        "RFC 959 4.1.3, RFC 854",
        Should,
        "Telnet IP and DM before ABOR are ignored (ABOR answered 225/226)",
        robust::telnet_abor
    ),
    check!(
        "robust-slow-loris-idle-timeout",
        "widely followed practice (SECURITY.md C1)",
        Should,
        "A command line trickled a byte a second and never ended does not hold the session (closed within 20 s)",
        robust::slow_loris
    ),
];

/// The numeric code.
pub(crate) fn code(r: &Reply) -> u16 {
    r.code().as_u16()
}

/// A failure unless the reply has one of `codes`.
pub(crate) fn want(what: &str, r: &Reply, codes: &[u16]) -> Verdict {
    if codes.contains(&code(r)) {
        Ok(())
    } else {
        fail(format!("{what}: expected {}, got {}", codes_text(codes), show(r)))
    }
}

/// Whether FEAT listed `name`.
pub(crate) fn has_feature(features: &[Feature], name: &str) -> bool {
    features.iter().any(|f| f.is(name))
}

/// The features, or a skip unless FEAT lists `name` (the RFC makes it optional).
pub(crate) async fn require_feature(c: &mut Control, name: &str) -> Result<Vec<Feature>, Stop> {
    let features = c.features().await?;
    if has_feature(&features, name) { Ok(features) } else { skip(format!("the server does not list {name} in FEAT")) }
}

/// `n` bytes with every byte value, CR and LF included.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(7) % 256) as u8).collect()
}

/// What a transfer produced.
pub(crate) struct Xfer {
    /// The first reply to the transfer command.
    pub(crate) first: Reply,
    /// The reply after the data (when the first one was 1yz).
    pub(crate) last: Option<Reply>,
    /// What came over the data connection.
    pub(crate) data: Vec<u8>,
}

impl Xfer {
    /// A failure unless the transfer went 1yz, data, 2yz (226 or 250).
    pub(crate) fn completed(&self, what: &str) -> Verdict {
        if !self.first.code().is_positive_preliminary() {
            return fail(format!("{what}: expected 125 or 150, got {}", show(&self.first)));
        }
        match &self.last {
            Some(r) if matches!(code(r), 226 | 250) => Ok(()),
            Some(r) => fail(format!("{what}: expected 226 or 250 after the data, got {}", show(r))),
            None => fail(format!("{what}: no reply after the data")),
        }
    }
}

/// Most bytes a check downloads.
const MAX_DOWNLOAD: usize = 64 << 20;

/// A transfer over a new passive data connection.
pub(crate) async fn transfer(c: &mut Control, cmd: Command, upload: Option<&[u8]>) -> Result<Xfer, Stop> {
    let addr = c.passive().await?;
    transfer_at(c, addr, cmd, upload).await
}

/// A transfer over a passive data connection to `addr`.
pub(crate) async fn transfer_at(
    c: &mut Control,
    addr: SocketAddr,
    cmd: Command,
    upload: Option<&[u8]>,
) -> Result<Xfer, Stop> {
    let mut data = c.data_connect(addr, None).await?;
    c.send(&cmd).await?;
    let first = c.reply().await?;
    if !first.code().is_positive_preliminary() {
        data.close();
        return Ok(Xfer { first, last: None, data: Vec::new() });
    }
    c.secure_data(&mut data).await?;
    let received = match upload {
        Some(bytes) => {
            data.write_and_close(bytes).await?;
            Vec::new()
        }
        None => data.read_to_end(MAX_DOWNLOAD).await?,
    };
    let last = c.final_reply().await?;
    Ok(Xfer { first, last: Some(last), data: received })
}

/// Uploads a fixture (TYPE I in force); a skip when the server refuses.
pub(crate) async fn put(c: &mut Control, name: &str, bytes: &[u8]) -> Verdict {
    let x = transfer(c, Command::Stor(path(name)?), Some(bytes)).await?;
    match x.completed("STOR") {
        Ok(()) => Ok(()),
        Err(Stop::Fail(why)) => skip(format!("setup: cannot upload a test file: {why}")),
        Err(other) => Err(other),
    }
}

/// Downloads a file; a failure unless it completes.
pub(crate) async fn get(c: &mut Control, name: &str) -> Result<Vec<u8>, Stop> {
    let x = transfer(c, Command::Retr(path(name)?), None).await?;
    x.completed("RETR")?;
    Ok(x.data)
}

/// Where two byte strings first differ.
pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("they differ at byte {i} ({} bytes expected, {} received)", a.len(), b.len()),
        None => format!("{} bytes expected, {} received", a.len(), b.len()),
    }
}

/// An extension command such as `XYZZY`.
pub(crate) fn other(verb: &str, arg: Option<&str>) -> Result<Command, Stop> {
    let verb = ftp_proto::Verb::try_from(verb).map_err(|e| Stop::Fail(format!("{verb}: {e}")))?;
    let arg = match arg {
        Some(a) => Some(ftp_proto::Text::try_from(a).map_err(|e| Stop::Fail(format!("{a}: {e}")))?),
        None => None,
    };
    ftp_proto::ExtensionCommand::new(verb, arg).map(Command::Other).map_err(|e| Stop::Fail(format!("{e}")))
}
