//! One transfer (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) as an enum of
//! steps, each carrying only what that step knows (the shape of rustls's
//! `client/hs.rs`), so that a data connection cannot be "connected" before
//! it exists, a byte count cannot arrive before the bytes were asked to
//! move, and a final reply cannot be both awaited and received.
//!
//! | Step | Sent / emitted | Waits for | Next |
//! |---|---|---|---|
//! | `Size` | `SIZE` (resumed download) | any reply | `Type` or the setup |
//! | `Type` | `TYPE` | 200 | the setup |
//! | `Epsv` / `Pasv` | `EPSV` / `PASV` | 229 / 227 (500/502 to EPSV: `Pasv`) | `Connecting` |
//! | `Listening` | `Listen` | `Listening` | `Port` |
//! | `Port` | `PORT` / `EPRT` | 200 | `Rest` or `Command` |
//! | `Connecting` | `Connect` | `Connected` (failed: `Pasv` after EPSV, or the control peer after a 227 elsewhere) | `Rest` or `Command` |
//! | `Rest` | `REST` | 350 | `Command` |
//! | `Command` | the command | 1xx (or a final reply at once) | `Moving`, `Accepting`, `EarlyFinal` or done |
//! | `Accepting` | | the server's connection (active mode) | `Moving` |
//! | `Moving` | `Transfer` | 2xx or the data side's end | `AwaitData` / `AwaitReply` |
//! | `EarlyFinal` | | a 1xx (the data is never asked for otherwise) | `AwaitData` |
//! | `FinalAccepting` | | the server's connection, after its 2xx | `AwaitData` |
//! | `AwaitData` | | the data side's end | done |
//! | `EarlyEnd` | | a 1xx or 2xx (the data end came first, out of turn) | `AwaitReply` or done |
//! | `AwaitReply` | | 2xx | done |
//! | `Aborting` | urgent IP DM, `ABOR` | 426 then 2xx, or 2xx, or 225 | done |
//!
//! The transitions after the command is sent are pure functions of the step
//! (`on_preliminary`, `on_final_ok`, `on_accepted`, `on_data_end`); the
//! session carries out the [`Next`] they return.

use ftp_proto::Command;

use super::data::{DataId, Direction};

/// A data connection set up for a transfer, before any byte moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// Not open yet: connecting (passive), or the server has not connected
    /// (active mode; it does so around its 1xx).
    Pending(DataId),
    /// Open: connected (passive) or accepted from the server (active).
    Open(DataId),
}

impl Link {
    /// The connection's id, open or not.
    pub(super) fn id(self) -> DataId {
        match self {
            Self::Pending(id) | Self::Open(id) => id,
        }
    }
}

/// How the data side ended, as the caller reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataEnd {
    /// All bytes moved: this many.
    Finished(u64),
    /// The data connection broke.
    Failed,
}

/// Where a transfer is. See the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// `SIZE` sent before a resumed download, to detect a short one.
    Size,
    /// `TYPE` sent.
    Type,
    /// `EPSV` sent.
    Epsv,
    /// `PASV` sent.
    Pasv,
    /// Active mode: the listener is being opened.
    Listening(Link),
    /// `PORT`/`EPRT` sent.
    Port(Link),
    /// Passive mode: connecting to the server's port.
    Connecting(Link),
    /// `REST` sent.
    Rest(Link),
    /// The transfer command sent; no 1xx yet.
    Command(Link),
    /// A 1xx arrived; the server's connection (active mode) has not.
    Accepting(DataId),
    /// `DataAction::Transfer` emitted; neither the final reply nor the data
    /// side's end is known.
    Moving(DataId),
    /// A 2xx arrived before any 1xx on an open connection: the data is
    /// asked for only if a 1xx follows.
    EarlyFinal(DataId),
    /// A 1xx, then the 2xx, and the server's connection not accepted yet
    /// (the 226 overtook our accept).
    FinalAccepting(DataId),
    /// The 2xx arrived; the data side is still moving.
    AwaitData(DataId),
    /// The data side was reported ended before any 1xx (the bytes were
    /// never asked for: a driver's mistake, kept apart so that a later 150
    /// still announces the size).
    EarlyEnd(DataEnd),
    /// The data side ended first; the final reply is awaited.
    AwaitReply(DataEnd),
    /// `ABOR` sent; `got_426` once the 426 of the aborted transfer came.
    Aborting {
        /// The 426 arrived (a second one is a refusal).
        got_426: bool,
    },
}

