//! Fuzzes the private-PKI inputs (`--ca-roots`, `--ca-intermediates`, `--certificate-chain`):
//! PEM certificate lists, then building the authorities from them, and the GitHub-workflow
//! claims read from each certificate.
#![no_main]

use customs_sign::certs::{GithubClaim, ParsedCertificate};
use customs_sign::trusted_root::{pem_certificates, TrustedRoot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut certs) = pem_certificates(text) else {
        return;
    };
    for der in &certs {
        if let Ok(c) = ParsedCertificate::from_der(der) {
            for claim in [
                GithubClaim::Trigger,
                GithubClaim::Sha,
                GithubClaim::Name,
                GithubClaim::Repository,
                GithubClaim::Ref,
            ] {
                let _ = c.github_claim(claim);
            }
        }
    }
    let root = certs.pop().unwrap_or_default();
    let _ = TrustedRoot::default().with_private_pki(&[root], &certs);
});
