//! `customs tree`, `customs download signature|attestation|sbom` and `customs triangulate`:
//! what cosign users reach for to see what is attached to an image, read from a registry or an
//! `oci:` layout through the same [`SignatureStore`] the signing commands use. Nothing is
//! verified here: these commands show what is stored (use `verify`/`verify-attestation`).
//!
//! Where the output differs from cosign's: `download signature` gives `Cert` and `Chain` as PEM
//! text (cosign serialises Go's `x509.Certificate` struct, which no other tool reads) and prints
//! signature bundles (cosign v3's format) as their bundle JSON, one per line; `download
//! attestation` prints the DSSE envelope of both `.att` layers and attestation bundles.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine as _;
use customs_image::Digest;
use customs_sign::bundle::Bundle;
use customs_sign::intoto::Statement;
use customs_sign::layout::{
    self, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION,
};
use customs_sign::store::{SignatureStore, StoredLayer, Subject};
use customs_sign::verify_image::SIGN_PREDICATE_TYPE;
use serde_json::{json, Value};

use crate::cmd::image_args::ImageArgs;
use crate::cmd::verify::OutputFormat;

#[derive(clap::Args)]
pub struct TreeArgs {
    /// text: cosign's tree; json: the same as one object.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(clap::Subcommand)]
pub enum DownloadCommand {
    /// Print each signature: `.sig` layers as cosign's JSON lines, signature bundles as JSON.
    Signature(DownloadArgs),
    /// Print each attestation's DSSE envelope, one JSON per line.
    Attestation(DownloadAttestationArgs),
    /// Print the SBOM(s) attached under `sha256-<hex>.sbom`.
    Sbom(DownloadArgs),
}

#[derive(clap::Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(clap::Args)]
pub struct DownloadAttestationArgs {
    /// Only attestations of this predicate type (a name as for attest, or a URI).
    #[arg(long)]
    pub predicate_type: Option<String>,
    #[command(flatten)]
    pub args: DownloadArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArtifactType {
    Signature,
    Attestation,
    Sbom,
    Digest,
}

#[derive(clap::Args)]
pub struct TriangulateArgs {
    /// Which artifact's location to print.
    #[arg(long = "type", value_enum, default_value_t = ArtifactType::Signature)]
    pub kind: ArtifactType,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

fn open(image: &str, image_args: &ImageArgs) -> Result<(SignatureStore, Subject)> {
    let store = image_args.signatures(image)?;
    let subject = store
        .resolve()
        .with_context(|| format!("resolving {image}"))?;
    Ok((store, subject))
}

fn tag_of(digest: &Digest, kind: ArtifactType) -> Result<String> {
    let d = digest.to_string();
    Ok(match kind {
        ArtifactType::Signature => layout::signature_tag(&d)?,
        ArtifactType::Attestation => layout::attestation_tag(&d)?,
        ArtifactType::Sbom => layout::sbom_tag(&d)?,
        ArtifactType::Digest => d,
    })
}

/// `customs triangulate`: where cosign would store the artifact, whether or not it exists.
pub fn triangulate(args: TriangulateArgs) -> Result<ExitCode> {
    let (store, subject) = open(&args.image, &args.image_args)?;
    let out = match args.kind {
        ArtifactType::Digest => store.digest_reference(&subject.digest),
        kind => store.tag_reference(&tag_of(&subject.digest, kind)?),
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn layer_json(l: &StoredLayer) -> Value {
    json!({"digest": l.layer.digest, "mediaType": l.layer.media_type, "size": l.layer.size})
}

/// `customs tree`: every signature, attestation, SBOM and referrer attached to the image.
pub fn tree(args: TreeArgs) -> Result<ExitCode> {
    let (store, subject) = open(&args.image, &args.image_args)?;
    let read = |what: &str, r: Result<Vec<StoredLayer>, customs_sign::store::StoreError>| {
        r.with_context(|| format!("reading the {what} of {}", args.image))
    };
    let groups = [
        (
            "attestations",
            "💾 Attestations",
            ArtifactType::Attestation,
            read("attestations", store.attestations(&subject.digest))?,
        ),
        (
            "signatures",
            "🔐 Signatures",
            ArtifactType::Signature,
            read("signatures", store.signatures(&subject.digest))?,
        ),
        (
            "sboms",
            "📦 SBOMs",
            ArtifactType::Sbom,
            read("SBOMs", store.sboms(&subject.digest))?,
        ),
    ];
    let referrers = store
        .referrers(&subject.digest)
        .with_context(|| format!("reading the referrers of {}", args.image))?;
    let mut json_out = json!({
        "image": subject.name,
        "digest": subject.digest.to_string(),
        "referrers": referrers.iter().map(|r| json!({
            "digest": r.digest.to_string(),
            "reference": store.digest_reference(&r.digest),
            "mediaType": r.media_type,
            "artifactType": r.artifact_type,
            "size": r.size,
        })).collect::<Vec<_>>(),
    });
    let mut text = String::new();
    let mut any = !referrers.is_empty();
    for (key, title, kind, layers) in &groups {
        let tag = tag_of(&subject.digest, *kind)?;
        let reference = store.tag_reference(&tag);
        json_out[*key] = if layers.is_empty() {
            Value::Null
        } else {
            json!({
                "reference": reference,
                "manifest": store.tag_digest(&tag)?.map(|d| d.to_string()),
                "layers": layers.iter().map(layer_json).collect::<Vec<_>>(),
            })
        };
        if layers.is_empty() {
            continue;
        }
        any = true;
        text.push_str(&format!("└── {title} for an image tag: {reference}\n"));
        for (i, l) in layers.iter().enumerate() {
            let branch = if i + 1 == layers.len() {
                "└──"
            } else {
                "├──"
            };
            text.push_str(&format!("   {branch} 🍒 {}\n", l.layer.digest));
        }
    }
    let mut by_type: std::collections::BTreeMap<String, Vec<&customs_image::Descriptor>> =
        Default::default();
    for r in &referrers {
        let t = r
            .artifact_type
            .clone()
            .unwrap_or_else(|| r.media_type.clone());
        by_type.entry(t).or_default().push(r);
    }
    for (t, list) in &by_type {
        text.push_str(&format!(
            "└── 🔗 {t} artifacts via OCI referrer: {}\n",
            store.digest_reference(&subject.digest)
        ));
        for (i, r) in list.iter().enumerate() {
            let branch = if i + 1 == list.len() {
                "└──"
            } else {
                "├──"
            };
            text.push_str(&format!(
                "   {branch} 🍒 {}\n",
                store.digest_reference(&r.digest)
            ));
        }
    }
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json_out)?),
        OutputFormat::Text if !any => println!(
            "No Supply Chain Security Related Artifacts found for image {}@{}",
            subject.name, subject.digest
        ),
        OutputFormat::Text => print!(
            "📦 Supply Chain Security Related artifacts for an image: {}@{}\n{text}",
            subject.name, subject.digest
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The predicate type of a DSSE bundle's statement, if it has one.
fn bundle_predicate(b: &Bundle) -> Option<String> {
    let env = b.dsse_envelope.as_ref()?;
    Statement::from_json(&env.payload_bytes().ok()?)
        .ok()
        .map(|s| s.predicate_type)
}

fn print_lines(lines: Vec<Vec<u8>>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for l in lines {
        out.write_all(&l)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// `customs download signature|attestation|sbom`.
pub fn download(cmd: DownloadCommand) -> Result<ExitCode> {
    match cmd {
        DownloadCommand::Signature(a) => {
            let (store, subject) = open(&a.image, &a.image_args)?;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut lines = Vec::new();
            for l in store
                .signatures(&subject.digest)
                .with_context(|| format!("reading signatures of {}", a.image))?
            {
                let ann = &l.layer.annotations;
                let bundle = ann
                    .get(BUNDLE_ANNOTATION)
                    .and_then(|b| serde_json::from_str::<Value>(b).ok());
                let chain = ann.get(CHAIN_ANNOTATION).map(|c| {
                    customs_sign::pem::parse_all(c)
                        .map(|blocks| {
                            blocks
                                .iter()
                                .map(|b| customs_sign::pem::encode(&b.label, &b.contents))
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default()
                });
                lines.push(serde_json::to_vec(&json!({
                    "Base64Signature": ann.get(SIGNATURE_ANNOTATION).cloned().unwrap_or_default(),
                    "Payload": b64.encode(&l.blob),
                    "Cert": ann.get(CERTIFICATE_ANNOTATION),
                    "Chain": chain,
                    "Bundle": bundle,
                    "RFC3161Timestamp": Value::Null,
                }))?);
            }
            for b in store
                .bundles(&subject.digest)
                .with_context(|| format!("reading bundles of {}", a.image))?
            {
                let parsed = Bundle::from_json(&b.bundle).ok();
                if parsed.as_ref().and_then(bundle_predicate).as_deref()
                    == Some(SIGN_PREDICATE_TYPE)
                    || parsed
                        .as_ref()
                        .is_some_and(|p| p.message_signature.is_some())
                {
                    lines.push(b.bundle);
                }
            }
            if lines.is_empty() {
                eprintln!(
                    "error: no signatures found for {}@{}",
                    subject.name, subject.digest
                );
                return Ok(ExitCode::from(1));
            }
            print_lines(lines)?;
        }
        DownloadCommand::Attestation(a) => {
            let wanted = a
                .predicate_type
                .as_deref()
                .map(customs_sign::intoto::predicate_type_uri)
                .transpose()?;
            let (store, subject) = open(&a.args.image, &a.args.image_args)?;
            let mut lines = Vec::new();
            for l in store
                .attestations(&subject.digest)
                .with_context(|| format!("reading attestations of {}", a.args.image))?
            {
                let kind = l
                    .layer
                    .annotations
                    .get(layout::PREDICATE_TYPE_ANNOTATION)
                    .cloned()
                    .or_else(|| {
                        customs_sign::dsse::Envelope::from_json(&l.blob)
                            .ok()
                            .and_then(|e| e.payload_bytes().ok())
                            .and_then(|p| Statement::from_json(&p).ok())
                            .map(|s| s.predicate_type)
                    });
                if wanted.is_none() || kind == wanted {
                    lines.push(l.blob);
                }
            }
            for b in store
                .bundles(&subject.digest)
                .with_context(|| format!("reading bundles of {}", a.args.image))?
            {
                let Ok(parsed) = Bundle::from_json(&b.bundle) else {
                    continue;
                };
                let kind = bundle_predicate(&parsed);
                if kind.is_none() || kind.as_deref() == Some(SIGN_PREDICATE_TYPE) {
                    continue;
                }
                if wanted.is_none() || kind == wanted {
                    if let Some(env) = &parsed.dsse_envelope {
                        lines.push(env.to_json());
                    }
                }
            }
            if lines.is_empty() {
                eprintln!(
                    "error: no attestations found for {}@{}",
                    subject.name, subject.digest
                );
                return Ok(ExitCode::from(1));
            }
            print_lines(lines)?;
        }
        DownloadCommand::Sbom(a) => {
            let (store, subject) = open(&a.image, &a.image_args)?;
            let sboms = store
                .sboms(&subject.digest)
                .with_context(|| format!("reading SBOMs of {}", a.image))?;
            if sboms.is_empty() {
                eprintln!(
                    "error: no SBOMs found for {}@{}",
                    subject.name, subject.digest
                );
                return Ok(ExitCode::from(1));
            }
            let mut out = std::io::stdout().lock();
            for l in sboms {
                eprintln!("Found SBOM of media type: {}", l.layer.media_type);
                out.write_all(&l.blob)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
