//! The compiled database: one read-only file.
//!
//! Opening takes a private snapshot of the file (read into memory up to
//! [`MAX_IN_MEMORY`] bytes, beyond that copied into an unlinked temporary file that is then
//! memory-mapped), so a database truncated or rewritten in place while a scan runs can neither
//! kill the process with SIGBUS nor change the answer half-way: the scan keeps reading what it
//! verified. The file's identity (device, inode, size, modification time) is compared before
//! and after the snapshot and against the path; a file that changed during the copy is read
//! again, and one still changing after a few tries is an error, never an empty database.
//! Updates never write in place: [`write_atomically`] writes a new file and renames it over.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! 0    magic "CUSTVDB\n"
//! 8    schema version (u32), reserved (u32)
//! 16   file length (u64)
//! 24   SHA-256 of the whole file with these 32 bytes zeroed
//! 56   offset, length (u64 pairs) of: metadata (JSON), fst map, block table, blocks
//! 120  zero padding to 128
//! ```
//!
//! The `fst` map goes from `ecosystem \0 name` to `block << 32 | offset`: the zstd block
//! holding the key's advisories and where, inside the decompressed block, a `u32` length and
//! the postcard-encoded `Vec<Advisory>` start. Keys are packed into blocks of about
//! [`BLOCK_TARGET`] bytes in key order, so a lookup decompresses one small block.
//!
//! What is known about a CVE itself ([`CveFacts`]: CVSS ratings, KEV, EPSS) is stored the
//! same way under the key `\x01cve \0 CVE-…`: the `\x01` sorts before every ecosystem name
//! and can never be one, so facts and advisories share the index without colliding.

use crate::advisory::Advisory;
use crate::ecosystem::key_name;
use crate::error::{Error, Result};
use crate::rating::{CveFacts, Facts};
use crate::source::{self, Source, SourceInfo};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The first eight bytes of every database file.
pub const MAGIC: &[u8; 8] = b"CUSTVDB\n";
/// Bumped whenever the layout or the encoding of [`Advisory`] changes.
pub const SCHEMA_VERSION: u32 = 2;
/// The pseudo-ecosystem under which CVE facts are keyed.
const FACTS_ECOSYSTEM: &str = "\u{1}cve";
const HEADER_LEN: usize = 128;
const CHECKSUM: std::ops::Range<usize> = 24..56;
/// Uncompressed size at which a block is closed.
pub const BLOCK_TARGET: usize = 8 * 1024;
const ZSTD_LEVEL: i32 = 12;
const CACHE_BLOCKS: usize = 256;
/// Databases up to this size are snapshotted into memory when opened; larger ones into an
/// unlinked temporary file.
pub const MAX_IN_MEMORY: u64 = 256 << 20;
/// Snapshots taken before a database that keeps changing is an error.
const OPEN_ATTEMPTS: usize = 5;

/// The bytes of an open database, private to this process.
enum Storage {
    Memory(Vec<u8>),
    Mapped(Mmap),
}

impl std::ops::Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Storage::Memory(v) => v,
            Storage::Mapped(m) => m,
        }
    }
}

/// What identifies a file's content well enough to notice it changed.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: Option<SystemTime>,
}

fn identity(m: &std::fs::Metadata) -> Identity {
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    Identity {
        dev,
        ino,
        len: m.len(),
        mtime: m.modified().ok(),
    }
}

/// A private copy of the open `file` (of `len` bytes), or `None` when the file changed while it
/// was copied (its identity differs after the copy, or the copy's length differs).
fn snapshot(file: &std::fs::File, len: u64) -> std::io::Result<Option<Storage>> {
    use std::io::Read;
    let before = identity(&file.metadata()?);
    let mut reader = file.take(len + 1);
    let storage = if len <= MAX_IN_MEMORY {
        let mut buf = Vec::with_capacity(len as usize);
        reader.read_to_end(&mut buf)?;
        if buf.len() as u64 != len {
            return Ok(None);
        }
        Storage::Memory(buf)
    } else {
        let mut tmp = tempfile::tempfile()?;
        if std::io::copy(&mut reader, &mut tmp)? != len {
            return Ok(None);
        }
        // SAFETY: the copy is an unlinked file only this process holds, never written again.
        Storage::Mapped(unsafe { Mmap::map(&tmp) }?)
    };
    Ok((identity(&file.metadata()?) == before).then_some(storage))
}

