//! A server on a thread of its own, for synchronous programs and tests.
//!
//! [`Server`] is async and wants a tokio runtime; a test or a blocking
//! program that only needs "an FTP server on some loopback port" gets one
//! here: its own thread, its own runtime, the bound address, and a stop
//! that runs the graceful shutdown.
//!
//! ```
//! use ftp_tokio::background::Background;
//! use ftp_tokio::server::ServerOptions;
//!
//! let root = std::env::temp_dir();
//! let server = Background::start(ServerOptions::new("127.0.0.1:0".parse().unwrap(), root)).unwrap();
//! let control = std::net::TcpStream::connect(server.addr()).unwrap();
//! # drop(control);
//! server.stop(std::time::Duration::from_secs(1));
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::server::{Server, ServerOptions, ShutdownHandle};

/// A running server on its own thread (see the [module docs](self)).
/// Dropping it starts a shutdown without waiting for it.
#[derive(Debug)]
pub struct Background {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    runtime: tokio::runtime::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Binds and starts serving on a new thread with a two-worker runtime.
    ///
    /// # Errors
    /// The runtime cannot be built, or [`Server::bind`] failed.
    pub fn start(options: ServerOptions) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let handle = runtime.handle().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // Bound on the server's own thread: `start` may be called from async
        // code, where blocking on another runtime is not allowed.
        let thread = std::thread::Builder::new().name("ftp-server".into()).spawn(move || {
            runtime.block_on(async move {
                let bound = Server::bind(options).await.and_then(|s| Ok((s.local_addr()?, s)));
                match bound {
                    Ok((addr, server)) => {
                        let _ = tx.send(Ok((addr, server.shutdown_handle())));
                        let _ = server.run().await;
                    }
                    Err(e) => drop(tx.send(Err(e))),
                }
            });
        })?;
        let (addr, shutdown) = rx.recv().map_err(|_| io::Error::other("the server thread ended"))??;
        Ok(Self { addr, shutdown, runtime: handle, thread: Some(thread) })
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle for a graceful shutdown from async code.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Graceful shutdown (see [`ShutdownHandle::shutdown`]); blocks until
    /// the server's thread ends. Returns how many sessions were cut. From
    /// async code, use [`shutdown_handle`](Self::shutdown_handle) instead
    /// (blocking inside a runtime panics).
    pub fn stop(mut self, grace: Duration) -> usize {
        let shutdown = self.shutdown.clone();
        let cut = self.runtime.block_on(async move { shutdown.shutdown(grace).await });
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        cut
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let shutdown = self.shutdown.clone();
            self.runtime.spawn(async move { shutdown.shutdown(Duration::ZERO).await });
        }
    }
}
