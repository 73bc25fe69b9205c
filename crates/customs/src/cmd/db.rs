//! `customs db`: download (`update`), build from local files (`import`) and describe
//! (`status`) the vulnerability database; also where the database lives and how old is too old.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::cmd::format::TableOrJson;

use anyhow::{bail, Context, Result};
use customs_vulndb::{Database, Source, UpdateEvent};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Download the advisory exports (osv.dev or a mirror) and rebuild the database.
    Update(UpdateArgs),
    /// Build the database from local files: OSV zips or directories, secdb YAML/JSON, CVE List
    /// V5 records and release bundles, NVD API 2.0 records, GHSA records, KEV, EPSS CSV.
    Import(ImportArgs),
    /// Show the database's age, sources and counts.
    Status(StatusArgs),
    /// Publish the database to a registry as an OCI artifact, signed with a customs key.
    Push(PushArgs),
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// Where to publish: REGISTRY/REPO:TAG.
    #[arg(value_name = "REFERENCE")]
    pub reference: String,
    /// Private key to sign the database with (cosign format; password in $COSIGN_PASSWORD).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub image_args: crate::cmd::image_args::ImageArgs,
}

#[derive(clap::Args)]
pub struct DbArg {
    /// The database file [default: $CUSTOMS_DB, else <user cache dir>/customs/db/customs.db].
    #[arg(long, value_name = "PATH", env = "CUSTOMS_DB")]
    pub db: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    /// One base for every source (https://, file:// or a directory), laid out as
    /// `<base>/<Ecosystem>/all.zip` (osv.dev's exports), `<base>/kev/known_exploited_vulnerabilities.json`,
    /// `<base>/epss/epss_scores-current.csv.gz` and `<base>/nvd/nvdcve-2.0-<year>.json.gz`.
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Fetch only the advisories, not KEV, EPSS and NVD's CVE ratings.
    #[arg(long)]
    pub no_facts: bool,
    /// NVD's CVE API 2.0 (or a server answering its queries) to fetch the CVE records
    /// modified since the last update from [default: NVD's own without --mirror, none with it].
    #[arg(long, value_name = "URL")]
    pub nvd_api: Option<String>,
    /// Where the first NVD API fetch starts when the database records none (RFC 3339)
    /// [default: 8 days ago; the yearly feeds hold what is older].
    #[arg(long, value_name = "TIME")]
    pub nvd_since: Option<jiff::Timestamp>,
    /// An NVD API key, for NVD's higher rate limit (sent as a header, never printed).
    #[arg(long, env = "NVD_API_KEY", hide_env_values = true, hide = true)]
    pub nvd_api_key: Option<String>,
    /// Take the database published with `customs db push` at REGISTRY/REPO:TAG instead;
    /// refused unless its signature verifies with --key.
    #[arg(
        long,
        value_name = "REFERENCE",
        conflicts_with = "mirror",
        requires = "key"
    )]
    pub from: Option<String>,
    /// Public key the database pulled with --from must be signed with.
    #[arg(long, value_name = "KEY.pub", requires = "from")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub image_args: crate::cmd::image_args::ImageArgs,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Advisory files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    #[command(flatten)]
    pub db: DbArg,
}

/// The database path: `--db`/`$CUSTOMS_DB`, else `$CUSTOMS_CACHE_DIR/db/customs.db`, else the
/// user cache directory's `customs/db/customs.db`.
pub fn path(arg: &DbArg) -> Result<PathBuf> {
    if let Some(p) = arg.db.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        return Ok(p.clone());
    }
    if let Some(d) = std::env::var_os("CUSTOMS_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("db").join("customs.db"));
    }
    dirs::cache_dir()
        .map(|d| d.join("customs").join("db").join("customs.db"))
        .context("no user cache directory; give --db PATH or set CUSTOMS_DB")
}

/// Parses a duration such as `7d`, `36h`, `90m`, `2w` or plain seconds.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    // jiff's friendly format (`7d`, `36h`, `1w 2d`, `90m`); a bare number is seconds.
    let span: jiff::Span = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{s}s").parse()
    } else {
        s.parse()
    }
    .map_err(|_| format!("{s:?} is not a duration like 7d, 36h or 90m"))?;
    if span.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("{s:?}: {e}"))?;
    Duration::try_from(d).map_err(|_| format!("{s:?} is too long"))
}

