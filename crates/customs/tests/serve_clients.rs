//! `customs serve` with real clients: skopeo copies every shared image to it and back
//! preserving digests, umoci reads what skopeo pulled back, and customs' own `copy`, `sign`,
//! `verify`, `attest`, `verify-attestation`, `tree` and `pin` work against it, including the
//! referrers API (`artifactType` filter, `OCI-Filters-Applied`, `OCI-Subject`). The server is
//! the real binary on a loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use customs_testkit::registry::skopeo;
use sha2::{Digest, Sha256};

mod common;
use common::{customs, ok, Serve, BIN};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The manifest digest of an image as skopeo reads it from its source.
fn source_digest(source: &str) -> String {
    sha256(skopeo(&["inspect", "--raw", source]).as_bytes())
}

#[test]
fn skopeo_round_trips_every_shared_image_preserving_digests_and_umoci_reads_them() {
    let serve = Serve::start(tempfile::tempdir().unwrap(), "-v", "");
    let work = tempfile::tempdir().unwrap();
    // skopeo cannot read the gzipped docker-archive directly (see shared/images/README.md).
    let alpine311 = work.path().join("alpine-3.11.tar");
    let gz = std::fs::File::open(shared("alpine-3.11.tar.gz")).unwrap();
    let mut out = std::fs::File::create(&alpine311).unwrap();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut out).unwrap();
    let sources = [
        (
            "alpine310",
            format!("docker-archive:{}", shared("alpine-3.10.tar").display()),
        ),
        (
            "alpine311",
            format!("docker-archive:{}", alpine311.display()),
        ),
        (
            "app",
            format!("oci-archive:{}", shared("app-multi.oci.tar").display()),
        ),
        (
            "debian",
            format!(
                "oci-archive:{}",
                shared("debian-bookworm-minbase.oci.tar").display()
            ),
        ),
    ];
    for (name, source) in &sources {
        let want = source_digest(source);
        let dest = format!("docker://{}/shared/{name}:v1", serve.addr);
        skopeo(&[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            source,
            &dest,
        ]);
        let inspected: serde_json::Value =
            serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &dest])).unwrap();
        assert_eq!(
            inspected["Digest"],
            want.as_str(),
            "{name}: digest after push"
        );
        let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &dest]);
        assert_eq!(sha256(raw.as_bytes()), want, "{name}: raw manifest bytes");

        // Pull back into an OCI layout, keeping the digest, and let umoci read it.
        let layout = work.path().join(format!("{name}-oci"));
        let back = format!("oci:{}:v1", layout.display());
        skopeo(&[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            &dest,
            &back,
        ]);
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        assert_eq!(
            index["manifests"][0]["digest"],
            want.as_str(),
            "{name}: digest after pull"
        );
        let umoci = Command::new("umoci")
            .args(["ls", "--layout"])
            .arg(&layout)
            .output()
            .expect("umoci must be installed");
        assert!(
            umoci.status.success(),
            "{}",
            String::from_utf8_lossy(&umoci.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&umoci.stdout).trim(), "v1");
        // umoci reads OCI manifests only: the Docker schema 2 images are pulled again,
        // converted by skopeo, for it to read.
        let layout = if name.starts_with("alpine") {
            let converted = work.path().join(format!("{name}-converted"));
            let to = format!("oci:{}:v1", converted.display());
            skopeo(&[
                "copy",
                "--quiet",
                "--format",
                "oci",
                "--src-tls-verify=false",
                &dest,
                &to,
            ]);
            converted
        } else {
            layout
        };
        let stat = Command::new("umoci")
            .args(["stat", "--json", "--image"])
            .arg(format!("{}:v1", layout.display()))
            .output()
            .unwrap();
        assert!(
            stat.status.success(),
            "{name}: umoci stat: {}",
            String::from_utf8_lossy(&stat.stderr)
        );
        let stat: serde_json::Value = serde_json::from_slice(&stat.stdout).unwrap();
        assert!(
            !stat["history"].as_array().unwrap().is_empty(),
            "{name}: umoci sees history"
        );
    }
    // Every image is listed by its tag.
    let catalog: serde_json::Value =
        reqwest::blocking::get(format!("http://{}/v2/_catalog", serve.addr))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(
        catalog["repositories"],
        serde_json::json!([
            "shared/alpine310",
            "shared/alpine311",
            "shared/app",
            "shared/debian"
        ])
    );
    // The access log has one line per request, and it carries no query string.
    let log = serve.log();
    assert!(
        log.contains("PUT /v2/shared/debian/manifests/v1 201"),
        "{log}"
    );
}

