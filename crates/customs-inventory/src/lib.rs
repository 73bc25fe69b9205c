//! customs-inventory finds the packages inside an image filesystem: the OS package databases
//! (dpkg, apk, rpm) and language ecosystems (Python, npm, Go, Rust, Java, Ruby, PHP, .NET).
//! It produces the [`Inventory`], the SBOM model that matching and reports consume. It reads
//! files through `customs-image`; it knows nothing of advisories or output formats.
//!
//! Each extractor is a plain function from a file's path and bytes to packages, so it can be
//! tested on a single fixture without an image. Paths handed to extractors are relative to the
//! image root, without a leading `/` (`var/lib/dpkg/status`).

#![deny(missing_docs)]

pub mod ecosystem;
pub mod error;
pub mod json;
pub mod package;
pub mod purl;
pub mod sbom_input;
pub mod scan;
mod severity;
mod text;

// Operating system and OS package databases.
pub mod apk;
pub mod copyright;
pub mod dpkg;
pub mod os;
pub mod rpm;

// Language ecosystems.
pub mod dotnet;
pub mod dotnet_pe;
pub mod golang;
pub mod java;
pub mod npm;
pub mod php;
pub mod pnpm;
pub mod python;
pub mod ruby;
pub mod rust;
pub mod rust_audit;
pub mod yarn;

pub use ecosystem::Ecosystem;
pub use error::ExtractError;
pub use package::{Inventory, OsInfo, Package, Warning};
pub use purl::{Purl, PurlError};
pub use scan::{scan_image, scan_image_observed, ScanOptions, ScanResult};
pub use severity::{Severity, SeverityError};
