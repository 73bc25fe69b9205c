//! Finding image references in the fixture Dockerfile, Kubernetes manifest and compose file,
//! and linting them. The expected lists were written by reading the fixtures by hand.

use std::path::{Path, PathBuf};

use customs_pin::lint::{lint, LintOptions};
use customs_pin::{scan_file, FileKind, Scan};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// (line, context, reference, text at the rewrite position)
fn summary(scan: &Scan) -> Vec<(usize, String, Option<String>, Option<String>)> {
    scan.images
        .iter()
        .map(|i| {
            (
                i.line,
                i.context.clone(),
                i.reference.clone(),
                i.written_at
                    .as_ref()
                    .map(|s| scan.text[s.range()].to_string()),
            )
        })
        .collect()
}

fn row(
    line: usize,
    context: &str,
    reference: Option<&str>,
    written: Option<&str>,
) -> (usize, String, Option<String>, Option<String>) {
    (
        line,
        context.to_string(),
        reference.map(str::to_string),
        written.map(str::to_string),
    )
}

#[test]
fn dockerfile_fixture_references_with_args_stages_and_copy_from() {
    let scan = scan_file(&fixture("Dockerfile")).unwrap();
    assert_eq!(scan.kind, FileKind::Dockerfile);
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    let base = "golang:1.22-bookworm";
    let runtime = "gcr.io/distroless/static-debian12:nonroot";
    let nginx = "docker.io/library/nginx:latest";
    assert_eq!(
        summary(&scan),
        vec![
            row(8, "FROM", Some(base), Some(base)),
            row(15, "FROM", Some("alpine"), Some("alpine")),
            row(18, "FROM", Some("busybox:1.36.1"), Some("busybox:1.36.1")),
            row(24, "FROM", Some(runtime), Some(runtime)),
            row(27, "COPY --from", Some(nginx), Some(nginx)),
        ]
    );
    // ARG-substituted references are rewritten where the ARG gives the value.
    let from_base = &scan.images[0];
    assert_eq!(from_base.via_arg.as_deref(), Some("BASE"));
    assert_eq!(from_base.written_at.as_ref().unwrap().line, 3);
    assert_eq!(scan.images[3].written_at.as_ref().unwrap().line, 4);
    // The `${TOOLS:-…}` default is written in the FROM line itself.
    assert_eq!(scan.images[2].written_at.as_ref().unwrap().line, 18);
}

#[test]
fn kubernetes_fixture_finds_every_workload_kind() {
    let scan = scan_file(&fixture("workloads.yaml")).unwrap();
    assert_eq!(scan.kind, FileKind::Kubernetes);
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    let migrate = "registry.example.com/acme/migrate:2.1";
    let web = "registry.example.com/acme/web:latest";
    let envoy = "envoyproxy/envoy:v1.31.0@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let exporter = "quay.io/prometheus/node-exporter:v1.8.2";
    let t = "spec.template.spec.";
    assert_eq!(
        summary(&scan),
        vec![
            row(
                11,
                &format!("Deployment/web {t}initContainers[migrate].image"),
                Some(migrate),
                Some(migrate)
            ),
            row(
                14,
                &format!("Deployment/web {t}containers[app].image"),
                Some(web),
                Some(web)
            ),
            row(
                16,
                &format!("Deployment/web {t}containers[sidecar].image"),
                Some(envoy),
                Some(envoy)
            ),
            row(
                30,
                "CronJob/nightly spec.jobTemplate.spec.template.spec.containers[report].image",
                Some("python:3.12-slim"),
                Some("python:3.12-slim")
            ),
            row(
                49,
                &format!("StatefulSet/db {t}containers[postgres].image"),
                Some("postgres"),
                Some("postgres")
            ),
            row(
                59,
                &format!("DaemonSet/agent {t}containers[agent].image"),
                Some(exporter),
                Some(exporter)
            ),
            row(
                68,
                "Pod/debug spec.containers[main].image",
                Some("busybox:1.36"),
                Some("busybox:1.36")
            ),
            row(
                71,
                "Pod/debug spec.ephemeralContainers[shell].image",
                Some("nicolaka/netshoot"),
                Some("nicolaka/netshoot")
            ),
            row(
                82,
                &format!("Job/once {t}containers[job].image"),
                Some("alpine:3.20"),
                Some("alpine:3.20")
            ),
            row(
                93,
                &format!("ReplicaSet/rs {t}containers[c].image"),
                Some("nginx:1.27"),
                Some("nginx:1.27")
            ),
            row(
                104,
                &format!("ReplicationController/rc {t}containers[c].image"),
                Some("httpd:2.4"),
                Some("httpd:2.4")
            ),
        ]
    );
}

