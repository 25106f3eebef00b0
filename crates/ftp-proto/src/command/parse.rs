//! The command grammar: one complete line in, one [`Command`] out.
//!
//! RFC 959 5.3.1: `<verb> [<SP> <argument>] <CRLF>`, verbs case-insensitive.
//! Framing (line ends, Telnet) is done before this point by the line decoder.
//!
//! The grammar checks the whole line in place, on ranges of its buffer, and
//! hands what it found to a [`Build`]: [`Owned`] makes the [`Command`]
//! (zero-copy slices of the line's buffer, nothing checked again), [`Check`]
//! makes nothing, for [`CommandRef`](super::CommandRef), which takes no
//! reference count and allocates nothing.

use bytes::Bytes;
use core::num::NonZeroU8;

use super::table::{Arity, CommandKind as Kind, Shape, classify, from_word};
use super::{
    Allocation, Command, ExtensionCommand, FormatControl, Opts, ProtectionLevel, Structure, TransferMode, TransferType,
};
use crate::addr::{self, AddrError, EpsvArg, NetProto};
use crate::error::{ParseError, ValidationError};
use crate::line::LineRef;
use crate::options::ParseOptions;
use crate::secret::Secret;
use crate::text::{self, Base64, FactList, HostName, LangTag, Mechanism, Password, Pathname, Text, Username, Verb};
use crate::time::Timestamp;

/// A range `start..end` of the line's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    #[inline]
    fn of(self, chunk: &[u8]) -> &[u8] {
        &chunk[self.start..self.end]
    }

    #[inline]
    fn slice(self, chunk: &Bytes) -> Bytes {
        chunk.slice(self.start..self.end)
    }

    /// The part after the first `at` bytes.
    #[inline]
    fn from(self, at: usize) -> Self {
        Self { start: self.start + at, end: self.end }
    }

    /// The first `len` bytes.
    #[inline]
    fn to(self, len: usize) -> Self {
        Self { start: self.start, end: self.start + len }
    }
}

/// What the grammar produces once a line has passed its checks: the owned
/// [`Command`] ([`Owned`]), or nothing at all ([`Check`], for
/// [`CommandRef`](super::CommandRef), which builds the command later).
/// One grammar, two outputs: the compiler makes a copy of [`parse`] for
/// each, so neither pays for the other.
pub(crate) trait Build {
    /// The result of a line.
    type Out;
    /// A command that holds no bytes of the line (`NOOP`, `PORT`,
    /// `TYPE I`, `LIST` without argument), made by `make` (whose values
    /// are read already: a builder that makes nothing never calls it).
    fn done(&self, make: impl FnOnce() -> Command) -> Self::Out;
    /// A command of one checked argument, which `make` builds from the
    /// argument's bytes (and the line's `clean` flag).
    fn arg(&self, arg: Span, make: impl FnOnce(Bytes, bool) -> Command) -> Self::Out;
    /// `MFMT` / `MFCT`: the time, and the pathname.
    fn timed(&self, time: Timestamp, path: Span, make: fn(Timestamp, Pathname) -> Command) -> Self::Out;
    /// `MFF`: the facts and the pathname.
    fn facts(&self, facts: Span, path: Span) -> Self::Out;
    /// `OPTS`: the command name and the options (none when empty).
    fn opts(&self, name: Span, options: Option<Span>) -> Self::Out;
    /// An extension command: the verb and the argument (none when empty).
    fn other(&self, verb: Span, argument: Option<Span>) -> Self::Out;
    /// What a builder that makes nothing makes, when it is one
    /// ([`MAKES_NOTHING`](Self::MAKES_NOTHING)); `None` for one that builds.
    fn nothing(&self) -> Option<Self::Out>;
    /// Whether the builder makes nothing: then the verbs of a common shape
    /// are checked by their shape ([`check_shape`]), the choice made when
    /// the grammar is compiled for it.
    const MAKES_NOTHING: bool;
}

/// Builds the owned command: nothing is checked again; arguments are
/// zero-copy slices of `chunk` (a pathname with a `CR NUL` escape is the one
/// copy).
pub(crate) struct Owned<'a> {
    pub(crate) chunk: &'a Bytes,
    pub(crate) clean: bool,
}

