//! Closed connections and pipes. customs keeps SIGPIPE ignored, so a registry that resets an
//! upload while customs is writing it is a reported error (exit 2 with a message), never a
//! silent death by signal. Output into a pipe whose reader has gone (`customs sbom x | head`)
//! still ends quietly, with 141 and nothing on standard error.

use std::io::Read;
use std::process::{Command, Stdio};

use customs_testkit::registry::proxy::{Fault, FaultProxy};
use customs_testkit::registry::{Mode, Registry};

mod common;
use common::{shared, BIN};

#[test]
fn output_into_a_pipe_whose_reader_has_gone_ends_quietly_with_141() {
    let mut child = Command::new(BIN)
        .arg("sbom")
        .arg(shared("images/debian-bookworm-minbase.oci.tar"))
        .args(["-f", "cyclonedx", "--no-cache"])
        .env("CUSTOMS_CACHE_DIR", tempfile::tempdir().unwrap().path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The document is about 150 kB, more than a pipe holds: customs is still writing when
    // the reader goes.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{:?}: {stderr}", out.status);
    assert!(stderr.trim().is_empty(), "{stderr}");
    assert!(first.starts_with(b"{"));
}

#[test]
fn a_registry_that_resets_an_upload_is_a_reported_error_not_a_silent_death() {
    let registry = Registry::start(Mode::Anonymous);
    let proxy = FaultProxy::start(registry.addr, Fault::ResetUploads);
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(work.path())
        .arg("copy")
        .arg(format!(
            "oci-archive:{}",
            shared("images/debian-bookworm-minbase.oci.tar").display()
        ))
        .arg(format!("docker://{}/reset/debian:12", proxy.host()))
        .env("DOCKER_CONFIG", work.path().join("no-docker-config"))
        .env("REGISTRY_AUTH_FILE", work.path().join("no-auth.json"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        proxy
            .seen()
            .iter()
            .any(|s| s.path.contains("/blobs/uploads/") && s.method != "POST"),
        "no upload reached the proxy: {stderr}"
    );
    // A signal leaves no exit code; a reported error is 2 with a message.
    assert_eq!(out.status.code(), Some(2), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("error:"), "{stderr}");
    assert!(
        stderr.contains(&format!("connection to {} failed", proxy.host()))
            && stderr.contains("reset"),
        "{stderr}"
    );
}
