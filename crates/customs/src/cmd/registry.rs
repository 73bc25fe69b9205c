//! `customs registry probe HOST`: what a registry host offers (plain HTTP, TLS validity,
//! authentication, anonymous catalog, version headers), asked without credentials.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cmd::format::TableOrJson;

use anyhow::Result;
use customs_pin::probe::{probe, ProbeOptions, ProbeReport};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Report what a registry host offers, without sending credentials.
    Probe(ProbeArgs),
}

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// The registry host[:port].
    pub host: String,
    /// Extra CA certificate (PEM) to trust. Repeatable.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Seconds to wait for each request.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Probe(a) => run_probe(a),
    }
}

fn run_probe(args: ProbeArgs) -> Result<ExitCode> {
    let opts = ProbeOptions {
        ca_certs: args.ca_cert,
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..ProbeOptions::default()
    };
    let report = probe(&args.host, &opts)?;
    if args.format == TableOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    // Nothing serving the registry API is a failed probe.
    Ok(if report.api.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(r: &ProbeReport) {
    let row = |k: &str, v: &str| println!("{k:<12}  {v}");
    row("Registry", &r.host);
    let http = &r.plain_http;
    row(
        "Plain HTTP",
        &match (http.status, &http.error) {
            (Some(s), _) if http.serves_api => format!("answers (HTTP {s}, registry API)"),
            (Some(s), _) => format!("answers (HTTP {s}, not the registry API)"),
            (None, Some(e)) => format!("no answer: {e}"),
            (None, None) => "no answer".into(),
        },
    );
    let tls = &r.tls;
    row(
        "TLS",
        &match (tls.speaks_tls, tls.valid, &tls.error) {
            (true, true, _) => "valid certificate".to_string(),
            (true, false, Some(e)) => format!("INVALID certificate: {e}"),
            (true, false, None) => "INVALID certificate".to_string(),
            (false, _, Some(e)) => format!("not spoken: {e}"),
            (false, _, None) => "not spoken".to_string(),
        },
    );
    let Some(api) = &r.api else {
        row("API", "no registry API found on either scheme");
        return;
    };
    row(
        "API",
        &format!(
            "{}{}",
            api.scheme,
            if api.unverified_tls {
                " (certificate not verified)"
            } else {
                ""
            }
        ),
    );
    let auth = if api.auth.required {
        let challenges: Vec<String> = api
            .auth
            .challenges
            .iter()
            .map(|c| {
                let mut s = c.scheme.clone();
                if let Some(realm) = &c.realm {
                    s.push_str(&format!(" realm=\"{realm}\""));
                }
                if let Some(service) = &c.service {
                    s.push_str(&format!(" service=\"{service}\""));
                }
                s
            })
            .collect();
        format!("required (HTTP 401): {}", challenges.join("; "))
    } else {
        format!("not required (HTTP {})", api.auth.status)
    };
    row("Auth", &auth);
    let c = &api.catalog;
    row(
        "Catalog",
        &if c.anonymous_readable {
            format!(
                "readable anonymously{}{}",
                c.repositories
                    .map(|n| format!(" ({n} repositories on the first page)"))
                    .unwrap_or_default(),
                if c.anonymous_token {
                    " with an anonymous token"
                } else {
                    ""
                }
            )
        } else {
            match (c.status, &c.error) {
                (_, Some(e)) => format!("not readable: {e}"),
                (Some(s), None) => format!("not readable anonymously (HTTP {s})"),
                (None, None) => "not readable".into(),
            }
        },
    );
    row("API version", api.api_version.as_deref().unwrap_or("-"));
    row("Server", api.server.as_deref().unwrap_or("-"));
}
