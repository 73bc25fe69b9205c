//! Redaction: the one place that decides what of an image's config and history may be
//! printed. Every command's output (audit, check, inspect, scan, sbom, in every format) passes
//! image-supplied strings through here, so a secret the audit masks in a finding is not printed
//! in full elsewhere in the same report.
//!
//! What is masked, with [`crate::rules::mask`] (the first few characters, then `****`):
//! - values of secret-named assignments (`DB_PASSWORD=…`, `--api-key …`, `token: …`), by the
//!   same name rule the audit's `CUS-SEC-001` uses, in env entries, labels and free text;
//! - the password of URL userinfo (`https://user:pass@host/`);
//! - `Authorization:` header credentials and `curl -u user:pass`;
//! - every token the audit's specific detectors find (AWS key ids, GitHub/GitLab/Slack/Stripe
//!   tokens, JWTs, …);
//! - PEM private key blocks, header to footer.
//!
//! [`reveal`] turns masking off for the whole process (`--show-secrets`, which the binary only
//! honours when the output is a terminal).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

use customs_image::manifest::{ContainerConfig, History};
use regex::{Captures, Regex};

use crate::rules::mask;
use crate::secrets::{self, DETECTORS, SECRET_NAME};

static REVEAL: AtomicBool = AtomicBool::new(false);

/// Turns masking off (`true`) or on for this process. Only a binary that knows its output
/// goes to a terminal should turn it off.
pub fn reveal(on: bool) {
    REVEAL.store(on, Ordering::Relaxed);
}

/// Whether masking is off.
pub fn revealing() -> bool {
    REVEAL.load(Ordering::Relaxed)
}

/// Whether a value named as a secret should be masked: anything but empty values, references
/// (`$VAR`, `${VAR}`, `%VAR%`, `<placeholder>`, `{{ template }}`), paths and booleans.
fn maskable(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.contains("****") {
        return false;
    }
    let l = v.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null" | "nil"
    ) {
        return false;
    }
    !(v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('{')
        || v.starts_with('<')
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("file:"))
}

/// Whether `key` names a secret (`DB_PASSWORD`, `db.password`, `--api-key`), ignoring names
/// of files, paths, URLs and lengths (`PASSWORD_FILE`, `TOKEN_TTL`).
pub fn secret_name(key: &str) -> bool {
    let k = key.trim_start_matches('-').replace(['-', '.'], "_");
    !k.is_empty() && secrets::env_secret_name(&k)
}

/// Masks `value` if it is the value of a secret named `key`, or else masks the secrets inside
/// it (a URL password, a token).
pub fn value(key: &str, value: &str) -> String {
    if revealing() {
        return value.to_string();
    }
    if secret_name(key) && maskable(value) {
        return mask(value);
    }
    text(value)
}

/// A `KEY=value` entry (`Env`, a build argument) with the value masked when it is a secret.
pub fn assignment(entry: &str) -> String {
    match entry.split_once('=') {
        Some((k, v)) => format!("{k}={}", value(k, v)),
        None => text(entry),
    }
}

/// An argument vector (`Cmd`, `Entrypoint`, `Shell`): every argument as [`text`], and the
/// argument after a secret-named flag (`--password hunter2`) masked.
pub fn args(argv: &[String]) -> Vec<String> {
    if revealing() {
        return argv.to_vec();
    }
    let mut out = Vec::with_capacity(argv.len());
    let mut mask_next = false;
    for a in argv {
        if mask_next && !a.starts_with('-') && maskable(a) {
            out.push(mask(a));
        } else {
            out.push(text(a));
        }
        mask_next = a.starts_with('-') && !a.contains('=') && secret_name(a);
    }
    out
}

/// A label or annotation map with secret values masked.
pub fn map(m: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), value(k, v))).collect()
}

