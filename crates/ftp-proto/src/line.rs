//! Incremental, bounded line framing with Telnet handling.
//!
//! The control connection is a Telnet NVT stream (RFC 959 section 3.2 and
//! 4.1.3). FTP needs only a few Telnet features: `IAC IAC` for a literal
//! 0xFF byte, `IAC IP` and `IAC DM` to signal an abort, and the refusal of
//! option negotiation (RFC 3659 section 2.2). The framer handles them here,
//! inside the same bounded buffer, so that escape processing can never upset
//! length accounting (the lesson of CVE-2010-4221 and CVE-2010-3972).
//!
//! How the buffer is used: the current line's processed bytes sit at the
//! front of the caller's `BytesMut` (`buf[..out]`); raw bytes not yet looked
//! at start at `buf[inp..]`. Without Telnet sequences `out == inp` and no
//! byte is moved; a sequence opens a gap that later bytes are copied over.
//! A complete line is split off the front, so the returned [`Bytes`] shares
//! the buffer: no copy, no allocation.
//!
//! The scan resumes where it stopped, so feeding a line one byte at a time
//! costs linear, not quadratic, time (httparse's warning).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::FrameError;
use crate::options::ParseOptions;

const IAC: u8 = 255;
const DONT: u8 = 254;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const IP: u8 = 244;
const DM: u8 = 242;

/// Telnet signals seen since they were last taken, for the session to act on.
///
/// FTP uses Telnet IP and DM (the "Synch") to ask for attention before
/// `ABOR` or `STAT` (RFC 959 4.1.3); option negotiation must be refused
/// (RFC 3659 2.2), so it is reported, never answered here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelnetEvents {
    /// `IAC IP` (interrupt process) was seen.
    pub interrupt: bool,
    /// `IAC DM` (data mark, the end of a Synch) was seen.
    pub data_mark: bool,
    /// How many `IAC WILL/WONT/DO/DONT <option>` requests were seen.
    pub negotiations: u32,
    /// The last negotiation request: the command byte (251..=254) and option.
    pub last_negotiation: Option<(u8, u8)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    /// Not inside a Telnet sequence.
    Data,
    /// An IAC was consumed; its meaning depends on the next byte.
    Iac,
    /// `IAC WILL/WONT/DO/DONT` was consumed; the option byte follows.
    Negotiation(u8),
}

/// One complete line, as the range `start..end` of a shared buffer (line
/// end and Telnet sequences already removed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineRef<'a> {
    /// The buffer the line lives in.
    pub(crate) chunk: &'a Bytes,
    /// Where the line starts in `chunk`.
    pub(crate) start: usize,
    /// Where the line ends in `chunk` (exclusive).
    pub(crate) end: usize,
    /// The line holds no CR (and, as every line, no LF): any part of it is
    /// wire-safe text, with nothing to check or unescape.
    pub(crate) clean: bool,
}

impl LineRef<'_> {
    /// The line's bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.chunk[self.start..self.end]
    }
}

/// Splits a byte stream into lines, bounded and Telnet-aware.
///
/// ```
/// use bytes::BytesMut;
/// use ftp_proto::{LineDecoder, ParseOptions};
///
/// let mut lines = LineDecoder::new(&ParseOptions::default());
/// let mut buf = BytesMut::from(&b"NOOP\r\nQU"[..]);
/// assert_eq!(&lines.decode(&mut buf).unwrap().unwrap()[..], b"NOOP");
/// assert!(lines.decode(&mut buf).is_none()); // "QU" is not a line yet
/// buf.extend_from_slice(b"IT\r\n");
/// assert_eq!(&lines.decode(&mut buf).unwrap().unwrap()[..], b"QUIT");
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_line_len: usize,
    allow_bare_lf: bool,
    out: usize,
    inp: usize,
    telnet: Telnet,
    discarding: bool,
    events: TelnetEvents,
    /// Complete lines without Telnet sequences, frozen in one piece and
    /// served from `pos`: one split of the caller's buffer for many lines.
    ready: Bytes,
    pos: usize,
}

