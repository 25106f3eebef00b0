//! A fault-injecting FTP proxy on loopback, in front of our real server.
//!
//! Without faults it is transparent: control lines are forwarded as they
//! are, replies come back unchanged, `AUTH TLS` is terminated on both sides
//! (so that faults can be injected inside TLS too), and data connections go
//! straight to the server. A [`Fault`] makes the pair behave like a broken
//! server: it rewrites or answers commands itself, rewrites or drops
//! replies, proxies passive data connections (leaking listeners, accepting
//! any source address, corrupting bytes), forwards partial lines, splits
//! long ones, injects plaintext after 234, or keeps a connection open after
//! the server closed it.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with a command line.
pub enum Action {
    /// Forward these bytes (the line, or a rewritten one).
    Forward(Vec<u8>),
    /// Do not forward; answer with these bytes instead.
    Answer(Vec<u8>),
    /// Do not forward, do not answer.
    Drop,
}

/// Per-session memory for stateful faults.
#[derive(Default)]
pub struct State {
    /// Flags set by fault rules.
    pub flags: HashSet<&'static str>,
}

type CommandRule = Arc<dyn Fn(&mut State, &str, &[u8]) -> Action + Send + Sync>;
type ReplyRule = Arc<dyn Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync>;
type DataRule = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// How the proxy misbehaves. `Fault::default()` is transparent.
#[derive(Default, Clone)]
pub struct Fault {
    command: Option<CommandRule>,
    reply: Option<ReplyRule>,
    data: Option<DataRule>,
    data_proxy: bool,
    leak_listeners: bool,
    forward_partial: bool,
    split_long: bool,
    keep_open: bool,
    after_234: Option<Vec<u8>>,
}

impl Fault {
    /// No fault.
    pub fn none() -> Self {
        Self::default()
    }

    /// Rewrites, answers or drops command lines: `f(state, VERB, line)`.
    pub fn command(f: impl Fn(&mut State, &str, &[u8]) -> Action + Send + Sync + 'static) -> Self {
        Self { command: Some(Arc::new(f)), ..Self::default() }
    }

    /// Rewrites (`Some`) or drops (`None`) each reply: `f(VERB, reply)`,
    /// where VERB is the command answered (`<greeting>` for the greeting).
    pub fn reply(f: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static) -> Self {
        Self { reply: Some(Arc::new(f)), ..Self::default() }
    }

    /// Replaces every reply to `verb` with `text` (CRLF added).
    pub fn reply_to(verb: &'static str, text: &'static str) -> Self {
        Self::reply(move |v, r| Some(if v == verb { format!("{text}\r\n").into_bytes() } else { r.to_vec() }))
    }

    /// Replaces replies to `verb` that begin with `code` with `text`.
    pub fn reply_code(verb: &'static str, code: &'static str, text: &'static str) -> Self {
        Self::reply(move |v, r| {
            Some(if v == verb && r.starts_with(code.as_bytes()) {
                format!("{text}\r\n").into_bytes()
            } else {
                r.to_vec()
            })
        })
    }

    /// Answers `verb` itself with `text`, never telling the server.
    pub fn answer(verb: &'static str, text: &'static str) -> Self {
        Self::command(move |_, v, l| {
            if v == verb { Action::Answer(format!("{text}\r\n").into_bytes()) } else { Action::Forward(l.to_vec()) }
        })
    }

    /// Rewrites command lines of `verb` to `line` (CRLF added).
    pub fn rewrite(verb: &'static str, line: &'static str) -> Self {
        Self::command(move |_, v, l| {
            if v == verb { Action::Forward(format!("{line}\r\n").into_bytes()) } else { Action::Forward(l.to_vec()) }
        })
    }

    /// Passive data connections through the proxy, with `f` applied to what
    /// the server sends.
    pub fn data(f: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self { data: Some(Arc::new(f)), data_proxy: true, ..Self::default() }
    }

