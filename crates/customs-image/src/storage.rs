//! `containers-storage:` images: read straight from the store Podman, Buildah and CRI-O
//! share (containers/storage), with no service running, as skopeo names them:
//! `containers-storage:[driver@graphroot+runroot]NAME` or `containers-storage:NAME`.
//!
//! The store keeps, per image, its config and manifest as "big data" files, and per layer its
//! unpacked files plus a tar-split record (`<id>.tar-split.gz`): the layer tar's headers and
//! padding verbatim, with file contents left out. This module rebuilds each layer's original
//! tar from the two, as the store itself does for `podman save`, so the rebuilt stream is
//! checked against the diff-id like any other layer. No crate reads containers/storage; the
//! formats are small (JSON metadata, newline-delimited JSON tar-split).
//!
//! Metadata files are read under containers/storage's own POSIX read locks
//! (`images.lock`, `layers.lock`). Only the `overlay` and `vfs` drivers are read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::digest::Digest;

/// Largest metadata file read (images.json, layers.json).
const MAX_METADATA: u64 = 64 << 20;
/// Largest tar-split line (one header segment, PAX records included).
const MAX_LINE: u64 = 16 << 20;

/// Where the store is and which driver it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    pub driver: Option<String>,
    pub root: Option<PathBuf>,
}

/// Splits `[driver@root+runroot]name` into the store spec and the name.
pub fn parse_spec(s: &str) -> Result<(StoreSpec, &str), String> {
    let Some(rest) = s.strip_prefix('[') else {
        return Ok((
            StoreSpec {
                driver: None,
                root: None,
            },
            s,
        ));
    };
    let (inside, name) = rest
        .split_once(']')
        .ok_or_else(|| "unclosed '[' in containers-storage store specification".to_string())?;
    let (driver, paths) = match inside.split_once('@') {
        Some((d, p)) => (Some(d.to_string()).filter(|d| !d.is_empty()), p),
        None => (None, inside),
    };
    let root = paths.split('+').next().unwrap_or("");
    Ok((
        StoreSpec {
            driver,
            root: (!root.is_empty()).then(|| PathBuf::from(root)),
        },
        name,
    ))
}

fn default_root() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    if unsafe { libc::getuid() } == 0 {
        return PathBuf::from("/var/lib/containers/storage");
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("containers/storage")
}

#[derive(Deserialize)]
struct ImageRecord {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    layer: Option<String>,
}

#[derive(Deserialize)]
struct LayerRecord {
    id: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(rename = "diff-digest", default)]
    diff_digest: Option<String>,
    #[serde(rename = "diff-size", default)]
    diff_size: Option<i64>,
}

/// One image found in the store.
#[derive(Debug, Clone)]
pub struct StoredImage {
    /// The names (`docker.io/library/alpine:3.20`) the store records for the image.
    pub names: Vec<String>,
    /// The config blob, checked against the image id.
    pub config: Vec<u8>,
    /// Bottom layer first: (layer id, diff-id, uncompressed size).
    pub layers: Vec<(String, Digest, u64)>,
    /// The driver's directory of unpacked layers.
    pub layer_root: PathBuf,
    /// Where layers.json and the tar-split records are.
    pub layers_dir: PathBuf,
    /// The storage driver the layers were unpacked by.
    pub driver: String,
}

