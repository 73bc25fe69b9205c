//! Minimal layers: bytes a later layer made unreachable (re-added, copied up for a metadata
//! change, changed, or deleted), the efficiency score, layer count, tiny layers, and package
//! manager caches or `.git` directories left in the final filesystem.
//!
//! Wasted bytes count every superseded copy of a file, so a file stored N times with its last
//! copy still visible wastes N−1 copies, and a file deleted later wastes every copy.
//! Efficiency is `1 − wasted / total`, where total is the size of every regular file in every
//! layer (the measure Dive uses).

use std::collections::BTreeMap;

use customs_image::fs::Whiteout;
use customs_image::tar::EntryKind;
use serde::Serialize;

use crate::rules::Diag;
use crate::{Ctx, Evidence};

/// How a superseded copy was superseded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WasteKind {
    /// Added again with the same content and metadata.
    IdenticalReAdd,
    /// Added again with the same content, different mode or owner (a copy-up).
    MetadataOnly,
    /// Replaced with different content.
    Changed,
    /// Removed by a whiteout or replaced by a non-file.
    Deleted,
}

impl WasteKind {
    fn describe(self) -> &'static str {
        match self {
            WasteKind::IdenticalReAdd => "added again unchanged",
            WasteKind::MetadataOnly => "copied up for a mode or owner change",
            WasteKind::Changed => "replaced with different content",
            WasteKind::Deleted => "deleted",
        }
    }
}

/// One superseded copy of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WasteItem {
    /// Path of the file, without a leading `/`.
    pub path: String,
    /// Size in bytes of the superseded copy.
    pub bytes: u64,
    /// How the copy was superseded.
    pub kind: WasteKind,
    /// Layer holding the superseded copy.
    pub layer: usize,
    /// Layer that superseded it.
    pub superseded_in: usize,
}

/// Layer statistics for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerStats {
    /// Number of layers.
    pub count: usize,
    /// Size of every regular file in every layer.
    pub total_bytes: u64,
    /// Bytes of files a later layer replaced or removed.
    pub wasted_bytes: u64,
    /// `1 − wasted/total`, 1.0 for an empty image.
    pub efficiency: f64,
    /// Per-layer figures, bottom layer first.
    pub layers: Vec<LayerEntry>,
    /// Superseded copies, largest first.
    pub waste: Vec<WasteItem>,
}

/// One layer's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerEntry {
    /// Position in the manifest, 0 for the bottom layer.
    pub index: usize,
    /// Diff-id of the layer (`sha256:…`).
    pub diff_id: String,
    /// Uncompressed tar size.
    pub size: u64,
    /// Bytes of regular files.
    pub file_bytes: u64,
    /// Tar entries in the layer.
    pub entries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The history step that made the layer (`created_by`), when the history says.
    pub created_by: Option<String>,
}

struct Live {
    layer: usize,
    size: u64,
    hash: Option<[u8; 16]>,
    mode: u32,
    uid: u64,
    gid: u64,
}

