//! Writing an OCI image layout directory: blobs verified as they land, `index.json` replaced
//! atomically. (Copying whole images, to a layout or a registry, is `customs-registry`'s.)

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::digest::{Digest, VerifyingReader};
use crate::image::ImageError;
use crate::manifest::{media_type, Descriptor, Index};

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// Writes an OCI image layout: blobs land in a temporary file and are renamed into place
/// only after their digest checked out; `index.json` is replaced atomically.
pub struct OciLayoutWriter {
    dir: PathBuf,
    index_lock: Mutex<()>,
}

impl OciLayoutWriter {
    /// Creates (or reopens) an OCI layout at `dir`: `oci-layout`, `blobs/sha256/` and an `index.json`.
    pub fn create(dir: &Path) -> Result<OciLayoutWriter, ImageError> {
        let what = format!("creating OCI layout {}", dir.display());
        fs::create_dir_all(dir.join("blobs/sha256")).map_err(io_err(what.clone()))?;
        let layout = dir.join("oci-layout");
        if !layout.exists() {
            fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(io_err(what.clone()))?;
        }
        let index = dir.join("index.json");
        if !index.exists() {
            fs::write(&index, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#)
                .map_err(io_err(what))?;
        }
        Ok(OciLayoutWriter {
            dir: dir.to_path_buf(),
            index_lock: Mutex::new(()),
        })
    }

    /// Streams a blob into the layout, verifying it; an existing blob is kept.
    pub fn write_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
        src: impl Read,
    ) -> Result<(), ImageError> {
        let dir = self.dir.join("blobs").join(digest.algorithm().name());
        let final_path = dir.join(digest.hex());
        let what = format!("writing blob {digest}");
        if final_path.exists() {
            return Ok(());
        }
        fs::create_dir_all(&dir).map_err(io_err(what.clone()))?;
        let tmp = dir.join(format!(".{}.{}.partial", digest.hex(), std::process::id()));
        let result = (|| -> io::Result<()> {
            let mut out = io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            let mut v = VerifyingReader::new(src, digest.clone(), size, what.clone());
            io::copy(&mut v, &mut out)?;
            out.flush()?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(ImageError::Io { what, source: e });
        }
        fs::rename(&tmp, &final_path).map_err(io_err(what))
    }

    /// Adds (or replaces, by ref name) a manifest descriptor in `index.json`.
    pub fn add_manifest(&self, desc: Descriptor) -> Result<(), ImageError> {
        let _guard = self.index_lock.lock().unwrap();
        let path = self.dir.join("index.json");
        let what = format!("updating {}", path.display());
        let bytes = fs::read(&path).map_err(io_err(what.clone()))?;
        let mut index: Index = serde_json::from_slice(&bytes).map_err(|e| ImageError::Invalid {
            what: what.clone(),
            reason: e.to_string(),
        })?;
        const REF: &str = "org.opencontainers.image.ref.name";
        let name = desc.annotations.get(REF).cloned();
        index.manifests.retain(|m| match &name {
            Some(n) => m.annotations.get(REF) != Some(n),
            None => m.digest != desc.digest,
        });
        index.manifests.push(desc);
        if index.media_type.is_none() {
            index.media_type = Some(media_type::OCI_INDEX.into());
        }
        let out = serde_json::to_vec(&index).map_err(|e| ImageError::Invalid {
            what: what.clone(),
            reason: e.to_string(),
        })?;
        let tmp = self.dir.join(".index.json.partial");
        fs::write(&tmp, out).map_err(io_err(what.clone()))?;
        fs::rename(&tmp, &path).map_err(io_err(what))
    }

    /// The layout's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
