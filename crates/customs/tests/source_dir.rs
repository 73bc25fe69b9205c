//! `dir:` and `rootfs:` sources end to end: a project checkout made here from the shared
//! fixtures gives, through `customs sbom`, exactly the packages `../shared/fixtures/expected.json`
//! lists for each fixture (each fixture sits in its own directory, so every package is matched
//! to its fixture by location); `.gitignore`d build outputs and `node_modules` are read, `.git`
//! is not, OS package databases count under `rootfs:` only, and a bare directory is `dir:`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn customs(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_CACHE_DIR", cache)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap()
}

fn expected() -> BTreeMap<String, Vec<Value>> {
    let data = std::fs::read(format!("{SHARED}/fixtures/expected.json")).unwrap();
    serde_json::from_slice(&data).unwrap()
}

/// Where a fixture goes in the checkout, below its own directory, and whether it is an
/// executable. Every language, lockfile and binary fixture has a place; OS databases are
/// placed separately.
fn place(key: &str) -> Option<(String, bool)> {
    let file = key.rsplit('/').next().unwrap();
    let site = ".venv/lib/python3.11/site-packages";
    let p = match key {
        "python/distinfo_meta" => format!("{site}/pip-22.2.2.dist-info/METADATA"),
        "python/egginfo_pkginfo" => format!("{site}/setuptools-57.4.0-py3.9.egg/EGG-INFO/PKG-INFO"),
        "python/egginfo" => format!("{site}/pycups-2.0.1.egg-info"),
        "python/pkginfo" => format!("{site}/httplib2-0.20.4.egg-info/PKG-INFO"),
        "python/malformed_pkginfo" => format!("{site}/passlib-1.7.4.egg-info/PKG-INFO"),
        "python/mixed_case" => format!("{site}/httplib2-1.0.dist-info/METADATA"),
        "python/special_chars" => {
            format!("{site}/backports.ssl_match_hostname-3.5.0.1.dist-info/METADATA")
        }
        "python/repeated_pkginfo" => format!("{site}/root-1.0.0.dist-info/METADATA"),
        "python/pyopenssl-26.0.0.dist-info" => {
            format!("{site}/pyOpenSSL-26.0.0.dist-info/METADATA")
        }
        "python/empty" => format!("{site}/empty-1.0.dist-info/METADATA"),
        k if k.starts_with("python/") => format!("dist/{file}"),
        "npm/undici-package.json" => "node_modules/undici/package.json".into(),
        k if k.starts_with("npm/") => "package-lock.json".into(),
        k if k.starts_with("yarn/") => "yarn.lock".into(),
        k if k.starts_with("pnpm/") => "pnpm-lock.yaml".into(),
        "composer/two-packages.json" => "composer.lock".into(),
        "ruby/has-local-gem.lock" => "Gemfile.lock".into(),
        "ruby/rss-0.2.9.gemspec" => {
            "vendor/bundle/ruby/3.1.0/specifications/rss-0.2.9.gemspec".into()
        }
        "cargo/two-packages-with-local.lock" => "Cargo.lock".into(),
        "dotnet/valid" => "bin/Release/net8.0/TestLibrary.deps.json".into(),
        "dotnet/HelloWorldApp.exe" => "bin/Release/net8.0/HelloWorldApp.exe".into(),
        k if k.starts_with("java/") => format!("target/{file}"),
        // Build outputs that .gitignore excludes, executable.
        k if k.starts_with("go-binaries/") || k.starts_with("rust-auditable/") => {
            return Some((format!("target/release/{file}"), true));
        }
        _ => return None,
    };
    Some((p, false))
}

fn slug(key: &str) -> String {
    key.replace(['/', '.'], "_")
}

fn copy(from: &Path, to: &Path, exec: bool) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    if from.is_dir() {
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy(&e.path(), &to.join(e.file_name()), exec);
        }
        return;
    }
    std::fs::copy(from, to).unwrap();
    let mode = if exec { 0o755 } else { 0o644 };
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The checkout: one directory per fixture, a `.gitignore` for build outputs, a `.git`
/// directory holding a lockfile that must not be read, and a dpkg database.
fn checkout(root: &Path) -> Vec<String> {
    let mut placed = Vec::new();
    for key in expected().keys() {
        let Some((path, exec)) = place(key) else {
            continue;
        };
        let dest = root.join(slug(key)).join(&path);
        copy(&Path::new(SHARED).join("fixtures").join(key), &dest, exec);
        std::fs::write(
            root.join(slug(key)).join(".gitignore"),
            "target/\nnode_modules/\n.venv/\nbin/\n",
        )
        .unwrap();
        placed.push(key.clone());
    }
    let git = root.join(".git/objects/lock");
    copy(
        &Path::new(SHARED).join("fixtures/cargo/two-packages-with-local.lock"),
        &git.join("Cargo.lock"),
        false,
    );
    copy(
        &Path::new(SHARED).join("fixtures/dpkg/valid"),
        &root.join("var/lib/dpkg/status"),
        false,
    );
    placed
}

