//! Per-layer summaries: compression, uncompressed size and every entry's metadata, computed
//! by streaming the layer once and kept in the layer cache so the next run reads no blob.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::cache::LayerCache;
use crate::fs::{walk_layer, EntryMeta, FileSystem, WalkError};
use crate::image::{Image, ImageError};
use crate::layer::Compression;

/// Bump when the summary format or the walker's behaviour changes.
pub const SUMMARY_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
/// What one layer holds: the metadata of every entry, as the layer cache stores it.
pub struct LayerSummary {
    /// Compression found when the layer was streamed. The cache is keyed by diff-id, so a
    /// summary from the cache may come from another blob with the same content.
    pub compression: Compression,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_size: u64,
    /// Every entry, in the order the tar lists them.
    pub entries: Vec<EntryMeta>,
}

impl LayerSummary {
    /// Number of entries that are regular files.
    pub fn file_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_file()).count()
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "gzip" => Compression::Gzip,
            "zstd" => Compression::Zstd,
            _ => Compression::None,
        })
    }
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn walk_err(what: String) -> impl FnOnce(WalkError) -> ImageError {
    move |e| match e {
        WalkError::Io(source) => ImageError::Io { what, source },
        WalkError::Tar(t) => ImageError::Invalid {
            what,
            reason: t.to_string(),
        },
    }
}

/// Streams layer `index`, calling `on_entry` for every entry with its data, and returns the
/// summary. Digests are checked before this returns `Ok`.
pub fn stream_layer(
    image: &Image,
    index: usize,
    on_entry: impl FnMut(&EntryMeta, &mut dyn Read) -> io::Result<()>,
) -> Result<LayerSummary, ImageError> {
    let (compression, reader) = image.open_layer(index)?;
    let mut counting = CountingReader {
        inner: reader,
        count: 0,
    };
    let what = format!("layer {index} of {}", image.name);
    let entries = walk_layer(&mut counting, on_entry).map_err(walk_err(what))?;
    Ok(LayerSummary {
        compression,
        uncompressed_size: counting.count,
        entries,
    })
}

/// The summary of layer `index` from the cache, or by streaming it (and caching it).
pub fn layer_summary(
    image: &Image,
    index: usize,
    cache: Option<&LayerCache>,
) -> Result<LayerSummary, ImageError> {
    let layer = &image.layers[index];
    let cache = cache.filter(|_| image.cacheable());
    let key = LayerCache::key("summary", SUMMARY_VERSION, &layer.diff_id);
    if let Some(c) = cache {
        if let Some(bytes) = c.get(&key) {
            if let Ok(s) = decode(&bytes) {
                return Ok(s);
            }
        }
    }
    let s = stream_layer(image, index, |_, _| Ok(()))?;
    if let Some(c) = cache {
        let _ = c.put(&key, &encode(&s));
    }
    Ok(s)
}

/// Stores a summary produced elsewhere (for example by a scan that streamed the layer).
pub fn cache_summary(cache: &LayerCache, diff_id: &crate::Digest, s: &LayerSummary) {
    let _ = cache.put(
        &LayerCache::key("summary", SUMMARY_VERSION, diff_id),
        &encode(s),
    );
}

/// Looks a summary up in the cache only.
pub fn cached_summary(cache: &LayerCache, diff_id: &crate::Digest) -> Option<LayerSummary> {
    cache
        .get(&LayerCache::key("summary", SUMMARY_VERSION, diff_id))
        .and_then(|b| decode(&b).ok())
}

fn encode(s: &LayerSummary) -> Vec<u8> {
    let json = serde_json::to_vec(s).expect("summary serialises");
    zstd::encode_all(&json[..], 3).expect("in-memory zstd")
}

fn decode(b: &[u8]) -> Result<LayerSummary, io::Error> {
    let json = zstd::decode_all(b)?;
    serde_json::from_slice(&json).map_err(io::Error::other)
}

/// Builds the merged filesystem of the whole image from layer summaries.
pub fn filesystem(
    image: &Image,
    cache: Option<&LayerCache>,
) -> Result<(FileSystem, Vec<LayerSummary>), ImageError> {
    let mut fs = FileSystem::new();
    let mut out = Vec::with_capacity(image.layers.len());
    for i in 0..image.layers.len() {
        let s = layer_summary(image, i, cache)?;
        fs.apply_layer(&s.entries);
        out.push(s);
    }
    Ok((fs, out))
}
