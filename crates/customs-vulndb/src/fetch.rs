//! Where advisory data is read from: a local path, a `file://` URL, or an HTTPS URL (plain
//! HTTP only on loopback, for tests and local mirrors).

use crate::error::{Error, Result};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) enum Location {
    Path(PathBuf),
    Http(reqwest::Url),
}

/// Reads a location string: `file://` and `http(s)://` URLs, anything else is a path.
pub(crate) fn parse_location(s: &str) -> Result<Location> {
    if !s.contains("://") {
        return Ok(Location::Path(PathBuf::from(s)));
    }
    let url = reqwest::Url::parse(s).map_err(|e| Error::source(s, e))?;
    match url.scheme() {
        "file" => url
            .to_file_path()
            .map(Location::Path)
            .map_err(|()| Error::source(s, "not a local file URL")),
        "https" => Ok(Location::Http(url)),
        "http" if is_loopback(&url) => Ok(Location::Http(url)),
        _ => Err(Error::InsecureUrl { url: s.to_string() }),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The outcome of a conditional download.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// The body was written; the server's ETag, if any.
    Body { etag: Option<String>, bytes: u64 },
    /// 304: the copy with the given ETag is current.
    NotModified,
    /// 404 / 410: nothing published there.
    NotFound,
}

fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(600))
        .user_agent(concat!("customs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Download {
            url: String::new(),
            reason: e.to_string(),
        })
}

/// GETs `url` into `out`, sending `If-None-Match` when an ETag is known. A body cut short
/// is an error.
pub(crate) fn download(
    url: &reqwest::Url,
    etag: Option<&str>,
    out: &mut impl Write,
) -> Result<Fetched> {
    let fail = |reason: String| Error::Download {
        url: url.to_string(),
        reason,
    };
    let mut request = client()?.get(url.clone());
    if let Some(tag) = etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, tag);
    }
    let mut response = request.send().map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Ok(Fetched::NotFound);
    }
    if !status.is_success() {
        return Err(fail(format!("HTTP status {status}")));
    }
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let expected = response.content_length();
    let bytes = response.copy_to(out).map_err(|e| fail(e.to_string()))?;
    if let Some(n) = expected {
        if n != bytes {
            return Err(fail(format!("body cut short: {bytes} of {n} bytes")));
        }
    }
    Ok(Fetched::Body { etag, bytes })
}

/// The whole content of a location.
pub(crate) fn read_all(location: &str) -> Result<Vec<u8>> {
    match parse_location(location)? {
        Location::Path(p) => std::fs::read(&p).map_err(|e| Error::io(p, e)),
        Location::Http(url) => {
            let mut body = Vec::new();
            match download(&url, None, &mut body)? {
                Fetched::Body { .. } => Ok(body),
                _ => Err(Error::Download {
                    url: url.to_string(),
                    reason: "not found".into(),
                }),
            }
        }
    }
}
