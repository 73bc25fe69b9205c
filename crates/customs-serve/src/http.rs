//! The OCI Distribution Spec v1.1 HTTP API over hyper: routing by the path's last segments
//! (repository names contain slashes), and one handler per endpoint. Request bodies are
//! streamed to an upload file while hashing; blob responses are streamed from disk through a
//! small bounded channel, so no blob is ever held in memory. Manifests (bounded by
//! `max_manifest_bytes`) are the only bodies read whole.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use sha2::{Digest as _, Sha256};

use crate::auth::{glob, Action, Auth, Caller};
use crate::error::{ApiError, Code};
use crate::gate::{self, GateRequest};
use crate::store::{NewManifest, Store};
use crate::Config;

/// Every response body.
pub(crate) type Body = BoxBody<Bytes, io::Error>;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An empty body.
pub(crate) fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The hash of an upload in progress, valid while `len` equals the upload file's length.
struct Progress {
    hasher: Sha256,
    len: u64,
    /// The uncompressed digest being worked out alongside, when the gate reads layers.
    diff: Option<DiffSniffer>,
}

/// What an upload turned out to be, as far as the push gate cares.
enum Uncompressed {
    /// A plain tar: its diff-id is its own digest.
    Plain,
    /// A compressed stream whose uncompressed bytes have this digest (`sha256:…`).
    Digest(String),
}

/// Works out an upload's uncompressed digest on a blocking thread while the bytes stream in,
/// so the gate can inventory a layer the moment it is committed. The channel is bounded:
/// a slow inflater slows the upload rather than buffering it.
/// It runs on its own thread, not the bounded blocking pool, which the upload's own file
/// writes need while it waits for bytes.
struct DiffSniffer {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    done: tokio::sync::oneshot::Receiver<Option<Uncompressed>>,
}

impl DiffSniffer {
    fn start() -> Option<DiffSniffer> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("customs-diff-id".into())
            .spawn(move || {
                let _ = done_tx.send(uncompressed_digest(ChannelReader {
                    rx,
                    current: Bytes::new(),
                }));
            })
            .ok()?;
        Some(DiffSniffer { tx: Some(tx), done })
    }

    /// Hands the inflater the next bytes; once it has stopped reading, stops handing.
    async fn feed(&mut self, data: &Bytes) {
        if let Some(tx) = &self.tx {
            if tx.send(data.clone()).await.is_err() {
                self.tx = None;
            }
        }
    }

    /// Ends the stream and waits for the verdict on it.
    async fn finish(mut self) -> Option<Uncompressed> {
        self.tx = None;
        self.done.await.ok().flatten()
    }
}

/// A blocking reader over the chunks an upload hands a [`DiffSniffer`].
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.current = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Whether `r` is a tar layer, and its diff-id when it is compressed. Anything that is not
/// (a config, a truncated or corrupt stream) is `None`: the gate then reads the layer itself.
fn uncompressed_digest(r: ChannelReader) -> Option<Uncompressed> {
    use customs_image::layer::{decompressed, Compression, LayerLimits};
    let (compression, mut plain) =
        decompressed(r, None, LayerLimits::default(), "an upload").ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    if compression == Compression::None {
        // Only the header matters: a tar has `ustar` at offset 257 of its first block.
        let mut got = 0;
        while got < 512 {
            match plain.read(&mut buf[got..512]) {
                Ok(0) => return None,
                Ok(n) => got += n,
                Err(_) => return None,
            }
        }
        return (&buf[257..262] == b"ustar").then_some(Uncompressed::Plain);
    }
    let mut h = Sha256::new();
    loop {
        match plain.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some(Uncompressed::Digest(format!(
        "sha256:{}",
        hex::encode(h.finalize())
    )))
}

/// What every request shares.
pub(crate) struct State {
    pub store: Arc<Store>,
    pub config: Config,
    pub gate: Option<Arc<dyn gate::Gate>>,
    /// Users and permissions; None on the anonymous loopback registry.
    pub auth: Option<Auth>,
    /// Whether connections are TLS (for the token realm's scheme).
    pub tls: bool,
    /// Where events go.
    pub webhooks: crate::webhook::Webhooks,
    /// Signature requirements for pulls.
    pub pull_gate: Option<crate::pull_gate::PullGate>,
    /// Requests answered, by method and status; gate verdicts by outcome.
    metrics: Mutex<std::collections::BTreeMap<(String, u16), u64>>,
    verdicts: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Per-upload lock and running hash; a missing or stale entry means the hash is
    /// recomputed from the file when the upload completes (after a restart, say).
    uploads: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Progress>>>>>,
}

impl State {
    pub fn new(
        store: Arc<Store>,
        config: Config,
        gate: Option<Arc<dyn gate::Gate>>,
        auth: Option<Auth>,
    ) -> State {
        let tls = config.tls.is_some();
        let webhooks = crate::webhook::Webhooks::new(&config.webhooks);
        State {
            webhooks,
            store,
            config,
            gate,
            auth,
            tls,
            pull_gate: None,
            metrics: Mutex::new(Default::default()),
            verdicts: Mutex::new(Default::default()),
            uploads: Mutex::new(HashMap::new()),
        }
    }

    fn upload_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<Progress>>> {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    fn forget_upload(&self, id: &str) {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }
}

/// Answers one request, logging it without headers or query (no secret is ever in a path).
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let head = method == Method::HEAD;
    let mut resp = match route(&state, req, peer).await {
        Ok(r) => r,
        Err(e) => e.into_response(head),
    };
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        hyper::header::HeaderValue::from_static("registry/2.0"),
    );
    {
        let mut m = state.metrics.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((method.to_string(), resp.status().as_u16()))
            .or_default() += 1;
    }
    log::info!(
        target: "customs_serve::access",
        "{peer} {method} {path} {} {}ms",
        resp.status().as_u16(),
        started.elapsed().as_millis()
    );
    resp
}

/// What a path names.
enum Endpoint<'a> {
    Base,
    Catalog,
    Tags(&'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Referrers(&'a str, &'a str),
    /// `POST /v2/_customs/gc[?grace_secs=N]`: garbage collection (admin on every repository).
    Gc,
    /// `/v2/_customs/cves/<id>`: which stored images, tags and digests a vulnerability hits.
    Cves(&'a str),
    /// `PUT /v2/<name>/_customs/exception/<digest>`: an admin's reviewed exception.
    Exception(&'a str, &'a str),
    /// `/v2/<name>/_customs/status/<reference>`: the push gate's verdict (an extension, in
    /// the `_<namespace>` path form the OCI extensions proposal reserves).
    Status(&'a str, &'a str),
}

fn parse_path(path: &str) -> Option<Endpoint<'_>> {
    if path == "/v2/" || path == "/v2" {
        return Some(Endpoint::Base);
    }
    let rest = path.strip_prefix("/v2/")?;
    if rest == "_catalog" {
        return Some(Endpoint::Catalog);
    }
    if rest == "_customs/gc" {
        return Some(Endpoint::Gc);
    }
    if let Some(id) = rest.strip_prefix("_customs/cves/") {
        return (!id.is_empty() && !id.contains('/')).then_some(Endpoint::Cves(id));
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Endpoint::Tags(name));
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or(rest.strip_suffix("/blobs/uploads"))
    {
        return Some(Endpoint::Uploads(name));
    }
    let (before, last) = rest.rsplit_once('/')?;
    if let Some(name) = before.strip_suffix("/blobs/uploads") {
        return Some(Endpoint::Upload(name, last));
    }
    if let Some(name) = before.strip_suffix("/_customs/status") {
        return Some(Endpoint::Status(name, last));
    }
    if let Some(name) = before.strip_suffix("/_customs/exception") {
        return Some(Endpoint::Exception(name, last));
    }
    let (name, kind) = before.rsplit_once('/')?;
    match kind {
        "manifests" => Some(Endpoint::Manifest(name, last)),
        "blobs" => Some(Endpoint::Blob(name, last)),
        "referrers" => Some(Endpoint::Referrers(name, last)),
        _ => None,
    }
}

fn name_ok(name: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$",
        )
        .expect("valid regex")
    });
    name.len() <= 255 && re.is_match(name)
}

