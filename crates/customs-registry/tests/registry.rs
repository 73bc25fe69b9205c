//! The registry client against a real `docker-registry` on loopback: pulls of images pushed
//! by skopeo, Basic and token auth, TLS, retries, digest checks, pushes that skopeo and umoci
//! can read back, platform selection and the referrers fallback. Expected digests come from
//! `shared/images/README.md`.

use customs_testkit::registry as support;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use customs_image::manifest::{media_type, Descriptor, Index, Manifest, Platform};
use customs_image::reference::{Reference, Repository};
use customs_image::Digest;
use customs_registry::{
    Credential, CredentialSource, RegistryClient, RegistryError, RegistryOptions, UploadMode,
    UploadOutcome,
};
use support::proxy::{Fault, FaultProxy};
use support::{shared_image, Mode, Registry};

const APP_MANIFEST: &str =
    "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44";
const APP_CONFIG: &str = "sha256:db52521df42011d2886456e8cb0b11cdc4b8640165022ef42bc7b4e2619e6d9e";
const APP_LAYERS: [&str; 5] = [
    "sha256:c1f002e71ff26f48d9071266c88531cc7740de5f12a710395e68ea604ed4ff6a",
    "sha256:3237e1808100791ba5b940538bdfb6e37a6bbfb3a953963a1e4d091060da3a93",
    "sha256:ec4564b900381d04b449696f77437ef8de00fa2759623b97d3ba2d6ddf4981c7",
    "sha256:da44ed79316e079653bf488725ba40124c66d61626612d7404f1fa124d610054",
    "sha256:430b55d31e7d77680f823d4ab9fa0fa62e9421f3e43f6f0a1f32e741ee5eaf44",
];
const DEBIAN_MANIFEST: &str =
    "sha256:6b2989d0ddd9f26e500d5f47db51bf4a19cdb9a0f8da5f04bdb7cc5284a19ac5";
const DEBIAN_CONFIG: &str =
    "sha256:fab964148804ba2c69ec819bd53f8ec2975daceac8d97cdc0a8aa86777fa2200";
const DEBIAN_LAYER: &str =
    "sha256:f647fbea92833db6191b7d5092b9ab9ea7c942db5158ceb02fa1ec57b6109ac5";

fn reference(reg_host: &str, rest: &str) -> Reference {
    Reference::parse(&format!("{reg_host}/{rest}")).unwrap()
}

fn repo(host: &str, name: &str) -> Repository {
    Repository {
        registry: host.to_string(),
        name: name.to_string(),
    }
}

/// Reads every blob of the manifest through the verifying reader; returns bytes read.
fn pull_all_blobs(client: &RegistryClient, repo: &Repository, manifest: &Manifest) -> u64 {
    let mut total = 0;
    for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
        let mut r = client.get_blob(repo, d).unwrap();
        total += std::io::copy(&mut r, &mut std::io::sink()).unwrap();
    }
    total
}

/// The blobs of an OCI archive, by digest, and its index.json.
fn oci_archive_blobs(path: &Path) -> (HashMap<Digest, Vec<u8>>, Index) {
    let mut blobs = HashMap::new();
    let mut index = None;
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        if let Some(hex) = name.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            blobs.insert(format!("sha256:{hex}").parse().unwrap(), bytes);
        } else if name == "index.json" {
            index = Some(serde_json::from_slice(&bytes).unwrap());
        }
    }
    (blobs, index.unwrap())
}

fn descriptor(mt: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: mt.to_string(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        urls: vec![],
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    }
}

