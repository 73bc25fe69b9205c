//! customs-policy is the CI gate's policy: one TOML file ([`Policy`]) that says which
//! vulnerabilities, signatures, attestations, registries, image age and audit findings an
//! image may have, and the evaluation of plain facts about an image against it
//! ([`evaluate`]). It gathers no facts itself: the binary scans, verifies and audits, and
//! fills a [`CheckInput`]. Every violation has a stable id and one message site ([`diags`]).
//!
//! ```
//! use customs_policy::{evaluate, CheckInput, ImageAge, Policy};
//! let policy = Policy::parse(
//!     "[registries]\ntrusted = [\"ghcr.io/acme\"]\n",
//!     "customs.toml",
//!     std::path::Path::new("."),
//! )?;
//! let input = CheckInput {
//!     image: "docker.io/library/alpine:3.20".into(),
//!     reference: Some("docker.io/library/alpine".into()),
//!     ..CheckInput::default()
//! };
//! let violations = evaluate(&policy, &input);
//! assert_eq!(violations[0].id, "POL-REG-001");
//! # Ok::<(), customs_policy::PolicyError>(())
//! ```

#![deny(missing_docs)]

pub mod cfg;
pub mod diags;

use std::path::PathBuf;

use customs_audit::{AuditOptions, AuditReport, Severity};
use customs_vulndb::{Finding, FixStatus};
use serde::Serialize;

pub use cfg::{Policy, PolicyError, RuleSetting};
pub use diags::{Diag, CODES};

/// How old the image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageAge {
    /// Whole days since it was built.
    Days(i64),
    /// Why the age cannot be told.
    Unknown(String),
}

impl Default for ImageAge {
    fn default() -> Self {
        ImageAge::Unknown("not determined".to_string())
    }
}

/// The outcome of verifying one required key's signatures.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyOutcome {
    /// The key, as the policy resolved it.
    pub key: PathBuf,
    /// The verified payloads, or why nothing verified.
    pub result: Result<Vec<String>, String>,
}

/// The outcome of verifying one required attestation type.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationOutcome {
    /// The type as the policy wrote it (`cyclonedx`).
    pub kind: String,
    /// How many statements verified, or why none did.
    pub result: Result<usize, String>,
}

/// Everything known about the image, filled in by the caller. A policy rule whose facts are
/// missing (no scan, no audit, no outcome for a key) is a violation, never a pass.
#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    /// The image as the user named it.
    pub image: String,
    /// `registry/repository` when the image was named by a registry reference.
    pub reference: Option<String>,
    /// `org.opencontainers.image.base.name`, as written.
    pub base_name: Option<String>,
    /// How old the image is, or why that is unknown.
    pub age: ImageAge,
    /// Vulnerability findings after the ignore file and VEX; `None` when not scanned.
    pub findings: Option<Vec<Finding>>,
    /// The audit's report; `None` when it did not run.
    pub audit: Option<AuditReport>,
    /// One outcome per required signature key.
    pub signatures: Vec<KeyOutcome>,
    /// One outcome per required attestation type.
    pub attestations: Vec<AttestationOutcome>,
}

/// One broken policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Stable code (`POL-VULN-001`).
    pub id: &'static str,
    /// The policy key broken (`vulnerabilities.max_severity`).
    pub rule: &'static str,
    /// Why, in one sentence.
    pub reason: String,
    /// How serious the broken rule is (SARIF level).
    pub severity: Severity,
}

impl From<Diag> for Violation {
    fn from(d: Diag) -> Self {
        let code = d.code();
        Violation {
            id: code.id,
            rule: code.rule,
            reason: d.message(),
            severity: d.severity(),
        }
    }
}

