//! Registry credentials: explicit username/password, Docker's `config.json` (`auths`,
//! `credHelpers`, `credsStore`) and the containers `auth.json` files podman and skopeo use.
//! Secrets are wrapped so that Debug output never shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

/// The key Docker stores Docker Hub credentials under.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A secret string (password or token). Its Debug and Display print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value; it is never printed (`Debug` and `Display` show `<redacted>`).
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent to the registry.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A credential for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (or a personal access token used as the password).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: Secret,
    },
    /// An OAuth2 refresh token (Docker's `identitytoken`, or a helper's `<token>` user).
    IdentityToken(Secret),
}

impl Credential {
    /// A username and password credential.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credential {
        Credential::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }
}

/// Where the client looks for credentials.
#[derive(Clone, Debug, Default)]
pub enum CredentialSource {
    /// Never send credentials.
    Anonymous,
    /// `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// `~/.config/containers/auth.json`, then `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`; the first file with an entry for the registry wins.
    #[default]
    Auto,
    /// These files (Docker `config.json` or containers `auth.json`, same format), in order.
    Files(Vec<PathBuf>),
    /// One credential, used for every registry (CLI `--username` and `--password-stdin`).
    Explicit(Credential),
}

#[derive(Debug, thiserror::Error)]
/// Credentials could not be read.
pub enum CredentialError {
    #[error("reading credentials file {path}: {message}")]
    /// A credentials file could not be read or parsed.
    File {
        /// The credentials file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    #[error("credential helper docker-credential-{helper} for {registry}: {message}")]
    /// A credential helper failed.
    Helper {
        /// The helper's name (`docker-credential-<helper>`).
        helper: String,
        /// The registry asked for.
        registry: String,
        /// What the helper said, or why it could not run.
        message: String,
    },
}

impl CredentialSource {
    /// The credential for `registry` (as written in references, e.g. `docker.io`,
    /// `localhost:5000`), choosing the most specific entry for `repository` when an
    /// `auth.json` has per-repository keys.
    pub fn lookup(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        match self {
            CredentialSource::Anonymous => Ok(None),
            CredentialSource::Explicit(c) => Ok(Some(c.clone())),
            CredentialSource::Files(files) => lookup_files(files, registry, repository),
            CredentialSource::Auto => lookup_files(&default_files(), registry, repository),
        }
    }
}

fn default_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(Path::new(&p).join("containers/auth.json"));
    }
    if let Some(home) = dirs::home_dir() {
        files.push(home.join(".config/containers/auth.json"));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => files.push(Path::new(&d).join("config.json")),
        None => {
            if let Some(home) = dirs::home_dir() {
                files.push(home.join(".docker/config.json"));
            }
        }
    }
    files
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

fn lookup_files(
    files: &[PathBuf],
    registry: &str,
    repository: &str,
) -> Result<Option<Credential>, CredentialError> {
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(CredentialError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })
            }
        };
        // The message of a serde error can quote the input; name only the position.
        let config: ConfigFile =
            serde_json::from_slice(&bytes).map_err(|e| CredentialError::File {
                path: path.clone(),
                message: format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            })?;
        if let Some(c) = lookup_config(&config, path, registry, repository)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Reduces an `auths` key (`https://index.docker.io/v1/`, `quay.io/org/repo`,
/// `http://localhost:5000`) to `registry[/path]` with Docker Hub aliases folded.
fn normalise_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let k = k.trim_end_matches('/');
    let k = k
        .strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k);
    let (host, path) = match k.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (k, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    };
    match path {
        Some(p) => format!("{host}/{p}"),
        None => host.to_string(),
    }
}

fn lookup_config(
    config: &ConfigFile,
    path: &Path,
    registry: &str,
    repository: &str,
) -> Result<Option<Credential>, CredentialError> {
    let server_url = if registry == "docker.io" {
        DOCKER_HUB_AUTH_KEY
    } else {
        registry
    };
    // A per-registry helper wins over everything else.
    for (key, helper) in &config.cred_helpers {
        if normalise_key(key) == registry {
            return run_helper(helper, server_url, registry);
        }
    }
    // Most specific `auths` key first: registry/a/b/c, registry/a/b, registry/a, registry.
    let mut candidates = vec![];
    let full = format!("{registry}/{repository}");
    let mut cut = full.as_str();
    loop {
        candidates.push(cut.to_string());
        match cut.rfind('/') {
            Some(i) => cut = &cut[..i],
            None => break,
        }
    }
    for candidate in &candidates {
        for (key, entry) in &config.auths {
            if normalise_key(key) != *candidate {
                continue;
            }
            if let Some(c) = entry_credential(entry, path, key)? {
                return Ok(Some(c));
            }
        }
    }
    if let Some(store) = &config.creds_store {
        return run_helper(store, server_url, registry);
    }
    Ok(None)
}

