//! Reading an SBOM back into an [`Inventory`]: CycloneDX 1.2–1.7 (JSON and XML) and SPDX
//! 2.2/2.3 (JSON and tag-value), as customs, Syft or Trivy write them. The first byte tells the
//! syntax (`{` JSON, `<` XML, otherwise SPDX tag-value); every syntax feeds the same reader, so
//! each gives the same packages. Each package's ecosystem and name come from its
//! package URL; the version from the document (or the purl when the document has none); the
//! image's OS from the purls' `distro` qualifier (or the document's operating-system entry).
//! Packages without a purl of a known type are skipped and counted in one warning.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Ecosystem, Inventory, OsInfo, Package, Purl, Warning};

mod cyclonedx_xml;
mod spdx_tag;

pub use cyclonedx_xml::read_cyclonedx_xml;
pub use spdx_tag::read_spdx_tag_value;

/// Why a document could not be read as an SBOM at all.
#[derive(Debug, thiserror::Error)]
pub enum SbomInputError {
    #[error("not JSON: {0}")]
    /// The bytes are not JSON; the parser's message.
    NotJson(String),
    #[error("neither CycloneDX (JSON or XML) nor SPDX 2.x (JSON or tag-value)")]
    /// Neither SBOM format in any syntax customs reads.
    UnknownFormat,
    #[error("unsupported {format} version {version}")]
    /// A spec version customs does not read.
    UnsupportedVersion {
        /// `CycloneDX` or `SPDX`.
        format: &'static str,
        /// The version the document declares.
        version: String,
    },
    #[error("malformed {format}: {reason}")]
    /// The document breaks its format.
    Malformed {
        /// `CycloneDX` or `SPDX`.
        format: &'static str,
        /// What is wrong, and where.
        reason: String,
    },
}

/// Which kind of SBOM a JSON document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX JSON (1.2–1.7).
    CycloneDx,
    /// SPDX 2.x JSON.
    Spdx,
}

