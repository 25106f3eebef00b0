//! Data-connection setup: PORT, EPRT, PASV, EPSV (RFC 959 4.1.2, RFC 2428,
//! RFC 2577) and the one setup a session holds at a time (SECURITY.md D6).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ftp_proto::{EpsvArg, NetProto, ProtectionLevel, Reply, ReplyCode};

use super::state::{Busy, DataCommands};
use super::timers::Timer;
use super::{DataAction, DataId, DataTls, Session};

/// The negotiated data connection, if any (one setup serves one transfer, D6).
#[derive(Debug, Clone)]
pub(super) enum DataSetup {
    None,
    /// Listener requested; waiting for its address.
    Binding {
        id: DataId,
        extended: bool,
    },
    /// Listening; `peer` once a connection was accepted.
    Passive {
        id: DataId,
        peer: Option<SocketAddr>,
    },
    /// PORT/EPRT target.
    Active {
        id: DataId,
        addr: SocketAddr,
    },
}

impl DataSetup {
    pub(super) fn id(&self) -> Option<DataId> {
        match self {
            Self::None => None,
            Self::Binding { id, .. } | Self::Passive { id, .. } | Self::Active { id, .. } => Some(*id),
        }
    }
}

impl Session {
    /// PASV and EPSV (RFC 959 4.1.2, RFC 2428 section 3).
    pub(super) fn passive(&mut self, extended: bool, family: NetProto) {
        if self.params.data_commands == DataCommands::EpsvOnly && !extended {
            return self.error(ReplyCode::BAD_SEQUENCE, "Only EPSV is allowed after EPSV ALL.");
        }
        if !extended && self.config.passive_address.is_none() && !self.conn.local.ip().to_canonical().is_ipv4() {
            return self.error(ReplyCode::CANT_OPEN_DATA_CONNECTION, "PASV needs IPv4: use EPSV.");
        }
        // A new PASV drops the old listener and its connections (D6).
        self.close_data();
        let id = self.new_data_id();
        self.data = DataSetup::Binding { id, extended };
        self.busy = Busy::Binding;
        self.action(DataAction::Listen { id, family, extended });
    }

    /// PORT and EPRT (RFC 959 4.1.2, RFC 2428 section 2, RFC 2577).
    pub(super) fn active(&mut self, _now: Instant, addr: SocketAddr) {
        if self.params.data_commands == DataCommands::EpsvOnly {
            return self.error(ReplyCode::BAD_SEQUENCE, "Only EPSV is allowed after EPSV ALL.");
        }
        if !self.config.allow_foreign_data_address && !same_host(addr.ip(), self.conn.peer.ip()) {
            // SECURITY.md D1: the bounce attack.
            return self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Data address must be the control peer's.");
        }
        if !self.config.allow_privileged_data_port && addr.port() < 1024 {
            return self.error(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Data port must be 1024 or above.");
        }
        self.close_data();
        let id = self.new_data_id();
        self.data = DataSetup::Active { id, addr };
        self.reply(ReplyCode::COMMAND_OK, "PORT command successful.");
    }

    pub(super) fn close_data(&mut self) {
        if let Some(id) = self.data.id() {
            self.action(DataAction::Close { id });
        }
        self.data = DataSetup::None;
        self.timers.stop(Timer::Data);
    }

    pub(super) fn data_tls(&self) -> DataTls {
        DataTls {
            required: self.tls.prot() == ProtectionLevel::Private,
            must_resume_control_session: self.config.require_tls_resumption,
        }
    }

    /// When an unused passive setup of an idle session is reclaimed: after
    /// the data connect timeout without a command (see
    /// [`ServerConfig::data_connect_timeout`]).
    pub(super) fn unused_passive_deadline(&self) -> Option<Instant> {
        let unused = matches!(self.busy, Busy::Idle) && matches!(self.data, DataSetup::Passive { .. });
        unused.then(|| self.last_activity + self.config.data_connect_timeout)
    }

    /// EPSV with its argument (RFC 2428 sections 3 and 4).
    pub(super) fn epsv(&mut self, arg: EpsvArg) {
        match arg {
            EpsvArg::All => {
                // RFC 2428 section 4: from now on only EPSV; a PORT/PASV
                // setup made before is dropped with it (SECURITY.md D7).
                self.close_data();
                self.params.data_commands = DataCommands::EpsvOnly;
                self.reply(ReplyCode::COMMAND_OK, "EPSV ALL ok.");
            }
            EpsvArg::Any => self.passive(true, NetProto::of(&self.conn.local.ip())),
            EpsvArg::Protocol(proto) => {
                if proto == NetProto::of(&self.conn.local.ip().to_canonical()) {
                    self.passive(true, proto);
                } else {
                    let reply = epsv_protocols(self.conn.local.ip());
                    self.send(reply);
                }
            }
            // An EPSV argument form this server does not know.
            _ => self.error(ReplyCode::COMMAND_NOT_IMPLEMENTED, "Command not implemented."),
        }
    }
}

/// Compares addresses as the same host, treating `::ffff:a.b.c.d` as
/// `a.b.c.d` (SECURITY.md D2).
pub(super) fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The 522 reply listing the protocols the server takes (RFC 2428 section 2).
pub(super) fn epsv_protocols(local: IpAddr) -> Reply {
    let text = if local.to_canonical().is_ipv4() {
        "Network protocol not supported, use (1)"
    } else {
        "Network protocol not supported, use (2)"
    };
    Reply::from_static(ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED, text)
}
