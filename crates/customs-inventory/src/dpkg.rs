//! Debian packages from dpkg's database: `var/lib/dpkg/status`, the distroless
//! `var/lib/dpkg/status.d/*` control files, and the per-package file lists in
//! `var/lib/dpkg/info/*.list` / `*.md5sums`.

use crate::text::lines;
use crate::Purl;
use crate::{ExtractError, OsInfo, Package};

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d/";
const INFO: &str = "var/lib/dpkg/info/";

/// Whether `path` (relative to the image root) is part of the dpkg database: the status
/// file, an entry of `status.d`, or a file list in `info/`.
pub fn matches(path: &str) -> bool {
    if path == STATUS {
        return true;
    }
    if let Some(file) = path.strip_prefix(STATUS_D) {
        return !file.is_empty() && !file.contains('/');
    }
    path.strip_prefix(INFO).is_some_and(|file| {
        !file.contains('/') && (file.ends_with(".list") || file.ends_with(".md5sums"))
    })
}

/// Packages of a `status` file. Only records whose `Status:` has current state `installed`
/// count; a record without `Status:` is skipped.
pub fn parse_status(data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let mut out = Vec::new();
    parse_records(data, false, &mut out)?;
    Ok(out)
}

/// Packages of the distroless `status.d` directory, given as `(file name or path, bytes)`.
/// `*.md5sums` files are skipped; a record without `Status:` counts, one whose status is not
/// `installed` does not.
pub fn parse_status_d(files: &[(String, Vec<u8>)]) -> Result<Vec<Package>, ExtractError> {
    let mut out = Vec::new();
    for (name, data) in files {
        if name.ends_with(".md5sums") {
            continue;
        }
        parse_records(data, true, &mut out)?;
    }
    Ok(out)
}

/// Absolute paths listed in `info/<pkg>.list` (one path per line) or in an `.md5sums` file
/// (`<md5>  <path relative to the root>`). The root entry `/.` is left out.
pub fn parse_file_list(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines(data) {
        let line = trim_cr(line);
        let path = if line.first() == Some(&b'/') {
            line
        } else {
            // md5sums: hash, two spaces (or space and `*` for binary mode), relative path.
            match line.iter().position(|&b| b == b' ') {
                Some(sp) => {
                    let rest = &line[sp..];
                    let start = rest
                        .iter()
                        .position(|&b| b != b' ' && b != b'*')
                        .unwrap_or(rest.len());
                    &rest[start..]
                }
                None => continue,
            }
        };
        if path.is_empty() || path == b"/." {
            continue;
        }
        let path = String::from_utf8_lossy(path);
        if path.starts_with('/') {
            out.push(path.into_owned());
        } else {
            let mut abs = String::with_capacity(path.len() + 1);
            abs.push('/');
            abs.push_str(&path);
            out.push(abs);
        }
    }
    out
}

/// The package a file list belongs to, as `(name, arch)`: `var/lib/dpkg/info/libc6:amd64.list`
/// gives `("libc6", Some("amd64"))`, `var/lib/dpkg/status.d/foo.md5sums` gives `("foo", None)`.
/// `None` for paths that are not file lists.
pub fn file_list_owner(path: &str) -> Option<(&str, Option<&str>)> {
    let file = path
        .strip_prefix(INFO)
        .or_else(|| path.strip_prefix(STATUS_D))?;
    if file.contains('/') {
        return None;
    }
    let stem = file.strip_suffix(".md5sums").or_else(|| {
        // `.list` files exist only in info/.
        path.starts_with(INFO)
            .then(|| file.strip_suffix(".list"))
            .flatten()
    })?;
    match stem.split_once(':') {
        Some((name, arch)) if !name.is_empty() => Some((name, Some(arch))),
        None if !stem.is_empty() => Some((stem, None)),
        _ => None,
    }
}

/// `pkg:deb/<os id>/<name>@<version>?arch=..&distro=<id>-<version_id>&upstream=..`, with
/// `upstream` the source (`name` or `name@version`) as Syft writes it. Without an OS the
/// namespace is `debian` and `distro` is left out.
pub fn purl_for(pkg: &Package, os: Option<&OsInfo>) -> Option<Purl> {
    let distro = os.map(crate::os::distro_qualifier).unwrap_or_default();
    let upstream = match (&pkg.source_name, &pkg.source_version) {
        (Some(n), Some(v)) => format!("{n}@{v}"),
        (Some(n), None) => n.clone(),
        _ => String::new(),
    };
    Purl::new(
        "deb",
        Some(os.map_or("debian", |o| o.family.as_str())),
        &pkg.name,
        &pkg.version,
        &[
            ("arch", pkg.arch.as_deref().unwrap_or("")),
            ("distro", &distro),
            ("upstream", &upstream),
        ],
    )
}

/// The fields of one control record that an inventory needs, borrowed from the input.
#[derive(Default)]
struct Record<'a> {
    package: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    source: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
}

/// Walks deb822 paragraphs (blank-line separated `Field: value` lines, continuation lines
/// indented) and appends the installed packages to `out`.
fn parse_records(
    data: &[u8],
    status_optional: bool,
    out: &mut Vec<Package>,
) -> Result<(), ExtractError> {
    if memchr::memchr(0, data).is_some() {
        return Err(ExtractError::malformed(
            "dpkg status",
            "binary data (NUL byte)",
        ));
    }
    let mut rec = Record::default();
    for line in lines(data) {
        let line = trim_cr(line);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            flush(&mut rec, status_optional, out);
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue; // continuation of a multi-line field
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        let is = |want: &[u8]| name.eq_ignore_ascii_case(want);
        let field = match name.len() {
            7 if is(b"Package") => &mut rec.package,
            7 if is(b"Version") => &mut rec.version,
            6 if is(b"Status") => &mut rec.status,
            6 if is(b"Source") => &mut rec.source,
            12 if is(b"Architecture") => &mut rec.arch,
            _ => continue,
        };
        *field = Some(value);
    }
    flush(&mut rec, status_optional, out);
    Ok(())
}

