//! The storage's answer to a request: what the session asked, carried out
//! on the [`Storage`] for the user asking, after the server's own write
//! check. Its `match` on `RequestKind` has no catch-all, so a new request
//! kind does not build until it is answered here.

#[allow(clippy::wildcard_imports)]
use super::*;
use ftp_session::server::{Umask, VirtualPath};

pub(super) fn failed(e: StorageError) -> (Answer, Option<Job>) {
    (Answer::Failed(e), None)
}

/// What an anonymous user may do with a request, given the upload-only
/// directory ([`ServerOptions::anonymous_incoming`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropBox {
    /// Not about the directory: the user's access decides.
    Outside,
    /// A new file uploaded into the directory: allowed whatever the
    /// access, never over an existing file.
    NewFile,
    /// Reading, listing, changing or resuming in the directory: refused,
    /// so that what one anonymous user drops no other can fetch (vsftpd's
    /// `anon_upload_enable` with `chown_uploads`).
    Refuse,
}

/// Whether `path` is `dir` or beneath it.
fn within(path: &VirtualPath, dir: &VirtualPath) -> bool {
    let (p, d) = (path.as_bytes(), dir.as_bytes());
    d == b"/" || p == d || (p.starts_with(d) && p.get(d.len()) == Some(&b'/'))
}

fn drop_box(kind: &RequestKind, incoming: &VirtualPath) -> DropBox {
    let inside = |p: &VirtualPath| within(p, incoming);
    match kind {
        RequestKind::Store { path, mode: StoreMode::Replace | StoreMode::Unique, offset: 0, .. } if inside(path) => {
            DropBox::NewFile
        }
        // Going there, to upload, is fine.
        RequestKind::ChangeDir { .. } | RequestKind::Login { .. } | RequestKind::Account { .. } => DropBox::Outside,
        RequestKind::Rename { from, to } if inside(from) || inside(to) => DropBox::Refuse,
        RequestKind::Site { .. } | RequestKind::Rename { .. } => DropBox::Outside,
        RequestKind::List { path, .. }
        | RequestKind::Retrieve { path, .. }
        | RequestKind::Store { path, .. }
        | RequestKind::Delete { path }
        | RequestKind::MakeDir { path, .. }
        | RequestKind::RemoveDir { path }
        | RequestKind::Size { path }
        | RequestKind::FreeSpace { path }
        | RequestKind::ModTime { path }
        | RequestKind::SetModTime { path, .. }
        | RequestKind::SetFacts { path, .. }
        | RequestKind::Facts { path } => {
            if inside(path) {
                DropBox::Refuse
            } else {
                DropBox::Outside
            }
        }
    }
}

