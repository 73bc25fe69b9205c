//! Snapshot tests of the table, JSON and SARIF outputs for violations evaluated from
//! hand-built facts. The snapshots were read by hand against docs/policy.md.

use std::path::{Path, PathBuf};

use customs_policy::{evaluate, CheckInput, ImageAge, KeyOutcome, Policy, Violation};
use customs_report::policy::{self as render, Outcome};

fn violations() -> Vec<Violation> {
    let policy = Policy::parse(
        "[signatures]\nrequired_keys = [\"k.pub\"]\n[registries]\ntrusted = [\"ghcr.io/acme\"]\nmax_age_days = 30\n",
        "customs.toml",
        Path::new("keys"),
    )
    .unwrap();
    let input = CheckInput {
        image: "docker.io/library/alpine:3.20".into(),
        reference: Some("docker.io/library/alpine".into()),
        age: ImageAge::Days(45),
        signatures: vec![KeyOutcome {
            key: PathBuf::from("keys/k.pub"),
            result: Err("no signatures found".into()),
        }],
        ..CheckInput::default()
    };
    evaluate(&policy, &input)
}

fn outcome(v: &[Violation]) -> Outcome<'_> {
    Outcome::new(
        "docker.io/library/alpine:3.20",
        Some("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        "customs.toml",
        v,
    )
}

#[test]
fn table_output() {
    let v = violations();
    insta::assert_snapshot!(render::table(&outcome(&v)));
}

#[test]
fn json_output() {
    let v = violations();
    insta::assert_snapshot!(render::json(&outcome(&v)).unwrap());
}

#[test]
fn sarif_output() {
    let v = violations();
    insta::assert_snapshot!(render::sarif(&outcome(&v), "0.1.0").unwrap());
}
