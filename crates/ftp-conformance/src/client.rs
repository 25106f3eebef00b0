//! The checker's side of the wire: control and data connections with a
//! timeout on every read, byte-level writes, and a transcript of everything
//! sent and received.

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use ftp_proto::{Command, Feature, ParseOptions, Reply, ReplyDecoder};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Why a check stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The server broke the rule (or did not answer).
    Fail(String),
    /// The check does not apply to this server.
    Skip(String),
}

/// What a check returns.
pub(crate) type Verdict = Result<(), Stop>;

/// A failure with a message.
pub(crate) fn fail<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(msg.into()))
}

/// A skip with a reason.
pub(crate) fn skip<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Skip(msg.into()))
}

/// Most transcript lines kept per check.
const MAX_TRANSCRIPT: usize = 400;
/// Longest transcript line kept.
const MAX_ENTRY: usize = 300;
/// Most raw control bytes kept per connection (for syntax checks).
const MAX_RAW: usize = 1 << 20;

/// What a check sent and received, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    pub(crate) fn note(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        let mut entry: String = line.chars().take(MAX_ENTRY).collect();
        if entry.len() < line.len() {
            entry.push_str("...");
        }
        if let Ok(mut v) = self.0.lock() {
            if v.len() < MAX_TRANSCRIPT {
                v.push(entry);
            } else if v.len() == MAX_TRANSCRIPT {
                v.push("(transcript truncated)".into());
            }
        }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Bytes as printable text: `\r`, `\n`, `\0` and non-ASCII escaped.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// A reply as one line of text (lines joined by ` | `).
pub(crate) fn show(reply: &Reply) -> String {
    let text = reply.to_string();
    text.replace('\n', " | ")
}

/// A TCP connection, in the clear or inside TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// TLS settings shared by a check's connections.
#[derive(Clone)]
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) name: ServerName<'static>,
}

/// Bounds a future by `limit`; a timeout is a failure naming `what`.
pub(crate) async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = io::Result<T>>,
) -> Result<T, Stop> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => fail(format!("{what}: {e}")),
        Err(_) => fail(format!("{what}: no answer within {} s", limit.as_secs_f32())),
    }
}

/// Opens a TCP connection to `addr`, optionally from `source`.
pub(crate) async fn tcp_connect(addr: SocketAddr, source: Option<IpAddr>, limit: Duration) -> Result<TcpStream, Stop> {
    let fut = async {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(ip) = source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    };
    within(limit, &format!("connecting to {addr}"), fut).await
}

/// Telnet IP (`IAC IP`) and Synch (`IAC DM`), sent before ABOR and before
/// STAT during a transfer (RFC 959 4.1.3).
pub(crate) const TELNET_SYNCH: &[u8] = b"\xff\xf4\xff\xf2";

/// A control connection.
pub(crate) struct Control {
    stream: Option<Stream>,
    buf: BytesMut,
    decoder: ReplyDecoder,
    raw: Vec<u8>,
    log: Transcript,
    tag: String,
    timeout: Duration,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Option<TlsSetup>,
    /// Data connections are protected (PROT P accepted).
    pub(crate) prot_private: bool,
    data_count: u32,
}

/// How a connection ended, when a check waits for the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The server closed it (EOF or reset).
    Closed,
    /// Still open after the wait.
    Open,
}

impl Control {
    /// Connects (from `source` when given); nothing is read yet.
    pub(crate) async fn connect(
        addr: SocketAddr,
        source: Option<IpAddr>,
        timeout: Duration,
        log: Transcript,
        tag: String,
        tls: Option<TlsSetup>,
    ) -> Result<Self, Stop> {
        let stream = tcp_connect(addr, source, timeout).await?;
        let local = stream.local_addr().map_err(|e| Stop::Fail(format!("local address: {e}")))?;
        log.note(format!("{tag}: connected to {addr} from {local}"));
        Ok(Self {
            stream: Some(Stream::Plain(stream)),
            buf: BytesMut::with_capacity(4096),
            decoder: ReplyDecoder::new(ParseOptions::default()),
            raw: Vec::new(),
            log,
            tag,
            timeout,
            peer: addr,
            local,
            tls,
            prot_private: false,
            data_count: 0,
        })
    }

    /// The server's address (where data connections go for PASV and EPSV).
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Our address on this connection (what PORT and EPRT advertise).
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// The per-read timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The transcript this connection writes to.
    pub(crate) fn log(&self) -> &Transcript {
        &self.log
    }

    /// Every byte received so far (up to 1 MiB).
    pub(crate) fn raw(&self) -> &[u8] {
        &self.raw
    }

