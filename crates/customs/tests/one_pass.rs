//! One pass: `customs check` (a policy with vulnerability and audit rules) and `customs report`
//! open every layer blob of the image exactly once, with an empty layer cache, with a warm one
//! and with `--no-cache`. The counter is customs-image's layer opener, which logs one debug
//! line per blob it opens (`RUST_LOG=customs_image=debug`); the layers expected come from the
//! image's manifest as `customs inspect --no-layers` lists it. As a control, `customs sbom`
//! and `customs audit` run alone also open each blob once, so the two-pass check (scan, then
//! audit) would have counted two.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
use common::SHARED;

/// A fixed clock (2026-01-01T00:00:00Z).
const NOW: &str = "1767225600";

/// Vulnerability and audit rules, so both the scan and the audit run.
const POLICY: &str = r#"
[vulnerabilities]
max_severity = "critical"

[audit]
fail_on = "critical"
"#;

fn db() -> &'static Path {
    static DB: OnceLock<common::Fixture> = OnceLock::new();
    &DB.get_or_init(|| common::db_fixture("one_pass", &["vulndata"]))
        .db
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs customs in `cwd` with debug logging from customs-image only.
fn customs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_DB", db())
        .env("CUSTOMS_CACHE_DIR", cwd.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", NOW)
        .env("RUST_LOG", "customs_image=debug")
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// The layer blob digests of `image`, from its manifest.
fn layer_digests(cwd: &Path, image: &str) -> Vec<String> {
    let out = customs(cwd, &["inspect", image, "--no-layers", "-f", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers: Vec<String> = doc["layers"]
        .as_array()
        .expect("inspect lists layers")
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    assert!(!layers.is_empty(), "{image}: no layers");
    layers
}

/// How many times each layer blob was opened, from the opener's debug lines.
fn opens(stderr: &[u8]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in text(stderr).lines() {
        if let Some(rest) = line.split("opening layer blob ").nth(1) {
            let digest = rest.split_whitespace().next().unwrap_or_default();
            *counts.entry(digest.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

fn each_once(layers: &[String]) -> BTreeMap<String, usize> {
    layers.iter().map(|d| (d.clone(), 1)).collect()
}

/// Runs `args`, which must exit with one of `codes`, and returns its blob-open counts.
fn counted(cwd: &Path, args: &[&str], codes: &[i32]) -> BTreeMap<String, usize> {
    let out = customs(cwd, args);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{args:?} exited {code}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    opens(&out.stderr)
}

fn images() -> Vec<String> {
    ["app-multi.oci.tar", "debian-bookworm-minbase.oci.tar"]
        .iter()
        .map(|n| format!("{SHARED}/images/{n}"))
        .collect()
}

#[test]
fn check_with_scan_and_audit_reads_each_layer_once() {
    for image in images() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), POLICY).unwrap();
        let layers = layer_digests(dir.path(), &image);
        let want = each_once(&layers);
        let check = ["check", image.as_str(), "--policy", "p.toml", "-f", "json"];
        // Empty cache, then warm cache (the inventory comes from the cache; the audit still
        // needs the bytes, once), then no cache.
        assert_eq!(counted(dir.path(), &check, &[0, 1]), want, "{image}: cold");
        assert_eq!(counted(dir.path(), &check, &[0, 1]), want, "{image}: warm");
        let mut no_cache = check.to_vec();
        no_cache.push("--no-cache");
        assert_eq!(counted(dir.path(), &no_cache, &[0, 1]), want, "{image}");
    }
}

#[test]
fn report_reads_each_layer_once() {
    for image in images() {
        let dir = tempfile::tempdir().unwrap();
        let layers = layer_digests(dir.path(), &image);
        let want = each_once(&layers);
        let report = ["report", image.as_str(), "-o", "r.html", "--no-cache"];
        assert_eq!(counted(dir.path(), &report, &[0]), want, "{image}");
        let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
        assert!(
            html.contains("CUS-"),
            "{image}: the report has audit findings"
        );
    }
}

/// The counter counts: each command of the two-pass way opens every blob once on its own.
#[test]
fn sbom_and_audit_alone_each_read_each_layer_once() {
    let image = &images()[0];
    let dir = tempfile::tempdir().unwrap();
    let want = each_once(&layer_digests(dir.path(), image));
    let sbom = ["sbom", image.as_str(), "--no-cache", "-o", "s.json"];
    assert_eq!(counted(dir.path(), &sbom, &[0]), want);
    let audit = ["audit", image.as_str(), "-f", "json"];
    assert_eq!(counted(dir.path(), &audit, &[0]), want);
}
