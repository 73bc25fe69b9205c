//! Sigstore bundles: writing a v0.3 bundle around a DSSE envelope, and verifying bundles
//! (v0.1–v0.3, keyed or keyless) fully offline against a trusted root.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::certs::{self, CertificateIdentity, ParsedCertificate};
use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::intoto::{self, AttestationCheck, Statement};
use crate::keys::PublicKey;
use crate::rekor::{self, Signer};
use crate::trusted_root::TrustedRoot;

/// Media type of a v0.3 bundle (what customs writes).
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Media types of older bundles, accepted when verifying.
pub const MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// See [`MEDIA_TYPE_V01`].
pub const MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// protojson writes int64 as a string; accept both.
fn int64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        S(String),
        N(i64),
    }
    match Num::deserialize(d)? {
        Num::N(n) => Ok(n),
        Num::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A Sigstore bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// Bundle media type (which version).
    pub media_type: String,
    /// Key hint or certificate, and transparency-log entries.
    pub verification_material: VerificationMaterial,
    /// The signed DSSE envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
    /// A plain message signature (not verified by customs yet; kept for round trips).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

/// How the signer is identified, plus log evidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// Keyed signing: a hint naming the key (the key itself is supplied by the verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<KeyHint>,
    /// Keyless signing (v0.3): the leaf certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    /// Keyless signing (v0.1/v0.2): the chain, leaf first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// Rekor entries.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tlog_entries: Vec<TlogEntry>,
}

/// `{"hint": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyHint {
    /// Free-form key identifier.
    #[serde(default)]
    pub hint: String,
}

/// `{"rawBytes": "<base64 DER>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// Base64 DER.
    pub raw_bytes: String,
}

/// `{"certificates": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateChain {
    /// Leaf first.
    #[serde(default)]
    pub certificates: Vec<RawBytes>,
}

/// One Rekor entry in a bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    /// Index in the log.
    #[serde(deserialize_with = "int64")]
    pub log_index: i64,
    /// Which log.
    pub log_id: LogId,
    /// Entry kind and version (e.g. dsse 0.0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_version: Option<serde_json::Value>,
    /// Time of inclusion, unix seconds.
    #[serde(deserialize_with = "int64")]
    pub integrated_time: i64,
    /// The SET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    /// Merkle inclusion proof with a checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProof>,
    /// Base64 of the entry body.
    pub canonicalized_body: String,
}

/// `{"keyId": "<base64>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// Base64 log ID.
    pub key_id: String,
}

/// `{"signedEntryTimestamp": "<base64>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    /// Base64 DER signature.
    pub signed_entry_timestamp: String,
}

/// An RFC 6962 inclusion proof.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Leaf index within the (sharded) tree.
    #[serde(deserialize_with = "int64")]
    pub log_index: i64,
    /// Base64 root hash.
    pub root_hash: String,
    /// Tree size.
    #[serde(deserialize_with = "int64")]
    pub tree_size: i64,
    /// Base64 audit path.
    #[serde(default)]
    pub hashes: Vec<String>,
    /// The signed checkpoint.
    pub checkpoint: CheckpointText,
}

/// `{"envelope": "<note text>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointText {
    /// The signed note.
    pub envelope: String,
}

