//! The one severity scale every customs finding is rated on: vulnerability findings
//! (customs-vulndb), audit findings (customs-audit) and policy violations (customs-policy).
//!
//! It lives here, in the lowest crate that both the matcher and the auditor read, so that a
//! gate, a renderer or a config file compares one type, not three. It is plain data: this
//! crate does not rate anything itself.
//!
//! Serialized in upper case (`"HIGH"`), as Trivy and Grype write severities; parsed in any
//! case, so policy and audit files keep their lower-case spelling (`max_severity = "medium"`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How much a finding matters, ordered
/// `Unknown < Info < Low < Medium < High < Critical`.
///
/// Vulnerability findings use `Unknown` (no rating) and never `Info`; audit findings use
/// `Info` (worth knowing) and never `Unknown`. Gates treat `Unknown` by their own explicit
/// rule, never as "below the threshold" in silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// No rating, or a CVSS score of 0.0.
    Unknown,
    /// Worth knowing; nothing to fix necessarily (audit only).
    Info,
    /// CVSS 0.1 to 3.9, a vendor label of that rank, or hardening advice.
    Low,
    /// CVSS 4.0 to 6.9, a label of that rank (`MODERATE`), or a weakness to fix.
    Medium,
    /// CVSS 7.0 to 8.9, a label of that rank, or a real exposure.
    High,
    /// CVSS 9.0 to 10.0, a label of that rank; fix before shipping.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Unknown,
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The upper-case name, as JSON writes it (`HIGH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The lower-case name (`high`), as config files and audit tables spell it.
    pub fn as_lower(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name in any case, ignoring surrounding spaces.
    pub fn parse(s: &str) -> Option<Severity> {
        let s = s.trim();
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityError(pub String);

impl fmt::Display for SeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a severity (UNKNOWN, INFO, LOW, MEDIUM, HIGH, CRITICAL)",
            self.0
        )
    }
}

impl std::error::Error for SeverityError {}

impl FromStr for Severity {
    type Err = SeverityError;
    fn from_str(s: &str) -> Result<Severity, SeverityError> {
        Severity::parse(s).ok_or_else(|| SeverityError(s.to_string()))
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(Severity::parse(s.as_lower()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Severity>(&json).unwrap(), s);
            let lower = format!("\"{}\"", s.as_lower());
            assert_eq!(serde_json::from_str::<Severity>(&lower).unwrap(), s);
        }
        assert_eq!(Severity::parse(" High "), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
        assert!(serde_json::from_str::<Severity>("\"moderate\"").is_err());
    }

    #[test]
    fn order_is_least_severe_first() {
        let mut sorted = Severity::ALL;
        sorted.sort();
        assert_eq!(sorted, Severity::ALL);
        assert!(Severity::Unknown < Severity::Info && Severity::Info < Severity::Low);
    }
}
