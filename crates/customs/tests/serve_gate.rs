//! The push gate of `customs serve`: an image pushed with skopeo is judged with the same
//! policy file as `customs check`, from the blobs already in storage, before it is pullable.
//! The vulnerable shared image (app-multi, with the shared advisory data) is quarantined and
//! its pull error names every CVE that `customs check` names; the clean alpine image is
//! pullable; a signing round trip works on the quarantined image by digest.

use customs_testkit::registry::skopeo_status as skopeo;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{ok, Serve, BIN};
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const APP: &str = "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";
const POLICY: &str = "[vulnerabilities]\nmax_severity = \"medium\"\nunknown = \"pass\"\n";

fn customs(dir: &Path, db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("CUSTOMS_DB", db)
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("CUSTOMS_CACHE_DIR", dir.join("cache"))
        .env("CUSTOMS_PASSWORD", "pw")
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap()
}

fn start() -> (Serve, PathBuf) {
    start_with(|_| (String::new(), format!("{SHARED}/vulndata")))
}

/// Starts the server after `prepare` wrote its files: it returns extra config and the
/// advisory data directory the database is imported from.
fn start_with(prepare: impl FnOnce(&Path) -> (String, String)) -> (Serve, PathBuf) {
    start_gate(prepare, "")
}

/// [`start_with`], with `gate` appended to the `[gate]` table.
fn start_gate(prepare: impl FnOnce(&Path) -> (String, String), gate: &str) -> (Serve, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let (extra, source) = prepare(p);
    let db = p.join("customs.db");
    ok(customs(
        p,
        &db,
        &["db", "import", &source, "--db", db.to_str().unwrap()],
    ));
    std::fs::write(p.join("policy.toml"), POLICY).unwrap();
    let config = format!(
        "{extra}\n[gate]\npolicy = \"{}\"\ndatabase = \"{}\"\nwatch_secs = 1\n{gate}\n",
        p.join("policy.toml").display(),
        db.display()
    );
    (Serve::start(dir, "-v", &config), db)
}

