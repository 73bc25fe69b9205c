//! Java archives (jar, war, ear, par, sar, jpi, hpi, nar): Maven coordinates from
//! `pom.properties`, else from `META-INF/MANIFEST.MF` and the file name, reading nested
//! archives recursively in memory under depth, size and member-count limits.

use std::io::{Cursor, Read};

use crate::{ExtractError, Package, Purl};

const FORMAT: &str = "Java archive";
/// Archive extensions read as Java archives, top level or nested.
const EXTENSIONS: &[&str] = &["jar", "war", "ear", "par", "sar", "jpi", "hpi", "nar"];

/// Bounds on the work one file may cause; see [`Limits::default`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nested archive opened; the archive handed to [`parse`] is depth 0.
    pub max_depth: usize,
    /// Bytes decompressed in total over all nested archives and metadata files.
    pub max_total_bytes: u64,
    /// Members (files and directories) counted over all nested archives.
    pub max_members: usize,
}

impl Default for Limits {
    /// Depth 16 as osv-scalibr; 512 MiB and 500 000 members, far above real fat jars.
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_total_bytes: 512 * 1024 * 1024,
            max_members: 500_000,
        }
    }
}

/// Largest `pom.properties` or `MANIFEST.MF` read.
const MAX_METADATA_BYTES: u64 = 1024 * 1024;

/// Whether `path` names a Java archive by its extension.
pub fn matches(path: &str) -> bool {
    extension_is_archive(path)
}

fn extension_is_archive(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// Maven packages of a Java archive and of every archive nested in it, within the default
/// [`Limits`].
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    parse_with_limits(path, data, Limits::default())
}

/// As [`parse`]. An archive nested deeper than `limits.max_depth`, or members beyond the byte
/// or member budget, make the whole file an [`ExtractError::Limit`]: such files are built to
/// exhaust scanners.
pub fn parse_with_limits(
    path: &str,
    data: &[u8],
    limits: Limits,
) -> Result<Vec<Package>, ExtractError> {
    let mut walk = Walk {
        limits,
        budget_bytes: limits.max_total_bytes,
        budget_members: limits.max_members,
        out: Vec::new(),
    };
    let location = format!("/{}", path.trim_start_matches('/'));
    walk.archive(&location, data, 0)?;
    Ok(walk.out)
}

struct Walk {
    limits: Limits,
    budget_bytes: u64,
    budget_members: usize,
    out: Vec<Package>,
}

/// Coordinates read from one `pom.properties`.
#[derive(Default)]
struct Coordinates {
    group_id: String,
    artifact_id: String,
    version: String,
    /// Declared licences (`pom.xml`, else the manifest's `Bundle-License`).
    licenses: Vec<String>,
}

