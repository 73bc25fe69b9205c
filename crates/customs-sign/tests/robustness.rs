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
