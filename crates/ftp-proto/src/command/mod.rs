//! Commands: the typed form of one control-connection line sent by a client.
//!
//! [`Command`] has one variant per verb of RFC 959 and its extensions, with
//! arguments typed where an RFC gives them a grammar. [`Command::parse`]
//! reads one complete line (see [`CommandDecoder`] for a byte stream) and
//! [`Command::encode`] writes one, CRLF included; it cannot fail because
//! every argument was validated when it was built.

mod decoder;
mod encode;
mod parse;
mod table;

use core::net::{SocketAddr, SocketAddrV4};

use bytes::Bytes;

pub use decoder::{CommandDecoder, CommandRef};
pub use table::CommandKind;

use crate::addr::EpsvArg;
use crate::error::{ValidationError, ValidationErrorKind};
use crate::secret::Secret;
use crate::text::{Base64, FactList, HostName, LangTag, Mechanism, Password, Pathname, Text, Username, Verb};
use crate::time::Timestamp;

/// The format control of `TYPE A` and `TYPE E` (RFC 959 3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum FormatControl {
    /// `N`: non-print (the default).
    NonPrint,
    /// `T`: Telnet format effectors.
    Telnet,
    /// `C`: ASA carriage control.
    Carriage,
}

/// The representation type of `TYPE` (RFC 959 3.1.1, 5.3.2 `<type-code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum TransferType {
    /// `A [form]`: ASCII, line ends converted to CRLF on the wire.
    Ascii(Option<FormatControl>),
    /// `E [form]`: EBCDIC.
    Ebcdic(Option<FormatControl>),
    /// `I`: image (binary), bytes as they are.
    Image,
    /// `L n`: local byte size `n` (1 to 255); `L 8` is binary.
    Local(core::num::NonZeroU8),
}

impl TransferType {
    /// Whether a transfer in this type moves bytes unchanged (`I`, `L 8`).
    #[must_use]
    pub fn is_binary(&self) -> bool {
        match self {
            Self::Image => true,
            Self::Local(n) => n.get() == 8,
            _ => false,
        }
    }
}

/// The file structure of `STRU` (RFC 959 3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Structure {
    /// `F`: file (no record structure), the default.
    File,
    /// `R`: record structure.
    Record,
    /// `P`: page structure.
    Page,
}

/// The transfer mode of `MODE` (RFC 959 3.4, and `Z` from
/// draft-preston-ftpext-deflate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum TransferMode {
    /// `S`: stream, the default.
    Stream,
    /// `B`: block.
    Block,
    /// `C`: compressed.
    Compressed,
    /// `Z`: deflate.
    Deflate,
}

/// The data channel protection level of `PROT` (RFC 2228 section 3,
/// RFC 4217 section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum ProtectionLevel {
    /// `C`: clear.
    Clear,
    /// `S`: safe (integrity only).
    Safe,
    /// `E`: confidential.
    Confidential,
    /// `P`: private (integrity and confidentiality; TLS).
    Private,
}

/// The arguments of `ALLO` (RFC 959 4.1.3): `ALLO n [R m]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Allocation {
    /// Bytes to reserve.
    pub size: u64,
    /// Maximum record or page size, for record or page structure.
    pub record_size: Option<u64>,
}

/// The arguments of `OPTS` (RFC 2389 section 4): a command name and its
/// options, such as `OPTS UTF8 ON` or `OPTS MLST type;size;`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Opts {
    command: Verb,
    options: Option<Text>,
}

impl Opts {
    /// Options for `command`; empty options are the same as none.
    #[must_use]
    pub fn new(command: Verb, options: Option<Text>) -> Self {
        Self { command, options: options.filter(|t| !t.is_empty()) }
    }
    /// The command the options are for (`UTF8`, `MLST`).
    #[must_use]
    pub fn command(&self) -> &Verb {
        &self.command
    }
    /// The options, if any (`ON`, `type;size;`).
    #[must_use]
    pub fn options(&self) -> Option<&Text> {
        self.options.as_ref()
    }
}

