//! `registry probe`: what a registry host offers, asked without credentials. Whether plain HTTP
//! answers, whether its TLS certificate is valid (and why not), whether `/v2/` wants
//! authentication (and the challenge's scheme, realm and service), whether `_catalog` can be
//! read anonymously (with an anonymous Bearer token when the registry uses tokens), and the
//! version headers it sends.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::parse_www_authenticate;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::Url;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
/// A probe that could not start.
pub enum ProbeError {
    #[error("invalid registry host {0:?}: expected host[:port]")]
    /// The host is not `host[:port]`.
    InvalidHost(String),
    #[error("reading CA certificate {path}: {message}")]
    /// A CA certificate file could not be read or parsed.
    CaCert {
        /// The CA file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    #[error("building the HTTP client: {0}")]
    /// The HTTP client could not be built.
    Client(String),
}

#[derive(Debug, Clone)]
/// How to probe a registry.
pub struct ProbeOptions {
    /// Extra CA certificates (PEM) trusted on top of the system roots.
    pub ca_certs: Vec<PathBuf>,
    /// Longest wait for each request.
    pub timeout: Duration,
    /// The `User-Agent` sent.
    pub user_agent: String,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            ca_certs: Vec::new(),
            timeout: Duration::from_secs(10),
            user_agent: concat!("customs/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// `GET http://HOST/v2/`.
#[derive(Debug, Clone, Serialize)]
pub struct PlainHttp {
    /// Something answered in HTTP.
    pub answered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The HTTP status, when something answered.
    pub status: Option<u16>,
    /// It answered as a registry (200 or 401 on `/v2/`).
    pub serves_api: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why the request failed, when it did.
    pub error: Option<String>,
}

/// `GET https://HOST/v2/`.
#[derive(Debug, Clone, Serialize)]
pub struct Tls {
    /// The host completed (or failed in) a TLS handshake, as opposed to not speaking TLS.
    pub speaks_tls: bool,
    /// The certificate chain verified for this host name.
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The HTTP status, when the request got one.
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why the request failed, when it did.
    pub error: Option<String>,
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme (`Bearer`, `Basic`).
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Where tokens are issued (`realm`).
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The token service (`service`).
    pub service: Option<String>,
}

/// What `/v2/` says about authentication.
#[derive(Debug, Clone, Serialize)]
pub struct Auth {
    /// 401 on `/v2/`.
    pub required: bool,
    /// The HTTP status of `/v2/`.
    pub status: u16,
    /// The challenges the registry offered.
    pub challenges: Vec<Challenge>,
}

/// `GET /v2/_catalog` without credentials.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// The catalog could be listed without credentials.
    pub anonymous_readable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The HTTP status of the anonymous request.
    pub status: Option<u16>,
    /// Repositories on the first page, when readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<usize>,
    /// Read with an anonymous Bearer token from the challenge's realm.
    pub anonymous_token: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why the request failed, when it did.
    pub error: Option<String>,
}

/// The registry API as seen over the scheme that serves it.
#[derive(Debug, Clone, Serialize)]
pub struct Api {
    /// `https`, or `http` when the host does not speak TLS.
    pub scheme: String,
    /// The checks below went over TLS whose certificate did not verify.
    pub unverified_tls: bool,
    /// What `/v2/` says about authentication.
    pub auth: Auth,
    /// Whether the repository list is readable anonymously.
    pub catalog: Catalog,
    /// `Docker-Distribution-Api-Version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `Server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
/// What a probe found about one registry host.
pub struct ProbeReport {
    /// The host probed, as `host[:port]`.
    pub host: String,
    /// What plain HTTP on the host does.
    pub plain_http: PlainHttp,
    /// What HTTPS on the host does.
    pub tls: Tls,
    /// `None` when neither scheme serves the registry API.
    pub api: Option<Api>,
}

/// Normalises `host[:port]` (a leading `https://` or `http://` and trailing `/` are dropped).
fn normalise_host(host: &str) -> Result<String, ProbeError> {
    let h = host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let valid = !h.is_empty()
        && !h.contains(['/', '?', '#', '@', ' '])
        && Url::parse(&format!("https://{h}/")).is_ok_and(|u| u.host_str().is_some());
    if valid {
        Ok(h.to_string())
    } else {
        Err(ProbeError::InvalidHost(host.to_string()))
    }
}

fn clients(opts: &ProbeOptions) -> Result<(Client, Client), ProbeError> {
    let base = || {
        Client::builder()
            .user_agent(opts.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(opts.timeout)
            .timeout(opts.timeout)
            .use_rustls_tls()
    };
    let mut verified = base();
    for path in &opts.ca_certs {
        let err = |message: String| ProbeError::CaCert {
            path: path.clone(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
        if certs.is_empty() {
            return Err(err("no PEM certificate in file".into()));
        }
        for c in certs {
            verified = verified.add_root_certificate(c);
        }
    }
    let verified = verified
        .build()
        .map_err(|e| ProbeError::Client(e.to_string()))?;
    let unverified = base()
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| ProbeError::Client(e.to_string()))?;
    Ok((verified, unverified))
}

/// An error with its causes, for people to read.
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let next = c.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        src = c.source();
    }
    s
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn challenges(resp: &Response) -> Vec<Challenge> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_www_authenticate)
        .map(|c| Challenge {
            realm: c.param("realm").map(str::to_string),
            service: c.param("service").map(str::to_string),
            scheme: c.scheme,
        })
        .collect()
}

/// Probes `host` (`host[:port]`), sending no credentials anywhere.
pub fn probe(host: &str, opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let host = normalise_host(host)?;
    let (verified, unverified) = clients(opts)?;
    let v2 = |scheme: &str| format!("{scheme}://{host}/v2/");

    let plain_http = match unverified.get(v2("http")).send() {
        Ok(resp) => {
            let status = resp.status().as_u16();
            PlainHttp {
                answered: true,
                status: Some(status),
                serves_api: matches!(status, 200 | 401),
                error: None,
            }
        }
        Err(e) => PlainHttp {
            answered: false,
            status: None,
            serves_api: false,
            error: Some(describe(&e)),
        },
    };

    let (tls, https_response) = match verified.get(v2("https")).send() {
        Ok(resp) => (
            Tls {
                speaks_tls: true,
                valid: true,
                status: Some(resp.status().as_u16()),
                error: None,
            },
            Some((resp, false)),
        ),
        Err(e) => {
            let tls_error = crate::transport::find_rustls_error(&e).filter(|r| {
                !matches!(
                    r,
                    rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }
                )
            });
            match tls_error {
                Some(r) => {
                    let message = r.to_string();
                    let again = unverified.get(v2("https")).send().ok();
                    (
                        Tls {
                            speaks_tls: true,
                            valid: false,
                            status: again.as_ref().map(|r| r.status().as_u16()),
                            error: Some(message),
                        },
                        again.map(|r| (r, true)),
                    )
                }
                None => (
                    Tls {
                        speaks_tls: false,
                        valid: false,
                        status: None,
                        error: Some(describe(&e)),
                    },
                    None,
                ),
            }
        }
    };

