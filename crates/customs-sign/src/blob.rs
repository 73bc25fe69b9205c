//! Blobs: the SHA-256 of a file computed by streaming it (a blob is never held in memory), and
//! how a `verify-bundle` artifact argument is read (`sha256:<hex>` or a path).

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::bundle::{
    Bundle, HashOutput, KeyHint, MessageSignature, VerificationMaterial, MEDIA_TYPE_V03,
};
use crate::error::Result;
use crate::keys::PrivateKey;

/// A signed blob: the raw signature and the v0.3 bundle around it.
#[derive(Debug, Clone)]
pub struct SignedBlob {
    /// DER ECDSA signature over the blob.
    pub signature: Vec<u8>,
    /// The bundle cosign v3's `sign-blob --key --bundle` writes (without a log entry).
    pub bundle: Bundle,
}

/// Attest a blob known by its SHA-256, as `cosign attest-blob --key --bundle` does: an in-toto
/// statement about `name` (its subject) with `predicate`, in a DSSE envelope, in a v0.3 bundle
/// naming the key by cosign's hint.
pub fn attest_blob(
    key: &PrivateKey,
    name: &str,
    sha256: &[u8; 32],
    predicate_type: &str,
    predicate: serde_json::Value,
) -> Result<Bundle> {
    let statement =
        crate::intoto::Statement::new(name, &hex::encode(sha256), predicate_type, predicate);
    let envelope =
        crate::dsse::Envelope::sign(key, crate::dsse::INTOTO_PAYLOAD_TYPE, &statement.to_json())?;
    Ok(Bundle::with_key_hint(
        envelope,
        &key.public_key().cosign_hint()?,
    ))
}

/// Sign a blob known by its SHA-256 (see [`sha256_file`]) with `key`, as `cosign sign-blob
/// --key` does: a message signature in a v0.3 bundle naming the key by cosign's hint.
pub fn sign_blob(key: &PrivateKey, sha256: &[u8; 32]) -> Result<SignedBlob> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let signature = key.sign_sha256_digest(sha256)?;
    let bundle = Bundle {
        media_type: MEDIA_TYPE_V03.to_string(),
        verification_material: VerificationMaterial {
            public_key: Some(KeyHint {
                hint: key.public_key().cosign_hint()?,
            }),
            ..VerificationMaterial::default()
        },
        dsse_envelope: None,
        message_signature: Some(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: "SHA2_256".to_string(),
                digest: b64.encode(sha256),
            }),
            signature: b64.encode(&signature),
        }),
    };
    Ok(SignedBlob { signature, bundle })
}

/// SHA-256 of everything `reader` yields, read in 1 MiB chunks.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// SHA-256 of the file at `path`, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    sha256_reader(std::fs::File::open(path)?)
}

/// The conformance suite's rule for `FILE_OR_DIGEST`: `sha256:` followed by 64 hex digits, and
/// not a path on disk, is a digest; anything else is a file path.
pub fn parse_digest_argument(arg: &str) -> Option<[u8; 32]> {
    let hex_part = arg.strip_prefix("sha256:")?;
    if hex_part.len() != 64 || Path::new(arg).exists() {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_sha256_matches_the_one_shot_hash() {
        let data = vec![7u8; (1 << 20) * 2 + 5];
        assert_eq!(
            sha256_reader(&data[..]).unwrap(),
            <[u8; 32]>::from(Sha256::digest(&data))
        );
    }

    #[test]
    fn digest_arguments_follow_the_conformance_rule() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(parse_digest_argument(&d), Some([0xab; 32]));
        assert_eq!(parse_digest_argument("sha256:abcd"), None);
        assert_eq!(
            parse_digest_argument(&format!("sha256:{}", "zz".repeat(32))),
            None
        );
        assert_eq!(parse_digest_argument("a.txt"), None);
    }
}
