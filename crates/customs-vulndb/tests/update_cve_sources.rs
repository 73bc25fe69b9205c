//! The CVE severity sources of `db update` and `db import` (issue 10): NVD's CVE API 2.0
//! fetched incrementally from a loopback server that checks every query parameter the way
//! NVD documents them (both `lastMod*Date`s, at most 120 days apart, `startIndex` and
//! `resultsPerPage` paging), serving the real NVD records of `../shared/ratings/nvd`; and the
//! CVE List V5 release bundle (a zip of `cves.zip`) built from the real records of
//! `../shared/ratings/cve5`, imported and mirrored.

mod common;

use customs_vulndb::{update_with, Database, Source, UpdateOptions};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ratings() -> PathBuf {
    common::vulndata().join("../ratings")
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// A mirror with one advisory export, so an update has advisories to build.
fn advisory_mirror(root: &Path) {
    std::fs::create_dir_all(root.join("crates.io")).unwrap();
    std::fs::copy(
        common::vulndata().join("osv/crates.io/all.zip"),
        root.join("crates.io/all.zip"),
    )
    .unwrap();
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Asked {
    start: jiff::Timestamp,
    end: jiff::Timestamp,
    index: usize,
    size: usize,
}

#[derive(Default)]
struct Nvd {
    /// The records served, NVD `cve` objects.
    records: Vec<Value>,
    asked: Vec<Asked>,
    /// Broken rules, reported back to the test.
    violations: Vec<String>,
    /// Answer the next request with this status instead.
    fail_next: Option<u16>,
    /// An `apiKey` header was seen.
    saw_key: Option<String>,
}

/// NVD's date-time form, as the API documents it: `2021-08-04T13:00:00.000-05:00`.
fn parse_nvd_time(s: &str) -> Option<jiff::Timestamp> {
    let (_, rest) = s.split_once('T')?;
    let ms = rest.get(8..12)?;
    if !(ms.starts_with('.') && ms[1..].bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    s.parse::<jiff::Timestamp>().ok()
}

/// A record's `lastModified` (NVD writes UTC without a zone).
fn last_modified(rec: &Value) -> jiff::Timestamp {
    format!("{}Z", rec["lastModified"].as_str().unwrap())
        .parse()
        .unwrap()
}

fn answer(state: &Mutex<Nvd>, target: &str, key: Option<String>) -> (u16, Vec<u8>) {
    let mut s = state.lock().unwrap();
    if key.is_some() {
        s.saw_key = key;
    }
    if let Some(code) = s.fail_next.take() {
        return (code, b"{}".to_vec());
    }
    let Some((path, query)) = target.split_once('?') else {
        s.violations.push(format!("no query: {target}"));
        return (400, Vec::new());
    };
    if path != "/rest/json/cves/2.0" {
        s.violations.push(format!("path {path}"));
    }
    let params: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let (start, end) = match (
        parse_nvd_time(&get("lastModStartDate")),
        parse_nvd_time(&get("lastModEndDate")),
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            s.violations.push(format!(
                "lastModStartDate and lastModEndDate both required: {query}"
            ));
            return (400, Vec::new());
        }
    };
    if end <= start || end.as_second() - start.as_second() > 120 * 86_400 {
        s.violations.push(format!("window {start}..{end}"));
        return (400, Vec::new());
    }
    let (Ok(index), Ok(size)) = (
        get("startIndex").parse::<usize>(),
        get("resultsPerPage").parse::<usize>(),
    ) else {
        s.violations
            .push(format!("startIndex/resultsPerPage: {query}"));
        return (400, Vec::new());
    };
    if size == 0 || size > 2000 {
        s.violations.push(format!("resultsPerPage {size}"));
    }
    s.asked.push(Asked {
        start,
        end,
        index,
        size,
    });
    let mut hits: Vec<&Value> = s
        .records
        .iter()
        .filter(|r| (start..=end).contains(&last_modified(r)))
        .collect();
    hits.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    let page: Vec<Value> = hits
        .iter()
        .skip(index)
        .take(size)
        .map(|r| json!({ "cve": r }))
        .collect();
    let body = json!({
        "resultsPerPage": page.len(),
        "startIndex": index,
        "totalResults": hits.len(),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-12-04T00:00:00.000",
        "vulnerabilities": page,
    });
    (200, body.to_string().into_bytes())
}

/// Serves the NVD API on loopback until the test ends.
fn serve(state: Arc<Mutex<Nvd>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut key = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.trim().eq_ignore_ascii_case("apikey") {
                        key = Some(v.trim().to_string());
                    }
                }
            }
            let (code, body) = answer(&state, &target, key);
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/rest/json/cves/2.0")
}

