//! Classic cosign `.sig` layer evidence: the `dev.sigstore.cosign/bundle` SET (keyed and
//! keyless) and the `dev.sigstore.cosign/certificate` signer.
//!
//! Keyed: the real cosign image signature from containers/image (`shared/cosign/image-signature`),
//! whose layer carries a SET from the public-good Rekor. Keyless: the layer annotations cosign
//! writes, built from the conformance suite's `happy-path-v0.1` entry (a real Fulcio
//! certificate, hashedrekord entry and SET; its signed payload is `a.txt`).

use std::collections::BTreeMap;

use base64::Engine as _;
use customs_sign::certs::{CertificateIdentity, ParsedCertificate};
use customs_sign::keys::PublicKey;
use customs_sign::layout::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION};
use customs_sign::legacy;
use customs_sign::pem;
use customs_sign::trusted_root::TrustedRoot;
use customs_sign::Error;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn shared(rel: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/cosign")
            .join(rel),
    )
    .unwrap()
}

/// Another valid SET (of another entry), so only the SET's signature check can fail.
const OTHER_SET: &str = "MEYCIQDhoULWkbm7KZ4P4qAWHLw7d9X66AM/ZHNRvKgRahZg1gIhAILdjWLhlzSAy3XoP7sSFJKLwobemh2dtglhAXjSfEvA";

struct Keyed {
    payload: Vec<u8>,
    annotations: BTreeMap<String, String>,
    key: PublicKey,
}

fn keyed() -> Keyed {
    let raw = shared("image-signature/signature-1");
    let json = raw.strip_prefix(b"\x00sigstore-json\n".as_slice()).unwrap();
    let v: Value = serde_json::from_slice(json).unwrap();
    Keyed {
        payload: B64.decode(v["payload"].as_str().unwrap()).unwrap(),
        annotations: serde_json::from_value(v["annotations"].clone()).unwrap(),
        key: PublicKey::from_pem(
            &String::from_utf8(shared("image-signature/cosign2.pub")).unwrap(),
        )
        .unwrap(),
    }
}

fn pgi() -> TrustedRoot {
    TrustedRoot::from_json(&shared("bundles/trusted_root_pgi.json")).unwrap()
}

fn sig_of(a: &BTreeMap<String, String>) -> String {
    a[customs_sign::layout::SIGNATURE_ANNOTATION].clone()
}

#[test]
fn a_keyed_layer_with_a_valid_set_is_checked_and_reported() {
    let k = keyed();
    let ev = legacy::check_keyed_layer(
        &k.payload,
        &sig_of(&k.annotations),
        &k.annotations,
        &k.key,
        &pgi(),
        true,
    )
    .unwrap();
    assert_eq!(ev.tlog.unwrap().integrated_time, 1674251859);
}

#[test]
fn a_keyed_layer_with_a_forged_set_is_refused() {
    let mut k = keyed();
    let mut bundle: Value = serde_json::from_str(&k.annotations[BUNDLE_ANNOTATION]).unwrap();
    bundle["SignedEntryTimestamp"] = OTHER_SET.into();
    k.annotations
        .insert(BUNDLE_ANNOTATION.into(), bundle.to_string());
    let err = legacy::check_keyed_layer(
        &k.payload,
        &sig_of(&k.annotations),
        &k.annotations,
        &k.key,
        &pgi(),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSet), "{err}");
    // An edited integratedTime breaks the SET too.
    let mut k = keyed();
    let mut bundle: Value = serde_json::from_str(&k.annotations[BUNDLE_ANNOTATION]).unwrap();
    bundle["Payload"]["integratedTime"] = json!(1674251860);
    k.annotations
        .insert(BUNDLE_ANNOTATION.into(), bundle.to_string());
    let err = legacy::check_keyed_layer(
        &k.payload,
        &sig_of(&k.annotations),
        &k.annotations,
        &k.key,
        &pgi(),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSet), "{err}");
}

#[test]
fn a_keyed_layer_without_evidence_passes_only_when_evidence_is_optional() {
    let mut k = keyed();
    k.annotations.remove(BUNDLE_ANNOTATION);
    let sig = sig_of(&k.annotations);
    let ev =
        legacy::check_keyed_layer(&k.payload, &sig, &k.annotations, &k.key, &pgi(), false).unwrap();
    assert!(ev.tlog.is_none());
    let err = legacy::check_keyed_layer(&k.payload, &sig, &k.annotations, &k.key, &pgi(), true)
        .unwrap_err();
    assert!(matches!(err, Error::MissingTlogEntry), "{err}");
}

// ------------------------------------------------------------------ keyless

struct Keyless {
    payload: Vec<u8>,
    annotations: BTreeMap<String, String>,
}

