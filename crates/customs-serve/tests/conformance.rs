//! The OCI Distribution Spec v1.1 conformance areas (pull, push, content discovery, content
//! management), written as our own tests from the spec text against a real server on
//! loopback, driven with a plain HTTP client. Each test names the spec section it covers;
//! "spec: …" quotes are the MUSTs being checked.

use customs_serve::{Config, Server};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

struct Reg {
    _dir: tempfile::TempDir,
    server: Server,
    http: Client,
}

impl Reg {
    fn start() -> Reg {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let server = Server::start(config, None).unwrap();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Reg {
            _dir: dir,
            server,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("http://{}{path}", self.server.addr())
        }
    }

    fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().unwrap()
    }

    fn head(&self, path: &str) -> Response {
        self.http.head(self.url(path)).send().unwrap()
    }

    fn delete(&self, path: &str) -> Response {
        self.http.delete(self.url(path)).send().unwrap()
    }

    /// POST then PUT: pushes `data` as a blob of `repo`; returns its digest.
    fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = digest(data);
        let r = self
            .http
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/")))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let loc = location(&r);
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = self
            .http
            .put(self.url(&format!("{loc}{sep}digest={digest}")))
            .header("Content-Type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
        digest
    }

    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> Response {
        self.http
            .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("Content-Type", media_type)
            .body(body.to_vec())
            .send()
            .unwrap()
    }

    /// A config and one layer pushed to `repo`, and an image manifest over them (not pushed).
    fn image(&self, repo: &str, seed: &str) -> (Vec<u8>, String) {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
        let layer = format!("layer {seed}").into_bytes();
        let c = self.push_blob(repo, config.as_bytes());
        let l = self.push_blob(repo, &layer);
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": layer.len()}],
        }))
        .unwrap();
        let d = digest(&manifest);
        (manifest, d)
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn location(r: &Response) -> String {
    r.headers()
        .get("Location")
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn error_code(r: Response) -> String {
    let v: serde_json::Value = r.json().expect("an OCI error body");
    v["errors"][0]["code"].as_str().unwrap().to_string()
}

/// spec "Determining support" (end-1): GET /v2/ answers 200.
#[test]
fn end_1_base_endpoint_answers_200() {
    let reg = Reg::start();
    let r = reg.get("/v2/");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "Docker-Distribution-API-Version").as_deref(),
        Some("registry/2.0")
    );
}

