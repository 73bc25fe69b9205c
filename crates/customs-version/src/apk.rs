//! Alpine apk versions: `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
//!
//! Well-formed versions compare like `apk version -t`. For malformed ones the ordering follows
//! the OSV test corpus (google/osv-scalibr `alpine-versions.txt`): the parsable prefix is
//! compared first, unparsable leftovers sort below their absence, and two versions that both
//! fail to parse compare as plain strings. The order is total only over well-formed versions.

use crate::num::{cmp_digits, Num};
use std::cmp::Ordering;
use std::ops::Range;

/// Suffix names in ascending order; the release without a suffix sits between `rc` and `cvs`.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
/// The weight of "no suffix".
const NO_SUFFIX: u8 = 4;

/// A parsed apk version.
#[derive(Debug, Clone)]
pub struct Version {
    original: Box<str>,
    /// The text after everything that parsed did not start with `-r`.
    invalid: bool,
    /// Digit runs of the leading `number{.number}` part, as ranges into `original`.
    components: Vec<Range<usize>>,
    letter: Option<u8>,
    /// (weight, number) of each `_suffix{number}`.
    suffixes: Vec<(u8, Num)>,
    /// The `-r#` number; `0` when absent.
    revision: Num,
    /// Text was left over after the revision.
    remainder: bool,
}

impl Version {
    /// Parses an apk version. Only empty strings and strings with whitespace or control
    /// characters are rejected; see the module doc for how malformed versions order.
    pub fn parse(input: &str) -> Option<Version> {
        if input.is_empty() || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let bytes = input.as_bytes();
        let mut pos = 0;
        let digits_from =
            |p: usize| p + bytes[p..].iter().take_while(|b| b.is_ascii_digit()).count();

        let mut components = Vec::new();
        loop {
            let end = digits_from(pos);
            if end == pos {
                break;
            }
            components.push(pos..end);
            pos = end;
            if bytes.get(pos) == Some(&b'.') {
                pos += 1;
                if !bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                    // A trailing dot leaves an empty component behind it.
                    components.push(pos..pos);
                    break;
                }
            } else {
                break;
            }
        }

        let mut letter = None;
        if let Some(&c) = bytes.get(pos).filter(|c| c.is_ascii_lowercase()) {
            letter = Some(c);
            pos += 1;
        }

        let mut suffixes = Vec::new();
        'suffixes: while bytes.get(pos) == Some(&b'_') {
            for (weight, name) in SUFFIXES.iter().enumerate() {
                if input[pos + 1..].starts_with(name) {
                    let start = pos + 1 + name.len();
                    let end = digits_from(start);
                    let number = Num::parse(&input[start..end]).unwrap_or(Num::ZERO);
                    let weight = if weight < usize::from(NO_SUFFIX) {
                        weight as u8
                    } else {
                        weight as u8 + 1
                    };
                    suffixes.push((weight, number));
                    pos = end;
                    continue 'suffixes;
                }
            }
            break;
        }

        if bytes.get(pos) == Some(&b'~') {
            let hex = bytes[pos + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count();
            if hex > 0 {
                pos += 1 + hex;
            }
        }

        let mut invalid = false;
        let mut revision = Num::ZERO;
        if pos < bytes.len() {
            if input[pos..].starts_with("-r") {
                let end = digits_from(pos + 2);
                revision = Num::parse(&input[pos + 2..end]).unwrap_or(Num::ZERO);
                pos = end;
            } else {
                invalid = true;
            }
        }

        Some(Version {
            original: input.into(),
            invalid,
            components,
            letter,
            suffixes,
            revision,
            remainder: pos < bytes.len(),
        })
    }

    /// Whether the whole string follows the apk version grammar.
    pub fn is_well_formed(&self) -> bool {
        !self.invalid && !self.remainder && !self.components.is_empty()
    }

    fn component(&self, i: usize) -> Option<&str> {
        self.components.get(i).map(|r| &self.original[r.clone()])
    }

    fn cmp_components(&self, other: &Version) -> Ordering {
        let n = self.components.len().max(other.components.len());
        for i in 0..n {
            let ord = match (self.component(i), other.component(i)) {
                (Some(a), Some(b)) => {
                    // Past the first component a leading zero makes the part a fraction,
                    // compared as a string.
                    if i > 0 && (a.starts_with('0') || b.starts_with('0')) {
                        a.cmp(b)
                    } else {
                        cmp_digits(a, b)
                    }
                }
                (a, b) => a.is_some().cmp(&b.is_some()),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    fn cmp_suffixes(&self, other: &Version) -> Ordering {
        let n = self.suffixes.len().max(other.suffixes.len());
        let none = (NO_SUFFIX, Num::ZERO);
        for i in 0..n {
            let a = self.suffixes.get(i).unwrap_or(&none);
            let b = other.suffixes.get(i).unwrap_or(&none);
            let ord = a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        if self.invalid && other.invalid {
            return self.original.cmp(&other.original);
        }
        self.cmp_components(other)
            .then_with(|| self.letter.is_some().cmp(&other.letter.is_some()))
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| self.cmp_suffixes(other))
            .then_with(|| self.revision.cmp(&other.revision))
            .then_with(|| other.remainder.cmp(&self.remainder))
    }
}

order_from_cmp!(Version, eq);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn pre_release_suffixes_sort_before_release_and_post_suffixes_after() {
        assert_eq!(cmp("1.2_rc1", "1.2"), Ordering::Less);
        assert_eq!(cmp("1.2_p1", "1.2"), Ordering::Greater);
        assert_eq!(cmp("1.2_alpha", "1.2_beta"), Ordering::Less);
    }

    #[test]
    fn revision_orders_builds_of_one_version() {
        assert_eq!(cmp("1.0-r10", "1.0-r9"), Ordering::Greater);
        assert_eq!(cmp("1.0", "1.0-r0"), Ordering::Equal);
    }

    #[test]
    fn leading_zero_components_compare_as_fractions() {
        assert_eq!(cmp("1.05", "1.5"), Ordering::Less);
        assert_eq!(cmp("1.010", "1.02"), Ordering::Less);
    }

    #[test]
    fn well_formedness_is_reported() {
        assert!(Version::parse("1.2.3_rc1~abc-r2").unwrap().is_well_formed());
        assert!(!Version::parse("1.2.3X").unwrap().is_well_formed());
        assert!(Version::parse("").is_none());
    }
}
