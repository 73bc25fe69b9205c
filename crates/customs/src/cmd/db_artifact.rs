//! The vulnerability database as a signed OCI artifact: `customs db push REF --key KEY`
//! publishes it to any registry, `customs db update --from REF --key KEY.pub` takes it back.
//! A team hosts its own copy, so scans never stall on someone else's rate limit.
//!
//! The artifact is an OCI image manifest with `artifactType` [`ARTIFACT_TYPE`], the empty
//! config, and one layer: the database file. The layer's annotation [`SIGNATURE`] holds a
//! signature, by the publisher's customs (cosign-format) key, over [`signed_statement`]: the
//! layer's digest and size. So the signature covers exactly the bytes that are fetched, and
//! the fetch is refused unless it verifies with the key given, before anything is replaced.
//! The file streams both ways; it is never held in memory.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use customs_image::{Descriptor, Digest, Reference};
use customs_registry::{RegistryClient, UploadMode};
use sha2::{Digest as _, Sha256};

/// The manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.customs.vulndb";
/// The database layer's media type (the schema version is the file's own).
pub const LAYER_TYPE: &str = "application/vnd.customs.vulndb.layer.v1";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE: &str = "dev.customs.vulndb.signature";
const EMPTY_CONFIG: &[u8] = b"{}";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// What the signature covers: the database layer's digest and size, and what it is.
pub fn signed_statement(digest: &Digest, size: u64) -> Vec<u8> {
    format!("customs-vulndb-v1\n{digest}\n{size}\n").into_bytes()
}

fn sha256_file(path: &Path) -> Result<(Digest, u64)> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    let digest: Digest = format!("sha256:{}", hex::encode(h.finalize())).parse()?;
    Ok((digest, size))
}

/// Pushes the database at `db` to `reference`, signed with `key`.
pub fn push(
    client: &RegistryClient,
    reference: &Reference,
    db: &Path,
    key: &customs_sign::keys::PrivateKey,
) -> Result<Digest> {
    // Only a database that opens and verifies is published.
    let created = customs_vulndb::Database::open(db)
        .with_context(|| format!("{} is not a usable database", db.display()))?
        .metadata()
        .built_at
        .clone();
    let (digest, size) = sha256_file(db)?;
    let signature = key.sign(&signed_statement(&digest, size))?;
    let repo = reference.repo();
    let file = std::fs::File::open(db)?;
    client
        .upload_blob(&repo, &digest, size, file, UploadMode::Auto, None)
        .with_context(|| format!("uploading the database to {repo}"))?;
    let config_digest = Digest::sha256_of(EMPTY_CONFIG);
    client.upload_blob(
        &repo,
        &config_digest,
        EMPTY_CONFIG.len() as u64,
        EMPTY_CONFIG,
        UploadMode::Monolithic,
        None,
    )?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": config_digest.to_string(), "size": EMPTY_CONFIG.len()},
        "layers": [{
            "mediaType": LAYER_TYPE,
            "digest": digest.to_string(),
            "size": size,
            "annotations": {
                SIGNATURE: base64_encode(&signature),
                "org.opencontainers.image.title": "customs.db",
            }
        }],
        "annotations": {"org.opencontainers.image.created": created}
    });
    let bytes = serde_json::to_vec(&manifest)?;
    let tag = reference.tag_or_digest();
    let pushed = client
        .put_manifest(&repo, &tag, &bytes, MANIFEST_TYPE)
        .with_context(|| format!("pushing the manifest to {reference}"))?;
    Ok(pushed)
}

/// Fetches the database published at `reference` into `dest`, after checking its signature
/// with `key` and that the file is a database customs can open; `dest` is replaced by
/// rename only then.
pub fn pull(
    client: &RegistryClient,
    reference: &Reference,
    dest: &Path,
    key: &customs_sign::keys::PublicKey,
) -> Result<customs_vulndb::Metadata> {
    let (bytes, _media_type, _digest) = client
        .get_manifest(reference)
        .with_context(|| format!("fetching {reference}"))?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes).context("the artifact's manifest is not JSON")?;
    if manifest["artifactType"] != ARTIFACT_TYPE {
        bail!(
            "{reference} is not a customs database (artifactType {}, expected {ARTIFACT_TYPE})",
            manifest["artifactType"]
        );
    }
    let layers = manifest["layers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let [layer] = layers else {
        bail!("{reference}: a customs database artifact has exactly one layer");
    };
    let descriptor: Descriptor =
        serde_json::from_value(layer.clone()).context("the database layer's descriptor")?;
    if descriptor.media_type != LAYER_TYPE {
        bail!(
            "{reference}: layer media type {} is not {LAYER_TYPE}",
            descriptor.media_type
        );
    }
    let signature = descriptor
        .annotations
        .get(SIGNATURE)
        .with_context(|| format!("{reference} is not signed ({SIGNATURE} missing)"))?;
    let signature = base64_decode(signature).context("the signature is not base64")?;
    key.verify(
        &signed_statement(&descriptor.digest, descriptor.size),
        &signature,
    )
    .with_context(|| {
        format!("{reference}: the database's signature does not verify with the key given; nothing was replaced")
    })?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".customs-db-")
        .tempfile_in(&dir)?;
    let mut blob = client
        .get_blob(&reference.repo(), &descriptor)
        .with_context(|| format!("fetching the database of {reference}"))?;
    // The reader fails at its end unless digest and size match the signed descriptor.
    std::io::copy(&mut blob, tmp.as_file_mut())
        .with_context(|| format!("fetching the database of {reference}"))?;
    tmp.as_file_mut().flush()?;
    tmp.as_file().sync_all()?;
    let metadata = customs_vulndb::Database::open(tmp.path())
        .with_context(|| format!("{reference}: the fetched file is not a usable database"))?
        .metadata()
        .clone();
    tmp.persist(dest)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", dest.display()))?;
    Ok(metadata)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}
