//! Document creation time: a whole number of seconds since the Unix epoch, printed as RFC 3339.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// The reproducible-builds rule: the value of `SOURCE_DATE_EPOCH` when given (a decimal
    /// number of seconds), else now. An empty value counts as unset; anything else that is not a
    /// non-negative integer is an error rather than a silent fallback.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<Self, ReportError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::now()),
            Some(text) => {
                let secs = text
                    .parse::<u64>()
                    .map_err(|_| ReportError::InvalidTimestamp {
                        value: text.to_string(),
                        reason: "SOURCE_DATE_EPOCH must be a non-negative integer",
                    })?;
                Self::from_unix_seconds(secs)
            }
        }
    }

    /// Reads `SOURCE_DATE_EPOCH` from the environment; see [`Timestamp::from_source_date_epoch`].
    pub fn from_env() -> Result<Self, ReportError> {
        let value = std::env::var("SOURCE_DATE_EPOCH").ok();
        Self::from_source_date_epoch(value.as_deref())
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(self) -> u64 {
        self.unix_seconds
    }

    /// `2024-01-31T12:00:00Z`.
    pub fn rfc3339(self) -> String {
        let time = UNIX_EPOCH + Duration::from_secs(self.unix_seconds);
        humantime::format_rfc3339_seconds(time).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_printed_as_utc_rfc3339() {
        // 1700000000 is 2023-11-14T22:13:20Z (checked with `date -u -d @1700000000`).
        let t = Timestamp::from_source_date_epoch(Some("1700000000")).unwrap();
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(
            Timestamp::from_unix_seconds(0).unwrap().rfc3339(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn malformed_source_date_epoch_is_an_error() {
        for bad in ["-1", "12abc", "1.5", "99999999999999999999999"] {
            assert!(
                Timestamp::from_source_date_epoch(Some(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(Timestamp::from_unix_seconds(MAX_SECONDS + 1).is_err());
        assert_eq!(
            Timestamp::from_unix_seconds(MAX_SECONDS).unwrap().rfc3339(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn empty_source_date_epoch_means_now() {
        let before = Timestamp::now();
        let t = Timestamp::from_source_date_epoch(Some("")).unwrap();
        assert!(t >= before);
    }
}
