//! The one clock of a run. `main` reads it once, before any command runs; every date a
//! command needs (today for ignore-file expiry, now for image age and certificate validity,
//! the creation time of a document) is taken from it, so one run never sees two times and a
//! reproducible build sees none but its own.
//!
//! The rule is the reproducible-builds one: `SOURCE_DATE_EPOCH`, when set and not empty, is a
//! non-negative decimal number of seconds and is the time; anything else in it is an error
//! (never a silent fallback to the system clock). Unset or empty, the system clock is read.

use std::sync::OnceLock;

use anyhow::{bail, Result};
use jiff::civil::Date;
use jiff::Timestamp;

static NOW: OnceLock<Clock> = OnceLock::new();

/// The time of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    now: Timestamp,
    /// Whether the time came from `SOURCE_DATE_EPOCH`.
    pub reproducible: bool,
}

impl Clock {
    /// The clock for a `SOURCE_DATE_EPOCH` value (`None` when unset).
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<Clock> {
        match value.map(str::trim) {
            None | Some("") => Ok(Clock {
                now: Timestamp::now(),
                reproducible: false,
            }),
            Some(text) => {
                let Ok(secs) = text.parse::<u64>() else {
                    bail!("SOURCE_DATE_EPOCH={text:?}: must be a non-negative integer number of seconds");
                };
                let now = i64::try_from(secs)
                    .ok()
                    .and_then(|s| Timestamp::from_second(s).ok());
                match now {
                    Some(now) => Ok(Clock {
                        now,
                        reproducible: true,
                    }),
                    None => bail!("SOURCE_DATE_EPOCH={text:?}: past the end of the year 9999"),
                }
            }
        }
    }

    /// Now, in whole seconds since 1970-01-01T00:00:00Z.
    pub fn unix(self) -> i64 {
        self.now.as_second()
    }

    /// The time `SOURCE_DATE_EPOCH` fixed, `None` when the system clock was read: for stamps
    /// that fall back to a time of their own data (a database's newest record) rather than to
    /// the moment of the run.
    pub fn fixed(self) -> Option<Timestamp> {
        self.reproducible.then_some(self.now)
    }

    /// Today, in UTC.
    pub fn today(self) -> Date {
        jiff::tz::TimeZone::UTC.to_datetime(self.now).date()
    }
}

/// Reads the clock once; `main` calls this before running a command.
pub fn init() -> Result<()> {
    let clock = Clock::from_source_date_epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())?;
    let _ = NOW.set(clock);
    Ok(())
}

/// The clock of this run ([`init`] must have run; a unit test that did not gets the system
/// clock).
pub fn get() -> Clock {
    *NOW.get_or_init(|| Clock {
        now: Timestamp::now(),
        reproducible: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_has_one_rule() {
        let c = Clock::from_source_date_epoch(Some("1700000000")).unwrap();
        assert_eq!((c.unix(), c.reproducible), (1_700_000_000, true));
        assert_eq!(c.today().to_string(), "2023-11-14");
        assert!(
            !Clock::from_source_date_epoch(Some(""))
                .unwrap()
                .reproducible
        );
        assert!(!Clock::from_source_date_epoch(None).unwrap().reproducible);
        assert_eq!(c.fixed().map(|t| t.as_second()), Some(1_700_000_000));
        assert_eq!(Clock::from_source_date_epoch(None).unwrap().fixed(), None);
        for bad in ["-1", "1.5", "soon", "99999999999999999999", "253402300800"] {
            assert!(Clock::from_source_date_epoch(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            Clock::from_source_date_epoch(Some("4102444800"))
                .unwrap()
                .today()
                .to_string(),
            "2100-01-01"
        );
    }
}
