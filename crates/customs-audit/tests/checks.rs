//! Each rule against a violating image and its clean twin. Images are OCI layouts written by
//! `customs_testkit::ocibuild`; the clean twin is the same image with the one violation removed, and
//! it must raise no finding for that rule. `now` is pinned to 2026-12-01.

use std::sync::Arc;

use customs_audit::{audit, AuditOptions, AuditReport, Finding, Severity};
use customs_image::{Image, OpenOptions};
use customs_testkit::ocibuild::{base_layer, build, dir, file, symlink, whiteout, Entry, Spec};
use serde_json::{json, Value};

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

fn opts() -> AuditOptions {
    AuditOptions {
        now: Some(NOW),
        ..AuditOptions::default()
    }
}

fn run_with(spec: &Spec, opts: &AuditOptions) -> AuditReport {
    let dir = tempfile::tempdir().unwrap();
    let target = build(dir.path(), spec);
    let image = Image::open_str(&target, &OpenOptions::default()).expect("built image opens");
    audit(&image, opts).expect("audit runs")
}

fn run(spec: &Spec) -> AuditReport {
    run_with(spec, &opts())
}

fn found<'a>(r: &'a AuditReport, id: &str) -> Vec<&'a Finding> {
    r.findings.iter().filter(|f| f.id == id).collect()
}

/// The clean image: numeric non-root user, an entrypoint owned by root, a healthcheck, a
/// supported OS, nothing executable besides the entrypoint.
fn clean_config() -> Value {
    json!({
        "User": "1000:1000",
        "Entrypoint": ["/app/server"],
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "API_TOKEN_FILE=/run/secrets/token"],
        "Healthcheck": {"Test": ["CMD", "/app/server", "health"]},
        "ExposedPorts": {"8080/tcp": {}},
        "Volumes": {"/data": {}},
    })
}

fn clean() -> Spec {
    Spec {
        layers: vec![base_layer()],
        config: clean_config(),
        ..Spec::default()
    }
}

fn with_config(key: &str, value: Value) -> Spec {
    let mut s = clean();
    s.config[key] = value;
    s
}

fn with_layer(entries: Vec<Entry>) -> Spec {
    let mut s = clean();
    s.layers.push(entries);
    s
}

/// The base layer with one entry replaced (by path) or added.
fn with_base_entry(e: Entry) -> Spec {
    let mut s = clean();
    s.layers[0].retain(|x| x.path != e.path);
    s.layers[0].push(e);
    s
}

/// Pads a layer so it is not tiny.
fn padding(name: &str) -> Entry {
    file(&format!("app/{name}.txt"), "padding line\n".repeat(60))
}

#[test]
fn clean_image_raises_no_finding_at_all() {
    let r = run(&clean());
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.layers.count, 1);
    assert_eq!(r.age.days, Some(11));
}

#[test]
fn root_user_forms_are_flagged_and_numeric_user_is_not() {
    for user in ["", "root", "0", "0:1000"] {
        let r = run(&with_config("User", json!(user)));
        let f = found(&r, "CUS-PRIV-001");
        assert_eq!(f.len(), 1, "user {user:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence.config_key.as_deref(), Some("config.User"));
    }
    assert!(found(&run(&clean()), "CUS-PRIV-001").is_empty());
}

#[test]
fn user_name_with_uid_0_in_passwd_is_root() {
    let mut s = with_base_entry(file(
        "etc/passwd",
        "root:x:0:0:root:/root:/sbin/nologin\ntoor:x:0:0::/:/sbin/nologin\napp:x:1000:1000::/:/sbin/nologin\n",
    ));
    s.config["User"] = json!("toor");
    let r = run(&s);
    let f = found(&r, "CUS-PRIV-001");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("uid 0 in /etc/passwd"),
        "{}",
        f[0].message
    );
    s.config["User"] = json!("app");
    assert!(found(&run(&s), "CUS-PRIV-001").is_empty());
}

#[test]
fn non_numeric_user_is_flagged_numeric_is_not() {
    let r = run(&with_config("User", json!("app")));
    assert_eq!(found(&r, "CUS-PRIV-002").len(), 1);
    assert!(found(&r, "CUS-PRIV-001").is_empty());
    assert!(found(&run(&clean()), "CUS-PRIV-002").is_empty());
}

