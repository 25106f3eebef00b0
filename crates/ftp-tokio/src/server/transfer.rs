//! Moving bytes on a data connection: a listing, a download or an upload,
//! with TYPE A conversion, progress reports and the end of the transfer
//! (SECURITY.md L7, X3).

use super::sendfile::{self, Sent};
use super::socket::{DataSocket, Unsent};
use super::splice::{self, Spliced};
use super::upload;
#[allow(clippy::wildcard_imports)]
use super::*;
use crate::sink::SinkParts;
use crate::source::Parts;

/// The prepared source or sink of a transfer.
pub(super) enum Job {
    Read(FileSource, bool),
    /// An upload; with [`ServerOptions::atomic_uploads`], into a temporary
    /// file that the [`Commit`] renames over the target once the upload
    /// completed.
    Write(FileSink, bool, Option<Commit>),
    /// A listing, formatted and sent chunk by chunk (see [`Listing`]).
    Listing {
        listing: Listing,
        format: ListFormat,
        facts: Vec<&'static str>,
        now: ftp_proto::Timestamp,
        /// What the user may do, to which each entry's `perm` is narrowed.
        access: Access,
        /// `NLST dir/*.txt`: only the entries that match, renamed.
        matching: Option<Matching>,
    },
}

/// Reports a running transfer's byte count to the connection task, at most
/// once per [`PROGRESS_INTERVAL`].
pub(super) struct Progress {
    /// Where the count goes (none in the unit tests of the senders).
    to: Option<(super::conn::Notes, DataId)>,
    last: Instant,
    /// The bytes moved so far, for the transfer's log entry should the
    /// transfer be cut before it reports its end.
    moved: Arc<AtomicU64>,
}

impl Progress {
    /// Progress of the transfer on data connection `id`, reported on `tx`
    /// and kept in `moved`.
    pub(super) fn new(tx: super::conn::Notes, id: DataId, moved: Arc<AtomicU64>) -> Self {
        Self { to: Some((tx, id)), last: Instant::now(), moved }
    }

    /// Progress kept in `moved` only, reported to no connection.
    #[cfg(test)]
    pub(super) fn unreported(moved: Arc<AtomicU64>) -> Self {
        Self { to: None, last: Instant::now(), moved }
    }

    pub(super) fn moved(&mut self, total: u64) {
        self.moved.store(total, Ordering::Relaxed);
        if let Some((tx, id)) = &self.to
            && self.last.elapsed() >= PROGRESS_INTERVAL
        {
            self.last = Instant::now();
            let _ = tx.send(Box::new(Note::Progress(*id, total)));
        }
    }
}

/// Which end of a copy failed, and after how many bytes.
pub(super) struct Broken {
    bytes: u64,
    /// The source failed (else the destination).
    reading: bool,
    /// How the storage failed, when it did: a full disk and a quota have
    /// replies of their own (452, 552), anything else is 451.
    storage: DataFailure,
}

impl Broken {
    /// `bytes` moved before the source (`reading`) or the destination failed.
    pub(super) fn new(bytes: u64, reading: bool) -> Self {
        Self { bytes, reading, storage: DataFailure::Storage }
    }

    /// `bytes` moved before writing to the storage failed with `error`.
    pub(super) fn writing(bytes: u64, error: &io::Error) -> Self {
        Self { bytes, reading: false, storage: storage_failure(error) }
    }
}

/// The failure a storage error stands for: `ENOSPC` is a full disk (452),
/// `EDQUOT` a quota (552, as [`crate::homes`]'s own quota reports it).
pub(super) fn storage_failure(error: &io::Error) -> DataFailure {
    match error.raw_os_error() {
        Some(libc::ENOSPC) => DataFailure::StorageFull,
        Some(libc::EDQUOT) => DataFailure::QuotaExceeded,
        _ if error.kind() == io::ErrorKind::StorageFull => DataFailure::StorageFull,
        _ if error.kind() == io::ErrorKind::QuotaExceeded => DataFailure::QuotaExceeded,
        _ => DataFailure::Storage,
    }
}

