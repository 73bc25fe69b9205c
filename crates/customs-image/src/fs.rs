//! The layered filesystem view: layers are walked as tar streams, whiteouts and opaque
//! directories applied, and for every path the layer that added, changed or deleted it is
//! recorded. Only metadata is kept; consumers read the bytes they care about from the
//! callback of [`walk_layer`] while the layer streams.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::tar::{normalize_path, EntryKind, TarError, TarReader};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const MAX_SYMLINK_HOPS: usize = 40;

/// What a layer entry does to the filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Whiteout {
    /// `dir/.wh.name`: deletes `dir/name` and everything below it.
    Path(String),
    /// `dir/.wh..wh..opq`: hides everything lower layers put in `dir`.
    Opaque(String),
}

/// Metadata of one layer entry, path normalised (no leading `/`, no `..`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Path inside the image, normalised.
    pub path: String,
    /// File, directory, link or device.
    pub kind: EntryKind,
    /// Permission bits (and setuid/setgid/sticky), as in the tar header.
    pub mode: u32,
    /// Owner's numeric user id.
    pub uid: u64,
    /// Owner's numeric group id.
    pub gid: u64,
    /// Size in bytes of the entry's data (0 for all but regular files).
    pub size: u64,
    /// Modification time, in seconds since the Unix epoch.
    pub mtime: i64,
    /// Symlink target as written, or the normalised path a hardlink points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Extended attributes (name, raw value), such as `security.capability`.
    pub xattrs: Vec<(String, Vec<u8>)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Set when the entry is a whiteout: it deletes rather than adds.
    pub whiteout: Option<Whiteout>,
}

impl EntryMeta {
    /// Whether this is a regular file that adds content (not a whiteout).
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File && self.whiteout.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
/// A layer could not be walked.
pub enum WalkError {
    #[error(transparent)]
    /// The layer's tar stream is malformed.
    Tar(#[from] TarError),
    #[error("reading layer: {0}")]
    /// Reading the layer blob failed.
    Io(#[from] io::Error),
}

/// Walks one layer's uncompressed tar stream. `on_entry` sees every entry with a reader
/// over its data (empty for non-files); it may read as much of it as it wants. Returns the
/// metadata of every entry, and drains the stream to its end so digests get checked.
pub fn walk_layer<R: Read>(
    stream: R,
    mut on_entry: impl FnMut(&EntryMeta, &mut dyn Read) -> io::Result<()>,
) -> Result<Vec<EntryMeta>, WalkError> {
    let mut tar = TarReader::new(stream);
    let mut entries = Vec::new();
    while let Some(h) = tar.next_entry()? {
        let path = normalize_path(&h.path);
        if path.is_empty() {
            continue; // the root directory itself
        }
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", path.as_str()),
        };
        let whiteout = if base == OPAQUE_MARKER {
            Some(Whiteout::Opaque(dir.to_string()))
        } else {
            base.strip_prefix(WHITEOUT_PREFIX).map(|name| {
                Whiteout::Path(if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                })
            })
        };
        let link = match h.kind {
            EntryKind::Hardlink => h.link.as_deref().map(normalize_path),
            _ => h.link.clone(),
        };
        let meta = EntryMeta {
            path,
            kind: h.kind,
            mode: h.mode,
            uid: h.uid,
            gid: h.gid,
            size: if h.kind == EntryKind::File { h.size } else { 0 },
            mtime: h.mtime,
            link,
            xattrs: h.xattrs,
            whiteout,
        };
        on_entry(&meta, &mut tar)?;
        entries.push(meta);
    }
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    Ok(entries)
}

/// A path as the merged filesystem shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// File, directory, link or device.
    pub kind: EntryKind,
    /// Permission bits, as in the tar header.
    pub mode: u32,
    /// Owner's numeric user id.
    pub uid: u64,
    /// Owner's numeric group id.
    pub gid: u64,
    /// Size in bytes of the data (0 for all but regular files).
    pub size: u64,
    /// Modification time, in seconds since the Unix epoch.
    pub mtime: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Symlink target as written, or the normalised path a hardlink points at.
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Extended attributes (name, raw value).
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Layer index where the path first appeared (and has stayed since).
    pub added_in: usize,
    /// Layer index of the entry that is visible now.
    pub layer: usize,
    /// True for parent directories no layer declared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
}

/// A path that a later layer removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// The normalised path that was removed.
    pub path: String,
    /// What it was before it was removed.
    pub kind: EntryKind,
    /// Its size in bytes before it was removed.
    pub size: u64,
    /// Layer whose entry was hidden.
    pub layer: usize,
    /// Layer whose whiteout (or replacement) removed it.
    pub deleted_in: usize,
}

/// The merged view of every layer applied so far.
#[derive(Debug, Default, Clone)]
pub struct FileSystem {
    nodes: BTreeMap<String, Node>,
    deleted: Vec<Deletion>,
    layers: usize,
}

