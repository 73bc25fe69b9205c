//! Rekor transparency-log evidence, checked offline: the signed entry timestamp (SET), RFC 6962
//! Merkle inclusion proofs, signed checkpoints, the entry body's match with the signature, and
//! cosign's `dev.sigstore.cosign/bundle` annotation.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::pem;
use crate::trusted_root::TransparencyLog;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The RFC 8785 canonical JSON of the fields a Rekor SET signs:
/// `{"body":…,"integratedTime":…,"logID":…,"logIndex":…}`.
pub fn set_payload(
    body_b64: &str,
    integrated_time: i64,
    log_id_hex: &str,
    log_index: i64,
) -> Vec<u8> {
    // Keys are already in RFC 8785 order; serde_json escapes strings as RFC 8785 requires.
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"body\":{},\"integratedTime\":{integrated_time},\"logID\":{},\"logIndex\":{log_index}}}",
        s(body_b64),
        s(log_id_hex)
    )
    .into_bytes()
}

/// Verify a Rekor SET (`signature`, raw DER bytes) with the log's key.
pub fn verify_set(
    log: &TransparencyLog,
    body_b64: &str,
    integrated_time: i64,
    log_index: i64,
    signature: &[u8],
) -> Result<()> {
    let payload = set_payload(
        body_b64,
        integrated_time,
        &hex::encode(&log.log_id),
        log_index,
    );
    log.key
        .verify(&payload, signature)
        .map_err(|_| Error::BadSet)
}

/// RFC 6962 leaf hash: sha256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Verify an RFC 6962 / RFC 9162 inclusion proof: the audit path `proof` from the leaf at
/// `index` in a tree of `tree_size` leaves must lead to `root`.
pub fn verify_inclusion(
    leaf: [u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<()> {
    if index >= tree_size {
        return Err(Error::BadInclusionProof(format!(
            "leaf index {index} is outside a tree of size {tree_size}"
        )));
    }
    // RFC 9162 section 2.1.3.2.
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = leaf;
    for p in proof {
        if p.len() != 32 {
            return Err(Error::BadInclusionProof(
                "proof hash is not 32 bytes".to_string(),
            ));
        }
        if sn == 0 {
            return Err(Error::BadInclusionProof("proof is too long".to_string()));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(Error::BadInclusionProof("proof is too short".to_string()));
    }
    if r.as_slice() != root {
        return Err(Error::BadInclusionProof(
            "computed root hash differs from the stated root hash".to_string(),
        ));
    }
    Ok(())
}

/// A parsed signed note (checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// First line: the log's origin string.
    pub origin: String,
    /// Second line: the tree size.
    pub size: u64,
    /// Third line, decoded: the root hash.
    pub root_hash: Vec<u8>,
    /// The signed text (every body line with its newline).
    pub signed_text: String,
    /// Signature lines: (signer name, 4-byte key hint, signature).
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
}

/// Parse a checkpoint note: `origin\nsize\nroot\n[extra\n]*\n— name b64(hint||sig)\n…`.
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint> {
    let bad = |m: &str| Error::BadCheckpoint(m.to_string());
    let (body, sigs) = text
        .split_once("\n\n")
        .ok_or_else(|| bad("no blank line between body and signatures"))?;
    let mut lines = body.split('\n');
    let origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("missing origin"))?;
    let size = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| bad("missing or bad tree size"))?;
    let root_hash = lines
        .next()
        .and_then(|l| B64.decode(l).ok())
        .ok_or_else(|| bad("missing or bad root hash"))?;
    let mut signatures = Vec::new();
    for line in sigs.split('\n').filter(|l| !l.is_empty()) {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("signature line does not start with an em dash"))?;
        let (name, sig_b64) = rest
            .rsplit_once(' ')
            .ok_or_else(|| bad("signature line without a signature"))?;
        let raw = B64
            .decode(sig_b64)
            .map_err(|_| bad("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature is too short"));
        }
        let hint = [raw[0], raw[1], raw[2], raw[3]];
        signatures.push((name.to_string(), hint, raw[4..].to_vec()));
    }
    Ok(Checkpoint {
        origin: origin.to_string(),
        size,
        root_hash,
        signed_text: format!("{body}\n"),
        signatures,
    })
}

