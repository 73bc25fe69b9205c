//! Advisory sources named by the user (OSV directories, `all.zip` exports, secdb files) and
//! how each is read into keyed advisories. A malformed record is a warning; an unreadable
//! source is an error.
//!
//! Beside advisories, a source may hold what is known about CVEs (see [`crate::rating`]):
//! CVE List V5 records, NVD API 2.0 records and CISA's KEV catalogue are JSON files told
//! apart from OSV records by their content, wherever they sit; EPSS scores are `.csv` or
//! `.csv.gz` files.

use crate::error::{Error, Result};
use crate::fetch::{self, Location};
use crate::osv::{self, Keyed};
use crate::secdb;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Largest JSON entry read from a zip; bigger ones are skipped with a warning.
const MAX_ENTRY: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
/// What format a source is in.
pub enum SourceKind {
    /// OSV JSON: a directory of records, one record file, or an osv.dev `all.zip`.
    Osv,
    /// Alpine-style secdb, YAML or JSON.
    SecDb,
    /// FIRST EPSS scores, CSV (optionally gzipped).
    Epss,
    /// One JSON file of CVE facts (a CVE record, NVD records or an NVD feed, CISA's KEV),
    /// optionally gzipped.
    Facts,
}

/// One input of a database build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its format.
    pub kind: SourceKind,
    /// A path, a `file://` URL or an `https://` URL.
    pub location: String,
    /// secdb only: the ecosystem to file entries under, instead of the one the document
    /// implies.
    pub ecosystem: Option<String>,
    /// The ETag the data was downloaded with, recorded in the database metadata.
    pub etag: Option<String>,
    /// What the metadata calls this source (default: `location`), e.g. the URL a cached
    /// download came from.
    pub label: Option<String>,
}

impl Source {
    /// An OSV source at `location`.
    pub fn osv(location: impl Into<String>) -> Self {
        Source {
            kind: SourceKind::Osv,
            location: location.into(),
            ecosystem: None,
            etag: None,
            label: None,
        }
    }

    /// An EPSS CSV at `location`.
    pub fn epss(location: impl Into<String>) -> Self {
        Source {
            kind: SourceKind::Epss,
            location: location.into(),
            ecosystem: None,
            etag: None,
            label: None,
        }
    }

    /// A CVE facts file at `location`.
    pub fn facts(location: impl Into<String>) -> Self {
        Source {
            kind: SourceKind::Facts,
            location: location.into(),
            ecosystem: None,
            etag: None,
            label: None,
        }
    }

    /// A secdb document at `location`, filed under the ecosystem the document implies.
    pub fn secdb(location: impl Into<String>) -> Self {
        Source {
            kind: SourceKind::SecDb,
            location: location.into(),
            ecosystem: None,
            etag: None,
            label: None,
        }
    }

    /// Finds the sources under a local path: `.zip` files are OSV exports, `.yaml`/`.yml`
    /// files secdb documents, and `.json` files OSV records unless they look like secdb.
    /// A directory of OSV record files becomes one source. Sorted, so the same tree always
    /// gives the same list.
    pub fn discover(path: &Path) -> Result<Vec<Source>> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_file() {
            return Ok(vec![classify_file(path)?]);
        }
        let mut out = Vec::new();
        discover_dir(path, &mut out)?;
        Ok(out)
    }
}

fn classify_file(path: &Path) -> Result<Source> {
    let loc = path.to_string_lossy().into_owned();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if name.ends_with(".csv") || name.ends_with(".csv.gz") {
        return Ok(Source::epss(loc));
    }
    if name.ends_with(".json.gz") {
        return Ok(Source::facts(loc));
    }
    Ok(match ext.as_str() {
        "yaml" | "yml" => Source::secdb(loc),
        "json" if looks_like_secdb(path)? => Source::secdb(loc),
        _ => Source::osv(loc),
    })
}

fn looks_like_secdb(path: &Path) -> Result<bool> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&head);
    Ok(text.contains("\"secfixes\"")
        || (text.contains("\"packages\"") && !text.contains("\"affected\"")))
}

