//! Pinning and probing against a real `docker-registry` on loopback (the harness of
//! customs-image). The digests are checked against what skopeo reports for the same tag.

use customs_testkit::registry as support;

use std::path::Path;

use customs_image::{Platform, Reference};
use customs_pin::pin::{apply_edits, plan, unified_diff, Outcome, PinOptions};
use customs_pin::probe::{probe, ProbeOptions};
use customs_pin::{scan_file, scan_str, FileKind};
use customs_registry::RegistryClient;
use support::{shared_image, skopeo, Mode, Registry};

const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The digest skopeo sees for `host/repo:tag`.
fn skopeo_digest(reg: &Registry, reference: &str) -> String {
    let out = skopeo(&[
        "inspect".into(),
        "--raw".into(),
        "--tls-verify=false".into(),
        format!("docker://{}/{reference}", reg.host()),
    ]);
    // `--raw` prints the manifest bytes; their sha256 is the digest.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m");
    std::fs::write(&f, out.as_bytes()).unwrap();
    let sum = std::process::Command::new("sha256sum")
        .arg(&f)
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    format!("sha256:{hex}")
}

fn registry_with_app(mode: Mode) -> Registry {
    let reg = Registry::start(mode);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    reg
}

fn client(reg: &Registry) -> RegistryClient {
    reg.client()
}

fn pin_text(
    reg: &Registry,
    name: &str,
    kind: FileKind,
    text: &str,
    opts: &PinOptions,
) -> (String, customs_pin::pin::PinPlan) {
    let scan = scan_str(Path::new(name), kind, text);
    let p = plan(&scan, &client(reg), opts);
    (apply_edits(text, &p.edits), p)
}

#[test]
fn pins_dockerfile_in_place_keeping_comments_and_layout() {
    let reg = registry_with_app(Mode::Anonymous);
    let h = reg.host();
    let digest = skopeo_digest(&reg, "app:latest");
    // The archive's manifest, pushed with preserved digests.
    assert_eq!(
        digest,
        "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"
    );
    let text = format!(
        "# syntax=docker/dockerfile:1\n\
         ARG BASE={h}/app:latest   # base image\n\
         \n\
         FROM ${{BASE}} AS build\n\
         RUN echo \\\n    building   # continued\n\
         FROM   {h}/app   AS   final\n\
         COPY --from=build /a /a\n\
         COPY --from={h}/app:latest /b /b\n"
    );
    let (new, p) = pin_text(
        &reg,
        "Dockerfile",
        FileKind::Dockerfile,
        &text,
        &PinOptions::default(),
    );
    let expected = format!(
        "# syntax=docker/dockerfile:1\n\
         ARG BASE={h}/app:latest@{digest}   # base image\n\
         \n\
         FROM ${{BASE}} AS build\n\
         RUN echo \\\n    building   # continued\n\
         FROM   {h}/app:latest@{digest}   AS   final\n\
         COPY --from=build /a /a\n\
         COPY --from={h}/app:latest@{digest} /b /b\n"
    );
    assert_eq!(new, expected);
    assert_eq!(p.results.len(), 3);
    assert!(
        p.results.iter().all(|r| r.outcome == Outcome::Pinned),
        "{:?}",
        p.results
    );
    assert!(p
        .results
        .iter()
        .all(|r| r.digest.as_deref() == Some(digest.as_str())));
    // Pinning the result again changes nothing.
    let (again, p2) = pin_text(
        &reg,
        "Dockerfile",
        FileKind::Dockerfile,
        &new,
        &PinOptions::default(),
    );
    assert_eq!(again, new);
    assert!(p2
        .results
        .iter()
        .all(|r| r.outcome == Outcome::AlreadyPinned));
}

#[test]
fn pins_kubernetes_yaml_in_place() {
    let reg = registry_with_app(Mode::Anonymous);
    let h = reg.host();
    let digest = skopeo_digest(&reg, "app:latest");
    let template = |a: &str, b: &str, c: &str| {
        format!(
            "# deploy\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: {a}   # init\n      containers:\n      - {{name: app, image: \"{b}\"}}\n---\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - image: '{c}'\n            name: job\n"
        )
    };
    let text = template(
        &format!("{h}/app:latest"),
        &format!("{h}/app"),
        &format!("{h}/app:latest"),
    );
    let (new, p) = pin_text(
        &reg,
        "k.yaml",
        FileKind::Kubernetes,
        &text,
        &PinOptions::default(),
    );
    let pinned = format!("{h}/app:latest@{digest}");
    assert_eq!(new, template(&pinned, &pinned, &pinned));
    assert_eq!(p.failed(), 0);
    assert_eq!(p.edits.len(), 3);
}