fn err(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// A POSIX read lock on one of the store's lock files, held while metadata is read.
struct ReadLock(#[allow(dead_code)] File);

fn read_lock(path: &Path) -> io::Result<Option<ReadLock>> {
    let f = match std::fs::OpenOptions::new().read(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: a zeroed flock is a valid value; fcntl gets a valid descriptor and pointer.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLKW, &fl) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some(ReadLock(f)))
}

fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?
        .take(limit + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(err(format!(
            "{}: larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(out)
}

/// containers/storage's file name for a big-data key.
fn big_data_name(key: &str) -> String {
    if key
        .bytes()
        .all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        key.to_string()
    } else {
        format!(
            "={}",
            base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
        )
    }
}

fn names_match(stored: &str, wanted: &str) -> bool {
    use crate::reference::Reference;
    stored == wanted
        || matches!(
            (Reference::parse(stored), Reference::parse(wanted)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Finds `name` (a reference or an image id prefix of 12+ hex digits) in the store.
pub fn find(spec: &StoreSpec, name: &str) -> io::Result<StoredImage> {
    let root = spec.root.clone().unwrap_or_else(default_root);
    let driver = match &spec.driver {
        Some(d) => d.clone(),
        None => ["overlay", "vfs"]
            .into_iter()
            .find(|d| root.join(format!("{d}-images/images.json")).is_file())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "no overlay or vfs image store in {} (give one as [driver@root]NAME)",
                        root.display()
                    ),
                )
            })?
            .to_string(),
    };
    let layer_root = match driver.as_str() {
        "overlay" => root.join("overlay"),
        "vfs" => root.join("vfs/dir"),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("storage driver {other:?} is not read; overlay and vfs are"),
            ))
        }
    };
    let images_dir = root.join(format!("{driver}-images"));
    let layers_dir = root.join(format!("{driver}-layers"));
    let _images_lock = read_lock(&images_dir.join("images.lock"))?;
    let _layers_lock = read_lock(&layers_dir.join("layers.lock"))?;
    let images: Vec<ImageRecord> = serde_json::from_slice(&read_bounded(
        &images_dir.join("images.json"),
        MAX_METADATA,
    )?)
    .map_err(|e| err(format!("images.json: {e}")))?;
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    let is_id = hex.len() >= 12 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let found: Vec<&ImageRecord> = images
        .iter()
        .filter(|i| {
            (is_id && i.id.starts_with(hex)) || i.names.iter().any(|n| names_match(n, name))
        })
        .collect();
    let image = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no image {name:?} in {}", root.display()),
            ))
        }
        _ => return Err(err(format!("{name:?} names several images in the store"))),
    };
    if image.id.len() != 64 || !image.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(format!("image id {:?} is not a digest", image.id)));
    }
    let config_digest: Digest = format!("sha256:{}", image.id)
        .parse()
        .map_err(|_| err("image id is not a digest"))?;
    let config = read_bounded(
        &images_dir
            .join(&image.id)
            .join(big_data_name(&config_digest.to_string())),
        crate::image::MAX_CONFIG_BYTES,
    )?;
    if Digest::sha256_of(&config) != config_digest {
        return Err(err(format!(
            "the stored config of {} does not match its id",
            image.id
        )));
    }
    let records: Vec<LayerRecord> = serde_json::from_slice(&read_bounded(
        &layers_dir.join("layers.json"),
        MAX_METADATA,
    )?)
    .map_err(|e| err(format!("layers.json: {e}")))?;
    let by_id: HashMap<&str, &LayerRecord> = records.iter().map(|l| (l.id.as_str(), l)).collect();
    let mut layers = Vec::new();
    let mut next = image.layer.clone();
    while let Some(id) = next {
        if layers.len() > crate::image::MAX_LAYERS {
            return Err(err("layer chain too long (a loop?)"));
        }
        let l = by_id
            .get(id.as_str())
            .ok_or_else(|| err(format!("layer {id} missing from layers.json")))?;
        if l.id.contains(['/', '.']) || l.id.is_empty() {
            return Err(err(format!("layer id {:?} is not a plain name", l.id)));
        }
        let diff: Digest = l
            .diff_digest
            .as_deref()
            .ok_or_else(|| err(format!("layer {id} has no diff-digest")))?
            .parse()
            .map_err(|_| err(format!("layer {id}: bad diff-digest")))?;
        layers.push((l.id.clone(), diff, l.diff_size.unwrap_or(0).max(0) as u64));
        next = l.parent.clone().filter(|p| !p.is_empty());
    }
    layers.reverse();
    Ok(StoredImage {
        names: image.names.clone(),
        config,
        layers,
        layer_root,
        layers_dir,
        driver,
    })
}

/// The files of layer `id` under the driver's layer root.
fn layer_files(img: &StoredImage, id: &str) -> PathBuf {
    match img.driver.as_str() {
        "overlay" => img.layer_root.join(id).join("diff"),
        _ => img.layer_root.join(id),
    }
}

/// The tar-split record of layer `id`.
fn tar_split(img: &StoredImage, id: &str) -> PathBuf {
    img.layers_dir.join(format!("{id}.tar-split.gz"))
}

