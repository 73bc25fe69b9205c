//! Image references (`[registry/]repository[:tag][@digest]`) parsed the way Docker and skopeo
//! do, and targets (`docker-archive:`, `oci:`, `oci-archive:`, `docker://`, a bare path or a
//! plain reference) that name where an image comes from.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
pub use crate::dir::DirKind;
pub use crate::engine::Engine;

/// The registry that references without one point at.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// A reference that could not be parsed.
pub enum ReferenceError {
    #[error("empty image reference")]
    /// The reference is empty.
    Empty,
    #[error("invalid image reference {input:?}: {reason}")]
    /// The reference breaks the distribution spec's grammar.
    Invalid {
        /// The reference given (truncated).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    #[error("invalid image reference {input:?}: repository name must be lowercase")]
    /// The repository has uppercase letters.
    Uppercase {
        /// The reference given (truncated).
        input: String,
    },
    #[error("invalid image reference {input:?}: repository name longer than 255 characters")]
    /// The repository name is longer than 255 characters.
    NameTooLong {
        /// The reference given (truncated).
        input: String,
    },
    #[error("invalid tag {tag:?}: a tag is 1 to 128 of [A-Za-z0-9_.-] and does not start with '.' or '-'")]
    /// The tag breaks the tag grammar.
    InvalidTag {
        /// The tag given (truncated).
        tag: String,
    },
    #[error("invalid digest {digest:?} in image reference")]
    /// The digest is not `algorithm:hex`.
    InvalidDigest {
        /// The digest given (truncated).
        digest: String,
    },
    #[error("unsupported transport {transport:?}: use docker://, docker-archive:, oci:, oci-archive:, dir:, rootfs:, docker-daemon:, podman:, containers-storage: or a plain reference")]
    /// The `transport:` prefix is not one customs reads.
    UnknownTransport {
        /// The prefix given.
        transport: String,
    },
    #[error("{path}: {message}")]
    /// A path-based target cannot be used (missing, or of the wrong kind).
    Path {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

fn truncated(s: &str) -> String {
    s.chars().take(300).collect()
}

/// A registry image reference. `tag` and `digest` may both be set (`name:tag@digest`); the
/// digest then wins when pulling. `tag` defaults to `latest` only when there is no digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host (and port), normalised: `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path, with `library/` added for official Docker Hub images.
    pub repository: String,
    /// The tag, when one was given.
    pub tag: Option<String>,
    /// The manifest digest, when one was given.
    pub digest: Option<Digest>,
}

/// A repository on a registry, without tag or digest: what blob and push operations address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repository {
    /// Registry host (and port).
    pub registry: String,
    /// Repository path.
    pub name: String,
}

impl Repository {
    /// Parses `registry/name` or a short name (`alpine`, `user/img`) with Docker's defaults.
    pub fn parse(s: &str) -> Result<Repository, ReferenceError> {
        let r = Reference::parse(s)?;
        if r.digest.is_some() || s.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            return Err(ReferenceError::Invalid {
                input: truncated(s),
                reason: "a repository has no tag or digest",
            });
        }
        Ok(r.repo())
    }

