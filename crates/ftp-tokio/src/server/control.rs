//! The control connection: plaintext or TLS on the same TCP stream, with
//! the handshake bounded in time and TLS cleared again for CCC and REIN
//! (RFC 4217 sections 12.3 and 13).

#[allow(clippy::wildcard_imports)]
use super::*;
use tokio::io::Interest;

pub(super) type TlsControl = crate::tls::ServerStream;

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
    /// Bytes, given to the closure, and when the kernel received them
    /// (where it was asked to keep that: [`Control::plain`]).
    Fed(Option<Instant>),
    /// Nothing after all (a spurious wake-up): wait again.
    Nothing,
    /// The peer closed the connection, or it broke.
    Eof,
}

/// One read of `stream` into `buf`, with the kernel's receive time of the
/// bytes when the socket keeps it (`SO_TIMESTAMPNS`).
#[cfg(target_os = "linux")]
fn recv_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Instant>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::AsRawFd;
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(stream.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())?;
    let stamp = msg.cmsgs().ok().and_then(|mut all| {
        all.find_map(|m| match m {
            ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
            _ => None,
        })
    });
    Ok((msg.bytes, stamp.and_then(|ts| since_received(ts.into()))))
}

/// The same, without the time, where the system keeps none.
#[cfg(not(target_os = "linux"))]
fn recv_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Instant>)> {
    stream.try_read(buf).map(|n| (n, None))
}

/// Whether a read that returned `chunk` into a buffer of `capacity` bytes
/// emptied the socket. A read shorter than its buffer took everything
/// there, except where Linux stopped it at TCP urgent data (RFC 959
/// 4.1.3's Synch, sent before ABOR), which the bytes ahead of it betray:
/// the Synch's urgent byte is a Telnet `DM` (or the `IAC` of `IAC DM`),
/// always after an `IAC` (0xFF) of the same Synch, and a read that stops
/// at it ends without a line feed or holds that `IAC` (SECURITY.md T3). A
/// chunk of whole lines with no `IAC` in it therefore ended at the end of
/// the stream, not at a mark.
fn ends_drained(chunk: &[u8], capacity: usize) -> bool {
    chunk.len() < capacity && chunk.last() == Some(&b'\n') && !chunk.contains(&0xFF)
}

/// The monotonic instant of a receive time the kernel gave on the system
/// clock (`None` for a time in the future or long past: a clock step).
#[cfg(target_os = "linux")]
fn since_received(received: Duration) -> Option<Instant> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let age = now.checked_sub(received)?;
    (age < Duration::from_secs(1)).then(|| Instant::now().checked_sub(age)).flatten()
}

pub(super) fn timed_out() -> io::Error {
    io::Error::from(io::ErrorKind::TimedOut)
}

impl Control {
    /// A plaintext control connection; with `stamped`, the kernel keeps
    /// the receive time of its commands, which [`read_now`](Self::read_now)
    /// reports (Linux; elsewhere nothing is reported).
    pub(super) fn plain(stream: TcpStream, stamped: bool) -> Self {
        #[cfg(target_os = "linux")]
        if stamped {
            // Linux turns receive times on for the whole stack from a work
            // queue, so the first bytes after this may come without one
            // (and the wake-up time stands in).
            let _ = nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::ReceiveTimestampns, &true);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = stamped;
        let (r, w) = stream.into_split();
        Self::Plain(r, w, false)
    }