#[test]
fn setuid_file_is_flagged() {
    let r = run(&with_base_entry(file("usr/bin/helper", "x").mode(0o4755)));
    let f = found(&r, "CUS-PRIV-003");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.path.as_deref(), Some("usr/bin/helper"));
    assert!(f[0].message.contains("setuid"));
    let r = run(&with_base_entry(file("usr/bin/helper", "x").mode(0o755)));
    assert!(found(&r, "CUS-PRIV-003").is_empty());
}

#[test]
fn capability_xattr_from_pax_header_is_flagged() {
    let cap = [1u8, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let r = run(&with_base_entry(
        file("usr/bin/ping", "x")
            .mode(0o755)
            .xattr("security.capability", &cap),
    ));
    let f = found(&r, "CUS-PRIV-004");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.path.as_deref(), Some("usr/bin/ping"));
    let r = run(&with_base_entry(
        file("usr/bin/ping", "x")
            .mode(0o755)
            .xattr("user.comment", b"hi"),
    ));
    assert!(found(&r, "CUS-PRIV-004").is_empty());
}

#[test]
fn world_writable_dir_without_sticky_is_flagged_with_sticky_is_not() {
    let r = run(&with_base_entry(dir("srv/upload").mode(0o777)));
    let f = found(&r, "CUS-PRIV-005");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert_eq!(f[0].evidence.path.as_deref(), Some("srv/upload"));
    let r = run(&with_base_entry(dir("srv/upload").mode(0o1777)));
    assert!(
        found(&r, "CUS-PRIV-005").is_empty(),
        "sticky like /tmp is fine"
    );
    let r = run(&with_base_entry(file("app/conf", "x").mode(0o666)));
    assert_eq!(found(&r, "CUS-PRIV-005").len(), 1, "world-writable file");
}

#[test]
fn entrypoint_owned_by_runtime_user_is_flagged() {
    let r = run(&with_base_entry(
        file("app/server", "ELF").mode(0o755).owner(1000, 1000),
    ));
    let f = found(&r, "CUS-PRIV-006");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.path.as_deref(), Some("app/server"));
    assert!(found(&run(&clean()), "CUS-PRIV-006").is_empty());
}

#[test]
fn shell_and_package_manager_are_flagged_distroless_like_is_not() {
    let s = with_layer(vec![
        dir("bin"),
        file("bin/busybox", "ELF").mode(0o755),
        symlink("bin/sh", "/bin/busybox"),
        file("usr/bin/apt-get", "ELF").mode(0o755),
        file("usr/bin/gcc", "ELF").mode(0o755),
        file("usr/bin/curl", "ELF").mode(0o755),
        padding("p"),
    ]);
    let r = run(&s);
    let shell = found(&r, "CUS-PRIV-007");
    assert_eq!(shell.len(), 1);
    assert!(shell[0].message.contains("/bin/sh"));
    assert!(found(&r, "CUS-PRIV-008")[0].message.contains("apt-get"));
    assert!(found(&r, "CUS-PRIV-009")[0].message.contains("gcc"));
    assert!(found(&r, "CUS-PRIV-010")[0].message.contains("curl"));
    // The clean image keeps a dpkg database but no dpkg: not a package manager.
    let r = run(&clean());
    for id in [
        "CUS-PRIV-007",
        "CUS-PRIV-008",
        "CUS-PRIV-009",
        "CUS-PRIV-010",
    ] {
        assert!(found(&r, id).is_empty(), "{id}");
    }
}

#[test]
fn sudo_is_flagged() {
    let r = run(&with_base_entry(file("usr/bin/sudo", "ELF").mode(0o4755)));
    assert_eq!(found(&r, "CUS-PRIV-011").len(), 1);
    assert!(found(&run(&clean()), "CUS-PRIV-011").is_empty());
}

#[test]
fn port_22_is_flagged_other_ports_are_not() {
    let r = run(&with_config(
        "ExposedPorts",
        json!({"22/tcp": {}, "80/tcp": {}}),
    ));
    assert_eq!(found(&r, "CUS-PRIV-012").len(), 1);
    let r = run(&with_config(
        "ExposedPorts",
        json!({"2222/tcp": {}, "22/udp": {}}),
    ));
    assert!(found(&r, "CUS-PRIV-012").is_empty());
}

#[test]
fn empty_password_is_flagged_locked_accounts_are_not() {
    let r = run(&with_base_entry(file(
        "etc/shadow",
        "root:*:19000:0:99999:7:::\napp::19000::::::\n",
    )));
    let f = found(&r, "CUS-PRIV-013");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("\"app\""));
    let r = run(&with_base_entry(file(
        "etc/shadow",
        "root:!:1::::::\na:*:1::::::\nb:!!:1::::::\nc:!*:1::::::\nd:*LK*:1::::::\ne:$6$salt$hash:1::::::\n",
    )));
    assert!(found(&r, "CUS-PRIV-013").is_empty());
}