/// spec "Pulling blobs": "A GET request to an existing blob URL MUST provide the expected
/// blob, with a response code that MUST be 200 OK"; HEAD answers 200 with Content-Length;
/// "If the blob is not found in the repository, the response code MUST be 404 Not Found".
#[test]
fn pull_blobs_get_head_and_404() {
    let reg = Reg::start();
    let data = b"hello blob".to_vec();
    let d = reg.push_blob("pull/blobs", &data);
    let r = reg.get(&format!("/v2/pull/blobs/blobs/{d}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "Docker-Content-Digest").as_deref(),
        Some(d.as_str())
    );
    assert_eq!(r.bytes().unwrap().as_ref(), data.as_slice());
    let r = reg.head(&format!("/v2/pull/blobs/blobs/{d}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "Content-Length").as_deref(), Some("10"));
    let missing = digest(b"never pushed");
    let r = reg.get(&format!("/v2/pull/blobs/blobs/{missing}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "BLOB_UNKNOWN");
    // A blob of another repository is not visible here.
    let r = reg.head(&format!("/v2/other/repo/blobs/{d}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// spec "Pulling manifests": GET by tag and by digest return the manifest with its
/// Content-Type and Docker-Content-Digest; HEAD answers 200; an unknown one is 404
/// MANIFEST_UNKNOWN.
#[test]
fn pull_manifests_by_tag_and_digest() {
    let reg = Reg::start();
    let (m, d) = reg.image("pull/manifests", "a");
    let r = reg.put_manifest("pull/manifests", "v1", OCI_MANIFEST, &m);
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        header(&r, "Docker-Content-Digest").as_deref(),
        Some(d.as_str())
    );
    assert_eq!(location(&r), format!("/v2/pull/manifests/manifests/{d}"));
    for reference in ["v1", d.as_str()] {
        let r = reg.get(&format!("/v2/pull/manifests/manifests/{reference}"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "Content-Type").as_deref(), Some(OCI_MANIFEST));
        assert_eq!(
            header(&r, "Docker-Content-Digest").as_deref(),
            Some(d.as_str())
        );
        assert_eq!(r.bytes().unwrap().as_ref(), m.as_slice());
        let r = reg.head(&format!("/v2/pull/manifests/manifests/{reference}"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "Content-Length"), Some(m.len().to_string()));
    }
    let r = reg.get("/v2/pull/manifests/manifests/nope");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "MANIFEST_UNKNOWN");
}

/// spec "Pushing a blob monolithically" (POST with ?digest= and a body → 201 with
/// Location) and "POST then PUT" (202 with Location, then 201); a digest that does not match
/// the content is refused with 400 DIGEST_INVALID and nothing is stored.
#[test]
fn push_monolithic_single_post_and_post_put_and_wrong_digest() {
    let reg = Reg::start();
    let data = b"single post".to_vec();
    let d = digest(&data);
    let r = reg
        .http
        .post(reg.url(&format!("/v2/push/mono/blobs/uploads/?digest={d}")))
        .header("Content-Type", "application/octet-stream")
        .body(data.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(location(&r), format!("/v2/push/mono/blobs/{d}"));
    assert_eq!(
        reg.head(&format!("/v2/push/mono/blobs/{d}")).status(),
        StatusCode::OK
    );
    reg.push_blob("push/mono", b"post then put");

    let wrong = digest(b"something else");
    let r = reg
        .http
        .post(reg.url(&format!("/v2/push/mono/blobs/uploads/?digest={wrong}")))
        .body(b"not that".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r), "DIGEST_INVALID");
    assert_eq!(
        reg.head(&format!("/v2/push/mono/blobs/{wrong}")).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reg.head(&format!("/v2/push/mono/blobs/{}", digest(b"not that")))
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// spec "Pushing a blob in chunks": each PATCH with Content-Range and Content-Length answers
/// 202 with Location and `Range: 0-<end>`; "chunks MUST be uploaded in order", an
/// out-of-order chunk "MUST" get 416; GET on the upload URL reports the progress (resuming);
/// the closing PUT with ?digest= answers 201.
#[test]
fn push_chunked_with_out_of_order_416_and_resume() {
    let reg = Reg::start();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let d = digest(&data);
    let r = reg
        .http
        .post(reg.url("/v2/push/chunked/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut loc = location(&r);
    let (a, b) = data.split_at(100_000);
    let r = reg
        .http
        .patch(reg.url(&loc))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", format!("0-{}", a.len() - 1))
        .header("Content-Length", a.len())
        .body(a.to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&r, "Range").as_deref(), Some("0-99999"));
    loc = location(&r);
    // A chunk that skips ahead is refused, and the upload is intact.
    let r = reg
        .http
        .patch(reg.url(&loc))
        .header("Content-Range", "150000-150009")
        .header("Content-Length", 10)
        .body(vec![0u8; 10])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Resume: ask where the upload stands.
    let r = reg.get(&loc);
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "Range").as_deref(), Some("0-99999"));
    let r = reg
        .http
        .patch(reg.url(&loc))
        .header("Content-Range", format!("100000-{}", data.len() - 1))
        .header("Content-Length", b.len())
        .body(b.to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    loc = location(&r);
    let r = reg
        .http
        .put(reg.url(&format!("{loc}?digest={d}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = reg
        .get(&format!("/v2/push/chunked/blobs/{d}"))
        .bytes()
        .unwrap();
    assert_eq!(got.as_ref(), data.as_slice());
    // The finished upload is gone.
    let r = reg.get(&loc);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "BLOB_UPLOAD_UNKNOWN");
}

/// spec "Mounting a blob from another repository": POST ?mount=&from= answers 201 when the
/// blob is in `from`, and falls back to a 202 upload session when it is not.
#[test]
fn push_cross_repository_mount() {
    let reg = Reg::start();
    let d = reg.push_blob("mount/source", b"shared layer");
    let r = reg
        .http
        .post(reg.url(&format!(
            "/v2/mount/target/blobs/uploads/?mount={d}&from=mount/source"
        )))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(location(&r), format!("/v2/mount/target/blobs/{d}"));
    assert_eq!(
        reg.get(&format!("/v2/mount/target/blobs/{d}"))
            .bytes()
            .unwrap()
            .as_ref(),
        b"shared layer"
    );
    let missing = digest(b"nowhere");
    let r = reg
        .http
        .post(reg.url(&format!(
            "/v2/mount/target/blobs/uploads/?mount={missing}&from=mount/source"
        )))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(location(&r).starts_with("/v2/mount/target/blobs/uploads/"));
}

/// spec "Pushing Manifests": a manifest whose blobs are not in the repository is refused
/// (MANIFEST_BLOB_UNKNOWN); one pushed by digest must hash to that digest; invalid JSON is
/// MANIFEST_INVALID; a Docker schema 2 manifest and an index of pushed manifests are
/// accepted.
#[test]
fn push_manifests_checks_blobs_digest_and_media_types() {
    let reg = Reg::start();
    let (m, d) = reg.image("push/manifests", "x");
    let r = reg.put_manifest("push/other", "v1", OCI_MANIFEST, &m);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r), "MANIFEST_BLOB_UNKNOWN");
    let wrong = digest(b"x");
    let r = reg.put_manifest("push/manifests", &wrong, OCI_MANIFEST, &m);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r), "DIGEST_INVALID");
    let r = reg.put_manifest("push/manifests", "v1", OCI_MANIFEST, b"{not json");
    assert_eq!(error_code(r), "MANIFEST_INVALID");
    let r = reg.put_manifest("push/manifests", &d, OCI_MANIFEST, &m);
    assert_eq!(r.status(), StatusCode::CREATED);

    // Docker v2 schema 2.
    let docker_type = "application/vnd.docker.distribution.manifest.v2+json";
    let config = b"{\"os\":\"linux\"}";
    let c = reg.push_blob("push/manifests", config);
    let l = reg.push_blob("push/manifests", b"docker layer");
    let dm = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": docker_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": c, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": l, "size": 12}],
    }))
    .unwrap();
    let r = reg.put_manifest("push/manifests", "docker", docker_type, &dm);
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = reg.get("/v2/push/manifests/manifests/docker");
    assert_eq!(header(&r, "Content-Type").as_deref(), Some(docker_type));

    // An index over both; one naming an absent manifest is refused.
    let index = |children: &[(&str, &str, usize)]| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": children.iter().map(|(t, d, s)| serde_json::json!({
                "mediaType": t, "digest": d, "size": s,
                "platform": {"architecture": "amd64", "os": "linux"}})).collect::<Vec<_>>(),
        }))
        .unwrap()
    };
    let good = index(&[
        (OCI_MANIFEST, &d, m.len()),
        (docker_type, &digest(&dm), dm.len()),
    ]);
    let r = reg.put_manifest("push/manifests", "multi", OCI_INDEX, &good);
    assert_eq!(r.status(), StatusCode::CREATED);
    let absent = digest(b"absent");
    let bad = index(&[(OCI_MANIFEST, &absent, 10)]);
    let r = reg.put_manifest("push/manifests", "broken", OCI_INDEX, &bad);
    assert_eq!(error_code(r), "MANIFEST_BLOB_UNKNOWN");
    // Content-Type and mediaType must agree.
    let r = reg.put_manifest("push/manifests", "liar", OCI_INDEX, &m);
    assert_eq!(error_code(r), "MANIFEST_INVALID");
}

