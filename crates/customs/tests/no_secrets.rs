//! Issue 12, "never print a secret": an OCI layout built here plants secrets in the config
//! (AWS key id and secret in `Env`, a password label, an API key in `Cmd`), in history
//! (a GitHub token in a `RUN` line, `ADD https://user:pass@…`) and a private key in a layer.
//! Every command that takes an image, in every `-f` format its `--help` lists, also with `-o`
//! and with `--show-secrets` into a pipe, must print none of them on stdout, stderr or the
//! output file, and must print the masked form where it shows the field at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use customs_testkit::oci::{gzip, sha256_hex, tar};
use serde_json::json;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

const AWS_KEY_ID: &str = "AKIAZ7QPLANTED4KEY12";
const AWS_SECRET: &str = "q8Vt3LmZ0pR7sK2wX9yB4nC6dF1gH5jU0aE3iO7r";
const GITHUB_TOKEN: &str = "ghp_Pl4ntedT0kenAbCdEfGhIjKlMnOpQrStUv12";
const URL_PASSWORD: &str = "hunter2pass";
const LABEL_PASSWORD: &str = "S3cretLabelPw9";
const CMD_API_KEY: &str = "k3yPl4ntedArg77x";
const KEY_BODY: &str = "MIIEpAIBAAKCAQEAplantedPrivateKeyBodyLine1";

/// Every planted secret.
const PLANTED: [&str; 7] = [
    AWS_KEY_ID,
    AWS_SECRET,
    GITHUB_TOKEN,
    URL_PASSWORD,
    LABEL_PASSWORD,
    CMD_API_KEY,
    KEY_BODY,
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The layer: Alpine 3.10 with a vulnerable openssl, and a private key.
fn layer_tar() -> Vec<u8> {
    let key = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END RSA PRIVATE KEY-----\n"
    );
    tar(&[
        (
            "etc/os-release",
            b"ID=alpine\nVERSION_ID=3.10.2\nPRETTY_NAME=\"Alpine Linux v3.10\"\n",
        ),
        (
            "lib/apk/db/installed",
            b"C:Q1abc=\nP:openssl\nV:1.1.1a-r0\nA:x86_64\no:openssl\nL:OpenSSL\n\n",
        ),
        ("root/.ssh/id_rsa", key.as_bytes()),
    ])
}

/// Writes a one-layer OCI layout with the planted secrets into `dir`; returns `oci:<dir>`.
fn write_image(dir: &Path) -> String {
    assert_eq!(GITHUB_TOKEN.len(), 40, "ghp_ plus 36 characters");
    let layer = layer_tar();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let h = sha256_hex(b);
        std::fs::write(blobs.join(&h), b).unwrap();
        h
    };
    let gz = gzip(&layer);
    let layer_digest = put(&gz);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2025-12-01T00:00:00Z",
        "config": {
            "Env": [
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}"),
                format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
            ],
            "Cmd": ["/app", "--api-key", CMD_API_KEY],
            "Labels": {
                "org.example.db.password": LABEL_PASSWORD,
                "org.opencontainers.image.title": "planted",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer))]},
        "history": [
            {
                "created": "2025-12-01T00:00:00Z",
                "created_by": format!("ADD https://user:{URL_PASSWORD}@example.com/x /x # buildkit"),
                "empty_layer": true,
            },
            {
                "created": "2025-12-01T00:00:00Z",
                "created_by": format!(
                    "RUN /bin/sh -c git clone https://{GITHUB_TOKEN}@github.com/o/r /src # buildkit"
                ),
            },
            {
                "created": "2025-12-01T00:00:00Z",
                "created_by": format!("ENV AWS_ACCESS_KEY_ID={AWS_KEY_ID} AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
                "empty_layer": true,
            },
            {
                "created": "2025-12-01T00:00:00Z",
                "created_by": format!("LABEL org.example.db.password={LABEL_PASSWORD}"),
                "empty_layer": true,
            },
        ],
    })
    .to_string();
    let config_digest = put(config.as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{layer_digest}"),
            "size": gz.len(),
        }],
    })
    .to_string();
    let m = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    customs_testkit::oci::set_index(dir, &m, manifest.len());
    format!("oci:{}", dir.display())
}

