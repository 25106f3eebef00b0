//! Data-connection addresses: `PORT`, `EPRT`, `EPSV` arguments and the
//! address parts of 227 and 229 replies.
//!
//! These are where FTP has been attacked most (bounce, SSRF through 227,
//! panics on octets above 255), so every parser here is strict about ranges
//! and never settles for a shorter match.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use crate::error::ReplyDataError;

/// The network protocol numbers of RFC 2428 section 2 (`1` IPv4, `2` IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum NetProto {
    /// Protocol 1: IPv4.
    Ipv4,
    /// Protocol 2: IPv6.
    Ipv6,
}

impl NetProto {
    /// The RFC 2428 protocol number.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Ipv4 => 1,
            Self::Ipv6 => 2,
        }
    }

    /// The protocol of an address.
    #[must_use]
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }
}

/// The argument of `EPSV` (RFC 2428 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum EpsvArg {
    /// `EPSV`: the protocol of the control connection.
    Any,
    /// `EPSV 1` or `EPSV 2`: a listener for that protocol.
    Protocol(NetProto),
    /// `EPSV ALL`: the client will use only EPSV from now on; the server
    /// refuses PORT, PASV and EPRT for the rest of the session.
    All,
}

/// Why a `PORT`/`EPRT` argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrError {
    /// Syntax error, at a byte offset (501).
    Syntax(&'static str, usize),
    /// Unknown network protocol (522).
    Protocol,
}

/// Parses `h1,h2,h3,h4,p1,p2` (RFC 959 5.3.2 `<host-port>`): exactly six
/// decimal numbers `0..=255` of at most three digits, no signs, no spaces.
/// The port is `p1 * 256 + p2`.
///
/// RFC 959's grammar says `1..=255`, but real clients send 0 octets; the
/// codec accepts them and a server's policy refuses an unusable address.
pub(crate) fn parse_host_port(arg: &[u8]) -> Result<SocketAddrV4, AddrError> {
    let bad = || AddrError::Syntax("six numbers 0-255 separated by commas", first_bad_host_port_byte(arg));
    let mut numbers = [0u8; 6];
    let mut i = 0;
    for (n, number) in numbers.iter_mut().enumerate() {
        if n > 0 {
            if arg.get(i) != Some(&b',') {
                return Err(bad());
            }
            i += 1;
        }
        // One to three digits (a fourth is not taken: it is no comma).
        let mut value = 0u16;
        let first = i;
        while i - first < 3 {
            match arg.get(i) {
                Some(&d) if d.is_ascii_digit() => value = value * 10 + u16::from(d - b'0'),
                _ => break,
            }
            i += 1;
        }
        *number = match u8::try_from(value) {
            Ok(v) if i > first => v,
            _ => return Err(bad()),
        };
    }
    if i != arg.len() {
        return Err(bad());
    }
    let [h1, h2, h3, h4, p1, p2] = numbers;
    Ok(SocketAddrV4::new(Ipv4Addr::new(h1, h2, h3, h4), u16::from(p1) * 256 + u16::from(p2)))
}

/// A dotted IPv4 address in the form every parser agrees on: four numbers
/// `0..=255`, each `0` or one to three digits without a leading zero.
/// `None` for anything else, which [`Ipv4Addr`]'s own parser then judges
/// (so this only saves time, never changes an answer).
fn plain_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if text.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let first = i;
        let mut value = 0u16;
        while i - first < 3 {
            match text.get(i) {
                Some(&d) if d.is_ascii_digit() => value = value * 10 + u16::from(d - b'0'),
                _ => break,
            }
            i += 1;
        }
        if i == first || (i - first > 1 && text[first] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    (i == text.len()).then(|| Ipv4Addr::from(octets))
}

/// Offset of the first field of a bad `PORT` argument that is not a number
/// 0..=255, or of the end when the count of fields is wrong.
fn first_bad_host_port_byte(arg: &[u8]) -> usize {
    let mut at = 0;
    for field in arg.split(|&b| b == b',') {
        if addr_field_ok(field).is_none() {
            return at;
        }
        at += field.len() + 1;
    }
    arg.len()
}

