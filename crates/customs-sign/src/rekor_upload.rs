//! Signing with a transparency log (`--rekor-url`): uploading a Rekor v1 entry for a signature
//! and turning Rekor's answer into the bundle's `tlogEntries` (SET and inclusion proof with its
//! checkpoint), as `cosign sign-blob --rekor-url` and `attest-blob` do. Off by default: customs
//! signs offline unless the user names a Rekor.
//!
//! Untested against a real Rekor: no Rekor can run on the machine customs is built on (Rekor is
//! a Go service with a database, not packaged in Debian, and the network reaches only package
//! registries). What is tested is the part that does not depend on Rekor's behaviour: the
//! proposed entries are the bodies Rekor's `hashedrekord`/`dsse` 0.0.1 types define, and
//! [`tlog_entry_from_response`] turns a response built from a real public-good entry back into
//! exactly that entry. The caller must verify the bundle it builds (the CLI does, against the
//! trusted root) before writing it: a Rekor that answers with a wrong SET or proof is refused
//! rather than recorded.
//!
//! Written here rather than taken from a crate: the `sigstore` crate's Rekor client is async
//! (tokio) and brings a dependency tree of its own, for what is one POST with reqwest's blocking
//! client, which the registry client already uses.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::bundle::{
    CheckpointText, InclusionPromise, InclusionProof, KindVersion, LogId, TlogEntry,
};
use crate::error::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What to record in the log.
#[derive(Debug, Clone, Copy)]
pub enum ProposedEntry<'a> {
    /// A message signature over an artifact (`hashedrekord` 0.0.1).
    HashedRekord {
        /// SHA-256 of the artifact.
        artifact_sha256: &'a [u8; 32],
        /// The raw (DER) signature.
        signature: &'a [u8],
        /// The signer's public key or certificate, PEM.
        verifier_pem: &'a str,
    },
    /// A DSSE envelope (`dsse` 0.0.1).
    Dsse {
        /// The envelope JSON, as stored in the bundle.
        envelope_json: &'a [u8],
        /// The signer's public key or certificate, PEM.
        verifier_pem: &'a str,
    },
}

impl ProposedEntry<'_> {
    /// The kind and version the entry is recorded as.
    pub fn kind_version(&self) -> (&'static str, &'static str) {
        match self {
            ProposedEntry::HashedRekord { .. } => ("hashedrekord", "0.0.1"),
            ProposedEntry::Dsse { .. } => ("dsse", "0.0.1"),
        }
    }

    /// The JSON body POSTed to `/api/v1/log/entries`.
    pub fn to_json(&self) -> Value {
        match self {
            ProposedEntry::HashedRekord {
                artifact_sha256,
                signature,
                verifier_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(artifact_sha256)}},
                    "signature": {
                        "content": B64.encode(signature),
                        "publicKey": {"content": B64.encode(verifier_pem)}
                    }
                }
            }),
            ProposedEntry::Dsse {
                envelope_json,
                verifier_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "proposedContent": {
                        "envelope": String::from_utf8_lossy(envelope_json),
                        "verifiers": [B64.encode(verifier_pem)]
                    }
                }
            }),
        }
    }
}

fn bad(m: impl std::fmt::Display) -> Error {
    Error::MalformedBundle(format!("Rekor response: {m}"))
}

fn hex_to_b64(field: &str, s: &str) -> Result<String> {
    hex::decode(s)
        .map(|b| B64.encode(b))
        .map_err(|_| bad(format!("{field} is not hex")))
}

/// Turns Rekor's `201 Created` answer (`{"<uuid>": {"body", "integratedTime", "logID",
/// "logIndex", "verification": {"signedEntryTimestamp", "inclusionProof"}}}`) into a bundle
/// log entry of `kind_version`. The entry is not verified here.
pub fn tlog_entry_from_response(response: &[u8], kind_version: (&str, &str)) -> Result<TlogEntry> {
    let v: Value = serde_json::from_slice(response).map_err(bad)?;
    let (_, e) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(|| bad("no entry"))?;
    let int = |v: &Value, f: &str| v.get(f).and_then(Value::as_i64).ok_or_else(|| bad(f));
    let string = |v: &Value, f: &str| {
        v.get(f)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(f))
    };
    let verification = e.get("verification").ok_or_else(|| bad("verification"))?;
    let proof = verification
        .get("inclusionProof")
        .ok_or_else(|| bad("inclusionProof"))?;
    let hashes = proof
        .get("hashes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("hashes"))?
        .iter()
        .map(|h| hex_to_b64("hash", h.as_str().unwrap_or("?")))
        .collect::<Result<Vec<_>>>()?;
    Ok(TlogEntry {
        log_index: int(e, "logIndex")?,
        log_id: LogId {
            key_id: hex_to_b64("logID", &string(e, "logID")?)?,
        },
        kind_version: Some(KindVersion {
            kind: kind_version.0.to_string(),
            version: kind_version.1.to_string(),
        }),
        integrated_time: int(e, "integratedTime")?,
        inclusion_promise: Some(InclusionPromise {
            signed_entry_timestamp: string(verification, "signedEntryTimestamp")?,
        }),
        inclusion_proof: Some(InclusionProof {
            log_index: int(proof, "logIndex")?,
            root_hash: hex_to_b64("rootHash", &string(proof, "rootHash")?)?,
            tree_size: int(proof, "treeSize")?,
            hashes,
            checkpoint: Some(CheckpointText {
                envelope: string(proof, "checkpoint")?,
            }),
        }),
        canonicalized_body: string(e, "body")?,
    })
}

