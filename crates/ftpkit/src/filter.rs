//! Which paths a multi-file command takes (`--include`, `--exclude`) and
//! client-side globs (`get 'dir/*.csv'`, `ls 'logs/2026-*'`).
//!
//! Globs are matched here, on names from a listing, and never sent to the
//! server as a pattern: servers glob differently or not at all, and a
//! server-side glob is a denial-of-service surface (SECURITY.md P3).

use glob::{MatchOptions, Pattern};

/// How patterns match: `*` and `?` do not cross a `/`; case matters; a
/// leading `.` needs no literal dot (as lftp's and rsync's filters).
const OPTIONS: MatchOptions =
    MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };

/// A glob, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    pattern: Pattern,
    /// Matched against the whole relative path (the pattern has a `/`),
    /// else against the last component.
    whole_path: bool,
}

impl Glob {
    /// Parses a pattern: `*`, `?`, `[abc]`, `[!abc]`.
    pub(crate) fn new(text: &str) -> Result<Self, String> {
        let pattern = Pattern::new(text).map_err(|e| format!("{text:?}: not a pattern ({})", e.msg))?;
        Ok(Self { pattern, whole_path: text.contains('/') })
    }

    /// Whether `rel` (a relative path with `/` separators) matches.
    pub(crate) fn matches(&self, rel: &str) -> bool {
        let subject = if self.whole_path { rel } else { rel.rsplit('/').next().unwrap_or(rel) };
        self.pattern.matches_with(subject, OPTIONS)
    }
}

/// Whether `text` has glob characters (so a URL's last component is a
/// pattern, not a name).
pub(crate) fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// `--include` and `--exclude`, in the order lftp applies them: an excluded
/// path is left out (a directory with all it holds), and when includes are
/// given only files matching one of them are taken (directories are still
/// entered, to find such files).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) include: Vec<Glob>,
    pub(crate) exclude: Vec<Glob>,
}

impl Filter {
    /// From the command line's patterns.
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        let compile = |list: &[String]| list.iter().map(|p| Glob::new(p)).collect::<Result<Vec<_>, _>>();
        Ok(Self { include: compile(include)?, exclude: compile(exclude)? })
    }

    /// Whether the path takes part (is transferred, compared, deleted).
    pub(crate) fn admits(&self, rel: &str, is_dir: bool) -> bool {
        if self.exclude.iter().any(|g| g.matches(rel)) {
            return false;
        }
        is_dir || self.include.is_empty() || self.include.iter().any(|g| g.matches(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_or_paths() {
        let csv = Glob::new("*.csv").unwrap();
        assert!(csv.matches("a.csv"));
        assert!(csv.matches("deep/dir/a.csv"), "a pattern without / matches the name");
        assert!(!csv.matches("a.csv.gz"));
        let rooted = Glob::new("logs/*.log").unwrap();
        assert!(rooted.matches("logs/x.log"));
        assert!(!rooted.matches("logs/old/x.log"), "* stops at /");
        assert!(Glob::new("[ab]?.txt").unwrap().matches("a1.txt"));
        assert!(Glob::new("[!ab]?.txt").unwrap().matches("c1.txt"));
        assert!(Glob::new("[").is_err());
        assert!(is_glob("dir/*.csv") && !is_glob("plain.txt"));
    }

    #[test]
    fn include_and_exclude() {
        let f = Filter::new(&["*.csv".into()], &["tmp".into(), "*.bak.csv".into()]).unwrap();
        assert!(f.admits("a.csv", false));
        assert!(!f.admits("a.txt", false), "not included");
        assert!(f.admits("sub", true), "directories are entered");
        assert!(!f.admits("tmp", true), "an excluded directory is left out whole");
        assert!(!f.admits("x.bak.csv", false), "exclusion wins");
        assert!(Filter::default().admits("anything", false));
    }
}
