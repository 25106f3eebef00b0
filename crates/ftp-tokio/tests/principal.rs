//! Storage knows who is asking (issue 14): the storage receives the
//! logged-in user with every request, and MLSx `perm` facts (RFC 3659
//! 7.5.5) tell each user what they may do, through the real tokio server on
//! loopback. Every wait is bounded.

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use ftp_proto::Timestamp;
use ftp_proto::listing::Entry;
use ftp_session::server::{StorageError, VirtualPath};
use ftp_tokio::memory::MemoryFs;
use ftp_tokio::server::{ServerOptions, User};
use ftp_tokio::storage::{BoxFuture, FileSink, FileSource, Principal, Storage, WriteMode};
use support::{Ftp, bounded, loopback, reply_text, serve};

/// MemoryFs, remembering who asked for what.
struct Recording {
    inner: MemoryFs,
    seen: Mutex<Vec<(String, bool, bool)>>,
}

impl Recording {
    fn saw(&self, user: &Principal) {
        let name = String::from_utf8_lossy(user.name.as_bytes()).into_owned();
        self.seen.lock().unwrap().push((name, user.anonymous, user.access.writable));
    }
}

impl Storage for Recording {
    forward_required_storage! { inner, Self::saw;
        stat(path: &'a VirtualPath) -> Entry;
    }
}

async fn server(fs: Arc<Recording>) -> support::Running {
    let mut options = ServerOptions::with_storage(loopback(), fs);
    options.users = vec![
        User { name: "alice".into(), password: "secret".into(), writable: true },
        User { name: "bob".into(), password: "hunter2".into(), writable: false },
    ];
    options.anonymous = true;
    serve(options).await
}

fn perm_of(line: &str) -> String {
    line.split(';').find_map(|f| f.trim().strip_prefix("perm=")).unwrap_or("<none>").to_string()
}

/// Issue 14 (storage knows who is asking): each request reaches the
/// storage with the user who made it, named and with the access granted.
#[tokio::test]
async fn the_storage_receives_the_user_with_every_request() {
    let fs = Arc::new(Recording { inner: MemoryFs::new(), seen: Mutex::default() });
    let server = server(fs.clone()).await;
    bounded(1, async {
        for (user, password) in [("alice", "secret"), ("bob", "hunter2"), ("anonymous", "guest@")] {
            let (mut ftp, _) = Ftp::connect(server.addr).await;
            ftp.login(user, password).await;
            assert_eq!(ftp.code("SIZE nothing-here").await, 550);
        }
    })
    .await;
    let seen = fs.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![("alice".into(), false, true), ("bob".into(), false, false), ("anonymous".into(), true, false)]
    );
}

/// RFC 3659 7.5.5 (issue 14: `perm` was hard-coded, so read-only users
/// were told they may write): MLST and MLSD give a read-only user only
/// `r` on files and `e`, `l` on directories; a writable user gets the
/// letters for writing too.
#[tokio::test]
async fn rfc3659_7_5_5_perm_facts_tell_each_user_the_truth() {
    let fs = Arc::new(Recording { inner: MemoryFs::new(), seen: Mutex::default() });
    let server = server(fs).await;
    bounded(1, async {
        let (mut alice, _) = Ftp::connect(server.addr).await;
        alice.login("alice", "secret").await;
        assert_eq!(alice.upload("STOR notes.txt", b"hello").await.1, 226);
        assert_eq!(alice.code("MKD docs").await, 257);
        let file = reply_text(&alice.cmd("MLST notes.txt").await);
        let dir = reply_text(&alice.cmd("MLST docs").await);
        assert!(perm_of(&file).contains('w') && perm_of(&file).contains('d'), "{file}");
        assert!(perm_of(&dir).contains('c') && perm_of(&dir).contains('m'), "{dir}");

        let (mut bob, _) = Ftp::connect(server.addr).await;
        bob.login("bob", "hunter2").await;
        let file = reply_text(&bob.cmd("MLST notes.txt").await);
        let dir = reply_text(&bob.cmd("MLST docs").await);
        assert_eq!(perm_of(&file), "r", "{file}");
        assert_eq!(perm_of(&dir), "el", "{dir}");
        let (_, listing, _) = bob.download("MLSD").await;
        let listing = String::from_utf8(listing).unwrap();
        for line in listing.lines() {
            let perm = perm_of(line);
            assert!(perm.chars().all(|c| "rel".contains(c)), "a read-only user told {perm}: {line}");
        }
        assert!(listing.contains("notes.txt") && listing.contains("docs"), "{listing}");
        // The facts say what the server does: bob cannot write.
        assert_eq!(bob.code("DELE notes.txt").await, 550);
    })
    .await;
}
