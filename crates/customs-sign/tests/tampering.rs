//! Fields of a Sigstore bundle or trusted root that no signature covers, edited one at a time:
//! each edit is refused, or shown to be harmless (and the test says why). Also the holes of the
//! earlier verifier, each with the bundle it used to accept.
//!
//! Inputs are real: cosign's keyless v0.3 DSSE bundle (`shared/cosign/bundles`, Rekor v1 with a
//! SET and an inclusion proof), and the conformance suite's Rekor v2 message-signature bundle
//! (`rekor2-happy-path`, RFC 3161 timestamp, no SET) and v0.1 bundle (`happy-path-v0.1`).

use base64::Engine as _;
use customs_sign::bundle::{self, Bundle, BundlePolicy, VerifyOptions};
use customs_sign::certs::CertificateIdentity;
use customs_sign::intoto::AttestationCheck;
use customs_sign::trusted_root::TrustedRoot;
use customs_sign::Error;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn shared(rel: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/cosign")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json_of(rel: &str) -> Value {
    serde_json::from_slice(&shared(rel)).unwrap()
}

// ------------------------------------------------------------------ the three bundles

/// cosign's keyless DSSE bundle (v0.3, Rekor v1 dsse entry with SET and inclusion proof).
fn keyless() -> Value {
    json_of("bundles/oci-attestation.sigstore.json")
}

fn pgi_root_json() -> Value {
    json_of("bundles/trusted_root_pgi.json")
}

const KEYLESS_TIME: i64 = 1740770291; // 2025-02-28T19:18:11Z, the entry's integratedTime

fn keyless_policy() -> BundlePolicy {
    BundlePolicy {
        identity: Some(CertificateIdentity {
            subject: "cody@soyland.com".into(),
            issuer: "https://github.com/login/oauth".into(),
        }),
        attestation: AttestationCheck {
            sha256: Some("732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4".into()),
            predicate_type: None,
        },
        ..BundlePolicy::default()
    }
}

fn verify_keyless_with(
    v: &Value,
    root: &Value,
    options: VerifyOptions,
) -> customs_sign::Result<()> {
    let b = Bundle::from_json(v.to_string().as_bytes())?;
    let root = TrustedRoot::from_json(root.to_string().as_bytes())?;
    let verified = bundle::verify(&b, &root, &keyless_policy(), &options, None)?;
    assert_eq!(verified.signing_times.len(), 1);
    Ok(())
}

fn verify_keyless(v: &Value, root: &Value) -> customs_sign::Result<()> {
    verify_keyless_with(v, root, VerifyOptions::default())
}

/// The conformance suite's Rekor v2 bundle (message signature over a.txt, TSA timestamp).
fn rekor2(case: &str) -> (Value, Value) {
    (
        json_of(&format!(
            "conformance/bundle-verify/{case}/bundle.sigstore.json"
        )),
        json_of(&format!(
            "conformance/bundle-verify/{case}/trusted_root.json"
        )),
    )
}

fn a_txt_sha256() -> [u8; 32] {
    Sha256::digest(shared("conformance/a.txt")).into()
}

fn conformance_policy() -> BundlePolicy {
    BundlePolicy {
        identity: Some(CertificateIdentity {
            subject: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
            issuer: "https://token.actions.githubusercontent.com".into(),
        }),
        ..BundlePolicy::default()
    }
}

fn verify_message(v: &Value, root: &Value) -> customs_sign::Result<bundle::Verification> {
    let b = Bundle::from_json(v.to_string().as_bytes())?;
    let root = TrustedRoot::from_json(root.to_string().as_bytes())?;
    bundle::verify(
        &b,
        &root,
        &conformance_policy(),
        &VerifyOptions::default(),
        Some(&a_txt_sha256()),
    )
}

fn entry(v: &mut Value) -> &mut Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

#[test]
fn the_untouched_bundles_verify() {
    verify_keyless(&keyless(), &pgi_root_json()).unwrap();
    let (b, r) = rekor2("rekor2-happy-path");
    let v = verify_message(&b, &r).unwrap();
    assert_eq!(v.signing_times.len(), 1);
    assert!(
        v.signing_times[0].source.contains("RFC 3161"),
        "{:?}",
        v.signing_times
    );
    assert!(v
        .evidence
        .iter()
        .any(|e| e.starts_with("checked: 1 transparency-log entry")));
}

