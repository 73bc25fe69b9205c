//! The `customs key generate`, `sign`, `verify`, `attest` and `verify-attestation` commands,
//! run as a user runs them, on an `oci:` layout made with `customs copy` from
//! `shared/images/app-multi.oci.tar`: exit codes (0 verified, 1 not verified, 2 error) and the
//! messages a user sees.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_customs");

fn app_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images/app-multi.oci.tar")
}

/// Runs customs with `password` as CUSTOMS_PASSWORD (and no COSIGN_PASSWORD).
fn customs(dir: &Path, password: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .env_remove("CUSTOMS_PASSWORD");
    if let Some(p) = password {
        cmd.env("CUSTOMS_PASSWORD", p);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// A tempdir with `k.key`/`k.pub` (password "pw") and the app image as `oci:app:latest`.
/// Returns the dir and the image's manifest digest (from the layout's index.json).
fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let gen = customs(
        dir.path(),
        Some("pw"),
        &["key", "generate", "--output-key-prefix", "k"],
    );
    assert_code(&gen, 0);
    let src = format!("oci-archive:{}", app_archive().display());
    let copy = customs(dir.path(), None, &["copy", &src, "oci:app:latest"]);
    assert_code(&copy, 0);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("app/index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    (dir, digest)
}

#[test]
fn generated_key_is_an_encrypted_sigstore_key_with_cosign_scrypt_cost() {
    let (dir, _) = setup();
    let pem = std::fs::read_to_string(dir.path().join("k.key")).unwrap();
    let block = customs_sign::pem::parse_one(&pem).unwrap();
    assert_eq!(block.label, "ENCRYPTED SIGSTORE PRIVATE KEY");
    let doc: serde_json::Value = serde_json::from_slice(&block.contents).unwrap();
    assert_eq!(doc["kdf"]["name"], "scrypt");
    assert_eq!(doc["kdf"]["params"]["N"], 65536);
    assert_eq!(doc["cipher"]["name"], "nacl/secretbox");
    let key = customs_sign::keys::decrypt_private_key(&pem, b"pw").unwrap();
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    assert_eq!(
        customs_sign::keys::PublicKey::from_pem(&public).unwrap(),
        key.public_key()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by its owner only"
        );
    }
}

#[test]
fn key_generate_refuses_to_overwrite_without_force() {
    let (dir, _) = setup();
    let before = std::fs::read(dir.path().join("k.key")).unwrap();
    let again = customs(
        dir.path(),
        Some("pw"),
        &["key", "generate", "--output-key-prefix", "k"],
    );
    assert_code(&again, 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(dir.path().join("k.key")).unwrap(), before);
    let forced = customs(
        dir.path(),
        Some("pw"),
        &["key", "generate", "--output-key-prefix", "k", "--force"],
    );
    assert_code(&forced, 0);
    assert_ne!(std::fs::read(dir.path().join("k.key")).unwrap(), before);
}

#[test]
fn key_generate_without_password_or_terminal_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["key", "generate"])
        .env_remove("COSIGN_PASSWORD")
        .env_remove("CUSTOMS_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    // Under a terminal the prompt would be read; the test runs without one.
    if std::fs::File::open("/dev/tty").is_err() {
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains("CUSTOMS_PASSWORD"),
            "{}",
            stderr(&out)
        );
        assert!(!dir.path().join("cosign.key").exists());
    }
}

#[test]
fn sign_then_verify_on_an_oci_layout() {
    let (dir, digest) = setup();
    let sign = customs(
        dir.path(),
        Some("pw"),
        &["sign", "--key", "k.key", "-a", "env=prod", "oci:app:latest"],
    );
    assert_code(&sign, 0);
    assert_eq!(stdout(&sign).trim(), format!("Signed {digest}"));

    let verify = customs(
        dir.path(),
        None,
        &["verify", "--key", "k.pub", "oci:app:latest"],
    );
    assert_code(&verify, 0);
    let out = stdout(&verify);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest
    );
    assert_eq!(payload["optional"]["env"], "prod");

    // By digest, too.
    let by_digest = customs(
        dir.path(),
        None,
        &["verify", "--key", "k.pub", &format!("oci:app@{digest}")],
    );
    assert_code(&by_digest, 0);

    // Annotations must match what was signed.
    let ok = customs(
        dir.path(),
        None,
        &[
            "verify",
            "--key",
            "k.pub",
            "-a",
            "env=prod",
            "oci:app:latest",
        ],
    );
    assert_code(&ok, 0);
    let mismatch = customs(
        dir.path(),
        None,
        &[
            "verify",
            "--key",
            "k.pub",
            "-a",
            "env=dev",
            "oci:app:latest",
        ],
    );
    assert_code(&mismatch, 1);
    assert!(
        stderr(&mismatch).contains("annotation mismatch"),
        "{}",
        stderr(&mismatch)
    );

    // JSON output carries the payload and where it came from.
    let json = customs(
        dir.path(),
        None,
        &[
            "verify",
            "--key",
            "k.pub",
            "--output",
            "json",
            "oci:app:latest",
        ],
    );
    assert_code(&json, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v[0]["source"]["kind"], "signature-tag");
    assert_eq!(
        v[0]["payload"]["critical"]["image"]["docker-manifest-digest"],
        digest
    );
}

