//! The keyless pull gate of `customs serve` (issue 14): per repository pattern, an image is
//! served only when a Sigstore keyless signature verifies for the configured identity (OIDC
//! issuer and subject, exact or by regexp), offline against the configured trusted root, with
//! customs-sign's own bundle and certificate verification. The signed image is real:
//! go-containerregistry's `empty.Image` with the public-good keyless bundle from
//! `../shared/cosign/bundles/` (identity `cody@soyland.com`, issuer
//! `https://github.com/login/oauth`) attached as a referrer through the registry API.

use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::blocking::Client;
use reqwest::StatusCode;
use sha2::Digest as _;

const EMPTY: &str = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
const CODY: &str = "cody@soyland.com";
const GITHUB: &str = "https://github.com/login/oauth";
const MANIFEST_TYPES: &str =
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

mod common;
use common::{customs, ok, shared, Serve, BIN};

/// Pushes the empty image to `repo:latest`; with `signed`, attaches the keyless bundle.
fn push_empty(serve: &Serve, layout: &str, repo: &str, signed: bool) {
    // Pushed by hand: customs-image does not open a config whose diff_ids is null.
    let _ = layout;
    let (config, manifest) = customs_testkit::oci::empty_image();
    let http = Client::new();
    let d = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&config)));
    let r = http
        .post(format!(
            "http://{}/v2/{repo}/blobs/uploads/?digest={d}",
            serve.addr
        ))
        .body(config)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http
        .put(format!("http://{}/v2/{repo}/manifests/latest", serve.addr))
        .header(
            "Content-Type",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .body(manifest)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["Docker-Content-Digest"], EMPTY);
    if signed {
        // By digest: pushers may read a gated manifest so that they can sign it.
        let by_digest = format!("{}/{repo}@{EMPTY}", serve.addr);
        let store =
            customs_sign::store::SignatureStore::open(&by_digest, &Default::default()).unwrap();
        let subject = store.resolve().unwrap();
        let bundle = std::fs::read(shared("cosign/bundles/oci-attestation.sigstore.json")).unwrap();
        store
            .add_bundle(&subject, &bundle, customs_sign::intoto::PREDICATE_CUSTOM)
            .unwrap();
    }
}

/// GET of `repo`'s manifest by tag: the status and the OCI error, if any.
fn pull(http: &Client, serve: &Serve, repo: &str) -> (StatusCode, serde_json::Value) {
    let r = http
        .get(format!("http://{}/v2/{repo}/manifests/latest", serve.addr))
        .header("Accept", MANIFEST_TYPES)
        .send()
        .unwrap();
    let status = r.status();
    if status == StatusCode::OK {
        assert_eq!(r.headers()["Docker-Content-Digest"], EMPTY);
        return (status, serde_json::Value::Null);
    }
    let v: serde_json::Value = r.json().unwrap();
    (status, v["errors"][0].clone())
}