impl Walk {
    fn archive(&mut self, location: &str, data: &[u8], depth: usize) -> Result<(), ExtractError> {
        if depth > self.limits.max_depth {
            let max = self.limits.max_depth;
            return Err(ExtractError::limit(
                FORMAT,
                format!("archives nested deeper than {max} levels at {location}"),
            ));
        }
        let mut zip = zip::ZipArchive::new(Cursor::new(data))
            .map_err(|e| ExtractError::malformed(FORMAT, format!("{location}: {e}")))?;
        if zip.len() > self.budget_members {
            let max = self.limits.max_members;
            return Err(ExtractError::limit(
                FORMAT,
                format!("more than {max} members"),
            ));
        }
        self.budget_members -= zip.len();

        let mut poms = Vec::new();
        let mut pom_xmls: Vec<(String, usize)> = Vec::new();
        let mut manifest = None;
        let mut nested = Vec::new();
        for index in 0..zip.len() {
            let Some(name) = zip.name_for_index(index) else {
                continue;
            };
            let file_name = name.rsplit('/').next().unwrap_or(name);
            if file_name == "pom.properties" {
                poms.push(index);
            } else if file_name == "pom.xml" && name.starts_with("META-INF/maven/") {
                pom_xmls.push((name[..name.len() - "pom.xml".len()].to_string(), index));
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest = Some(index);
            } else if extension_is_archive(name) {
                nested.push(index);
            }
        }

        let mut found = Vec::new();
        for index in poms {
            let dir = zip
                .name_for_index(index)
                .map(|n| n[..n.len() - "pom.properties".len()].to_string())
                .unwrap_or_default();
            if let Some(text) = self.read_text(&mut zip, index)? {
                let mut c = parse_pom_properties(&text);
                if !c.group_id.is_empty() && !c.artifact_id.is_empty() && !c.version.is_empty() {
                    // The pom.xml beside the pom.properties declares the licences.
                    if let Some((_, xml)) = pom_xmls.iter().find(|(d, _)| *d == dir) {
                        if let Some(xml) = self.read_text(&mut zip, *xml)? {
                            c.licenses = pom_licenses(&xml);
                        }
                    }
                    found.push(c);
                }
            }
        }
        let manifest_text = match manifest {
            Some(index) => self.read_text(&mut zip, index)?,
            None => None,
        };
        if found.is_empty() {
            if let Some(text) = &manifest_text {
                found.extend(from_manifest(text, location));
            }
        }
        // The manifest describes the archive itself: its licence is that of the one artifact
        // the archive is, never spread over the several a shaded jar carries.
        if let ([c], Some(text)) = (found.as_mut_slice(), &manifest_text) {
            if c.licenses.is_empty() {
                c.licenses = manifest_licenses(text);
            }
        }
        for c in found {
            self.push(c, location);
        }

        for index in nested {
            let (name, bytes) = {
                let Ok(member) = zip.by_index(index) else {
                    continue;
                };
                if member.is_dir() {
                    continue;
                }
                let name = member.name().to_string();
                (name, self.read_limited(member, self.budget_bytes)?)
            };
            let inner = format!("{location}!/{name}");
            match self.archive(&inner, &bytes, depth + 1) {
                // A member named like an archive that is not one loses only itself.
                Err(ExtractError::Malformed { reason, .. }) => {
                    log::debug!("skipping nested archive: {reason}");
                }
                other => other?,
            }
        }
        Ok(())
    }

    fn push(&mut self, c: Coordinates, location: &str) {
        let name = format!("{}:{}", c.group_id, c.artifact_id);
        if self
            .out
            .iter()
            .any(|p| p.name == name && p.version == c.version)
        {
            return;
        }
        self.out.push(Package {
            ecosystem: "Maven".into(),
            purl: Purl::new("maven", Some(&c.group_id), &c.artifact_id, &c.version, &[]),
            name,
            version: c.version,
            found_by: "java-archive".into(),
            locations: vec![location.to_string()],
            licenses: c.licenses,
            ..Package::default()
        });
    }

    /// A small metadata member as text; `None` when it cannot be decompressed (encrypted,
    /// unsupported method) or is larger than any real metadata file.
    fn read_text(
        &mut self,
        zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
        index: usize,
    ) -> Result<Option<String>, ExtractError> {
        let Ok(member) = zip.by_index(index) else {
            return Ok(None);
        };
        let limit = self.budget_bytes.min(MAX_METADATA_BYTES);
        match self.read_limited(member, limit) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(ExtractError::Limit { .. }) if limit == MAX_METADATA_BYTES => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Decompresses a member, never more than `limit` bytes whatever its header claims, and
    /// charges what was read to the byte budget.
    fn read_limited(&mut self, member: impl Read, limit: u64) -> Result<Vec<u8>, ExtractError> {
        let mut bytes = Vec::new();
        member
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ExtractError::malformed(FORMAT, format!("member: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(ExtractError::limit(
                FORMAT,
                format!("more than {limit} bytes decompressed"),
            ));
        }
        self.budget_bytes -= bytes.len() as u64;
        Ok(bytes)
    }
}

