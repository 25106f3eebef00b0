//! The PROXY protocol (HAProxy's, versions 1 and 2) on the control
//! connection: a load balancer in TCP mode (HAProxy's `send-proxy` or
//! `send-proxy-v2`) opens each connection to the server with a header that
//! names the client it forwards, so that the server sees the real client
//! address instead of the balancer's (issue 19).
//!
//! The server reads a header only from the addresses it trusts
//! ([`ServerOptions::proxy_protocol_from`](crate::server::ServerOptions::proxy_protocol_from)):
//! from those a header is required, and the address it carries is the
//! client's for everything (per-address limits and bans, the PORT/EPRT
//! bounce check, the passive theft check, the log). A connection from
//! anywhere else that starts with a header is refused, so a client cannot
//! name an address of its choosing (SECURITY.md C6).
//!
//! Two layers, as the codec's: [`parse`] is a pure function over the bytes
//! received so far (fuzzed: `fuzz/fuzz_targets/proxy_header.rs`), and
//! [`read_header`] peeks at a just-accepted stream until [`parse`] has an
//! answer, then consumes exactly the header, leaving whatever follows for
//! the session.
//!
//! Specification: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>
//! (sections 2.1, version 1, and 2.2, version 2); the headers themselves
//! are parsed by the `ppp` crate.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The longest version 1 header, its CRLF included (spec section 2.1:
/// "a 108-byte buffer is always enough", 107 bytes plus a NUL).
pub const V1_MAX_LEN: usize = 107;

/// The 12 bytes that open a version 2 header (spec section 2.2).
pub const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The largest version 2 header accepted: the 16 fixed bytes, the longest
/// address block (216 bytes, two UNIX paths) and room for TLVs (HAProxy's
/// `send-proxy-v2-ssl` sends a few dozen bytes of them). A larger one is
/// [`Parsed::Invalid`], so a peer cannot make the server buffer 64 KiB.
pub const V2_MAX_LEN: usize = 536;

/// How long a trusted proxy has to send its header once its connection is
/// accepted ([`read_header`] in the server).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the bytes received so far make of a PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Parsed {
    /// Not a whole header yet, and not wrong so far: wait for more bytes.
    Incomplete,
    /// A whole header of `len` bytes (what follows it is the client's).
    Header {
        /// The header's length in bytes.
        len: usize,
        /// The client address it carries; `None` when it carries none
        /// (version 1 `UNKNOWN`, version 2 `LOCAL` as in HAProxy's health
        /// checks, or an unspecified or UNIX address family): the proxy's
        /// own address is the peer then.
        source: Option<SocketAddr>,
    },
    /// Not a PROXY header, a malformed one, or one longer than
    /// [`V1_MAX_LEN`] / [`V2_MAX_LEN`].
    Invalid,
}

/// Parses the start of a connection as a PROXY header, version 1 or 2.
///
/// Never panics and looks at no more than [`V2_MAX_LEN`] bytes, so calling
/// it again on a growing buffer (as [`read_header`] does) costs at most
/// that much each time.
pub fn parse(bytes: &[u8]) -> Parsed {
    const V1_PREFIX: &[u8] = b"PROXY ";
    if bytes.len() < V1_PREFIX.len() && V1_PREFIX.starts_with(bytes) {
        return Parsed::Incomplete;
    }
    if bytes.starts_with(V1_PREFIX) {
        return parse_v1(bytes);
    }
    if bytes.len() < V2_SIGNATURE.len() {
        return if V2_SIGNATURE.starts_with(bytes) { Parsed::Incomplete } else { Parsed::Invalid };
    }
    if bytes.starts_with(V2_SIGNATURE) {
        return parse_v2(bytes);
    }
    Parsed::Invalid
}

/// Whether `bytes`, the first a client sent on a control connection, start
/// like a PROXY header (version 1's `PROXY ` or version 2's signature):
/// what a connection from an untrusted address must not send.
#[must_use]
pub fn looks_like_header(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PROXY ") || bytes.starts_with(V2_SIGNATURE)
}

/// Version 1: `PROXY TCP4|TCP6|UNKNOWN ... CRLF`, at most 107 bytes.
fn parse_v1(bytes: &[u8]) -> Parsed {
    let window = &bytes[..bytes.len().min(V1_MAX_LEN)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return if bytes.len() >= V1_MAX_LEN || window.contains(&b'\n') { Parsed::Invalid } else { Parsed::Incomplete };
    };
    let len = cr + 2;
    // Spec 2.1: the line ends with the first CRLF; an LF before it makes
    // no header (`ppp` would skip it after `UNKNOWN`, and then the
    // header's own prefix would be invalid).
    if len > V1_MAX_LEN || window[..cr].contains(&b'\n') {
        return Parsed::Invalid;
    }
    match bytes.get(cr + 1) {
        None => return Parsed::Incomplete,
        Some(b'\n') => {}
        Some(_) => return Parsed::Invalid,
    }
    let Ok(header) = ppp::v1::Header::try_from(&bytes[..len]) else { return Parsed::Invalid };
    let source = match header.addresses {
        ppp::v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Unknown => None,
    };
    Parsed::Header { len, source }
}

