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

/// `customs audit -f` and `customs check -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableJsonSarif {
    /// Plain text for a terminal.
    Table,
    /// customs' JSON (docs/audit.md, docs/policy.md).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// `customs report -f`: the one format a report has today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML page (no external resources).
    Html,
}

/// `customs verify -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyOutput {
    /// One verified payload per line.
    Text,
    /// A JSON array with each payload and its source.
    Json,
}

/// `customs verify-bundle -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BundleOutput {
    /// A summary on standard error.
    Text,
    /// What was verified, as JSON on standard output.
    Json,
}
