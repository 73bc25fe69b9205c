//! Language-package extractors against the shared fixtures: every key of
//! `../shared/fixtures/expected.json` under python/, npm/, yarn/, pnpm/, ruby/, composer/,
//! cargo/ and `dotnet/valid` gives exactly the listed (ecosystem, name, version) multiset, and
//! the listed purls. The expectations were checked against the upstream tests (see the
//! fixtures README); each fixture is handed to its extractor under the image path it stands
//! for, through the extractor's `matches`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use customs_inventory::{dotnet, npm, php, pnpm, python, ruby, rust, yarn, ExtractError, Package};
use proptest::prelude::*;
use serde::Deserialize;

type Matches = fn(&str) -> bool;
type Parse = fn(&str, &[u8]) -> Result<Vec<Package>, ExtractError>;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ))
}

#[derive(Deserialize)]
struct Expected {
    ecosystem: String,
    name: String,
    version: String,
    purl: Option<String>,
}

fn expected() -> BTreeMap<String, Vec<Expected>> {
    let data = std::fs::read(fixtures().join("expected.json")).expect("expected.json");
    serde_json::from_slice(&data).expect("expected.json parses")
}

/// The image path a fixture stands for (from the fixtures README) and its extractor.
fn extractor_for(key: &str) -> Option<(&'static str, Matches, Parse)> {
    let py: (Matches, Parse) = (python::matches, python::parse);
    let npm_: (Matches, Parse) = (npm::matches, npm::parse);
    let rb: (Matches, Parse) = (ruby::matches, ruby::parse);
    let (path, (m, p)) = match key {
        "python/distinfo_meta" => (
            "usr/lib/python3/dist-packages/pip-22.2.2.dist-info/METADATA",
            py,
        ),
        "python/egginfo_pkginfo" => (
            "usr/lib/python3.9/site-packages/setuptools-57.4.0-py3.9.egg/EGG-INFO/PKG-INFO",
            py,
        ),
        "python/egginfo" => ("usr/lib/python3/dist-packages/pycups-2.0.1.egg-info", py),
        "python/pkginfo" => (
            "usr/lib/python3/dist-packages/httplib2-0.20.4.egg-info/PKG-INFO",
            py,
        ),
        "python/malformed_pkginfo" => (
            "usr/lib/python3/dist-packages/passlib-1.7.4.egg-info/PKG-INFO",
            py,
        ),
        "python/mixed_case" => (
            "usr/lib/python3/site-packages/httplib2-1.0.dist-info/METADATA",
            py,
        ),
        "python/special_chars" => (
            "usr/lib/python3/site-packages/backports.ssl_match_hostname-3.5.0.1.dist-info/METADATA",
            py,
        ),
        "python/repeated_pkginfo" => (
            "usr/lib/python3/site-packages/root-1.0.0.dist-info/METADATA",
            py,
        ),
        "python/pyopenssl-26.0.0.dist-info" => (
            "usr/lib/python3/site-packages/pyOpenSSL-26.0.0.dist-info/METADATA",
            py,
        ),
        "python/empty" => (
            "usr/lib/python3/site-packages/empty-1.0.dist-info/METADATA",
            py,
        ),
        "python/monotonic-1.6-py2.py3-none-any.whl" => (
            "usr/lib/python3/site-packages/monotonic-1.6-py2.py3-none-any.whl",
            py,
        ),
        "python/monotonic-1.6-py3.10.egg" => {
            ("usr/lib/python3/site-packages/monotonic-1.6-py3.10.egg", py)
        }
        "python/monotonic_no_pkginfo-1.6-py3.10.egg" => (
            "usr/lib/python3/site-packages/monotonic_no_pkginfo-1.6-py3.10.egg",
            py,
        ),
        "npm/undici-package.json" => ("usr/lib/node_modules/undici/package.json", npm_),
        "npm/nested-dependencies.v1.json"
        | "npm/alias.v2.json"
        | "npm/bundled-dependencies.v3.json" => ("app/package-lock.json", npm_),
        "yarn/with-aliases.v1.lock" | "yarn/scoped-packages.v2.lock" => (
            "app/yarn.lock",
            (yarn::matches as Matches, yarn::parse as Parse),
        ),
        "pnpm/peer-dependencies-v6.yaml" | "pnpm/peer-dependencies.v9.yaml" => (
            "app/pnpm-lock.yaml",
            (pnpm::matches as Matches, pnpm::parse as Parse),
        ),
        "composer/two-packages.json" => (
            "app/composer.lock",
            (php::matches as Matches, php::parse as Parse),
        ),
        "ruby/has-local-gem.lock" => ("app/Gemfile.lock", rb),
        "ruby/rss-0.2.9.gemspec" => (
            "usr/lib/ruby/gems/3.1.0/specifications/rss-0.2.9.gemspec",
            rb,
        ),
        "cargo/two-packages-with-local.lock" => (
            "app/Cargo.lock",
            (rust::matches as Matches, rust::parse as Parse),
        ),
        "dotnet/valid" => (
            "app/TestLibrary.deps.json",
            (dotnet::matches as Matches, dotnet::parse as Parse),
        ),
        _ => return None,
    };
    Some((path, m, p))
}

