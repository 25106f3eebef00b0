//! The command grammar: one complete line in, one [`Command`] out.
//!
//! RFC 959 5.3.1: `<verb> [<SP> <argument>] <CRLF>`, verbs case-insensitive.
//! Framing (line ends, Telnet) is done before this point by the line decoder.

use bytes::Bytes;
use core::num::NonZeroU8;

use super::{
    Allocation, Command, ExtensionCommand, FormatControl, Opts, ProtectionLevel, Structure, TransferMode, TransferType,
};
use crate::addr::{self, AddrError, EpsvArg, NetProto};
use crate::error::{ParseError, ValidationError};
use crate::options::ParseOptions;
use crate::secret::Secret;
use crate::text::{self, Base64, FactList, HostName, LangTag, Mechanism, Password, Pathname, Text, Username, Verb};
use crate::time::Timestamp;

/// How a verb takes its argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Arity {
    None,
    Optional,
    Required,
}

/// Every verb the codec knows, with the shape of its argument.
pub(super) fn lookup(upper: &[u8]) -> Option<(&'static str, Arity)> {
    use Arity::{None as N, Optional as O, Required as R};
    Some(match upper {
        b"USER" => ("USER", R),
        b"PASS" => ("PASS", O),
        b"ACCT" => ("ACCT", R),
        b"CWD" => ("CWD", R),
        b"CDUP" => ("CDUP", N),
        b"SMNT" => ("SMNT", R),
        b"REIN" => ("REIN", N),
        b"QUIT" => ("QUIT", N),
        b"PORT" => ("PORT", R),
        b"PASV" => ("PASV", N),
        b"TYPE" => ("TYPE", R),
        b"STRU" => ("STRU", R),
        b"MODE" => ("MODE", R),
        b"RETR" => ("RETR", R),
        b"STOR" => ("STOR", R),
        b"STOU" => ("STOU", O),
        b"APPE" => ("APPE", R),
        b"ALLO" => ("ALLO", R),
        b"REST" => ("REST", R),
        b"RNFR" => ("RNFR", R),
        b"RNTO" => ("RNTO", R),
        b"ABOR" => ("ABOR", N),
        b"DELE" => ("DELE", R),
        b"RMD" => ("RMD", R),
        b"MKD" => ("MKD", R),
        b"PWD" => ("PWD", N),
        b"LIST" => ("LIST", O),
        b"NLST" => ("NLST", O),
        b"SITE" => ("SITE", R),
        b"SYST" => ("SYST", N),
        b"STAT" => ("STAT", O),
        b"HELP" => ("HELP", O),
        b"NOOP" => ("NOOP", N),
        b"AUTH" => ("AUTH", R),
        b"ADAT" => ("ADAT", R),
        b"PROT" => ("PROT", R),
        b"PBSZ" => ("PBSZ", R),
        b"CCC" => ("CCC", N),
        b"MIC" => ("MIC", R),
        b"CONF" => ("CONF", R),
        b"ENC" => ("ENC", R),
        b"FEAT" => ("FEAT", N),
        b"OPTS" => ("OPTS", R),
        b"EPRT" => ("EPRT", R),
        b"EPSV" => ("EPSV", O),
        b"LANG" => ("LANG", O),
        b"SIZE" => ("SIZE", R),
        b"MDTM" => ("MDTM", R),
        b"MLST" => ("MLST", O),
        b"MLSD" => ("MLSD", O),
        b"HOST" => ("HOST", R),
        b"MFMT" => ("MFMT", R),
        b"MFCT" => ("MFCT", R),
        b"MFF" => ("MFF", R),
        b"HASH" => ("HASH", R),
        b"XCWD" => ("XCWD", R),
        b"XCUP" => ("XCUP", N),
        b"XMKD" => ("XMKD", R),
        b"XRMD" => ("XRMD", R),
        b"XPWD" => ("XPWD", N),
        _ => return None,
    })
}

fn invalid(verb: &'static str, reason: &'static str, at: usize) -> ParseError {
    ParseError::InvalidArgument { verb, reason, at }
}