/// Computes every superseded copy from the layers' entries and hashes.
fn waste(ctx: &Ctx) -> Vec<WasteItem> {
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    let mut out = Vec::new();
    fn remove_under(
        live: &mut BTreeMap<String, Live>,
        out: &mut Vec<WasteItem>,
        path: &str,
        include_self: bool,
        layer: usize,
    ) {
        let mut doomed: Vec<String> = Vec::new();
        if include_self && live.contains_key(path) {
            doomed.push(path.to_string());
        }
        if path.is_empty() {
            doomed.extend(live.keys().cloned());
        } else {
            let lo = format!("{path}/");
            let hi = format!("{path}0");
            doomed.extend(live.range(lo..hi).map(|(k, _)| k.clone()));
        }
        for p in doomed {
            if let Some(l) = live.remove(&p) {
                if l.layer < layer {
                    out.push(WasteItem {
                        path: p,
                        bytes: l.size,
                        kind: WasteKind::Deleted,
                        layer: l.layer,
                        superseded_in: layer,
                    });
                }
            }
        }
    }
    for (layer, facts) in ctx.layers.iter().enumerate() {
        let entries = &facts.summary.entries;
        for e in entries {
            match &e.whiteout {
                Some(Whiteout::Path(p)) => remove_under(&mut live, &mut out, p, true, layer),
                Some(Whiteout::Opaque(d)) => remove_under(&mut live, &mut out, d, false, layer),
                None => {}
            }
        }
        for e in entries.iter().filter(|e| e.whiteout.is_none()) {
            if e.kind != EntryKind::File {
                // A directory keeps what is below it; anything else replaces the path.
                if e.kind != EntryKind::Dir || live.contains_key(&e.path) {
                    remove_under(&mut live, &mut out, &e.path, true, layer);
                }
                continue;
            }
            let hash = facts.hashes.get(&e.path).copied();
            if let Some(prev) = live.get(&e.path) {
                if prev.layer < layer {
                    let same = prev.hash.is_some() && prev.hash == hash && prev.size == e.size;
                    let same_meta = prev.mode == e.mode && prev.uid == e.uid && prev.gid == e.gid;
                    let kind = match (same, same_meta) {
                        (true, true) => WasteKind::IdenticalReAdd,
                        (true, false) => WasteKind::MetadataOnly,
                        _ => WasteKind::Changed,
                    };
                    out.push(WasteItem {
                        path: e.path.clone(),
                        bytes: prev.size,
                        kind,
                        layer: prev.layer,
                        superseded_in: layer,
                    });
                }
            }
            live.insert(
                e.path.clone(),
                Live {
                    layer,
                    size: e.size,
                    hash,
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                },
            );
        }
    }
    out.retain(|w| w.bytes > 0);
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
    out
}