/// spec "Listing Tags": "the response MUST be a JSON body" with name and tags in lexical
/// order; `n` limits it, `last` continues after a tag, and a Link header points at the next
/// page; an unknown repository is 404 NAME_UNKNOWN.
#[test]
fn discovery_tag_listing_with_pagination() {
    let reg = Reg::start();
    let (m, _) = reg.image("disc/tags", "t");
    for t in ["b", "a", "d", "c", "e"] {
        assert_eq!(
            reg.put_manifest("disc/tags", t, OCI_MANIFEST, &m).status(),
            StatusCode::CREATED
        );
    }
    let v: serde_json::Value = reg.get("/v2/disc/tags/tags/list").json().unwrap();
    assert_eq!(v["name"], "disc/tags");
    assert_eq!(v["tags"], serde_json::json!(["a", "b", "c", "d", "e"]));
    let r = reg.get("/v2/disc/tags/tags/list?n=2");
    let link = header(&r, "Link").expect("a Link header when more tags follow");
    assert_eq!(link, "</v2/disc/tags/tags/list?n=2&last=b>; rel=\"next\"");
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = reg.get(&next).json().unwrap();
    assert_eq!(v["tags"], serde_json::json!(["c", "d"]));
    let r = reg.get("/v2/disc/tags/tags/list?n=2&last=d");
    assert!(header(&r, "Link").is_none());
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["tags"], serde_json::json!(["e"]));
    let r = reg.get("/v2/disc/none/tags/list");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "NAME_UNKNOWN");
}

