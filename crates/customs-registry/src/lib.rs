//! customs-registry is customs' side of the OCI Distribution API (Docker Registry HTTP API
//! v2): a blocking client that pulls manifests and blobs with digest verification, selects
//! platforms from indexes, pushes blobs and manifests, lists tags and referrers (with the
//! `sha256-<hex>` tag fallback); its transport (TLS, one retry policy, timeouts that a stalled
//! registry cannot outlast), auth and the token flow, credential helpers, image copies
//! ([`copy`]) and the registry probe ([`probe`]).
//!
//! It owns everything that speaks HTTP to a registry. It does not own references, manifests,
//! digests or layers (customs-image does); it implements customs-image's [`Remote`] so that
//! `Image::open` can open registry images through a [`RegistryClient`].
//!
//! ```no_run
//! use customs_image::{Image, OpenOptions};
//! let opts = OpenOptions {
//!     remote: Some(customs_registry::remote(customs_registry::RegistryOptions::default())),
//!     ..OpenOptions::default()
//! };
//! let image = Image::open_str("docker.io/library/alpine:3.20", &opts)?;
//! println!("{} layers", image.layers.len());
//! # Ok::<(), customs_image::ImageError>(())
//! ```
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod auth;
pub mod copy;
mod credentials;
pub mod probe;
mod transport;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::Response;
use reqwest::header::{
    HeaderName, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use customs_image::digest::{read_verified, Digest, VerifyingReader};
use customs_image::manifest::{
    media_type, parse_manifest, Descriptor, Index, ManifestError, ManifestKind, Platform,
};
use customs_image::reference::{Reference, Repository};
use customs_image::{ImageError, Remote, RemoteError};

pub use customs_image::ResolvedManifest;

pub use credentials::{Credential, CredentialError, CredentialSource, Secret};

use auth::{AuthCache, Scheme};
use transport::{Request, StallGuard, Transport, TransportOptions};

/// The largest manifest or index accepted.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;
/// Blobs up to this size are uploaded in one PUT by [`UploadMode::Auto`]; larger ones in chunks.
pub const MONOLITHIC_LIMIT: u64 = 32 * 1024 * 1024;
/// The chunk size [`UploadMode::Auto`] uses for large blobs.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024 * 1024;

/// How the client connects and authenticates.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Hosts (`host[:port]`) allowed plain HTTP and HTTPS without certificate checks.
    /// Loopback hosts are always allowed plain HTTP, but keep certificate checks on HTTPS.
    pub insecure_registries: Vec<String>,
    /// Use plain HTTP without trying HTTPS first (only for loopback or insecure hosts; any
    /// other host is refused before connecting).
    pub plain_http: bool,
    /// PEM files of extra CA certificates, trusted on top of the system roots.
    pub ca_certs: Vec<PathBuf>,
    /// Where credentials come from.
    pub credentials: CredentialSource,
    /// The `User-Agent` sent with every request.
    pub user_agent: String,
    /// Attempts per request, counting the first, for 429, 5xx and network errors.
    pub max_attempts: u32,
    /// The first retry delay; it doubles with each attempt (capped at 30 s).
    pub retry_delay: Duration,
    /// Longest wait for a TCP and TLS connection.
    pub connect_timeout: Duration,
    /// Longest wait for a response's headers, and for any one read of its body.
    pub read_timeout: Duration,
    /// No request is retried past this time since it was first sent, so a registry that never
    /// answers fails one request inside it.
    pub request_budget: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            plain_http: false,
            ca_certs: Vec::new(),
            credentials: CredentialSource::Auto,
            user_agent: concat!("customs/", env!("CARGO_PKG_VERSION")).to_string(),
            max_attempts: 4,
            retry_delay: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            request_budget: Duration::from_secs(40),
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// A registry operation that failed.
pub enum RegistryError {
    #[error("refusing plain HTTP to {host}: only loopback hosts and hosts listed as insecure may use it")]
    /// Plain HTTP was asked for a host that is neither loopback nor listed as insecure.
    PlainHttpRefused {
        /// The host refused.
        host: String,
    },
    #[error("TLS error talking to {host}: {message}")]
    /// The TLS handshake failed.
    Tls {
        /// The registry host.
        host: String,
        /// The TLS error, such as the certificate problem.
        message: String,
    },
    #[error("connection to {host} failed: {message}")]
    /// The connection to the registry failed: refused, reset, timed out or cut short.
    Connect {
        /// The registry host.
        host: String,
        /// Why the connection failed.
        message: String,
        /// Whether retrying may help (timeouts, resets).
        transient: bool,
    },
    #[error("unauthorized: {registry} {detail}")]
    /// The registry refused the credentials (or none were given and it wants some).
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The registry's error message.
        detail: String,
    },
    #[error("access denied by {registry} to {what}: {detail}")]
    /// The registry refused access to a repository for these credentials.
    Denied {
        /// The registry host.
        registry: String,
        /// What was asked for.
        what: String,
        /// The registry's error message.
        detail: String,
    },
    #[error("not found: {what}")]
    /// The manifest, blob or repository does not exist.
    NotFound {
        /// What was asked for.
        what: String,
    },
    #[error("{what}: registry answered HTTP {status}: {detail}")]
    /// The registry answered with an unexpected HTTP status.
    Status {
        /// What was asked for.
        what: String,
        /// The HTTP status code.
        status: u16,
        /// The registry's error message.
        detail: String,
    },
    #[error("{what}: manifest of {size} bytes exceeds the {limit} byte limit")]
    /// A manifest is larger than [`MAX_MANIFEST_SIZE`].
    ManifestTooLarge {
        /// What was fetched.
        what: String,
        /// Its size in bytes, declared or read so far.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    /// What arrived does not hash to the digest asked for.
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The digest asked for.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
    #[error("{what}: {source}")]
    /// A manifest or index could not be parsed.
    Manifest {
        /// What was fetched.
        what: String,
        /// The parse error.
        source: ManifestError,
    },
    #[error("{reference} has no manifest for platform {wanted}; available: {}", available.join(", "))]
    /// An index has no manifest for the platform asked for.
    NoMatchingPlatform {
        /// The reference resolved.
        reference: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms the index offers.
        available: Vec<String>,
    },
    #[error(transparent)]
    /// Reading credentials failed.
    Credentials(#[from] CredentialError),
    #[error("reading CA certificate {path}: {message}")]
    /// A CA certificate file could not be read or parsed.
    CaCert {
        /// The CA file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    #[error("building the HTTP client: {0}")]
    /// The HTTP client could not be built (the message says why).
    Client(String),
    #[error("{what}: {source}")]
    /// Reading or writing local data failed.
    Io {
        /// What was being read or written.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    #[error("invalid registry response: {0}")]
    /// The registry's answer breaks the distribution spec (the message says how).
    InvalidResponse(String),
}

impl RegistryError {
    pub(crate) fn from_reqwest(host: &str, e: &reqwest::Error) -> RegistryError {
        if let Some(tls) = transport::find_rustls_error(e) {
            let speaks_tls = !matches!(
                tls,
                rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }
            );
            if speaks_tls {
                return RegistryError::Tls {
                    host: host.to_string(),
                    message: tls.to_string(),
                };
            }
        }
        // reqwest's Display hides the cause; spell out the chain (it holds no secrets).
        let mut message = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        let transient = e.is_timeout() || (e.is_request() && !e.is_connect()) || e.is_body();
        RegistryError::Connect {
            host: host.to_string(),
            message,
            transient,
        }
    }

    /// Whether the failure was a TLS handshake with a server that speaks TLS (so falling back
    /// to plain HTTP would be wrong).
    pub(crate) fn server_speaks_tls(&self) -> bool {
        matches!(self, RegistryError::Tls { .. })
    }

    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            RegistryError::Connect {
                transient: true,
                ..
            }
        )
    }
}

impl From<RegistryError> for ImageError {
    fn from(e: RegistryError) -> ImageError {
        ImageError::Remote(Box::new(e))
    }
}

/// A [`Remote`] for `customs-image` over a [`RegistryClient`] made on first use, so commands
/// that never open a registry image never load TLS roots or credentials.
pub fn remote(opts: RegistryOptions) -> std::sync::Arc<dyn Remote> {
    std::sync::Arc::new(LazyClient {
        opts,
        client: std::sync::OnceLock::new(),
    })
}

struct LazyClient {
    opts: RegistryOptions,
    client: std::sync::OnceLock<Result<RegistryClient, String>>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient").finish_non_exhaustive()
    }
}

