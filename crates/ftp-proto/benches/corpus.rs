//! The benchmark corpus: both directions of realistic FTP control sessions.
//!
//! Shared by `benches/decode.rs` and `tests/alloc.rs` (through `#[path]`), so
//! the throughput figures and the allocation counts come from the same bytes.
//!
//! Each session is what a graphical client (FileZilla, WinSCP) or `lftp`
//! sends to a vsftpd, ProFTPD or Pure-FTPd server, and what it answers:
//! greeting (multi-line for Pure-FTPd), login, `SYST`, multi-line `FEAT`,
//! `OPTS UTF8 ON`, `PWD`, `TYPE I`, then a random mix of directory listings
//! (`EPSV`+`MLSD`, `PASV`+`LIST -la`, `PORT`+`LIST`, `EPRT`+`NLST`),
//! downloads (`SIZE`, `MDTM`, `REST`, `RETR` with a `150 ... (N bytes)`),
//! uploads, renames, deletes, `MKD`/`RMD`, `STAT` and `HELP` (multi-line),
//! `SITE CHMOD` and failures (`550`), and `QUIT`. Pathnames have spaces and,
//! in some directories, UTF-8. A seeded generator varies names, sizes and
//! ports from session to session, so neither the branch predictor nor the
//! line lengths see one short loop.

use std::io::Write as _;

/// Every stream is filled with whole sessions up to at least this size.
pub(crate) const TARGET_BYTES: usize = 1 << 20;

/// One direction of the control channel: CRLF-terminated lines.
pub(crate) struct Stream {
    /// The wire bytes.
    pub(crate) bytes: Vec<u8>,
    /// Commands, or replies (a multi-line reply counts once).
    pub(crate) messages: usize,
    /// Lines (CRLF count).
    pub(crate) lines: usize,
}

impl Stream {
    fn new() -> Self {
        Self { bytes: Vec::new(), messages: 0, lines: 0 }
    }

    fn append(&mut self, other: &Self) {
        self.bytes.extend_from_slice(&other.bytes);
        self.messages += other.messages;
        self.lines += other.lines;
    }
}

/// The three byte streams the benchmark and the allocation test decode.
pub(crate) struct Corpus {
    /// Every client command of the sessions.
    pub(crate) commands: Stream,
    /// Only the commands `libftp` 0.1.0 understands: RFC 959 verbs with
    /// ASCII arguments (no `FEAT`, `OPTS`, `EPSV`, `EPRT`, `MLSD`, `SIZE`,
    /// `MDTM`, no UTF-8 pathnames), taken from the same sessions.
    pub(crate) common: Stream,
    /// Every server reply of the sessions.
    pub(crate) replies: Stream,
    /// How many of the replies span several lines.
    pub(crate) multiline_replies: usize,
}

/// Builds the corpus: each stream holds whole sessions and at least
/// [`TARGET_BYTES`]. Deterministic: the same bytes on every run.
pub(crate) fn build() -> Corpus {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut corpus =
        Corpus { commands: Stream::new(), common: Stream::new(), replies: Stream::new(), multiline_replies: 0 };
    while corpus.commands.bytes.len() < TARGET_BYTES
        || corpus.common.bytes.len() < TARGET_BYTES
        || corpus.replies.bytes.len() < TARGET_BYTES
    {
        let s = session(&mut rng);
        if corpus.commands.bytes.len() < TARGET_BYTES {
            corpus.commands.append(&s.commands);
        }
        if corpus.common.bytes.len() < TARGET_BYTES {
            corpus.common.append(&s.common);
        }
        if corpus.replies.bytes.len() < TARGET_BYTES {
            corpus.replies.append(&s.replies);
            corpus.multiline_replies += s.multiline_replies;
        }
    }
    corpus
}