    /// The host that serves the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

impl Reference {
    /// Parses a reference with Docker's normalisation: `alpine` is
    /// `docker.io/library/alpine:latest`, `user/img` is `docker.io/user/img:latest`, and the
    /// first path component names a registry only if it contains `.` or `:`, is `localhost`,
    /// or has uppercase letters.
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let invalid = |reason| ReferenceError::Invalid {
            input: truncated(input),
            reason,
        };
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains whitespace or control characters"));
        }
        let (rest, digest) = match input.rsplit_once('@') {
            Some((rest, d)) => {
                let digest: Digest = d.parse().map_err(|_| ReferenceError::InvalidDigest {
                    digest: truncated(d),
                })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        // A tag is what follows the last ':' after the last '/' (a ':' before that is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(ReferenceError::InvalidTag {
                        tag: truncated(tag),
                    });
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(invalid("no repository name"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first, path)
            }
            _ => (DOCKER_HUB, name),
        };
        if !valid_domain(registry) {
            return Err(invalid("invalid registry host"));
        }
        let registry = match registry {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
            r => r,
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase {
                input: truncated(input),
            });
        }
        if !path.split('/').all(valid_path_component) {
            return Err(invalid(
                "repository path components are lowercase letters and digits separated by '.', '_', '__' or dashes",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong {
                input: truncated(input),
            });
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (t, _) => t,
        };
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// The host that serves the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// The repository this reference names.
    pub fn repo(&self) -> Repository {
        Repository {
            registry: self.registry.clone(),
            name: self.repository.clone(),
        }
    }

    /// What goes in `/v2/<name>/manifests/<here>`: the digest when present, else the tag.
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The same repository and tag, pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    tag.len() <= MAX_TAG_LEN
        && chars.next().is_some_and(word)
        && chars.all(|c| word(c) || c == '.' || c == '-')
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]` where host is dot-separated labels of `[A-Za-z0-9-]` (not starting or ending
/// with `-`) or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("v6", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        })
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A registry (the default transport, also `docker://`).
    Registry(Reference),
    /// A `docker save` tarball (possibly gzip-compressed), with an optional `name:tag` to pick
    /// one of several images in it.
    DockerArchive {
        /// The archive file.
        path: PathBuf,
        /// The `name:tag` to pick, when the archive holds several images.
        reference: Option<String>,
    },
    /// An OCI image layout directory, with an optional tag (`org.opencontainers.image.ref.name`)
    /// or manifest digest.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The tag to pick.
        tag: Option<String>,
        /// The manifest digest to pick.
        digest: Option<Digest>,
    },
    /// An OCI image layout in a tarball (possibly gzip-compressed).
    OciArchive {
        /// The archive file.
        path: PathBuf,
        /// The tag to pick.
        tag: Option<String>,
    },
    /// A directory read from disk as one layer: a project checkout (`dir:`, or a bare
    /// directory without `oci-layout`) or an unpacked root filesystem (`rootfs:`).
    Directory {
        /// The directory.
        path: PathBuf,
        /// Whether it is a project checkout or a root filesystem.
        kind: DirKind,
    },
    /// An image in a local engine's store, read over its API socket: `name` is a
    /// normalised reference (`docker.io/library/alpine:3.20`) or an image id.
    Engine {
        /// The engine to ask.
        engine: Engine,
        /// The image name or id.
        name: String,
    },
    /// An image in a containers/storage store (Podman's, Buildah's, CRI-O's), read from disk:
    /// `containers-storage:[driver@root+runroot]NAME`.
    Storage {
        /// The storage driver (`overlay`, `vfs`), when given; else the store's configured one.
        driver: Option<String>,
        /// The store's root directory, when given; else the system or rootless default.
        root: Option<PathBuf>,
        /// The image name or id.
        name: String,
    },
}

