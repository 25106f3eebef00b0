//! `ftpkit mirror SRC DST` (either side remote), `get -r`, `put -r` and
//! `get 'dir/*.csv'`: many files in one command.
//!
//! One engine for all of them, in three steps:
//! 1. **Walk** both trees ([`crate::tree`]): the source must exist; a
//!    missing destination is an empty one, created.
//! 2. **Plan** ([`plan`], a pure function, tested without a network): what
//!    to create, transfer, resume and delete. A file is up to date when its
//!    size is the same and its time is the same at the coarser precision of
//!    the two sides; when the destination's times cannot be set (a server
//!    without MFMT), a destination at least as new as the source counts as
//!    up to date, or every run would send everything again. LIST times
//!    (zone unknown) are replaced by MDTM's before comparing, for files
//!    whose sizes agree.
//! 3. **Run** the plan: directories first, then the transfers over
//!    `--parallel` connections, then (`--delete`) what the source no longer
//!    has, files before the directories holding them. Downloads go to
//!    `NAME.part` and are renamed once complete, with the remote time set
//!    on them; a `.part` left by a run that stopped is resumed. Uploads set
//!    the local time on the server with MFMT where it is offered; an upload
//!    that stopped (the remote file smaller and newer) is resumed with REST.
//!    A failed file does not stop the others; `--retry` tries it again.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ftp_tokio::client::{Client, FtpUrl};
use serde_json::json;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::filter::{Filter, Glob};
use crate::remote::{Connection, Failure, Result, exit};
use crate::report::Reporter;
use crate::tree::{self, Kind, Node, Skipped, Stamp, Tree, WalkError};

/// `ftpkit mirror`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Mirror {
    /// Where from: a remote directory (ftp://host/dir, ftps://...) or a
    /// local one.
    source: String,
    /// Where to: a local directory (for a remote source) or a remote one
    /// (for a local source, as lftp's `mirror -R`). Created when missing.
    target: String,
    /// Delete what the target has and the source does not (within the
    /// --include/--exclude selection), after the transfers.
    #[arg(long)]
    delete: bool,
    /// Show what would be done (one line per action, or `plan` events with
    /// --json) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Transfers at once, each over its own connection (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=16))]
    parallel: u8,
    #[command(flatten)]
    select: Select,
    /// One JSON object per line on stdout for every event (see
    /// `ftpkit help mirror`), ending with a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connection,
}

/// Which files a multi-file command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Select {
    /// Take only files matching GLOB (repeatable; `*.csv`, `logs/*.log`: a
    /// pattern without `/` matches the name, one with `/` the path under
    /// the source).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Leave out files and directories matching GLOB (repeatable; wins
    /// over --include; what is left out is neither sent nor deleted).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// Deepest directory level to enter; a tree deeper than this (a loop
    /// on the server) stops the command with an error.
    #[arg(long, value_name = "N", default_value_t = tree::DEFAULT_MAX_DEPTH)]
    max_depth: usize,
}

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Remote source, local target.
    Download,
    /// Local source, remote target.
    Upload,
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Self::Download => "get",
            Self::Upload => "put",
        }
    }
}

/// Why a file is transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The target lacks it.
    New,
    /// The sizes differ.
    Size,
    /// Same size, different time.
    Time,
    /// A transfer that stopped goes on from `offset`.
    Resume,
    /// `get -r`, `put -r`, globs: everything is copied.
    Copy,
}

impl Reason {
    fn word(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Size => "size",
            Self::Time => "time",
            Self::Resume => "resume",
            Self::Copy => "copy",
        }
    }
}

/// One file to transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub(crate) rel: String,
    pub(crate) size: u64,
    /// The source's time, set on the target afterwards.
    pub(crate) modified: Option<Stamp>,
    pub(crate) reason: Reason,
    /// Where to start: what a stopped transfer already put there.
    pub(crate) offset: u64,
}

/// What a run does, in order: `clear`, `mkdirs`, `transfers`, `deletes`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The target's root is missing: created first.
    pub(crate) create_root: bool,
    /// Target entries of the wrong kind where the source has something
    /// (`--delete` only): removed first, deepest first.
    pub(crate) clear: Vec<(String, Kind)>,
    /// Directories to create, parents first.
    pub(crate) mkdirs: Vec<String>,
    pub(crate) transfers: Vec<Transfer>,
    /// What the source no longer has (`--delete`), deepest first.
    pub(crate) deletes: Vec<(String, Kind)>,
    /// Entries of the wrong kind left alone (no `--delete`), with what
    /// the source has under them left out.
    pub(crate) conflicts: Vec<(String, &'static str)>,
}

/// How [`plan`] compares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) delete: bool,
    /// Transfer every file, whatever the target has (`get -r`, `put -r`).
    pub(crate) copy_all: bool,
    /// The target's times can be set (local files; servers with MFMT).
    pub(crate) target_times_settable: bool,
    pub(crate) direction: Direction,
}

/// Whether the target's `dst` is the source's `src`, by the rules above.
fn up_to_date(src: &Node, dst: &Node, rules: Rules) -> bool {
    if src.size != dst.size {
        return false;
    }
    match (src.modified, dst.modified) {
        (Some(s), Some(d)) => match s.compare(d) {
            Some(std::cmp::Ordering::Equal) | None => true,
            Some(std::cmp::Ordering::Less) => !rules.target_times_settable,
            Some(std::cmp::Ordering::Greater) => false,
        },
        // No time on one side: the size decides.
        _ => true,
    }
}

