//! Fuzzes Sigstore bundle verification: bundle JSON parsing, then full offline verification
//! against the embedded public-good trusted root (signatures, Rekor v1/v2 entries, checkpoints,
//! inclusion proofs, RFC 3161 timestamps), and the RFC 3161 decoder on raw DER.
#![no_main]

use customs_sign::bundle::{self, Bundle, BundlePolicy, VerifyOptions};
use customs_sign::certs::CertificateIdentity;
use customs_sign::trusted_root::TrustedRoot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = TrustedRoot::public_good().expect("embedded root parses");
    let _ = customs_sign::timestamp::verify_timestamp(data, b"sig", &root.timestamp_authorities);
    let Ok(b) = Bundle::from_json(data) else {
        return;
    };
    let policy = BundlePolicy {
        identity: Some(CertificateIdentity {
            subject: "a@example.com".into(),
            issuer: "https://example.com".into(),
        }),
        ..BundlePolicy::default()
    };
    let _ = bundle::verify(&b, &root, &policy, &VerifyOptions::default(), Some(&[0u8; 32]));
    let _ = bundle::verify(&b, &root, &policy, &VerifyOptions::default(), None);
});
