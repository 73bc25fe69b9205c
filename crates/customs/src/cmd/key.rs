//! `customs key generate`: a cosign-compatible key pair (`NAME.key`, an `ENCRYPTED SIGSTORE
//! PRIVATE KEY` with scrypt N=65536, and `NAME.pub`), plus the key password and private-key
//! loading that `sign` and `attest` share.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use customs_sign::keys::{self, PrivateKey, PublicKey};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Generate an encrypted P-256 key pair, as `cosign generate-key-pair` does. The password
    /// comes from CUSTOMS_PASSWORD or COSIGN_PASSWORD, else from a prompt (empty is allowed).
    Generate(GenerateArgs),
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Write PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub output_key_prefix: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Generate(args) => generate(args),
    }
}

fn with_extension(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let private_path = with_extension(&args.output_key_prefix, "key");
    let public_path = with_extension(&args.output_key_prefix, "pub");
    if !args.force {
        for p in [&private_path, &public_path] {
            if p.exists() {
                bail!(
                    "{} already exists; use --force to overwrite it",
                    p.display()
                );
            }
        }
    }
    let password = match keys::password_from_env() {
        Some(p) => p,
        None => {
            let first = prompt_password("Enter password for private key: ")?;
            let again = prompt_password("Enter password for private key again: ")?;
            if first != again {
                bail!("passwords do not match");
            }
            first
        }
    };
    let pair = keys::generate_key_pair(password.as_bytes()).context("generating the key pair")?;
    write_file(
        &private_path,
        pair.private_pem.as_bytes(),
        0o600,
        args.force,
    )?;
    write_file(&public_path, pair.public_pem.as_bytes(), 0o644, args.force)?;
    eprintln!("Private key written to {}", private_path.display());
    eprintln!("Public key written to {}", public_path.display());
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).mode(mode);
    if overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a password from the terminal (`/dev/tty`) without echo.
fn prompt_password(prompt: &str) -> Result<String> {
    use std::os::fd::AsRawFd;
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context(
            "no key password: set CUSTOMS_PASSWORD (or COSIGN_PASSWORD), or run on a terminal",
        )?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid descriptor.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let is_terminal = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if is_terminal {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is open and quiet is a termios copied from it.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let result = (|| -> std::io::Result<String> {
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = String::new();
        BufReader::new(&tty).read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    })();
    if is_terminal {
        // SAFETY: restores the settings read above on the same descriptor.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    result.context("reading the password from the terminal")
}

/// Loads and decrypts a cosign private key; the password comes from the environment or a
/// prompt.
pub fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading private key {}", path.display()))?;
    let password = match keys::password_from_env() {
        Some(p) => p,
        None => prompt_password("Enter password for private key: ")?,
    };
    keys::decrypt_private_key(&pem, password.as_bytes())
        .with_context(|| format!("loading private key {}", path.display()))
}

/// Loads a PEM public key.
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading public key {}", path.display()))?;
    PublicKey::from_pem(&pem).with_context(|| format!("loading public key {}", path.display()))
}

/// Parses `-a key=value` annotations.
pub fn parse_annotations(raw: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    raw.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("annotation {a:?} is not KEY=VALUE"),
        })
        .collect()
}