/// `3d 4h`, `5h 12m`, `40s`.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{s}s")
    }
}

/// Opens the database, warning on stderr when its data is older than `max_age`.
pub fn open(path: &Path, max_age: Duration) -> Result<Database> {
    let db = Database::open(path)?;
    if db.is_stale(max_age) {
        eprintln!(
            "warning: the vulnerability database is {} old (built {}), older than {}; run `customs db update`",
            db.age().map(human_age).unwrap_or_default(),
            db.metadata().built_at,
            human_age(max_age)
        );
    }
    Ok(db)
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Update(a) => update(a),
        Command::Import(a) => import(a),
        Command::Status(a) => status(a),
        Command::Push(a) => push(a),
    }
}

fn registry_client(
    args: &crate::cmd::image_args::ImageArgs,
) -> Result<customs_registry::RegistryClient> {
    let opts = args.open_options()?;
    customs_registry::RegistryClient::new(opts.registry.clone())
        .context("setting up the registry client")
}

fn push(args: PushArgs) -> Result<ExitCode> {
    let db = path(&args.db)?;
    let reference: customs_image::Reference = args
        .reference
        .parse()
        .with_context(|| format!("{:?} is not an image reference", args.reference))?;
    let key = crate::cmd::key::load_private_key(&args.key)?;
    let client = registry_client(&args.image_args)?;
    let digest = crate::cmd::db_artifact::push(&client, &reference, &db, &key)?;
    eprintln!("pushed {} to {reference}@{digest}", db.display());
    Ok(ExitCode::SUCCESS)
}

fn pull(args: &UpdateArgs, from: &str) -> Result<ExitCode> {
    let dest = path(&args.db)?;
    let reference: customs_image::Reference = from
        .parse()
        .with_context(|| format!("{from:?} is not an image reference"))?;
    let key_path = args.key.as_ref().context("--from needs --key")?;
    let key = crate::cmd::key::load_public_key(key_path)?;
    let client = registry_client(&args.image_args)?;
    let m = crate::cmd::db_artifact::pull(&client, &reference, &dest, &key)?;
    eprintln!(
        "{}: {} advisories for {} packages, {} CVEs rated, from {reference} (signature verified)",
        dest.display(),
        m.advisories,
        m.packages,
        m.rated_cves
    );
    Ok(ExitCode::SUCCESS)
}

fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

