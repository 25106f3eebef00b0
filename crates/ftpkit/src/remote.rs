//! The client subcommands: `get`, `put`, `ls`, `mkdir`, `rm`, `rmdir`, `mv`.
//!
//! Each connects, logs in, does one thing and quits. Failures are one line
//! on stderr and an exit code that says which kind of failure it was
//! ([`Failure::code`]), so scripts can tell a refused login from a missing
//! file from an unreachable host.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ftp_proto::listing::{Entry, EntryKind, ListingTime, Precision, Zone};
use ftp_session::client::{ClientConfig, DataMode, OpError, PasvPolicy};
use ftp_tokio::client::{Client, ClientError, ClientOptions, FtpUrl, Line, Security};
use ftp_tokio::pace::Paced;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::credentials::{FromUrl, Sources, default_netrc, resolve};
use crate::display::{escape, escape_bytes};

/// Options every client subcommand takes.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Connection {
    /// Active mode: the server connects back (PORT/EPRT) instead of passive.
    #[arg(long)]
    active: bool,
    /// Accept any TLS certificate (self-signed servers): encrypted but not
    /// authenticated.
    #[arg(long)]
    insecure: bool,
    /// Implicit FTPS (TLS from the first byte, usually port 990) instead of
    /// the explicit `AUTH TLS` that `ftps://` means.
    #[arg(long)]
    implicit: bool,
    /// Passive mode with PASV only, never EPSV (for middleboxes that mangle
    /// EPSV), as curl's option of the same name.
    #[arg(long)]
    disable_epsv: bool,
    /// Transfer files as text (TYPE A): CRLF on the wire, local line ends
    /// (LF) on disk.
    #[arg(long)]
    ascii: bool,
    /// Offer TLS 1.2 only (servers such as proftpd that require TLS session
    /// reuse on data connections but issue no fresh TLS 1.3 tickets).
    #[arg(long)]
    tls12: bool,
    /// What to do with the address in a PASV (227) reply.
    #[arg(long, value_enum, default_value = "control-peer")]
    pasv_address_policy: Policy,
    /// Print the control conversation on stderr (passwords masked).
    #[arg(short, long)]
    verbose: bool,
    /// The account to send with ACCT when the server asks for one (332),
    /// as curl's --ftp-account.
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<String>,
    /// Log in as NAME (a name only: the password comes from
    /// --password-stdin, the netrc file, or a prompt on the terminal, never
    /// from the command line, where `ps` shows it).
    #[arg(short = 'u', long, value_name = "NAME")]
    user: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Take the login for the host from ~/.netrc ($NETRC when set) when
    /// the URL gives no password, as curl's -n (a file others can read is
    /// refused).
    #[arg(short = 'n', long)]
    netrc: bool,
    /// As --netrc, from FILE.
    #[arg(long, value_name = "FILE")]
    netrc_file: Option<PathBuf>,
    /// Seconds to wait for the connection and the server's greeting
    /// (default 30).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    connect_timeout: f64,
    /// Seconds without progress (a reply, or bytes of a transfer) after
    /// which the command fails (default 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
    /// Try again up to N more times after a transient failure (no
    /// connection, a connection lost, a 4xx reply), waiting 1, 2, 4, 8,
    /// then 10 seconds; `get` and `put` go on from where the transfer
    /// stopped (as --resume).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) retry: u32,
    /// Transfer at most RATE bytes per second (`512K`, `2M`, `1G`: powers
    /// of 1024, as curl's option of the same name); the server is held to
    /// it by TCP's flow control.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    limit_rate: Option<u64>,
}

/// `--limit-rate`: a size per second, above 0.
fn parse_rate(s: &str) -> std::result::Result<u64, String> {
    crate::users::parse_size(s).filter(|&n| n > 0).ok_or_else(|| format!("{s:?} is not a rate such as 512K or 2M"))
}

impl Connection {
    /// The local end of a transfer, paced to `--limit-rate` (unpaced: at
    /// no rate a clock could see).
    pub(crate) fn paced<T>(&self, inner: T) -> Paced<T> {
        Paced::new(inner, self.limit_rate.unwrap_or(u64::MAX))
    }
}

impl Connection {
    /// Where the login may come from besides the URL.
    fn sources(&self) -> Sources {
        let netrc = self.netrc_file.clone().or_else(|| if self.netrc { default_netrc() } else { None });
        Sources { user: self.user.clone(), password_stdin: self.password_stdin, netrc }
    }
}

/// A number of seconds from the command line as a duration (usage error
/// for a negative, infinite or absurd one).
fn seconds(name: &str, value: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && d.as_secs() <= 86_400 * 365)
        .ok_or_else(|| Failure::new(exit::USAGE, format!("{name}: {value} is not a number of seconds above 0")))
}

