//! `customs check`'s verdict as a table, JSON (`schema_version` 1) or SARIF 2.1.0, rendered
//! from customs-policy's plain violations (the policy crate renders nothing).

use customs_audit::Severity;
use customs_policy::{Violation, CODES};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sarif::{self, Level, LogicalLocation, Rule, SarifResult, Tool};

/// Version of the JSON output's schema (`docs/policy.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// What was checked against which policy, and what broke.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image as named.
    pub image: &'a str,
    /// Its manifest digest, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<&'a str>,
    /// The policy file.
    pub policy: &'a str,
    /// Whether no rule broke.
    pub passed: bool,
    /// Every rule that broke, in evaluation order.
    pub violations: &'a [Violation],
}

impl<'a> Outcome<'a> {
    /// The outcome of checking `image` against `policy`.
    pub fn new(
        image: &'a str,
        digest: Option<&'a str>,
        policy: &'a str,
        violations: &'a [Violation],
    ) -> Self {
        Outcome {
            schema_version: SCHEMA_VERSION,
            image,
            digest,
            policy,
            passed: violations.is_empty(),
            violations,
        }
    }
}

/// One line per violation, then a summary line.
pub fn table(outcome: &Outcome) -> String {
    let mut out = format!("Policy {} for {}\n", outcome.policy, outcome.image);
    for v in outcome.violations {
        out.push_str(&format!(
            "  FAIL {:<13} {:<8} {}: {}\n",
            v.id,
            v.severity.as_str().to_string(),
            v.rule,
            v.reason
        ));
    }
    if outcome.passed {
        out.push_str("PASS: no policy rule was violated\n");
    } else {
        out.push_str(&format!(
            "FAIL: {} violation{}\n",
            outcome.violations.len(),
            if outcome.violations.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    out
}

/// The outcome as pretty JSON.
pub fn json(outcome: &Outcome) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(outcome)
}

/// The outcome as SARIF: every violation code is a rule, every violation a result located at
/// the image.
pub fn sarif(outcome: &Outcome, tool_version: &str) -> Result<String, crate::ReportError> {
    let rules: Vec<Rule> = CODES
        .iter()
        .map(|c| Rule {
            id: c.id.to_string(),
            name: Some(c.rule.to_string()),
            short_description: c.title.to_string(),
            help: c.help.to_string(),
            tags: vec!["security".to_string(), "policy".to_string()],
            ..Rule::default()
        })
        .collect();
    let location = LogicalLocation {
        name: outcome.image.to_string(),
        fully_qualified_name: outcome.digest.map(|d| format!("{}@{d}", outcome.image)),
        kind: Some("resource".to_string()),
    };
    let results: Vec<SarifResult> = outcome
        .violations
        .iter()
        .map(|v| SarifResult {
            rule_id: v.id.to_string(),
            level: Some(level(v.severity)),
            message: v.reason.clone(),
            logical_locations: vec![location.clone()],
            fingerprint: Some(fingerprint(outcome.image, v)),
            ..SarifResult::default()
        })
        .collect();
    sarif::build(&Tool::customs(tool_version), &rules, &results)
}

/// A stable hash of the image, the code and the reason, so a code-scanning tool tracks one
/// violation across runs.
fn fingerprint(image: &str, v: &Violation) -> String {
    let mut hash = Sha256::new();
    for part in [image, v.id, &v.reason] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info | Severity::Unknown => Level::Note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations() -> Vec<Violation> {
        vec![Violation {
            id: "POL-REG-001",
            rule: "registries.trusted",
            reason: "docker.io/library/alpine is not under a trusted registry (ghcr.io/acme)"
                .to_string(),
            severity: Severity::High,
        }]
    }

    #[test]
    fn table_lists_each_violation_and_the_verdict() {
        let v = violations();
        let text = table(&Outcome::new("alpine", None, "customs.toml", &v));
        assert!(text.contains("POL-REG-001"), "{text}");
        assert!(
            text.contains("registries.trusted: docker.io/library/alpine"),
            "{text}"
        );
        assert!(text.ends_with("FAIL: 1 violation\n"), "{text}");
        let text = table(&Outcome::new("alpine", None, "customs.toml", &[]));
        assert!(
            text.ends_with("PASS: no policy rule was violated\n"),
            "{text}"
        );
    }

    #[test]
    fn json_says_whether_it_passed() {
        let v = violations();
        let j: serde_json::Value = serde_json::from_str(
            &json(&Outcome::new("alpine", Some("sha256:ab"), "p", &v)).unwrap(),
        )
        .unwrap();
        assert_eq!(j["passed"], false);
        assert_eq!(j["violations"][0]["id"], "POL-REG-001");
        assert_eq!(j["violations"][0]["severity"], "HIGH");
        assert_eq!(j["digest"], "sha256:ab");
    }

    #[test]
    fn sarif_results_point_at_their_rules() {
        let v = violations();
        let s: serde_json::Value = serde_json::from_str(
            &sarif(&Outcome::new("alpine", Some("sha256:ab"), "p", &v), "0.1.0").unwrap(),
        )
        .unwrap();
        let run = &s["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), CODES.len());
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "POL-REG-001");
        assert_eq!(result["level"], "error");
        let idx = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], "POL-REG-001");
    }
}