#[test]
fn keyless_pull_gate_admits_the_configured_identity_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let layout = customs_testkit::oci::write_empty_image(&p.join("empty"));
    ok(customs(p, &["key", "generate", "--output-key-prefix", "k"]));
    let root = shared("cosign/bundles/trusted_root_pgi.json");
    let empty_root = shared("cosign/blob-attestation/trusted_root_empty.json");
    let rule = |repo: &str, root: &Path, identity: &str, keys: &str| {
        format!(
            "[[pull_gate]]\nrepository = \"{repo}\"\ntrusted_root = \"{}\"\nkeys = [{keys}]\nidentities = [{identity}]\n",
            root.display()
        )
    };
    let exact = format!("{{ issuer = \"{GITHUB}\", subject = \"{CODY}\" }}");
    let config = [
        rule("prod/*", &root, &exact, ""),
        rule(
            "regexp/*",
            &root,
            "{ issuer_regexp = \"^https://github[.]com/\", subject_regexp = \"@soyland[.]com$\" }",
            "",
        ),
        rule(
            "strict/*",
            &root,
            &format!("{{ issuer = \"{GITHUB}\", subject = \"wrong@example.com\" }}"),
            "",
        ),
        rule(
            "issuer/*",
            &root,
            &format!("{{ issuer = \"https://accounts.google.com\", subject = \"{CODY}\" }}"),
            "",
        ),
        rule("otherroot/*", &empty_root, &exact, ""),
        rule(
            "both/*",
            &root,
            &exact,
            &format!("\"{}\"", p.join("k.pub").display()),
        ),
    ]
    .concat();
    let serve = Serve::start(dir, "-v", &config);
    let layout_ref = layout.as_str();
    for (repo, signed) in [
        ("prod/signed", true),
        ("prod/unsigned", false),
        ("regexp/signed", true),
        ("strict/signed", true),
        ("issuer/signed", true),
        ("otherroot/signed", true),
        ("both/signed", true),
        ("open/unsigned", false),
    ] {
        push_empty(&serve, layout_ref, repo, signed);
    }
    let http = Client::new();

    // The right identity, exact or by regexp, is admitted.
    let (status, err) = pull(&http, &serve, "prod/signed");
    assert_eq!(status, StatusCode::OK, "{err}");
    assert_eq!(pull(&http, &serve, "regexp/signed").0, StatusCode::OK);
    // Repositories no rule names are not gated.
    assert_eq!(pull(&http, &serve, "open/unsigned").0, StatusCode::OK);

    // Unsigned: refused, naming the missing identity.
    let (status, err) = pull(&http, &serve, "prod/unsigned");
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "DENIED");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "no keyless signature verifies for identity {CODY} from {GITHUB}"
        )),
        "{msg}"
    );
    assert_eq!(
        err["detail"]["missing_identities"],
        serde_json::json!([format!("{CODY} from {GITHUB}")])
    );
    assert_eq!(err["detail"]["missing_keys"], serde_json::json!([]));

    // Signed, but by another identity or issuer than the rule asks for.
    let (status, err) = pull(&http, &serve, "strict/signed");
    assert_eq!(status, StatusCode::FORBIDDEN);
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("identity wrong@example.com from https://github.com/login/oauth"),
        "{msg}"
    );
    assert!(msg.contains("certificate identity mismatch"), "{msg}");
    let (status, err) = pull(&http, &serve, "issuer/signed");
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains(&format!("identity {CODY} from https://accounts.google.com")),
        "{err}"
    );

    // The trusted root matters: without the Fulcio CA the same signature does not chain.
    let (status, err) = pull(&http, &serve, "otherroot/signed");
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(
        err["detail"]["missing_identities"],
        serde_json::json!([format!("{CODY} from {GITHUB}")])
    );

    // Keys and identities combine: the identity is there, the key's signature is not.
    let (status, err) = pull(&http, &serve, "both/signed");
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["detail"]["missing_identities"], serde_json::json!([]));
    assert_eq!(
        err["detail"]["missing_keys"].as_array().unwrap().len(),
        1,
        "{err}"
    );

    // An independent check of the admitted image: `customs verify` keyless through the
    // registry agrees with the gate.
    let verified = customs(
        serve.dir.path(),
        &[
            "verify",
            "--trusted-root",
            root.to_str().unwrap(),
            "--certificate-identity",
            CODY,
            "--certificate-oidc-issuer",
            GITHUB,
            &format!("{}/prod/signed:latest", serve.addr),
        ],
    );
    ok(&verified);
}

#[test]
fn keyless_rules_with_bad_identities_or_roots_refuse_to_start() {
    for (extra, expect) in [
        (
            "[[pull_gate]]\nrepository = \"p/*\"\nidentities = [{ subject = \"a@b\" }]\n",
            "one of issuer/issuer_regexp",
        ),
        (
            "[[pull_gate]]\nrepository = \"p/*\"\nidentities = [{ issuer = \"i\", subject_regexp = \"(\" }]\n",
            "bad regular expression",
        ),
        (
            "[[pull_gate]]\nrepository = \"p/*\"\ntrusted_root = \"/nonexistent/root.json\"\nidentities = [{ issuer = \"i\", subject = \"s\" }]\n",
            "/nonexistent/root.json",
        ),
        ("[[pull_gate]]\nrepository = \"p/*\"\n", "list keys or identities"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("serve.toml"),
            format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(dir.path().join("serve.toml"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra}: started");
        assert!(err.contains(expect), "{extra}: {err}");
    }
}
