//! RPM versions (`[epoch:]version[-release]`), ordered like rpm's `rpmvercmp`: alphanumeric
//! segments compared one by one, `~` sorting before and `^` after the end of a string.

use crate::num::cmp_digits;
use std::cmp::Ordering;

/// A parsed RPM version (EVR).
#[derive(Debug, Clone)]
pub struct Version {
    epoch: Option<Box<str>>,
    version: Box<str>,
    release: Option<Box<str>>,
}

impl Version {
    /// Splits an EVR. The epoch is everything before the first `:` (a missing epoch counts as
    /// `0`), the release everything after the last `-`. Any other text is accepted, as rpm does;
    /// only an empty or whitespace-bearing string is rejected.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => (Some(e.into()), rest),
            None => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r.into())),
            None => (rest, None),
        };
        Some(Version {
            epoch,
            version: version.into(),
            release,
        })
    }
}

/// rpm's `rpmvercmp` over bytes; only ASCII letters and digits count, every other byte
/// (including non-ASCII) separates segments.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(&a[i]) {
            i += 1;
        }
        while j < b.len() && class(&b[j]) {
            j += 1;
        }
        let (sa, sb) = (&a[si..i], &b[sj..j]);
        if sb.is_empty() {
            // Segments of different kinds: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            // Both runs are ASCII digits.
            cmp_digits(
                std::str::from_utf8(sa).unwrap_or(""),
                std::str::from_utf8(sb).unwrap_or(""),
            )
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        let by_epoch = match (&self.epoch, &other.epoch) {
            (None, None) => Ordering::Equal,
            (a, b) => rpmvercmp(a.as_deref().unwrap_or("0"), b.as_deref().unwrap_or("0")),
        };
        by_epoch
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

order_from_cmp!(Version, eq);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_is_older_and_caret_newer_than_the_plain_version() {
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^git1", "1.0.1"), Ordering::Less);
    }

    #[test]
    fn numbers_are_newer_than_letters() {
        assert_eq!(rpmvercmp("1.1", "1.a"), Ordering::Greater);
        assert_eq!(rpmvercmp("xyz.4", "8"), Ordering::Less);
    }

    #[test]
    fn missing_release_sorts_first() {
        let a = Version::parse("1").unwrap();
        let b = Version::parse("1-").unwrap();
        assert!(a < b);
    }
}
