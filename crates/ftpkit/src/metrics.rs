//! `ftpkit serve --metrics-listen`: the server's counters
//! ([`ftp_tokio::stats`]) for Prometheus (issue 18), in the text
//! exposition format 0.0.4, over a minimal HTTP/1.x responder.
//!
//! The responder answers one request per connection and closes it: `GET`
//! (or `HEAD`) `/metrics` gives the counters, `/` a pointer to them, any
//! other path 404, any other method 405, a request head that does not
//! parse, or is longer than [`MAX_HEAD`], 400. A head must arrive within
//! [`HEAD_TIMEOUT`]; at most [`MAX_SCRAPES`] connections are served at
//! once and the ones past that are closed unanswered.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ftp_tokio::stats::{Refusal, Snapshot, Stats, TransferResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// The longest request head read (request line and headers).
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head, and then to take the
/// response.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Most scrape connections served at once.
pub(crate) const MAX_SCRAPES: usize = 64;

/// The `Content-Type` of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes one metric family: its `# HELP`, its `# TYPE` and its samples
/// (`labels` is `""` or `{name="value"}`).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn label(name: &str, value: &str) -> String {
    format!("{{{name}=\"{value}\"}}")
}

/// The counters of `s` in the Prometheus text exposition format 0.0.4.
pub(crate) fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(2048);
    family(
        &mut out,
        "ftpkit_sessions_current",
        "gauge",
        "FTP sessions open now.",
        &[(String::new(), s.sessions_current)],
    );
    family(
        &mut out,
        "ftpkit_sessions_total",
        "counter",
        "FTP sessions admitted since the server started.",
        &[(String::new(), s.sessions_total)],
    );
    family(
        &mut out,
        "ftpkit_logins_total",
        "counter",
        "Logins decided, by result.",
        &[(label("result", "ok"), s.logins_ok), (label("result", "failed"), s.logins_failed)],
    );
    family(
        &mut out,
        "ftpkit_transfer_bytes_total",
        "counter",
        "Bytes moved on data connections: in (uploads), out (downloads and listings).",
        &[(label("direction", "in"), s.bytes_in), (label("direction", "out"), s.bytes_out)],
    );
    family(
        &mut out,
        "ftpkit_transfers_total",
        "counter",
        "Transfers ended, by result.",
        &[
            (label("result", TransferResult::Completed.as_str()), s.transfers_completed),
            (label("result", TransferResult::Failed.as_str()), s.transfers_failed),
            (label("result", TransferResult::Aborted.as_str()), s.transfers_aborted),
        ],
    );
    family(
        &mut out,
        "ftpkit_connections_refused_total",
        "counter",
        "Connections refused before the greeting, by reason.",
        &[
            (label("reason", Refusal::MaxSessions.as_str()), s.refused_max_sessions),
            (label("reason", Refusal::MaxSessionsPerIp.as_str()), s.refused_max_sessions_per_ip),
            (label("reason", Refusal::Banned.as_str()), s.refused_banned),
            (label("reason", Refusal::ShuttingDown.as_str()), s.refused_shutting_down),
            (label("reason", Refusal::ProxyProtocol.as_str()), s.refused_proxy_protocol),
        ],
    );
    family(
        &mut out,
        "ftpkit_tls_handshakes_failed_total",
        "counter",
        "TLS handshakes that failed (control and data connections).",
        &[(String::new(), s.tls_handshakes_failed)],
    );
    out
}

/// Listens on `listen` and answers scrapes with [`render`] of `stats`
/// until the returned task is aborted. Returns the bound address (the
/// port chosen when `listen`'s is 0) and the accept loop's task.
pub(crate) async fn serve(listen: SocketAddr, stats: Arc<Stats>) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let listener =
        TcpListener::bind(listen).await.map_err(|e| format!("cannot listen for metrics on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| format!("cannot listen for metrics on {listen}: {e}"))?;
    let permits = Arc::new(Semaphore::new(MAX_SCRAPES));
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors and the like: wait instead of
                    // spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                // Too many scrapes at once: closed unanswered.
                drop(stream);
                continue;
            };
            let stats = stats.clone();
            tokio::spawn(async move {
                answer(stream, &stats).await;
                drop(permit);
            });
        }
    });
    Ok((local, task))
}

/// Reads one request head and writes the response, each within
/// [`HEAD_TIMEOUT`], then closes.
async fn answer(mut stream: TcpStream, stats: &Stats) {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(HeadError::TooLong | HeadError::Malformed)) => None,
        Ok(Err(HeadError::Closed)) | Err(_) => return,
    };
    let response = respond(head.as_deref(), stats);
    let _ = tokio::time::timeout(HEAD_TIMEOUT, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
}

