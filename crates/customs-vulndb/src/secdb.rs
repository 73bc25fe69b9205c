//! Alpine secdb documents (YAML as in alpinelinux/alpine-secdb, or JSON as served by Alpine,
//! Wolfi and Chainguard) converted to the internal [`Advisory`] form.
//!
//! Semantics: `secfixes` maps an apk version to the issues fixed in it, so an issue listed
//! under `1.1.22-r3` affects every version below that. Issues listed under the version `0`
//! never affected the package and produce no advisory.
//!
//! An issue listed under several versions was fixed on several version lines: busybox's
//! CVE-2019-5747 under both `1.29.3-r10` and `1.30.1-r2` means the 1.29 line got the fix in
//! `-r10` and the 1.30 line only in `-r2`. Each listed fix is its own `< fixed` constraint
//! over its own line: the lowest fix covers everything below it, and every other fix `F`
//! covers `[line(F), F)`, where `line(F)` is `F`'s numeric version without its last
//! component (`1.30.1-r2` → `1.30`). So `1.30.1-r1` is affected and reports `1.30.1-r2`,
//! while `1.29.3-r10` is fixed. This is Grype's reading (each fix a constraint), bounded to
//! the fix's own line so a fixed older line is not reported.

use crate::advisory::{Advisory, Affected, Event, Range, RangeKind};
use crate::osv::Keyed;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    distroversion: Option<String>,
    #[serde(default)]
    reponame: Option<String>,
    #[serde(default)]
    urlprefix: Option<String>,
    #[serde(default)]
    apkurl: Option<String>,
    #[serde(default)]
    packages: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct PackageWrap {
    pkg: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<VersionKey, Option<Vec<Option<String>>>>>,
}

/// A secfixes key: YAML may type `0` as a number.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct VersionKey(String);