#[test]
fn duplicate_uid_is_flagged() {
    let r = run(&with_base_entry(file(
        "etc/passwd",
        "root:x:0:0::/:/sbin/nologin\napp:x:1000:1000::/:/sbin/nologin\nother:x:1000:1000::/:/sbin/nologin\n",
    )));
    let f = found(&r, "CUS-PRIV-014");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("app, other"));
    assert!(found(&run(&clean()), "CUS-PRIV-014").is_empty());
}

#[test]
fn secret_in_env_is_flagged_and_masked() {
    let r = run(&with_config(
        "Env",
        json!([
            "PATH=/usr/bin",
            "AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH",
            "DB_PASSWORD=hunter22"
        ]),
    ));
    let f = found(&r, "CUS-SEC-001");
    assert_eq!(f.len(), 2, "{f:#?}");
    let json = serde_json::to_string_pretty(&r).unwrap() + "\n";
    assert!(!json.contains("AKIAQWERTYUIOPASDFGH") && !json.contains("hunter22"));
    assert!(json.contains("AKIA****"));
    assert!(found(&run(&clean()), "CUS-SEC-001").is_empty());
}

#[test]
fn secret_in_history_build_arg_is_flagged() {
    let mut s = clean();
    s.history = vec![json!({"created": "2026-11-20T00:00:00Z",
        "created_by": "|2 NPM_TOKEN=npm_s3cr3tTokenValue9 VERSION=1.0 /bin/sh -c npm ci"})];
    let r = run(&s);
    let f = found(&r, "CUS-SEC-002");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].evidence.history_index, Some(0));
    assert!(f[0].message.contains("NPM_TOKEN") && !f[0].message.contains("s3cr3t"));
    s.history = vec![json!({"created": "2026-11-20T00:00:00Z",
        "created_by": "|1 VERSION=1.0 /bin/sh -c make install"})];
    assert!(found(&run(&s), "CUS-SEC-002").is_empty());
}

#[test]
fn secret_file_deleted_in_a_later_layer_is_reported_with_both_layers() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----\n";
    let s = Spec {
        layers: vec![
            base_layer(),
            vec![
                dir("srv"),
                file("srv/deploy.pem", key),
                file("srv/id_rsa", key),
                padding("a"),
            ],
            vec![
                whiteout("srv/deploy.pem"),
                whiteout("srv/id_rsa"),
                padding("b"),
            ],
        ],
        config: clean_config(),
        ..Spec::default()
    };
    let r = run(&s);
    let content = found(&r, "CUS-SEC-004");
    assert_eq!(content.len(), 2, "{content:#?}");
    for f in &content {
        assert_eq!(f.evidence.layer_index, Some(1));
        assert_eq!(f.evidence.deleted_in_index, Some(2));
        assert!(f.evidence.layer.as_deref().unwrap().starts_with("sha256:"));
        assert!(f.message.contains("removed in layer 2"));
        assert!(
            !f.message.contains("RSA PRIVATE KEY"),
            "masked: {}",
            f.message
        );
    }
    let name = found(&r, "CUS-SEC-003");
    assert_eq!(name.len(), 1);
    assert_eq!(name[0].evidence.path.as_deref(), Some("srv/id_rsa"));
    // Clean twin: a public certificate and a CA bundle.
    let cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
    let r = run(&with_layer(vec![
        file("srv/server.pem", cert),
        file("etc/ssl/certs/ca-certificates.crt", cert),
        file(
            "usr/share/doc/app/example.conf",
            "aws_key=AKIAQWERTYUIOPASDFGH\n",
        ),
        padding("c"),
    ]));
    assert!(found(&r, "CUS-SEC-003").is_empty() && found(&r, "CUS-SEC-004").is_empty());
}

