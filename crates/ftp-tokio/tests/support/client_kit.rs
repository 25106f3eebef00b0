//! What the tests of the client's streams, ABOR and blocking wrapper share:
//! our server on a thread of its own with user `alice` (writable, plain or
//! FTPS on a self-signed certificate), client options that record the
//! control conversation, and a bound on every test.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftp_tokio::background::Background;
use ftp_tokio::client::{Client, ClientOptions, Line, Security};
use ftp_tokio::server::{ServerOptions, User};

/// Our server for `root`, user `alice`/`secret` writable, FTPS with `tls`.
pub fn start(root: &Path, tls: bool) -> Background {
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), root.to_path_buf());
    options.users = vec![User { name: "alice".into(), password: "secret".into(), writable: true }];
    if tls {
        options.tls = Some(ftp_tokio::tls::self_signed().unwrap());
    }
    Background::start(options).unwrap()
}

/// `len` bytes that are not all alike (a shifted byte shows).
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The control conversation, as sent (`> `) and received (`< `).
pub type Lines = Arc<Mutex<Vec<String>>>;

/// Client options for `security` (certificates not checked), bounded
/// waits, and the conversation recorded.
pub fn options(security: Security) -> (ClientOptions, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let options = ClientOptions {
        security,
        insecure: true,
        connect_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(20),
        transcript: Some(Arc::new(move |line: Line<'_>| match line {
            Line::Sent(s) => sink.lock().unwrap().push(format!("> {s}")),
            Line::Received(s) => sink.lock().unwrap().push(format!("< {s}")),
            _ => {}
        })),
        ..ClientOptions::default()
    };
    (options, lines)
}

/// Fails the test after a minute.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f).await.expect("test timed out")
}

/// A client logged in as `alice`.
pub async fn login(server: &Background, security: Security) -> (Client, Lines) {
    let (options, lines) = options(security);
    let mut client = Client::connect("127.0.0.1", server.addr().port(), options).await.unwrap();
    client.login("alice", "secret").await.unwrap();
    (client, lines)
}

/// How many commands starting with `verb` were sent.
pub fn sent(lines: &Lines, verb: &str) -> usize {
    lines.lock().unwrap().iter().filter(|l| l.starts_with(&format!("> {verb}"))).count()
}
