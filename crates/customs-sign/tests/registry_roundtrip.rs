//! Signatures, attestations and bundles stored in a real registry (Debian's docker-registry,
//! which has no referrers API, so bundles go through the `sha256-<hex>` tag fallback) and in
//! `oci:` layouts, read back and verified; every kind of tampering must fail on its own; and
//! independent verifiers (Python `cryptography`, npm `@sigstore/verify`) must accept what
//! customs stored.

use customs_testkit::registry as support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use customs_image::manifest::media_type;
use customs_image::reference::{Repository, Target};
use customs_image::{Digest, Image, OpenOptions};
use customs_registry::copy::copy_image;
use customs_registry::{RegistryClient, RegistryOptions, UploadMode};
use customs_sign::certs::CertificateIdentity;
use customs_sign::dsse::Envelope;
use customs_sign::error::Error;
use customs_sign::intoto::{self, Statement};
use customs_sign::keys::PrivateKey;
use customs_sign::layout;
use customs_sign::store::SignatureStore;
use customs_sign::trusted_root::TrustedRoot;
use customs_sign::verify_image::{
    attest_image, sign_image, verify_attestations, verify_bundles_keyless, verify_signatures,
    Source, VerifyError, SIGN_PREDICATE_TYPE,
};
use support::{Mode, Registry};

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// A registry holding `app-multi.oci.tar` as `app:latest`.
fn registry_with_app() -> Registry {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&support::shared_image("app-multi.oci.tar"), "app:latest");
    reg
}

fn open(reg: &Registry, name: &str) -> SignatureStore {
    SignatureStore::open(&format!("{}/{name}", reg.host()), &reg.options()).unwrap()
}

fn repo(reg: &Registry, name: &str) -> Repository {
    Repository {
        registry: reg.host(),
        name: name.to_string(),
    }
}

/// go-containerregistry's `empty.Image` pushed to the registry (see
/// `customs_testkit::oci::empty_image`).
fn push_empty_image(reg: &Registry, repository: &str, tag: &str) -> Digest {
    let client = reg.client();
    let repo = repo(reg, repository);
    let (config, manifest) = customs_testkit::oci::empty_image();
    let config_digest = Digest::sha256_of(&config);
    client
        .upload_blob(
            &repo,
            &config_digest,
            config.len() as u64,
            &config[..],
            UploadMode::Monolithic,
            None,
        )
        .unwrap();
    client
        .put_manifest(&repo, tag, manifest.as_bytes(), media_type::DOCKER_MANIFEST)
        .unwrap()
}

fn no_signature_verified(err: VerifyError) -> Vec<Error> {
    match err {
        VerifyError::NoneVerified { failures, .. } => failures,
        other => panic!("expected NoneVerified, got {other:?}"),
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (with a notice) when an independent tool is missing, unless running in CI.
fn tool_missing(what: &str) {
    assert!(!ci(), "{what} is required in CI (run scripts/install-deps)");
    eprintln!("NOTICE: {what} not installed; skipping this independent check");
}

#[test]
fn signature_pushed_to_registry_verifies_with_its_key() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let signed = sign_image(&store, &key, &none(), false).unwrap();
    let subject = store.resolve().unwrap();
    assert_eq!(signed.subject.digest, subject.digest);
    let (_, _, tagged) = reg
        .client()
        .get_manifest_in(&repo(&reg, "app"), "latest")
        .unwrap();
    assert_eq!(subject.digest, tagged, "a tag is signed by its digest");

    let verified = verify_signatures(&store, &subject, &key.public_key(), &none()).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].source, Source::Tag);
    assert_eq!(verified[0].payload, signed.payload);
    let claims = customs_sign::simple_signing::parse(&verified[0].payload).unwrap();
    assert_eq!(claims.manifest_digest, subject.digest.to_string());
    assert_eq!(claims.docker_reference, format!("{}/app", reg.host()));

    // Stored the way cosign stores it: one layer under sha256-<hex>.sig in the same repo.
    let sig_tag = layout::signature_tag(&subject.digest.to_string()).unwrap();
    let (bytes, _, _) = reg
        .client()
        .get_manifest_in(&repo(&reg, "app"), &sig_tag)
        .unwrap();
    let layers = layout::layers_from_manifest(&bytes).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0].media_type,
        customs_sign::simple_signing::MEDIA_TYPE
    );
}

