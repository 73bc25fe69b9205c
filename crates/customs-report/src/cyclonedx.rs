//! CycloneDX 1.6 JSON: the image as the BOM's subject, one component per package, and for scans
//! a `vulnerabilities` array that points at the affected components.

use std::collections::BTreeMap;

use customs_inventory::{Inventory, OsInfo, Package};
use customs_vulndb::Finding;
use serde::Serialize;

use crate::ids;
use crate::license::{classify, Declared};
use crate::{DocumentInfo, ReportError, Subject, TOOL_NAME};

/// The SBOM of an image.
pub fn sbom(
    subject: &Subject,
    inventory: &Inventory,
    info: &DocumentInfo,
) -> Result<String, ReportError> {
    render(subject, inventory, &[], info)
}

/// The SBOM of an image with its vulnerabilities: every finding becomes (part of) an entry in
/// `vulnerabilities`, one entry per vulnerability id, whose `affects` lists the packages.
pub fn scan(scan: &crate::Scan<'_>, info: &DocumentInfo) -> Result<String, ReportError> {
    render(scan.subject, scan.inventory, scan.findings, info)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<Vulnerability<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools<'a>,
    component: Component<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: Vec<ToolComponent<'a>>,
}

#[derive(Serialize)]
struct ToolComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "String::is_empty")]
    purl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Hash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License {
        license: License,
    },
    Expression {
        expression: String,
        acknowledgement: &'static str,
    },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    acknowledgement: &'static str,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    id: &'a str,
    source: Source<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference<'a>>,
    ratings: Vec<Rating<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory<'a>>,
    affects: Vec<Affects<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Source<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference<'a> {
    id: &'a str,
    source: Source<'a>,
}

#[derive(Serialize, PartialEq)]
struct Rating<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<RatingSource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a str>,
}

#[derive(Serialize, PartialEq)]
struct RatingSource<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Advisory<'a> {
    url: &'a str,
}

#[derive(Serialize)]
struct Affects<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    versions: Vec<AffectedVersion<'a>>,
}

#[derive(Serialize)]
struct AffectedVersion<'a> {
    version: &'a str,
    status: &'static str,
}

fn property(name: &str, value: &str) -> Property {
    Property {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// `sha256:<64 hex>` as a CycloneDX hash; other digests are left out rather than mislabelled.
fn sha256_hash(digest: &str) -> Vec<Hash<'_>> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            vec![Hash {
                alg: "SHA-256",
                content: hex,
            }]
        }
        _ => Vec::new(),
    }
}

fn image_component<'a>(subject: &'a Subject, bom_ref: &str) -> Component<'a> {
    let mut properties = Vec::new();
    if !subject.config_digest.is_empty() {
        properties.push(property("customs:config-digest", &subject.config_digest));
    }
    let platform = subject.platform.display();
    if !platform.is_empty() {
        properties.push(property("customs:platform", &platform));
    }
    for layer in &subject.layers {
        properties.push(property("customs:layer-diff-id", &layer.diff_id));
    }
    if let Some(name) = &subject.base_name {
        properties.push(property("customs:base-name", name));
    }
    if let Some(digest) = &subject.base_digest {
        properties.push(property("customs:base-digest", digest));
    }
    for (key, value) in &subject.labels {
        properties.push(property(&format!("customs:label:{key}"), value));
    }
    Component {
        bom_ref: bom_ref.to_string(),
        kind: "container",
        name: &subject.name,
        version: subject.digest(),
        description: None,
        hashes: sha256_hash(&subject.manifest_digest),
        licenses: Vec::new(),
        purl: bom_ref.to_string(),
        properties,
    }
}

fn os_component(os: &OsInfo) -> Component<'_> {
    let mut properties = Vec::new();
    if let Some(codename) = &os.codename {
        properties.push(property("customs:codename", codename));
    }
    Component {
        bom_ref: os_ref(os),
        kind: "operating-system",
        name: &os.family,
        version: &os.version,
        description: os.pretty_name.as_deref(),
        hashes: Vec::new(),
        licenses: Vec::new(),
        purl: String::new(),
        properties,
    }
}

fn os_ref(os: &OsInfo) -> String {
    format!("os:{}@{}", os.family, os.version)
}

