//! `Arbitrary` for every public value, for fuzzing and property tests.
//!
//! Validated types get hand-written impls that build the value through its
//! constructor, so `arbitrary` can never produce a value the encoder could
//! not write (imap-types' approach). Generators lean towards the bytes that
//! break parsers: spaces, leading digits, 0xFF, CR (as CR NUL), NUL and
//! invalid UTF-8.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use arbitrary::{Arbitrary, Error, Result, Unstructured};
use bytes::Bytes;

use crate::addr::EpsvArg;
use crate::command::{Allocation, Command, CommandKind, ExtensionCommand, Opts};
use crate::reply::{Reply, ReplyCode};
use crate::secret::Secret;
use crate::text::{Base64, FactList, HostName, LangTag, Mechanism, Password, Pathname, Text, Username, Verb};
use crate::time::Timestamp;

/// Bytes that make interesting text: printable ASCII most of the time,
/// with the troublemakers mixed in.
fn text_byte(u: &mut Unstructured<'_>) -> Result<u8> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => b' ',
        1 => 0xFF,
        2 => 0,
        3 => b'"',
        4 => u.int_in_range(0x80..=0xFE)?,
        5 => u.int_in_range(b'0'..=b'9')?,
        _ => u.int_in_range(0x21..=0x7E)?,
    })
}

/// Wire-safe bytes: a CR is always followed by NUL (RFC 2640 3.1), never LF.
fn safe_bytes(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(min..=max)?;
    let mut out = Vec::with_capacity(len + 2);
    while out.len() < len {
        if u.ratio(1u8, 32)? {
            out.extend_from_slice(b"\r\0");
        } else {
            out.push(text_byte(u)?);
        }
    }
    Ok(out)
}

fn from_charset(u: &mut Unstructured<'_>, charset: &[u8], min: usize, max: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(min..=max)?;
    (0..len).map(|_| u.choose(charset).copied()).collect()
}

fn build<T, E>(r: core::result::Result<T, E>) -> Result<T> {
    r.map_err(|_| Error::IncorrectFormat)
}

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(Text::new(Bytes::from(safe_bytes(u, 0, 40)?)))
    }
}

impl<'a> Arbitrary<'a> for Pathname {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut raw = safe_bytes(u, 1, 40)?;
        // Held decoded: CR NUL is CR.
        let mut i = 0;
        while i + 1 < raw.len() {
            if raw[i] == b'\r' {
                raw.remove(i + 1);
            }
            i += 1;
        }
        // An optional pathname of spaces only reads as "no argument".
        if raw.iter().all(|&b| b == b' ') {
            raw.push(b'x');
        }
        build(Pathname::new(Bytes::from(raw)))
    }
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl<'a> Arbitrary<'a> for Verb {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut v = from_charset(u, LETTERS, 1, 1)?;
        v.extend(from_charset(u, ALNUM, 0, crate::text::MAX_VERB_LEN - 1)?);
        build(Verb::new(Bytes::from(v)))
    }
}

impl<'a> Arbitrary<'a> for Username {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(Username::new(Bytes::from(safe_bytes(u, 1, 24)?)))
    }
}

impl<'a> Arbitrary<'a> for Password {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(Password::new(Bytes::from(safe_bytes(u, 0, 24)?)))
    }
}

impl<'a> Arbitrary<'a> for Mechanism {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.ratio(1u8, 2)? {
            return Ok(Mechanism::new(Bytes::from_static(b"TLS")).expect("valid"));
        }
        build(Mechanism::new(Bytes::from(from_charset(u, b"ABCXYZabc019-_", 1, 20)?)))
    }
}

impl<'a> Arbitrary<'a> for Base64 {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let set = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        build(Base64::new(Bytes::from(from_charset(u, set, 1, 48)?)))
    }
}

impl<'a> Arbitrary<'a> for LangTag {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut v = from_charset(u, LETTERS, 1, 3)?;
        v.extend(from_charset(u, b"abcXYZ019-", 0, 10)?);
        build(LangTag::new(Bytes::from(v)))
    }
}

impl<'a> Arbitrary<'a> for HostName {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let v = match u.int_in_range(0u8..=2)? {
            0 => alloc::format!("[{}]", Ipv6Addr::from(u.arbitrary::<u128>()?)).into_bytes(),
            1 => alloc::format!("{}", Ipv4Addr::from(u.arbitrary::<u32>()?)).into_bytes(),
            _ => from_charset(u, b"abcdefxyz0129-.", 1, 40)?,
        };
        build(HostName::new(Bytes::from(v)))
    }
}

impl<'a> Arbitrary<'a> for FactList {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(FactList::new(Bytes::from(from_charset(u, b"modify=20240101;UNIX.mode=0755;create", 1, 40)?)))
    }
}

impl<'a> Arbitrary<'a> for Timestamp {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let year = u.int_in_range(0..=9999)?;
        let month = u.int_in_range(1..=12)?;
        let day = u.int_in_range(1..=28)?;
        let t = build(Timestamp::new(
            year,
            month,
            day,
            u.int_in_range(0..=23)?,
            u.int_in_range(0..=59)?,
            u.int_in_range(0..=60)?,
        ))?;
        if u.arbitrary()? {
            let digits = u.int_in_range(1u8..=9)?;
            let value = u.int_in_range(0..=10u32.pow(u32::from(digits)) - 1)?;
            build(t.with_fraction(value, digits))
        } else {
            Ok(t)
        }
    }
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Secret<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Secret::new(T::arbitrary(u)?))
    }
}