impl<'de> Deserialize<'de> for VersionKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = VersionKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a version")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<VersionKey, E> {
                Ok(VersionKey(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<VersionKey, E> {
                Ok(VersionKey(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<VersionKey, E> {
                Ok(VersionKey(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<VersionKey, E> {
                Ok(VersionKey(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// What one secdb document contributed.
#[derive(Debug, Default)]
pub struct Parsed {
    /// One entry per (package, advisory) the document lists.
    pub keyed: Vec<Keyed>,
    /// Package entries read.
    pub records: usize,
    /// Issues listed under version `0` (not affected).
    pub not_affected: usize,
    /// The ecosystem the entries are filed under (`Alpine:v3.11`).
    pub ecosystem: String,
    /// `alpine-secdb:v3.11/main`.
    pub source: String,
}

/// Parses a secdb document. `ecosystem` overrides the one derived from `distroversion`
/// (`v3.11` gives `Alpine:v3.11`) or from the URL prefix (Wolfi, Chainguard). A malformed
/// package entry is reported in `warnings` and skipped.
pub fn parse_document(
    bytes: &[u8],
    origin: &str,
    ecosystem: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Parsed, String> {
    let json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let doc: Document = if json {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?
    } else {
        serde_norway::from_slice(bytes).map_err(|e| e.to_string())?
    };
    let hint = format!(
        "{} {}",
        doc.urlprefix.as_deref().unwrap_or(""),
        doc.apkurl.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    let (ecosystem, family) = match (ecosystem, doc.distroversion.as_deref()) {
        (Some(e), _) => (
            e.to_string(),
            e.split(':').next().unwrap_or(e).to_ascii_lowercase(),
        ),
        (None, Some(v)) if hint.contains("wolfi") => (format!("Wolfi:{v}"), "wolfi".into()),
        (None, Some(v)) if !v.is_empty() => (format!("Alpine:{v}"), "alpine".into()),
        (None, _) if hint.contains("wolfi") => ("Wolfi".into(), "wolfi".into()),
        (None, _) if hint.contains("chainguard") || hint.contains("cgr.dev") => {
            ("Chainguard".into(), "chainguard".into())
        }
        _ => {
            return Err(
                "secdb document names no distroversion; give the ecosystem explicitly".into(),
            )
        }
    };
    let branch = ecosystem.split_once(':').map(|(_, b)| b.to_string());
    let repo = doc.reponame.clone().unwrap_or_default();
    let source = match (&branch, repo.is_empty()) {
        (Some(b), false) => format!("{family}-secdb:{b}/{repo}"),
        (Some(b), true) => format!("{family}-secdb:{b}"),
        (None, false) => format!("{family}-secdb:{repo}"),
        (None, true) => format!("{family}-secdb"),
    };
    let mut parsed = Parsed {
        ecosystem: ecosystem.clone(),
        source: source.clone(),
        ..Default::default()
    };
    for (i, value) in doc.packages.into_iter().enumerate() {
        let pkg = match serde_json::from_value::<PackageWrap>(value) {
            Ok(p) => p.pkg,
            Err(e) => {
                warnings.push(format!(
                    "{origin}: package entry {i} malformed, skipped: {e}"
                ));
                continue;
            }
        };
        parsed.records += 1;
        // id -> (aliases, fixed versions), ordered by id for a stable result.
        let mut issues: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (VersionKey(version), ids) in pkg.secfixes.unwrap_or_default() {
            let version = version.trim().to_string();
            for item in ids.unwrap_or_default().into_iter().flatten() {
                let mut words = item.split_whitespace();
                let Some(id) = words.next() else { continue };
                if version == "0" {
                    parsed.not_affected += 1;
                    continue;
                }
                let entry = issues.entry(id.to_string()).or_default();
                for alias in words {
                    if !entry.0.iter().any(|a| a == alias) {
                        entry.0.push(alias.to_string());
                    }
                }
                if !entry.1.contains(&version) {
                    entry.1.push(version.clone());
                }
            }
        }
        for (id, (aliases, fixed)) in issues {
            let ranges = fix_ranges(fixed);
            let advisory = Advisory {
                id,
                aliases,
                upstream: Vec::new(),
                summary: String::new(),
                modified: String::new(),
                withdrawn: None,
                severity: Vec::new(),
                ecosystem_severity: None,
                references: Vec::new(),
                source: source.clone(),
                affected: vec![Affected {
                    ranges,
                    ..Default::default()
                }],
            };
            parsed.keyed.push(Keyed {
                ecosystem: ecosystem.clone(),
                name: pkg.name.clone(),
                advisory,
            });
        }
    }
    Ok(parsed)
}

/// One range per listed fix, as the module doc says. The lowest fix (by apk order) opens at
/// `0`; the others at the start of their own version line.
fn fix_ranges(mut fixed: Vec<String>) -> Vec<Range> {
    let apk = customs_version::Scheme::Apk;
    fixed.sort_by(|a, b| customs_version::compare(apk, a, b).unwrap_or_else(|| a.cmp(b)));
    fixed
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let introduced = match (i, version_line(&f)) {
                (0, _) | (_, None) => "0".to_string(),
                (_, Some(line)) => line,
            };
            Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced(introduced), Event::Fixed(f)],
            }
        })
        .collect()
}

/// `1.30.1-r2` → `1.30`; `20191127-r2` → `20191127`; `None` when the version does not start
/// with a number.
fn version_line(v: &str) -> Option<String> {
    let numeric: &str = &v[..v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len())];
    let numeric = numeric.trim_end_matches('.');
    if numeric.is_empty() {
        return None;
    }
    Some(match numeric.rsplit_once('.') {
        Some((line, _)) if !line.is_empty() => line.to_string(),
        _ => numeric.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_secfixes_become_fixed_ranges_and_zero_means_not_affected() {
        let doc = br#"---
distroversion: v3.11
reponame: main
packages:
  - pkg:
      name: openssl
      secfixes:
        1.1.1d-r2:
          - CVE-2019-1551 TALOS-1
        0:
          - CVE-2000-1
"#;
        let mut w = Vec::new();
        let p = parse_document(doc, "t", None, &mut w).unwrap();
        assert_eq!(p.ecosystem, "Alpine:v3.11");
        assert_eq!(p.source, "alpine-secdb:v3.11/main");
        assert_eq!(p.not_affected, 1);
        assert_eq!(p.keyed.len(), 1);
        let a = &p.keyed[0].advisory;
        assert_eq!(
            (a.id.as_str(), a.aliases.clone()),
            ("CVE-2019-1551", vec!["TALOS-1".to_string()])
        );
        assert_eq!(
            a.affected[0].ranges[0].events,
            vec![
                Event::Introduced("0".into()),
                Event::Fixed("1.1.1d-r2".into())
            ]
        );
    }

    #[test]
    fn each_listed_fix_bounds_its_own_line() {
        assert_eq!(version_line("1.30.1-r2").as_deref(), Some("1.30"));
        assert_eq!(version_line("20191127-r2").as_deref(), Some("20191127"));
        assert_eq!(version_line("r2"), None);
        let ranges = fix_ranges(vec!["1.30.1-r2".into(), "1.29.3-r10".into()]);
        assert_eq!(
            ranges.iter().map(|r| r.events.clone()).collect::<Vec<_>>(),
            vec![
                vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("1.29.3-r10".into())
                ],
                vec![
                    Event::Introduced("1.30".into()),
                    Event::Fixed("1.30.1-r2".into())
                ],
            ]
        );
    }

    #[test]
    fn wolfi_json_without_distroversion_is_wolfi() {
        let doc = br#"{"apkurl":"{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
            "archs":["x86_64"],"reponame":"os","urlprefix":"https://packages.wolfi.dev",
            "packages":[{"pkg":{"name":"curl","secfixes":{"8.1.0-r0":["CVE-2023-1"],"0":["CVE-2023-2"]}}}]}"#;
        let p = parse_document(doc, "t", None, &mut Vec::new()).unwrap();
        assert_eq!(p.ecosystem, "Wolfi");
        assert_eq!(p.source, "wolfi-secdb:os");
        assert_eq!(p.keyed.len(), 1);
    }
}