#[test]
fn annotations_are_signed_and_must_match() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let ann = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    sign_image(&store, &key, &ann, false).unwrap();
    let subject = store.resolve().unwrap();
    verify_signatures(&store, &subject, &key.public_key(), &ann).unwrap();
    let other = BTreeMap::from([("env".to_string(), "dev".to_string())]);
    let failures = no_signature_verified(
        verify_signatures(&store, &subject, &key.public_key(), &other).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::AnnotationMismatch { .. }),
        "{failures:?}"
    );
}

#[test]
fn bundle_annotations_sit_in_the_subject_where_cosign_v3_puts_them() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let ann = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    sign_image(&store, &key, &ann, true).unwrap();
    let subject = store.resolve().unwrap();
    let raw = store.bundles(&subject.digest).unwrap().remove(0).bundle;
    let bundle = customs_sign::bundle::Bundle::from_json(&raw).unwrap();
    let env = bundle.dsse_envelope.unwrap();
    let st: serde_json::Value = serde_json::from_slice(&env.payload_bytes().unwrap()).unwrap();
    assert_eq!(
        st["subject"][0]["annotations"],
        serde_json::json!({"env": "prod"})
    );
    assert_eq!(st["predicate"], serde_json::json!({}));
    let verified = verify_signatures(&store, &subject, &key.public_key(), &ann).unwrap();
    let from_bundle: Vec<_> = verified
        .iter()
        .filter(|v| matches!(v.source, customs_sign::verify_image::Source::Bundle(_)))
        .collect();
    assert_eq!(from_bundle.len(), 1);
    assert!(from_bundle[0].warnings.is_empty());
}

#[test]
fn bundle_annotations_in_the_old_predicate_placement_verify_with_a_warning() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let subject = store.resolve().unwrap();
    // What customs wrote before: annotations in predicate.annotations.
    let st = customs_sign::intoto::Statement::new(
        &subject.docker_reference,
        &subject.digest.to_string(),
        customs_sign::verify_image::SIGN_PREDICATE_TYPE,
        serde_json::json!({"annotations": {"env": "prod"}}),
    );
    let env = customs_sign::dsse::Envelope::sign(
        &key,
        customs_sign::dsse::INTOTO_PAYLOAD_TYPE,
        &st.to_json(),
    )
    .unwrap();
    let bundle = customs_sign::bundle::Bundle::with_key_hint(env, "hint");
    store
        .add_bundle(
            &subject,
            &bundle.to_json(),
            customs_sign::verify_image::SIGN_PREDICATE_TYPE,
        )
        .unwrap();
    let ann = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    let verified = verify_signatures(&store, &subject, &key.public_key(), &ann).unwrap();
    assert_eq!(verified.len(), 1);
    assert!(
        verified[0].warnings[0].contains("old placement"),
        "{:?}",
        verified[0].warnings
    );
    let other = BTreeMap::from([("env".to_string(), "dev".to_string())]);
    assert!(verify_signatures(&store, &subject, &key.public_key(), &other).is_err());
}

#[test]
fn second_signature_is_added_and_each_verifies_with_its_own_key() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let (k1, k2, k3) = (
        PrivateKey::generate_p256(),
        PrivateKey::generate_p256(),
        PrivateKey::generate_p256(),
    );
    sign_image(&store, &k1, &none(), false).unwrap();
    sign_image(&store, &k2, &none(), false).unwrap();
    let subject = store.resolve().unwrap();
    assert_eq!(store.signatures(&subject.digest).unwrap().len(), 2);
    for k in [&k1, &k2] {
        let v = verify_signatures(&store, &subject, &k.public_key(), &none()).unwrap();
        assert_eq!(
            v.len(),
            1,
            "exactly one of the two signatures is this key's"
        );
    }
    let failures = no_signature_verified(
        verify_signatures(&store, &subject, &k3.public_key(), &none()).unwrap_err(),
    );
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|e| matches!(e, Error::BadSignature(_))));
}

#[test]
fn unsigned_image_has_no_signatures() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let subject = store.resolve().unwrap();
    let key = PrivateKey::generate_p256();
    let err = verify_signatures(&store, &subject, &key.public_key(), &none()).unwrap_err();
    assert!(matches!(err, VerifyError::NothingFound { .. }), "{err:?}");
}

