//! `customs db update`: download osv.dev's per-ecosystem exports (or a mirror's), remember
//! their ETags, and replace the database atomically. Downloads are kept beside the database
//! (`<db>.sources/<Ecosystem>.zip`) so an unchanged export (HTTP 304) need not be fetched
//! again. Nothing is replaced until every download and the build succeeded, so an
//! interrupted update leaves the old database working.
//!
//! Beside the advisories, an update fetches what rates them (the `rating` module): CISA's
//! KEV catalogue, FIRST's EPSS scores and NVD's yearly CVE feeds (API 2.0 JSON, gzipped),
//! each from its publisher, or all from one mirror laid out as:
//!
//! ```text
//! <mirror>/<Ecosystem>/all.zip                      OSV exports, as osv.dev
//! <mirror>/kev/known_exploited_vulnerabilities.json CISA KEV
//! <mirror>/epss/epss_scores-current.csv.gz          FIRST EPSS (or .csv)
//! <mirror>/nvd/nvdcve-2.0-<year>.json.gz            NVD, 2002 to this year
//! ```
//!
//! A fact file a mirror does not publish is skipped with a note; one that is published but
//! does not parse fails the update, like a truncated zip.

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
    /// An ecosystem's export is being fetched.
    Fetching {
        /// The OSV ecosystem.
        ecosystem: String,
        /// The URL fetched.
        url: String,
    },
    /// An export was downloaded.
    Downloaded {
        /// The OSV ecosystem.
        ecosystem: String,
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The cached export is current (the server answered 304).
    NotModified {
        /// The OSV ecosystem.
        ecosystem: String,
    },
    /// Nothing published for the ecosystem at that base.
    Missing {
        /// The OSV ecosystem.
        ecosystem: String,
    },
    /// The database is being built from the exports.
    Building,
    /// The new database is in place.
    Done,
}

/// CISA's KEV catalogue.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST's daily EPSS scores, as published by Empirical Security for FIRST.
pub const EPSS_URL: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";
/// NVD's yearly CVE API 2.0 feeds: `<base>/nvdcve-2.0-<year>.json.gz`.
pub const NVD_FEEDS: &str = "https://nvd.nist.gov/feeds/json/cve/2.0";
/// The first year NVD's feeds cover.
const NVD_FIRST_YEAR: i16 = 2002;

#[derive(Debug, Clone)]
/// Where and what `customs db update` fetches.
pub struct UpdateOptions {
    /// Base URL (`https://…`, `file://…`, or a local directory); `None` for osv.dev.
    pub mirror: Option<String>,
    /// OSV ecosystems to fetch (`PyPI`, `Debian`); one `all.zip` export each.
    pub ecosystems: Vec<String>,
    /// Also fetch KEV, EPSS and NVD's CVE feeds (default true).
    pub facts: bool,
    /// The time the rebuilt database is stamped with; `None` for its newest record's
    /// `modified` (see [`crate::build_bytes`]).
    pub built_at: Option<jiff::Timestamp>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            mirror: None,
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect(),
            facts: true,
            built_at: None,
        }
    }
}

#[derive(Debug, Clone)]
/// What an update did.
pub struct UpdateReport {
    /// The build of the new database.
    pub build: BuildReport,
    /// Exports downloaded anew.
    pub downloaded: Vec<String>,
    /// Exports that were current in the cache.
    pub not_modified: Vec<String>,
    /// Ecosystems the mirror does not publish.
    pub missing: Vec<String>,
    /// Fact files (`kev`, `epss`, `nvd-2024`) the source does not publish.
    pub facts_missing: Vec<String>,
}

/// What one download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OsvZip,
    Kev,
    Epss,
    Nvd,
}

/// One file to fetch: its name in reports, where, and what it must parse as.
struct Item {
    name: String,
    url: String,
    kind: Kind,
}

fn items(opts: &UpdateOptions, base: &str) -> Vec<Item> {
    let join = |b: &str, parts: &[&str]| -> String {
        if b.contains("://") {
            let mut u = b.to_string();
            for p in parts {
                u.push('/');
                u.push_str(&encode_segment(p));
            }
            u
        } else {
            let mut p = PathBuf::from(b);
            p.extend(parts);
            p.to_string_lossy().into_owned()
        }
    };
    let mut out: Vec<Item> = opts
        .ecosystems
        .iter()
        .map(|eco| Item {
            name: eco.clone(),
            url: join(base, &[eco, "all.zip"]),
            kind: Kind::OsvZip,
        })
        .collect();
    if !opts.facts {
        return out;
    }
    let mirror = opts.mirror.as_deref().map(|m| m.trim_end_matches('/'));
    out.push(Item {
        name: "kev".into(),
        url: mirror.map_or(KEV_URL.to_string(), |m| {
            join(m, &["kev", "known_exploited_vulnerabilities.json"])
        }),
        kind: Kind::Kev,
    });
    out.push(Item {
        name: "epss".into(),
        url: mirror.map_or(EPSS_URL.to_string(), |m| {
            join(m, &["epss", "epss_scores-current.csv.gz"])
        }),
        kind: Kind::Epss,
    });
    // The calendar year from the mean Gregorian year; a day off at New Year asks for a feed
    // not yet published, which is reported missing, never an error.
    let this_year = (1970 + jiff::Timestamp::now().as_second() / 31_556_952) as i16;
    for year in NVD_FIRST_YEAR..=this_year.max(NVD_FIRST_YEAR) {
        let file = format!("nvdcve-2.0-{year}.json.gz");
        out.push(Item {
            name: format!("nvd-{year}"),
            url: mirror.map_or(format!("{NVD_FEEDS}/{file}"), |m| join(m, &["nvd", &file])),
            kind: Kind::Nvd,
        });
    }
    out
}

