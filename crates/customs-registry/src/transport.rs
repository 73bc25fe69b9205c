//! HTTP for the registry client: which scheme a host gets (HTTPS, or plain HTTP only for
//! loopback and explicitly insecure hosts), TLS with extra CA certificates, retries with
//! backoff on 429 and 5xx, and redirects followed by hand so that credentials never go to
//! another host.
//!
//! A registry that never answers or trickles bytes must not hang customs. Three bounds do it:
//! a connect timeout; a read timeout, for the response headers and for each read of a body;
//! and [`StallGuard`], which fails a body that delivers too few bytes while customs waits for
//! them (so one byte every few seconds cannot keep a transfer alive). Retries stop once a
//! request's time budget is spent, so the whole request fails with a clear error inside a
//! minute.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};

use super::credentials::Secret;
use super::RegistryError;

/// The longest `Retry-After` honoured; a server asking for more gets this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;
/// A body that delivers fewer than [`STALL_MIN_BYTES`] while customs spends this long waiting
/// in reads has stalled.
pub(crate) const STALL_WINDOW: Duration = Duration::from_secs(15);
pub(crate) const STALL_MIN_BYTES: u64 = 16 * 1024;
/// Upload bodies get the read timeout plus one second per this many bytes to be sent.
const UPLOAD_BYTES_PER_SEC: u64 = 256 * 1024;

