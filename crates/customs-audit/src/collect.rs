//! The one streaming pass: every layer is read once; while its bytes go by, regular files are
//! hashed (for the wasted-bytes check), small text files are scanned for secrets, and the
//! system files the privilege and OS checks need are kept. Only the current file's bytes are
//! held in memory.

use std::collections::HashMap;
use std::io::{self, Read};

use customs_image::summary::{stream_layer, LayerSummary};
use customs_image::{EntryMeta, FileSystem, Image};
use sha2::{Digest as _, Sha256};

use crate::{secrets, AuditError, AuditOptions, Ctx};

/// Bytes looked at to decide that a file is binary (it has a NUL byte in them).
const BINARY_SNIFF: usize = 8 << 10;
/// System files larger than this are not kept.
const MAX_CAPTURED: u64 = 1 << 20;

/// Files the checks read from the merged filesystem.
fn is_captured(path: &str) -> bool {
    matches!(path, "etc/passwd" | "etc/shadow" | "etc/group")
        || customs_inventory::os::OS_FILES.contains(&path)
}

/// One layer as the checks see it: its entries and the content hash of each regular file.
#[derive(Debug, Clone)]
pub struct LayerFacts {
    pub summary: LayerSummary,
    /// First 16 bytes of the SHA-256 of each regular file, by path (only for images with more
    /// than one layer: hashes serve the wasted-bytes check).
    pub hashes: HashMap<String, [u8; 16]>,
}

pub(crate) fn collect<'a>(image: &'a Image, opts: &'a AuditOptions) -> Result<Ctx<'a>, AuditError> {
    let hash_files = image.layers.len() > 1;
    let scan_secrets = opts.is_enabled(crate::rules::SECRET_IN_FILE.id);
    let mut fs = FileSystem::new();
    let mut layers = Vec::with_capacity(image.layers.len());
    let mut captured = HashMap::new();
    let mut content_hits = Vec::new();
    for index in 0..image.layers.len() {
        let mut hashes = HashMap::new();
        let summary = stream_layer(image, index, |e, r| {
            if !e.is_file() {
                return Ok(());
            }
            let capture = is_captured(&e.path) && e.size <= MAX_CAPTURED;
            let scan = scan_secrets
                && e.size <= opts.max_secret_file_bytes
                && !secrets::is_allowed_path(&e.path);
            if !(capture || scan || hash_files) {
                return Ok(());
            }
            let (hash, data) = read_file(e, r, capture || scan)?;
            if hash_files {
                hashes.insert(e.path.clone(), hash);
            }
            let Some(data) = data else { return Ok(()) };
            let binary = data[..data.len().min(BINARY_SNIFF)].contains(&0);
            if scan && !binary {
                let text = String::from_utf8_lossy(&data);
                content_hits.extend(secrets::scan_contents(&e.path, index, &text));
            }
            if capture {
                captured.insert((index, e.path.clone()), data);
            }
            Ok(())
        })?;
        fs.apply_layer(&summary.entries);
        layers.push(LayerFacts { summary, hashes });
    }
    let os = {
        let ctx_fs_read = |p: &str| -> Option<Vec<u8>> {
            let resolved = fs.resolve(p)?;
            let data_path = fs.data_path(&resolved)?;
            let node = fs.get(data_path)?;
            captured.get(&(node.layer, data_path.to_string())).cloned()
        };
        customs_inventory::os::detect(&|p| ctx_fs_read(p))
    };
    // Layers are made by history entries that are not `empty_layer`, in order.
    let mut history_layers = Vec::new();
    let mut next = 0usize;
    for h in &image.config.history {
        if h.empty_layer || next >= image.layers.len() {
            history_layers.push(None);
        } else {
            history_layers.push(Some(next));
            next += 1;
        }
    }
    let mut warnings = Vec::new();
    if next != image.layers.len() && !image.config.history.is_empty() {
        // History does not describe the layers; do not attribute.
        warnings.push(format!(
            "the config history describes {next} layers but the image has {}; findings name no history entry",
            image.layers.len()
        ));
        history_layers = vec![None; image.config.history.len()];
    }
    Ok(Ctx {
        image,
        opts,
        fs,
        layers,
        captured,
        content_hits,
        os,
        history_layers,
        warnings,
    })
}

/// Reads one file: hashes it (first 16 bytes of SHA-256); keeps its bytes when `keep` (the caller checked the
/// size cap).
fn read_file(
    e: &EntryMeta,
    r: &mut dyn Read,
    keep: bool,
) -> io::Result<([u8; 16], Option<Vec<u8>>)> {
    let mut hasher = Sha256::new();
    let mut kept = keep.then(|| Vec::with_capacity(e.size.min(1 << 20) as usize));
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(k) = kept.as_mut() {
            k.extend_from_slice(&buf[..n]);
        }
    }
    let digest = hasher.finalize();
    let mut h = [0u8; 16];
    h.copy_from_slice(&digest[..16]);
    Ok((h, kept))
}
