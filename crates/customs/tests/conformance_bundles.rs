//! The Sigstore client conformance suite's bundle-verification cases
//! (`shared/cosign/conformance/bundle-verify`, byte-identical to upstream; the README there says
//! 71, the directory holds 70 case folders, which is what is counted here), each run through
//! `customs verify-bundle` as the suite's CLI protocol runs a client: a case whose name ends in
//! `_fail` must be refused (exit 1, with a reason), every other case must verify (exit 0).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_customs");

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases customs cannot express yet, each with the reason. Goal: empty.
const NOT_YET: &[(&str, &str)] = &[];

/// `_fail` cases refused before verification starts, because an input file is unusable: exit 2
/// (bad input) with this text on stderr, rather than exit 1.
const BAD_INPUT: &[(&str, &str)] = &[(
    // key.pub ends in "...wrongkey==": not base64 of any SPKI, so the key cannot be loaded.
    "managed-key-wrong-key_fail",
    "loading public key",
)];

/// For every `_fail` case, the reason customs must give (a substring of its message): a refusal
/// for the wrong reason is a bug too.
const REASONS: &[(&str, &str)] = &[
    (
        "bundle-empty-certificate-chain_fail",
        "empty certificate chain",
    ),
    (
        "bundle-from-wrong-instance_fail",
        "unknown transparency log",
    ),
    (
        "bundle-invalid-base64-signature_fail",
        "message signature is not base64",
    ),
    ("bundle-malformed-json_fail", "malformed bundle: EOF"),
    ("bundle-negative-log-index_fail", "negative log index"),
    ("bundle-unknown-version_fail", "unsupported media type"),
    ("bundle-with-root-cert_fail", "contains a root certificate"),
    (
        "checkpoint-bad-keyhint_fail",
        "no checkpoint signature verifies",
    ),
    ("checkpoint-wrong-roothash_fail", "checkpoint size"),
    ("dsse-invalid-sig_fail", "signature does not match"),
    (
        "dsse-mismatch-envelope_fail",
        "dsse payload hash is not sha256(payload)",
    ),
    (
        "dsse-mismatch-sig_fail",
        "dsse entry has no matching signature",
    ),
    (
        "inclusion-proof-corrupted-hash_fail",
        "computed root hash differs",
    ),
    (
        "incorrect-public-key_fail",
        "hashedrekord public key is not the signer",
    ),
    (
        "integrated-time-in-future_fail",
        "signing time from Rekor SET",
    ),
    (
        "intoto-expired-certificate_fail",
        "signing certificate is valid from",
    ),
    (
        "intoto-log-entry-mismatch_fail",
        "intoto entry has no matching signature",
    ),
    (
        "intoto-missing-inclusion-proof_fail",
        "must carry an inclusion proof",
    ),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "signing time from Rekor SET",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "signing time from RFC 3161 timestamp",
    ),
    (
        "invalid-checkpoint-signature_fail",
        "no checkpoint signature verifies",
    ),
    ("invalid-ct-key_fail", "no embedded SCT verifies"),
    ("invalid-inclusion-proof_fail", "computed root hash differs"),
    ("managed-key-no-key_fail", "a verification key is required"),
    ("managed-key-wrong-key_fail", "loading public key"),
    ("message-digest-mismatch_fail", "digest mismatch"),
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "no checkpoint signature verifies",
    ),
    (
        "rekor2-checkpoint-missing-origin_fail",
        "checkpoint does not verify",
    ),
    (
        "rekor2-checkpoint-missing-root-hash_fail",
        "missing or bad root hash",
    ),
    (
        "rekor2-checkpoint-missing-size_fail",
        "missing or bad tree size",
    ),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "no checkpoint signature verifies",
    ),
    ("rekor2-dsse-invalid-sig_fail", "signature does not match"),
    (
        "rekor2-dsse-mismatch-envelope_fail",
        "hashedrekord 0.0.2 digest",
    ),
    (
        "rekor2-dsse-mismatch-sig_fail",
        "hashedrekord 0.0.2 signature differs",
    ),
    (
        "rekor2-no-inclusion-proof_fail",
        "must carry an inclusion proof",
    ),
    ("rekor2-no-timestamp_fail", "no trusted signing time"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "timestamp authority",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "TSA certificate #0 is valid from",
    ),
    (
        "rekor2-timestamp-payload-mismatch_fail",
        "message imprint is not the hash of this signature",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "no timestamp authority of the trusted root",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "no timestamp authority of the trusted root",
    ),
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "signing time from RFC 3161 timestamp",
    ),
    (
        "set-invalid-signature_fail",
        "Rekor SET (signed entry timestamp) does not verify",
    ),
    ("signature-mismatch_fail", "signature does not match"),
    (
        "trust-root-tlog-missing-validity-start_fail",
        "no validity start",
    ),
    (
        "wrong-hashedrekord-artifact_fail",
        "hashedrekord data hash is not the artifact",
    ),
    (
        "wrong-hashedrekord-cert-and-sig_fail",
        "hashedrekord signature differs",
    ),
    (
        "wrong-hashedrekord-entry_fail",
        "hashedrekord data hash is not the artifact",
    ),
    ("wrong-material_fail", "digest mismatch"),
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cosign/conformance")
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The verify-bundle command line for one case, as cli_protocol.md orders it.
fn command_for(case: &Path, artifact: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(case.join("bundle.sigstore.json"));
    if case.join("key.pub").exists() {
        cmd.arg("--key").arg(case.join("key.pub"));
    } else {
        let identity = read_trimmed(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into());
        cmd.args(["--certificate-identity", &identity])
            .args(["--certificate-oidc-issuer", &issuer]);
    }
    if case.join("trusted_root.json").exists() {
        cmd.arg("--trusted-root")
            .arg(case.join("trusted_root.json"));
    }
    cmd.arg(artifact);
    cmd
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(suite().join("bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn artifact_of(case: &Path) -> PathBuf {
    let own = case.join("artifact");
    if own.exists() {
        own
    } else {
        suite().join("a.txt")
    }
}

/// Runs every case; returns the descriptions of those whose outcome is wrong.
fn run_all(as_digest: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if NOT_YET.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let artifact = artifact_of(&case);
        let arg = if as_digest {
            let bytes = std::fs::read(&artifact).unwrap();
            format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
            )
        } else {
            artifact.display().to_string()
        };
        let out = command_for(&case, &arg).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expect_fail = name.ends_with("_fail");
        let code = out.status.code();
        let bad_input = BAD_INPUT.iter().find(|(n, _)| *n == name);
        let reason = REASONS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
        if expect_fail && !reason.is_some_and(|r| stderr.contains(r)) {
            wrong.push(format!(
                "{name}: refused for another reason than {reason:?}: {}",
                stderr.trim()
            ));
            continue;
        }
        let ok = if let Some((_, text)) = bad_input {
            expect_fail && code == Some(2) && stderr.contains(text)
        } else if expect_fail {
            // Refused as a verification failure, with a reason; not a usage error or a crash.
            code == Some(1) && stderr.contains("does not verify:")
        } else {
            code == Some(0) && stderr.contains("Verified OK")
        };
        if !ok {
            wrong.push(format!(
                "{name}: expected {}, got exit {code:?}: {}",
                if expect_fail { "refusal" } else { "success" },
                stderr.trim()
            ));
        }
    }
    wrong
}

