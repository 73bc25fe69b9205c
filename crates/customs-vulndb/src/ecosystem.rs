//! Ecosystem names and package-name keys: which OSV ecosystem an OS package belongs to, and
//! how names are normalised before they become database keys.

use customs_inventory::{Ecosystem, OsInfo};

/// The OSV ecosystem string for an OS package on `os`: alpine 3.11.5 gives `Alpine:v3.11`,
/// debian 12 `Debian:12`, ubuntu 22.04 `Ubuntu:22.04:LTS`, rocky 9.3 `Rocky Linux:9`.
/// `None` for language ecosystems and for an OS release that cannot be told.
pub fn os_ecosystem(os: &OsInfo, pkg_ecosystem: &Ecosystem) -> Option<String> {
    os_ecosystem_candidates(os, pkg_ecosystem)
        .into_iter()
        .next()
}

/// Every ecosystem string advisories for this OS release may use, best first (Ubuntu LTS
/// releases appear both as `Ubuntu:22.04:LTS` and `Ubuntu:22.04`; Red Hat streams per repo).
pub fn os_ecosystem_candidates(os: &OsInfo, pkg_ecosystem: &Ecosystem) -> Vec<String> {
    if !pkg_ecosystem.is_os() {
        return Vec::new();
    }
    let version = os.version.trim();
    let mut parts = version.split(['.', '-', '_']).filter(|p| !p.is_empty());
    let major = parts
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
    let minor = parts
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
    let family = os.family.to_ascii_lowercase();
    match family.as_str() {
        "alpine" => match (major, minor) {
            (Some(a), Some(b)) => vec![format!("Alpine:v{a}.{b}")],
            _ if version.contains("edge") => vec!["Alpine:edge".to_string()],
            _ => Vec::new(),
        },
        // Testing images carry no VERSION_ID, only the codename of the release they become;
        // osv.dev files advisories by release number, so the codename is mapped to it. Sid
        // (unstable) never becomes a release: no ecosystem, so the matcher warns.
        "debian" => match major {
            Some(m) => vec![format!("Debian:{m}")],
            None => os
                .codename
                .as_deref()
                .and_then(debian_release)
                .map(|n| vec![format!("Debian:{n}")])
                .unwrap_or_default(),
        },
        "ubuntu" => match (major, minor) {
            (Some(a), Some(b)) => {
                let plain = format!("Ubuntu:{a}.{b}");
                let lts = a.parse::<u32>().is_ok_and(|y| y % 2 == 0) && b == "04";
                if lts {
                    vec![format!("{plain}:LTS"), plain]
                } else {
                    vec![plain]
                }
            }
            _ => Vec::new(),
        },
        "rhel" | "redhat" => match major {
            Some(m) => ["baseos", "appstream", "crb"]
                .iter()
                .map(|repo| format!("Red Hat:enterprise_linux:{m}::{repo}"))
                .collect(),
            None => Vec::new(),
        },
        "rocky" => major
            .map(|m| vec![format!("Rocky Linux:{m}")])
            .unwrap_or_default(),
        "almalinux" | "alma" => major
            .map(|m| vec![format!("AlmaLinux:{m}")])
            .unwrap_or_default(),
        "wolfi" => vec!["Wolfi".to_string()],
        "chainguard" => vec!["Chainguard".to_string()],
        "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => os
            .pretty_name
            .as_deref()
            .map(|p| vec![format!("openSUSE:{p}")])
            .unwrap_or_default(),
        "sles" | "suse" => os
            .pretty_name
            .as_deref()
            .map(|p| vec![format!("SUSE:{p}")])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The release number of a Debian codename (`trixie` → 13); `None` for `sid` and unknown
/// names.
pub fn debian_release(codename: &str) -> Option<u32> {
    let n = match codename.trim().to_ascii_lowercase().as_str() {
        "buzz" => 1,
        "hamm" => 2,
        "potato" => 2,
        "woody" => 3,
        "sarge" => 3,
        "etch" => 4,
        "lenny" => 5,
        "squeeze" => 6,
        "wheezy" => 7,
        "jessie" => 8,
        "stretch" => 9,
        "buster" => 10,
        "bullseye" => 11,
        "bookworm" => 12,
        "trixie" => 13,
        "forky" => 14,
        "duke" => 15,
        _ => return None,
    };
    Some(n)
}

/// The PEP 503 normal form of a Python project name: lower case, runs of `-`, `_` and `.`
/// become one `-`. The inventory's own normaliser, so both sides of a match agree.
pub fn pep503_normalise(name: &str) -> String {
    customs_inventory::python::normalize_name(name)
}

/// The name under which a package is keyed for `ecosystem` (PyPI names are normalised).
pub fn key_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" || ecosystem.starts_with("PyPI:") {
        pep503_normalise(name)
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(family: &str, version: &str) -> OsInfo {
        OsInfo {
            family: family.into(),
            version: version.into(),
            ..Default::default()
        }
    }

    #[test]
    fn distro_releases_map_to_osv_ecosystems() {
        assert_eq!(
            os_ecosystem(&os("alpine", "3.11.5"), &"Alpine".into()).as_deref(),
            Some("Alpine:v3.11")
        );
        assert_eq!(
            os_ecosystem(&os("debian", "12"), &"Debian".into()).as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            os_ecosystem_candidates(&os("ubuntu", "22.04"), &"Debian".into()),
            vec!["Ubuntu:22.04:LTS".to_string(), "Ubuntu:22.04".to_string()]
        );
        assert_eq!(
            os_ecosystem(&os("ubuntu", "23.10"), &"Debian".into()).as_deref(),
            Some("Ubuntu:23.10")
        );
        assert_eq!(
            os_ecosystem(&os("rocky", "9.3"), &"rpm".into()).as_deref(),
            Some("Rocky Linux:9")
        );
        assert_eq!(
            os_ecosystem(&os("almalinux", "8.9"), &"rpm".into()).as_deref(),
            Some("AlmaLinux:8")
        );
        assert_eq!(
            os_ecosystem(&os("wolfi", "20230201"), &"Alpine".into()).as_deref(),
            Some("Wolfi")
        );
        assert_eq!(os_ecosystem(&os("alpine", "3.11.5"), &"PyPI".into()), None);
        assert_eq!(os_ecosystem(&os("alpine", ""), &"Alpine".into()), None);
    }

    #[test]
    fn pep503_collapses_separators_and_case() {
        assert_eq!(pep503_normalise("Foo.Bar__baz-Qux"), "foo-bar-baz-qux");
        assert_eq!(key_name("PyPI", "Django_REST"), "django-rest");
        assert_eq!(key_name("npm", "Foo_Bar"), "Foo_Bar");
    }
}