fn tag_ok(tag: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").expect("valid regex")
    });
    re.is_match(tag)
}

/// A digest in the spec's grammar (`algorithm:encoded`).
fn digest_ok(d: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$").expect("valid regex")
    });
    re.is_match(d)
}

/// The hex of a `sha256:` digest, when it is one (the only algorithm stored).
fn sha256_hex(d: &str) -> Option<&str> {
    let hex = d.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name_ok(name) {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::NameInvalid,
            format!("invalid repository name {name:?}"),
        ))
    }
}

fn check_digest(d: &str) -> Result<(), ApiError> {
    if digest_ok(d) {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::DigestInvalid,
            format!("invalid digest {d:?}"),
        ))
    }
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn unsupported() -> ApiError {
    ApiError::new(Code::Unsupported, "the operation is unsupported")
}

/// The repository and action a request needs (None: the base endpoint or the catalog).
fn needs<'a>(endpoint: &Endpoint<'a>, method: &Method) -> Option<(&'a str, Action)> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    match *endpoint {
        Endpoint::Base | Endpoint::Catalog | Endpoint::Cves(_) => None,
        Endpoint::Gc => Some(("*", Action::Admin)),
        Endpoint::Tags(n) | Endpoint::Referrers(n, _) | Endpoint::Status(n, _) => {
            Some((n, Action::Pull))
        }
        Endpoint::Manifest(n, _) | Endpoint::Blob(n, _) => Some((
            n,
            if read {
                Action::Pull
            } else if *method == Method::DELETE {
                Action::Delete
            } else {
                Action::Push
            },
        )),
        Endpoint::Uploads(n) | Endpoint::Upload(n, _) => Some((n, Action::Push)),
        Endpoint::Exception(n, _) => Some((n, Action::Admin)),
    }
}

fn realm_base(state: &State, req: &Request<Incoming>) -> String {
    let host = req
        .headers()
        .get("Host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_graphic() && b != b'"'))
        .map(str::to_string)
        .unwrap_or_else(|| state.config.listen.to_string());
    format!("{}://{host}", if state.tls { "https" } else { "http" })
}

async fn route(
    state: &Arc<State>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let head = method == Method::HEAD;
    match path.as_str() {
        "/healthz" => return Ok(text_response(StatusCode::OK, "ok\n".into(), "text/plain")),
        "/readyz" => {
            return Ok(match state.store.repo_exists("") {
                Ok(_) => text_response(StatusCode::OK, "ready\n".into(), "text/plain"),
                Err(e) => {
                    log::error!("not ready: {e}");
                    text_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "metadata database unavailable\n".into(),
                        "text/plain",
                    )
                }
            })
        }
        "/metrics" => {
            return Ok(text_response(
                StatusCode::OK,
                metrics_text(state),
                "text/plain; version=0.0.4",
            ))
        }
        _ => {}
    }
    if path == "/token" {
        let Some(auth) = &state.auth else {
            return Err(
                ApiError::new(Code::Unsupported, "this registry has no users")
                    .status(StatusCode::NOT_FOUND),
            );
        };
        let q = req.uri().query().unwrap_or("").to_string();
        let v = auth.issue(req.headers(), &q, peer)?;
        return Ok(json_response(StatusCode::OK, &v, head));
    }
    if let Some(rest) = path.strip_prefix("/v2/_customs/robots") {
        return robots(state, req, peer, rest.to_string()).await;
    }
    let Some(endpoint) = parse_path(&path) else {
        return Err(
            ApiError::new(Code::NameUnknown, "no such endpoint").status(StatusCode::NOT_FOUND)
        );
    };
    let caller = match &state.auth {
        Some(auth) => {
            let realm = realm_base(state, &req);
            let caller = auth.identify(req.headers(), peer).map_err(|e| {
                if e.code == Code::Unauthorized {
                    e.header("WWW-Authenticate", auth.challenge(&realm, None))
                } else {
                    e
                }
            })?;
            let need = needs(&endpoint, &method);
            let authenticated = caller.user.is_some();
            let allowed = match need {
                None => {
                    authenticated
                        || caller_has_token(&caller)
                        || matches!(endpoint, Endpoint::Catalog) && auth.any_anonymous()
                }
                Some((repo, action)) => auth.allows(&caller, repo, action),
            };
            if !allowed {
                return Err(if authenticated && need.is_some() {
                    ApiError::new(Code::Denied, "requested access to the resource is denied")
                } else {
                    ApiError::new(Code::Unauthorized, "authentication required")
                        .header("WWW-Authenticate", auth.challenge(&realm, need))
                });
            }
            caller
        }
        None => Caller::anonymous(),
    };
    let may = |repo: &str, action: Action| {
        state
            .auth
            .as_ref()
            .is_none_or(|a| a.allows(&caller, repo, action))
    };
    match endpoint {
        Endpoint::Base => match method {
            Method::GET | Method::HEAD => {
                Ok(json_response(StatusCode::OK, &serde_json::json!({}), head))
            }
            _ => Err(unsupported()),
        },
        Endpoint::Catalog => {
            let q = query(&req);
            let (n, last) = paging(&q)?;
            let (mut repos, more) = state.store.repositories(last.as_deref(), n)?;
            repos.retain(|r| may(r, Action::Pull));
            let mut resp = json_response(
                StatusCode::OK,
                &serde_json::json!({ "repositories": repos }),
                head,
            );
            if let (true, Some(n), Some(l)) = (more, n, repos.last()) {
                link(&mut resp, &format!("/v2/_catalog?n={n}&last={l}"));
            }
            Ok(resp)
        }
        Endpoint::Tags(name) => {
            check_name(name)?;
            if method != Method::GET && method != Method::HEAD {
                return Err(unsupported());
            }
            tags_list(state, name, &query(&req), head)
        }
        Endpoint::Manifest(name, reference) => {
            check_name(name)?;
            match method {
                Method::GET | Method::HEAD => {
                    manifest_get(state, name, reference, head, may(name, Action::Push)).await
                }
                Method::PUT => manifest_put(state, name, reference, req).await,
                Method::DELETE => manifest_delete(state, name, reference),
                _ => Err(unsupported()),
            }
        }
        Endpoint::Blob(name, digest) => {
            check_name(name)?;
            check_digest(digest)?;
            match method {
                Method::GET | Method::HEAD => blob_get(state, name, digest, head).await,
                Method::DELETE => {
                    if state.store.unlink_blob(name, digest)? {
                        Ok(status_only(StatusCode::ACCEPTED))
                    } else {
                        Err(ApiError::new(
                            Code::BlobUnknown,
                            format!("blob {digest} is not in {name}"),
                        ))
                    }
                }
                _ => Err(unsupported()),
            }
        }
        Endpoint::Uploads(name) => {
            check_name(name)?;
            if method != Method::POST {
                return Err(unsupported());
            }
            let q = query(&req);
            let mountable = q
                .get("from")
                .is_some_and(|from| name_ok(from) && may(from, Action::Pull));
            upload_start(state, name, req, mountable).await
        }
        Endpoint::Upload(name, id) => {
            check_name(name)?;
            if !state.store.upload_exists(name, id)? {
                return Err(ApiError::new(Code::BlobUploadUnknown, "no such upload"));
            }
            match method {
                Method::GET => upload_status(state, name, id).await,
                Method::PATCH => upload_patch(state, name, id, req).await,
                Method::PUT => upload_put(state, name, id, req).await,
                Method::DELETE => {
                    state.store.delete_upload(id)?;
                    state.forget_upload(id);
                    Ok(status_only(StatusCode::NO_CONTENT))
                }
                _ => Err(unsupported()),
            }
        }
        Endpoint::Gc => {
            if method != Method::POST {
                return Err(unsupported());
            }
            let q = query(&req);
            let grace = match q.get("grace_secs") {
                Some(g) => g.parse::<u64>().map_err(|_| {
                    ApiError::new(Code::Unsupported, "grace_secs must be a number of seconds")
                        .status(StatusCode::BAD_REQUEST)
                })?,
                None => state.config.gc_grace_secs,
            };
            let remote = state
                .store
                .gc_remote(std::time::Duration::from_secs(grace))
                .await?;
            let st = Arc::clone(state);
            let mut report = tokio::task::spawn_blocking(move || {
                st.store.gc(std::time::Duration::from_secs(grace))
            })
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
            if remote.blobs + remote.uploads > 0 {
                report = remote;
            }
            log::info!(
                "gc: removed {} blob(s) ({} bytes) and {} abandoned upload(s)",
                report.blobs,
                report.bytes,
                report.uploads
            );
            Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({"blobs": report.blobs, "bytes": report.bytes, "uploads": report.uploads}),
                head,
            ))
        }
        Endpoint::Cves(id) => {
            if method != Method::GET && method != Method::HEAD {
                return Err(unsupported());
            }
            let images: Vec<serde_json::Value> = state
                .store
                .cve_hits(id)?
                .into_iter()
                // By the caller's own rights, not a token's scopes: a token names no
                // repository of a registry-wide query.
                .filter(|h| {
                    state
                        .auth
                        .as_ref()
                        .is_none_or(|a| a.permits(caller.user.as_deref(), &h.repo, "pull"))
                })
                .map(|h| {
                    serde_json::json!({"repository": h.repo, "digest": h.digest, "status": h.status, "tags": h.tags})
                })
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({"id": id, "images": images}),
                head,
            ))
        }
        Endpoint::Exception(name, digest) => {
            check_name(name)?;
            check_digest(digest)?;
            if method != Method::PUT {
                return Err(unsupported());
            }
            let who = caller
                .user
                .clone()
                .unwrap_or_else(|| "anonymous (loopback)".to_string());
            grant_exception(state, name, digest, &who, req).await
        }
        Endpoint::Status(name, reference) => {
            check_name(name)?;
            if method != Method::GET && method != Method::HEAD {
                return Err(unsupported());
            }
            status(state, name, reference, head)
        }
        Endpoint::Referrers(name, digest) => {
            check_name(name)?;
            check_digest(digest)?;
            if method != Method::GET && method != Method::HEAD {
                return Err(unsupported());
            }
            referrers(state, name, digest, &query(&req), head)
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The robots API (`/v2/_customs/robots[/NAME]`), answered by [`Auth::robots_api`].
async fn robots(
    state: &State,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
    rest: String,
) -> Result<Response<Body>, ApiError> {
    let Some(auth) = &state.auth else {
        return Err(
            ApiError::new(Code::Unsupported, "this registry has no users")
                .status(StatusCode::NOT_FOUND),
        );
    };
    let caller = auth.identify(req.headers(), peer)?;
    let method = req.method().clone();
    let body = read_limited(state, req.into_body(), 64 * 1024).await?;
    let (status, v) = auth.robots_api(&caller, &method, &rest, &body)?;
    Ok(json_response(status, &v, false))
}

/// Records an admin's exception for a held manifest: a reason and an expiry are required.
async fn grant_exception(
    state: &State,
    name: &str,
    digest: &str,
    who: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let bad =
        |m: &str| ApiError::new(Code::Unsupported, m.to_string()).status(StatusCode::BAD_REQUEST);
    if state.store.manifest_by_digest(name, digest)?.is_none() {
        return Err(ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {digest} is not in {name}"),
        ));
    }
    let body = read_limited(state, req.into_body(), 64 * 1024).await?;
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| bad("the body must be JSON: {\"reason\", \"expires_in_secs\"}"))?;
    let reason = v["reason"].as_str().map(str::trim).unwrap_or("");
    if reason.is_empty() {
        return Err(bad("an exception needs a reason"));
    }
    let secs = v["expires_in_secs"]
        .as_u64()
        .filter(|s| (1..=366 * 86_400).contains(s));
    let Some(secs) = secs else {
        return Err(bad(
            "an exception needs expires_in_secs between 1 and 31622400",
        ));
    };
    let now = now_secs();
    state
        .store
        .add_exception(name, digest, reason, who, now, now + secs)?;
    log::warn!("exception granted by {who} for {name}@{digest} for {secs}s: {reason}");
    let out = serde_json::json!({"repository": name, "digest": digest, "reason": reason,
        "granted_by": who, "granted_at": now, "expires": now + secs});
    Ok(json_response(StatusCode::CREATED, &out, false))
}

