//! The one error type of customs-sign: every way a key, payload, envelope or bundle can be
//! rejected, each with a message that says what was wrong.

/// Everything that can go wrong while loading keys, signing or verifying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PEM document could not be read (bad armour, bad base64, unexpected label).
    #[error("malformed PEM: {0}")]
    MalformedPem(String),
    /// The encrypted-key envelope (the JSON inside the PEM) is not what cosign writes.
    #[error("malformed encrypted key: {0}")]
    MalformedEncryptedKey(String),
    /// The scrypt parameters are outside what cosign writes (or would cost too much memory).
    #[error("unsupported key derivation parameters: {0}")]
    UnsupportedKdf(String),
    /// The password did not open the encrypted key (secretbox authentication failed).
    #[error("wrong password: the encrypted private key could not be decrypted")]
    WrongPassword,
    /// The decrypted key is an SEC1 `EC PRIVATE KEY`; cosign accepts only PKCS#8.
    #[error(
        "parsing private key: the key is an SEC1 EC PRIVATE KEY, not PKCS#8 (cosign rejects this format)"
    )]
    Sec1NotPkcs8,
    /// A private or public key could not be decoded.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// The key algorithm or curve is not one customs supports.
    #[error("unsupported key type: {0}")]
    UnsupportedKeyType(String),
    /// A signature did not verify (or could not be decoded).
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// The signed payload names another image digest than the one being verified.
    #[error("digest mismatch: expected {expected}, payload has {found}")]
    DigestMismatch {
        /// The digest the verifier asked for.
        expected: String,
        /// The digest written in the payload.
        found: String,
    },
    /// An annotation the verifier requires is missing or has another value.
    #[error("annotation mismatch for {key:?}: expected {expected:?}, found {found:?}")]
    AnnotationMismatch {
        /// The annotation key.
        key: String,
        /// The value the verifier requires.
        expected: String,
        /// The value in the payload (None when absent).
        found: Option<String>,
    },
    /// A simple-signing payload that is not valid cosign JSON.
    #[error("malformed simple-signing payload: {0}")]
    MalformedPayload(String),
    /// A DSSE envelope that is not valid.
    #[error("malformed DSSE envelope: {0}")]
    MalformedEnvelope(String),
    /// An in-toto statement that is not valid.
    #[error("malformed in-toto statement: {0}")]
    MalformedStatement(String),
    /// No subject of the statement has the expected sha256 digest.
    #[error("no subject of the attestation has sha256 digest {expected}")]
    SubjectMismatch {
        /// The sha256 hex digest that was looked for.
        expected: String,
    },
    /// The statement's predicate type is not the one asked for.
    #[error("predicate type mismatch: expected {expected}, found {found}")]
    PredicateTypeMismatch {
        /// The predicate type URI asked for.
        expected: String,
        /// The predicate type URI in the statement.
        found: String,
    },
    /// A `--type` value that is neither a known short name nor a URI.
    #[error("invalid predicate type {0:?}: not a known type name nor a URI")]
    UnknownPredicateType(String),
    /// A Sigstore bundle that cannot be read or lacks required parts.
    #[error("malformed bundle: {0}")]
    MalformedBundle(String),
    /// A trusted_root.json that cannot be read.
    #[error("malformed trusted root: {0}")]
    MalformedTrustedRoot(String),
    /// An X.509 certificate that cannot be parsed.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// The certificate does not chain to a certificate authority in the trusted root.
    #[error("untrusted certificate: {0}")]
    UntrustedCertificate(String),
    /// A certificate was not valid at the time of signing.
    #[error("certificate not valid at {time} (unix seconds): {detail}")]
    CertificateNotValidAt {
        /// The signing time that was checked.
        time: i64,
        /// Which certificate and which window.
        detail: String,
    },
    /// The certificate's subject alternative name is not the expected identity.
    #[error("certificate identity mismatch: expected {expected}, certificate has {found:?}")]
    IdentityMismatch {
        /// The expected SAN (email or URI).
        expected: String,
        /// The SANs found in the certificate.
        found: Vec<String>,
    },
    /// The certificate's OIDC issuer extension is not the expected issuer.
    #[error("certificate OIDC issuer mismatch: expected {expected}, found {found:?}")]
    IssuerMismatch {
        /// The expected issuer URL.
        expected: String,
        /// The issuer in the certificate, if any.
        found: Option<String>,
    },
    /// A GitHub-workflow claim of the certificate is not the expected value.
    #[error("expected {claim} {expected:?} not found in certificate (it has {found:?})")]
    ClaimMismatch {
        /// The claim, e.g. `GitHub Workflow Ref`.
        claim: &'static str,
        /// The value required.
        expected: String,
        /// The certificate's value, if it has the claim.
        found: Option<String>,
    },
    /// No embedded SCT of the certificate verifies with a CT log of the trusted root.
    #[error("certificate transparency: {0}")]
    BadSct(String),
    /// A transparency-log entry names a log that the trusted root does not know.
    #[error("unknown transparency log {0}")]
    UnknownLog(String),
    /// The Rekor signed entry timestamp does not verify.
    #[error("Rekor SET (signed entry timestamp) does not verify")]
    BadSet,
    /// The Merkle inclusion proof does not lead to the stated root hash.
    #[error("inclusion proof does not verify: {0}")]
    BadInclusionProof(String),
    /// The signed checkpoint is malformed, does not match the proof, or its signature fails.
    #[error("checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    /// The transparency-log body does not describe this signature.
    #[error("transparency log entry does not match the signature: {0}")]
    TlogMismatch(String),
    /// An RFC 3161 timestamp that does not verify.
    #[error("RFC 3161 timestamp does not verify: {0}")]
    BadTimestamp(String),
    /// A keyless signature with no time that a signature vouches for.
    #[error("no trusted signing time: the bundle has neither a verified Rekor SET nor a verified RFC 3161 timestamp (an integratedTime without a SET is signed by nobody)")]
    NoTrustedTime,
    /// A transparency-log entry is required but the bundle has none.
    #[error("no transparency log entry (needed to establish the signing time)")]
    MissingTlogEntry,
    /// The verifier gave neither a key nor a certificate identity to check against.
    #[error("verification policy incomplete: {0}")]
    Policy(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
