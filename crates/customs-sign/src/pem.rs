//! Minimal, lenient PEM armour: reads any line width (cosign and sigstore-go write both 64-column
//! and single-line bodies) and writes 64-column RFC 7468 text.

use base64::Engine as _;

use crate::error::{Error, Result};

/// One PEM block: its label (e.g. `PUBLIC KEY`) and the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The text between `-----BEGIN ` and `-----`.
    pub label: String,
    /// The base64-decoded body.
    pub contents: Vec<u8>,
}

/// Parse every PEM block in `text`, in order. Text outside blocks is ignored.
pub fn parse_all(text: &str) -> Result<Vec<PemBlock>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if inner == end {
                closed = true;
                break;
            }
            if inner.starts_with("-----") {
                return Err(Error::MalformedPem(format!(
                    "block {label:?} ends with {inner:?} instead of {end:?}"
                )));
            }
            // RFC 1421 headers ("Proc-Type: ...") are not used by cosign keys.
            if inner.contains(':') {
                return Err(Error::MalformedPem(format!(
                    "unexpected header line in block {label:?}"
                )));
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(Error::MalformedPem(format!(
                "block {label:?} has no END line"
            )));
        }
        let contents = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| Error::MalformedPem(format!("block {label:?}: bad base64: {e}")))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            contents,
        });
    }
    Ok(blocks)
}

/// Parse exactly the first PEM block of `text`.
pub fn parse_one(text: &str) -> Result<PemBlock> {
    parse_all(text)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::MalformedPem("no PEM block found".to_string()))
}

/// Encode `contents` as a PEM block with 64-column lines and a trailing newline.
pub fn encode(label: &str, contents: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(contents);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips_and_wraps_at_64_columns() {
        let data: Vec<u8> = (0..=255u8).collect();
        let text = encode("TEST DATA", &data);
        assert!(text.lines().all(|l| l.len() <= 64));
        let block = parse_one(&text).unwrap();
        assert_eq!(block.label, "TEST DATA");
        assert_eq!(block.contents, data);
    }

    #[test]
    fn unterminated_block_is_an_error() {
        let err = parse_one("-----BEGIN PUBLIC KEY-----\nAAAA\n").unwrap_err();
        assert!(matches!(err, Error::MalformedPem(_)), "{err}");
    }

    #[test]
    fn mismatched_end_label_is_an_error() {
        let err =
            parse_one("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err();
        assert!(matches!(err, Error::MalformedPem(_)), "{err}");
    }

    #[test]
    fn text_without_a_block_is_an_error() {
        assert!(matches!(
            parse_one("hello").unwrap_err(),
            Error::MalformedPem(_)
        ));
    }
}
