//! The scanned image as reports describe it. The binary fills a [`Subject`] from the image it
//! read; renderers only format it.

use std::collections::BTreeMap;

use customs_inventory::Purl;
use serde::{Deserialize, Serialize};

/// The image a report is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The reference as the user typed it, resolved (`docker.io/library/alpine:3.20`).
    pub name: String,
    /// Digest of the image manifest (`sha256:…`). Empty when the image has none of its own, as
    /// with a `docker save` tarball; renderers then fall back to `config_digest`.
    #[serde(default)]
    pub manifest_digest: String,
    /// Digest of the image config blob, the image id.
    #[serde(default)]
    pub config_digest: String,
    #[serde(default)]
    /// Platform the image was built for.
    pub platform: Platform,
    /// Layers, lowest first.
    #[serde(default)]
    pub layers: Vec<LayerInfo>,
    /// Config labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `org.opencontainers.image.base.name` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_name: Option<String>,
    /// `org.opencontainers.image.base.digest` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_digest: Option<String>,
}

/// OS and CPU the image was built for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`, `windows`.
    pub os: String,
    /// `amd64`, `arm64`.
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `v8`, `v7`.
    pub variant: Option<String>,
}

/// One filesystem layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the uncompressed tar (`rootfs.diff_ids` in the config); packages name this.
    pub diff_id: String,
    /// Digest of the blob as stored (compressed).
    #[serde(default)]
    pub digest: String,
    /// Size of the stored blob in bytes.
    #[serde(default)]
    pub size: u64,
}

impl Platform {
    /// `linux/arm64/v8`, or `` when unknown.
    pub fn display(&self) -> String {
        let mut out = format!("{}/{}", self.os, self.architecture);
        if let Some(variant) = &self.variant {
            out.push('/');
            out.push_str(variant);
        }
        if out == "/" {
            out.clear();
        }
        out
    }
}

impl Subject {
    /// The digest that identifies the image: the manifest digest, else the config digest.
    pub fn digest(&self) -> &str {
        if self.manifest_digest.is_empty() {
            &self.config_digest
        } else {
            &self.manifest_digest
        }
    }

    /// The reference split into repository and tag, without any `@digest`.
    fn repository_and_tag(&self) -> (&str, Option<&str>) {
        let without_digest = self.name.split('@').next().unwrap_or("");
        let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
        match without_digest[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (&without_digest[..at], Some(&without_digest[at + 1..]))
            }
            None => (without_digest, None),
        }
    }

    /// Package URL of the image, following the purl `oci` type:
    /// `pkg:oci/alpine@sha256:…?arch=amd64&repository_url=docker.io%2Flibrary%2Falpine&tag=3.20`
    /// (the colon is never encoded and `/` in a qualifier value always is, per the purl spec).
    pub fn purl(&self) -> String {
        let (repository, tag) = self.repository_and_tag();
        let last = repository.rsplit('/').next().unwrap_or(repository);
        let name = if last.is_empty() {
            "image".to_string()
        } else {
            last.to_lowercase()
        };
        let digest = self.digest();
        let mut qualifiers = Vec::new();
        if !self.platform.architecture.is_empty() {
            qualifiers.push(("arch", self.platform.architecture.as_str()));
        }
        if repository.contains('/') {
            qualifiers.push(("repository_url", repository));
        }
        if let Some(tag) = tag.filter(|t| !t.is_empty()) {
            qualifiers.push(("tag", tag));
        }
        Purl::new("oci", None, &name, digest, &qualifiers)
            .map(|p| p.to_string())
            .unwrap_or_default()
    }
}

/// The first 12 hex digits of a digest, without its algorithm (`sha256:0123…` → `0123…`).
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str) -> Subject {
        Subject {
            name: name.into(),
            manifest_digest: "sha256:abc".into(),
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            ..Subject::default()
        }
    }

    #[test]
    fn image_purl_follows_the_oci_purl_type() {
        // Shape from the purl spec's `oci` type examples.
        assert_eq!(
            subject("docker.io/library/debian:latest").purl(),
            "pkg:oci/debian@sha256:abc?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"
        );
        assert_eq!(
            subject("localhost:5000/Team/App@sha256:abc").purl(),
            "pkg:oci/app@sha256:abc?arch=amd64&repository_url=localhost:5000%2FTeam%2FApp"
        );
        assert_eq!(
            subject("busybox").purl(),
            "pkg:oci/busybox@sha256:abc?arch=amd64"
        );
    }

    #[test]
    fn digest_falls_back_to_config_digest() {
        let mut s = subject("x");
        s.manifest_digest.clear();
        s.config_digest = "sha256:cfg".into();
        assert_eq!(s.digest(), "sha256:cfg");
    }

    #[test]
    fn short_digest_drops_algorithm_and_keeps_twelve_hex_digits() {
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_digest("abc"), "abc");
    }
}
