//! Argument types end to end: formats and severities are clap value enums, so `--help` lists
//! and describes every accepted value and a wrong one is refused before any work, naming the
//! accepted ones; and `customs db import` stamps the database with the run's one clock
//! (`SOURCE_DATE_EPOCH`), which the library no longer reads itself.

use std::path::Path;
use std::process::{Command, Output};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn customs(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_CACHE_DIR", cwd.join("cache"))
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A command, one of its flags, and each value with a word of its description.
type HelpCase<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str)]);

#[test]
fn help_lists_and_describes_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[HelpCase] = &[
        (
            &["audit"],
            "--format",
            &[("table", "terminal"), ("json", "JSON"), ("sarif", "SARIF")],
        ),
        (
            &["check"],
            "--format",
            &[("table", "terminal"), ("json", "JSON"), ("sarif", "SARIF")],
        ),
        (&["report"], "--format", &[("html", "HTML")]),
        (
            &["verify"],
            "--output",
            &[("text", "per line"), ("json", "JSON array")],
        ),
        (
            &["verify-bundle"],
            "--output",
            &[("text", "standard error"), ("json", "standard output")],
        ),
        (
            &["lint"],
            "--severity",
            &[
                ("info", "Every"),
                ("warning", "Warnings"),
                ("error", "Errors"),
            ],
        ),
    ];
    for (cmd, flag, values) in cases {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = customs(&args, dir.path());
        assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{cmd:?} --help has no {flag}:\n{help}"));
        let section = &help[at..];
        for (value, word) in *values {
            let line = section
                .lines()
                .find(|l| {
                    l.trim_start()
                        .trim_start_matches("- ")
                        .starts_with(&format!("{value}:"))
                })
                .unwrap_or_else(|| panic!("{cmd:?} {flag}: {value} not listed:\n{section}"));
            assert!(line.contains(word), "{cmd:?} {flag} {value}: {line:?}");
        }
    }
}

#[test]
fn a_wrong_value_is_refused_naming_the_accepted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["audit", "x.tar", "-f", "xml"], "table, json, sarif"),
        (
            &["check", "x.tar", "--policy", "p.toml", "-f", "xml"],
            "table, json, sarif",
        ),
        (&["report", "x.tar", "-f", "pdf"], "html"),
        (
            &["verify", "--key", "k.pub", "x", "-o", "yaml"],
            "text, json",
        ),
        (
            &["lint", "Dockerfile", "--severity", "fatal"],
            "info, warning, error",
        ),
    ];
    for (args, accepted) in cases {
        let out = customs(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("invalid value") && err.contains(accepted),
            "{args:?}: {err}"
        );
    }
    // Values are case-sensitive as before: `JSON` was never accepted.
    let out = customs(&["audit", "x.tar", "-f", "JSON"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

fn built_at(db: &Path, cwd: &Path) -> String {
    let out = customs(
        &["db", "status", "-f", "json", "--db", db.to_str().unwrap()],
        cwd,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = status
        .pointer("/metadata/built_at")
        .unwrap_or_else(|| panic!("no built_at in {status}"));
    found.as_str().unwrap().to_string()
}

#[test]
fn db_import_is_stamped_by_source_date_epoch_else_by_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let secdb = format!("{SHARED}/vulndata/alpine-secdb/v3.11/community.yaml");
    let stamped = dir.path().join("stamped.db");
    let out = Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", &secdb, "--db"])
        .arg(&stamped)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("CUSTOMS_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(built_at(&stamped, dir.path()), "2023-11-14T22:13:20Z");

    // Without SOURCE_DATE_EPOCH the stamp is the data's own (secdb has no dates: the epoch),
    // never the wall clock, so two imports of the same data give the same file.
    let unstamped = dir.path().join("unstamped.db");
    let again = dir.path().join("again.db");
    for db in [&unstamped, &again] {
        let out = Command::new(env!("CARGO_BIN_EXE_customs"))
            .args(["db", "import", &secdb, "--db"])
            .arg(db)
            .env_remove("SOURCE_DATE_EPOCH")
            .env("CUSTOMS_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(built_at(&unstamped, dir.path()), "1970-01-01T00:00:00Z");
    assert!(std::fs::read(&unstamped).unwrap() == std::fs::read(&again).unwrap());

    // A malformed SOURCE_DATE_EPOCH is an error, not a silent fallback.
    let out = Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", &secdb, "--db"])
        .arg(dir.path().join("bad.db"))
        .env("SOURCE_DATE_EPOCH", "soon")
        .env("CUSTOMS_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("SOURCE_DATE_EPOCH"));
}