#[test]
fn file_re_added_in_a_later_layer_is_wasted() {
    let big = "0123456789abcdef".repeat(8 << 10); // 128 KiB
    let s = with_layer(vec![file("app/data.bin", big.clone())]);
    let mut s = s;
    s.layers.push(vec![file("app/data.bin", big.clone())]);
    s.layers
        .push(vec![file("app/data.bin", big.clone()).mode(0o600)]);
    let r = run(&s);
    let f = found(&r, "CUS-LAYER-001");
    assert_eq!(f.len(), 2, "{f:#?}");
    let kinds: Vec<String> = r
        .layers
        .waste
        .iter()
        .map(|w| format!("{:?}@{}", w.kind, w.layer))
        .collect();
    assert_eq!(kinds, ["IdenticalReAdd@1", "MetadataOnly@2"]);
    assert_eq!(r.layers.wasted_bytes, 2 * big.len() as u64);
    assert!(r.layers.efficiency < 0.5);
    assert_eq!(found(&r, "CUS-LAYER-002").len(), 1);
    // No duplicate: two different files.
    let mut s = with_layer(vec![file("app/a.bin", big.clone())]);
    s.layers.push(vec![file("app/b.bin", big)]);
    let r = run(&s);
    assert!(found(&r, "CUS-LAYER-001").is_empty() && found(&r, "CUS-LAYER-002").is_empty());
    assert_eq!(r.layers.wasted_bytes, 0);
}

#[test]
fn tiny_layer_is_reported_as_information() {
    let r = run(&with_layer(vec![file("app/flag", "1")]));
    let f = found(&r, "CUS-LAYER-004");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info);
    assert!(found(&run(&with_layer(vec![padding("x")])), "CUS-LAYER-004").is_empty());
}

#[test]
fn apt_lists_left_behind_are_flagged_cleaned_lists_are_not() {
    let r = run(&with_layer(vec![
        dir("var/lib/apt"),
        dir("var/lib/apt/lists"),
        file("var/lib/apt/lists/lock", ""),
        file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            "x".repeat(900),
        ),
        file("var/cache/apt/archives/curl_8.0_amd64.deb", "deb"),
    ]));
    let f = found(&r, "CUS-LAYER-005");
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f
        .iter()
        .any(|x| x.evidence.path.as_deref() == Some("var/lib/apt/lists")));
    let r = run(&with_layer(vec![
        dir("var/lib/apt"),
        dir("var/lib/apt/lists"),
        file("var/lib/apt/lists/lock", ""),
        dir("var/lib/apt/lists/partial"),
        padding("y"),
    ]));
    assert!(found(&r, "CUS-LAYER-005").is_empty());
}

#[test]
fn git_directory_is_flagged() {
    let r = run(&with_layer(vec![
        file("app/.git/HEAD", "ref: refs/heads/main\n"),
        file("app/.git/config", "[core]\n"),
        padding("g"),
    ]));
    let f = found(&r, "CUS-LAYER-005");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.path.as_deref(), Some("app/.git"));
}

#[test]
fn old_image_is_flagged_reproducible_epoch_is_unknown_age() {
    let mut s = clean();
    s.created = Some("2020-01-01T00:00:00Z".into());
    s.history = vec![json!({"created": "2020-01-01T00:00:00Z", "created_by": "layer 0"})];
    let r = run(&s);
    assert_eq!(found(&r, "CUS-FRESH-001").len(), 1);
    assert!(r.age.days.unwrap() > 2000);
    s.created = Some("1970-01-01T00:00:00Z".into());
    s.history = vec![json!({"created": "1970-01-01T00:00:00Z", "created_by": "layer 0"})];
    let r = run(&s);
    assert!(found(&r, "CUS-FRESH-001").is_empty());
    assert_eq!(r.age.days, None);
    assert_eq!(
        r.age.unknown_reason.as_deref(),
        Some("reproducible-build timestamp")
    );
    assert!(found(&run(&clean()), "CUS-FRESH-001").is_empty());
}

#[test]
fn end_of_life_alpine_is_flagged_supported_is_not() {
    let os = |v: &str| {
        with_base_entry(file(
            "etc/os-release",
            format!("ID=alpine\nVERSION_ID={v}\nPRETTY_NAME=\"Alpine Linux v{v}\"\n"),
        ))
    };
    let r = run(&os("3.10.9"));
    let f = found(&r, "CUS-FRESH-002");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("2021-05-01") && f[0].message.contains("endoflife.date"));
    assert!(found(&run(&os("3.22.1")), "CUS-FRESH-002").is_empty());
}

#[test]
fn volume_on_proc_is_flagged() {
    let r = run(&with_config("Volumes", json!({"/proc": {}, "/data": {}})));
    assert_eq!(found(&r, "CUS-FRESH-003").len(), 1);
    assert!(found(&run(&clean()), "CUS-FRESH-003").is_empty());
}

