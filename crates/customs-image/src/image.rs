//! An opened image: its manifest, config and layers from any source, with every blob read
//! through a digest check. `Image::open` is the one entry point the other crates use.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use serde::Deserialize;

use crate::archive::Container;
use crate::digest::{read_verified, Digest, VerifyingReader};
use crate::dir::DirKind;
use crate::layer::{self, Compression, LayerLimits};
use crate::manifest::{
    media_type, parse_manifest, Descriptor, ImageConfig, Index, Manifest, ManifestKind, Platform,
};
use crate::reference::{Reference, Target};
use crate::remote::Remote;

/// Largest manifest or index accepted, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest image config accepted, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 32 << 20;
/// Most layers accepted in one image: overlayfs stacks at most 500 lower layers
/// (`OVL_MAX_STACK`), so no runtime can run an image with more.
pub const MAX_LAYERS: usize = 500;
/// Most manifests of an archive's `index.json` compared against its `manifest.json`.
const MAX_CROSS_CHECKED: usize = 64;

#[derive(Debug, thiserror::Error)]
/// Why an image could not be opened or read.
pub enum ImageError {
    #[error(transparent)]
    /// The reference could not be parsed.
    Reference(#[from] crate::reference::ReferenceError),
    #[error("{what}: {source}")]
    /// Reading or writing a file or stream failed.
    Io {
        /// What was being read or written.
        what: String,
        /// The I/O error.
        source: io::Error,
    },
    #[error("{what}: {reason}")]
    /// The image is malformed or breaks a limit (the reason says how).
    Invalid {
        /// What was read.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(transparent)]
    /// A manifest or index could not be parsed.
    Manifest(#[from] crate::manifest::ManifestError),
    /// A registry failed (the [`Remote`]'s own error, which callers may downcast).
    #[error(transparent)]
    Remote(crate::remote::RemoteError),
    #[error("{what} names a registry image, but no registry client was given to open it")]
    /// A registry reference was given without a [`Remote`] to open it.
    NoRemote {
        /// The reference given.
        what: String,
    },
    #[error("no image for platform {wanted} in {what}; available: {available}")]
    /// An index holds no image for the wanted platform.
    NoPlatform {
        /// The platform asked for (`linux/amd64`).
        wanted: String,
        /// The index that was searched.
        what: String,
        /// The platforms the index does offer.
        available: String,
    },
    #[error("{what} holds several images ({choices}); name one")]
    /// An archive or layout holds several images and none was named.
    Ambiguous {
        /// The archive or layout.
        what: String,
        /// The names or tags it holds.
        choices: String,
    },
    #[error(transparent)]
    /// A local engine failed.
    Engine(#[from] crate::engine::EngineError),
    #[error("no image {name:?} in any source tried: {tried}")]
    /// A bare name was found in none of the sources tried.
    NotFound {
        /// The bare name given.
        name: String,
        /// The sources that were tried, with why each failed.
        tried: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> ImageError {
    ImageError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// How to open an image.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Platform to pick from an index; linux/amd64 when `None`.
    pub platform: Option<Platform>,
    /// The registry client that opens registry images (`customs-registry` provides one);
    /// without it, registry references are refused.
    pub remote: Option<Arc<dyn Remote>>,
    /// Limits on each layer's size and expansion ratio.
    pub limits: LayerLimits,
    /// Where a bare name (no transport, not a path) is looked for, in order; empty means
    /// [`ImageSource::DEFAULT_ORDER`].
    pub sources: Vec<ImageSource>,
}

/// A place a bare image name can come from (`--image-src`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageSource {
    /// The Docker engine's API socket.
    Docker,
    /// Podman's API socket.
    Podman,
    /// The registry the reference names.
    Remote,
}

impl ImageSource {
    /// The order Trivy uses without its containerd source: local engines, then the registry.
    pub const DEFAULT_ORDER: [ImageSource; 3] = [
        ImageSource::Docker,
        ImageSource::Podman,
        ImageSource::Remote,
    ];

    /// Parses `docker`, `podman` or `remote`.
    pub fn parse(s: &str) -> Option<ImageSource> {
        match s.trim() {
            "docker" => Some(ImageSource::Docker),
            "podman" => Some(ImageSource::Podman),
            "remote" => Some(ImageSource::Remote),
            _ => None,
        }
    }
}

/// One layer: its descriptor in the manifest and its diff-id from the config.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Position in the manifest, 0 for the bottom layer.
    pub index: usize,
    /// The layer blob's descriptor: media type, compressed digest and size.
    pub descriptor: Descriptor,
    /// Digest of the uncompressed tar, as the config's `rootfs.diff_ids` lists it.
    pub diff_id: Digest,
}

impl Layer {
    /// The compression the media type declares. (Streams are sniffed anyway; this is what
    /// the manifest promises.)
    pub fn declared_compression(&self) -> Compression {
        let mt = &self.descriptor.media_type;
        if mt.ends_with("+zstd") || mt.ends_with(".zstd") {
            Compression::Zstd
        } else if mt.ends_with("gzip") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

enum Store {
    Container {
        container: Container,
        members: BTreeMap<Digest, String>,
    },
    Registry {
        remote: Arc<dyn Remote>,
        reference: Reference,
    },
    /// A containers/storage image: layers rebuilt from tar-split records and files.
    Storage {
        image: Arc<crate::storage::StoredImage>,
        /// diff-id → layer id.
        layers: BTreeMap<Digest, String>,
    },
    /// A directory read from disk as one synthetic, uncompressed layer.
    Dir {
        root: std::path::PathBuf,
        kind: DirKind,
        warnings: crate::dir::Warnings,
    },
}

/// An opened image. Only manifest and config are held in memory; layers are streamed.
pub struct Image {
    /// What the user named, resolved (`docker.io/library/alpine:3.20`, `oci-archive:x.tar:tag`).
    pub name: String,
    /// The parsed reference or path the image was opened from.
    pub target: Target,
    /// Digest of the index the manifest was chosen from, if any.
    pub index_digest: Option<Digest>,
    /// Digest of the manifest bytes, verified when read.
    pub manifest_digest: Digest,
    /// The manifest's media type (OCI or Docker schema 2).
    pub manifest_media_type: String,
    /// The parsed image manifest.
    pub manifest: Manifest,
    /// The manifest exactly as read, for signatures and copies.
    pub manifest_bytes: Vec<u8>,
    /// Digest of the config blob, verified when read.
    pub config_digest: Digest,
    /// The config blob exactly as read.
    pub config_bytes: Vec<u8>,
    /// The parsed config.
    pub config: ImageConfig,
    /// The platform of the manifest that was chosen.
    pub platform: Platform,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// Tags the source records for the image (docker-archive `RepoTags`, OCI `ref.name`).
    pub repo_tags: Vec<String>,
    /// Annotations from the index descriptor that selected the manifest, merged under the
    /// manifest's own.
    pub annotations: BTreeMap<String, String>,
    limits: LayerLimits,
    store: Store,
    progress: Option<ProgressHook>,
    /// The spooled `docker save` stream of an engine image, deleted with the image.
    spool: Option<Arc<tempfile::TempPath>>,
}

/// Called with the number of blob bytes read, as they are read (progress bars).
pub type ProgressHook = Arc<dyn Fn(u64) + Send + Sync>;

struct Progress<R> {
    inner: R,
    hook: ProgressHook,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.hook)(n as u64);
        Ok(n)
    }
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("name", &self.name)
            .field("manifest_digest", &self.manifest_digest)
            .finish()
    }
}

impl Image {
    /// Opens an image named the way Docker, skopeo or Trivy users name it. A bare name (no
    /// transport, not an existing path) is looked for in `opts.sources` in order: the
    /// local engines first, then the registry, unless told otherwise.
    pub fn open_str(target: &str, opts: &OpenOptions) -> Result<Image, ImageError> {
        Image::open_parsed(target, &Target::parse(target)?, opts)
    }

    /// [`open_str`](Self::open_str) for a target the caller parsed once already. `text` is
    /// what the user wrote: a registry reference without `docker://` is a bare name, looked
    /// for in `opts.sources`.
    pub fn open_parsed(
        text: &str,
        parsed: &Target,
        opts: &OpenOptions,
    ) -> Result<Image, ImageError> {
        match parsed {
            Target::Registry(reference) if !text.starts_with("docker://") => {
                open_by_name(parsed, reference, opts)
            }
            _ => Image::open(parsed, opts),
        }
    }

    /// Opens an image from any source, checking the manifest and config digests.
    pub fn open(target: &Target, opts: &OpenOptions) -> Result<Image, ImageError> {
        let platform = opts.platform.clone().unwrap_or_else(Platform::linux_amd64);
        match target {
            Target::Registry(reference) => open_registry(target, reference, &platform, opts),
            Target::OciLayout { dir, tag, digest } => {
                let c = open_container(dir, opts)?;
                let name = format!(
                    "oci:{}{}",
                    dir.display(),
                    tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()
                );
                let image = open_oci(
                    target,
                    name,
                    c.clone(),
                    tag.as_deref(),
                    digest.as_ref(),
                    &platform,
                    opts,
                )?;
                both_indexes_agree(target, &image, &c, &platform, opts)?;
                Ok(image)
            }
            Target::OciArchive { path, tag } => {
                let c = open_container(path, opts)?;
                let name = format!(
                    "oci-archive:{}{}",
                    path.display(),
                    tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()
                );
                let image = open_oci(
                    target,
                    name,
                    c.clone(),
                    tag.as_deref(),
                    None,
                    &platform,
                    opts,
                )?;
                both_indexes_agree(target, &image, &c, &platform, opts)?;
                Ok(image)
            }
            Target::Directory { path, kind } => open_dir(target, path, *kind, &platform, opts),
            Target::Engine { engine, name } => open_engine(target, *engine, name, &platform, opts),
            Target::Storage { driver, root, name } => {
                open_storage(target, driver, root, name, opts)
            }
            Target::DockerArchive { path, reference } => {
                let c = open_container(path, opts)?;
                let image = if c.contains("oci-layout") && !c.contains("manifest.json") {
                    let name = format!("oci-archive:{}", path.display());
                    open_oci(
                        target,
                        name,
                        c.clone(),
                        reference.as_deref(),
                        None,
                        &platform,
                        opts,
                    )?
                } else {
                    open_docker_archive(
                        target,
                        path.display().to_string(),
                        c.clone(),
                        reference.as_deref(),
                        opts,
                    )?
                };
                both_indexes_agree(target, &image, &c, &platform, opts)?;
                Ok(image)
            }
        }
    }

    /// Reports blob bytes read from now on to `hook` (for a progress bar).
    pub fn set_progress(&mut self, hook: ProgressHook) {
        self.progress = Some(hook);
    }

    /// Opens a blob of this image (config, layer or any descriptor), verified as it streams.
    pub fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>, ImageError> {
        let r = self.open_blob_quiet(desc)?;
        Ok(match &self.progress {
            Some(hook) => Box::new(Progress {
                inner: r,
                hook: hook.clone(),
            }),
            None => r,
        })
    }

    fn open_blob_quiet(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>, ImageError> {
        let what = format!("blob {} of {}", desc.digest, self.name);
        match &self.store {
            Store::Container { container, members } => {
                let member = members
                    .get(&desc.digest)
                    .cloned()
                    .unwrap_or_else(|| blob_path(&desc.digest));
                let r = container
                    .open_member(&member)
                    .map_err(io_err(what.clone()))?;
                Ok(Box::new(VerifyingReader::new(
                    r,
                    desc.digest.clone(),
                    Some(desc.size),
                    what,
                )))
            }
            Store::Registry { remote, reference } => remote
                .open_blob(reference, desc)
                .map_err(ImageError::Remote),
            Store::Storage { image, layers } => {
                if desc.digest == self.config_digest {
                    return Ok(Box::new(io::Cursor::new(self.config_bytes.clone())));
                }
                let id = layers
                    .get(&desc.digest)
                    .ok_or_else(|| invalid(&what, "no such blob in the store"))?;
                let r = crate::storage::layer_stream(image, id).map_err(io_err(what.clone()))?;
                Ok(Box::new(VerifyingReader::new(
                    r,
                    desc.digest.clone(),
                    None,
                    what,
                )))
            }
            Store::Dir {
                root,
                kind,
                warnings,
            } => {
                if desc.digest == self.config_digest {
                    return Ok(Box::new(io::Cursor::new(self.config_bytes.clone())));
                }
                if self
                    .layers
                    .first()
                    .is_none_or(|l| l.descriptor.digest != desc.digest)
                {
                    return Err(invalid(what, "no such blob in the directory's image"));
                }
                crate::dir::layer_stream(root, *kind, warnings.clone()).map_err(io_err(what))
            }
        }
    }

    /// Whether layer results may be cached by diff-id. A directory's synthetic layer is named
    /// by its path, not its content, so nothing read from it is cached.
    pub fn cacheable(&self) -> bool {
        !matches!(self.store, Store::Dir { .. })
    }

    /// Whether OS package databases count: not in a project checkout (`dir:`), where a
    /// `var/lib/dpkg/status` is test data rather than installed state.
    pub fn reads_os_packages(&self) -> bool {
        !matches!(
            self.target,
            Target::Directory {
                kind: DirKind::Project,
                ..
            }
        )
    }

    /// What the source skipped while its layers were read (unreadable files of a
    /// directory), as (path, message). Complete once every layer has been streamed.
    pub fn source_warnings(&self) -> Vec<(String, String)> {
        match &self.store {
            Store::Dir { warnings, .. } => {
                warnings.lock().unwrap_or_else(|e| e.into_inner()).clone()
            }
            _ => Vec::new(),
        }
    }

    /// Opens layer `index` decompressed. The stream fails at its end unless both the
    /// compressed digest and the diff-id match.
    pub fn open_layer(
        &self,
        index: usize,
    ) -> Result<(Compression, Box<dyn Read + Send>), ImageError> {
        let layer = self
            .layers
            .get(index)
            .ok_or_else(|| invalid(&self.name, format!("no layer {index}")))?;
        // One line per blob read: the one-pass test counts them (`RUST_LOG=customs_image=debug`).
        log::debug!(
            "opening layer blob {} (layer {index})",
            layer.descriptor.digest
        );
        let blob = self.open_blob(&layer.descriptor)?;
        let what = format!("layer {index} ({}) of {}", layer.diff_id, self.name);
        // An uncompressed blob's digest is its diff-id: one check is enough.
        let diff_check = (layer.descriptor.digest != layer.diff_id).then(|| layer.diff_id.clone());
        layer::decompressed(blob, diff_check, self.limits, &what).map_err(io_err(what))
    }

    /// Annotation `org.opencontainers.image.base.name` / `.digest`, when present.
    pub fn base_image(&self) -> Option<(String, Option<String>)> {
        let name = self.annotations.get("org.opencontainers.image.base.name")?;
        Some((
            name.clone(),
            self.annotations
                .get("org.opencontainers.image.base.digest")
                .cloned(),
        ))
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

fn read_blob(
    c: &Container,
    desc: &Descriptor,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    let r = c
        .open_member(&blob_path(&desc.digest))
        .map_err(io_err(what.to_string()))?;
    read_verified(r, &desc.digest, Some(desc.size), limit, what).map_err(io_err(what.to_string()))
}

/// `sha256-<64 hex>` with an optional `.sig`, `.att` or `.sbom` suffix.
fn is_signature_tag(tag: &str) -> bool {
    let tag = tag.rsplit_once(':').map_or(tag, |(_, t)| t);
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest.split('.').next().unwrap_or("");
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn select_by_platform<'a>(
    index: &'a Index,
    platform: &Platform,
    what: &str,
) -> Result<&'a Descriptor, ImageError> {
    index.select_platform(platform).ok_or_else(|| {
        let available = index.available_platforms();
        ImageError::NoPlatform {
            wanted: platform.to_string(),
            what: what.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        }
    })
}

fn open_container(path: &std::path::Path, opts: &OpenOptions) -> Result<Container, ImageError> {
    Container::open_with_limits(path, opts.limits).map_err(io_err(path.display().to_string()))
}

/// Docker 25+ `docker save` writes two indexes over one set of blobs: `manifest.json`, which
/// `docker load` reads, and an OCI `index.json`, which containerd and podman read. When an
/// archive holds both, each must name the image that was opened; otherwise a runtime reading
/// the other index would run an image customs never looked at, so the archive is refused.
fn both_indexes_agree(
    target: &Target,
    image: &Image,
    c: &Container,
    platform: &Platform,
    opts: &OpenOptions,
) -> Result<(), ImageError> {
    if !(c.contains("manifest.json") && c.contains("index.json")) {
        return Ok(());
    }
    let want = &image.config_digest;
    let mut docker = Vec::new();
    let bytes = c
        .read_member("manifest.json", MAX_MANIFEST_BYTES)
        .map_err(io_err(format!("{}: manifest.json", image.name)))?;
    if let Ok(entries) = serde_json::from_slice::<Vec<DockerArchiveEntry>>(&bytes) {
        for e in entries.iter().take(MAX_CROSS_CHECKED) {
            if let Ok(config) = c.read_member(&e.config, MAX_CONFIG_BYTES) {
                docker.push(Digest::sha256_of(&config));
            }
        }
    }
    let mut oci = Vec::new();
    let bytes = c
        .read_member("index.json", MAX_MANIFEST_BYTES)
        .map_err(io_err(format!("{}: index.json", image.name)))?;
    if let Ok(index) = serde_json::from_slice::<Index>(&bytes) {
        for d in index.manifests.iter().take(MAX_CROSS_CHECKED) {
            let found = open_oci(
                target,
                image.name.clone(),
                c.clone(),
                None,
                Some(&d.digest),
                platform,
                opts,
            );
            if let Ok(other) = found {
                oci.push(other.config_digest);
            }
        }
    }
    let silent: Vec<&str> = [("manifest.json", &docker), ("index.json", &oci)]
        .into_iter()
        .filter(|(_, configs)| !configs.contains(want))
        .map(|(file, _)| file)
        .collect();
    if silent.is_empty() {
        return Ok(());
    }
    Err(invalid(
        &image.name,
        format!(
            "the archive holds both manifest.json and index.json, and {} names no image with \
             config {want} (the one read): `docker load` and containerd would load different \
             images, so customs refuses to choose",
            silent.join(" and ")
        ),
    ))
}

fn open_oci(
    target: &Target,
    name: String,
    c: Container,
    tag: Option<&str>,
    digest: Option<&Digest>,
    platform: &Platform,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    if !c.contains("oci-layout") {
        return Err(invalid(
            &name,
            "not an OCI image layout (no oci-layout file)",
        ));
    }
    let index_bytes = c
        .read_member("index.json", MAX_MANIFEST_BYTES)
        .map_err(io_err(format!("{name}: index.json")))?;
    let mut index: Index = serde_json::from_slice(&index_bytes)
        .map_err(|e| invalid(format!("{name}: index.json"), e.to_string()))?;
    const REF_NAME: &str = "org.opencontainers.image.ref.name";
    if tag.is_none() && digest.is_none() {
        // Signatures, attestations and referrer indexes stored beside the image (cosign's
        // `sha256-<hex>.sig` tags) are not candidates for "the" image of the layout.
        index.manifests.retain(|m| {
            m.annotations
                .get(REF_NAME)
                .is_none_or(|r| !is_signature_tag(r))
        });
    }
    let chosen: &Descriptor = if let Some(d) = digest {
        index
            .manifests
            .iter()
            .find(|m| &m.digest == d)
            .ok_or_else(|| invalid(&name, format!("no manifest {d} in index.json")))?
    } else if let Some(t) = tag {
        index
            .manifests
            .iter()
            .find(|m| {
                m.annotations
                    .get(REF_NAME)
                    .is_some_and(|r| r == t || r.rsplit_once(':').is_some_and(|(_, rt)| rt == t))
            })
            .ok_or_else(|| invalid(&name, format!("no image tagged {t:?} in index.json")))?
    } else if index.manifests.len() == 1 {
        &index.manifests[0]
    } else {
        let refs: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|m| m.annotations.contains_key(REF_NAME))
            .collect();
        if refs.len() == 1 {
            refs[0]
        } else {
            // An index of platform manifests without names: choose by platform.
            select_by_platform(&index, platform, &name)?
        }
    };
    let repo_tags: Vec<String> = chosen
        .annotations
        .get(REF_NAME)
        .cloned()
        .into_iter()
        .collect();
    let mut annotations = chosen.annotations.clone();
    let mut index_digest = None;
    let mut desc = chosen.clone();
    // Follow nested indexes (an image index inside the layout) down to one manifest.
    for _ in 0..4 {
        let bytes = read_blob(
            &c,
            &desc,
            MAX_MANIFEST_BYTES,
            &format!("{name}: manifest {}", desc.digest),
        )?;
        let mt = (!desc.media_type.is_empty()).then_some(desc.media_type.as_str());
        match parse_manifest(&bytes, mt)? {
            ManifestKind::Index(nested) => {
                index_digest = Some(desc.digest.clone());
                annotations.extend(nested.annotations.clone());
                desc = select_by_platform(&nested, platform, &name)?.clone();
                annotations.extend(desc.annotations.clone());
            }
            ManifestKind::Image(manifest) => {
                let mtype = manifest
                    .media_type
                    .clone()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| {
                        if desc.media_type.is_empty() {
                            media_type::OCI_MANIFEST.to_string()
                        } else {
                            desc.media_type.clone()
                        }
                    });
                annotations.extend(manifest.annotations.clone());
                let config_bytes = read_blob(
                    &c,
                    &manifest.config,
                    MAX_CONFIG_BYTES,
                    &format!("{name}: config"),
                )?;
                let members = BTreeMap::new();
                return finish(
                    target,
                    name,
                    index_digest,
                    desc.digest.clone(),
                    mtype,
                    manifest,
                    bytes,
                    config_bytes,
                    repo_tags,
                    annotations,
                    opts,
                    Store::Container {
                        container: c,
                        members,
                    },
                );
            }
        }
    }
    Err(invalid(&name, "index nesting deeper than 4 levels"))
}

fn too_many_layers(name: &str, n: usize) -> Result<(), ImageError> {
    if n > MAX_LAYERS {
        return Err(invalid(
            name,
            format!("{n} layers exceed the {MAX_LAYERS}-layer limit (overlayfs stacks at most {MAX_LAYERS})"),
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn finish(
    target: &Target,
    name: String,
    index_digest: Option<Digest>,
    manifest_digest: Digest,
    manifest_media_type: String,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    config_bytes: Vec<u8>,
    repo_tags: Vec<String>,
    annotations: BTreeMap<String, String>,
    opts: &OpenOptions,
    store: Store,
) -> Result<Image, ImageError> {
    too_many_layers(&name, manifest.layers.len())?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| invalid(format!("{name}: config"), e.to_string()))?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(invalid(
            &name,
            format!(
                "manifest lists {} layers but the config has {} diff-ids",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            ),
        ));
    }
    let layers = manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
        .map(|(index, (d, diff))| Layer {
            index,
            descriptor: d.clone(),
            diff_id: diff.clone(),
        })
        .collect();
    Ok(Image {
        name,
        target: target.clone(),
        index_digest,
        manifest_digest,
        manifest_media_type,
        config_digest: manifest.config.digest.clone(),
        platform: config.platform(),
        manifest,
        manifest_bytes,
        config_bytes,
        config,
        layers,
        repo_tags,
        annotations,
        limits: opts.limits,
        store,
        progress: None,
        spool: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn open_docker_archive(
    target: &Target,
    path: String,
    c: Container,
    wanted: Option<&str>,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let name = format!("docker-archive:{path}");
    let bytes = c
        .read_member("manifest.json", MAX_MANIFEST_BYTES)
        .map_err(io_err(format!("{name}: manifest.json")))?;
    let entries: Vec<DockerArchiveEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("{name}: manifest.json"), e.to_string()))?;
    let entry = match wanted {
        Some(w) => {
            let wanted_ref = Reference::parse(w).ok();
            entries
                .iter()
                .find(|e| {
                    e.repo_tags.iter().flatten().any(|t| {
                        t == w || (wanted_ref.is_some() && Reference::parse(t).ok() == wanted_ref)
                    })
                })
                .ok_or_else(|| invalid(&name, format!("no image tagged {w:?}")))?
        }
        None if entries.len() == 1 => &entries[0],
        None => {
            let choices: Vec<String> = entries
                .iter()
                .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
                .collect();
            return Err(ImageError::Ambiguous {
                what: name,
                choices: choices.join(", "),
            });
        }
    };
    too_many_layers(&name, entry.layers.len())?;
    let config_bytes = c
        .read_member(&entry.config, MAX_CONFIG_BYTES)
        .map_err(io_err(format!("{name}: {}", entry.config)))?;
    let config_digest = Digest::sha256_of(&config_bytes);
    // Docker names the config by its digest; a mismatch means a corrupt or tampered archive.
    let stem = entry
        .config
        .trim_end_matches(".json")
        .rsplit('/')
        .next()
        .unwrap_or("");
    if stem.len() == 64 && stem != config_digest.hex() {
        return Err(invalid(
            &name,
            format!("config {} has digest {config_digest}", entry.config),
        ));
    }
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| invalid(format!("{name}: config"), e.to_string()))?;
    if config.rootfs.diff_ids.len() != entry.layers.len() {
        return Err(invalid(
            &name,
            "manifest.json and config disagree on the number of layers",
        ));
    }
    let mut members = BTreeMap::new();
    let mut layer_descs = Vec::new();
    for (member, diff_id) in entry.layers.iter().zip(&config.rootfs.diff_ids) {
        let size = c
            .size(member)
            .ok_or_else(|| invalid(&name, format!("layer {member} missing from the archive")))?;
        let head = c
            .head(member)
            .map_err(io_err(format!("{name}: {member}")))?;
        let digest = if Compression::detect(&head) == Compression::None {
            diff_id.clone()
        } else {
            let mut h = diff_id.hasher();
            let mut r = c
                .open_member(member)
                .map_err(io_err(format!("{name}: {member}")))?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let k = r
                    .read(&mut buf)
                    .map_err(io_err(format!("{name}: {member}")))?;
                if k == 0 {
                    break;
                }
                h.update(&buf[..k]);
            }
            h.finish()
        };
        members.insert(digest.clone(), member.clone());
        layer_descs.push(Descriptor {
            media_type: media_type::DOCKER_LAYER_GZIP.into(),
            digest,
            size,
            urls: vec![],
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        });
    }
    members.insert(config_digest.clone(), entry.config.clone());
    // The manifest skopeo and Syft build for a docker-archive, byte for byte, so the
    // manifest digest agrees with theirs.
    let mut m = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"config\":{{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\"}},\"layers\":[",
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_CONFIG,
        config_bytes.len(),
        config_digest
    );
    for (i, d) in layer_descs.iter().enumerate() {
        if i > 0 {
            m.push(',');
        }
        m.push_str(&format!(
            "{{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\"}}",
            d.media_type, d.size, d.digest
        ));
    }
    m.push_str("]}");
    let manifest_bytes = m.into_bytes();
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| invalid(&name, e.to_string()))?;
    let display = match wanted {
        Some(w) => format!("{name}:{w}"),
        None => name,
    };
    finish(
        target,
        display,
        None,
        Digest::sha256_of(&manifest_bytes),
        media_type::DOCKER_MANIFEST.into(),
        manifest,
        manifest_bytes,
        config_bytes,
        entry.repo_tags.clone().unwrap_or_default(),
        BTreeMap::new(),
        opts,
        Store::Container {
            container: c,
            members,
        },
    )
}

fn open_registry(
    target: &Target,
    reference: &Reference,
    platform: &Platform,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let remote = opts.remote.clone().ok_or_else(|| ImageError::NoRemote {
        what: reference.to_string(),
    })?;
    let resolved = remote
        .resolve(reference, platform)
        .map_err(ImageError::Remote)?;
    let config_bytes = {
        let r = remote
            .open_blob(reference, &resolved.manifest.config)
            .map_err(ImageError::Remote)?;
        let what = format!("config of {reference}");
        read_verified(
            r,
            &resolved.manifest.config.digest,
            Some(resolved.manifest.config.size),
            MAX_CONFIG_BYTES,
            &what,
        )
        .map_err(io_err(what))?
    };
    let annotations = resolved.manifest.annotations.clone();
    finish(
        target,
        reference.to_string(),
        resolved.index_digest.clone(),
        resolved.manifest_digest.clone(),
        resolved.media_type.clone(),
        resolved.manifest.clone(),
        resolved.manifest_bytes.clone(),
        config_bytes,
        reference.tag.clone().into_iter().collect(),
        annotations,
        opts,
        Store::Registry {
            remote,
            reference: reference.clone(),
        },
    )
}

/// A directory as an image of one uncompressed layer. Its config and manifest are made
/// here; the layer's digest (and diff-id) is the digest of the directory's kind and absolute
/// path, which names the source but does not vouch for its content, so nothing from it is
/// cached and no digest check applies to its stream (it is read from the local disk).
fn open_dir(
    target: &Target,
    path: &std::path::Path,
    kind: DirKind,
    platform: &Platform,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let what = format!("{}:{}", kind.transport(), path.display());
    let root = path.canonicalize().map_err(io_err(what.clone()))?;
    if !root.is_dir() {
        return Err(invalid(what, "not a directory"));
    }
    let name = format!("{}:{}", kind.transport(), root.display());
    let diff_id = Digest::sha256_of(
        format!(
            "customs directory source v1\0{}\0{}",
            kind.transport(),
            root.display()
        )
        .as_bytes(),
    );
    let config = serde_json::json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
        "history": [{ "created_by": format!("customs: {name}") }],
    });
    let config_bytes = serde_json::to_vec(&config).map_err(|e| invalid(&name, e.to_string()))?;
    let config_digest = Digest::sha256_of(&config_bytes);
    let manifest_value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {
            "mediaType": media_type::OCI_CONFIG,
            "size": config_bytes.len(),
            "digest": config_digest.to_string(),
        },
        "layers": [{
            "mediaType": media_type::OCI_LAYER,
            "size": 0,
            "digest": diff_id.to_string(),
        }],
    });
    let manifest_bytes =
        serde_json::to_vec(&manifest_value).map_err(|e| invalid(&name, e.to_string()))?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| invalid(&name, e.to_string()))?;
    finish(
        target,
        name,
        None,
        Digest::sha256_of(&manifest_bytes),
        media_type::OCI_MANIFEST.into(),
        manifest,
        manifest_bytes,
        config_bytes,
        Vec::new(),
        BTreeMap::new(),
        opts,
        Store::Dir {
            root,
            kind,
            warnings: Default::default(),
        },
    )
}