/// The gate's verdict on a manifest, as JSON, readable even while it is quarantined.
fn status(
    state: &State,
    name: &str,
    reference: &str,
    head: bool,
) -> Result<Response<Body>, ApiError> {
    let (_, row) = stored_manifest(state, name, reference)?;
    let verdict: Option<serde_json::Value> = row
        .verdict
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok());
    let v = serde_json::json!({
        "repository": name,
        "digest": row.digest,
        "mediaType": row.media_type,
        "status": row.status,
        "verdict": verdict,
        "exception": state.store.exception(name, &row.digest, now_secs())?.map(|e| {
            serde_json::json!({"reason": e.reason, "granted_by": e.granted_by, "granted_at": e.granted_at, "expires": e.expires})
        }),
    });
    Ok(json_response(StatusCode::OK, &v, head))
}

fn text_response(status: StatusCode, body: String, ctype: &str) -> Response<Body> {
    let len = body.len();
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    set(&mut r, "Content-Type", ctype);
    set(&mut r, "Content-Length", &len.to_string());
    r
}

/// The Prometheus text exposition of the counters (no labels carry user input).
fn metrics_text(state: &State) -> String {
    let mut out = String::from(
        "# HELP customs_serve_requests_total Requests answered, by method and status.\n# TYPE customs_serve_requests_total counter\n",
    );
    for ((method, status), n) in state
        .metrics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let method = if matches!(
            method.as_str(),
            "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE"
        ) {
            method.as_str()
        } else {
            "OTHER"
        };
        out.push_str(&format!(
            "customs_serve_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}\n"
        ));
    }
    out.push_str("# HELP customs_serve_gate_verdicts_total Push-gate verdicts, by outcome.\n# TYPE customs_serve_gate_verdicts_total counter\n");
    for (v, n) in state
        .verdicts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        out.push_str(&format!(
            "customs_serve_gate_verdicts_total{{verdict=\"{v}\"}} {n}\n"
        ));
    }
    out
}

fn caller_has_token(c: &Caller) -> bool {
    c.has_token()
}

fn status_only(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(empty());
    *r.status_mut() = status;
    r.headers_mut().insert(
        "Content-Length",
        hyper::header::HeaderValue::from_static("0"),
    );
    r
}

fn json_response(status: StatusCode, v: &serde_json::Value, head: bool) -> Response<Body> {
    json_typed(status, v, "application/json", head)
}

fn json_typed(
    status: StatusCode,
    v: &serde_json::Value,
    ctype: &str,
    head: bool,
) -> Response<Body> {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let len = body.len();
    let mut r = Response::new(if head { empty() } else { full(body) });
    *r.status_mut() = status;
    set(&mut r, "Content-Type", ctype);
    set(&mut r, "Content-Length", &len.to_string());
    r
}

fn set(r: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

fn link(r: &mut Response<Body>, target: &str) {
    set(r, "Link", &format!("<{target}>; rel=\"next\""));
}

fn paging(q: &HashMap<String, String>) -> Result<(Option<usize>, Option<String>), ApiError> {
    let n = match q.get("n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            ApiError::new(
                Code::Unsupported,
                format!("n must be a non-negative integer, not {n:?}"),
            )
            .status(StatusCode::BAD_REQUEST)
        })?),
        None => None,
    };
    Ok((n, q.get("last").cloned()))
}

fn tags_list(
    state: &State,
    name: &str,
    q: &HashMap<String, String>,
    head: bool,
) -> Result<Response<Body>, ApiError> {
    if !state.store.repo_exists(name)? {
        return Err(ApiError::new(
            Code::NameUnknown,
            format!("repository {name} is not known"),
        ));
    }
    let (n, last) = paging(q)?;
    let (tags, more) = state.store.tags(name, last.as_deref(), n)?;
    let mut resp = json_response(
        StatusCode::OK,
        &serde_json::json!({"name": name, "tags": tags}),
        head,
    );
    if let (true, Some(n), Some(l)) = (more, n, tags.last()) {
        link(&mut resp, &format!("/v2/{name}/tags/list?n={n}&last={l}"));
    }
    Ok(resp)
}

