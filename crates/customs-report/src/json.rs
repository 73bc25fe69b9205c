//! The native JSON formats, `customs.sbom` and `customs.scan`, documented field by field in
//! `docs/json-sbom.md` and `docs/json-scan.md`. The schema is spelled out here with view
//! structs, so a change to the shared model types cannot change the output by accident.

use customs_inventory::{Inventory, OsInfo, Package, Warning};
use customs_vulndb::{Finding, FixStatus};
use serde::Serialize;

use crate::{ids, DocumentInfo, ReportError, Scan, Subject, Summary, TOOL_NAME};

/// Bumped on any incompatible change of either native format.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct SbomDocument<'a> {
    schema_version: u32,
    kind: &'static str,
    tool: Tool<'a>,
    created: String,
    subject: &'a Subject,
    os: Option<Os<'a>>,
    packages: Vec<PackageView<'a>>,
    suppressed: Vec<PackageView<'a>>,
    warnings: Vec<WarningView<'a>>,
}

#[derive(Serialize)]
struct ScanDocument<'a> {
    schema_version: u32,
    kind: &'static str,
    tool: Tool<'a>,
    created: String,
    subject: &'a Subject,
    os: Option<Os<'a>>,
    summary: Summary,
    findings: Vec<FindingView<'a>>,
    warnings: Vec<WarningView<'a>>,
}

#[derive(Serialize)]
struct Os<'a> {
    family: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    codename: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pretty_name: Option<&'a str>,
}

#[derive(Serialize)]
struct PackageView<'a> {
    ecosystem: &'a str,
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    purl: String,
    licenses: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    source_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arch: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    found_by: &'a str,
    locations: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    /// The application's own root project (a lockfile's `""` entry, an app's package.json).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    root: bool,
    /// A root marked `"private": true`: never matched against advisories.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    private: bool,
}

#[derive(Serialize)]
struct WarningView<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    message: &'a str,
}

#[derive(Serialize)]
struct FindingView<'a> {
    id: &'a str,
    aliases: &'a [String],
    severity: &'static str,
    severity_source: SeveritySourceView<'a>,
    fix_status: &'static str,
    fixed_versions: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: &'a str,
    source: &'a str,
    references: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ratings: Vec<RatingView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kev: Option<KevView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epss: Option<EpssView<'a>>,
    package: PackageView<'a>,
}

#[derive(Serialize)]
struct RatingView<'a> {
    source: &'a str,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
}

#[derive(Serialize)]
struct KevView<'a> {
    date_added: &'a str,
    due_date: &'a str,
    known_ransomware_use: bool,
}

#[derive(Serialize)]
struct EpssView<'a> {
    score: f64,
    percentile: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
}

#[derive(Serialize)]
struct SeveritySourceView<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    source: &'a str,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
}

fn os(os: &Option<OsInfo>) -> Option<Os<'_>> {
    os.as_ref().map(|o| Os {
        family: &o.family,
        version: &o.version,
        codename: o.codename.as_deref(),
        pretty_name: o.pretty_name.as_deref(),
    })
}

fn package(p: &Package) -> PackageView<'_> {
    PackageView {
        ecosystem: p.ecosystem.as_str(),
        name: &p.name,
        version: &p.version,
        purl: p.purl_string(),
        licenses: &p.licenses,
        source_name: p.source_name.as_deref(),
        source_version: p.source_version.as_deref(),
        arch: p.arch.as_deref(),
        found_by: &p.found_by,
        locations: &p.locations,
        layer: p.layer.as_deref(),
        root: p.root,
        private: p.private,
    }
}

/// Warnings sorted by path, layer and message, so that extractor order does not leak.
fn warnings(list: &[Warning]) -> Vec<WarningView<'_>> {
    let mut sorted: Vec<&Warning> = list.iter().collect();
    sorted.sort_by(|a, b| (&a.path, &a.layer, &a.message).cmp(&(&b.path, &b.layer, &b.message)));
    sorted
        .into_iter()
        .map(|w| WarningView {
            path: &w.path,
            layer: w.layer.as_deref(),
            message: &w.message,
        })
        .collect()
}

fn finish<T: Serialize>(doc: &T, format: &'static str) -> Result<String, ReportError> {
    let mut out = serde_json::to_string_pretty(doc)
        .map_err(|source| ReportError::Serialise { format, source })?;
    out.push('\n');
    Ok(out)
}

/// The inventory of an image as a `customs.sbom` document.
pub fn sbom(
    subject: &Subject,
    inventory: &Inventory,
    info: &DocumentInfo,
) -> Result<String, ReportError> {
    let doc = SbomDocument {
        schema_version: SCHEMA_VERSION,
        kind: "customs.sbom",
        tool: Tool {
            name: TOOL_NAME,
            version: &info.tool_version,
        },
        created: info.created.rfc3339(),
        subject,
        os: os(&inventory.os),
        packages: ids::sorted(&inventory.packages)
            .into_iter()
            .map(package)
            .collect(),
        suppressed: ids::sorted(&inventory.suppressed)
            .into_iter()
            .map(package)
            .collect(),
        warnings: warnings(&inventory.warnings),
    };
    finish(&doc, "customs.sbom")
}

/// Scan results as a `customs.scan` document.
pub fn scan(scan: &Scan<'_>, info: &DocumentInfo) -> Result<String, ReportError> {
    let findings = ids::sorted_findings(scan.findings)
        .into_iter()
        .map(|f: &Finding| FindingView {
            id: &f.id,
            aliases: &f.aliases,
            severity: f.severity.as_str(),
            severity_source: SeveritySourceView {
                source: &f.severity_source.source,
                kind: &f.severity_source.kind,
                vector: f.severity_source.vector.as_deref(),
                // JSON has no NaN; a score that is not a number is left out.
                score: f.severity_source.score.filter(|s| s.is_finite()),
            },
            fix_status: match f.fix_status {
                FixStatus::Fixed => "fixed",
                FixStatus::NotFixed => "not_fixed",
            },
            fixed_versions: &f.fixed_versions,
            summary: &f.summary,
            source: &f.source,
            references: &f.references,
            ratings: f
                .ratings
                .iter()
                .map(|r| RatingView {
                    source: &r.source,
                    severity: r.severity.as_str(),
                    cvss_version: r.cvss_version.as_deref(),
                    vector: r.vector.as_deref(),
                    score: r.score.filter(|s| s.is_finite()),
                    label: r.label.as_deref(),
                })
                .collect(),
            kev: f.kev.as_ref().map(|k| KevView {
                date_added: &k.date_added,
                due_date: &k.due_date,
                known_ransomware_use: k.ransomware,
            }),
            epss: f
                .epss
                .as_ref()
                .filter(|e| e.score.is_finite() && e.percentile.is_finite())
                .map(|e| EpssView {
                    score: e.score,
                    percentile: e.percentile,
                    date: e.date.as_deref(),
                }),
            package: package(&f.package),
        })
        .collect();
    let doc = ScanDocument {
        schema_version: SCHEMA_VERSION,
        kind: "customs.scan",
        tool: Tool {
            name: TOOL_NAME,
            version: &info.tool_version,
        },
        created: info.created.rfc3339(),
        subject: scan.subject,
        os: os(&scan.inventory.os),
        summary: Summary::of(scan),
        findings,
        warnings: warnings(&scan.inventory.warnings),
    };
    finish(&doc, "customs.scan")
}
