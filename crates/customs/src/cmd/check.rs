//! `customs check IMAGE --policy customs.toml`: the CI gate. Gathers the facts the policy asks
//! about (vulnerability scan, keyed signatures and attestations, the image's registry, base
//! and age, the best-practice audit), evaluates them with customs-policy, prints every
//! violated rule with its reason, and exits 1 on any violation, 0 when clean, 2 on errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_audit::{AuditOptions, AuditReport};
use customs_image::{Image, Target};
use customs_inventory::Warning;
use customs_policy::{AttestationOutcome, CheckInput, ImageAge, KeyOutcome, Policy, Violation};
use customs_report::policy::{self as render, Outcome};
use customs_sign::verify_image::{verify_attestations, verify_signatures};

use crate::cmd::audit::inventory_and_audit;
use crate::cmd::format::TableJsonSarif;
use crate::cmd::image_args::{ImageArgs, ImageTarget};
use crate::cmd::key::load_public_key;
use crate::cmd::sbom;
use crate::cmd::vuln_args::VulnArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path. Signatures and
    /// attestations can only be checked on a registry reference or an oci: layout.
    pub image: String,
    /// The policy file (TOML; see docs/policy.md).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableJsonSarif::Table)]
    pub format: TableJsonSarif,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub vuln: VulnArgs,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let policy = Policy::load(&args.policy)?;
    let now = crate::clock::get().unix();
    // The image argument, parsed once; the scan, the audit, the signature store and the
    // registry name the policy checks all read this one value.
    let target = args.image_args.target(&args.image)?;
    let mut warnings = Vec::new();

    let audit_opts = customs_policy::audit_options(&policy, Some(now));
    if let Some(opts) = &audit_opts {
        opts.validate().context("audit options")?;
    }
    // The scan, when the policy has vulnerability rules; it opens the image too, and the
    // audit rides along in the same walk of each layer.
    let mut damaged = None;
    let (image, findings, audit) = if policy.vulnerabilities.is_some() {
        let (image, findings, audit) = scan(
            &args,
            &target,
            audit_opts.as_ref(),
            &mut warnings,
            &mut damaged,
        )?;
        (image, Some(findings), audit)
    } else {
        let image = target.open()?;
        let audit = match &audit_opts {
            Some(opts) => Some(
                customs_audit::audit(&image, opts)
                    .with_context(|| format!("auditing {}", image.name))?,
            ),
            None => None,
        };
        (image, None, audit)
    };

    let mut input = CheckInput {
        image: args.image.clone(),
        reference: match &target.parsed {
            Target::Registry(r) => Some(format!("{}/{}", r.registry, r.repository)),
            _ => None,
        },
        base_name: image.base_image().map(|(name, _)| name),
        findings,
        ..CheckInput::default()
    };

    if policy.signatures.is_some() || policy.attestations.is_some() {
        signatures(&target, &policy, &mut input)?;
    }

    input.audit = audit;
    input.age = match &input.audit {
        Some(report) => match (report.age.days, &report.age.unknown_reason) {
            (Some(days), _) => ImageAge::Days(days),
            (None, Some(reason)) => ImageAge::Unknown(reason.clone()),
            (None, None) => ImageAge::Unknown("no timestamp".to_string()),
        },
        None => age(&image, now),
    };

    let mut violations = customs_policy::evaluate(&policy, &input);
    if let Some(reason) = damaged {
        violations.insert(
            0,
            Violation {
                id: "POL-DB-001",
                rule: "--allow-damaged-db",
                reason,
                severity: customs_audit::Severity::High,
            },
        );
    }
    crate::warnings::print(&warnings);
    let passed_unknown = input
        .findings
        .as_deref()
        .map_or(0, |f| customs_policy::unknown_passed(&policy, f));
    if passed_unknown > 0 {
        eprintln!(
            "warning: {passed_unknown} finding(s) have no severity rating from any source and were let through because the policy says vulnerabilities.unknown = \"pass\""
        );
    }
    let digest = image.manifest_digest.to_string();
    let policy_name = args.policy.display().to_string();
    let outcome = Outcome::new(&args.image, Some(&digest), &policy_name, &violations);
    let text = match args.format {
        TableJsonSarif::Json => render::json(&outcome)?,
        TableJsonSarif::Sarif => render::sarif(&outcome, env!("CARGO_PKG_VERSION"))?,
        TableJsonSarif::Table => render::table(&outcome),
    };
    sbom::emit(args.output.as_ref(), &text)?;
    if args.format != TableJsonSarif::Table || args.output.is_some() {
        if violations.is_empty() {
            eprintln!("policy passed");
        } else {
            eprintln!("{} policy violation(s)", violations.len());
        }
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Opens and inventories the image (auditing it in the same walk when `audit` is given) and
/// runs the one scan pipeline on it; its warnings go into `warnings`.
fn scan(
    args: &Args,
    target: &ImageTarget,
    audit: Option<&AuditOptions>,
    warnings: &mut Vec<Warning>,
    damaged: &mut Option<String>,
) -> Result<(Image, Vec<customs_vulndb::Finding>, Option<AuditReport>)> {
    let (database, suppression) = args.vuln.open()?;
    let (image, result, report) = inventory_and_audit(target, args.no_cache, audit, None)?;
    let outcome = customs_vulndb::scan(&database, &result.inventory, &suppression);
    *damaged = crate::cmd::vuln_args::damaged_db(&args.vuln, &result.inventory);
    warnings.extend(result.inventory.warnings);
    warnings.extend(outcome.warnings);
    Ok((image, outcome.findings, report))
}

/// Verifies each required key's signatures and each required attestation type. A store
/// that cannot be opened or read is a reason, not an error: the gate reports it as a
/// violation. A key file that cannot be read is an error in the policy.
fn signatures(target: &ImageTarget, policy: &Policy, input: &mut CheckInput) -> Result<()> {
    let required_keys = policy
        .signatures
        .as_ref()
        .map(|s| s.required_keys.clone())
        .unwrap_or_default();
    let keys = required_keys
        .iter()
        .map(|k| Ok((k.clone(), load_public_key(k)?)))
        .collect::<Result<Vec<_>>>()?;
    let attestation_key = match &policy.attestations {
        Some(a) => Some(load_public_key(&a.key)?),
        None => None,
    };
    let store = target
        .signatures()
        .map_err(|e| format!("cannot read signatures of {}: {e}", target.text))
        .and_then(|store| {
            let subject = store
                .resolve()
                .map_err(|e| format!("resolving {}: {e}", target.text))?;
            Ok((store, subject))
        });
    for (path, key) in &keys {
        let result = match &store {
            Err(reason) => Err(reason.clone()),
            Ok((store, subject)) => verify_signatures(store, subject, key, &Default::default())
                .map(|verified| {
                    verified
                        .into_iter()
                        .map(|v| String::from_utf8_lossy(&v.payload).into_owned())
                        .collect()
                })
                .map_err(|e| e.to_string()),
        };
        input.signatures.push(KeyOutcome {
            key: path.clone(),
            result,
        });
    }
    if let (Some(a), Some(key)) = (&policy.attestations, &attestation_key) {
        for kind in &a.required_types {
            let kind = kind.get_ref();
            let uri = customs_sign::intoto::predicate_type_uri(kind)?;
            let result = match &store {
                Err(reason) => Err(reason.clone()),
                Ok((store, subject)) => verify_attestations(store, subject, key, Some(&uri))
                    .map(|statements| statements.len())
                    .map_err(|e| e.to_string()),
            };
            input.attestations.push(AttestationOutcome {
                kind: kind.clone(),
                result,
            });
        }
    }
    Ok(())
}

/// The image's age from its config's `created`, in whole days before `now` (Unix seconds).
fn age(image: &Image, now: i64) -> ImageAge {
    let Some(created) = image.config.created.as_deref() else {
        return ImageAge::Unknown("the config has no created time".to_string());
    };
    let Ok(created_at) = created.parse::<jiff::Timestamp>() else {
        return ImageAge::Unknown(format!("created time {created:?} is not RFC 3339"));
    };
    let secs = created_at.as_second();
    if secs <= 0 {
        return ImageAge::Unknown(format!(
            "created time {created} is a reproducible-build placeholder"
        ));
    }
    ImageAge::Days((now - secs).div_euclid(86_400).max(0))
}