/// Whether `rel` lies under one of `tops` (a conflict left alone).
fn under(rel: &str, tops: &[String]) -> bool {
    tops.iter().any(|t| rel.len() > t.len() && rel.starts_with(t.as_str()) && rel.as_bytes()[t.len()] == b'/')
}

/// The plan from the source tree, the target tree (`None`: missing) and,
/// for downloads, the sizes of `NAME.part` files left in the target.
pub(crate) fn plan(src: &Tree, dst: Option<&Tree>, parts: &BTreeMap<String, u64>, rules: Rules) -> Plan {
    let empty = Tree::new();
    let mut plan = Plan { create_root: dst.is_none(), ..Plan::default() };
    let dst = dst.unwrap_or(&empty);
    // Target entries in the way of what the source has there.
    let mut blocked: Vec<String> = Vec::new();
    let mut cleared: Vec<String> = Vec::new();
    for (rel, s) in src {
        if under(rel, &blocked) {
            continue;
        }
        let Some(d) = dst.get(rel) else { continue };
        let clash = match (s.kind, d.kind) {
            (Kind::File, Kind::Dir) => Some("a directory where the source has a file"),
            (Kind::Dir, Kind::File) => Some("a file where the source has a directory"),
            (_, Kind::Other) => Some("neither a file nor a directory (a link?) where the source has one"),
            _ => None,
        };
        if let Some(why) = clash {
            if rules.delete {
                cleared.push(rel.clone());
            } else {
                plan.conflicts.push((rel.clone(), why));
                blocked.push(rel.clone());
            }
        }
    }
    for (rel, s) in src {
        if blocked.contains(rel) || under(rel, &blocked) {
            continue;
        }
        let there = dst.get(rel).filter(|_| !cleared.contains(rel) && !under(rel, &cleared));
        match s.kind {
            Kind::Dir => {
                if there.is_none() {
                    plan.mkdirs.push(rel.clone());
                }
            }
            Kind::File => {
                let (reason, offset) = match there {
                    _ if rules.copy_all => (Reason::Copy, 0),
                    None => (Reason::New, 0),
                    Some(d) if up_to_date(s, d, rules) => continue,
                    // An upload that stopped: smaller, and written after
                    // the source's time.
                    Some(d)
                        if rules.direction == Direction::Upload
                            && d.size < s.size
                            && matches!(
                                (s.modified, d.modified),
                                (Some(a), Some(b)) if a.compare(b) == Some(std::cmp::Ordering::Less)
                            ) =>
                    {
                        (Reason::Resume, d.size)
                    }
                    Some(d) if d.size != s.size => (Reason::Size, 0),
                    Some(_) => (Reason::Time, 0),
                };
                // A download that stopped left NAME.part.
                let (reason, offset) = match parts.get(rel) {
                    Some(&p) if rules.direction == Direction::Download && p > 0 && p <= s.size => (Reason::Resume, p),
                    _ => (reason, offset),
                };
                plan.transfers.push(Transfer { rel: rel.clone(), size: s.size, modified: s.modified, reason, offset });
            }
            Kind::Other => {}
        }
    }
    // The cleared entries and everything under them go first.
    for (rel, d) in dst.iter().rev() {
        if cleared.contains(rel) || under(rel, &cleared) {
            plan.clear.push((rel.clone(), d.kind));
        }
    }
    if rules.delete {
        for (rel, d) in dst.iter().rev() {
            if !src.contains_key(rel) && !cleared.contains(rel) && !under(rel, &cleared) {
                plan.deletes.push((rel.clone(), d.kind));
            }
        }
    }
    plan
}

/// `--dry-run`'s lines (or `plan` events).
fn show_plan(plan: &Plan, direction: Direction, reporter: &Reporter) {
    let line = |action: &str, path: &str, extra: String| {
        if reporter.json() {
            return;
        }
        println!("{action:<7}{}{extra}", crate::display::escape(path));
    };
    if plan.create_root {
        reporter.event("plan", json!({"action": "mkdir", "path": ""}));
        line("mkdir", ".", String::new());
    }
    for (rel, kind) in &plan.clear {
        let action = if *kind == Kind::Dir { "rmdir" } else { "delete" };
        reporter.event("plan", json!({"action": action, "path": rel}));
        line(action, rel, " (in the way)".into());
    }
    for rel in &plan.mkdirs {
        reporter.event("plan", json!({"action": "mkdir", "path": rel}));
        line("mkdir", rel, "/".into());
    }
    for t in &plan.transfers {
        reporter.event(
            "plan",
            json!({"action": direction.verb(), "path": t.rel, "size": t.size, "reason": t.reason.word(),
                   "offset": t.offset}),
        );
        let extra = if t.offset > 0 {
            format!(" ({} bytes, resume from {})", t.size, t.offset)
        } else {
            format!(" ({} bytes, {})", t.size, t.reason.word())
        };
        line(direction.verb(), &t.rel, extra);
    }
    for (rel, kind) in &plan.deletes {
        let action = if *kind == Kind::Dir { "rmdir" } else { "delete" };
        reporter.event("plan", json!({"action": action, "path": rel}));
        line(action, rel, String::new());
    }
}

