//! cosign's "simple signing" payload for container images: building the exact bytes cosign
//! signs, signing them, and verifying a signature plus the payload's claims.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::gojson;
use crate::keys::{PrivateKey, PublicKey};

/// The `critical.type` of every cosign image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// Media type of a simple-signing payload layer.
pub const MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Build the payload bytes cosign signs for `docker_reference` (the repository, without tag or
/// digest) at `manifest_digest` (`sha256:<hex>`). `annotations` become the `optional` object;
/// `None` or an empty map write `"optional":null`, as cosign does.
pub fn payload(
    docker_reference: &str,
    manifest_digest: &str,
    annotations: Option<&Map<String, Value>>,
) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(r#"{"critical":{"identity":{"docker-reference":"#);
    gojson::write_string(&mut out, docker_reference);
    out.push_str(r#"},"image":{"docker-manifest-digest":"#);
    gojson::write_string(&mut out, manifest_digest);
    out.push_str(r#"},"type":"#);
    gojson::write_string(&mut out, SIGNATURE_TYPE);
    out.push_str(r#"},"optional":"#);
    match annotations {
        Some(map) if !map.is_empty() => gojson::write_value(&mut out, &Value::Object(map.clone())),
        _ => out.push_str("null"),
    }
    out.push('}');
    out.into_bytes()
}

/// Sign `payload` with `key`; returns the base64 signature cosign stores in the
/// `dev.cosignproject.cosign/signature` annotation.
pub fn sign(key: &PrivateKey, payload: &[u8]) -> Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(key.sign(payload)?))
}

/// The claims of a verified simple-signing payload.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
    /// `optional`, or an empty map when it is null or absent.
    pub annotations: Map<String, Value>,
}

/// Look a key up the way Go's `encoding/json` matches struct fields: exact match first, then
/// ASCII case-insensitive.
fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn object<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>> {
    match get_ci(map, key) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(_) => Err(Error::MalformedPayload(format!("{key:?} is not an object"))),
        None => Err(Error::MalformedPayload(format!("{key:?} is missing"))),
    }
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str> {
    match get_ci(map, key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::MalformedPayload(format!("{key:?} is not a string"))),
        None => Err(Error::MalformedPayload(format!("{key:?} is missing"))),
    }
}

/// Parse a simple-signing payload (without checking any signature).
pub fn parse(payload: &[u8]) -> Result<SimpleSigning> {
    let root: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::MalformedPayload(format!("not JSON: {e}")))?;
    let Value::Object(root) = root else {
        return Err(Error::MalformedPayload("not a JSON object".to_string()));
    };
    let critical = object(&root, "critical")?;
    let kind = string(critical, "type")?;
    if kind != SIGNATURE_TYPE {
        return Err(Error::MalformedPayload(format!(
            "type is {kind:?}, expected {SIGNATURE_TYPE:?}"
        )));
    }
    let docker_reference = string(object(critical, "identity")?, "docker-reference")?.to_string();
    let manifest_digest = string(object(critical, "image")?, "docker-manifest-digest")?.to_string();
    let annotations = match get_ci(&root, "optional") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(Error::MalformedPayload(
                "\"optional\" is not an object".to_string(),
            ))
        }
    };
    Ok(SimpleSigning {
        docker_reference,
        manifest_digest,
        annotations,
    })
}

/// What a verifier requires of a simple-signing payload beyond a valid signature.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// The image manifest digest being verified (`sha256:<hex>`).
    pub manifest_digest: String,
    /// Annotations that must be present in `optional` with exactly these string values.
    pub annotations: BTreeMap<String, String>,
}

/// Verify a cosign image signature: `signature_b64` must verify over the exact `payload` bytes
/// with `key`, the payload must name `expected.manifest_digest`, and carry every required
/// annotation. Returns the payload's claims.
pub fn verify(
    payload: &[u8],
    signature_b64: &str,
    key: &PublicKey,
    expected: &Expectations,
) -> Result<SimpleSigning> {
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|e| Error::BadSignature(format!("signature is not base64: {e}")))?;
    key.verify(payload, &sig)?;
    let claims = parse(payload)?;
    if claims.manifest_digest != expected.manifest_digest {
        return Err(Error::DigestMismatch {
            expected: expected.manifest_digest.clone(),
            found: claims.manifest_digest,
        });
    }
    for (k, want) in &expected.annotations {
        let found = claims.annotations.get(k).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        if found.as_deref() != Some(want.as_str()) {
            return Err(Error::AnnotationMismatch {
                key: k.clone(),
                expected: want.clone(),
                found,
            });
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_with_annotations_sorts_keys_and_escapes_like_go() {
        let mut ann = Map::new();
        ann.insert("z".into(), Value::String("last".into()));
        ann.insert("a".into(), Value::String("<first>".into()));
        let bytes = payload("example.com/app", "sha256:00", Some(&ann));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"example.com/app"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":{"a":"\u003cfirst\u003e","z":"last"}}"#
        );
    }

    #[test]
    fn payload_keys_are_read_case_insensitively() {
        let text = br#"{"Critical":{"IDENTITY":{"Docker-Reference":"r"},"image":{"docker-manifest-digest":"sha256:ab"},"Type":"cosign container image signature"},"Optional":{"k":"v"}}"#;
        let claims = parse(text).unwrap();
        assert_eq!(claims.docker_reference, "r");
        assert_eq!(claims.manifest_digest, "sha256:ab");
        assert_eq!(claims.annotations["k"], "v");
    }

    #[test]
    fn payload_of_another_type_is_malformed() {
        let text = br#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"something else"},"optional":null}"#;
        assert!(matches!(
            parse(text).unwrap_err(),
            Error::MalformedPayload(_)
        ));
        assert!(matches!(
            parse(b"[1]").unwrap_err(),
            Error::MalformedPayload(_)
        ));
        assert!(matches!(
            parse(b"{").unwrap_err(),
            Error::MalformedPayload(_)
        ));
    }
}