#[test]
fn pulls_app_multi_pushed_by_skopeo_with_the_readme_digests() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let client = reg.client();
    let r = reference(&reg.host(), "app:latest");
    let resolved = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(resolved.index_digest, None);
    assert_eq!(resolved.manifest_digest.to_string(), APP_MANIFEST);
    assert_eq!(resolved.media_type, media_type::OCI_MANIFEST);
    assert_eq!(resolved.manifest.config.digest.to_string(), APP_CONFIG);
    let layers: Vec<String> = resolved
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect();
    assert_eq!(layers, APP_LAYERS);
    let repo = r.repo();
    let total = pull_all_blobs(&client, &repo, &resolved.manifest);
    assert_eq!(
        total,
        1_958 + 2_879_918 + 570_744 + 861_977 + 1_524_259 + 959
    );
    // get_manifest by digest verifies the body against the reference's digest.
    let by_digest = r.with_digest(APP_MANIFEST.parse().unwrap());
    let (bytes, mt, digest) = client.get_manifest(&by_digest).unwrap();
    assert_eq!(
        (bytes.len(), mt.as_str(), digest.to_string().as_str()),
        (1_033, media_type::OCI_MANIFEST, APP_MANIFEST)
    );
    let config = client
        .get_blob_bytes(&repo, &resolved.manifest.config, 1 << 20)
        .unwrap();
    let config: customs_image::ImageConfig = serde_json::from_slice(&config).unwrap();
    assert_eq!(config.config.user.as_deref(), Some("app"));
    assert!(
        client
            .head_blob(&repo, &resolved.manifest.layers[4].digest)
            .unwrap()
            == Some(959)
    );
    let missing = client
        .get_manifest(&reference(&reg.host(), "app:nope"))
        .unwrap_err();
    assert!(
        matches!(missing, RegistryError::NotFound { .. }),
        "{missing}"
    );
}

#[test]
fn pulls_debian_minbase_whose_manifest_has_no_media_type() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(
        &shared_image("debian-bookworm-minbase.oci.tar"),
        "debian:bookworm",
    );
    let client = reg.client();
    let r = reference(&reg.host(), "debian:bookworm");
    let resolved = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(resolved.manifest_digest.to_string(), DEBIAN_MANIFEST);
    assert_eq!(resolved.manifest_bytes.len(), 350);
    assert_eq!(resolved.manifest.config.digest.to_string(), DEBIAN_CONFIG);
    assert_eq!(resolved.manifest.layers[0].digest.to_string(), DEBIAN_LAYER);
    assert_eq!(
        pull_all_blobs(&client, &r.repo(), &resolved.manifest),
        403 + 51_105_517
    );
}

#[test]
fn basic_auth_accepts_the_right_password_and_names_the_registry_when_wrong() {
    let reg = Registry::start(Mode::Basic);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let r = reference(&reg.host(), "app:latest");
    let resolved = reg.client().resolve(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(resolved.manifest_digest.to_string(), APP_MANIFEST);

    let wrong = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::Explicit(Credential::basic(support::USER, "wrong-password")),
        ..reg.options()
    })
    .unwrap();
    let err = wrong.resolve(&r, &Platform::linux_amd64()).unwrap_err();
    assert!(
        matches!(err, RegistryError::Unauthorized { ref registry, .. } if *registry == reg.host()),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&reg.host()) && !text.contains("wrong-password"),
        "{text}"
    );

    let anonymous = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::Anonymous,
        ..reg.options()
    })
    .unwrap();
    let err = anonymous.get_manifest(&r).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
}

#[test]
fn credentials_are_read_from_a_docker_config_file() {
    let reg = Registry::start(Mode::Basic);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let config = reg.scratch().join("config.json");
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        support::USER,
        support::PASSWORD
    ));
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    let client = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::Files(vec![config]),
        ..reg.options()
    })
    .unwrap();
    let (_, _, digest) = client
        .get_manifest(&reference(&reg.host(), "app:latest"))
        .unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
}

