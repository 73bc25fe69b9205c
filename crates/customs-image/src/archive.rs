//! Image archives and layout directories on disk: OCI image layouts (directory or tar) and
//! `docker save` tarballs, plain or compressed. Members of a plain tar are located by
//! scanning its headers once and then read with seeks. A compressed tar is inflated once to
//! index it (keeping its small members), and at most once more: the first time a large
//! member is opened, every large member is spooled to an unlinked temporary file and read
//! from there, so opening N layers costs two passes, not N. The outer stream is bounded by
//! the same size and expansion limits as a layer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::layer::{Compression, LayerLimits};
use crate::tar::{normalize_path, EntryKind, TarReader};

/// Members up to this size are kept in memory when a compressed archive is indexed.
const SMALL_MEMBER: u64 = 1 << 20;
/// Bytes of every member's start remembered for sniffing.
const HEAD_BYTES: usize = 16;
/// At most this much is kept in all.
const SMALL_TOTAL: u64 = 16 << 20;

/// Where the members of an archive or layout live.
#[derive(Debug, Clone)]
pub enum Container {
    /// An OCI layout directory.
    Dir(PathBuf),
    /// An uncompressed tar file, indexed: member path → (data offset, size).
    Tar {
        /// The archive file.
        path: PathBuf,
        /// Member path → (byte offset of the member's data in the file, its size in bytes).
        members: HashMap<String, (u64, u64)>,
    },
    /// A compressed tar file, indexed in one pass; large members are spooled on first use.
    CompressedTar(Arc<Compressed>),
}

/// The state of a compressed archive.
#[derive(Debug)]
pub struct Compressed {
    path: PathBuf,
    limits: LayerLimits,
    members: HashMap<String, u64>,
    /// Members small enough to keep from the indexing pass.
    small: HashMap<String, Vec<u8>>,
    /// The first bytes of every other member (to sniff layer compression).
    heads: HashMap<String, Vec<u8>>,
    /// The large members, once spooled: member → (offset, size) in the file.
    spool: Mutex<Option<Arc<Spool>>>,
    /// Uncompressed bytes produced so far, over every pass.
    inflated: Arc<AtomicU64>,
}

/// The spool file of a compressed archive's large members, and where each one lies in it:
/// member → (offset, size).
type Spool = (File, HashMap<String, (u64, u64)>);

fn duplicate(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{name} appears twice in the archive; refusing to guess which copy a runtime reads"
        ),
    )
}

impl Container {
    /// Opens a directory, or indexes a tar file (compressed or not), with default limits.
    pub fn open(path: &Path) -> io::Result<Container> {
        Container::open_with_limits(path, LayerLimits::default())
    }

    /// Opens a directory, or indexes a tar file; a compressed one is inflated within `limits`.
    pub fn open_with_limits(path: &Path, limits: LayerLimits) -> io::Result<Container> {
        if path.is_dir() {
            return Ok(Container::Dir(path.to_path_buf()));
        }
        let mut f = File::open(path)?;
        let mut magic = [0u8; 4];
        let n = f.read(&mut magic)?;
        let compression = Compression::detect(&magic[..n]);
        f.seek(SeekFrom::Start(0))?;
        match compression {
            Compression::None => {
                let mut tar = TarReader::new(BufReader::new(f));
                let mut members = HashMap::new();
                while let Some((h, offset)) = tar.next_entry_seeking().map_err(to_io)? {
                    if h.kind == EntryKind::File {
                        let name = normalize_path(&h.path);
                        if members.insert(name.clone(), (offset, h.size)).is_some() {
                            return Err(duplicate(&name));
                        }
                    }
                }
                Ok(Container::Tar {
                    path: path.to_path_buf(),
                    members,
                })
            }
            _ => {
                let inflated = Arc::new(AtomicU64::new(0));
                let mut tar = TarReader::new(inflate(path, limits, &inflated)?);
                let mut members = HashMap::new();
                let mut small = HashMap::new();
                let mut heads = HashMap::new();
                let mut kept = 0u64;
                while let Some(h) = tar.next_entry().map_err(to_io)? {
                    if h.kind == EntryKind::File {
                        let name = normalize_path(&h.path);
                        // Manifests, configs and indexes are small: keep them so opening
                        // the image costs one pass over the archive.
                        if h.size <= SMALL_MEMBER && kept + h.size <= SMALL_TOTAL {
                            let mut data = Vec::with_capacity(h.size as usize);
                            tar.read_to_end(&mut data)?;
                            kept += data.len() as u64;
                            small.insert(name.clone(), data);
                        } else {
                            let mut head = Vec::with_capacity(HEAD_BYTES);
                            (&mut tar).take(HEAD_BYTES as u64).read_to_end(&mut head)?;
                            heads.insert(name.clone(), head);
                        }
                        if members.insert(name.clone(), h.size).is_some() {
                            return Err(duplicate(&name));
                        }
                    }
                }
                io::copy(&mut tar.into_inner(), &mut io::sink())?;
                Ok(Container::CompressedTar(Arc::new(Compressed {
                    path: path.to_path_buf(),
                    limits,
                    members,
                    small,
                    heads,
                    spool: Mutex::new(None),
                    inflated,
                })))
            }
        }
    }

    /// Uncompressed bytes inflated so far from a compressed archive (0 for other kinds).
    pub fn inflated_bytes(&self) -> u64 {
        match self {
            Container::CompressedTar(c) => c.inflated.load(Ordering::Relaxed),
            _ => 0,
        }
    }

