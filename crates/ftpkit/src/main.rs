//! `ftpkit`: FTP tools on the ftpkit protocol core: `serve` a directory,
//! client commands (`get`, `put`, `mirror`, `ls`, `mkdir`, `rm`, `rmdir`,
//! `mv`, `stat`, `chmod`, `raw`), and
//! `check` (conformance).

mod config;
mod credentials;
mod display;
mod filter;
mod logging;
mod logwriter;
mod metrics;
mod mirror;
mod passwd;
mod remote;
mod report;
mod serve;
mod tree;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// FTP tools built on a sans-IO protocol core.
#[derive(Parser)]
#[command(
    name = "ftpkit",
    version,
    about,
    after_help = "URLs: ftp://[user[:password]@]host[:port]/path, or ftps://... for explicit FTPS (AUTH TLS).\n\
                  Exit codes: 0 done, 1 other failure, 2 usage, 3 cannot connect (DNS, TCP, TLS), \
                  4 login refused, 5 command refused (no such file, permission), 6 transfer failed or incomplete \
                  (or `get --resume` with a local file larger than the remote one; for mirror, get -r, put -r: \
                  a file failed, a name refused, an entry in the way, a tree too deep), \
                  7 local file error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a directory over FTP. With no options: the current directory,
    /// read-only, to anonymous users, on 127.0.0.1:2121.
    Serve(Box<serve::Serve>),
    /// Download a file (to FILE.part first; renamed to FILE once complete;
    /// a directory with -r; the matching files of one with a glob;
    /// a device or FIFO is written in place).
    Get(remote::Get),
    /// Upload a file (a directory with -r).
    Put(remote::Put),
    /// Make a directory the copy of another, transferring only what
    /// differs (size, time): remote to local, or local to remote as lftp's
    /// `mirror -R`.
    Mirror(mirror::Mirror),
    /// List a directory (MLSD when offered, LIST otherwise), parsed.
    Ls(remote::Ls),
    /// Make a directory.
    Mkdir(remote::OnePath),
    /// Delete a file.
    Rm(remote::OnePath),
    /// Remove a directory.
    Rmdir(remote::OnePath),
    /// Rename a file or directory.
    Mv(remote::Mv),
    /// Show one file or directory: kind, size, modification time (MLST, or
    /// SIZE and MDTM)
    Stat(remote::Stat),
    /// Change a file's permissions (SITE CHMOD)
    Chmod(remote::Chmod),
    /// Send one command and print the server's reply (SYST, STAT, HELP,
    /// SITE ...)
    Raw(remote::Raw),
    /// Grade a live server against the RFCs, check by check (non-zero exit
    /// when a MUST fails).
    Check(ftp_conformance::cli::CheckArgs),
    /// Add a user to a users file, change their password, home or write
    /// access, or delete them. The password is read from the terminal
    /// (without echo), or from the first line of stdin when it is not one.
    Passwd(passwd::Passwd),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => return ftp_conformance::cli::run(args).await,
        Command::Serve(args) => serve::serve(*args).await.map_err(|message| remote::Failure::new(1, message)),
        Command::Get(args) => remote::get(args).await,
        Command::Put(args) => remote::put(args).await,
        Command::Mirror(args) => mirror::mirror(args).await,
        Command::Ls(args) => remote::ls(args).await,
        Command::Mkdir(args) => remote::mkdir(args).await,
        Command::Rm(args) => remote::rm(args).await,
        Command::Rmdir(args) => remote::rmdir(args).await,
        Command::Mv(args) => remote::mv(args).await,
        Command::Stat(args) => remote::stat(args).await,
        Command::Chmod(args) => remote::chmod(args).await,
        Command::Raw(args) => remote::raw(args).await,
        Command::Passwd(args) => passwd::passwd(args).map_err(|message| remote::Failure::new(1, message)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // The message may quote the server (a reply, a file name):
            // escaped for the terminal (SECURITY.md R4).
            eprintln!("ftpkit: {}", display::escape(&failure.message));
            ExitCode::from(failure.code)
        }
    }
}
