//! `customs serve` with real clients: skopeo copies every shared image to it and back
//! preserving digests, umoci reads what skopeo pulled back, and customs' own `copy`, `sign`
//! and `verify` work against it. The server is the real binary on a loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use customs_testkit::registry::skopeo;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_customs");

/// A `customs serve` process on 127.0.0.1 with a fresh data directory; killed on drop.
struct Serve {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Serve {
    // The child is killed and waited for by Serve's Drop.
    #[allow(clippy::zombie_processes)]
    fn start() -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["-v", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.strip_prefix("customs serve: listening on "))
            {
                let addr = addr.trim().to_string();
                return Serve { child, addr, dir };
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("customs serve did not start: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

fn customs(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("CUSTOMS_PASSWORD", "pw")
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn skopeo_round_trips_every_shared_image_preserving_digests_and_umoci_reads_them() {
    let serve = Serve::start();
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
    let serve = Serve::start();
    let dir = tempfile::tempdir().unwrap();
    ok(&customs(
        dir.path(),
        &["key", "generate", "--output-key-prefix", "k"],
    ));
    let src = format!("oci-archive:{}", shared("app-multi.oci.tar").display());
    let image = format!("{}/signed/app:v1", serve.addr);
    ok(&customs(dir.path(), &["copy", &src, &image]));
    let verify = customs(dir.path(), &["verify", "--key", "k.pub", &image]);
    assert_eq!(
        verify.status.code(),
        Some(1),
        "unsigned: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let signed = ok(&customs(
        dir.path(),
        &["sign", "--key", "k.key", "--bundle-format", &image],
    ));
    assert!(
        signed.contains("sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"),
        "{signed}"
    );
    ok(&customs(dir.path(), &["verify", "--key", "k.pub", &image]));
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
    ok(&customs(dir.path(), &["copy", &image, "oci:back:v1"]));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("back/index.json")).unwrap())
            .unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"
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
    ok(&init(&config));
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

    let mut serve = Serve::start();
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
