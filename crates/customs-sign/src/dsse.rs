//! DSSE (Dead Simple Signing Envelope): the pre-authentication encoding, the envelope JSON, and
//! signing/verifying an envelope.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};

/// Payload type of an in-toto statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Media type of a DSSE envelope stored as an OCI layer.
pub const MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// The pre-authentication encoding that DSSE signatures cover:
/// `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Key hint; cosign writes an empty string.
    #[serde(default)]
    pub keyid: String,
    /// Base64 signature over the PAE.
    pub sig: String,
}

/// A DSSE envelope as JSON: `{payloadType, payload, signatures}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// Standard base64 of the payload bytes.
    pub payload: String,
    /// At least one signature.
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// Sign `payload` of type `payload_type` with `key`, giving an envelope with one signature.
    pub fn sign(key: &PrivateKey, payload_type: &str, payload: &[u8]) -> Result<Envelope> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let sig = key.sign(&pae(payload_type, payload))?;
        Ok(Envelope {
            payload_type: payload_type.to_string(),
            payload: b64.encode(payload),
            signatures: vec![Signature {
                keyid: String::new(),
                sig: b64.encode(sig),
            }],
        })
    }

    /// Parse an envelope from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope> {
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedEnvelope(e.to_string()))
    }

    /// The envelope as compact JSON (the bytes cosign stores as the `.att` layer).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings and vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The decoded payload bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(self.payload.as_bytes())
            .map_err(|e| Error::MalformedEnvelope(format!("payload is not base64: {e}")))
    }

    /// Verify that at least one signature covers the PAE with `key` (cosign's threshold of one).
    /// Returns the verified payload bytes.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>> {
        let payload = self.payload_bytes()?;
        if self.signatures.is_empty() {
            return Err(Error::MalformedEnvelope("no signatures".to_string()));
        }
        let message = pae(&self.payload_type, &payload);
        let mut last = Error::BadSignature("no signature verified".to_string());
        for s in &self.signatures {
            let sig = match base64::engine::general_purpose::STANDARD.decode(s.sig.as_bytes()) {
                Ok(sig) => sig,
                Err(e) => {
                    last = Error::BadSignature(format!("signature is not base64: {e}"));
                    continue;
                }
            };
            match key.verify(&message, &sig) {
                Ok(()) => return Ok(payload),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol description: type "http://example.com/HelloWorld", body "hello world".
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn pae_of_empty_payload_keeps_the_trailing_space() {
        assert_eq!(pae("t", b""), b"DSSEv1 1 t 0 ".to_vec());
    }

    #[test]
    fn envelope_sign_verify_round_trip_and_tamper() {
        let key = PrivateKey::generate_p256();
        let env = Envelope::sign(&key, INTOTO_PAYLOAD_TYPE, b"{}").unwrap();
        let parsed = Envelope::from_json(&env.to_json()).unwrap();
        assert_eq!(parsed.verify(&key.public_key()).unwrap(), b"{}");

        let mut other_type = parsed.clone();
        other_type.payload_type = "text/plain".into();
        assert!(matches!(
            other_type.verify(&key.public_key()).unwrap_err(),
            Error::BadSignature(_)
        ));
        let other_key = PrivateKey::generate_p256().public_key();
        assert!(matches!(
            parsed.verify(&other_key).unwrap_err(),
            Error::BadSignature(_)
        ));
    }
}