/// A small database: the Alpine secdb of `../shared/vulndata`, imported once.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no_secrets");
        let src = dir.join("vulndata");
        std::fs::create_dir_all(&src).unwrap();
        let secdb = src.join("alpine-secdb").join("v3.10");
        std::fs::create_dir_all(&secdb).unwrap();
        std::fs::copy(
            format!("{SHARED}/vulndata/alpine-secdb/v3.10/main.yaml"),
            secdb.join("main.yaml"),
        )
        .unwrap();
        let db = dir.join("customs.db");
        let out = Command::new(env!("CARGO_BIN_EXE_customs"))
            .args(["db", "import"])
            .arg(&src)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        db
    })
}

fn customs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(args)
        .env("CUSTOMS_DB", db())
        .env("CUSTOMS_CACHE_DIR", cwd.join("cache"))
        .env("CUSTOMS_MAX_DB_AGE", "100000d")
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("RUST_LOG")
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Subcommands whose usage takes an `<IMAGE>` and whose `--format` lists possible values,
/// with those values, read from `customs --help` and each subcommand's `--help`.
fn image_commands_and_formats(cwd: &Path) -> BTreeMap<String, Vec<String>> {
    let top = text(&customs(cwd, &["--help"]).stdout);
    let mut out = BTreeMap::new();
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    for c in commands {
        // `-h` is clap's short help: one entry per option, possible values inline, though a
        // long list may wrap onto the next lines.
        let help = text(&customs(cwd, &[&c, "-h"]).stdout);
        let takes_image = help
            .lines()
            .find(|l| l.starts_with("Usage:"))
            .is_some_and(|u| u.contains("<IMAGE>") || u.contains("[IMAGE]"));
        let Some(start) = help.find("--format <") else {
            continue;
        };
        // The option's own entry: its line and the wrapped lines after it, up to the next
        // line that starts another option.
        let mut lines = help[start..].lines();
        let first = lines.next().unwrap_or("");
        let entry = std::iter::once(first)
            .chain(lines.take_while(|l| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('-')
            }))
            .flat_map(str::split_whitespace)
            .collect::<Vec<_>>()
            .join(" ");
        let Some(values) = entry
            .split("[possible values: ")
            .nth(1)
            .and_then(|v| v.split(']').next())
        else {
            continue;
        };
        if takes_image {
            out.insert(
                c,
                values
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect(),
            );
        }
    }
    out
}

/// What each field shows masked, and which (command, format) pairs must show it.
fn expected_masks(command: &str, format: &str) -> Vec<&'static str> {
    match (command, format) {
        // The config and history, every field.
        ("inspect", _) => vec![
            "AKIA****", "q8Vt****", "ghp_****", "hunt****", "S3cr****", "k3yP****",
        ],
        // Findings for Env and history; JSON and SARIF also carry messages per finding.
        ("audit", "json") => vec!["AKIA****", "ghp_****", "hunt****", "----****"],
        ("audit", _) => vec!["AKIA****", "ghp_****", "----****"],
        // Audit findings become policy violations.
        ("check", _) => vec!["AKIA****"],
        // Labels are a CycloneDX property and part of the native JSON subject.
        ("sbom", "cyclonedx") | ("scan", "cyclonedx") => vec!["S3cr****"],
        _ => vec![],
    }
}

const POLICY: &str = "[vulnerabilities]\nmax_count = 0\n\n[audit]\nfail_on = \"info\"\n";

fn extra_args(command: &str) -> Vec<String> {
    match command {
        "check" => vec!["--policy".into(), "policy.toml".into()],
        _ => vec![],
    }
}

fn assert_clean(what: &str, out: &str, masks: &[&str]) {
    for s in PLANTED {
        assert!(
            !out.contains(s),
            "{what}: printed the planted secret {s:?}:\n{out}"
        );
    }
    for m in masks {
        assert!(
            out.contains(m),
            "{what}: the masked form {m:?} is missing:\n{out}"
        );
    }
}

