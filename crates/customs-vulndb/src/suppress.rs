//! Suppressing findings the user has judged: a `.customsignore` file (YAML, one entry per
//! vulnerability, optionally narrowed to a package and given an expiry date) and OpenVEX
//! documents (statements whose status is `not_affected` or `fixed`). Suppressed findings are
//! kept, with the reason, so reports can count them.
//!
//! The ignore file:
//!
//! ```yaml
//! ignore:
//!   - id: CVE-2020-1967          # a finding id or any of its aliases
//!     package: openssl           # optional: package name or source package name
//!     purl: pkg:apk/alpine/libssl1.1   # optional: qualifiers/version only compared if given
//!     expires: 2026-12-31        # optional: suppresses up to and including this day (UTC)
//!     reason: not reachable from our code
//! ```

use std::path::{Path, PathBuf};

use customs_inventory::sbom_input::Purl;
use customs_inventory::Package;
use jiff::civil::Date;
use serde::Deserialize;

use crate::finding::Finding;

/// Why an ignore file or VEX document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ignore file {}: {reason}", path.display())]
    Ignore { path: PathBuf, reason: String },
    #[error("VEX document {}: {reason}", path.display())]
    Vex { path: PathBuf, reason: String },
}

/// One `.customsignore` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub id: String,
    pub package: Option<String>,
    pub purl: Option<String>,
    pub expires: Option<Date>,
    pub reason: Option<String>,
}

/// A parsed `.customsignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    pub path: PathBuf,
    pub entries: Vec<IgnoreEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreFile {
    #[serde(default)]
    ignore: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    expires: Option<serde_norway::Value>,
    #[serde(default)]
    reason: Option<String>,
}

