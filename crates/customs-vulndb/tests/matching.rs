//! Matching semantics, each specified by a small hand-written OSV record (or the real shared
//! data where it exercises the case): withdrawn, aliases, last_affected, explicit versions,
//! limit, SEMVER, apk origin and dpkg source mapping, Go, severity.

mod common;

use customs_inventory::{Inventory, OsInfo, Package};
use customs_vulndb::{match_inventory, FixStatus, Severity, Source};

fn pkg(ecosystem: &str, name: &str, version: &str) -> Package {
    Package {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

fn inventory(os: Option<OsInfo>, packages: Vec<Package>) -> Inventory {
    Inventory {
        os,
        packages,
        ..Default::default()
    }
}

fn ids(inv: &Inventory, db: &customs_vulndb::Database) -> Vec<String> {
    match_inventory(db, inv)
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect()
}

fn record(id: &str, extra: &str, ecosystem: &str, name: &str, affected_body: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-05-01T00:00:00Z"{extra},
            "affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{name}"}}{affected_body}}}]}}"#
    )
}

const ALL_VERSIONS: &str = r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]"#;

#[test]
fn withdrawn_advisory_is_ignored() {
    let live = record("GHSA-live", "", "npm", "left-pad", ALL_VERSIONS);
    let gone = record(
        "GHSA-gone",
        r#","withdrawn":"2024-06-01T00:00:00Z""#,
        "npm",
        "left-pad",
        ALL_VERSIONS,
    );
    let (_d, db) = common::db_from_records(&[("a.json", &live), ("b.json", &gone)]);
    let inv = inventory(None, vec![pkg("npm", "left-pad", "1.3.0")]);
    assert_eq!(ids(&inv, &db), vec!["GHSA-live"]);
    assert_eq!(db.metadata().withdrawn, 1);
}

#[test]
fn advisories_sharing_an_alias_are_one_finding() {
    let body = r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]"#;
    let ghsa = record(
        "GHSA-aaaa-bbbb-cccc",
        r#","aliases":["CVE-2099-0001"]"#,
        "PyPI",
        "Foo.Bar",
        body,
    );
    let pysec = record(
        "PYSEC-2099-1",
        r#","aliases":["CVE-2099-0001"]"#,
        "PyPI",
        "foo-bar",
        body,
    );
    let other = record("PYSEC-2099-2", "", "PyPI", "foo_bar", body);
    let (_d, db) =
        common::db_from_records(&[("1.json", &ghsa), ("2.json", &pysec), ("3.json", &other)]);
    // The inventory spells the name yet another way; PEP 503 makes them equal.
    let inv = inventory(None, vec![pkg("PyPI", "FOO_bar", "1.5")]);
    let findings = match_inventory(&db, &inv).findings;
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let merged = findings
        .iter()
        .find(|f| f.id == "GHSA-aaaa-bbbb-cccc")
        .unwrap();
    assert_eq!(
        merged.aliases,
        vec!["CVE-2099-0001".to_string(), "PYSEC-2099-1".to_string()]
    );
    assert_eq!(merged.fixed_versions, vec!["2.0".to_string()]);
    assert_eq!(merged.fix_status, FixStatus::Fixed);
    assert!(findings.iter().any(|f| f.id == "PYSEC-2099-2"));
}

#[test]
fn last_affected_includes_that_version_only() {
    let body = r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0.0"},{"last_affected":"1.2.0"}]}]"#;
    let (_d, db) =
        common::db_from_records(&[("r.json", &record("GHSA-last", "", "npm", "lib", body))]);
    let at = |v: &str| ids(&inventory(None, vec![pkg("npm", "lib", v)]), &db);
    assert_eq!(at("1.2.0"), vec!["GHSA-last"]);
    assert_eq!(at("1.0.0"), vec!["GHSA-last"]);
    assert!(at("1.2.1").is_empty());
    assert!(at("0.9.0").is_empty());
    let f = &match_inventory(&db, &inventory(None, vec![pkg("npm", "lib", "1.1.0")])).findings[0];
    assert_eq!(f.fix_status, FixStatus::NotFixed);
    assert!(f.fixed_versions.is_empty());
}

#[test]
fn explicit_versions_list_matches_listed_versions_only() {
    let body = r#","versions":["2.0.0","2.0.1"]"#;
    let (_d, db) = common::db_from_records(&[(
        "r.json",
        &record("RUSTSEC-2099-0001", "", "crates.io", "thing", body),
    )]);
    let at = |v: &str| ids(&inventory(None, vec![pkg("crates.io", "thing", v)]), &db);
    assert_eq!(at("2.0.1"), vec!["RUSTSEC-2099-0001"]);
    assert!(at("2.0.2").is_empty());
    assert!(at("1.9.9").is_empty());
}

