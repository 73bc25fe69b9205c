//! OCI and Docker v2 schema 2 manifests, indexes (manifest lists), image configs and
//! platforms, as plain serde data. Unknown fields are ignored; the original bytes are kept
//! by callers wherever a digest must be recomputed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Media types customs reads and writes.
pub mod media_type {
    /// An OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// An OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// An OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// An uncompressed OCI layer.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// A gzip-compressed OCI layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// A zstd-compressed OCI layer.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// The OCI empty descriptor (`{}`), used as the config of artifacts.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// A Docker schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// A Docker manifest list (Docker's index).
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// A Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// A gzip-compressed Docker layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// A Docker layer that registries do not serve (Windows base layers); fetched from its `urls`, if at all.
    pub const DOCKER_FOREIGN_LAYER: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// Media types that name an image manifest.
    pub fn is_manifest(mt: &str) -> bool {
        mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
    }

    /// Media types that name an index or manifest list.
    pub fn is_index(mt: &str) -> bool {
        mt == OCI_INDEX || mt == DOCKER_MANIFEST_LIST
    }

    /// The `Accept` header value for manifest requests.
    pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
}

/// A content descriptor: what a manifest or index points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    /// The media type of what the descriptor points at.
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size in bytes of the referenced content.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Where else the content may be fetched from (foreign layers).
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// Free-form `key → value` metadata.
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The platform of the referenced manifest, in an index.
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The artifact type of the referenced manifest, for referrers.
    pub artifact_type: Option<String>,
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The manifest's media type, when it names it.
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The artifact type, for artifacts that are not images.
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    #[serde(default)]
    /// The layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The manifest this one refers to (signatures, attestations, SBOMs).
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// Free-form `key → value` metadata.
    pub annotations: BTreeMap<String, String>,
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The index's media type, when it names it.
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The artifact type, for artifacts that are not images.
    pub artifact_type: Option<String>,
    #[serde(default)]
    /// The manifests it lists, one per platform or artifact.
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The manifest this index refers to.
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// Free-form `key → value` metadata.
    pub annotations: BTreeMap<String, String>,
}

impl Index {
    /// The entry for `platform`: an exact variant match first, then any entry the platform
    /// accepts; an index whose only image entry has no platform (common in OCI layouts) gives
    /// that entry. Attestation entries (`unknown/unknown`, as buildx writes) never count.
    pub fn select_platform(&self, platform: &Platform) -> Option<&Descriptor> {
        let images: Vec<&Descriptor> = self
            .manifests
            .iter()
            .filter(|d| {
                d.media_type.is_empty()
                    || media_type::is_manifest(&d.media_type)
                    || media_type::is_index(&d.media_type)
            })
            .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown"))
            .collect();
        let matching: Vec<&Descriptor> = images
            .iter()
            .copied()
            .filter(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
            .collect();
        if let Some(exact) = matching.iter().find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.variant == platform.variant)
        }) {
            return Some(exact);
        }
        if let Some(first) = matching.first() {
            return Some(first);
        }
        match images.as_slice() {
            [only] if only.platform.is_none() => Some(only),
            _ => None,
        }
    }

    /// The platforms the index offers, for "no image for platform X" errors.
    pub fn available_platforms(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref())
            .filter(|p| p.os != "unknown")
            .map(|p| p.to_string())
            .collect();
        v.dedup();
        v
    }
}

/// Either kind of top-level manifest document.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // parsed once per image; boxing buys nothing
pub enum ManifestKind {
    /// A single-image manifest.
    Image(Manifest),
    /// An index (or Docker manifest list) of manifests.
    Index(Index),
}

#[derive(Debug, thiserror::Error)]
/// A manifest or index that could not be read.
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    /// Not JSON, or JSON of the wrong shape.
    Json(#[from] serde_json::Error),
    #[error("unsupported manifest media type {0:?}")]
    /// A media type that is neither OCI nor Docker schema 2.
    UnsupportedMediaType(String),
    #[error("unsupported schemaVersion {0}; only schema 2 manifests are supported")]
    /// A `schemaVersion` other than 2.
    SchemaVersion(u32),
}

