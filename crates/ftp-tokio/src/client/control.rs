//! The client's control connection: plaintext or TLS on one TCP stream,
//! with urgent data for ABOR (RFC 959 4.1.3: Telnet IP and Synch).

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) type RustlsClient = crate::tls::ClientStream;

/// The control connection, in plaintext or under TLS.
pub(super) enum Control {
    Plain(TcpStream),
    Tls(Box<RustlsClient>),
    Closed,
}

impl Control {
    pub(super) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
            Self::Closed => Ok(0),
        }
    }

    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.write_all(bytes).await,
            Self::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// RFC 959 4.1.3: the Telnet Synch goes out as TCP urgent data, so a
    /// server busy sending data still notices the abort. Under TLS there is
    /// no urgent data (RFC 4217 section 14): the bytes go in-band.
    pub(super) async fn write_urgent(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s) => {
                // The last byte (DM) is the one the urgent pointer marks.
                let (head, mark) = bytes.split_at(bytes.len().saturating_sub(1));
                s.write_all(head).await?;
                match socket2::SockRef::from(&*s).send_out_of_band(mark) {
                    Ok(_) => Ok(()),
                    Err(_) => s.write_all(mark).await,
                }
            }
            other => other.write_all(bytes).await,
        }
    }

    pub(super) async fn shutdown(&mut self) {
        match std::mem::replace(self, Self::Closed) {
            Self::Plain(mut s) => drop(s.shutdown().await),
            Self::Tls(mut s) => drop(s.shutdown().await),
            Self::Closed => {}
        }
    }
}
