//! Scale-out: two `customs serve` replicas share metadata in PostgreSQL 15 (a cluster this
//! test creates with `initdb` in a temporary directory, on loopback, as an unprivileged user)
//! and blobs in an S3 server on loopback (`moto_server`). A push through one is pullable
//! through the other; concurrent pushes of the same layers through both leave one stored copy
//! of each; garbage collection while uploads are in flight loses nothing; and a stopped S3
//! server gives a clean 5xx, after which the same upload is retried to success.
//!
//! Nothing is skipped: a missing PostgreSQL or moto fails with the install step
//! (`scripts/install-deps` installs both).

use std::ffi::OsStr;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use customs_testkit::registry::skopeo_status as skopeo;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

mod common;
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const BUCKET: &str = "customs-blobs";

/// A child process killed and reaped when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A command run as the unprivileged `postgres` user when the test runs as root (PostgreSQL
/// refuses to run as root), else as the current user.
fn pg_command(tool: &str) -> Command {
    let path = format!("{PG_BIN}/{tool}");
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: PostgreSQL 15 is needed (apt-get install postgresql; scripts/install-deps)"
    );
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(path)
    }
}

/// Starts a fresh PostgreSQL 15 cluster on loopback; returns it and its connection string.
fn start_postgres(dir: &Path) -> (Proc, String) {
    let data = dir.join("pg");
    std::fs::create_dir_all(&data).unwrap();
    if is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ok = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&data)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let out = pg_command("initdb")
        .args(["-D"])
        .arg(&data)
        .args(["-U", "customs", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(dir.join("postgres.log")).unwrap();
    let mut child = pg_command("postgres")
        .arg("-D")
        .arg(&data)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
        .arg(&data)
        .args(["-F", "-c", "max_connections=20"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_port(port, "postgres", &mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = Command::new(format!("{PG_BIN}/pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .unwrap();
        if ok.success() {
            break;
        }
        assert!(Instant::now() < deadline, "postgres never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        Proc(child),
        format!("host=127.0.0.1 port={port} user=customs dbname=postgres"),
    )
}

fn moto_binary() -> PathBuf {
    let venv = Path::new(ROOT).join(".venv-tools/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .find(|c| c.exists())
    });
    found.expect("moto_server is missing: pip install 'moto[server]' (scripts/install-deps)")
}

/// Starts an S3 server on loopback with the bucket created; returns it and its endpoint.
fn start_s3(dir: &Path, port: u16) -> (Proc, String) {
    let log = std::fs::File::create(dir.join(format!("moto-{port}.log"))).unwrap();
    let mut child = Command::new(moto_binary())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_port(port, "moto_server", &mut child);
    let endpoint = format!("http://127.0.0.1:{port}");
    (Proc(child), endpoint)
}

fn create_bucket(endpoint: &str) {
    let r = Client::new()
        .put(format!("{endpoint}/{BUCKET}"))
        .send()
        .unwrap();
    assert!(
        r.status().is_success(),
        "creating the bucket: {}",
        r.status()
    );
}

/// The keys under `prefix` in the bucket.
fn keys(endpoint: &str, prefix: &str) -> Vec<String> {
    let body = Client::new()
        .get(format!("{endpoint}/{BUCKET}?list-type=2&prefix={prefix}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    body.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// Starts a replica over the shared storage, with `extra` appended to its config; returns
/// it and its address.
fn start_replica(dir: &Path, name: &str, pg: &str, s3: &str, extra: &str) -> (Proc, String) {
    let data = dir.join(name);
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:0"
data_dir = "{}"
[storage]
postgres = "{pg}"
[storage.s3]
bucket = "{BUCKET}"
endpoint = "{s3}"
region = "us-east-1"
access_key_id = "customs-test-key-id"
secret_access_key = "customs-test-secret-key"
allow_http = true
{extra}
"#,
            data.display()
        ),
    )
    .unwrap();
    let args: [&OsStr; 4] = [
        "-v".as_ref(),
        "serve".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ];
    let (child, addr) = common::spawn_serve(args, &dir.join(format!("{name}.log")));
    (Proc(child), addr)
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// The raw manifest skopeo reads from `image`.
fn raw_manifest(image: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let out = Command::new("skopeo")
        .arg(format!("--policy={}", policy.display()))
        .args(["inspect", "--raw", "--tls-verify=false", image])
        .env("HOME", dir.path())
        .output()
        .expect("skopeo must be installed");
    assert!(
        out.status.success(),
        "skopeo inspect {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every digest an image manifest names (config and layers) and its own.
fn image_digests(manifest: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    let mut d = vec![
        sha256(manifest),
        v["config"]["digest"].as_str().unwrap().to_string(),
    ];
    for l in v["layers"].as_array().unwrap() {
        d.push(l["digest"].as_str().unwrap().to_string());
    }
    d.sort();
    d
}

fn copy(src: &str, dest: &str) {
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        src,
        dest,
    ]);
    assert!(ok, "skopeo copy {src} {dest}: {text}");
}

fn debian() -> String {
    format!("oci-archive:{SHARED}/images/debian-bookworm-minbase.oci.tar")
}

#[test]
fn two_replicas_share_postgres_and_s3_push_pull_dedupe_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let (_pg, pg) = start_postgres(dir.path());
    let (_s3, s3) = start_s3(dir.path(), free_port());
    create_bucket(&s3);
    let (_a, a) = start_replica(dir.path(), "a", &pg, &s3, "");
    let (_b, b) = start_replica(dir.path(), "b", &pg, &s3, "");

    // A push through one replica is pullable through the other, digests preserved.
    let app = format!("oci-archive:{SHARED}/images/alpine-3.11.tar.gz");
    let _ = app;
    let src = debian();
    copy(&src, &format!("docker://{a}/shared/debian:12"));
    let pushed = raw_manifest(&format!("docker://{a}/shared/debian:12"));
    let through_b = raw_manifest(&format!("docker://{b}/shared/debian:12"));
    assert_eq!(sha256(&pushed), sha256(&through_b));
    let out = dir.path().join("pulled");
    copy(
        &format!("docker://{b}/shared/debian:12"),
        &format!("oci:{}:12", out.display()),
    );
    let digests = image_digests(&pushed);
    for d in &digests {
        let hex = d.strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(out.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(&sha256(&bytes), d, "blob pulled through b");
    }
    // The bucket holds the image's blobs; b's local cache was filled and verified on pull.
    let stored = keys(&s3, "blobs/");
    for d in &digests {
        let key = format!("blobs/sha256/{}", d.strip_prefix("sha256:").unwrap());
        assert_eq!(stored.iter().filter(|k| **k == key).count(), 1, "{key}");
    }

    // Concurrent pushes of the same layers through both replicas: both succeed, and each
    // blob is stored once (one key per digest, no temporary keys left over).
    let threads: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(i, addr)| {
            let src = src.clone();
            std::thread::spawn(move || {
                copy(&src, &format!("docker://{addr}/race/debian:r{i}"));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut stored = keys(&s3, "blobs/");
    stored.sort();
    let mut want: Vec<String> = digests
        .iter()
        .map(|d| format!("blobs/sha256/{}", d.strip_prefix("sha256:").unwrap()))
        .collect();
    want.sort();
    assert_eq!(stored, want, "one stored copy of each blob");
    assert!(keys(&s3, "uploads/").is_empty(), "no temporary keys left");
    for (addr, tag) in [(&b, "r0"), (&a, "r1")] {
        let m = raw_manifest(&format!("docker://{addr}/race/debian:{tag}"));
        assert_eq!(sha256(&m), sha256(&pushed));
    }

    // Garbage collection with uploads in flight loses nothing. An unreferenced blob (pushed,
    // then its link deleted) is garbage once older than the grace window.
    let http = Client::new();
    let garbage: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let g = sha256(&garbage);
    let r = http
        .post(format!("http://{a}/v2/gc/junk/blobs/uploads/?digest={g}"))
        .body(garbage.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http
        .delete(format!("http://{b}/v2/gc/junk/blobs/{g}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    std::thread::sleep(Duration::from_secs(3));
    // In flight: a chunked upload on b, and a whole image push through b.
    let chunk1: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let chunk2: Vec<u8> = (0..150_000u32).map(|i| (i % 239) as u8).collect();
    let whole = [chunk1.clone(), chunk2.clone()].concat();
    let w = sha256(&whole);
    let r = http
        .post(format!("http://{b}/v2/gc/inflight/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let url = |loc: &str| {
        if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("http://{b}{loc}")
        }
    };
    let r = http
        .patch(url(&location))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", format!("0-{}", chunk1.len() - 1))
        .body(chunk1.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let pusher = {
        let src = src.clone();
        let b = b.clone();
        std::thread::spawn(move || copy(&src, &format!("docker://{b}/gc/debian:during")))
    };
    let mut removed = 0;
    for addr in [&a, &b, &a] {
        let r = http
            .post(format!("http://{addr}/v2/_customs/gc?grace_secs=2"))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "gc: {}", r.status());
        let v: serde_json::Value = r.json().unwrap();
        removed += v["blobs"].as_u64().unwrap_or(0);
    }
    pusher.join().unwrap();
    let r = http
        .patch(url(&location))
        .header("Content-Type", "application/octet-stream")
        .header(
            "Content-Range",
            format!("{}-{}", chunk1.len(), whole.len() - 1),
        )
        .body(chunk2.clone())
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "the upload in flight survived gc"
    );
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = http
        .put(format!("{}{sep}digest={w}", url(&location)))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(removed >= 1, "gc removed the unreferenced blob");
    let g_key = format!("blobs/sha256/{}", g.strip_prefix("sha256:").unwrap());
    assert!(
        !keys(&s3, "blobs/").contains(&g_key),
        "garbage left in the bucket"
    );
    // Everything referenced is intact and pullable through the other replica.
    let got = http
        .get(format!("http://{a}/v2/gc/inflight/blobs/{w}"))
        .send()
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(sha256(&got.bytes().unwrap()), w);
    for (addr, repo) in [
        (&a, "gc/debian:during"),
        (&b, "shared/debian:12"),
        (&a, "race/debian:r0"),
    ] {
        let out = dir
            .path()
            .join(format!("after-gc-{}", repo.replace([':', '/'], "-")));
        copy(
            &format!("docker://{addr}/{repo}"),
            &format!("oci:{}:x", out.display()),
        );
    }
}

#[test]
fn a_stopped_s3_server_is_a_clean_5xx_and_the_upload_is_retried_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let (_pg, pg) = start_postgres(dir.path());
    let port = free_port();
    let (s3_proc, s3) = start_s3(dir.path(), port);
    create_bucket(&s3);
    let (_a, a) = start_replica(dir.path(), "a", &pg, &s3, "");
    let http = Client::new();
    let blob: Vec<u8> = (0..500_000u32).map(|i| (i % 233) as u8).collect();
    let d = sha256(&blob);

    // Upload the bytes, then lose the object store before the upload is finished.
    let r = http
        .post(format!("http://{a}/v2/fault/s3/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let url = |loc: &str| {
        if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("http://{a}{loc}")
        }
    };
    let r = http
        .patch(url(&location))
        .header("Content-Type", "application/octet-stream")
        .body(blob.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    drop(s3_proc);
    let sep = if location.contains('?') { '&' } else { '?' };
    let finish = format!("{}{sep}digest={d}", url(&location));
    let r = http.put(&finish).send().unwrap();
    assert!(
        r.status().is_server_error(),
        "a failing object store is a 5xx, got {}",
        r.status()
    );
    let body = r.text().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).expect("an OCI error body");
    assert!(v["errors"][0]["code"].is_string(), "{body}");
    // Nothing is visible.
    let r = http
        .head(format!("http://{a}/v2/fault/s3/blobs/{d}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The S3 server comes back (empty: moto keeps no state), and the same upload is retried.
    let (_s3_again, s3) = start_s3(dir.path(), port);
    create_bucket(&s3);
    let r = http.put(&finish).send().unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    let got = http
        .get(format!("http://{a}/v2/fault/s3/blobs/{d}"))
        .send()
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(sha256(&got.bytes().unwrap()), d);
    let key = format!("blobs/sha256/{}", d.strip_prefix("sha256:").unwrap());
    assert!(keys(&s3, "blobs/").contains(&key));
}

/// Auth behind a load balancer: a token issued by one replica is accepted by the other (the
/// token signing key is shared through PostgreSQL), a robot made through one replica logs in
/// at the other, and a robot removed through one is refused by both at once, its earlier
/// token included.
#[test]
fn two_replicas_accept_each_others_tokens_and_share_robots() {
    const ALICE_PW: &str = "alice-Scale-5d2a";
    let dir = tempfile::tempdir().unwrap();
    let (_pg, pg) = start_postgres(dir.path());
    let (_s3, s3) = start_s3(dir.path(), free_port());
    create_bucket(&s3);
    let htpasswd = dir.path().join("users.htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash(ALICE_PW, 5).unwrap()),
    )
    .unwrap();
    let auth = format!(
        "[auth]\nhtpasswd = \"{}\"\n[[auth.access]]\nrepository = \"team/*\"\nusers = [\"alice\"]\nactions = [\"admin\"]\n",
        htpasswd.display()
    );
    let (_a, a) = start_replica(dir.path(), "a", &pg, &s3, &auth);
    let (_b, b) = start_replica(dir.path(), "b", &pg, &s3, &auth);
    let http = Client::new();
    let token = |at: &str, user: &str, password: &str, scope: &str| -> (StatusCode, String) {
        let r = http
            .get(format!("http://{at}/token?service=customs&scope={scope}"))
            .basic_auth(user, Some(password))
            .send()
            .unwrap();
        let status = r.status();
        let v: serde_json::Value = r.json().unwrap_or_default();
        (status, v["token"].as_str().unwrap_or_default().to_string())
    };
    let blob = b"scale-out auth: one key, one list of robots".to_vec();
    let digest = sha256(&blob);
    let get_blob = |at: &str, bearer: &str| {
        http.get(format!("http://{at}/v2/team/app/blobs/{digest}"))
            .bearer_auth(bearer)
            .send()
            .unwrap()
            .status()
    };

    // alice makes robot$ci (pull on team/*) through a replica: the answer and its token.
    let make_robot = |at: &str, secs: u64| -> (StatusCode, String) {
        let r = http
            .post(format!("http://{at}/v2/_customs/robots"))
            .basic_auth("alice", Some(ALICE_PW))
            .json(&serde_json::json!({
                "name": "ci",
                "scopes": [{"repository": "team/*", "actions": ["pull"]}],
                "expires_in_secs": secs
            }))
            .send()
            .unwrap();
        let status = r.status();
        let v: serde_json::Value = r.json().unwrap_or_default();
        (status, v["token"].as_str().unwrap_or_default().to_string())
    };

    // alice's token from replica a pushes through replica b and pulls through both.
    let (status, alice) = token(&a, "alice", ALICE_PW, "repository:team/app:pull,push");
    assert_eq!(status, StatusCode::OK);
    let r = http
        .post(format!(
            "http://{b}/v2/team/app/blobs/uploads/?digest={digest}"
        ))
        .bearer_auth(&alice)
        .body(blob.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "a's token at b");
    assert_eq!(get_blob(&a, &alice), StatusCode::OK);
    assert_eq!(get_blob(&b, &alice), StatusCode::OK);
    // A token nobody issued is refused by both.
    // (One character in the middle of the signature changed: it carries six whole bits.)
    let sig = alice.rfind('.').unwrap() + 10;
    let swap = if &alice[sig..=sig] == "A" { "B" } else { "A" };
    let forged = format!("{}{swap}{}", &alice[..sig], &alice[sig + 1..]);
    assert_eq!(get_blob(&a, &forged), StatusCode::UNAUTHORIZED);
    assert_eq!(get_blob(&b, &forged), StatusCode::UNAUTHORIZED);

    // A robot made through a: b lists it, and it logs in at b.
    let (status, secret) = make_robot(&a, 3600);
    assert_eq!(status, StatusCode::CREATED);
    let listed: serde_json::Value = http
        .get(format!("http://{b}/v2/_customs/robots"))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["robots"][0]["name"], "robot$ci", "{listed}");
    let (status, robot) = token(&b, "robot$ci", &secret, "repository:team/app:pull");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get_blob(&b, &robot), StatusCode::OK);
    assert_eq!(get_blob(&a, &robot), StatusCode::OK);
    // The same name cannot be made again through the other replica.
    assert_eq!(make_robot(&b, 60).0, StatusCode::CONFLICT);

    // Removed through b: refused at a at once, the token it already holds included.
    let r = http
        .delete(format!("http://{b}/v2/_customs/robots/robot$ci"))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(get_blob(&a, &robot), StatusCode::UNAUTHORIZED);
    assert_eq!(
        token(&a, "robot$ci", &secret, "repository:team/app:pull").0,
        StatusCode::UNAUTHORIZED
    );
    // Made again under the same name through a: only the new token logs in, at either.
    let (status, renewed) = make_robot(&a, 3600);
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(renewed, secret);
    assert_eq!(
        token(&b, "robot$ci", &secret, "repository:team/app:pull").0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token(&b, "robot$ci", &renewed, "repository:team/app:pull").0,
        StatusCode::OK
    );
    // No secret reached either replica's log.
    for name in ["a", "b"] {
        let log = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap();
        for s in [ALICE_PW, &*secret, &*renewed, &*alice, &*robot] {
            assert!(!log.contains(s), "a secret is in {name}.log");
        }
    }
}