// ------------------------------------------------------------------ holes of the old verifier

#[test]
fn an_integrated_time_without_a_set_is_not_a_signing_time() {
    // The old verifier took integratedTime from any entry with an inclusion proof.
    let mut v = keyless();
    entry(&mut v)
        .as_object_mut()
        .unwrap()
        .remove("inclusionPromise");
    let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
    assert!(matches!(err, Error::NoTrustedTime), "{err}");
    assert!(err
        .to_string()
        .contains("neither a verified Rekor SET nor a verified RFC 3161"));
}

#[test]
fn a_v03_entry_without_an_inclusion_proof_is_refused() {
    // The old verifier accepted a SET alone in any bundle version.
    let mut v = keyless();
    entry(&mut v)
        .as_object_mut()
        .unwrap()
        .remove("inclusionProof");
    let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
    assert!(matches!(err, Error::BadInclusionProof(_)), "{err}");
    assert!(err.to_string().contains("must carry an inclusion proof"));
}

#[test]
fn a_v03_inclusion_proof_without_a_checkpoint_is_refused() {
    let mut v = keyless();
    entry(&mut v)["inclusionProof"]
        .as_object_mut()
        .unwrap()
        .remove("checkpoint");
    let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
    assert!(matches!(err, Error::BadCheckpoint(_)), "{err}");
}

#[test]
fn a_trusted_root_without_ct_logs_fails_unless_the_sct_check_is_waived() {
    // The old verifier skipped the SCT check silently.
    let mut root = pgi_root_json();
    root["ctlogs"] = json!([]);
    let err = verify_keyless(&keyless(), &root).unwrap_err();
    assert!(matches!(err, Error::BadSct(_)), "{err}");
    assert!(err.to_string().contains("--insecure-ignore-sct"), "{err}");
    verify_keyless_with(
        &keyless(),
        &root,
        VerifyOptions {
            insecure_ignore_sct: true,
            now: None,
        },
    )
    .unwrap();
}

#[test]
fn a_validity_window_without_start_is_not_unbounded() {
    // The old verifier read a missing start as "valid since forever".
    for (path, expect) in [
        (
            &["certificateAuthorities", "1"][..],
            "certificate authority",
        ),
        (&["tlogs", "0", "publicKey"][..], "unknown transparency log"),
    ] {
        let mut root = pgi_root_json();
        let mut node = &mut root;
        for p in path {
            node = match p.parse::<usize>() {
                Ok(i) => &mut node[i],
                Err(_) => &mut node[*p],
            };
        }
        node["validFor"].as_object_mut().unwrap().remove("start");
        let err = verify_keyless(&keyless(), &root).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(expect) && msg.contains("no validity start"),
            "{msg}"
        );
    }
}

// ------------------------------------------------------------------ trusted-root windows

fn with_window(mut root: Value, path: &[&str], end: &str) -> Value {
    let mut node = &mut root;
    for p in path {
        node = match p.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*p],
        };
    }
    node["validFor"]["end"] = end.into();
    root
}

#[test]
fn trusted_root_window_ends_are_inclusive_and_enforced() {
    // The signing time is 2025-02-28T19:18:11Z.
    for path in [
        &["certificateAuthorities", "1"][..],
        &["tlogs", "0", "publicKey"][..],
    ] {
        let at = with_window(pgi_root_json(), path, "2025-02-28T19:18:11Z");
        verify_keyless(&keyless(), &at).unwrap_or_else(|e| panic!("{path:?} end = t: {e}"));
        let before = with_window(pgi_root_json(), path, "2025-02-28T19:18:10Z");
        let err = verify_keyless(&keyless(), &before).unwrap_err();
        assert!(
            matches!(
                err,
                Error::CertificateNotValidAt { .. } | Error::UnknownLog(_)
            ),
            "{path:?}: {err}"
        );
    }
    // The CT log's window is checked at the SCT's own time (set by Fulcio just before the
    // signature): a window that closed a day earlier leaves no SCT to trust.
    let ct = with_window(
        pgi_root_json(),
        &["ctlogs", "1", "publicKey"],
        "2025-02-27T19:18:11Z",
    );
    let err = verify_keyless(&keyless(), &ct).unwrap_err();
    assert!(matches!(err, Error::BadSct(_)), "{err}");
    // A window moved to start after the signing time.
    let mut late = pgi_root_json();
    late["certificateAuthorities"][1]["validFor"]["start"] = "2025-02-28T19:18:12Z".into();
    let err = verify_keyless(&keyless(), &late).unwrap_err();
    assert!(matches!(err, Error::CertificateNotValidAt { .. }), "{err}");
}