#[test]
fn changed_payload_byte_fails() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let signed = sign_image(&store, &key, &none(), false).unwrap();
    let digest = signed.subject.digest.to_string();
    // Rewrite the .sig manifest: same signature annotation, payload with one byte changed.
    let client = reg.client();
    let app = repo(&reg, "app");
    let sig_tag = layout::signature_tag(&digest).unwrap();
    let (bytes, _, _) = client.get_manifest_in(&app, &sig_tag).unwrap();
    let mut layers = layout::layers_from_manifest(&bytes).unwrap();
    let mut payload = signed.payload.clone();
    let at = payload.windows(4).position(|w| w == b"/app").unwrap() + 1;
    payload[at] = b'b';
    let payload_digest = Digest::sha256_of(&payload);
    push_blob(&client, &app, &payload);
    layers[0].digest = payload_digest.to_string();
    layers[0].size = payload.len() as u64;
    push_sig_manifest(&client, &app, &sig_tag, &layers);

    let subject = store.resolve().unwrap();
    let failures = no_signature_verified(
        verify_signatures(&store, &subject, &key.public_key(), &none()).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::BadSignature(_)),
        "{failures:?}"
    );
}

fn push_blob(client: &RegistryClient, repo: &Repository, bytes: &[u8]) {
    client
        .upload_blob(
            repo,
            &Digest::sha256_of(bytes),
            bytes.len() as u64,
            bytes,
            UploadMode::Monolithic,
            None,
        )
        .unwrap();
}

fn push_sig_manifest(
    client: &RegistryClient,
    repo: &Repository,
    tag: &str,
    layers: &[layout::SignatureLayer],
) {
    let built = layout::build_manifest(layers);
    push_blob(client, repo, &built.config);
    client
        .put_manifest(repo, tag, &built.manifest, layout::MANIFEST_MEDIA_TYPE)
        .unwrap();
}

#[test]
fn wrong_key_fails() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    sign_image(&store, &PrivateKey::generate_p256(), &none(), false).unwrap();
    let subject = store.resolve().unwrap();
    let other = PrivateKey::generate_p256().public_key();
    let failures =
        no_signature_verified(verify_signatures(&store, &subject, &other, &none()).unwrap_err());
    assert!(
        matches!(failures[0], Error::BadSignature(_)),
        "{failures:?}"
    );
}

#[test]
fn signature_moved_to_another_images_tag_fails() {
    let reg = registry_with_app();
    let empty = push_empty_image(&reg, "app", "empty");
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let signed = sign_image(&store, &key, &none(), false).unwrap();
    let client = reg.client();
    let app = repo(&reg, "app");
    let from = layout::signature_tag(&signed.subject.digest.to_string()).unwrap();
    let to = layout::signature_tag(&empty.to_string()).unwrap();
    let (bytes, mt, _) = client.get_manifest_in(&app, &from).unwrap();
    client.put_manifest(&app, &to, &bytes, &mt).unwrap();

    let other = open(&reg, "app:empty");
    let subject = other.resolve().unwrap();
    assert_eq!(subject.digest, empty);
    let failures = no_signature_verified(
        verify_signatures(&other, &subject, &key.public_key(), &none()).unwrap_err(),
    );
    assert!(
        matches!(&failures[0], Error::DigestMismatch { expected, found }
            if *expected == empty.to_string() && *found == signed.subject.digest.to_string()),
        "{failures:?}"
    );
}

#[test]
fn retagged_image_fails_verification_by_tag() {
    let reg = registry_with_app();
    let client = reg.client();
    let app = repo(&reg, "app");
    let (bytes, mt, _) = client.get_manifest_in(&app, "latest").unwrap();
    client.put_manifest(&app, "v1", &bytes, &mt).unwrap();
    let key = PrivateKey::generate_p256();
    let store = open(&reg, "app:v1");
    sign_image(&store, &key, &none(), false).unwrap();
    let before = store.resolve().unwrap();
    verify_signatures(&store, &before, &key.public_key(), &none()).unwrap();

    // v1 now names another image.
    let empty = push_empty_image(&reg, "app", "v1");
    let after = store.resolve().unwrap();
    assert_eq!(after.digest, empty);
    let err = verify_signatures(&store, &after, &key.public_key(), &none()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::NothingFound { digest, .. } if *digest == empty),
        "{err:?}"
    );
}

