//! Suppressing findings the user has judged: an ignore file and OpenVEX documents
//! (statements whose status is `not_affected` or `fixed`). Suppressed findings are kept, with
//! the reason, so reports can count them, and every ignore entry that suppressed nothing is
//! named in a warning (cargo-deny's unused-ignore rule): a stale entry is a hole waiting for
//! the next CVE with that id.
//!
//! Three ignore-file formats are read, told apart by content:
//!
//! customs' own `.customsignore` (YAML, one entry per vulnerability, optionally narrowed to a
//! package and given an expiry date):
//!
//! ```yaml
//! ignore:
//!   - id: CVE-2020-1967          # a finding id or any of its aliases
//!     package: openssl           # optional: package name or source package name
//!     purl: pkg:apk/alpine/libssl1.1   # optional: qualifiers/version only compared if given
//!     expires: 2026-12-31        # optional: suppresses up to and including this day (UTC)
//!     reason: not reachable from our code
//! ```
//!
//! Trivy's `.trivyignore.yaml` (`vulnerabilities[]` with `id`, `paths`, `purls`, `expired_at`
//! and `statement`; the `misconfigurations`, `secrets` and `licenses` sections are accepted and
//! have nothing to suppress in a vulnerability scan):
//!
//! ```yaml
//! vulnerabilities:
//!   - id: CVE-2023-3817
//!     purls: ["pkg:deb/debian/libssl1.1"]
//!     expired_at: 2026-09-01
//!     statement: Accept the risk
//! ```
//!
//! and Trivy's plain `.trivyignore`: one id per line, `#` comments, and an optional
//! `exp:YYYY-MM-DD` after the id.

use std::path::{Path, PathBuf};

use customs_inventory::Purl;
use customs_inventory::{Package, Warning};
use jiff::civil::Date;
use serde::Deserialize;

use crate::finding::Finding;

/// Why an ignore file or VEX document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    #[error("{}: {source}", path.display())]
    /// Reading the file failed.
    Io {
        /// The file.
        path: PathBuf,
        #[source]
        /// The I/O error.
        source: std::io::Error,
    },
    #[error("ignore file {}: {reason}", path.display())]
    /// An ignore file could not be parsed.
    Ignore {
        /// The ignore file.
        path: PathBuf,
        /// What is wrong, with the line or entry.
        reason: String,
    },
    #[error("VEX document {}: {reason}", path.display())]
    /// A VEX document could not be parsed.
    Vex {
        /// The VEX document.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One `.customsignore` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    /// The vulnerability id or alias the entry ignores.
    pub id: String,
    /// The package name it is restricted to, when it is.
    pub package: Option<String>,
    /// Package URLs, any of which may match (empty: any package).
    pub purls: Vec<String>,
    /// Paths of the files a package was read from (`.trivyignore.yaml`'s `paths`), any of
    /// which may match, compared without a leading `/` (empty: any location).
    pub paths: Vec<String>,
    /// After this day (UTC) the entry no longer applies, and is warned about.
    pub expires: Option<Date>,
    /// Why the finding is ignored, as written.
    pub reason: Option<String>,
    /// Where the entry is, for warnings: `line N` (plain format) or `entry N` (YAML).
    pub position: String,
}

/// A parsed `.customsignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    /// The file read.
    pub path: PathBuf,
    /// Its entries, in file order.
    pub entries: Vec<IgnoreEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreFile {
    #[serde(default)]
    ignore: Vec<RawEntry>,
}

/// `.trivyignore.yaml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrivyFile {
    #[serde(default)]
    vulnerabilities: Option<Vec<RawTrivyEntry>>,
    #[serde(default)]
    misconfigurations: serde_norway::Value,
    #[serde(default)]
    secrets: serde_norway::Value,
    #[serde(default)]
    licenses: serde_norway::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrivyEntry {
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    purls: Vec<String>,
    #[serde(default)]
    expired_at: Option<serde_norway::Value>,
    #[serde(default)]
    statement: Option<String>,
}