/// Every string in a JSON value (a `Healthcheck`) masked as [`args`] and [`text`] do.
pub fn json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let argv: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect();
            Value::Array(args(&argv).into_iter().map(Value::String).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => Value::String(value(k, s)),
                        other => json(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The image config with every secret masked: `Env`, `Labels`, `Cmd`, `Entrypoint`, `Shell`,
/// `OnBuild`, `Healthcheck`, `User` and `WorkingDir`.
pub fn config(c: &ContainerConfig) -> ContainerConfig {
    let mut c = c.clone();
    if revealing() {
        return c;
    }
    c.env = c.env.map(|e| e.iter().map(|x| assignment(x)).collect());
    c.labels = c.labels.as_ref().map(map);
    c.cmd = c.cmd.as_deref().map(args);
    c.entrypoint = c.entrypoint.as_deref().map(args);
    c.shell = c.shell.as_deref().map(args);
    c.on_build = c.on_build.map(|o| o.iter().map(|x| text(x)).collect());
    c.healthcheck = c.healthcheck.as_ref().map(json);
    c.user = c.user.map(|u| text(&u));
    c.working_dir = c.working_dir.map(|w| text(&w));
    c
}

/// History entries with `created_by`, `comment` and `author` masked.
pub fn history(h: &[History]) -> Vec<History> {
    h.iter()
        .map(|e| History {
            created_by: e.created_by.as_deref().map(text),
            comment: e.comment.as_deref().map(text),
            author: e.author.as_deref().map(text),
            ..e.clone()
        })
        .collect()
}

/// A PEM private key block, header to footer (or to the end when the footer is missing).
static PEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    )
    .expect("regex")
});

/// `scheme://user:password@`: group 1 the prefix, group 2 the password.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)@").expect("regex")
});

/// `scheme://user@`: a token used as the user name (`https://<token>@github.com`), masked when
/// it looks random (so `ssh://git@host` stays readable).
static URL_USER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]{8,})@").expect("regex"));

/// `Authorization: Bearer …`, `curl -u user:pass`, `--user user:pass`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:authorization|proxy-authorization)\s*:\s*(?:bearer|basic|token|digest)?\s*|(?:^|\s)(?:-u|--user)\s+["']?[^\s:"']*:)([^\s"']+)"#,
    )
    .expect("regex")
});

/// `NAME=value` and `NAME: value` where NAME names a secret; the value quoted or bare.
static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?P<pre>(?:^|[^A-Za-z0-9_.-])(?P<name>[A-Za-z0-9_.-]*{SECRET_NAME}[A-Za-z0-9_.-]*)["']?(?:[ \t]*=[ \t]*|:[ \t]+))(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'`;&|)]+))"#
    ))
    .expect("regex")
});