fn predicate() -> serde_json::Value {
    serde_json::json!({"buildType": "https://example.com/build", "builder": {"id": "customs-test"}})
}

fn attest_slsa(store: &SignatureStore, key: &PrivateKey) -> Vec<u8> {
    let uri = intoto::predicate_type_uri("slsaprovenance").unwrap();
    attest_image(store, key, |s| {
        Statement::new(
            &s.docker_reference,
            &s.digest.to_string(),
            &uri,
            predicate(),
        )
    })
    .unwrap()
    .1
}

#[test]
fn attestation_verifies_with_subject_and_predicate_type() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    attest_slsa(&store, &key);
    let subject = store.resolve().unwrap();
    let uri = intoto::predicate_type_uri("slsaprovenance").unwrap();
    let statements = verify_attestations(&store, &subject, &key.public_key(), Some(&uri)).unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].predicate, predicate());
    assert_eq!(
        statements[0].subject[0].digest["sha256"],
        subject.digest.hex()
    );

    // Stored under .att with the predicate type annotation.
    let att = store.attestations(&subject.digest).unwrap();
    assert_eq!(
        att[0].layer.annotations[layout::PREDICATE_TYPE_ANNOTATION],
        uri
    );

    let other_type = intoto::predicate_type_uri("cyclonedx").unwrap();
    let failures = no_signature_verified(
        verify_attestations(&store, &subject, &key.public_key(), Some(&other_type)).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::PredicateTypeMismatch { .. }),
        "{failures:?}"
    );
}

#[test]
fn changed_predicate_fails() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let envelope_json = attest_slsa(&store, &key);
    let subject = store.resolve().unwrap();

    let mut envelope = Envelope::from_json(&envelope_json).unwrap();
    let mut statement: serde_json::Value =
        serde_json::from_slice(&envelope.payload_bytes().unwrap()).unwrap();
    statement["predicate"]["builder"]["id"] = "someone-else".into();
    envelope.payload =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&statement).unwrap());
    let tampered = envelope.to_json();
    let uri = intoto::predicate_type_uri("slsaprovenance").unwrap();
    let client = reg.client();
    let app = repo(&reg, "app");
    push_blob(&client, &app, &tampered);
    let tag = layout::attestation_tag(&subject.digest.to_string()).unwrap();
    push_sig_manifest(
        &client,
        &app,
        &tag,
        &[layout::SignatureLayer::attestation(&tampered, &uri)],
    );

    let failures = no_signature_verified(
        verify_attestations(&store, &subject, &key.public_key(), Some(&uri)).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::BadSignature(_)),
        "{failures:?}"
    );
}