impl Bundle {
    /// Parse bundle JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle> {
        let b: Bundle =
            serde_json::from_slice(bytes).map_err(|e| Error::MalformedBundle(e.to_string()))?;
        if ![MEDIA_TYPE_V01, MEDIA_TYPE_V02, MEDIA_TYPE_V03].contains(&b.media_type.as_str())
            && b.media_type != "application/vnd.dev.sigstore.bundle+json;version=0.3"
        {
            return Err(Error::MalformedBundle(format!(
                "unsupported media type {:?}",
                b.media_type
            )));
        }
        Ok(b)
    }

    /// A v0.3 bundle holding `envelope`, signed by a key named by `hint`, without log entries.
    pub fn with_key_hint(envelope: Envelope, hint: &str) -> Bundle {
        Bundle {
            media_type: MEDIA_TYPE_V03.to_string(),
            verification_material: VerificationMaterial {
                public_key: Some(KeyHint {
                    hint: hint.to_string(),
                }),
                ..VerificationMaterial::default()
            },
            dsse_envelope: Some(envelope),
            message_signature: None,
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn leaf_certificate(&self) -> Result<Option<ParsedCertificate>> {
        let vm = &self.verification_material;
        let raw = match (&vm.certificate, &vm.x509_certificate_chain) {
            (Some(c), _) => &c.raw_bytes,
            (None, Some(chain)) => match chain.certificates.first() {
                Some(c) => &c.raw_bytes,
                None => return Err(Error::MalformedBundle("empty certificate chain".into())),
            },
            (None, None) => return Ok(None),
        };
        let der = B64
            .decode(raw)
            .map_err(|_| Error::MalformedBundle("certificate is not base64".into()))?;
        ParsedCertificate::from_der(&der).map(Some)
    }
}

/// What the verifier requires of a bundle.
#[derive(Debug, Clone, Default)]
pub struct BundlePolicy {
    /// Keyed verification: the signer's public key.
    pub key: Option<PublicKey>,
    /// Keyless verification: the expected certificate identity and issuer.
    pub identity: Option<CertificateIdentity>,
    /// Accept a bundle without transparency-log entries (keyed only, like cosign's
    /// `--insecure-ignore-tlog`). Entries that are present are still verified.
    pub insecure_ignore_tlog: bool,
    /// Checks on the in-toto statement (subject digest, predicate type).
    pub attestation: AttestationCheck,
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The verified in-toto statement.
    pub statement: Statement,
    /// Time of the earliest verified log entry, unix seconds.
    pub integrated_time: Option<i64>,
    /// Number of log entries that verified.
    pub verified_tlog_entries: usize,
    /// For keyless bundles, the certificate's SANs.
    pub certificate_identities: Vec<String>,
}

/// Verify `bundle` offline: the DSSE signature (with the policy key or the certificate key), every
/// transparency-log entry (SET and/or inclusion proof with checkpoint, and that its body records
/// this signature), the certificate chain at the log's integrated time and its identity, and the
/// in-toto statement's claims.
pub fn verify_bundle(
    bundle: &Bundle,
    root: &TrustedRoot,
    policy: &BundlePolicy,
) -> Result<VerifiedBundle> {
    let envelope = bundle.dsse_envelope.as_ref().ok_or_else(|| {
        Error::MalformedBundle("only DSSE bundles are supported (no dsseEnvelope)".into())
    })?;
    let cert = bundle.leaf_certificate()?;
    let key = match (&cert, &policy.key) {
        (Some(c), _) => {
            if policy.identity.is_none() {
                return Err(Error::Policy(
                    "a keyless bundle needs an expected certificate identity and issuer".into(),
                ));
            }
            c.public_key()?
        }
        (None, Some(k)) => k.clone(),
        (None, None) => {
            return Err(Error::Policy(
                "the bundle names a public key: a verification key is required".into(),
            ))
        }
    };
    let payload = envelope.verify(&key)?;

    let signer = match &cert {
        Some(c) => Signer::Certificate(&c.der),
        None => Signer::Key(&key),
    };
    let payload_sha256 = hex::encode(Sha256::digest(&payload));
    let first_sig = envelope
        .signatures
        .first()
        .map(|s| s.sig.as_str())
        .unwrap_or_default();
    let mut times = Vec::new();
    for entry in &bundle.verification_material.tlog_entries {
        times.push(verify_tlog_entry(
            entry,
            root,
            &payload_sha256,
            first_sig,
            &signer,
        )?);
    }
    let integrated_time = times.iter().copied().min();

    let mut identities = Vec::new();
    if let Some(cert) = &cert {
        let time = integrated_time.ok_or(Error::MissingTlogEntry)?;
        certs::verify_chain(cert, root, time)?;
        if let Some(identity) = &policy.identity {
            certs::check_identity(cert, identity)?;
        }
        identities = cert.identities();
    } else if times.is_empty() && !policy.insecure_ignore_tlog {
        return Err(Error::MissingTlogEntry);
    }

    let statement = intoto::statement_of_verified(envelope, &payload, &policy.attestation)?;
    Ok(VerifiedBundle {
        statement,
        integrated_time,
        verified_tlog_entries: times.len(),
        certificate_identities: identities,
    })
}

/// Verify one Rekor entry; returns its integrated time.
fn verify_tlog_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    payload_sha256: &str,
    signature_b64: &str,
    signer: &Signer<'_>,
) -> Result<i64> {
    let log_id = B64
        .decode(&entry.log_id.key_id)
        .map_err(|_| Error::MalformedBundle("logId is not base64".into()))?;
    let log = root
        .tlog(&log_id)
        .ok_or_else(|| Error::UnknownLog(hex::encode(&log_id)))?;
    if !log.valid_for.contains(entry.integrated_time) {
        return Err(Error::UnknownLog(format!(
            "{} was not valid at {}",
            hex::encode(&log_id),
            entry.integrated_time
        )));
    }
    let body = B64
        .decode(&entry.canonicalized_body)
        .map_err(|_| Error::MalformedBundle("canonicalizedBody is not base64".into()))?;
    rekor::check_body(&body, payload_sha256, signature_b64, signer)?;

    if entry.inclusion_promise.is_none() && entry.inclusion_proof.is_none() {
        return Err(Error::MalformedBundle(
            "log entry has neither an inclusion promise nor an inclusion proof".into(),
        ));
    }
    if let Some(promise) = &entry.inclusion_promise {
        let set = B64
            .decode(&promise.signed_entry_timestamp)
            .map_err(|_| Error::BadSet)?;
        rekor::verify_set(
            log,
            &entry.canonicalized_body,
            entry.integrated_time,
            entry.log_index,
            &set,
        )?;
    }
    if let Some(proof) = &entry.inclusion_proof {
        let bad = |m: &str| Error::BadInclusionProof(m.to_string());
        let hashes = proof
            .hashes
            .iter()
            .map(|h| B64.decode(h).map_err(|_| bad("hash is not base64")))
            .collect::<Result<Vec<_>>>()?;
        let root_hash = B64
            .decode(&proof.root_hash)
            .map_err(|_| bad("root hash is not base64"))?;
        let index = u64::try_from(proof.log_index).map_err(|_| bad("negative index"))?;
        let size = u64::try_from(proof.tree_size).map_err(|_| bad("negative tree size"))?;
        rekor::verify_inclusion(rekor::leaf_hash(&body), index, size, &hashes, &root_hash)?;
        rekor::verify_checkpoint(log, &proof.checkpoint.envelope, size, &root_hash)?;
    }
    Ok(entry.integrated_time)
}
