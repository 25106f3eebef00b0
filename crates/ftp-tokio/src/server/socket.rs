//! A data connection's socket, known to the event loop only once a
//! transfer on it may have to wait.
//!
//! A passive connection taken at the transfer command (see
//! `Conn::watch_listeners`) carries, as a rule, a small file or a short
//! listing: one `send(2)` takes it all, and the connection is closed. Such
//! a transfer needs no readiness events, so registering the socket with
//! epoll (and removing it again) would be two system calls in every small
//! transfer for nothing. The socket stays unwatched until a transfer takes
//! the general path ([`DataSocket::watched`]).

use std::io;

use bytes::Bytes;
use tokio::net::TcpStream;

/// An accepted or connected data connection's socket (non-blocking either
/// way).
#[derive(Debug)]
pub(super) enum DataSocket {
    /// Accepted, not registered with the event loop yet.
    Unwatched(std::net::TcpStream),
    /// Registered: made by tokio (an active connection, or one a listener
    /// task accepted), or handed to a transfer that waits.
    Watched(TcpStream),
}

impl DataSocket {
    /// The socket registered with the event loop, for a transfer that may
    /// wait. `TCP_NODELAY` is set on a passive connection here (a TLS
    /// handshake's or a listing's small writes must not wait for the
    /// client's delayed ACKs); a socket that is only ever sent to at once
    /// and then closed never needs it, as the FIN pushes out whatever
    /// Nagle held back.
    pub(super) fn watched(self) -> io::Result<TcpStream> {
        match self {
            Self::Unwatched(socket) => {
                let socket = TcpStream::from_std(socket)?;
                let _ = socket.set_nodelay(true);
                Ok(socket)
            }
            Self::Watched(socket) => Ok(socket),
        }
    }

    /// Sends `bytes` now, without waiting: how many the kernel took (0 if
    /// the socket buffer is full); an error for a broken connection.
    /// `MSG_NOSIGNAL`: a closed connection is an error, not SIGPIPE.
    fn send_now(&self, bytes: &[u8]) -> io::Result<usize> {
        // Straight on the socket, for a registered one too: tokio knows
        // no readiness of a socket it has just registered, and its own
        // write would wait a turn of the event loop for what the socket
        // takes at once. A full buffer found here is found again, and
        // waited for, by the tokio write that sends the rest.
        let sock = match self {
            Self::Unwatched(socket) => socket2::SockRef::from(socket),
            Self::Watched(socket) => socket2::SockRef::from(socket),
        };
        match sock.send_with_flags(bytes, super::transfer::NO_SIGNAL) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            other => other,
        }
    }

    /// Sends a small file's bytes whole and closes the connection (its FIN),
    /// without waiting. `Err(Unsent)` when the socket buffer took less than
    /// all, with how many it took (the caller sends the rest on the general
    /// path); `Ok(Err(_))` for a broken connection.
    pub(super) fn send_whole(self, bytes: &Bytes) -> Result<io::Result<()>, Unsent> {
        match self.send_now(bytes) {
            // Closed here: the descriptor is this value's alone, so closing
            // it sends the FIN (a shutdown first would be one more call
            // for the same FIN).
            Ok(n) if n == bytes.len() => Ok(Ok(())),
            Ok(n) => Err(Unsent { socket: self, sent: n }),
            Err(e) => Ok(Err(e)),
        }
    }
}

/// What [`DataSocket::send_whole`] could not send at once: the socket, and
/// how many of the bytes it took.
#[derive(Debug)]
pub(super) struct Unsent {
    pub(super) socket: DataSocket,
    pub(super) sent: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A loopback connection: the accepted end unwatched, and the client.
    async fn pair() -> (DataSocket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (DataSocket::Unwatched(server.into_std().unwrap()), client)
    }

    /// RFC 959 3.4 (stream mode): a small file goes whole, then the end of
    /// the connection marks the end of the file.
    #[tokio::test]
    async fn a_small_file_goes_whole_and_ends_the_stream() {
        let (socket, mut client) = pair().await;
        let bytes = Bytes::from(vec![7u8; 4096]);
        socket.send_whole(&bytes).unwrap().unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(5), client.read_to_end(&mut got)).await.unwrap().unwrap();
        assert_eq!(got, bytes);
    }

    /// More than the socket buffer takes at once: what was sent is told,
    /// and the rest goes on the general path, registered, with no byte
    /// lost or repeated.
    #[tokio::test]
    async fn what_does_not_fit_is_left_for_the_general_path() {
        use tokio::io::AsyncWriteExt;
        let (socket, mut client) = pair().await;
        let bytes = Bytes::from((0..64 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect::<Vec<_>>());
        let unsent = socket.send_whole(&bytes).expect_err("64 MiB do not fit a socket buffer");
        assert!(unsent.sent < bytes.len());
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut watched = unsent.socket.watched().unwrap();
        watched.write_all(&bytes[unsent.sent..]).await.unwrap();
        watched.shutdown().await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(30), reader).await.unwrap().unwrap();
        assert!(got == bytes, "the bytes arrive in order, each once");
    }

    /// A connection the client has reset is an error, not a short send
    /// (SECURITY.md X3: the transfer is reported as cut, 426).
    #[tokio::test]
    async fn a_reset_connection_is_an_error() {
        let (socket, client) = pair().await;
        let client = client.into_std().unwrap();
        socket2::SockRef::from(&client).set_linger(Some(std::time::Duration::ZERO)).unwrap();
        drop(client);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let bytes = Bytes::from(vec![1u8; 4096]);
        assert!(matches!(socket.send_whole(&bytes), Ok(Err(_))));
    }
}
