//! Data connections: what the session asks the driver to do with sockets,
//! and what the driver reports back.
//!
//! File bytes never pass through the session. For a transfer it tells the
//! driver which connection to use and in which direction; the driver moves
//! the bytes between storage and socket and reports progress and the end.

use core::net::SocketAddr;

use ftp_proto::NetProto;

use super::request::RequestId;

pub use crate::io::DataId;

/// How a data connection must be protected (RFC 4217 section 9, SECURITY.md L5, L6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataTls {
    /// `PROT P` is in force: run a TLS handshake (server side) on the data
    /// connection before moving any byte.
    pub required: bool,
    /// The data connection's TLS session must resume this control
    /// connection's session; refuse it otherwise and report
    /// [`DataFailure::TlsNotResumed`] (L6).
    pub must_resume_control_session: bool,
}

/// Which way the file bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// Server to client (`RETR`, listings).
    Send,
    /// Client to server (`STOR`, `APPE`, `STOU`).
    Receive,
}

/// What the session asks the driver to do about data connections.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataAction {
    /// Open a passive listener of this family, on the control connection's
    /// local address, and report [`DataEvent::Listening`] (or
    /// [`DataEvent::ListenFailed`]). Pick the port at random from the
    /// configured range (RFC 2577 section 8).
    Listen {
        /// The setup.
        id: DataId,
        /// IPv4 for PASV; the requested or control family for EPSV.
        family: NetProto,
        /// EPSV (RFC 2428) rather than PASV: a driver may treat the two
        /// apart (their clients differ; see ftp-tokio's reply pacing).
        extended: bool,
    },
    /// Keep the connection that was reported with [`DataEvent::Incoming`].
    /// When `tls.required`, start the server side of the TLS handshake on it
    /// at once: some clients (aioftp) run the handshake before they send
    /// the transfer command, and would wait forever for a server that only
    /// starts it at [`DataAction::Transfer`].
    Accept {
        /// The setup.
        id: DataId,
        /// Protection in force when the connection arrived.
        tls: DataTls,
    },
    /// Close the connection that was reported with [`DataEvent::Incoming`]
    /// and keep listening: it came from another host than the control peer
    /// (port theft, RFC 2577 section 8; SECURITY.md D3), or a connection is
    /// already open.
    Reject {
        /// The setup.
        id: DataId,
        /// The refused peer.
        peer: SocketAddr,
    },
    /// Connect to the client's address (PORT/EPRT), then report
    /// [`DataEvent::Connected`] or [`DataEvent::ConnectFailed`].
    Connect {
        /// The setup.
        id: DataId,
        /// The client's address.
        addr: SocketAddr,
        /// Protection in force: when required, the driver may start the TLS
        /// handshake as soon as the connection is made.
        tls: DataTls,
    },
    /// Move the bytes of `request` over the connection: run (or finish) the
    /// TLS handshake first when `tls.required`, then copy, then report
    /// [`DataEvent::Finished`] or [`DataEvent::Failed`].
    Transfer {
        /// The setup whose connection to use.
        id: DataId,
        /// The request whose file or listing to move.
        request: RequestId,
        /// Send or receive.
        direction: Direction,
        /// TLS requirement.
        tls: DataTls,
    },
    /// Stop the transfer, if any, and close the connection and listener.
    /// Report nothing more for this id.
    Close {
        /// The setup.
        id: DataId,
    },
}

/// Why a transfer did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataFailure {
    /// The data connection broke: 426.
    ConnectionLost,
    /// Reading or writing the storage failed: 451.
    Storage,
    /// The storage is full (`ENOSPC`): 452 (RFC 959 4.2: "Requested action
    /// not taken. Insufficient storage space in system").
    StorageFull,
    /// The user's quota is used up (`EDQUOT`, or the server's own quota):
    /// 552 ("Requested file action aborted. Exceeded storage allocation").
    QuotaExceeded,
    /// The data connection's TLS handshake failed: 522 (RFC 4217 10.2).
    TlsFailed,
    /// The data connection's TLS session did not resume the control
    /// connection's session: 522 (SECURITY.md L6).
    TlsNotResumed,
    /// The upload ended without a TLS close_notify: possibly truncated
    /// (SECURITY.md L7): 426.
    Truncated,
}

/// What the driver reports about a data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataEvent {
    /// The passive listener is open on `addr`.
    Listening {
        /// The bound address (its port goes into 227/229).
        addr: SocketAddr,
    },
    /// The listener could not be opened.
    ListenFailed,
    /// A connection arrived on the passive listener. The session answers
    /// with [`DataAction::Accept`] or [`DataAction::Reject`] in the same drain.
    Incoming {
        /// Its source address.
        peer: SocketAddr,
    },
    /// The active connection (PORT/EPRT) is open.
    Connected,
    /// The active connection could not be made.
    ConnectFailed,
    /// Bytes moved so far (optional; keeps the stall timer from firing and
    /// feeds STAT).
    Progress {
        /// Total so far.
        bytes: u64,
    },
    /// The transfer completed.
    Finished {
        /// Total bytes moved.
        bytes: u64,
    },
    /// A protected upload reached the end of the stream, but the peer closed
    /// the TLS connection without a close_notify alert, so a forged or
    /// premature TCP FIN cannot be told from the real end (SECURITY.md L7).
    /// The session answers 226 and reports
    /// [`Event::UploadPossiblyTruncated`](super::Event::UploadPossiblyTruncated),
    /// or 426 when the configuration requires close_notify.
    FinishedWithoutCloseNotify {
        /// Total bytes received.
        bytes: u64,
    },
    /// The transfer failed.
    Failed {
        /// Bytes moved before the failure.
        bytes: u64,
        /// Why.
        reason: DataFailure,
    },
}
