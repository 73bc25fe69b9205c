//! Alpine (and other apk-based: Wolfi, Chainguard) packages from apk's installed database,
//! `lib/apk/db/installed` (`usr/lib/apk/db/installed` on newer layouts): blank-line separated
//! records of `X:value` lines.

use crate::text::lines;
use crate::Purl;
use crate::{ExtractError, OsInfo, Package};

/// Where apk keeps its installed database, relative to the image root.
pub const PATHS: &[&str] = &["lib/apk/db/installed", "usr/lib/apk/db/installed"];

/// Whether `path` (relative to the image root) is an apk installed database.
pub fn matches(path: &str) -> bool {
    PATHS.contains(&path)
}

/// Packages of an apk `installed` file: `P` name, `V` version, `A` arch, `L` licence, `o`
/// origin (the source package), and the owned files from `F` (directory) and `R` (file in the
/// last directory) lines, as absolute paths.
pub fn parse_installed(data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    if memchr::memchr(0, data).is_some() {
        return Err(ExtractError::malformed(
            "apk installed",
            "binary data (NUL byte)",
        ));
    }
    let mut out = Vec::new();
    let mut rec = Record::default();
    for line in lines(data) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            rec.flush(&mut out);
            continue;
        }
        let (key, value) = match line {
            [k, b':', v @ ..] => (*k, v),
            _ => continue,
        };
        match key {
            b'P' => rec.name = Some(value),
            b'V' => rec.version = Some(value),
            b'A' => rec.arch = Some(value),
            b'L' => rec.license = Some(value),
            b'o' => rec.origin = Some(value),
            b'F' => rec.dir = value,
            b'R' => {
                let mut path = String::with_capacity(rec.dir.len() + value.len() + 2);
                path.push('/');
                if !rec.dir.is_empty() {
                    path.push_str(&String::from_utf8_lossy(rec.dir));
                    path.push('/');
                }
                path.push_str(&String::from_utf8_lossy(value));
                rec.files.push(path);
            }
            _ => {}
        }
    }
    rec.flush(&mut out);
    Ok(out)
}

/// `pkg:apk/<os id>/<name>@<version>?arch=..&distro=<id>-<version_id>`, plus `upstream=<origin>`
/// when the origin differs from the name (as Syft writes it). Without an OS the namespace is
/// `alpine` and `distro` is left out.
pub fn purl_for(pkg: &Package, os: Option<&OsInfo>) -> Option<Purl> {
    let distro = os.map(crate::os::distro_qualifier).unwrap_or_default();
    let upstream = pkg
        .source_name
        .as_deref()
        .filter(|s| *s != pkg.name)
        .unwrap_or("");
    Purl::new(
        "apk",
        Some(os.map_or("alpine", |o| o.family.as_str())),
        &pkg.name,
        &pkg.version,
        &[
            ("arch", pkg.arch.as_deref().unwrap_or("")),
            ("distro", &distro),
            ("upstream", upstream),
        ],
    )
}

#[derive(Default)]
struct Record<'a> {
    name: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    license: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
    dir: &'a [u8],
    files: Vec<String>,
}

impl Record<'_> {
    fn flush(&mut self, out: &mut Vec<Package>) {
        let rec = std::mem::take(self);
        let (Some(name), Some(version)) = (rec.name, rec.version) else {
            return;
        };
        if name.is_empty() || version.is_empty() {
            return;
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        out.push(Package {
            ecosystem: "Alpine".into(),
            name: text(name),
            version: text(version),
            licenses: rec
                .license
                .filter(|l| !l.is_empty())
                .map(text)
                .into_iter()
                .collect(),
            source_name: rec.origin.filter(|o| !o.is_empty()).map(text),
            arch: rec.arch.filter(|a| !a.is_empty()).map(text),
            found_by: "apk".into(),
            files: rec.files,
            ..Package::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_joined_with_their_directory() {
        let data = b"P:a\nV:1-r0\nR:top\nF:usr/bin\nR:x\nF:etc\nR:y\n\n";
        let p = parse_installed(data).unwrap();
        assert_eq!(p[0].files, ["/top", "/usr/bin/x", "/etc/y"]);
    }

    #[test]
    fn record_without_version_is_skipped() {
        assert!(parse_installed(b"P:a\n\nV:1\n").unwrap().is_empty());
    }

    #[test]
    fn purl_names_origin_as_upstream_when_it_differs() {
        let pkg = Package {
            name: "libcrypto3".into(),
            version: "3.1.0-r4".into(),
            arch: Some("x86_64".into()),
            source_name: Some("openssl".into()),
            ..Package::default()
        };
        let os = OsInfo {
            family: "alpine".into(),
            version: "3.18.0".into(),
            ..OsInfo::default()
        };
        assert_eq!(
            purl_for(&pkg, Some(&os)).unwrap().to_string(),
            "pkg:apk/alpine/libcrypto3@3.1.0-r4?arch=x86_64&distro=alpine-3.18.0&upstream=openssl"
        );
    }

    #[test]
    fn matches_both_database_locations() {
        assert!(matches("lib/apk/db/installed"));
        assert!(matches("usr/lib/apk/db/installed"));
        assert!(!matches("lib/apk/db/triggers"));
    }
}