impl Build for Owned<'_> {
    type Out = Command;
    const MAKES_NOTHING: bool = false;

    #[inline]
    fn done(&self, make: impl FnOnce() -> Command) -> Command {
        make()
    }

    #[inline]
    fn arg(&self, arg: Span, make: impl FnOnce(Bytes, bool) -> Command) -> Command {
        make(arg.slice(self.chunk), self.clean)
    }

    #[inline]
    fn timed(&self, time: Timestamp, path: Span, make: fn(Timestamp, Pathname) -> Command) -> Command {
        make(time, owned_path(path.slice(self.chunk), self.clean))
    }

    #[inline]
    fn facts(&self, facts: Span, path: Span) -> Command {
        Command::Mff(FactList::trusted(facts.slice(self.chunk)), owned_path(path.slice(self.chunk), self.clean))
    }

    #[inline]
    fn opts(&self, name: Span, options: Option<Span>) -> Command {
        Command::Opts(Opts::new(
            Verb::trusted(name.slice(self.chunk)),
            options.map(|o| Text::trusted(o.slice(self.chunk))),
        ))
    }

    #[inline]
    fn other(&self, verb: Span, argument: Option<Span>) -> Command {
        Command::Other(ExtensionCommand {
            verb: Verb::trusted(verb.slice(self.chunk)),
            argument: argument.map(|a| Text::trusted(a.slice(self.chunk))),
        })
    }
    #[inline]
    fn nothing(&self) -> Option<Command> {
        None
    }
}

/// Builds nothing: the line is only checked.
pub(crate) struct Check;

impl Build for Check {
    type Out = ();
    const MAKES_NOTHING: bool = true;

    #[inline]
    fn done(&self, _: impl FnOnce() -> Command) {}

    #[inline]
    fn arg(&self, _: Span, _: impl FnOnce(Bytes, bool) -> Command) {}

    #[inline]
    fn timed(&self, _: Timestamp, _: Span, _: fn(Timestamp, Pathname) -> Command) {}

    #[inline]
    fn facts(&self, _: Span, _: Span) {}

    #[inline]
    fn opts(&self, _: Span, _: Option<Span>) {}

    #[inline]
    fn other(&self, _: Span, _: Option<Span>) {}

    #[inline]
    fn nothing(&self) -> Option<()> {
        Some(())
    }
}

/// A checked line: the verb's kind (`None` for an extension verb), the
/// verb's length, the argument the grammar took (after the leniency rules:
/// `NOOP ` has none), and what the builder made of it.
pub(crate) struct Line<T> {
    pub(crate) kind: Option<Kind>,
    pub(crate) verb_len: usize,
    pub(crate) arg: Option<Span>,
    pub(crate) out: T,
}

#[inline]
fn required(verb: &'static str, arg: Option<Span>) -> Result<Span, ParseError> {
    arg.ok_or(ParseError::MissingArgument { verb })
}

#[inline]
fn invalid(verb: &'static str, reason: &'static str, at: usize) -> ParseError {
    ParseError::InvalidArgument { verb, reason, at }
}

fn from_validation(verb: &'static str, reason: &'static str) -> impl Fn(ValidationError) -> ParseError {
    move |e| invalid(verb, reason, e.at)
}

fn is_blank(arg: &[u8]) -> bool {
    arg.iter().all(|&b| b == b' ')
}