/// Which format an ignore file's text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Customs,
    TrivyYaml,
    TrivyPlain,
}

/// Tells the formats apart by their first meaningful line: a top-level `ignore:` is customs',
/// `vulnerabilities:` (or another of Trivy's sections) is `.trivyignore.yaml`, anything else is
/// the plain one-id-a-line format.
fn format_of(text: &str) -> Format {
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && *l != "---");
    match first {
        Some(l) if l.starts_with("ignore:") => Format::Customs,
        Some(l)
            if [
                "vulnerabilities:",
                "misconfigurations:",
                "secrets:",
                "licenses:",
            ]
            .iter()
            .any(|k| l.starts_with(k)) =>
        {
            Format::TrivyYaml
        }
        _ => Format::TrivyPlain,
    }
}

/// A `YYYY-MM-DD` day from a YAML value (string or the YAML date scalar serde reads as one).
fn yaml_date(
    value: Option<serde_norway::Value>,
    what: &str,
    err: &dyn Fn(String) -> SuppressError,
) -> Result<Option<Date>, SuppressError> {
    match value {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(serde_norway::Value::String(s)) => {
            Ok(Some(s.trim().parse::<Date>().map_err(|x| {
                err(format!("{what}: {s:?} is not a YYYY-MM-DD date: {x}"))
            })?))
        }
        Some(other) => Err(err(format!(
            "{what} must be a YYYY-MM-DD date, not {other:?}"
        ))),
    }
}

