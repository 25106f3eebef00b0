//! The `client_session` fuzz body (`ftp_session::fuzzing::client_session`)
//! on fixed seeds, so every `cargo test --all-features` runs it; and the
//! seed files of `fuzz/corpus/client_session/seed-*` are these seeds
//! (`FTPKIT_WRITE_SEEDS=1` rewrites them).

#![cfg(feature = "__fuzz")]

use ftp_session::fuzzing::client_session;

/// Operations, as `client_session` numbers them (`b % 32`; `b / 32` picks
/// the path).
mod op {
    pub(crate) const LOGIN: u8 = 0;
    pub(crate) const LOGIN_ACCT: u8 = 2;
    pub(crate) const RETR: u8 = 3;
    pub(crate) const RETR_REST: u8 = 4;
    pub(crate) const STOR: u8 = 5;
    pub(crate) const STOU: u8 = 8;
    pub(crate) const LIST_AUTO: u8 = 9;
    pub(crate) const MLSD: u8 = 12;
    pub(crate) const RENAME: u8 = 13;
    pub(crate) const PWD: u8 = 14;
    pub(crate) const SIZE: u8 = 20;
    pub(crate) const MLST: u8 = 23;
    pub(crate) const STAT: u8 = 26;
    pub(crate) const REIN: u8 = 29;
    pub(crate) const QUIT: u8 = 30;
}

/// Data events (the step's event byte).
mod ev {
    pub(crate) const CONNECTED: u8 = 0;
    pub(crate) const CONNECT_FAILED: u8 = 1;
    pub(crate) const LISTENING: u8 = 2;
    pub(crate) const FROM_PEER: u8 = 4;
    pub(crate) const FOREIGN: u8 = 5;
    pub(crate) const FINISHED: u8 = 6;
    pub(crate) const FAILED: u8 = 7;
}

/// Builds inputs in the layout of `client_session`.
struct Seed(Vec<u8>);

