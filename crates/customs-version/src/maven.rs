//! Maven versions, ordered like `ComparableVersion` of maven-artifact 3.8.6 (the version behind
//! the OSV corpus): numbers and qualifiers in nested lists (a `-` or a digit/letter switch
//! opens a sub-list), qualifiers ordered alpha < beta < milestone < rc = cr < snapshot < "" =
//! ga = final = release < sp < anything else (alphabetically), case-insensitive.
//!
//! Two known differences: a release qualifier between two hyphens is dropped (`1-ga-1` =
//! `1-1`), as the POM specification and the OSV corpus say, where maven-artifact orders it just
//! below `1-1`; and maven-artifact 3.8.7 and later read a qualifier right after `.` as a
//! sub-list (`1.0.0.RC8-beta` > `1.0.0-RC16`), which 3.8.6 and this module do not.

use crate::num::Num;
use std::cmp::Ordering;

/// Known qualifiers in ascending order; unknown ones sort after all of them.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// The index of the release qualifier "" in [`QUALIFIERS`].
const RELEASE: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Int(Num),
    /// (rank in [`QUALIFIERS`] or `QUALIFIERS.len()` if unknown, the qualifier if unknown).
    Str(usize, Box<str>),
    List(Vec<Item>),
}

impl Item {
    fn string(value: &str, followed_by_digit: bool) -> Item {
        let value = match (followed_by_digit, value) {
            (true, "a") => "alpha",
            (true, "b") => "beta",
            (true, "m") => "milestone",
            (_, "ga" | "final" | "release") => "",
            (_, "cr") => "rc",
            (_, v) => v,
        };
        match QUALIFIERS.iter().position(|q| *q == value) {
            Some(rank) => Item::Str(rank, "".into()),
            None => Item::Str(QUALIFIERS.len(), value.into()),
        }
    }

    fn parse(is_digit: bool, text: &str) -> Item {
        if is_digit {
            Item::Int(Num::parse(text).unwrap_or(Num::ZERO))
        } else {
            Item::string(text, false)
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.is_zero(),
            Item::Str(rank, _) => *rank == RELEASE,
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares with a missing item (the end of the shorter list).
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Int(n) => {
                if n.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Str(rank, _) => rank.cmp(&RELEASE),
            Item::List(items) => items
                .iter()
                .map(Item::cmp_null)
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Int(a), Item::Int(b)) => a.cmp(b),
            (Item::Int(_), _) => Ordering::Greater,
            (Item::Str(..), Item::Int(_)) => Ordering::Less,
            (Item::Str(ra, a), Item::Str(rb, b)) => ra
                .cmp(rb)
                .then_with(|| a.encode_utf16().cmp(b.encode_utf16())),
            (Item::Str(..), Item::List(_)) => Ordering::Less,
            (Item::List(_), Item::Int(_)) => Ordering::Less,
            (Item::List(_), Item::Str(..)) => Ordering::Greater,
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let ord = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => x.cmp_item(y),
            (Some(x), None) => x.cmp_null(),
            (None, Some(y)) => y.cmp_null().reverse(),
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Removes trailing null items (0, "", empty list), stopping at the first non-list item that
/// is not null.
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        if items[i].is_null() {
            items.remove(i);
        } else if !matches!(items[i], Item::List(_)) {
            break;
        }
    }
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    items: Vec<Item>,
}

/// Builds nested lists: `stack` holds the open lists, innermost last.
struct Builder {
    stack: Vec<Vec<Item>>,
}

impl Builder {
    fn push(&mut self, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            top.push(item);
        }
    }

    fn open_list(&mut self) {
        self.stack.push(Vec::new());
    }

    fn finish(mut self) -> Vec<Item> {
        // Close the lists innermost first, normalising each, as Maven does.
        while self.stack.len() > 1 {
            let mut list = self.stack.pop().unwrap_or_default();
            normalize(&mut list);
            self.push(Item::List(list));
        }
        let mut root = self.stack.pop().unwrap_or_default();
        normalize(&mut root);
        root
    }
}

impl Version {
    /// Parses a Maven version. Every non-empty string without whitespace or control characters
    /// is a Maven version.
    pub fn parse(input: &str) -> Option<Version> {
        if input.is_empty() || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let mut version = input.to_lowercase();
        // The POM specification trims a release qualifier that sits between two hyphens
        // (`1-ga-1` is `1-1`); maven-artifact keeps it as an empty level. Follow the spec, as
        // the OSV corpus does.
        for alias in ["-ga-", "-final-", "-release-"] {
            while let Some(at) = version.find(alias) {
                version.replace_range(at..at + alias.len(), "-");
            }
        }
        let mut b = Builder {
            stack: vec![Vec::new()],
        };
        let mut is_digit = false;
        let mut start = 0;
        for (i, c) in version.char_indices() {
            match c {
                '.' | '-' => {
                    if i == start {
                        b.push(Item::Int(Num::ZERO));
                    } else {
                        b.push(Item::parse(is_digit, &version[start..i]));
                    }
                    start = i + 1;
                    if c == '-' {
                        b.open_list();
                    }
                }
                _ if c.is_ascii_digit() => {
                    if !is_digit && i > start {
                        b.push(Item::string(&version[start..i], true));
                        start = i;
                        b.open_list();
                    }
                    is_digit = true;
                }
                _ => {
                    if is_digit && i > start {
                        b.push(Item::parse(true, &version[start..i]));
                        start = i;
                        b.open_list();
                    }
                    is_digit = false;
                }
            }
        }
        if version.len() > start {
            b.push(Item::parse(is_digit, &version[start..]));
        }
        Some(Version { items: b.finish() })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

order_from_cmp!(Version);

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn qualifiers_order() {
        let order = [
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-1",
        ];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn aliases_and_trailing_zeros_are_equal() {
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1-ga"), v("1.final"));
        assert_eq!(v("1cr"), v("1-rc"));
        assert_eq!(v("1a1"), v("1-alpha-1"));
    }
}
