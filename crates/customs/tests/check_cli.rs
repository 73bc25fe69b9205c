//! `customs check IMAGE --policy FILE` end to end: a database imported from
//! `../shared/vulndata`, the shared images, policies written per test; violations listed with
//! their reasons and exit 1, clean runs exit 0, bad policies exit 2 naming the line;
//! vulnerability violations cross-checked against `customs scan` on the same database;
//! signatures and attestations on an `oci:` layout before and after `customs sign`/`attest`;
//! SARIF checked against the OASIS schema when the tools venv exists.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
use common::SHARED;

use serde_json::Value;

/// A fixed clock (2026-01-01T00:00:00Z) so ages do not drift.
const NOW: &str = "1767225600";

/// One database for the whole test binary.
fn db() -> &'static Path {
    static DB: OnceLock<common::Fixture> = OnceLock::new();
    &DB.get_or_init(|| common::db_fixture("check_cli", &["vulndata"]))
        .db
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs customs in `cwd` with the shared database, a fixed clock and password "pw".
fn customs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_DB", db())
        .env("CUSTOMS_CACHE_DIR", cwd.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", NOW)
        .env("CUSTOMS_PASSWORD", "pw")
        .env_remove("COSIGN_PASSWORD")
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn image(name: &str) -> String {
    format!("{SHARED}/images/{name}")
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn assert_code(o: &Output, want: i32) {
    assert_eq!(
        code(o),
        Some(want),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// Writes `policy` as `name` in `dir` and checks `target` against it, as JSON.
fn check_json(dir: &Path, target: &str, name: &str, policy: &str) -> (Output, Value) {
    std::fs::write(dir.join(name), policy).unwrap();
    let out = customs(dir, &["check", target, "--policy", name, "-f", "json"]);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, doc)
}

fn violation_ids(doc: &Value) -> Vec<String> {
    doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn reasons(doc: &Value, id: &str) -> Vec<String> {
    doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == id)
        .map(|v| v["reason"].as_str().unwrap().to_string())
        .collect()
}

const ALLOW_NOTHING: &str = r#"
[vulnerabilities]
max_count = 0
max_severity = "unknown"

[registries]
trusted = []
max_age_days = 1

[registries.base]
trusted = []
required = true

[audit]
fail_on = "info"
"#;

const PERMISSIVE: &str = r#"
[vulnerabilities]
max_severity = "critical"

[registries]
max_age_days = 100000

[audit]
fail_on = "critical"
"#;

#[test]
fn allow_nothing_policy_fails_alpine_and_lists_every_violation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strict.toml"), ALLOW_NOTHING).unwrap();
    let img = image("alpine-3.10.tar");
    let out = customs(dir.path(), &["check", &img, "--policy", "strict.toml"]);
    assert_code(&out, 1);
    let table = text(&out.stdout);
    for expected in [
        "POL-REG-001",
        "is not named by a registry reference",
        "POL-REG-003",
        "POL-AGE-001",
        "POL-AUDIT-001",
        "CUS-PRIV-001",
    ] {
        assert!(table.contains(expected), "{expected} missing:\n{table}");
    }
    let lines = table.lines().filter(|l| l.contains("FAIL POL-")).count();
    assert!(
        table.ends_with(&format!("FAIL: {lines} violations\n")),
        "{table}"
    );

    // The audit findings are the ones `customs audit` reports for the image, but for its age
    // rule: the policy's max_age_days owns the age check.
    let audit = customs(
        dir.path(),
        &["audit", &img, "-f", "json", "--skip-rule", "CUS-FRESH-001"],
    );
    assert_code(&audit, 0);
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let audit_ids: Vec<&str> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!audit_ids.is_empty());
    let (_, doc) = check_json(dir.path(), &img, "strict.toml", ALLOW_NOTHING);
    let audit_reasons = reasons(&doc, "POL-AUDIT-001");
    assert_eq!(audit_reasons.len(), audit_ids.len(), "{audit_reasons:?}");
    for (reason, id) in audit_reasons.iter().zip(&audit_ids) {
        assert!(reason.starts_with(id), "{reason} vs {id}");
    }
}

#[test]
fn permissive_policy_passes_alpine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.toml"), PERMISSIVE).unwrap();
    let out = customs(
        dir.path(),
        &["check", &image("alpine-3.10.tar"), "--policy", "ok.toml"],
    );
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).ends_with("PASS: no policy rule was violated\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn image_age_is_measured_against_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let img = image("alpine-3.10.tar");
    // The audit reports the age it judged; the policy's limit is checked against the same.
    let audit = customs(dir.path(), &["audit", &img, "-f", "json"]);
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let days = audit["age"]["days"].as_i64().unwrap();
    assert!(days > 365, "{days}");
    let at_limit = format!("[registries]\nmax_age_days = {days}\n[audit]\nenabled = false\n");
    let (out, _) = check_json(dir.path(), &img, "a.toml", &at_limit);
    assert_code(&out, 0);
    let below = format!("[registries]\nmax_age_days = {}\n", days - 1);
    let (out, doc) = check_json(dir.path(), &img, "b.toml", &below);
    assert_code(&out, 1);
    assert_eq!(
        reasons(&doc, "POL-AGE-001"),
        [format!(
            "the image is {days} days old, older than the allowed {}",
            days - 1
        )]
    );
}

