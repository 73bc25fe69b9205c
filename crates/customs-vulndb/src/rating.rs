//! What the field knows about a CVE beyond the advisory that matched it: CVSS ratings from
//! CVE List V5 records (the CNA's and every ADP's, CISA's Vulnrichment among them), NVD API
//! 2.0 records and GHSA advisories; CISA's Known Exploited Vulnerabilities catalogue; FIRST's
//! EPSS scores. Each is read here into [`CveFacts`], stored in the database by CVE id, and
//! joined onto findings by the matcher, which picks one rating by [`precedence`].
//!
//! Every reader takes untrusted bytes and returns an error or nothing, never a panic. Records
//! are parsed into typed structs, so the megabyte `affected` lists that recent CVE records
//! carry are skipped without being held.

use crate::cvss::{self, CvssVersion};
use crate::finding::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CISA's ADP organisation id, as CVE records and NVD's `source` field name it.
pub const CISA_ADP_ORG: &str = "134c704f-9b21-4f2e-91b3-4a467353bcc0";

/// One source's rating of one CVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// Who rated it: `nvd`, `cna:<org>`, `cisa-adp`, `adp:<org>`, `ghsa`, `debian`, `ubuntu`,
    /// `alpine`, `redhat`, or the lower-cased id prefix of the advisory database
    /// (`rustsec`, `pysec`).
    pub source: String,
    /// The bucket, from the score (or the label, for a rating without one).
    pub severity: Severity,
    /// `2.0`, `3.0`, `3.1` or `4.0`; `None` for a vendor's label.
    pub cvss_version: Option<String>,
    /// The CVSS vector, when the rating has one.
    pub vector: Option<String>,
    /// The CVSS base score computed from the vector.
    pub score: Option<f64>,
    /// A vendor's own word (`unimportant`, `medium`, `MODERATE`), when that is the rating.
    pub label: Option<String>,
}

impl Rating {
    /// The same rating from the same source (one vector or label, one CVSS version).
    pub fn same_as(&self, other: &Rating) -> bool {
        self.source == other.source
            && self.cvss_version == other.cvss_version
            && self.vector == other.vector
            && self.label == other.label
    }
}

/// Adds `r` to `list` unless the same rating is there already.
pub fn add_rating(list: &mut Vec<Rating>, r: Rating) {
    if !list.iter().any(|x| x.same_as(&r)) {
        list.push(r);
    }
}

/// A CVE's entry in CISA's KEV catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kev {
    /// When CISA added the CVE (`YYYY-MM-DD`).
    pub date_added: String,
    /// When US federal agencies must have remediated it (`YYYY-MM-DD`).
    pub due_date: String,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
}

/// A CVE's EPSS score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    /// Probability of exploitation activity in the next 30 days, 0 to 1.
    pub score: f64,
    /// The score's percentile among all scored CVEs, 0 to 1.
    pub percentile: f64,
    /// `score_date` of the file, when it says one.
    pub date: Option<String>,
}

/// Everything known about one CVE id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CveFacts {
    /// Every rating of the CVE, in no particular order.
    pub ratings: Vec<Rating>,
    /// Its KEV entry, when it is in the catalogue.
    pub kev: Option<Kev>,
    /// Its EPSS score, when the scores list it.
    pub epss: Option<Epss>,
    /// The CVE record (or NVD) says REJECTED: no rating of it counts.
    pub rejected: bool,
}

impl CveFacts {
    /// Folds `other` in: ratings are added unless the same source already gave the same
    /// vector or label; KEV and EPSS are taken when present.
    pub fn merge(&mut self, other: CveFacts) {
        for r in other.ratings {
            add_rating(&mut self.ratings, r);
        }
        if other.kev.is_some() {
            self.kev = other.kev;
        }
        if other.epss.is_some() {
            self.epss = other.epss;
        }
        self.rejected |= other.rejected;
    }
}