impl LineDecoder {
    /// A framer with the limits and leniency of `options`.
    #[must_use]
    pub fn new(options: &ParseOptions) -> Self {
        Self {
            max_line_len: options.max_line_len_value(),
            allow_bare_lf: options.bare_lf_allowed(),
            out: 0,
            inp: 0,
            telnet: Telnet::Data,
            discarding: false,
            events: TelnetEvents::default(),
            ready: Bytes::new(),
            pos: 0,
        }
    }

    /// Takes the next complete line off the front of `buf`, without its line
    /// end (LF and any CRs before it), with Telnet sequences removed.
    ///
    /// Returns `None` when no complete line is buffered yet; the bytes stay
    /// in `buf` and are not scanned again. Returns `Some(Err(_))` once for a
    /// line that was refused; the framer has already skipped it (or will skip
    /// the rest of it as it arrives), so the caller just goes on.
    ///
    /// The decoder keeps state about `buf` between calls: always pass the
    /// same buffer, and call [`reset`](Self::reset) if you clear it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, FrameError>> {
        Some(self.next_line(buf)?.map(|line| line.chunk.slice(line.start..line.end)))
    }

    /// Like [`decode`](Self::decode), but returns the line as a range of a
    /// shared buffer, so a caller that needs no copy of the line (a verb
    /// without argument) takes no reference count at all.
    #[inline(always)]
    pub(crate) fn next_line(&mut self, buf: &mut BytesMut) -> Option<Result<LineRef<'_>, FrameError>> {
        if self.pos < self.ready.len() {
            return Some(self.serve_ready());
        }
        if !self.has_partial_line() {
            self.ready = Bytes::new();
            self.pos = 0;
            self.fill_ready(buf);
            if self.pos < self.ready.len() {
                return Some(self.serve_ready());
            }
        }
        match self.decode_slow(buf)? {
            Ok(line) => {
                let len = line.len();
                self.ready = line;
                self.pos = len;
                // Telnet processing may have moved bytes around: the content
                // is not known to be free of CR (a `CR NUL`, or a stray CR).
                Some(Ok(LineRef { chunk: &self.ready, start: 0, end: len, clean: false }))
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// Whether every line of the current buffer ([`chunk`](Self::chunk))
    /// has been served: the next call to `next_line` replaces it (and only
    /// then is it replaced).
    #[inline]
    pub(crate) fn served_all(&self) -> bool {
        self.pos >= self.ready.len()
    }

    /// The buffer the last line returned by `next_line` lives in.
    #[inline]
    pub(crate) fn chunk(&self) -> &Bytes {
        &self.ready
    }

    /// Freezes every complete line before the first IAC in one piece.
    fn fill_ready(&mut self, buf: &mut BytesMut) {
        let clean = memchr::memchr(IAC, buf).unwrap_or(buf.len());
        if let Some(lf) = memchr::memrchr(b'\n', &buf[..clean]) {
            self.ready = buf.split_to(lf + 1).freeze();
        }
    }

    /// The next line of `ready`, which always ends with an LF.
    ///
    /// One search for the first control byte (up to CR) finds the line end
    /// and, in the usual case (that byte is the CR of the CRLF, or a bare
    /// LF), proves the line holds no CR at all, so the grammar above can
    /// take its text without checking it again.
    #[inline(always)]
    fn serve_ready(&mut self) -> Result<LineRef<'_>, FrameError> {
        let start = self.pos;
        let data: &[u8] = &self.ready;
        let rest = &data[start..];
        // `ready` ends with an LF, so a control byte is always found.
        let first = crate::scan::find_below(rest, b'\r' + 1).unwrap_or(rest.len() - 1);
        let (lf, end, clean) = match rest[first] {
            b'\n' => (start + first, start + first, true),
            b'\r' if rest.get(first + 1) == Some(&b'\n') => (start + first + 1, start + first, true),
            _ => {
                // Another control byte, or a CR inside the line (`CR NUL`,
                // or a stray one): the LF is further on, and the line end
                // drops every CR before it.
                let lf = start + first + crate::scan::find(&rest[first..], b'\n').unwrap_or(rest.len() - 1 - first);
                let mut end = lf;
                while end > start && data[end - 1] == b'\r' {
                    end -= 1;
                }
                (lf, end, false)
            }
        };
        self.pos = lf + 1;
        if lf + 1 - start > self.max_line_len {
            return Err(FrameError::LineTooLong { limit: self.max_line_len });
        }
        if end == lf && !self.allow_bare_lf {
            return Err(FrameError::BareLineFeed);
        }
        Ok(LineRef { chunk: &self.ready, start, end, clean })
    }

    /// Framing with Telnet handling, one line at a time, in place.
    fn decode_slow(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, FrameError>> {
        loop {
            if self.discarding {
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                }
            }
            while self.inp < buf.len() {
                if self.telnet != Telnet::Data {
                    self.telnet_byte(buf);
                    continue;
                }
                let rest = &buf[self.inp..];
                match memchr::memchr2(b'\n', IAC, rest) {
                    None => {
                        let n = rest.len();
                        self.keep(buf, n);
                    }
                    Some(i) => {
                        self.keep(buf, i);
                        if buf[self.inp] == b'\n' {
                            return Some(self.finish_line(buf));
                        }
                        self.inp += 1;
                        self.telnet = Telnet::Iac;
                    }
                }
            }
            // No line end yet: bound what this line may hold (F1, R1).
            if self.inp >= self.max_line_len {
                buf.advance(self.inp);
                self.out = 0;
                self.inp = 0;
                self.telnet = Telnet::Data;
                self.discarding = true;
                return Some(Err(FrameError::LineTooLong { limit: self.max_line_len }));
            }
            return None;
        }
    }

    /// Forgets any partial line: call it after clearing the buffer, e.g. when
    /// a TLS handshake replaces the plaintext stream (SECURITY.md L1).
    pub fn reset(&mut self) {
        self.ready = Bytes::new();
        self.pos = 0;
        self.out = 0;
        self.inp = 0;
        self.telnet = Telnet::Data;
        self.discarding = false;
    }

    /// Whether a partial line (or a Telnet sequence, or the tail of an
    /// overlong line) has been consumed but not yet returned. With an empty
    /// buffer and no partial line, nothing is pending at all: the check a
    /// session makes before a TLS handshake (SECURITY.md L1, L2).
    #[must_use]
    pub fn has_partial_line(&self) -> bool {
        self.inp != 0 || self.telnet != Telnet::Data || self.discarding || self.pos < self.ready.len()
    }

    /// Takes the Telnet signals seen since the last call.
    pub fn take_telnet_events(&mut self) -> TelnetEvents {
        core::mem::take(&mut self.events)
    }

    /// Accepts `n` data bytes at `inp`, moving them down over any gap.
    fn keep(&mut self, buf: &mut BytesMut, n: usize) {
        if self.out != self.inp {
            buf.copy_within(self.inp..self.inp + n, self.out);
        }
        self.out += n;
        self.inp += n;
    }

    fn push_data(&mut self, buf: &mut BytesMut, byte: u8) {
        // `out < inp` holds here: the IAC that produced this byte was consumed.
        buf[self.out] = byte;
        self.out += 1;
    }

    fn telnet_byte(&mut self, buf: &mut BytesMut) {
        let b = buf[self.inp];
        match self.telnet {
            Telnet::Data => {}
            Telnet::Iac => {
                self.telnet = Telnet::Data;
                match b {
                    IAC => {
                        self.inp += 1;
                        self.push_data(buf, IAC);
                    }
                    WILL..=DONT => {
                        self.inp += 1;
                        self.telnet = Telnet::Negotiation(b);
                    }
                    SE..=SB => {
                        self.inp += 1;
                        match b {
                            IP => self.events.interrupt = true,
                            DM => self.events.data_mark = true,
                            _ => {}
                        }
                    }
                    // IAC before a byte that is no Telnet command: the IAC is
                    // data and the byte is read again as usual (deterministic,
                    // SECURITY.md T4; an LF here still ends the line).
                    _ => self.push_data(buf, IAC),
                }
            }
            Telnet::Negotiation(cmd) => {
                self.telnet = Telnet::Data;
                if b != b'\n' {
                    self.inp += 1;
                    self.events.negotiations = self.events.negotiations.saturating_add(1);
                    self.events.last_negotiation = Some((cmd, b));
                }
            }
        }
    }

    fn finish_line(&mut self, buf: &mut BytesMut) -> Result<Bytes, FrameError> {
        let consumed = self.inp + 1;
        let mut len = self.out;
        let content = &buf[..len];
        let had_cr = content.last() == Some(&b'\r');
        while len > 0 && buf[len - 1] == b'\r' {
            len -= 1;
        }
        self.out = 0;
        self.inp = 0;
        if consumed > self.max_line_len {
            buf.advance(consumed);
            return Err(FrameError::LineTooLong { limit: self.max_line_len });
        }
        if !had_cr && !self.allow_bare_lf {
            buf.advance(consumed);
            return Err(FrameError::BareLineFeed);
        }
        let mut line = buf.split_to(consumed);
        line.truncate(len);
        Ok(line.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], opts: &ParseOptions) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut dec = LineDecoder::new(opts);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(item) = dec.decode(&mut buf) {
            out.push(item.map(|b| b.to_vec()));
        }
        out
    }

    #[test]
    fn sec_t1_iac_iac_is_one_ff() {
        let got = lines(b"RETR a\xff\xffb\r\n", &ParseOptions::default());
        assert_eq!(got, vec![Ok(b"RETR a\xffb".to_vec())]);
    }

    #[test]
    fn sec_t3_ip_dm_stripped_and_reported() {
        let mut dec = LineDecoder::new(&ParseOptions::default());
        let mut buf = BytesMut::from(&b"\xff\xf4\xff\xf2ABOR\r\n"[..]);
        assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], b"ABOR");
        let ev = dec.take_telnet_events();
        assert!(ev.interrupt && ev.data_mark);
    }

    #[test]
    fn sec_t2_negotiation_consumed() {
        let mut dec = LineDecoder::new(&ParseOptions::default());
        let mut buf = BytesMut::from(&b"NO\xff\xfb\x01OP\r\n"[..]);
        assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], b"NOOP");
        assert_eq!(dec.take_telnet_events().last_negotiation, Some((251, 1)));
    }

    #[test]
    fn sec_f1_overlong_line_resyncs() {
        let opts = ParseOptions::default().max_line_len(16);
        let mut input = vec![b'A'; 100];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        let got = lines(&input, &opts);
        assert_eq!(got, vec![Err(FrameError::LineTooLong { limit: 16 }), Ok(b"NOOP".to_vec())]);
    }

    #[test]
    fn sec_f2_line_end_variants() {
        let got = lines(b"A\nB\r\r\n\r\nC\rD\r\n", &ParseOptions::default());
        assert_eq!(got, vec![Ok(b"A".to_vec()), Ok(b"B".to_vec()), Ok(vec![]), Ok(b"C\rD".to_vec())]);
        let strict = lines(b"A\nB\r\n", &ParseOptions::default().allow_bare_lf(false));
        assert_eq!(strict, vec![Err(FrameError::BareLineFeed), Ok(b"B".to_vec())]);
    }

    #[test]
    fn sec_t4_lone_iac_at_end_is_held() {
        let mut dec = LineDecoder::new(&ParseOptions::default());
        let mut buf = BytesMut::from(&b"a\xff"[..]);
        assert!(dec.decode(&mut buf).is_none());
        assert!(dec.has_partial_line());
        buf.extend_from_slice(b"\xffb\r\n");
        assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], b"a\xffb");
        // IAC before a non-command byte keeps both bytes.
        assert_eq!(lines(b"a\xffAb\r\n", &ParseOptions::default()), vec![Ok(b"a\xffAb".to_vec())]);
        // IAC before LF: the IAC is data and the LF still ends the line.
        assert_eq!(lines(b"a\xff\nb\n", &ParseOptions::default()), vec![Ok(b"a\xff".to_vec()), Ok(b"b".to_vec())]);
    }
}
