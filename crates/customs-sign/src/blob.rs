//! Blobs: the SHA-256 of a file computed by streaming it (a blob is never held in memory), and
//! how a `verify-bundle` artifact argument is read (`sha256:<hex>` or a path).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

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