fn from_validation(verb: &'static str, reason: &'static str) -> impl Fn(ValidationError) -> ParseError {
    move |e| invalid(verb, reason, e.at)
}

fn is_blank(arg: &[u8]) -> bool {
    arg.iter().all(|&b| b == b' ')
}

pub(super) fn parse(line: &Bytes, options: &ParseOptions) -> Result<Command, ParseError> {
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (verb_bytes, arg) = match memchr::memchr(b' ', line) {
        Some(sp) => (&line[..sp], Some(line.slice(sp + 1..))),
        None => (&line[..], None),
    };
    if let Err(e) = text::check_verb(verb_bytes) {
        return Err(ParseError::BadVerb { at: e.at });
    }
    let mut upper = [0u8; text::MAX_VERB_LEN];
    for (u, b) in upper.iter_mut().zip(verb_bytes) {
        *u = b.to_ascii_uppercase();
    }
    let upper = &upper[..verb_bytes.len()];
    let Some((name, arity)) = lookup(upper) else {
        let verb = Verb::new(line.slice(..verb_bytes.len())).map_err(|e| ParseError::BadVerb { at: e.at })?;
        let argument =
            arg.map(Text::new).transpose().map_err(|e| invalid("extension", "text without line breaks", e.at))?;
        return Ok(Command::Other(ExtensionCommand { verb, argument: argument.filter(|t| !t.is_empty()) }));
    };
    // `PASS` takes its argument raw: a password may be empty (anonymous
    // clients send none) or made of spaces.
    if name == "PASS" {
        return parse_known(name, arg);
    }
    // Normalise the argument according to the verb's arity.
    let arg = match (arity, arg) {
        (Arity::None, None) => None,
        (Arity::None, Some(a)) if options.trailing_space_allowed() && is_blank(&a) => None,
        (Arity::None, Some(_)) => return Err(ParseError::UnexpectedArgument { verb: name }),
        (Arity::Optional, Some(a)) if a.is_empty() || (options.trailing_space_allowed() && is_blank(&a)) => None,
        (Arity::Required, Some(a)) if a.is_empty() => return Err(ParseError::MissingArgument { verb: name }),
        (Arity::Required, None) => return Err(ParseError::MissingArgument { verb: name }),
        (_, a) => a,
    };
    parse_known(name, arg)
}

fn path(verb: &'static str, arg: Option<Bytes>) -> Result<Pathname, ParseError> {
    let arg = arg.ok_or(ParseError::MissingArgument { verb })?;
    Pathname::from_wire(arg).map_err(from_validation(verb, "a pathname (CR only as CR NUL)"))
}

fn opt_path(verb: &'static str, arg: Option<Bytes>) -> Result<Option<Pathname>, ParseError> {
    arg.map(|a| path(verb, Some(a))).transpose()
}

fn text_arg(verb: &'static str, arg: Option<Bytes>) -> Result<Text, ParseError> {
    let arg = arg.ok_or(ParseError::MissingArgument { verb })?;
    Text::new(arg).map_err(from_validation(verb, "text without line breaks"))
}

/// A single-letter parameter, case-insensitive; a different letter is an
/// unsupported parameter (504), anything longer a syntax error (501).
fn letter(verb: &'static str, arg: &[u8]) -> Result<u8, ParseError> {
    match arg {
        [c] if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(invalid(verb, "a single letter", 0)),
    }
}

fn decimal<T: TryFrom<u64>>(
    verb: &'static str,
    digits: &[u8],
    max_digits: usize,
    reason: &'static str,
) -> Result<T, ParseError> {
    addr::parse_decimal(digits, max_digits)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| invalid(verb, reason, digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0)))
}

