//! NuGet versions: SemVer 2.0 with an optional fourth number (`1.0` = `1.0.0.0`), leading
//! zeros allowed, pre-release labels compared case-insensitively, metadata ignored.

use crate::num::Num;
use crate::semver::{cmp_pre, parse_idents, Ident};
use std::cmp::Ordering;

/// A parsed NuGet version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    numbers: [Num; 4],
    /// Pre-release labels, lower-cased.
    pre: Vec<Ident>,
}

impl Version {
    /// Parses `N[.N[.N[.N]]][-label[.label]...][+metadata]`.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        let (rest, meta) = match s.split_once('+') {
            Some((r, m)) => (r, Some(m)),
            None => (s, None),
        };
        if let Some(m) = meta {
            if m.is_empty()
                || !m
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return None;
            }
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut numbers = [Num::ZERO, Num::ZERO, Num::ZERO, Num::ZERO];
        let mut parts = core.split('.');
        for (i, slot) in numbers.iter_mut().enumerate() {
            match parts.next() {
                Some(p) => *slot = Num::parse(p)?,
                None if i > 0 => break,
                None => return None,
            }
        }
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            Some(p) => parse_idents(p, true, true)?,
            None => Vec::new(),
        };
        Some(Version { numbers, pre })
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
    fn missing_numbers_are_zero_and_labels_ignore_case() {
        assert_eq!(v("1.0"), v("1.0.0.0"));
        assert_eq!(v("1.0.0-BETA.X"), v("1.0.0-beta.x+meta"));
        assert!(v("1.0.0.1-alpha") > v("1.0.0"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in ["", "1.0.0.0.0", "1.0-", "1..0", "a.b", "1.0+"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
