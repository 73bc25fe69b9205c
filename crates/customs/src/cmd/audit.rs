//! `customs audit IMAGE`: best-practice checks (least privilege, secrets, layers,
//! immutability, base image), as a table, JSON or SARIF. Also the one-pass wiring
//! ([`inventory_and_audit`]) that `customs check` and `customs report` use to inventory and
//! audit an image in one walk of each layer.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use customs_audit::{AuditOptions, AuditReport, Collector};
use customs_image::{Both, EntryObserver, Image, Reference};
use customs_inventory::scan::{scan_image_observed, ScanOptions, ScanResult};
use customs_registry::RegistryClient;

use crate::cmd::format::TableJsonSarif;
use crate::cmd::image_args::{ImageArgs, ImageTarget};

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub image: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableJsonSarif::Table)]
    pub format: TableJsonSarif,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Registries base images may come from (repeatable). Unset: no registry check.
    #[arg(long = "allowed-registry", value_name = "HOST")]
    pub allowed_registry: Vec<String>,
    /// Oldest acceptable image age, in days.
    #[arg(long, default_value_t = 365)]
    pub max_age_days: u64,
    /// Only run these rules (repeatable rule ids).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Skip these rules (repeatable rule ids).
    #[arg(long = "skip-rule", value_name = "ID")]
    pub skip_rules: Vec<String>,
    /// Ask the base image's registry whether its tag moved (network).
    #[arg(long)]
    pub check_base: bool,
    /// Exit with this code when any finding is reported.
    #[arg(long, default_value_t = 0)]
    pub exit_code: u8,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let target = args.image_args.target(&args.image)?;
    let image = target.open()?;
    let mut opts = AuditOptions {
        allowed_registries: args.allowed_registry.clone(),
        max_age_days: args.max_age_days,
        now: Some(crate::clock::get().unix()),
        ..AuditOptions::default()
    };
    if !args.rules.is_empty() {
        opts.enabled = Some(args.rules.iter().cloned().collect());
    }
    opts.disabled = args.skip_rules.iter().cloned().collect();
    if args.check_base {
        let registry = target.opts.registry.clone();
        let platform = image.platform.clone();
        opts.base_digest_lookup = Some(Arc::new(move |base: &str| {
            let reference = Reference::parse(base).ok()?;
            let client = RegistryClient::new(registry.clone()).ok()?;
            let resolved = client.resolve(&reference, &platform).ok()?;
            Some(
                resolved
                    .index_digest
                    .unwrap_or(resolved.manifest_digest)
                    .to_string(),
            )
        }));
    }
    opts.validate().context("audit options")?;
    let report =
        customs_audit::audit(&image, &opts).with_context(|| format!("auditing {}", image.name))?;
    let text = match args.format {
        TableJsonSarif::Json => customs_report::audit::json(&report)?,
        TableJsonSarif::Sarif => customs_report::audit::sarif(&report, env!("CARGO_PKG_VERSION"))?,
        TableJsonSarif::Table => customs_report::audit::table(&report),
    };
    crate::cmd::sbom::emit(args.output.as_ref(), &text)?;
    if args.exit_code != 0 && !report.findings.is_empty() {
        return Ok(ExitCode::from(args.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `target` and inventories it; with `audit`, audits it in the same walk of each layer
/// (audit's collector observes the inventory scan), and `extra` (diff's file hasher) rides
/// along too, so no layer blob is read twice.
pub fn inventory_and_audit(
    target: &ImageTarget,
    no_cache: bool,
    audit: Option<&AuditOptions>,
    extra: Option<&mut dyn EntryObserver>,
) -> Result<(Image, ScanResult, Option<AuditReport>)> {
    let image = target.open()?;
    let cache = if no_cache {
        None
    } else {
        crate::cmd::cache::open().ok()
    };
    let opts = ScanOptions { cache };
    let mut collector = match audit {
        Some(o) => Some(Collector::new(&image, o).context("audit options")?),
        None => None,
    };
    // Each arm is its own call, so each observer is borrowed only for the walk.
    let result = match (collector.as_mut(), extra) {
        (Some(c), Some(e)) => scan_image_observed(&image, &opts, Some(&mut Both::new(c, e))),
        (Some(c), None) => scan_image_observed(&image, &opts, Some(c)),
        (None, Some(e)) => scan_image_observed(&image, &opts, Some(e)),
        (None, None) => scan_image_observed(&image, &opts, None),
    }
    .with_context(|| format!("reading {}", image.name))?;
    let report = match collector {
        Some(c) => Some(
            c.finish_with_os(result.inventory.os.clone())
                .with_context(|| format!("auditing {}", image.name))?,
        ),
        None => None,
    };
    Ok((image, result, report))
}
