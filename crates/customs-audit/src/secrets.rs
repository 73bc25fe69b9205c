//! Secrets: the detector rule set (documented in `docs/audit.md`), the path allow-list, and
//! the checks of `Env`, history `created_by` (build arguments included), file names and file
//! contents. Contents are scanned while layers stream, so files a later layer deleted are
//! seen too. Values are masked before they leave this module.

use std::sync::LazyLock;

use regex::Regex;

use crate::rules::{mask, Diag};
use crate::{Ctx, Evidence};

/// One content detector.
pub struct Detector {
    /// Stable name shown in findings (`aws-access-key-id`).
    pub id: &'static str,
    regex: Regex,
    /// Only files whose path ends with one of these are scanned (empty: every file).
    only_in: &'static [&'static str],
    /// Whether the captured value must also look random (generic detectors).
    needs_entropy: bool,
}

impl Detector {
    /// A specific detector: runs on any text and needs no randomness check.
    pub(crate) fn specific(&self) -> bool {
        !self.needs_entropy && self.only_in.is_empty()
    }

    /// The regex; group 1 is the secret value.
    pub(crate) fn regex(&self) -> &Regex {
        &self.regex
    }
}

fn d(
    id: &'static str,
    re: &str,
    only_in: &'static [&'static str],
    needs_entropy: bool,
) -> Detector {
    Detector {
        id,
        regex: Regex::new(re).expect("detector regex compiles"),
        only_in,
        needs_entropy,
    }
}

/// Assignment to a name that says "secret": group 1 is the name, group 2 the value.
pub(crate) const SECRET_NAME: &str = r"(?i)(?:passw(?:or)?d|pwd|secret|token|api_?key|access_?key|private_?key|auth_?key|credentials?)";

/// The content detectors. Group 1 of each regex is the secret value.
pub static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    vec![
        d(
            "aws-access-key-id",
            r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b",
            &[],
            false,
        ),
        d(
            "aws-secret-access-key",
            r#"(?i)aws_?secret_?access_?key["']?\s*[=:]\s*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            &[],
            false,
        ),
        d(
            "private-key",
            r"(-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)",
            &[],
            false,
        ),
        d(
            "github-token",
            r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
            &[],
            false,
        ),
        d("gitlab-token", r"\b(glpat-[A-Za-z0-9_-]{20,})", &[], false),
        d(
            "slack-token",
            r"\b(xox[abposr]-[0-9A-Za-z]{6,}-[0-9A-Za-z-]{6,})",
            &[],
            false,
        ),
        d(
            "slack-webhook",
            r"(https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{8,})",
            &[],
            false,
        ),
        d(
            "stripe-key",
            r"\b((?:sk|rk)_live_[0-9A-Za-z]{20,})\b",
            &[],
            false,
        ),
        d("google-api-key", r"\b(AIza[0-9A-Za-z_-]{35})\b", &[], false),
        d(
            "jwt",
            r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
            &[],
            false,
        ),
        d(
            "npm-auth-token",
            r"_auth(?:Token)?\s*=\s*([^\s$][^\s]*)",
            &[".npmrc"],
            false,
        ),
        d(
            "docker-registry-auth",
            r#""auth"\s*:\s*"([A-Za-z0-9+/=]{8,})""#,
            &[".docker/config.json", ".dockercfg"],
            false,
        ),
        d(
            "generic-secret-assignment",
            &format!(
                r#"(?m)(?:^|[^A-Za-z0-9])[A-Za-z0-9_.-]*{SECRET_NAME}[A-Za-z0-9_.-]*["']?[ \t]*[=:][ \t]*["']?([^\s"'`;,<>(){{}}\[\]]{{8,}})"#
            ),
            &[],
            true,
        ),
    ]
});

/// Source-code extensions: the generic detector skips them (assignments there are code, not
/// configuration).
const SOURCE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "ts", "jsx", "tsx", "map", "py", "pyi", "rb", "go", "java", "kt", "scala",
    "c", "h", "cc", "cpp", "hpp", "rs", "php", "pl", "pm", "lua", "html", "htm", "css", "cs",
    "swift", "el", "vim", "tcl",
];

