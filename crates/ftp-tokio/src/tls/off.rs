//! The TLS of a build without the `rustls` feature: none. No value of
//! these types can exist (each holds, behind a pointer, an empty enum), so
//! every function that takes one is never called: the drivers' TLS paths
//! compile unchanged and are dead. The one thing that can be asked for is
//! a client connector, and it is refused.
//!
//! The pointers keep the compiler from seeing the callers' TLS paths as
//! unreachable code (it would warn about each).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{IssuerSlot, SessionTls};
use crate::client::{ClientError, ClientOptions};

/// A TLS server configuration. This build of `ftp-tokio` has no TLS (its
/// `rustls` feature is off), so none exists: `ServerOptions::tls` can only
/// be `None`.
#[derive(Debug)]
pub enum ServerConfig {}

/// The client's trust anchors. This build of `ftp-tokio` has no TLS (its
/// `rustls` feature is off), so none exists: `ClientOptions::roots` can
/// only be `None`.
#[derive(Debug)]
pub enum RootCertStore {}

/// No value.
enum Never {}

/// A server-side TLS acceptor: none.
#[derive(Clone)]
pub(crate) struct Acceptor(Arc<ServerConfig>);

/// A TLS stream: none.
pub(crate) struct ServerStream(Box<Never>);

/// The same on the client side.
pub(crate) type ClientStream = ServerStream;

/// A client's TLS settings: none.
#[derive(Clone)]
pub(crate) struct Connector(Arc<Never>);

/// An address's shared ticket key and store: none is made (`new` takes
/// a configuration, and none exists).
pub(crate) struct AddressKeys;

impl AddressKeys {
    pub(crate) fn new(base: &ServerConfig) -> Self {
        match *base {}
    }
}

pub(crate) fn per_session(base: &Arc<ServerConfig>) -> SessionTls {
    match **base {}
}

pub(crate) fn tagged_session(
    base: &Arc<ServerConfig>,
    _keys: &AddressKeys,
    _issuer: u64,
    _slot: Arc<IssuerSlot>,
) -> SessionTls {
    match **base {}
}

pub(crate) fn acceptor(config: Arc<ServerConfig>) -> Acceptor {
    Acceptor(config)
}

pub(crate) async fn accept(acceptor: &Acceptor, _stream: TcpStream, _tag: [u8; 8]) -> io::Result<ServerStream> {
    match *acceptor.0 {}
}

pub(crate) async fn accept_data(
    _stream: TcpStream,
    with_tickets: &Arc<ServerConfig>,
    _without_tickets: &Arc<ServerConfig>,
    _send_tickets: impl FnOnce() -> bool,
    _tag: [u8; 8],
) -> io::Result<ServerStream> {
    match **with_tickets {}
}

pub(crate) fn resumed(stream: &ServerStream) -> bool {
    match *stream.0 {}
}

pub(crate) fn resumption_data(stream: &ServerStream) -> Option<Vec<u8>> {
    match *stream.0 {}
}

pub(crate) async fn clear(stream: ServerStream) -> io::Result<TcpStream> {
    match *stream.0 {}
}

/// Explicit and implicit FTPS are refused before any connection is made.
pub(crate) fn connector(_options: &ClientOptions, _host: &str) -> Result<Connector, ClientError> {
    Err(ClientError::TlsUnavailable)
}

pub(crate) async fn connect(connector: &Connector, _stream: TcpStream) -> io::Result<ClientStream> {
    match *connector.0 {}
}

pub(crate) fn protocol_version(stream: &ClientStream) -> String {
    match *stream.0 {}
}

pub(crate) fn send_close_notify(stream: &mut ClientStream) {
    match *stream.0 {}
}

pub(crate) fn tcp(stream: &ClientStream) -> &TcpStream {
    match *stream.0 {}
}

pub(crate) fn into_tcp(stream: ClientStream) -> TcpStream {
    match *stream.0 {}
}

impl AsyncRead for ServerStream {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, _buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match *self.0 {}
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, _buf: &[u8]) -> Poll<io::Result<usize>> {
        match *self.0 {}
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self.0 {}
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self.0 {}
    }
}