fn referrers(
    state: &State,
    name: &str,
    digest: &str,
    q: &HashMap<String, String>,
    head: bool,
) -> Result<Response<Body>, ApiError> {
    let filter = q.get("artifactType").map(String::as_str);
    let rows = state.store.referrers(name, digest, filter)?;
    let manifests: Vec<serde_json::Value> = rows
        .iter()
        .map(|m| {
            let mut d = serde_json::json!({
                "mediaType": m.media_type, "digest": m.digest, "size": m.size,
            });
            if let Some(a) = &m.artifact_type {
                d["artifactType"] = a.clone().into();
            }
            if let Some(a) = m
                .annotations
                .as_deref()
                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
            {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let mut resp = json_typed(StatusCode::OK, &index, OCI_INDEX, head);
    if filter.is_some() {
        set(&mut resp, "OCI-Filters-Applied", "artifactType");
    }
    Ok(resp)
}

/// Bytes of a blob handed to hyper at a time.
const READ_CHUNK: u64 = 1 << 20;

/// A blob body read from its file one chunk ahead of the connection. Each chunk is a
/// read-only mapping of the next [`READ_CHUNK`] bytes of the file, faulted in on the
/// blocking pool, so no bytes are copied in user space and nothing is allocated per chunk
/// (a plain read is the fallback where mapping fails). No blocking thread is held between
/// chunks, so a slow client ties up nothing but its own connection, and at most two chunks
/// per pull are resident.
struct FileBody {
    file: Option<Arc<std::fs::File>>,
    pos: u64,
    len: u64,
    next: Option<tokio::task::JoinHandle<io::Result<Bytes>>>,
}

impl FileBody {
    /// Starts reading the chunk at `pos`, if any is left.
    fn read_ahead(&mut self) {
        let Some(file) = self.file.clone() else {
            return;
        };
        if self.pos >= self.len || self.next.is_some() {
            return;
        }
        let (pos, n) = (self.pos, READ_CHUNK.min(self.len - self.pos));
        self.next = Some(tokio::task::spawn_blocking(move || {
            read_chunk(&file, pos, n)
        }));
    }
}

/// `n` bytes of `file` at `pos` (a multiple of the page size).
fn read_chunk(file: &std::fs::File, pos: u64, n: u64) -> io::Result<Bytes> {
    // SAFETY: blobs are content-addressed and never written in place (a new blob is written
    // elsewhere and renamed over; collection unlinks), so the mapped bytes cannot change;
    // a file shorter than recorded is checked for first rather than faulting.
    if file.metadata()?.len() < pos + n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "blob file shorter than recorded",
        ));
    }
    let mapped = unsafe {
        memmap2::MmapOptions::new()
            .offset(pos)
            .len(n as usize)
            .populate()
            .map(file)
    };
    match mapped {
        Ok(m) => Ok(Bytes::from_owner(m)),
        Err(_) => {
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0u8; n as usize];
            file.read_exact_at(&mut buf, pos)?;
            Ok(Bytes::from(buf))
        }
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.read_ahead();
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let got = match Pin::new(next).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r
                .map_err(|e| io::Error::other(e.to_string()))
                .and_then(|r| r),
        };
        self.next = None;
        match got {
            Ok(chunk) => {
                self.pos += chunk.len() as u64;
                // The next chunk is read while this one is written.
                self.read_ahead();
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Err(e) => {
                self.file = None;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

async fn stream_file(path: PathBuf, len: u64) -> io::Result<Body> {
    let file = tokio::task::spawn_blocking(move || std::fs::File::open(path))
        .await
        .map_err(|e| io::Error::other(e.to_string()))??;
    let mut body = FileBody {
        file: Some(Arc::new(file)),
        pos: 0,
        len,
        next: None,
    };
    body.read_ahead();
    Ok(body.boxed())
}

async fn blob_get(
    state: &State,
    name: &str,
    digest: &str,
    head: bool,
) -> Result<Response<Body>, ApiError> {
    let Some(size) = state.store.repo_blob(name, digest)? else {
        return Err(ApiError::new(
            Code::BlobUnknown,
            format!("blob {digest} is not in {name}"),
        ));
    };
    let hex = sha256_hex(digest).ok_or_else(|| ApiError::new(Code::BlobUnknown, "blob unknown"))?;
    let body = if head {
        empty()
    } else {
        state.store.ensure_local(hex).await?;
        stream_file(state.store.blob_path(hex), size).await?
    };
    let mut r = Response::new(body);
    set(&mut r, "Content-Length", &size.to_string());
    set(&mut r, "Content-Type", "application/octet-stream");
    set(&mut r, "Docker-Content-Digest", digest);
    Ok(r)
}

fn new_upload_id() -> Result<String, ApiError> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)
        .map_err(|e| ApiError::internal(io::Error::other(e.to_string())))?;
    Ok(hex::encode(b))
}

fn upload_location(name: &str, id: &str, len: u64, status: StatusCode) -> Response<Body> {
    let mut r = status_only(status);
    set(
        &mut r,
        "Location",
        &format!("/v2/{name}/blobs/uploads/{id}"),
    );
    set(&mut r, "Range", &format!("0-{}", len.saturating_sub(1)));
    set(&mut r, "Docker-Upload-UUID", id);
    r
}

fn blob_created(name: &str, digest: &str) -> Response<Body> {
    let mut r = status_only(StatusCode::CREATED);
    set(&mut r, "Location", &format!("/v2/{name}/blobs/{digest}"));
    set(&mut r, "Docker-Content-Digest", digest);
    r
}

async fn upload_start(
    state: &Arc<State>,
    name: &str,
    req: Request<Incoming>,
    mountable: bool,
) -> Result<Response<Body>, ApiError> {
    let q = query(&req);
    if let Some(mount) = q.get("mount") {
        check_digest(mount)?;
        if let Some(from) = q.get("from") {
            if mountable {
                if let Some(size) = state.store.repo_blob(from, mount)? {
                    state.store.link_blob(name, mount, size)?;
                    return Ok(blob_created(name, mount));
                }
            }
        }
        // Not mountable: fall back to an upload session, as the spec says.
    }
    let id = new_upload_id()?;
    state.store.create_upload(name, &id)?;
    if let Some(digest) = q.get("digest") {
        let digest = digest.clone();
        check_digest(&digest)?;
        let lock = state.upload_lock(&id);
        let mut progress = lock.lock().await;
        let result = async {
            append(state, &id, None, req.into_body(), &mut progress).await?;
            finish(state, name, &id, &digest, &mut progress).await
        }
        .await;
        drop(progress);
        state.forget_upload(&id);
        if result.is_err() {
            let _ = state.store.delete_upload(&id);
        }
        return result.map(|()| blob_created(name, &digest));
    }
    Ok(upload_location(name, &id, 0, StatusCode::ACCEPTED))
}

async fn upload_len(state: &State, id: &str) -> io::Result<u64> {
    match tokio::fs::metadata(state.store.upload_path(id)).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

async fn upload_status(state: &State, name: &str, id: &str) -> Result<Response<Body>, ApiError> {
    let lock = state.upload_lock(id);
    let _guard = lock.lock().await;
    let len = upload_len(state, id).await?;
    Ok(upload_location(name, id, len, StatusCode::NO_CONTENT))
}

/// `Content-Range: start-end` (a `bytes ` prefix tolerated).
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = headers.get("Content-Range") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(Code::BlobUploadInvalid, "malformed Content-Range")
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s.strip_prefix("bytes ").unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if b < a {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get("Content-Length")?.to_str().ok()?.parse().ok()
}

async fn upload_patch(
    state: &Arc<State>,
    name: &str,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let lock = state.upload_lock(id);
    let mut progress = lock.lock().await;
    let range = content_range(req.headers())?;
    let expected = match range {
        Some((a, b)) => {
            let len = upload_len(state, id).await?;
            if a != len {
                let mut r = upload_location(name, id, len, StatusCode::RANGE_NOT_SATISFIABLE);
                set(&mut r, "Content-Type", "application/json");
                return Ok(r);
            }
            if let Some(cl) = content_length(req.headers()) {
                if cl != b - a + 1 {
                    return Err(ApiError::new(
                        Code::SizeInvalid,
                        "Content-Length does not match Content-Range",
                    ));
                }
            }
            Some(b - a + 1)
        }
        None => None,
    };
    let len = append(state, id, expected, req.into_body(), &mut progress).await?;
    Ok(upload_location(name, id, len, StatusCode::ACCEPTED))
}

async fn upload_put(
    state: &Arc<State>,
    name: &str,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let q = query(&req);
    let Some(digest) = q.get("digest").cloned() else {
        return Err(ApiError::new(
            Code::DigestInvalid,
            "the digest query parameter is required",
        ));
    };
    check_digest(&digest)?;
    let lock = state.upload_lock(id);
    let mut progress = lock.lock().await;
    if let Some((a, _)) = content_range(req.headers())? {
        let len = upload_len(state, id).await?;
        if a != len {
            return Ok(upload_location(
                name,
                id,
                len,
                StatusCode::RANGE_NOT_SATISFIABLE,
            ));
        }
    }
    append(state, id, None, req.into_body(), &mut progress).await?;
    let result = finish(state, name, id, &digest, &mut progress).await;
    drop(progress);
    match result {
        // A storage failure (full disk, object store down): keep the upload, so the client
        // can retry the same PUT.
        Err(e) if e.status.is_server_error() => Err(e),
        result => {
            state.forget_upload(id);
            let _ = state.store.delete_upload(id);
            result.map(|()| blob_created(name, &digest))
        }
    }
}

/// Streams `body` onto the end of upload `id`, hashing as it goes; returns the new length.
async fn append(
    state: &State,
    id: &str,
    expected: Option<u64>,
    mut body: Incoming,
    progress: &mut Option<Progress>,
) -> Result<u64, ApiError> {
    let path = state.store.upload_path(id);
    let file = tokio::task::spawn_blocking(move || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    })
    .await
    .map_err(|e| io::Error::other(e.to_string()))??;
    let start = file.metadata()?.len();
    let mut file = BatchWriter::new(file);
    if progress.as_ref().is_some_and(|p| p.len != start) {
        *progress = None;
    }
    if progress.is_none() && start == 0 {
        let wants = state.gate.as_ref().is_some_and(|g| g.wants_layers());
        *progress = Some(Progress {
            hasher: Sha256::new(),
            len: 0,
            diff: if wants { DiffSniffer::start() } else { None },
        });
    }
    let mut written = 0u64;
    let outcome: Result<(), ApiError> = async {
        let idle = state.config.idle_timeout();
        while let Some(frame) = next_frame(&mut body, idle, Code::BlobUploadInvalid).await? {
            if let Ok(data) = frame.into_data() {
                if expected.is_some_and(|x| written + data.len() as u64 > x) {
                    return Err(ApiError::new(
                        Code::SizeInvalid,
                        "body longer than Content-Range",
                    ));
                }
                file.push(data.clone()).await?;
                if let Some(p) = progress.as_mut() {
                    p.hasher.update(&data);
                    p.len += data.len() as u64;
                    if let Some(d) = p.diff.as_mut() {
                        d.feed(&data).await;
                    }
                }
                written += data.len() as u64;
            }
        }
        file.finish().await?;
        Ok(())
    }
    .await;
    if let Err(e) = &outcome {
        *progress = None;
        if e.status.is_server_error() {
            // A storage failure (a full disk): drop what this request wrote, so the upload
            // is as it was before it and the same request can be retried.
            if let Err(t) = file.set_len(start).await {
                log::error!("truncating upload {id} after a storage failure: {t}");
            }
        }
    }
    outcome?;
    if expected.is_some_and(|x| x != written) {
        return Err(ApiError::new(
            Code::SizeInvalid,
            "body shorter than Content-Range",
        ));
    }
    Ok(start + written)
}

/// Bytes of request body gathered before they go to the upload file in one blocking call.
const WRITE_BATCH: usize = 64 * 1024;

/// Writes an upload's body chunks on the blocking pool, in batches of about
/// [`WRITE_BATCH`] bytes with one batch in flight while the next is gathered. The chunks
/// are written as hyper handed them over (no copy into a file buffer), so an upload holds at
/// most two batches.
struct BatchWriter {
    file: Option<std::fs::File>,
    batch: Vec<Bytes>,
    batched: usize,
    inflight: Option<tokio::task::JoinHandle<(std::fs::File, io::Result<()>)>>,
}

impl BatchWriter {
    fn new(file: std::fs::File) -> BatchWriter {
        BatchWriter {
            file: Some(file),
            batch: Vec::new(),
            batched: 0,
            inflight: None,
        }
    }

    async fn push(&mut self, data: Bytes) -> io::Result<()> {
        self.batched += data.len();
        self.batch.push(data);
        if self.batched >= WRITE_BATCH {
            self.send_batch().await?;
        }
        Ok(())
    }

    /// Waits for the batch in flight, then starts writing the gathered one.
    async fn send_batch(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.wait().await?;
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload file lost by an earlier failed write"))?;
        let batch = std::mem::take(&mut self.batch);
        self.batched = 0;
        self.inflight = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let r = batch.iter().try_for_each(|b| file.write_all(b));
            (file, r)
        }));
        Ok(())
    }

    async fn wait(&mut self) -> io::Result<()> {
        if let Some(h) = self.inflight.take() {
            let (file, r) = h.await.map_err(|e| io::Error::other(e.to_string()))?;
            self.file = Some(file);
            r?;
        }
        Ok(())
    }

    /// Writes everything gathered and waits until it is written.
    async fn finish(&mut self) -> io::Result<()> {
        self.send_batch().await?;
        self.wait().await
    }

    /// Drops what is gathered and cuts the file back to `len` bytes once no write is in
    /// flight (after a storage failure, so the request can be retried).
    async fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.batch.clear();
        self.batched = 0;
        // The failed write's own error was already reported; only its file is wanted here.
        let _ = self.wait().await;
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload file lost by an earlier failed write"))?;
        let (file, r) = tokio::task::spawn_blocking(move || {
            let r = file.set_len(len);
            (file, r)
        })
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
        self.file = Some(file);
        r
    }
}

