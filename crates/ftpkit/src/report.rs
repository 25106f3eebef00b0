//! What a multi-file command shows while it runs: one overall progress
//! display on a terminal (files done of all, bytes, rate, time left, and a
//! line per running transfer: indicatif's multi-progress), nothing of it
//! when stderr is not a terminal, and with `--json` one event per line on
//! stdout for scripts.
//!
//! Events (`"event"` names the kind):
//! - `plan`: `action` (`get`, `put`, `mkdir`, `delete`, `rmdir`), `path`,
//!   `size` and `reason` for transfers (`new`, `size`, `time`, `resume`,
//!   `copy`), `offset` when resuming; printed by `--dry-run` only;
//! - `mkdir`, `delete`, `rmdir`: `path`, done;
//! - `start`: `path`, `direction` (`get`/`put`), `size`, `offset`;
//! - `done`: `path`, `bytes` (this run's), `seconds`;
//! - `failed`: `path`, `error`, `attempt`;
//! - `skip`: `path`, `reason`, `hostile`;
//! - `conflict`: `path`, `reason`;
//! - `summary`: `files`, `bytes`, `deleted`, `failed`, `skipped`,
//!   `seconds`; always the last line.

use std::io::{IsTerminal, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::display::escape;

/// The display and the counts of one command.
pub(crate) struct Reporter {
    json: bool,
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    files_total: AtomicU64,
    files_done: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
}

impl Reporter {
    /// A reporter; bars only when stderr is a terminal and `--json` is off
    /// (the bars go to stderr, events to stdout).
    pub(crate) fn new(json: bool) -> Arc<Self> {
        let terminal = std::io::stderr().is_terminal() && !json;
        let (multi, overall) = if terminal {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(0));
            overall.set_style(
                ProgressStyle::with_template(
                    "{prefix:>11} files {bytes:>10}/{total_bytes:10} {wide_bar} {binary_bytes_per_sec:>12} {eta:>4}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            (Some(multi), Some(overall))
        } else {
            (None, None)
        };
        Arc::new(Self {
            json,
            multi,
            overall,
            files_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Whether events are printed.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// The work ahead: `files` transfers of `bytes` in all (what is already
    /// there when resuming counted as done).
    pub(crate) fn total(&self, files: u64, bytes: u64, already: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        if let Some(bar) = &self.overall {
            bar.set_length(bytes);
            bar.set_position(already);
            self.prefix(bar);
        }
    }

    fn prefix(&self, bar: &ProgressBar) {
        bar.set_prefix(format!(
            "{}/{}",
            self.files_done.load(Ordering::Relaxed),
            self.files_total.load(Ordering::Relaxed)
        ));
    }

    /// Prints one event line (with `--json`).
    pub(crate) fn event(&self, kind: &str, mut fields: Value) {
        if !self.json {
            return;
        }
        if let Value::Object(map) = &mut fields {
            map.insert("event".into(), kind.into());
        }
        // One write per line: lines from several transfers never mix.
        let line = format!("{fields}\n");
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    /// A line for a person on stderr (above the bars), escaped.
    pub(crate) fn say(&self, text: &str) {
        let text = format!("ftpkit: {}", escape(text));
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// A transfer begins: its own bar under the overall one (terminal).
    pub(crate) fn start(&self, path: &str, direction: &str, size: u64, offset: u64) -> Meter {
        self.event("start", json!({"path": path, "direction": direction, "size": size, "offset": offset}));
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template("{msg:40!} {bytes:>10}/{total_bytes:10} {binary_bytes_per_sec:>12}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(escape(path));
            bar.set_position(offset);
            bar
        });
        Meter { bar, overall: self.overall.clone(), moved: Arc::new(AtomicU64::new(0)), started: Instant::now() }
    }

    /// A transfer ended well.
    pub(crate) fn done(&self, path: &str, meter: &Meter) {
        let bytes = meter.moved.load(Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.files_done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &meter.bar {
            bar.finish_and_clear();
        }
        if let Some(bar) = &self.overall {
            self.prefix(bar);
        }
        self.event("done", json!({"path": path, "bytes": bytes, "seconds": meter.started.elapsed().as_secs_f64()}));
    }

    /// A transfer failed (maybe to be tried again): its bytes leave the
    /// overall count.
    pub(crate) fn failed(&self, path: &str, meter: Option<&Meter>, error: &str, attempt: u32) {
        if let Some(meter) = meter {
            if let Some(bar) = &meter.bar {
                bar.finish_and_clear();
            }
            if let Some(overall) = &self.overall {
                overall.set_position(overall.position().saturating_sub(meter.moved.load(Ordering::Relaxed)));
            }
        }
        self.event("failed", json!({"path": path, "error": error, "attempt": attempt}));
    }

    /// The last event and, without `--json`, a line on stderr.
    pub(crate) fn summary(&self, deleted: u64, failed: u64, skipped: u64) {
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
        let files = self.files_done.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        let seconds = self.started.elapsed().as_secs_f64();
        if self.json {
            self.event(
                "summary",
                json!({"files": files, "bytes": bytes, "deleted": deleted, "failed": failed,
                       "skipped": skipped, "seconds": seconds}),
            );
        } else {
            eprintln!(
                "ftpkit: {files} file{} ({bytes} bytes) transferred, {deleted} deleted, {failed} failed, \
                 {skipped} skipped, in {seconds:.1} s",
                if files == 1 { "" } else { "s" }
            );
        }
    }
}

/// Counts the bytes of one transfer, for its bar, the overall bar and the
/// `done` event.
pub(crate) struct Meter {
    bar: Option<ProgressBar>,
    overall: Option<ProgressBar>,
    moved: Arc<AtomicU64>,
    started: Instant,
}

impl Meter {
    fn add(&self, n: u64) {
        self.moved.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        if let Some(bar) = &self.overall {
            bar.inc(n);
        }
    }

    /// Wraps a reader or writer so that what passes through is counted.
    pub(crate) fn wrap<T>(&self, inner: T) -> Metered<T> {
        Metered {
            inner,
            meter: Meter {
                bar: self.bar.clone(),
                overall: self.overall.clone(),
                moved: self.moved.clone(),
                started: self.started,
            },
        }
    }
}

/// A reader or writer counted by a [`Meter`].
pub(crate) struct Metered<T> {
    pub(crate) inner: T,
    meter: Meter,
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.meter.add(*n as u64);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            self.meter.add((buf.filled().len() - before) as u64);
        }
        r
    }
}
