//! Faults: `kill -9` of `customs serve` in the middle of a push loses nothing committed,
//! leaves no visible partial blob, and the interrupted upload resumes after a restart from
//! the offset the server reports, ending with a verified blob. A full data directory (a 2 MiB
//! tmpfs) answers a clean 5xx, shows no partial blob, and the same request succeeds once
//! space is freed.

use std::ffi::OsStr;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use customs_testkit::registry::skopeo_status as skopeo;
use sha2::{Digest, Sha256};

mod common;
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const APP: &str = "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";

/// `customs -v serve --listen LISTEN --data-dir DATA`, its log in `log`. The caller kills and
/// waits for the child (the tests kill it on purpose).
fn start(data: &Path, log: &Path, listen: &str) -> (Child, String) {
    let args: [&OsStr; 6] = [
        "-v".as_ref(),
        "serve".as_ref(),
        "--listen".as_ref(),
        listen.as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ];
    common::spawn_serve(args, log)
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
    let blob: Vec<u8> = noise(8 * 1024 * 1024u32, 13);
    let digest = sha256(&blob);
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
    let got = download(&http, &addr, "fault/big", &digest);
    assert_eq!(got.len(), blob.len());
    assert!(got == blob);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A tmpfs mounted on a temporary directory, unmounted (lazily, should a process still hold
/// it) when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=`), or says why it cannot.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `path` with `path` until a write fails, then gives back
/// `keep` bytes (room for the metadata database), so that a larger write fails.
fn fill(path: &Path, keep: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 16 * 1024];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n as u64,
        }
    }
    let _ = f.flush();
    f.set_len(len.saturating_sub(keep)).unwrap();
}