/// Checks one line, and has `b` build what it makes of it.
#[inline]
pub(crate) fn parse<B: Build>(line: LineRef<'_>, options: &ParseOptions, b: &B) -> Result<Line<B::Out>, ParseError> {
    let LineRef { chunk, start, end, clean } = line;
    let bytes = line.bytes();
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let whole = Span { start, end };
    let (kind, verb_len) = match known_verb(chunk, start, bytes.len()) {
        Some(known) => known,
        None => {
            // The verb is at most MAX_VERB_LEN bytes: look for its space only there.
            let sp = bytes.iter().take(text::MAX_VERB_LEN + 1).position(|&b| b == b' ');
            let verb_len = sp.unwrap_or(bytes.len());
            let Some(kind) = classify(&bytes[..verb_len])? else {
                text::check_verb(&bytes[..verb_len]).map_err(|e| ParseError::BadVerb { at: e.at })?;
                let argument = sp.map(|sp| whole.from(sp + 1));
                if let Some(arg) = argument {
                    Text::check_line(arg.of(chunk), clean)
                        .map_err(|e| invalid("extension", "text without line breaks", e.at))?;
                }
                let argument = argument.filter(|a| a.start < a.end);
                let out = b.other(whole.to(verb_len), argument);
                return Ok(Line { kind: None, verb_len, arg: argument, out });
            };
            (kind, verb_len)
        }
    };
    // `bytes[verb_len]`, when there, is the space after the verb.
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
    let arg = keep.then(|| whole.from(verb_len + 1));
    let out = if B::MAKES_NOTHING
        && let Some(nothing) = b.nothing()
        && check_shape(kind, chunk, arg, clean)?
    {
        nothing
    } else {
        parse_known(kind, chunk, arg, clean, b)?
    };
    Ok(Line { kind: Some(kind), verb_len, arg, out })
}

/// The known verb that starts a line of `len` bytes at `chunk[start..]`,
/// and its length, from one 8-byte load: its first four bytes, case
/// folded, are looked up as one key ([`from_word`]), and the verb must end
/// at the line's end or at a space. A match proves the verb valid (only
/// ASCII letters fold onto the letters of a known verb), so the
/// byte-by-byte check of [`classify`] is left to the lines this cannot
/// decide: unknown or malformed verbs, and the last few bytes of a buffer.
#[inline(always)]
fn known_verb(chunk: &[u8], start: usize, len: usize) -> Option<(Kind, usize)> {
    let word: [u8; 8] = chunk.get(start..start + 8)?.try_into().ok()?;
    let word = u64::from_le_bytes(word);
    let (kind, verb_len) = from_word(word)?;
    let next = (word >> (8 * verb_len)) as u8;
    (verb_len == len || (verb_len < len && next == b' ')).then_some((kind, verb_len))
}

/// For a builder that makes nothing: checks the argument of the verbs
/// whose grammar is one of the common shapes (none, a pathname, an optional
/// pathname) by that shape, with no dispatch on the verb itself; `false`
/// for the others, which [`parse_known`] checks.
#[inline(always)]
fn check_shape(kind: Kind, chunk: &[u8], arg: Option<Span>, clean: bool) -> Result<bool, ParseError> {
    match kind.shape() {
        Shape::None => Ok(true),
        Shape::Path => path(kind.name(), chunk, arg, clean).map(|_| true),
        Shape::OptionalPath => match arg {
            None => Ok(true),
            Some(_) => path(kind.name(), chunk, arg, clean).map(|_| true),
        },
        Shape::Other => Ok(false),
    }
}

/// The owned command of a line [`parse`] has accepted, from what it
/// returned: the grammar runs once more over the same bytes, building. It
/// accepted them before, so this does not fail; the error is passed on
/// rather than turned into a panic (the codec never panics on input).
pub(crate) fn rebuild(
    chunk: &Bytes,
    kind: Option<Kind>,
    verb: Span,
    arg: Option<Span>,
    clean: bool,
) -> Result<Command, ParseError> {
    let build = Owned { chunk, clean };
    match kind {
        None => Ok(build.other(verb, arg)),
        Some(kind) => parse_known(kind, chunk, arg, clean, &build),
    }
}

/// A pathname argument, checked.
#[inline(always)]
fn path(verb: &'static str, chunk: &[u8], arg: Option<Span>, clean: bool) -> Result<Span, ParseError> {
    let arg = required(verb, arg)?;
    check_path(verb, arg.of(chunk), clean)?;
    Ok(arg)
}

#[inline(always)]
fn check_path(verb: &'static str, arg: &[u8], clean: bool) -> Result<(), ParseError> {
    Pathname::check_wire(arg, clean).map_err(from_validation(verb, "a pathname (CR only as CR NUL)"))
}

