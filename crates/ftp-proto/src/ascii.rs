//! TYPE A line ends (RFC 959 section 3.1.1.1): the wire says CRLF, a Unix
//! file says LF. Drivers convert only when TYPE A is in force, chunk by
//! chunk as the bytes arrive, so the converters carry the one byte of
//! state a CR split across two reads needs; the result is the same however
//! the data is cut. They live in the codec, not in each driver, so that a
//! client and a server (and any other driver) agree byte for byte.
//!
//! ```
//! use ftp_proto::ascii::{FromWire, ToWire};
//!
//! let (mut to_wire, mut wire) = (ToWire::default(), Vec::new());
//! to_wire.convert(b"one\ntwo\n", &mut wire);
//! assert_eq!(wire, b"one\r\ntwo\r\n");
//!
//! // The same bytes, cut inside the CRLF, read back as the file.
//! let (mut from_wire, mut file, mut out) = (FromWire::default(), Vec::new(), Vec::new());
//! for chunk in [&wire[..4], &wire[4..]] {
//!     from_wire.convert(chunk, &mut out);
//!     file.extend_from_slice(&out);
//! }
//! file.extend_from_slice(from_wire.finish());
//! assert_eq!(file, b"one\ntwo\n");
//! ```

use alloc::vec::Vec;

/// CRLF on the wire to LF in the file (downloads for a client, uploads for
/// a server). A CR not followed by LF is kept: it is data, not a line end.
///
/// A CR at the end of a chunk is held back until the next chunk says
/// whether an LF follows; call [`finish`](Self::finish) after the last
/// chunk for a CR that ended the data.
#[derive(Debug, Clone, Default)]
pub struct FromWire {
    pending_cr: bool,
}

impl FromWire {
    /// Converts one chunk into `out` (cleared first, so one buffer serves
    /// every chunk of a transfer).
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for &b in input {
            if self.pending_cr && b != b'\n' {
                out.push(b'\r');
            }
            self.pending_cr = b == b'\r';
            if !self.pending_cr {
                out.push(b);
            }
        }
    }

    /// The bytes held back at the end: a last CR that no LF followed. The
    /// converter is then ready for a new transfer.
    #[must_use = "a held-back CR is data that belongs at the end of the file"]
    pub fn finish(&mut self) -> &'static [u8] {
        if core::mem::take(&mut self.pending_cr) { b"\r" } else { b"" }
    }
}

/// LF in the file to CRLF on the wire (uploads for a client, downloads for
/// a server). An LF already preceded by CR is left alone, so a file that
/// already has CRLF line ends is sent as it is, not with CRCRLF.
#[derive(Debug, Clone, Default)]
pub struct ToWire {
    last_cr: bool,
}

impl ToWire {
    /// Converts one chunk into `out` (cleared first, so one buffer serves
    /// every chunk of a transfer). Nothing is held back, so there is no
    /// `finish`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for &b in input {
            if b == b'\n' && !self.last_cr {
                out.push(b'\r');
            }
            self.last_cr = b == b'\r';
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FromWire, ToWire};
    use alloc::vec::Vec;

    fn from_wire(chunks: &[&[u8]]) -> Vec<u8> {
        let (mut c, mut all, mut out) = (FromWire::default(), Vec::new(), Vec::new());
        for chunk in chunks {
            c.convert(chunk, &mut out);
            all.extend_from_slice(&out);
        }
        all.extend_from_slice(c.finish());
        all
    }

    fn to_wire(chunks: &[&[u8]]) -> Vec<u8> {
        let (mut c, mut all, mut out) = (ToWire::default(), Vec::new(), Vec::new());
        for chunk in chunks {
            c.convert(chunk, &mut out);
            all.extend_from_slice(&out);
        }
        all
    }

    /// RFC 959 3.1.1.1: CRLF is the end of line on the wire, whatever the
    /// reads' boundaries.
    #[test]
    fn rfc959_3_1_1_1_line_ends_across_chunks() {
        let wire = b"one\r\ntwo\rthree\r\n\r\nlast\r";
        let local = b"one\ntwo\rthree\n\nlast\r";
        for split in 0..=wire.len() {
            assert_eq!(from_wire(&[&wire[..split], &wire[split..]]), local, "split at {split}");
        }
        let file = b"a\nb\r\nc\n\n";
        for split in 0..=file.len() {
            assert_eq!(to_wire(&[&file[..split], &file[split..]]), b"a\r\nb\r\nc\r\n\r\n", "split at {split}");
        }
        // Round trip of text with LF line ends.
        assert_eq!(from_wire(&[&to_wire(&[b"x\ny\n"])]), b"x\ny\n");
    }
}
