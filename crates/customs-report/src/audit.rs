//! Output of an [`AuditReport`]: a plain-text table, the JSON document described in
//! `docs/audit.md`, and SARIF 2.1.0.

use std::fmt::Write as _;

use crate::sarif::{self, Level, LogicalLocation, Rule, SarifResult, Tool};
use sha2::{Digest as _, Sha256};

use customs_audit::rules::RULES;
use customs_audit::{AuditReport, Severity};

use crate::ReportError;

/// Pretty JSON with a trailing newline; the schema is `docs/audit.md`.
pub fn json(report: &AuditReport) -> Result<String, ReportError> {
    let mut s = serde_json::to_string_pretty(report).map_err(|source| ReportError::Serialise {
        format: "audit JSON",
        source,
    })?;
    s.push('\n');
    Ok(s)
}
/// A table for terminals: one line per finding, then a summary.
pub fn table(report: &AuditReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.image.name);
    if let Some(os) = &report.image.os {
        let _ = writeln!(out, "OS: {} {}", os.family, os.version);
    }
    let _ = writeln!(
        out,
        "Layers: {}, efficiency {:.1}%, wasted {} bytes",
        report.layers.count,
        report.layers.efficiency * 100.0,
        report.layers.wasted_bytes
    );
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("No findings.\n");
        return out;
    }
    let id_w = report
        .findings
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{:<8}  {:<id_w$}  MESSAGE", "SEVERITY", "ID");
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{:<8}  {:<id_w$}  {}",
            f.severity.as_str(),
            f.id,
            f.message
        );
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        out,
        "\n{} findings: {} critical, {} high, {} medium, {} low, {} info",
        report.findings.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        count(Severity::Info)
    );
    out
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info | Severity::Unknown => Level::Note,
    }
}

fn security_severity(s: Severity) -> f64 {
    match s {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 3.0,
        Severity::Info | Severity::Unknown => 0.0,
    }
}

/// SARIF 2.1.0 through [`customs_report::sarif::build`]: every rule, and one result per
/// finding located at its path inside the image, with the image as a logical location.
pub fn sarif(report: &AuditReport, tool_version: &str) -> Result<String, ReportError> {
    let rules: Vec<Rule> = RULES
        .iter()
        .map(|r| Rule {
            id: r.id.to_string(),
            name: Some(r.name.to_string()),
            short_description: r.title.to_string(),
            full_description: None,
            help: r.fix.to_string(),
            help_uri: None,
            security_severity: Some(security_severity(r.severity)),
            tags: vec![
                "security".into(),
                "audit".into(),
                format!("{:?}", r.family).to_lowercase(),
            ],
        })
        .collect();
    let image = LogicalLocation {
        name: report.image.name.clone(),
        fully_qualified_name: Some(format!(
            "{}@{}",
            report.image.name, report.image.manifest_digest
        )),
        kind: Some("resource".into()),
    };
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            let mut h = Sha256::new();
            h.update(f.id.as_bytes());
            h.update([0]);
            h.update(f.message.as_bytes());
            h.update([0]);
            h.update(f.evidence.layer.as_deref().unwrap_or("").as_bytes());
            let mut logical = vec![image.clone()];
            if let Some(k) = &f.evidence.config_key {
                logical.push(LogicalLocation {
                    name: k.clone(),
                    fully_qualified_name: None,
                    kind: Some("object".into()),
                });
            }
            SarifResult {
                rule_id: f.id.to_string(),
                level: Some(level(f.severity)),
                message: f.message.clone(),
                path: f.evidence.path.clone(),
                line: None,
                logical_locations: logical,
                fingerprint: Some(hex::encode(&h.finalize()[..16])),
            }
        })
        .collect();
    sarif::build(&Tool::customs(tool_version), &rules, &results)
}