/// Moves one transfer's bytes and reports how it ended: a broken data
/// connection (a reset included) is 426, a failing storage 451; only a
/// transfer that reached its end (and, for an upload, whose sink flushed)
/// is `Finished`. Under TLS, an upload whose peer closed without
/// close_notify is reported as `FinishedWithoutCloseNotify`: the session
/// accepts it, flagged as possibly truncated, or refuses it when so
/// configured (SECURITY.md L7; vsftpd `strict_ssl_read_eof`).
pub(super) async fn transfer<S>(mut stream: S, job: Job, tls: bool, mut progress: Progress) -> DataEvent
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let result = match job {
        Job::Listing { mut listing, format, facts, now, access, matching } => {
            let mut sent = 0u64;
            loop {
                match listing.next_chunk().await {
                    None => break Ok(sent),
                    Some(Err(_)) => break Err(DataEvent::Failed { bytes: sent, reason: DataFailure::Storage }),
                    Some(Ok(entries)) => {
                        let mut entries = match &matching {
                            Some(matching) => matching.apply(entries),
                            None => entries,
                        };
                        if entries.is_empty() {
                            continue;
                        }
                        narrow_perms(&mut entries, access);
                        let bytes = format_listing(&entries, format, &facts, now);
                        if stream.write_all(&bytes).await.is_err() {
                            break Err(DataEvent::Failed { bytes: sent, reason: DataFailure::ConnectionLost });
                        }
                        sent += bytes.len() as u64;
                        progress.moved(sent);
                    }
                }
            }
        }
        Job::Read(file, ascii) => send(file, ascii, &mut stream, &mut progress).await,
        Job::Write(file, ascii, commit) => {
            let received = receive(&mut stream, file, ascii, tls, &mut progress).await;
            return uploaded(&mut stream, received, commit).await;
        }
    };
    match result {
        Ok(bytes) => {
            let _ = stream.shutdown().await;
            DataEvent::Finished { bytes }
        }
        Err(event) => event,
    }
}

/// The end of an upload: its commit (the rename of an atomic upload) and
/// the event to report.
async fn uploaded<S>(stream: &mut S, received: Result<Copied, Broken>, commit: Option<Commit>) -> DataEvent
where
    S: AsyncWrite + Unpin,
{
    match received {
        Ok(c) => {
            // A possibly truncated upload (no close_notify, L7) takes the
            // target's name only when such uploads are accepted; else its
            // temporary file goes.
            let confirmed = !c.without_close_notify;
            if let Some(commit) = commit.filter(|commit| confirmed || commit.keeps_unconfirmed())
                && commit.finish().await.is_err()
            {
                return DataEvent::Failed { bytes: c.bytes, reason: DataFailure::Storage };
            }
            let _ = stream.shutdown().await;
            if confirmed {
                DataEvent::Finished { bytes: c.bytes }
            } else {
                DataEvent::FinishedWithoutCloseNotify { bytes: c.bytes }
            }
        }
        Err(b) => DataEvent::Failed {
            bytes: b.bytes,
            reason: if b.reading { DataFailure::ConnectionLost } else { b.storage },
        },
    }
}

/// A download's bytes onto the data connection: in one write when they are
/// in memory and need no conversion, else through [`copy`].
async fn send<S>(file: FileSource, ascii: bool, stream: &mut S, progress: &mut Progress) -> Result<u64, DataEvent>
where
    S: AsyncWrite + Unpin,
{
    let mut file = match (file.into_parts(), ascii) {
        (Parts::Bytes(bytes), false) => {
            return match stream.write_all(&bytes).await {
                Ok(()) => Ok(bytes.len() as u64),
                Err(_) => Err(DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost }),
            };
        }
        (parts, _) => parts.into_source(),
    };
    let mode = if ascii { Ascii::ToWire(ToWire::default()) } else { Ascii::Off };
    copy(&mut file, stream, mode, false, progress).await.map(|c| c.bytes).map_err(|b| DataEvent::Failed {
        bytes: b.bytes,
        reason: if b.reading { DataFailure::Storage } else { DataFailure::ConnectionLost },
    })
}

