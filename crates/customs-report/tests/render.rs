//! Every output format rendered from the shared fixture: snapshot tests of the exact bytes
//! (reviewed by hand against the CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 specifications), plus
//! the properties the snapshots alone would not guard: determinism, unique ids, valid licences.

mod common;

use std::collections::BTreeSet;

use common::*;
use customs_inventory::Inventory;
use customs_report::{cyclonedx, json, sarif, spdx, table, Scan, Summary};
use serde_json::Value;

fn scan_of<'a>(
    subject: &'a customs_report::Subject,
    inventory: &'a Inventory,
    findings: &'a [customs_vulndb::Finding],
) -> Scan<'a> {
    Scan {
        subject,
        inventory,
        findings,
        suppressed: 2,
    }
}

/// Every renderer, in a fixed order, on one input.
fn render_all(inventory: &Inventory, findings: &[customs_vulndb::Finding]) -> Vec<String> {
    let subject = subject();
    let info = info();
    let scan = scan_of(&subject, inventory, findings);
    vec![
        cyclonedx::sbom(&subject, inventory, &info).unwrap(),
        cyclonedx::scan(&scan, &info).unwrap(),
        spdx::sbom(&subject, inventory, &info).unwrap(),
        json::sbom(&subject, inventory, &info).unwrap(),
        json::scan(&scan, &info).unwrap(),
        table::sbom(&subject, inventory, false),
        table::sbom(&subject, inventory, true),
        table::scan(&scan, false),
        table::scan(&scan, true),
        sarif::scan(&scan, &info).unwrap(),
    ]
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("renderer output is JSON")
}

#[test]
fn cyclonedx_sbom_matches_snapshot() {
    let out = cyclonedx::sbom(&subject(), &inventory(), &info()).unwrap();
    insta::assert_snapshot!("cyclonedx_sbom", out);
}

#[test]
fn cyclonedx_scan_matches_snapshot() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let out = cyclonedx::scan(&scan_of(&subject, &inventory, &findings), &info()).unwrap();
    insta::assert_snapshot!("cyclonedx_scan", out);
}

#[test]
fn spdx_sbom_matches_snapshot() {
    let out = spdx::sbom(&subject(), &inventory(), &info()).unwrap();
    insta::assert_snapshot!("spdx_sbom", out);
}

#[test]
fn json_sbom_matches_snapshot() {
    let out = json::sbom(&subject(), &inventory(), &info()).unwrap();
    insta::assert_snapshot!("json_sbom", out);
}

#[test]
fn json_scan_matches_snapshot() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let out = json::scan(&scan_of(&subject, &inventory, &findings), &info()).unwrap();
    insta::assert_snapshot!("json_scan", out);
}

#[test]
fn table_sbom_matches_snapshot() {
    insta::assert_snapshot!("table_sbom", table::sbom(&subject(), &inventory(), false));
}

#[test]
fn table_scan_matches_snapshot() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    insta::assert_snapshot!(
        "table_scan",
        table::scan(&scan_of(&subject, &inventory, &findings), false)
    );
}

#[test]
fn sarif_scan_matches_snapshot() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let out = sarif::scan(&scan_of(&subject, &inventory, &findings), &info()).unwrap();
    insta::assert_snapshot!("sarif_scan", out);
}

#[test]
fn identical_input_gives_identical_bytes_whatever_the_input_order() {
    let inventory = inventory();
    let findings = findings();
    let first = render_all(&inventory, &findings);
    assert_eq!(first, render_all(&inventory, &findings));

    let mut reversed = inventory.clone();
    reversed.packages.reverse();
    reversed.warnings.reverse();
    let mut reversed_findings = findings.clone();
    reversed_findings.reverse();
    assert_eq!(first, render_all(&reversed, &reversed_findings));
}

#[test]
fn serial_number_and_namespace_change_with_content() {
    let (subject, info) = (subject(), info());
    let a = inventory();
    let mut b = inventory();
    b.packages.pop();
    let serial = |inv: &Inventory| {
        parse(&cyclonedx::sbom(&subject, inv, &info).unwrap())["serialNumber"].clone()
    };
    let namespace = |inv: &Inventory| {
        parse(&spdx::sbom(&subject, inv, &info).unwrap())["documentNamespace"].clone()
    };
    assert_ne!(serial(&a), serial(&b));
    assert_ne!(namespace(&a), namespace(&b));
    let serial = serial(&a);
    let serial = serial.as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:"), "{serial}");
    // A name-based (version 5) UUID: the version nibble is 5.
    assert_eq!(serial.as_bytes()["urn:uuid:".len() + 14], b'5', "{serial}");
}