/// Directory names whose contents are documentation, tests or fixtures.
const ALLOWED_DIR_NAMES: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "testdata",
    "test-data",
    "fixtures",
    "__fixtures__",
    "spec",
    "example",
    "examples",
];

/// Path prefixes never scanned: documentation and public certificate stores.
const ALLOWED_PREFIXES: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/licenses/",
    "usr/share/common-licenses/",
    "usr/share/locale/",
    "usr/share/lintian/",
    "usr/share/ca-certificates/",
    "usr/local/share/ca-certificates/",
    "etc/ssl/certs/",
    "etc/ca-certificates/",
    "etc/pki/ca-trust/",
    "etc/pki/tls/certs/",
];

/// Vendored dependency trees: the generic detector skips them (a package's own CI tokens and
/// sample configs are not the image owner's secrets); the specific detectors still run.
const VENDORED: &[&str] = &[
    "node_modules/",
    "site-packages/",
    "dist-packages/",
    "vendor/",
    "gems/",
    ".cargo/registry/",
    "go/pkg/mod/",
];

fn is_vendored(path: &str) -> bool {
    VENDORED
        .iter()
        .any(|v| path.starts_with(v) || path.contains(&format!("/{v}")))
}

/// Documentation file extensions.
const ALLOWED_EXTENSIONS: &[&str] = &["md", "markdown", "rst", "adoc"];

/// Whether `path` is documentation, a test fixture or a public certificate store.
pub fn is_allowed_path(path: &str) -> bool {
    if ALLOWED_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    if extension(path).is_some_and(|e| ALLOWED_EXTENSIONS.contains(&e.as_str())) {
        return true;
    }
    let mut comps: Vec<&str> = path.split('/').collect();
    comps.pop();
    comps.iter().any(|c| ALLOWED_DIR_NAMES.contains(c))
}

fn extension(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Words that mark a value as a placeholder, not a secret.
const PLACEHOLDERS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "dummy",
    "sample",
    "redacted",
    "your_",
    "your-",
    "xxxx",
    "****",
    "secret_here",
    "notasecret",
    "not-a-secret",
    "insert",
    "replace",
    "todo",
    "fixme",
];

fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "none"
            | "null"
            | "nil"
            | "empty"
            | "undefined"
    ) {
        return true;
    }
    PLACEHOLDERS.iter().any(|p| l.contains(p))
        || v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('{')
        || v.starts_with('<')
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("file:")
        || v.chars().all(|c| c.is_ascii_digit())
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let bytes = s.as_bytes();
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a value from a generic `NAME=value` assignment looks like a real secret: not a
/// placeholder or reference, long enough, letters mixed with digits or symbols, and random
/// enough (entropy of at least 3 bits per character), with both letters and digits.
pub fn looks_random(v: &str) -> bool {
    if v.len() < 8 || is_placeholder(v) {
        return false;
    }
    let letters = v.chars().any(|c| c.is_ascii_alphabetic());
    let digits = v.chars().any(|c| c.is_ascii_digit());
    letters && digits && entropy(v) >= 3.0
}

/// One secret found in a file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHit {
    /// The file the secret is in, without a leading `/`.
    pub path: String,
    /// Index of the layer holding the file.
    pub layer: usize,
    /// The detector that matched (`aws-access-key-id`).
    pub detector: &'static str,
    /// The match with most of it masked, safe to print.
    pub masked: String,
    /// 1-based line of the match in the file.
    pub line: u64,
}

/// Scans one text file's contents with every detector that applies to its path; one hit per
/// detector (the first match).
pub fn scan_contents(path: &str, layer: usize, text: &str) -> Vec<ContentHit> {
    let skip_generic = is_vendored(path)
        || extension(path).is_some_and(|e| SOURCE_EXTENSIONS.contains(&e.as_str()));
    let mut hits = Vec::new();
    for det in DETECTORS.iter() {
        if !det.only_in.is_empty() && !det.only_in.iter().any(|s| path.ends_with(s)) {
            continue;
        }
        // The generic detector (last in the list) only speaks when no specific one did.
        if det.needs_entropy && (skip_generic || !hits.is_empty()) {
            continue;
        }
        for caps in det.regex.captures_iter(text) {
            let Some(m) = caps.get(1) else { continue };
            let value = m.as_str();
            if det.needs_entropy && !looks_random(value) {
                continue;
            }
            if !det.needs_entropy && det.only_in.is_empty() && is_placeholder(value) {
                continue;
            }
            let line = text[..m.start()].bytes().filter(|&b| b == b'\n').count() as u64 + 1;
            hits.push(ContentHit {
                path: path.to_string(),
                layer,
                detector: det.id,
                masked: mask(value),
                line,
            });
            break;
        }
    }
    hits
}

