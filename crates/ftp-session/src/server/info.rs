//! What the server says about itself and the transfer parameters: STAT,
//! HELP, FEAT, OPTS, SYST, NOOP, LANG, TYPE, MODE, STRU, ALLO, SITE. HELP
//! and FEAT are derived from the verb table through [`Session::advertised`]
//! (DESIGN: capabilities, not promises).

use bytes::Bytes;
use ftp_proto::{CommandKind, FormatControl, LangTag, Reply, ReplyCode, Structure, Text, TransferMode, TransferType};

use super::setup::DataSetup;
use super::state::{MLST_FACTS, Pending};
use super::{RequestKind, Session, StorageCapabilities};

impl Session {
    /// Whether this server carries out `kind` at all: the verbs the session
    /// has no handler for are not, and a verb that needs a storage
    /// capability is only with it. Policy refusals (CCC not allowed, AUTH
    /// without TLS) are answered by the handlers with their own codes.
    pub(super) fn implemented(&self, kind: CommandKind) -> bool {
        use CommandKind as K;
        match kind {
            K::Smnt | K::Hash | K::Mfct | K::Adat | K::Mic | K::Conf | K::Enc => false,
            K::Mfmt => self.config.storage_capabilities.contains(StorageCapabilities::SET_MODIFIED),
            K::Mff => !self.settable_facts().is_empty(),
            _ => true,
        }
    }

    /// Whether HELP lists `kind`: implemented, and enabled by the
    /// configuration (TLS for AUTH, PBSZ and PROT; CCC also needs
    /// `allow_ccc`).
    pub(super) fn advertised(&self, kind: CommandKind) -> bool {
        use CommandKind as K;
        self.implemented(kind)
            && match kind {
                K::Auth | K::Pbsz | K::Prot => self.config.tls_available,
                K::Ccc => self.config.tls_available && self.config.allow_ccc,
                _ => true,
            }
    }

    pub(super) fn status(&mut self) {
        let mut lines = vec![Text::from_static("ftpkit status:")];
        let state = format!(
            "Logged in: {}; TYPE: {}; TLS: {}; PROT: {:?}; data: {}",
            if self.is_logged_in() { "yes" } else { "no" },
            if self.params.ascii { "ASCII" } else { "BINARY" },
            if self.tls.secured() { "yes" } else { "no" },
            self.tls.prot(),
            match self.data {
                DataSetup::None => "none",
                DataSetup::Binding { .. } | DataSetup::Passive { .. } => "passive",
                DataSetup::Active { .. } => "active",
            }
        );
        lines.push(Text::new(Bytes::from(state)).expect("no line breaks"));
        lines.push(Text::from_static("End of status"));
        let reply = Reply::multiline(ReplyCode::SYSTEM_STATUS, lines).expect("three lines");
        self.send(reply);
    }

    /// RFC 959 4.1.3 HELP: the verbs this session can actually run, so a
    /// client that reads HELP (as some do instead of FEAT) is not told about
    /// a command that then answers 502 (DESIGN: capabilities, not promises).
    pub(super) fn help(&mut self) {
        let mut words: Vec<&str> =
            CommandKind::ALL.iter().copied().filter(|k| self.advertised(*k)).map(CommandKind::name).collect();
        words.sort_unstable();
        let mut lines = vec![Text::from_static("The following commands are recognized:")];
        for chunk in words.chunks(12) {
            lines.push(Text::new(Bytes::from(format!(" {}", chunk.join(" ")))).expect("ascii"));
        }
        lines.push(Text::from_static("Help OK."));
        self.send(Reply::multiline(ReplyCode::HELP_MESSAGE, lines).expect("lines"));
    }

    /// RFC 2389 section 3: only what is enabled.
    pub(super) fn feat(&mut self) {
        let mut features = vec!["EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;", "PASV"];
        debug_assert!(MLST_FACTS.iter().all(|f| features[3].contains(f)));
        features.extend(["REST STREAM", "SIZE", "TVFS", "UTF8", "LANG EN*", "HOST"]);
        if self.advertised(CommandKind::Mfmt) {
            // draft-somers-ftp-mfxx section 3.
            features.push("MFMT");
        }
        if self.config.tls_available {
            features.extend(["AUTH TLS", "PBSZ", "PROT"]);
        }
        let mut lines: Vec<Text> = features.into_iter().map(Text::from_static).collect();
        if self.advertised(CommandKind::Mff) {
            // draft-somers-ftp-mfxx 5.6: "MFF" and the facts it can set.
            let facts: String = self.settable_facts().iter().map(|f| format!("{f};")).collect();
            lines.push(Text::new(Bytes::from(format!("MFF {facts}"))).expect("ascii"));
        }
        self.send(Reply::feature_list(lines));
    }

