//! SARIF 2.1.0: a general builder ([`build`]) from rules and results, used for vulnerability
//! findings here ([`scan`]) and by `customs audit` for its checks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use customs_vulndb::{Finding, FixStatus, Severity};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ids, DocumentInfo, ReportError, Scan, TOOL_NAME, TOOL_URI};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The analysis tool, for `runs[0].tool.driver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// Tool name (`customs`).
    pub name: String,
    /// Tool version.
    pub version: String,
    /// Where to read about the tool.
    pub information_uri: String,
}

impl Tool {
    /// customs itself at the given version.
    pub fn customs(version: &str) -> Self {
        Tool {
            name: TOOL_NAME.to_string(),
            version: version.to_string(),
            information_uri: TOOL_URI.to_string(),
        }
    }
}

/// One kind of problem: a vulnerability id, or an audit check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    /// Stable id that results refer to (`CVE-2024-1234`, `CUSTOMS-A001`).
    pub id: String,
    /// Short readable name (`RunsAsRoot`); optional.
    pub name: Option<String>,
    /// One-line description.
    pub short_description: String,
    /// Longer description, when there is more to say.
    pub full_description: Option<String>,
    /// Plain-text help: what it means and what to do.
    pub help: String,
    /// A page with more help.
    pub help_uri: Option<String>,
    /// CVSS-like 0.0–10.0 score, written as `properties.security-severity` (a string, as
    /// GitHub code scanning expects).
    pub security_severity: Option<f64>,
    /// Tags such as `security`, `vulnerability`.
    pub tags: Vec<String>,
}

/// SARIF result level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No level.
    None,
    /// Informational.
    Note,
    /// Worth fixing.
    Warning,
    /// Must be fixed.
    Error,
}

impl Level {
    /// Critical and high are errors, medium a warning, low and unknown notes.
    pub fn from_severity(severity: Severity) -> Self {
        match severity {
            Severity::Critical | Severity::High => Level::Error,
            Severity::Medium => Level::Warning,
            Severity::Low | Severity::Info | Severity::Unknown => Level::Note,
        }
    }
}

/// Something that is not a file: the image, a config field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogicalLocation {
    /// Short name (`docker.io/library/alpine:3.20`).
    pub name: String,
    /// Name that identifies it fully (`…@sha256:…`).
    pub fully_qualified_name: Option<String>,
    /// SARIF's open list: `module`, `resource`, `object`, ...
    pub kind: Option<String>,
}

/// One occurrence of a rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SarifResult {
    /// Id of the [`Rule`] this is an occurrence of.
    pub rule_id: String,
    /// Level; when `None`, consumers apply the SARIF default (`warning`).
    pub level: Option<Level>,
    /// What was found, in one or two sentences.
    pub message: String,
    /// A file path (inside the image, or of a Dockerfile); a leading `/` is dropped so that it
    /// is a relative reference, as code-scanning tools want.
    pub path: Option<String>,
    /// 1-based line in `path`.
    pub line: Option<u64>,
    /// Non-file locations, such as the image.
    pub logical_locations: Vec<LogicalLocation>,
    /// A stable hash identifying this result across runs (`partialFingerprints`).
    pub fingerprint: Option<String>,
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    tool: ToolView<'a>,
    results: Vec<ResultView<'a>>,
}

#[derive(Serialize)]
struct ToolView<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    information_uri: &'a str,
    rules: Vec<RuleView<'a>>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleView<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    short_description: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text<'a>>,
    help: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultView<'a> {
    rule_id: &'a str,
    rule_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<Level>,
    message: Text<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<LocationView<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalView<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fully_qualified_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
}

/// A SARIF 2.1.0 log with one run. Rules are written sorted by id (a repeated id keeps its first
/// definition); results keep the caller's order and point at their rule by index. A result whose
/// rule is not among `rules` gets a bare rule with that id, so the log stays consistent.
pub fn build(tool: &Tool, rules: &[Rule], results: &[SarifResult]) -> Result<String, ReportError> {
    let mut by_id: BTreeMap<&str, &Rule> = BTreeMap::new();
    for rule in rules {
        by_id.entry(rule.id.as_str()).or_insert(rule);
    }
    let bare: Vec<Rule> = results
        .iter()
        .filter(|r| !by_id.contains_key(r.rule_id.as_str()))
        .map(|r| Rule {
            id: r.rule_id.clone(),
            short_description: r.rule_id.clone(),
            help: r.rule_id.clone(),
            ..Rule::default()
        })
        .collect();
    for rule in &bare {
        by_id.entry(rule.id.as_str()).or_insert(rule);
    }
    let index: BTreeMap<&str, usize> = by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rule_views = by_id
        .values()
        .map(|rule| RuleView {
            id: &rule.id,
            name: rule.name.as_deref(),
            short_description: Text {
                text: &rule.short_description,
            },
            full_description: rule.full_description.as_deref().map(|text| Text { text }),
            help: Text { text: &rule.help },
            help_uri: rule.help_uri.as_deref(),
            properties: RuleProperties {
                security_severity: rule
                    .security_severity
                    .filter(|s| s.is_finite())
                    .map(|s| format!("{:.1}", s.clamp(0.0, 10.0))),
                tags: &rule.tags,
            },
        })
        .collect();
    let result_views = results
        .iter()
        .map(|r| {
            let physical = r.path.as_deref().map(|path| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: percent_encode(path.trim_start_matches('/'), true),
                },
                region: r
                    .line
                    .filter(|l| *l > 0)
                    .map(|start_line| Region { start_line }),
            });
            let logical: Vec<LogicalView> = r
                .logical_locations
                .iter()
                .map(|l| LogicalView {
                    name: &l.name,
                    fully_qualified_name: l.fully_qualified_name.as_deref(),
                    kind: l.kind.as_deref(),
                })
                .collect();
            let locations = if physical.is_none() && logical.is_empty() {
                Vec::new()
            } else {
                vec![LocationView {
                    physical_location: physical,
                    logical_locations: logical,
                }]
            };
            let mut partial_fingerprints = BTreeMap::new();
            if let Some(fp) = &r.fingerprint {
                partial_fingerprints.insert("customs/v1", fp.as_str());
            }
            ResultView {
                rule_id: &r.rule_id,
                rule_index: index[r.rule_id.as_str()],
                level: r.level,
                message: Text { text: &r.message },
                locations,
                partial_fingerprints,
            }
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: ToolView {
                driver: Driver {
                    name: &tool.name,
                    version: &tool.version,
                    information_uri: &tool.information_uri,
                    rules: rule_views,
                },
            },
            results: result_views,
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).map_err(|source| ReportError::Serialise {
        format: "SARIF",
        source,
    })?;
    out.push('\n');
    Ok(out)
}