impl FileSystem {
    /// An empty filesystem, no layers applied.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of layers applied.
    pub fn layer_count(&self) -> usize {
        self.layers
    }

    /// Applies the next layer's entries: its whiteouts first (they only hide lower layers),
    /// then its additions in order.
    pub fn apply_layer(&mut self, entries: &[EntryMeta]) {
        let layer = self.layers;
        self.layers += 1;
        for e in entries {
            match &e.whiteout {
                Some(Whiteout::Path(p)) => {
                    self.remove_tree(p, true, layer);
                }
                Some(Whiteout::Opaque(dir)) => {
                    self.remove_tree(dir, false, layer);
                }
                None => {}
            }
        }
        for e in entries.iter().filter(|e| e.whiteout.is_none()) {
            self.ensure_parents(&e.path, layer);
            let previous = self.nodes.get(&e.path);
            let added_in = match previous {
                Some(p) if p.layer < layer || p.added_in < layer => p.added_in,
                _ => layer,
            };
            if let Some(p) = previous {
                let keep_children = p.kind == EntryKind::Dir && e.kind == EntryKind::Dir;
                if p.layer < layer && !p.implicit {
                    self.deleted.push(Deletion {
                        path: e.path.clone(),
                        kind: p.kind,
                        size: p.size,
                        layer: p.layer,
                        deleted_in: layer,
                    });
                }
                if !keep_children {
                    self.remove_tree(&e.path, false, layer);
                }
            }
            self.nodes.insert(
                e.path.clone(),
                Node {
                    kind: e.kind,
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                    size: e.size,
                    mtime: e.mtime,
                    link: e.link.clone(),
                    xattrs: e.xattrs.clone(),
                    added_in,
                    layer,
                    implicit: false,
                },
            );
        }
    }

    fn ensure_parents(&mut self, path: &str, layer: usize) {
        let mut end = 0;
        while let Some(pos) = path[end..].find('/') {
            let parent = &path[..end + pos];
            if !self
                .nodes
                .get(parent)
                .is_some_and(|n| n.kind == EntryKind::Dir)
            {
                if self.nodes.contains_key(parent) {
                    // A non-directory where a directory is needed: the new entry replaces it.
                    self.remove_tree(parent, true, layer);
                }
                self.nodes.insert(
                    parent.to_string(),
                    Node {
                        kind: EntryKind::Dir,
                        mode: 0o755,
                        uid: 0,
                        gid: 0,
                        size: 0,
                        mtime: 0,
                        link: None,
                        xattrs: Vec::new(),
                        added_in: layer,
                        layer,
                        implicit: true,
                    },
                );
            }
            end += pos + 1;
        }
    }

    /// Removes everything strictly below `path`, and `path` itself when `include_self`.
    fn remove_tree(&mut self, path: &str, include_self: bool, layer: usize) {
        let mut doomed: Vec<String> = Vec::new();
        if include_self && self.nodes.contains_key(path) {
            doomed.push(path.to_string());
        }
        if path.is_empty() {
            doomed.extend(self.nodes.keys().cloned());
        } else {
            let lo = format!("{path}/");
            let hi = format!("{path}0"); // '0' follows '/' in byte order
            doomed.extend(self.nodes.range(lo..hi).map(|(k, _)| k.clone()));
        }
        for p in doomed {
            if let Some(n) = self.nodes.remove(&p) {
                if !n.implicit {
                    self.deleted.push(Deletion {
                        path: p,
                        kind: n.kind,
                        size: n.size,
                        layer: n.layer,
                        deleted_in: layer,
                    });
                }
            }
        }
    }

