//! A damaged or absent database is a clear error that says what to do, never a panic.

mod common;

use customs_vulndb::{build, Database, Error, Source};
use std::path::{Path, PathBuf};

fn small_db(dir: &Path) -> PathBuf {
    let v311 = common::vulndata().join("alpine-secdb/v3.11/community.yaml");
    let path = dir.join("vuln.db");
    build(&[Source::secdb(v311.to_string_lossy())], &path, None).unwrap();
    path
}

fn says_rerun(e: &Error) {
    let text = e.to_string();
    assert!(
        text.contains("customs db update") && text.contains("customs db import"),
        "{text}"
    );
}

#[test]
fn missing_database_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let e = Database::open(&dir.path().join("nope.db")).unwrap_err();
    assert!(matches!(e, Error::Missing(_)));
    assert!(e.to_string().starts_with("no vulnerability database at "));
    says_rerun(&e);
}

#[test]
fn every_flipped_byte_region_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let good = std::fs::read(&path).unwrap();
    // A byte in the header, the metadata, the index and the last block.
    for at in [20, 130, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let e = Database::open(&path).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "byte {at}: {e}");
        says_rerun(&e);
    }
}

#[test]
fn truncated_database_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let good = std::fs::read(&path).unwrap();
    for len in [0, 10, 127, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        let e = Database::open(&path).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "length {len}: {e}");
        says_rerun(&e);
    }
}

#[test]
fn wrong_schema_version_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = Database::open(&path).unwrap_err();
    assert!(matches!(e, Error::WrongSchema { found: 99, .. }), "{e}");
    says_rerun(&e);
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vuln.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    assert!(matches!(
        Database::open(&path).unwrap_err(),
        Error::Corrupt { .. }
    ));
}

#[test]
fn the_callers_build_time_stamps_the_database() {
    let v311 = common::vulndata().join("alpine-secdb/v3.11/community.yaml");
    let sources = [Source::secdb(v311.to_string_lossy())];
    let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let (stamped, report) = customs_vulndb::build_bytes(&sources, Some(at)).unwrap();
    assert_eq!(report.metadata.built_at, "2023-11-14T22:13:20Z");
    assert_eq!(report.metadata.built_at_unix, 1_700_000_000);
    let (again, _) = customs_vulndb::build_bytes(&sources, Some(at)).unwrap();
    assert!(
        stamped == again,
        "the same sources and time gave different bytes"
    );
    let (unstamped, _) = customs_vulndb::build_bytes(&sources, None).unwrap();
    assert!(stamped != unstamped, "the build time is not in the bytes");
}

#[test]
fn status_reports_age_and_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&small_db(dir.path())).unwrap();
    // secdb carries no dates and no build time was given: built_at is the Unix epoch.
    assert_eq!(db.metadata().built_at_unix, 0);
    let status = db.status();
    assert_eq!(
        status.file_size,
        std::fs::metadata(db.path()).unwrap().len()
    );
    assert!(db.is_stale(std::time::Duration::from_secs(24 * 3600)));
    assert!(!db.is_stale(std::time::Duration::from_secs(u64::MAX / 2)));
}

/// An OSV export of many malformed records: every one is counted as skipped, but only a
/// bounded number of messages is kept (issue 12: "an OSV zip that produces millions of
/// warnings").
#[test]
fn a_zip_of_malformed_records_keeps_a_bounded_number_of_warnings() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let n = 20_000;
    for i in 0..n {
        zip.start_file(format!("BAD-{i}.json"), opts).unwrap();
        zip.write_all(b"{\"not\":\"a record\"}").unwrap();
    }
    zip.start_file("GOOD-1.json", opts).unwrap();
    zip.write_all(br#"{"id":"GOOD-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1.0.0"]}]}"#).unwrap();
    zip.finish().unwrap();
    let (_bytes, report) =
        customs_vulndb::build_bytes(&[customs_vulndb::Source::osv(path.to_string_lossy())], None)
            .unwrap();
    assert_eq!(report.metadata.skipped, n);
    assert_eq!(report.metadata.advisories, 1);
    assert!(report.warnings.len() <= 1001, "{}", report.warnings.len());
    assert_eq!(
        report.warnings.last().unwrap(),
        &format!(
            "{} more warning(s) like the ones above were not kept",
            n - 1000
        )
    );
}
