//! Keys: cosign's encrypted private-key format (scrypt + NaCl secretbox over PKCS#8), SPKI public
//! keys, and signing/verifying with ECDSA P-256/P-384, RSA PKCS#1 v1.5 and Ed25519.

use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use der::Decode;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use signature::{Signer, Verifier};

use crate::error::{Error, Result};
use crate::pem;

/// PEM label cosign (v2) writes for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label older cosign versions wrote; still accepted on import.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// PEM label of an SPKI public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

/// Largest scrypt memory cost accepted on import (128 * r * N bytes): 256 MiB.
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// Hash function applied to a message before an ECDSA or RSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256 (cosign's default for every key type).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The digest of `msg` under this hash.
    pub fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(msg).to_vec(),
            HashAlg::Sha384 => Sha384::digest(msg).to_vec(),
            HashAlg::Sha512 => Sha512::digest(msg).to_vec(),
        }
    }
}

/// A private key that can sign.
#[derive(Clone)]
pub enum PrivateKey {
    /// ECDSA on NIST P-256 (what cosign generates).
    EcdsaP256(p256::ecdsa::SigningKey),
    /// ECDSA on NIST P-384.
    EcdsaP384(p384::ecdsa::SigningKey),
    /// RSA. Read, so its public key can be derived, but never used to sign: see
    /// [`PrivateKey::sign`].
    Rsa(Box<rsa::RsaPrivateKey>),
    /// Ed25519 (pure, no prehash).
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "PrivateKey({})", self.algorithm())
    }
}

/// A public key that can verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA on NIST P-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// ECDSA on NIST P-384.
    EcdsaP384(p384::ecdsa::VerifyingKey),
    /// RSA, PKCS#1 v1.5 signatures.
    Rsa(rsa::RsaPublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PrivateKey {
    /// Generate a fresh ECDSA P-256 key, cosign's default.
    pub fn generate_p256() -> PrivateKey {
        PrivateKey::EcdsaP256(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    /// A short name of the algorithm, e.g. `ecdsa-p256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PrivateKey::EcdsaP256(_) => "ecdsa-p256",
            PrivateKey::EcdsaP384(_) => "ecdsa-p384",
            PrivateKey::Rsa(_) => "rsa",
            PrivateKey::Ed25519(_) => "ed25519",
        }
    }

    /// Decode an unencrypted PKCS#8 DER private key. An SEC1 `EC PRIVATE KEY` is rejected with
    /// [`Error::Sec1NotPkcs8`], as cosign does.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
        let info = match pkcs8::PrivateKeyInfo::from_der(der) {
            Ok(info) => info,
            Err(e) => {
                if p256::SecretKey::from_sec1_der(der).is_ok()
                    || p384::SecretKey::from_sec1_der(der).is_ok()
                {
                    return Err(Error::Sec1NotPkcs8);
                }
                return Err(Error::MalformedKey(format!(
                    "not a PKCS#8 private key: {e}"
                )));
            }
        };
        let bad = |e: pkcs8::Error| Error::MalformedKey(e.to_string());
        match info.algorithm.oid.to_string().as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| Error::MalformedKey(format!("EC key without curve: {e}")))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => Ok(PrivateKey::EcdsaP256(
                        p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?,
                    )),
                    OID_P384 => Ok(PrivateKey::EcdsaP384(
                        p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?,
                    )),
                    other => Err(Error::UnsupportedKeyType(format!("EC curve {other}"))),
                }
            }
            OID_RSA => Ok(PrivateKey::Rsa(Box::new(
                rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(bad)?,
            ))),
            OID_ED25519 => Ok(PrivateKey::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(bad)?,
            )),
            other => Err(Error::UnsupportedKeyType(format!("algorithm {other}"))),
        }
    }

    /// Encode as unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        let doc = match self {
            PrivateKey::EcdsaP256(k) => k.to_pkcs8_der(),
            PrivateKey::EcdsaP384(k) => k.to_pkcs8_der(),
            PrivateKey::Rsa(k) => k.to_pkcs8_der(),
            PrivateKey::Ed25519(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::MalformedKey(format!("encoding PKCS#8: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::EcdsaP256(k) => PublicKey::EcdsaP256(*k.verifying_key()),
            PrivateKey::EcdsaP384(k) => PublicKey::EcdsaP384(*k.verifying_key()),
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }

    /// Sign `msg` the way cosign does: ECDSA (either curve) over SHA-256 with an ASN.1 DER
    /// signature, or pure Ed25519.
    ///
    /// RSA signing is refused. The `rsa` crate's private-key operations are not constant
    /// time (RUSTSEC-2023-0071, the Marvin attack: a timing side channel that can recover the
    /// key from a signer an attacker can time), and no fixed release exists. RSA signatures
    /// made elsewhere are still verified, which uses only the public key and is not affected.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let failed = |e: signature::Error| Error::BadSignature(format!("signing failed: {e}"));
        match self {
            PrivateKey::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature =
                    k.sign_prehash(&Sha256::digest(msg)).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::EcdsaP384(k) => {
                let sig: p384::ecdsa::Signature =
                    k.sign_prehash(&Sha256::digest(msg)).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::Rsa(_) => Err(Error::UnsupportedKeyType(
                "signing with an RSA key is refused: the rsa crate's private-key operations leak timing (RUSTSEC-2023-0071, no fixed release); sign with an ECDSA P-256 or Ed25519 key (cosign generate-key-pair makes P-256). RSA signatures are still verified".into(),
            )),
            PrivateKey::Ed25519(k) => Ok(k.sign(msg).to_bytes().to_vec()),
        }
    }
}

impl PrivateKey {
    /// Sign a message known by its SHA-256 `digest` (a streamed blob): ECDSA P-256 over the
    /// prehash, the signature as DER, as cosign's `sign-blob` writes it. Other key types are
    /// refused: Ed25519 signs the whole message, and P-384 pairs with SHA-384.
    pub fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        match self {
            PrivateKey::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(digest)
                    .map_err(|e| Error::BadSignature(format!("signing failed: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            other => Err(Error::UnsupportedKeyType(format!(
                "signing a blob by its SHA-256 digest needs an ECDSA P-256 key (cosign generate-key-pair makes one), not {}",
                other.algorithm()
            ))),
        }
    }
}