    /// Whether a member exists (a file in the directory or tar).
    pub fn contains(&self, member: &str) -> bool {
        let member = normalize_path(member);
        match self {
            Container::Dir(d) => d.join(&member).is_file(),
            Container::Tar { members, .. } => members.contains_key(&member),
            Container::CompressedTar(c) => c.members.contains_key(&member),
        }
    }

    /// Size of a member, when known.
    pub fn size(&self, member: &str) -> Option<u64> {
        let member = normalize_path(member);
        match self {
            Container::Dir(d) => std::fs::metadata(d.join(&member)).ok().map(|m| m.len()),
            Container::Tar { members, .. } => members.get(&member).map(|m| m.1),
            Container::CompressedTar(c) => c.members.get(&member).copied(),
        }
    }

    /// Opens a member for reading. Paths are normalised, so `../` cannot leave the archive.
    pub fn open_member(&self, member: &str) -> io::Result<Box<dyn Read + Send>> {
        let member = normalize_path(member);
        let missing = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{member}: not found in the archive"),
            )
        };
        match self {
            Container::Dir(d) => {
                let p = d.join(&member);
                // Refuse symlinks that leave the layout directory.
                let canon = p.canonicalize().map_err(|_| missing())?;
                let root = d.canonicalize()?;
                if !canon.starts_with(&root) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{member}: points outside the layout directory"),
                    ));
                }
                Ok(Box::new(BufReader::with_capacity(
                    256 * 1024,
                    File::open(canon)?,
                )))
            }
            Container::Tar { path, members } => {
                let &(offset, size) = members.get(&member).ok_or_else(missing)?;
                let mut f = File::open(path)?;
                f.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(BufReader::with_capacity(256 * 1024, f.take(size))))
            }
            Container::CompressedTar(c) => {
                if let Some(data) = c.small.get(&member) {
                    return Ok(Box::new(io::Cursor::new(data.clone())));
                }
                if !c.members.contains_key(&member) {
                    return Err(missing());
                }
                let spool = c.spooled()?;
                let &(offset, size) = spool.1.get(&member).ok_or_else(missing)?;
                Ok(Box::new(BufReader::with_capacity(
                    256 * 1024,
                    SpoolReader {
                        spool,
                        pos: offset,
                        end: offset + size,
                    },
                )))
            }
        }
    }

    /// The first bytes of a member (up to 16), without another pass over a compressed archive.
    pub fn head(&self, member: &str) -> io::Result<Vec<u8>> {
        let member = normalize_path(member);
        if let Container::CompressedTar(c) = self {
            if let Some(h) = c.heads.get(&member).or_else(|| c.small.get(&member)) {
                return Ok(h[..h.len().min(HEAD_BYTES)].to_vec());
            }
        }
        let mut head = Vec::with_capacity(HEAD_BYTES);
        self.open_member(&member)?
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    }

    /// Reads a whole member, refusing members larger than `limit`.
    pub fn read_member(&self, member: &str, limit: u64) -> io::Result<Vec<u8>> {
        if let Some(size) = self.size(member) {
            if size > limit {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{member}: {size} bytes exceeds the {limit}-byte limit"),
                ));
            }
        }
        let mut out = Vec::new();
        self.open_member(member)?
            .take(limit + 1)
            .read_to_end(&mut out)?;
        if out.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{member}: exceeds the {limit}-byte limit"),
            ));
        }
        Ok(out)
    }
}

impl Compressed {
    /// The spool of large members, written by one more pass the first time it is needed.
    fn spooled(&self) -> io::Result<Arc<Spool>> {
        let mut guard = self.spool.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let mut file = tempfile::tempfile()?;
        let mut offsets = HashMap::new();
        let mut tar = TarReader::new(inflate(&self.path, self.limits, &self.inflated)?);
        let mut written = 0u64;
        while let Some(h) = tar.next_entry().map_err(to_io)? {
            let name = normalize_path(&h.path);
            if h.kind != EntryKind::File || self.small.contains_key(&name) {
                continue;
            }
            if self.members.get(&name) != Some(&h.size) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{name}: the archive changed while it was read"),
                ));
            }
            let n = io::copy(&mut (&mut tar).take(h.size), &mut file)?;
            if n != h.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{name}: archive member cut short"),
                ));
            }
            offsets.insert(name, (written, n));
            written += n;
        }
        let s = Arc::new((file, offsets));
        *guard = Some(s.clone());
        Ok(s)
    }
}

/// Reads one member's bytes from the spool file with positioned reads (members opened
/// together do not share a file offset).
struct SpoolReader {
    spool: Arc<Spool>,
    pos: u64,
    end: u64,
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min((self.end - self.pos).min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.spool.0.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "spooled archive member cut short",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The archive's uncompressed stream, bounded by `limits`, counting into `inflated`.
fn inflate(
    path: &Path,
    limits: LayerLimits,
    inflated: &Arc<AtomicU64>,
) -> io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    let (_, r) = crate::layer::decompressed(f, None, limits, &path.display().to_string())?;
    Ok(Box::new(Counting {
        inner: r,
        count: inflated.clone(),
    }))
}

struct Counting {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn to_io(e: crate::tar::TarError) -> io::Error {
    match e {
        crate::tar::TarError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}
