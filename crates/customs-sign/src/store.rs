//! Where signatures live: reading and appending cosign's `sha256-<hex>.sig` / `.att` manifests
//! and OCI 1.1 referrers (Sigstore bundles, with the `sha256-<hex>` tag-index fallback), in a
//! registry or an `oci:` layout directory. Nothing here checks a signature; see
//! [`crate::verify_image`].

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use customs_image::copy::OciLayoutWriter;
use customs_image::digest::read_verified;
use customs_image::manifest::{media_type, parse_manifest, Descriptor, Index, Manifest};
use customs_image::reference::{Reference, Target};
use customs_image::{Digest, ImageError, ManifestKind};
use customs_registry::{RegistryClient, RegistryError, RegistryOptions, UploadMode};

use crate::layout::{self, SignatureLayer};

/// Largest `.sig` / `.att` layer blob read back (attestations may carry whole SBOMs).
pub const MAX_SIGNATURE_BLOB: u64 = 64 * 1024 * 1024;
/// Largest manifest or index read.
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// Annotation naming an OCI layout entry's tag.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation cosign puts on bundle referrers: what the bundle holds.
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// Annotation cosign puts on bundle referrers: the statement's predicate type.
pub const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The empty JSON object blob OCI artifacts use as their config.
const EMPTY_CONFIG: &[u8] = b"{}";

/// Everything that can go wrong finding or storing signatures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The image name could not be parsed or is not a place signatures can be stored.
    #[error("{target}: {reason}")]
    Unsupported {
        /// What the user named.
        target: String,
        /// Why it cannot hold signatures.
        reason: String,
    },
    /// A registry request failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Reading or writing an OCI layout failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A stored manifest, index or layer that is not what it should be.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which document.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(what: impl Into<String>, reason: impl ToString) -> StoreError {
    StoreError::Invalid {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// The image being signed or verified, resolved to the digest cosign signs: the digest of
/// what the name points at (an index stays an index, as `cosign sign` does without
/// `--recursive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// What the user named.
    pub name: String,
    /// cosign's `docker-reference`: the repository without tag or digest (for an `oci:`
    /// layout, the directory).
    pub docker_reference: String,
    /// Digest of the manifest or index.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Subject {
    /// The subject as a descriptor, for referrers.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
            urls: vec![],
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }
}

/// One layer of a `.sig` / `.att` manifest with its blob (digest and size checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    /// The layer descriptor with its annotations.
    pub layer: SignatureLayer,
    /// The payload (simple signing) or DSSE envelope bytes.
    pub blob: Vec<u8>,
}

/// A Sigstore bundle found among an image's referrers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// Digest of the referrer manifest that holds it.
    pub manifest_digest: Digest,
    /// The bundle JSON.
    pub bundle: Vec<u8>,
}

enum Backend {
    Registry {
        client: Box<RegistryClient>,
        reference: Reference,
    },
    Layout {
        dir: PathBuf,
        tag: Option<String>,
        digest: Option<Digest>,
    },
}

/// Signature storage next to one image: a registry repository or an `oci:` layout.
pub struct SignatureStore {
    name: String,
    backend: Backend,
}

impl std::fmt::Debug for SignatureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn parse_digest(s: &str, what: &str) -> Result<Digest, StoreError> {
    s.parse::<Digest>().map_err(|e| invalid(what, e.0))
}

fn descriptor_of(layer: &SignatureLayer) -> Result<Descriptor, StoreError> {
    Ok(Descriptor {
        media_type: layer.media_type.clone(),
        digest: parse_digest(&layer.digest, "signature layer digest")?,
        size: layer.size,
        urls: vec![],
        annotations: layer.annotations.clone(),
        platform: None,
        artifact_type: None,
    })
}