/// What the database file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The file's schema version ([`SCHEMA_VERSION`] when written by this customs).
    pub schema_version: u32,
    /// RFC 3339; the build's `built_at` argument, else the newest record's `modified`.
    pub built_at: String,
    /// `built_at` in seconds since the Unix epoch.
    pub built_at_unix: i64,
    /// Every source the database was built from, in build order.
    pub sources: Vec<SourceInfo>,
    /// Records read from all sources.
    pub records: usize,
    /// Advisory entries stored (one per record per affected package).
    pub advisories: usize,
    /// Distinct (ecosystem, package) keys.
    pub packages: usize,
    /// Malformed records skipped, over all sources.
    pub skipped: usize,
    /// Withdrawn records dropped, over all sources.
    pub withdrawn: usize,
    /// Advisory entries per ecosystem.
    pub ecosystems: BTreeMap<String, usize>,
    /// CVE ids with any fact (rating, KEV, EPSS) stored.
    #[serde(default)]
    pub cves: usize,
    /// CVE ids with at least one CVSS or vendor rating.
    #[serde(default)]
    pub rated_cves: usize,
    /// CVE ids in CISA's KEV catalogue.
    #[serde(default)]
    pub kev: usize,
    /// CVE ids with an EPSS score.
    #[serde(default)]
    pub epss: usize,
}

/// The outcome of a build.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Where the database was written; `None` for [`build_bytes`].
    pub path: Option<PathBuf>,
    /// The metadata stored in the database.
    pub metadata: Metadata,
    /// Malformed records, duplicate ids and other problems that did not stop the build.
    pub warnings: Vec<String>,
    /// Size in bytes of the database.
    pub bytes: u64,
    /// How long the build took.
    pub duration: Duration,
}

/// Builds a database from `sources` and writes it to `dest` atomically (a temporary file in
/// the same directory, renamed over `dest`). `built_at` stamps the database (see
/// [`build_bytes`]).
pub fn build(
    sources: &[Source],
    dest: &Path,
    built_at: Option<jiff::Timestamp>,
) -> Result<BuildReport> {
    let (bytes, mut report) = build_bytes(sources, built_at)?;
    write_atomically(dest, &bytes)?;
    report.path = Some(dest.to_path_buf());
    Ok(report)
}

