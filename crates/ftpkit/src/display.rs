//! Server bytes made safe to show a person (SECURITY.md R4, E4).
//!
//! File names, link targets and reply texts come from the server, and a
//! hostile one can put terminal control sequences in them: an ANSI or OSC
//! escape that retitles the window, rewrites the screen or hides a line, a
//! bare CR that overwrites what was printed, a NUL that truncates it in
//! some viewers, or Unicode bidirectional controls that show a name
//! reversed. Everything the client prints for a person goes through
//! [`escape`] or [`escape_bytes`]; `--json` output is escaped by the JSON
//! encoder instead.
//!
//! The escapes are unambiguous: `\\` for a backslash, `\t`, `\r`, `\n`,
//! `\xNN` for other C0 controls, DEL and bytes that are not UTF-8, and
//! `\u{NNNN}` for C1 controls and the bidirectional formatting characters.

use std::fmt::Write as _;

/// Whether `c` would act on a terminal or on how the text around it is
/// laid out, rather than print as itself.
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if (c as u32) < 0x80 && is_hazard(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_hazard(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `text` with every control character escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_char(&mut out, c);
    }
    out
}

/// `bytes` as text, with control characters and bytes that are not UTF-8
/// escaped.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SECURITY.md R4, E4: nothing that acts on a terminal gets through.
    #[test]
    fn sec_r4_controls_are_escaped() {
        assert_eq!(escape("plain name.txt"), "plain name.txt");
        assert_eq!(escape("caf\u{e9} \u{65e5}\u{672c}"), "caf\u{e9} \u{65e5}\u{672c}", "printable Unicode stays");
        assert_eq!(escape("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
        assert_eq!(escape("a\rb\nc\td\0e\x7f"), "a\\rb\\nc\\td\\x00e\\x7f");
        assert_eq!(escape("\u{9b}31m"), "\\u{009b}31m", "C1 CSI");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe", "bidi override");
        assert_eq!(escape("a\\x1b"), "a\\\\x1b", "a backslash cannot fake an escape");
        assert_eq!(escape_bytes(b"bad\xff\xfe\x1bname"), "bad\\xff\\xfe\\x1bname");
    }

    /// SECURITY.md R4: whatever the input, the output has no control
    /// character at all.
    #[test]
    fn sec_r4_output_is_always_printable() {
        let all: Vec<u8> = (0..=255u8).collect();
        let shown = escape_bytes(&all);
        assert!(shown.chars().all(|c| !is_hazard(c)), "{shown:?}");
        let text: String = (0..0x3000u32).filter_map(char::from_u32).collect();
        assert!(escape(&text).chars().all(|c| !is_hazard(c)));
    }
}