/// The facts a document contributed, by CVE id.
pub type Facts = BTreeMap<String, CveFacts>;

/// What kind of rating document a JSON file is, told by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A CVE List V5 record (CVEProject/cvelistV5 or cisagov/vulnrichment).
    Cve5,
    /// An NVD API 2.0 `cve` object, or an API response holding `vulnerabilities[].cve`.
    Nvd,
    /// CISA's `known_exploited_vulnerabilities.json`.
    Kev,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "cveMetadata", default)]
    cve_metadata: Option<serde::de::IgnoredAny>,
    #[serde(rename = "catalogVersion", default)]
    catalog_version: Option<serde::de::IgnoredAny>,
    #[serde(rename = "vulnStatus", default)]
    vuln_status: Option<serde::de::IgnoredAny>,
    #[serde(rename = "sourceIdentifier", default)]
    source_identifier: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    vulnerabilities: Option<Vec<ProbeVuln>>,
}

#[derive(Deserialize)]
struct ProbeVuln {
    #[serde(default)]
    cve: Option<serde::de::IgnoredAny>,
}

/// Which rating document `bytes` is, or `None` for anything else (an OSV record, say).
pub fn document_kind(bytes: &[u8]) -> Option<DocumentKind> {
    let p: Probe = serde_json::from_slice(bytes).ok()?;
    if p.cve_metadata.is_some() {
        Some(DocumentKind::Cve5)
    } else if p.catalog_version.is_some() && p.vulnerabilities.is_some() {
        Some(DocumentKind::Kev)
    } else if p.vuln_status.is_some()
        || p.source_identifier.is_some()
        || p.vulnerabilities
            .as_ref()
            .is_some_and(|v| !v.is_empty() && v.iter().all(|x| x.cve.is_some()))
    {
        Some(DocumentKind::Nvd)
    } else {
        None
    }
}

/// Reads a rating document of `kind`.
pub fn parse(kind: DocumentKind, bytes: &[u8]) -> Result<Facts, String> {
    match kind {
        DocumentKind::Cve5 => parse_cve5(bytes),
        DocumentKind::Nvd => parse_nvd(bytes),
        DocumentKind::Kev => parse_kev(bytes),
    }
}

// ---- CVE List V5 ----------------------------------------------------------------------

#[derive(Deserialize)]
struct Cve5 {
    #[serde(rename = "cveMetadata")]
    meta: Cve5Meta,
    #[serde(default)]
    containers: Option<Cve5Containers>,
}

#[derive(Deserialize)]
struct Cve5Meta {
    #[serde(rename = "cveId")]
    id: String,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Cve5Containers {
    #[serde(default)]
    cna: Option<Cve5Container>,
    #[serde(default)]
    adp: Vec<Cve5Container>,
}

#[derive(Deserialize)]
struct Cve5Container {
    #[serde(rename = "providerMetadata", default)]
    provider: Option<Provider>,
    #[serde(default)]
    metrics: Vec<Cve5Metric>,
}

#[derive(Deserialize)]
struct Provider {
    #[serde(rename = "shortName", default)]
    short_name: Option<String>,
    #[serde(rename = "orgId", default)]
    org_id: Option<String>,
}

#[derive(Deserialize)]
struct Cve5Metric {
    #[serde(rename = "cvssV2_0", default)]
    v2_0: Option<CvssData>,
    #[serde(rename = "cvssV3_0", default)]
    v3_0: Option<CvssData>,
    #[serde(rename = "cvssV3_1", default)]
    v3_1: Option<CvssData>,
    #[serde(rename = "cvssV4_0", default)]
    v4_0: Option<CvssData>,
}

#[derive(Deserialize)]
struct CvssData {
    #[serde(rename = "vectorString", default)]
    vector: Option<String>,
    #[serde(rename = "baseScore", default)]
    score: Option<f64>,
    #[serde(rename = "baseSeverity", default)]
    severity: Option<String>,
}

fn parse_cve5(bytes: &[u8]) -> Result<Facts, String> {
    let rec: Cve5 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let id = rec.meta.id.trim().to_ascii_uppercase();
    if !id.starts_with("CVE-") {
        return Err(format!("CVE record id {id:?} is not a CVE id"));
    }
    let mut facts = CveFacts {
        rejected: rec
            .meta
            .state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("REJECTED")),
        ..Default::default()
    };
    if let Some(c) = rec.containers {
        let containers = c
            .cna
            .map(|x| (true, x))
            .into_iter()
            .chain(c.adp.into_iter().map(|x| (false, x)));
        for (is_cna, container) in containers {
            let source = container_source(is_cna, container.provider.as_ref());
            for m in container.metrics {
                for (version, data) in [
                    (CvssVersion::V4_0, m.v4_0),
                    (CvssVersion::V3_1, m.v3_1),
                    (CvssVersion::V3_0, m.v3_0),
                    (CvssVersion::V2_0, m.v2_0),
                ] {
                    if let Some(r) = data.and_then(|d| cvss_rating(&source, version, d)) {
                        facts.merge(CveFacts {
                            ratings: vec![r],
                            ..Default::default()
                        });
                    }
                }
            }
        }
    }
    Ok(Facts::from([(id, facts)]))
}

