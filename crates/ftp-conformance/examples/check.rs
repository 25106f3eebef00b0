//! `ftpkit check` before the binary wires it in:
//! `cargo run -p ftp-conformance --example check -- ftp://user:pw@127.0.0.1:2121/dir`.

use clap::Parser;

/// Grade an FTP server against the RFCs.
#[derive(Parser)]
#[command(name = "check")]
struct Cli {
    #[command(flatten)]
    args: ftp_conformance::cli::CheckArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    ftp_conformance::cli::run(Cli::parse().args).await
}
