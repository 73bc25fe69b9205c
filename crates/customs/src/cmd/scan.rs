//! `customs scan IMAGE` and `customs scan --sbom FILE`: match the inventory against the
//! vulnerability database, apply the ignore file and VEX documents, filter, render, and turn
//! what remains into an exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_inventory::Inventory;
use customs_report::{Scan, Subject};
use customs_vulndb::{FixStatus, Severity};

use crate::cmd::format::ScanFormat;
use crate::cmd::image_args::ImageArgs;
use crate::cmd::sbom;
use crate::cmd::vuln_args::{parse_severity, VulnArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    #[arg(required_unless_present = "sbom", conflicts_with = "sbom")]
    pub image: Option<String>,
    /// Scan the packages of an SBOM (CycloneDX 1.2–1.7 or SPDX 2.2/2.3 JSON) instead of an image.
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report only these severities (comma-separated: UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL).
    #[arg(long, value_delimiter = ',', value_parser = parse_severity)]
    pub severity: Vec<Severity>,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Exit with N when any finding remains after filtering and suppression.
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    /// Fail (exit with --exit-code, default 1) only when a finding at or above SEVERITY remains.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// With --fail-on: a finding that no source rates (UNKNOWN) fails too. Without it, such
    /// findings do not count toward --fail-on, and a warning says how many were let through.
    #[arg(long, requires = "fail_on")]
    pub fail_on_unknown: bool,
    /// Fail (exit with --exit-code, default 1) when a finding is in CISA's Known Exploited
    /// Vulnerabilities catalogue.
    #[arg(long)]
    pub fail_on_kev: bool,
    /// Table order: `package` (default), or `risk` (known exploited first, then by EPSS
    /// score, then by severity).
    #[arg(long, value_enum, default_value_t = SortOrder::Package)]
    pub sort: SortOrder,
    #[command(flatten)]
    pub vuln: VulnArgs,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Also sign the results as a cosign `vuln` attestation of the image (needs --key).
    #[arg(long, requires = "key", requires = "image")]
    pub attest: bool,
    /// Private key for --attest (cosign format).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// `--sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortOrder {
    /// By package, then advisory id.
    Package,
    /// KEV first, then EPSS, then severity.
    Risk,
}

/// The SBOM's packages, and a subject naming the file.
fn inventory_from_sbom(path: &Path) -> Result<(Subject, Inventory)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let inv = customs_inventory::sbom_input::read_sbom(&bytes, &path.display().to_string())
        .with_context(|| format!("reading SBOM {}", path.display()))?;
    let subject = Subject {
        name: path.display().to_string(),
        ..Subject::default()
    };
    Ok((subject, inv))
}

pub fn run(args: Args) -> Result<ExitCode> {
    // Everything that can fail fast (database, ignore file, VEX) before reading the image.
    let (database, suppression) = args.vuln.open()?;
    let info = sbom::document_info()?;

    let (subject, mut inventory) = match (&args.sbom, &args.image) {
        (Some(path), _) => inventory_from_sbom(path)?,
        (None, Some(image)) => {
            let (img, result) = sbom::inventory(&args.image_args.target(image)?, args.no_cache)?;
            (sbom::subject(&img), result.inventory)
        }
        (None, None) => bail!("give an IMAGE or --sbom FILE"),
    };
    if let Some(reason) = crate::cmd::vuln_args::damaged_db(&args.vuln, &inventory) {
        crate::warnings::print(&inventory.warnings);
        bail!("{}: {reason}", subject.name);
    }

    let outcome = customs_vulndb::scan(&database, &inventory, &suppression);
    inventory.warnings.extend(outcome.warnings);
    for s in &outcome.suppressed {
        log::info!(
            "suppressed {} in {} {}: {:?}",
            s.finding.id,
            s.finding.package.name,
            s.finding.package.version,
            s.by
        );
    }
    let findings: Vec<_> = outcome
        .findings
        .into_iter()
        .filter(|f| !(args.ignore_unfixed && f.fix_status == FixStatus::NotFixed))
        .filter(|f| args.severity.is_empty() || args.severity.contains(&f.severity))
        .collect();

    let scan = Scan {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        suppressed: outcome.suppressed.len(),
    };
    let text = match args.format {
        ScanFormat::Json => customs_report::json::scan(&scan, &info)?,
        ScanFormat::Sarif => customs_report::sarif::scan(&scan, &info)?,
        ScanFormat::Cyclonedx => customs_report::cyclonedx::scan(&scan, &info)?,
        ScanFormat::Table => {
            let color = args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            let order = match args.sort {
                SortOrder::Package => customs_report::table::Order::Package,
                SortOrder::Risk => customs_report::table::Order::Risk,
            };
            customs_report::table::scan_in(&scan, color, order)
        }
    };
    sbom::emit(args.output.as_ref(), &text)?;
    if args.attest {
        // cosign's vuln predicate: scanner, database and result, with the scan times.
        let result: serde_json::Value =
            serde_json::from_str(&customs_report::json::scan(&scan, &info)?)?;
        let now = info.created.rfc3339();
        let predicate = serde_json::json!({
            "invocation": { "uri": "", "event_id": "", "builder.id": "" },
            "scanner": {
                "uri": "pkg:cargo/customs",
                "version": env!("CARGO_PKG_VERSION"),
                "db": { "uri": "", "version": "" },
                "result": result,
            },
            "metadata": { "scanStartedOn": now, "scanFinishedOn": now },
        });
        let key = args
            .key
            .as_ref()
            .expect("clap requires --key with --attest");
        let image = args
            .image
            .as_deref()
            .expect("clap requires IMAGE with --attest");
        crate::cmd::attest::attest(
            image,
            &args.image_args,
            key,
            "vuln",
            predicate.to_string().as_bytes(),
        )?;
    }
    if !outcome.suppressed.is_empty() && args.format != ScanFormat::Table {
        eprintln!(
            "{} finding(s) suppressed by the ignore file or VEX",
            outcome.suppressed.len()
        );
    }
    crate::warnings::print(&inventory.warnings);

    let unknown = findings
        .iter()
        .filter(|f| f.severity == Severity::Unknown)
        .count();
    let mut failing = match args.fail_on {
        Some(min) => findings.iter().any(|f| {
            if f.severity == Severity::Unknown {
                min == Severity::Unknown || args.fail_on_unknown
            } else {
                f.severity >= min
            }
        }),
        None => args.exit_code.is_some() && !findings.is_empty(),
    };
    if let Some(min) = args.fail_on {
        if unknown > 0 && !args.fail_on_unknown && min > Severity::Unknown {
            eprintln!(
                "warning: {unknown} finding(s) have no severity rating from any source and did not count toward --fail-on {}; add --fail-on-unknown to fail on them",
                min.as_str()
            );
        }
    }
    if args.fail_on_kev && findings.iter().any(|f| f.kev.is_some()) {
        failing = true;
    }
    Ok(if failing {
        ExitCode::from(args.exit_code.unwrap_or(1))
    } else {
        ExitCode::SUCCESS
    })
}