/// An optional pathname: `none` without one, else what `make` builds.
#[inline]
fn opt_path<B: Build>(
    build: &B,
    verb: &'static str,
    chunk: &[u8],
    arg: Option<Span>,
    clean: bool,
    none: impl FnOnce() -> Command,
    make: impl FnOnce(Bytes, bool) -> Command,
) -> Result<B::Out, ParseError> {
    Ok(match arg {
        None => build.done(none),
        Some(_) => build.arg(path(verb, chunk, arg, clean)?, make),
    })
}

/// A free-text argument, checked.
#[inline]
fn text_arg(verb: &'static str, chunk: &[u8], arg: Option<Span>, clean: bool) -> Result<Span, ParseError> {
    let arg = required(verb, arg)?;
    Text::check_line(arg.of(chunk), clean).map_err(from_validation(verb, "text without line breaks"))?;
    Ok(arg)
}

/// An argument checked by `check`, whose error says `reason`.
#[inline]
fn typed_arg(
    verb: &'static str,
    chunk: &[u8],
    arg: Span,
    clean: bool,
    check: fn(&[u8], bool) -> Result<(), ValidationError>,
    reason: &'static str,
) -> Result<Span, ParseError> {
    check(arg.of(chunk), clean).map_err(from_validation(verb, reason))?;
    Ok(arg)
}

