//! Helpers for scripted servers: a test plays the server by hand, to send
//! replies our own server never sends.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One command line, read a byte at a time (so nothing past it is
/// buffered, and the stream can switch to TLS right after `AUTH TLS`);
/// `None` at the end of the stream.
pub async fn read_line(stream: &mut (impl AsyncRead + Unpin)) -> Option<String> {
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8];
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        if byte[0] == b'\n' {
            return Some(String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned());
        }
        line.push(byte[0]);
    }
}