fn addr_field_ok(field: &[u8]) -> Option<u8> {
    parse_decimal(field, 3).and_then(|v| u8::try_from(v).ok())
}

/// Writes `h1,h2,h3,h4,p1,p2`.
pub(crate) fn encode_host_port(addr: &SocketAddrV4, dst: &mut bytes::BytesMut) {
    let [a, b, c, d] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    for (i, n) in [a, b, c, d, p1, p2].into_iter().enumerate() {
        if i > 0 {
            dst.extend_from_slice(b",");
        }
        put_u64(dst, u64::from(n));
    }
}

/// Writes a decimal number without allocating.
pub(crate) fn put_u64(dst: &mut bytes::BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[i..]);
}

/// Parses a decimal number of at most `max_digits` digits, no sign.
pub(crate) fn parse_decimal(digits: &[u8], max_digits: usize) -> Option<u64> {
    if digits.is_empty() || digits.len() > max_digits || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() < 20 {
        // At most 19 digits cannot overflow a u64.
        return Some(digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')));
    }
    digits.iter().try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// An IPv6 address in its plain text form: groups of one to four hex
/// digits separated by `:`, eight of them, or fewer with one `::`. `None`
/// for anything else (an embedded IPv4 address, a zone), which
/// [`Ipv6Addr`]'s own parser then judges: this only saves time, never
/// changes an answer.
fn plain_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [[0u16; 8]; 2];
    let mut counts = [0usize; 2];
    // 0 before a `::`, 1 after it.
    let mut part = 0;
    let mut i = 0;
    if text.starts_with(b"::") {
        part = 1;
        i = 2;
    }
    while i < text.len() {
        let first = i;
        let mut value = 0u16;
        while i - first < 4 {
            let Some(digit) = text.get(i).and_then(|&b| char::from(b).to_digit(16)) else { break };
            value = value << 4 | digit as u16;
            i += 1;
        }
        if i == first || counts[part] == 8 {
            return None;
        }
        groups[part][counts[part]] = value;
        counts[part] += 1;
        if i == text.len() {
            break;
        }
        if text[i] != b':' {
            return None;
        }
        i += 1;
        if text.get(i) == Some(&b':') {
            if part == 1 {
                return None;
            }
            part = 1;
            i += 1;
        } else if i == text.len() {
            return None;
        }
    }
    let mut address = groups[0];
    match part {
        0 if counts[0] == 8 => {}
        1 if counts[0] + counts[1] <= 7 => {
            address[8 - counts[1]..].copy_from_slice(&groups[1][..counts[1]]);
        }
        _ => return None,
    }
    Some(Ipv6Addr::from(address))
}

/// Parses `<d><net-prt><d><net-addr><d><tcp-port><d>` (RFC 2428 section 2):
/// the delimiter is any byte in 33..=126 used consistently, the protocol 1
/// or 2, the address of that protocol, the port 1..=65535.
pub(crate) fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, AddrError> {
    let Some((&d, rest)) = arg.split_first() else {
        return Err(AddrError::Syntax("a delimiter", 0));
    };
    if !(33..=126).contains(&d) || d.is_ascii_digit() {
        return Err(AddrError::Syntax("a delimiter in ASCII 33-126", 0));
    }
    // Exactly three more delimiters, and nothing after the last one.
    let four = || AddrError::Syntax("four delimiters", arg.len());
    let mut fields = [&rest[..0]; 3];
    let mut tail = rest;
    for field in &mut fields {
        let at = crate::scan::find(tail, d).ok_or_else(four)?;
        *field = &tail[..at];
        tail = &tail[at + 1..];
    }
    if crate::scan::find(tail, d).is_some() {
        return Err(four());
    }
    if !tail.is_empty() {
        return Err(AddrError::Syntax("nothing after the last delimiter", arg.len()));
    }
    let [proto, addr, port] = fields;
    let proto = match proto {
        b"1" => NetProto::Ipv4,
        b"2" => NetProto::Ipv6,
        p if parse_decimal(p, 5).is_some() => return Err(AddrError::Protocol),
        _ => return Err(AddrError::Syntax("protocol 1 or 2", 1)),
    };
    // Offset of the address: delimiter, one protocol digit, delimiter.
    let addr_at = 3;
    let plain = match proto {
        NetProto::Ipv4 => plain_ipv4(addr).map(IpAddr::V4),
        NetProto::Ipv6 => plain_ipv6(addr).map(IpAddr::V6),
    };
    let ip = match plain {
        Some(ip) => ip,
        None => {
            let text = core::str::from_utf8(addr).map_err(|_| AddrError::Syntax("an address", addr_at))?;
            match proto {
                NetProto::Ipv4 => text.parse::<Ipv4Addr>().map(IpAddr::V4),
                NetProto::Ipv6 => text.parse::<Ipv6Addr>().map(IpAddr::V6),
            }
            .map_err(|_| AddrError::Syntax("an address of the named protocol", addr_at))?
        }
    };
    let port = parse_decimal(port, 5)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0)
        .ok_or(AddrError::Syntax("a port 1-65535", addr_at + addr.len() + 1))?;
    Ok(SocketAddr::new(ip, port))
}

