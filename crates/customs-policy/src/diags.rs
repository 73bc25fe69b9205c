//! Every policy violation in one place: its stable id (`POL-VULN-001`), the policy key it
//! enforces, its severity and its message ([`Diag`]), and the description SARIF shows for it
//! ([`CODES`]). Nothing else writes violation text.

use customs_audit::Severity;

/// A violation code's fixed description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// Stable id, `POL-<AREA>-<NNN>`.
    pub id: &'static str,
    /// The policy key it enforces (`vulnerabilities.max_severity`).
    pub rule: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $id:literal, $rule:literal, $title:literal, $help:literal;)*) => {
        $(
            #[doc = $title]
            pub const $konst: Code = Code { id: $id, rule: $rule, title: $title, help: $help };
        )*
        /// Every violation code, in id order.
        pub const CODES: &[Code] = &[$($konst),*];
    };
}

codes! {
    VULN_ABOVE_MAX = "POL-VULN-001", "vulnerabilities.max_severity",
        "A vulnerability is more severe than the policy allows",
        "Upgrade the package to a fixed version, or add the advisory to vulnerabilities.ignore after review.";
    VULN_TOO_MANY = "POL-VULN-002", "vulnerabilities.max_count",
        "More vulnerabilities than the policy allows",
        "Upgrade packages or rebuild on a newer base image.";
    VULN_NOT_SCANNED = "POL-VULN-003", "vulnerabilities",
        "The policy has vulnerability rules but no scan result was given",
        "Run the check with a vulnerability database.";
    VULN_UNKNOWN_SEVERITY = "POL-VULN-004", "vulnerabilities.unknown",
        "A vulnerability has no severity rating, so max_severity cannot clear it",
        "Update the database (customs db update) so the CVE's ratings are there, review the finding, or set vulnerabilities.unknown = \"pass\".";
    VULN_KNOWN_EXPLOITED = "POL-VULN-005", "vulnerabilities.fail_on_kev",
        "A vulnerability is in CISA's Known Exploited Vulnerabilities catalogue",
        "Upgrade the package now: it is exploited in the wild.";
    VULN_EPSS_ABOVE_MAX = "POL-VULN-006", "vulnerabilities.max_epss",
        "A vulnerability's EPSS score is above the policy's maximum",
        "Upgrade the package, or add the advisory to vulnerabilities.ignore after review.";
    SIGNATURE_MISSING = "POL-SIG-001", "signatures.required_keys",
        "No signature verifies with a required key",
        "Sign the image with the matching private key (customs sign --key).";
    ATTESTATION_MISSING = "POL-ATT-001", "attestations.required_types",
        "No attestation of a required type verifies",
        "Attach the attestation (customs attest --key --type) with the policy's key.";
    UNTRUSTED_REGISTRY = "POL-REG-001", "registries.trusted",
        "The image does not come from a trusted registry",
        "Push the image to a trusted registry and check it there.";
    UNTRUSTED_BASE = "POL-REG-002", "registries.base.trusted",
        "The base image does not come from a trusted registry",
        "Build FROM a base image in a trusted registry.";
    BASE_UNKNOWN = "POL-REG-003", "registries.base.required",
        "The image does not name its base image",
        "Set the org.opencontainers.image.base.name annotation when building.";
    TOO_OLD = "POL-AGE-001", "registries.max_age_days",
        "The image is older than the policy allows",
        "Rebuild the image.";
    AGE_UNKNOWN = "POL-AGE-002", "registries.max_age_days",
        "The image's age cannot be told",
        "Record a real creation time in the image config.";
    AUDIT_FINDING = "POL-AUDIT-001", "audit.fail_on",
        "A best-practice audit finding at or above the policy's threshold",
        "Fix the finding, lower its severity in audit.rules, or turn the rule off.";
    AUDIT_NOT_RUN = "POL-AUDIT-002", "audit",
        "The policy enables the audit but no audit result was given",
        "Run the check with the audit enabled.";
}

