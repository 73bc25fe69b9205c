//! The layer cache: analysis results stored per layer, keyed by diff-id plus the analyser's
//! version, in the user cache directory. Entries are written to a temporary file and renamed
//! into place, so concurrent `customs` processes never see half an entry; a checksum guards
//! against corruption, and the total size is capped with least-recently-used eviction.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

const MAGIC: &[u8; 8] = b"CSTMLC01";
/// Default size cap: 2 GiB.
pub const DEFAULT_CAP: u64 = 2 << 30;

/// A directory of cached layer analyses.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
    cap: u64,
}

impl LayerCache {
    /// `$CUSTOMS_CACHE_DIR/layers`, else the platform cache directory (`~/.cache/customs/layers`).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("CUSTOMS_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("layers"));
        }
        dirs::cache_dir().map(|d| d.join("customs").join("layers"))
    }

    pub fn new(dir: impl Into<PathBuf>, cap: u64) -> io::Result<LayerCache> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(LayerCache { dir, cap })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cache key for a layer: `<analyser>-<version>-<diff-id hex>`.
    pub fn key(analyser: &str, version: u32, diff_id: &crate::Digest) -> String {
        format!(
            "{analyser}-v{version}-{}-{}",
            diff_id.algorithm().name(),
            diff_id.hex()
        )
    }

    fn path(&self, key: &str) -> PathBuf {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.entry"))
    }

    /// The cached bytes for `key`, or `None` on a miss. A corrupt entry is removed and
    /// reported as a miss.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path(key);
        let mut f = File::open(&path).ok()?;
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        if data.len() < 40 || &data[..8] != MAGIC || Sha256::digest(&data[40..])[..] != data[8..40]
        {
            let _ = fs::remove_file(&path);
            return None;
        }
        // Touch for LRU.
        let _ = f.set_modified(SystemTime::now());
        data.drain(..40);
        Some(data)
    }

    /// Stores `value` under `key`, then evicts least recently used entries above the cap.
    pub fn put(&self, key: &str, value: &[u8]) -> io::Result<()> {
        let mut tmp = tempfile_in(&self.dir)?;
        tmp.1.write_all(MAGIC)?;
        tmp.1.write_all(&Sha256::digest(value))?;
        tmp.1.write_all(value)?;
        tmp.1.sync_data().ok();
        drop(tmp.1);
        fs::rename(&tmp.0, self.path(key))?;
        self.evict()
    }

    /// Removes entries, oldest use first, until the total is within the cap.
    pub fn evict(&self) -> io::Result<()> {
        let lock = File::create(self.dir.join(".evict.lock"))?;
        // Only one process evicts at a time; others skip, since it is already happening.
        if !fs4::fs_std::FileExt::try_lock_exclusive(&lock).unwrap_or(false) {
            return Ok(());
        }
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0;
        for e in fs::read_dir(&self.dir)?.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "entry") {
                if let Ok(m) = e.metadata() {
                    total += m.len();
                    entries.push((m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), p));
                }
            }
        }
        entries.sort();
        for (_, len, p) in entries {
            if total <= self.cap {
                break;
            }
            if fs::remove_file(&p).is_ok() {
                total -= len;
            }
        }
        Ok(())
    }

    /// Deletes every entry; returns how many bytes were freed.
    pub fn clean(&self) -> io::Result<u64> {
        let mut freed = 0;
        for e in fs::read_dir(&self.dir)?.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "entry" || x == "tmp") {
                freed += e.metadata().map(|m| m.len()).unwrap_or(0);
                fs::remove_file(&p)?;
            }
        }
        Ok(freed)
    }

    /// Total bytes and number of entries.
    pub fn usage(&self) -> io::Result<(u64, usize)> {
        let mut total = 0;
        let mut n = 0;
        for e in fs::read_dir(&self.dir)?.flatten() {
            if e.path().extension().is_some_and(|x| x == "entry") {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
                n += 1;
            }
        }
        Ok((total, n))
    }
}

fn tempfile_in(dir: &Path) -> io::Result<(PathBuf, File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for _ in 0..16 {
        let p = dir.join(format!(
            ".{}-{}-{}.tmp",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a temporary cache file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let c = LayerCache::new(d.path(), 1 << 20).unwrap();
        assert!(c.get("k").is_none());
        c.put("k", b"value").unwrap();
        assert_eq!(c.get("k").unwrap(), b"value");
    }

    #[test]
    fn corrupt_entry_is_a_miss_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let c = LayerCache::new(d.path(), 1 << 20).unwrap();
        c.put("k", b"value").unwrap();
        let p = c.path("k");
        let mut bytes = fs::read(&p).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&p, bytes).unwrap();
        assert!(c.get("k").is_none());
        assert!(!p.exists());
    }

    #[test]
    fn eviction_removes_least_recently_used_first() {
        let d = tempfile::tempdir().unwrap();
        let c = LayerCache::new(d.path(), 250).unwrap();
        c.put("old", &[1u8; 100]).unwrap();
        let p = c.path("old");
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH)
            .unwrap();
        c.put("new", &[2u8; 100]).unwrap();
        c.put("newer", &[3u8; 100]).unwrap();
        assert!(c.get("old").is_none(), "oldest entry evicted");
        assert!(c.get("newer").is_some());
    }

    #[test]
    fn concurrent_writers_never_expose_partial_entries() {
        let d = tempfile::tempdir().unwrap();
        let c = LayerCache::new(d.path(), 1 << 30).unwrap();
        let value = vec![7u8; 1 << 20];
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10 {
                        c.put("shared", &value).unwrap();
                        if let Some(v) = c.get("shared") {
                            assert_eq!(v.len(), value.len());
                        }
                    }
                });
            }
        });
        assert_eq!(c.get("shared").unwrap(), value);
    }

    #[test]
    fn clean_removes_everything() {
        let d = tempfile::tempdir().unwrap();
        let c = LayerCache::new(d.path(), 1 << 20).unwrap();
        c.put("a", b"1").unwrap();
        c.put("b", b"2").unwrap();
        assert!(c.clean().unwrap() > 0);
        assert_eq!(c.usage().unwrap().1, 0);
    }
}
