//! Signing and verifying an image through its [`SignatureStore`]: the cosign rules applied to
//! every stored signature, bundle and attestation, keeping the ones that verify and the reason
//! each other one failed.

use std::collections::BTreeMap;

use customs_image::Digest;
use serde_json::{Map, Value};

use crate::bundle::{self, Bundle, BundlePolicy, VerifiedBundle};
use crate::certs::IdentityMatcher;
use crate::dsse::{self, Envelope};
use crate::error::Error;
use crate::intoto::{self, AttestationCheck, Statement};
use crate::keys::{PrivateKey, PublicKey};
use crate::layout::SignatureLayer;
use crate::legacy;
use crate::simple_signing::{self, Expectations};
use crate::store::{SignatureStore, StoreError, Subject};
use crate::trusted_root::TrustedRoot;

/// Predicate type of the in-toto statement a `--bundle-format` signature carries (cosign's
/// image-signing predicate).
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Why an image did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Nothing is stored for the image.
    #[error("no {what} found for {image}@{digest}")]
    NothingFound {
        /// "signatures" or "attestations".
        what: &'static str,
        /// The image name.
        image: String,
        /// The digest looked up.
        digest: Digest,
    },
    /// Something is stored, but none of it verified.
    #[error("no {what} of {image}@{digest} verified: {}", reasons(.failures))]
    NoneVerified {
        /// "signature" or "attestation".
        what: &'static str,
        /// The image name.
        image: String,
        /// The digest being verified.
        digest: Digest,
        /// Why each candidate failed, in the order found.
        failures: Vec<Error>,
    },
    /// The storage could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn reasons(failures: &[Error]) -> String {
    failures
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where a verified signature came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A layer of the `sha256-<hex>.sig` (or `.att`) manifest.
    Tag,
    /// A Sigstore bundle referrer (its manifest digest).
    Bundle(Digest),
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSignature {
    /// Where it was stored.
    pub source: Source,
    /// The signed bytes: the simple-signing payload, or the bundle's in-toto statement.
    pub payload: Vec<u8>,
    /// Things the user should know although the signature verified (e.g. annotations read
    /// from customs' old placement).
    pub warnings: Vec<String>,
}

/// What `sign` stored.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The image and its digest.
    pub subject: Subject,
    /// The exact payload signed.
    pub payload: Vec<u8>,
    /// Digest of the `.sig` manifest pushed.
    pub signature_manifest: Digest,
    /// Digest of the bundle referrer pushed, when a bundle was asked for.
    pub bundle_manifest: Option<Digest>,
}

