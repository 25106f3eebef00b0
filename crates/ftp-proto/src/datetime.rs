//! [`Timestamp`] to and from the date-time types of other crates: the
//! standard library's `SystemTime` (`std` feature, in `system_time.rs`),
//! `time`'s `OffsetDateTime` and `PrimitiveDateTime` (`time` feature) and
//! `jiff`'s `Timestamp` (`jiff` feature).
//!
//! One set of rules for all of them:
//! - Into a [`Timestamp`]: the UTC time to the nanosecond, the fraction's
//!   trailing zeros dropped (a whole second has no fraction); a time before
//!   1970 or after 9999 is [`OutOfRange`].
//! - Out of a [`Timestamp`]: the instant, fraction included; a leap second
//!   (`:60`) is the next second, as POSIX time counts it. A time the other
//!   type cannot hold is [`OutOfRange`] (`SystemTime` holds them all).
//!
//! Nothing here panics, whatever the input.

use crate::Timestamp;

/// A time the other side cannot hold: before 1970 or after 9999 for a
/// [`Timestamp`] made from another type, or beyond what the other type
/// holds for one made from a [`Timestamp`] (`jiff` ends on 9999-12-30, and
/// `time` on 9999-12-31 23:59:59.999999999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the time is outside 1970-01-01 to 9999-12-31, or outside what the other type holds")]
pub struct OutOfRange;

#[cfg(any(feature = "time", feature = "jiff"))]
const NANOS_PER_SECOND: i128 = 1_000_000_000;

impl Timestamp {
    /// The UTC time `secs` seconds and `nanos` nanoseconds after the epoch,
    /// the fraction without trailing zeros.
    #[cfg(any(feature = "std", feature = "time", feature = "jiff"))]
    pub(crate) fn from_unix_parts(secs: i64, nanos: u32) -> Result<Self, OutOfRange> {
        let whole = u64::try_from(secs).ok().and_then(Self::from_unix_seconds).ok_or(OutOfRange)?;
        if nanos == 0 {
            return Ok(whole);
        }
        let (mut value, mut digits) = (nanos, 9u8);
        while value.is_multiple_of(10) {
            value /= 10;
            digits -= 1;
        }
        // A `nanos` of a second or more does not fit in 9 digits.
        whole.with_fraction(value, digits).map_err(|_| OutOfRange)
    }

    /// The same from nanoseconds since the epoch (negative before it).
    #[cfg(any(feature = "time", feature = "jiff"))]
    fn from_unix_nanos(nanos: i128) -> Result<Self, OutOfRange> {
        let secs = i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).map_err(|_| OutOfRange)?;
        // In 0..1e9, so it fits.
        let frac = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).map_err(|_| OutOfRange)?;
        Self::from_unix_parts(secs, frac)
    }

    /// Nanoseconds since the epoch (negative before it), a leap second
    /// counted as the next second.
    #[cfg(any(feature = "time", feature = "jiff"))]
    fn unix_nanos(&self) -> i128 {
        i128::from(self.unix_seconds()) * NANOS_PER_SECOND + i128::from(self.nanos())
    }
}

#[cfg(feature = "time")]
mod time_crate {
    use ::time::{OffsetDateTime, PrimitiveDateTime};

    use super::OutOfRange;
    use crate::Timestamp;

    impl TryFrom<OffsetDateTime> for Timestamp {
        type Error = OutOfRange;

        /// The time in UTC, to the nanosecond (trailing zeros of the
        /// fraction dropped).
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// use time::{Duration, OffsetDateTime, UtcOffset};
        /// let t = OffsetDateTime::from_unix_timestamp(1_000_000_000).unwrap() + Duration::milliseconds(250);
        /// let paris = t.to_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
        /// assert_eq!(Timestamp::try_from(paris).unwrap().to_string(), "20010909014640.25");
        /// assert!(Timestamp::try_from(OffsetDateTime::UNIX_EPOCH - Duration::SECOND).is_err());
        /// ```
        fn try_from(t: OffsetDateTime) -> Result<Self, OutOfRange> {
            Self::from_unix_nanos(t.unix_timestamp_nanos())
        }
    }

    impl TryFrom<PrimitiveDateTime> for Timestamp {
        type Error = OutOfRange;

