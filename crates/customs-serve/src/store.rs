//! Storage: blobs, uploads in progress and metadata (which repository links which blob,
//! manifests, tags, referrers, verdicts), and what every replica must agree on: API-made
//! robot accounts and the token server's signing key.
//!
//! The embedded default keeps blobs as files under `blobs/sha256/`, uploads under `uploads/`,
//! and metadata in SQLite. A blob or manifest becomes visible only after its file is fsynced,
//! renamed into place and its directory fsynced, and then its row committed, so a crash at
//! any point leaves either nothing or the whole thing.
//!
//! Scale-out (`[storage]` in serve.toml) keeps metadata in PostgreSQL and blobs in an
//! S3-compatible bucket (through `object_store`), shared by every replica. A committed blob
//! is uploaded to a temporary key while the bytes sent are hashed, checked against its digest
//! and stored size, copied to `blobs/sha256/<hex>` and only then linked in a PostgreSQL
//! transaction: the same "visible only once durable" rule. Each replica keeps a local cache
//! of blobs under its data directory (fetched and verified on first use), which the gates
//! read as an OCI layout; uploads in progress stay on the replica that started them.
//!
//! PostgreSQL is reached through the `postgres` crate (the blocking face of
//! `tokio-postgres`, the maintained native-protocol client): the store's calls are
//! synchronous like rusqlite's, so one set of SQL (`$n` placeholders, `ON CONFLICT`) serves
//! both databases, and each call leaves the async runtime with `block_in_place`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

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
CREATE TABLE IF NOT EXISTS robots (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
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

const PG_SCHEMA: &str = "
SELECT pg_advisory_lock(7214);
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS repo_blobs (
    repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, digest));
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
    artifact_type TEXT, subject TEXT, size BIGINT NOT NULL, annotations TEXT,
    status TEXT NOT NULL DEFAULT 'passed', verdict TEXT,
    container BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT (extract(epoch from now())::bigint),
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
    granted_at BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, repo TEXT NOT NULL,
    started BIGINT NOT NULL DEFAULT (extract(epoch from now())::bigint));
CREATE TABLE IF NOT EXISTS robots (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
SELECT pg_advisory_unlock(7214);
";

/// A statement parameter. Statements number them `$1`, `$2`, … (first uses in order), which
/// SQLite and PostgreSQL both accept.
#[derive(Clone, Copy)]
enum P<'a> {
    T(Option<&'a str>),
    I(i64),
}

fn t(s: &str) -> P<'_> {
    P::T(Some(s))
}

/// A column value read back.
#[derive(Debug, Clone)]
enum Val {
    Null,
    I(i64),
    T(String),
    B(bool),
}

impl Val {
    fn text(self) -> Option<String> {
        match self {
            Val::T(s) => Some(s),
            _ => None,
        }
    }
    fn int(&self) -> i64 {
        match self {
            Val::I(i) => *i,
            Val::B(b) => i64::from(*b),
            _ => 0,
        }
    }
    fn truthy(&self) -> bool {
        self.int() != 0
    }
}

/// The metadata database.
enum Db {
    Lite(Mutex<Connection>),
    Pg(Mutex<postgres::Client>),
}

fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("metadata database: {e}"))
}

fn pg_err(e: postgres::Error) -> io::Error {
    io::Error::other(format!("metadata database (PostgreSQL): {e}"))
}

fn os_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        e => io::Error::other(format!("object storage: {e}")),
    }
}