/// CycloneDX licences: one `license` per declared licence, `id` for SPDX identifiers and
/// `name` for anything else, or a single `expression` when the declaration is one expression
/// (or several that are all valid SPDX, joined with AND), as the schema allows no mix.
fn licenses(declared: &[String]) -> Vec<LicenseChoice> {
    let mut terms: Vec<Declared> = Vec::new();
    for d in declared.iter().filter_map(|t| classify(t)) {
        if !terms.contains(&d) {
            terms.push(d);
        }
    }
    let has_expression = terms.iter().any(|t| matches!(t, Declared::Expression(_)));
    let all_spdx = terms.iter().all(|t| !matches!(t, Declared::Other(_)));
    if has_expression && all_spdx {
        let expression = if terms.len() == 1 {
            match &terms[0] {
                Declared::Id(e) | Declared::Expression(e) | Declared::Other(e) => e.clone(),
            }
        } else {
            terms
                .iter()
                .map(|t| match t {
                    Declared::Expression(e) => format!("({e})"),
                    Declared::Id(e) | Declared::Other(e) => e.clone(),
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        return vec![LicenseChoice::Expression {
            expression,
            acknowledgement: "declared",
        }];
    }
    terms
        .into_iter()
        .map(|t| {
            let (id, name) = match t {
                Declared::Id(id) => (Some(id), None),
                Declared::Expression(text) | Declared::Other(text) => (None, Some(text)),
            };
            LicenseChoice::License {
                license: License {
                    id,
                    name,
                    acknowledgement: "declared",
                },
            }
        })
        .collect()
}

fn package_component(p: &Package, bom_ref: String) -> Component<'_> {
    let mut properties = vec![property("customs:ecosystem", p.ecosystem.as_str())];
    if !p.found_by.is_empty() {
        properties.push(property("customs:found-by", &p.found_by));
    }
    if let Some(layer) = &p.layer {
        properties.push(property("customs:layer", layer));
    }
    for location in &p.locations {
        properties.push(property("customs:location", location));
    }
    if let Some(name) = &p.source_name {
        properties.push(property("customs:source-name", name));
    }
    if let Some(version) = &p.source_version {
        properties.push(property("customs:source-version", version));
    }
    Component {
        bom_ref,
        kind: "library",
        name: &p.name,
        version: &p.version,
        description: None,
        hashes: Vec::new(),
        licenses: licenses(&p.licenses),
        purl: p.purl_string(),
        properties,
    }
}
fn rating(f: &Finding) -> Rating<'_> {
    // An ecosystem's own label (`unimportant`, `moderate`) is not a vector; only CVSS ones are.
    let vector = f
        .severity_source
        .vector
        .as_deref()
        .filter(|v| v.starts_with("CVSS:"));
    let method = match (f.severity_source.kind.as_str(), vector) {
        (_, Some(v)) if v.starts_with("CVSS:4.0/") => "CVSSv4",
        (_, Some(v)) if v.starts_with("CVSS:3.1/") => "CVSSv31",
        (_, Some(v)) if v.starts_with("CVSS:3.0/") => "CVSSv3",
        ("CVSS_V4", _) => "CVSSv4",
        ("CVSS_V3", _) => "CVSSv31",
        _ => "other",
    };
    Rating {
        source: (!f.severity_source.source.is_empty()).then_some(RatingSource {
            name: &f.severity_source.source,
        }),
        score: f.severity_source.score.filter(|s| s.is_finite()),
        severity: f.severity.as_lower(),
        method,
        vector,
    }
}

/// Every other rating the finding has, after the one that won, each named by its source.
fn other_ratings(f: &Finding) -> impl Iterator<Item = Rating<'_>> {
    f.ratings.iter().skip(1).map(|r| Rating {
        source: Some(RatingSource { name: &r.source }),
        score: r.score.filter(|s| s.is_finite()),
        severity: r.severity.as_lower(),
        method: match r.cvss_version.as_deref() {
            Some("4.0") => "CVSSv4",
            Some("3.1") => "CVSSv31",
            Some("3.0") => "CVSSv3",
            Some("2.0") => "CVSSv2",
            _ => "other",
        },
        vector: r.vector.as_deref(),
    })
}

fn osv_source(id: &str) -> Source<'static> {
    Source {
        name: "OSV",
        url: Some(format!("https://osv.dev/vulnerability/{id}")),
    }
}

