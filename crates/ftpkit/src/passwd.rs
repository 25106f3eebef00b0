//! `ftpkit passwd`: adds a user to the users file, changes their password,
//! home or write access, or deletes them (issue 18). The file's format is
//! described in [`crate::users`].
//!
//! The file is edited with `toml_edit`, so every other entry, the comments
//! and the layout stay as they were. It is replaced atomically: a temporary
//! file (mode 0600) in the same directory is written, synced and renamed
//! over it, so a server reading it sees the old file or the new one, never
//! half of one. Two `ftpkit passwd` run at once on the same file may lose
//! one of the changes (no lock).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHasher};
use ftp_proto::Username;
use toml_edit::{DocumentMut, Item, Table, value};

/// The comment a new users file starts with.
const HEADER: &str = "# ftpkit users file, written by `ftpkit passwd NAME --users-file FILE`.\n\
                      # Password hashes: argon2id, bcrypt ($2a$/$2b$/$2y$) or SHA-512 crypt ($6$).\n";

#[derive(clap::Args)]
pub(crate) struct Passwd {
    /// The user's name.
    name: String,
    /// The users file (TOML); created, mode 0600, when missing.
    #[arg(long, value_name = "FILE")]
    users_file: PathBuf,
    /// The user's own root (a relative path is relative to the users
    /// file's directory).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Let the user upload, delete, rename and make directories.
    #[arg(long, conflicts_with = "read_only")]
    writable: bool,
    /// Download and list only (the default for a new user).
    #[arg(long)]
    read_only: bool,
    /// Remove the user instead.
    #[arg(long, conflicts_with_all = ["home", "writable", "read_only"])]
    delete: bool,
}

/// Runs `ftpkit passwd`: the password comes from the terminal without echo
/// (asked twice), or from the first line of stdin when it is not a
/// terminal; never from the command line.
pub(crate) fn passwd(args: Passwd) -> Result<(), String> {
    let name = args.name.as_str();
    if name.is_empty() || Username::try_from(name).is_err() || name.chars().any(char::is_control) {
        return Err(format!("{name:?} is not a valid user name"));
    }
    let path = args.users_file.as_path();
    let (mut doc, existed) = match std::fs::read_to_string(path) {
        Ok(text) => (text.parse::<DocumentMut>().map_err(|e| format!("users file {}: {e}", path.display()))?, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (DocumentMut::new(), false),
        Err(e) => return Err(format!("users file {}: {e}", path.display())),
    };
    if !existed {
        doc.decor_mut().set_prefix(HEADER);
    } else if doc.is_empty() {
        // A file of comments only holds them after its (no) entries: keep
        // them at the top, above the first user.
        let comments = doc.trailing().as_str().unwrap_or_default().to_owned();
        doc.decor_mut().set_prefix(comments);
        doc.set_trailing("");
    }
    let users = users_table(&mut doc, path)?;

    if args.delete {
        if users.remove(name).is_none() {
            return Err(format!("no user {name:?} in {}", path.display()));
        }
        write_atomically(path, doc.to_string().as_bytes())?;
        eprintln!("ftpkit: deleted user {name} from {}", path.display());
        return Ok(());
    }

    let is_new = !users.contains_key(name);
    let entry = users.entry(name).or_insert_with(|| Item::Table(Table::new()));
    let Some(entry) = entry.as_table_like_mut() else {
        return Err(format!("users file {}: users.{name} is not a table", path.display()));
    };

    let password = read_password(name)?;
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| format!("cannot hash the password: {e}"))?
        .to_string();
    drop(password);

    set(entry, "password", value(hash));
    if let Some(home) = &args.home {
        let home = home.to_str().ok_or_else(|| format!("--home {}: not UTF-8", home.display()))?;
        set(entry, "home", value(home));
    }
    if args.writable || args.read_only {
        set(entry, "writable", value(args.writable));
    }
    write_atomically(path, doc.to_string().as_bytes())?;
    if is_new {
        eprintln!("ftpkit: added user {name} to {}", path.display());
    } else {
        eprintln!("ftpkit: updated user {name} in {}", path.display());
    }
    Ok(())
}

/// The `[users]` table, made (implicit, so that only `[users.NAME]` headers
/// show) when missing.
fn users_table<'d>(doc: &'d mut DocumentMut, path: &Path) -> Result<&'d mut dyn toml_edit::TableLike, String> {
    let users = doc.entry("users").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    users.as_table_like_mut().ok_or_else(|| format!("users file {}: `users` is not a table", path.display()))
}

/// Sets `key` to `item`, keeping the comments around an old value.
fn set(table: &mut dyn toml_edit::TableLike, key: &str, mut item: Item) {
    if let (Some(old), Some(new)) = (table.get(key).and_then(Item::as_value), item.as_value_mut()) {
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(key, item);
}

/// The new password: asked twice on the terminal, or the first line of
/// stdin (without its line ending) for scripts.
fn read_password(name: &str) -> Result<String, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {name}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first.is_empty() {
            return Err("empty password refused".to_owned());
        }
        let again = rpassword::prompt_password("Again: ").map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the passwords do not match; nothing changed".to_owned());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
        trimmed.to_owned()
    };
    if password.is_empty() {
        return Err("empty password refused".to_owned());
    }
    if password.contains(['\r', '\n', '\0']) {
        return Err("a password cannot hold CR, LF or NUL (FTP could not send it)".to_owned());
    }
    Ok(password)
}

/// Replaces `path` with `contents`: a temporary file in the same directory,
/// mode 0600, synced, then renamed over it.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path.file_name().ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename itself, on disk (best effort: the file is in place).
        #[cfg(unix)]
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}
