//! The embedded storage: blobs as files under `blobs/sha256/`, uploads in progress under
//! `uploads/`, and every other fact (which repository links which blob, manifests, tags,
//! referrers, verdicts) in SQLite. A blob or manifest becomes visible only after its file is
//! fsynced, renamed into place and its directory fsynced, and then its row committed, so a
//! crash at any point leaves either nothing or the whole thing.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repo_blobs (
    repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, digest));
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
    artifact_type TEXT, subject TEXT, size INTEGER NOT NULL, annotations TEXT,
    status TEXT NOT NULL DEFAULT 'passed', verdict TEXT,
    container INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT (strftime('%s','now')),
    PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo, subject);
CREATE TABLE IF NOT EXISTS manifest_children (
    repo TEXT NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (repo, parent, child));
CREATE TABLE IF NOT EXISTS tags (
    repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, tag));
CREATE TABLE IF NOT EXISTS findings (
    repo TEXT NOT NULL, digest TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (repo, digest, id));
CREATE INDEX IF NOT EXISTS findings_id ON findings (id);
CREATE TABLE IF NOT EXISTS exceptions (
    repo TEXT NOT NULL, digest TEXT NOT NULL, reason TEXT NOT NULL, granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, repo TEXT NOT NULL,
    started INTEGER NOT NULL DEFAULT (strftime('%s','now')));
";

/// A stored manifest's facts.
#[derive(Debug, Clone)]
pub(crate) struct ManifestRow {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: u64,
    pub annotations: Option<String>,
    pub status: String,
    pub verdict: Option<String>,
    /// A container image (what the gates judge), not a signature or other artefact.
    pub container: bool,
}

/// A stored image a vulnerability was found in.
pub(crate) struct CveHit {
    pub repo: String,
    pub digest: String,
    pub status: String,
    pub tags: Vec<String>,
}

/// What a garbage collection removed.
#[derive(Debug, Default)]
pub(crate) struct GcReport {
    pub blobs: u64,
    pub bytes: u64,
    pub uploads: u64,
}

/// A reviewed exception in force.
pub(crate) struct Exception {
    pub reason: String,
    pub granted_by: String,
    pub granted_at: u64,
    pub expires: u64,
}

/// A manifest to record.
pub(crate) struct NewManifest<'a> {
    pub repo: &'a str,
    pub digest: &'a str,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub size: u64,
    pub annotations: Option<String>,
    pub tag: Option<&'a str>,
    pub children: &'a [String],
    pub status: &'a str,
    pub verdict: Option<String>,
    pub container: bool,
}

/// Files and metadata under one data directory.
pub(crate) struct Store {
    root: PathBuf,
    db: Mutex<Connection>,
}

fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("metadata database: {e}"))
}

