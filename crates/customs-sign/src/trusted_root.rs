//! Sigstore `trusted_root.json`: the Fulcio certificate authorities, Rekor transparency-log keys
//! CT-log keys and RFC 3161 timestamp authorities that offline bundle verification trusts, each
//! with its validity window.
//!
//! A window must have a start: Sigstore's `TimeRange.start` is required, so a `validFor` without
//! one (or no `validFor` at all) makes that key or authority never valid, rather than valid
//! forever. Both ends are inclusive.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::PublicKey;

/// A time window in unix seconds. A missing end is unbounded; a missing start means the
/// window is not usable at all (the trusted root did not say when the key became valid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// First valid second. `None`: the trusted root gave no start, so nothing is inside.
    pub start: Option<i64>,
    /// Last valid second, if bounded.
    pub end: Option<i64>,
}

impl Window {
    /// A window that holds every time (for keys supplied directly, e.g. a `rekor.pub` file).
    pub const ALWAYS: Window = Window {
        start: Some(i64::MIN),
        end: None,
    };

    /// Whether `t` lies inside the window (both ends inclusive). A window without a start
    /// contains nothing.
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_some_and(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }

    /// Why `t` is outside the window, for error messages (None when it is inside).
    pub fn why_outside(&self, t: i64) -> Option<String> {
        match (self.start, self.end) {
            (None, _) => Some("the trusted root gives it no validity start".to_string()),
            (Some(s), _) if t < s => Some(format!("its validity starts at {s}, after {t}")),
            (_, Some(e)) if t > e => Some(format!("its validity ended at {e}, before {t}")),
            _ => None,
        }
    }
}

/// A transparency log (Rekor) or CT log the verifier trusts.
#[derive(Debug, Clone)]
pub struct TransparencyLog {
    /// The log's base URL (informational).
    pub base_url: String,
    /// The log's public key.
    pub key: PublicKey,
    /// The log ID: sha256 of the key's SPKI DER for Rekor and CT logs.
    pub log_id: Vec<u8>,
    /// When the key was in use.
    pub valid_for: Window,
}

impl TransparencyLog {
    /// A log known only by its public key (e.g. a `rekor.pub` file); its ID is sha256(SPKI).
    pub fn from_public_key(key: PublicKey) -> Result<TransparencyLog> {
        let log_id = Sha256::digest(key.to_spki_der()?).to_vec();
        Ok(TransparencyLog {
            base_url: String::new(),
            key,
            log_id,
            valid_for: Window::ALWAYS,
        })
    }
}

/// A certificate authority: its chain (issuing certificate first, root last) as DER.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    /// The CA's URI (informational).
    pub uri: String,
    /// DER certificates, issuing CA first and the self-signed root last.
    pub chain: Vec<Vec<u8>>,
    /// When the CA issued certificates.
    pub valid_for: Window,
}

/// The parsed trust anchors.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoot {
    /// The media type string of the document.
    pub media_type: String,
    /// Rekor logs.
    pub tlogs: Vec<TransparencyLog>,
    /// Fulcio certificate authorities.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate-transparency logs.
    pub ctlogs: Vec<TransparencyLog>,
    /// RFC 3161 timestamp authorities (chain: signing certificate first).
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
    #[serde(default)]
    timestamp_authorities: Vec<CaJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    #[serde(default)]
    base_url: String,
    public_key: KeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson {
    raw_bytes: String,
    #[serde(default)]
    valid_for: Option<WindowJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    #[serde(default)]
    uri: String,
    cert_chain: ChainJson,
    #[serde(default)]
    valid_for: Option<WindowJson>,
}

#[derive(Deserialize)]
struct ChainJson {
    certificates: Vec<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct WindowJson {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
}

fn window(w: Option<WindowJson>) -> Result<Window> {
    let Some(w) = w else {
        return Ok(Window::default());
    };
    let parse = |s: Option<String>| -> Result<Option<i64>> {
        s.map(|s| {
            parse_rfc3339(&s)
                .ok_or_else(|| Error::MalformedTrustedRoot(format!("bad timestamp {s:?}")))
        })
        .transpose()
    };
    Ok(Window {
        start: parse(w.start)?,
        end: parse(w.end)?,
    })
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| Error::MalformedTrustedRoot(format!("{field}: bad base64: {e}")))
}