#[test]
fn token_auth_pulls_and_pushes() {
    let reg = Registry::start(Mode::Token);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let client = reg.client();
    let r = reference(&reg.host(), "app:latest");
    let resolved = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(resolved.manifest_digest.to_string(), APP_MANIFEST);
    pull_all_blobs(&client, &r.repo(), &resolved.manifest);
    let issued_after_pull = reg.tokens_issued();
    assert!(issued_after_pull >= 1);

    // Push the same manifest under a new tag: needs a pull,push token.
    let dst = repo(&reg.host(), "app");
    let digest = client
        .put_manifest(&dst, "copy", &resolved.manifest_bytes, &resolved.media_type)
        .unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
    let mut tags = client.list_tags(&dst).unwrap();
    tags.sort();
    assert_eq!(tags, ["copy", "latest"]);
    // Blob pushes and a cross-repository mount (which needs pull on the source too).
    let config = &resolved.manifest.config;
    let other = repo(&reg.host(), "other/app");
    let mounted = client
        .upload_blob(
            &other,
            &config.digest,
            config.size,
            std::io::empty(),
            UploadMode::Auto,
            Some("app"),
        )
        .unwrap();
    assert_eq!(mounted, UploadOutcome::Mounted);
    let blob = b"pushed with a token";
    let d = Digest::sha256_of(blob);
    let pushed = client.upload_blob(
        &other,
        &d,
        blob.len() as u64,
        &blob[..],
        UploadMode::Chunked(7),
        None,
    );
    assert_eq!(pushed.unwrap(), UploadOutcome::Uploaded);
    assert_eq!(
        client.head_blob(&other, &d).unwrap(),
        Some(blob.len() as u64)
    );
    // Tokens are cached per scope: pulling again asks for no new token.
    let before = reg.tokens_issued();
    client.get_manifest(&r).unwrap();
    assert_eq!(reg.tokens_issued(), before);

    let wrong = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::Explicit(Credential::basic(support::USER, "nope")),
        ..reg.options()
    })
    .unwrap();
    let err = wrong.get_manifest(&r).unwrap_err();
    assert!(
        matches!(err, RegistryError::Unauthorized { ref registry, .. } if *registry == reg.host()),
        "{err}"
    );
}

#[test]
fn tls_works_with_the_generated_ca_and_fails_without_it() {
    let reg = Registry::start(Mode::Tls);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let r = reference(&reg.host(), "app:latest");
    let (_, _, digest) = reg.client().get_manifest(&r).unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
    let localhost = Reference::parse(&format!("localhost:{}/app:latest", reg.addr.port())).unwrap();
    assert_eq!(
        reg.client().get_manifest(&localhost).unwrap().2.to_string(),
        APP_MANIFEST
    );

    let no_ca = RegistryClient::new(RegistryOptions {
        ca_certs: vec![],
        ..reg.options()
    })
    .unwrap();
    let err = no_ca.get_manifest(&r).unwrap_err();
    assert!(
        matches!(err, RegistryError::Tls { .. }),
        "expected a TLS error, got {err:?}"
    );
    // Listing the host as insecure skips certificate checks.
    let insecure = RegistryClient::new(RegistryOptions {
        ca_certs: vec![],
        insecure_registries: vec![reg.host()],
        ..reg.options()
    })
    .unwrap();
    assert_eq!(
        insecure.get_manifest(&r).unwrap().2.to_string(),
        APP_MANIFEST
    );
}

#[test]
fn plain_http_is_refused_for_remote_hosts_without_connecting() {
    let client = RegistryClient::new(RegistryOptions {
        plain_http: true,
        credentials: CredentialSource::Anonymous,
        ..RegistryOptions::default()
    })
    .unwrap();
    let started = Instant::now();
    let err = client
        .get_manifest(&Reference::parse("registry.example.invalid/a:1").unwrap())
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::PlainHttpRefused { .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn server_errors_are_retried_until_success() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let proxy = FaultProxy::start(
        reg.addr,
        Fault::FailFirst {
            count: 2,
            status: 500,
            retry_after: None,
        },
    );
    let client = RegistryClient::new(reg.options()).unwrap();
    let (_, _, digest) = client
        .get_manifest(&reference(&proxy.host(), "app:latest"))
        .unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
    let manifest_requests = proxy
        .seen()
        .iter()
        .filter(|s| s.path.contains("/manifests/"))
        .count();
    // The /v2/ probe took the first failure; the manifest was asked for twice.
    assert_eq!(manifest_requests, 2, "{:?}", proxy.seen());
}

#[test]
fn rate_limits_are_retried_after_the_retry_after_delay() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    // Let the probe through first: it is one request.
    let proxy = FaultProxy::start(
        reg.addr,
        Fault::FailFirst {
            count: 2,
            status: 429,
            retry_after: Some(1),
        },
    );
    let client = reg.client();
    let started = Instant::now();
    let (_, _, digest) = client
        .get_manifest(&reference(&proxy.host(), "app:latest"))
        .unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[test]
fn retries_are_bounded() {
    let reg = Registry::start(Mode::Anonymous);
    let proxy = FaultProxy::start(
        reg.addr,
        Fault::FailFirst {
            count: 1000,
            status: 503,
            retry_after: None,
        },
    );
    let client = RegistryClient::new(RegistryOptions {
        max_attempts: 3,
        ..reg.options()
    })
    .unwrap();
    let err = client
        .get_manifest(&reference(&proxy.host(), "app:latest"))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Status { status: 503, .. }),
        "{err}"
    );
    let manifest_requests = proxy
        .seen()
        .iter()
        .filter(|s| s.path.contains("/manifests/"))
        .count();
    assert_eq!(manifest_requests, 3);
}

