//! TYPE A line ends (RFC 959 section 3.1.1.1): the wire says CRLF, a Unix
//! file says LF. Both drivers convert only when TYPE A is in force, chunk
//! by chunk, with the state a CR split across two reads needs.

/// CRLF on the wire to LF in the file (downloads for a client, uploads for
/// a server). A CR not followed by LF is kept.
#[derive(Debug, Default)]
pub(crate) struct FromWire {
    pending_cr: bool,
}

impl FromWire {
    /// Converts one chunk into `out` (cleared first).
    pub(crate) fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
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

    /// The bytes held back at the end: a last CR that no LF followed.
    pub(crate) fn finish(&mut self) -> &'static [u8] {
        if std::mem::take(&mut self.pending_cr) { b"\r" } else { b"" }
    }
}

/// LF in the file to CRLF on the wire (uploads for a client, downloads for
/// a server). An LF already preceded by CR is left alone.
#[derive(Debug, Default)]
pub(crate) struct ToWire {
    last_cr: bool,
}

impl ToWire {
    /// Converts one chunk into `out` (cleared first).
    pub(crate) fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
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
