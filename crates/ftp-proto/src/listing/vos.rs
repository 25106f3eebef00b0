//! `LIST` bodies of Stratus VOS servers (FTP 1.0 for Stratus STCP, OS
//! TCP/IP): sections headed `Files:`, `Dirs:` and `Links:`, whose lines
//! differ by section, so the kind of an entry comes from the header above
//! it. [`parse_list`](super::parse_list) keeps the section while it reads a
//! body; [`parse_vos`] reads one line of a given section.
//!
//! Strict for the same reason as the other dialects: see [`super::vms`].

use bytes::Bytes;

use super::fields::{Fields, all_digits, clock, count, fixed};
use super::{Entry, EntryKind, Format, ListingError, Precision, date};

/// Which section of a VOS listing a line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VosSection {
    /// After `Files: N  Blocks: M`.
    Files,
    /// After `Dirs: N`.
    Dirs,
    /// After `Links: N`.
    Links,
}

/// VOS blocks are 4096 bytes: a file's size is its blocks times this
/// (allocated, not exact: a sequential file has record overhead).
const BLOCK: u64 = 4096;

/// The section a header line opens: `Files: 4  Blocks: 609`, `Dirs: 0`,
/// `Links: 2`; `None` for any other line.
///
/// ```
/// use ftp_proto::listing::{VosSection, vos_section};
///
/// assert_eq!(vos_section(b"Files: 15  Blocks: 29"), Some(VosSection::Files));
/// assert_eq!(vos_section(b"Dirs: 1"), Some(VosSection::Dirs));
/// assert_eq!(vos_section(b"w    158 stm       90-05-19 11:53:44  acctng.cobol"), None);
/// ```
#[must_use]
pub fn vos_section(line: &[u8]) -> Option<VosSection> {
    let mut f = Fields::new(line);
    let mut word = || f.next().map(|r| &line[r]);
    let section = match word()? {
        b"Files:" => VosSection::Files,
        b"Dirs:" => VosSection::Dirs,
        b"Links:" => VosSection::Links,
        _ => return None,
    };
    if !all_digits(word()?) {
        return None;
    }
    match (section, word(), word(), word()) {
        (VosSection::Files, Some(b"Blocks:"), Some(n), None) if all_digits(n) => Some(section),
        (VosSection::Dirs | VosSection::Links, None, None, None) => Some(section),
        _ => None,
    }
}

