//! npm packages: installed `node_modules/**/package.json` files and `package-lock.json`
//! lockfiles (v1 nested `dependencies`, v2/v3 `packages` keyed by install path).
//!
//! Also holds the npm naming helpers (scoped names, purls, `npm:` aliases) that the yarn and
//! pnpm lockfile extractors share.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Purl;
use crate::{ExtractError, Package};

const ECOSYSTEM: &str = "npm";
/// Nesting depth beyond which a v1 lockfile's `dependencies` tree is rejected.
const MAX_V1_DEPTH: usize = 256;

/// Whether `path` is a file this module reads: a `package.json` that is the manifest of an
/// installed package (`…/node_modules/<name>/package.json` or
/// `…/node_modules/@scope/<name>/package.json`), or a `package-lock.json` (the hidden
/// `node_modules/.package-lock.json` included).
pub fn matches(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        [.., "package-lock.json"] => true,
        [.., "node_modules", name, "package.json"] => {
            !name.starts_with('@') && !name.starts_with('.')
        }
        [.., "node_modules", scope, _, "package.json"] => scope.starts_with('@'),
        _ => false,
    }
}

/// Reads a file accepted by [`matches`]: a lockfile by its name, anything else as an installed
/// `package.json`.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file == "package-lock.json" || file == ".package-lock.json" {
        parse_package_lock(path, data)
    } else {
        Ok(parse_package_json(path, data)?.into_iter().collect())
    }
}

/// Reads one `package.json`. Returns `None` when it lacks a `name` or `version` (a project
/// that is not meant to be published). Declared dependency ranges are not packages.
pub fn parse_package_json(path: &str, data: &[u8]) -> Result<Option<Package>, ExtractError> {
    let v: Value = serde_json::from_slice(data)
        .map_err(|e| ExtractError::malformed("package.json", e.to_string()))?;
    let Some(obj) = v.as_object() else {
        return Err(ExtractError::malformed(
            "package.json",
            "top level is not an object",
        ));
    };
    let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let mut pkg = package(name, version, "npm-package-json", path);
    pkg.licenses = licenses(obj.get("license"), obj.get("licenses"));
    Ok(Some(pkg))
}

/// Reads a `package-lock.json` (v1, v2 or v3). Every installed package is reported once per
/// distinct name and version, dev, optional, bundled and nested copies included; the root
/// project (`""`) and workspace links are not.
pub fn parse_package_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let v: Value = serde_json::from_slice(data)
        .map_err(|e| ExtractError::malformed("package-lock.json", e.to_string()))?;
    let Some(obj) = v.as_object() else {
        return Err(ExtractError::malformed(
            "package-lock.json",
            "top level is not an object",
        ));
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    if let Some(packages) = obj.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            let Some(entry) = entry.as_object() else {
                continue;
            };
            // "" is the root project; keys without node_modules are workspace sources.
            let Some(idx) = key.rfind("node_modules/") else {
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let install_name = &key[idx + "node_modules/".len()..];
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(install_name);
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            let mut pkg = lock_package(name, version, path);
            pkg.licenses = licenses(entry.get("license"), entry.get("licenses"));
            push_unique(&mut out, &mut seen, pkg);
        }
    } else if let Some(deps) = obj.get("dependencies") {
        walk_v1(deps, path, 0, &mut seen, &mut out)?;
    }
    Ok(out)
}

fn walk_v1(
    deps: &Value,
    path: &str,
    depth: usize,
    seen: &mut BTreeSet<(String, String)>,
    out: &mut Vec<Package>,
) -> Result<(), ExtractError> {
    if depth > MAX_V1_DEPTH {
        return Err(ExtractError::limit(
            "package-lock.json",
            "dependencies nested too deeply",
        ));
    }
    let Some(deps) = deps.as_object() else {
        return Ok(());
    };
    for (name, entry) in deps {
        let Some(version) = entry.get("version").and_then(Value::as_str) else {
            continue;
        };
        // v1 writes an alias as `"alias": {"version": "npm:real@1.2.3"}`.
        let (name, version) = match version.strip_prefix("npm:").and_then(alias_target) {
            Some((real, v)) => (real, v),
            None => (name.as_str(), version),
        };
        if !version.starts_with("file:") && !version.starts_with("link:") {
            push_unique(out, seen, lock_package(name, version, path));
        }
        if let Some(nested) = entry.get("dependencies") {
            walk_v1(nested, path, depth + 1, seen, out)?;
        }
    }
    Ok(())
}

fn lock_package(name: &str, version: &str, path: &str) -> Package {
    package(name, version, "npm-package-lock", path)
}

/// Adds `pkg` unless a package with the same name and version is already in `out`.
pub(crate) fn push_unique(
    out: &mut Vec<Package>,
    seen: &mut BTreeSet<(String, String)>,
    pkg: Package,
) {
    if seen.insert((pkg.name.clone(), pkg.version.clone())) {
        out.push(pkg);
    }
}

/// Splits a package specifier `name@rest` at the `@` that ends the name, a leading `@` being
/// part of a scoped name: `@babel/cli@^7` -> (`@babel/cli`, `^7`). Without a separating `@`
/// the whole string is the name.
pub(crate) fn split_name(spec: &str) -> (&str, &str) {
    let start = usize::from(spec.starts_with('@'));
    match spec[start..].find('@') {
        Some(i) => (&spec[..start + i], &spec[start + i + 1..]),
        None => (spec, ""),
    }
}

