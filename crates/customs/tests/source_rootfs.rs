//! `rootfs:` against the image it was unpacked from: the shared debian image is unpacked
//! here by umoci (an independent OCI implementation, as root so owners and device nodes are
//! kept), and `customs sbom` and `customs scan` of `rootfs:<bundle>/rootfs` equal those of the
//! image apart from layer attribution and the subject.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/install-deps installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn customs(args: &[&str], dir: &Path) -> Value {
    let out = run(Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_CACHE_DIR", dir.join("cache"))
        .env("CUSTOMS_DB", dir.join("db/customs.db"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", "0"));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Removes what names the source rather than the content: the subject, layer attribution
/// (`layer`, `layer_digest`, ...) and timestamps.
fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("layer") && k != "subject" && k != "created");
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

fn unpack(tmp: &Path) -> PathBuf {
    let layout = tmp.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    // The archive is an OCI layout in a plain tar: untar the layout (not the image), then
    // let umoci unpack the image's root filesystem.
    run(Command::new("tar")
        .arg("-xf")
        .arg(format!("{SHARED}/images/debian-bookworm-minbase.oci.tar"))
        .arg("-C")
        .arg(&layout));
    let bundle = tmp.join("bundle");
    run(Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:bookworm", layout.display()))
        .arg(&bundle));
    bundle.join("rootfs")
}

#[test]
fn rootfs_of_the_unpacked_debian_image_equals_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = unpack(tmp.path());
    assert!(rootfs.join("var/lib/dpkg/status").is_file());
    let image = format!("oci-archive:{SHARED}/images/debian-bookworm-minbase.oci.tar");
    let dir = format!("rootfs:{}", rootfs.display());

    let mut from_image = customs(&["sbom", "-f", "json", &image], tmp.path());
    let mut from_dir = customs(&["sbom", "-f", "json", &dir], tmp.path());
    assert_eq!(from_image["packages"].as_array().unwrap().len(), 88);
    assert_eq!(
        from_dir["subject"]["name"].as_str().unwrap(),
        format!("rootfs:{}", rootfs.canonicalize().unwrap().display())
    );
    strip(&mut from_image);
    strip(&mut from_dir);
    assert_eq!(from_dir["os"], from_image["os"]);
    assert_eq!(from_dir["packages"], from_image["packages"]);
    assert_eq!(from_dir["suppressed"], from_image["suppressed"]);
    assert_eq!(from_dir, from_image);

    // dir: of the same tree is a project: its dpkg database is not installed state.
    let project = customs(
        &["sbom", "-f", "json", &format!("dir:{}", rootfs.display())],
        tmp.path(),
    );
    assert!(project["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["ecosystem"] != "Debian"));

    // Findings too, against a database built from the shared advisories with Debian's.
    run(Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", "--db"])
        .arg(tmp.path().join("db/customs.db"))
        .args([format!("{SHARED}/vulndata"), format!("{SHARED}/distro-osv")]));
    let mut scan_image = customs(
        &["scan", "-f", "json", "--exit-code", "0", &image],
        tmp.path(),
    );
    let mut scan_dir = customs(
        &["scan", "-f", "json", "--exit-code", "0", &dir],
        tmp.path(),
    );
    let findings = scan_image["findings"].as_array().map_or(0, Vec::len);
    assert!(
        findings > 0,
        "the debian image has findings in the shared data"
    );
    strip(&mut scan_image);
    strip(&mut scan_dir);
    assert_eq!(scan_dir["findings"], scan_image["findings"]);
}