#[test]
fn cyclonedx_lists_every_package_once_with_a_unique_ref_and_an_image_dependency() {
    let inventory = inventory();
    let bom = parse(&cyclonedx::sbom(&subject(), &inventory, &info()).unwrap());
    let components = bom["components"].as_array().unwrap();
    // Eight packages plus the operating system.
    assert_eq!(components.len(), inventory.packages.len() + 1);
    let refs: BTreeSet<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), components.len(), "bom-refs are unique");
    let deps = bom["dependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["ref"], bom["metadata"]["component"]["bom-ref"]);
    let depends_on: BTreeSet<&str> = deps[0]["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(depends_on, refs, "the image depends on every component");
    assert_eq!(bom["metadata"]["component"]["type"], "container");
    let purl = format!(
        "pkg:oci/app@sha256:{}?arch=amd64&repository_url=registry.example.test%2Fteam%2Fapp&tag=1.0",
        "a".repeat(64)
    );
    assert_eq!(bom["metadata"]["component"]["purl"], purl.as_str());
}

#[test]
fn cyclonedx_uses_license_id_only_for_spdx_identifiers() {
    let bom = parse(&cyclonedx::sbom(&subject(), &inventory(), &info()).unwrap());
    let component = |name: &str| {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        component("bash")["licenses"][0]["license"]["id"],
        "GPL-3.0-or-later"
    );
    let libssl = component("libssl3");
    assert_eq!(libssl["licenses"][0]["license"]["id"], "Apache-2.0");
    assert_eq!(libssl["licenses"][1]["license"]["name"], "Artistic");
    assert!(libssl["licenses"][1]["license"].get("id").is_none());
    assert_eq!(
        component("requests")["licenses"][0]["license"]["name"],
        "Apache 2.0"
    );
    assert_eq!(
        component("smallvec")["licenses"][0]["expression"],
        "MIT OR Apache-2.0"
    );
}

#[test]
fn cyclonedx_scan_groups_findings_by_vulnerability_and_points_at_components() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let bom = parse(&cyclonedx::scan(&scan_of(&subject, &inventory, &findings), &info()).unwrap());
    let refs: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    let ids: Vec<&str> = vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "CVE-2022-3715",
            "CVE-2023-5678",
            "GHSA-j8r2-6x86-q33q",
            "GO-2023-2102"
        ]
    );
    let openssl_cve = &vulns[1];
    assert_eq!(openssl_cve["affects"].as_array().unwrap().len(), 2);
    for v in vulns {
        for affected in v["affects"].as_array().unwrap() {
            assert!(
                refs.contains(affected["ref"].as_str().unwrap()),
                "{affected}"
            );
        }
    }
    assert_eq!(openssl_cve["ratings"][0]["method"], "CVSSv31");
    assert_eq!(openssl_cve["ratings"][0]["score"], 5.3);
}

#[test]
fn spdx_root_is_the_image_and_contains_every_package() {
    let inventory = inventory();
    let doc = parse(&spdx::sbom(&subject(), &inventory, &info()).unwrap());
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        inventory.packages.len() + 2,
        "image, OS and packages"
    );
    let ids: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), packages.len(), "SPDXIDs are unique");
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(rels[0]["relatedSpdxElement"], "SPDXRef-Image");
    let contained: BTreeSet<&str> = rels[1..]
        .iter()
        .inspect(|r| assert_eq!(r["relationshipType"], "CONTAINS"))
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect();
    assert_eq!(contained.len(), packages.len() - 1);
    assert_eq!(packages[0]["primaryPackagePurpose"], "CONTAINER");
}

#[test]
fn spdx_free_text_licences_become_defined_license_refs() {
    let doc = parse(&spdx::sbom(&subject(), &inventory(), &info()).unwrap());
    let declared = |name: &str| {
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["licenseDeclared"]
            .clone()
    };
    assert_eq!(declared("libssl3"), "Apache-2.0 AND LicenseRef-Artistic");
    assert_eq!(declared("requests"), "LicenseRef-Apache-2.0");
    assert_eq!(declared("smallvec"), "MIT OR Apache-2.0");
    let defined: BTreeSet<&str> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licenseId"].as_str().unwrap())
        .collect();
    assert_eq!(
        defined,
        BTreeSet::from(["LicenseRef-Apache-2.0", "LicenseRef-Artistic"])
    );
}