/// For the part after `npm:` of an alias (`string-width@^4.2.0`, `@babel/x@7.0.0`), the real
/// name and the version or range. `None` when it names no package (`npm:^4.2.0`, a plain range).
pub(crate) fn alias_target(spec: &str) -> Option<(&str, &str)> {
    if spec.starts_with('@') || spec.contains('@') {
        let (name, rest) = split_name(spec);
        (!name.is_empty()).then_some((name, rest))
    } else {
        None
    }
}

/// `pkg:npm/%40scope/name@version` or `pkg:npm/name@version`.
pub fn npm_purl(name: &str, version: &str) -> Option<Purl> {
    match name.strip_prefix('@').and_then(|_| name.split_once('/')) {
        Some((scope, base)) => Purl::new("npm", Some(scope), base, version, &[]),
        None => Purl::new("npm", None, name, version, &[]),
    }
}

/// An npm package found in the file at `path` (relative to the image root).
pub(crate) fn package(name: &str, version: &str, found_by: &str, path: &str) -> Package {
    Package {
        ecosystem: ECOSYSTEM.into(),
        name: name.to_string(),
        version: version.to_string(),
        purl: npm_purl(name, version),
        found_by: found_by.to_string(),
        locations: vec![format!("/{}", path.trim_start_matches('/'))],
        ..Package::default()
    }
}

/// Licences from `license` (a string or the old `{ "type": ... }` object) or the deprecated
/// `licenses` array.
fn licenses(license: Option<&Value>, licenses: Option<&Value>) -> Vec<String> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }
    if let Some(l) = license.and_then(one) {
        return vec![l];
    }
    match licenses {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_installed_package_manifests_and_lockfiles() {
        assert!(matches("usr/lib/node_modules/undici/package.json"));
        assert!(matches("app/node_modules/@babel/cli/package.json"));
        assert!(matches("app/node_modules/a/node_modules/b/package.json"));
        assert!(matches("app/package-lock.json"));
        assert!(!matches("app/node_modules/.package-lock.json"));
        assert!(!matches("app/package.json"));
        assert!(!matches(
            "app/node_modules/undici/test/fixtures/package.json"
        ));
        assert!(!matches("app/node_modules/@babel/package.json"));
    }

    #[test]
    fn split_name_keeps_scope() {
        assert_eq!(split_name("@babel/cli@^7.4.4"), ("@babel/cli", "^7.4.4"));
        assert_eq!(split_name("ansi-regex@^6.0.0"), ("ansi-regex", "^6.0.0"));
        assert_eq!(split_name("@scope/only"), ("@scope/only", ""));
        assert_eq!(split_name("@"), ("@", ""));
        assert_eq!(split_name(""), ("", ""));
    }

    #[test]
    fn alias_target_distinguishes_names_from_ranges() {
        assert_eq!(
            alias_target("string-width@^4.2.0"),
            Some(("string-width", "^4.2.0"))
        );
        assert_eq!(alias_target("@babel/x@7.0.0"), Some(("@babel/x", "7.0.0")));
        assert_eq!(alias_target("^4.2.0"), None);
    }

    #[test]
    fn scoped_purl_is_encoded() {
        assert_eq!(
            npm_purl("@babel/cli", "7.16.8").unwrap().to_string(),
            "pkg:npm/%40babel/cli@7.16.8"
        );
        assert_eq!(
            npm_purl("undici", "5.28.3").unwrap().to_string(),
            "pkg:npm/undici@5.28.3"
        );
    }

    #[test]
    fn package_json_without_version_is_not_a_package() {
        assert_eq!(
            parse_package_json("x/package.json", br#"{"name":"a"}"#).unwrap(),
            None
        );
    }

    #[test]
    fn package_json_licence_forms() {
        let p = parse_package_json(
            "p",
            br#"{"name":"a","version":"1","license":{"type":"MIT"}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.licenses, ["MIT"]);
        let p = parse_package_json(
            "p",
            br#"{"name":"a","version":"1","licenses":[{"type":"MIT"},"Apache-2.0"]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.licenses, ["MIT", "Apache-2.0"]);
    }

    #[test]
    fn v1_alias_is_resolved_and_file_links_skipped() {
        let lock = br#"{"lockfileVersion":1,"dependencies":{
            "sw-cjs":{"version":"npm:string-width@4.2.3"},
            "local":{"version":"file:../local"}}}"#;
        let pkgs = parse_package_lock("package-lock.json", lock).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("string-width", "4.2.3")
        );
    }

    #[test]
    fn v2_links_and_workspace_sources_are_not_packages() {
        let lock = br#"{"lockfileVersion":3,"packages":{
            "":{"name":"root","version":"1.0.0"},
            "packages/ws":{"name":"ws-member","version":"0.1.0"},
            "node_modules/ws-member":{"resolved":"packages/ws","link":true},
            "node_modules/a/node_modules/b":{"version":"2.0.0"}}}"#;
        let pkgs = parse_package_lock("package-lock.json", lock).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("b", "2.0.0")
        );
    }

    #[test]
    fn v1_deep_nesting_is_a_limit_error() {
        // Built directly: serde_json's own recursion limit stops such text before we see it.
        let mut deps = serde_json::json!({});
        for _ in 0..(MAX_V1_DEPTH + 2) {
            deps = serde_json::json!({ "a": { "version": "1.0.0", "dependencies": deps } });
        }
        let (mut seen, mut out) = (BTreeSet::new(), Vec::new());
        let err = walk_v1(&deps, "package-lock.json", 0, &mut seen, &mut out).unwrap_err();
        assert!(matches!(err, ExtractError::Limit { .. }), "{err}");
    }
}
