//! Vocabulary both roles share, defined once so that a driver handling
//! both (a proxy, a test pair) sees one type, not two that only look alike.
//! Each role re-exports what it uses (`server::DataId`, `client::DataId`).

/// Names one data connection: on the server a passive listener or an active
/// target, on the client one connect or listen. Ids are never reused within
/// a session, so a late event for a closed connection cannot be mistaken
/// for one about the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataId(pub(crate) u64);
