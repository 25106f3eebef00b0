//! The build without TLS (`--no-default-features`: no `rustls` feature):
//! plain FTP works end to end, the server neither advertises nor accepts
//! `AUTH`, and the client refuses FTPS before connecting. CI runs it with
//! `cargo test -p ftp-tokio --no-default-features --test no_tls`; with the
//! `rustls` feature on there is nothing to test here.

#![cfg(not(feature = "rustls"))]

mod support;

use std::time::Duration;

use ftp_tokio::client::{Client, ClientError, ClientOptions, Security};
use ftp_tokio::memory::MemoryFs;
use support::{Ftp, code, memory_options, reply_text, serve};

#[tokio::test]
async fn plain_ftp_without_tls() {
    let fs = MemoryFs::new();
    let options = memory_options(&fs);
    // The only value a build without TLS has for it.
    assert!(options.tls.is_none());
    let server = serve(options).await;

    // The library's client: a whole session in plain FTP.
    let mut c = Client::connect("127.0.0.1", server.addr.port(), ClientOptions::default()).await.unwrap();
    c.login("alice", "secret").await.unwrap();
    let caps = c.feat().await.unwrap();
    assert!(caps.feat_known && caps.epsv && caps.mlst, "{caps:?}");
    assert!(!caps.auth_tls && !caps.pbsz && !caps.prot, "TLS advertised by a server without it: {caps:?}");
    c.put("hello.txt", 0, &mut &b"hello, plain ftp\n"[..]).await.unwrap();
    let mut got = Vec::new();
    assert_eq!(c.get("hello.txt", 0, &mut got).await.unwrap(), 17);
    assert_eq!(got, b"hello, plain ftp\n");
    let names: Vec<_> = c.list(None).await.unwrap().iter().map(|e| e.name().to_vec()).collect();
    assert_eq!(names, [b"hello.txt".to_vec()]);
    c.quit().await.unwrap();

    // The wire, as any client sees it: FEAT without AUTH TLS, PBSZ or
    // PROT; AUTH TLS refused as not implemented, before and after login.
    let (mut ftp, greeting) = Ftp::connect(server.addr).await;
    assert_eq!(code(&greeting), 220);
    let feat = ftp.cmd("FEAT").await;
    assert_eq!(code(&feat), 211);
    let text = reply_text(&feat);
    assert!(text.contains(" MLST ") && text.contains(" EPSV"), "{text}");
    for missing in ["AUTH", "PBSZ", "PROT"] {
        assert!(!text.contains(missing), "FEAT lists {missing}: {text}");
    }
    assert_eq!(ftp.code("AUTH TLS").await, 502);
    // PBSZ needs an AUTH first (DESIGN.md), which cannot come.
    assert_eq!(ftp.code("PBSZ 0").await, 503);
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("AUTH TLS").await, 502);
    assert_eq!(ftp.code("TYPE I").await, 200);
    let (open, bytes, done) = ftp.download("RETR hello.txt").await;
    assert!(open == 125 || open == 150, "{open}");
    assert_eq!((bytes.as_slice(), done), (&b"hello, plain ftp\n"[..], 226));
    server.shutdown.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_client_refuses_ftps_before_connecting() {
    for security in [Security::Explicit, Security::Implicit] {
        // Nothing listens there: the refusal comes before any connection.
        let options = ClientOptions { security, ..ClientOptions::default() };
        let err = Client::connect("127.0.0.1", 9, options).await.unwrap_err();
        assert!(matches!(err, ClientError::TlsUnavailable), "{security:?}: {err:?}");
        assert!(err.to_string().contains("rustls"), "{err}");
    }
}
