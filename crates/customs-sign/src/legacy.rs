//! Classic cosign `.sig` layers (what cosign ≤ 2.x writes and most signed public images carry):
//! the transparency-log evidence in the `dev.sigstore.cosign/bundle` annotation (a Rekor SET)
//! and, for keyless signatures, the Fulcio certificate in `dev.sigstore.cosign/certificate`.
//!
//! The rules are the bundle verifier's: a SET that is present must verify (a forged one is
//! refused, also for keyed signatures); a keyless signature's time comes only from that SET;
//! the certificate chains to the trusted root at that time, with a verified SCT, and has the
//! expected identity. The `dev.sigstore.cosign/chain` annotation is not trusted: the chain is
//! rebuilt from the trusted root's certificate authorities.

use std::collections::BTreeMap;

use crate::certs::{self, IdentityMatcher, ParsedCertificate};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::layout::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION};
use crate::pem;
use crate::rekor::{self, Signer};
use crate::trusted_root::TrustedRoot;

/// What a `.sig` layer's evidence established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEvidence {
    /// The verified SET's integrated time and log index, when the layer carries one.
    pub tlog: Option<rekor::VerifiedEntry>,
    /// For keyless layers, the certificate's SANs.
    pub certificate_identities: Vec<String>,
}

/// Keyed: check the layer's tlog evidence for `payload` signed (`signature_b64`) by `key`. A
/// bundle annotation must verify against `root`'s Rekor keys; without one, the layer is refused
/// when `require_tlog`.
pub fn check_keyed_layer(
    payload: &[u8],
    signature_b64: &str,
    annotations: &BTreeMap<String, String>,
    key: &PublicKey,
    root: &TrustedRoot,
    require_tlog: bool,
) -> Result<LayerEvidence> {
    let tlog = match annotations.get(BUNDLE_ANNOTATION) {
        Some(bundle) => Some(rekor::verify_cosign_bundle_annotation(
            bundle,
            &root.tlogs,
            payload,
            signature_b64.trim(),
            &Signer::Key(key),
        )?),
        None if require_tlog => return Err(Error::MissingTlogEntry),
        None => None,
    };
    Ok(LayerEvidence {
        tlog,
        certificate_identities: Vec::new(),
    })
}

/// The signing certificate of a keyless `.sig` layer, if it carries one.
pub fn layer_certificate(
    annotations: &BTreeMap<String, String>,
) -> Result<Option<ParsedCertificate>> {
    let Some(text) = annotations.get(CERTIFICATE_ANNOTATION) else {
        return Ok(None);
    };
    let block = pem::parse_one(text)?;
    if block.label != "CERTIFICATE" {
        return Err(Error::MalformedCertificate(format!(
            "{CERTIFICATE_ANNOTATION} holds a {:?} block",
            block.label
        )));
    }
    ParsedCertificate::from_der(&block.contents).map(Some)
}

/// Keyless: verify a `.sig` layer whose certificate annotation holds `cert`: the signature over
/// `payload` with the certificate's key, the SET of the bundle annotation (required: it is the
/// only signing time), the chain and SCT at that time, and the identity.
pub fn check_keyless_layer(
    payload: &[u8],
    signature_b64: &str,
    annotations: &BTreeMap<String, String>,
    cert: &ParsedCertificate,
    root: &TrustedRoot,
    identity: impl Into<IdentityMatcher>,
    require_sct: bool,
) -> Result<LayerEvidence> {
    let sig = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        signature_b64.trim(),
    )
    .map_err(|e| Error::BadSignature(format!("signature is not base64: {e}")))?;
    cert.public_key()?.verify(payload, &sig)?;
    let bundle = annotations
        .get(BUNDLE_ANNOTATION)
        .ok_or(Error::NoTrustedTime)?;
    let entry = rekor::verify_cosign_bundle_annotation(
        bundle,
        &root.tlogs,
        payload,
        signature_b64.trim(),
        &Signer::Certificate(&cert.der),
    )?;
    certs::verify_chain_with(cert, root, entry.integrated_time, require_sct)?;
    certs::check_identity_matcher(cert, &identity.into())?;
    Ok(LayerEvidence {
        tlog: Some(entry),
        certificate_identities: cert.identities(),
    })
}

/// Keyless: verify a classic `.att` layer (cosign ≤ 2.x `attest` without a key): `envelope_json`
/// is the layer's DSSE envelope, `cert` its certificate annotation. The envelope's one signature
/// must verify with the certificate's key; the bundle annotation's SET (required: the only
/// signing time) must vouch for an entry recording that signature over the payload; the chain
/// and SCT must hold at that time, and the identity must match. Returns the verified payload.
pub fn check_keyless_attestation_layer(
    envelope_json: &[u8],
    annotations: &BTreeMap<String, String>,
    cert: &ParsedCertificate,
    root: &TrustedRoot,
    identity: impl Into<IdentityMatcher>,
    require_sct: bool,
) -> Result<(Vec<u8>, LayerEvidence)> {
    let envelope = crate::dsse::Envelope::from_json(envelope_json)?;
    if envelope.signatures.len() != 1 {
        return Err(Error::MalformedEnvelope(format!(
            "a keyless attestation must have exactly one signature, it has {}",
            envelope.signatures.len()
        )));
    }
    let payload = envelope.verify(&cert.public_key()?)?;
    let bundle = annotations
        .get(BUNDLE_ANNOTATION)
        .ok_or(Error::NoTrustedTime)?;
    let entry = rekor::verify_cosign_bundle_annotation(
        bundle,
        &root.tlogs,
        &payload,
        envelope.signatures[0].sig.trim(),
        &Signer::Certificate(&cert.der),
    )?;
    certs::verify_chain_with(cert, root, entry.integrated_time, require_sct)?;
    certs::check_identity_matcher(cert, &identity.into())?;
    Ok((
        payload,
        LayerEvidence {
            tlog: Some(entry),
            certificate_identities: cert.identities(),
        },
    ))
}
