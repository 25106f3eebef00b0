//! [`Timestamp`] to and from [`std::time::SystemTime`] (with the `std`
//! feature): MDTM, MFMT and MLSx `modify` facts against the times a file
//! system keeps. The rules are those of every conversion (`datetime.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{OutOfRange, Timestamp};

impl TryFrom<SystemTime> for Timestamp {
    type Error = OutOfRange;

    /// The UTC time, to the nanosecond (trailing zeros of the fraction
    /// dropped, so a whole second has none).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use ftp_proto::Timestamp;
    /// let t = UNIX_EPOCH + Duration::new(1_000_000_000, 250_000_000);
    /// let ts = Timestamp::try_from(t).unwrap();
    /// assert_eq!(ts.to_string(), "20010909014640.25");
    /// assert_eq!(SystemTime::from(ts), t);
    /// ```
    fn try_from(time: SystemTime) -> Result<Self, OutOfRange> {
        let since = time.duration_since(UNIX_EPOCH).map_err(|_| OutOfRange)?;
        let secs = i64::try_from(since.as_secs()).map_err(|_| OutOfRange)?;
        Self::from_unix_parts(secs, since.subsec_nanos())
    }
}

impl From<Timestamp> for SystemTime {
    /// The instant, fraction included; a leap second (`:60`) is the next
    /// second, as POSIX time counts it.
    fn from(t: Timestamp) -> Self {
        let secs = t.unix_seconds();
        let nanos = Duration::from_nanos(u64::from(t.nanos()));
        match u64::try_from(secs) {
            Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs) + nanos,
            // Before 1970 (a Timestamp may name years down to 0).
            Err(_) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_limits() {
        for (secs, nanos) in [(0, 0), (1, 1), (951_782_400, 999_999_999), (253_402_300_799, 500)] {
            let t = UNIX_EPOCH + Duration::new(secs, nanos);
            assert_eq!(SystemTime::from(Timestamp::try_from(t).unwrap()), t, "{secs}.{nanos}");
        }
        assert_eq!(Timestamp::try_from(UNIX_EPOCH - Duration::from_secs(1)), Err(OutOfRange));
        assert_eq!(Timestamp::try_from(UNIX_EPOCH + Duration::from_secs(253_402_300_800)), Err(OutOfRange));
        let old = Timestamp::new(1960, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(SystemTime::from(old), UNIX_EPOCH - Duration::from_secs(315_619_200));
    }
}