/// Writes `|proto|addr|port|`.
pub(crate) fn encode_eprt(addr: &SocketAddr, dst: &mut bytes::BytesMut) {
    use core::fmt::Write;
    let proto = NetProto::of(&addr.ip()).number();
    // The address is at most 45 bytes; format into a stack buffer.
    let mut text = StackStr::<64>::new();
    let _ = write!(text, "|{proto}|{}|{}|", addr.ip(), addr.port());
    dst.extend_from_slice(text.as_bytes());
}

/// A small fixed-size `fmt::Write` target, so encoders never allocate.
pub(crate) struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    pub(crate) const fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> core::fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Finds the address of a 227 reply in its text, as RFC 1123 4.1.2.6 asks:
/// scan for six comma-separated numbers, wherever they are, with or without
/// parentheses (`(h1,...,p2)`, `=h1,...,p2`, bare numbers).
///
/// A run of comma-separated numbers is taken whole: six numbers are the
/// address; a run where any number is above 255 (or has more than three
/// digits) is an error, never a shorter match inside it (SECURITY.md N6,
/// the range check curl added after an OSS-Fuzz report). Runs of fewer
/// numbers are skipped; a run of more than six is an error.
pub(crate) fn scan_pasv<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<SocketAddrV4, ReplyDataError> {
    for line in lines {
        let mut i = 0;
        while i < line.len() {
            if !line[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            // Start of a run: collect numbers separated by single commas.
            let mut nums = [0u16; 6];
            let mut count = 0usize;
            let mut bad = false;
            loop {
                let start = i;
                while i < line.len() && line[i].is_ascii_digit() {
                    i += 1;
                }
                let digits = &line[start..i];
                let value = parse_decimal(digits, 3).filter(|&v| v <= 255);
                if value.is_none() {
                    bad = true;
                }
                if count < 6 {
                    nums[count] = value.unwrap_or(0) as u16;
                }
                count += 1;
                if i + 1 < line.len() && line[i] == b',' && line[i + 1].is_ascii_digit() {
                    i += 1;
                    continue;
                }
                break;
            }
            match count {
                6 if bad => return Err(ReplyDataError::OutOfRange),
                6 => {
                    let ip = Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8);
                    return Ok(SocketAddrV4::new(ip, nums[4] * 256 + nums[5]));
                }
                7.. => return Err(ReplyDataError::Malformed),
                _ => {}
            }
        }
    }
    Err(ReplyDataError::NotFound)
}

