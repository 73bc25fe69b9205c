//! The one scan pipeline: match an inventory against the database, then take out what the
//! user has judged (an ignore file and VEX documents). `customs scan`, `customs check` and the
//! registry's push gate all call [`scan`], so a finding suppressed in one is suppressed in all,
//! and a warning raised in one is raised in all.

use std::path::{Path, PathBuf};

use customs_inventory::{Inventory, Warning};
use jiff::civil::Date;

use crate::db::Database;
use crate::finding::Finding;
use crate::matcher::match_inventory;
use crate::suppress::{suppress, IgnoreFile, SuppressError, SuppressedFinding, VexDocument};

/// What the user has judged, and the day it is judged on (ignore entries expire).
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The ignore file, if any.
    pub ignore: Option<IgnoreFile>,
    /// OpenVEX documents, in the order given.
    pub vex: Vec<VexDocument>,
    /// Today, in UTC, from the one clock of the run.
    pub today: Date,
}

impl Suppression {
    /// Nothing judged.
    pub fn none(today: Date) -> Suppression {
        Suppression {
            ignore: None,
            vex: Vec::new(),
            today,
        }
    }

    /// Loads the ignore file (`ignorefile`, else the first of
    /// [`DEFAULT_IGNOREFILES`](crate::suppress::DEFAULT_IGNOREFILES) found in `dir`) and the
    /// VEX documents. Any that cannot be read or parsed is an error: a gate must not run with
    /// half of what the user said.
    pub fn load(
        ignorefile: Option<&Path>,
        dir: &Path,
        vex: &[PathBuf],
        today: Date,
    ) -> Result<Suppression, SuppressError> {
        let ignore = match ignorefile {
            Some(p) => Some(IgnoreFile::load(p)?),
            None => IgnoreFile::discover(dir)?,
        };
        let vex = vex
            .iter()
            .map(|p| VexDocument::load(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Suppression { ignore, vex, today })
    }
}

/// The result of [`scan`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOutcome {
    /// Findings that remain, in the matcher's order.
    pub findings: Vec<Finding>,
    /// Findings taken out, each with what took it out.
    pub suppressed: Vec<SuppressedFinding>,
    /// Matching warnings, then ignore-file warnings (expired and unused entries).
    pub warnings: Vec<Warning>,
}

/// Matches every package of `inventory` and applies `suppression`.
pub fn scan(db: &Database, inventory: &Inventory, suppression: &Suppression) -> ScanOutcome {
    let matched = match_inventory(db, inventory);
    let judged = suppress(
        matched.findings,
        suppression.ignore.as_ref(),
        &suppression.vex,
        suppression.today,
    );
    let mut warnings = matched.warnings;
    warnings.extend(judged.warnings);
    ScanOutcome {
        findings: judged.kept,
        suppressed: judged.suppressed,
        warnings,
    }
}