#[test]
fn customs_copy_sign_and_verify_against_the_registry() {
    let serve = Serve::start(tempfile::tempdir().unwrap(), "-v", "");
    let dir = tempfile::tempdir().unwrap();
    ok(customs(
        dir.path(),
        &["key", "generate", "--output-key-prefix", "k"],
    ));
    let src = format!("oci-archive:{}", shared("app-multi.oci.tar").display());
    let image = format!("{}/signed/app:v1", serve.addr);
    ok(customs(dir.path(), &["copy", &src, &image]));
    let verify = customs(dir.path(), &["verify", "--key", "k.pub", &image]);
    assert_eq!(
        verify.status.code(),
        Some(1),
        "unsigned: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let signed = ok(customs(
        dir.path(),
        &["sign", "--key", "k.key", "--bundle-format", &image],
    ));
    assert!(
        signed.contains("sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"),
        "{signed}"
    );
    ok(customs(dir.path(), &["verify", "--key", "k.pub", &image]));
    // The bundle is an OCI 1.1 referrer the server indexes.
    let referrers: serde_json::Value = reqwest::blocking::get(format!(
        "http://{}/v2/signed/app/referrers/sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44",
        serve.addr
    ))
    .unwrap()
    .json()
    .unwrap();
    let ms = referrers["manifests"].as_array().unwrap();
    assert_eq!(ms.len(), 1, "{referrers}");
    assert_eq!(
        ms[0]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    // And customs copies the image back out, verifying every blob.
    ok(customs(dir.path(), &["copy", &image, "oci:back:v1"]));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("back/index.json")).unwrap())
            .unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"
    );
}

const APP: &str = "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const SPDX: &str = "application/spdx+json";
const NOTE: &str = "application/vnd.example.review-note";

