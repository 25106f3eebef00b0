//! Our server, in process.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ftp_tokio::server::{Server, ServerOptions, User};

/// `ftp_tokio::server::Server` on an ephemeral 127.0.0.1 port, serving a
/// fresh directory to [`crate::USER`] (writable), in its own runtime
/// thread; stopped on drop.
#[derive(Debug)]
pub struct OurServer {
    addr: SocketAddr,
    root: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OurServer {
    /// Starts a plain FTP server; `tweak` adjusts the options first.
    ///
    /// # Panics
    /// The server cannot bind or does not report its address in 10 s.
    #[must_use]
    pub fn start(tweak: impl FnOnce(&mut ServerOptions)) -> Self {
        let root = crate::served_dir();
        let mut options = ServerOptions::new("127.0.0.1:0".parse().expect("address"), root.path().to_path_buf());
        options.anonymous = false;
        options.users = vec![User { name: crate::USER.into(), password: crate::PASSWORD.into(), writable: true }];
        // As `ftpkit serve` runs: sessions on threads of their own.
        options.session_threads = 2;
        tweak(&mut options);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let server = Server::bind(options).await.expect("bind our server");
                addr_tx.send(server.local_addr().expect("local address")).expect("report address");
                tokio::select! {
                    result = server.run() => result.expect("our server"),
                    _ = stop_rx => {}
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(5));
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("our server did not start");
        Self { addr, root, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// Starts a server offering explicit FTPS (`AUTH TLS`, RFC 4217) with a
    /// fresh self-signed certificate; `tweak` adjusts the options first.
    ///
    /// # Panics
    /// See [`start`](Self::start); also certificate generation failing.
    #[must_use]
    pub fn start_tls(tweak: impl FnOnce(&mut ServerOptions)) -> Self {
        Self::start(|options| {
            options.tls = Some(ftp_tokio::tls::self_signed().expect("self-signed certificate"));
            tweak(options);
        })
    }

    /// The listening address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The served directory (the user's `/`).
    #[must_use]
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

impl Drop for OurServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
