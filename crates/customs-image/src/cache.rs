//! The layer cache: analysis results stored per layer, keyed by diff-id plus the analyser's
//! version, in the user cache directory. Entries are written to a temporary file and renamed
//! into place, so concurrent `customs` processes never see half an entry; the total size is
//! capped with least-recently-used eviction.
//!
//! An entry is trusted only when it proves itself: magic, the key it was stored under, its
//! value's length and a SHA-256 over key and value must all match, or the entry is a miss (and
//! removed, so the caller's next `put` rewrites it). Nothing in the directory is followed
//! through a symlink: entries and the eviction lock are opened with `O_NOFOLLOW`, a symlink
//! planted as the lock is replaced by a fresh file, symlinked or non-regular entries are
//! misses, and eviction and cleaning only unlink names inside the directory.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

const MAGIC: &[u8; 8] = b"CSTMLC02";
/// Magic, SHA-256, value length (u64 LE), key length (u32 LE).
const HEADER: usize = 8 + 32 + 8 + 4;
/// Default size cap: 2 GiB.
pub const DEFAULT_CAP: u64 = 2 << 30;
/// Temporary files older than this are left by a process that died; eviction removes them.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// A directory of cached layer analyses.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
    cap: u64,
}

/// Opens `path` without following a final symlink (`O_NOFOLLOW`), and without blocking on a
/// FIFO; fails unless it is a regular file.
fn open_regular(path: &Path, opts: &mut fs::OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(io::Error::other("refusing a symlink in the cache"));
        }
    }
    let f = opts.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(f)
}

/// The entry bytes for `key` and `value`.
fn encode(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + key.len() + value.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&checksum(key, value));
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(value);
    out
}

fn checksum(key: &str, value: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_le_bytes());
    h.update(key.as_bytes());
    h.update(value);
    h.finalize().into()
}

/// The value of an entry stored under `key`, if `data` is exactly such an entry.
fn decode(key: &str, mut data: Vec<u8>) -> Option<Vec<u8>> {
    if data.len() < HEADER || &data[..8] != MAGIC {
        return None;
    }
    let value_len = u64::from_le_bytes(data[40..48].try_into().ok()?);
    let key_len = u32::from_le_bytes(data[48..52].try_into().ok()?) as u64;
    if key_len != key.len() as u64
        || (HEADER as u64)
            .checked_add(key_len)?
            .checked_add(value_len)?
            != data.len() as u64
    {
        return None;
    }
    let key_end = HEADER + key.len();
    if &data[HEADER..key_end] != key.as_bytes()
        || checksum(key, &data[key_end..])[..] != data[8..40]
    {
        return None;
    }
    data.drain(..key_end);
    Some(data)
}