fn logs(list: Vec<LogJson>) -> Result<Vec<TransparencyLog>> {
    let mut out = Vec::new();
    for log in list {
        let der = b64("publicKey.rawBytes", &log.public_key.raw_bytes)?;
        // A key type customs cannot use makes that log unusable, not the whole root.
        let Ok(key) = PublicKey::from_spki_der(&der) else {
            continue;
        };
        out.push(TransparencyLog {
            base_url: log.base_url,
            key,
            log_id: b64("logId.keyId", &log.log_id.key_id)?,
            valid_for: window(log.public_key.valid_for)?,
        });
    }
    Ok(out)
}

impl TrustedRoot {
    /// Parse a `trusted_root.json` document.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot> {
        let doc: RootJson = serde_json::from_slice(bytes)
            .map_err(|e| Error::MalformedTrustedRoot(e.to_string()))?;
        Ok(TrustedRoot {
            media_type: doc.media_type,
            tlogs: logs(doc.tlogs)?,
            certificate_authorities: authorities(doc.certificate_authorities)?,
            ctlogs: logs(doc.ctlogs)?,
            timestamp_authorities: authorities(doc.timestamp_authorities)?,
        })
    }

    /// The Rekor log with this log ID.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}

fn authorities(list: Vec<CaJson>) -> Result<Vec<CertificateAuthority>> {
    let mut cas = Vec::new();
    for ca in list {
        let chain = ca
            .cert_chain
            .certificates
            .iter()
            .map(|c| b64("certChain.rawBytes", &c.raw_bytes))
            .collect::<Result<Vec<_>>>()?;
        if chain.is_empty() {
            return Err(Error::MalformedTrustedRoot(
                "certificate authority with an empty chain".to_string(),
            ));
        }
        cas.push(CertificateAuthority {
            uri: ca.uri,
            chain,
            valid_for: window(ca.valid_for)?,
        });
    }
    Ok(cas)
}

/// The Sigstore public-good trusted root embedded in customs (a snapshot; see
/// `crates/customs-sign/data/SOURCES.md` for where it came from).
pub const PUBLIC_GOOD_JSON: &str = include_str!("../data/trusted_root_public_good.json");

impl TrustedRoot {
    /// The embedded Sigstore public-good trusted root ([`PUBLIC_GOOD_JSON`]).
    pub fn public_good() -> Result<TrustedRoot> {
        TrustedRoot::from_json(PUBLIC_GOOD_JSON.as_bytes())
    }
}

/// Parse an RFC 3339 timestamp (`2021-03-07T03:20:29.000Z`, offsets allowed) to unix seconds,
/// through jiff. Fractions of a second are dropped; a time without an offset is refused.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    Some(s.parse::<jiff::Timestamp>().ok()?.as_second())
}

