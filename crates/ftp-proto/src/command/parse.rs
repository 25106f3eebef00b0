//! The command grammar: one complete line in, one [`Command`] out.
//!
//! RFC 959 5.3.1: `<verb> [<SP> <argument>] <CRLF>`, verbs case-insensitive.
//! Framing (line ends, Telnet) is done before this point by the line decoder.

use bytes::Bytes;
use core::num::NonZeroU8;

use super::table::{Arity, CommandKind as Kind, classify, from_key};
use super::{
    Allocation, Command, ExtensionCommand, FormatControl, Opts, ProtectionLevel, Structure, TransferMode, TransferType,
};
use crate::addr::{self, AddrError, EpsvArg, NetProto};
use crate::error::{ParseError, ValidationError};
use crate::line::LineRef;
use crate::options::ParseOptions;
use crate::scan;
use crate::secret::Secret;
use crate::text::{self, Base64, FactList, HostName, LangTag, Mechanism, Password, Pathname, Text, Username, Verb};
use crate::time::Timestamp;

fn required(verb: &'static str, arg: Option<Bytes>) -> Result<Bytes, ParseError> {
    arg.ok_or(ParseError::MissingArgument { verb })
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

/// Parses one line. Arguments are slices of the line's buffer; a verb
/// without an argument takes no reference to it at all.
#[inline]
pub(super) fn parse(line: LineRef<'_>, options: &ParseOptions) -> Result<Command, ParseError> {
    let LineRef { chunk, start, end, clean } = line;
    let bytes = line.bytes();
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let (kind, verb_len) = match known_verb(chunk, start, bytes.len()) {
        Some(known) => known,
        None => {
            // The verb is at most MAX_VERB_LEN bytes: look for its space only there.
            let sp = bytes.iter().take(text::MAX_VERB_LEN + 1).position(|&b| b == b' ');
            let verb_len = sp.unwrap_or(bytes.len());
            let Some(kind) = classify(&bytes[..verb_len])? else {
                let verb =
                    Verb::new(chunk.slice(start..start + verb_len)).map_err(|e| ParseError::BadVerb { at: e.at })?;
                let argument = sp
                    .map(|sp| Text::from_line(chunk.slice(start + sp + 1..end), clean))
                    .transpose()
                    .map_err(|e| invalid("extension", "text without line breaks", e.at))?;
                return Ok(Command::Other(ExtensionCommand { verb, argument: argument.filter(|t| !t.is_empty()) }));
            };
            (kind, verb_len)
        }
    };
    // `bytes[verb_len]`, when there, is the space after the verb.
    let arg_start = start + verb_len + 1;
    let arg_bytes = (verb_len < bytes.len()).then(|| &bytes[verb_len + 1..]);
    // `PASS` takes its argument raw: a password may be empty (anonymous
    // clients send none) or made of spaces.
    let keep = match (kind.arity(), arg_bytes) {
        _ if kind == Kind::Pass => arg_bytes.is_some(),
        (Arity::None, None) => false,
        (Arity::None, Some(a)) if options.trailing_space_allowed() && is_blank(a) => false,
        (Arity::None, Some(_)) => return Err(ParseError::UnexpectedArgument { verb: kind.name() }),
        (Arity::Optional, Some(a)) if a.is_empty() || (options.trailing_space_allowed() && is_blank(a)) => false,
        (Arity::Required, Some([]) | None) => return Err(ParseError::MissingArgument { verb: kind.name() }),
        (_, a) => a.is_some(),
    };
    let arg = if keep { Some(chunk.slice(arg_start..end)) } else { None };
    parse_known(kind, arg, clean)
}

/// The known verb that starts a line of `len` bytes at `chunk[start..]`,
/// and its length, from one 8-byte load: the verb ends at the first space
/// (or the line's end); its letters, case folded, are looked up as one
/// `u64`. A match proves the verb valid (only ASCII letters fold onto the
/// letters of a known verb, and the lengths agree), so the byte-by-byte
/// check of [`classify`] is left to the lines this cannot decide: unknown or
/// malformed verbs, and the last few bytes of a buffer.
#[inline]
fn known_verb(chunk: &[u8], start: usize, len: usize) -> Option<(Kind, usize)> {
    let word: [u8; 8] = chunk.get(start..start + 8)?.try_into().ok()?;
    let word = u64::from_le_bytes(word);
    let spaces = scan::matches(word, b' ');
    let verb_len = if spaces == 0 { 8 } else { (spaces.trailing_zeros() / 8) as usize }.min(len);
    if !(3..=4).contains(&verb_len) {
        return None;
    }
    let letters = word & ((1u64 << (8 * verb_len)) - 1) & 0xDFDF_DFDF_DFDF_DFDF;
    let kind = from_key(letters)?;
    (kind.name().len() == verb_len).then_some((kind, verb_len))
}

fn path(verb: &'static str, arg: Option<Bytes>, clean: bool) -> Result<Pathname, ParseError> {
    let arg = arg.ok_or(ParseError::MissingArgument { verb })?;
    Pathname::from_line(arg, clean).map_err(from_validation(verb, "a pathname (CR only as CR NUL)"))
}

fn opt_path(verb: &'static str, arg: Option<Bytes>, clean: bool) -> Result<Option<Pathname>, ParseError> {
    arg.map(|a| path(verb, Some(a), clean)).transpose()
}

fn text_arg(verb: &'static str, arg: Option<Bytes>, clean: bool) -> Result<Text, ParseError> {
    let arg = arg.ok_or(ParseError::MissingArgument { verb })?;
    Text::from_line(arg, clean).map_err(from_validation(verb, "text without line breaks"))
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

#[inline]
fn parse_known(kind: Kind, arg: Option<Bytes>, clean: bool) -> Result<Command, ParseError> {
    let verb = kind.name();
    Ok(match kind {
        Kind::User => Command::User(
            Username::from_line(required(verb, arg)?, clean)
                .map_err(from_validation(verb, "a user name of 1-256 bytes"))?,
        ),
        Kind::Pass => Command::Pass(Secret::new(
            Password::from_line(arg.unwrap_or_default(), clean)
                .map_err(from_validation(verb, "a password of at most 1024 bytes"))?,
        )),
        Kind::Acct => Command::Acct(Secret::new(text_arg(verb, arg, clean)?)),
        Kind::Cwd => Command::Cwd(path(verb, arg, clean)?),
        Kind::Cdup => Command::Cdup,
        Kind::Smnt => Command::Smnt(path(verb, arg, clean)?),
        Kind::Rein => Command::Rein,
        Kind::Quit => Command::Quit,
        Kind::Port => Command::Port(addr::parse_host_port(&required(verb, arg)?).map_err(|e| addr_error(verb, e))?),
        Kind::Pasv => Command::Pasv,
        Kind::Type => Command::Type(parse_type(&required(verb, arg)?)?),
        Kind::Stru => Command::Stru(match letter(verb, &required(verb, arg)?)? {
            b'F' => Structure::File,
            b'R' => Structure::Record,
            b'P' => Structure::Page,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        Kind::Mode => Command::Mode(match letter(verb, &required(verb, arg)?)? {
            b'S' => TransferMode::Stream,
            b'B' => TransferMode::Block,
            b'C' => TransferMode::Compressed,
            b'Z' => TransferMode::Deflate,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        Kind::Retr => Command::Retr(path(verb, arg, clean)?),
        Kind::Stor => Command::Stor(path(verb, arg, clean)?),
        Kind::Stou => Command::Stou(opt_path(verb, arg, clean)?),
        Kind::Appe => Command::Appe(path(verb, arg, clean)?),
        Kind::Allo => Command::Allo(parse_allo(&required(verb, arg)?)?),
        Kind::Rest => Command::Rest(decimal(verb, &required(verb, arg)?, 20, "a byte offset 0-18446744073709551615")?),
        Kind::Rnfr => Command::Rnfr(path(verb, arg, clean)?),
        Kind::Rnto => Command::Rnto(path(verb, arg, clean)?),
        Kind::Abor => Command::Abor,
        Kind::Dele => Command::Dele(path(verb, arg, clean)?),
        Kind::Rmd => Command::Rmd(path(verb, arg, clean)?),
        Kind::Mkd => Command::Mkd(path(verb, arg, clean)?),
        Kind::Pwd => Command::Pwd,
        Kind::List => Command::List(opt_path(verb, arg, clean)?),
        Kind::Nlst => Command::Nlst(opt_path(verb, arg, clean)?),
        Kind::Site => Command::Site(text_arg(verb, arg, clean)?),
        Kind::Syst => Command::Syst,
        Kind::Stat => Command::Stat(opt_path(verb, arg, clean)?),
        Kind::Help => Command::Help(arg.map(|t| text_arg(verb, Some(t), clean)).transpose()?),
        Kind::Noop => Command::Noop,
        Kind::Auth => Command::Auth(
            Mechanism::from_line(required(verb, arg)?, clean).map_err(from_validation(verb, "a mechanism name"))?,
        ),
        Kind::Adat => Command::Adat(Secret::new(base64(verb, required(verb, arg)?, clean)?)),
        Kind::Prot => Command::Prot(match letter(verb, &required(verb, arg)?)? {
            b'C' => ProtectionLevel::Clear,
            b'S' => ProtectionLevel::Safe,
            b'E' => ProtectionLevel::Confidential,
            b'P' => ProtectionLevel::Private,
            _ => return Err(ParseError::UnsupportedParameter { verb }),
        }),
        Kind::Pbsz => Command::Pbsz(decimal(verb, &required(verb, arg)?, 10, "a decimal 0-4294967295")?),
        Kind::Ccc => Command::Ccc,
        Kind::Mic => Command::Mic(base64(verb, required(verb, arg)?, clean)?),
        Kind::Conf => Command::Conf(base64(verb, required(verb, arg)?, clean)?),
        Kind::Enc => Command::Enc(base64(verb, required(verb, arg)?, clean)?),
        Kind::Feat => Command::Feat,
        Kind::Opts => Command::Opts(parse_opts(required(verb, arg)?, clean)?),
        Kind::Eprt => Command::Eprt(addr::parse_eprt(&required(verb, arg)?).map_err(|e| addr_error(verb, e))?),
        Kind::Epsv => Command::Epsv(match arg.as_deref() {
            None => EpsvArg::Any,
            Some(b"1") => EpsvArg::Protocol(NetProto::Ipv4),
            Some(b"2") => EpsvArg::Protocol(NetProto::Ipv6),
            Some(all) if all.eq_ignore_ascii_case(b"ALL") => EpsvArg::All,
            Some(p) if addr::parse_decimal(p, 5).is_some() => return Err(ParseError::UnsupportedProtocol { verb }),
            Some(_) => return Err(invalid(verb, "1, 2 or ALL", 0)),
        }),
        Kind::Lang => Command::Lang(
            arg.map(|t| LangTag::from_line(t, clean).map_err(from_validation(verb, "a language tag"))).transpose()?,
        ),
        Kind::Size => Command::Size(path(verb, arg, clean)?),
        Kind::Mdtm => Command::Mdtm(path(verb, arg, clean)?),
        Kind::Mlst => Command::Mlst(opt_path(verb, arg, clean)?),
        Kind::Mlsd => Command::Mlsd(opt_path(verb, arg, clean)?),
        Kind::Host => Command::Host(
            HostName::from_line(required(verb, arg)?, clean)
                .map_err(from_validation(verb, "a host name or address literal"))?,
        ),
        Kind::Mfmt => {
            let (time, p) = parse_time_path(verb, required(verb, arg)?, clean)?;
            Command::Mfmt(time, p)
        }
        Kind::Mfct => {
            let (time, p) = parse_time_path(verb, required(verb, arg)?, clean)?;
            Command::Mfct(time, p)
        }
        Kind::Mff => {
            let arg = required(verb, arg)?;
            let sp = memchr::memchr(b' ', &arg).ok_or(invalid(verb, "facts, a space and a pathname", arg.len()))?;
            let facts =
                FactList::from_line(arg.slice(..sp), clean).map_err(from_validation(verb, "fact=value; pairs"))?;
            Command::Mff(facts, path(verb, Some(arg.slice(sp + 1..)), clean)?)
        }
        Kind::Hash => Command::Hash(path(verb, arg, clean)?),
        Kind::Xcwd => Command::Xcwd(path(verb, arg, clean)?),
        Kind::Xcup => Command::Xcup,
        Kind::Xmkd => Command::Xmkd(path(verb, arg, clean)?),
        Kind::Xrmd => Command::Xrmd(path(verb, arg, clean)?),
        Kind::Xpwd => Command::Xpwd,
    })
}

fn addr_error(verb: &'static str, e: AddrError) -> ParseError {
    match e {
        AddrError::Syntax(reason, at) => invalid(verb, reason, at),
        AddrError::Protocol => ParseError::UnsupportedProtocol { verb },
    }
}

fn base64(verb: &'static str, arg: Bytes, clean: bool) -> Result<Base64, ParseError> {
    Base64::from_line(arg, clean).map_err(from_validation(verb, "base64 data"))
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
fn parse_opts(arg: Bytes, clean: bool) -> Result<Opts, ParseError> {
    const V: &str = "OPTS";
    let (name, options) = match memchr::memchr(b' ', &arg) {
        Some(sp) => (arg.slice(..sp), Some(arg.slice(sp + 1..))),
        None => (arg.clone(), None),
    };
    let command = Verb::new(name).map_err(from_validation(V, "a command name"))?;
    let options = options
        .map(|o| Text::from_line(o, clean))
        .transpose()
        .map_err(from_validation(V, "options without line breaks"))?;
    Ok(Opts::new(command, options))
}

/// draft-somers-ftp-mfxx: `MFMT <SP> time-val <SP> pathname`.
fn parse_time_path(verb: &'static str, arg: Bytes, clean: bool) -> Result<(Timestamp, Pathname), ParseError> {
    let sp = memchr::memchr(b' ', &arg).ok_or(invalid(verb, "a time, a space and a pathname", arg.len()))?;
    let time = Timestamp::parse(&arg[..sp]).map_err(from_validation(verb, "a time YYYYMMDDHHMMSS[.sss]"))?;
    Ok((time, path(verb, Some(arg.slice(sp + 1..)), clean)?))
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
        // Written out by hand, apart from the verb table, on purpose.
        for verb in ALL {
            assert_eq!(super::super::table::lookup(verb.as_bytes()).map(Kind::name), Some(*verb), "{verb}");
        }
        assert_eq!(Kind::ALL.len(), ALL.len(), "the table has no verb beyond the list");
    }
}
