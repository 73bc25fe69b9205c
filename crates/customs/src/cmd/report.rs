//! `customs report IMAGE -o report.html`: one self-contained HTML page for a person: the
//! image's identity and verdict, its findings (scan), what each layer brings and wastes
//! (audit's layer statistics), its packages, the audit findings, and with `--diff-from OLD`
//! what changed since another image. Rendering is customs-report's `html`; this file gathers
//! the facts the way `customs scan` and `customs audit` do.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use customs_audit::{redact, AuditOptions};
use customs_report::html::{self, AuditItem, LayerView};
use customs_report::Scan;
use customs_vulndb::Severity;

use crate::cmd::audit::inventory_and_audit;
use crate::cmd::diff;
use crate::cmd::format::ReportFormat;
use crate::cmd::image_args::ImageArgs;
use crate::cmd::sbom;
use crate::cmd::vuln_args::{parse_severity, VulnArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub image: String,
    /// Output format: one self-contained HTML page.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write the HTML page to FILE (standard output when not given).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also show what changed since this (older) image.
    #[arg(long, value_name = "IMAGE")]
    pub diff_from: Option<String>,
    /// The verdict fails on a finding at or above this severity (and on any KEV finding).
    #[arg(long, value_name = "SEVERITY", default_value = "HIGH", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Leave out the best-practice audit (and with it the wasted-bytes figures).
    #[arg(long)]
    pub no_audit: bool,
    #[command(flatten)]
    pub vuln: VulnArgs,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// The config facts the identity section lists, masked.
fn config_rows(c: &customs_image::manifest::ContainerConfig) -> Vec<(String, String)> {
    let c = redact::config(c);
    let mut rows = Vec::new();
    rows.push((
        "User".to_string(),
        match c.user.as_deref() {
            None | Some("") => "(unset: root)".to_string(),
            Some(u) => u.to_string(),
        },
    ));
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
    if let Some(e) = &c.entrypoint {
        rows.push(("Entrypoint".into(), json(e)));
    }
    if let Some(cmd) = &c.cmd {
        rows.push(("Cmd".into(), json(cmd)));
    }
    if let Some(w) = c.working_dir.as_deref().filter(|w| !w.is_empty()) {
        rows.push(("WorkingDir".into(), w.to_string()));
    }
    if let Some(p) = c.exposed_ports.as_ref().filter(|p| !p.is_empty()) {
        rows.push((
            "Ports".into(),
            p.keys().cloned().collect::<Vec<_>>().join(", "),
        ));
    }
    for e in c.env.iter().flatten() {
        rows.push(("Env".into(), e.clone()));
    }
    rows
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.output.as_ref().is_some_and(|p| p.is_dir()) {
        bail!(
            "-o {} is a directory; name the HTML file to write",
            args.output
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let (database, suppression) = args.vuln.open()?;
    let info = sbom::document_info()?;

    // Inventory and audit in one walk of each layer.
    let audit_opts = (!args.no_audit).then(|| AuditOptions {
        now: Some(crate::clock::get().unix()),
        ..AuditOptions::default()
    });
    // With --diff-from, the new image's files are hashed in the same walk too.
    let mut hasher = args.diff_from.is_some().then(diff::FileHasher::default);
    let (image, result, audit) = inventory_and_audit(
        &args.image_args.target(&args.image)?,
        args.no_cache,
        audit_opts.as_ref(),
        hasher
            .as_mut()
            .map(|h| h as &mut dyn customs_image::EntryObserver),
    )?;
    let subject = sbom::subject(&image);
    let mut inventory = result.inventory;
    let outcome = customs_vulndb::scan(&database, &inventory, &suppression);
    inventory.warnings.extend(outcome.warnings);
    let findings = outcome.findings;
    let layers: Vec<LayerView> = match &audit {
        Some(a) => a
            .layers
            .layers
            .iter()
            .map(|l| LayerView {
                index: l.index,
                diff_id: l.diff_id.clone(),
                created_by: l.created_by.clone(),
                size: l.size,
                file_bytes: l.file_bytes,
                wasted_bytes: a
                    .layers
                    .waste
                    .iter()
                    .filter(|w| w.layer == l.index)
                    .map(|w| w.bytes)
                    .sum(),
                entries: l.entries,
            })
            .collect(),
        None => subject
            .layers
            .iter()
            .enumerate()
            .map(|(index, l)| LayerView {
                index,
                diff_id: l.diff_id.clone(),
                size: l.size,
                ..LayerView::default()
            })
            .collect(),
    };
    let audit_items: Option<Vec<AuditItem>> = audit.as_ref().map(|a| {
        a.findings
            .iter()
            .map(|f| AuditItem {
                id: f.id.to_string(),
                severity: f.severity.as_str().to_string(),
                title: f.title.to_string(),
                message: f.message.clone(),
                path: f.evidence.path.clone(),
                layer_index: f.evidence.layer_index,
                fix: f.fix.to_string(),
            })
            .collect()
    });

    let diff = match &args.diff_from {
        None => None,
        Some(old) => {
            let old = diff::gather(
                &args.image_args.target(old)?,
                args.no_cache,
                Some(&database),
                &suppression,
            )?;
            let new = diff::Gathered {
                subject: subject.clone(),
                inventory: inventory.clone(),
                findings: Some(findings.clone()),
                files: hasher
                    .take()
                    .map(diff::FileHasher::finish)
                    .unwrap_or_default(),
                config: image.config.config.clone(),
            };
            Some(diff::compare(&old, &new))
        }
    };

    let config = config_rows(&image.config.config);
    let page = html::render(&html::Report {
        scan: Scan {
            subject: &subject,
            inventory: &inventory,
            findings: &findings,
            suppressed: outcome.suppressed.len(),
        },
        info: &info,
        config: &config,
        layers: &layers,
        efficiency: audit.as_ref().map(|a| a.layers.efficiency),
        audit: audit_items.as_deref(),
        diff: diff.as_ref(),
        fail_on: args.fail_on,
    });
    sbom::emit(args.output.as_ref(), &page)?;
    if let Some(p) = &args.output {
        eprintln!(
            "wrote {} ({} finding(s), {} package(s))",
            p.display(),
            findings.len(),
            inventory.packages.len()
        );
    }
    crate::warnings::print(&inventory.warnings);
    Ok(ExitCode::SUCCESS)
}
