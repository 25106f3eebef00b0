//! Decodes an FTP control-connection transcript and prints what the codec
//! makes of each line: typed commands for `C:` lines, typed replies (with the
//! data they carry) for `S:` lines.
//!
//! ```sh
//! cargo run -p ftp-proto --example transcript              # a built-in session
//! cargo run -p ftp-proto --example transcript -- FILE      # your own transcript
//! ```
//!
//! A transcript holds lines starting `C: ` (client) or `S: ` (server);
//! `\r\n` is added to each. Other lines are ignored.

use bytes::BytesMut;
use ftp_proto::{CommandDecoder, ParseOptions, Reply, ReplyCode, ReplyDecoder};

const SAMPLE: &str = r#"S: 220 (vsFTPd 3.0.5)
C: USER anonymous
S: 331 Please specify the password.
C: PASS guest@example.com
S: 230 Login successful.
C: FEAT
S: 211-Features:
S:  EPRT
S:  EPSV
S:  MDTM
S:  MLST type*;size*;modify*;
S:  PASV
S:  REST STREAM
S:  SIZE
S:  TVFS
S:  UTF8
S: 211 End
C: PWD
S: 257 "/pub/my ""quoted"" dir" is the current directory
C: TYPE I
S: 200 Switching to Binary mode.
C: SIZE annual report.pdf
S: 213 73421
C: EPSV
S: 229 Entering Extended Passive Mode (|||40011|)
C: PASV
S: 227 Entering Passive Mode (192,168,1,20,156,75).
C: REST 1024
S: 350 Restart position accepted (1024).
C: RETR annual report.pdf
S: 150 Opening BINARY mode data connection for annual report.pdf (73421 bytes).
S: 226 Transfer complete.
C: PORT 127,0,0,1,300,1
C: MDTM 19990929043300 File6
C: QUIT
S: 221 Goodbye.
"#;

fn describe(reply: &Reply) -> String {
    let data = match reply.code() {
        ReplyCode::ENTERING_PASSIVE_MODE => format!("{:?}", reply.passive_addr()),
        ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => format!("port {:?}", reply.extended_passive_port()),
        ReplyCode::PATHNAME_CREATED => format!("{:?}", reply.pathname()),
        ReplyCode::FILE_STATUS => format!("size {:?} / time {:?}", reply.size().ok(), reply.modification_time().ok()),
        ReplyCode::FILE_STATUS_OK => format!("announced size {:?}", reply.transfer_size()),
        ReplyCode::FILE_ACTION_PENDING => format!("restart offset {:?}", reply.restart_offset()),
        ReplyCode::SYSTEM_STATUS => match reply.features() {
            Ok(f) => {
                let names: Vec<String> = f.map(|f| String::from_utf8_lossy(f.name()).into_owned()).collect();
                format!("features {names:?}")
            }
            Err(e) => e.to_string(),
        },
        _ => String::new(),
    };
    format!("{} ({} line(s)) {data}", reply.code(), reply.lines().len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => SAMPLE.to_owned(),
    };
    let mut commands = CommandDecoder::new(ParseOptions::default());
    let mut replies = ReplyDecoder::new(ParseOptions::default());
    let (mut cbuf, mut sbuf) = (BytesMut::new(), BytesMut::new());
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("C: ") {
            cbuf.extend_from_slice(c.as_bytes());
            cbuf.extend_from_slice(b"\r\n");
            while let Some(item) = commands.decode(&mut cbuf) {
                match item {
                    Ok(cmd) => println!("C  {cmd}\n     = {cmd:?}"),
                    Err(e) => println!("C  error: {e} -> a server answers {}", e.reply_code()),
                }
            }
        } else if let Some(s) = line.strip_prefix("S: ") {
            sbuf.extend_from_slice(s.as_bytes());
            sbuf.extend_from_slice(b"\r\n");
            while let Some(item) = replies.decode(&mut sbuf) {
                match item {
                    Ok(reply) => println!("S  {}", describe(&reply)),
                    Err(e) => println!("S  error: {e}"),
                }
            }
        }
    }
    Ok(())
}
