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
//! <mirror>/cve5/all_CVEs_at_midnight.zip.zip        CVE List V5 release bundle (optional)
//! ```
//!
//! A fact file a mirror does not publish is skipped with a note; one that is published but
//! does not parse fails the update, like a truncated zip. The CVE List V5 bundle (a zip of
//! `cves.zip`, as CVEProject/cvelistV5 releases it) is read through [`crate::import`].
//!
//! Without a mirror (or with [`UpdateOptions::nvd_api`] set), the yearly NVD feeds are topped
//! up from NVD's CVE API 2.0, incrementally: the records modified since the last successful
//! fetch, asked for by `lastModStartDate`/`lastModEndDate` in windows of at most 120 days
//! (NVD's limit) and paged by `startIndex`/`resultsPerPage`. Each record is kept beside the
//! database as `<db>.sources/nvd-api/<CVE id>.json`, a newer copy replacing an older, and the
//! end of the last window is stored in the database metadata as the NVD API source's `etag`
//! (`lastModEndDate=<time>`); a failed fetch replaces nothing and advances nothing.

use crate::db::{self, BuildReport};
use crate::error::{Error, Result};
use crate::fetch::{self, Fetched, Location};
use crate::source::Source;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
/// NVD's CVE API 2.0.
pub const NVD_API: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";
/// The longest `lastModStartDate`..`lastModEndDate` range NVD answers, in days.
pub const NVD_MAX_WINDOW_DAYS: i64 = 120;
/// The most records NVD returns on one page.
pub const NVD_MAX_PAGE: u32 = 2000;
/// How the NVD API source's `etag` in the metadata spells the end of the last fetch.
const NVD_STATE_PREFIX: &str = "lastModEndDate=";
/// Where the first incremental fetch starts when the database remembers none: the yearly
/// feeds, refreshed daily, cover what is older.
const NVD_FIRST_LOOKBACK_DAYS: i64 = 8;

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
    /// NVD's CVE API 2.0 (or a server answering the same queries) for the incremental
    /// top-up; `None` means [`NVD_API`] without a mirror and no API with one.
    pub nvd_api: Option<String>,
    /// An NVD API key, sent as the `apiKey` header (never logged).
    pub nvd_api_key: Option<String>,
    /// The pause between NVD API requests (NVD asks for 6 s).
    pub nvd_delay: Duration,
    /// Records asked for per page (`resultsPerPage`, at most [`NVD_MAX_PAGE`]).
    pub nvd_page_size: u32,
    /// Where the fetch starts when the database records no earlier one; `None` for 8 days
    /// before now.
    pub nvd_since: Option<jiff::Timestamp>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            mirror: None,
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect(),
            facts: true,
            built_at: None,
            nvd_api: None,
            nvd_api_key: None,
            nvd_delay: Duration::from_secs(6),
            nvd_page_size: NVD_MAX_PAGE,
            nvd_since: None,
        }
    }
}

/// What the incremental NVD API fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvdApiReport {
    /// The API base asked.
    pub url: String,
    /// `lastModStartDate` of the first window: the previous fetch's end, or the default.
    pub since: String,
    /// `lastModEndDate` of the last window, now stored in the metadata.
    pub until: String,
    /// Whether `since` came from the database metadata (an incremental fetch).
    pub resumed: bool,
    /// Windows of at most 120 days asked for.
    pub windows: usize,
    /// Pages fetched.
    pub pages: usize,
    /// CVE records received (a record in two windows counts twice).
    pub records: usize,
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
    /// Fact files (`kev`, `epss`, `nvd-2024`, `cve5`) the source does not publish.
    pub facts_missing: Vec<String>,
    /// The NVD API top-up, when one ran.
    pub nvd_api: Option<NvdApiReport>,
}