impl LayerCache {
    /// `$CUSTOMS_CACHE_DIR/layers`, else the platform cache directory (`~/.cache/customs/layers`).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("CUSTOMS_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("layers"));
        }
        dirs::cache_dir().map(|d| d.join("customs").join("layers"))
    }

    /// Opens (creating) the cache in `dir`. A `dir` that is itself a symlink is refused, so
    /// eviction never deletes files in a directory someone pointed the cache at.
    pub fn new(dir: impl Into<PathBuf>, cap: u64) -> io::Result<LayerCache> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let m = fs::symlink_metadata(&dir)?;
        if m.file_type().is_symlink() || !m.is_dir() {
            return Err(io::Error::other(format!(
                "cache directory {} is a symlink or not a directory",
                dir.display()
            )));
        }
        Ok(LayerCache { dir, cap })
    }

    /// The directory the summaries are stored in.
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

    /// The cached bytes for `key`, or `None` on a miss. An entry that is corrupt, stored
    /// under another key, larger than the cap, a symlink or not a regular file is removed
    /// (the name only, never a symlink's target) and reported as a miss.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path(key);
        let mut f = match open_regular(&path, File::options().read(true)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(_) => {
                self.discard(&path);
                return None;
            }
        };
        let len = f.metadata().ok()?.len();
        if len > self.cap.max(HEADER as u64 + key.len() as u64) {
            self.discard(&path);
            return None;
        }
        let mut data = Vec::with_capacity(len as usize);
        if Read::by_ref(&mut f)
            .take(len)
            .read_to_end(&mut data)
            .is_err()
        {
            return None;
        }
        let Some(value) = decode(key, data) else {
            self.discard(&path);
            return None;
        };
        // Touch for LRU; `f` is the entry itself, never a link's target.
        let _ = f.set_modified(SystemTime::now());
        Some(value)
    }

    /// Unlinks a bad entry's name (a symlink is removed as a link). A directory in its place
    /// is left alone: it is not ours to remove.
    fn discard(&self, path: &Path) {
        if fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
            let _ = fs::remove_file(path);
        }
    }

    /// Stores `value` under `key`, then evicts least recently used entries above the cap.
    pub fn put(&self, key: &str, value: &[u8]) -> io::Result<()> {
        let (tmp_path, mut tmp) = tempfile_in(&self.dir)?;
        let written = tmp
            .write_all(&encode(key, value))
            .and_then(|()| tmp.sync_data());
        drop(tmp);
        // `rename` replaces whatever name is there (a symlink included) without following it.
        if let Err(e) = written.and_then(|()| fs::rename(&tmp_path, self.path(key))) {
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
        self.evict()
    }

    /// Opens the eviction lock without following or truncating anything; a symlink or other
    /// non-regular file planted in its place is unlinked and a new lock file created.
    fn open_lock(&self) -> io::Result<File> {
        let path = self.dir.join(".evict.lock");
        match open_regular(&path, File::options().write(true).create(true)) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(e),
            Err(_) => {
                if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                    return Err(io::Error::other(format!(
                        "{} is a directory",
                        path.display()
                    )));
                }
                fs::remove_file(&path)?;
                open_regular(&path, File::options().write(true).create_new(true))
            }
        }
    }

    /// Removes entries, oldest use first, until the total is within the cap. Only regular
    /// files count; a symlinked entry is unlinked; stale temporary files are removed. Nothing
    /// is followed.
    pub fn evict(&self) -> io::Result<()> {
        let lock = self.open_lock()?;
        // Only one process evicts at a time; others skip, since it is already happening.
        if !fs4::fs_std::FileExt::try_lock_exclusive(&lock).unwrap_or(false) {
            return Ok(());
        }
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0;
        let now = SystemTime::now();
        for e in fs::read_dir(&self.dir)?.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            let ext = p.extension().and_then(|x| x.to_str());
            if ft.is_symlink() && matches!(ext, Some("entry" | "tmp")) {
                let _ = fs::remove_file(&p);
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            // `DirEntry::metadata` does not follow symlinks.
            let Ok(m) = e.metadata() else { continue };
            let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            match ext {
                Some("entry") => {
                    total += m.len();
                    entries.push((modified, m.len(), p));
                }
                Some("tmp")
                    if now
                        .duration_since(modified)
                        .is_ok_and(|age| age > STALE_TMP) =>
                {
                    let _ = fs::remove_file(&p);
                }
                _ => {}
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

    /// Deletes every entry and temporary file (symlinks as links); returns how many bytes of
    /// regular files were freed.
    pub fn clean(&self) -> io::Result<u64> {
        let mut freed = 0;
        for e in fs::read_dir(&self.dir)?.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if !(ft.is_file() || ft.is_symlink()) {
                continue;
            }
            if p.extension().is_some_and(|x| x == "entry" || x == "tmp") {
                if ft.is_file() {
                    freed += e.metadata().map(|m| m.len()).unwrap_or(0);
                }
                fs::remove_file(&p)?;
            }
        }
        Ok(freed)
    }

    /// Total bytes and number of entries (regular files only).
    pub fn usage(&self) -> io::Result<(u64, usize)> {
        let mut total = 0;
        let mut n = 0;
        for e in fs::read_dir(&self.dir)?.flatten() {
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if is_file && e.path().extension().is_some_and(|x| x == "entry") {
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
        // `create_new` (O_CREAT|O_EXCL) fails on an existing name, a symlink included.
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
