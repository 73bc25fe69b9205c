//! Every vector in shared/cosign gives the outcome its README states (the README's outcomes were
//! checked against cosign, sigstore-go/python and Go's x509; see shared/cosign/README.md), plus
//! round trips and one test per way of tampering.

use std::collections::BTreeMap;

use base64::Engine as _;
use customs_sign::bundle::{verify_bundle, Bundle, BundlePolicy};
use customs_sign::certs::{self, CertificateIdentity, ParsedCertificate};
use customs_sign::dsse::Envelope;
use customs_sign::intoto::{self, AttestationCheck, PREDICATE_SLSA_V02};
use customs_sign::keys::{self, PrivateKey, PublicKey};
use customs_sign::layout::{self, SignatureLayer};
use customs_sign::rekor::{self, Signer};
use customs_sign::simple_signing::{self, Expectations};
use customs_sign::trusted_root::{TransparencyLog, TrustedRoot};
use customs_sign::Error;
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn vector(rel: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/cosign/").to_string() + rel;
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn text(rel: &str) -> String {
    String::from_utf8(vector(rel)).unwrap()
}

fn public(rel: &str) -> PublicKey {
    PublicKey::from_pem(&text(rel)).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------- keys/

#[test]
fn pkcs8_key_vectors_decrypt_to_the_stated_key_types() {
    let cases = [
        ("keys/pemcosignkey.key", "hello", "ecdsa-p256"),
        ("keys/pemsigstorekey.key", "hello", "ecdsa-p256"),
        (
            "keys/sigstore-rs/ecdsa_encrypted_private.key",
            "123",
            "ecdsa-p256",
        ),
        (
            "keys/sigstore-rs/cosign_generated_encrypted_empty_private.key",
            "",
            "ecdsa-p256",
        ),
        (
            "keys/sigstore-rs/ed25519_encrypted_private.key",
            "123",
            "ed25519",
        ),
        ("keys/sigstore-rs/rsa_encrypted_private.key", "123", "rsa"),
    ];
    for (file, password, algorithm) in cases {
        let key = keys::decrypt_private_key(&text(file), password.as_bytes())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.algorithm(), algorithm, "{file}");
        // Each decrypted key signs something its own public key verifies; RSA keys are
        // verify-only (RUSTSEC-2023-0071), so signing with one is a clear error.
        if algorithm == "rsa" {
            let err = key.sign(b"vector check").unwrap_err().to_string();
            assert!(err.contains("RUSTSEC-2023-0071"), "{err}");
            continue;
        }
        let sig = key.sign(b"vector check").unwrap();
        key.public_key().verify(b"vector check", &sig).unwrap();
    }
}

#[test]
fn decrypted_keys_match_their_published_public_keys() {
    for (key_file, pub_file) in [
        ("keys/pemcosignkey.key", "keys/pemcosignkey.pub"),
        ("keys/pemsigstorekey.key", "keys/pemsigstorekey.pub"),
    ] {
        let key = keys::decrypt_private_key(&text(key_file), b"hello").unwrap();
        assert_eq!(key.public_key(), public(pub_file), "{key_file}");
        assert_eq!(
            key.public_key().to_spki_der().unwrap(),
            public(pub_file).to_spki_der().unwrap()
        );
    }
}

#[test]
fn rsa_key_is_4096_bits() {
    use rsa::traits::PublicKeyParts;
    let key =
        keys::decrypt_private_key(&text("keys/sigstore-rs/rsa_encrypted_private.key"), b"123")
            .unwrap();
    let PublicKey::Rsa(public) = key.public_key() else {
        panic!("not RSA");
    };
    assert_eq!(public.n().bits(), 4096);
}

#[test]
fn every_key_vector_rejects_a_wrong_password() {
    for file in [
        "keys/pemcosignkey.key",
        "keys/pemsigstorekey.key",
        "keys/pemcosigneckey.key",
        "keys/sigstore-rs/ecdsa_encrypted_private.key",
        "keys/sigstore-rs/cosign_generated_encrypted_empty_private.key",
        "keys/sigstore-rs/ed25519_encrypted_private.key",
        "keys/sigstore-rs/rsa_encrypted_private.key",
    ] {
        let err = keys::decrypt_private_key(&text(file), b"wrong-password").unwrap_err();
        assert!(matches!(err, Error::WrongPassword), "{file}: {err}");
    }
}

#[test]
fn sec1_wrapped_key_decrypts_but_is_rejected() {
    let pem_text = text("keys/pemcosigneckey.key");
    // The password is right: decryption itself succeeds...
    let der = keys::decrypt_private_key_der(&pem_text, b"hello").unwrap();
    assert!(!der.is_empty());
    // ...but the plaintext is SEC1, which cosign refuses.
    let err = keys::decrypt_private_key(&pem_text, b"hello").unwrap_err();
    assert!(matches!(err, Error::Sec1NotPkcs8), "{err}");
}

#[test]
fn malformed_key_pems_give_clear_errors() {
    let good = text("keys/pemsigstorekey.key");
    let truncated = &good[..good.len() / 2];
    assert!(matches!(
        keys::decrypt_private_key(truncated, b"hello").unwrap_err(),
        Error::MalformedPem(_)
    ));
    assert!(matches!(
        keys::decrypt_private_key("not a key at all", b"").unwrap_err(),
        Error::MalformedPem(_)
    ));
    // A public key where a private key is expected.
    assert!(matches!(
        keys::decrypt_private_key(&text("keys/pemsigstorekey.pub"), b"").unwrap_err(),
        Error::MalformedPem(_)
    ));
    let not_json = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\naGVsbG8=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    assert!(matches!(
        keys::decrypt_private_key(not_json, b"").unwrap_err(),
        Error::MalformedEncryptedKey(_)
    ));
    let bad_b64 = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    assert!(matches!(
        PublicKey::from_pem(bad_b64).unwrap_err(),
        Error::MalformedPem(_)
    ));
}

#[test]
fn generated_key_pair_round_trips_through_pem_with_empty_password() {
    let pair = keys::generate_key_pair(b"").unwrap();
    assert!(pair
        .private_pem
        .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
    assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let key = keys::decrypt_private_key(&pair.private_pem, b"").unwrap();
    assert_eq!(key.algorithm(), "ecdsa-p256");
    assert_eq!(
        key.public_key(),
        PublicKey::from_pem(&pair.public_pem).unwrap()
    );
    assert!(matches!(
        keys::decrypt_private_key(&pair.private_pem, b"x").unwrap_err(),
        Error::WrongPassword
    ));
}

#[test]
fn publish_key_with_single_line_base64_loads() {
    let key = public("bundles/publish_key.pub");
    assert!(matches!(key, PublicKey::EcdsaP256(_)));
    // Same key as the 64-column PEM we write.
    assert_eq!(PublicKey::from_pem(&key.to_pem().unwrap()).unwrap(), key);
}

// ---------------------------------------------------------------- simple-signing/

const PAYLOAD_DIGEST: &str =
    "sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec";

fn expect(digest: &str) -> Expectations {
    Expectations {
        manifest_digest: digest.to_string(),
        annotations: BTreeMap::new(),
    }
}

#[test]
fn built_payload_is_byte_identical_to_cosigns() {
    let built = simple_signing::payload("index.docker.io/namespace/image", PAYLOAD_DIGEST, None);
    assert_eq!(built, vector("simple-signing/payload.json"));
    assert_eq!(built.len(), 247);
}

#[test]
fn payload_signature_verifies_with_the_signing_key() {
    let claims = simple_signing::verify(
        &vector("simple-signing/payload.json"),
        &text("simple-signing/payload.sig"),
        &public("keys/pemsigstorekey.pub"),
        &expect(PAYLOAD_DIGEST),
    )
    .unwrap();
    assert_eq!(claims.docker_reference, "index.docker.io/namespace/image");
    assert!(claims.annotations.is_empty());
}

#[test]
fn payload_signature_fails_with_another_key() {
    let err = simple_signing::verify(
        &vector("simple-signing/payload.json"),
        &text("simple-signing/payload.sig"),
        &public("keys/pemcosignkey.pub"),
        &expect(PAYLOAD_DIGEST),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn payload_signature_fails_on_the_tampered_payload() {
    let err = simple_signing::verify(
        &vector("simple-signing/payload-tampered.json"),
        &text("simple-signing/payload.sig"),
        &public("keys/pemsigstorekey.pub"),
        &expect(PAYLOAD_DIGEST),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn payload_for_another_image_digest_is_a_digest_mismatch() {
    let other = "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a";
    let err = simple_signing::verify(
        &vector("simple-signing/payload.json"),
        &text("simple-signing/payload.sig"),
        &public("keys/pemsigstorekey.pub"),
        &expect(other),
    )
    .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}

#[test]
fn sign_then_verify_with_a_vector_key_and_required_annotations() {
    let key = keys::decrypt_private_key(&text("keys/pemsigstorekey.key"), b"hello").unwrap();
    let mut ann = serde_json::Map::new();
    ann.insert("env".into(), "prod".into());
    let payload = simple_signing::payload("example.com/app", PAYLOAD_DIGEST, Some(&ann));
    let sig = simple_signing::sign(&key, &payload).unwrap();
    let pubkey = public("keys/pemsigstorekey.pub");

    let mut want = expect(PAYLOAD_DIGEST);
    want.annotations.insert("env".into(), "prod".into());
    let claims = simple_signing::verify(&payload, &sig, &pubkey, &want).unwrap();
    assert_eq!(claims.annotations["env"], "prod");

    want.annotations.insert("env".into(), "dev".into());
    let err = simple_signing::verify(&payload, &sig, &pubkey, &want).unwrap_err();
    assert!(matches!(err, Error::AnnotationMismatch { .. }), "{err}");

    let mut missing = expect(PAYLOAD_DIGEST);
    missing.annotations.insert("team".into(), "x".into());
    let err = simple_signing::verify(&payload, &sig, &pubkey, &missing).unwrap_err();
    assert!(
        matches!(err, Error::AnnotationMismatch { ref found, .. } if found.is_none()),
        "{err}"
    );
}

#[test]
fn one_changed_payload_byte_breaks_the_signature() {
    let key = PrivateKey::generate_p256();
    let payload = simple_signing::payload("example.com/app", PAYLOAD_DIGEST, None);
    let sig = simple_signing::sign(&key, &payload).unwrap();
    let mut changed = payload.clone();
    let i = changed.len() - 3;
    changed[i] ^= 1;
    let err = simple_signing::verify(&changed, &sig, &key.public_key(), &expect(PAYLOAD_DIGEST))
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn signed_garbage_is_a_malformed_payload() {
    let key = PrivateKey::generate_p256();
    let sig = simple_signing::sign(&key, b"{\"critical\":1}").unwrap();
    let err = simple_signing::verify(b"{\"critical\":1}", &sig, &key.public_key(), &expect("x"))
        .unwrap_err();
    assert!(matches!(err, Error::MalformedPayload(_)), "{err}");
}

// ---------------------------------------------------------------- image-signature/

struct ImageSignature {
    payload: Vec<u8>,
    signature: String,
    bundle: String,
}

fn image_signature() -> ImageSignature {
    let raw = vector("image-signature/signature-1");
    let json = raw.strip_prefix(b"\x00sigstore-json\n".as_slice()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    let ann = &v["annotations"];
    ImageSignature {
        payload: B64.decode(v["payload"].as_str().unwrap()).unwrap(),
        signature: ann[layout::SIGNATURE_ANNOTATION]
            .as_str()
            .unwrap()
            .to_string(),
        bundle: ann[layout::BUNDLE_ANNOTATION].as_str().unwrap().to_string(),
    }
}

#[test]
fn real_cosign_image_signature_verifies_against_the_manifest_digest() {
    let sig = image_signature();
    let digest = layout::sha256_digest(&vector("image-signature/manifest.json"));
    assert_eq!(
        digest,
        "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"
    );
    let claims = simple_signing::verify(
        &sig.payload,
        &sig.signature,
        &public("image-signature/cosign2.pub"),
        &expect(&digest),
    )
    .unwrap();
    assert_eq!(
        claims.docker_reference,
        "192.168.64.2:5000/cosign-signed/key-1"
    );
    // Our payload builder reproduces cosign's bytes for this image too.
    assert_eq!(
        simple_signing::payload(&claims.docker_reference, &digest, None),
        sig.payload
    );
}

#[test]
fn real_cosign_image_signature_fails_with_an_unrelated_key() {
    let sig = image_signature();
    let err = simple_signing::verify(
        &sig.payload,
        &sig.signature,
        &public("keys/pemcosignkey.pub"),
        &expect("sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn cosign_rekor_bundle_annotation_verifies_with_rekor_pub() {
    let sig = image_signature();
    let log = TransparencyLog::from_public_key(public("image-signature/rekor.pub")).unwrap();
    assert_eq!(
        hex::encode(&log.log_id),
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );
    let signer = public("image-signature/cosign2.pub");
    let entry = rekor::verify_cosign_bundle_annotation(
        &sig.bundle,
        std::slice::from_ref(&log),
        &sig.payload,
        &sig.signature,
        &Signer::Key(&signer),
    )
    .unwrap();
    assert_eq!(entry.integrated_time, 1674251859);
    assert_eq!(entry.log_index, 11608800);

    // The same log key, taken from the trusted root, works as well.
    let root = TrustedRoot::from_json(&vector("bundles/trusted_root_pgi.json")).unwrap();
    rekor::verify_cosign_bundle_annotation(
        &sig.bundle,
        &root.tlogs,
        &sig.payload,
        &sig.signature,
        &Signer::Key(&signer),
    )
    .unwrap();
}

#[test]
fn cosign_rekor_bundle_with_a_changed_set_fails() {
    let sig = image_signature();
    let log = TransparencyLog::from_public_key(public("image-signature/rekor.pub")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&sig.bundle).unwrap();
    // Use another valid SET (the keyed bundle's) so only the signature check can fail.
    v["SignedEntryTimestamp"] = "MEYCIQDhoULWkbm7KZ4P4qAWHLw7d9X66AM/ZHNRvKgRahZg1gIhAILdjWLhlzSAy3XoP7sSFJKLwobemh2dtglhAXjSfEvA".into();
    let signer = public("image-signature/cosign2.pub");
    let err = rekor::verify_cosign_bundle_annotation(
        &v.to_string(),
        &[log],
        &sig.payload,
        &sig.signature,
        &Signer::Key(&signer),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSet), "{err}");
}

#[test]
fn cosign_rekor_bundle_for_another_signer_is_a_tlog_mismatch() {
    let sig = image_signature();
    let log = TransparencyLog::from_public_key(public("image-signature/rekor.pub")).unwrap();
    let other = public("keys/pemcosignkey.pub");
    let err = rekor::verify_cosign_bundle_annotation(
        &sig.bundle,
        &[log],
        &sig.payload,
        &sig.signature,
        &Signer::Key(&other),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TlogMismatch(_)), "{err}");
}

#[test]
fn signature_layer_for_the_vector_matches_the_readme_descriptor() {
    let sig = image_signature();
    let layer = SignatureLayer::simple_signing(&sig.payload, &sig.signature, BTreeMap::new());
    assert_eq!(layer.size, 253);
    assert_eq!(
        layer.digest,
        "sha256:5f410774769a2edd4cd1ee36072223018ac93495c968a442d4208da5ca753f37"
    );
    assert_eq!(
        layout::signature_tag(
            "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"
        )
        .unwrap(),
        "sha256-0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a.sig"
    );
    let built = layout::build_manifest(&[layer]);
    let v: serde_json::Value = serde_json::from_slice(&built.manifest).unwrap();
    assert_eq!(
        v["layers"][0]["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    assert_eq!(
        v["layers"][0]["annotations"][layout::SIGNATURE_ANNOTATION],
        sig.signature.as_str()
    );
}

// ---------------------------------------------------------------- blob-attestation/

fn blob_sha() -> String {
    sha256_hex(&vector("blob-attestation/blob"))
}

fn check(sha: Option<String>, predicate_type: Option<&str>) -> AttestationCheck {
    AttestationCheck {
        sha256: sha,
        predicate_type: predicate_type.map(str::to_string),
    }
}

fn verify_dsse_vector(
    file: &str,
    chk: &AttestationCheck,
) -> customs_sign::Result<intoto::Statement> {
    let env = Envelope::from_json(&vector(&format!("blob-attestation/{file}"))).unwrap();
    intoto::verify_attestation(&env, &public("blob-attestation/cosign.pub"), chk)
}

#[test]
fn slsa_attestation_verifies_for_its_blob_and_type() {
    assert_eq!(
        blob_sha(),
        "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24"
    );
    let slsa = intoto::predicate_type_uri("slsaprovenance").unwrap();
    let st = verify_dsse_vector(
        "slsa-provenance.dsse.json",
        &check(Some(blob_sha()), Some(&slsa)),
    )
    .unwrap();
    assert_eq!(st.predicate_type, PREDICATE_SLSA_V02);
    assert_eq!(st.statement_type, intoto::STATEMENT_V01);
    // --digest 658781cd… --digestAlg sha256, no blob.
    verify_dsse_vector(
        "slsa-provenance.dsse.json",
        &check(
            Some("sha256:658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24".into()),
            Some(&slsa),
        ),
    )
    .unwrap();
    // --check-claims=false: any blob.
    verify_dsse_vector("slsa-provenance.dsse.json", &check(None, None)).unwrap();
}

#[test]
fn slsa_attestation_fails_for_another_blob() {
    let other = sha256_hex(&vector("blob-attestation/other-blob"));
    let err =
        verify_dsse_vector("slsa-provenance.dsse.json", &check(Some(other), None)).unwrap_err();
    assert!(matches!(err, Error::SubjectMismatch { .. }), "{err}");
}

#[test]
fn slsa_attestation_fails_for_type_custom() {
    let custom = intoto::predicate_type_uri("custom").unwrap();
    let err = verify_dsse_vector(
        "slsa-provenance.dsse.json",
        &check(Some(blob_sha()), Some(&custom)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::PredicateTypeMismatch { .. }), "{err}");
}

#[test]
fn multiple_subjects_verify_when_one_matches() {
    let slsa = intoto::predicate_type_uri("slsaprovenance").unwrap();
    verify_dsse_vector(
        "multiple-subjects.dsse.json",
        &check(Some(blob_sha()), Some(&slsa)),
    )
    .unwrap();
    let spdx = intoto::predicate_type_uri("spdx").unwrap();
    let err = verify_dsse_vector(
        "multiple-subjects.dsse.json",
        &check(Some(blob_sha()), Some(&spdx)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::PredicateTypeMismatch { .. }), "{err}");
}

#[test]
fn attestations_without_a_matching_sha256_subject_fail() {
    for file in [
        "multiple-subjects-invalid.dsse.json",
        "missing-sha256.dsse.json",
        "empty-subject.dsse.json",
    ] {
        let err = verify_dsse_vector(file, &check(Some(blob_sha()), None)).unwrap_err();
        assert!(
            matches!(err, Error::SubjectMismatch { .. }),
            "{file}: {err}"
        );
    }
}

#[test]
fn changed_predicate_breaks_the_envelope_signature() {
    let mut env =
        Envelope::from_json(&vector("blob-attestation/slsa-provenance.dsse.json")).unwrap();
    let payload = env.payload_bytes().unwrap();
    let changed = String::from_utf8(payload)
        .unwrap()
        .replace(r#""id":"2""#, r#""id":"3""#);
    env.payload = B64.encode(changed);
    let err = intoto::verify_attestation(
        &env,
        &public("blob-attestation/cosign.pub"),
        &AttestationCheck::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

fn keyed_policy(ignore_tlog: bool) -> BundlePolicy {
    BundlePolicy {
        key: Some(public("blob-attestation/cosign.pub")),
        identity: None,
        identity_matcher: None,
        insecure_ignore_tlog: ignore_tlog,
        attestation: check(
            Some(blob_sha()),
            Some(&intoto::predicate_type_uri("slsaprovenance").unwrap()),
        ),
    }
}

#[test]
fn keyed_bundle_without_tlog_verifies_when_tlog_is_ignored() {
    let bundle = Bundle::from_json(&vector(
        "blob-attestation/slsa-provenance.bundle.sigstore.json",
    ))
    .unwrap();
    let root = TrustedRoot::from_json(&vector("blob-attestation/trusted_root_empty.json")).unwrap();
    let verified = verify_bundle(&bundle, &root, &keyed_policy(true)).unwrap();
    assert_eq!(verified.verified_tlog_entries, 0);
    assert_eq!(verified.statement.predicate_type, PREDICATE_SLSA_V02);

    let err = verify_bundle(&bundle, &root, &keyed_policy(false)).unwrap_err();
    assert!(matches!(err, Error::MissingTlogEntry), "{err}");
}

#[test]
fn keyed_bundle_with_bad_signature_fails() {
    let bundle = Bundle::from_json(&vector(
        "blob-attestation/slsa-provenance-badsig.bundle.sigstore.json",
    ))
    .unwrap();
    let root = TrustedRoot::from_json(&vector("blob-attestation/trusted_root_empty.json")).unwrap();
    let err = verify_bundle(&bundle, &root, &keyed_policy(true)).unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn written_bundle_verifies_like_the_upstream_one() {
    let upstream = Bundle::from_json(&vector(
        "blob-attestation/slsa-provenance.bundle.sigstore.json",
    ))
    .unwrap();
    let env = upstream.dsse_envelope.clone().unwrap();
    let ours = Bundle::with_key_hint(env, "hint");
    let json: serde_json::Value = serde_json::from_slice(&ours.to_json()).unwrap();
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        json["verificationMaterial"],
        serde_json::json!({"publicKey": {"hint": "hint"}})
    );
    let reread = Bundle::from_json(&ours.to_json()).unwrap();
    let root = TrustedRoot::from_json(&vector("blob-attestation/trusted_root_empty.json")).unwrap();
    verify_bundle(&reread, &root, &keyed_policy(true)).unwrap();
}

#[test]
fn attest_round_trip_with_a_fresh_key() {
    let key = PrivateKey::generate_p256();
    let digest = layout::sha256_digest(b"image manifest");
    let predicate =
        intoto::predicate_from_file("cyclonedx", br#"{"bomFormat":"CycloneDX"}"#, "").unwrap();
    let uri = intoto::predicate_type_uri("cyclonedx").unwrap();
    let st = intoto::Statement::new("example.com/app", &digest, &uri, predicate);
    let env = Envelope::sign(&key, customs_sign::dsse::INTOTO_PAYLOAD_TYPE, &st.to_json()).unwrap();
    let layer = SignatureLayer::attestation(&env.to_json(), &uri);
    assert_eq!(layer.annotations["predicateType"], uri);
    let chk = check(Some(digest.clone()), Some(&uri));
    let back = intoto::verify_attestation(
        &Envelope::from_json(&env.to_json()).unwrap(),
        &key.public_key(),
        &chk,
    )
    .unwrap();
    assert_eq!(back, st);
    // Digest of another image.
    let err = intoto::verify_attestation(
        &env,
        &key.public_key(),
        &check(Some(layout::sha256_digest(b"another")), Some(&uri)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::SubjectMismatch { .. }), "{err}");
    // Wrong key.
    let err = intoto::verify_attestation(&env, &PrivateKey::generate_p256().public_key(), &chk)
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

// ---------------------------------------------------------------- bundles/ (keyless)

const KEYLESS_DIGEST: &str = "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";

fn keyless_policy(subject: &str, issuer: &str) -> BundlePolicy {
    BundlePolicy {
        key: None,
        identity: Some(CertificateIdentity {
            subject: subject.to_string(),
            issuer: issuer.to_string(),
        }),
        identity_matcher: None,
        insecure_ignore_tlog: false,
        attestation: check(
            Some(KEYLESS_DIGEST.to_string()),
            Some("https://cosign.sigstore.dev/attestation/v1"),
        ),
    }
}

fn good_keyless_policy() -> BundlePolicy {
    keyless_policy("cody@soyland.com", "https://github.com/login/oauth")
}

fn keyless_json() -> serde_json::Value {
    serde_json::from_slice(&vector("bundles/oci-attestation.sigstore.json")).unwrap()
}

fn pgi_root() -> TrustedRoot {
    TrustedRoot::from_json(&vector("bundles/trusted_root_pgi.json")).unwrap()
}

fn verify_keyless(v: &serde_json::Value, policy: &BundlePolicy) -> customs_sign::Result<()> {
    let bundle = Bundle::from_json(v.to_string().as_bytes())?;
    verify_bundle(&bundle, &pgi_root(), policy).map(|_| ())
}

#[test]
fn keyless_bundle_verifies_offline() {
    let bundle = Bundle::from_json(&vector("bundles/oci-attestation.sigstore.json")).unwrap();
    let verified = verify_bundle(&bundle, &pgi_root(), &good_keyless_policy()).unwrap();
    assert_eq!(verified.integrated_time, Some(1740770291));
    assert_eq!(verified.verified_tlog_entries, 1);
    assert_eq!(verified.certificate_identities, vec!["cody@soyland.com"]);
    assert_eq!(verified.statement.subject[0].name, "127.0.0.1:60943/repo");
    assert_eq!(verified.statement.predicate["Data"], "{\"foo\": \"bar\"}\n");
}

#[test]
fn keyless_bundle_fails_for_another_image_digest() {
    let mut policy = good_keyless_policy();
    policy.attestation.sha256 = Some(sha256_hex(b"another image"));
    let err = verify_keyless(&keyless_json(), &policy).unwrap_err();
    assert!(matches!(err, Error::SubjectMismatch { .. }), "{err}");
}

#[test]
fn keyless_bundle_fails_for_another_identity() {
    let err = verify_keyless(
        &keyless_json(),
        &keyless_policy("wrong@example.com", "https://github.com/login/oauth"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::IdentityMismatch { .. }), "{err}");
}

#[test]
fn keyless_bundle_fails_for_another_issuer() {
    let err = verify_keyless(
        &keyless_json(),
        &keyless_policy("cody@soyland.com", "https://accounts.google.com"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");
}

#[test]
fn keyless_bundle_needs_an_identity_policy() {
    let mut policy = good_keyless_policy();
    policy.identity = None;
    let err = verify_keyless(&keyless_json(), &policy).unwrap_err();
    assert!(matches!(err, Error::Policy(_)), "{err}");
}

fn first_entry(v: &mut serde_json::Value) -> &mut serde_json::Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

#[test]
fn keyless_bundle_with_a_wrong_set_fails() {
    let mut v = keyless_json();
    // A real SET, but for another entry (the keyed bundle's).
    first_entry(&mut v)["inclusionPromise"]["signedEntryTimestamp"] =
        "MEYCIQDhoULWkbm7KZ4P4qAWHLw7d9X66AM/ZHNRvKgRahZg1gIhAILdjWLhlzSAy3XoP7sSFJKLwobemh2dtglhAXjSfEvA".into();
    let err = verify_keyless(&v, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::BadSet), "{err}");
}

#[test]
fn keyless_bundle_with_a_wrong_checkpoint_signature_fails() {
    let mut v = keyless_json();
    let proof = &mut first_entry(&mut v)["inclusionProof"];
    let note = proof["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let (body, sig_line) = note.split_once("\n\n").unwrap();
    let b64 = sig_line.trim_end().rsplit_once(' ').unwrap().1;
    let mut raw = B64.decode(b64).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    let forged = format!(
        "{body}\n\n\u{2014} rekor.sigstore.dev {}\n",
        B64.encode(raw)
    );
    proof["checkpoint"]["envelope"] = forged.into();
    let err = verify_keyless(&v, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::BadCheckpoint(_)), "{err}");
}

#[test]
fn keyless_bundle_with_a_wrong_proof_hash_fails() {
    let mut v = keyless_json();
    first_entry(&mut v)["inclusionProof"]["hashes"][3] = B64.encode([7u8; 32]).into();
    let err = verify_keyless(&v, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::BadInclusionProof(_)), "{err}");
}

#[test]
fn keyless_bundle_with_the_signature_of_another_envelope_fails() {
    let mut v = keyless_json();
    // The DSSE signature of another bundle: not made by this certificate's key.
    v["dsseEnvelope"]["signatures"][0]["sig"] =
        "MEUCIBnkgYZPKzUrd8ClQYUH3c7AbNe65TAu0U/KcDfRAiSrAiEAusNy2Y5EJ77Kqqym1+PmZQ2wHP8xl467wiBfP4902lE=".into();
    let err = verify_keyless(&v, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn keyless_bundle_fails_against_a_root_without_its_issuing_ca() {
    let mut root_json: serde_json::Value =
        serde_json::from_slice(&vector("bundles/trusted_root_pgi.json")).unwrap();
    // Keep only the retired 2021-2022 CA, which did not issue this certificate.
    root_json["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let root = TrustedRoot::from_json(root_json.to_string().as_bytes()).unwrap();
    let bundle = Bundle::from_json(&vector("bundles/oci-attestation.sigstore.json")).unwrap();
    let err = verify_bundle(&bundle, &root, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::UntrustedCertificate(_)), "{err}");
}

#[test]
fn leaf_certificate_is_not_valid_an_hour_after_signing() {
    let v = keyless_json();
    let der = B64
        .decode(
            v["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = ParsedCertificate::from_der(&der).unwrap();
    let root = pgi_root();
    certs::verify_chain(&leaf, &root, 1740770291).unwrap();
    let err = certs::verify_chain(&leaf, &root, 1740770291 + 3600).unwrap_err();
    assert!(matches!(err, Error::CertificateNotValidAt { .. }), "{err}");
    assert_eq!(
        leaf.oidc_issuer().as_deref(),
        Some("https://github.com/login/oauth")
    );
}

// ---------------------------------------------------------------- bundles/ (keyed v0.1)

fn publish_policy(key: PublicKey) -> BundlePolicy {
    BundlePolicy {
        key: Some(key),
        identity: None,
        identity_matcher: None,
        insecure_ignore_tlog: false,
        attestation: check(
            None,
            Some("https://github.com/npm/attestation/tree/main/specs/publish/v0.1"),
        ),
    }
}

#[test]
fn keyed_v01_bundle_with_set_verifies() {
    let bundle = Bundle::from_json(&vector("bundles/bundle-publish.json")).unwrap();
    let verified = verify_bundle(
        &bundle,
        &pgi_root(),
        &publish_policy(public("bundles/publish_key.pub")),
    )
    .unwrap();
    assert_eq!(verified.integrated_time, Some(1681839916));
    assert_eq!(verified.statement.subject[0].name, "pkg:npm/sigstore@1.3.0");
}

#[test]
fn keyed_v01_bundle_fails_with_another_key() {
    let bundle = Bundle::from_json(&vector("bundles/bundle-publish.json")).unwrap();
    let err = verify_bundle(
        &bundle,
        &pgi_root(),
        &publish_policy(public("blob-attestation/cosign.pub")),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");
}

#[test]
fn keyed_bundle_against_an_empty_root_names_the_unknown_log() {
    let bundle = Bundle::from_json(&vector("bundles/bundle-publish.json")).unwrap();
    let root = TrustedRoot::from_json(&vector("blob-attestation/trusted_root_empty.json")).unwrap();
    let err = verify_bundle(
        &bundle,
        &root,
        &publish_policy(public("bundles/publish_key.pub")),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnknownLog(_)), "{err}");
}

#[test]
fn keyless_certificate_sct_verifies_with_the_ct_log_key() {
    let v = keyless_json();
    let der = B64
        .decode(
            v["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = ParsedCertificate::from_der(&der).unwrap();
    let root = pgi_root();
    let issuer = ParsedCertificate::from_der(&root.certificate_authorities[1].chain[0]).unwrap();
    certs::verify_embedded_sct(&leaf, &issuer, &root).unwrap();
}

#[test]
fn keyless_bundle_fails_when_the_ct_log_key_is_wrong() {
    let mut root_json: serde_json::Value =
        serde_json::from_slice(&vector("bundles/trusted_root_pgi.json")).unwrap();
    // Give the 2022 CT log (which signed the SCT) the key of the retired test log.
    let other_key = root_json["ctlogs"][0]["publicKey"]["rawBytes"].clone();
    root_json["ctlogs"][1]["publicKey"]["rawBytes"] = other_key;
    let root = TrustedRoot::from_json(root_json.to_string().as_bytes()).unwrap();
    let bundle = Bundle::from_json(&vector("bundles/oci-attestation.sigstore.json")).unwrap();
    let err = verify_bundle(&bundle, &root, &good_keyless_policy()).unwrap_err();
    assert!(matches!(err, Error::BadSct(_)), "{err}");
}
