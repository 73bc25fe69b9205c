//! `customs pin FILE…`: resolves each tagged image reference through its registry and rewrites
//! it in place as `name:tag@sha256:…`, or with `--dry-run` prints the change as a unified diff.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_pin::pin::{apply_edits, plan, unified_diff, Outcome, PinOptions, PinResult};
use customs_pin::scan_file;
use customs_registry::RegistryClient;
use serde::Serialize;

use crate::cmd::format::TableOrJson;
use crate::cmd::image_args::ImageArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Dockerfiles, Kubernetes manifests or compose files to pin in place.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print a unified diff of the changes instead of writing the files.
    #[arg(long)]
    pub dry_run: bool,
    /// Check references that already have a digest: the registry has it, and the tag still
    /// points at it.
    #[arg(long)]
    pub verify: bool,
    /// Output format of the results.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(Serialize)]
struct FileResult {
    path: String,
    changed: bool,
    results: Vec<PinResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let open = args.image_args.open_options()?;
    let platform = open.platform.clone().unwrap_or_default();
    let client = RegistryClient::new(open.registry).context("setting up the registry client")?;
    let opts = PinOptions {
        platform,
        verify: args.verify,
    };
    let mut out = Vec::new();
    let mut bad = false;
    for path in &args.files {
        let r = pin_file(path, &client, &opts, args.dry_run);
        bad |= r.error.is_some()
            || r.results
                .iter()
                .any(|x| matches!(x.outcome, Outcome::Failed | Outcome::TagMoved));
        out.push(r);
    }
    if args.format == TableOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let stdout = std::io::stdout();
        let mut stdout = stdout.lock();
        for f in &out {
            if let Some(d) = &f.diff {
                write!(stdout, "{d}")?;
            }
        }
        // With --dry-run the diff owns standard output (it can go to `patch`).
        let mut table: Box<dyn Write> = if args.dry_run {
            Box::new(std::io::stderr())
        } else {
            Box::new(stdout)
        };
        print_table(&mut table, &out)?;
    }
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn pin_file(path: &Path, client: &RegistryClient, opts: &PinOptions, dry_run: bool) -> FileResult {
    let mut r = FileResult {
        path: path.display().to_string(),
        changed: false,
        results: Vec::new(),
        diff: None,
        error: None,
    };
    let scan = match scan_file(path) {
        Ok(s) => s,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    for w in &scan.warnings {
        eprintln!("warning: {}:{}: {}", r.path, w.line, w.message);
    }
    let p = plan(&scan, client, opts);
    r.results = p.results;
    let new = apply_edits(&scan.text, &p.edits);
    r.changed = new != scan.text;
    if !r.changed {
        return r;
    }
    if dry_run {
        r.diff = Some(unified_diff(&scan.text, &new, &r.path));
    } else if let Err(e) = write_in_place(path, &new) {
        r.error = Some(format!("{e:#}"));
    }
    r
}

/// Replaces `path`'s content through a temporary file in the same directory (renamed over
/// it), keeping its permissions.
fn write_in_place(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".customs-pin-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let perms = std::fs::metadata(path)
        .with_context(|| format!("{}", path.display()))?
        .permissions();
    let result = std::fs::write(&tmp, text.as_bytes())
        .and_then(|()| std::fs::set_permissions(&tmp, perms))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Pinned => "pinned",
        Outcome::AlreadyPinned => "already pinned",
        Outcome::Verified => "verified",
        Outcome::TagMoved => "tag moved",
        Outcome::Skipped => "skipped",
        Outcome::Failed => "failed",
    }
}

fn print_table(w: &mut dyn Write, files: &[FileResult]) -> Result<()> {
    let mut pinned = 0;
    let mut failed = 0;
    for f in files {
        if let Some(e) = &f.error {
            writeln!(w, "{}: error: {e}", f.path)?;
        }
        for r in &f.results {
            let what = match (&r.pinned, &r.reference) {
                (Some(p), Some(old)) => format!("{old} -> {p}"),
                (_, Some(old)) => old.clone(),
                (_, None) => "(unresolved)".to_string(),
            };
            let note = r
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            writeln!(
                w,
                "{}:{}  {:<14}  {what}{note}",
                f.path,
                r.line,
                outcome_word(&r.outcome)
            )?;
            match r.outcome {
                Outcome::Pinned => pinned += 1,
                Outcome::Failed | Outcome::TagMoved => failed += 1,
                _ => {}
            }
        }
    }
    writeln!(w, "{pinned} reference(s) pinned, {failed} problem(s)")?;
    Ok(())
}