#[test]
fn bundle_format_adds_a_bundle_that_verifies() {
    let (dir, digest) = setup();
    let sign = customs(
        dir.path(),
        Some("pw"),
        &[
            "sign",
            "--key",
            "k.key",
            "--bundle-format",
            "oci:app:latest",
        ],
    );
    assert_code(&sign, 0);
    let json = customs(
        dir.path(),
        None,
        &["verify", "--key", "k.pub", "-o", "json", "oci:app:latest"],
    );
    assert_code(&json, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let bundle = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"]["kind"] == "bundle")
        .expect("the bundle verified");
    assert_eq!(
        bundle["payload"]["subject"][0]["digest"]["sha256"],
        digest.strip_prefix("sha256:").unwrap()
    );
}

#[test]
fn two_keys_sign_and_each_verifies() {
    let (dir, _) = setup();
    assert_code(
        &customs(
            dir.path(),
            Some("pw2"),
            &["key", "generate", "--output-key-prefix", "k2"],
        ),
        0,
    );
    assert_code(
        &customs(
            dir.path(),
            Some("pw"),
            &["sign", "--key", "k.key", "oci:app:latest"],
        ),
        0,
    );
    assert_code(
        &customs(
            dir.path(),
            Some("pw2"),
            &["sign", "--key", "k2.key", "oci:app:latest"],
        ),
        0,
    );
    for public in ["k.pub", "k2.pub"] {
        let v = customs(
            dir.path(),
            None,
            &["verify", "--key", public, "oci:app:latest"],
        );
        assert_code(&v, 0);
        assert_eq!(stdout(&v).lines().count(), 1, "one signature per key");
    }
}

#[test]
fn wrong_password_is_reported() {
    let (dir, _) = setup();
    let out = customs(
        dir.path(),
        Some("not-the-password"),
        &["sign", "--key", "k.key", "oci:app:latest"],
    );
    assert_code(&out, 2);
    assert!(stderr(&out).contains("wrong password"), "{}", stderr(&out));
}

#[test]
fn malformed_pem_is_reported() {
    let (dir, _) = setup();
    std::fs::write(
        dir.path().join("bad.pub"),
        "-----BEGIN PUBLIC KEY-----\n!!!\n",
    )
    .unwrap();
    let out = customs(
        dir.path(),
        None,
        &["verify", "--key", "bad.pub", "oci:app:latest"],
    );
    assert_code(&out, 2);
    assert!(stderr(&out).contains("malformed PEM"), "{}", stderr(&out));

    // A well-armoured PEM whose body ("garbage") is not cosign's encrypted-key JSON.
    std::fs::write(
        dir.path().join("bad.key"),
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = customs(
        dir.path(),
        Some("pw"),
        &["sign", "--key", "bad.key", "oci:app:latest"],
    );
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("malformed encrypted key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unsigned_image_has_no_signatures() {
    let (dir, digest) = setup();
    let out = customs(
        dir.path(),
        None,
        &["verify", "--key", "k.pub", "oci:app:latest"],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!("no signatures found for oci:app:latest@{digest}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wrong_key_is_not_verified() {
    let (dir, _) = setup();
    assert_code(
        &customs(
            dir.path(),
            Some("x"),
            &["key", "generate", "--output-key-prefix", "other"],
        ),
        0,
    );
    assert_code(
        &customs(
            dir.path(),
            Some("pw"),
            &["sign", "--key", "k.key", "oci:app:latest"],
        ),
        0,
    );
    let out = customs(
        dir.path(),
        None,
        &["verify", "--key", "other.pub", "oci:app:latest"],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("signature verification failed"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn attest_then_verify_attestation_prints_the_predicate() {
    let (dir, _) = setup();
    std::fs::write(dir.path().join("pred.json"), r#"{"builder":{"id":"ci"}}"#).unwrap();
    let att = customs(
        dir.path(),
        Some("pw"),
        &[
            "attest",
            "--key",
            "k.key",
            "--type",
            "slsaprovenance",
            "--predicate",
            "pred.json",
            "oci:app:latest",
        ],
    );
    assert_code(&att, 0);
    let ok = customs(
        dir.path(),
        None,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "slsaprovenance",
            "oci:app:latest",
        ],
    );
    assert_code(&ok, 0);
    let predicate: serde_json::Value = serde_json::from_str(stdout(&ok).trim()).unwrap();
    assert_eq!(predicate["builder"]["id"], "ci");

    let wrong_type = customs(
        dir.path(),
        None,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "cyclonedx",
            "oci:app:latest",
        ],
    );
    assert_code(&wrong_type, 1);
    assert!(
        stderr(&wrong_type).contains("predicate type mismatch"),
        "{}",
        stderr(&wrong_type)
    );
}

#[test]
fn custom_attestation_wraps_the_text_with_a_timestamp() {
    let (dir, _) = setup();
    std::fs::write(dir.path().join("note.txt"), "reviewed by QA").unwrap();
    let att = customs(
        dir.path(),
        Some("pw"),
        &[
            "attest",
            "--key",
            "k.key",
            "--predicate",
            "note.txt",
            "oci:app:latest",
        ],
    );
    assert_code(&att, 0);
    let ok = customs(
        dir.path(),
        None,
        &["verify-attestation", "--key", "k.pub", "oci:app:latest"],
    );
    assert_code(&ok, 0);
    let predicate: serde_json::Value = serde_json::from_str(stdout(&ok).trim()).unwrap();
    assert_eq!(predicate["Data"], "reviewed by QA");
    let ts = predicate["Timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
}

/// go-containerregistry's `empty.Image` in an OCI layout, with the keyless bundle from
/// `shared/cosign/bundles/` (whose in-toto subject is that image) attached as a referrer.
fn keyless_layout(dir: &Path) -> String {
    let target = customs_testkit::oci::write_empty_image(&dir.join("empty"));
    let store = customs_sign::store::SignatureStore::open(&target, &Default::default()).unwrap();
    let subject = store.resolve().unwrap();
    let bundle = std::fs::read(shared("cosign/bundles/oci-attestation.sigstore.json")).unwrap();
    store
        .add_bundle(&subject, &bundle, customs_sign::intoto::PREDICATE_CUSTOM)
        .unwrap();
    target
}

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

#[test]
fn keyless_verify_checks_bundles_offline_against_the_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let target = keyless_layout(dir.path());
    let root = shared("cosign/bundles/trusted_root_pgi.json");
    let root = root.to_str().unwrap();
    let run = |identity: &str| {
        customs(
            dir.path(),
            None,
            &[
                "verify",
                "--trusted-root",
                root,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                "https://github.com/login/oauth",
                &target,
            ],
        )
    };
    let ok = run("cody@soyland.com");
    assert_code(&ok, 0);
    let statement: serde_json::Value = serde_json::from_str(stdout(&ok).trim()).unwrap();
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    );
    assert_eq!(statement["predicate"]["Data"], "{\"foo\": \"bar\"}\n");

    let wrong = run("wrong@example.com");
    assert_code(&wrong, 1);
    assert!(
        stderr(&wrong).contains("certificate identity mismatch"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn keyless_verify_attestation_checks_bundle_referrers_offline() {
    // The shared keyless bundle is a cosign `attest` bundle (custom predicate) for the empty
    // image: verify-attestation without a key checks it as cosign does.
    let dir = tempfile::tempdir().unwrap();
    let target = keyless_layout(dir.path());
    let root = shared("cosign/bundles/trusted_root_pgi.json");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "verify-attestation",
            "--trusted-root",
            root.to_str().unwrap(),
            "--certificate-oidc-issuer",
            "https://github.com/login/oauth",
        ];
        args.extend_from_slice(extra);
        args.push(&target);
        customs(dir.path(), None, &args)
    };
    let ok = run(&["--certificate-identity", "cody@soyland.com"]);
    assert_code(&ok, 0);
    let predicate: serde_json::Value = serde_json::from_str(stdout(&ok).trim()).unwrap();
    assert_eq!(predicate["Data"], "{\"foo\": \"bar\"}\n");
    assert!(
        stderr(&ok).contains("chains to the trusted root"),
        "{}",
        stderr(&ok)
    );
    let by_regexp = run(&["--certificate-identity-regexp", "^cody@soyland\\.com$"]);
    assert_code(&by_regexp, 0);
    let wrong = run(&["--certificate-identity", "wrong@example.com"]);
    assert_code(&wrong, 1);
    assert!(
        stderr(&wrong).contains("certificate identity mismatch"),
        "{}",
        stderr(&wrong)
    );
    let wrong_type = run(&[
        "--certificate-identity",
        "cody@soyland.com",
        "--type",
        "slsaprovenance",
    ]);
    assert_code(&wrong_type, 1);
    assert!(
        stderr(&wrong_type).contains("predicate type mismatch"),
        "{}",
        stderr(&wrong_type)
    );
    // This certificate came from a personal login, so it has no GitHub-workflow claims.
    let claim = run(&[
        "--certificate-identity",
        "cody@soyland.com",
        "--certificate-github-workflow-trigger",
        "push",
    ]);
    assert_code(&claim, 1);
    assert!(
        stderr(&claim).contains("expected GitHub Workflow Trigger \"push\" not found"),
        "{}",
        stderr(&claim)
    );
    // Image verify takes the identity regexps too.
    let verify = customs(
        dir.path(),
        None,
        &[
            "verify",
            "--trusted-root",
            root.to_str().unwrap(),
            "--certificate-identity-regexp",
            "@soyland[.]com$",
            "--certificate-oidc-issuer-regexp",
            "^https://github[.]com/",
            &target,
        ],
    );
    assert_code(&verify, 0);
}

/// `--rekor-url` is off by default and refuses plain HTTP off loopback before anything is
/// stored or written (no Rekor can run here: see docs/sign.md; this checks only the refusal).
#[test]
fn rekor_url_refuses_plain_http_and_stores_nothing() {
    let (dir, _) = setup();
    let sign = customs(
        dir.path(),
        Some("pw"),
        &[
            "sign",
            "--key",
            "k.key",
            "--bundle-format",
            "--rekor-url",
            "http://rekor.example",
            "oci:app:latest",
        ],
    );
    assert_code(&sign, 2);
    assert!(
        stderr(&sign).contains("must be https://"),
        "{}",
        stderr(&sign)
    );
    let sigs = customs(
        dir.path(),
        None,
        &["download", "signature", "oci:app:latest"],
    );
    assert_code(&sigs, 1);
    let no_bundle = customs(
        dir.path(),
        Some("pw"),
        &[
            "sign",
            "--key",
            "k.key",
            "--rekor-url",
            "https://rekor.example",
            "oci:app:latest",
        ],
    );
    assert_code(&no_bundle, 2);
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let blob = customs(
        dir.path(),
        Some("pw"),
        &[
            "sign-blob",
            "--key",
            "k.key",
            "--bundle",
            "f.bundle",
            "--rekor-url",
            "http://rekor.example",
            "f",
        ],
    );
    assert_code(&blob, 2);
    assert!(!dir.path().join("f.bundle").exists());
}

#[test]
fn key_and_keyless_flags_do_not_mix() {
    let (dir, _) = setup();
    let out = customs(
        dir.path(),
        None,
        &[
            "verify",
            "--key",
            "k.pub",
            "--trusted-root",
            "x.json",
            "oci:app:latest",
        ],
    );
    assert_code(&out, 2);
    let none = customs(dir.path(), None, &["verify", "oci:app:latest"]);
    assert_code(&none, 2);
    assert!(stderr(&none).contains("give --key"), "{}", stderr(&none));
}

#[test]
fn sbom_and_scan_attest_their_results_and_verify() {
    let (dir, _) = setup();
    let sbom = customs(
        dir.path(),
        Some("pw"),
        &[
            "sbom",
            "oci:app:latest",
            "-f",
            "cyclonedx",
            "--attest",
            "--key",
            "k.key",
            "--no-cache",
        ],
    );
    assert_code(&sbom, 0);
    let bom: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
    let verified = customs(
        dir.path(),
        None,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "cyclonedx",
            "oci:app:latest",
        ],
    );
    assert_code(&verified, 0);
    let predicate: serde_json::Value =
        serde_json::from_str(stdout(&verified).lines().next().unwrap()).unwrap();
    assert_eq!(
        predicate["components"], bom["components"],
        "the attested SBOM is the one printed"
    );

    // A vulnerability database from the shared advisory data, then a vuln attestation.
    let db = dir.path().join("v.db");
    let vulndata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vulndata");
    let import = customs(
        dir.path(),
        None,
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            vulndata.to_str().unwrap(),
        ],
    );
    assert_code(&import, 0);
    let mut cmd = Command::new(BIN);
    let scan = cmd
        .current_dir(dir.path())
        .env("CUSTOMS_PASSWORD", "pw")
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .args([
            "scan",
            "oci:app:latest",
            "-f",
            "json",
            "--db",
            db.to_str().unwrap(),
            "--attest",
            "--key",
            "k.key",
            "--no-cache",
        ])
        .output()
        .unwrap();
    assert_code(&scan, 0);
    let verified = customs(
        dir.path(),
        None,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "vuln",
            "oci:app:latest",
        ],
    );
    assert_code(&verified, 0);
    let predicate: serde_json::Value =
        serde_json::from_str(stdout(&verified).lines().next().unwrap()).unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(
        predicate["scanner"]["result"]["findings"],
        printed["findings"]
    );
    assert!(
        !printed["findings"].as_array().unwrap().is_empty(),
        "app-multi has findings"
    );
    // The wrong type is not there.
    let wrong = customs(
        dir.path(),
        None,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "spdx",
            "oci:app:latest",
        ],
    );
    assert_code(&wrong, 1);
}
