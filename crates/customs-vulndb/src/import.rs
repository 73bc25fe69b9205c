//! Containers the source readers do not open themselves, unwrapped for `db import` and
//! `db update`: a CVE List V5 release bundle is a zip holding one zip (`cves.zip`) of
//! `cves/<year>/<NN>xxx/CVE-*.json` records (CVEProject/cvelistV5 publishes
//! `<date>_all_CVEs_at_midnight.zip.zip` daily, and hourly deltas as plain zips of records).
//! Each inner zip is copied out, streamed, to a scratch directory and read as one more source;
//! its records are told from OSV by their content (`cveMetadata`) as everywhere else. Only one
//! level is unwrapped: a zip inside an inner zip is not read.

use crate::error::{Error, Result};
use crate::source::{Source, SourceKind};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest inner zip copied out of a bundle (the whole CVE List is about 500 MB zipped).
const MAX_INNER: u64 = 8 << 30;

/// The local zip file a source reads, if it reads one.
fn local_zip(source: &Source) -> Option<PathBuf> {
    if source.kind != SourceKind::Osv || source.location.contains("://") {
        return None;
    }
    let p = PathBuf::from(&source.location);
    let mut magic = [0u8; 4];
    let n = std::fs::File::open(&p)
        .and_then(|mut f| f.read(&mut magic))
        .ok()?;
    (n == 4 && &magic == b"PK\x03\x04").then_some(p)
}

/// What a bundle holds, as far as unwrapping is concerned.
struct Contents {
    /// Indexes of `.zip` entries.
    inner: Vec<usize>,
    /// The bundle also holds `.json` entries of its own.
    has_json: bool,
}

fn contents(archive: &mut zip::ZipArchive<std::fs::File>, origin: &str) -> Result<Contents> {
    let mut out = Contents {
        inner: Vec::new(),
        has_json: false,
    };
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| Error::source(origin, format!("zip entry {i}: {e}")))?;
        let name = entry.name().to_ascii_lowercase();
        if entry.is_dir() {
            continue;
        }
        if name.ends_with(".zip") {
            out.inner.push(i);
        } else if name.ends_with(".json") {
            out.has_json = true;
        }
    }
    Ok(out)
}

/// Replaces every source that is a zip of zips (a CVE List V5 release bundle) by its inner
/// zips, copied into `scratch` (which must outlive the build); the bundle itself is kept too
/// when it also holds JSON records. Other sources pass through unchanged, in order.
pub fn unwrap_bundles(sources: Vec<Source>, scratch: &Path) -> Result<Vec<Source>> {
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let Some(path) = local_zip(&source) else {
            out.push(source);
            continue;
        };
        let origin = source
            .label
            .clone()
            .unwrap_or_else(|| source.location.clone());
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| Error::source(&origin, format!("not a readable zip: {e}")))?;
        let found = contents(&mut archive, &origin)?;
        if found.inner.is_empty() {
            out.push(source);
            continue;
        }
        std::fs::create_dir_all(scratch).map_err(|e| Error::io(scratch, e))?;
        let keep_outer = found.has_json;
        for i in found.inner {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| Error::source(&origin, format!("zip entry {i}: {e}")))?;
            let name = entry.name().to_string();
            let dest = scratch.join(format!("{}-{i}.zip", out.len()));
            let mut f = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
            let copied = std::io::copy(&mut (&mut entry).take(MAX_INNER + 1), &mut f)
                .map_err(|e| Error::source(&origin, format!("{name}: {e}")))?;
            if copied > MAX_INNER {
                return Err(Error::source(
                    &origin,
                    format!("{name} inflates to more than {MAX_INNER} bytes"),
                ));
            }
            drop(f);
            let inner = std::fs::File::open(&dest).map_err(|e| Error::io(&dest, e))?;
            zip::ZipArchive::new(inner).map_err(|e| {
                Error::source(&origin, format!("{name} is not a readable zip: {e}"))
            })?;
            let mut s = Source::osv(dest.to_string_lossy());
            s.label = Some(format!("{origin}!{name}"));
            s.etag = source.etag.clone();
            out.push(s);
        }
        if keep_outer {
            out.push(source);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, body) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_of_zips_becomes_its_inner_zips_and_others_pass() {
        let dir = tempfile::tempdir().unwrap();
        let inner = zip_of(&[("cves/2024/1xxx/CVE-2024-1000.json", b"{}")]);
        let bundle = dir.path().join("bundle.zip.zip");
        std::fs::write(&bundle, zip_of(&[("cves.zip", &inner)])).unwrap();
        let plain = dir.path().join("plain.zip");
        std::fs::write(&plain, &inner).unwrap();
        let mixed = dir.path().join("mixed.zip");
        std::fs::write(&mixed, zip_of(&[("a.json", b"{}"), ("b.zip", &inner)])).unwrap();
        let scratch = dir.path().join("scratch");
        let out = unwrap_bundles(
            vec![
                Source::osv(bundle.to_string_lossy()),
                Source::osv(plain.to_string_lossy()),
                Source::epss("x.csv"),
                Source::osv(mixed.to_string_lossy()),
            ],
            &scratch,
        )
        .unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(std::fs::read(&out[0].location).unwrap(), inner);
        assert!(out[0]
            .label
            .as_deref()
            .unwrap()
            .ends_with("bundle.zip.zip!cves.zip"));
        assert_eq!(out[1].location, plain.to_string_lossy());
        assert_eq!(out[2].kind, SourceKind::Epss);
        assert!(out[3]
            .label
            .as_deref()
            .unwrap()
            .ends_with("mixed.zip!b.zip"));
        assert_eq!(
            out[4].location,
            mixed.to_string_lossy(),
            "JSON beside the inner zip"
        );
    }

    #[test]
    fn a_broken_inner_zip_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.zip.zip");
        std::fs::write(&bundle, zip_of(&[("cves.zip", b"PK\x03\x04 not really")])).unwrap();
        let err = unwrap_bundles(vec![Source::osv(bundle.to_string_lossy())], dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cves.zip is not a readable zip"), "{err}");
    }
}