type Triple = (String, String, String);

/// Packages of a `customs sbom -f json` document, per location.
fn by_location(doc: &Value) -> BTreeMap<String, Vec<Triple>> {
    let mut out: BTreeMap<String, Vec<Triple>> = BTreeMap::new();
    // The root project of a lockfile or package.json (`root: true`) is the application
    // itself, which the fixtures' expected lists leave out.
    for p in doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["root"] != true)
    {
        let t = (
            p["ecosystem"].as_str().unwrap().to_string(),
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
        );
        for l in p["locations"].as_array().unwrap() {
            out.entry(l.as_str().unwrap().to_string())
                .or_default()
                .push(t.clone());
        }
    }
    out
}

fn sbom(target: &str, cache: &Path) -> Value {
    let out = customs(&["sbom", "-f", "json", target], cache);
    assert!(
        out.status.success(),
        "customs sbom {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn want_triples(list: &[Value]) -> Vec<Triple> {
    let mut v: Vec<Triple> = list
        .iter()
        .map(|e| {
            (
                e["ecosystem"].as_str().unwrap().to_string(),
                e["name"].as_str().unwrap().to_string(),
                e["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_checkout_gives_exactly_the_expected_packages_of_every_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let placed = checkout(&root);
    assert!(placed.len() >= 35, "fixtures placed: {}", placed.len());
    let cache = tmp.path().join("cache");
    let target = format!("dir:{}", root.display());
    let doc = sbom(&target, &cache);
    let got = by_location(&doc);
    let expected = expected();
    for key in &placed {
        let prefix = format!("/{}/", slug(key));
        let mut have: Vec<Triple> = got
            .iter()
            .filter(|(l, _)| l.starts_with(&prefix))
            .flat_map(|(_, t)| t.clone())
            .collect();
        have.sort();
        // One package may be listed by several files of one fixture (a directory key).
        have.dedup();
        assert_eq!(have, want_triples(&expected[key]), "{key}: packages differ");
    }
    // Nothing else: no package from .git, and the dpkg database is not installed state here.
    for (loc, t) in &got {
        assert!(
            placed
                .iter()
                .any(|k| loc.starts_with(&format!("/{}/", slug(k)))),
            "unexpected package location {loc}: {t:?}"
        );
    }
    assert!(doc["os"].is_null(), "a checkout has no OS: {}", doc["os"]);
    assert!(
        doc["subject"]["name"]
            .as_str()
            .unwrap()
            .starts_with("dir:/"),
        "{}",
        doc["subject"]["name"]
    );

    // A bare directory without oci-layout is the same source.
    let bare = sbom(root.to_str().unwrap(), &cache);
    assert_eq!(bare["packages"], doc["packages"]);

    // rootfs: reads the OS database too, exactly as listed.
    let rootfs = sbom(&format!("rootfs:{}", root.display()), &cache);
    let os = by_location(&rootfs)
        .remove("/var/lib/dpkg/status")
        .unwrap_or_default();
    let mut os = os;
    os.sort();
    assert_eq!(os, want_triples(&expected["dpkg/valid"]));
    // .git is part of an image root, so rootfs: reads it.
    assert!(by_location(&rootfs).contains_key("/.git/objects/lock/Cargo.lock"));

    // No layer result was cached for a directory, so a changed checkout is seen at once.
    std::fs::remove_file(
        root.join(slug("npm/undici-package.json"))
            .join("node_modules/undici/package.json"),
    )
    .unwrap();
    let after = by_location(&sbom(&target, &cache));
    assert!(!after
        .keys()
        .any(|l| l.starts_with(&format!("/{}/", slug("npm/undici-package.json")))));
}

#[test]
fn symlinks_out_of_the_directory_are_not_followed_and_unreadable_files_are_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("p");
    let outside = tmp.path().join("outside");
    copy(
        &Path::new(SHARED).join("fixtures/cargo/two-packages-with-local.lock"),
        &outside.join("Cargo.lock"),
        false,
    );
    std::fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    let cache = tmp.path().join("cache");
    let doc = sbom(&format!("dir:{}", root.display()), &cache);
    assert_eq!(doc["packages"].as_array().unwrap().len(), 0, "{doc}");

    // A missing directory is a clear error, not a panic.
    let out = customs(
        &[
            "sbom",
            &format!("dir:{}", tmp.path().join("nope").display()),
        ],
        &cache,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope") && !err.contains("panicked"), "{err}");
}

#[test]
fn a_fifo_in_the_checkout_does_not_block_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("p");
    copy(
        &Path::new(SHARED).join("fixtures/cargo/two-packages-with-local.lock"),
        &root.join("Cargo.lock"),
        false,
    );
    let st = Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .unwrap();
    assert!(st.success());
    let doc = sbom(
        &format!("dir:{}", root.display()),
        &PathBuf::from(tmp.path()),
    );
    let got = by_location(&doc);
    assert_eq!(
        got["/Cargo.lock"].len(),
        want_triples(&expected()["cargo/two-packages-with-local.lock"]).len()
    );
}
