//! Test support: our own server on loopback, and a fault-injecting proxy in
//! front of it (`proxy.rs`).

#![allow(dead_code, unreachable_pub)]

pub mod proxy;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ftp_session::server::ServerConfig;
use ftp_tokio::server::{Server, ServerOptions, User};

/// The writable user of the test server.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "secret";
/// The writable directory, under the server's root.
pub const DIR: &str = "upload";
/// The server's idle timeout.
pub const IDLE: Duration = Duration::from_secs(2);

/// Starts our server for `root` on 127.0.0.1:0 in a runtime of its own:
/// user alice (writable), FTPS with a self-signed certificate, a short idle
/// timeout. `resumption`: data connections must resume the control
/// connection's TLS session (off behind the TLS-terminating proxy).
pub fn start_server(root: &Path, resumption: bool) -> SocketAddr {
    std::fs::create_dir_all(root.join(DIR)).unwrap();
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), root.to_path_buf());
    options.anonymous = false;
    options.users = vec![User { name: USER.into(), password: PASSWORD.into(), writable: true }];
    options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
    options.session = ServerConfig::default()
        .idle_timeout(IDLE)
        .failed_login_delay(Duration::from_millis(200))
        .require_tls_resumption(resumption);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let server = Server::bind(options).await.unwrap();
            tx.send(server.local_addr().unwrap()).unwrap();
            let _ = server.run().await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

/// The names in a directory, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}
