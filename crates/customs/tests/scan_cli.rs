//! `customs scan` and `customs db` end to end: a database built from all of `../shared/vulndata`,
//! every shared image scanned and compared with golden findings (checked against the advisories'
//! ranges, see `golden/README.md`) and with an independent evaluation of the same ranges by the
//! `univers` Python library (`univers_check.py`); filters, exit codes, suppression, SBOM input
//! and database errors through the command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{json, Value};

mod common;
use common::SHARED;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
const IMAGES: &[&str] = &[
    "alpine-3.10.tar",
    "alpine-3.11.tar.gz",
    "app-multi.oci.tar",
    "debian-bookworm-minbase.oci.tar",
];

/// One database for the whole test binary, built with `customs db import` from all vulndata.
fn fixture() -> &'static common::Fixture {
    static F: OnceLock<common::Fixture> = OnceLock::new();
    F.get_or_init(|| common::db_fixture("scan_cli", &["vulndata"]))
}

/// Runs customs against the shared database, in `cwd` (default: a directory without an
/// ignore file), with a fixed clock for document timestamps.
fn customs_in(cwd: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let f = fixture();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_customs"));
    cmd.args(args)
        .env("CUSTOMS_DB", &f.db)
        .env("CUSTOMS_CACHE_DIR", f.dir.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", "0")
        .env_remove("CUSTOMS_BLESS")
        .current_dir(cwd.unwrap_or(&f.dir));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn customs(args: &[&str]) -> Output {
    customs_in(None, args, &[])
}

fn image(name: &str) -> String {
    format!("{SHARED}/images/{name}")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(400)])
        )
    })
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().expect("findings array")
}

/// The golden view of a finding: what was matched, not how it is worded.
fn golden_view(doc: &Value) -> Value {
    let mut rows: Vec<Value> = findings(doc)
        .iter()
        .map(|f| {
            json!({
                "id": f["id"],
                "aliases": f.get("aliases").cloned().unwrap_or(json!([])),
                "ecosystem": f["package"]["ecosystem"],
                "package": f["package"]["name"],
                "version": f["package"]["version"],
                "fixed_versions": f.get("fixed_versions").cloned().unwrap_or(json!([])),
            })
        })
        .collect();
    rows.sort_by_key(|r| r.to_string());
    Value::Array(rows)
}

fn compare_golden(name: &str, doc: &Value) {
    let path = PathBuf::from(GOLDEN).join(format!("{name}.json"));
    let got = golden_view(doc);
    if std::env::var_os("CUSTOMS_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (CUSTOMS_BLESS=1 writes it)", path.display())),
    )
    .unwrap();
    assert_eq!(got, want, "{name}: scan differs from {}", path.display());
}

/// The synthetic inventory (older package versions, so that every ecosystem has findings) as
/// a CycloneDX file customs can scan with `--sbom`.
fn synthetic_sbom(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(PathBuf::from(GOLDEN).join("synthetic.inventory.json")).unwrap();
    let inv: customs_inventory::Inventory = serde_json::from_str(&text).unwrap();
    let subject = customs_report::Subject {
        name: "synthetic".into(),
        ..Default::default()
    };
    let info = customs_report::DocumentInfo::new(
        "test",
        customs_report::Timestamp::from_unix_seconds(0).unwrap(),
    );
    let bom = customs_report::cyclonedx::sbom(&subject, &inv, &info).unwrap();
    let path = dir.join("synthetic.cdx.json");
    std::fs::write(&path, bom).unwrap();
    path
}

fn scan_json(target: &str) -> Value {
    json_of(&customs(&["scan", "-f", "json", target]))
}

#[test]
fn every_shared_image_matches_its_golden_findings() {
    for name in IMAGES {
        let doc = scan_json(&image(name));
        compare_golden(name, &doc);
    }
    let dir = tempfile::tempdir().unwrap();
    let sbom = synthetic_sbom(dir.path());
    let doc = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--sbom",
        sbom.to_str().unwrap(),
    ]));
    compare_golden("synthetic", &doc);
}

#[test]
fn app_multi_hits_pypi_and_go_but_debian_has_no_advisory_data() {
    let doc = scan_json(&image("app-multi.oci.tar"));
    let ecosystems: BTreeSet<&str> = findings(&doc)
        .iter()
        .filter_map(|f| f["package"]["ecosystem"].as_str())
        .collect();
    assert!(ecosystems.contains("PyPI") && ecosystems.contains("Go"));
    let doc = scan_json(&image("debian-bookworm-minbase.oci.tar"));
    assert!(findings(&doc).is_empty());
    assert!(doc["summary"]["packages"].as_u64().unwrap() > 50);
}