    /// The facts MFF can set with this storage (draft-somers-ftp-mfxx 5.6),
    /// as FEAT names them.
    pub(super) fn settable_facts(&self) -> Vec<&'static str> {
        let caps = self.config.storage_capabilities;
        let mut facts = Vec::new();
        if caps.contains(StorageCapabilities::SET_MODIFIED) {
            facts.push("Modify");
        }
        if caps.contains(StorageCapabilities::SET_MODE) {
            facts.push("UNIX.mode");
        }
        facts
    }

    pub(super) fn opts(&mut self, o: &ftp_proto::Opts) {
        let name = o.command().as_bytes();
        let value = o.options().map(Text::as_bytes).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"UTF8") {
            if value.eq_ignore_ascii_case(b"ON") || value.eq_ignore_ascii_case(b"OFF") || value.is_empty() {
                self.reply(ReplyCode::COMMAND_OK, "UTF8 mode set.");
            } else {
                self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "OPTS UTF8 takes ON or OFF.");
            }
        } else if name.eq_ignore_ascii_case(b"MLST") {
            // RFC 3659 7.9: the facts the client wants, from those offered;
            // unknown fact names are ignored, but a list that is not fact
            // names each ended by ';' is refused and changes nothing.
            if !is_fact_list(value) {
                return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "OPTS MLST takes fact names, each ended by ';'.");
            }
            let mut mask = 0u8;
            for f in value.split(|&b| b == b';') {
                if let Some(i) = MLST_FACTS.iter().position(|k| k.as_bytes().eq_ignore_ascii_case(f)) {
                    mask |= 1 << i;
                }
            }
            self.params.mlst_facts = mask;
            let chosen: String = self.params.facts().iter().map(|f| format!("{f};")).collect();
            self.reply_text(ReplyCode::COMMAND_OK, format!("MLST OPTS {chosen}"));
        } else {
            self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Option not understood.");
        }
    }

    /// TYPE (RFC 959 3.1.1): A and A N, I and L 8; others 504.
    pub(super) fn set_type(&mut self, t: TransferType) {
        match t {
            TransferType::Ascii(None | Some(FormatControl::NonPrint)) => {
                self.params.ascii = true;
                self.reply(ReplyCode::COMMAND_OK, "Switching to ASCII mode.");
            }
            t if t.is_binary() => {
                self.params.ascii = false;
                self.reply(ReplyCode::COMMAND_OK, "Switching to Binary mode.");
            }
            _ => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Type not supported."),
        }
    }

    /// MODE (RFC 959 3.4): stream only.
    pub(super) fn set_mode(&mut self, mode: TransferMode) {
        if mode == TransferMode::Stream {
            self.reply(ReplyCode::COMMAND_OK, "Mode set to S.");
        } else {
            self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only stream mode is supported.");
        }
    }

    /// STRU (RFC 959 3.1.2): file structure only.
    pub(super) fn set_structure(&mut self, s: Structure) {
        if s == Structure::File {
            self.reply(ReplyCode::COMMAND_OK, "Structure set to F.");
        } else {
            self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Only file structure is supported.");
        }
    }

    /// ALLO (RFC 959 4.1.3): where the storage can tell its free space
    /// ([`StorageCapabilities::FREE_SPACE`]; ALLO needs a login), the
    /// size is checked against the space free in the working directory:
    /// 200 when it fits, 452 (insufficient storage) when it does not, so a
    /// client learns before it sends the bytes. Otherwise 202: storage is
    /// allocated as it is written.
    pub(super) fn allocate(&mut self, size: u64) {
        if !self.config.storage_capabilities.contains(StorageCapabilities::FREE_SPACE) {
            return self.reply(ReplyCode::COMMAND_SUPERFLUOUS, "ALLO not needed.");
        }
        let path = self.cwd.clone();
        self.request(RequestKind::FreeSpace { path }, Pending::Allocate { size });
    }

    /// SYST (RFC 959 4.1.3): the configured system type.
    pub(super) fn system(&mut self) {
        let reply = Reply::new(ReplyCode::SYSTEM_TYPE, self.config.system_type.clone());
        self.send(reply);
    }

    /// LANG (RFC 2640 section 4): English only.
    pub(super) fn language(&mut self, tag: Option<&LangTag>) {
        match tag {
            None => self.reply(ReplyCode::COMMAND_OK, "Language set to EN."),
            Some(t) if t.as_bytes().len() >= 2 && t.as_bytes()[..2].eq_ignore_ascii_case(b"en") => {
                self.reply(ReplyCode::COMMAND_OK, "Language set to EN.")
            }
            Some(_) => self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Language not supported."),
        }
    }
}

/// RFC 3659 7.9 `factname ";"` repeated (the last `;` may be missing, as
/// clients send it): names of letters, digits, `.`, `-` and `_`, none
/// empty. An empty list is allowed: it turns every fact off.
fn is_fact_list(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    let value = value.strip_suffix(b";").unwrap_or(value);
    !value.is_empty()
        && value
            .split(|&b| b == b';')
            .all(|f| !f.is_empty() && f.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')))
}
