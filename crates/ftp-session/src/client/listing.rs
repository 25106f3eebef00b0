//! Directory listings over a data connection: which command to send and
//! how to read what came back. The session only negotiates the transfer;
//! parsing the bytes is the caller's choice, so it is a free function.

use bytes::Bytes;
use ftp_proto::Timestamp;

/// The listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListCommand {
    /// MLSD when the server offers MLST, else LIST (RFC 3659 7).
    Auto,
    /// `LIST`.
    List,
    /// `NLST`.
    Nlst,
    /// `MLSD`.
    Mlsd,
}

/// Parses what a listing transfer received, with the parser for the command
/// that was sent ([`Session::list_command`](super::Session::list_command)): MLSD lines by RFC 3659 7 facts,
/// LIST lines by auto-detection (Unix, DOS, EPLF, VMS, OS/400, MVS, NetWare;
/// `now` resolves Unix dates without a year), NLST lines as bare names of
/// unknown kind. Lines that carry no entry or that no parser recognises are
/// skipped (SECURITY.md R4: never a wrong entry).
///
/// ```
/// use bytes::Bytes;
/// use ftp_proto::Timestamp;
/// use ftp_session::client::{parse_listing, ListCommand};
///
/// let body = Bytes::from_static(b"type=file;size=3;modify=20240101120000; a b.txt\r\ntype=dir; docs\r\n");
/// let now = Timestamp::new(2024, 6, 1, 0, 0, 0).unwrap();
/// let entries = parse_listing(&body, ListCommand::Mlsd, now);
/// assert_eq!(entries[0].name(), b"a b.txt");
/// assert_eq!(entries[0].size(), Some(3));
/// ```
#[must_use]
pub fn parse_listing(body: &Bytes, command: ListCommand, now: Timestamp) -> Vec<ftp_proto::listing::Entry> {
    use ftp_proto::listing::{self, Entry, EntryKind, listing_lines};
    match command {
        ListCommand::Mlsd => listing_lines(body).filter_map(|l| listing::parse_mlsx(&l).ok()).collect(),
        ListCommand::Nlst => listing_lines(body).map(|name| Entry::new(name, EntryKind::Other(Bytes::new()))).collect(),
        _ => listing::parse_list(body, now),
    }
}
