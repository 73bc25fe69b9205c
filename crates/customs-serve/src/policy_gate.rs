//! The push gate customs ships: the same policy file as `customs check`, applied to an image
//! read from the registry's own verified blobs. Each judged image gets a throw-away OCI layout
//! whose blob files are hard links to the stored blobs (nothing is copied, nothing is fetched),
//! then it is inventoried, matched against the advisory database, audited when the policy
//! asks, and evaluated. Anything that goes wrong is an error verdict, which holds the image.
//!
//! The scan is the one scan pipeline (`customs_vulndb::scan`) that `customs scan` and
//! `customs check` call, so the gate and the CLI cannot disagree about a finding. The server
//! has no ignore file or VEX of its own yet: exceptions are granted per image by an admin.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use customs_image::{Digest, Image, LayerCache, OpenOptions, Target};
use customs_inventory::scan::INVENTORY_VERSION;
use customs_inventory::Inventory;
use customs_policy::{CheckInput, ImageAge, Policy};
use customs_vulndb::Database;

use crate::gate::{Gate, GateRequest, Verdict, Violation};

/// Judges pushed images against a `customs check` policy.
pub struct PolicyGate {
    policy: Policy,
    policy_name: String,
    database: RwLock<Option<Arc<Database>>>,
    database_path: Option<PathBuf>,
    /// The database file's modification time when it was last opened.
    database_mtime: Mutex<Option<SystemTime>>,
    registry: String,
    scratch: PathBuf,
    /// Each judged image's inventory and the facts besides findings, so a rematch reads no
    /// layer. Inventories persist in `inventories.sqlite`; audit reports live in memory
    /// (an image judged before a restart is re-judged from its blobs when the policy audits).
    stored: Mutex<rusqlite::Connection>,
    context: Mutex<HashMap<(String, String), Context>>,
    /// Layers inventoried when their blob is committed.
    layers: Arc<Layers>,
}

/// Per-layer inventories made ahead of the manifest: when a layer's blob is committed, its
/// diff-id (worked out while it streamed in) keys a one-layer scan whose results land in a
/// [`LayerCache`], the same per-layer cache `customs scan` uses. The manifest's judgement
/// then runs the one scan pipeline over the whole image, which takes each layer's results
/// from that cache and merges them in order (later layers win, whiteouts apply), so the
/// verdict is the one a cold scan gives; only the reading of each layer moved earlier.
struct Layers {
    cache: Option<LayerCache>,
    scratch: PathBuf,
    /// Blob digests being inventoried now.
    pending: Mutex<HashSet<String>>,
    /// Each committed layer blob's diff-id as the server computed it from the bytes, and
    /// when it was committed (bounded).
    committed: Mutex<HashMap<String, (Instant, String)>>,
    done: Condvar,
    /// Layers being inventoried now (at most [`MAX_AHEAD`]); the rest wait their turn.
    running: Mutex<usize>,
    slot_free: Condvar,
}

/// At most this many layers are inventoried ahead at once.
const MAX_AHEAD: usize = 2;
/// At most this many layers wait to be inventoried ahead; past it, the manifest's
/// judgement reads the layer itself.
const MAX_QUEUED: usize = 64;
/// How long a manifest's judgement waits for a layer being inventoried ahead.
const AHEAD_WAIT: Duration = Duration::from_secs(120);
/// The per-layer cache's size cap.
const LAYER_CACHE_BYTES: u64 = 2 << 30;

