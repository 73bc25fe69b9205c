//! npm packages: installed `node_modules/**/package.json` files and `package-lock.json`
//! lockfiles (v1 nested `dependencies`, v2/v3 `packages` keyed by install path).
//!
//! Also holds the npm naming helpers (scoped names, purls, `npm:` aliases) that the yarn and
//! pnpm lockfile extractors share.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::json::{object_capped, Bool, Licenses, Str};
use crate::Purl;
use crate::{ExtractError, Package};

const ECOSYSTEM: &str = "npm";
/// Nesting depth beyond which a v1 lockfile's `dependencies` tree is rejected.
const MAX_V1_DEPTH: usize = 256;

/// Whether `path` is a file this module reads: a `package.json` that is the manifest of an
/// installed package (`…/node_modules/<name>/package.json` or
/// `…/node_modules/@scope/<name>/package.json`) or of an application (a `package.json`
/// with no `node_modules` above it, [`is_root_manifest`]), or a `package-lock.json`.
pub fn matches(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        [.., "package-lock.json"] => true,
        [.., "node_modules", name, "package.json"] => {
            !name.starts_with('@') && !name.starts_with('.')
        }
        [.., "node_modules", scope, _, "package.json"] => scope.starts_with('@'),
        _ => is_root_manifest(path),
    }
}

/// Whether `path` is an application's own `package.json`: not inside any `node_modules`
/// (`srv/app/package.json`). Such a project is reported as the root component.
pub fn is_root_manifest(path: &str) -> bool {
    let mut segs = path.split('/');
    segs.next_back() == Some("package.json") && !segs.any(|s| s == "node_modules")
}

/// Reads a file accepted by [`matches`]: a lockfile by its name, anything else as a
/// `package.json` (the root project's when [`is_root_manifest`]).
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file == "package-lock.json" || file == ".package-lock.json" {
        parse_package_lock(path, data)
    } else {
        let mut pkg = parse_package_json(path, data)?;
        if let Some(p) = &mut pkg {
            p.root = is_root_manifest(path);
            if !p.root {
                p.private = false;
            }
        }
        Ok(pkg.into_iter().collect())
    }
}

/// The fields of a `package.json` that are read; everything else is skipped unparsed.
#[derive(Deserialize)]
struct PackageJson {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    private: Bool,
    #[serde(default)]
    license: Licenses,
    #[serde(default)]
    licenses: Licenses,
}

/// Reads one `package.json` (at most [`crate::json::MAX_JSON_BYTES`]). Returns `None` when
/// it lacks a `name` or `version` (a project that is not meant to be published). Declared
/// dependency ranges are not packages. `"private": true` is kept in [`Package::private`].
pub fn parse_package_json(path: &str, data: &[u8]) -> Result<Option<Package>, ExtractError> {
    let m: PackageJson = object_capped("package.json", data)?;
    let (Some(name), Some(version)) = (m.name.get(), m.version.get()) else {
        return Ok(None);
    };
    let mut pkg = package(name, version, "npm-package-json", path);
    pkg.licenses = if m.license.0.is_empty() {
        m.licenses.0
    } else {
        m.license.0
    };
    pkg.private = m.private.0 == Some(true);
    Ok(Some(pkg))
}

/// The fields of a `package-lock.json` that are read.
#[derive(Deserialize)]
struct PackageLock {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    /// v2/v3: install path -> entry.
    packages: Option<BTreeMap<String, LockEntry>>,
    /// v1: the nested dependency tree.
    dependencies: Option<BTreeMap<String, V1Dep>>,
}

#[derive(Deserialize)]
struct LockEntry {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    link: Bool,
    #[serde(default)]
    license: Licenses,
    #[serde(default)]
    licenses: Licenses,
}

#[derive(Deserialize)]
struct V1Dep {
    #[serde(default)]
    version: Str,
    dependencies: Option<BTreeMap<String, V1Dep>>,
}