fn real_nvd_records() -> Vec<Value> {
    let mut out: Vec<Value> = std::fs::read_dir(ratings().join("nvd"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    out.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    out
}

fn nvd_vectors(db: &Database, cve: &str) -> Vec<String> {
    db.facts(cve)
        .unwrap()
        .map(|f| {
            f.ratings
                .into_iter()
                .filter(|r| r.source == "nvd")
                .filter_map(|r| r.vector)
                .collect()
        })
        .unwrap_or_default()
}

/// Now, in NVD's format, on a whole second: an update run now ends its window on a whole
/// second, so "now" to the millisecond could fall just after it.
fn now_nvd() -> String {
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    now.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

#[test]
fn nvd_api_is_fetched_incrementally_in_windows_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    advisory_mirror(&mirror);
    let dest = dir.path().join("vuln.db");
    let mut all = real_nvd_records();
    let held_back = all.remove(
        all.iter()
            .position(|r| r["id"] == "CVE-2019-14697")
            .unwrap(),
    );
    let state = Arc::new(Mutex::new(Nvd {
        records: all.clone(),
        ..Nvd::default()
    }));
    let api = serve(state.clone());
    let since: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    let opts = UpdateOptions {
        mirror: Some(file_url(&mirror)),
        ecosystems: vec!["crates.io".into()],
        nvd_api: Some(api.clone()),
        nvd_api_key: Some("test-key-123".into()),
        nvd_delay: Duration::ZERO,
        nvd_page_size: 3,
        nvd_since: Some(since),
        ..UpdateOptions::default()
    };

    // First fetch: from --nvd-since to now, cut into windows of at most 120 days.
    let before = jiff::Timestamp::now();
    let report = update_with(&opts, &dest, &mut |_| {}).unwrap();
    let nvd = report.nvd_api.clone().unwrap();
    let s = state.lock().unwrap();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(s.saw_key.as_deref(), Some("test-key-123"));
    assert!(!nvd.resumed);
    assert_eq!(s.asked[0].start, since);
    let mut windows: Vec<(jiff::Timestamp, jiff::Timestamp)> = Vec::new();
    for a in &s.asked {
        if windows.last() != Some(&(a.start, a.end)) {
            assert_eq!(a.index, 0, "each window is paged from 0");
            if let Some(prev) = windows.last() {
                assert_eq!(prev.1, a.start, "windows follow each other");
            }
            windows.push((a.start, a.end));
        } else {
            assert_eq!(a.size, 3);
        }
    }
    let days = (before.as_second() - since.as_second()) / 86_400;
    assert_eq!(windows.len() as i64, days / 120 + 1, "{windows:?}");
    assert_eq!(nvd.windows, windows.len());
    assert!((windows.last().unwrap().1.as_second() - before.as_second()).abs() < 60);
    // Every record once, over pages of three.
    assert_eq!(nvd.records, all.len());
    assert!(
        nvd.pages > windows.len(),
        "some window needed more than one page"
    );
    drop(s);
    let db = Database::open(&dest).unwrap();
    let urllib3 = all.iter().find(|r| r["id"] == "CVE-2021-33503").unwrap();
    let expected = urllib3["metrics"]["cvssMetricV31"][0]["cvssData"]["vectorString"]
        .as_str()
        .unwrap();
    // The record's v3.1 vector is there (its v2 vector is kept beside it).
    assert!(
        nvd_vectors(&db, "CVE-2021-33503").contains(&expected.to_string()),
        "{:?}",
        nvd_vectors(&db, "CVE-2021-33503")
    );
    assert!(nvd_vectors(&db, "CVE-2019-14697").is_empty(), "held back");
    let source = db
        .metadata()
        .sources
        .iter()
        .find(|s| s.location == api)
        .expect("the NVD API source in the metadata");
    let first_end = source.etag.clone().unwrap();
    assert!(first_end.starts_with("lastModEndDate="), "{first_end}");
    drop(db);

    // NVD modifies one record and adds one: the next update asks only from the recorded
    // end, and the newer copy replaces the older.
    {
        let mut s = state.lock().unwrap();
        s.asked.clear();
        let i = all
            .iter()
            .position(|r| r["id"] == "CVE-2021-33503")
            .unwrap();
        let mut changed = all[i].clone();
        changed["lastModified"] = json!(now_nvd());
        changed["metrics"]["cvssMetricV31"][0]["cvssData"]["vectorString"] =
            json!("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L");
        s.records[i] = changed;
        let mut added = held_back.clone();
        added["lastModified"] = json!(now_nvd());
        s.records.push(added);
    }
    std::thread::sleep(Duration::from_millis(1100));
    let report = update_with(&opts, &dest, &mut |_| {}).unwrap();
    let nvd = report.nvd_api.unwrap();
    assert!(nvd.resumed);
    {
        let s = state.lock().unwrap();
        assert!(s.violations.is_empty(), "{:?}", s.violations);
        let recorded: jiff::Timestamp = first_end
            .strip_prefix("lastModEndDate=")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            s.asked[0].start, recorded,
            "resumed where the last fetch ended"
        );
        assert_eq!(s.asked.len(), 1);
    }
    assert_eq!(nvd.records, 2);
    let db = Database::open(&dest).unwrap();
    let now_vectors = nvd_vectors(&db, "CVE-2021-33503");
    assert!(
        now_vectors.contains(&"CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L".to_string())
            && !now_vectors.contains(&expected.to_string()),
        "the newer record replaced the older: {now_vectors:?}"
    );
    assert!(!nvd_vectors(&db, "CVE-2019-14697").is_empty());
    let second_end = db
        .metadata()
        .sources
        .iter()
        .find(|s| s.location == api)
        .and_then(|s| s.etag.clone())
        .unwrap();
    assert_ne!(second_end, first_end);
    drop(db);

    // A failed fetch replaces nothing and advances nothing.
    let bytes = std::fs::read(&dest).unwrap();
    state.lock().unwrap().fail_next = Some(500);
    std::thread::sleep(Duration::from_millis(1100));
    let err = update_with(&opts, &dest, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("500"), "{err}");
    assert!(!err.contains("test-key-123"), "the key never shows: {err}");
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    state.lock().unwrap().asked.clear();
    update_with(&opts, &dest, &mut |_| {}).unwrap();
    let s = state.lock().unwrap();
    let recorded: jiff::Timestamp = second_end
        .strip_prefix("lastModEndDate=")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(s.asked[0].start, recorded);
}

#[test]
fn an_nvd_record_with_a_bad_id_fails_the_update() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    advisory_mirror(&mirror);
    let mut rec = real_nvd_records().remove(0);
    rec["id"] = json!("../../CVE-2019-14697");
    rec["lastModified"] = json!(now_nvd());
    let state = Arc::new(Mutex::new(Nvd {
        records: vec![rec],
        ..Nvd::default()
    }));
    let opts = UpdateOptions {
        mirror: Some(file_url(&mirror)),
        ecosystems: vec!["crates.io".into()],
        nvd_api: Some(serve(state)),
        nvd_delay: Duration::ZERO,
        ..UpdateOptions::default()
    };
    let dest = dir.path().join("vuln.db");
    let err = update_with(&opts, &dest, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a CVE id"), "{err}");
    assert!(!dest.exists());
}

/// The CVE List V5 release layout: `cves/<year>/<NN>xxx/CVE-<year>-<n>.json` in `cves.zip`,
/// inside the bundle.
fn cve5_bundle(path: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(ratings().join("cve5"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for p in files {
        let id = p.file_stem().unwrap().to_str().unwrap().to_string();
        let mut parts = id.split('-').skip(1);
        let (year, n) = (parts.next().unwrap(), parts.next().unwrap());
        let bucket = format!("{}xxx", &n[..n.len() - 3]);
        inner
            .start_file(format!("cves/{year}/{bucket}/{id}.json"), opts)
            .unwrap();
        let mut body = Vec::new();
        std::fs::File::open(&p)
            .unwrap()
            .read_to_end(&mut body)
            .unwrap();
        inner.write_all(&body).unwrap();
        ids.push(id);
    }
    let inner = inner.finish().unwrap().into_inner();
    let mut outer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    outer.start_file("cves.zip", opts).unwrap();
    outer.write_all(&inner).unwrap();
    outer.finish().unwrap();
    ids
}

#[test]
fn a_cve5_release_bundle_reads_as_its_records_in_import_and_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("2026-12-04_all_CVEs_at_midnight.zip.zip");
    let ids = cve5_bundle(&bundle);
    assert!(ids.len() > 20);

    // The records as loose files: what the bundle must match.
    let loose = dir.path().join("loose.db");
    customs_vulndb::build(
        &Source::discover(&ratings().join("cve5")).unwrap(),
        &loose,
        None,
    )
    .unwrap();
    let loose = Database::open(&loose).unwrap();
    let rated = ids
        .iter()
        .filter(|id| {
            loose
                .facts(id)
                .unwrap()
                .is_some_and(|f| !f.ratings.is_empty())
        })
        .count();
    assert!(rated > 0, "{rated} rated");

    // `db import` of the bundle.
    let scratch = dir.path().join("scratch");
    let sources =
        customs_vulndb::import::unwrap_bundles(Source::discover(&bundle).unwrap(), &scratch)
            .unwrap();
    let imported = dir.path().join("imported.db");
    customs_vulndb::build(&sources, &imported, None).unwrap();
    let imported = Database::open(&imported).unwrap();
    // Without unwrapping, the bundle holds no record a reader opens.
    let flat = dir.path().join("flat.db");
    customs_vulndb::build(&Source::discover(&bundle).unwrap(), &flat, None).unwrap();
    assert_eq!(Database::open(&flat).unwrap().metadata().rated_cves, 0);

    // `db update --mirror` with the bundle in the documented place.
    let mirror = dir.path().join("mirror");
    advisory_mirror(&mirror);
    std::fs::create_dir_all(mirror.join("cve5")).unwrap();
    std::fs::copy(&bundle, mirror.join("cve5/all_CVEs_at_midnight.zip.zip")).unwrap();
    let dest = dir.path().join("updated.db");
    let opts = UpdateOptions {
        mirror: Some(file_url(&mirror)),
        ecosystems: vec!["crates.io".into()],
        ..UpdateOptions::default()
    };
    let report = update_with(&opts, &dest, &mut |_| {}).unwrap();
    assert!(
        report.downloaded.contains(&"cve5".to_string()),
        "{report:?}"
    );
    assert!(
        report.nvd_api.is_none(),
        "no NVD API with a mirror unless asked"
    );
    let updated = Database::open(&dest).unwrap();

    for id in &ids {
        let want = loose.facts(id).unwrap();
        assert_eq!(imported.facts(id).unwrap(), want, "{id} imported");
        let got = updated.facts(id).unwrap();
        assert_eq!(
            got.map(|f| f.ratings),
            want.map(|f| f.ratings),
            "{id} via the mirror"
        );
    }
    assert_eq!(imported.metadata().rated_cves, loose.metadata().rated_cves);
    // The scratch copy is gone once the update is done.
    let cache = customs_vulndb::update::cache_dir(&dest);
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".unwrap-"))
        .collect();
    assert!(leftovers.is_empty());

    // A bundle whose inner zip is cut short fails the update and keeps the database.
    let bytes = std::fs::read(&dest).unwrap();
    let full = std::fs::read(&bundle).unwrap();
    std::fs::write(
        mirror.join("cve5/all_CVEs_at_midnight.zip.zip"),
        &full[..full.len() / 2],
    )
    .unwrap();
    assert!(update_with(&opts, &dest, &mut |_| {}).is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}