#[test]
fn a_corrupted_blob_fails_with_a_digest_mismatch() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let proxy = FaultProxy::start(reg.addr, Fault::CorruptBlobs);
    let client = reg.client();
    let r = reference(&proxy.host(), "app:latest");
    let resolved = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    let mut reader = client
        .get_blob(&r.repo(), &resolved.manifest.layers[4])
        .unwrap();
    let err = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    let err = client
        .get_blob_bytes(&r.repo(), &resolved.manifest.config, 1 << 20)
        .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

#[test]
fn blob_redirects_to_another_host_do_not_carry_credentials() {
    let reg = Registry::start(Mode::Basic);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            support::USER,
            support::PASSWORD
        ))
    );
    // "Storage": another host name (localhost, not 127.0.0.1) that signs requests itself.
    let storage = FaultProxy::start(reg.addr, Fault::AddAuthorization(basic));
    let front = FaultProxy::start(
        reg.addr,
        Fault::RedirectBlobs {
            to: format!("localhost:{}", storage.addr.port()),
        },
    );
    let client = reg.client();
    let r = reference(&front.host(), "app:latest");
    let resolved = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    let total = pull_all_blobs(&client, &r.repo(), &resolved.manifest);
    assert_eq!(
        total,
        1_958 + 2_879_918 + 570_744 + 861_977 + 1_524_259 + 959
    );
    let front_blobs: Vec<_> = front
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/blobs/"))
        .collect();
    assert_eq!(front_blobs.len(), 6);
    assert!(front_blobs.iter().all(|s| s.authorization.is_some()));
    let storage_seen = storage.seen();
    assert_eq!(storage_seen.len(), 6);
    assert!(
        storage_seen.iter().all(|s| s.authorization.is_none()),
        "{storage_seen:?}"
    );
}

/// Pushes app-multi's blobs and manifest with the client into `name`; returns the blobs.
fn push_app_multi(
    client: &RegistryClient,
    dst: &Repository,
) -> (HashMap<Digest, Vec<u8>>, Vec<u8>) {
    let (blobs, _) = oci_archive_blobs(&shared_image("app-multi.oci.tar"));
    let manifest_bytes = blobs[&APP_MANIFEST.parse::<Digest>().unwrap()].clone();
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).unwrap();
    for (i, d) in std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .enumerate()
    {
        // Alternate monolithic and chunked uploads; small chunks exercise several PATCHes.
        let mode = if i % 2 == 0 {
            UploadMode::Monolithic
        } else {
            UploadMode::Chunked(256 * 1024)
        };
        let bytes = &blobs[&d.digest];
        let outcome = client
            .upload_blob(dst, &d.digest, d.size, &bytes[..], mode, None)
            .unwrap();
        assert_eq!(outcome, UploadOutcome::Uploaded);
    }
    let digest = client
        .put_manifest(dst, "v1", &manifest_bytes, media_type::OCI_MANIFEST)
        .unwrap();
    assert_eq!(digest.to_string(), APP_MANIFEST);
    (blobs, manifest_bytes)
}

