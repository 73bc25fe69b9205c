//! A damaged OS package database fails closed (issue 12): `customs scan` exits 2 naming it and
//! `customs check` reports `POL-DB-001`, unless `--allow-damaged-db` is given.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use customs_testkit::ocibuild;

mod common;

/// One database for the whole test binary.
fn db(_dir: &Path) -> PathBuf {
    static DB: std::sync::OnceLock<common::Fixture> = std::sync::OnceLock::new();
    DB.get_or_init(|| common::db_fixture("damaged_db", &["vulndata"]))
        .db
        .clone()
}

fn customs(dir: &Path, db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_DB", db)
        .env("CUSTOMS_CACHE_DIR", dir.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn image(dir: &Path, status: &[u8]) -> String {
    let spec = ocibuild::Spec {
        layers: vec![vec![
            ocibuild::file(
                "etc/os-release",
                "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
            ),
            ocibuild::file("var/lib/dpkg/status", status.to_vec()),
        ]],
        ..Default::default()
    };
    ocibuild::build(&dir.join("image"), &spec)
}

fn text(o: &Output) -> String {
    format!(
        "code {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn damaged_dpkg_status_fails_scan_and_check_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = db(dir);
    let mut status =
        b"Package: openssl\nStatus: install ok installed\nVersion: 3.0.2-1\n\n".to_vec();
    status.insert(20, 0);
    let target = image(dir, &status);

    let out = customs(dir, &db, &["scan", &target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/var/lib/dpkg/status") && stderr.contains("--allow-damaged-db"),
        "{}",
        text(&out)
    );
    let out = customs(dir, &db, &["scan", &target, "--allow-damaged-db"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    std::fs::write(
        dir.join("policy.toml"),
        "[vulnerabilities]\nmax_severity = \"critical\"\n",
    )
    .unwrap();
    let check = ["check", &target, "--policy", "policy.toml", "-f", "json"];
    let out = customs(dir, &db, &check);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("POL-DB-001"),
        "{}",
        text(&out)
    );
    let mut allowed = check.to_vec();
    allowed.push("--allow-damaged-db");
    let out = customs(dir, &db, &allowed);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The same image with a clean database passes both.
    let clean = image(
        &dir.join("clean"),
        b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n",
    );
    let out = customs(dir, &db, &["scan", &clean]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
