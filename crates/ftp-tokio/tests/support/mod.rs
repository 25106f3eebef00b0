//! A raw FTP client for driving the server in tests: commands written by
//! hand, replies read with `ftp_proto::ReplyDecoder`, data connections
//! opened by the test, so a test can misbehave on purpose (connect late or
//! never, drop a connection mid-transfer). Loopback only; every wait is
//! bounded by [`WAIT`].

#![allow(dead_code, unreachable_pub)]

// The client tests' kit makes FTPS servers: only with certificates to make.
#[cfg(feature = "self-signed")]
pub mod client_kit;
pub mod scripted;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ftp_proto::{ParseOptions, Reply, ReplyDecoder};
use ftp_tokio::server::{Server, ServerOptions, ShutdownHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Implements `Storage` methods by forwarding each to the storage in the
/// field `$inner`, calling `$hook(self, user)` first: test storages that
/// wrap `MemoryFs` to take capabilities away or to watch requests. Inside an
/// `impl Storage` block, with `Principal`, `BoxFuture` and `StorageError` in
/// scope.
#[allow(unused_macros)]
macro_rules! forward_storage {
    ($inner:tt, $hook:expr; $($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(fn $name<'a>(&'a self, user: &'a Principal, $($arg: $ty),*) -> BoxFuture<'a, Result<$out, StorageError>> {
            ($hook)(self, user);
            self.$inner.$name(user, $($arg),*)
        })*
    };
}

/// [`forward_storage!`] for every required `Storage` method, plus the
/// optional ones listed after a `;` (`stat`, `set_mode`, ...). Needs
/// `Entry`, `Timestamp`, `FileSource`, `FileSink`, `WriteMode` and
/// `VirtualPath` in scope too.
#[allow(unused_macros)]
macro_rules! forward_required_storage {
    ($inner:tt, $hook:expr $(; $($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*)?) => {
        forward_storage! { $inner, $hook;
            change_dir(path: &'a VirtualPath) -> ();
            entries(path: &'a VirtualPath, all: bool) -> Vec<Entry>;
            size(path: &'a VirtualPath) -> u64;
            modified(path: &'a VirtualPath) -> Timestamp;
            open_read(path: &'a VirtualPath, offset: u64) -> FileSource;
            open_write(path: &'a VirtualPath, mode: WriteMode) -> FileSink;
            delete(path: &'a VirtualPath) -> ();
            make_dir(path: &'a VirtualPath) -> ();
            remove_dir(path: &'a VirtualPath) -> ();
            rename(from: &'a VirtualPath, to: &'a VirtualPath) -> ();
            $($($name($($arg: $ty),*) -> $out;)*)?
        }
    };
}

/// The longest any single step of a test waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// A started server: its address and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: ShutdownHandle,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds and runs a server on an ephemeral loopback port in this runtime.
pub async fn serve(options: ServerOptions) -> Running {
    let server = Server::bind(options).await.expect("bind");
    let addr = server.local_addr().unwrap();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.run());
    Running { addr, shutdown, task }
}

/// Options listening on 127.0.0.1, port chosen by the system.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// The reply's code as a number.
pub fn code(reply: &Reply) -> u16 {
    let s = reply_text(reply);
    s[..3].parse().unwrap()
}

/// The reply as text, every line.
pub fn reply_text(reply: &Reply) -> String {
    let mut buf = BytesMut::new();
    reply.encode(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// One control connection.
pub struct Ftp {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ReplyDecoder,
    /// The local address data connections are made from (the control
    /// connection's, as the server requires; RFC 2577 section 8).
    local_ip: IpAddr,
}

async fn connect_from(from: Option<IpAddr>, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = from {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    tokio::time::timeout(WAIT, socket.connect(to)).await.map_err(|_| std::io::ErrorKind::TimedOut)?
}

impl Ftp {
    /// Connects and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> (Self, Reply) {
        Self::connect_from(None, addr).await
    }

    /// Connects from a chosen loopback address (127.0.0.2 and so on).
    pub async fn connect_from(from: Option<IpAddr>, addr: SocketAddr) -> (Self, Reply) {
        let stream = connect_from(from, addr).await.expect("connect");
        let local_ip = stream.local_addr().unwrap().ip();
        let mut ftp =
            Self { stream, buf: BytesMut::new(), decoder: ReplyDecoder::new(ParseOptions::default()), local_ip };
        let greeting = ftp.reply().await;
        (ftp, greeting)
    }

    /// A control connection the test opened itself (after sending a PROXY
    /// header, say), with data connections made from `data_ip`; the
    /// greeting is not read yet.
    pub fn from_stream(stream: TcpStream, data_ip: IpAddr) -> Self {
        Self { stream, buf: BytesMut::new(), decoder: ReplyDecoder::new(ParseOptions::default()), local_ip: data_ip }
    }

    /// The control connection itself, e.g. for a TLS handshake after
    /// `AUTH TLS` (nothing may be buffered past the last reply).
    pub fn into_stream(self) -> TcpStream {
        assert!(self.buf.is_empty(), "bytes after the last reply");
        self.stream
    }

    /// The next reply.
    ///
    /// # Panics
    /// The connection ends or nothing arrives within [`WAIT`].
    pub async fn reply(&mut self) -> Reply {
        self.try_reply().await.expect("a reply")
    }

    /// The next reply, or `None` when the server closed the connection.
    pub async fn try_reply(&mut self) -> Option<Reply> {
        loop {
            if let Some(r) = self.decoder.decode(&mut self.buf) {
                return Some(r.expect("a well-formed reply"));
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("the server answers in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Writes a command line (CRLF added) without waiting.
    pub async fn send(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\r\n").as_bytes()).await.expect("write");
    }

    /// Sends a command and returns its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(line).await;
        self.reply().await
    }

    /// Sends a command and returns its reply code.
    pub async fn code(&mut self, line: &str) -> u16 {
        code(&self.cmd(line).await)
    }

    /// USER and PASS; panics unless logged in (230).
    pub async fn login(&mut self, user: &str, password: &str) {
        assert_eq!(self.code(&format!("USER {user}")).await, 331);
        let reply = self.cmd(&format!("PASS {password}")).await;
        assert_eq!(code(&reply), 230, "{}", reply_text(&reply));
    }

    /// EPSV (RFC 2428 section 3); returns where to connect.
    pub async fn epsv(&mut self) -> SocketAddr {
        let reply = self.cmd("EPSV").await;
        assert_eq!(code(&reply), 229, "{}", reply_text(&reply));
        let text = reply_text(&reply);
        let inner = text.split("(|||").nth(1).and_then(|s| s.split('|').next()).expect("229 (|||port|)");
        let port: u16 = inner.parse().unwrap();
        SocketAddr::new(self.stream.peer_addr().unwrap().ip(), port)
    }

    /// Opens the data connection to a passive port, from this control
    /// connection's address.
    pub async fn data(&self, to: SocketAddr) -> TcpStream {
        connect_from(Some(self.local_ip), to).await.expect("data connection")
    }

    /// EPSV, the command, the data connection read to its end: the
    /// preliminary reply, the bytes, the final reply.
    pub async fn download(&mut self, command: &str) -> (u16, Vec<u8>, u16) {
        let to = self.epsv().await;
        let mut data = self.data(to).await;
        let first = self.code(command).await;
        let mut bytes = Vec::new();
        if first == 150 || first == 125 {
            tokio::time::timeout(WAIT, data.read_to_end(&mut bytes)).await.expect("data in time").expect("read");
            let last = code(&self.reply().await);
            return (first, bytes, last);
        }
        (first, bytes, first)
    }

    /// EPSV, the command, `bytes` written and the data connection closed:
    /// the preliminary reply and the final reply.
    pub async fn upload(&mut self, command: &str, bytes: &[u8]) -> (u16, u16) {
        let to = self.epsv().await;
        let mut data = self.data(to).await;
        let first = self.code(command).await;
        if first != 150 && first != 125 {
            return (first, first);
        }
        data.write_all(bytes).await.expect("upload");
        data.shutdown().await.expect("close");
        drop(data);
        (first, code(&self.reply().await))
    }

    /// Whether the server has closed the control connection (reads to EOF,
    /// discarding replies).
    pub async fn closed(&mut self) -> bool {
        for _ in 0..100 {
            if self.try_reply().await.is_none() {
                return true;
            }
        }
        false
    }
}

/// Runs `f` with a timeout of [`WAIT`] times `factor`.
pub async fn bounded<F: std::future::Future>(factor: u32, f: F) -> F::Output {
    tokio::time::timeout(WAIT * factor, f).await.expect("the test step finished in time")
}

/// A MemoryFs-backed server's options with a writable `alice:secret`.
pub fn memory_options(fs: &ftp_tokio::memory::MemoryFs) -> ServerOptions {
    let mut options = ServerOptions::with_storage(loopback(), Arc::new(fs.clone()));
    options.users = vec![ftp_tokio::server::User { name: "alice".into(), password: "secret".into(), writable: true }];
    options
}