fn discover_dir(dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut has_osv_json = false;
    for p in entries {
        if p.is_dir() {
            discover_dir(&p, out)?;
            continue;
        }
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let lower = p.to_string_lossy().to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".csv.gz") {
            out.push(Source::epss(p.to_string_lossy()));
            continue;
        }
        if lower.ends_with(".json.gz") {
            out.push(Source::facts(p.to_string_lossy()));
            continue;
        }
        match ext.as_str() {
            "zip" | "yaml" | "yml" => out.push(classify_file(&p)?),
            "json" if looks_like_secdb(&p)? => out.push(Source::secdb(p.to_string_lossy())),
            "json" => has_osv_json = true,
            _ => {}
        }
    }
    if has_osv_json {
        out.push(Source::osv(dir.to_string_lossy()));
    }
    Ok(())
}

/// Summary of one source in the database metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The source's format.
    pub kind: SourceKind,
    /// The source's label, or its path or URL.
    pub location: String,
    /// Records (OSV) or package entries (secdb) read.
    pub records: usize,
    /// Malformed records skipped.
    pub skipped: usize,
    /// Withdrawn OSV records (dropped).
    pub withdrawn: usize,
    /// secdb issues listed as never affecting a package (version `0`).
    #[serde(default)]
    pub not_affected: usize,
    /// CVE fact documents read (CVE records, NVD records, KEV entries, EPSS rows).
    #[serde(default)]
    pub facts: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The ETag the source was downloaded with, if any.
    pub etag: Option<String>,
}

/// The advisories read from one source.
pub(crate) struct Loaded {
    /// Warnings past [`MAX_WARNINGS`], counted, not kept.
    pub dropped_warnings: usize,
    pub keyed: Vec<Keyed>,
    pub facts: crate::rating::Facts,
    pub info: SourceInfo,
    pub modified: Vec<String>,
}

pub(crate) fn load(source: &Source, warnings: &mut Vec<String>) -> Result<Loaded> {
    let mut loaded = Loaded {
        dropped_warnings: 0,
        keyed: Vec::new(),
        facts: Default::default(),
        info: SourceInfo {
            kind: source.kind,
            location: source
                .label
                .clone()
                .unwrap_or_else(|| source.location.clone()),
            records: 0,
            skipped: 0,
            withdrawn: 0,
            not_affected: 0,
            facts: 0,
            etag: source.etag.clone(),
        },
        modified: Vec::new(),
    };
    match source.kind {
        SourceKind::Epss => {
            let bytes = fetch::read_all(&source.location)?;
            let (facts, bad) = crate::rating::parse_epss(&bytes)
                .map_err(|e| Error::source(&source.location, e))?;
            if bad > 0 {
                warnings.push(format!(
                    "{}: {bad} malformed EPSS rows skipped",
                    source.location
                ));
            }
            loaded.info.facts = facts.len();
            loaded.info.skipped = bad;
            loaded.facts = facts;
        }
        SourceKind::Facts => {
            let bytes = fetch::read_all(&source.location)?;
            let json = gunzip_if_gzip(&bytes, MAX_INFLATED)
                .map_err(|e| Error::source(&source.location, e))?;
            add_json(&json, &source.location, &mut loaded, warnings);
        }
        SourceKind::SecDb => {
            let bytes = fetch::read_all(&source.location)?;
            let parsed = secdb::parse_document(
                &bytes,
                &source.location,
                source.ecosystem.as_deref(),
                warnings,
            )
            .map_err(|e| Error::source(&source.location, e))?;
            loaded.info.records = parsed.records;
            loaded.info.not_affected = parsed.not_affected;
            loaded.keyed = parsed.keyed;
        }
        SourceKind::Osv => match fetch::parse_location(&source.location)? {
            Location::Path(p) if p.is_dir() => load_dir(&p, &mut loaded, warnings)?,
            Location::Path(p) => {
                let file = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
                if is_zip(&p)? {
                    load_zip(file, &source.location, &mut loaded, warnings)?;
                } else {
                    let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
                    add_json(&bytes, &source.location, &mut loaded, warnings);
                }
            }
            Location::Http(_) => {
                let bytes = fetch::read_all(&source.location)?;
                if bytes.starts_with(b"PK") {
                    load_zip(
                        std::io::Cursor::new(bytes),
                        &source.location,
                        &mut loaded,
                        warnings,
                    )?;
                } else {
                    add_json(&bytes, &source.location, &mut loaded, warnings);
                }
            }
        },
    }
    Ok(loaded)
}