#[test]
fn bundle_is_stored_through_the_referrers_fallback_and_verifies() {
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let signed = sign_image(&store, &key, &none(), true).unwrap();
    let bundle_manifest = signed.bundle_manifest.clone().unwrap();
    let subject = store.resolve().unwrap();

    // docker-registry 2.8 has no referrers API: the fallback tag index lists the bundle.
    let fallback = RegistryClient::referrers_tag(&subject.digest);
    let (bytes, _, _) = reg
        .client()
        .get_manifest_in(&repo(&reg, "app"), &fallback)
        .unwrap();
    let index: customs_image::Index = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(index.manifests[0].digest, bundle_manifest);
    assert_eq!(
        index.manifests[0].artifact_type.as_deref(),
        Some(customs_sign::bundle::MEDIA_TYPE_V03)
    );

    let bundles = store.bundles(&subject.digest).unwrap();
    assert_eq!(bundles.len(), 1);
    let verified = verify_signatures(&store, &subject, &key.public_key(), &none()).unwrap();
    let sources: Vec<&Source> = verified.iter().map(|v| &v.source).collect();
    assert!(sources.contains(&&Source::Tag));
    assert!(sources.contains(&&Source::Bundle(bundle_manifest)));
    let statement = Statement::from_json(
        &verified
            .iter()
            .find(|v| matches!(v.source, Source::Bundle(_)))
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(statement.predicate_type, SIGN_PREDICATE_TYPE);

    // A wrong key fails on both the .sig layer and the bundle.
    let failures = no_signature_verified(
        verify_signatures(
            &store,
            &subject,
            &PrivateKey::generate_p256().public_key(),
            &none(),
        )
        .unwrap_err(),
    );
    assert_eq!(failures.len(), 2, "the .sig layer and the bundle both fail");
}

#[test]
fn keyless_bundle_verifies_offline_for_its_image_only() {
    let reg = Registry::start(Mode::Anonymous);
    let empty = push_empty_image(&reg, "repo", "latest");
    assert_eq!(
        empty.to_string(),
        "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    );
    let store = open(&reg, "repo:latest");
    let subject = store.resolve().unwrap();
    let bundle = std::fs::read(shared("cosign/bundles/oci-attestation.sigstore.json")).unwrap();
    store
        .add_bundle(&subject, &bundle, intoto::PREDICATE_CUSTOM)
        .unwrap();
    let root = TrustedRoot::from_json(
        &std::fs::read(shared("cosign/bundles/trusted_root_pgi.json")).unwrap(),
    )
    .unwrap();
    let identity = CertificateIdentity {
        subject: "cody@soyland.com".into(),
        issuer: "https://github.com/login/oauth".into(),
    };
    let verified = verify_bundles_keyless(&store, &subject, &root, &identity, true).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].integrated_time, Some(1740770291));

    let wrong = CertificateIdentity {
        subject: "wrong@example.com".into(),
        ..identity.clone()
    };
    let failures = no_signature_verified(
        verify_bundles_keyless(&store, &subject, &root, &wrong, true).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::IdentityMismatch { .. }),
        "{failures:?}"
    );

    // The same bundle attached to another image does not vouch for it.
    reg.push_oci_archive(&support::shared_image("app-multi.oci.tar"), "repo:app");
    let app = open(&reg, "repo:app");
    let app_subject = app.resolve().unwrap();
    app.add_bundle(&app_subject, &bundle, intoto::PREDICATE_CUSTOM)
        .unwrap();
    let failures = no_signature_verified(
        verify_bundles_keyless(&app, &app_subject, &root, &identity, true).unwrap_err(),
    );
    assert!(
        matches!(failures[0], Error::SubjectMismatch { .. }),
        "{failures:?}"
    );
}

/// An `oci:` layout with app-multi, written by customs-image's copy.
fn app_layout(dir: &Path) -> String {
    let image = Image::open_str(
        &format!(
            "oci-archive:{}",
            support::shared_image("app-multi.oci.tar").display()
        ),
        &OpenOptions::default(),
    )
    .unwrap();
    let target = format!("oci:{}:latest", dir.display());
    copy_image(
        &image,
        &Target::parse(&target).unwrap(),
        &RegistryOptions::default(),
    )
    .unwrap();
    target
}

#[test]
fn layout_holds_signatures_attestations_and_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let target = app_layout(&dir.path().join("app"));
    let store = SignatureStore::open(&target, &RegistryOptions::default()).unwrap();
    let (k1, k2) = (PrivateKey::generate_p256(), PrivateKey::generate_p256());
    sign_image(&store, &k1, &none(), true).unwrap();
    sign_image(&store, &k2, &none(), false).unwrap();
    attest_slsa(&store, &k1);
    let subject = store.resolve().unwrap();
    assert_eq!(store.signatures(&subject.digest).unwrap().len(), 2);

    let v1 = verify_signatures(&store, &subject, &k1.public_key(), &none()).unwrap();
    assert_eq!(v1.len(), 2, "the .sig layer and the bundle");
    let v2 = verify_signatures(&store, &subject, &k2.public_key(), &none()).unwrap();
    assert_eq!(v2.len(), 1);
    let uri = intoto::predicate_type_uri("slsaprovenance").unwrap();
    verify_attestations(&store, &subject, &k1.public_key(), Some(&uri)).unwrap();

    // Without a tag, the one image in the layout is still found (signature tags are skipped).
    let untagged = format!("oci:{}", dir.path().join("app").display());
    let plain = SignatureStore::open(&untagged, &RegistryOptions::default()).unwrap();
    assert_eq!(plain.resolve().unwrap().digest, subject.digest);
}