/// Whether an OCI layout tag is one of the tags signatures use (`sha256-<hex>[.sig|.att]`).
fn is_signature_tag(tag: &str) -> bool {
    let base = tag
        .strip_suffix(".sig")
        .or_else(|| tag.strip_suffix(".att"))
        .or_else(|| tag.strip_suffix(".sbom"))
        .unwrap_or(tag);
    base.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// cosign's spelling of a registry in `docker-reference` (Docker Hub is `index.docker.io`).
fn cosign_registry(registry: &str) -> &str {
    if registry == customs_image::reference::DOCKER_HUB {
        "index.docker.io"
    } else {
        registry
    }
}

impl SignatureStore {
    /// Opens signature storage for `target`: a registry reference (`docker://` optional) or
    /// `oci:DIR[:tag|@digest]`. Archives cannot hold signatures.
    pub fn open(target: &str, opts: &RegistryOptions) -> Result<SignatureStore, StoreError> {
        let parsed = Target::parse(target).map_err(|e| StoreError::Unsupported {
            target: target.to_string(),
            reason: e.to_string(),
        })?;
        SignatureStore::open_parsed(target, &parsed, opts)
    }

    /// [`open`](Self::open) for a target the caller parsed once already; `target` names it
    /// in messages and in [`Subject::name`].
    pub fn open_parsed(
        target: &str,
        parsed: &Target,
        opts: &RegistryOptions,
    ) -> Result<SignatureStore, StoreError> {
        let backend = match parsed {
            Target::Registry(reference) => Backend::Registry {
                client: Box::new(RegistryClient::new(opts.clone())?),
                reference: reference.clone(),
            },
            Target::OciLayout { dir, tag, digest } => Backend::Layout {
                dir: dir.clone(),
                tag: tag.clone(),
                digest: digest.clone(),
            },
            _ => return Err(StoreError::Unsupported {
                target: target.to_string(),
                reason:
                    "signatures are stored in a registry or an oci:DIR layout, not in an archive"
                        .to_string(),
            }),
        };
        Ok(SignatureStore {
            name: target.to_string(),
            backend,
        })
    }

    /// What the store was opened for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Resolves the image name to its digest (a tag is looked up now).
    pub fn resolve(&self) -> Result<Subject, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                let (bytes, mt, digest) = client.get_manifest(reference)?;
                Ok(Subject {
                    name: self.name.clone(),
                    docker_reference: format!(
                        "{}/{}",
                        cosign_registry(&reference.registry),
                        reference.repository
                    ),
                    digest,
                    media_type: if mt.is_empty() {
                        media_type::OCI_MANIFEST.to_string()
                    } else {
                        mt
                    },
                    size: bytes.len() as u64,
                })
            }
            Backend::Layout { dir, tag, digest } => {
                let index = read_layout_index(dir)?;
                let images: Vec<&Descriptor> = index
                    .manifests
                    .iter()
                    .filter(|d| {
                        !d.annotations
                            .get(REF_NAME)
                            .is_some_and(|t| is_signature_tag(t))
                    })
                    .collect();
                let chosen = if let Some(d) = digest {
                    images.into_iter().find(|m| &m.digest == d)
                } else if let Some(t) = tag {
                    images.into_iter().find(|m| {
                        m.annotations.get(REF_NAME).is_some_and(|r| {
                            r == t || r.rsplit_once(':').is_some_and(|(_, rt)| rt == t)
                        })
                    })
                } else if images.len() == 1 {
                    images.into_iter().next()
                } else {
                    return Err(StoreError::Unsupported {
                        target: self.name.clone(),
                        reason: format!(
                            "the layout holds {} images; name one with oci:DIR:tag or oci:DIR@digest",
                            images.len()
                        ),
                    });
                };
                let chosen = chosen.ok_or_else(|| {
                    invalid(
                        &self.name,
                        "no such image in the layout's index.json".to_string(),
                    )
                })?;
                let canonical = fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                Ok(Subject {
                    name: self.name.clone(),
                    docker_reference: canonical.display().to_string(),
                    digest: chosen.digest.clone(),
                    media_type: if chosen.media_type.is_empty() {
                        media_type::OCI_MANIFEST.to_string()
                    } else {
                        chosen.media_type.clone()
                    },
                    size: chosen.size,
                })
            }
        }
    }

    /// The signature layers stored under `sha256-<hex>.sig`, with their payloads. No tag: none.
    pub fn signatures(&self, digest: &Digest) -> Result<Vec<StoredLayer>, StoreError> {
        self.read_layers(&tag_for(digest, layout::signature_tag)?)
    }

    /// The attestation layers stored under `sha256-<hex>.att`, with their envelopes.
    pub fn attestations(&self, digest: &Digest) -> Result<Vec<StoredLayer>, StoreError> {
        self.read_layers(&tag_for(digest, layout::attestation_tag)?)
    }

    /// Adds a simple-signing layer (its blob is `payload`) to the image's `.sig` manifest,
    /// keeping the signatures already there. Returns the digest of the manifest pushed.
    pub fn add_signature(
        &self,
        digest: &Digest,
        payload: &[u8],
        layer: SignatureLayer,
    ) -> Result<Digest, StoreError> {
        self.append(&tag_for(digest, layout::signature_tag)?, payload, layer)
    }

    /// Adds an attestation layer (its blob is the DSSE `envelope`) to the `.att` manifest.
    pub fn add_attestation(
        &self,
        digest: &Digest,
        envelope: &[u8],
        layer: SignatureLayer,
    ) -> Result<Digest, StoreError> {
        self.append(&tag_for(digest, layout::attestation_tag)?, envelope, layer)
    }

    /// The SBOM layers attached under `sha256-<hex>.sbom` (cosign's `attach sbom`), with their
    /// contents (each at most [`MAX_SIGNATURE_BLOB`] bytes).
    pub fn sboms(&self, digest: &Digest) -> Result<Vec<StoredLayer>, StoreError> {
        self.read_layers(&tag_for(digest, layout::sbom_tag)?)
    }

    /// The manifest digest of the tag `tag` in the image's repository or layout, if it exists.
    pub fn tag_digest(&self, tag: &str) -> Result<Option<Digest>, StoreError> {
        Ok(self
            .read_manifest_by_tag(tag)?
            .map(|bytes| Digest::sha256_of(&bytes)))
    }

    /// Where the tag `tag` lives: `REGISTRY/REPOSITORY:TAG` for a registry (as cosign's
    /// `triangulate` prints it), `oci:DIR:TAG` for a layout.
    pub fn tag_reference(&self, tag: &str) -> String {
        match &self.backend {
            Backend::Registry { reference, .. } => format!(
                "{}/{}:{tag}",
                cosign_registry(&reference.registry),
                reference.repository
            ),
            Backend::Layout { dir, .. } => format!("oci:{}:{tag}", dir.display()),
        }
    }

    /// `REGISTRY/REPOSITORY@DIGEST` (or `oci:DIR@DIGEST`) for a manifest of this repository.
    pub fn digest_reference(&self, digest: &Digest) -> String {
        match &self.backend {
            Backend::Registry { reference, .. } => format!(
                "{}/{}@{digest}",
                cosign_registry(&reference.registry),
                reference.repository
            ),
            Backend::Layout { dir, .. } => format!("oci:{}@{digest}", dir.display()),
        }
    }

    /// Every referrer of `digest` (the referrers API, or its `sha256-<hex>` tag fallback), with
    /// its artifact type, whatever it holds.
    pub fn referrers(&self, digest: &Digest) -> Result<Vec<Descriptor>, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                Ok(client.referrers(&reference.repo(), digest, None)?)
            }
            Backend::Layout { dir, .. } => layout_referrers(dir, digest),
        }
    }

    /// Sigstore bundles that refer to `digest`: the referrers of artifact type
    /// `application/vnd.dev.sigstore.bundle.v0.3+json` (and older bundle types), found through
    /// the referrers API or its `sha256-<hex>` tag fallback.
    pub fn bundles(&self, digest: &Digest) -> Result<Vec<StoredBundle>, StoreError> {
        let referrers = match &self.backend {
            Backend::Registry { client, reference } => {
                client.referrers(&reference.repo(), digest, None)?
            }
            Backend::Layout { dir, .. } => layout_referrers(dir, digest)?,
        };
        let mut out = Vec::new();
        for r in referrers {
            let is_bundle = r
                .artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"));
            if !is_bundle {
                continue;
            }
            let manifest_bytes = self.read_manifest_by_digest(&r)?;
            let what = format!("bundle referrer {}", r.digest);
            let manifest: Manifest = match parse_manifest(&manifest_bytes, Some(&r.media_type)) {
                Ok(ManifestKind::Image(m)) => m,
                Ok(ManifestKind::Index(_)) => return Err(invalid(what, "is an index")),
                Err(e) => return Err(invalid(what, e)),
            };
            // A referrer listed for this image but about another one is not this image's.
            if manifest.subject.as_ref().map(|s| &s.digest) != Some(digest) {
                continue;
            }
            for layer in manifest.layers.iter().filter(|l| {
                l.media_type
                    .starts_with("application/vnd.dev.sigstore.bundle")
            }) {
                out.push(StoredBundle {
                    manifest_digest: r.digest.clone(),
                    bundle: self.read_blob(layer, MAX_SIGNATURE_BLOB)?,
                });
            }
        }
        Ok(out)
    }

    /// Stores `bundle` (v0.3 JSON) as an OCI 1.1 referrer of `subject`: an artifact manifest
    /// with an empty config, the bundle as its one layer and `subject` set. The registry's
    /// referrers API lists it when the registry has one; otherwise it is added to the
    /// `sha256-<hex>` fallback index. Returns the referrer manifest's digest.
    pub fn add_bundle(
        &self,
        subject: &Subject,
        bundle: &[u8],
        predicate_type: &str,
    ) -> Result<Digest, StoreError> {
        let artifact_type = crate::bundle::MEDIA_TYPE_V03;
        let config = Descriptor {
            media_type: media_type::OCI_EMPTY.to_string(),
            digest: Digest::sha256_of(EMPTY_CONFIG),
            size: EMPTY_CONFIG.len() as u64,
            urls: vec![],
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        };
        let layer = Descriptor {
            media_type: artifact_type.to_string(),
            digest: Digest::sha256_of(bundle),
            size: bundle.len() as u64,
            urls: vec![],
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        };
        let annotations = BTreeMap::from([
            (
                BUNDLE_CONTENT_ANNOTATION.to_string(),
                "dsse-envelope".to_string(),
            ),
            (
                BUNDLE_PREDICATE_TYPE_ANNOTATION.to_string(),
                predicate_type.to_string(),
            ),
        ]);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_string()),
            artifact_type: Some(artifact_type.to_string()),
            config: config.clone(),
            layers: vec![layer.clone()],
            subject: Some(subject.descriptor()),
            annotations: annotations.clone(),
        };
        let bytes = serde_json::to_vec(&manifest).map_err(|e| invalid("bundle manifest", e))?;
        self.put_blob(&config.digest, EMPTY_CONFIG)?;
        self.put_blob(&layer.digest, bundle)?;
        let manifest_digest = Digest::sha256_of(&bytes);
        let descriptor = Descriptor {
            media_type: media_type::OCI_MANIFEST.to_string(),
            digest: manifest_digest.clone(),
            size: bytes.len() as u64,
            urls: vec![],
            annotations,
            platform: None,
            artifact_type: Some(artifact_type.to_string()),
        };
        match &self.backend {
            Backend::Registry { client, reference } => {
                let repo = reference.repo();
                client.put_manifest(
                    &repo,
                    &manifest_digest.to_string(),
                    &bytes,
                    media_type::OCI_MANIFEST,
                )?;
                let listed = client
                    .referrers(&repo, &subject.digest, Some(artifact_type))?
                    .iter()
                    .any(|d| d.digest == manifest_digest);
                if !listed {
                    client.add_to_referrers_fallback(&repo, &subject.digest, descriptor)?;
                }
            }
            Backend::Layout { dir, .. } => {
                let writer = OciLayoutWriter::create(dir)?;
                writer.write_blob(&manifest_digest, Some(bytes.len() as u64), &bytes[..])?;
                add_to_layout_fallback(&writer, &subject.digest, descriptor)?;
            }
        }
        Ok(manifest_digest)
    }

    // ----- backend operations -----

    fn read_layers(&self, tag: &str) -> Result<Vec<StoredLayer>, StoreError> {
        let Some(manifest) = self.read_manifest_by_tag(tag)? else {
            return Ok(Vec::new());
        };
        let layers = layout::layers_from_manifest(&manifest)
            .map_err(|e| invalid(format!("{} at {tag}", self.name), e))?;
        let mut out = Vec::with_capacity(layers.len());
        for layer in layers {
            let blob = self.read_blob(&descriptor_of(&layer)?, MAX_SIGNATURE_BLOB)?;
            out.push(StoredLayer { layer, blob });
        }
        Ok(out)
    }

    fn append(&self, tag: &str, blob: &[u8], layer: SignatureLayer) -> Result<Digest, StoreError> {
        let existing = match self.read_manifest_by_tag(tag)? {
            Some(m) => layout::layers_from_manifest(&m)
                .map_err(|e| invalid(format!("{} at {tag}", self.name), e))?,
            None => Vec::new(),
        };
        let layers = layout::append_layer(&existing, layer.clone());
        let built = layout::build_manifest(&layers);
        self.put_blob(&parse_digest(&layer.digest, "layer digest")?, blob)?;
        self.put_blob(
            &parse_digest(&built.config_digest, "config digest")?,
            &built.config,
        )?;
        self.put_manifest_tagged(tag, &built.manifest, layout::MANIFEST_MEDIA_TYPE)
    }

    fn read_manifest_by_tag(&self, tag: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                match client.get_manifest_in(&reference.repo(), tag) {
                    Ok((bytes, _, _)) => Ok(Some(bytes)),
                    Err(RegistryError::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Backend::Layout { dir, .. } => {
                let index = read_layout_index(dir)?;
                match index
                    .manifests
                    .iter()
                    .find(|m| m.annotations.get(REF_NAME).is_some_and(|r| r == tag))
                {
                    Some(desc) => Ok(Some(read_layout_blob(dir, desc, MAX_MANIFEST)?)),
                    None => Ok(None),
                }
            }
        }
    }

    fn read_manifest_by_digest(&self, desc: &Descriptor) -> Result<Vec<u8>, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => Ok(client
                .get_manifest_in(&reference.repo(), &desc.digest.to_string())?
                .0),
            Backend::Layout { dir, .. } => read_layout_blob(dir, desc, MAX_MANIFEST),
        }
    }

    fn read_blob(&self, desc: &Descriptor, limit: u64) -> Result<Vec<u8>, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                Ok(client.get_blob_bytes(&reference.repo(), desc, limit)?)
            }
            Backend::Layout { dir, .. } => read_layout_blob(dir, desc, limit),
        }
    }

    fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                client.upload_blob(
                    &reference.repo(),
                    digest,
                    bytes.len() as u64,
                    bytes,
                    UploadMode::Monolithic,
                    None,
                )?;
                Ok(())
            }
            Backend::Layout { dir, .. } => {
                OciLayoutWriter::create(dir)?.write_blob(
                    digest,
                    Some(bytes.len() as u64),
                    bytes,
                )?;
                Ok(())
            }
        }
    }

    fn put_manifest_tagged(&self, tag: &str, bytes: &[u8], mt: &str) -> Result<Digest, StoreError> {
        match &self.backend {
            Backend::Registry { client, reference } => {
                Ok(client.put_manifest(&reference.repo(), tag, bytes, mt)?)
            }
            Backend::Layout { dir, .. } => {
                let digest = Digest::sha256_of(bytes);
                let writer = OciLayoutWriter::create(dir)?;
                writer.write_blob(&digest, Some(bytes.len() as u64), bytes)?;
                writer.add_manifest(Descriptor {
                    media_type: mt.to_string(),
                    digest: digest.clone(),
                    size: bytes.len() as u64,
                    urls: vec![],
                    annotations: BTreeMap::from([(REF_NAME.to_string(), tag.to_string())]),
                    platform: None,
                    artifact_type: None,
                })?;
                Ok(digest)
            }
        }
    }
}

