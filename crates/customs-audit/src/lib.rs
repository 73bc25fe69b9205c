//! customs-audit checks an image against container best practice: least privilege, secrets,
//! minimal layers, immutability and trusted bases. Each rule has a stable id
//! (`CUS-PRIV-001`), a default severity and one message site ([`rules`]). It reads images
//! through customs-image (in its own walk, or as a [`Collector`] fed by the inventory's walk so
//! that `customs check` reads each layer once) and produces a plain [`AuditReport`]; it renders
//! nothing (customs-report does), matches no vulnerabilities and signs nothing.
//!
//! ```no_run
//! use customs_audit::{audit, AuditOptions};
//! use customs_image::{Image, OpenOptions};
//! let image = Image::open_str("oci-archive:image.tar", &OpenOptions::default())?;
//! let report = audit(&image, &AuditOptions::default())?;
//! for f in &report.findings {
//!     println!("{} {:?} {}", f.id, f.severity, f.message);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The flow: one streaming pass over the layers (`collect`) gathers the merged filesystem,
//! every layer's entries with content hashes, the small system files the checks read
//! (`/etc/passwd`, `/etc/shadow`, `/etc/group`, os-release) and secret matches in file
//! contents; then each family module (`privilege`, `secrets`, `layers`, `freshness`, `base`)
//! turns those facts into [`rules::Diag`]s, which become [`Finding`]s here.
#![deny(missing_docs)]
#![warn(unnameable_types)]

mod cfg;
mod eol;
pub mod redact;
pub mod rules;
pub mod secrets;
mod time;

mod base;
mod collect;
mod freshness;
mod layers;
mod privilege;

use std::collections::HashMap;

use customs_image::{FileSystem, Image, ImageError};
use customs_inventory::OsInfo;
use serde::Serialize;

pub use cfg::{AuditOptions, DigestLookup};
pub use collect::{Collector, LayerFacts};
pub use layers::{LayerEntry, LayerStats, WasteItem, WasteKind};
pub use rules::{Diag, Severity};

/// Version of the JSON report schema (`docs/audit.md`).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
/// Why an audit could not run.
pub enum AuditError {
    #[error(transparent)]
    /// The image could not be read.
    Image(#[from] ImageError),
    #[error("unknown rule id {0:?}")]
    /// An enabled or disabled rule id is not a rule.
    UnknownRule(String),
    #[error("invalid audit option: {0}")]
    /// An audit option is out of range (the message says which).
    InvalidOption(String),
    /// A [`Collector`] was finished before it saw every layer.
    #[error("the audit saw {seen} of the image's {layers} layers")]
    Incomplete {
        /// Layers the collector saw.
        seen: usize,
        /// Layers the image has.
        layers: usize,
    },
}

/// Where a finding was seen. Every field is optional; layers are named by diff-id and index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Path inside the image, without a leading `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Diff-id of the layer the evidence is in (that added the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Index of that layer, 0 = base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    /// Diff-id of the later layer that removed or replaced the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_in: Option<String>,
    /// Index of that layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_in_index: Option<usize>,
    /// Index into the config's `history`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_index: Option<usize>,
    /// Config field, as a JSON path (`config.User`, `config.Env[2]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_key: Option<String>,
}

/// One rule violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id (`CUS-PRIV-001`).
    pub id: &'static str,
    /// How serious the finding is.
    pub severity: Severity,
    /// The rule's title.
    pub title: &'static str,
    /// Where it was seen.
    pub evidence: Evidence,
    /// What was found; secret values masked.
    pub message: String,
    /// What to do.
    pub fix: &'static str,
}

/// What was audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageInfo {
    /// The image as the user named it.
    pub name: String,
    /// Digest of the manifest audited.
    pub manifest_digest: String,
    /// Digest of the image config.
    pub config_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The OS the image's release files name, when they name one.
    pub os: Option<OsInfo>,
    /// `config.User` as written (empty: unset).
    pub user: String,
}

/// The image's age as the freshness check judged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Age {
    /// Newest timestamp among the config's `created` and its history, RFC 3339 as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Whole days between `created` and the audit time; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Why the age is unknown (`no timestamp`, `reproducible-build timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

/// The base image, from the `org.opencontainers.image.base.*` annotations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaseInfo {
    /// The base image's name, as annotated.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The base image's digest, as annotated.
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The registry the base image comes from.
    pub registry: Option<String>,
    /// What the registry look-up returned for `name` now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_digest: Option<String>,
}

/// The audit's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was audited.
    pub image: ImageInfo,
    /// Findings ordered by severity (highest first), then id, then evidence path.
    pub findings: Vec<Finding>,
    /// Layer sizes and wasted bytes.
    pub layers: LayerStats,
    /// How old the image is.
    pub age: Age,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The base image, when the image names one.
    pub base: Option<BaseInfo>,
    /// Problems that did not stop the audit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Everything the checks look at, gathered by a [`Collector`].
