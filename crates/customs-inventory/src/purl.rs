//! Package URL construction (https://github.com/package-url/purl-spec), percent-encoding
//! names, versions and qualifiers the way the spec asks.

/// Builds `pkg:<ty>/<namespace>/<name>@<version>?<qualifiers>`.
///
/// `namespace` may contain `/` separated segments; each segment is encoded on its own.
/// Qualifiers with empty values are dropped and the rest sorted by key, as the spec requires.
pub fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        for seg in ns.split('/').filter(|s| !s.is_empty()) {
            out.push_str(&encode(seg));
            out.push('/');
        }
    }
    out.push_str(&encode(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    let mut qs: Vec<_> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    qs.sort_by_key(|(k, _)| *k);
    for (i, (k, v)) in qs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// Percent-encodes everything except unreserved characters (`A-Za-z0-9-._~`) and `:`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_npm_name_is_percent_encoded() {
        // The scope is the namespace.
        assert_eq!(
            purl("npm", Some("@babel"), "cli", "7.16.8", &[]),
            "pkg:npm/%40babel/cli@7.16.8"
        );
    }

    #[test]
    fn qualifiers_are_sorted_and_empty_ones_dropped() {
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "bash",
                "5.2+b1",
                &[("distro", "debian-12"), ("arch", "amd64"), ("epoch", "")]
            ),
            "pkg:deb/debian/bash@5.2%2Bb1?arch=amd64&distro=debian-12"
        );
    }
}
