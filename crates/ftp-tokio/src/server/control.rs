//! The control connection: plaintext or TLS on the same TCP stream, with
//! the handshake bounded in time and TLS cleared again for CCC and REIN
//! (RFC 4217 sections 12.3 and 13).

#[allow(clippy::wildcard_imports)]
use super::*;
use tokio::io::Interest;

pub(super) type TlsControl = tokio_rustls::server::TlsStream<TcpStream>;

/// The control connection, in plaintext or TLS.
pub(super) enum Control {
    /// The halves, and whether a direct read already saw the peer's EOF.
    Plain(tokio::net::tcp::OwnedReadHalf, tokio::net::tcp::OwnedWriteHalf, bool),
    /// The halves, and what the last read brought.
    Tls(tokio::io::ReadHalf<TlsControl>, tokio::io::WriteHalf<TlsControl>, Box<TlsRead>),
    Closed,
}

/// Bytes read from a TLS control connection, waiting for [`Control::read_now`].
pub(super) struct TlsRead {
    buf: [u8; READ_BUFFER],
    filled: usize,
    eof: bool,
}

/// The most bytes one read of a control connection takes. Commands are at
/// most 4 KiB a line and the decoder takes them in pieces, so a small
/// buffer costs nothing (commands are tens of bytes).
const READ_BUFFER: usize = 1024;

thread_local! {
    /// The read buffer of every plaintext control connection of this thread
    /// (a lane): a session reads only once its socket is ready, and hands
    /// the bytes to its state machine before it waits again, so one buffer
    /// serves them all, and an idle session holds none (README: memory per
    /// session).
    static PLAIN_READ: std::cell::RefCell<[u8; READ_BUFFER]> = const { std::cell::RefCell::new([0; READ_BUFFER]) };
}

/// What [`Control::read_now`] found.
pub(super) enum Read {
    /// Bytes, given to the closure.
    Fed,
    /// Nothing after all (a spurious wake-up): wait again.
    Nothing,
    /// The peer closed the connection, or it broke.
    Eof,
}

pub(super) fn timed_out() -> io::Error {
    io::Error::from(io::ErrorKind::TimedOut)
}

impl Control {
    pub(super) fn plain(stream: TcpStream) -> Self {
        let (r, w) = stream.into_split();
        Self::Plain(r, w, false)
    }

    /// The TLS handshake; the sessions it issues carry `tag`, this control
    /// connection's id (see [`super::resumption`]).
    pub(super) async fn handshake(
        stream: TcpStream,
        acceptor: &tokio_rustls::TlsAcceptor,
        tag: [u8; 8],
    ) -> io::Result<Self> {
        let accept = acceptor.accept_with(stream, |conn| conn.set_resumption_data(&tag));
        let tls = tokio::time::timeout(TLS_TIMEOUT, accept).await.map_err(|_| timed_out())??;
        let (r, w) = tokio::io::split(tls);
        Ok(Self::Tls(r, w, Box::new(TlsRead { buf: [0; READ_BUFFER], filled: 0, eof: false })))
    }

    /// Waits until [`read_now`](Self::read_now) has something to say: bytes
    /// or the end. Cancel-safe (it is one branch of the session's
    /// `select!`): nothing read is lost when it is dropped.
    pub(super) async fn readable(&mut self) {
        match self {
            // An error here is found again, and reported, by `read_now`.
            Self::Plain(r, _, false) => drop(r.readable().await),
            Self::Tls(r, _, read) if read.filled == 0 && !read.eof => match r.read(&mut read.buf).await {
                Ok(0) | Err(_) => read.eof = true,
                Ok(n) => read.filled = n,
            },
            Self::Plain(..) | Self::Tls(..) | Self::Closed => {}
        }
    }

    /// Reads what is there now, without waiting, and hands it to `feed`.
    pub(super) fn read_now(&mut self, feed: impl FnOnce(&[u8])) -> Read {
        match self {
            Self::Plain(_, _, true) | Self::Closed => Read::Eof,
            Self::Plain(r, _, eof) => PLAIN_READ.with_borrow_mut(|buf| {
                let mut n = match r.try_read(buf) {
                    Ok(0) => return Read::Eof,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::Nothing,
                    Err(_) => return Read::Eof,
                };
                // Linux ends a read at the urgent mark even when more bytes
                // wait, and tokio takes a short read as "drained" and waits
                // for a readiness event that will not come. So read on,
                // straight from the (non-blocking) socket, until it would
                // block; an EOF seen there is reported by the next call.
                use std::io::Read as _;
                let socket = socket2::SockRef::from(r.as_ref());
                while n < buf.len() {
                    match (&*socket).read(&mut buf[n..]) {
                        Ok(0) => {
                            *eof = true;
                            break;
                        }
                        Ok(m) => n += m,
                        Err(e) => {
                            if e.kind() == io::ErrorKind::WouldBlock {
                                // The socket is drained, and tokio is told
                                // so without asking the socket again (its
                                // next `readable` would read once more only
                                // to find nothing: a system call per command).
                                // Safe with edge-triggered readiness: bytes
                                // that come after this read raise a new event.
                                let _ = r.as_ref().try_io(Interest::READABLE, || Err::<(), _>(e));
                            }
                            break;
                        }
                    }
                }
                feed(&buf[..n]);
                Read::Fed
            }),
            Self::Tls(_, _, read) => {
                if read.filled > 0 {
                    feed(&read.buf[..std::mem::take(&mut read.filled)]);
                    Read::Fed
                } else if read.eof {
                    Read::Eof
                } else {
                    Read::Nothing
                }
            }
        }
    }

    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(_, w, _) => w.write_all(bytes).await,
            Self::Tls(_, w, _) => {
                w.write_all(bytes).await?;
                w.flush().await
            }
            Self::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    pub(super) async fn shutdown(&mut self) {
        match self {
            Self::Plain(_, w, _) => drop(w.shutdown().await),
            Self::Tls(_, w, _) => drop(w.shutdown().await),
            Self::Closed => {}
        }
    }