impl Target {
    /// Parses `docker-archive:PATH[:ref]`, `oci:DIR[:tag|@digest]`, `oci-archive:PATH[:tag]`,
    /// `docker://ref`, a path that exists on disk (recognised by content) or a plain reference.
    pub fn parse(input: &str) -> Result<Target, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some(r) = input.strip_prefix("docker://") {
            return Ok(Target::Registry(Reference::parse(r)?));
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            let (path, reference) = split_path(rest);
            return Ok(Target::DockerArchive {
                path: non_empty(path, input)?,
                reference,
            });
        }
        for (prefix, engine) in [
            ("docker-daemon:", Engine::Docker),
            ("docker:", Engine::Docker),
            ("podman:", Engine::Podman),
        ] {
            let Some(rest) = input.strip_prefix(prefix) else {
                continue;
            };
            // `docker:5000/x` is a registry host named docker with a port, not the daemon.
            let port = rest
                .split_once('/')
                .is_some_and(|(p, _)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if prefix == "docker:" && port {
                break;
            }
            return Ok(Target::Engine {
                engine,
                name: engine_name(rest)?,
            });
        }
        if let Some(rest) = input.strip_prefix("containers-storage:") {
            let (spec, name) =
                crate::storage::parse_spec(rest).map_err(|reason| ReferenceError::Path {
                    path: PathBuf::from(rest),
                    message: reason,
                })?;
            return Ok(Target::Storage {
                driver: spec.driver,
                root: spec.root,
                name: engine_name(name)?,
            });
        }
        for kind in [DirKind::Project, DirKind::Rootfs] {
            if let Some(rest) = input
                .strip_prefix(kind.transport())
                .and_then(|r| r.strip_prefix(':'))
            {
                return Ok(Target::Directory {
                    path: non_empty(rest, input)?,
                    kind,
                });
            }
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (path, tag) = split_path(rest);
            if let Some(t) = &tag {
                if !valid_tag(t) {
                    return Err(ReferenceError::InvalidTag { tag: truncated(t) });
                }
            }
            return Ok(Target::OciArchive {
                path: non_empty(path, input)?,
                tag,
            });
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            if let Some((dir, d)) = rest.rsplit_once('@') {
                if let Ok(digest) = d.parse::<Digest>() {
                    let dir = dir.strip_suffix(':').unwrap_or(dir);
                    return Ok(Target::OciLayout {
                        dir: non_empty(dir, input)?,
                        tag: None,
                        digest: Some(digest),
                    });
                }
            }
            let (dir, tag) = split_path(rest);
            if let Some(t) = &tag {
                if !valid_tag(t) {
                    return Err(ReferenceError::InvalidTag { tag: truncated(t) });
                }
            }
            return Ok(Target::OciLayout {
                dir: non_empty(dir, input)?,
                tag,
                digest: None,
            });
        }
        if let Some((scheme, _)) = input.split_once(':') {
            if matches!(scheme, "registry" | "sif") {
                return Err(ReferenceError::UnknownTransport {
                    transport: scheme.to_string(),
                });
            }
        }
        let path = Path::new(input);
        if path.exists() {
            return detect_path(path);
        }
        Ok(Target::Registry(Reference::parse(input)?))
    }
}

/// An engine's image name: a reference, normalised, or an image id (`sha256:<hex>` or a
/// hex prefix of at least 12 digits).
fn engine_name(s: &str) -> Result<String, ReferenceError> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    if (12..=64).contains(&hex.len()) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Ok(s.to_string());
    }
    Ok(Reference::parse(s)?.to_string())
}

fn non_empty(path: &str, input: &str) -> Result<PathBuf, ReferenceError> {
    if path.is_empty() {
        return Err(ReferenceError::Invalid {
            input: truncated(input),
            reason: "no path given",
        });
    }
    Ok(PathBuf::from(path))
}

/// Splits `PATH[:rest]` at the first colon, as skopeo does.
fn split_path(s: &str) -> (&str, Option<String>) {
    match s.split_once(':') {
        Some((p, r)) if !r.is_empty() => (p, Some(r.to_string())),
        Some((p, _)) => (p, None),
        None => (s, None),
    }
}