        /// The date and time taken as UTC.
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// use time::{Date, Month, PrimitiveDateTime};
        /// let day = Date::from_calendar_date(1999, Month::September, 29).unwrap();
        /// let t = PrimitiveDateTime::new(day, time::Time::from_hms_milli(4, 33, 0, 500).unwrap());
        /// assert_eq!(Timestamp::try_from(t).unwrap().to_string(), "19990929043300.5");
        /// ```
        fn try_from(t: PrimitiveDateTime) -> Result<Self, OutOfRange> {
            Self::try_from(t.assume_utc())
        }
    }

    impl TryFrom<Timestamp> for OffsetDateTime {
        type Error = OutOfRange;

        /// The instant, in UTC, fraction included; a leap second (`:60`) is
        /// the next second. Only the leap second at the very end of 9999 is
        /// out of range (unless `time`'s `large-dates` feature is on).
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// use time::{Duration, OffsetDateTime};
        /// let ts = Timestamp::parse(b"20010909014640.25").unwrap();
        /// let t = OffsetDateTime::from_unix_timestamp(1_000_000_000).unwrap() + Duration::milliseconds(250);
        /// assert_eq!(OffsetDateTime::try_from(ts).unwrap(), t);
        /// let leap = Timestamp::parse(b"19981231235960").unwrap();
        /// assert_eq!(OffsetDateTime::try_from(leap).unwrap().unix_timestamp(), 915_148_800); // 1999-01-01
        /// ```
        fn try_from(t: Timestamp) -> Result<Self, OutOfRange> {
            Self::from_unix_timestamp_nanos(t.unix_nanos()).map_err(|_| OutOfRange)
        }
    }

    impl TryFrom<Timestamp> for PrimitiveDateTime {
        type Error = OutOfRange;

        /// The UTC date and time, as [`OffsetDateTime`]'s conversion gives
        /// them.
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// use time::{Date, Month, PrimitiveDateTime};
        /// let ts = Timestamp::parse(b"20000229000000").unwrap();
        /// let day = Date::from_calendar_date(2000, Month::February, 29).unwrap();
        /// assert_eq!(PrimitiveDateTime::try_from(ts).unwrap(), day.midnight());
        /// ```
        fn try_from(t: Timestamp) -> Result<Self, OutOfRange> {
            let utc = OffsetDateTime::try_from(t)?;
            Ok(Self::new(utc.date(), utc.time()))
        }
    }
}

#[cfg(feature = "jiff")]
mod jiff_crate {
    use super::OutOfRange;
    use crate::Timestamp;

    impl TryFrom<jiff::Timestamp> for Timestamp {
        type Error = OutOfRange;

        /// The UTC time, to the nanosecond (trailing zeros of the fraction
        /// dropped).
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// let t = jiff::Timestamp::new(1_000_000_000, 250_000_000).unwrap();
        /// assert_eq!(Timestamp::try_from(t).unwrap().to_string(), "20010909014640.25");
        /// assert!(Timestamp::try_from(jiff::Timestamp::new(-1, 0).unwrap()).is_err());
        /// ```
        fn try_from(t: jiff::Timestamp) -> Result<Self, OutOfRange> {
            Self::from_unix_nanos(t.as_nanosecond())
        }
    }

    impl TryFrom<Timestamp> for jiff::Timestamp {
        type Error = OutOfRange;

        /// The instant, fraction included; a leap second (`:60`) is the
        /// next second. `jiff` ends at 9999-12-30 22:00:00.999999999 UTC:
        /// a later [`Timestamp`] is out of range.
        ///
        /// ```
        /// use ftp_proto::Timestamp;
        /// let ts = Timestamp::parse(b"20010909014640.25").unwrap();
        /// assert_eq!(jiff::Timestamp::try_from(ts).unwrap(), jiff::Timestamp::new(1_000_000_000, 250_000_000).unwrap());
        /// assert!(jiff::Timestamp::try_from(Timestamp::parse(b"99991231000000").unwrap()).is_err());
        /// ```
        fn try_from(t: Timestamp) -> Result<Self, OutOfRange> {
            Self::from_nanosecond(t.unix_nanos()).map_err(|_| OutOfRange)
        }
    }
}