/// Version 2: the signature, version and command, family and protocol, a
/// length, then that many bytes of addresses and TLVs.
fn parse_v2(bytes: &[u8]) -> Parsed {
    const FIXED: usize = 16;
    if bytes.len() < FIXED {
        return Parsed::Incomplete;
    }
    let len = FIXED + usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    if len > V2_MAX_LEN {
        return Parsed::Invalid;
    }
    if bytes.len() < len {
        return Parsed::Incomplete;
    }
    let Ok(header) = ppp::v2::Header::try_from(&bytes[..len]) else { return Parsed::Invalid };
    let source = match (header.command, header.addresses) {
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv4(a)) => {
            Some(SocketAddr::from((a.source_address, a.source_port)))
        }
        (ppp::v2::Command::Proxy, ppp::v2::Addresses::IPv6(a)) => {
            Some(SocketAddr::from((a.source_address, a.source_port)))
        }
        _ => None,
    };
    Parsed::Header { len, source }
}

/// Why a trusted proxy's connection had no usable header.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The bytes are not a PROXY header (or too long a one).
    #[error("invalid PROXY header")]
    Invalid,
    /// The connection closed before a whole header came.
    #[error("connection closed before the PROXY header")]
    Closed,
    /// No whole header within the time allowed.
    #[error("no PROXY header in time")]
    TimedOut,
    /// Reading the connection failed.
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

impl HeaderError {
    /// The reason as a log field: `invalid PROXY header`, `no PROXY
    /// header`, `PROXY header timed out`, `PROXY header read failed`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid PROXY header",
            Self::Closed => "no PROXY header",
            Self::TimedOut => "PROXY header timed out",
            Self::Io(_) => "PROXY header read failed",
        }
    }
}

/// Reads a PROXY header from a just-accepted `stream`, within `timeout`,
/// and returns the client address it carries (`None`: the proxy's own,
/// see [`Parsed::Header`]). Only the header's bytes are consumed: whatever
/// the client sent after it is left in the stream.
///
/// # Errors
/// [`HeaderError`]: no valid header within `timeout`.
pub async fn read_header(stream: &mut TcpStream, timeout: Duration) -> Result<Option<SocketAddr>, HeaderError> {
    match tokio::time::timeout(timeout, read_header_unbounded(stream)).await {
        Ok(result) => result,
        Err(_) => Err(HeaderError::TimedOut),
    }
}

