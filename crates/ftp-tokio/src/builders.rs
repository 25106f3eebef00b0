//! Builder-style setters for [`ServerOptions`] and [`ClientOptions`], so
//! that a program names only what it changes, in one expression:
//!
//! ```
//! use std::time::Duration;
//! use ftp_tokio::background::Background;
//! use ftp_tokio::client::{Client, ClientOptions};
//! use ftp_tokio::memory::MemoryFs;
//! use ftp_tokio::server::ServerOptions;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let files = MemoryFs::new();
//! files.write_file("/hello.txt", b"hello\n")?;
//! let server = Background::start(
//!     ServerOptions::new("127.0.0.1:0".parse()?, ".".into())
//!         .storage(files)
//!         .anonymous(false)
//!         .user("alice", "secret", true)
//!         .max_sessions(10),
//! )?;
//! let options = ClientOptions::default().connect_timeout(Duration::from_secs(5)).data_timeout(Duration::from_secs(5));
//! let mut client = Client::connect("127.0.0.1", server.addr().port(), options).await?;
//! client.login("alice", "secret").await?;
//! assert_eq!(client.size("hello.txt").await?, 6);
//! client.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The fields stay public: a setter is only a shorter way to set one.

use std::sync::Arc;
use std::time::Duration;

use ftp_session::client::ClientConfig;
use ftp_session::server::ServerConfig;

use crate::auth::{Authenticator, User};
use crate::client::{ClientOptions, Security, Transcript};
use crate::server::ServerOptions;
use crate::storage::Storage;

impl ServerOptions {
    /// Serves `storage` instead of the local directory [`root`](Self::root)
    /// ([`MemoryFs`](crate::memory::MemoryFs), an object store, your own).
    #[must_use]
    pub fn storage(mut self, storage: impl Storage + 'static) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// Checks logins with `authenticator` instead of
    /// [`users`](Self::users) and [`anonymous`](Self::anonymous).
    #[must_use]
    pub fn authenticator(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Whether anonymous logins are taken (`anonymous`/`ftp`, any password).
    #[must_use]
    pub fn anonymous(mut self, on: bool) -> Self {
        self.anonymous = on;
        self
    }

    /// Whether anonymous users may write.
    #[must_use]
    pub fn anonymous_writable(mut self, on: bool) -> Self {
        self.anonymous_writable = on;
        self
    }

    /// Adds a user with a password, writable or read-only.
    #[must_use]
    pub fn user(mut self, name: &str, password: &str, writable: bool) -> Self {
        self.users.push(User { name: name.into(), password: password.into(), writable });
        self
    }

    /// Passive data ports from this range (inclusive), for firewalls.
    #[must_use]
    pub fn passive_ports(mut self, first: u16, last: u16) -> Self {
        self.passive_ports = Some((first, last));
        self
    }

    /// Sessions at once, in all (421 beyond).
    #[must_use]
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n;
        self
    }

    /// Sessions at once from one address (421 beyond).
    #[must_use]
    pub fn max_sessions_per_ip(mut self, n: usize) -> Self {
        self.max_sessions_per_ip = n;
        self
    }

    /// Threads that run sessions (each a single-threaded runtime); 0 runs
    /// them on the caller's runtime.
    #[must_use]
    pub fn session_threads(mut self, n: usize) -> Self {
        self.session_threads = n;
        self
    }

    /// The session's own settings (timeouts, limits, what is offered).
    #[must_use]
    pub fn session(mut self, config: ServerConfig) -> Self {
        self.session = config;
        self
    }

    /// FTPS with this rustls configuration: `AUTH TLS` (explicit), or TLS
    /// from the first byte with [`implicit_tls`](Self::implicit_tls).
    #[must_use]
    pub fn tls(mut self, config: Arc<crate::tls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Implicit FTPS (port 990's way) instead of `AUTH TLS`.
    #[must_use]
    pub fn implicit_tls(mut self, on: bool) -> Self {
        self.implicit_tls = on;
        self
    }

    /// Uploads into a temporary file renamed over the target only once
    /// complete.
    #[must_use]
    pub fn atomic_uploads(mut self, on: bool) -> Self {
        self.atomic_uploads = on;
        self
    }

    /// Takes the PROXY protocol (v1, v2) from load balancers in `network`.
    #[must_use]
    pub fn proxy_protocol_from(mut self, network: ipnet::IpNet) -> Self {
        self.proxy_protocol_from.push(network);
        self
    }
}

impl ClientOptions {
    /// Plain FTP, explicit FTPS (`AUTH TLS`) or implicit FTPS.
    #[must_use]
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Accepts any certificate (self-signed servers): encrypted, not
    /// authenticated.
    #[must_use]
    pub fn insecure(mut self, on: bool) -> Self {
        self.insecure = on;
        self
    }

    /// The name the certificate must carry, when it is not the host
    /// connected to.
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Offers TLS 1.2 only.
    #[must_use]
    pub fn tls12_only(mut self, on: bool) -> Self {
        self.tls12_only = on;
        self
    }

    /// Trusts these roots instead of the system's.
    #[must_use]
    pub fn roots(mut self, roots: Arc<crate::tls::RootCertStore>) -> Self {
        self.roots = Some(roots);
        self
    }

    /// The session's own settings (passive or active, EPSV, the 227
    /// address policy, TYPE A, the reply timeout).
    #[must_use]
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// How long the connection and the greeting may take.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a data connection may stall.
    #[must_use]
    pub fn data_timeout(mut self, timeout: Duration) -> Self {
        self.data_timeout = timeout;
        self
    }

    /// The largest listing taken, in bytes.
    #[must_use]
    pub fn max_listing(mut self, bytes: u64) -> Self {
        self.max_listing = bytes;
        self
    }

    /// Calls `transcript` with every line sent and received (passwords
    /// masked).
    #[must_use]
    pub fn transcript(mut self, transcript: Transcript) -> Self {
        self.transcript = Some(transcript);
        self
    }
}
