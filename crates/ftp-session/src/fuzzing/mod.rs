//! Bodies of the session cargo-fuzz targets (feature `__fuzz`), kept in the
//! crate so that they compile, and run on seeds, with every `cargo test`.
//!
//! - [`server_session`] (`server.rs`): a server session driven by arbitrary
//!   client bytes and caller answers.
//! - [`client_session`] (`client.rs`): a client session driven by arbitrary
//!   server bytes and caller operations.
//!
//! Both drive their session the same way: after each operation the outputs
//! are drained to `Wait` by the one loop here (`drain`), which checks what
//! every driver relies on whatever the role (the drain ends, nothing comes
//! after `Close`, a closed session reports no deadline) and hands every
//! other output to the role's own checks (`Role::output`).

/// The [`Role`] methods that read the same for both roles, written once:
/// each harness holds `session`, `closed` (`Output::Close` seen) and
/// `trace`, and each role's `Output` has `Transmit(Bytes)` and
/// `Wait(Option<Instant>)`, but the types differ, so a generic body cannot
/// name them.
macro_rules! role_basics {
    () => {
        fn poll(&mut self) -> Output {
            self.session.poll_output()
        }

        fn wait(out: &Output) -> Option<Option<Instant>> {
            match out {
                Output::Wait(deadline) => Some(*deadline),
                _ => None,
            }
        }

        fn transmit(out: &Output) -> Option<&Bytes> {
            match out {
                Output::Transmit(b) => Some(b),
                _ => None,
            }
        }

        fn trace(&self) -> bool {
            self.trace
        }

        fn seen_close(&self) -> bool {
            self.closed
        }

        fn session_closed(&self) -> bool {
            self.session.is_closed()
        }
    };
}

mod client;
mod server;

#[cfg(test)]
mod seeds;

use std::fmt::Debug;
use std::time::Instant;

use bytes::Bytes;

pub use client::client_session;
pub use server::server_session;

/// Polls allowed per drain before it counts as a livelock.
const MAX_POLLS: usize = 10_000;

/// What one drain produced, for the checks of the operation that caused it.
#[derive(Debug, Default)]
struct Drained<S> {
    /// Outputs other than the final `Wait`.
    outputs: usize,
    /// The deadline of the final `Wait`.
    deadline: Option<Instant>,
    /// What the role noticed on the way (its [`Role::Seen`]).
    seen: S,
}

/// One role's session under test, as the shared [`drain`] loop sees it: the
/// two roles have different `Output` enums but the same run loop, so the
/// loop is written once and asks the role only what differs.
trait Role {
    /// The session's output type.
    type Output: Debug;
    /// What the role records of one drain beyond the output count.
    type Seen: Default;

    /// The session's next output.
    fn poll(&mut self) -> Self::Output;
    /// `Some(deadline)` when `out` is `Output::Wait(deadline)`.
    fn wait(out: &Self::Output) -> Option<Option<Instant>>;
    /// The bytes of an `Output::Transmit`, printed as text when tracing.
    fn transmit(out: &Self::Output) -> Option<&Bytes>;
    /// Whether every output is printed (`FTPKIT_FUZZ_TRACE` set).
    fn trace(&self) -> bool;
    /// Whether the harness has seen `Output::Close`.
    fn seen_close(&self) -> bool;
    /// Whether the session says it is closed (`is_closed`).
    fn session_closed(&self) -> bool;
    /// The role's own checks when a drain reaches `Wait`.
    fn at_wait(&self) {}
    /// Checks one output other than `Wait` and records it.
    fn output(&mut self, out: Self::Output, seen: &mut Self::Seen);
}

/// Polls to `Wait`, checking every output; panics on a livelock (more than
/// [`MAX_POLLS`] outputs), an output after `Close`, or `is_closed`
/// disagreeing with the outputs.
fn drain<R: Role>(h: &mut R) -> Drained<R::Seen> {
    let mut d = Drained::<R::Seen>::default();
    for _ in 0..MAX_POLLS {
        let out = h.poll();
        if h.trace() {
            match R::transmit(&out) {
                Some(b) => eprintln!("  < {:?}", String::from_utf8_lossy(b)),
                None => eprintln!("  < {out:?}"),
            }
        }
        if let Some(deadline) = R::wait(&out) {
            assert_eq!(h.session_closed(), h.seen_close(), "is_closed disagrees with Output::Close");
            if h.seen_close() {
                assert_eq!(deadline, None, "a closed session reports a deadline");
            }
            h.at_wait();
            d.deadline = deadline;
            return d;
        }
        assert!(!h.seen_close(), "output after Output::Close: {out:?}");
        d.outputs += 1;
        h.output(out, &mut d.seen);
    }
    panic!("the drain did not reach Output::Wait within {MAX_POLLS} polls");
}