/// Whether `host[:port]` is a loopback name or address (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host_port
            }
        })
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host[:port]` of a URL, as registries are named.
pub fn host_port(url: &Url) -> String {
    // `host_str` keeps the brackets of an IPv6 address.
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

pub(crate) struct TransportOptions {
    pub insecure: Vec<String>,
    pub plain_http: bool,
    pub ca_certs: Vec<PathBuf>,
    pub user_agent: String,
    pub max_attempts: u32,
    pub retry_delay: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub request_budget: Duration,
}

/// One request, re-sendable: the body is kept so that a retry can send it again.
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, String)>,
    pub auth: Option<Secret>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            auth: None,
            body: None,
        }
    }
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }
}

pub(crate) struct Transport {
    verified: Client,
    unverified: Client,
    opts: TransportOptions,
    schemes: Mutex<HashMap<String, &'static str>>,
}

impl Transport {
    pub fn new(opts: TransportOptions) -> Result<Transport, RegistryError> {
        let mut builder = base_builder(&opts);
        for path in &opts.ca_certs {
            let pem = std::fs::read(path).map_err(|e| RegistryError::CaCert {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RegistryError::CaCert {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(RegistryError::CaCert {
                    path: path.clone(),
                    message: "no PEM certificate in file".into(),
                });
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let verified = builder
            .build()
            .map_err(|e| RegistryError::Client(e.to_string()))?;
        let unverified = base_builder(&opts)
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| RegistryError::Client(e.to_string()))?;
        Ok(Transport {
            verified,
            unverified,
            opts,
            schemes: Mutex::new(HashMap::new()),
        })
    }

    fn is_insecure(&self, host: &str) -> bool {
        self.opts.insecure.iter().any(|h| h == host)
    }

    /// Whether plain HTTP may be used for `host`.
    pub fn plain_http_allowed(&self, host: &str) -> bool {
        is_loopback(host) || self.is_insecure(host)
    }

    /// `scheme://host/` for a registry API host. HTTPS unless the host is loopback or listed
    /// as insecure and does not speak TLS (or `plain_http` is set for such a host); plain HTTP
    /// to any other host is refused before connecting.
    pub fn base_url(&self, host: &str) -> Result<Url, RegistryError> {
        let parse = |scheme: &str| {
            Url::parse(&format!("{scheme}://{host}/")).map_err(|_| {
                RegistryError::InvalidResponse(format!("invalid registry host {host:?}"))
            })
        };
        if let Some(s) = self.schemes.lock().ok().and_then(|m| m.get(host).copied()) {
            return parse(s);
        }
        let plain_ok = self.plain_http_allowed(host);
        if self.opts.plain_http {
            if !plain_ok {
                return Err(RegistryError::PlainHttpRefused {
                    host: host.to_string(),
                });
            }
            return parse("http");
        }
        let https = parse("https")?;
        let scheme = match self.probe(https.clone()) {
            Ok(()) => "https",
            Err(e) if plain_ok && !e.server_speaks_tls() => {
                log::debug!("{host}: HTTPS failed ({e}); trying plain HTTP as the host is loopback or insecure");
                self.probe(parse("http")?)?;
                "http"
            }
            Err(e) => return Err(e),
        };
        if let Ok(mut m) = self.schemes.lock() {
            m.insert(host.to_string(), scheme);
        }
        parse(scheme)
    }

    fn probe(&self, base: Url) -> Result<(), RegistryError> {
        let url = base
            .join("/v2/")
            .map_err(|e| RegistryError::InvalidResponse(e.to_string()))?;
        self.send_once(&Request::new(Method::GET, url.clone()), &url, None)
            .map(|_| ())
    }

    fn client_for(&self, url: &Url) -> &Client {
        if self.is_insecure(&host_port(url)) {
            &self.unverified
        } else {
            &self.verified
        }
    }

    fn check_scheme(&self, url: &Url) -> Result<(), RegistryError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.plain_http_allowed(&host_port(url)) => Ok(()),
            "http" => Err(RegistryError::PlainHttpRefused {
                host: host_port(url),
            }),
            other => Err(RegistryError::InvalidResponse(format!(
                "unsupported URL scheme {other:?}"
            ))),
        }
    }

    fn send_once(
        &self,
        req: &Request,
        url: &Url,
        auth: Option<&Secret>,
    ) -> Result<Response, RegistryError> {
        self.check_scheme(url)?;
        let mut b = self
            .client_for(url)
            .request(req.method.clone(), url.clone());
        let mut headers = HeaderMap::new();
        for (k, v) in &req.headers {
            let v = HeaderValue::from_str(v)
                .map_err(|_| RegistryError::InvalidResponse(format!("bad header value for {k}")))?;
            headers.append(k.clone(), v);
        }
        if let Some(a) = auth {
            let mut v = HeaderValue::from_str(a.expose()).map_err(|_| {
                RegistryError::InvalidResponse(
                    "credentials contain characters not allowed in a header".into(),
                )
            })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        b = b.headers(headers);
        if let Some(body) = &req.body {
            let upload = Duration::from_secs(body.len() as u64 / UPLOAD_BYTES_PER_SEC);
            b = b.timeout(self.opts.read_timeout + upload);
            b = b.body(body.clone());
        } else if matches!(req.method, Method::PUT | Method::POST | Method::PATCH) {
            b = b.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        b.send()
            .map_err(|e| RegistryError::from_reqwest(&host_port(url), &e))
    }

    /// Sends `req`, retrying 429, 5xx and transient network errors with exponential backoff
    /// (honouring `Retry-After`), and following redirects; the `Authorization` header is
    /// dropped when a redirect leaves the original host.
    pub fn send(&self, req: Request) -> Result<Response, RegistryError> {
        let origin = host_port(&req.url);
        let started = Instant::now();
        let mut current = req;
        let mut redirects = 0;
        let mut attempt = 1;
        loop {
            let auth = if host_port(&current.url) == origin {
                current.auth.clone()
            } else {
                None
            };
            let url = current.url.clone();
            let result = self.send_once(&current, &url, auth.as_ref());
            let resp = match result {
                Ok(r) => r,
                Err(e)
                    if e.is_transient()
                        && attempt < self.opts.max_attempts
                        && self.may_retry(started, self.backoff(attempt)) =>
                {
                    log::debug!("{url}: {e}; retrying (attempt {attempt})");
                    std::thread::sleep(self.backoff(attempt));
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Ok(resp);
                };
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(RegistryError::InvalidResponse(format!(
                        "more than {MAX_REDIRECTS} redirects from {origin}"
                    )));
                }
                let next = url.join(loc).map_err(|_| {
                    RegistryError::InvalidResponse(format!("{origin} redirected to an invalid URL"))
                })?;
                if status == StatusCode::SEE_OTHER {
                    current.method = Method::GET;
                    current.body = None;
                }
                if host_port(&next) != origin {
                    current.auth = None;
                }
                current.url = next;
                continue;
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let wait = retry_after(&resp).unwrap_or_else(|| self.backoff(attempt));
            if retryable && attempt < self.opts.max_attempts && self.may_retry(started, wait) {
                log::debug!("{url}: HTTP {status}; retrying in {wait:?} (attempt {attempt})");
                drop(resp);
                std::thread::sleep(wait);
                attempt += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Whether another attempt after `wait` can still finish inside the request's budget
    /// (an attempt may take up to the connect plus the read timeout).
    fn may_retry(&self, started: Instant, wait: Duration) -> bool {
        started.elapsed() + wait + self.opts.connect_timeout.min(self.opts.read_timeout)
            < self.opts.request_budget
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(6);
        (self.opts.retry_delay * factor).min(MAX_RETRY_AFTER)
    }
}

fn base_builder(opts: &TransportOptions) -> reqwest::blocking::ClientBuilder {
    Client::builder()
        .user_agent(opts.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(opts.connect_timeout)
        // For the blocking client this bounds the wait for the response headers and each
        // read of the body, not the whole transfer (StallGuard covers slow bodies).
        .timeout(opts.read_timeout)
        .use_rustls_tls()
}

/// A response body that fails with [`io::ErrorKind::TimedOut`] once the registry delivers
/// fewer than [`STALL_MIN_BYTES`] over [`STALL_WINDOW`] of waiting. Only time spent blocked
/// in reads counts, so a slow consumer is never mistaken for a stalled server.
pub(crate) struct StallGuard<R> {
    inner: R,
    host: String,
    waited: Duration,
    bytes: u64,
}

impl<R> StallGuard<R> {
    pub fn new(inner: R, host: impl Into<String>) -> StallGuard<R> {
        StallGuard {
            inner,
            host: host.into(),
            waited: Duration::ZERO,
            bytes: 0,
        }
    }
}

impl<R: Read> Read for StallGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t = Instant::now();
        let n = self.inner.read(buf)?;
        self.waited += t.elapsed();
        self.bytes += n as u64;
        if self.bytes >= STALL_MIN_BYTES {
            self.waited = Duration::ZERO;
            self.bytes = 0;
        } else if n > 0 && self.waited > STALL_WINDOW {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} stalled: {} bytes in {} s of waiting; giving up",
                    self.host,
                    self.bytes,
                    self.waited.as_secs()
                ),
            ));
        }
        Ok(n)
    }
}

/// `Retry-After` in seconds (HTTP dates are not honoured), capped.
fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    let secs: u64 = v.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Finds the rustls error under a reqwest error, if any.
pub(crate) fn find_rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // An io::Error's `source` skips the error it wraps; descend into it instead (TLS
        // errors arrive as io::Error(io::Error(rustls::Error))).
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "registry.example.com",
            "10.0.0.1:5000",
            "192.168.1.1",
            "localhost.evil.com",
            "[::2]:5",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
