//! The internal advisory form stored in the database: one advisory as it applies to one
//! (ecosystem, package) key, converted from OSV or Alpine secdb.

use serde::{Deserialize, Serialize};

/// An advisory restricted to one package. Stored compactly (postcard), so every field is
/// always present; nothing is skipped when serialising.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's id (`GHSA-…`, `CVE-…`, `RUSTSEC-…`).
    pub id: String,
    /// Other ids the record is known by, as the record lists them.
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
    /// Reference URLs, in record order.
    pub references: Vec<String>,
    /// Where it came from: `osv:PyPI`, `alpine-secdb:v3.11/main`.
    pub source: String,
    /// Every `affected` entry of the record for this package.
    pub affected: Vec<Affected>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// One `severity` entry of an OSV record.
pub struct SeverityEntry {
    /// `CVSS_V3`, `CVSS_V4`, `CVSS_V2`, `Ubuntu`, ...
    pub kind: String,
    /// The vector (`CVSS:3.1/AV:N/…`) or the rating's own text.
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
/// One OSV `affected` entry, reduced to what matching needs.
pub struct Affected {
    /// `SEMVER` and `ECOSYSTEM` ranges; `GIT` ranges are dropped at ingest.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
    /// The entry's own `severity` entries, which win over the record's.
    pub severity: Vec<SeverityEntry>,
    /// The entry's `ecosystem_specific` or `database_specific` severity label, when there is one.
    pub ecosystem_severity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// One OSV range: an ordered list of events in one version scheme.
pub struct Range {
    /// How the events' versions compare.
    pub kind: RangeKind,
    /// The events, in record order.
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
/// How a range's versions compare.
pub enum RangeKind {
    /// Semantic versioning 2.0.
    Semver,
    /// The package ecosystem's own version scheme (dpkg, rpm, PEP 440, …).
    Ecosystem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// One event of an OSV range.
pub enum Event {
    /// Versions from this one on are affected (`0`: from the first).
    Introduced(String),
    /// This version and later ones are not affected.
    Fixed(String),
    /// This version is the last affected one.
    LastAffected(String),
    /// Versions from this one on are outside the range.
    Limit(String),
}

impl Event {
    /// The event's version.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}