/// Verifies upload `id` against `digest` and commits it as a blob of `name`.
async fn finish(
    state: &Arc<State>,
    name: &str,
    id: &str,
    digest: &str,
    progress: &mut Option<Progress>,
) -> Result<(), ApiError> {
    let Some(hex) = sha256_hex(digest) else {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!("unsupported digest {digest:?}: only sha256 is accepted"),
        ));
    };
    let path = state.store.upload_path(id);
    if !path.exists() {
        tokio::fs::File::create(&path).await?;
    }
    let len = upload_len(state, id).await?;
    let mut sniffer = None;
    let computed = match progress.take() {
        Some(p) if p.len == len => {
            sniffer = p.diff;
            hex::encode(p.hasher.finalize())
        }
        _ => {
            let p = path.clone();
            tokio::task::spawn_blocking(move || hash_file(&p))
                .await
                .map_err(|e| io::Error::other(e.to_string()))??
        }
    };
    if computed != hex {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!("the uploaded content's digest is sha256:{computed}, not {digest}"),
        ));
    }
    // With object storage the bucket has it before the local commit, so a failed upload to
    // the bucket leaves the upload in place to be retried.
    state.store.publish(&path, hex).await?;
    let st = Arc::clone(state);
    let hex2 = hex.to_string();
    tokio::task::spawn_blocking(move || -> io::Result<()> {
        std::fs::File::open(&path)?.sync_all()?;
        st.store.commit_file(&path, &hex2)
    })
    .await
    .map_err(|e| io::Error::other(e.to_string()))??;
    state.store.link_blob(name, digest, len)?;
    if let (Some(g), Some(s)) = (&state.gate, sniffer) {
        match s.finish().await {
            Some(Uncompressed::Plain) => {
                g.layer_committed(&state.store.blobs_dir(), digest, digest)
            }
            Some(Uncompressed::Digest(d)) => {
                g.layer_committed(&state.store.blobs_dir(), digest, &d)
            }
            None => {}
        }
    }
    Ok(())
}

