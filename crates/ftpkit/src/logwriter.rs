//! Where the log's lines go: a thread of their own, writing them in
//! batches, so that a session thread never waits for a write to stderr
//! (or to the file or pipe behind it) and a busy server makes one system
//! call per batch rather than one per line.
//!
//! Each event is formatted on the session's thread into a line of its own
//! and handed over a bounded channel ([`QUEUE`] lines). The writer thread
//! takes what has queued, writes it, flushes, and pauses [`PAUSE`] before
//! looking again, so under load lines pile up into batches and sessions
//! hand them over without waking it. A line that finds the queue full is
//! dropped and counted, and the count is written as a line of its own when
//! the writer catches up: a log that cannot keep up slows nobody down and
//! says what it lost. [`Batched::finish`] writes everything queued before
//! the process exits.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines queued at most; past it, lines are dropped (and counted).
const QUEUE: usize = 4096;
/// How long the writer waits after a batch before taking the next.
const PAUSE: Duration = Duration::from_millis(2);
/// How long [`Batched::finish`] waits for the queue to be written.
const FINISH_WAIT: Duration = Duration::from_secs(2);

enum Message {
    Line(Vec<u8>),
    /// Everything before this is written: say so on the sender.
    Flush(Sender<()>),
}

/// The writer of the log's lines (a [`MakeWriter`] for the fmt layer).
#[derive(Clone)]
pub(crate) struct Batched {
    queue: SyncSender<Message>,
    dropped: std::sync::Arc<AtomicU64>,
}

impl Batched {
    /// Starts the writer thread, writing to `out`.
    pub(crate) fn spawn(out: impl Write + Send + 'static) -> io::Result<Self> {
        let (queue, lines) = sync_channel(QUEUE);
        let dropped = std::sync::Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        std::thread::Builder::new().name("ftpkit-log".into()).spawn(move || write_batches(&lines, out, &counted))?;
        Ok(Self { queue, dropped })
    }

    /// Waits (a little) until every line handed over so far is written.
    pub(crate) fn finish(&self) {
        let (done, written) = std::sync::mpsc::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = written.recv_timeout(FINISH_WAIT);
        }
    }
}

fn write_batches(lines: &Receiver<Message>, mut out: impl Write, dropped: &AtomicU64) {
    while let Ok(first) = lines.recv() {
        let mut flushed = Vec::new();
        for message in std::iter::once(first).chain(std::iter::from_fn(|| lines.try_recv().ok())) {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => flushed.push(done),
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(out, "ftpkit: {lost} log lines dropped (the log could not keep up)");
        }
        let _ = out.flush();
        for done in flushed {
            let _ = done.send(());
        }
        std::thread::sleep(PAUSE);
    }
}

/// One event's line, handed to the writer thread when the fmt layer is
/// done with it.
pub(crate) struct Line<'a> {
    line: Vec<u8>,
    to: &'a Batched,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        match self.to.queue.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.to.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer is gone (it cannot be, short of a panic): write
            // the line here rather than lose it.
            Err(TrySendError::Disconnected(Message::Line(line))) => {
                let _ = io::stderr().write_all(&line);
            }
            Err(TrySendError::Disconnected(Message::Flush(_))) => {}
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { line: Vec::with_capacity(256), to: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

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
    /// (fewer flushes than lines).
    #[test]
    fn lines_are_written_in_order_and_in_batches() {
        let out = Shared::default();
        let log = Batched::spawn(out.clone()).unwrap();
        for i in 0..2000 {
            let mut line = log.make_writer();
            writeln!(line, "line {i}").unwrap();
        }
        log.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let expected: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert!(out.1.load(Ordering::Relaxed) < 2000, "one flush per batch, not per line");
    }

    /// Issue 18 (log volume bounded): past the queue, lines are dropped,
    /// never buffered without bound, and the loss is written as a line.
    #[test]
    fn a_full_queue_drops_and_counts() {
        // A writer that blocks until released: the queue fills.
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
        for i in 0..(QUEUE * 2) {
            writeln!(log.make_writer(), "l{i}").unwrap();
        }
        drop(closed);
        log.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let written = text.lines().filter(|l| l.starts_with('l')).count();
        assert!(written <= QUEUE + 1, "{written} lines written of a queue of {QUEUE}");
        let note = text.lines().find(|l| l.contains("log lines dropped")).expect("the loss is logged");
        let lost: usize = note.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_eq!(written + lost, QUEUE * 2);
    }
}