/// spec "Listing Referrers" and "Pushing Manifests with Subject": a manifest with a subject
/// answers with an OCI-Subject header; GET /referrers/<digest> "MUST" return an image index
/// of the referring descriptors with artifactType and annotations, "MUST" return 200 and an
/// empty index for an unknown subject, and with ?artifactType= filters and says so in
/// OCI-Filters-Applied.
#[test]
fn discovery_referrers_with_artifact_type_filter() {
    let reg = Reg::start();
    let repo = "disc/refs";
    let (m, subject) = reg.image(repo, "s");
    reg.put_manifest(repo, "v1", OCI_MANIFEST, &m);
    let empty_config = b"{}";
    let ec = reg.push_blob(repo, empty_config);
    let referrer = |artifact: &str, note: &str| {
        let layer = reg.push_blob(repo, note.as_bytes());
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": ec, "size": 2},
            "layers": [{"mediaType": "text/plain", "digest": layer, "size": note.len()}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": m.len()},
            "annotations": {"note": note},
        }))
        .unwrap()
    };
    let sbom = referrer("application/spdx+json", "sbom");
    let sig = referrer("application/vnd.dev.sigstore.bundle.v0.3+json", "sig");
    for body in [&sbom, &sig] {
        let r = reg.put_manifest(repo, &digest(body), OCI_MANIFEST, body);
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(header(&r, "OCI-Subject").as_deref(), Some(subject.as_str()));
    }
    let r = reg.get(&format!("/v2/{repo}/referrers/{subject}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "Content-Type").as_deref(), Some(OCI_INDEX));
    assert!(header(&r, "OCI-Filters-Applied").is_none());
    let v: serde_json::Value = r.json().unwrap();
    let ms = v["manifests"].as_array().unwrap();
    assert_eq!(ms.len(), 2);
    let sbom_desc = ms.iter().find(|d| d["digest"] == digest(&sbom)).unwrap();
    assert_eq!(sbom_desc["artifactType"], "application/spdx+json");
    assert_eq!(sbom_desc["annotations"]["note"], "sbom");
    assert_eq!(sbom_desc["size"], sbom.len());
    let r = reg.get(&format!(
        "/v2/{repo}/referrers/{subject}?artifactType=application/spdx%2Bjson"
    ));
    assert_eq!(
        header(&r, "OCI-Filters-Applied").as_deref(),
        Some("artifactType")
    );
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(v["manifests"][0]["digest"], digest(&sbom));
    let r = reg.get(&format!(
        "/v2/{repo}/referrers/{}",
        digest(b"no such subject")
    ));
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));
}

