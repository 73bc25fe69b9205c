//! customs-version parses and orders versions for every ecosystem customs matches: dpkg, apk,
//! rpm, PEP 440, SemVer (npm, crates.io), Go, Maven, RubyGems, NuGet and Composer. It knows
//! nothing of packages or advisories.
//!
//! ```
//! use customs_version::{Scheme, compare};
//! use std::cmp::Ordering;
//! assert_eq!(compare(Scheme::Dpkg, "1:1.0", "2.0"), Some(Ordering::Greater));
//! ```

use std::cmp::Ordering;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Dpkg,
    Apk,
    Rpm,
    Pep440,
    Semver,
    Go,
    Maven,
    RubyGems,
    NuGet,
    Composer,
}

impl Scheme {
    /// The scheme for an OSV ecosystem name (release suffix allowed: `Debian:12`,
    /// `Alpine:v3.18`). Unknown ecosystems give `None`.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Azure Linux"
            | "Mariner" | "Photon OS" | "rpm" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" => Scheme::Semver,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Composer,
            _ => return None,
        })
    }
}

/// Compares two versions under `scheme`. `None` when either cannot be parsed.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    // Placeholder until each scheme lands: only exact equality is known.
    let _ = scheme;
    if a == b {
        Some(Ordering::Equal)
    } else {
        None
    }
}