/// Reads a `package-lock.json` (v1, v2 or v3; at most [`crate::json::MAX_JSON_BYTES`]).
/// Every installed package is reported once per distinct name and version, dev, optional,
/// bundled and nested copies included; workspace links are not. The root project (the `""`
/// entry, or v1's top-level `name` and `version`) is reported with [`Package::root`] set.
pub fn parse_package_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let lock: PackageLock = object_capped("package-lock.json", data)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut root = (lock.name.get(), lock.version.get());
    if let Some(packages) = &lock.packages {
        for (key, entry) in packages {
            if key.is_empty() {
                root = (
                    entry.name.get().or(lock.name.get()),
                    entry.version.get().or(lock.version.get()),
                );
                continue;
            }
            // Keys without node_modules are workspace sources.
            let Some(idx) = key.rfind("node_modules/") else {
                continue;
            };
            if entry.link.0 == Some(true) {
                continue;
            }
            let install_name = &key[idx + "node_modules/".len()..];
            let name = entry.name.get().unwrap_or(install_name);
            let Some(version) = entry.version.get() else {
                continue;
            };
            let mut pkg = lock_package(name, version, path);
            pkg.licenses = if entry.license.0.is_empty() {
                entry.licenses.0.clone()
            } else {
                entry.license.0.clone()
            };
            push_unique(&mut out, &mut seen, pkg);
        }
    } else if let Some(deps) = &lock.dependencies {
        walk_v1(deps, path, 0, &mut seen, &mut out)?;
    }
    if let (Some(name), Some(version)) = root {
        let mut pkg = lock_package(name, version, path);
        pkg.root = true;
        out.retain(|p| !(p.name == pkg.name && p.version == pkg.version));
        out.insert(0, pkg);
    }
    Ok(out)
}

fn walk_v1(
    deps: &BTreeMap<String, V1Dep>,
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
    for (name, entry) in deps {
        let Some(version) = entry.version.get() else {
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
        if let Some(nested) = &entry.dependencies {
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
        assert!(matches("app/package.json"));
        assert!(matches("package.json"));
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
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            (
                pkgs[0].name.as_str(),
                pkgs[0].version.as_str(),
                pkgs[0].root
            ),
            ("root", "1.0.0", true)
        );
        assert_eq!(
            (
                pkgs[1].name.as_str(),
                pkgs[1].version.as_str(),
                pkgs[1].root
            ),
            ("b", "2.0.0", false)
        );
    }

    #[test]
    fn v1_deep_nesting_is_a_limit_error() {
        // Built directly: serde_json's own recursion limit stops such text before we see it.
        let mut deps: BTreeMap<String, V1Dep> = BTreeMap::new();
        for _ in 0..(MAX_V1_DEPTH + 2) {
            let inner = std::mem::take(&mut deps);
            deps.insert(
                "a".into(),
                V1Dep {
                    version: Str(Some("1.0.0".into())),
                    dependencies: Some(inner),
                },
            );
        }
        let (mut seen, mut out) = (BTreeSet::new(), Vec::new());
        let err = walk_v1(&deps, "package-lock.json", 0, &mut seen, &mut out).unwrap_err();
        assert!(matches!(err, ExtractError::Limit { .. }), "{err}");
    }

    #[test]
    fn root_manifest_is_the_root_and_keeps_private() {
        let m = br#"{"name":"app","version":"1.0.0","private":true,"dependencies":{"a":"^1"}}"#;
        let p = parse("srv/app/package.json", m).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p[0].root && p[0].private, "{:?}", p[0]);
        // The same flag in an installed package is not a root and is not kept.
        let p = parse("srv/app/node_modules/app/package.json", m).unwrap();
        assert!(!p[0].root && !p[0].private, "{:?}", p[0]);
        assert!(is_root_manifest("package.json"));
        assert!(!is_root_manifest("a/node_modules/x/y/package.json"));
    }

    #[test]
    fn v1_lock_root_comes_from_the_top_level() {
        let lock = br#"{"name":"app","version":"2.0.0","lockfileVersion":1,
            "dependencies":{"x":{"version":"1.0.0"}}}"#;
        let p = parse_package_lock("package-lock.json", lock).unwrap();
        let got: Vec<_> = p.iter().map(|p| (p.name.as_str(), p.root)).collect();
        assert_eq!(got, [("app", true), ("x", false)]);
    }

    #[test]
    fn lock_that_is_not_an_object_is_malformed() {
        let e = parse_package_lock("package-lock.json", b"[1]").unwrap_err();
        assert!(e.to_string().contains("top level is not an object"), "{e}");
        // A wrongly typed field loses only itself.
        let lock =
            br#"{"packages":{"node_modules/a":{"version":7},"node_modules/b":{"version":"1"}}}"#;
        let p = parse_package_lock("package-lock.json", lock).unwrap();
        assert_eq!(p.len(), 1);
    }
}
