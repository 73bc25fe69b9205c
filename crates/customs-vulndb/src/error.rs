//! The crate's error type: every failure names the file, URL or source it concerns.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no vulnerability database at {}; run `customs db update` or `customs db import PATH`", .0.display())]
    Missing(PathBuf),
    #[error("vulnerability database {} is corrupt ({reason}); re-run `customs db update` or `customs db import PATH`", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("vulnerability database {} has schema version {found}, this customs reads version {expected}; re-run `customs db update` or `customs db import PATH`", path.display())]
    WrongSchema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read advisory source {location}: {reason}")]
    Source { location: String, reason: String },
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error("refusing {url}: only https:// (or http:// on loopback) and file:// URLs are allowed")]
    InsecureUrl { url: String },
    #[error(
        "{mirror} publishes none of the requested ecosystems; the database was left as it was"
    )]
    NothingPublished { mirror: String },
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
