//! The pull gate: per repository pattern, an image manifest is served only when signatures
//! on it verify with every configured public key, using customs' own verification
//! (`customs-sign`). Mere existence of a signature is not enough, and the refusal names each
//! key that no signature verifies with.
//!
//! Signatures live beside the image as cosign stores them (the `sha256-<hex>.sig` tag) or as
//! Sigstore bundle referrers. For each check the gate lays out the image, its signature
//! manifest and its referrers as a throw-away OCI layout of hard links to the stored blobs,
//! and lets `customs-sign` read that layout: the same code path as `customs verify oci:DIR`.

use std::path::{Path, PathBuf};

use customs_sign::keys::PublicKey;
use customs_sign::store::SignatureStore;
use customs_sign::verify_image::verify_signatures;

use crate::auth::glob;
use crate::config::PullGateRule;

/// One manifest to put into the layout: digest, media type, size, and an optional tag.
pub(crate) struct LayoutEntry {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub tag: Option<String>,
}

/// Loaded pull-gate rules.
pub(crate) struct PullGate {
    rules: Vec<(String, Vec<(String, PublicKey)>)>,
    scratch: PathBuf,
}

impl PullGate {
    pub fn load(rules: &[PullGateRule], scratch: &Path) -> Result<PullGate, String> {
        let mut out = Vec::new();
        for r in rules {
            let mut keys = Vec::new();
            for k in &r.keys {
                let pem = std::fs::read_to_string(k)
                    .map_err(|e| format!("pull gate key {}: {e}", k.display()))?;
                let key = PublicKey::from_pem(&pem)
                    .map_err(|e| format!("pull gate key {}: {e}", k.display()))?;
                keys.push((k.display().to_string(), key));
            }
            if keys.is_empty() {
                return Err(format!("pull gate rule for {} lists no keys", r.repository));
            }
            out.push((r.repository.clone(), keys));
        }
        Ok(PullGate {
            rules: out,
            scratch: scratch.to_path_buf(),
        })
    }

    /// Whether `repo` is gated at all.
    pub fn applies(&self, repo: &str) -> bool {
        self.rules.iter().any(|(p, _)| glob(p, repo))
    }

    /// Verifies `subject` (the first entry) with every key the rules require for `repo`;
    /// returns each key that nothing verifies with, and why.
    pub fn missing(
        &self,
        repo: &str,
        blobs: &Path,
        entries: &[LayoutEntry],
        blob_digests: &[String],
    ) -> Result<Vec<(String, String)>, String> {
        let dir = tempfile::Builder::new()
            .prefix("pull-gate-")
            .tempdir_in(&self.scratch)
            .map_err(|e| format!("making the pull-gate layout: {e}"))?;
        let layout_blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&layout_blobs).map_err(|e| e.to_string())?;
        for d in entries.iter().map(|e| &e.digest).chain(blob_digests) {
            let Some(hex) = d.strip_prefix("sha256:") else {
                continue;
            };
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let link = layout_blobs.join(hex);
            if !link.exists() {
                std::fs::hard_link(blobs.join("sha256").join(hex), &link)
                    .map_err(|e| format!("linking {d}: {e}"))?;
            }
        }
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut d = serde_json::json!({"mediaType": e.media_type, "digest": e.digest, "size": e.size});
                if let Some(t) = &e.tag {
                    d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": t});
                }
                d
            })
            .collect();
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(
            dir.path().join("index.json"),
            serde_json::json!({"schemaVersion": 2, "manifests": manifests}).to_string(),
        )
        .map_err(|e| e.to_string())?;
        let target = format!("oci:{}@{}", dir.path().display(), entries[0].digest);
        let store =
            SignatureStore::open(&target, &Default::default()).map_err(|e| e.to_string())?;
        let subject = store.resolve().map_err(|e| e.to_string())?;
        let mut missing = Vec::new();
        for (pattern, keys) in &self.rules {
            if !glob(pattern, repo) {
                continue;
            }
            for (name, key) in keys {
                match verify_signatures(&store, &subject, key, &Default::default()) {
                    Ok(v) if !v.is_empty() => {}
                    Ok(_) => missing.push((name.clone(), "nothing verified".to_string())),
                    Err(e) => missing.push((name.clone(), e.to_string())),
                }
            }
        }
        Ok(missing)
    }
}
