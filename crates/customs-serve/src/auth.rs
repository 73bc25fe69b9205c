//! Who may do what: users from an htpasswd file (bcrypt only), the built-in token server
//! (the Docker token flow: `WWW-Authenticate` challenges with scope, ES256 JWTs), per-
//! repository-pattern permissions, anonymous pull where configured, robot accounts (scoped,
//! expiring tokens; declared in the config or made by an admin through
//! `/v2/_customs/robots`), and a limit on failed logins per client address. No password or
//! token is ever logged; log lines name the user at most.
//!
//! Behind a load balancer every replica must accept what another issued, so the two things
//! made at run time live in the metadata store that the replicas share (SQLite for one
//! server, PostgreSQL for several): the token signing key, made by whichever replica starts
//! first, and the API-made robots, read from the store on every use, so a robot removed
//! through one replica is refused by all at once. The failed-login limit and the cache of
//! accepted bcrypt logins stay per replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::HeaderMap;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::config::{check_scopes, robot_name_ok, AccessRule, AuthConfig, RobotScope};
use crate::error::{ApiError, Code};
use crate::store::Store;

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

/// The login-name prefix of robot accounts.
pub(crate) const ROBOT_PREFIX: &str = "robot$";
/// The longest life an API-made robot may be given: 366 days.
const ROBOT_MAX_SECS: u64 = 366 * 86_400;

/// A robot account: its token's SHA-256, scopes and expiry (Unix seconds).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Robot {
    name: String,
    token_sha256: String,
    scopes: Vec<RobotScope>,
    expires: u64,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    created_at: u64,
    #[serde(skip)]
    from_config: bool,
}

impl Robot {
    fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "name": format!("{ROBOT_PREFIX}{}", self.name),
            "scopes": self.scopes,
            "expires": self.expires,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "declared_in_config": self.from_config,
        })
    }

    fn allows(&self, repo: &str, action: &str, now: u64) -> bool {
        now < self.expires
            && self.scopes.iter().any(|s| {
                glob(&s.repository, repo) && s.actions.iter().any(|a| a == action || a == "admin")
            })
    }
}