/// What a file name says the file is, when it usually holds credentials.
pub fn secret_file_kind(path: &str) -> Option<&'static str> {
    if is_allowed_path(path) {
        return None;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    let parent = path
        .rsplit('/')
        .nth(1)
        .filter(|_| path.contains('/'))
        .unwrap_or("");
    Some(match base {
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk" => {
            "an SSH private key"
        }
        ".env" => "a dotenv file",
        b if b.starts_with(".env.")
            && ![
                ".env.example",
                ".env.sample",
                ".env.template",
                ".env.dist",
                ".env.defaults",
            ]
            .contains(&b) =>
        {
            "a dotenv file"
        }
        ".git-credentials" => "a Git credential store",
        ".pgpass" => "a PostgreSQL password file",
        ".netrc" | "_netrc" => "a netrc credential file",
        ".htpasswd" => "an htpasswd file",
        "credentials" if parent == ".aws" => "an AWS credentials file",
        "application_default_credentials.json" => "Google Cloud application credentials",
        "config" if parent == ".kube" => "a Kubernetes kubeconfig",
        "kubeconfig" => "a Kubernetes kubeconfig",
        b if b.ends_with(".p12") || b.ends_with(".pfx") => "a PKCS#12 key store",
        _ => return None,
    })
}

pub(crate) fn env_secret_name(key: &str) -> bool {
    static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(SECRET_NAME).expect("regex"));
    let upper = key.to_ascii_uppercase();
    NAME.is_match(key)
        && ![
            "_FILE",
            "_PATH",
            "_DIR",
            "_URL",
            "_ENDPOINT",
            "_HOST",
            "_PORT",
            "_TTL",
            "_LENGTH",
            "_SIZE",
            "_TYPE",
            "_MODE",
        ]
        .iter()
        .any(|s| upper.ends_with(s))
}

/// Checks a `KEY=value` pair (an `Env` entry, a build argument, an `ENV`/`ARG` in history).
/// Returns the detector and the masked value.
pub fn check_assignment(key: &str, value: &str) -> Option<(String, String)> {
    if let Some(hit) = scan_value(value) {
        return Some(hit);
    }
    if env_secret_name(key) && !value.is_empty() && !is_placeholder(value) {
        return Some(("secret-named variable".to_string(), mask(value)));
    }
    None
}

/// Runs the specific (non-generic) detectors over a string.
fn scan_value(value: &str) -> Option<(String, String)> {
    DETECTORS.iter().filter(|d| d.specific()).find_map(|d| {
        let m = d.regex.captures(value)?.get(1)?;
        (!is_placeholder(m.as_str())).then(|| (d.id.to_string(), mask(m.as_str())))
    })
}

/// `CUS-SEC-001`: secrets in `Env`.
pub(crate) fn check_env(ctx: &Ctx) -> Vec<(Diag, Evidence)> {
    let mut out = Vec::new();
    for (i, entry) in ctx.image.config.config.env.iter().flatten().enumerate() {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        if let Some((detector, masked)) = check_assignment(key, value) {
            out.push((
                Diag::SecretInEnv {
                    key: key.to_string(),
                    masked,
                    detector,
                },
                Evidence {
                    config_key: Some(format!("config.Env[{i}]")),
                    ..Evidence::default()
                },
            ));
        }
    }
    out
}

/// Splits `|2 A=1 B=2 /bin/sh -c …` (how Docker records build arguments) into the arguments
/// and the rest.
fn build_args(created_by: &str) -> (Vec<(&str, &str)>, &str) {
    let Some(rest) = created_by.strip_prefix('|') else {
        return (Vec::new(), created_by);
    };
    let Some((n, mut rest)) = rest.split_once(' ') else {
        return (Vec::new(), created_by);
    };
    let Ok(n) = n.parse::<usize>() else {
        return (Vec::new(), created_by);
    };
    let mut args = Vec::new();
    for _ in 0..n.min(256) {
        let (tok, after) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Some((k, v)) = tok.split_once('=') {
            args.push((k, v));
        }
        rest = after;
    }
    (args, rest)
}

