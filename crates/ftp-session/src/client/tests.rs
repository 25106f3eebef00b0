//! Session-level checks of the transfer steps a driver reaches only by
//! reporting data events out of turn (the transcripts in
//! `tests/client.rs` follow the contract).

use super::*;

/// Feeds `input` and drains to `Wait`.
fn feed(s: &mut Session, now: Instant, input: Input<'_>) -> Vec<Output> {
    s.handle_input(now, input).expect("input taken");
    drain(s)
}

fn drain(s: &mut Session) -> Vec<Output> {
    let mut out = Vec::new();
    loop {
        match s.poll_output() {
            Output::Wait(_) => return out,
            o => out.push(o),
        }
    }
}

/// A greeted session with a passive `RETR f` whose data connection is
/// open and whose `RETR` went out; returns the data id.
fn retr_sent(s: &mut Session, now: Instant) -> DataId {
    feed(s, now, Input::Control(b"220 ready\r\n"));
    s.retrieve(now, &Pathname::try_from("f").expect("valid"), 0).expect("starts");
    drain(s);
    feed(s, now, Input::Control(b"200 ok\r\n"));
    let out = feed(s, now, Input::Control(b"229 (|||50000|)\r\n"));
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Data(DataAction::Connect { id, .. }) => Some(*id),
            _ => None,
        })
        .expect("a Connect");
    feed(s, now, Input::Data(id, DataEvent::Connected));
    id
}

fn completed(out: &[Output]) -> Option<&Result<OpOutput, OpError>> {
    out.iter().find_map(|o| match o {
        Output::Event(Event::OpCompleted { result, .. }) => Some(result),
        _ => None,
    })
}

#[allow(clippy::disallowed_methods)] // A test picks its starting instant.
fn start() -> (Session, Instant) {
    let now = Instant::now();
    (Session::new(ClientConfig::default().auto_feat(false), "127.0.0.1:21".parse().expect("valid"), now), now)
}

/// A data end reported before the 1xx is kept (`Step::EarlyEnd`), and
/// the 150 that follows still announces the size: 43 of 100 bytes is a
/// short download (SECURITY.md R5), as before the steps were an enum.
#[test]
fn a_data_end_before_the_150_keeps_the_announced_size() {
    let (mut s, now) = start();
    let id = retr_sent(&mut s, now);
    assert!(feed(&mut s, now, Input::Data(id, DataEvent::Finished { bytes: 43 })).is_empty());
    feed(&mut s, now, Input::Control(b"150 Opening BINARY mode data connection (100 bytes).\r\n"));
    let out = feed(&mut s, now, Input::Control(b"226 Transfer complete\r\n"));
    assert_eq!(completed(&out), Some(&Err(OpError::Partial { expected: 100, received: 43 })));
}

/// A data end reported while the connection is still being set up is
/// not about this transfer's bytes (none were asked for): it is
/// ignored, and the transfer goes on to ask for them.
#[test]
fn a_data_end_before_the_command_is_ignored() {
    let (mut s, now) = start();
    feed(&mut s, now, Input::Control(b"220 ready\r\n"));
    s.retrieve(now, &Pathname::try_from("f").expect("valid"), 0).expect("starts");
    drain(&mut s);
    feed(&mut s, now, Input::Control(b"200 ok\r\n"));
    let out = feed(&mut s, now, Input::Control(b"229 (|||50000|)\r\n"));
    let Some(Output::Data(DataAction::Connect { id, .. })) = out.last() else { panic!("{out:?}") };
    let id = *id;
    assert!(feed(&mut s, now, Input::Data(id, DataEvent::Failed { bytes: 0 })).is_empty());
    feed(&mut s, now, Input::Data(id, DataEvent::Connected));
    let out = feed(&mut s, now, Input::Control(b"150 ok\r\n"));
    assert!(out.iter().any(|o| matches!(o, Output::Data(DataAction::Transfer { id: t, .. }) if *t == id)), "{out:?}");
    feed(&mut s, now, Input::Data(id, DataEvent::Finished { bytes: 5 }));
    let out = feed(&mut s, now, Input::Control(b"226 Transfer complete\r\n"));
    assert_eq!(completed(&out), Some(&Ok(OpOutput::Transferred { bytes: 5 })));
}
