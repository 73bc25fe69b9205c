//! The server's configuration: `serve.toml`, overridden by command-line flags, and the rule
//! that a registry reachable from other machines needs TLS and users.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The commented example `customs serve --init` writes; every setting, most commented out.
pub const EXAMPLE_CONFIG: &str = r#"# customs serve configuration (see docs/serve.md). Flags override these settings.

# Where to listen. Any address but loopback needs [tls] (or plain_http) and [auth].
listen = "127.0.0.1:5000"
# Blobs, uploads and the SQLite metadata.
data_dir = "customs-registry-data"
# Largest manifest accepted, in bytes.
max_manifest_bytes = 4194304
# Garbage collection (POST /v2/_customs/gc) spares blobs and uploads younger than this.
gc_grace_secs = 3600
# Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
# plain_http = false

# Close a connection whose client sends nothing (stalled headers or request body) this long.
# idle_timeout_secs = 60

# [tls]
# cert = "/etc/customs/registry.crt"
# key = "/etc/customs/registry.key"

# [auth]
# htpasswd = "/etc/customs/users.htpasswd"   # bcrypt hashes: htpasswd -B
# token = true                               # built-in token server at /token
# token_ttl_secs = 300
# anonymous_pull = ["public/*"]
#
# [[auth.access]]
# repository = "team/*"                      # * matches any characters, slashes included
# users = ["alice"]                          # "*" is every user who logged in
# actions = ["pull", "push"]                 # pull, push, delete, admin

# A robot account logs in as robot$NAME with its token and may do only what its scopes say,
# until it expires. Only the token's SHA-256 is kept (printf %s "$TOKEN" | sha256sum).
# Admins can also make robots at run time: POST /v2/_customs/robots.
# [[auth.robots]]
# name = "ci"
# token_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
# expires = "2027-01-01T00:00:00Z"
# scopes = [{ repository = "team/*", actions = ["pull", "push"] }]

# [[immutable_tags]]
# repository = "*"
# tag = "v*"

# The push gate: judge each pushed image with a customs check policy before it is pullable.
# [gate]
# policy = "customs.toml"
# database = "customs.db"
# registry = "registry.example.com"
# watch_secs = 5                              # rematch all stored images when the database changes
# update_secs = 21600                         # run `customs db update` on the database every 6 h
# update_mirror = "https://mirror.example.com/customs"   # its mirror (default: the public sources)

# Webhooks: signed JSON events on push, quarantine and new findings.
# [[webhooks]]
# url = "https://hooks.example.com/customs"
# secret = "at least 16 characters"
# events = ["push", "quarantine", "findings"]

# Scale-out: several replicas share blobs in S3-compatible storage and metadata in
# PostgreSQL. Uploads in progress stay on the replica that started them (use sticky sessions).
# [storage]
# postgres = "host=db.internal user=customs dbname=customs"
# [storage.s3]
# bucket = "customs-blobs"
# endpoint = "https://s3.example.com"        # omit for AWS
# region = "us-east-1"                        # credentials from AWS_* variables, or:
# access_key_id = "..."
# secret_access_key = "..."

# The pull gate: serve images of these repositories only when signed with every key and identity.
# [[pull_gate]]
# repository = "prod/*"
# keys = ["/etc/customs/release.pub"]
# Keyless (Sigstore) signers, verified offline against a trusted root:
# trusted_root = "/etc/customs/trusted_root.json"
# identities = [{ issuer = "https://token.actions.githubusercontent.com", subject_regexp = "^https://github[.]com/org/" }]
"#;

/// Where `customs serve` listens when neither the flag nor the file says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";