// ------------------------------------------------------------------ integrated time

#[test]
fn integrated_time_edits_break_the_set() {
    for t in [KEYLESS_TIME + 1, KEYLESS_TIME - 1, 0] {
        let mut v = keyless();
        entry(&mut v)["integratedTime"] = t.to_string().into();
        let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
        assert!(matches!(err, Error::BadSet), "{t}: {err}");
    }
}

#[test]
fn integrated_time_on_a_rekor_v2_entry_is_ignored() {
    // Rekor v2 entries carry no SET, so an integratedTime there is signed by nobody: adding one
    // inside the certificate's validity must not rescue a timestamp that lies outside it.
    let (mut b, r) = rekor2("rekor2-timestamp-with-incorrect-time_fail");
    let err = verify_message(&b, &r).unwrap_err();
    assert!(matches!(err, Error::CertificateNotValidAt { .. }), "{err}");
    // The certificate is valid from 1749729736 to 1749730336.
    entry(&mut b)["integratedTime"] = "1749729800".into();
    let err = verify_message(&b, &r).unwrap_err();
    assert!(matches!(err, Error::CertificateNotValidAt { .. }), "{err}");
    assert!(err.to_string().contains("RFC 3161"), "{err}");

    // And on a good v2 bundle, any integratedTime is harmless: it is not used.
    let (mut b, r) = rekor2("rekor2-happy-path");
    entry(&mut b)["integratedTime"] = "4102444800".into();
    let v = verify_message(&b, &r).unwrap();
    assert!(v
        .signing_times
        .iter()
        .all(|t| t.source.contains("RFC 3161")));
}

// ------------------------------------------------------------------ log index

#[test]
fn log_index_edits_break_the_set_on_rekor_v1() {
    for idx in ["175508997", "0"] {
        let mut v = keyless();
        entry(&mut v)["logIndex"] = idx.into();
        let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
        assert!(matches!(err, Error::BadSet), "{idx}: {err}");
    }
    let mut v = keyless();
    entry(&mut v)["logIndex"] = "-1".into();
    let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
    assert!(err.to_string().contains("negative log index"), "{err}");
}

#[test]
fn the_rekor_v2_entry_log_index_is_harmless_and_the_proof_index_is_checked() {
    // Harmless: a v2 entry's logIndex is covered by no signature and used for nothing; the
    // inclusion proof's own index is what the Merkle proof and signed checkpoint bind.
    let (mut b, r) = rekor2("rekor2-happy-path");
    entry(&mut b)["logIndex"] = "734".into();
    verify_message(&b, &r).unwrap();
    // Refused: the proof's index moved to another leaf.
    let (mut b, r) = rekor2("rekor2-happy-path");
    entry(&mut b)["inclusionProof"]["logIndex"] = "734".into();
    let err = verify_message(&b, &r).unwrap_err();
    assert!(matches!(err, Error::BadInclusionProof(_)), "{err}");
    // Refused: the proof's tree size no longer matches the signed checkpoint.
    let (mut b, r) = rekor2("rekor2-happy-path");
    entry(&mut b)["inclusionProof"]["treeSize"] = "737".into();
    assert!(verify_message(&b, &r).is_err());
}

// ------------------------------------------------------------------ kind / version

