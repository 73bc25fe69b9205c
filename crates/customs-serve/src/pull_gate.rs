//! The pull gate: per repository pattern, an image manifest is served only when signatures
//! on it verify with every configured public key and for every configured Sigstore keyless
//! identity (issuer and subject, exact or by regexp, offline against a trusted root), using
//! customs' own verification (`customs-sign`, the code behind `customs verify`). Mere
//! existence of a signature is not enough, and the refusal names each key and identity that
//! no signature verifies for.
//!
//! Signatures live beside the image as cosign stores them (the `sha256-<hex>.sig` tag) or as
//! Sigstore bundle referrers. For each check the gate lays out the image, its signature
//! manifest and its referrers as a throw-away OCI layout of hard links to the stored blobs,
//! and lets `customs-sign` read that layout: the same code path as `customs verify oci:DIR`.

use std::path::{Path, PathBuf};

use customs_sign::certs::{IdentityMatcher, Matcher};
use customs_sign::keys::PublicKey;
use customs_sign::store::SignatureStore;
use customs_sign::trusted_root::TrustedRoot;
use customs_sign::verify_image::{
    verify_bundles_keyless, verify_signatures, verify_signatures_keyless, VerifyError,
};

use crate::auth::glob;
use crate::config::{KeylessIdentity, PullGateRule};

/// One manifest to put into the layout: digest, media type, size, and an optional tag.
pub(crate) struct LayoutEntry {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub tag: Option<String>,
    /// The manifest's artifact type (bundle referrers are found by it).
    pub artifact_type: Option<String>,
}

/// One loaded rule.
struct Rule {
    pattern: String,
    keys: Vec<(String, PublicKey)>,
    identities: Vec<(String, IdentityMatcher)>,
    root: TrustedRoot,
    require_sct: bool,
}

/// What the gate found missing for one image.
#[derive(Debug, Default)]
pub(crate) struct Missing {
    /// Keys no signature verifies with, and why.
    pub keys: Vec<(String, String)>,
    /// Keyless identities no signature verifies for, and why.
    pub identities: Vec<(String, String)>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.identities.is_empty()
    }
}

/// Builds the matcher for one configured identity.
pub(crate) fn matcher(id: &KeylessIdentity) -> Result<IdentityMatcher, String> {
    let part = |exact: &Option<String>, re: &Option<String>, what: &str| match (exact, re) {
        (Some(e), None) => Ok(Matcher::Exact(e.clone())),
        (None, Some(r)) => Matcher::regexp(r).map_err(|e| e.to_string()),
        _ => Err(format!(
            "an identity needs exactly one of {what} and {what}_regexp"
        )),
    };
    Ok(IdentityMatcher {
        subject: part(&id.subject, &id.subject_regexp, "subject")?,
        issuer: part(&id.issuer, &id.issuer_regexp, "issuer")?,
        github: Vec::new(),
    })
}

/// Loaded pull-gate rules.
pub(crate) struct PullGate {
    rules: Vec<Rule>,
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
            let mut identities = Vec::new();
            for id in &r.identities {
                let m =
                    matcher(id).map_err(|e| format!("pull gate rule for {}: {e}", r.repository))?;
                identities.push((id.describe(), m));
            }
            if keys.is_empty() && identities.is_empty() {
                return Err(format!(
                    "pull gate rule for {} lists no keys or identities",
                    r.repository
                ));
            }
            let root = match &r.trusted_root {
                Some(p) => {
                    let bytes = std::fs::read(p)
                        .map_err(|e| format!("pull gate trusted root {}: {e}", p.display()))?;
                    TrustedRoot::from_json(&bytes)
                        .map_err(|e| format!("pull gate trusted root {}: {e}", p.display()))?
                }
                None if identities.is_empty() => TrustedRoot::default(),
                None => TrustedRoot::public_good()
                    .map_err(|e| format!("the embedded public-good trusted root: {e}"))?,
            };
            out.push(Rule {
                pattern: r.repository.clone(),
                keys,
                identities,
                root,
                require_sct: r.require_sct,
            });
        }
        Ok(PullGate {
            rules: out,
            scratch: scratch.to_path_buf(),
        })
    }

    /// Whether `repo` is gated at all.
    pub fn applies(&self, repo: &str) -> bool {
        self.rules.iter().any(|r| glob(&r.pattern, repo))
    }

    /// Verifies `subject` (the first entry) with every key and for every identity the rules
    /// require for `repo`; returns each that nothing verifies for, and why.
    pub fn missing(
        &self,
        repo: &str,
        blobs: &Path,
        entries: &[LayoutEntry],
        blob_digests: &[String],
    ) -> Result<Missing, String> {
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
        let mut manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut d = serde_json::json!({"mediaType": e.media_type, "digest": e.digest, "size": e.size});
                if let Some(t) = &e.artifact_type {
                    d["artifactType"] = serde_json::json!(t);
                }
                if let Some(t) = &e.tag {
                    d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": t});
                }
                d
            })
            .collect();
        // Referrers, as a layout holds them: an index under the `sha256-<hex>` tag.
        let referrers: Vec<serde_json::Value> = entries[1..]
            .iter()
            .filter(|e| e.tag.is_none())
            .map(|e| {
                let mut d = serde_json::json!({"mediaType": e.media_type, "digest": e.digest, "size": e.size});
                if let Some(t) = &e.artifact_type {
                    d["artifactType"] = serde_json::json!(t);
                }
                d
            })
            .collect();
        if let (false, Some(subject_hex)) = (
            referrers.is_empty(),
            entries[0].digest.strip_prefix("sha256:"),
        ) {
            let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": referrers}))
            .map_err(|e| e.to_string())?;
            let hex = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&index));
            std::fs::write(layout_blobs.join(&hex), &index).map_err(|e| e.to_string())?;
            manifests.push(serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": format!("sha256:{hex}"), "size": index.len(),
                "annotations": {"org.opencontainers.image.ref.name": format!("sha256-{subject_hex}")}}));
        }
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
        let mut missing = Missing::default();
        for rule in &self.rules {
            if !glob(&rule.pattern, repo) {
                continue;
            }
            for (name, key) in &rule.keys {
                match verify_signatures(&store, &subject, key, &Default::default()) {
                    Ok(v) if !v.is_empty() => {}
                    Ok(_) => missing
                        .keys
                        .push((name.clone(), "nothing verified".to_string())),
                    Err(e) => missing.keys.push((name.clone(), e.to_string())),
                }
            }
            for (name, identity) in &rule.identities {
                // As `customs verify` keyless: bundle referrers and classic keyless `.sig`
                // layers both count; one verified signature is enough.
                let bundles = verify_bundles_keyless(
                    &store,
                    &subject,
                    &rule.root,
                    identity,
                    rule.require_sct,
                );
                let layers = verify_signatures_keyless(
                    &store,
                    &subject,
                    &rule.root,
                    identity,
                    rule.require_sct,
                );
                let why = match (bundles, layers) {
                    (Ok(v), _) if !v.is_empty() => continue,
                    (_, Ok(v)) if !v.is_empty() => continue,
                    (
                        Err(VerifyError::NothingFound { .. }),
                        Err(VerifyError::NothingFound { .. }),
                    ) => "no keyless signature or signature bundle found".to_string(),
                    (Err(VerifyError::NothingFound { .. }), Err(e)) | (Err(e), _) => e.to_string(),
                    (Ok(_), Err(e)) => e.to_string(),
                    (Ok(_), Ok(_)) => "nothing verified".to_string(),
                };
                missing.identities.push((name.clone(), why));
            }
        }
        Ok(missing)
    }
}
