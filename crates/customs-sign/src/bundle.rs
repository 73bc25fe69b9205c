//! Sigstore bundles: the v0.1–v0.3 JSON format, writing v0.3 bundles, and verifying bundles
//! (message signatures and DSSE, keyed or keyless, Rekor v1 and v2, RFC 3161 timestamps) fully
//! offline against a trusted root, as the Sigstore client specification asks.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::certs::{self, CertificateIdentity, ParsedCertificate};
use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::intoto::{self, AttestationCheck, Statement};
use crate::keys::HashAlg;
use crate::keys::PublicKey;
use crate::rekor::{self, Signer};
use crate::timestamp;
use crate::trusted_root::TrustedRoot;

/// Media type of a v0.3 bundle (what customs writes).
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Media types of older bundles, accepted when verifying.
pub const MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// See [`MEDIA_TYPE_V01`].
pub const MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decode a protobuf `bytes` field as protojson (Go) does: standard or URL-safe alphabet,
/// padding optional, line breaks ignored.
pub fn proto_b64(s: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let cleaned: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    if cleaned.contains(['-', '_']) {
        URL.decode(cleaned)
    } else {
        STD.decode(cleaned)
    }
}

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

fn is_zero(n: &i64) -> bool {
    *n == 0
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
    /// A message signature over an artifact (blobs; `hashedrekord` log entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
}

/// `{"messageDigest": {...}, "signature": "<base64>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    /// The artifact digest: an unauthenticated hint, checked against the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    /// Base64 signature over the artifact.
    pub signature: String,
}

/// `{"algorithm": "SHA2_256", "digest": "<base64>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HashOutput {
    /// Sigstore hash algorithm name, e.g. `SHA2_256`.
    pub algorithm: String,
    /// Base64 digest.
    pub digest: String,
}

/// `{"rfc3161Timestamps": [{"signedTimestamp": "<base64 DER>"}]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampVerificationData {
    /// RFC 3161 timestamp responses over the signature.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub rfc3161_timestamps: Vec<Rfc3161Timestamp>,
}

/// One RFC 3161 timestamp.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rfc3161Timestamp {
    /// Base64 DER `TimeStampResp`.
    pub signed_timestamp: String,
}

/// `{"kind": "hashedrekord", "version": "0.0.1"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindVersion {
    /// Entry kind.
    pub kind: String,
    /// Entry version.
    pub version: String,
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
    /// RFC 3161 timestamps over the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
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
    /// Entry kind and version (e.g. dsse 0.0.1); no signature covers it, so it must agree with
    /// the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_version: Option<KindVersion>,
    /// Time of inclusion, unix seconds, as the bundle states it. Covered only by a SET; Rekor v2
    /// entries have none (0).
    #[serde(default, deserialize_with = "int64", skip_serializing_if = "is_zero")]
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
    /// The signed checkpoint (required from bundle v0.2 on; v0.1 bundles may lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointText>,
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

    /// The bundle format version: 1, 2 or 3 (for v0.1–v0.3).
    pub fn minor_version(&self) -> u8 {
        match self.media_type.as_str() {
            MEDIA_TYPE_V01 => 1,
            MEDIA_TYPE_V02 => 2,
            _ => 3,
        }
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
            (None, Some(chain)) => {
                let Some(first) = chain.certificates.first() else {
                    return Err(Error::MalformedBundle("empty certificate chain".into()));
                };
                // Trust anchors come from the trusted root only: a root certificate shipped in the
                // bundle is refused rather than ignored.
                for c in &chain.certificates[1..] {
                    let der = proto_b64(&c.raw_bytes).map_err(|_| {
                        Error::MalformedBundle("chain certificate is not base64".into())
                    })?;
                    if ParsedCertificate::from_der(&der)?.is_self_issued() {
                        return Err(Error::UntrustedCertificate(
                            "the bundle's certificate chain contains a root certificate; roots come only from the trusted root".into(),
                        ));
                    }
                }
                &first.raw_bytes
            }
            (None, None) => return Ok(None),
        };
        let der = proto_b64(raw)
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
    /// Keyless verification by regular expressions (or a mix); checked in addition to
    /// `identity` when both are given.
    pub identity_matcher: Option<certs::IdentityMatcher>,
    /// Accept a bundle without transparency-log entries (keyed only, like cosign's
    /// `--insecure-ignore-tlog`). Entries that are present are still verified.
    pub insecure_ignore_tlog: bool,
    /// Checks on the in-toto statement (subject digest, predicate type).
    pub attestation: AttestationCheck,
}

