//! rpm's SQLite backend (`rpmdb.sqlite`, rpm 4.16 and later: Fedora 33+, RHEL 9, ...): the
//! `blob` column of the `Packages` table holds one rpm header per row.
//!
//! The database is opened from memory (`sqlite3_deserialize`), never from the image's file
//! on the host. A database left in WAL mode is read as a rollback-journal one (header bytes
//! 18 and 19 set to 1 in our copy), because the in-memory VFS cannot open WAL databases;
//! content still in a `-wal` file is not seen, as with Trivy and Syft.

use std::io::Read;

use rusqlite::{Connection, OpenFlags, MAIN_DB};

use crate::ExtractError;

const FORMAT: &str = "rpm SQLite";

/// `SQLite format 3\0`.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Calls `f` with every header blob of the `Packages` table, in `hnum` order.
pub fn for_each_blob(
    data: &[u8],
    f: &mut dyn FnMut(&[u8]) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    if data.len() < 100 || &data[..16] != MAGIC {
        return Err(malformed("not a SQLite 3 database"));
    }
    let mut header = [0u8; 100];
    header.copy_from_slice(&data[..100]);
    if header[18] == 2 || header[19] == 2 {
        header[18] = 1;
        header[19] = 1;
    }
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    conn.deserialize_read_exact(MAIN_DB, (&header[..]).chain(&data[100..]), data.len(), true)
        .map_err(sql)?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let blob = row.get_ref(0).map_err(sql)?;
        let bytes = blob
            .as_blob()
            .map_err(|_| malformed("Packages.blob is not a BLOB"))?;
        f(bytes)?;
    }
    Ok(())
}

fn sql(e: rusqlite::Error) -> ExtractError {
    malformed(e.to_string())
}

fn malformed(reason: impl Into<String>) -> ExtractError {
    ExtractError::malformed(FORMAT, reason)
}