fn parse_known(verb: &'static str, arg: Option<Bytes>) -> Result<Command, ParseError> {
    // `arg` is `Some` whenever the verb's arity is `Required` (checked above).
    let a = || arg.clone().ok_or(ParseError::MissingArgument { verb });
    Ok(match verb {
        "USER" => Command::User(Username::new(a()?).map_err(from_validation(verb, "a user name of 1-256 bytes"))?),
        "PASS" => Command::Pass(Secret::new(
            Password::new(arg.unwrap_or_default())
                .map_err(from_validation(verb, "a password of at most 1024 bytes"))?,
        )),
        "ACCT" => Command::Acct(Secret::new(text_arg(verb, arg)?)),
        "CWD" => Command::Cwd(path(verb, arg)?),
        "CDUP" => Command::Cdup,
        "SMNT" => Command::Smnt(path(verb, arg)?),
        "REIN" => Command::Rein,
        "QUIT" => Command::Quit,
        "PORT" => Command::Port(addr::parse_host_port(&a()?).map_err(|e| addr_error(verb, e))?),
        "PASV" => Command::Pasv,
        "TYPE" => Command::Type(parse_type(&a()?)?),
        "STRU" => Command::Stru(match letter(verb, &a()?)? {
            b'F' => Structure::File,
            b'R' => Structure::Record,
            b'P' => Structure::Page,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        "MODE" => Command::Mode(match letter(verb, &a()?)? {
            b'S' => TransferMode::Stream,
            b'B' => TransferMode::Block,
            b'C' => TransferMode::Compressed,
            b'Z' => TransferMode::Deflate,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        "RETR" => Command::Retr(path(verb, arg)?),
        "STOR" => Command::Stor(path(verb, arg)?),
        "STOU" => Command::Stou(opt_path(verb, arg)?),
        "APPE" => Command::Appe(path(verb, arg)?),
        "ALLO" => Command::Allo(parse_allo(&a()?)?),
        "REST" => Command::Rest(decimal(verb, &a()?, 20, "a byte offset 0-18446744073709551615")?),
        "RNFR" => Command::Rnfr(path(verb, arg)?),
        "RNTO" => Command::Rnto(path(verb, arg)?),
        "ABOR" => Command::Abor,
        "DELE" => Command::Dele(path(verb, arg)?),
        "RMD" => Command::Rmd(path(verb, arg)?),
        "MKD" => Command::Mkd(path(verb, arg)?),
        "PWD" => Command::Pwd,
        "LIST" => Command::List(opt_path(verb, arg)?),
        "NLST" => Command::Nlst(opt_path(verb, arg)?),
        "SITE" => Command::Site(text_arg(verb, arg)?),
        "SYST" => Command::Syst,
        "STAT" => Command::Stat(opt_path(verb, arg)?),
        "HELP" => Command::Help(arg.map(|t| text_arg(verb, Some(t))).transpose()?),
        "NOOP" => Command::Noop,
        "AUTH" => Command::Auth(Mechanism::new(a()?).map_err(from_validation(verb, "a mechanism name"))?),
        "ADAT" => Command::Adat(Secret::new(base64(verb, a()?)?)),
        "PROT" => Command::Prot(match letter(verb, &a()?)? {
            b'C' => ProtectionLevel::Clear,
            b'S' => ProtectionLevel::Safe,
            b'E' => ProtectionLevel::Confidential,
            b'P' => ProtectionLevel::Private,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        "PBSZ" => Command::Pbsz(decimal(verb, &a()?, 10, "a decimal 0-4294967295")?),
        "CCC" => Command::Ccc,
        "MIC" => Command::Mic(base64(verb, a()?)?),
        "CONF" => Command::Conf(base64(verb, a()?)?),
        "ENC" => Command::Enc(base64(verb, a()?)?),
        "FEAT" => Command::Feat,
        "OPTS" => Command::Opts(parse_opts(a()?)?),
        "EPRT" => Command::Eprt(addr::parse_eprt(&a()?).map_err(|e| addr_error(verb, e))?),
        "EPSV" => Command::Epsv(match arg.as_deref() {
            None => EpsvArg::Any,
            Some(b"1") => EpsvArg::Protocol(NetProto::Ipv4),
            Some(b"2") => EpsvArg::Protocol(NetProto::Ipv6),
            Some(all) if all.eq_ignore_ascii_case(b"ALL") => EpsvArg::All,
            Some(p) if addr::parse_decimal(p, 5).is_some() => return Err(ParseError::UnsupportedProtocol { verb }),
            Some(_) => return Err(invalid(verb, "1, 2 or ALL", 0)),
        }),
        "LANG" => {
            Command::Lang(arg.map(|t| LangTag::new(t).map_err(from_validation(verb, "a language tag"))).transpose()?)
        }
        "SIZE" => Command::Size(path(verb, arg)?),
        "MDTM" => Command::Mdtm(path(verb, arg)?),
        "MLST" => Command::Mlst(opt_path(verb, arg)?),
        "MLSD" => Command::Mlsd(opt_path(verb, arg)?),
        "HOST" => Command::Host(HostName::new(a()?).map_err(from_validation(verb, "a host name or address literal"))?),
        "MFMT" => {
            let (time, p) = parse_time_path(verb, a()?)?;
            Command::Mfmt(time, p)
        }
        "MFCT" => {
            let (time, p) = parse_time_path(verb, a()?)?;
            Command::Mfct(time, p)
        }
        "MFF" => {
            let arg = a()?;
            let sp = memchr::memchr(b' ', &arg).ok_or(invalid(verb, "facts, a space and a pathname", arg.len()))?;
            let facts = FactList::new(arg.slice(..sp)).map_err(from_validation(verb, "fact=value; pairs"))?;
            Command::Mff(facts, path(verb, Some(arg.slice(sp + 1..)))?)
        }
        "HASH" => Command::Hash(path(verb, arg)?),
        "XCWD" => Command::Xcwd(path(verb, arg)?),
        "XCUP" => Command::Xcup,
        "XMKD" => Command::Xmkd(path(verb, arg)?),
        "XRMD" => Command::Xrmd(path(verb, arg)?),
        "XPWD" => Command::Xpwd,
        _ => unreachable_verb(verb)?,
    })
}

/// `lookup` and `parse_known` list the same verbs; a verb in one and not the
/// other is a bug caught by the test `every_known_verb_parses`.
fn unreachable_verb(verb: &'static str) -> Result<Command, ParseError> {
    Err(ParseError::UnsupportedParameter { verb })
}

fn addr_error(verb: &'static str, e: AddrError) -> ParseError {
    match e {
        AddrError::Syntax(reason, at) => invalid(verb, reason, at),
        AddrError::Protocol => ParseError::UnsupportedProtocol { verb },
    }
}

fn base64(verb: &'static str, arg: Bytes) -> Result<Base64, ParseError> {
    Base64::new(arg).map_err(from_validation(verb, "base64 data"))
}

/// RFC 959 5.3.2: `A [<sp> <form-code>] | E [<sp> <form-code>] | I | L <sp> <byte-size>`.
fn parse_type(arg: &[u8]) -> Result<TransferType, ParseError> {
    const V: &str = "TYPE";
    let form = |rest: &[u8]| -> Result<Option<FormatControl>, ParseError> {
        match rest {
            [] => Ok(None),
            [b' ', c] => match c.to_ascii_uppercase() {
                b'N' => Ok(Some(FormatControl::NonPrint)),
                b'T' => Ok(Some(FormatControl::Telnet)),
                b'C' => Ok(Some(FormatControl::Carriage)),
                c if c.is_ascii_alphabetic() => Err(ParseError::UnsupportedParameter { verb: V }),
                _ => Err(invalid(V, "a format code N, T or C", 2)),
            },
            _ => Err(invalid(V, "a format code N, T or C", 1)),
        }
    };
    let Some((&code, rest)) = arg.split_first() else {
        return Err(ParseError::MissingArgument { verb: V });
    };
    match code.to_ascii_uppercase() {
        b'A' => Ok(TransferType::Ascii(form(rest)?)),
        b'E' => Ok(TransferType::Ebcdic(form(rest)?)),
        b'I' if rest.is_empty() => Ok(TransferType::Image),
        b'I' => Err(invalid(V, "nothing after I", 1)),
        b'L' => {
            let digits = rest.strip_prefix(b" ").ok_or(invalid(V, "a byte size after L", 1))?;
            let n: u8 = decimal(V, digits, 3, "a byte size 1-255")?;
            NonZeroU8::new(n).map(TransferType::Local).ok_or(invalid(V, "a byte size 1-255", 2))
        }
        c if c.is_ascii_alphabetic() => Err(ParseError::UnsupportedParameter { verb: V }),
        _ => Err(invalid(V, "a type code A, E, I or L", 0)),
    }
}

/// RFC 959 4.1.3: `ALLO <SP> <decimal-integer> [<SP> R <SP> <decimal-integer>]`.
fn parse_allo(arg: &[u8]) -> Result<Allocation, ParseError> {
    const V: &str = "ALLO";
    let (size, rest) = match memchr::memchr(b' ', arg) {
        Some(sp) => (&arg[..sp], Some(&arg[sp..])),
        None => (arg, None),
    };
    let size = decimal(V, size, 20, "a decimal byte count")?;
    let record_size = match rest {
        None => None,
        Some(rest) => {
            let digits = rest.strip_prefix(b" R ").or_else(|| rest.strip_prefix(b" r ")).ok_or(invalid(
                V,
                "R and a record size",
                size_len(arg),
            ))?;
            Some(decimal(V, digits, 20, "a decimal record size")?)
        }
    };
    Ok(Allocation { size, record_size })
}

fn size_len(arg: &[u8]) -> usize {
    arg.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// RFC 2389 section 4: `OPTS <SP> <command-name> [<SP> <command-options>]`.
fn parse_opts(arg: Bytes) -> Result<Opts, ParseError> {
    const V: &str = "OPTS";
    let (name, options) = match memchr::memchr(b' ', &arg) {
        Some(sp) => (arg.slice(..sp), Some(arg.slice(sp + 1..))),
        None => (arg.clone(), None),
    };
    let command = Verb::new(name).map_err(from_validation(V, "a command name"))?;
    let options = options.map(Text::new).transpose().map_err(from_validation(V, "options without line breaks"))?;
    Ok(Opts::new(command, options))
}

/// draft-somers-ftp-mfxx: `MFMT <SP> time-val <SP> pathname`.
fn parse_time_path(verb: &'static str, arg: Bytes) -> Result<(Timestamp, Pathname), ParseError> {
    let sp = memchr::memchr(b' ', &arg).ok_or(invalid(verb, "a time, a space and a pathname", arg.len()))?;
    let time = Timestamp::parse(&arg[..sp]).map_err(from_validation(verb, "a time YYYYMMDDHHMMSS[.sss]"))?;
    Ok((time, path(verb, Some(arg.slice(sp + 1..)))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verb of the list (RFC 959 4.1, RFC 2228 3, RFC 2389,
    /// RFC 2428, RFC 2640, RFC 3659, RFC 7151, draft-somers-ftp-mfxx, HASH and
    /// the RFC 775 X-aliases) is known to `lookup`, so it never falls into
    /// `Command::Other`.
    #[test]
    fn every_known_verb_is_listed() {
        const ALL: &[&str] = &[
            "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "REIN", "QUIT", "PORT", "PASV", "TYPE", "STRU", "MODE",
            "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD", "MKD", "PWD",
            "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP", "AUTH", "ADAT", "PROT", "PBSZ", "CCC", "MIC",
            "CONF", "ENC", "FEAT", "OPTS", "EPRT", "EPSV", "LANG", "SIZE", "MDTM", "MLST", "MLSD", "HOST", "MFMT",
            "MFCT", "MFF", "HASH", "XCWD", "XCUP", "XMKD", "XRMD", "XPWD",
        ];
        for verb in ALL {
            assert!(lookup(verb.as_bytes()).is_some(), "{verb}");
        }
    }
}
