//! Field scanning shared by the VMS, OS/400, MVS and NetWare parsers:
//! blank-separated fields as ranges, and the strict number and clock
//! readers they all build on.

use core::ops::Range;

use super::{Format, ListingError, date};

/// A space or a tab: what separates fields in these dialects.
pub(super) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The blank-separated fields of a line, as ranges, from `pos` on.
pub(super) struct Fields<'a> {
    /// The line.
    pub(super) s: &'a [u8],
    /// Where the next field is looked for; a dialect moves it past a
    /// bracketed group that may hold blanks.
    pub(super) pos: usize,
}

impl<'a> Fields<'a> {
    pub(super) fn new(s: &'a [u8]) -> Self {
        Self { s, pos: 0 }
    }

    /// Skips blanks and returns where the rest of the line starts.
    pub(super) fn rest(&mut self) -> usize {
        while self.s.get(self.pos).is_some_and(|&b| is_blank(b)) {
            self.pos += 1;
        }
        self.pos
    }
}

impl Iterator for Fields<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let start = self.rest();
        while self.s.get(self.pos).is_some_and(|&b| !is_blank(b)) {
            self.pos += 1;
        }
        (self.pos > start).then_some(start..self.pos)
    }
}

/// At most `N` fields of a line, and how many there are; `None` when there
/// are more.
pub(super) fn fields<const N: usize>(s: &[u8]) -> Option<([Range<usize>; N], usize)> {
    let mut out = [const { 0..0 }; N];
    let mut n = 0;
    for field in Fields::new(s) {
        *out.get_mut(n)? = field;
        n += 1;
    }
    Some((out, n))
}

/// All digits, at least one.
pub(super) fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// A decimal count: `Unrecognised` unless digits, `OutOfRange` beyond u64.
pub(super) fn count(b: &[u8], format: Format) -> Result<u64, ListingError> {
    if !all_digits(b) {
        return Err(ListingError::Unrecognised(format));
    }
    date::number(b, usize::MAX).ok_or(ListingError::OutOfRange(format))
}

/// A number of exactly `len` digits.
pub(super) fn fixed(b: &[u8], len: usize) -> Option<u16> {
    if b.len() != len {
        return None;
    }
    date::number(b, len).and_then(|n| u16::try_from(n).ok())
}

/// `HH:MM` or `HH:MM:SS` (`sep` between the fields) as (h, m, s, has
/// seconds).
pub(super) fn clock(b: &[u8], sep: u8) -> Option<(u8, u8, u8, bool)> {
    let mut parts = b.split(|&c| c == sep);
    let h = parts.next().and_then(|p| fixed(p, 2).or_else(|| fixed(p, 1)))?;
    let m = fixed(parts.next()?, 2)?;
    let s = match parts.next() {
        Some(p) => Some(fixed(p, 2)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    // Two-digit fields fit in a u8.
    Some((h as u8, m as u8, s.unwrap_or(0) as u8, s.is_some()))
}

/// The next three fields as `Mon D[D] HH:MM` (a year-less date, resolved
/// against `now` as `ls` means it, to the minute) or `Mon D[D] YYYY` (to
/// the day), as the NetWare and Enterprise Unix lines write their dates.
pub(super) fn month_day_year_or_clock(
    f: &mut Fields<'_>,
    now: crate::time::Timestamp,
    format: Format,
) -> Result<super::ListingTime, ListingError> {
    let bad = ListingError::Unrecognised(format);
    let s = f.s;
    let month = date::month(&s[f.next().ok_or(bad)?]).ok_or(bad)?;
    let day_field = &s[f.next().ok_or(bad)?];
    // Two digits fit in a u8.
    let day = fixed(day_field, 2).or_else(|| fixed(day_field, 1)).ok_or(bad)? as u8;
    let last = &s[f.next().ok_or(bad)?];
    let modified = if let Some(year) = fixed(last, 4) {
        date::at(year, month, day, 0, 0, 0, super::Precision::Day)
    } else {
        let (h, m, _, has_seconds) = clock(last, b':').ok_or(bad)?;
        if has_seconds {
            return Err(bad);
        }
        date::at(date::resolve_year(month, day, now), month, day, h, m, 0, super::Precision::Minute)
    };
    modified.ok_or(ListingError::OutOfRange(format))
}

/// Helpers the dialects' unit tests share.
#[cfg(test)]
pub(super) mod testing {
    use bytes::Bytes;

    use crate::listing::{ListingTime, Precision};
    use crate::time::Timestamp;

    pub(crate) fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    pub(crate) fn ts(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Timestamp {
        Timestamp::new(y, mo, d, h, mi, s).unwrap()
    }

    pub(crate) fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, p: Precision) -> Option<ListingTime> {
        Some(ListingTime::new(ts(y, mo, d, h, mi, s), p))
    }
}