fn container_source(is_cna: bool, p: Option<&Provider>) -> String {
    let short = p.and_then(|p| p.short_name.clone()).unwrap_or_default();
    let org = p.and_then(|p| p.org_id.clone()).unwrap_or_default();
    if !is_cna && (org == CISA_ADP_ORG || short.eq_ignore_ascii_case("CISA-ADP")) {
        return "cisa-adp".into();
    }
    let name = if short.is_empty() { org } else { short };
    let name = if name.is_empty() {
        "unknown".into()
    } else {
        name
    };
    if is_cna {
        format!("cna:{name}")
    } else {
        format!("adp:{name}")
    }
}

/// A rating from a CVSS object: the score computed from the vector when it parses (so every
/// source is scored the same way), else the score as written, else its severity word.
fn cvss_rating(source: &str, version: CvssVersion, d: CvssData) -> Option<Rating> {
    let vector = d
        .vector
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let computed = vector
        .as_deref()
        .and_then(|v| cvss::base_score(v).ok())
        .filter(|s| {
            s.version == version || (version == CvssVersion::V3_0 && s.version == CvssVersion::V3_1)
        });
    let score = computed
        .map(|s| s.score)
        .or(d.score.filter(|s| (0.0..=10.0).contains(s)));
    let severity = match score {
        Some(s) => cvss::severity_of_version(version, s),
        None => d.severity.as_deref().map(label_severity)?,
    };
    if severity == Severity::Unknown && score.is_none() {
        return None;
    }
    Some(Rating {
        source: source.to_string(),
        severity,
        cvss_version: Some(version.as_str().to_string()),
        vector,
        score,
        label: None,
    })
}

// ---- NVD API 2.0 ------------------------------------------------------------------------

#[derive(Deserialize)]
struct NvdResponse {
    vulnerabilities: Vec<NvdWrap>,
}

#[derive(Deserialize)]
struct NvdWrap {
    cve: NvdCve,
}

#[derive(Deserialize)]
struct NvdCve {
    id: String,
    #[serde(rename = "vulnStatus", default)]
    status: Option<String>,
    #[serde(default)]
    metrics: Option<NvdMetrics>,
}

#[derive(Deserialize)]
struct NvdMetrics {
    #[serde(rename = "cvssMetricV40", default)]
    v40: Vec<NvdMetric>,
    #[serde(rename = "cvssMetricV31", default)]
    v31: Vec<NvdMetric>,
    #[serde(rename = "cvssMetricV30", default)]
    v30: Vec<NvdMetric>,
    #[serde(rename = "cvssMetricV2", default)]
    v2: Vec<NvdMetric>,
}