/// An upload from the data connection into `file`, flushed (and closed)
/// before it counts as received: a local file in TYPE I through
/// [`upload::receive`], everything else through [`copy`].
async fn receive<S>(
    stream: &mut S,
    file: FileSink,
    ascii: bool,
    tls: bool,
    progress: &mut Progress,
) -> Result<Copied, Broken>
where
    S: AsyncRead + Unpin,
{
    let mut file = match (file.into_parts(), ascii) {
        (SinkParts::File(file), false) => {
            return upload::receive(stream, file.into_std().await, 0, tls, progress).await;
        }
        (parts, _) => parts.into_sink(),
    };
    let mode = if ascii { Ascii::FromWire(FromWire::default()) } else { Ascii::Off };
    let copied = copy(stream, &mut file, mode, tls, progress).await?;
    match file.flush().await {
        Ok(()) => Ok(copied),
        Err(e) => Err(Broken::writing(copied.bytes, &e)),
    }
}

/// `send(2)` flags: on Linux a closed connection is an error, not SIGPIPE
/// (elsewhere Rust programs ignore SIGPIPE from the start).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) const NO_SIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) const NO_SIGNAL: libc::c_int = 0;

/// A small file read whole ([`FileSource`]'s bytes), sent straight on the
/// socket: at once where the socket buffer takes it all (see
/// [`DataSocket::send_whole`]), else the rest as the socket drains.
pub(super) async fn send_bytes(socket: DataSocket, bytes: Bytes, progress: Progress) -> DataEvent {
    match socket.send_whole(&bytes) {
        Ok(sent) => sent_whole(sent, &bytes),
        Err(Unsent { socket, sent }) => send_rest(socket, bytes, sent, progress).await,
    }
}

/// How a small file sent whole at once ended ([`DataSocket::send_whole`]).
pub(super) fn sent_whole(sent: io::Result<()>, bytes: &Bytes) -> DataEvent {
    match sent {
        Ok(()) => DataEvent::Finished { bytes: bytes.len() as u64 },
        Err(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost },
    }
}

/// The rest of a small file whose first `sent` bytes the socket took at
/// once (its buffer was fuller, or smaller, than the file).
pub(super) async fn send_rest(socket: DataSocket, bytes: Bytes, sent: usize, mut progress: Progress) -> DataEvent {
    let lost = DataEvent::Failed { bytes: sent as u64, reason: DataFailure::ConnectionLost };
    let Ok(mut tcp) = socket.watched() else { return lost };
    progress.moved(sent as u64);
    match tcp.write_all(&bytes[sent..]).await {
        Ok(()) => {
            let _ = tcp.shutdown().await;
            DataEvent::Finished { bytes: bytes.len() as u64 }
        }
        Err(_) => lost,
    }
}

