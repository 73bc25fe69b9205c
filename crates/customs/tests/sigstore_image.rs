//! `customs verify --key` with transparency-log evidence, on an `oci:` layout made with
//! `customs copy`: `--key` combines with `--trusted-root` (evidence then required unless
//! `--insecure-ignore-tlog`), and a `.sig` layer's `dev.sigstore.cosign/bundle` SET is verified
//! whenever it is present: a forged or foreign one is refused.

use std::path::Path;

use sha2::{Digest, Sha256};

mod common;
use common::{customs, shared, text};
/// A layout `app` signed with `k.key` (no log entry: customs signs offline).
fn signed_layout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let gen = customs(dir.path(), &["key", "generate", "--output-key-prefix", "k"]);
    assert_eq!(gen.status.code(), Some(0), "{}", text(&gen));
    let src = format!(
        "oci-archive:{}",
        shared("images/app-multi.oci.tar").display()
    );
    let copy = customs(dir.path(), &["copy", &src, "oci:app:latest"]);
    assert_eq!(copy.status.code(), Some(0), "{}", text(&copy));
    let sign = customs(dir.path(), &["sign", "--key", "k.key", "oci:app:latest"]);
    assert_eq!(sign.status.code(), Some(0), "{}", text(&sign));
    dir
}

/// Adds `key=value` to the annotations of the first layer of the layout's `.sig` manifest,
/// rewriting the manifest blob and its index entry.
fn annotate_sig_layer(layout: &Path, key: &str, value: &str) {
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .is_some_and(|n| n.ends_with(".sig"))
        })
        .expect("a .sig manifest in the layout");
    let digest = entry["digest"].as_str().unwrap().to_string();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&digest)).unwrap()).unwrap();
    manifest["layers"][0]["annotations"][key] = value.into();
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let new_digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    std::fs::write(blob(&new_digest), &bytes).unwrap();
    entry["digest"] = new_digest.into();
    entry["size"] = bytes.len().into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The `dev.sigstore.cosign/bundle` annotation of a real cosign signature (another image).
fn real_bundle_annotation() -> serde_json::Value {
    let raw = std::fs::read(shared("cosign/image-signature/signature-1")).unwrap();
    let json = raw.strip_prefix(b"\x00sigstore-json\n".as_slice()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    serde_json::from_str(
        v["annotations"]["dev.sigstore.cosign/bundle"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn key_and_trusted_root_combine_and_then_require_log_evidence() {
    let dir = signed_layout();
    let root = shared("cosign/conformance/trusted_root_prod.json");
    let root = root.to_str().unwrap();
    let plain = customs(dir.path(), &["verify", "--key", "k.pub", "oci:app:latest"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    assert!(
        text(&plain).contains("absent evidence accepted"),
        "{}",
        text(&plain)
    );

    let required = customs(
        dir.path(),
        &[
            "verify",
            "--key",
            "k.pub",
            "--trusted-root",
            root,
            "oci:app:latest",
        ],
    );
    assert_eq!(required.status.code(), Some(1), "{}", text(&required));
    assert!(
        text(&required).contains("no transparency log entry"),
        "{}",
        text(&required)
    );

    let waived = customs(
        dir.path(),
        &[
            "verify",
            "--key",
            "k.pub",
            "--trusted-root",
            root,
            "--insecure-ignore-tlog",
            "oci:app:latest",
        ],
    );
    assert_eq!(waived.status.code(), Some(0), "{}", text(&waived));
}

#[test]
fn a_sig_layer_with_a_foreign_or_forged_set_is_refused() {
    // A genuine SET, but for another image's signature: the entry does not record this one.
    let dir = signed_layout();
    let layout = dir.path().join("app");
    annotate_sig_layer(
        &layout,
        "dev.sigstore.cosign/bundle",
        &real_bundle_annotation().to_string(),
    );
    let out = customs(dir.path(), &["verify", "--key", "k.pub", "oci:app:latest"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("transparency log entry does not match"),
        "{}",
        text(&out)
    );

    // The SET itself forged (the signature of another entry).
    let dir = signed_layout();
    let mut forged = real_bundle_annotation();
    forged["SignedEntryTimestamp"] = "MEYCIQDhoULWkbm7KZ4P4qAWHLw7d9X66AM/ZHNRvKgRahZg1gIhAILdjWLhlzSAy3XoP7sSFJKLwobemh2dtglhAXjSfEvA".into();
    annotate_sig_layer(
        &dir.path().join("app"),
        "dev.sigstore.cosign/bundle",
        &forged.to_string(),
    );
    let out = customs(dir.path(), &["verify", "--key", "k.pub", "oci:app:latest"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("Rekor SET (signed entry timestamp) does not verify"),
        "{}",
        text(&out)
    );
}