#[test]
fn pins_index_digest_and_checks_platform_is_in_it() {
    let reg = registry_with_app(Mode::Anonymous);
    let h = reg.host();
    let c = client(&reg);
    let app = Reference::parse(&format!("{h}/app:latest")).unwrap();
    let (bytes, media_type, manifest_digest) = c.get_manifest(&app).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": media_type,
            "digest": manifest_digest.to_string(),
            "size": bytes.len(),
            "platform": {"os": "linux", "architecture": "amd64"}
        }]
    });
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = c
        .put_manifest(&app.repo(), "multi", &index_bytes, INDEX_MEDIA_TYPE)
        .unwrap();
    assert_ne!(index_digest, manifest_digest);
    assert_eq!(skopeo_digest(&reg, "app:multi"), index_digest.to_string());

    let text = format!("FROM {h}/app:multi\n");
    let (new, _) = pin_text(
        &reg,
        "Dockerfile",
        FileKind::Dockerfile,
        &text,
        &PinOptions::default(),
    );
    assert_eq!(new, format!("FROM {h}/app:multi@{index_digest}\n"));

    let arm = PinOptions {
        platform: Platform::parse("linux/arm64").unwrap(),
        verify: false,
    };
    let (unchanged, p) = pin_text(&reg, "Dockerfile", FileKind::Dockerfile, &text, &arm);
    assert_eq!(unchanged, text);
    assert_eq!(p.results[0].outcome, Outcome::Failed);
    let msg = p.results[0].message.clone().unwrap();
    assert!(
        msg.contains("linux/arm64") && msg.contains("linux/amd64"),
        "{msg}"
    );

    // --verify: a pinned reference whose tag has since moved is reported.
    let stale =
        format!("FROM {h}/app:multi@{manifest_digest}\nFROM {h}/app:multi@{index_digest}\n");
    let verify = PinOptions {
        verify: true,
        ..PinOptions::default()
    };
    let (same, p) = pin_text(&reg, "Dockerfile", FileKind::Dockerfile, &stale, &verify);
    assert_eq!(same, stale);
    assert_eq!(p.results[0].outcome, Outcome::TagMoved);
    assert_eq!(p.results[1].outcome, Outcome::Verified);
}

#[test]
fn single_image_of_another_platform_is_not_pinned() {
    let reg = registry_with_app(Mode::Anonymous);
    let text = format!("FROM {}/app:latest\n", reg.host());
    let arm = PinOptions {
        platform: Platform::parse("linux/arm64").unwrap(),
        verify: false,
    };
    let (new, p) = pin_text(&reg, "Dockerfile", FileKind::Dockerfile, &text, &arm);
    assert_eq!(new, text);
    assert_eq!(p.results[0].outcome, Outcome::Failed);
}

#[test]
fn verify_fails_for_digest_the_registry_lacks_and_missing_tag_fails() {
    let reg = registry_with_app(Mode::Anonymous);
    let h = reg.host();
    let missing = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let text = format!("FROM {h}/app:latest@{missing}\nFROM {h}/app:nope\n");
    let verify = PinOptions {
        verify: true,
        ..PinOptions::default()
    };
    let (new, p) = pin_text(&reg, "Dockerfile", FileKind::Dockerfile, &text, &verify);
    assert_eq!(new, text);
    assert_eq!(p.results[0].outcome, Outcome::Failed);
    assert_eq!(p.results[1].outcome, Outcome::Failed);
    assert!(
        p.results[1]
            .message
            .as_deref()
            .unwrap()
            .contains("not found"),
        "{:?}",
        p.results[1]
    );
}

#[test]
fn pins_through_basic_auth() {
    let reg = registry_with_app(Mode::Basic);
    let digest = skopeo_digest_with_creds(&reg);
    let text = format!(
        "services:\n  app:\n    image: {}/app:latest # the app\n",
        reg.host()
    );
    let (new, p) = pin_text(
        &reg,
        "compose.yaml",
        FileKind::Compose,
        &text,
        &PinOptions::default(),
    );
    assert_eq!(p.failed(), 0, "{:?}", p.results);
    assert_eq!(
        new,
        format!(
            "services:\n  app:\n    image: {}/app:latest@{digest} # the app\n",
            reg.host()
        )
    );
}

