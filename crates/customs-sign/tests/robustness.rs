//! Parsers of untrusted bytes never panic: arbitrary input gives an error or a value.

use customs_sign::bundle::Bundle;
use customs_sign::certs::ParsedCertificate;
use customs_sign::dsse::Envelope;
use customs_sign::intoto::Statement;
use customs_sign::keys::{self, PublicKey};
use customs_sign::layout;
use customs_sign::rekor;
use customs_sign::simple_signing;
use customs_sign::trusted_root::{parse_rfc3339, TrustedRoot};
use proptest::prelude::*;

fn exercise(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = keys::decrypt_private_key(&text, b"pw");
    let _ = keys::PrivateKey::from_pkcs8_der(bytes);
    let _ = PublicKey::from_pem(&text);
    let _ = PublicKey::from_spki_der(bytes);
    let _ = simple_signing::parse(bytes);
    let _ = Envelope::from_json(bytes);
    let _ = Statement::from_json(bytes);
    let _ = Bundle::from_json(bytes);
    let _ = TrustedRoot::from_json(bytes);
    let _ = ParsedCertificate::from_der(bytes);
    let _ = rekor::parse_checkpoint(&text);
    let _ = rekor::check_body(bytes, "00", "sig", &rekor::Signer::Certificate(b""));
    let _ = layout::layers_from_manifest(bytes);
    let _ = parse_rfc3339(&text);
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_json_like_text(s in r#"[\{\}\[\]":,a-zA-Z0-9 \-+/=.\n]{0,200}"#) {
        exercise(s.as_bytes());
    }

    #[test]
    fn pem_armoured_garbage_never_panics(body in "[A-Za-z0-9+/=\n]{0,300}") {
        for label in ["ENCRYPTED SIGSTORE PRIVATE KEY", "PUBLIC KEY", "ENCRYPTED COSIGN PRIVATE KEY"] {
            let text = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
            exercise(text.as_bytes());
        }
    }
}

fn conformance_bundle(case: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/cosign/conformance/bundle-verify")
            .join(case)
            .join("bundle.sigstore.json"),
    )
    .unwrap()
}

fn verify_all_ways(bytes: &[u8], root: &TrustedRoot) {
    use customs_sign::bundle::{self, BundlePolicy, VerifyOptions};
    let Ok(b) = Bundle::from_json(bytes) else {
        return;
    };
    let policy = BundlePolicy {
        identity: Some(customs_sign::certs::CertificateIdentity {
            subject: "a@example.com".into(),
            issuer: "https://example.com".into(),
        }),
        ..BundlePolicy::default()
    };
    let _ = bundle::verify(
        &b,
        root,
        &policy,
        &VerifyOptions::default(),
        Some(&[0u8; 32]),
    );
    let _ = bundle::verify(&b, root, &policy, &VerifyOptions::default(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Real bundles (Rekor v1 and v2, TSA timestamps, DSSE) with bytes flipped: full
    /// verification returns an error or a value, never panics.
    #[test]
    fn verification_of_mutated_bundles_never_panics(
        case in prop::sample::select(vec![
            "happy-path-v0.3", "rekor2-happy-path", "rekor2-dsse-happy-path",
            "managed-key-happy-path", "happy-path-v0.1",
        ]),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let root = TrustedRoot::public_good().unwrap();
        let mut bytes = conformance_bundle(case);
        for (i, x) in &flips {
            let at = i.index(bytes.len());
            bytes[at] ^= x | 1;
        }
        verify_all_ways(&bytes, &root);
    }

    /// RFC 3161 decoding of arbitrary and mutated DER never panics.
    #[test]
    fn timestamp_decoding_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let root = TrustedRoot::public_good().unwrap();
        let _ = customs_sign::timestamp::verify_timestamp(&bytes, b"sig", &root.timestamp_authorities);
    }
}
