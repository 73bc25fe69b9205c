//! customs-pin finds the image references that Dockerfiles, Kubernetes manifests and compose
//! files name, lints them (no tag, `latest`, no digest, registry not allowed) and pins them to
//! digests by editing the exact bytes where each reference is written, so comments and layout
//! survive. It also probes a registry host ([`probe`]). It reads text files and talks to
//! registries through `customs-registry`; it knows nothing of image contents.
//!
//! ```no_run
//! use customs_pin::{scan_file, lint::{lint, LintOptions}};
//! let scan = scan_file(std::path::Path::new("Dockerfile")).unwrap();
//! for finding in lint(&scan, &LintOptions::default()) {
//!     println!("{}:{} {} {}", scan.path.display(), finding.line, finding.rule.id(), finding.message);
//! }
//! ```
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod dockerfile;
pub mod lint;
pub mod pin;
pub use customs_registry::probe;
mod text;
pub mod yaml;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The largest file read (references live in small text files).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
/// A file that could not be read for references.
pub enum PinError {
    #[error("{path}: {source}")]
    /// Reading the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    #[error("{path}: file of {size} bytes exceeds the {limit} byte limit")]
    /// The file is larger than [`MAX_FILE_SIZE`].
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    #[error("{path}: not UTF-8 text")]
    /// The file is not UTF-8.
    NotText {
        /// The file.
        path: PathBuf,
    },
    #[error(
        "{path}: cannot tell whether this is a Dockerfile, a Kubernetes manifest or a compose file"
    )]
    /// The file is neither a Dockerfile, a Kubernetes manifest nor a compose file.
    UnknownKind {
        /// The file.
        path: PathBuf,
    },
}

/// What kind of file references were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A Dockerfile or Containerfile (`FROM`, `COPY --from`, `RUN --mount from`).
    Dockerfile,
    /// Kubernetes manifests (`image:` of containers, init and ephemeral containers).
    Kubernetes,
    /// A compose file (`services.*.image`).
    Compose,
}

impl FileKind {
    /// Tells the kind from the file name, then from the content: `Dockerfile`,
    /// `Containerfile`, `*.Dockerfile` and `Dockerfile.*` are Dockerfiles; `compose.yaml` and
    /// `docker-compose*.yml` are compose files; other YAML is a compose file when a document
    /// has a top-level `services` mapping and no `kind`, else a Kubernetes manifest. A file
    /// of no known name whose first instruction is `FROM` or `ARG` is a Dockerfile.
    pub fn detect(path: &Path, text: &str) -> Option<FileKind> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let is_yaml_name = name.ends_with(".yaml") || name.ends_with(".yml");
        if name == "dockerfile"
            || name == "containerfile"
            || name.starts_with("dockerfile.")
            || name.starts_with("containerfile.")
            || name.ends_with(".dockerfile")
            || name.ends_with(".containerfile")
        {
            return Some(FileKind::Dockerfile);
        }
        if is_yaml_name && (name.starts_with("compose") || name.starts_with("docker-compose")) {
            return Some(FileKind::Compose);
        }
        if !is_yaml_name && !name.ends_with(".json") && dockerfile::looks_like_dockerfile(text) {
            return Some(FileKind::Dockerfile);
        }
        yaml::sniff(text)
    }
}

/// A byte range of the file, with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in characters.
    pub column: usize,
}

impl Span {
    /// The bytes `start..end`.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// One image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// The reference as it would be pulled, after ARG substitution; `None` when it uses a
    /// variable that has no value.
    pub reference: Option<String>,
    /// Where the reference is used (the `FROM` line, the YAML value).
    pub line: usize,
    /// 1-based column where the reference is used.
    pub column: usize,
    /// Where the reference text is written and can be rewritten: the reference itself, or,
    /// for `FROM ${BASE}`, the default value of `ARG BASE`. `None` when the reference is
    /// assembled from several pieces, comes from a block scalar, or is otherwise not written
    /// in one place.
    pub written_at: Option<Span>,
    /// What uses the reference: `FROM`, `COPY --from`, `RUN --mount from`,
    /// `Deployment/web spec.template.spec.containers[app].image`, `services.web.image`.
    pub context: String,
    /// The build argument the reference comes from, when it was substituted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_arg: Option<String>,
}

