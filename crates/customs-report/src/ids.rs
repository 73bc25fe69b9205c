//! Stable order and stable identifiers for packages: every renderer sorts the same way and
//! names a package the same way whatever order the extractors produced.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use customs_inventory::Package;
use customs_vulndb::Finding;
use sha2::{Digest, Sha256};

/// SHA-256 over every serialised field of a package, each length-prefixed so that field
/// boundaries cannot shift. Two packages with equal fingerprints render identically.
pub(crate) fn fingerprint(p: &Package) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |text: &str| {
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    };
    field(p.ecosystem.as_str());
    field(&p.name);
    field(&p.version);
    field(&p.purl_string());
    field(&p.licenses.len().to_string());
    p.licenses.iter().for_each(|l| field(l));
    field(p.source_name.as_deref().unwrap_or("\0none"));
    field(p.source_version.as_deref().unwrap_or("\0none"));
    field(p.arch.as_deref().unwrap_or("\0none"));
    field(&p.found_by);
    field(&p.locations.len().to_string());
    p.locations.iter().for_each(|l| field(l));
    field(p.layer.as_deref().unwrap_or("\0none"));
    h.finalize().into()
}

/// The report order: ecosystem, name, version, locations, then everything else.
pub(crate) fn compare(a: &Package, b: &Package) -> Ordering {
    (
        &a.ecosystem,
        &a.name,
        &a.version,
        &a.locations,
        &a.purl,
        &a.layer,
    )
        .cmp(&(
            &b.ecosystem,
            &b.name,
            &b.version,
            &b.locations,
            &b.purl,
            &b.layer,
        ))
        .then_with(|| fingerprint(a).cmp(&fingerprint(b)))
}

/// Packages in report order.
pub(crate) fn sorted<'a>(packages: impl IntoIterator<Item = &'a Package>) -> Vec<&'a Package> {
    let mut list: Vec<&Package> = packages.into_iter().collect();
    list.sort_by(|a, b| compare(a, b));
    list
}

/// Findings in report order: by package, then most severe first, then by id.
pub(crate) fn sorted_findings(findings: &[Finding]) -> Vec<&Finding> {
    let mut list: Vec<&Finding> = findings.iter().collect();
    list.sort_by(|a, b| {
        compare(&a.package, &b.package)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.source.cmp(&b.source))
    });
    list
}

/// Makes one identifier per package from `base`, unique within the list: a base shared by
/// several packages gets `sep` plus 16 hex digits of the package fingerprint, and exact
/// duplicates then get a running number. `packages` must already be in report order.
pub(crate) fn unique_ids(
    packages: &[&Package],
    base: impl Fn(&Package) -> String,
    sep: &str,
) -> Vec<String> {
    let bases: Vec<String> = packages.iter().map(|p| base(p)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &bases {
        *counts.entry(b.as_str()).or_default() += 1;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = Vec::with_capacity(packages.len());
    for (p, b) in packages.iter().zip(&bases) {
        let mut id = if counts[b.as_str()] > 1 {
            format!("{b}{sep}{}", &hex::encode(fingerprint(p))[..16])
        } else {
            b.clone()
        };
        let n = seen.entry(id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            id = format!("{id}{sep}{n}");
        }
        ids.push(id);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, location: &str) -> Package {
        Package {
            ecosystem: "npm".into(),
            name: name.into(),
            version: "1.0.0".into(),
            locations: vec![location.into()],
            ..Package::default()
        }
    }

    #[test]
    fn ids_are_unique_even_for_duplicate_packages() {
        let a = pkg("left-pad", "/app/node_modules/left-pad/package.json");
        let b = pkg("left-pad", "/srv/node_modules/left-pad/package.json");
        let c = pkg("other", "/x");
        let list = sorted([&b, &c, &a, &a]);
        let ids = unique_ids(&list, |p| format!("{}@{}", p.name, p.version), "#");
        assert_eq!(ids.len(), 4);
        let mut dedup = ids.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 4, "{ids:?}");
        assert_eq!(ids[3], "other@1.0.0", "a unique base is kept as is");
        assert!(ids[0].starts_with("left-pad@1.0.0#"));
        assert!(
            ids[1].ends_with("#2"),
            "exact duplicates get a running number: {ids:?}"
        );
    }

    #[test]
    fn order_does_not_depend_on_input_order() {
        let a = pkg("a", "/1");
        let b = pkg("b", "/1");
        let mut c = pkg("a", "/1");
        c.ecosystem = "Go".into();
        assert_eq!(sorted([&a, &b, &c]), sorted([&c, &b, &a]));
        assert_eq!(sorted([&a, &b, &c])[0].ecosystem, "Go");
    }
}
