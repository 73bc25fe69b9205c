//! `customs report` end to end, in a real browser: a database built from all of
//! `../shared/vulndata`, `ratings/` and `distro-osv/` (so KEV and EPSS are there), the report
//! of every shared image loaded from `file://` by headless Chromium with JavaScript on and
//! off (`browser_check.py`, over the DevTools protocol). The counts per severity in the DOM
//! must equal `customs scan -f json` on the same image and database; the console must stay
//! clean and the page must make no request but its own; sorting and filtering must work with
//! JavaScript and the table must be whole without it; the page must fit a phone and print
//! without its controls. A hand-made image with hostile names and a planted secret checks
//! escaping and masking.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use common::{db_fixture, Fixture, SHARED};

const CHECK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser_check.py");
const IMAGES: &[&str] = &[
    "alpine-3.10.tar",
    "alpine-3.11.tar.gz",
    "app-multi.oci.tar",
    "debian-bookworm-minbase.oci.tar",
];
const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| db_fixture("html_report", &["vulndata", "ratings", "distro-osv"]))
}

fn customs(args: &[&str]) -> Output {
    let f = fixture();
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_DB", &f.db)
        .env("CUSTOMS_CACHE_DIR", f.dir.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", "0")
        .current_dir(&f.dir)
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-tools/bin/python");
    if Path::new(venv).exists() {
        venv.to_string()
    } else {
        "python3".to_string()
    }
}

/// What Chromium saw of `html` (see browser_check.py); screenshots land in `out`.
fn browse(html: &Path, out: &Path) -> Value {
    std::fs::create_dir_all(out).unwrap();
    let run = Command::new(python())
        .arg(CHECK)
        .arg(html)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "browser check failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

fn rank(s: &str) -> u8 {
    match s {
        "CRITICAL" => 4,
        "HIGH" => 3,
        "MEDIUM" => 2,
        "LOW" => 1,
        _ => 0,
    }
}

fn num(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The page was quiet: no console output, no error or warning logged, no exception, no
/// dialog, and no request but the page itself.
fn assert_quiet(mode: &str, seen: &Value, url: &str) {
    assert_eq!(seen["console"], serde_json::json!([]), "{mode}: console");
    let bad: Vec<&Value> = seen["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["level"] == "error" || e["level"] == "warning")
        .collect();
    assert!(bad.is_empty(), "{mode}: logged {bad:?}");
    assert_eq!(seen["exceptions"], serde_json::json!([]), "{mode}");
    assert_eq!(seen["dialogs"], serde_json::json!([]), "{mode}");
    let requests: Vec<&str> = seen["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(requests, [url], "{mode}: network requests");
}

fn assert_screenshot(path: &Value) {
    let bytes = std::fs::read(path.as_str().unwrap()).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2000);
}

#[test]
fn every_shared_image_report_matches_its_scan_in_a_real_browser() {
    let f = fixture();
    for name in IMAGES {
        let image = format!("{SHARED}/images/{name}");
        let scan = customs(&["scan", "-f", "json", &image]);
        ok(&scan);
        let doc: Value = serde_json::from_slice(&scan.stdout).unwrap();
        let findings = doc["findings"].as_array().unwrap();
        let want: BTreeMap<&str, u64> = SEVERITIES
            .iter()
            .map(|s| (*s, num(&doc["summary"]["by_severity"][s.to_lowercase()])))
            .collect();
        let kev = findings.iter().filter(|f| f.get("kev").is_some()).count() as u64;
        let html = f.dir.join(format!("{name}.html"));
        ok(&customs(&["report", &image, "-o", html.to_str().unwrap()]));
        let page = std::fs::read_to_string(&html).unwrap();
        // Nothing in the page points anywhere (the browser check below sees requests too).
        // (Escaped text cannot contain `<` or `"`, so these would be real markup.)
        for markup in [
            " src=\"", " href=\"", "<link", "<iframe", "<object", "<embed", "<img",
        ] {
            assert!(!page.contains(markup), "{name}: {markup} in the page");
        }

        let seen = browse(&html, &f.dir.join(format!("{name}.shots")));
        let url = seen["url"].as_str().unwrap().to_string();
        for mode in ["js", "nojs"] {
            let s = &seen[mode];
            let ctx = format!("{name} ({mode})");
            assert_quiet(&ctx, s, &url);
            for sev in SEVERITIES {
                assert_eq!(num(&s["counts"][sev]), want[sev], "{ctx}: {sev} count");
                let rows = s["rows"].get(sev).map_or(0, num);
                assert_eq!(rows, want[sev], "{ctx}: {sev} rows");
            }
            assert_eq!(num(&s["total"]), findings.len() as u64, "{ctx}");
            assert_eq!(
                num(&s["packages"]),
                num(&doc["summary"]["packages"]),
                "{ctx}"
            );
            assert_eq!(num(&s["kev"]), kev, "{ctx}: KEV");
            assert_eq!(s["scripts"], 1, "{ctx}: only the report's own script");
            assert_eq!(s["images"], 0, "{ctx}");
            assert!(num(&s["svg_charts"]) >= 2, "{ctx}: charts");
            assert!(num(&s["layers"]) >= 1, "{ctx}: a chart per layer");
            let fail = want["CRITICAL"] + want["HIGH"] > 0 || kev > 0;
            if fail {
                assert_eq!(s["verdict"], "fail", "{ctx}");
            } else {
                assert_ne!(s["verdict"], "fail", "{ctx}");
            }
            assert_screenshot(&s["screenshot"]);
            assert_screenshot(&s["phone"]["screenshot"]);
            // Readable on a phone: nothing wider than the screen (wide tables scroll inside).
            assert!(
                num(&s["phone"]["scroll_width"]) <= num(&s["phone"]["inner_width"]),
                "{ctx}: page wider than a phone: {}",
                s["phone"]
            );
            assert_eq!(s["print"]["controls_display"], "none", "{ctx}: print");
            assert!(num(&s["print"]["pdf_bytes"]) > 1000, "{ctx}: print");
        }
        // Without JavaScript: the whole table, no controls, no sort buttons.
        let nojs = &seen["nojs"];
        assert_eq!(nojs["controls_visible"], false, "{name}");
        assert_eq!(nojs["sort_buttons"], 0, "{name}");
        assert_eq!(num(&nojs["visible_rows"]), findings.len() as u64, "{name}");
        // With JavaScript: controls, sorting and filtering.
        let js = &seen["js"];
        if findings.is_empty() {
            continue;
        }
        assert_eq!(js["controls_visible"], true, "{name}");
        assert_eq!(js["sort_buttons"], 10, "{name}");
        let i = &js["interact"];
        let order = |key: &str| -> Vec<u8> {
            i[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| rank(v.as_str().unwrap()))
                .collect()
        };
        let up = order("sorted_ascending");
        assert!(up.windows(2).all(|w| w[0] <= w[1]), "{name}: {up:?}");
        assert_eq!(i["aria_after_one_click"], "ascending");
        let down = order("sorted_descending");
        assert!(down.windows(2).all(|w| w[0] >= w[1]), "{name}: {down:?}");
        let epss: Vec<f64> = i["epss_descending"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(epss.windows(2).all(|w| w[0] >= w[1]), "{name}: {epss:?}");
        for sev in SEVERITIES {
            assert_eq!(num(&i["filter"][sev]), want[sev], "{name}: filter {sev}");
        }
        let tf = &i["text_filter"];
        assert_eq!(tf["all_match"], true, "{name}: {tf}");
        let query = tf["query"].as_str().unwrap();
        let matching = findings
            .iter()
            .filter(|f| f.to_string().to_lowercase().contains(&query.to_lowercase()))
            .count() as u64;
        assert!(
            num(&tf["visible"]) >= 1 && num(&tf["visible"]) <= matching,
            "{name}: {tf}"
        );
        assert_eq!(num(&i["kev_only"]), kev, "{name}");
        assert_eq!(num(&i["after_reset"]), findings.len() as u64, "{name}");
    }
}

/// A one-layer OCI layout whose package name, labels, command and history are hostile HTML,
/// with a secret in its env and history.
fn hostile_image(dir: &Path) -> String {
    use customs_testkit::oci::{gzip, set_index, sha256_hex, tar};
    let installed = b"C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:<script>alert(1)</script>\nV:1.0-r0\nA:x86_64\nL:MIT\n\n";
    let layer = tar(&[
        ("etc/os-release", b"ID=alpine\nVERSION_ID=3.10.4\n"),
        ("lib/apk/db/installed", installed),
    ]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin", "DB_PASSWORD=hunter2-very-secret"],
            "Labels": {"<img src=x onerror=alert(3)>": "x\"><script>alert(4)</script>"},
            "Cmd": ["/bin/sh", "-c", "echo </script><script>alert(5)</script>"],
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer))]},
        "history": [{"created_by": "/bin/sh -c #(nop) ENV DB_PASSWORD=hunter2-very-secret <script>alert(6)</script>"}],
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
fn hostile_strings_render_as_text_and_secrets_never_reach_the_page() {
    let f = fixture();
    let layout = tempfile::tempdir().unwrap();
    let image = hostile_image(layout.path());
    let html = f.dir.join("hostile.html");
    ok(&customs(&["report", &image, "-o", html.to_str().unwrap()]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("hunter2-very-secret"),
        "the secret reached the page"
    );
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the report's own script tag"
    );
    assert!(!page.contains("<img"));

    let seen = browse(&html, &f.dir.join("hostile.shots"));
    let url = seen["url"].as_str().unwrap().to_string();
    for mode in ["js", "nojs"] {
        let s = &seen[mode];
        assert_quiet(mode, s, &url);
        assert_eq!(s["scripts"], 1, "{mode}");
        assert_eq!(s["images"], 0, "{mode}");
        // The package name is shown, as text.
        let cells: Vec<&str> = s["package_cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            cells.contains(&"<script>alert(1)</script>"),
            "{mode}: {cells:?}"
        );
        let identity = s["identity"].to_string();
        assert!(
            identity.contains("echo </script><script>alert(5)</script>"),
            "{identity}"
        );
        assert!(
            identity.contains(r#"x\"><script>alert(4)</script>"#),
            "{identity}"
        );
        assert!(identity.contains("DB_PASSWORD=hun"), "{identity}");
        let cmds = s["layer_commands"].to_string();
        assert!(cmds.contains("<script>alert(6)</script>"), "{cmds}");
        assert!(!cmds.contains("hunter2-very-secret"));
    }
}

/// The negative control: the browser check does see a request and a console error when a
/// page makes them (to a closed port on loopback).
#[test]
fn the_browser_check_sees_requests_and_console_errors() {
    let f = fixture();
    let html = f.dir.join("noisy.html");
    std::fs::write(
        &html,
        r#"<!DOCTYPE html><html><head><title>noisy</title></head><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body></html>"#,
    )
    .unwrap();
    let seen = browse(&html, &f.dir.join("noisy.shots"));
    let js = &seen["js"];
    assert!(
        js["requests"]
            .to_string()
            .contains("http://127.0.0.1:9/x.png"),
        "{}",
        js["requests"]
    );
    assert!(
        js["console"].to_string().contains("boom"),
        "{}",
        js["console"]
    );
    assert!(seen["nojs"]["requests"].to_string().contains("127.0.0.1:9"));
}

#[test]
fn bad_input_gets_a_clear_error() {
    let f = fixture();
    let image = format!("{SHARED}/images/alpine-3.10.tar");
    let out = customs(&["report", &image, "-o", f.dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
    let out = customs(&["report", "/nonexistent/image.tar", "-o", "x.html"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && !err.contains("panicked"),
        "{err}"
    );
    let out = customs(&["report", &image, "--db", "/nonexistent/customs.db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