#[derive(Deserialize)]
struct NvdMetric {
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "cvssData")]
    data: CvssData,
    /// v2 keeps its severity word outside `cvssData`.
    #[serde(rename = "baseSeverity", default)]
    base_severity: Option<String>,
}

fn parse_nvd(bytes: &[u8]) -> Result<Facts, String> {
    let records: Vec<NvdCve> = match serde_json::from_slice::<NvdResponse>(bytes) {
        Ok(r) => r.vulnerabilities.into_iter().map(|w| w.cve).collect(),
        Err(_) => vec![serde_json::from_slice::<NvdCve>(bytes).map_err(|e| e.to_string())?],
    };
    let mut out = Facts::new();
    for rec in records {
        let id = rec.id.trim().to_ascii_uppercase();
        if !id.starts_with("CVE-") {
            continue;
        }
        let mut facts = CveFacts {
            rejected: rec
                .status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Rejected")),
            ..Default::default()
        };
        if let Some(m) = rec.metrics {
            for (version, list) in [
                (CvssVersion::V4_0, m.v40),
                (CvssVersion::V3_1, m.v31),
                (CvssVersion::V3_0, m.v30),
                (CvssVersion::V2_0, m.v2),
            ] {
                for entry in list {
                    let source = nvd_source(entry.source.as_deref().unwrap_or(""));
                    let mut data = entry.data;
                    if data.severity.is_none() {
                        data.severity = entry.base_severity;
                    }
                    if let Some(r) = cvss_rating(&source, version, data) {
                        facts.merge(CveFacts {
                            ratings: vec![r],
                            ..Default::default()
                        });
                    }
                }
            }
        }
        out.entry(id).or_default().merge(facts);
    }
    Ok(out)
}

fn nvd_source(s: &str) -> String {
    match s.trim() {
        "nvd@nist.gov" => "nvd".into(),
        CISA_ADP_ORG => "cisa-adp".into(),
        "" => "cna:unknown".into(),
        other => format!("cna:{other}"),
    }
}

// ---- KEV --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct KevCatalog {
    vulnerabilities: Vec<KevEntry>,
}

#[derive(Deserialize)]
struct KevEntry {
    #[serde(rename = "cveID")]
    cve: String,
    #[serde(rename = "dateAdded", default)]
    date_added: String,
    #[serde(rename = "dueDate", default)]
    due_date: String,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    ransomware: Option<String>,
}

fn parse_kev(bytes: &[u8]) -> Result<Facts, String> {
    let cat: KevCatalog = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut out = Facts::new();
    for e in cat.vulnerabilities {
        let id = e.cve.trim().to_ascii_uppercase();
        if !id.starts_with("CVE-") {
            continue;
        }
        out.entry(id).or_default().kev = Some(Kev {
            date_added: e.date_added,
            due_date: e.due_date,
            ransomware: e
                .ransomware
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("Known")),
        });
    }
    Ok(out)
}

// ---- EPSS -------------------------------------------------------------------------------

/// Most bytes a gzipped EPSS file may inflate to (FIRST's daily file is about 10 MB).
const MAX_EPSS_INFLATED: u64 = 1 << 30;

