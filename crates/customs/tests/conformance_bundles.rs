//! The Sigstore client conformance suite's bundle-verification cases
//! (`shared/cosign/conformance/bundle-verify`, byte-identical to upstream; the README there says
//! 71, the directory holds 70 case folders, which is what is counted here), each run through
//! `customs verify-bundle` as the suite's CLI protocol runs a client: a case whose name ends in
//! `_fail` must be refused (exit 1, with a reason), every other case must verify (exit 0).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_customs");

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases customs cannot express yet, each with the reason. Goal: empty.
const NOT_YET: &[(&str, &str)] = &[];

/// `_fail` cases refused before verification starts, because an input file is unusable: exit 2
/// (bad input) with this text on stderr, rather than exit 1.
const BAD_INPUT: &[(&str, &str)] = &[(
    // key.pub ends in "...wrongkey==": not base64 of any SPKI, so the key cannot be loaded.
    "managed-key-wrong-key_fail",
    "loading public key",
)];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cosign/conformance")
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The verify-bundle command line for one case, as cli_protocol.md orders it.
fn command_for(case: &Path, artifact: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(case.join("bundle.sigstore.json"));
    if case.join("key.pub").exists() {
        cmd.arg("--key").arg(case.join("key.pub"));
    } else {
        let identity = read_trimmed(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into());
        cmd.args(["--certificate-identity", &identity])
            .args(["--certificate-oidc-issuer", &issuer]);
    }
    if case.join("trusted_root.json").exists() {
        cmd.arg("--trusted-root")
            .arg(case.join("trusted_root.json"));
    }
    cmd.arg(artifact);
    cmd
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(suite().join("bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn artifact_of(case: &Path) -> PathBuf {
    let own = case.join("artifact");
    if own.exists() {
        own
    } else {
        suite().join("a.txt")
    }
}

/// Runs every case; returns the descriptions of those whose outcome is wrong.
fn run_all(as_digest: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if NOT_YET.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let artifact = artifact_of(&case);
        let arg = if as_digest {
            let bytes = std::fs::read(&artifact).unwrap();
            format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
            )
        } else {
            artifact.display().to_string()
        };
        let out = command_for(&case, &arg).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expect_fail = name.ends_with("_fail");
        let code = out.status.code();
        let bad_input = BAD_INPUT.iter().find(|(n, _)| *n == name);
        let ok = if let Some((_, text)) = bad_input {
            expect_fail && code == Some(2) && stderr.contains(text)
        } else if expect_fail {
            // Refused as a verification failure, with a reason; not a usage error or a crash.
            code == Some(1) && stderr.contains("does not verify:")
        } else {
            code == Some(0) && stderr.contains("Verified OK")
        };
        if !ok {
            wrong.push(format!(
                "{name}: expected {}, got exit {code:?}: {}",
                if expect_fail { "refusal" } else { "success" },
                stderr.trim()
            ));
        }
    }
    wrong
}

#[test]
fn the_suite_has_its_70_case_folders() {
    assert_eq!(cases().len(), 70);
    for (name, _) in NOT_YET {
        assert!(
            cases().iter().any(|c| c.ends_with(name)),
            "{name} is not a case"
        );
    }
}

#[test]
fn every_case_gives_the_outcome_its_name_states_with_the_artifact_as_a_file() {
    let wrong = run_all(false);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_case_gives_the_outcome_its_name_states_with_the_artifact_as_a_digest() {
    let wrong = run_all(true);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
