//! customs-version parses and orders versions for every ecosystem customs matches: dpkg, apk,
//! rpm, PEP 440, SemVer (npm, crates.io), Go, Maven, RubyGems, NuGet and Composer. It knows
//! nothing of packages or advisories.
//!
//! Each scheme has a module with its own `Version` type (`Ord`); [`parse`] wraps them in one
//! [`Version`] for callers that pick the scheme at run time. Parse once and compare the parsed
//! values when comparing many times; [`compare`] parses on every call.
//!
//! ```
//! use customs_version::{Scheme, compare, parse};
//! use std::cmp::Ordering;
//! assert_eq!(compare(Scheme::Dpkg, "1:1.0", "2.0"), Some(Ordering::Greater));
//! let fixed = parse(Scheme::Pep440, "2.0.1").unwrap();
//! assert!(parse(Scheme::Pep440, "2.0.1rc1").unwrap() < fixed);
//! ```

#![deny(missing_docs)]

/// The comparison traits every scheme's version derives from its `Ord`: `PartialOrd` always,
/// and with `eq` also `PartialEq` and `Eq` meaning "orders equal" (`1.0` = `1.0-r0` in apk),
/// for the schemes whose equality is not field-by-field.
macro_rules! order_from_cmp {
    ($t:ty) => {
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &$t) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    };
    ($t:ty, eq) => {
        order_from_cmp!($t);
        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }
        impl Eq for $t {}
    };
}

/// The helpers every scheme's tests share: `v("1.0")` parses (and must), `cmp(a, b)`
/// orders two parsed strings.
#[cfg(test)]
macro_rules! version_test_helpers {
    () => {
        #[allow(dead_code)]
        fn v(s: &str) -> Version {
            Version::parse(s).unwrap_or_else(|| panic!("{s:?} should parse"))
        }
        #[allow(dead_code)]
        fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
            v(a).cmp(&v(b))
        }
    };
}

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod nuget;
mod num;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use std::cmp::Ordering;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian and Ubuntu (`deb-version(7)`: epoch, upstream, revision).
    Dpkg,
    /// Alpine and the other apk distributions (apk-tools' ordering).
    Apk,
    /// RPM distributions (`rpmvercmp`, with epoch and release).
    Rpm,
    /// Python packages (PEP 440).
    Pep440,
    /// SemVer 2.0 (npm, crates.io, Hex).
    Semver,
    /// Go modules (SemVer with `v` and pseudo-versions).
    Go,
    /// Maven's ComparableVersion.
    Maven,
    /// `Gem::Version`.
    RubyGems,
    /// NuGet (SemVer 2 with four numeric parts).
    NuGet,
    /// Composer / Packagist (`version_compare` with stabilities).
    Composer,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Composer,
    ];

    /// The scheme for an OSV ecosystem name (release suffix allowed: `Debian:12`,
    /// `Alpine:v3.18`). Unknown ecosystems give `None`.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine"
            | "Wolfi"
            | "Chainguard"
            | "MinimOS"
            | "Alpaquita"
            | "BellSoft Hardened Containers" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Azure Linux"
            | "Mariner" | "Photon OS" | "Mageia" | "openEuler" | "rpm" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" | "Hex" => Scheme::Semver,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Composer,
            _ => return None,
        })
    }
}

/// A version string that its scheme cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {scheme:?} version")]
pub struct ParseError {
    /// The scheme it was read under.
    pub scheme: Scheme,
    /// The text given.
    pub input: String,
}

/// A version parsed under one scheme.
///
/// Versions of the same scheme order by that scheme's rules. The order between schemes is only
/// there to make `Ord` total (by [`Scheme`] declaration order) and means nothing.
#[derive(Debug, Clone)]
pub enum Version {
    /// A [`Scheme::Dpkg`] version.
    Dpkg(dpkg::Version),
    /// A [`Scheme::Apk`] version.
    Apk(apk::Version),
    /// A [`Scheme::Rpm`] version.
    Rpm(rpm::Version),
    /// A [`Scheme::Pep440`] version.
    Pep440(pep440::Version),
    /// A [`Scheme::Semver`] version.
    Semver(semver::Version),
    /// A [`Scheme::Go`] version.
    Go(go::Version),
    /// A [`Scheme::Maven`] version.
    Maven(maven::Version),
    /// A [`Scheme::RubyGems`] version.
    RubyGems(rubygems::Version),
    /// A [`Scheme::NuGet`] version.
    NuGet(nuget::Version),
    /// A [`Scheme::Composer`] version.
    Composer(composer::Version),
}