#[test]
fn vulnerable_image_is_quarantined_naming_its_cves_clean_twin_pulls_and_signing_still_works() {
    let (serve, db) = start();
    let work = serve.dir.path();
    push_to(
        &serve,
        &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
        "gate/app:v1",
    );
    push_to(
        &serve,
        &format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
        "gate/alpine:v1",
    );

    // What `customs check` says about the same image with the same policy and database.
    let check = customs(
        work,
        &db,
        &[
            "check",
            &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
            "--policy",
            "policy.toml",
            "-f",
            "json",
        ],
    );
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let reasons: Vec<String> = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(!reasons.is_empty());

    // The pull by tag is refused with an OCI DENIED error naming every violated rule.
    let r =
        reqwest::blocking::get(format!("http://{}/v2/gate/app/manifests/v1", serve.addr)).unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let err: serde_json::Value = r.json().unwrap();
    assert_eq!(err["errors"][0]["code"], "DENIED");
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("quarantined"), "{message}");
    for reason in &reasons {
        assert!(
            message.contains(reason.as_str()),
            "{reason:?} missing from {message}"
        );
    }
    let cves = err["errors"][0]["detail"]["cves"].as_array().unwrap();
    assert!(!cves.is_empty(), "{err}");
    for cve in cves {
        let cve = cve.as_str().unwrap();
        assert!(message.contains(cve));
        assert!(
            reasons.iter().any(|r| r.contains(cve)),
            "{cve} not in customs check's reasons"
        );
    }
    // The quarantine is visible through the API, by tag and by digest.
    for reference in ["v1", APP] {
        let r = reqwest::blocking::get(format!(
            "http://{}/v2/gate/app/_customs/status/{reference}",
            serve.addr
        ))
        .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["status"], "quarantined");
        assert_eq!(v["digest"], APP);
        assert_eq!(v["verdict"]["cves"], serde_json::Value::Array(cves.clone()));
    }
    let v: serde_json::Value = reqwest::blocking::get(format!(
        "http://{}/v2/gate/alpine/_customs/status/v1",
        serve.addr
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(v["status"], "passed");
    assert_eq!(v["verdict"]["violations"], serde_json::json!([]));
    // skopeo sees the refusal too.
    let out = tempfile::tempdir().unwrap();
    let (ok, text) = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/gate/app:v1", serve.addr),
        &format!("oci:{}:v1", out.path().join("app").display()),
    ]);
    assert!(!ok && text.contains("quarantined"), "{text}");

    // The clean twin passed and is pullable.
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/gate/alpine:v1", serve.addr),
        &format!("oci:{}:v1", out.path().join("alpine").display()),
    ]);
    assert!(ok, "{text}");

    // The pusher can still read the quarantined manifest by digest, so signing works.
    let by_digest = format!("{}/gate/app@{APP}", serve.addr);
    ok_out(&customs(
        work,
        &db,
        &["key", "generate", "--output-key-prefix", "k"],
    ));
    let signed = ok_out(&customs(work, &db, &["sign", "--key", "k.key", &by_digest]));
    assert!(signed.contains(APP), "{signed}");
    ok_out(&customs(
        work,
        &db,
        &["verify", "--key", "k.pub", &by_digest],
    ));
    // Signing does not release it.
    let r =
        reqwest::blocking::get(format!("http://{}/v2/gate/app/manifests/v1", serve.addr)).unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);

    // An admin's reviewed exception (a reason and an expiry are required) releases it until
    // it expires, and is recorded.
    let exception = |body: serde_json::Value| {
        reqwest::blocking::Client::new()
            .put(format!(
                "http://{}/v2/gate/app/_customs/exception/{APP}",
                serve.addr
            ))
            .json(&body)
            .send()
            .unwrap()
    };
    assert_eq!(
        exception(serde_json::json!({"expires_in_secs": 60})).status(),
        reqwest::StatusCode::BAD_REQUEST
    );
    assert_eq!(
        exception(serde_json::json!({"reason": "x"})).status(),
        reqwest::StatusCode::BAD_REQUEST
    );
    let r = exception(
        serde_json::json!({"reason": "PYSEC fixes reviewed: not reachable", "expires_in_secs": 2}),
    );
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let granted = std::time::Instant::now();
    let r =
        reqwest::blocking::get(format!("http://{}/v2/gate/app/manifests/v1", serve.addr)).unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK, "under an exception");
    let v: serde_json::Value = reqwest::blocking::get(format!(
        "http://{}/v2/gate/app/_customs/status/v1",
        serve.addr
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(v["status"], "quarantined");
    assert_eq!(
        v["exception"]["reason"],
        "PYSEC fixes reviewed: not reachable"
    );
    std::thread::sleep(Duration::from_secs(3).saturating_sub(granted.elapsed()));
    let r =
        reqwest::blocking::get(format!("http://{}/v2/gate/app/manifests/v1", serve.addr)).unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::FORBIDDEN,
        "the exception expired"
    );
    assert!(serve_log(&serve).contains("exception granted by"));
}

fn ok_out(o: &Output) -> String {
    ok(o)
}