/// PUTs an artefact manifest (OCI 1.1: empty config, one blob) referring to `subject`.
fn push_referrer(
    http: &reqwest::blocking::Client,
    base: &str,
    repo: &str,
    subject: (&str, u64),
    artifact_type: &str,
    content: &[u8],
) -> (String, reqwest::blocking::Response) {
    let empty = b"{}";
    for blob in [&empty[..], content] {
        let r = http
            .post(format!(
                "{base}/v2/{repo}/blobs/uploads/?digest={}",
                sha256(blob)
            ))
            .body(blob.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2},
        "layers": [{"mediaType": artifact_type, "digest": sha256(content), "size": content.len()}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject.0, "size": subject.1},
        "annotations": {"org.opencontainers.image.description": format!("a {artifact_type} artefact")},
    }))
    .unwrap();
    let digest = sha256(&manifest);
    let r = http
        .put(format!("{base}/v2/{repo}/manifests/{digest}"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .unwrap();
    (digest, r)
}

#[test]
fn customs_attest_pin_and_the_referrers_api_against_the_registry() {
    let serve = Serve::start(tempfile::tempdir().unwrap(), "-v", "");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let base = format!("http://{}", serve.addr);
    let http = reqwest::blocking::Client::new();
    ok(customs(
        work,
        &["key", "generate", "--output-key-prefix", "k"],
    ));
    let src = format!("oci-archive:{}", shared("app-multi.oci.tar").display());
    let image = format!("{}/ref/app:v1", serve.addr);
    ok(customs(work, &["copy", &src, &image]));
    let app_size = http
        .head(format!("{base}/v2/ref/app/manifests/{APP}"))
        .send()
        .unwrap()
        .headers()["Content-Length"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();

    // attest stores a DSSE envelope under the .att tag; verify-attestation reads it back.
    std::fs::write(work.join("pred.json"), r#"{"builder":{"id":"ci-7"}}"#).unwrap();
    ok(customs(
        work,
        &[
            "attest",
            "--key",
            "k.key",
            "--type",
            "slsaprovenance",
            "--predicate",
            "pred.json",
            &image,
        ],
    ));
    let out = ok(customs(
        work,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "slsaprovenance",
            &image,
        ],
    ));
    let predicate: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(predicate["builder"]["id"], "ci-7");
    let tags: serde_json::Value = http
        .get(format!("{base}/v2/ref/app/tags/list"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let att_tag = format!("sha256-{}.att", APP.trim_start_matches("sha256:"));
    assert!(
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == att_tag.as_str()),
        "{tags}"
    );
    // A wrong predicate type is refused against the registry too.
    let wrong = customs(
        work,
        &[
            "verify-attestation",
            "--key",
            "k.pub",
            "--type",
            "cyclonedx",
            &image,
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));

    // Referrers: a signature bundle from `customs sign --bundle-format`, and two artefacts.
    ok(customs(
        work,
        &["sign", "--key", "k.key", "--bundle-format", &image],
    ));
    let (spdx, r) = push_referrer(
        &http,
        &base,
        "ref/app",
        (APP, app_size),
        SPDX,
        b"{\"spdxVersion\":\"SPDX-2.3\"}",
    );
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    assert_eq!(
        r.headers()["OCI-Subject"],
        APP,
        "the subject is acknowledged"
    );
    let (note, r) = push_referrer(&http, &base, "ref/app", (APP, app_size), NOTE, b"reviewed");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);

    let referrers = |query: &str| {
        let r = http
            .get(format!("{base}/v2/ref/app/referrers/{APP}{query}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        assert_eq!(r.headers()["Content-Type"], INDEX);
        let filters = r
            .headers()
            .get("OCI-Filters-Applied")
            .map(|v| v.to_str().unwrap().to_string());
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["mediaType"], INDEX);
        assert_eq!(v["schemaVersion"], 2);
        (v["manifests"].as_array().unwrap().clone(), filters)
    };
    let (all, filters) = referrers("");
    assert_eq!(filters, None, "no filter, no OCI-Filters-Applied");
    let mut types: Vec<&str> = all
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [SPDX, "application/vnd.dev.sigstore.bundle.v0.3+json", NOTE]
    );
    // '+' is a space in a query string: encoded.
    let (only, filters) = referrers(&format!("?artifactType={}", SPDX.replace('+', "%2B")));
    assert_eq!(filters.as_deref(), Some("artifactType"));
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!(only[0]["digest"], spdx.as_str());
    assert_eq!(
        only[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        only[0]["annotations"]["org.opencontainers.image.description"],
        format!("a {SPDX} artefact")
    );
    let size = http
        .get(format!("{base}/v2/ref/app/manifests/{spdx}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .len();
    assert_eq!(
        only[0]["size"], size,
        "the descriptor's size is the manifest's"
    );
    let (none, filters) = referrers("?artifactType=application/x-nothing");
    assert!(none.is_empty());
    assert_eq!(filters.as_deref(), Some("artifactType"));
    // A digest nothing refers to has an empty list, not an error.
    let (empty, _) = {
        let r = http
            .get(format!(
                "{base}/v2/ref/app/referrers/{}",
                sha256(b"nothing")
            ))
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let v: serde_json::Value = r.json().unwrap();
        (v["manifests"].as_array().unwrap().clone(), ())
    };
    assert!(empty.is_empty());
    // Deleting a referrer removes it from the list.
    let r = http
        .delete(format!("{base}/v2/ref/app/manifests/{note}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let (after, _) = referrers("");
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|m| m["digest"] != note.as_str()));

    // customs' own client reads the same referrers and tags (`customs tree`).
    let tree: serde_json::Value =
        serde_json::from_str(&ok(customs(work, &["tree", "-o", "json", &image]))).unwrap();
    let mut seen: Vec<&str> = tree["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    seen.sort();
    let mut want: Vec<&str> = after
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    want.sort();
    assert_eq!(seen, want);
    assert!(!tree["attestations"].is_null(), "{tree}");
    assert!(!tree["signatures"].is_null(), "{tree}");

    // pin resolves the tag through the server to the digest skopeo reads, and verifies it.
    let df = work.join("Dockerfile");
    std::fs::write(&df, format!("FROM {image} AS build\nRUN true\n")).unwrap();
    let o = ok(customs(work, &["pin", df.to_str().unwrap()]));
    assert!(o.contains("1 reference(s) pinned"), "{o}");
    let inspected: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]))
    .unwrap();
    let skopeo_digest = inspected["Digest"].as_str().unwrap().to_string();
    assert_eq!(skopeo_digest, APP);
    assert_eq!(
        std::fs::read_to_string(&df).unwrap(),
        format!("FROM {image}@{APP} AS build\nRUN true\n")
    );
    let v: serde_json::Value = serde_json::from_str(&ok(customs(
        work,
        &["pin", "--verify", "-f", "json", df.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(v[0]["changed"], false);
    assert_eq!(v[0]["results"][0]["outcome"], "verified", "{v}");
    // After the tag moves, --verify reports the pinned digest as stale.
    let alpine = format!("docker-archive:{}", shared("alpine-3.10.tar").display());
    ok(customs(work, &["copy", &alpine, &image]));
    let o = customs(
        work,
        &["pin", "--verify", "-f", "json", df.to_str().unwrap()],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_ne!(
        v[0]["results"][0]["outcome"],
        "verified",
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_non_loopback_address_without_tls_and_users_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without TLS"),
        "{err}"
    );
}

#[test]
fn init_health_metrics_and_graceful_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("serve.toml");
    let init = |p: &Path| {
        Command::new(BIN)
            .args(["serve", "--init", "--config"])
            .arg(p)
            .output()
            .unwrap()
    };
    ok(init(&config));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:5000\"") && text.contains("# [gate]"),
        "{text}"
    );
    let again = init(&config);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing config is never overwritten"
    );

    let mut serve = Serve::start(tempfile::tempdir().unwrap(), "-v", "");
    let get = |path: &str| reqwest::blocking::get(format!("http://{}{path}", serve.addr)).unwrap();
    let r = get("/healthz");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(get("/readyz").status(), reqwest::StatusCode::OK);
    assert_eq!(get("/v2/").status(), reqwest::StatusCode::OK);
    assert_eq!(
        get("/v2/none/manifests/latest").status(),
        reqwest::StatusCode::NOT_FOUND
    );
    let metrics = get("/metrics").text().unwrap();
    assert!(
        metrics.contains("# TYPE customs_serve_requests_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("customs_serve_requests_total{method=\"GET\",status=\"200\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("customs_serve_requests_total{method=\"GET\",status=\"404\"} 1"),
        "{metrics}"
    );

    // SIGTERM: the server stops on its own and exits 0.
    unsafe {
        libc::kill(serve.child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = serve.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", serve.log());
}
