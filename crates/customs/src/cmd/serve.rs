//! `customs serve [--config serve.toml] [--listen ADDR] [--data-dir DIR]`: runs the registry
//! (customs-serve) in the foreground until interrupted. Flags override the config file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use customs_serve::{Config, Server};

#[derive(clap::Args)]
pub struct Args {
    /// The configuration file (TOML; see docs/serve.md). Without one, the embedded default:
    /// files and SQLite under --data-dir, anonymous push and pull on loopback only.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:5000]. Any non-loopback address needs
    /// TLS and users in the config file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Where blobs and metadata live [default: ./customs-registry-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write a commented example config to --config (default ./serve.toml) and exit.
    #[arg(long)]
    pub init: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.init {
        let path = args.config.unwrap_or_else(|| PathBuf::from("serve.toml"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "writing {} (an existing file is never overwritten)",
                    path.display()
                )
            })?;
        std::io::Write::write_all(&mut file, customs_serve::EXAMPLE_CONFIG.as_bytes())?;
        eprintln!("wrote {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    let server = Server::start(config, None).context("starting the registry")?;
    // Tests and scripts read this line to learn the port when --listen asked for port 0.
    eprintln!("customs serve: listening on {}", server.addr());
    server.run_until_signal()?;
    Ok(ExitCode::SUCCESS)
}