/// Builds a database in memory. The same sources and `built_at` always give the same bytes.
///
/// `built_at` is the time the database is stamped with: the caller's clock when it is fixed
/// (a reproducible build's `SOURCE_DATE_EPOCH`). `None` stamps it with the newest record's
/// `modified`, or the Unix epoch when no record has one. The library reads no clock and no
/// environment itself.
pub fn build_bytes(
    sources: &[Source],
    built_at: Option<jiff::Timestamp>,
) -> Result<(Vec<u8>, BuildReport)> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    let mut newest: Option<jiff::Timestamp> = None;
    // key -> advisories, deduplicated by id.
    let mut entries: BTreeMap<Vec<u8>, Vec<Advisory>> = BTreeMap::new();
    let mut facts = Facts::new();
    let mut ghsa_seen = std::collections::BTreeSet::new();
    let mut dropped_warnings = 0;
    for src in sources {
        let loaded = source::load(src, &mut warnings)?;
        dropped_warnings += loaded.dropped_warnings;
        for (id, f) in loaded.facts {
            facts.entry(id).or_default().merge(f);
        }
        for m in &loaded.modified {
            if let Ok(t) = m.parse::<jiff::Timestamp>() {
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
        }
        for keyed in loaded.keyed {
            if keyed.ecosystem.contains('\0') || keyed.name.contains('\0') {
                warnings.push(format!(
                    "{}: NUL in package name, skipped",
                    keyed.advisory.id
                ));
                continue;
            }
            if keyed.advisory.id.starts_with("GHSA-") && ghsa_seen.insert(keyed.advisory.id.clone())
            {
                for (id, f) in crate::rating::ghsa_facts(&keyed.advisory) {
                    facts.entry(id).or_default().merge(f);
                }
            }
            let mut key = keyed.ecosystem.into_bytes();
            key.push(0);
            key.extend_from_slice(keyed.name.as_bytes());
            let list = entries.entry(key).or_default();
            match list.iter_mut().find(|a| a.id == keyed.advisory.id) {
                Some(existing) => {
                    let newer = keyed.advisory.modified.parse::<jiff::Timestamp>().ok()
                        > existing.modified.parse::<jiff::Timestamp>().ok();
                    if newer {
                        *existing = keyed.advisory;
                    }
                }
                None => list.push(keyed.advisory),
            }
        }
        infos.push(loaded.info);
    }

    if dropped_warnings > 0 {
        warnings.push(format!(
            "{dropped_warnings} more warning(s) like the ones above were not kept"
        ));
    }
    let built_at = built_at.or(newest).unwrap_or(jiff::Timestamp::UNIX_EPOCH);

    let mut ecosystems: BTreeMap<String, usize> = BTreeMap::new();
    let mut advisories = 0;
    let mut map_builder = fst::MapBuilder::memory();
    let mut blocks: Vec<u8> = Vec::new();
    let mut table: Vec<u8> = Vec::new();
    let mut block: Vec<u8> = Vec::new();
    let mut compressor =
        zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| Error::source("zstd", e))?;
    let mut flush =
        |block: &mut Vec<u8>, blocks: &mut Vec<u8>, table: &mut Vec<u8>| -> Result<()> {
            if block.is_empty() {
                return Ok(());
            }
            let compressed = compressor
                .compress(block)
                .map_err(|e| Error::source("zstd", e))?;
            table.extend_from_slice(&(blocks.len() as u64).to_le_bytes());
            table.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
            table.extend_from_slice(&(block.len() as u32).to_le_bytes());
            blocks.extend_from_slice(&compressed);
            block.clear();
            Ok(())
        };
    let fact_counts = (
        facts.len(),
        facts.values().filter(|f| !f.ratings.is_empty()).count(),
        facts.values().filter(|f| f.kev.is_some()).count(),
        facts.values().filter(|f| f.epss.is_some()).count(),
    );
    // Facts first: their keys sort before every advisory key.
    let fact_entries = facts.into_iter().map(|(id, f)| {
        let mut key = FACTS_ECOSYSTEM.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(id.as_bytes());
        (key, postcard::to_stdvec(&f))
    });
    let advisory_entries = entries.iter_mut().map(|(k, v)| {
        let mut list = std::mem::take(v);
        list.sort_by(|a, b| a.id.cmp(&b.id));
        let eco = k.split(|b| *b == 0).next().unwrap_or(&[]);
        *ecosystems
            .entry(String::from_utf8_lossy(eco).into_owned())
            .or_default() += list.len();
        advisories += list.len();
        (k.clone(), postcard::to_stdvec(&list))
    });
    let all: Vec<(Vec<u8>, postcard::Result<Vec<u8>>)> =
        fact_entries.chain(advisory_entries).collect();
    for (key, encoded) in all {
        let encoded = encoded.map_err(|e| Error::source("encoding", e))?;
        let key = &key;
        let block_index = (table.len() / 16) as u64;
        let value = (block_index << 32) | block.len() as u64;
        block.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
        block.extend_from_slice(&encoded);
        map_builder
            .insert(key, value)
            .map_err(|e| Error::source("index", e))?;
        if block.len() >= BLOCK_TARGET {
            flush(&mut block, &mut blocks, &mut table)?;
        }
    }
    flush(&mut block, &mut blocks, &mut table)?;
    let fst_bytes = map_builder
        .into_inner()
        .map_err(|e| Error::source("index", e))?;

    let metadata = Metadata {
        schema_version: SCHEMA_VERSION,
        built_at: built_at.to_string(),
        built_at_unix: built_at.as_second(),
        records: infos.iter().map(|i| i.records).sum(),
        skipped: infos.iter().map(|i| i.skipped).sum(),
        withdrawn: infos.iter().map(|i| i.withdrawn).sum(),
        sources: infos,
        advisories,
        packages: entries.len(),
        ecosystems,
        cves: fact_counts.0,
        rated_cves: fact_counts.1,
        kev: fact_counts.2,
        epss: fact_counts.3,
    };
    let meta_bytes = serde_json::to_vec(&metadata).map_err(|e| Error::source("metadata", e))?;

    let mut out = vec![0u8; HEADER_LEN];
    let mut sections = Vec::new();
    for section in [&meta_bytes, &fst_bytes, &table, &blocks] {
        sections.push((out.len() as u64, section.len() as u64));
        out.extend_from_slice(section);
    }
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&SCHEMA_VERSION.to_le_bytes());
    let total = out.len() as u64;
    out[16..24].copy_from_slice(&total.to_le_bytes());
    for (i, (off, len)) in sections.iter().enumerate() {
        let at = 56 + i * 16;
        out[at..at + 8].copy_from_slice(&off.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
    }
    let digest = Sha256::digest(&out);
    out[CHECKSUM].copy_from_slice(&digest);

    let bytes = out.len() as u64;
    Ok((
        out,
        BuildReport {
            path: None,
            metadata,
            warnings,
            bytes,
            duration: started.elapsed(),
        },
    ))
}

/// Writes `bytes` to `dest` through a temporary file in the same directory and a rename, so
/// readers see the old file or the new one, never a mix.
pub(crate) fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".customs-db-")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    Ok(())
}

