//! Renderers take strings that came from untrusted images and advisories: whatever they hold,
//! every format renders without panicking, JSON outputs stay JSON, and tables stay free of
//! terminal control characters.

use customs_inventory::{Inventory, OsInfo, Package, Warning};
use customs_report::{cyclonedx, json, sarif, spdx, table, DocumentInfo, Scan, Subject, Timestamp};
use customs_vulndb::{Finding, FixStatus, Severity, SeveritySource};
use proptest::prelude::*;

fn package(fields: &[String]) -> Package {
    Package {
        ecosystem: fields[0].clone().into(),
        name: fields[1].clone(),
        version: fields[2].clone(),
        // Arbitrary text in every purl component.
        purl: customs_inventory::Purl::new(
            "npm",
            Some(&fields[3]),
            &fields[1],
            &fields[2],
            &[("k", &fields[4])],
        ),
        licenses: vec![fields[4].clone(), fields[5].clone()],
        source_name: Some(fields[6].clone()),
        found_by: fields[7].clone(),
        locations: vec![fields[8].clone()],
        layer: Some(fields[9].clone()),
        ..Package::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_strings_render_in_every_format(
        fields in proptest::collection::vec(any::<String>(), 12),
        score in proptest::option::of(any::<f64>()),
        seconds in any::<u64>(),
    ) {
        let subject = Subject {
            name: fields[10].clone(),
            manifest_digest: fields[11].clone(),
            ..Subject::default()
        };
        let inventory = Inventory {
            os: Some(OsInfo { family: fields[0].clone(), version: fields[1].clone(), ..OsInfo::default() }),
            packages: vec![package(&fields), package(&fields)],
            suppressed: Vec::new(),
            warnings: vec![Warning { path: fields[2].clone(), layer: None, message: fields[3].clone() }],
            damaged: Vec::new(),
        };
        let finding = Finding {
            id: fields[4].clone(),
            aliases: vec![fields[5].clone()],
            package: package(&fields),
            severity: Severity::High,
            severity_source: SeveritySource { source: String::new(), kind: fields[6].clone(), vector: Some(fields[7].clone()), score },
            fix_status: FixStatus::Fixed,
            fixed_versions: Vec::new(),
            summary: fields[8].clone(),
            source: fields[9].clone(),
            references: vec![fields[10].clone()],
            ratings: Vec::new(),
            kev: None,
            epss: None,
        };
        let findings = [finding];
        let created = Timestamp::from_unix_seconds(seconds).unwrap_or_else(|_| Timestamp::now());
        let info = DocumentInfo::new("0.1.0", created);
        let scan = Scan { subject: &subject, inventory: &inventory, findings: &findings, suppressed: 1 };
        for out in [
            cyclonedx::sbom(&subject, &inventory, &info).unwrap(),
            cyclonedx::scan(&scan, &info).unwrap(),
            spdx::sbom(&subject, &inventory, &info).unwrap(),
            json::sbom(&subject, &inventory, &info).unwrap(),
            json::scan(&scan, &info).unwrap(),
            sarif::scan(&scan, &info).unwrap(),
        ] {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        }
        for out in [table::sbom(&subject, &inventory, false), table::scan(&scan, false)] {
            prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        }
    }
}
