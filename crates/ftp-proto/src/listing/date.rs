//! Calendar helpers shared by the listing parsers.

use super::{ListingTime, Precision};
use crate::time::Timestamp;

/// `Jan`..`Dec` (any case) to 1..=12.
pub(crate) fn month(name: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    let name: [u8; 3] = name.try_into().ok()?;
    let lower = name.map(|b| b.to_ascii_lowercase());
    MONTHS.iter().position(|m| **m == lower).map(|i| i as u8 + 1)
}

/// A decimal number of at most `max_digits` digits.
pub(crate) fn number(digits: &[u8], max_digits: usize) -> Option<u64> {
    crate::addr::parse_decimal(digits, max_digits)
}

/// A time from its parts, refusing impossible dates.
pub(crate) fn at(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    precision: Precision,
) -> Option<ListingTime> {
    Timestamp::new(year, month, day, hour, minute, second).ok().map(|t| ListingTime::new(t, precision))
}

/// The year of a Unix `Mon DD HH:MM` date: `ls` prints that form for the
/// last six months, so the year is the latest one that does not put the
/// date more than a day after `now` (a day of slack for time zones).
pub(crate) fn resolve_year(month: u8, day: u8, now: Timestamp) -> u16 {
    let this_year = now.year();
    let date = (u32::from(month), u32::from(day));
    let limit = (u32::from(now.month()), u32::from(now.day()) + 1);
    if date <= limit { this_year } else { this_year.saturating_sub(1) }
}

/// A two-digit year as DOS listings print it: 70-99 are 19xx, 00-69 20xx.
pub(crate) fn two_digit_year(y: u16) -> u16 {
    if y >= 70 { 1900 + y } else { 2000 + y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_resolution_against_reference() {
        let now = Timestamp::new(2024, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(resolve_year(2, 28, now), 2024);
        assert_eq!(resolve_year(3, 2, now), 2024, "a day of slack");
        assert_eq!(resolve_year(12, 31, now), 2023);
        assert_eq!(month(b"Feb"), Some(2));
        assert_eq!(month(b"DEC"), Some(12));
        assert_eq!(month(b"Foo"), None);
        assert_eq!(two_digit_year(99), 1999);
        assert_eq!(two_digit_year(5), 2005);
    }
}
