//! The Telnet Synch before ABOR (RFC 959 section 4.1.3), through the real
//! tokio server on loopback: `IAC IP` in-band, then `IAC DM` with the DM
//! byte as TCP urgent data, then `ABOR`. Linux ends a read at the urgent
//! mark even when more bytes wait; the server must still read on to the
//! ABOR, and a read of whole lines that ended the stream must not be
//! followed by one more that finds nothing (SECURITY.md T3). Every wait
//! is bounded: a session that stopped reading fails the test, it does not
//! hang it.

#![cfg(target_os = "linux")]

#[macro_use]
mod support;

use ftp_tokio::memory::MemoryFs;
use support::{Ftp, bounded, memory_options, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads replies until `count` final lines (`NNN text`) have come;
/// returns their codes.
async fn codes(control: &mut TcpStream, count: usize) -> Vec<u16> {
    let mut text = Vec::new();
    let mut found = Vec::new();
    while found.len() < count {
        let mut buf = [0u8; 512];
        let n = bounded(1, control.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        text.extend_from_slice(&buf[..n]);
        while let Some(end) = text.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = text.drain(..=end).collect();
            if line.len() > 4 && line[3] == b' ' {
                found.push(std::str::from_utf8(&line[..3]).unwrap().parse().unwrap());
            }
        }
    }
    found
}

/// A logged-in control connection to a fresh server.
async fn logged_in() -> (TcpStream, support::Running) {
    let fs = MemoryFs::new();
    let server = serve(memory_options(&fs)).await;
    let (mut ftp, _) = Ftp::connect(server.addr).await;
    ftp.login("alice", "secret").await;
    (ftp.into_stream(), server)
}

/// RFC 959 4.1.3, SECURITY.md T3: a command, the Synch and ABOR corked
/// into one segment, so that the server's first read stops at the urgent
/// mark with the rest already queued: both commands are answered (the
/// NOOP with 200, the ABOR with no transfer running with 225).
#[tokio::test]
async fn sec_t3_synch_queued_behind_a_command_is_read_past_the_mark() {
    let (mut control, _server) = logged_in().await;
    for _ in 0..20 {
        rustix::net::sockopt::set_tcp_cork(&control, true).unwrap();
        control.write_all(b"NOOP\r\n\xff\xf4\xff").await.unwrap();
        socket2::SockRef::from(&control).send_out_of_band(&[0xf2]).unwrap();
        control.write_all(b"ABOR\r\n").await.unwrap();
        rustix::net::sockopt::set_tcp_cork(&control, false).unwrap();
        assert_eq!(codes(&mut control, 2).await, [200, 225]);
    }
}

/// The same Synch on its own, as a client sends it between commands, then
/// a run of ordinary commands that each come alone: every one answered in
/// turn (a read that ends at a line's end leaves nothing behind).
#[tokio::test]
async fn sec_t3_synch_then_commands_one_by_one() {
    let (mut control, _server) = logged_in().await;
    for _ in 0..20 {
        control.write_all(b"\xff\xf4\xff").await.unwrap();
        socket2::SockRef::from(&control).send_out_of_band(&[0xf2]).unwrap();
        control.write_all(b"ABOR\r\n").await.unwrap();
        assert_eq!(codes(&mut control, 1).await, [225]);
        for _ in 0..3 {
            control.write_all(b"NOOP\r\n").await.unwrap();
            assert_eq!(codes(&mut control, 1).await, [200]);
        }
    }
}

/// Several commands in one segment (a pipelining client) are all answered,
/// in order.
#[tokio::test]
async fn rfc959_4_pipelined_commands_in_one_read_are_all_answered() {
    let (mut control, _server) = logged_in().await;
    for _ in 0..20 {
        control.write_all(b"NOOP\r\nTYPE I\r\nNOOP\r\n").await.unwrap();
        assert_eq!(codes(&mut control, 3).await, [200, 200, 200]);
    }
}