/// The CycloneDX spec versions customs reads, in JSON (`specVersion`) and XML (the namespace's
/// last segment): 1.2 and 1.3 name components, purls and properties as 1.4+ does; 1.7 (what
/// Trivy 0.76 writes) only adds fields customs does not read.
const CYCLONEDX_VERSIONS: &[&str] = &["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

/// The SPDX versions customs reads, as `spdxVersion` / `SPDXVersion` spell them.
const SPDX_VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

/// Whether the tool text of a document (CycloneDX `metadata.tools`, SPDX creators) names a
/// tool that leaves the source package out exactly when it equals the binary package.
fn tool_elides_equal_sources(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("customs") || text.contains("syft")
}

/// `alpine-3.11.5` → family `alpine`, version `3.11.5`: the version starts after the last
/// `-` that is followed by a digit.
fn os_from_distro(distro: &str) -> Option<OsInfo> {
    let split = distro
        .match_indices('-')
        .filter(|(i, _)| {
            distro[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|(i, _)| i)
        .next_back();
    let (family, version) = match split {
        Some(i) => (&distro[..i], &distro[i + 1..]),
        None => (distro, ""),
    };
    (!family.is_empty()).then(|| OsInfo {
        family: family.to_ascii_lowercase(),
        version: version.to_string(),
        ..OsInfo::default()
    })
}

/// Whether two spellings name the same package: equal ignoring ASCII case, and for PyPI also
/// after PEP 503 normalisation.
fn same_name(ecosystem: &Ecosystem, a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    *ecosystem == Ecosystem::PyPI
        && crate::python::normalize_name(a).eq_ignore_ascii_case(&crate::python::normalize_name(b))
}

/// What one SBOM entry says about a package, before it becomes a [`Package`].
#[derive(Default)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    source_name: Option<String>,
    source_version: Option<String>,
    layer: Option<String>,
    locations: Vec<String>,
}

struct Reader {
    inventory: Inventory,
    distros: BTreeMap<String, usize>,
    os_entry: Option<OsInfo>,
    skipped_no_purl: usize,
    skipped_types: BTreeMap<String, usize>,
    /// The document was written by a tool that leaves the source package out exactly when
    /// it equals the binary package (customs, Syft): no source then means "the same name".
    source_elided_when_equal: bool,
}

/// Whether the SBOM's tool (CycloneDX `metadata.tools`, SPDX `creationInfo.creators`) is one
/// that names a source package only when it differs from the binary package.
fn elides_equal_sources(doc: &Value) -> bool {
    let tools = doc
        .get("metadata")
        .and_then(|m| m.get("tools"))
        .or_else(|| doc.get("creationInfo").and_then(|c| c.get("creators")));
    tools.is_some_and(|t| tool_elides_equal_sources(&t.to_string()))
}

impl Reader {
    fn new() -> Self {
        Reader {
            inventory: Inventory::default(),
            distros: BTreeMap::new(),
            os_entry: None,
            skipped_no_purl: 0,
            skipped_types: BTreeMap::new(),
            source_elided_when_equal: false,
        }
    }

    fn add(&mut self, e: Entry) {
        let Some(purl_text) = e.purl.filter(|p| !p.is_empty()) else {
            self.skipped_no_purl += 1;
            return;
        };
        let Ok(purl) = Purl::parse(&purl_text) else {
            self.skipped_no_purl += 1;
            return;
        };
        let Some(ecosystem) = purl.ecosystem() else {
            *self.skipped_types.entry(purl.ty.clone()).or_default() += 1;
            return;
        };
        if let Some(d) = purl.qualifiers.get("distro") {
            // Trivy writes only the version (`distro=3.10.4`); the namespace names the family.
            let d = match &purl.namespace {
                Some(ns) if d.starts_with(|c: char| c.is_ascii_digit()) => format!("{ns}-{d}"),
                _ => d.clone(),
            };
            *self.distros.entry(d).or_default() += 1;
        }
        let purl_name = purl.package_name();
        let name = match e.name {
            Some(n) if !n.is_empty() && same_name(&ecosystem, &n, &purl_name) => n,
            _ => purl_name,
        };
        let version = e
            .version
            .filter(|v| !v.is_empty() && v != "NOASSERTION")
            .or_else(|| purl.version.clone())
            .unwrap_or_default();
        // The Go toolchain as customs' inventory names it (`1.22.0`): Syft writes `go1.22.0`,
        // Trivy `v1.22.0`.
        let version = if ecosystem == Ecosystem::Go && name == "stdlib" {
            let v = version.strip_prefix("go").unwrap_or(&version);
            v.strip_prefix('v').unwrap_or(v).to_string()
        } else {
            version
        };
        let (mut source_name, mut source_version) = (e.source_name, e.source_version);
        if source_name.is_none() {
            if let Some(up) = purl.qualifiers.get("upstream") {
                (source_name, source_version) = upstream(&purl.ty, up);
            }
        }
        let arch = purl.qualifier("arch").map(str::to_string);
        self.inventory.packages.push(Package {
            ecosystem,
            name,
            version,
            purl: Some(purl),
            source_name,
            source_version,
            arch,
            found_by: "sbom".to_string(),
            locations: e.locations,
            layer: e.layer,
            ..Package::default()
        });
    }

    fn finish(mut self, origin: &str) -> Inventory {
        // The most common distro qualifier names the OS; the document's OS entry otherwise.
        let by_purl = self
            .distros
            .iter()
            .max_by_key(|(_, n)| **n)
            .and_then(|(d, _)| os_from_distro(d));
        self.inventory.os = match (by_purl, self.os_entry) {
            (Some(mut os), Some(entry)) if entry.family == os.family => {
                os.pretty_name = entry.pretty_name;
                os.codename = entry.codename;
                Some(os)
            }
            (Some(os), _) => Some(os),
            (None, entry) => entry,
        };
        let os_without_source = self
            .inventory
            .packages
            .iter()
            .filter(|p| p.ecosystem.is_os())
            .filter(|p| p.source_name.as_deref().is_none_or(str::is_empty))
            .count();
        if os_without_source > 0 && !self.source_elided_when_equal {
            self.inventory.warnings.push(Warning {
                path: origin.to_string(),
                layer: None,
                message: format!(
                    "{os_without_source} OS package(s) name no source package (no purl `upstream` qualifier, customs, Trivy or Syft property); they are matched by binary package name, which misses advisories filed under the source package"
                ),
            });
        }
        if self.skipped_no_purl > 0 {
            self.inventory.warnings.push(Warning {
                path: origin.to_string(),
                layer: None,
                message: format!(
                    "{} package(s) without a package URL were not read",
                    self.skipped_no_purl
                ),
            });
        }
        for (ty, n) in &self.skipped_types {
            self.inventory.warnings.push(Warning {
                path: origin.to_string(),
                layer: None,
                message: format!("{n} package(s) of purl type {ty:?} are not matched by customs"),
            });
        }
        self.inventory
    }
}

/// The source package named by a purl's `upstream` qualifier: `name` or `name@version`
/// (deb), a source rpm file name (rpm), the origin (apk).
fn upstream(ty: &str, up: &str) -> (Option<String>, Option<String>) {
    match ty {
        "deb" => match up.split_once('@') {
            Some((n, v)) => (Some(n.to_string()), Some(v.to_string())),
            None => (Some(up.to_string()), None),
        },
        "rpm" => {
            // name-version-release.src.rpm
            let stem = up.strip_suffix(".src.rpm").unwrap_or(up);
            let mut parts = stem.rsplitn(3, '-');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(rel), Some(ver), Some(name)) if !name.is_empty() => {
                    (Some(name.to_string()), Some(format!("{ver}-{rel}")))
                }
                _ => (None, None),
            }
        }
        _ => (Some(up.to_string()), None),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Tells CycloneDX from SPDX, checking the version is one customs reads.
pub fn detect(doc: &Value) -> Result<SbomFormat, SbomInputError> {
    if let Some(format) = str_of(doc, "bomFormat") {
        if format != "CycloneDX" {
            return Err(SbomInputError::UnknownFormat);
        }
        let version = str_of(doc, "specVersion").unwrap_or("");
        if !CYCLONEDX_VERSIONS.contains(&version) {
            return Err(SbomInputError::UnsupportedVersion {
                format: "CycloneDX",
                version: version.to_string(),
            });
        }
        return Ok(SbomFormat::CycloneDx);
    }
    if let Some(version) = str_of(doc, "spdxVersion") {
        check_spdx_version(version)?;
        return Ok(SbomFormat::Spdx);
    }
    Err(SbomInputError::UnknownFormat)
}

/// Refuses an SPDX version other than 2.2 and 2.3.
fn check_spdx_version(version: &str) -> Result<(), SbomInputError> {
    if SPDX_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(SbomInputError::UnsupportedVersion {
            format: "SPDX",
            version: version.to_string(),
        })
    }
}

/// Reads a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) document into an inventory.
/// `origin` (the file name) names the document in warnings.
pub fn read_sbom(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| body[i]) {
        Some(b'<') => read_cyclonedx_xml(body, origin),
        Some(b'{' | b'[') => read_json(body, origin),
        Some(_) if spdx_tag::looks_like_tag_value(body) => read_spdx_tag_value(body, origin),
        _ => Err(SbomInputError::UnknownFormat),
    }
}