impl TrustedRoot {
    /// This root with its certificate authorities replaced by a private PKI (cosign's
    /// `--ca-roots` and `--ca-intermediates`; `--certificate-chain` is the same with the chain's
    /// last certificate as the root and the rest as intermediates). Each root (DER) must be
    /// self-signed. Every path from an intermediate up through other intermediates to a root
    /// becomes one authority, as does each root alone, so a leaf issued by any of them chains.
    /// An intermediate that leads to no given root is unusable and left out. The authorities have
    /// no window of their own: the certificates' validity is checked at the signing time, as
    /// for any chain. Transparency-log, CT-log and timestamp keys stay as they were.
    pub fn with_private_pki(
        &self,
        roots: &[Vec<u8>],
        intermediates: &[Vec<u8>],
    ) -> Result<TrustedRoot> {
        use crate::certs::ParsedCertificate;
        if roots.is_empty() {
            return Err(Error::MalformedTrustedRoot(
                "a private PKI needs at least one root certificate".to_string(),
            ));
        }
        let roots: Vec<ParsedCertificate> = roots
            .iter()
            .map(|d| ParsedCertificate::from_der(d))
            .collect::<Result<_>>()?;
        for (i, r) in roots.iter().enumerate() {
            if !r.is_self_issued() || r.verify_signed_by(r).is_err() {
                return Err(Error::UntrustedCertificate(format!(
                    "root certificate #{i} is not self-signed"
                )));
            }
        }
        let inters: Vec<ParsedCertificate> = intermediates
            .iter()
            .map(|d| ParsedCertificate::from_der(d))
            .collect::<Result<_>>()?;
        let mut authorities: Vec<CertificateAuthority> = roots
            .iter()
            .map(|r| CertificateAuthority {
                uri: "private root".to_string(),
                chain: vec![r.der.clone()],
                valid_for: Window::ALWAYS,
            })
            .collect();
        for start in 0..inters.len() {
            let mut path = vec![start];
            // Walk up at most as many intermediates as were given (no cycles).
            while path.len() <= inters.len() {
                let top = &inters[*path.last().unwrap_or(&start)];
                if let Some(r) = roots.iter().find(|r| top.verify_signed_by(r).is_ok()) {
                    let mut chain: Vec<Vec<u8>> =
                        path.iter().map(|&i| inters[i].der.clone()).collect();
                    chain.push(r.der.clone());
                    authorities.push(CertificateAuthority {
                        uri: "private intermediate".to_string(),
                        chain,
                        valid_for: Window::ALWAYS,
                    });
                    break;
                }
                match (0..inters.len())
                    .find(|j| !path.contains(j) && top.verify_signed_by(&inters[*j]).is_ok())
                {
                    Some(j) => path.push(j),
                    None => break,
                }
            }
        }
        Ok(TrustedRoot {
            certificate_authorities: authorities,
            ..self.clone()
        })
    }
}

/// Every `CERTIFICATE` block of a PEM file, as DER (for `--ca-roots`, `--ca-intermediates`,
/// `--certificate-chain`). A file without one is an error.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>> {
    let certs: Vec<Vec<u8>> = crate::pem::parse_all(text)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| b.contents)
        .collect();
    if certs.is_empty() {
        return Err(Error::MalformedCertificate(
            "no CERTIFICATE block in the PEM file".to_string(),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_timestamps_parse_to_unix_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        // integratedTime of the keyless vector: 2025-02-28T19:18:11Z.
        assert_eq!(parse_rfc3339("2025-02-28T19:18:11Z"), Some(1740770291));
        assert_eq!(parse_rfc3339("2022-12-31T23:59:59.999Z"), Some(1672531199));
        assert_eq!(parse_rfc3339("2025-02-28T20:18:11+01:00"), Some(1740770291));
        assert_eq!(parse_rfc3339("2025-02-28"), None);
        assert_eq!(parse_rfc3339("2025-13-28T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2025-02-28T00:00:00"), None);
    }

    #[test]
    fn a_window_without_start_contains_nothing() {
        let root = TrustedRoot::from_json(
            br#"{"tlogs":[{"publicKey":{"rawBytes":"MCowBQYDK2VwAyEAPn+AREHoBaZ7wgS1zBqpxmLSGnyhxXj4lFxSdWVB8o8=","validFor":{"end":"2030-01-01T00:00:00Z"}},"logId":{"keyId":"AA=="}}]}"#,
        )
        .unwrap();
        let w = root.tlogs[0].valid_for;
        assert!(!w.contains(0) && !w.contains(i64::MIN) && !w.contains(1_900_000_000));
        assert!(w.why_outside(0).unwrap().contains("no validity start"));
    }

    #[test]
    fn window_ends_are_inclusive() {
        let w = Window {
            start: Some(10),
            end: Some(20),
        };
        assert!(w.contains(10) && w.contains(20) && !w.contains(21) && !w.contains(9));
        assert!(w.why_outside(20).is_none() && w.why_outside(21).is_some());
    }

    #[test]
    fn open_windows_contain_everything_after_start() {
        let w = Window {
            start: Some(10),
            end: None,
        };
        assert!(w.contains(10) && w.contains(i64::MAX) && !w.contains(9));
    }
}