/// What the session does after a transition after the command was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Go on in this step.
    Wait(Step),
    /// Go on in this step, and hand the data connection the bytes now
    /// (`DataAction::Transfer`).
    Move(Step),
    /// The transfer is over; the data side ended so.
    Done(DataEnd),
    /// The transfer is over with nothing moved: a final reply with no
    /// preliminary one and no data connection (an empty listing some
    /// servers answer at once).
    Empty,
}

/// What to do with a connection the server made to our listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Accept {
    /// Take it and go on in this step (moving the bytes if `Next::Move`).
    Take(Next),
    /// Refuse it: the transfer has its connection already (SECURITY.md
    /// D4: a second one would get a second `Transfer`).
    Reject,
}

impl Step {
    /// The data connection the step holds, whose events it listens to (and
    /// which is closed when the transfer ends).
    pub(super) fn data(self) -> Option<DataId> {
        match self {
            Self::Listening(l) | Self::Port(l) | Self::Connecting(l) | Self::Rest(l) | Self::Command(l) => Some(l.id()),
            Self::Accepting(id)
            | Self::Moving(id)
            | Self::EarlyFinal(id)
            | Self::FinalAccepting(id)
            | Self::AwaitData(id) => Some(id),
            Self::Size
            | Self::Type
            | Self::Epsv
            | Self::Pasv
            | Self::EarlyEnd(_)
            | Self::AwaitReply(_)
            | Self::Aborting { .. } => None,
        }
    }

    /// Whether the transfer command was sent and no 1xx came yet: the step
    /// where a 150 may announce the size.
    pub(super) fn awaits_preliminary(self) -> bool {
        matches!(self, Self::Command(_) | Self::EarlyFinal(_) | Self::EarlyEnd(_))
    }

    /// Whether the command was sent and the transfer not aborted: the steps
    /// [`Session::abort`](super::Session::abort) may interrupt and where
    /// replies belong to the transfer command.
    pub(super) fn commanded(self) -> bool {
        matches!(
            self,
            Self::Command(_)
                | Self::Accepting(_)
                | Self::Moving(_)
                | Self::EarlyFinal(_)
                | Self::FinalAccepting(_)
                | Self::AwaitData(_)
                | Self::EarlyEnd(_)
                | Self::AwaitReply(_)
        )
    }

    /// A 1xx to the transfer command (or a later one: 110 markers): an open
    /// connection starts moving at the first.
    pub(super) fn on_preliminary(self) -> Next {
        match self {
            Self::Command(Link::Open(id)) => Next::Move(Self::Moving(id)),
            Self::Command(Link::Pending(id)) => Next::Wait(Self::Accepting(id)),
            Self::EarlyFinal(id) => Next::Move(Self::AwaitData(id)),
            Self::EarlyEnd(end) => Next::Wait(Self::AwaitReply(end)),
            other => Next::Wait(other),
        }
    }

    /// A 2xx to the transfer command: done when nothing else is awaited.
    pub(super) fn on_final_ok(self) -> Next {
        match self {
            Self::Command(Link::Pending(_)) => Next::Empty,
            Self::Command(Link::Open(id)) => Next::Wait(Self::EarlyFinal(id)),
            Self::Accepting(id) | Self::FinalAccepting(id) => Next::Wait(Self::FinalAccepting(id)),
            Self::Moving(id) => Next::Wait(Self::AwaitData(id)),
            Self::EarlyEnd(end) | Self::AwaitReply(end) => Next::Done(end),
            other => Next::Wait(other),
        }
    }