fn skopeo_digest_with_creds(reg: &Registry) -> String {
    let out = skopeo(&[
        "inspect".into(),
        "--tls-verify=false".into(),
        format!("--creds={}:{}", support::USER, support::PASSWORD),
        format!("docker://{}/app:latest", reg.host()),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

#[test]
fn dry_run_diff_names_the_changed_line() {
    let reg = registry_with_app(Mode::Anonymous);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    let text = format!("FROM {}/app:latest\nRUN true\n", reg.host());
    std::fs::write(&path, &text).unwrap();
    let scan = scan_file(&path).unwrap();
    let p = plan(&scan, &client(&reg), &PinOptions::default());
    let new = apply_edits(&scan.text, &p.edits);
    let diff = unified_diff(&scan.text, &new, "Dockerfile");
    let digest = p.results[0].digest.clone().unwrap();
    assert!(
        diff.contains(&format!("-FROM {}/app:latest\n", reg.host())),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("+FROM {}/app:latest@{digest}\n", reg.host())),
        "{diff}"
    );
    assert!(diff.contains(" RUN true\n"), "{diff}");
}

// ----- registry probe -----

#[test]
fn probe_anonymous_registry() {
    let reg = registry_with_app(Mode::Anonymous);
    let r = probe(&reg.host(), &ProbeOptions::default()).unwrap();
    assert!(r.plain_http.answered);
    assert_eq!(r.plain_http.status, Some(200));
    assert!(r.plain_http.serves_api);
    assert!(!r.tls.speaks_tls, "{:?}", r.tls);
    assert!(!r.tls.valid);
    let api = r.api.unwrap();
    assert_eq!(api.scheme, "http");
    assert!(!api.auth.required);
    assert_eq!(api.auth.status, 200);
    assert!(api.auth.challenges.is_empty());
    assert!(api.catalog.anonymous_readable);
    assert_eq!(api.catalog.repositories, Some(1));
    assert_eq!(api.api_version.as_deref(), Some("registry/2.0"));
}

#[test]
fn probe_basic_auth_registry() {
    let reg = Registry::start(Mode::Basic);
    let r = probe(&reg.host(), &ProbeOptions::default()).unwrap();
    assert_eq!(r.plain_http.status, Some(401));
    let api = r.api.unwrap();
    assert!(api.auth.required);
    assert_eq!(api.auth.challenges.len(), 1);
    let c = &api.auth.challenges[0];
    assert!(c.scheme.eq_ignore_ascii_case("basic"), "{c:?}");
    assert_eq!(c.realm.as_deref(), Some("customs-test"));
    assert!(!api.catalog.anonymous_readable);
    assert_eq!(api.catalog.status, Some(401));
    assert!(!api.catalog.anonymous_token);
    assert_eq!(api.api_version.as_deref(), Some("registry/2.0"));
}

#[test]
fn probe_token_auth_registry() {
    let reg = Registry::start(Mode::Token);
    let r = probe(&reg.host(), &ProbeOptions::default()).unwrap();
    let api = r.api.unwrap();
    assert!(api.auth.required);
    let c = &api.auth.challenges[0];
    assert!(c.scheme.eq_ignore_ascii_case("bearer"), "{c:?}");
    let realm = c.realm.as_deref().unwrap();
    assert!(realm.starts_with("http://127.0.0.1:"), "{realm}");
    assert_eq!(c.service.as_deref(), Some(support::token::SERVICE));
    // The token server gives no anonymous tokens, so the catalog stays closed, and no
    // credentials were sent to get one.
    assert!(!api.catalog.anonymous_readable);
    assert_eq!(reg.tokens_issued(), 0);
}

#[test]
fn probe_tls_registry_with_and_without_its_ca() {
    let reg = registry_with_app(Mode::Tls);
    let r = probe(&reg.host(), &ProbeOptions::default()).unwrap();
    assert!(r.tls.speaks_tls);
    assert!(!r.tls.valid);
    let err = r.tls.error.clone().unwrap();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // Go's TLS server answers plain HTTP with 400, which is not the registry API.
    assert!(r.plain_http.answered);
    assert_eq!(r.plain_http.status, Some(400));
    assert!(!r.plain_http.serves_api);
    let api = r.api.unwrap();
    assert_eq!(api.scheme, "https");
    assert!(api.unverified_tls);
    assert!(!api.auth.required);
    assert!(api.catalog.anonymous_readable);

    let with_ca = ProbeOptions {
        ca_certs: reg.ca_cert.iter().cloned().collect(),
        ..ProbeOptions::default()
    };
    let r = probe(&reg.host(), &with_ca).unwrap();
    assert!(r.tls.valid, "{:?}", r.tls);
    assert_eq!(r.tls.error, None);
    let api = r.api.unwrap();
    assert!(!api.unverified_tls);
    assert_eq!(api.catalog.repositories, Some(1));
}

#[test]
fn probe_closed_port_reports_nothing_serving() {
    let port = support::free_port();
    let r = probe(&format!("127.0.0.1:{port}"), &ProbeOptions::default()).unwrap();
    assert!(!r.plain_http.answered);
    assert!(r.plain_http.error.is_some());
    assert!(!r.tls.speaks_tls);
    assert!(r.api.is_none());
}