/// Parses one line of a Stratus VOS listing in `section`:
///
/// ```text
/// file = [SP] access 1*SP blocks 1*SP organization 1*SP date 1*SP time 1*SP name
/// dir  = [SP] access 1*SP blocks 1*SP date 1*SP time 1*SP name
/// link = date 1*SP time 1*SP name 1*SP "->" 1*SP target
/// access = "u" / "n" / "e" / "r" / "w"      ; directories: "u" / "n" / "s" / "m"
/// organization = 1*ALPHA                    ; seq, rel, fix, stm...
/// date = YY "-" MM "-" DD                   ; 1970-2069
/// time = HH ":" MM ":" SS
/// ```
///
/// `w    158 stm       90-05-19 11:53:44  acctng.cobol` (the sample in
/// Indy's `IdFTPListParseStratusVOS`) is the file `acctng.cobol` of 158
/// blocks; `04-07-13 21:15:43  backholding_logs ->  %descc#m2_d01>l3s>db`
/// a link (VOS paths use `>` between directories). Times are the server's
/// local time, to the second. The access letter is kept in [`Entry::raw`];
/// the organization as the fact `organization`.
///
/// # Errors
/// [`ListingError::NotAnEntry`] for the section headers;
/// [`ListingError::Unrecognised`] outside the grammar;
/// [`ListingError::OutOfRange`] for an impossible date or time, or a size
/// beyond `u64`.
pub fn parse_vos(line: &Bytes, section: VosSection) -> Result<Entry, ListingError> {
    const BAD: ListingError = ListingError::Unrecognised(Format::StratusVos);
    const RANGE: ListingError = ListingError::OutOfRange(Format::StratusVos);
    let s: &[u8] = line;
    if vos_section(s).is_some() {
        return Err(ListingError::NotAnEntry);
    }
    let mut f = Fields::new(s);
    let mut blocks = None;
    let mut organization = None;
    if section != VosSection::Links {
        let access = f.next().ok_or(BAD)?;
        let letters: &[u8] = if section == VosSection::Files { b"unerw" } else { b"unsm" };
        if access.start > 1 || !matches!(&s[access], [c] if letters.contains(c)) {
            return Err(BAD);
        }
        blocks = Some(count(&s[f.next().ok_or(BAD)?], Format::StratusVos)?);
        if section == VosSection::Files {
            let org = f.next().ok_or(BAD)?;
            if !s[org.clone()].iter().all(u8::is_ascii_alphabetic) {
                return Err(BAD);
            }
            organization = Some(line.slice(org));
        }
    }
    let date_field = f.next().ok_or(BAD)?;
    if section == VosSection::Links && date_field.start != 0 {
        return Err(BAD);
    }
    let mut parts = s[date_field].split(|&b| b == b'-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(BAD);
    };
    let (y, m, d) = (fixed(y, 2).ok_or(BAD)?, fixed(m, 2).ok_or(BAD)?, fixed(d, 2).ok_or(BAD)?);
    let (h, mi, sec, has_seconds) = clock(&s[f.next().ok_or(BAD)?], b':').ok_or(BAD)?;
    if !has_seconds {
        return Err(BAD);
    }
    // Two digits fit in a u8.
    let modified = date::at(date::two_digit_year(y), m as u8, d as u8, h, mi, sec, Precision::Second).ok_or(RANGE)?;
    let name_start = f.rest();
    if name_start >= s.len() {
        return Err(BAD);
    }
    let (name, kind) = match section {
        VosSection::Files => (line.slice(name_start..), EntryKind::File),
        VosSection::Dirs => (line.slice(name_start..), EntryKind::Directory),
        VosSection::Links => {
            let rest = &s[name_start..];
            let arrow = rest.windows(4).position(|w| w == b" -> ").ok_or(BAD)?;
            let mut target = Fields { s, pos: name_start + arrow + 4 };
            let target_at = target.rest();
            if arrow == 0 || target_at >= s.len() {
                return Err(BAD);
            }
            let target = line.slice(target_at..);
            (line.slice(name_start..name_start + arrow), EntryKind::Symlink { target: Some(target) })
        }
    };
    let mut entry = Entry::parsed(line, Format::StratusVos, name, kind);
    entry.modified = Some(modified);
    if section == VosSection::Files {
        entry.size = Some(blocks.unwrap_or(0).checked_mul(BLOCK).ok_or(RANGE)?);
    }
    if let Some(org) = organization {
        entry.facts.push((Bytes::from_static(b"organization"), org));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::super::fields::testing::{at, b};
    use super::*;

    /// The samples in Indy's `IdFTPListParseStratusVOS` (a file, a link),
    /// and a directory line in the shape its `IsValidDirEntry` accepts.
    #[test]
    fn indy_stratus_vos_samples() {
        let e = parse_vos(&b(b"w    158 stm       90-05-19 11:53:44  acctng.cobol"), VosSection::Files).unwrap();
        assert_eq!((e.name(), e.kind(), e.size()), (&b"acctng.cobol"[..], &EntryKind::File, Some(158 * 4096)));
        assert_eq!(e.modified(), at(1990, 5, 19, 11, 53, 44, Precision::Second));
        assert_eq!(e.facts(), &[(Bytes::from_static(b"organization"), Bytes::from_static(b"stm"))]);
        let line = b"04-07-13 21:15:43  backholding_logs ->  %descc#m2_d01>l3s>db>lti>in>cp_exception";
        let e = parse_vos(&b(line), VosSection::Links).unwrap();
        assert_eq!(e.name(), b"backholding_logs");
        let target = Bytes::from_static(b"%descc#m2_d01>l3s>db>lti>in>cp_exception");
        assert_eq!(e.kind(), &EntryKind::Symlink { target: Some(target) });
        let e = parse_vos(&b(b" m      3  04-01-18 14:31:15  test_dir"), VosSection::Dirs).unwrap();
        assert_eq!((e.name(), e.kind(), e.size()), (&b"test_dir"[..], &EntryKind::Directory, None));
        assert_eq!(e.format(), Format::StratusVos);
    }

    #[test]
    fn rejected_lines() {
        let bad = Err(ListingError::Unrecognised(Format::StratusVos));
        for (line, section) in [
            (&b"x    158 stm       90-05-19 11:53:44  acctng.cobol"[..], VosSection::Files),
            (b"w    1x8 stm       90-05-19 11:53:44  acctng.cobol", VosSection::Files),
            (b"w    158 st1       90-05-19 11:53:44  acctng.cobol", VosSection::Files),
            (b"w    158 stm       1990-05-19 11:53:44  acctng.cobol", VosSection::Files),
            (b"w    158 stm       90-05-19 11:53  acctng.cobol", VosSection::Files),
            (b"w    158 stm       90-05-19 11:53:44", VosSection::Files),
            (b"w      3  04-01-18 14:31:15  test_dir", VosSection::Dirs),
            (b"04-07-13 21:15:43  no_arrow", VosSection::Links),
            (b"-rw-r--r--   1 root     root         4096 Mar  2 15:13 zxbox", VosSection::Files),
        ] {
            assert_eq!(parse_vos(&b(line), section), bad, "{:?}", crate::text::Escaped(line));
        }
        assert_eq!(parse_vos(&b(b"Files: 4  Blocks: 609"), VosSection::Files), Err(ListingError::NotAnEntry));
        let range = Err(ListingError::OutOfRange(Format::StratusVos));
        assert_eq!(parse_vos(&b(b"w    1 stm       90-02-30 11:53:44  f"), VosSection::Files), range);
    }
}