/// Reads a CycloneDX or SPDX JSON document into an inventory.
pub fn read_json(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| SbomInputError::NotJson(e.to_string()))?;
    match detect(&doc)? {
        SbomFormat::CycloneDx => read_cyclonedx(&doc, origin),
        SbomFormat::Spdx => read_spdx(&doc, origin),
    }
}

fn read_cyclonedx(doc: &Value, origin: &str) -> Result<Inventory, SbomInputError> {
    let mut reader = Reader::new();
    reader.source_elided_when_equal = elides_equal_sources(doc);
    let components = match doc.get("components") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(SbomInputError::Malformed {
                format: "CycloneDX",
                reason: "components is not an array".into(),
            })
        }
    };
    // Nested components (an image's packages under the image component) are read too;
    // depth is bounded by the JSON parser's recursion limit.
    let mut stack: Vec<&Value> = components.iter().rev().collect();
    while let Some(c) = stack.pop() {
        if let Some(Value::Array(children)) = c.get("components") {
            stack.extend(children.iter().rev());
        }
        match str_of(c, "type").unwrap_or("library") {
            "operating-system" => {
                if reader.os_entry.is_none() {
                    reader.os_entry = os_of_component(
                        str_of(c, "name"),
                        str_of(c, "version"),
                        str_of(c, "description"),
                    );
                }
                continue;
            }
            t if is_not_a_package(t) => continue,
            _ => {}
        }
        let mut entry = Entry {
            name: str_of(c, "name").map(str::to_string),
            version: str_of(c, "version").map(str::to_string),
            purl: str_of(c, "purl").map(str::to_string),
            ..Entry::default()
        };
        let mut trivy = TrivySource::default();
        if let Some(Value::Array(props)) = c.get("properties") {
            for p in props {
                if let (Some(k), Some(v)) = (str_of(p, "name"), str_of(p, "value")) {
                    apply_property(&mut entry, &mut trivy, k, v);
                }
            }
        }
        finish_component(&mut entry, trivy);
        reader.add(entry);
    }
    Ok(reader.finish(origin))
}

/// Whether a CycloneDX component of this `type` is no package (the image itself, files,
/// data); the operating system is read apart.
fn is_not_a_package(component_type: &str) -> bool {
    matches!(
        component_type,
        "container" | "file" | "data" | "machine-learning-model"
    )
}

/// Applies one CycloneDX property (customs', Trivy's or Syft's) to a component's entry.
fn apply_property(entry: &mut Entry, trivy: &mut TrivySource, k: &str, v: &str) {
    match k {
        "customs:source-name" => entry.source_name = Some(v.to_string()),
        "customs:source-version" => entry.source_version = Some(v.to_string()),
        // Trivy: the source package of a deb, rpm or apk, with its version in parts (epoch
        // and release apart).
        "aquasecurity:trivy:SrcName" if entry.source_name.is_none() => {
            entry.source_name = Some(v.to_string())
        }
        "aquasecurity:trivy:SrcVersion" => trivy.version = Some(v.to_string()),
        "aquasecurity:trivy:SrcRelease" => trivy.release = Some(v.to_string()),
        "aquasecurity:trivy:SrcEpoch" => trivy.epoch = Some(v.to_string()),
        // Syft: the deb's source package (and, when it differs, its version).
        "syft:metadata:source" if entry.source_name.is_none() => {
            entry.source_name = Some(source_name_only(v))
        }
        "syft:metadata:sourceVersion" if entry.source_version.is_none() => {
            entry.source_version = Some(v.to_string())
        }
        "customs:layer" => entry.layer = Some(v.to_string()),
        "customs:location" => entry.locations.push(v.to_string()),
        _ => {}
    }
}

