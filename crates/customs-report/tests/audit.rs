//! Snapshot tests of the three outputs for one image with findings from every family, and
//! a check that the SARIF document has one result per finding and every rule.

use customs_audit::{audit, AuditOptions, AuditReport};
use customs_image::{Image, OpenOptions};
use customs_report::audit as render;
use customs_testkit::ocibuild::{base_layer, build, file, whiteout, Spec};
use serde_json::{json, Value};

fn report() -> AuditReport {
    let dir = tempfile::tempdir().unwrap();
    let mut base = base_layer();
    base.push(file("usr/bin/helper", "x").mode(0o4755));
    let spec = Spec {
        layers: vec![
            base,
            vec![
                file("srv/.env", "DB_PASSWORD=Xk9mQ2vL7pR3\n"),
                file("srv/pad.txt", "padding\n".repeat(100)),
            ],
            vec![
                whiteout("srv/.env"),
                file("srv/pad2.txt", "padding\n".repeat(100)),
            ],
        ],
        config: json!({
            "User": "",
            "Env": ["PATH=/usr/bin", "API_KEY=AKIAQWERTYUIOPASDFGH"],
            "ExposedPorts": {"22/tcp": {}},
        }),
        // Uncompressed, so digests do not depend on the gzip implementation.
        gzip: false,
        ..Spec::default()
    };
    let target = build(dir.path(), &spec);
    let image = Image::open_str(&target, &OpenOptions::default()).unwrap();
    let mut r = audit(
        &image,
        &AuditOptions {
            now: Some(1_796_083_200),
            ..AuditOptions::default()
        },
    )
    .unwrap();
    r.image.name = "oci:built-image".into();
    r
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table", render::table(&report()));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", render::json(&report()).unwrap());
}

#[test]
fn sarif_snapshot_has_one_result_per_finding() {
    let r = report();
    let out = render::sarif(&r, "0.1.0").unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), r.findings.len());
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        customs_audit::rules::RULES.len()
    );
    assert!(!out.contains("AKIAQWERTYUIOPASDFGH") && !out.contains("Xk9mQ2vL7pR3"));
    insta::assert_snapshot!("sarif", out);
}

#[test]
fn json_is_deterministic() {
    assert_eq!(
        render::json(&report()).unwrap(),
        render::json(&report()).unwrap()
    );
}
