//! `customs registry status REF` and `customs registry cves ID` (issue 14) through the CLI
//! against a started `customs serve` with users (the token flow, over plain HTTP on loopback)
//! and the push gate: the vulnerable shared image is shown quarantined with the violated
//! rules and blocking CVEs the server's own status API records, the clean twin as passed,
//! and the CVE query lists repository, status, digest and tags, only to users who may pull.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use customs_testkit::registry::skopeo_status as skopeo;
use reqwest::blocking::Client;

mod common;
use common::{Serve, BIN};
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const APP: &str = "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";
const POLICY: &str = "[vulnerabilities]\nmax_severity = \"medium\"\nunknown = \"pass\"\n";
const ALICE_PW: &str = "alice-Status-4b1d";
const BOB_PW: &str = "bob-Status-0c9e";

fn customs(dir: &Path, args: &[&str], password: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("CUSTOMS_CACHE_DIR", dir.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("REGISTRY_AUTH_FILE", dir.join("no-auth.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(p) = password {
        stdin.write_all(p.as_bytes()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn start() -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let db = p.join("customs.db");
    let out = customs(
        p,
        &[
            "db",
            "import",
            &format!("{SHARED}/vulndata"),
            "--db",
            db.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(p.join("policy.toml"), POLICY).unwrap();
    std::fs::write(
        p.join("users.htpasswd"),
        format!(
            "alice:{}\nbob:{}\n",
            bcrypt::hash(ALICE_PW, 5).unwrap(),
            bcrypt::hash(BOB_PW, 5).unwrap()
        ),
    )
    .unwrap();
    let config = format!(
        r#"[auth]
htpasswd = "{dir}/users.htpasswd"
[[auth.access]]
repository = "gate/*"
users = ["alice"]
actions = ["pull", "push"]
[[auth.access]]
repository = "other/*"
users = ["bob"]
actions = ["pull"]
[gate]
policy = "{dir}/policy.toml"
database = "{db}"
watch_secs = 0
"#,
        dir = p.display(),
        db = db.display()
    );
    Serve::start(dir, "-v", &config)
}

/// The server's own answer, read with Basic credentials (the independent side).
fn api(serve: &Serve, path: &str) -> serde_json::Value {
    let r = Client::new()
        .get(format!("http://{}{path}", serve.addr))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
    r.json().unwrap()
}

#[test]
fn registry_status_and_cves_read_the_gate_through_the_cli() {
    let serve = start();
    let work = serve.dir.path();
    let push = |src: String, dest: &str| {
        let (ok, t) = skopeo(&[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("--dest-creds=alice:{ALICE_PW}"),
            &src,
            &format!("docker://{}/{dest}", serve.addr),
        ]);
        assert!(ok, "push {dest}: {t}");
    };
    push(
        format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
        "gate/app:v1",
    );
    push(
        format!("docker-archive:{SHARED}/images/alpine-3.10.tar"),
        "gate/alpine:v1",
    );
    let alice = ["--username", "alice", "--password-stdin"];
    let run = |args: &[&str], creds: &[&str], pw: Option<&str>| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(creds);
        customs(work, &all, pw)
    };

    // The quarantined image: every blocking CVE and violated rule the API records is shown,
    // and the command fails while the image is held.
    let want = api(&serve, "/v2/gate/app/_customs/status/v1");
    assert_eq!(want["status"], "quarantined");
    let cves: Vec<String> = want["verdict"]["cves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(!cves.is_empty());
    let app = format!("{}/gate/app:v1", serve.addr);
    let out = run(&["registry", "status", &app], &alice, Some(ALICE_PW));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = stdout(&out);
    assert!(table.contains("quarantined (pulls refused)"), "{table}");
    assert!(table.contains(APP), "{table}");
    for c in &cves {
        assert!(table.contains(c.as_str()), "{c} missing:\n{table}");
    }
    for v in want["verdict"]["violations"].as_array().unwrap() {
        let line = format!(
            "  - {}: {}",
            v["rule"].as_str().unwrap(),
            v["reason"].as_str().unwrap()
        );
        assert!(table.contains(&line), "{line} missing:\n{table}");
    }
    // JSON is the API's answer, by tag and by digest alike.
    for reference in [app.clone(), format!("{}/gate/app@{APP}", serve.addr)] {
        let out = run(
            &["registry", "status", &reference, "-f", "json"],
            &alice,
            Some(ALICE_PW),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, want);
    }
    // The clean twin passes.
    let alpine = format!("{}/gate/alpine:v1", serve.addr);
    let out = run(&["registry", "status", &alpine], &alice, Some(ALICE_PW));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("passed (pullable)"), "{}", text(&out));
    assert!(stdout(&out).contains("Violations  none"), "{}", text(&out));
    // Without credentials the registry refuses, and the command says so.
    let out = run(&["registry", "status", &app], &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Bob may not pull gate/*.
    let out = run(
        &["registry", "status", &app],
        &["--username", "bob", "--password-stdin"],
        Some(BOB_PW),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("denied"),
        "{}",
        text(&out)
    );

    // The CVE query: repository, status, digest and tag of every image it hits.
    let cve = &cves[0];
    let want = api(&serve, &format!("/v2/_customs/cves/{cve}"));
    let out = run(
        &["registry", "cves", cve, "--registry", &serve.addr],
        &alice,
        Some(ALICE_PW),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = stdout(&out);
    let row = table
        .lines()
        .find(|l| l.starts_with("gate/app "))
        .unwrap_or_else(|| panic!("no gate/app row:\n{table}"));
    for part in ["quarantined", APP, "v1"] {
        assert!(row.contains(part), "{part} missing from {row}");
    }
    assert!(!table.contains("gate/alpine"), "{table}");
    let out = run(
        &[
            "registry",
            "cves",
            cve,
            "--registry",
            &serve.addr,
            "-f",
            "json",
        ],
        &alice,
        Some(ALICE_PW),
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, want);
    assert_eq!(got["images"].as_array().unwrap().len(), 1, "{got}");
    // Bob may pull nothing it hits, so he sees nothing (through the token flow too).
    let out = run(
        &["registry", "cves", cve, "--registry", &serve.addr],
        &["--username", "bob", "--password-stdin"],
        Some(BOB_PW),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("no stored image is affected"),
        "{}",
        text(&out)
    );
    // An id nothing has.
    let out = run(
        &[
            "registry",
            "cves",
            "CVE-1999-0001",
            "--registry",
            &serve.addr,
        ],
        &alice,
        Some(ALICE_PW),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Not an id at all.
    let out = run(
        &["registry", "cves", "../x", "--registry", &serve.addr],
        &alice,
        Some(ALICE_PW),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