/// Reads EPSS scores: FIRST's daily CSV (`#model_version:…,score_date:…`, then a
/// `cve,epss,percentile` header, then rows), or the `CVE;epss;percentile` form without a
/// header that some mirrors write. Gzip is taken off first. A malformed row is counted in
/// the returned number and skipped.
pub fn parse_epss(bytes: &[u8]) -> Result<(Facts, usize), String> {
    let text = crate::source::gunzip_if_gzip(bytes, MAX_EPSS_INFLATED)?;
    let text = std::str::from_utf8(&text).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut date = None;
    let mut out = Facts::new();
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(meta) = line.strip_prefix('#') {
            date = meta
                .split(',')
                .find_map(|kv| kv.trim().strip_prefix("score_date:"))
                .map(|d| d.trim().to_string());
            continue;
        }
        let cols: Vec<&str> = line.split([',', ';']).map(str::trim).collect();
        if cols.first().is_some_and(|c| c.eq_ignore_ascii_case("cve")) {
            continue;
        }
        let parsed = match cols.as_slice() {
            [id, score, pct, ..] => match (score.parse::<f64>(), pct.parse::<f64>()) {
                (Ok(s), Ok(p))
                    if id.to_ascii_uppercase().starts_with("CVE-")
                        && (0.0..=1.0).contains(&s)
                        && (0.0..=1.0).contains(&p) =>
                {
                    Some((id.to_ascii_uppercase(), s, p))
                }
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some((id, score, percentile)) => {
                out.entry(id).or_default().epss = Some(Epss {
                    score,
                    percentile,
                    date: date.clone(),
                })
            }
            None => bad += 1,
        }
    }
    Ok((out, bad))
}

// ---- GHSA ------------------------------------------------------------------------------

/// The ratings a GitHub advisory gives each CVE it aliases: its CVSS vectors (`severity[]`,
/// scored here, since GHSA writes no number) and its own word (`database_specific.severity`).
pub fn ghsa_facts(adv: &crate::advisory::Advisory) -> Facts {
    let mut ratings = Vec::new();
    let entries = adv
        .severity
        .iter()
        .chain(adv.affected.iter().flat_map(|a| &a.severity));
    for e in entries {
        if let Ok(s) = cvss::base_score(&e.score) {
            ratings.push(Rating {
                source: "ghsa".into(),
                severity: cvss::severity_of_version(s.version, s.score),
                cvss_version: Some(s.version.as_str().to_string()),
                vector: Some(e.score.trim().to_string()),
                score: Some(s.score),
                label: None,
            });
        }
    }
    let labels = adv.ecosystem_severity.iter().chain(
        adv.affected
            .iter()
            .filter_map(|a| a.ecosystem_severity.as_ref()),
    );
    for l in labels {
        ratings.push(Rating {
            source: "ghsa".into(),
            severity: label_severity(l),
            cvss_version: None,
            vector: None,
            score: None,
            label: Some(l.clone()),
        });
    }
    let mut out = Facts::new();
    if ratings.is_empty() {
        return out;
    }
    for alias in adv.aliases.iter().chain(&adv.upstream) {
        let alias = alias.trim().to_ascii_uppercase();
        if alias.starts_with("CVE-") {
            out.entry(alias).or_default().merge(CveFacts {
                ratings: ratings.clone(),
                ..Default::default()
            });
        }
    }
    out
}

// ---- labels and precedence --------------------------------------------------------------

/// A vendor's or database's severity word as a bucket. Debian's tracker urgencies (with the
/// `*`/`**` marks it adds) map as Trivy maps them: `unimportant`, `end-of-life` and `low` are
/// LOW; `not yet assigned` is no rating. Ubuntu's `negligible` is LOW; Red Hat's `important`
/// is HIGH; GHSA's `MODERATE` is MEDIUM.
pub fn label_severity(label: &str) -> Severity {
    let l = label
        .trim()
        .trim_end_matches('*')
        .trim()
        .to_ascii_uppercase();
    match l.as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" | "IMPORTANT" => Severity::High,
        "MODERATE" | "MEDIUM" => Severity::Medium,
        "LOW" | "NEGLIGIBLE" | "UNIMPORTANT" | "END-OF-LIFE" => Severity::Low,
        _ => Severity::Unknown,
    }
}

/// Whether `source` is an OS vendor's own rating.
pub fn is_vendor(source: &str) -> bool {
    matches!(
        source,
        "debian"
            | "ubuntu"
            | "alpine"
            | "redhat"
            | "rocky"
            | "almalinux"
            | "suse"
            | "opensuse"
            | "wolfi"
            | "chainguard"
            | "amazon"
            | "azure"
    )
}