/// Score used for `security-severity` when no CVSS score is known: the middle of each band
/// that GitHub uses to bucket the number back into a severity.
fn default_score(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Info | Severity::Unknown => 0.0,
    }
}

fn finding_score(f: &Finding) -> f64 {
    f.severity_source
        .score
        .filter(|s| s.is_finite())
        .unwrap_or_else(|| default_score(f.severity))
}

fn rule_for(id: &str, group: &[&Finding]) -> Rule {
    let worst = group.iter().max_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(finding_score(a).total_cmp(&finding_score(b)))
    });
    let summary = group
        .iter()
        .map(|f| f.summary.as_str())
        .find(|s| !s.is_empty());
    let mut aliases: Vec<&str> = group
        .iter()
        .flat_map(|f| f.aliases.iter().map(String::as_str))
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    let mut references: Vec<&str> = group
        .iter()
        .flat_map(|f| f.references.iter().map(String::as_str))
        .collect();
    references.sort_unstable();
    references.dedup();
    let severity = worst.map_or(Severity::Unknown, |f| f.severity);
    let mut help = format!("Vulnerability {id}\nSeverity: {}", severity.as_str());
    if !aliases.is_empty() {
        let _ = write!(help, "\nAliases: {}", aliases.join(", "));
    }
    let kev = group.iter().find_map(|f| f.kev.as_ref());
    if let Some(k) = kev {
        let _ = write!(
            help,
            "\nKnown exploited: CISA KEV, added {}, due {}",
            k.date_added, k.due_date
        );
    }
    let epss = group
        .iter()
        .filter_map(|f| f.epss.as_ref())
        .filter(|e| e.score.is_finite())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    if let Some(e) = epss {
        let _ = write!(
            help,
            "\nEPSS: {:.5} (percentile {:.5})",
            e.score, e.percentile
        );
    }
    if let Some(summary) = summary {
        let _ = write!(help, "\n\n{summary}");
    }
    for reference in &references {
        let _ = write!(help, "\n{reference}");
    }
    Rule {
        id: id.to_string(),
        name: None,
        short_description: summary.unwrap_or(id).to_string(),
        full_description: summary.map(str::to_string),
        help,
        help_uri: references.first().map(|r| r.to_string()),
        security_severity: worst.map(|f| finding_score(f)),
        tags: {
            let mut tags: Vec<String> = vec![
                "security".into(),
                "vulnerability".into(),
                severity.as_str().into(),
            ];
            if kev.is_some() {
                tags.push("known-exploited".into());
            }
            if let Some(e) = epss {
                tags.push(format!("epss:{:.5}", e.score));
            }
            tags
        },
    }
}

/// Vulnerability findings as SARIF: one rule per vulnerability id, one result per finding,
/// located at the package's first file inside the image and logically at the image.
pub fn scan(scan: &Scan<'_>, info: &DocumentInfo) -> Result<String, ReportError> {
    let findings = ids::sorted_findings(scan.findings);
    let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        groups.entry(f.id.as_str()).or_default().push(f);
    }
    let rules: Vec<Rule> = groups
        .iter()
        .map(|(id, group)| rule_for(id, group))
        .collect();
    let subject = scan.subject;
    let image = LogicalLocation {
        name: subject.name.clone(),
        fully_qualified_name: Some(format!("{}@{}", subject.name, subject.digest())),
        kind: Some("module".into()),
    };
    let results: Vec<SarifResult> = findings
        .iter()
        .map(|f| {
            let p = &f.package;
            let mut message = format!(
                "Package {} {} ({}) is affected by {} ({}).",
                p.name,
                p.version,
                p.ecosystem,
                f.id,
                f.severity.as_str()
            );
            match (f.fix_status, f.fixed_versions.first()) {
                (FixStatus::Fixed, Some(v)) => {
                    let _ = write!(message, " Fixed in {v}.");
                }
                _ => message.push_str(" No fixed version is known."),
            }
            let mut hash = Sha256::new();
            hash.update(f.id.as_bytes());
            hash.update([0]);
            hash.update(ids::fingerprint(p));
            SarifResult {
                rule_id: f.id.clone(),
                level: Some(Level::from_severity(f.severity)),
                message,
                // Packages without a file (rare) are located at the image name.
                path: Some(
                    p.locations
                        .first()
                        .cloned()
                        .unwrap_or_else(|| subject.name.clone()),
                ),
                line: None,
                logical_locations: vec![image.clone()],
                fingerprint: Some(hex::encode(hash.finalize())),
            }
        })
        .collect();
    build(&Tool::customs(&info.tool_version), &rules, &results)
}

/// Percent-encodes a path for a SARIF artifact URI: everything but RFC 3986 unreserved
/// characters (and `/` when `keep_slash`).
fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && byte == b'/');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
