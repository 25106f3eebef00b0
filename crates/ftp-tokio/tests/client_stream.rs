//! The client's streams against our own server, in-process on loopback:
//! downloads read through `RetrStream` (an `AsyncRead` on the data
//! connection) and uploads written through `StorStream`, plain and under
//! FTPS with `PROT P`, resumed with `REST`, and streams dropped half way
//! with the client still in step afterwards.

mod support;

use std::time::Duration;

use ftp_tokio::client::{Client, ClientError, ClientOptions, Security};
use support::client_kit::{login, options, pattern, sent, start, timed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIG: usize = 5_000_000;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pub")).unwrap();
    std::fs::write(dir.path().join("pub/big.bin"), pattern(BIG)).unwrap();
    std::fs::write(dir.path().join("pub/small.txt"), b"small file\n").unwrap();
    dir
}

/// RFC 959 3.4 (stream mode: the file ends where the data connection
/// closes) and 4.1.3 (RETR): a multi-MiB download read through the stream
/// is the file, byte for byte, and `finish` reads the 226.
async fn download_whole(security: Security) {
    let dir = fixture();
    let server = start(dir.path(), security != Security::Plain);
    let (mut c, _) = login(&server, security).await;
    if security != Security::Plain {
        assert!(c.is_secured());
    }
    let mut stream = c.retr_stream("pub/big.bin", 0).await.unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).await.unwrap();
    assert_eq!(stream.bytes(), BIG as u64);
    assert_eq!(stream.finish().await.unwrap(), BIG as u64);
    assert!(got == pattern(BIG), "the streamed download differs");
    // The control connection is in step: the next command gets its own reply.
    assert_eq!(c.size("pub/big.bin").await.unwrap(), BIG as u64);
    c.quit().await.unwrap();
}

#[tokio::test]
async fn a_stream_download_is_the_file_plain() {
    timed(download_whole(Security::Plain)).await;
}

/// RFC 4217 section 9: under `PROT P` the stream reads the TLS data
/// connection (resumed from the control session).
#[tokio::test]
async fn a_stream_download_is_the_file_under_ftps_prot_p() {
    timed(download_whole(Security::Explicit)).await;
}

/// RFC 3659 section 5 (REST STREAM): a stream from an offset gives the
/// tail, and counts the bytes from the offset.
#[tokio::test]
async fn a_stream_download_resumes_from_an_offset() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, lines) = login(&server, Security::Plain).await;
        let offset = 3_500_000u64;
        let mut stream = c.retr_stream("pub/big.bin", offset).await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(stream.finish().await.unwrap(), BIG as u64 - offset);
        assert!(got[..] == pattern(BIG)[offset as usize..], "the resumed tail differs");
        assert_eq!(sent(&lines, "REST 3500000"), 1);
        c.quit().await.unwrap();
    })
    .await;
}

/// RFC 959 4.1.3 (STOR) and 3.4: an upload written through the stream and
/// finished (the data connection closed, then the 226) reads back equal,
/// plain and under `PROT P`.
#[tokio::test]
async fn a_stream_upload_round_trips() {
    timed(async {
        let dir = fixture();
        for security in [Security::Plain, Security::Explicit] {
            let server = start(dir.path(), security != Security::Plain);
            let (mut c, _) = login(&server, security).await;
            let data = pattern(3 << 20);
            let name = format!("up-{security:?}.bin");
            let mut up = c.stor_stream(&name, 0).await.unwrap();
            for chunk in data.chunks(100_003) {
                up.write_all(chunk).await.unwrap();
            }
            assert_eq!(up.finish().await.unwrap(), data.len() as u64);
            assert_eq!(c.size(&name).await.unwrap(), data.len() as u64);
            let mut down = c.retr_stream(&name, 0).await.unwrap();
            let mut back = Vec::new();
            down.read_to_end(&mut back).await.unwrap();
            down.finish().await.unwrap();
            assert!(back == data, "{security:?}: the round trip differs");
            assert!(std::fs::read(dir.path().join(&name)).unwrap() == data);
            c.quit().await.unwrap();
        }
    })
    .await;
}

