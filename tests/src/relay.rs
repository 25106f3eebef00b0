//! A control-connection relay that refuses `EPSV`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// Relays control connections from a 127.0.0.1 port to a server, and
/// answers every `EPSV` itself with `502` instead of passing it on. A
/// client that falls back to `PASV` on 502 (RFC 2428 3; PEERS.md pain
/// point 3) then uses `PASV` against a server that offers both; the 227
/// reply comes from the real server, and the client connects to its data
/// port directly (the relay's address and the server's are both 127.0.0.1).
/// Plain FTP only: a TLS control connection cannot be inspected.
#[derive(Debug)]
pub struct EpsvRefusingRelay {
    addr: SocketAddr,
    refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl EpsvRefusingRelay {
    /// Listens on an ephemeral 127.0.0.1 port and relays to `server`.
    ///
    /// # Panics
    /// No loopback port can be bound.
    pub async fn start(server: SocketAddr) -> Self {
        assert!(server.ip().is_loopback(), "loopback only");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let refused = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&refused);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(server).await {
                        relay(client, upstream, counter).await;
                    }
                });
            }
        });
        Self { addr, refused, task }
    }

    /// Where clients connect.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many `EPSV` commands were refused so far.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for EpsvRefusingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, upstream: TcpStream, refused: Arc<AtomicUsize>) {
    let (client_read, client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let client_write = Arc::new(Mutex::new(client_write));
    let to_client = Arc::clone(&client_write);
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match upstream_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_client.lock().await.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_client.lock().await.shutdown().await;
    });
    let mut lines = BufReader::new(client_read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let verb: Vec<u8> = line.iter().take_while(|b| b.is_ascii_alphabetic()).map(u8::to_ascii_uppercase).collect();
        if verb == b"EPSV" {
            refused.fetch_add(1, Ordering::SeqCst);
            if client_write.lock().await.write_all(b"502 EPSV refused by the test relay\r\n").await.is_err() {
                break;
            }
        } else if upstream_write.write_all(&line).await.is_err() {
            break;
        }
    }
    let _ = upstream_write.shutdown().await;
    let _ = down.await;
}