impl Version {
    /// The scheme this version was parsed under.
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Dpkg(_) => Scheme::Dpkg,
            Version::Apk(_) => Scheme::Apk,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Pep440(_) => Scheme::Pep440,
            Version::Semver(_) => Scheme::Semver,
            Version::Go(_) => Scheme::Go,
            Version::Maven(_) => Scheme::Maven,
            Version::RubyGems(_) => Scheme::RubyGems,
            Version::NuGet(_) => Scheme::NuGet,
            Version::Composer(_) => Scheme::Composer,
        }
    }

    /// Compares two versions of the same scheme; `None` across schemes.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::Dpkg(a), Version::Dpkg(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Semver(a), Version::Semver(b)) => a.cmp(b),
            (Version::Go(a), Version::Go(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            (Version::RubyGems(a), Version::RubyGems(b)) => a.cmp(b),
            (Version::NuGet(a), Version::NuGet(b)) => a.cmp(b),
            (Version::Composer(a), Version::Composer(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.compare(other)
            .unwrap_or_else(|| self.scheme().cmp(&other.scheme()))
    }
}

order_from_cmp!(Version, eq);

/// Parses `input` under `scheme`.
pub fn parse(scheme: Scheme, input: &str) -> Result<Version, ParseError> {
    let parsed = match scheme {
        Scheme::Dpkg => dpkg::Version::parse(input).map(Version::Dpkg),
        Scheme::Apk => apk::Version::parse(input).map(Version::Apk),
        Scheme::Rpm => rpm::Version::parse(input).map(Version::Rpm),
        Scheme::Pep440 => pep440::Version::parse(input).map(Version::Pep440),
        Scheme::Semver => semver::Version::parse(input).map(Version::Semver),
        Scheme::Go => go::Version::parse(input).map(Version::Go),
        Scheme::Maven => maven::Version::parse(input).map(Version::Maven),
        Scheme::RubyGems => rubygems::Version::parse(input).map(Version::RubyGems),
        Scheme::NuGet => nuget::Version::parse(input).map(Version::NuGet),
        Scheme::Composer => composer::Version::parse(input).map(Version::Composer),
    };
    parsed.ok_or_else(|| ParseError {
        scheme,
        input: input.to_owned(),
    })
}

/// Whether `input` parses under `scheme`.
pub fn parse_ok(scheme: Scheme, input: &str) -> bool {
    parse(scheme, input).is_ok()
}

/// Compares two versions under `scheme`. `None` when either cannot be parsed.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    let a = parse(scheme, a).ok()?;
    let b = parse(scheme, b).ok()?;
    a.compare(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_ecosystems_map_to_schemes() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(Scheme::for_ecosystem("Alpine:v3.18"), Some(Scheme::Apk));
        assert_eq!(
            Scheme::for_ecosystem("Red Hat:enterprise_linux:9::appstream"),
            Some(Scheme::Rpm)
        );
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::for_ecosystem("Packagist"), Some(Scheme::Composer));
        assert_eq!(Scheme::for_ecosystem("CRAN"), None);
    }

    #[test]
    fn parsed_versions_compare_only_within_their_scheme() {
        let a = parse(Scheme::Semver, "1.0.0").unwrap();
        let b = parse(Scheme::NuGet, "1.0.0").unwrap();
        assert_eq!(a.compare(&b), None);
        assert_ne!(a, b);
        assert_eq!(a.scheme(), Scheme::Semver);
        let c = parse(Scheme::Semver, "v1.0.0").unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn parse_errors_name_scheme_and_input() {
        let err = parse(Scheme::NuGet, "1.x").unwrap_err();
        assert_eq!(err.scheme, Scheme::NuGet);
        assert_eq!(err.to_string(), "\"1.x\" is not a valid NuGet version");
        assert!(!parse_ok(Scheme::Go, "v1.2.3-"));
        assert!(parse_ok(Scheme::Go, "go1.22rc1"));
    }
}