    fn stream(&mut self) -> Result<&mut Stream, Stop> {
        self.stream.as_mut().ok_or_else(|| Stop::Fail("the control connection is gone".into()))
    }

    /// Sends a command (logged with secrets redacted).
    pub(crate) async fn send(&mut self, cmd: &Command) -> Result<(), Stop> {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        self.log.note(format!("{}> {cmd}", self.tag));
        self.write(&out).await
    }

    /// Sends bytes exactly as given.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.log.note(format!("{}> (raw) {}", self.tag, escape(bytes)));
        self.write(bytes).await
    }

    /// Sends bytes in pieces, with a pause between them so that each goes in
    /// its own TCP segment.
    pub(crate) async fn send_split(&mut self, parts: &[&[u8]], pause: Duration) -> Result<(), Stop> {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            self.send_raw(part).await?;
        }
        Ok(())
    }

    /// Sends a command the way RFC 959 4.1.3 asks for ABOR and for STAT
    /// during a transfer: first the Telnet "Interrupt Process" (`IAC IP`),
    /// then the Telnet "Synch" (`IAC DM`) with the DM byte as TCP urgent
    /// data, so that a server busy with the transfer notices the command
    /// (many only read the control connection on SIGURG). Under TLS there is
    /// no urgent data (RFC 4217 section 14): the same bytes go in-band.
    pub(crate) async fn send_with_synch(&mut self, cmd: &Command) -> Result<(), Stop> {
        let limit = self.timeout;
        let tag = self.tag.clone();
        let stream = self.stream()?;
        let urgent = matches!(stream, Stream::Plain(_));
        let fut = async {
            // The last byte (DM) is the one the urgent pointer marks.
            stream.write_all(&TELNET_SYNCH[..TELNET_SYNCH.len() - 1]).await?;
            stream.flush().await?;
            let mark = &TELNET_SYNCH[TELNET_SYNCH.len() - 1..];
            match stream {
                Stream::Plain(tcp) => {
                    let tcp = &*tcp;
                    tcp.async_io(Interest::WRITABLE, || socket2::SockRef::from(tcp).send_out_of_band(mark)).await?;
                }
                Stream::Tls(_) => {
                    stream.write_all(mark).await?;
                    stream.flush().await?;
                }
            }
            Ok(())
        };
        within(limit, "sending the Telnet IP and Synch", fut).await?;
        let how = if urgent { "DM as TCP urgent data" } else { "in-band, in TLS" };
        self.log.note(format!("{tag}> (raw) {} ({how})", escape(TELNET_SYNCH)));
        self.send(cmd).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let limit = self.timeout;
        let stream = self.stream()?;
        let fut = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        within(limit, "sending", fut).await
    }

    /// The next reply; `Ok(None)` when the server closed the connection
    /// first. A read that sees nothing for the timeout is a failure.
    pub(crate) async fn reply_or_close(&mut self) -> Result<Option<Reply>, Stop> {
        self.reply_within(self.timeout).await
    }

    /// The same with another timeout.
    pub(crate) async fn reply_within(&mut self, limit: Duration) -> Result<Option<Reply>, Stop> {
        loop {
            if let Some(item) = self.decoder.decode(&mut self.buf) {
                return match item {
                    Ok(reply) => {
                        for line in reply.to_string().split('\n') {
                            self.log.note(format!("{}< {line}", self.tag));
                        }
                        Ok(Some(reply))
                    }
                    Err(e) => {
                        self.log.note(format!("{}< (malformed reply: {e})", self.tag));
                        fail(format!("malformed reply: {e}; received so far: {}", self.tail()))
                    }
                };
            }
            let mut chunk = [0u8; 8192];
            let stream = self.stream()?;
            let n = match tokio::time::timeout(limit, stream.read(&mut chunk)).await {
                Err(_) => {
                    self.log.note(format!("{}: no reply within {} s", self.tag, limit.as_secs_f32()));
                    return fail(format!("no reply within {} s", limit.as_secs_f32()));
                }
                Ok(Err(e)) if is_close(&e) => 0,
                Ok(Err(e)) => return fail(format!("reading a reply: {e}")),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                if !self.buf.is_empty() || self.decoder.has_partial_reply() {
                    self.log.note(format!("{}: closed inside a reply: {}", self.tag, escape(&self.buf)));
                    return fail(format!("connection closed inside a reply: {}", escape(&self.buf)));
                }
                self.log.note(format!("{}: closed by the server", self.tag));
                return Ok(None);
            }
            if self.raw.len() < MAX_RAW {
                self.raw.extend_from_slice(&chunk[..n]);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn tail(&self) -> String {
        let from = self.raw.len().saturating_sub(200);
        escape(&self.raw[from..])
    }

    /// The next reply; the connection closing first is a failure.
    pub(crate) async fn reply(&mut self) -> Result<Reply, Stop> {
        match self.reply_or_close().await? {
            Some(r) => Ok(r),
            None => fail("the server closed the connection instead of replying"),
        }
    }

    /// The next reply that is not preliminary (1yz).
    pub(crate) async fn final_reply(&mut self) -> Result<Reply, Stop> {
        loop {
            let r = self.reply().await?;
            if !r.code().is_positive_preliminary() {
                return Ok(r);
            }
        }
    }

    /// Sends a command and returns its first reply.
    pub(crate) async fn cmd(&mut self, cmd: Command) -> Result<Reply, Stop> {
        self.send(&cmd).await?;
        self.reply().await
    }

    /// Sends a command; its first reply must have one of `codes`.
    pub(crate) async fn expect(&mut self, cmd: Command, codes: &[u16]) -> Result<Reply, Stop> {
        let shown = cmd.to_string();
        let r = self.cmd(cmd).await?;
        if codes.contains(&r.code().as_u16()) {
            Ok(r)
        } else {
            fail(format!("{shown}: expected {}, got {}", codes_text(codes), show(&r)))
        }
    }

    /// Reads the greeting: 120s, then 220.
    pub(crate) async fn greeting(&mut self) -> Result<Reply, Stop> {
        loop {
            let r = self.reply().await?;
            match r.code().as_u16() {
                120 => continue,
                220 => return Ok(r),
                _ => return fail(format!("greeting: expected 220, got {}", show(&r))),
            }
        }
    }

    /// `AUTH TLS`, then the handshake. Nothing may follow the 234 in the
    /// clear (RFC 4217 section 4; SECURITY.md L2).
    pub(crate) async fn auth_tls(&mut self) -> Result<(), Stop> {
        let Some(tls) = self.tls.clone() else { return fail("no TLS configuration") };
        let r = self.cmd(Command::Auth(mech_tls()?)).await?;
        if r.code().as_u16() != 234 {
            return fail(format!("AUTH TLS: expected 234, got {}", show(&r)));
        }
        self.start_tls(&tls).await
    }

    /// The TLS handshake on the control connection, after a 234.
    pub(crate) async fn start_tls(&mut self, tls: &TlsSetup) -> Result<(), Stop> {
        if !self.buf.is_empty() || self.decoder.has_partial_reply() {
            return fail(format!("the server sent plaintext after 234: {}", escape(&self.buf)));
        }
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return fail("AUTH TLS on a connection that is already in TLS");
        };
        let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
        let s =
            within(self.timeout, "TLS handshake on the control connection", connector.connect(tls.name.clone(), tcp))
                .await?;
        self.log.note(format!("{}: TLS established ({:?})", self.tag, s.get_ref().1.protocol_version()));
        self.stream = Some(Stream::Tls(Box::new(s)));
        Ok(())
    }

    /// `USER` and `PASS` (230 or 202 at the end).
    pub(crate) async fn login(&mut self, user: &str, password: &str) -> Result<(), Stop> {
        let r = self.cmd(Command::User(username(user)?)).await?;
        match r.code().as_u16() {
            230 | 202 => return Ok(()),
            331 | 332 => {}
            _ => return fail(format!("USER: expected 331 or 230, got {}", show(&r))),
        }
        let r = self.cmd(Command::Pass(password_of(password)?)).await?;
        match r.code().as_u16() {
            230 | 202 => Ok(()),
            _ => fail(format!("login: PASS: expected 230, got {}", show(&r))),
        }
    }

    /// `PBSZ 0` and `PROT P` (RFC 4217 section 9).
    pub(crate) async fn protect_data(&mut self) -> Result<(), Stop> {
        self.expect(Command::Pbsz(0), &[200]).await?;
        self.expect(Command::Prot(ftp_proto::ProtectionLevel::Private), &[200]).await?;
        self.prot_private = true;
        Ok(())
    }

    /// The features of a FEAT reply; empty when FEAT is not supported.
    pub(crate) async fn features(&mut self) -> Result<Vec<Feature>, Stop> {
        let r = self.cmd(Command::Feat).await?;
        Ok(match r.features() {
            Ok(f) => f.collect(),
            Err(_) => Vec::new(),
        })
    }

    /// Waits up to `limit` for the server to close the connection, reading
    /// (and logging) whatever it sends meanwhile.
    pub(crate) async fn wait_close(&mut self, limit: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + limit;
        let Some(stream) = self.stream.as_mut() else { return Ended::Closed };
        let mut chunk = [0u8; 4096];
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Err(_) => return Ended::Open,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.log.note(format!("{}: closed by the server", self.tag));
                    return Ended::Closed;
                }
                Ok(Ok(n)) => self.log.note(format!("{}< (raw) {}", self.tag, escape(&chunk[..n]))),
            }
        }
    }

    /// Closes our side.
    pub(crate) async fn close(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), s.shutdown()).await;
        }
    }

    fn next_data_tag(&mut self) -> String {
        self.data_count += 1;
        format!("{}.d{}", self.tag, self.data_count)
    }

    /// `PASV`: the port of a 227 reply, with the control peer's address
    /// (the 227 address is never used, SECURITY.md D5).
    pub(crate) async fn pasv(&mut self) -> Result<(SocketAddr, Reply), Stop> {
        let r = self.expect(Command::Pasv, &[227]).await?;
        match r.passive_addr() {
            Ok(a) => Ok((SocketAddr::new(self.peer.ip(), a.port()), r)),
            Err(e) => fail(format!("PASV: cannot read the 227 reply ({e}): {}", show(&r))),
        }
    }

    /// `EPSV`: the control peer's address and the port of a 229 reply.
    pub(crate) async fn epsv(&mut self) -> Result<(SocketAddr, Reply), Stop> {
        let r = self.expect(Command::Epsv(ftp_proto::EpsvArg::Any), &[229]).await?;
        match r.extended_passive_port() {
            Ok(p) => Ok((SocketAddr::new(self.peer.ip(), p), r)),
            Err(e) => fail(format!("EPSV: cannot read the 229 reply ({e}): {}", show(&r))),
        }
    }

    /// A passive data address: PASV on IPv4, EPSV on IPv6.
    pub(crate) async fn passive(&mut self) -> Result<SocketAddr, Stop> {
        if self.peer.is_ipv4() { Ok(self.pasv().await?.0) } else { Ok(self.epsv().await?.0) }
    }

    /// Connects a data connection to `addr` (TLS when PROT P is in force).
    pub(crate) async fn data_connect(&mut self, addr: SocketAddr, source: Option<IpAddr>) -> Result<Data, Stop> {
        let tag = self.next_data_tag();
        let tcp = tcp_connect(addr, source, self.timeout).await?;
        self.log.note(format!("{tag}: connected to {addr}"));
        Ok(Data { stream: DataStream::Tcp(tcp), tag, log: self.log.clone(), timeout: self.timeout })
    }

    /// The TLS handshake on a data connection, when PROT P is in force.
    pub(crate) async fn secure_data(&self, data: &mut Data) -> Result<(), Stop> {
        if !self.prot_private {
            return Ok(());
        }
        let Some(tls) = self.tls.clone() else { return fail("PROT P without a TLS configuration") };
        let DataStream::Tcp(tcp) = std::mem::replace(&mut data.stream, DataStream::Gone) else {
            return fail("data connection already secured");
        };
        let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
        let s = within(self.timeout, "TLS handshake on the data connection", connector.connect(tls.name.clone(), tcp))
            .await?;
        data.log.note(format!("{}: TLS established", data.tag));
        data.stream = DataStream::Tls(Box::new(s));
        Ok(())
    }

    /// A listener for PORT/EPRT on our control address.
    pub(crate) async fn active_listener(&self) -> Result<TcpListener, Stop> {
        let addr = SocketAddr::new(self.local.ip(), 0);
        TcpListener::bind(addr).await.map_err(|e| Stop::Fail(format!("binding a data listener on {addr}: {e}")))
    }

    /// Accepts the server's data connection for PORT/EPRT; only from the
    /// control peer's address.
    pub(crate) async fn data_accept(&mut self, listener: &TcpListener) -> Result<Data, Stop> {
        let tag = self.next_data_tag();
        let (tcp, from) = within(self.timeout, "waiting for the server's data connection", listener.accept()).await?;
        if from.ip() != self.peer.ip() {
            return fail(format!("data connection from {from}, not from the server's address {}", self.peer.ip()));
        }
        let _ = tcp.set_nodelay(true);
        self.log.note(format!("{tag}: accepted from {from}"));
        Ok(Data { stream: DataStream::Tcp(tcp), tag, log: self.log.clone(), timeout: self.timeout })
    }
}

