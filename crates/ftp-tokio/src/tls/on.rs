//! The TLS of a build with the `rustls` feature: rustls and tokio-rustls,
//! with the crypto provider [`provider`] chooses.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::ServerSessionMemoryCache;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{IssuerSlot, SessionTls};
use crate::client::{ClientError, ClientOptions};

#[cfg(all(feature = "self-signed", not(any(feature = "ring", feature = "aws-lc-rs"))))]
compile_error!("ftp-tokio's `self-signed` feature needs a crypto provider for rcgen: `ring` or `aws-lc-rs`");

/// The crypto provider of every TLS configuration this crate makes (the
/// server's, the client's, and the signature checks of
/// [`AcceptAnyCertificate`]): aws-lc-rs with the `aws-lc-rs` feature, else
/// *ring* with the `ring` feature (the default), else the process default
/// an application installed with [`CryptoProvider::install_default`].
///
/// # Errors
/// Neither feature is on and no process default is installed.
pub fn provider() -> Result<Arc<CryptoProvider>, String> {
    #[cfg(feature = "aws-lc-rs")]
    {
        Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    {
        Ok(Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    {
        CryptoProvider::get_default().cloned().ok_or_else(|| {
            "no crypto provider: turn on ftp-tokio's `ring` or `aws-lc-rs` feature, or install a process default"
                .to_owned()
        })
    }
}

/// A fresh session-ticket key from the provider's own ticketer; `None`
/// without a provider feature (sessions are then kept in the store only).
fn ticketer() -> Option<Arc<dyn rustls::server::ProducesTickets>> {
    #[cfg(feature = "aws-lc-rs")]
    {
        rustls::crypto::aws_lc_rs::Ticketer::new().ok()
    }
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    {
        rustls::crypto::ring::Ticketer::new().ok()
    }
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    {
        None
    }
}

/// A configuration from a certificate chain and its private key, in DER
/// (certificates kept elsewhere than in PEM files).
///
/// # Errors
/// No crypto provider ([`provider`]), or the key does not fit the
/// certificate.
pub fn from_der(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::builder_with_provider(provider()?)
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
    from_der(certs, key)
}

/// A configuration with a fresh self-signed certificate for `localhost`
/// and 127.0.0.1, for local use.
///
/// With the `self-signed` feature (rcgen).
///
/// # Errors
/// Key generation failed.
#[cfg(feature = "self-signed")]
pub fn self_signed() -> Result<Arc<ServerConfig>, String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der());
    from_der(vec![certified.cert.der().clone()], key.into())
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
    if let Some(ticketer) = ticketer() {
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
        let ticketer = ticketer().unwrap_or_else(|| base.ticketer.clone());
        Self { ticketer, store }
    }
}

impl IssuerSlot {
    fn set(&self, issuer: u64) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(issuer);
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
/// let provider = ftp_tokio::tls::provider().unwrap();
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

/// A server-side TLS acceptor (a control connection's own configuration).
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;

/// A server-side TLS stream, control or data.
pub(crate) type ServerStream = tokio_rustls::server::TlsStream<TcpStream>;

/// The acceptor of `config`.
pub(crate) fn acceptor(config: Arc<ServerConfig>) -> Acceptor {
    config.into()
}

/// The server side of a handshake; the sessions it issues carry `tag` as
/// resumption data.
pub(crate) async fn accept(acceptor: &Acceptor, stream: TcpStream, tag: [u8; 8]) -> io::Result<ServerStream> {
    acceptor.accept_with(stream, |conn| conn.set_resumption_data(&tag)).await
}

/// The server side of a data connection's handshake: `with_tickets` if
/// `send_tickets()`, asked once the ClientHello has arrived, says so, else
/// `without_tickets`; the sessions it issues carry `tag`.
pub(crate) async fn accept_data(
    stream: TcpStream,
    with_tickets: &Arc<ServerConfig>,
    without_tickets: &Arc<ServerConfig>,
    send_tickets: impl FnOnce() -> bool,
    tag: [u8; 8],
) -> io::Result<ServerStream> {
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
    let config = if send_tickets() { with_tickets.clone() } else { without_tickets.clone() };
    start.into_stream_with(config, |conn| conn.set_resumption_data(&tag)).await
}

/// Whether the handshake resumed a session.
pub(crate) fn resumed(stream: &ServerStream) -> bool {
    stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// The resumption data of the session the handshake resumed (TLS 1.3).
pub(crate) fn resumption_data(stream: &ServerStream) -> Option<Vec<u8>> {
    stream.get_ref().1.received_resumption_data().map(<[u8]>::to_vec)
}

/// Most bytes read (and discarded) while waiting for the peer's close_notify.
const MAX_DISCARD_BEFORE_CLOSE_NOTIFY: usize = 64 * 1024;

/// The largest TLS record (RFC 8446 section 5.2: 2^14 + 256 of ciphertext;
/// TLS 1.2 allows up to 2^14 + 2048).
const MAX_TLS_RECORD: usize = (1 << 14) + 2048;

/// RFC 4217 sections 12.3 (CCC) and 13 (REIN) on the server: send
/// close_notify, wait for the peer's, and hand back the TCP connection for
/// plaintext. Anything that arrives before the peer's close_notify is
/// discarded, never run (SECURITY.md L1).
///
/// The peer's records are read from the socket one at a time (a 5-byte
/// header, then exactly its length), never more: the plaintext command a
/// client sends right after its close_notify may already be in the socket,
/// and must stay there for the plaintext reader.
pub(crate) async fn clear(stream: ServerStream) -> io::Result<TcpStream> {
    let (mut tcp, mut tls) = stream.into_inner();
    tls.send_close_notify();
    let mut out = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut out)?;
    }
    tcp.write_all(&out).await?;
    let mut discarded = 0usize;
    let mut sink = [0u8; 4096];
    loop {
        let state = tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        // Application data before the close_notify: dropped.
        while let Ok(n @ 1..) = io::Read::read(&mut tls.reader(), &mut sink) {
            discarded += n;
        }
        if state.peer_has_closed() {
            return Ok(tcp);
        }
        if discarded > MAX_DISCARD_BEFORE_CLOSE_NOTIFY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no close_notify from the peer"));
        }
        let mut record = vec![0u8; 5];
        tcp.read_exact(&mut record).await?;
        let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
        if len > MAX_TLS_RECORD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "oversized TLS record"));
        }
        record.resize(5 + len, 0);
        tcp.read_exact(&mut record[5..]).await?;
        discarded += record.len();
        let mut rest = &record[..];
        while !rest.is_empty() {
            if tls.read_tls(&mut rest)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// A client's TLS settings for one server: the connector and the name to
/// send and verify.
#[derive(Clone)]
pub(crate) struct Connector(tokio_rustls::TlsConnector, ServerName<'static>);

/// A client-side TLS stream, control or data.
pub(crate) type ClientStream = tokio_rustls::client::TlsStream<TcpStream>;

/// The rustls client configuration: system roots (or the given ones, or
/// none with `insecure`), ALPN `ftp` (SECURITY.md L10), and the default
/// in-memory resumption store, shared by the control and data connections
/// so data connections resume the control session (SECURITY.md L6).
pub(crate) fn connector(options: &ClientOptions, host: &str) -> Result<Connector, ClientError> {
    let provider = provider().map_err(ClientError::Tls)?;
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        if options.tls12_only { &[&rustls::version::TLS12] } else { rustls::DEFAULT_VERSIONS };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let mut config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(provider)))
            .with_no_client_auth()
    } else {
        let roots = match &options.roots {
            Some(roots) => (**roots).clone(),
            None => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
                roots
            }
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"ftp".to_vec()];
    let name = options.server_name.as_deref().unwrap_or(host);
    let name = ServerName::try_from(name.to_owned()).map_err(|e| ClientError::Tls(format!("{name}: {e}")))?;
    Ok(Connector(tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// The client side of a handshake.
pub(crate) async fn connect(connector: &Connector, stream: TcpStream) -> io::Result<ClientStream> {
    connector.0.connect(connector.1.clone(), stream).await
}

/// The TLS version a client stream runs, for the transcript.
pub(crate) fn protocol_version(stream: &ClientStream) -> String {
    stream.get_ref().1.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default()
}

/// Queues the client's close_notify (sent by the next flush).
pub(crate) fn send_close_notify(stream: &mut ClientStream) {
    stream.get_mut().1.send_close_notify();
}

/// The TCP connection under a client stream.
pub(crate) fn tcp(stream: &ClientStream) -> &TcpStream {
    stream.get_ref().0
}

/// The TCP connection under a client stream, for plaintext after CCC or
/// REIN.
pub(crate) fn into_tcp(stream: ClientStream) -> TcpStream {
    stream.into_inner().0
}