/// A `RetrStream` dropped half way (RFC 959 4.1.3: the transfer is then
/// aborted with ABOR before the next command): the next commands get
/// their own replies, SIZE the size and the listing the names.
#[tokio::test]
async fn a_dropped_download_leaves_the_client_in_step() {
    timed(async {
        let dir = fixture();
        for security in [Security::Plain, Security::Explicit] {
            let server = start(dir.path(), security != Security::Plain);
            let (mut c, lines) = login(&server, security).await;
            {
                let mut stream = c.retr_stream("pub/big.bin", 0).await.unwrap();
                let mut head = vec![0u8; 64 * 1024];
                stream.read_exact(&mut head).await.unwrap();
                assert!(head[..] == pattern(BIG)[..head.len()]);
            }
            assert_eq!(c.size("pub/small.txt").await.unwrap(), 11, "{security:?}");
            let mut names: Vec<String> = c
                .list(Some("pub"))
                .await
                .unwrap()
                .iter()
                .map(|e| String::from_utf8_lossy(e.name()).into_owned())
                .collect();
            names.sort();
            assert_eq!(names, ["big.bin", "small.txt"], "{security:?}");
            assert_eq!(sent(&lines, "ABOR"), 1, "{security:?}: {:?}", lines.lock().unwrap());
            // And a whole download after it.
            let mut got = Vec::new();
            assert_eq!(c.get("pub/big.bin", 0, &mut got).await.unwrap(), BIG as u64);
            assert!(got == pattern(BIG));
            c.quit().await.unwrap();
        }
    })
    .await;
}

/// A download read to its last byte but dropped before its end-of-file
/// was seen needs no ABOR: the next call finds the end and reads the 226
/// (an ABOR after a finished transfer would get a reply of its own).
#[tokio::test]
async fn a_download_dropped_at_its_end_completes_without_abor() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, lines) = login(&server, Security::Plain).await;
        {
            let mut stream = c.retr_stream("pub/small.txt", 0).await.unwrap();
            let mut all = [0u8; 11];
            stream.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"small file\n");
        }
        assert_eq!(c.pwd().await.unwrap(), "/");
        assert_eq!(sent(&lines, "ABOR"), 0, "{:?}", lines.lock().unwrap());
        // And `finish` after an exact read sees the end itself.
        let mut stream = c.retr_stream("pub/small.txt", 0).await.unwrap();
        let mut all = [0u8; 11];
        stream.read_exact(&mut all).await.unwrap();
        assert_eq!(stream.finish().await.unwrap(), 11);
        c.quit().await.unwrap();
    })
    .await;
}

/// `finish` before the end aborts (RFC 959 4.1.3) and says so, naming the
/// command; the client goes on.
#[tokio::test]
async fn finish_before_the_end_is_an_abort() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, _) = login(&server, Security::Plain).await;
        let mut stream = c.retr_stream("pub/big.bin", 0).await.unwrap();
        let mut head = vec![0u8; 10_000];
        stream.read_exact(&mut head).await.unwrap();
        match stream.finish().await {
            Err(ClientError::Aborted { command, bytes }) => {
                assert_eq!(command, "RETR pub/big.bin");
                assert!(bytes >= 10_000 && bytes < BIG as u64, "{bytes}");
            }
            other => panic!("expected an abort, got {other:?}"),
        }
        assert_eq!(c.size("pub/big.bin").await.unwrap(), BIG as u64);
        c.quit().await.unwrap();
    })
    .await;
}

/// A `StorStream` dropped unfinished is not a complete upload: the data
/// connection is reset, not closed as the end of the file (RFC 959 3.4),
/// and the transfer aborted; the client stays in step.
#[tokio::test]
async fn a_dropped_upload_is_aborted_not_completed() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, lines) = login(&server, Security::Plain).await;
        {
            let mut up = c.stor_stream("cut.bin", 0).await.unwrap();
            up.write_all(&pattern(200_000)).await.unwrap();
            up.flush().await.unwrap();
        }
        c.noop().await.unwrap();
        assert_eq!(c.pwd().await.unwrap(), "/");
        let received: Vec<String> = lines.lock().unwrap().clone();
        assert!(
            !received.iter().any(|l| l.starts_with("< 226 Transfer complete")),
            "the cut upload was taken as complete: {received:?}"
        );
        assert!(received.iter().any(|l| l.starts_with("< 426")), "{received:?}");
        c.quit().await.unwrap();
    })
    .await;
}

/// A refusal comes from `retr_stream` itself, naming the command.
#[tokio::test]
async fn a_refused_download_is_an_error_at_once() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, _) = login(&server, Security::Plain).await;
        match c.retr_stream("pub/missing", 0).await {
            Err(ClientError::Rejected { command, reply }) => {
                assert_eq!(command, "RETR pub/missing");
                assert_eq!(reply.code().as_u16(), 550);
            }
            other => panic!("expected a 550, got {other:?}"),
        }
        c.noop().await.unwrap();
        c.quit().await.unwrap();
    })
    .await;
}

