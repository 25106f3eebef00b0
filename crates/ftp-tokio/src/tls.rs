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

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ServerSessionMemoryCache;

fn build(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
    // SECURITY.md L10 (ALPACA): say which protocol this endpoint speaks.
    config.alpn_protocols = vec![b"ftp".to_vec()];
    Ok(Arc::new(config))
}

/// A configuration from a PEM certificate chain and a PEM private key.
///
/// # Errors
/// A file cannot be read or parsed, or the key does not fit the certificate.
pub fn from_pem(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    build(certs, key)
}

/// A configuration with a fresh self-signed certificate for `localhost`
/// and 127.0.0.1, for local use.
///
/// # Errors
/// Key generation failed.
pub fn self_signed() -> Result<Arc<ServerConfig>, String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    build(vec![certified.cert.der().clone()], key)
}

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

/// Tickets the control connection and each download send: more than
/// rustls's default of 2, so a client with single-use tickets can upload up
/// to this many files in a row before a download or listing renews its
/// supply (rustls clients keep 8 per server). Clients built on OpenSSL,
/// GnuTLS or Go reuse one ticket and never run out.
const TICKETS: usize = 8;

/// This control connection's own copies (see [`SessionTls`]).
pub(crate) fn per_session(base: &Arc<ServerConfig>) -> SessionTls {
    let mut control = (**base).clone();
    control.session_storage = Arc::new(ReusableSessions(ServerSessionMemoryCache::new(16)));
    // A key of this control connection's own (see the module docs). Making
    // one cannot fail short of the system's random source failing; then
    // the store alone serves (stateful tickets, still per session).
    if let Ok(ticketer) = rustls::crypto::ring::Ticketer::new() {
        control.ticketer = ticketer;
    }
    with_data_copies(control)
}

/// The control configuration and its two data copies (see [`SessionTls`]).
fn with_data_copies(mut control: ServerConfig) -> SessionTls {
    control.send_tls13_tickets = TICKETS;
    let data_with_tickets = control.clone();
    let mut data_without_tickets = control.clone();
    data_without_tickets.send_tls13_tickets = 0;
    SessionTls {
        control: Arc::new(control),
        data_with_tickets: Arc::new(data_with_tickets),
        data_without_tickets: Arc::new(data_without_tickets),
    }
}

/// The ticket key and session store the control connections of one client
/// address share (`TlsResumption::SameClient`).
pub(crate) struct AddressKeys {
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
    store: Arc<dyn rustls::server::StoresServerSessions>,
}

impl AddressKeys {
    /// A fresh key and an empty store.
    pub(crate) fn new(base: &ServerConfig) -> Self {
        let store = Arc::new(ReusableSessions(ServerSessionMemoryCache::new(256)));
        // As in `per_session`: without a key of its own (the system's random
        // source failed), `base`'s none, and stateful tickets in the store.
        let ticketer = rustls::crypto::ring::Ticketer::new().unwrap_or_else(|_| base.ticketer.clone());
        Self { ticketer, store }
    }
}

/// Which control connection issued the session a data connection just
/// resumed, as the tagged ticket key and store (below) found it. rustls
/// carries resumption data only in TLS 1.3 tickets; this tells the issuer
/// under TLS 1.2 too (session ids and tickets).
#[derive(Debug, Default)]
pub(crate) struct IssuerSlot(std::sync::Mutex<Option<u64>>);

impl IssuerSlot {
    fn set(&self, issuer: u64) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(issuer);
    }

    /// The issuer the last resumption found, once.
    pub(crate) fn take(&self) -> Option<u64> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

/// Control connection `issuer`'s copies over its address's shared key and
/// store: every session it issues is tagged with its id, and a resumption
/// on its data connections records in `slot` which connection issued the
/// session it resumed.
pub(crate) fn tagged_session(
    base: &Arc<ServerConfig>,
    keys: &AddressKeys,
    issuer: u64,
    slot: Arc<IssuerSlot>,
) -> SessionTls {
    let mut control = (**base).clone();
    control.ticketer = Arc::new(TaggedTickets { inner: keys.ticketer.clone(), issuer, slot: slot.clone() });
    control.session_storage = Arc::new(TaggedSessions { inner: keys.store.clone(), issuer, slot });
    with_data_copies(control)
}

/// Splits a tagged value into its issuer and the value itself.
fn untag(tagged: &[u8]) -> Option<(u64, Vec<u8>)> {
    let (id, rest) = tagged.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*id), rest.to_vec()))
}

fn tagged(issuer: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&issuer.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A shared ticket key whose tickets carry, inside the encryption, the id
/// of the control connection that issued them.
#[derive(Debug)]
struct TaggedTickets {
    inner: Arc<dyn rustls::server::ProducesTickets>,
    issuer: u64,
    slot: Arc<IssuerSlot>,
}

impl rustls::server::ProducesTickets for TaggedTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(&tagged(self.issuer, plain))
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let (issuer, plain) = untag(&self.inner.decrypt(cipher)?)?;
        self.slot.set(issuer);
        Some(plain)
    }
}

/// A shared session store whose entries carry the id of the control
/// connection that stored them.
#[derive(Debug)]
struct TaggedSessions {
    inner: Arc<dyn rustls::server::StoresServerSessions>,
    issuer: u64,
    slot: Arc<IssuerSlot>,
}

impl TaggedSessions {
    fn found(&self, value: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let (issuer, value) = untag(&value?)?;
        self.slot.set(issuer);
        Some(value)
    }
}

impl rustls::server::StoresServerSessions for TaggedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, tagged(self.issuer, &value))
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.inner.get(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.inner.take(key))
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// A session store whose TLS 1.3 tickets can be used more than once.
///
/// rustls makes stateful TLS 1.3 tickets single-use (`take`), against
/// replay of early data, which FTPS never sends. FTPS clients built on
/// OpenSSL or GnuTLS (lftp among them) offer the control connection's one
/// ticket on every data connection, as vsftpd accepts; with single-use
/// tickets the second data connection could not resume and would be
/// refused (SECURITY.md L6). The store is this control connection's own,
/// so reuse stays within the session that earned the ticket.
#[derive(Debug)]
struct ReusableSessions(Arc<ServerSessionMemoryCache>);

impl rustls::server::StoresServerSessions for ReusableSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key)
    }

    fn can_cache(&self) -> bool {
        self.0.can_cache()
    }
}

/// A client-side certificate verifier that accepts any server certificate:
/// `--insecure`, for servers with self-signed certificates (and tests).
/// Handshake signatures are still checked with the provider's algorithms,
/// so the handshake is sound; only the server's identity is not.
///
/// ```
/// use std::sync::Arc;
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let config = rustls::ClientConfig::builder_with_provider(provider.clone())
///     .with_safe_default_protocol_versions()
///     .unwrap()
///     .dangerous()
///     .with_custom_certificate_verifier(Arc::new(ftp_tokio::tls::AcceptAnyCertificate::new(provider)))
///     .with_no_client_auth();
/// # let _ = config;
/// ```
#[derive(Debug)]
pub struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl AcceptAnyCertificate {
    /// Checks signatures with `provider`'s algorithms.
    #[must_use]
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Self(provider)
    }
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
