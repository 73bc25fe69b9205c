//! `customs diff` end to end on the shared alpine 3.10 and 3.11 images, with a database built
//! from all of `../shared/vulndata`: the JSON is cross-checked by an independent script
//! (`diff_check.py`: package changes from `expected-packages.json` and from two
//! `customs sbom` documents, findings fixed and introduced from two `customs scan -f json`
//! outputs, file changes from Python's own reading of both archives); the table, an image
//! against itself, running without a database, the HTML report's diff section, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use common::{db_fixture, Fixture, SHARED};

const CHECK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/diff_check.py");
const OLD: &str = "alpine-3.10.tar";
const NEW: &str = "alpine-3.11.tar.gz";

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| db_fixture("diff_cli", &["vulndata"]))
}

fn customs_with(args: &[&str], db: Option<&Path>) -> Output {
    let f = fixture();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_customs"));
    cmd.args(args)
        .env("CUSTOMS_CACHE_DIR", f.dir.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", "0")
        .env_remove("CUSTOMS_DB")
        .current_dir(&f.dir);
    if let Some(db) = db {
        cmd.env("CUSTOMS_DB", db);
    }
    cmd.output().unwrap()
}

fn customs(args: &[&str]) -> Output {
    customs_with(args, Some(&fixture().db))
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

fn image(name: &str) -> String {
    format!("{SHARED}/images/{name}")
}

fn python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-tools/bin/python");
    if Path::new(venv).exists() {
        venv.to_string()
    } else {
        "python3".to_string()
    }
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = fixture().dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn diff_json(old: &str, new: &str) -> Value {
    serde_json::from_slice(ok(&customs(&[
        "diff",
        "-f",
        "json",
        &image(old),
        &image(new),
    ])))
    .unwrap()
}

/// Runs `customs diff -f json`, two scans and two SBOMs, and the independent check; returns
/// the diff document and what the check printed. `archives`: compare files too (single-layer
/// docker archives only).
fn cross_check(old: &str, new: &str, archives: bool) -> (Value, String) {
    let diff = customs(&["diff", "-f", "json", &image(old), &image(new)]);
    let diff_p = write(&format!("diff-{old}-{new}.json"), ok(&diff));
    let mut paths = vec![diff_p.clone()];
    for (kind, name) in [("scan", old), ("scan", new), ("sbom", old), ("sbom", new)] {
        let out = customs(&[kind, "-f", "json", &image(name)]);
        paths.push(write(&format!("{kind}-{name}.json"), ok(&out)));
    }
    let (a, b) = if archives {
        (image(old), image(new))
    } else {
        ("-".to_string(), "-".to_string())
    };
    let run = Command::new(python())
        .arg(CHECK)
        .args(&paths)
        .arg(format!("{SHARED}/images/expected-packages.json"))
        .args([old, new, &a, &b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "independent check disagrees:\n{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&diff_p).unwrap()).unwrap();
    (doc, text)
}

#[test]
fn alpine_bump_agrees_with_two_scans_and_an_independent_reading() {
    let (doc, text) = cross_check(OLD, NEW, true);
    assert!(text.contains("packages: 12 changed"), "{text}");

    assert_eq!(doc["kind"], "customs.diff");
    let changed = doc["packages"]["changed"].as_array().unwrap();
    let musl = changed
        .iter()
        .find(|c| c["name"] == "musl")
        .expect("musl changed");
    assert_eq!(musl["old"], serde_json::json!(["1.1.22-r3"]));
    // The shared advisory data has no fix between these two releases (golden/README.md: both
    // are at or above every secdb fix), so the sets agree by being empty; the next test has
    // findings to fix.
    assert_eq!(doc["findings"]["fixed"], serde_json::json!([]));
    let files = &doc["files"];
    let release = files["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "etc/alpine-release")
        .expect("alpine-release changed");
    assert_eq!(release["what"], serde_json::json!(["content"]));
    // Same Cmd and Env in both: no config change.
    assert_eq!(doc["config"], serde_json::json!([]));

    let table =
        String::from_utf8(ok(&customs(&["diff", &image(OLD), &image(NEW)])).to_vec()).unwrap();
    assert!(
        table.contains("~ musl") || table.contains("  ~  musl"),
        "{table}"
    );
    assert!(table.contains("1.1.22-r3 -> "), "{table}");
    assert!(table.contains(&format!(
        "Findings: {} fixed",
        doc["findings"]["fixed"].as_array().unwrap().len()
    )));
}

#[test]
fn dropping_the_application_layers_fixes_their_findings() {
    // app-multi is alpine 3.11 plus Python, npm, Rust and Go layers with 84 findings.
    let (doc, text) = cross_check("app-multi.oci.tar", NEW, false);
    let fixed = doc["findings"]["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 84, "{text}");
    assert_eq!(doc["findings"]["introduced"], serde_json::json!([]));
    // Most severe first.
    let rank = |s: &Value| {
        ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
            .iter()
            .position(|x| s == x)
    };
    assert!(fixed
        .windows(2)
        .all(|w| rank(&w[0]["severity"]) >= rank(&w[1]["severity"])));
    let (back, _) = cross_check(NEW, "app-multi.oci.tar", false);
    assert_eq!(back["findings"]["introduced"].as_array().unwrap().len(), 84);
}

#[test]
fn an_image_against_itself_changes_nothing() {
    let doc = diff_json(NEW, "app-multi.oci.tar");
    // app-multi is alpine 3.11 plus layers: same OS packages, more language packages.
    assert_eq!(doc["packages"]["changed"], serde_json::json!([]));
    assert!(doc["packages"]["added"].as_array().unwrap().len() > 50);
    assert_eq!(doc["packages"]["removed"], serde_json::json!([]));
    let config = doc["config"].as_array().unwrap();
    assert!(
        config
            .iter()
            .any(|c| c["field"] == "user" && c["new"] == "app"),
        "{config:?}"
    );
    assert!(config.iter().any(|c| c["field"] == "working_dir"));

    let same = diff_json(NEW, NEW);
    for group in ["added", "removed", "changed"] {
        assert_eq!(same["packages"][group], serde_json::json!([]), "{group}");
        assert_eq!(same["files"][group], serde_json::json!([]), "{group}");
    }
    assert_eq!(same["findings"]["fixed"], serde_json::json!([]));
    assert_eq!(same["findings"]["introduced"], serde_json::json!([]));
    assert_eq!(same["config"], serde_json::json!([]));
}

#[test]
fn without_a_database_findings_are_not_compared() {
    let f = fixture();
    let out = customs_with(&["diff", "-f", "json", &image(OLD), &image(NEW)], None);
    // CUSTOMS_CACHE_DIR points at a directory with no database in it.
    assert!(!f.dir.join("cache/db/customs.db").exists());
    let doc: Value = serde_json::from_slice(ok(&out)).unwrap();
    assert!(doc.get("findings").is_none());
    assert!(String::from_utf8_lossy(&out.stderr).contains("findings are not compared"));
    assert!(!doc["packages"]["changed"].as_array().unwrap().is_empty());
}

#[test]
fn the_html_report_shows_the_same_diff() {
    let f = fixture();
    let doc = diff_json(OLD, NEW);
    let html = f.dir.join("diff-report.html");
    ok(&customs(&[
        "report",
        &image(NEW),
        "--diff-from",
        &image(OLD),
        "-o",
        html.to_str().unwrap(),
    ]));
    let page = std::fs::read_to_string(&html).unwrap();
    let count = |id: &str| -> usize {
        let at = page
            .find(&format!("id=\"{id}\">"))
            .unwrap_or_else(|| panic!("{id}"));
        let rest = &page[at + id.len() + 6..];
        rest[..rest.find('<').unwrap()].parse().unwrap()
    };
    assert_eq!(
        count("diff-changed"),
        doc["packages"]["changed"].as_array().unwrap().len()
    );
    assert_eq!(
        count("diff-fixed"),
        doc["findings"]["fixed"].as_array().unwrap().len()
    );
    assert_eq!(
        count("diff-introduced"),
        doc["findings"]["introduced"].as_array().unwrap().len()
    );
    assert_eq!(
        page.matches("<tr data-change=\"fixed\">").count(),
        doc["findings"]["fixed"].as_array().unwrap().len()
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let out = customs(&["diff", &image(OLD), "/nonexistent/image.tar"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && !err.contains("panicked"),
        "{err}"
    );
    let out = customs(&["diff", &image(OLD)]);
    assert_eq!(out.status.code(), Some(2));
}

/// A one-layer OCI layout with `config` as the image config's `config` and one file.
fn layout(dir: &Path, config: Value, file: &[u8]) -> String {
    use customs_testkit::oci::{gzip, set_index, sha256_hex, tar};
    let layer = tar(&[("etc/app.conf", file)]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer))]},
    })
    .to_string();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let h = sha256_hex(b);
        std::fs::write(blobs.join(&h), b).unwrap();
        h
    };
    let gz = gzip(&layer);
    let layer_hex = put(&gz);
    let config_hex = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_hex}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{layer_hex}","size":{}}}]}}"#,
        config.len(),
        gz.len()
    );
    let m = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    set_index(dir, &m, manifest.len());
    format!("oci:{}", dir.display())
}