/// The rank of a rating under customs' precedence; lower wins.
///
/// - OS packages: the vendor's own rating, then NVD, then the CNA, then CISA's ADP, then
///   GHSA, then anything else (another vendor's, another ADP's, the advisory database's).
/// - Language packages: GHSA, then NVD, then the CNA, then CISA's ADP, then anything else.
///
/// Within one source: a label the vendor chose beats its CVSS; CVSS v4.0, then v3.1, v3.0,
/// v2.0 (the newest version a source scored). A rating with no bucket never wins.
pub fn precedence(r: &Rating, os_package: bool) -> (u8, u8) {
    let s = r.source.as_str();
    let class = if os_package {
        if is_vendor(s) {
            0
        } else if s == "nvd" {
            1
        } else if s.starts_with("cna:") {
            2
        } else if s == "cisa-adp" {
            3
        } else if s == "ghsa" {
            4
        } else {
            5
        }
    } else if s == "ghsa" {
        0
    } else if s == "nvd" {
        1
    } else if s.starts_with("cna:") {
        2
    } else if s == "cisa-adp" {
        3
    } else {
        4
    };
    let version = match (r.label.is_some(), r.cvss_version.as_deref()) {
        (true, _) => 0,
        (_, Some("4.0")) => 1,
        (_, Some("3.1")) => 2,
        (_, Some("3.0")) => 3,
        (_, Some("2.0")) => 4,
        _ => 5,
    };
    (class, version)
}

/// The order ratings are listed in: those with a bucket first, then by [`precedence`]; the
/// same source and version twice (two CNA v3.1 entries): the higher score first.
pub fn order(a: &Rating, b: &Rating, os_package: bool) -> std::cmp::Ordering {
    (a.severity == Severity::Unknown)
        .cmp(&(b.severity == Severity::Unknown))
        .then_with(|| precedence(a, os_package).cmp(&precedence(b, os_package)))
        .then_with(|| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)))
        .then_with(|| a.vector.cmp(&b.vector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_urgencies_map_as_trivy_maps_them() {
        assert_eq!(label_severity("unimportant"), Severity::Low);
        assert_eq!(label_severity("low**"), Severity::Low);
        assert_eq!(label_severity("medium*"), Severity::Medium);
        assert_eq!(label_severity("high"), Severity::High);
        assert_eq!(label_severity("not yet assigned"), Severity::Unknown);
        assert_eq!(label_severity("end-of-life"), Severity::Low);
    }

    #[test]
    fn epss_reads_both_layouts() {
        let first = b"#model_version:v2025.03.14,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2023-44487,0.94,0.999\nbad,row\n";
        let (f, bad) = parse_epss(first).unwrap();
        assert_eq!(bad, 1);
        let e = f["CVE-2023-44487"].epss.clone().unwrap();
        assert_eq!((e.score, e.percentile), (0.94, 0.999));
        assert_eq!(e.date.as_deref(), Some("2026-08-16T00:00:00+0000"));
        let (f, bad) = parse_epss(b"CVE-2020-0601;0.943260000;0.999470000\n").unwrap();
        assert_eq!(
            (bad, f["CVE-2020-0601"].epss.as_ref().unwrap().score),
            (0, 0.94326)
        );
    }

    #[test]
    fn nvd_sources_are_named() {
        assert_eq!(nvd_source("nvd@nist.gov"), "nvd");
        assert_eq!(nvd_source(CISA_ADP_ORG), "cisa-adp");
        assert_eq!(nvd_source("security@golang.org"), "cna:security@golang.org");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for b in [&b""[..], b"{", b"[]", b"{\"cveMetadata\":1}", b"\xff\xfe"] {
            for k in [DocumentKind::Cve5, DocumentKind::Nvd, DocumentKind::Kev] {
                let _ = parse(k, b);
            }
            let _ = document_kind(b);
            let _ = parse_epss(b);
        }
    }
}
