//! `customs db update`: download osv.dev's per-ecosystem exports (or a mirror's), remember
//! their ETags, and replace the database atomically. Downloads are kept beside the database
//! (`<db>.sources/<Ecosystem>.zip`) so an unchanged export (HTTP 304) need not be fetched
//! again. Nothing is replaced until every download and the build succeeded, so an
//! interrupted update leaves the old database working.

use crate::db::{self, BuildReport};
use crate::error::{Error, Result};
use crate::fetch::{self, Fetched, Location};
use crate::source::Source;
use std::path::{Path, PathBuf};

/// Where osv.dev publishes `<Ecosystem>/all.zip`.
pub const DEFAULT_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Ecosystems fetched by default: those customs inventories.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Chainguard",
    "Debian",
    "Go",
    "Maven",
    "npm",
    "NuGet",
    "Packagist",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "crates.io",
    "Ubuntu",
    "Wolfi",
];

/// Progress of an update, for a progress bar or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateEvent {
    Fetching {
        ecosystem: String,
        url: String,
    },
    Downloaded {
        ecosystem: String,
        bytes: u64,
    },
    NotModified {
        ecosystem: String,
    },
    /// Nothing published for the ecosystem at that base.
    Missing {
        ecosystem: String,
    },
    Building,
    Done,
}

#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Base URL (`https://…`, `file://…`, or a local directory); `None` for osv.dev.
    pub mirror: Option<String>,
    pub ecosystems: Vec<String>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            mirror: None,
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpdateReport {
    pub build: BuildReport,
    pub downloaded: Vec<String>,
    pub not_modified: Vec<String>,
    pub missing: Vec<String>,
}

/// Updates the database at `dest` from osv.dev, or from `mirror` laid out the same way.
pub fn update(
    mirror: Option<&str>,
    dest: &Path,
    progress: &mut dyn FnMut(&UpdateEvent),
) -> Result<UpdateReport> {
    let opts = UpdateOptions {
        mirror: mirror.map(str::to_string),
        ..Default::default()
    };
    update_with(&opts, dest, progress)
}

/// The directory holding the downloaded exports of the database at `dest`.
pub fn cache_dir(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "vuln.db".into());
    name.push(".sources");
    dest.with_file_name(name)
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn update_with(
    opts: &UpdateOptions,
    dest: &Path,
    progress: &mut dyn FnMut(&UpdateEvent),
) -> Result<UpdateReport> {
    let base = opts
        .mirror
        .as_deref()
        .unwrap_or(DEFAULT_BASE)
        .trim_end_matches('/')
        .to_string();
    let cache = cache_dir(dest);
    std::fs::create_dir_all(&cache).map_err(|e| Error::io(&cache, e))?;
    let mut downloaded = Vec::new();
    let mut not_modified = Vec::new();
    let mut missing = Vec::new();
    // (final path, temp file holding a new download, etag)
    let mut staged: Vec<(PathBuf, Option<tempfile::NamedTempFile>, Option<String>)> = Vec::new();
    let mut sources = Vec::new();

    for eco in &opts.ecosystems {
        let file_stem = eco.replace(['/', '\\', ':'], "_");
        let cached = cache.join(format!("{file_stem}.zip"));
        let etag_file = cache.join(format!("{file_stem}.etag"));
        let old_etag = if cached.is_file() {
            std::fs::read_to_string(&etag_file)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        } else {
            None
        };
        let url = if base.contains("://") {
            format!("{base}/{}/all.zip", encode_segment(eco))
        } else {
            Path::new(&base)
                .join(eco)
                .join("all.zip")
                .to_string_lossy()
                .into_owned()
        };
        progress(&UpdateEvent::Fetching {
            ecosystem: eco.clone(),
            url: url.clone(),
        });
        let mut tmp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&cache)
            .map_err(|e| Error::io(&cache, e))?;
        let outcome = match fetch::parse_location(&url)? {
            Location::Path(p) => match std::fs::File::open(&p) {
                Ok(mut f) => {
                    let bytes =
                        std::io::copy(&mut f, tmp.as_file_mut()).map_err(|e| Error::io(&p, e))?;
                    Fetched::Body { etag: None, bytes }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Fetched::NotFound,
                Err(e) => return Err(Error::io(p, e)),
            },
            Location::Http(u) => fetch::download(&u, old_etag.as_deref(), tmp.as_file_mut())?,
        };
        let (use_tmp, etag) = match outcome {
            Fetched::Body { etag, bytes } => {
                // A download that is not a complete zip fails the update here, before
                // anything is replaced.
                let file = tmp.reopen().map_err(|e| Error::io(tmp.path(), e))?;
                zip::ZipArchive::new(file).map_err(|e| Error::Download {
                    url: url.clone(),
                    reason: format!("not a complete zip: {e}"),
                })?;
                progress(&UpdateEvent::Downloaded {
                    ecosystem: eco.clone(),
                    bytes,
                });
                downloaded.push(eco.clone());
                (true, etag)
            }
            Fetched::NotModified => {
                progress(&UpdateEvent::NotModified {
                    ecosystem: eco.clone(),
                });
                not_modified.push(eco.clone());
                (false, old_etag)
            }
            Fetched::NotFound => {
                progress(&UpdateEvent::Missing {
                    ecosystem: eco.clone(),
                });
                missing.push(eco.clone());
                (false, old_etag)
            }
        };
        let path_for_build = if use_tmp {
            tmp.path().to_path_buf()
        } else if cached.is_file() {
            cached.clone()
        } else {
            continue;
        };
        let mut src = Source::osv(path_for_build.to_string_lossy());
        src.etag = etag.clone();
        src.label = Some(url.clone());
        sources.push(src);
        staged.push((cached, use_tmp.then_some(tmp), etag));
    }

    if sources.is_empty() {
        // Never replace a working database with an empty one.
        return Err(Error::NothingPublished {
            mirror: base.clone(),
        });
    }
    progress(&UpdateEvent::Building);
    let (bytes, mut build) = db::build_bytes(&sources)?;
    db::write_atomically(dest, &bytes)?;
    build.path = Some(dest.to_path_buf());
    for (cached, tmp, etag) in staged {
        if let Some(tmp) = tmp {
            tmp.persist(&cached)
                .map_err(|e| Error::io(&cached, e.error))?;
        }
        let etag_file = cached.with_extension("etag");
        match etag {
            Some(tag) => std::fs::write(&etag_file, tag).map_err(|e| Error::io(&etag_file, e))?,
            None => {
                let _ = std::fs::remove_file(&etag_file);
            }
        }
    }
    progress(&UpdateEvent::Done);
    Ok(UpdateReport {
        build,
        downloaded,
        not_modified,
        missing,
    })
}