/// A bare name, looked for in each source in turn. Only an absent engine or an engine
/// without the image moves on to the next source; any other failure (a corrupt stream, a
/// digest mismatch) is the answer, so a broken local image is never silently replaced by a
/// registry one.
fn open_by_name(
    parsed: &Target,
    reference: &Reference,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let order: &[ImageSource] = if opts.sources.is_empty() {
        &ImageSource::DEFAULT_ORDER
    } else {
        &opts.sources
    };
    let platform = opts.platform.clone().unwrap_or_else(Platform::linux_amd64);
    let mut tried = Vec::new();
    for source in order {
        let engine = match source {
            ImageSource::Remote => return Image::open(parsed, opts),
            ImageSource::Docker => crate::engine::Engine::Docker,
            ImageSource::Podman => crate::engine::Engine::Podman,
        };
        let target = Target::Engine {
            engine,
            name: reference.to_string(),
        };
        match open_engine(&target, engine, &reference.to_string(), &platform, opts) {
            Ok(image) => return Ok(image),
            Err(ImageError::Engine(e)) if e.is_absent() => tried.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    Err(ImageError::NotFound {
        name: reference.to_string(),
        tried: tried.join("; "),
    })
}

/// An image from a local engine: its `docker save` stream, spooled, opened as an archive.
fn open_engine(
    target: &Target,
    engine: crate::engine::Engine,
    name: &str,
    platform: &Platform,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let spool = crate::engine::save(engine, name, opts.limits.max_uncompressed)?;
    let path = spool.to_path_buf();
    let c = open_container(&path, opts)?;
    let display = format!("{}:{name}", engine.transport());
    let mut image = if c.contains("oci-layout") && !c.contains("manifest.json") {
        open_oci(
            target,
            display.clone(),
            c.clone(),
            None,
            None,
            platform,
            opts,
        )?
    } else {
        open_docker_archive(target, path.display().to_string(), c.clone(), None, opts)?
    };
    both_indexes_agree(target, &image, &c, platform, opts)?;
    image.name = display;
    image.spool = Some(Arc::new(spool));
    Ok(image)
}

/// An image from a containers/storage store. Its manifest is made here, naming each layer by
/// its diff-id (the store keeps layers unpacked, so there is no compressed blob to name); the
/// stored config is checked against the image id, every rebuilt layer against its diff-id.
fn open_storage(
    target: &Target,
    driver: &Option<String>,
    root: &Option<std::path::PathBuf>,
    name: &str,
    opts: &OpenOptions,
) -> Result<Image, ImageError> {
    let display = format!("containers-storage:{name}");
    let spec = crate::storage::StoreSpec {
        driver: driver.clone(),
        root: root.clone(),
    };
    let stored = crate::storage::find(&spec, name).map_err(io_err(display.clone()))?;
    let config_digest = Digest::sha256_of(&stored.config);
    let mut m = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"config\":{{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\"}},\"layers\":[",
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_CONFIG,
        stored.config.len(),
        config_digest
    );
    let mut layers = BTreeMap::new();
    for (i, (id, diff, size)) in stored.layers.iter().enumerate() {
        if i > 0 {
            m.push(',');
        }
        m.push_str(&format!(
            "{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"size\":{size},\"digest\":\"{diff}\"}}"
        ));
        layers.insert(diff.clone(), id.clone());
    }
    m.push_str("]}");
    let manifest_bytes = m.into_bytes();
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| invalid(&display, e.to_string()))?;
    let config_bytes = stored.config.clone();
    let names = stored.names.clone();
    let image = finish(
        target,
        display.clone(),
        None,
        Digest::sha256_of(&manifest_bytes),
        media_type::DOCKER_MANIFEST.into(),
        manifest,
        manifest_bytes,
        config_bytes,
        names,
        BTreeMap::new(),
        opts,
        Store::Storage {
            image: Arc::new(stored),
            layers,
        },
    )?;
    // The store's layer chain must be the config's diff-ids, in order.
    let chain: Vec<&Digest> = image.layers.iter().map(|l| &l.descriptor.digest).collect();
    let diff_ids: Vec<&Digest> = image.config.rootfs.diff_ids.iter().collect();
    if chain != diff_ids {
        return Err(invalid(
            display,
            "the store's layer chain differs from the config's diff-ids",
        ));
    }
    Ok(image)
}