#[test]
fn kind_version_edits_are_refused() {
    for (kind, version) in [
        ("dsse", "0.0.2"),
        ("intoto", "0.0.2"),
        ("hashedrekord", "0.0.1"),
    ] {
        let mut v = keyless();
        entry(&mut v)["kindVersion"] = json!({"kind": kind, "version": version});
        let err = verify_keyless(&v, &pgi_root_json()).unwrap_err();
        assert!(
            matches!(err, Error::TlogMismatch(_)),
            "{kind}/{version}: {err}"
        );
    }
    for (kind, version) in [("hashedrekord", "0.0.1"), ("dsse", "0.0.2")] {
        let (mut b, r) = rekor2("rekor2-happy-path");
        entry(&mut b)["kindVersion"] = json!({"kind": kind, "version": version});
        let err = verify_message(&b, &r).unwrap_err();
        assert!(
            matches!(err, Error::TlogMismatch(_)),
            "{kind}/{version}: {err}"
        );
    }
    // A v0.2+ entry must state it.
    let mut v = keyless();
    entry(&mut v).as_object_mut().unwrap().remove("kindVersion");
    assert!(verify_keyless(&v, &pgi_root_json()).is_err());
}

// ------------------------------------------------------------------ certificate chain order

#[test]
fn certificate_chain_order_in_a_v01_bundle() {
    let case = "conformance/bundle-verify/happy-path-v0.1/bundle.sigstore.json";
    let root_json = json_of("conformance/trusted_root_prod.json");
    let root = TrustedRoot::from_json(root_json.to_string().as_bytes()).unwrap();
    let run = |v: &Value| {
        let b = Bundle::from_json(v.to_string().as_bytes())?;
        bundle::verify(
            &b,
            &root,
            &conformance_policy(),
            &VerifyOptions::default(),
            Some(&a_txt_sha256()),
        )
    };
    let original = json_of(case);
    run(&original).unwrap();
    let leaf = original["verificationMaterial"]["x509CertificateChain"]["certificates"][0].clone();
    // The issuing intermediate, as the trusted root lists it.
    let intermediate = json!({
        "rawBytes": root_json["certificateAuthorities"][1]["certChain"]["certificates"][0]["rawBytes"]
    });
    let root_cert = json!({
        "rawBytes": root_json["certificateAuthorities"][1]["certChain"]["certificates"][1]["rawBytes"]
    });
    let with_chain = |certs: Vec<Value>| {
        let mut v = original.clone();
        v["verificationMaterial"]["x509CertificateChain"]["certificates"] = Value::Array(certs);
        v
    };
    // Harmless: intermediates after the leaf are not trusted, the chain is rebuilt from the
    // trusted root.
    run(&with_chain(vec![leaf.clone(), intermediate.clone()])).unwrap();
    // Refused: the intermediate first makes it the "signing certificate".
    let err = run(&with_chain(vec![intermediate.clone(), leaf.clone()])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UntrustedCertificate(_) | Error::BadSignature(_) | Error::TlogMismatch(_)
        ),
        "{err}"
    );
    // Refused: a root certificate in the bundle, wherever it sits.
    for certs in [
        vec![leaf.clone(), root_cert.clone()],
        vec![leaf.clone(), root_cert.clone(), intermediate.clone()],
    ] {
        let err = run(&with_chain(certs)).unwrap_err();
        assert!(err.to_string().contains("root certificate"), "{err}");
    }
    // Refused: an empty chain.
    assert!(run(&with_chain(vec![])).is_err());
}

// ------------------------------------------------------------------ timestamps

#[test]
fn a_tampered_timestamp_is_refused() {
    let (b, r) = rekor2("rekor2-happy-path");
    let ts = b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let mut der = B64.decode(ts.replace('\n', "")).unwrap();
    // Flip a byte inside the TSTInfo's genTime region: find "Z" of the GeneralizedTime.
    let pos = der
        .windows(2)
        .position(|w| w[0] == 0x18) // GeneralizedTime tag
        .unwrap();
    der[pos + 5] ^= 1;
    let mut bad = b.clone();
    bad["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"] = B64.encode(&der).into();
    let err = verify_message(&bad, &r).unwrap_err();
    assert!(matches!(err, Error::BadTimestamp(_)), "{err}");
    // Removed: then no trusted time remains.
    let mut none = b.clone();
    none["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    let err = verify_message(&none, &r).unwrap_err();
    assert!(matches!(err, Error::NoTrustedTime), "{err}");
}