fn hash_file(path: &Path) -> io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The stored manifest a tag or digest names in repository `name`, with its digest; the
/// spec's MANIFEST_UNKNOWN when there is none.
fn stored_manifest(
    state: &State,
    name: &str,
    reference: &str,
) -> Result<(String, crate::store::ManifestRow), ApiError> {
    let unknown = || {
        ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not in {name}"),
        )
    };
    let digest = resolve(state, name, reference)?.ok_or_else(unknown)?;
    let row = state
        .store
        .manifest_by_digest(name, &digest)?
        .ok_or_else(unknown)?;
    Ok((digest, row))
}

/// Resolves a tag or digest to a manifest digest of `name`.
fn resolve(state: &State, name: &str, reference: &str) -> Result<Option<String>, ApiError> {
    if reference.contains(':') {
        check_digest(reference)?;
        Ok(Some(reference.to_string()))
    } else if tag_ok(reference) {
        Ok(state.store.tag(name, reference)?)
    } else {
        Err(
            ApiError::new(Code::ManifestInvalid, format!("invalid tag {reference:?}"))
                .status(StatusCode::BAD_REQUEST),
        )
    }
}

async fn manifest_get(
    state: &State,
    name: &str,
    reference: &str,
    head: bool,
    can_push: bool,
) -> Result<Response<Body>, ApiError> {
    let (digest, row) = stored_manifest(state, name, reference)?;
    // Pushers may still read a held manifest by digest, so they can sign it.
    let pusher_by_digest = can_push && reference.contains(':');
    let is_index = matches!(row.media_type.as_str(), OCI_INDEX | DOCKER_LIST);
    if is_index && state.gate.is_some() {
        // An index is as pullable as its platforms are now (a rematch or an exception may
        // have changed one since the index was pushed).
        if !pusher_by_digest && state.store.exception(name, &digest, now_secs())?.is_none() {
            let hex = sha256_hex(&digest).ok_or_else(|| {
                ApiError::new(
                    Code::ManifestUnknown,
                    format!("manifest {reference} is not in {name}"),
                )
            })?;
            state.store.ensure_local(hex).await?;
            let bytes = tokio::fs::read(state.store.blob_path(hex)).await?;
            let held = held_platforms(state, name, &bytes)?;
            if !held.is_empty() {
                return Err(gate::index_refusal(name, reference, &digest, &held));
            }
        }
    } else if row.status != "passed"
        && !pusher_by_digest
        && state.store.exception(name, &digest, now_secs())?.is_none()
    {
        return Err(gate::refusal(name, reference, &row));
    }
    if let Some(pg) = &state.pull_gate {
        if pg.applies(name)
            && !(can_push && reference.contains(':'))
            && (row.container || layerless_image(state, &row).await?)
        {
            pull_gate_check(state, pg, name, reference, &digest, &row).await?;
        }
    }
    let hex = sha256_hex(&digest).ok_or_else(|| {
        ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not in {name}"),
        )
    })?;
    let bytes = if head {
        Bytes::new()
    } else {
        state.store.ensure_local(hex).await?;
        Bytes::from(tokio::fs::read(state.store.blob_path(hex)).await?)
    };
    let mut r = Response::new(if head { empty() } else { full(bytes) });
    set(&mut r, "Content-Type", &row.media_type);
    set(&mut r, "Content-Length", &row.size.to_string());
    set(&mut r, "Docker-Content-Digest", &digest);
    Ok(r)
}

/// The platforms of index `bytes` (stored in `name`) that may not be pulled: held by the
/// push gate with no exception in force.
fn held_platforms(
    state: &State,
    name: &str,
    bytes: &[u8],
) -> Result<Vec<gate::HeldPlatform>, ApiError> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("stored index: {e}")))?;
    let now = now_secs();
    let mut held = Vec::new();
    for entry in v["manifests"].as_array().into_iter().flatten() {
        let Some(d) = entry["digest"].as_str() else {
            continue;
        };
        let Some(row) = state.store.manifest_by_digest(name, d)? else {
            continue;
        };
        if row.status == "passed" || state.store.exception(name, d, now)?.is_some() {
            continue;
        }
        held.push(gate::HeldPlatform {
            platform: gate::platform_of(entry),
            digest: d.to_string(),
            verdict: row
                .verdict
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
        });
    }
    Ok(held)
}

/// Every `every`, updates the advisory database at `database` as `customs db update` does,
/// from `mirror` or the public sources. The watcher then sees the new file and rematches
/// every stored image. A failed update is logged and leaves the database as it was.
pub(crate) async fn update_database(database: PathBuf, mirror: Option<String>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let (db, mirror) = (database.clone(), mirror.clone());
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || {
            let opts = customs_vulndb::UpdateOptions {
                mirror,
                ..Default::default()
            };
            customs_vulndb::update_with(&opts, &db, &mut |_| {}).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match done {
            Ok(r) => log::info!(
                "gate: database updated in {} ms ({} downloaded, {} unchanged, {} not published)",
                started.elapsed().as_millis(),
                r.downloaded.len(),
                r.not_modified.len(),
                r.missing.len()
            ),
            Err(e) => log::error!("gate: the scheduled database update failed: {e}"),
        }
    }
}

/// Every `every`, asks the gate whether the advisory data changed; when it did, rematches
/// every stored image and records the new verdicts (quarantining images that now fail,
/// releasing those that now pass).
pub(crate) async fn watch(state: Arc<State>, every: std::time::Duration) {
    let Some(gate) = state.gate.clone() else {
        return;
    };
    loop {
        tokio::time::sleep(every).await;
        let g = Arc::clone(&gate);
        if !tokio::task::spawn_blocking(move || g.database_changed())
            .await
            .unwrap_or(false)
        {
            continue;
        }
        let g = Arc::clone(&gate);
        let blobs = state.store.blobs_dir();
        let verdicts = match tokio::task::spawn_blocking(move || g.rematch(&blobs)).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                log::error!("rematch: {e}");
                continue;
            }
            Err(e) => {
                log::error!("rematch: {e}");
                continue;
            }
        };
        for (repo, digest, verdict) in verdicts {
            let (status, text) = gate::record(&verdict);
            let before = state
                .store
                .manifest_by_digest(&repo, &digest)
                .ok()
                .flatten();
            let old: Option<gate::Verdict> = before
                .as_ref()
                .and_then(|r| r.verdict.as_deref())
                .and_then(|v| serde_json::from_str(v).ok());
            let old_findings = old.map(|v| v.findings).unwrap_or_default();
            let new: Vec<&String> = verdict
                .findings
                .iter()
                .filter(|f| !old_findings.contains(f))
                .collect();
            if !new.is_empty() {
                state.webhooks.fire(
                    "findings",
                    serde_json::json!({"repository": repo, "digest": digest, "new": new}),
                );
            }
            if status == "quarantined" && before.as_ref().is_some_and(|b| b.status != "quarantined")
            {
                state.webhooks.fire(
                    "quarantine",
                    serde_json::json!({"repository": repo, "digest": digest, "violations": verdict.violations, "cves": verdict.cves}),
                );
            }
            if let Err(e) =
                state
                    .store
                    .set_verdict(&repo, &digest, status, text.as_deref(), &verdict.findings)
            {
                log::error!("recording the rematch of {repo}@{digest}: {e}");
            }
            *state
                .verdicts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(status)
                .or_default() += 1;
        }
    }
}

/// The blobs a stored manifest names (config and layers, or nothing for an index).
fn manifest_blobs(bytes: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let mut out: Vec<String> = v["config"]["digest"]
        .as_str()
        .map(str::to_string)
        .into_iter()
        .collect();
    for l in v["layers"].as_array().into_iter().flatten() {
        if let Some(d) = l["digest"].as_str() {
            out.push(d.to_string());
        }
    }
    out
}

