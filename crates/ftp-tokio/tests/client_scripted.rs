//! The tokio client against a tiny scripted server on 127.0.0.1: replies
//! that our own server never sends (a bare `257`), and a server that
//! refuses `PBSZ`/`PROT` before the login. The server records every
//! command line it receives, so the order on the wire is checked as sent.

mod support;

use std::time::Duration;

use ftp_tokio::client::{Client, ClientOptions, Security};
use support::scripted::read_line;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How the scripted server protects its control connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Explicit,
    Implicit,
}

/// Accepts one connection and answers it from a script: `AUTH TLS` 234
/// (then TLS), `USER` 331, `PASS` 230, `PBSZ`/`PROT` 200 only after the
/// login (503 before, as servers that require the login first do), `FEAT`
/// 211, `MKD` with `mkd_reply`, `QUIT` 221; anything else 502. Returns the
/// command lines received, in order.
async fn scripted(listener: TcpListener, mode: Mode, mkd_reply: &'static str) -> Vec<String> {
    let (mut tcp, _) = listener.accept().await.expect("accept");
    let tls = tokio_rustls::TlsAcceptor::from(ftp_tokio::tls::self_signed().expect("a certificate"));
    let mut received = Vec::new();
    let mut control: Box<dyn Io> = match mode {
        Mode::Plain => Box::new(tcp),
        Mode::Implicit => Box::new(tls.accept(tcp).await.expect("implicit TLS handshake")),
        Mode::Explicit => {
            tcp.write_all(b"220 scripted\r\n").await.expect("greeting");
            loop {
                let line = read_line(&mut tcp).await.expect("AUTH TLS");
                received.push(line.clone());
                if line == "AUTH TLS" {
                    break;
                }
                tcp.write_all(b"530 Please use AUTH TLS first.\r\n").await.expect("reply");
            }
            tcp.write_all(b"234 Proceed.\r\n").await.expect("reply");
            Box::new(tls.accept(tcp).await.expect("explicit TLS handshake"))
        }
    };
    if mode != Mode::Explicit {
        control.write_all(b"220 scripted\r\n").await.expect("greeting");
    }
    let mut logged_in = false;
    while let Some(line) = read_line(&mut control).await {
        received.push(line.clone());
        let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        let reply = match verb.as_str() {
            "USER" => "331 Password required.\r\n",
            "PASS" => {
                logged_in = true;
                "230 Logged in.\r\n"
            }
            "PBSZ" | "PROT" if !logged_in => "503 Login with USER first.\r\n",
            "PBSZ" => "200 PBSZ=0\r\n",
            "PROT" => "200 Protection level set to P.\r\n",
            "FEAT" => "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n",
            "MKD" => mkd_reply,
            "QUIT" => {
                let _ = control.write_all(b"221 Bye.\r\n").await;
                let _ = control.shutdown().await;
                break;
            }
            _ => "502 Not in the script.\r\n",
        };
        control.write_all(reply.as_bytes()).await.expect("reply");
        control.flush().await.expect("flush");
    }
    received
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f).await.expect("finished in time")
}

/// Starts the scripted server; returns its port and its recording.
async fn start(mode: Mode, mkd_reply: &'static str) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (port, tokio::spawn(scripted(listener, mode, mkd_reply)))
}

fn options(security: Security) -> ClientOptions {
    ClientOptions { security, insecure: true, ..ClientOptions::default() }
}

/// RFC 959 section 4.2 and Appendix II: `257` is MKD's success reply and
/// the quoted pathname only a convention; aioftp answers a bare `257 `.
/// `Client::mkdir` succeeds and returns the name asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_appendix2_mkd_bare_257_is_success() {
    for reply in ["257 \r\n", "257\r\n", "257 Directory created.\r\n"] {
        let (port, server) = start(Mode::Plain, reply).await;
        let mut client = bounded(Client::connect("127.0.0.1", port, options(Security::Plain))).await.expect("connect");
        bounded(client.login("alice", "secret")).await.expect("login");
        let made = bounded(client.mkdir("made")).await;
        assert_eq!(made.expect("a bare 257 is success"), "made", "{reply:?}");
        bounded(client.quit()).await.expect("quit");
        let received = bounded(server).await.expect("the server task");
        assert!(received.contains(&"MKD made".to_owned()), "{received:?}");
    }
    // A 257 that names the directory still gives the server's name.
    let (port, server) = start(Mode::Plain, "257 \"/home/alice/made\" created.\r\n").await;
    let mut client = bounded(Client::connect("127.0.0.1", port, options(Security::Plain))).await.expect("connect");
    bounded(client.login("alice", "secret")).await.expect("login");
    assert_eq!(bounded(client.mkdir("made")).await.expect("mkdir"), "/home/alice/made");
    bounded(client.quit()).await.expect("quit");
    bounded(server).await.expect("the server task");
}

/// RFC 4217 sections 4 and 9, as curl orders them: the TLS handshake, then
/// `USER`/`PASS`, and only then `PBSZ 0` and `PROT P`, for explicit
/// (`AUTH TLS`) and implicit FTPS; a server that refuses PBSZ before the
/// login (503) is logged in to, and the login is confirmed as secured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc4217_9_pbsz_prot_after_user_pass() {
    for (mode, security, first) in
        [(Mode::Explicit, Security::Explicit, vec!["AUTH TLS"]), (Mode::Implicit, Security::Implicit, vec![])]
    {
        let (port, server) = start(mode, "257 \"/made\"\r\n").await;
        let mut client = bounded(Client::connect("127.0.0.1", port, options(security))).await.expect("connect");
        bounded(client.login("alice", "secret")).await.expect("the login succeeds");
        assert!(client.is_secured());
        bounded(client.quit()).await.expect("quit");
        let received = bounded(server).await.expect("the server task");
        let mut expected = first;
        expected.extend(["USER alice", "PASS secret", "PBSZ 0", "PROT P", "FEAT", "QUIT"]);
        assert_eq!(received, expected);
    }
}

/// RFC 959 5.4: PASS answered 332 asks for an account: with one given,
/// `ACCT` is sent and its 230 completes the login; without one the login
/// fails saying the server asks for an account, and nothing more is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc959_5_4_332_is_answered_with_acct() {
    for account in [Some("billing"), None] {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            tcp.write_all(b"220 scripted\r\n").await.expect("greeting");
            let mut received = Vec::new();
            while let Some(line) = read_line(&mut tcp).await {
                received.push(line.clone());
                let reply: &[u8] = match line.split(' ').next().unwrap_or_default() {
                    "USER" => b"331 Password required.\r\n",
                    "PASS" => b"332 Need account for login.\r\n",
                    "ACCT" => b"230 Logged in.\r\n",
                    "QUIT" => b"221 Bye.\r\n",
                    _ => b"502 Not in the script.\r\n",
                };
                tcp.write_all(reply).await.expect("reply");
            }
            received
        });
        let mut options = options(Security::Plain);
        options.config = options.config.auto_feat(false);
        let mut client = bounded(Client::connect("127.0.0.1", port, options)).await.expect("connect");
        let result = bounded(client.login_with_account("alice", "secret", account)).await;
        match account {
            Some(_) => result.expect("logged in with ACCT"),
            None => {
                let e = result.expect_err("no account to give");
                assert!(e.to_string().contains("account"), "{e}");
            }
        }
        drop(client);
        let received = bounded(server).await.expect("server");
        let acct: Vec<_> = received.iter().filter(|l| l.starts_with("ACCT")).collect();
        assert_eq!(acct, account.map(|a| format!("ACCT {a}")).iter().collect::<Vec<_>>(), "{received:?}");
    }
}
