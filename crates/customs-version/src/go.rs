//! Go versions. Module versions follow `golang.org/x/mod/semver` (the `v` is optional as in
//! OSV records; `v1` and `v1.2` mean `.0`; pseudo-versions and `+incompatible` need nothing
//! special, being a pre-release and build metadata). Toolchain and standard-library versions
//! (`go1.21rc2`, `go1.21.0`, `go1.9`) follow `go/version` and are mapped onto the same order:
//! `go1.21rc2` is `v1.21.0-rc.2`, and the Go 1.21+ language version `go1.21` is `v1.21.0-0`,
//! the lowest 1.21.0 pre-release.

use crate::num::Num;
use crate::semver::{self, Ident, Rules};

/// A parsed Go version, kept in SemVer form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(semver::Version);

const MODULE: Rules = Rules {
    leading_zeros: false,
    short: true,
    bare_pre: false,
    extra_numbers: false,
};

impl Version {
    /// Parses a module version (`v1.2.3`, `1.2.3`, pseudo-versions) or a toolchain version
    /// (`go1.21rc2`, or without `go` when it is not a module version, e.g. `1.21rc2`).
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        if let Some(toolchain) = s.strip_prefix("go") {
            return parse_toolchain(toolchain).map(Version);
        }
        let module = s.strip_prefix('v').unwrap_or(s);
        semver::Version::parse_with(module, MODULE)
            .or_else(|| parse_toolchain(s))
            .map(Version)
    }

    /// The SemVer form, e.g. `1.21.0-rc.2` for `go1.21rc2`.
    pub fn to_semver_string(&self) -> String {
        let [a, b, c] = &self.0.numbers;
        let mut out = format!("{}.{}.{}", num_str(a), num_str(b), num_str(c));
        for (i, id) in self.0.pre.iter().enumerate() {
            out.push(if i == 0 { '-' } else { '.' });
            match id {
                Ident::Num(n) => out.push_str(&num_str(n)),
                Ident::Alpha(s) => out.push_str(s),
            }
        }
        out
    }
}

fn num_str(n: &Num) -> String {
    match n {
        Num::Small(n) => n.to_string(),
        Num::Big(s) => s.to_string(),
    }
}

/// `go/version` syntax without the `go`: `1`, `1.N`, `1.N.P`, `1.N{alpha,beta,rc}K`.
fn parse_toolchain(s: &str) -> Option<semver::Version> {
    let number = |t: &str| -> Option<Num> {
        if t.len() > 1 && t.starts_with('0') {
            return None;
        }
        Num::parse(t)
    };
    let mut parts = s.splitn(3, '.');
    let major = number(parts.next()?)?;
    let Some(minor_part) = parts.next() else {
        return Some(semver::Version {
            numbers: [major, Num::ZERO, Num::ZERO],
            pre: Vec::new(),
        });
    };
    let minor_len = minor_part.bytes().take_while(u8::is_ascii_digit).count();
    let (minor, kind) = minor_part.split_at(minor_len);
    let minor = number(minor)?;
    let pre = if kind.is_empty() {
        match parts.next() {
            Some(patch) => {
                return Some(semver::Version {
                    numbers: [major, minor, number(patch)?],
                    pre: Vec::new(),
                })
            }
            // Before Go 1.21 the first release of 1.N was named 1.N; from 1.21 on, 1.N is the
            // language version, older than any 1.N pre-release.
            None if (&major, &minor) < (&Num::Small(1), &Num::Small(21)) => Vec::new(),
            None => vec![Ident::Num(Num::ZERO)],
        }
    } else {
        if parts.next().is_some() {
            return None;
        }
        let name = ["alpha", "beta", "rc"]
            .into_iter()
            .find(|name| kind.starts_with(name))?;
        let n = number(&kind[name.len()..])?;
        vec![Ident::Alpha(name.into()), Ident::Num(n)]
    };
    Some(semver::Version {
        numbers: [major, minor, Num::ZERO],
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn toolchain_versions_map_to_semver() {
        assert_eq!(v("go1.21rc2").to_semver_string(), "1.21.0-rc.2");
        assert_eq!(v("go1.21").to_semver_string(), "1.21.0-0");
        assert_eq!(v("go1.9").to_semver_string(), "1.9.0");
        assert_eq!(v("1.21rc2").to_semver_string(), "1.21.0-rc.2");
        assert_eq!(v("go1.21.0"), v("v1.21.0"));
    }

    #[test]
    fn pseudo_versions_precede_their_release() {
        assert!(v("v1.2.4-0.20191109021931-daa7c04131f5") < v("v1.2.4"));
        assert!(v("v1.2.4-0.20191109021931-daa7c04131f5") > v("v1.2.3"));
    }

    #[test]
    fn module_versions_reject_leading_zeros() {
        assert!(Version::parse("v01.2.3").is_none());
        assert!(Version::parse("v1.2.3-01").is_none());
        assert!(Version::parse("go1.21rc").is_none());
    }
}
