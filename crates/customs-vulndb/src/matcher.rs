//! Matching an inventory against the database with OSV semantics: `introduced` / `fixed` /
//! `last_affected` / `limit` events over SEMVER and ECOSYSTEM ranges, explicit `versions`
//! lists, withdrawn advisories ignored, and advisories that share an id or alias merged into
//! one finding per package.

use crate::advisory::{Advisory, Event, Range, RangeKind};
use crate::cvss;
use crate::db::Database;
use crate::ecosystem::os_ecosystem_candidates;
use crate::finding::{Finding, FixStatus, Severity, SeveritySource};
use crate::rating::{self, Rating};
use customs_inventory::{Ecosystem, Inventory, OsInfo, Package, Warning};
use customs_version::{compare, Scheme};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Findings for an inventory, and the problems met on the way (a package whose version
/// could not be compared, an OS release with no ecosystem, a database read error).
#[derive(Debug, Default, Clone)]
pub struct MatchResult {
    /// One finding per advisory matched, merged by alias, in package order.
    pub findings: Vec<Finding>,
    /// Problems met while matching; matching went on.
    pub warnings: Vec<Warning>,
}

/// Matches every package of `inv`.
pub fn match_inventory(db: &Database, inv: &Inventory) -> MatchResult {
    let mut result = MatchResult::default();
    // Ecosystems looked up that the database holds nothing for, with how many packages.
    // (ecosystems, OS package) → how many packages.
    let mut missing: std::collections::BTreeMap<(String, bool), usize> = Default::default();
    let held = &db.metadata().ecosystems;
    for pkg in &inv.packages {
        if let Some(q) = match_package_into(db, inv.os.as_ref(), pkg, &mut result) {
            if !q.ecosystems.iter().any(|e| held.contains_key(e)) {
                let key = (q.ecosystems.join(" or "), pkg.ecosystem.is_os());
                *missing.entry(key).or_default() += 1;
            }
        }
    }
    for ((ecosystem, os_package), count) in missing {
        let os = inv
            .os
            .as_ref()
            .filter(|_| os_package)
            .map(|o| format!(" (OS {} {})", o.family, o.version))
            .unwrap_or_default();
        result.warnings.push(Warning {
            path: String::new(),
            layer: None,
            message: format!(
                "the database has no advisories for {ecosystem}{os}: {count} package(s) were not matched; add that source (customs db update / import)"
            ),
        });
    }
    result
}

/// Matches one package; `os` decides the ecosystem of OS packages.
pub fn match_package(db: &Database, os: Option<&OsInfo>, pkg: &Package) -> MatchResult {
    let mut result = MatchResult::default();
    let _ = match_package_into(db, os, pkg, &mut result);
    result
}

/// What to look up for a package: ecosystems (best first), key name and the version to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub ecosystems: Vec<String>,
    pub name: String,
    pub version: String,
}

/// The lookup for `pkg`: OS packages by their source package under the OS-derived
/// ecosystem, Go modules without the `v` prefix, the Go standard library as semver.
pub fn query_for(os: Option<&OsInfo>, pkg: &Package) -> Result<Option<Query>, String> {
    if !pkg.matchable() {
        return Ok(None); // a private root project: no advisory can name it
    }
    if pkg.ecosystem.is_os() {
        let Some(os) = os else {
            return Err(format!(
                "{} package {}: the image's OS is unknown, not matched",
                pkg.ecosystem, pkg.name
            ));
        };
        let ecosystems = os_ecosystem_candidates(os, &pkg.ecosystem);
        if ecosystems.is_empty() {
            return Err(format!(
                "{} package {}: no advisory ecosystem for OS {} {}, not matched",
                pkg.ecosystem, pkg.name, os.family, os.version
            ));
        }
        let name = pkg
            .source_name
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| pkg.name.clone());
        let version = pkg
            .source_version
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| pkg.version.clone());
        return Ok(Some(Query {
            ecosystems,
            name,
            version,
        }));
    }
    let version = if pkg.ecosystem == Ecosystem::Go {
        if pkg.version.is_empty()
            || pkg.version.starts_with('(')
            || pkg.version.starts_with("devel")
        {
            return Ok(None);
        }
        if pkg.name == "stdlib" || pkg.name == "toolchain" {
            match go_release_to_semver(&pkg.version) {
                Some(v) => v,
                None => {
                    return Err(format!(
                        "Go {} version {} not understood",
                        pkg.name, pkg.version
                    ))
                }
            }
        } else {
            pkg.version
                .strip_prefix('v')
                .unwrap_or(&pkg.version)
                .to_string()
        }
    } else {
        pkg.version.clone()
    };
    if version.is_empty() {
        return Ok(None);
    }
    Ok(Some(Query {
        ecosystems: vec![pkg.ecosystem.to_string()],
        name: pkg.name.clone(),
        version,
    }))
}