/// Reads the Java properties keys Maven writes (`key=value`, `key: value`, `#` comments).
fn parse_pom_properties(text: &str) -> Coordinates {
    let mut c = Coordinates::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            continue;
        };
        let key = line[..split].trim();
        let value = line[split + 1..].trim().to_string();
        match key {
            "groupId" => c.group_id = value,
            "artifactId" => c.artifact_id = value,
            "version" => c.version = value,
            _ => {}
        }
    }
    c
}

/// The main section of a manifest: `Name: value` headers, continuation lines starting with a
/// space, ending at the first blank line.
fn manifest_main_section(text: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(more);
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

/// Coordinates from the manifest when the archive has no `pom.properties`.
///
/// The artifact id and version come from the file name (`name-1.2.3.jar`), the version also
/// from `Implementation-Version` / `Bundle-Version`; the group id only from
/// `Implementation-Vendor-Id`, Maven's own manifest entry for it. Without all three nothing is
/// reported: a guessed group id names a different package.
fn from_manifest(text: &str, location: &str) -> Option<Coordinates> {
    let headers = manifest_main_section(text);
    let get = |key: &str| {
        headers
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let file = location.rsplit('/').next().unwrap_or(location);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let (artifact_id, file_version) = split_name_version(stem);
    let version = get("Implementation-Version")
        .or_else(|| get("Bundle-Version"))
        .or(file_version)?;
    let group_id = get("Implementation-Vendor-Id")?;
    if artifact_id.is_empty() {
        return None;
    }
    Some(Coordinates {
        group_id,
        artifact_id,
        version,
        licenses: Vec::new(),
    })
}

/// The licences a `pom.xml` declares: the `<name>` of each `<license>` in the project's
/// `<licenses>` (its `<url>` when it has no name), entities decoded and white space folded.
/// Comments are ignored; anything unreadable gives an empty list, never an error.
pub fn pom_licenses(xml: &str) -> Vec<String> {
    let xml = strip_xml_comments(xml);
    let Some(block) = element_text(&xml, "licenses") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut rest = block;
    while let Some(license) = element_text(rest, "license") {
        let value = element_text(license, "name")
            .map(xml_text)
            .filter(|n| !n.is_empty())
            .or_else(|| element_text(license, "url").map(xml_text))
            .unwrap_or_default();
        if !value.is_empty() && !out.contains(&value) && out.len() < 64 {
            out.push(value);
        }
        // Advance past this <license> element's content.
        let consumed = license.as_ptr() as usize - rest.as_ptr() as usize + license.len();
        rest = &rest[consumed..];
    }
    out
}

/// The licences of a manifest's `Bundle-License` header (OSGi: a comma-separated list of
/// `name;attribute=...` clauses, names an SPDX id or a URL, quoted when they hold a comma).
/// An unquoted value without clause attributes whose comma parts contain spaces
/// (`Apache License, Version 2.0`) is one licence.
pub fn manifest_licenses(text: &str) -> Vec<String> {
    let headers = manifest_main_section(text);
    let Some((_, value)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Bundle-License"))
    else {
        return Vec::new();
    };
    let value = value.trim();
    let structured = value.contains(';') || value.contains('"');
    let parts = split_outside_quotes(value, ',');
    if !structured && parts.iter().any(|p| p.trim().contains(char::is_whitespace)) {
        return (!value.is_empty())
            .then(|| value.to_string())
            .into_iter()
            .collect();
    }
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        let name = split_outside_quotes(part, ';')
            .first()
            .map(|n| n.trim().trim_matches('"').trim().to_string())
            .unwrap_or_default();
        if !name.is_empty() && !out.contains(&name) && out.len() < 64 {
            out.push(name);
        }
    }
    out
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

fn strip_xml_comments(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The content of the first `<tag>` … `</tag>` element (`<tag attr="…">` too; not
/// `<tagother>`), or `None`.
fn element_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let after = from + i + open.len();
        match xml[after..].chars().next() {
            Some('>') => {
                let body = &xml[after + 1..];
                return body.find(&close).map(|end| &body[..end]);
            }
            Some(c) if c.is_whitespace() => {
                let gt = xml[after..].find('>')? + after;
                if xml[..gt].ends_with('/') {
                    return Some(""); // <tag/>
                }
                let body = &xml[gt + 1..];
                return body.find(&close).map(|end| &body[..end]);
            }
            _ => from = after,
        }
    }
    None
}

fn xml_text(raw: &str) -> String {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .unwrap_or(raw);
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `guava-31.1-jre` -> (`guava`, `31.1-jre`): the version starts at the first `-` followed by
/// a digit.
fn split_name_version(stem: &str) -> (String, Option<String>) {
    let bytes = stem.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) && i > 0 {
            return (stem[..i].to_string(), Some(stem[i + 1..].to_string()));
        }
    }
    (stem.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn archive_extensions_match_case_insensitively() {
        assert!(matches("app/lib/a-1.0.jar"));
        assert!(matches("opt/x.WAR"));
        assert!(matches("plugins/p.hpi"));
        assert!(!matches("a/jar"));
        assert!(!matches("a/.jar"));
        assert!(!matches("a/b.zip"));
    }

    #[test]
    fn manifest_with_vendor_id_and_versioned_file_name_gives_a_package() {
        let manifest = b"Manifest-Version: 1.0\r\nImplementation-Vendor-Id: org.exa\r\n mple\r\n\
            Implementation-Version: 2.0\r\n\r\nName: x\r\nImplementation-Version: 9\r\n";
        let jar = zip_of(
            &[("META-INF/MANIFEST.MF", manifest)],
            zip::CompressionMethod::Deflated,
        );
        let pkgs = parse("lib/thing-2.0.jar", &jar).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "org.example:thing");
        assert_eq!(pkgs[0].version, "2.0");
        assert_eq!(pkgs[0].purl_string(), "pkg:maven/org.example/thing@2.0");
    }

    #[test]
    fn pom_xml_licences_beside_pom_properties() {
        let pom = b"groupId=g\nartifactId=a\nversion=1\n";
        let xml = b"<project><!-- <licenses><license><name>Fake</name></license></licenses> -->\n\
            <dependencies><dependency><artifactId>x</artifactId></dependency></dependencies>\n\
            <licenses>\n <license>\n  <name>Apache License,\n   Version 2.0</name>\n\
            <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license>\n\
            <license><url>https://opensource.org/licenses/MIT</url></license>\n\
            <license><name>EPL &amp; more</name></license></licenses></project>";
        let manifest = b"Manifest-Version: 1.0\nBundle-License: MIT\n";
        let jar = zip_of(
            &[
                ("META-INF/MANIFEST.MF", manifest),
                ("META-INF/maven/g/a/pom.properties", pom),
                ("META-INF/maven/g/a/pom.xml", xml),
            ],
            zip::CompressionMethod::Deflated,
        );
        let pkgs = parse("lib/a-1.jar", &jar).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            pkgs[0].licenses,
            [
                "Apache License, Version 2.0",
                "https://opensource.org/licenses/MIT",
                "EPL & more"
            ]
        );
    }

    #[test]
    fn bundle_license_when_the_pom_declares_none() {
        let pom = b"groupId=g\nartifactId=a\nversion=1\n";
        let manifest =
            b"Manifest-Version: 1.0\nBundle-License: \"Apache-2.0\";link=\"https://x/\n y\",MIT\n";
        let jar = zip_of(
            &[
                ("META-INF/MANIFEST.MF", manifest),
                ("META-INF/maven/g/a/pom.properties", pom),
            ],
            zip::CompressionMethod::Stored,
        );
        let pkgs = parse("lib/a-1.jar", &jar).unwrap();
        assert_eq!(pkgs[0].licenses, ["Apache-2.0", "MIT"]);
        assert_eq!(
            manifest_licenses("Bundle-License: Apache License, Version 2.0\n"),
            ["Apache License, Version 2.0"]
        );
        assert!(manifest_licenses("Bundle-Name: x\n").is_empty());
        assert!(pom_licenses("<project><licenses><license>").is_empty());
        assert!(pom_licenses("<licenses/><license><name>x</name></license>").is_empty());
    }

    #[test]
    fn manifest_without_group_id_gives_nothing() {
        let manifest = b"Manifest-Version: 1.0\nImplementation-Version: 2.0\n";
        let jar = zip_of(
            &[("META-INF/MANIFEST.MF", manifest)],
            zip::CompressionMethod::Stored,
        );
        assert!(parse("lib/thing-2.0.jar", &jar).unwrap().is_empty());
    }

    #[test]
    fn pom_properties_win_over_manifest_and_duplicates_collapse() {
        let pom = b"#Generated\ngroupId=g\nartifactId=a\nversion=1\n";
        let manifest = b"Implementation-Vendor-Id: other\nImplementation-Version: 5\n";
        let inner = zip_of(
            &[("META-INF/maven/g/a/pom.properties", pom)],
            zip::CompressionMethod::Deflated,
        );
        let outer = zip_of(
            &[
                ("META-INF/MANIFEST.MF", manifest),
                ("META-INF/maven/g/a/pom.properties", pom),
                ("BOOT-INF/lib/a-1.jar", &inner),
            ],
            zip::CompressionMethod::Deflated,
        );
        let pkgs = parse("app.jar", &outer).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("g:a", "1")
        );
    }

    #[test]
    fn corrupt_nested_archive_does_not_hide_the_outer_package() {
        let pom = b"groupId=g\nartifactId=a\nversion=1\n";
        let outer = zip_of(
            &[
                ("lib/broken.jar", b"not a zip"),
                ("META-INF/maven/g/a/pom.properties", pom),
            ],
            zip::CompressionMethod::Deflated,
        );
        let pkgs = parse("app.jar", &outer).unwrap();
        assert_eq!(pkgs.len(), 1);
        // At the top level the same bytes are an error.
        assert!(matches!(
            parse("x.jar", b"not a zip"),
            Err(ExtractError::Malformed { .. })
        ));
    }

    #[test]
    fn nested_archive_location_names_the_member() {
        let pom = b"groupId=g\nartifactId=a\nversion=1\n";
        let inner = zip_of(&[("pom.properties", pom)], zip::CompressionMethod::Deflated);
        let outer = zip_of(&[("lib/inner.jar", &inner)], zip::CompressionMethod::Stored);
        let pkgs = parse("app/outer.war", &outer).unwrap();
        assert_eq!(pkgs[0].locations, ["/app/outer.war!/lib/inner.jar"]);
    }

    #[test]
    fn zip_bomb_member_hits_the_byte_limit() {
        // 64 MiB of zeros deflate to about 64 KiB; the nested ".jar" is decompressed in memory
        // and must stop at the budget rather than allocate it all.
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file("bomb.jar", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            out.write_all(&chunk).unwrap();
        }
        let jar = out.finish().unwrap().into_inner();
        assert!(jar.len() < 1 << 20);
        let limits = Limits {
            max_total_bytes: 16 << 20,
            ..Limits::default()
        };
        let err = parse_with_limits("bomb.jar", &jar, limits).unwrap_err();
        assert!(matches!(err, ExtractError::Limit { .. }), "{err}");
    }

    #[test]
    fn member_count_over_the_limit_is_refused() {
        let members: Vec<(String, &[u8])> = (0..20).map(|i| (format!("f{i}"), &b""[..])).collect();
        let members: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let jar = zip_of(&members, zip::CompressionMethod::Stored);
        let limits = Limits {
            max_members: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_with_limits("a.jar", &jar, limits),
            Err(ExtractError::Limit { .. })
        ));
        assert!(parse("a.jar", &jar).unwrap().is_empty());
    }

    #[test]
    fn file_name_versions_split_at_first_dash_digit() {
        assert_eq!(
            split_name_version("guava-31.1-jre"),
            ("guava".into(), Some("31.1-jre".into()))
        );
        assert_eq!(
            split_name_version("commons-lang3-3.12.0"),
            ("commons-lang3".into(), Some("3.12.0".into()))
        );
        assert_eq!(split_name_version("random"), ("random".into(), None));
    }
}