impl LazyClient {
    fn client(&self) -> Result<&RegistryClient, RemoteError> {
        match self
            .client
            .get_or_init(|| RegistryClient::new(self.opts.clone()).map_err(|e| e.to_string()))
        {
            Ok(c) => Ok(c),
            Err(e) => Err(RegistryError::Client(e.clone()).into()),
        }
    }
}

impl Remote for LazyClient {
    fn resolve(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedManifest, RemoteError> {
        Ok(self.client()?.resolve(reference, platform)?)
    }

    fn open_blob(
        &self,
        reference: &Reference,
        desc: &Descriptor,
    ) -> Result<Box<dyn Read + Send>, RemoteError> {
        Ok(Box::new(self.client()?.get_blob(&reference.repo(), desc)?))
    }
}

/// A blob being downloaded: reading it to the end checks its size and digest, and fails
/// with `InvalidData`/`UnexpectedEof` if they differ from the descriptor.
pub type BlobReader = VerifyingReader<Box<dyn Read + Send>>;

/// How [`RegistryClient::upload_blob`] sends the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadMode {
    /// Monolithic up to [`MONOLITHIC_LIMIT`], chunked ([`DEFAULT_CHUNK_SIZE`]) above.
    #[default]
    Auto,
    /// POST, then one PUT with the whole blob (held in memory).
    Monolithic,
    /// POST, PATCHes of this many bytes with `Content-Range`, then a PUT.
    Chunked(usize),
}

/// What [`RegistryClient::upload_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// The registry already had the blob; nothing was sent.
    Exists,
    /// Mounted from another repository of the same registry.
    Mounted,
    /// Sent to the registry.
    Uploaded,
}

