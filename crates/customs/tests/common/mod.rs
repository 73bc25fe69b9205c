//! What several CLI tests share: the `customs` binary under test run the way a user runs it,
//! the real data in `../shared`, a vulnerability database built once per test binary from it,
//! and a started `customs serve`.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_customs");

/// The shared data folder beside the checkout.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// A path inside `../shared`.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(SHARED).join(rel)
}

/// Runs customs in `dir` with `args`; key passwords come from `CUSTOMS_PASSWORD=pw`, and a
/// `COSIGN_PASSWORD` of the calling shell is not inherited.
pub fn customs(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .env("CUSTOMS_PASSWORD", "pw")
        .output()
        .unwrap()
}

/// Exit code, stdout and stderr of a run, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Standard output of a run that must succeed (given as the run or a reference to it).
pub fn ok(o: impl std::borrow::Borrow<Output>) -> String {
    let o = o.borrow();
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch folder of one test binary and the database built in it.
pub struct Fixture {
    pub dir: PathBuf,
    pub db: PathBuf,
}

/// Builds `customs.db` with `customs db import` from the named folders of `../shared`
/// (`vulndata`, `ratings`, `distro-osv`, …), in `CARGO_TARGET_TMPDIR/<name>`. Callers keep it in
/// a `OnceLock` so the build runs once per test binary.
pub fn db_fixture(name: &str, sources: &[&str]) -> Fixture {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("customs.db");
    let out = Command::new(env!("CARGO_BIN_EXE_customs"))
        .args(["db", "import", "--db"])
        .arg(&db)
        .args(sources.iter().map(|s| format!("{SHARED}/{s}")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Fixture { dir, db }
}

/// Runs `customs ARGS` (a `serve` command line) with its standard error in `log`, and waits
/// for its "listening on ADDR" line; returns the child and ADDR. Panics with the log when the
/// server exits first or has not started within 60 s. The caller kills and waits for the
/// child.
// The child is handed to the caller, who kills and waits for it.
#[allow(clippy::zombie_processes)]
pub fn spawn_serve<I, S>(args: I, log: &Path) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let file = std::fs::File::create(log).unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .find_map(|l| l.strip_prefix("customs serve: listening on "))
        {
            return (child, addr.trim().to_string());
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("customs serve did not start ({exited:?}): {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `customs serve` on a free loopback port with its files in `dir`; killed and waited for
/// when dropped.
pub struct Serve {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Serve {
    /// Writes `dir/serve.toml` (`listen = "127.0.0.1:0"`, `data_dir = dir/data`, then `extra`)
    /// and runs `customs VERBOSITY serve --config` on it, its log in `dir/serve.log`.
    pub fn start(dir: tempfile::TempDir, verbosity: &str, extra: &str) -> Serve {
        let p = dir.path();
        std::fs::write(
            p.join("serve.toml"),
            format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{extra}",
                p.join("data").display()
            ),
        )
        .unwrap();
        let config = p.join("serve.toml");
        let args: [&OsStr; 4] = [
            verbosity.as_ref(),
            "serve".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
        ];
        let (child, addr) = spawn_serve(args, &p.join("serve.log"));
        Serve { child, addr, dir }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let status = self.child.wait();
        // A failing test shows what the server said, and whether it had exited already.
        if std::thread::panicking() {
            eprintln!("customs serve ({status:?}) logged:\n{}", self.log());
        }
    }
}