const COVERED_PREFIXES: [&str; 8] = [
    "python/",
    "npm/",
    "yarn/",
    "pnpm/",
    "ruby/",
    "composer/",
    "cargo/",
    "dotnet/valid",
];

#[test]
fn every_language_fixture_gives_exactly_the_expected_packages() {
    let mut checked = 0;
    for (key, want) in expected() {
        if !COVERED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        let (image_path, matches, parse) = extractor_for(&key)
            .unwrap_or_else(|| panic!("{key}: no extractor mapped in this test"));
        assert!(
            matches(image_path),
            "{key}: extractor does not match {image_path}"
        );
        let data = std::fs::read(fixtures().join(&key)).unwrap_or_else(|e| panic!("{key}: {e}"));
        let got = match parse(image_path, &data) {
            Ok(pkgs) => pkgs,
            // Negative fixtures may be errors (python/empty is one upstream).
            Err(e) if want.is_empty() => {
                eprintln!("{key}: error (accepted, no packages expected): {e}");
                Vec::new()
            }
            Err(e) => panic!("{key}: {e}"),
        };

        // expected.json lists what a project installs, never the project itself (the
        // lockfile's own entry is the root component, checked below).
        let mut got_triples: Vec<_> = got
            .iter()
            .filter(|p| !p.root)
            .map(|p| (p.ecosystem.to_string(), p.name.clone(), p.version.clone()))
            .collect();
        got_triples.sort();
        let mut want_triples: Vec<_> = want
            .iter()
            .map(|e| (e.ecosystem.clone(), e.name.clone(), e.version.clone()))
            .collect();
        want_triples.sort();
        assert_eq!(got_triples, want_triples, "{key}: packages differ");

        for e in &want {
            let Some(purl) = &e.purl else { continue };
            let p = got
                .iter()
                .find(|p| p.name == e.name && p.version == e.version)
                .unwrap();
            assert_eq!(
                &p.purl_string(),
                purl,
                "{key}: purl of {} {}",
                e.name,
                e.version
            );
        }
        for p in &got {
            assert!(!p.found_by.is_empty(), "{key}: {} has no found_by", p.name);
            assert_eq!(
                p.locations,
                [format!("/{image_path}")],
                "{key}: location of {}",
                p.name
            );
        }
        checked += 1;
    }
    // 13 python, 4 npm, 2 yarn, 2 pnpm, 2 ruby, 1 composer, 1 cargo, 1 dotnet.
    assert_eq!(checked, 26, "number of language fixtures checked");
}

#[test]
fn declared_licences_are_reported() {
    let read = |k: &str| std::fs::read(fixtures().join(k)).unwrap();
    let pip = python::parse(
        "x/pip-22.2.2.dist-info/METADATA",
        &read("python/distinfo_meta"),
    )
    .unwrap();
    assert_eq!(pip[0].licenses, ["MIT"]);
    let undici = npm::parse(
        "node_modules/undici/package.json",
        &read("npm/undici-package.json"),
    )
    .unwrap();
    assert_eq!(undici[0].licenses, ["MIT"]);
    let rss = ruby::parse(
        "specifications/rss-0.2.9.gemspec",
        &read("ruby/rss-0.2.9.gemspec"),
    )
    .unwrap();
    assert_eq!(rss[0].licenses, ["BSD-2-Clause"]);
    let composer = php::parse("composer.lock", &read("composer/two-packages.json")).unwrap();
    let tokenizer = composer
        .iter()
        .find(|p| p.name == "theseer/tokenizer")
        .unwrap();
    assert_eq!(tokenizer.licenses, ["BSD-3-Clause"]);
}