/// Everything `customs serve` needs to run. Built from `serve.toml` ([`Config::load`]) or
/// [`Config::default`], then overridden by flags, then checked by [`Config::validate`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The directory holding blobs, uploads and the SQLite metadata.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Serve plain HTTP on a non-loopback address (for a TLS-terminating proxy in front).
    #[serde(default)]
    pub plain_http: bool,
    /// TLS certificate chain and key (PEM).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Users and permissions.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Largest manifest accepted, in bytes.
    #[serde(default = "default_manifest_limit")]
    pub max_manifest_bytes: u64,
    /// Tag patterns that a push may not move.
    #[serde(default)]
    pub immutable_tags: Vec<ImmutableTags>,
    /// The push gate: judge each pushed image with a `customs check` policy.
    #[serde(default)]
    pub gate: Option<GateConfig>,
    /// Webhooks fired on push, quarantine and new findings.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// How long garbage collection spares new blobs and idle uploads, in seconds.
    #[serde(default = "default_grace")]
    pub gc_grace_secs: u64,
    /// How long a client may send nothing, in seconds: request headers that stall, or a
    /// request body that stops arriving. The request then fails and its connection closes, so
    /// slow or stuck clients cannot hold the server's connections.
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
    /// The pull gate: images of matching repositories are served only when signed with
    /// every listed key.
    #[serde(default)]
    pub pull_gate: Vec<PullGateRule>,
    /// Scale-out storage shared by several replicas: blobs in S3-compatible object storage
    /// and metadata in PostgreSQL. Without it, files and SQLite under `data_dir`.
    #[serde(default)]
    pub storage: Option<StorageConfig>,
}

/// Scale-out storage: both parts are needed, so replicas share blobs and metadata alike.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// PostgreSQL connection string (`host=... user=... dbname=...` or a `postgresql://` URL).
    pub postgres: String,
    /// The S3-compatible bucket for blobs.
    pub s3: S3Config,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection string may carry a password: never print it.
        f.debug_struct("StorageConfig")
            .field("postgres", &"<redacted>")
            .field("s3", &self.s3)
            .finish()
    }
}

/// An S3-compatible bucket. Credentials not given here come from the usual `AWS_*`
/// environment variables.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket name.
    pub bucket: String,
    /// The endpoint URL, for servers other than AWS (path-style requests are used).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region.
    #[serde(default)]
    pub region: Option<String>,
    /// Access key id.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (only for a loopback test server).
    #[serde(default)]
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// One webhook.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (HTTPS, or HTTP to a loopback host).
    pub url: String,
    /// The HMAC-SHA256 key that signs each body; never logged.
    pub secret: String,
    /// `push`, `quarantine`, `findings`; empty means all.
    #[serde(default)]
    pub events: Vec<String>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url_for_log())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// The URL without user information or query (which may carry credentials).
    pub fn url_for_log(&self) -> String {
        let u = self.url.split(['?', '#']).next().unwrap_or("");
        match u.split_once("://") {
            Some((scheme, rest)) => {
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                format!("{scheme}://{rest}")
            }
            None => u.to_string(),
        }
    }
}

/// One pull-gate rule: every listed key and every listed keyless identity must have a
/// signature that verifies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullGateRule {
    /// The repository pattern (`*` matches any characters).
    pub repository: String,
    /// Public keys (PEM, cosign or customs format); a signature must verify with each.
    #[serde(default)]
    pub keys: Vec<PathBuf>,
    /// Sigstore keyless identities; a signature (a `.sig` layer with a certificate, or a
    /// bundle referrer) must verify for each, offline, against `trusted_root`.
    #[serde(default)]
    pub identities: Vec<KeylessIdentity>,
    /// The Sigstore trusted root (JSON) keyless signatures chain to [default: the embedded
    /// public-good root].
    #[serde(default)]
    pub trusted_root: Option<PathBuf>,
    /// Require an SCT in keyless certificates (cosign's default; false is
    /// `--insecure-ignore-sct`, for a private CA without a CT log).
    #[serde(default = "yes")]
    pub require_sct: bool,
}

/// A keyless signer: the certificate's OIDC issuer and subject (SAN), each exact or by
/// regular expression (unanchored, as cosign's `--certificate-identity-regexp`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeylessIdentity {
    /// The exact OIDC issuer.
    #[serde(default)]
    pub issuer: Option<String>,
    /// A regular expression for the OIDC issuer.
    #[serde(default)]
    pub issuer_regexp: Option<String>,
    /// The exact subject: an email address or URI.
    #[serde(default)]
    pub subject: Option<String>,
    /// A regular expression for the subject.
    #[serde(default)]
    pub subject_regexp: Option<String>,
}