/// Whether a stored manifest that is not a container image is still an image the pull gate
/// guards: an image config, no layers at all, and no subject (go-containerregistry's
/// `empty.Image`, for one). Signatures and other artefacts have layers or a subject.
async fn layerless_image(state: &State, row: &crate::store::ManifestRow) -> Result<bool, ApiError> {
    if !matches!(
        row.artifact_type.as_deref(),
        Some("application/vnd.oci.image.config.v1+json")
            | Some("application/vnd.docker.container.image.v1+json")
    ) {
        return Ok(false);
    }
    let Some(hex) = sha256_hex(&row.digest) else {
        return Ok(false);
    };
    state.store.ensure_local(hex).await?;
    let bytes = tokio::fs::read(state.store.blob_path(hex)).await?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok(v["layers"].as_array().is_some_and(|l| l.is_empty()) && v.get("subject").is_none())
}

/// Refuses the pull unless signatures verify with every key the pull gate requires.
async fn pull_gate_check(
    state: &State,
    pg: &crate::pull_gate::PullGate,
    name: &str,
    reference: &str,
    digest: &str,
    row: &crate::store::ManifestRow,
) -> Result<(), ApiError> {
    use crate::pull_gate::LayoutEntry;
    let hex = sha256_hex(digest).ok_or_else(|| invalid("bad digest"))?;
    let mut entries = vec![LayoutEntry {
        digest: digest.to_string(),
        media_type: row.media_type.clone(),
        size: row.size,
        tag: None,
        artifact_type: None,
    }];
    let mut blobs = Vec::new();
    let sig_tag = format!("sha256-{hex}.sig");
    let mut related = Vec::new();
    if let Some(sig) = state.store.tag(name, &sig_tag)? {
        related.push((sig, Some(sig_tag)));
    }
    for r in state.store.referrers(name, digest, None)? {
        related.push((r.digest.clone(), None));
    }
    for (d, tag) in related {
        let Some(m) = state.store.manifest_by_digest(name, &d)? else {
            continue;
        };
        let Some(h) = sha256_hex(&d) else { continue };
        state.store.ensure_local(h).await?;
        let bytes = tokio::fs::read(state.store.blob_path(h)).await?;
        blobs.extend(manifest_blobs(&bytes));
        entries.push(LayoutEntry {
            digest: d,
            media_type: m.media_type,
            size: m.size,
            tag,
            artifact_type: m.artifact_type,
        });
    }
    for b in &blobs {
        if let Some(h) = sha256_hex(b) {
            state.store.ensure_local(h).await?;
        }
    }
    let blobs_dir = state.store.blobs_dir();
    let result = tokio::task::block_in_place(|| pg.missing(name, &blobs_dir, &entries, &blobs));
    let missing = result.map_err(|e| {
        ApiError::new(
            Code::Denied,
            format!(
                "{name}:{reference} ({digest}): the pull gate could not verify signatures: {e}"
            ),
        )
    })?;
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> =
        missing
            .keys
            .iter()
            .map(|(k, why)| format!("no signature verifies with key {k} ({why})"))
            .chain(missing.identities.iter().map(|(id, why)| {
                format!("no keyless signature verifies for identity {id} ({why})")
            }))
            .collect();
    Err(ApiError::new(
        Code::Denied,
        format!(
            "{name}:{reference} ({digest}) is refused by the pull gate: {}",
            parts.join("; ")
        ),
    )
    .detail(serde_json::json!({
        "digest": digest,
        "missing_keys": missing.keys.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        "missing_identities": missing.identities.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
    })))
}

/// The next frame of a request body; an error (`code`, or 408 once the client has sent
/// nothing for `idle`) when it cannot be read.
async fn next_frame(
    body: &mut Incoming,
    idle: Duration,
    code: Code,
) -> Result<Option<hyper::body::Frame<Bytes>>, ApiError> {
    match tokio::time::timeout(idle, body.frame()).await {
        Ok(None) => Ok(None),
        Ok(Some(Ok(frame))) => Ok(Some(frame)),
        Ok(Some(Err(e))) => Err(ApiError::new(
            code,
            format!("reading the request body: {e}"),
        )),
        Err(_) => Err(ApiError::new(
            code,
            format!(
                "the request body stalled: nothing arrived for {} s",
                idle.as_secs()
            ),
        )
        .status(StatusCode::REQUEST_TIMEOUT)),
    }
}

async fn read_limited(state: &State, mut body: Incoming, limit: u64) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let idle = state.config.idle_timeout();
    while let Some(frame) = next_frame(&mut body, idle, Code::ManifestInvalid).await? {
        if let Ok(data) = frame.into_data() {
            if out.len() as u64 + data.len() as u64 > limit {
                return Err(ApiError::new(
                    Code::SizeInvalid,
                    format!("manifest larger than {limit} bytes"),
                )
                .status(StatusCode::PAYLOAD_TOO_LARGE));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// What a manifest refers to, from its JSON.
struct Parsed {
    media_type: String,
    artifact_type: Option<String>,
    subject: Option<String>,
    annotations: Option<String>,
    blobs: Vec<String>,
    children: Vec<String>,
    /// A container image (image config, tar layers, no subject): what the push gate judges.
    /// Signatures, attestations, SBOMs and other artefacts are not images and pass.
    container_image: bool,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(Code::ManifestInvalid, msg)
}

fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, ApiError> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("manifest is not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("manifest is not a JSON object"))?;
    match obj.get("schemaVersion").and_then(|s| s.as_u64()) {
        Some(2) => {}
        Some(1) => return Err(invalid("Docker schema 1 manifests are not accepted")),
        _ => return Err(invalid("schemaVersion must be 2")),
    }
    let body_type = obj.get("mediaType").and_then(|m| m.as_str());
    let ctype = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    if let (Some(b), Some(c)) = (body_type, ctype) {
        if b != c {
            return Err(invalid(format!(
                "the manifest's mediaType {b} differs from its Content-Type {c}"
            )));
        }
    }
    let is_index = obj.contains_key("manifests");
    let media_type = body_type
        .or(ctype)
        .map(str::to_string)
        .unwrap_or_else(|| if is_index { OCI_INDEX } else { OCI_MANIFEST }.to_string());
    let descriptor_digest = |d: &serde_json::Value, what: &str| -> Result<String, ApiError> {
        let digest = d
            .get("digest")
            .and_then(|x| x.as_str())
            .ok_or_else(|| invalid(format!("{what} has no digest")))?;
        if !digest_ok(digest) {
            return Err(invalid(format!("{what} has an invalid digest {digest:?}")));
        }
        if d.get("size").and_then(|s| s.as_u64()).is_none() {
            return Err(invalid(format!("{what} has no size")));
        }
        Ok(digest.to_string())
    };
    let mut blobs = Vec::new();
    let mut children = Vec::new();
    let mut container_image = false;
    let mut artifact_type = obj
        .get("artifactType")
        .and_then(|a| a.as_str())
        .map(str::to_string);
    if is_index {
        if !matches!(media_type.as_str(), OCI_INDEX | DOCKER_LIST) {
            return Err(invalid(format!(
                "an index cannot have media type {media_type}"
            )));
        }
        for (i, m) in obj["manifests"]
            .as_array()
            .ok_or_else(|| invalid("manifests is not an array"))?
            .iter()
            .enumerate()
        {
            children.push(descriptor_digest(m, &format!("manifests[{i}]"))?);
        }
    } else {
        if !matches!(media_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST) {
            return Err(invalid(format!(
                "unsupported manifest media type {media_type}"
            )));
        }
        let config = obj
            .get("config")
            .ok_or_else(|| invalid("image manifest has no config"))?;
        blobs.push(descriptor_digest(config, "config")?);
        let config_type = config
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or("");
        let layer_types: Vec<&str> = obj
            .get("layers")
            .and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .map(|l| l.get("mediaType").and_then(|m| m.as_str()).unwrap_or(""))
                    .collect()
            })
            .unwrap_or_default();
        container_image = matches!(
            config_type,
            "application/vnd.oci.image.config.v1+json"
                | "application/vnd.docker.container.image.v1+json"
        ) && !layer_types.is_empty()
            && layer_types
                .iter()
                .all(|t| t.contains(".tar") || t.contains("rootfs.diff"))
            && !obj.contains_key("artifactType")
            && !obj.contains_key("subject");
        if artifact_type.is_none() {
            artifact_type = config
                .get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_string);
        }
        for (i, l) in obj
            .get("layers")
            .and_then(|l| l.as_array())
            .ok_or_else(|| invalid("layers is not an array"))?
            .iter()
            .enumerate()
        {
            let d = descriptor_digest(l, &format!("layers[{i}]"))?;
            let foreign = l
                .get("urls")
                .is_some_and(|u| u.as_array().is_some_and(|a| !a.is_empty()));
            if !foreign {
                blobs.push(d);
            }
        }
    }
    let subject = match obj.get("subject") {
        Some(s) => Some(descriptor_digest(s, "subject")?),
        None => None,
    };
    let annotations = obj
        .get("annotations")
        .filter(|a| a.is_object())
        .map(|a| a.to_string());
    Ok(Parsed {
        media_type,
        artifact_type,
        subject,
        annotations,
        blobs,
        children,
        container_image,
    })
}