/// Options of [`verify`] beyond the [`BundlePolicy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Accept a certificate without a verified SCT (cosign's `--insecure-ignore-sct`). Without
    /// it, a trusted root that lists no CT logs makes keyless verification fail.
    pub insecure_ignore_sct: bool,
    /// The current time (unix seconds) for the "not in the future" check; `None` reads the clock.
    pub now: Option<i64>,
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The verified in-toto statement.
    pub statement: Statement,
    /// Earliest trusted signing time (a verified SET's integrated time or TSA time), unix seconds.
    pub integrated_time: Option<i64>,
    /// Number of log entries that verified.
    pub verified_tlog_entries: usize,
    /// For keyless bundles, the certificate's SANs.
    pub certificate_identities: Vec<String>,
}

/// What was signed, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedContent {
    /// A message signature over the artifact with this SHA-256.
    MessageSignature {
        /// SHA-256 of the artifact.
        artifact_sha256: [u8; 32],
    },
    /// A DSSE envelope.
    Dsse {
        /// Its payload type.
        payload_type: String,
        /// Its verified payload.
        payload: Vec<u8>,
    },
}

/// A signing time and who vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningTime {
    /// Unix seconds.
    pub time: i64,
    /// e.g. `Rekor SET (log index 123)` or `RFC 3161 timestamp from https://…`.
    pub source: String,
}

/// Everything [`verify`] established, and which evidence it checked or found absent.
#[derive(Debug, Clone)]
pub struct Verification {
    /// What was signed.
    pub content: VerifiedContent,
    /// Every trusted signing time (verified SETs and RFC 3161 timestamps).
    pub signing_times: Vec<SigningTime>,
    /// Number of transparency-log entries that verified.
    pub verified_tlog_entries: usize,
    /// For keyless bundles, the certificate's SANs.
    pub certificate_identities: Vec<String>,
    /// For keyless bundles, the certificate's OIDC issuer.
    pub certificate_issuer: Option<String>,
    /// One line per kind of evidence: `checked: …` or `absent: …`.
    pub evidence: Vec<String>,
}

/// The wall clock, on purpose not the run's `SOURCE_DATE_EPOCH` clock: "a log time in the
/// future" must be judged against real time, or a reproducible build date would let a forged
/// future entry through.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(i64::MAX)
}

/// Allowed clock skew for "the log integrated this entry in the future".
const FUTURE_SKEW_SECS: i64 = 60;