/// POSTs `entry` to the Rekor at `base_url` and returns the log entry for the bundle. The URL
/// must be HTTPS, except on a loopback address.
pub fn upload(base_url: &str, entry: &ProposedEntry<'_>) -> Result<TlogEntry> {
    let base = base_url.trim_end_matches('/');
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| base.starts_with(p));
    if !base.starts_with("https://") && !loopback {
        return Err(Error::Policy(format!(
            "--rekor-url must be https:// (got {base_url})"
        )));
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| Error::Policy(format!("HTTP client: {e}")))?;
    let resp = client
        .post(format!("{base}/api/v1/log/entries"))
        .json(&entry.to_json())
        .send()
        .map_err(|e| Error::Policy(format!("uploading to {base}: {e}")))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .map_err(|e| Error::Policy(format!("reading the answer of {base}: {e}")))?;
    if status.as_u16() != 201 {
        return Err(Error::Policy(format!(
            "{base} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        )));
    }
    tlog_entry_from_response(&body, entry.kind_version())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real public-good entry (the conformance suite's happy-path-v0.3 bundle), rendered as
    /// Rekor's API renders it (hex log ID and hashes, numbers), converts back to the entry the
    /// bundle holds, field for field.
    #[test]
    fn a_rekor_answer_becomes_the_bundle_entry_it_describes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/cosign/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"
        );
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let want = &bundle["verificationMaterial"]["tlogEntries"][0];
        let to_hex = |b64: &Value| hex::encode(B64.decode(b64.as_str().unwrap()).unwrap());
        let num = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
        let p = &want["inclusionProof"];
        let response = json!({
            "24296fb24b8ad77a": {
                "body": want["canonicalizedBody"],
                "integratedTime": num(&want["integratedTime"]),
                "logID": to_hex(&want["logId"]["keyId"]),
                "logIndex": num(&want["logIndex"]),
                "verification": {
                    "signedEntryTimestamp": want["inclusionPromise"]["signedEntryTimestamp"],
                    "inclusionProof": {
                        "checkpoint": p["checkpoint"]["envelope"],
                        "hashes": p["hashes"].as_array().unwrap().iter().map(to_hex).collect::<Vec<_>>(),
                        "logIndex": num(&p["logIndex"]),
                        "rootHash": to_hex(&p["rootHash"]),
                        "treeSize": num(&p["treeSize"]),
                    }
                }
            }
        });
        let entry = tlog_entry_from_response(
            &serde_json::to_vec(&response).unwrap(),
            ("hashedrekord", "0.0.1"),
        )
        .unwrap();
        let got: Value = serde_json::to_value(&entry).unwrap();
        let norm = |v: &Value| -> Value {
            // The bundle writes int64 as strings (protobuf JSON); compare as numbers.
            let mut v = v.clone();
            for f in ["logIndex", "integratedTime"] {
                if let Some(s) = v[f].as_str() {
                    v[f] = s.parse::<i64>().unwrap().into();
                }
            }
            for f in ["logIndex", "treeSize"] {
                if let Some(s) = v["inclusionProof"][f].as_str() {
                    v["inclusionProof"][f] = s.parse::<i64>().unwrap().into();
                }
            }
            v
        };
        assert_eq!(norm(&got), norm(want));
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_bodies_have_rekors_shape() {
        let e = ProposedEntry::HashedRekord {
            artifact_sha256: &[7; 32],
            signature: b"sig",
            verifier_pem: "PEM",
        };
        assert!(matches!(
            upload("http://rekor.example", &e).unwrap_err(),
            Error::Policy(m) if m.contains("https")
        ));
        let body = e.to_json();
        assert_eq!(body["spec"]["data"]["hash"]["value"], hex::encode([7; 32]));
        assert_eq!(body["spec"]["signature"]["content"], B64.encode(b"sig"));
        let d = ProposedEntry::Dsse {
            envelope_json: br#"{"payload":"e30="}"#,
            verifier_pem: "PEM",
        };
        assert_eq!(
            d.to_json()["spec"]["proposedContent"]["envelope"],
            r#"{"payload":"e30="}"#
        );
        assert_eq!(d.kind_version(), ("dsse", "0.0.1"));
    }
}
