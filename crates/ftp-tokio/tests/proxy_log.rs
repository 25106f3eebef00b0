//! The log under the PROXY protocol (issue 19: "PROXY v1 and v2 from a
//! trusted source give the real client address in logs"), as structured
//! records through the real tokio server on loopback. In a test binary of
//! its own, as `log_events.rs` explains (tracing caches each callsite's
//! interest process-wide). Every wait is bounded.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::Server;
use support::{Ftp, WAIT, bounded, code, memory_options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// One event: its target and fields (the message under `message`).
#[derive(Debug, Clone)]
struct Record {
    target: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Collects every event.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Record>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(Record { target: event.metadata().target().to_owned(), fields: fields.0 });
    }
}

impl Collect {
    /// The records with `message`, once there are `n` of them (bounded).
    async fn wait_for(&self, message: &str, n: usize) -> Vec<Record> {
        for _ in 0..200 {
            let found: Vec<Record> = self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.fields.get("message").is_some_and(|m| m == message))
                .cloned()
                .collect();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} {message:?} events");
    }
}

/// Connects from 127.0.0.1 (the trusted balancer) and sends `header`.
async fn through_balancer(to: SocketAddr, header: &[u8], client: &str) -> Ftp {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut stream = tokio::time::timeout(WAIT, socket.connect(to)).await.unwrap().unwrap();
    stream.write_all(header).await.unwrap();
    Ftp::from_stream(stream, client.parse().unwrap())
}

/// Issue 19 (logs; `ftp_tokio::events`: `peer` is the carried client
/// address): sessions through a trusted balancer log `connected`, `login`,
/// `transfer` and `disconnected` with the address their version 1 or 2
/// header carried (127.0.0.2:40000, 127.0.0.3:40001), never the
/// balancer's; a trusted connection with a bad header and an untrusted one
/// sending a header are logged `refused` with reason `proxy_protocol`.
#[tokio::test(flavor = "current_thread")]
async fn issue19_log_peer_is_the_carried_client_address() {
    use tracing_subscriber::layer::SubscriberExt;
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(collect.clone()));
    let fs = MemoryFs::new();
    let mut options = memory_options(&fs);
    options.proxy_protocol_from = vec!["127.0.0.1/32".parse().unwrap()];
    let server = Server::bind(options).await.unwrap();
    let addr = server.local_addr().unwrap();
    let _task = tokio::spawn(server.run());
    bounded(1, async {
        let v1 = format!("PROXY TCP4 127.0.0.2 127.0.0.1 40000 {}\r\n", addr.port());
        let mut ftp = through_balancer(addr, v1.as_bytes(), "127.0.0.2").await;
        assert_eq!(code(&ftp.reply().await), 220);
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.upload("STOR f.txt", b"logged").await.1, 226);
        assert_eq!(ftp.code("QUIT").await, 221);
        assert!(ftp.closed().await);
        let v2 = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            ("127.0.0.3:40001".parse::<SocketAddr>().unwrap(), addr),
        )
        .build()
        .unwrap();
        let mut ftp = through_balancer(addr, &v2, "127.0.0.3").await;
        assert_eq!(code(&ftp.reply().await), 220);
        ftp.login("alice", "secret").await;
        assert_eq!(ftp.code("QUIT").await, 221);
        assert!(ftp.closed().await);

        let connected = collect.wait_for("connected", 2).await;
        let disconnected = collect.wait_for("disconnected", 2).await;
        let logins = collect.wait_for("login", 2).await;
        let transfers = collect.wait_for("transfer", 1).await;
        for (events, expected) in [
            (&connected, &["127.0.0.2:40000", "127.0.0.3:40001"][..]),
            (&disconnected, &["127.0.0.2:40000", "127.0.0.3:40001"]),
            (&logins, &["127.0.0.2:40000", "127.0.0.3:40001"]),
            (&transfers, &["127.0.0.2:40000"]),
        ] {
            let peers: Vec<&str> = events.iter().map(|r| r.fields["peer"].as_str()).collect();
            assert_eq!(peers, expected, "{events:?}");
        }

        // A trusted connection with junk, an untrusted one with a header.
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut junk = socket.connect(addr).await.unwrap();
        junk.write_all(b"PROXY JUNK\r\n").await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, junk.read_to_end(&mut rest)).await.unwrap();
        let (mut untrusted, greeting) = Ftp::connect_from(Some("127.0.0.5".parse().unwrap()), addr).await;
        assert_eq!(code(&greeting), 220);
        untrusted.send(v1.trim_end()).await;
        assert_eq!(code(&untrusted.reply().await), 421);
        let refused = collect.wait_for("refused", 2).await;
        for r in &refused {
            assert_eq!(r.target, ftp_tokio::events::CONNECTION);
            assert_eq!(r.fields["reason"], "proxy_protocol", "{r:?}");
        }
        assert!(refused[0].fields["peer"].starts_with("127.0.0.1:"), "the balancer itself: {:?}", refused[0]);
        assert!(refused[1].fields["peer"].starts_with("127.0.0.5:"), "{:?}", refused[1]);
    })
    .await;
}