/// `--pasv-address-policy` (SECURITY.md D5).
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum Policy {
    /// Connect to the control connection's peer, ignoring the 227 address
    /// (curl's default).
    ControlPeer,
    /// Use the 227 address unless it is private/loopback while the server is not.
    SubstituteUnroutable,
    /// Use the 227 address as given.
    Trust,
}

/// `ftpkit get`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Get {
    /// ftp://[user[:password]@]host[:port]/path or ftps://...
    url: String,
    /// Where to write: a file name, or `-` for standard output (default:
    /// the remote file's name in the current directory). A regular file is
    /// written as FILE.part and renamed once complete; something that
    /// exists and is not a regular file (a device such as /dev/null, a
    /// FIFO) is written in place.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Continue a download that stopped: from FILE.part (or FILE) as far as
    /// it got (REST, RFC 3659 section 5). Refused (exit 6, the file left
    /// as it is) when the local file is larger than the remote one. Not
    /// for `-o -` or a device or FIFO, which are written from the start.
    #[arg(long)]
    resume: bool,
    /// Download the directory the URL names, and everything under it, into
    /// -o DIR (default: the directory's own name here), as `mirror` does
    /// but sending every file; a stopped run's FILE.part files are resumed.
    #[arg(short, long)]
    recursive: bool,
    /// Take the URL's last component as a name even when it has `*`, `?`
    /// or `[` (without this, `get 'dir/*.csv'` downloads every file of dir
    /// matching *.csv, matched here on the listing, into -o DIR or here).
    #[arg(short = 'g', long)]
    globoff: bool,
    #[command(flatten)]
    select: crate::mirror::Select,
    /// With -r or a glob: one JSON event per line on stdout (as `mirror
    /// --json`).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

/// `ftpkit put`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Put {
    /// The local file to upload (a directory with -r).
    file: PathBuf,
    /// The destination; ending in `/` uploads under the file's own name.
    url: String,
    /// Append to the remote file (APPE) instead of replacing it.
    #[arg(long, conflicts_with = "resume")]
    append: bool,
    /// Continue an upload that stopped: send what the server lacks (SIZE,
    /// then REST and STOR).
    #[arg(long)]
    resume: bool,
    /// Upload the directory FILE and everything under it to the URL's
    /// directory (created when missing; a URL ending in `/` puts it under
    /// the directory's own name), sending every file.
    #[arg(short, long, conflicts_with_all = ["append", "resume"])]
    recursive: bool,
    #[command(flatten)]
    select: crate::mirror::Select,
    /// With -r: one JSON event per line on stdout (as `mirror --json`).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

/// `ftpkit ls`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Ls {
    /// The directory (MLSD when the server offers it, LIST otherwise); a
    /// last component with `*`, `?` or `[` lists the directory above it and
    /// shows the names matching it (matched here, never sent as a pattern).
    url: String,
    /// Take a last component with `*`, `?` or `[` as a name.
    #[arg(short = 'g', long)]
    globoff: bool,
    /// One JSON object per line and entry: name, kind (file, dir, link,
    /// other), size, modified (RFC 3339; `Z` only for UTC times, fractions
    /// kept), zone (`utc` for MLSD/EPLF, `server-local` for LIST times),
    /// target (links), version (VMS), path (when the listing named the
    /// entry by a path), raw.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

/// `ftpkit mkdir`, `rm`, `rmdir`: one path.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct OnePath {
    /// ftp://[user[:password]@]host[:port]/path or ftps://...
    url: String,
    #[command(flatten)]
    conn: Connection,
}

/// `ftpkit mv`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Mv {
    /// The file or directory to rename.
    url: String,
    /// The new name (a path on the same server, relative to the login
    /// directory unless it starts with `/`).
    to: String,
    #[command(flatten)]
    conn: Connection,
}

/// A failed command: the message and which kind of failure.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
    /// Worth trying again (`--retry`): the connection failed or broke, or
    /// the server answered 4xx (RFC 959 4.2: "the action may be
    /// requested again").
    pub(crate) transient: bool,
}