enum HeadError {
    /// No end of head within [`MAX_HEAD`] bytes.
    TooLong,
    /// Not text.
    Malformed,
    /// The client went away first.
    Closed,
}

/// The request head up to its blank line (`Some`), as text.
async fn read_head(stream: &mut TcpStream) -> Result<Option<String>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        let end = find(&buf, b"\r\n\r\n").or_else(|| find(&buf, b"\n\n"));
        if let Some(end) = end {
            buf.truncate(end);
            return String::from_utf8(buf).map(Some).map_err(|_| HeadError::Malformed);
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLong);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The whole response to `head` (`None`: a head that could not be read,
/// answered 400).
fn respond(head: Option<&str>, stats: &Stats) -> Vec<u8> {
    let Some((method, target)) = head.and_then(request_line) else {
        return response("400 Bad Request", "text/plain; charset=utf-8", "bad request\n", true, &[]);
    };
    let with_body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => {
            return response(
                "405 Method Not Allowed",
                "text/plain; charset=utf-8",
                "method not allowed\n",
                true,
                &["Allow: GET, HEAD"],
            );
        }
    };
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    match path {
        "/metrics" => response("200 OK", CONTENT_TYPE, &render(&stats.snapshot()), with_body, &[]),
        "/" => response("200 OK", "text/plain; charset=utf-8", "ftpkit: metrics at /metrics\n", with_body, &[]),
        _ => response("404 Not Found", "text/plain; charset=utf-8", "not found\n", with_body, &[]),
    }
}

/// The method and target of a head's request line `METHOD SP target SP
/// HTTP/1.x`, or `None`.
fn request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none()
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && target.starts_with('/')
        && matches!(version, "HTTP/1.0" | "HTTP/1.1");
    valid.then_some((method, target))
}

