//! The session's state, one type per axis: login progress, transfer
//! parameters, control-connection protection, what the session is busy
//! with, and what a transfer ends with. Each is an enum whose variants carry
//! only the data that state has, so impossible combinations (a transfer
//! without a data connection, a held login reply without a user) cannot be
//! written down.

use std::time::Instant;

use ftp_proto::{ProtectionLevel, Timestamp, Username};

use super::request::Umask;
use super::{DataId, Direction, RequestId, VirtualPath};

/// Login progress (RFC 959 4.1.1, 5.4 state diagram for USER/PASS/ACCT).
#[derive(Debug, Clone)]
pub(super) enum Login {
    Greeted,
    AwaitPass { user: Username },
    AwaitAcct { user: Username },
    LoggedIn { anonymous: bool },
}

/// Transfer parameters and one-shot markers; all reset by REIN and AUTH.
#[derive(Debug, Clone, Default)]
pub(super) struct Params {
    pub(super) ascii: bool,
    /// The MLST facts chosen with `OPTS MLST` (bits of [`MLST_FACTS`]).
    pub(super) mlst_facts: u8,
    /// The one-shot marker the previous command left (REST or RNFR).
    pub(super) marker: Marker,
    /// Which data-setup commands are accepted (RFC 2428 section 4).
    pub(super) data_commands: DataCommands,
    /// Set by `SITE UMASK`; until then the storage's own default applies.
    pub(super) umask: Option<Umask>,
}

/// What REST or RNFR leaves for the next command. At most one is live: the
/// command after RNFR takes its marker (only RNTO uses it), and REST is
/// cleared by every command but the data-setup and parameter ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum Marker {
    #[default]
    None,
    /// `REST n`: the next transfer starts at `n` (RFC 3659 section 5).
    Restart(u64),
    /// `RNFR path`: RNTO renames this (RFC 959 4.1.3).
    RenameFrom(VirtualPath),
}

impl Marker {
    /// The restart offset, if the marker is one.
    pub(super) fn restart(&self) -> Option<u64> {
        match self {
            Self::Restart(n) => Some(*n),
            _ => None,
        }
    }

    /// The path to rename, if the marker is one.
    pub(super) fn rename_from(self) -> Option<VirtualPath> {
        match self {
            Self::RenameFrom(path) => Some(path),
            _ => None,
        }
    }
}

/// The data-setup commands the session takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum DataCommands {
    /// PORT, EPRT, PASV and EPSV.
    #[default]
    Any,
    /// After `EPSV ALL`: only EPSV, until REIN (RFC 2428 section 4).
    EpsvOnly,
}

/// Whether the session runs, drains for a shutdown, or has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lifecycle {
    Open,
    /// [`Session::shut_down`](super::Session::shut_down) was called while a
    /// transfer ran: 421 and close once it ends (SECURITY.md C5).
    ShuttingDown,
    /// [`Output::Close`](super::Output::Close) was queued; every input is
    /// [`Misuse::Closed`](crate::Misuse::Closed).
    Closed,
}

impl Params {
    pub(super) fn new() -> Self {
        Self { ascii: true, mlst_facts: u8::MAX, ..Self::default() }
    }

    /// The facts to write in MLST/MLSD lines, in RFC 3659 7.8's order.
    pub(super) fn facts(&self) -> Vec<&'static str> {
        MLST_FACTS.iter().enumerate().filter(|(i, _)| self.mlst_facts & (1 << i) != 0).map(|(_, f)| *f).collect()
    }
}

/// The control connection's protection (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tls {
    Plain,
    /// TLS through AUTH; `pbsz` once PBSZ was accepted; `prot` the data level.
    Explicit {
        pbsz: bool,
        prot: ProtectionLevel,
    },
    /// TLS from the first byte.
    Implicit {
        pbsz: bool,
        prot: ProtectionLevel,
    },
    /// TLS through AUTH, then cleared with CCC: the control connection is
    /// plaintext again, while the data protection chosen with PROT stays
    /// in force (RFC 4217 section 6: CCC concerns the control connection
    /// only; clearing it is for firewalls that must read PORT and PASV).
    Cleared {
        pbsz: bool,
        prot: ProtectionLevel,
    },
}