/// One violation, with the facts its message needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Diag {
    /// A finding above `vulnerabilities.max_severity`.
    VulnAboveMax {
        /// The advisory id.
        id: String,
        /// The package name.
        package: String,
        /// The installed version.
        version: String,
        /// Its severity.
        severity: Severity,
        /// The policy's limit.
        max: Severity,
    },
    /// More findings than `vulnerabilities.max_count`.
    VulnTooMany {
        /// How many findings count.
        count: usize,
        /// The policy's limit.
        max: usize,
        /// The worst severity among them.
        worst: Severity,
    },
    /// The policy has vulnerability rules but no scan result was given.
    VulnNotScanned,
    /// A finding no source rates, with `unknown = "fail"`.
    VulnUnknownSeverity {
        /// The advisory id.
        id: String,
        /// The package name.
        package: String,
        /// The installed version.
        version: String,
    },
    /// A finding in CISA's KEV catalogue, with `fail_on_kev`.
    VulnKnownExploited {
        /// The advisory id.
        id: String,
        /// The package name.
        package: String,
        /// The installed version.
        version: String,
        /// When CISA added it (`YYYY-MM-DD`).
        date_added: String,
    },
    /// A finding whose EPSS score is above `max_epss`.
    VulnEpssAboveMax {
        /// The advisory id.
        id: String,
        /// The package name.
        package: String,
        /// The installed version.
        version: String,
        /// Its EPSS score (0–1).
        epss: f64,
        /// The policy's limit.
        max: f64,
    },
    /// No signature verified with a required key.
    SignatureMissing {
        /// The key file.
        key: String,
        /// Why it is missing, or why the fact is unknown.
        reason: String,
    },
    /// No attestation of a required type verified.
    AttestationMissing {
        /// The attestation type (`slsaprovenance`, …).
        kind: String,
        /// Why it is missing, or why the fact is unknown.
        reason: String,
    },
    /// Registry rules apply but the image was not named by a registry reference.
    NotFromRegistry {
        /// The image as named.
        image: String,
    },
    /// The image comes from a registry outside `registries.trusted`.
    UntrustedRegistry {
        /// `registry/repository` of the image.
        reference: String,
        /// The trusted prefixes.
        trusted: Vec<String>,
    },
    /// The base image is outside `registries.base.trusted`.
    UntrustedBase {
        /// The base image as the image names it.
        base: String,
        /// The trusted prefixes.
        trusted: Vec<String>,
    },
    /// `registries.base.required` is set but the image does not name its base.
    BaseUnknown,
    /// The image is older than `registries.max_age_days`.
    TooOld {
        /// Its age in whole days.
        days: i64,
        /// The policy's limit.
        max: u64,
    },
    /// Age rules apply but the image's age cannot be told.
    AgeUnknown {
        /// Why it is missing, or why the fact is unknown.
        reason: String,
    },
    /// An audit finding at or above `audit.fail_on`.
    AuditFinding {
        /// The audit rule id.
        rule: &'static str,
        /// The finding's severity.
        severity: Severity,
        /// The audit's message.
        message: String,
        /// The policy's threshold.
        fail_on: Severity,
    },
    /// The policy enables the audit but no audit result was given.
    AuditNotRun,
}

