//! `customs check IMAGE --policy customs.toml`: the CI gate. Gathers the facts the policy asks
//! about (vulnerability scan, keyed signatures and attestations, the image's registry, base
//! and age, the best-practice audit), evaluates them with customs-policy, prints every
//! violated rule with its reason, and exits 1 on any violation, 0 when clean, 2 on errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use customs_image::{Image, Target};
use customs_policy::render::{self, Outcome};
use customs_policy::{AttestationOutcome, CheckInput, ImageAge, KeyOutcome, Policy};
use customs_sign::store::SignatureStore;
use customs_sign::verify_image::{verify_attestations, verify_signatures};
use customs_vulndb::{IgnoreFile, VexDocument};

use crate::cmd::db::{self, DbArg};
use crate::cmd::image_args::ImageArgs;
use crate::cmd::key::load_public_key;
use crate::cmd::sbom;
use crate::cmd::scan::DEFAULT_IGNOREFILE;

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path. Signatures and
    /// attestations can only be checked on a registry reference or an oci: layout.
    pub image: String,
    /// The policy file (TOML; see docs/policy.md).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json", "sarif"])]
    pub format: String,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Ignore file applied to the scan [default: .customsignore in the current directory, if
    /// present].
    #[arg(long, value_name = "PATH")]
    pub ignorefile: Option<PathBuf>,
    /// OpenVEX document whose not_affected/fixed statements suppress findings. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Warn when the database is older than this (e.g. 7d, 36h).
    #[arg(long, value_name = "AGE", env = "CUSTOMS_MAX_DB_AGE", default_value = "7d", value_parser = db::parse_age)]
    pub max_db_age: Duration,
    #[command(flatten)]
    pub db: DbArg,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let policy = Policy::load(&args.policy)?;
    let now = crate::cmd::audit::now_from_env();

    // The scan, when the policy has vulnerability rules; it opens the image too.
    let (image, findings) = if policy.vulnerabilities.is_some() {
        let (image, findings) = scan(&args)?;
        (image, Some(findings))
    } else {
        (args.image_args.open(&args.image)?, None)
    };

    let mut input = CheckInput {
        image: args.image.clone(),
        reference: match Target::parse(&args.image) {
            Ok(Target::Registry(r)) => Some(format!("{}/{}", r.registry, r.repository)),
            _ => None,
        },
        base_name: image.base_image().map(|(name, _)| name),
        findings,
        ..CheckInput::default()
    };

    if policy.signatures.is_some() || policy.attestations.is_some() {
        signatures(&args, &policy, &mut input)?;
    }

    if let Some(opts) = customs_policy::audit_options(&policy, now) {
        opts.validate().context("audit options")?;
        let report = customs_audit::audit(&image, &opts)
            .with_context(|| format!("auditing {}", image.name))?;
        input.audit = Some(report);
    }
    input.age = match &input.audit {
        Some(report) => match (report.age.days, &report.age.unknown_reason) {
            (Some(days), _) => ImageAge::Days(days),
            (None, Some(reason)) => ImageAge::Unknown(reason.clone()),
            (None, None) => ImageAge::Unknown("no timestamp".to_string()),
        },
        None => age(&image, now),
    };

    let violations = customs_policy::evaluate(&policy, &input);
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
    let text = match args.format.as_str() {
        "json" => render::json(&outcome)?,
        "sarif" => render::sarif(&outcome, env!("CARGO_PKG_VERSION"))?,
        _ => render::table(&outcome),
    };
    sbom::emit(args.output.as_ref(), &text)?;
    if args.format != "table" || args.output.is_some() {
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

/// Opens and inventories the image, matches it, and applies the ignore file and VEX.
fn scan(args: &Args) -> Result<(Image, Vec<customs_vulndb::Finding>)> {
    let db_path = db::path(&args.db)?;
    let database = db::open(&db_path, args.max_db_age)?;
    let ignore = match &args.ignorefile {
        Some(p) => Some(IgnoreFile::load(p)?),
        None => {
            let p = Path::new(DEFAULT_IGNOREFILE);
            p.is_file().then(|| IgnoreFile::load(p)).transpose()?
        }
    };
    let vex = args
        .vex
        .iter()
        .map(|p| VexDocument::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (image, result) = sbom::inventory(&args.image_args, &args.image, args.no_cache)?;
    let matched = customs_vulndb::match_inventory(&database, &result.inventory);
    for w in &matched.warnings {
        log::warn!("{}: {}", w.path, w.message);
    }
    let outcome = customs_vulndb::suppress(
        matched.findings,
        ignore.as_ref(),
        &vex,
        customs_vulndb::suppress::today_utc(),
    );
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    Ok((image, outcome.kept))
}

/// Verifies each required key's signatures and each required attestation type. A store
/// that cannot be opened or read is a reason, not an error: the gate reports it as a
/// violation. A key file that cannot be read is an error in the policy.
fn signatures(args: &Args, policy: &Policy, input: &mut CheckInput) -> Result<()> {
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
    let opts = args.image_args.open_options()?;
    let store = SignatureStore::open(&args.image, &opts.registry)
        .map_err(|e| format!("cannot read signatures of {}: {e}", args.image))
        .and_then(|store| {
            let subject = store
                .resolve()
                .map_err(|e| format!("resolving {}: {e}", args.image))?;
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

/// The image's age from its config's `created`, in whole days before `now` (Unix seconds;
/// the system clock when `None`).
fn age(image: &Image, now: Option<i64>) -> ImageAge {
    let Some(created) = image.config.created.as_deref() else {
        return ImageAge::Unknown("the config has no created time".to_string());
    };
    let Some(secs) = unix_seconds(created) else {
        return ImageAge::Unknown(format!("created time {created:?} is not RFC 3339"));
    };
    if secs <= 0 {
        return ImageAge::Unknown(format!(
            "created time {created} is a reproducible-build placeholder"
        ));
    }
    let now = now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    ImageAge::Days((now - secs).div_euclid(86_400).max(0))
}

/// Unix seconds of an RFC 3339 time (`2019-08-20T20:19:55.211423266Z`, `...+02:00`).
fn unix_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn rfc3339_times_become_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2025-02-28T19:18:11Z"), Some(1_740_770_291));
        assert_eq!(
            unix_seconds("2025-02-28T19:18:11.123456789Z"),
            Some(1_740_770_291)
        );
        assert_eq!(
            unix_seconds("2025-02-28T21:18:11+02:00"),
            Some(1_740_770_291)
        );
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2025-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("2025-02-28T19:18:11"), None);
    }
}
