//! CVSS base scores computed from vector strings, through RustSec's `cvss` crate: v2.0
//! (`AV:N/AC:L/Au:N/…`, with or without parentheses), v3.0, v3.1 and v4.0.
//!
//! For v3.x this is the base score (temporal metrics never change it); for v4.0 it is the
//! score of whatever metric groups the vector carries (CVSS-B, -BT, -BE or -BTE), as the
//! specification defines a v4.0 score.

use crate::finding::Severity;
use std::str::FromStr;

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// Not a CVSS vector at all.
    #[error("not a CVSS vector: {0}")]
    NotAVector(String),
    /// A `CVSS:x.y/` prefix of a version nobody defined.
    #[error("unsupported CVSS version in {0}")]
    UnsupportedVersion(String),
    /// A vector of a known version with a missing, repeated or unknown metric.
    #[error("CVSS vector {vector}: {problem}")]
    Invalid {
        /// The vector as given.
        vector: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The computed base score of a vector, with the version it was read as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    /// The version the vector's prefix (or, for v2, its metric names) says.
    pub version: CvssVersion,
    /// 0.0 to 10.0, one decimal.
    pub score: f64,
}

/// A CVSS version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CvssVersion {
    /// CVSS v2.0 (no prefix).
    V2_0,
    /// CVSS v3.0.
    V3_0,
    /// CVSS v3.1.
    V3_1,
    /// CVSS v4.0.
    V4_0,
}

impl CvssVersion {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2_0 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }

    /// The OSV `severity[].type` of this version (`CVSS_V2`, `CVSS_V3`, `CVSS_V4`).
    pub fn osv_kind(self) -> &'static str {
        match self {
            CvssVersion::V2_0 => "CVSS_V2",
            CvssVersion::V3_0 | CvssVersion::V3_1 => "CVSS_V3",
            CvssVersion::V4_0 => "CVSS_V4",
        }
    }
}

/// Scores a `CVSS:3.x/…` or `CVSS:4.0/…` vector, or a v2.0 vector (which has no prefix).
pub fn base_score(vector: &str) -> Result<CvssScore, CvssError> {
    let vector = vector.trim();
    let v2_form = vector
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(vector);
    let (prefix, _) = v2_form
        .split_once('/')
        .ok_or_else(|| CvssError::NotAVector(vector.to_string()))?;
    let invalid = |e: cvss::Error| CvssError::Invalid {
        vector: vector.to_string(),
        problem: e.to_string(),
    };
    if prefix.starts_with("AV:") {
        require(
            vector,
            v2_form.split('/'),
            &["AV", "AC", "Au", "C", "I", "A"],
        )?;
        let v = cvss::v2::Vector::from_str(v2_form).map_err(invalid)?;
        return Ok(CvssScore {
            version: CvssVersion::V2_0,
            score: v.score().value(),
        });
    }
    let version = match prefix {
        "CVSS:3.0" => CvssVersion::V3_0,
        "CVSS:3.1" => CvssVersion::V3_1,
        "CVSS:4.0" => CvssVersion::V4_0,
        p if p.starts_with("CVSS:") => {
            return Err(CvssError::UnsupportedVersion(vector.to_string()))
        }
        _ => return Err(CvssError::NotAVector(vector.to_string())),
    };
    // The crate accepts a metric given twice (the last wins); a vector that says two things
    // is refused here instead.
    let mut seen = std::collections::BTreeSet::new();
    for part in vector.split('/').skip(1) {
        let name = part.split(':').next().unwrap_or(part);
        if !seen.insert(name) {
            return Err(CvssError::Invalid {
                vector: vector.to_string(),
                problem: format!("metric {name} given twice"),
            });
        }
    }
    let base: &[&str] = match version {
        CvssVersion::V4_0 => &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
        _ => &["AV", "AC", "PR", "UI", "S", "C", "I", "A"],
    };
    require(vector, vector.split('/').skip(1), base)?;
    let score = match version {
        CvssVersion::V4_0 => cvss::v4::Vector::from_str(vector)
            .map_err(invalid)?
            .score()
            .value(),
        _ => cvss::v3::Vector::from_str(vector)
            .map_err(invalid)?
            .base_score()
            .value(),
    };
    if !(0.0..=10.0).contains(&score) {
        return Err(CvssError::Invalid {
            vector: vector.to_string(),
            problem: format!("score {score} out of range"),
        });
    }
    Ok(CvssScore { version, score })
}

/// The crate scores a vector that lacks a base metric as if it had a default; a vector
/// without every base metric is refused here instead.
fn require<'a>(
    vector: &str,
    parts: impl Iterator<Item = &'a str>,
    names: &[&str],
) -> Result<(), CvssError> {
    let present: std::collections::BTreeSet<&str> =
        parts.map(|p| p.split(':').next().unwrap_or(p)).collect();
    match names.iter().find(|n| !present.contains(*n)) {
        Some(missing) => Err(CvssError::Invalid {
            vector: vector.to_string(),
            problem: format!("missing base metric {missing}"),
        }),
        None => Ok(()),
    }
}

/// The qualitative rating of a score (FIRST: None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High
/// 7.0-8.9, Critical 9.0-10.0). A 0.0 score has no bucket of its own here and maps to
/// `Unknown`. v2.0 scores use NVD's v2 scale (Low below 4.0, Medium below 7.0, High above),
/// which [`severity_of_version`] applies.
pub fn severity_of(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Unknown
    }
}

/// [`severity_of`] for v3 and v4; NVD's v2.0 scale (no Critical) for v2.
pub fn severity_of_version(version: CvssVersion, score: f64) -> Severity {
    match version {
        CvssVersion::V2_0 if score >= 7.0 => Severity::High,
        _ => severity_of(score),
    }
}
