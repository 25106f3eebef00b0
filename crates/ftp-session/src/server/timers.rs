//! The session's deadlines in one table (as quinn-proto's `TimerTable`):
//! one slot per [`Timer`], so [`Session::poll_timeout`](super::Session::poll_timeout)
//! is [`TimerTable::next`] and nothing can be forgotten in it.
//!
//! The login and data deadlines are set where they start (USER, REIN, a
//! transfer's 150, each chunk of progress). The idle, unused-passive and
//! held-login timers follow from the session's state and are written by
//! `Session::sync_timers` at the end of every entry point, so a timer is
//! armed exactly while its state lasts (an idle timer during a transfer
//! would wake the driver for nothing, again and again).

use std::time::Instant;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Not logged in by then: 421 (SECURITY.md C2).
    Login,
    /// The data connection did not come, or a transfer made no progress
    /// (SECURITY.md C2, X3).
    Data,
    /// A held login reply goes out (SECURITY.md A1).
    Penalty,
    /// An idle session is closed (RFC 959 5.4: 421).
    Idle,
    /// An unused passive listener of an idle session is closed (SECURITY.md
    /// C2, D6).
    UnusedPassive,
    /// A command line begun but not ended in time: 421 (SECURITY.md C1, a
    /// slow-loris client that keeps the idle timer from ever firing).
    Line,
}

impl Timer {
    const COUNT: usize = 6;

    const fn slot(self) -> usize {
        match self {
            Self::Login => 0,
            Self::Data => 1,
            Self::Penalty => 2,
            Self::Idle => 3,
            Self::UnusedPassive => 4,
            Self::Line => 5,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default)]
pub(super) struct TimerTable {
    at: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` for `at`, or stops it with `None`.
    pub(super) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.at[timer.slot()] = at;
    }

    /// Stops `timer`.
    pub(super) fn stop(&mut self, timer: Timer) {
        self.set(timer, None);
    }

    /// When `timer` fires, if armed.
    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.slot()]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| now >= at)
    }

    /// The earliest armed deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The table answers the earliest armed deadline; stopped timers count
    /// for nothing.
    #[test]
    #[allow(clippy::disallowed_methods)] // a test needs some instant to start from
    fn next_is_the_earliest_armed_timer() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::Idle, Some(t0 + Duration::from_secs(300)));
        timers.set(Timer::Login, Some(t0 + Duration::from_secs(60)));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(60)));
        assert!(timers.is_due(Timer::Login, t0 + Duration::from_secs(60)));
        assert!(!timers.is_due(Timer::Idle, t0 + Duration::from_secs(60)));
        timers.stop(Timer::Login);
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(300)));
        assert!(!timers.is_due(Timer::Data, t0 + Duration::from_secs(1000)));
    }
}