impl IgnoreFile {
    /// Parses the YAML text of an ignore file; `path` names it in errors. An empty file
    /// ignores nothing.
    pub fn parse(text: &str, path: &Path) -> Result<IgnoreFile, SuppressError> {
        let err = |reason: String| SuppressError::Ignore {
            path: path.to_path_buf(),
            reason,
        };
        if text.trim().is_empty() {
            return Ok(IgnoreFile {
                path: path.to_path_buf(),
                entries: Vec::new(),
            });
        }
        let raw: RawIgnoreFile = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut entries = Vec::with_capacity(raw.ignore.len());
        for (i, e) in raw.ignore.into_iter().enumerate() {
            let n = i + 1;
            if e.id.trim().is_empty() {
                return Err(err(format!("entry {n}: id is empty")));
            }
            if let Some(p) = &e.purl {
                if Purl::parse(p).is_none() {
                    return Err(err(format!(
                        "entry {n} ({}): {p:?} is not a package URL",
                        e.id
                    )));
                }
            }
            let expires = match e.expires {
                None | Some(serde_norway::Value::Null) => None,
                Some(serde_norway::Value::String(s)) => {
                    Some(s.trim().parse::<Date>().map_err(|x| {
                        err(format!(
                            "entry {n} ({}): expires {s:?} is not a YYYY-MM-DD date: {x}",
                            e.id
                        ))
                    })?)
                }
                Some(other) => {
                    return Err(err(format!(
                        "entry {n} ({}): expires must be a YYYY-MM-DD date, not {other:?}",
                        e.id
                    )))
                }
            };
            entries.push(IgnoreEntry {
                id: e.id.trim().to_string(),
                package: e.package.filter(|p| !p.is_empty()),
                purl: e.purl.filter(|p| !p.is_empty()),
                expires,
                reason: e.reason,
            });
        }
        Ok(IgnoreFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Reads and parses the ignore file at `path`.
    pub fn load(path: &Path) -> Result<IgnoreFile, SuppressError> {
        let text = std::fs::read_to_string(path).map_err(|source| SuppressError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        IgnoreFile::parse(&text, path)
    }
}

impl IgnoreEntry {
    fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }

    fn matches(&self, f: &Finding) -> bool {
        if !names_vulnerability(f, &self.id) {
            return false;
        }
        if let Some(name) = &self.package {
            if f.package.name != *name && f.package.source_name.as_deref() != Some(name) {
                return false;
            }
        }
        if let Some(p) = &self.purl {
            if !purl_matches(p, &f.package) {
                return false;
            }
        }
        true
    }
}

/// Whether `id` is the finding's id or one of its aliases.
fn names_vulnerability(f: &Finding, id: &str) -> bool {
    f.id == id || f.aliases.iter().any(|a| a == id)
}

/// Whether the pattern purl names the package: type, namespace and name must be equal; the
/// version only when the pattern has one; each of the pattern's qualifiers must be present
/// with the same value (a pattern without qualifiers matches any).
pub fn purl_matches(pattern: &str, pkg: &Package) -> bool {
    let (Some(want), Some(have)) = (Purl::parse(pattern), Purl::parse(&pkg.purl)) else {
        return false;
    };
    let norm = |p: &Purl| -> (String, Option<String>, String) {
        if p.ty == "pypi" {
            let n = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
            (p.ty.clone(), p.namespace.clone(), n(&p.name))
        } else {
            (p.ty.clone(), p.namespace.clone(), p.name.clone())
        }
    };
    if norm(&want) != norm(&have) {
        return false;
    }
    if let Some(v) = &want.version {
        let strip = |s: &str| s.strip_prefix('v').unwrap_or(s).to_string();
        if have.version.as_deref().map(strip) != Some(strip(v)) {
            return false;
        }
    }
    want.qualifiers
        .iter()
        .all(|(k, v)| have.qualifiers.get(k) == Some(v))
}

/// The VEX statuses customs acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not_affected" => VexStatus::NotAffected,
            "affected" => VexStatus::Affected,
            "fixed" => VexStatus::Fixed,
            "under_investigation" => VexStatus::UnderInvestigation,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// One OpenVEX statement, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    /// The vulnerability's name and aliases.
    pub vulnerability: Vec<String>,
    /// Package URLs the statement is about (products, or their subcomponents when given).
    pub products: Vec<String>,
    pub status: VexStatus,
    pub justification: Option<String>,
    /// RFC 3339 text; a later statement about the same pair overrides an earlier one.
    pub timestamp: Option<jiff::Timestamp>,
}

/// A parsed OpenVEX document (v0.0.1 or v0.2.0 JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexDocument {
    pub path: PathBuf,
    pub statements: Vec<VexStatement>,
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => {
            let mut out = Vec::new();
            for key in ["name", "@id"] {
                if let Some(Value::String(s)) = o.get(key) {
                    out.push(s.clone());
                }
            }
            if let Some(Value::Array(a)) = o.get("aliases") {
                out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The purls a product names: its `@id`, and `identifiers.purl`.
fn product_purls(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => {
            let mut out = Vec::new();
            if let Some(Value::String(s)) = o.get("@id") {
                out.push(s.clone());
            }
            if let Some(Value::String(s)) = o.get("identifiers").and_then(|i| i.get("purl")) {
                out.push(s.clone());
            }
            out
        }
        _ => Vec::new(),
    }
}

impl VexDocument {
    /// Parses OpenVEX JSON. Statements with an unknown status are an error.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<VexDocument, SuppressError> {
        use serde_json::Value;
        let err = |reason: String| SuppressError::Vex {
            path: path.to_path_buf(),
            reason,
        };
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let context = doc.get("@context").and_then(Value::as_str).unwrap_or("");
        if !context.contains("openvex") {
            return Err(err("not an OpenVEX document (no openvex @context)".into()));
        }
        let doc_time = doc
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        let Some(Value::Array(raw)) = doc.get("statements") else {
            return Err(err("no statements array".into()));
        };
        let mut statements = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let n = i + 1;
            let vulnerability = s.get("vulnerability").map(ids_of).unwrap_or_default();
            if vulnerability.is_empty() {
                return Err(err(format!("statement {n} names no vulnerability")));
            }
            let status_text = s.get("status").and_then(Value::as_str).unwrap_or("");
            let status = VexStatus::parse(status_text)
                .ok_or_else(|| err(format!("statement {n}: unknown status {status_text:?}")))?;
            let mut products = Vec::new();
            if let Some(Value::Array(ps)) = s.get("products") {
                for p in ps {
                    match p.get("subcomponents") {
                        Some(Value::Array(subs)) if !subs.is_empty() => {
                            products.extend(subs.iter().flat_map(product_purls))
                        }
                        _ => products.extend(product_purls(p)),
                    }
                }
            }
            let timestamp = s
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .or(doc_time);
            statements.push(VexStatement {
                vulnerability,
                products,
                status,
                justification: s
                    .get("justification")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                timestamp,
            });
        }
        Ok(VexDocument {
            path: path.to_path_buf(),
            statements,
        })
    }