/// One multi-file command, as the subcommands describe it.
pub(crate) struct Job {
    pub(crate) direction: Direction,
    pub(crate) url: FtpUrl,
    /// The remote directory (the URL's path, or its parent for a glob).
    pub(crate) remote_dir: String,
    pub(crate) local_root: PathBuf,
    pub(crate) filter: Filter,
    pub(crate) max_depth: usize,
    /// Walk below the first level (not for a glob).
    pub(crate) recursive: bool,
    pub(crate) rules_delete: bool,
    pub(crate) copy_all: bool,
    pub(crate) dry_run: bool,
    pub(crate) parallel: usize,
    pub(crate) json: bool,
    pub(crate) conn: Connection,
}

/// `ftpkit mirror`.
pub(crate) async fn mirror(args: Mirror) -> Result<()> {
    let remote = |s: &str| {
        let lower = s.get(..6).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("ftp://") || lower.starts_with("ftps:/")
    };
    let (direction, url, local) = match (remote(&args.source), remote(&args.target)) {
        (true, false) => (Direction::Download, &args.source, &args.target),
        (false, true) => (Direction::Upload, &args.target, &args.source),
        (true, true) => {
            return Err(Failure::new(
                exit::USAGE,
                "both sides are remote: mirror one of them to a local directory, then that to the other",
            ));
        }
        (false, false) => {
            return Err(Failure::new(exit::USAGE, "neither side is an ftp:// or ftps:// URL"));
        }
    };
    let url = FtpUrl::parse(url).map_err(|e| Failure::new(exit::USAGE, e))?;
    let filter = Filter::new(&args.select.include, &args.select.exclude).map_err(|e| Failure::new(exit::USAGE, e))?;
    run(Job {
        direction,
        remote_dir: url.path.clone(),
        url,
        local_root: PathBuf::from(local),
        filter,
        max_depth: args.select.max_depth,
        recursive: true,
        rules_delete: args.delete,
        copy_all: false,
        dry_run: args.dry_run,
        parallel: usize::from(args.parallel),
        json: args.json,
        conn: args.conn,
    })
    .await
}

/// The remote directory as an absolute path: the URL's own when it starts
/// with `/`, else under the login directory (PWD).
async fn absolute(client: &mut Client, dir: &str) -> Result<String> {
    if dir.starts_with('/') {
        return Ok(dir.to_owned());
    }
    let home = client.pwd().await.map_err(|e| Failure::from_client("PWD", &e))?;
    Ok(tree::remote_join(&home, dir.trim_end_matches('/')))
}

fn walk_failure(e: &WalkError) -> Failure {
    match e {
        WalkError::Client { path, error } => Failure::from_client(path, error),
        WalkError::Local { .. } => Failure::new(exit::LOCAL, e.to_string()),
        _ => Failure::new(exit::TRANSFER, e.to_string()),
    }
}

/// For downloads: `NAME.part` files of the target whose `NAME` the source
/// has as a file are partial downloads, not files of their own.
fn take_parts(src: &Tree, dst: &mut Tree) -> BTreeMap<String, u64> {
    let parts: Vec<(String, String, u64)> = dst
        .iter()
        .filter(|(_, n)| n.kind == Kind::File)
        .filter_map(|(rel, n)| {
            let name = rel.strip_suffix(".part")?;
            (src.get(name).is_some_and(|s| s.kind == Kind::File)).then(|| (rel.clone(), name.to_owned(), n.size))
        })
        .collect();
    parts
        .into_iter()
        .map(|(part, name, size)| {
            dst.remove(&part);
            (name, size)
        })
        .collect()
}

/// LIST times (no zone) replaced by MDTM's, for the remote side's files
/// that the comparison will look at (same size on both sides).
async fn refine_times(client: &mut Client, root: &str, remote: &mut Tree, other: &Tree) {
    if !client.capabilities().mdtm && client.capabilities().feat_known {
        return;
    }
    let wanted: Vec<String> = remote
        .iter()
        .filter(|(rel, n)| {
            n.kind == Kind::File
                && n.modified.is_none_or(|m| !m.utc)
                && other.get(*rel).is_some_and(|o| o.kind == Kind::File && o.size == n.size)
        })
        .map(|(rel, _)| rel.clone())
        .collect();
    for rel in wanted {
        match client.mdtm(&tree::remote_join(root, &rel)).await {
            Ok(t) => {
                if let Some(node) = remote.get_mut(&rel) {
                    node.modified = Some(Stamp::utc(t, ftp_proto::listing::Precision::Second));
                }
            }
            // No MDTM: sizes alone decide.
            Err(_) => return,
        }
    }
}