fn tag_for(digest: &Digest, f: fn(&str) -> crate::Result<String>) -> Result<String, StoreError> {
    f(&digest.to_string()).map_err(|e| invalid("image digest", e))
}

/// Opens `rel` under the layout `dir` for reading, refusing what a layout never holds: a path
/// that resolves (through symlinks) outside the layout, and anything but a regular file
/// (`/dev/zero`, a FIFO, a directory). The type is checked before opening, so a FIFO is never
/// opened, and again on the open handle.
fn open_in_layout(dir: &Path, rel: &Path) -> io::Result<fs::File> {
    let path = dir.join(rel);
    let refused = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let real = fs::canonicalize(&path)?;
    let root = fs::canonicalize(dir)?;
    if !real.starts_with(&root) {
        return Err(refused("resolves outside the layout directory"));
    }
    if !fs::metadata(&real)?.is_file() {
        return Err(refused("not a regular file"));
    }
    let file = fs::File::open(&real)?;
    if !file.metadata()?.is_file() {
        return Err(refused("not a regular file"));
    }
    Ok(file)
}

fn read_layout_index(dir: &Path) -> Result<Index, StoreError> {
    let path = dir.join("index.json");
    let what = path.display().to_string();
    let io_err = |source| StoreError::Io {
        what: what.clone(),
        source,
    };
    let file = open_in_layout(dir, Path::new("index.json")).map_err(io_err)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(file, MAX_MANIFEST + 1), &mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(invalid(
            what,
            format!("larger than the {MAX_MANIFEST}-byte limit"),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| invalid(what, e))
}

fn read_layout_blob(dir: &Path, desc: &Descriptor, limit: u64) -> Result<Vec<u8>, StoreError> {
    let rel = Path::new("blobs")
        .join(desc.digest.algorithm().name())
        .join(desc.digest.hex());
    let what = format!("blob {} in {}", desc.digest, dir.display());
    let file = open_in_layout(dir, &rel).map_err(|source| StoreError::Io {
        what: what.clone(),
        source,
    })?;
    read_verified(file, &desc.digest, Some(desc.size), limit, &what)
        .map_err(|source| StoreError::Io { what, source })
}

/// The referrers of `subject` in a layout: its `sha256-<hex>` fallback index.
fn layout_referrers(dir: &Path, subject: &Digest) -> Result<Vec<Descriptor>, StoreError> {
    let tag = RegistryClient::referrers_tag(subject);
    let index = read_layout_index(dir)?;
    let Some(desc) = index
        .manifests
        .iter()
        .find(|m| m.annotations.get(REF_NAME) == Some(&tag))
    else {
        return Ok(Vec::new());
    };
    let bytes = read_layout_blob(dir, desc, MAX_MANIFEST)?;
    let referrers: Index =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{tag} index"), e))?;
    Ok(referrers.manifests)
}

fn add_to_layout_fallback(
    writer: &OciLayoutWriter,
    subject: &Digest,
    descriptor: Descriptor,
) -> Result<(), StoreError> {
    let dir = writer.dir().to_path_buf();
    let tag = RegistryClient::referrers_tag(subject);
    let mut manifests = layout_referrers(&dir, subject)?;
    manifests.retain(|d| d.digest != descriptor.digest);
    manifests.push(descriptor);
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_string()),
        artifact_type: None,
        manifests,
        subject: None,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&index).map_err(|e| invalid("referrers index", e))?;
    let digest = Digest::sha256_of(&bytes);
    writer.write_blob(&digest, Some(bytes.len() as u64), &bytes[..])?;
    writer.add_manifest(Descriptor {
        media_type: media_type::OCI_INDEX.to_string(),
        digest,
        size: bytes.len() as u64,
        urls: vec![],
        annotations: BTreeMap::from([(REF_NAME.to_string(), tag)]),
        platform: None,
        artifact_type: None,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `index.json` (or a blob) that is a symlink to `/dev/zero`, out of the layout, or a FIFO
    /// is refused with an error, at once and without reading it.
    #[test]
    fn layout_files_that_are_not_regular_files_inside_the_layout_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let good = outside.path().join("index.json");
        let fifo = outside.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        for (case, target) in [
            ("/dev/zero", Path::new("/dev/zero").to_path_buf()),
            ("a file outside the layout", good.clone()),
            ("a FIFO outside the layout", fifo.clone()),
            ("a FIFO inside the layout", PathBuf::from("fifo")),
        ] {
            let dir = tempfile::tempdir().unwrap();
            customs_testkit::oci::write_empty_image(dir.path());
            let index = dir.path().join("index.json");
            std::fs::copy(&index, &good).unwrap();
            let inner_fifo = dir.path().join("fifo");
            assert!(std::process::Command::new("mkfifo")
                .arg(&inner_fifo)
                .status()
                .unwrap()
                .success());
            std::fs::remove_file(&index).unwrap();
            std::os::unix::fs::symlink(&target, &index).unwrap();
            let target = format!("oci:{}", dir.path().display());
            let started = std::time::Instant::now();
            let err = SignatureStore::open(&target, &RegistryOptions::default())
                .and_then(|s| s.resolve())
                .expect_err(case);
            let text = err.to_string();
            assert!(
                text.contains("outside the layout") || text.contains("not a regular file"),
                "{case}: {text}"
            );
            assert!(started.elapsed().as_secs() < 5, "{case}");
        }
        // A symlink inside the layout to a regular file inside it is fine.
        let dir = tempfile::tempdir().unwrap();
        customs_testkit::oci::write_empty_image(dir.path());
        let index = dir.path().join("index.json");
        std::fs::rename(&index, dir.path().join("real-index.json")).unwrap();
        std::os::unix::fs::symlink("real-index.json", &index).unwrap();
        let target = format!("oci:{}", dir.path().display());
        SignatureStore::open(&target, &RegistryOptions::default())
            .and_then(|s| s.resolve())
            .unwrap();
    }

    #[test]
    fn signature_tags_are_recognised_and_image_tags_are_not() {
        let hex = "a".repeat(64);
        assert!(is_signature_tag(&format!("sha256-{hex}.sig")));
        assert!(is_signature_tag(&format!("sha256-{hex}.att")));
        assert!(is_signature_tag(&format!("sha256-{hex}")));
        assert!(!is_signature_tag("latest"));
        assert!(!is_signature_tag("sha256-abc.sig"));
    }

    #[test]
    fn docker_hub_is_spelled_as_cosign_spells_it() {
        assert_eq!(cosign_registry("docker.io"), "index.docker.io");
        assert_eq!(cosign_registry("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