    pub fn load(path: &Path) -> Result<VexDocument, SuppressError> {
        let bytes = std::fs::read(path).map_err(|source| SuppressError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        VexDocument::parse(&bytes, path)
    }
}

impl VexStatement {
    fn matches(&self, f: &Finding) -> bool {
        self.vulnerability.iter().any(|v| names_vulnerability(f, v))
            && self.products.iter().any(|p| purl_matches(p, &f.package))
    }
}

/// Why a finding was suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressedBy {
    IgnoreFile {
        id: String,
        reason: Option<String>,
    },
    Vex {
        document: PathBuf,
        status: VexStatus,
        justification: Option<String>,
    },
}

/// A finding taken out of the results, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    pub finding: Finding,
    pub by: SuppressedBy,
}

/// The outcome of [`suppress`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppressed {
    pub kept: Vec<Finding>,
    pub suppressed: Vec<Suppression>,
    /// Expired ignore entries, one message each.
    pub warnings: Vec<String>,
}

/// Applies an ignore file and VEX documents to `findings`, as of `today` (UTC).
///
/// An ignore entry suppresses a finding whose id or aliases include the entry's id, when the
/// entry's package and purl (if any) match too, until its `expires` day has passed. Among the
/// VEX statements about a finding's vulnerability and package, the latest (by timestamp,
/// then by order) decides: `not_affected` and `fixed` suppress, `affected` and
/// `under_investigation` do not.
pub fn suppress(
    findings: Vec<Finding>,
    ignore: Option<&IgnoreFile>,
    vex: &[VexDocument],
    today: Date,
) -> Suppressed {
    let mut out = Suppressed::default();
    let active: Vec<&IgnoreEntry> = match ignore {
        Some(file) => {
            for e in file.entries.iter().filter(|e| e.expired(today)) {
                out.warnings.push(format!(
                    "{}: the entry for {} expired on {}; it no longer suppresses anything",
                    file.path.display(),
                    e.id,
                    e.expires.map(|d| d.to_string()).unwrap_or_default()
                ));
            }
            file.entries.iter().filter(|e| !e.expired(today)).collect()
        }
        None => Vec::new(),
    };
    for f in findings {
        if let Some(e) = active.iter().find(|e| e.matches(&f)) {
            out.suppressed.push(Suppression {
                by: SuppressedBy::IgnoreFile {
                    id: e.id.clone(),
                    reason: e.reason.clone(),
                },
                finding: f,
            });
            continue;
        }
        let mut decisive: Option<(&VexDocument, &VexStatement)> = None;
        for doc in vex {
            for s in doc.statements.iter().filter(|s| s.matches(&f)) {
                let later = match decisive {
                    None => true,
                    Some((_, d)) => match (s.timestamp, d.timestamp) {
                        (Some(a), Some(b)) => a >= b,
                        _ => true,
                    },
                };
                if later {
                    decisive = Some((doc, s));
                }
            }
        }
        match decisive {
            Some((doc, s)) if s.status.suppresses() => out.suppressed.push(Suppression {
                by: SuppressedBy::Vex {
                    document: doc.path.clone(),
                    status: s.status,
                    justification: s.justification.clone(),
                },
                finding: f,
            }),
            _ => out.kept.push(f),
        }
    }
    out
}

