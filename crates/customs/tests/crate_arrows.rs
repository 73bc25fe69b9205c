//! The workspace's shape, checked: which crate may depend on which (normal dependencies, as
//! `cargo metadata` reports them). Data flows one way, image → inventory → vulndb → report;
//! audit and sign read image; renderers live in report; the binary wires everything.
//!
//! `PENDING` lists arrows that break the shape today and are being removed (issue 13): audit
//! and policy still render their own output through customs-report. A new arrow outside
//! `ALLOWED` fails this test; so does a pending one that is gone but still listed, so the
//! list only ever shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// crate → the workspace crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("customs-image", &[]),
    ("customs-version", &[]),
    ("customs-inventory", &["customs-image"]),
    ("customs-vulndb", &["customs-inventory", "customs-version"]),
    ("customs-audit", &["customs-image", "customs-inventory"]),
    // Signatures are stored in registries beside the image (cosign's layout).
    ("customs-sign", &["customs-image", "customs-registry"]),
    ("customs-registry", &["customs-image"]),
    ("customs-pin", &["customs-image", "customs-registry"]),
    (
        "customs-report",
        &[
            "customs-inventory",
            "customs-vulndb",
            "customs-audit",
            "customs-policy",
        ],
    ),
    (
        "customs-policy",
        &[
            "customs-audit",
            "customs-image",
            "customs-sign",
            "customs-vulndb",
        ],
    ),
    ("customs-testkit", &["customs-image", "customs-registry"]),
    // The registry server sits beside the registry client; its push gate reads images,
    // inventories them, matches and audits them, and evaluates the policy. No renderers.
    (
        "customs-serve",
        &[
            "customs-image",
            "customs-inventory",
            "customs-vulndb",
            "customs-audit",
            "customs-policy",
            "customs-sign",
            "customs-registry",
        ],
    ),
    (
        "customs",
        &[
            "customs-image",
            "customs-registry",
            "customs-inventory",
            "customs-version",
            "customs-vulndb",
            "customs-report",
            "customs-audit",
            "customs-sign",
            "customs-pin",
            "customs-policy",
            "customs-serve",
        ],
    ),
];

/// Arrows outside the shape that exist today, to be removed.
const PENDING: &[(&str, &str)] = &[];

#[test]
fn workspace_crates_depend_only_along_the_allowed_arrows() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .filter(|n| n.starts_with("customs"))
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    let mut seen_pending = BTreeSet::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if !members.contains(name) {
            continue;
        }
        let Some(ok) = allowed.get(name) else {
            wrong.push(format!("{name} is not in the allow-list at all"));
            continue;
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let normal = d["kind"].is_null();
            if !normal || !members.contains(dep) {
                continue;
            }
            if PENDING.contains(&(name, dep)) {
                seen_pending.insert((name, dep));
            } else if !ok.contains(&dep) {
                wrong.push(format!("{name} → {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "arrows outside the shape: {wrong:?}");
    for p in PENDING {
        assert!(
            seen_pending.contains(p),
            "{} → {} is gone: remove it from PENDING",
            p.0,
            p.1
        );
    }
}
