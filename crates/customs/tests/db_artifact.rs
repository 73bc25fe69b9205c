//! `customs db push` and `customs db update --from`: the database published to a real
//! `docker-registry` on loopback as a signed OCI artifact and taken back, byte for byte; a
//! wrong key, a swapped layer and an unsigned artifact are all refused with the old database
//! left in place. skopeo reads the pushed manifest independently.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use customs_testkit::registry::{skopeo, Mode, Registry};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn customs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .current_dir(dir)
        .args(args)
        .env("CUSTOMS_PASSWORD", "pw")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("CUSTOMS_DB")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn refused(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn a_signed_database_goes_through_a_registry_and_a_forged_one_does_not() {
    let reg = Registry::start(Mode::Anonymous);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&customs(
        d,
        &["key", "generate", "--output-key-prefix", "team"],
    ));
    ok(&customs(
        d,
        &["key", "generate", "--output-key-prefix", "other"],
    ));
    ok(&customs(
        d,
        &[
            "db",
            "import",
            "--db",
            "a.db",
            &format!("{SHARED}/vulndata/alpine-secdb"),
        ],
    ));
    ok(&customs(
        d,
        &[
            "db",
            "import",
            "--db",
            "b.db",
            &format!("{SHARED}/vulndata/osv/crates.io/all.zip"),
        ],
    ));
    let reference = format!("{}/customs/db:1", reg.host());
    ok(&customs(
        d,
        &[
            "db", "push", &reference, "--key", "team.key", "--db", "a.db",
        ],
    ));

    // skopeo sees an OCI artifact of customs' type, one layer, signed.
    let raw = skopeo(&[
        "inspect".into(),
        "--raw".into(),
        "--tls-verify=false".into(),
        format!("docker://{reference}"),
    ]);
    let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(m["artifactType"], "application/vnd.customs.vulndb");
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert!(m["layers"][0]["annotations"]["dev.customs.vulndb.signature"].is_string());

    // Pulled with the team's key: the same bytes.
    ok(&customs(
        d,
        &[
            "db",
            "update",
            "--from",
            &reference,
            "--key",
            "team.pub",
            "--db",
            "pulled.db",
        ],
    ));
    assert_eq!(
        std::fs::read(d.join("pulled.db")).unwrap(),
        std::fs::read(d.join("a.db")).unwrap()
    );

    // Another key: refused, and the database in place is untouched.
    std::fs::write(d.join("keep.db"), b"the old database").unwrap();
    let o = customs(
        d,
        &[
            "db",
            "update",
            "--from",
            &reference,
            "--key",
            "other.pub",
            "--db",
            "keep.db",
        ],
    );
    refused(&o, "does not verify");
    assert_eq!(
        std::fs::read(d.join("keep.db")).unwrap(),
        b"the old database"
    );

    // A forged artifact: b.db's bytes under a.db's signature. The signature covers the layer
    // digest, so the swap is caught before a byte of the layer is used.
    let client = reg.client();
    let repo =
        customs_image::reference::Repository::parse(&format!("{}/customs/db", reg.host())).unwrap();
    let b = std::fs::read(d.join("b.db")).unwrap();
    let b_digest = customs_image::Digest::sha256_of(&b);
    client
        .upload_blob(
            &repo,
            &b_digest,
            b.len() as u64,
            &b[..],
            customs_registry::UploadMode::Auto,
            None,
        )
        .unwrap();
    let put = |tag: &str, manifest: &serde_json::Value| {
        client
            .put_manifest(
                &repo,
                tag,
                manifest.to_string().as_bytes(),
                "application/vnd.oci.image.manifest.v1+json",
            )
            .unwrap();
    };
    let update_keep = |tag: &str| {
        let from = format!("{}/customs/db:{tag}", reg.host());
        customs(
            d,
            &[
                "db", "update", "--from", &from, "--key", "team.pub", "--db", "keep.db",
            ],
        )
    };
    let mut forged = m.clone();
    forged["layers"][0]["digest"] = serde_json::json!(b_digest.to_string());
    forged["layers"][0]["size"] = serde_json::json!(b.len());
    put("forged", &forged);
    refused(&update_keep("forged"), "does not verify");
    assert_eq!(
        std::fs::read(d.join("keep.db")).unwrap(),
        b"the old database"
    );

    // Unsigned: refused too.
    let mut unsigned = m.clone();
    unsigned["layers"][0]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("dev.customs.vulndb.signature");
    put("unsigned", &unsigned);
    refused(&update_keep("unsigned"), "not signed");

    // --from without --key is a usage error.
    let o = customs(
        d,
        &["db", "update", "--from", &reference, "--db", "keep.db"],
    );
    assert_eq!(o.status.code(), Some(2));
}
