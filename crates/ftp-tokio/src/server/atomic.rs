//! Atomic uploads ([`ServerOptions::atomic_uploads`](super::ServerOptions::atomic_uploads)):
//! a `STOR` writes to a hidden temporary name in the same directory and is
//! renamed over the target only when the upload completed, as pure-ftpd's
//! `--notruncate` mode does, so a reader never sees half a file and a
//! broken upload never replaces a good one (SECURITY.md X3). A temporary
//! file whose upload failed or was aborted is removed.

use std::sync::atomic::{AtomicU64, Ordering};

#[allow(clippy::wildcard_imports)]
use super::*;
use ftp_session::server::VirtualPath;

/// Temporary names drawn so far (with the process id, what makes a name
/// unique: it is created with [`WriteMode::CreateNew`] anyway).
static DRAWS: AtomicU64 = AtomicU64::new(0);

/// The temporary name an upload to `target` is written under: hidden
/// (a leading `.`, so listings and `*` leave it out), in the same
/// directory (so the rename is one directory entry's change).
pub(super) fn temporary_name(target: &VirtualPath) -> VirtualPath {
    let n = DRAWS.fetch_add(1, Ordering::Relaxed);
    let mut name = b".".to_vec();
    name.extend_from_slice(target.file_name());
    name.extend_from_slice(format!(".ftpkit-upload-{}-{n}", std::process::id()).as_bytes());
    target.parent().join(&name)
}

/// An upload in progress under a temporary name: [`Commit::finish`]
/// renames it over the target; dropped unfinished (the upload failed, or
/// its task was aborted by ABOR or the end of the connection), it removes
/// the temporary file.
pub(super) struct Commit {
    storage: Arc<dyn Storage>,
    user: Principal,
    temporary: VirtualPath,
    target: VirtualPath,
    /// Rename an upload that ended without TLS close_notify too (they are
    /// accepted, SECURITY.md L7).
    keep_unconfirmed: bool,
    finished: bool,
}

impl Commit {
    pub(super) fn new(
        storage: Arc<dyn Storage>,
        user: Principal,
        temporary: VirtualPath,
        target: VirtualPath,
        keep_unconfirmed: bool,
    ) -> Self {
        Self { storage, user, temporary, target, keep_unconfirmed, finished: false }
    }

    /// Whether an upload that ended without close_notify is kept.
    pub(super) fn keeps_unconfirmed(&self) -> bool {
        self.keep_unconfirmed
    }

    /// The upload completed: the temporary file takes the target's name.
    pub(super) async fn finish(mut self) -> Result<(), StorageError> {
        self.finished = true;
        let result = self.storage.rename(&self.user, &self.temporary, &self.target).await;
        if result.is_err() {
            self.finished = false; // Drop removes the temporary file.
        }
        result
    }
}

impl Drop for Commit {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (storage, user, temporary) = (self.storage.clone(), self.user.clone(), self.temporary.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = storage.delete(&user, &temporary).await {
                    tracing::warn!(path = %String::from_utf8_lossy(temporary.as_bytes()), error = %e, "cannot remove the temporary file of a failed upload");
                }
            });
        }
    }
}
