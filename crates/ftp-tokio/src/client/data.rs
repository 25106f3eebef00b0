//! The client's data connections: connecting from the control
//! connection's local address, TLS on them, and moving a transfer's bytes
//! with a stall timeout (RFC 959 3.2, RFC 4217 section 10).

#[allow(clippy::wildcard_imports)]
use super::*;

/// One data connection's state on our side.
pub(super) struct DataSide {
    pub(super) id: DataId,
    pub(super) listener: Option<TcpListener>,
    pub(super) streams: Vec<(SocketAddr, TcpStream)>,
}

/// Where a transfer's bytes come from or go.
pub(super) enum DataIo<'a> {
    None,
    /// Where downloaded bytes go, the most accepted, and whether to turn
    /// CRLF into LF (a `TYPE A` file, RFC 959 3.1.1.1).
    Sink(&'a mut (dyn AsyncWrite + Unpin + Send), u64, bool),
    /// Where uploaded bytes come from, and whether to turn LF into CRLF.
    Source(&'a mut (dyn AsyncRead + Unpin + Send), bool),
    /// Nothing moves here: the connection is handed to a
    /// [`RetrStream`](super::RetrStream) or [`StorStream`](super::StorStream)
    /// (through `Client::handoff`).
    Handoff,
}

pub(super) type TransferFuture<'a> = Pin<Box<dyn Future<Output = DataEvent> + Send + 'a>>;

/// Connects from the control connection's local address, so the server
/// sees the data connection come from the same host (servers that check,
/// as ours does, SECURITY.md D3).
pub(super) async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    if local.is_ipv4() != addr.is_ipv4() {
        return TcpStream::connect(addr).await;
    }
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(addr).await
}

/// Moves one transfer's bytes and reports how it ended.
pub(super) async fn move_bytes<S>(mut stream: S, io: DataIo<'_>, direction: Direction, stall: Duration) -> DataEvent
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = Buffer::new();
    let mut moved = 0u64;
    let failed = |bytes| DataEvent::Failed { bytes };
    match (io, direction) {
        (DataIo::Sink(out, limit, ascii), Direction::Download) => {
            let mut lines = ascii.then(FromWire::default);
            let mut converted = Vec::new();
            loop {
                let n = match tokio::time::timeout(stall, stream.read_buf(buf.next())).await {
                    Ok(Ok(n)) => n,
                    // A TLS peer that closes without close_notify: the session
                    // still compares the count with SIZE / the 150 reply (R5).
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                    _ => return failed(moved),
                };
                if n == 0 {
                    let tail = lines.as_mut().map_or(&b""[..], FromWire::finish);
                    return match async { out.write_all(tail).await.and(out.flush().await) }.await {
                        Ok(()) => DataEvent::Finished { bytes: moved },
                        Err(_) => failed(moved),
                    };
                }
                moved += n as u64;
                let bytes = match &mut lines {
                    Some(lines) => {
                        lines.convert(&buf, &mut converted);
                        &converted[..]
                    }
                    None => &buf[..],
                };
                if moved > limit || out.write_all(bytes).await.is_err() {
                    return failed(moved);
                }
            }
        }
        (DataIo::Source(input, ascii), Direction::Upload) => {
            let mut lines = ascii.then(ToWire::default);
            let mut converted = Vec::new();
            loop {
                let n = match input.read_buf(buf.next()).await {
                    Ok(n) => n,
                    Err(_) => return failed(moved),
                };
                if n == 0 {
                    break;
                }
                let bytes = match &mut lines {
                    Some(lines) => {
                        lines.convert(&buf, &mut converted);
                        &converted[..]
                    }
                    None => &buf[..],
                };
                match tokio::time::timeout(stall, stream.write_all(bytes)).await {
                    Ok(Ok(())) => moved += bytes.len() as u64,
                    _ => return failed(moved),
                }
            }
            if !matches!(tokio::time::timeout(stall, stream.shutdown()).await, Ok(Ok(()))) {
                return failed(moved);
            }
            // Read to the server's close: under TLS 1.3 this also takes in
            // the session tickets the next data connection resumes with.
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while matches!(stream.read_buf(buf.next()).await, Ok(n) if n > 0) {}
            })
            .await;
            DataEvent::Finished { bytes: moved }
        }
        // An operation without a source or sink: take what comes and drop it.
        (_, Direction::Upload) => {
            let _ = stream.shutdown().await;
            DataEvent::Finished { bytes: 0 }
        }
        _ => loop {
            match tokio::time::timeout(stall, stream.read_buf(buf.next())).await {
                Ok(Ok(0)) => return DataEvent::Finished { bytes: moved },
                Ok(Ok(n)) => moved += n as u64,
                _ => return failed(moved),
            }
        },
    }
}
