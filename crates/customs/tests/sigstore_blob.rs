//! `customs sign-blob` and `customs verify-blob`, run as a user runs them: the bundle they write
//! is cosign v3's (field layout, key hint), @sigstore/verify (npm) verifies it, and customs
//! refuses a changed file, another key, and a bundle without log evidence unless told to accept
//! that.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha256};

mod common;
use common::{customs, text, BIN};

/// A path inside `../shared/cosign`.
fn shared(rel: &str) -> PathBuf {
    common::shared("cosign").join(rel)
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A tempdir with `k.key`/`k.pub`, `blob` (3 MiB, more than one read chunk) and `blob.bundle`.
fn signed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let gen = customs(dir.path(), &["key", "generate", "--output-key-prefix", "k"]);
    assert_eq!(gen.status.code(), Some(0), "{}", text(&gen));
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("blob"), data).unwrap();
    let sign = customs(
        dir.path(),
        &[
            "sign-blob",
            "--key",
            "k.key",
            "--bundle",
            "blob.bundle",
            "blob",
        ],
    );
    assert_eq!(sign.status.code(), Some(0), "{}", text(&sign));
    dir
}

/// The SHA-256 of a PEM public key's SPKI, base64: cosign's key hint, computed here from the
/// PEM text alone.
fn hint_of(pem: &str) -> String {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.encode(Sha256::digest(B64.decode(body).unwrap()))
}