#[test]
fn pushed_images_are_readable_by_skopeo_and_umoci() {
    let reg = Registry::start(Mode::Anonymous);
    let client = reg.client();
    let dst = repo(&reg.host(), "pushed/app");
    let (blobs, manifest_bytes) = push_app_multi(&client, &dst);

    // Uploading again is skipped; mounting into another repository needs no bytes.
    let config: Digest = APP_CONFIG.parse().unwrap();
    let config_bytes = &blobs[&config];
    let again = client.upload_blob(
        &dst,
        &config,
        config_bytes.len() as u64,
        &config_bytes[..],
        UploadMode::Auto,
        None,
    );
    assert_eq!(again.unwrap(), UploadOutcome::Exists);
    let other = repo(&reg.host(), "mounted/app");
    let mounted = client
        .upload_blob(
            &other,
            &config,
            config_bytes.len() as u64,
            std::io::empty(),
            UploadMode::Auto,
            Some("pushed/app"),
        )
        .unwrap();
    assert_eq!(mounted, UploadOutcome::Mounted);
    assert_eq!(
        client.head_blob(&other, &config).unwrap(),
        Some(config_bytes.len() as u64)
    );

    // A reader that lies about the content is not committed.
    let bogus = b"not the config".to_vec();
    let err = client
        .upload_blob(
            &dst,
            &Digest::sha256_of(b"other"),
            bogus.len() as u64,
            &bogus[..],
            UploadMode::Monolithic,
            None,
        )
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");

    // Tags with pagination: push a few more tags and list them through Link headers.
    for t in ["v2", "v3", "latest"] {
        client
            .put_manifest(&dst, t, &manifest_bytes, media_type::OCI_MANIFEST)
            .unwrap();
    }
    let mut tags = client.list_tags_paged(&dst, Some(1)).unwrap();
    tags.sort();
    assert_eq!(tags, ["latest", "v1", "v2", "v3"]);

    let inspect = support::skopeo(&[
        "inspect".into(),
        "--tls-verify=false".into(),
        "--raw".into(),
        format!("docker://{}/pushed/app:v1", reg.host()),
    ]);
    assert_eq!(inspect.as_bytes(), &manifest_bytes[..]);
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    support::skopeo(&[
        "copy".into(),
        "--quiet".into(),
        "--src-tls-verify=false".into(),
        format!("docker://{}/pushed/app:v1", reg.host()),
        format!("oci:{}:v1", layout.display()),
    ]);
    let bundle = out.path().join("bundle");
    let umoci = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:v1", layout.display()))
        .arg(&bundle)
        .output()
        .expect("umoci must be installed");
    assert!(
        umoci.status.success(),
        "umoci: {}",
        String::from_utf8_lossy(&umoci.stderr)
    );
    assert!(bundle.join("rootfs/usr/local/bin/gosvc").is_file());
    assert!(
        !bundle.join("rootfs/srv/app/.env").exists(),
        "the whiteout must hide .env"
    );
}

#[test]
fn platform_is_selected_from_a_pushed_index() {
    let reg = Registry::start(Mode::Anonymous);
    let client = reg.client();
    let dst = repo(&reg.host(), "multi");
    let (_, amd64_manifest) = push_app_multi(&client, &dst);

    // An arm64 twin: same layers, a config that says arm64/v8.
    let mut config: serde_json::Value = serde_json::from_slice(
        &client
            .get_blob_bytes(&dst, &descriptor_for(&client, &dst, APP_CONFIG), 1 << 20)
            .unwrap(),
    )
    .unwrap();
    config["architecture"] = "arm64".into();
    config["variant"] = "v8".into();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_desc = descriptor(media_type::OCI_CONFIG, &config_bytes);
    client
        .upload_blob(
            &dst,
            &config_desc.digest,
            config_desc.size,
            &config_bytes[..],
            UploadMode::Auto,
            None,
        )
        .unwrap();
    let mut arm: Manifest = serde_json::from_slice(&amd64_manifest).unwrap();
    arm.config = config_desc;
    let arm_bytes = serde_json::to_vec(&arm).unwrap();
    let arm_digest = client
        .put_manifest(
            &dst,
            &Digest::sha256_of(&arm_bytes).to_string(),
            &arm_bytes,
            media_type::OCI_MANIFEST,
        )
        .unwrap();

    let mut amd = descriptor(media_type::OCI_MANIFEST, &amd64_manifest);
    amd.platform = Some(Platform::linux_amd64());
    let mut armd = descriptor(media_type::OCI_MANIFEST, &arm_bytes);
    armd.platform = Some(Platform::parse("linux/arm64/v8").unwrap());
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.into()),
        artifact_type: None,
        manifests: vec![amd, armd],
        subject: None,
        annotations: Default::default(),
    };
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = client
        .put_manifest(&dst, "latest", &index_bytes, media_type::OCI_INDEX)
        .unwrap();

    let r = reference(&reg.host(), "multi:latest");
    let amd = client.resolve(&r, &Platform::linux_amd64()).unwrap();
    assert_eq!(amd.index_digest.as_ref(), Some(&index_digest));
    assert_eq!(amd.manifest_digest.to_string(), APP_MANIFEST);
    let arm = client
        .resolve(&r, &Platform::parse("linux/arm64").unwrap())
        .unwrap();
    assert_eq!(arm.manifest_digest, arm_digest);
    assert_eq!(arm.manifest.config.digest, Digest::sha256_of(&config_bytes));
    let err = client
        .resolve(&r, &Platform::parse("linux/s390x").unwrap())
        .unwrap_err();
    match &err {
        RegistryError::NoMatchingPlatform { available, .. } => {
            assert_eq!(available, &["linux/amd64", "linux/arm64/v8"]);
        }
        other => panic!("expected NoMatchingPlatform, got {other}"),
    }
    assert!(
        err.to_string().contains("linux/amd64, linux/arm64/v8"),
        "{err}"
    );
}