/// Package-manager caches and VCS directories, judged from the merged filesystem.
fn caches(ctx: &Ctx) -> Vec<(Diag, Evidence)> {
    struct Cache {
        root: String,
        what: &'static str,
        files: usize,
        bytes: u64,
    }
    let mut found: BTreeMap<String, Cache> = BTreeMap::new();
    for (path, node) in ctx.fs.iter() {
        if node.kind != EntryKind::File {
            continue;
        }
        let classified: Option<(String, &'static str)> =
            if let Some(rest) = path.strip_prefix("var/lib/apt/lists/") {
                (rest != "lock" && node.size > 0)
                    .then(|| ("var/lib/apt/lists".into(), "apt package lists"))
            } else if let Some(rest) = path.strip_prefix("var/cache/apt/") {
                (rest.ends_with(".deb") || (!rest.contains('/') && rest.ends_with(".bin")))
                    .then(|| ("var/cache/apt".into(), "downloaded apt packages and caches"))
            } else if path.starts_with("var/cache/apk/") {
                (node.size > 0).then(|| ("var/cache/apk".into(), "the apk package cache"))
            } else if path.starts_with("var/cache/yum/") || path.starts_with("var/cache/dnf/") {
                let root = path.split('/').take(3).collect::<Vec<_>>().join("/");
                (node.size > 0).then_some((root, "the yum/dnf cache"))
            } else if let Some(i) = path.find(".cache/pip/") {
                let root = &path[..i + ".cache/pip".len()];
                (is_home(root)).then(|| (root.to_string(), "the pip cache"))
            } else if let Some(i) = path.find(".npm/_cacache/") {
                let root = &path[..i + ".npm".len()];
                (is_home(root)).then(|| (root.to_string(), "the npm cache"))
            } else if let Some(i) = path
                .find("/.git/")
                .or_else(|| path.starts_with(".git/").then_some(0))
            {
                let end = if i == 0 { 4 } else { i + 5 };
                Some((path[..end].to_string(), "a Git repository"))
            } else {
                None
            };
        if let Some((root, what)) = classified {
            let c = found.entry(root.clone()).or_insert(Cache {
                root,
                what,
                files: 0,
                bytes: 0,
            });
            c.files += 1;
            c.bytes += node.size;
        }
    }
    found
        .into_values()
        .map(|c| {
            let evidence = match ctx.fs.get(&c.root) {
                Some(n) if !n.implicit => ctx.file_evidence(&c.root, n.layer, None),
                _ => Evidence {
                    path: Some(c.root.clone()),
                    ..Evidence::default()
                },
            };
            (
                Diag::PackageCache {
                    path: c.root,
                    what: c.what.to_string(),
                    files: c.files,
                    bytes: c.bytes,
                },
                evidence,
            )
        })
        .collect()
}

/// `root/.cache/pip`, `home/NAME/.npm`: caches in a home directory.
fn is_home(root: &str) -> bool {
    root.starts_with("root/") || root.starts_with("home/")
}

/// Runs every layer rule and returns the statistics for the report.
pub fn check(ctx: &Ctx) -> (LayerStats, Vec<(Diag, Evidence)>) {
    let opts = ctx.opts;
    let mut out = Vec::new();
    let items = waste(ctx);
    let total: u64 = ctx
        .layers
        .iter()
        .flat_map(|l| l.summary.entries.iter())
        .filter(|e| e.is_file())
        .map(|e| e.size)
        .sum();
    let wasted: u64 = items.iter().map(|w| w.bytes).sum();
    let efficiency = if total == 0 {
        1.0
    } else {
        1.0 - wasted as f64 / total as f64
    };
    for w in items
        .iter()
        .filter(|w| w.bytes >= opts.min_wasted_file_bytes)
    {
        let mut evidence = ctx.file_evidence(&w.path, w.layer, Some(w.superseded_in));
        if w.kind != WasteKind::Deleted {
            evidence.deleted_in = None;
            evidence.deleted_in_index = None;
        }
        out.push((
            Diag::WastedFile {
                path: w.path.clone(),
                bytes: w.bytes,
                kind: w.kind.describe().to_string(),
                layer: w.layer,
                superseded_in: w.superseded_in,
            },
            evidence,
        ));
    }
    if efficiency < opts.min_efficiency {
        out.push((
            Diag::LowEfficiency {
                efficiency,
                wasted,
                total,
                minimum: opts.min_efficiency,
            },
            Evidence::default(),
        ));
    }
    let count = ctx.layers.len();
    if count > opts.max_layers {
        out.push((
            Diag::TooManyLayers {
                count,
                maximum: opts.max_layers,
            },
            Evidence::default(),
        ));
    }
    let mut entries = Vec::new();
    for (index, facts) in ctx.layers.iter().enumerate() {
        let file_bytes: u64 = facts
            .summary
            .entries
            .iter()
            .filter(|e| e.is_file())
            .map(|e| e.size)
            .sum();
        if count > 1 && file_bytes < opts.tiny_layer_bytes {
            out.push((
                Diag::TinyLayer {
                    index,
                    bytes: file_bytes,
                    entries: facts.summary.entries.len(),
                },
                Evidence {
                    layer: Some(ctx.diff_id(index)),
                    layer_index: Some(index),
                    history_index: ctx.history_of_layer(index),
                    ..Evidence::default()
                },
            ));
        }
        entries.push(LayerEntry {
            index,
            diff_id: ctx.diff_id(index),
            size: facts.summary.uncompressed_size,
            file_bytes,
            entries: facts.summary.entries.len(),
            created_by: ctx
                .history_of_layer(index)
                .and_then(|h| ctx.image.config.history[h].created_by.as_deref())
                .map(crate::redact::text),
        });
    }
    out.extend(caches(ctx));
    (
        LayerStats {
            count,
            total_bytes: total,
            wasted_bytes: wasted,
            efficiency,
            layers: entries,
            waste: items,
        },
        out,
    )
}
