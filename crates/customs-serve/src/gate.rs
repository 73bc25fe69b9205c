//! The push gate's seam: a [`Gate`] judges each pushed image manifest from the blobs already
//! in storage before the manifest becomes pullable. The server records the [`Verdict`];
//! a failed one holds the manifest in quarantine, and pulls get an OCI `DENIED` error naming
//! every violated rule and CVE. The judging itself (scan, audit, policy) lives with the
//! caller, so the server does not depend on how customs scans.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Code};
use crate::store::ManifestRow;

/// The image a gate is asked about.
#[derive(Debug, Clone)]
pub struct GateRequest {
    /// The repository it was pushed to.
    pub repository: String,
    /// The manifest's digest (`sha256:…`).
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
}

/// One broken policy rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name, as the policy file spells it.
    pub rule: String,
    /// Why it is broken.
    pub reason: String,
}

/// A gate's decision about one image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Verdict {
    /// Every violated rule; empty when the image passes.
    pub violations: Vec<Violation>,
    /// Every vulnerability id that blocked the image.
    pub cves: Vec<String>,
    /// Every vulnerability id found in the image (after suppression), blocking or not.
    #[serde(default)]
    pub findings: Vec<String>,
    /// Set when the image could not be judged (it is then held: the gate fails closed).
    pub error: Option<String>,
}

impl Verdict {
    /// Whether the image may be pulled.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.cves.is_empty() && self.error.is_none()
    }
}

/// Judges pushed images. `blobs` is the storage's `blobs/` directory: an OCI layout's
/// `blobs/sha256/<hex>` files, every one verified against its digest on upload.
pub trait Gate: Send + Sync + 'static {
    /// Decides about one image manifest; must not panic on bad content (return an error
    /// verdict instead).
    fn judge(&self, blobs: &Path, request: &GateRequest) -> Verdict;

    /// Whether the advisory data changed since the gate last looked (the server then calls
    /// [`Gate::rematch`]).
    fn database_changed(&self) -> bool {
        false
    }

    /// Judges every image judged before again, against the current advisory data, from
    /// what was stored when it was first judged: (repository, digest, verdict) each.
    fn rematch(&self, _blobs: &Path) -> Result<Vec<(String, String, Verdict)>, String> {
        Ok(Vec::new())
    }
}

/// The status and stored verdict for a gate's decision.
pub(crate) fn record(verdict: &Verdict) -> (&'static str, Option<String>) {
    let text = serde_json::to_string(verdict).ok();
    if verdict.passed() {
        ("passed", text)
    } else {
        ("quarantined", text)
    }
}

/// The OCI error a pull of a held manifest gets.
pub(crate) fn refusal(name: &str, reference: &str, row: &ManifestRow) -> ApiError {
    let verdict: Verdict = row
        .verdict
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let mut parts = Vec::new();
    for v in &verdict.violations {
        parts.push(format!("{}: {}", v.rule, v.reason));
    }
    if !verdict.cves.is_empty() {
        parts.push(format!("blocked by {}", verdict.cves.join(", ")));
    }
    if let Some(e) = &verdict.error {
        parts.push(format!("could not be judged: {e}"));
    }
    let message = format!(
        "{name}:{reference} ({}) is quarantined by the push gate: {}",
        row.digest,
        if parts.is_empty() {
            "no verdict recorded".to_string()
        } else {
            parts.join("; ")
        }
    );
    ApiError::new(Code::Denied, message).detail(serde_json::json!({
        "digest": row.digest,
        "status": row.status,
        "violations": verdict.violations,
        "cves": verdict.cves,
        "error": verdict.error,
    }))
}