fn descriptor_for(client: &RegistryClient, repo: &Repository, digest: &str) -> Descriptor {
    let d: Digest = digest.parse().unwrap();
    let size = client.head_blob(repo, &d).unwrap().unwrap();
    Descriptor {
        media_type: media_type::OCI_CONFIG.into(),
        digest: d,
        size,
        ..descriptor("", b"")
    }
}

#[test]
fn referrers_fall_back_to_the_digest_tag_when_the_api_is_missing() {
    let reg = Registry::start(Mode::Anonymous);
    let client = reg.client();
    let dst = repo(&reg.host(), "signed");
    push_app_multi(&client, &dst);
    let subject: Digest = APP_MANIFEST.parse().unwrap();
    assert!(client.referrers(&dst, &subject, None).unwrap().is_empty());

    // An artifact manifest that refers to the image.
    let empty = b"{}";
    let payload = b"signature payload";
    for blob in [&empty[..], &payload[..]] {
        let d = Digest::sha256_of(blob);
        client
            .upload_blob(&dst, &d, blob.len() as u64, blob, UploadMode::Auto, None)
            .unwrap();
    }
    let mut subject_desc = descriptor(media_type::OCI_MANIFEST, b"");
    subject_desc.digest = subject.clone();
    subject_desc.size = 1_033;
    let artifact = Manifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: Some("application/vnd.customs.test".into()),
        config: descriptor(media_type::OCI_EMPTY, empty),
        layers: vec![descriptor("application/octet-stream", payload)],
        subject: Some(subject_desc),
        annotations: Default::default(),
    };
    let artifact_bytes = serde_json::to_vec(&artifact).unwrap();
    let artifact_digest = Digest::sha256_of(&artifact_bytes);
    client
        .put_manifest(
            &dst,
            &artifact_digest.to_string(),
            &artifact_bytes,
            media_type::OCI_MANIFEST,
        )
        .unwrap();
    let mut entry = descriptor(media_type::OCI_MANIFEST, &artifact_bytes);
    entry.artifact_type = Some("application/vnd.customs.test".into());
    client
        .add_to_referrers_fallback(&dst, &subject, entry.clone())
        .unwrap();
    // Adding it twice keeps one entry.
    client
        .add_to_referrers_fallback(&dst, &subject, entry)
        .unwrap();

    let found = client.referrers(&dst, &subject, None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].digest, artifact_digest);
    assert_eq!(
        client
            .referrers(&dst, &subject, Some("application/vnd.customs.test"))
            .unwrap()
            .len(),
        1
    );
    assert!(client
        .referrers(&dst, &subject, Some("application/other"))
        .unwrap()
        .is_empty());
    let tags = client.list_tags(&dst).unwrap();
    assert!(
        tags.contains(&RegistryClient::referrers_tag(&subject)),
        "{tags:?}"
    );
}
