//! Helpers shared by the integration tests: paths into `../shared/vulndata` and small
//! hand-written OSV records in temporary directories.

#![allow(dead_code)]

use customs_vulndb::{build, Database, Source};
use std::path::{Path, PathBuf};

pub fn vulndata() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vulndata"
    ))
}

/// Writes each `(file name, JSON)` into a fresh directory and builds a database from it.
pub fn db_from_records(records: &[(&str, &str)]) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir(&osv).unwrap();
    for (name, json) in records {
        std::fs::write(osv.join(name), json).unwrap();
    }
    let db_path = dir.path().join("vuln.db");
    build(&[Source::osv(osv.to_string_lossy())], &db_path, None).unwrap();
    let db = Database::open(&db_path).unwrap();
    (dir, db)
}

pub fn db_at(dir: &Path, sources: &[Source]) -> Database {
    let db_path = dir.join("vuln.db");
    build(sources, &db_path, None).unwrap();
    Database::open(&db_path).unwrap()
}