#[inline(always)]
fn owned_path(bytes: Bytes, clean: bool) -> Pathname {
    Pathname::from_checked_wire(bytes, clean)
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

/// The argument grammar of each known verb, checked in place.
#[inline]
fn parse_known<B: Build>(
    kind: Kind,
    chunk: &[u8],
    arg: Option<Span>,
    clean: bool,
    build: &B,
) -> Result<B::Out, ParseError> {
    let verb = kind.name();
    let bytes = |arg: Option<Span>| required(verb, arg).map(|a| a.of(chunk));
    Ok(match kind {
        Kind::User => build.arg(
            typed_arg(verb, chunk, required(verb, arg)?, clean, Username::check_line, "a user name of 1-256 bytes")?,
            |b, _| Command::User(Username::trusted(b)),
        ),
        Kind::Pass => match arg {
            None => build.done(|| Command::Pass(Secret::new(Password::trusted(Bytes::new())))),
            Some(arg) => build.arg(
                typed_arg(verb, chunk, arg, clean, Password::check_line, "a password of at most 1024 bytes")?,
                |b, _| Command::Pass(Secret::new(Password::trusted(b))),
            ),
        },
        Kind::Acct => {
            build.arg(text_arg(verb, chunk, arg, clean)?, |b, _| Command::Acct(Secret::new(Text::trusted(b))))
        }
        Kind::Cwd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Cwd(owned_path(b, c))),
        Kind::Cdup => build.done(|| Command::Cdup),
        Kind::Smnt => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Smnt(owned_path(b, c))),
        Kind::Rein => build.done(|| Command::Rein),
        Kind::Quit => build.done(|| Command::Quit),
        Kind::Port => {
            let value = addr::parse_host_port(bytes(arg)?).map_err(|e| addr_error(verb, e))?;
            build.done(move || Command::Port(value))
        }
        Kind::Pasv => build.done(|| Command::Pasv),
        Kind::Type => {
            let value = parse_type(bytes(arg)?)?;
            build.done(move || Command::Type(value))
        }
        Kind::Stru => {
            let value = match letter(verb, bytes(arg)?)? {
                b'F' => Structure::File,
                b'R' => Structure::Record,
                b'P' => Structure::Page,
                _ => return Err(ParseError::UnsupportedParameter { verb }),
            };
            build.done(move || Command::Stru(value))
        }
        Kind::Mode => {
            let value = match letter(verb, bytes(arg)?)? {
                b'S' => TransferMode::Stream,
                b'B' => TransferMode::Block,
                b'C' => TransferMode::Compressed,
                b'Z' => TransferMode::Deflate,
                _ => return Err(ParseError::UnsupportedParameter { verb }),
            };
            build.done(move || Command::Mode(value))
        }
        Kind::Retr => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Retr(owned_path(b, c))),
        Kind::Stor => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Stor(owned_path(b, c))),
        Kind::Stou => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::Stou(None),
            |b, c| Command::Stou(Some(owned_path(b, c))),
        )?,
        Kind::Appe => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Appe(owned_path(b, c))),
        Kind::Allo => {
            let value = parse_allo(bytes(arg)?)?;
            build.done(move || Command::Allo(value))
        }
        Kind::Rest => {
            let value = decimal(verb, bytes(arg)?, 20, "a byte offset 0-18446744073709551615")?;
            build.done(move || Command::Rest(value))
        }
        Kind::Rnfr => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Rnfr(owned_path(b, c))),
        Kind::Rnto => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Rnto(owned_path(b, c))),
        Kind::Abor => build.done(|| Command::Abor),
        Kind::Dele => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Dele(owned_path(b, c))),
        Kind::Rmd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Rmd(owned_path(b, c))),
        Kind::Mkd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Mkd(owned_path(b, c))),
        Kind::Pwd => build.done(|| Command::Pwd),
        Kind::List => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::List(None),
            |b, c| Command::List(Some(owned_path(b, c))),
        )?,
        Kind::Nlst => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::Nlst(None),
            |b, c| Command::Nlst(Some(owned_path(b, c))),
        )?,
        Kind::Site => build.arg(text_arg(verb, chunk, arg, clean)?, |b, _| Command::Site(Text::trusted(b))),
        Kind::Syst => build.done(|| Command::Syst),
        Kind::Stat => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::Stat(None),
            |b, c| Command::Stat(Some(owned_path(b, c))),
        )?,
        Kind::Help => match arg {
            None => build.done(|| Command::Help(None)),
            Some(_) => build.arg(text_arg(verb, chunk, arg, clean)?, |b, _| Command::Help(Some(Text::trusted(b)))),
        },
        Kind::Noop => build.done(|| Command::Noop),
        Kind::Auth => build.arg(
            typed_arg(verb, chunk, required(verb, arg)?, clean, Mechanism::check_line, "a mechanism name")?,
            |b, _| Command::Auth(Mechanism::trusted(b)),
        ),
        Kind::Adat => build
            .arg(typed_arg(verb, chunk, required(verb, arg)?, clean, Base64::check_line, "base64 data")?, |b, _| {
                Command::Adat(Secret::new(Base64::trusted(b)))
            }),
        Kind::Prot => {
            let value = match letter(verb, bytes(arg)?)? {
                b'C' => ProtectionLevel::Clear,
                b'S' => ProtectionLevel::Safe,
                b'E' => ProtectionLevel::Confidential,
                b'P' => ProtectionLevel::Private,
                _ => return Err(ParseError::UnsupportedParameter { verb }),
            };
            build.done(move || Command::Prot(value))
        }
        Kind::Pbsz => {
            let value = decimal(verb, bytes(arg)?, 10, "a decimal 0-4294967295")?;
            build.done(move || Command::Pbsz(value))
        }
        Kind::Ccc => build.done(|| Command::Ccc),
        Kind::Mic => build
            .arg(typed_arg(verb, chunk, required(verb, arg)?, clean, Base64::check_line, "base64 data")?, |b, _| {
                Command::Mic(Base64::trusted(b))
            }),
        Kind::Conf => build
            .arg(typed_arg(verb, chunk, required(verb, arg)?, clean, Base64::check_line, "base64 data")?, |b, _| {
                Command::Conf(Base64::trusted(b))
            }),
        Kind::Enc => build
            .arg(typed_arg(verb, chunk, required(verb, arg)?, clean, Base64::check_line, "base64 data")?, |b, _| {
                Command::Enc(Base64::trusted(b))
            }),
        Kind::Feat => build.done(|| Command::Feat),
        Kind::Opts => {
            let (name, options) = parse_opts(chunk, required(verb, arg)?, clean)?;
            build.opts(name, options)
        }
        Kind::Eprt => {
            let value = addr::parse_eprt(bytes(arg)?).map_err(|e| addr_error(verb, e))?;
            build.done(move || Command::Eprt(value))
        }
        Kind::Epsv => {
            let value = match arg.map(|a| a.of(chunk)) {
                None => EpsvArg::Any,
                Some(b"1") => EpsvArg::Protocol(NetProto::Ipv4),
                Some(b"2") => EpsvArg::Protocol(NetProto::Ipv6),
                Some(all) if all.eq_ignore_ascii_case(b"ALL") => EpsvArg::All,
                Some(p) if addr::parse_decimal(p, 5).is_some() => return Err(ParseError::UnsupportedProtocol { verb }),
                Some(_) => return Err(invalid(verb, "1, 2 or ALL", 0)),
            };
            build.done(move || Command::Epsv(value))
        }
        Kind::Lang => match arg {
            None => build.done(|| Command::Lang(None)),
            Some(arg) => build
                .arg(typed_arg(verb, chunk, arg, clean, LangTag::check_line, "a language tag")?, |b, _| {
                    Command::Lang(Some(LangTag::trusted(b)))
                }),
        },
        Kind::Size => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Size(owned_path(b, c))),
        Kind::Mdtm => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Mdtm(owned_path(b, c))),
        Kind::Mlst => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::Mlst(None),
            |b, c| Command::Mlst(Some(owned_path(b, c))),
        )?,
        Kind::Mlsd => opt_path(
            build,
            verb,
            chunk,
            arg,
            clean,
            || Command::Mlsd(None),
            |b, c| Command::Mlsd(Some(owned_path(b, c))),
        )?,
        Kind::Host => build.arg(
            typed_arg(
                verb,
                chunk,
                required(verb, arg)?,
                clean,
                HostName::check_line,
                "a host name or address literal",
            )?,
            |b, _| Command::Host(HostName::trusted(b)),
        ),
        Kind::Mfmt => {
            let (time, path) = parse_time_path(verb, chunk, required(verb, arg)?, clean)?;
            build.timed(time, path, Command::Mfmt)
        }
        Kind::Mfct => {
            let (time, path) = parse_time_path(verb, chunk, required(verb, arg)?, clean)?;
            build.timed(time, path, Command::Mfct)
        }
        Kind::Mff => {
            let arg = required(verb, arg)?;
            let a = arg.of(chunk);
            let sp = memchr::memchr(b' ', a).ok_or(invalid(verb, "facts, a space and a pathname", a.len()))?;
            FactList::check_line(&a[..sp], clean).map_err(from_validation(verb, "fact=value; pairs"))?;
            let path = arg.from(sp + 1);
            check_path(verb, path.of(chunk), clean)?;
            build.facts(arg.to(sp), path)
        }
        Kind::Hash => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Hash(owned_path(b, c))),
        Kind::Xcwd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Xcwd(owned_path(b, c))),
        Kind::Xcup => build.done(|| Command::Xcup),
        Kind::Xmkd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Xmkd(owned_path(b, c))),
        Kind::Xrmd => build.arg(path(verb, chunk, arg, clean)?, |b, c| Command::Xrmd(owned_path(b, c))),
        Kind::Xpwd => build.done(|| Command::Xpwd),
    })
}

