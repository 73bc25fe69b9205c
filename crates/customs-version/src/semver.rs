//! SemVer 2.0.0 versions as npm and crates.io use them. [`Version::parse`] is lenient like
//! npm's loose mode and the OSV corpus (`v`/`=` prefix, 1 to 3 numbers, numbers of any size,
//! extra numeric components read as build metadata); [`Version::parse_strict`] accepts exactly
//! SemVer 2.0.0, as crates.io requires. Build metadata never affects the order.

use crate::num::Num;
use std::cmp::Ordering;

/// One dot-separated pre-release identifier. Numeric identifiers sort before alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ident {
    Num(Num),
    Alpha(Box<str>),
}

/// How strictly to read a version string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// Leading zeros allowed in numbers and numeric identifiers.
    pub leading_zeros: bool,
    /// Fewer than three numbers allowed (missing ones are 0).
    pub short: bool,
    /// A pre-release may start without `-` when it starts with a letter (`1.2.3beta`).
    pub bare_pre: bool,
    /// Numeric components after the third are taken as build metadata.
    pub extra_numbers: bool,
}

/// Parses dot-separated pre-release identifiers (`[0-9A-Za-z-]+` each).
pub(crate) fn parse_idents(s: &str, leading_zeros: bool, lowercase: bool) -> Option<Vec<Ident>> {
    s.split('.')
        .map(|id| {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return None;
            }
            if id.bytes().all(|b| b.is_ascii_digit()) {
                if !leading_zeros && id.len() > 1 && id.starts_with('0') {
                    return None;
                }
                return Num::parse(id).map(Ident::Num);
            }
            Some(Ident::Alpha(if lowercase {
                id.to_ascii_lowercase().into()
            } else {
                id.into()
            }))
        })
        .collect()
}

/// Pre-release precedence: a release (no identifiers) sorts after every pre-release.
pub(crate) fn cmp_pre(a: &[Ident], b: &[Ident]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

/// Build metadata: dot-separated `[0-9A-Za-z-]+` identifiers.
fn valid_build(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// A parsed SemVer version (build metadata dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub(crate) numbers: [Num; 3],
    pub(crate) pre: Vec<Ident>,
}

impl Version {
    /// Lenient parse, for npm and OSV data.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim().trim_start_matches(['=', 'v', ' ']);
        let rules = Rules {
            leading_zeros: true,
            short: true,
            bare_pre: true,
            extra_numbers: true,
        };
        Version::parse_with(s, rules)
    }

    /// Strict SemVer 2.0.0, as crates.io requires (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no
    /// leading zeros, no prefix).
    pub fn parse_strict(input: &str) -> Option<Version> {
        let rules = Rules {
            leading_zeros: false,
            short: false,
            bare_pre: false,
            extra_numbers: false,
        };
        Version::parse_with(input, rules)
    }

    pub(crate) fn parse_with(s: &str, rules: Rules) -> Option<Version> {
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        if let Some(b) = build {
            if !valid_build(b) {
                return None;
            }
        }
        let core_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (core, mut pre) = rest.split_at(core_len);
        let mut parts = core.split('.');
        let mut numbers = [Num::ZERO, Num::ZERO, Num::ZERO];
        let mut count = 0;
        for slot in numbers.iter_mut() {
            let Some(part) = parts.next() else { break };
            if !rules.leading_zeros && part.len() > 1 && part.starts_with('0') {
                return None;
            }
            *slot = Num::parse(part)?;
            count += 1;
        }
        if count < 3 && !rules.short {
            return None;
        }
        let extra: Vec<&str> = parts.collect();
        if !extra.is_empty() {
            if !rules.extra_numbers || extra.iter().any(|p| p.is_empty()) {
                return None;
            }
            // `1.2.3.4-x` reads as build metadata from the fourth number on.
            return Some(Version {
                numbers,
                pre: Vec::new(),
            });
        }
        if pre.is_empty() {
            return Some(Version {
                numbers,
                pre: Vec::new(),
            });
        }
        if let Some(p) = pre.strip_prefix('-') {
            pre = p;
        } else if !(rules.bare_pre && pre.starts_with(|c: char| c.is_ascii_alphabetic())) {
            return None;
        }
        Some(Version {
            numbers,
            pre: parse_idents(pre, rules.leading_zeros, false)?,
        })
    }

    /// Whether this is a pre-release.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| cmp_pre(&self.pre, &other.pre))
    }
}

order_from_cmp!(Version);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn pre_releases_follow_semver_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn loose_forms_are_read_like_npm() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("=1.2.3"), v("1.2.3"));
        assert_eq!(v("1.2.3beta"), v("1.2.3-beta"));
        assert_eq!(v("1"), v("1.0.0"));
        assert_eq!(v("1.2.3+build"), v("1.2.3"));
    }

    #[test]
    fn strict_parse_rejects_what_crates_io_rejects() {
        assert!(Version::parse_strict("1.2.3-rc.1+b5").is_some());
        for bad in [
            "v1.2.3",
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "1.2.3beta",
            "1.2.3.4",
            "1.2.3+",
        ] {
            assert!(Version::parse_strict(bad).is_none(), "{bad}");
        }
    }
}
