//! `customs inspect IMAGE`: reference, digests, platform, config, history and layers.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use customs_image::summary;
use serde::Serialize;

use crate::cmd::cache::human_bytes;
use crate::cmd::format::TableOrJson;
use crate::cmd::image_args::ImageArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The image: a reference, docker-archive:, oci:, oci-archive: or a path.
    pub image: String,
    #[arg(long, short = 'f', value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// Skip reading layers (no uncompressed sizes or file counts).
    #[arg(long)]
    pub no_layers: bool,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(Serialize)]
struct Report {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_digest: Option<String>,
    manifest_digest: String,
    manifest_media_type: String,
    config_digest: String,
    config_media_type: String,
    platform: String,
    repo_tags: Vec<String>,
    created: Option<String>,
    config: customs_image::manifest::ContainerConfig,
    history: Vec<customs_image::manifest::History>,
    layers: Vec<LayerRow>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    base_image: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct LayerRow {
    digest: String,
    diff_id: String,
    media_type: String,
    compressed_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uncompressed_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<usize>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut image = args.image_args.open(&args.image)?;
    let cache = crate::cmd::cache::open().ok();
    let pb = crate::progress::attach(&mut image, args.format == TableOrJson::Json);
    let mut layers = Vec::new();
    for l in &image.layers {
        let mut row = LayerRow {
            digest: l.descriptor.digest.to_string(),
            diff_id: l.diff_id.to_string(),
            media_type: l.descriptor.media_type.clone(),
            compressed_size: l.descriptor.size,
            compression: Some(format!("{:?}", l.declared_compression()).to_lowercase()),
            uncompressed_size: None,
            files: None,
        };
        if !args.no_layers {
            let s = summary::layer_summary(&image, l.index, cache.as_ref())?;
            row.uncompressed_size = Some(s.uncompressed_size);
            row.files = Some(s.file_count());
        }
        layers.push(row);
    }
    pb.finish_and_clear();
    // Every image-supplied string passes through the one redaction of customs-audit.
    use customs_audit::redact;
    let annotations = redact::map(&image.annotations);
    let base_image: BTreeMap<String, String> = annotations
        .iter()
        .filter(|(k, _)| k.starts_with("org.opencontainers.image.base."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let report = Report {
        name: redact::text(&image.name),
        index_digest: image.index_digest.as_ref().map(|d| d.to_string()),
        manifest_digest: image.manifest_digest.to_string(),
        manifest_media_type: image.manifest_media_type.clone(),
        config_digest: image.config_digest.to_string(),
        config_media_type: image.manifest.config.media_type.clone(),
        platform: image.platform.to_string(),
        repo_tags: image.repo_tags.iter().map(|t| redact::text(t)).collect(),
        created: image.config.created.clone(),
        config: redact::config(&image.config.config),
        history: redact::history(&image.config.history),
        layers,
        base_image,
        annotations,
    };
    if args.format == TableOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(r: &Report) {
    println!("Name:        {}", r.name);
    if let Some(i) = &r.index_digest {
        println!("Index:       {i}");
    }
    println!(
        "Manifest:    {} ({})",
        r.manifest_digest, r.manifest_media_type
    );
    println!("Config:      {} ({})", r.config_digest, r.config_media_type);
    println!("Platform:    {}", r.platform);
    if !r.repo_tags.is_empty() {
        println!("Tags:        {}", r.repo_tags.join(", "));
    }
    println!("Created:     {}", r.created.as_deref().unwrap_or("-"));
    let c = &r.config;
    println!(
        "User:        {}",
        c.user
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or("(root)")
    );
    if let Some(e) = &c.entrypoint {
        println!(
            "Entrypoint:  {}",
            serde_json::to_string(e).unwrap_or_default()
        );
    }
    if let Some(cmd) = &c.cmd {
        println!(
            "Cmd:         {}",
            serde_json::to_string(cmd).unwrap_or_default()
        );
    }
    if let Some(w) = &c.working_dir {
        println!("WorkingDir:  {w}");
    }
    for e in c.env.iter().flatten() {
        println!("Env:         {e}");
    }
    for (k, v) in c.labels.iter().flatten() {
        println!("Label:       {k}={v}");
    }
    for (k, v) in &r.base_image {
        println!("Base:        {k}={v}");
    }
    println!("\nHistory:");
    for h in &r.history {
        let by = h.created_by.as_deref().unwrap_or("");
        let by: String = by.chars().take(100).collect();
        println!(
            "  {:<30} {}{}",
            h.created.as_deref().unwrap_or("-"),
            if h.empty_layer { "(empty) " } else { "" },
            by
        );
    }
    println!("\nLayers:");
    println!(
        "  {:<3} {:<19} {:<19} {:>10} {:>10} {:>7}  compression",
        "#", "digest", "diff-id", "size", "unpacked", "files"
    );
    for (i, l) in r.layers.iter().enumerate() {
        println!(
            "  {:<3} {:<19} {:<19} {:>10} {:>10} {:>7}  {}",
            i,
            &l.digest[..19.min(l.digest.len())],
            &l.diff_id[..19.min(l.diff_id.len())],
            human_bytes(l.compressed_size),
            l.uncompressed_size
                .map(human_bytes)
                .unwrap_or_else(|| "-".into()),
            l.files.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
            l.compression.as_deref().unwrap_or("-"),
        );
    }
}
