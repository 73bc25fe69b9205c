//! Garbage collection: blobs nothing refers to are removed once older than the grace
//! window; blobs a manifest names stay even when their repository link was deleted; an
//! upload in flight loses nothing and completes after a collection.

use customs_serve::{Config, Server};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[test]
fn gc_removes_only_unreferenced_old_blobs_and_spares_uploads_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.clone(),
            ..Config::default()
        },
        None,
    )
    .unwrap();
    let base = format!("http://{}", server.addr());
    let http = Client::new();
    let push = |repo: &str, bytes: &[u8]| {
        let d = digest(bytes);
        let r = http
            .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={d}"))
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        d
    };
    let on_disk = |d: &str| {
        data.join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap())
            .exists()
    };

    // An image whose layer link is then deleted: the manifest still names the layer.
    let config = b"{\"os\":\"linux\"}".to_vec();
    let c = push("gc/app", &config);
    let l = push("gc/app", b"the layer");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": 9}],
    }))
    .unwrap();
    let r = http
        .put(format!("{base}/v2/gc/app/manifests/v1"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        http.delete(format!("{base}/v2/gc/app/blobs/{l}"))
            .send()
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    // A blob nothing refers to.
    let orphan = push("gc/app", b"orphan");
    assert_eq!(
        http.delete(format!("{base}/v2/gc/app/blobs/{orphan}"))
            .send()
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    // A blob shared by two repositories, unlinked from one: still linked in the other.
    let shared = push("gc/one", b"shared");
    push("gc/two", b"shared");
    http.delete(format!("{base}/v2/gc/one/blobs/{shared}"))
        .send()
        .unwrap();

    std::thread::sleep(std::time::Duration::from_millis(2200));
    // An upload in flight, younger than the grace window.
    let r = http
        .post(format!("{base}/v2/gc/app/blobs/uploads/"))
        .send()
        .unwrap();
    let loc = r.headers()["Location"].to_str().unwrap().to_string();
    let r = http
        .patch(format!("{base}{loc}"))
        .header("Content-Range", "0-4")
        .body(b"in fl".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let r = http
        .post(format!("{base}/v2/_customs/gc?grace_secs=2"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: serde_json::Value = r.json().unwrap();
    assert_eq!(report["blobs"], 1, "{report}");
    assert_eq!(report["uploads"], 0, "{report}");
    assert!(!on_disk(&orphan));
    for kept in [&c, &l, &shared] {
        assert!(on_disk(kept), "{kept} was collected");
    }
    assert_eq!(
        http.get(format!("{base}/v2/gc/app/manifests/v1"))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(format!("{base}/v2/gc/two/blobs/{shared}"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .as_ref(),
        b"shared"
    );

    // The upload in flight completes after the collection.
    let whole = digest(b"in flight");
    let r = http
        .put(format!("{base}{loc}?digest={whole}"))
        .header("Content-Range", "5-8")
        .body(b"ight".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        http.get(format!("{base}/v2/gc/app/blobs/{whole}"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .as_ref(),
        b"in flight"
    );

    // An abandoned upload older than the window is removed.
    let r = http
        .post(format!("{base}/v2/gc/app/blobs/uploads/"))
        .send()
        .unwrap();
    let stale = r.headers()["Location"].to_str().unwrap().to_string();
    http.patch(format!("{base}{stale}"))
        .body(b"x".to_vec())
        .send()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let report: serde_json::Value = http
        .post(format!("{base}/v2/_customs/gc?grace_secs=1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(report["uploads"], 1, "{report}");
    assert_eq!(
        http.get(format!("{base}{stale}")).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