    /// The node at `path` exactly (no symlink following). Paths have no leading `/`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path.trim_start_matches('/'))
    }

    /// Every visible path, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of visible paths.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no path is visible.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Paths removed by later layers, in the order they were removed.
    pub fn deleted(&self) -> &[Deletion] {
        &self.deleted
    }

    /// Resolves `path` through symlinks (every component, including the last) without ever
    /// leaving the image root: absolute targets restart at the image root and `..` stops at
    /// it. Returns the final path when it exists, `None` for dangling links or loops.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut current: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(comp) = pending.pop() {
            match comp.as_str() {
                "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(comp);
            let joined = current.join("/");
            let node = self.nodes.get(&joined)?;
            match (node.kind, &node.link) {
                (EntryKind::Symlink, Some(target)) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return None;
                    }
                    current.pop();
                    if target.starts_with('/') {
                        current.clear();
                    }
                    pending.extend(
                        target
                            .split('/')
                            .filter(|c| !c.is_empty())
                            .rev()
                            .map(str::to_string),
                    );
                }
                (EntryKind::Hardlink, Some(target)) if pending.is_empty() => {
                    // A hardlink names the same file as its target.
                    let _ = target;
                }
                _ => {}
            }
        }
        Some(current.join("/"))
    }

    /// The path whose tar entry holds the data of `path`: itself, or the file a hardlink
    /// points at (following hardlink chains, bounded).
    pub fn data_path<'a>(&'a self, mut path: &'a str) -> Option<&'a str> {
        for _ in 0..MAX_SYMLINK_HOPS {
            let node = self.nodes.get(path)?;
            match (node.kind, node.link.as_deref()) {
                (EntryKind::Hardlink, Some(t)) => path = t,
                _ => return Some(path),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> EntryMeta {
        EntryMeta {
            path: path.into(),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size,
            mtime: 0,
            link: None,
            xattrs: vec![],
            whiteout: None,
        }
    }
    fn dir(path: &str) -> EntryMeta {
        EntryMeta {
            kind: EntryKind::Dir,
            size: 0,
            ..file(path, 0)
        }
    }
    fn symlink(path: &str, target: &str) -> EntryMeta {
        EntryMeta {
            kind: EntryKind::Symlink,
            link: Some(target.into()),
            ..file(path, 0)
        }
    }
    fn whiteout(path: &str) -> EntryMeta {
        EntryMeta {
            whiteout: Some(Whiteout::Path(path.into())),
            ..file("x/.wh.y", 0)
        }
    }
    fn opaque(dirpath: &str) -> EntryMeta {
        EntryMeta {
            whiteout: Some(Whiteout::Opaque(dirpath.into())),
            ..file("x/.wh..wh..opq", 0)
        }
    }

    #[test]
    fn whiteout_hides_lower_layer_file_and_records_deletion() {
        let mut fs = FileSystem::new();
        fs.apply_layer(&[dir("srv"), file("srv/.env", 31), file("srv/app.js", 10)]);
        fs.apply_layer(&[whiteout("srv/.env")]);
        assert!(fs.get("srv/.env").is_none());
        assert!(fs.get("srv/app.js").is_some());
        let d = &fs.deleted()[0];
        assert_eq!((d.path.as_str(), d.layer, d.deleted_in), ("srv/.env", 0, 1));
    }

    #[test]
    fn opaque_dir_hides_lower_children_but_keeps_same_layer_ones() {
        let mut fs = FileSystem::new();
        fs.apply_layer(&[
            dir("etc"),
            file("etc/a", 1),
            dir("etc/sub"),
            file("etc/sub/b", 1),
            file("etcetera", 1),
        ]);
        fs.apply_layer(&[file("etc/new", 2), opaque("etc")]);
        assert!(fs.get("etc/a").is_none());
        assert!(fs.get("etc/sub/b").is_none());
        assert!(fs.get("etc/new").is_some());
        assert!(fs.get("etc").is_some());
        assert!(
            fs.get("etcetera").is_some(),
            "siblings sharing a name prefix survive"
        );
    }

    #[test]
    fn replacing_a_file_records_added_and_changed_layers() {
        let mut fs = FileSystem::new();
        fs.apply_layer(&[file("etc/passwd", 10)]);
        fs.apply_layer(&[file("etc/passwd", 20)]);
        let n = fs.get("etc/passwd").unwrap();
        assert_eq!((n.added_in, n.layer, n.size), (0, 1, 20));
        assert!(fs.get("etc").unwrap().implicit);
    }

    #[test]
    fn symlinks_resolve_inside_the_root_only() {
        let mut fs = FileSystem::new();
        fs.apply_layer(&[
            dir("usr"),
            dir("usr/lib"),
            file("usr/lib/os-release", 5),
            dir("etc"),
            symlink("etc/os-release", "../usr/lib/os-release"),
            symlink("etc/abs", "/usr/lib/os-release"),
            symlink("etc/escape", "../../../../usr/lib/os-release"),
            symlink("etc/loop1", "loop2"),
            symlink("etc/loop2", "loop1"),
            symlink("etc/dangling", "/nope"),
        ]);
        assert_eq!(
            fs.resolve("etc/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            fs.resolve("/etc/abs").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            fs.resolve("etc/escape").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(fs.resolve("etc/loop1"), None);
        assert_eq!(fs.resolve("etc/dangling"), None);
    }

    #[test]
    fn hardlink_to_missing_target_is_dangling_not_a_panic() {
        let mut fs = FileSystem::new();
        let link = EntryMeta {
            kind: EntryKind::Hardlink,
            link: Some("nope".into()),
            ..file("a", 0)
        };
        fs.apply_layer(&[link]);
        assert_eq!(fs.data_path("a"), None);
    }

    #[test]
    fn file_replacing_directory_removes_its_children() {
        let mut fs = FileSystem::new();
        fs.apply_layer(&[dir("d"), file("d/x", 1)]);
        fs.apply_layer(&[file("d", 3)]);
        assert!(fs.get("d/x").is_none());
        assert_eq!(fs.get("d").unwrap().kind, EntryKind::File);
    }
}
