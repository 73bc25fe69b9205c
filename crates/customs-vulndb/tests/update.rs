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
        ..UpdateOptions::default()
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
    // This server answers every path with the zip: only the advisories are fetched here.
    let opts = |base: String, e: &[&str]| UpdateOptions {
        facts: false,
        ..opts(base, e)
    };

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

/// A mirror laid out as `update`'s module doc says, with real KEV, EPSS and NVD data from
/// `../shared/ratings` (the NVD records wrapped as a yearly API 2.0 feed, gzipped).
fn facts_mirror(root: &Path) {
    use std::io::Write;
    let ratings = common::vulndata().join("../ratings");
    std::fs::create_dir_all(root.join("crates.io")).unwrap();
    std::fs::copy(
        common::vulndata().join("osv/crates.io/all.zip"),
        root.join("crates.io/all.zip"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("kev")).unwrap();
    std::fs::copy(
        ratings.join("kev/known_exploited_vulnerabilities.json"),
        root.join("kev/known_exploited_vulnerabilities.json"),
    )
    .unwrap();
    let gz = |path: &Path, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    };
    std::fs::create_dir_all(root.join("epss")).unwrap();
    gz(
        &root.join("epss/epss_scores-current.csv.gz"),
        &std::fs::read(ratings.join("epss/emba-epss-subset.csv")).unwrap(),
    );
    std::fs::create_dir_all(root.join("nvd")).unwrap();
    let mut records = Vec::new();
    for entry in std::fs::read_dir(ratings.join("nvd")).unwrap() {
        let p = entry.unwrap().path();
        let cve: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        records.push(serde_json::json!({ "cve": cve }));
    }
    let feed =
        serde_json::json!({ "format": "NVD_CVE", "version": "2.0", "vulnerabilities": records });
    gz(
        &root.join("nvd/nvdcve-2.0-2025.json.gz"),
        feed.to_string().as_bytes(),
    );
}

#[test]
fn a_mirror_serves_kev_epss_and_nvd_beside_the_advisories() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    facts_mirror(&mirror);
    let dest = dir.path().join("vuln.db");
    let report = update_with(&opts(file_url(&mirror), &["crates.io"]), &dest, &mut |_| {}).unwrap();
    assert!(report.downloaded.contains(&"kev".to_string()));
    assert!(report.downloaded.contains(&"epss".to_string()));
    assert!(report.downloaded.contains(&"nvd-2025".to_string()));
    // Years the mirror does not publish are noted, not errors.
    assert!(report.facts_missing.contains(&"nvd-2002".to_string()));
    let db = Database::open(&dest).unwrap();
    let m = db.metadata();
    assert_eq!(m.kev, 1404, "the 2025-08-25 catalogue's count");
    assert!(m.epss >= 8000);
    // CVE-2025-68121: NVD's own 10.0 is in the feed.
    let facts = db.facts("CVE-2025-68121").unwrap().unwrap();
    assert!(facts
        .ratings
        .iter()
        .any(|r| r.source == "nvd" && r.score == Some(10.0)));
    let kev = db.facts("CVE-2023-44487").unwrap().unwrap().kev.unwrap();
    assert_eq!(kev.date_added, "2023-10-10");

    // A truncated KEV file on the mirror fails the update and keeps the database.
    let before = std::fs::read(&dest).unwrap();
    let kev_path = mirror.join("kev/known_exploited_vulnerabilities.json");
    let full = std::fs::read(&kev_path).unwrap();
    std::fs::write(&kev_path, &full[..full.len() / 3]).unwrap();
    let err =
        update_with(&opts(file_url(&mirror), &["crates.io"]), &dest, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("known_exploited"), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), before);
}