fn id_set(f: &Value) -> Vec<String> {
    let mut ids: Vec<String> = std::iter::once(&f["id"])
        .chain(f["aliases"].as_array().into_iter().flatten())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// (ecosystem, package, version, sorted id+aliases) for every finding.
fn finding_keys(doc: &Value) -> BTreeSet<(String, String, String, Vec<String>)> {
    findings(doc)
        .iter()
        .map(|f| {
            (
                f["package"]["ecosystem"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
                f["package"]["version"].as_str().unwrap().to_string(),
                id_set(f),
            )
        })
        .collect()
}

fn tools_python() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    let ok = p.exists()
        && Command::new(&p)
            .args(["-c", "import univers, yaml"])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI: .venv-tools with univers and pyyaml is required (bash scripts/install-deps)"
    );
    eprintln!("NOTICE: skipping the univers range check; run `bash scripts/install-deps`");
    None
}

#[test]
fn findings_agree_with_an_independent_range_evaluation_by_univers() {
    let Some(python) = tools_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    let mut scans = Vec::new();
    for name in IMAGES {
        let inv = dir.path().join(format!("{name}.inventory.json"));
        let out = customs(&[
            "sbom",
            "-f",
            "json",
            "-o",
            inv.to_str().unwrap(),
            &image(name),
        ]);
        assert!(out.status.success());
        inputs.push(format!("{name}={}", inv.display()));
        scans.push((name.to_string(), scan_json(&image(name))));
    }
    let sbom = synthetic_sbom(dir.path());
    inputs.push(format!("synthetic={GOLDEN}/synthetic.inventory.json"));
    scans.push((
        "synthetic".into(),
        json_of(&customs(&[
            "scan",
            "-f",
            "json",
            "--sbom",
            sbom.to_str().unwrap(),
        ])),
    ));
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/univers_check.py"
        ))
        .arg(format!("{SHARED}/vulndata"))
        .args(&inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        check["undecided"],
        json!([]),
        "univers could not parse some versions"
    );
    let mut total = 0;
    for (name, doc) in &scans {
        let ours = finding_keys(doc);
        let theirs: BTreeSet<(String, String, String, Vec<String>)> = check["images"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_value(r.clone()).unwrap())
            .collect();
        let missing: Vec<_> = theirs.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&theirs).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: customs misses {missing:?}; customs reports in excess {extra:?}"
        );
        total += ours.len();
    }
    assert!(total > 100, "only {total} findings checked");
}

#[test]
fn sbom_input_in_cyclonedx_and_spdx_gives_the_same_findings_as_the_image() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["app-multi.oci.tar", "alpine-3.11.tar.gz"] {
        let from_image = finding_keys(&scan_json(&image(name)));
        for format in ["cyclonedx", "spdx"] {
            let sbom = dir.path().join(format!("{name}.{format}.json"));
            let out = customs(&[
                "sbom",
                "-f",
                format,
                "-o",
                sbom.to_str().unwrap(),
                &image(name),
            ]);
            assert!(out.status.success());
            let doc = json_of(&customs(&[
                "scan",
                "-f",
                "json",
                "--sbom",
                sbom.to_str().unwrap(),
            ]));
            assert_eq!(finding_keys(&doc), from_image, "{name} via {format}");
            assert_eq!(doc["os"]["family"], "alpine");
        }
    }
}

#[test]
fn ignore_unfixed_drops_exactly_the_findings_without_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let sbom = synthetic_sbom(dir.path());
    let all = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--sbom",
        sbom.to_str().unwrap(),
    ]));
    let unfixed = findings(&all)
        .iter()
        .filter(|f| f["fix_status"] == "not_fixed")
        .count();
    assert!(
        unfixed > 0,
        "the synthetic inventory has an unfixed advisory"
    );
    let kept = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--ignore-unfixed",
        "--sbom",
        sbom.to_str().unwrap(),
    ]));
    assert_eq!(findings(&kept).len(), findings(&all).len() - unfixed);
    assert!(findings(&kept).iter().all(|f| f["fix_status"] == "fixed"));
}

