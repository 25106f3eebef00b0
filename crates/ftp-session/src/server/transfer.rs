//! Transfers: REST, RETR, STOR, APPE, STOU, LIST, NLST, MLSD and ABOR, the
//! data events that move a transfer along, and the commands that act during
//! one (RFC 959 4.1.3; SECURITY.md X1, X2, L5, L7).

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use ftp_proto::glob::{Glob, has_wildcards};
use ftp_proto::{Command, Pathname, ProtectionLevel, Reply, ReplyCode};

use super::setup::{DataSetup, same_host};
use super::state::Pending;
use super::state::{AfterTransfer, Busy, Lifecycle, Marker, Phase, Plan, Transfer};
use super::timers::Timer;
use super::{
    DataAction, DataEvent, DataFailure, DataId, Direction, Event, ListFormat, Matching, RequestId, RequestKind,
    Session, StoreMode, VirtualPath,
};

impl Session {
    /// ABOR, STAT, QUIT and REIN during a transfer (RFC 959 4.1.3, 5.4).
    /// Returns whether the command was handled.
    pub(super) fn out_of_band(&mut self, now: Instant, cmd: &Command) -> bool {
        if let Busy::Request { id, pending: Pending::Transfer(_) } = &self.busy {
            if matches!(cmd, Command::Abor) {
                // ABOR before the storage answered: cancel the request; the
                // transfer command gets 426 and ABOR 226 (RFC 959 4.1.3).
                let id = *id;
                self.event(Event::RequestCancelled(id));
                self.close_data();
                self.reply(ReplyCode::TRANSFER_ABORTED, "Transfer aborted.");
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
                self.busy = Busy::Idle;
                self.last_activity = now;
                return true;
            }
            return false;
        }
        let Busy::Transfer(t) = &self.busy else { return false };
        match cmd {
            Command::Abor => {
                let t = t.clone();
                self.action(DataAction::Close { id: t.id });
                self.data = DataSetup::None;
                self.timers.stop(Timer::Data);
                if t.plan.direction == Direction::Receive {
                    self.event(Event::UploadIncomplete { path: t.plan.path.clone(), bytes: t.bytes });
                }
                self.reply(ReplyCode::TRANSFER_ABORTED, "Connection closed; transfer aborted.");
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
                self.busy = Busy::Idle;
                self.last_activity = now;
                self.run_after_transfer(now);
                true
            }
            Command::Stat(None) => {
                let text = format!("Status: {} in progress, {} bytes transferred.", t.plan.label, t.bytes);
                self.reply_text(ReplyCode::FILE_STATUS, text);
                true
            }
            Command::Quit => {
                self.after_transfer = AfterTransfer::Quit;
                true
            }
            Command::Rein => {
                self.reply(ReplyCode::SERVICE_READY_IN, "Transfer in progress; ready when it ends.");
                self.after_transfer = AfterTransfer::Rein;
                true
            }
            _ => false,
        }
    }

    pub(super) fn run_after_transfer(&mut self, now: Instant) {
        let after = std::mem::replace(&mut self.after_transfer, AfterTransfer::Nothing);
        if self.lifecycle == Lifecycle::ShuttingDown {
            return self.close_for_shutdown();
        }
        match after {
            AfterTransfer::Nothing => {}
            AfterTransfer::Quit => self.quit(),
            AfterTransfer::Rein => self.reinitialize(now),
        }
    }

    /// LIST, NLST and MLSD. For LIST and NLST a last path component with
    /// wildcards (`NLST dir/*.txt`, what `mget` sends) lists the directory
    /// and keeps the names that match, each named with the directory as the
    /// client wrote it (RFC 959 4.1.3: NLST returns pathnames); MLSD, like
    /// MLST, SIZE, MDTM and RETR, never globs (SECURITY.md P3).
    pub(super) fn listing(&mut self, p: Option<&Pathname>, format: ListFormat) {
        let (path, all, matching) = if format == ListFormat::Mlsd {
            (self.resolve_opt(p), false, None)
        } else {
            let (arg, all) = list_args(p);
            let (path, matching) = self.glob_target(arg);
            // `.*` asks for hidden names: the storage must list them.
            let hidden = matching.as_ref().is_some_and(|m| m.glob.as_bytes().starts_with(b"."));
            (path, all || hidden, matching)
        };
        let label = match format {
            ListFormat::List => "LIST",
            ListFormat::Nlst => "NLST",
            _ => "MLSD",
        };
        let plan = Plan { direction: Direction::Send, path: path.clone(), label };
        self.transfer(RequestKind::List { path, format, all, matching }, plan);
    }