/// Every rule of `policy` that `input` breaks, section by section in the file's order:
/// vulnerabilities, signatures, attestations, registries and age, audit.
pub fn evaluate(policy: &Policy, input: &CheckInput) -> Vec<Violation> {
    let mut out: Vec<Diag> = Vec::new();
    if let Some(v) = &policy.vulnerabilities {
        vulnerabilities(v, input, &mut out);
    }
    if let Some(s) = &policy.signatures {
        for key in &s.required_keys {
            let outcome = input.signatures.iter().find(|o| &o.key == key);
            let reason = match outcome.map(|o| &o.result) {
                Some(Ok(payloads)) if !payloads.is_empty() => continue,
                Some(Ok(_)) => "nothing verified".to_string(),
                Some(Err(reason)) => reason.clone(),
                None => "not checked".to_string(),
            };
            out.push(Diag::SignatureMissing {
                key: key.display().to_string(),
                reason,
            });
        }
    }
    if let Some(a) = &policy.attestations {
        for kind in &a.required_types {
            let kind = kind.get_ref();
            let outcome = input.attestations.iter().find(|o| &o.kind == kind);
            let reason = match outcome.map(|o| &o.result) {
                Some(Ok(n)) if *n > 0 => continue,
                Some(Ok(_)) => "nothing verified".to_string(),
                Some(Err(reason)) => reason.clone(),
                None => "not checked".to_string(),
            };
            out.push(Diag::AttestationMissing {
                kind: kind.clone(),
                reason,
            });
        }
    }
    if let Some(r) = &policy.registries {
        registries(r, input, &mut out);
    }
    if let Some(a) = policy.audit.as_ref().filter(|a| a.enabled) {
        match &input.audit {
            None => out.push(Diag::AuditNotRun),
            Some(report) => out.extend(
                report
                    .findings
                    .iter()
                    .filter(|f| f.severity >= a.fail_on)
                    .map(|f| Diag::AuditFinding {
                        rule: f.id,
                        severity: f.severity,
                        message: f.message.clone(),
                        fail_on: a.fail_on,
                    }),
            ),
        }
    }
    out.into_iter().map(Violation::from).collect()
}

fn vulnerabilities(v: &cfg::Vulnerabilities, input: &CheckInput, out: &mut Vec<Diag>) {
    let Some(findings) = &input.findings else {
        out.push(Diag::VulnNotScanned);
        return;
    };
    let counted: Vec<&Finding> = findings
        .iter()
        .filter(|f| !(v.ignore_unfixed && f.fix_status == FixStatus::NotFixed))
        .filter(|f| {
            !v.ignore
                .iter()
                .any(|i| *i == f.id || f.aliases.iter().any(|a| a == i))
        })
        .collect();
    if let Some(max) = v.max_severity {
        if v.unknown == cfg::UnknownRule::Fail {
            for f in counted
                .iter()
                .filter(|f| f.severity == customs_vulndb::Severity::Unknown)
            {
                out.push(Diag::VulnUnknownSeverity {
                    id: f.id.clone(),
                    package: f.package.name.clone(),
                    version: f.package.version.clone(),
                });
            }
        }
        for f in counted.iter().filter(|f| f.severity > max) {
            out.push(Diag::VulnAboveMax {
                id: f.id.clone(),
                package: f.package.name.clone(),
                version: f.package.version.clone(),
                severity: f.severity,
                max,
            });
        }
    }
    if v.fail_on_kev {
        for f in counted.iter() {
            if let Some(k) = &f.kev {
                out.push(Diag::VulnKnownExploited {
                    id: f.id.clone(),
                    package: f.package.name.clone(),
                    version: f.package.version.clone(),
                    date_added: k.date_added.clone(),
                });
            }
        }
    }
    if let Some(max) = v.max_epss {
        for f in counted.iter() {
            if let Some(e) = f.epss.as_ref().filter(|e| e.score > max) {
                out.push(Diag::VulnEpssAboveMax {
                    id: f.id.clone(),
                    package: f.package.name.clone(),
                    version: f.package.version.clone(),
                    epss: e.score,
                    max,
                });
            }
        }
    }
    if let Some(max) = v.max_count.filter(|max| counted.len() > *max) {
        out.push(Diag::VulnTooMany {
            count: counted.len(),
            max,
            worst: counted
                .iter()
                .map(|f| f.severity)
                .max()
                .unwrap_or(customs_vulndb::Severity::Unknown),
        });
    }
}

