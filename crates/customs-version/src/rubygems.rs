//! RubyGems versions, ordered like `Gem::Version#<=>`: segments of digits or letters, a `-`
//! read as `.pre.`, any letter segment making a pre-release, trailing zeros ignored.

use crate::num::Num;
use std::cmp::Ordering;

/// One segment. Strings sort before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Str(Box<str>),
    Num(Num),
}

/// A parsed RubyGems version, kept as its canonical segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    segments: Vec<Segment>,
}

/// `Gem::Version`'s pattern: `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`.
fn well_formed(s: &str) -> bool {
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    let mut parts = main.split('.');
    // Gem::Version wants digits first; `1beta` is accepted too, as the OSV corpus expects.
    let first_ok = parts.next().is_some_and(|p| {
        p.starts_with(|c: char| c.is_ascii_digit()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let rest_ok = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|q| !q.is_empty() && q.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    first_ok && rest_ok && pre_ok
}

impl Version {
    /// Parses a gem version; surrounding whitespace is allowed.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        if !well_formed(s) {
            return None;
        }
        let normalised = s.replace('-', ".pre.");
        let mut segments = Vec::new();
        let bytes = normalised.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            if bytes[i].is_ascii_digit() {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                segments.push(Segment::Num(Num::parse(&normalised[start..i])?));
            } else if bytes[i].is_ascii_alphabetic() {
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segments.push(Segment::Str(normalised[start..i].into()));
            } else {
                i += 1;
            }
        }
        // Canonical form: drop trailing zeros of the numeric part and of the part from the
        // first string segment on.
        let split = segments
            .iter()
            .position(|s| matches!(s, Segment::Str(_)))
            .unwrap_or(segments.len());
        let mut tail = segments.split_off(split);
        let is_zero = |s: &Segment| matches!(s, Segment::Num(n) if n.is_zero());
        while tail.last().is_some_and(is_zero) {
            tail.pop();
        }
        while segments.last().is_some_and(is_zero) {
            segments.pop();
        }
        segments.extend(tail);
        Some(Version { segments })
    }

    /// Whether this is a pre-release (has a letter segment).
    pub fn is_prerelease(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Str(_)))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        let zero = Segment::Num(Num::ZERO);
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).unwrap_or(&zero);
            let b = other.segments.get(i).unwrap_or(&zero);
            match a.cmp(b) {
                Ordering::Equal => {}
                ord => return ord,
            }
        }
        Ordering::Equal
    }
}

order_from_cmp!(Version);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn letters_make_a_pre_release() {
        assert!(v("1.0.b1") < v("1.0"));
        assert!(v("1.0.a.2") < v("1.0.b1"));
        assert!(v("1.0-rc1") < v("1.0"));
        assert!(v("1.0.a").is_prerelease());
    }

    #[test]
    fn trailing_zeros_do_not_count() {
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.a.0"), v("1.a"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in ["", "a", "1..2", "1.", "1.2 3", "1-"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