fn response(status: &str, content_type: &str, body: &str, with_body: bool, extra: &[&str]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in extra {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    if with_body {
        out.push_str(body);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftp_tokio::server::{Server, ServerOptions};
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// The longest any step of these tests waits.
    const WAIT: Duration = Duration::from_secs(10);

    /// Issue 18: every family has its HELP and TYPE lines, and a fresh
    /// server's counters are all zero, each label value present.
    #[test]
    fn render_zero_counters() {
        let text = render(&Stats::default().snapshot());
        for line in [
            "# TYPE ftpkit_sessions_current gauge",
            "ftpkit_sessions_current 0",
            "# TYPE ftpkit_sessions_total counter",
            "ftpkit_sessions_total 0",
            "# TYPE ftpkit_logins_total counter",
            "ftpkit_logins_total{result=\"ok\"} 0",
            "ftpkit_logins_total{result=\"failed\"} 0",
            "# TYPE ftpkit_transfer_bytes_total counter",
            "ftpkit_transfer_bytes_total{direction=\"in\"} 0",
            "ftpkit_transfer_bytes_total{direction=\"out\"} 0",
            "# TYPE ftpkit_transfers_total counter",
            "ftpkit_transfers_total{result=\"completed\"} 0",
            "ftpkit_transfers_total{result=\"failed\"} 0",
            "ftpkit_transfers_total{result=\"aborted\"} 0",
            "# TYPE ftpkit_connections_refused_total counter",
            "ftpkit_connections_refused_total{reason=\"max_sessions\"} 0",
            "ftpkit_connections_refused_total{reason=\"max_sessions_per_ip\"} 0",
            "ftpkit_connections_refused_total{reason=\"banned\"} 0",
            "ftpkit_connections_refused_total{reason=\"shutting_down\"} 0",
            "ftpkit_connections_refused_total{reason=\"proxy_protocol\"} 0",
            "# TYPE ftpkit_tls_handshakes_failed_total counter",
            "ftpkit_tls_handshakes_failed_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
        // Every sample's metric has a HELP and a TYPE before it, and each
        // family is declared once.
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name), "{name} declared twice");
                assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP");
                declared.push(name);
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last(), Some(&name), "{line} before its TYPE");
                assert!(line.ends_with(" 0"), "{line}");
            }
        }
        assert_eq!(declared.len(), 7);
        assert!(text.ends_with('\n'));
    }

    /// One HTTP exchange: sends `request`, returns everything read until
    /// the server closes (or an error ends it).
    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        tokio::time::timeout(WAIT, async {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            // The server may answer (400) and close before taking all of
            // an oversized request: a failed write is not the test's end.
            let _ = stream.write_all(request).await;
            let mut out = Vec::new();
            let _ = stream.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        })
        .await
        .expect("the metrics endpoint answered in time")
    }

    /// The value of the sample line `name` in a scrape.
    fn sample(body: &str, name: &str) -> Option<u64> {
        body.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    async fn reply(lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>) -> String {
        // A reply's last line is `NNN text` (multi-line replies end so).
        loop {
            let line = tokio::time::timeout(WAIT, lines.next_line())
                .await
                .expect("a reply in time")
                .unwrap()
                .expect("a reply");
            if line.len() >= 4 && line.as_bytes()[3] == b' ' && line[..3].bytes().all(|b| b.is_ascii_digit()) {
                return line;
            }
        }
    }

    /// Issue 18, end to end: a real server, an anonymous session (USER,
    /// PASS, QUIT), then a scrape that counts one session and one login;
    /// and the endpoint's answers to `/`, other paths, other methods,
    /// garbage and an oversized head.
    #[test]
    fn scrape_a_running_server() {
        let _serial = crate::logging::tests::SERVER_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let root = tempfile::tempdir().unwrap();
            let options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), root.path().to_path_buf());
            let server = Server::bind(options).await.unwrap();
            let ftp_addr = server.local_addr().unwrap();
            let stats = server.stats();
            let ftp = tokio::spawn(server.run());
            let (metrics_addr, metrics_task) = serve("127.0.0.1:0".parse().unwrap(), stats.clone()).await.unwrap();

            let stream = tokio::time::timeout(WAIT, TcpStream::connect(ftp_addr)).await.unwrap().unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            assert!(reply(&mut lines).await.starts_with("220 "));
            write.write_all(b"USER anonymous\r\n").await.unwrap();
            assert!(reply(&mut lines).await.starts_with("331 "));
            write.write_all(b"PASS x\r\n").await.unwrap();
            assert!(reply(&mut lines).await.starts_with("230 "));
            write.write_all(b"QUIT\r\n").await.unwrap();
            assert!(reply(&mut lines).await.starts_with("221 "));
            // The server closes the session after 221.
            assert!(tokio::time::timeout(WAIT, lines.next_line()).await.unwrap().unwrap_or(None).is_none());

            let scrape = exchange(metrics_addr, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
            let (head, body) = scrape.split_once("\r\n\r\n").expect("a head and a body");
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(head.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"), "{head}");
            assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())), "{head}");
            assert!(head.contains("\r\nConnection: close"), "{head}");
            assert_eq!(sample(body, "ftpkit_sessions_total"), Some(1), "{body}");
            assert_eq!(sample(body, "ftpkit_logins_total{result=\"ok\"}"), Some(1), "{body}");
            assert_eq!(sample(body, "ftpkit_logins_total{result=\"failed\"}"), Some(0), "{body}");

            let root_page = exchange(metrics_addr, b"GET / HTTP/1.0\r\n\r\n").await;
            assert!(root_page.starts_with("HTTP/1.1 200 OK\r\n") && root_page.contains("/metrics"), "{root_page}");
            let head_only = exchange(metrics_addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
            assert!(head_only.starts_with("HTTP/1.1 200 OK\r\n") && head_only.ends_with("\r\n\r\n"), "{head_only}");
            let missing = exchange(metrics_addr, b"GET /nope HTTP/1.1\r\n\r\n").await;
            assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
            let post = exchange(metrics_addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
            assert!(post.starts_with("HTTP/1.1 405 ") && post.contains("\r\nAllow: GET, HEAD\r\n"), "{post}");
            let garbage = exchange(metrics_addr, b"hello\r\n\r\n").await;
            assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
            // A head past 8 KiB: 400, or closed (no hang either way).
            let mut huge = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
            huge.resize(MAX_HEAD + 4096, b'a');
            let oversized = exchange(metrics_addr, &huge).await;
            assert!(oversized.is_empty() || oversized.starts_with("HTTP/1.1 400 "), "{oversized}");

            metrics_task.abort();
            ftp.abort();
        });
    }

    /// Issue 18: a client that connects and sends nothing is closed after
    /// [`HEAD_TIMEOUT`], not held.
    #[tokio::test]
    async fn a_silent_client_is_closed() {
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), Arc::new(Stats::default())).await.unwrap();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(HEAD_TIMEOUT + WAIT, stream.read_to_end(&mut out)).await;
        assert!(matches!(read, Ok(Ok(0))), "{read:?}");
        task.abort();
    }

    /// Issue 18: the bind error names the address.
    #[tokio::test]
    async fn bind_error_names_the_address() {
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), Arc::new(Stats::default())).await.unwrap();
        let err = serve(addr, Arc::new(Stats::default())).await.unwrap_err();
        assert!(err.contains(&addr.to_string()), "{err}");
        task.abort();
    }
}
