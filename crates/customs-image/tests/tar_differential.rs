//! The tar reader against two reference extractors. Each hostile archive built by
//! `tests/tar/hostile.py` is listed by Python's tarfile and by GNU tar (both stand in for
//! Go's archive/tar, which containerd and moby extract with). customs' walk must equal the
//! reference or fail with an error; where the two references disagree it must fail; and
//! archives every extractor reads alike (`*.read.tar`) it must read. The archives are kept
//! as seeds of the `tar_walker` fuzz target in `fuzz/seeds/tar_walker/`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "tar/walk.rs"]
mod walk;
use walk::{customs, Entry};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tar")
        .join(name)
}

/// `Ok(entries)` or `Err(reason)` from a reference extractor.
fn reference(mode: &str, archive: &Path) -> Result<Vec<Entry>, String> {
    let out = Command::new("python3")
        .arg(script("reference.py"))
        .arg(mode)
        .arg(archive)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    if v["ok"] != true {
        return Err(v["error"].as_str().unwrap_or("").to_string());
    }
    Ok(v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap().to_string(),
                e[1].as_str().unwrap().to_string(),
                e[2].as_u64().unwrap(),
                e[3].as_str().map(str::to_string),
                e[4].as_str().map(str::to_string),
            )
        })
        .collect())
}

fn shape(e: &[Entry]) -> Vec<(String, String, u64, Option<String>)> {
    e.iter()
        .map(|(p, k, s, l, _)| (p.clone(), k.clone(), *s, l.clone()))
        .collect()
}

#[test]
fn hostile_tars_read_as_the_references_do_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("python3")
        .arg(script("hostile.py"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/tar_walker");
    let mut problems = Vec::new();
    let (mut refused, mut read) = (0, 0);
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(case).unwrap();
        if std::env::var_os("CUSTOMS_UPDATE_SEEDS").is_some() {
            std::fs::create_dir_all(&seeds).unwrap();
            std::fs::write(seeds.join(&name), &bytes).unwrap();
        }
        match std::fs::read(seeds.join(&name)) {
            Ok(seed) if seed == bytes => {}
            _ => problems.push(format!(
                "{name}: fuzz/seeds/tar_walker copy missing or stale (rerun with CUSTOMS_UPDATE_SEEDS=1)"
            )),
        }
        let python = reference("python", case);
        let gnu = reference("gnu", case);
        let ours = customs(&bytes);
        let must_read = name.ends_with(".read.tar");
        let agreed = match (&python, &gnu) {
            (Ok(p), Ok(g)) if shape(p) == shape(g) => Some(p),
            _ => None,
        };
        match (&ours, agreed) {
            (Err(_), _) if !must_read => refused += 1,
            (Err(e), _) => problems.push(format!("{name}: every extractor reads it, customs refused: {e}")),
            (Ok(o), None) => problems.push(format!(
                "{name}: the references disagree (python {python:?}, gnu {gnu:?}) but customs read {o:?}"
            )),
            (Ok(o), Some(p)) if o == p => read += 1,
            (Ok(o), Some(p)) => problems.push(format!(
                "{name}: customs read {o:?}, the references {p:?}"
            )),
        }
        if must_read && agreed.is_none() {
            problems.push(format!(
                "{name} is marked as read alike, but python {python:?} gnu {gnu:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        read >= 15 && refused >= 20,
        "read {read}, refused {refused}"
    );
}