impl Seed {
    /// Config bytes `a` and `b`, the first operation.
    fn new(a: u8, b: u8, first: u8) -> Self {
        Self(vec![a, b, first])
    }
    /// Config with a raw greeting (bit 7 of `b` set).
    fn with_greeting(a: u8, b: u8, first: u8, greeting: &[u8]) -> Self {
        let mut v = vec![a, b | 0x80, first, u8::try_from(greeting.len()).expect("short")];
        v.extend_from_slice(greeting);
        Self(v)
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Server bytes, in reads of at most 96 bytes.
    fn raw(mut self, wire: &[u8]) -> Self {
        for chunk in wire.chunks(96) {
            self = self.bytes(&[0, u8::try_from(chunk.len()).expect("short")]).bytes(chunk);
        }
        self
    }
    fn start(self, op: u8) -> Self {
        self.bytes(&[12, op])
    }
    fn data(self, event: u8) -> Self {
        self.bytes(&[9, event])
    }
    fn data_n(self, event: u8, n: u16) -> Self {
        self.bytes(&[9, event]).bytes(&n.to_le_bytes())
    }
    fn tls(self) -> Self {
        self.bytes(&[7])
    }
    /// Clock step `step` (0 s, 1 ms, 1 s, 29 s, 30 s, 59 s, 60 s, 1 h), then a timeout.
    fn time(self, step: u8) -> Self {
        self.bytes(&[8, step])
    }
    fn abort(self) -> Self {
        self.bytes(&[14])
    }
    fn eof(self) -> Self {
        self.bytes(&[15])
    }
}

const FEAT: &[u8] = b"211-Features:\r\n EPSV\r\n EPRT\r\n SIZE\r\n MDTM\r\n MLST type*;size*;modify*;\r\n \
REST STREAM\r\n UTF8\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n";

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let s = |seed: Seed| seed.0;
    vec![
        // USER/PASS, FEAT (split over reads), OPTS UTF8, PWD, SIZE, MLST,
        // STAT with digit-leading lines, rename, QUIT, then input after close.
        (
            "login-feat",
            s(Seed::new(0x40, 0, op::LOGIN)
                .raw(b"331 Password required\r\n")
                .raw(b"230 Logged in\r\n")
                .raw(FEAT)
                .raw(b"200 UTF8 on\r\n")
                .start(op::PWD)
                .raw(b"257 \"/home/\"\"alice\"\"\" is current\r\n")
                .start(op::SIZE)
                .raw(b"213 1234\r\n")
                .start(op::MLST)
                .raw(b"250-Listing f\r\n type=file;size=10; f\r\n250 End\r\n")
                .start(op::STAT)
                .raw(b"211-Status\r\n226 inside\r\n211 End\r\n")
                .start(op::RENAME)
                .raw(b"350 Ready\r\n")
                .raw(b"250 Renamed\r\n")
                .start(op::QUIT)
                .raw(b"221 Goodbye\r\n")
                .raw(b"200 late\r\n")
                .eof()),
        ),
        // Passive: EPSV refused then PASV with a NAT address, 226 before the
        // data EOF, PASV remembered, 227 without parentheses, 150 and 226
        // in one read, a short download (R5), ABOR with 426 + 226.
        (
            "pasv-retr",
            s(Seed::new(0, 0, op::LOGIN)
                .raw(b"230 Logged in\r\n")
                .start(op::RETR)
                .raw(b"200 Type I\r\n")
                .raw(b"502 EPSV not implemented\r\n")
                .raw(b"227 Entering Passive Mode (10,0,0,5,195,80).\r\n")
                .data(ev::CONNECTED)
                .raw(b"150 Opening (100 bytes)\r\n")
                .raw(b"226 Done\r\n")
                .data_n(ev::FINISHED, 100)
                .start(op::LIST_AUTO)
                .raw(b"200 Type A\r\n")
                .raw(b"227 Entering Passive Mode 127,0,0,1,195,81\r\n")
                .data(ev::CONNECTED)
                .raw(b"150 Here it comes\r\n226 Done\r\n")
                .data_n(ev::FINISHED, 0)
                .start(op::RETR)
                .raw(b"200 Type I\r\n")
                .raw(b"227 (127,0,0,1,195,82)\r\n")
                .data(ev::CONNECTED)
                .raw(b"150 Opening (100 bytes)\r\n")
                .data_n(ev::FINISHED, 99)
                .raw(b"226 Done\r\n")
                .start(op::RETR)
                .raw(b"227 (127,0,0,1,195,83)\r\n")
                .data(ev::CONNECTED)
                .raw(b"150 Opening\r\n")
                .abort()
                .raw(b"426 Aborted\r\n")
                .raw(b"226 Abort ok\r\n")
                .start(op::RETR)
                .raw(b"227 (127,0,0,1,195,84)\r\n")
                .data(ev::CONNECT_FAILED)),
        ),
        // Active mode: PORT, a foreign connection rejected (D4), the peer's
        // accepted, upload; a resumed download with REST; a 421 mid-transfer.
        (
            "active",
            s(Seed::new(0x04, 0, op::LOGIN_ACCT)
                .raw(b"331 Password required\r\n")
                .raw(b"332 Need account\r\n")
                .raw(b"230 Logged in\r\n")
                .start(op::STOR)
                .raw(b"200 Type I\r\n")
                .data_n(ev::LISTENING, 50001)
                .raw(b"200 PORT ok\r\n")
                .raw(b"150 Ok to send data\r\n")
                .data(ev::FOREIGN)
                .data(ev::FROM_PEER)
                .data_n(ev::FINISHED, 5)
                .raw(b"226 Done\r\n")
                .start(op::RETR_REST)
                .data_n(ev::LISTENING, 50002)
                .raw(b"200 PORT ok\r\n")
                .raw(b"350 Restarting\r\n")
                .data(ev::FROM_PEER)
                .raw(b"150 Opening\r\n")
                .raw(b"110 MARK 10 = 20\r\n")
                .raw(b"421 Service not available\r\n")
                .data_n(ev::FINISHED, 1)),
        ),
        // Explicit FTPS: AUTH TLS, 234, handshake, login, PBSZ, PROT P, a
        // PROT P listing, REIN (TLS dropped), then a 234 with a reply
        // pipelined behind it (L2): fatal.
        (
            "auth-tls",
            s(Seed::new(0x01, 0, op::LOGIN)
                .raw(b"234 Proceed\r\n")
                .tls()
                .raw(b"331 Password required\r\n")
                .raw(b"230 Logged in\r\n")
                .raw(b"200 PBSZ=0\r\n")
                .raw(b"200 PROT P\r\n")
                .start(op::MLSD)
                .raw(b"200 Type A\r\n")
                .raw(b"229 (|||50000|)\r\n")
                .data(ev::CONNECTED)
                .raw(b"150 Listing\r\n")
                .data_n(ev::FINISHED, 10)
                .raw(b"226 Done\r\n")
                .start(op::REIN)
                .raw(b"220 Ready\r\n")
                .start(op::LOGIN)
                .raw(b"234 Proceed\r\n230 Injected\r\n")
                .tls()),
        ),
        // Implicit FTPS over IPv6 with a 230 greeting (A8), EPRT, STOU;
        // bytes during an explicit handshake are covered by `auth-tls`.
        (
            "implicit-ipv6",
            s(Seed::with_greeting(0x07, 0x01, op::LOGIN, b"120 wait\r\n230 Already in\r\n")
                .raw(b"230 Logged in\r\n")
                .raw(b"200 PBSZ=0\r\n")
                .raw(b"200 PROT P\r\n")
                .start(op::STOU)
                .raw(b"200 Type I\r\n")
                .data_n(ev::LISTENING, 50003)
                .raw(b"200 EPRT ok\r\n")
                .data(ev::FROM_PEER)
                .raw(b"150 FILE: ftpkit.upload.1\r\n")
                .data_n(ev::FAILED, 3)
                .raw(b"226 Done\r\n")),
        ),
        // Keep-alive NOOP when idle, a reply timeout, an unterminated
        // multi-line reply, 64-byte lines overflowing.
        (
            "timeouts",
            s(Seed::new(0x80, 0x08, op::LOGIN)
                .raw(b"230 Logged in\r\n")
                .time(3)
                .time(2)
                .raw(b"200 NOOP ok\r\n")
                .start(op::PWD)
                .raw(b"257-first line\r\n more\r\n")
                .time(6)
                .raw(b"257 \"/a very long path name that goes past the sixty four byte line limit\"\r\n")),
        ),
    ]
}

