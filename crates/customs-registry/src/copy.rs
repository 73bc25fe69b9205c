//! Copying an image to an OCI layout directory or a registry, blob by blob, each verified
//! as it streams and several in flight at once. The manifest keeps its exact bytes (and so
//! its digest), except for docker-archive sources, which have no manifest of their own and
//! get an OCI manifest naming each layer's real compression.

use std::io::{self, Read};
use std::sync::Mutex;

use customs_image::copy::OciLayoutWriter;
use customs_image::digest::Digest;
use customs_image::layer::Compression;
use customs_image::manifest::{media_type, Descriptor, Manifest};
use customs_image::reference::{Reference, Target};
use customs_image::{Image, ImageError};

use crate::{RegistryClient, RegistryOptions, UploadMode};

/// Blobs transferred at once.
pub const PARALLEL_BLOBS: usize = 4;

/// What was written.
#[derive(Debug, Clone)]
pub struct Copied {
    /// Digest of the manifest (or index) written at the destination.
    pub manifest_digest: Digest,
    /// Where it was written (`oci:DIR`, or the registry reference).
    pub destination: String,
    /// Number of blobs the destination now holds for the image (config and layers), whether sent or already there.
    pub blobs: usize,
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// The manifest to write for `image`, and its media type.
fn manifest_for(image: &Image) -> Result<(Vec<u8>, String, Manifest), ImageError> {
    if !matches!(image.target, Target::DockerArchive { .. }) {
        return Ok((
            image.manifest_bytes.clone(),
            image.manifest_media_type.clone(),
            image.manifest.clone(),
        ));
    }
    let mut m = image.manifest.clone();
    m.media_type = Some(media_type::OCI_MANIFEST.into());
    m.config.media_type = media_type::OCI_CONFIG.into();
    for (i, l) in m.layers.iter_mut().enumerate() {
        let mut head = [0u8; 4];
        let n = image
            .open_blob(&image.layers[i].descriptor)?
            .read(&mut head)
            .map_err(io_err("reading a layer"))?;
        l.media_type = match Compression::detect(&head[..n]) {
            Compression::None => media_type::OCI_LAYER,
            Compression::Gzip => media_type::OCI_LAYER_GZIP,
            Compression::Zstd => media_type::OCI_LAYER_ZSTD,
        }
        .into();
    }
    let bytes = serde_json::to_vec(&m).map_err(|e| ImageError::Invalid {
        what: "manifest".into(),
        reason: e.to_string(),
    })?;
    Ok((bytes, media_type::OCI_MANIFEST.into(), m))
}

fn blobs_of(m: &Manifest) -> Vec<Descriptor> {
    let mut v = vec![m.config.clone()];
    v.extend(m.layers.iter().cloned());
    v
}

/// Runs `f` over `items` with up to `PARALLEL_BLOBS` threads; the first error wins.
fn parallel<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> Result<(), ImageError> + Sync,
) -> Result<(), ImageError> {
    let next = Mutex::new(0usize);
    let error: Mutex<Option<ImageError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL_BLOBS.min(items.len()) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    if *n >= items.len() || error.lock().unwrap().is_some() {
                        return;
                    }
                    *n += 1;
                    *n - 1
                };
                if let Err(e) = f(&items[i]) {
                    error.lock().unwrap().get_or_insert(e);
                    return;
                }
            });
        }
    });
    match error.into_inner().unwrap() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Copies `image` to `dest`: an OCI layout (`oci:DIR[:tag]`) or a registry reference.
pub fn copy_image(
    image: &Image,
    dest: &Target,
    registry: &RegistryOptions,
) -> Result<Copied, ImageError> {
    let (manifest_bytes, mt, manifest) = manifest_for(image)?;
    let blobs = blobs_of(&manifest);
    let manifest_digest = Digest::sha256_of(&manifest_bytes);
    match dest {
        Target::OciLayout { dir, tag, .. } => {
            let layout = OciLayoutWriter::create(dir)?;
            parallel(&blobs, |d| {
                let src = image.open_blob(&image_descriptor(image, d))?;
                layout.write_blob(&d.digest, Some(d.size), src)
            })?;
            layout.write_blob(
                &manifest_digest,
                Some(manifest_bytes.len() as u64),
                &manifest_bytes[..],
            )?;
            let desc = Descriptor {
                media_type: mt,
                digest: manifest_digest.clone(),
                size: manifest_bytes.len() as u64,
                urls: vec![],
                annotations: tag
                    .iter()
                    .map(|t| ("org.opencontainers.image.ref.name".to_string(), t.clone()))
                    .collect(),
                platform: Some(image.platform.clone()),
                artifact_type: None,
            };
            layout.add_manifest(desc)?;
            Ok(Copied {
                manifest_digest,
                destination: format!("oci:{}", dir.display()),
                blobs: blobs.len() + 1,
            })
        }
        Target::Registry(reference) => {
            let client = RegistryClient::new(registry.clone())?;
            let repo = reference.repo();
            let mount_from = match &image.target {
                Target::Registry(src)
                    if src.registry == reference.registry
                        && src.repository != reference.repository =>
                {
                    Some(src.repository.clone())
                }
                _ => None,
            };
            parallel(&blobs, |d| {
                let src = image.open_blob(&image_descriptor(image, d))?;
                client.upload_blob(
                    &repo,
                    &d.digest,
                    d.size,
                    src,
                    UploadMode::Monolithic,
                    mount_from.as_deref(),
                )?;
                Ok(())
            })?;
            let tag = reference
                .tag
                .clone()
                .unwrap_or_else(|| manifest_digest.to_string());
            let pushed = client.put_manifest(&repo, &tag, &manifest_bytes, &mt)?;
            Ok(Copied {
                manifest_digest: pushed,
                destination: dest_name(reference),
                blobs: blobs.len() + 1,
            })
        }
        other => Err(ImageError::Invalid {
            what: format!("{other:?}"),
            reason: "copy writes to oci:DIR[:tag] or a registry reference".into(),
        }),
    }
}

fn dest_name(r: &Reference) -> String {
    r.to_string()
}

/// The source image's own descriptor for a blob (media types may differ in the rewritten
/// manifest, digests never do).
fn image_descriptor(image: &Image, d: &Descriptor) -> Descriptor {
    if image.manifest.config.digest == d.digest {
        return image.manifest.config.clone();
    }
    image
        .layers
        .iter()
        .find(|l| l.descriptor.digest == d.digest)
        .map(|l| l.descriptor.clone())
        .unwrap_or_else(|| d.clone())
}
