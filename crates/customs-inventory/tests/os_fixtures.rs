//! OS package databases (dpkg, apk, rpm) against `../shared/fixtures/expected.json`, whose
//! expectations were checked against the upstream tests, rpm 4.18.0 and syft (see the
//! fixtures' README), plus corrupt and arbitrary input, which must never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use customs_inventory::{apk, dpkg, rpm, ExtractError, Package};
use proptest::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ))
    .to_path_buf()
}

fn read(key: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(key)).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// Where the unit a key stands for lives in an image (fixtures README, "Stands for").
fn image_path(key: &str) -> String {
    match key.rsplit('/').next().unwrap() {
        "container-manifest-2" => "var/lib/rpmmanifest/container-manifest-2".into(),
        "Packages.db" => "usr/lib/sysimage/rpm/Packages.db".into(),
        "rpmdb.sqlite" => "var/lib/rpm/rpmdb.sqlite".into(),
        _ => "var/lib/rpm/Packages".into(),
    }
}

/// Runs the extractor that the key's folder names.
fn extract(key: &str) -> Result<Vec<Package>, ExtractError> {
    if key == "dpkg/status.d" {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures().join(key))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        return dpkg::parse_status_d(&files);
    }
    let data = read(key);
    match key.split('/').next().unwrap() {
        "dpkg" => dpkg::parse_status(&data),
        "apk" => apk::parse_installed(&data),
        "rpm" => rpm::parse_database(&image_path(key), &data),
        other => panic!("no OS extractor for {other}"),
    }
}

fn os_keys() -> BTreeMap<String, Vec<Value>> {
    let expected: BTreeMap<String, Vec<Value>> =
        serde_json::from_slice(&read("expected.json")).expect("expected.json parses");
    expected
        .into_iter()
        .filter(|(k, _)| ["dpkg/", "apk/", "rpm/"].iter().any(|p| k.starts_with(p)))
        .collect()
}

fn triple(ecosystem: &str, name: &str, version: &str) -> (String, String, String) {
    (ecosystem.to_owned(), name.to_owned(), version.to_owned())
}

