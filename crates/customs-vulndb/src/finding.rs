//! What matching produces: one finding per vulnerability per package.

pub use crate::rating::{Epss, Kev, Rating};
use customs_inventory::Package;
use serde::{Deserialize, Serialize};

pub use customs_inventory::Severity;

/// Where a finding's severity came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeveritySource {
    /// Who gave the rating that won: `nvd`, `cna:<org>`, `cisa-adp`, `ghsa`, `debian`,
    /// `ubuntu`, `alpine`, … (ranked by `rating::precedence`), or empty for none.
    #[serde(default)]
    pub source: String,
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `ecosystem` (a vendor's or database's own word) or
    /// `none`.
    pub kind: String,
    /// The vector or the ecosystem's own label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// Computed base score, when a CVSS vector was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl SeveritySource {
    /// No rating: kind `none`, no source.
    pub fn none() -> SeveritySource {
        SeveritySource {
            source: String::new(),
            kind: "none".into(),
            vector: None,
            score: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// Whether a fixed version exists.
pub enum FixStatus {
    /// At least one version fixes it (see `fixed_versions`).
    Fixed,
    /// No fixed version is known.
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
    /// The affected package, as the inventory has it.
    pub package: Package,
    /// The bucket of the winning rating.
    pub severity: Severity,
    /// Which rating decided `severity`.
    pub severity_source: SeveritySource,
    /// Whether a fix is known.
    pub fix_status: FixStatus,
    /// Versions that fix it, lowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    /// The advisory's summary.
    pub summary: String,
    /// Where the advisory came from (`osv:PyPI`, `alpine-secdb:v3.11/main`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Reference URLs.
    pub references: Vec<String>,
    /// Every rating available for the finding's CVEs and advisories, the winner first, then
    /// in precedence order; users who order sources differently can pick their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<Rating>,
    /// The CVE's entry in CISA's KEV catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
    /// The CVE's EPSS score (the highest, when the finding covers several CVEs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
}

impl Finding {
    /// The CVE ids among the finding's id and aliases.
    pub fn cves(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .filter(|i| i.starts_with("CVE-"))
    }
}
