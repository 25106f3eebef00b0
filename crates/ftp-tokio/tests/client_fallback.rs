//! The tokio client against scripted servers whose passive replies cannot
//! be used as given, all on 127.0.0.0/8 (issue 16): an EPSV port nobody
//! listens on, a malformed 229, and a 227 naming an address that does not
//! answer. In each case the download still arrives whole, over the
//! fallback curl would take, and the server records what was sent.

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use ftp_session::client::PasvPolicy;
use ftp_tokio::client::{Client, ClientOptions};
use support::scripted::read_line;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const FILE: &[u8] = b"the whole file\n";

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// How the scripted server answers EPSV and what its 227 reports.
#[derive(Clone, Copy)]
struct Script {
    /// The 229 line, `{port}` replaced by a closed port; `None`: 502.
    epsv: Option<&'static str>,
    /// The address the 227 names (the listener is on 127.0.0.1 whatever
    /// it says).
    pasv_reports: Ipv4Addr,
}

/// Serves one session: login, TYPE, EPSV per the script, PASV with a real
/// listener, RETR over the last passive connection. Returns the commands.
async fn serve(listener: TcpListener, script: Script) -> Vec<String> {
    let (mut control, _) = listener.accept().await.unwrap();
    control.write_all(b"220 scripted\r\n").await.unwrap();
    let mut received = Vec::new();
    let mut data: Option<TcpListener> = None;
    while let Some(line) = read_line(&mut control).await {
        received.push(line.clone());
        let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        let reply = match verb.as_str() {
            "USER" => "331 Password required.\r\n".to_owned(),
            "PASS" => "230 Logged in.\r\n".to_owned(),
            "TYPE" => "200 Type set.\r\n".to_owned(),
            "FEAT" => "211-Features:\r\n EPSV\r\n211 End\r\n".to_owned(),
            "EPSV" => match script.epsv {
                Some(line) => line.replace("{port}", &closed_port().await.to_string()),
                None => "502 No EPSV.\r\n".to_owned(),
            },
            "PASV" => {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = l.local_addr().unwrap().port();
                data = Some(l);
                let [a, b, c, d] = script.pasv_reports.octets();
                format!("227 Entering Passive Mode ({a},{b},{c},{d},{},{}).\r\n", port >> 8, port & 255)
            }
            "RETR" => {
                let Some(l) = data.take() else {
                    control.write_all(b"425 Use PASV first.\r\n").await.unwrap();
                    continue;
                };
                control.write_all(b"150 Opening data connection.\r\n").await.unwrap();
                let (mut conn, _) = l.accept().await.unwrap();
                conn.write_all(FILE).await.unwrap();
                conn.shutdown().await.unwrap();
                "226 Transfer complete.\r\n".to_owned()
            }
            "QUIT" => {
                let _ = control.write_all(b"221 Bye.\r\n").await;
                break;
            }
            _ => "502 Not in the script.\r\n".to_owned(),
        };
        control.write_all(reply.as_bytes()).await.unwrap();
    }
    received
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f).await.expect("finished in time")
}

/// Downloads `f` twice from a scripted server; returns the commands sent.
async fn download_twice(script: Script, policy: PasvPolicy) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(serve(listener, script));
    let mut options = ClientOptions { connect_timeout: Duration::from_secs(5), ..ClientOptions::default() };
    options.config = options.config.pasv_policy(policy);
    let mut client = bounded(Client::connect("127.0.0.1", port, options)).await.expect("connect");
    bounded(client.login("alice", "secret")).await.expect("login");
    for _ in 0..2 {
        let mut out = Vec::new();
        let n = bounded(client.get("f", 0, &mut out)).await.expect("the download arrives");
        assert_eq!((n, out.as_slice()), (FILE.len() as u64, FILE));
    }
    bounded(client.quit()).await.expect("quit");
    bounded(server).await.unwrap()
}

fn count(commands: &[String], verb: &str) -> usize {
    commands.iter().filter(|c| c.split(' ').next() == Some(verb)).count()
}

/// RFC 2428 (as curl does): the 229 port refuses the connection, so the
/// client sends PASV on the same control connection, downloads over it,
/// and keeps to PASV for the next transfer (EPSV sent once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2428_unreachable_epsv_port_falls_back_to_pasv() {
    let script =
        Script { epsv: Some("229 Entering Extended Passive Mode (|||{port}|)\r\n"), pasv_reports: Ipv4Addr::LOCALHOST };
    let sent = download_twice(script, PasvPolicy::UseControlPeer).await;
    assert_eq!(count(&sent, "EPSV"), 1, "{sent:?}");
    assert_eq!(count(&sent, "PASV"), 2, "{sent:?}");
    assert_eq!(count(&sent, "RETR"), 2, "{sent:?}");
}

/// RFC 2428 section 3, strictly: a 229 outside the exact frame (here
/// FluentFTP #1793's `(||port|)` and a filled-in address) is not connected
/// to; PASV carries the transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2428_3_malformed_229_is_not_connected_to() {
    for epsv in ["229 Extended Passive (||{port}|)\r\n", "229 Extended Passive (|1|127.0.0.1|{port}|)\r\n"] {
        let sent =
            download_twice(Script { epsv: Some(epsv), pasv_reports: Ipv4Addr::LOCALHOST }, PasvPolicy::Trust).await;
        assert_eq!((count(&sent, "EPSV"), count(&sent, "PASV")), (1, 2), "{epsv}: {sent:?}");
    }
}

/// RFC 1123 4.1.2.6: under the `Trust` policy the 227 names 127.0.0.3,
/// where nothing listens; the client retries the port on the control
/// connection's peer (127.0.0.1) and the download arrives. One PASV per
/// transfer: the retry needs no new command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc1123_4_1_2_6_unreachable_227_address_retried_on_the_control_peer() {
    let reported = Ipv4Addr::new(127, 0, 0, 3);
    let sent = download_twice(Script { epsv: None, pasv_reports: reported }, PasvPolicy::Trust).await;
    assert_eq!(count(&sent, "PASV"), 2, "{sent:?}");
    assert_eq!(count(&sent, "RETR"), 2, "{sent:?}");
}
