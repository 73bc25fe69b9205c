//! Which operating system an image runs: `os-release` first, then the older per-distribution
//! release files (`alpine-release`, `debian_version`, `redhat-release` and relatives).

use crate::OsInfo;

/// Files [`detect`] may read, relative to the image root; the image scan must capture them.
pub const OS_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/centos-release",
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/fedora-release",
    "etc/oracle-release",
    "etc/redhat-release",
    "etc/system-release",
];

/// Release files of the Red Hat family, most specific first (`redhat-release` is a symlink to
/// `centos-release` on CentOS, and `system-release` to any of them).
const RELEASE_FILES: &[&str] = &[
    "etc/centos-release",
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/fedora-release",
    "etc/oracle-release",
    "etc/redhat-release",
    "etc/system-release",
];

/// Detects the OS from the files `read` returns (`None`: absent or unreadable). Images with an
/// `os-release` (including Google's distroless, whose `os-release` names Debian) get its `ID`,
/// `VERSION_ID`, `VERSION_CODENAME` and `PRETTY_NAME`; a Debian one without `VERSION_ID` takes
/// the major version from `etc/debian_version`. `None` when nothing identifies the OS.
pub fn detect(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Option<OsInfo> {
    for path in ["etc/os-release", "usr/lib/os-release"] {
        if let Some(data) = read(path) {
            let mut info = parse_os_release(&data);
            if info.family.is_empty() {
                continue;
            }
            if info.family == "debian" && info.version.is_empty() {
                if let Some(deb) = read("etc/debian_version").and_then(|d| parse_debian_version(&d))
                {
                    info.version = deb.version;
                    info.codename = info.codename.or(deb.codename);
                }
            }
            return Some(info);
        }
    }
    if let Some(data) = read("etc/alpine-release") {
        let version = first_line(&data);
        if !version.is_empty() {
            return Some(OsInfo {
                family: "alpine".into(),
                version,
                codename: None,
                pretty_name: None,
            });
        }
    }
    for path in RELEASE_FILES {
        if let Some(info) = read(path).and_then(|d| parse_release_file(&d)) {
            return Some(info);
        }
    }
    read("etc/debian_version").and_then(|d| parse_debian_version(&d))
}

/// Reads an `os-release` file (`KEY=value` lines, values optionally quoted with shell
/// escapes). Fields it lacks stay empty; a Debian or Ubuntu codename missing from
/// `VERSION_CODENAME` is taken from `VERSION` (`"9 (stretch)"`) or from the release table.
pub fn parse_os_release(data: &[u8]) -> OsInfo {
    let text = String::from_utf8_lossy(data);
    let mut info = OsInfo::default();
    let mut version_text = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => info.family = value.to_ascii_lowercase(),
            "VERSION_ID" => info.version = value,
            "VERSION_CODENAME" if !value.is_empty() => info.codename = Some(value),
            "PRETTY_NAME" if !value.is_empty() => info.pretty_name = Some(value),
            "VERSION" => version_text = Some(value),
            _ => {}
        }
    }
    if info.codename.is_none() {
        info.codename = version_text
            .as_deref()
            .and_then(parenthesised)
            .filter(|c| c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .map(str::to_ascii_lowercase)
            .or_else(|| codename_for(&info.family, &info.version).map(str::to_owned));
    }
    info
}

/// `<id>-<version_id>` for a purl's `distro` qualifier, or the id alone when the version is
/// unknown.
pub fn distro_qualifier(os: &OsInfo) -> String {
    if os.version.is_empty() {
        os.family.clone()
    } else {
        format!("{}-{}", os.family, os.version)
    }
}

/// Debian and Ubuntu release codenames by version.
fn codename_for(family: &str, version: &str) -> Option<&'static str> {
    const DEBIAN: &[(&str, &str)] = &[
        ("7", "wheezy"),
        ("8", "jessie"),
        ("9", "stretch"),
        ("10", "buster"),
        ("11", "bullseye"),
        ("12", "bookworm"),
        ("13", "trixie"),
        ("14", "forky"),
    ];
    const UBUNTU: &[(&str, &str)] = &[
        ("14.04", "trusty"),
        ("16.04", "xenial"),
        ("18.04", "bionic"),
        ("20.04", "focal"),
        ("22.04", "jammy"),
        ("24.04", "noble"),
    ];
    let (table, key) = match family {
        "debian" => (DEBIAN, version.split('.').next().unwrap_or("")),
        "ubuntu" => (UBUNTU, version),
        _ => return None,
    };
    table.iter().find(|(v, _)| *v == key).map(|(_, c)| *c)
}

/// `etc/debian_version`: `12.5` (version `12`) or `bookworm/sid` (testing: codename only).
fn parse_debian_version(data: &[u8]) -> Option<OsInfo> {
    let line = first_line(data);
    if line.is_empty() {
        return None;
    }
    let (version, codename) = if line.starts_with(|c: char| c.is_ascii_digit()) {
        let major = line.split('.').next().unwrap_or("").to_owned();
        let codename = codename_for("debian", &major).map(str::to_owned);
        (major, codename)
    } else {
        (String::new(), line.split('/').next().map(str::to_owned))
    };
    Some(OsInfo {
        family: "debian".into(),
        version,
        codename,
        pretty_name: None,
    })
}

