//! Distro feeds matched as the distro means them, on the shared records: Alpine secdb fixes
//! per version line, Debian releases told by codename, and the warnings that keep an OS
//! without advisories from passing in silence.

mod common;

use customs_inventory::{Inventory, OsInfo, Package};
use customs_vulndb::{match_inventory, Database, FixStatus, Source};

fn apk(name: &str, version: &str) -> Package {
    Package {
        ecosystem: "Alpine".into(),
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

fn alpine310() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let secdb = common::vulndata().join("alpine-secdb/v3.10/main.yaml");
    let db = common::db_at(dir.path(), &[Source::secdb(secdb.to_string_lossy())]);
    (dir, db)
}

fn scan(db: &Database, os: OsInfo, pkg: Package) -> customs_vulndb::MatchResult {
    match_inventory(
        db,
        &Inventory {
            os: Some(os),
            packages: vec![pkg],
            ..Default::default()
        },
    )
}

fn alpine_os() -> OsInfo {
    OsInfo {
        family: "alpine".into(),
        version: "3.10.9".into(),
        ..Default::default()
    }
}

#[test]
fn busybox_fix_counts_on_its_own_version_line() {
    // v3.10 secdb lists CVE-2019-5747 under both 1.29.3-r10 and 1.30.1-r2.
    let (_d, db) = alpine310();
    let at = |v: &str| {
        scan(&db, alpine_os(), apk("busybox", v))
            .findings
            .into_iter()
            .find(|f| f.id == "CVE-2019-5747")
    };
    let f = at("1.30.1-r1").expect("1.30.1-r1 is below the 1.30 line's fix");
    assert_eq!(f.fix_status, FixStatus::Fixed);
    assert_eq!(f.fixed_versions, vec!["1.30.1-r2".to_string()]);
    assert!(at("1.30.1-r2").is_none());
    assert!(
        at("1.29.3-r10").is_none(),
        "the 1.29 line was fixed in -r10"
    );
    let old = at("1.29.3-r9").expect("below the 1.29 fix");
    assert_eq!(old.fixed_versions, vec!["1.29.3-r10".to_string()]);
    assert!(at("1.31.0-r0").is_none());
}

#[test]
fn debian_codenames_map_to_releases_and_sid_warns() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::db_at(
        dir.path(),
        &[Source::osv(format!(
            "{}/../distro-osv/Debian/all.zip",
            common::vulndata().display()
        ))],
    );
    let deb = |os: OsInfo| {
        let mut p = Package {
            ecosystem: "deb".into(),
            name: "apt".into(),
            version: "2.6.1".into(),
            ..Default::default()
        };
        p.source_name = Some("apt".into());
        scan(&db, os, p)
    };
    let by_codename = |c: &str| OsInfo {
        family: "debian".into(),
        version: String::new(),
        codename: Some(c.into()),
        ..Default::default()
    };
    // bookworm without VERSION_ID is Debian:12, and the tracker's record matches.
    let r = deb(by_codename("bookworm"));
    assert!(r.findings.iter().any(|f| f.id == "DEBIAN-CVE-2011-3374"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // trixie (testing until 2025) is Debian:13, which this database lacks: a warning.
    let r = deb(by_codename("trixie"));
    assert!(r.findings.is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("Debian:13") && w.message.contains("not matched")),
        "{:?}",
        r.warnings
    );
    // sid never becomes a release: no ecosystem at all, and a warning says so.
    let r = deb(by_codename("sid"));
    assert!(r.findings.is_empty());
    assert!(!r.warnings.is_empty());
    assert_eq!(customs_vulndb::ecosystem::debian_release("forky"), Some(14));
}
