//! Property tests of the conversions between `Timestamp` and the date-time
//! types of `std`, `time` and `jiff` (`--features time,jiff`; CI runs them
//! with `--all-features`): round trips both ways, the same answer from
//! every type for the same instant, out-of-range values refused, never a
//! panic.

use ftp_proto::{OutOfRange, Timestamp};
use proptest::prelude::*;

/// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z in seconds.
const LAST_SECOND: i64 = 253_402_300_799;

/// Any instant a `Timestamp` made from a clock can hold: seconds and
/// nanoseconds since the epoch.
fn instant() -> impl Strategy<Value = (i64, u32)> {
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|ms| ms * 1_000_000)];
    (0..=LAST_SECOND, nanos)
}

/// Any valid `Timestamp`, years 0 to 9999, leap seconds and fractions of
/// every length included.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0u16..=9999, 1u8..=12, 1u8..=31, 0u8..=23, 0u8..=59, 0u8..=60, 0u8..=9, any::<u32>()).prop_filter_map(
        "a day that exists",
        |(y, mo, d, h, mi, s, digits, value)| {
            let t = Timestamp::new(y, mo, d, h, mi, s).ok()?;
            if digits == 0 {
                return Some(t);
            }
            t.with_fraction(value % 10u32.pow(u32::from(digits)), digits).ok()
        },
    )
}

/// The instant a `Timestamp` names, as every conversion out of it counts it
/// (a leap second is the next second).
fn nanos_of(t: Timestamp) -> i128 {
    i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.nanos())
}

/// The same `Timestamp` as its canonical form: what a conversion into a
/// `Timestamp` gives for its instant (no trailing zeros in the fraction).
fn canonical(t: Timestamp) -> Option<Timestamp> {
    let secs = u64::try_from(t.unix_seconds()).ok()?;
    let whole = Timestamp::from_unix_seconds(secs)?;
    let mut value = t.nanos();
    if value == 0 {
        return Some(whole);
    }
    let mut digits = 9;
    while value.is_multiple_of(10) {
        value /= 10;
        digits -= 1;
    }
    whole.with_fraction(value, digits).ok()
}

proptest! {
    #[test]
    fn system_time_round_trips((secs, nanos) in instant()) {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos);
        let ts = Timestamp::try_from(t).unwrap();
        prop_assert_eq!(SystemTime::from(ts), t);
        prop_assert_eq!(nanos_of(ts), i128::from(secs) * 1_000_000_000 + i128::from(nanos));
    }

    #[test]
    fn system_time_from_any_timestamp(ts in timestamp()) {
        use std::time::SystemTime;
        let back = Timestamp::try_from(SystemTime::from(ts));
        match canonical(ts) {
            Some(c) => prop_assert_eq!(back, Ok(c)),
            // Before 1970 or the leap second ending 9999.
            None => prop_assert!(ts.unix_seconds() < 0 || ts.unix_seconds() > LAST_SECOND),
        }
    }
}

#[cfg(feature = "time")]
mod time_crate {
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

    use super::*;

    proptest! {
        #[test]
        fn round_trips((secs, nanos) in instant(), offset in -86_399i32..=86_399) {
            let utc = OffsetDateTime::from_unix_timestamp_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).unwrap();
            let ts = Timestamp::try_from(utc).unwrap();
            prop_assert_eq!(OffsetDateTime::try_from(ts), Ok(utc));
            prop_assert_eq!(PrimitiveDateTime::try_from(ts), Ok(PrimitiveDateTime::new(utc.date(), utc.time())));
            prop_assert_eq!(Timestamp::try_from(PrimitiveDateTime::new(utc.date(), utc.time())), Ok(ts));
            // The same instant at another offset is the same timestamp.
            if let Some(elsewhere) = utc.checked_to_offset(UtcOffset::from_whole_seconds(offset).unwrap()) {
                prop_assert_eq!(Timestamp::try_from(elsewhere), Ok(ts));
            }
            // And the same as from the system clock's type.
            let system = std::time::UNIX_EPOCH + std::time::Duration::new(secs.unsigned_abs(), nanos);
            prop_assert_eq!(Timestamp::try_from(system), Ok(ts));
        }

        #[test]
        fn from_any_timestamp(ts in timestamp()) {
            let t = OffsetDateTime::try_from(ts);
            match &t {
                Ok(t) => prop_assert_eq!(t.unix_timestamp_nanos(), nanos_of(ts)),
                // Only the leap second that ends 9999 is beyond `time`.
                Err(OutOfRange) => prop_assert!(ts.unix_seconds() > LAST_SECOND),
            }
            if let Ok(t) = t {
                prop_assert_eq!(Timestamp::try_from(t).ok(), canonical(ts));
            }
        }

        #[test]
        fn any_time_converts_or_is_refused(nanos in any::<i128>()) {
            let (min, max) = (
                OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp_nanos(),
                OffsetDateTime::new_utc(time::Date::MAX, time::Time::MAX).unix_timestamp_nanos(),
            );
            let t = OffsetDateTime::from_unix_timestamp_nanos(min + nanos.rem_euclid(max - min + 1)).unwrap();
            let in_range = (0..=i128::from(LAST_SECOND) * 1_000_000_000 + 999_999_999).contains(&t.unix_timestamp_nanos());
            prop_assert_eq!(Timestamp::try_from(t).is_ok(), in_range);
        }
    }
}

#[cfg(feature = "jiff")]
mod jiff_crate {
    use super::*;

    proptest! {
        #[test]
        fn round_trips((secs, nanos) in instant()) {
            let Ok(t) = jiff::Timestamp::new(secs, i32::try_from(nanos).unwrap()) else {
                // Past jiff's end (9999-12-30 22:00 UTC).
                prop_assert!(secs > jiff::Timestamp::MAX.as_second());
                return Ok(());
            };
            let ts = Timestamp::try_from(t).unwrap();
            prop_assert_eq!(jiff::Timestamp::try_from(ts), Ok(t));
            let system = std::time::UNIX_EPOCH + std::time::Duration::new(secs.unsigned_abs(), nanos);
            prop_assert_eq!(Timestamp::try_from(system), Ok(ts));
        }

        #[test]
        fn from_any_timestamp(ts in timestamp()) {
            match jiff::Timestamp::try_from(ts) {
                Ok(t) => {
                    prop_assert_eq!(t.as_nanosecond(), nanos_of(ts));
                    prop_assert_eq!(Timestamp::try_from(t).ok(), canonical(ts));
                }
                Err(OutOfRange) => prop_assert!(nanos_of(ts) > jiff::Timestamp::MAX.as_nanosecond()),
            }
        }

        #[test]
        fn any_time_converts_or_is_refused(nanos in any::<i128>()) {
            let (min, max) = (jiff::Timestamp::MIN.as_nanosecond(), jiff::Timestamp::MAX.as_nanosecond());
            let t = jiff::Timestamp::from_nanosecond(min + nanos.rem_euclid(max - min + 1)).unwrap();
            // Fractions below zero included: -0.5 s is 1969.
            let in_range = t.as_nanosecond() >= 0;
            prop_assert_eq!(Timestamp::try_from(t).is_ok(), in_range);
        }
    }
}