#[test]
fn limit_bounds_the_range() {
    let body =
        r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"limit":"3.0"}]}]"#;
    let (_d, db) =
        common::db_from_records(&[("r.json", &record("PYSEC-limit", "", "PyPI", "lim", body))]);
    let at = |v: &str| ids(&inventory(None, vec![pkg("PyPI", "lim", v)]), &db);
    assert_eq!(at("2.9"), vec!["PYSEC-limit"]);
    assert!(at("3.0").is_empty());
    assert!(at("3.1").is_empty());
    assert!(at("0.9").is_empty());
}

#[test]
fn semver_range_with_two_intervals_reports_the_right_fix() {
    let body = r#","ranges":[{"type":"SEMVER","events":[
        {"introduced":"0.6.0"},{"fixed":"0.6.2"},{"introduced":"0.5.0"},{"fixed":"0.5.3"}]}]"#;
    let (_d, db) = common::db_from_records(&[(
        "r.json",
        &record("RUSTSEC-2099-0002", "", "crates.io", "two", body),
    )]);
    let find =
        |v: &str| match_inventory(&db, &inventory(None, vec![pkg("crates.io", "two", v)])).findings;
    assert_eq!(find("0.5.2")[0].fixed_versions, vec!["0.5.3".to_string()]);
    assert_eq!(find("0.6.1")[0].fixed_versions, vec!["0.6.2".to_string()]);
    assert!(find("0.5.3").is_empty());
    assert!(find("0.6.2").is_empty());
    assert!(find("0.4.9").is_empty());
    // Pre-releases of 0.6.0 come before it in SemVer order.
    assert!(find("0.6.0-alpha.1").is_empty());
}

#[test]
fn apk_subpackage_matches_its_origin_secdb_entries() {
    let v311 = common::vulndata().join("alpine-secdb/v3.11/main.yaml");
    let dir = tempfile::tempdir().unwrap();
    let db = common::db_at(dir.path(), &[Source::secdb(v311.to_string_lossy())]);
    let os = OsInfo {
        family: "alpine".into(),
        version: "3.11.5".into(),
        ..Default::default()
    };
    let mut libcrypto = pkg("Alpine", "libcrypto1.1", "1.1.1d-r2");
    libcrypto.source_name = Some("openssl".into());
    libcrypto.layer = Some("sha256:abc".into());
    let result = match_inventory(&db, &inventory(Some(os.clone()), vec![libcrypto]));
    // v3.11/main.yaml, openssl: 1.1.1d-r3 fixes CVE-2019-1551; everything else listed is
    // fixed at or below 1.1.1d-r1.
    let ids: Vec<&str> = result.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, vec!["CVE-2019-1551"], "{:?}", result.warnings);
    let f = &result.findings[0];
    assert_eq!(f.fixed_versions, vec!["1.1.1d-r3".to_string()]);
    assert_eq!(f.package.name, "libcrypto1.1");
    assert_eq!(f.package.layer.as_deref(), Some("sha256:abc"));
    assert_eq!(f.source, "alpine-secdb:v3.11/main");

    // The same package on Alpine 3.10 looks in another branch, which this db lacks.
    let mut old = pkg("Alpine", "libcrypto1.1", "1.1.1d-r2");
    old.source_name = Some("openssl".into());
    let os310 = OsInfo {
        version: "3.10.9".into(),
        ..os
    };
    assert!(match_inventory(&db, &inventory(Some(os310), vec![old]))
        .findings
        .is_empty());
}

#[test]
fn dpkg_binary_matches_by_source_package_and_version() {
    let body = r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]"#;
    let rec = record(
        "DSA-5532-1",
        r#","aliases":["CVE-2023-5363"]"#,
        "Debian:12",
        "openssl",
        body,
    );
    let (_d, db) = common::db_from_records(&[("r.json", &rec)]);
    let os = OsInfo {
        family: "debian".into(),
        version: "12".into(),
        ..Default::default()
    };
    let mut libssl = pkg("Debian", "libssl3", "3.0.11-1~deb12u1");
    libssl.source_name = Some("openssl".into());
    let found = match_inventory(&db, &inventory(Some(os.clone()), vec![libssl.clone()]));
    assert_eq!(found.findings.len(), 1);
    assert_eq!(
        found.findings[0].fixed_versions,
        vec!["3.0.11-1~deb12u2".to_string()]
    );

    let mut fixed = libssl.clone();
    fixed.version = "3.0.11-1~deb12u2".into();
    assert!(match_inventory(&db, &inventory(Some(os), vec![fixed]))
        .findings
        .is_empty());

    // Without an OS there is no release to pick: a warning, not a guess.
    let none = match_inventory(&db, &inventory(None, vec![libssl]));
    assert!(none.findings.is_empty());
    assert_eq!(none.warnings.len(), 1);
}

