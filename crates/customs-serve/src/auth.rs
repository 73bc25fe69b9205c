//! Who may do what: users from an htpasswd file (bcrypt only), the built-in token server
//! (the Docker token flow: `WWW-Authenticate` challenges with scope, ES256 JWTs signed by a
//! key made at start-up), per-repository-pattern permissions, anonymous pull where
//! configured, and a limit on failed logins per client address. No password or token is
//! ever logged; log lines name the user at most.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::HeaderMap;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::config::{AccessRule, AuthConfig};
use crate::error::{ApiError, Code};

/// An action on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Pull,
    Push,
    Delete,
    Admin,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
            Action::Admin => "admin",
        }
    }
}

/// A caller: a user (or anonymous), and when it came with a token, what the token grants.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user: Option<String>,
    grants: Option<Vec<(String, Vec<String>)>>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            user: None,
            grants: None,
        }
    }

    /// Whether the caller presented a valid token (possibly an anonymous one).
    pub fn has_token(&self) -> bool {
        self.grants.is_some()
    }
}

const FAILURE_LIMIT: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const SERVICE: &str = "customs";

/// The loaded auth settings.
pub(crate) struct Auth {
    users: HashMap<String, String>,
    rules: Vec<AccessRule>,
    anonymous_pull: Vec<String>,
    token: bool,
    token_ttl: u64,
    key: SigningKey,
    verifying: VerifyingKey,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    /// sha256(user, password) of logins bcrypt already accepted, so each blob request does
    /// not pay bcrypt's cost again.
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

/// `*` matches any run of characters (slashes too); everything else literally.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Auth {
    pub fn load(cfg: &AuthConfig) -> std::io::Result<Auth> {
        let users = read_htpasswd(&cfg.htpasswd)?;
        let key = SigningKey::random(&mut rand_core::OsRng);
        let verifying = *key.verifying_key();
        Ok(Auth {
            users,
            rules: cfg.access.clone(),
            anonymous_pull: cfg.anonymous_pull.clone(),
            token: cfg.token,
            token_ttl: cfg.token_ttl_secs,
            key,
            verifying,
            failures: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the rules let `user` (None: anonymous) do `action` on `repo`.
    pub fn permits(&self, user: Option<&str>, repo: &str, action: &str) -> bool {
        match user {
            None => action == "pull" && self.anonymous_pull.iter().any(|p| glob(p, repo)),
            Some(u) => {
                (action == "pull" && self.anonymous_pull.iter().any(|p| glob(p, repo)))
                    || self.rules.iter().any(|r| {
                        glob(&r.repository, repo)
                            && r.users.iter().any(|x| x == "*" || x == u)
                            && r.actions.iter().any(|a| a == action || a == "admin")
                    })
            }
        }
    }

    /// Whether `caller` may do `action` on `repo`.
    pub fn allows(&self, caller: &Caller, repo: &str, action: Action) -> bool {
        match &caller.grants {
            Some(grants) => grants
                .iter()
                .any(|(r, acts)| r == repo && acts.iter().any(|a| a == action.name())),
            None => self.permits(caller.user.as_deref(), repo, action.name()),
        }
    }

    /// Whether anonymous callers may pull anything at all.
    pub fn any_anonymous(&self) -> bool {
        !self.anonymous_pull.is_empty()
    }

    fn limited(&self, peer: IpAddr) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match f.get(&peer) {
            Some((n, since)) if since.elapsed() < FAILURE_WINDOW => *n >= FAILURE_LIMIT,
            Some(_) => {
                f.remove(&peer);
                false
            }
            None => false,
        }
    }

    fn failed(&self, peer: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let e = f.entry(peer).or_insert((0, Instant::now()));
        if e.1.elapsed() >= FAILURE_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    fn too_many() -> ApiError {
        ApiError::new(
            Code::TooManyRequests,
            "too many failed logins; try again later",
        )
        .header("Retry-After", FAILURE_WINDOW.as_secs().to_string())
    }

    /// Checks a user's password; counts a failure against `peer`.
    fn login(&self, user: &str, password: &str, peer: IpAddr) -> Result<(), ApiError> {
        if self.limited(peer) {
            return Err(Auth::too_many());
        }
        let mut h = Sha256::new();
        h.update(user.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        let fingerprint: [u8; 32] = h.finalize().into();
        {
            let v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if v.get(&fingerprint)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(300))
            {
                return Ok(());
            }
        }
        let ok = self
            .users
            .get(user)
            .is_some_and(|hash| bcrypt::verify(password, hash).unwrap_or(false));
        if ok {
            let mut v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            v.retain(|_, t| t.elapsed() < Duration::from_secs(300));
            v.insert(fingerprint, Instant::now());
            Ok(())
        } else {
            self.failed(peer);
            log::warn!("failed login for user {user:?} from {peer}");
            Err(ApiError::new(Code::Unauthorized, "authentication failed"))
        }
    }

    /// Who a request comes from, from its Authorization header.
    pub fn identify(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Caller, ApiError> {
        let Some(value) = headers.get("Authorization").and_then(|v| v.to_str().ok()) else {
            return Ok(Caller::anonymous());
        };
        if let Some((user, password)) = basic(value) {
            self.login(&user, &password, peer)?;
            return Ok(Caller {
                user: Some(user),
                grants: None,
            });
        }
        if let Some(token) = value.strip_prefix("Bearer ") {
            return self.verify_token(token.trim());
        }
        Err(ApiError::new(
            Code::Unauthorized,
            "unsupported authorization scheme",
        ))
    }

    /// The challenge for a caller that lacks `action` on `repo` (None: the base endpoint).
    pub fn challenge(&self, realm_base: &str, scope: Option<(&str, Action)>) -> String {
        if self.token {
            let mut c = format!("Bearer realm=\"{realm_base}/token\",service=\"{SERVICE}\"");
            if let Some((repo, action)) = scope {
                let actions = match action {
                    Action::Pull => "pull",
                    Action::Push => "pull,push",
                    Action::Delete => "delete",
                    Action::Admin => "admin",
                };
                c.push_str(&format!(",scope=\"repository:{repo}:{actions}\""));
            }
            c
        } else {
            format!("Basic realm=\"{SERVICE}\"")
        }
    }

    /// Answers the token endpoint: a JWT granting the requested actions the caller has.
    pub fn issue(
        &self,
        headers: &HeaderMap,
        query: &str,
        peer: IpAddr,
    ) -> Result<serde_json::Value, ApiError> {
        if !self.token {
            return Err(
                ApiError::new(Code::Unsupported, "the token server is not enabled")
                    .status(hyper::StatusCode::NOT_FOUND),
            );
        }
        let user = match headers.get("Authorization").and_then(|v| v.to_str().ok()) {
            Some(v) => {
                let (user, password) = basic(v)
                    .ok_or_else(|| ApiError::new(Code::Unauthorized, "use Basic credentials"))?;
                self.login(&user, &password, peer)?;
                Some(user)
            }
            None => None,
        };
        let mut access = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k != "scope" {
                continue;
            }
            for scope in v.split(' ') {
                let mut parts = scope.splitn(3, ':');
                let (Some(kind), Some(name), Some(actions)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if kind != "repository" {
                    continue;
                }
                let granted: Vec<String> = actions
                    .split(',')
                    .filter(|a| matches!(*a, "pull" | "push" | "delete" | "admin"))
                    .filter(|a| self.permits(user.as_deref(), name, a))
                    .map(str::to_string)
                    .collect();
                access.push(
                    serde_json::json!({"type": "repository", "name": name, "actions": granted}),
                );
            }
        }
        let now = now_secs();
        let mut jti = [0u8; 16];
        getrandom::getrandom(&mut jti)
            .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;
        let claims = serde_json::json!({
            "iss": SERVICE, "aud": SERVICE, "sub": user.clone().unwrap_or_default(),
            "iat": now, "nbf": now.saturating_sub(5), "exp": now + self.token_ttl,
            "jti": hex::encode(jti), "access": access,
        });
        let token = self.sign(&claims);
        log::info!(
            "issued a token to {} for {} scope(s)",
            user.as_deref().unwrap_or("anonymous"),
            claims["access"].as_array().map_or(0, Vec::len)
        );
        Ok(serde_json::json!({"token": token, "access_token": token, "expires_in": self.token_ttl}))
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn verify_token(&self, token: &str) -> Result<Caller, ApiError> {
        let bad = || ApiError::new(Code::Unauthorized, "invalid or expired token");
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| bad())?)
                .map_err(|_| bad())?;
        if header["alg"] != "ES256" {
            return Err(bad());
        }
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?)
            .map_err(|_| bad())?;
        self.verifying
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| bad())?;
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?)
                .map_err(|_| bad())?;
        let now = now_secs();
        if claims["aud"] != SERVICE || claims["exp"].as_u64().is_none_or(|e| e <= now) {
            return Err(bad());
        }
        let grants = claims["access"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|g| g["type"] == "repository")
                    .filter_map(|g| {
                        Some((
                            g["name"].as_str()?.to_string(),
                            g["actions"]
                                .as_array()?
                                .iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let user = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        Ok(Caller {
            user,
            grants: Some(grants),
        })
    }
}

fn basic(value: &str) -> Option<(String, String)> {
    let b64 = value.strip_prefix("Basic ")?;
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn read_htpasswd(path: &Path) -> std::io::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("reading htpasswd {}: {e}", path.display()),
        )
    })?;
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (user, hash) = line.split_once(':').ok_or_else(|| {
            std::io::Error::other(format!("{}:{}: not user:hash", path.display(), i + 1))
        })?;
        if !(hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) {
            return Err(std::io::Error::other(format!(
                "{}:{}: user {user:?} has no bcrypt hash (use htpasswd -B)",
                path.display(),
                i + 1
            )));
        }
        users.insert(user.to_string(), hash.to_string());
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_stars_across_slashes_and_literals_exactly() {
        assert!(glob("*", "a/b"));
        assert!(glob("team/*", "team/x/y"));
        assert!(!glob("team/*", "teams/x"));
        assert!(glob("v*", "v1.2"));
        assert!(!glob("v*", "latest"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }
}