/// What one download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OsvZip,
    Kev,
    Epss,
    Nvd,
    Cve5Bundle,
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
    // CVEProject names each release by its date and hour, so only a mirror (which gives it
    // one fixed name) serves the bundle.
    if let Some(m) = mirror {
        out.push(Item {
            name: "cve5".into(),
            url: join(m, &["cve5", "all_CVEs_at_midnight.zip.zip"]),
            kind: Kind::Cve5Bundle,
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
        Kind::OsvZip | Kind::Cve5Bundle => Ok(()),
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
    let mut advisory_sources = 0usize;
    for item in items(opts, &base) {
        let eco = &item.name;
        let file_stem = eco.replace(['/', '\\', ':'], "_");
        let ext = match item.kind {
            Kind::OsvZip => "zip",
            Kind::Kev => "json",
            Kind::Epss => "csv.gz",
            Kind::Nvd => "json.gz",
            Kind::Cve5Bundle => "zip.zip",
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
                if matches!(item.kind, Kind::OsvZip | Kind::Cve5Bundle) {
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
        if item.kind == Kind::OsvZip {
            advisory_sources += 1;
        }
        let mut src = match item.kind {
            Kind::OsvZip | Kind::Cve5Bundle => Source::osv(path_for_build.to_string_lossy()),
            Kind::Epss => Source::epss(path_for_build.to_string_lossy()),
            Kind::Kev | Kind::Nvd => Source::facts(path_for_build.to_string_lossy()),
        };
        src.etag = etag.clone();
        src.label = Some(url.clone());
        sources.push(src);
        staged.push((cached, etag_file, use_tmp.then_some(tmp), etag));
    }

    if advisory_sources == 0 {
        // Never replace a working database with one that holds no advisories.
        return Err(Error::NothingPublished {
            mirror: base.clone(),
        });
    }
    let nvd_api = match nvd_api_base(opts) {
        Some(api) => {
            let (src, report) = nvd_api_fetch(opts, &api, dest, &cache, progress)?;
            sources.push(src);
            Some(report)
        }
        None => None,
    };
    // The CVE List bundle's inner zip, copied out for the build and removed after it.
    let scratch = tempfile::Builder::new()
        .prefix(".unwrap-")
        .tempdir_in(&cache)
        .map_err(|e| Error::io(&cache, e))?;
    let sources = crate::import::unwrap_bundles(sources, scratch.path())?;
    progress(&UpdateEvent::Building);
    let (bytes, mut build) = db::build_bytes(&sources, opts.built_at)?;
    drop(scratch);
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
        nvd_api,
    })
}

/// The NVD API to top up from, if any (see [`UpdateOptions::nvd_api`]).
fn nvd_api_base(opts: &UpdateOptions) -> Option<String> {
    if !opts.facts {
        return None;
    }
    match (&opts.nvd_api, &opts.mirror) {
        (Some(api), _) => Some(api.trim_end_matches('/').to_string()),
        (None, None) => Some(NVD_API.to_string()),
        (None, Some(_)) => None,
    }
}

/// NVD's date-time form: extended ISO 8601 with milliseconds and an explicit UTC offset.
pub fn nvd_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.000+00:00").to_string()
}

/// `[since, until]` cut into consecutive windows of at most [`NVD_MAX_WINDOW_DAYS`] days;
/// each window starts where the previous ended. Empty when `until` is not after `since`.
pub fn nvd_windows(
    since: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Vec<(jiff::Timestamp, jiff::Timestamp)> {
    let max = NVD_MAX_WINDOW_DAYS * 86_400;
    let mut out = Vec::new();
    let mut start = since.as_second();
    let end = until.as_second();
    while start < end {
        let stop = (start + max).min(end);
        if let (Ok(a), Ok(b)) = (
            jiff::Timestamp::from_second(start),
            jiff::Timestamp::from_second(stop),
        ) {
            out.push((a, b));
        }
        start = stop;
    }
    out
}

/// The end of the last NVD API fetch the database at `dest` records for `api`, if any.
fn nvd_state(dest: &Path, api: &str) -> Option<jiff::Timestamp> {
    if !dest.is_file() {
        return None;
    }
    let db = crate::Database::open(dest).ok()?;
    db.metadata()
        .sources
        .iter()
        .filter(|s| s.location == api)
        .find_map(|s| {
            s.etag
                .as_deref()?
                .strip_prefix(NVD_STATE_PREFIX)?
                .parse()
                .ok()
        })
}

/// A CVE id safe to name a file by: `CVE-<year>-<digits>`.
fn safe_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let mut parts = rest.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(y), Some(n), None)
            if y.len() == 4 && !n.is_empty() && n.len() <= 12
                && y.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    )
}