#[test]
fn severity_filter_keeps_only_the_named_severities() {
    let all = scan_json(&image("app-multi.oci.tar"));
    let high = findings(&all)
        .iter()
        .filter(|f| f["severity"] == "HIGH" || f["severity"] == "MEDIUM")
        .count();
    assert!(high > 0);
    let doc = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--severity",
        "high,MEDIUM",
        &image("app-multi.oci.tar"),
    ]));
    assert_eq!(findings(&doc).len(), high);
    let bad = customs(&["scan", "--severity", "severe", &image("app-multi.oci.tar")]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn exit_code_and_fail_on_decide_the_exit_status() {
    let img = image("app-multi.oci.tar");
    let all = scan_json(&img);
    let worst = findings(&all)
        .iter()
        .filter_map(|f| f["severity"].as_str())
        .map(|s| {
            ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
                .iter()
                .position(|x| *x == s)
                .unwrap()
        })
        .max()
        .unwrap();
    let code = |args: &[&str]| {
        let mut a = vec!["scan", "-f", "json"];
        a.extend_from_slice(args);
        a.push(&img);
        customs(&a).status.code()
    };
    // No flags: findings do not fail the scan.
    assert_eq!(code(&[]), Some(0));
    assert_eq!(code(&["--exit-code", "3"]), Some(3));
    // Nothing remains after the filter: success even with --exit-code.
    assert_eq!(code(&["--exit-code", "3", "--severity", "LOW"]), Some(0));
    let names = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    assert_eq!(code(&["--fail-on", names[worst]]), Some(1));
    assert_eq!(
        code(&["--fail-on", names[worst], "--exit-code", "5"]),
        Some(5)
    );
    if worst < 4 {
        assert_eq!(code(&["--fail-on", names[worst + 1]]), Some(0));
    }
}

fn urllib3_finding(doc: &Value) -> (String, Vec<String>) {
    let f = findings(doc)
        .iter()
        .find(|f| f["package"]["name"] == "urllib3" && f["aliases"].as_array().is_some())
        .expect("an urllib3 finding with aliases");
    (
        f["id"].as_str().unwrap().to_string(),
        id_set(f)
            .into_iter()
            .filter(|i| i != f["id"].as_str().unwrap())
            .collect(),
    )
}

#[test]
fn ignore_file_suppresses_by_alias_and_expired_entries_warn_and_do_not() {
    let img = image("app-multi.oci.tar");
    let all = scan_json(&img);
    let n = findings(&all).len();
    let (id, aliases) = urllib3_finding(&all);
    let other = findings(&all)
        .iter()
        .find(|f| f["package"]["name"] == "idna")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".customsignore"),
        format!(
            "ignore:\n  - id: {alias}\n    package: urllib3\n    expires: 2999-12-31\n    reason: test\n  - id: {other}\n    expires: 2000-01-01\n    reason: expired\n",
            alias = aliases[0]
        ),
    )
    .unwrap();
    // Found in the current directory without --ignorefile. Expiry is judged on the run's one
    // clock, so SOURCE_DATE_EPOCH (0 in this harness) decides what "today" is: 2026-12-01 here.
    let out = customs_in(
        Some(dir.path()),
        &["scan", "-f", "json", &img],
        &[("SOURCE_DATE_EPOCH", "1796083200")],
    );
    let doc = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expired on 2000-01-01"), "{stderr}");
    assert_eq!(findings(&doc).len(), n - 1);
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert!(!findings(&doc).iter().any(|f| f["id"] == id.as_str()));
    assert!(findings(&doc).iter().any(|f| f["id"] == other.as_str()));

    // A malformed ignore file is an error, not silently ignored.
    std::fs::write(dir.path().join("bad"), "ignore:\n  - idd: X\n").unwrap();
    let out = customs(&[
        "scan",
        "--ignorefile",
        dir.path().join("bad").to_str().unwrap(),
        &img,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
}

#[test]
fn trivy_ignore_files_work_as_they_are_and_unused_entries_warn() {
    let img = image("app-multi.oci.tar");
    let all = scan_json(&img);
    let n = findings(&all).len();
    let (id, aliases) = urllib3_finding(&all);
    // Plain .trivyignore, found in the current directory: one alias that suppresses, one id
    // that matches nothing in this image.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".trivyignore"),
        format!("# accepted\n{} exp:2999-12-31\nCVE-1999-0001\n", aliases[0]),
    )
    .unwrap();
    let out = customs_in(Some(dir.path()), &["scan", "-f", "json", &img], &[]);
    let doc = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(findings(&doc).len(), n - 1, "{stderr}");
    assert!(!findings(&doc).iter().any(|f| f["id"] == id.as_str()));
    assert!(
        stderr.contains(".trivyignore: the entry for CVE-1999-0001 (line 3) matched no finding"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&format!("entry for {} ", aliases[0])),
        "{stderr}"
    );

    // .trivyignore.yaml wins over the plain file; purls narrow an entry to one package.
    std::fs::write(
        dir.path().join(".trivyignore.yaml"),
        format!(
            "vulnerabilities:\n  - id: {alias}\n    purls: [\"pkg:pypi/urllib3\"]\n    statement: test\n  - id: {alias}\n    purls: [\"pkg:pypi/not-installed\"]\nmisconfigurations:\nsecrets:\nlicenses:\n",
            alias = aliases[0]
        ),
    )
    .unwrap();
    let out = customs_in(Some(dir.path()), &["scan", "-f", "json", &img], &[]);
    let doc = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(findings(&doc).len(), n - 1, "{stderr}");
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert!(stderr.contains("(entry 2) matched no finding"), "{stderr}");
    assert!(
        !stderr.contains("CVE-1999-0001"),
        "the plain file is not read: {stderr}"
    );
}

