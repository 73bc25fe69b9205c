//! Building the database from all of `../shared/vulndata` (three osv.dev-style zips and four
//! Alpine secdb files). Expected counts come from `vulndata/SOURCES.md`, which was checked
//! against the upstream repositories.

mod common;

use customs_vulndb::{build, build_bytes, Database, Event, Source, SourceKind};

fn shared_sources() -> Vec<Source> {
    Source::discover(&common::vulndata()).unwrap()
}

#[test]
fn discover_finds_three_zips_and_four_secdb_files() {
    let sources = shared_sources();
    let osv = sources.iter().filter(|s| s.kind == SourceKind::Osv).count();
    let secdb = sources
        .iter()
        .filter(|s| s.kind == SourceKind::SecDb)
        .count();
    assert_eq!((osv, secdb), (3, 4), "{sources:#?}");
}

#[test]
fn shared_vulndata_builds_with_expected_counts_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vuln.db");
    let report = build(&shared_sources(), &path, None).unwrap();
    let meta = &report.metadata;
    // SOURCES.md: Go 4,291, PyPI 2,661, crates.io 1,206 records; secdb package entries
    // 166 + 73 (v3.10) and 175 + 85 (v3.11).
    assert_eq!(meta.records, 4291 + 2661 + 1206 + 166 + 73 + 175 + 85);
    // Withdrawn: Go 17, PyPI 10, crates.io 13.
    assert_eq!(meta.withdrawn, 17 + 10 + 13);
    assert_eq!(meta.skipped, 0, "{:?}", report.warnings);
    let by_location = |suffix: &str| {
        meta.sources
            .iter()
            .find(|s| s.location.ends_with(suffix))
            .unwrap()
    };
    assert_eq!(by_location("Go/all.zip").records, 4291);
    assert_eq!(by_location("PyPI/all.zip").records, 2661);
    assert_eq!(by_location("crates.io/all.zip").records, 1206);
    assert_eq!(by_location("v3.11/main.yaml").records, 175);
    for eco in ["Go", "PyPI", "crates.io", "Alpine:v3.10", "Alpine:v3.11"] {
        assert!(
            meta.ecosystems.get(eco).copied().unwrap_or(0) > 0,
            "{eco} missing: {:?}",
            meta.ecosystems
        );
    }
    // The newest `modified` is the crates.io export's (SOURCES.md: ... 2026-08-21T06:28:40Z).
    assert_eq!(meta.built_at, "2026-08-21T06:28:40Z");

    let db = Database::open(&path).unwrap();
    assert_eq!(db.metadata(), meta);
    assert_eq!(db.keys().len(), meta.packages);

    // GO-2023-1840: stdlib, fixed in 1.19.10 and 1.20.5.
    let stdlib = db.lookup("Go", "stdlib").unwrap();
    let go = stdlib.iter().find(|a| a.id == "GO-2023-1840").unwrap();
    assert_eq!(go.aliases, vec!["CVE-2023-29403".to_string()]);
    let events = &go.affected[0].ranges[0].events;
    assert!(events.contains(&Event::Fixed("1.19.10".into())));
    assert!(events.contains(&Event::Fixed("1.20.5".into())));

    // v3.11/main.yaml: ansible 2.9.3-r0 fixes CVE-2019-14904.
    let ansible = db.lookup("Alpine:v3.11", "ansible").unwrap();
    let a = ansible.iter().find(|a| a.id == "CVE-2019-14904").unwrap();
    assert_eq!(a.source, "alpine-secdb:v3.11/main");
    assert_eq!(
        a.affected[0].ranges[0].events[1],
        Event::Fixed("2.9.3-r0".into())
    );

    // Withdrawn records are not stored.
    let withdrawn_stdlib = stdlib.iter().filter(|a| a.withdrawn.is_some()).count();
    assert_eq!(withdrawn_stdlib, 0);
}

#[test]
fn same_input_gives_identical_bytes() {
    let (first, _) = build_bytes(&shared_sources(), None).unwrap();
    let (second, _) = build_bytes(&shared_sources(), None).unwrap();
    assert!(first == second, "two builds of the same input differ");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.db");
    build(&shared_sources(), &path, None).unwrap();
    assert!(std::fs::read(&path).unwrap() == first);
}

#[test]
fn pypi_lookup_normalises_names() {
    let src = Source::osv(
        common::vulndata()
            .join("osv/PyPI/all.zip")
            .to_string_lossy(),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = common::db_at(dir.path(), &[src]);
    let plain = db.lookup("PyPI", "django").unwrap();
    assert!(!plain.is_empty());
    assert_eq!(db.lookup("PyPI", "Django").unwrap(), plain);
    assert!(db
        .lookup("PyPI", "no-such-project-anywhere")
        .unwrap()
        .is_empty());
}
