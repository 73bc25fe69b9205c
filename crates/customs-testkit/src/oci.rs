//! Hand-made OCI layouts for tests: ustar entries built byte by byte (so tests can write
//! hostile names, links and sizes no tar library would), and a one-layer layout around them.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

/// A ustar header block with any name and link (up to 100 bytes each).
pub fn header(name: &str, typeflag: u8, size: u64, link: &str) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b[100..107].copy_from_slice(b"0000644");
    b[108..115].copy_from_slice(b"0000000");
    b[116..123].copy_from_slice(b"0000000");
    b[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    b[136..147].copy_from_slice(b"00000000000");
    b[156] = typeflag;
    b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| x as u64).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

/// A regular file entry, padded to the block size.
pub fn file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut v = header(name, b'0', data.len() as u64, "");
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

/// Appends the two end-of-archive blocks.
pub fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend([0u8; 1024]);
    tar
}

/// A tar of regular files with the end blocks.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    end(files.iter().flat_map(|(n, d)| file(n, d)).collect())
}

/// Lowercase hex SHA-256 of `b`.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// `b`, gzip-compressed (fast level).
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A one-layer OCI layout in a temporary directory; the layer is `tar`, gzip-compressed.
pub struct Layout {
    /// The layout directory, removed on drop.
    pub dir: tempfile::TempDir,
    /// The layer blob's path, for tests that corrupt it.
    pub layer: PathBuf,
}

impl Layout {
    /// Writes a layout whose one layer is `tar`, gzip-compressed.
    pub fn new(tar: &[u8]) -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let layer = write_layout(dir.path(), tar);
        Layout { dir, layer }
    }

    /// `oci:<dir>`, as users name it.
    pub fn target(&self) -> String {
        format!("oci:{}", self.dir.path().display())
    }
}

/// Writes `oci-layout`, `index.json`, config, manifest and the gzip layer into `dir`; returns
/// the layer blob's path.
pub fn write_layout(dir: &Path, tar: &[u8]) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let h = sha256_hex(b);
        std::fs::write(blobs.join(&h), b).unwrap();
        h
    };
    let gz = gzip(tar);
    let layer = put(&gz);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        sha256_hex(tar)
    );
    let config_digest = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{layer}","size":{}}}]}}"#,
        config.len(),
        gz.len()
    );
    let m = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    set_index(dir, &m, manifest.len());
    blobs.join(layer)
}

/// Points `index.json` at one manifest.
pub fn set_index(dir: &Path, manifest_hex: &str, size: usize) {
    std::fs::write(
        dir.join("index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_hex}","size":{size}}}]}}"#),
    )
    .unwrap();
}

/// go-containerregistry's `empty.Image` (Docker schema 2, no layers): its config and
/// manifest bytes. The manifest digest is `sha256:732112…`, the in-toto subject of the keyless
/// bundle in `shared/cosign/bundles/` (cosign's tests attach that bundle to `empty.Image`).
pub fn empty_image() -> (Vec<u8>, String) {
    use customs_image::manifest::media_type;
    let config = br#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}"#.to_vec();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{}"}},"layers":[]}}"#,
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_CONFIG,
        config.len(),
        customs_image::Digest::sha256_of(&config)
    );
    (config, manifest)
}

/// Writes [`empty_image`] into the layout `dir`, tagged `latest`, and returns
/// `oci:<dir>:latest`.
pub fn write_empty_image(dir: &Path) -> String {
    use customs_image::copy::OciLayoutWriter;
    use customs_image::manifest::{media_type, Descriptor};
    use customs_image::Digest;
    let w = OciLayoutWriter::create(dir).unwrap();
    let (config, manifest) = empty_image();
    let config_digest = Digest::sha256_of(&config);
    w.write_blob(&config_digest, Some(config.len() as u64), &config[..])
        .unwrap();
    let digest = Digest::sha256_of(manifest.as_bytes());
    w.write_blob(&digest, Some(manifest.len() as u64), manifest.as_bytes())
        .unwrap();
    w.add_manifest(Descriptor {
        media_type: media_type::DOCKER_MANIFEST.into(),
        digest,
        size: manifest.len() as u64,
        urls: vec![],
        annotations: [(
            "org.opencontainers.image.ref.name".to_string(),
            "latest".to_string(),
        )]
        .into(),
        platform: None,
        artifact_type: None,
    })
    .unwrap();
    format!("oci:{}:latest", dir.display())
}