/// A transfer on a plaintext data connection: a small file read whole in
/// one send, before (and mostly without) any registration with the event
/// loop; a local file in TYPE I with `sendfile(2)` (see [`FileSource`]),
/// or read and sent in chunks to a client on this machine (`local`, see
/// [`sendfile::send_read`]); an upload to one with `splice(2)`; everything
/// else as [`transfer`].
pub(super) async fn transfer_plain(socket: DataSocket, job: Job, local: bool, mut progress: Progress) -> DataEvent {
    let lost = DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost };
    match job {
        Job::Read(file, false) => match file.into_parts() {
            Parts::Bytes(bytes) => send_bytes(socket, bytes, progress).await,
            Parts::File(file) => {
                let Ok(mut tcp) = socket.watched() else { return lost };
                let sent = if local {
                    sendfile::send_read(&tcp, &file, &mut progress).await
                } else {
                    sendfile::send(&tcp, &file, &mut progress).await
                };
                match sent {
                    Sent::All(bytes) => {
                        let _ = tcp.shutdown().await;
                        DataEvent::Finished { bytes }
                    }
                    Sent::Failed(event) => event,
                    // Not a file the kernel can send from: read it instead.
                    Sent::Unsupported => transfer(tcp, Job::Read(FileSource::from(file), false), false, progress).await,
                }
            }
            parts => transfer_watched(socket, Job::Read(parts.into_source(), false), progress).await,
        },
        // A local file in TYPE I: spliced from the socket (one copy, not
        // two), or copied from where the splice had to stop.
        Job::Write(sink, false, commit) => match sink.into_parts() {
            SinkParts::File(file) => {
                let Ok(mut tcp) = socket.watched() else { return lost };
                let file = file.into_std().await;
                let received = match splice::receive(&tcp, &file, &mut progress).await {
                    Spliced::All(bytes) => Ok(Copied::new(bytes, false)),
                    Spliced::Failed(broken) => Err(broken),
                    Spliced::Fallback(done) => upload::receive(&mut tcp, file, done, false, &mut progress).await,
                };
                uploaded(&mut tcp, received, commit).await
            }
            parts => transfer_watched(socket, Job::Write(parts.into_sink(), false, commit), progress).await,
        },
        job => transfer_watched(socket, job, progress).await,
    }
}

/// [`transfer`] on the socket, registered with the event loop.
async fn transfer_watched(socket: DataSocket, job: Job, progress: Progress) -> DataEvent {
    match socket.watched() {
        Ok(tcp) => transfer(tcp, job, false, progress).await,
        Err(_) => DataEvent::Failed { bytes: 0, reason: DataFailure::ConnectionLost },
    }
}

pub(super) enum Ascii {
    Off,
    /// LF to CRLF (TYPE A downloads, RFC 959 3.1.1.1).
    ToWire(ToWire),
    /// CRLF to LF (TYPE A uploads).
    FromWire(FromWire),
}

/// How a copy that reached the end of its source ended.
pub(super) struct Copied {
    bytes: u64,
    /// The source was TLS and ended without close_notify (SECURITY.md L7).
    without_close_notify: bool,
}

impl Copied {
    /// `bytes` moved to the end of the source, which was a TLS stream that
    /// ended `without_close_notify` or not.
    pub(super) fn new(bytes: u64, without_close_notify: bool) -> Self {
        Self { bytes, without_close_notify }
    }
}

/// Copies with a large buffer; converts line ends only in TYPE A. With
/// `tls_source`, a TLS stream that ends without close_notify (rustls
/// reports `UnexpectedEof`) counts as the end, marked in the result.
pub(super) async fn copy<R, W>(
    from: &mut R,
    to: &mut W,
    ascii: Ascii,
    tls_source: bool,
    progress: &mut Progress,
) -> Result<Copied, Broken>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = Buffer::new();
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut ascii = ascii;
    let mut without_close_notify = false;
    loop {
        let n = match from.read_buf(buf.next()).await {
            Err(e) if tls_source && e.kind() == io::ErrorKind::UnexpectedEof => {
                without_close_notify = true;
                0
            }
            Ok(n) => n,
            Err(_) => return Err(Broken::new(total, true)),
        };
        let wrote = if n == 0 {
            // A CR held back by the upload conversion was not part of a CRLF.
            match &mut ascii {
                Ascii::FromWire(c) => to.write_all(c.finish()).await,
                _ => Ok(()),
            }
        } else {
            match &mut ascii {
                Ascii::Off => to.write_all(&buf[..n]).await,
                Ascii::ToWire(c) => {
                    c.convert(&buf[..n], &mut out);
                    to.write_all(&out).await
                }
                Ascii::FromWire(c) => {
                    c.convert(&buf[..n], &mut out);
                    to.write_all(&out).await
                }
            }
        };
        if let Err(e) = wrote {
            return Err(Broken::writing(total, &e));
        }
        if n == 0 {
            return Ok(Copied { bytes: total, without_close_notify });
        }
        total += n as u64;
        progress.moved(total);
    }
}
