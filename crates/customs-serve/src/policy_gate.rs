//! The push gate customs ships: the same policy file as `customs check`, applied to an image
//! read from the registry's own verified blobs. Each judged image gets a throw-away OCI layout
//! whose blob files are hard links to the stored blobs (nothing is copied, nothing is fetched),
//! then it is inventoried, matched against the advisory database, audited when the policy
//! asks, and evaluated. Anything that goes wrong is an error verdict, which holds the image.
//!
//! The scan here calls inventory → match → suppress directly; at merge it switches to the one
//! scan pipeline (`customs_vulndb::scan`) without the server noticing, as [`Gate`] is the
//! only seam.

use std::path::{Path, PathBuf};

use customs_image::{Digest, Image, OpenOptions, Target};
use customs_policy::{CheckInput, ImageAge, Policy};
use customs_vulndb::Database;

use crate::gate::{Gate, GateRequest, Verdict, Violation};

/// Judges pushed images against a `customs check` policy.
pub struct PolicyGate {
    policy: Policy,
    policy_name: String,
    database: Option<Database>,
    registry: String,
    scratch: PathBuf,
}

/// Why the gate could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The policy file is missing or invalid.
    #[error("policy {path}: {message}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The policy has vulnerability rules but the database cannot be opened.
    #[error("vulnerability database {path}: {message}")]
    Database {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl PolicyGate {
    /// Loads the policy and, when it has vulnerability rules, the advisory database.
    /// `registry` is the host the policy's `registries` rules see; `scratch` a directory on
    /// the same filesystem as the blobs, for the judged layouts.
    pub fn new(
        policy: &Path,
        database: Option<&Path>,
        registry: &str,
        scratch: &Path,
    ) -> Result<PolicyGate, GateError> {
        let loaded = Policy::load(policy).map_err(|e| GateError::Policy {
            path: policy.to_path_buf(),
            message: e.to_string(),
        })?;
        let database = match (&loaded.vulnerabilities, database) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(GateError::Database {
                    path: PathBuf::new(),
                    message: "the policy has [vulnerabilities] rules; set gate.database".into(),
                })
            }
            (Some(_), Some(p)) => Some(Database::open(p).map_err(|e| GateError::Database {
                path: p.to_path_buf(),
                message: e.to_string(),
            })?),
        };
        Ok(PolicyGate {
            policy: loaded,
            policy_name: policy.display().to_string(),
            database,
            registry: registry.to_string(),
            scratch: scratch.to_path_buf(),
        })
    }

    fn judge_inner(&self, blobs: &Path, req: &GateRequest) -> Result<Verdict, String> {
        let dir = tempfile::Builder::new()
            .prefix("gate-")
            .tempdir_in(&self.scratch)
            .map_err(|e| format!("making the gate layout: {e}"))?;
        let manifest_hex = hex_of(&req.digest)?;
        let manifest_path = blobs.join("sha256").join(manifest_hex);
        let bytes =
            std::fs::read(&manifest_path).map_err(|e| format!("reading the manifest: {e}"))?;
        let manifest: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        let mut wanted = vec![req.digest.clone()];
        if let Some(c) = manifest["config"]["digest"].as_str() {
            wanted.push(c.to_string());
        }
        for l in manifest["layers"].as_array().into_iter().flatten() {
            if let Some(d) = l["digest"].as_str() {
                wanted.push(d.to_string());
            }
        }
        let layout_blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&layout_blobs).map_err(|e| e.to_string())?;
        for d in &wanted {
            let hex = hex_of(d)?;
            let link = layout_blobs.join(hex);
            if !link.exists() {
                std::fs::hard_link(blobs.join("sha256").join(hex), &link)
                    .map_err(|e| format!("linking blob {d}: {e}"))?;
            }
        }
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .map_err(|e| e.to_string())?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": req.media_type, "digest": req.digest, "size": bytes.len()}],
        });
        std::fs::write(dir.path().join("index.json"), index.to_string())
            .map_err(|e| e.to_string())?;

        let digest: Digest = req
            .digest
            .parse()
            .map_err(|e| format!("digest {}: {e:?}", req.digest))?;
        let target = Target::OciLayout {
            dir: dir.path().to_path_buf(),
            tag: None,
            digest: Some(digest),
        };
        let image = Image::open(&target, &OpenOptions::default())
            .map_err(|e| format!("opening the image: {e}"))?;
        let findings = match &self.database {
            Some(db) => {
                let result = customs_inventory::scan_image(
                    &image,
                    &customs_inventory::ScanOptions { cache: None },
                )
                .map_err(|e| format!("inventorying the image: {e}"))?;
                let matched = customs_vulndb::match_inventory(db, &result.inventory);
                let kept = customs_vulndb::suppress(
                    matched.findings,
                    None,
                    &[],
                    customs_vulndb::suppress::today_utc(),
                )
                .kept;
                Some(kept)
            }
            None => None,
        };
        let mut input = CheckInput {
            image: format!("{}/{}@{}", self.registry, req.repository, req.digest),
            reference: Some(format!("{}/{}", self.registry, req.repository)),
            base_name: image.base_image().map(|(name, _)| name),
            findings,
            ..CheckInput::default()
        };
        if let Some(opts) = customs_policy::audit_options(&self.policy, None) {
            let report =
                customs_audit::audit(&image, &opts).map_err(|e| format!("auditing: {e}"))?;
            input.age = match (report.age.days, &report.age.unknown_reason) {
                (Some(days), _) => ImageAge::Days(days),
                (None, Some(r)) => ImageAge::Unknown(r.clone()),
                (None, None) => ImageAge::Unknown("no timestamp".into()),
            };
            input.audit = Some(report);
        } else {
            input.age =
                ImageAge::Unknown("the registry gate measures age only with [audit]".into());
        }
        let violations = customs_policy::evaluate(&self.policy, &input);
        let mut cves: Vec<String> = Vec::new();
        if let Some(findings) = &input.findings {
            for v in &violations {
                if !v.rule.starts_with("vulnerabilities") {
                    continue;
                }
                for f in findings {
                    if v.reason.contains(f.id.as_str()) && !cves.contains(&f.id) {
                        cves.push(f.id.clone());
                    }
                }
            }
        }
        log::info!(
            "gate: {}@{} against {}: {} violation(s)",
            req.repository,
            req.digest,
            self.policy_name,
            violations.len()
        );
        Ok(Verdict {
            violations: violations
                .iter()
                .map(|v| Violation {
                    rule: format!("{} {}", v.id, v.rule),
                    reason: v.reason.clone(),
                })
                .collect(),
            cves,
            error: None,
        })
    }
}

fn hex_of(digest: &str) -> Result<&str, String> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("unsupported digest {digest}"))
}

impl Gate for PolicyGate {
    fn judge(&self, blobs: &Path, request: &GateRequest) -> Verdict {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.judge_inner(blobs, request)
        })) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => Verdict {
                error: Some(e),
                ..Verdict::default()
            },
            Err(_) => Verdict {
                error: Some("the gate failed unexpectedly".into()),
                ..Verdict::default()
            },
        }
    }
}