/// Takes Trivy's source version when no other property named one.
fn finish_component(entry: &mut Entry, trivy: TrivySource) {
    if entry.source_version.is_none() {
        entry.source_version = trivy.full();
    }
}

/// The CycloneDX operating-system component as the OS entry.
fn os_of_component(
    name: Option<&str>,
    version: Option<&str>,
    description: Option<&str>,
) -> Option<OsInfo> {
    name.map(|n| OsInfo {
        family: n.to_ascii_lowercase(),
        version: version.unwrap_or("").to_string(),
        pretty_name: description.map(str::to_string),
        ..OsInfo::default()
    })
}

/// Trivy's `SrcVersion`, `SrcRelease` and `SrcEpoch` properties.
#[derive(Default)]
struct TrivySource {
    version: Option<String>,
    release: Option<String>,
    epoch: Option<String>,
}

impl TrivySource {
    /// `[epoch:]version[-release]`, as dpkg and rpm write a full version.
    fn full(self) -> Option<String> {
        let mut v = self.version.filter(|v| !v.is_empty())?;
        if let Some(r) = self.release.filter(|r| !r.is_empty()) {
            v = format!("{v}-{r}");
        }
        if let Some(e) = self.epoch.filter(|e| !e.is_empty() && e != "0") {
            v = format!("{e}:{v}");
        }
        Some(v)
    }
}

/// Syft writes `source` as `name` or `name (version)`.
fn source_name_only(v: &str) -> String {
    v.split(" (").next().unwrap_or(v).trim().to_string()
}

fn read_spdx(doc: &Value, origin: &str) -> Result<Inventory, SbomInputError> {
    let mut reader = Reader::new();
    reader.source_elided_when_equal = elides_equal_sources(doc);
    let packages = match doc.get("packages") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(SbomInputError::Malformed {
                format: "SPDX",
                reason: "packages is not an array".into(),
            })
        }
    };
    for p in packages {
        let purl = match p.get("externalRefs") {
            Some(Value::Array(refs)) => refs.iter().find_map(|r| {
                (str_of(r, "referenceType") == Some("purl"))
                    .then(|| str_of(r, "referenceLocator"))
                    .flatten()
            }),
            _ => None,
        };
        add_spdx_package(
            &mut reader,
            SpdxPackage {
                name: str_of(p, "name").map(str::to_string),
                version: str_of(p, "versionInfo").map(str::to_string),
                purl: purl.map(str::to_string),
                source_info: str_of(p, "sourceInfo").map(str::to_string),
                description: str_of(p, "description").map(str::to_string),
                purpose: str_of(p, "primaryPackagePurpose").map(str::to_string),
            },
        );
    }
    Ok(reader.finish(origin))
}

/// What customs reads of one SPDX package, in either syntax.
#[derive(Default)]
struct SpdxPackage {
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    source_info: Option<String>,
    description: Option<String>,
    purpose: Option<String>,
}

