//! Ruby's default gems (`specifications/default/*.gemspec`, issue 12) are read. The fixtures
//! are real gemspecs from Debian bookworm's `libruby3.1` 3.1.7+really3.1.2-0+deb12u1
//! (`/usr/lib/ruby/gems/3.1.0/specifications/default/`). Each file name states the gem's name
//! and version, which is checked; when Syft is installed (`.venv-tools`, as CI installs it) the
//! same tree is scanned by it live and the (name, version, licences) sets must be equal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};
use customs_testkit::ocibuild;

const PREFIX: &str = "usr/lib/ruby/gems/3.1.0/specifications/default";

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ruby-default");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

type Gem = (String, String, Vec<String>);

fn ours() -> BTreeSet<Gem> {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixtures()
        .into_iter()
        .map(|(name, data)| ocibuild::file(&format!("{PREFIX}/{name}"), data))
        .collect();
    let spec = ocibuild::Spec {
        layers: vec![entries],
        ..Default::default()
    };
    let target = ocibuild::build(dir.path(), &spec);
    let image = Image::open_str(&target, &OpenOptions::default()).unwrap();
    let inv = scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory;
    inv.packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem, "RubyGems");
            assert_eq!(p.purl_string(), format!("pkg:gem/{}@{}", p.name, p.version));
            let mut l = p.licenses.clone();
            l.sort();
            (p.name.clone(), p.version.clone(), l)
        })
        .collect()
}

fn syft() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/syft");
    p.exists().then_some(p)
}

#[test]
fn default_gems_are_read_with_the_versions_their_file_names_state() {
    let got = ours();
    let want: BTreeSet<(String, String)> = fixtures()
        .iter()
        .map(|(f, _)| {
            let stem = f.strip_suffix(".gemspec").unwrap();
            let (n, v) = stem.rsplit_once('-').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    let names: BTreeSet<(String, String)> =
        got.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
    assert_eq!(names, want);
    assert!(got.contains(&(
        "uri".into(),
        "0.11.0".into(),
        vec!["BSD-2-Clause".into(), "Ruby".into()]
    )));
}

#[test]
fn default_gems_match_syft() {
    let Some(syft) = syft() else {
        eprintln!("syft not installed: live comparison skipped");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(PREFIX);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data) in fixtures() {
        std::fs::write(dir.join(name), data).unwrap();
    }
    let out = Command::new(syft)
        .arg(format!("dir:{}", root.path().display()))
        .args(["-o", "json", "-q"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: BTreeSet<Gem> = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "gem")
        .map(|a| {
            let mut l: Vec<String> = a["licenses"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| l["value"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            l.sort();
            (
                a["name"].as_str().unwrap().to_string(),
                a["version"].as_str().unwrap().to_string(),
                l,
            )
        })
        .collect();
    assert_eq!(ours(), theirs);
}