/// Runs a job: walk, plan, then (unless `--dry-run`) the plan.
pub(crate) async fn run(job: Job) -> Result<()> {
    let reporter = Reporter::new(job.json);
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut client = crate::remote::connect(&job.url, &job.conn).await?;
    let root = absolute(&mut client, &job.remote_dir).await?;
    let depth = if job.recursive { job.max_depth } else { 0 };
    let walked = match job.direction {
        Direction::Download => {
            let src = tree::remote_tree(&mut client, &root, &job.filter, depth, job.recursive, &mut skipped).await;
            let dst = tree::local_tree(&job.local_root, &job.filter, depth, false, job.recursive, &mut skipped);
            src.and_then(|s| Ok((s, dst?)))
        }
        Direction::Upload => {
            let src = tree::local_tree(&job.local_root, &job.filter, depth, true, job.recursive, &mut skipped);
            match src {
                Ok(src) => tree::remote_tree(&mut client, &root, &job.filter, depth, job.recursive, &mut skipped)
                    .await
                    .map(|dst| (src, dst)),
                Err(e) => Err(e),
            }
        }
    };
    let (src, mut dst) = match walked {
        Ok(trees) => trees,
        Err(e) => {
            crate::remote::finish(client).await;
            return Err(walk_failure(&e));
        }
    };
    let Some(mut src) = src else {
        crate::remote::finish(client).await;
        let what = match job.direction {
            Direction::Download => root.clone(),
            Direction::Upload => job.local_root.display().to_string(),
        };
        return Err(Failure::new(
            if job.direction == Direction::Download { exit::REFUSED } else { exit::LOCAL },
            format!("{what}: no such directory"),
        ));
    };
    for s in &skipped {
        reporter.say(&format!("{}: {}: skipped", s.path, s.reason));
        reporter.event("skip", json!({"path": s.path, "reason": s.reason, "hostile": s.hostile}));
    }
    let parts = match (&mut dst, job.direction) {
        (Some(dst), Direction::Download) => take_parts(&src, dst),
        _ => BTreeMap::new(),
    };
    if !job.copy_all {
        match (job.direction, &mut dst) {
            (Direction::Download, Some(d)) => refine_times(&mut client, &root, &mut src, d).await,
            (Direction::Upload, Some(d)) => refine_times(&mut client, &root, d, &src).await,
            _ => {}
        }
    }
    let rules = Rules {
        delete: job.rules_delete,
        copy_all: job.copy_all,
        target_times_settable: job.direction == Direction::Download || client.capabilities().mfmt,
        direction: job.direction,
    };
    let plan = plan(&src, dst.as_ref(), &parts, rules);
    for (rel, why) in &plan.conflicts {
        reporter.say(&format!("{rel}: {why}: left as it is (--delete replaces it)"));
        reporter.event("conflict", json!({"path": rel, "reason": why}));
    }
    let hostile = skipped.iter().filter(|s| s.hostile).count();
    if job.dry_run {
        crate::remote::finish(client).await;
        show_plan(&plan, job.direction, &reporter);
        if reporter.json() {
            reporter.summary(0, 0, skipped.len() as u64);
        } else {
            eprintln!("ftpkit: dry run: nothing was changed");
        }
        return outcome(0, hostile, plan.conflicts.len());
    }
    let ctx = Arc::new(Context { job, root, reporter: reporter.clone() });
    let mut failed = 0usize;
    let mut deleted = 0u64;
    // Directories: the root, what is in the way (--delete), new ones.
    if let Err(f) = prepare(&mut client, &ctx, &plan).await {
        crate::remote::finish(client).await;
        return Err(f);
    }
    deleted += plan.clear.len() as u64;
    let total: u64 = plan.transfers.iter().map(|t| t.size).sum();
    let already: u64 = plan.transfers.iter().map(|t| t.offset).sum();
    reporter.total(plan.transfers.len() as u64, total, already);
    let queue = Arc::new(Mutex::new(plan.transfers.iter().cloned().map(|t| (t, 0u32)).collect::<VecDeque<_>>()));
    let mut workers = tokio::task::JoinSet::new();
    let extra = ctx.job.parallel.min(plan.transfers.len()).saturating_sub(1);
    for _ in 0..extra {
        let (queue, ctx) = (queue.clone(), ctx.clone());
        workers.spawn(async move { worker(None, queue, ctx).await.1 });
    }
    let (back, mine) = worker(Some(client), queue.clone(), ctx.clone()).await;
    failed += mine;
    while let Some(result) = workers.join_next().await {
        failed += result.unwrap_or(1);
    }
    // Deletions only after every transfer, on a connection of their own
    // when the first one was lost.
    if !plan.deletes.is_empty() {
        let mut client = match back {
            Some(c) => c,
            None => crate::remote::connect(&ctx.job.url, &ctx.job.conn).await?,
        };
        for (rel, kind) in &plan.deletes {
            match remove(&mut client, &ctx, rel, *kind).await {
                Ok(()) => deleted += 1,
                Err(f) => {
                    failed += 1;
                    ctx.reporter.say(&f.message);
                }
            }
        }
        crate::remote::finish(client).await;
    } else if let Some(client) = back {
        crate::remote::finish(client).await;
    }
    reporter.summary(deleted, failed as u64, skipped.len() as u64);
    outcome(failed, hostile, plan.conflicts.len())
}

/// The exit code of a run that went to its end.
fn outcome(failed: usize, hostile: usize, conflicts: usize) -> Result<()> {
    if failed > 0 {
        Err(Failure::new(exit::TRANSFER, format!("{failed} failed")))
    } else if hostile > 0 {
        Err(Failure::new(exit::TRANSFER, format!("{hostile} names refused (they would leave the target directory)")))
    } else if conflicts > 0 {
        Err(Failure::new(exit::TRANSFER, format!("{conflicts} left in the way (see above; --delete replaces them)")))
    } else {
        Ok(())
    }
}

