//! The arguments `scan` and `check` share for the one scan pipeline
//! ([`customs_vulndb::scan`]): the database, how old it may be, the ignore file and VEX.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use customs_inventory::Inventory;
use customs_vulndb::{Database, Severity, Suppression};

use crate::cmd::db::{self, DbArg};

#[derive(clap::Args)]
pub struct VulnArgs {
    /// Ignore file: customs' `.customsignore` YAML, Trivy's `.trivyignore.yaml`, or Trivy's
    /// plain `.trivyignore` (told apart by content) [default: the first of .customsignore,
    /// .trivyignore.yaml and .trivyignore in the current directory].
    #[arg(long, value_name = "PATH")]
    pub ignorefile: Option<PathBuf>,
    /// OpenVEX document whose not_affected/fixed statements suppress findings. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Warn when the database is older than this (e.g. 7d, 36h).
    #[arg(long, value_name = "AGE", env = "CUSTOMS_MAX_DB_AGE", default_value = "7d", value_parser = db::parse_age)]
    pub max_db_age: Duration,
    #[command(flatten)]
    pub db: DbArg,
    /// Go on when an OS package database (dpkg status, apk installed) is present but cannot be
    /// read. By default `scan` fails and `check` reports a violation: the packages it lists
    /// were never seen, so no finding about them could be.
    #[arg(long)]
    pub allow_damaged_db: bool,
}

impl VulnArgs {
    /// Opens the database and loads what the user has judged, before any image is read, so
    /// that everything that can fail fast does.
    pub fn open(&self) -> Result<(Database, Suppression)> {
        let database = db::open(&db::path(&self.db)?, self.max_db_age)?;
        let suppression = Suppression::load(
            self.ignorefile.as_deref(),
            Path::new("."),
            &self.vex,
            crate::clock::get().today(),
        )?;
        Ok((database, suppression))
    }
}

/// Why the inventory cannot be trusted for matching: the damaged package databases, unless
/// `--allow-damaged-db` was given.
pub fn damaged_db(args: &VulnArgs, inventory: &Inventory) -> Option<String> {
    if args.allow_damaged_db || inventory.damaged.is_empty() {
        return None;
    }
    let what: Vec<String> = inventory
        .damaged
        .iter()
        .map(|w| format!("{}: {}", w.path, w.message))
        .collect();
    Some(format!(
        "package database unreadable, so its packages were not matched ({}); --allow-damaged-db goes on without them",
        what.join("; ")
    ))
}

/// A vulnerability severity name, any case: `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
/// `INFO` is an audit level no vulnerability has, so it is refused.
pub fn parse_severity(s: &str) -> Result<Severity, String> {
    match Severity::parse(s) {
        Some(v) if v != Severity::Info => Ok(v),
        _ => Err(format!(
            "{s:?} is not a severity (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_parse_case_insensitively() {
        assert_eq!(parse_severity("high"), Ok(Severity::High));
        assert_eq!(parse_severity(" CRITICAL"), Ok(Severity::Critical));
        assert!(parse_severity("severe").is_err());
        assert!(parse_severity("info").is_err());
    }
}