impl Layers {
    /// Inventories blob `digest` (diff-id `diff_id`) as a one-layer image into the cache.
    fn inventory(&self, blobs: &Path, digest: &str, diff_id: &str) -> Result<(), String> {
        let Some(cache) = &self.cache else {
            return Ok(());
        };
        let diff: Digest = diff_id
            .parse()
            .map_err(|e| format!("diff-id {diff_id}: {e:?}"))?;
        let key = LayerCache::key("inventory", INVENTORY_VERSION, &diff);
        if cache.get(&key).is_some() {
            return Ok(());
        }
        let dir = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(&self.scratch)
            .map_err(|e| format!("making the layer layout: {e}"))?;
        let layout_blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&layout_blobs).map_err(|e| e.to_string())?;
        let hex = hex_of(digest)?;
        std::fs::hard_link(blobs.join("sha256").join(hex), layout_blobs.join(hex))
            .map_err(|e| format!("linking blob {digest}: {e}"))?;
        let size = std::fs::metadata(layout_blobs.join(hex))
            .map_err(|e| e.to_string())?
            .len();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        })
        .to_string();
        let write_blob = |bytes: &[u8]| -> Result<String, String> {
            let d = Digest::sha256_of(bytes);
            std::fs::write(layout_blobs.join(d.hex()), bytes).map_err(|e| e.to_string())?;
            Ok(d.to_string())
        };
        let config_digest = write_blob(config.as_bytes())?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": digest, "size": size}],
        })
        .to_string();
        let manifest_digest = write_blob(manifest.as_bytes())?;
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .map_err(|e| e.to_string())?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": manifest.len()}],
        });
        std::fs::write(dir.path().join("index.json"), index.to_string())
            .map_err(|e| e.to_string())?;
        let target = Target::OciLayout {
            dir: dir.path().to_path_buf(),
            tag: None,
            digest: None,
        };
        let image = Image::open(&target, &OpenOptions::default())
            .map_err(|e| format!("opening the layer: {e}"))?;
        customs_inventory::scan_image(
            &image,
            &customs_inventory::ScanOptions {
                cache: Some(cache.clone()),
            },
        )
        .map_err(|e| format!("inventorying the layer: {e}"))?;
        Ok(())
    }

    /// Waits until none of `digests` is being inventoried ahead; returns when the last of
    /// them was committed, when the server reported it.
    fn wait_for(&self, digests: &[String]) -> Option<Instant> {
        let deadline = Instant::now() + AHEAD_WAIT;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while digests.iter().any(|d| pending.contains(d)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = self
                .done
                .wait_timeout(pending, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(pending);
        let committed = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        digests
            .iter()
            .filter_map(|d| committed.get(d).map(|c| c.0))
            .max()
    }

    /// Whether every layer of `image` had its diff-id computed by the server from its blob,
    /// equal to the one the config claims. Only then are the per-layer results keyed by
    /// those diff-ids trusted for it; otherwise every layer is read (and checked against
    /// its diff-id) as a cold `customs check` would.
    fn vouches_for(&self, image: &Image) -> bool {
        let committed = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        image.layers.iter().all(|l| {
            committed
                .get(&l.descriptor.digest.to_string())
                .is_some_and(|c| c.1 == l.diff_id.to_string())
        })
    }
}

/// What a verdict needs besides the findings.
#[derive(Clone)]
struct Context {
    base_name: Option<String>,
    age: ImageAge,
    audit: Option<customs_audit::AuditReport>,
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
        if loaded.vulnerabilities.is_some() && database.is_none() {
            return Err(GateError::Database {
                path: PathBuf::new(),
                message: "the policy has [vulnerabilities] rules; set gate.database".into(),
            });
        }
        let opened = match database {
            Some(p) if loaded.vulnerabilities.is_some() => {
                Some(Arc::new(Database::open(p).map_err(|e| {
                    GateError::Database {
                        path: p.to_path_buf(),
                        message: e.to_string(),
                    }
                })?))
            }
            _ => None,
        };
        let stored_path = scratch.join("inventories.sqlite");
        let conn = rusqlite::Connection::open(&stored_path)
            .and_then(|c| {
                c.execute_batch(
                    "PRAGMA journal_mode = WAL;
                     CREATE TABLE IF NOT EXISTS inventories (
                        repo TEXT NOT NULL, digest TEXT NOT NULL, inventory TEXT NOT NULL,
                        base_name TEXT, PRIMARY KEY (repo, digest));",
                )?;
                Ok(c)
            })
            .map_err(|e| GateError::Database {
                path: stored_path,
                message: e.to_string(),
            })?;
        let database_path = opened.as_ref().and(database.map(Path::to_path_buf));
        // Layers are inventoried ahead only when the policy needs an inventory.
        let cache = if loaded.vulnerabilities.is_some() {
            match LayerCache::new(scratch.join("layers"), LAYER_CACHE_BYTES) {
                Ok(c) => Some(c),
                Err(e) => {
                    log::warn!("gate: no per-layer cache, layers are read at judgement: {e}");
                    None
                }
            }
        } else {
            None
        };
        let layers = Arc::new(Layers {
            cache,
            scratch: scratch.to_path_buf(),
            pending: Mutex::new(HashSet::new()),
            committed: Mutex::new(HashMap::new()),
            done: Condvar::new(),
            running: Mutex::new(0),
            slot_free: Condvar::new(),
        });
        Ok(PolicyGate {
            policy: loaded,
            policy_name: policy.display().to_string(),
            database_mtime: Mutex::new(database_path.as_deref().and_then(mtime)),
            database: RwLock::new(opened),
            database_path,
            registry: registry.to_string(),
            scratch: scratch.to_path_buf(),
            stored: Mutex::new(conn),
            context: Mutex::new(HashMap::new()),
            layers,
        })
    }

    /// The findings of `inventory` against the current database, after suppression.
    fn findings(&self, inventory: &Inventory) -> Option<Vec<customs_vulndb::Finding>> {
        let db = self
            .database
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let today = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        let outcome =
            customs_vulndb::scan(&db, inventory, &customs_vulndb::Suppression::none(today));
        Some(outcome.findings)
    }

    /// Evaluates the policy on one image's facts.
    fn verdict(
        &self,
        repo: &str,
        digest: &str,
        ctx: &Context,
        findings: Option<Vec<customs_vulndb::Finding>>,
    ) -> Verdict {
        let input = CheckInput {
            image: format!("{}/{}@{}", self.registry, repo, digest),
            reference: Some(format!("{}/{}", self.registry, repo)),
            base_name: ctx.base_name.clone(),
            findings,
            audit: ctx.audit.clone(),
            age: ctx.age.clone(),
            ..CheckInput::default()
        };
        let violations = customs_policy::evaluate(&self.policy, &input);
        let mut cves: Vec<String> = Vec::new();
        let mut all: Vec<String> = Vec::new();
        if let Some(findings) = &input.findings {
            for f in findings {
                if !all.contains(&f.id) {
                    all.push(f.id.clone());
                }
            }
            for v in violations
                .iter()
                .filter(|v| v.rule.starts_with("vulnerabilities"))
            {
                for f in findings {
                    if v.reason.contains(f.id.as_str()) && !cves.contains(&f.id) {
                        cves.push(f.id.clone());
                    }
                }
            }
        }
        log::info!(
            "gate: {repo}@{digest} against {}: {} violation(s)",
            self.policy_name,
            violations.len()
        );
        Verdict {
            violations: violations
                .iter()
                .map(|v| Violation {
                    rule: format!("{} {}", v.id, v.rule),
                    reason: v.reason.clone(),
                })
                .collect(),
            cves,
            findings: all,
            error: None,
        }
    }

    /// Whether the database file changed since it was opened.
    fn changed(&self) -> bool {
        let Some(path) = &self.database_path else {
            return false;
        };
        let now = mtime(path);
        let last = *self
            .database_mtime
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        now.is_some() && now != last
    }

    /// Reopens the database and rematches every stored inventory.
    fn rematch_all(&self, blobs: &Path) -> Result<Vec<(String, String, Verdict)>, String> {
        let Some(path) = &self.database_path else {
            return Ok(Vec::new());
        };
        let stamp = mtime(path);
        let db = Database::open(path).map_err(|e| format!("reopening {}: {e}", path.display()))?;
        *self.database.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(db));
        *self
            .database_mtime
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = stamp;
        let rows: Vec<(String, String, String, Option<String>)> = {
            let conn = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn
                .prepare("SELECT repo, digest, inventory, base_name FROM inventories")
                .map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(|e| e.to_string())?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            rows
        };
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        for (repo, digest, inventory, base_name) in rows {
            let ctx = self
                .context
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(repo.clone(), digest.clone()))
                .cloned();
            let verdict = match (ctx, self.policy.audit.as_ref().is_some_and(|a| a.enabled)) {
                (Some(ctx), _) => {
                    let inv: Inventory = match serde_json::from_str(&inventory) {
                        Ok(i) => i,
                        Err(e) => {
                            out.push((
                                repo,
                                digest,
                                Verdict {
                                    error: Some(format!("stored inventory: {e}")),
                                    ..Verdict::default()
                                },
                            ));
                            continue;
                        }
                    };
                    self.verdict(&repo, &digest, &ctx, self.findings(&inv))
                }
                (None, false) => {
                    let inv: Inventory = match serde_json::from_str(&inventory) {
                        Ok(i) => i,
                        Err(e) => {
                            out.push((
                                repo,
                                digest,
                                Verdict {
                                    error: Some(format!("stored inventory: {e}")),
                                    ..Verdict::default()
                                },
                            ));
                            continue;
                        }
                    };
                    let ctx = Context {
                        base_name,
                        age: ImageAge::Unknown(
                            "the registry gate measures age only with [audit]".into(),
                        ),
                        audit: None,
                    };
                    self.verdict(&repo, &digest, &ctx, self.findings(&inv))
                }
                // Judged before a restart under an auditing policy: judge it again from blobs.
                (None, true) => {
                    let media_type = "application/vnd.oci.image.manifest.v1+json".to_string();
                    let req = GateRequest {
                        repository: repo.clone(),
                        digest: digest.clone(),
                        media_type,
                    };
                    self.judge(blobs, &req)
                }
            };
            out.push((repo, digest, verdict));
        }
        log::info!(
            "gate: rematched {} stored image(s) in {:?}",
            out.len(),
            started.elapsed()
        );
        Ok(out)
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
        let committed = self.layers.wait_for(&wanted[1..]);
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
        let mut ctx = Context {
            base_name: image.base_image().map(|(name, _)| name),
            age: ImageAge::Unknown("the registry gate measures age only with [audit]".into()),
            audit: None,
        };
        // One walk of each stored layer feeds both the inventory and the audit, as in
        // `customs check`.
        let audit_opts = customs_policy::audit_options(&self.policy, None);
        let cache = self
            .layers
            .cache
            .clone()
            .filter(|_| self.layers.vouches_for(&image));
        let scan_opts = customs_inventory::ScanOptions {
            cache: cache.clone(),
        };
        if let Some(c) = &cache {
            let ahead = image
                .layers
                .iter()
                .filter(|l| {
                    c.get(&LayerCache::key("inventory", INVENTORY_VERSION, &l.diff_id))
                        .is_some()
                })
                .count();
            log::info!(
                "gate: {}@{}: {ahead} of {} layer(s) inventoried before the manifest",
                req.repository,
                req.digest,
                image.layers.len()
            );
        } else {
            log::info!(
                "gate: {}@{}: 0 of {} layer(s) inventoried before the manifest (reading them)",
                req.repository,
                req.digest,
                image.layers.len()
            );
        }
        let (inventory, report) = match (self.policy.vulnerabilities.is_some(), &audit_opts) {
            (true, Some(opts)) => {
                let mut collector = customs_audit::Collector::new(&image, opts)
                    .map_err(|e| format!("audit options: {e}"))?;
                let result = customs_inventory::scan_image_observed(
                    &image,
                    &scan_opts,
                    Some(&mut collector),
                )
                .map_err(|e| format!("inventorying the image: {e}"))?;
                let report = collector
                    .finish_with_os(result.inventory.os.clone())
                    .map_err(|e| format!("auditing: {e}"))?;
                (Some(result.inventory), Some(report))
            }
            (true, None) => {
                let result = customs_inventory::scan_image(&image, &scan_opts)
                    .map_err(|e| format!("inventorying the image: {e}"))?;
                (Some(result.inventory), None)
            }
            (false, Some(opts)) => (
                None,
                Some(customs_audit::audit(&image, opts).map_err(|e| format!("auditing: {e}"))?),
            ),
            (false, None) => (None, None),
        };
        if let Some(report) = report {
            ctx.age = match (report.age.days, &report.age.unknown_reason) {
                (Some(days), _) => ImageAge::Days(days),
                (None, Some(r)) => ImageAge::Unknown(r.clone()),
                (None, None) => ImageAge::Unknown("no timestamp".into()),
            };
            ctx.audit = Some(report);
        }
        let findings = inventory.as_ref().and_then(|inv| self.findings(inv));
        if let Some(inv) = &inventory {
            let text = serde_json::to_string(inv).map_err(|e| e.to_string())?;
            let conn = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            conn.execute(
                "INSERT INTO inventories (repo, digest, inventory, base_name) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (repo, digest) DO UPDATE SET inventory = excluded.inventory, base_name = excluded.base_name",
                rusqlite::params![req.repository, req.digest, text, ctx.base_name],
            )
            .map_err(|e| format!("storing the inventory: {e}"))?;
        }
        self.context
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((req.repository.clone(), req.digest.clone()), ctx.clone());
        let verdict = self.verdict(&req.repository, &req.digest, &ctx, findings);
        if let Some(t) = committed {
            log::info!(
                "gate: {}@{} verdict {} ms after its last layer was committed",
                req.repository,
                req.digest,
                t.elapsed().as_millis()
            );
        }
        Ok(verdict)
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn hex_of(digest: &str) -> Result<&str, String> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("unsupported digest {digest}"))
}