#[test]
fn openvex_not_affected_suppresses_and_affected_does_not() {
    let img = image("app-multi.oci.tar");
    let all = scan_json(&img);
    let n = findings(&all).len();
    let (id, _) = urllib3_finding(&all);
    let go = findings(&all)
        .iter()
        .find(|f| f["package"]["name"] == "stdlib")
        .unwrap();
    let vex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "test",
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": [
            {"vulnerability": {"name": id}, "products": [{"@id": "pkg:pypi/urllib3"}],
             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
            {"vulnerability": {"name": go["id"]}, "products": [{"@id": "pkg:golang/stdlib@1.22.0"}],
             "status": "affected", "action_statement": "upgrade"},
            // Another version: must not match.
            {"vulnerability": {"name": go["id"]}, "products": [{"@id": "pkg:golang/stdlib@1.21.0"}],
             "status": "fixed"}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vex.json");
    std::fs::write(&path, vex.to_string()).unwrap();
    let doc = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--vex",
        path.to_str().unwrap(),
        &img,
    ]));
    assert_eq!(findings(&doc).len(), n - 1);
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert!(!findings(&doc).iter().any(|f| f["id"] == id.as_str()));
}

#[test]
fn other_formats_carry_the_same_findings() {
    let img = image("app-multi.oci.tar");
    let n = findings(&scan_json(&img)).len();
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("s.sarif");
    let out = customs(&["scan", "-f", "sarif", "-o", sarif.to_str().unwrap(), &img]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), n);
    let out = customs(&["scan", "-f", "cyclonedx", &img]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let affects: usize = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["affects"].as_array().unwrap().len())
        .sum();
    assert_eq!(affects, n);
    let out = customs(&["scan", &img]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains('\u{1b}'), "no colour when piped");
    assert!(
        table.contains(&format!("Total: {n} vulnerabilities")),
        "{table}"
    );
}

#[test]
fn corrupt_truncated_and_missing_databases_fail_with_exit_2_and_say_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&fixture().db).unwrap();
    let corrupt = dir.path().join("corrupt.db");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    std::fs::write(&corrupt, flipped).unwrap();
    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let missing = dir.path().join("nothing-here.db");
    let img = image("alpine-3.10.tar");
    for (db, expect) in [
        (&corrupt, "corrupt"),
        (&truncated, "corrupt"),
        (&missing, "no vulnerability database"),
    ] {
        let out = customs(&["scan", "--db", db.to_str().unwrap(), &img]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert!(stderr.contains("customs db update"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn stale_database_warns_on_stderr() {
    let out = customs_in(
        None,
        &["scan", "-f", "json", &image("alpine-3.10.tar")],
        &[("CUSTOMS_MAX_DB_AGE", "1d")],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("older than 1d"), "{stderr}");
}

#[test]
fn db_status_reports_sources_and_counts_as_json() {
    let out = customs(&["db", "status", "-f", "json"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = doc["metadata"]["sources"].as_array().unwrap();
    // 3 OSV zips and 4 secdb files.
    assert_eq!(sources.len(), 7);
    let eco = doc["metadata"]["ecosystems"].as_object().unwrap();
    for e in ["Alpine:v3.10", "Alpine:v3.11", "Go", "PyPI", "crates.io"] {
        assert!(eco[e].as_u64().unwrap() > 0, "{e}");
    }
    assert!(doc["age_seconds"].as_u64().is_some());
}

#[test]
fn db_update_from_a_local_mirror_builds_a_working_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    let out = customs(&[
        "db",
        "update",
        "--mirror",
        &format!("{SHARED}/vulndata/osv"),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_of(&customs(&[
        "scan",
        "-f",
        "json",
        "--db",
        db.to_str().unwrap(),
        &image("app-multi.oci.tar"),
    ]));
    // Only the OSV ecosystems are published at the mirror: no Alpine findings, same others.
    let all = scan_json(&image("app-multi.oci.tar"));
    let non_os: BTreeSet<_> = finding_keys(&all)
        .into_iter()
        .filter(|k| k.0 != "Alpine")
        .collect();
    assert_eq!(finding_keys(&doc), non_os);
}

#[test]
fn db_update_from_a_mirror_with_no_exports_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = customs(&[
        "db",
        "update",
        "--mirror",
        dir.path().to_str().unwrap(),
        "--db",
        dir.path().join("u.db").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("publishes none"));
    assert!(!dir.path().join("u.db").exists(), "nothing written");
}
