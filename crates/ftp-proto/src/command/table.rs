//! The verb table: one row per verb the codec knows, and everything that
//! is a per-verb list generated from it.
//!
//! A row gives the [`Command`] variant (and the [`CommandKind`] of the same
//! name), the verb, how it takes its argument, and the facts other layers
//! ask about a verb: whether its argument is a pathname, whether a server
//! accepts it before login (SECURITY.md S1), whether it changes the
//! served files, and whether it leaves a `REST` marker in place.
//!
//! From the rows come [`CommandKind`], [`CommandKind::ALL`], the verb names,
//! the arities, the verb lookup (keys computed by [`key`] from the verb's
//! bytes at compile time, so no hand-written hex can disagree with a name),
//! the flags, and [`Command::kind`], whose generated `match` makes the
//! compiler check that the table and the [`Command`] enum list the same
//! verbs.
//!
//! # Adding a verb
//! 1. A variant in [`Command`] (with its argument types and rustdoc).
//! 2. A row here.
//! 3. Its argument parser in `parse.rs` (`parse_known`) and its encoder in
//!    `encode.rs` (`encode_argument`); both `match` on it, so the compiler
//!    points at them, as it does at the `Arbitrary` impl.
//! 4. Its handler in the server session and its test; the session's
//!    `match` on [`Command`] points at it too.

use super::Command;
use crate::error::ParseError;
use crate::text;

/// How a verb takes its argument (RFC 959 5.3.1 and the extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Arity {
    /// No argument (`PASV`, `QUIT`); one is a syntax error.
    None,
    /// An argument may follow (`LIST [path]`).
    Optional,
    /// An argument must follow (`RETR path`).
    Required,
}

/// The lookup key of a verb: its letters upper-cased (bit 5 cleared) and
/// packed little-endian into a `u64`, as [`classify`] computes it from the
/// wire. Digits fold to 0x10-0x19, which no known verb contains.
const fn key(verb: &str) -> u64 {
    let bytes = verb.as_bytes();
    let mut key = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        key |= ((bytes[i] & !0x20) as u64) << (8 * i);
        i += 1;
    }
    key
}