fn lite_params(ps: &[P<'_>]) -> Vec<rusqlite::types::Value> {
    ps.iter()
        .map(|p| match p {
            P::T(Some(s)) => rusqlite::types::Value::Text((*s).to_string()),
            P::T(None) => rusqlite::types::Value::Null,
            P::I(i) => rusqlite::types::Value::Integer(*i),
        })
        .collect()
}

fn lite_exec(c: &Connection, sql: &str, ps: &[P<'_>]) -> rusqlite::Result<u64> {
    c.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(lite_params(ps)))
        .map(|n| n as u64)
}

fn lite_rows(c: &Connection, sql: &str, ps: &[P<'_>]) -> rusqlite::Result<Vec<Vec<Val>>> {
    let mut stmt = c.prepare_cached(sql)?;
    let cols = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(lite_params(ps)))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut v = Vec::with_capacity(cols);
        for i in 0..cols {
            use rusqlite::types::ValueRef;
            v.push(match r.get_ref(i)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(i) => Val::I(i),
                ValueRef::Real(f) => Val::I(f as i64),
                ValueRef::Text(b) | ValueRef::Blob(b) => {
                    Val::T(String::from_utf8_lossy(b).into_owned())
                }
            });
        }
        out.push(v);
    }
    Ok(out)
}

fn pg_params<'a>(ps: &'a [P<'a>]) -> Vec<Box<dyn postgres::types::ToSql + Sync + 'a>> {
    ps.iter()
        .map(|p| -> Box<dyn postgres::types::ToSql + Sync + 'a> {
            match p {
                P::T(s) => Box::new(*s),
                P::I(i) => Box::new(*i),
            }
        })
        .collect()
}