/// Verify `bundle` offline against `root`, following the Sigstore client specification:
/// - the signature (message signature over the artifact with SHA-256 `artifact_sha256`, or a
///   DSSE envelope, whose in-toto subject must then include that digest), with the policy key or
///   the certificate's key;
/// - every transparency-log entry: a known log, a body that records this signature and whose
///   kind/version is the stated one, an inclusion proof with a signed checkpoint (required from
///   bundle v0.2 on), a SET (required in v0.1);
/// - every RFC 3161 timestamp, against the trusted root's timestamp authorities;
/// - for certificates: the signing time comes only from a verified SET or timestamp (never from
///   an unsigned `integratedTime`), and at each such time the certificate chains to a trusted CA,
///   carries a verified SCT and was valid; then its identity.
///
/// `artifact_sha256` may be `None` only for DSSE bundles (the caller checks the statement).
pub fn verify(
    bundle: &Bundle,
    root: &TrustedRoot,
    policy: &BundlePolicy,
    options: &VerifyOptions,
    artifact_sha256: Option<&[u8; 32]>,
) -> Result<Verification> {
    let version = bundle.minor_version();
    let cert = bundle.leaf_certificate()?;
    let key = match (&cert, &policy.key) {
        (Some(c), _) => {
            if policy.identity.is_none()
                && policy.identity_matcher.is_none()
                && policy.key.is_none()
            {
                return Err(Error::Policy(
                    "a keyless bundle needs an expected certificate identity and issuer".into(),
                ));
            }
            let k = c.public_key()?;
            if let Some(expected) = &policy.key {
                if expected != &k {
                    return Err(Error::BadSignature(
                        "the bundle's certificate holds another key than the one given".into(),
                    ));
                }
            }
            k
        }
        (None, Some(k)) => k.clone(),
        (None, None) => {
            return Err(Error::Policy(
                "the bundle names a public key: a verification key is required".into(),
            ))
        }
    };
    let mut evidence = Vec::new();

    // The signature, and what it covers.
    let (content, signature) = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(ms), None) => {
            let sig = proto_b64(&ms.signature)
                .map_err(|_| Error::BadSignature("message signature is not base64".into()))?;
            let digest = artifact_sha256.ok_or_else(|| {
                Error::Policy("a message-signature bundle needs the artifact or its digest".into())
            })?;
            if let Some(md) = &ms.message_digest {
                let stated = proto_b64(&md.digest)
                    .map_err(|_| Error::MalformedBundle("messageDigest is not base64".into()))?;
                if md.algorithm != "SHA2_256" || stated != digest.as_slice() {
                    return Err(Error::DigestMismatch {
                        expected: format!("sha256:{}", hex::encode(digest)),
                        found: format!("{} {}", md.algorithm, hex::encode(&stated)),
                    });
                }
            }
            key.verify_digest(HashAlg::Sha256, digest, &sig)?;
            evidence.push("checked: message signature over the artifact's sha256".to_string());
            (
                VerifiedContent::MessageSignature {
                    artifact_sha256: *digest,
                },
                sig,
            )
        }
        (None, Some(env)) => {
            if env.signatures.len() != 1 {
                return Err(Error::MalformedEnvelope(format!(
                    "a bundle's DSSE envelope must have exactly one signature, it has {}",
                    env.signatures.len()
                )));
            }
            let payload = env.verify(&key)?;
            let sig = proto_b64(&env.signatures[0].sig)
                .map_err(|_| Error::BadSignature("DSSE signature is not base64".into()))?;
            if let Some(digest) = artifact_sha256 {
                if env.payload_type != crate::dsse::INTOTO_PAYLOAD_TYPE {
                    return Err(Error::MalformedStatement(format!(
                        "DSSE payload type {:?} names no subjects to match the artifact against",
                        env.payload_type
                    )));
                }
                let check = AttestationCheck {
                    sha256: Some(hex::encode(digest)),
                    predicate_type: policy.attestation.predicate_type.clone(),
                };
                intoto::statement_of_verified(env, &payload, &check)?;
            }
            evidence.push("checked: DSSE envelope signature".to_string());
            (
                VerifiedContent::Dsse {
                    payload_type: env.payload_type.clone(),
                    payload,
                },
                sig,
            )
        }
        (Some(_), Some(_)) => {
            return Err(Error::MalformedBundle(
                "bundle has both a message signature and a DSSE envelope".into(),
            ))
        }
        (None, None) => {
            return Err(Error::MalformedBundle(
                "bundle has neither a message signature nor a DSSE envelope".into(),
            ))
        }
    };
    let signed = match &content {
        VerifiedContent::MessageSignature { artifact_sha256 } => {
            rekor::SignedContent::Message { artifact_sha256 }
        }
        VerifiedContent::Dsse {
            payload_type,
            payload,
        } => rekor::SignedContent::Dsse {
            payload_type,
            payload,
        },
    };
    let signer = match &cert {
        Some(c) => Signer::Certificate(&c.der),
        None => Signer::Key(&key),
    };

    // RFC 3161 timestamps: each one present must verify.
    let mut times = Vec::new();
    let stamps = bundle
        .verification_material
        .timestamp_verification_data
        .as_ref()
        .map(|t| t.rfc3161_timestamps.as_slice())
        .unwrap_or_default();
    for (i, ts) in stamps.iter().enumerate() {
        let der = proto_b64(&ts.signed_timestamp)
            .map_err(|_| Error::BadTimestamp(format!("timestamp #{i} is not base64")))?;
        let v = timestamp::verify_timestamp(&der, &signature, &root.timestamp_authorities)?;
        times.push(SigningTime {
            time: v.time,
            source: format!("RFC 3161 timestamp from {}", v.authority),
        });
    }
    if stamps.is_empty() {
        evidence.push("absent: RFC 3161 timestamp".to_string());
    } else {
        evidence.push(format!("checked: {} RFC 3161 timestamp(s)", stamps.len()));
    }
    let tsa_times: Vec<i64> = times.iter().map(|t| t.time).collect();

    // Transparency-log entries.
    let now = options.now.unwrap_or_else(now_unix);
    let mut verified_entries = 0;
    for entry in &bundle.verification_material.tlog_entries {
        let set_time = verify_tlog_entry(
            entry, root, version, signed, &signature, &signer, &tsa_times, now,
        )?;
        verified_entries += 1;
        if let Some(t) = set_time {
            times.push(SigningTime {
                time: t,
                source: format!("Rekor SET (log index {})", entry.log_index),
            });
        }
    }
    let with_set = times.len() - tsa_times.len();
    if bundle.verification_material.tlog_entries.is_empty() {
        evidence.push("absent: transparency-log entry".to_string());
    } else {
        evidence.push(format!(
            "checked: {verified_entries} transparency-log entr{} (inclusion proof and checkpoint{})",
            if verified_entries == 1 { "y" } else { "ies" },
            if with_set > 0 { ", SET" } else { "" }
        ));
    }

    let mut identities = Vec::new();
    let mut issuer = None;
    if let Some(cert) = &cert {
        if verified_entries == 0 {
            return Err(Error::MissingTlogEntry);
        }
        if times.is_empty() {
            return Err(Error::NoTrustedTime);
        }
        for t in &times {
            certs::verify_chain_with(cert, root, t.time, !options.insecure_ignore_sct).map_err(
                |e| match e {
                    Error::CertificateNotValidAt { time, detail } => Error::CertificateNotValidAt {
                        time,
                        detail: format!("{detail} (signing time from {})", t.source),
                    },
                    other => other,
                },
            )?;
        }
        evidence.push(format!(
            "checked: certificate chain{} at {} trusted signing time(s)",
            if options.insecure_ignore_sct {
                ""
            } else {
                " and SCT"
            },
            times.len()
        ));
        if let Some(identity) = &policy.identity {
            certs::check_identity(cert, identity)?;
        }
        if let Some(matcher) = &policy.identity_matcher {
            certs::check_identity_matcher(cert, matcher)?;
        }
        if policy.identity.is_some() || policy.identity_matcher.is_some() {
            evidence.push("checked: certificate identity and issuer".to_string());
        }
        identities = cert.identities();
        issuer = cert.oidc_issuer();
    } else if verified_entries == 0 && !policy.insecure_ignore_tlog {
        return Err(Error::MissingTlogEntry);
    }

    Ok(Verification {
        content,
        signing_times: times,
        verified_tlog_entries: verified_entries,
        certificate_identities: identities,
        certificate_issuer: issuer,
        evidence,
    })
}

