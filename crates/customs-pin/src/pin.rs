//! Pinning: each tag is resolved through the registry to the digest it points at (the index
//! when it is an index; the platform only has to be in it), and the reference text is
//! rewritten in place as `name:tag@sha256:…`. Nothing else in the file changes.

use std::collections::HashMap;
use std::ops::Range;

use customs_image::manifest::{parse_manifest, ImageConfig, ManifestKind};
use customs_image::{Digest, Platform, Reference};
use customs_registry::{RegistryClient, RegistryError};
use serde::Serialize;

use crate::{split_written, ImageRef, Scan};

/// The largest image config read to check an image's platform.
const MAX_CONFIG_SIZE: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
/// A reference that could not be resolved to a digest.
pub enum ResolveError {
    #[error(transparent)]
    /// The registry failed.
    Registry(#[from] RegistryError),
    #[error("{reference}: {message}")]
    /// The manifest or config could not be read.
    Manifest {
        /// The reference.
        reference: String,
        /// What is wrong with the manifest.
        message: String,
    },
    #[error("{reference} has no image for platform {wanted}; available: {}", available.join(", "))]
    /// The image has no variant for the platform asked for.
    NoPlatform {
        /// The reference.
        reference: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms it offers.
        available: Vec<String>,
    },
}

#[derive(Debug, Clone)]
/// How to pin references.
pub struct PinOptions {
    /// The platform that must be in the image (an index entry, or the image's config).
    pub platform: Platform,
    /// Check already-pinned references: the digest exists, and the tag still points at it.
    pub verify: bool,
}

impl Default for PinOptions {
    fn default() -> Self {
        PinOptions {
            platform: Platform::linux_amd64(),
            verify: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
/// What pinning did to one reference.
pub enum Outcome {
    /// Rewritten with the digest.
    Pinned,
    /// Had a digest already; left alone.
    AlreadyPinned,
    /// Had a digest, which the registry has and the tag still points at.
    Verified,
    /// Had a digest the registry has, but the tag now points elsewhere.
    TagMoved,
    /// Not something that can be pinned (unresolved variable, assembled from pieces).
    Skipped,
    /// The registry could not resolve it, or the platform is missing.
    Failed,
}

/// What happened to one reference.
#[derive(Debug, Clone, Serialize)]
pub struct PinResult {
    /// 1-based line of the reference.
    pub line: usize,
    /// 1-based column of the reference.
    pub column: usize,
    /// What uses the reference.
    pub context: String,
    /// The reference as it would be pulled; `None` when it could not be resolved.
    pub reference: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// The digest written (or found, for pinned references).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The new reference text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why it was skipped or failed.
    pub message: Option<String>,
}

/// A replacement of the bytes `range` of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the file to replace.
    pub range: Range<usize>,
    /// The text written instead.
    pub replacement: String,
}

#[derive(Debug, Clone, Default)]
/// What pinning a file did: one result per reference, and the edits that rewrite it.
pub struct PinPlan {
    /// One per reference, in file order.
    pub results: Vec<PinResult>,
    /// The byte edits that write the digests into the file.
    pub edits: Vec<Edit>,
}

impl PinPlan {
    /// Number of references that failed to resolve.
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .count()
    }
}

/// The digest `reference`'s tag points at: the index digest for an index that has
/// `platform`, or the manifest digest for an image of that platform.
pub fn resolve_digest(
    client: &RegistryClient,
    reference: &Reference,
    platform: &Platform,
) -> Result<Digest, ResolveError> {
    let (bytes, media_type, digest) = client.get_manifest(reference)?;
    let manifest_error = |message: String| ResolveError::Manifest {
        reference: reference.to_string(),
        message,
    };
    match parse_manifest(&bytes, Some(&media_type)).map_err(|e| manifest_error(e.to_string()))? {
        ManifestKind::Index(index) => {
            let platforms: Vec<Platform> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.clone())
                .collect();
            if !platforms.iter().any(|p| platform.matches(p)) {
                let mut available: Vec<String> = platforms
                    .iter()
                    .filter(|p| p.os != "unknown")
                    .map(Platform::to_string)
                    .collect();
                available.dedup();
                return Err(ResolveError::NoPlatform {
                    reference: reference.to_string(),
                    wanted: platform.to_string(),
                    available,
                });
            }
        }
        ManifestKind::Image(manifest) => {
            let config =
                client.get_blob_bytes(&reference.repo(), &manifest.config, MAX_CONFIG_SIZE)?;
            let config: ImageConfig = serde_json::from_slice(&config)
                .map_err(|e| manifest_error(format!("image config: {e}")))?;
            let actual = config.platform();
            if !platform.matches(&actual) {
                return Err(ResolveError::NoPlatform {
                    reference: reference.to_string(),
                    wanted: platform.to_string(),
                    available: vec![actual.to_string()],
                });
            }
        }
    }
    Ok(digest)
}

/// Works out the rewrite of every reference of `scan` that has a tag and no digest. Each
/// distinct reference is resolved once.
pub fn plan(scan: &Scan, client: &RegistryClient, opts: &PinOptions) -> PinPlan {
    let mut out = PinPlan::default();
    let mut cache: HashMap<String, Result<Digest, String>> = HashMap::new();
    let mut resolve = |r: &Reference| -> Result<Digest, String> {
        let key = r.to_string();
        cache
            .entry(key)
            .or_insert_with(|| resolve_digest(client, r, &opts.platform).map_err(|e| e.to_string()))
            .clone()
    };
    for image in &scan.images {
        let mut result = PinResult {
            line: image.line,
            column: image.column,
            context: image.context.clone(),
            reference: image.reference.clone(),
            outcome: Outcome::Skipped,
            digest: None,
            pinned: None,
            message: None,
        };
        match plan_one(scan, image, opts, &mut resolve, &mut result) {
            Ok(Some(edit)) => {
                if !out.edits.iter().any(|e| e.range == edit.range) {
                    out.edits.push(edit);
                }
            }
            Ok(None) => {}
            Err(message) => {
                result.outcome = Outcome::Failed;
                result.message = Some(message);
            }
        }
        out.results.push(result);
    }
    out.edits.sort_by_key(|e| e.range.start);
    out
}

fn plan_one(
    scan: &Scan,
    image: &ImageRef,
    opts: &PinOptions,
    resolve: &mut impl FnMut(&Reference) -> Result<Digest, String>,
    result: &mut PinResult,
) -> Result<Option<Edit>, String> {
    let Some(text) = &image.reference else {
        result.message = Some(format!(
            "uses {}, which has no value here",
            image.via_arg.as_deref().unwrap_or("a variable")
        ));
        return Ok(None);
    };
    let parsed = Reference::parse(text).map_err(|e| e.to_string())?;
    let written = split_written(text);
    if let Some(d) = &parsed.digest {
        result.outcome = Outcome::AlreadyPinned;
        result.digest = Some(d.to_string());
        if opts.verify {
            // Fetching by digest checks the registry has it (and that its bytes hash to it).
            let by_digest = Reference {
                tag: None,
                ..parsed.clone()
            };
            resolve(&by_digest).map_err(|e| format!("pinned digest not usable: {e}"))?;
            result.outcome = Outcome::Verified;
            if written.tag.is_some() {
                let by_tag = Reference {
                    digest: None,
                    ..parsed.clone()
                };
                let now = resolve(&by_tag)?;
                if &now != d {
                    result.outcome = Outcome::TagMoved;
                    result.message = Some(format!("the tag now points at {now}"));
                }
            }
        }
        return Ok(None);
    }
    let Some(at) = &image.written_at else {
        result.message = Some(
            "not written in one place (assembled from variables or a block scalar); pin it by hand"
                .into(),
        );
        return Ok(None);
    };
    if scan.text.get(at.range()) != Some(text.as_str()) {
        result.message = Some("the reference is not written verbatim; pin it by hand".into());
        return Ok(None);
    }
    let digest = resolve(&parsed)?;
    let tag = written.tag.unwrap_or(customs_image::reference::DEFAULT_TAG);
    let pinned = format!("{}:{tag}@{digest}", written.name);
    result.outcome = Outcome::Pinned;
    result.digest = Some(digest.to_string());
    result.pinned = Some(pinned.clone());
    if image.written_at.as_ref().map(|s| s.line) != Some(image.line) {
        result.message = Some(format!(
            "written at line {} ({})",
            at.line,
            image
                .via_arg
                .as_deref()
                .map_or_else(|| "default value".to_string(), |a| format!("ARG {a}"))
        ));
    }
    Ok(Some(Edit {
        range: at.range(),
        replacement: pinned,
    }))
}

/// Applies non-overlapping edits to `text`.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.range.start);
    let mut out = String::with_capacity(text.len() + edits.len() * 80);
    let mut pos = 0;
    for e in sorted {
        if e.range.start < pos || e.range.end > text.len() {
            continue;
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.replacement);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// A unified diff of `old` to `new`, labelled with `path`.
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_only_their_bytes() {
        let text = "FROM a:1 # keep\nFROM b\n";
        let edits = vec![
            Edit {
                range: 21..22,
                replacement: "b:latest@x".into(),
            },
            Edit {
                range: 5..8,
                replacement: "a:1@y".into(),
            },
        ];
        assert_eq!(
            apply_edits(text, &edits),
            "FROM a:1@y # keep\nFROM b:latest@x\n"
        );
    }

    #[test]
    fn overlapping_edit_is_ignored() {
        let text = "abcdef";
        let edits = vec![
            Edit {
                range: 0..3,
                replacement: "X".into(),
            },
            Edit {
                range: 2..4,
                replacement: "Y".into(),
            },
        ];
        assert_eq!(apply_edits(text, &edits), "Xdef");
    }

    #[test]
    fn diff_shows_changed_line() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "Dockerfile");
        assert!(d.starts_with("--- a/Dockerfile\n+++ b/Dockerfile\n"), "{d}");
        assert!(d.contains("-b\n+B\n"), "{d}");
    }
}