fn vulnerabilities<'a>(
    findings: &'a [Finding],
    refs: &'a BTreeMap<[u8; 32], String>,
) -> Vec<Vulnerability<'a>> {
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_id.entry(f.id.as_str()).or_default().push(f);
    }
    by_id
        .into_iter()
        .map(|(id, mut group)| {
            group.sort_by(|a, b| ids::compare(&a.package, &b.package));
            let first = group[0];
            let mut ratings: Vec<Rating> = Vec::new();
            let mut aliases: Vec<&str> = Vec::new();
            let mut advisories: Vec<&str> = Vec::new();
            let mut fixes: Vec<String> = Vec::new();
            let mut affects = Vec::new();
            let mut properties: Vec<Property> = Vec::new();
            for f in &group {
                for r in std::iter::once(rating(f)).chain(other_ratings(f)) {
                    if !ratings.contains(&r) {
                        ratings.push(r);
                    }
                }
                if let Some(k) = &f.kev {
                    if !properties
                        .iter()
                        .any(|p| p.name == "customs:kev:date-added")
                    {
                        properties.push(property("customs:kev:date-added", &k.date_added));
                        properties.push(property("customs:kev:due-date", &k.due_date));
                    }
                }
                if let Some(e) = f.epss.as_ref().filter(|e| e.score.is_finite()) {
                    if !properties.iter().any(|p| p.name == "customs:epss:score") {
                        properties.push(property("customs:epss:score", &e.score.to_string()));
                        properties.push(property(
                            "customs:epss:percentile",
                            &e.percentile.to_string(),
                        ));
                    }
                }
                aliases.extend(f.aliases.iter().map(String::as_str));
                advisories.extend(f.references.iter().map(String::as_str));
                if let Some(fixed) = f.fixed_versions.first() {
                    fixes.push(format!("Upgrade {} to {fixed} or later.", f.package.name));
                }
                let reference = refs[&ids::fingerprint(&f.package)].as_str();
                affects.push(Affects {
                    reference,
                    versions: vec![AffectedVersion {
                        version: &f.package.version,
                        status: "affected",
                    }],
                });
            }
            aliases.sort_unstable();
            aliases.dedup();
            advisories.sort_unstable();
            advisories.dedup();
            fixes.dedup();
            Vulnerability {
                id,
                source: Source {
                    name: &first.source,
                    url: None,
                },
                references: aliases
                    .into_iter()
                    .map(|a| Reference {
                        id: a,
                        source: osv_source(a),
                    })
                    .collect(),
                ratings,
                description: &first.summary,
                recommendation: (!fixes.is_empty()).then(|| fixes.join(" ")),
                advisories: advisories.into_iter().map(|url| Advisory { url }).collect(),
                affects,
                properties,
            }
        })
        .collect()
}

fn render(
    subject: &Subject,
    inventory: &Inventory,
    findings: &[Finding],
    info: &DocumentInfo,
) -> Result<String, ReportError> {
    let packages = ids::sorted(
        inventory
            .packages
            .iter()
            .chain(findings.iter().map(|f| &f.package)),
    );
    // A finding's package is normally one of the inventory's; list each package once.
    let mut packages = packages;
    packages.dedup_by(|a, b| ids::fingerprint(a) == ids::fingerprint(b));
    let bom_refs = ids::unique_ids(
        &packages,
        |p| match &p.purl {
            Some(purl) => purl.to_string(),
            None => format!("{}:{}@{}", p.ecosystem, p.name, p.version),
        },
        "#",
    );
    let image_ref = subject.purl();
    let mut components: Vec<Component> = Vec::new();
    if let Some(os) = &inventory.os {
        components.push(os_component(os));
    }
    let by_fingerprint: BTreeMap<[u8; 32], String> = packages
        .iter()
        .zip(&bom_refs)
        .map(|(p, r)| (ids::fingerprint(p), r.clone()))
        .collect();
    for (p, r) in packages.iter().zip(&bom_refs) {
        components.push(package_component(p, r.clone()));
    }
    let depends_on = components.iter().map(|c| c.bom_ref.clone()).collect();
    let dependencies = vec![Dependency {
        reference: image_ref.clone(),
        depends_on,
    }];
    let mut bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: info.created.rfc3339(),
            tools: Tools {
                components: vec![ToolComponent {
                    kind: "application",
                    name: TOOL_NAME,
                    version: &info.tool_version,
                }],
            },
            component: image_component(subject, &image_ref),
        },
        components,
        dependencies,
        vulnerabilities: vulnerabilities(findings, &by_fingerprint),
    };
    let serialise = |bom: &Bom| {
        serde_json::to_string_pretty(bom).map_err(|source| ReportError::Serialise {
            format: "CycloneDX",
            source,
        })
    };
    // The serial number is a name-based UUID of the document's own bytes without it, so the
    // same input always gets the same serial number and different content a different one.
    let unnumbered = serialise(&bom)?;
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, unnumbered.as_bytes());
    bom.serial_number = format!("urn:uuid:{uuid}");
    let mut out = serialise(&bom)?;
    out.push('\n');
    Ok(out)
}
