//! `docs/audit.md` documents every rule id and every secret detector.

use customs_audit::{rules::RULES, secrets::DETECTORS};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit.md"))
        .expect("docs/audit.md exists")
}

#[test]
fn every_rule_is_documented() {
    let doc = doc();
    for r in RULES {
        assert!(doc.contains(&format!("| {} |", r.id)), "{} missing", r.id);
    }
}

#[test]
fn every_detector_is_documented() {
    let doc = doc();
    for d in DETECTORS.iter() {
        assert!(doc.contains(&format!("`{}`", d.id)), "{} missing", d.id);
    }
}
