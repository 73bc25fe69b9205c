//! What several CLI tests share: the `customs` binary under test run the way a user runs it,
//! the real data in `../shared`, and a vulnerability database built once per test binary from
//! it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_customs");

/// The shared data folder beside the checkout.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// A path inside `../shared`.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(SHARED).join(rel)
}

/// Runs customs in `dir` with `args`; key passwords come from `CUSTOMS_PASSWORD=pw`, and a
/// `COSIGN_PASSWORD` of the calling shell is not inherited.
pub fn customs(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .env("CUSTOMS_PASSWORD", "pw")
        .output()
        .unwrap()
}

/// Exit code, stdout and stderr of a run, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Standard output of a run that must succeed.
pub fn ok(o: Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

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