#[test]
fn no_command_or_format_prints_a_planted_secret() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_image(&dir.path().join("image"));
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    let commands = image_commands_and_formats(dir.path());
    for c in ["audit", "check", "inspect", "scan", "sbom"] {
        assert!(commands.contains_key(c), "{c} missing from {commands:?}");
    }
    assert!(
        commands["sbom"].contains(&"spdx".to_string()),
        "{commands:?}"
    );
    assert!(
        commands["audit"].contains(&"sarif".to_string()),
        "{commands:?}"
    );
    let mut runs = 0;
    for (command, formats) in &commands {
        for format in formats {
            let mut args: Vec<String> = vec!["-v".into(), command.clone(), image.clone()];
            args.extend(["-f".into(), format.clone()]);
            args.extend(extra_args(command));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = customs(dir.path(), &argv);
            let what = format!("customs {}", argv.join(" "));
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 1)),
                "{what}: exit {code:?}\n{}",
                text(&out.stderr)
            );
            let masks = expected_masks(command, format);
            assert_clean(&format!("{what} (stdout)"), &text(&out.stdout), &masks);
            assert_clean(&format!("{what} (stderr)"), &text(&out.stderr), &[]);
            runs += 1;

            // --show-secrets into a pipe still masks.
            let mut shown = argv.clone();
            shown.insert(0, "--show-secrets");
            let out = customs(dir.path(), &shown);
            assert_clean(
                &format!("{what} --show-secrets (stdout)"),
                &text(&out.stdout),
                &masks,
            );
            assert!(
                text(&out.stderr).contains("--show-secrets ignored"),
                "{what}"
            );

            // -o FILE, where the command has it.
            if text(&customs(dir.path(), &[command, "--help"]).stdout).contains("--output <FILE>") {
                let file = dir.path().join("out");
                let _ = std::fs::remove_file(&file);
                let mut to_file = argv.clone();
                to_file.extend(["-o", "out"]);
                let out = customs(dir.path(), &to_file);
                assert_clean(&format!("{what} -o (stderr)"), &text(&out.stderr), &[]);
                let written = std::fs::read_to_string(&file).unwrap_or_default();
                assert_clean(&format!("{what} -o (file)"), &written, &masks);
            }
        }
    }
    assert!(runs >= 15, "only {runs} command/format pairs ran");
}

#[test]
fn the_image_really_holds_the_secrets() {
    // Guards the test above: the layout carries every planted value, so their absence from
    // the output is masking, not a broken fixture.
    let dir = tempfile::tempdir().unwrap();
    let image_dir = dir.path().join("image");
    write_image(&image_dir);
    let mut all = text(&layer_tar());
    for e in std::fs::read_dir(image_dir.join("blobs/sha256")).unwrap() {
        all.push_str(&text(&std::fs::read(e.unwrap().path()).unwrap()));
    }
    for s in PLANTED {
        assert!(all.contains(s), "{s} not planted");
    }
}

/// Runs `customs ARGS` on a pseudo-terminal through util-linux `script`; `None` when `script`
/// is not installed.
fn customs_on_a_terminal(cwd: &Path, args: &[&str]) -> Option<String> {
    let mut line = String::from(env!("CARGO_BIN_EXE_customs"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("CUSTOMS_CACHE_DIR", cwd.join("cache"))
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .current_dir(cwd)
        .output()
        .ok()?;
    Some(text(&out.stdout))
}

#[test]
fn show_secrets_reveals_only_on_a_terminal_and_never_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_image(&dir.path().join("image"));
    let Some(shown) = customs_on_a_terminal(
        dir.path(),
        &["--show-secrets", "inspect", &image, "--no-layers"],
    ) else {
        eprintln!("util-linux `script` is not installed; skipping");
        return;
    };
    for s in [
        AWS_KEY_ID,
        AWS_SECRET,
        LABEL_PASSWORD,
        URL_PASSWORD,
        GITHUB_TOKEN,
    ] {
        assert!(
            shown.contains(s),
            "--show-secrets on a terminal hid {s}:\n{shown}"
        );
    }
    // On a terminal without the flag: masked.
    let masked = customs_on_a_terminal(dir.path(), &["inspect", &image, "--no-layers"]).unwrap();
    assert_clean("inspect on a terminal", &masked, &["AKIA****"]);
    // On a terminal, but into a file: masked, and said so.
    let note = customs_on_a_terminal(
        dir.path(),
        &[
            "--show-secrets",
            "audit",
            &image,
            "-f",
            "json",
            "-o",
            "out.json",
        ],
    )
    .unwrap();
    assert!(note.contains("--show-secrets ignored"), "{note}");
    let written = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    assert_clean(
        "audit --show-secrets -o",
        &written,
        &["AKIA****", "hunt****"],
    );
}