/// Turns `k=v` annotations into the payload's `optional` object.
fn optional(annotations: &BTreeMap<String, String>) -> Map<String, Value> {
    annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// Signs the image `store` was opened for, as `cosign sign --key` does: the simple-signing
/// payload (with `annotations` as `optional`) is signed and appended to the `.sig` manifest.
/// With `with_bundle`, a v0.3 bundle holding a DSSE in-toto statement about the image is
/// stored as a referrer too.
pub fn sign_image(
    store: &SignatureStore,
    key: &PrivateKey,
    annotations: &BTreeMap<String, String>,
    with_bundle: bool,
) -> Result<Signed, SignError> {
    sign_image_with(store, key, annotations, with_bundle, None)
}

/// Records a bundle in a transparency log before it is stored (see [`sign_image_with`]).
pub type TlogRecorder<'a> = &'a dyn Fn(&mut Bundle, &Subject) -> Result<(), Error>;

/// [`sign_image`], with `record` given the bundle (when one is asked for) before it is stored,
/// to add its transparency-log entry (`customs sign --rekor-url`).
pub fn sign_image_with(
    store: &SignatureStore,
    key: &PrivateKey,
    annotations: &BTreeMap<String, String>,
    with_bundle: bool,
    record: Option<TlogRecorder<'_>>,
) -> Result<Signed, SignError> {
    let subject = store.resolve()?;
    let digest = subject.digest.to_string();
    let opt = optional(annotations);
    let payload = simple_signing::payload(&subject.docker_reference, &digest, Some(&opt));
    let sig = simple_signing::sign(key, &payload)?;
    let layer = SignatureLayer::simple_signing(&payload, &sig, BTreeMap::new());
    // The bundle (and its log entry) is made before anything is stored, so a log answer that
    // does not verify leaves the image as it was.
    let bundle = if with_bundle {
        // cosign v3 puts `-a k=v` in the subject's annotations, with an empty predicate.
        let mut statement = Statement::new(
            &subject.docker_reference,
            &digest,
            SIGN_PREDICATE_TYPE,
            Value::Object(Map::new()),
        );
        if !annotations.is_empty() {
            statement.subject[0].annotations = Some(opt);
        }
        let envelope = Envelope::sign(key, dsse::INTOTO_PAYLOAD_TYPE, &statement.to_json())?;
        let mut bundle = Bundle::with_key_hint(envelope, &key.public_key().cosign_hint()?);
        if let Some(record) = record {
            record(&mut bundle, &subject)?;
        }
        Some(bundle)
    } else {
        None
    };
    let signature_manifest = store.add_signature(&subject.digest, &payload, layer)?;
    let bundle_manifest = match bundle {
        Some(b) => Some(store.add_bundle(&subject, &b.to_json(), SIGN_PREDICATE_TYPE)?),
        None => None,
    };
    Ok(Signed {
        subject,
        payload,
        signature_manifest,
        bundle_manifest,
    })
}

/// Attests the image: `statement_for` receives the subject and returns the statement, which
/// is signed into a DSSE envelope and appended to the `.att` manifest. Returns the subject and
/// the envelope JSON stored.
pub fn attest_image(
    store: &SignatureStore,
    key: &PrivateKey,
    statement_for: impl FnOnce(&Subject) -> Statement,
) -> Result<(Subject, Vec<u8>), SignError> {
    let subject = store.resolve()?;
    let statement = statement_for(&subject);
    let envelope = Envelope::sign(key, dsse::INTOTO_PAYLOAD_TYPE, &statement.to_json())?;
    let json = envelope.to_json();
    let layer = SignatureLayer::attestation(&json, &statement.predicate_type);
    store.add_attestation(&subject.digest, &json, layer)?;
    Ok((subject, json))
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key could not sign.
    #[error(transparent)]
    Crypto(#[from] Error),
    /// The signature could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the annotations of a bundle statement the way simple signing checks `optional`:
/// where cosign v3 puts them (`subject[0].annotations`), else, for one release, where customs
/// used to (`predicate.annotations`), with a warning. Returns the warnings.
fn bundle_annotations(
    statement: &Statement,
    wanted: &BTreeMap<String, String>,
) -> Result<Vec<String>, Error> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let in_subject = statement
        .subject
        .first()
        .and_then(|s| s.annotations.as_ref());
    let old = statement
        .predicate
        .get("annotations")
        .and_then(Value::as_object);
    let (found_in, warnings) = match (in_subject, old) {
        (Some(a), _) => (Some(a), Vec::new()),
        (None, Some(a)) => (
            Some(a),
            vec!["annotations read from predicate.annotations, customs' old placement; cosign v3 reads only subject[0].annotations (re-sign to move them)".to_string()],
        ),
        (None, None) => (None, Vec::new()),
    };
    for (k, want) in wanted {
        let found = found_in.and_then(|a| a.get(k)).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        if found.as_deref() != Some(want.as_str()) {
            return Err(Error::AnnotationMismatch {
                key: k.clone(),
                expected: want.clone(),
                found,
            });
        }
    }
    Ok(warnings)
}

/// Verifies `subject`'s signatures with `key`, cosign's way: each `.sig` layer's signature
/// must verify over the exact payload bytes, the payload must name `subject.digest`, and carry
/// `annotations`. A layer's `dev.sigstore.cosign/bundle` SET, when present, must verify with a
/// Rekor key of the embedded public-good trusted root. Bundles among the referrers count too
/// (their in-toto subject must be the image). Returns every signature that verified; fails when
/// none did. See [`verify_signatures_with`] for another trusted root or required log evidence.
pub fn verify_signatures(
    store: &SignatureStore,
    subject: &Subject,
    key: &PublicKey,
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<VerifiedSignature>, VerifyError> {
    let root = TrustedRoot::public_good().unwrap_or_default();
    verify_signatures_with(store, subject, key, annotations, &root, false)
}

/// [`verify_signatures`] against `root` (its Rekor keys check the SETs of `.sig` layers and the
/// log entries of keyed bundles); with `require_tlog`, a signature without log evidence is
/// refused (cosign's default unless `--insecure-ignore-tlog`).
pub fn verify_signatures_with(
    store: &SignatureStore,
    subject: &Subject,
    key: &PublicKey,
    annotations: &BTreeMap<String, String>,
    root: &TrustedRoot,
    require_tlog: bool,
) -> Result<Vec<VerifiedSignature>, VerifyError> {
    let layers = store.signatures(&subject.digest)?;
    let bundles = store.bundles(&subject.digest)?;
    if layers.is_empty() && bundles.is_empty() {
        return Err(VerifyError::NothingFound {
            what: "signatures",
            image: subject.name.clone(),
            digest: subject.digest.clone(),
        });
    }
    let expected = Expectations {
        manifest_digest: subject.digest.to_string(),
        annotations: annotations.clone(),
    };
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    for stored in layers {
        if stored.layer.media_type != simple_signing::MEDIA_TYPE {
            failures.push(Error::MalformedPayload(format!(
                "layer {} has media type {:?}",
                stored.layer.digest, stored.layer.media_type
            )));
            continue;
        }
        let Some(sig) = stored
            .layer
            .annotations
            .get(crate::layout::SIGNATURE_ANNOTATION)
        else {
            failures.push(Error::BadSignature(format!(
                "layer {} has no signature annotation",
                stored.layer.digest
            )));
            continue;
        };
        let result = simple_signing::verify(&stored.blob, sig, key, &expected).and_then(|_| {
            legacy::check_keyed_layer(
                &stored.blob,
                sig,
                &stored.layer.annotations,
                key,
                root,
                require_tlog,
            )
        });
        match result {
            Ok(_) => verified.push(VerifiedSignature {
                source: Source::Tag,
                payload: stored.blob,
                warnings: Vec::new(),
            }),
            Err(e) => failures.push(e),
        }
    }
    let policy = BundlePolicy {
        key: Some(key.clone()),
        identity: None,
        identity_matcher: None,
        insecure_ignore_tlog: !require_tlog,
        attestation: AttestationCheck {
            sha256: Some(subject.digest.to_string()),
            predicate_type: None,
        },
    };
    for stored in bundles {
        let result = Bundle::from_json(&stored.bundle)
            .and_then(|b| bundle::verify_bundle(&b, root, &policy))
            .and_then(|v| bundle_annotations(&v.statement, annotations).map(|w| (v, w)));
        match result {
            Ok((v, warnings)) => verified.push(VerifiedSignature {
                source: Source::Bundle(stored.manifest_digest),
                payload: v.statement.to_json(),
                warnings,
            }),
            Err(e) => failures.push(e),
        }
    }
    finish(verified, failures, "signature", subject)
}

/// Verifies `subject`'s classic keyless `.sig` layers (cosign ≤ 2.x: certificate and bundle
/// annotations) offline: the signature with the certificate's key over a payload naming the
/// image, the SET (the only signing time), the chain and SCT at that time, and `identity`.
/// Layers without a certificate are skipped (they are keyed). `require_sct = false` is
/// cosign's `--insecure-ignore-sct`.
pub fn verify_signatures_keyless(
    store: &SignatureStore,
    subject: &Subject,
    root: &TrustedRoot,
    identity: impl Into<IdentityMatcher>,
    require_sct: bool,
) -> Result<Vec<VerifiedSignature>, VerifyError> {
    let identity: IdentityMatcher = identity.into();
    let layers = store.signatures(&subject.digest)?;
    let expected = Expectations {
        manifest_digest: subject.digest.to_string(),
        annotations: BTreeMap::new(),
    };
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    let mut keyless = 0;
    for stored in layers {
        let ann = &stored.layer.annotations;
        let cert = match legacy::layer_certificate(ann) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        keyless += 1;
        let Some(sig) = ann.get(crate::layout::SIGNATURE_ANNOTATION) else {
            failures.push(Error::BadSignature(
                "layer has no signature annotation".into(),
            ));
            continue;
        };
        let result = cert.public_key().and_then(|k| {
            simple_signing::verify(&stored.blob, sig, &k, &expected)?;
            legacy::check_keyless_layer(&stored.blob, sig, ann, &cert, root, &identity, require_sct)
        });
        match result {
            Ok(_) => verified.push(VerifiedSignature {
                source: Source::Tag,
                payload: stored.blob,
                warnings: Vec::new(),
            }),
            Err(e) => failures.push(e),
        }
    }
    if keyless == 0 && failures.is_empty() {
        return Err(VerifyError::NothingFound {
            what: "keyless signatures",
            image: subject.name.clone(),
            digest: subject.digest.clone(),
        });
    }
    finish(verified, failures, "keyless signature", subject)
}

/// Verifies `subject`'s bundles keylessly and fully offline: the certificate chains to
/// `root`, has `identity`, the transparency-log evidence verifies, and the in-toto subject is
/// the image. `require_sct = false` is cosign's `--insecure-ignore-sct`.
pub fn verify_bundles_keyless(
    store: &SignatureStore,
    subject: &Subject,
    root: &TrustedRoot,
    identity: impl Into<IdentityMatcher>,
    require_sct: bool,
) -> Result<Vec<VerifiedBundle>, VerifyError> {
    let options = bundle::VerifyOptions {
        insecure_ignore_sct: !require_sct,
        now: None,
    };
    let bundles = store.bundles(&subject.digest)?;
    if bundles.is_empty() {
        return Err(VerifyError::NothingFound {
            what: "signature bundles",
            image: subject.name.clone(),
            digest: subject.digest.clone(),
        });
    }
    let policy = BundlePolicy {
        key: None,
        identity: None,
        identity_matcher: Some(identity.into()),
        insecure_ignore_tlog: false,
        attestation: AttestationCheck {
            sha256: Some(subject.digest.to_string()),
            predicate_type: None,
        },
    };
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    for stored in bundles {
        match Bundle::from_json(&stored.bundle)
            .and_then(|b| bundle::verify_bundle_with(&b, root, &policy, &options))
        {
            Ok(v) => verified.push(v),
            Err(e) => failures.push(e),
        }
    }
    finish(verified, failures, "signature bundle", subject)
}

/// Verifies `subject`'s attestations with `key`: the DSSE envelope's signature, an in-toto
/// statement (v1 or v0.1) whose subject has the image's digest, and, when given, the predicate
/// type. Attestation bundles among the referrers count too. Returns the verified statements.
pub fn verify_attestations(
    store: &SignatureStore,
    subject: &Subject,
    key: &PublicKey,
    predicate_type: Option<&str>,
) -> Result<Vec<Statement>, VerifyError> {
    let layers = store.attestations(&subject.digest)?;
    let bundles = store.bundles(&subject.digest)?;
    let check = AttestationCheck {
        sha256: Some(subject.digest.to_string()),
        predicate_type: predicate_type.map(str::to_string),
    };
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    let mut found = 0;
    for stored in layers {
        found += 1;
        let result = Envelope::from_json(&stored.blob)
            .and_then(|env| intoto::verify_attestation(&env, key, &check));
        match result {
            Ok(st) => verified.push(st),
            Err(e) => failures.push(e),
        }
    }
    let policy = BundlePolicy {
        key: Some(key.clone()),
        identity: None,
        identity_matcher: None,
        insecure_ignore_tlog: true,
        attestation: check.clone(),
    };
    let root = TrustedRoot::default();
    for stored in bundles {
        let b = match Bundle::from_json(&stored.bundle) {
            Ok(b) => b,
            Err(e) => {
                found += 1;
                failures.push(e);
                continue;
            }
        };
        // Signature bundles are not attestations.
        if is_signature_bundle(&b) {
            continue;
        }
        found += 1;
        match bundle::verify_bundle(&b, &root, &policy) {
            Ok(v) => verified.push(v.statement),
            Err(e) => failures.push(e),
        }
    }
    if found == 0 {
        return Err(VerifyError::NothingFound {
            what: "attestations",
            image: subject.name.clone(),
            digest: subject.digest.clone(),
        });
    }
    finish(verified, failures, "attestation", subject)
}

/// Whether a bundle is an image signature (cosign's sign predicate) rather than an attestation.
fn is_signature_bundle(b: &Bundle) -> bool {
    b.dsse_envelope
        .as_ref()
        .and_then(|e| e.payload_bytes().ok())
        .and_then(|p| Statement::from_json(&p).ok())
        .is_some_and(|s| s.predicate_type == SIGN_PREDICATE_TYPE)
}

/// Verifies `subject`'s attestations keylessly and offline, from both places cosign stores
/// them: attestation bundles among the referrers (certificate chain to `root`, SCT, signing
/// time from a verified SET or timestamp, log entries, identity) and classic keyless `.att`
/// layers (certificate and bundle annotations, see
/// [`legacy::check_keyless_attestation_layer`]). The in-toto subject must be the image and,
/// when given, the predicate type `predicate_type`. `.att` layers without a certificate are
/// keyed and skipped. Returns the verified statements.
pub fn verify_attestations_keyless(
    store: &SignatureStore,
    subject: &Subject,
    root: &TrustedRoot,
    identity: impl Into<IdentityMatcher>,
    predicate_type: Option<&str>,
    require_sct: bool,
) -> Result<Vec<Statement>, VerifyError> {
    let identity: IdentityMatcher = identity.into();
    let check = AttestationCheck {
        sha256: Some(subject.digest.to_string()),
        predicate_type: predicate_type.map(str::to_string),
    };
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    let mut found = 0;
    for stored in store.attestations(&subject.digest)? {
        let cert = match legacy::layer_certificate(&stored.layer.annotations) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                found += 1;
                failures.push(e);
                continue;
            }
        };
        found += 1;
        let result = legacy::check_keyless_attestation_layer(
            &stored.blob,
            &stored.layer.annotations,
            &cert,
            root,
            &identity,
            require_sct,
        )
        .and_then(|(payload, _)| {
            let env = Envelope::from_json(&stored.blob)?;
            intoto::statement_of_verified(&env, &payload, &check)
        });
        match result {
            Ok(st) => verified.push(st),
            Err(e) => failures.push(e),
        }
    }
    let policy = BundlePolicy {
        key: None,
        identity: None,
        identity_matcher: Some(identity),
        insecure_ignore_tlog: false,
        attestation: check,
    };
    let options = bundle::VerifyOptions {
        insecure_ignore_sct: !require_sct,
        now: None,
    };
    for stored in store.bundles(&subject.digest)? {
        let b = match Bundle::from_json(&stored.bundle) {
            Ok(b) => b,
            Err(e) => {
                found += 1;
                failures.push(e);
                continue;
            }
        };
        if is_signature_bundle(&b) {
            continue;
        }
        found += 1;
        match bundle::verify_bundle_with(&b, root, &policy, &options) {
            Ok(v) => verified.push(v.statement),
            Err(e) => failures.push(e),
        }
    }
    if found == 0 {
        return Err(VerifyError::NothingFound {
            what: "keyless attestations",
            image: subject.name.clone(),
            digest: subject.digest.clone(),
        });
    }
    finish(verified, failures, "keyless attestation", subject)
}

fn finish<T>(
    verified: Vec<T>,
    failures: Vec<Error>,
    what: &'static str,
    subject: &Subject,
) -> Result<Vec<T>, VerifyError> {
    if verified.is_empty() {
        return Err(VerifyError::NoneVerified {
            what,
            image: subject.name.clone(),
            digest: subject.digest.clone(),
            failures,
        });
    }
    Ok(verified)
}