/// Equal-time comparison of two hex digests.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
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
    /// The robot accounts declared in the config, by name (without the prefix).
    config_robots: HashMap<String, Robot>,
    /// Where API-made robots are kept, with the token signing key.
    store: Arc<Store>,
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
    /// Loads the users and rules of `cfg`; the signing key and the API-made robots come
    /// from `store`.
    pub fn load(cfg: &AuthConfig, store: Arc<Store>) -> std::io::Result<Auth> {
        let users = read_htpasswd(&cfg.htpasswd)?;
        let key = shared_signing_key(&store)?;
        let verifying = *key.verifying_key();
        let mut robots = HashMap::new();
        for r in &cfg.robots {
            let expires = r
                .expires
                .parse::<jiff::Timestamp>()
                .map_err(|e| std::io::Error::other(format!("robot {}: {e}", r.name)))?
                .as_second()
                .max(0) as u64;
            robots.insert(
                r.name.clone(),
                Robot {
                    name: r.name.clone(),
                    token_sha256: r.token_sha256.to_ascii_lowercase(),
                    scopes: r.scopes.clone(),
                    expires,
                    created_by: None,
                    created_at: 0,
                    from_config: true,
                },
            );
        }
        Ok(Auth {
            config_robots: robots,
            store,
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

    /// A robot account by login name: declared in the config, or else made through the API
    /// (read from the store each time, so removal anywhere takes effect at once). A store
    /// that cannot be read refuses the robot.
    fn robot(&self, login: &str) -> Option<Robot> {
        let name = login.strip_prefix(ROBOT_PREFIX)?;
        if let Some(r) = self.config_robots.get(name) {
            return Some(r.clone());
        }
        match self.store.robot(name) {
            Ok(body) => body.and_then(|b| parse_robot(name, &b)),
            Err(e) => {
                log::error!("robot {ROBOT_PREFIX}{name}: reading the store: {e}");
                None
            }
        }
    }

    /// Every robot account: the config's, then the API-made ones.
    fn all_robots(&self) -> std::io::Result<Vec<Robot>> {
        let mut list: Vec<Robot> = self.config_robots.values().cloned().collect();
        for (name, body) in self.store.robots()? {
            if !self.config_robots.contains_key(&name) {
                list.extend(parse_robot(&name, &body));
            }
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Whether the rules let `user` (None: anonymous) do `action` on `repo`. A robot may do
    /// only what its scopes say, and nothing once expired or removed.
    pub fn permits(&self, user: Option<&str>, repo: &str, action: &str) -> bool {
        let anonymous = action == "pull" && self.anonymous_pull.iter().any(|p| glob(p, repo));
        match user {
            None => anonymous,
            Some(u) if u.starts_with(ROBOT_PREFIX) => {
                anonymous
                    || self
                        .robot(u)
                        .is_some_and(|r| r.allows(repo, action, now_secs()))
            }
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
            // Robots are checked afresh every time (a SHA-256, no bcrypt): a robot removed
            // and made again under its name must not keep accepting its old token.
            if !user.starts_with(ROBOT_PREFIX)
                && v.get(&fingerprint)
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(300))
            {
                return Ok(());
            }
        }
        let ok = if user.starts_with(ROBOT_PREFIX) {
            let hash = hex::encode(Sha256::digest(password.as_bytes()));
            match self.robot(user) {
                Some(r) if same(&r.token_sha256, &hash) && now_secs() >= r.expires => {
                    // The right token of an expired robot: not a guess, but no entry.
                    log::warn!("robot {user:?} tried to log in from {peer} after it expired");
                    return Err(ApiError::new(
                        Code::Unauthorized,
                        "authentication failed: the robot account has expired",
                    ));
                }
                Some(r) => same(&r.token_sha256, &hash),
                None => false,
            }
        } else {
            self.users
                .get(user)
                .is_some_and(|hash| bcrypt::verify(password, hash).unwrap_or(false))
        };
        if ok {
            if !user.starts_with(ROBOT_PREFIX) {
                let mut v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                v.retain(|_, t| t.elapsed() < Duration::from_secs(300));
                v.insert(fingerprint, Instant::now());
            }
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
        // A robot's token lives no longer than the robot.
        let ttl = match user.as_deref().and_then(|u| self.robot(u)) {
            Some(r) => self.token_ttl.min(r.expires.saturating_sub(now)),
            None => self.token_ttl,
        };
        let mut jti = [0u8; 16];
        getrandom::getrandom(&mut jti)
            .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;
        let claims = serde_json::json!({
            "iss": SERVICE, "aud": SERVICE, "sub": user.clone().unwrap_or_default(),
            "iat": now, "nbf": now.saturating_sub(5), "exp": now + ttl,
            "jti": hex::encode(jti), "access": access,
        });
        let token = self.sign(&claims);
        log::info!(
            "issued a token to {} for {} scope(s)",
            user.as_deref().unwrap_or("anonymous"),
            claims["access"].as_array().map_or(0, Vec::len)
        );
        Ok(serde_json::json!({"token": token, "access_token": token, "expires_in": ttl}))
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
        // A robot removed or expired since the token was issued loses it at once.
        if let Some(u) = user.as_deref().filter(|u| u.starts_with(ROBOT_PREFIX)) {
            if self.robot(u).is_none_or(|r| now >= r.expires) {
                return Err(bad());
            }
        }
        Ok(Caller {
            user,
            grants: Some(grants),
        })
    }
}

impl Auth {
    /// Whether `user` holds admin on every pattern of `scopes` (a rule whose pattern covers
    /// each scope's pattern: `*` in a scope is matched by `*` in the rule).
    fn admin_over(&self, user: &str, scopes: &[RobotScope]) -> bool {
        scopes
            .iter()
            .all(|s| self.permits(Some(user), &s.repository, "admin"))
    }

    /// The robots API under `/v2/_customs/robots` (`rest` is what follows): `GET` lists the
    /// robots the caller administers, `POST` makes one (`{"name", "scopes": [{"repository",
    /// "actions"}], "expires_in_secs"}`; the answer carries the token, shown only this once),
    /// `DELETE /NAME` removes one. Only users logged in with Basic credentials may call it,
    /// and only for scopes they hold admin on.
    pub fn robots_api(
        &self,
        caller: &Caller,
        method: &hyper::Method,
        rest: &str,
        body: &[u8],
    ) -> Result<(hyper::StatusCode, serde_json::Value), ApiError> {
        use hyper::{Method, StatusCode};
        let bad = |m: String| ApiError::new(Code::Unsupported, m).status(StatusCode::BAD_REQUEST);
        let user = match caller.user.as_deref() {
            Some(u) if !u.starts_with(ROBOT_PREFIX) && !caller.has_token() => u.to_string(),
            _ => {
                return Err(ApiError::new(
                    Code::Unauthorized,
                    "the robots API takes a user's Basic credentials",
                )
                .header("WWW-Authenticate", format!("Basic realm=\"{SERVICE}\"")))
            }
        };
        let denied = || ApiError::new(Code::Denied, "admin on every scope is needed");
        let item = rest.trim_start_matches('/');
        match (method, item.is_empty()) {
            (&Method::GET, true) => {
                let list: Vec<serde_json::Value> = self
                    .all_robots()
                    .map_err(ApiError::internal)?
                    .iter()
                    .filter(|r| self.admin_over(&user, &r.scopes))
                    .map(Robot::public)
                    .collect();
                Ok((StatusCode::OK, serde_json::json!({ "robots": list })))
            }
            (&Method::POST, true) => {
                let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
                    bad("the body must be JSON: {\"name\", \"scopes\", \"expires_in_secs\"}".into())
                })?;
                let name = v["name"].as_str().unwrap_or("").to_string();
                let name = name.strip_prefix(ROBOT_PREFIX).unwrap_or(&name).to_string();
                if !robot_name_ok(&name) {
                    return Err(bad(format!(
                        "robot {name:?}: a name is [a-z0-9][a-z0-9._-]* (at most 64)"
                    )));
                }
                let scopes: Vec<RobotScope> = serde_json::from_value(v["scopes"].clone())
                    .map_err(|e| bad(format!("scopes: {e}")))?;
                check_scopes(&name, &scopes).map_err(bad)?;
                let Some(secs) = v["expires_in_secs"]
                    .as_u64()
                    .filter(|s| (1..=ROBOT_MAX_SECS).contains(s))
                else {
                    return Err(bad(format!(
                        "a robot needs expires_in_secs between 1 and {ROBOT_MAX_SECS}"
                    )));
                };
                if !self.admin_over(&user, &scopes) {
                    return Err(denied());
                }
                let mut raw = [0u8; 32];
                getrandom::getrandom(&mut raw)
                    .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;
                let token = format!("customs_robot_{}", hex::encode(raw));
                let now = now_secs();
                let robot = Robot {
                    name: name.clone(),
                    token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
                    scopes,
                    expires: now + secs,
                    created_by: Some(user.clone()),
                    created_at: now,
                    from_config: false,
                };
                let exists = || {
                    ApiError::new(
                        Code::Denied,
                        format!("robot {ROBOT_PREFIX}{name} exists already"),
                    )
                    .status(StatusCode::CONFLICT)
                };
                if self.config_robots.contains_key(&name) {
                    return Err(exists());
                }
                let body = serde_json::to_string(&robot)
                    .map_err(|e| ApiError::internal(std::io::Error::other(e)))?;
                if !self
                    .store
                    .add_robot(&name, &body)
                    .map_err(ApiError::internal)?
                {
                    return Err(exists());
                }
                log::warn!("robot {ROBOT_PREFIX}{name} created by {user}, expires in {secs}s");
                let mut out = robot.public();
                out["token"] = token.into();
                Ok((StatusCode::CREATED, out))
            }
            (&Method::DELETE, false) => {
                let name = item.strip_prefix(ROBOT_PREFIX).unwrap_or(item);
                let Some(r) = self.robot(&format!("{ROBOT_PREFIX}{name}")) else {
                    return Err(ApiError::new(
                        Code::NameUnknown,
                        format!("no robot {ROBOT_PREFIX}{name}"),
                    ));
                };
                if !self.admin_over(&user, &r.scopes) {
                    return Err(denied());
                }
                if r.from_config {
                    return Err(ApiError::new(
                        Code::Denied,
                        format!("robot {ROBOT_PREFIX}{name} is declared in the config file"),
                    )
                    .status(StatusCode::CONFLICT));
                }
                if !self.store.remove_robot(name).map_err(ApiError::internal)? {
                    return Err(ApiError::new(
                        Code::NameUnknown,
                        format!("no robot {ROBOT_PREFIX}{name}"),
                    ));
                }
                log::warn!("robot {ROBOT_PREFIX}{name} removed by {user}");
                Ok((StatusCode::ACCEPTED, serde_json::json!({})))
            }
            _ => Err(ApiError::new(
                Code::Unsupported,
                "the operation is unsupported",
            )),
        }
    }
}

/// A stored robot record; one that does not parse, or names another robot, is refused and
/// logged.
fn parse_robot(name: &str, body: &str) -> Option<Robot> {
    match serde_json::from_str::<Robot>(body) {
        Ok(r) if r.name == name => Some(r),
        Ok(_) => {
            log::error!("robot {ROBOT_PREFIX}{name}: the stored record names another robot");
            None
        }
        Err(e) => {
            log::error!("robot {ROBOT_PREFIX}{name}: the stored record does not parse: {e}");
            None
        }
    }
}

/// The token server's ES256 key, shared by every replica through the store: the first
/// replica to start stores a fresh one, and each later start reads it, so a token issued by
/// one replica (or before a restart) is accepted by all until it expires.
fn shared_signing_key(store: &Store) -> std::io::Result<SigningKey> {
    let fresh = SigningKey::random(&mut rand_core::OsRng);
    let stored = store.setting_or_insert("token_signing_key", &hex::encode(fresh.to_bytes()))?;
    hex::decode(stored.trim())
        .ok()
        .and_then(|b| SigningKey::from_slice(&b).ok())
        .ok_or_else(|| std::io::Error::other("the stored token signing key is not a P-256 key"))
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
    use super::{glob, same, Robot, RobotScope};

    #[test]
    fn robots_allow_their_scopes_until_they_expire() {
        let r = Robot {
            name: "ci".into(),
            token_sha256: "ab".repeat(32),
            scopes: vec![
                RobotScope {
                    repository: "team/*".into(),
                    actions: vec!["pull".into(), "push".into()],
                },
                RobotScope {
                    repository: "ops/tool".into(),
                    actions: vec!["admin".into()],
                },
            ],
            expires: 1000,
            created_by: None,
            created_at: 0,
            from_config: true,
        };
        assert!(r.allows("team/app", "push", 999));
        assert!(!r.allows("team/app", "push", 1000), "expired at its expiry");
        assert!(!r.allows("team/app", "delete", 1));
        assert!(!r.allows("teams/app", "pull", 1));
        assert!(r.allows("ops/tool", "delete", 1), "admin is every action");
        assert!(!r.allows("ops/tool2", "pull", 1));
        assert!(same(&"AB".repeat(32), &r.token_sha256));
        assert!(!same(&"ab".repeat(31), &r.token_sha256));
        assert!(!same(&format!("{}ac", "ab".repeat(31)), &r.token_sha256));
    }

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
