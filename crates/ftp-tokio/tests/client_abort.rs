//! `ABOR` from the client (RFC 959 4.1.3): a download aborted mid-way,
//! plain and under FTPS, through `RetrStream::abort` and through
//! `Client::abort` after a drop; the replies read are 426 for the transfer
//! then 226 for the ABOR (or 226 alone), and the next command gets its own.

mod support;

use ftp_tokio::client::Security;
use support::client_kit::{Lines, login, start, timed};
use tokio::io::AsyncReadExt;

const BIG: usize = 8 << 20;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.bin"), vec![0x5a; BIG]).unwrap();
    dir
}

/// The replies after the ABOR line: RFC 959 4.1.3 allows 426 then 226, or
/// 226 alone (225 from a server that found nothing running).
fn after_abor(lines: &Lines) -> Vec<u16> {
    let lines = lines.lock().unwrap();
    let at = lines.iter().position(|l| l == "> ABOR").expect("ABOR was sent");
    lines[at + 1..].iter().take_while(|l| l.starts_with('<')).filter_map(|l| l[2..5].parse().ok()).collect()
}

fn abor_replies_are_rfc_959(codes: &[u16]) {
    assert!(
        matches!(codes, [426, 226 | 225] | [226 | 225]),
        "RFC 959 4.1.3: 426 then 226, or 226 alone; got {codes:?}"
    );
}

/// RFC 959 4.1.3: ABOR during a download (the server still sending, its
/// socket buffers full): 426 then 226, and the next command is answered
/// in step.
async fn abort_mid_download(security: Security) {
    let dir = fixture();
    let server = start(dir.path(), security != Security::Plain);
    let (mut c, lines) = login(&server, security).await;
    let mut stream = c.retr_stream("big.bin", 0).await.unwrap();
    let mut head = vec![0u8; 100_000];
    stream.read_exact(&mut head).await.unwrap();
    stream.abort().await.unwrap();
    let codes = after_abor(&lines);
    abor_replies_are_rfc_959(&codes);
    assert_eq!(c.pwd().await.unwrap(), "/");
    assert_eq!(c.size("big.bin").await.unwrap(), BIG as u64);
    c.quit().await.unwrap();
}

#[tokio::test]
async fn abort_mid_download_plain() {
    timed(abort_mid_download(Security::Plain)).await;
}

/// RFC 4217 section 14: under TLS the Telnet IP/Synch go in-band, and the
/// exchange is the same.
#[tokio::test]
async fn abort_mid_download_under_ftps() {
    timed(abort_mid_download(Security::Explicit)).await;
}

/// `Client::abort` after the stream was dropped: the same ABOR exchange,
/// and then nothing left to abort (a second call sends nothing).
#[tokio::test]
async fn client_abort_after_a_dropped_stream() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, lines) = login(&server, Security::Plain).await;
        {
            let mut stream = c.retr_stream("big.bin", 0).await.unwrap();
            let mut head = vec![0u8; 100_000];
            stream.read_exact(&mut head).await.unwrap();
        }
        c.abort().await.unwrap();
        abor_replies_are_rfc_959(&after_abor(&lines));
        let count = lines.lock().unwrap().len();
        c.abort().await.unwrap();
        assert_eq!(lines.lock().unwrap().len(), count, "no transfer: abort() sends nothing");
        c.noop().await.unwrap();
        let mut got = Vec::new();
        assert_eq!(c.get("big.bin", BIG as u64 - 10, &mut got).await.unwrap(), 10);
        c.quit().await.unwrap();
    })
    .await;
}

/// With no transfer in progress `abort` is a no-op: nothing sent, the
/// client untouched.
#[tokio::test]
async fn abort_without_a_transfer_does_nothing() {
    timed(async {
        let dir = fixture();
        let server = start(dir.path(), false);
        let (mut c, lines) = login(&server, Security::Plain).await;
        let count = lines.lock().unwrap().len();
        c.abort().await.unwrap();
        assert_eq!(lines.lock().unwrap().len(), count);
        assert_eq!(c.pwd().await.unwrap(), "/");
        c.quit().await.unwrap();
    })
    .await;
}