/// `customs scan -f json` on the same database: (id, severity, fixed) per finding.
fn scan_findings(dir: &Path, img: &str) -> Vec<(String, String, bool)> {
    let out = customs(dir, &["scan", img, "-f", "json"]);
    assert_code(&out, 0);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = doc["findings"]
        .as_array()
        .or_else(|| doc["vulnerabilities"].as_array())
        .expect("scan JSON has findings");
    list.iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_ascii_lowercase(),
                f["fix_status"] == "fixed",
            )
        })
        .collect()
}

#[test]
fn vulnerability_rules_agree_with_customs_scan() {
    let dir = tempfile::tempdir().unwrap();
    let img = image("app-multi.oci.tar");
    let findings = scan_findings(dir.path(), &img);
    assert!(!findings.is_empty());

    let (out, doc) = check_json(
        dir.path(),
        &img,
        "count.toml",
        "[vulnerabilities]\nmax_count = 0\n",
    );
    assert_code(&out, 1);
    assert_eq!(
        reasons(&doc, "POL-VULN-002"),
        [format!(
            "{} vulnerabilities found, more than the allowed 0",
            findings.len()
        )]
    );

    let above_medium = findings
        .iter()
        .filter(|(_, s, _)| s == "high" || s == "critical")
        .count();
    let (out, doc) = check_json(
        dir.path(),
        &img,
        "sev.toml",
        "[vulnerabilities]\nmax_severity = \"medium\"\n",
    );
    assert_eq!(code(&out), Some(if above_medium > 0 { 1 } else { 0 }));
    let got = reasons(&doc, "POL-VULN-001");
    assert_eq!(got.len(), above_medium, "{got:?}");
    assert!(got.iter().all(|r| r.ends_with("above the allowed medium")));

    // ignore_unfixed leaves out exactly the scan's unfixed findings.
    let fixed = findings.iter().filter(|(_, _, fixed)| *fixed).count();
    let (out, doc) = check_json(
        dir.path(),
        &img,
        "fixed.toml",
        &format!(
            "[vulnerabilities]\nignore_unfixed = true\nmax_count = {}\n",
            fixed.saturating_sub(1)
        ),
    );
    if fixed > 0 {
        assert_code(&out, 1);
        assert_eq!(
            reasons(&doc, "POL-VULN-002"),
            [format!(
                "{fixed} vulnerabilit{} found, more than the allowed {}",
                if fixed == 1 { "y" } else { "ies" },
                fixed - 1
            )]
        );
    }

    // Ignoring every id the scan found passes.
    let ignore: Vec<String> = findings
        .iter()
        .map(|(id, _, _)| format!("{id:?}"))
        .collect();
    let (out, doc) = check_json(
        dir.path(),
        &img,
        "ignore.toml",
        &format!(
            "[vulnerabilities]\nmax_count = 0\nignore = [{}]\n",
            ignore.join(", ")
        ),
    );
    assert_code(&out, 0);
    assert_eq!(doc["passed"], true);
}

#[test]
fn missing_database_is_an_error_not_a_violation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[vulnerabilities]\nmax_count = 0\n",
    )
    .unwrap();
    let missing = dir.path().join("nope.db");
    let out = customs(
        dir.path(),
        &[
            "check",
            &image("alpine-3.10.tar"),
            "--policy",
            "p.toml",
            "--db",
            missing.to_str().unwrap(),
        ],
    );
    assert_code(&out, 2);
}

