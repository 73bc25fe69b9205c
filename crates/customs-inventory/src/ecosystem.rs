//! The package ecosystem, as a type: which package manager a [`crate::Package`] belongs to.
//!
//! Names are OSV's ecosystem names without a release suffix. OS packages are filed under their
//! package manager's family (`Debian` for every dpkg distribution, `Alpine` for apk, `rpm`
//! until matching decides the distribution from the OS); the advisory ecosystem with its
//! release (`Debian:12`) is the matcher's business, not the package's.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A package ecosystem. Every known one has a variant; anything else read from an SBOM or a
/// stored inventory is kept as [`Ecosystem::Other`] with its name.
///
/// Ordering, equality and hashing are those of the name ([`Ecosystem::as_str`]), so sorting
/// packages is the same as when ecosystems were strings.
#[derive(Debug, Clone)]
pub enum Ecosystem {
    /// dpkg packages (Debian, Ubuntu and their derivatives).
    Debian,
    /// apk packages (Alpine, Wolfi, Chainguard).
    Alpine,
    /// rpm packages, distribution not yet decided.
    Rpm,
    /// Python packages.
    PyPI,
    /// npm, yarn and pnpm packages.
    Npm,
    /// Go modules (and the Go standard library, as `stdlib`).
    Go,
    /// Rust crates.
    CratesIo,
    /// Maven artifacts.
    Maven,
    /// Ruby gems.
    RubyGems,
    /// .NET packages.
    NuGet,
    /// PHP Composer packages.
    Packagist,
    /// Erlang/Elixir Hex packages.
    Hex,
    /// Any other ecosystem name, kept as written.
    Other(String),
}

/// The known ecosystems, their OSV names and purl types.
const KNOWN: &[(Ecosystem, &str, &str)] = &[
    (Ecosystem::Debian, "Debian", "deb"),
    (Ecosystem::Alpine, "Alpine", "apk"),
    (Ecosystem::Rpm, "rpm", "rpm"),
    (Ecosystem::PyPI, "PyPI", "pypi"),
    (Ecosystem::Npm, "npm", "npm"),
    (Ecosystem::Go, "Go", "golang"),
    (Ecosystem::CratesIo, "crates.io", "cargo"),
    (Ecosystem::Maven, "Maven", "maven"),
    (Ecosystem::RubyGems, "RubyGems", "gem"),
    (Ecosystem::NuGet, "NuGet", "nuget"),
    (Ecosystem::Packagist, "Packagist", "composer"),
    (Ecosystem::Hex, "Hex", "hex"),
];

/// Names of OS package ecosystems other than the three families, as older inventories and
/// other tools' SBOMs may write them.
const OTHER_OS_NAMES: &[&str] = &[
    "apk",
    "deb",
    "dpkg",
    "Ubuntu",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "Wolfi",
    "Chainguard",
    "SUSE",
    "openSUSE",
];

impl Ecosystem {
    /// The OSV ecosystem name (`Debian`, `PyPI`, `crates.io`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Hex => "Hex",
            Ecosystem::Other(name) => name,
        }
    }

    /// The ecosystem of an OSV name; unknown names become [`Ecosystem::Other`].
    pub fn from_name(name: &str) -> Ecosystem {
        KNOWN
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(e, _, _)| e.clone())
            .unwrap_or_else(|| Ecosystem::Other(name.to_string()))
    }

    /// The ecosystem of a purl type (`deb` → `Debian`, `cargo` → `crates.io`); `None` for types
    /// customs does not match.
    pub fn from_purl_type(ty: &str) -> Option<Ecosystem> {
        KNOWN
            .iter()
            .find(|(_, _, t)| *t == ty)
            .map(|(e, _, _)| e.clone())
    }

    /// The purl type of a known ecosystem (`Debian` → `deb`).
    pub fn purl_type(&self) -> Option<&'static str> {
        KNOWN.iter().find(|(e, _, _)| e == self).map(|(_, _, t)| *t)
    }

    /// Whether this is an OS package manager, whose advisories are per distribution release,
    /// rather than a language ecosystem.
    pub fn is_os(&self) -> bool {
        match self {
            Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm => true,
            Ecosystem::Other(name) => OTHER_OS_NAMES.contains(&name.as_str()),
            _ => false,
        }
    }
}

/// The empty name: a package whose ecosystem nobody has said.
impl Default for Ecosystem {
    fn default() -> Ecosystem {
        Ecosystem::Other(String::new())
    }
}

impl PartialEq for Ecosystem {
    fn eq(&self, other: &Ecosystem) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Ecosystem {}

impl PartialOrd for Ecosystem {
    fn partial_cmp(&self, other: &Ecosystem) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ecosystem {
    fn cmp(&self, other: &Ecosystem) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Ecosystem {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for Ecosystem {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Ecosystem {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Ecosystem {
    fn from(name: &str) -> Ecosystem {
        Ecosystem::from_name(name)
    }
}

impl From<String> for Ecosystem {
    fn from(name: String) -> Ecosystem {
        Ecosystem::from_name(&name)
    }
}

impl Serialize for Ecosystem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ecosystem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ecosystem, D::Error> {
        Ok(Ecosystem::from_name(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_purl_types_round_trip() {
        for (e, name, ty) in KNOWN {
            assert_eq!(e.as_str(), *name);
            assert_eq!(&Ecosystem::from_name(name), e);
            assert_eq!(Ecosystem::from_purl_type(ty).as_ref(), Some(e));
            assert_eq!(e.purl_type(), Some(*ty));
        }
        assert_eq!(Ecosystem::from_name("Pub"), Ecosystem::Other("Pub".into()));
        assert_eq!(Ecosystem::from_purl_type("oci"), None);
    }

    #[test]
    fn order_is_the_name_order() {
        let mut v: Vec<Ecosystem> = ["npm", "Debian", "crates.io", "Go", "Zig"]
            .into_iter()
            .map(Ecosystem::from)
            .collect();
        v.sort();
        let names: Vec<&str> = v.iter().map(Ecosystem::as_str).collect();
        assert_eq!(names, ["Debian", "Go", "Zig", "crates.io", "npm"]);
    }

    #[test]
    fn os_ecosystems() {
        assert!(Ecosystem::Debian.is_os());
        assert!(Ecosystem::from("Ubuntu").is_os());
        assert!(!Ecosystem::PyPI.is_os());
        assert!(!Ecosystem::from("Zig").is_os());
    }

    #[test]
    fn serde_is_the_name() {
        let json = serde_json::to_string(&Ecosystem::CratesIo).unwrap();
        assert_eq!(json, "\"crates.io\"");
        assert_eq!(
            serde_json::from_str::<Ecosystem>(&json).unwrap(),
            Ecosystem::CratesIo
        );
    }
}