    /// A connection from the server's address arrived on the listener.
    pub(super) fn on_accepted(self) -> Accept {
        let open = |l: Link, step: fn(Link) -> Self| match l {
            Link::Pending(id) => Accept::Take(Next::Wait(step(Link::Open(id)))),
            Link::Open(_) => Accept::Reject,
        };
        match self {
            Self::Listening(l) => open(l, Self::Listening),
            Self::Port(l) => open(l, Self::Port),
            Self::Connecting(l) => open(l, Self::Connecting),
            Self::Rest(l) => open(l, Self::Rest),
            Self::Command(l) => open(l, Self::Command),
            Self::Accepting(id) => Accept::Take(Next::Move(Self::Moving(id))),
            Self::FinalAccepting(id) => Accept::Take(Next::Move(Self::AwaitData(id))),
            _ => Accept::Reject,
        }
    }

    /// The caller reported the data side's end; `None` when the bytes were
    /// never asked for in this step, so the report cannot be about them.
    pub(super) fn on_data_end(self, end: DataEnd) -> Option<Next> {
        match self {
            Self::Command(_) => Some(Next::Wait(Self::EarlyEnd(end))),
            Self::Accepting(_) | Self::Moving(_) => Some(Next::Wait(Self::AwaitReply(end))),
            Self::EarlyFinal(_) | Self::FinalAccepting(_) | Self::AwaitData(_) => Some(Next::Done(end)),
            _ => None,
        }
    }
}

/// A transfer operation: what was asked, and its [`Step`].
#[derive(Debug, Clone)]
pub(super) struct Transfer {
    /// The command that moves the data (`RETR path`, `LIST`...).
    pub(super) command: Command,
    /// Which way the bytes go.
    pub(super) direction: Direction,
    /// TYPE A rather than TYPE I.
    pub(super) ascii: bool,
    /// The REST offset (0: none).
    pub(super) offset: u64,
    /// The size announced by SIZE or the 150 reply, to detect a short
    /// download (SECURITY.md R5).
    pub(super) expected: Option<u64>,
    /// Where the transfer is.
    pub(super) step: Step,
    /// What to try if the passive connection now being made fails.
    pub(super) retry: Retry,
}