fn entry_credential(
    entry: &AuthEntry,
    path: &Path,
    key: &str,
) -> Result<Option<Credential>, CredentialError> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken(Secret::new(token))));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || CredentialError::File {
            path: path.to_path_buf(),
            message: format!("the \"auth\" of {key:?} is not base64 of user:password"),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credential::basic(user, pass)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credential::basic(u.clone(), p.clone()))),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get` with the server URL on stdin.
fn run_helper(
    helper: &str,
    server_url: &str,
    registry: &str,
) -> Result<Option<Credential>, CredentialError> {
    run_helper_at(
        Path::new(&format!("docker-credential-{helper}")),
        helper,
        server_url,
        registry,
    )
}

fn run_helper_at(
    program: &Path,
    helper: &str,
    server_url: &str,
    registry: &str,
) -> Result<Option<Credential>, CredentialError> {
    let err = |message: String| CredentialError::Helper {
        helper: helper.to_string(),
        registry: registry.to_string(),
        message,
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server_url.as_bytes())
            .map_err(|e| err(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.to_lowercase().contains("not found") {
            return Ok(None);
        }
        return Err(err(format!(
            "exited with {}: {}",
            out.status,
            text.trim().chars().take(200).collect::<String>()
        )));
    }
    let parsed: HelperOutput = serde_json::from_slice(&out.stdout)
        .map_err(|_| err("printed something that is not the expected JSON".into()))?;
    if parsed.secret.is_empty() {
        return Ok(None);
    }
    if parsed.username == "<token>" {
        return Ok(Some(Credential::IdentityToken(Secret::new(parsed.secret))));
    }
    Ok(Some(Credential::Basic {
        username: parsed.username,
        password: Secret::new(parsed.secret),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn docker_hub_credentials_are_found_under_the_v1_url() {
        let dir = tempfile::tempdir().unwrap();
        // base64("hubuser:hubpass")
        let p = write(
            dir.path(),
            "config.json",
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHVidXNlcjpodWJwYXNz"}}}"#,
        );
        let src = CredentialSource::Files(vec![p]);
        assert_eq!(
            src.lookup("docker.io", "library/alpine").unwrap(),
            Some(Credential::basic("hubuser", "hubpass"))
        );
        assert_eq!(src.lookup("quay.io", "a/b").unwrap(), None);
    }

    #[test]
    fn most_specific_auth_json_key_wins_and_files_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "auth.json",
            r#"{"auths":{"quay.io":{"username":"u1","password":"p1"},"quay.io/org/repo":{"username":"u2","password":"p2"}}}"#,
        );
        let b = write(
            dir.path(),
            "config.json",
            r#"{"auths":{"localhost:5000":{"username":"u3","password":"p3"}}}"#,
        );
        let src = CredentialSource::Files(vec![a, b]);
        assert_eq!(
            src.lookup("quay.io", "org/repo").unwrap(),
            Some(Credential::basic("u2", "p2"))
        );
        assert_eq!(
            src.lookup("quay.io", "org/other").unwrap(),
            Some(Credential::basic("u1", "p1"))
        );
        assert_eq!(
            src.lookup("localhost:5000", "x").unwrap(),
            Some(Credential::basic("u3", "p3"))
        );
    }

    #[test]
    fn identity_tokens_and_bad_auth_fields() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "c.json",
            r#"{"auths":{"r.io":{"identitytoken":"tok"},"s.io":{"auth":"!!!"}}}"#,
        );
        let src = CredentialSource::Files(vec![p]);
        assert_eq!(
            src.lookup("r.io", "x").unwrap(),
            Some(Credential::IdentityToken(Secret::new("tok")))
        );
        let err = src.lookup("s.io", "x").unwrap_err().to_string();
        assert!(err.contains("not base64"), "{err}");
    }

    #[test]
    fn credential_helper_gets_the_server_url_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        // A helper that answers only for the Docker Hub URL, proving what it was sent.
        let helper = write(
            dir.path(),
            "docker-credential-customstest",
            "#!/bin/sh\nread url\nif [ \"$url\" = \"https://index.docker.io/v1/\" ]; then echo '{\"ServerURL\":\"x\",\"Username\":\"hu\",\"Secret\":\"hs\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            run_helper_at(&helper, "customstest", DOCKER_HUB_AUTH_KEY, "docker.io").unwrap(),
            Some(Credential::basic("hu", "hs"))
        );
        assert_eq!(
            run_helper_at(&helper, "customstest", "quay.io", "quay.io").unwrap(),
            None
        );
        let missing = run_helper("customs-no-such-helper", "quay.io", "quay.io")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("docker-credential-customs-no-such-helper")
                && missing.contains("cannot run"),
            "{missing}"
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let c = Credential::basic("alice", "hunter2");
        let s = format!("{c:?} {:?}", CredentialSource::Explicit(c.clone()));
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("alice"));
    }

    #[test]
    fn corrupt_config_is_an_error_that_does_not_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "c.json",
            r#"{"auths":{"r.io":{"auth":"c2VjcmV0OnNlY3JldA=="}"#,
        );
        let err = CredentialSource::Files(vec![p])
            .lookup("r.io", "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not valid JSON") && !err.contains("c2Vj"),
            "{err}"
        );
    }
}
