//! Every policy rule evaluated against hand-built facts, once violated and once passing.

use std::path::{Path, PathBuf};

use customs_audit::{Age, AuditReport, Evidence, Finding as AuditFinding, ImageInfo, LayerStats};
use customs_inventory::Package;
use customs_policy::{
    audit_options, evaluate, AttestationOutcome, CheckInput, ImageAge, KeyOutcome, Policy,
    Violation,
};
use customs_vulndb::{Finding, FixStatus, Severity, SeveritySource};

fn policy(text: &str) -> Policy {
    Policy::parse(text, "test.toml", Path::new("/p")).unwrap()
}

fn ids(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|v| v.id).collect()
}

fn finding(id: &str, severity: Severity, fix: FixStatus) -> Finding {
    Finding {
        id: id.to_string(),
        aliases: vec![format!("ALIAS-{id}")],
        package: Package {
            ecosystem: "Alpine".into(),
            name: "openssl".into(),
            version: "1.1.1c-r0".into(),
            ..Package::default()
        },
        severity,
        severity_source: SeveritySource {
            source: String::new(),
            kind: "none".into(),
            vector: None,
            score: None,
        },
        fix_status: fix,
        fixed_versions: vec![],
        summary: String::new(),
        source: "test".into(),
        references: vec![],
        ratings: Vec::new(),
        kev: None,
        epss: None,
    }
}

fn scanned(findings: Vec<Finding>) -> CheckInput {
    CheckInput {
        image: "img".into(),
        findings: Some(findings),
        ..CheckInput::default()
    }
}

#[test]
fn finding_above_max_severity_violates_and_names_it() {
    let p = policy("[vulnerabilities]\nmax_severity = \"medium\"\n");
    let input = scanned(vec![
        finding("CVE-1", Severity::High, FixStatus::Fixed),
        finding("CVE-2", Severity::Medium, FixStatus::Fixed),
    ]);
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-VULN-001"]);
    assert_eq!(v[0].rule, "vulnerabilities.max_severity");
    assert_eq!(
        v[0].reason,
        "CVE-1 in openssl 1.1.1c-r0 is high, above the allowed medium"
    );
    assert_eq!(v[0].severity, customs_audit::Severity::High);
}

#[test]
fn findings_at_or_below_max_severity_pass() {
    let p = policy("[vulnerabilities]\nmax_severity = \"high\"\n");
    let input = scanned(vec![finding("CVE-1", Severity::High, FixStatus::Fixed)]);
    assert!(evaluate(&p, &input).is_empty());
}

#[test]
fn max_count_counts_after_ignores_and_unfixed() {
    let findings = vec![
        finding("CVE-1", Severity::Low, FixStatus::Fixed),
        finding("CVE-2", Severity::Critical, FixStatus::NotFixed),
        finding("CVE-3", Severity::Low, FixStatus::Fixed),
    ];
    let strict = policy("[vulnerabilities]\nmax_count = 1\n");
    let v = evaluate(&strict, &scanned(findings.clone()));
    assert_eq!(ids(&v), ["POL-VULN-002"]);
    assert_eq!(
        v[0].reason,
        "3 vulnerabilities found, more than the allowed 1"
    );
    assert_eq!(v[0].severity, customs_audit::Severity::Critical);

    // CVE-2 is unfixed and CVE-3 ignored by its alias: one remains.
    let lenient = policy(
        "[vulnerabilities]\nmax_count = 1\nmax_severity = \"low\"\nignore_unfixed = true\nignore = [\"ALIAS-CVE-3\"]\n",
    );
    assert!(evaluate(&lenient, &scanned(findings)).is_empty());
}

