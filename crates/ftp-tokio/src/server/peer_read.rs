//! Whether a client on this machine has read what the server sent it: the
//! unread bytes in the client's own receive queue, which the kernel reports
//! for any TCP socket of this machine through `sock_diag` netlink (what
//! `ss` shows as Recv-Q; no privilege needed).
//!
//! Why the server wants to know: curl 7.88 (Debian 12's) reads once right
//! after it sends EPSV or PASV, and a complete 229/227 found at that read
//! makes it wait a whole second, polling no socket, before it connects
//! (`MSTATE_DO` goes to `MSTATE_DOING_MORE` with nothing to wait on). A
//! reply completed *after* that read costs nothing: curl is then waiting
//! on the control connection and the last byte wakes it. Only a client on
//! this machine can be fast enough to meet that read, and for such a
//! client the server sends the passive reply but its final line feed,
//! waits until the client has read those bytes (its receive queue is
//! empty again), and only then sends the line feed (see
//! `Conn::finish_passive_reply`). Any client that reads lines takes the
//! reply in two reads; none sees a difference in what it reads.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

/// `SOCK_DIAG_BY_FAMILY`, the message type of a `sock_diag` request.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_REQUEST`: a request to the kernel (without `NLM_F_DUMP`: the one
/// socket the request names).
const NLM_F_REQUEST: u16 = 1;
/// `NLMSG_ERROR`: the kernel's answer when no such socket exists.
const NLMSG_ERROR: u16 = 2;
/// `INET_DIAG_INFO`: the attribute that carries the socket's `tcp_info`.
const INET_DIAG_INFO: u16 = 2;
/// The request: a `nlmsghdr` (16 bytes) and an `inet_diag_req_v2` (56).
const REQUEST_LEN: usize = 16 + 56;
/// The answer's `inet_diag_msg` starts after the `nlmsghdr`, and its
/// attributes after it (72 bytes).
const MSG_AT: usize = 16;
const ATTRS_AT: usize = MSG_AT + 72;
/// Where `idiag_rqueue` sits in `inet_diag_msg`: after the family, state,
/// timer and retransmission bytes (4), the socket id (48) and
/// `idiag_expires` (4).
const RQUEUE_AT: usize = MSG_AT + 4 + 48 + 4;
/// Where `tcpi_bytes_received` (the bytes the socket's TCP took in, read
/// or not) and `tcpi_bytes_sent` sit in `struct tcp_info` (Linux 4.1 and
/// 4.19).
const BYTES_RECEIVED_AT: usize = 128;
const BYTES_SENT_AT: usize = 200;

/// Prepared questions about the two ends of one TCP connection on this
/// machine: how much the server's end has sent, and how much of it the
/// client's end has taken in and read.
pub(super) struct PeerRead {
    /// About the client's socket.
    client: [u8; REQUEST_LEN],
    /// About the server's.
    server: [u8; REQUEST_LEN],
}

/// What the kernel says about one socket.
struct Diag {
    /// Bytes in its receive queue, not read yet.
    unread: u32,
    /// `tcp_info`'s `tcpi_bytes_received`.
    received: u64,
    /// `tcp_info`'s `tcpi_bytes_sent`, where the kernel reports it.
    sent: Option<u64>,
}

thread_local! {
    /// This thread's netlink socket (one per lane, opened on first use;
    /// `None` where the system refuses it, and then never asked again).
    static NETLINK: Option<OwnedFd> =
        rustix::net::socket_with(AddressFamily::NETLINK, SocketType::DGRAM, rustix::net::SocketFlags::CLOEXEC, Some(netlink::SOCK_DIAG)).ok();
}

impl PeerRead {
    /// The questions for a TCP connection from `client` to `server` (both
    /// on this machine). `None` for a mix of address families.
    pub(super) fn new(client: SocketAddr, server: SocketAddr) -> Option<Self> {
        Some(Self { client: request(client, server)?, server: request(server, client)? })
    }

    /// How many bytes the server's end has sent so far (`None`: not known).
    pub(super) fn sent(&self) -> Option<u64> {
        ask(&self.server)?.sent
    }