async fn manifest_put(
    state: &Arc<State>,
    name: &str,
    reference: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let tag = if reference.contains(':') {
        check_digest(reference)?;
        None
    } else if tag_ok(reference) {
        Some(reference.to_string())
    } else {
        return Err(invalid(format!("invalid tag {reference:?}")));
    };
    let ctype = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_limited(state, req.into_body(), state.config.max_manifest_bytes).await?;
    let hex = hex::encode(Sha256::digest(&bytes));
    let digest = format!("sha256:{hex}");
    if tag.is_none() && reference != digest {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!("the manifest's digest is {digest}, not {reference}"),
        ));
    }
    let parsed = parse_manifest(&bytes, ctype.as_deref())?;
    if let Some(t) = &tag {
        let immutable = state
            .config
            .immutable_tags
            .iter()
            .any(|i| glob(&i.repository, name) && glob(&i.tag, t));
        if immutable {
            if let Some(current) = state.store.tag(name, t)? {
                if current != digest {
                    return Err(ApiError::new(
                        Code::Denied,
                        format!("tag {name}:{t} is immutable: it already points at {current}"),
                    ));
                }
            }
        }
    }
    if let Some(missing) = state.store.missing_blob(name, &parsed.blobs)? {
        return Err(ApiError::new(
            Code::ManifestBlobUnknown,
            format!("blob {missing} is not in {name}"),
        )
        .detail(serde_json::json!({ "digest": missing })));
    }
    if let Some(missing) = state.store.missing_manifest(name, &parsed.children)? {
        return Err(ApiError::new(
            Code::ManifestBlobUnknown,
            format!("manifest {missing} is not in {name}"),
        )
        .detail(serde_json::json!({ "digest": missing })));
    }
    // An index is judged per platform: each platform's image was judged when it was pushed.
    let index_held = if state.gate.is_some() && !parsed.children.is_empty() {
        Some(held_platforms(state, name, &bytes)?)
    } else {
        None
    };
    // The bytes become durable before any row names them.
    let tmp = state
        .store
        .upload_path(&format!("manifest-{}", new_upload_id()?));
    let st = Arc::clone(state);
    let hex2 = hex.clone();
    let len = bytes.len() as u64;
    tokio::task::spawn_blocking(move || -> io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        st.store.commit_file(&tmp, &hex2)
    })
    .await
    .map_err(|e| io::Error::other(e.to_string()))??;
    state
        .store
        .publish(&state.store.blob_path(&hex), &hex)
        .await?;
    for d in parsed.blobs.iter().chain(&parsed.children) {
        if let Some(h) = sha256_hex(d) {
            state.store.ensure_local(h).await?;
        }
    }
    let mut verdict_findings: Option<Vec<String>> = None;
    let (status, verdict) = match (&state.gate, parsed.container_image) {
        (Some(g), true) => {
            let g = Arc::clone(g);
            let st = Arc::clone(state);
            let req = GateRequest {
                repository: name.to_string(),
                digest: digest.clone(),
                media_type: parsed.media_type.clone(),
            };
            let verdict = tokio::task::spawn_blocking(move || g.judge(&st.store.blobs_dir(), &req))
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            verdict_findings = Some(verdict.findings.clone());
            let recorded = gate::record(&verdict);
            *state
                .verdicts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(recorded.0)
                .or_default() += 1;
            recorded
        }
        _ => match &index_held {
            Some(held) => {
                let verdict = gate::index_verdict(held);
                verdict_findings = Some(verdict.findings.clone());
                if !held.is_empty() {
                    let names: Vec<&str> = held.iter().map(|h| h.platform.as_str()).collect();
                    log::info!(
                        "gate: index {name}@{digest}: platform(s) {} held",
                        names.join(", ")
                    );
                }
                gate::record(&verdict)
            }
            None => ("passed", None),
        },
    };
    state.store.put_manifest(&NewManifest {
        repo: name,
        digest: &digest,
        media_type: &parsed.media_type,
        artifact_type: parsed.artifact_type.as_deref(),
        subject: parsed.subject.as_deref(),
        size: len,
        annotations: parsed.annotations.clone(),
        tag: tag.as_deref(),
        children: &parsed.children,
        status,
        verdict: verdict.clone(),
        container: parsed.container_image,
    })?;
    if let Some(found) = &verdict_findings {
        state
            .store
            .set_verdict(name, &digest, status, verdict.as_deref(), found)?;
    }
    state.webhooks.fire(
        "push",
        serde_json::json!({"repository": name, "digest": digest, "tag": tag, "status": status}),
    );
    if status == "quarantined" {
        let v: serde_json::Value = verdict
            .as_deref()
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        state.webhooks.fire(
            "quarantine",
            serde_json::json!({"repository": name, "digest": digest, "violations": v["violations"], "cves": v["cves"]}),
        );
    }
    let mut r = status_only(StatusCode::CREATED);
    set(
        &mut r,
        "Location",
        &format!("/v2/{name}/manifests/{digest}"),
    );
    set(&mut r, "Docker-Content-Digest", &digest);
    if let Some(s) = &parsed.subject {
        set(&mut r, "OCI-Subject", s);
    }
    Ok(r)
}

fn manifest_delete(state: &State, name: &str, reference: &str) -> Result<Response<Body>, ApiError> {
    let deleted = if reference.contains(':') {
        check_digest(reference)?;
        state.store.delete_manifest(name, reference)?
    } else if tag_ok(reference) {
        state.store.delete_tag(name, reference)?
    } else {
        return Err(invalid(format!("invalid tag {reference:?}")));
    };
    if deleted {
        Ok(status_only(StatusCode::ACCEPTED))
    } else {
        Err(ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not in {name}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_slashes_in_names_route_by_their_last_segments() {
        assert!(matches!(parse_path("/v2/"), Some(Endpoint::Base)));
        assert!(matches!(
            parse_path("/v2/a/b/tags/list"),
            Some(Endpoint::Tags("a/b"))
        ));
        assert!(matches!(
            parse_path("/v2/a/blobs/manifests/x"),
            Some(Endpoint::Manifest("a/blobs", "x"))
        ));
        assert!(matches!(
            parse_path("/v2/a/blobs/uploads/"),
            Some(Endpoint::Uploads("a"))
        ));
        assert!(matches!(
            parse_path("/v2/a/blobs/uploads/123"),
            Some(Endpoint::Upload("a", "123"))
        ));
        assert!(matches!(
            parse_path("/v2/x/y/blobs/sha256:ab"),
            Some(Endpoint::Blob("x/y", "sha256:ab"))
        ));
        assert!(matches!(
            parse_path("/v2/x/referrers/sha256:ab"),
            Some(Endpoint::Referrers("x", "sha256:ab"))
        ));
        assert!(parse_path("/v2/x").is_none());
        assert!(parse_path("/other").is_none());
    }

    #[test]
    fn names_tags_and_digests_follow_the_spec_grammar() {
        assert!(name_ok("library/debian"));
        assert!(name_ok("a.b_c__d--e/f"));
        assert!(!name_ok("Upper"));
        assert!(!name_ok("a//b"));
        assert!(!name_ok("../etc"));
        assert!(tag_ok("v1.0_rc-1"));
        assert!(!tag_ok(".hidden"));
        assert!(!tag_ok(&"a".repeat(129)));
        assert!(digest_ok("sha256:abc"));
        assert!(!digest_ok("sha256"));
        assert!(sha256_hex("sha256:../../etc/passwd").is_none());
    }
}