#[test]
fn the_suite_has_its_70_case_folders() {
    assert_eq!(cases().len(), 70);
    for (name, _) in NOT_YET {
        assert!(
            cases().iter().any(|c| c.ends_with(name)),
            "{name} is not a case"
        );
    }
}

#[test]
fn every_case_gives_the_outcome_its_name_states_with_the_artifact_as_a_file() {
    let wrong = run_all(false);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_case_gives_the_outcome_its_name_states_with_the_artifact_as_a_digest() {
    let wrong = run_all(true);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// `--certificate-identity-regexp` / `--certificate-oidc-issuer-regexp`, on a conformance bundle.
#[test]
fn identity_regexps_match_unanchored_like_cosign_and_refuse_others() {
    let case = suite().join("bundle-verify/happy-path-v0.3");
    let run = |flags: &[&str]| {
        Command::new(BIN)
            .arg("verify-bundle")
            .arg("--bundle")
            .arg(case.join("bundle.sigstore.json"))
            .args(flags)
            .arg(suite().join("a.txt"))
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--certificate-identity-regexp",
        "sigstore-conformance/extremely-dangerous",
        "--certificate-oidc-issuer-regexp",
        r"^https://token\.actions\.githubusercontent\.com$",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mixed = run(&[
        "--certificate-identity-regexp",
        "^https://github\\.com/",
        "--certificate-oidc-issuer",
        DEFAULT_ISSUER,
    ]);
    assert_eq!(mixed.status.code(), Some(0));
    for flags in [
        &[
            "--certificate-identity-regexp",
            "^https://gitlab\\.com/",
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
        ][..],
        &[
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer-regexp",
            "^https://accounts\\.google\\.com$",
        ][..],
    ] {
        let out = run(flags);
        assert_eq!(out.status.code(), Some(1), "{flags:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("mismatch"));
    }
    // A bad pattern or half an identity is a usage error.
    assert_eq!(
        run(&[
            "--certificate-identity-regexp",
            "(",
            "--certificate-oidc-issuer",
            "x"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["--certificate-identity", DEFAULT_IDENTITY])
            .status
            .code(),
        Some(2)
    );
}

/// The DSSE cases of the suite, also as images. How they are expressed: a DSSE case signs an
/// in-toto statement whose subject is the case's artifact (`a.txt` or its own `artifact`), not
/// an image manifest, and no manifest can be built whose digest is that subject without
/// re-signing (a SHA-256 preimage), which would no longer test the case's bytes. So the test
/// makes the artifact's bytes the image manifest: an OCI layout whose `index.json` names the
/// artifact blob, by its digest, as the image (`oci:DIR:latest`), with the case's bundle
/// attached to it as an OCI 1.1 referrer exactly as `sign --bundle-format` stores one. customs
/// takes an image's digest from the index (as from a registry's manifest digest) and never
/// parses the subject manifest to verify it, so `verify-attestation` checks the bundle against
/// the image digest through the image path: the referrer lookup, the keyless policy, the
/// predicate type read from the bundle, the in-toto subject against the manifest digest.
/// Every DSSE case is expressed; none is left out.
#[test]
fn every_dsse_case_gives_its_outcome_as_an_image_with_the_bundle_as_a_referrer() {
    use base64::Engine as _;
    let mut wrong = Vec::new();
    let mut count = 0;
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
        let parsed: serde_json::Value = match serde_json::from_slice(&bundle) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let Some(env) = parsed.get("dsseEnvelope") else {
            continue;
        };
        count += 1;
        let predicate_type = env["payload"]
            .as_str()
            .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .and_then(|s| s["predicateType"].as_str().map(str::to_string))
            .expect("a DSSE case's payload is an in-toto statement");

        // The layout: the artifact is the manifest blob the index names.
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("img");
        let artifact = std::fs::read(artifact_of(&case)).unwrap();
        let hex = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&artifact));
        std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
        std::fs::write(layout.join("blobs/sha256").join(&hex), &artifact).unwrap();
        std::fs::write(
            layout.join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{hex}"),
                "size": artifact.len(),
                "annotations": {"org.opencontainers.image.ref.name": "latest"}
            }]
        });
        std::fs::write(
            layout.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        let target = format!("oci:{}:latest", layout.display());
        let store =
            customs_sign::store::SignatureStore::open(&target, &Default::default()).unwrap();
        let subject = store.resolve().unwrap();
        assert_eq!(subject.digest.to_string(), format!("sha256:{hex}"));
        store
            .add_bundle(&subject, &bundle, &predicate_type)
            .unwrap();

        let identity = read_trimmed(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into());
        let mut cmd = Command::new(BIN);
        cmd.arg("verify-attestation")
            .args(["--certificate-identity", &identity])
            .args(["--certificate-oidc-issuer", &issuer])
            .args(["--type", &predicate_type]);
        if case.join("trusted_root.json").exists() {
            cmd.arg("--trusted-root")
                .arg(case.join("trusted_root.json"));
        }
        let out = cmd.arg(&target).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ok = if name.ends_with("_fail") {
            let reason = REASONS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
            out.status.code() == Some(1) && reason.is_some_and(|r| stderr.contains(r))
        } else {
            out.status.code() == Some(0) && stderr.contains("Verification for")
        };
        if !ok {
            wrong.push(format!(
                "{name}: exit {:?}: {}",
                out.status.code(),
                stderr.trim()
            ));
        }
    }
    assert_eq!(count, 14, "the suite's DSSE cases");
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