/// Finds the port of a 229 reply, strictly as RFC 2428 section 3 frames
/// it: `(<d><d><d><port><d>)`, one delimiter in ASCII 33..=126 (not a
/// digit) repeated, the protocol and address fields empty, the port 1 to 5
/// decimal digits in 1..=65535. Anything else in parentheses is
/// [`ReplyDataError::Malformed`]: a filled-in address or the short form
/// `(<d><d><port><d>)` some servers send is not guessed at (the client
/// falls back to PASV), so no connection is ever made to a number read from
/// a malformed reply.
pub(crate) fn scan_epsv<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<u16, ReplyDataError> {
    let mut saw_candidate = false;
    for line in lines {
        let mut from = 0;
        while let Some(open) = memchr::memchr(b'(', &line[from..]).map(|i| from + i) {
            from = open + 1;
            let Some(close) = memchr::memchr(b')', &line[open..]).map(|i| open + i) else {
                continue;
            };
            let inner = &line[open + 1..close];
            let Some((&d, rest)) = inner.split_first() else { continue };
            if !(33..=126).contains(&d) || d.is_ascii_digit() {
                continue;
            }
            saw_candidate = true;
            let fields: heapless_fields::Fields<'_> = heapless_fields::split(rest, d);
            let port = match fields.as_slice() {
                [b"", b"", port, b""] => *port,
                _ => continue,
            };
            return parse_decimal(port, 5)
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0)
                .ok_or(ReplyDataError::OutOfRange);
        }
    }
    Err(if saw_candidate { ReplyDataError::Malformed } else { ReplyDataError::NotFound })
}

/// Splitting into at most five fields without allocating.
mod heapless_fields {
    pub(super) struct Fields<'a> {
        items: [&'a [u8]; 5],
        len: usize,
    }

    impl<'a> Fields<'a> {
        pub(super) fn as_slice(&self) -> &[&'a [u8]] {
            &self.items[..self.len]
        }
    }

    /// Splits on `d`; more than five fields yields an empty list.
    pub(super) fn split(s: &[u8], d: u8) -> Fields<'_> {
        let mut f = Fields { items: [&[]; 5], len: 0 };
        for part in s.split(|&b| b == d) {
            if f.len == 5 {
                f.len = 0;
                return f;
            }
            f.items[f.len] = part;
            f.len += 1;
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc959_port_grammar() {
        assert_eq!(parse_host_port(b"127,0,0,1,4,1"), Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1025)));
        for bad in [
            &b"1,2,3,4,5"[..],
            b"1,2,3,4,5,6,7",
            b"256,0,0,1,1,1",
            b"1,2,3,4,5,-6",
            b"1, 2,3,4,5,6",
            b"0001,2,3,4,5,6",
            b"",
            b"1,2,3,4,5,6 ",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc2428_eprt_examples() {
        // RFC 2428 section 2 examples.
        assert_eq!(parse_eprt(b"|1|132.235.1.2|6275|"), Ok("132.235.1.2:6275".parse().unwrap()));
        assert_eq!(parse_eprt(b"|2|1080::8:800:200C:417A|5282|"), Ok("[1080::8:800:200C:417A]:5282".parse().unwrap()));
        assert_eq!(parse_eprt(b"!1!10.0.0.1!2000!"), Ok("10.0.0.1:2000".parse().unwrap()));
        assert_eq!(parse_eprt(b"|3|1.2.3.4|5|"), Err(AddrError::Protocol));
        assert!(matches!(parse_eprt(b"|1|::1|5|"), Err(AddrError::Syntax(..))));
        assert!(matches!(parse_eprt(b"|2|1.2.3.4|5|"), Err(AddrError::Syntax(..))));
        assert!(matches!(parse_eprt(b"|1|1.2.3.4|65536|"), Err(AddrError::Syntax(..))));
        assert!(matches!(parse_eprt(b"|1|1.2.3.4|0|"), Err(AddrError::Syntax(..))));
        assert!(matches!(parse_eprt(b"|1|1.2.3.4|5"), Err(AddrError::Syntax(..))));
        assert!(matches!(parse_eprt(b" 1 1.2.3.4 5 "), Err(AddrError::Syntax(..))));
    }

    /// The fast IPv4 reader never accepts what `Ipv4Addr`'s parser refuses,
    /// nor reads a different address.
    #[test]
    fn plain_ipv4_agrees_with_core() {
        let parts = ["0", "1", "00", "01", "9", "10", "099", "255", "256", "1000", "", "a", " 1", "+1", "-1"];
        let mut text = alloc::string::String::new();
        for a in parts {
            for b in ["0", "255", "01", ""] {
                for c in parts {
                    for sep in [".", "..", ",", ""] {
                        text.clear();
                        text.push_str(a);
                        text.push('.');
                        text.push_str(b);
                        text.push('.');
                        text.push_str(c);
                        text.push_str(sep);
                        text.push('7');
                        let core = text.parse::<Ipv4Addr>().ok();
                        if let Some(ip) = plain_ipv4(text.as_bytes()) {
                            assert_eq!(Some(ip), core, "{text}");
                        }
                        if core.is_some() && !text.contains("01") && !text.contains("00") {
                            assert_eq!(plain_ipv4(text.as_bytes()), core, "{text}");
                        }
                    }
                }
            }
        }
    }

    /// The fast IPv6 reader never accepts what `Ipv6Addr`'s parser refuses,
    /// nor reads a different address; and it does read the usual forms.
    #[test]
    fn plain_ipv6_agrees_with_core() {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let alphabet = b"0123456789abcdefABCDEFg:::::.";
        let mut text = alloc::vec::Vec::new();
        for _ in 0..300_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = (rng % 24) as usize;
            text.clear();
            let mut r = rng;
            for _ in 0..len {
                r = r.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                text.push(alphabet[(r >> 33) as usize % alphabet.len()]);
            }
            let core = core::str::from_utf8(&text).ok().and_then(|t| t.parse::<Ipv6Addr>().ok());
            if let Some(ip) = plain_ipv6(&text) {
                assert_eq!(Some(ip), core, "{:?}", core::str::from_utf8(&text));
            }
        }
        for usual in ["::", "::1", "1::", "2001:db8::7", "fe80::1:2", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "0:0::0"] {
            assert_eq!(plain_ipv6(usual.as_bytes()), Some(usual.parse().unwrap()), "{usual}");
        }
        for odd in ["", ":", ":1", "1:", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8::", "::ffff:1.2.3.4"] {
            assert_eq!(plain_ipv6(odd.as_bytes()), None, "{odd}");
        }
    }

