//! npm packages from `pnpm-lock.yaml`: lockfile v5 (`/name/version_peer` keys), v6
//! (`/name@version(peer@version)`) and v9 (`name@version(peer)` keys in `packages` and
//! `snapshots`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_norway::Value;

use crate::npm::{package, push_unique, split_name};
use crate::{ExtractError, Package};

const FOUND_BY: &str = "pnpm-lock";

/// Whether `path` is a `pnpm-lock.yaml`.
pub fn matches(path: &str) -> bool {
    path.rsplit('/').next() == Some("pnpm-lock.yaml")
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(rename = "lockfileVersion", default)]
    lockfile_version: Option<Value>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    snapshots: Option<BTreeMap<String, Value>>,
}

/// Reads a `pnpm-lock.yaml`. Every key of `packages` and `snapshots` is a package, its peer
/// suffix dropped (`react-dom@18.2.0(react@18.2.0)` is `react-dom` 18.2.0); explicit `name` and
/// `version` fields of an entry (tarball and git dependencies) win over the key. Each distinct
/// name and version is reported once.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let lock: Lockfile = serde_norway::from_slice(data)
        .map_err(|e| ExtractError::malformed("pnpm-lock.yaml", e.to_string()))?;
    let major = lock.lockfile_version.as_ref().and_then(major_version);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let all = lock
        .packages
        .iter()
        .flatten()
        .chain(lock.snapshots.iter().flatten());
    for (key, entry) in all {
        let (key_name, key_version) = parse_key(key, major);
        let field = |f: &str| {
            entry
                .get(f)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let name = field("name").unwrap_or(key_name);
        let version = field("version").unwrap_or(key_version);
        if name.is_empty() || version.is_empty() {
            continue;
        }
        push_unique(&mut out, &mut seen, package(name, version, FOUND_BY, path));
    }
    Ok(out)
}

/// The major lockfile version, written as a string (`'6.0'`) or a number (`5.4`).
fn major_version(v: &Value) -> Option<u32> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    s.split('.').next()?.trim().parse().ok()
}

/// Name and version from a `packages`/`snapshots` key. Without a known lockfile version the
/// `@` form is assumed when the key has an `@` past a scope and no `/`-separated version.
fn parse_key(key: &str, major: Option<u32>) -> (&str, &str) {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    let at_form = match major {
        Some(m) => m >= 6,
        None => {
            let (_, rest) = split_name(key);
            !rest.is_empty() && !rest.contains('/')
        }
    };
    if at_form {
        split_name(key)
    } else {
        // v5: `name/version` or `@scope/name/version`, peers after `_` in the version.
        match key.rsplit_once('/') {
            Some((name, version)) => (name, version.split('_').next().unwrap_or(version)),
            None => (key, ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_lockfile_version() {
        assert_eq!(
            parse_key("/react-dom/18.2.0_react@18.2.0", Some(5)),
            ("react-dom", "18.2.0")
        );
        assert_eq!(
            parse_key("/@babel/core/7.0.0", Some(5)),
            ("@babel/core", "7.0.0")
        );
        assert_eq!(
            parse_key("/react-dom@18.2.0(react@18.2.0)", Some(6)),
            ("react-dom", "18.2.0")
        );
        assert_eq!(
            parse_key("@babel/core@7.0.0(x@1)(y@2)", Some(9)),
            ("@babel/core", "7.0.0")
        );
        assert_eq!(
            parse_key("@babel/core@7.0.0", None),
            ("@babel/core", "7.0.0")
        );
        assert_eq!(
            parse_key("/@babel/core/7.0.0", None),
            ("@babel/core", "7.0.0")
        );
    }

    #[test]
    fn lockfile_version_as_number_or_string() {
        assert_eq!(major_version(&Value::String("6.0".into())), Some(6));
        assert_eq!(
            major_version(&serde_norway::from_str::<Value>("5.4").unwrap()),
            Some(5)
        );
    }

    #[test]
    fn v5_lockfile_with_peer_suffix() {
        let lock = "lockfileVersion: 5.4\npackages:\n  /react-dom/18.2.0_react@18.2.0:\n    dev: false\n  /react/18.2.0:\n    dev: false\n";
        let mut got: Vec<_> = parse("pnpm-lock.yaml", lock.as_bytes())
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("react".to_string(), "18.2.0".to_string()),
                ("react-dom".into(), "18.2.0".into())
            ]
        );
    }

    #[test]
    fn tarball_entry_uses_its_name_and_version_fields() {
        let lock = "lockfileVersion: '6.0'\npackages:\n  '@registry.example/foo/-/foo-1.0.0.tgz':\n    name: foo\n    version: 1.0.0\n";
        let got = parse("pnpm-lock.yaml", lock.as_bytes()).unwrap();
        assert_eq!(
            (got[0].name.as_str(), got[0].version.as_str()),
            ("foo", "1.0.0")
        );
    }

    #[test]
    fn alias_expansion_bomb_is_rejected_quickly() {
        let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, cur) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .windows(2)
            .map(|w| (w[0], w[1]))
        {
            yaml.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        yaml.push_str("packages:\n  /x@1.0.0: *h\n");
        let start = std::time::Instant::now();
        let err = parse("pnpm-lock.yaml", yaml.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn not_yaml_mapping_is_malformed() {
        assert!(parse("pnpm-lock.yaml", b"- a\n- b\n").is_err());
    }
}
