//! in-toto attestation statements: building a Statement v1 for `customs attest`, mapping cosign's
//! `--type` names to predicate-type URIs, and checking a verified statement's claims.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsse::{Envelope, INTOTO_PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::keys::PublicKey;

/// `_type` of an in-toto Statement v1 (what customs writes).
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of an in-toto Statement v0.1 (what cosign writes; accepted when verifying).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";

/// cosign's predicate type for `--type custom`.
pub const PREDICATE_CUSTOM: &str = "https://cosign.sigstore.dev/attestation/v1";
/// cosign's predicate type for `--type vuln`.
pub const PREDICATE_VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
/// SLSA provenance v0.2 (`--type slsaprovenance` / `slsaprovenance02`).
pub const PREDICATE_SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
/// SLSA provenance v1 (`--type slsaprovenance1`).
pub const PREDICATE_SLSA_V1: &str = "https://slsa.dev/provenance/v1";
/// SPDX (`--type spdx` / `spdxjson`).
pub const PREDICATE_SPDX: &str = "https://spdx.dev/Document";
/// CycloneDX (`--type cyclonedx`).
pub const PREDICATE_CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// in-toto link (`--type link`).
pub const PREDICATE_LINK: &str = "https://in-toto.io/Link/v1";
/// OpenVEX (`--type openvex`).
pub const PREDICATE_OPENVEX: &str = "https://openvex.dev/ns";

/// Map a cosign `--type` value to its predicate-type URI. Known short names map as cosign maps
/// them; any other value must itself be a URI (`scheme://...`) and is used as is.
pub fn predicate_type_uri(kind: &str) -> Result<String> {
    let uri = match kind {
        "custom" => PREDICATE_CUSTOM,
        "slsaprovenance" | "slsaprovenance02" => PREDICATE_SLSA_V02,
        "slsaprovenance1" => PREDICATE_SLSA_V1,
        "spdx" | "spdxjson" => PREDICATE_SPDX,
        "cyclonedx" => PREDICATE_CYCLONEDX,
        "link" => PREDICATE_LINK,
        "vuln" => PREDICATE_VULN,
        "openvex" => PREDICATE_OPENVEX,
        other => {
            let is_uri = other.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && !rest.is_empty()
                    && !rest.chars().any(char::is_whitespace)
            });
            if !is_uri {
                return Err(Error::UnknownPredicateType(other.to_string()));
            }
            other
        }
    };
    Ok(uri.to_string())
}

/// Turn the raw predicate file into the statement's `predicate` value as cosign does for `kind`:
/// `custom` wraps the text as `{"Data": <text>, "Timestamp": <timestamp>}`, `spdx` keeps it as a
/// string, every other type must be JSON. `timestamp` is RFC 3339 UTC (e.g. `2025-02-28T19:18:11Z`).
pub fn predicate_from_file(kind: &str, raw: &[u8], timestamp: &str) -> Result<Value> {
    let text = || {
        String::from_utf8(raw.to_vec())
            .map_err(|_| Error::MalformedStatement("predicate is not UTF-8".to_string()))
    };
    match kind {
        "custom" => Ok(serde_json::json!({ "Data": text()?, "Timestamp": timestamp })),
        "spdx" => Ok(Value::String(text()?)),
        _ => serde_json::from_slice(raw)
            .map_err(|e| Error::MalformedStatement(format!("predicate is not JSON: {e}"))),
    }
}

/// One subject: a name and its digests by algorithm (`sha256` → hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Subject name (cosign writes the repository).
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm name.
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
    /// Annotations about the subject: where cosign v3 puts `sign -a k=v` in a bundle's
    /// statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, Value>>,
}

/// An in-toto statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1` or `.../v0.1`.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The predicate-type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What the statement is about.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub subject: Vec<Subject>,
    /// The predicate itself.
    #[serde(default)]
    pub predicate: Value,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Subject>, D::Error> {
    Ok(Option::<Vec<Subject>>::deserialize(d)?.unwrap_or_default())
}

impl Statement {
    /// A Statement v1 about one subject `name` with sha256 digest `sha256` (hex, with or without
    /// the `sha256:` prefix).
    pub fn new(name: &str, sha256: &str, predicate_type: &str, predicate: Value) -> Statement {
        let hex = sha256.strip_prefix("sha256:").unwrap_or(sha256);
        Statement {
            statement_type: STATEMENT_V1.to_string(),
            predicate_type: predicate_type.to_string(),
            subject: vec![Subject {
                name: name.to_string(),
                digest: BTreeMap::from([("sha256".to_string(), hex.to_ascii_lowercase())]),
                annotations: None,
            }],
            predicate,
        }
    }

