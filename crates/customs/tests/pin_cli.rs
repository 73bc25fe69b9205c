//! `customs lint`, `customs pin` and `customs registry probe` run as a user would, against
//! files in a temporary directory and a real `docker-registry` on loopback (the image is
//! pushed with `customs copy`; its digest is checked with skopeo).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use customs_testkit::registry::{skopeo, Mode, Registry};

fn customs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running customs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn shared_image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

/// An anonymous registry (the shared harness) holding the shared multi-layer image as
/// `app:latest`, pushed with `customs copy`.
fn registry_with_app() -> Registry {
    let reg = Registry::start(Mode::Anonymous);
    let src = format!(
        "oci-archive:{}",
        shared_image("app-multi.oci.tar").display()
    );
    let o = customs(&["copy", &src, &format!("{}/app:latest", reg.host())]);
    assert!(o.status.success(), "customs copy: {}", stderr(&o));
    reg
}

/// The digest of `app:latest` as skopeo computes it from the manifest bytes.
fn skopeo_digest(reg: &Registry) -> String {
    let out = skopeo(&[
        "inspect".into(),
        "--tls-verify=false".into(),
        format!("docker://{}/app:latest", reg.host()),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

#[test]
fn lint_reports_rules_in_json_and_exits_with_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    std::fs::write(
        &df,
        "ARG BASE=alpine\nFROM ${BASE} AS a\nFROM quay.io/x/y:latest\nFROM a\n",
    )
    .unwrap();
    let o = customs(&[
        "lint",
        "--exit-code",
        "4",
        "-f",
        "json",
        "--allowed-registry",
        "docker.io",
        df.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let got: Vec<(u64, String)> = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (2, "PIN001"),
        (2, "PIN003"),
        (3, "PIN002"),
        (3, "PIN003"),
        (3, "PIN004"),
    ]
    .iter()
    .map(|(l, r)| (*l, r.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(v["findings"], 5);
}

#[test]
fn lint_clean_file_exits_zero_even_with_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("compose.yaml");
    let pinned =
        "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    std::fs::write(&f, format!("services:\n  a:\n    image: {pinned}\n")).unwrap();
    let o = customs(&["lint", "--exit-code", "1", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 finding(s) in 1 file(s), 1 image reference(s)"));
}

#[test]
fn lint_file_of_unknown_kind_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "hello\n").unwrap();
    let o = customs(&["lint", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot tell"), "{}", stderr(&o));
}

#[test]
fn pin_rewrites_files_in_place_with_the_registry_digest() {
    let reg = registry_with_app();
    let h = reg.host();
    let digest = skopeo_digest(&reg);
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let yaml = dir.path().join("deploy.yaml");
    let dockerfile = |r: &str| {
        format!("# build\nARG BASE={r}  # the base\nFROM ${{BASE}} AS b\n\nFROM b\nCOPY --from={r} /x /x\n")
    };
    let manifest = |a: &str, b: &str| {
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: j   # job\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n            - name: i\n              image: \"{a}\"\n          containers:\n            - {{ name: c,   image: {b} }}\n"
        )
    };
    let latest = format!("{h}/app:latest");
    let bare = format!("{h}/app");
    std::fs::write(&df, dockerfile(&latest)).unwrap();
    std::fs::write(&yaml, manifest(&latest, &bare)).unwrap();
    let o = customs(&["pin", df.to_str().unwrap(), yaml.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let pinned = format!("{h}/app:latest@{digest}");
    assert_eq!(std::fs::read_to_string(&df).unwrap(), dockerfile(&pinned));
    assert_eq!(
        std::fs::read_to_string(&yaml).unwrap(),
        manifest(&pinned, &pinned)
    );
    assert!(
        stdout(&o).contains("4 reference(s) pinned, 0 problem(s)"),
        "{}",
        stdout(&o)
    );

    // A second run finds everything pinned and changes nothing.
    let o = customs(&["pin", "--verify", "-f", "json", df.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["changed"], false);
    assert!(v[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["outcome"] == "verified"));
}

#[test]
fn pin_dry_run_prints_a_diff_and_leaves_the_file() {
    let reg = registry_with_app();
    let h = reg.host();
    let digest = skopeo_digest(&reg);
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let text = format!("FROM {h}/app:latest\nRUN true\n");
    std::fs::write(&df, &text).unwrap();
    let o = customs(&["pin", "--dry-run", df.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&df).unwrap(), text);
    let diff = stdout(&o);
    assert!(diff.starts_with("--- a/"), "{diff}");
    assert!(
        diff.contains(&format!("\n-FROM {h}/app:latest\n")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("\n+FROM {h}/app:latest@{digest}\n")),
        "{diff}"
    );
    assert!(diff.contains("\n RUN true\n"), "{diff}");
}

#[test]
fn pin_for_a_platform_the_image_lacks_fails_and_writes_nothing() {
    let reg = registry_with_app();
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let text = format!("FROM {}/app:latest\n", reg.host());
    std::fs::write(&df, &text).unwrap();
    let o = customs(&["pin", "--platform", "linux/arm64", df.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(&df).unwrap(), text);
    assert!(stdout(&o).contains("failed"), "{}", stdout(&o));
}

#[test]
fn registry_probe_reports_open_plain_http_registry() {
    let reg = registry_with_app();
    let o = customs(&["registry", "probe", "-f", "json", &reg.host()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["plain_http"]["status"], 200);
    assert_eq!(v["tls"]["speaks_tls"], false);
    assert_eq!(v["api"]["scheme"], "http");
    assert_eq!(v["api"]["auth"]["required"], false);
    assert_eq!(v["api"]["catalog"]["anonymous_readable"], true);
    assert_eq!(v["api"]["catalog"]["repositories"], 1);
    assert_eq!(v["api"]["api_version"], "registry/2.0");

    let o = customs(&["registry", "probe", &reg.host()]);
    let table = stdout(&o);
    assert!(table.contains("not required (HTTP 200)"), "{table}");
    assert!(
        table.contains("readable anonymously (1 repositories"),
        "{table}"
    );
}

#[test]
fn registry_probe_of_closed_port_fails() {
    let port = customs_testkit::registry::free_port();
    let o = customs(&["registry", "probe", &format!("127.0.0.1:{port}")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("no registry API found"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn lint_table_lists_location_severity_rule_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    std::fs::write(&df, "# base\nFROM   alpine:latest\n").unwrap();
    let o = customs(&["lint", df.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let p = df.display();
    assert_eq!(
        stdout(&o),
        format!(
            "{p}:2:8  warning  PIN002 latest-tag  FROM: alpine:latest uses the latest tag, which moves with every release\n\
             {p}:2:8  warning  PIN003 no-digest   FROM: alpine:latest is not pinned to a digest: the tag can be moved to other content\n\
             2 finding(s) in 1 file(s), 1 image reference(s): 0 error(s), 2 warning(s), 0 info\n"
        )
    );
}