/// RFC 959 verbs that `libftp` 0.1.0 parses. `SMNT` is left out (its parser
/// matches a misspelt `SNMT` and panics on `SMNT`), so is `ALLO` (it reads the
/// size as a binary big-endian i64), and `STOU` is never sent with an argument.
const LIBFTP_VERBS: &[&[u8]] = &[
    b"USER", b"PASS", b"ACCT", b"CWD", b"CDUP", b"REIN", b"QUIT", b"PORT", b"PASV", b"TYPE", b"STRU", b"MODE", b"RETR",
    b"STOR", b"STOU", b"APPE", b"REST", b"RNFR", b"RNTO", b"ABOR", b"DELE", b"RMD", b"MKD", b"PWD", b"LIST", b"NLST",
    b"SITE", b"SYST", b"STAT", b"HELP", b"NOOP",
];

/// Whether `libftp` 0.1.0 understands this command line (without CRLF).
pub(crate) fn libftp_understands(line: &[u8]) -> bool {
    let verb = line.split(|&b| b == b' ').next().unwrap_or_default();
    line.is_ascii() && LIBFTP_VERBS.iter().any(|v| v.eq_ignore_ascii_case(verb))
}

/// xorshift64*: small, seeded, good enough to vary a corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What one kind of server says; the texts are the real servers'.
struct Server {
    greeting: &'static [&'static str],
    password: &'static str,
    login: &'static [&'static str],
    feat: &'static [&'static str],
    utf8: &'static str,
    type_i: &'static str,
    cwd: &'static str,
    list_open: &'static str,
    list_done: &'static [&'static str],
    retr_open: &'static str,
    stor_open: &'static str,
    done: &'static str,
    port_ok: &'static str,
    rnfr: &'static str,
    rnto: &'static str,
    dele: &'static str,
    no_file: &'static str,
    stat: &'static [&'static str],
    help: &'static [&'static str],
}