/// A command this codec has no variant for: kept whole, so a server can
/// answer 502 and a client can send extensions (`CLNT`, `AVBL`, `XCRC`...).
///
/// Its verb is never one of the verbs [`Command`] knows: those always parse
/// into their own variant, or into an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionCommand {
    verb: Verb,
    argument: Option<Text>,
}

impl ExtensionCommand {
    /// An extension command; an empty argument is the same as none.
    ///
    /// # Errors
    /// [`ValidationErrorKind::KnownVerb`] when `verb` names a command
    /// [`Command`] has a variant for.
    pub fn new(verb: Verb, argument: Option<Text>) -> Result<Self, ValidationError> {
        if table::lookup(verb.as_bytes()).is_some() {
            return Err(ValidationError::new(ValidationErrorKind::KnownVerb, 0));
        }
        Ok(Self { verb, argument: argument.filter(|t| !t.is_empty()) })
    }
    /// The verb, as sent.
    #[must_use]
    pub fn verb(&self) -> &Verb {
        &self.verb
    }
    /// The argument, if any.
    #[must_use]
    pub fn argument(&self) -> Option<&Text> {
        self.argument.as_ref()
    }
}

/// One FTP command.
///
/// Sources of the verbs: RFC 959 section 4.1 (access control, transfer
/// parameters, service commands), RFC 2228 section 3 (security), RFC 2389
/// (FEAT, OPTS), RFC 2428 (EPRT, EPSV), RFC 2640 (LANG), RFC 3659 (SIZE,
/// MDTM, MLST, MLSD, REST in stream mode), RFC 7151 (HOST),
/// draft-somers-ftp-mfxx (MFMT, MFCT, MFF), draft-bryan-ftpext-hash (HASH),
/// and RFC 1123 4.1.3.1 (the `X` aliases from RFC 775).
///
/// An optional argument that is empty (or only spaces, with the default
/// leniency) reads as no argument: `HELP ` is `Help(None)`. With trailing
/// spaces refused ([`allow_trailing_space`]), `NLST  ` is `Nlst(Some(" "))`
/// (RFC 959 5.3.2: a pathname is any characters but CR and LF), which reads
/// back as itself only under the same option. Build optional arguments with
/// content, or `None`, for values that survive a round trip with every peer.
///
/// [`allow_trailing_space`]: crate::ParseOptions::allow_trailing_space
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ftp_proto::{Command, ParseOptions};
///
/// let cmd = Command::parse(&Bytes::from_static(b"RETR My File.txt"), &ParseOptions::default()).unwrap();
/// let Command::Retr(path) = &cmd else { panic!() };
/// assert_eq!(path.to_str(), Some("My File.txt"));
///
/// let mut out = BytesMut::new();
/// cmd.encode(&mut out);
/// assert_eq!(&out[..], b"RETR My File.txt\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    // RFC 959 4.1.1: access control.
    /// `USER name`.
    User(Username),
    /// `PASS password` (redacted in `Debug` and `Display`).
    Pass(Secret<Password>),
    /// `ACCT account` (redacted). The text must not be empty: `ACCT` needs
    /// an argument, so an empty one is a line the peer answers 501.
    Acct(Secret<Text>),
    /// `CWD path`.
    Cwd(Pathname),
    /// `CDUP`.
    Cdup,
    /// `SMNT path`.
    Smnt(Pathname),
    /// `REIN`: reinitialise the session.
    Rein,
    /// `QUIT`.
    Quit,
    // RFC 959 4.1.2: transfer parameters.
    /// `PORT h1,h2,h3,h4,p1,p2`.
    Port(SocketAddrV4),
    /// `PASV`.
    Pasv,
    /// `TYPE type`.
    Type(TransferType),
    /// `STRU structure`.
    Stru(Structure),
    /// `MODE mode`.
    Mode(TransferMode),
    // RFC 959 4.1.3: service commands.
    /// `RETR path`.
    Retr(Pathname),
    /// `STOR path`.
    Stor(Pathname),
    /// `STOU [path]` (RFC 959 has no argument; some clients send a name hint).
    Stou(Option<Pathname>),
    /// `APPE path`.
    Appe(Pathname),
    /// `ALLO n [R m]`.
    Allo(Allocation),
    /// `REST marker`: a byte offset in stream mode (RFC 3659 section 5).
    Rest(u64),
    /// `RNFR path`.
    Rnfr(Pathname),
    /// `RNTO path`.
    Rnto(Pathname),
    /// `ABOR`.
    Abor,
    /// `DELE path`.
    Dele(Pathname),
    /// `RMD path`.
    Rmd(Pathname),
    /// `MKD path`.
    Mkd(Pathname),
    /// `PWD`.
    Pwd,
    /// `LIST [path]` (the argument may hold `ls` options: data, never run).
    List(Option<Pathname>),
    /// `NLST [path]`.
    Nlst(Option<Pathname>),
    /// `SITE text`. The text must not be empty (RFC 959 5.3.1 grammar).
    Site(Text),
    /// `SYST`.
    Syst,
    /// `STAT [path]`.
    Stat(Option<Pathname>),
    /// `HELP [topic]`.
    Help(Option<Text>),
    /// `NOOP`.
    Noop,
    // RFC 2228: security extensions.
    /// `AUTH mechanism` (`AUTH TLS`, RFC 4217 section 4).
    Auth(Mechanism),
    /// `ADAT base64` (redacted).
    Adat(Secret<Base64>),
    /// `PROT level`.
    Prot(ProtectionLevel),
    /// `PBSZ size`: a decimal u32 (RFC 4217 requires 0).
    Pbsz(u32),
    /// `CCC`: clear the command channel.
    Ccc,
    /// `MIC base64`: an integrity-protected command.
    Mic(Base64),
    /// `CONF base64`: a confidentiality-protected command.
    Conf(Base64),
    /// `ENC base64`: a privacy-protected command.
    Enc(Base64),
    // RFC 2389.
    /// `FEAT`.
    Feat,
    /// `OPTS command [options]`.
    Opts(Opts),
    // RFC 2428.
    /// `EPRT |proto|addr|port|`.
    Eprt(SocketAddr),
    /// `EPSV [1|2|ALL]`.
    Epsv(EpsvArg),
    // RFC 2640.
    /// `LANG [tag]`.
    Lang(Option<LangTag>),
    // RFC 3659.
    /// `SIZE path`.
    Size(Pathname),
    /// `MDTM path`: always a query. A server that also sets times with
    /// `MDTM time path` can read the time from the path itself; the codec
    /// never guesses, because `MDTM 19990929043300 File6` may name a file
    /// called `19990929043300 File6`.
    Mdtm(Pathname),
    /// `MLST [path]`.
    Mlst(Option<Pathname>),
    /// `MLSD [path]`.
    Mlsd(Option<Pathname>),
    // RFC 7151.
    /// `HOST name`.
    Host(HostName),
    // draft-somers-ftp-mfxx.
    /// `MFMT time path`: set the modification time.
    Mfmt(Timestamp, Pathname),
    /// `MFCT time path`: set the creation time.
    Mfct(Timestamp, Pathname),
    /// `MFF facts path`: set several facts.
    Mff(FactList, Pathname),
    // draft-bryan-ftpext-hash.
    /// `HASH path`.
    Hash(Pathname),
    // RFC 775 aliases, still sent by some clients (RFC 1123 4.1.3.1).
    /// `XCWD path` (= CWD).
    Xcwd(Pathname),
    /// `XCUP` (= CDUP).
    Xcup,
    /// `XMKD path` (= MKD).
    Xmkd(Pathname),
    /// `XRMD path` (= RMD).
    Xrmd(Pathname),
    /// `XPWD` (= PWD).
    Xpwd,
    /// Any other verb, kept whole.
    Other(ExtensionCommand),
}