/// Exit codes (also in `ftpkit --help`).
pub(crate) mod exit {
    /// Usage error (bad URL, missing argument).
    pub(crate) const USAGE: u8 = 2;
    /// Cannot resolve, connect or set up TLS.
    pub(crate) const CONNECT: u8 = 3;
    /// The server refused the login.
    pub(crate) const LOGIN: u8 = 4;
    /// The server refused the command (no such file, permission denied).
    pub(crate) const REFUSED: u8 = 5;
    /// The transfer failed or was incomplete.
    pub(crate) const TRANSFER: u8 = 6;
    /// A local file could not be read or written.
    pub(crate) const LOCAL: u8 = 7;
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self { message: message.into(), code, transient: false }
    }

    /// Classifies a client error, with what was being done.
    pub(crate) fn from_client(what: &str, e: &ClientError) -> Self {
        let code = match e {
            ClientError::Resolve { .. } | ClientError::Connect { .. } | ClientError::Tls(_) => exit::CONNECT,
            ClientError::Rejected { .. } => exit::REFUSED,
            ClientError::Io(_) => exit::LOCAL,
            ClientError::Usage(_) => exit::USAGE,
            _ => exit::TRANSFER,
        };
        let transient_reply = |r: &ftp_proto::Reply| r.code().as_u16() / 100 == 4;
        let transient = match e {
            ClientError::Resolve { .. } | ClientError::Connect { .. } | ClientError::Closed(_) => true,
            ClientError::Rejected { reply, .. } => transient_reply(reply),
            ClientError::Failed(op) => match op {
                OpError::Rejected(reply) => transient_reply(reply),
                OpError::Timeout | OpError::Closed(_) | OpError::DataConnection | OpError::Partial { .. } => true,
                _ => false,
            },
            _ => false,
        };
        Self { transient, ..Self::new(code, format!("{what}: {e}")) }
    }

    /// The same failure, not to be tried again (bytes already went where
    /// a second attempt cannot take them back).
    fn for_good(self) -> Self {
        Self { transient: false, ..self }
    }
}

/// The longest wait between two attempts of `--retry`.
const MAX_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `attempt` (given the attempt's number, from 0) until it succeeds,
/// fails for good, or `retries` more attempts failed; waits 1, 2, 4, 8,
/// then 10 seconds between attempts, saying so on stderr.
pub(crate) async fn retrying<F, Fut>(retries: u32, mut attempt: F) -> Result<()>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut n = 0;
    loop {
        match attempt(n).await {
            Err(failure) if failure.transient && n < retries => {
                let wait = std::time::Duration::from_secs(1 << n.min(4)).min(MAX_RETRY_WAIT);
                eprintln!(
                    "ftpkit: {} (attempt {} of {}; again in {} s)",
                    escape(&failure.message),
                    n + 1,
                    retries + 1,
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                n += 1;
            }
            result => return result,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Failure>;

pub(crate) async fn connect(url: &FtpUrl, conn: &Connection) -> Result<Client> {
    let security = match (url.tls, conn.implicit) {
        (_, true) => Security::Implicit,
        (true, false) => Security::Explicit,
        (false, false) => Security::Plain,
    };
    let policy = match conn.pasv_address_policy {
        Policy::ControlPeer => PasvPolicy::UseControlPeer,
        Policy::SubstituteUnroutable => PasvPolicy::SubstituteUnroutable,
        Policy::Trust => PasvPolicy::Trust,
    };
    let mode = if conn.active { DataMode::Active } else { DataMode::Passive };
    let (connect_timeout, stall) =
        (seconds("--connect-timeout", conn.connect_timeout)?, seconds("--timeout", conn.timeout)?);
    let from_url = FromUrl {
        host: &url.host,
        user: url.user_given.then_some(url.user.as_str()),
        password: url.password_given.then_some(url.password.as_str()),
    };
    let login = resolve(&from_url, &conn.sources()).map_err(|e| Failure::new(exit::USAGE, e))?;
    let config = ClientConfig::default()
        .pasv_policy(policy)
        .data_mode(mode)
        .epsv(!conn.disable_epsv)
        .ascii(conn.ascii)
        .reply_timeout(stall);
    let mut options = ClientOptions {
        security,
        insecure: conn.insecure,
        tls12_only: conn.tls12,
        config,
        connect_timeout,
        data_timeout: stall,
        ..ClientOptions::default()
    };
    if conn.verbose {
        options.transcript = Some(Arc::new(|line: Line<'_>| match line {
            // Server text is escaped before it reaches the terminal (R4).
            Line::Sent(s) => eprintln!("> {}", escape(s)),
            Line::Received(s) => eprintln!("< {}", escape(s)),
            Line::Info(s) => eprintln!("* {}", escape(s)),
            _ => {}
        }));
    }
    let target = format!("{}:{}", url.host, url.port);
    // Anything that stops the greeting (no FTP server there, TLS, a 421,
    // a banner of another protocol) is "cannot connect": exit 3.
    let mut client = Client::connect(&url.host, url.port, options)
        .await
        .map_err(|e| Failure { code: exit::CONNECT, ..Failure::from_client(&target, &e) })?;
    let account = conn.account.as_deref().or(login.account.as_deref());
    if let Err(e) = client.login_with_account(&login.user, &login.password, account).await {
        let mut failure = Failure::from_client(&format!("login as {} on {target}", login.user), &e);
        if let ClientError::Rejected { reply, .. } = &e {
            failure.code = exit::LOGIN;
            // RFC 959 5.4: 332 asks for an account, which none was given.
            if reply.code().as_u16() == 332 {
                failure.message.push_str(" (the server asks for an account: give one with --account)");
            }
        }
        return Err(failure);
    }
    Ok(client)
}

/// The remote file's size when the server tells it (`SIZE`), `None` when
/// it refuses (no SIZE, no such file: the transfer command then says
/// which); anything else (a broken reply, a lost connection) ends the
/// command here, with its own message.
async fn remote_size(client: &mut Client, path: &str) -> Result<Option<u64>> {
    match client.size(path).await {
        Ok(n) => Ok(Some(n)),
        Err(ClientError::Rejected { .. }) => Ok(None),
        Err(e) => Err(Failure::from_client(path, &e)),
    }
}

/// QUIT politely; a failure to say goodbye is not the command's failure.
pub(crate) async fn finish(client: Client) {
    let _ = client.quit().await;
}

fn url(s: &str) -> Result<FtpUrl> {
    FtpUrl::parse(s).map_err(|e| Failure::new(exit::USAGE, e))
}

fn remote_path(url: &FtpUrl) -> Option<&str> {
    (!url.path.is_empty()).then_some(url.path.as_str())
}

fn needs_path(url: &FtpUrl) -> Result<&str> {
    remote_path(url).ok_or_else(|| Failure::new(exit::USAGE, format!("{url:?}: the URL names no file")))
}

/// Where `get` writes.
enum Destination {
    /// `-o -`.
    Stdout,
    /// Something that exists and is not a regular file (a character device
    /// such as `/dev/null`, a FIFO): written in place, never replaced.
    Stream(PathBuf),
    /// A regular file (or a new one): written to FILE.part, renamed once
    /// complete.
    File(PathBuf),
}

/// The local file name `get` derives from the URL ([`FtpUrl::file_name`]),
/// or a usage error that asks for `-o`.
fn local_name(url: &FtpUrl) -> Result<&str> {
    url.file_name().ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            format!("{:?} names no plain file to write here: give a local name with -o FILE", url.path),
        )
    })
}

