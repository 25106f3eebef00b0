//! What a server operator chooses: policies, limits and timeouts.
//!
//! Defaults come from the security checklist (docs/security.md, rows A1 and
//! C1 to C5: limits and timeouts) and the design notes (docs/design.md).

use core::net::Ipv4Addr;
use core::time::Duration;

use super::StorageCapabilities;
use bytes::Bytes;
use ftp_proto::{ParseOptions, Text};

/// The default of [`ServerConfig::data_stall_timeout`]: 300 s, as vsftpd's
/// `data_connection_timeout` (SECURITY.md C2).
pub const DEFAULT_DATA_STALL_TIMEOUT: Duration = Duration::from_secs(300);

/// The default of [`ServerConfig::line_timeout`]: 15 s from the first byte
/// of a command line to its end (SECURITY.md C1). Every FTP client sends a
/// command in one write; 15 s leaves a person typing into a character-mode
/// telnet time for a line, as Apache's `mod_reqtimeout` (20 s for a whole
/// request header) does for HTTP.
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(15);

/// Server session configuration. Share one among sessions with an `Arc`.
///
/// ```
/// use std::time::Duration;
/// use ftp_session::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .anonymous(true)
///     .passive_address(Some("203.0.113.7".parse().unwrap()))
///     .idle_timeout(Duration::from_secs(120));
/// assert!(config.is_anonymous_allowed());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    pub(crate) greeting: Text,
    pub(crate) anonymous: bool,
    pub(crate) max_login_failures: u32,
    pub(crate) failed_login_delay: Duration,
    pub(crate) passive_address: Option<Ipv4Addr>,
    pub(crate) allow_foreign_data_address: bool,
    pub(crate) allow_privileged_data_port: bool,
    pub(crate) tls_available: bool,
    pub(crate) implicit_tls: bool,
    pub(crate) require_tls_login: bool,
    pub(crate) allow_plaintext_anonymous: bool,
    pub(crate) require_tls_data: bool,
    pub(crate) require_tls_resumption: bool,
    pub(crate) require_tls_close_notify: bool,
    pub(crate) allow_ccc: bool,
    pub(crate) site_enabled: bool,
    pub(crate) default_umask: super::Umask,
    pub(crate) storage_capabilities: StorageCapabilities,
    pub(crate) max_consecutive_errors: u32,
    pub(crate) max_session_errors: u32,
    pub(crate) idle_timeout: Duration,
    pub(crate) login_timeout: Duration,
    pub(crate) line_timeout: Option<Duration>,
    pub(crate) data_connect_timeout: Duration,
    pub(crate) data_stall_timeout: Duration,
    /// Whether [`data_stall_timeout`](Self::data_stall_timeout) was set
    /// explicitly; until it is, it follows the idle timeout down.
    pub(crate) data_stall_timeout_set: bool,
    pub(crate) parse_options: ParseOptions,
    pub(crate) system_type: Text,
    pub(crate) max_pending_commands: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            greeting: Text::from_static("ftpkit ready"),
            anonymous: false,
            max_login_failures: 3,
            failed_login_delay: Duration::from_secs(2),
            passive_address: None,
            allow_foreign_data_address: false,
            allow_privileged_data_port: false,
            tls_available: false,
            implicit_tls: false,
            require_tls_login: false,
            allow_plaintext_anonymous: false,
            require_tls_data: false,
            require_tls_resumption: true,
            require_tls_close_notify: false,
            allow_ccc: false,
            site_enabled: false,
            default_umask: super::Umask::DEFAULT,
            storage_capabilities: StorageCapabilities::NONE,
            max_consecutive_errors: 3,
            max_session_errors: 10,
            idle_timeout: Duration::from_secs(300),
            login_timeout: Duration::from_secs(120),
            line_timeout: Some(DEFAULT_LINE_TIMEOUT),
            data_connect_timeout: Duration::from_secs(60),
            data_stall_timeout: DEFAULT_DATA_STALL_TIMEOUT,
            data_stall_timeout_set: false,
            parse_options: ParseOptions::default(),
            system_type: Text::from_static("UNIX Type: L8"),
            max_pending_commands: 32,
        }
    }
}

impl ServerConfig {
    /// The text of the 220 greeting. Line breaks are replaced by spaces.
    #[must_use]
    pub fn greeting(mut self, text: &str) -> Self {
        let clean: Vec<u8> = text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        self.greeting = Text::new(Bytes::from(clean)).unwrap_or_else(|_| Text::from_static("ready"));
        self
    }

