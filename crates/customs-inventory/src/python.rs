//! Python packages from core metadata: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`,
//! `EGG-INFO/PKG-INFO`, `*.egg-info` single files, and zipped wheels (`.whl`) and eggs
//! (`.egg`), whose metadata member is read with a size cap.

use std::io::{Cursor, Read};

use crate::Purl;
use crate::{ExtractError, Package};

const ECOSYSTEM: &str = "PyPI";
/// Largest metadata member read out of a wheel or egg.
const MAX_METADATA_BYTES: u64 = 8 * 1024 * 1024;
/// Most archive members looked at for the metadata file.
const MAX_ZIP_ENTRIES: usize = 100_000;

/// Whether `path` is Python package metadata this module reads.
pub fn matches(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        [.., dir, "METADATA"] => dir.ends_with(".dist-info"),
        [.., dir, "PKG-INFO"] => dir.ends_with(".egg-info") || *dir == "EGG-INFO",
        [.., file] => {
            file.ends_with(".egg-info") || file.ends_with(".whl") || file.ends_with(".egg")
        }
        [] => false,
    }
}

/// Reads the metadata file or archive at `path`. A wheel or egg without metadata gives no
/// packages; a metadata file without `Name` and `Version` is an error.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    if path.ends_with(".whl") {
        return parse_archive(path, data, "python-wheel", |m| {
            // `<name>-<version>.dist-info/METADATA` at the top of the wheel.
            matches!(m.split('/').collect::<Vec<_>>().as_slice(), [d, "METADATA"] if d.ends_with(".dist-info"))
        });
    }
    if path.ends_with(".egg") {
        return parse_archive(path, data, "python-egg", |m| m == "EGG-INFO/PKG-INFO");
    }
    let found_by = if path.ends_with("/METADATA") || path == "METADATA" {
        "python-dist-info"
    } else {
        "python-egg-info"
    };
    Ok(vec![package_from_metadata(path, data, found_by)?])
}

fn parse_archive(
    path: &str,
    data: &[u8],
    found_by: &str,
    is_metadata: impl Fn(&str) -> bool,
) -> Result<Vec<Package>, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| ExtractError::malformed("python archive", e.to_string()))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(ExtractError::limit(
            "python archive",
            format!("{} members", archive.len()),
        ));
    }
    let Some(name) = archive
        .file_names()
        .find(|n| is_metadata(n))
        .map(str::to_string)
    else {
        return Ok(Vec::new());
    };
    let member = archive
        .by_name(&name)
        .map_err(|e| ExtractError::malformed("python archive", e.to_string()))?;
    let mut buf = Vec::new();
    member
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ExtractError::malformed("python archive", format!("{name}: {e}")))?;
    if buf.len() as u64 > MAX_METADATA_BYTES {
        return Err(ExtractError::limit(
            "python archive",
            format!("{name} exceeds {MAX_METADATA_BYTES} bytes"),
        ));
    }
    Ok(vec![package_from_metadata(path, &buf, found_by)?])
}

fn package_from_metadata(path: &str, data: &[u8], found_by: &str) -> Result<Package, ExtractError> {
    let meta = Metadata::parse(data);
    let (Some(name), Some(version)) = (meta.first("name"), meta.first("version")) else {
        return Err(ExtractError::malformed(
            "python metadata",
            "no Name and Version headers",
        ));
    };
    if name.is_empty() || version.is_empty() {
        return Err(ExtractError::malformed(
            "python metadata",
            "empty Name or Version",
        ));
    }
    Ok(Package {
        ecosystem: ECOSYSTEM.into(),
        name: name.to_string(),
        version: version.to_string(),
        purl: Purl::new("pypi", None, &normalize_name(name), version, &[]),
        licenses: meta.licenses(),
        found_by: found_by.to_string(),
        locations: vec![format!("/{}", path.trim_start_matches('/'))],
        ..Package::default()
    })
}