    /// Whether the client has read every byte of the first `sent` the
    /// server sent: its TCP took them all in (not still on their way, nor
    /// held in the socket's backlog while the client is in a system call
    /// on it) and none waits in its receive queue. `None`: not known.
    pub(super) fn has_read(&self, sent: u64) -> Option<bool> {
        let diag = ask(&self.client)?;
        // The client's count starts from its own end's first byte, the
        // greeting: the same bytes as the server's count.
        Some(diag.received >= sent && diag.unread == 0)
    }

    /// The bytes the client has not read yet (`None`: not known).
    #[cfg(test)]
    fn unread(&self) -> Option<u32> {
        ask(&self.client).map(|d| d.unread)
    }
}

/// A `sock_diag` request for the TCP socket from `from` to `to`, with its
/// `tcp_info`.
fn request(from: SocketAddr, to: SocketAddr) -> Option<[u8; REQUEST_LEN]> {
    let (from_ip, to_ip) = (from.ip().to_canonical(), to.ip().to_canonical());
    let family = match (from_ip, to_ip) {
        (IpAddr::V4(_), IpAddr::V4(_)) => 2u8, // AF_INET
        (IpAddr::V6(_), IpAddr::V6(_)) => 10,  // AF_INET6
        _ => return None,
    };
    let mut r = [0u8; REQUEST_LEN];
    // nlmsghdr: length, type, flags; sequence and port id stay 0.
    r[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    // inet_diag_req_v2: family, protocol (TCP), extensions (INET_DIAG_INFO),
    // states (all of them).
    r[16] = family;
    r[17] = 6;
    r[18] = 1 << (INET_DIAG_INFO - 1);
    r[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    // inet_diag_sockid: source port and address, destination port and
    // address (network order), interface 0, cookie "none" (all ones).
    r[24..26].copy_from_slice(&from.port().to_be_bytes());
    r[26..28].copy_from_slice(&to.port().to_be_bytes());
    put_ip(&mut r[28..44], from_ip);
    put_ip(&mut r[44..60], to_ip);
    r[64..72].copy_from_slice(&[0xff; 8]);
    Some(r)
}

/// Asks the kernel `request` on this thread's netlink socket.
fn ask(request: &[u8; REQUEST_LEN]) -> Option<Diag> {
    NETLINK.with(|fd| {
        let fd = fd.as_ref()?;
        rustix::net::sendto(fd, request, SendFlags::empty(), &SocketAddrNetlink::new(0, 0)).ok()?;
        let mut answer = [0u8; 1024];
        // The kernel answers within the send: nothing to wait for (and no
        // stale answer can be there: each one is read before the next
        // question).
        let (_, n) = rustix::net::recv(fd, &mut answer[..], RecvFlags::DONTWAIT).ok()?;
        parse(answer.get(..n)?)
    })
}

/// Reads the kernel's answer: `None` for an error message or one too short
/// for what is needed (never a panic, whatever the bytes).
fn parse(answer: &[u8]) -> Option<Diag> {
    if u16_at(answer, 4)? == NLMSG_ERROR {
        return None;
    }
    let unread = u32::from_ne_bytes(answer.get(RQUEUE_AT..RQUEUE_AT + 4)?.try_into().ok()?);
    let info = attribute(answer.get(ATTRS_AT..)?, INET_DIAG_INFO)?;
    let u64_at = |at: usize| Some(u64::from_ne_bytes(info.get(at..at + 8)?.try_into().ok()?));
    Some(Diag { unread, received: u64_at(BYTES_RECEIVED_AT)?, sent: u64_at(BYTES_SENT_AT) })
}

/// The payload of the first netlink attribute of type `kind` in `attrs`.
fn attribute(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0)?);
        let payload = attrs.get(4..len)?;
        if u16_at(attrs, 2)? == kind {
            return Some(payload);
        }
        attrs = attrs.get(len.next_multiple_of(4).min(attrs.len())..)?;
    }
    None
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// An address as `inet_diag_sockid` holds it: 16 bytes, an IPv4 address in
/// the first 4.
fn put_ip(to: &mut [u8], ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => to[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => to.copy_from_slice(&v6.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{Read, Write};

    /// An answer as the kernel lays it out: header, `inet_diag_msg` with
    /// `unread`, then `attrs` (each `(type, payload)`, padded to 4 bytes).
    fn answer(unread: u32, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut a = vec![0u8; ATTRS_AT];
        a[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        a[RQUEUE_AT..RQUEUE_AT + 4].copy_from_slice(&unread.to_ne_bytes());
        for (kind, payload) in attrs {
            let len = u16::try_from(4 + payload.len()).unwrap();
            a.extend_from_slice(&len.to_ne_bytes());
            a.extend_from_slice(&kind.to_ne_bytes());
            a.extend_from_slice(payload);
            a.resize(a.len().next_multiple_of(4), 0);
        }
        let total = u32::try_from(a.len()).unwrap();
        a[0..4].copy_from_slice(&total.to_ne_bytes());
        a
    }

    fn tcp_info(received: u64, sent: u64) -> Vec<u8> {
        let mut info = vec![0u8; BYTES_SENT_AT + 8];
        info[BYTES_RECEIVED_AT..BYTES_RECEIVED_AT + 8].copy_from_slice(&received.to_ne_bytes());
        info[BYTES_SENT_AT..BYTES_SENT_AT + 8].copy_from_slice(&sent.to_ne_bytes());
        info
    }

    proptest! {
        /// Whatever the bytes, reading them never panics.
        #[test]
        fn any_answer_is_read_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
        }

        /// The counts are found behind any other attributes before
        /// `INET_DIAG_INFO`, whatever their sizes.
        #[test]
        fn the_counts_are_found_among_other_attributes(
            unread in any::<u32>(),
            received in any::<u64>(),
            sent in any::<u64>(),
            others in proptest::collection::vec((3u16..40, proptest::collection::vec(any::<u8>(), 0..40)), 0..5),
        ) {
            let mut attrs: Vec<(u16, Vec<u8>)> = others;
            attrs.push((INET_DIAG_INFO, tcp_info(received, sent)));
            let diag = parse(&answer(unread, &attrs)).expect("a well-formed answer");
            prop_assert_eq!((diag.unread, diag.received, diag.sent), (unread, received, Some(sent)));
        }
    }

    /// An error message, a missing attribute and a short `tcp_info` are
    /// "not known".
    #[test]
    fn errors_and_short_answers_are_not_known() {
        let mut error = answer(0, &[(INET_DIAG_INFO, tcp_info(1, 1))]);
        error[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert!(parse(&error).is_none());
        assert!(parse(&answer(0, &[(1, vec![0; 8])])).is_none());
        assert!(parse(&answer(0, &[(INET_DIAG_INFO, vec![0; BYTES_RECEIVED_AT])])).is_none());
        // An older kernel without tcpi_bytes_sent: received is still read.
        let short = answer(5, &[(INET_DIAG_INFO, tcp_info(7, 9)[..BYTES_RECEIVED_AT + 8].to_vec())]);
        let diag = parse(&short).unwrap();
        assert_eq!((diag.unread, diag.received, diag.sent), (5, 7, None));
    }

    /// The kernel's count follows what the client end has read.
    #[test]
    fn counts_what_the_client_has_not_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let Some(q) = PeerRead::new(client.local_addr().unwrap(), server.local_addr().unwrap()) else {
            panic!("an IPv4 pair is a valid question");
        };
        if q.unread().is_none() {
            eprintln!("skipped: no sock_diag netlink here");
            return;
        }
        assert_eq!(q.unread(), Some(0));
        let head = b"229 Entering Extended Passive Mode (|||1234|)\r";
        server.write_all(head).unwrap();
        // Loopback delivers within the write.
        assert_eq!(q.unread(), Some(head.len() as u32));
        let sent = q.sent().unwrap();
        assert_eq!(q.has_read(sent), Some(false));
        let mut buf = [0u8; 64];
        assert_eq!(client.read(&mut buf).unwrap(), head.len());
        assert_eq!(q.unread(), Some(0));
        assert_eq!(q.has_read(sent), Some(true));
        // More than was sent has not been taken in.
        assert_eq!(q.has_read(sent + 1), Some(false));
        // A socket that is not there.
        let gone = PeerRead::new("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap()).unwrap();
        assert_eq!(gone.unread(), None);
    }
}