/// Decides where `get` writes, before anything is connected.
fn destination(output: Option<PathBuf>, url: &FtpUrl) -> Result<Destination> {
    let target = match output {
        Some(p) if p.as_os_str() == "-" => return Ok(Destination::Stdout),
        Some(p) => p,
        None => PathBuf::from(local_name(url)?),
    };
    // `metadata` follows symbolic links: a link to /dev/null is a device.
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => Err(Failure::new(exit::LOCAL, format!("{}: is a directory", target.display()))),
        Ok(m) if !m.is_file() => Ok(Destination::Stream(target)),
        _ => Ok(Destination::File(target)),
    }
}

pub(crate) async fn get(args: Get) -> Result<()> {
    let parsed = url(&args.url)?;
    let glob = !args.globoff && parsed.file_name().is_some_and(crate::filter::is_glob);
    if args.recursive || glob {
        if args.output.as_deref().is_some_and(|o| o.as_os_str() == "-") {
            return Err(Failure::new(exit::USAGE, "-o - takes one file, not a directory or a glob"));
        }
        return crate::mirror::get_many(parsed, args.output, glob, args.select, args.json, args.conn).await;
    }
    retrying(args.conn.retry, |n| {
        let mut args = args.clone();
        // A second attempt goes on from FILE.part.
        args.resume |= n > 0;
        get_once(args)
    })
    .await
}

