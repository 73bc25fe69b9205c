//! customs-vulndb turns advisory data (OSV records, Alpine secdb) into one compiled,
//! memory-mapped database file, and matches an inventory against it. It matches packages, not
//! images, and knows nothing of output formats.

pub mod finding;

pub use finding::{FixStatus, Finding, Severity, SeveritySource};
