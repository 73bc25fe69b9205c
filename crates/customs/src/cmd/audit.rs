//! `customs audit IMAGE`: best-practice checks (least privilege, secrets, layers,
//! immutability, base image), as a table, JSON or SARIF.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use customs_audit::AuditOptions;
use customs_image::Reference;
use customs_registry::RegistryClient;

use crate::cmd::image_args::ImageArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub image: String,
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json", "sarif"])]
    pub format: String,
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
    let image = args.image_args.open(&args.image)?;
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
        let registry = args.image_args.open_options()?.registry;
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
    let text = match args.format.as_str() {
        "json" => customs_report::audit::json(&report)?,
        "sarif" => customs_report::audit::sarif(&report, env!("CARGO_PKG_VERSION"))?,
        _ => customs_report::audit::table(&report),
    };
    crate::cmd::sbom::emit(args.output.as_ref(), &text)?;
    if args.exit_code != 0 && !report.findings.is_empty() {
        return Ok(ExitCode::from(args.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}