/// What every connection of a run shares.
struct Context {
    job: Job,
    /// The remote directory, absolute.
    root: String,
    reporter: Arc<Reporter>,
}

impl Context {
    fn remote(&self, rel: &str) -> String {
        tree::remote_join(&self.root, rel)
    }

    fn local(&self, rel: &str) -> PathBuf {
        tree::local_join(&self.job.local_root, rel)
    }
}

fn local_failure(path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(exit::LOCAL, format!("{}: {e}", path.display()))
}

/// Creates the target's root, clears what is in the way, makes the new
/// directories.
async fn prepare(client: &mut Client, ctx: &Context, plan: &Plan) -> Result<()> {
    if plan.create_root {
        match ctx.job.direction {
            Direction::Download => {
                std::fs::create_dir_all(&ctx.job.local_root).map_err(|e| local_failure(&ctx.job.local_root, &e))?
            }
            Direction::Upload => remote_mkdir_all(client, &ctx.root).await?,
        }
        ctx.reporter.event("mkdir", json!({"path": ""}));
    }
    for (rel, kind) in &plan.clear {
        remove(client, ctx, rel, *kind).await?;
    }
    for rel in &plan.mkdirs {
        match ctx.job.direction {
            Direction::Download => {
                let path = ctx.local(rel);
                std::fs::create_dir(&path).map_err(|e| local_failure(&path, &e))?;
            }
            Direction::Upload => {
                let path = ctx.remote(rel);
                client.mkdir(&path).await.map_err(|e| Failure::from_client(&path, &e))?;
            }
        }
        ctx.reporter.event("mkdir", json!({"path": rel}));
    }
    Ok(())
}

/// `MKD` of `path` and of any parent that is missing.
async fn remote_mkdir_all(client: &mut Client, path: &str) -> Result<()> {
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        if client.cwd(&at).await.is_err() {
            client.mkdir(&at).await.map_err(|e| Failure::from_client(&at, &e))?;
        }
    }
    Ok(())
}

/// Deletes one target entry (a directory is empty by then: what it held
/// was deleted before it).
async fn remove(client: &mut Client, ctx: &Context, rel: &str, kind: Kind) -> Result<()> {
    match ctx.job.direction {
        Direction::Download => {
            let path = ctx.local(rel);
            let r = if kind == Kind::Dir { std::fs::remove_dir(&path) } else { std::fs::remove_file(&path) };
            r.map_err(|e| local_failure(&path, &e))?;
        }
        Direction::Upload => {
            let path = ctx.remote(rel);
            let r = if kind == Kind::Dir { client.rmdir(&path).await } else { client.delete(&path).await };
            r.map_err(|e| Failure::from_client(&path, &e))?;
        }
    }
    let event = if kind == Kind::Dir { "rmdir" } else { "delete" };
    ctx.reporter.event(event, json!({"path": rel}));
    Ok(())
}

type Queue = Arc<Mutex<VecDeque<(Transfer, u32)>>>;

/// Takes transfers from the queue until it is empty, over one connection
/// (made when first needed, made again after one is lost). Returns the
/// connection (if still good) and the number of files that failed for good.
async fn worker(mut client: Option<Client>, queue: Queue, ctx: Arc<Context>) -> (Option<Client>, usize) {
    let mut failed = 0;
    // (The queue's lock is released inside the `map`, before the body.)
    while let Some((transfer, attempt)) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) {
        let mut c = match client.take() {
            Some(c) => c,
            None => match crate::remote::connect(&ctx.job.url, &ctx.job.conn).await {
                Ok(c) => c,
                Err(f) => {
                    retry_or_fail(&ctx, &queue, transfer, attempt, &f, None, &mut failed).await;
                    continue;
                }
            },
        };
        let meter = ctx.reporter.start(&transfer.rel, ctx.job.direction.verb(), transfer.size, transfer.offset);
        let result = match ctx.job.direction {
            Direction::Download => download(&mut c, &ctx, &transfer, &meter, attempt).await,
            Direction::Upload => upload(&mut c, &ctx, &transfer, &meter, attempt).await,
        };
        match result {
            Ok(()) => {
                ctx.reporter.done(&transfer.rel, &meter);
                client = Some(c);
            }
            Err(f) => {
                // A connection that failed below the FTP level is not used
                // again.
                if !f.transient || f.code == exit::REFUSED {
                    client = Some(c);
                }
                retry_or_fail(&ctx, &queue, transfer, attempt, &f, Some(&meter), &mut failed).await;
            }
        }
    }
    (client, failed)
}

/// A failed transfer: queued again after a wait (`--retry`, transient
/// failures), else counted.
async fn retry_or_fail(
    ctx: &Context,
    queue: &Queue,
    mut transfer: Transfer,
    attempt: u32,
    failure: &Failure,
    meter: Option<&crate::report::Meter>,
    failed: &mut usize,
) {
    ctx.reporter.failed(&transfer.rel, meter, &failure.message, attempt + 1);
    if failure.transient && attempt < ctx.job.conn.retry {
        let wait = std::time::Duration::from_secs(1 << attempt.min(4)).min(std::time::Duration::from_secs(10));
        ctx.reporter.say(&format!("{} (again in {} s)", failure.message, wait.as_secs()));
        tokio::time::sleep(wait).await;
        // The next attempt goes on from what is there.
        transfer.reason = Reason::Resume;
        if let Ok(mut q) = queue.lock() {
            q.push_back((transfer, attempt + 1));
        }
    } else {
        ctx.reporter.say(&failure.message);
        *failed += 1;
    }
}