#[test]
fn sign_blob_writes_the_bundle_cosign_v3_writes() {
    let dir = signed();
    let raw = std::fs::read_to_string(dir.path().join("blob.bundle")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let data = std::fs::read(dir.path().join("blob")).unwrap();
    assert_eq!(
        v["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    assert_eq!(
        v["verificationMaterial"],
        serde_json::json!({"publicKey": {"hint": hint_of(&public)}})
    );
    assert_eq!(
        v["messageSignature"]["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    assert_eq!(
        v["messageSignature"]["messageDigest"]["digest"],
        B64.encode(Sha256::digest(&data))
    );
    // Field order as cosign's protojson writes it (checked against a cosign v3 bundle below).
    let order = |keys: &[&str]| {
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| raw.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(
            pos.windows(2).all(|w| w[0] < w[1]),
            "{keys:?} out of order in {raw}"
        );
    };
    order(&[
        "mediaType",
        "verificationMaterial",
        "publicKey",
        "messageSignature",
    ]);
    order(&["messageDigest", "algorithm", "digest", "signature"]);
    let cosign = std::fs::read_to_string(shared(
        "conformance/bundle-verify/managed-key-happy-path/bundle.sigstore.json",
    ))
    .unwrap();
    for keys in [
        ["mediaType", "verificationMaterial", "messageSignature"],
        ["messageDigest", "digest", "signature"],
    ] {
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| cosign.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "cosign order {keys:?}");
    }
}

#[test]
fn the_key_hint_is_the_one_cosign_writes() {
    // cosign v3 wrote this bundle for this key: the hint customs computes must be the same.
    let case = shared("conformance/bundle-verify/managed-key-happy-path");
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("bundle.sigstore.json")).unwrap()).unwrap();
    let key = customs_sign::keys::PublicKey::from_pem(
        &std::fs::read_to_string(case.join("key.pub")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        bundle["verificationMaterial"]["publicKey"]["hint"],
        key.cosign_hint().unwrap()
    );
}

#[test]
fn verify_blob_accepts_the_signed_file_and_refuses_changes() {
    let dir = signed();
    let ok = customs(
        dir.path(),
        &[
            "verify-blob",
            "blob",
            "--bundle",
            "blob.bundle",
            "--key",
            "k.pub",
            "--insecure-ignore-tlog",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(err.contains("Verified OK: message signature"), "{err}");
    assert!(err.contains("absent: transparency-log entry"), "{err}");

    // By digest, too.
    let data = std::fs::read(dir.path().join("blob")).unwrap();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
    let by_digest = customs(
        dir.path(),
        &[
            "verify-blob",
            &digest,
            "--bundle",
            "blob.bundle",
            "--key",
            "k.pub",
            "--insecure-ignore-tlog",
        ],
    );
    assert_eq!(by_digest.status.code(), Some(0), "{}", text(&by_digest));

    // Without log evidence, as cosign: refused unless --insecure-ignore-tlog.
    let no_tlog = customs(
        dir.path(),
        &[
            "verify-blob",
            "blob",
            "--bundle",
            "blob.bundle",
            "--key",
            "k.pub",
        ],
    );
    assert_eq!(no_tlog.status.code(), Some(1), "{}", text(&no_tlog));
    assert!(text(&no_tlog).contains("no transparency log entry"));

    // One byte changed at the end.
    let mut changed = data.clone();
    *changed.last_mut().unwrap() ^= 1;
    std::fs::write(dir.path().join("changed"), &changed).unwrap();
    let bad = customs(
        dir.path(),
        &[
            "verify-blob",
            "changed",
            "--bundle",
            "blob.bundle",
            "--key",
            "k.pub",
            "--insecure-ignore-tlog",
        ],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("digest mismatch"), "{}", text(&bad));

    // Another key.
    let gen = customs(
        dir.path(),
        &["key", "generate", "--output-key-prefix", "other"],
    );
    assert_eq!(gen.status.code(), Some(0));
    let wrong = customs(
        dir.path(),
        &[
            "verify-blob",
            "blob",
            "--bundle",
            "blob.bundle",
            "--key",
            "other.pub",
            "--insecure-ignore-tlog",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("signature does not match"),
        "{}",
        text(&wrong)
    );
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

#[test]
fn sigstore_js_verifies_what_sign_blob_writes() {
    let npm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../customs-sign/tests/npm");
    let has_node = Command::new("node").arg("--version").output().is_ok();
    if !has_node || !npm.join("node_modules/@sigstore/verify").exists() {
        assert!(
            !ci(),
            "node with @sigstore/verify is required in CI (scripts/install-deps)"
        );
        eprintln!("NOTICE: node with @sigstore/verify not installed; skipping");
        return;
    }
    let dir = signed();
    let run = |file: &str| {
        Command::new("node")
            .arg(npm.join("verify-blob.js"))
            .arg(dir.path().join("blob.bundle"))
            .arg(dir.path().join("k.pub"))
            .arg(dir.path().join(file))
            .output()
            .unwrap()
    };
    let ok = run("blob");
    assert!(ok.status.success(), "{}", text(&ok));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "VERIFIED");
    let mut changed = std::fs::read(dir.path().join("blob")).unwrap();
    changed[0] ^= 1;
    std::fs::write(dir.path().join("changed"), changed).unwrap();
    let bad = run("changed");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).starts_with("REJECTED"));
}

#[test]
fn attest_blob_then_verify_blob_attestation() {
    let dir = signed();
    std::fs::write(dir.path().join("pred.json"), br#"{"buildType":"x"}"#).unwrap();
    let attest = customs(
        dir.path(),
        &[
            "attest-blob",
            "--key",
            "k.key",
            "--type",
            "slsaprovenance",
            "--predicate",
            "pred.json",
            "--bundle",
            "att.bundle",
            "blob",
        ],
    );
    assert_eq!(attest.status.code(), Some(0), "{}", text(&attest));
    let verify = |file: &str, kind: &str| {
        customs(
            dir.path(),
            &[
                "verify-blob-attestation",
                "--bundle",
                "att.bundle",
                "--key",
                "k.pub",
                "--insecure-ignore-tlog",
                "--type",
                kind,
                file,
            ],
        )
    };
    let ok = verify("blob", "slsaprovenance");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("DSSE envelope (application/vnd.in-toto+json)"));
    let wrong_type = verify("blob", "spdxjson");
    assert_eq!(wrong_type.status.code(), Some(1), "{}", text(&wrong_type));
    assert!(text(&wrong_type).contains("predicate type mismatch"));
    std::fs::write(dir.path().join("other"), b"other").unwrap();
    let other = verify("other", "slsaprovenance");
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    assert!(text(&other).contains("no subject of the attestation"));

    // @sigstore/verify accepts the DSSE bundle and reads the subject digest customs wrote.
    let npm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../customs-sign/tests/npm");
    if npm.join("node_modules/@sigstore/verify").exists() {
        let out = Command::new("node")
            .arg(npm.join("verify-bundle.js"))
            .arg(dir.path().join("att.bundle"))
            .arg(dir.path().join("k.pub"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let data = std::fs::read(dir.path().join("blob")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("VERIFIED sha256:{}", hex::encode(Sha256::digest(&data)))
        );
    } else {
        assert!(!ci(), "node with @sigstore/verify is required in CI");
    }
}

#[test]
fn verify_blob_attestation_accepts_cosigns_own_bundle() {
    // cosign's TestVerifyBlobAttestation vector: a keyed DSSE bundle over `blob`, no log entry.
    let dir = shared("blob-attestation");
    let run = |file: &str| {
        Command::new(BIN)
            .arg("verify-blob-attestation")
            .arg("--bundle")
            .arg(dir.join("slsa-provenance.bundle.sigstore.json"))
            .arg("--key")
            .arg(dir.join("cosign.pub"))
            .args(["--insecure-ignore-tlog", "--type", "slsaprovenance"])
            .arg(dir.join(file))
            .output()
            .unwrap()
    };
    let ok = run("blob");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let other = run("other-blob");
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
}
