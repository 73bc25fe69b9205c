//! Output formats as types: each command takes the enum of the formats it can write, so clap
//! lists and checks them, and a `match` over the format cannot forget one.

/// Commands that write a table for people or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableOrJson {
    /// Plain text for a terminal.
    Table,
    /// JSON (see docs/).
    Json,
}

/// `customs sbom -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomFormat {
    /// Plain text for a terminal.
    Table,
    /// customs' JSON (docs/json-sbom.md).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// `customs scan -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// Plain text for a terminal.
    Table,
    /// customs' JSON (docs/json-scan.md).
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 JSON with vulnerabilities.
    Cyclonedx,
}