macro_rules! verbs {
    ($(
        $(#[$doc:meta])*
        $kind:ident $name:literal $arity:ident
            path: $path:literal, login: $login:literal, writes: $writes:literal, rest: $rest:literal;
    )*) => {
        /// Every verb the codec knows, without its argument: what a
        /// [`Command`] is, for code that decides by verb (the server's
        /// login gate, its write permission, its HELP list).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CommandKind {
            $($(#[$doc])* $kind,)*
        }

        impl CommandKind {
            /// Every kind, in table order (RFC 959 first).
            pub const ALL: &'static [CommandKind] = &[$(Self::$kind,)*];

            /// The verb in upper case.
            #[must_use]
            #[inline]
            pub const fn name(self) -> &'static str {
                match self { $(Self::$kind => $name,)* }
            }

            /// How the verb takes its argument.
            #[inline]
            pub(super) const fn arity(self) -> Arity {
                match self { $(Self::$kind => Arity::$arity,)* }
            }

            /// Whether the argument is a pathname (required or optional):
            /// what [`Command::pathname`] returns.
            #[must_use]
            pub const fn takes_pathname(self) -> bool {
                match self { $(Self::$kind => $path,)* }
            }

            /// Whether a server accepts the verb before login (SECURITY.md
            /// S1: an allow-list; everything else is 530).
            #[must_use]
            pub const fn allowed_before_login(self) -> bool {
                match self { $(Self::$kind => $login,)* }
            }

            /// Whether the verb creates, changes or removes served files,
            /// so that a read-only user is refused it.
            #[must_use]
            pub const fn writes(self) -> bool {
                match self { $(Self::$kind => $writes,)* }
            }

            /// Whether the verb, between `REST` and the transfer command,
            /// leaves the restart marker in place (a data-setup or
            /// parameter command, as vsftpd, proftpd and pyftpdlib keep it).
            #[must_use]
            pub const fn keeps_restart_marker(self) -> bool {
                match self { $(Self::$kind => $rest,)* }
            }
        }

        /// The keys of [`classify`], one per verb, named after its kind.
        #[allow(non_upper_case_globals)]
        mod keys {
            $(pub(super) const $kind: u64 = super::key($name);)*
        }

        /// Every key, in the order of [`CommandKind::ALL`].
        const KEYS: &[u64] = &[$(keys::$kind,)*];

        impl Command {
            /// The command's kind; `None` for an [`Other`](Command::Other)
            /// (extension) command.
            #[must_use]
            pub const fn kind(&self) -> Option<CommandKind> {
                match self {
                    $(Command::$kind { .. } => Some(CommandKind::$kind),)*
                    Command::Other(_) => None,
                }
            }
        }
    };
}

verbs! {
    // RFC 959 4.1.1: access control.
    /// `USER name`.
    User "USER" Required  path: false, login: true,  writes: false, rest: false;
    /// `PASS password`.
    Pass "PASS" Optional  path: false, login: true,  writes: false, rest: false;
    /// `ACCT account`.
    Acct "ACCT" Required  path: false, login: true,  writes: false, rest: false;
    /// `CWD path`.
    Cwd  "CWD"  Required  path: true,  login: false, writes: false, rest: false;
    /// `CDUP`.
    Cdup "CDUP" None      path: false, login: false, writes: false, rest: false;
    /// `SMNT path`.
    Smnt "SMNT" Required  path: true,  login: false, writes: false, rest: false;
    /// `REIN`.
    Rein "REIN" None      path: false, login: true,  writes: false, rest: false;
    /// `QUIT`.
    Quit "QUIT" None      path: false, login: true,  writes: false, rest: false;
    // RFC 959 4.1.2: transfer parameters.
    /// `PORT h1,h2,h3,h4,p1,p2`.
    Port "PORT" Required  path: false, login: false, writes: false, rest: true;
    /// `PASV`.
    Pasv "PASV" None      path: false, login: false, writes: false, rest: true;
    /// `TYPE type`.
    Type "TYPE" Required  path: false, login: false, writes: false, rest: true;
    /// `STRU structure`.
    Stru "STRU" Required  path: false, login: false, writes: false, rest: true;
    /// `MODE mode`.
    Mode "MODE" Required  path: false, login: false, writes: false, rest: true;
    // RFC 959 4.1.3: service commands.
    /// `RETR path`.
    Retr "RETR" Required  path: true,  login: false, writes: false, rest: false;
    /// `STOR path`.
    Stor "STOR" Required  path: true,  login: false, writes: true,  rest: false;
    /// `STOU [path]`.
    Stou "STOU" Optional  path: true,  login: false, writes: true,  rest: false;
    /// `APPE path`.
    Appe "APPE" Required  path: true,  login: false, writes: true,  rest: false;
    /// `ALLO n [R m]`.
    Allo "ALLO" Required  path: false, login: false, writes: false, rest: false;
    /// `REST marker`.
    Rest "REST" Required  path: false, login: false, writes: false, rest: false;
    /// `RNFR path`.
    Rnfr "RNFR" Required  path: true,  login: false, writes: true,  rest: false;
    /// `RNTO path`.
    Rnto "RNTO" Required  path: true,  login: false, writes: true,  rest: false;
    /// `ABOR`.
    Abor "ABOR" None      path: false, login: false, writes: false, rest: false;
    /// `DELE path`.
    Dele "DELE" Required  path: true,  login: false, writes: true,  rest: false;
    /// `RMD path`.
    Rmd  "RMD"  Required  path: true,  login: false, writes: true,  rest: false;
    /// `MKD path`.
    Mkd  "MKD"  Required  path: true,  login: false, writes: true,  rest: false;
    /// `PWD`.
    Pwd  "PWD"  None      path: false, login: false, writes: false, rest: false;
    /// `LIST [path]`.
    List "LIST" Optional  path: true,  login: false, writes: false, rest: false;
    /// `NLST [path]`.
    Nlst "NLST" Optional  path: true,  login: false, writes: false, rest: false;
    /// `SITE text`.
    Site "SITE" Required  path: false, login: false, writes: false, rest: false;
    /// `SYST`.
    Syst "SYST" None      path: false, login: true,  writes: false, rest: false;
    /// `STAT [path]`.
    Stat "STAT" Optional  path: true,  login: false, writes: false, rest: false;
    /// `HELP [topic]`.
    Help "HELP" Optional  path: false, login: true,  writes: false, rest: false;
    /// `NOOP`.
    Noop "NOOP" None      path: false, login: true,  writes: false, rest: false;
    // RFC 2228: security extensions.
    /// `AUTH mechanism`.
    Auth "AUTH" Required  path: false, login: true,  writes: false, rest: false;
    /// `ADAT base64`.
    Adat "ADAT" Required  path: false, login: false, writes: false, rest: false;
    /// `PROT level`.
    Prot "PROT" Required  path: false, login: true,  writes: false, rest: true;
    /// `PBSZ size`.
    Pbsz "PBSZ" Required  path: false, login: true,  writes: false, rest: true;
    /// `CCC`.
    Ccc  "CCC"  None      path: false, login: false, writes: false, rest: false;
    /// `MIC base64`.
    Mic  "MIC"  Required  path: false, login: false, writes: false, rest: false;
    /// `CONF base64`.
    Conf "CONF" Required  path: false, login: false, writes: false, rest: false;
    /// `ENC base64`.
    Enc  "ENC"  Required  path: false, login: false, writes: false, rest: false;
    // RFC 2389.
    /// `FEAT`.
    Feat "FEAT" None      path: false, login: true,  writes: false, rest: false;
    /// `OPTS command [options]`.
    Opts "OPTS" Required  path: false, login: true,  writes: false, rest: false;
    // RFC 2428.
    /// `EPRT |proto|addr|port|`.
    Eprt "EPRT" Required  path: false, login: false, writes: false, rest: true;
    /// `EPSV [1|2|ALL]`.
    Epsv "EPSV" Optional  path: false, login: false, writes: false, rest: true;
    // RFC 2640.
    /// `LANG [tag]`.
    Lang "LANG" Optional  path: false, login: false, writes: false, rest: false;
    // RFC 3659.
    /// `SIZE path`.
    Size "SIZE" Required  path: true,  login: false, writes: false, rest: false;
    /// `MDTM path`.
    Mdtm "MDTM" Required  path: true,  login: false, writes: false, rest: false;
    /// `MLST [path]`.
    Mlst "MLST" Optional  path: true,  login: false, writes: false, rest: false;
    /// `MLSD [path]`.
    Mlsd "MLSD" Optional  path: true,  login: false, writes: false, rest: false;
    // RFC 7151.
    /// `HOST name`.
    Host "HOST" Required  path: false, login: true,  writes: false, rest: false;
    // draft-somers-ftp-mfxx.
    /// `MFMT time path`.
    Mfmt "MFMT" Required  path: true,  login: false, writes: true,  rest: false;
    /// `MFCT time path`.
    Mfct "MFCT" Required  path: true,  login: false, writes: true,  rest: false;
    /// `MFF facts path`.
    Mff  "MFF"  Required  path: true,  login: false, writes: true,  rest: false;
    // draft-bryan-ftpext-hash.
    /// `HASH path`.
    Hash "HASH" Required  path: true,  login: false, writes: false, rest: false;
    // RFC 775 aliases (RFC 1123 4.1.3.1).
    /// `XCWD path`.
    Xcwd "XCWD" Required  path: true,  login: false, writes: false, rest: false;
    /// `XCUP`.
    Xcup "XCUP" None      path: false, login: false, writes: false, rest: false;
    /// `XMKD path`.
    Xmkd "XMKD" Required  path: true,  login: false, writes: true,  rest: false;
    /// `XRMD path`.
    Xrmd "XRMD" Required  path: true,  login: false, writes: true,  rest: false;
    /// `XPWD`.
    Xpwd "XPWD" None      path: false, login: false, writes: false, rest: false;
}

/// The shape of a verb's argument grammar, where it is a common one: what
/// [`parse`](super::parse) checks for a line that is only checked, without
/// dispatching on the verb itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// No argument (the arity rules have refused one already).
    None,
    /// A pathname, required.
    Path,
    /// A pathname, optional.
    OptionalPath,
    /// A grammar of its own.
    Other,
}

