//! `customs sign --key KEY IMAGE`: signs an image as `cosign sign --key` does, pushing the
//! signature to `sha256-<hex>.sig` next to it (registry or `oci:` layout), and with
//! `--bundle-format` a Sigstore bundle as an OCI 1.1 referrer.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_sign::bundle::{self, BundlePolicy};
use customs_sign::intoto::AttestationCheck;
use customs_sign::layout;
use customs_sign::rekor_upload::{self, ProposedEntry};
use customs_sign::verify_image::sign_image_with;

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
    /// With --bundle-format: record the bundle's DSSE envelope in this Rekor v1 log (https://…)
    /// and put its SET and inclusion proof in the bundle. Off by default; untested against a
    /// real Rekor (docs/sign.md).
    #[arg(long, value_name = "URL", requires = "bundle_format")]
    pub rekor_url: Option<String>,
    /// With --rekor-url: the trusted_root.json whose Rekor key must vouch for the log's answer
    /// (default: the embedded public-good root). The bundle is verified before it is stored.
    #[arg(long, value_name = "FILE", requires = "rekor_url")]
    pub trusted_root: Option<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let annotations = parse_annotations(&args.annotations)?;
    let key = load_private_key(&args.key)?;
    let store = args.image_args.signatures(&args.image)?;
    let root = match &args.rekor_url {
        Some(_) => Some(crate::cmd::verify_bundle::load_root(
            args.trusted_root.as_ref(),
            false,
        )?),
        None => None,
    };
    let public = key.public_key();
    let verifier_pem = public.to_pem()?;
    // Uploads the envelope, adds the entry, and verifies the bundle (log evidence required)
    // before it is stored: an answer that does not verify is refused.
    let record = |b: &mut customs_sign::bundle::Bundle,
                  subject: &customs_sign::store::Subject|
     -> customs_sign::Result<()> {
        let (Some(url), Some(root)) = (&args.rekor_url, &root) else {
            return Ok(());
        };
        let envelope = b
            .dsse_envelope
            .as_ref()
            .map(|e| e.to_json())
            .unwrap_or_default();
        let entry = rekor_upload::upload(
            url,
            &ProposedEntry::Dsse {
                envelope_json: &envelope,
                verifier_pem: &verifier_pem,
            },
        )?;
        b.verification_material.tlog_entries = vec![entry];
        let policy = BundlePolicy {
            key: Some(public.clone()),
            insecure_ignore_tlog: false,
            attestation: AttestationCheck {
                sha256: Some(subject.digest.to_string()),
                predicate_type: None,
            },
            ..BundlePolicy::default()
        };
        bundle::verify_bundle(b, root, &policy).map(|_| ())
    };
    let signed = sign_image_with(
        &store,
        &key,
        &annotations,
        args.bundle_format,
        args.rekor_url.is_some().then_some(&record as _),
    )
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
