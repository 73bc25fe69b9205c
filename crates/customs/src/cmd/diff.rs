//! `customs diff A B`: what changed between two images (packages, findings, files, config),
//! as a table or JSON. Also gathers the facts `customs report --diff-from` shows.
//!
//! Each image is opened, inventoried and (with a database) matched as `customs scan` does it;
//! its merged filesystem is built in that same walk of each layer ([`FileHasher`] observes the
//! inventory scan), hashing every regular file, so a change of content at the same size is
//! still a change. Config values are compared raw
//! and printed through customs-audit's redaction, so a changed secret shows as changed without
//! its value.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use customs_audit::redact;
use customs_image::manifest::ContainerConfig;
use customs_image::summary::LayerSummary;
use customs_image::tar::EntryKind;
use customs_image::{EntryMeta, EntryObserver, FileSystem};
use customs_inventory::Inventory;
use customs_report::diff::{self, ConfigChange, FileFacts, Side};
use customs_report::{ImageDiff, Subject};
use customs_vulndb::{Database, Finding, Suppression};
use sha2::{Digest as _, Sha256};

use crate::cmd::audit::inventory_and_audit;
use crate::cmd::db::{self, DbArg};
use crate::cmd::format::TableOrJson;
use crate::cmd::image_args::{ImageArgs, ImageTarget};
use crate::cmd::sbom;

#[derive(clap::Args)]
pub struct Args {
    /// The image compared from (the old one): a reference, docker-archive:, oci:,
    /// oci-archive: or a path.
    pub old: String,
    /// The image compared to (the new one).
    pub new: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not compare findings, even when a database is there.
    #[arg(long)]
    pub no_vulns: bool,
    /// Ignore file applied to both scans [default: the first of .customsignore,
    /// .trivyignore.yaml and .trivyignore in the current directory].
    #[arg(long, value_name = "PATH")]
    pub ignorefile: Option<PathBuf>,
    /// Warn when the database is older than this (e.g. 7d, 36h).
    #[arg(long, value_name = "AGE", env = "CUSTOMS_MAX_DB_AGE", default_value = "7d", value_parser = db::parse_age)]
    pub max_db_age: Duration,
    #[command(flatten)]
    pub db: DbArg,
    /// Do not use the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// One image, everything the diff compares.
pub struct Gathered {
    pub subject: Subject,
    pub inventory: Inventory,
    pub findings: Option<Vec<Finding>>,
    pub files: BTreeMap<String, FileFacts>,
    pub config: ContainerConfig,
}

impl Gathered {
    pub fn side(&self) -> Side<'_> {
        Side {
            subject: &self.subject,
            inventory: &self.inventory,
            findings: self.findings.as_deref(),
            files: &self.files,
        }
    }
}

/// Matches an inventory through the one scan pipeline; its warnings join the inventory's.
pub fn findings(
    database: &Database,
    inventory: &mut Inventory,
    suppression: &Suppression,
) -> Vec<Finding> {
    let outcome = customs_vulndb::scan(database, inventory, suppression);
    inventory.warnings.extend(outcome.warnings);
    outcome.findings
}

fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::Hardlink => "hardlink",
        EntryKind::CharDevice => "char",
        EntryKind::BlockDevice => "block",
        EntryKind::Fifo => "fifo",
        EntryKind::Other(_) => "other",
    }
}

/// Builds the merged filesystem with the SHA-256 of every visible regular file, as an
/// observer of the inventory's walk: each layer is read once, by the scan, and only hashes
/// are kept.
#[derive(Default)]
pub struct FileHasher {
    fs: FileSystem,
    hashes: HashMap<(usize, String), String>,
    current: Option<Sha256>,
}

impl EntryObserver for FileHasher {
    fn wants(&mut self, _layer: usize, entry: &EntryMeta) -> bool {
        self.current = entry.is_file().then(Sha256::new);
        self.current.is_some()
    }
    fn data(&mut self, chunk: &[u8]) {
        if let Some(h) = &mut self.current {
            h.update(chunk);
        }
    }
    fn entry_done(&mut self, layer: usize, entry: &EntryMeta) -> std::io::Result<()> {
        if let Some(h) = self.current.take() {
            self.hashes
                .insert((layer, entry.path.clone()), hex::encode(h.finalize()));
        }
        Ok(())
    }
    fn layer_done(&mut self, _layer: usize, summary: &LayerSummary) {
        self.fs.apply_layer(&summary.entries);
    }
}

impl FileHasher {
    /// The facts of every visible file, once every layer went by.
    pub fn finish(mut self) -> BTreeMap<String, FileFacts> {
        self.fs
            .iter()
            .filter(|(_, n)| !n.implicit)
            .map(|(path, n)| {
                let facts = FileFacts {
                    kind: kind(n.kind),
                    size: if n.kind == EntryKind::File { n.size } else { 0 },
                    mode: n.mode,
                    uid: n.uid,
                    gid: n.gid,
                    sha256: self.hashes.remove(&(n.layer, path.to_string())),
                    link: n.link.clone(),
                };
                (path.to_string(), facts)
            })
            .collect()
    }
}

/// Opens, inventories, matches (with a database) and hashes one image, in one walk of each
/// layer.
pub fn gather(
    target: &ImageTarget,
    no_cache: bool,
    database: Option<&Database>,
    suppression: &Suppression,
) -> Result<Gathered> {
    let mut hasher = FileHasher::default();
    let (image, result, _) = inventory_and_audit(target, no_cache, None, Some(&mut hasher))?;
    let mut inventory = result.inventory;
    let findings = database.map(|d| findings(d, &mut inventory, suppression));
    Ok(Gathered {
        subject: sbom::subject(&image),
        inventory,
        findings,
        files: hasher.finish(),
        config: image.config.config.clone(),
    })
}

