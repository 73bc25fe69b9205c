//! `customs tree`, `customs download signature|attestation|sbom` and `customs triangulate`, on
//! an `oci:` layout and on a real `docker-registry` on loopback. The image is signed (a `.sig`
//! layer and a bundle referrer) and attested by customs; an SBOM is attached under
//! `sha256-<hex>.sbom` as `cosign attach sbom` does (an image manifest whose one layer is the
//! SBOM, written by hand into the layout and copied to the registry with skopeo). skopeo checks
//! that the references `triangulate` prints exist and name what they should.

use std::path::Path;

use base64::Engine as _;
use customs_testkit::registry::{skopeo, Mode, Registry};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

mod common;
use common::{customs, ok, shared};
const SBOM: &[u8] = br#"{"spdxVersion":"SPDX-2.3","name":"app","SPDXID":"SPDXRef-DOCUMENT"}"#;
fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Writes `bytes` as a blob of the layout and returns its descriptor.
fn put_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let d = sha(bytes);
    std::fs::write(
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:")),
        bytes,
    )
    .unwrap();
    json!({"mediaType": media_type, "digest": d, "size": bytes.len()})
}

/// Attaches SBOM under `sha256-<hex>.sbom` in the layout, as cosign's `attach sbom` lays it out.
fn attach_sbom(layout: &Path, image_digest: &str) -> String {
    let layer = put_blob(layout, "text/spdx+json", SBOM);
    let config = serde_json::to_vec(&json!({
        "architecture": "", "os": "", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(SBOM)]}
    }))
    .unwrap();
    let config = put_blob(layout, "application/vnd.oci.image.config.v1+json", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [layer]
    }))
    .unwrap();
    let mut desc = put_blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        &manifest,
    );
    let tag = format!("{}.sbom", image_digest.replace(':', "-"));
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let index_path = layout.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["manifests"].as_array_mut().unwrap().push(desc);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    tag
}

/// A layout `app` (the shared multi-layer image) signed with a bundle, attested and with an
/// SBOM. Returns the tempdir and the image digest.
fn prepared_layout() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(customs(d, &["key", "generate", "--output-key-prefix", "k"]));
    let src = format!(
        "oci-archive:{}",
        shared("images/app-multi.oci.tar").display()
    );
    ok(customs(d, &["copy", &src, "oci:app:latest"]));
    ok(customs(
        d,
        &[
            "sign",
            "--key",
            "k.key",
            "--bundle-format",
            "oci:app:latest",
        ],
    ));
    std::fs::write(d.join("note.txt"), "reviewed").unwrap();
    ok(customs(
        d,
        &[
            "attest",
            "--key",
            "k.key",
            "--predicate",
            "note.txt",
            "oci:app:latest",
        ],
    ));
    let index: Value =
        serde_json::from_slice(&std::fs::read(d.join("app/index.json")).unwrap()).unwrap();
    let digest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    attach_sbom(&d.join("app"), &digest);
    (dir, digest)
}