/// The fuzz body on the seeds; the seed files, when the repository's
/// `fuzz/` is there, are these seeds.
#[test]
fn client_session_runs_on_seeds() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/client_session");
    for (name, seed) in seeds() {
        client_session(&seed);
        if std::env::var_os("FTPKIT_WRITE_SEEDS").is_some() {
            std::fs::create_dir_all(&corpus).expect("create the corpus directory");
            std::fs::write(corpus.join(format!("seed-{name}")), &seed).expect("write the seed");
        }
        if let Ok(file) = std::fs::read(corpus.join(format!("seed-{name}"))) {
            assert_eq!(file, seed, "fuzz/corpus/client_session/seed-{name} differs from its builder");
        }
    }
}

/// Edge inputs: empty, config only, every config byte, all ones, a ramp.
#[test]
fn client_session_runs_on_edge_inputs() {
    client_session(b"");
    client_session(&[0x40]);
    for a in 0..=255u8 {
        client_session(&[a, a.rotate_left(3), a, 4, 0, 10, b'2', b'2', b'0', b' ', b'x', b'\r', b'\n']);
    }
    client_session(&[0xFF; 300]);
    client_session(&(0..=255).collect::<Vec<u8>>());
    client_session(&(0..=255).rev().collect::<Vec<u8>>());
}
