//! Data connections, client side: what the session asks the driver to do
//! with sockets, and what the driver reports back (the client's half of
//! what `server/data.rs` is for the server).
//!
//! File bytes never pass through the session: for a transfer it names the
//! connection and the direction, the driver moves the bytes and reports
//! the end ([`DataEvent::Finished`] or [`DataEvent::Failed`]).

use std::net::SocketAddr;

use ftp_proto::NetProto;

pub use crate::io::DataId;

/// How a data connection must be protected (RFC 4217 section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataTls {
    /// `PROT P` is in force: run a TLS handshake (client side) first.
    pub required: bool,
    /// Resume the control connection's TLS session on it (servers such as
    /// vsftpd with `require_ssl_reuse` refuse otherwise; SECURITY.md L6).
    pub resume_control_session: bool,
}

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// Server to client: read until EOF.
    Download,
    /// Client to server: write, then close.
    Upload,
}

/// What the session asks the caller to do about data connections.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataAction {
    /// Connect to the server's passive port; report
    /// [`DataEvent::Connected`] or [`DataEvent::ConnectFailed`].
    Connect {
        /// The connection.
        id: DataId,
        /// Where to connect (chosen by the [`PasvPolicy`](super::PasvPolicy) for 227).
        addr: SocketAddr,
    },
    /// Listen for the server's connection (active mode) on an address of
    /// this family that the server can reach; report [`DataEvent::Listening`].
    Listen {
        /// The connection.
        id: DataId,
        /// The family of the control connection.
        family: NetProto,
    },
    /// Close the connection reported by [`DataEvent::Accepted`]: it did not
    /// come from the server's address (SECURITY.md D4); keep listening.
    Reject {
        /// The connection.
        id: DataId,
        /// Who connected.
        peer: SocketAddr,
    },
    /// Move the bytes now: run the TLS handshake first when `tls.required`,
    /// then read to EOF (download) or write and close (upload); report
    /// [`DataEvent::Finished`] or [`DataEvent::Failed`].
    Transfer {
        /// The connection.
        id: DataId,
        /// Which way.
        direction: Direction,
        /// TLS requirement.
        tls: DataTls,
    },
    /// Close the connection and any listener; report nothing more for it.
    Close {
        /// The connection.
        id: DataId,
    },
}

/// What the caller reports about a data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataEvent {
    /// The passive connection is open.
    Connected,
    /// The passive connection could not be made.
    ConnectFailed,
    /// The active-mode listener is open on `addr` (the address PORT/EPRT sends).
    Listening {
        /// The address the server should connect to.
        addr: SocketAddr,
    },
    /// The active-mode listener could not be opened.
    ListenFailed,
    /// A connection arrived on the active-mode listener.
    Accepted {
        /// Its source.
        peer: SocketAddr,
    },
    /// The transfer's bytes all moved (EOF reached, or upload closed).
    Finished {
        /// Bytes moved.
        bytes: u64,
    },
    /// The data connection broke.
    Failed {
        /// Bytes moved before.
        bytes: u64,
    },
}