#[test]
fn pull_gate_refuses_unsigned_and_wrong_key_and_admits_the_right_key() {
    let (serve, db) = start_with(|p| {
        let gen = |prefix: &str| {
            let o = Command::new(BIN)
                .current_dir(p)
                .args(["key", "generate", "--output-key-prefix", prefix])
                .env("CUSTOMS_PASSWORD", "pw")
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        };
        gen("release");
        gen("other");
        (
            format!(
                "[[pull_gate]]\nrepository = \"signed/*\"\nkeys = [\"{}\"]\n",
                p.join("release.pub").display()
            ),
            format!("{SHARED}/vulndata"),
        )
    });
    let work = serve.dir.path();
    push_to(
        &serve,
        &format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
        "signed/alpine:v1",
    );
    let tag_url = format!("http://{}/v2/signed/alpine/manifests/v1", serve.addr);
    let refused = |what: &str| {
        let r = reqwest::blocking::get(&tag_url).unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN, "{what}");
        let v: serde_json::Value = r.json().unwrap();
        let message = v["errors"][0]["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("refused by the pull gate"),
            "{what}: {message}"
        );
        assert!(
            message.contains("release.pub"),
            "{what}: names the missing key: {message}"
        );
        assert!(v["errors"][0]["detail"]["missing_keys"][0]
            .as_str()
            .unwrap()
            .ends_with("release.pub"));
    };
    refused("unsigned");
    // The digest of the pushed manifest, readable by the pusher.
    let (_, raw) = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/signed/alpine@sha256:808fcd364a3abbe46fcb6f56ceb1a21940c8897a66591fbb06fec7546d73ac2e", serve.addr)]);
    assert!(raw.contains("schemaVersion"), "{raw}");
    let by_digest = format!(
        "{}/signed/alpine@sha256:808fcd364a3abbe46fcb6f56ceb1a21940c8897a66591fbb06fec7546d73ac2e",
        serve.addr
    );
    ok_out(&customs(
        work,
        &db,
        &["sign", "--key", "other.key", &by_digest],
    ));
    refused("signed with another key only");
    ok_out(&customs(
        work,
        &db,
        &["sign", "--key", "release.key", &by_digest],
    ));
    let r = reqwest::blocking::get(&tag_url).unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::OK,
        "{}",
        r.text().unwrap_or_default()
    );
    let out = tempfile::tempdir().unwrap();
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/signed/alpine:v1", serve.addr),
        &format!("oci:{}:v1", out.path().join("a").display()),
    ]);
    assert!(ok, "{text}");
    // Repositories outside the pattern are not gated.
    push_to(
        &serve,
        &format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
        "open/alpine:v1",
    );
    let r = reqwest::blocking::get(format!("http://{}/v2/open/alpine/manifests/v1", serve.addr))
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}

