//! `customs copy SRC DEST`: copies an image, blob by blob and verified, to an OCI layout
//! (`oci:DIR[:tag]`) or a registry, as `skopeo copy` does.

use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_image::Target;
use customs_registry::copy::copy_image;

use crate::cmd::image_args::ImageArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Source image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub source: String,
    /// Destination: oci:DIR[:tag] or a registry reference.
    pub destination: String,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let image = args.image_args.open(&args.source)?;
    let dest = Target::parse(&args.destination)
        .with_context(|| format!("destination {}", args.destination))?;
    let opts = args.image_args.open_options()?;
    let copied = copy_image(&image, &dest, &opts.registry)
        .with_context(|| format!("copying to {}", args.destination))?;
    println!("{} {}", copied.destination, copied.manifest_digest);
    Ok(ExitCode::SUCCESS)
}
