//! FTPS (RFC 4217) with rustls: certificates, and the per-session
//! resumption store that makes the data-connection check meaningful.
//!
//! SECURITY.md L6: a data connection's TLS session must resume the control
//! connection's session, proving the peer on the data port is the one that
//! logged in. In one process serving many sessions, "resumed" alone proves
//! nothing (an attacker can resume his own session), so every control
//! connection gets its own copy of the configuration with its own session
//! store and its own session-ticket key: only sessions made on that control
//! connection can be resumed on its data connections.
//!
//! Tickets are stateless (encrypted under the control connection's own key)
//! so that any number of data connections can resume with the one ticket a
//! client keeps offering (GnuTLS in wget, OpenSSL in lftp), and so that Go
//! clients (rclone), which resume TLS 1.2 only with tickets, can resume at
//! all. Session ids (TLS 1.2 clients without tickets) go to the per-session
//! store. Where tickets are sent is decided per connection (`SessionTls`, inside this module).
//!
//! ## Features
//!
//! With the `rustls` feature (a default), this module holds the FTPS of
//! the server and the client, on the crypto provider `provider()` picks
//! (`ring`, a default, or `aws-lc-rs`); `self_signed()` needs the
//! `self-signed` feature (rcgen). Without `rustls` the crate speaks plain
//! FTP only: [`ServerConfig`] and [`RootCertStore`] stay, so code naming
//! them builds either way, but they are empty types. A server's `tls` is
//! then always `None`: it answers `AUTH` with 502 and leaves `AUTH TLS`,
//! `PBSZ` and `PROT` out of `FEAT`; a client asked for explicit or implicit
//! FTPS fails at connect with
//! [`ClientError::TlsUnavailable`](crate::client::ClientError::TlsUnavailable).

use std::sync::Arc;

#[cfg(not(feature = "rustls"))]
mod off;
#[cfg(feature = "rustls")]
mod on;

#[cfg(not(feature = "rustls"))]
pub use off::{RootCertStore, ServerConfig};
#[cfg(feature = "self-signed")]
pub use on::self_signed;
#[cfg(feature = "rustls")]
pub use on::{AcceptAnyCertificate, from_der, from_pem, provider};
#[cfg(feature = "rustls")]
pub use rustls::{RootCertStore, ServerConfig};

// What the drivers use, the same in both builds.
#[cfg(not(feature = "rustls"))]
pub(crate) use off::*;
#[cfg(feature = "rustls")]
pub(crate) use on::{
    Acceptor, AddressKeys, ClientStream, Connector, ServerStream, accept, accept_data, acceptor, clear, connect,
    connector, into_tcp, per_session, protocol_version, resumed, resumption_data, send_close_notify, tagged_session,
    tcp,
};

/// One control connection's TLS settings: its own copy of the
/// configuration with its own session store (see the module docs), and two
/// copies for its data connections sharing that store.
///
/// Why two: TLS 1.3 session tickets on a data connection are needed by
/// clients whose tickets are single-use (rustls, the suppaftp crate): each
/// data connection resumes with one ticket and needs a fresh one for the
/// next. But an uploading client never reads from the data connection, so
/// tickets sent there sit unread in its socket; when it closes, its kernel
/// answers the unread bytes with a TCP reset, which discards the upload
/// bytes not yet delivered: the file is cut short (issue 12, seen with
/// suppaftp and rclone). So tickets go only where the client reads to the
/// end: downloads and listings.
pub(crate) struct SessionTls {
    /// For the control connection: issues the tickets (TLS 1.3) or session
    /// id (TLS 1.2) that data connections resume.
    pub(crate) control: Arc<ServerConfig>,
    /// For a data connection known to carry a download or a listing:
    /// resumes the control session and sends fresh tickets.
    pub(crate) data_with_tickets: Arc<ServerConfig>,
    /// For any other data connection (an upload, or one whose handshake
    /// starts before the transfer command): resumes, sends no tickets.
    pub(crate) data_without_tickets: Arc<ServerConfig>,
}

/// Which control connection issued the session a data connection just
/// resumed, as the tagged ticket key and store (below) found it. rustls
/// carries resumption data only in TLS 1.3 tickets; this tells the issuer
/// under TLS 1.2 too (session ids and tickets).
#[derive(Debug, Default)]
pub(crate) struct IssuerSlot(std::sync::Mutex<Option<u64>>);

impl IssuerSlot {
    /// The issuer the last resumption found, once.
    pub(crate) fn take(&self) -> Option<u64> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}
