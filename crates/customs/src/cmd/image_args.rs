//! Options shared by every command that opens an image: platform, where a bare name is
//! looked for (`--image-src`), registry TLS and credentials.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use customs_image::{Image, ImageSource, OpenOptions, Platform};
use customs_registry::RegistryOptions;

/// How a command opens images: customs-image's options, with the registry client made from
/// `registry`, and those registry options themselves for commands that talk to a registry
/// directly (signatures, pins, copies). Derefs to [`OpenOptions`].
#[derive(Debug, Clone)]
pub struct ImageOptions {
    pub open: OpenOptions,
    pub registry: RegistryOptions,
}

impl std::ops::Deref for ImageOptions {
    type Target = OpenOptions;
    fn deref(&self) -> &OpenOptions {
        &self.open
    }
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImageArgs {
    /// Platform to select from a multi-platform image (os/arch[/variant]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Where a bare image name is looked for, in order: docker (the Docker Engine API at
    /// DOCKER_HOST), podman (Podman's API at CONTAINER_HOST) and remote (the registry).
    /// A source that is not running or lacks the image is skipped.
    #[arg(
        long = "image-src",
        value_name = "SOURCES",
        value_delimiter = ',',
        default_value = "docker,podman,remote"
    )]
    pub image_src: Vec<String>,
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
    pub fn open_options(&self) -> Result<ImageOptions> {
        let platform = Platform::parse(&self.platform).with_context(|| {
            format!(
                "invalid --platform {:?}; expected os/arch[/variant]",
                self.platform
            )
        })?;
        let registry = registry_options(self, &platform)?;
        let mut sources = Vec::new();
        for s in &self.image_src {
            let source = ImageSource::parse(s).with_context(|| {
                format!("invalid --image-src {s:?}; expected docker, podman or remote")
            })?;
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        let open = OpenOptions {
            platform: Some(platform),
            sources,
            remote: Some(customs_registry::remote(registry.clone())),
            ..OpenOptions::default()
        };
        Ok(ImageOptions { open, registry })
    }

    pub fn open(&self, target: &str) -> Result<Image> {
        let opts = self.open_options()?;
        Image::open_str(target, &opts).with_context(|| format!("opening {target}"))
    }
}

fn registry_options(args: &ImageArgs, platform: &Platform) -> Result<RegistryOptions> {
    use customs_registry::{Credential, CredentialSource};
    if args.password_stdin && args.username.is_none() {
        bail!("--password-stdin needs --username");
    }
    let mut r = RegistryOptions {
        insecure_registries: args.insecure_registry.clone(),
        ca_certs: args.ca_cert.clone(),
        platform: platform.clone(),
        ..Default::default()
    };
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
    Ok(r)
}
