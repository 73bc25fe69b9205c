//! Packagist (composer) packages: `vendor/composer/installed.json` (composer 1 array and
//! composer 2 `{"packages": [...]}`) and `composer.lock` (`packages` and `packages-dev`).

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::json::{from_slice_capped, object_capped, Licenses, Str};

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
    let lock: ComposerLock = object_capped("composer.lock", data)?;
    let lists = [lock.packages, lock.packages_dev].into_iter().flatten();
    Ok(collect(lists, "composer-lock", path))
}

/// The parts of a `composer.lock` that are read.
#[derive(Deserialize)]
struct ComposerLock {
    packages: Option<Vec<Entry>>,
    #[serde(rename = "packages-dev")]
    packages_dev: Option<Vec<Entry>>,
}

/// `vendor/composer/installed.json`: Composer 1 writes a list, Composer 2 an object with
/// `packages`. Told apart by the first token, so nothing is buffered.
enum Installed {
    List(Vec<Entry>),
    Object { packages: Option<Vec<Entry>> },
}

impl<'de> Deserialize<'de> for Installed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Installed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a package list or an object with packages")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Installed, A::Error> {
                let mut list = Vec::new();
                while let Some(e) = seq.next_element()? {
                    list.push(e);
                }
                Ok(Installed::List(list))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Installed, A::Error> {
                let mut packages = None;
                while let Some(key) = map.next_key::<Str>()? {
                    if key.get() == Some("packages") && packages.is_none() {
                        packages = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Installed::Object { packages })
            }
        }
        d.deserialize_any(V)
    }
}

/// One package of a lock or installed list; other fields are skipped unparsed.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    license: Licenses,
}

/// Reads `vendor/composer/installed.json`, the list of packages composer installed.
pub fn parse_installed_json(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let installed: Installed = from_slice_capped("installed.json", data).map_err(|e| match e {
        ExtractError::Malformed { .. } => {
            ExtractError::malformed("installed.json", "neither a package list nor an object")
        }
        other => other,
    })?;
    let list = match installed {
        Installed::List(l) => l,
        Installed::Object { packages } => {
            packages.ok_or_else(|| ExtractError::malformed("installed.json", "no packages list"))?
        }
    };
    Ok(collect(std::iter::once(list), "composer-installed", path))
}

fn collect(lists: impl Iterator<Item = Vec<Entry>>, found_by: &str, path: &str) -> Vec<Package> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in lists.flatten() {
        let (Some(name), Some(version)) = (entry.name.get(), entry.version.get()) else {
            continue;
        };
        if !seen.insert((name.to_string(), version.to_string())) {
            continue;
        }
        let (namespace, base) = match name.split_once('/') {
            Some((vendor, base)) => (Some(vendor), base),
            None => (None, name),
        };
        out.push(Package {
            ecosystem: ECOSYSTEM.into(),
            name: name.to_string(),
            version: version.to_string(),
            purl: Purl::new("composer", namespace, base, version, &[]),
            licenses: entry.license.0.clone(),
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
