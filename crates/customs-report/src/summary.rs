//! Counts shown at the end of a scan table and in the JSON `summary`; the binary can use them
//! for exit codes too.

use customs_vulndb::{FixStatus, Severity};
use serde::Serialize;

use crate::Scan;

/// How many findings of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// `CRITICAL` findings.
    pub critical: usize,
    /// `HIGH` findings.
    pub high: usize,
    /// `MEDIUM` findings.
    pub medium: usize,
    /// `LOW` findings.
    pub low: usize,
    /// Findings with no usable rating.
    pub unknown: usize,
}

impl SeverityCounts {
    /// The count for one severity.
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            // A vulnerability finding is never INFO; counted as unrated if one were.
            Severity::Info | Severity::Unknown => self.unknown,
        }
    }

    fn add(&mut self, severity: Severity) {
        let slot = match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info | Severity::Unknown => &mut self.unknown,
        };
        *slot += 1;
    }
}

/// The totals of one scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Packages in the inventory.
    pub packages: usize,
    /// Distinct packages with at least one finding.
    pub affected_packages: usize,
    /// Findings reported (after suppression).
    pub findings: usize,
    /// Findings by severity.
    pub by_severity: SeverityCounts,
    /// Findings with a fixed version available.
    pub fixed: usize,
    /// Findings with no known fix.
    pub not_fixed: usize,
    /// Findings suppressed before rendering (ignore rules, VEX).
    pub suppressed: usize,
    /// Warnings from the inventory (unreadable databases, truncated binaries).
    pub warnings: usize,
}

impl Summary {
    /// Counts for a scan.
    pub fn of(scan: &Scan<'_>) -> Self {
        let mut summary = Summary {
            packages: scan.inventory.packages.len(),
            findings: scan.findings.len(),
            suppressed: scan.suppressed,
            warnings: scan.inventory.warnings.len(),
            ..Summary::default()
        };
        for f in scan.findings {
            summary.by_severity.add(f.severity);
            match f.fix_status {
                FixStatus::Fixed => summary.fixed += 1,
                FixStatus::NotFixed => summary.not_fixed += 1,
            }
        }
        let mut affected: Vec<[u8; 32]> = scan
            .findings
            .iter()
            .map(|f| crate::ids::fingerprint(&f.package))
            .collect();
        affected.sort_unstable();
        affected.dedup();
        summary.affected_packages = affected.len();
        summary
    }
}