#[test]
fn python_cryptography_accepts_the_signature_read_back_from_the_registry() {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    if !py.exists() {
        return tool_missing("the tools venv's Python (cryptography)");
    }
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    sign_image(&store, &key, &none(), false).unwrap();
    let subject = store.resolve().unwrap();
    let stored = store.signatures(&subject.digest).unwrap().remove(0);
    let sig = stored.layer.annotations[layout::SIGNATURE_ANNOTATION].clone();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("key.pub");
    std::fs::write(&pem, key.public_key().to_pem().unwrap()).unwrap();
    let verdict = |payload: &[u8]| {
        let msg = dir.path().join("payload");
        std::fs::write(&msg, payload).unwrap();
        let out = Command::new(&py)
            .arg("-c")
            .arg(PY_VERIFY)
            .arg(&pem)
            .arg(&msg)
            .arg(&sig)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(verdict(&stored.blob), "VALID");
    let mut changed = stored.blob.clone();
    changed[10] ^= 1;
    assert_eq!(verdict(&changed), "INVALID");
}

/// Checks a DER ECDSA P-256/SHA-256 signature (base64, argv[3]) over a file (argv[2]) with a
/// PEM public key (argv[1]).
const PY_VERIFY: &str = r#"
import sys, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature
with open(sys.argv[1], "rb") as f:
    key = serialization.load_pem_public_key(f.read())
with open(sys.argv[2], "rb") as f:
    message = f.read()
try:
    key.verify(base64.b64decode(sys.argv[3]), message, ec.ECDSA(hashes.SHA256()))
    print("VALID")
except InvalidSignature:
    print("INVALID")
"#;

#[test]
fn sigstore_js_verifies_the_bundle_customs_stored() {
    let npm_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm");
    let has_node = Command::new("node").arg("--version").output().is_ok();
    if !has_node || !npm_dir.join("node_modules/@sigstore/verify").exists() {
        return tool_missing(
            "node with @sigstore/verify (npm ci --prefix crates/customs-sign/tests/npm)",
        );
    }
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    sign_image(&store, &key, &none(), true).unwrap();
    let subject = store.resolve().unwrap();
    let bundle = store.bundles(&subject.digest).unwrap().remove(0).bundle;
    let dir = tempfile::tempdir().unwrap();
    let (bundle_path, good, bad) = (
        dir.path().join("bundle.json"),
        dir.path().join("good.pub"),
        dir.path().join("bad.pub"),
    );
    std::fs::write(&bundle_path, &bundle).unwrap();
    std::fs::write(&good, key.public_key().to_pem().unwrap()).unwrap();
    let other = PrivateKey::generate_p256().public_key();
    std::fs::write(&bad, other.to_pem().unwrap()).unwrap();
    let run = |key: &Path| {
        Command::new("node")
            .arg(npm_dir.join("verify-bundle.js"))
            .arg(&bundle_path)
            .arg(key)
            .output()
            .unwrap()
    };
    let ok = run(&good);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(stdout.trim(), format!("VERIFIED {}", subject.digest));
    let rejected = run(&bad);
    assert!(!rejected.status.success());
    assert!(String::from_utf8_lossy(&rejected.stdout).starts_with("REJECTED"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever bytes sit in the `.sig` / `.att` layers and bundle referrers, verification
    /// returns an error naming why, and never panics or verifies.
    #[test]
    fn arbitrary_stored_bytes_are_rejected_without_panic(
        payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        sig in "[A-Za-z0-9+/=]{0,100}",
        blob in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let target = customs_testkit::oci::write_empty_image(dir.path());
        let store = SignatureStore::open(&target, &RegistryOptions::default()).unwrap();
        let subject = store.resolve().unwrap();
        store
            .add_signature(
                &subject.digest,
                &payload,
                layout::SignatureLayer::simple_signing(&payload, &sig, BTreeMap::new()),
            )
            .unwrap();
        store
            .add_attestation(
                &subject.digest,
                &blob,
                layout::SignatureLayer::attestation(&blob, intoto::PREDICATE_CUSTOM),
            )
            .unwrap();
        store.add_bundle(&subject, &blob, intoto::PREDICATE_CUSTOM).unwrap();
        let key = PrivateKey::generate_p256().public_key();
        let err = verify_signatures(&store, &subject, &key, &none()).unwrap_err();
        proptest::prop_assert!(matches!(err, VerifyError::NoneVerified { .. }), "{err:?}");
        let err = verify_attestations(&store, &subject, &key, None).unwrap_err();
        proptest::prop_assert!(matches!(err, VerifyError::NoneVerified { .. } | VerifyError::NothingFound { .. }), "{err:?}");
    }
}

/// Throughput for the benchmark notes, not a check of behaviour: run with
/// `cargo test --release -p customs-sign --test registry_roundtrip -- --ignored --nocapture`.
/// Prints signature verifications per second for the bare ECDSA + claims check and for the
/// whole `verify_signatures` path against a local registry (resolve, read `.sig`, referrers).
#[test]
#[ignore = "timing loop for the benchmark; run by hand in release mode"]
fn verifications_per_second() {
    use std::time::{Duration, Instant};
    let reg = registry_with_app();
    let store = open(&reg, "app:latest");
    let key = PrivateKey::generate_p256();
    let signed = sign_image(&store, &key, &none(), false).unwrap();
    let public = key.public_key();
    let stored = store.signatures(&signed.subject.digest).unwrap().remove(0);
    let sig = stored.layer.annotations[layout::SIGNATURE_ANNOTATION].clone();
    let expected = customs_sign::simple_signing::Expectations {
        manifest_digest: signed.subject.digest.to_string(),
        annotations: none(),
    };
    let rate = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_secs(2) {
            f();
            n += 1;
        }
        f64::from(n) / start.elapsed().as_secs_f64()
    };
    let bare = rate(&mut || {
        customs_sign::simple_signing::verify(&stored.blob, &sig, &public, &expected).unwrap();
    });
    let full = rate(&mut || {
        let subject = store.resolve().unwrap();
        assert_eq!(
            verify_signatures(&store, &subject, &public, &none())
                .unwrap()
                .len(),
            1
        );
    });
    println!("payload verifications per second (ECDSA P-256 + claims): {bare:.0}");
    println!("image verifications per second against the local registry: {full:.0}");
}

/// Benchmark loop (run by hand in release mode, see bench/sigstore.sh): keyless bundle
/// verifications per second with full tlog checking (SET, inclusion proof, signed checkpoint,
/// body match, chain, SCT, identity), offline and through the local registry.
#[test]
#[ignore = "timing loop for the benchmark; run by hand in release mode"]
fn keyless_bundle_verifications_per_second() {
    use std::time::{Duration, Instant};
    let reg = Registry::start(Mode::Anonymous);
    push_empty_image(&reg, "repo", "latest");
    let store = open(&reg, "repo:latest");
    let subject = store.resolve().unwrap();
    let raw = std::fs::read(shared("cosign/bundles/oci-attestation.sigstore.json")).unwrap();
    store
        .add_bundle(&subject, &raw, intoto::PREDICATE_CUSTOM)
        .unwrap();
    let root = TrustedRoot::from_json(
        &std::fs::read(shared("cosign/bundles/trusted_root_pgi.json")).unwrap(),
    )
    .unwrap();
    let identity = CertificateIdentity {
        subject: "cody@soyland.com".into(),
        issuer: "https://github.com/login/oauth".into(),
    };
    let bundle = customs_sign::bundle::Bundle::from_json(&raw).unwrap();
    let policy = customs_sign::bundle::BundlePolicy {
        identity: Some(identity.clone()),
        attestation: customs_sign::intoto::AttestationCheck {
            sha256: Some(subject.digest.to_string()),
            predicate_type: None,
        },
        ..Default::default()
    };
    let rate = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_secs(3) {
            f();
            n += 1;
        }
        f64::from(n) / start.elapsed().as_secs_f64()
    };
    let offline = rate(&mut || {
        let v = customs_sign::bundle::verify_bundle(&bundle, &root, &policy).unwrap();
        assert_eq!(v.verified_tlog_entries, 1);
    });
    let through_registry = rate(&mut || {
        let subject = store.resolve().unwrap();
        let v = verify_bundles_keyless(&store, &subject, &root, &identity, true).unwrap();
        assert_eq!(v.len(), 1);
    });
    println!("keyless bundle verifications per second, offline (full tlog checks): {offline:.0}");
    println!(
        "keyless image verifications per second against the local registry: {through_registry:.0}"
    );
}
