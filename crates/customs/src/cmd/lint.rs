//! `customs lint FILE…`: checks the image references of Dockerfiles, Kubernetes manifests and
//! compose files (no tag, `latest`, no digest, registry not allowed).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cmd::format::TableOrJson;

use anyhow::Result;
use customs_pin::lint::{lint, Finding, Level, LintOptions};
use customs_pin::{scan_file, Scan};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Dockerfiles, Kubernetes manifests or compose files (the kind is told from the name,
    /// else from the content).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A registry (or registry/path prefix) references may use. Repeatable; without it any
    /// registry is allowed.
    #[arg(long = "allowed-registry", value_name = "REGISTRY")]
    pub allowed_registry: Vec<String>,
    /// Report only findings at or above this severity.
    #[arg(long, value_enum, default_value_t = MinSeverity::Info)]
    pub severity: MinSeverity,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// Exit with N when anything is reported.
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
}

#[derive(Serialize)]
struct FileReport<'a> {
    path: String,
    kind: customs_pin::FileKind,
    images: usize,
    findings: Vec<Finding>,
    warnings: &'a [customs_pin::Warning],
}

#[derive(Serialize)]
struct Report<'a> {
    files: Vec<FileReport<'a>>,
    errors: Vec<String>,
    findings: usize,
}

/// `customs lint --severity`: the least severe finding reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinSeverity {
    /// Every finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

fn min_severity(s: MinSeverity) -> Level {
    match s {
        MinSeverity::Error => Level::Error,
        MinSeverity::Warning => Level::Warning,
        MinSeverity::Info => Level::Info,
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let opts = LintOptions {
        allowed_registries: args.allowed_registry.clone(),
    };
    let min = min_severity(args.severity);
    let mut scans: Vec<Scan> = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match scan_file(path) {
            Ok(s) => scans.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let files: Vec<FileReport> = scans
        .iter()
        .map(|s| FileReport {
            path: s.path.display().to_string(),
            kind: s.kind,
            images: s.images.len(),
            findings: lint(s, &opts)
                .into_iter()
                .filter(|f| f.severity >= min)
                .collect(),
            warnings: &s.warnings,
        })
        .collect();
    let total: usize = files.iter().map(|f| f.findings.len()).sum();
    for f in &files {
        for w in f.warnings {
            eprintln!("warning: {}:{}: {}", f.path, w.line, w.message);
        }
    }
    if args.format == TableOrJson::Json {
        let report = Report {
            files,
            errors: errors.clone(),
            findings: total,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&files, total);
        for e in &errors {
            eprintln!("error: {e}");
        }
    }
    if !errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    Ok(match args.exit_code {
        Some(n) if total > 0 => ExitCode::from(n),
        _ => ExitCode::SUCCESS,
    })
}

fn print_table(files: &[FileReport], total: usize) {
    let rows: Vec<[String; 5]> = files
        .iter()
        .flat_map(|f| {
            f.findings.iter().map(move |x| {
                [
                    format!("{}:{}:{}", f.path, x.line, x.column),
                    x.severity.as_str().to_string(),
                    format!("{} {}", x.rule.id(), x.rule.name()),
                    x.context.clone(),
                    x.message.clone(),
                ]
            })
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in &rows {
        println!(
            "{:w0$}  {:w1$}  {:w2$}  {}: {}",
            r[0], r[1], r[2], r[3], r[4]
        );
    }
    let images: usize = files.iter().map(|f| f.images).sum();
    let (mut errors, mut warnings, mut infos) = (0, 0, 0);
    for x in files.iter().flat_map(|f| &f.findings) {
        match x.severity {
            Level::Error => errors += 1,
            Level::Warning => warnings += 1,
            Level::Info => infos += 1,
        }
    }
    println!(
        "{total} finding(s) in {} file(s), {images} image reference(s): {errors} error(s), {warnings} warning(s), {infos} info",
        files.len()
    );
}
