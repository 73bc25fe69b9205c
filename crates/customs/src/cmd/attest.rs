//! `customs attest` and `customs verify-attestation`: in-toto statements in DSSE envelopes,
//! stored under `sha256-<hex>.att` as cosign stores them, and verified against a key.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_sign::intoto::{self, Statement};
use customs_sign::verify_image::{
    attest_image, verify_attestations, verify_attestations_keyless, VerifyError,
};

use crate::cmd::image_args::ImageArgs;
use crate::cmd::key::{load_private_key, load_public_key};
use crate::cmd::verify::{failed, OutputFormat};
use crate::cmd::verify_bundle::{load_root, IdentityArgs, PkiArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The encrypted private key. Its password comes from CUSTOMS_PASSWORD or
    /// COSIGN_PASSWORD, else from a prompt.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Predicate type: cyclonedx, spdx, spdxjson, slsaprovenance, slsaprovenance02,
    /// slsaprovenance1, link, vuln, openvex, custom, or a URI.
    #[arg(long = "type", default_value = "custom")]
    pub kind: String,
    /// The predicate file (JSON; text for custom and spdx).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The public key (PEM), for keyed attestations.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer", "certificate_identity_regexp", "certificate_oidc_issuer_regexp"])]
    pub key: Option<PathBuf>,
    /// Keyless: the Sigstore trusted_root.json (default: the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Keyless: accept a certificate without a verified SCT.
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub pki: PkiArgs,
    /// Required predicate type (a name as for attest, or a URI).
    #[arg(long = "type", default_value = "custom")]
    pub kind: String,
    /// text: one predicate per line; json: the verified statements as a JSON array.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub image_args: ImageArgs,
    /// The image: a registry reference or oci:DIR[:tag|@digest].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let raw = std::fs::read(&args.predicate)
        .with_context(|| format!("reading predicate {}", args.predicate.display()))?;
    attest(&args.image, &args.image_args, &args.key, &args.kind, &raw)
        .with_context(|| format!("predicate {}", args.predicate.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Signs `raw` as a predicate of type `kind` for `image` and stores the attestation beside
/// it (`customs attest`, `customs sbom --attest`, `customs scan --attest`).
pub fn attest(
    image: &str,
    image_args: &crate::cmd::image_args::ImageArgs,
    key_path: &std::path::Path,
    kind: &str,
    raw: &[u8],
) -> Result<()> {
    let uri = intoto::predicate_type_uri(kind)?;
    let predicate = intoto::predicate_from_file(kind, raw, &now_rfc3339())?;
    let key = load_private_key(key_path)?;
    let store = image_args.signatures(image)?;
    let (subject, _) = attest_image(&store, &key, |s| {
        Statement::new(&s.docker_reference, &s.digest.to_string(), &uri, predicate)
    })
    .with_context(|| format!("attesting {image}"))?;
    eprintln!(
        "Pushed attestation ({uri}) for {}",
        subject.docker_reference
    );
    eprintln!("Attested {}", subject.digest);
    Ok(())
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let uri = intoto::predicate_type_uri(&args.kind)?;
    let key = args.key.as_deref().map(load_public_key).transpose()?;
    let identity = args.identity.matcher()?;
    let store = args.image_args.signatures(&args.image)?;
    let subject = store
        .resolve()
        .with_context(|| format!("resolving {}", args.image))?;
    let (result, checks) = match (key, identity) {
        (Some(key), _) => (
            verify_attestations(&store, &subject, &key, Some(&uri)),
            "  - The DSSE signature was verified against the specified public key",
        ),
        (None, Some(identity)) => {
            let root = args
                .pki
                .apply(load_root(args.trusted_root.as_ref(), false)?)?;
            (
                verify_attestations_keyless(
                    &store,
                    &subject,
                    &root,
                    &identity,
                    Some(&uri),
                    !args.insecure_ignore_sct,
                ),
                "  - The DSSE signature was verified against a certificate that chains to the trusted root\n  - The certificate identity, OIDC issuer and any GitHub-workflow claims matched\n  - The signing time came from a verified Rekor SET or RFC 3161 timestamp, and the certificate was valid then\n  - The transparency log entries were verified offline",
            )
        }
        (None, None) => bail!(
            "give --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp] (keyless)"
        ),
    };
    let statements = match result {
        Ok(s) => s,
        Err(VerifyError::Store(e)) => {
            return Err(e).with_context(|| format!("reading attestations of {}", args.image))
        }
        Err(e) => return Ok(failed(&e)),
    };
    eprintln!(
        "Verification for {}@{} --\nThe following checks were performed on each of these attestations:\n{checks}\n  - The in-toto subject names the image digest\n  - The predicate type is {uri}",
        subject.name, subject.digest
    );
    match args.output {
        OutputFormat::Text => {
            for st in &statements {
                println!("{}", serde_json::to_string(&st.predicate)?);
            }
        }
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&statements)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's time as RFC 3339 UTC (`2025-02-28T19:18:11Z`), for cosign's custom predicate.
pub fn now_rfc3339() -> String {
    rfc3339(crate::clock::get().unix())
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // The keyless test bundle's integrated time, as its README states it.
        assert_eq!(rfc3339(1_740_770_291), "2025-02-28T19:18:11Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