impl PublicKey {
    /// Read a PEM `PUBLIC KEY` (SPKI); `RSA PUBLIC KEY` (PKCS#1) is accepted too.
    pub fn from_pem(text: &str) -> Result<PublicKey> {
        let block = pem::parse_one(text)?;
        match block.label.as_str() {
            PUBLIC_KEY_LABEL => PublicKey::from_spki_der(&block.contents),
            "RSA PUBLIC KEY" => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                rsa::RsaPublicKey::from_pkcs1_der(&block.contents)
                    .map(PublicKey::Rsa)
                    .map_err(|e| Error::MalformedKey(e.to_string()))
            }
            other => Err(Error::MalformedPem(format!(
                "expected a PUBLIC KEY block, found {other:?}"
            ))),
        }
    }

    /// Decode a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| Error::MalformedKey(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let bad = |e: spki::Error| Error::MalformedKey(e.to_string());
        match spki.algorithm.oid.to_string().as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| Error::MalformedKey(format!("EC key without curve: {e}")))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => Ok(PublicKey::EcdsaP256(
                        p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
                    )),
                    OID_P384 => Ok(PublicKey::EcdsaP384(
                        p384::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
                    )),
                    other => Err(Error::UnsupportedKeyType(format!("EC curve {other}"))),
                }
            }
            OID_RSA => Ok(PublicKey::Rsa(
                rsa::RsaPublicKey::from_public_key_der(der).map_err(bad)?,
            )),
            OID_ED25519 => Ok(PublicKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(bad)?,
            )),
            other => Err(Error::UnsupportedKeyType(format!("algorithm {other}"))),
        }
    }

    /// Encode as DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let doc = match self {
            PublicKey::EcdsaP256(k) => k.to_public_key_der(),
            PublicKey::EcdsaP384(k) => k.to_public_key_der(),
            PublicKey::Rsa(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
        }
        .map_err(|e| Error::MalformedKey(format!("encoding SPKI: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Encode as a PEM `PUBLIC KEY` block (what cosign writes to `cosign.pub`).
    pub fn to_pem(&self) -> Result<String> {
        Ok(pem::encode(PUBLIC_KEY_LABEL, &self.to_spki_der()?))
    }

    /// Verify `sig` over `msg` with cosign's defaults: SHA-256 for ECDSA and RSA PKCS#1 v1.5, pure
    /// Ed25519. For P-384, a SHA-384 signature is accepted as well (what Sigstore's
    /// `PKIX_ECDSA_P384_SHA_384` key details mean).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            PublicKey::EcdsaP384(_) => self
                .verify_with(HashAlg::Sha384, msg, sig)
                .or_else(|_| self.verify_with(HashAlg::Sha256, msg, sig)),
            _ => self.verify_with(HashAlg::Sha256, msg, sig),
        }
    }

    /// Verify `sig` over `msg`, hashing with `hash` (ignored for Ed25519, which hashes itself).
    /// ECDSA and RSA hash `msg` and check through [`PublicKey::verify_digest`].
    pub fn verify_with(&self, hash: HashAlg, msg: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            PublicKey::Ed25519(k) => {
                let bad = |what: &str| Error::BadSignature(what.to_string());
                let sig = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|_| bad("not a 64-byte Ed25519 signature"))?;
                k.verify(msg, &sig)
                    .map_err(|_| bad("Ed25519 signature does not match"))
            }
            _ => self.verify_digest(hash, &hash.digest(msg), sig),
        }
    }

    /// Verify `sig` over a message known only by its digest `digest` (made with `hash`): what a
    /// Sigstore message signature over a streamed artifact needs. Ed25519 signs the message
    /// itself, not a digest, so it cannot be checked this way.
    pub fn verify_digest(&self, hash: HashAlg, digest: &[u8], sig: &[u8]) -> Result<()> {
        let bad = |what: &str| Error::BadSignature(what.to_string());
        match self {
            PublicKey::EcdsaP256(k) => {
                let sig = p256::ecdsa::Signature::from_der(sig)
                    .map_err(|_| bad("not a DER ECDSA P-256 signature"))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| bad("ECDSA P-256 signature does not match"))
            }
            PublicKey::EcdsaP384(k) => {
                let sig = p384::ecdsa::Signature::from_der(sig)
                    .map_err(|_| bad("not a DER ECDSA P-384 signature"))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| bad("ECDSA P-384 signature does not match"))
            }
            PublicKey::Rsa(k) => {
                let sig = rsa::pkcs1v15::Signature::try_from(sig)
                    .map_err(|_| bad("not an RSA signature"))?;
                let ok = match hash {
                    HashAlg::Sha256 => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.clone())
                        .verify_prehash(digest, &sig)
                        .is_ok(),
                    HashAlg::Sha384 => rsa::pkcs1v15::VerifyingKey::<Sha384>::new(k.clone())
                        .verify_prehash(digest, &sig)
                        .is_ok(),
                    HashAlg::Sha512 => rsa::pkcs1v15::VerifyingKey::<Sha512>::new(k.clone())
                        .verify_prehash(digest, &sig)
                        .is_ok(),
                };
                if ok {
                    Ok(())
                } else {
                    Err(bad("RSA PKCS#1 v1.5 signature does not match"))
                }
            }
            PublicKey::Ed25519(_) => Err(Error::UnsupportedKeyType(
                "an Ed25519 message signature covers the whole artifact, not its digest; customs verifies message signatures from the digest (streaming) and cannot check this one".into(),
            )),
        }
    }

    /// The key hint cosign v3 writes in a bundle's `publicKey.hint`: the padded standard base64
    /// of the SHA-256 of the SPKI DER (what @sigstore/verify looks keys up by).
    pub fn cosign_hint(&self) -> Result<String> {
        Ok(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(self.to_spki_der()?)))
    }

    /// A key hint for a bundle's `publicKey.hint`: `SHA256:<unpadded base64 of sha256(SPKI DER)>`.
    /// Hints are free-form; verifiers use the key they are given, not the hint.
    pub fn sha256_hint(&self) -> Result<String> {
        let digest = Sha256::digest(self.to_spki_der()?);
        Ok(format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        ))
    }
}