    #[test]
    fn rfc1123_pasv_scan_forms() {
        let want = SocketAddrV4::new(Ipv4Addr::new(192, 168, 7, 97), 199 * 256 + 99);
        for text in [
            &b"Entering Passive Mode (192,168,7,97,199,99)."[..],
            b"=192,168,7,97,199,99",
            b"192,168,7,97,199,99",
            b"Entering Passive Mode (192,168,7,97,199,99)",
        ] {
            assert_eq!(scan_pasv([text].into_iter()), Ok(want), "{text:?}");
        }
        assert_eq!(scan_pasv([&b"(300,1,2,3,4,5)"[..]].into_iter()), Err(ReplyDataError::OutOfRange));
        assert_eq!(scan_pasv([&b"(1,2,3,4,5,6,7)"[..]].into_iter()), Err(ReplyDataError::Malformed));
        assert_eq!(scan_pasv([&b"Entering Passive Mode ("[..]].into_iter()), Err(ReplyDataError::NotFound));
    }

    #[test]
    fn rfc2428_epsv_reply_forms() {
        assert_eq!(scan_epsv([&b"Entering Extended Passive Mode (|||6446|)"[..]].into_iter()), Ok(6446));
        assert_eq!(scan_epsv([&b"Entering Extended Passive Mode (!!!6446!)"[..]].into_iter()), Ok(6446));
        assert_eq!(scan_epsv([&b"ok (||6446|)"[..]].into_iter()), Err(ReplyDataError::Malformed));
        assert_eq!(scan_epsv([&b"(|2|::1|6446|)"[..]].into_iter()), Err(ReplyDataError::Malformed));
        assert_eq!(scan_epsv([&b"(|||70000|)"[..]].into_iter()), Err(ReplyDataError::OutOfRange));
        assert_eq!(scan_epsv([&b"no port here"[..]].into_iter()), Err(ReplyDataError::NotFound));
    }
}
