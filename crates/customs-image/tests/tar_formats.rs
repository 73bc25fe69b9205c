//! Archives written by GNU tar in each of its formats, and by Python's tarfile, over a tree
//! whose names are 99, 100 and 101 bytes long and whose components end at every boundary
//! (including a '/' as byte 100, as in Debian's bundler package) are walked exactly as
//! `tar -t` lists them: names, types, sizes, link targets and every file's bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "tar/walk.rs"]
mod walk;
use walk::customs;

/// Builds the tree under `root/t`; returns the relative paths of its files with their bytes.
fn build_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut add = |rel: String, data: Vec<u8>| {
        let p = root.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data).unwrap();
        files.push((rel, data));
    };
    for total in 97..=103usize {
        // A file whose whole path is `total` bytes.
        let stem = "t/f/";
        add(
            format!("{stem}{}", "a".repeat(total - stem.len())),
            vec![b'x'; total],
        );
        // A directory whose path is `total` bytes (its '/' lands on byte total+1), with a
        // file in it: the bundler case when total is 99.
        let stem = "t/d/";
        let d = format!("{stem}{}", "b".repeat(total - stem.len()));
        add(
            format!("{d}/cli.rb"),
            format!("puts {total}\n").into_bytes(),
        );
    }
    // Deeper: boundaries at 155/156 (the ustar prefix) and past 256.
    for total in [154usize, 155, 156, 157, 255, 256, 257, 300] {
        // Components of at most 99 bytes (NAME_MAX is 255), so a '/' falls on every 100th.
        let deep: String = (0..total - 4 - 10)
            .map(|i| if i % 100 == 99 { '/' } else { 'c' })
            .collect();
        let d = format!("t/p/{deep}");
        add(format!("{d}/{}", "e".repeat(9)), vec![b'y'; total % 7 + 1]);
    }
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    add("t/big.bin".into(), big);
    files
}

fn add_links(root: &Path) {
    for len in [99usize, 100, 101, 150] {
        let target = format!("../{}", "s".repeat(len - 3));
        std::os::unix::fs::symlink(&target, root.join(format!("t/link{len}"))).unwrap();
    }
    let long = std::fs::read_dir(root.join("t/d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap()
        .join("cli.rb");
    std::fs::hard_link(&long, root.join("t/hard")).unwrap();
}

fn gnu_tar(root: &Path, format: &str, out: &Path) {
    let o = Command::new("tar")
        .args(["--format", format, "--sort=name", "-C"])
        .arg(root)
        .arg("-cf")
        .arg(out)
        .arg("t")
        .output()
        .unwrap();
    // v7 and ustar cannot store every name: tar says so, exits 2 and writes the rest.
    assert!(
        o.status.success() || (matches!(format, "v7" | "ustar") && o.status.code() == Some(2)),
        "tar --format={format}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn python_tar(root: &Path, format: &str, out: &Path) {
    let code = format!(
        // USTAR cannot store every name: like GNU tar, skip those and write the rest.
        "import tarfile,os\nos.chdir({root:?})\nwith tarfile.open({out:?}, 'w', format=tarfile.{format}) as t:\n t.add('t', recursive=False)\n for d, ds, fs in os.walk('t'):\n  ds.sort()\n  for n in sorted(ds + fs):\n   try: t.add(os.path.join(d, n), recursive=False)\n   except ValueError: pass\n",
        root = root.display().to_string(),
        out = out.display().to_string(),
    );
    let st = Command::new("python3")
        .arg("-c")
        .arg(code)
        .status()
        .unwrap();
    assert!(st.success(), "python tarfile {format}");
}

fn tar_list(archive: &Path) -> Vec<(String, String, u64, Option<String>)> {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tar/reference.py"))
        .arg("gnu")
        .arg(archive)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["ok"],
        true,
        "tar -t {}: {}",
        archive.display(),
        v["error"]
    );
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap().to_string(),
                e[1].as_str().unwrap().to_string(),
                e[2].as_u64().unwrap(),
                e[3].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn every_gnu_tar_and_python_format_reads_as_tar_t_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let files = build_tree(&root);
    add_links(&root);
    let mut archives: Vec<(String, PathBuf)> = Vec::new();
    for format in ["gnu", "oldgnu", "posix", "ustar", "v7"] {
        let out = dir.path().join(format!("gnu-{format}.tar"));
        gnu_tar(&root, format, &out);
        archives.push((format!("tar --format={format}"), out));
    }
    for format in ["GNU_FORMAT", "PAX_FORMAT", "USTAR_FORMAT"] {
        let out = dir.path().join(format!("py-{format}.tar"));
        python_tar(&root, format, &out);
        archives.push((format!("python {format}"), out));
    }
    for (what, archive) in &archives {
        let listed = tar_list(archive);
        assert!(listed.len() > 10, "{what}: {} entries", listed.len());
        let bytes = std::fs::read(archive).unwrap();
        let ours = customs(&bytes).unwrap_or_else(|e| panic!("{what}: customs refused: {e}"));
        let shape: Vec<_> = ours
            .iter()
            .map(|(p, k, s, l, _)| (p.clone(), k.clone(), *s, l.clone()))
            .collect();
        assert_eq!(shape, listed, "{what}: customs and tar -t differ");
        // Every file's bytes are the bytes on disk: no reader lost its place.
        for (path, kind, _, _, digest) in &ours {
            if kind == "f" {
                let data = std::fs::read(root.join(path)).unwrap();
                assert_eq!(
                    digest.as_deref(),
                    Some(customs_testkit::oci::sha256_hex(&data).as_str()),
                    "{what}: {path}"
                );
            }
        }
        // The bundler case is in every format that can store it.
        let bundler = format!("t/d/{}/cli.rb", "b".repeat(95));
        if !what.contains("v7") && !what.contains("ustar") && !what.contains("USTAR") {
            assert!(
                ours.iter().any(|e| e.0 == bundler),
                "{what}: {bundler} missing"
            );
        }
    }
    assert!(files.len() > 20);
}