/// `ENV NAME value` (the legacy form) and `--name value` where NAME names a secret.
static SPACED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?P<pre>(?:\b(?:ENV|ARG)[ \t]+|(?:^|[ \t])--?)(?P<name>[A-Za-z0-9_.-]*{SECRET_NAME}[A-Za-z0-9_.-]*)[ \t]+)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'`;&|)-][^\s"'`;&|)]*))"#
    ))
    .expect("regex")
});

/// Replaces the value of every [`ASSIGN`] or [`SPACED`] match whose name is a secret's.
fn mask_assignments(re: &Regex, s: &str) -> String {
    re.replace_all(s, |c: &Captures| {
        let (q, v) = match (c.name("dq"), c.name("sq"), c.name("bare")) {
            (Some(v), _, _) => ("\"", v.as_str()),
            (_, Some(v), _) => ("'", v.as_str()),
            (_, _, Some(v)) => ("", v.as_str()),
            _ => return c[0].to_string(),
        };
        if secret_name(&c["name"]) && maskable(v) {
            format!("{}{q}{}{q}", &c["pre"], mask(v))
        } else {
            c[0].to_string()
        }
    })
    .into_owned()
}

/// Masks every secret inside free text: a history `created_by`, a label value, a command
/// argument, a finding message.
pub fn text(s: &str) -> String {
    if revealing() {
        return s.to_string();
    }
    let s = PEM.replace_all(s, |c: &Captures| mask(&c[0]));
    let s = URL_USERINFO.replace_all(&s, |c: &Captures| format!("{}{}@", &c[1], mask(&c[2])));
    let s = URL_USER.replace_all(&s, |c: &Captures| {
        if secrets::looks_random(&c[2]) {
            format!("{}{}@", &c[1], mask(&c[2]))
        } else {
            c[0].to_string()
        }
    });
    let s = HEADER.replace_all(&s, |c: &Captures| {
        if maskable(&c[2]) {
            format!("{}{}", &c[1], mask(&c[2]))
        } else {
            c[0].to_string()
        }
    });
    let s = mask_assignments(&ASSIGN, &s);
    let mut s = mask_assignments(&SPACED, &s);
    for det in DETECTORS.iter().filter(|d| d.specific()) {
        if !det.regex().is_match(&s) {
            continue;
        }
        s = det
            .regex()
            .replace_all(&s, |c: &Captures| {
                let (Some(whole), Some(m)) = (c.get(0), c.get(1)) else {
                    return c[0].to_string();
                };
                if m.as_str().contains("****") {
                    return c[0].to_string();
                }
                let w = whole.as_str();
                let (a, b) = (m.start() - whole.start(), m.end() - whole.start());
                format!("{}{}{}", &w[..a], mask(m.as_str()), &w[b..])
            })
            .into_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_and_the_host_kept() {
        assert_eq!(
            text("ADD https://user:hunter2pass@example.com/x /x"),
            "ADD https://user:hunt****@example.com/x /x"
        );
        assert_eq!(
            text("git clone https://example.com/r"),
            "git clone https://example.com/r"
        );
    }

    #[test]
    fn secret_named_assignments_are_masked() {
        assert_eq!(
            text("/bin/sh -c #(nop) ENV DB_PASSWORD=hunter2 MODE=prod"),
            "/bin/sh -c #(nop) ENV DB_PASSWORD=hun**** MODE=prod"
        );
        assert_eq!(text("ENV API_TOKEN hunter2"), "ENV API_TOKEN hun****");
        assert_eq!(
            text("|2 NPM_TOKEN=abcdef VERSION=1 /bin/sh -c npm ci"),
            "|2 NPM_TOKEN=abc**** VERSION=1 /bin/sh -c npm ci"
        );
        assert_eq!(
            text("login --password s3cr3tpw --user bob"),
            "login --password s3cr**** --user bob"
        );
        assert_eq!(
            text(r#"ENV DB_PASSWORD="two words" X=1"#),
            r#"ENV DB_PASSWORD="two ****" X=1"#
        );
        assert_eq!(text("the token TOKEN=abcdef"), "the token TOKEN=abc****");
        // References, files and plain words are left alone.
        assert_eq!(
            text("ENV DB_PASSWORD_FILE=/run/secrets/db TOKEN=${TOKEN}"),
            "ENV DB_PASSWORD_FILE=/run/secrets/db TOKEN=${TOKEN}"
        );
        assert_eq!(
            text("echo the password is required"),
            "echo the password is required"
        );
    }

    #[test]
    fn detector_tokens_and_private_keys_are_masked() {
        let t =
            text("RUN curl -H x ghp_0123456789abcdefghijABCDEFGHIJ012345 && AKIAQWERTYUIOPASDFGH");
        assert!(!t.contains("ghp_0123456789"), "{t}");
        assert!(t.contains("ghp_****") && t.contains("AKIA****"), "{t}");
        let t = text(
            "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----' > k",
        );
        assert!(!t.contains("MIIEabc"), "{t}");
        assert!(t.contains("----****"), "{t}");
        let t = text("curl -H 'Authorization: Bearer abc123def456' -u bob:pw12345 https://x");
        assert!(!t.contains("abc123def456") && !t.contains("pw12345"), "{t}");
    }

    #[test]
    fn masking_is_idempotent() {
        for s in [
            "ADD https://user:hunter2pass@example.com/x /x",
            "ENV DB_PASSWORD=hunter2 AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        ] {
            let once = text(s);
            assert_eq!(text(&once), once);
        }
    }

    #[test]
    fn env_labels_and_argv() {
        assert_eq!(
            assignment("AWS_SECRET_ACCESS_KEY=abcdEFGH1234"),
            "AWS_SECRET_ACCESS_KEY=abcd****"
        );
        assert_eq!(assignment("PATH=/usr/bin"), "PATH=/usr/bin");
        assert_eq!(
            assignment("DATABASE_URL=postgres://app:dbpass99@db/app"),
            "DATABASE_URL=postgres://app:dbpa****@db/app"
        );
        let labels = BTreeMap::from([
            ("db.password".to_string(), "hunter2pass".to_string()),
            ("version".to_string(), "1.2".to_string()),
        ]);
        let m = map(&labels);
        assert_eq!(m["db.password"], "hunt****");
        assert_eq!(m["version"], "1.2");
        let argv: Vec<String> = ["app", "--api-key", "k3yk3yk3y", "--port", "80"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            args(&argv),
            ["app", "--api-key", "k3yk****", "--port", "80"]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_hides_a_planted_url_password(
            before in "[ -~\n]{0,40}",
            after in "[ -~\n]{0,40}",
            value in "[ -~]{0,60}",
        ) {
            let _ = text(&value);
            let _ = assignment(&value);
            let _ = args(&[value.clone(), before.clone()]);
            let planted = format!("{before} https://u:Zq7Wv9Xk2Lp4@h/x {after}");
            let out = text(&planted);
            proptest::prop_assert!(!out.contains("Zq7Wv9Xk2Lp4"), "{}", out);
        }
    }
}
