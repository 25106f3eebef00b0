//! The `time-val` of RFC 3659 section 2.3: `YYYYMMDDHHMMSS[.F+]`, in UTC.

use core::fmt;

use crate::error::{ValidationError, ValidationErrorKind};

/// A validated UTC timestamp as FTP writes it (`MDTM`, `MFMT`, `MFCT`, MLSx
/// `modify`/`create` facts).
///
/// Every field is range-checked, including the day of the month against the
/// month and leap years; seconds may be 60 (a leap second, RFC 3659 2.3).
/// The fractional part keeps its digit count so that `.5` and `.500` encode
/// back as they came.
///
/// ```
/// use ftp_proto::Timestamp;
/// let t = Timestamp::parse(b"19990929043300.25").unwrap();
/// assert_eq!((t.year(), t.month(), t.day()), (1999, 9, 29));
/// assert_eq!(t.to_string(), "19990929043300.25");
/// assert!(Timestamp::parse(b"19990230000000").is_err()); // 30 February
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// Fraction as an integer and its number of digits (0 = no fraction).
    fraction: u32,
    fraction_digits: u8,
}

/// Most fraction digits kept (nanoseconds).
const MAX_FRACTION_DIGITS: usize = 9;

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: u16, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Timestamp {
    /// Builds a timestamp from its fields, without fraction.
    ///
    /// # Errors
    /// [`ValidationError`] with [`ValidationErrorKind::OutOfRange`] when a
    /// field is out of range (year 0-9999, month 1-12, a day that exists,
    /// hour 0-23, minute 0-59, second 0-60).
    pub fn new(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Result<Self, ValidationError> {
        let out = |at| Err(ValidationError::new(ValidationErrorKind::OutOfRange, at));
        if year > 9999 {
            return out(0);
        }
        if !(1..=12).contains(&month) {
            return out(4);
        }
        if day == 0 || day > days_in_month(year, month) {
            return out(6);
        }
        if hour > 23 {
            return out(8);
        }
        if minute > 59 {
            return out(10);
        }
        if second > 60 {
            return out(12);
        }
        Ok(Self { year, month, day, hour, minute, second, fraction: 0, fraction_digits: 0 })
    }

    /// Adds a fraction of a second written with `digits` digits (1 to 9):
    /// `with_fraction(25, 2)` is `.25`.
    ///
    /// # Errors
    /// [`ValidationError`] when `digits` is 0 or above 9 or `value` does not
    /// fit in that many digits.
    pub fn with_fraction(mut self, value: u32, digits: u8) -> Result<Self, ValidationError> {
        if digits == 0 || usize::from(digits) > MAX_FRACTION_DIGITS || u64::from(value) >= 10u64.pow(u32::from(digits))
        {
            return Err(ValidationError::new(ValidationErrorKind::OutOfRange, 15));
        }
        self.fraction = value;
        self.fraction_digits = digits;
        Ok(self)
    }

    /// Parses `YYYYMMDDHHMMSS` with an optional `.` and 1 to 9 digits.
    ///
    /// # Errors
    /// [`ValidationError`] for anything else, with the offset of the problem.
    pub fn parse(s: &[u8]) -> Result<Self, ValidationError> {
        if s.len() < 14 {
            return Err(ValidationError::new(ValidationErrorKind::TooLong { limit: 14 }, s.len()));
        }
        if let Some(at) = s[..14].iter().position(|b| !b.is_ascii_digit()) {
            return Err(ValidationError::new(ValidationErrorKind::BadCharacter, at));
        }
        let num = |r: core::ops::Range<usize>| s[r].iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        // Two-digit fields fit in a u8.
        let small = |r| num(r) as u8;
        let t = Self::new(num(0..4), small(4..6), small(6..8), small(8..10), small(10..12), small(12..14))?;
        match &s[14..] {
            [] => Ok(t),
            [b'.', digits @ ..] => {
                if digits.is_empty() || digits.len() > MAX_FRACTION_DIGITS {
                    return Err(ValidationError::new(ValidationErrorKind::OutOfRange, 15));
                }
                if let Some(at) = digits.iter().position(|b| !b.is_ascii_digit()) {
                    return Err(ValidationError::new(ValidationErrorKind::BadCharacter, 15 + at));
                }
                let value = digits.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
                t.with_fraction(value, digits.len() as u8)
            }
            _ => Err(ValidationError::new(ValidationErrorKind::BadCharacter, 14)),
        }
    }

    /// The UTC time `secs` seconds after 1970-01-01T00:00:00Z (file times as
    /// operating systems keep them); `None` past the year 9999.
    ///
    /// ```
    /// use ftp_proto::Timestamp;
    /// assert_eq!(Timestamp::from_unix_seconds(951_782_400).unwrap().to_string(), "20000229000000");
    /// ```
    #[must_use]
    pub fn from_unix_seconds(secs: u64) -> Option<Self> {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // Howard Hinnant's civil_from_days, for days since 1970-01-01.
        let z = i64::try_from(days).ok()? + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let year = u16::try_from(year).ok()?;
        Self::new(year, month as u8, day as u8, (rem / 3600) as u8, (rem / 60 % 60) as u8, (rem % 60) as u8).ok()
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before it), the
    /// fraction left out: the inverse of [`from_unix_seconds`](Self::from_unix_seconds),
    /// for setting a file's time (`MFMT`).
    ///
    /// ```
    /// use ftp_proto::Timestamp;
    /// assert_eq!(Timestamp::parse(b"20000229000000").unwrap().unix_seconds(), 951_782_400);
    /// ```
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The year (0-9999).
    #[must_use]
    pub const fn year(&self) -> u16 {
        self.year
    }
    /// The month (1-12).
    #[must_use]
    pub const fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month (1-31).
    #[must_use]
    pub const fn day(&self) -> u8 {
        self.day
    }
    /// The hour (0-23).
    #[must_use]
    pub const fn hour(&self) -> u8 {
        self.hour
    }
    /// The minute (0-59).
    #[must_use]
    pub const fn minute(&self) -> u8 {
        self.minute
    }
    /// The second (0-60).
    #[must_use]
    pub const fn second(&self) -> u8 {
        self.second
    }
    /// The fraction of a second in nanoseconds (0 when none was given).
    #[must_use]
    pub fn nanos(&self) -> u32 {
        if self.fraction_digits == 0 { 0 } else { self.fraction * 10u32.pow(9 - u32::from(self.fraction_digits)) }
    }

    pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) {
        use core::fmt::Write;
        let mut s = crate::addr::StackStr::<32>::new();
        let _ = write!(s, "{self}");
        dst.extend_from_slice(s.as_bytes());
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.fraction_digits > 0 {
            write!(f, ".{:0width$}", self.fraction, width = usize::from(self.fraction_digits))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_unix_seconds_matches_the_calendar() {
        assert_eq!(Timestamp::from_unix_seconds(0).unwrap().to_string(), "19700101000000");
        assert_eq!(Timestamp::from_unix_seconds(824_255_902).unwrap().to_string(), "19960213235822");
        assert_eq!(Timestamp::from_unix_seconds(4_102_444_799).unwrap().to_string(), "20991231235959");
        assert!(Timestamp::from_unix_seconds(u64::MAX).is_none());
    }

    #[test]
    fn rfc3659_2_3_time_val() {
        assert!(Timestamp::parse(b"20000229235960").is_ok()); // leap year, leap second
        assert!(Timestamp::parse(b"19000229000000").is_err()); // 1900 is not a leap year
        assert!(Timestamp::parse(b"20231301000000").is_err());
        assert!(Timestamp::parse(b"20230101240000").is_err());
        assert!(Timestamp::parse(b"2023010100000").is_err());
        assert!(Timestamp::parse(b"20230101000000.").is_err());
        assert!(Timestamp::parse(b"20230101000000.1234567890").is_err());
        assert!(Timestamp::parse(b"+0230101000000").is_err());
        let t = Timestamp::parse(b"20230101000000.050").unwrap();
        assert_eq!(t.nanos(), 50_000_000);
        assert_eq!(t.to_string(), "20230101000000.050");
    }
}
