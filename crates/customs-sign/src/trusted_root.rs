//! Sigstore `trusted_root.json`: the Fulcio certificate authorities, Rekor transparency-log keys
//! and CT-log keys that offline bundle verification trusts, each with its validity window.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::PublicKey;

/// A time window in unix seconds; an open end is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// First valid second, if bounded.
    pub start: Option<i64>,
    /// Last valid second, if bounded.
    pub end: Option<i64>,
}

impl Window {
    /// Whether `t` lies inside the window (both ends inclusive).
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
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
            valid_for: Window::default(),
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
        let mut cas = Vec::new();
        for ca in doc.certificate_authorities {
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
        Ok(TrustedRoot {
            media_type: doc.media_type,
            tlogs: logs(doc.tlogs)?,
            certificate_authorities: cas,
            ctlogs: logs(doc.ctlogs)?,
        })
    }

    /// The Rekor log with this log ID.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}

/// Parse an RFC 3339 timestamp (`2021-03-07T03:20:29.000Z`, offsets allowed) to unix seconds.
/// Fractions of a second are dropped.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rb[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil calendar formula).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
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
    fn open_windows_contain_everything_after_start() {
        let w = Window {
            start: Some(10),
            end: None,
        };
        assert!(w.contains(10) && w.contains(i64::MAX) && !w.contains(9));
    }
}
