//! `customs sign --key KEY IMAGE`: signs an image as `cosign sign --key` does, pushing the
//! signature to `sha256-<hex>.sig` next to it (registry or `oci:` layout), and with
//! `--bundle-format` a Sigstore bundle as an OCI 1.1 referrer.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_sign::layout;
use customs_sign::store::SignatureStore;
use customs_sign::verify_image::sign_image;

use crate::cmd::image_args::ImageArgs;
use crate::cmd::key::{load_private_key, parse_annotations};

#[derive(clap::Args)]
pub struct Args {
    /// The encrypted private key (cosign or customs format). Its password comes from
    /// CUSTOMS_PASSWORD or COSIGN_PASSWORD, else from a prompt.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Sign this annotation into the payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Also store a Sigstore bundle (v0.3, DSSE in-toto statement about the image) as an OCI
    /// 1.1 referrer, with the sha256-<hex> tag fallback.
    #[arg(long)]
    pub bundle_format: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let annotations = parse_annotations(&args.annotations)?;
    let key = load_private_key(&args.key)?;
    let opts = args.image_args.open_options()?;
    let store = SignatureStore::open(&args.image, &opts.registry)
        .with_context(|| format!("opening {}", args.image))?;
    let signed = sign_image(&store, &key, &annotations, args.bundle_format)
        .with_context(|| format!("signing {}", args.image))?;
    let tag = layout::signature_tag(&signed.subject.digest.to_string())?;
    eprintln!(
        "Pushed signature to {}:{tag} ({})",
        signed.subject.docker_reference, signed.signature_manifest
    );
    if let Some(bundle) = &signed.bundle_manifest {
        eprintln!("Pushed bundle referrer {bundle}");
    }
    println!("Signed {}", signed.subject.digest);
    Ok(ExitCode::SUCCESS)
}