/// A byte range of the snapshot, so the fst map can borrow it without a copy.
#[derive(Clone)]
struct Slice {
    map: Arc<Storage>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

/// An open, verified database.
pub struct Database {
    path: PathBuf,
    map: Arc<Storage>,
    index: fst::Map<Slice>,
    table: (usize, usize),
    blocks: (usize, usize),
    metadata: Metadata,
    cache: Mutex<HashMap<u32, Arc<Vec<u8>>>>,
    /// Reused: creating a zstd context costs more than decompressing a small block.
    decompressor: Mutex<Option<zstd::bulk::Decompressor<'static>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// Age and content of a database, for `customs db status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub file_size: u64,
    /// Time since `built_at`; `None` when `built_at` is in the future.
    pub age: Option<Duration>,
    /// The metadata stored in it.
    pub metadata: Metadata,
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

impl Database {
    /// Opens and verifies (magic, schema version, length, checksum) the database at `path`,
    /// from a private snapshot of the file (see the module documentation).
    pub fn open(path: &Path) -> Result<Database> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let file = match std::fs::File::open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::Missing(path.to_path_buf()))
                }
                Err(e) => return Err(Error::io(path, e)),
            };
            let meta = file.metadata().map_err(|e| Error::io(path, e))?;
            let snap = snapshot(&file, meta.len()).map_err(|e| Error::io(path, e))?;
            // The path must still name the file that was copied, unchanged.
            let still = std::fs::metadata(path)
                .ok()
                .is_some_and(|m| identity(&m) == identity(&meta));
            let result = match snap {
                Some(storage) if still => Self::verify(path, storage),
                _ => Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!(
                        "the file kept changing while it was read ({OPEN_ATTEMPTS} tries)"
                    ),
                }),
            };
            let unchanged = std::fs::metadata(path)
                .ok()
                .is_some_and(|m| identity(&m) == identity(&meta));
            match result {
                Err(_) if !unchanged && attempt < OPEN_ATTEMPTS => {}
                Err(_) if !still && attempt < OPEN_ATTEMPTS => {}
                other => return other,
            }
            std::thread::sleep(Duration::from_millis(20 * attempt as u64));
        }
    }

    fn verify(path: &Path, map: Storage) -> Result<Database> {
        let corrupt = |reason: &str| Error::Corrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let len = map.len();
        if len < HEADER_LEN {
            return Err(corrupt(&format!(
                "truncated: {len} bytes, shorter than the header"
            )));
        }
        let b: &[u8] = &map;
        if &b[0..8] != MAGIC {
            return Err(corrupt("not a customs vulnerability database (bad magic)"));
        }
        let schema = read_u32(b, 8);
        if schema != SCHEMA_VERSION {
            return Err(Error::WrongSchema {
                path: path.to_path_buf(),
                found: schema,
                expected: SCHEMA_VERSION,
            });
        }
        let declared = read_u64(b, 16);
        if declared != b.len() as u64 {
            return Err(corrupt(&format!(
                "truncated or extended: header says {declared} bytes, file has {}",
                b.len()
            )));
        }
        let mut hasher = Sha256::new();
        hasher.update(&b[..CHECKSUM.start]);
        hasher.update([0u8; 32]);
        hasher.update(&b[CHECKSUM.end..]);
        if hasher.finalize().as_slice() != &b[CHECKSUM] {
            return Err(corrupt("checksum mismatch"));
        }
        let mut sections = [(0usize, 0usize); 4];
        for (i, s) in sections.iter_mut().enumerate() {
            let off = read_u64(b, 56 + i * 16);
            let len = read_u64(b, 64 + i * 16);
            let end = off
                .checked_add(len)
                .filter(|e| *e <= b.len() as u64 && off >= HEADER_LEN as u64);
            let Some(end) = end else {
                return Err(corrupt("section out of bounds"));
            };
            *s = (off as usize, end as usize);
        }
        let metadata: Metadata = serde_json::from_slice(&b[sections[0].0..sections[0].1])
            .map_err(|e| corrupt(&format!("metadata unreadable: {e}")))?;
        if (sections[2].1 - sections[2].0) % 16 != 0 {
            return Err(corrupt("block table size"));
        }
        let map = Arc::new(map);
        let slice = Slice {
            map: map.clone(),
            start: sections[1].0,
            end: sections[1].1,
        };
        let index = fst::Map::new(slice).map_err(|e| corrupt(&format!("index unreadable: {e}")))?;
        Ok(Database {
            path: path.to_path_buf(),
            map,
            index,
            table: sections[2],
            blocks: sections[3],
            metadata,
            cache: Mutex::new(HashMap::new()),
            decompressor: Mutex::new(None),
        })
    }

    /// The file this database was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file says about itself.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The advisories stored for a package. PyPI names are normalised (PEP 503) here, so
    /// callers may pass them as found.
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>> {
        let mut key = Vec::with_capacity(ecosystem.len() + name.len() + 1);
        key.extend_from_slice(ecosystem.as_bytes());
        key.push(0);
        if ecosystem == "PyPI" || ecosystem.starts_with("PyPI:") {
            key.extend_from_slice(key_name(ecosystem, name).as_bytes());
        } else {
            key.extend_from_slice(name.as_bytes());
        }
        Ok(self.entry(&key)?.unwrap_or_default())
    }

    /// What the database knows about a CVE id (ratings, KEV, EPSS), if anything.
    pub fn facts(&self, cve: &str) -> Result<Option<CveFacts>> {
        let mut key = FACTS_ECOSYSTEM.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(cve.trim().to_ascii_uppercase().as_bytes());
        self.entry(&key)
    }

    fn entry<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        let Some(value) = self.index.get(key) else {
            return Ok(None);
        };
        let block_index = (value >> 32) as u32;
        let offset = (value & 0xffff_ffff) as usize;
        let block = self.block(block_index)?;
        let corrupt = |reason: &str| Error::Corrupt {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        if offset + 4 > block.len() {
            return Err(corrupt("entry offset out of its block"));
        }
        let len = read_u32(&block, offset) as usize;
        let body = block
            .get(offset + 4..offset + 4 + len)
            .ok_or_else(|| corrupt("entry overruns its block"))?;
        postcard::from_bytes(body)
            .map(Some)
            .map_err(|e| corrupt(&format!("entry undecodable: {e}")))
    }

    fn block(&self, index: u32) -> Result<Arc<Vec<u8>>> {
        if let Some(b) = self.cache.lock().ok().and_then(|c| c.get(&index).cloned()) {
            return Ok(b);
        }
        let corrupt = |reason: &str| Error::Corrupt {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        let at = self.table.0 + index as usize * 16;
        if at + 16 > self.table.1 {
            return Err(corrupt("block index out of range"));
        }
        let b: &[u8] = &self.map;
        let off = read_u64(b, at) as usize;
        let clen = read_u32(b, at + 8) as usize;
        let ulen = read_u32(b, at + 12) as usize;
        let start = self
            .blocks
            .0
            .checked_add(off)
            .filter(|s| s + clen <= self.blocks.1);
        let Some(start) = start else {
            return Err(corrupt("block out of bounds"));
        };
        let compressed = &b[start..start + clen];
        let data = {
            let mut guard = self
                .decompressor
                .lock()
                .map_err(|_| corrupt("decompressor poisoned"))?;
            if guard.is_none() {
                *guard =
                    Some(zstd::bulk::Decompressor::new().map_err(|e| corrupt(&e.to_string()))?);
            }
            match guard.as_mut() {
                Some(d) => d.decompress(compressed, ulen),
                None => zstd::bulk::decompress(compressed, ulen),
            }
        }
        .map_err(|e| corrupt(&format!("block {index} undecompressable: {e}")))?;
        let data = Arc::new(data);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_BLOCKS {
                cache.clear();
            }
            cache.insert(index, data.clone());
        }
        Ok(data)
    }

    /// Every (ecosystem, package) key, in order. Mainly for tests and `db status --verbose`.
    pub fn keys(&self) -> Vec<(String, String)> {
        use fst::{IntoStreamer, Streamer};
        let mut out = Vec::new();
        let mut stream = self.index.stream().into_stream();
        while let Some((k, _)) = stream.next() {
            let text = String::from_utf8_lossy(k);
            if k.first() == Some(&1) {
                continue;
            }
            if let Some((e, n)) = text.split_once('\0') {
                out.push((e.to_string(), n.to_string()));
            }
        }
        out
    }

    /// Time since the data was built, `None` if `built_at` is in the future.
    pub fn age(&self) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64;
        let secs = now.checked_sub(self.metadata.built_at_unix)?;
        u64::try_from(secs).ok().map(Duration::from_secs)
    }

    /// Whether the data is older than `max_age`.
    pub fn is_stale(&self, max_age: Duration) -> bool {
        self.age().is_some_and(|age| age > max_age)
    }

    /// Its path, size, age and metadata.
    pub fn status(&self) -> Status {
        Status {
            path: self.path.clone(),
            file_size: self.map.len() as u64,
            age: self.age(),
            metadata: self.metadata.clone(),
        }
    }
}