#[derive(serde::Deserialize)]
struct NvdPage {
    #[serde(rename = "totalResults")]
    total_results: u64,
    #[serde(default)]
    vulnerabilities: Vec<NvdPageItem>,
}

#[derive(serde::Deserialize)]
struct NvdPageItem {
    cve: serde_json::Value,
}

/// GETs one NVD API page, retrying a rate limit (403, 429, 503) three times with a growing
/// pause. The key goes in a header and never into an error message.
fn nvd_get(
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    key: Option<&str>,
    delay: Duration,
) -> Result<Vec<u8>> {
    let fail = |reason: String| Error::Download {
        url: url.to_string(),
        reason,
    };
    let mut attempt = 0u32;
    loop {
        let mut request = client.get(url.clone());
        if let Some(k) = key {
            request = request.header("apiKey", k);
        }
        let response = request
            .send()
            .map_err(|e| fail(e.without_url().to_string()))?;
        let status = response.status();
        let limited = matches!(status.as_u16(), 403 | 429 | 503);
        if limited && attempt < 3 {
            attempt += 1;
            std::thread::sleep(delay.max(Duration::from_millis(50)) * (1 << attempt));
            continue;
        }
        if !status.is_success() {
            return Err(fail(format!("HTTP status {status}")));
        }
        let expected = response.content_length();
        let body = response
            .bytes()
            .map_err(|e| fail(e.without_url().to_string()))?;
        if expected.is_some_and(|n| n != body.len() as u64) {
            return Err(fail(format!(
                "body cut short: {} of {} bytes",
                body.len(),
                expected.unwrap_or_default()
            )));
        }
        return Ok(body.to_vec());
    }
}

