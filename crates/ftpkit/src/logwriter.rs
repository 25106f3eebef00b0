//! Where the log's lines go: a thread of their own, writing them in
//! batches, so that a session thread never waits for a write to stderr
//! (or to the file or pipe behind it) and a busy server makes one system
//! call per batch rather than one per line.
//!
//! Each event is formatted on the session's thread and its line appended
//! to one shared buffer (a lock held for a copy). The writer thread wakes
//! when the buffer stops being empty, waits [`PAUSE`] for more lines to
//! gather, swaps the buffer for an empty one and writes it in one go. No
//! line costs an allocation or a wake-up of its own. Past [`MAX_PENDING`]
//! bytes waiting, lines are dropped and counted, and the count is written
//! as a line of its own: a log that cannot keep up slows nobody down,
//! holds a bounded amount of memory, and says what it lost.
//! [`Batched::finish`] writes everything pending before the process exits.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes of lines waiting at most; past it, lines are dropped (counted).
const MAX_PENDING: usize = 4 << 20;
/// How long the writer lets lines gather after the first one of a batch.
const PAUSE: Duration = Duration::from_millis(5);
/// How long [`Batched::finish`] waits for the pending lines to be written.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// What the sessions and the writer share.
#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    dropped: u64,
    /// Batches written so far (for [`Batched::finish`]).
    written: u64,
    /// Batches taken by the writer so far.
    taken: u64,
}

struct Inner {
    pending: Mutex<Pending>,
    /// Signalled when lines arrive in an empty buffer (for the writer) and
    /// when a batch has been written (for [`Batched::finish`]).
    changed: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one whole line (or drops it when too much is waiting).
    fn push(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.lines.len() + line.len() > MAX_PENDING {
            pending.dropped += 1;
            return;
        }
        let was_empty = pending.lines.is_empty() && pending.dropped == 0;
        pending.lines.extend_from_slice(line);
        drop(pending);
        if was_empty {
            self.changed.notify_all();
        }
    }
}

/// The writer of the log's lines (a [`MakeWriter`] for the fmt layer).
#[derive(Clone)]
pub(crate) struct Batched {
    inner: Arc<Inner>,
}

impl Batched {
    /// Starts the writer thread, writing to `out`.
    pub(crate) fn spawn(out: impl Write + Send + 'static) -> io::Result<Self> {
        let inner = Arc::new(Inner { pending: Mutex::default(), changed: Condvar::new() });
        let shared = inner.clone();
        std::thread::Builder::new().name("ftpkit-log".into()).spawn(move || write_batches(&shared, out))?;
        Ok(Self { inner })
    }

    /// Waits (a little) until every line handed over so far is written.
    pub(crate) fn finish(&self) {
        let deadline = Instant::now() + FINISH_WAIT;
        let mut pending = self.inner.lock();
        // The batch holding our lines is the next one taken, or the one
        // being written now.
        let target = if pending.lines.is_empty() && pending.dropped == 0 { pending.taken } else { pending.taken + 1 };
        while pending.written < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            pending = self.inner.changed.wait_timeout(pending, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

fn write_batches(inner: &Inner, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut pending = inner.lock();
        while pending.lines.is_empty() && pending.dropped == 0 {
            pending = inner.changed.wait(pending).unwrap_or_else(PoisonError::into_inner);
        }
        drop(pending);
        // Let the lines of a busy moment gather into one write.
        std::thread::sleep(PAUSE);
        let mut pending = inner.lock();
        std::mem::swap(&mut pending.lines, &mut batch);
        let dropped = std::mem::take(&mut pending.dropped);
        pending.taken += 1;
        drop(pending);
        let _ = out.write_all(&batch);
        if dropped > 0 {
            let _ = writeln!(out, "ftpkit: {dropped} log lines dropped (the log could not keep up)");
        }
        let _ = out.flush();
        // Keep the capacity for the next batch, unless a burst made it huge.
        batch.clear();
        if batch.capacity() > 256 << 10 {
            batch = Vec::new();
        }
        inner.lock().written += 1;
        inner.changed.notify_all();
    }
}

/// One event's line: appended to the shared buffer as it is written when
/// it comes whole (the fmt layer writes each event once), else gathered and
/// appended when dropped.
pub(crate) struct Line<'a> {
    part: Vec<u8>,
    to: &'a Inner,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.part.is_empty() && buf.ends_with(b"\n") {
            self.to.push(buf);
        } else {
            self.part.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if !self.part.is_empty() {
            self.to.push(&self.part);
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { part: Vec::new(), to: &self.inner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>, Arc<AtomicU64>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.1.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    /// Issue 18 (logs): every line handed over is written, whole and in
    /// order, by the time `finish` returns; a burst is written in batches
    /// (far fewer flushes than lines); a line written in pieces stays one
    /// line.
    #[test]
    fn lines_are_written_in_order_and_in_batches() {
        let out = Shared::default();
        let log = Batched::spawn(out.clone()).unwrap();
        for i in 0..2000 {
            let mut line = log.make_writer();
            write!(line, "line ").unwrap();
            writeln!(line, "{i}").unwrap();
        }
        log.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let expected: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert!(out.1.load(Ordering::Relaxed) < 100, "one flush per batch, not per line");
        writeln!(log.make_writer(), "after").unwrap();
        log.finish();
        assert!(String::from_utf8(out.0.lock().unwrap().clone()).unwrap().ends_with("1999\nafter\n"));
    }

    /// Issue 18 (log volume bounded): past what may wait, lines are
    /// dropped, never buffered without bound, and the loss is written as a
    /// line.
    #[test]
    fn a_full_buffer_drops_and_counts() {
        // A writer that blocks until released: the lines pile up.
        struct Gate(Arc<Mutex<()>>, Shared);
        impl Write for Gate {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let _open = self.0.lock().unwrap();
                self.1.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let out = Shared::default();
        let closed = gate.lock().unwrap();
        let log = Batched::spawn(Gate(gate.clone(), out.clone())).unwrap();
        let line = vec![b'x'; 1023];
        let count = 3 * MAX_PENDING / 1024;
        for _ in 0..count {
            let mut w = log.make_writer();
            w.write_all(&line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        drop(closed);
        log.finish();
        log.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let written = text.lines().filter(|l| l.starts_with('x')).count();
        assert!(written <= 2 * MAX_PENDING / 1024, "{written} lines written");
        let lost: usize = text
            .lines()
            .filter(|l| l.contains("log lines dropped"))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap())
            .sum();
        assert!(lost > 0, "the loss is logged");
        assert_eq!(written + lost, count);
    }
}