/// Most bytes a gzipped fact file may inflate to (NVD's largest yearly feed is ~400 MB).
pub(crate) const MAX_INFLATED: u64 = 2 << 30;

/// The bytes, gunzipped when they start with gzip's magic; more than `max` inflated bytes
/// is an error, never a silent cut.
pub(crate) fn gunzip_if_gzip(
    bytes: &[u8],
    max: u64,
) -> std::result::Result<std::borrow::Cow<'_, [u8]>, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.into());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() as u64 > max {
        return Err(format!("inflates to more than {max} bytes"));
    }
    Ok(out.into())
}

fn is_zip(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 2];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| Error::io(path, e))?;
    Ok(n == 2 && &magic == b"PK")
}

/// Keys only CVE, NVD and KEV documents have at their top level; an OSV record is parsed as
/// one without a second look unless one of these occurs in it at all.
const FACT_MARKERS: [&[u8]; 4] = [
    b"\"cveMetadata\"",
    b"\"catalogVersion\"",
    b"\"vulnStatus\"",
    b"\"sourceIdentifier\"",
];

/// Most warnings kept from one build; the rest are counted ([`Loaded::dropped_warnings`]),
/// so an export of a million malformed records cannot fill memory with messages.
pub(crate) const MAX_WARNINGS: usize = 1000;

fn add_json(bytes: &[u8], origin: &str, loaded: &mut Loaded, warnings: &mut Vec<String>) {
    if warnings.len() >= MAX_WARNINGS {
        let mut scratch = Vec::new();
        add_json_unbounded(bytes, origin, loaded, &mut scratch);
        loaded.dropped_warnings += scratch.len();
        return;
    }
    add_json_unbounded(bytes, origin, loaded, warnings);
    if warnings.len() > MAX_WARNINGS {
        loaded.dropped_warnings += warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
    }
}

fn add_json_unbounded(bytes: &[u8], origin: &str, loaded: &mut Loaded, warnings: &mut Vec<String>) {
    let maybe_facts = FACT_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(bytes, m).is_some());
    if let Some(kind) = maybe_facts
        .then(|| crate::rating::document_kind(bytes))
        .flatten()
    {
        match crate::rating::parse(kind, bytes) {
            Ok(facts) => {
                loaded.info.facts += facts.len();
                for (id, f) in facts {
                    loaded.facts.entry(id).or_default().merge(f);
                }
            }
            Err(e) => {
                loaded.info.skipped += 1;
                warnings.push(format!("{origin}: malformed {kind:?} record skipped: {e}"));
            }
        }
        return;
    }
    match osv::parse_document(bytes, origin, warnings) {
        Ok(parsed) => {
            loaded.info.records += parsed.records;
            loaded.info.withdrawn += parsed.withdrawn;
            loaded.keyed.extend(parsed.keyed);
            loaded.modified.extend(parsed.modified);
        }
        Err(e) => {
            loaded.info.records += 1;
            loaded.info.skipped += 1;
            warnings.push(format!("{origin}: malformed OSV record skipped: {e}"));
        }
    }
}

fn load_dir(dir: &Path, loaded: &mut Loaded, warnings: &mut Vec<String>) -> Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let p = entry.map_err(|e| Error::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        add_json(&bytes, &p.to_string_lossy(), loaded, warnings);
    }
    Ok(())
}

fn load_zip(
    reader: impl Read + Seek,
    origin: &str,
    loaded: &mut Loaded,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| Error::source(origin, format!("not a readable zip: {e}")))?;
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| Error::source(origin, format!("zip entry {i}: {e}")))?;
        if entry.is_dir() || !entry.name().to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let name = format!("{origin}!{}", entry.name());
        if entry.size() > MAX_ENTRY {
            loaded.info.skipped += 1;
            warnings.push(format!(
                "{name}: entry larger than {MAX_ENTRY} bytes skipped"
            ));
            continue;
        }
        buf.clear();
        (&mut entry)
            .take(MAX_ENTRY + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::source(origin, format!("{}: {e}", entry.name())))?;
        drop(entry);
        add_json(&buf, &name, loaded, warnings);
    }
    Ok(())
}