#[test]
fn summary_counts_severities_fixes_and_suppressions() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let s = Summary::of(&scan_of(&subject, &inventory, &findings));
    assert_eq!(s.findings, 5);
    assert_eq!(s.affected_packages, 5);
    assert_eq!(s.packages, 8);
    assert_eq!(
        (s.by_severity.high, s.by_severity.medium, s.by_severity.low),
        (1, 3, 1)
    );
    assert_eq!(
        (s.fixed, s.not_fixed, s.suppressed, s.warnings),
        (4, 1, 2, 1)
    );
}

#[test]
fn table_colours_severities_only_when_asked() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let scan = scan_of(&subject, &inventory, &findings);
    let plain = table::scan(&scan, false);
    let coloured = table::scan(&scan, true);
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[31mHIGH\x1b[0m"), "{coloured}");
    // Colour adds escapes but moves nothing: stripping them gives the plain table back.
    let mut stripped = String::new();
    let mut chars = coloured.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            stripped.push(c);
        }
    }
    assert_eq!(stripped, plain);
}

#[test]
fn table_neutralises_terminal_escapes_in_advisory_text() {
    let (subject, inventory) = (subject(), inventory());
    let mut findings = findings();
    findings[0].summary = "evil \x1b]0;owned\x07 title\x1b[2J".into();
    let out = table::scan(&scan_of(&subject, &inventory, &findings), false);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("evil  ]0;owned  title [2J"));
}

#[test]
fn sarif_has_one_rule_per_vulnerability_and_levels_by_severity() {
    let (subject, inventory, findings) = (subject(), inventory(), findings());
    let log = parse(&sarif::scan(&scan_of(&subject, &inventory, &findings), &info()).unwrap());
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(
        rule("GO-2023-2102")["properties"]["security-severity"],
        "7.5"
    );
    // No CVSS score: the middle of GitHub's "low" band.
    assert_eq!(
        rule("CVE-2022-3715")["properties"]["security-severity"],
        "2.0"
    );
    let level = |id: &str| {
        results.iter().find(|r| r["ruleId"] == id).unwrap()["level"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(level("GO-2023-2102"), "error");
    assert_eq!(level("CVE-2023-5678"), "warning");
    assert_eq!(level("CVE-2022-3715"), "note");
    let bash = results
        .iter()
        .find(|r| r["ruleId"] == "CVE-2022-3715")
        .unwrap();
    let location = &bash["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/dpkg/status"
    );
    assert_eq!(
        location["logicalLocations"][0]["name"],
        "registry.example.test/team/app:1.0"
    );
}

#[test]
fn generic_sarif_builder_serves_other_checks() {
    let rules = vec![sarif::Rule {
        id: "CUSTOMS-A001".into(),
        name: Some("RunsAsRoot".into()),
        short_description: "The image runs as root".into(),
        help: "Set USER to a non-root user.".into(),
        security_severity: Some(5.0),
        ..sarif::Rule::default()
    }];
    let results = vec![
        sarif::SarifResult {
            rule_id: "CUSTOMS-A001".into(),
            level: Some(sarif::Level::Warning),
            message: "No USER instruction".into(),
            path: Some("/src/My Dockerfile".into()),
            line: Some(12),
            ..sarif::SarifResult::default()
        },
        sarif::SarifResult {
            rule_id: "CUSTOMS-A999".into(),
            message: "undeclared rule".into(),
            ..sarif::SarifResult::default()
        },
    ];
    let out = sarif::build(&sarif::Tool::customs("0.1.0"), &rules, &results).unwrap();
    insta::assert_snapshot!("sarif_generic", out);
    let log = parse(&out);
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
    assert_eq!(run["results"][1]["ruleIndex"], 1);
    let location = &run["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "src/My%20Dockerfile");
    assert_eq!(location["region"]["startLine"], 12);
}

#[test]
fn empty_inventory_renders_everywhere() {
    let outputs = render_all(&Inventory::default(), &[]);
    for out in &outputs[..5] {
        parse(out);
    }
    assert!(outputs[7].contains("No vulnerabilities found."));
}

#[test]
fn sbom_table_names_language_packages_reported_as_os_packages() {
    let subject = customs_report::Subject {
        name: "img".into(),
        ..Default::default()
    };
    let inv = customs_inventory::Inventory {
        suppressed: vec![customs_inventory::Package {
            ecosystem: "PyPI".into(),
            name: "six".into(),
            version: "1.16.0".into(),
            locations: vec!["/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let t = customs_report::table::sbom(&subject, &inv, false);
    assert!(
        t.contains("1 language package reported once, as the OS package"),
        "{t}"
    );
    assert!(
        t.contains(
            "six 1.16.0 (PyPI) /usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"
        ),
        "{t}"
    );
}