#[test]
fn a_full_data_dir_is_a_clean_5xx_with_no_partial_blob_and_the_retry_succeeds() {
    let tmpfs = match Tmpfs::mount("2m") {
        Ok(t) => t,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let data = tmpfs.path().join("data");
    let logs = tempfile::tempdir().unwrap();
    let (child, addr) = start(&data, &logs.path().join("serve.log"), "127.0.0.1:0");
    // Dropped before the tmpfs, so the unmount finds no process in it.
    let child = Killed(child);
    // No connection reuse: a refused upload's connection may be closed by the server.
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    // Something committed before the disk fills.
    let small = b"a small layer pushed while there was room".to_vec();
    let small_digest = sha256(&small);
    let r = http
        .post(format!(
            "http://{addr}/v2/full/app/blobs/uploads/?digest={small_digest}"
        ))
        .body(small.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);

    let filler = tmpfs.path().join("filler");
    fill(&filler, 256 * 1024);
    let blob: Vec<u8> = noise(1024 * 1024u32, 11);
    let digest = sha256(&blob);
    let hex = digest.trim_start_matches("sha256:").to_string();
    let no_partial_blob = |what: &str| {
        let r = http
            .head(format!("http://{addr}/v2/full/app/blobs/{digest}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND, "{what}");
        assert!(
            !data.join("blobs/sha256").join(&hex).exists(),
            "{what}: a blob file is in place"
        );
    };

    // Monolithic: a clean 5xx with an OCI error body, and nothing visible.
    let r = http
        .post(format!(
            "http://{addr}/v2/full/app/blobs/uploads/?digest={digest}"
        ))
        .body(blob.clone())
        .send()
        .unwrap();
    assert!(r.status().is_server_error(), "{}", r.status());
    let v: serde_json::Value = r.json().unwrap();
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("can be retried"),
        "{v}"
    );
    assert!(
        !v.to_string().contains(tmpfs.path().to_str().unwrap()),
        "no path leaks to the client: {v}"
    );
    no_partial_blob("after the monolithic push");

    // A session's PUT: a 5xx too, and the session stays where it was (nothing of the failed
    // body kept), so the same PUT can be sent again.
    let r = http
        .post(format!("http://{addr}/v2/full/app/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let location = r.headers()["Location"].to_str().unwrap().to_string();
    let put = || {
        http.put(format!("http://{addr}{location}?digest={digest}"))
            .body(blob.clone())
            .send()
            .unwrap()
    };
    let r = put();
    assert!(r.status().is_server_error(), "{}", r.status());
    no_partial_blob("after the session PUT");
    let r = http.get(format!("http://{addr}{location}")).send().unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["Range"], "0-0");
    let id = location.rsplit('/').next().unwrap();
    let kept = std::fs::metadata(data.join("uploads").join(id)).map_or(0, |m| m.len());
    assert_eq!(kept, 0, "the failed body was dropped");
    // What was committed before is intact, and the server still answers.
    let got = download(&http, &addr, "full/app", &small_digest);
    assert_eq!(got, small);
    assert_eq!(
        http.get(format!("http://{addr}/readyz"))
            .send()
            .unwrap()
            .status(),
        reqwest::StatusCode::OK
    );

    // Space frees: the same PUT succeeds, and the blob reads back verified.
    std::fs::remove_file(&filler).unwrap();
    let r = put();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    let got = download(&http, &addr, "full/app", &digest);
    assert_eq!(sha256(&got), digest);
    // The monolithic form works again too.
    // (A small one: the 2 MiB file system now holds the 1 MiB blob.)
    let again: Vec<u8> = blob[..128 * 1024].iter().map(|b| b ^ 0xff).collect();
    let again_digest = sha256(&again);
    let r = http
        .post(format!(
            "http://{addr}/v2/full/app/blobs/uploads/?digest={again_digest}"
        ))
        .body(again)
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    drop(child);
}

/// `len` bytes that do not compress (a multiplicative hash of each index, shifted by
/// `shift`), so sizes on the wire and on disk are what the test says.
fn noise(len: u32, shift: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> shift) as u8)
        .collect()
}

/// A blob's bytes, downloaded from the server.
fn download(http: &reqwest::blocking::Client, addr: &str, repo: &str, digest: &str) -> Vec<u8> {
    http.get(format!("http://{addr}/v2/{repo}/blobs/{digest}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec()
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A child process killed and waited for when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Clients that hang up in the middle of a download (closing with unread data resets the
/// connection) cost only their own requests: the server does not die of SIGPIPE.
#[test]
fn clients_hanging_up_mid_download_do_not_stop_the_server() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        "127.0.0.1:0",
    );
    let mut child = Killed(child);
    // A blob far larger than the socket buffers, so the server is still writing when the
    // reset arrives.
    let blob: Vec<u8> = noise(16u32 << 20, 13);
    let digest = sha256(&blob);
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!(
            "http://{addr}/v2/hangup/big/blobs/uploads/?digest={digest}"
        ))
        .body(blob)
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    for _ in 0..20 {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET /v2/hangup/big/blobs/{digest} HTTP/1.1\r\nHost: {addr}\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 1024];
        let _ = s.read(&mut head).unwrap();
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the server died: {}",
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );
    // It still serves whole downloads, verified.
    let got = download(&http, &addr, "hangup/big", &digest);
    assert_eq!(sha256(&got), digest);
}

/// Clients that stall cannot hold connections: request headers that stop before their end,
/// and an upload body that stops arriving, are cut off after `idle_timeout_secs` (here 1 s).
/// The stalled upload gets 408 and can be finished afterwards; the server serves on.
#[test]
fn stalled_headers_and_bodies_are_cut_off_after_the_idle_timeout() {
    use std::io::Read;
    let serve = common::Serve::start(
        tempfile::tempdir().unwrap(),
        "-v",
        "idle_timeout_secs = 1\n",
    );
    let addr = serve.addr.clone();
    // Reads what the server sends until it closes, failing after 10 s.
    let until_closed = |s: &mut TcpStream| -> String {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let started = std::time::Instant::now();
        let r = s.read_to_end(&mut got);
        assert!(
            r.is_ok() && started.elapsed() < Duration::from_secs(5),
            "still open after {:?}: {r:?}",
            started.elapsed()
        );
        String::from_utf8_lossy(&got).into_owned()
    };

    // Headers that never end: the connection is closed.
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(slow, "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nX-Slow: 1\r\n").unwrap();
    until_closed(&mut slow);

    // A monolithic upload that promises 1 MiB and sends 1 KiB: 408, then closed.
    let blob = vec![7u8; 1 << 20];
    let digest = sha256(&blob);
    let mut stalled = TcpStream::connect(&addr).unwrap();
    write!(
        stalled,
        "POST /v2/stall/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
        blob.len()
    )
    .unwrap();
    stalled.write_all(&blob[..1024]).unwrap();
    let answer = until_closed(&mut stalled);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("stalled"), "{answer}");

    // The server serves on: the same blob uploads whole, and nothing partial is visible.
    let http = reqwest::blocking::Client::new();
    let head = http
        .head(format!("http://{addr}/v2/stall/app/blobs/{digest}"))
        .send()
        .unwrap();
    assert_eq!(head.status(), reqwest::StatusCode::NOT_FOUND);
    let r = http
        .post(format!(
            "http://{addr}/v2/stall/app/blobs/uploads/?digest={digest}"
        ))
        .body(blob)
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let log = serve.log();
    assert!(!log.contains("panicked"), "{log}");
}