/// One SPDX package into the reader: the operating system becomes the OS entry, the image
/// and files are skipped, everything else is a package.
fn add_spdx_package(reader: &mut Reader, p: SpdxPackage) {
    match p.purpose.as_deref() {
        Some("OPERATING-SYSTEM") => {
            if reader.os_entry.is_none() {
                reader.os_entry = os_of_component(
                    p.name.as_deref(),
                    p.version.as_deref(),
                    p.description.as_deref(),
                );
            }
            return;
        }
        Some("CONTAINER" | "FILE") => return,
        _ => {}
    }
    // customs writes "built from source package NAME[ VERSION]".
    let (source_name, source_version) = match p
        .source_info
        .as_deref()
        .and_then(|s| s.strip_prefix("built from source package "))
    {
        Some(rest) => match rest.split_once(' ') {
            Some((n, v)) => (Some(n.to_string()), Some(v.to_string())),
            None => (Some(rest.to_string()), None),
        },
        None => (None, None),
    };
    reader.add(Entry {
        name: p.name,
        version: p.version,
        purl: p.purl,
        source_name,
        source_version,
        ..Entry::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_parts_are_decoded() {
        let p = Purl::parse("pkg:npm/%40babel/cli@7.16.8").unwrap();
        assert_eq!(p.package_name(), "@babel/cli");
        assert_eq!(p.version.as_deref(), Some("7.16.8"));
        let p = Purl::parse(
            "pkg:deb/debian/util-linux-extra@2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5",
        )
        .unwrap();
        assert_eq!(p.name, "util-linux-extra");
        assert_eq!(p.version.as_deref(), Some("2.38.1-5+b1"));
        assert_eq!(p.qualifiers["upstream"], "util-linux@2.38.1-5");
        assert_eq!(p.namespace.as_deref(), Some("debian"));
    }

    #[test]
    fn go_module_path_keeps_its_namespace() {
        let p = Purl::parse("pkg:golang/github.com/golang/xerrors@v0.0.0-2022").unwrap();
        assert_eq!(p.package_name(), "github.com/golang/xerrors");
        assert_eq!(p.ecosystem(), Some(crate::Ecosystem::Go));
    }

    #[test]
    fn maven_name_joins_group_and_artifact() {
        let p = Purl::parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        assert_eq!(p.package_name(), "org.apache.logging.log4j:log4j-core");
    }

    #[test]
    fn not_a_purl_is_none() {
        assert!(Purl::parse("npm/foo@1").is_err());
        assert!(Purl::parse("pkg:").is_err());
        assert!(Purl::parse("pkg:npm/").is_err());
        assert!(Purl::parse("pkg:%").is_err());
    }

    #[test]
    fn go_stdlib_versions_drop_the_go_and_v_prefixes() {
        for v in ["go1.22.0", "v1.22.0", "1.22.0"] {
            let doc = format!(
                r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
                {{"type":"library","name":"stdlib","version":"{v}","purl":"pkg:golang/stdlib@{v}"}}]}}"#
            );
            let inv = read_sbom(doc.as_bytes(), "go.cdx.json").unwrap();
            assert_eq!(inv.packages[0].version, "1.22.0", "{v}");
        }
    }

    #[test]
    fn a_version_only_distro_qualifier_takes_the_family_from_the_namespace() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.7","components":[
            {"type":"library","name":"musl","version":"1.1.22-r3",
             "purl":"pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=3.10.4"}]}"#;
        let inv = read_sbom(doc, "trivy.cdx.json").unwrap();
        let os = inv.os.unwrap();
        assert_eq!(
            (os.family.as_str(), os.version.as_str()),
            ("alpine", "3.10.4")
        );
    }

    #[test]
    fn distro_qualifier_splits_at_version() {
        let os = os_from_distro("alpine-3.11.5").unwrap();
        assert_eq!(
            (os.family.as_str(), os.version.as_str()),
            ("alpine", "3.11.5")
        );
        let os = os_from_distro("opensuse-leap-15.5").unwrap();
        assert_eq!(
            (os.family.as_str(), os.version.as_str()),
            ("opensuse-leap", "15.5")
        );
    }

    #[test]
    fn rpm_upstream_names_source_package() {
        assert_eq!(
            upstream("rpm", "vim-9.0-1.cm2.src.rpm"),
            (Some("vim".into()), Some("9.0-1.cm2".into()))
        );
    }

    #[test]
    fn cyclonedx_components_become_packages_with_os() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"type":"library","name":"PyYAML","version":"5.3","purl":"pkg:pypi/pyyaml@5.3"},
            {"type":"library","name":"musl-utils","version":"1.1.24-r2",
             "purl":"pkg:apk/alpine/musl-utils@1.1.24-r2?arch=x86_64&distro=alpine-3.11.5&upstream=musl"},
            {"type":"library","name":"nopurl","version":"1"}]}"#;
        let inv = read_sbom(doc, "bom.json").unwrap();
        assert_eq!(inv.os.as_ref().unwrap().version, "3.11.5");
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(inv.packages[0].name, "PyYAML");
        assert_eq!(inv.packages[0].ecosystem, "PyPI");
        assert_eq!(inv.packages[1].source_name.as_deref(), Some("musl"));
        assert_eq!(inv.warnings.len(), 1);
    }

    #[test]
    fn spdx_2_2_packages_and_os_are_read() {
        let doc = br#"{"spdxVersion":"SPDX-2.2","packages":[
            {"SPDXID":"SPDXRef-os","name":"debian","versionInfo":"12","primaryPackagePurpose":"OPERATING-SYSTEM"},
            {"SPDXID":"SPDXRef-1","name":"libssl3","versionInfo":"3.0.11-1~deb12u2",
             "sourceInfo":"built from source package openssl 3.0.11-1~deb12u2",
             "externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl",
               "referenceLocator":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64"}]},
            {"SPDXID":"SPDXRef-2","name":"log4j-core","versionInfo":"2.14.1",
             "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl",
               "referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]}]}"#;
        let inv = read_sbom(doc, "spdx.json").unwrap();
        let os = inv.os.unwrap();
        assert_eq!((os.family.as_str(), os.version.as_str()), ("debian", "12"));
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(inv.packages[0].ecosystem, "Debian");
        assert_eq!(inv.packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(
            inv.packages[0].source_version.as_deref(),
            Some("3.0.11-1~deb12u2")
        );
        assert_eq!(inv.packages[1].name, "org.apache.logging.log4j:log4j-core");
        assert_eq!(inv.packages[1].ecosystem, "Maven");
    }

    #[test]
    fn trivy_source_properties_name_the_source_package() {
        // As Trivy 0.76 writes a bookworm deb, in CycloneDX 1.7.
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.7","components":[
            {"type":"library","name":"libssl3","version":"3.0.15-1~deb12u1",
             "purl":"pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12.8",
             "properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"},
                           {"name":"aquasecurity:trivy:SrcVersion","value":"3.0.15"},
                           {"name":"aquasecurity:trivy:SrcRelease","value":"1~deb12u1"}]},
            {"type":"library","name":"tar","version":"1.34+dfsg-1.2+deb12u1",
             "purl":"pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12.8",
             "properties":[{"name":"aquasecurity:trivy:SrcName","value":"tar"},
                           {"name":"aquasecurity:trivy:SrcVersion","value":"1.34+dfsg"},
                           {"name":"aquasecurity:trivy:SrcRelease","value":"1.2+deb12u1"},
                           {"name":"aquasecurity:trivy:SrcEpoch","value":"1"}]},
            {"type":"library","name":"zlib1g","version":"1:1.2.13.dfsg-1",
             "purl":"pkg:deb/debian/zlib1g@1.2.13.dfsg-1?distro=debian-12.8"}]}"#;
        let inv = read_sbom(doc, "trivy.cdx.json").unwrap();
        assert_eq!(inv.packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(
            inv.packages[0].source_version.as_deref(),
            Some("3.0.15-1~deb12u1")
        );
        assert_eq!(
            inv.packages[1].source_version.as_deref(),
            Some("1:1.34+dfsg-1.2+deb12u1")
        );
        // The third names no source: a warning, so the misses are not silent.
        assert!(inv
            .warnings
            .iter()
            .any(|w| w.message.starts_with("1 OS package(s) name no source")));
        assert_eq!(inv.os.as_ref().unwrap().family, "debian");
    }

    #[test]
    fn old_spdx_and_cyclonedx_versions_are_refused() {
        assert!(matches!(
            read_sbom(br#"{"spdxVersion":"SPDX-2.1"}"#, "x"),
            Err(SbomInputError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            read_sbom(br#"{"bomFormat":"CycloneDX","specVersion":"1.1"}"#, "x"),
            Err(SbomInputError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            read_sbom(b"[1]", "x"),
            Err(SbomInputError::UnknownFormat)
        ));
    }

    /// One Trivy-style deb (source in properties), one Syft-style deb (source in the purl's
    /// `upstream`), one nested npm package under a file component, and the OS, in CycloneDX
    /// JSON of the given spec version.
    fn cdx_json(version: &str) -> String {
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"{version}",
            "metadata":{{"component":{{"type":"container","name":"img","purl":"pkg:oci/img@sha256%3Aab"}}}},
            "components":[
             {{"type":"library","name":"libssl3","version":"3.0.15-1~deb12u1",
              "purl":"pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
              "properties":[{{"name":"aquasecurity:trivy:SrcName","value":"openssl"}},
                            {{"name":"aquasecurity:trivy:SrcVersion","value":"3.0.15"}},
                            {{"name":"aquasecurity:trivy:SrcRelease","value":"1~deb12u1"}},
                            {{"name":"aquasecurity:trivy:SrcEpoch","value":"1"}}]}},
             {{"type":"library","name":"passwd","version":"1:4.13+dfsg1-1+deb12u2",
              "purl":"pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bdeb12u2?arch=amd64&distro=debian-12&upstream=shadow"}},
             {{"type":"file","name":"app","components":[
               {{"type":"library","name":"@babel/cli","version":"7.16.8","purl":"pkg:npm/%40babel/cli@7.16.8"}}]}},
             {{"type":"operating-system","name":"debian","version":"12","description":"Debian GNU/Linux 12 (bookworm)"}}]}}"#
        )
    }

    /// The same document in CycloneDX XML, with a namespace prefix when asked, escapes in
    /// the purls and a CDATA version.
    fn cdx_xml(version: &str, prefix: &str) -> String {
        let p = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}:")
        };
        let xmlns = if prefix.is_empty() {
            "xmlns".to_string()
        } else {
            format!("xmlns:{prefix}")
        };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<{p}bom {xmlns}="http://cyclonedx.org/schema/bom/{version}" version="1">
  <{p}metadata><{p}component type="container"><{p}name>img</{p}name><{p}purl>pkg:oci/img@sha256%3Aab</{p}purl></{p}component></{p}metadata>
  <{p}components>
    <{p}component type="library">
      <{p}name>libssl3</{p}name><{p}version><![CDATA[3.0.15-1~deb12u1]]></{p}version>
      <{p}purl>pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&amp;distro=debian-12</{p}purl>
      <{p}properties>
        <{p}property name="aquasecurity:trivy:SrcName">openssl</{p}property>
        <{p}property name="aquasecurity:trivy:SrcVersion">3.0.15</{p}property>
        <{p}property name="aquasecurity:trivy:SrcRelease">1~deb12u1</{p}property>
        <{p}property name="aquasecurity:trivy:SrcEpoch">&#49;</{p}property>
      </{p}properties>
    </{p}component>
    <{p}component type="library">
      <{p}supplier><{p}name>Debian</{p}name></{p}supplier>
      <{p}name>passwd</{p}name><{p}version>1:4.13+dfsg1-1+deb12u2</{p}version>
      <{p}purl>pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bdeb12u2?arch=amd64&amp;distro=debian-12&amp;upstream=shadow</{p}purl>
    </{p}component>
    <{p}component type="file"><{p}name>app</{p}name>
      <{p}components>
        <{p}component type="library"><{p}name>@babel/cli</{p}name><{p}version>7.16.8</{p}version><{p}purl>pkg:npm/%40babel/cli@7.16.8</{p}purl></{p}component>
      </{p}components>
    </{p}component>
    <{p}component type="operating-system"><{p}name>debian</{p}name><{p}version>12</{p}version><{p}description>Debian GNU/Linux 12 (bookworm)</{p}description></{p}component>
  </{p}components>