fn flush(rec: &mut Record<'_>, status_optional: bool, out: &mut Vec<Package>) {
    let rec = std::mem::take(rec);
    let (Some(name), Some(version)) = (rec.package, rec.version) else {
        return;
    };
    if name.is_empty() || version.is_empty() {
        return;
    }
    let installed = match rec.status {
        // Status: <want> <flag> <current state>
        Some(status) => {
            status
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .nth(2)
                == Some(b"installed")
        }
        None => status_optional,
    };
    if !installed {
        return;
    }
    let (source_name, source_version) = match rec.source {
        Some(src) => split_source(src),
        None => (None, None),
    };
    out.push(Package {
        ecosystem: "Debian".into(),
        name: text(name),
        version: text(version),
        source_name,
        source_version,
        arch: rec.arch.filter(|a| !a.is_empty()).map(text),
        found_by: "dpkg".into(),
        ..Package::default()
    });
}

/// `name` or `name (version)`.
fn split_source(src: &[u8]) -> (Option<String>, Option<String>) {
    let (name, version) = match src.iter().position(|&b| b == b'(') {
        Some(open) => {
            let inner = &src[open + 1..];
            let inner = inner.strip_suffix(b")").unwrap_or(inner);
            (src[..open].trim_ascii(), Some(inner.trim_ascii()))
        }
        None => (src, None),
    };
    if name.is_empty() {
        return (None, None);
    }
    (
        Some(text(name)),
        version.filter(|v| !v.is_empty()).map(text),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_state_decides_not_wanted_state() {
        let data = b"Package: a\nStatus: purge ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok unpacked\nVersion: 1\n";
        let names: Vec<_> = parse_status(data)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn record_without_status_counts_only_in_status_d() {
        let rec = b"Package: a\nVersion: 1\n".to_vec();
        assert!(parse_status(&rec).unwrap().is_empty());
        let files = vec![
            ("a".to_string(), rec),
            (
                "a.md5sums".to_string(),
                b"Package: x\nVersion: 1\n".to_vec(),
            ),
        ];
        let pkgs = parse_status_d(&files).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "a");
    }

    #[test]
    fn source_with_version_is_split() {
        assert_eq!(
            split_source(b"util-linux (2.38.1-5)"),
            (Some("util-linux".into()), Some("2.38.1-5".into()))
        );
        assert_eq!(split_source(b"acl"), (Some("acl".into()), None));
    }

    #[test]
    fn crlf_and_field_case_are_tolerated() {
        let data = b"package: a\r\nstatus: install ok installed\r\nversion: 1:2\r\n\r\n";
        let p = parse_status(data).unwrap();
        assert_eq!((p[0].name.as_str(), p[0].version.as_str()), ("a", "1:2"));
    }

    #[test]
    fn list_and_md5sums_give_absolute_paths() {
        assert_eq!(
            parse_file_list(b"/.\n/usr\n/usr/bin/ls\n"),
            ["/usr", "/usr/bin/ls"]
        );
        assert_eq!(
            parse_file_list(b"07d31e7e63800ab1b7966980709c51eb  usr/lib/os-release\n"),
            ["/usr/lib/os-release"]
        );
    }

    #[test]
    fn file_list_names_its_package_and_arch() {
        assert_eq!(
            file_list_owner("var/lib/dpkg/info/libc6:amd64.list"),
            Some(("libc6", Some("amd64")))
        );
        assert_eq!(
            file_list_owner("var/lib/dpkg/info/bash.md5sums"),
            Some(("bash", None))
        );
        assert_eq!(
            file_list_owner("var/lib/dpkg/status.d/foo.md5sums"),
            Some(("foo", None))
        );
        assert_eq!(file_list_owner("var/lib/dpkg/status.d/foo"), None);
        assert_eq!(file_list_owner("var/lib/dpkg/info/bash.postinst"), None);
    }

    #[test]
    fn matches_status_status_d_and_info_lists() {
        assert!(matches("var/lib/dpkg/status"));
        assert!(matches("var/lib/dpkg/status.d/libc6"));
        assert!(matches("var/lib/dpkg/status.d/libc6.md5sums"));
        assert!(matches("var/lib/dpkg/info/libc6:amd64.list"));
        assert!(matches("var/lib/dpkg/info/bash.md5sums"));
        assert!(!matches("var/lib/dpkg/info/bash.postinst"));
        assert!(!matches("var/lib/dpkg/status-old"));
    }

    #[test]
    fn purl_carries_arch_distro_and_upstream() {
        let pkg = Package {
            name: "util-linux-extra".into(),
            version: "2.38.1-5+b1".into(),
            arch: Some("amd64".into()),
            source_name: Some("util-linux".into()),
            source_version: Some("2.38.1-5".into()),
            ..Package::default()
        };
        let os = OsInfo {
            family: "debian".into(),
            version: "12".into(),
            ..OsInfo::default()
        };
        assert_eq!(
            purl_for(&pkg, Some(&os)).unwrap().to_string(),
            "pkg:deb/debian/util-linux-extra@2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5"
        );
    }
}
