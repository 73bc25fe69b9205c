//! Debian package versions (`[epoch:]upstream[-revision]`), ordered like
//! `dpkg --compare-versions`: letters before other symbols, `~` before everything, even the end.

use crate::num::{cmp_digits, Num};
use std::cmp::Ordering;

/// A parsed dpkg version.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: Num,
    upstream: Box<str>,
    revision: Box<str>,
}

impl Version {
    /// Parses a dpkg version. The epoch must be a number; the upstream part must not be empty;
    /// whitespace inside the version is rejected. Like dpkg, other odd characters are tolerated.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => (Num::parse(e)?, rest),
            None => (Num::ZERO, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return None;
        }
        Some(Version {
            epoch,
            upstream: upstream.into(),
            revision: revision.into(),
        })
    }
}

/// The weight dpkg gives one character of a non-digit run (0 for the end of the run).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (compared by [`order`]) and digit runs
/// (compared numerically).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let is_digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !is_digit(a, i)) || (j < b.len() && !is_digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let si = i;
        while is_digit(a, i) {
            i += 1;
        }
        let sj = j;
        while is_digit(b, j) {
            j += 1;
        }
        // Both runs are ASCII digits, so slicing the original strings is safe.
        let da = std::str::from_utf8(&a[si..i]).unwrap_or("");
        let db = std::str::from_utf8(&b[sj..j]).unwrap_or("");
        match cmp_digits(da, db) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

order_from_cmp!(Version, eq);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn tilde_sorts_before_end_of_string() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
    }

    #[test]
    fn letters_sort_before_symbols() {
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
    }

    #[test]
    fn epoch_dominates_and_must_be_numeric() {
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
        assert!(Version::parse("a:1.0").is_none());
        assert!(Version::parse(":1.0").is_none());
        assert!(Version::parse("1:").is_none());
    }
}
