//! Arbitrary-size non-negative integers as they appear in version strings, ordered by value
//! without a big-integer library.

use std::cmp::Ordering;

/// Drops leading ASCII zeros, keeping at least one digit when `digits` is not empty.
fn strip_zeros(digits: &str) -> &str {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() && !digits.is_empty() {
        &digits[digits.len() - 1..]
    } else {
        trimmed
    }
}

/// Compares two runs of ASCII digits by numeric value; leading zeros do not count and an empty
/// run counts as zero.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A non-negative integer of any size. Values that fit in a `u64` are kept unboxed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Num {
    Small(u64),
    /// Digits without leading zeros; always larger than `u64::MAX`.
    Big(Box<str>),
}

impl Num {
    pub(crate) const ZERO: Num = Num::Small(0);

    /// Parses a run of ASCII digits; `None` if `digits` is empty or holds anything else.
    pub(crate) fn parse(digits: &str) -> Option<Num> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = strip_zeros(digits);
        Some(match digits.parse::<u64>() {
            Ok(n) => Num::Small(n),
            Err(_) => Num::Big(digits.into()),
        })
    }

    pub(crate) fn is_zero(&self) -> bool {
        matches!(self, Num::Small(0))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Num) -> Ordering {
        match (self, other) {
            (Num::Small(a), Num::Small(b)) => a.cmp(b),
            (Num::Small(_), Num::Big(_)) => Ordering::Less,
            (Num::Big(_), Num::Small(_)) => Ordering::Greater,
            (Num::Big(a), Num::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

order_from_cmp!(Num);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_beyond_u64_order_by_value() {
        let big = Num::parse("999999999999999999999999999999").unwrap();
        let less = Num::parse("999999999999999999999999999991").unwrap();
        assert!(less < big);
        assert!(
            Num::parse("18446744073709551615").unwrap()
                < Num::parse("18446744073709551616").unwrap()
        );
        assert_eq!(Num::parse("007"), Num::parse("7"));
        assert_eq!(Num::parse("000"), Some(Num::ZERO));
        assert_eq!(Num::parse(""), None);
        assert_eq!(Num::parse("1a"), None);
    }

    #[test]
    fn digit_runs_ignore_leading_zeros() {
        assert_eq!(cmp_digits("0010", "10"), Ordering::Equal);
        assert_eq!(cmp_digits("", "0"), Ordering::Equal);
        assert_eq!(cmp_digits("9", "10"), Ordering::Less);
    }
}