    /// `STAT path` and LIST's target without a pattern.
    pub(super) fn list_target(&self, p: Option<&Pathname>) -> (VirtualPath, bool) {
        let (arg, all) = list_args(p);
        if arg.is_empty() { (self.cwd.clone(), all) } else { (self.cwd.join(arg), all) }
    }

    /// The directory to list and the pattern, when the last component of
    /// `arg` has wildcards; else the path `arg` names.
    fn glob_target(&self, arg: &[u8]) -> (VirtualPath, Option<Matching>) {
        if arg.is_empty() {
            return (self.cwd.clone(), None);
        }
        let (dir, last) = match arg.iter().rposition(|&b| b == b'/') {
            Some(i) => (&arg[..=i], &arg[i + 1..]),
            None => (&arg[..0], arg),
        };
        if has_wildcards(last)
            && let Ok(glob) = Glob::new(Bytes::copy_from_slice(last))
        {
            let path = if dir.is_empty() { self.cwd.clone() } else { self.cwd.join(dir) };
            return (path, Some(Matching { glob, prefix: Bytes::copy_from_slice(dir) }));
        }
        (self.cwd.join(arg), None)
    }

    pub(super) fn store(&mut self, p: &Pathname, mode: StoreMode, offset: u64, label: &'static str) {
        let path = self.cwd.join(p.as_bytes());
        let ascii = self.params.ascii;
        let plan = Plan { direction: Direction::Receive, path: path.clone(), label };
        self.transfer(RequestKind::Store { path, mode, offset, ascii, umask: self.params.umask }, plan);
    }

    /// The checks every transfer command passes before the storage is asked.
    pub(super) fn transfer(&mut self, kind: RequestKind, plan: Plan) {
        let plaintext_anonymous = self.config.allow_plaintext_anonymous && self.is_anonymous() && !self.tls.secured();
        if self.config.require_tls_data && self.tls.prot() != ProtectionLevel::Private && !plaintext_anonymous {
            // SECURITY.md L5: refuse before any 150 (A7: an anonymous user
            // let in over plaintext may transfer over plaintext).
            return self.error(ReplyCode::PROTECTION_LEVEL_REFUSED, "Data connections must be protected (PROT P).");
        }
        if matches!(self.data, DataSetup::None | DataSetup::Binding { .. }) {
            // Never a connection to port 20 by default.
            return self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Use PORT, PASV, EPRT or EPSV first.");
        }
        self.request(kind, Pending::Transfer(plan));
    }

