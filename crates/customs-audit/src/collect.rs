//! The one streaming pass: every layer is read once; while its bytes go by, regular files are
//! hashed (for the wasted-bytes check), small text files are scanned for secrets, and the
//! system files the privilege and OS checks need are kept. Only the current file's bytes are
//! held in memory. The [`Collector`] does not drive the walk: it observes one
//! ([`customs_image::EntryObserver`]), either its own ([`crate::audit`]) or the inventory
//! scan's, which is how `customs check` reads each layer once for both.

use std::collections::HashMap;
use std::io;

use customs_image::summary::LayerSummary;
use customs_image::{EntryMeta, EntryObserver, FileSystem, Image};
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
    /// The layer's entries, as the layer cache stores them.
    pub summary: LayerSummary,
    /// First 16 bytes of the SHA-256 of each regular file, by path (only for images with more
    /// than one layer: hashes serve the wasted-bytes check).
    pub hashes: HashMap<String, [u8; 16]>,
}

/// Audit's side of the one walk: an [`EntryObserver`] that gathers, while a layer's bytes go
/// by, what the checks need. [`crate::audit`] drives it alone; `customs check` hands it to the
/// inventory scan (`customs_inventory::scan_image_observed`) so both read each layer once.
/// Feed it every layer in order, then call [`Collector::finish`].
pub struct Collector<'a> {
    image: &'a Image,
    opts: &'a AuditOptions,
    hash_files: bool,
    scan_secrets: bool,
    fs: FileSystem,
    layers: Vec<LayerFacts>,
    /// Hashes of the layer being walked.
    hashes: HashMap<String, [u8; 16]>,
    captured: HashMap<(usize, String), Vec<u8>>,
    content_hits: Vec<secrets::ContentHit>,
    /// The entry whose bytes are going by.
    current: Option<Current>,
}

/// State for one wanted entry.
struct Current {
    hasher: Option<Sha256>,
    kept: Option<Vec<u8>>,
    capture: bool,
    scan: bool,
}

impl<'a> Collector<'a> {
    /// A collector for `image` under `opts` (checked here).
    pub fn new(image: &'a Image, opts: &'a AuditOptions) -> Result<Self, AuditError> {
        opts.validate()?;
        Ok(Collector {
            image,
            opts,
            hash_files: image.layers.len() > 1,
            scan_secrets: opts.is_enabled(crate::rules::SECRET_IN_FILE.id),
            fs: FileSystem::new(),
            layers: Vec::with_capacity(image.layers.len()),
            hashes: HashMap::new(),
            captured: HashMap::new(),
            content_hits: Vec::new(),
            current: None,
        })
    }

    /// Runs every enabled rule on what was gathered and returns the report. Fails when the
    /// collector did not see every layer of the image.
    pub fn finish(self) -> Result<crate::AuditReport, AuditError> {
        let ctx = self.into_ctx(None)?;
        Ok(crate::report(ctx))
    }

    /// Like [`Collector::finish`], with the OS the inventory already detected in the same walk
    /// taken as a fact instead of detected a second time.
    pub fn finish_with_os(
        self,
        os: Option<customs_inventory::OsInfo>,
    ) -> Result<crate::AuditReport, AuditError> {
        let ctx = self.into_ctx(Some(os))?;
        Ok(crate::report(ctx))
    }

    /// `known_os`: `Some` when the caller already knows the OS (possibly none), `None` to
    /// detect it from the captured files.
    fn into_ctx(
        self,
        known_os: Option<Option<customs_inventory::OsInfo>>,
    ) -> Result<Ctx<'a>, AuditError> {
        let image = self.image;
        if self.layers.len() != image.layers.len() {
            return Err(AuditError::Incomplete {
                seen: self.layers.len(),
                layers: image.layers.len(),
            });
        }
        let Collector {
            opts,
            fs,
            layers,
            captured,
            content_hits,
            ..
        } = self;
        let os = match known_os {
            Some(os) => os,
            None => {
                let ctx_fs_read = |p: &str| -> Option<Vec<u8>> {
                    let resolved = fs.resolve(p)?;
                    let data_path = fs.data_path(&resolved)?;
                    let node = fs.get(data_path)?;
                    captured.get(&(node.layer, data_path.to_string())).cloned()
                };
                customs_inventory::os::detect(&|p| ctx_fs_read(p))
            }
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
}

impl EntryObserver for Collector<'_> {
    fn wants(&mut self, _layer: usize, e: &EntryMeta) -> bool {
        self.current = None;
        if !e.is_file() {
            return false;
        }
        let capture = is_captured(&e.path) && e.size <= MAX_CAPTURED;
        let scan = self.scan_secrets
            && e.size <= self.opts.max_secret_file_bytes
            && !secrets::is_allowed_path(&e.path);
        if !(capture || scan || self.hash_files) {
            return false;
        }
        self.current = Some(Current {
            hasher: self.hash_files.then(Sha256::new),
            kept: (capture || scan).then(|| Vec::with_capacity(e.size.min(1 << 20) as usize)),
            capture,
            scan,
        });
        true
    }

    fn data(&mut self, chunk: &[u8]) {
        if let Some(c) = self.current.as_mut() {
            if let Some(h) = c.hasher.as_mut() {
                h.update(chunk);
            }
            if let Some(k) = c.kept.as_mut() {
                k.extend_from_slice(chunk);
            }
        }
    }

    fn entry_done(&mut self, layer: usize, e: &EntryMeta) -> io::Result<()> {
        let Some(c) = self.current.take() else {
            return Ok(());
        };
        if let Some(h) = c.hasher {
            let digest = h.finalize();
            let mut short = [0u8; 16];
            short.copy_from_slice(&digest[..16]);
            self.hashes.insert(e.path.clone(), short);
        }
        let Some(data) = c.kept else { return Ok(()) };
        let binary = data[..data.len().min(BINARY_SNIFF)].contains(&0);
        if c.scan && !binary {
            let text = String::from_utf8_lossy(&data);
            self.content_hits
                .extend(secrets::scan_contents(&e.path, layer, &text));
        }
        if c.capture {
            self.captured.insert((layer, e.path.clone()), data);
        }
        Ok(())
    }

    fn layer_done(&mut self, _layer: usize, summary: &LayerSummary) {
        self.fs.apply_layer(&summary.entries);
        self.layers.push(LayerFacts {
            summary: summary.clone(),
            hashes: std::mem::take(&mut self.hashes),
        });
    }
}