async fn get_once(args: Get) -> Result<()> {
    let url = url(&args.url)?;
    let path = needs_path(&url)?.to_owned();
    let local = |e: std::io::Error, p: &Path| Failure::new(exit::LOCAL, format!("{}: {e}", p.display()));
    let target = match destination(args.output, &url)? {
        Destination::Stdout => {
            let mut client = connect(&url, &args.conn).await?;
            let mut out = args.conn.paced(tokio::io::stdout());
            let r = client.get(&path, 0, &mut out).await;
            finish(client).await;
            // What went out cannot be taken back: no second attempt.
            return r.map(drop).map_err(|e| Failure::from_client(&path, &e).for_good());
        }
        Destination::Stream(target) => {
            // Opened as it is (no create, no truncate, no rename), before
            // connecting: a FIFO blocks here until its reader comes.
            let file = tokio::fs::OpenOptions::new().write(true).open(&target).await.map_err(|e| local(e, &target))?;
            let mut client = connect(&url, &args.conn).await?;
            let total = remote_size(&mut client, &path).await?;
            let bar = progress(total, 0);
            let mut sink = Counted { inner: args.conn.paced(file), bar: bar.clone() };
            let r = match total {
                Some(size) => client.get_sized(&path, 0, size, &mut sink).await,
                None => client.get(&path, 0, &mut sink).await,
            };
            let r = match (r, sink.flush().await) {
                (Ok(_), Err(e)) => return Err(local(e, &target)),
                (r, _) => r,
            };
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            finish(client).await;
            return r.map(drop).map_err(|e| Failure::from_client(&path, &e).for_good());
        }
        Destination::File(target) => target,
    };
    // The bytes go to FILE.part and become FILE only once complete, so a
    // failed download never looks like a finished one.
    let part = part_path(&target);
    // What a resumed download starts from: FILE.part, else FILE itself.
    let resume_from = if !args.resume {
        None
    } else if part.exists() {
        Some(part.clone())
    } else if target.exists() {
        Some(target.clone())
    } else {
        None
    };
    let offset = match &resume_from {
        Some(p) => std::fs::metadata(p).map_err(|e| local(e, p))?.len(),
        None => 0,
    };
    let mut client = connect(&url, &args.conn).await?;
    let total = remote_size(&mut client, &path).await?;
    if let (Some(from), Some(total)) = (&resume_from, total)
        && offset > total
    {
        // Nothing to append: the local file is not a prefix of the
        // remote one (a REST marker past the end, RFC 3659 section 5,
        // names no byte to continue from). It is left exactly as it was.
        finish(client).await;
        return Err(Failure::new(
            exit::TRANSFER,
            format!(
                "{path}: cannot resume: {} has {offset} bytes, the remote file only {total}; \
                     nothing was changed (remove it to download again)",
                from.display()
            ),
        ));
    }
    if resume_from.as_ref() == Some(&target) {
        std::fs::rename(&target, &part).map_err(|e| local(e, &target))?;
    }
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(offset > 0)
        .truncate(offset == 0)
        .open(&part)
        .await
        .map_err(|e| local(e, &part))?;
    let bar = progress(total, offset);
    let mut sink = Counted { inner: args.conn.paced(file), bar: bar.clone() };
    // SIZE was asked above: not again (SECURITY.md R5 still holds the
    // download to it).
    let result = match total {
        Some(size) => client.get_sized(&path, offset, size, &mut sink).await,
        None => client.get(&path, offset, &mut sink).await,
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    finish(client).await;
    // What the messages below count is what is on disk: written out first.
    let flushed = sink.flush().await.map_err(|e| local(e, &part));
    let result = match (result, flushed) {
        (Ok(n), Ok(())) => Ok(n),
        (Err(e), _) => Err(e),
        (Ok(_), Err(failure)) => return Err(failure),
    };
    match result {
        Ok(_) => {
            std::fs::rename(&part, &target).map_err(|e| local(e, &part))?;
            Ok(())
        }
        Err(e) => {
            let got = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            let mut failure = Failure::from_client(&path, &e);
            if resume_from.as_ref() == Some(&target) && got == offset && std::fs::rename(&part, &target).is_ok() {
                // A resume of FILE that added nothing puts FILE back.
                failure.message.push_str(&format!("; {} is unchanged", target.display()));
            } else if got > 0 {
                failure.message.push_str(&format!(
                    "; the {got} bytes received are kept in {} (rerun with --resume)",
                    part.display()
                ));
            } else {
                let _ = std::fs::remove_file(&part);
                failure.message.push_str("; nothing was kept");
            }
            Err(failure)
        }
    }
}

pub(crate) fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    target.with_file_name(name)
}

pub(crate) async fn put(args: Put) -> Result<()> {
    if args.recursive {
        let parsed = url(&args.url)?;
        return crate::mirror::put_tree(args.file, parsed, args.select, args.json, args.conn).await;
    }
    retrying(args.conn.retry, |n| {
        let mut args = args.clone();
        // A second attempt goes on from the remote file's size.
        args.resume |= n > 0 && !args.append;
        put_once(args)
    })
    .await
}