/// `go1.21.3` → `1.21.3`, `go1.21` → `1.21.0`, `go1.21rc2` → `1.21.0-rc.2` (the form the Go
/// vulnerability database writes releases in). A leading `v` is accepted too.
pub fn go_release_to_semver(v: &str) -> Option<String> {
    let v = v.trim();
    let v = v
        .strip_prefix("go")
        .or_else(|| v.strip_prefix('v'))
        .unwrap_or(v);
    // Go 1.21+ toolchains may carry a suffix like ` X:...` or `-...`; keep the release.
    let v = v.split([' ', '+']).next()?;
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (numbers, pre) = v.split_at(split);
    if let Some(rest) = numbers.strip_suffix('-') {
        // Already semver with a pre-release (`1.21.0-rc.4`).
        let parts: Vec<&str> = rest.split('.').collect();
        return (parts.len() == 3 && parts.iter().all(|p| p.parse::<u64>().is_ok()))
            .then(|| v.to_string());
    }
    let mut parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(|p| p.parse::<u64>().is_ok()) {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    let base = parts.join(".");
    if pre.is_empty() {
        return Some(base);
    }
    let kind_end = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
    let (kind, num) = pre.split_at(kind_end);
    if !matches!(kind, "rc" | "beta" | "alpha") || (!num.is_empty() && num.parse::<u64>().is_err())
    {
        return None;
    }
    Some(if num.is_empty() {
        format!("{base}-{kind}")
    } else {
        format!("{base}-{kind}.{num}")
    })
}

fn warn(pkg: &Package, message: String) -> Warning {
    let path = pkg
        .locations
        .first()
        .cloned()
        .or_else(|| pkg.purl.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| format!("{}/{}", pkg.ecosystem, pkg.name));
    Warning {
        path,
        layer: pkg.layer.clone(),
        message,
    }
}

/// An advisory that matched, with the fixed versions of the ranges the version fell in.
struct Hit {
    advisory: Advisory,
    ecosystem: String,
    fixed: Vec<String>,
}

/// Matches one package into `result`; returns the lookup it made, if any.
fn match_package_into(
    db: &Database,
    os: Option<&OsInfo>,
    pkg: &Package,
    result: &mut MatchResult,
) -> Option<Query> {
    let query = match query_for(os, pkg) {
        Ok(Some(q)) => q,
        Ok(None) => return None,
        Err(message) => {
            result.warnings.push(warn(pkg, message));
            return None;
        }
    };
    let mut hits: Vec<Hit> = Vec::new();
    let mut undecided: Vec<String> = Vec::new();
    for ecosystem in &query.ecosystems {
        let advisories = match db.lookup(ecosystem, &query.name) {
            Ok(a) => a,
            Err(e) => {
                result.warnings.push(warn(pkg, e.to_string()));
                continue;
            }
        };
        for adv in advisories {
            if adv.withdrawn.is_some() || hits.iter().any(|h| h.advisory.id == adv.id) {
                continue;
            }
            match evaluate(&adv, ecosystem, &query.version) {
                Verdict::Affected(fixed) => hits.push(Hit {
                    advisory: adv,
                    ecosystem: ecosystem.clone(),
                    fixed,
                }),
                Verdict::NotAffected => {}
                Verdict::Undecided => undecided.push(adv.id),
            }
        }
    }
    if !undecided.is_empty() {
        result.warnings.push(warn(
            pkg,
            format!(
                "version {} of {} could not be compared with the ranges of {} advisories ({}); they were not matched",
                query.version,
                query.name,
                undecided.len(),
                undecided.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let os_package = pkg.ecosystem.is_os();
    let (groups, folded) = group_by_alias(&hits);
    let mut findings: Vec<Finding> = groups
        .into_iter()
        .map(|group| {
            let members: Vec<&Hit> = group.iter().map(|i| &hits[*i]).collect();
            let mut f = finding_for(pkg, &members);
            // Notices naming several CVEs (DSA, USN) fold into the CVEs' own findings.
            for &i in &folded {
                let notice = &hits[i].advisory;
                if notice
                    .upstream
                    .iter()
                    .any(|u| f.id == *u || f.aliases.contains(u))
                    && !f.aliases.contains(&notice.id)
                {
                    f.aliases.push(notice.id.clone());
                    f.aliases.sort();
                }
            }
            enrich(db, &members, os_package, &mut f, &mut result.warnings, pkg);
            f
        })
        .collect();
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    result.findings.extend(findings);
    Some(query)
}

enum Verdict {
    Affected(Vec<String>),
    NotAffected,
    Undecided,
}

fn scheme_for(kind: RangeKind, ecosystem: &str) -> Option<Scheme> {
    match kind {
        RangeKind::Semver => Some(Scheme::Semver),
        RangeKind::Ecosystem => Scheme::for_ecosystem(ecosystem),
    }
}

/// Whether `version` is affected by `adv` (OSV `IsVulnerable`), and the fixed versions of
/// the ranges it falls in.
fn evaluate(adv: &Advisory, ecosystem: &str, version: &str) -> Verdict {
    let mut affected = false;
    let mut undecided = false;
    let mut fixed: Vec<String> = Vec::new();
    for entry in &adv.affected {
        let eco_scheme = Scheme::for_ecosystem(ecosystem);
        let listed = entry.versions.iter().any(|v| {
            v == version
                || eco_scheme.is_some_and(|s| compare(s, v, version) == Some(Ordering::Equal))
        });
        let mut in_range = false;
        for range in &entry.ranges {
            match eval_range(scheme_for(range.kind, ecosystem), range, version) {
                RangeVerdict::Affected(fix) => {
                    in_range = true;
                    fixed.extend(fix);
                }
                RangeVerdict::NotAffected => {}
                RangeVerdict::Undecided => undecided = true,
            }
        }
        if listed && !in_range {
            // Listed explicitly: report the fixes above the version, if they can be told.
            for range in &entry.ranges {
                let Some(s) = scheme_for(range.kind, ecosystem) else {
                    continue;
                };
                for e in &range.events {
                    if let Event::Fixed(f) = e {
                        if compare(s, version, f) == Some(Ordering::Less) {
                            fixed.push(f.clone());
                        }
                    }
                }
            }
        }
        affected |= listed || in_range;
    }
    if affected {
        Verdict::Affected(fixed)
    } else if undecided {
        Verdict::Undecided
    } else {
        Verdict::NotAffected
    }
}

enum RangeVerdict {
    Affected(Option<String>),
    NotAffected,
    Undecided,
}

fn is_zero(e: &Event) -> bool {
    matches!(e, Event::Introduced(v) if v == "0")
}

/// Orders events by version; `introduced: 0` first. Events whose versions cannot be
/// compared keep the record's order (which the OSV schema recommends be sorted already).
fn sorted_events(scheme: Option<Scheme>, events: &[Event]) -> Vec<&Event> {
    let mut out: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    let Some(s) = scheme else { return out };
    let mut comparable = true;
    let mut cmp = |a: &&Event, b: &&Event| -> Ordering {
        match (is_zero(a), is_zero(b)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(s, a.version(), b.version()).unwrap_or_else(|| {
                comparable = false;
                Ordering::Equal
            }),
        }
    };
    let mut sorted = out.clone();
    sorted.sort_by(&mut cmp);
    if comparable {
        out = sorted;
    }
    out
}

fn eval_range(scheme: Option<Scheme>, range: &Range, v: &str) -> RangeVerdict {
    let cmp = |other: &str| scheme.and_then(|s| compare(s, v, other));
    let limits: Vec<&str> = range
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Limit(l) = e {
                Some(l.as_str())
            } else {
                None
            }
        })
        .collect();
    if !limits.is_empty() && limits.iter().all(|l| *l != "*") {
        let verdicts: Vec<Option<Ordering>> = limits.iter().map(|l| cmp(l)).collect();
        if !verdicts.contains(&Some(Ordering::Less)) {
            return if verdicts.contains(&None) {
                RangeVerdict::Undecided
            } else {
                RangeVerdict::NotAffected
            };
        }
    }
    let events = sorted_events(scheme, &range.events);
    let mut vulnerable = false;
    let mut undecided = false;
    let mut opened_at = 0;
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::Introduced(x) => {
                if x == "0" || matches!(cmp(x), Some(Ordering::Greater | Ordering::Equal)) {
                    vulnerable = true;
                    opened_at = i;
                } else if cmp(x).is_none() {
                    undecided = true;
                }
            }
            Event::Fixed(x) => match cmp(x) {
                Some(Ordering::Greater | Ordering::Equal) => vulnerable = false,
                Some(Ordering::Less) => {}
                None => undecided = true,
            },
            Event::LastAffected(x) => match cmp(x) {
                Some(Ordering::Greater) => vulnerable = false,
                Some(_) => {}
                None => undecided = true,
            },
            Event::Limit(_) => {}
        }
    }
    if undecided {
        return RangeVerdict::Undecided;
    }
    if !vulnerable {
        return RangeVerdict::NotAffected;
    }
    let fix = events[opened_at + 1..].iter().find_map(|e| match e {
        Event::Fixed(f) => Some(Some(f.clone())),
        Event::LastAffected(_) => Some(None),
        _ => None,
    });
    RangeVerdict::Affected(fix.flatten())
}

/// Groups hits whose ids and aliases overlap (transitively). Each group is a list of
/// indices into `hits`. A record's single `upstream` id counts as an alias (Debian's
/// `DEBIAN-CVE-…` names its CVE only there). A notice with several upstream ids (a DSA or
/// USN fixing five CVEs) would merge five findings into one, so it is kept apart: when every
/// CVE it names has a finding of its own it is folded into those (returned second, to be
/// added to their aliases); otherwise it stays a finding of its own.
fn group_by_alias(hits: &[Hit]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let names: Vec<BTreeSet<&str>> = hits
        .iter()
        .map(|h| {
            let single_upstream =
                (h.advisory.upstream.len() == 1).then(|| h.advisory.upstream[0].as_str());
            std::iter::once(h.advisory.id.as_str())
                .chain(h.advisory.aliases.iter().map(String::as_str))
                .chain(single_upstream)
                .collect()
        })
        .collect();
    let others: BTreeSet<&str> = hits
        .iter()
        .zip(&names)
        .filter(|(h, _)| h.advisory.upstream.len() <= 1)
        .flat_map(|(_, n)| n.iter().copied())
        .collect();
    let folded: Vec<usize> = hits
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.advisory.upstream.len() > 1
                && h.advisory
                    .upstream
                    .iter()
                    .all(|u| others.contains(u.as_str()))
        })
        .map(|(i, _)| i)
        .collect();
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..hits.len() {
        for j in i + 1..hits.len() {
            if folded.contains(&i) || folded.contains(&j) {
                continue;
            }
            if !names[i].is_disjoint(&names[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[b] = a;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: Vec<Option<usize>> = vec![None; hits.len()];
    for i in 0..hits.len() {
        if folded.contains(&i) {
            continue;
        }
        let r = root(&mut parent, i);
        match group_of_root[r] {
            Some(g) => groups[g].push(i),
            None => {
                group_of_root[r] = Some(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    (groups, folded)
}

/// Who a matched advisory's own rating comes from: GHSA records are `ghsa`; an OS
/// distribution's records are its vendor (`debian`, `ubuntu`, `alpine`, …); any other
/// database is named by its id prefix (`rustsec`, `pysec`, `go`).
fn advisory_source(hit: &Hit) -> String {
    let id = &hit.advisory.id;
    if id.starts_with("GHSA-") {
        return "ghsa".into();
    }
    let family = hit.ecosystem.split(':').next().unwrap_or("");
    let vendor = match family {
        "Debian" => Some("debian"),
        "Ubuntu" => Some("ubuntu"),
        "Alpine" => Some("alpine"),
        "Red Hat" => Some("redhat"),
        "Rocky Linux" => Some("rocky"),
        "AlmaLinux" => Some("almalinux"),
        "SUSE" => Some("suse"),
        "openSUSE" => Some("opensuse"),
        "Wolfi" => Some("wolfi"),
        "Chainguard" => Some("chainguard"),
        "Amazon Linux" => Some("amazon"),
        "Azure Linux" | "Mariner" => Some("azure"),
        _ => None,
    };
    match vendor {
        Some(v) => v.into(),
        None => id.split('-').next().unwrap_or(id).to_ascii_lowercase(),
    }
}

/// The ratings the matched advisories carry themselves.
fn advisory_ratings(group: &[&Hit]) -> Vec<Rating> {
    let mut out: Vec<Rating> = Vec::new();
    let mut push = |r: Rating| rating::add_rating(&mut out, r);
    for h in group {
        let source = advisory_source(h);
        let entries = h
            .advisory
            .severity
            .iter()
            .chain(h.advisory.affected.iter().flat_map(|a| &a.severity));
        let mut labels: Vec<&str> = h
            .advisory
            .ecosystem_severity
            .iter()
            .map(String::as_str)
            .collect();
        labels.extend(
            h.advisory
                .affected
                .iter()
                .filter_map(|a| a.ecosystem_severity.as_deref()),
        );
        for e in entries {
            if e.kind == "Ubuntu" {
                labels.push(&e.score);
                continue;
            }
            if let Ok(s) = cvss::base_score(&e.score) {
                push(Rating {
                    source: source.clone(),
                    severity: cvss::severity_of_version(s.version, s.score),
                    cvss_version: Some(s.version.as_str().to_string()),
                    vector: Some(e.score.trim().to_string()),
                    score: Some(s.score),
                    label: None,
                });
            }
        }
        for l in labels {
            push(Rating {
                source: source.clone(),
                severity: rating::label_severity(l),
                cvss_version: None,
                vector: None,
                score: None,
                label: Some(l.to_string()),
            });
        }
    }
    out
}

/// Joins what the database knows about the finding's CVEs (ratings, KEV, EPSS) onto it and
/// picks its severity by [`rating::precedence`].
fn enrich(
    db: &Database,
    group: &[&Hit],
    os_package: bool,
    f: &mut Finding,
    warnings: &mut Vec<Warning>,
    pkg: &Package,
) {
    let mut ratings = advisory_ratings(group);
    let cves: Vec<String> = f.cves().map(str::to_string).collect();
    for cve in &cves {
        let facts = match db.facts(cve) {
            Ok(Some(facts)) => facts,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(warn(pkg, e.to_string()));
                continue;
            }
        };
        if facts.rejected {
            continue;
        }
        for r in facts.ratings {
            rating::add_rating(&mut ratings, r);
        }
        if f.kev.is_none() {
            f.kev = facts.kev;
        }
        if let Some(e) = facts.epss {
            if f.epss.as_ref().is_none_or(|x| e.score > x.score) {
                f.epss = Some(e);
            }
        }
    }
    ratings.sort_by(|a, b| rating::order(a, b, os_package));
    // Sorted, the winner is first, if anything rated it.
    match ratings.first().filter(|r| r.severity != Severity::Unknown) {
        Some(w) => {
            f.severity = w.severity;
            f.severity_source = SeveritySource {
                source: w.source.clone(),
                kind: match (&w.label, w.cvss_version.as_deref()) {
                    (Some(_), _) => "ecosystem".into(),
                    (_, Some("2.0")) => "CVSS_V2".into(),
                    (_, Some("4.0")) => "CVSS_V4".into(),
                    _ => "CVSS_V3".into(),
                },
                vector: w.label.clone().or_else(|| w.vector.clone()),
                score: w.score,
            };
        }
        None => {
            f.severity = Severity::Unknown;
            f.severity_source = SeveritySource::none();
        }
    }
    f.ratings = ratings;
}

fn finding_for(pkg: &Package, group: &[&Hit]) -> Finding {
    let primary = group
        .iter()
        .min_by(|a, b| {
            let ka = (a.advisory.id.starts_with("CVE-"), &a.advisory.id);
            let kb = (b.advisory.id.starts_with("CVE-"), &b.advisory.id);
            ka.cmp(&kb)
        })
        .expect("groups are never empty");
    let id = primary.advisory.id.clone();
    let mut aliases: BTreeSet<String> = BTreeSet::new();
    for h in group {
        aliases.insert(h.advisory.id.clone());
        aliases.extend(h.advisory.aliases.iter().cloned());
        aliases.extend(h.advisory.upstream.iter().cloned());
    }
    aliases.remove(&id);

    let scheme = group.iter().find_map(|h| {
        h.advisory
            .affected
            .iter()
            .flat_map(|a| &a.ranges)
            .find_map(|r| scheme_for(r.kind, &h.ecosystem))
    });
    let mut fixed: Vec<String> = Vec::new();
    for h in group {
        for f in &h.fixed {
            if !fixed.contains(f) {
                fixed.push(f.clone());
            }
        }
    }
    fixed.sort_by(|a, b| {
        scheme
            .and_then(|s| compare(s, a, b))
            .unwrap_or_else(|| a.cmp(b))
    });

    // Rated by `enrich`, once the database's facts are joined.
    let (severity, severity_source) = (Severity::Unknown, SeveritySource::none());
    let summary = std::iter::once(*primary)
        .chain(group.iter().copied())
        .map(|h| h.advisory.summary.as_str())
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string();
    let mut references: Vec<String> = Vec::new();
    for h in std::iter::once(*primary).chain(group.iter().copied()) {
        for r in &h.advisory.references {
            if !references.contains(r) {
                references.push(r.clone());
            }
        }
    }
    Finding {
        id,
        aliases: aliases.into_iter().collect(),
        package: pkg.clone(),
        severity,
        severity_source,
        fix_status: if fixed.is_empty() {
            FixStatus::NotFixed
        } else {
            FixStatus::Fixed
        },
        fixed_versions: fixed,
        summary,
        source: primary.advisory.source.clone(),
        references,
        ratings: Vec::new(),
        kev: None,
        epss: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_releases_become_semver() {
        assert_eq!(go_release_to_semver("go1.21.3").as_deref(), Some("1.21.3"));
        assert_eq!(go_release_to_semver("go1.21").as_deref(), Some("1.21.0"));
        assert_eq!(
            go_release_to_semver("go1.21rc2").as_deref(),
            Some("1.21.0-rc.2")
        );
        assert_eq!(
            go_release_to_semver("go1.9beta1").as_deref(),
            Some("1.9.0-beta.1")
        );
        assert_eq!(go_release_to_semver("1.20.5").as_deref(), Some("1.20.5"));
        assert_eq!(
            go_release_to_semver("v1.21.0-rc.4").as_deref(),
            Some("1.21.0-rc.4")
        );
        assert_eq!(go_release_to_semver("devel +abc"), None);
    }

    #[test]
    fn a_private_root_project_is_not_looked_up() {
        let mut p = Package {
            ecosystem: Ecosystem::Npm,
            name: "lodash".into(),
            version: "4.17.20".into(),
            root: true,
            private: true,
            ..Package::default()
        };
        assert_eq!(query_for(None, &p), Ok(None));
        // A root that may be published, or an installed package, is still matched.
        p.private = false;
        assert!(query_for(None, &p).unwrap().is_some());
        p.root = false;
        p.private = true;
        assert!(query_for(None, &p).unwrap().is_some());
    }

    #[test]
    fn labels_map_to_buckets() {
        use crate::rating::label_severity;
        assert_eq!(label_severity("MODERATE"), Severity::Medium);
        assert_eq!(label_severity("negligible"), Severity::Low);
        assert_eq!(label_severity("whatever"), Severity::Unknown);
    }
}
