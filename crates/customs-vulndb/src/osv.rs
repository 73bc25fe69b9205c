//! OSV JSON records (one object, or an array of them) converted to the internal [`Advisory`]
//! form, one entry per (ecosystem, package) the record affects.

use crate::advisory::{Advisory, Affected, Event, Range, RangeKind, SeverityEntry};
use crate::ecosystem::key_name;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One advisory keyed by the package it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    /// The OSV ecosystem the advisory is filed under (`PyPI`, `Debian:12`).
    pub ecosystem: String,
    /// The package name, normalised as the ecosystem compares names.
    pub name: String,
    /// The advisory, restricted to this package.
    pub advisory: Advisory,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(default)]
    url: Option<String>,
}

/// What one OSV document contributed.
#[derive(Debug, Default)]
pub struct Parsed {
    /// One entry per (package, advisory) the document affects.
    pub keyed: Vec<Keyed>,
    /// Records read (withdrawn ones included).
    pub records: usize,
    /// Withdrawn records, which are dropped.
    pub withdrawn: usize,
    /// `modified` of each accepted record.
    pub modified: Vec<String>,
}

/// Parses one OSV JSON document: a record or an array of records. An element of an array
/// that is not a valid record is reported in `warnings` and skipped.
pub fn parse_document(
    bytes: &[u8],
    origin: &str,
    warnings: &mut Vec<String>,
) -> Result<Parsed, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut parsed = Parsed::default();
    match value {
        serde_json::Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                match serde_json::from_value::<Record>(item) {
                    Ok(r) => add_record(r, &mut parsed),
                    Err(e) => {
                        warnings.push(format!("{origin}[{i}]: malformed OSV record skipped: {e}"))
                    }
                }
            }
        }
        other => {
            let record: Record = serde_json::from_value(other).map_err(|e| e.to_string())?;
            add_record(record, &mut parsed);
        }
    }
    Ok(parsed)
}

/// The rating a database or vendor wrote as a word: GHSA's `severity`, the Debian tracker's
/// `urgency` (as osv.dev's Debian converter writes it), Ubuntu's `ubuntu_priority`.
fn severity_label(ds: Option<&serde_json::Value>) -> Option<String> {
    let ds = ds?;
    ["severity", "urgency", "ubuntu_priority"]
        .iter()
        .find_map(|k| ds.get(*k)?.as_str())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Keeps the first of each id (OSV aliases can repeat: GO-2025-4010 lists one CVE twice).
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.trim().to_string();
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn convert_severity(raw: Option<Vec<RawSeverity>>) -> Vec<SeverityEntry> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|s| SeverityEntry {
            kind: s.kind,
            score: s.score,
        })
        .collect()
}

fn summary_of(summary: Option<String>, details: Option<String>) -> String {
    if let Some(s) = summary
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    {
        return s;
    }
    let details = details.unwrap_or_default();
    let line = details
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

fn add_record(r: Record, parsed: &mut Parsed) {
    parsed.records += 1;
    if r.withdrawn.as_deref().is_some_and(|w| !w.is_empty()) {
        parsed.withdrawn += 1;
        return;
    }
    let modified = r.modified.unwrap_or_default();
    parsed.modified.push(modified.clone());
    let template = Advisory {
        id: r.id,
        aliases: dedup(r.aliases.unwrap_or_default()),
        upstream: dedup(r.upstream.unwrap_or_default()),
        summary: summary_of(r.summary, r.details),
        modified,
        withdrawn: None,
        severity: convert_severity(r.severity),
        ecosystem_severity: severity_label(r.database_specific.as_ref()),
        references: r
            .references
            .unwrap_or_default()
            .into_iter()
            .filter_map(|x| x.url)
            .collect(),
        source: String::new(),
        affected: Vec::new(),
    };
    // Group the record's affected entries by package, keeping their order.
    let mut by_package: Vec<((String, String), Vec<Affected>)> = Vec::new();
    for a in r.affected.unwrap_or_default() {
        let Some(pkg) = a.package.as_ref() else {
            continue;
        };
        if pkg.ecosystem.is_empty() || pkg.name.is_empty() {
            continue;
        }
        let key = (pkg.ecosystem.clone(), key_name(&pkg.ecosystem, &pkg.name));
        let affected = convert_affected(a);
        match by_package.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(affected),
            None => by_package.push((key, vec![affected])),
        }
    }
    for ((ecosystem, name), affected) in by_package {
        let mut advisory = template.clone();
        advisory.source = format!("osv:{}", ecosystem.split(':').next().unwrap_or(&ecosystem));
        advisory.affected = affected;
        parsed.keyed.push(Keyed {
            ecosystem,
            name,
            advisory,
        });
    }
}

fn convert_affected(a: RawAffected) -> Affected {
    let mut ranges = Vec::new();
    for r in a.ranges.unwrap_or_default() {
        let kind = match r.kind.as_str() {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            _ => continue, // GIT ranges name commits, not versions.
        };
        let mut events = Vec::new();
        for e in r.events {
            for (k, v) in e {
                let event = match k.as_str() {
                    "introduced" => Event::Introduced(v),
                    "fixed" => Event::Fixed(v),
                    "last_affected" => Event::LastAffected(v),
                    "limit" => Event::Limit(v),
                    _ => continue,
                };
                events.push(event);
            }
        }
        if !events.is_empty() {
            ranges.push(Range { kind, events });
        }
    }
    let ecosystem_severity = severity_label(a.database_specific.as_ref())
        .or_else(|| severity_label(a.ecosystem_specific.as_ref()));
    Affected {
        ranges,
        versions: a.versions.unwrap_or_default(),
        severity: convert_severity(a.severity),
        ecosystem_severity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_affecting_two_packages_gives_two_keys() {
        let doc = br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-1"],
          "affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},
                        "ranges":[{"type":"GIT","events":[{"introduced":"abc"}]},
                                  {"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]},
                      {"package":{"ecosystem":"npm","name":"foo"},"versions":["1.0.0"]}]}"#;
        let mut w = Vec::new();
        let p = parse_document(doc, "t", &mut w).unwrap();
        assert_eq!(p.keyed.len(), 2);
        assert_eq!(p.keyed[0].name, "foo-bar");
        assert_eq!(p.keyed[0].advisory.affected[0].ranges.len(), 1);
        assert_eq!(p.keyed[0].advisory.source, "osv:PyPI");
        assert_eq!(
            p.keyed[1].advisory.affected[0].versions,
            vec!["1.0.0".to_string()]
        );
    }

    #[test]
    fn withdrawn_record_is_counted_not_kept() {
        let doc = br#"{"id":"X-2","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"}}]}"#;
        let p = parse_document(doc, "t", &mut Vec::new()).unwrap();
        assert_eq!((p.records, p.withdrawn, p.keyed.len()), (1, 1, 0));
    }

    #[test]
    fn record_without_id_is_an_error() {
        assert!(parse_document(br#"{"affected":[]}"#, "t", &mut Vec::new()).is_err());
    }
}
