//! `customs sign-blob` and `customs verify-blob`: cosign's blob commands. The file is streamed
//! (hashed in 1 MiB chunks, never held in memory); the signature is a Sigstore message
//! signature, written as the v0.3 bundle cosign v3 writes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use customs_sign::blob;
use customs_sign::bundle::{BundlePolicy, VerifyOptions};

use crate::cmd::key::{load_private_key, load_public_key};
use crate::cmd::verify_bundle::{self, OutputFormat};

/// Signing with a transparency log (off by default; untested against a real Rekor, see
/// docs/sign.md).
#[derive(clap::Args)]
pub struct RekorArgs {
    /// Record the signature in this Rekor v1 log (https://…) and put its SET and inclusion
    /// proof in the bundle. Without it customs signs offline.
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,
    /// With --rekor-url: the trusted_root.json whose Rekor key must vouch for the log's answer
    /// (default: the embedded public-good root). The bundle is verified before it is written.
    #[arg(long, value_name = "FILE", requires = "rekor_url")]
    pub trusted_root: Option<PathBuf>,
}

impl RekorArgs {
    /// With --rekor-url: uploads `entry`, adds the log entry to `bundle`, and verifies the bundle
    /// (keyed, log evidence required) against the trusted root before it is written.
    fn record(
        &self,
        bundle: &mut customs_sign::bundle::Bundle,
        entry: customs_sign::rekor_upload::ProposedEntry<'_>,
        key: &customs_sign::keys::PublicKey,
        artifact_sha256: &[u8; 32],
    ) -> Result<bool> {
        let Some(url) = &self.rekor_url else {
            return Ok(false);
        };
        let root = verify_bundle::load_root(self.trusted_root.as_ref(), false)?;
        let tlog = customs_sign::rekor_upload::upload(url, &entry)
            .with_context(|| format!("recording the signature in {url}"))?;
        bundle.verification_material.tlog_entries = vec![tlog];
        let policy = BundlePolicy {
            key: Some(key.clone()),
            insecure_ignore_tlog: false,
            ..BundlePolicy::default()
        };
        customs_sign::bundle::verify(
            bundle,
            &root,
            &policy,
            &VerifyOptions::default(),
            Some(artifact_sha256),
        )
        .with_context(|| format!("the entry {url} returned does not verify"))?;
        eprintln!(
            "tlog entry created with index: {}",
            bundle.verification_material.tlog_entries[0].log_index
        );
        Ok(true)
    }
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// The encrypted private key (cosign or customs format, ECDSA P-256). Its password comes from
    /// CUSTOMS_PASSWORD or COSIGN_PASSWORD, else from a prompt.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Write the Sigstore bundle (v0.3, message signature) here.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Also write the base64 signature here (it is always printed on stdout).
    #[arg(long, value_name = "FILE")]
    pub output_signature: Option<PathBuf>,
    #[command(flatten)]
    pub rekor: RekorArgs,
    /// The file to sign.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn sign(args: SignArgs) -> Result<ExitCode> {
    let key = load_private_key(&args.key)?;
    let digest = blob::sha256_file(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut signed = blob::sign_blob(&key, &digest)
        .with_context(|| format!("signing {}", args.file.display()))?;
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(&signed.signature);
    let verifier_pem = key.public_key().to_pem()?;
    let logged = args.rekor.record(
        &mut signed.bundle,
        customs_sign::rekor_upload::ProposedEntry::HashedRekord {
            artifact_sha256: &digest,
            signature: &signed.signature,
            verifier_pem: &verifier_pem,
        },
        &key.public_key(),
        &digest,
    )?;
    if let Some(path) = &args.bundle {
        std::fs::write(path, signed.bundle.to_json())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("Wrote bundle to {}", path.display());
    }
    if let Some(path) = &args.output_signature {
        std::fs::write(path, &sig_b64).with_context(|| format!("writing {}", path.display()))?;
    }
    if !logged {
        eprintln!("note: no transparency-log entry was made (customs signs offline unless --rekor-url); verifiers need --insecure-ignore-tlog");
    }
    println!("{sig_b64}");
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The Sigstore bundle (JSON) of the file.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The signer's public key (PEM).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer", "certificate_identity_regexp", "certificate_oidc_issuer_regexp"])]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub identity: verify_bundle::IdentityArgs,
    /// The Sigstore trusted_root.json (default: the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    #[command(flatten)]
    pub pki: verify_bundle::PkiArgs,
    /// Accept a keyed bundle without transparency-log entries (what `sign-blob` writes).
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Accept a certificate without a verified SCT.
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    /// text: a summary on stderr; json: what was verified, on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// The file (streamed) or its `sha256:<hex>` digest.
    #[arg(value_name = "FILE")]
    pub file: String,
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    verify_with(args, None)
}

fn verify_with(args: VerifyArgs, predicate_type: Option<String>) -> Result<ExitCode> {
    let key = args.key.as_deref().map(load_public_key).transpose()?;
    let identity = args.identity.matcher()?;
    if key.is_none() && identity.is_none() {
        bail!("give --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]");
    }
    let root = args
        .pki
        .apply(verify_bundle::load_root(args.trusted_root.as_ref(), false)?)?;
    let policy = BundlePolicy {
        key,
        identity: None,
        identity_matcher: identity,
        insecure_ignore_tlog: args.insecure_ignore_tlog,
        attestation: customs_sign::intoto::AttestationCheck {
            sha256: None,
            predicate_type,
        },
    };
    let options = VerifyOptions {
        insecure_ignore_sct: args.insecure_ignore_sct,
        now: None,
    };
    verify_bundle::check(
        &args.bundle,
        &args.file,
        &root,
        &policy,
        &options,
        args.output,
    )
}

#[derive(clap::Args)]
pub struct AttestArgs {
    /// The encrypted private key (cosign or customs format).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Predicate type: cyclonedx, spdx, spdxjson, slsaprovenance, slsaprovenance02,
    /// slsaprovenance1, link, vuln, openvex, custom, or a URI.
    #[arg(long = "type", default_value = "custom")]
    pub kind: String,
    /// The predicate file (JSON; text for custom and spdx).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Write the Sigstore bundle (v0.3, DSSE in-toto statement) here.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub rekor: RekorArgs,
    /// The file the statement is about (streamed); its name is the subject name.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn attest(args: AttestArgs) -> Result<ExitCode> {
    let uri = customs_sign::intoto::predicate_type_uri(&args.kind)?;
    let raw = std::fs::read(&args.predicate)
        .with_context(|| format!("reading predicate {}", args.predicate.display()))?;
    let predicate = customs_sign::intoto::predicate_from_file(
        &args.kind,
        &raw,
        &crate::cmd::attest::now_rfc3339(),
    )?;
    let key = load_private_key(&args.key)?;
    let digest = blob::sha256_file(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut bundle = blob::attest_blob(&key, &name, &digest, &uri, predicate)?;
    if let Some(envelope) = bundle.dsse_envelope.as_ref().map(|e| e.to_json()) {
        let verifier_pem = key.public_key().to_pem()?;
        args.rekor.record(
            &mut bundle,
            customs_sign::rekor_upload::ProposedEntry::Dsse {
                envelope_json: &envelope,
                verifier_pem: &verifier_pem,
            },
            &key.public_key(),
            &digest,
        )?;
    }
    std::fs::write(&args.bundle, bundle.to_json())
        .with_context(|| format!("writing {}", args.bundle.display()))?;
    eprintln!(
        "Wrote attestation bundle ({uri}) for {name} sha256:{} to {}",
        hex::encode(digest),
        args.bundle.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct VerifyAttestationArgs {
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// Required predicate type (a name as for attest-blob, or a URI); any when not given.
    #[arg(long = "type")]
    pub kind: Option<String>,
}

pub fn verify_attestation(args: VerifyAttestationArgs) -> Result<ExitCode> {
    let predicate_type = args
        .kind
        .as_deref()
        .map(customs_sign::intoto::predicate_type_uri)
        .transpose()?;
    verify_with(args.verify, predicate_type)
}