/// A blocking registry client. One client may talk to several registries; it caches the
/// scheme of each host and Bearer tokens per repository scope.
pub struct RegistryClient {
    opts: RegistryOptions,
    transport: Transport,
    auth: AuthCache,
    creds: Mutex<HashMap<(String, String), Option<Credential>>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
}

impl RegistryClient {
    /// A client with these options; nothing is sent until the first request.
    pub fn new(opts: RegistryOptions) -> Result<RegistryClient, RegistryError> {
        let transport = Transport::new(TransportOptions {
            insecure: opts.insecure_registries.clone(),
            plain_http: opts.plain_http,
            ca_certs: opts.ca_certs.clone(),
            user_agent: opts.user_agent.clone(),
            max_attempts: opts.max_attempts.max(1),
            retry_delay: opts.retry_delay,
            connect_timeout: opts.connect_timeout,
            read_timeout: opts.read_timeout,
            request_budget: opts.request_budget,
        })?;
        Ok(RegistryClient {
            opts,
            transport,
            auth: AuthCache::default(),
            creds: Mutex::new(HashMap::new()),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    // ----- pulling -----

    /// Fetches the manifest or index `reference` names. Returns its bytes, media type and
    /// digest; the bytes are checked against the reference's digest when it has one.
    pub fn get_manifest(
        &self,
        reference: &Reference,
    ) -> Result<(Vec<u8>, String, Digest), RegistryError> {
        self.fetch_manifest(
            &reference.repo(),
            &reference.tag_or_digest(),
            reference.digest.as_ref(),
            None,
        )
    }

    /// Fetches the manifest tagged or digested `tag_or_digest` in `repo`.
    pub fn get_manifest_in(
        &self,
        repo: &Repository,
        tag_or_digest: &str,
    ) -> Result<(Vec<u8>, String, Digest), RegistryError> {
        let digest = tag_or_digest.parse::<Digest>().ok();
        self.fetch_manifest(repo, tag_or_digest, digest.as_ref(), None)
    }

    fn fetch_manifest(
        &self,
        repo: &Repository,
        tag_or_digest: &str,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Vec<u8>, String, Digest), RegistryError> {
        let what = format!("manifest {repo}:{tag_or_digest}");
        let resp = self.call(
            repo,
            Access::Pull,
            &[],
            Method::GET,
            &format!("/v2/{}/manifests/{tag_or_digest}", repo.name),
            vec![(ACCEPT, media_type::ACCEPT_MANIFESTS.to_string())],
            None,
        )?;
        let resp = check_status(resp, &repo.registry, &what, &[StatusCode::OK])?;
        if let Some(len) = content_length(&resp) {
            if len > MAX_MANIFEST_SIZE {
                return Err(RegistryError::ManifestTooLarge {
                    what,
                    size: len,
                    limit: MAX_MANIFEST_SIZE,
                });
            }
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let bytes = read_limited(resp, MAX_MANIFEST_SIZE, &what)?;
        if let Some(size) = expected_size {
            if bytes.len() as u64 != size {
                return Err(RegistryError::InvalidResponse(format!(
                    "{what}: {} bytes, but its descriptor says {size}",
                    bytes.len()
                )));
            }
        }
        let digest = match expected.or(header_digest.as_ref()) {
            Some(exp) => {
                let mut h = exp.hasher();
                h.update(&bytes);
                let actual = h.finish();
                if &actual != exp {
                    return Err(RegistryError::DigestMismatch {
                        what,
                        expected: exp.clone(),
                        actual,
                    });
                }
                actual
            }
            None => Digest::sha256_of(&bytes),
        };
        let mt = body_media_type(&bytes)
            .or(content_type
                .filter(|c| !c.is_empty() && c != "application/json" && c != "text/plain"))
            .unwrap_or_default();
        Ok((bytes, mt, digest))
    }

    /// Resolves `reference` to the image manifest for `platform`: an image manifest is
    /// returned as is; from an index the matching entry is chosen and fetched.
    pub fn resolve(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedManifest, RegistryError> {
        let repo = reference.repo();
        let (bytes, mt, digest) = self.get_manifest(reference)?;
        let what = format!("manifest {reference}");
        match parse_manifest(&bytes, Some(&mt)).map_err(|source| RegistryError::Manifest {
            what: what.clone(),
            source,
        })? {
            ManifestKind::Image(manifest) => Ok(ResolvedManifest {
                index_digest: None,
                index: None,
                manifest_digest: digest,
                manifest,
                manifest_bytes: bytes,
                media_type: if mt.is_empty() {
                    media_type::OCI_MANIFEST.to_string()
                } else {
                    mt
                },
            }),
            ManifestKind::Index(index) => {
                let chosen = index.select_platform(platform).ok_or_else(|| {
                    RegistryError::NoMatchingPlatform {
                        reference: reference.to_string(),
                        wanted: platform.to_string(),
                        available: index.available_platforms(),
                    }
                })?;
                let (mbytes, mmt, mdigest) = self.fetch_manifest(
                    &repo,
                    &chosen.digest.to_string(),
                    Some(&chosen.digest),
                    Some(chosen.size),
                )?;
                let mwhat = format!("manifest {}@{}", repo, chosen.digest);
                let declared = if mmt.is_empty() {
                    chosen.media_type.clone()
                } else {
                    mmt
                };
                match parse_manifest(&mbytes, Some(&declared)).map_err(|source| {
                    RegistryError::Manifest {
                        what: mwhat.clone(),
                        source,
                    }
                })? {
                    ManifestKind::Image(manifest) => Ok(ResolvedManifest {
                        index_digest: Some(digest),
                        index: Some(index),
                        manifest_digest: mdigest,
                        manifest,
                        manifest_bytes: mbytes,
                        media_type: declared,
                    }),
                    ManifestKind::Index(_) => Err(RegistryError::InvalidResponse(format!(
                        "{mwhat}: an index inside an index is not supported"
                    ))),
                }
            }
        }
    }

    /// Streams a blob. The reader fails at end of stream unless size and digest match the
    /// descriptor. Redirects to blob storage are followed without credentials.
    pub fn get_blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
    ) -> Result<BlobReader, RegistryError> {
        let what = format!("blob {} of {repo}", descriptor.digest);
        let resp = self.call(
            repo,
            Access::Pull,
            &[],
            Method::GET,
            &format!("/v2/{}/blobs/{}", repo.name, descriptor.digest),
            vec![],
            None,
        )?;
        let resp = check_status(resp, &repo.registry, &what, &[StatusCode::OK])?;
        if let Some(len) = content_length(&resp) {
            if len != descriptor.size {
                return Err(RegistryError::InvalidResponse(format!(
                    "{what}: registry sends {len} bytes, but the descriptor says {}",
                    descriptor.size
                )));
            }
        }
        Ok(VerifyingReader::new(
            Box::new(StallGuard::new(resp, repo.registry.clone())),
            descriptor.digest.clone(),
            Some(descriptor.size),
            what,
        ))
    }

    /// Reads a whole blob (at most `limit` bytes) and verifies it; for configs and other small
    /// blobs.
    pub fn get_blob_bytes(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob {} of {repo}", descriptor.digest);
        let reader = self.get_blob(repo, descriptor)?;
        read_verified(
            reader.into_inner(),
            &descriptor.digest,
            Some(descriptor.size),
            limit,
            &what,
        )
        .map_err(|source| io_or_mismatch(what, source))
    }

    /// The size of a blob if the repository has it.
    pub fn head_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        self.head_blob_with(repo, Access::Pull, digest)
    }

    fn head_blob_with(
        &self,
        repo: &Repository,
        access: Access,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let what = format!("blob {digest} of {repo}");
        let resp = self.call(
            repo,
            access,
            &[],
            Method::HEAD,
            &format!("/v2/{}/blobs/{digest}", repo.name),
            vec![],
            None,
        )?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_status(resp, &repo.registry, &what, &[StatusCode::OK])?;
        Ok(Some(content_length(&resp).unwrap_or(0)))
    }

    // ----- pushing -----

    /// Uploads a blob of `size` bytes read from `reader`, unless the repository has it. With
    /// `mount_from` (another repository name on the same registry) a cross-repository mount
    /// is tried first. The bytes are hashed while sent and the upload is not committed unless
    /// they match `digest` and `size`.
    pub fn upload_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        size: u64,
        mut reader: impl Read,
        mode: UploadMode,
        mount_from: Option<&str>,
    ) -> Result<UploadOutcome, RegistryError> {
        let what = format!("uploading blob {digest} to {repo}");
        if self.head_blob_with(repo, Access::Push, digest)?.is_some() {
            return Ok(UploadOutcome::Exists);
        }
        let extra: Vec<String> = mount_from
            .map(|from| format!("repository:{from}:pull"))
            .into_iter()
            .collect();
        let mut start = format!("/v2/{}/blobs/uploads/", repo.name);
        if let Some(from) = mount_from {
            start = format!("{start}?mount={digest}&from={from}");
        }
        let resp = self.call(
            repo,
            Access::Push,
            &extra,
            Method::POST,
            &start,
            vec![],
            None,
        )?;
        if mount_from.is_some() && resp.status() == StatusCode::CREATED {
            return Ok(UploadOutcome::Mounted);
        }
        let resp = check_status(resp, &repo.registry, &what, &[StatusCode::ACCEPTED])?;
        let mut location = upload_location(&resp, &what)?;
        let chunk = match mode {
            UploadMode::Monolithic => None,
            UploadMode::Chunked(n) => Some(n.max(1)),
            UploadMode::Auto if size <= MONOLITHIC_LIMIT => None,
            UploadMode::Auto => Some(DEFAULT_CHUNK_SIZE),
        };
        let mut hasher = digest.hasher();
        let mut sent: u64 = 0;
        let final_body = match chunk {
            None => {
                let mut body = Vec::new();
                (&mut reader)
                    .take(size.saturating_add(1))
                    .read_to_end(&mut body)
                    .map_err(|source| RegistryError::Io {
                        what: what.clone(),
                        source,
                    })?;
                hasher.update(&body);
                sent = body.len() as u64;
                Some(body)
            }
            Some(n) => {
                let mut buf = vec![0u8; n];
                loop {
                    let filled =
                        read_full(&mut reader, &mut buf).map_err(|source| RegistryError::Io {
                            what: what.clone(),
                            source,
                        })?;
                    if filled == 0 {
                        break;
                    }
                    let part = buf[..filled].to_vec();
                    hasher.update(&part);
                    let range = format!("{}-{}", sent, sent + filled as u64 - 1);
                    let resp = self.call_url(
                        repo,
                        Access::Push,
                        &extra,
                        Method::PATCH,
                        location.clone(),
                        vec![
                            (CONTENT_TYPE, "application/octet-stream".to_string()),
                            (HeaderName::from_static("content-range"), range),
                        ],
                        Some(part),
                    )?;
                    let resp = check_status(
                        resp,
                        &repo.registry,
                        &what,
                        &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
                    )?;
                    location = upload_location(&resp, &what)?;
                    sent += filled as u64;
                    if sent > size {
                        break;
                    }
                }
                None
            }
        };
        if sent != size {
            return Err(RegistryError::InvalidResponse(format!(
                "{what}: the reader gave {sent} bytes, expected {size}"
            )));
        }
        let actual = hasher.finish();
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: digest.clone(),
                actual,
            });
        }
        location
            .query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let resp = self.call_url(
            repo,
            Access::Push,
            &extra,
            Method::PUT,
            location,
            vec![(CONTENT_TYPE, "application/octet-stream".to_string())],
            final_body,
        )?;
        check_status(
            resp,
            &repo.registry,
            &what,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT, StatusCode::OK],
        )?;
        Ok(UploadOutcome::Uploaded)
    }

    /// Pushes a manifest or index under a tag or its digest; returns its digest.
    pub fn put_manifest(
        &self,
        repo: &Repository,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let what = format!("pushing manifest {repo}:{tag_or_digest}");
        let digest = match tag_or_digest.parse::<Digest>() {
            Ok(d) => {
                let mut h = d.hasher();
                h.update(bytes);
                let actual = h.finish();
                if actual != d {
                    return Err(RegistryError::DigestMismatch {
                        what,
                        expected: d,
                        actual,
                    });
                }
                d
            }
            Err(_) => Digest::sha256_of(bytes),
        };
        let resp = self.call(
            repo,
            Access::Push,
            &[],
            Method::PUT,
            &format!("/v2/{}/manifests/{tag_or_digest}", repo.name),
            vec![(CONTENT_TYPE, media_type.to_string())],
            Some(bytes.to_vec()),
        )?;
        let resp = check_status(
            resp,
            &repo.registry,
            &what,
            &[StatusCode::CREATED, StatusCode::OK],
        )?;
        if let Some(h) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if let Ok(server) = h.parse::<Digest>() {
                if server.algorithm() == digest.algorithm() && server != digest {
                    return Err(RegistryError::DigestMismatch {
                        what,
                        expected: digest,
                        actual: server,
                    });
                }
            }
        }
        Ok(digest)
    }

    /// All tags of a repository, following `Link` pagination.
    pub fn list_tags(&self, repo: &Repository) -> Result<Vec<String>, RegistryError> {
        self.list_tags_paged(repo, None)
    }

    /// [`list_tags`](Self::list_tags), asking for pages of `page_size` tags (`?n=`).
    pub fn list_tags_paged(
        &self,
        repo: &Repository,
        page_size: Option<usize>,
    ) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let what = format!("tags of {repo}");
        let mut tags = Vec::new();
        let mut next = format!("/v2/{}/tags/list", repo.name);
        if let Some(n) = page_size {
            next = format!("{next}?n={n}");
        }
        for _ in 0..10_000 {
            let resp = self.call(repo, Access::Pull, &[], Method::GET, &next, vec![], None)?;
            let resp = check_status(resp, &repo.registry, &what, &[StatusCode::OK])?;
            let link = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = read_limited(resp, 64 * 1024 * 1024, &what)?;
            let page: TagList = serde_json::from_slice(&body)
                .map_err(|e| RegistryError::InvalidResponse(format!("{what}: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match link {
                Some(l) => next = l,
                None => return Ok(tags),
            }
        }
        Err(RegistryError::InvalidResponse(format!(
            "{what}: more than 10000 pages"
        )))
    }

    /// Manifests that refer to `subject` (OCI 1.1 referrers), optionally only those of
    /// `artifact_type`. Uses the referrers API, and when the registry answers 404, the
    /// `<alg>-<hex>` tag fallback (no such tag: no referrers).
    pub fn referrers(
        &self,
        repo: &Repository,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, RegistryError> {
        let what = format!("referrers of {repo}@{subject}");
        let mut path = format!("/v2/{}/referrers/{subject}", repo.name);
        if let Some(t) = artifact_type {
            let mut u = Url::parse("http://x/").expect("static URL");
            u.query_pairs_mut().append_pair("artifactType", t);
            path = format!("{path}?{}", u.query().unwrap_or_default());
        }
        let resp = self.call(
            repo,
            Access::Pull,
            &[],
            Method::GET,
            &path,
            vec![(ACCEPT, media_type::OCI_INDEX.to_string())],
            None,
        )?;
        let index = if resp.status() == StatusCode::NOT_FOUND {
            drop(resp);
            match self.fallback_index(repo, subject)? {
                Some((index, _)) => index,
                None => return Ok(Vec::new()),
            }
        } else {
            let resp = check_status(resp, &repo.registry, &what, &[StatusCode::OK])?;
            let body = read_limited(resp, MAX_MANIFEST_SIZE, &what)?;
            serde_json::from_slice::<Index>(&body)
                .map_err(|e| RegistryError::InvalidResponse(format!("{what}: {e}")))?
        };
        Ok(index
            .manifests
            .into_iter()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect())
    }

    /// The tag the referrers fallback uses for `subject`: `sha256-<hex>`.
    pub fn referrers_tag(subject: &Digest) -> String {
        format!("{}-{}", subject.algorithm().name(), subject.hex())
    }

    fn fallback_index(
        &self,
        repo: &Repository,
        subject: &Digest,
    ) -> Result<Option<(Index, Digest)>, RegistryError> {
        let tag = Self::referrers_tag(subject);
        match self.get_manifest_in(repo, &tag) {
            Ok((bytes, mt, digest)) => match parse_manifest(&bytes, Some(&mt)) {
                Ok(ManifestKind::Index(index)) => Ok(Some((index, digest))),
                Ok(ManifestKind::Image(_)) => Err(RegistryError::InvalidResponse(format!(
                    "{repo}:{tag} should be a referrers index but is an image manifest"
                ))),
                Err(source) => Err(RegistryError::Manifest {
                    what: format!("{repo}:{tag}"),
                    source,
                }),
            },
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds `descriptor` to the referrers fallback index of `subject` (the `sha256-<hex>`
    /// tag), creating it if needed (read, modify, write; not atomic against other pushers).
    /// Returns the digest of the index pushed.
    pub fn add_to_referrers_fallback(
        &self,
        repo: &Repository,
        subject: &Digest,
        descriptor: Descriptor,
    ) -> Result<Digest, RegistryError> {
        let mut index = match self.fallback_index(repo, subject)? {
            Some((index, _)) => index,
            None => Index {
                schema_version: 2,
                media_type: Some(media_type::OCI_INDEX.to_string()),
                artifact_type: None,
                manifests: Vec::new(),
                subject: None,
                annotations: Default::default(),
            },
        };
        index.manifests.retain(|d| d.digest != descriptor.digest);
        index.manifests.push(descriptor);
        let bytes = serde_json::to_vec(&index)
            .map_err(|e| RegistryError::InvalidResponse(e.to_string()))?;
        self.put_manifest(
            repo,
            &Self::referrers_tag(subject),
            &bytes,
            media_type::OCI_INDEX,
        )
    }

    /// GETs `path` (it must start with `/v2/`) from `repo`'s registry with pull access to
    /// `repo`, authenticating as every other request does, and returns the status and the
    /// body (at most 16 MiB). For registry extensions, such as the `_customs` endpoints of
    /// `customs serve`.
    pub fn get_extension(
        &self,
        repo: &Repository,
        path: &str,
    ) -> Result<(u16, Vec<u8>), RegistryError> {
        if !path.starts_with("/v2/") {
            return Err(RegistryError::InvalidResponse(format!(
                "extension path {path:?} is not under /v2/"
            )));
        }
        let resp = self.call(
            repo,
            Access::Pull,
            &[],
            Method::GET,
            path,
            vec![(ACCEPT, "application/json".to_string())],
            None,
        )?;
        let status = resp.status().as_u16();
        let body = read_limited(resp, 16 * 1024 * 1024, path)?;
        Ok((status, body))
    }

    // ----- requests and authentication -----

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        repo: &Repository,
        access: Access,
        extra_scopes: &[String],
        method: Method,
        path: &str,
        headers: Vec<(HeaderName, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, RegistryError> {
        let base = self.transport.base_url(repo.api_host())?;
        let url = base.join(path).map_err(|_| {
            RegistryError::InvalidResponse(format!("invalid request path {path:?}"))
        })?;
        self.call_url(repo, access, extra_scopes, method, url, headers, body)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_url(
        &self,
        repo: &Repository,
        access: Access,
        extra_scopes: &[String],
        method: Method,
        url: Url,
        headers: Vec<(HeaderName, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, RegistryError> {
        let actions = match access {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        };
        let mut scopes = vec![format!("repository:{}:{actions}", repo.name)];
        scopes.extend(extra_scopes.iter().cloned());
        let scope_key = scopes.join(" ");
        let registry = repo.registry.as_str();
        let make = |auth: Option<Secret>| Request {
            method: method.clone(),
            url: url.clone(),
            headers: headers.clone(),
            auth,
            body: body.clone(),
        };
        let cached = match self.auth.scheme(registry) {
            Some(Scheme::Bearer { realm, service }) => {
                match self.auth.token(registry, &scope_key) {
                    Some(t) => Some(bearer(t)),
                    // The registry's realm is known: get a token for this scope before asking,
                    // saving a 401 round trip (and a resent body).
                    None => {
                        let cred = self.credential(repo)?;
                        let (token, life) = self.fetch_token(
                            registry,
                            &realm,
                            service.as_deref(),
                            &scopes,
                            cred.as_ref(),
                        )?;
                        self.auth
                            .put_token(registry, &scope_key, token.clone(), life);
                        Some(bearer(token))
                    }
                }
            }
            Some(Scheme::Basic) => self.credential(repo)?.as_ref().and_then(auth::basic_header),
            None => None,
        };
        // Credentials go only to the registry's own API host, never to a host an upload
        // Location points at.
        let host = transport::host_port(&url);
        let own_host = host == repo.api_host()
            || [":443", ":80"]
                .iter()
                .any(|p| format!("{host}{p}") == repo.api_host());
        let cached = cached.filter(|_| own_host);
        let had_auth = cached.is_some();
        let resp = self.transport.send(make(cached))?;
        if resp.status() != StatusCode::UNAUTHORIZED || !own_host {
            return Ok(resp);
        }
        let challenges = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(auth::parse_www_authenticate)
            .collect::<Vec<_>>();
        drop(resp);
        if had_auth {
            self.auth.forget_token(registry, &scope_key);
        }
        let header = self.authenticate(repo, &challenges, &scopes, &scope_key)?;
        let resp = self.transport.send(make(Some(header)))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.auth.forget_token(registry, &scope_key);
            let detail = registry_error_detail(resp);
            return Err(RegistryError::Unauthorized {
                registry: registry.to_string(),
                detail: format!("rejected the credentials: {detail}"),
            });
        }
        Ok(resp)
    }

    fn credential(&self, repo: &Repository) -> Result<Option<Credential>, RegistryError> {
        let key = (repo.registry.clone(), repo.name.clone());
        if let Some(c) = self.creds.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let c = self.opts.credentials.lookup(&repo.registry, &repo.name)?;
        if let Ok(mut m) = self.creds.lock() {
            m.insert(key, c.clone());
        }
        Ok(c)
    }

    /// Answers a 401: builds a Basic header, or fetches a Bearer token for `scopes`.
    fn authenticate(
        &self,
        repo: &Repository,
        challenges: &[auth::Challenge],
        scopes: &[String],
        scope_key: &str,
    ) -> Result<Secret, RegistryError> {
        let registry = repo.registry.as_str();
        let unauthorized = |detail: &str| RegistryError::Unauthorized {
            registry: registry.to_string(),
            detail: detail.to_string(),
        };
        let cred = self.credential(repo)?;
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = c
                .param("realm")
                .ok_or_else(|| unauthorized("sent a Bearer challenge without a realm"))?;
            let service = c.param("service").map(str::to_string);
            self.auth.set_scheme(
                registry,
                Scheme::Bearer {
                    realm: realm.to_string(),
                    service: service.clone(),
                },
            );
            let token =
                self.fetch_token(registry, realm, service.as_deref(), scopes, cred.as_ref())?;
            let (token, life) = token;
            self.auth
                .put_token(registry, scope_key, token.clone(), life);
            return Ok(bearer(token));
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            self.auth.set_scheme(registry, Scheme::Basic);
            return match cred.as_ref().and_then(auth::basic_header) {
                Some(h) => Ok(h),
                None => Err(unauthorized(
                    "requires a username and password, and none was found",
                )),
            };
        }
        Err(unauthorized(
            "refused the request and offered no Basic or Bearer authentication",
        ))
    }

    fn fetch_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Result<(Secret, Duration), RegistryError> {
        let unauthorized = |detail: String| RegistryError::Unauthorized {
            registry: registry.to_string(),
            detail,
        };
        let mut url = Url::parse(realm)
            .map_err(|_| unauthorized(format!("sent an invalid token realm {realm:?}")))?;
        let req = match cred {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = Url::parse("http://x/").expect("static URL");
                {
                    let mut q = form.query_pairs_mut();
                    q.append_pair("grant_type", "refresh_token");
                    q.append_pair("refresh_token", refresh.expose());
                    q.append_pair("client_id", "customs");
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", &scopes.join(" "));
                }
                let body = form.query().unwrap_or_default().as_bytes().to_vec();
                let mut r = Request::new(Method::POST, url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                r.body = Some(body);
                r
            }
            _ => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                }
                let mut r = Request::new(Method::GET, url);
                r.auth = cred.and_then(auth::basic_header);
                r
            }
        };
        let resp = self.transport.send(req)?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(unauthorized(format!(
                "token server refused {} (HTTP {status})",
                if cred.is_some() {
                    "the credentials"
                } else {
                    "anonymous access"
                }
            )));
        }
        if !status.is_success() {
            return Err(unauthorized(format!("token server answered HTTP {status}")));
        }
        let body = read_limited(resp, 1024 * 1024, "token response")?;
        let parsed: auth::TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            unauthorized("token server sent a response that is not token JSON".into())
        })?;
        parsed
            .into_token()
            .ok_or_else(|| unauthorized("token server sent no token".into()))
    }
}

fn bearer(token: Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

fn body_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Probe>(bytes)
        .ok()?
        .media_type
        .filter(|m| !m.is_empty())
}

fn content_length(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn read_limited(resp: Response, limit: u64, what: &str) -> Result<Vec<u8>, RegistryError> {
    let mut out = Vec::new();
    let host = resp.url().host_str().unwrap_or("registry").to_string();
    StallGuard::new(resp, host)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|source| RegistryError::Io {
            what: what.to_string(),
            source,
        })?;
    if out.len() as u64 > limit {
        return Err(RegistryError::ManifestTooLarge {
            what: what.to_string(),
            size: out.len() as u64,
            limit,
        });
    }
    Ok(out)
}

/// Reads until `buf` is full or the reader ends.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn upload_location(resp: &Response, what: &str) -> Result<Url, RegistryError> {
    let loc = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            RegistryError::InvalidResponse(format!("{what}: no Location for the upload session"))
        })?;
    resp.url()
        .join(loc)
        .map_err(|_| RegistryError::InvalidResponse(format!("{what}: invalid upload Location")))
}

