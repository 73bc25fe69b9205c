//! `customs verify IMAGE`: checks an image's signatures the way `cosign verify` does, offline,
//! with a public key (`.sig` layers and keyed bundles) or keylessly against a trusted root and
//! a certificate identity (bundles). Exit 0 when something verified, 1 with the reasons when
//! nothing did, 2 on other errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_sign::verify_image::{
    verify_bundles_keyless, verify_signatures_keyless, verify_signatures_with, Source, VerifyError,
};
use serde_json::{json, Value};

use crate::cmd::image_args::ImageArgs;
use crate::cmd::key::{load_public_key, parse_annotations};
use crate::cmd::verify_bundle::{load_root, IdentityArgs, PkiArgs};

pub use crate::cmd::format::VerifyOutput as OutputFormat;

#[derive(clap::Args)]
pub struct Args {
    /// The public key (PEM) the signatures must verify with.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer", "certificate_identity_regexp", "certificate_oidc_issuer_regexp"])]
    pub key: Option<PathBuf>,
    /// Require this annotation in the signed payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// The Sigstore trusted_root.json to verify against (offline). Keyless: its CAs, CT logs
    /// and Rekor keys (default: the embedded public-good root). With --key: its Rekor keys
    /// check the log evidence, which is then required (unless --insecure-ignore-tlog); without
    /// it, the embedded public-good root checks the evidence a signature carries.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// With --key and --trusted-root: accept signatures without transparency-log evidence.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Keyless: accept a certificate without a verified SCT.
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub pki: PkiArgs,
    /// text: one verified payload per line; json: a JSON array with each payload's source.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// Reports a verification failure and gives exit code 1.
pub fn failed(e: &VerifyError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}

fn parse_payload(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let annotations = parse_annotations(&args.annotations)?;
    let key = args.key.as_deref().map(load_public_key).transpose()?;
    let identity = args.identity.matcher()?;
    if key.is_none() && identity.is_none() {
        bail!(
            "give --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp] (keyless)"
        );
    }
    let require_tlog = args.trusted_root.is_some() && !args.insecure_ignore_tlog;
    let root = args
        .pki
        .apply(load_root(args.trusted_root.as_ref(), false)?)?;
    let store = args.image_args.signatures(&args.image)?;
    let subject = store
        .resolve()
        .with_context(|| format!("resolving {}", args.image))?;

    let (checks, entries): (&str, Vec<(Value, Value)>) = match (key, identity) {
        (Some(key), _) => {
            let verified = match verify_signatures_with(
                &store,
                &subject,
                &key,
                &annotations,
                &root,
                require_tlog,
            ) {
                Ok(v) => v,
                Err(VerifyError::Store(e)) => {
                    return Err(e).with_context(|| format!("reading signatures of {}", args.image))
                }
                Err(e) => return Ok(failed(&e)),
            };
            for w in verified.iter().flat_map(|v| &v.warnings) {
                eprintln!("warning: {w}");
            }
            let entries = verified
                .into_iter()
                .map(|v| {
                    let source = match v.source {
                        Source::Tag => json!({"kind": "signature-tag"}),
                        Source::Bundle(d) => json!({"kind": "bundle", "manifest": d.to_string()}),
                    };
                    (source, parse_payload(&v.payload))
                })
                .collect();
            let checks = if require_tlog {
                "  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n  - Transparency-log evidence (SET or inclusion proof) was required and verified against the trusted root"
            } else {
                "  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n  - Transparency-log evidence was verified where a signature carried it (absent evidence accepted: no --trusted-root)"
            };
            (checks, entries)
        }
        (None, Some(identity)) => {
            if !annotations.is_empty() {
                bail!("-a annotations apply to key-based signatures only");
            }
            let require_sct = !args.insecure_ignore_sct;
            let bundles = verify_bundles_keyless(&store, &subject, &root, &identity, require_sct);
            let legacy = verify_signatures_keyless(&store, &subject, &root, &identity, require_sct);
            let (verified, legacy) = match (bundles, legacy) {
                (Err(VerifyError::Store(e)), _) | (_, Err(VerifyError::Store(e))) => {
                    return Err(e).with_context(|| format!("reading signatures of {}", args.image))
                }
                (Err(b), Err(l)) => {
                    let e = match (&b, &l) {
                        (VerifyError::NothingFound { .. }, VerifyError::NothingFound { .. }) => {
                            VerifyError::NothingFound {
                                what: "keyless signatures or signature bundles",
                                image: subject.name.clone(),
                                digest: subject.digest.clone(),
                            }
                        }
                        (VerifyError::NothingFound { .. }, _) => l,
                        _ => b,
                    };
                    return Ok(failed(&e));
                }
                (b, l) => (b.unwrap_or_default(), l.unwrap_or_default()),
            };
            let legacy_entries: Vec<(Value, Value)> = legacy
                .into_iter()
                .map(|v| {
                    (
                        json!({"kind": "signature-tag", "keyless": true}),
                        parse_payload(&v.payload),
                    )
                })
                .collect();
            let entries = verified
                .into_iter()
                .map(|v| {
                    let source = json!({
                        "kind": "bundle",
                        "integratedTime": v.integrated_time,
                        "certificateIdentities": v.certificate_identities,
                    });
                    (
                        source,
                        serde_json::to_value(&v.statement).unwrap_or(Value::Null),
                    )
                })
                .chain(legacy_entries)
                .collect();
            ("  - The signatures were verified against a certificate that chains to the trusted root\n  - The certificate identity, OIDC issuer and any GitHub-workflow claims matched\n  - The signing time came from a verified Rekor SET or RFC 3161 timestamp, and the certificate was valid then\n  - The transparency log entries were verified offline\n  - The signed payload names the image digest", entries)
        }
        (None, None) => unreachable!("checked above"),
    };
    eprintln!(
        "Verification for {}@{} --\nThe following checks were performed on each of these signatures:\n{checks}",
        subject.name, subject.digest
    );
    match args.output {
        OutputFormat::Text => {
            for (_, payload) in &entries {
                println!("{}", serde_json::to_string(payload)?);
            }
        }
        OutputFormat::Json => {
            let out: Vec<Value> = entries
                .into_iter()
                .map(|(source, payload)| json!({"source": source, "payload": payload}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
