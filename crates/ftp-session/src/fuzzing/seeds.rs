//! The seeds of `fuzz/corpus/server_session/seed-*`, built from a readable
//! list of operations, and the `server_session` body run on them (the
//! client's seeds are in `tests/client_fuzz_seeds.rs`, through the public
//! API).

use super::server::LINES;
use super::server_session;

/// One operation of a seed, in the layout of `server.rs`'s module docs.
#[derive(Clone, Copy)]
enum S {
    /// A line of [`LINES`].
    L(&'static str),
    /// Raw control bytes.
    Raw(&'static [u8]),
    /// An arbitrary command from these bytes.
    Cmd(&'static [u8]),
    /// A fitting answer chosen by the selector (0: LoggedIn, Ready,
    /// Done...; 2: NeedAccount; 3: LoginDenied; 3 << 3: a failure).
    A(u8),
    /// An answer to the last request answered (stale).
    StaleAnswer,
    /// `Listening` on this port.
    Listening(u16),
    /// Incoming from the control peer, from a third host.
    Incoming,
    Foreign,
    Connected,
    /// A data event with a byte count: 6 progress, 7 finished.
    Data(u8, u64),
    /// A failed transfer: byte count, reason (4: truncated).
    Failed(u64, u8),
    /// Clock step (index into the step table), then a timeout if `true`.
    Time(u8, bool),
    Tls,
    Eof,
    Shutdown,
}

/// Config bytes (`a`, `b`: flags; `t`: timeout bits 4-7) with 3 login
/// failures, 3 consecutive errors, 4 pending commands and 10 session
/// errors, then the operations.
fn seed(a: u8, b: u8, t: u8, ops: &[S]) -> Vec<u8> {
    let mut out = vec![a, b, 0x02 | 2 << 2 | 4 << 5, 9 | t, 0];
    for op in ops {
        match *op {
            S::L(l) => {
                let i = LINES.iter().position(|x| *x == l.as_bytes()).expect("a line of LINES");
                out.extend_from_slice(&[0, u8::try_from(i).expect("fits")]);
            }
            S::Raw(b) => {
                out.extend_from_slice(&[0, 224, u8::try_from(b.len()).expect("short")]);
                out.extend_from_slice(b);
            }
            S::Cmd(b) => {
                out.extend_from_slice(&[0, 200]);
                out.extend_from_slice(b);
            }
            S::A(sel) => out.extend_from_slice(&[12, sel << 3]),
            S::StaleAnswer => out.extend_from_slice(&[12, 2]),
            S::Listening(port) => {
                out.extend_from_slice(&[10, 0]);
                out.extend_from_slice(&port.to_le_bytes());
            }
            S::Incoming => out.extend_from_slice(&[10, 2]),
            S::Foreign => out.extend_from_slice(&[10, 3]),
            S::Connected => out.extend_from_slice(&[10, 4]),
            S::Data(event, n) => {
                out.extend_from_slice(&[10, event]);
                out.extend_from_slice(&n.to_le_bytes());
            }
            S::Failed(n, reason) => {
                out.extend_from_slice(&[10, 8]);
                out.extend_from_slice(&n.to_le_bytes());
                out.push(reason);
            }
            S::Time(step, feed) => out.extend_from_slice(&[8, step | if feed { 0 } else { 16 }]),
            S::Tls => out.push(7),
            S::Eof => out.push(6),
            S::Shutdown => out.push(15),
        }
    }
    out
}

/// The seeds of `fuzz/corpus/server_session/seed-*`.
#[rustfmt::skip]
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use S::*;
    vec![
        // Login with the caller answering: a refusal held back (A1), an
        // account, CWD, QUIT, then inputs after close.
        ("login", seed(0, 2, 0, &[
            L("PWD"), L("USER alice"), L("PASS x"), A(0), L("CWD d"), A(0), L("PWD"), L("NOOP"),
            L("USER alice"), L("PASS x"), A(3), Time(4, true), L("USER alice"), L("PASS x"), A(2),
            L("ACCT acme"), A(0), L("QUIT"), L("NOOP"), A(0),
        ])),
        // Anonymous login, PASV + RETR with STAT during the transfer, a
        // foreign connection refused (D3), ABOR of a transfer (X1),
        // EPSV ALL refusing PASV and PORT (D7).
        ("pasv-retr", seed(1, 2, 0, &[
            L("TYPE I"), L("PASV"), Listening(50001), L("RETR f"), A(0), Incoming, Data(6, 100), L("STAT"),
            Data(7, 200), L("LIST"), L("PASV"), Listening(50002), Foreign, Incoming, L("LIST"), A(0),
            L("ABOR"), L("EPSV ALL"), L("PASV"), L("PORT 127,0,0,1,4,1"), L("EPSV"), Listening(50003),
            L("NLST"), A(0), Incoming, Data(7, 5), L("QUIT"),
        ])),
        // AUTH TLS with a command pipelined behind it and another sent
        // during the handshake (L1), PROT P, an upload failing, REIN.
        ("auth-tls", seed(2, 2, 0, &[
            Raw(b"AUTH TLS\r\nUSER evil\r\n"), L("PASS x"), Tls, L("PBSZ 0"), L("PROT P"), L("USER alice"),
            L("PASS x"), A(0), L("EPSV"), Listening(50004), L("STOR f"), A(0), Incoming, Failed(10, 4),
            L("REIN"), Tls, Time(7, true),
        ])),
        // PORT to a third host and to port 20 refused (D1), then an
        // active RETR with REIN and QUIT during the transfer (X2).
        ("active", seed(1, 2, 0, &[
            L("PORT 127,0,0,2,4,1"), L("PORT 127,0,0,1,0,20"), L("PORT 127,0,0,1,4,1"), L("RETR f"), A(0),
            Connected, L("REIN"), L("QUIT"), Data(7, 7), L("NOOP"), StaleAnswer, Shutdown,
        ])),
        // Short timeouts: a data connection never made (C2), a stalled
        // upload, the login and idle timeouts (C1).
        ("timeouts", seed(1, 2, 0xF0, &[
            L("PASV"), Listening(50005), L("RETR f"), A(0), Time(3, true), L("STOR f"), A(0), Time(5, true),
            L("REIN"), L("USER anonymous"), L("PASS x"), Time(2, false), Time(0, true), Time(7, true),
        ])),
        // Strict parsing, 64-byte lines, SITE on: lines split across
        // reads, the requests of SITE, SIZE, MDTM, MLST and STAT with a
        // path, an arbitrary command (PWD), an HTTP request (S3), EOF.
        ("commands", seed(0x82, 0x19, 0, &[
            Raw(b"USER a\r\nPA"), Raw(b"SS b\r\nSITE x\r\n"), A(0), A(0), L("HELP"), L("FEAT"), L("SIZE f"),
            A(0), L("MDTM f"), A(0), L("MLST f"), A(0), L("STAT f"), A(0), Cmd(&[25]), L("GET / HTTP/1.1"),
            Eof,
        ])),
    ]
}

/// The fuzz body on the seeds, so `cargo test` runs it; and the seed
/// files, when the repository's `fuzz/` is there, are these seeds
/// (`FTPKIT_WRITE_SEEDS=1` rewrites them).
#[test]
fn server_session_runs_on_seeds() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/server_session");
    for (name, seed) in seeds() {
        server_session(&seed);
        if std::env::var_os("FTPKIT_WRITE_SEEDS").is_some() {
            std::fs::write(corpus.join(format!("seed-{name}")), &seed).expect("write the seed");
        }
        if let Ok(file) = std::fs::read(corpus.join(format!("seed-{name}"))) {
            assert_eq!(file, seed, "fuzz/corpus/server_session/seed-{name} differs from its builder");
        }
    }
}

/// Edge inputs: empty, config only, refused session, all ones.
#[test]
fn server_session_runs_on_edge_inputs() {
    server_session(b"");
    server_session(&[1, 2, 3, 4, 5]);
    server_session(&[0, 0, 0, 0, 7, 0, 30, 12, 0, 6]);
    server_session(&[0xFF; 300]);
    server_session(&(0..=255).collect::<Vec<u8>>());
}