/// `CUS-SEC-002`: secrets in history `created_by`: build arguments, `ARG`/`ENV` values not
/// already reported from `Env`, and any detector match in the command line.
pub(crate) fn check_history(ctx: &Ctx) -> Vec<(Diag, Evidence)> {
    static KV: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(?:ARG|ENV)\s+([^&|;]*)").expect("regex"));
    let env: Vec<&String> = ctx.image.config.config.env.iter().flatten().collect();
    let mut out = Vec::new();
    for (i, h) in ctx.image.config.history.iter().enumerate() {
        let Some(created_by) = h.created_by.as_deref() else {
            continue;
        };
        let evidence = Evidence {
            history_index: Some(i),
            layer_index: ctx.layer_of_history(i),
            layer: ctx.layer_of_history(i).map(|l| ctx.diff_id(l)),
            ..Evidence::default()
        };
        let mut found: Vec<(String, String, String)> = Vec::new();
        let (args, rest) = build_args(created_by);
        for (k, v) in args {
            if let Some((det, masked)) = check_assignment(k, v) {
                found.push((format!("build argument {k}"), masked, det));
            }
        }
        for caps in KV.captures_iter(rest) {
            // `ENV A=1 B="two"`: every KEY=value token (the legacy `ENV KEY value` form has
            // no `=` and is read as KEY plus the rest).
            let body = caps[1].trim();
            let pairs: Vec<(&str, &str)> = if body.contains('=') {
                body.split_whitespace()
                    .filter_map(|t| t.split_once('='))
                    .collect()
            } else {
                body.split_once(char::is_whitespace).into_iter().collect()
            };
            for (k, v) in pairs {
                let v = v.trim().trim_matches('"');
                if env.iter().any(|e| e.as_str() == format!("{k}={v}")) {
                    continue; // reported as CUS-SEC-001
                }
                if let Some((det, masked)) = check_assignment(k, v) {
                    found.push((k.to_string(), masked, det));
                }
            }
        }
        if found.is_empty() {
            // The command itself, without the ARG/ENV assignments judged above.
            let command = KV.replace_all(rest, "");
            if let Some(hit) = scan_contents("history", 0, &command).into_iter().next() {
                found.push((
                    "the command".to_string(),
                    hit.masked,
                    hit.detector.to_string(),
                ));
            }
        }
        for (what, masked, detector) in found {
            out.push((
                Diag::SecretInHistory {
                    what: format!("{what} of step {i}"),
                    masked,
                    detector,
                },
                evidence.clone(),
            ));
        }
    }
    out
}