impl Diag {
    /// The code this is an instance of.
    pub fn code(&self) -> &'static Code {
        match self {
            Diag::VulnAboveMax { .. } => &VULN_ABOVE_MAX,
            Diag::VulnTooMany { .. } => &VULN_TOO_MANY,
            Diag::VulnNotScanned => &VULN_NOT_SCANNED,
            Diag::VulnUnknownSeverity { .. } => &VULN_UNKNOWN_SEVERITY,
            Diag::VulnKnownExploited { .. } => &VULN_KNOWN_EXPLOITED,
            Diag::VulnEpssAboveMax { .. } => &VULN_EPSS_ABOVE_MAX,
            Diag::SignatureMissing { .. } => &SIGNATURE_MISSING,
            Diag::AttestationMissing { .. } => &ATTESTATION_MISSING,
            Diag::NotFromRegistry { .. } | Diag::UntrustedRegistry { .. } => &UNTRUSTED_REGISTRY,
            Diag::UntrustedBase { .. } => &UNTRUSTED_BASE,
            Diag::BaseUnknown => &BASE_UNKNOWN,
            Diag::TooOld { .. } => &TOO_OLD,
            Diag::AgeUnknown { .. } => &AGE_UNKNOWN,
            Diag::AuditFinding { .. } => &AUDIT_FINDING,
            Diag::AuditNotRun => &AUDIT_NOT_RUN,
        }
    }

    /// How much it matters: a vulnerability's or audit finding's own severity, high for
    /// missing signatures and untrusted sources, medium for age.
    pub fn severity(&self) -> Severity {
        match self {
            Diag::VulnAboveMax { severity, .. } => from_vuln(*severity),
            Diag::VulnTooMany { worst, .. } => from_vuln(*worst),
            Diag::AuditFinding { severity, .. } => *severity,
            Diag::VulnKnownExploited { .. } => Severity::Critical,
            Diag::VulnNotScanned
            | Diag::VulnUnknownSeverity { .. }
            | Diag::VulnEpssAboveMax { .. }
            | Diag::SignatureMissing { .. }
            | Diag::AttestationMissing { .. }
            | Diag::NotFromRegistry { .. }
            | Diag::UntrustedRegistry { .. }
            | Diag::UntrustedBase { .. }
            | Diag::AuditNotRun => Severity::High,
            Diag::BaseUnknown | Diag::TooOld { .. } | Diag::AgeUnknown { .. } => Severity::Medium,
        }
    }

    /// The reason, in one sentence.
    pub fn message(&self) -> String {
        match self {
            Diag::VulnAboveMax {
                id,
                package,
                version,
                severity,
                max,
            } => format!(
                "{id} in {package} {version} is {}, above the allowed {}",
                severity.as_lower(),
                max.as_lower()
            ),
            Diag::VulnUnknownSeverity {
                id,
                package,
                version,
            } => format!("{id} in {package} {version} has no severity rating from any source"),
            Diag::VulnKnownExploited {
                id,
                package,
                version,
                date_added,
            } => format!(
                "{id} in {package} {version} is known to be exploited (CISA KEV, added {date_added})"
            ),
            Diag::VulnEpssAboveMax {
                id,
                package,
                version,
                epss,
                max,
            } => format!(
                "{id} in {package} {version} has an EPSS score of {epss:.3}, above the allowed {max}"
            ),
            Diag::VulnTooMany { count, max, .. } => format!(
                "{count} vulnerabilit{} found, more than the allowed {max}",
                if *count == 1 { "y" } else { "ies" }
            ),
            Diag::VulnNotScanned => "the image was not scanned for vulnerabilities".to_string(),
            Diag::SignatureMissing { key, reason } => {
                format!("no signature verifies with {key}: {reason}")
            }
            Diag::AttestationMissing { kind, reason } => {
                format!("no {kind} attestation verifies: {reason}")
            }
            Diag::NotFromRegistry { image } => format!(
                "{image} is not named by a registry reference, so it comes from no trusted registry"
            ),
            Diag::UntrustedRegistry { reference, trusted } => format!(
                "{reference} is not under a trusted registry ({})",
                list(trusted)
            ),
            Diag::UntrustedBase { base, trusted } => format!(
                "base image {base} is not under a trusted registry ({})",
                list(trusted)
            ),
            Diag::BaseUnknown => {
                "the image has no org.opencontainers.image.base.name annotation".to_string()
            }
            Diag::TooOld { days, max } => {
                format!("the image is {days} days old, older than the allowed {max}")
            }
            Diag::AgeUnknown { reason } => format!("the image's age is unknown: {reason}"),
            Diag::AuditFinding {
                rule,
                severity,
                message,
                fail_on,
            } => format!(
                "{rule} ({}, at or above {}): {message}",
                severity.as_lower(),
                fail_on.as_lower()
            ),
            Diag::AuditNotRun => "the audit did not run".to_string(),
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none is trusted".to_string()
    } else {
        items.join(", ")
    }
}

/// A vulnerability severity on the violation scale; unknown counts as low.
fn from_vuln(s: Severity) -> Severity {
    match s {
        Severity::Unknown | Severity::Info => Severity::Low,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = CODES.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CODES.len());
        for c in CODES {
            assert!(c.id.starts_with("POL-"), "{}", c.id);
            assert!(!c.title.is_empty() && !c.help.is_empty(), "{}", c.id);
        }
    }

    #[test]
    fn messages_carry_the_facts() {
        let d = Diag::VulnAboveMax {
            id: "CVE-2019-1549".into(),
            package: "openssl".into(),
            version: "1.1.1c-r0".into(),
            severity: Severity::High,
            max: Severity::Medium,
        };
        assert_eq!(
            d.message(),
            "CVE-2019-1549 in openssl 1.1.1c-r0 is high, above the allowed medium"
        );
        assert_eq!(d.severity(), Severity::High);
        let d = Diag::UntrustedRegistry {
            reference: "docker.io/library/alpine".into(),
            trusted: vec![],
        };
        assert!(d.message().contains("none is trusted"));
    }
}