    /// Passive data connections through the proxy, whose listeners accept
    /// anyone; with `leak`, a new PASV leaves the old listener open.
    pub fn data_listeners(leak: bool) -> Self {
        Self { data_proxy: true, leak_listeners: leak, ..Self::default() }
    }

    /// Forwards whatever arrives as a line of its own, at once.
    pub fn forward_partial() -> Self {
        Self { forward_partial: true, ..Self::default() }
    }

    /// Cuts lines longer than 1024 bytes after 512 bytes, into two lines.
    pub fn split_long() -> Self {
        Self { split_long: true, ..Self::default() }
    }

    /// Keeps the client's connection open after the server closed.
    pub fn keep_open() -> Self {
        Self { keep_open: true, ..Self::default() }
    }

    /// Sends `bytes` in the clear right after 234.
    pub fn after_234(bytes: &[u8]) -> Self {
        Self { after_234: Some(bytes.to_vec()), ..Self::default() }
    }
}

/// Starts a proxy to `upstream` on 127.0.0.1, in a runtime thread of its own.
pub fn start(upstream: SocketAddr, fault: Fault) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let fault = Arc::new(fault);
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                // Urgent data (the DM of a Telnet Synch before ABOR or STAT,
                // RFC 959 4.1.3) is read in-band and forwarded like any
                // other byte; without this the kernel would take it out of
                // the stream and the server would see `IAC IP IAC ABOR`.
                socket2::SockRef::from(&client).set_out_of_band_inline(true).unwrap();
                let client = UrgentInline(client);
                let fault = fault.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(120), session(client, upstream, fault)).await;
                });
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Pending {
    verb: String,
    fake: Option<Vec<u8>>,
    prelim: bool,
}

const TRANSFERS: [&str; 7] = ["RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD"];

/// The verb of a command line: up to the first space, upper case, after
/// any leading Telnet commands (`IAC IP IAC DM` before ABOR or STAT).
fn verb_of(mut line: &[u8]) -> String {
    while let [0xff, cmd, rest @ ..] = line
        && *cmd != 0xff
    {
        line = rest;
    }
    let end = line.iter().position(|&b| b == b' ' || b == b'\r' || b == b'\n').unwrap_or(line.len());
    String::from_utf8_lossy(&line[..end]).to_ascii_uppercase()
}

/// One whole reply at the start of `buf`, if complete (lines with their
/// line ends).
fn take_reply(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut pos = 0;
    let mut open: Option<Vec<u8>> = None;
    loop {
        let nl = buf[pos..].iter().position(|&b| b == b'\n')? + pos;
        let line = &buf[pos..nl];
        pos = nl + 1;
        match &open {
            None => {
                if line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit) && line[3] == b'-' {
                    open = Some(line[..3].to_vec());
                } else {
                    return Some(buf.drain(..pos).collect());
                }
            }
            Some(code) => {
                if line.starts_with(code) && line.get(3) == Some(&b' ') {
                    return Some(buf.drain(..pos).collect());
                }
            }
        }
    }
}

/// A client connection whose urgent data is read in-band. Linux ends a
/// read at the urgent mark even when more bytes are waiting, and tokio takes
/// a short read for "nothing more to read" and waits for the next event,
/// which may never come (the command after `IAC IP IAC DM` has arrived
/// already). So each read first asks the socket directly.
struct UrgentInline(TcpStream);

