//! Packagist (composer) packages: `vendor/composer/installed.json` (composer 1 array and
//! composer 2 `{"packages": [...]}`) and `composer.lock` (`packages` and `packages-dev`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Purl;
use crate::{ExtractError, Package};

const ECOSYSTEM: &str = "Packagist";

/// Whether `path` is a `composer.lock` or a `vendor/composer/installed.json`.
pub fn matches(path: &str) -> bool {
    path.rsplit('/').next() == Some("composer.lock")
        || path == "composer/installed.json"
        || path.ends_with("/composer/installed.json")
}

/// Reads a file accepted by [`matches`]: `installed.json` by its name, anything else as a
/// `composer.lock`.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    if path.ends_with("installed.json") {
        parse_installed_json(path, data)
    } else {
        parse_composer_lock(path, data)
    }
}

/// Reads a `composer.lock`: runtime (`packages`) and development (`packages-dev`) packages.
pub fn parse_composer_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let v: Value = serde_json::from_slice(data)
        .map_err(|e| ExtractError::malformed("composer.lock", e.to_string()))?;
    let Some(obj) = v.as_object() else {
        return Err(ExtractError::malformed(
            "composer.lock",
            "top level is not an object",
        ));
    };
    let lists = ["packages", "packages-dev"]
        .into_iter()
        .filter_map(|k| obj.get(k));
    Ok(collect(lists, "composer-lock", path))
}

/// Reads `vendor/composer/installed.json`, the list of packages composer installed.
pub fn parse_installed_json(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let v: Value = serde_json::from_slice(data)
        .map_err(|e| ExtractError::malformed("installed.json", e.to_string()))?;
    let list = match &v {
        Value::Array(_) => &v,
        Value::Object(o) => o
            .get("packages")
            .ok_or_else(|| ExtractError::malformed("installed.json", "no packages list"))?,
        _ => {
            return Err(ExtractError::malformed(
                "installed.json",
                "neither an array nor an object",
            ))
        }
    };
    Ok(collect(std::iter::once(list), "composer-installed", path))
}

fn collect<'a>(lists: impl Iterator<Item = &'a Value>, found_by: &str, path: &str) -> Vec<Package> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in lists.filter_map(Value::as_array).flatten() {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let version = entry
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() || version.is_empty() || !seen.insert((name, version)) {
            continue;
        }
        let (namespace, base) = match name.split_once('/') {
            Some((vendor, base)) => (Some(vendor), base),
            None => (None, name),
        };
        let licenses = match entry.get("license") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        out.push(Package {
            ecosystem: ECOSYSTEM.into(),
            name: name.to_string(),
            version: version.to_string(),
            purl: Purl::new("composer", namespace, base, version, &[]),
            licenses,
            found_by: found_by.to_string(),
            locations: vec![format!("/{}", path.trim_start_matches('/'))],
            ..Package::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_json_v1_array_and_v2_object() {
        let v1 = br#"[{"name":"psr/log","version":"1.1.4","license":["MIT"]}]"#;
        let v2 =
            br#"{"packages":[{"name":"psr/log","version":"1.1.4","license":["MIT"]}],"dev":true}"#;
        for data in [&v1[..], &v2[..]] {
            let p = parse("app/vendor/composer/installed.json", data).unwrap();
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].purl_string(), "pkg:composer/psr/log@1.1.4");
            assert_eq!(p[0].licenses, ["MIT"]);
            assert_eq!(p[0].found_by, "composer-installed");
        }
    }

    #[test]
    fn matches_lock_and_installed() {
        assert!(matches("app/composer.lock"));
        assert!(matches("app/vendor/composer/installed.json"));
        assert!(!matches("app/vendor/installed.json"));
    }

    #[test]
    fn lock_that_is_not_an_object_is_malformed() {
        assert!(parse("composer.lock", b"[]").is_err());
    }
}