#[test]
fn onbuild_trigger_is_flagged() {
    let r = run(&with_config("OnBuild", json!(["RUN make"])));
    assert_eq!(found(&r, "CUS-FRESH-004").len(), 1);
    assert!(found(&run(&clean()), "CUS-FRESH-004").is_empty());
}

#[test]
fn missing_healthcheck_is_information() {
    let r = run(&with_config("Healthcheck", json!({"Test": ["NONE"]})));
    let f = found(&r, "CUS-FRESH-005");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info);
}

#[test]
fn add_from_url_is_flagged_checksummed_add_is_not() {
    let mut s = clean();
    s.history = vec![json!({"created_by": "ADD https://example.com/tool.tgz /opt/ # buildkit"})];
    let r = run(&s);
    let f = found(&r, "CUS-FRESH-006");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.history_index, Some(0));
    s.history = vec![
        json!({"created_by": "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tgz /opt/ # buildkit"}),
    ];
    assert!(found(&run(&s), "CUS-FRESH-006").is_empty());
    s.history = vec![json!({"created_by": "/bin/sh -c #(nop) ADD file:0c4555f3 in / "})];
    assert!(found(&run(&s), "CUS-FRESH-006").is_empty());
}

fn with_base(name: &str, digest: &str) -> Spec {
    let mut s = clean();
    s.annotations
        .insert("org.opencontainers.image.base.name".into(), name.into());
    s.annotations
        .insert("org.opencontainers.image.base.digest".into(), digest.into());
    s
}

const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn base_from_disallowed_registry_is_flagged() {
    let o = AuditOptions {
        allowed_registries: vec!["docker.io".into()],
        ..opts()
    };
    let r = run_with(&with_base("quay.io/someone/base:1", OLD), &o);
    let f = found(&r, "CUS-BASE-001");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("quay.io"));
    assert_eq!(
        r.base.as_ref().unwrap().registry.as_deref(),
        Some("quay.io")
    );
    let r = run_with(&with_base("debian:12", OLD), &o);
    assert!(
        found(&r, "CUS-BASE-001").is_empty(),
        "debian:12 is docker.io"
    );
}

#[test]
fn base_tag_moved_to_a_newer_digest_is_flagged_via_the_hook() {
    let lookup = |current: &'static str| AuditOptions {
        base_digest_lookup: Some(Arc::new(move |name: &str| {
            (name == "docker.io/library/debian:12").then(|| current.to_string())
        })),
        ..opts()
    };
    let spec = with_base("docker.io/library/debian:12", OLD);
    let r = run_with(&spec, &lookup(NEW));
    let f = found(&r, "CUS-BASE-002");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains(NEW));
    assert!(found(&run_with(&spec, &lookup(OLD)), "CUS-BASE-002").is_empty());
    assert!(
        found(&run(&spec), "CUS-BASE-002").is_empty(),
        "offline: no check"
    );
}

#[test]
fn severity_overrides_and_disabled_rules_apply() {
    let mut o = opts();
    o.severity_overrides
        .insert("CUS-PRIV-001".into(), Severity::Critical);
    o.disabled.insert("CUS-FRESH-005".into());
    let mut s = with_config("User", json!(""));
    s.config["Healthcheck"] = Value::Null;
    let r = run_with(&s, &o);
    assert_eq!(found(&r, "CUS-PRIV-001")[0].severity, Severity::Critical);
    assert!(found(&r, "CUS-FRESH-005").is_empty());
}

#[test]
fn secret_in_history_env_is_flagged_unless_already_in_env() {
    let mut s = clean();
    s.history = vec![json!({"created": "2026-11-20T00:00:00Z",
        "created_by": "/bin/sh -c #(nop)  ENV MODE=prod DB_PASSWORD=Zq8wErT5yU"})];
    let r = run(&s);
    let f = found(&r, "CUS-SEC-002");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("DB_PASSWORD") && !f[0].message.contains("Zq8wErT5yU"));
    // The same pair still in Env is reported once, as CUS-SEC-001.
    s.config["Env"] = json!(["MODE=prod", "DB_PASSWORD=Zq8wErT5yU"]);
    let r = run(&s);
    assert!(found(&r, "CUS-SEC-002").is_empty());
    assert_eq!(found(&r, "CUS-SEC-001").len(), 1);
}

#[test]
fn unknown_user_name_is_a_warning() {
    let r = run(&with_config("User", json!("ghost")));
    assert!(
        r.warnings.iter().any(|w| w.contains("ghost")),
        "{:?}",
        r.warnings
    );
    assert!(run(&clean()).warnings.is_empty());
}
