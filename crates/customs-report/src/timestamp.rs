//! Document creation time: a whole number of seconds since the Unix epoch, printed as RFC 3339.
//! Which time that is (the system clock or `SOURCE_DATE_EPOCH`) is the binary's one clock's
//! decision, not this crate's.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::ReportError;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write with a four-digit year.
const MAX_SECONDS: u64 = 253_402_300_799;

/// A creation time in whole seconds (UTC). Sub-second precision is dropped on purpose so that a
/// document made from `SOURCE_DATE_EPOCH` and one made now look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: u64,
}

impl Timestamp {
    /// A timestamp `secs` seconds after 1970-01-01T00:00:00Z; errors past year 9999.
    pub fn from_unix_seconds(secs: u64) -> Result<Self, ReportError> {
        if secs > MAX_SECONDS {
            return Err(ReportError::InvalidTimestamp {
                value: secs.to_string(),
                reason: "after year 9999",
            });
        }
        Ok(Self { unix_seconds: secs })
    }

    /// The current time, or the epoch if the clock is before it.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            unix_seconds: secs.min(MAX_SECONDS),
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(self) -> u64 {
        self.unix_seconds
    }

    /// `2024-01-31T12:00:00Z`.
    pub fn rfc3339(self) -> String {
        // A civil date-time, not a jiff Timestamp: the Timestamp range ends a day before
        // MAX_SECONDS. In range by construction.
        jiff::civil::date(1970, 1, 1)
            .at(0, 0, 0, 0)
            .checked_add(jiff::SignedDuration::from_secs(self.unix_seconds as i64))
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_printed_as_utc_rfc3339() {
        // 1700000000 is 2023-11-14T22:13:20Z (checked with `date -u -d @1700000000`).
        let t = Timestamp::from_unix_seconds(1_700_000_000).unwrap();
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(
            Timestamp::from_unix_seconds(0).unwrap().rfc3339(),
            "1970-01-01T00:00:00Z"
        );
        assert!(Timestamp::from_unix_seconds(MAX_SECONDS + 1).is_err());
        assert_eq!(
            Timestamp::from_unix_seconds(MAX_SECONDS).unwrap().rfc3339(),
            "9999-12-31T23:59:59Z"
        );
    }
}