fn update(args: UpdateArgs) -> Result<ExitCode> {
    if let Some(from) = &args.from {
        return pull(&args, from);
    }
    let dest = path(&args.db)?;
    ensure_parent(&dest)?;
    let bar = if crate::progress::enabled(false) {
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut on_event = |e: &UpdateEvent| match e {
        UpdateEvent::Fetching { ecosystem, .. } => bar.set_message(format!("fetching {ecosystem}")),
        UpdateEvent::Downloaded { ecosystem, bytes } => {
            log::info!("downloaded {ecosystem} ({bytes} bytes)")
        }
        UpdateEvent::NotModified { ecosystem } => log::info!("{ecosystem} not modified"),
        UpdateEvent::Missing { ecosystem } => log::info!("{ecosystem}: nothing published"),
        UpdateEvent::Building => bar.set_message("building the database"),
        UpdateEvent::Done => {}
    };
    let mut opts = customs_vulndb::UpdateOptions {
        mirror: args.mirror.clone(),
        facts: !args.no_facts,
        built_at: crate::clock::get().fixed(),
        nvd_api: args.nvd_api.clone(),
        nvd_api_key: args.nvd_api_key.clone().filter(|k| !k.is_empty()),
        nvd_since: args.nvd_since,
        ..Default::default()
    };
    if opts.nvd_api_key.is_some() {
        // NVD's limit with a key is 50 requests in 30 s.
        opts.nvd_delay = Duration::from_millis(700);
    }
    if let Some(ms) = std::env::var("CUSTOMS_NVD_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        opts.nvd_delay = Duration::from_millis(ms);
    }
    let report = customs_vulndb::update_with(&opts, &dest, &mut on_event);
    bar.finish_and_clear();
    let report = report?;
    if report.downloaded.is_empty() && report.not_modified.is_empty() {
        bail!(
            "no advisory export was found at {} (looked for <base>/<Ecosystem>/all.zip); the database at {} holds no advisories",
            args.mirror.as_deref().unwrap_or(customs_vulndb::update::DEFAULT_BASE),
            dest.display()
        );
    }
    for w in &report.build.warnings {
        log::warn!("{w}");
    }
    eprintln!(
        "{}: {} advisories for {} packages ({} downloaded, {} unchanged, {} not published) in {:.1}s",
        dest.display(),
        report.build.metadata.advisories,
        report.build.metadata.packages,
        report.downloaded.len(),
        report.not_modified.len(),
        report.missing.len(),
        report.build.duration.as_secs_f64()
    );
    if let Some(n) = &report.nvd_api {
        eprintln!(
            "NVD API: {} record(s) modified {} to {} ({}, {} window(s), {} page(s))",
            n.records,
            n.since,
            n.until,
            if n.resumed {
                "since the last update"
            } else {
                "first fetch"
            },
            n.windows,
            n.pages
        );
    }
    let m = &report.build.metadata;
    eprintln!(
        "CVE facts: {} CVEs rated, {} in KEV, {} with EPSS{}",
        m.rated_cves,
        m.kev,
        m.epss,
        if report.facts_missing.is_empty() {
            String::new()
        } else {
            format!(
                " ({} fact file(s) not published)",
                report.facts_missing.len()
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn import(args: ImportArgs) -> Result<ExitCode> {
    let dest = path(&args.db)?;
    let mut sources: Vec<Source> = Vec::new();
    for p in &args.paths {
        let found = Source::discover(p)?;
        if found.is_empty() {
            bail!(
                "{}: no advisory files (OSV .zip/.json, secdb .yaml/.json) found",
                p.display()
            );
        }
        sources.extend(found);
    }
    ensure_parent(&dest)?;
    // CVE List V5 release bundles (a zip of `cves.zip`) are read through their inner zip,
    // copied out beside the database for the build.
    let scratch = tempfile::Builder::new()
        .prefix(".customs-import-")
        .tempdir_in(
            dest.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .context("creating a scratch directory beside the database")?;
    let sources = customs_vulndb::import::unwrap_bundles(sources, scratch.path())?;
    let report = customs_vulndb::build(&sources, &dest, crate::clock::get().fixed())?;
    drop(scratch);
    for w in &report.warnings {
        log::warn!("{w}");
    }
    eprintln!(
        "{}: {} advisories for {} packages from {} source(s), {}, in {:.1}s{}",
        dest.display(),
        report.metadata.advisories,
        report.metadata.packages,
        sources.len(),
        crate::cmd::cache::human_bytes(report.bytes),
        report.duration.as_secs_f64(),
        if report.warnings.is_empty() {
            String::new()
        } else {
            format!(
                "; {} record(s) skipped with warnings (-v to see them)",
                report.warnings.len()
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn status(args: StatusArgs) -> Result<ExitCode> {
    let p = path(&args.db)?;
    let db = Database::open(&p)?;
    let status = db.status();
    if args.format == TableOrJson::Json {
        let mut v = serde_json::to_value(&status)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("age_seconds".into(), status.age.map(|a| a.as_secs()).into());
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let m = &status.metadata;
    println!("database:   {}", status.path.display());
    println!(
        "size:       {}",
        crate::cmd::cache::human_bytes(status.file_size)
    );
    println!("schema:     {}", m.schema_version);
    println!(
        "built:      {} ({})",
        m.built_at,
        status
            .age
            .map(|a| format!("{} ago", human_age(a)))
            .unwrap_or_else(|| "in the future".into())
    );
    println!(
        "advisories: {} ({} records read, {} skipped, {} withdrawn)",
        m.advisories, m.records, m.skipped, m.withdrawn
    );
    println!("packages:   {}", m.packages);
    println!(
        "CVEs:       {} ({} rated, {} in KEV, {} with EPSS)",
        m.cves, m.rated_cves, m.kev, m.epss
    );
    println!("ecosystems:");
    for (e, n) in &m.ecosystems {
        println!("  {e:<24} {n}");
    }
    println!("sources:");
    for s in &m.sources {
        println!(
            "  {} ({:?}, {} records{}{})",
            s.location,
            s.kind,
            s.records,
            if s.facts > 0 {
                format!(", {} CVE facts", s.facts)
            } else {
                String::new()
            },
            s.etag
                .as_ref()
                .map(|e| format!(", etag {e}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_age("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("7 days"), parse_age("7d"));
        assert!(parse_age("-7d").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("99999999999999999999w").is_err());
    }
}