impl Command {
    /// Parses one complete line (without its line end).
    ///
    /// Only the first space separates the verb from its argument; the
    /// argument keeps every other byte, spaces included (RFC 959 5.3.2).
    ///
    /// # Errors
    /// [`ParseError`](crate::ParseError) saying what was wrong and which
    /// reply a server sends for it.
    pub fn parse(line: &Bytes, options: &crate::ParseOptions) -> Result<Self, crate::ParseError> {
        let whole = crate::line::LineRef { chunk: line, start: 0, end: line.len(), clean: false };
        Ok(parse::parse(whole, options, &parse::Owned { chunk: line, clean: false })?.out)
    }

    /// Writes the command and its CRLF. Cannot fail: every argument was
    /// validated when it was built. 0xFF bytes are doubled (RFC 959 3.2) and
    /// a CR in a pathname is written `CR NUL` (RFC 2640 3.1).
    pub fn encode(&self, dst: &mut bytes::BytesMut) {
        encode::encode(self, dst);
    }

    /// The verb: upper case for the verbs the codec knows; an extension verb
    /// as it was received (its encoding is upper case, and verbs compare
    /// case-insensitively).
    #[must_use]
    pub fn verb(&self) -> &str {
        match self {
            Self::Other(ext) => ext.verb.to_str().unwrap_or(""),
            known => known.kind().map_or("", CommandKind::name),
        }
    }