fn registries(r: &cfg::Registries, input: &CheckInput, out: &mut Vec<Diag>) {
    if let Some(trusted) = &r.trusted {
        match &input.reference {
            None => out.push(Diag::NotFromRegistry {
                image: input.image.clone(),
            }),
            Some(reference) if !is_trusted(reference, trusted) => {
                out.push(Diag::UntrustedRegistry {
                    reference: reference.clone(),
                    trusted: trusted.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if let Some(base) = &r.base {
        match &input.base_name {
            None if base.required => out.push(Diag::BaseUnknown),
            Some(name) if !is_trusted(&normalise(name), &base.trusted) => {
                out.push(Diag::UntrustedBase {
                    base: name.clone(),
                    trusted: base.trusted.clone(),
                })
            }
            None | Some(_) => {}
        }
    }
    if let Some(max) = r.max_age_days {
        match &input.age {
            ImageAge::Days(days) if *days > max as i64 => {
                out.push(Diag::TooOld { days: *days, max })
            }
            ImageAge::Days(_) => {}
            ImageAge::Unknown(reason) => out.push(Diag::AgeUnknown {
                reason: reason.clone(),
            }),
        }
    }
}

/// `registry/repository` of a reference written by hand (`alpine:3.20` becomes
/// `docker.io/library/alpine`); unparsable text stays as written.
/// How many unrated findings `max_severity` let through because the policy says
/// `unknown = "pass"`: the binary prints this count, so the pass is never silent.
pub fn unknown_passed(policy: &Policy, findings: &[Finding]) -> usize {
    let Some(v) = &policy.vulnerabilities else {
        return 0;
    };
    if v.max_severity.is_none() || v.unknown != cfg::UnknownRule::Pass {
        return 0;
    }
    findings
        .iter()
        .filter(|f| f.severity == customs_vulndb::Severity::Unknown)
        .filter(|f| !(v.ignore_unfixed && f.fix_status == FixStatus::NotFixed))
        .filter(|f| {
            !v.ignore
                .iter()
                .any(|i| *i == f.id || f.aliases.iter().any(|a| a == i))
        })
        .count()
}

/// `registry/repository` of an image reference (Docker Hub's defaults filled in); the text as
/// given when it does not parse.
pub fn normalise(reference: &str) -> String {
    match customs_image::Reference::parse(reference) {
        Ok(r) => format!("{}/{}", r.registry, r.repository),
        Err(_) => reference.to_string(),
    }
}

/// Whether `reference` (`registry/repository`) is one of `trusted` or under one of them at a
/// `/` boundary: `ghcr.io/acme` trusts `ghcr.io/acme/app`, not `ghcr.io/acme-evil/app`.
/// Entries are compared after the same normalisation (`docker.io` for Docker Hub).
pub fn is_trusted(reference: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|t| {
        let t = t.trim().trim_end_matches('/');
        let (host, path) = t.split_once('/').map_or((t, None), |(h, p)| (h, Some(p)));
        let host = if host == "index.docker.io" || host == "registry-1.docker.io" {
            "docker.io"
        } else {
            host
        };
        let t = match path {
            Some(p) => format!("{host}/{p}"),
            None => host.to_string(),
        };
        !t.is_empty()
            && reference
                .strip_prefix(t.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The audit to run for `policy`, or `None` when it has no enabled `[audit]`. Rule settings
/// become enabled/disabled sets and severity overrides. When `registries.max_age_days` is set
/// the policy owns the age check, so the audit's `CUS-FRESH-001` is off unless `rules` names
/// it; the audit's base-registry rule never fires (`registries.base` owns that).
pub fn audit_options(policy: &Policy, now: Option<i64>) -> Option<AuditOptions> {
    let a = policy.audit.as_ref().filter(|a| a.enabled)?;
    let mut opts = AuditOptions {
        now,
        ..AuditOptions::default()
    };
    if let Some(max) = policy.registries.as_ref().and_then(|r| r.max_age_days) {
        opts.max_age_days = max;
        if !a.rules.keys().any(|k| k.get_ref() == "CUS-FRESH-001") {
            opts.disabled.insert("CUS-FRESH-001".to_string());
        }
    }
    for (id, setting) in &a.rules {
        let id = id.get_ref().clone();
        match setting {
            RuleSetting::Off => {
                opts.disabled.insert(id);
            }
            RuleSetting::On => {}
            RuleSetting::Severity(s) => {
                opts.severity_overrides.insert(id, *s);
            }
        }
    }
    Some(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_by_host_or_repository_prefix_at_a_slash() {
        let t = vec![
            "ghcr.io/acme".to_string(),
            "registry.example.com/".to_string(),
        ];
        assert!(is_trusted("ghcr.io/acme/app", &t));
        assert!(is_trusted("ghcr.io/acme", &t));
        assert!(!is_trusted("ghcr.io/acme-evil/app", &t));
        assert!(is_trusted("registry.example.com/x/y", &t));
        assert!(!is_trusted("registry.example.com.evil.io/x", &t));
        assert!(!is_trusted("anything", &[]));
        assert!(!is_trusted("ghcr.io/x", &[String::new()]));
    }

    #[test]
    fn docker_hub_short_names_normalise() {
        assert_eq!(normalise("alpine:3.20"), "docker.io/library/alpine");
        assert!(is_trusted(
            &normalise("alpine"),
            &["index.docker.io/library".to_string()]
        ));
    }
}
