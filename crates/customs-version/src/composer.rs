//! Composer (Packagist) versions, ordered like PHP's `version_compare` as the OSV corpus
//! applies it: a leading `v`/`V` dropped, `-`, `_` and `+` read as `.`, digit/letter switches
//! split parts, and word parts ranked by prefix dev < a(lpha) < b(eta) < RC = rc < number
//! (`#`) < p(l), unknown words lowest. Numbers compare by value at any size.

use crate::num::cmp_digits;
use std::cmp::Ordering;

/// A parsed Composer version: its parts after canonicalisation.
#[derive(Debug, Clone)]
pub struct Version {
    parts: Vec<Box<str>>,
}

/// Splits into parts: `[-_+]` become `.`, and a `.` is inserted wherever a digit meets a
/// character that is neither a digit nor `.`.
fn canonical_parts(s: &str) -> Vec<Box<str>> {
    let mut out = String::with_capacity(s.len() * 2);
    let mut prev: Option<char> = None;
    let class = |c: char| match c {
        '.' => 0,
        _ if c.is_ascii_digit() => 1,
        _ => 2,
    };
    for c in s.chars() {
        let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
        if let Some(p) = prev {
            let (pc, cc) = (class(p), class(c));
            if pc != 0 && cc != 0 && pc != cc {
                out.push('.');
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out.split('.').map(Box::from).collect()
}

fn is_number(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

/// The rank of a word part, by prefix; `#` stands for a number.
fn special_rank(form: &str) -> i8 {
    const FORMS: [(&str, i8); 7] = [
        ("dev", 0),
        ("a", 1),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |(_, rank)| *rank)
}

fn cmp_parts<'a>(a: &'a [Box<str>], b: &'a [Box<str>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (is_number(x), is_number(y)) {
            (true, true) => cmp_digits(x, y),
            (false, false) => special_rank(x).cmp(&special_rank(y)),
            (true, false) => special_rank("#").cmp(&special_rank(y)),
            (false, true) => special_rank(x).cmp(&special_rank("#")),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let number: [Box<str>; 1] = ["#".into()];
    match a.len().cmp(&b.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Greater => {
            let rest = &a[b.len()..];
            if is_number(&rest[0]) {
                Ordering::Greater
            } else {
                cmp_parts(rest, &number)
            }
        }
        Ordering::Less => {
            let rest = &b[a.len()..];
            if is_number(&rest[0]) {
                Ordering::Less
            } else {
                cmp_parts(&number, rest)
            }
        }
    }
}

impl Version {
    /// Parses a Composer version. Any non-empty string without whitespace or control
    /// characters is accepted, as `version_compare` accepts it.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        Some(Version {
            parts: canonical_parts(s),
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        cmp_parts(&self.parts, &other.parts)
    }
}

order_from_cmp!(Version, eq);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn canonical_form_splits_words_from_numbers() {
        let parts = |s: &str| {
            canonical_parts(s)
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(".")
        };
        assert_eq!(parts("1.0rc1"), "1.0.rc.1");
        assert_eq!(parts("4.3-2RC1"), "4.3.2.RC.1");
        assert_eq!(parts("1.0_a1"), "1.0.a.1");
    }

    #[test]
    fn stability_words_order() {
        let order = ["1.0-dev", "1.0a1", "1.0b1", "1.0RC1", "1.0", "1.0pl1"];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn a_further_number_makes_a_version_newer() {
        assert!(v("1.0.0") > v("1.0"));
        assert!(v("1.0") > v("1.0.beta"));
    }
}