impl Store {
    /// Opens (creating when missing) the data directory.
    pub fn open(root: &Path) -> io::Result<Store> {
        fs::create_dir_all(root.join("blobs/sha256"))?;
        fs::create_dir_all(root.join("uploads"))?;
        let conn = Connection::open(root.join("meta.sqlite")).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Ok(Store {
            root: root.to_path_buf(),
            db: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The file of a committed blob (`hex` is the sha256 in hex, already validated).
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(hex)
    }

    /// The directory that is an OCI layout's `blobs/`.
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// The file an upload writes to.
    pub fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// Moves a finished, fsynced upload file into place as blob `hex`, durably.
    pub fn commit_file(&self, tmp: &Path, hex: &str) -> io::Result<()> {
        let dest = self.blob_path(hex);
        if dest.exists() {
            // Fresh again: garbage collection spares blobs touched within its grace window,
            // so an old unreferenced blob pushed anew is not collected before its link lands.
            fs::File::options()
                .write(true)
                .open(&dest)?
                .set_modified(std::time::SystemTime::now())?;
            fs::remove_file(tmp)?;
        } else {
            fs::rename(tmp, &dest)?;
            fs::File::open(self.root.join("blobs/sha256"))?.sync_all()?;
        }
        Ok(())
    }

    /// Records blob `digest` as committed and linked into `repo`.
    pub fn link_blob(&self, repo: &str, digest: &str, size: u64) -> io::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT OR IGNORE INTO blobs (digest, size) VALUES (?1, ?2)",
            params![digest, size as i64],
        )
        .map_err(db_err)?;
        tx.execute(
            "INSERT OR IGNORE INTO repo_blobs (repo, digest) VALUES (?1, ?2)",
            params![repo, digest],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// The size of `digest` if it is committed and linked into `repo`.
    pub fn repo_blob(&self, repo: &str, digest: &str) -> io::Result<Option<u64>> {
        self.conn()
            .query_row(
                "SELECT b.size FROM repo_blobs r JOIN blobs b ON b.digest = r.digest
                 WHERE r.repo = ?1 AND r.digest = ?2",
                params![repo, digest],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|o| o.map(|s| s as u64))
            .map_err(db_err)
    }

    /// Removes `digest`'s link from `repo`; false when it was not linked.
    pub fn unlink_blob(&self, repo: &str, digest: &str) -> io::Result<bool> {
        self.conn()
            .execute(
                "DELETE FROM repo_blobs WHERE repo = ?1 AND digest = ?2",
                params![repo, digest],
            )
            .map(|n| n > 0)
            .map_err(db_err)
    }

    /// Starts an upload session.
    pub fn create_upload(&self, repo: &str, id: &str) -> io::Result<()> {
        self.conn()
            .execute(
                "INSERT INTO uploads (id, repo) VALUES (?1, ?2)",
                params![id, repo],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// Whether upload `id` exists for `repo`.
    pub fn upload_exists(&self, repo: &str, id: &str) -> io::Result<bool> {
        self.conn()
            .query_row(
                "SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2",
                params![id, repo],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(db_err)
    }

    /// Forgets upload `id` and removes its file.
    pub fn delete_upload(&self, id: &str) -> io::Result<()> {
        self.conn()
            .execute("DELETE FROM uploads WHERE id = ?1", params![id])
            .map_err(db_err)?;
        match fs::remove_file(self.upload_path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether every digest in `digests` is committed and linked into `repo` (blobs) and the
    /// first missing one otherwise.
    pub fn missing_blob(&self, repo: &str, digests: &[String]) -> io::Result<Option<String>> {
        for d in digests {
            if self.repo_blob(repo, d)?.is_none() {
                return Ok(Some(d.clone()));
            }
        }
        Ok(None)
    }

    /// The first of `digests` that is not a manifest of `repo`.
    pub fn missing_manifest(&self, repo: &str, digests: &[String]) -> io::Result<Option<String>> {
        for d in digests {
            if self.manifest_by_digest(repo, d)?.is_none() {
                return Ok(Some(d.clone()));
            }
        }
        Ok(None)
    }

    /// Records a manifest (and its tag), replacing any earlier row for the same digest.
    pub fn put_manifest(&self, m: &NewManifest<'_>) -> io::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT INTO blobs (digest, size) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![m.digest, m.size as i64],
        )
        .map_err(db_err)?;
        tx.execute(
            "INSERT INTO manifests (repo, digest, media_type, artifact_type, subject, size,
                                    annotations, status, verdict, container)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (repo, digest) DO NOTHING",
            params![
                m.repo,
                m.digest,
                m.media_type,
                m.artifact_type,
                m.subject,
                m.size as i64,
                m.annotations,
                m.status,
                m.verdict,
                m.container
            ],
        )
        .map_err(db_err)?;
        for c in m.children {
            tx.execute(
                "INSERT OR IGNORE INTO manifest_children (repo, parent, child) VALUES (?1, ?2, ?3)",
                params![m.repo, m.digest, c],
            )
            .map_err(db_err)?;
        }
        if let Some(tag) = m.tag {
            tx.execute(
                "INSERT INTO tags (repo, tag, digest) VALUES (?1, ?2, ?3)
                 ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest",
                params![m.repo, tag, m.digest],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// The digest a tag points at.
    pub fn tag(&self, repo: &str, tag: &str) -> io::Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2",
                params![repo, tag],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    /// A manifest of `repo` by digest.
    pub fn manifest_by_digest(&self, repo: &str, digest: &str) -> io::Result<Option<ManifestRow>> {
        self.conn()
            .query_row(
                "SELECT digest, media_type, artifact_type, size, annotations, status, verdict, container
                 FROM manifests WHERE repo = ?1 AND digest = ?2",
                params![repo, digest],
                row,
            )
            .optional()
            .map_err(db_err)
    }

    /// Deletes a manifest and every tag pointing at it; false when it did not exist.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> io::Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        let n = tx
            .execute(
                "DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
                params![repo, digest],
            )
            .map_err(db_err)?;
        tx.execute(
            "DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
            params![repo, digest],
        )
        .map_err(db_err)?;
        tx.execute(
            "DELETE FROM manifest_children WHERE repo = ?1 AND parent = ?2",
            params![repo, digest],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(n > 0)
    }

    /// Deletes a tag; false when it did not exist.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> io::Result<bool> {
        self.conn()
            .execute(
                "DELETE FROM tags WHERE repo = ?1 AND tag = ?2",
                params![repo, tag],
            )
            .map(|n| n > 0)
            .map_err(db_err)
    }

    /// Whether anything (a blob link, manifest or tag) exists in `repo`.
    pub fn repo_exists(&self, repo: &str) -> io::Result<bool> {
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM manifests WHERE repo = ?1)
                     OR EXISTS (SELECT 1 FROM repo_blobs WHERE repo = ?1)
                     OR EXISTS (SELECT 1 FROM tags WHERE repo = ?1)",
                params![repo],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    /// Up to `n` tags of `repo` after `last`, in lexical order, and whether more follow.
    pub fn tags(
        &self,
        repo: &str,
        last: Option<&str>,
        n: Option<usize>,
    ) -> io::Result<(Vec<String>, bool)> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2 ORDER BY tag LIMIT ?3")
            .map_err(db_err)?;
        let limit = n.map_or(-1, |n| n as i64 + 1);
        let mut tags = stmt
            .query_map(params![repo, last.unwrap_or(""), limit], |r| r.get(0))
            .map_err(db_err)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(db_err)?;
        let more = n.is_some_and(|n| tags.len() > n);
        if let Some(n) = n {
            tags.truncate(n);
        }
        Ok((tags, more))
    }

    /// Up to `n` repositories after `last`, in lexical order, and whether more follow.
    pub fn repositories(
        &self,
        last: Option<&str>,
        n: Option<usize>,
    ) -> io::Result<(Vec<String>, bool)> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT DISTINCT repo FROM manifests WHERE repo > ?1 ORDER BY repo LIMIT ?2")
            .map_err(db_err)?;
        let limit = n.map_or(-1, |n| n as i64 + 1);
        let mut repos = stmt
            .query_map(params![last.unwrap_or(""), limit], |r| r.get(0))
            .map_err(db_err)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(db_err)?;
        let more = n.is_some_and(|n| repos.len() > n);
        if let Some(n) = n {
            repos.truncate(n);
        }
        Ok((repos, more))
    }

    /// The manifests of `repo` whose subject is `digest`, optionally of one artifact type.
    pub fn referrers(
        &self,
        repo: &str,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> io::Result<Vec<ManifestRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT digest, media_type, artifact_type, size, annotations, status, verdict, container
                 FROM manifests WHERE repo = ?1 AND subject = ?2
                 AND (?3 IS NULL OR artifact_type = ?3) ORDER BY created, digest",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![repo, digest, artifact_type], row)
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err);
        rows
    }

    /// Records a new verdict for a manifest and the vulnerability ids found in it.
    pub fn set_verdict(
        &self,
        repo: &str,
        digest: &str,
        status: &str,
        verdict: Option<&str>,
        findings: &[String],
    ) -> io::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "UPDATE manifests SET status = ?3, verdict = ?4 WHERE repo = ?1 AND digest = ?2",
            params![repo, digest, status, verdict],
        )
        .map_err(db_err)?;
        tx.execute(
            "DELETE FROM findings WHERE repo = ?1 AND digest = ?2",
            params![repo, digest],
        )
        .map_err(db_err)?;
        for id in findings {
            tx.execute(
                "INSERT OR IGNORE INTO findings (repo, digest, id) VALUES (?1, ?2, ?3)",
                params![repo, digest, id],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// Removes blob files nothing refers to (no repository link, no manifest, not named by
    /// any stored manifest) and abandoned uploads, sparing everything written or touched
    /// within `grace` so pushes in flight lose nothing.
    pub fn gc(&self, grace: std::time::Duration) -> io::Result<GcReport> {
        let mut keep: std::collections::HashSet<String> = std::collections::HashSet::new();
        let manifests: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT digest FROM repo_blobs UNION SELECT digest FROM manifests")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            keep.extend(rows);
            let mut stmt = conn
                .prepare("SELECT DISTINCT digest FROM manifests")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err);
            rows?
        };
        for m in &manifests {
            let Some(hex) = m.strip_prefix("sha256:") else {
                continue;
            };
            if let Ok(bytes) = fs::read(self.blob_path(hex)) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    keep.extend(v["config"]["digest"].as_str().map(str::to_string));
                    for l in v["layers"].as_array().into_iter().flatten() {
                        keep.extend(l["digest"].as_str().map(str::to_string));
                    }
                }
            }
        }
        let now = std::time::SystemTime::now();
        let old = |p: &Path| -> bool {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > grace))
        };
        let mut report = GcReport::default();
        for entry in fs::read_dir(self.root.join("blobs/sha256"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let digest = format!("sha256:{name}");
            if keep.contains(&digest) || !old(&entry.path()) {
                continue;
            }
            // Re-check under the lock: a link may have landed since the scan began.
            let conn = self.conn();
            let linked: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = ?1)
                         OR EXISTS (SELECT 1 FROM manifests WHERE digest = ?1)",
                    params![digest],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if linked {
                continue;
            }
            report.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path())?;
            conn.execute("DELETE FROM blobs WHERE digest = ?1", params![digest])
                .map_err(db_err)?;
            report.blobs += 1;
        }
        for entry in fs::read_dir(self.root.join("uploads"))? {
            let entry = entry?;
            if !old(&entry.path()) {
                continue;
            }
            let id = entry.file_name().to_string_lossy().into_owned();
            self.conn()
                .execute("DELETE FROM uploads WHERE id = ?1", params![id])
                .map_err(db_err)?;
            fs::remove_file(entry.path())?;
            report.uploads += 1;
        }
        Ok(report)
    }

    /// Records a reviewed exception (every grant is kept, as the record).
    pub fn add_exception(
        &self,
        repo: &str,
        digest: &str,
        reason: &str,
        granted_by: &str,
        granted_at: u64,
        expires: u64,
    ) -> io::Result<()> {
        self.conn()
            .execute(
                "INSERT INTO exceptions (repo, digest, reason, granted_by, granted_at, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    repo,
                    digest,
                    reason,
                    granted_by,
                    granted_at as i64,
                    expires as i64
                ],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// The latest-expiring exception for a manifest that is still in force at `now`:
    /// (reason, granted_by, granted_at, expires).
    pub fn exception(&self, repo: &str, digest: &str, now: u64) -> io::Result<Option<Exception>> {
        self.conn()
            .query_row(
                "SELECT reason, granted_by, granted_at, expires FROM exceptions
                 WHERE repo = ?1 AND digest = ?2 AND expires > ?3 ORDER BY expires DESC LIMIT 1",
                params![repo, digest, now as i64],
                |r| {
                    Ok(Exception {
                        reason: r.get(0)?,
                        granted_by: r.get(1)?,
                        granted_at: r.get::<_, i64>(2)? as u64,
                        expires: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()
            .map_err(db_err)
    }

    /// Every stored manifest a vulnerability id was found in: (repo, digest, status, tags).
    pub fn cve_hits(&self, id: &str) -> io::Result<Vec<CveHit>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT f.repo, f.digest, m.status,
                        (SELECT group_concat(t.tag, ' ') FROM tags t WHERE t.repo = f.repo AND t.digest = f.digest)
                 FROM findings f JOIN manifests m ON m.repo = f.repo AND m.digest = f.digest
                 WHERE f.id = ?1 ORDER BY f.repo, f.digest",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![id], |r| {
                let tags: Option<String> = r.get(3)?;
                let mut tags: Vec<String> = tags
                    .unwrap_or_default()
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                tags.sort();
                Ok(CveHit {
                    repo: r.get(0)?,
                    digest: r.get(1)?,
                    status: r.get(2)?,
                    tags,
                })
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err);
        rows
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ManifestRow> {
    Ok(ManifestRow {
        digest: r.get(0)?,
        media_type: r.get(1)?,
        artifact_type: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        annotations: r.get(4)?,
        status: r.get(5)?,
        verdict: r.get(6)?,
        container: r.get(7)?,
    })
}