/// spec "Deleting tags", "Deleting Manifests", "Deleting Blobs": DELETE answers 202 and the
/// content is then 404; deleting a manifest removes its tags; an unknown one is 404.
#[test]
fn management_delete_tags_manifests_and_blobs() {
    let reg = Reg::start();
    let repo = "mgmt/del";
    let (m, d) = reg.image(repo, "d");
    reg.put_manifest(repo, "keep", OCI_MANIFEST, &m);
    reg.put_manifest(repo, "drop", OCI_MANIFEST, &m);
    assert_eq!(
        reg.delete(&format!("/v2/{repo}/manifests/drop")).status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        reg.get(&format!("/v2/{repo}/manifests/drop")).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reg.get(&format!("/v2/{repo}/manifests/keep")).status(),
        StatusCode::OK
    );
    assert_eq!(
        reg.delete(&format!("/v2/{repo}/manifests/{d}")).status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        reg.get(&format!("/v2/{repo}/manifests/keep")).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reg.get(&format!("/v2/{repo}/manifests/{d}")).status(),
        StatusCode::NOT_FOUND
    );
    let r = reg.delete(&format!("/v2/{repo}/manifests/{d}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "MANIFEST_UNKNOWN");
    let b = reg.push_blob(repo, b"doomed");
    assert_eq!(
        reg.delete(&format!("/v2/{repo}/blobs/{b}")).status(),
        StatusCode::ACCEPTED
    );
    let r = reg.get(&format!("/v2/{repo}/blobs/{b}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r), "BLOB_UNKNOWN");
    // Cancelling an upload (DELETE on its URL) answers 204 and forgets it.
    let r = reg
        .http
        .post(reg.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .unwrap();
    let loc = location(&r);
    assert_eq!(reg.delete(&loc).status(), StatusCode::NO_CONTENT);
    assert_eq!(reg.get(&loc).status(), StatusCode::NOT_FOUND);
}

/// spec "Error codes" and name grammar: an invalid repository name is NAME_INVALID, an
/// invalid digest DIGEST_INVALID, each in the JSON error body.
#[test]
fn invalid_names_and_digests_get_oci_errors() {
    let reg = Reg::start();
    let r = reg.get("/v2/Upper/Case/manifests/latest");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r), "NAME_INVALID");
    let r = reg.get("/v2/ok/blobs/not-a-digest");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r), "DIGEST_INVALID");
}

/// Durability: what was committed survives a restart of the server on the same data
/// directory, and an upload in progress can be resumed by the next process.
#[test]
fn content_and_uploads_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let http = Client::new();
    let server = Server::start(config.clone(), None).unwrap();
    let base = format!("http://{}", server.addr());
    let r = http
        .post(format!("{base}/v2/r/blobs/uploads/"))
        .send()
        .unwrap();
    let loc = location(&r);
    http.patch(format!("{base}{loc}"))
        .header("Content-Range", "0-4")
        .body(b"hello".to_vec())
        .send()
        .unwrap();
    server.stop();
    let server = Server::start(config, None).unwrap();
    let base = format!("http://{}", server.addr());
    let r = http.get(format!("{base}{loc}")).send().unwrap();
    assert_eq!(header(&r, "Range").as_deref(), Some("0-4"));
    let d = digest(b"hello world");
    let r = http
        .put(format!("{base}{loc}?digest={d}"))
        .header("Content-Range", "5-10")
        .body(b" world".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = http
        .get(format!("{base}/v2/r/blobs/{d}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(got.as_ref(), b"hello world");
}
