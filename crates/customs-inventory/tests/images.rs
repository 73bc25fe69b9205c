//! End-to-end inventory of every image in `../shared/images`, compared with
//! `expected-packages.json`, which was re-derived by hand from the files in each image (see
//! `../shared/images/README.md`, "Where each entry comes from").

use std::collections::BTreeMap;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, Inventory, ScanOptions};

fn shared(p: &str) -> String {
    format!("{}/../../../shared/images/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn scan(file: &str, cache: Option<customs_image::LayerCache>) -> Inventory {
    let image = Image::open_str(&shared(file), &OpenOptions::default()).unwrap();
    scan_image(&image, &ScanOptions { cache })
        .unwrap()
        .inventory
}

fn expected(file: &str) -> BTreeMap<(String, String, String), usize> {
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared("expected-packages.json")).unwrap()).unwrap();
    let mut m = BTreeMap::new();
    for p in all[file].as_array().unwrap() {
        let key = (
            p["ecosystem"].as_str().unwrap().to_string(),
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// The installed packages: `expected-packages.json` lists no root project (an application's
/// own manifest); those are checked on their own.
fn found(inv: &Inventory) -> BTreeMap<(String, String, String), usize> {
    let mut m = BTreeMap::new();
    for p in inv.packages.iter().filter(|p| !p.root) {
        *m.entry((p.ecosystem.to_string(), p.name.clone(), p.version.clone()))
            .or_insert(0) += 1;
    }
    m
}

fn assert_exact(file: &str) -> Inventory {
    let inv = scan(file, None);
    let want = expected(file);
    let got = found(&inv);
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{file}: missing {missing:?}\nextra {extra:?}"
    );
    assert!(
        inv.warnings.is_empty(),
        "{file}: unexpected warnings {:?}",
        inv.warnings
    );
    inv
}

#[test]
fn alpine_3_10_inventory_matches_the_apk_database() {
    let inv = assert_exact("alpine-3.10.tar");
    let os = inv.os.unwrap();
    assert_eq!(
        (os.family.as_str(), os.version.as_str()),
        ("alpine", "3.10.4")
    );
    let musl = inv
        .packages
        .iter()
        .find(|p| p.name == "musl-utils")
        .unwrap();
    assert_eq!(musl.source_name.as_deref(), Some("musl"));
    assert_eq!(
        musl.layer.as_deref(),
        Some("sha256:531743b7098cb2aaf615641007a129173f63ed86ca32fe7b5a246a1c47286028")
    );
    let purl = musl.purl.as_ref().unwrap().to_string();
    assert!(purl.starts_with("pkg:apk/alpine/musl-utils@"), "{purl}");
}

#[test]
fn gzipped_docker_archive_alpine_3_11_is_read_directly() {
    assert_exact("alpine-3.11.tar.gz");
}

#[test]
fn debian_minbase_lists_88_dpkg_packages_with_sources() {
    let inv = assert_exact("debian-bookworm-minbase.oci.tar");
    let os = inv.os.unwrap();
    assert_eq!(
        (
            os.family.as_str(),
            os.version.as_str(),
            os.codename.as_deref()
        ),
        ("debian", "12", Some("bookworm"))
    );
    let bsdutils = inv.packages.iter().find(|p| p.name == "bsdutils").unwrap();
    assert_eq!(bsdutils.source_name.as_deref(), Some("util-linux"));
    assert_eq!(bsdutils.source_version.as_deref(), Some("2.38.1-5+deb12u3"));
}

#[test]
fn app_multi_finds_every_ecosystem_in_its_layer() {
    let inv = assert_exact("app-multi.oci.tar");
    // The application itself, /srv/app/package.json (`"private": true`), is the one root
    // component, as Syft lists it; it is not matched against advisories.
    let roots: Vec<_> = inv.packages.iter().filter(|p| p.root).collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    let app = roots[0];
    assert_eq!(
        (app.name.as_str(), app.version.as_str(), app.private),
        ("app-multi-demo", "1.0.0", true)
    );
    // The lockfile's own entry and the manifest beside it are one component.
    assert_eq!(
        app.locations,
        ["/srv/app/package-lock.json", "/srv/app/package.json"]
    );
    assert!(!app.matchable());
    assert_eq!(
        app.layer.as_deref(),
        Some("sha256:b5004bf50e7f7ec1ff866d2c41f6aefe8a8a1800b34875f025888f0f010e00a6")
    );
    let layer_of = |eco: &str, name: &str| {
        inv.packages
            .iter()
            .find(|p| p.ecosystem == eco && p.name == name)
            .unwrap()
            .layer
            .clone()
            .unwrap()
    };
    // Layer diff-ids from ../shared/images/README.md.
    assert_eq!(
        layer_of("Alpine", "musl"),
        "sha256:beee9f30bc1f711043e78d4a2be0668955d4b761d587d6f60c2c8dc081efb203"
    );
    assert_eq!(
        layer_of("PyPI", "requests"),
        "sha256:c1bef7a7529670c77467fde06f4c4ea67ec560a4489d201816fbdbdb64d5040b"
    );
    assert_eq!(
        layer_of("npm", "express"),
        "sha256:b5004bf50e7f7ec1ff866d2c41f6aefe8a8a1800b34875f025888f0f010e00a6"
    );
    assert_eq!(
        layer_of("Go", "stdlib"),
        "sha256:663794d3514fbab30a39ea44fbcf09edeb209d61ca20a82b606da12e78c72855"
    );
    assert_eq!(
        layer_of("crates.io", "serde_json"),
        "sha256:663794d3514fbab30a39ea44fbcf09edeb209d61ca20a82b606da12e78c72855"
    );
}

#[test]
fn warm_cache_gives_the_same_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = customs_image::LayerCache::new(dir.path(), 1 << 30).unwrap();
    let cold = scan("app-multi.oci.tar", Some(cache.clone()));
    assert!(
        cache.usage().unwrap().1 >= 10,
        "two entries per layer were cached"
    );
    let warm = scan("app-multi.oci.tar", Some(cache));
    assert_eq!(
        serde_json::to_string(&cold).unwrap(),
        serde_json::to_string(&warm).unwrap()
    );
}