async fn read_header_unbounded(stream: &mut TcpStream) -> Result<Option<SocketAddr>, HeaderError> {
    // Bytes known to be the header's and already consumed.
    let mut taken: Vec<u8> = Vec::with_capacity(64);
    let mut peeked = [0u8; V2_MAX_LEN];
    loop {
        let room = V2_MAX_LEN - taken.len();
        let n = stream.peek(&mut peeked[..room]).await?;
        if n == 0 {
            return Err(HeaderError::Closed);
        }
        let mut seen = taken.clone();
        seen.extend_from_slice(&peeked[..n]);
        match parse(&seen) {
            Parsed::Header { len, source } => {
                let mut rest = vec![0u8; len - taken.len()];
                stream.read_exact(&mut rest).await?;
                return Ok(source);
            }
            Parsed::Incomplete => {
                // Every byte peeked is the header's: take them, so that
                // the next peek waits for new ones.
                let mut more = vec![0u8; n];
                stream.read_exact(&mut more).await?;
                taken.extend_from_slice(&more);
            }
            Parsed::Invalid => return Err(HeaderError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    //! `parse` over headers built with `ppp`'s builders and their every
    //! prefix and corruption (issue 19: "fuzz it either way"; the fuzz
    //! target is `fuzz/fuzz_targets/proxy_header.rs`).
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn v1(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
        let addresses = match (source, destination) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                ppp::v1::Addresses::new_tcp4(*s.ip(), *d.ip(), s.port(), d.port())
            }
            (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                ppp::v1::Addresses::new_tcp6(*s.ip(), *d.ip(), s.port(), d.port())
            }
            _ => unreachable!(),
        };
        addresses.to_string().into_bytes()
    }

    fn v2(command: ppp::v2::Command, source: SocketAddr, destination: SocketAddr, tlv: &[u8]) -> Vec<u8> {
        let mut builder = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | command,
            ppp::v2::Protocol::Stream,
            (source, destination),
        );
        if !tlv.is_empty() {
            builder = builder.write_tlv(ppp::v2::Type::NoOp, tlv).unwrap();
        }
        builder.build().unwrap()
    }

    fn addresses() -> Vec<(SocketAddr, SocketAddr)> {
        let v4 = |a: u8, b: u8, c: u8, d: u8, p: u16| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), p);
        let v6 = |ip: Ipv6Addr, p: u16| SocketAddr::new(IpAddr::V6(ip), p);
        vec![
            (v4(127, 0, 0, 2, 40000), v4(127, 0, 0, 1, 21)),
            (v4(255, 255, 255, 255, 65535), v4(0, 0, 0, 0, 0)),
            (v4(10, 0, 0, 1, 1), v4(192, 168, 1, 1, 2121)),
            (v6(Ipv6Addr::LOCALHOST, 5000), v6(Ipv6Addr::UNSPECIFIED, 21)),
            (v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(), 65535), v6(Ipv6Addr::LOCALHOST, 65535)),
        ]
    }

    /// Every proper prefix is `Incomplete`, the whole is the header, and
    /// bytes after it are not part of it.
    fn check(header: &[u8], source: Option<SocketAddr>) {
        for cut in 0..header.len() {
            assert_eq!(parse(&header[..cut]), Parsed::Incomplete, "prefix {cut} of {header:?}");
        }
        let expected = Parsed::Header { len: header.len(), source };
        assert_eq!(parse(header), expected);
        let mut more = header.to_vec();
        more.extend_from_slice(b"USER anonymous\r\n");
        assert_eq!(parse(&more), expected);
    }

    /// Spec 2.1: version 1 TCP4 and TCP6 headers round-trip.
    #[test]
    fn v1_round_trips() {
        for (s, d) in addresses() {
            check(&v1(s, d), Some(s));
        }
    }

    /// Spec 2.1: `PROXY UNKNOWN` (any text up to CRLF) means the proxy's
    /// own address.
    #[test]
    fn v1_unknown_is_the_proxys_address() {
        check(b"PROXY UNKNOWN\r\n", None);
        check(b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n", None);
    }

    /// Spec 2.2: version 2 PROXY headers, with and without TLVs,
    /// round-trip.
    #[test]
    fn v2_round_trips() {
        for (s, d) in addresses() {
            check(&v2(ppp::v2::Command::Proxy, s, d, b""), Some(s));
            check(&v2(ppp::v2::Command::Proxy, s, d, &[7; 100]), Some(s));
        }
    }

    /// Spec 2.2: `LOCAL` (HAProxy's health checks) means the proxy's own
    /// address, whatever addresses it lists.
    #[test]
    fn v2_local_is_the_proxys_address() {
        for (s, d) in addresses() {
            check(&v2(ppp::v2::Command::Local, s, d, b""), None);
        }
        let unspecified = ppp::v2::Builder::new(0x20, 0x00).build().unwrap();
        check(&unspecified, None);
    }

    /// Issue 19: not a header, or a broken one, is `Invalid`; so is one
    /// too long to be one.
    #[test]
    fn junk_is_invalid() {
        for junk in [
            &b"USER anonymous\r\n"[..],
            b"PROXY",
            b"PROXY \r\n",
            b"PROXY TCP4\r\n",
            b"PROXY TCP5 127.0.0.2 127.0.0.1 1 2\r\n",
            b"PROXY TCP4 127.0.0.2 127.0.0.1 1 2\r\r",
            b"PROXY TCP4 127.0.0.2 127.0.0.1 1 2\n",
            b"PROXY TCP4 127.0.0.2 127.0.0.1 1 99999\r\n",
            b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n",
            b"\r\n\r\n\0\r\nQUIX\n",
            b"\r\nxyz",
            b"PROXY UNKNOWN \n\r\n",
        ] {
            let parsed = parse(junk);
            assert!(
                parsed == Parsed::Invalid || (junk == b"PROXY" && parsed == Parsed::Incomplete),
                "{junk:?}: {parsed:?}"
            );
        }
        let long = format!("PROXY UNKNOWN {}\r\n", "x".repeat(V1_MAX_LEN));
        assert_eq!(parse(long.as_bytes()), Parsed::Invalid);
        assert_eq!(parse(&long.as_bytes()[..V1_MAX_LEN]), Parsed::Invalid);
        let big = v2(ppp::v2::Command::Proxy, addresses()[0].0, addresses()[0].1, &[0; 600]);
        assert_eq!(parse(&big[..20]), Parsed::Invalid);
        // Version 1 after version 2's bit pattern, a bad version nibble.
        let mut bad = v2(ppp::v2::Command::Proxy, addresses()[0].0, addresses()[0].1, b"");
        bad[12] = 0x11;
        assert_eq!(parse(&bad), Parsed::Invalid);
    }

    /// Every one-byte change of valid headers parses to something without
    /// panicking, and whatever `Header` it gives has a length within the
    /// input (the exhaustive cousin of the fuzz target).
    #[test]
    fn corruptions_never_panic() {
        let (s, d) = addresses()[3];
        for header in [v1(s, d), v2(ppp::v2::Command::Proxy, s, d, &[1, 2, 3])] {
            for i in 0..header.len() {
                for b in [0u8, b'\r', b'\n', b' ', b'0', b'9', b':', 0x7f, 0xff] {
                    let mut bytes = header.clone();
                    bytes[i] = b;
                    if let Parsed::Header { len, .. } = parse(&bytes) {
                        assert!(len <= bytes.len());
                    }
                    let _ = parse(&bytes[..i]);
                }
            }
        }
    }
}
