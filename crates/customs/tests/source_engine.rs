//! Local engines as sources, end to end. The harness starts a real Podman API service
//! (`podman system service`) and a real Docker daemon (Debian's `docker.io`), each on a unix
//! socket in a temporary directory with vfs storage and its own root, so nothing touches the
//! host's image stores; loads the shared images into both with their CLIs (setup only), and
//! then customs reads them by name over the APIs, and from Podman's store on disk
//! (`containers-storage:`). Packages, OS and findings equal those read from the archives
//! themselves, layer attribution included (the engines keep diff-ids). A
//! bare name follows `--image-src`; a missing image or engine is a clear error. Both
//! services are stopped by Drop guards, also when an assertion fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const IMAGES: &[&str] = &[
    "alpine-3.10.tar",
    "alpine-3.11.tar.gz",
    "app-multi.oci.tar",
    "debian-bookworm-minbase.oci.tar",
];

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/install-deps installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The name `podman load` / `docker load` reports for what it loaded.
fn loaded_name(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rfind(|l| l.starts_with("Loaded image"))
        .unwrap_or_else(|| panic!("no 'Loaded image' in {text:?}"));
    line.split_once(": ").unwrap().1.trim().to_string()
}

/// `GET /_ping` answers 200 on the socket.
fn ping(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
}

