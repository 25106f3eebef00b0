//! Files and directories: CWD, CDUP, PWD, MKD, RMD, DELE, RNFR/RNTO, SIZE,
//! MDTM, MFMT, MLST and STAT of a path (RFC 959 4.1.1 and 4.1.3, RFC 3659,
//! draft-somers-ftp-mfxx). Each is a request to the storage; the answer is
//! turned into a reply in [`super::answer`].

use ftp_proto::{FactList, Pathname, Reply, ReplyCode, Timestamp};

use super::site::parse_mode;
use super::state::Marker;
use super::state::Pending;
use super::{ListFormat, RequestKind, Session, VirtualPath};

impl Session {
    pub(super) fn resolve_opt(&self, p: Option<&Pathname>) -> VirtualPath {
        match p {
            Some(p) => self.cwd.join(p.as_bytes()),
            None => self.cwd.clone(),
        }
    }

    /// CWD and XCWD.
    pub(super) fn change_dir(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::ChangeDir { path: path.clone() }, Pending::ChangeDir(path));
    }

    /// CDUP and XCUP: CWD to the parent (RFC 959 4.1.1).
    pub(super) fn change_to_parent(&mut self) {
        let path = self.cwd.parent();
        self.request(RequestKind::ChangeDir { path: path.clone() }, Pending::ChangeDir(path));
    }

    /// PWD and XPWD: 257 with the quoted working directory (RFC 959 appendix II).
    pub(super) fn print_dir(&mut self) {
        let reply =
            Reply::pathname_created(ReplyCode::PATHNAME_CREATED, &self.cwd.to_pathname(), "is the current directory");
        self.send(reply);
    }

    /// MKD and XMKD: 257 with the new directory.
    pub(super) fn make_dir(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::MakeDir { path: path.clone(), umask: self.params.umask }, Pending::MakeDir(path));
    }

    /// RMD and XRMD.
    pub(super) fn remove_dir(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::RemoveDir { path }, Pending::Simple("Directory removed."));
    }

    /// DELE.
    pub(super) fn delete(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::Delete { path }, Pending::Simple("File deleted."));
    }

    /// RNFR: remembered for the next command only, which must be RNTO.
    pub(super) fn rename_from(&mut self, p: &Pathname) {
        self.params.marker = Marker::RenameFrom(self.cwd.join(p.as_bytes()));
        self.reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO.");
    }

    /// RNTO: only right after RNFR (RFC 959 4.1.3), else 503.
    pub(super) fn rename_to(&mut self, p: &Pathname, from: Option<VirtualPath>) {
        match from {
            Some(from) => {
                let to = self.cwd.join(p.as_bytes());
                self.request(RequestKind::Rename { from, to }, Pending::Simple("Rename successful."));
            }
            None => self.error(ReplyCode::BAD_SEQUENCE, "RNFR required first."),
        }
    }

    /// SIZE (RFC 3659 section 4).
    pub(super) fn size(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::Size { path }, Pending::Size);
    }

    /// MDTM (RFC 3659 section 3).
    pub(super) fn mod_time(&mut self, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::ModTime { path }, Pending::ModTime);
    }

    /// MFMT (draft-somers-ftp-mfxx section 3): only dispatched when the
    /// storage can set times (`implemented`).
    pub(super) fn set_mod_time(&mut self, time: Timestamp, p: &Pathname) {
        let path = self.cwd.join(p.as_bytes());
        self.request(RequestKind::SetModTime { path: path.clone(), time }, Pending::SetModTime { time, path });
    }

    /// MFF (draft-somers-ftp-mfxx section 5): `Modify` and `UNIX.mode`,
    /// each only when the storage can set it. A fact this server cannot
    /// set is 504 naming it (section 5.5), a bad value or a fact given
    /// twice 501; nothing is changed then.
    pub(super) fn modify_facts(&mut self, facts: &FactList, p: &Pathname) {
        let settable = self.settable_facts();
        let (mut mode, mut modify) = (None, None);
        for (name, value) in facts.pairs() {
            let known = settable.iter().find(|f| f.as_bytes().eq_ignore_ascii_case(name));
            let Some(&fact) = known else {
                let name = String::from_utf8_lossy(name).into_owned();
                return self.reply_text(
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    format!("Fact not supported: {name}; this server sets {}.", settable.join(", ")),
                );
            };
            let fresh = match fact {
                "Modify" => match Timestamp::parse(value) {
                    Ok(t) => modify.replace(t).is_none(),
                    Err(_) => {
                        return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Bad time: use YYYYMMDDHHMMSS[.sss].");
                    }
                },
                _ => match parse_mode(value) {
                    Some(m) => mode.replace(m).is_none(),
                    None => return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "Bad mode: use octal, 0 to 7777."),
                },
            };
            if !fresh {
                return self.error(ReplyCode::SYNTAX_ERROR_ARGUMENTS, "A fact is given twice.");
            }
        }
        let path = self.cwd.join(p.as_bytes());
        self.request(
            RequestKind::SetFacts { path: path.clone(), mode, modify },
            Pending::SetFacts { path, mode, modify },
        );
    }

    /// MLST (RFC 3659 section 7): the facts of one path, the working
    /// directory by default.
    pub(super) fn facts(&mut self, p: Option<&Pathname>) {
        let path = self.resolve_opt(p);
        self.request(RequestKind::Facts { path: path.clone() }, Pending::Facts(path));
    }

    /// STAT with a path (RFC 959 4.1.3): a listing on the control connection.
    pub(super) fn stat_path(&mut self, p: &Pathname) {
        let (path, all) = self.list_target(Some(p));
        let kind = RequestKind::List { path: path.clone(), format: ListFormat::Stat, all, matching: None };
        self.request(kind, Pending::StatList(path));
    }
}
