//! The one package URL type (<https://github.com/package-url/purl-spec>): every purl customs
//! builds, reads from an SBOM, matches in a VEX or ignore file, or writes into a report is a
//! [`Purl`], so there is one parser and one encoder.
//!
//! Written here rather than taken from the `packageurl` crate because that crate applies
//! type-specific case folding on parse and build (it lower-cases Go module paths, which are
//! case-sensitive and which Syft and Trivy keep as written), and because SBOMs in the wild
//! carry purls it rejects; customs must read those leniently and print canonically.
//!
//! Printing follows the spec's "Characters and encoding" rules: alphanumerics, `.-_~` and the
//! colon are never encoded; everything else in a component is percent-encoded, so `/` inside
//! a qualifier value is `%2F`. Qualifiers are sorted by key and empty ones dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Ecosystem;

/// A package URL, decoded into its components.
///
/// Ordering, equality and hashing follow the components, so two spellings of the same purl
/// (different qualifier order, needless escapes) are equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Purl {
    /// The type (`deb`, `npm`, `pypi`), lower-cased.
    pub ty: String,
    /// The namespace (`debian`, `@scope`, a Maven group), when given; `/`-separated segments.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The version, when given.
    pub version: Option<String>,
    /// Qualifiers (`arch`, `distro`, ...), keys lower-cased, no empty values.
    pub qualifiers: BTreeMap<String, String>,
    /// The subpath, when given.
    pub subpath: Option<String>,
}

/// Text that is not a package URL: no `pkg:` scheme, no type or no name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a package URL (pkg:type/name)")]
pub struct PurlError(pub String);

impl Purl {
    /// Builds `pkg:<ty>/<namespace>/<name>@<version>?<qualifiers>`. Empty namespace and
    /// version are left out, as are qualifiers with empty values. `None` when the type or the
    /// name is empty: such a package has no purl.
    pub fn new(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: &str,
        qualifiers: &[(&str, &str)],
    ) -> Option<Purl> {
        if ty.is_empty() || name.is_empty() {
            return None;
        }
        let namespace = namespace
            .map(|ns| {
                ns.split('/')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .filter(|ns| !ns.is_empty());
        Some(Purl {
            ty: ty.to_ascii_lowercase(),
            namespace,
            name: name.to_string(),
            version: (!version.is_empty()).then(|| version.to_string()),
            qualifiers: qualifiers
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            subpath: None,
        })
    }

    /// Parses a package URL leniently, as SBOMs write them: surrounding blanks and extra `/`
    /// after the scheme are ignored, invalid escapes are kept as written.
    pub fn parse(s: &str) -> Result<Purl, PurlError> {
        let bad = || PurlError(s.to_string());
        let rest = s.trim().strip_prefix("pkg:").ok_or_else(bad)?;
        let rest = rest.trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, sp)) => {
                // Subpath segments `.` and `..` mean nothing inside a package and are dropped.
                let segs: Vec<String> = sp
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != "." && *s != "..")
                    .map(decode)
                    .collect();
                (r, (!segs.is_empty()).then(|| segs.join("/")))
            }
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut qualifiers = BTreeMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            if let Some((k, v)) = pair.split_once('=') {
                if !v.is_empty() {
                    qualifiers.insert(k.to_ascii_lowercase(), decode(v));
                }
            }
        }
        let (ty, path) = rest.split_once('/').ok_or_else(bad)?;
        let ty = ty.to_ascii_lowercase();
        if ty.is_empty() {
            return Err(bad());
        }
        let path = path.trim_end_matches('/');
        // The version follows the last `@` of the last segment; a scope's `@` is encoded.
        let (path, version) = match path.rfind('@') {
            Some(at) if !path[at..].contains('/') => (
                &path[..at],
                Some(decode(&path[at + 1..])).filter(|v| !v.is_empty()),
            ),
            _ => (path, None),
        };
        let mut segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        let name = segments.pop().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let namespace = (!segments.is_empty()).then(|| segments.join("/"));
        Ok(Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        })
    }

    /// A qualifier's value (`arch`, `distro`, `upstream`).
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }

    /// The ecosystem customs files packages of this purl type under; `None` for types customs
    /// does not match (`oci`, `generic`, `github`, …).
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        Ecosystem::from_purl_type(&self.ty)
    }

    /// The package name as the ecosystem writes it: Go module paths and Composer names keep
    /// their namespace, npm scopes are `@scope/name`, Maven is `group:artifact`; the OS types'
    /// namespace is the distribution and is not part of the name.
    pub fn package_name(&self) -> String {
        match (self.ty.as_str(), &self.namespace) {
            ("golang" | "composer", Some(ns)) => format!("{ns}/{}", self.name),
            ("npm", Some(ns)) => {
                let scope = if ns.starts_with('@') {
                    ns.clone()
                } else {
                    format!("@{ns}")
                };
                format!("{scope}/{}", self.name)
            }
            ("maven", Some(ns)) => format!("{ns}:{}", self.name),
            _ => self.name.clone(),
        }
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/').filter(|s| !s.is_empty()) {
                write!(f, "{}/", encode(seg))?;
            }
        }
        f.write_str(&encode(&self.name))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v))?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{k}={}", encode(v))?;
        }
        if let Some(sp) = &self.subpath {
            f.write_str("#")?;
            let segs: Vec<String> = sp.split('/').map(encode).collect();
            f.write_str(&segs.join("/"))?;
        }
        Ok(())
    }
}