#[test]
fn unknown_policy_key_exits_2_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[vulnerabilities]\nmax_severity = \"high\"\n\n[audit]\nfail_onn = \"low\"\n",
    )
    .unwrap();
    let out = customs(
        dir.path(),
        &["check", &image("alpine-3.10.tar"), "--policy", "bad.toml"],
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("fail_onn"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A tempdir with `k.pub`/`k.key`, `other.pub`/`other.key` and app-multi as `oci:app:latest`.
fn signing_setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["k", "other"] {
        let out = customs(
            dir.path(),
            &["key", "generate", "--output-key-prefix", prefix],
        );
        assert_code(&out, 0);
    }
    let out = customs(
        dir.path(),
        &["copy", &image("app-multi.oci.tar"), "oci:app:latest"],
    );
    assert_code(&out, 0);
    dir
}

const SIGNED: &str = "[signatures]\nrequired_keys = [\"k.pub\"]\n";

#[test]
fn required_signature_fails_unsigned_and_passes_once_signed() {
    let dir = signing_setup();
    let d = dir.path();
    let (out, doc) = check_json(d, "oci:app:latest", "sig.toml", SIGNED);
    assert_code(&out, 1);
    let r = reasons(&doc, "POL-SIG-001");
    assert_eq!(r.len(), 1, "{doc}");
    assert!(r[0].contains("no signatures found"), "{}", r[0]);

    // Signed with another key: still no signature verifies with k.pub.
    assert_code(
        &customs(d, &["sign", "--key", "other.key", "oci:app:latest"]),
        0,
    );
    let (out, doc) = check_json(d, "oci:app:latest", "sig.toml", SIGNED);
    assert_code(&out, 1);
    let r = reasons(&doc, "POL-SIG-001");
    assert!(r[0].contains("verified"), "{}", r[0]);

    assert_code(
        &customs(d, &["sign", "--key", "k.key", "oci:app:latest"]),
        0,
    );
    let (out, doc) = check_json(d, "oci:app:latest", "sig.toml", SIGNED);
    assert_code(&out, 0);
    assert_eq!(violation_ids(&doc), Vec::<String>::new());

    // Both keys required: both now verify.
    let (out, _) = check_json(
        d,
        "oci:app:latest",
        "both.toml",
        "[signatures]\nrequired_keys = [\"k.pub\", \"other.pub\"]\n",
    );
    assert_code(&out, 0);
}

#[test]
fn required_attestation_fails_until_attested_with_the_policy_key() {
    let dir = signing_setup();
    let d = dir.path();
    let policy =
        "[attestations]\nkey = \"k.pub\"\nrequired_types = [\"cyclonedx\", \"slsaprovenance1\"]\n";
    let (out, doc) = check_json(d, "oci:app:latest", "att.toml", policy);
    assert_code(&out, 1);
    let r = reasons(&doc, "POL-ATT-001");
    assert_eq!(r.len(), 2, "{doc}");
    assert!(
        r[0].starts_with("no cyclonedx attestation verifies"),
        "{}",
        r[0]
    );

    std::fs::write(
        d.join("bom.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}"#,
    )
    .unwrap();
    let attest = customs(
        d,
        &[
            "attest",
            "--key",
            "k.key",
            "--type",
            "cyclonedx",
            "--predicate",
            "bom.json",
            "oci:app:latest",
        ],
    );
    assert_code(&attest, 0);
    let (out, doc) = check_json(d, "oci:app:latest", "att.toml", policy);
    assert_code(&out, 1);
    let r = reasons(&doc, "POL-ATT-001");
    assert_eq!(r.len(), 1, "{doc}");
    assert!(
        r[0].starts_with("no slsaprovenance1 attestation verifies"),
        "{}",
        r[0]
    );

    let (out, _) = check_json(
        d,
        "oci:app:latest",
        "cdx.toml",
        "[attestations]\nkey = \"k.pub\"\nrequired_types = [\"cyclonedx\"]\n",
    );
    assert_code(&out, 0);
}

#[test]
fn signatures_of_an_archive_cannot_be_checked_and_that_is_a_violation() {
    let dir = signing_setup();
    let (out, doc) = check_json(dir.path(), &image("alpine-3.10.tar"), "sig.toml", SIGNED);
    assert_code(&out, 1);
    let r = reasons(&doc, "POL-SIG-001");
    assert_eq!(r.len(), 1, "{doc}");
}

#[test]
fn missing_key_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = check_json(
        dir.path(),
        &image("alpine-3.10.tar"),
        "sig.toml",
        "[signatures]\nrequired_keys = [\"absent.pub\"]\n",
    );
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("absent.pub"));
}

#[test]
fn sarif_output_lists_violations_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strict.toml"), ALLOW_NOTHING).unwrap();
    let out = customs(
        dir.path(),
        &[
            "check",
            &image("alpine-3.10.tar"),
            "--policy",
            "strict.toml",
            "-f",
            "sarif",
            "-o",
            "out.sarif",
        ],
    );
    assert_code(&out, 1);
    assert!(out.stdout.is_empty());
    let sarif = std::fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let (_, json) = check_json(
        dir.path(),
        &image("alpine-3.10.tar"),
        "strict.toml",
        ALLOW_NOTHING,
    );
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, violation_ids(&json));

    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../customs-report/tests/schemas/validate.py");
    if !python.exists() {
        eprintln!(
            "skipping SARIF schema validation: {} is missing",
            python.display()
        );
        return;
    }
    let v = Command::new(&python)
        .arg(&script)
        .arg("sarif")
        .arg(dir.path().join("out.sarif"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
}