impl CommandKind {
    /// The shape of the verb's argument grammar.
    #[inline]
    pub(super) const fn shape(self) -> Shape {
        use CommandKind as K;
        match self {
            K::Cdup
            | K::Rein
            | K::Quit
            | K::Pasv
            | K::Abor
            | K::Pwd
            | K::Syst
            | K::Noop
            | K::Ccc
            | K::Feat
            | K::Xcup
            | K::Xpwd => Shape::None,
            K::Cwd
            | K::Smnt
            | K::Retr
            | K::Stor
            | K::Appe
            | K::Rnfr
            | K::Rnto
            | K::Dele
            | K::Rmd
            | K::Mkd
            | K::Size
            | K::Mdtm
            | K::Hash
            | K::Xcwd
            | K::Xmkd
            | K::Xrmd => Shape::Path,
            K::Stou | K::List | K::Nlst | K::Stat | K::Mlst | K::Mlsd => Shape::OptionalPath,
            _ => Shape::Other,
        }
    }
}

impl core::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bits of a slot index in the verb hash table.
const SLOT_BITS: u32 = 10;

/// One slot of the verb hash table: a key, its verb and the verb's length,
/// or an empty slot (key 0, which no verb packs to).
#[derive(Clone, Copy)]
struct Slot {
    key: u32,
    kind: Option<CommandKind>,
    len: u8,
}