impl Gate for PolicyGate {
    fn database_changed(&self) -> bool {
        self.changed()
    }

    fn wants_layers(&self) -> bool {
        self.layers.cache.is_some()
    }

    fn layer_committed(&self, blobs: &Path, digest: &str, diff_id: &str) {
        let now = Instant::now();
        {
            let mut committed = self
                .layers
                .committed
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if committed.len() >= 4096 {
                committed.clear();
            }
            committed.insert(digest.to_string(), (now, diff_id.to_string()));
        }
        let mut pending = self
            .layers
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_QUEUED || pending.contains(digest) {
            return;
        }
        pending.insert(digest.to_string());
        drop(pending);
        let layers = Arc::clone(&self.layers);
        let (blobs, digest, diff_id) =
            (blobs.to_path_buf(), digest.to_string(), diff_id.to_string());
        let spawned = std::thread::Builder::new()
            .name("customs-gate-layer".into())
            .spawn({
                let layers = Arc::clone(&layers);
                let digest = digest.clone();
                move || {
                    {
                        let mut running = layers.running.lock().unwrap_or_else(|p| p.into_inner());
                        while *running >= MAX_AHEAD {
                            running = layers
                                .slot_free
                                .wait(running)
                                .unwrap_or_else(|p| p.into_inner());
                        }
                        *running += 1;
                    }
                    let started = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        layers.inventory(&blobs, &digest, &diff_id)
                    }));
                    match outcome {
                        Ok(Ok(())) => log::info!(
                            "gate: layer {digest} inventoried at commit in {} ms",
                            started.elapsed().as_millis()
                        ),
                        Ok(Err(e)) => {
                            log::debug!("gate: layer {digest} not inventoried ahead: {e}")
                        }
                        Err(_) => log::warn!("gate: inventorying layer {digest} ahead failed"),
                    }
                    *layers.running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    layers.slot_free.notify_one();
                    layers
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&digest);
                    layers.done.notify_all();
                }
            });
        if spawned.is_err() {
            layers
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&digest);
            layers.done.notify_all();
        }
    }

    fn rematch(&self, blobs: &Path) -> Result<Vec<(String, String, Verdict)>, String> {
        self.rematch_all(blobs)
    }

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
