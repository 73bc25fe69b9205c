//! Builds OCI image layouts in a directory from Rust: layers are tar streams made with the
//! `tar` crate (PAX xattrs and whiteouts included), optionally gzip-compressed; config,
//! manifest and `index.json` are written with their sha256 digests, so `Image::open` reads
//! them like any other layout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What one tar entry is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A regular file with these contents.
    File(Vec<u8>),
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
}

/// One tar entry of a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the layer, as written to the tar header.
    pub path: String,
    /// What the entry is.
    pub kind: Kind,
    /// Permission bits.
    pub mode: u32,
    /// Owner's numeric user id.
    pub uid: u64,
    /// Owner's numeric group id.
    pub gid: u64,
    /// PAX `SCHILY.xattr.*` records (name, raw value).
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// A regular file, mode 0644, owned by root.
pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Entry {
    Entry {
        path: path.into(),
        kind: Kind::File(data.into()),
        mode: 0o644,
        uid: 0,
        gid: 0,
        xattrs: vec![],
    }
}

/// A directory, mode 0755, owned by root.
pub fn dir(path: &str) -> Entry {
    Entry {
        kind: Kind::Dir,
        mode: 0o755,
        ..file(path, "")
    }
}

/// A symlink to `target`, mode 0777, owned by root.
pub fn symlink(path: &str, target: &str) -> Entry {
    Entry {
        kind: Kind::Symlink(target.into()),
        mode: 0o777,
        ..file(path, "")
    }
}

/// The whiteout that deletes `path` from lower layers.
pub fn whiteout(path: &str) -> Entry {
    let (d, name) = path.rsplit_once('/').unwrap_or(("", path));
    let wh = if d.is_empty() {
        format!(".wh.{name}")
    } else {
        format!("{d}/.wh.{name}")
    };
    Entry {
        mode: 0,
        ..file(&wh, "")
    }
}

impl Entry {
    /// The same entry with permission bits `mode`.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// The same entry owned by `uid`:`gid`.
    pub fn owner(mut self, uid: u64, gid: u64) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
    /// The same entry with the extended attribute `key` = `value` added.
    pub fn xattr(mut self, key: &str, value: &[u8]) -> Self {
        self.xattrs.push((key.into(), value.to_vec()));
        self
    }
}

/// An image to write.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The layers, bottom first, each a list of tar entries in order.
    pub layers: Vec<Vec<Entry>>,
    /// The config's `config` object (`User`, `Env`, ...).
    pub config: Value,
    /// History entries; when empty, one `created_by: "layer N"` entry per layer.
    pub history: Vec<Value>,
    /// The config's `created` time (RFC 3339), also stamped on generated history; left out when `None`.
    pub created: Option<String>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Compress the layers with gzip (else plain tar).
    pub gzip: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            layers: vec![],
            config: json!({}),
            history: vec![],
            created: Some("2026-11-20T00:00:00Z".into()),
            annotations: BTreeMap::new(),
            gzip: true,
        }
    }
}

/// A small base filesystem: directories, `/etc/passwd`, `/etc/group`, a locked
/// `/etc/shadow`, `/tmp` 1777, and nothing executable (a distroless-like base).
pub fn base_layer() -> Vec<Entry> {
    vec![
        dir("etc"),
        file(
            "etc/passwd",
            "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\napp:x:1000:1000::/home/app:/sbin/nologin\n",
        ),
        file("etc/group", "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n"),
        file("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:!:19000::::::\napp:!*:19000::::::\n")
            .mode(0o640),
        file(
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        ),
        dir("tmp").mode(0o1777),
        dir("usr"),
        dir("usr/bin"),
        dir("var"),
        dir("var/lib"),
        dir("var/lib/dpkg"),
        file("var/lib/dpkg/status", "Package: base-files\nStatus: install ok installed\n"),
        dir("app"),
        file("app/server", vec![0x7f, b'E', b'L', b'F', 0, 0, 0, 0]).mode(0o755),
        file("app/index.html", "<p>hello</p>\n".repeat(80)),
    ]
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        if !e.xattrs.is_empty() {
            let keys: Vec<(String, Vec<u8>)> = e
                .xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.clone()))
                .collect();
            b.append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(1_700_000_000);
        match &e.kind {
            Kind::File(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, &e.path, data.as_slice()).unwrap();
            }
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, &e.path, std::io::empty()).unwrap();
            }
            Kind::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &e.path, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let hex = sha256_hex(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

/// Writes the image as an OCI layout in `dir` and returns the `oci:DIR` target.
pub fn build(dir: &Path, spec: &Spec) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut diff_ids = Vec::new();
    let mut layer_descs = Vec::new();
    for entries in &spec.layers {
        let tar = layer_tar(entries);
        diff_ids.push(format!("sha256:{}", sha256_hex(&tar)));
        let (blob, media) = if spec.gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar).unwrap();
            (
                gz.finish().unwrap(),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        } else {
            (tar, "application/vnd.oci.image.layer.v1.tar")
        };
        let digest = put_blob(dir, &blob);
        layer_descs.push(json!({"mediaType": media, "digest": digest, "size": blob.len()}));
    }
    let history: Vec<Value> = if spec.history.is_empty() {
        (0..spec.layers.len())
            .map(|i| json!({"created": spec.created, "created_by": format!("layer {i}")}))
            .collect()
    } else {
        spec.history.clone()
    };
    let mut config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": spec.config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    if let Some(c) = &spec.created {
        config["created"] = json!(c);
    }
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = put_blob(dir, &config_bytes);
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_bytes.len(),
        },
        "layers": layer_descs,
    });
    if !spec.annotations.is_empty() {
        manifest["annotations"] = json!(spec.annotations);
    }
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = put_blob(dir, &manifest_bytes);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    format!("oci:{}", dir.display())
}