    /// The TLS handshake; the sessions it issues carry `tag`, this control
    /// connection's id (see [`super::resumption`]).
    pub(super) async fn handshake(
        stream: TcpStream,
        acceptor: &crate::tls::Acceptor,
        tag: [u8; 8],
    ) -> io::Result<Self> {
        let accept = crate::tls::accept(acceptor, stream, tag);
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

    /// Whether the client's last bytes were received on the CPU this thread
    /// runs on: for a client on this machine, that it sent them from this
    /// CPU, and so either waits for an answer or waits to run again (this
    /// thread took its CPU). `None` where that is not known (TLS, other
    /// systems).
    pub(super) fn client_on_this_cpu(&self) -> Option<bool> {
        #[cfg(target_os = "linux")]
        if let Self::Plain(r, ..) = self {
            let cpu = rustix::net::sockopt::socket_incoming_cpu(r.as_ref()).ok()?;
            return Some(usize::try_from(cpu).ok()? == rustix::thread::sched_getcpu());
        }
        None
    }

    /// The question "what has the client not read yet?" about this
    /// connection's client end (plaintext only: TLS records hide where a
    /// reply's bytes end).
    #[cfg(target_os = "linux")]
    pub(super) fn peer_read(&self) -> Option<super::peer_read::PeerRead> {
        match self {
            Self::Plain(r, ..) => super::peer_read::PeerRead::new(r.peer_addr().ok()?, r.local_addr().ok()?),
            Self::Tls(..) | Self::Closed => None,
        }
    }

    /// Reads what is there now, without waiting, and hands it to `feed`.
    pub(super) fn read_now(&mut self, feed: impl FnOnce(&[u8])) -> Read {
        match self {
            Self::Plain(_, _, true) | Self::Closed => Read::Eof,
            Self::Plain(r, _, eof) => PLAIN_READ.with_borrow_mut(|buf| {
                let arrived;
                let mut n = match r.as_ref().try_io(Interest::READABLE, || recv_stamped(r.as_ref(), buf)) {
                    Ok((0, _)) => return Read::Eof,
                    Ok((n, stamp)) => {
                        arrived = stamp;
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::Nothing,
                    Err(_) => return Read::Eof,
                };
                // A short read of whole command lines drained the socket:
                // tokio is told so at once, without the read that would
                // find nothing (a system call per command). Safe with
                // edge-triggered readiness: bytes that come after this
                // read raise a new event.
                if ends_drained(&buf[..n], buf.len()) {
                    let _ = r.as_ref().try_io(Interest::READABLE, || Err::<(), _>(io::ErrorKind::WouldBlock.into()));
                    feed(&buf[..n]);
                    return Read::Fed(arrived);
                }
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
                Read::Fed(arrived)
            }),
            Self::Tls(_, _, read) => {
                if read.filled > 0 {
                    feed(&read.buf[..std::mem::take(&mut read.filled)]);
                    Read::Fed(None)
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
    pub(super) async fn start_tls(&mut self, acceptor: &crate::tls::Acceptor, tag: [u8; 8]) -> io::Result<()> {
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
    /// the peer's close_notify is discarded, never run (SECURITY.md L1),
    /// and nothing after it is read (`crate::tls::clear`).
    pub(super) async fn stop_tls(&mut self) -> io::Result<()> {
        let Self::Tls(r, w, _) = std::mem::replace(self, Self::Closed) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let exchange = crate::tls::clear(r.unsplit(w));
        let tcp = tokio::time::timeout(TLS_TIMEOUT, exchange).await.map_err(|_| timed_out())??;
        // The socket keeps its receive-time option from before TLS.
        *self = Self::plain(tcp, false);
        Ok(())
    }
}

/// A control connection's two data-connection configurations.
pub(super) struct DataTlsConfigs {
    pub(super) with_tickets: Arc<crate::tls::ServerConfig>,
    pub(super) without_tickets: Arc<crate::tls::ServerConfig>,
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
) -> (Option<crate::tls::Acceptor>, Option<Arc<DataTlsConfigs>>) {
    match shared.tls().map(|base| shared.resumption.settings(&base, peer, conn_id)) {
        Some((t, issuer)) => (
            Some(crate::tls::acceptor(t.control)),
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A control connection on loopback, and the client's end.
    async fn pair(stamped: bool) -> (Control, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Control::plain(server, stamped), client)
    }

    /// The passive-reply pacing counts from when a command arrived: a
    /// stamped read reports the kernel's receive time, not the read's.
    #[tokio::test]
    async fn stamped_reads_tell_when_the_bytes_arrived() {
        let (mut control, mut client) = pair(true).await;
        // Receive times are switched on for the stack from a work queue.
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(b"PASV\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        control.readable().await;
        let mut got = Vec::new();
        let Read::Fed(Some(arrived)) = control.read_now(|b| got.extend_from_slice(b)) else {
            panic!("a stamped read reports its arrival")
        };
        assert_eq!(got, b"PASV\r\n");
        let age = arrived.elapsed();
        assert!(age >= Duration::from_millis(25) && age < Duration::from_secs(5), "arrived {age:?} ago");
        // This thread runs on some CPU, and loopback bytes are received on
        // the sender's: the answer is known either way.
        assert!(control.client_on_this_cpu().is_some());
    }

    /// SECURITY.md T3: only a short read of whole lines with no Telnet IAC
    /// counts as drained; a read that may have stopped at a Synch's urgent
    /// mark (no line end, or an IAC ahead of it) is followed by more.
    #[test]
    fn sec_t3_only_whole_lines_without_iac_end_a_read() {
        assert!(ends_drained(b"NOOP\r\n", 1024));
        assert!(ends_drained(b"TYPE I\r\nPASV\r\n", 1024));
        assert!(!ends_drained(b"NOOP\r\n", 6), "a full buffer may have more behind it");
        assert!(!ends_drained(b"RETR a", 1024), "half a line");
        assert!(!ends_drained(b"NOOP\r\n\xff\xf4\xff", 1024), "stopped before a DM");
        assert!(!ends_drained(b"\xff\xf4\xff\xf2ABOR\r\n", 1024), "a Synch in the chunk");
        assert!(!ends_drained(b"", 1024));
    }

    proptest::proptest! {
        /// SECURITY.md T3, for any bytes: a chunk with an IAC in it, or one
        /// that does not end a line, or one that filled the buffer, is
        /// never taken as the end of the stream; only a short chunk of
        /// whole lines without IAC is.
        #[test]
        fn sec_t3_drained_only_after_whole_lines_without_iac(
            chunk in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            room in 0usize..8,
        ) {
            let capacity = chunk.len() + room;
            let whole = chunk.last() == Some(&b'\n') && !chunk.contains(&0xFF) && room > 0;
            proptest::prop_assert_eq!(ends_drained(&chunk, capacity), whole);
        }
    }

    /// A short read of a whole line leaves tokio knowing the socket is
    /// empty: the next bytes wake the session, and nothing is lost between.
    #[tokio::test]
    async fn a_drained_read_waits_for_the_next_bytes() {
        let (mut control, mut client) = pair(false).await;
        for line in [&b"NOOP\r\n"[..], b"TYPE I\r\n", b"PASV\r\n"] {
            client.write_all(line).await.unwrap();
            tokio::time::timeout(Duration::from_secs(5), control.readable()).await.unwrap();
            let mut got = Vec::new();
            assert!(matches!(control.read_now(|b| got.extend_from_slice(b)), Read::Fed(_)));
            assert_eq!(got, line);
        }
    }

    #[tokio::test]
    async fn unstamped_reads_tell_nothing() {
        let (mut control, mut client) = pair(false).await;
        client.write_all(b"NOOP\r\n").await.unwrap();
        control.readable().await;
        assert!(matches!(control.read_now(|_| {}), Read::Fed(None)));
    }
}