/// Parses manifest bytes. `declared` is the media type the transport gave (HTTP
/// `Content-Type`, the descriptor that pointed here); the body's own `mediaType` wins when
/// present, and a body with neither is recognised by its shape.
pub fn parse_manifest(bytes: &[u8], declared: Option<&str>) -> Result<ManifestKind, ManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        schema_version: Option<u32>,
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes)?;
    if let Some(v) = probe.schema_version {
        if v != 2 {
            return Err(ManifestError::SchemaVersion(v));
        }
    }
    let mt = probe
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| declared.map(|d| d.split(';').next().unwrap_or(d).trim().to_string()))
        .filter(|m| !m.is_empty() && m != "application/json" && m != "text/plain");
    match mt.as_deref() {
        Some(m) if media_type::is_index(m) => {
            Ok(ManifestKind::Index(serde_json::from_slice(bytes)?))
        }
        Some(m) if media_type::is_manifest(m) => {
            Ok(ManifestKind::Image(serde_json::from_slice(bytes)?))
        }
        Some(m) => Err(ManifestError::UnsupportedMediaType(m.to_string())),
        None if probe.manifests.is_some() => {
            Ok(ManifestKind::Index(serde_json::from_slice(bytes)?))
        }
        None if probe.config.is_some() => Ok(ManifestKind::Image(serde_json::from_slice(bytes)?)),
        None => Err(ManifestError::UnsupportedMediaType("(none)".into())),
    }
}

/// An OS/architecture pair, with optional variant, as in `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Platform {
    #[serde(default)]
    /// Operating system (`linux`, `windows`).
    pub os: String,
    #[serde(default)]
    /// CPU architecture in Go's spelling (`amd64`, `arm64`).
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// CPU variant (`v8` for arm64, `v7` for arm).
    pub variant: Option<String>,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    /// Windows build, for Windows images.
    pub os_version: Option<String>,
}

impl Platform {
    /// `linux/amd64`, the platform picked when none is asked for.
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            os_version: None,
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let architecture = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant,
            os_version: None,
        })
    }

    /// Whether an index entry's platform satisfies this wanted platform. A wanted platform
    /// without a variant accepts any variant; `arm64` treats a missing variant as `v8`.
    pub fn matches(&self, candidate: &Platform) -> bool {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return false;
        }
        match (&self.variant, &candidate.variant) {
            (None, _) => true,
            (Some(w), Some(c)) => w == c,
            (Some(w), None) => self.architecture == "arm64" && w == "v8",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The image configuration blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ImageConfig {
    #[serde(default)]
    /// CPU architecture in Go's spelling.
    pub architecture: String,
    #[serde(default)]
    /// Operating system.
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// CPU variant.
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the image was built, RFC 3339.
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Who built it, as recorded.
    pub author: Option<String>,
    #[serde(default)]
    /// How a container of this image runs.
    pub config: ContainerConfig,
    #[serde(default)]
    /// The layers' diff-ids.
    pub rootfs: RootFs,
    #[serde(default)]
    /// The build steps, oldest first; layer-less steps included.
    pub history: Vec<History>,
}

impl ImageConfig {
    /// The platform this config describes.
    pub fn platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
            os_version: None,
        }
    }
}

/// The runtime configuration inside the image config (`config` key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// User (name or uid, optionally `:group`) the container runs as; unset means root.
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Environment, as `NAME=value` strings.
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The entrypoint, in exec form.
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Default arguments, or the command when there is no entrypoint.
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The working directory.
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Ports (`80/tcp`) the image declares.
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Mount points the image declares.
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The signal that stops the container.
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The health check, as written.
    pub healthcheck: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `ONBUILD` instructions for images built from this one.
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The shell `RUN` uses.
    pub shell: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
/// The layers the image's root filesystem is built from.
pub struct RootFs {
    #[serde(default, rename = "type")]
    /// Always `layers`.
    pub kind: String,
    #[serde(default)]
    /// Digests of the uncompressed layers, bottom first.
    pub diff_ids: Vec<Digest>,
}

/// One build step. `empty_layer` steps produced no layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the step ran, RFC 3339.
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The instruction that ran (`/bin/sh -c …`).
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Who ran it.
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Free-form comment.
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    /// The step produced no layer.
    pub empty_layer: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_without_media_type_is_recognised_by_shape() {
        let body = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#;
        assert!(matches!(
            parse_manifest(body, None).unwrap(),
            ManifestKind::Image(_)
        ));
    }

    #[test]
    fn schema_1_is_refused() {
        let err = parse_manifest(br#"{"schemaVersion":1}"#, None).unwrap_err();
        assert!(matches!(err, ManifestError::SchemaVersion(1)));
    }

    #[test]
    fn platform_matching_follows_variant_rules() {
        let want = Platform::parse("linux/arm64").unwrap();
        assert!(want.matches(&Platform::parse("linux/arm64/v8").unwrap()));
        let want = Platform::parse("linux/arm64/v8").unwrap();
        assert!(want.matches(&Platform::parse("linux/arm64").unwrap()));
        let want = Platform::parse("linux/arm/v7").unwrap();
        assert!(!want.matches(&Platform::parse("linux/arm/v6").unwrap()));
        assert!(Platform::parse("linux").is_none());
    }
}