impl Tls {
    /// Whether the control connection runs in TLS now.
    pub(super) fn secured(self) -> bool {
        matches!(self, Self::Explicit { .. } | Self::Implicit { .. })
    }
    pub(super) fn prot(self) -> ProtectionLevel {
        match self {
            Self::Plain => ProtectionLevel::Clear,
            Self::Explicit { prot, .. } | Self::Implicit { prot, .. } | Self::Cleared { prot, .. } => prot,
        }
    }
    pub(super) fn pbsz(self) -> bool {
        match self {
            Self::Plain => false,
            Self::Explicit { pbsz, .. } | Self::Implicit { pbsz, .. } | Self::Cleared { pbsz, .. } => pbsz,
        }
    }
    pub(super) fn with(self, pbsz: bool, prot: ProtectionLevel) -> Self {
        match self {
            Self::Plain => Self::Plain,
            Self::Explicit { .. } => Self::Explicit { pbsz, prot },
            Self::Implicit { .. } => Self::Implicit { pbsz, prot },
            Self::Cleared { .. } => Self::Cleared { pbsz, prot },
        }
    }
}

/// What the session is doing besides reading commands.
#[derive(Debug, Clone)]
pub(super) enum Busy {
    Idle,
    /// Waiting for [`Session::answer`].
    Request {
        id: RequestId,
        pending: Pending,
    },
    /// Waiting for the listener's address (PASV/EPSV).
    Binding,
    Transfer(Transfer),
    /// A login's reply is held until `until` (A1): a failed one always, a
    /// successful one after a failure (so that how fast PASS is answered
    /// tells nothing about the password).
    Penalty {
        until: Instant,
        outcome: Held,
    },
    /// AUTH accepted; the caller runs the handshake.
    Handshake,
}

/// The outcome of a login whose reply is held back (SECURITY.md A1).
#[derive(Debug, Clone)]
pub(super) enum Held {
    /// 530, then 421 and close when `close`.
    Failed { close: bool },
    /// 230 and [`Event::LoggedIn`].
    LoggedIn { user: Username, anonymous: bool },
}

/// A transfer command waiting for its storage answer.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) direction: Direction,
    /// For uploads: the path reported on an incomplete upload.
    pub(super) path: VirtualPath,
    pub(super) label: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Transfer {
    pub(super) id: DataId,
    pub(super) request: RequestId,
    pub(super) plan: Plan,
    pub(super) phase: Phase,
    pub(super) bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// 150 sent; waiting for the passive connection or the active connect.
    Connecting,
    /// Bytes are moving.
    Running,
}

/// What QUIT or REIN received during a transfer asks for once it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterTransfer {
    Nothing,
    Quit,
    Rein,
}

/// The MLST facts the server offers (FEAT) and writes for
/// [`Answer::Entries`].
pub(super) const MLST_FACTS: [&str; 6] = ["type", "size", "modify", "perm", "unique", "UNIX.mode"];

/// What to do with the answer to a request.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    Login {
        user: Username,
        anonymous: bool,
    },
    ChangeDir(VirtualPath),
    MakeDir(VirtualPath),
    /// Success is `250 <text>`.
    Simple(&'static str),
    Size,
    /// `ALLO size`: answered with the free space.
    Allocate {
        size: u64,
    },
    ModTime,
    SetModTime {
        time: Timestamp,
        path: VirtualPath,
    },
    SetFacts {
        path: VirtualPath,
        mode: Option<u32>,
        modify: Option<Timestamp>,
    },
    Facts(VirtualPath),
    StatList(VirtualPath),
    Site,
    /// A SITE subcommand carried out by the storage: 200 with this text.
    SiteDone(&'static str),
    Transfer(Plan),
}