/// Recognises an existing path by content: an OCI layout directory, or a tarball (plain or
/// gzip) holding `oci-layout`/`index.json` (OCI archive) or `manifest.json` (docker archive).
/// A tarball with both, as Docker 25+ writes, is read as an OCI archive.
fn detect_path(path: &Path) -> Result<Target, ReferenceError> {
    let err = |message: String| ReferenceError::Path {
        path: path.to_path_buf(),
        message,
    };
    if path.is_dir() {
        if path.join("oci-layout").is_file() {
            return Ok(Target::OciLayout {
                dir: path.to_path_buf(),
                tag: None,
                digest: None,
            });
        }
        // Any other directory is a project checkout, as `trivy fs` reads one.
        return Ok(Target::Directory {
            path: path.to_path_buf(),
            kind: DirKind::Project,
        });
    }
    let mut file = File::open(path).map_err(|e| err(e.to_string()))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    file.seek(SeekFrom::Start(0))
        .map_err(|e| err(e.to_string()))?;
    if gz {
        // Telling the two kinds apart means inflating up to the whole file; opening the
        // archive does that pass anyway and picks the OCI reader when there is no
        // manifest.json, so leave the choice to it.
        return Ok(Target::DockerArchive {
            path: path.to_path_buf(),
            reference: None,
        });
    }
    let members = { tar_members(tar::Archive::new(file).entries_with_seek()) }
        .map_err(|e| err(format!("not a readable image tarball: {e}")))?;
    if members.oci {
        Ok(Target::OciArchive {
            path: path.to_path_buf(),
            tag: None,
        })
    } else if members.docker {
        Ok(Target::DockerArchive {
            path: path.to_path_buf(),
            reference: None,
        })
    } else {
        Err(err("tarball holds neither manifest.json (docker archive) nor oci-layout/index.json (OCI archive)".into()))
    }
}

#[derive(Default)]
struct Members {
    oci: bool,
    docker: bool,
}