#[test]
fn go_stdlib_and_modules_match_the_go_vulnerability_database() {
    let go = common::vulndata().join("osv/Go/all.zip");
    let dir = tempfile::tempdir().unwrap();
    let db = common::db_at(dir.path(), &[Source::osv(go.to_string_lossy())]);
    // As customs-inventory reports them: stdlib without `go`, modules without `v`.
    let stdlib = pkg("Go", "stdlib", "1.20.4");
    let result = match_inventory(&db, &inventory(None, vec![stdlib]));
    let f = result
        .findings
        .iter()
        .find(|f| f.id == "GO-2023-1840")
        .expect("GO-2023-1840");
    assert_eq!(f.fixed_versions, vec!["1.20.5".to_string()]);
    assert_eq!(f.aliases, vec!["CVE-2023-29403".to_string()]);
    // The spelling with prefixes matches the same way.
    let prefixed = match_inventory(&db, &inventory(None, vec![pkg("Go", "stdlib", "go1.20.4")]));
    assert_eq!(prefixed.findings.len(), result.findings.len());
    let rc = match_inventory(&db, &inventory(None, vec![pkg("Go", "stdlib", "1.21rc2")]));
    assert!(rc.warnings.is_empty(), "{:?}", rc.warnings);
    // GO-2023-1840 is fixed in 1.20.5.
    let patched = match_inventory(&db, &inventory(None, vec![pkg("Go", "stdlib", "1.20.5")]));
    assert!(!patched.findings.iter().any(|f| f.id == "GO-2023-1840"));
}

#[test]
fn rustsec_stale_duplicate_is_merged_by_alias() {
    let crates = common::vulndata().join("osv/crates.io/all.zip");
    let dir = tempfile::tempdir().unwrap();
    let db = common::db_at(dir.path(), &[Source::osv(crates.to_string_lossy())]);
    let result = match_inventory(
        &db,
        &inventory(None, vec![pkg("crates.io", "matrix-sdk-base", "0.14.0")]),
    );
    let merged: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.aliases.iter().any(|a| a == "CVE-2025-59047"))
        .collect();
    assert_eq!(merged.len(), 1, "{:#?}", result.findings);
    assert_eq!(merged[0].id, "RUSTSEC-2025-0000");
    assert!(merged[0].aliases.contains(&"RUSTSEC-2025-0065".to_string()));
    assert!(match_inventory(
        &db,
        &inventory(None, vec![pkg("crates.io", "matrix-sdk-base", "0.14.1")])
    )
    .findings
    .iter()
    .all(|f| !f.aliases.iter().any(|a| a == "CVE-2025-59047")));

    // RUSTSEC-2025-0138 (deno 2.2.0..2.2.5) carries a CVSS v4 vector.
    let deno = match_inventory(
        &db,
        &inventory(None, vec![pkg("crates.io", "deno", "2.2.1")]),
    );
    let f = deno
        .findings
        .iter()
        .find(|f| f.id == "RUSTSEC-2025-0138")
        .unwrap();
    assert_eq!(f.severity_source.kind, "CVSS_V4");
    let vector = f.severity_source.vector.clone().unwrap();
    let score = customs_vulndb::cvss::base_score(&vector).unwrap().score;
    assert_eq!(f.severity_source.score, Some(score));
    assert_eq!(f.severity, customs_vulndb::cvss::severity_of(score));
}

#[test]
fn ecosystem_label_is_used_without_a_vector() {
    let body = r#","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]"#;
    let rec = record(
        "GHSA-sev",
        r#","database_specific":{"severity":"MODERATE"}"#,
        "npm",
        "sev",
        body,
    );
    let (_d, db) = common::db_from_records(&[("r.json", &rec)]);
    let f = &match_inventory(&db, &inventory(None, vec![pkg("npm", "sev", "1.0.0")])).findings[0];
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.severity_source.kind, "ecosystem");
    assert_eq!(f.severity_source.vector.as_deref(), Some("MODERATE"));
}

#[test]
fn unknown_ecosystem_is_kept_and_malformed_record_skipped() {
    let odd = record(
        "ODD-1",
        "",
        "Brand New Ecosystem",
        "thing",
        r#","versions":["1"]"#,
    );
    let (_d, db) = common::db_from_records(&[
        ("odd.json", &odd),
        ("bad.json", "{\"id\": 42}"),
        ("worse.json", "not json"),
    ]);
    assert_eq!(db.metadata().skipped, 2);
    assert_eq!(db.lookup("Brand New Ecosystem", "thing").unwrap().len(), 1);
    assert_eq!(
        ids(
            &inventory(None, vec![pkg("Brand New Ecosystem", "thing", "1")]),
            &db
        ),
        vec!["ODD-1"]
    );
}
