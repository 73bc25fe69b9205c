//! Options shared by every command that opens an image: platform, registry TLS and
//! credentials.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use customs_image::{Image, OpenOptions, Platform};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImageArgs {
    /// Platform to select from a multi-platform image (os/arch[/variant]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Allow plain HTTP (and unverified TLS) for this registry host[:port]. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Extra CA certificate (PEM) to trust for registries. Repeatable.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Registry user name (the password is read from stdin with --password-stdin).
    #[arg(long)]
    pub username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

impl ImageArgs {
    pub fn open_options(&self) -> Result<OpenOptions> {
        let platform = Platform::parse(&self.platform).with_context(|| {
            format!(
                "invalid --platform {:?}; expected os/arch[/variant]",
                self.platform
            )
        })?;
        let mut opts = OpenOptions {
            platform: Some(platform),
            ..OpenOptions::default()
        };
        crate::cmd::image_args::registry_options(self, &mut opts)?;
        Ok(opts)
    }

    pub fn open(&self, target: &str) -> Result<Image> {
        let opts = self.open_options()?;
        Image::open_str(target, &opts).with_context(|| format!("opening {target}"))
    }
}

fn registry_options(args: &ImageArgs, opts: &mut OpenOptions) -> Result<()> {
    use customs_image::registry::{Credential, CredentialSource};
    if args.password_stdin && args.username.is_none() {
        bail!("--password-stdin needs --username");
    }
    let r = &mut opts.registry;
    r.insecure_registries = args.insecure_registry.clone();
    r.ca_certs = args.ca_cert.clone();
    r.platform = opts.platform.clone().unwrap_or_else(Platform::linux_amd64);
    if let Some(user) = &args.username {
        let mut pw = String::new();
        if args.password_stdin {
            std::io::stdin()
                .read_to_string(&mut pw)
                .context("reading the password from stdin")?;
        }
        let pw = pw.trim_end_matches(['\n', '\r']).to_string();
        r.credentials = CredentialSource::Explicit(Credential::basic(user.clone(), pw));
    }
    Ok(())
}