/// The annotations cosign writes on a keyless `.sig` layer, from the v0.1 conformance bundle.
fn keyless() -> Keyless {
    let b: Value = serde_json::from_slice(&shared(
        "conformance/bundle-verify/happy-path-v0.1/bundle.sigstore.json",
    ))
    .unwrap();
    let vm = &b["verificationMaterial"];
    let cert_der = B64
        .decode(
            vm["x509CertificateChain"]["certificates"][0]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let e = &vm["tlogEntries"][0];
    let log_id = B64.decode(e["logId"]["keyId"].as_str().unwrap()).unwrap();
    let bundle = json!({
        "SignedEntryTimestamp": e["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": e["canonicalizedBody"],
            "integratedTime": e["integratedTime"].as_str().unwrap().parse::<i64>().unwrap(),
            "logIndex": e["logIndex"].as_str().unwrap().parse::<i64>().unwrap(),
            "logID": hex::encode(log_id),
        }
    });
    let root = prod();
    let chain: String = root.certificate_authorities[1]
        .chain
        .iter()
        .map(|c| pem::encode("CERTIFICATE", c))
        .collect();
    let annotations = BTreeMap::from([
        (
            customs_sign::layout::SIGNATURE_ANNOTATION.to_string(),
            b["messageSignature"]["signature"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
        (
            CERTIFICATE_ANNOTATION.to_string(),
            pem::encode("CERTIFICATE", &cert_der),
        ),
        (CHAIN_ANNOTATION.to_string(), chain),
        (BUNDLE_ANNOTATION.to_string(), bundle.to_string()),
    ]);
    Keyless {
        payload: shared("conformance/a.txt"),
        annotations,
    }
}

fn prod() -> TrustedRoot {
    TrustedRoot::from_json(&shared("conformance/trusted_root_prod.json")).unwrap()
}

fn identity() -> CertificateIdentity {
    CertificateIdentity {
        subject: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    }
}

fn check(k: &Keyless, id: &CertificateIdentity) -> customs_sign::Result<legacy::LayerEvidence> {
    let cert: ParsedCertificate = legacy::layer_certificate(&k.annotations)?.unwrap();
    legacy::check_keyless_layer(
        &k.payload,
        &sig_of(&k.annotations),
        &k.annotations,
        &cert,
        &prod(),
        id,
        true,
    )
}

#[test]
fn a_keyless_layer_verifies_with_its_set_time() {
    let ev = check(&keyless(), &identity()).unwrap();
    assert_eq!(ev.tlog.unwrap().integrated_time, 1689177396);
    assert_eq!(ev.certificate_identities, vec![identity().subject]);
}

#[test]
fn a_keyless_layer_is_refused_without_or_with_a_forged_set() {
    let mut k = keyless();
    k.annotations.remove(BUNDLE_ANNOTATION);
    let err = check(&k, &identity()).unwrap_err();
    assert!(matches!(err, Error::NoTrustedTime), "{err}");

    let mut k = keyless();
    let mut bundle: Value = serde_json::from_str(&k.annotations[BUNDLE_ANNOTATION]).unwrap();
    bundle["SignedEntryTimestamp"] = OTHER_SET.into();
    k.annotations
        .insert(BUNDLE_ANNOTATION.into(), bundle.to_string());
    let err = check(&k, &identity()).unwrap_err();
    assert!(matches!(err, Error::BadSet), "{err}");
}

#[test]
fn a_keyless_layer_is_refused_for_another_identity_payload_or_chain() {
    let k = keyless();
    let other = CertificateIdentity {
        subject: "someone@example.com".into(),
        ..identity()
    };
    let err = check(&k, &other).unwrap_err();
    assert!(matches!(err, Error::IdentityMismatch { .. }), "{err}");

    let mut changed = keyless();
    changed.payload.push(b'\n');
    let err = check(&changed, &identity()).unwrap_err();
    assert!(matches!(err, Error::BadSignature(_)), "{err}");

    // The chain annotation is not trusted: a root without the issuing CA fails even though the
    // annotation still carries it.
    let mut root_json: Value =
        serde_json::from_slice(&shared("conformance/trusted_root_prod.json")).unwrap();
    root_json["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let root = TrustedRoot::from_json(root_json.to_string().as_bytes()).unwrap();
    let cert = legacy::layer_certificate(&k.annotations).unwrap().unwrap();
    let err = legacy::check_keyless_layer(
        &k.payload,
        &sig_of(&k.annotations),
        &k.annotations,
        &cert,
        &root,
        &identity(),
        true,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::UntrustedCertificate(_) | Error::CertificateNotValidAt { .. }
        ),
        "{err}"
    );
}