/// A schedule in the config keeps the database fresh on its own (`gate.update_secs`, from a
/// mirror laid out like the public sources): once the mirror publishes newer data, the
/// scheduled update fetches it, the watcher rematches, and the image that was clean is
/// quarantined, with no `customs db` command run.
#[test]
fn a_scheduled_update_from_a_mirror_quarantines_a_clean_image() {
    // The mirror first publishes the older data: Go advisories only, all unrated, which the
    // policy lets pass. The server's database starts from the same.
    let mirror = tempfile::tempdir().unwrap();
    let publish = |eco: &str| {
        let to = mirror.path().join(eco);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(
            format!("{SHARED}/vulndata/osv/{eco}/all.zip"),
            to.join("all.zip"),
        )
        .unwrap();
    };
    publish("Go");
    let (serve, _db) = start_gate(
        |_| (String::new(), mirror.path().display().to_string()),
        &format!(
            "update_secs = 1\nupdate_mirror = \"file://{}\"\n",
            mirror.path().display()
        ),
    );
    push_to(
        &serve,
        &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
        "sched/app:v1",
    );
    let status = || status_of(&serve, "sched/app", "v1");
    assert_eq!(status()["status"], "passed", "{}", status());

    // The mirror publishes every shared ecosystem: the next scheduled update fetches them.
    for entry in std::fs::read_dir(format!("{SHARED}/vulndata/osv")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if Path::new(&format!("{SHARED}/vulndata/osv/{name}/all.zip")).is_file() {
            publish(&name);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while status()["status"] != "quarantined" {
        assert!(
            Instant::now() < deadline,
            "not quarantined: {}\n{}",
            status(),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!status()["verdict"]["cves"].as_array().unwrap().is_empty());
    let log = serve.log();
    assert!(log.contains("gate: database updated in"), "{log}");
    assert!(log.contains("gate: rematched"), "{log}");
}

/// `db import` of newer data rematches every stored inventory: an image that was clean is
/// quarantined, and the CVE query finds it by tag and digest.
#[test]
fn newer_advisory_data_quarantines_a_clean_image_and_the_cve_query_finds_it() {
    let hooks = Receiver::start();
    let hook_url = hooks.url.clone();
    let (serve, db) = start_with(|p| {
        // The older data: Go advisories only, all unrated, which the policy lets pass.
        let old = p.join("old/osv/Go");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::copy(
            format!("{SHARED}/vulndata/osv/Go/all.zip"),
            old.join("all.zip"),
        )
        .unwrap();
        (
            format!("[[webhooks]]\nurl = \"{hook_url}\"\nsecret = \"{HOOK_SECRET}\"\n"),
            p.join("old").display().to_string(),
        )
    });
    let work = serve.dir.path();
    push_to(
        &serve,
        &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
        "watch/app:v1",
    );
    let status = || status_of(&serve, "watch/app", "v1");
    assert_eq!(status()["status"], "passed", "{}", status());
    let manifest = format!("http://{}/v2/watch/app/manifests/v1", serve.addr);
    assert_eq!(
        reqwest::blocking::get(&manifest).unwrap().status(),
        reqwest::StatusCode::OK
    );

    // The newer data, imported into the database the server watches.
    ok_out(&customs(
        work,
        &db,
        &[
            "db",
            "import",
            &format!("{SHARED}/vulndata"),
            "--db",
            db.to_str().unwrap(),
        ],
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while status()["status"] != "quarantined" {
        assert!(Instant::now() < deadline, "not rematched: {}", status());
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = reqwest::blocking::get(&manifest).unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let cves = status()["verdict"]["cves"].as_array().unwrap().clone();
    assert!(!cves.is_empty());
    // Each blocking id is one `customs scan` reports for the image with the newer data.
    let scan = ok_out(&customs(
        work,
        &db,
        &[
            "scan",
            &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
            "-f",
            "json",
        ],
    ));
    let scan: serde_json::Value = serde_json::from_str(&scan).unwrap();
    let scanned: Vec<&str> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for cve in &cves {
        let id = cve.as_str().unwrap();
        assert!(scanned.contains(&id), "{id} not in customs scan");
        let hits: serde_json::Value =
            reqwest::blocking::get(format!("http://{}/v2/_customs/cves/{id}", serve.addr))
                .unwrap()
                .json()
                .unwrap();
        assert_eq!(
            hits["images"],
            serde_json::json!([{"repository": "watch/app", "digest": APP, "status": "quarantined", "tags": ["v1"]}]),
            "{id}"
        );
    }
    // A Go finding, present in both databases, is found too; an unknown id hits nothing.
    let go = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["ecosystem"] == "Go")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hits: serde_json::Value =
        reqwest::blocking::get(format!("http://{}/v2/_customs/cves/{go}", serve.addr))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(hits["images"][0]["digest"], APP);
    // Webhooks: push, then quarantine and the new findings, each signed with HMAC-SHA256
    // (checked with Python's hmac module, an independent implementation).
    let events = hooks.wait_for(&["push", "quarantine", "findings"]);
    for (headers, body) in &events {
        let sig = headers
            .lines()
            .find_map(|l| l.strip_prefix("x-customs-signature-256: "))
            .unwrap()
            .trim();
        let py = Command::new("python3")
            .args(["-c", "import hmac,hashlib,sys; print('sha256='+hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", HOOK_SECRET])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        py.stdin
            .as_ref()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = py.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sig, "{body}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["digest"], APP);
    }
    let quarantine: serde_json::Value = serde_json::from_str(
        &events
            .iter()
            .find(|(h, _)| h.contains("x-customs-event: quarantine"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(quarantine["cves"], serde_json::Value::Array(cves.clone()));
    let log = std::fs::read_to_string(serve.dir.path().join("serve.log")).unwrap();
    assert!(
        !log.contains(HOOK_SECRET),
        "the webhook secret is in the log"
    );
    let none: serde_json::Value = reqwest::blocking::get(format!(
        "http://{}/v2/_customs/cves/CVE-0000-0000",
        serve.addr
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(none["images"], serde_json::json!([]));
}

fn serve_log(serve: &Serve) -> String {
    std::fs::read_to_string(serve.dir.path().join("serve.log")).unwrap_or_default()
}

const HOOK_SECRET: &str = "hook-secret-5c1e9b7a";

/// A webhook receiver on loopback: answers 200 and keeps (lower-cased headers, body).
struct Receiver {
    url: String,
    rx: std::sync::mpsc::Receiver<(String, String)>,
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    headers.push_str(&line.to_ascii_lowercase());
                }
                let len: usize = headers
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                if tx
                    .send((headers, String::from_utf8_lossy(&body).into_owned()))
                    .is_err()
                {
                    break;
                }
            }
        });
        Receiver { url, rx }
    }

    /// Waits until each event has arrived at least once; returns everything received.
    fn wait_for(&self, events: &[&str]) -> Vec<(String, String)> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !events.iter().all(|e| {
            got.iter()
                .any(|(h, _): &(String, String)| h.contains(&format!("x-customs-event: {e}")))
        }) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "webhooks received: {got:?}");
            if let Ok(m) = self.rx.recv_timeout(left) {
                got.push(m);
            }
        }
        got
    }
}

/// `customs check`'s violations for a shared image under POLICY, as the gate spells them
/// (`<id> <rule>`, reason), sorted.
fn check_violations(work: &Path, db: &Path, src: &str) -> Vec<(String, String)> {
    let check = customs(
        work,
        db,
        &["check", src, "--policy", "policy.toml", "-f", "json"],
    );
    assert!(
        matches!(check.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let mut out: Vec<(String, String)> = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                format!(
                    "{} {}",
                    v["id"].as_str().unwrap(),
                    v["rule"].as_str().unwrap()
                ),
                v["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Pushes `src` (a skopeo source) to `dest` on the server, digests preserved.
fn push_to(serve: &Serve, src: &str, dest: &str) {
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        src,
        &format!("docker://{}/{dest}", serve.addr),
    ]);
    assert!(ok, "push {dest}: {text}");
}

fn status_of(serve: &Serve, repo: &str, reference: &str) -> serde_json::Value {
    reqwest::blocking::get(format!(
        "http://{}/v2/{repo}/_customs/status/{reference}",
        serve.addr
    ))
    .unwrap()
    .json()
    .unwrap()
}

/// Each layer is inventoried when its blob is committed, and the manifest's judgement only
/// merges those per-layer results: every layer of the shared images was inventoried before
/// the manifest arrived, and the verdict is exactly `customs check`'s (multi-layer app-multi
/// included, where later layers override and whiteouts remove earlier files).
#[test]
fn layers_inventoried_at_commit_give_the_same_verdict_as_customs_check() {
    let (serve, db) = start();
    let work = serve.dir.path();
    let images = [
        (
            format!("oci-archive:{SHARED}/images/debian-bookworm-minbase.oci.tar"),
            "ahead/debian",
        ),
        (
            format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
            "ahead/app",
        ),
        (
            format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
            "ahead/alpine",
        ),
    ];
    let mut any_violation = false;
    for (src, repo) in &images {
        push_to(&serve, src, &format!("{repo}:v1"));
        let status = status_of(&serve, repo, "v1");
        let digest = status["digest"].as_str().unwrap().to_string();
        // Every layer came from the per-layer store, none was read at the manifest.
        let log = serve_log(&serve);
        let line = log
            .lines()
            .find(|l| l.contains(&format!("gate: {repo}@{digest}: ")))
            .unwrap_or_else(|| panic!("no layer line for {repo}: {log}"));
        let counts: Vec<usize> = line
            .split(": ")
            .last()
            .unwrap()
            .split(' ')
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(counts.len(), 2, "{line}");
        assert!(counts[1] >= 1 && counts[0] == counts[1], "{line}");
        assert!(
            log.contains(&format!("gate: {repo}@{digest} verdict ")),
            "no latency line: {log}"
        );
        let mut gate: Vec<(String, String)> = status["verdict"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["rule"].as_str().unwrap().to_string(),
                    v["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        gate.sort();
        let check = check_violations(work, &db, src);
        assert_eq!(gate, check, "{repo}: gate and customs check disagree");
        assert_eq!(
            status["status"],
            if check.is_empty() {
                "passed"
            } else {
                "quarantined"
            },
            "{repo}"
        );
        any_violation |= !check.is_empty();
    }
    assert!(any_violation, "app-multi fails this policy");
}

/// An index is gated per platform: its pull is refused while any platform's image is held,
/// and the error names exactly the held platforms (and why); an index of passing images
/// pulls; an exception for the held platform's image releases the index.
#[test]
fn index_is_gated_per_platform_and_its_pull_error_names_the_failing_platforms() {
    let (serve, _db) = start();
    for (src, tag) in [
        (
            format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
            "app",
        ),
        (
            format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
            "alpine",
        ),
    ] {
        let (ok, text) = skopeo(&[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/multi/img:{tag}", serve.addr),
        ]);
        assert!(ok, "push {tag}: {text}");
    }
    let app = status_of(&serve, "multi/img", "app");
    assert_eq!(app["status"], "quarantined");
    assert_eq!(app["digest"], APP);
    let alpine = status_of(&serve, "multi/img", "alpine");
    assert_eq!(alpine["status"], "passed");
    let alpine_digest = alpine["digest"].as_str().unwrap().to_string();
    let client = reqwest::blocking::Client::new();
    // The pusher reads both by digest, for their media types and sizes.
    let descriptor = |digest: &str, platform: serde_json::Value| {
        let r = client
            .get(format!("http://{}/v2/multi/img/manifests/{digest}", serve.addr))
            .header(
                "Accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
            )
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let media = r.headers()["content-type"].to_str().unwrap().to_string();
        let size = r.bytes().unwrap().len();
        serde_json::json!({"mediaType": media, "digest": digest, "size": size, "platform": platform})
    };
    let amd64 = descriptor(
        &alpine_digest,
        serde_json::json!({"os": "linux", "architecture": "amd64"}),
    );
    let arm64 = descriptor(
        APP,
        serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"}),
    );
    let put_index = |tag: &str, entries: Vec<serde_json::Value>| {
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        });
        let r = client
            .put(format!(
                "http://{}/v2/multi/img/manifests/{tag}",
                serve.addr
            ))
            .header("Content-Type", "application/vnd.oci.image.index.v1+json")
            .body(body.to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "{tag}");
    };
    put_index("both", vec![amd64.clone(), arm64]);
    put_index("clean", vec![amd64]);

    let get = |tag: &str| {
        client
            .get(format!(
                "http://{}/v2/multi/img/manifests/{tag}",
                serve.addr
            ))
            .header("Accept", "application/vnd.oci.image.index.v1+json")
            .send()
            .unwrap()
    };
    let r = get("both");
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let err: serde_json::Value = r.json().unwrap();
    assert_eq!(err["errors"][0]["code"], "DENIED");
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("linux/arm64/v8"), "{message}");
    assert!(message.contains(APP), "{message}");
    assert!(!message.contains("linux/amd64"), "{message}");
    let platforms = err["errors"][0]["detail"]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 1, "{err}");
    assert_eq!(platforms[0]["platform"], "linux/arm64/v8");
    assert_eq!(platforms[0]["digest"], APP);
    assert_eq!(platforms[0]["cves"], app["verdict"]["cves"]);
    for cve in app["verdict"]["cves"].as_array().unwrap() {
        assert!(message.contains(cve.as_str().unwrap()), "{message}");
    }
    // The index's recorded verdict carries the held platform's reasons.
    let both = status_of(&serve, "multi/img", "both");
    assert_eq!(both["status"], "quarantined", "{both}");
    assert!(both["verdict"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["rule"].as_str().unwrap().starts_with("linux/arm64/v8: ")));
    // skopeo, pulling every platform, is refused too; the all-clean index pulls.
    let out = tempfile::tempdir().unwrap();
    let (ok, text) = skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{}/multi/img:both", serve.addr),
        &format!("dir:{}", out.path().join("both").display()),
    ]);
    assert!(!ok && text.contains("quarantined"), "{text}");
    assert_eq!(get("clean").status(), reqwest::StatusCode::OK);
    assert_eq!(status_of(&serve, "multi/img", "clean")["status"], "passed");
    let (ok, text) = skopeo(&[
        "copy",
        "--all",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/multi/img:clean", serve.addr),
        &format!("dir:{}", out.path().join("clean").display()),
    ]);
    assert!(ok, "{text}");

    // An exception for the held platform's image releases the index that names it.
    let r = client
        .put(format!(
            "http://{}/v2/multi/img/_customs/exception/{APP}",
            serve.addr
        ))
        .json(&serde_json::json!({"reason": "reviewed", "expires_in_secs": 600}))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    assert_eq!(get("both").status(), reqwest::StatusCode::OK);
}
