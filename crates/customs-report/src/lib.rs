//! customs-report renders inventories and findings: table, JSON, SARIF 2.1.0, CycloneDX 1.6,
//! SPDX 2.3, a self-contained HTML page ([`html`]) and image diffs ([`diff`]). It formats; it
//! never reads images or advisories. Every renderer is a pure function of its inputs: the same
//! [`Subject`], [`Inventory`] and findings with the same [`DocumentInfo`] give the same bytes,
//! so SBOMs can be diffed and reproduced (`SOURCE_DATE_EPOCH`).
//!
//! ```
//! use customs_inventory::{Inventory, Package};
//! use customs_report::{cyclonedx, DocumentInfo, Subject, Timestamp};
//!
//! let subject = Subject { name: "docker.io/library/alpine:3.20".into(), ..Subject::default() };
//! let inventory = Inventory {
//!     packages: vec![Package {
//!         ecosystem: "Alpine".into(),
//!         name: "musl".into(),
//!         version: "1.2.5-r0".into(),
//!         ..Package::default()
//!     }],
//!     ..Inventory::default()
//! };
//! let info = DocumentInfo::new("0.1.0", Timestamp::from_unix_seconds(0).unwrap());
//! let bom = cyclonedx::sbom(&subject, &inventory, &info).unwrap();
//! assert!(bom.contains("\"specVersion\": \"1.6\""));
//! ```

#![deny(missing_docs)]

pub mod audit;
pub mod cyclonedx;
pub mod diff;
pub mod error;
pub mod html;
mod ids;
pub mod json;
mod license;
pub mod policy;
pub mod sarif;
pub mod spdx;
pub mod subject;
pub mod summary;
pub mod svg;
pub mod table;
pub mod timestamp;

pub use diff::ImageDiff;
pub use error::ReportError;
pub use subject::{LayerInfo, Platform, Subject};
pub use summary::{SeverityCounts, Summary};
pub use timestamp::Timestamp;

use customs_inventory::Inventory;
use customs_vulndb::Finding;

/// The name every document gives as its producing tool.
pub const TOOL_NAME: &str = "customs";
/// Where the tool's documentation lives (SARIF `informationUri`).
pub const TOOL_URI: &str = "https://example.invalid/customs";

/// What a document says about its own making: the tool version and the creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Version of customs that produced the document (`env!("CARGO_PKG_VERSION")` in the binary).
    pub tool_version: String,
    /// When the document was created; the binary takes `SOURCE_DATE_EPOCH` when it is set.
    pub created: Timestamp,
}

impl DocumentInfo {
    /// A `DocumentInfo` for the given tool version and creation time.
    pub fn new(tool_version: impl Into<String>, created: Timestamp) -> Self {
        Self {
            tool_version: tool_version.into(),
            created,
        }
    }
}

/// The result of a vulnerability scan, as every scan renderer takes it.
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a> {
    /// The scanned image.
    pub subject: &'a Subject,
    /// The inventory the findings were matched against.
    pub inventory: &'a Inventory,
    /// Findings after suppression (ignore rules, VEX); order does not matter.
    pub findings: &'a [Finding],
    /// How many findings were suppressed before rendering; shown in summaries only.
    pub suppressed: usize,
}