/// `CUS-SEC-003` and `CUS-SEC-004`: secret file names in every layer and the content hits
/// gathered while streaming, each with the layer that added it and, if a later layer removed
/// or replaced it, that layer too.
pub(crate) fn check_files(ctx: &Ctx) -> Vec<(Diag, Evidence)> {
    let mut out = Vec::new();
    for (layer, facts) in ctx.layers.iter().enumerate() {
        for e in facts.summary.entries.iter().filter(|e| e.is_file()) {
            if let Some(kind) = secret_file_kind(&e.path) {
                let deleted = ctx.removed_in(&e.path, layer).map(|r| (layer, r));
                out.push((
                    Diag::SecretFile {
                        path: e.path.clone(),
                        kind: kind.to_string(),
                        deleted,
                    },
                    ctx.file_evidence(&e.path, layer, deleted.map(|d| d.1)),
                ));
            }
        }
    }
    for hit in &ctx.content_hits {
        let deleted = ctx.removed_in(&hit.path, hit.layer).map(|r| (hit.layer, r));
        out.push((
            Diag::SecretInFile {
                path: hit.path.clone(),
                detector: hit.detector.to_string(),
                masked: hit.masked.clone(),
                line: hit.line,
                deleted,
            },
            ctx.file_evidence(&hit.path, hit.layer, deleted.map(|d| d.1)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(path: &str, text: &str) -> Vec<&'static str> {
        scan_contents(path, 0, text)
            .into_iter()
            .map(|h| h.detector)
            .collect()
    }

    #[test]
    fn specific_detectors_find_their_tokens() {
        assert_eq!(
            ids("etc/app.conf", "key = AKIAQWERTYUIOPASDFGH"),
            ["aws-access-key-id"]
        );
        assert_eq!(
            ids("root/.ssh/key", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"),
            ["private-key"]
        );
        assert_eq!(
            ids("srv/x.txt", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            ["github-token"]
        );
        assert_eq!(
            ids(
                "root/.npmrc",
                "//registry.npmjs.org/:_authToken=npm_abcdef123456"
            ),
            ["npm-auth-token"]
        );
        assert!(ids("root/.npmrc", "//r/:_authToken=${NPM_TOKEN}").is_empty());
        assert!(ids("srv/notnpmrc", "_authToken=npm_abcdef123456").len() <= 1);
    }

    #[test]
    fn generic_assignment_needs_randomness_and_skips_placeholders_and_code() {
        assert_eq!(
            ids("srv/app/config.ini", "db_password = Xk9#mQ2vL7pR\n"),
            ["generic-secret-assignment"]
        );
        assert!(ids("srv/app/.env", "API_TOKEN=example-not-a-secret\n").is_empty());
        assert!(ids("srv/app/config.ini", "password=changeme123\n").is_empty());
        assert!(ids("srv/app/config.ini", "password=aaaaaaaa\n").is_empty());
        assert!(ids("srv/app/main.py", "password = Xk9#mQ2vL7pR\n").is_empty());
        assert!(ids(
            "srv/node_modules/debug/.coveralls.yml",
            "repo_token: Xk9mQ2vL7pR3"
        )
        .is_empty());
        assert!(ids("usr/share/x/overrides", "base-passwd: no-debconf-config\n").is_empty());
        assert!(ids("etc/x.conf", "token_file=/run/secrets/token\n").is_empty());
    }

    #[test]
    fn documentation_tests_and_certificate_stores_are_allowed() {
        assert!(is_allowed_path("usr/share/doc/openssl/README"));
        assert!(is_allowed_path("srv/app/node_modules/x/test/key.pem"));
        assert!(is_allowed_path("srv/README.md"));
        assert!(is_allowed_path("etc/ssl/certs/ca-certificates.crt"));
        assert!(!is_allowed_path("srv/app/.env"));
        assert!(!is_allowed_path("srv/test.env"));
    }

    #[test]
    fn secret_file_names() {
        assert_eq!(
            secret_file_kind("root/.ssh/id_rsa"),
            Some("an SSH private key")
        );
        assert_eq!(secret_file_kind("root/.ssh/id_rsa.pub"), None);
        assert_eq!(secret_file_kind("srv/app/.env"), Some("a dotenv file"));
        assert_eq!(secret_file_kind("srv/app/.env.example"), None);
        assert_eq!(
            secret_file_kind("root/.aws/credentials"),
            Some("an AWS credentials file")
        );
        assert_eq!(secret_file_kind("etc/credentials"), None);
        assert_eq!(
            secret_file_kind("root/.kube/config"),
            Some("a Kubernetes kubeconfig")
        );
    }

    #[test]
    fn build_args_are_split_from_the_command() {
        let (args, rest) = build_args("|2 NPM_TOKEN=abc VERSION=1 /bin/sh -c npm ci");
        assert_eq!(args, [("NPM_TOKEN", "abc"), ("VERSION", "1")]);
        assert_eq!(rest, "/bin/sh -c npm ci");
        assert_eq!(build_args("|x y").0, []);
    }

    #[test]
    fn assignments_by_name_skip_references_and_numbers() {
        assert!(check_assignment("DB_PASSWORD", "hunter2").is_some());
        assert!(check_assignment("DB_PASSWORD_FILE", "/run/secrets/db").is_none());
        assert!(check_assignment("TOKEN_TTL", "3600").is_none());
        assert!(check_assignment("API_TOKEN", "${API_TOKEN}").is_none());
        assert!(check_assignment("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D8CDDC75").is_none());
        assert!(check_assignment("PATH", "/usr/bin").is_none());
    }
}