fn tar_members<R: Read>(entries: io::Result<tar::Entries<'_, R>>) -> io::Result<Members> {
    let mut m = Members::default();
    for entry in entries? {
        let entry = entry?;
        let path = entry.path()?;
        let name = path.to_string_lossy();
        match name.trim_start_matches("./") {
            "oci-layout" | "index.json" => m.oci = true,
            "manifest.json" => m.docker = true,
            _ => {}
        }
        if m.oci {
            break;
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn canon(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn short_names_get_docker_hub_library_and_latest() {
        assert_eq!(canon("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(canon("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(canon("user/img"), "docker.io/user/img:latest");
        assert_eq!(canon("docker.io/alpine"), "docker.io/library/alpine:latest");
    }

    #[test]
    fn docker_hub_aliases_normalise_and_api_host_is_registry_1() {
        let r = Reference::parse("index.docker.io/library/alpine").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(canon("registry-1.docker.io/x/y:1"), "docker.io/x/y:1");
        let q = Reference::parse("quay.io/a/b").unwrap();
        assert_eq!(q.api_host(), "quay.io");
    }

    #[test]
    fn first_component_is_registry_only_with_dot_colon_or_localhost() {
        let r = Reference::parse("localhost:5000/x:tag").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("localhost:5000", "x", Some("tag"))
        );
        let r = Reference::parse("localhost/x").unwrap();
        assert_eq!(r.registry, "localhost");
        let r = Reference::parse("host.tld/a/b/c").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("host.tld", "a/b/c")
        );
        let r = Reference::parse("myhost/a").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "myhost/a")
        );
        let r = Reference::parse("127.0.0.1:5000/a/b:v1.2-rc_3").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", Some("v1.2-rc_3"))
        );
        let r = Reference::parse("[::1]:5000/a").unwrap();
        assert_eq!(r.registry, "[::1]:5000");
    }

    #[test]
    fn tag_and_digest_are_both_kept_and_digest_only_has_no_tag() {
        let r = Reference::parse(&format!("quay.io/a/b:v1@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().unwrap().to_string(), D);
        assert_eq!(r.tag_or_digest(), D);
        assert_eq!(r.to_string(), format!("quay.io/a/b:v1@{D}"));
        let r = Reference::parse(&format!("alpine@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{D}"));
    }

    #[test]
    fn display_round_trips_through_parse() {
        for s in [
            "alpine",
            "a/b:c",
            "localhost:5000/x/y",
            "Upper/x",
            "index.docker.io/x",
        ] {
            let r = Reference::parse(s).unwrap();
            assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }
        let r = Reference::parse(&format!("ghcr.io/o/r:t@{D}")).unwrap();
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn rejects_uppercase_bad_tags_bad_digests_and_bad_components() {
        assert!(matches!(
            Reference::parse("Alpine"),
            Err(ReferenceError::Uppercase { .. })
        ));
        assert!(matches!(
            Reference::parse("quay.io/Org/x"),
            Err(ReferenceError::Uppercase { .. })
        ));
        assert!(matches!(
            Reference::parse("alpine:-x"),
            Err(ReferenceError::InvalidTag { .. })
        ));
        assert!(matches!(
            Reference::parse("alpine:.x"),
            Err(ReferenceError::InvalidTag { .. })
        ));
        let long_tag = format!("alpine:{}", "a".repeat(129));
        assert!(matches!(
            Reference::parse(&long_tag),
            Err(ReferenceError::InvalidTag { .. })
        ));
        assert!(Reference::parse(&format!("alpine:{}", "a".repeat(128))).is_ok());
        assert!(matches!(
            Reference::parse("alpine@sha256:abc"),
            Err(ReferenceError::InvalidDigest { .. })
        ));
        assert_eq!(Reference::parse(""), Err(ReferenceError::Empty));
        for bad in [
            "a//b",
            "a/-b",
            "a/b-",
            "a..b",
            "a___b",
            "a b",
            ":tag",
            "quay.io/",
            "/x",
            "ho st.io/x",
            "host:port/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Reference::parse("a__b/c---d/e.f_g").is_ok());
        let long = format!("x/{}", "a".repeat(260));
        assert!(matches!(
            Reference::parse(&long),
            Err(ReferenceError::NameTooLong { .. })
        ));
    }

    #[test]
    fn repository_parse_refuses_tags() {
        let r = Repository::parse("localhost:5000/app").unwrap();
        assert_eq!(
            r,
            Repository {
                registry: "localhost:5000".into(),
                name: "app".into()
            }
        );
        assert_eq!(Repository::parse("alpine").unwrap().name, "library/alpine");
        assert!(Repository::parse("alpine:3").is_err());
    }

    #[test]
    fn transports_parse_like_skopeo() {
        assert_eq!(
            Target::parse("docker-archive:/tmp/a.tar:alpine:3.10").unwrap(),
            Target::DockerArchive {
                path: "/tmp/a.tar".into(),
                reference: Some("alpine:3.10".into())
            }
        );
        assert_eq!(
            Target::parse("docker-archive:/tmp/a.tar").unwrap(),
            Target::DockerArchive {
                path: "/tmp/a.tar".into(),
                reference: None
            }
        );
        assert_eq!(
            Target::parse("oci:/tmp/layout:v1").unwrap(),
            Target::OciLayout {
                dir: "/tmp/layout".into(),
                tag: Some("v1".into()),
                digest: None
            }
        );
        assert_eq!(
            Target::parse(&format!("oci:/tmp/layout@{D}")).unwrap(),
            Target::OciLayout {
                dir: "/tmp/layout".into(),
                tag: None,
                digest: Some(D.parse().unwrap())
            }
        );
        assert_eq!(
            Target::parse("oci-archive:x.tar:bookworm").unwrap(),
            Target::OciArchive {
                path: "x.tar".into(),
                tag: Some("bookworm".into())
            }
        );
        assert_eq!(
            Target::parse("docker://quay.io/a/b:1").unwrap(),
            Target::Registry(Reference::parse("quay.io/a/b:1").unwrap())
        );
        assert_eq!(
            Target::parse("alpine").unwrap(),
            Target::Registry(Reference::parse("alpine").unwrap())
        );
        assert!(matches!(
            Target::parse("sif:x.sif"),
            Err(ReferenceError::UnknownTransport { .. })
        ));
        assert_eq!(
            Target::parse("containers-storage:[vfs@/s+/run]localhost/a:1").unwrap(),
            Target::Storage {
                driver: Some("vfs".into()),
                root: Some("/s".into()),
                name: "localhost/a:1".into()
            }
        );
        assert_eq!(
            Target::parse("docker-daemon:alpine").unwrap(),
            Target::Engine {
                engine: Engine::Docker,
                name: "docker.io/library/alpine:latest".into()
            }
        );
        assert_eq!(
            Target::parse("docker:app:1").unwrap(),
            Target::Engine {
                engine: Engine::Docker,
                name: "docker.io/library/app:1".into()
            }
        );
        assert_eq!(
            Target::parse("podman:sha256:0123456789abcdef").unwrap(),
            Target::Engine {
                engine: Engine::Podman,
                name: "sha256:0123456789abcdef".into()
            }
        );
        assert_eq!(
            Target::parse("docker:5000/x").unwrap(),
            Target::Registry(Reference::parse("docker:5000/x").unwrap())
        );
        assert!(Target::parse("podman:").is_err());
        assert!(Target::parse("podman:UPPER").is_err());
        assert_eq!(
            Target::parse("dir:.").unwrap(),
            Target::Directory {
                path: ".".into(),
                kind: DirKind::Project
            }
        );
        assert_eq!(
            Target::parse("rootfs:/r").unwrap(),
            Target::Directory {
                path: "/r".into(),
                kind: DirKind::Rootfs
            }
        );
        assert!(Target::parse("dir:").is_err());
        assert!(Target::parse("oci-archive:").is_err());
        assert!(Target::parse("docker://").is_err());
    }

    fn shared(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/images")
            .join(name)
    }

    #[test]
    fn bare_paths_are_recognised_by_content() {
        let p = shared("app-multi.oci.tar");
        assert_eq!(
            Target::parse(p.to_str().unwrap()).unwrap(),
            Target::OciArchive { path: p, tag: None }
        );
        let p = shared("alpine-3.10.tar");
        assert_eq!(
            Target::parse(p.to_str().unwrap()).unwrap(),
            Target::DockerArchive {
                path: p,
                reference: None
            }
        );
        let p = shared("alpine-3.11.tar.gz");
        assert_eq!(
            Target::parse(p.to_str().unwrap()).unwrap(),
            Target::DockerArchive {
                path: p,
                reference: None
            }
        );
    }

    #[test]
    fn gzip_compressed_oci_archives_open_as_oci_images() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("app.oci.tar.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        io::copy(
            &mut File::open(shared("app-multi.oci.tar")).unwrap(),
            &mut enc,
        )
        .unwrap();
        enc.finish().unwrap();
        // The choice between the two archive kinds is made when the archive is opened.
        let image =
            crate::Image::open_str(gz.to_str().unwrap(), &crate::OpenOptions::default()).unwrap();
        assert!(image.name.starts_with("oci-archive:"), "{}", image.name);
        assert_eq!(
            image.manifest_digest.to_string(),
            "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"
        );
    }

    #[test]
    fn bare_directories_are_layouts_with_an_oci_layout_file_else_projects() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        assert_eq!(
            Target::parse(&d).unwrap(),
            Target::Directory {
                path: dir.path().to_path_buf(),
                kind: DirKind::Project
            }
        );
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        assert_eq!(
            Target::parse(&d).unwrap(),
            Target::OciLayout {
                dir: dir.path().to_path_buf(),
                tag: None,
                digest: None
            }
        );
        let f = dir.path().join("junk.tar");
        std::fs::write(&f, b"not a tar at all").unwrap();
        assert!(matches!(
            Target::parse(f.to_str().unwrap()),
            Err(ReferenceError::Path { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn reference_parse_never_panics(s in "\\PC{0,300}") {
            if let Ok(r) = Reference::parse(&s) {
                proptest::prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
            }
        }

        #[test]
        fn reference_parse_never_panics_on_reference_like_input(s in "[a-zA-Z0-9._:/@-]{0,80}") {
            if let Ok(r) = Reference::parse(&s) {
                proptest::prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
            }
            let _ = Target::parse(&format!("oci:{s}"));
            let _ = Target::parse(&format!("docker-archive:{s}"));
        }
    }
}
