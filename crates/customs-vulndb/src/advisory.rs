//! The internal advisory form stored in the database: one advisory as it applies to one
//! (ecosystem, package) key, converted from OSV or Alpine secdb.

use serde::{Deserialize, Serialize};

/// An advisory restricted to one package. Stored compactly (postcard), so every field is
/// always present; nothing is skipped when serialising.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    /// OSV `upstream`: the ids this record was derived from (Debian's `DEBIAN-CVE-…` records
    /// name their CVE only here). Matched, merged and suppressed like aliases.
    pub upstream: Vec<String>,
    /// The record's summary, or the first line of its details.
    pub summary: String,
    /// `modified` as written in the record (RFC 3339), empty when absent.
    pub modified: String,
    /// `withdrawn` as written; such advisories are dropped at build time and ignored when
    /// matching.
    pub withdrawn: Option<String>,
    /// Record-level `severity` entries.
    pub severity: Vec<SeverityEntry>,
    /// The database's own rating (`database_specific.severity`, GHSA style: `HIGH`,
    /// `MODERATE`).
    pub ecosystem_severity: Option<String>,
    pub references: Vec<String>,
    /// Where it came from: `osv:PyPI`, `alpine-secdb:v3.11/main`.
    pub source: String,
    /// Every `affected` entry of the record for this package.
    pub affected: Vec<Affected>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityEntry {
    /// `CVSS_V3`, `CVSS_V4`, `CVSS_V2`, `Ubuntu`, ...
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Affected {
    /// `SEMVER` and `ECOSYSTEM` ranges; `GIT` ranges are dropped at ingest.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
    pub severity: Vec<SeverityEntry>,
    pub ecosystem_severity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    Semver,
    Ecosystem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}