    setter!(
        /// Accept `anonymous` and `ftp` with any password (default: no).
        anonymous: bool
    );
    setter!(
        /// Failed `PASS` attempts before 421 and close (SECURITY.md A1; default 3).
        max_login_failures: u32
    );
    setter!(
        /// How long a failed login's 530 is held back (A1; default 2 s). The
        /// session reports it as a deadline; it never sleeps.
        failed_login_delay: Duration
    );
    setter!(
        /// The IPv4 address advertised in 227 replies, for a server behind
        /// NAT. Default: the control connection's local address.
        passive_address: Option<Ipv4Addr>
    );
    setter!(
        /// Allow PORT/EPRT to another host than the control peer, and passive
        /// data connections from other hosts (FXP; default no, RFC 2577 and
        /// SECURITY.md D1, D3).
        allow_foreign_data_address: bool
    );
    setter!(
        /// Allow PORT/EPRT to ports below 1024 (default no, RFC 2577 bounce).
        allow_privileged_data_port: bool
    );
    setter!(
        /// Whether the driver can run TLS: enables `AUTH TLS` (RFC 4217).
        tls_available: bool
    );
    setter!(
        /// The control connection is TLS from the first byte (implicit FTPS).
        implicit_tls: bool
    );
    setter!(
        /// Refuse USER/PASS on a plaintext control connection (A7; 530),
        /// the anonymous account's included unless
        /// [`allow_plaintext_anonymous`](Self::allow_plaintext_anonymous).
        require_tls_login: bool
    );
    setter!(
        /// With [`require_tls_login`](Self::require_tls_login), still let
        /// the anonymous account in before `AUTH` (a public mirror that
        /// offers FTPS to named users; default no, SECURITY.md A7).
        allow_plaintext_anonymous: bool
    );
    setter!(
        /// Refuse transfers on an unprotected data channel (L5; 521).
        require_tls_data: bool
    );
    setter!(
        /// Data-connection TLS must resume this control connection's session
        /// (L6; default yes). Carried on every data action for the driver.
        require_tls_resumption: bool
    );
    setter!(
        /// Refuse (426) a protected upload whose data connection ended without
        /// a TLS close_notify, instead of accepting it and reporting it as
        /// possibly truncated (SECURITY.md L7; default no, as vsftpd's
        /// `strict_ssl_read_eof`: many clients never send close_notify).
        require_tls_close_notify: bool
    );
    setter!(
        /// Allow `CCC` after login (default no: 533).
        allow_ccc: bool
    );
    setter!(
        /// Pass `SITE` commands to the application (default no: 502).
        site_enabled: bool
    );
    setter!(
        /// The optional operations the storage implements (default none):
        /// a verb that needs one it lacks is neither advertised (FEAT,
        /// HELP) nor served (502, without a request). A driver sets it from
        /// its storage, as `ftp_tokio`'s server does.
        storage_capabilities: StorageCapabilities
    );
    setter!(
        /// Consecutive protocol errors before 421 and close (S4; default 3).
        max_consecutive_errors: u32
    );
    setter!(
        /// Protocol errors in a session before 421 and close (S4; default 10).
        max_session_errors: u32
    );
    /// No command for this long: 421 and close (C1; default 300 s).
    ///
    /// Unless [`data_stall_timeout`](Self::data_stall_timeout) is set
    /// explicitly (before or after), a shorter idle timeout also shortens the
    /// stall timeout to the same value, so that a silent data connection
    /// cannot hold a session longer than a silent control connection could
    /// (SECURITY.md C2).
    #[must_use]
    pub fn idle_timeout(mut self, value: Duration) -> Self {
        self.idle_timeout = value;
        if !self.data_stall_timeout_set {
            self.data_stall_timeout = DEFAULT_DATA_STALL_TIMEOUT.min(value);
        }
        self
    }
    setter!(
        /// The mask `SITE UMASK` reports before a session sets its own: what
        /// the storage applies by default (for a local file system, the
        /// server process's umask; `ftpkit serve` reads it). Default `022`.
        default_umask: super::Umask
    );
    setter!(
        /// Not logged in this long after connecting: 421 and close (C1;
        /// default 120 s).
        login_timeout: Duration
    );
    setter!(
        /// A command line must end (CRLF) within this time of its first byte,
        /// or 421 and close; `None` turns the deadline off (SECURITY.md C1;
        /// default [`DEFAULT_LINE_TIMEOUT`]). The idle timer counts complete
        /// commands only, so without this deadline a client trickling one byte
        /// a second holds its session until the idle timeout ends it; with
        /// it, such a session lasts this long.
        line_timeout: Option<Duration>
    );
    setter!(
        /// A data connection not made within this time: 425 (C2; default 60 s).
        ///
        /// The same deadline reclaims a passive listener the session does not
        /// use: when the session has been idle (no command, no transfer) this
        /// long with a PASV/EPSV setup open, the setup is closed without a
        /// reply and a later transfer command gets 425 (SECURITY.md C2, D6;
        /// so idle sessions cannot hold the passive port range).
        data_connect_timeout: Duration
    );

    /// A transfer with no progress for this long: 426 (C2). Default 300 s,
    /// or the [`idle_timeout`](Self::idle_timeout) when that is shorter and
    /// this was never set.
    #[must_use]
    pub fn data_stall_timeout(mut self, value: Duration) -> Self {
        self.data_stall_timeout = value;
        self.data_stall_timeout_set = true;
        self
    }
    setter!(
        /// Leniency and limits of the command decoder.
        parse_options: ParseOptions
    );
    setter!(
        /// Commands buffered while a transfer or request is in progress before
        /// the session stops reading (C4; default 32).
        max_pending_commands: usize
    );

    /// Whether anonymous login is enabled.
    #[must_use]
    pub fn is_anonymous_allowed(&self) -> bool {
        self.anonymous
    }

    /// The data stall timeout in force: the one set, else the default
    /// bounded by the idle timeout (see
    /// [`data_stall_timeout`](Self::data_stall_timeout)).
    #[must_use]
    pub fn data_stall_timeout_in_force(&self) -> Duration {
        self.data_stall_timeout
    }

    /// The failed-login delay in force (see
    /// [`failed_login_delay`](Self::failed_login_delay)); a driver paces
    /// password checks per client address with it (SECURITY.md A2).
    #[must_use]
    pub fn failed_login_delay_in_force(&self) -> Duration {
        self.failed_login_delay
    }

    /// Whether a protected upload that ends without TLS close_notify is
    /// refused (see [`require_tls_close_notify`](Self::require_tls_close_notify));
    /// a driver that writes uploads under a temporary name then does not
    /// rename such an upload over its target (SECURITY.md L7).
    #[must_use]
    pub fn require_tls_close_notify_in_force(&self) -> bool {
        self.require_tls_close_notify
    }
}
