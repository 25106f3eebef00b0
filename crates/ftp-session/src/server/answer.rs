//! Answers to requests: what each pending request ([`Pending`], in
//! [`super::state`]) expects ([`answer_fits`]) and the reply an answer
//! turns into.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ftp_proto::listing::{ListingStyle, Perms};
use ftp_proto::{Reply, ReplyCode, Text};

use super::state::{Login, Pending};
use super::{Answer, RequestId, Session, VirtualPath};

impl Session {
    pub(super) fn on_answer(&mut self, now: Instant, id: RequestId, pending: Pending, answer: Answer) {
        if let Answer::Failed(e) = answer {
            if matches!(pending, Pending::Transfer(_)) {
                self.close_data();
            }
            return self.reply(e.reply_code(), e.text());
        }
        match pending {
            Pending::Login { user, anonymous } => match answer {
                Answer::LoggedIn => self.logged_in(now, user, anonymous),
                Answer::NeedAccount => {
                    self.login = Login::AwaitAcct { user };
                    self.reply(ReplyCode::NEED_ACCOUNT, "Need account for login.");
                }
                _ => self.login_failed(now, user),
            },
            Pending::ChangeDir(path) => {
                self.cwd = path;
                self.reply(ReplyCode::FILE_ACTION_OK, "Directory successfully changed.");
            }
            Pending::MakeDir(path) => {
                let reply = Reply::pathname_created(ReplyCode::PATHNAME_CREATED, &path.to_pathname(), "created");
                self.send(reply);
            }
            Pending::Simple(text) => self.reply(ReplyCode::FILE_ACTION_OK, text),
            Pending::Size => {
                if let Answer::Size(n) = answer {
                    self.reply_text(ReplyCode::FILE_STATUS, n.to_string());
                }
            }
            Pending::Allocate { size } => {
                if let Answer::Size(free) = answer {
                    if size <= free {
                        self.reply_text(ReplyCode::COMMAND_OK, format!("ALLO OK: {free} bytes free."));
                    } else {
                        let text = format!("Insufficient storage space: {size} bytes asked, {free} free.");
                        self.reply_text(ReplyCode::INSUFFICIENT_STORAGE, text);
                    }
                }
            }
            Pending::ModTime => {
                if let Answer::ModTime(t) = answer {
                    self.reply_text(ReplyCode::FILE_STATUS, t.to_string());
                }
            }
            Pending::SetModTime { time, path } => {
                let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
                self.reply_text(ReplyCode::FILE_STATUS, format!("Modify={time}; {name}"));
            }
            Pending::SetFacts { path, mode, modify } => {
                // draft-somers-ftp-mfxx 5.1: 213 with the facts as set.
                let mut facts = String::new();
                if let Some(time) = modify {
                    facts.push_str(&format!("Modify={time};"));
                }
                if let Some(mode) = mode {
                    facts.push_str(&format!("UNIX.mode={mode:04o};"));
                }
                let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
                self.reply_text(ReplyCode::FILE_STATUS, format!("{facts} {name}"));
            }
            Pending::Facts(path) => {
                let lines = match answer {
                    Answer::Lines(lines) => lines,
                    // RFC 3659 7.2: the session writes the fact line itself,
                    // with the `perm` fact as the driver gave it (narrowed
                    // to the user's access there).
                    Answer::Entries { entries, now } => {
                        let facts = self.params.facts();
                        entries
                            .iter()
                            .filter_map(|e| entry_line(|out| write_entry(e, ListingStyle::Facts, &facts, now, out)))
                            .collect()
                    }
                    _ => return,
                };
                self.lines_reply(ReplyCode::FILE_ACTION_OK, &path, "Listing", lines, true);
            }
            Pending::StatList(path) => {
                let lines = match answer {
                    Answer::Lines(lines) => lines,
                    // RFC 959 4.1.3 (STAT path): `ls -l` lines, as servers send.
                    Answer::Entries { entries, now } => entries
                        .iter()
                        .filter_map(|e| entry_line(|out| write_entry(e, ListingStyle::Long, &[], now, out)))
                        .collect(),
                    _ => return,
                };
                self.lines_reply(ReplyCode::FILE_STATUS, &path, "Status of", lines, false);
            }
            Pending::SiteDone(text) => self.reply(ReplyCode::COMMAND_OK, text),
            Pending::Site => {
                if let Answer::SiteReply(reply) = answer {
                    self.send(reply);
                }
            }
            Pending::Transfer(plan) => {
                let name = match answer {
                    Answer::StoredAs(name) => Some(name),
                    _ => None,
                };
                self.start_transfer(now, id, plan, name);
            }
        }
    }

    pub(super) fn lines_reply(
        &mut self,
        code: ReplyCode,
        path: &VirtualPath,
        head: &str,
        lines: Vec<Text>,
        space: bool,
    ) {
        let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
        let mut all = vec![Text::new(Bytes::from(format!("{head} {name}"))).unwrap_or_else(|_| Text::empty())];
        for l in lines {
            if space {
                let mut b = BytesMut::with_capacity(l.len() + 1);
                b.extend_from_slice(b" ");
                b.extend_from_slice(l.as_bytes());
                all.push(Text::new(b.freeze()).unwrap_or_else(|_| Text::empty()));
            } else {
                all.push(l);
            }
        }
        all.push(Text::from_static("End"));
        self.send(Reply::multiline(code, all).expect("at least two lines"));
    }
}

/// One listing line written by a producer, as reply text; `None` when the
/// producer wrote nothing (a name it cannot carry) or the line is not
/// wire-safe.
pub(super) fn entry_line(write: impl FnOnce(&mut BytesMut)) -> Option<Text> {
    let mut out = BytesMut::new();
    write(&mut out);
    if out.is_empty() { None } else { Text::new(out.freeze()).ok() }
}

/// Whether an answer is one the pending request can take.
pub(super) fn answer_fits(pending: &Pending, answer: &Answer) -> bool {
    match (pending, answer) {
        (Pending::Login { .. }, Answer::LoggedIn | Answer::NeedAccount | Answer::LoginDenied) => true,
        (Pending::Login { .. }, _) => false,
        (_, Answer::Failed(_)) => true,
        (
            Pending::ChangeDir(_)
            | Pending::MakeDir(_)
            | Pending::Simple(_)
            | Pending::SetModTime { .. }
            | Pending::SetFacts { .. }
            | Pending::SiteDone(_),
            Answer::Done,
        ) => true,
        (Pending::Size | Pending::Allocate { .. }, Answer::Size(_)) | (Pending::ModTime, Answer::ModTime(_)) => true,
        (Pending::Facts(_) | Pending::StatList(_), Answer::Lines(_) | Answer::Entries { .. }) => true,
        (Pending::Site, Answer::SiteReply(_)) => true,
        (Pending::Transfer(p), Answer::Ready) => p.label != "STOU",
        (Pending::Transfer(p), Answer::StoredAs(_)) => p.label == "STOU",
        _ => false,
    }
}

/// One line of an MLST or `STAT path` reply, written by the codec's
/// listing writer ([`ftp_proto::listing::write_entry`]) as the data
/// listings are, so the two never differ.
fn write_entry(
    entry: &ftp_proto::listing::Entry,
    style: ListingStyle,
    facts: &[&str],
    now: ftp_proto::Timestamp,
    out: &mut BytesMut,
) {
    ftp_proto::listing::write_entry(entry, style, facts, Perms::READ_WRITE, now, out);
}
