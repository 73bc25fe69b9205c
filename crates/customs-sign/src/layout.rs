//! How cosign lays signatures and attestations out in a registry, as plain data: the
//! `sha256-<hex>.sig` / `.att` tag names, the signature layers, and the OCI manifest and config
//! JSON that hold them. No registry access happens here.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::gojson;

/// Annotation holding the base64 signature of a simple-signing layer.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Annotation holding cosign's Rekor bundle (SET) of a layer.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Annotation holding the signing certificate (keyless).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Annotation holding the certificate chain (keyless).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Annotation naming an attestation layer's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// Media type of the manifest cosign writes.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of its config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

fn tag_with_suffix(digest: &str, suffix: &str) -> Result<String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| Error::MalformedPayload(format!("digest {digest:?} has no algorithm")))?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let hex_ok = !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit());
    if !alg_ok || !hex_ok {
        return Err(Error::MalformedPayload(format!(
            "malformed digest {digest:?}"
        )));
    }
    Ok(format!("{alg}-{hex}.{suffix}"))
}

/// The tag cosign stores an image's signatures under: `sha256:<hex>` → `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> Result<String> {
    tag_with_suffix(digest, "sig")
}

/// The tag cosign stores an image's attestations under: `sha256-<hex>.att`.
pub fn attestation_tag(digest: &str) -> Result<String> {
    tag_with_suffix(digest, "att")
}

/// The tag cosign attaches SBOMs under (`cosign attach sbom`): `sha256-<hex>.sbom`.
pub fn sbom_tag(digest: &str) -> Result<String> {
    tag_with_suffix(digest, "sbom")
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// One layer descriptor of a `.sig` or `.att` manifest. Its blob is the payload (or envelope).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureLayer {
    /// Layer media type.
    pub media_type: String,
    /// `sha256:<hex>` of the blob.
    pub digest: String,
    /// Blob size in bytes.
    pub size: u64,
    /// Layer annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl SignatureLayer {
    /// A simple-signing layer for `payload` with its base64 signature. `extra` may add the
    /// bundle or certificate annotations.
    pub fn simple_signing(
        payload: &[u8],
        signature_b64: &str,
        extra: BTreeMap<String, String>,
    ) -> SignatureLayer {
        let mut annotations = extra;
        annotations.insert(SIGNATURE_ANNOTATION.to_string(), signature_b64.to_string());
        SignatureLayer {
            media_type: crate::simple_signing::MEDIA_TYPE.to_string(),
            digest: sha256_digest(payload),
            size: payload.len() as u64,
            annotations,
        }
    }

    /// An attestation layer whose blob is the DSSE `envelope_json`. cosign leaves the signature
    /// annotation empty for attestations.
    pub fn attestation(envelope_json: &[u8], predicate_type: &str) -> SignatureLayer {
        let annotations = BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), String::new()),
            (
                PREDICATE_TYPE_ANNOTATION.to_string(),
                predicate_type.to_string(),
            ),
        ]);
        SignatureLayer {
            media_type: crate::dsse::MEDIA_TYPE.to_string(),
            digest: sha256_digest(envelope_json),
            size: envelope_json.len() as u64,
            annotations,
        }
    }
}

/// Add `new` to `existing` unless an identical layer (same blob and annotations) is already
/// there, as cosign does when a signature is pushed twice.
pub fn append_layer(existing: &[SignatureLayer], new: SignatureLayer) -> Vec<SignatureLayer> {
    let mut layers = existing.to_vec();
    if !layers.contains(&new) {
        layers.push(new);
    }
    layers
}

/// Read the layers of an existing `.sig` / `.att` manifest.
pub fn layers_from_manifest(manifest_json: &[u8]) -> Result<Vec<SignatureLayer>> {
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(default)]
        layers: Vec<SignatureLayer>,
    }
    let m: Manifest = serde_json::from_slice(manifest_json)
        .map_err(|e| Error::MalformedPayload(format!("signature manifest: {e}")))?;
    Ok(m.layers)
}