/// The slot of `key` under the multiplier `m`: multiplicative hashing, the
/// top [`SLOT_BITS`] bits of the product.
const fn slot_of(key: u64, m: u64) -> usize {
    (key.wrapping_mul(m) >> (64 - SLOT_BITS)) as usize
}

/// What the fourth byte of a line folds to (bit 5 cleared) after a
/// three-letter verb: a space (or a NUL) 0x00, a CR (or `-`) 0x0D, an LF
/// (or `*`) 0x0A. A three-letter verb is in the table once for each, so
/// that [`from_word`] finds it from the line's first four bytes whatever
/// follows it; which byte it really was is checked after the lookup.
const AFTER_THREE: [u64; 3] = [0x00, 0x0D, 0x0A];

/// How many keys the table holds: one per verb, three per three-letter verb.
const ENTRIES: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < KEYS.len() {
        n += if CommandKind::ALL[i].name().len() == 3 { AFTER_THREE.len() } else { 1 };
        i += 1;
    }
    n
};

/// Every key of the table, with its verb: a verb's [`key`], and for a
/// three-letter verb the key with each [`AFTER_THREE`] byte in its fourth.
const ENTRY_KEYS: [(u64, CommandKind); ENTRIES] = {
    let mut entries = [(0u64, CommandKind::User); ENTRIES];
    let (mut i, mut n) = (0, 0);
    while i < KEYS.len() {
        let kind = CommandKind::ALL[i];
        if kind.name().len() == 3 {
            let mut j = 0;
            while j < AFTER_THREE.len() {
                entries[n] = (KEYS[i] | AFTER_THREE[j] << 24, kind);
                n += 1;
                j += 1;
            }
        } else {
            entries[n] = (KEYS[i], kind);
            n += 1;
        }
        i += 1;
    }
    entries
};

/// The first multiplier (of a fixed sequence of odd numbers) under which
/// every key has a slot of its own: a perfect hash, found when the crate is
/// compiled, so the table can never disagree with the rows.
const fn perfect_multiplier() -> u64 {
    let mut m: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        let mut used = [false; 1 << SLOT_BITS];
        let mut i = 0;
        while i < ENTRIES {
            let slot = slot_of(ENTRY_KEYS[i].0, m);
            if used[slot] {
                break;
            }
            used[slot] = true;
            i += 1;
        }
        if i == ENTRIES {
            return m;
        }
        m = m.wrapping_mul(0x2545_F491_4F6C_DD1D).wrapping_add(0x6A09_E667_F3BC_C909) | 1;
    }
}

const MULTIPLIER: u64 = perfect_multiplier();

/// The verb hash table: each key in its own slot.
static SLOTS: [Slot; 1 << SLOT_BITS] = {
    let mut slots = [Slot { key: 0, kind: None, len: 0 }; 1 << SLOT_BITS];
    let mut i = 0;
    while i < ENTRIES {
        let (key, kind) = ENTRY_KEYS[i];
        // Keys are at most four bytes: the cast keeps them whole.
        #[allow(clippy::cast_possible_truncation)]
        let key32 = key as u32;
        slots[slot_of(key, MULTIPLIER)] = Slot { key: key32, kind: Some(kind), len: kind.name().len() as u8 };
        i += 1;
    }
    slots
};

/// The known verb a packed key stands for: one multiplication, one load,
/// one comparison.
#[inline]
pub(super) fn from_key(key: u64) -> Option<CommandKind> {
    let slot = SLOTS[slot_of(key, MULTIPLIER)];
    if u64::from(slot.key) == key { slot.kind } else { None }
}

/// The known verb that the first four bytes of `word` (a line's first
/// eight, little-endian) begin with, case folded, and its length: the
/// four letters of a four-letter verb, or the three of a three-letter verb
/// and what follows them (see [`AFTER_THREE`]). A match proves the letters;
/// the caller checks that the verb ends there (a space, or the line's end).
/// No search for the space comes before the lookup, so the hash does not
/// wait for one.
#[inline(always)]
pub(super) fn from_word(word: u64) -> Option<(CommandKind, usize)> {
    let key = word & 0xDFDF_DFDF;
    let slot = SLOTS[slot_of(key, MULTIPLIER)];
    if u64::from(slot.key) == key { Some((slot.kind?, usize::from(slot.len))) } else { None }
}