async fn put_once(args: Put) -> Result<()> {
    let url = url(&args.url)?;
    let file_name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("upload").to_owned();
    let path = if url.path.is_empty() || url.path.ends_with('/') {
        format!("{}{file_name}", url.path)
    } else {
        url.path.clone()
    };
    let local = |e: std::io::Error| Failure::new(exit::LOCAL, format!("{}: {e}", args.file.display()));
    let mut file = tokio::fs::File::open(&args.file).await.map_err(local)?;
    let len = file.metadata().await.map_err(local)?.len();
    let mut client = connect(&url, &args.conn).await?;
    let offset = if args.resume { remote_size(&mut client, &path).await?.unwrap_or(0).min(len) } else { 0 };
    if offset > 0 {
        use tokio::io::AsyncSeekExt;
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(local)?;
    }
    let bar = progress(Some(len), offset);
    let mut source = Counted { inner: args.conn.paced(file), bar: bar.clone() };
    let result = if args.append {
        client.append(&path, &mut source).await
    } else {
        client.put(&path, offset, &mut source).await
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    finish(client).await;
    // An append that broke off cannot tell where to go on from.
    let append = args.append;
    result.map(drop).map_err(|e| {
        let failure = Failure::from_client(&path, &e);
        if append { failure.for_good() } else { failure }
    })
}

pub(crate) async fn ls(args: Ls) -> Result<()> {
    retrying(args.conn.retry, |_| ls_once(args.clone())).await
}

async fn ls_once(args: Ls) -> Result<()> {
    let mut url = url(&args.url)?;
    // `ls 'dir/*.csv'`: dir's listing, filtered here (SECURITY.md P3: no
    // pattern reaches the server).
    let pattern = match url.file_name() {
        Some(name) if !args.globoff && crate::filter::is_glob(name) => {
            let glob = crate::filter::Glob::new(name).map_err(|e| Failure::new(exit::USAGE, e))?;
            url.path = url.path.rsplit_once('/').map_or_else(String::new, |(dir, _)| dir.to_owned());
            Some(glob)
        }
        _ => None,
    };
    let mut client = connect(&url, &args.conn).await?;
    let result = client.list(remote_path(&url)).await;
    finish(client).await;
    let mut entries =
        result.map_err(|e| Failure::from_client(if url.path.is_empty() { "/" } else { &url.path }, &e))?;
    if let Some(glob) = &pattern {
        entries.retain(|e| std::str::from_utf8(e.name()).is_ok_and(|n| glob.matches(n)));
    }
    for entry in &entries {
        if args.json {
            println!("{}", entry_json(entry));
        } else {
            println!("{}", entry_text(entry));
        }
    }
    Ok(())
}

fn kind_word(entry: &Entry) -> &'static str {
    match entry.kind() {
        EntryKind::File => "file",
        EntryKind::Directory | EntryKind::CurrentDir | EntryKind::ParentDir => "dir",
        EntryKind::Symlink { .. } => "link",
        _ => "other",
    }
}

fn link_target(entry: &Entry) -> Option<String> {
    match entry.kind() {
        EntryKind::Symlink { target: Some(t) } => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// The time as RFC 3339 says, as far as the listing says it: a date alone
/// for a `Mon DD YYYY` line; MLSx fractions kept; `Z` only for UTC times
/// (MLSx, EPLF). `LIST` times are the server's local time in an unknown
/// zone, so they carry no offset (and `zone` says `server-local`).
fn rfc3339(entry: &Entry) -> Option<String> {
    let when = entry.modified()?;
    let t = when.time();
    let date = format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
    if when.precision() == Precision::Day {
        return Some(date);
    }
    let mut out = format!("{date}T{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    if when.precision() == Precision::Fraction {
        let digits = format!("{:09}", t.nanos());
        let digits = digits.trim_end_matches('0');
        out.push('.');
        out.push_str(if digits.is_empty() { "0" } else { digits });
    }
    if when.zone() == Zone::Utc {
        out.push('Z');
    }
    Some(out)
}

fn zone_word(entry: &Entry) -> Option<&'static str> {
    entry.modified().map(|m| if m.zone() == Zone::Utc { "utc" } else { "server-local" })
}

fn entry_json(entry: &Entry) -> String {
    let mut object = serde_json::Map::new();
    object.insert("name".into(), String::from_utf8_lossy(entry.name()).into_owned().into());
    object.insert("kind".into(), kind_word(entry).into());
    object.insert("size".into(), entry.size().map_or(serde_json::Value::Null, Into::into));
    object.insert("modified".into(), rfc3339(entry).map_or(serde_json::Value::Null, Into::into));
    object.insert("zone".into(), zone_word(entry).map_or(serde_json::Value::Null, Into::into));
    if let Some(target) = link_target(entry) {
        object.insert("target".into(), target.into());
    }
    if let Some(version) = entry.version() {
        object.insert("version".into(), version.into());
    }
    if let Some(path) = entry.path() {
        object.insert("path".into(), String::from_utf8_lossy(path).into_owned().into());
    }
    object.insert("raw".into(), String::from_utf8_lossy(entry.raw()).into_owned().into());
    serde_json::Value::Object(object).to_string()
}

fn entry_text(entry: &Entry) -> String {
    let kind = match kind_word(entry) {
        "dir" => 'd',
        "link" => 'l',
        "file" => '-',
        _ => '?',
    };
    let size = entry.size().map_or_else(|| "-".to_owned(), |s| s.to_string());
    let time = rfc3339(entry).unwrap_or_else(|| "-".to_owned());
    // Names and link targets are the server's bytes: escaped (R4, E4).
    let mut line = format!("{kind} {size:>12} {time:<20} {}", escape_bytes(entry.name()));
    if let EntryKind::Symlink { target: Some(target) } = entry.kind() {
        line.push_str(" -> ");
        line.push_str(&escape_bytes(target));
    }
    line
}

pub(crate) async fn mkdir(args: OnePath) -> Result<()> {
    one(args, |c, p| Box::pin(async move { c.mkdir(&p).await.map(drop) })).await
}

pub(crate) async fn rm(args: OnePath) -> Result<()> {
    one(args, |c, p| Box::pin(async move { c.delete(&p).await })).await
}

pub(crate) async fn rmdir(args: OnePath) -> Result<()> {
    one(args, |c, p| Box::pin(async move { c.rmdir(&p).await })).await
}

type OneFuture<'a> = Pin<Box<dyn std::future::Future<Output = std::result::Result<(), ClientError>> + Send + 'a>>;

async fn one(args: OnePath, f: impl for<'a> Fn(&'a mut Client, String) -> OneFuture<'a>) -> Result<()> {
    let url = url(&args.url)?;
    let path = needs_path(&url)?.trim_end_matches('/').to_owned();
    retrying(args.conn.retry, |_| async {
        let mut client = connect(&url, &args.conn).await?;
        let result = f(&mut client, path.clone()).await;
        finish(client).await;
        result.map_err(|e| Failure::from_client(&path, &e))
    })
    .await
}

