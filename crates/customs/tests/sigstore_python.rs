//! sigstore-python (pip `sigstore`, scripts/requirements-tools.txt) verifies the DSSE envelopes
//! customs writes with its low-level DSSE check (`sigstore.dsse._verify`, the PAE and ECDSA
//! check its verifier runs on every DSSE bundle): the `.att` layer of `customs attest`, the
//! bundle of `customs sign --bundle-format`, and the bundle of `customs attest-blob`. A wrong
//! key and an edited payload are refused by it too. The Python is the tools venv's, or
//! `CUSTOMS_SIGSTORE_PYTHON`; without sigstore installed the test is skipped, except in CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_customs");

fn customs(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .env("CUSTOMS_PASSWORD", "pw")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "customs {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A Python that imports sigstore.
fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CUSTOMS_SIGSTORE_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../.venv-tools/bin/python"
        ))),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import sigstore.dsse"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn sigstore_python_verifies_the_dsse_envelopes_customs_writes() {
    let Some(py) = python() else {
        assert!(
            !ci(),
            "sigstore-python is required in CI (scripts/requirements-tools.txt)"
        );
        eprintln!("skipped: no Python with sigstore (set CUSTOMS_SIGSTORE_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    customs(d, &["key", "generate", "--output-key-prefix", "k"]);
    customs(d, &["key", "generate", "--output-key-prefix", "other"]);
    let src = format!(
        "oci-archive:{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/images/app-multi.oci.tar")
            .display()
    );
    customs(d, &["copy", &src, "oci:app:latest"]);
    customs(
        d,
        &[
            "sign",
            "--key",
            "k.key",
            "--bundle-format",
            "oci:app:latest",
        ],
    );
    std::fs::write(d.join("note.txt"), "reviewed").unwrap();
    customs(
        d,
        &[
            "attest",
            "--key",
            "k.key",
            "--predicate",
            "note.txt",
            "oci:app:latest",
        ],
    );
    std::fs::write(d.join("blob"), b"a file\n").unwrap();
    std::fs::write(d.join("pred.json"), br#"{"buildType":"x"}"#).unwrap();
    customs(
        d,
        &[
            "attest-blob",
            "--key",
            "k.key",
            "--type",
            "slsaprovenance",
            "--predicate",
            "pred.json",
            "--bundle",
            "blob.bundle",
            "blob",
        ],
    );
    // The envelopes as stored: the .att layer and the signature bundle, through download.
    let att = customs(d, &["download", "attestation", "oci:app:latest"]).stdout;
    std::fs::write(
        d.join("att.json"),
        att.split(|&b| b == b'\n').next().unwrap(),
    )
    .unwrap();
    let sigs =
        String::from_utf8(customs(d, &["download", "signature", "oci:app:latest"]).stdout).unwrap();
    let bundle_line = sigs
        .lines()
        .find(|l| l.contains("dsseEnvelope"))
        .expect("the signature bundle");
    std::fs::write(d.join("sig.bundle"), bundle_line).unwrap();
    // An edited copy of the attestation: another payload under the same signature.
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("att.json")).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut payload = b64.decode(edited["payload"].as_str().unwrap()).unwrap();
    payload.extend_from_slice(b" ");
    edited["payload"] = b64.encode(&payload).into();
    std::fs::write(d.join("edited.json"), edited.to_string()).unwrap();

    let run = |key: &str| {
        let o = Command::new(&py)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore_python_dsse.py"))
            .arg(d.join(key))
            .args(["att.json", "sig.bundle", "blob.bundle", "edited.json"].map(|f| d.join(f)))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let out = run("k.pub");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let payload_sha = |path: &str| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(path)).unwrap()).unwrap();
        let env = v.get("dsseEnvelope").unwrap_or(&v);
        hex::encode(Sha256::digest(
            b64.decode(env["payload"].as_str().unwrap()).unwrap(),
        ))
    };
    for (i, f) in ["att.json", "sig.bundle", "blob.bundle"].iter().enumerate() {
        assert_eq!(
            lines[i],
            format!("VERIFIED {}", payload_sha(f)),
            "{f}: {out}"
        );
    }
    assert!(lines[3].starts_with("REJECTED"), "edited payload: {out}");
    let wrong = run("other.pub");
    assert!(
        wrong.lines().all(|l| l.starts_with("REJECTED")),
        "another key: {wrong}"
    );
}