/// `</v2/x/tags/list?last=a&n=1>; rel="next"` → `/v2/x/tags/list?last=a&n=1`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        }) {
            return None;
        }
        let t = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        Some(t.to_string())
    })
}

fn io_or_mismatch(what: String, source: std::io::Error) -> RegistryError {
    RegistryError::Io { what, source }
}

/// The `errors` of a registry error body, as `CODE: message; ...`.
fn registry_error_detail(resp: Response) -> String {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let status = resp.status();
    let mut bytes = Vec::new();
    let _ = resp.take(64 * 1024).read_to_end(&mut bytes);
    match serde_json::from_slice::<Body>(&bytes) {
        Ok(b) if !b.errors.is_empty() => b
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("HTTP {status}"),
    }
}

/// Turns an unexpected status into the matching error.
fn check_status(
    resp: Response,
    registry: &str,
    what: &str,
    ok: &[StatusCode],
) -> Result<Response, RegistryError> {
    let status = resp.status();
    if ok.contains(&status) {
        return Ok(resp);
    }
    let detail = registry_error_detail(resp);
    Err(match status {
        StatusCode::NOT_FOUND => RegistryError::NotFound {
            what: format!("{what} ({detail})"),
        },
        StatusCode::UNAUTHORIZED => RegistryError::Unauthorized {
            registry: registry.to_string(),
            detail,
        },
        StatusCode::FORBIDDEN => RegistryError::Denied {
            registry: registry.to_string(),
            what: what.to_string(),
            detail,
        },
        s => RegistryError::Status {
            what: what.to_string(),
            status: s.as_u16(),
            detail,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(digest_seed: &[u8], platform: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: media_type::OCI_MANIFEST.into(),
            digest: Digest::sha256_of(digest_seed),
            size: 1,
            urls: vec![],
            annotations: Default::default(),
            platform: platform.map(|p| Platform::parse(p).unwrap()),
            artifact_type: None,
        }
    }

    fn index(entries: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.into()),
            artifact_type: None,
            manifests: entries,
            subject: None,
            annotations: Default::default(),
        }
    }

    #[test]
    fn platform_selection_prefers_exact_variant() {
        let i = index(vec![
            desc(b"a", Some("linux/arm/v6")),
            desc(b"b", Some("linux/arm/v7")),
            desc(b"c", Some("linux/amd64")),
        ]);
        assert_eq!(
            i.select_platform(&Platform::parse("linux/arm/v7").unwrap())
                .unwrap()
                .digest,
            Digest::sha256_of(b"b")
        );
        assert_eq!(
            i.select_platform(&Platform::linux_amd64()).unwrap().digest,
            Digest::sha256_of(b"c")
        );
        assert!(i
            .select_platform(&Platform::parse("linux/s390x").unwrap())
            .is_none());
        assert_eq!(
            i.available_platforms(),
            vec!["linux/arm/v6", "linux/arm/v7", "linux/amd64"]
        );
    }

    #[test]
    fn single_entry_without_platform_is_selected() {
        let i = index(vec![desc(b"a", None)]);
        assert!(i.select_platform(&Platform::linux_amd64()).is_some());
        let i = index(vec![desc(b"a", None), desc(b"b", None)]);
        assert!(i.select_platform(&Platform::linux_amd64()).is_none());
    }

    #[test]
    fn link_header_next_is_found() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn plain_http_to_remote_host_is_refused_before_connecting() {
        let client = RegistryClient::new(RegistryOptions {
            plain_http: true,
            credentials: CredentialSource::Anonymous,
            ..Default::default()
        })
        .unwrap();
        let r = Reference::parse("registry.example.com/a/b:1").unwrap();
        let err = client.get_manifest(&r).unwrap_err();
        assert!(
            matches!(err, RegistryError::PlainHttpRefused { ref host } if host == "registry.example.com"),
            "{err}"
        );
    }

    #[test]
    fn referrers_fallback_tag_is_alg_dash_hex() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            RegistryClient::referrers_tag(&d),
            format!("sha256-{}", d.hex())
        );
    }
}
