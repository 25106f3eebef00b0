//! The server's log (issue 18, `ftp_tokio::events`) as structured records,
//! through the real tokio server on loopback. In a test binary of its own:
//! a subscriber set for one thread while other tests hit the same event
//! callsites without one can miss events (tracing caches each callsite's
//! interest process-wide). Every wait is bounded.

#[macro_use]
mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftp_proto::{Password, Secret, Username};
use ftp_tokio::auth::{Access, Authenticator, Principal};
use ftp_tokio::server::ServerOptions;
use ftp_tokio::storage::BoxFuture;
use support::{Ftp, bounded, loopback};

/// `alice` (writable) and `reader` (read-only), password `pw` both.
struct Users;

impl Authenticator for Users {
    fn login<'a>(
        &'a self,
        user: &'a Username,
        password: &'a Secret<Password>,
        _from: IpAddr,
    ) -> BoxFuture<'a, Option<Principal>> {
        Box::pin(async move {
            let access = match user.as_bytes() {
                b"alice" => Access::read_write(),
                b"reader" => Access::read_only(),
                _ => return None,
            };
            (password.expose().as_bytes() == b"pw").then(|| Principal::new(user.clone(), access))
        })
    }

    fn anonymous(&self) -> Option<Access> {
        None
    }
}

/// One event as a record: its target, message and fields.
#[derive(Debug, Clone, Default)]
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

/// Issue 18 (logs; ftp_tokio::events): a scripted session writes
/// `connected`, `login failed`, `login`, a policy refusal, a `transfer` of
/// each direction and `disconnected`, each with the session's number and peer as fields,
/// with the documented fields, and the password nowhere; the counters
/// ([`Server::stats`]) tell the same story.
#[tokio::test(flavor = "current_thread")]
async fn log_events_are_structured_records_and_match_the_counters() {
    use tracing_subscriber::layer::SubscriberExt;
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(collect.clone()));
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f.txt"), b"hello").unwrap();
    let mut options = ServerOptions::new(loopback(), root.path().to_path_buf());
    options.authenticator = Some(Arc::new(Users));
    options.session = options.session.failed_login_delay(Duration::from_millis(1));
    let server = ftp_tokio::server::Server::bind(options).await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let task = tokio::spawn(server.run());
    bounded(1, async {
        let (mut ftp, _) = Ftp::connect(addr).await;
        assert_eq!(ftp.code("USER alice").await, 331);
        assert_eq!(ftp.code("PASS wrong-secret").await, 530);
        ftp.login("alice", "pw").await;
        assert_eq!(ftp.download("RETR f.txt").await.1, b"hello");
        assert_eq!(ftp.upload("STOR g.txt", b"12345678").await.1, 226);
        assert_eq!(ftp.code("QUIT").await, 221);
        assert!(ftp.closed().await);
        let (mut reader, _) = Ftp::connect(addr).await;
        reader.login("reader", "pw").await;
        assert_eq!(reader.code("DELE f.txt").await, 550);
        assert_eq!(reader.code("QUIT").await, 221);
        assert!(reader.closed().await);
        // The `disconnected` events are written as the tasks end.
        for _ in 0..100 {
            if collect
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.fields.get("message").is_some_and(|m| m == "disconnected"))
                .count()
                == 2
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    task.abort();
    let records = collect.0.lock().unwrap().clone();
    let find = |target: &str, message: &str| -> Vec<Record> {
        records
            .iter()
            .filter(|r| r.target == target && r.fields.get("message").is_some_and(|m| m == message))
            .cloned()
            .collect()
    };
    let connected = find(ftp_tokio::events::CONNECTION, "connected");
    assert_eq!(connected.len(), 2, "{records:#?}");
    let first_id = connected[0].fields["session"].clone();
    assert!(connected[0].fields["peer"].starts_with("127.0.0.1:"));
    assert!(records.iter().all(|r| r.fields.contains_key("session") && r.fields.contains_key("peer")), "{records:#?}");
    let failed = find(ftp_tokio::events::LOGIN, "login failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].fields["user"], "alice");
    assert_eq!(failed[0].fields["session"], first_id);
    let logins = find(ftp_tokio::events::LOGIN, "login");
    assert_eq!(
        logins.iter().map(|r| r.fields["user"].as_str()).collect::<Vec<_>>(),
        ["alice", "reader"],
        "{records:#?}"
    );
    let transfers = find(ftp_tokio::events::TRANSFER, "transfer");
    let summary: Vec<_> = transfers
        .iter()
        .map(|r| {
            ["path", "direction", "bytes", "result", "user", "binary", "tls"].map(|k| r.fields[k].clone()).join(" ")
        })
        .collect();
    assert_eq!(
        summary,
        // TYPE A, the default of RFC 959 3.1.1.1: not binary.
        ["/f.txt download 5 completed alice false false", "/g.txt upload 8 completed alice false false"],
        "{records:#?}"
    );
    assert!(transfers.iter().all(|r| r.fields.contains_key("duration_ms") && r.fields["session"] == first_id));
    let refused = find(ftp_tokio::events::POLICY, "refused");
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].fields["command"].as_str(), refused[0].fields["user"].as_str()), ("DELE", "reader"));
    let gone = find(ftp_tokio::events::CONNECTION, "disconnected");
    assert_eq!(gone.iter().map(|r| r.fields["reason"].as_str()).collect::<Vec<_>>(), ["quit", "quit"]);
    assert!(
        records.iter().all(|r| r.fields.values().all(|v| !v.contains("wrong-secret") && v != "pw")),
        "no password in the log"
    );
    let s = stats.snapshot();
    assert_eq!((s.sessions_total, s.sessions_current), (2, 0));
    assert_eq!((s.logins_ok, s.logins_failed), (2, 1));
    assert_eq!((s.bytes_out, s.bytes_in, s.transfers_completed), (5, 8, 2));
}
