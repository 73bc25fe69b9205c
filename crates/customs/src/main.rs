//! The `customs` command line: argument parsing and wiring only. Each subcommand lives in
//! `cmd/` and calls into the library crates.

mod clock;
mod cmd;
mod progress;
mod warnings;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "customs",
    version,
    about = "Keeps container images honest: inspect, inventory, scan, sign, verify and audit."
)]
struct Cli {
    /// Log more (repeat for even more). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print secrets found in image configs and history unmasked. Honoured only when the
    /// output is a terminal (never with -o or into a pipe or file).
    #[arg(long, global = true)]
    show_secrets: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show an image's manifest, config, history and layers.
    Inspect(cmd::inspect::Args),
    /// List every OS and language package in an image (SBOM).
    Sbom(cmd::sbom::Args),
    /// Copy an image to an OCI layout or a registry, verifying every blob.
    Copy(cmd::copy::Args),
    /// Audit an image against container best practice.
    Audit(cmd::audit::Args),
    /// Manage the layer cache.
    #[command(subcommand)]
    Cache(cmd::cache::Command),
    /// Scan an image (or an SBOM) for known vulnerabilities.
    Scan(cmd::scan::Args),
    /// Manage the vulnerability database.
    #[command(subcommand)]
    Db(cmd::db::Command),
    /// Manage signing keys (cosign-compatible).
    #[command(subcommand)]
    Key(cmd::key::Command),
    /// Sign an image with a key, as cosign does.
    Sign(cmd::sign::Args),
    /// Verify an image's signatures (key or keyless), offline.
    Verify(cmd::verify::Args),
    /// Attach a signed in-toto attestation to an image.
    Attest(cmd::attest::Args),
    /// Verify an image's attestations with a key.
    VerifyAttestation(cmd::attest::VerifyArgs),
    /// Verify a standalone Sigstore bundle for a file or sha256 digest, offline.
    VerifyBundle(cmd::verify_bundle::Args),
    /// Sign a file with a key, as cosign sign-blob does (streamed; v0.3 bundle).
    SignBlob(cmd::blob::SignArgs),
    /// Verify a file's signature bundle (key or keyless), offline.
    VerifyBlob(cmd::blob::VerifyArgs),
    /// Attest a file with a key: an in-toto statement in a DSSE bundle (v0.3).
    AttestBlob(cmd::blob::AttestArgs),
    /// Verify a file's attestation bundle (key or keyless), offline.
    VerifyBlobAttestation(cmd::blob::VerifyAttestationArgs),
    /// Show every signature, attestation, SBOM and referrer attached to an image.
    Tree(cmd::supply_chain::TreeArgs),
    /// Print an image's signatures, attestations or SBOMs as stored.
    #[command(subcommand)]
    Download(cmd::supply_chain::DownloadCommand),
    /// Print where an image's signatures (or attestations, SBOMs) are stored.
    Triangulate(cmd::supply_chain::TriangulateArgs),
    /// Check the image references of Dockerfiles, Kubernetes manifests and compose files.
    Lint(cmd::lint::Args),
    /// Pin the image references of Dockerfiles, Kubernetes manifests and compose files to
    /// digests, in place.
    Pin(cmd::pin::Args),
    /// Registry tools.
    #[command(subcommand)]
    Registry(cmd::registry::Command),
    /// Check an image against a policy file (the CI gate): vulnerabilities, signatures,
    /// attestations, registries, age and audit. Exit 1 on any violation.
    Check(cmd::check::Args),
    /// Write a self-contained HTML report of an image: verdict, findings, layers, packages,
    /// audit.
    Report(cmd::report::Args),
    /// Show what changed between two images: packages, findings, files and config.
    Diff(cmd::diff::Args),
    /// Run an OCI registry that gates what is pushed to it (see docs/serve.md).
    Serve(cmd::serve::Args),
}

impl Command {
    /// Whether the command writes its report to a file (`-o`) rather than standard output.
    fn writes_file(&self) -> bool {
        match self {
            Command::Sbom(a) => a.output.is_some(),
            Command::Audit(a) => a.output.is_some(),
            Command::Scan(a) => a.output.is_some(),
            Command::Check(a) => a.output.is_some(),
            Command::Report(_) => true,
            Command::Diff(a) => a.output.is_some(),
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    quiet_when_the_reader_has_gone();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .init();
    if cli.show_secrets {
        let to_terminal = std::io::stdout().is_terminal() && !cli.command.writes_file();
        if !to_terminal {
            eprintln!("note: --show-secrets ignored: the output is not a terminal");
        }
        customs_audit::redact::reveal(to_terminal);
    }
    if let Err(e) = clock::init() {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Sbom(a) => cmd::sbom::run(a),
        Command::Cache(c) => cmd::cache::run(c),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Db(c) => cmd::db::run(c),
        Command::Copy(a) => cmd::copy::run(a),
        Command::Key(c) => cmd::key::run(c),
        Command::Sign(a) => cmd::sign::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Attest(a) => cmd::attest::run(a),
        Command::VerifyAttestation(a) => cmd::attest::verify(a),
        Command::VerifyBundle(a) => cmd::verify_bundle::run(a),
        Command::SignBlob(a) => cmd::blob::sign(a),
        Command::VerifyBlob(a) => cmd::blob::verify(a),
        Command::AttestBlob(a) => cmd::blob::attest(a),
        Command::VerifyBlobAttestation(a) => cmd::blob::verify_attestation(a),
        Command::Tree(a) => cmd::supply_chain::tree(a),
        Command::Download(c) => cmd::supply_chain::download(c),
        Command::Triangulate(a) => cmd::supply_chain::triangulate(a),
        Command::Lint(a) => cmd::lint::run(a),
        Command::Pin(a) => cmd::pin::run(a),
        Command::Registry(c) => cmd::registry::run(c),
        Command::Check(a) => cmd::check::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Serve(a) => cmd::serve::run(a),
    };
    match result {
        Ok(code) => code,
        Err(_) if stdout_reader_gone() => ExitCode::from(PIPE_CLOSED),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The exit code of a command whose output pipe was closed by its reader: 128 + SIGPIPE, what
/// the shell reports for its own tools (`customs sbom x | head`).
const PIPE_CLOSED: u8 = 141;

/// SIGPIPE stays ignored (Rust's default): a registry or server that resets a connection
/// while customs writes to it is an error the command reports, not a silent death by signal.
/// Output into a pipe whose reader has gone still ends quietly, as command-line tools do: a
/// print that fails there (a panic in `println!`) or a command that fails while standard
/// output is such a pipe exits with [`PIPE_CLOSED`] and says nothing.
fn quiet_when_the_reader_has_gone() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if stdout_reader_gone() {
            std::process::exit(PIPE_CLOSED.into());
        }
        report(info);
    }));
}

/// Whether standard output is a pipe whose reading end is closed (poll reports an error on
/// the writing end of such a pipe, and nothing on a terminal, a file or an open pipe).
fn stdout_reader_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd and a zero timeout; poll only reads and writes `fd`.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready == 1 && fd.revents & libc::POLLERR != 0
}
