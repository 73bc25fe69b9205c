//! Trusted base: the base image named by the `org.opencontainers.image.base.name` and
//! `.digest` annotations, its registry against the allow-list, and — when the caller gives a
//! registry look-up — whether the base tag now points at a different (newer) image.

use customs_image::Reference;

use crate::rules::Diag;
use crate::{BaseInfo, Ctx, Evidence};

fn annotation_evidence(key: &str) -> Evidence {
    Evidence {
        config_key: Some(format!("annotations.{key}")),
        ..Evidence::default()
    }
}

/// Runs the base-image rules. Images without the annotations get no finding.
pub fn check(ctx: &Ctx) -> (Option<BaseInfo>, Vec<(Diag, Evidence)>) {
    let mut out = Vec::new();
    let Some((name, digest)) = ctx.image.base_image() else {
        return (None, out);
    };
    let registry = Reference::parse(&name).ok().map(|r| r.registry);
    let allowed = &ctx.opts.allowed_registries;
    if !allowed.is_empty() {
        let ok = registry
            .as_deref()
            .is_some_and(|r| allowed.iter().any(|a| a.eq_ignore_ascii_case(r)));
        if !ok {
            out.push((
                Diag::DisallowedRegistry {
                    base: name.clone(),
                    registry: registry
                        .clone()
                        .unwrap_or_else(|| "an unparsable reference".into()),
                    allowed: allowed.clone(),
                },
                annotation_evidence("org.opencontainers.image.base.name"),
            ));
        }
    }
    let current = ctx
        .opts
        .base_digest_lookup
        .as_ref()
        .and_then(|lookup| lookup(&name));
    if let (Some(recorded), Some(now)) = (&digest, &current) {
        if recorded != now {
            out.push((
                Diag::OutdatedBase {
                    base: name.clone(),
                    recorded: recorded.clone(),
                    current: now.clone(),
                },
                annotation_evidence("org.opencontainers.image.base.digest"),
            ));
        }
    }
    (
        Some(BaseInfo {
            name,
            digest,
            registry,
            current_digest: current,
        }),
        out,
    )
}
