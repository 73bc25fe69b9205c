//! What several CLI tests share: a vulnerability database built once per test binary from the
//! real advisory data in `../shared`, with the `customs` binary under test.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The shared data folder beside the checkout.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// A scratch folder of one test binary and the database built in it.
pub struct Fixture {
    pub dir: PathBuf,
    pub db: PathBuf,
}

/// Builds `customs.db` with `customs db import` from the named folders of `../shared`
/// (`vulndata`, `ratings`, `distro-osv`, …), in `CARGO_TARGET_TMPDIR/<name>`. Callers keep it in
/// a `OnceLock` so the build runs once per test binary.
pub fn db_fixture(name: &str, sources: &[&str]) -> Fixture {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("customs.db");
    let out = Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", "--db"])
        .arg(&db)
        .args(sources.iter().map(|s| format!("{SHARED}/{s}")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Fixture { dir, db }
}