/// Everything the commands print for `target`, checked against each other and the stored
/// bytes. `prefix` is what references start with (`oci:DIR` or `HOST/app`), `sep` the tag
/// separator after it.
fn check(dir: &Path, target: &str, prefix: &str, digest: &str) {
    let hex = digest.trim_start_matches("sha256:");
    let tri = |kind: &str| {
        ok(customs(dir, &["triangulate", "--type", kind, target]))
            .trim()
            .to_string()
    };
    assert_eq!(
        ok(customs(dir, &["triangulate", target])).trim(),
        format!("{prefix}:sha256-{hex}.sig")
    );
    assert_eq!(tri("signature"), format!("{prefix}:sha256-{hex}.sig"));
    assert_eq!(tri("attestation"), format!("{prefix}:sha256-{hex}.att"));
    assert_eq!(tri("sbom"), format!("{prefix}:sha256-{hex}.sbom"));
    assert_eq!(tri("digest"), format!("{prefix}@{digest}"));

    // download signature: the .sig layer as cosign's JSON line, then the bundle.
    let sigs = ok(customs(dir, &["download", "signature", target]));
    let lines: Vec<Value> = sigs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{sigs}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.decode(lines[0]["Payload"].as_str().unwrap()).unwrap();
    let simple: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        simple["critical"]["image"]["docker-manifest-digest"],
        digest
    );
    assert!(!lines[0]["Base64Signature"].as_str().unwrap().is_empty());
    assert_eq!(lines[0]["Cert"], Value::Null);
    assert_eq!(
        lines[1]["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    // download attestation: the DSSE envelope, filtered by predicate type.
    let atts = ok(customs(dir, &["download", "attestation", target]));
    let env: Value = serde_json::from_str(atts.lines().next().unwrap()).unwrap();
    assert_eq!(atts.lines().count(), 1, "{atts}");
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let statement: Value =
        serde_json::from_slice(&b64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(statement["subject"][0]["digest"]["sha256"], hex);
    assert_eq!(statement["predicate"]["Data"], "reviewed");
    ok(customs(
        dir,
        &[
            "download",
            "attestation",
            "--predicate-type",
            "custom",
            target,
        ],
    ));
    let none = customs(
        dir,
        &[
            "download",
            "attestation",
            "--predicate-type",
            "slsaprovenance",
            target,
        ],
    );
    assert_eq!(none.status.code(), Some(1));

    // download sbom: the bytes attached.
    let sbom = customs(dir, &["download", "sbom", target]);
    assert_eq!(sbom.status.code(), Some(0));
    assert_eq!(sbom.stdout, SBOM);
    assert!(String::from_utf8_lossy(&sbom.stderr).contains("text/spdx+json"));

    // tree: every group, with the digests of what download printed.
    let tree = ok(customs(dir, &["tree", target]));
    assert!(tree.contains(&format!(
        "🔐 Signatures for an image tag: {prefix}:sha256-{hex}.sig"
    )));
    assert!(tree.contains(&format!("🍒 {}", sha(&payload))), "{tree}");
    assert!(tree.contains(&format!(
        "💾 Attestations for an image tag: {prefix}:sha256-{hex}.att"
    )));
    assert!(tree.contains(&format!(
        "📦 SBOMs for an image tag: {prefix}:sha256-{hex}.sbom"
    )));
    assert!(tree.contains(&format!("🍒 {}", sha(SBOM))), "{tree}");
    assert!(tree
        .contains("🔗 application/vnd.dev.sigstore.bundle.v0.3+json artifacts via OCI referrer"));
    let json: Value =
        serde_json::from_str(&ok(customs(dir, &["tree", "-o", "json", target]))).unwrap();
    assert_eq!(json["digest"], digest);
    assert_eq!(json["signatures"]["layers"][0]["digest"], sha(&payload));
    assert_eq!(json["sboms"]["layers"][0]["digest"], sha(SBOM));
    assert_eq!(json["sboms"]["layers"][0]["mediaType"], "text/spdx+json");
    let att_layer = json["attestations"]["layers"][0]["digest"]
        .as_str()
        .unwrap();
    assert_eq!(att_layer, sha(atts.lines().next().unwrap().as_bytes()));
    assert_eq!(json["referrers"].as_array().unwrap().len(), 1);
    assert_eq!(
        json["referrers"][0]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
}

#[test]
fn tree_download_and_triangulate_on_an_oci_layout() {
    let (dir, digest) = prepared_layout();
    check(dir.path(), "oci:app:latest", "oci:app", &digest);

    // An image with nothing attached.
    let empty = tempfile::tempdir().unwrap();
    let target = customs_testkit::oci::write_empty_image(&empty.path().join("e"));
    let tree = ok(customs(empty.path(), &["tree", &target]));
    assert!(
        tree.starts_with("No Supply Chain Security Related Artifacts found"),
        "{tree}"
    );
    for what in ["signature", "attestation", "sbom"] {
        let o = customs(empty.path(), &["download", what, &target]);
        assert_eq!(o.status.code(), Some(1), "{what}");
    }
}

#[test]
fn tree_download_and_triangulate_on_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reg = Registry::start(Mode::Anonymous);
    let host = reg.host();
    ok(customs(d, &["key", "generate", "--output-key-prefix", "k"]));
    let src = format!(
        "oci-archive:{}",
        shared("images/app-multi.oci.tar").display()
    );
    let image = format!("{host}/app:latest");
    ok(customs(d, &["copy", &src, &image]));
    ok(customs(
        d,
        &["sign", "--key", "k.key", "--bundle-format", &image],
    ));
    std::fs::write(d.join("note.txt"), "reviewed").unwrap();
    ok(customs(
        d,
        &[
            "attest",
            "--key",
            "k.key",
            "--predicate",
            "note.txt",
            &image,
        ],
    ));
    // The SBOM: attached in a layout of the same image, then copied with skopeo.
    ok(customs(d, &["copy", &src, "oci:sbom:latest"]));
    let index: Value =
        serde_json::from_slice(&std::fs::read(d.join("sbom/index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let sbom_tag = attach_sbom(&d.join("sbom"), &digest);
    skopeo(&[
        "copy".into(),
        "--dest-tls-verify=false".into(),
        format!("oci:{}:{sbom_tag}", d.join("sbom").display()),
        format!("docker://{host}/app:{sbom_tag}"),
    ]);
    check(d, &image, &format!("{host}/app"), &digest);

    // skopeo finds what triangulate names.
    for kind in ["signature", "attestation", "sbom"] {
        let r = ok(customs(d, &["triangulate", "--type", kind, &image]));
        let out = skopeo(&[
            "inspect".into(),
            "--raw".into(),
            "--tls-verify=false".into(),
            format!("docker://{}", r.trim()),
        ]);
        let m: Value = serde_json::from_str(&out).unwrap();
        assert!(
            m["layers"].as_array().is_some_and(|l| !l.is_empty()),
            "{kind}: {out}"
        );
    }
    let r = ok(customs(d, &["triangulate", "--type", "digest", &image]));
    let out = skopeo(&[
        "inspect".into(),
        "--tls-verify=false".into(),
        format!("docker://{}", r.trim()),
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], digest);
}