impl AsyncRead for UrgentInline {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let mut sock = &*socket2::SockRef::from(&this.0);
        match std::io::Read::read(&mut sock, buf.initialize_unfilled()) {
            Ok(n) => {
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::pin::Pin::new(&mut this.0).poll_read(cx, buf),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for UrgentInline {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

async fn session(client: UrgentInline, upstream: SocketAddr, fault: Arc<Fault>) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let _ = server.set_nodelay(true);
    let _ = client.0.set_nodelay(true);
    let mut client: Box<dyn Io> = Box::new(client);
    let mut server: Box<dyn Io> = Box::new(server);
    let mut cin: Vec<u8> = Vec::new();
    let mut sin: Vec<u8> = Vec::new();
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut state = State::default();
    let mut greeted = false;
    let mut listeners: Vec<JoinHandle<()>> = Vec::new();
    let mut stale: Vec<Arc<std::sync::atomic::AtomicBool>> = Vec::new();
    let mut server_open = true;
    let mut cbuf = vec![0u8; 64 * 1024];
    let mut sbuf = vec![0u8; 64 * 1024];
    let result = loop {
        tokio::select! {
            n = client.read(&mut cbuf) => {
                let n: usize = n.unwrap_or_default();
                if n == 0 {
                    break Ok(());
                }
                cin.extend_from_slice(&cbuf[..n]);
                // Lines (or, with forward_partial, whatever came).
                let mut lines: Vec<Vec<u8>> = Vec::new();
                if fault.forward_partial {
                    let mut chunk = std::mem::take(&mut cin);
                    if !chunk.ends_with(b"\n") {
                        chunk.extend_from_slice(b"\r\n");
                    }
                    lines.push(chunk);
                } else {
                    while let Some(nl) = cin.iter().position(|&b| b == b'\n') {
                        lines.push(cin.drain(..=nl).collect());
                    }
                }
                // What one read brought is forwarded in one write, as the
                // client sent it (pipelining after AUTH TLS depends on it).
                let mut forward: Vec<u8> = Vec::new();
                for line in lines {
                    let pieces: Vec<Vec<u8>> = if fault.split_long && line.len() > 1024 {
                        let mut first = line[..512].to_vec();
                        first.extend_from_slice(b"\r\n");
                        vec![first, line[512..].to_vec()]
                    } else {
                        vec![line]
                    };
                    for line in pieces {
                        let verb = verb_of(&line);
                        let action = match &fault.command {
                            Some(rule) => rule(&mut state, &verb, &line),
                            None => Action::Forward(line.clone()),
                        };
                        match action {
                            Action::Forward(bytes) => {
                                queue.push_back(Pending { verb: verb_of(&bytes), fake: None, prelim: false });
                                forward.extend_from_slice(&bytes);
                            }
                            Action::Answer(bytes) => {
                                queue.push_back(Pending { verb, fake: Some(bytes), prelim: false });
                            }
                            Action::Drop => {}
                        }
                    }
                }
                if server_open && !forward.is_empty() {
                    server.write_all(&forward).await?;
                }
                flush_fakes(&mut queue, &mut client).await?;
            }
            n = server.read(&mut sbuf), if server_open => {
                let n: usize = n.unwrap_or_default();
                if n == 0 {
                    server_open = false;
                    if fault.keep_open {
                        continue;
                    }
                    let _ = client.shutdown().await;
                    break Ok(());
                }
                sin.extend_from_slice(&sbuf[..n]);
                while let Some(reply) = take_reply(&mut sin) {
                    let is_prelim = reply.first() == Some(&b'1');
                    let code3 = &reply[..reply.len().min(3)];
                    // Which command this answers.
                    let verb = if !greeted {
                        greeted = true;
                        "<greeting>".to_owned()
                    } else {
                        let stat_during_transfer = queue.front().is_some_and(|p| p.prelim && TRANSFERS.contains(&p.verb.as_str()))
                            && matches!(code3, b"211" | b"212" | b"213");
                        let at = if stat_during_transfer { queue.iter().position(|p| p.verb == "STAT") } else { None };
                        match at {
                            Some(i) => queue.remove(i).map(|p| p.verb).unwrap_or_default(),
                            None if is_prelim => match queue.front_mut() {
                                Some(p) => { p.prelim = true; p.verb.clone() }
                                None => String::new(),
                            },
                            None => queue.pop_front().map(|p| p.verb).unwrap_or_default(),
                        }
                    };
                    let out = match &fault.reply {
                        Some(rule) => rule(&verb, &reply),
                        None => Some(reply.clone()),
                    };
                    let Some(mut out) = out else { continue };
                    if fault.data_proxy && (out.starts_with(b"227") || out.starts_with(b"229")) {
                        if fault.leak_listeners {
                            // The old listener stays open, its connections
                            // held (the server's own port is gone).
                            for flag in &stale {
                                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                        } else {
                            for l in listeners.drain(..) {
                                l.abort();
                            }
                        }
                        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
                        if let Some((rewritten, handle)) = proxy_passive(&out, upstream, fault.data.clone(), flag.clone()).await {
                            out = rewritten;
                            listeners.push(handle);
                            stale.push(flag);
                        }
                    }
                    let tls_next = verb == "AUTH" && out.starts_with(b"234");
                    if tls_next && let Some(bytes) = &fault.after_234 {
                        // In the same write as the 234, so that they arrive
                        // together (the checker looks for plaintext read
                        // with the 234).
                        out.extend_from_slice(bytes);
                    }
                    client.write_all(&out).await?;
                    if tls_next {
                        // The server discards what followed AUTH; so do we.
                        cin.clear();
                        queue.clear();
                        let (c, s) = start_tls(client, server).await?;
                        client = c;
                        server = s;
                        break;
                    }
                }
                flush_fakes(&mut queue, &mut client).await?;
            }
        }
    };
    for l in listeners {
        l.abort();
    }
    result
}

/// Sends the proxy's own answers that are next in line.
async fn flush_fakes(queue: &mut VecDeque<Pending>, client: &mut Box<dyn Io>) -> std::io::Result<()> {
    while queue.front().is_some_and(|p| p.fake.is_some()) {
        if let Some(p) = queue.pop_front() {
            client.write_all(&p.fake.unwrap_or_default()).await?;
        }
    }
    Ok(())
}

/// A listener standing in for the server's passive port; the 227/229 reply
/// rewritten to it.
async fn proxy_passive(
    reply: &[u8],
    upstream: SocketAddr,
    data: Option<DataRule>,
    stale: Arc<std::sync::atomic::AtomicBool>,
) -> Option<(Vec<u8>, JoinHandle<()>)> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let inner = &text[open + 1..close];
    let port: u16 = if reply.starts_with(b"227") {
        let n: Vec<u16> = inner.split(',').filter_map(|p| p.trim().parse().ok()).collect();
        if n.len() != 6 {
            return None;
        }
        n[4] * 256 + n[5]
    } else {
        inner.trim_matches('|').parse().ok()?
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
    let ours = listener.local_addr().ok()?.port();
    let target = SocketAddr::new(upstream.ip(), port);
    let handle = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let data = data.clone();
            let stale = stale.load(std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                if stale {
                    // A leaked listener: the connection is accepted and
                    // stays open.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(conn);
                    return;
                }
                let Ok(up) = TcpStream::connect(target).await else { return };
                pipe(conn, up, data).await;
            });
        }
    });
    let rewritten = if reply.starts_with(b"227") {
        format!("227 Entering Passive Mode (127,0,0,1,{},{}).\r\n", ours / 256, ours % 256)
    } else {
        format!("229 Entering Extended Passive Mode (|||{ours}|)\r\n")
    };
    Some((rewritten.into_bytes(), handle))
}

/// Copies both ways; what the server sends goes through `data`.
async fn pipe(client: TcpStream, server: TcpStream, data: Option<DataRule>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let out = match &data {
                Some(f) => f(&buf[..n]),
                None => buf[..n].to_vec(),
            };
            if cw.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// Terminates TLS on both sides after 234.
async fn start_tls(client: Box<dyn Io>, server: Box<dyn Io>) -> std::io::Result<(Box<dyn Io>, Box<dyn Io>)> {
    let acceptor = tokio_rustls::TlsAcceptor::from(ftp_tokio::tls::self_signed().map_err(std::io::Error::other)?);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ftp_tokio::tls::AcceptAnyCertificate::new(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    let (c, s) = tokio::join!(acceptor.accept(client), connector.connect(name, server));
    Ok((Box::new(c?), Box::new(s?)))
}
