//! `customs verify IMAGE`: checks an image's signatures the way `cosign verify` does, offline,
//! with a public key (`.sig` layers and keyed bundles) or keylessly against a trusted root and
//! a certificate identity (bundles). Exit 0 when something verified, 1 with the reasons when
//! nothing did, 2 on other errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_sign::certs::CertificateIdentity;
use customs_sign::store::SignatureStore;
use customs_sign::trusted_root::TrustedRoot;
use customs_sign::verify_image::{
    verify_bundles_keyless, verify_signatures_keyless, verify_signatures_with, Source, VerifyError,
};
use serde_json::{json, Value};

use crate::cmd::image_args::ImageArgs;
use crate::cmd::key::{load_public_key, parse_annotations};

pub use crate::cmd::format::VerifyOutput as OutputFormat;

#[derive(clap::Args)]
pub struct Args {
    /// The public key (PEM) the signatures must verify with.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer"])]
    pub key: Option<PathBuf>,
    /// Require this annotation in the signed payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// The Sigstore trusted_root.json to verify against (offline). Keyless: required, with
    /// the identity flags. With --key: its Rekor keys check the log evidence, which is then
    /// required (unless --insecure-ignore-tlog); without it, the embedded public-good root
    /// checks the evidence a signature carries.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// With --key and --trusted-root: accept signatures without transparency-log evidence.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Keyless: the signer's certificate identity (email or URI SAN), exact.
    #[arg(long, value_name = "ID", requires = "trusted_root")]
    pub certificate_identity: Option<String>,
    /// Keyless: the OIDC issuer in the signer's certificate, exact.
    #[arg(long, value_name = "URL", requires = "trusted_root")]
    pub certificate_oidc_issuer: Option<String>,
    /// Output format.
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
    let key = match (&args.key, &args.trusted_root) {
        (Some(k), _) => Some(load_public_key(k)?),
        (None, Some(_)) => {
            if args.certificate_identity.is_none() || args.certificate_oidc_issuer.is_none() {
                bail!("keyless verification needs --certificate-identity and --certificate-oidc-issuer");
            }
            None
        }
        (None, None) => bail!(
            "give --key, or --trusted-root with --certificate-identity and --certificate-oidc-issuer"
        ),
    };
    let require_tlog = args.trusted_root.is_some() && !args.insecure_ignore_tlog;
    let root = match &args.trusted_root {
        Some(p) => Some(
            TrustedRoot::from_json(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| format!("loading trusted root {}", p.display()))?,
        ),
        None => None,
    };
    let opts = args.image_args.open_options()?;
    let store = SignatureStore::open(&args.image, &opts.registry)
        .with_context(|| format!("opening {}", args.image))?;
    let subject = store
        .resolve()
        .with_context(|| format!("resolving {}", args.image))?;

    let (checks, entries): (&str, Vec<(Value, Value)>) = match (key, root) {
        (Some(key), root) => {
            let root = match root {
                Some(r) => r,
                None => {
                    TrustedRoot::public_good().context("loading the embedded public-good root")?
                }
            };
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
        (None, Some(root)) => {
            if !annotations.is_empty() {
                bail!("-a annotations apply to key-based signatures only");
            }
            let identity = CertificateIdentity {
                subject: args.certificate_identity.clone().unwrap_or_default(),
                issuer: args.certificate_oidc_issuer.clone().unwrap_or_default(),
            };
            let bundles = verify_bundles_keyless(&store, &subject, &root, &identity);
            let legacy = verify_signatures_keyless(&store, &subject, &root, &identity);
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
            ("  - The signatures were verified against a certificate that chains to the trusted root\n  - The certificate identity and OIDC issuer matched\n  - The signing time came from a verified Rekor SET or RFC 3161 timestamp, and the certificate was valid then\n  - The transparency log entries were verified offline\n  - The signed payload names the image digest", entries)
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