/// Verify a DSSE bundle offline (images and attestations: the artifact is checked through
/// `policy.attestation`), see [`verify`].
pub fn verify_bundle(
    bundle: &Bundle,
    root: &TrustedRoot,
    policy: &BundlePolicy,
) -> Result<VerifiedBundle> {
    verify_bundle_with(bundle, root, policy, &VerifyOptions::default())
}

/// [`verify_bundle`] with [`VerifyOptions`] (e.g. `--insecure-ignore-sct`).
pub fn verify_bundle_with(
    bundle: &Bundle,
    root: &TrustedRoot,
    policy: &BundlePolicy,
    options: &VerifyOptions,
) -> Result<VerifiedBundle> {
    let envelope = bundle
        .dsse_envelope
        .as_ref()
        .ok_or_else(|| Error::MalformedBundle("expected a DSSE bundle (no dsseEnvelope)".into()))?;
    let v = verify(bundle, root, policy, options, None)?;
    let VerifiedContent::Dsse { payload, .. } = &v.content else {
        return Err(Error::MalformedBundle("expected a DSSE bundle".into()));
    };
    let statement = intoto::statement_of_verified(envelope, payload, &policy.attestation)?;
    Ok(VerifiedBundle {
        statement,
        integrated_time: v.signing_times.iter().map(|t| t.time).min(),
        verified_tlog_entries: v.verified_tlog_entries,
        certificate_identities: v.certificate_identities,
    })
}

