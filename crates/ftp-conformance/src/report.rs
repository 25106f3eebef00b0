//! The results of a run, and the three ways to print them.

use std::fmt::Write as _;
use std::time::Duration;

use crate::catalogue::Severity;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server follows the rule.
    Pass,
    /// The server breaks the rule: what was expected and what came back.
    Fail(String),
    /// The check does not apply (the server does not offer the feature, the
    /// target is not on loopback...): why.
    Skip(String),
}

impl Outcome {
    /// `pass`, `fail` or `skip`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail(_) => "fail",
            Self::Skip(_) => "skip",
        }
    }

    /// Whether the check failed.
    #[must_use]
    pub fn is_fail(&self) -> bool {
        matches!(self, Self::Fail(_))
    }
}

/// One check's result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckResult {
    /// The check's id (`rfc959-5.4-pass-without-user`).
    pub id: &'static str,
    /// Where the rule comes from (`RFC 959 5.4`, `widely followed practice`).
    pub source: &'static str,
    /// How strong the rule is.
    pub severity: Severity,
    /// One line saying what is checked.
    pub title: &'static str,
    /// What the check found.
    pub outcome: Outcome,
    /// What was sent and received (kept short), for failures.
    pub transcript: Vec<String>,
    /// How long the check took.
    pub duration: Duration,
}

/// The counts of one severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Score {
    /// The severity counted.
    pub severity: Severity,
    /// Checks passed.
    pub passed: usize,
    /// Checks failed.
    pub failed: usize,
    /// Checks skipped.
    pub skipped: usize,
}

/// The results of a run against one server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The target, as `host:port` (no credentials).
    pub target: String,
    /// One result per check run, in catalogue order.
    pub results: Vec<CheckResult>,
}

impl Report {
    /// Passed, failed and skipped checks per severity, strongest first.
    #[must_use]
    pub fn scores(&self) -> Vec<Score> {
        Severity::ALL
            .iter()
            .map(|&severity| {
                let of = self.results.iter().filter(|r| r.severity == severity);
                let mut s = Score { severity, passed: 0, failed: 0, skipped: 0 };
                for r in of {
                    match r.outcome {
                        Outcome::Pass => s.passed += 1,
                        Outcome::Fail(_) => s.failed += 1,
                        Outcome::Skip(_) => s.skipped += 1,
                    }
                }
                s
            })
            .collect()
    }

    /// Whether a MUST check failed (the exit status of `ftpkit check`).
    #[must_use]
    pub fn must_failed(&self) -> bool {
        self.results.iter().any(|r| r.severity == Severity::Must && r.outcome.is_fail())
    }

    /// The result of the check `id`, if it ran.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// A table for people: one row per check (id, severity, result; the
    /// reason for a skip), then for each failure what was sent and what came
    /// back, then the scores.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "ftpkit check: {}", self.target);
        let width = self.results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
        let _ = writeln!(out, "{:<width$}  {:<8}  {:<6}  note", "id", "severity", "result");
        for r in &self.results {
            let note = match &r.outcome {
                Outcome::Pass => String::new(),
                Outcome::Fail(why) | Outcome::Skip(why) => one_line(why, 100),
            };
            let _ = writeln!(out, "{:<width$}  {:<8}  {:<6}  {note}", r.id, r.severity.label(), r.outcome.label());
        }
        let failures: Vec<&CheckResult> = self.results.iter().filter(|r| r.outcome.is_fail()).collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\nFailures:");
            for r in failures {
                let _ = writeln!(out, "\n{} ({}, {}): {}", r.id, r.source, r.severity.label(), r.title);
                if let Outcome::Fail(why) = &r.outcome {
                    let _ = writeln!(out, "  {why}");
                }
                for line in tail(&r.transcript, 30) {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let _ = writeln!(out, "\nScore:");
        for s in self.scores() {
            let _ = writeln!(
                out,
                "  {:<8} {} passed, {} failed, {} skipped",
                s.severity.label(),
                s.passed,
                s.failed,
                s.skipped
            );
        }
        out
    }

    /// The report as JSON: `{"target", "results": [{"id", "source",
    /// "severity", "title", "result", "reason", "transcript",
    /// "duration_ms"}], "scores": [...], "must_failed"}`.
    #[must_use]
    pub fn render_json(&self) -> String {
        let mut out = String::from("{");
        let _ = write!(out, "\"target\":{},\"results\":[", json_str(&self.target));
        for (i, r) in self.results.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let reason = match &r.outcome {
                Outcome::Pass => "null".to_owned(),
                Outcome::Fail(s) | Outcome::Skip(s) => json_str(s),
            };
            let transcript = if r.outcome.is_fail() {
                let lines: Vec<String> = r.transcript.iter().map(|l| json_str(l)).collect();
                format!("[{}]", lines.join(","))
            } else {
                "[]".to_owned()
            };
            let _ = write!(
                out,
                "{{\"id\":{},\"source\":{},\"severity\":{},\"title\":{},\"result\":{},\"reason\":{reason},\"transcript\":{transcript},\"duration_ms\":{}}}",
                json_str(r.id),
                json_str(r.source),
                json_str(r.severity.label()),
                json_str(r.title),
                json_str(r.outcome.label()),
                r.duration.as_millis()
            );
        }
        out.push_str("],\"scores\":[");
        for (i, s) in self.scores().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"severity\":{},\"passed\":{},\"failed\":{},\"skipped\":{}}}",
                json_str(s.severity.label()),
                s.passed,
                s.failed,
                s.skipped
            );
        }
        let _ = write!(out, "],\"must_failed\":{}}}", self.must_failed());
        out
    }

    /// The report as JUnit XML: one `testcase` per check (`classname` is the
    /// severity), `failure` with the transcript, `skipped` with the reason.
    #[must_use]
    pub fn render_junit(&self) -> String {
        let failures = self.results.iter().filter(|r| r.outcome.is_fail()).count();
        let skipped = self.results.iter().filter(|r| matches!(r.outcome, Outcome::Skip(_))).count();
        let total: f64 = self.results.iter().map(|r| r.duration.as_secs_f64()).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">",
            xml(&format!("ftpkit check {}", self.target)),
            self.results.len()
        );
        for r in &self.results {
            let _ = write!(
                out,
                "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
                xml(r.severity.label()),
                xml(r.id),
                r.duration.as_secs_f64()
            );
            match &r.outcome {
                Outcome::Pass => {}
                Outcome::Skip(why) => {
                    let _ = write!(out, "<skipped message=\"{}\"/>", xml(why));
                }
                Outcome::Fail(why) => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\" type=\"{}\">{} ({})\n{}\n{}</failure>",
                        xml(why),
                        xml(r.severity.label()),
                        xml(r.title),
                        xml(r.source),
                        xml(why),
                        xml(&r.transcript.join("\n"))
                    );
                }
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("</testsuite></testsuites>\n");
        out
    }
}

fn tail(lines: &[String], n: usize) -> &[String] {
    &lines[lines.len().saturating_sub(n)..]
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.replace(['\n', '\r'], " ");
    if flat.chars().count() > max {
        let mut t: String = flat.chars().take(max).collect();
        t.push_str("...");
        t
    } else {
        flat
    }
}

/// A JSON string literal (RFC 8259 section 7).
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for XML attributes and content: markup escaped, characters XML 1.0
/// cannot carry replaced by `?`.
pub(crate) fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_controls_and_quotes() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn xml_escapes_markup_and_drops_controls() {
        assert_eq!(xml("<a href='x'>&\"\u{0}"), "&lt;a href=&apos;x&apos;&gt;&amp;&quot;?");
    }
}
