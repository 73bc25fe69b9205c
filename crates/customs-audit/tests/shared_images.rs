//! No false alarms on the shared images: the audit of each image in `../shared/images` is
//! compared with a golden JSON file that was reviewed finding by finding against the image's
//! README (`../shared/images/README.md`) and its files; `tests/golden/REVIEW.md` records how.
//! `now` is pinned so age and end-of-life findings do not drift.
//! Set `UPDATE_GOLDEN=1` to rewrite the golden files (then review the diff by hand).

use std::path::PathBuf;

use customs_audit::{audit, AuditOptions, AuditReport};
use customs_image::{Image, OpenOptions};

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

fn shared(name: &str) -> String {
    format!(
        "{}/../../../shared/images/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn run(target: &str) -> AuditReport {
    let image = Image::open_str(target, &OpenOptions::default()).expect("image opens");
    let opts = AuditOptions {
        now: Some(NOW),
        ..AuditOptions::default()
    };
    audit(&image, &opts).expect("audit runs")
}

/// The report as `customs audit -f json` writes it (customs-report's audit renderer is pretty
/// serde JSON with a trailing newline; this crate's tests cannot depend on the renderer).
fn to_json(r: &AuditReport) -> String {
    serde_json::to_string_pretty(r).unwrap() + "\n"
}

/// The report with the image name made independent of where the checkout lives.
fn golden_json(report: &AuditReport, file: &str) -> String {
    let mut r = report.clone();
    r.image.name = r.image.name.replace(&shared(""), "../shared/images/");
    let _ = file;
    to_json(&r)
}

fn check_golden(file: &str, target: &str) -> AuditReport {
    let report = run(target);
    let got = golden_json(&report, file);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{file}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).expect("golden file exists");
    assert_eq!(got, want, "audit of {file} differs from {}", path.display());
    report
}

fn ids(r: &AuditReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id).collect()
}

#[test]
fn alpine_3_10_matches_reviewed_golden() {
    let r = check_golden(
        "alpine-3.10",
        &format!("docker-archive:{}", shared("alpine-3.10.tar")),
    );
    assert!(
        ids(&r).contains(&"CUS-FRESH-002"),
        "alpine 3.10 is end-of-life"
    );
    assert!(
        !ids(&r).contains(&"CUS-PRIV-013"),
        "alpine locks root with '!'"
    );
}

#[test]
fn alpine_3_11_matches_reviewed_golden() {
    check_golden(
        "alpine-3.11",
        &format!("docker-archive:{}", shared("alpine-3.11.tar.gz")),
    );
}

#[test]
fn app_multi_matches_reviewed_golden() {
    let r = check_golden(
        "app-multi",
        &format!("oci-archive:{}", shared("app-multi.oci.tar")),
    );
    let env = r
        .findings
        .iter()
        .find(|f| f.id == "CUS-SEC-003")
        .expect("the deleted .env is reported");
    assert_eq!(env.evidence.path.as_deref(), Some("srv/app/.env"));
    assert_eq!(env.evidence.layer_index, Some(2));
    assert_eq!(env.evidence.deleted_in_index, Some(4));
    let json = to_json(&r);
    assert!(
        !json.contains("example-not-a-secret"),
        "values never printed in full"
    );
}

#[test]
fn debian_minbase_matches_reviewed_golden() {
    let r = check_golden(
        "debian-bookworm-minbase",
        &format!("oci-archive:{}", shared("debian-bookworm-minbase.oci.tar")),
    );
    assert!(
        !ids(&r).contains(&"CUS-PRIV-013"),
        "locked accounts are not empty passwords"
    );
    assert_eq!(ids(&r).iter().filter(|i| **i == "CUS-PRIV-003").count(), 11);
}