impl KeylessIdentity {
    /// How the identity reads in messages: `SUBJECT from ISSUER` (regexps in slashes).
    pub fn describe(&self) -> String {
        let part = |exact: &Option<String>, re: &Option<String>| match (exact, re) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!("/{r}/"),
            (None, None) => "?".into(),
        };
        format!(
            "{} from {}",
            part(&self.subject, &self.subject_regexp),
            part(&self.issuer, &self.issuer_regexp)
        )
    }
}

/// The push gate's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// The policy file (the same one `customs check --policy` reads).
    pub policy: PathBuf,
    /// The advisory database (`customs db update` writes it); needed for [vulnerabilities].
    #[serde(default)]
    pub database: Option<PathBuf>,
    /// The registry host the policy's `registries` rules see [default: the listen address].
    #[serde(default)]
    pub registry: Option<String>,
    /// How often to look whether the database file changed (then every stored image is
    /// rematched), in seconds; 0 turns watching off.
    #[serde(default = "default_watch")]
    pub watch_secs: u64,
    /// Runs the database update (what `customs db update` does) this often, in seconds; the
    /// watcher then rematches every stored image. 0, the default, leaves updating to
    /// `customs db update` run beside the server (cron, a CI job).
    #[serde(default)]
    pub update_secs: u64,
    /// Where the scheduled update fetches from: a mirror laid out like the public sources
    /// (`https://…`, `file://…` or a directory; `customs db update --mirror`). Without one,
    /// the public sources themselves.
    #[serde(default)]
    pub update_mirror: Option<String>,
}

fn default_watch() -> u64 {
    5
}

/// TLS files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// The private key (PEM).
    pub key: PathBuf,
}

/// Users and who may do what.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// An htpasswd file with bcrypt hashes (`htpasswd -B`).
    pub htpasswd: PathBuf,
    /// Run the built-in token server at `/token` and challenge with `Bearer` (else `Basic`).
    #[serde(default = "yes")]
    pub token: bool,
    /// How long an issued token is valid, in seconds.
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: u64,
    /// Repository patterns anyone may pull without logging in.
    #[serde(default)]
    pub anonymous_pull: Vec<String>,
    /// Who may do what, per repository pattern.
    #[serde(default)]
    pub access: Vec<AccessRule>,
    /// Robot accounts: scoped, expiring credentials for machines (CI, deployers). More can
    /// be made at run time through `POST /v2/_customs/robots`.
    #[serde(default)]
    pub robots: Vec<RobotConfig>,
}

/// A robot account declared in the config. It logs in as `robot$NAME` with its token (Basic
/// credentials, directly or at `/token`), and may only do what its scopes say, until it
/// expires. Only the token's SHA-256 is kept in the file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// The name (`[a-z0-9][a-z0-9._-]*`); the login name is `robot$NAME`.
    pub name: String,
    /// Hex SHA-256 of the robot's token (`printf %s "$TOKEN" | sha256sum`).
    pub token_sha256: String,
    /// What it may do.
    pub scopes: Vec<RobotScope>,
    /// When it stops working (RFC 3339, e.g. `2027-01-01T00:00:00Z`); required.
    pub expires: String,
}

impl std::fmt::Debug for RobotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotConfig")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// One scope of a robot: these actions on repositories matching the pattern.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RobotScope {
    /// The repository pattern (`*` matches any characters, slashes included).
    pub repository: String,
    /// `pull`, `push`, `delete` or `admin`.
    pub actions: Vec<String>,
}

/// Whether `name` is a valid robot name.
pub(crate) fn robot_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

/// Checks a robot's scopes: at least one, with known actions.
pub(crate) fn check_scopes(who: &str, scopes: &[RobotScope]) -> Result<(), String> {
    if scopes.is_empty() {
        return Err(format!("robot {who}: at least one scope is needed"));
    }
    for s in scopes {
        if s.repository.is_empty() || s.actions.is_empty() {
            return Err(format!(
                "robot {who}: a scope needs a repository pattern and actions"
            ));
        }
        if let Some(bad) = s
            .actions
            .iter()
            .find(|x| !matches!(x.as_str(), "pull" | "push" | "delete" | "admin"))
        {
            return Err(format!(
                "robot {who}: unknown action {bad:?} (pull, push, delete, admin)"
            ));
        }
    }
    Ok(())
}