    /// The storage is ready: 125 or 150, then the data connection.
    pub(super) fn start_transfer(&mut self, now: Instant, request: RequestId, plan: Plan, unique: Option<Pathname>) {
        let mark = |s: &mut Self, code: ReplyCode, text: &'static str| match &unique {
            Some(name) => {
                s.reply_text(code, format!("FILE: {}", String::from_utf8_lossy(name.as_bytes())));
            }
            None => s.reply(code, text),
        };
        let (id, phase) = match self.data.clone() {
            DataSetup::Passive { id, peer: Some(_) } => {
                mark(self, ReplyCode::DATA_CONNECTION_ALREADY_OPEN, "Data connection already open; transfer starting.");
                (id, Phase::Running)
            }
            DataSetup::Passive { id, peer: None } => {
                mark(self, ReplyCode::FILE_STATUS_OK, "Opening data connection.");
                self.timers.set(Timer::Data, Some(now + self.config.data_connect_timeout));
                (id, Phase::Connecting)
            }
            DataSetup::Active { id, addr } => {
                mark(self, ReplyCode::FILE_STATUS_OK, "Opening data connection.");
                let tls = self.data_tls();
                self.action(DataAction::Connect { id, addr, tls });
                self.timers.set(Timer::Data, Some(now + self.config.data_connect_timeout));
                (id, Phase::Connecting)
            }
            DataSetup::None | DataSetup::Binding { .. } => {
                return self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "No data connection.");
            }
        };
        let t = Transfer { id, request, plan, phase, bytes: 0 };
        if phase == Phase::Running {
            self.run(now, t);
        } else {
            self.busy = Busy::Transfer(t);
        }
    }

    pub(super) fn run(&mut self, now: Instant, mut t: Transfer) {
        t.phase = Phase::Running;
        self.timers.set(Timer::Data, Some(now + self.config.data_stall_timeout));
        let tls = self.data_tls();
        self.action(DataAction::Transfer { id: t.id, request: t.request, direction: t.plan.direction, tls });
        self.busy = Busy::Transfer(t);
    }

    pub(super) fn on_data(&mut self, now: Instant, id: DataId, event: DataEvent) {
        if self.data.id() != Some(id) {
            return; // A closed setup: late events are expected and ignored.
        }
        match event {
            DataEvent::Listening { addr } => {
                let DataSetup::Binding { extended, .. } = self.data else { return };
                self.data = DataSetup::Passive { id, peer: None };
                if matches!(self.busy, Busy::Binding) {
                    self.busy = Busy::Idle;
                }
                if extended {
                    self.send(Reply::extended_passive(addr.port()));
                } else {
                    let ip = match (self.config.passive_address, self.conn.local.ip().to_canonical()) {
                        (Some(ip), _) => ip,
                        (None, IpAddr::V4(ip)) => ip,
                        (None, IpAddr::V6(_)) => std::net::Ipv4Addr::UNSPECIFIED,
                    };
                    self.send(Reply::passive(std::net::SocketAddrV4::new(ip, addr.port())));
                }
                self.pump(now);
            }
            DataEvent::ListenFailed => {
                self.data = DataSetup::None;
                if matches!(self.busy, Busy::Binding) {
                    self.busy = Busy::Idle;
                }
                self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Cannot open passive connection.");
                self.pump(now);
            }
            DataEvent::Incoming { peer } => {
                let DataSetup::Passive { peer: current, .. } = self.data else {
                    return self.action(DataAction::Reject { id, peer });
                };
                if current.is_some() {
                    return self.action(DataAction::Reject { id, peer });
                }
                if !self.config.allow_foreign_data_address && !same_host(peer.ip(), self.conn.peer.ip()) {
                    // RFC 2577 section 8, SECURITY.md D3: refuse and keep waiting.
                    self.action(DataAction::Reject { id, peer });
                    return self.event(Event::ForeignDataConnection { peer });
                }
                self.data = DataSetup::Passive { id, peer: Some(peer) };
                let tls = self.data_tls();
                self.action(DataAction::Accept { id, tls });
                if let Busy::Transfer(t) = &self.busy
                    && t.phase == Phase::Connecting
                {
                    let t = t.clone();
                    self.run(now, t);
                }
            }
            DataEvent::Connected => {
                if let Busy::Transfer(t) = &self.busy
                    && t.phase == Phase::Connecting
                {
                    let t = t.clone();
                    self.run(now, t);
                }
            }
            DataEvent::ConnectFailed => {
                if let Busy::Transfer(_) = self.busy {
                    self.close_data();
                    self.reply(ReplyCode::CANT_OPEN_DATA_CONNECTION, "Cannot open data connection.");
                    self.end_transfer(now);
                }
            }
            DataEvent::Progress { bytes } => {
                if let Busy::Transfer(t) = &mut self.busy {
                    t.bytes = bytes;
                    self.timers.set(Timer::Data, Some(now + self.config.data_stall_timeout));
                }
            }
            DataEvent::Finished { bytes } => {
                let Busy::Transfer(t) = &self.busy else { return };
                if t.phase != Phase::Running {
                    return;
                }
                let request = t.request;
                self.close_data();
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete.");
                self.event(Event::TransferCompleted { request, bytes });
                self.end_transfer(now);
            }
            DataEvent::FinishedWithoutCloseNotify { bytes } => {
                let Busy::Transfer(t) = &self.busy else { return };
                if t.phase != Phase::Running {
                    return;
                }
                if self.config.require_tls_close_notify {
                    return self.on_data(now, id, DataEvent::Failed { bytes, reason: DataFailure::Truncated });
                }
                let (request, path) = (t.request, t.plan.path.clone());
                self.close_data();
                self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete (no TLS close_notify).");
                self.event(Event::UploadPossiblyTruncated { path, bytes });
                self.event(Event::TransferCompleted { request, bytes });
                self.end_transfer(now);
            }
            DataEvent::Failed { bytes, reason } => {
                let Busy::Transfer(t) = &self.busy else { return };
                let t = t.clone();
                self.close_data();
                if t.plan.direction == Direction::Receive {
                    self.event(Event::UploadIncomplete { path: t.plan.path.clone(), bytes });
                }
                match reason {
                    DataFailure::Storage => self.reply(ReplyCode::LOCAL_ERROR, "Local error; transfer aborted."),
                    DataFailure::StorageFull => {
                        self.reply(ReplyCode::INSUFFICIENT_STORAGE, "Insufficient storage space; transfer aborted.");
                    }
                    DataFailure::QuotaExceeded => {
                        self.reply(ReplyCode::EXCEEDED_STORAGE, "Quota exceeded; transfer aborted.");
                    }
                    DataFailure::TlsFailed | DataFailure::TlsNotResumed => self.reply(
                        ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
                        "Data connection must resume the control connection's TLS session.",
                    ),
                    DataFailure::Truncated => self.reply(
                        ReplyCode::TRANSFER_ABORTED,
                        "Upload ended without TLS close_notify; possibly truncated, refused.",
                    ),
                    _ => self.reply(ReplyCode::TRANSFER_ABORTED, "Connection closed; transfer aborted."),
                }
                self.end_transfer(now);
            }
        }
    }

    pub(super) fn end_transfer(&mut self, now: Instant) {
        self.busy = Busy::Idle;
        self.timers.stop(Timer::Data);
        self.last_activity = now;
        self.run_after_transfer(now);
        self.pump(now);
    }

    /// A transfer ends without its final reply (EOF, shutdown).
    pub(super) fn abort_transfer(&mut self) {
        if let Busy::Transfer(t) = &self.busy {
            if t.plan.direction == Direction::Receive {
                let (path, bytes) = (t.plan.path.clone(), t.bytes);
                self.event(Event::UploadIncomplete { path, bytes });
            }
            self.busy = Busy::Idle;
        }
    }

    /// REST (RFC 3659 section 5): the marker for the next transfer command.
    pub(super) fn restart_at(&mut self, n: u64) {
        self.params.marker = Marker::Restart(n);
        self.reply_text(ReplyCode::FILE_ACTION_PENDING, format!("Restarting at {n}. Send STORE or RETRIEVE."));
    }

    /// RETR from the restart marker, if any.
    pub(super) fn retrieve(&mut self, p: &Pathname, rest: Option<u64>) {
        let Some(offset) = self.restart_offset(rest) else { return };
        let path = self.cwd.join(p.as_bytes());
        let ascii = self.params.ascii;
        let plan = Plan { direction: Direction::Send, path: path.clone(), label: "RETR" };
        self.transfer(RequestKind::Retrieve { path, offset, ascii }, plan);
    }

    /// STOR, and APPE, which with a restart marker "MUST act identically to
    /// STOR" (RFC 3659 5.3): the bytes go at the marker; without one, APPE
    /// appends.
    pub(super) fn store_at(&mut self, p: &Pathname, rest: Option<u64>, label: &'static str) {
        let Some(offset) = self.restart_offset(rest) else { return };
        let mode = if label == "APPE" && offset == 0 { StoreMode::Append } else { StoreMode::Replace };
        self.store(p, mode, offset, label);
    }

    /// STOU (RFC 959 4.1.3): the server picks the name, from the
    /// argument when there is one. With a restart marker it is refused
    /// (RFC 3659 5.3: "undefined in this usage").
    pub(super) fn store_unique(&mut self, p: Option<Pathname>, rest: Option<u64>) {
        if rest.is_some_and(|n| n > 0) {
            return self.error(ReplyCode::INVALID_REST_PARAMETER, "REST cannot be used with STOU.");
        }
        let hint = p.unwrap_or_else(|| Pathname::try_from("ftpkit.upload").expect("valid"));
        self.store(&hint, StoreMode::Unique, 0, "STOU");
    }

    /// The offset a transfer starts at: 0 without a marker (or `REST 0`).
    /// In TYPE A a marker is refused (554) before any data connection is
    /// used: SIZE counts stored bytes, never converted ones (SECURITY.md
    /// P5), and a client resuming an ASCII transfer counts wire bytes, so
    /// an offset could only land in the wrong place.
    fn restart_offset(&mut self, rest: Option<u64>) -> Option<u64> {
        match rest {
            Some(n) if n > 0 && self.params.ascii => {
                self.error(ReplyCode::INVALID_REST_PARAMETER, "Restart works in TYPE I only: send TYPE I, then REST.");
                None
            }
            rest => Some(rest.unwrap_or(0)),
        }
    }

    /// ABOR with no transfer running (RFC 959 4.1.3): 226 when an idle
    /// data connection was closed, else 225 (SECURITY.md X1).
    pub(super) fn abort_idle(&mut self) {
        let had_connection = matches!(self.data, DataSetup::Passive { peer: Some(_), .. });
        self.close_data();
        if had_connection {
            self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Data connection closed.");
        } else {
            self.reply(ReplyCode::DATA_CONNECTION_OPEN, "No transfer to abort.");
        }
    }
}

/// `LIST -la dir`: leading `-` words are options (only `a` matters),
/// never passed on (SECURITY.md P4); the rest is the argument.
fn list_args(p: Option<&Pathname>) -> (&[u8], bool) {
    let Some(p) = p else { return (&[], false) };
    let mut arg = p.as_bytes();
    let mut all = false;
    while arg.first() == Some(&b'-') {
        let end = arg.iter().position(|&b| b == b' ').unwrap_or(arg.len());
        all |= arg[..end].contains(&b'a');
        arg = arg.get(end + 1..).unwrap_or(&[]);
    }
    (arg, all)
}