fn pg_exec<C: postgres::GenericClient>(
    c: &mut C,
    sql: &str,
    ps: &[P<'_>],
) -> Result<u64, postgres::Error> {
    let boxed = pg_params(ps);
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = boxed.iter().map(|b| &**b).collect();
    c.execute(sql, &refs)
}

fn pg_rows<C: postgres::GenericClient>(
    c: &mut C,
    sql: &str,
    ps: &[P<'_>],
) -> Result<Vec<Vec<Val>>, postgres::Error> {
    use postgres::types::Type;
    let boxed = pg_params(ps);
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = boxed.iter().map(|b| &**b).collect();
    let mut out = Vec::new();
    for r in c.query(sql, &refs)? {
        let mut v = Vec::with_capacity(r.len());
        for (i, col) in r.columns().iter().enumerate() {
            let ty = col.type_();
            v.push(if *ty == Type::INT8 {
                r.try_get::<_, Option<i64>>(i)?.map_or(Val::Null, Val::I)
            } else if *ty == Type::INT4 {
                r.try_get::<_, Option<i32>>(i)?
                    .map_or(Val::Null, |x| Val::I(i64::from(x)))
            } else if *ty == Type::BOOL {
                r.try_get::<_, Option<bool>>(i)?.map_or(Val::Null, Val::B)
            } else {
                r.try_get::<_, Option<String>>(i)?.map_or(Val::Null, Val::T)
            });
        }
        out.push(v);
    }
    Ok(out)
}

/// Leaves the async runtime (when on one) for a blocking PostgreSQL call.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl Db {
    fn exec(&self, sql: &str, ps: &[P<'_>]) -> io::Result<u64> {
        match self {
            Db::Lite(c) => lite_exec(&lock(c), sql, ps).map_err(db_err),
            Db::Pg(c) => blocking(|| pg_exec(&mut *lock(c), sql, ps)).map_err(pg_err),
        }
    }

    fn rows(&self, sql: &str, ps: &[P<'_>]) -> io::Result<Vec<Vec<Val>>> {
        match self {
            Db::Lite(c) => lite_rows(&lock(c), sql, ps).map_err(db_err),
            Db::Pg(c) => blocking(|| pg_rows(&mut *lock(c), sql, ps)).map_err(pg_err),
        }
    }

    fn first(&self, sql: &str, ps: &[P<'_>]) -> io::Result<Option<Vec<Val>>> {
        Ok(self.rows(sql, ps)?.into_iter().next())
    }

    /// Runs every statement in one transaction; the number of rows each touched.
    fn tx(&self, stmts: &[(&str, Vec<P<'_>>)]) -> io::Result<Vec<u64>> {
        match self {
            Db::Lite(c) => {
                let mut c = lock(c);
                let tx = c.transaction().map_err(db_err)?;
                let mut n = Vec::new();
                for (sql, ps) in stmts {
                    n.push(lite_exec(&tx, sql, ps).map_err(db_err)?);
                }
                tx.commit().map_err(db_err)?;
                Ok(n)
            }
            Db::Pg(c) => blocking(|| {
                let mut c = lock(c);
                let mut tx = c.transaction()?;
                let mut n = Vec::new();
                for (sql, ps) in stmts {
                    n.push(pg_exec(&mut tx, sql, ps)?);
                }
                tx.commit()?;
                Ok(n)
            })
            .map_err(pg_err),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Blob storage and metadata.
pub(crate) struct Store {
    root: PathBuf,
    db: Db,
    remote: Option<Arc<dyn ObjectStore>>,
}

/// The part of a blob transfer handled at once (also the multipart part size).
const CHUNK: usize = 8 * 1024 * 1024;

impl Store {
    /// Opens the data directory, and with `storage` the shared PostgreSQL and S3 bucket
    /// (the data directory then holds uploads in progress and a cache of blobs).
    pub fn open_with(
        root: &Path,
        storage: Option<&crate::config::StorageConfig>,
    ) -> io::Result<Store> {
        fs::create_dir_all(root.join("blobs/sha256"))?;
        fs::create_dir_all(root.join("uploads"))?;
        let Some(cfg) = storage else {
            let conn = Connection::open(root.join("meta.sqlite")).map_err(db_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(db_err)?;
            conn.execute_batch(SCHEMA).map_err(db_err)?;
            return Ok(Store {
                root: root.to_path_buf(),
                db: Db::Lite(Mutex::new(conn)),
                remote: None,
            });
        };
        let mut client = blocking(|| postgres::Client::connect(&cfg.postgres, postgres::NoTls))
            .map_err(pg_err)?;
        blocking(|| client.batch_execute(PG_SCHEMA)).map_err(pg_err)?;
        let s3 = &cfg.s3;
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&s3.bucket)
            .with_allow_http(s3.allow_http);
        if let Some(e) = &s3.endpoint {
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let Some(r) = &s3.region {
            b = b.with_region(r);
        }
        if let Some(k) = &s3.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s3.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        let remote = b.build().map_err(os_err)?;
        Ok(Store {
            root: root.to_path_buf(),
            db: Db::Pg(Mutex::new(client)),
            remote: Some(Arc::new(remote)),
        })
    }

    /// The file of a committed blob (`hex` is the sha256 in hex, already validated). With
    /// object storage, call [`Store::ensure_local`] first.
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

    /// With object storage, stores blob `hex` (the file `src`) in the bucket: the bytes
    /// go to a temporary key while being hashed, the hash and stored size are checked, and
    /// only then is it copied to its own key. Every push writes the key anew (the same bytes,
    /// one copy), which also renews its age for garbage collection's grace window.
    pub async fn publish(&self, src: &Path, hex: &str) -> io::Result<()> {
        let Some(os) = &self.remote else {
            return Ok(());
        };
        use tokio::io::AsyncReadExt;
        let final_key = object_store::path::Path::from(format!("blobs/sha256/{hex}"));
        let tmp_key = object_store::path::Path::from(format!("uploads/{hex}.{}", random_suffix()?));
        let mut file = tokio::fs::File::open(src).await?;
        let upload = os.put_multipart(&tmp_key).await.map_err(os_err)?;
        let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut h = Sha256::new();
        let mut sent: u64 = 0;
        let mut buf = vec![0u8; 256 * 1024];
        let result: io::Result<()> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                sent += n as u64;
                w.wait_for_capacity(2).await.map_err(os_err)?;
                w.write(&buf[..n]);
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = w.abort().await;
            return Err(e);
        }
        w.finish().await.map_err(os_err)?;
        let check = async {
            let got = hex::encode(h.finalize());
            if got != hex {
                return Err(io::Error::other(format!(
                    "object storage: sent sha256:{got}, expected sha256:{hex}"
                )));
            }
            let meta = os.head(&tmp_key).await.map_err(os_err)?;
            if meta.size != sent {
                return Err(io::Error::other(format!(
                    "object storage: stored {} bytes of sha256:{hex}, sent {sent}",
                    meta.size
                )));
            }
            os.copy(&tmp_key, &final_key).await.map_err(os_err)
        }
        .await;
        let _ = os.delete(&tmp_key).await;
        check
    }

    /// With object storage, makes blob `hex` present in the local cache, fetching it and
    /// verifying its digest when missing. NotFound when the bucket has no such blob.
    pub async fn ensure_local(&self, hex: &str) -> io::Result<()> {
        let Some(os) = &self.remote else {
            return Ok(());
        };
        let dest = self.blob_path(hex);
        if tokio::fs::try_exists(&dest).await? {
            return Ok(());
        }
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let key = object_store::path::Path::from(format!("blobs/sha256/{hex}"));
        let got = os.get(&key).await.map_err(os_err)?;
        let tmp = self.upload_path(&format!("fetch-{hex}.{}", random_suffix()?));
        let result: io::Result<()> = async {
            let mut f = tokio::fs::File::create(&tmp).await?;
            let mut h = Sha256::new();
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(os_err)?;
                h.update(&chunk);
                f.write_all(&chunk).await?;
            }
            f.sync_all().await?;
            let d = hex::encode(h.finalize());
            if d != hex {
                return Err(io::Error::other(format!(
                    "object storage returned sha256:{d} for sha256:{hex}"
                )));
            }
            tokio::fs::rename(&tmp, &dest).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Records blob `digest` as committed and linked into `repo`.
    pub fn link_blob(&self, repo: &str, digest: &str, size: u64) -> io::Result<()> {
        self.db
            .tx(&[
                (
                    "INSERT INTO blobs (digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    vec![t(digest), P::I(size as i64)],
                ),
                (
                    "INSERT INTO repo_blobs (repo, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    vec![t(repo), t(digest)],
                ),
            ])
            .map(|_| ())
    }

    /// The size of `digest` if it is committed and linked into `repo`.
    pub fn repo_blob(&self, repo: &str, digest: &str) -> io::Result<Option<u64>> {
        Ok(self
            .db
            .first(
                "SELECT b.size FROM repo_blobs r JOIN blobs b ON b.digest = r.digest
                 WHERE r.repo = $1 AND r.digest = $2",
                &[t(repo), t(digest)],
            )?
            .map(|r| r[0].int() as u64))
    }

    /// Removes `digest`'s link from `repo`; false when it was not linked.
    pub fn unlink_blob(&self, repo: &str, digest: &str) -> io::Result<bool> {
        self.db
            .exec(
                "DELETE FROM repo_blobs WHERE repo = $1 AND digest = $2",
                &[t(repo), t(digest)],
            )
            .map(|n| n > 0)
    }

    /// Starts an upload session.
    pub fn create_upload(&self, repo: &str, id: &str) -> io::Result<()> {
        self.db
            .exec(
                "INSERT INTO uploads (id, repo) VALUES ($1, $2)",
                &[t(id), t(repo)],
            )
            .map(|_| ())
    }

    /// Whether upload `id` exists for `repo`.
    pub fn upload_exists(&self, repo: &str, id: &str) -> io::Result<bool> {
        Ok(self
            .db
            .first(
                "SELECT 1 FROM uploads WHERE id = $1 AND repo = $2",
                &[t(id), t(repo)],
            )?
            .is_some())
    }

    /// Forgets upload `id` and removes its file.
    pub fn delete_upload(&self, id: &str) -> io::Result<()> {
        self.db
            .exec("DELETE FROM uploads WHERE id = $1", &[t(id)])?;
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
        let mut stmts: Vec<(&str, Vec<P<'_>>)> = vec![
            (
                "INSERT INTO blobs (digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                vec![t(m.digest), P::I(m.size as i64)],
            ),
            (
                "INSERT INTO manifests (repo, digest, media_type, artifact_type, subject, size,
                                        annotations, status, verdict, container)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (repo, digest) DO NOTHING",
                vec![
                    t(m.repo),
                    t(m.digest),
                    t(m.media_type),
                    P::T(m.artifact_type),
                    P::T(m.subject),
                    P::I(m.size as i64),
                    P::T(m.annotations.as_deref()),
                    t(m.status),
                    P::T(m.verdict.as_deref()),
                    P::I(i64::from(m.container)),
                ],
            ),
        ];
        for c in m.children {
            stmts.push((
                "INSERT INTO manifest_children (repo, parent, child) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                vec![t(m.repo), t(m.digest), t(c)],
            ));
        }
        if let Some(tag) = m.tag {
            stmts.push((
                "INSERT INTO tags (repo, tag, digest) VALUES ($1, $2, $3)
                 ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest",
                vec![t(m.repo), t(tag), t(m.digest)],
            ));
        }
        self.db.tx(&stmts).map(|_| ())
    }

    /// The digest a tag points at.
    pub fn tag(&self, repo: &str, tag: &str) -> io::Result<Option<String>> {
        Ok(self
            .db
            .first(
                "SELECT digest FROM tags WHERE repo = $1 AND tag = $2",
                &[t(repo), t(tag)],
            )?
            .and_then(|mut r| r.swap_remove(0).text()))
    }

    /// A manifest of `repo` by digest.
    pub fn manifest_by_digest(&self, repo: &str, digest: &str) -> io::Result<Option<ManifestRow>> {
        Ok(self
            .db
            .first(
                "SELECT digest, media_type, artifact_type, size, annotations, status, verdict, container
                 FROM manifests WHERE repo = $1 AND digest = $2",
                &[t(repo), t(digest)],
            )?
            .map(row))
    }

    /// Deletes a manifest and every tag pointing at it; false when it did not exist.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> io::Result<bool> {
        let n = self.db.tx(&[
            (
                "DELETE FROM manifests WHERE repo = $1 AND digest = $2",
                vec![t(repo), t(digest)],
            ),
            (
                "DELETE FROM tags WHERE repo = $1 AND digest = $2",
                vec![t(repo), t(digest)],
            ),
            (
                "DELETE FROM manifest_children WHERE repo = $1 AND parent = $2",
                vec![t(repo), t(digest)],
            ),
        ])?;
        Ok(n[0] > 0)
    }

    /// Deletes a tag; false when it did not exist.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> io::Result<bool> {
        self.db
            .exec(
                "DELETE FROM tags WHERE repo = $1 AND tag = $2",
                &[t(repo), t(tag)],
            )
            .map(|n| n > 0)
    }

    /// Whether anything (a blob link, manifest or tag) exists in `repo`.
    pub fn repo_exists(&self, repo: &str) -> io::Result<bool> {
        Ok(self
            .db
            .first(
                "SELECT EXISTS (SELECT 1 FROM manifests WHERE repo = $1)
                     OR EXISTS (SELECT 1 FROM repo_blobs WHERE repo = $1)
                     OR EXISTS (SELECT 1 FROM tags WHERE repo = $1)",
                &[t(repo)],
            )?
            .is_some_and(|r| r[0].truthy()))
    }

    fn page(
        &self,
        sql: &str,
        first: Option<&str>,
        last: Option<&str>,
        n: Option<usize>,
    ) -> io::Result<(Vec<String>, bool)> {
        let limit = n.map_or(i64::MAX, |n| n as i64 + 1);
        let mut ps = Vec::new();
        if let Some(f) = first {
            ps.push(t(f));
        }
        ps.push(t(last.unwrap_or("")));
        ps.push(P::I(limit));
        let mut items: Vec<String> = self
            .db
            .rows(sql, &ps)?
            .into_iter()
            .filter_map(|mut r| r.swap_remove(0).text())
            .collect();
        let more = n.is_some_and(|n| items.len() > n);
        if let Some(n) = n {
            items.truncate(n);
        }
        Ok((items, more))
    }

    /// Up to `n` tags of `repo` after `last`, in lexical order, and whether more follow.
    pub fn tags(
        &self,
        repo: &str,
        last: Option<&str>,
        n: Option<usize>,
    ) -> io::Result<(Vec<String>, bool)> {
        self.page(
            "SELECT tag FROM tags WHERE repo = $1 AND tag > $2 ORDER BY tag LIMIT $3",
            Some(repo),
            last,
            n,
        )
    }

    /// Up to `n` repositories after `last`, in lexical order, and whether more follow.
    pub fn repositories(
        &self,
        last: Option<&str>,
        n: Option<usize>,
    ) -> io::Result<(Vec<String>, bool)> {
        self.page(
            "SELECT DISTINCT repo FROM manifests WHERE repo > $1 ORDER BY repo LIMIT $2",
            None,
            last,
            n,
        )
    }

    /// The manifests of `repo` whose subject is `digest`, optionally of one artifact type.
    pub fn referrers(
        &self,
        repo: &str,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> io::Result<Vec<ManifestRow>> {
        Ok(self
            .db
            .rows(
                "SELECT digest, media_type, artifact_type, size, annotations, status, verdict, container
                 FROM manifests WHERE repo = $1 AND subject = $2
                 AND (CAST($3 AS TEXT) IS NULL OR artifact_type = $3) ORDER BY created, digest",
                &[t(repo), t(digest), P::T(artifact_type)],
            )?
            .into_iter()
            .map(row)
            .collect())
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
        let mut stmts: Vec<(&str, Vec<P<'_>>)> = vec![
            (
                "UPDATE manifests SET status = $1, verdict = $2 WHERE repo = $3 AND digest = $4",
                vec![t(status), P::T(verdict), t(repo), t(digest)],
            ),
            (
                "DELETE FROM findings WHERE repo = $1 AND digest = $2",
                vec![t(repo), t(digest)],
            ),
        ];
        for id in findings {
            stmts.push((
                "INSERT INTO findings (repo, digest, id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                vec![t(repo), t(digest), t(id)],
            ));
        }
        self.db.tx(&stmts).map(|_| ())
    }

    /// Every digest something refers to: repository links, manifests, and the config and
    /// layers each stored manifest names (read from the local blob files).
    fn referenced(&self) -> io::Result<std::collections::HashSet<String>> {
        let mut keep = std::collections::HashSet::new();
        let rows = self.db.rows(
            "SELECT digest FROM repo_blobs UNION SELECT digest FROM manifests",
            &[],
        )?;
        keep.extend(rows.into_iter().filter_map(|mut r| r.swap_remove(0).text()));
        let manifests: Vec<String> = self
            .db
            .rows("SELECT DISTINCT digest FROM manifests", &[])?
            .into_iter()
            .filter_map(|mut r| r.swap_remove(0).text())
            .collect();
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
        Ok(keep)
    }

    /// Whether any repository link or manifest names `digest` now.
    fn linked(&self, digest: &str) -> io::Result<bool> {
        Ok(self
            .db
            .first(
                "SELECT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = $1)
                     OR EXISTS (SELECT 1 FROM manifests WHERE digest = $1)",
                &[t(digest)],
            )?
            .is_some_and(|r| r[0].truthy()))
    }

    /// With object storage, removes from the bucket what nothing refers to and is older
    /// than `grace` (blobs, and temporary keys of uploads that died). Call before [`Store::gc`],
    /// which then trims the local cache.
    pub async fn gc_remote(&self, grace: std::time::Duration) -> io::Result<GcReport> {
        let mut report = GcReport::default();
        let Some(os) = &self.remote else {
            return Ok(report);
        };
        use futures_util::StreamExt;
        // The manifests must be local to read the layers they name.
        let manifests: Vec<String> = self
            .db
            .rows("SELECT DISTINCT digest FROM manifests", &[])?
            .into_iter()
            .filter_map(|mut r| r.swap_remove(0).text())
            .collect();
        for m in &manifests {
            if let Some(hex) = m.strip_prefix("sha256:") {
                match self.ensure_local(hex).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        let keep = self.referenced()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut listed = Vec::new();
        let mut stream = os.list(None);
        while let Some(meta) = stream.next().await {
            listed.push(meta.map_err(os_err)?);
        }
        for meta in listed {
            let age = now - meta.last_modified.timestamp();
            let young = age < 0 || (age as u64) < grace.as_secs();
            let key = meta.location.to_string();
            if let Some(hex) = key.strip_prefix("blobs/sha256/") {
                let digest = format!("sha256:{hex}");
                if young || keep.contains(&digest) || self.linked(&digest)? {
                    continue;
                }
                os.delete(&meta.location).await.map_err(os_err)?;
                self.db.exec(
                    "DELETE FROM blobs WHERE digest = $1
                     AND NOT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = $1)
                     AND NOT EXISTS (SELECT 1 FROM manifests WHERE digest = $1)",
                    &[t(&digest)],
                )?;
                let _ = tokio::fs::remove_file(self.blob_path(hex)).await;
                report.blobs += 1;
                report.bytes += meta.size;
            } else if key.starts_with("uploads/") && !young {
                os.delete(&meta.location).await.map_err(os_err)?;
                report.uploads += 1;
            }
        }
        Ok(report)
    }

    /// Removes blob files nothing refers to (no repository link, no manifest, not named by
    /// any stored manifest) and abandoned uploads, sparing everything written or touched
    /// within `grace` so pushes in flight lose nothing. With object storage this trims the
    /// local cache only.
    pub fn gc(&self, grace: std::time::Duration) -> io::Result<GcReport> {
        let keep = self.referenced()?;
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
            if self.remote.is_some() {
                // Only the cache: the bucket's copy is collected by gc_remote.
                if !self.linked(&digest)? {
                    report.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(entry.path())?;
                    report.blobs += 1;
                }
                continue;
            }
            // Re-check under the lock: a link may have landed since the scan began.
            let Db::Lite(c) = &self.db else {
                continue;
            };
            let conn = lock(c);
            let linked = lite_rows(
                &conn,
                "SELECT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = $1)
                     OR EXISTS (SELECT 1 FROM manifests WHERE digest = $1)",
                &[t(&digest)],
            )
            .map_err(db_err)?
            .first()
            .is_some_and(|r| r[0].truthy());
            if linked {
                continue;
            }
            report.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path())?;
            lite_exec(&conn, "DELETE FROM blobs WHERE digest = $1", &[t(&digest)])
                .map_err(db_err)?;
            report.blobs += 1;
        }
        for entry in fs::read_dir(self.root.join("uploads"))? {
            let entry = entry?;
            if !old(&entry.path()) {
                continue;
            }
            let id = entry.file_name().to_string_lossy().into_owned();
            self.db
                .exec("DELETE FROM uploads WHERE id = $1", &[t(&id)])?;
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
        self.db
            .exec(
                "INSERT INTO exceptions (repo, digest, reason, granted_by, granted_at, expires)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    t(repo),
                    t(digest),
                    t(reason),
                    t(granted_by),
                    P::I(granted_at as i64),
                    P::I(expires as i64),
                ],
            )
            .map(|_| ())
    }

    /// The latest-expiring exception for a manifest that is still in force at `now`.
    pub fn exception(&self, repo: &str, digest: &str, now: u64) -> io::Result<Option<Exception>> {
        Ok(self
            .db
            .first(
                "SELECT reason, granted_by, granted_at, expires FROM exceptions
                 WHERE repo = $1 AND digest = $2 AND expires > $3 ORDER BY expires DESC LIMIT 1",
                &[t(repo), t(digest), P::I(now as i64)],
            )?
            .map(|mut r| Exception {
                granted_at: r[2].int() as u64,
                expires: r[3].int() as u64,
                granted_by: std::mem::replace(&mut r[1], Val::Null)
                    .text()
                    .unwrap_or_default(),
                reason: std::mem::replace(&mut r[0], Val::Null)
                    .text()
                    .unwrap_or_default(),
            }))
    }

    /// The stored value of setting `name`; when there is none yet, `value` is stored first.
    /// Every replica that asks for the same setting gets the one value that was stored first.
    pub fn setting_or_insert(&self, name: &str, value: &str) -> io::Result<String> {
        self.db.exec(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[t(name), t(value)],
        )?;
        self.db
            .first("SELECT value FROM settings WHERE name = $1", &[t(name)])?
            .and_then(|mut r| std::mem::replace(&mut r[0], Val::Null).text())
            .ok_or_else(|| io::Error::other(format!("setting {name} was not stored")))
    }

    /// An API-made robot account's record (JSON), by name.
    pub fn robot(&self, name: &str) -> io::Result<Option<String>> {
        Ok(self
            .db
            .first("SELECT body FROM robots WHERE name = $1", &[t(name)])?
            .and_then(|mut r| std::mem::replace(&mut r[0], Val::Null).text()))
    }

    /// Every API-made robot account: its name and record (JSON), by name.
    pub fn robots(&self) -> io::Result<Vec<(String, String)>> {
        Ok(self
            .db
            .rows("SELECT name, body FROM robots ORDER BY name", &[])?
            .into_iter()
            .filter_map(|mut r| {
                let body = std::mem::replace(&mut r[1], Val::Null).text()?;
                Some((std::mem::replace(&mut r[0], Val::Null).text()?, body))
            })
            .collect())
    }

    /// Records a new robot account; false when one of that name exists already.
    pub fn add_robot(&self, name: &str, body: &str) -> io::Result<bool> {
        Ok(self.db.exec(
            "INSERT INTO robots (name, body) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[t(name), t(body)],
        )? == 1)
    }

    /// Removes a robot account; false when there was none of that name.
    pub fn remove_robot(&self, name: &str) -> io::Result<bool> {
        Ok(self
            .db
            .exec("DELETE FROM robots WHERE name = $1", &[t(name)])?
            > 0)
    }

    /// Every stored manifest a vulnerability id was found in, with its tags.
    pub fn cve_hits(&self, id: &str) -> io::Result<Vec<CveHit>> {
        let rows = self.db.rows(
            "SELECT f.repo, f.digest, m.status
             FROM findings f JOIN manifests m ON m.repo = f.repo AND m.digest = f.digest
             WHERE f.id = $1 ORDER BY f.repo, f.digest",
            &[t(id)],
        )?;
        let mut hits = Vec::new();
        for mut r in rows {
            let status = std::mem::replace(&mut r[2], Val::Null)
                .text()
                .unwrap_or_default();
            let digest = std::mem::replace(&mut r[1], Val::Null)
                .text()
                .unwrap_or_default();
            let repo = std::mem::replace(&mut r[0], Val::Null)
                .text()
                .unwrap_or_default();
            let tags = self
                .db
                .rows(
                    "SELECT tag FROM tags WHERE repo = $1 AND digest = $2 ORDER BY tag",
                    &[t(&repo), t(&digest)],
                )?
                .into_iter()
                .filter_map(|mut r| r.swap_remove(0).text())
                .collect();
            hits.push(CveHit {
                repo,
                digest,
                status,
                tags,
            });
        }
        Ok(hits)
    }
}

fn random_suffix() -> io::Result<String> {
    let mut b = [0u8; 12];
    getrandom::getrandom(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(hex::encode(b))
}

fn row(mut r: Vec<Val>) -> ManifestRow {
    let mut take = |i: usize| std::mem::replace(&mut r[i], Val::Null);
    ManifestRow {
        digest: take(0).text().unwrap_or_default(),
        media_type: take(1).text().unwrap_or_default(),
        artifact_type: take(2).text(),
        size: take(3).int() as u64,
        annotations: take(4).text(),
        status: take(5).text().unwrap_or_default(),
        verdict: take(6).text(),
        container: take(7).truthy(),
    }
}