#[test]
fn root_project_is_listed_marked_as_the_root() {
    // An application's package.json (not under node_modules) is read, as Syft and Trivy do,
    // and marked as the root component.
    let data = std::fs::read(fixtures().join("npm/undici-package.json")).unwrap();
    assert!(npm::matches("app/package.json"));
    let root = npm::parse("app/package.json", &data).unwrap();
    assert_eq!(root.len(), 1);
    assert_eq!(
        (
            root[0].name.as_str(),
            root[0].version.as_str(),
            root[0].root
        ),
        ("undici", "5.28.3", true)
    );
    // Not private: a published package's own checkout is still matched.
    assert!(!root[0].private && root[0].matchable());

    // A lockfile's "" entry is the root; the installed packages are not.
    let lock = std::fs::read(fixtures().join("npm/bundled-dependencies.v3.json")).unwrap();
    let pkgs = npm::parse("app/package-lock.json", &lock).unwrap();
    let roots: Vec<_> = pkgs
        .iter()
        .filter(|p| p.root)
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(roots, [("npm-bundled", "1.0.0")]);
    // alias.v2.json's root entry has no version: no root component.
    let lock = std::fs::read(fixtures().join("npm/alias.v2.json")).unwrap();
    assert!(npm::parse("app/package-lock.json", &lock)
        .unwrap()
        .iter()
        .all(|p| !p.root));
}

/// A zip with one deflated member `name` holding `content`.
fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(content).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn oversized_wheel_metadata_is_a_limit_error() {
    let bomb = zip_with("x-1.0.dist-info/METADATA", &vec![b'a'; 9 * 1024 * 1024]);
    assert!(bomb.len() < 100 * 1024, "test zip should compress well");
    let err = python::parse("site-packages/x-1.0-py3-none-any.whl", &bomb).unwrap_err();
    assert!(matches!(err, ExtractError::Limit { .. }), "{err}");
}

#[test]
fn wheel_metadata_outside_dist_info_is_ignored() {
    let z = zip_with("docs/METADATA", b"Name: x\nVersion: 1\n");
    assert!(python::parse("site-packages/x-1.0-py3-none-any.whl", &z)
        .unwrap()
        .is_empty());
}

#[test]
fn truncated_wheel_is_malformed() {
    let data = std::fs::read(fixtures().join("python/monotonic-1.6-py2.py3-none-any.whl")).unwrap();
    let err = python::parse(
        "a/monotonic-1.6-py2.py3-none-any.whl",
        &data[..data.len() / 2],
    )
    .unwrap_err();
    assert!(matches!(err, ExtractError::Malformed { .. }), "{err}");
}

const PARSERS: [(&str, Parse); 16] = [
    ("a/x.dist-info/METADATA", python::parse),
    ("a/x.whl", python::parse),
    ("a/x.egg", python::parse),
    ("a/node_modules/x/package.json", npm::parse),
    ("a/package-lock.json", npm::parse),
    ("a/yarn.lock", yarn::parse),
    ("a/pnpm-lock.yaml", pnpm::parse),
    ("a/specifications/x.gemspec", ruby::parse),
    ("a/Gemfile.lock", ruby::parse),
    ("a/composer.lock", php::parse),
    ("a/vendor/composer/installed.json", php::parse),
    ("a/Cargo.lock", rust::parse),
    ("a/A.deps.json", dotnet::parse),
    ("a/x.egg-info", python::parse),
    ("a/x.egg-info/PKG-INFO", python::parse),
    ("a/node_modules/.package-lock.json", npm::parse),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (path, parse) in PARSERS {
            let _ = parse(path, &data);
        }
    }

    #[test]
    fn parsers_never_panic_on_text_lines(
        lines in proptest::collection::vec("[ \"'@a-z0-9:/().,_{}\\[\\]=#%<>-]{0,40}", 0..40)
    ) {
        let text = lines.join("\n");
        for (path, parse) in PARSERS {
            let _ = parse(path, text.as_bytes());
        }
    }
}

/// Mutated fixtures: each fixture with one byte flipped never panics its parser.
#[test]
fn parsers_never_panic_on_corrupted_fixtures() {
    for key in expected().keys() {
        let Some((path, _, parse)) = extractor_for(key) else {
            continue;
        };
        let data = std::fs::read(fixtures().join(key)).unwrap();
        let step = (data.len() / 64).max(1);
        for i in (0..data.len()).step_by(step) {
            let mut d = data.clone();
            d[i] ^= 0x5a;
            let _ = parse(path, &d);
            let _ = parse(path, &data[..i]);
        }
    }
}