impl FromStr for Purl {
    type Err = PurlError;
    fn from_str(s: &str) -> Result<Purl, PurlError> {
        Purl::parse(s)
    }
}

/// A purl equals text that parses to the same components.
impl PartialEq<str> for Purl {
    fn eq(&self, other: &str) -> bool {
        Purl::parse(other).is_ok_and(|p| p == *self)
    }
}

impl PartialEq<&str> for Purl {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Serialize for Purl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Purl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Purl, D::Error> {
        let text = String::deserialize(d)?;
        Purl::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Percent-encodes everything except unreserved characters (`A-Za-z0-9-._~`) and `:`, which
/// the spec forbids encoding.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-decodes `s`; invalid escapes are kept as written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(ty: &str, ns: Option<&str>, name: &str, v: &str, q: &[(&str, &str)]) -> String {
        Purl::new(ty, ns, name, v, q).unwrap().to_string()
    }

    #[test]
    fn scoped_npm_name_is_percent_encoded() {
        // The scope is the namespace.
        assert_eq!(
            build("npm", Some("@babel"), "cli", "7.16.8", &[]),
            "pkg:npm/%40babel/cli@7.16.8"
        );
    }

    #[test]
    fn qualifiers_are_sorted_and_empty_ones_dropped() {
        assert_eq!(
            build(
                "deb",
                Some("debian"),
                "bash",
                "5.2+b1",
                &[("distro", "debian-12"), ("arch", "amd64"), ("epoch", "")]
            ),
            "pkg:deb/debian/bash@5.2%2Bb1?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn colon_is_never_encoded_and_slash_in_values_always_is() {
        assert_eq!(
            build(
                "oci",
                None,
                "debian",
                "sha256:244f",
                &[("repository_url", "docker.io/library/debian")]
            ),
            "pkg:oci/debian@sha256:244f?repository_url=docker.io%2Flibrary%2Fdebian"
        );
    }

    #[test]
    fn empty_name_has_no_purl() {
        assert!(Purl::new("npm", None, "", "1", &[]).is_none());
        assert!(Purl::parse("pkg:npm/@1").is_err());
        assert!(Purl::parse("npm/x@1").is_err());
    }

    #[test]
    fn parse_then_print_is_canonical_and_round_trips() {
        for (input, canonical) in [
            (
                "pkg:deb/debian/bash@5.2%2Bb1?distro=debian-12&arch=amd64",
                "pkg:deb/debian/bash@5.2%2Bb1?arch=amd64&distro=debian-12",
            ),
            (
                "pkg://NPM/%40babel/cli@7.16.8",
                "pkg:npm/%40babel/cli@7.16.8",
            ),
            (
                "pkg:golang/github.com/Masterminds/semver/v3@v3.2.0#sub/../x",
                "pkg:golang/github.com/Masterminds/semver/v3@v3.2.0#sub/x",
            ),
            ("pkg:deb/debian/a b@1", "pkg:deb/debian/a%20b@1"),
            ("pkg:pypi/x@1%zz", "pkg:pypi/x@1%25zz"),
        ] {
            let p = Purl::parse(input).unwrap();
            assert_eq!(p.to_string(), canonical, "{input}");
            assert_eq!(Purl::parse(canonical).unwrap(), p, "{canonical}");
        }
    }

    #[test]
    fn printed_purls_never_hold_blanks_or_control_characters() {
        // SPDX and CycloneDX consumers reject such purls; the encoder makes them impossible.
        let p = Purl::new("npm", Some("@a b"), "x\ny", "1 2\t", &[("k", "v w")]).unwrap();
        let text = p.to_string();
        assert_eq!(text, "pkg:npm/%40a%20b/x%0Ay@1%202%09?k=v%20w");
        assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()));
        for bad in ["", "pkg:", "pkg:npm", "pkg:/x", "pkg:npm/", "npm/x"] {
            assert!(Purl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_is_the_string_form() {
        let p = Purl::new(
            "gem",
            None,
            "nokogiri",
            "1.13.3",
            &[("platform", "x86_64-linux")],
        )
        .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"pkg:gem/nokogiri@1.13.3?platform=x86_64-linux\"");
        assert_eq!(serde_json::from_str::<Purl>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Purl>("\"nope\"").is_err());
    }
}
