//! `customs cache`: the layer cache's location, usage and cleaning.

use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_image::LayerCache;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Delete every cached layer analysis.
    Clean,
    /// Show where the cache is and how much it holds.
    Status,
}

pub fn open() -> Result<LayerCache> {
    let dir = LayerCache::default_dir().context("no cache directory; set CUSTOMS_CACHE_DIR")?;
    LayerCache::new(&dir, customs_image::cache::DEFAULT_CAP)
        .with_context(|| format!("opening the layer cache at {}", dir.display()))
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    let cache = open()?;
    match cmd {
        Command::Clean => {
            let freed = cache.clean()?;
            println!(
                "removed {} from {}",
                human_bytes(freed),
                cache.dir().display()
            );
        }
        Command::Status => {
            let (bytes, n) = cache.usage()?;
            println!(
                "{}: {n} entries, {}",
                cache.dir().display(),
                human_bytes(bytes)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
