//! Issue 12, cache: symlinks planted in the cache directory must not make `get`, `put`,
//! eviction, locking or cleaning touch what they point at, and a corrupt, truncated or
//! misplaced entry is a miss (then rewritten by the next `put`), never a wrong answer.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use customs_image::LayerCache;

const PRECIOUS: &[u8] = b"precious bytes outside the cache\n";

/// A cache in `root/layers` and a file outside it holding [`PRECIOUS`], last modified at the
/// epoch (so a touch through a link would show).
fn setup(root: &Path, cap: u64) -> (LayerCache, PathBuf) {
    let cache = LayerCache::new(root.join("layers"), cap).unwrap();
    let outside = root.join("outside.txt");
    fs::write(&outside, PRECIOUS).unwrap();
    set_mtime(&outside, SystemTime::UNIX_EPOCH);
    (cache, outside)
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn assert_untouched(outside: &Path) {
    assert_eq!(
        fs::read(outside).unwrap(),
        PRECIOUS,
        "target content changed"
    );
    assert_eq!(
        fs::metadata(outside).unwrap().modified().unwrap(),
        SystemTime::UNIX_EPOCH,
        "target was touched"
    );
}

/// The one entry file `put(key)` wrote.
fn entry_path(cache: &LayerCache, key: &str) -> PathBuf {
    let before: Vec<PathBuf> = entries(cache);
    cache.put(key, b"probe").unwrap();
    let after = entries(cache);
    let new: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    new[0].clone()
}

fn entries(cache: &LayerCache) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(cache.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "entry"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_symlinked_eviction_lock_is_replaced_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let (cache, outside) = setup(d.path(), 1 << 20);
    let lock = cache.dir().join(".evict.lock");
    symlink(&outside, &lock).unwrap();
    cache.put("k", b"value").unwrap();
    cache.evict().unwrap();
    assert_untouched(&outside);
    let m = fs::symlink_metadata(&lock).unwrap();
    assert!(
        m.is_file(),
        "the lock is now a regular file of the cache's own"
    );
    assert_eq!(cache.get("k").unwrap(), b"value");
}

#[test]
fn a_dangling_lock_symlink_creates_nothing_outside() {
    let d = tempfile::tempdir().unwrap();
    let (cache, _) = setup(d.path(), 1 << 20);
    let target = d.path().join("created-through-the-link");
    symlink(&target, cache.dir().join(".evict.lock")).unwrap();
    cache.put("k", b"value").unwrap();
    assert!(!target.exists(), "eviction created a file through the link");
}

#[test]
fn a_symlinked_entry_is_a_miss_and_its_target_untouched() {
    let d = tempfile::tempdir().unwrap();
    let (cache, outside) = setup(d.path(), 1 << 20);
    let entry = entry_path(&cache, "k");
    // Even a target that holds a valid entry for the key is not read through the link.
    let valid = d.path().join("valid-entry");
    fs::copy(&entry, &valid).unwrap();
    set_mtime(&valid, SystemTime::UNIX_EPOCH);
    fs::remove_file(&entry).unwrap();
    symlink(&valid, &entry).unwrap();
    assert_eq!(cache.get("k"), None);
    assert_eq!(
        fs::metadata(&valid).unwrap().modified().unwrap(),
        SystemTime::UNIX_EPOCH,
        "the link's target was touched"
    );
    assert!(!fs::symlink_metadata(&entry).is_ok_and(|m| m.file_type().is_symlink()));

    // And one pointing at an unrelated file.
    symlink(&outside, &entry).unwrap();
    assert_eq!(cache.get("k"), None);
    assert_untouched(&outside);
    cache.put("k", b"again").unwrap();
    assert_eq!(cache.get("k").unwrap(), b"again");
    assert_untouched(&outside);
}

#[test]
fn eviction_and_clean_unlink_symlinked_entries_without_touching_targets() {
    let d = tempfile::tempdir().unwrap();
    let (cache, outside) = setup(d.path(), 300);
    symlink(&outside, cache.dir().join("planted.entry")).unwrap();
    symlink(&outside, cache.dir().join(".planted.tmp")).unwrap();
    for i in 0..5 {
        cache.put(&format!("k{i}"), &[i as u8; 100]).unwrap();
    }
    assert_untouched(&outside);
    assert!(!cache.dir().join("planted.entry").exists());
    let (total, _) = cache.usage().unwrap();
    assert!(total <= 300, "evicted down to the cap: {total}");

    symlink(&outside, cache.dir().join("again.entry")).unwrap();
    cache.clean().unwrap();
    assert_untouched(&outside);
    assert_eq!(cache.usage().unwrap().1, 0);
}

#[test]
fn a_fifo_in_place_of_an_entry_is_a_miss_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let (cache, _) = setup(d.path(), 1 << 20);
    let entry = entry_path(&cache, "k");
    fs::remove_file(&entry).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&entry)
        .status()
        .unwrap();
    assert!(status.success());
    // A get that blocks on the FIFO fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let c = cache.clone();
    std::thread::spawn(move || tx.send(c.get("k")).unwrap());
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("get blocked on a FIFO");
    assert_eq!(got, None);
    cache.put("k", b"value").unwrap();
    assert_eq!(cache.get("k").unwrap(), b"value");
}

#[test]
fn a_symlinked_cache_directory_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("elsewhere");
    fs::create_dir(&real).unwrap();
    fs::write(real.join("x.entry"), b"not the cache's").unwrap();
    let link = d.path().join("layers");
    symlink(&real, &link).unwrap();
    assert!(LayerCache::new(&link, 1).is_err());
    assert_eq!(fs::read(real.join("x.entry")).unwrap(), b"not the cache's");
}

#[test]
fn corrupt_entries_are_misses_and_are_rewritten() {
    let d = tempfile::tempdir().unwrap();
    let (cache, _) = setup(d.path(), 1 << 20);
    let value = b"the real analysis".to_vec();
    cache.put("k", &value).unwrap();
    let entry = entries(&cache).pop().unwrap();
    let good = fs::read(&entry).unwrap();

    // Every single flipped bit anywhere in the entry makes it a miss.
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        fs::write(&entry, &bad).unwrap();
        assert_eq!(cache.get("k"), None, "bit flip at byte {i} was accepted");
        assert!(!entry.exists(), "corrupt entry removed");
    }
    // Truncated, or with trailing bytes.
    for bad in [
        &good[..good.len() - 1],
        &[&good[..], b"x"].concat()[..],
        &[][..],
    ] {
        fs::write(&entry, bad).unwrap();
        assert_eq!(cache.get("k"), None);
    }
    // A miss is followed by a rewrite, which is then a hit.
    cache.put("k", &value).unwrap();
    assert_eq!(cache.get("k").unwrap(), value);
}

#[test]
fn an_entry_stored_under_another_key_is_a_miss() {
    let d = tempfile::tempdir().unwrap();
    let (cache, _) = setup(d.path(), 1 << 20);
    let a = entry_path(&cache, "summary-v1-sha256-aaaa");
    let b = entry_path(&cache, "summary-v1-sha256-bbbb");
    cache
        .put("summary-v1-sha256-aaaa", b"answer for a")
        .unwrap();
    // A valid entry copied (or renamed) under another key's name.
    fs::copy(&a, &b).unwrap();
    assert_eq!(cache.get("summary-v1-sha256-bbbb"), None);
    assert_eq!(
        cache.get("summary-v1-sha256-aaaa").unwrap(),
        b"answer for a"
    );
}