/// The storage's answer to one request.
pub(super) async fn decide(
    shared: &Shared,
    user: &Principal,
    kind: RequestKind,
    facts: &[&'static str],
) -> (Answer, Option<Job>) {
    let fs = shared.storage.as_ref();
    // ServerOptions::anonymous_incoming: a drop box for anonymous users.
    let drop_box = match (&shared.anonymous_incoming, user.anonymous) {
        (Some(incoming), true) => match drop_box(&kind, incoming) {
            DropBox::Refuse => return failed(StorageError::PermissionDenied),
            DropBox::NewFile => true,
            DropBox::Outside => false,
        },
        _ => false,
    };
    if kind.is_write() && !user.access.writable && !drop_box {
        return failed(StorageError::PermissionDenied);
    }
    let done = |r: Result<(), StorageError>| match r {
        Ok(()) => (Answer::Done, None),
        Err(e) => failed(e),
    };
    match kind {
        RequestKind::ChangeDir { path } => done(fs.change_dir(user, &path).await),
        RequestKind::List { path, format: ListFormat::Stat, all, .. } => match fs.entries(user, &path, all).await {
            Ok(mut entries) => {
                narrow_perms(&mut entries, user.access);
                (Answer::Entries { entries, now: now_timestamp() }, None)
            }
            Err(e) => failed(e),
        },
        RequestKind::List { path, format, all, matching } => match fs.listing(user, &path, all).await {
            Ok(listing) => {
                let (facts, access, now) = (facts.to_vec(), user.access, now_timestamp());
                (Answer::Ready, Some(Job::Listing { listing, format, facts, now, access, matching }))
            }
            Err(e) => failed(e),
        },
        RequestKind::Retrieve { path, offset, ascii } => {
            if let Err(e) = restart_within(fs, user, &path, offset).await {
                return failed(e);
            }
            match fs.open_read(user, &path, offset).await {
                Ok(file) => (Answer::Ready, Some(Job::Read(file, ascii))),
                Err(e) => failed(e),
            }
        }
        RequestKind::Store { path, mode: StoreMode::Unique, ascii, umask, .. } => {
            match store_unique(fs, user, &path, umask).await {
                Ok((name, file)) => (Answer::StoredAs(name), Some(Job::Write(file, ascii, None))),
                Err(e) => failed(e),
            }
        }
        RequestKind::Store { path, mode, offset, ascii, umask } => {
            let mode = match mode {
                // A drop box never replaces what someone else dropped.
                _ if drop_box => WriteMode::CreateNew,
                StoreMode::Append => WriteMode::Append,
                _ if offset > 0 => WriteMode::Resume(offset),
                _ => WriteMode::Replace,
            };
            if let Err(e) = restart_within(fs, user, &path, offset).await {
                return failed(e);
            }
            if shared.atomic_uploads && mode == WriteMode::Replace {
                return atomic_store(shared, user, path, ascii, umask).await;
            }
            match open_write(fs, user, &path, mode, umask).await {
                Ok(file) => (Answer::Ready, Some(Job::Write(file, ascii, None))),
                Err(e) => failed(e),
            }
        }
        RequestKind::Delete { path } => done(fs.delete(user, &path).await),
        RequestKind::MakeDir { path, umask: None } => done(fs.make_dir(user, &path).await),
        RequestKind::MakeDir { path, umask: Some(umask) } => {
            done(fs.make_dir_with_mode(user, &path, umask.dir_mode()).await)
        }
        RequestKind::RemoveDir { path } => done(fs.remove_dir(user, &path).await),
        RequestKind::Rename { from, to } => done(fs.rename(user, &from, &to).await),
        RequestKind::FreeSpace { path } => match fs.free_space(user, &path).await {
            Ok(n) => (Answer::Size(n), None),
            Err(e) => failed(e),
        },
        RequestKind::Size { path } => match fs.size(user, &path).await {
            Ok(n) => (Answer::Size(n), None),
            Err(e) => failed(e),
        },
        RequestKind::SetModTime { path, time } => done(fs.set_modified(user, &path, time).await),
        RequestKind::SetFacts { path, mode, modify } => {
            // draft-somers-ftp-mfxx 5.1: not atomic; the first failure is
            // the answer.
            if let Some(mode) = mode
                && let Err(e) = fs.set_mode(user, &path, mode).await
            {
                return failed(e);
            }
            match modify {
                Some(time) => done(fs.set_modified(user, &path, time).await),
                None => (Answer::Done, None),
            }
        }
        RequestKind::ModTime { path } => match fs.modified(user, &path).await {
            Ok(t) => (Answer::ModTime(t), None),
            Err(e) => failed(e),
        },
        // RFC 3659 7.2: MLST describes the object named, not its contents.
        RequestKind::Facts { path } => match fs.stat(user, &path).await {
            Ok(entry) => {
                let mut entries = vec![entry];
                narrow_perms(&mut entries, user.access);
                (Answer::Entries { entries, now: now_timestamp() }, None)
            }
            Err(e) => failed(e),
        },
        // Answered before the storage is asked (`Conn::request`).
        RequestKind::Login { .. } => failed(StorageError::NotSupported),
        // No authenticator here asks for ACCT (it never answers
        // NeedAccount), and `Server::bind` turns SITE off: neither reaches
        // the storage.
        RequestKind::Account { .. } | RequestKind::Site { .. } => failed(StorageError::NotSupported),
    }
}

/// STOR with atomic uploads: the bytes go to a new hidden file in the
/// target's directory, renamed over the target once the upload completed
/// (see [`atomic`](super::atomic)). The target must not be a directory.
async fn atomic_store(
    shared: &Shared,
    user: &Principal,
    path: VirtualPath,
    ascii: bool,
    umask: Option<Umask>,
) -> (Answer, Option<Job>) {
    let fs = shared.storage.as_ref();
    if fs.change_dir(user, &path).await.is_ok() {
        return failed(StorageError::PermissionDenied);
    }
    let temporary = atomic::temporary_name(&path);
    match open_write(fs, user, &temporary, WriteMode::CreateNew, umask).await {
        Ok(file) => {
            let keep = !shared.config.require_tls_close_notify_in_force();
            let commit = Commit::new(shared.storage.clone(), user.clone(), temporary, path, keep);
            (Answer::Ready, Some(Job::Write(file, ascii, Some(commit))))
        }
        Err(e) => failed(e),
    }
}

/// `open_write`, or after `SITE UMASK` `open_write_with_mode` with the mode
/// a new file gets.
async fn open_write(
    fs: &dyn Storage,
    user: &Principal,
    path: &VirtualPath,
    mode: WriteMode,
    umask: Option<Umask>,
) -> Result<FileSink, StorageError> {
    match umask {
        None => fs.open_write(user, path, mode).await,
        Some(umask) => fs.open_write_with_mode(user, path, mode, umask.file_mode()).await,
    }
}

/// RFC 3659 5.3: a restart marker past the end of what is stored
/// rejects the transfer command (554) before any data connection is used,
/// for RETR (never a 150 then an empty transfer) and for STOR (never a hole
/// of zeros). A missing file has no bytes to restart after.
async fn restart_within(
    fs: &dyn Storage,
    user: &Principal,
    path: &ftp_session::server::VirtualPath,
    offset: u64,
) -> Result<(), StorageError> {
    if offset == 0 {
        return Ok(());
    }
    match fs.size(user, path).await {
        Ok(size) if offset <= size => Ok(()),
        Ok(_) | Err(StorageError::NotFound) => Err(StorageError::InvalidRestart),
        Err(e) => Err(e),
    }
}

/// STOU: a file that did not exist, named after the hint: the hint, then
/// `hint.1`, `hint.2`... Each candidate is created with
/// [`WriteMode::CreateNew`], so two uploads never get the same name.
pub(super) async fn store_unique(
    fs: &dyn Storage,
    user: &Principal,
    hint: &ftp_session::server::VirtualPath,
    umask: Option<Umask>,
) -> Result<(ftp_proto::Pathname, FileSink), StorageError> {
    for i in 0..1000u32 {
        let candidate = if i == 0 {
            hint.clone()
        } else {
            let mut name = hint.file_name().to_vec();
            name.extend_from_slice(format!(".{i}").as_bytes());
            hint.parent().join(&name)
        };
        match open_write(fs, user, &candidate, WriteMode::CreateNew, umask).await {
            Ok(file) => {
                let name = ftp_proto::Pathname::try_from(Bytes::copy_from_slice(candidate.file_name()))
                    .map_err(|_| StorageError::NameNotAllowed)?;
                return Ok((name, file));
            }
            Err(StorageError::AlreadyExists) => {}
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::NameNotAllowed)
}