/// Fetches every CVE record NVD's API says was modified since the last fetch (or
/// [`UpdateOptions::nvd_since`]) into `<cache>/nvd-api/`, and returns the source that reads
/// them, stamped with the new end time.
fn nvd_api_fetch(
    opts: &UpdateOptions,
    api: &str,
    dest: &Path,
    cache: &Path,
    progress: &mut dyn FnMut(&UpdateEvent),
) -> Result<(Source, NvdApiReport)> {
    let base = match fetch::parse_location(api)? {
        Location::Http(u) => u,
        Location::Path(_) => {
            return Err(Error::Download {
                url: api.to_string(),
                reason: "the NVD API must be an http(s) URL".into(),
            })
        }
    };
    let dir = cache.join("nvd-api");
    // Records kept from earlier fetches; without them the remembered time is no use.
    let kept = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let remembered = nvd_state(dest, api).filter(|_| kept);
    let since = remembered.or(opts.nvd_since).unwrap_or_else(|| {
        jiff::Timestamp::from_second(now.as_second() - NVD_FIRST_LOOKBACK_DAYS * 86_400)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    });
    let until = now.max(since);
    let page_size = opts.nvd_page_size.clamp(1, NVD_MAX_PAGE);
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("customs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Download {
            url: api.to_string(),
            reason: e.to_string(),
        })?;
    let windows = nvd_windows(since, until);
    let mut report = NvdApiReport {
        url: api.to_string(),
        since: nvd_time(since),
        until: nvd_time(until),
        resumed: remembered.is_some(),
        windows: windows.len(),
        pages: 0,
        records: 0,
    };
    let mut first_request = true;
    for (start, end) in windows {
        let mut index: u64 = 0;
        loop {
            let mut url = base.clone();
            url.query_pairs_mut()
                .append_pair("lastModStartDate", &nvd_time(start))
                .append_pair("lastModEndDate", &nvd_time(end))
                .append_pair("startIndex", &index.to_string())
                .append_pair("resultsPerPage", &page_size.to_string());
            if !first_request {
                std::thread::sleep(opts.nvd_delay);
            }
            first_request = false;
            progress(&UpdateEvent::Fetching {
                ecosystem: "nvd-api".into(),
                url: url.to_string(),
            });
            let body = nvd_get(&client, &url, opts.nvd_api_key.as_deref(), opts.nvd_delay)?;
            let bad = |reason: String| Error::Download {
                url: url.to_string(),
                reason,
            };
            let page: NvdPage = serde_json::from_slice(&body)
                .map_err(|e| bad(format!("not an NVD API page: {e}")))?;
            // Every record must read as the build will read it.
            crate::rating::parse(crate::rating::DocumentKind::Nvd, &body).map_err(bad)?;
            progress(&UpdateEvent::Downloaded {
                ecosystem: "nvd-api".into(),
                bytes: body.len() as u64,
            });
            report.pages += 1;
            let got = page.vulnerabilities.len() as u64;
            for item in page.vulnerabilities {
                let id = item.cve.get("id").and_then(|v| v.as_str()).unwrap_or("");
                if !safe_cve_id(id) {
                    return Err(bad(format!("record id {id:?} is not a CVE id")));
                }
                let path = dir.join(format!("{id}.json"));
                let bytes = serde_json::to_vec(&item.cve).map_err(|e| bad(e.to_string()))?;
                let mut tmp =
                    tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(&dir, e))?;
                std::io::Write::write_all(tmp.as_file_mut(), &bytes)
                    .map_err(|e| Error::io(tmp.path(), e))?;
                tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
                report.records += 1;
            }
            index += got;
            if got == 0 || index >= page.total_results {
                break;
            }
        }
    }
    let mut src = Source::osv(dir.to_string_lossy());
    src.label = Some(api.to_string());
    src.etag = Some(format!("{NVD_STATE_PREFIX}{}", until));
    Ok((src, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn windows_are_at_most_120_days_and_follow_each_other() {
        let w = nvd_windows(t("2025-01-01T00:00:00Z"), t("2025-09-01T12:00:00Z"));
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0, t("2025-01-01T00:00:00Z"));
        assert_eq!(w[0].1, t("2025-05-01T00:00:00Z"));
        assert_eq!(w[1].0, w[0].1);
        assert_eq!(w[2].1, t("2025-09-01T12:00:00Z"));
        assert!(w
            .iter()
            .all(|(a, b)| b.as_second() - a.as_second() <= NVD_MAX_WINDOW_DAYS * 86_400));
        assert!(nvd_windows(t("2025-01-01T00:00:00Z"), t("2025-01-01T00:00:00Z")).is_empty());
        assert!(nvd_windows(t("2025-02-01T00:00:00Z"), t("2025-01-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn nvd_times_carry_milliseconds_and_an_offset() {
        assert_eq!(
            nvd_time(t("2021-08-04T13:00:05Z")),
            "2021-08-04T13:00:05.000+00:00"
        );
    }

    #[test]
    fn only_plain_cve_ids_name_files() {
        assert!(safe_cve_id("CVE-2021-33503"));
        assert!(safe_cve_id("CVE-2024-1234567"));
        for bad in [
            "",
            "CVE-2021",
            "CVE-21-1",
            "CVE-2021-",
            "CVE-2021-1/../x",
            "../CVE-2021-1",
            "GHSA-xxxx",
            "CVE-2021-1-2",
        ] {
            assert!(!safe_cve_id(bad), "{bad}");
        }
    }
}