</{p}bom>
"#
        )
    }

    #[test]
    fn cyclonedx_xml_of_every_version_reads_as_its_json() {
        for version in ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"] {
            let json = read_sbom(cdx_json(version).as_bytes(), "b").unwrap();
            for prefix in ["", "cdx"] {
                let xml = read_sbom(cdx_xml(version, prefix).as_bytes(), "b").unwrap();
                assert_eq!(xml.packages, json.packages, "{version} {prefix:?}");
                assert_eq!(xml.os, json.os, "{version}");
                assert_eq!(xml.warnings, json.warnings, "{version}");
            }
        }
        let inv = read_sbom(cdx_xml("1.6", "").as_bytes(), "b").unwrap();
        let names: Vec<_> = inv.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libssl3", "passwd", "@babel/cli"]);
        assert_eq!(inv.packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(
            inv.packages[0].source_version.as_deref(),
            Some("1:3.0.15-1~deb12u1")
        );
        assert_eq!(inv.packages[1].source_name.as_deref(), Some("shadow"));
        assert_eq!(
            inv.packages[1].purl.as_ref().unwrap().qualifier("distro"),
            Some("debian-12")
        );
        let os = inv.os.unwrap();
        assert_eq!((os.family.as_str(), os.version.as_str()), ("debian", "12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn cyclonedx_xml_tools_of_old_and_new_layout_name_syft() {
        let old = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><metadata><tools><tool><vendor>anchore</vendor><name>syft</name></tool></tools></metadata>
            <components><component type="library"><name>zlib1g</name><version>1:1.2.13.dfsg-1</version><purl>pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?distro=debian-12</purl></component></components></bom>"#;
        let new = old.replace("1.4", "1.6").replace(
            "<tool><vendor>anchore</vendor><name>syft</name></tool>",
            r#"<components><component type="application"><author>anchore</author><name>syft</name></component></components>"#,
        );
        let none = old.replace("syft", "othertool");
        for doc in [old, &new] {
            let inv = read_sbom(doc.as_bytes(), "b").unwrap();
            assert_eq!(inv.packages.len(), 1, "the tool is no package");
            assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        }
        let inv = read_sbom(none.as_bytes(), "b").unwrap();
        assert!(inv.warnings[0]
            .message
            .starts_with("1 OS package(s) name no source"));
    }

    #[test]
    fn bad_cyclonedx_xml_is_a_clear_error() {
        let cases: &[(&str, &str)] = &[
            (
                r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.1"/>"#,
                "unsupported CycloneDX version 1.1",
            ),
            (r#"<bom xmlns="urn:other"/>"#, "namespace is \"urn:other\""),
            (r#"<bom/>"#, "namespace is \"\""),
            (r#"<html/>"#, "neither CycloneDX"),
            (
                r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components></bom>"#,
                "malformed CycloneDX XML",
            ),
            (
                r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>"#,
                "ends inside <components>",
            ),
            (
                r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component><name>&xxe;</name></component></components></bom>"#,
                "unknown entity &xxe;",
            ),
            (
                "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\">\u{0}\u{ff}",
                "malformed",
            ),
        ];
        for (doc, want) in cases {
            let err = read_sbom(doc.as_bytes(), "b").unwrap_err().to_string();
            assert!(err.contains(want), "{doc}: {err}");
        }
        let deep = format!(
            r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6">{}"#,
            "<a>".repeat(1000)
        );
        let err = read_sbom(deep.as_bytes(), "b").unwrap_err().to_string();
        assert!(err.contains("nested deeper than 256"), "{err}");
        // A DOCTYPE with an entity is never expanded.
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component><name>&x;</name><purl>pkg:npm/a@1</purl></component></components></bom>"#;
        assert!(read_sbom(xxe.as_bytes(), "b")
            .unwrap_err()
            .to_string()
            .contains("unknown entity &x;"));
    }

    /// The SPDX JSON test document above in tag-value, with a multi-line `<text>` value, a
    /// file section after the first package and a comment.
    const SPDX_TAG: &str = "SPDXVersion: SPDX-2.2
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
Creator: Tool: hand
# a comment
PackageName: debian
SPDXID: SPDXRef-os
PackageVersion: 12
PrimaryPackagePurpose: OPERATING-SYSTEM

PackageName: libssl3
SPDXID: SPDXRef-1
PackageVersion: 3.0.11-1~deb12u2
PackageSourceInfo: built from source package openssl 3.0.11-1~deb12u2
PackageComment: <text>two
lines: not a tag</text>
ExternalRef: SECURITY cpe23Type cpe:2.3:a:openssl:libssl3:3.0.11:*:*:*:*:*:*:*
ExternalRef: PACKAGE-MANAGER purl pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64

FileName: /usr/lib/x.so
SPDXID: SPDXRef-File-1
PackageVersion: 9

PackageName: log4j-core
SPDXID: SPDXRef-2
PackageVersion: 2.14.1
ExternalRef: PACKAGE-MANAGER purl pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1
Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-2
";

    const SPDX_JSON: &[u8] = br#"{"spdxVersion":"SPDX-2.2","creationInfo":{"creators":["Tool: hand"]},"packages":[
            {"SPDXID":"SPDXRef-os","name":"debian","versionInfo":"12","primaryPackagePurpose":"OPERATING-SYSTEM"},
            {"SPDXID":"SPDXRef-1","name":"libssl3","versionInfo":"3.0.11-1~deb12u2",
             "sourceInfo":"built from source package openssl 3.0.11-1~deb12u2",
             "externalRefs":[{"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe:2.3:a:openssl:libssl3:3.0.11:*:*:*:*:*:*:*"},
               {"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl",
               "referenceLocator":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64"}]},
            {"SPDXID":"SPDXRef-2","name":"log4j-core","versionInfo":"2.14.1",
             "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl",
               "referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]}]}"#;

    #[test]
    fn spdx_tag_value_reads_as_its_json() {
        let json = read_sbom(SPDX_JSON, "s").unwrap();
        for version in ["SPDX-2.2", "SPDX-2.3"] {
            let doc = SPDX_TAG.replace("SPDX-2.2", version);
            let tag = read_sbom(doc.as_bytes(), "s").unwrap();
            assert_eq!(tag.packages, json.packages);
            assert_eq!(tag.os, json.os);
            assert_eq!(tag.warnings, json.warnings);
        }
        assert_eq!(json.packages.len(), 2);
        assert_eq!(json.packages[0].source_name.as_deref(), Some("openssl"));
        // With CRLF line ends too.
        let crlf = read_sbom(SPDX_TAG.replace('\n', "\r\n").as_bytes(), "s").unwrap();
        assert_eq!(crlf.packages, json.packages);
    }

    #[test]
    fn bad_spdx_tag_value_is_a_clear_error() {
        let cases: &[(&str, &str)] = &[
            (
                "SPDXVersion: SPDX-2.1\n",
                "unsupported SPDX version SPDX-2.1",
            ),
            (
                "DataLicense: CC0-1.0\nPackageName: x\n",
                "line 2: a package before SPDXVersion",
            ),
            (
                "SPDXVersion: SPDX-2.3\nnot a tag line\n",
                "line 2: expected `Tag: value`",
            ),
            (
                "SPDXVersion: SPDX-2.3\nPackageComment: <text>open\n",
                "line 2: <text> is never closed",
            ),
            ("DataLicense: CC0-1.0\n", "neither CycloneDX"),
            ("just words", "neither CycloneDX"),
        ];
        for (doc, want) in cases {
            let err = read_sbom(doc.as_bytes(), "s").unwrap_err().to_string();
            assert!(err.contains(want), "{doc:?}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = read_sbom(&bytes, "x");
            let _ = read_cyclonedx_xml(&bytes, "x");
            let _ = read_spdx_tag_value(&bytes, "x");
        }

        #[test]
        fn never_panics_on_mutated_xml_and_tag_value(cut in 0usize..2000, byte in proptest::num::u8::ANY) {
            for doc in [cdx_xml("1.6", "cdx"), SPDX_TAG.to_string()] {
                let mut bytes = doc.into_bytes();
                let at = cut % bytes.len();
                bytes[at] = byte;
                let _ = read_sbom(&bytes, "x");
                bytes.truncate(at);
                let _ = read_sbom(&bytes, "x");
            }
        }

        #[test]
        fn purl_parse_never_panics(s in "\\PC{0,80}") {
            let _ = Purl::parse(&s);
            let _ = Purl::parse(&format!("pkg:{s}"));
            let _ = os_from_distro(&s);
        }
    }
}