/// One permission rule: these users may do these actions on repositories matching the
/// pattern (`*` matches any characters, slashes included).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// The repository pattern.
    pub repository: String,
    /// User names; `*` is every authenticated user.
    pub users: Vec<String>,
    /// `pull`, `push`, `delete` or `admin` (all three).
    pub actions: Vec<String>,
}

/// Tags that, once pushed, may never point at another manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImmutableTags {
    /// The repository pattern.
    pub repository: String,
    /// The tag pattern.
    pub tag: String,
}

fn yes() -> bool {
    true
}

fn default_grace() -> u64 {
    3600
}

fn default_idle() -> u64 {
    60
}

fn default_ttl() -> u64 {
    300
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("valid default address")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("customs-registry-data")
}

fn default_manifest_limit() -> u64 {
    4 * 1024 * 1024
}

impl Config {
    /// [`Config::idle_timeout_secs`] as a duration.
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.idle_timeout_secs)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: default_listen(),
            data_dir: default_data_dir(),
            plain_http: false,
            tls: None,
            auth: None,
            max_manifest_bytes: default_manifest_limit(),
            immutable_tags: Vec::new(),
            gate: None,
            pull_gate: Vec::new(),
            storage: None,
            gc_grace_secs: default_grace(),
            idle_timeout_secs: default_idle(),
            webhooks: Vec::new(),
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting breaks a rule.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads `serve.toml`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Checks the rules that keep a registry safe: on any address but loopback, TLS (or an
    /// explicit `plain_http`) and users are required.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() {
            if self.tls.is_none() && !self.plain_http {
                return Err(ConfigError::Invalid(format!(
                    "refusing to listen on {} without TLS: only loopback addresses may serve plain HTTP (set [tls] cert and key, or plain_http = true behind a TLS proxy)",
                    self.listen
                )));
            }
            if self.auth.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "refusing to listen on {} without users: only loopback addresses may allow anonymous push (set [auth] htpasswd)",
                    self.listen
                )));
            }
        }
        if self.idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "idle_timeout_secs must be above 0: without it a stalled client holds its connection for ever".into(),
            ));
        }
        if let Some(g) = self.gate.as_ref().filter(|g| g.update_secs > 0) {
            if g.database.is_none() {
                return Err(ConfigError::Invalid(
                    "gate.update_secs needs gate.database: the database to update".into(),
                ));
            }
            if g.watch_secs == 0 {
                return Err(ConfigError::Invalid(
                    "gate.update_secs needs gate.watch_secs above 0: the watcher rematches the stored images after each update".into(),
                ));
            }
        }
        // Update errors name the URL they failed on, and logs must never carry a secret.
        if let Some(m) = self.gate.as_ref().and_then(|g| g.update_mirror.as_deref()) {
            let authority = m
                .split_once("://")
                .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
            if authority.contains('@') {
                return Err(ConfigError::Invalid(
                    "gate.update_mirror must not carry credentials (user:password@): they would reach the logs".into(),
                ));
            }
        }
        if let Some(a) = &self.auth {
            for r in &a.access {
                if let Some(bad) = r
                    .actions
                    .iter()
                    .find(|x| !matches!(x.as_str(), "pull" | "push" | "delete" | "admin"))
                {
                    return Err(ConfigError::Invalid(format!(
                        "access rule for {}: unknown action {bad:?} (pull, push, delete, admin)",
                        r.repository
                    )));
                }
            }
            let mut names = std::collections::HashSet::new();
            for r in &a.robots {
                if !robot_name_ok(&r.name) {
                    return Err(ConfigError::Invalid(format!(
                        "robot {:?}: a name is [a-z0-9][a-z0-9._-]* (at most 64)",
                        r.name
                    )));
                }
                if !names.insert(r.name.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "robot {}: declared twice",
                        r.name
                    )));
                }
                if r.token_sha256.len() != 64
                    || !r.token_sha256.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(ConfigError::Invalid(format!(
                        "robot {}: token_sha256 must be 64 hex digits",
                        r.name
                    )));
                }
                check_scopes(&r.name, &r.scopes).map_err(ConfigError::Invalid)?;
                if r.expires.parse::<jiff::Timestamp>().is_err() {
                    return Err(ConfigError::Invalid(format!(
                        "robot {}: expires must be an RFC 3339 time such as 2027-01-01T00:00:00Z",
                        r.name
                    )));
                }
            }
        }
        for h in &self.webhooks {
            let host = h
                .url
                .strip_prefix("http://")
                .map(|r| r.split(['/', '?']).next().unwrap_or(""));
            let ok = h.url.starts_with("https://")
                || host.is_some_and(|hp| {
                    let host = hp.rsplit_once(':').map_or(hp, |(h, _)| h);
                    host == "localhost"
                        || host
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                });
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "webhook {}: use https:// (plain http only to loopback hosts)",
                    h.url_for_log()
                )));
            }
            if h.secret.len() < 16 {
                return Err(ConfigError::Invalid(format!(
                    "webhook {}: the secret must be at least 16 characters",
                    h.url_for_log()
                )));
            }
            if let Some(e) = h
                .events
                .iter()
                .find(|e| !matches!(e.as_str(), "push" | "quarantine" | "findings"))
            {
                return Err(ConfigError::Invalid(format!(
                    "webhook {}: unknown event {e:?}",
                    h.url_for_log()
                )));
            }
        }
        for r in &self.pull_gate {
            if r.keys.is_empty() && r.identities.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "pull gate rule for {}: list keys or identities",
                    r.repository
                )));
            }
            for id in &r.identities {
                if id.issuer.is_some() == id.issuer_regexp.is_some()
                    || id.subject.is_some() == id.subject_regexp.is_some()
                {
                    return Err(ConfigError::Invalid(format!(
                        "pull gate rule for {}: each identity needs one of issuer/issuer_regexp and one of subject/subject_regexp",
                        r.repository
                    )));
                }
            }
        }
        if self.max_manifest_bytes == 0 {
            return Err(ConfigError::Invalid(
                "max_manifest_bytes must be positive".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates_commented_parts_too() {
        let c: Config = toml::from_str(EXAMPLE_CONFIG).unwrap();
        c.validate().unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        let uncommented: String = EXAMPLE_CONFIG
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.starts_with('[') || r.contains(" = "))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c: Config = toml::from_str(&uncommented).unwrap();
        let auth = c.auth.as_ref().unwrap();
        assert_eq!(auth.access[0].actions, ["pull", "push"]);
        assert_eq!(c.immutable_tags[0].tag, "v*");
        assert!(c.gate.is_some() && c.tls.is_some());
    }

    #[test]
    fn a_scheduled_update_needs_a_database_a_watcher_and_no_credentials_in_its_mirror() {
        let gate = |extra: &str| {
            let c: Config =
                toml::from_str(&format!("[gate]\npolicy = \"p.toml\"\n{extra}")).unwrap();
            c.validate().map_err(|e| e.to_string())
        };
        gate("database = \"c.db\"\nupdate_secs = 60\n").unwrap();
        gate("database = \"c.db\"\nupdate_secs = 60\nupdate_mirror = \"file:///srv/m\"\n").unwrap();
        let e = gate("update_secs = 60\n").unwrap_err();
        assert!(e.contains("gate.database"), "{e}");
        let e = gate("database = \"c.db\"\nupdate_secs = 60\nwatch_secs = 0\n").unwrap_err();
        assert!(e.contains("watch_secs"), "{e}");
        let e = gate(
            "database = \"c.db\"\nupdate_secs = 60\nupdate_mirror = \"https://u:hunter2@m.example/x\"\n",
        )
        .unwrap_err();
        assert!(e.contains("credentials") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn non_loopback_needs_tls_and_users() {
        let mut c = Config {
            listen: "0.0.0.0:5000".parse().unwrap(),
            ..Config::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("without TLS"));
        c.plain_http = true;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("without users"));
    }
}