/// A change when the raw values differ, shown through `show` (which masks).
fn change<T: PartialEq>(
    field: &str,
    old: Option<&T>,
    new: Option<&T>,
    show: impl Fn(&T) -> String,
) -> Option<ConfigChange> {
    (old != new).then(|| ConfigChange {
        field: field.to_string(),
        old: old.map(&show),
        new: new.map(&show),
    })
}

fn argv(a: &[String]) -> String {
    serde_json::to_string(&redact::args(a)).unwrap_or_else(|_| "[]".to_string())
}

fn env_map(c: &ContainerConfig) -> BTreeMap<String, String> {
    c.env
        .iter()
        .flatten()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect()
}

/// Exposed ports, sorted (`80/tcp, 443/tcp`); unset when there are none.
fn ports(c: &ContainerConfig) -> Option<Vec<String>> {
    c.exposed_ports
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| p.keys().cloned().collect())
}

/// Config changes, with every value masked as customs-audit's redaction masks it. Values are
/// compared unmasked, so a changed secret is reported as changed (masked on both sides).
pub fn config_changes(old: &ContainerConfig, new: &ContainerConfig) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let text = |v: &String| redact::text(v);
    out.extend(change(
        "user",
        set(&old.user).as_ref(),
        set(&new.user).as_ref(),
        text,
    ));
    out.extend(change(
        "entrypoint",
        old.entrypoint.as_ref(),
        new.entrypoint.as_ref(),
        |a: &Vec<String>| argv(a),
    ));
    out.extend(change(
        "cmd",
        old.cmd.as_ref(),
        new.cmd.as_ref(),
        |a: &Vec<String>| argv(a),
    ));
    out.extend(change(
        "working_dir",
        set(&old.working_dir).as_ref(),
        set(&new.working_dir).as_ref(),
        text,
    ));
    out.extend(change(
        "ports",
        ports(old).as_ref(),
        ports(new).as_ref(),
        |p: &Vec<String>| redact::text(&p.join(", ")),
    ));
    let (eo, en) = (env_map(old), env_map(new));
    let keys: std::collections::BTreeSet<&String> = eo.keys().chain(en.keys()).collect();
    for k in keys {
        let (a, b) = (eo.get(k), en.get(k));
        if a != b {
            out.push(ConfigChange {
                field: format!("env.{}", redact::text(k)),
                old: a.map(|v| redact::value(k, v)),
                new: b.map(|v| redact::value(k, v)),
            });
        }
    }
    let (lo, ln) = (
        old.labels.clone().unwrap_or_default(),
        new.labels.clone().unwrap_or_default(),
    );
    let keys: std::collections::BTreeSet<&String> = lo.keys().chain(ln.keys()).collect();
    for k in keys {
        let (a, b) = (lo.get(k), ln.get(k));
        if a != b {
            out.push(ConfigChange {
                field: format!("label.{}", redact::text(k)),
                old: a.map(|v| redact::value(k, v)),
                new: b.map(|v| redact::value(k, v)),
            });
        }
    }
    out
}

/// The diff of two gathered images.
pub fn compare(old: &Gathered, new: &Gathered) -> ImageDiff {
    diff::diff(
        &old.side(),
        &new.side(),
        config_changes(&old.config, &new.config),
    )
}

/// The database when one is there (or was named); `None` with a note otherwise.
pub fn optional_database(arg: &DbArg, max_age: Duration) -> Result<Option<Database>> {
    let path = db::path(arg)?;
    if arg.db.is_none() && !path.exists() {
        eprintln!(
            "note: no vulnerability database at {}; findings are not compared (run `customs db update` or give --db)",
            path.display()
        );
        return Ok(None);
    }
    Ok(Some(db::open(&path, max_age)?))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let database = if args.no_vulns {
        None
    } else {
        optional_database(&args.db, args.max_db_age)?
    };
    let suppression = Suppression::load(
        args.ignorefile.as_deref(),
        std::path::Path::new("."),
        &[],
        crate::clock::get().today(),
    )?;
    let info = sbom::document_info()?;
    let old = gather(
        &args.image_args.target(&args.old)?,
        args.no_cache,
        database.as_ref(),
        &suppression,
    )?;
    let new = gather(
        &args.image_args.target(&args.new)?,
        args.no_cache,
        database.as_ref(),
        &suppression,
    )?;
    let d = compare(&old, &new);
    let text = match args.format {
        TableOrJson::Json => diff::json(&d, &info)?,
        TableOrJson::Table => diff::table(&d),
    };
    sbom::emit(args.output.as_ref(), &text)?;
    let mut warnings = old.inventory.warnings.clone();
    warnings.extend(new.inventory.warnings.iter().cloned());
    crate::warnings::print(&warnings);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_secrets_change_without_their_values() {
        let old = ContainerConfig {
            env: Some(vec!["DB_PASSWORD=hunter2old".into(), "PATH=/bin".into()]),
            user: Some("root".into()),
            ..ContainerConfig::default()
        };
        let new = ContainerConfig {
            env: Some(vec!["DB_PASSWORD=hunter2new".into(), "PATH=/bin".into()]),
            user: Some("app".into()),
            ..ContainerConfig::default()
        };
        let changes = config_changes(&old, &new);
        let text = serde_json::to_string(&changes).unwrap();
        assert!(
            !text.contains("hunter2old") && !text.contains("hunter2new"),
            "{text}"
        );
        assert!(changes.iter().any(|c| c.field == "env.DB_PASSWORD"));
        assert!(changes.iter().any(|c| c.field == "user"));
        assert!(!changes.iter().any(|c| c.field == "env.PATH"));
    }
}
