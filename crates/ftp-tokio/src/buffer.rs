//! The transfer buffer the server and the client copy file bytes through.

/// Buffer for file transfers: large, as DESIGN.md's driver notes measured,
/// reached once a read fills the starting size (small files and listings
/// never pay for a megabyte).
pub(crate) const TRANSFER_BUFFER: usize = 1 << 20;
/// Where a transfer's buffer starts.
pub(crate) const TRANSFER_BUFFER_START: usize = 64 << 10;

/// A transfer buffer that grows to [`TRANSFER_BUFFER`] when reads fill it,
/// read into without zero-filling (`read_buf`).
pub(crate) struct Buffer(bytes::BytesMut);

impl Buffer {
    pub(crate) fn new() -> Self {
        Self(bytes::BytesMut::with_capacity(TRANSFER_BUFFER_START))
    }

    /// Empties the buffer for the next read, growing it when the last read
    /// filled it.
    pub(crate) fn next(&mut self) -> &mut bytes::BytesMut {
        let filled = self.0.len() == self.0.capacity();
        self.0.clear();
        if filled && self.0.capacity() < TRANSFER_BUFFER {
            self.0.reserve(TRANSFER_BUFFER);
        }
        &mut self.0
    }
}

impl std::ops::Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}
