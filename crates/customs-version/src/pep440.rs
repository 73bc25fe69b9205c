//! Python package versions, ordered like `packaging.version` (PEP 440). Strings that are not
//! PEP 440 are kept as pre-PEP 440 "legacy" versions (packaging's former `LegacyVersion`),
//! which sort before every PEP 440 version.

use crate::num::Num;

/// A parsed Python version: PEP 440 or legacy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// A string outside PEP 440, ordered by setuptools' historical rules.
    Legacy(Vec<Box<str>>),
    /// A PEP 440 version.
    Pep440(Pep440),
}

/// The sort key of a PEP 440 version; field order is comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pep440 {
    epoch: Num,
    /// Release numbers with trailing zeros removed.
    release: Vec<Num>,
    pre: Phase,
    /// `None` (no post release) sorts first.
    post: Option<Num>,
    dev: Dev,
    /// `None` (no local label) sorts first.
    local: Option<Vec<LocalPart>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// A development release with neither pre nor post release sorts before every pre-release.
    DevOnly,
    /// 0 = a, 1 = b, 2 = rc.
    PreRelease(u8, Num),
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dev {
    Dev(Num),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    /// Strings sort before numbers.
    Str(Box<str>),
    Num(Num),
}

/// A cursor over a lower-cased version string.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) -> bool {
        self.eat("-") || self.eat("_") || self.eat(".")
    }

    fn digits(&mut self) -> Option<Num> {
        let n = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let num = Num::parse(&self.rest()[..n])?;
        self.pos += n;
        Some(num)
    }

    /// Optional separator, then the first of `labels` that matches. Returns its index.
    fn label(&mut self, labels: &[&str]) -> Option<usize> {
        let start = self.pos;
        self.eat_sep();
        for (i, l) in labels.iter().enumerate() {
            if self.eat(l) {
                return Some(i);
            }
        }
        self.pos = start;
        None
    }

    /// Optional separator, then an optional number (implicitly 0). Like packaging's regex,
    /// a separator with no number after it still belongs to the label (`1.0b-`).
    fn label_number(&mut self) -> Num {
        self.eat_sep();
        self.digits().unwrap_or(Num::ZERO)
    }
}

fn parse_pep440(s: &str) -> Option<Pep440> {
    let mut c = Cursor { s, pos: 0 };
    c.eat("v");
    let first = c.digits()?;
    let (epoch, mut release) = if c.eat("!") {
        (first, vec![c.digits()?])
    } else {
        (Num::ZERO, vec![first])
    };
    loop {
        let start = c.pos;
        if c.eat(".") {
            if let Some(n) = c.digits() {
                release.push(n);
                continue;
            }
        }
        c.pos = start;
        break;
    }
    // Longer labels first so that `alpha` is not read as `a` followed by junk.
    const PRE: [&str; 8] = ["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"];
    let pre = c.label(&PRE).map(|i| {
        let kind = match PRE[i] {
            "alpha" | "a" => 0,
            "beta" | "b" => 1,
            _ => 2,
        };
        (kind, c.label_number())
    });
    let post = if let Some(n) = {
        let start = c.pos;
        if c.eat("-") {
            let n = c.digits();
            if n.is_none() {
                c.pos = start;
            }
            n
        } else {
            None
        }
    } {
        Some(n)
    } else {
        c.label(&["post", "rev", "r"]).map(|_| c.label_number())
    };
    let dev = c.label(&["dev"]).map(|_| c.label_number());
    let local = if c.eat("+") {
        let mut parts = Vec::new();
        for part in c.rest().split(['.', '-', '_']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            parts.push(match Num::parse(part) {
                Some(n) => LocalPart::Num(n),
                None => LocalPart::Str(part.into()),
            });
        }
        c.pos = s.len();
        Some(parts)
    } else {
        None
    };
    if c.pos != s.len() {
        return None;
    }
    while release.len() > 1 && release.last().is_some_and(Num::is_zero) {
        release.pop();
    }
    let pre = match (pre, &post, &dev) {
        (Some((kind, n)), _, _) => Phase::PreRelease(kind, n),
        (None, None, Some(_)) => Phase::DevOnly,
        (None, _, _) => Phase::Final,
    };
    Some(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev: dev.map_or(Dev::None, Dev::Dev),
        local,
    })
}

/// setuptools' legacy key: numbers zero-padded to 8 digits, words prefixed by `*`, and
/// trailing zero runs and stray `-` dropped before pre-release words.
fn legacy_key(s: &str) -> Vec<Box<str>> {
    let mut raw: Vec<String> = Vec::new();
    let mut other = String::new();
    let mut chars = s.chars().peekable();
    let flush = |other: &mut String, raw: &mut Vec<String>| {
        if !other.is_empty() {
            raw.push(std::mem::take(other));
        }
    };
    while let Some(&ch) = chars.peek() {
        if ch.is_ascii_digit() || ch.is_ascii_lowercase() {
            flush(&mut other, &mut raw);
            let digit = ch.is_ascii_digit();
            let mut run = String::new();
            while let Some(&c) = chars.peek() {
                if (digit && c.is_ascii_digit()) || (!digit && c.is_ascii_lowercase()) {
                    run.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            raw.push(run);
        } else if ch == '.' || ch == '-' {
            flush(&mut other, &mut raw);
            raw.push(ch.to_string());
            chars.next();
        } else {
            other.push(ch);
            chars.next();
        }
    }
    flush(&mut other, &mut raw);

    let mut parts: Vec<String> = Vec::new();
    let mapped = raw
        .into_iter()
        .filter(|p| p != ".")
        .map(|p| match p.as_str() {
            "pre" | "preview" | "rc" => "*c".to_owned(),
            "-" => "*final-".to_owned(),
            "dev" => "*@".to_owned(),
            _ if p.starts_with(|c: char| c.is_ascii_digit()) => format!("{p:0>8}"),
            _ => format!("*{p}"),
        })
        .chain(std::iter::once("*final".to_owned()));
    for part in mapped {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts.into_iter().map(String::into_boxed_str).collect()
}

impl Version {
    /// Parses a Python version; PEP 440 if it can be, legacy otherwise. Only empty strings and
    /// strings with inner whitespace or control characters are rejected.
    pub fn parse(input: &str) -> Option<Version> {
        let s = input.trim().to_lowercase();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        Some(match parse_pep440(&s) {
            Some(v) => Version::Pep440(v),
            None => Version::Legacy(legacy_key(&s)),
        })
    }

    /// Whether this is a PEP 440 version (not a legacy one).
    pub fn is_pep440(&self) -> bool {
        matches!(self, Version::Pep440(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    version_test_helpers!();

    #[test]
    fn spelling_variants_normalise_to_one_version() {
        assert_eq!(v("1.0ALPHA1"), v("1.0a1"));
        assert_eq!(v("1.0-preview_2"), v("1.0rc2"));
        assert_eq!(v("v1.0.post"), v("1.0.post0"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert_eq!(v("1.0.0"), v("1"));
    }

    #[test]
    fn release_phases_order() {
        let order = [
            "1.0.dev0",
            "1.0a1.dev1",
            "1.0a1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+local",
            "1.0.post1.dev1",
            "1.0.post1",
            "1!0.1",
        ];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn legacy_versions_sort_before_pep440() {
        assert!(!v("trunk").is_pep440());
        assert!(v("trunk") < v("0.0.1"));
        assert!(v("0.1-bulbasaur") < v("0.1-charmander"));
    }
}