/// `CentOS Linux release 7.9.2009 (Core)`, `Red Hat Enterprise Linux release 8.9 (Ootpa)`,
/// `Rocky Linux release 9.3 (Blue Onyx)`, `Fedora release 39 (Thirty Nine)`: the family from
/// the distribution name, the version as written after `release`.
fn parse_release_file(data: &[u8]) -> Option<OsInfo> {
    let line = first_line(data);
    const FAMILIES: &[(&str, &str)] = &[
        ("centos", "centos"),
        ("red hat", "rhel"),
        ("rocky", "rocky"),
        ("almalinux", "almalinux"),
        ("fedora", "fedora"),
        ("oracle", "ol"),
        ("amazon", "amzn"),
    ];
    let lower = line.to_ascii_lowercase();
    let family = FAMILIES
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))?
        .1;
    let mut words = line.split_whitespace();
    words.by_ref().find(|w| w.eq_ignore_ascii_case("release"))?;
    let version = words.next()?.to_owned();
    Some(OsInfo {
        family: family.into(),
        version,
        codename: None,
        pretty_name: Some(line),
    })
}

fn first_line(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The text between the first `(` and the following `)`.
fn parenthesised(s: &str) -> Option<&str> {
    let open = s.find('(')?;
    let close = s[open..].find(')')? + open;
    Some(s[open + 1..close].trim())
}

/// Strips `"…"` or `'…'` quotes, undoing the backslash escapes os-release allows in double
/// quotes (`\"`, `\\`, `\$`, `` \` ``).
fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.to_owned()
    } else {
        v.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fs(files: &[(&str, &str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        let map: HashMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, d)| (p.to_string(), d.as_bytes().to_vec()))
            .collect();
        move |p| map.get(p).cloned()
    }

    const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

    #[test]
    fn os_release_fields_are_read_and_unquoted() {
        let info = parse_os_release(BOOKWORM.as_bytes());
        assert_eq!(info.family, "debian");
        assert_eq!(info.version, "12");
        assert_eq!(info.codename.as_deref(), Some("bookworm"));
        assert_eq!(
            info.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn missing_codename_comes_from_version_or_table() {
        let stretch = parse_os_release(b"ID=debian\nVERSION_ID=\"9\"\nVERSION=\"9 (stretch)\"\n");
        assert_eq!(stretch.codename.as_deref(), Some("stretch"));
        let bookworm = parse_os_release(b"ID=debian\nVERSION_ID=\"12\"\n");
        assert_eq!(bookworm.codename.as_deref(), Some("bookworm"));
        let alpine = parse_os_release(b"ID=alpine\nVERSION_ID=3.18.0\n");
        assert_eq!(alpine.codename, None);
    }

    #[test]
    fn usr_lib_os_release_is_the_fallback() {
        let read = fs(&[("usr/lib/os-release", "ID=alpine\nVERSION_ID=3.11.5\n")]);
        let info = detect(&read).unwrap();
        assert_eq!(
            (info.family.as_str(), info.version.as_str()),
            ("alpine", "3.11.5")
        );
    }

    #[test]
    fn distroless_os_release_is_debian_with_version_from_debian_version() {
        // gcr.io/distroless/static: os-release without VERSION_ID.
        let read = fs(&[
            ("etc/os-release", "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n"),
            ("etc/debian_version", "12.5\n"),
        ]);
        let info = detect(&read).unwrap();
        assert_eq!(info.family, "debian");
        assert_eq!(info.version, "12");
        assert_eq!(info.codename.as_deref(), Some("bookworm"));
        assert_eq!(info.pretty_name.as_deref(), Some("Distroless"));
    }

    #[test]
    fn release_files_identify_os_without_os_release() {
        let alpine = detect(&fs(&[("etc/alpine-release", "3.10.3\n")])).unwrap();
        assert_eq!(
            (alpine.family.as_str(), alpine.version.as_str()),
            ("alpine", "3.10.3")
        );
        let centos = detect(&fs(&[
            (
                "etc/redhat-release",
                "CentOS Linux release 7.9.2009 (Core)\n",
            ),
            (
                "etc/centos-release",
                "CentOS Linux release 7.9.2009 (Core)\n",
            ),
        ]))
        .unwrap();
        assert_eq!(
            (centos.family.as_str(), centos.version.as_str()),
            ("centos", "7.9.2009")
        );
        let rhel = detect(&fs(&[(
            "etc/redhat-release",
            "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
        )]))
        .unwrap();
        assert_eq!(
            (rhel.family.as_str(), rhel.version.as_str()),
            ("rhel", "8.9")
        );
        let testing = detect(&fs(&[("etc/debian_version", "trixie/sid\n")])).unwrap();
        assert_eq!(
            (testing.family.as_str(), testing.codename.as_deref()),
            ("debian", Some("trixie"))
        );
    }

    #[test]
    fn nothing_known_gives_none() {
        assert_eq!(detect(&fs(&[("etc/hostname", "x")])), None);
        assert_eq!(detect(&fs(&[("etc/os-release", "NAME=nothing\n")])), None);
    }

    #[test]
    fn every_file_detect_reads_is_listed_for_capture() {
        let seen = std::cell::RefCell::new(Vec::new());
        let read = |p: &str| {
            seen.borrow_mut().push(p.to_owned());
            None
        };
        assert_eq!(detect(&read), None);
        for p in seen.borrow().iter() {
            assert!(OS_FILES.contains(&p.as_str()), "{p} not in OS_FILES");
        }
    }
}