/// Checks a verb (ASCII letters, digits after the first letter, at most
/// [`text::MAX_VERB_LEN`] bytes; SECURITY.md F4) and finds it among the
/// known verbs in the same pass: the key is built as the bytes are checked
/// and looked up with one `match` on a `u64`, not string comparisons.
#[inline]
pub(super) fn classify(verb: &[u8]) -> Result<Option<CommandKind>, ParseError> {
    if verb.is_empty() {
        return Err(ParseError::BadVerb { at: 0 });
    }
    if verb.len() > text::MAX_VERB_LEN {
        return Err(ParseError::BadVerb { at: text::MAX_VERB_LEN });
    }
    let mut key = 0u64;
    for (i, &b) in verb.iter().enumerate() {
        let up = b & !0x20;
        if !(up.is_ascii_uppercase() || (i > 0 && b.is_ascii_digit())) {
            return Err(ParseError::BadVerb { at: i });
        }
        key |= u64::from(up) << (8 * i);
    }
    Ok(from_key(key))
}

/// Finds a verb from its bytes (case-insensitive); `None` for an unknown or
/// malformed verb.
pub(super) fn lookup(verb: &[u8]) -> Option<CommandKind> {
    classify(verb).ok().flatten()
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// A line of each kind with an argument it accepts (a pathname where it
    /// takes one).
    fn sample(kind: CommandKind) -> &'static str {
        use CommandKind as K;
        match kind {
            K::User => "USER alice",
            K::Pass => "PASS secret",
            K::Acct => "ACCT a",
            K::Port => "PORT 127,0,0,1,4,1",
            K::Type => "TYPE I",
            K::Stru => "STRU F",
            K::Mode => "MODE S",
            K::Allo => "ALLO 10",
            K::Rest => "REST 5",
            K::Site => "SITE HELP",
            K::Help => "HELP RETR",
            K::Auth => "AUTH TLS",
            K::Adat => "ADAT AAAA",
            K::Mic => "MIC AAAA",
            K::Conf => "CONF AAAA",
            K::Enc => "ENC AAAA",
            K::Prot => "PROT P",
            K::Pbsz => "PBSZ 0",
            K::Opts => "OPTS UTF8 ON",
            K::Eprt => "EPRT |1|127.0.0.1|1025|",
            K::Epsv => "EPSV 1",
            K::Lang => "LANG en",
            K::Host => "HOST example.org",
            K::Mfmt => "MFMT 20260101000000 a/file",
            K::Mfct => "MFCT 20260101000000 a/file",
            K::Mff => "MFF modify=20260101000000; a/file",
            K::Cdup | K::Rein | K::Quit | K::Pasv | K::Abor | K::Pwd | K::Syst | K::Noop | K::Ccc | K::Feat => {
                kind.name()
            }
            K::Xcup | K::Xpwd => kind.name(),
            // Every other verb takes a pathname.
            _ => "",
        }
    }

    /// Every row parses from its name (upper or lower case), to a command
    /// of its own kind and name, whose pathname is there exactly when the
    /// table says so.
    #[test]
    fn every_row_parses_to_its_own_kind() {
        let options = crate::ParseOptions::default();
        for &kind in CommandKind::ALL {
            let line = match sample(kind) {
                "" => format!("{} a/file", kind.name()),
                s => s.into(),
            };
            let lowered = match line.split_once(' ') {
                Some((verb, argument)) => format!("{} {argument}", verb.to_ascii_lowercase()),
                None => line.to_ascii_lowercase(),
            };
            for line in [line, lowered] {
                let cmd = crate::Command::parse(&bytes::Bytes::from(line.clone()), &options)
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                assert_eq!(cmd.kind(), Some(kind), "{line}");
                assert_eq!(cmd.verb(), kind.name());
                assert_eq!(cmd.pathname().is_some(), kind.takes_pathname(), "{line}");
            }
        }
    }

    /// No two verbs share a key, and every key is the one `classify`
    /// computes from the name.
    #[test]
    fn keys_are_distinct_and_match_the_names() {
        let mut keys: Vec<u64> = CommandKind::ALL.iter().map(|k| key(k.name())).collect();
        for &kind in CommandKind::ALL {
            assert_eq!(classify(kind.name().as_bytes()), Ok(Some(kind)));
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), CommandKind::ALL.len());
    }
}