/// scrypt parameters of an encrypted key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScryptParams {
    /// CPU/memory cost; a power of two.
    #[serde(rename = "N")]
    pub n: u64,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl Default for ScryptParams {
    /// What `cosign generate-key-pair` uses.
    fn default() -> Self {
        ScryptParams {
            n: 65536,
            r: 8,
            p: 1,
        }
    }
}

impl ScryptParams {
    fn to_scrypt(self) -> Result<scrypt::Params> {
        let unsupported = |why: &str| {
            Error::UnsupportedKdf(format!("N={} r={} p={}: {why}", self.n, self.r, self.p))
        };
        if self.n < 2 || !self.n.is_power_of_two() {
            return Err(unsupported("N must be a power of two"));
        }
        if self.r == 0 || self.p == 0 || self.r > 32 || self.p > 16 {
            return Err(unsupported("r must be 1..=32 and p 1..=16"));
        }
        if 128 * u64::from(self.r) * self.n > MAX_SCRYPT_MEMORY {
            return Err(unsupported("needs more than 256 MiB of memory"));
        }
        let log_n = self.n.trailing_zeros() as u8;
        scrypt::Params::new(log_n, self.r, self.p, 32).map_err(|e| unsupported(&e.to_string()))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct EncryptedKeyJson {
    kdf: KdfJson,
    cipher: CipherJson,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct KdfJson {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CipherJson {
    name: String,
    nonce: String,
}

fn derive_key(password: &[u8], salt: &[u8], params: ScryptParams) -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params.to_scrypt()?, &mut key)
        .map_err(|e| Error::UnsupportedKdf(e.to_string()))?;
    Ok(key)
}

/// Encrypt `key` into a cosign `ENCRYPTED SIGSTORE PRIVATE KEY` PEM with the given scrypt cost.
pub fn encrypt_private_key(
    key: &PrivateKey,
    password: &[u8],
    params: ScryptParams,
) -> Result<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let secret = derive_key(password, &salt, params)?;
    let cipher = XSalsa20Poly1305::new(&secret.into());
    let plaintext = key.to_pkcs8_der()?;
    let ciphertext = cipher
        .encrypt(&nonce.into(), plaintext.as_slice())
        .map_err(|_| Error::MalformedEncryptedKey("secretbox encryption failed".to_string()))?;
    let doc = EncryptedKeyJson {
        kdf: KdfJson {
            name: "scrypt".to_string(),
            params,
            salt: b64.encode(salt),
        },
        cipher: CipherJson {
            name: "nacl/secretbox".to_string(),
            nonce: b64.encode(nonce),
        },
        ciphertext: b64.encode(ciphertext),
    };
    let json = serde_json::to_vec(&doc)
        .map_err(|e| Error::MalformedEncryptedKey(format!("encoding JSON: {e}")))?;
    Ok(pem::encode(SIGSTORE_PRIVATE_KEY_LABEL, &json))
}

/// Decrypt the PKCS#8 DER inside a cosign encrypted-key PEM (either label).
pub fn decrypt_private_key_der(pem_text: &str, password: &[u8]) -> Result<Vec<u8>> {
    let block = pem::parse_one(pem_text)?;
    if block.label != SIGSTORE_PRIVATE_KEY_LABEL && block.label != COSIGN_PRIVATE_KEY_LABEL {
        return Err(Error::MalformedPem(format!(
            "expected {SIGSTORE_PRIVATE_KEY_LABEL:?} or {COSIGN_PRIVATE_KEY_LABEL:?}, found {:?}",
            block.label
        )));
    }
    let doc: EncryptedKeyJson = serde_json::from_slice(&block.contents)
        .map_err(|e| Error::MalformedEncryptedKey(format!("JSON envelope: {e}")))?;
    if doc.kdf.name != "scrypt" {
        return Err(Error::UnsupportedKdf(format!("kdf {:?}", doc.kdf.name)));
    }
    if doc.cipher.name != "nacl/secretbox" {
        return Err(Error::MalformedEncryptedKey(format!(
            "unsupported cipher {:?}",
            doc.cipher.name
        )));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let field = |name: &str, value: &str| {
        b64.decode(value)
            .map_err(|e| Error::MalformedEncryptedKey(format!("{name}: bad base64: {e}")))
    };
    let salt = field("salt", &doc.kdf.salt)?;
    let nonce: [u8; 24] = field("nonce", &doc.cipher.nonce)?
        .try_into()
        .map_err(|_| Error::MalformedEncryptedKey("nonce is not 24 bytes".to_string()))?;
    let ciphertext = field("ciphertext", &doc.ciphertext)?;
    let secret = derive_key(password, &salt, doc.kdf.params)?;
    XSalsa20Poly1305::new(&secret.into())
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map_err(|_| Error::WrongPassword)
}

/// Decrypt and decode a cosign encrypted private key.
pub fn decrypt_private_key(pem_text: &str, password: &[u8]) -> Result<PrivateKey> {
    PrivateKey::from_pkcs8_der(&decrypt_private_key_der(pem_text, password)?)
}

/// A freshly generated key pair, ready to be written as `cosign.key` / `cosign.pub`.
#[derive(Debug, Clone)]
pub struct GeneratedKeyPair {
    /// The `ENCRYPTED SIGSTORE PRIVATE KEY` PEM.
    pub private_pem: String,
    /// The `PUBLIC KEY` PEM.
    pub public_pem: String,
}

/// Generate a P-256 key pair encrypted with `password` (which may be empty), as
/// `cosign generate-key-pair` does.
pub fn generate_key_pair(password: &[u8]) -> Result<GeneratedKeyPair> {
    let key = PrivateKey::generate_p256();
    Ok(GeneratedKeyPair {
        private_pem: encrypt_private_key(&key, password, ScryptParams::default())?,
        public_pem: key.public_key().to_pem()?,
    })
}

/// The key password from the environment: `CUSTOMS_PASSWORD`, then `COSIGN_PASSWORD`. `None`
/// means neither is set and the caller should prompt. An empty value is a valid empty password.
pub fn password_from_env() -> Option<String> {
    ["CUSTOMS_PASSWORD", "COSIGN_PASSWORD"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: ScryptParams = ScryptParams {
        n: 1024,
        r: 8,
        p: 1,
    };

    #[test]
    fn encrypted_key_round_trips_with_its_password() {
        let key = PrivateKey::generate_p256();
        let pem_text = encrypt_private_key(&key, b"pw", CHEAP).unwrap();
        assert!(pem_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let back = decrypt_private_key(&pem_text, b"pw").unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn wrong_password_is_reported_as_such() {
        let key = PrivateKey::generate_p256();
        let pem_text = encrypt_private_key(&key, b"pw", CHEAP).unwrap();
        assert!(matches!(
            decrypt_private_key(&pem_text, b"other").unwrap_err(),
            Error::WrongPassword
        ));
    }

    #[test]
    fn huge_scrypt_cost_is_refused_before_allocating() {
        let p = ScryptParams {
            n: 1 << 30,
            r: 8,
            p: 1,
        };
        assert!(matches!(
            derive_key(b"", b"salt", p).unwrap_err(),
            Error::UnsupportedKdf(_)
        ));
        let not_pow2 = ScryptParams {
            n: 1000,
            r: 8,
            p: 1,
        };
        assert!(matches!(
            derive_key(b"", b"salt", not_pow2).unwrap_err(),
            Error::UnsupportedKdf(_)
        ));
    }

    #[test]
    fn envelope_json_has_cosign_field_names() {
        let key = PrivateKey::generate_p256();
        let pem_text = encrypt_private_key(&key, b"", CHEAP).unwrap();
        let block = pem::parse_one(&pem_text).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&block.contents).unwrap();
        assert_eq!(v["kdf"]["name"], "scrypt");
        assert_eq!(v["kdf"]["params"]["N"], 1024);
        assert_eq!(v["kdf"]["params"]["r"], 8);
        assert_eq!(v["kdf"]["params"]["p"], 1);
        assert_eq!(v["cipher"]["name"], "nacl/secretbox");
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            b64.decode(v["kdf"]["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            b64.decode(v["cipher"]["nonce"].as_str().unwrap())
                .unwrap()
                .len(),
            24
        );
    }

    #[test]
    fn every_key_type_signs_and_verifies() {
        let keys = [
            PrivateKey::generate_p256(),
            PrivateKey::EcdsaP384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            PrivateKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        ];
        for key in keys {
            let sig = key.sign(b"message").unwrap();
            let public = key.public_key();
            public.verify(b"message", &sig).unwrap();
            assert!(matches!(
                public.verify(b"messagE", &sig).unwrap_err(),
                Error::BadSignature(_)
            ));
            let pem_text = public.to_pem().unwrap();
            assert_eq!(PublicKey::from_pem(&pem_text).unwrap(), public);
        }
    }

    #[test]
    fn garbage_der_is_a_malformed_key() {
        assert!(matches!(
            PrivateKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00").unwrap_err(),
            Error::MalformedKey(_)
        ));
        assert!(matches!(
            PublicKey::from_spki_der(b"nonsense").unwrap_err(),
            Error::MalformedKey(_)
        ));
    }
}