impl<'a> Arbitrary<'a> for Opts {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let options: Option<Text> = u.arbitrary()?;
        Ok(Opts::new(u.arbitrary()?, options))
    }
}

impl<'a> Arbitrary<'a> for ExtensionCommand {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(ExtensionCommand::new(u.arbitrary()?, u.arbitrary()?))
    }
}

impl<'a> Arbitrary<'a> for ReplyCode {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        build(ReplyCode::new(u.int_in_range(100..=699)?))
    }
}

impl<'a> Arbitrary<'a> for Reply {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let code = u.arbitrary()?;
        let n = u.int_in_range(1usize..=6)?;
        let lines = (0..n).map(|_| Text::arbitrary(u)).collect::<Result<Vec<_>>>()?;
        build(Reply::multiline(code, lines))
    }
}

fn ext_addr(u: &mut Unstructured<'_>) -> Result<SocketAddr> {
    let port = u.int_in_range(1..=u16::MAX)?;
    Ok(if u.arbitrary()? {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(u.arbitrary::<u32>()?), port))
    } else {
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(u.arbitrary::<u128>()?), port, 0, 0))
    })
}

/// Text for a verb whose argument is required: never empty.
fn required_text(u: &mut Unstructured<'_>) -> Result<Text> {
    build(Text::new(Bytes::from(safe_bytes(u, 1, 40)?)))
}

fn opt<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>) -> Result<Option<T>> {
    u.arbitrary()
}

impl<'a> Arbitrary<'a> for Command {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        use Command as C;
        use CommandKind as K;
        let a = |u: &mut Unstructured<'a>| Pathname::arbitrary(u);
        // One kind from the table, or (as often as any one kind) an
        // extension command; the match is exhaustive, so a new row in the
        // verb table does not compile until it is generated here too.
        let Some(&kind) = CommandKind::ALL.get(u.choose_index(CommandKind::ALL.len() + 1)?) else {
            return Ok(C::Other(u.arbitrary()?));
        };
        Ok(match kind {
            K::User => C::User(u.arbitrary()?),
            K::Pass => C::Pass(u.arbitrary()?),
            K::Acct => C::Acct(Secret::new(required_text(u)?)),
            K::Cwd => C::Cwd(a(u)?),
            K::Cdup => C::Cdup,
            K::Smnt => C::Smnt(a(u)?),
            K::Rein => C::Rein,
            K::Quit => C::Quit,
            K::Port => C::Port(SocketAddrV4::new(Ipv4Addr::from(u.arbitrary::<u32>()?), u.arbitrary()?)),
            K::Pasv => C::Pasv,
            K::Type => C::Type(u.arbitrary()?),
            K::Stru => C::Stru(u.arbitrary()?),
            K::Mode => C::Mode(u.arbitrary()?),
            K::Retr => C::Retr(a(u)?),
            K::Stor => C::Stor(a(u)?),
            K::Stou => C::Stou(opt(u)?),
            K::Appe => C::Appe(a(u)?),
            K::Allo => C::Allo(Allocation::arbitrary(u)?),
            K::Rest => C::Rest(u.arbitrary()?),
            K::Rnfr => C::Rnfr(a(u)?),
            K::Rnto => C::Rnto(a(u)?),
            K::Abor => C::Abor,
            K::Dele => C::Dele(a(u)?),
            K::Rmd => C::Rmd(a(u)?),
            K::Mkd => C::Mkd(a(u)?),
            K::Pwd => C::Pwd,
            K::List => C::List(opt(u)?),
            K::Nlst => C::Nlst(opt(u)?),
            K::Site => C::Site(required_text(u)?),
            K::Syst => C::Syst,
            K::Stat => C::Stat(opt(u)?),
            K::Help => C::Help(opt::<Text>(u)?.filter(|t| !t.as_bytes().iter().all(|&b| b == b' '))),
            K::Noop => C::Noop,
            K::Auth => C::Auth(u.arbitrary()?),
            K::Adat => C::Adat(u.arbitrary()?),
            K::Prot => C::Prot(u.arbitrary()?),
            K::Pbsz => C::Pbsz(u.arbitrary()?),
            K::Ccc => C::Ccc,
            K::Mic => C::Mic(u.arbitrary()?),
            K::Conf => C::Conf(u.arbitrary()?),
            K::Enc => C::Enc(u.arbitrary()?),
            K::Feat => C::Feat,
            K::Opts => C::Opts(u.arbitrary()?),
            K::Eprt => C::Eprt(ext_addr(u)?),
            K::Epsv => C::Epsv(EpsvArg::arbitrary(u)?),
            K::Lang => C::Lang(opt(u)?),
            K::Size => C::Size(a(u)?),
            K::Mdtm => C::Mdtm(a(u)?),
            K::Mlst => C::Mlst(opt(u)?),
            K::Mlsd => C::Mlsd(opt(u)?),
            K::Host => C::Host(u.arbitrary()?),
            K::Mfmt => C::Mfmt(u.arbitrary()?, a(u)?),
            K::Mfct => C::Mfct(u.arbitrary()?, a(u)?),
            K::Mff => C::Mff(u.arbitrary()?, a(u)?),
            K::Hash => C::Hash(a(u)?),
            K::Xcwd => C::Xcwd(a(u)?),
            K::Xcup => C::Xcup,
            K::Xmkd => C::Xmkd(a(u)?),
            K::Xrmd => C::Xrmd(a(u)?),
            K::Xpwd => C::Xpwd,
        })
    }
}
