//! What matching produces: one finding per vulnerability per package.

use customs_inventory::Package;
use serde::{Deserialize, Serialize};

/// Severity buckets, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

/// Where a finding's severity came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeveritySource {
    /// `CVSS_V3`, `CVSS_V4`, `ecosystem` (the database's own rating) or `none`.
    pub kind: String,
    /// The vector or the ecosystem's own label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// Computed base score, when a CVSS vector was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    Fixed,
    NotFixed,
}

/// One vulnerability affecting one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The advisory id that was matched (`GHSA-…`, `CVE-…`, `RUSTSEC-…`, `GO-…`).
    pub id: String,
    /// Every alias across merged advisories, sorted, not including `id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub package: Package,
    pub severity: Severity,
    pub severity_source: SeveritySource,
    pub fix_status: FixStatus,
    /// Versions that fix it, lowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Where the advisory came from (`osv:PyPI`, `alpine-secdb:v3.11/main`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}