    let serves = |r: &Response| matches!(r.status().as_u16(), 200 | 401);
    let (scheme, response, insecure) = match https_response {
        Some((r, insecure)) if serves(&r) => ("https", Some(r), insecure),
        _ if plain_http.serves_api => ("http", unverified.get(v2("http")).send().ok(), false),
        _ => ("https", None, false),
    };
    let api = response.map(|resp| {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let auth = Auth {
            required: status == 401,
            status,
            challenges: challenges(&resp),
        };
        let client = if insecure || scheme == "http" {
            &unverified
        } else {
            &verified
        };
        let catalog = catalog(client, &format!("{scheme}://{host}"), &auth);
        Api {
            scheme: scheme.to_string(),
            unverified_tls: insecure,
            auth,
            catalog,
            api_version: header(&headers, "docker-distribution-api-version"),
            server: header(&headers, "server"),
        }
    });
    Ok(ProbeReport {
        host,
        plain_http,
        tls,
        api,
    })
}

/// Reads `_catalog` without credentials; with a Bearer challenge, first asks the realm for an
/// anonymous token with the catalog scope.
fn catalog(client: &Client, base: &str, auth: &Auth) -> Catalog {
    let url = format!("{base}/v2/_catalog?n=100");
    let mut out = Catalog {
        anonymous_readable: false,
        status: None,
        repositories: None,
        anonymous_token: false,
        error: None,
    };
    let read = |req: reqwest::blocking::RequestBuilder, out: &mut Catalog| match req.send() {
        Ok(resp) => {
            out.status = Some(resp.status().as_u16());
            if resp.status().is_success() {
                #[derive(serde::Deserialize)]
                struct Page {
                    #[serde(default)]
                    repositories: Vec<String>,
                }
                match resp.json::<Page>() {
                    Ok(p) => {
                        out.anonymous_readable = true;
                        out.repositories = Some(p.repositories.len());
                    }
                    Err(e) => out.error = Some(format!("not a catalog: {}", describe(&e))),
                }
            }
        }
        Err(e) => out.error = Some(describe(&e)),
    };
    read(client.get(&url), &mut out);
    if out.anonymous_readable || out.status != Some(401) {
        return out;
    }
    let Some(bearer) = auth
        .challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer") && c.realm.is_some())
    else {
        return out;
    };
    match anonymous_token(client, bearer) {
        Ok(Some(token)) => {
            out.anonymous_token = true;
            read(client.get(&url).bearer_auth(token), &mut out);
        }
        Ok(None) => {}
        Err(e) => out.error = Some(format!("anonymous token: {e}")),
    }
    out
}

/// An anonymous token for `registry:catalog:*` from the challenge's realm, if it gives one.
fn anonymous_token(client: &Client, challenge: &Challenge) -> Result<Option<String>, String> {
    let realm = challenge.realm.as_deref().unwrap_or_default();
    let mut url = Url::parse(realm).map_err(|e| format!("realm {realm:?}: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(s) = &challenge.service {
            q.append_pair("service", s);
        }
        q.append_pair("scope", "registry:catalog:*");
    }
    let resp = client.get(url).send().map_err(|e| describe(&e))?;
    if !resp.status().is_success() {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let t: TokenResponse = resp.json().map_err(|e| describe(&e))?;
    Ok(t.token.or(t.access_token).filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_normalised_or_rejected() {
        assert_eq!(
            normalise_host("https://127.0.0.1:5000/").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(normalise_host("[::1]:80").unwrap(), "[::1]:80");
        assert!(normalise_host("").is_err());
        assert!(normalise_host("a/b").is_err());
        assert!(normalise_host("user@host").is_err());
    }
}
