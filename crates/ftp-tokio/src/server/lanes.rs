//! Sessions spread over threads that each run a single-threaded runtime
//! ([`ServerOptions::session_threads`](super::ServerOptions::session_threads)).
//!
//! On tokio's work-stealing runtime a session's tasks (its control loop,
//! its passive listener, its storage requests, its transfers) wake each
//! other across worker threads: every spawn may unpark an idle worker,
//! which steals the task, and the session's next step then waits for a
//! thread switch. For one session fetching small files that cost more than
//! the work itself (measured: 4,400 files/s against 7,600 with a single
//! worker). Here each session, with every task it spawns, stays on one
//! thread, as a process-per-session server's would. Each lane accepts on
//! a listening socket of its own, all bound to the one port with
//! `SO_REUSEPORT`, and the kernel spreads new connections over them, so a
//! new session starts on the thread that accepted it (handing accepted
//! sockets from an accepting thread to a lane took a fifth of the server's
//! time in a sessions/s run), and several cores still serve many sessions.
//!
//! A lane's thread lives until the server stopped accepting (its [`Lanes`]
//! dropped) and no connection is left ([`Shared::live`](super::Shared)).

use std::io;

use tokio::runtime::Handle;
use tokio::sync::watch;

/// Blocking-pool threads per lane (file-system work of its sessions).
const BLOCKING_PER_LANE: usize = 128;

/// The lanes' runtimes.
pub(super) struct Lanes {
    handles: Vec<Handle>,
    /// `true` while the server accepts; the lanes end once it is `false`
    /// and no connection is left.
    accepting: watch::Sender<bool>,
}

impl Lanes {
    /// Starts `n` lanes; each ends when the server no longer accepts and
    /// `live` (connections) is zero.
    pub(super) fn start(n: usize, live: &watch::Sender<usize>) -> io::Result<Self> {
        let accepting = watch::Sender::new(true);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .max_blocking_threads(BLOCKING_PER_LANE)
                .thread_name(format!("ftp-session-{i}"))
                .build()?;
            handles.push(runtime.handle().clone());
            let (mut open, mut live) = (accepting.subscribe(), live.subscribe());
            std::thread::Builder::new().name(format!("ftp-session-{i}")).spawn(move || {
                runtime.block_on(async move {
                    let _ = open.wait_for(|accepting| !accepting).await;
                    let _ = live.wait_for(|n| *n == 0).await;
                });
            })?;
        }
        Ok(Self { handles, accepting })
    }

    /// The runtime of lane `i` (modulo the number of lanes).
    pub(super) fn lane(&self, i: usize) -> &Handle {
        &self.handles[i % self.handles.len()]
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.accepting.send_replace(false);
    }
}