#[test]
fn every_os_fixture_yields_exactly_the_expected_packages() {
    let keys = os_keys();
    // 4 dpkg + 2 apk + 5 rpm units in the fixtures folder.
    assert_eq!(keys.len(), 11, "{:?}", keys.keys().collect::<Vec<_>>());
    for (key, expected) in keys {
        let packages = extract(&key).unwrap_or_else(|e| panic!("{key}: {e}"));
        let mut got: Vec<_> = packages
            .iter()
            .map(|p| triple(p.ecosystem.as_str(), &p.name, &p.version))
            .collect();
        let mut want: Vec<_> = expected
            .iter()
            .map(|e| {
                triple(
                    e["ecosystem"].as_str().unwrap(),
                    e["name"].as_str().unwrap(),
                    e["version"].as_str().unwrap(),
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{key}");

        for e in &expected {
            let pkg = packages
                .iter()
                .find(|p| p.name == e["name"] && p.version == e["version"])
                .unwrap();
            if let Some(purl) = e.get("purl") {
                assert_eq!(
                    pkg.purl_string(),
                    purl.as_str().unwrap(),
                    "{key} {}",
                    pkg.name
                );
            }
            if let Some(source) = e.get("source_name") {
                assert_eq!(
                    pkg.source_name.as_deref(),
                    source.as_str(),
                    "{key} {}",
                    pkg.name
                );
            }
            if let Some(source) = e.get("source_version") {
                assert_eq!(
                    pkg.source_version.as_deref(),
                    source.as_str(),
                    "{key} {}",
                    pkg.name
                );
            }
        }
    }
}

#[test]
fn rpm_packages_carry_arch_licence_and_file_list() {
    let pkgs = extract("rpm/Packages.db").unwrap();
    let bash = pkgs.iter().find(|p| p.name == "bash").unwrap();
    assert_eq!(bash.arch.as_deref(), Some("x86_64"));
    assert_eq!(bash.licenses, ["GPL-3.0-or-later"]);
    assert!(
        bash.files.iter().any(|f| f == "/usr/bin/bash"),
        "{:?}",
        &bash.files[..5]
    );
    assert_eq!(bash.locations, ["/usr/lib/sysimage/rpm/Packages.db"]);

    let dive = &extract("rpm/Packages").unwrap()[0];
    assert!(
        dive.files.iter().any(|f| f == "/usr/local/bin/dive"),
        "{:?}",
        dive.files
    );
}

#[test]
fn sqlite_and_berkeleydb_copies_of_one_database_agree() {
    // rpm/rpmdb.sqlite was converted from rpm/Packages_epoch with rpm --rebuilddb.
    let bdb = extract("rpm/Packages_epoch").unwrap();
    let sqlite = extract("rpm/rpmdb.sqlite").unwrap();
    let strip = |mut p: Vec<Package>| {
        for p in &mut p {
            p.locations.clear();
        }
        p
    };
    assert_eq!(strip(bdb), strip(sqlite));
}

#[test]
fn apk_packages_carry_licence_arch_and_absolute_files() {
    let pkgs = extract("apk/installed").unwrap();
    let musl = pkgs.iter().find(|p| p.name == "musl").unwrap();
    assert_eq!(musl.licenses, ["MIT"]);
    assert_eq!(musl.arch.as_deref(), Some("x86_64"));
    assert!(
        musl.files.iter().any(|f| f == "/lib/ld-musl-x86_64.so.1"),
        "{:?}",
        musl.files
    );
}

#[test]
fn status_d_md5sums_gives_the_package_file_list() {
    let files = dpkg::parse_file_list(&read("dpkg/status.d/foo.md5sums"));
    assert_eq!(files.len(), 6);
    assert_eq!(files[0], "/usr/lib/os-release");
}

#[test]
fn purls_use_the_os_namespace_and_distro() {
    let os = customs_inventory::OsInfo {
        family: "debian".into(),
        version: "12".into(),
        ..Default::default()
    };
    let pkgs = extract("dpkg/valid").unwrap();
    let attr = pkgs.iter().find(|p| p.name == "attr").unwrap();
    assert_eq!(
        dpkg::purl_for(attr, Some(&os)).unwrap().to_string(),
        "pkg:deb/debian/attr@1:2.5.1-4?arch=amd64&distro=debian-12"
    );
    let hello = &extract("rpm/Packages_epoch").unwrap()[0];
    let rocky = customs_inventory::OsInfo {
        family: "rocky".into(),
        version: "9.3".into(),
        ..Default::default()
    };
    let purl = rpm::purl_for(hello, Some(&rocky)).unwrap().to_string();
    assert!(purl.starts_with("pkg:rpm/rocky/hello@0.0.1-rls?"), "{purl}");
    assert!(purl.contains("&epoch=1"));
}

/// Parses a mutated copy of an rpm database: an error or at most the original packages.
fn check_mutant(key: &str, data: &[u8], expected: usize) {
    if let Ok(pkgs) = rpm::parse_database(&image_path(key), data) {
        assert!(pkgs.len() <= expected, "{key}: {} packages", pkgs.len());
    }
}

#[test]
fn truncated_rpm_databases_give_an_error_or_fewer_packages() {
    for key in [
        "rpm/Packages",
        "rpm/Packages_epoch",
        "rpm/Packages.db",
        "rpm/rpmdb.sqlite",
    ] {
        let data = read(key);
        let expected = extract(key).unwrap().len();
        let step = (data.len() / 64).max(1);
        for len in (0..data.len()).step_by(step).chain([data.len() - 1]) {
            check_mutant(key, &data[..len], expected);
        }
        assert!(
            rpm::parse_database(&image_path(key), &data[..data.len() / 2]).is_err(),
            "{key}"
        );
    }
}

#[test]
fn rpm_databases_with_a_flipped_byte_never_panic() {
    for key in [
        "rpm/Packages",
        "rpm/Packages_epoch",
        "rpm/Packages.db",
        "rpm/rpmdb.sqlite",
    ] {
        let original = read(key);
        let expected = extract(key).unwrap().len();
        let mut data = original.clone();
        // Every byte of the small BerkeleyDB files, about 3000 spread over the larger ones.
        let step = (original.len() / 3000).max(1);
        for at in (0..original.len()).step_by(step) {
            for flip in [0xff, 0x80] {
                data[at] ^= flip;
                check_mutant(key, &data, expected);
                data[at] = original[at];
            }
        }
    }
}

#[test]
fn truncated_text_databases_give_no_more_packages() {
    for key in ["dpkg/valid", "apk/installed", "rpm/container-manifest-2"] {
        let data = read(key);
        let expected = extract(key).unwrap().len();
        for len in 0..data.len() {
            let got = match key.split('/').next().unwrap() {
                "dpkg" => dpkg::parse_status(&data[..len]),
                "apk" => apk::parse_installed(&data[..len]),
                _ => rpm::parse_database(&image_path(key), &data[..len]),
            }
            .unwrap();
            assert!(got.len() <= expected, "{key} truncated to {len}");
        }
    }
}

proptest! {
    #[test]
    fn dpkg_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = dpkg::parse_status(&data);
        let _ = dpkg::parse_status_d(&[("x".into(), data.clone())]);
        let _ = dpkg::parse_file_list(&data);
    }

    #[test]
    fn dpkg_parser_never_panics_on_field_soup(
        lines in proptest::collection::vec("(Package|Status|Version|Source|Architecture| |)[:]? ?[a-z0-9 ().:+~-]{0,20}", 0..40)
    ) {
        let data = lines.join("\n");
        let _ = dpkg::parse_status(data.as_bytes());
    }

    #[test]
    fn apk_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = apk::parse_installed(&data);
    }

    #[test]
    fn apk_parser_never_panics_on_key_soup(
        lines in proptest::collection::vec("([PVALoFR]:[a-z0-9/._-]{0,12})?", 0..60)
    ) {
        let _ = apk::parse_installed(lines.join("\n").as_bytes());
    }

    #[test]
    fn rpm_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        for path in ["var/lib/rpm/Packages", "var/lib/rpmmanifest/container-manifest-2"] {
            let _ = rpm::parse_database(path, &data);
        }
        let _ = rpm::header::parse(&data);
    }

    #[test]
    fn rpm_parsers_never_panic_behind_valid_magic(
        tail in proptest::collection::vec(any::<u8>(), 0..8192),
        kind in 0..3usize,
    ) {
        let mut data = match kind {
            0 => read("rpm/Packages")[..512].to_vec(),
            1 => read("rpm/Packages.db")[..32].to_vec(),
            _ => read("rpm/rpmdb.sqlite")[..100].to_vec(),
        };
        data.extend_from_slice(&tail);
        let _ = rpm::parse_database("var/lib/rpm/Packages", &data);
    }

    #[test]
    fn os_release_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = customs_inventory::os::parse_os_release(&data);
        let read = |_: &str| Some(data.clone());
        let _ = customs_inventory::os::detect(&read);
    }
}