pub(crate) async fn mv(args: Mv) -> Result<()> {
    let url = url(&args.url)?;
    let from = needs_path(&url)?.to_owned();
    retrying(args.conn.retry, |_| async {
        let mut client = connect(&url, &args.conn).await?;
        let result = client.rename(&from, &args.to).await;
        finish(client).await;
        result.map_err(|e| Failure::from_client(&format!("{from} -> {}", args.to), &e))
    })
    .await
}

/// `ftpkit stat`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Stat {
    /// The file or directory (the login directory when the URL has no path).
    url: String,
    /// One JSON object instead of a line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

/// What is known of one remote file or directory: MLST's facts when the
/// server offers MLST (RFC 3659 section 7), else SIZE and MDTM (a path
/// without a SIZE that CWD enters is a directory).
pub(crate) async fn stat(args: Stat) -> Result<()> {
    retrying(args.conn.retry, |_| stat_once(args.clone())).await
}

async fn stat_once(args: Stat) -> Result<()> {
    let url = url(&args.url)?;
    let path = remote_path(&url).map(str::to_owned);
    let shown = path.clone().unwrap_or_else(|| ".".to_owned());
    let mut client = connect(&url, &args.conn).await?;
    let entry = if client.capabilities().mlst {
        client.mlst(path.as_deref()).await.map_err(|e| Failure::from_client(&shown, &e))
    } else {
        described(&mut client, &shown).await
    };
    finish(client).await;
    let entry = entry?;
    println!("{}", if args.json { entry_json(&entry) } else { entry_text(&entry) });
    Ok(())
}

/// An entry from SIZE and MDTM, for servers without MLST.
async fn described(client: &mut Client, path: &str) -> Result<Entry> {
    let name = bytes::Bytes::copy_from_slice(path.trim_end_matches('/').rsplit('/').next().unwrap_or(path).as_bytes());
    let entry = match client.size(path).await {
        Ok(size) => Entry::new(name, EntryKind::File).with_size(size),
        Err(size_refused @ ClientError::Rejected { .. }) => {
            // No size: a directory if it can be entered (then left again).
            let here = client.pwd().await.map_err(|e| Failure::from_client(path, &e))?;
            if client.cwd(path).await.is_err() {
                return Err(Failure::from_client(path, &size_refused));
            }
            client.cwd(&here).await.map_err(|e| Failure::from_client(&here, &e))?;
            Entry::new(name, EntryKind::Directory)
        }
        Err(e) => return Err(Failure::from_client(path, &e)),
    };
    Ok(match client.mdtm(path).await {
        Ok(time) => entry.with_modified(ListingTime::utc(time, Precision::Second)),
        Err(_) => entry,
    })
}

