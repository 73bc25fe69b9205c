//! Test harness: runs Debian's `docker-registry` on 127.0.0.1 (anonymous, htpasswd Basic,
//! token auth with an in-process token server, or TLS with a generated CA), pushes images
//! with skopeo, and offers a fault-injecting proxy. Every process started here is killed
//! when its handle is dropped. Tests use it as `use customs_testkit::registry as support;`.
#![allow(dead_code)]

pub mod proxy;
pub mod token;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use customs_registry::{CredentialSource, RegistryClient, RegistryOptions};

/// The user name the Basic and Token modes accept.
pub const USER: &str = "tester";
/// The password the Basic and Token modes accept.
pub const PASSWORD: &str = "correct-horse-battery";

/// A shared test image, read-only.
pub fn shared_image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

/// How the registry authenticates and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No authentication, plain HTTP.
    Anonymous,
    /// htpasswd Basic auth with [`USER`]/[`PASSWORD`].
    Basic,
    /// Bearer tokens from an in-process token server that accepts [`USER`]/[`PASSWORD`].
    Token,
    /// HTTPS with a certificate from a generated CA ([`Registry::ca_cert`]); anonymous.
    Tls,
}

/// A running `docker-registry`; killed on drop.
pub struct Registry {
    child: Child,
    /// Where the registry listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// How it authenticates.
    pub mode: Mode,
    /// The CA certificate (PEM file) that signed the TLS certificate, in TLS mode.
    pub ca_cert: Option<PathBuf>,
    token_server: Option<token::TokenServer>,
    dir: tempfile::TempDir,
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    /// Starts `docker-registry` in `mode` and waits until it answers; panics when it cannot.
    pub fn start(mode: Mode) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let root = dir.path();
        let mut auth = String::new();
        let mut tls = String::new();
        let mut ca_cert = None;
        let mut token_server = None;
        match mode {
            Mode::Anonymous => {}
            Mode::Basic => {
                let hash = bcrypt::hash(PASSWORD, 5).unwrap();
                std::fs::write(root.join("htpasswd"), format!("{USER}:{hash}\n")).unwrap();
                auth = format!(
                    "auth:\n  htpasswd:\n    realm: customs-test\n    path: {}\n",
                    root.join("htpasswd").display()
                );
            }
            Mode::Token => {
                let server = token::TokenServer::start(USER, PASSWORD);
                std::fs::write(root.join("token-signer.pem"), server.certificate_pem()).unwrap();
                auth = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.realm(),
                    token::SERVICE,
                    token::ISSUER,
                    root.join("token-signer.pem").display()
                );
                token_server = Some(server);
            }
            Mode::Tls => {
                let (ca_pem, cert_pem, key_pem) = tls_certificates();
                std::fs::write(root.join("ca.pem"), ca_pem).unwrap();
                std::fs::write(root.join("server.pem"), cert_pem).unwrap();
                std::fs::write(root.join("server.key"), key_pem).unwrap();
                tls = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    root.join("server.pem").display(),
                    root.join("server.key").display()
                );
                ca_cert = Some(root.join("ca.pem"));
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: customs-test-secret\n{tls}{auth}",
            root.join("storage").display()
        );
        std::fs::write(root.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(root.join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(root.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry must be installed (Debian package docker-registry)");
        let mut reg = Registry {
            child,
            addr,
            mode,
            ca_cert,
            token_server,
            dir,
        };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited with {status}: {}", self.log());
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) {
                if self.mode == Mode::Tls {
                    return;
                }
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not become ready: {}", self.log());
    }

    /// What the registry has written to its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A directory that lives as long as the registry, for test files.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// The credentials this registry accepts (none in anonymous and TLS modes).
    pub fn credentials(&self) -> CredentialSource {
        match self.mode {
            Mode::Basic | Mode::Token => {
                CredentialSource::Explicit(customs_registry::Credential::basic(USER, PASSWORD))
            }
            _ => CredentialSource::Anonymous,
        }
    }

    /// Client options that work against this registry, with fast retries.
    pub fn options(&self) -> RegistryOptions {
        RegistryOptions {
            credentials: self.credentials(),
            ca_certs: self.ca_cert.iter().cloned().collect(),
            retry_delay: Duration::from_millis(20),
            ..RegistryOptions::default()
        }
    }

    /// A client configured by [`Registry::options`].
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(self.options()).expect("client")
    }

    /// Token requests the token server answered so far (tokens issued).
    pub fn tokens_issued(&self) -> usize {
        self.token_server.as_ref().map_or(0, |t| t.issued())
    }

    /// Pushes an `oci-archive:` image with skopeo, keeping its digests, to `dest`
    /// (`repo:tag` on this registry).
    pub fn push_oci_archive(&self, archive: &Path, dest: &str) {
        let mut args = vec![
            "copy".to_string(),
            "--quiet".into(),
            "--preserve-digests".into(),
            "--dest-tls-verify=false".into(),
        ];
        if matches!(self.mode, Mode::Basic | Mode::Token) {
            args.push(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        args.push(format!("oci-archive:{}", archive.display()));
        args.push(format!("docker://{}/{dest}", self.host()));
        skopeo(&args);
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs skopeo with an accept-anything policy; panics with its output on failure.
pub fn skopeo<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let (ok, output) = skopeo_status(args);
    assert!(ok, "skopeo {args:?} failed: {output}");
    output
}

/// Runs skopeo with an accept-anything policy, a fresh HOME (so no blob cache of an earlier run
/// is reused) and no standard input: whether it succeeded, and its standard output then
/// standard error.
pub fn skopeo_status<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let out = Command::new("skopeo")
        .arg(format!("--policy={}", policy.display()))
        .args(args)
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("skopeo must be installed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A CA, and a server certificate it signed for `127.0.0.1` and `localhost`: (CA PEM,
/// server certificate PEM, server key PEM).
pub fn tls_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "customs test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}
