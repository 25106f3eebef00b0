//! Client configuration: TLS, data-connection mode and the 227 policy.

use core::time::Duration;

use ftp_proto::ParseOptions;

/// How the control connection is protected (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain FTP.
    Off,
    /// `AUTH TLS` before login. A server that refuses it is an error unless
    /// `allow_plaintext_fallback`.
    Explicit {
        /// Continue in plaintext when the server refuses `AUTH TLS`.
        allow_plaintext_fallback: bool,
    },
    /// TLS from the first byte (the caller ran the handshake before feeding
    /// the greeting).
    Implicit,
}

/// What to do with the address in a 227 reply (SECURITY.md D5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasvPolicy {
    /// Ignore the 227 address and connect to the control connection's peer
    /// (curl's default since CVE-2020-8284, Python's since CVE-2021-4189).
    UseControlPeer,
    /// Use the 227 address unless it is private, loopback, link-local or
    /// unspecified while the control peer is not; then use the control peer
    /// (a server behind NAT advertising its internal address).
    SubstituteUnroutable,
    /// Use the 227 address as given.
    Trust,
}

/// How data connections are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataMode {
    /// EPSV, falling back to PASV (the client connects).
    Passive,
    /// PORT (IPv4) or EPRT (IPv6): the client listens, the server connects.
    Active,
}

/// Client session configuration.
///
/// ```
/// use ftp_session::client::{ClientConfig, PasvPolicy, TlsMode};
/// let config = ClientConfig::default()
///     .tls(TlsMode::Explicit { allow_plaintext_fallback: false })
///     .pasv_policy(PasvPolicy::SubstituteUnroutable);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    pub(crate) tls: TlsMode,
    pub(crate) protect_data: bool,
    pub(crate) resume_tls_session: bool,
    pub(crate) pasv_policy: PasvPolicy,
    pub(crate) data_mode: DataMode,
    pub(crate) epsv: bool,
    pub(crate) ascii: bool,
    pub(crate) auto_feat: bool,
    pub(crate) reply_timeout: Duration,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) parse_options: ParseOptions,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            tls: TlsMode::Off,
            protect_data: true,
            resume_tls_session: true,
            pasv_policy: PasvPolicy::UseControlPeer,
            data_mode: DataMode::Passive,
            epsv: true,
            ascii: false,
            auto_feat: true,
            reply_timeout: Duration::from_secs(60),
            keepalive: None,
            parse_options: ParseOptions::default(),
        }
    }
}

impl ClientConfig {
    /// Whether files are transferred in `TYPE A`, so a driver knows to
    /// convert line ends (RFC 959 3.1.1.1).
    #[must_use]
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    setter!(
        /// Control connection protection (default: off).
        tls: TlsMode
    );
    setter!(
        /// With TLS, `PROT P` (default) or `PROT C` for data connections.
        protect_data: bool
    );
    setter!(
        /// Data-connection TLS resumes the control connection's session
        /// (default yes; vsftpd's `require_ssl_reuse`).
        resume_tls_session: bool
    );
    setter!(
        /// What to do with 227 addresses (default: use the control peer).
        pasv_policy: PasvPolicy
    );
    setter!(
        /// Passive (default) or active data connections.
        data_mode: DataMode
    );
    setter!(
        /// Try `EPSV` first in passive mode (default yes, falling back to
        /// `PASV` for the session once refused); off sends `PASV` only, as
        /// curl's `--disable-epsv`, for middleboxes that mangle EPSV.
        epsv: bool
    );
    setter!(
        /// Transfer files in `TYPE A` instead of `TYPE I` (default: binary).
        ascii: bool
    );
    setter!(
        /// Send `FEAT` (and `OPTS UTF8 ON` when offered) after login (default yes).
        auto_feat: bool
    );
    setter!(
        /// How long to wait for a reply before failing (default 60 s, as curl).
        reply_timeout: Duration
    );
    setter!(
        /// Send `NOOP` after this much idle time (default: never).
        keepalive: Option<Duration>
    );
    setter!(
        /// Leniency and limits of the reply decoder.
        parse_options: ParseOptions
    );
}