/// A problem that did not stop reading a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// 1-based line the warning is about.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The references of one file.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    /// The file read.
    pub path: PathBuf,
    /// What kind of file it is.
    pub kind: FileKind,
    /// Every image reference, in file order.
    pub images: Vec<ImageRef>,
    /// Problems that did not stop the read.
    pub warnings: Vec<Warning>,
    /// The file's text, for rewriting.
    #[serde(skip)]
    pub text: String,
}

/// Finds the image references in `text`, read as a file of `kind`.
pub fn scan_str(path: &Path, kind: FileKind, text: &str) -> Scan {
    let (images, warnings) = match kind {
        FileKind::Dockerfile => dockerfile::scan(text),
        FileKind::Kubernetes => yaml::scan_kubernetes(text),
        FileKind::Compose => yaml::scan_compose(text),
    };
    Scan {
        path: path.to_path_buf(),
        kind,
        images,
        warnings,
        text: text.to_string(),
    }
}

/// Reads `path`, tells its kind ([`FileKind::detect`]) and finds its image references.
pub fn scan_file(path: &Path) -> Result<Scan, PinError> {
    let text = read_text(path)?;
    let kind = FileKind::detect(path, &text).ok_or_else(|| PinError::UnknownKind {
        path: path.to_path_buf(),
    })?;
    Ok(scan_str(path, kind, &text))
}

/// Reads `path` as UTF-8 text, up to [`MAX_FILE_SIZE`].
pub fn read_text(path: &Path) -> Result<String, PinError> {
    let io = |source| PinError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_SIZE {
        return Err(PinError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_FILE_SIZE,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|_| PinError::NotText {
        path: path.to_path_buf(),
    })
}

/// How a reference is written: name, explicit tag, explicit digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<'a> {
    /// Registry and repository, as written.
    pub name: &'a str,
    /// The tag, as written.
    pub tag: Option<&'a str>,
    /// The digest, as written.
    pub digest: Option<&'a str>,
}

/// Splits a reference as written, without Docker's defaults: `alpine` has no tag,
/// `host:5000/app` has no tag either (the `:` is a port).
pub fn split_written(reference: &str) -> Written<'_> {
    let (rest, digest) = match reference.rsplit_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => Written {
            name: &rest[..last_slash + i],
            tag: Some(&rest[last_slash + i + 1..]),
            digest,
        },
        None => Written {
            name: rest,
            tag: None,
            digest,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_reference_keeps_port_apart_from_tag() {
        let w = split_written("127.0.0.1:5000/app");
        assert_eq!(
            (w.name, w.tag, w.digest),
            ("127.0.0.1:5000/app", None, None)
        );
        let w = split_written("127.0.0.1:5000/app:1.0@sha256:ab");
        assert_eq!(
            (w.name, w.tag, w.digest),
            ("127.0.0.1:5000/app", Some("1.0"), Some("sha256:ab"))
        );
        assert_eq!(split_written("alpine").tag, None);
    }

    #[test]
    fn kind_detected_from_name_then_content() {
        let d = |n: &str, t: &str| FileKind::detect(Path::new(n), t);
        assert_eq!(d("Dockerfile", ""), Some(FileKind::Dockerfile));
        assert_eq!(d("build/api.Dockerfile", ""), Some(FileKind::Dockerfile));
        assert_eq!(d("Containerfile.dev", ""), Some(FileKind::Dockerfile));
        assert_eq!(d("docker-compose.prod.yml", ""), Some(FileKind::Compose));
        assert_eq!(
            d("stack.yaml", "services:\n  web:\n    image: nginx\n"),
            Some(FileKind::Compose)
        );
        assert_eq!(
            d("app.yaml", "apiVersion: v1\nkind: Pod\n"),
            Some(FileKind::Kubernetes)
        );
        assert_eq!(
            d("build.txt", "# comment\nFROM alpine\n"),
            Some(FileKind::Dockerfile)
        );
        assert_eq!(d("notes.txt", "hello world\n"), None);
    }
}