fn addr_error(verb: &'static str, e: AddrError) -> ParseError {
    match e {
        AddrError::Syntax(reason, at) => invalid(verb, reason, at),
        AddrError::Protocol => ParseError::UnsupportedProtocol { verb },
    }
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
fn parse_opts(chunk: &[u8], arg: Span, clean: bool) -> Result<(Span, Option<Span>), ParseError> {
    const V: &str = "OPTS";
    let a = arg.of(chunk);
    let (name, options) = match memchr::memchr(b' ', a) {
        Some(sp) => (arg.to(sp), Some(arg.from(sp + 1))),
        None => (arg, None),
    };
    text::check_verb(name.of(chunk)).map_err(from_validation(V, "a command name"))?;
    if let Some(options) = options {
        Text::check_line(options.of(chunk), clean).map_err(from_validation(V, "options without line breaks"))?;
    }
    Ok((name, options.filter(|o| o.start < o.end)))
}

/// draft-somers-ftp-mfxx: `MFMT <SP> time-val <SP> pathname`.
fn parse_time_path(verb: &'static str, chunk: &[u8], arg: Span, clean: bool) -> Result<(Timestamp, Span), ParseError> {
    let a = arg.of(chunk);
    let sp = memchr::memchr(b' ', a).ok_or(invalid(verb, "a time, a space and a pathname", a.len()))?;
    let time = Timestamp::parse(&a[..sp]).map_err(from_validation(verb, "a time YYYYMMDDHHMMSS[.sss]"))?;
    let path = arg.from(sp + 1);
    check_path(verb, path.of(chunk), clean)?;
    Ok((time, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-load verb lookup finds every verb, in either case, before a
    /// space or at the line's end, and nothing else: a longer word, or a
    /// verb followed by another byte, is left to the byte-by-byte path.
    #[test]
    fn known_verb_takes_whole_verbs_only() {
        use alloc::vec::Vec;
        let padded = |line: &[u8]| -> Vec<u8> { [line, b"\r\nNOOP\r\n"].concat() };
        for &kind in Kind::ALL {
            let name = kind.name().as_bytes();
            for verb in [name.to_vec(), name.to_ascii_lowercase()] {
                let with_arg = padded(&[&verb[..], b" x"].concat());
                assert_eq!(known_verb(&with_arg, 0, verb.len() + 2), Some((kind, verb.len())), "{kind}");
                let alone = padded(&verb);
                assert_eq!(known_verb(&alone, 0, verb.len()), Some((kind, verb.len())), "{kind}");
                let bare_lf = [&verb[..], b"\nNOOP\r\n"].concat();
                assert_eq!(known_verb(&bare_lf, 0, verb.len()), Some((kind, verb.len())), "{kind}");
                for next in [b'X', b'-', b'*', 0, b'\t', b'1'] {
                    let longer = padded(&[&verb[..], &[next], b" x"].concat());
                    assert_eq!(known_verb(&longer, 0, verb.len() + 3), None, "{kind} {next}");
                }
            }
        }
        // A CR inside the line after a three-letter verb is no line end.
        assert_eq!(known_verb(b"PWD\rx\r\nNOOP", 0, 5), None);
    }

    /// The verbs checked by their shape alone when nothing is built
    /// ([`check_shape`]) accept and refuse exactly the lines their own
    /// grammar does ([`parse_known`], through the owned decoder), with the
    /// same errors.
    #[test]
    fn shapes_agree_with_the_grammar() {
        use crate::CommandDecoder;
        use alloc::format;
        use alloc::vec::Vec;
        let arguments: &[&[u8]] = &[
            b"",
            b" ",
            b"  ",
            b"a",
            b"a b",
            b"My Documents/r\xe9sum\xe9.pdf",
            b"a\r\0b",
            b"a\rb",
            b"\r",
            b"\t",
            b"\0",
        ];
        for options in
            [ParseOptions::default(), ParseOptions::default().allow_trailing_space(false), ParseOptions::strict()]
        {
            for &kind in Kind::ALL.iter().filter(|k| k.shape() != super::super::table::Shape::Other) {
                let mut lines: Vec<Vec<u8>> = alloc::vec![kind.name().as_bytes().to_vec()];
                lines.extend(arguments.iter().map(|a| [kind.name().as_bytes(), b" ", a].concat()));
                lines.extend(lines.clone().iter().map(|l| l.to_ascii_lowercase()));
                for line in lines {
                    let wire = [&line[..], b"\r\n"].concat();
                    let mut owned = CommandDecoder::new(options.clone());
                    let mut borrowed = CommandDecoder::new(options.clone());
                    let want = owned.decode(&mut bytes::BytesMut::from(&wire[..]));
                    let mut buf = bytes::BytesMut::from(&wire[..]);
                    let got = borrowed.decode_ref(&mut buf).map(|r| r.map(|c| c.to_command().expect("rebuilds")));
                    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{:?}", crate::text::Escaped(&line));
                }
            }
        }
    }

    /// Every verb of the issue's list (RFC 959 4.1, RFC 2228 3, RFC 2389,
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
