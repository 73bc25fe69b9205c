//! Layer streams: compression detected by magic bytes (gzip, including multi-member, zstd,
//! or none), decompressed on the fly, with the compressed digest and the diff-id both checked
//! when the stream ends and the uncompressed size bounded.

use std::io::{self, BufRead, BufReader, Read};

use crate::digest::{Digest, VerifyingReader};

/// How a layer blob is compressed, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (magic `1f 8b`).
    Gzip,
    /// zstd (magic `28 b5 2f fd`).
    Zstd,
}

impl Compression {
    /// Judges the compression from the first bytes of a blob (four are enough).
    pub fn detect(prefix: &[u8]) -> Compression {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Limits applied to every layer stream.
#[derive(Debug, Clone, Copy)]
pub struct LayerLimits {
    /// Largest uncompressed layer accepted.
    pub max_uncompressed: u64,
    /// Largest expansion ratio accepted once the layer is past `ratio_floor` bytes.
    pub max_ratio: u64,
    /// Bytes of output below which the ratio is not checked, so small layers that compress well pass.
    pub ratio_floor: u64,
}

impl Default for LayerLimits {
    fn default() -> Self {
        LayerLimits {
            max_uncompressed: 64 << 30,
            max_ratio: 1000,
            ratio_floor: 1 << 30,
        }
    }
}

/// Wraps a compressed blob stream: detects the compression, decompresses, and, when
/// `diff_id` is given, verifies the uncompressed bytes against it at end of stream.
pub fn decompressed(
    blob: impl Read + Send + 'static,
    diff_id: Option<Digest>,
    limits: LayerLimits,
    what: &str,
) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let counter = Counted {
        inner: blob,
        count: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };
    let compressed_count = counter.count.clone();
    let mut buffered = BufReader::with_capacity(256 * 1024, counter);
    let compression = Compression::detect(buffered.fill_buf()?);
    let plain: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    // Decompress on a second thread so inflating overlaps with hashing and tar parsing.
    let plain: Box<dyn Read + Send> = match compression {
        Compression::None => plain,
        _ => Box::new(Pipelined::spawn(plain)),
    };
    let bounded = Bounded {
        inner: plain,
        read: 0,
        limits,
        compressed: compressed_count,
        what: what.to_string(),
    };
    let out: Box<dyn Read + Send> = match diff_id {
        Some(d) => Box::new(VerifyingReader::new(
            bounded,
            d,
            None,
            format!("{what} (uncompressed)"),
        )),
        None => Box::new(bounded),
    };
    Ok((compression, out))
}

/// A reader whose bytes are produced by another thread, a few chunks ahead. Errors travel
/// in order with the data; dropping the reader stops the producer.
struct Pipelined {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

const PIPE_CHUNK: usize = 256 * 1024;
const PIPE_DEPTH: usize = 8;

impl Pipelined {
    fn spawn(mut inner: Box<dyn Read + Send>) -> Pipelined {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPE_DEPTH);
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; PIPE_CHUNK];
            let mut filled = 0;
            let result = loop {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == buf.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            buf.truncate(filled);
            let end = filled == 0;
            let sent = match result {
                Ok(()) if end => tx.send(Ok(Vec::new())),
                Ok(()) => tx.send(Ok(buf)),
                Err(e) => {
                    if filled > 0 && tx.send(Ok(buf)).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            if sent.is_err() || end {
                return;
            }
        });
        Pipelined {
            rx,
            current: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for Pipelined {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("decompression thread stopped"));
                }
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct Counted<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

struct Bounded<R> {
    inner: R,
    read: u64,
    limits: LayerLimits,
    compressed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    what: String,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limits.max_uncompressed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: uncompressed size exceeds the {}-byte limit",
                    self.what, self.limits.max_uncompressed
                ),
            ));
        }
        if self.read > self.limits.ratio_floor {
            let c = self
                .compressed
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(1);
            if self.read / c > self.limits.max_ratio {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: expands more than {}x ({} bytes from {}); refusing a likely decompression bomb",
                        self.what, self.limits.max_ratio, self.read, c
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(Compression::detect(&gzip(b"x")), Compression::Gzip);
        assert_eq!(
            Compression::detect(&zstd::encode_all(&b"x"[..], 1).unwrap()),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(b"plain"), Compression::None);
    }

    #[test]
    fn multi_member_gzip_reads_every_member() {
        let mut data = gzip(b"hello ");
        data.extend(gzip(b"world"));
        let (_, mut r) = decompressed(
            std::io::Cursor::new(data),
            Some(Digest::sha256_of(b"hello world")),
            LayerLimits::default(),
            "t",
        )
        .unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello world");
    }

    #[test]
    fn wrong_diff_id_fails_at_end() {
        let (_, mut r) = decompressed(
            std::io::Cursor::new(gzip(b"abc")),
            Some(Digest::sha256_of(b"abd")),
            LayerLimits::default(),
            "t",
        )
        .unwrap();
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gzip(&zeros);
        let limits = LayerLimits {
            max_uncompressed: 1 << 40,
            max_ratio: 100,
            ratio_floor: 1 << 20,
        };
        let (_, mut r) = decompressed(std::io::Cursor::new(bomb), None, limits, "bomb").unwrap();
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("decompression bomb"), "{err}");
        let limits = LayerLimits {
            max_uncompressed: 1 << 20,
            ..LayerLimits::default()
        };
        let (_, mut r) =
            decompressed(std::io::Cursor::new(gzip(&zeros)), None, limits, "big").unwrap();
        assert!(std::io::copy(&mut r, &mut std::io::sink()).is_err());
    }
}