#[test]
fn unknown_severity_fails_max_severity_by_default_and_passes_only_when_told() {
    let findings = vec![
        finding("CVE-1", Severity::Unknown, FixStatus::Fixed),
        finding("CVE-2", Severity::Low, FixStatus::Fixed),
    ];
    let strict = policy("[vulnerabilities]\nmax_severity = \"high\"\n");
    let v = evaluate(&strict, &scanned(findings.clone()));
    assert_eq!(ids(&v), ["POL-VULN-004"]);
    assert_eq!(
        v[0].reason,
        "CVE-1 in openssl 1.1.1c-r0 has no severity rating from any source"
    );
    assert_eq!(customs_policy::unknown_passed(&strict, &findings), 0);
    let lenient = policy("[vulnerabilities]\nmax_severity = \"high\"\nunknown = \"pass\"\n");
    assert!(evaluate(&lenient, &scanned(findings.clone())).is_empty());
    // Let through, but counted for the warning the binary prints.
    assert_eq!(customs_policy::unknown_passed(&lenient, &findings), 1);
    // No max_severity: no severity gate, no unknown gate.
    let none = policy("[vulnerabilities]\nmax_count = 5\n");
    assert!(evaluate(&none, &scanned(findings)).is_empty());
}

#[test]
fn kev_and_epss_gates() {
    let mut exploited = finding("CVE-2020-11651", Severity::Critical, FixStatus::Fixed);
    exploited.kev = Some(customs_vulndb::Kev {
        date_added: "2021-11-03".into(),
        due_date: "2022-05-03".into(),
        ransomware: false,
    });
    exploited.epss = Some(customs_vulndb::Epss {
        score: 0.96614,
        percentile: 0.9988,
        date: None,
    });
    let mut quiet = finding("CVE-2", Severity::Low, FixStatus::Fixed);
    quiet.epss = Some(customs_vulndb::Epss {
        score: 0.0004,
        percentile: 0.1,
        date: None,
    });
    let input = scanned(vec![exploited, quiet]);
    let v = evaluate(&policy("[vulnerabilities]\nfail_on_kev = true\n"), &input);
    assert_eq!(ids(&v), ["POL-VULN-005"]);
    assert!(v[0].reason.contains("CISA KEV, added 2021-11-03"));
    assert_eq!(v[0].severity, customs_audit::Severity::Critical);
    let v = evaluate(&policy("[vulnerabilities]\nmax_epss = 0.5\n"), &input);
    assert_eq!(ids(&v), ["POL-VULN-006"]);
    assert!(v[0].reason.contains("CVE-2020-11651"));
    assert!(evaluate(&policy("[vulnerabilities]\nmax_epss = 0.99\n"), &input).is_empty());
    assert!(evaluate(&policy("[vulnerabilities]\nfail_on_kev = false\n"), &input).is_empty());
    // A percentage where a probability belongs is refused, not read as "allow everything".
    let err = Policy::parse(
        "[vulnerabilities]\nmax_epss = 50\n",
        "t.toml",
        Path::new("/p"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("0.5, not 50"), "{err}");
}

#[test]
fn ignored_ids_do_not_break_max_severity() {
    let p = policy("[vulnerabilities]\nmax_severity = \"low\"\nignore = [\"CVE-9\"]\n");
    let input = scanned(vec![finding("CVE-9", Severity::Critical, FixStatus::Fixed)]);
    assert!(evaluate(&p, &input).is_empty());
}

#[test]
fn vulnerability_rules_without_a_scan_violate() {
    let p = policy("[vulnerabilities]\nmax_count = 10\n");
    let v = evaluate(&p, &CheckInput::default());
    assert_eq!(ids(&v), ["POL-VULN-003"]);
}

#[test]
fn each_required_key_must_verify() {
    let p = policy("[signatures]\nrequired_keys = [\"a.pub\", \"b.pub\", \"c.pub\"]\n");
    let input = CheckInput {
        signatures: vec![
            KeyOutcome {
                key: PathBuf::from("/p/a.pub"),
                result: Ok(vec!["{}".into()]),
            },
            KeyOutcome {
                key: PathBuf::from("/p/b.pub"),
                result: Err("no signatures found for img@sha256:00".into()),
            },
        ],
        ..CheckInput::default()
    };
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-SIG-001", "POL-SIG-001"]);
    assert_eq!(
        v[0].reason,
        "no signature verifies with /p/b.pub: no signatures found for img@sha256:00"
    );
    assert_eq!(
        v[1].reason,
        "no signature verifies with /p/c.pub: not checked"
    );
}

#[test]
fn verified_keys_pass() {
    let p = policy("[signatures]\nrequired_keys = [\"a.pub\"]\n");
    let input = CheckInput {
        signatures: vec![KeyOutcome {
            key: PathBuf::from("/p/a.pub"),
            result: Ok(vec!["{}".into()]),
        }],
        ..CheckInput::default()
    };
    assert!(evaluate(&p, &input).is_empty());
}

#[test]
fn each_required_attestation_type_must_verify() {
    let p = policy(
        "[attestations]\nkey = \"k.pub\"\nrequired_types = [\"cyclonedx\", \"slsaprovenance1\"]\n",
    );
    let input = CheckInput {
        attestations: vec![
            AttestationOutcome {
                kind: "cyclonedx".into(),
                result: Ok(1),
            },
            AttestationOutcome {
                kind: "slsaprovenance1".into(),
                result: Err("no attestations found".into()),
            },
        ],
        ..CheckInput::default()
    };
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-ATT-001"]);
    assert_eq!(
        v[0].reason,
        "no slsaprovenance1 attestation verifies: no attestations found"
    );
    let mut all_ok = input.clone();
    all_ok.attestations[1].result = Ok(2);
    assert!(evaluate(&p, &all_ok).is_empty());
}

#[test]
fn image_must_come_from_a_trusted_registry() {
    let p = policy("[registries]\ntrusted = [\"ghcr.io/acme\"]\n");
    let mut input = CheckInput {
        image: "ghcr.io/acme-evil/app:1".into(),
        reference: Some("ghcr.io/acme-evil/app".into()),
        ..CheckInput::default()
    };
    assert_eq!(ids(&evaluate(&p, &input)), ["POL-REG-001"]);
    input.reference = Some("ghcr.io/acme/app".into());
    assert!(evaluate(&p, &input).is_empty());
    input.reference = None;
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-REG-001"]);
    assert!(
        v[0].reason.contains("not named by a registry reference"),
        "{}",
        v[0].reason
    );
}

#[test]
fn base_image_must_come_from_a_trusted_registry() {
    let p = policy("[registries.base]\ntrusted = [\"docker.io/library\"]\n");
    let mut input = CheckInput {
        base_name: Some("quay.io/evil/alpine:3".into()),
        ..CheckInput::default()
    };
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-REG-002"]);
    assert!(
        v[0].reason.contains("quay.io/evil/alpine:3"),
        "{}",
        v[0].reason
    );
    // A Docker Hub short name normalises into docker.io/library.
    input.base_name = Some("alpine:3.20".into());
    assert!(evaluate(&p, &input).is_empty());
    // Not naming a base passes unless the policy requires it.
    input.base_name = None;
    assert!(evaluate(&p, &input).is_empty());
    let required = policy("[registries.base]\ntrusted = []\nrequired = true\n");
    assert_eq!(ids(&evaluate(&required, &input)), ["POL-REG-003"]);
}

#[test]
fn image_older_than_max_age_violates_and_unknown_age_too() {
    let p = policy("[registries]\nmax_age_days = 30\n");
    let mut input = CheckInput {
        age: ImageAge::Days(31),
        ..CheckInput::default()
    };
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-AGE-001"]);
    assert_eq!(
        v[0].reason,
        "the image is 31 days old, older than the allowed 30"
    );
    input.age = ImageAge::Days(30);
    assert!(evaluate(&p, &input).is_empty());
    input.age = ImageAge::Unknown("no timestamp".into());
    assert_eq!(ids(&evaluate(&p, &input)), ["POL-AGE-002"]);
}

fn audit_report(findings: Vec<AuditFinding>) -> AuditReport {
    AuditReport {
        schema_version: customs_audit::SCHEMA_VERSION,
        image: ImageInfo {
            name: "img".into(),
            manifest_digest: String::new(),
            config_digest: String::new(),
            os: None,
            user: String::new(),
        },
        findings,
        layers: LayerStats {
            count: 0,
            total_bytes: 0,
            wasted_bytes: 0,
            efficiency: 1.0,
            layers: vec![],
            waste: vec![],
        },
        age: Age {
            created: None,
            days: None,
            unknown_reason: None,
        },
        base: None,
        warnings: vec![],
    }
}

fn audit_finding(id: &'static str, severity: customs_audit::Severity) -> AuditFinding {
    AuditFinding {
        id,
        severity,
        title: "t",
        evidence: Evidence::default(),
        message: format!("{id} fired"),
        fix: "f",
    }
}

#[test]
fn audit_findings_at_or_above_fail_on_violate() {
    use customs_audit::Severity as A;
    let p = policy("[audit]\nfail_on = \"medium\"\n");
    let input = CheckInput {
        audit: Some(audit_report(vec![
            audit_finding("CUS-PRIV-001", A::High),
            audit_finding("CUS-PRIV-003", A::Medium),
            audit_finding("CUS-PRIV-007", A::Info),
        ])),
        ..CheckInput::default()
    };
    let v = evaluate(&p, &input);
    assert_eq!(ids(&v), ["POL-AUDIT-001", "POL-AUDIT-001"]);
    assert_eq!(
        v[0].reason,
        "CUS-PRIV-001 (high, at or above medium): CUS-PRIV-001 fired"
    );
    let strict_high = policy("[audit]\nfail_on = \"critical\"\n");
    assert!(evaluate(&strict_high, &input).is_empty());
}

#[test]
fn enabled_audit_without_a_report_violates_and_disabled_audit_is_ignored() {
    let on = policy("[audit]\n");
    assert_eq!(
        ids(&evaluate(&on, &CheckInput::default())),
        ["POL-AUDIT-002"]
    );
    let off = policy("[audit]\nenabled = false\n");
    assert!(evaluate(&off, &CheckInput::default()).is_empty());
    assert!(audit_options(&off, None).is_none());
}

#[test]
fn audit_rule_settings_become_audit_options() {
    use customs_audit::Severity as A;
    let p = policy(
        "[registries]\nmax_age_days = 10\n[audit]\nrules = { \"CUS-PRIV-001\" = \"critical\", \"CUS-FRESH-005\" = \"off\", \"CUS-PRIV-007\" = \"on\" }\n",
    );
    let o = audit_options(&p, Some(42)).unwrap();
    assert_eq!(o.now, Some(42));
    assert_eq!(o.max_age_days, 10);
    assert!(!o.is_enabled("CUS-FRESH-005"));
    // The policy's age rule owns the age check.
    assert!(!o.is_enabled("CUS-FRESH-001"));
    assert!(o.is_enabled("CUS-PRIV-007"));
    assert_eq!(o.severity("CUS-PRIV-001", A::High), A::Critical);
    assert!(o.validate().is_ok());
    // Naming CUS-FRESH-001 keeps it.
    let p = policy(
        "[registries]\nmax_age_days = 10\n[audit]\nrules = { \"CUS-FRESH-001\" = \"high\" }\n",
    );
    assert!(audit_options(&p, None).unwrap().is_enabled("CUS-FRESH-001"));
}

#[test]
fn an_empty_policy_passes_anything() {
    let input = scanned(vec![finding(
        "CVE-1",
        Severity::Critical,
        FixStatus::NotFixed,
    )]);
    assert!(evaluate(&Policy::default(), &input).is_empty());
}

#[test]
fn documented_example_policy_parses_with_every_section() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/customs.example.toml"
    ));
    let p = Policy::load(path).unwrap();
    let keys = &p.signatures.as_ref().unwrap().required_keys;
    assert!(keys[0].ends_with("docs/keys/release.pub"), "{keys:?}");
    assert!(p.vulnerabilities.is_some() && p.attestations.is_some());
    assert!(p.registries.as_ref().unwrap().base.is_some());
    assert!(audit_options(&p, None).unwrap().validate().is_ok());
}
