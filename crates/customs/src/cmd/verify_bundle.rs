//! `customs verify-bundle`: verifies a standalone Sigstore bundle (message signature or DSSE)
//! for an artifact given as a file or `sha256:<hex>`, offline, with a key or a certificate
//! identity, against a trusted root (the embedded public-good one by default). This is the
//! `verify-bundle` of the Sigstore conformance suite's CLI protocol. Exit 0 when the bundle
//! verifies, 1 with the reason when it does not, 2 on other errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_sign::blob;
use customs_sign::bundle::{self, Bundle, BundlePolicy, VerifiedContent, VerifyOptions};
use customs_sign::trusted_root::TrustedRoot;
use serde_json::json;

use crate::cmd::key::load_public_key;
use customs_sign::certs::{GithubClaim, IdentityMatcher, Matcher};

pub use crate::cmd::format::BundleOutput as OutputFormat;

#[derive(clap::Args)]
pub struct Args {
    /// Use Sigstore's staging instance (not embedded: give its --trusted-root).
    #[arg(long)]
    pub staging: bool,
    /// The Sigstore bundle (JSON) to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The signer's public key (PEM), for keyed bundles.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer", "certificate_identity_regexp", "certificate_oidc_issuer_regexp"])]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The Sigstore trusted_root.json (default: the embedded public-good root).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    #[command(flatten)]
    pub pki: PkiArgs,
    /// Accept a keyed bundle without transparency-log entries.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Accept a certificate without a verified SCT (also when the trusted root lists no CT logs).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// The artifact: a file, or `sha256:<hex>` (for DSSE bundles, a subject of the statement).
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// The keyless identity flags, as cosign spells them.
#[derive(clap::Args)]
pub struct IdentityArgs {
    /// Keyless: the signer's certificate identity (email or URI SAN), exact.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,
    /// Keyless: a regular expression one SAN must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer in the signer's certificate, exact.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: a regular expression the OIDC issuer must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// Keyless: the certificate's GitHub Workflow Trigger claim (1.3.6.1.4.1.57264.1.2, or
    /// the v2 build trigger .1.20), exact.
    #[arg(long, value_name = "EVENT")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// Keyless: the GitHub Workflow SHA claim (.1.3, or the v2 source repository digest
    /// .1.13), exact.
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// Keyless: the GitHub Workflow Name claim (.1.4; Fulcio v2 has no equivalent), exact.
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// Keyless: the GitHub Workflow Repository claim, OWNER/REPO (.1.5, or the v2 source
    /// repository URI .1.12 without `https://github.com/`), exact.
    #[arg(long, value_name = "OWNER/REPO")]
    pub certificate_github_workflow_repository: Option<String>,
    /// Keyless: the GitHub Workflow Ref claim (.1.6, or the v2 source repository ref .1.14),
    /// exact.
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
}

/// Private PKI, as cosign spells it: certificate authorities given as PEM files instead of the
/// trusted root's (whose Rekor, CT-log and timestamp keys still apply).
#[derive(clap::Args)]
pub struct PkiArgs {
    /// PEM file of root certificates: they replace the trusted root's certificate authorities.
    #[arg(long, value_name = "FILE", conflicts_with = "certificate_chain")]
    pub ca_roots: Option<PathBuf>,
    /// PEM file of intermediate certificates between the signing certificate and --ca-roots.
    #[arg(long, value_name = "FILE", requires = "ca_roots")]
    pub ca_intermediates: Option<PathBuf>,
    /// PEM file of the signing certificate's chain: its parent intermediate first, the root
    /// last. The root is trusted and the rest are intermediates (cosign's meaning).
    #[arg(long, value_name = "FILE")]
    pub certificate_chain: Option<PathBuf>,
}

impl PkiArgs {
    /// `root` with its certificate authorities replaced when a private PKI is given.
    pub fn apply(&self, root: TrustedRoot) -> Result<TrustedRoot> {
        let read = |p: &PathBuf| -> Result<Vec<Vec<u8>>> {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            customs_sign::trusted_root::pem_certificates(&text)
                .with_context(|| format!("reading certificates from {}", p.display()))
        };
        let (roots, intermediates) = match (&self.ca_roots, &self.certificate_chain) {
            (Some(r), _) => (
                read(r)?,
                self.ca_intermediates
                    .as_ref()
                    .map(read)
                    .transpose()?
                    .unwrap_or_default(),
            ),
            (None, Some(c)) => {
                let mut chain = read(c)?;
                let root = chain.pop().unwrap_or_default();
                (vec![root], chain)
            }
            (None, None) => return Ok(root),
        };
        root.with_private_pki(&roots, &intermediates)
            .context("loading the private PKI")
    }
}

impl IdentityArgs {
    /// None when no identity flag is given; an error when only one half is.
    pub fn matcher(&self) -> Result<Option<IdentityMatcher>> {
        let pick = |exact: &Option<String>, re: &Option<String>| -> Result<Option<Matcher>> {
            Ok(match (exact, re) {
                (Some(s), _) => Some(Matcher::Exact(s.clone())),
                (None, Some(r)) => Some(Matcher::regexp(r)?),
                (None, None) => None,
            })
        };
        let subject = pick(
            &self.certificate_identity,
            &self.certificate_identity_regexp,
        )?;
        let issuer = pick(
            &self.certificate_oidc_issuer,
            &self.certificate_oidc_issuer_regexp,
        )?;
        let github: Vec<(GithubClaim, String)> = [
            (
                GithubClaim::Trigger,
                &self.certificate_github_workflow_trigger,
            ),
            (GithubClaim::Sha, &self.certificate_github_workflow_sha),
            (GithubClaim::Name, &self.certificate_github_workflow_name),
            (
                GithubClaim::Repository,
                &self.certificate_github_workflow_repository,
            ),
            (GithubClaim::Ref, &self.certificate_github_workflow_ref),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.clone().map(|v| (c, v)))
        .collect();
        match (subject, issuer) {
            (Some(subject), Some(issuer)) => Ok(Some(IdentityMatcher {
                subject,
                issuer,
                github,
            })),
            (None, None) if !github.is_empty() => {
                bail!("--certificate-github-workflow-* flags need --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
            }
            (None, None) => Ok(None),
            (Some(_), None) => {
                bail!("--certificate-identity[-regexp] needs --certificate-oidc-issuer[-regexp]")
            }
            (None, Some(_)) => {
                bail!("--certificate-oidc-issuer[-regexp] needs --certificate-identity[-regexp]")
            }
        }
    }
}

/// Loads `--trusted-root`, or the embedded public-good root.
pub fn load_root(path: Option<&PathBuf>, staging: bool) -> Result<TrustedRoot> {
    match path {
        Some(p) => TrustedRoot::from_json(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("loading trusted root {}", p.display())),
        None if staging => {
            bail!("the staging trusted root is not embedded: give it with --trusted-root")
        }
        None => TrustedRoot::public_good().context("loading the embedded public-good root"),
    }
}

/// The artifact's SHA-256: `sha256:<hex>` as is, a file streamed.
pub fn artifact_digest(arg: &str) -> Result<[u8; 32]> {
    if let Some(d) = blob::parse_digest_argument(arg) {
        return Ok(d);
    }
    blob::sha256_file(std::path::Path::new(arg)).with_context(|| format!("reading {arg}"))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let root = args
        .pki
        .apply(load_root(args.trusted_root.as_ref(), args.staging)?)?;
    let key = args.key.as_deref().map(load_public_key).transpose()?;
    let identity = args.identity.matcher()?;
    if key.is_none() && identity.is_none() {
        bail!("give --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]");
    }
    let policy = BundlePolicy {
        key,
        identity: None,
        identity_matcher: identity,
        insecure_ignore_tlog: args.insecure_ignore_tlog,
        attestation: Default::default(),
    };
    let options = VerifyOptions {
        insecure_ignore_sct: args.insecure_ignore_sct,
        now: None,
    };
    check(
        &args.bundle,
        &args.artifact,
        &root,
        &policy,
        &options,
        args.output,
    )
}

/// Verifies the bundle at `bundle_path` for `artifact` (a file, streamed, or `sha256:<hex>`) and
/// reports which evidence was checked and which was absent. Exit 0 verified, 1 refused.
pub fn check(
    bundle_path: &std::path::Path,
    artifact: &str,
    root: &TrustedRoot,
    policy: &BundlePolicy,
    options: &VerifyOptions,
    output: OutputFormat,
) -> Result<ExitCode> {
    let digest = artifact_digest(artifact)?;
    let raw =
        std::fs::read(bundle_path).with_context(|| format!("reading {}", bundle_path.display()))?;
    let verified = match Bundle::from_json(&raw)
        .and_then(|b| bundle::verify(&b, root, policy, options, Some(&digest)))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "error: bundle {} does not verify: {e}",
                bundle_path.display()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let kind = match &verified.content {
        VerifiedContent::MessageSignature { .. } => "message signature".to_string(),
        VerifiedContent::Dsse { payload_type, .. } => format!("DSSE envelope ({payload_type})"),
    };
    match output {
        OutputFormat::Text => {
            eprintln!("Verified OK: {kind} over sha256:{}", hex::encode(digest));
            for line in &verified.evidence {
                eprintln!("  - {line}");
            }
            for t in &verified.signing_times {
                eprintln!("  - signing time {} from {}", t.time, t.source);
            }
            if !verified.certificate_identities.is_empty() {
                eprintln!(
                    "  - signer {} (issuer {})",
                    verified.certificate_identities.join(", "),
                    verified.certificate_issuer.as_deref().unwrap_or("?")
                );
            }
        }
        OutputFormat::Json => {
            let out = json!({
                "verified": true,
                "content": kind,
                "artifactSha256": hex::encode(digest),
                "evidence": verified.evidence,
                "signingTimes": verified.signing_times.iter().map(|t| json!({"time": t.time, "source": t.source})).collect::<Vec<_>>(),
                "verifiedTlogEntries": verified.verified_tlog_entries,
                "certificateIdentities": verified.certificate_identities,
                "certificateIssuer": verified.certificate_issuer,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