/// One download: to `NAME.part` (appended from `offset`), then the remote
/// time set on it, then renamed to `NAME`.
async fn download(
    client: &mut Client,
    ctx: &Context,
    t: &Transfer,
    meter: &crate::report::Meter,
    attempt: u32,
) -> Result<()> {
    let remote = ctx.remote(&t.rel);
    let target = ctx.local(&t.rel);
    let part = crate::remote::part_path(&target);
    // A second attempt goes on from what the first one wrote.
    let offset = if attempt > 0 || t.offset > 0 {
        std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0).min(t.size)
    } else {
        0
    };
    // A LIST time has no zone: MDTM says when the file was changed.
    let modified = match t.modified {
        Some(m) if m.utc => Some(m),
        _ => client.mdtm(&remote).await.ok().map(|ts| Stamp::utc(ts, ftp_proto::listing::Precision::Second)),
    };
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(offset > 0)
        .truncate(offset == 0)
        .open(&part)
        .await
        .map_err(|e| local_failure(&part, &e))?;
    let mut sink = meter.wrap(ctx.job.conn.paced(file));
    let result = client.get_sized(&remote, offset, t.size, &mut sink).await;
    let flushed = sink.flush().await;
    result.map_err(|e| Failure::from_client(&remote, &e))?;
    flushed.map_err(|e| local_failure(&part, &e))?;
    drop(sink);
    if let Some(time) = modified.and_then(Stamp::system_time) {
        std::fs::File::options()
            .write(true)
            .open(&part)
            .and_then(|f| f.set_modified(time))
            .map_err(|e| local_failure(&part, &e))?;
    }
    std::fs::rename(&part, &target).map_err(|e| local_failure(&part, &e))
}

/// One upload, from `offset` (REST) when resuming, then MFMT.
async fn upload(
    client: &mut Client,
    ctx: &Context,
    t: &Transfer,
    meter: &crate::report::Meter,
    attempt: u32,
) -> Result<()> {
    let remote = ctx.remote(&t.rel);
    let path = ctx.local(&t.rel);
    let offset = if attempt > 0 {
        match client.size(&remote).await {
            Ok(n) => n.min(t.size),
            Err(_) => 0,
        }
    } else {
        t.offset
    };
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| local_failure(&path, &e))?;
    if offset > 0 {
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| local_failure(&path, &e))?;
    }
    let mut source = meter.wrap(ctx.job.conn.paced(file));
    client.put(&remote, offset, &mut source).await.map_err(|e| Failure::from_client(&remote, &e))?;
    if client.capabilities().mfmt
        && let Some(time) = t.modified.and_then(Stamp::timestamp)
        && let Err(e) = client.mfmt(&remote, time).await
    {
        ctx.reporter.say(&format!("{remote}: the time was not set: {e}"));
    }
    Ok(())
}

/// `get -r URL [-o DIR]` and `get 'dir/*.csv'`: the remote directory (or
/// the files of one matching a glob) copied under `local` (created when
/// missing), every file sent.
pub(crate) async fn get_many(
    url: FtpUrl,
    local: Option<PathBuf>,
    glob: bool,
    select: Select,
    json: bool,
    conn: Connection,
) -> Result<()> {
    let (remote_dir, mut filter) = if glob {
        let (dir, pattern) = url.path.rsplit_once('/').unwrap_or(("", url.path.as_str()));
        let glob = Glob::new(pattern).map_err(|e| Failure::new(exit::USAGE, e))?;
        (dir.to_owned(), Filter { include: vec![glob], exclude: Vec::new() })
    } else {
        (url.path.trim_end_matches('/').to_owned(), Filter::default())
    };
    let extra = Filter::new(&select.include, &select.exclude).map_err(|e| Failure::new(exit::USAGE, e))?;
    filter.include.extend(extra.include);
    filter.exclude.extend(extra.exclude);
    let local_root = match local {
        Some(p) => p,
        None if glob => PathBuf::from("."),
        None => PathBuf::from(url.file_name().ok_or_else(|| {
            Failure::new(exit::USAGE, format!("{:?} names no directory to create here: give one with -o DIR", url.path))
        })?),
    };
    run(Job {
        direction: Direction::Download,
        remote_dir,
        url,
        local_root,
        filter,
        max_depth: select.max_depth,
        recursive: !glob,
        rules_delete: false,
        copy_all: true,
        dry_run: false,
        parallel: 1,
        json,
        conn,
    })
    .await
}