/// Verify a checkpoint: it must commit to `tree_size` and `root_hash`, and carry a signature
/// whose key hint is the first four bytes of the log ID and that verifies with the log key.
pub fn verify_checkpoint(
    log: &TransparencyLog,
    text: &str,
    tree_size: u64,
    root_hash: &[u8],
) -> Result<Checkpoint> {
    let cp = parse_checkpoint(text)?;
    if cp.size != tree_size {
        return Err(Error::BadCheckpoint(format!(
            "checkpoint size {} differs from proof tree size {tree_size}",
            cp.size
        )));
    }
    if cp.root_hash != root_hash {
        return Err(Error::BadCheckpoint(
            "checkpoint root hash differs from the proof root hash".to_string(),
        ));
    }
    let hint = log.log_id.get(..4);
    let ok = cp.signatures.iter().any(|(_, h, sig)| {
        Some(h.as_slice()) == hint && log.key.verify(cp.signed_text.as_bytes(), sig).is_ok()
    });
    if !ok {
        return Err(Error::BadCheckpoint(
            "no checkpoint signature verifies with the log key".to_string(),
        ));
    }
    Ok(cp)
}

/// Who signed, as a transparency-log body must record it.
#[derive(Debug, Clone)]
pub enum Signer<'a> {
    /// A public key.
    Key(&'a PublicKey),
    /// A certificate (DER).
    Certificate(&'a [u8]),
}

fn verifier_matches(pem_b64: &str, signer: &Signer<'_>) -> bool {
    let Ok(pem_bytes) = B64.decode(pem_b64) else {
        return false;
    };
    let Ok(text) = String::from_utf8(pem_bytes) else {
        return false;
    };
    let Ok(block) = pem::parse_one(&text) else {
        return false;
    };
    match signer {
        Signer::Certificate(der) => block.label == "CERTIFICATE" && block.contents == *der,
        Signer::Key(key) => {
            block.label == "PUBLIC KEY"
                && PublicKey::from_spki_der(&block.contents).is_ok_and(|k| &k == *key)
        }
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Check that a Rekor entry body (decoded `canonicalizedBody`) records this signature: the
/// sha256 of the signed payload (`payload_sha256`, hex), the signature (`signature_b64`, as in
/// the envelope or annotation) and the signer. Kinds `hashedrekord/0.0.1`, `dsse/0.0.1` and
/// `intoto/0.0.2` are understood.
pub fn check_body(
    body: &[u8],
    payload_sha256: &str,
    signature_b64: &str,
    signer: &Signer<'_>,
) -> Result<()> {
    let mismatch = |m: &str| Error::TlogMismatch(m.to_string());
    let v: Value =
        serde_json::from_slice(body).map_err(|e| mismatch(&format!("body is not JSON: {e}")))?;
    let kind = str_at(&v, &["kind"]).unwrap_or_default();
    let version = str_at(&v, &["apiVersion"]).unwrap_or_default();
    let spec = v.get("spec").ok_or_else(|| mismatch("body has no spec"))?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => {
            if str_at(spec, &["data", "hash", "value"]) != Some(payload_sha256) {
                return Err(mismatch("hashedrekord data hash is not sha256(payload)"));
            }
            if str_at(spec, &["signature", "content"]) != Some(signature_b64) {
                return Err(mismatch("hashedrekord signature differs"));
            }
            let key = str_at(spec, &["signature", "publicKey", "content"]).unwrap_or_default();
            if !verifier_matches(key, signer) {
                return Err(mismatch("hashedrekord public key is not the signer"));
            }
        }
        ("dsse", "0.0.1") => {
            if str_at(spec, &["payloadHash", "value"]) != Some(payload_sha256) {
                return Err(mismatch("dsse payload hash is not sha256(payload)"));
            }
            let sigs = spec.get("signatures").and_then(Value::as_array);
            let ok = sigs.into_iter().flatten().any(|s| {
                str_at(s, &["signature"]) == Some(signature_b64)
                    && verifier_matches(str_at(s, &["verifier"]).unwrap_or_default(), signer)
            });
            if !ok {
                return Err(mismatch(
                    "dsse entry has no matching signature and verifier",
                ));
            }
        }
        ("intoto", "0.0.2") => {
            let content = spec
                .get("content")
                .ok_or_else(|| mismatch("intoto entry without content"))?;
            if str_at(content, &["payloadHash", "value"]) != Some(payload_sha256) {
                return Err(mismatch("intoto payload hash is not sha256(payload)"));
            }
            let sigs = content
                .get("envelope")
                .and_then(|e| e.get("signatures"))
                .and_then(Value::as_array);
            let ok = sigs.into_iter().flatten().any(|s| {
                // intoto/0.0.2 stores the envelope signature base64-encoded once more.
                let sig = str_at(s, &["sig"])
                    .and_then(|x| B64.decode(x).ok())
                    .and_then(|x| String::from_utf8(x).ok());
                sig.as_deref() == Some(signature_b64)
                    && verifier_matches(str_at(s, &["publicKey"]).unwrap_or_default(), signer)
            });
            if !ok {
                return Err(mismatch("intoto entry has no matching signature and key"));
            }
        }
        _ => {
            return Err(mismatch(&format!(
                "unsupported entry kind {kind}/{version}"
            )))
        }
    }
    Ok(())
}

/// What a transparency-log entry must record, for [`check_entry`].
#[derive(Debug, Clone, Copy)]
pub enum SignedContent<'a> {
    /// A message signature over an artifact with this SHA-256 digest.
    Message {
        /// SHA-256 of the artifact.
        artifact_sha256: &'a [u8],
    },
    /// A DSSE envelope with this (decoded) payload.
    Dsse {
        /// The envelope's payload type.
        payload_type: &'a str,
        /// The decoded payload.
        payload: &'a [u8],
    },
}

fn b64_eq(field: Option<&str>, expected: &[u8]) -> bool {
    field
        .and_then(|f| B64.decode(f).ok())
        .is_some_and(|raw| raw == expected)
}

/// A Rekor v2 `verifier`: `{"x509Certificate":{"rawBytes"}}` or `{"publicKey":{"rawBytes"}}`.
fn v2_verifier_matches(verifier: Option<&Value>, signer: &Signer<'_>) -> bool {
    let Some(v) = verifier else {
        return false;
    };
    match signer {
        Signer::Certificate(der) => b64_eq(str_at(v, &["x509Certificate", "rawBytes"]), der),
        Signer::Key(key) => str_at(v, &["publicKey", "rawBytes"])
            .and_then(|f| B64.decode(f).ok())
            .and_then(|raw| PublicKey::from_spki_der(&raw).ok())
            .is_some_and(|k| &k == *key),
    }
}

/// Check that a Rekor entry body (decoded `canonicalizedBody`) records this signature: the
/// artifact or DSSE payload, the signature bytes and the signer. `kind_version`, when the
/// bundle states it, must be the body's own kind and version. Understood: Rekor v1
/// `hashedrekord/0.0.1`, `dsse/0.0.1`, `intoto/0.0.2`; Rekor v2 `hashedrekord/0.0.2` (also over
/// DSSE, where it records the hash of the PAE) and `dsse/0.0.2`.
pub fn check_entry(
    body: &[u8],
    kind_version: Option<(&str, &str)>,
    content: SignedContent<'_>,
    signature: &[u8],
    signer: &Signer<'_>,
) -> Result<()> {
    let mismatch = |m: &str| Error::TlogMismatch(m.to_string());
    let v: Value =
        serde_json::from_slice(body).map_err(|e| mismatch(&format!("body is not JSON: {e}")))?;
    let kind = str_at(&v, &["kind"]).unwrap_or_default();
    let version = str_at(&v, &["apiVersion"]).unwrap_or_default();
    if let Some((k, ver)) = kind_version {
        if (k, ver) != (kind, version) {
            return Err(mismatch(&format!(
                "the bundle says the entry is {k}/{ver}, its body is {kind}/{version}"
            )));
        }
    }
    let spec = v.get("spec").ok_or_else(|| mismatch("body has no spec"))?;
    let sig_b64 = B64.encode(signature);
    match (kind, version, content) {
        ("hashedrekord", "0.0.1", SignedContent::Message { artifact_sha256 }) => {
            if str_at(spec, &["data", "hash", "algorithm"]) != Some("sha256")
                || str_at(spec, &["data", "hash", "value"]) != Some(&hex::encode(artifact_sha256))
            {
                return Err(mismatch(
                    "hashedrekord data hash is not the artifact's sha256",
                ));
            }
            if !b64_eq(str_at(spec, &["signature", "content"]), signature) {
                return Err(mismatch("hashedrekord signature differs"));
            }
            let key = str_at(spec, &["signature", "publicKey", "content"]).unwrap_or_default();
            if !verifier_matches(key, signer) {
                return Err(mismatch("hashedrekord public key is not the signer"));
            }
        }
        ("dsse", "0.0.1", SignedContent::Dsse { payload, .. })
        | ("intoto", "0.0.2", SignedContent::Dsse { payload, .. }) => {
            check_body(
                body,
                &hex::encode(Sha256::digest(payload)),
                &sig_b64,
                signer,
            )?;
        }
        ("hashedrekord", "0.0.2", content) => {
            let spec = spec
                .get("hashedRekordV002")
                .ok_or_else(|| mismatch("hashedrekord 0.0.2 without hashedRekordV002"))?;
            let expected: Vec<u8> = match content {
                SignedContent::Message { artifact_sha256 } => artifact_sha256.to_vec(),
                SignedContent::Dsse {
                    payload_type,
                    payload,
                } => Sha256::digest(crate::dsse::pae(payload_type, payload)).to_vec(),
            };
            if str_at(spec, &["data", "algorithm"]) != Some("SHA2_256")
                || !b64_eq(str_at(spec, &["data", "digest"]), &expected)
            {
                return Err(mismatch(
                    "hashedrekord 0.0.2 digest is not that of the signed artifact (or DSSE PAE)",
                ));
            }
            if !b64_eq(str_at(spec, &["signature", "content"]), signature) {
                return Err(mismatch("hashedrekord 0.0.2 signature differs"));
            }
            if !v2_verifier_matches(
                spec.get("signature").and_then(|s| s.get("verifier")),
                signer,
            ) {
                return Err(mismatch("hashedrekord 0.0.2 verifier is not the signer"));
            }
        }
        ("dsse", "0.0.2", SignedContent::Dsse { payload, .. }) => {
            let spec = spec
                .get("dsseV002")
                .ok_or_else(|| mismatch("dsse 0.0.2 without dsseV002"))?;
            if str_at(spec, &["payloadHash", "algorithm"]) != Some("SHA2_256")
                || !b64_eq(
                    str_at(spec, &["payloadHash", "digest"]),
                    &Sha256::digest(payload),
                )
            {
                return Err(mismatch("dsse 0.0.2 payload hash is not sha256(payload)"));
            }
            let sigs = spec.get("signatures").and_then(Value::as_array);
            let ok = sigs.into_iter().flatten().any(|s| {
                b64_eq(str_at(s, &["content"]), signature)
                    && v2_verifier_matches(s.get("verifier"), signer)
            });
            if !ok {
                return Err(mismatch(
                    "dsse 0.0.2 entry has no matching signature and verifier",
                ));
            }
        }
        (kind, version, SignedContent::Message { .. }) => {
            return Err(mismatch(&format!(
                "a {kind}/{version} entry cannot record a message signature"
            )))
        }
        (kind, version, SignedContent::Dsse { .. }) => {
            return Err(mismatch(&format!(
                "a {kind}/{version} entry cannot record a DSSE envelope"
            )))
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct CosignRekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: CosignRekorPayload,
}

#[derive(Deserialize)]
struct CosignRekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// What a verified Rekor entry establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// Signed time of inclusion (unix seconds).
    pub integrated_time: i64,
    /// Index in the log.
    pub log_index: i64,
}

/// Verify cosign's `dev.sigstore.cosign/bundle` annotation for an image signature: the SET with
/// a trusted log key, and that the entry records `payload`, `signature_b64` and `signer`.
pub fn verify_cosign_bundle_annotation(
    annotation: &str,
    logs: &[TransparencyLog],
    payload: &[u8],
    signature_b64: &str,
    signer: &Signer<'_>,
) -> Result<VerifiedEntry> {
    let bundle: CosignRekorBundle = serde_json::from_str(annotation)
        .map_err(|e| Error::MalformedBundle(format!("cosign bundle annotation: {e}")))?;
    let p = &bundle.payload;
    let log_id = hex::decode(&p.log_id)
        .map_err(|_| Error::MalformedBundle("logID is not hex".to_string()))?;
    let log = logs
        .iter()
        .find(|l| l.log_id == log_id)
        .ok_or_else(|| Error::UnknownLog(p.log_id.clone()))?;
    let set = B64
        .decode(&bundle.signed_entry_timestamp)
        .map_err(|_| Error::BadSet)?;
    verify_set(log, &p.body, p.integrated_time, p.log_index, &set)?;
    if !log.valid_for.contains(p.integrated_time) {
        return Err(Error::UnknownLog(format!(
            "{} was not valid at {}",
            p.log_id, p.integrated_time
        )));
    }
    let body = B64
        .decode(&p.body)
        .map_err(|_| Error::MalformedBundle("body is not base64".to_string()))?;
    check_body(
        &body,
        &hex::encode(Sha256::digest(payload)),
        signature_b64,
        signer,
    )?;
    Ok(VerifiedEntry {
        integrated_time: p.integrated_time,
        log_index: p.log_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962: the largest power of two smaller than n.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn tree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = split(leaves.len());
        node_hash(&tree_root(&leaves[..k]), &tree_root(&leaves[k..]))
    }

    fn audit_path(leaves: &[[u8; 32]], m: usize) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = split(leaves.len());
        if m < k {
            let mut p = audit_path(&leaves[..k], m);
            p.push(tree_root(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = audit_path(&leaves[k..], m - k);
            p.push(tree_root(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_of_small_trees() {
        for n in 1..=9usize {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let root = tree_root(&leaves);
            for m in 0..n {
                let path = audit_path(&leaves, m);
                verify_inclusion(leaves[m], m as u64, n as u64, &path, &root)
                    .unwrap_or_else(|e| panic!("n={n} m={m}: {e}"));
                if n > 1 {
                    let wrong = (m + 1) % n;
                    assert!(
                        verify_inclusion(leaves[wrong], m as u64, n as u64, &path, &root).is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn out_of_range_index_is_rejected() {
        assert!(matches!(
            verify_inclusion([0; 32], 5, 5, &[], &[0; 32]).unwrap_err(),
            Error::BadInclusionProof(_)
        ));
    }

    #[test]
    fn set_payload_is_canonical_json() {
        assert_eq!(
            String::from_utf8(set_payload("Ym9keQ==", 5, "abcd", 7)).unwrap(),
            r#"{"body":"Ym9keQ==","integratedTime":5,"logID":"abcd","logIndex":7}"#
        );
    }

    #[test]
    fn checkpoint_without_blank_line_is_malformed() {
        assert!(matches!(
            parse_checkpoint("origin\n1\nAAAA\n").unwrap_err(),
            Error::BadCheckpoint(_)
        ));
    }
}
