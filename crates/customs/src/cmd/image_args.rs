//! Options shared by every command that opens an image: platform, where a bare name is
//! looked for (`--image-src`), registry TLS and credentials. A command turns its image
//! argument into one [`ImageTarget`] (parsed once, options made once, a `--password-stdin`
//! password read once) and passes that down.

use std::io::Read;
use std::path::PathBuf;

use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use customs_image::{Image, ImageSource, OpenOptions, Platform, Target};
use customs_registry::RegistryOptions;
use customs_sign::store::{SignatureStore, StoreError};

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
    /// The options, made once: standard input holds the password only once.
    #[arg(skip)]
    made: OnceLock<ImageOptions>,
}

/// An image argument parsed once, with the options it is opened with. Every use of the image
/// in a command (open, signatures, the registry name a policy checks) reads this one value.
#[derive(Debug, Clone)]
pub struct ImageTarget {
    /// What the user wrote.
    pub text: String,
    /// `text`, parsed.
    pub parsed: Target,
    /// How it is opened.
    pub opts: ImageOptions,
}

impl ImageTarget {
    /// Opens the image, checking every digest.
    pub fn open(&self) -> Result<Image> {
        Image::open_parsed(&self.text, &self.parsed, &self.opts.open)
            .with_context(|| format!("opening {}", self.text))
    }

    /// The signature storage beside the image (a registry or an `oci:` layout).
    pub fn signatures(&self) -> Result<SignatureStore, StoreError> {
        SignatureStore::open_parsed(&self.text, &self.parsed, &self.opts.registry)
    }
}

impl ImageArgs {
    /// The options, made on first use and kept, so the password is read from standard input
    /// once however many images or stores a command opens.
    pub fn open_options(&self) -> Result<ImageOptions> {
        if let Some(made) = self.made.get() {
            return Ok(made.clone());
        }
        let made = self.make_options()?;
        Ok(self.made.get_or_init(|| made).clone())
    }

    /// Parses `text` once and makes the options to open it with.
    pub fn target(&self, text: &str) -> Result<ImageTarget> {
        let parsed = Target::parse(text).with_context(|| format!("opening {text}"))?;
        Ok(ImageTarget {
            text: text.to_string(),
            parsed,
            opts: self.open_options()?,
        })
    }

    fn make_options(&self) -> Result<ImageOptions> {
        let platform = Platform::parse(&self.platform).with_context(|| {
            format!(
                "invalid --platform {:?}; expected os/arch[/variant]",
                self.platform
            )
        })?;
        let registry = registry_options(self)?;
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

    /// The signature storage beside `text` (a registry or an `oci:` layout).
    pub fn signatures(&self, text: &str) -> Result<SignatureStore> {
        self.target(text)?
            .signatures()
            .with_context(|| format!("opening {text}"))
    }

    /// Parses and opens `text`; for a command that uses the image only once.
    pub fn open(&self, text: &str) -> Result<Image> {
        self.target(text)?.open()
    }
}

fn registry_options(args: &ImageArgs) -> Result<RegistryOptions> {
    use customs_registry::{Credential, CredentialSource};
    if args.password_stdin && args.username.is_none() {
        bail!("--password-stdin needs --username");
    }
    let mut r = RegistryOptions {
        insecure_registries: args.insecure_registry.clone(),
        ca_certs: args.ca_cert.clone(),
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