/// The name for `AUTH TLS`.
pub(crate) fn mech_tls() -> Result<ftp_proto::Mechanism, Stop> {
    ftp_proto::Mechanism::try_from("TLS").map_err(|e| Stop::Fail(format!("AUTH TLS: {e}")))
}

/// A user name, validated.
pub(crate) fn username(s: &str) -> Result<ftp_proto::Username, Stop> {
    ftp_proto::Username::try_from(s).map_err(|e| Stop::Fail(format!("user name not sendable: {e}")))
}

/// A password, validated.
pub(crate) fn password_of(s: &str) -> Result<ftp_proto::Secret<ftp_proto::Password>, Stop> {
    ftp_proto::Password::try_from(s)
        .map(ftp_proto::Secret::new)
        .map_err(|e| Stop::Fail(format!("password not sendable: {e}")))
}

/// A pathname, validated.
pub(crate) fn path(s: &str) -> Result<ftp_proto::Pathname, Stop> {
    ftp_proto::Pathname::try_from(s).map_err(|e| Stop::Fail(format!("pathname {s:?} not sendable: {e}")))
}

/// `503`, `200 or 202`...
pub(crate) fn codes_text(codes: &[u16]) -> String {
    let v: Vec<String> = codes.iter().map(u16::to_string).collect();
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} or {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

/// Whether an error means the peer closed the connection.
pub(crate) fn is_close(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

enum DataStream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Gone,
}

/// A data connection.
pub(crate) struct Data {
    stream: DataStream,
    tag: String,
    log: Transcript,
    timeout: Duration,
}

impl Data {
    /// Reads until the server closes the connection, at most `max` bytes.
    pub(crate) async fn read_to_end(&mut self, max: usize) -> Result<Vec<u8>, Stop> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = self.read_some(&mut chunk).await?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
            if out.len() > max {
                return fail(format!("{}: more than {max} bytes received", self.tag));
            }
        }
        self.log.note(format!("{}: received {} bytes, then end of data", self.tag, out.len()));
        if let DataStream::Tls(s) = &mut self.stream {
            // Answer the server's close_notify with ours: some servers
            // (vsftpd) wait for it before they send 226.
            let _ = tokio::time::timeout(self.timeout, s.shutdown()).await;
        }
        // Close at once, as clients do: some servers (proftpd) wait for the
        // client's close before they send 226.
        self.stream = DataStream::Gone;
        Ok(out)
    }

    /// One read (0 at the end of the data); a read that waits longer than
    /// the timeout is a failure.
    pub(crate) async fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, Stop> {
        let limit = self.timeout;
        let fut = async {
            let r = match &mut self.stream {
                DataStream::Tcp(s) => s.read(buf).await,
                DataStream::Tls(s) => s.read(buf).await,
                DataStream::Gone => Ok(0),
            };
            match r {
                Err(e) if is_close(&e) => Ok(0),
                other => other,
            }
        };
        within(limit, &format!("{}: reading data", self.tag), fut).await
    }

    /// Waits up to `limit` for data or the end: `Some(n)` bytes read (0 at
    /// the end), `None` when nothing happened.
    pub(crate) async fn poll_for(&mut self, limit: Duration) -> Option<usize> {
        let mut buf = [0u8; 4096];
        let fut = async {
            match &mut self.stream {
                DataStream::Tcp(s) => s.read(&mut buf).await,
                DataStream::Tls(s) => s.read(&mut buf).await,
                DataStream::Gone => Ok(0),
            }
        };
        match tokio::time::timeout(limit, fut).await {
            Err(_) => None,
            Ok(Ok(n)) => Some(n),
            Ok(Err(_)) => Some(0),
        }
    }

    /// Writes everything, then closes the connection (end of file in stream
    /// mode, RFC 959 3.4.1).
    pub(crate) async fn write_and_close(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let limit = self.timeout;
        let fut = async {
            match &mut self.stream {
                DataStream::Tcp(s) => {
                    s.write_all(bytes).await?;
                    s.shutdown().await
                }
                DataStream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.shutdown().await
                }
                DataStream::Gone => Ok(()),
            }
        };
        within(limit, &format!("{}: sending data", self.tag), fut).await?;
        self.log.note(format!("{}: sent {} bytes, then closed", self.tag, bytes.len()));
        if let DataStream::Tls(s) = &mut self.stream {
            // Read until the server closes: this takes in the TLS 1.3
            // session tickets it sent on this connection (single-use in
            // rustls), so that later data connections can still resume the
            // control connection's session (RFC 4217 10.2).
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(limit, async {
                while let Ok(n) = s.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }
        self.stream = DataStream::Gone;
        Ok(())
    }

    /// Drops the connection.
    pub(crate) fn close(&mut self) {
        self.stream = DataStream::Gone;
    }
}
