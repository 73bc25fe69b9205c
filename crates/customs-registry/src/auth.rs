//! Registry authentication: `WWW-Authenticate` challenges, the Bearer token flow (with Basic
//! credentials or an identity token), and a per-registry, per-scope token cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use super::credentials::{Credential, Secret};

/// One challenge from a `WWW-Authenticate` header: a scheme and its parameters (keys
/// lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as written (`Bearer`, `Basic`).
    pub scheme: String,
    /// The challenge's parameters (`realm`, `service`, `scope`), keys lowercased.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// The value of parameter `key` (lowercase), if the challenge has it.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges. Parameters may be quoted
/// (with `\"` escapes, and commas inside quotes) or bare tokens. Garbage yields what could
/// be understood, never a panic.
pub fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_whitespace() || chars[*i] == ',') {
            *i += 1;
        }
    };
    let is_token = |c: char| !c.is_whitespace() && c != ',' && c != '=' && c != '"';
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && is_token(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.is_empty() {
            // A stray '=' or '"': skip it.
            i += 1;
            continue;
        }
        // Is this `key=value` (a parameter) or a new scheme?
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' && !out.is_empty() {
            i = j + 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let mut value = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            if let Some(last) = out.last_mut() {
                last.params.insert(token.to_ascii_lowercase(), value);
            }
        } else if j < chars.len() && chars[j] == '=' {
            // A parameter before any scheme: ignore up to the next comma.
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    out
}

/// The `Authorization` value for Basic credentials, if the credential is Basic.
pub fn basic_header(cred: &Credential) -> Option<Secret> {
    match cred {
        Credential::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose());
            Some(Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )))
        }
        Credential::IdentityToken(_) => None,
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token (`token` preferred, `access_token` accepted) and how long to keep it.
    pub fn into_token(self) -> Option<(Secret, Duration)> {
        let t = self
            .token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))?;
        // The spec's default lifetime is 60 s; keep a margin so a token is not used as it expires.
        let life = self.expires_in.unwrap_or(60).max(60);
        Some((Secret::new(t), Duration::from_secs(life.saturating_sub(10))))
    }
}

/// How a registry wants to be authenticated, learnt from its first challenge.
#[derive(Clone, Debug)]
pub(crate) enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Per-registry state: the scheme seen, and Bearer tokens per scope set.
#[derive(Default)]
pub(crate) struct AuthCache {
    schemes: Mutex<HashMap<String, Scheme>>,
    tokens: Mutex<HashMap<(String, String), (Secret, Instant)>>,
}

impl AuthCache {
    pub fn scheme(&self, registry: &str) -> Option<Scheme> {
        self.schemes.lock().ok()?.get(registry).cloned()
    }

    pub fn set_scheme(&self, registry: &str, scheme: Scheme) {
        if let Ok(mut m) = self.schemes.lock() {
            m.insert(registry.to_string(), scheme);
        }
    }

    pub fn token(&self, registry: &str, scopes: &str) -> Option<Secret> {
        let m = self.tokens.lock().ok()?;
        let (t, until) = m.get(&(registry.to_string(), scopes.to_string()))?;
        (Instant::now() < *until).then(|| t.clone())
    }

    pub fn put_token(&self, registry: &str, scopes: &str, token: Secret, life: Duration) {
        if let Ok(mut m) = self.tokens.lock() {
            m.insert(
                (registry.to_string(), scopes.to_string()),
                (token, Instant::now() + life),
            );
        }
    }

    pub fn forget_token(&self, registry: &str, scopes: &str) {
        if let Ok(mut m) = self.tokens.lock() {
            m.remove(&(registry.to_string(), scopes.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_bearer_challenge_with_commas_in_quotes() {
        let c = parse_www_authenticate(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:samalba/my-app:pull,push")
        );
    }

    #[test]
    fn parses_several_challenges_bare_values_and_escapes() {
        let c = parse_www_authenticate(
            r#"Basic realm="Registry Realm", Bearer realm=https://x/t , service="a\"b""#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("Registry Realm"));
        assert_eq!(c[1].param("realm"), Some("https://x/t"));
        assert_eq!(c[1].param("service"), Some("a\"b"));
    }

    #[test]
    fn garbage_headers_do_not_panic() {
        for h in [
            "",
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            "a=b, c",
            ",,,",
            "Bearer =x",
        ] {
            let _ = parse_www_authenticate(h);
        }
        assert_eq!(parse_www_authenticate("Bearer")[0].scheme, "bearer");
    }

    #[test]
    fn token_response_accepts_token_or_access_token() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"abc","expires_in":300}"#).unwrap();
        let (tok, life) = t.into_token().unwrap();
        assert_eq!(tok.expose(), "abc");
        assert_eq!(life, Duration::from_secs(290));
        let t: TokenResponse = serde_json::from_str(r#"{"token":"xyz"}"#).unwrap();
        assert_eq!(t.into_token().unwrap().0.expose(), "xyz");
        let t: TokenResponse = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert!(t.into_token().is_none());
    }

    #[test]
    fn basic_header_is_base64_user_colon_password() {
        let h = basic_header(&Credential::basic("aladdin", "opensesame")).unwrap();
        assert_eq!(h.expose(), "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    }

    proptest::proptest! {
        #[test]
        fn www_authenticate_parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_www_authenticate(&s);
        }
    }
}