/// One command line from a scripted server's control connection, read a
/// byte at a time; `None` at its end.
async fn read_line(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8];
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        if byte[0] == b'\n' {
            return Some(String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned());
        }
        line.push(byte[0]);
    }
}

/// A server that sends 1,000 bytes of a download and then nothing, the
/// data connection left open: the stream's reads hold to the stall
/// timeout (`ClientOptions::data_timeout`, RFC 959 3.2 leaves it to the
/// client), and the transfer is then aborted (RFC 959 4.1.3: IP, Synch,
/// ABOR; the server answers 426 then 226) with the client still in step.
#[tokio::test]
async fn a_stalled_stream_times_out_and_is_aborted() {
    timed(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut control, _) = listener.accept().await.unwrap();
            control.write_all(b"220 scripted\r\n").await.unwrap();
            let mut data_listener = None;
            let mut data = None;
            let mut seen = Vec::new();
            while let Some(line) = read_line(&mut control).await {
                let reply: &[u8] = if line.starts_with("USER") {
                    b"331 password\r\n"
                } else if line.starts_with("PASS") {
                    b"230 in\r\n"
                } else if line.starts_with("TYPE") {
                    b"200 type\r\n"
                } else if line.starts_with("EPSV") {
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let p = l.local_addr().unwrap().port();
                    data_listener = Some(l);
                    control.write_all(format!("229 ok (|||{p}|)\r\n").as_bytes()).await.unwrap();
                    continue;
                } else if line.starts_with("RETR") {
                    control.write_all(b"150 here it comes\r\n").await.unwrap();
                    let (mut d, _) = data_listener.take().unwrap().accept().await.unwrap();
                    d.write_all(&[7u8; 1000]).await.unwrap();
                    data = Some(d); // kept open, silent
                    continue;
                } else if line.ends_with("ABOR") {
                    seen.push("ABOR".to_owned());
                    data = None;
                    b"426 aborted\r\n226 ABOR ok\r\n"
                } else if line.starts_with("QUIT") {
                    control.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"200 ok\r\n"
                };
                control.write_all(reply).await.unwrap();
            }
            drop(data);
            seen
        });
        let options = ClientOptions {
            data_timeout: Duration::from_millis(300),
            config: ftp_tokio::ClientConfig::default().auto_feat(false).reply_timeout(Duration::from_secs(10)),
            ..ClientOptions::default()
        };
        let mut c = Client::connect("127.0.0.1", port, options).await.unwrap();
        c.login("u", "p").await.unwrap();
        let mut stream = c.retr_stream("f", 0).await.unwrap();
        let mut head = [0u8; 1000];
        stream.read_exact(&mut head).await.unwrap();
        let started = std::time::Instant::now();
        let err = stream.read(&mut head).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");
        match stream.finish().await {
            Err(ClientError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("expected the stall, got {other:?}"),
        }
        c.noop().await.unwrap();
        c.quit().await.unwrap();
        assert_eq!(server.await.unwrap(), ["ABOR"]);
    })
    .await;
}

/// RFC 959 3.1.1.1 (TYPE A): the streams convert line ends, LF to CRLF
/// on the way up and back on the way down, and count the bytes as sent.
#[tokio::test]
async fn ascii_streams_convert_line_ends() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut options, _) = options(Security::Plain);
        options.config = options.config.ascii(true);
        let mut c = Client::connect("127.0.0.1", server.addr().port(), options).await.unwrap();
        c.login("alice", "secret").await.unwrap();
        let text: Vec<u8> = (0..20_000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let mut up = c.stor_stream("text.txt", 0).await.unwrap();
        for chunk in text.chunks(4097) {
            up.write_all(chunk).await.unwrap();
        }
        assert_eq!(up.finish().await.unwrap(), text.len() as u64 + 20_000, "CRLF on the wire");
        let mut down = c.retr_stream("text.txt", 0).await.unwrap();
        let mut back = Vec::new();
        let mut small = [0u8; 777];
        loop {
            let n = down.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&small[..n]);
        }
        assert_eq!(down.finish().await.unwrap(), text.len() as u64 + 20_000);
        assert!(back == text, "LF again after the round trip");
        c.quit().await.unwrap();
    })
    .await;
}
