//! Faults: `kill -9` of `customs serve` in the middle of a push loses nothing committed,
//! leaves no visible partial blob, and the interrupted upload resumes after a restart from
//! the offset the server reports, ending with a verified blob.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use customs_testkit::registry::skopeo_status as skopeo;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_customs");
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const APP: &str = "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";

// The child is killed and waited for by its owner (Drop, or the test itself).
#[allow(clippy::zombie_processes)]
fn start(data: &Path, log: &Path, listen: &str) -> (Child, String) {
    let file = std::fs::File::create(log).unwrap();
    let mut child = Command::new(BIN)
        .args(["-v", "serve", "--listen", listen, "--data-dir"])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .find_map(|l| l.strip_prefix("customs serve: listening on "))
        {
            return (child, addr.trim().to_string());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("customs serve did not start: {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_mid_upload_loses_nothing_committed_shows_no_partial_blob_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, addr) = start(&data, &dir.path().join("one.log"), "127.0.0.1:0");
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci-archive:{SHARED}/images/app-multi.oci.tar"),
        &format!("docker://{addr}/fault/app:v1"),
    ]);
    assert!(ok, "{text}");

    // A big blob: 8 MiB announced, 3 MiB sent, then the server is killed.
    let blob: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&blob)));
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!("http://{addr}/v2/fault/big/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        blob.len()
    )
    .unwrap();
    stream.write_all(&blob[..3 * 1024 * 1024]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(stream);

    let (mut child, addr) = start(&data, &dir.path().join("two.log"), &addr);
    // What was committed is all there, digest for digest.
    let (ok, text) = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{addr}/fault/app:v1"),
    ]);
    assert!(ok, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["Digest"], APP);
    let out = tempfile::tempdir().unwrap();
    let (ok, text) = skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{addr}/fault/app:v1"),
        &format!("oci:{}:v1", out.path().join("app").display()),
    ]);
    assert!(ok, "pulling every blob back after kill -9: {text}");
    // The partial blob is not visible.
    let r = http
        .head(format!("http://{addr}/v2/fault/big/blobs/{digest}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
    // The upload resumes from where the server says it stands.
    let r = http.get(format!("http://{addr}{location}")).send().unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let range = r.headers()["Range"].to_str().unwrap().to_string();
    let end: usize = range.strip_prefix("0-").unwrap().parse().unwrap();
    let offset = if end == 0 { 0 } else { end + 1 };
    assert!(offset <= 3 * 1024 * 1024, "{range}");
    let r = http
        .put(format!("http://{addr}{location}?digest={digest}"))
        .header("Content-Range", format!("{offset}-{}", blob.len() - 1))
        .body(blob[offset..].to_vec())
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    let got = http
        .get(format!("http://{addr}/v2/fault/big/blobs/{digest}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(got.len(), blob.len());
    assert!(got.as_ref() == blob.as_slice());
    child.kill().unwrap();
    child.wait().unwrap();
}
