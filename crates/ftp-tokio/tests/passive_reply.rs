//! The EPSV reply to a client on this machine, through the real tokio
//! server on loopback: curl 7.88 reads once right after it sends EPSV and
//! stalls a whole second if the complete 229 is already there (README,
//! Performance). The server hands the reply over in two writes: all but
//! the final line feed at once, the line feed only once the client has
//! read the rest. A client that reads the way curl does never finds the
//! complete line at its first read; every client still reads one correct
//! 229 (RFC 2428 section 3). Every wait is bounded.

#![cfg(target_os = "linux")]

#[macro_use]
mod support;

use ftp_tokio::memory::MemoryFs;
use support::{Ftp, bounded, memory_options, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Whether this system tells one process what another has read
/// (`sock_diag` netlink, as `ss` uses): the server falls back to a pace
/// without it, and then this test has nothing to check.
fn sock_diag_available() -> bool {
    let probe = std::process::Command::new("ss").args(["-t", "-n", "-H", "state", "listening"]).output();
    probe.is_ok_and(|out| out.status.success())
}

/// RFC 2428 section 3 and README (Performance): a client that sends EPSV
/// and reads at once, as curl does, finds the 229 without its line feed;
/// the line feed follows once it has read the rest, and the line it then
/// holds is one well-formed 229 whose port takes a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2428_3_epsv_reply_is_completed_after_the_client_reads() {
    if !sock_diag_available() {
        eprintln!("skipped: no `ss` here to tell whether sock_diag netlink works");
        return;
    }
    let fs = MemoryFs::new();
    fs.write_file("f.bin", b"data").unwrap();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    assert_eq!(ftp.code("TYPE I").await, 200);
    let mut control = ftp.into_stream();

    let rounds = 20;
    let mut split = 0;
    for _ in 0..rounds {
        control.write_all(b"EPSV\r\n").await.unwrap();
        // Read as soon as anything is there, then on until the line ends.
        let mut line = Vec::new();
        let mut first_read = None;
        while !line.ends_with(b"\n") {
            let mut buf = [0u8; 256];
            let n = bounded(1, control.read(&mut buf)).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            line.extend_from_slice(&buf[..n]);
            first_read.get_or_insert(n);
            assert!(line.len() < 200, "one line: {:?}", String::from_utf8_lossy(&line));
        }
        if first_read < Some(line.len()) {
            split += 1;
        }
        let text = String::from_utf8(line).unwrap();
        assert!(text.starts_with("229 ") && text.ends_with(")\r\n"), "{text:?}");
        let port: u16 = text.rsplit("(|||").next().unwrap().trim_end_matches("|)\r\n").parse().unwrap();
        // The listener behind it answers; the setup is then closed again.
        let data = bounded(1, tokio::net::TcpStream::connect(("127.0.0.1", port))).await.unwrap();
        drop(data);
    }
    // Each round's first read ends before the line feed unless this thread
    // was kept from running for longer than the server waits (2 ms): on a
    // loaded machine some rounds may be so, most not.
    assert!(split >= rounds / 4, "{split} of {rounds} replies came in two parts");

    // The session goes on: a transfer after all those setups.
    let mut ftp = Ftp::from_stream(control, std::net::IpAddr::from([127, 0, 0, 1]));
    let (first, got, last) = ftp.download("RETR f.bin").await;
    assert!(matches!(first, 125 | 150) && last == 226, "{first} {last}");
    assert_eq!(got, b"data");
}

/// SECURITY.md C4: a client that sends EPSV and does not read is not
/// waited for without end: the line feed follows within the server's
/// bound (30 ms), so a client that reads a second later finds the whole
/// 229 at its first read, and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_c4_a_client_that_does_not_read_gets_the_whole_reply_later() {
    let fs = MemoryFs::new();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    let mut control = ftp.into_stream();
    control.write_all(b"EPSV\r\n").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mut buf = [0u8; 256];
    let n = bounded(1, control.read(&mut buf)).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("229 ") && text.ends_with(")\r\n"), "one read: {text:?}");
    let mut ftp = Ftp::from_stream(control, std::net::IpAddr::from([127, 0, 0, 1]));
    assert_eq!(ftp.code("NOOP").await, 200);
}