/// Layer `id`'s original tar stream, rebuilt from its tar-split record and its files.
pub fn layer_stream(img: &StoredImage, id: &str) -> io::Result<Box<dyn Read + Send>> {
    let split = File::open(tar_split(img, id))?;
    Ok(Box::new(Rebuild {
        lines: BufReader::new(flate2::read::GzDecoder::new(split)),
        dir: layer_files(img, id),
        current: None,
        pending: Vec::new(),
        pos: 0,
        done: false,
    }))
}

#[derive(Deserialize)]
struct SplitEntry {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    payload: Option<String>,
}

struct Rebuild<R> {
    lines: R,
    dir: PathBuf,
    /// The file whose contents are being copied, and how much is left.
    current: Option<(io::Take<File>, u64)>,
    /// Decoded bytes of a raw segment not yet returned.
    pending: Vec<u8>,
    pos: usize,
    done: bool,
}

/// A tar entry name as a path inside the layer directory, or an error if it would leave it.
fn inside(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let rel = Path::new(name.trim_start_matches('/'));
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(err(format!("tar-split entry {name:?} leaves the layer")));
    }
    Ok(dir.join(rel))
}

fn open_in_layer(dir: &Path, name: &str) -> io::Result<File> {
    let path = inside(dir, name)?;
    let canon = path.canonicalize()?;
    if !canon.starts_with(dir.canonicalize()?) {
        return Err(err(format!("{name:?} resolves outside the layer")));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(canon)
}

impl<R: BufRead> Read for Rebuild<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if buf.is_empty() || self.done {
                return Ok(0);
            }
            if self.pos < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.pos);
                buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if let Some((file, left)) = &mut self.current {
                if *left > 0 {
                    let want = buf.len().min((*left).min(usize::MAX as u64) as usize);
                    let n = file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a layer file is shorter than its tar header says",
                        ));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                self.current = None;
            }
            let mut line = Vec::new();
            let n = (&mut self.lines)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            let entry: SplitEntry =
                serde_json::from_slice(&line).map_err(|e| err(format!("tar-split record: {e}")))?;
            match entry.kind {
                // A raw segment: header blocks, padding, the end of the archive.
                2 => {
                    self.pending = base64::engine::general_purpose::STANDARD
                        .decode(entry.payload.unwrap_or_default())
                        .map_err(|e| err(format!("tar-split segment: {e}")))?;
                    self.pos = 0;
                }
                // A file's contents, by name.
                1 => {
                    let size = entry.size.unwrap_or(0);
                    if size > 0 {
                        let name = entry.name.unwrap_or_default();
                        let f = open_in_layer(&self.dir, &name).map_err(|e| {
                            io::Error::new(e.kind(), format!("layer file {name:?}: {e}"))
                        })?;
                        self.current = Some((f.take(size), size));
                    }
                }
                k => return Err(err(format!("tar-split record of unknown type {k}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_big_data_names_follow_containers_storage() {
        let (s, n) = parse_spec("[vfs@/r+/run]localhost/a:1").unwrap();
        assert_eq!(
            (s.driver.as_deref(), s.root.as_deref(), n),
            (Some("vfs"), Some(Path::new("/r")), "localhost/a:1")
        );
        let (s, n) = parse_spec("[/r]a").unwrap();
        assert_eq!(
            (s.driver, s.root.as_deref(), n),
            (None, Some(Path::new("/r")), "a")
        );
        assert!(parse_spec("[vfs@/r").is_err());
        assert_eq!(big_data_name("manifest"), "manifest");
        assert_eq!(
            big_data_name("sha256:ab"),
            format!(
                "={}",
                base64::engine::general_purpose::STANDARD.encode("sha256:ab")
            )
        );
    }

    #[test]
    fn tar_split_names_cannot_leave_the_layer() {
        let d = Path::new("/layer");
        assert!(inside(d, "../etc/passwd").is_err());
        assert!(inside(d, "a/../../b").is_err());
        assert_eq!(inside(d, "/etc/passwd").unwrap(), d.join("etc/passwd"));
        assert_eq!(inside(d, "./etc").unwrap(), d.join("./etc"));
    }
}