#[test]
fn compose_fixture_services_images() {
    let scan = scan_file(&fixture("compose.yaml")).unwrap();
    assert_eq!(scan.kind, FileKind::Compose);
    let db = "postgres:16@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert_eq!(
        summary(&scan),
        vec![
            row(
                8,
                "services.web.image",
                Some("nginx:1.27"),
                Some("nginx:1.27")
            ),
            row(11, "services.cache.image", Some("redis"), Some("redis")),
            row(13, "services.db.image", Some(db), Some(db)),
            // Interpolated from the environment: its default is what is read and rewritten.
            row(
                15,
                "services.worker.image",
                Some("ghcr.io/acme/worker:latest"),
                Some("ghcr.io/acme/worker:latest")
            ),
        ]
    );
}

fn rule_lines(scan: &Scan, opts: &LintOptions) -> Vec<(usize, &'static str)> {
    lint(scan, opts)
        .into_iter()
        .map(|f| (f.line, f.rule.name()))
        .collect()
}

#[test]
fn lint_dockerfile_fixture() {
    let scan = scan_file(&fixture("Dockerfile")).unwrap();
    assert_eq!(
        rule_lines(&scan, &LintOptions::default()),
        vec![
            (8, "no-digest"),
            (15, "untagged"),
            (15, "no-digest"),
            (18, "no-digest"),
            (24, "no-digest"),
            (27, "latest-tag"),
            (27, "no-digest"),
        ]
    );
}

#[test]
fn lint_allow_list_flags_other_registries() {
    let scan = scan_file(&fixture("workloads.yaml")).unwrap();
    let opts = LintOptions {
        allowed_registries: vec!["registry.example.com".into(), "docker.io".into()],
    };
    let not_allowed: Vec<(usize, String)> = lint(&scan, &opts)
        .into_iter()
        .filter(|f| f.rule.name() == "registry-not-allowed")
        .map(|f| (f.line, f.reference))
        .collect();
    assert_eq!(
        not_allowed,
        vec![(59, "quay.io/prometheus/node-exporter:v1.8.2".to_string())]
    );
}

#[test]
fn lint_pinned_reference_has_no_finding() {
    let scan = scan_file(&fixture("compose.yaml")).unwrap();
    let lines: Vec<usize> = lint(&scan, &LintOptions::default())
        .iter()
        .map(|f| f.line)
        .collect();
    assert!(!lines.contains(&13), "{lines:?}");
    assert!(lines.contains(&11));
}

#[test]
fn unresolved_arg_is_reported_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, "ARG IMAGE\nFROM ${IMAGE}\n").unwrap();
    let scan = scan_file(&path).unwrap();
    let findings = lint(&scan, &LintOptions::default());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule.name(), "unresolved-reference");
    assert_eq!(findings[0].line, 2);
    assert!(findings[0].message.contains("IMAGE"));
}

#[test]
fn non_text_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, b"FROM \xff\xfe\n").unwrap();
    let err = scan_file(&path).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

proptest! {
    #[test]
    fn dockerfile_scan_never_panics(s in "\\PC*") {
        let _ = customs_pin::dockerfile::scan(&s);
    }

    #[test]
    fn dockerfile_like_input_never_panics(
        lines in proptest::collection::vec(
            "(FROM|ARG|COPY|RUN|from|#)[ ]{0,2}[-=${}:a-zA-Z0-9_./\\\\\"' <]{0,30}", 0..8)
    ) {
        let text = lines.join("\n");
        let (images, _) = customs_pin::dockerfile::scan(&text);
        for i in images {
            if let Some(span) = i.written_at {
                prop_assert!(text.get(span.range()).is_some());
            }
        }
    }

    #[test]
    fn yaml_scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = customs_pin::yaml::scan_kubernetes(&text);
        let _ = customs_pin::yaml::scan_compose(&text);
    }

    #[test]
    fn yaml_like_input_spans_hold_the_reference(
        lines in proptest::collection::vec(
            "[ ]{0,4}(- )?(image|containers|services|kind|name|&a|\\*a|<<)?:? ?['\"]?[a-zé:/.@0-9{}\\[\\],]{0,12}['\"]?",
            0..10)
    ) {
        let text = lines.join("\n");
        for (images, _) in [customs_pin::yaml::scan_kubernetes(&text), customs_pin::yaml::scan_compose(&text)] {
            for i in images {
                if let (Some(span), Some(r)) = (&i.written_at, &i.reference) {
                    prop_assert_eq!(text.get(span.range()), Some(r.as_str()));
                }
            }
        }
    }
}