#[test]
fn config_changes_are_shown_without_secret_values() {
    const SECRETS: [&str; 6] = [
        "q8Vt3LmZ0pR7sK2wX9yB4nC6dF1gH5jU0aE3iO7r",
        "q8Vt3LmZ0pR7sK2wX9yB4nC6dF1gH5jU0aE3iO7s",
        "S3cretLabelPw9",
        "S3cretLabelPw8",
        "k3yPl4ntedArg77x",
        "k3yPl4ntedArg77y",
    ];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let old = layout(
        a.path(),
        serde_json::json!({
            "Env": ["PATH=/bin", format!("AWS_SECRET_ACCESS_KEY={}", SECRETS[0])],
            "Labels": {"db.password": SECRETS[2], "version": "1"},
            "Cmd": ["app", "--api-key", SECRETS[4]],
            "ExposedPorts": {"80/tcp": {}},
        }),
        b"a=1\n",
    );
    let new = layout(
        b.path(),
        serde_json::json!({
            "User": "app",
            "Env": ["PATH=/bin", format!("AWS_SECRET_ACCESS_KEY={}", SECRETS[1])],
            "Labels": {"db.password": SECRETS[3], "version": "2"},
            "Cmd": ["app", "--api-key", SECRETS[5]],
            "ExposedPorts": {"443/tcp": {}},
        }),
        b"a=2\n",
    );
    let json = customs(&["diff", "-f", "json", "--no-vulns", &old, &new]);
    let table = customs(&["diff", "--no-vulns", &old, &new]);
    for out in [&json, &table] {
        let text =
            String::from_utf8_lossy(ok(out)).into_owned() + &String::from_utf8_lossy(&out.stderr);
        for s in SECRETS {
            assert!(!text.contains(s), "printed {s}:\n{text}");
        }
    }
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let fields: Vec<&str> = doc["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "user",
            "cmd",
            "ports",
            "env.AWS_SECRET_ACCESS_KEY",
            "label.db.password",
            "label.version"
        ]
    );
    let env = &doc["config"][3];
    assert!(env["old"].as_str().unwrap().ends_with("****"), "{env}");
    assert_eq!(doc["config"][2]["old"], "80/tcp");
    assert_eq!(doc["files"]["changed"][0]["path"], "etc/app.conf");
    assert_eq!(
        doc["files"]["changed"][0]["what"],
        serde_json::json!(["content"])
    );
}