    /// Parse a statement, accepting `_type` v1 and v0.1.
    pub fn from_json(bytes: &[u8]) -> Result<Statement> {
        let st: Statement =
            serde_json::from_slice(bytes).map_err(|e| Error::MalformedStatement(e.to_string()))?;
        if st.statement_type != STATEMENT_V1 && st.statement_type != STATEMENT_V01 {
            return Err(Error::MalformedStatement(format!(
                "unknown statement _type {:?}",
                st.statement_type
            )));
        }
        Ok(st)
    }

    /// The statement as compact JSON (the DSSE payload).
    pub fn to_json(&self) -> Vec<u8> {
        // A Value and plain strings always serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Check the statement against what the verifier asked for.
    pub fn check(&self, expected: &AttestationCheck) -> Result<()> {
        if let Some(want) = &expected.predicate_type {
            if &self.predicate_type != want {
                return Err(Error::PredicateTypeMismatch {
                    expected: want.clone(),
                    found: self.predicate_type.clone(),
                });
            }
        }
        if let Some(want) = &expected.sha256 {
            let want = want.strip_prefix("sha256:").unwrap_or(want);
            let hit = self.subject.iter().any(|s| {
                s.digest
                    .get("sha256")
                    .is_some_and(|d| d.eq_ignore_ascii_case(want))
            });
            if !hit {
                return Err(Error::SubjectMismatch {
                    expected: want.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// What a verifier requires of an attestation's statement.
#[derive(Debug, Clone, Default)]
pub struct AttestationCheck {
    /// Some subject must carry this sha256 digest (hex, `sha256:` prefix optional). `None` skips
    /// the claim check (cosign's `--check-claims=false`).
    pub sha256: Option<String>,
    /// The statement's predicate type must equal this URI.
    pub predicate_type: Option<String>,
}

/// Verify a DSSE attestation signed with `key`, then check its statement.
pub fn verify_attestation(
    envelope: &Envelope,
    key: &PublicKey,
    expected: &AttestationCheck,
) -> Result<Statement> {
    let payload = envelope.verify(key)?;
    statement_of_verified(envelope, &payload, expected)
}

/// Parse and check the statement of an envelope whose signature was already verified.
pub(crate) fn statement_of_verified(
    envelope: &Envelope,
    payload: &[u8],
    expected: &AttestationCheck,
) -> Result<Statement> {
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(Error::MalformedEnvelope(format!(
            "payload type {:?} is not {INTOTO_PAYLOAD_TYPE:?}",
            envelope.payload_type
        )));
    }
    let statement = Statement::from_json(payload)?;
    statement.check(expected)?;
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_map_to_cosign_uris() {
        assert_eq!(predicate_type_uri("custom").unwrap(), PREDICATE_CUSTOM);
        assert_eq!(
            predicate_type_uri("slsaprovenance").unwrap(),
            "https://slsa.dev/provenance/v0.2"
        );
        assert_eq!(
            predicate_type_uri("slsaprovenance1").unwrap(),
            "https://slsa.dev/provenance/v1"
        );
        assert_eq!(
            predicate_type_uri("spdxjson").unwrap(),
            "https://spdx.dev/Document"
        );
        assert_eq!(
            predicate_type_uri("cyclonedx").unwrap(),
            "https://cyclonedx.org/bom"
        );
        assert_eq!(
            predicate_type_uri("openvex").unwrap(),
            "https://openvex.dev/ns"
        );
        assert_eq!(
            predicate_type_uri("vuln").unwrap(),
            "https://cosign.sigstore.dev/attestation/vuln/v1"
        );
        assert_eq!(
            predicate_type_uri("https://example.com/p/v1").unwrap(),
            "https://example.com/p/v1"
        );
        assert!(matches!(
            predicate_type_uri("sbom").unwrap_err(),
            Error::UnknownPredicateType(_)
        ));
    }

    #[test]
    fn custom_predicate_wraps_text_with_timestamp() {
        let p = predicate_from_file("custom", b"hi\n", "2025-01-01T00:00:00Z").unwrap();
        assert_eq!(p["Data"], "hi\n");
        assert_eq!(p["Timestamp"], "2025-01-01T00:00:00Z");
        assert!(predicate_from_file("cyclonedx", b"not json", "").is_err());
    }

    #[test]
    fn new_statement_is_v1_with_one_sha256_subject() {
        let st = Statement::new("repo", "sha256:ABCD", PREDICATE_CYCLONEDX, Value::Null);
        let v: Value = serde_json::from_slice(&st.to_json()).unwrap();
        assert_eq!(v["_type"], STATEMENT_V1);
        assert_eq!(v["subject"][0]["digest"]["sha256"], "abcd");
        assert_eq!(v["predicateType"], PREDICATE_CYCLONEDX);
    }

    #[test]
    fn null_subject_reads_as_empty_and_matches_nothing() {
        let st = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x://y","subject":null}"#,
        )
        .unwrap();
        let check = AttestationCheck {
            sha256: Some("00".into()),
            predicate_type: None,
        };
        assert!(matches!(
            st.check(&check).unwrap_err(),
            Error::SubjectMismatch { .. }
        ));
    }
}