pub(crate) struct Ctx<'a> {
    pub image: &'a Image,
    pub opts: &'a AuditOptions,
    pub fs: FileSystem,
    pub layers: Vec<LayerFacts>,
    /// Small system files by (layer, path).
    pub captured: HashMap<(usize, String), Vec<u8>>,
    pub content_hits: Vec<secrets::ContentHit>,
    pub os: Option<OsInfo>,
    /// Layer index of each history entry that made a layer.
    history_layers: Vec<Option<usize>>,
    /// Problems found while collecting.
    pub warnings: Vec<String>,
}

impl Ctx<'_> {
    /// The diff-id of layer `i`.
    pub fn diff_id(&self, i: usize) -> String {
        self.image
            .layers
            .get(i)
            .map(|l| l.diff_id.to_string())
            .unwrap_or_default()
    }

    /// The layer a history entry made, if it made one.
    pub fn layer_of_history(&self, i: usize) -> Option<usize> {
        self.history_layers.get(i).copied().flatten()
    }

    /// The history entry that made layer `layer`.
    pub fn history_of_layer(&self, layer: usize) -> Option<usize> {
        self.history_layers.iter().position(|l| *l == Some(layer))
    }

    /// Contents of a captured system file as the merged filesystem shows it (symlinks and
    /// hardlinks followed).
    pub fn read_final(&self, path: &str) -> Option<&[u8]> {
        let resolved = self.fs.resolve(path)?;
        let data_path = self.fs.data_path(&resolved)?;
        let node = self.fs.get(data_path)?;
        self.captured
            .get(&(node.layer, data_path.to_string()))
            .map(Vec::as_slice)
    }

    /// The layer that removed or replaced the copy of `path` that layer `layer` added.
    pub fn removed_in(&self, path: &str, layer: usize) -> Option<usize> {
        if self.fs.get(path).is_some_and(|n| n.layer == layer) {
            return None;
        }
        self.fs
            .deleted()
            .iter()
            .find(|d| d.path == path && d.layer == layer)
            .map(|d| d.deleted_in)
    }

    /// Evidence for a file that layer `layer` added, maybe removed by `deleted_in`.
    pub fn file_evidence(&self, path: &str, layer: usize, deleted_in: Option<usize>) -> Evidence {
        Evidence {
            path: Some(path.to_string()),
            layer: Some(self.diff_id(layer)),
            layer_index: Some(layer),
            deleted_in: deleted_in.map(|d| self.diff_id(d)),
            deleted_in_index: deleted_in,
            history_index: self.history_of_layer(layer),
            ..Evidence::default()
        }
    }

    /// Evidence for a path visible in the merged filesystem.
    pub fn visible_evidence(&self, path: &str) -> Evidence {
        match self.fs.get(path) {
            Some(n) => self.file_evidence(path, n.layer, None),
            None => Evidence {
                path: Some(path.to_string()),
                ..Evidence::default()
            },
        }
    }
}

/// Audits `image`: streams every layer once, runs every enabled rule and returns the report.
pub fn audit(image: &Image, opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    let mut collector = Collector::new(image, opts)?;
    for index in 0..image.layers.len() {
        customs_image::walk_layer_observed(image, index, &mut collector)?;
    }
    collector.finish()
}

/// Runs every enabled rule on the gathered facts.
fn report(ctx: Ctx<'_>) -> AuditReport {
    let image = ctx.image;
    let opts = ctx.opts;
    let mut diags: Vec<(Diag, Evidence)> = Vec::new();
    let mut warnings = ctx.warnings.clone();
    diags.extend(privilege::check(&ctx, &mut warnings));
    diags.extend(secrets::check_env(&ctx));
    diags.extend(secrets::check_history(&ctx));
    diags.extend(secrets::check_files(&ctx));
    let (stats, layer_diags) = layers::check(&ctx);
    diags.extend(layer_diags);
    let (age, fresh_diags) = freshness::check(&ctx);
    diags.extend(fresh_diags);
    let (base, base_diags) = base::check(&ctx);
    diags.extend(base_diags);

    let mut findings: Vec<Finding> = diags
        .into_iter()
        .filter(|(d, _)| opts.is_enabled(d.rule().id))
        .map(|(d, evidence)| {
            let rule = d.rule();
            Finding {
                id: rule.id,
                severity: opts.severity(rule.id, rule.severity),
                title: rule.title,
                // Values are masked where found; this also masks what a message quotes.
                message: redact::text(&d.message()),
                fix: rule.fix,
                evidence,
            }
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.id.cmp(b.id))
            .then(a.evidence.path.cmp(&b.evidence.path))
            .then(a.evidence.layer_index.cmp(&b.evidence.layer_index))
            .then(a.message.cmp(&b.message))
    });
    findings.dedup();
    AuditReport {
        schema_version: SCHEMA_VERSION,
        image: ImageInfo {
            name: redact::text(&image.name),
            manifest_digest: image.manifest_digest.to_string(),
            config_digest: image.config_digest.to_string(),
            os: ctx.os.clone(),
            user: redact::text(image.config.config.user.as_deref().unwrap_or_default()),
        },
        findings,
        layers: stats,
        age,
        base: base.map(|b| BaseInfo {
            name: redact::text(&b.name),
            ..b
        }),
        warnings: warnings.iter().map(|w| redact::text(w)).collect(),
    }
}
