//! SPDX 2.3 JSON: the image as the described root package (purpose `CONTAINER`) that
//! `CONTAINS` every package found in it.

use customs_inventory::{Inventory, Package};
use serde::Serialize;

use crate::ids;
use crate::license::LicenseRefs;
use crate::{DocumentInfo, ReportError, Subject, TOOL_NAME};

const NOASSERTION: &str = "NOASSERTION";
const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";
/// Where document namespaces live; the document's UUID makes each one unique.
const NAMESPACE_BASE: &str = "https://spdx.org/spdxdocs/customs";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage<'a>>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version_info: &'a str,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    algorithm: &'static str,
    checksum_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

/// Keeps the characters SPDX allows in an element id (`[A-Za-z0-9.-]`), mapping others to `-`.
fn sanitise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: purl,
    }
}

fn image_package(subject: &Subject) -> SpdxPackage<'_> {
    let checksums = match subject.manifest_digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            vec![Checksum {
                algorithm: "SHA256",
                checksum_value: hex,
            }]
        }
        _ => Vec::new(),
    };
    let mut comment = Vec::new();
    let platform = subject.platform.display();
    if !platform.is_empty() {
        comment.push(format!("platform {platform}"));
    }
    if !subject.config_digest.is_empty() {
        comment.push(format!("config {}", subject.config_digest));
    }
    if let Some(base) = &subject.base_name {
        comment.push(format!("base image {base}"));
    }
    if let Some(base) = &subject.base_digest {
        comment.push(format!("base digest {base}"));
    }
    SpdxPackage {
        spdx_id: IMAGE_ID.to_string(),
        name: &subject.name,
        version_info: subject.digest(),
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_string(),
        copyright_text: NOASSERTION,
        source_info: None,
        description: None,
        comment: (!comment.is_empty()).then(|| comment.join("; ")),
        external_refs: vec![purl_ref(subject.purl())],
        primary_package_purpose: "CONTAINER",
    }
}

fn package<'a>(p: &'a Package, spdx_id: String, refs: &mut LicenseRefs) -> SpdxPackage<'a> {
    let source_info = p.source_name.as_ref().map(|name| match &p.source_version {
        Some(version) => format!("built from source package {name} {version}"),
        None => format!("built from source package {name}"),
    });
    let mut comment = vec![format!("ecosystem {}", p.ecosystem)];
    if !p.found_by.is_empty() {
        comment.push(format!("found by {}", p.found_by));
    }
    if let Some(layer) = &p.layer {
        comment.push(format!("layer {layer}"));
    }
    if !p.locations.is_empty() {
        comment.push(format!("locations {}", p.locations.join(", ")));
    }
    SpdxPackage {
        spdx_id,
        name: &p.name,
        version_info: &p.version,
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: refs.declared(&p.licenses),
        copyright_text: NOASSERTION,
        source_info,
        description: None,
        comment: Some(comment.join("; ")),
        external_refs: p
            .purl
            .iter()
            .map(|purl| purl_ref(purl.to_string()))
            .collect(),
        primary_package_purpose: "LIBRARY",
    }
}

fn relationship(from: &str, kind: &'static str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.to_string(),
        relationship_type: kind,
        related_spdx_element: to.to_string(),
    }
}

/// The SBOM of an image as an SPDX 2.3 JSON document.
pub fn sbom(
    subject: &Subject,
    inventory: &Inventory,
    info: &DocumentInfo,
) -> Result<String, ReportError> {
    let packages = ids::sorted(&inventory.packages);
    let spdx_ids = ids::unique_ids(
        &packages,
        |p| {
            format!(
                "SPDXRef-Package-{}",
                sanitise(&format!("{}-{}-{}", p.ecosystem, p.name, p.version))
            )
        },
        "-",
    );
    let mut refs = LicenseRefs::default();
    let mut list = vec![image_package(subject)];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID)];
    if let Some(os) = &inventory.os {
        list.push(SpdxPackage {
            spdx_id: OS_ID.to_string(),
            name: &os.family,
            version_info: &os.version,
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_string(),
            copyright_text: NOASSERTION,
            source_info: None,
            description: os.pretty_name.as_deref(),
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose: "OPERATING-SYSTEM",
        });
        relationships.push(relationship(IMAGE_ID, "CONTAINS", OS_ID));
    }
    for (p, id) in packages.iter().zip(spdx_ids) {
        relationships.push(relationship(IMAGE_ID, "CONTAINS", &id));
        list.push(package(p, id, &mut refs));
    }
    let extracted = refs
        .by_id
        .into_iter()
        .map(|(license_id, text)| ExtractedLicense {
            license_id,
            name: text.clone(),
            extracted_text: text,
        })
        .collect();
    let mut doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: &subject.name,
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: info.created.rfc3339(),
            creators: vec![format!("Tool: {TOOL_NAME}-{}", info.tool_version)],
        },
        packages: list,
        relationships,
        has_extracted_licensing_infos: extracted,
    };
    let serialise = |doc: &Document| {
        serde_json::to_string_pretty(doc).map_err(|source| ReportError::Serialise {
            format: "SPDX",
            source,
        })
    };
    // Like the CycloneDX serial number: a name-based UUID of the document's own content.
    let unnamed = serialise(&doc)?;
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, unnamed.as_bytes());
    let mut slug = sanitise(&subject.name);
    if slug.is_empty() {
        slug.push_str("image");
    }
    doc.document_namespace = format!("{NAMESPACE_BASE}/{slug}-{uuid}");
    let mut out = serialise(&doc)?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_ids_keep_only_allowed_characters() {
        assert_eq!(
            sanitise("npm-@scope/pkg-1.0.0+build"),
            "npm-scope-pkg-1.0.0-build"
        );
        assert_eq!(
            sanitise("Go-golang.org/x/net-v0.1.0"),
            "Go-golang.org-x-net-v0.1.0"
        );
    }
}