/// A manifest and config ready to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltManifest {
    /// The config blob.
    pub config: Vec<u8>,
    /// `sha256:` digest of the config blob.
    pub config_digest: String,
    /// The manifest JSON.
    pub manifest: Vec<u8>,
    /// `sha256:` digest of the manifest.
    pub manifest_digest: String,
}

/// The config cosign writes for a signature image: empty platform, zero timestamps, one
/// history entry and one diff ID per layer.
pub fn config_json(layers: &[SignatureLayer]) -> Vec<u8> {
    let mut out = String::from(r#"{"architecture":"","created":"0001-01-01T00:00:00Z","#);
    if !layers.is_empty() {
        out.push_str(r#""history":["#);
        let entries = vec![r#"{"created":"0001-01-01T00:00:00Z"}"#; layers.len()];
        out.push_str(&entries.join(","));
        out.push_str("],");
    }
    out.push_str(r#""os":"","rootfs":{"type":"layers","diff_ids":["#);
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        gojson::write_string(&mut out, &layer.digest);
    }
    out.push_str(r#"]},"config":{}}"#);
    out.into_bytes()
}

fn write_descriptor(out: &mut String, media_type: &str, size: u64, digest: &str) {
    out.push_str(r#"{"mediaType":"#);
    gojson::write_string(out, media_type);
    out.push_str(&format!(r#","size":{size},"digest":"#));
    gojson::write_string(out, digest);
}

/// Build the `.sig` / `.att` manifest (and its config) holding `layers`, in the field order and
/// escaping go-containerregistry uses.
pub fn build_manifest(layers: &[SignatureLayer]) -> BuiltManifest {
    let config = config_json(layers);
    let config_digest = sha256_digest(&config);
    let mut out = String::from(r#"{"schemaVersion":2,"mediaType":"#);
    gojson::write_string(&mut out, MANIFEST_MEDIA_TYPE);
    out.push_str(r#","config":"#);
    write_descriptor(
        &mut out,
        CONFIG_MEDIA_TYPE,
        config.len() as u64,
        &config_digest,
    );
    out.push_str(r#"},"layers":["#);
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_descriptor(&mut out, &layer.media_type, layer.size, &layer.digest);
        if !layer.annotations.is_empty() {
            out.push_str(r#","annotations":{"#);
            for (j, (k, v)) in layer.annotations.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                gojson::write_string(&mut out, k);
                out.push(':');
                gojson::write_string(&mut out, v);
            }
            out.push('}');
        }
        out.push('}');
    }
    out.push_str("]}");
    let manifest = out.into_bytes();
    BuiltManifest {
        manifest_digest: sha256_digest(&manifest),
        config,
        config_digest,
        manifest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_cosign_naming() {
        assert_eq!(
            signature_tag("sha256:0489474d").unwrap(),
            "sha256-0489474d.sig"
        );
        assert_eq!(attestation_tag("sha256:ab").unwrap(), "sha256-ab.att");
        assert!(signature_tag("0489474d").is_err());
        assert!(signature_tag("sha256:xyz").is_err());
    }

    #[test]
    fn pushing_the_same_signature_twice_keeps_one_layer() {
        let layer = SignatureLayer::simple_signing(b"p", "c2ln", BTreeMap::new());
        let once = append_layer(&[], layer.clone());
        let twice = append_layer(&once, layer);
        assert_eq!(twice.len(), 1);
        let other = SignatureLayer::simple_signing(b"q", "c2ln", BTreeMap::new());
        assert_eq!(append_layer(&twice, other).len(), 2);
    }

    #[test]
    fn manifest_lists_config_and_layers_and_round_trips() {
        let layers = vec![
            SignatureLayer::simple_signing(b"one", "AAA=", BTreeMap::new()),
            SignatureLayer::simple_signing(b"two", "BBB=", BTreeMap::new()),
        ];
        let built = build_manifest(&layers);
        let v: serde_json::Value = serde_json::from_slice(&built.manifest).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["config"]["digest"], built.config_digest);
        assert_eq!(v["config"]["size"], built.config.len());
        assert_eq!(layers_from_manifest(&built.manifest).unwrap(), layers);
        let config: serde_json::Value = serde_json::from_slice(&built.config).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][1], layers[1].digest);
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
    }
}
