//! customs-vulndb turns advisory data (OSV records, Alpine secdb) into one compiled,
//! memory-mapped database file, and matches an inventory against it. It matches packages, not
//! images, and knows nothing of output formats or of the command line.
//!
//! ```no_run
//! use customs_vulndb::{build, Database, Source};
//! use std::path::Path;
//! let sources = Source::discover(Path::new("vulndata"))?;
//! build(&sources, Path::new("vuln.db"), None)?;
//! let db = Database::open(Path::new("vuln.db"))?;
//! let advisories = db.lookup("PyPI", "Django")?;
//! # Ok::<(), customs_vulndb::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unnameable_types)]

mod advisory;
pub mod cvss;
pub mod db;
pub mod ecosystem;
mod error;
mod fetch;
pub mod finding;
pub mod import;
mod matcher;
pub mod osv;
mod rating;
pub mod scan;
pub mod secdb;
mod source;
mod suppress;
pub mod update;

pub use advisory::{Advisory, Affected, Event, Range, RangeKind, SeverityEntry};
pub use db::{build, build_bytes, BuildReport, Database, Metadata, Status, SCHEMA_VERSION};
pub use ecosystem::{os_ecosystem, os_ecosystem_candidates, pep503_normalise};
pub use error::{Error, Result};
pub use finding::{Finding, FixStatus, Severity, SeveritySource};
pub use matcher::{match_inventory, match_package, MatchResult};
pub use rating::{CveFacts, Epss, Kev, Rating};
pub use scan::{scan, ScanOutcome, Suppression};
pub use source::{Source, SourceInfo, SourceKind};
pub use suppress::{
    suppress, IgnoreEntry, IgnoreFile, SuppressError, Suppressed, SuppressedBy, SuppressedFinding,
    VexDocument, VexStatement, VexStatus, DEFAULT_IGNOREFILES,
};
pub use update::{update, update_with, NvdApiReport, UpdateEvent, UpdateOptions, UpdateReport};