const VSFTPD: Server = Server {
    greeting: &["(vsFTPd 3.0.5)"],
    password: "Please specify the password.",
    login: &["Login successful."],
    feat: &["Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " TVFS", " UTF8", "End"],
    utf8: "Always in UTF8 mode.",
    type_i: "Switching to Binary mode.",
    cwd: "Directory successfully changed.",
    list_open: "Here comes the directory listing.",
    list_done: &["Directory send OK."],
    retr_open: "Opening BINARY mode data connection for",
    stor_open: "Ok to send data.",
    done: "Transfer complete.",
    port_ok: "PORT command successful. Consider using PASV.",
    rnfr: "Ready for RNTO.",
    rnto: "Rename successful.",
    dele: "Delete operation successful.",
    no_file: "Failed to open file.",
    stat: &[
        "FTP server status:",
        "     Connected to 198.51.100.7",
        "     Logged in as alice",
        "     TYPE: BINARY",
        "     No session bandwidth limit",
        "     Session timeout in seconds is 300",
        "     Control connection is plain text",
        "     Data connections will be plain text",
        "     At session startup, client count was 3",
        "     vsFTPd 3.0.5 - secure, fast, stable",
        "End of status",
    ],
    help: &[
        "The following commands are recognized.",
        " ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD",
        " MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR",
        " RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD",
        " XPWD XRMD",
        "Help OK.",
    ],
};

const PROFTPD: Server = Server {
    greeting: &["ProFTPD Server (Debian) [192.0.2.10]"],
    password: "Password required for alice",
    login: &["User alice logged in"],
    feat: &[
        "Features:",
        " AUTH TLS",
        " CCC",
        " CLNT",
        " EPRT",
        " EPSV",
        " HOST",
        " LANG en-US.UTF-8*;en-US",
        " MDTM",
        " MFF modify;UNIX.group;UNIX.mode;",
        " MFMT",
        " MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.groupname*;UNIX.mode*;UNIX.owner*;UNIX.ownername*;",
        " PBSZ",
        " PROT",
        " REST STREAM",
        " SIZE",
        " SSCN",
        " TVFS",
        " UTF8",
        "End",
    ],
    utf8: "UTF8 set to on",
    type_i: "Type set to I",
    cwd: "CWD command successful",
    list_open: "Opening ASCII mode data connection for file list",
    list_done: &["Transfer complete"],
    retr_open: "Opening BINARY mode data connection for",
    stor_open: "Opening BINARY mode data connection for upload",
    done: "Transfer complete",
    port_ok: "PORT command successful",
    rnfr: "File or directory exists, ready for destination name",
    rnto: "Rename successful",
    dele: "DELE command successful",
    no_file: "No such file or directory",
    stat: &[
        "Status of 'ProFTPD Server (Debian)'",
        " Connected from 198.51.100.7 (198.51.100.7)",
        " Logged in as alice",
        " TYPE: BINARY, STRUcture: File, Mode: Stream",
        " No data connection",
        "End of status",
    ],
    help: &[
        "The following commands are recognized (* =>'s unimplemented):",
        " CWD     XCWD    CDUP    XCUP    SMNT*   QUIT    PORT    PASV    ",
        " EPRT    EPSV    ALLO    RNFR    RNTO    DELE    MDTM    RMD     ",
        " XRMD    MKD     XMKD    PWD     XPWD    SIZE    SYST    HELP    ",
        " NOOP    FEAT    OPTS    HOST    CLNT    AUTH*   CCC*    CONF*   ",
        " ENC*    MIC*    PBSZ*   PROT*   TYPE    STRU    MODE    RETR    ",
        " STOR    STOU    APPE    REST    ABOR    RANG    USER    PASS    ",
        " ACCT*   REIN*   LIST    NLST    STAT    SITE    MLSD    MLST    ",
        "Direct comments to ftpmaster@example.com",
    ],
};

const PURE_FTPD: Server = Server {
    greeting: &[
        "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------",
        "You are user number 2 of 50 allowed.",
        "Local time is now 14:07. Server port: 21.",
        "This is a private system - No anonymous login",
        "IPv6 connections are also welcome on this server.",
        "You will be disconnected after 15 minutes of inactivity.",
    ],
    password: "User alice OK. Password required",
    login: &["OK. Current directory is /"],
    feat: &[
        "Extensions supported:",
        " UTF8",
        " EPRT",
        " IDLE",
        " MDTM",
        " SIZE",
        " MFMT",
        " REST STREAM",
        " MLST type*;size*;sizd*;modify*;UNIX.mode*;UNIX.uid*;UNIX.gid*;unique*;",
        " MLSD",
        " PRET",
        " AUTH TLS",
        " PBSZ",
        " PROT",
        " TVFS",
        " ESTA",
        " PASV",
        " EPSV",
        " ESTP",
        "End.",
    ],
    utf8: "OK, UTF-8 enabled",
    type_i: "TYPE is now 8-bit binary",
    cwd: "OK. Current directory is now the requested one",
    list_open: "Accepted data connection",
    list_done: &["Options: -a -l ", "14 matches total"],
    retr_open: "Accepted data connection for",
    stor_open: "Accepted data connection",
    done: "File successfully transferred",
    port_ok: "PORT command successful",
    rnfr: "RNFR accepted - file exists, ready for destination",
    rnto: "File successfully renamed or moved",
    dele: "Deleted",
    no_file: "Can't open that file: No such file or directory",
    stat: &[
        "Pure-FTPd - http://pureftpd.org/",
        "    Connected to 198.51.100.7",
        "    Logged in as alice",
        "    TYPE: BINARY",
        "End.",
    ],
    help: &[
        "The following SITE commands are recognized",
        " ALIAS",
        " CHMOD",
        " IDLE",
        " UTIME",
        "Pure-FTPd - http://pureftpd.org/",
    ],
};

const SERVERS: &[Server] = &[VSFTPD, PROFTPD, PURE_FTPD];

const USERS: &[(&str, &str)] = &[
    ("anonymous", "anonymous@example.com"),
    ("alice", "correct horse battery staple"),
    ("backup-svc", "Xk9#mP2$vL7q"),
    ("www-data", "s3cr3t"),
];

const DIRS: &[&str] = &[
    "/pub",
    "/pub/Annual Reports/2024",
    "/home/alice/My Documents",
    "/srv/ftp/incoming",
    "/data/backups/2024-06",
    "/var/www/html/wp-content/uploads/2024/06",
    "/photos/Summer Holiday 2023",
    "/pub/Jahresberichte/Übersicht 2024",
    "/home/alice/Документы",
    "releases/v2.1.0",
];

const FILES: &[&str] = &[
    "annual report.pdf",
    "index.html",
    "backup-2024-06-01.tar.gz",
    "IMG_20230714_153012.jpg",
    "README.txt",
    "setup v2.1.0 (x64).exe",
    "very long file name with several spaces - final version (2).docx",
    "ls-lR.gz",
    "data export 2024-Q2.csv",
    "Jahresübersicht 2024.xlsx",
    "résumé.pdf",
    "wp-config.php",
];

/// The three streams of one session.
struct Session {
    commands: Stream,
    common: Stream,
    replies: Stream,
    multiline_replies: usize,
}

impl Session {
    fn command(&mut self, line: &str) {
        push_command(&mut self.commands, line);
        if libftp_understands(line.as_bytes()) {
            push_command(&mut self.common, line);
        }
    }

    /// A reply of one or more lines: first `ddd-`, middle lines as given,
    /// last `ddd ` (RFC 959 4.2).
    fn reply(&mut self, code: u16, lines: &[&str]) {
        let out = &mut self.replies;
        match lines {
            [] => unreachable!("a reply has at least one line"),
            [only] => write!(out.bytes, "{code} {only}\r\n").expect("write to a Vec"),
            [first, middle @ .., last] => {
                write!(out.bytes, "{code}-{first}\r\n").expect("write to a Vec");
                for line in middle {
                    write!(out.bytes, "{line}\r\n").expect("write to a Vec");
                }
                write!(out.bytes, "{code} {last}\r\n").expect("write to a Vec");
                self.multiline_replies += 1;
            }
        }
        out.messages += 1;
        out.lines += lines.len();
    }

    fn reply1(&mut self, code: u16, text: &str) {
        self.reply(code, &[text]);
    }
}

fn push_command(stream: &mut Stream, line: &str) {
    stream.bytes.extend_from_slice(line.as_bytes());
    stream.bytes.extend_from_slice(b"\r\n");
    stream.messages += 1;
    stream.lines += 1;
}

/// One control session, client and server side.
fn session(rng: &mut Rng) -> Session {
    let mut s =
        Session { commands: Stream::new(), common: Stream::new(), replies: Stream::new(), multiline_replies: 0 };
    let server = rng.pick(SERVERS);
    let (user, pass) = *rng.pick(USERS);

    s.reply(220, server.greeting);
    s.command(&format!("USER {user}"));
    s.reply1(331, server.password);
    s.command(&format!("PASS {pass}"));
    s.reply(230, server.login);
    s.command("SYST");
    s.reply1(215, "UNIX Type: L8");
    s.command("FEAT");
    s.reply(211, server.feat);
    s.command("OPTS UTF8 ON");
    s.reply1(200, server.utf8);
    s.command("PWD");
    s.reply1(257, "\"/\" is the current directory");
    s.command("TYPE I");
    s.reply1(200, server.type_i);

    let mut cwd = "/";
    for _ in 0..4 + rng.below(12) {
        match rng.below(12) {
            0..=2 => {
                cwd = *rng.pick(DIRS);
                s.command(&format!("CWD {cwd}"));
                s.reply1(250, server.cwd);
                listing(rng, &mut s, server, cwd);
            }
            3..=5 => download(rng, &mut s, server),
            6 => upload(rng, &mut s, server),
            7 => {
                let from = rng.pick(FILES);
                let to = rng.pick(FILES);
                s.command(&format!("RNFR {from}"));
                s.reply1(350, server.rnfr);
                s.command(&format!("RNTO old/{to}"));
                s.reply1(250, server.rnto);
            }
            8 => {
                let file = rng.pick(FILES);
                s.command(&format!("DELE {file}"));
                if rng.chance(70) {
                    s.reply1(250, server.dele);
                } else {
                    s.reply1(550, server.no_file);
                }
            }
            9 => {
                let dir = format!("new folder {}", rng.below(100));
                s.command(&format!("MKD {dir}"));
                let created = if cwd.ends_with('/') { format!("{cwd}{dir}") } else { format!("{cwd}/{dir}") };
                s.reply1(257, &format!("\"{created}\" created"));
                s.command(&format!("RMD {dir}"));
                s.reply1(250, "Remove directory operation successful.");
            }
            10 => {
                s.command("CDUP");
                s.reply1(250, server.cwd);
                s.command("NOOP");
                s.reply1(200, "NOOP ok.");
                s.command(&format!("SITE CHMOD 644 {}", rng.pick(FILES)));
                s.reply1(200, "SITE CHMOD command successful");
            }
            _ => {
                if rng.chance(50) {
                    s.command("STAT");
                    s.reply(211, server.stat);
                } else {
                    s.command("HELP");
                    s.reply(214, server.help);
                }
            }
        }
    }
    s.command("QUIT");
    s.reply1(221, "Goodbye.");
    s
}

/// Opens a data connection the way clients do, in one of four modes.
fn data_connection(rng: &mut Rng, s: &mut Session, server: &Server) -> u8 {
    let port = 30_000 + rng.below(30_000);
    let mode = rng.below(4) as u8;
    match mode {
        0 => {
            s.command("EPSV");
            s.reply1(229, &format!("Entering Extended Passive Mode (|||{port}|)"));
        }
        1 => {
            s.command("PASV");
            s.reply1(227, &format!("Entering Passive Mode (192,0,2,10,{},{}).", port / 256, port % 256));
        }
        2 => {
            s.command(&format!("PORT 198,51,100,7,{},{}", port / 256, port % 256));
            s.reply1(200, server.port_ok);
        }
        _ => {
            if rng.chance(50) {
                s.command(&format!("EPRT |1|198.51.100.7|{port}|"));
            } else {
                s.command(&format!("EPRT |2|2001:db8::7|{port}|"));
            }
            s.reply1(200, "EPRT command successful");
        }
    }
    mode
}

fn listing(rng: &mut Rng, s: &mut Session, server: &Server, dir: &str) {
    let mode = data_connection(rng, s, server);
    match mode {
        0 => s.command("MLSD"),
        1 => s.command("LIST -la"),
        2 => s.command(&format!("LIST {dir}")),
        _ => s.command("NLST"),
    }
    s.reply1(150, server.list_open);
    s.reply(226, server.list_done);
}

fn download(rng: &mut Rng, s: &mut Session, server: &Server) {
    let file = rng.pick(FILES);
    let size = rng.next() % 5_000_000_000;
    s.command(&format!("SIZE {file}"));
    s.reply1(213, &size.to_string());
    s.command(&format!("MDTM {file}"));
    s.reply1(
        213,
        &format!(
            "2024{:02}{:02}{:02}{:02}{:02}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        ),
    );
    if rng.chance(25) {
        let offset = size / 2;
        s.command(&format!("REST {offset}"));
        s.reply1(350, &format!("Restart position accepted ({offset})."));
    }
    data_connection(rng, s, server);
    if rng.chance(10) {
        s.command(&format!("RETR missing/{file}"));
        s.reply1(550, server.no_file);
        return;
    }
    s.command(&format!("RETR {file}"));
    s.reply1(150, &format!("{} {file} ({size} bytes)", server.retr_open));
    s.reply1(226, server.done);
}

fn upload(rng: &mut Rng, s: &mut Session, server: &Server) {
    let file = rng.pick(FILES);
    data_connection(rng, s, server);
    if rng.chance(20) {
        s.command(&format!("APPE uploads/{file}"));
    } else {
        s.command(&format!("STOR uploads/{file}"));
    }
    s.reply1(150, server.stor_open);
    s.reply1(226, server.done);
}
