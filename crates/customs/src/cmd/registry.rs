//! `customs registry probe HOST`: what a registry host offers (plain HTTP, TLS validity,
//! authentication, anonymous catalog, version headers), asked without credentials.
//! `customs registry status REF` and `customs registry cves ID`: what a `customs serve`
//! registry's gate decided about an image, and which stored images a vulnerability hits,
//! read through its `_customs` API with the usual credentials.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cmd::format::TableOrJson;
use crate::cmd::image_args::ImageArgs;

use anyhow::{bail, Context, Result};
use customs_image::reference::{Reference, Repository};
use customs_pin::probe::{probe, ProbeOptions, ProbeReport};
use customs_registry::RegistryClient;
use serde_json::Value;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Report what a registry host offers, without sending credentials.
    Probe(ProbeArgs),
    /// Show a `customs serve` image's gate verdict: quarantine state, violated rules, CVEs
    /// and any exception (exit 1 while it is held).
    Status(StatusArgs),
    /// List the images, tags and digests of a `customs serve` registry that a vulnerability
    /// id hits (exit 1 when none).
    Cves(CvesArgs),
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The image: HOST/NAME:TAG or HOST/NAME@sha256:….
    pub reference: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(clap::Args)]
pub struct CvesArgs {
    /// The vulnerability id (CVE-…, GHSA-…, …).
    pub id: String,
    /// The registry host[:port].
    #[arg(long, default_value = customs_serve::DEFAULT_LISTEN)]
    pub registry: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    #[command(flatten)]
    pub image_args: ImageArgs,
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
        Command::Status(a) => run_status(a),
        Command::Cves(a) => run_cves(a),
    }
}

/// GETs a `_customs` endpoint; a non-200 answer becomes an error with the registry's message.
fn get_json(args: &ImageArgs, repo: &Repository, path: &str) -> Result<Value> {
    let opts = args.open_options()?;
    let client = RegistryClient::new(opts.registry)?;
    let (status, body) = client
        .get_extension(repo, path)
        .with_context(|| format!("asking {} for {path}", repo.registry))?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status != 200 {
        let msg = v["errors"][0]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        let hint = if status == 404 && msg.contains("no such endpoint") {
            " (is it a customs serve registry?)"
        } else {
            ""
        };
        bail!(
            "{} answered HTTP {status} for {path}: {msg}{hint}",
            repo.registry
        );
    }
    if v.is_null() {
        bail!("{} answered {path} with no JSON", repo.registry);
    }
    Ok(v)
}

fn run_status(args: StatusArgs) -> Result<ExitCode> {
    let r = Reference::parse(&args.reference)
        .with_context(|| format!("reference {}", args.reference))?;
    let reference = match &r.digest {
        Some(d) => d.to_string(),
        None => r.tag.clone().unwrap_or_else(|| "latest".into()),
    };
    let repo = Repository {
        registry: r.registry.clone(),
        name: r.repository.clone(),
    };
    let path = format!("/v2/{}/_customs/status/{reference}", r.repository);
    let v = get_json(&args.image_args, &repo, &path)?;
    let held = v["status"] != "passed" && v["exception"].is_null();
    if args.format == TableOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_status(&args.reference, &v);
    }
    Ok(if held {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_status(reference: &str, v: &Value) {
    let row = |k: &str, val: &str| println!("{k:<11} {val}");
    let s = |x: &Value| x.as_str().unwrap_or("-").to_string();
    row("Image", reference);
    row("Digest", &s(&v["digest"]));
    row("Media type", &s(&v["mediaType"]));
    let status = s(&v["status"]);
    row(
        "Status",
        &if status == "passed" {
            "passed (pullable)".to_string()
        } else if v["exception"].is_null() {
            format!("{status} (pulls refused)")
        } else {
            format!("{status} (pullable under an exception)")
        },
    );
    let e = &v["exception"];
    if !e.is_null() {
        row(
            "Exception",
            &format!(
                "{} (granted by {}, expires {})",
                s(&e["reason"]),
                s(&e["granted_by"]),
                unix_time(&e["expires"])
            ),
        );
    }
    let verdict = &v["verdict"];
    if verdict.is_null() {
        row("Verdict", "not judged (not a container image, or no gate)");
        return;
    }
    let violations = verdict["violations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if violations.is_empty() {
        row("Violations", "none");
    } else {
        row("Violations", &violations.len().to_string());
        for x in &violations {
            println!("  - {}: {}", s(&x["rule"]), s(&x["reason"]));
        }
    }
    let list = |x: &Value| {
        let ids: Vec<String> = x
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    };
    row("Blocking", &list(&verdict["cves"]));
    row("Findings", &list(&verdict["findings"]));
    if let Some(err) = verdict["error"].as_str() {
        row("Error", err);
    }
}

fn unix_time(v: &Value) -> String {
    v.as_i64()
        .and_then(|t| jiff::Timestamp::from_second(t).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(|| "-".into())
}

fn run_cves(args: CvesArgs) -> Result<ExitCode> {
    let id = args.id.trim();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        bail!("{:?} is not a vulnerability id", args.id);
    }
    // The query names no repository; the request's scope names a placeholder, and the
    // server lists what the caller may pull.
    let repo = Repository {
        registry: args.registry.clone(),
        name: "customs-cves".into(),
    };
    let v = get_json(&args.image_args, &repo, &format!("/v2/_customs/cves/{id}"))?;
    let images = v["images"].as_array().cloned().unwrap_or_default();
    if args.format == TableOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if images.is_empty() {
        println!("{id}: no stored image is affected");
    } else {
        println!(
            "{:<30} {:<12} {:<71} TAGS",
            "REPOSITORY", "STATUS", "DIGEST"
        );
        for i in &images {
            let tags: Vec<&str> = i["tags"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            println!(
                "{:<30} {:<12} {:<71} {}",
                i["repository"].as_str().unwrap_or("-"),
                i["status"].as_str().unwrap_or("-"),
                i["digest"].as_str().unwrap_or("-"),
                if tags.is_empty() {
                    "-".to_string()
                } else {
                    tags.join(",")
                }
            );
        }
    }
    Ok(if images.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
