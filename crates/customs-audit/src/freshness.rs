//! Immutability and updates: the image's age, an end-of-life OS release, VOLUME over /dev,
//! /proc or /sys, ONBUILD triggers, a missing HEALTHCHECK and ADD from a remote URL.
//!
//! The age is taken from the newest of the config's `created` and its history timestamps
//! (tools that rebase an image often copy the base's `created`). Timestamps before 1990 —
//! reproducible builds stamp the Unix epoch, `SOURCE_DATE_EPOCH=0` or 1980-01-01 — and
//! timestamps in the future make the age unknown: no finding.

use std::sync::LazyLock;

use regex::Regex;

use crate::rules::Diag;
use crate::time::{parse_date, parse_rfc3339};
use crate::{eol, Age, Ctx, Evidence};

/// Timestamps before this (1990-01-01) are reproducible-build placeholders.
const PLAUSIBLE_AFTER: i64 = 631_152_000;

fn config_evidence(key: &str) -> Evidence {
    Evidence {
        config_key: Some(key.to_string()),
        ..Evidence::default()
    }
}

/// Judges the image's age.
pub fn age(ctx: &Ctx) -> Age {
    let cfg = &ctx.image.config;
    let stamps: Vec<(&str, i64)> = cfg
        .created
        .iter()
        .chain(cfg.history.iter().filter_map(|h| h.created.as_ref()))
        .filter_map(|s| parse_rfc3339(s).map(|t| (s.as_str(), t)))
        .collect();
    let Some(&(text, newest)) = stamps.iter().max_by_key(|(_, t)| *t) else {
        return Age {
            created: cfg.created.clone(),
            days: None,
            unknown_reason: Some("no timestamp".into()),
        };
    };
    let now = ctx.opts.now_unix();
    let unknown = if newest < PLAUSIBLE_AFTER {
        Some("reproducible-build timestamp")
    } else if newest > now + 86_400 {
        Some("timestamp in the future")
    } else {
        None
    };
    Age {
        created: Some(text.to_string()),
        days: unknown.is_none().then(|| (now - newest) / 86_400),
        unknown_reason: unknown.map(str::to_string),
    }
}

/// Runs every freshness rule.
pub fn check(ctx: &Ctx) -> (Age, Vec<(Diag, Evidence)>) {
    let mut out = Vec::new();
    let cfg = &ctx.image.config.config;
    let age = age(ctx);
    if let (Some(days), Some(created)) = (age.days, &age.created) {
        if days > ctx.opts.max_age_days as i64 {
            out.push((
                Diag::OldImage {
                    created: created.clone(),
                    days,
                    maximum: ctx.opts.max_age_days,
                },
                config_evidence("created"),
            ));
        }
    }

    if let Some(os) = &ctx.os {
        if let Some(entry) = eol::lookup(os) {
            let now = ctx.opts.now_unix();
            if parse_date(entry.eol).is_some_and(|eol| eol <= now) {
                let name = os
                    .pretty_name
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", os.family, os.version));
                out.push((
                    Diag::EolOs {
                        os: format!("{name} ({} {})", os.family, entry.cycle),
                        eol: entry.eol.to_string(),
                        source: entry.source.to_string(),
                    },
                    Evidence {
                        path: Some("etc/os-release".into()),
                        ..Evidence::default()
                    },
                ));
            }
        }
    }

    for volume in cfg.volumes.iter().flat_map(|v| v.keys()) {
        let norm = format!("/{}", volume.trim().trim_matches('/'));
        if ["/dev", "/proc", "/sys"]
            .iter()
            .any(|p| norm == *p || norm.starts_with(&format!("{p}/")))
        {
            out.push((
                Diag::SystemVolume {
                    volume: volume.clone(),
                },
                config_evidence("config.Volumes"),
            ));
        }
    }

    for (i, trigger) in cfg.on_build.iter().flatten().enumerate() {
        out.push((
            Diag::Onbuild {
                trigger: trigger.clone(),
            },
            config_evidence(&format!("config.OnBuild[{i}]")),
        ));
    }

    let has_healthcheck = cfg.healthcheck.as_ref().is_some_and(|h| {
        let test = h.get("Test").and_then(|t| t.as_array());
        match test {
            Some(t) => t.first().and_then(|v| v.as_str()) != Some("NONE") && !t.is_empty(),
            None => false,
        }
    });
    if !has_healthcheck {
        out.push((Diag::NoHealthcheck, config_evidence("config.Healthcheck")));
    }

    static ADD_URL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\bADD\s+(?:--[A-Za-z-]+(?:=\S+)?\s+)*((?:https?|ftp)://\S+)").expect("regex")
    });
    for (i, h) in ctx.image.config.history.iter().enumerate() {
        let Some(created_by) = h.created_by.as_deref() else {
            continue;
        };
        if created_by.contains("--checksum=") {
            continue;
        }
        if let Some(c) = ADD_URL.captures(created_by) {
            out.push((
                Diag::AddFromUrl {
                    url: c[1].to_string(),
                },
                Evidence {
                    history_index: Some(i),
                    layer_index: ctx.layer_of_history(i),
                    layer: ctx.layer_of_history(i).map(|l| ctx.diff_id(l)),
                    ..Evidence::default()
                },
            ));
        }
    }
    (age, out)
}
