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

    /// Whether the gate reads layers: the server then works out each upload's uncompressed
    /// digest while it streams in and reports every committed layer to
    /// [`Gate::layer_committed`].
    fn wants_layers(&self) -> bool {
        false
    }

    /// Blob `digest` was committed to `blobs`, and is a tar layer whose uncompressed digest
    /// (its diff-id) is `diff_id`. The gate may analyse it ahead of the manifest that names
    /// it; this must return at once (the work goes to the gate's own threads), and
    /// [`Gate::judge`] must give the same verdict whether or not it was called.
    fn layer_committed(&self, _blobs: &Path, _digest: &str, _diff_id: &str) {}
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

/// One platform of an index whose image may not be pulled.
#[derive(Debug, Clone)]
pub(crate) struct HeldPlatform {
    /// `os/architecture[/variant]`, or `unknown` when the index names no platform.
    pub platform: String,
    /// The platform image's manifest digest.
    pub digest: String,
    /// Its recorded verdict (default when none was recorded).
    pub verdict: Verdict,
}

/// The platform an index entry names, as `os/architecture[/variant]`.
pub(crate) fn platform_of(entry: &serde_json::Value) -> String {
    let p = &entry["platform"];
    match (p["os"].as_str(), p["architecture"].as_str()) {
        (Some(os), Some(arch)) => match p["variant"].as_str() {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        },
        _ => "unknown".to_string(),
    }
}

/// The verdict recorded for an index: every held platform's violations, CVEs and errors,
/// each prefixed with its platform. It passes when no platform is held.
pub(crate) fn index_verdict(held: &[HeldPlatform]) -> Verdict {
    let mut out = Verdict::default();
    for h in held {
        for v in &h.verdict.violations {
            out.violations.push(Violation {
                rule: format!("{}: {}", h.platform, v.rule),
                reason: v.reason.clone(),
            });
        }
        for c in &h.verdict.cves {
            if !out.cves.contains(c) {
                out.cves.push(c.clone());
            }
        }
        for f in &h.verdict.findings {
            if !out.findings.contains(f) {
                out.findings.push(f.clone());
            }
        }
        if let Some(e) = &h.verdict.error {
            let line = format!("{} ({}): {e}", h.platform, h.digest);
            out.error = Some(match out.error.take() {
                Some(prev) => format!("{prev}; {line}"),
                None => line,
            });
        }
        if h.verdict.passed() {
            // Held without a recorded reason (quarantined before verdicts were kept).
            out.violations.push(Violation {
                rule: format!("{}: quarantine", h.platform),
                reason: format!("{} is quarantined", h.digest),
            });
        }
    }
    out
}

/// The OCI error a pull of an index gets when some of its platforms are held: it names
/// every held platform, its digest and why it is held.
pub(crate) fn index_refusal(
    name: &str,
    reference: &str,
    digest: &str,
    held: &[HeldPlatform],
) -> ApiError {
    let mut parts = Vec::new();
    for h in held {
        let mut why = Vec::new();
        for v in &h.verdict.violations {
            why.push(format!("{}: {}", v.rule, v.reason));
        }
        if !h.verdict.cves.is_empty() {
            why.push(format!("blocked by {}", h.verdict.cves.join(", ")));
        }
        if let Some(e) = &h.verdict.error {
            why.push(format!("could not be judged: {e}"));
        }
        if why.is_empty() {
            why.push("quarantined".into());
        }
        parts.push(format!("{} ({}): {}", h.platform, h.digest, why.join("; ")));
    }
    let platforms: Vec<&str> = held.iter().map(|h| h.platform.as_str()).collect();
    let message = format!(
        "{name}:{reference} ({digest}) is an index whose platform(s) {} are quarantined by the push gate: {}",
        platforms.join(", "),
        parts.join(" | ")
    );
    ApiError::new(Code::Denied, message).detail(serde_json::json!({
        "digest": digest,
        "status": "quarantined",
        "platforms": held.iter().map(|h| serde_json::json!({
            "platform": h.platform,
            "digest": h.digest,
            "violations": h.verdict.violations,
            "cves": h.verdict.cves,
            "error": h.verdict.error,
        })).collect::<Vec<_>>(),
    }))
}