/// What a passive transfer tries when its data connection cannot be made
/// (refused, or no answer within the connect timeout), as curl does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Nothing: the transfer fails with a data-connection error.
    Nothing,
    /// The port came from a 229: send PASV instead, on the same control
    /// connection, and for the rest of the session (a middlebox that
    /// passes EPSV but not its connections, PEERS.md section 5).
    Pasv,
    /// The 227 address (trusted by the policy) was not the control
    /// connection's peer: try its port on the peer (RFC 1123 4.1.2.6: a
    /// server behind NAT reports an address nobody can reach).
    ControlPeer(u16),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: DataId = DataId(7);

    #[test]
    fn a_preliminary_moves_an_open_connection_only() {
        assert_eq!(Step::Command(Link::Open(ID)).on_preliminary(), Next::Move(Step::Moving(ID)));
        assert_eq!(Step::Command(Link::Pending(ID)).on_preliminary(), Next::Wait(Step::Accepting(ID)));
        assert_eq!(Step::EarlyFinal(ID).on_preliminary(), Next::Move(Step::AwaitData(ID)));
        // 110 markers while moving change nothing.
        assert_eq!(Step::Moving(ID).on_preliminary(), Next::Wait(Step::Moving(ID)));
        assert_eq!(Step::Accepting(ID).on_preliminary(), Next::Wait(Step::Accepting(ID)));
    }

    #[test]
    fn the_final_reply_and_the_data_end_join_in_either_order() {
        let end = DataEnd::Finished(5);
        // Reply first, then data.
        let Next::Wait(step) = Step::Moving(ID).on_final_ok() else { panic!() };
        assert_eq!(step, Step::AwaitData(ID));
        assert_eq!(step.on_data_end(end), Some(Next::Done(end)));
        // Data first, then reply.
        let Some(Next::Wait(step)) = Step::Moving(ID).on_data_end(end) else { panic!() };
        assert_eq!(step, Step::AwaitReply(end));
        assert_eq!(step.on_final_ok(), Next::Done(end));
        assert_eq!(step.data(), None, "the data connection is closed once it ended");
    }

    #[test]
    fn a_final_reply_at_once_ends_a_transfer_without_connection() {
        assert_eq!(Step::Command(Link::Pending(ID)).on_final_ok(), Next::Empty);
        // On an open connection the data is still awaited.
        assert_eq!(Step::Command(Link::Open(ID)).on_final_ok(), Next::Wait(Step::EarlyFinal(ID)));
    }

    #[test]
    fn a_226_overtaking_the_accept_waits_for_the_connection() {
        let Next::Wait(step) = Step::Accepting(ID).on_final_ok() else { panic!() };
        assert_eq!(step, Step::FinalAccepting(ID));
        assert_eq!(step.on_final_ok(), Next::Wait(step));
        assert_eq!(step.on_accepted(), Accept::Take(Next::Move(Step::AwaitData(ID))));
    }

    #[test]
    fn only_one_connection_is_accepted() {
        assert_eq!(
            Step::Command(Link::Pending(ID)).on_accepted(),
            Accept::Take(Next::Wait(Step::Command(Link::Open(ID))))
        );
        assert_eq!(Step::Command(Link::Open(ID)).on_accepted(), Accept::Reject);
        assert_eq!(Step::Port(Link::Pending(ID)).on_accepted(), Accept::Take(Next::Wait(Step::Port(Link::Open(ID)))));
        assert_eq!(Step::Accepting(ID).on_accepted(), Accept::Take(Next::Move(Step::Moving(ID))));
        for step in [Step::Moving(ID), Step::AwaitData(ID), Step::EarlyFinal(ID)] {
            assert_eq!(step.on_accepted(), Accept::Reject, "{step:?}");
        }
    }

    #[test]
    fn a_data_end_before_the_command_is_not_about_this_transfer() {
        for step in
            [Step::Listening(Link::Open(ID)), Step::Port(Link::Pending(ID)), Step::Connecting(Link::Pending(ID))]
        {
            assert_eq!(step.on_data_end(DataEnd::Failed), None, "{step:?}");
        }
        assert_eq!(Step::Aborting { got_426: false }.on_data_end(DataEnd::Failed), None);
    }

    #[test]
    fn a_data_end_before_the_preliminary_still_takes_its_size() {
        let end = DataEnd::Finished(3);
        let Some(Next::Wait(step)) = Step::Command(Link::Open(ID)).on_data_end(end) else { panic!() };
        assert_eq!(step, Step::EarlyEnd(end));
        assert!(step.awaits_preliminary() && step.commanded());
        assert_eq!(step.data(), None);
        assert_eq!(step.on_preliminary(), Next::Wait(Step::AwaitReply(end)));
        assert_eq!(step.on_final_ok(), Next::Done(end));
    }

    #[test]
    fn steps_know_their_connection() {
        assert_eq!(Step::Rest(Link::Pending(ID)).data(), Some(ID));
        assert_eq!(Step::FinalAccepting(ID).data(), Some(ID));
        assert_eq!(Step::Epsv.data(), None);
        assert!(Step::AwaitReply(DataEnd::Failed).commanded());
        assert!(!Step::Rest(Link::Open(ID)).commanded());
        assert!(Step::EarlyFinal(ID).awaits_preliminary());
        assert!(!Step::Moving(ID).awaits_preliminary());
    }
}
