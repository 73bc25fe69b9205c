//! `docs/json-sbom.md` and `docs/json-scan.md` are the schema of the native JSON formats: every
//! field the renderers write must be listed there, and the examples must be JSON.

mod common;

use std::collections::BTreeSet;

use common::*;
use customs_report::{json, Scan};
use serde_json::Value;

const SBOM_DOC: &str = include_str!("../../../docs/json-sbom.md");
const SCAN_DOC: &str = include_str!("../../../docs/json-scan.md");

/// Every key path in a value: `a.b`, arrays as `a[]`.
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                // Label keys are data, not schema.
                if prefix == "subject.labels" {
                    continue;
                }
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            for item in items {
                if item.is_object() {
                    out.insert(path.clone());
                }
                paths(item, &path, out);
            }
        }
        _ => {}
    }
}

/// A path is documented by its own row; an object or array also by rows for its members.
fn documented(doc: &str, path: &str) -> bool {
    // `suppressed[]` holds packages, documented once as `packages[]`.
    let path = match path.strip_prefix("suppressed[]") {
        Some(rest) => format!("packages[]{rest}"),
        None => path.to_string(),
    };
    [
        format!("`{path}`"),
        format!("`{path}[]"),
        format!("`{path}."),
    ]
    .iter()
    .any(|needle| doc.contains(needle.as_str()))
}

fn examples(doc: &str) -> Vec<&str> {
    doc.split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect()
}

#[test]
fn every_sbom_field_is_documented() {
    let mut subject = subject();
    subject.platform.variant = Some("v8".into());
    let out: Value =
        serde_json::from_str(&json::sbom(&subject, &inventory(), &info()).unwrap()).unwrap();
    let mut all = BTreeSet::new();
    paths(&out, "", &mut all);
    assert!(
        all.contains("packages[].source_version"),
        "the fixture covers optional fields"
    );
    let missing: Vec<&String> = all.iter().filter(|p| !documented(SBOM_DOC, p)).collect();
    assert!(missing.is_empty(), "not in docs/json-sbom.md: {missing:?}");
}

#[test]
fn every_scan_field_is_documented() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let scan = Scan {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        suppressed: 0,
    };
    let out: Value = serde_json::from_str(&json::scan(&scan, &info()).unwrap()).unwrap();
    let mut all = BTreeSet::new();
    paths(&out, "", &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|p| {
            // The package and the shared parts are documented once, in json-sbom.md.
            let in_sbom = p
                .strip_prefix("findings[].package.")
                .map(|rest| format!("packages[].{rest}"))
                .unwrap_or_else(|| p.to_string());
            !documented(SCAN_DOC, p) && !documented(SBOM_DOC, &in_sbom)
        })
        .collect();
    assert!(missing.is_empty(), "not in docs/json-scan.md: {missing:?}");
}

#[test]
fn documented_examples_are_json_of_the_current_schema() {
    for (doc, kind) in [(SBOM_DOC, "customs.sbom"), (SCAN_DOC, "customs.scan")] {
        let blocks = examples(doc);
        assert_eq!(blocks.len(), 1);
        let example: Value = serde_json::from_str(blocks[0]).expect("example is JSON");
        assert_eq!(example["kind"], kind);
        assert_eq!(example["schema_version"], json::SCHEMA_VERSION);
    }
}