fn wait_for(sock: &Path, child: &mut Child, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if ping(sock) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the engine exited ({status}) before answering: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "the engine did not answer on {} within 60 s: {}",
        sock.display(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A process this test started, stopped (by its own handle) when dropped.
struct Service {
    child: Child,
    name: &'static str,
}

impl Drop for Service {
    fn drop(&mut self) {
        // SIGTERM first so the engine cleans up its own children, then make sure.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Podman with its own storage: root, runroot, vfs, and config files in `dir`.
struct Podman {
    dir: PathBuf,
    sock: PathBuf,
    _service: Service,
}

impl Podman {
    fn command(dir: &Path) -> Command {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("runroot"))
            .args(["--storage-driver", "vfs"])
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", dir.join("registries.conf"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"));
        c
    }

    fn start(dir: PathBuf) -> Podman {
        for d in ["root", "runroot", "run", "config", "data"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(
            dir.join("containers.conf"),
            "[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                dir.join("root").display(),
                dir.join("runroot").display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        let sock = dir.join("podman.sock");
        let log = dir.join("service.log");
        let mut child = Podman::command(&dir)
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", sock.display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("podman (scripts/install-deps installs it)");
        wait_for(&sock, &mut child, &log);
        Podman {
            dir,
            sock,
            _service: Service {
                child,
                name: "podman system service",
            },
        }
    }

    fn cli(&self) -> Command {
        Podman::command(&self.dir)
    }
}

/// dockerd with its own data root, exec root (and so its own containerd), no networking
/// changes on the host (no iptables, no bridge) and vfs storage.
struct Docker {
    sock: PathBuf,
    _service: Service,
}

impl Docker {
    fn start(dir: PathBuf) -> Docker {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        let sock = dir.join("docker.sock");
        let log = dir.join("dockerd.log");
        let mut child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("dockerd (Debian's docker.io; scripts/install-deps installs it)");
        wait_for(&sock, &mut child, &log);
        Docker {
            sock,
            _service: Service {
                child,
                name: "dockerd",
            },
        }
    }

    fn cli(&self) -> Command {
        // Debian's client matches Debian's daemon; any other on PATH negotiates down.
        let bin = if Path::new("/usr/bin/docker").exists() {
            "/usr/bin/docker"
        } else {
            "docker"
        };
        let mut c = Command::new(bin);
        c.arg("-H").arg(format!("unix://{}", self.sock.display()));
        c
    }
}

struct Env<'a> {
    tmp: &'a Path,
    docker: String,
    podman: String,
}

impl Env<'_> {
    fn customs(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_customs"))
            .args(args)
            .env("DOCKER_HOST", &self.docker)
            .env("CONTAINER_HOST", &self.podman)
            .env("CUSTOMS_CACHE_DIR", self.tmp.join("cache"))
            .env("CUSTOMS_DB", self.tmp.join("db/customs.db"))
            .env("CUSTOMS_MAX_DB_AGE", "100000d")
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.customs(args);
        assert!(
            out.status.success(),
            "customs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// `alpine-3.10.tar` → `alpine-3.10`, `app-multi.oci.tar` → `app-multi`.
fn stem(image: &str) -> &str {
    let s = image.split(".tar").next().unwrap();
    s.split(".oci").next().unwrap()
}

/// What names the source rather than the image content.
fn content(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("subject");
        m.remove("created");
    }
    v
}

#[test]
fn podman_and_docker_images_read_by_name_equal_the_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let podman = Podman::start(tmp.join("podman"));
    let docker = Docker::start(tmp.join("docker"));

    let mut names = Vec::new();
    for (i, image) in IMAGES.iter().enumerate() {
        let archive = Path::new(SHARED).join("images").join(image);
        let name = format!("localhost/customs-test/{}-{i}:v1", stem(image));
        // Podman 4.3 reads OCI archives and plain docker archives, not gzip ones.
        let for_podman = if image.ends_with(".gz") {
            let plain = tmp.join(format!("{i}.tar"));
            let out = run(Command::new("gzip").arg("-dc").arg(&archive));
            std::fs::write(&plain, out.stdout).unwrap();
            plain
        } else {
            archive.clone()
        };
        let loaded = loaded_name(&run(podman.cli().arg("load").arg("-i").arg(&for_podman)));
        run(podman.cli().args(["tag", &loaded, &name]));
        // Docker 20.10 loads docker archives only: skopeo converts the OCI ones (layers
        // unchanged, so diff-ids are too).
        let for_docker = if image.contains(".oci.") {
            let converted = tmp.join(format!("{i}-docker.tar"));
            run(Command::new("skopeo")
                .args(["copy", "-q"])
                .arg(format!("oci-archive:{}", archive.display()))
                .arg(format!("docker-archive:{}:{name}", converted.display())));
            converted
        } else {
            archive.clone()
        };
        let loaded = loaded_name(&run(docker.cli().arg("load").arg("-i").arg(&for_docker)));
        if loaded != name {
            run(docker.cli().args(["tag", &loaded, &name]));
        }
        names.push((archive, name));
    }

    let env = Env {
        tmp,
        docker: format!("unix://{}", docker.sock.display()),
        podman: format!("unix://{}", podman.sock.display()),
    };
    run(Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", "--db"])
        .arg(tmp.join("db/customs.db"))
        .args([format!("{SHARED}/vulndata"), format!("{SHARED}/distro-osv")]));

    for (archive, name) in &names {
        let archive = archive.to_str().unwrap();
        let want_sbom = content(env.json(&["sbom", "-f", "json", archive]));
        let want_scan = content(env.json(&["scan", "-f", "json", archive]));
        // containers-storage: reads Podman's store on disk, with no service involved.
        let store = format!(
            "[vfs@{}+{}]",
            podman.dir.join("root").display(),
            podman.dir.join("runroot").display()
        );
        for transport in ["podman", "docker-daemon", "docker", "containers-storage"] {
            let spec = if transport == "containers-storage" {
                store.as_str()
            } else {
                ""
            };
            let target = format!("{transport}:{spec}{name}");
            let sbom = env.json(&["sbom", "-f", "json", &target]);
            let shown = if transport == "docker" {
                "docker-daemon"
            } else {
                transport
            };
            assert_eq!(
                sbom["subject"]["name"].as_str().unwrap(),
                format!("{shown}:{name}"),
            );
            let sbom = content(sbom);
            assert!(!sbom["packages"].as_array().unwrap().is_empty(), "{target}");
            assert_eq!(
                sbom["packages"], want_sbom["packages"],
                "{target}: packages"
            );
            assert_eq!(sbom, want_sbom, "{target}: sbom");
            let scan = content(env.json(&["scan", "-f", "json", &target]));
            assert_eq!(
                scan["findings"], want_scan["findings"],
                "{target}: findings"
            );
        }
    }

    // A bare name: the local engines in order, then the registry.
    let (_, alpine) = &names[0];
    let subject = |args: &[&str]| {
        env.json(args)["subject"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        subject(&["sbom", "-f", "json", alpine]),
        format!("docker-daemon:{alpine}")
    );
    assert_eq!(
        subject(&["sbom", "-f", "json", "--image-src", "podman,docker", alpine]),
        format!("podman:{alpine}")
    );
    // An engine that is not running is skipped.
    let no_docker = Env {
        tmp,
        docker: format!("unix://{}", tmp.join("absent.sock").display()),
        podman: env.podman.clone(),
    };
    assert_eq!(
        no_docker.json(&["sbom", "-f", "json", alpine])["subject"]["name"],
        format!("podman:{alpine}")
    );
    // Named nowhere: one error naming every source tried.
    let out = env.customs(&[
        "sbom",
        "--image-src",
        "docker,podman",
        "localhost/customs-test/absent:v1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("docker has no image") && err.contains("podman has no image"),
        "{err}"
    );
    let out = no_docker.customs(&["sbom", &format!("docker-daemon:{alpine}")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not reachable"),
        "{err}"
    );
    let out = env.customs(&["sbom", "--image-src", "nope", alpine]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--image-src"));
    let out = Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["sbom", &format!("docker-daemon:{alpine}")])
        .env("DOCKER_HOST", "tcp://127.0.0.1:2375")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("only unix://"),
        "{err}"
    );
}