/// `ftpkit chmod`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Chmod {
    /// The new mode, in octal (`644`, `0755`).
    #[arg(value_parser = parse_mode)]
    mode: u32,
    /// The file or directory.
    url: String,
    #[command(flatten)]
    conn: Connection,
}

/// An octal mode of at most four digits.
fn parse_mode(s: &str) -> std::result::Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    (!digits.is_empty() && digits.len() <= 4)
        .then(|| u32::from_str_radix(digits, 8).ok())
        .flatten()
        .ok_or_else(|| format!("{s:?} is not an octal mode such as 644"))
}

/// `SITE CHMOD mode path`, the form vsftpd, pure-ftpd, proftpd and ftpkit
/// serve take.
pub(crate) async fn chmod(args: Chmod) -> Result<()> {
    let url = url(&args.url)?;
    let path = needs_path(&url)?.to_owned();
    let command = format!("CHMOD {:o} {path}", args.mode);
    retrying(args.conn.retry, |_| async {
        let mut client = connect(&url, &args.conn).await?;
        let result = client.site(&command).await;
        finish(client).await;
        result.map(drop).map_err(|e| Failure::from_client(&path, &e))
    })
    .await
}

/// `ftpkit raw`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Raw {
    /// The server (the URL's path, if any, is entered first with CWD).
    url: String,
    /// The command line, verb and arguments (`SYST`, `STAT`, `HELP SITE`,
    /// `SITE UMASK 022`); quoted or as separate words.
    #[arg(required = true, num_args = 1..)]
    command: Vec<String>,
    #[command(flatten)]
    conn: Connection,
}

/// Sends one command after the login and prints the reply as the server
/// sent it (escaped for the terminal). Commands that need a data
/// connection or change the login or TLS are refused (exit 2): `get`,
/// `put` and `ls` do those.
pub(crate) async fn raw(args: Raw) -> Result<()> {
    let url = url(&args.url)?;
    let line = args.command.join(" ");
    let mut client = connect(&url, &args.conn).await?;
    if let Some(dir) = remote_path(&url)
        && let Err(e) = client.cwd(dir).await
    {
        finish(client).await;
        return Err(Failure::from_client(dir, &e));
    }
    let result = client.raw(&line).await;
    finish(client).await;
    match result {
        Ok(reply) => {
            println!("{}", escape(&reply.to_string()).trim_end());
            if reply.code().is_positive_completion() || reply.code().is_positive_intermediate() {
                Ok(())
            } else {
                // A refusal: printed above, and exit 5 (again with --retry
                // only by running raw again: a raw command may not be safe
                // to repeat).
                Err(Failure::new(exit::REFUSED, format!("{line}: refused")))
            }
        }
        Err(ClientError::Usage(_)) => Err(Failure::new(
            exit::USAGE,
            format!(
                "{line:?}: not a command raw sends (no data-connection, login or TLS commands: get, put and ls do those)"
            ),
        )),
        // The server's refusal is printed too, then exit 5.
        Err(e) => {
            if let Some(reply) = e.reply() {
                println!("{}", escape(&reply.to_string()).trim_end());
            }
            Err(Failure::from_client(&line, &e))
        }
    }
}

/// A progress bar on stderr for transfers, only when stderr is a terminal.
fn progress(total: Option<u64>, start: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::no_length(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{bytes:>10}/{total_bytes:10} {wide_bar} {binary_bytes_per_sec:>12} {eta:>4}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_position(start);
    Some(bar)
}

/// Counts the bytes that pass, for the progress bar.
struct Counted<T> {
    inner: T,
    bar: Option<indicatif::ProgressBar>,
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(n)), Some(bar)) = (&r, &self.bar) {
            bar.inc(*n as u64);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(bar)) = (&r, &self.bar) {
            bar.inc((buf.filled().len() - before) as u64);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlsx(line: &[u8]) -> Entry {
        ftp_proto::listing::parse_mlsx(&bytes::Bytes::copy_from_slice(line)).unwrap()
    }

    /// RFC 3659 2.3: MLSx times are UTC and keep their fraction of a second.
    #[test]
    fn rfc3659_2_3_mlsx_times_keep_fractions_and_are_utc() {
        let e = mlsx(b"type=file;modify=20240305101112.5; f");
        assert_eq!(rfc3339(&e).as_deref(), Some("2024-03-05T10:11:12.5Z"));
        let e = mlsx(b"type=file;modify=20240305101112.250; f");
        assert_eq!(rfc3339(&e).as_deref(), Some("2024-03-05T10:11:12.25Z"));
        let e = mlsx(b"type=file;modify=20240305101112; f");
        assert_eq!(rfc3339(&e).as_deref(), Some("2024-03-05T10:11:12Z"));
        assert_eq!(zone_word(&e), Some("utc"));
    }
}
