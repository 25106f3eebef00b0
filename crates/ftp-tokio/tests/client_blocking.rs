//! The blocking client (`ftp_tokio::client::blocking::Client`) against our
//! own server on loopback, from plain std threads with no runtime of their
//! own: every call runs the async client on the wrapper's own
//! current-thread runtime. Inside an async runtime it refuses clearly.

mod support;

use std::io::Read;

use ftp_tokio::client::blocking::Client;
use ftp_tokio::client::{ClientError, ClientOptions, Security};
use support::client_kit::{self, pattern, start};

fn options(security: Security) -> ClientOptions {
    client_kit::options(security).0
}

/// RFC 959 4.1 (MKD, STOR, RETR, LIST, RNFR/RNTO, DELE, RMD) through the
/// blocking calls, plain and under FTPS, each from a std thread.
#[test]
fn a_blocking_round_trip_from_a_std_thread() {
    let dir = tempfile::tempdir().unwrap();
    for security in [Security::Plain, Security::Explicit] {
        let server = start(dir.path(), security != Security::Plain);
        let port = server.addr().port();
        let root = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let mut c = Client::connect("127.0.0.1", port, options(security)).unwrap();
            assert_eq!(c.greeting().unwrap().code().as_u16(), 220);
            c.login("alice", "secret").unwrap();
            let d = format!("dir-{security:?}");
            c.mkdir(&d).unwrap();
            c.cwd(&d).unwrap();
            assert_eq!(c.pwd().unwrap(), format!("/{d}"));
            let data = pattern(2_000_000);
            assert_eq!(c.put("a.bin", 0, &mut &data[..]).unwrap(), data.len() as u64);
            assert_eq!(c.size("a.bin").unwrap(), data.len() as u64);
            let mut back = Vec::new();
            assert_eq!(c.get("a.bin", 0, &mut back).unwrap(), data.len() as u64);
            assert!(back == data, "{security:?}: get differs");
            // Resumed download (REST) into a std writer.
            let mut tail = Vec::new();
            assert_eq!(c.get("a.bin", 1_500_000, &mut tail).unwrap(), 500_000);
            assert!(tail[..] == data[1_500_000..]);
            // The download as a std::io::Read.
            let mut stream = c.retr_stream("a.bin", 0).unwrap();
            let mut streamed = Vec::new();
            stream.read_to_end(&mut streamed).unwrap();
            assert_eq!(stream.finish().unwrap(), data.len() as u64);
            assert!(streamed == data);
            c.rename("a.bin", "b.bin").unwrap();
            let names: Vec<String> =
                c.list(None).unwrap().iter().map(|e| String::from_utf8_lossy(e.name()).into_owned()).collect();
            assert_eq!(names, ["b.bin"]);
            assert_eq!(c.nlst(None).unwrap().len(), 1);
            assert!(c.mlst(Some("b.bin")).unwrap().size() == Some(data.len() as u64));
            c.mdtm("b.bin").unwrap();
            assert!(c.feat().unwrap().size);
            c.noop().unwrap();
            assert_eq!(c.raw("SYST").unwrap().code().as_u16(), 215);
            c.delete("b.bin").unwrap();
            c.cdup().unwrap();
            c.rmdir(&d).unwrap();
            assert!(c.list(None).unwrap().iter().all(|e| e.name() != d.as_bytes()));
            c.quit().unwrap();
        })
        .join()
        .unwrap();
        assert!(!root.join(format!("dir-{security:?}")).exists());
    }
}

/// A blocking `RetrStream` dropped half way: the next call aborts the
/// transfer first (RFC 959 4.1.3) and is answered in step.
#[test]
fn a_dropped_blocking_stream_leaves_the_client_in_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.bin"), pattern(6 << 20)).unwrap();
    let server = start(dir.path(), false);
    let mut c = Client::connect("127.0.0.1", server.addr().port(), options(Security::Plain)).unwrap();
    c.login("alice", "secret").unwrap();
    {
        let mut stream = c.retr_stream("big.bin", 0).unwrap();
        let mut head = vec![0u8; 50_000];
        stream.read_exact(&mut head).unwrap();
    }
    assert_eq!(c.size("big.bin").unwrap(), 6 << 20);
    c.quit().unwrap();
}

/// A URL connects and logs in.
#[test]
fn connect_url_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), false);
    let url = format!("ftp://alice:secret@127.0.0.1:{}/", server.addr().port());
    let (mut c, parsed) = Client::connect_url(&url, options(Security::Plain)).unwrap();
    assert_eq!(parsed.host, "127.0.0.1");
    assert_eq!(c.pwd().unwrap(), "/");
    c.quit().unwrap();
}

/// Inside an async runtime the blocking client cannot block (tokio
/// refuses a runtime within a runtime): every call says so instead of
/// panicking or deadlocking, including on a client made outside.
#[test]
fn inside_a_runtime_the_blocking_client_refuses_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), false);
    let port = server.addr().port();
    let mut outside = Client::connect("127.0.0.1", port, options(Security::Plain)).unwrap();
    outside.login("alice", "secret").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outside = runtime.block_on(async move {
        let inside = Client::connect("127.0.0.1", port, options(Security::Plain));
        assert!(matches!(inside, Err(ClientError::InsideRuntime)), "{inside:?}");
        let message = inside.unwrap_err().to_string();
        assert!(message.contains("async runtime"), "{message}");
        let mut outside = outside;
        assert!(matches!(outside.pwd(), Err(ClientError::InsideRuntime)));
        outside
    });
    // Back outside, the client works and is in step.
    let mut outside = outside;
    assert_eq!(outside.pwd().unwrap(), "/");
    outside.quit().unwrap();
}