/// Today's date in UTC, for [`suppress`].
pub fn today_utc() -> Date {
    let days = jiff::Timestamp::now().as_second().div_euclid(86_400);
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(jiff::civil::date(1970, 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{FixStatus, Severity, SeveritySource};

    fn finding(id: &str, aliases: &[&str], name: &str, purl: &str) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            package: Package {
                ecosystem: "Alpine".into(),
                name: name.into(),
                version: "1.1.1d-r3".into(),
                purl: purl.into(),
                source_name: Some("openssl".into()),
                ..Package::default()
            },
            severity: Severity::High,
            severity_source: SeveritySource {
                source: String::new(),
                kind: "none".into(),
                vector: None,
                score: None,
            },
            fix_status: FixStatus::Fixed,
            fixed_versions: vec![],
            summary: String::new(),
            source: "test".into(),
            references: vec![],
            ratings: Vec::new(),
            kev: None,
            epss: None,
        }
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    const SSL: &str = "pkg:apk/alpine/libssl1.1@1.1.1d-r3?arch=x86_64&distro=alpine-3.11.5";

    #[test]
    fn entry_matches_alias_and_source_package() {
        let file = IgnoreFile::parse(
            "ignore:\n  - id: CVE-1\n    package: openssl\n    reason: test\n",
            Path::new(".customsignore"),
        )
        .unwrap();
        let r = suppress(
            vec![finding("GHSA-x", &["CVE-1"], "libssl1.1", SSL)],
            Some(&file),
            &[],
            date("2026-01-01"),
        );
        assert_eq!(r.suppressed.len(), 1);
        assert!(r.kept.is_empty());
    }

    #[test]
    fn expired_entry_keeps_finding_and_warns() {
        let file = IgnoreFile::parse(
            "ignore:\n  - id: CVE-1\n    expires: 2025-12-31\n",
            Path::new("i"),
        )
        .unwrap();
        let f = vec![finding("CVE-1", &[], "libssl1.1", SSL)];
        let r = suppress(f.clone(), Some(&file), &[], date("2026-01-01"));
        assert_eq!((r.kept.len(), r.warnings.len()), (1, 1));
        // The expiry day itself still suppresses.
        let r = suppress(f, Some(&file), &[], date("2025-12-31"));
        assert_eq!((r.suppressed.len(), r.warnings.len()), (1, 0));
    }

    #[test]
    fn purl_without_qualifiers_matches_any_qualifiers_but_version_must_agree() {
        let pkg = finding("CVE-1", &[], "libssl1.1", SSL).package;
        assert!(purl_matches("pkg:apk/alpine/libssl1.1", &pkg));
        assert!(purl_matches("pkg:apk/alpine/libssl1.1@1.1.1d-r3", &pkg));
        assert!(!purl_matches("pkg:apk/alpine/libssl1.1@1.1.1d-r4", &pkg));
        assert!(purl_matches("pkg:apk/alpine/libssl1.1?arch=x86_64", &pkg));
        assert!(!purl_matches("pkg:apk/alpine/libssl1.1?arch=aarch64", &pkg));
        assert!(!purl_matches("pkg:apk/alpine/libcrypto1.1", &pkg));
    }

    #[test]
    fn unknown_keys_and_bad_dates_are_errors() {
        assert!(IgnoreFile::parse("ignore:\n  - id: X\n    pakage: y\n", Path::new("i")).is_err());
        assert!(
            IgnoreFile::parse("ignore:\n  - id: X\n    expires: soon\n", Path::new("i")).is_err()
        );
        assert!(
            IgnoreFile::parse("ignore:\n  - id: X\n    purl: npm/x\n", Path::new("i")).is_err()
        );
    }

    #[test]
    fn latest_vex_statement_wins() {
        let doc = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
          {"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:apk/alpine/libssl1.1"}],
           "status":"not_affected","justification":"vulnerable_code_not_in_execute_path",
           "timestamp":"2024-01-01T00:00:00Z"},
          {"vulnerability":{"name":"CVE-2"},"products":[{"@id":"pkg:oci/img","subcomponents":[{"@id":"pkg:apk/alpine/libssl1.1"}]}],
           "status":"fixed","timestamp":"2024-01-01T00:00:00Z"},
          {"vulnerability":{"name":"CVE-2"},"products":[{"@id":"pkg:apk/alpine/libssl1.1"}],
           "status":"affected","timestamp":"2024-02-01T00:00:00Z"}]}"#;
        let vex = VexDocument::parse(doc, Path::new("v.json")).unwrap();
        let r = suppress(
            vec![
                finding("CVE-1", &[], "libssl1.1", SSL),
                finding("GHSA-2", &["CVE-2"], "libssl1.1", SSL),
            ],
            None,
            &[vex],
            date("2026-01-01"),
        );
        assert_eq!(r.suppressed.len(), 1);
        assert_eq!(r.suppressed[0].finding.id, "CVE-1");
        assert_eq!(r.kept[0].id, "GHSA-2");
    }

    #[test]
    fn today_is_a_plausible_date() {
        assert!(today_utc() > date("2024-01-01"));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = VexDocument::parse(&bytes, Path::new("v"));
            let _ = IgnoreFile::parse(&String::from_utf8_lossy(&bytes), Path::new("i"));
        }
    }
}
