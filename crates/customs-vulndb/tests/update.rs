//! `update`: downloads from a `file://` mirror and from a real HTTP server on loopback,
//! ETag revalidation, and interrupted downloads that must leave the old database working.

mod common;

use customs_vulndb::{update_with, Database, Error, UpdateEvent, UpdateOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn opts(mirror: String, ecosystems: &[&str]) -> UpdateOptions {
    UpdateOptions {
        mirror: Some(mirror),
        ecosystems: ecosystems.iter().map(|s| s.to_string()).collect(),
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

#[test]
fn file_mirror_update_builds_and_reports_missing_ecosystems() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("vuln.db");
    let mut events = Vec::new();
    let mirror = file_url(&common::vulndata().join("osv"));
    let report = update_with(
        &opts(mirror, &["crates.io", "Go", "Debian"]),
        &dest,
        &mut |e| events.push(e.clone()),
    )
    .unwrap();
    assert_eq!(
        report.downloaded,
        vec!["crates.io".to_string(), "Go".to_string()]
    );
    assert_eq!(report.missing, vec!["Debian".to_string()]);
    assert!(events.contains(&UpdateEvent::Missing {
        ecosystem: "Debian".into()
    }));
    assert_eq!(events.last(), Some(&UpdateEvent::Done));
    let db = Database::open(&dest).unwrap();
    assert_eq!(db.metadata().records, 1206 + 4291);
    assert!(db.metadata().sources[0]
        .location
        .ends_with("/crates.io/all.zip"));
}

#[test]
fn truncated_zip_on_a_mirror_fails_and_keeps_the_old_database() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("vuln.db");
    let good_mirror = file_url(&common::vulndata().join("osv"));
    update_with(&opts(good_mirror, &["crates.io"]), &dest, &mut |_| {}).unwrap();
    let before = std::fs::read(&dest).unwrap();

    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("crates.io")).unwrap();
    let zip = std::fs::read(common::vulndata().join("osv/crates.io/all.zip")).unwrap();
    std::fs::write(mirror.join("crates.io/all.zip"), &zip[..zip.len() / 2]).unwrap();
    let err =
        update_with(&opts(file_url(&mirror), &["crates.io"]), &dest, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err}");

    assert_eq!(std::fs::read(&dest).unwrap(), before);
    let db = Database::open(&dest).unwrap();
    assert!(!db
        .lookup("crates.io", "matrix-sdk-base")
        .unwrap()
        .is_empty());
}

/// How the loopback server answers the next request.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 200 with the body and an ETag; 304 when the request carries that ETag.
    Serve,
    /// Promise the whole body, send half, close the connection.
    Drop,
}

/// A one-file HTTP/1.1 server on 127.0.0.1 that answers at most `max` connections, each
/// within the test's lifetime. Returns its base URL and the request headers it saw.
fn serve(body: Vec<u8>, mode: Arc<Mutex<Mode>>, max: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .ok();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                headers.push_str(&line);
            }
            seen2.lock().unwrap().push(headers.clone());
            let etag = "\"v1\"";
            let m = *mode.lock().unwrap();
            if headers
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("if-none-match:") && l.contains(etag))
            {
                let _ = stream.write_all(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
                continue;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let n = if m == Mode::Drop {
                body.len() / 2
            } else {
                body.len()
            };
            let _ = stream.write_all(&body[..n]);
            let _ = stream.flush();
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn http_update_uses_etags_and_survives_a_dropped_connection() {
    let zip = std::fs::read(common::vulndata().join("osv/crates.io/all.zip")).unwrap();
    let mode = Arc::new(Mutex::new(Mode::Serve));
    let (base, seen) = serve(zip, mode.clone(), 3);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("vuln.db");

    let first = update_with(&opts(base.clone(), &["crates.io"]), &dest, &mut |_| {}).unwrap();
    assert_eq!(first.downloaded, vec!["crates.io".to_string()]);
    let db = Database::open(&dest).unwrap();
    assert_eq!(db.metadata().sources[0].etag.as_deref(), Some("\"v1\""));
    let before = std::fs::read(&dest).unwrap();
    drop(db);

    // Second run: the server answers 304 to the stored ETag; the cached export is reused.
    let second = update_with(&opts(base.clone(), &["crates.io"]), &dest, &mut |_| {}).unwrap();
    assert_eq!(second.not_modified, vec!["crates.io".to_string()]);
    assert!(seen.lock().unwrap()[1]
        .to_ascii_lowercase()
        .contains("if-none-match: \"v1\""));
    assert_eq!(std::fs::read(&dest).unwrap(), before);

    // Third run: remove the cached ETag so a full download happens, and drop it halfway.
    std::fs::remove_file(customs_vulndb::update::cache_dir(&dest).join("crates.io.etag")).unwrap();
    *mode.lock().unwrap() = Mode::Drop;
    let err = update_with(&opts(base, &["crates.io"]), &dest, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), before);
    assert!(!Database::open(&dest)
        .unwrap()
        .lookup("crates.io", "deno")
        .unwrap()
        .is_empty());
}

#[test]
fn plain_http_off_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = update_with(
        &opts("http://example.invalid".into(), &["Go"]),
        &dir.path().join("v.db"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
}

#[test]
fn an_update_from_a_mirror_that_publishes_nothing_keeps_the_old_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("customs.db");
    std::fs::write(&db_path, b"previous database bytes").unwrap();
    let empty_mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&empty_mirror).unwrap();
    let url = format!("file://{}", empty_mirror.display());
    let err = customs_vulndb::update(Some(&url), &db_path, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("publishes none"), "{err}");
    assert_eq!(std::fs::read(&db_path).unwrap(), b"previous database bytes");
}
