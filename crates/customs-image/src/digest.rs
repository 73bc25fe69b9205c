//! Content digests (`sha256:<hex>`), and readers that hash bytes while they stream and refuse
//! to finish when the bytes do not match.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A content digest. Only `sha256` and `sha512` are accepted, as the OCI spec registers.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// A digest algorithm the OCI image spec registers.
pub enum Algorithm {
    /// SHA-256, 64 hex digits; what every image uses.
    Sha256,
    /// SHA-512, 128 hex digits.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as written before the `:` (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>")]
/// A string that is not `<algorithm>:<lowercase hex of the right length>`; holds the input.
pub struct DigestParseError(pub String);

impl Digest {
    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The algorithm this digest was computed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part, without the algorithm.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex characters, as Docker shows image ids.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }

    /// A hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        Hasher::new(self.algorithm)
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DigestParseError(s.chars().take(200).collect());
        let (algo, hex) = s.split_once(':').ok_or_else(err)?;
        let algorithm = match algo {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(err()),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for either algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// Hashing with SHA-256.
    Sha256(Sha256),
    /// Hashing with SHA-512.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
    /// Feeds `bytes` into the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }
    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                hex: hex::encode(h.finalize()),
            },
            Hasher::Sha512(h) => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex::encode(h.finalize()),
            },
        }
    }
}

/// Wraps a reader, hashes everything read through it, and at end of stream fails with
/// `InvalidData` unless the digest (and the size, when known) match what was expected.
/// Reading past `max_size` bytes is an error too, so a lying server cannot stream forever.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    expected: Digest,
    expected_size: Option<u64>,
    max_size: u64,
    read: u64,
    what: String,
}

impl<R: Read> VerifyingReader<R> {
    /// `what` names the blob in error messages (for example `layer 2 of alpine:3.20`).
    pub fn new(
        inner: R,
        expected: Digest,
        expected_size: Option<u64>,
        what: impl Into<String>,
    ) -> Self {
        let hasher = Some(expected.hasher());
        VerifyingReader {
            inner,
            hasher,
            expected,
            expected_size,
            max_size: expected_size.unwrap_or(u64::MAX),
            read: 0,
            what: what.into(),
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The wrapped reader, without checking the digest.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hasher) = self.hasher.as_mut() else {
            return Ok(0);
        };
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.read += n as u64;
            if self.read > self.max_size {
                self.hasher = None;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: more than the {} bytes its descriptor declares",
                        self.what, self.max_size
                    ),
                ));
            }
            hasher.update(&buf[..n]);
            return Ok(n);
        }
        // End of stream: check size and digest exactly once.
        let actual = self.hasher.take().expect("hasher present").finish();
        if let Some(size) = self.expected_size {
            if size != self.read {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: truncated: got {} bytes, descriptor says {}",
                        self.what, self.read, size
                    ),
                ));
            }
        }
        if actual != self.expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: digest mismatch: expected {}, got {}",
                    self.what, self.expected, actual
                ),
            ));
        }
        Ok(0)
    }
}

/// Reads all of `reader` (at most `limit` bytes) and checks it against `expected`.
pub fn read_verified(
    reader: impl Read,
    expected: &Digest,
    size: Option<u64>,
    limit: u64,
    what: &str,
) -> io::Result<Vec<u8>> {
    if let Some(size) = size {
        if size > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{what}: declared size {size} exceeds the limit of {limit} bytes"),
            ));
        }
    }
    let mut v = VerifyingReader::new(reader, expected.clone(), size, what);
    v.max_size = v.max_size.min(limit);
    let mut out = Vec::new();
    v.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_sha256() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(Digest::sha256_of(b""), d);
    }

    #[test]
    fn rejects_uppercase_short_and_unknown_algorithms() {
        assert!(EMPTY.to_uppercase().parse::<Digest>().is_err());
        assert!("sha256:abc".parse::<Digest>().is_err());
        assert!("md5:d41d8cd98f00b204e9800998ecf8427e"
            .parse::<Digest>()
            .is_err());
        assert!("".parse::<Digest>().is_err());
    }

    #[test]
    fn verifying_reader_accepts_matching_bytes() {
        let d = Digest::sha256_of(b"hello");
        let out = read_verified(&b"hello"[..], &d, Some(5), 100, "blob").unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn verifying_reader_rejects_changed_byte() {
        let d = Digest::sha256_of(b"hello");
        let err = read_verified(&b"hellp"[..], &d, Some(5), 100, "blob").unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
    }

    #[test]
    fn verifying_reader_rejects_truncation_and_overrun() {
        let d = Digest::sha256_of(b"hello");
        let err = read_verified(&b"hell"[..], &d, Some(5), 100, "blob").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = read_verified(&b"hello!"[..], &d, Some(5), 100, "blob").unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn read_verified_enforces_limit_without_declared_size() {
        let d = Digest::sha256_of(b"hello");
        let err = read_verified(&b"hello"[..], &d, None, 3, "blob").unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