fn check_purl(
    p: &str,
    what: &str,
    err: &dyn Fn(String) -> SuppressError,
) -> Result<(), SuppressError> {
    if Purl::parse(p).is_err() {
        return Err(err(format!("{what}: {p:?} is not a package URL")));
    }
    Ok(())
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

/// The ignore files looked for, in this order, when none is named: customs' own, then the
/// two Trivy users already have.
pub const DEFAULT_IGNOREFILES: [&str; 3] = [".customsignore", ".trivyignore.yaml", ".trivyignore"];

impl IgnoreFile {
    /// The first of [`DEFAULT_IGNOREFILES`] that is a file in `dir`, parsed; `None` when there
    /// is none.
    pub fn discover(dir: &Path) -> Result<Option<IgnoreFile>, SuppressError> {
        DEFAULT_IGNOREFILES
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
            .map(|p| IgnoreFile::load(&p))
            .transpose()
    }

    /// Parses the text of an ignore file in any of the three formats; `path` names it in
    /// errors. An empty file ignores nothing.
    pub fn parse(text: &str, path: &Path) -> Result<IgnoreFile, SuppressError> {
        let err = |reason: String| SuppressError::Ignore {
            path: path.to_path_buf(),
            reason,
        };
        let entries = match format_of(text) {
            Format::Customs => parse_customs(text, &err)?,
            Format::TrivyYaml => parse_trivy_yaml(text, &err)?,
            Format::TrivyPlain => parse_trivy_plain(text, &err)?,
        };
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

fn parse_customs(
    text: &str,
    err: &dyn Fn(String) -> SuppressError,
) -> Result<Vec<IgnoreEntry>, SuppressError> {
    let raw: RawIgnoreFile = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
    let mut entries = Vec::with_capacity(raw.ignore.len());
    for (i, e) in raw.ignore.into_iter().enumerate() {
        let n = i + 1;
        if e.id.trim().is_empty() {
            return Err(err(format!("entry {n}: id is empty")));
        }
        let what = format!("entry {n} ({})", e.id.trim());
        if let Some(p) = &e.purl {
            check_purl(p, &what, err)?;
        }
        entries.push(IgnoreEntry {
            id: e.id.trim().to_string(),
            package: e.package.filter(|p| !p.is_empty()),
            purls: e.purl.into_iter().filter(|p| !p.is_empty()).collect(),
            paths: Vec::new(),
            expires: yaml_date(e.expires, &format!("{what}: expires"), err)?,
            reason: e.reason,
            position: format!("entry {n}"),
        });
    }
    Ok(entries)
}

fn parse_trivy_yaml(
    text: &str,
    err: &dyn Fn(String) -> SuppressError,
) -> Result<Vec<IgnoreEntry>, SuppressError> {
    let raw: RawTrivyFile = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
    let _ = (&raw.misconfigurations, &raw.secrets, &raw.licenses);
    let mut entries = Vec::new();
    for (i, e) in raw
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let n = i + 1;
        if e.id.trim().is_empty() {
            return Err(err(format!("vulnerabilities entry {n}: id is empty")));
        }
        let what = format!("vulnerabilities entry {n} ({})", e.id.trim());
        for p in &e.purls {
            check_purl(p, &what, err)?;
        }
        entries.push(IgnoreEntry {
            id: e.id.trim().to_string(),
            package: None,
            purls: e.purls,
            paths: e
                .paths
                .iter()
                .map(|p| p.trim_start_matches('/').to_string())
                .collect(),
            expires: yaml_date(e.expired_at, &format!("{what}: expired_at"), err)?,
            reason: e.statement,
            position: format!("entry {n}"),
        });
    }
    Ok(entries)
}

/// `.trivyignore`: `ID [exp:YYYY-MM-DD]` a line; `#` starts a comment anywhere on a line.
fn parse_trivy_plain(
    text: &str,
    err: &dyn Fn(String) -> SuppressError,
) -> Result<Vec<IgnoreEntry>, SuppressError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let id = fields.next().unwrap_or_default();
        let mut expires = None;
        for field in fields {
            let Some(day) = field.strip_prefix("exp:") else {
                return Err(err(format!(
                    "line {n}: {field:?} after the id is not exp:YYYY-MM-DD"
                )));
            };
            expires = Some(day.parse::<Date>().map_err(|x| {
                err(format!(
                    "line {n} ({id}): {day:?} is not a YYYY-MM-DD date: {x}"
                ))
            })?);
        }
        entries.push(IgnoreEntry {
            id: id.to_string(),
            package: None,
            purls: Vec::new(),
            paths: Vec::new(),
            expires,
            reason: None,
            position: format!("line {n}"),
        });
    }
    Ok(entries)
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
        if !self.purls.is_empty() && !self.purls.iter().any(|p| purl_matches(p, &f.package)) {
            return false;
        }
        if !self.paths.is_empty()
            && !f.package.locations.iter().any(|l| {
                let l = l.trim_start_matches('/');
                self.paths.iter().any(|p| p == l)
            })
        {
            return false;
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
    let (Ok(want), Some(have)) = (Purl::parse(pattern), pkg.purl.as_ref()) else {
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
    if norm(&want) != norm(have) {
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
    /// The product is not affected (suppresses the finding).
    NotAffected,
    /// The product is affected (keeps the finding).
    Affected,
    /// The product has been fixed (suppresses the finding).
    Fixed,
    /// Still being looked at (keeps the finding).
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

    /// The OpenVEX spelling (`not_affected`).
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
    /// What the statement says about the product.
    pub status: VexStatus,
    /// Why it is not affected, as written (`vulnerable_code_not_present`).
    pub justification: Option<String>,
    /// RFC 3339 text; a later statement about the same pair overrides an earlier one.
    pub timestamp: Option<jiff::Timestamp>,
}

/// A parsed OpenVEX document (v0.0.1 or v0.2.0 JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexDocument {
    /// The document read.
    pub path: PathBuf,
    /// Its statements, in document order.
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

    /// Reads and parses the OpenVEX document at `path`.
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
    /// An ignore-file entry matched it.
    IgnoreFile {
        /// The entry's vulnerability id.
        id: String,
        /// The entry's reason.
        reason: Option<String>,
    },
    /// A VEX statement said `not_affected` or `fixed`.
    Vex {
        /// The VEX document.
        document: PathBuf,
        /// The statement's status.
        status: VexStatus,
        /// The statement's justification.
        justification: Option<String>,
    },
}

/// A finding taken out of the results, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SuppressedFinding {
    /// The finding.
    pub finding: Finding,
    /// What suppressed it.
    pub by: SuppressedBy,
}

/// The outcome of [`suppress`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppressed {
    /// Findings not suppressed, in their original order.
    pub kept: Vec<Finding>,
    /// Findings suppressed, in their original order.
    pub suppressed: Vec<SuppressedFinding>,
    /// Expired ignore entries and entries that suppressed nothing, one warning each, with
    /// the ignore file as the path.
    pub warnings: Vec<Warning>,
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
    let warn = |file: &IgnoreFile, message: String| Warning {
        path: file.path.display().to_string(),
        layer: None,
        message,
    };
    let active: Vec<&IgnoreEntry> = match ignore {
        Some(file) => {
            for e in file.entries.iter().filter(|e| e.expired(today)) {
                out.warnings.push(warn(
                    file,
                    format!(
                        "the entry for {} ({}) expired on {}; it no longer suppresses anything",
                        e.id,
                        e.position,
                        e.expires.map(|d| d.to_string()).unwrap_or_default()
                    ),
                ));
            }
            file.entries.iter().filter(|e| !e.expired(today)).collect()
        }
        None => Vec::new(),
    };
    let mut used = vec![false; active.len()];
    for f in findings {
        if let Some(i) = active.iter().position(|e| e.matches(&f)) {
            used[i] = true;
            let e = active[i];
            out.suppressed.push(SuppressedFinding {
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
            Some((doc, s)) if s.status.suppresses() => out.suppressed.push(SuppressedFinding {
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
    if let Some(file) = ignore {
        for (e, _) in active.iter().zip(&used).filter(|(_, used)| !**used) {
            out.warnings.push(warn(
                file,
                format!(
                    "the entry for {} ({}) matched no finding; remove it, or it will silently suppress the next finding with that id",
                    e.id, e.position
                ),
            ));
        }
    }
    out
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
                purl: customs_inventory::Purl::parse(purl).ok(),
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
    fn trivy_plain_format_reads_ids_comments_and_expiry() {
        let file = IgnoreFile::parse(
            "# accepted\nCVE-1\n\nCVE-2 exp:2025-12-31  # past\nGHSA-x # trailing\n",
            Path::new(".trivyignore"),
        )
        .unwrap();
        let ids: Vec<_> = file.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["CVE-1", "CVE-2", "GHSA-x"]);
        assert_eq!(file.entries[1].expires, Some(date("2025-12-31")));
        assert_eq!(file.entries[1].position, "line 4");
        let r = suppress(
            vec![
                finding("GHSA-1", &["CVE-1"], "libssl1.1", SSL),
                finding("CVE-2", &[], "libssl1.1", SSL),
            ],
            Some(&file),
            &[],
            date("2026-01-01"),
        );
        assert_eq!((r.suppressed.len(), r.kept.len()), (1, 1));
        // CVE-2 expired; GHSA-x matched nothing: one warning each, naming the file.
        let messages: Vec<_> = r.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("CVE-2 (line 4) expired on 2025-12-31"));
        assert!(messages[1].contains("GHSA-x (line 5) matched no finding"));
        assert!(r.warnings.iter().all(|w| w.path == ".trivyignore"));
        assert!(IgnoreFile::parse("CVE-1 until:2025-01-01\n", Path::new("t")).is_err());
        assert!(IgnoreFile::parse("CVE-1 exp:someday\n", Path::new("t")).is_err());
    }

    #[test]
    fn trivy_yaml_format_reads_purls_paths_and_expired_at() {
        let text = "vulnerabilities:\n  - id: CVE-1\n    purls:\n      - pkg:apk/alpine/libssl1.1\n    statement: accepted\n  - id: CVE-2\n    paths: [\"/lib/apk/db/installed\"]\n  - id: CVE-3\n    expired_at: 2025-01-01\nmisconfigurations:\n  - id: AVD-DS-0002\nsecrets:\nlicenses:\n";
        let file = IgnoreFile::parse(text, Path::new(".trivyignore.yaml")).unwrap();
        assert_eq!(file.entries.len(), 3);
        assert_eq!(file.entries[0].reason.as_deref(), Some("accepted"));
        assert_eq!(file.entries[1].paths, ["lib/apk/db/installed"]);
        let mut in_db = finding("CVE-2", &[], "libssl1.1", SSL);
        in_db.package.locations = vec!["/lib/apk/db/installed".into()];
        let mut elsewhere = finding("CVE-2", &[], "libssl1.1", SSL);
        elsewhere.package.locations = vec!["/usr/lib/other".into()];
        let r = suppress(
            vec![
                finding("CVE-1", &[], "libssl1.1", SSL),
                finding(
                    "CVE-1",
                    &[],
                    "libcrypto1.1",
                    "pkg:apk/alpine/libcrypto1.1@1",
                ),
                in_db,
                elsewhere,
            ],
            Some(&file),
            &[],
            date("2026-01-01"),
        );
        assert_eq!(r.suppressed.len(), 2);
        assert_eq!(r.kept.len(), 2);
        assert_eq!(
            r.warnings.len(),
            1,
            "only the expired CVE-3: {:?}",
            r.warnings
        );
        for bad in [
            "vulnerabilities:\n  - id: X\n    purls: [npm/x]\n",
            "vulnerabilities:\n  - id: X\n    expired_at: soon\n",
            "vulnerabilities:\n  - id: X\n    path: a\n",
            "vulnerabilities:\n  - id: \"\"\n",
        ] {
            assert!(
                IgnoreFile::parse(bad, Path::new("t.yaml")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unused_customs_entries_warn_and_used_ones_do_not() {
        let file = IgnoreFile::parse(
            "ignore:\n  - id: CVE-1\n  - id: CVE-9\n    reason: gone since the base bump\n",
            Path::new(".customsignore"),
        )
        .unwrap();
        let r = suppress(
            vec![finding("CVE-1", &[], "libssl1.1", SSL)],
            Some(&file),
            &[],
            date("2026-01-01"),
        );
        assert_eq!(r.suppressed.len(), 1);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0]
            .message
            .contains("CVE-9 (entry 2) matched no finding"));
    }

    #[test]
    fn discover_prefers_customs_then_trivy_yaml_then_plain() {
        let dir = tempfile::tempdir().unwrap();
        assert!(IgnoreFile::discover(dir.path()).unwrap().is_none());
        std::fs::write(dir.path().join(".trivyignore"), "CVE-3\n").unwrap();
        assert_eq!(
            IgnoreFile::discover(dir.path()).unwrap().unwrap().entries[0].id,
            "CVE-3"
        );
        std::fs::write(
            dir.path().join(".trivyignore.yaml"),
            "vulnerabilities:\n  - id: CVE-2\n",
        )
        .unwrap();
        assert_eq!(
            IgnoreFile::discover(dir.path()).unwrap().unwrap().entries[0].id,
            "CVE-2"
        );
        std::fs::write(
            dir.path().join(".customsignore"),
            "ignore:\n  - id: CVE-1\n",
        )
        .unwrap();
        assert_eq!(
            IgnoreFile::discover(dir.path()).unwrap().unwrap().entries[0].id,
            "CVE-1"
        );
        std::fs::write(dir.path().join(".customsignore"), "ignore: [").unwrap();
        assert!(
            IgnoreFile::discover(dir.path()).is_err(),
            "a broken file is an error, not skipped"
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = VexDocument::parse(&bytes, Path::new("v"));
            let _ = IgnoreFile::parse(&String::from_utf8_lossy(&bytes), Path::new("i"));
        }
    }
}