    /// RFC 4217 section 4: the handshake right after the 234 went out.
    pub(super) async fn start_tls(&mut self, acceptor: &tokio_rustls::TlsAcceptor, tag: [u8; 8]) -> io::Result<()> {
        let Self::Plain(r, w, _) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let tcp = r.reunite(w).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        *self = Self::handshake(tcp, acceptor, tag).await?;
        Ok(())
    }

    /// RFC 4217 sections 12.3 (CCC) and 13 (REIN): after the reply went
    /// out protected, send close_notify, wait for the peer's, and go on in
    /// plaintext on the same TCP connection. Anything that arrives before
    /// the peer's close_notify is discarded, never run (SECURITY.md L1).
    ///
    /// The peer's records are read from the socket one at a time (a 5-byte
    /// header, then exactly its length), never more: the plaintext command
    /// a client sends right after its close_notify may already be in the
    /// socket, and must stay there for the plaintext reader.
    pub(super) async fn stop_tls(&mut self) -> io::Result<()> {
        let Self::Tls(r, w, _) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let (mut tcp, mut tls) = r.unsplit(w).into_inner();
        let exchange = async {
            tls.send_close_notify();
            let mut out = Vec::new();
            while tls.wants_write() {
                tls.write_tls(&mut out)?;
            }
            tcp.write_all(&out).await?;
            let mut discarded = 0usize;
            let mut sink = [0u8; 4096];
            loop {
                let state = tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                // Application data before the close_notify: dropped.
                while let Ok(n @ 1..) = io::Read::read(&mut tls.reader(), &mut sink) {
                    discarded += n;
                }
                if state.peer_has_closed() {
                    return Ok(());
                }
                if discarded > MAX_DISCARD_BEFORE_CLOSE_NOTIFY {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "no close_notify from the peer"));
                }
                let mut record = vec![0u8; 5];
                tcp.read_exact(&mut record).await?;
                let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
                if len > MAX_TLS_RECORD {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "oversized TLS record"));
                }
                record.resize(5 + len, 0);
                tcp.read_exact(&mut record[5..]).await?;
                discarded += record.len();
                let mut rest = &record[..];
                while !rest.is_empty() {
                    if tls.read_tls(&mut rest)? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        };
        tokio::time::timeout(TLS_TIMEOUT, exchange).await.map_err(|_| timed_out())??;
        *self = Self::plain(tcp);
        Ok(())
    }
}

/// A control connection's two data-connection configurations.
pub(super) struct DataTlsConfigs {
    pub(super) with_tickets: Arc<rustls::ServerConfig>,
    pub(super) without_tickets: Arc<rustls::ServerConfig>,
    /// The control connection's id, carried by the sessions it issues.
    pub(super) conn_id: u64,
    /// Who may resume what (SECURITY.md L6).
    pub(super) resumption: Arc<Resumption>,
    /// In [`TlsResumption::SameClient`](super::TlsResumption): which
    /// control connection issued the session a data connection resumed.
    pub(super) issuer: Option<Arc<crate::tls::IssuerSlot>>,
}

/// This control connection's acceptor, and its data connections'
/// configurations (see [`crate::tls::SessionTls`]).
pub(super) fn conn_tls(
    shared: &Shared,
    peer: IpAddr,
    conn_id: u64,
) -> (Option<tokio_rustls::TlsAcceptor>, Option<Arc<DataTlsConfigs>>) {
    match shared.tls().map(|base| shared.resumption.settings(&base, peer, conn_id)) {
        Some((t, issuer)) => (
            Some(t.control.into()),
            Some(Arc::new(DataTlsConfigs {
                with_tickets: t.data_with_tickets,
                without_tickets: t.data_without_tickets,
                conn_id,
                resumption: shared.resumption.clone(),
                issuer,
            })),
        ),
        None => (None, None),
    }
}