/// A downloaded fact file must parse before it can replace anything.
fn check_facts(kind: Kind, path: &Path, url: &str) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::Download {
        url: url.to_string(),
        reason,
    };
    match kind {
        Kind::OsvZip => Ok(()),
        Kind::Epss => crate::rating::parse_epss(&bytes)
            .map_err(bad)
            .and_then(|(facts, _)| {
                if facts.is_empty() {
                    Err(Error::Download {
                        url: url.to_string(),
                        reason: "no EPSS rows".into(),
                    })
                } else {
                    Ok(())
                }
            }),
        Kind::Kev | Kind::Nvd => {
            let json =
                crate::source::gunzip_if_gzip(&bytes, crate::source::MAX_INFLATED).map_err(bad)?;
            let kind = if kind == Kind::Kev {
                crate::rating::DocumentKind::Kev
            } else {
                crate::rating::DocumentKind::Nvd
            };
            crate::rating::parse(kind, &json).map(|_| ()).map_err(bad)
        }
    }
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

/// Updates the database at `dest` as `opts` says: fetches each ecosystem's export (reusing a
/// cached one the server says is current), builds, and replaces `dest` atomically. Reports
/// each step to `progress`. A mirror that publishes none of the ecosystems leaves `dest` as
/// it was.
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
    let mut staged: Vec<(
        PathBuf,
        PathBuf,
        Option<tempfile::NamedTempFile>,
        Option<String>,
    )> = Vec::new();
    let mut sources = Vec::new();

    let mut facts_missing = Vec::new();
    for item in items(opts, &base) {
        let eco = &item.name;
        let file_stem = eco.replace(['/', '\\', ':'], "_");
        let ext = match item.kind {
            Kind::OsvZip => "zip",
            Kind::Kev => "json",
            Kind::Epss => "csv.gz",
            Kind::Nvd => "json.gz",
        };
        let cached = cache.join(format!("{file_stem}.{ext}"));
        let etag_file = cache.join(format!("{file_stem}.etag"));
        let old_etag = if cached.is_file() {
            std::fs::read_to_string(&etag_file)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        } else {
            None
        };
        let url = item.url.clone();
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
                // A download that is not complete fails the update here, before anything
                // is replaced.
                if item.kind == Kind::OsvZip {
                    let file = tmp.reopen().map_err(|e| Error::io(tmp.path(), e))?;
                    zip::ZipArchive::new(file).map_err(|e| Error::Download {
                        url: url.clone(),
                        reason: format!("not a complete zip: {e}"),
                    })?;
                } else {
                    check_facts(item.kind, tmp.path(), &url)?;
                }
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
                if item.kind == Kind::OsvZip {
                    missing.push(eco.clone());
                } else {
                    facts_missing.push(eco.clone());
                }
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
        let mut src = match item.kind {
            Kind::OsvZip => Source::osv(path_for_build.to_string_lossy()),
            Kind::Epss => Source::epss(path_for_build.to_string_lossy()),
            Kind::Kev | Kind::Nvd => Source::facts(path_for_build.to_string_lossy()),
        };
        src.etag = etag.clone();
        src.label = Some(url.clone());
        sources.push(src);
        staged.push((cached, etag_file, use_tmp.then_some(tmp), etag));
    }

    if !sources
        .iter()
        .any(|s| s.kind == crate::source::SourceKind::Osv)
    {
        // Never replace a working database with one that holds no advisories.
        return Err(Error::NothingPublished {
            mirror: base.clone(),
        });
    }
    progress(&UpdateEvent::Building);
    let (bytes, mut build) = db::build_bytes(&sources, opts.built_at)?;
    db::write_atomically(dest, &bytes)?;
    build.path = Some(dest.to_path_buf());
    for (cached, etag_file, tmp, etag) in staged {
        if let Some(tmp) = tmp {
            tmp.persist(&cached)
                .map_err(|e| Error::io(&cached, e.error))?;
        }
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
        facts_missing,
    })
}