    /// The pathname argument, for the verbs whose argument is one
    /// ([`CommandKind::takes_pathname`]; `None` when an optional one was
    /// left out).
    #[must_use]
    pub fn pathname(&self) -> Option<&Pathname> {
        use Command as C;
        match self {
            C::Cwd(p)
            | C::Xcwd(p)
            | C::Smnt(p)
            | C::Retr(p)
            | C::Stor(p)
            | C::Appe(p)
            | C::Rnfr(p)
            | C::Rnto(p)
            | C::Dele(p)
            | C::Rmd(p)
            | C::Mkd(p)
            | C::Xmkd(p)
            | C::Xrmd(p)
            | C::Size(p)
            | C::Mdtm(p)
            | C::Hash(p)
            | C::Mfmt(_, p)
            | C::Mfct(_, p)
            | C::Mff(_, p) => Some(p),
            C::Stou(p) | C::List(p) | C::Nlst(p) | C::Stat(p) | C::Mlst(p) | C::Mlsd(p) => p.as_ref(),
            _ => None,
        }
    }

    /// Whether the command creates, changes or removes served files
    /// ([`CommandKind::writes`]): a server refuses it to read-only users.
    #[must_use]
    pub fn is_write(&self) -> bool {
        self.kind().is_some_and(CommandKind::writes)
    }

    /// Whether the command may be sent during a transfer and handled at once
    /// (RFC 959 4.1.3 and 5.4: ABOR, STAT, QUIT; SECURITY.md X2).
    #[must_use]
    pub fn is_out_of_band(&self) -> bool {
        matches!(self, Self::Abor | Self::Stat(None) | Self::Quit)
    }

    /// The RFC 959 command an RFC 775 alias stands for: `XCWD` is `CWD`,
    /// `XPWD` is `PWD`, and so on. Other commands are returned unchanged.
    #[must_use]
    pub fn canonical(self) -> Self {
        match self {
            Self::Xcwd(p) => Self::Cwd(p),
            Self::Xcup => Self::Cdup,
            Self::Xmkd(p) => Self::Mkd(p),
            Self::Xrmd(p) => Self::Rmd(p),
            Self::Xpwd => Self::Pwd,
            other => other,
        }
    }
}

impl core::fmt::Display for Command {
    /// The command line without its CRLF, secrets shown as `****`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut line = bytes::BytesMut::new();
        match self {
            Self::Pass(_) => return f.write_str("PASS ****"),
            Self::Acct(_) => return f.write_str("ACCT ****"),
            Self::Adat(_) => return f.write_str("ADAT ****"),
            _ => self.encode(&mut line),
        }
        line.truncate(line.len() - 2);
        core::fmt::Display::fmt(&crate::text::Escaped(&line), f)
    }
}
