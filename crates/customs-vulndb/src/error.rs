//! The crate's error type: every failure names the file, URL or source it concerns.

use std::path::PathBuf;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
/// Why a database could not be built, read or updated.
pub enum Error {
    #[error("no vulnerability database at {}; run `customs db update` or `customs db import PATH`", .0.display())]
    /// There is no database file at the path.
    Missing(PathBuf),
    #[error("vulnerability database {} is corrupt ({reason}); re-run `customs db update` or `customs db import PATH`", path.display())]
    /// The database file is damaged or not a customs database.
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    #[error("vulnerability database {} has schema version {found}, this customs reads version {expected}; re-run `customs db update` or `customs db import PATH`", path.display())]
    /// The database was written by a customs with another schema.
    WrongSchema {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The version this customs reads.
        expected: u32,
    },
    #[error("{}: {source}", path.display())]
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        #[source]
        /// The I/O error.
        source: std::io::Error,
    },
    #[error("cannot read advisory source {location}: {reason}")]
    /// An advisory source could not be read.
    Source {
        /// The path or URL of the source.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error("download of {url} failed: {reason}")]
    /// A download failed.
    Download {
        /// The URL.
        url: String,
        /// Why it failed.
        reason: String,
    },
    #[error("refusing {url}: only https:// (or http:// on loopback) and file:// URLs are allowed")]
    /// A URL that is neither `https://`, loopback `http://` nor `file://`.
    InsecureUrl {
        /// The URL refused.
        url: String,
    },
    #[error(
        "{mirror} publishes none of the requested ecosystems; the database was left as it was"
    )]
    /// No requested ecosystem was found at the mirror, so the database was not replaced.
    NothingPublished {
        /// The mirror's base URL.
        mirror: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn source(location: impl Into<String>, reason: impl ToString) -> Self {
        Error::Source {
            location: location.into(),
            reason: reason.to_string(),
        }
    }
}