/// Verify one Rekor entry; returns its integrated time when a SET vouches for it.
#[allow(clippy::too_many_arguments)]
fn verify_tlog_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    bundle_version: u8,
    signed: rekor::SignedContent<'_>,
    signature: &[u8],
    signer: &Signer<'_>,
    tsa_times: &[i64],
    now: i64,
) -> Result<Option<i64>> {
    if entry.log_index < 0 {
        return Err(Error::MalformedBundle(format!(
            "negative log index {}",
            entry.log_index
        )));
    }
    let log_id = proto_b64(&entry.log_id.key_id)
        .map_err(|_| Error::MalformedBundle("logId is not base64".into()))?;
    let log = root
        .tlog(&log_id)
        .ok_or_else(|| Error::UnknownLog(B64.encode(&log_id)))?;
    let body = proto_b64(&entry.canonicalized_body)
        .map_err(|_| Error::MalformedBundle("canonicalizedBody is not base64".into()))?;
    let kind_version = entry
        .kind_version
        .as_ref()
        .map(|kv| (kv.kind.as_str(), kv.version.as_str()));
    if kind_version.is_none() && bundle_version >= 2 {
        return Err(Error::MalformedBundle(
            "log entry without kindVersion".into(),
        ));
    }
    rekor::check_entry(&body, kind_version, signed, signature, signer)?;

    if bundle_version == 1 && entry.inclusion_promise.is_none() {
        return Err(Error::MalformedBundle(
            "a v0.1 bundle's log entry must carry an inclusion promise (SET)".into(),
        ));
    }
    if bundle_version >= 2 && entry.inclusion_proof.is_none() {
        return Err(Error::BadInclusionProof(
            "a v0.2+ bundle's log entry must carry an inclusion proof".into(),
        ));
    }
    let unknown_at = |t: i64, why: String| {
        Error::UnknownLog(format!(
            "{} was not valid at {t}: {why}",
            B64.encode(&log_id)
        ))
    };
    let mut set_time = None;
    if let Some(promise) = &entry.inclusion_promise {
        let set = proto_b64(&promise.signed_entry_timestamp).map_err(|_| Error::BadSet)?;
        rekor::verify_set(
            log,
            &entry.canonicalized_body,
            entry.integrated_time,
            entry.log_index,
            &set,
        )?;
        if let Some(why) = log.valid_for.why_outside(entry.integrated_time) {
            return Err(unknown_at(entry.integrated_time, why));
        }
        if entry.integrated_time > now + FUTURE_SKEW_SECS {
            return Err(Error::MalformedBundle(format!(
                "the log says it integrated the entry at {}, in the future",
                entry.integrated_time
            )));
        }
        set_time = Some(entry.integrated_time);
    } else {
        // No SET: nothing vouches for integratedTime, so the log key's window is checked at the
        // timestamps instead (Rekor v2), and some must exist.
        if tsa_times.is_empty() {
            return Err(Error::NoTrustedTime);
        }
        for &t in tsa_times {
            if let Some(why) = log.valid_for.why_outside(t) {
                return Err(unknown_at(t, why));
            }
        }
    }
    if let Some(proof) = &entry.inclusion_proof {
        let bad = |m: &str| Error::BadInclusionProof(m.to_string());
        let hashes = proof
            .hashes
            .iter()
            .map(|h| proto_b64(h).map_err(|_| bad("hash is not base64")))
            .collect::<Result<Vec<_>>>()?;
        let root_hash = proto_b64(&proof.root_hash).map_err(|_| bad("root hash is not base64"))?;
        let index = u64::try_from(proof.log_index).map_err(|_| bad("negative index"))?;
        let size = u64::try_from(proof.tree_size).map_err(|_| bad("negative tree size"))?;
        rekor::verify_inclusion(rekor::leaf_hash(&body), index, size, &hashes, &root_hash)?;
        match &proof.checkpoint {
            Some(cp) => {
                rekor::verify_checkpoint(log, &cp.envelope, size, &root_hash)?;
            }
            // v0.1 relies on its SET (required above); the proof's root hash is then unsigned.
            None if bundle_version == 1 => {}
            None => {
                return Err(Error::BadCheckpoint(
                    "a v0.2+ bundle's inclusion proof must carry a signed checkpoint".into(),
                ))
            }
        }
    }
    Ok(set_time)
}
