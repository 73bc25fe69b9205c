//! `customs sbom IMAGE`: the package inventory as CycloneDX, SPDX, native JSON or a table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_image::Image;
use customs_inventory::{scan_image, ScanOptions, ScanResult};
use customs_report::{DocumentInfo, LayerInfo, Platform, Subject, Timestamp};

use crate::cmd::format::SbomFormat;
use crate::cmd::image_args::{ImageArgs, ImageTarget};

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub image: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = SbomFormat::Table)]
    pub format: SbomFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Also sign the SBOM as an in-toto attestation of the image (needs --key). The
    /// predicate is CycloneDX unless -f spdx.
    #[arg(long, requires = "key")]
    pub attest: bool,
    /// Private key for --attest (cosign format).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// Describes an image for reports.
pub fn subject(image: &Image) -> Subject {
    let base = image.base_image();
    Subject {
        name: image.name.clone(),
        manifest_digest: image.manifest_digest.to_string(),
        config_digest: image.config_digest.to_string(),
        platform: Platform {
            os: image.platform.os.clone(),
            architecture: image.platform.architecture.clone(),
            variant: image.platform.variant.clone(),
        },
        layers: image
            .layers
            .iter()
            .map(|l| LayerInfo {
                diff_id: l.diff_id.to_string(),
                digest: l.descriptor.digest.to_string(),
                size: l.descriptor.size,
            })
            .collect(),
        labels: customs_audit::redact::map(&image.config.config.labels.clone().unwrap_or_default()),
        base_name: base.as_ref().map(|b| customs_audit::redact::text(&b.0)),
        base_digest: base.and_then(|b| b.1),
    }
}

/// Opens and inventories an image, with the layer cache unless told not to.
pub fn inventory(target: &ImageTarget, no_cache: bool) -> Result<(Image, ScanResult)> {
    let image = target.open()?;
    let cache = if no_cache {
        None
    } else {
        crate::cmd::cache::open().ok()
    };
    let result = scan_image(&image, &ScanOptions { cache })
        .with_context(|| format!("reading {}", image.name))?;
    Ok((image, result))
}

/// The producer and creation time of a document, from the run's one clock.
pub fn document_info() -> Result<DocumentInfo> {
    let secs = u64::try_from(crate::clock::get().unix()).unwrap_or(0);
    Ok(DocumentInfo::new(
        env!("CARGO_PKG_VERSION"),
        Timestamp::from_unix_seconds(secs)?,
    ))
}

/// Writes `text` to the file or standard output.
pub fn emit(output: Option<&PathBuf>, text: &str) -> Result<()> {
    match output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (image, result) = inventory(&args.image_args.target(&args.image)?, args.no_cache)?;
    let subject = subject(&image);
    let info = document_info()?;
    let inv = &result.inventory;
    let text = match args.format {
        SbomFormat::Cyclonedx => customs_report::cyclonedx::sbom(&subject, inv, &info)?,
        SbomFormat::Spdx => customs_report::spdx::sbom(&subject, inv, &info)?,
        SbomFormat::Json => customs_report::json::sbom(&subject, inv, &info)?,
        SbomFormat::Table => {
            let color = args.output.is_none() && std::io::stdout().is_terminal();
            customs_report::table::sbom(&subject, inv, color)
        }
    };
    emit(args.output.as_ref(), &text)?;
    if args.attest {
        let (kind, predicate) = match args.format {
            SbomFormat::Spdx => ("spdxjson", text.clone()),
            SbomFormat::Cyclonedx => ("cyclonedx", text.clone()),
            SbomFormat::Json | SbomFormat::Table => (
                "cyclonedx",
                customs_report::cyclonedx::sbom(&subject, inv, &info)?,
            ),
        };
        let key = args
            .key
            .as_ref()
            .expect("clap requires --key with --attest");
        crate::cmd::attest::attest(
            &args.image,
            &args.image_args,
            key,
            kind,
            predicate.as_bytes(),
        )?;
    }
    crate::warnings::print(&inv.warnings);
    Ok(ExitCode::SUCCESS)
}