/// PEP 503 normalised name: lower case, runs of `-`, `_` and `.` replaced by one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The header block of a core metadata file (RFC 822 style), in order of appearance.
struct Metadata {
    /// (lower-cased header name, value with continuation lines joined by `\n`).
    headers: Vec<(String, String)>,
}

impl Metadata {
    /// Headers end at the first empty line (the description body follows). A line indented
    /// by a space or tab continues the previous header; a line without `:` (broken
    /// continuation, seen in the wild after `Keywords:`) is skipped.
    fn parse(data: &[u8]) -> Metadata {
        let text = String::from_utf8_lossy(data);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                headers.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        Metadata { headers }
    }

    /// The first value of header `key` (lower case): Python's `email` parser returns the first.
    fn first(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `License-Expression` if present, else a one-line `License` (not `UNKNOWN`), else the
    /// last segment of each `License ::` classifier.
    fn licenses(&self) -> Vec<String> {
        if let Some(expr) = self.first("license-expression").filter(|e| !e.is_empty()) {
            return vec![expr.to_string()];
        }
        if let Some(lic) = self.first("license") {
            if !lic.is_empty() && !lic.contains('\n') && !lic.eq_ignore_ascii_case("UNKNOWN") {
                return vec![lic.to_string()];
            }
        }
        self.all("classifier")
            .filter(|c| c.starts_with("License ::"))
            .filter_map(|c| c.rsplit("::").next().map(str::trim))
            .filter(|l| !l.is_empty() && *l != "OSI Approved")
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_normalisation() {
        assert_eq!(
            normalize_name("backports.ssl_match_hostname"),
            "backports-ssl-match-hostname"
        );
        assert_eq!(normalize_name("Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(normalize_name("pyOpenSSL"), "pyopenssl");
    }

    #[test]
    fn matches_metadata_locations() {
        assert!(matches(
            "usr/lib/python3/dist-packages/pip-22.2.2.dist-info/METADATA"
        ));
        assert!(matches(
            "usr/lib/python3/site-packages/x.egg/EGG-INFO/PKG-INFO"
        ));
        assert!(matches(
            "usr/lib/python3/site-packages/httplib2-0.20.4.egg-info/PKG-INFO"
        ));
        assert!(matches(
            "usr/lib/python3/dist-packages/pycups-2.0.1.egg-info"
        ));
        assert!(matches("site-packages/monotonic-1.6-py2.py3-none-any.whl"));
        assert!(matches("site-packages/monotonic-1.6-py3.10.egg"));
        assert!(!matches("usr/share/doc/METADATA"));
        assert!(!matches("project/PKG-INFO"));
    }

    #[test]
    fn continuation_lines_do_not_start_headers() {
        let meta =
            Metadata::parse(b"Name: a\nDescription: x\n Version: 9\nVersion: 1\n\nVersion: 2\n");
        assert_eq!(meta.first("version"), Some("1"));
        assert_eq!(meta.first("description"), Some("x\nVersion: 9"));
    }

    #[test]
    fn body_is_not_read_as_headers() {
        assert!(parse(
            "a.dist-info/METADATA",
            b"Metadata-Version: 2.1\n\nName: a\nVersion: 1\n"
        )
        .is_err());
    }

    #[test]
    fn license_sources_in_order_of_preference() {
        let m = Metadata::parse(b"License-Expression: MIT OR Apache-2.0\nLicense: MIT\n");
        assert_eq!(m.licenses(), ["MIT OR Apache-2.0"]);
        let m = Metadata::parse(
            b"License: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\n",
        );
        assert_eq!(m.licenses(), ["BSD License"]);
        let m = Metadata::parse(b"License: long text\n        more text\n");
        assert!(m.licenses().is_empty());
    }

    #[test]
    fn crlf_metadata() {
        let p = parse(
            "a.dist-info/METADATA",
            b"Name: a\r\nVersion: 1.0\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!((p[0].name.as_str(), p[0].version.as_str()), ("a", "1.0"));
    }
}
