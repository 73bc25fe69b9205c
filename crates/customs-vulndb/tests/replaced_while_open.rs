//! A database truncated, rewritten in place or replaced while scans run (issue 12): no SIGBUS,
//! no silently empty answer. Each open either fails with a clear error or gives a database
//! whose every lookup keeps answering as the verified file did, however the file changes
//! under it afterwards.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use customs_vulndb::{build, Database, Error, Source};

#[test]
fn truncating_or_rewriting_the_file_never_kills_or_empties_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vuln.db");
    let v311 = common::vulndata().join("alpine-secdb/v3.11/main.yaml");
    build(&[Source::secdb(v311.to_string_lossy())], &path, None).unwrap();
    let good = std::fs::read(&path).unwrap();
    let expected = Database::open(&path)
        .unwrap()
        .lookup("Alpine:v3.11", "ansible")
        .unwrap();
    assert!(!expected.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path, good) = (stop.clone(), path.clone(), good.clone());
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                match round % 4 {
                    // Truncated in place to half, then to nothing.
                    0 => {
                        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                        f.set_len(good.len() as u64 / 2).unwrap();
                        f.set_len(0).unwrap();
                    }
                    // Rewritten in place, byte by byte in two halves.
                    1 => {
                        let mut f = std::fs::OpenOptions::new()
                            .write(true)
                            .truncate(true)
                            .open(&path)
                            .unwrap();
                        f.write_all(&good[..good.len() / 2]).unwrap();
                        f.write_all(&good[good.len() / 2..]).unwrap();
                    }
                    // Garbage of the same size in place.
                    2 => std::fs::write(&path, vec![0x5a; good.len()]).unwrap(),
                    // Replaced by rename, as updates do.
                    _ => {
                        let tmp = path.with_extension("tmp");
                        std::fs::write(&tmp, &good).unwrap();
                        std::fs::rename(&tmp, &path).unwrap();
                    }
                }
            }
        })
    };

    let (mut opened, mut refused) = (0, 0);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(3) || opened == 0 {
        match Database::open(&path) {
            Ok(db) => {
                opened += 1;
                // The file keeps changing under the open database while it is read: every
                // key (each block, not only a cached one) still answers.
                let keys = db.keys();
                assert!(keys.len() > 100);
                for (ecosystem, name) in keys {
                    assert!(!db.lookup(&ecosystem, &name).unwrap().is_empty());
                    std::thread::yield_now();
                }
                let got = db.lookup("Alpine:v3.11", "ansible").unwrap();
                assert_eq!(got, expected, "an open database changed its answer");
            }
            Err(e) => {
                refused += 1;
                assert!(
                    matches!(e, Error::Corrupt { .. } | Error::Missing(_)),
                    "unexpected error: {e}"
                );
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no open ever succeeded"
        );
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    eprintln!("{opened} opens succeeded, {refused} refused");
    assert!(opened > 0);
}