/// `put -r DIR URL`: the local directory copied to the remote one (which
/// is created when missing), every file sent.
pub(crate) async fn put_tree(local: PathBuf, url: FtpUrl, select: Select, json: bool, conn: Connection) -> Result<()> {
    let filter = Filter::new(&select.include, &select.exclude).map_err(|e| Failure::new(exit::USAGE, e))?;
    // `put -r dir ftp://h/up/` puts dir under up/, as `put file ftp://h/up/`.
    let remote_dir = if url.path.is_empty() || url.path.ends_with('/') {
        let name = local
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .ok_or_else(|| Failure::new(exit::USAGE, format!("{}: names no directory", local.display())))?;
        format!("{}{name}", url.path)
    } else {
        url.path.clone()
    };
    run(Job {
        direction: Direction::Upload,
        remote_dir,
        url,
        local_root: local,
        filter,
        max_depth: select.max_depth,
        recursive: true,
        rules_delete: false,
        copy_all: true,
        dry_run: false,
        parallel: 1,
        json,
        conn,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftp_proto::listing::Precision;

    fn file(size: u64, secs: i64) -> Node {
        Node {
            kind: Kind::File,
            size,
            modified: Some(Stamp { secs, nanos: 0, precision: Precision::Second, utc: true }),
        }
    }

    fn dir() -> Node {
        Node { kind: Kind::Dir, size: 0, modified: None }
    }

    fn tree(entries: &[(&str, Node)]) -> Tree {
        entries.iter().map(|(p, n)| ((*p).to_owned(), n.clone())).collect()
    }

    const DOWN: Rules =
        Rules { delete: false, copy_all: false, target_times_settable: true, direction: Direction::Download };

    fn names(plan: &Plan) -> Vec<(&str, Reason, u64)> {
        plan.transfers.iter().map(|t| (t.rel.as_str(), t.reason, t.offset)).collect()
    }

    /// A second run transfers nothing; a changed file is transferred
    /// alone; a missing target is created (issue 20).
    #[test]
    fn plan_transfers_only_what_differs() {
        let src = tree(&[("a", file(5, 100)), ("d", dir()), ("d/b", file(7, 100)), ("d/c", file(9, 100))]);
        let none = BTreeMap::new();
        let fresh = plan(&src, None, &none, DOWN);
        assert!(fresh.create_root);
        assert_eq!(fresh.mkdirs, ["d"]);
        assert_eq!(names(&fresh), [("a", Reason::New, 0), ("d/b", Reason::New, 0), ("d/c", Reason::New, 0)]);
        assert_eq!(plan(&src, Some(&src), &none, DOWN), Plan::default(), "a second run does nothing");
        let mut dst = src.clone();
        dst.insert("d/b".into(), file(7, 99));
        dst.insert("d/c".into(), file(8, 100));
        assert_eq!(names(&plan(&src, Some(&dst), &none, DOWN)), [("d/b", Reason::Time, 0), ("d/c", Reason::Size, 0)]);
    }

    /// `--delete` removes exactly what the source lacks, files before the
    /// directories that held them; without it nothing is deleted.
    #[test]
    fn plan_deletes_what_is_gone() {
        let src = tree(&[("a", file(5, 100))]);
        let dst = tree(&[("a", file(5, 100)), ("old", dir()), ("old/x", file(1, 1)), ("z", file(1, 1))]);
        let none = BTreeMap::new();
        assert!(plan(&src, Some(&dst), &none, DOWN).deletes.is_empty());
        let p = plan(&src, Some(&dst), &none, Rules { delete: true, ..DOWN });
        assert_eq!(p.deletes, [("z".into(), Kind::File), ("old/x".into(), Kind::File), ("old".into(), Kind::Dir)]);
        assert!(p.transfers.is_empty());
    }

    /// A target that cannot take times (no MFMT) counts a newer file of
    /// the same size as up to date; an older one is sent again.
    #[test]
    fn plan_without_settable_times() {
        let src = tree(&[("a", file(5, 100))]);
        let up = Rules { target_times_settable: false, direction: Direction::Upload, ..DOWN };
        let none = BTreeMap::new();
        assert!(plan(&src, Some(&tree(&[("a", file(5, 200))])), &none, up).transfers.is_empty());
        assert_eq!(names(&plan(&src, Some(&tree(&[("a", file(5, 50))])), &none, up)), [("a", Reason::Time, 0)]);
        // With settable times, any difference counts.
        let settable = Rules { target_times_settable: true, ..up };
        assert_eq!(names(&plan(&src, Some(&tree(&[("a", file(5, 200))])), &none, settable)), [("a", Reason::Time, 0)]);
    }

    /// Resumes: a download's NAME.part; an upload's smaller, newer remote
    /// file.
    #[test]
    fn plan_resumes_partial_files() {
        let src = tree(&[("a", file(50, 100)), ("b", file(50, 100))]);
        let parts = BTreeMap::from([("a".to_owned(), 20u64)]);
        let p = plan(&src, Some(&Tree::new()), &parts, DOWN);
        assert_eq!(names(&p), [("a", Reason::Resume, 20), ("b", Reason::New, 0)]);
        let up = Rules { direction: Direction::Upload, ..DOWN };
        let dst = tree(&[("a", file(20, 300)), ("b", file(20, 50))]);
        assert_eq!(
            names(&plan(&src, Some(&dst), &BTreeMap::new(), up)),
            [("a", Reason::Resume, 20), ("b", Reason::Size, 0)]
        );
    }

    /// A directory where the source has a file (and the reverse) is left
    /// alone and reported, with what the source has under it; `--delete`
    /// clears it first.
    #[test]
    fn plan_conflicts() {
        let src = tree(&[("x", file(1, 1)), ("y", dir()), ("y/in", file(1, 1))]);
        let dst = tree(&[("x", dir()), ("x/old", file(1, 1)), ("y", file(3, 3))]);
        let none = BTreeMap::new();
        let p = plan(&src, Some(&dst), &none, DOWN);
        assert_eq!(p.conflicts.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["x", "y"]);
        assert!(p.transfers.is_empty() && p.mkdirs.is_empty() && p.clear.is_empty());
        let p = plan(&src, Some(&dst), &none, Rules { delete: true, ..DOWN });
        assert_eq!(p.clear, [("y".into(), Kind::File), ("x/old".into(), Kind::File), ("x".into(), Kind::Dir)]);
        assert_eq!(p.mkdirs, ["y"]);
        assert_eq!(names(&p), [("x", Reason::New, 0), ("y/in", Reason::New, 0)]);
        assert!(p.deletes.is_empty());
    }

    /// `get -r`: every file, whatever is there.
    #[test]
    fn plan_copy_all() {
        let src = tree(&[("a", file(5, 100))]);
        let p = plan(&src, Some(&src), &BTreeMap::new(), Rules { copy_all: true, ..DOWN });
        assert_eq!(names(&p), [("a", Reason::Copy, 0)]);
    }

    /// A tree from generated paths over a small alphabet, each a file or a
    /// directory; parents are directories (a child under a file is
    /// dropped).
    fn generated(entries: Vec<(Vec<u8>, bool, u64, i64)>) -> Tree {
        let mut t = Tree::new();
        for (path, is_dir, size, secs) in entries {
            let parts: Vec<String> = path.iter().map(|c| ["a", "b", "c"][usize::from(*c % 3)].to_owned()).collect();
            let mut ok = true;
            for depth in 1..parts.len() {
                let parent = parts[..depth].join("/");
                match t.get(&parent) {
                    Some(n) if n.kind != Kind::Dir => ok = false,
                    Some(_) => {}
                    None => {
                        t.insert(parent, dir());
                    }
                }
            }
            let rel = parts.join("/");
            if ok && !rel.is_empty() && !t.contains_key(&rel) {
                t.insert(rel, if is_dir { dir() } else { file(size, secs) });
            }
        }
        t
    }

    /// The target after a run of `plan`: what each step does to it.
    fn apply(plan: &Plan, src: &Tree, dst: &Tree) -> Tree {
        let mut t = dst.clone();
        for (rel, _) in &plan.clear {
            t.remove(rel);
        }
        for rel in &plan.mkdirs {
            t.insert(rel.clone(), dir());
        }
        for tr in &plan.transfers {
            t.insert(tr.rel.clone(), src[&tr.rel].clone());
        }
        for (rel, _) in &plan.deletes {
            t.remove(rel);
        }
        t
    }

    /// What a comparison sees: kinds, and sizes and times of files.
    fn seen(t: &Tree) -> Vec<(String, Kind, u64, Option<Stamp>)> {
        t.iter()
            .map(|(p, n)| match n.kind {
                Kind::File => (p.clone(), n.kind, n.size, n.modified),
                _ => (p.clone(), n.kind, 0, None),
            })
            .collect()
    }

    fn trees() -> impl proptest::strategy::Strategy<Value = Tree> {
        use proptest::prelude::*;
        proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 1..4), any::<bool>(), 0u64..3, 0i64..3),
            0..12,
        )
        .prop_map(generated)
    }

    proptest::proptest! {
        /// Issue 20: with `--delete`, one run makes any target the copy of
        /// any source, and a second run then has nothing to do; without
        /// it, every source file outside a conflict arrives and nothing
        /// is removed but what was in the way.
        #[test]
        fn a_run_makes_the_copy_and_a_second_run_does_nothing(src in trees(), dst in trees(), delete in proptest::prelude::any::<bool>()) {
            let none = BTreeMap::new();
            let rules = Rules { delete, ..DOWN };
            let p = plan(&src, Some(&dst), &none, rules);
            let after = apply(&p, &src, &dst);
            if delete {
                proptest::prop_assert_eq!(seen(&after), seen(&src));
            } else {
                for (rel, node) in &src {
                    let blocked = p.conflicts.iter().any(|(c, _)| rel == c || rel.starts_with(&format!("{c}/")));
                    if node.kind == Kind::File && !blocked {
                        proptest::prop_assert_eq!(after.get(rel), Some(node));
                    }
                }
                for rel in dst.keys() {
                    proptest::prop_assert!(after.contains_key(rel), "{} was removed without --delete", rel);
                }
            }
            let again = plan(&src, Some(&after), &none, rules);
            proptest::prop_assert!(again.transfers.is_empty() && again.mkdirs.is_empty(), "{:?}", again);
            proptest::prop_assert!(again.deletes.is_empty() && again.clear.is_empty(), "{:?}", again);
        }

        /// A source against itself: nothing to do, whatever the rules.
        #[test]
        fn a_tree_against_itself_needs_nothing(src in trees(), delete in proptest::prelude::any::<bool>()) {
            let p = plan(&src, Some(&src), &BTreeMap::new(), Rules { delete, ..DOWN });
            proptest::prop_assert_eq!(p, Plan::default());
        }
    }

    #[test]
    fn parts_are_not_files() {
        let src = tree(&[("a", file(5, 100))]);
        let mut dst = tree(&[("a.part", file(2, 1)), ("b.part", file(2, 1))]);
        let parts = take_parts(&src, &mut dst);
        assert_eq!(parts, BTreeMap::from([("a".to_owned(), 2)]));
        assert!(dst.contains_key("b.part") && !dst.contains_key("a.part"));
    }
}
