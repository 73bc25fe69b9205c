//! Image archives and layout directories on disk: OCI image layouts (directory or tar) and
//! `docker save` tarballs, plain or compressed. Members are located by scanning tar headers
//! once and then read with seeks, so nothing is extracted to the host.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::layer::Compression;
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
        path: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
    /// A compressed tar file: each member read means one sequential pass.
    CompressedTar {
        path: PathBuf,
        compression: Compression,
        members: HashMap<String, u64>,
        /// Members small enough to keep from the indexing pass.
        small: HashMap<String, Vec<u8>>,
        /// The first bytes of every other member (to sniff layer compression).
        heads: HashMap<String, Vec<u8>>,
    },
}

impl Container {
    /// Opens a directory, or indexes a tar file (compressed or not).
    pub fn open(path: &Path) -> io::Result<Container> {
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
                        members.insert(normalize_path(&h.path), (offset, h.size));
                    }
                }
                Ok(Container::Tar {
                    path: path.to_path_buf(),
                    members,
                })
            }
            c => {
                let mut tar = TarReader::new(decoder(f, c)?);
                let mut members = HashMap::new();
                let mut small = HashMap::new();
                let mut heads = HashMap::new();
                let mut kept = 0u64;
                while let Some(h) = tar.next_entry().map_err(to_io)? {
                    if h.kind == EntryKind::File {
                        let name = normalize_path(&h.path);
                        // Manifests, configs and indexes are small: keep them so opening
                        // the image costs one pass over the archive, not one per member.
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
                        members.insert(name, h.size);
                    }
                }
                Ok(Container::CompressedTar {
                    path: path.to_path_buf(),
                    compression: c,
                    members,
                    small,
                    heads,
                })
            }
        }
    }

    /// Whether a member exists (a file in the directory or tar).
    pub fn contains(&self, member: &str) -> bool {
        let member = normalize_path(member);
        match self {
            Container::Dir(d) => d.join(&member).is_file(),
            Container::Tar { members, .. } => members.contains_key(&member),
            Container::CompressedTar { members, .. } => members.contains_key(&member),
        }
    }

    /// Size of a member, when known.
    pub fn size(&self, member: &str) -> Option<u64> {
        let member = normalize_path(member);
        match self {
            Container::Dir(d) => std::fs::metadata(d.join(&member)).ok().map(|m| m.len()),
            Container::Tar { members, .. } => members.get(&member).map(|m| m.1),
            Container::CompressedTar { members, .. } => members.get(&member).copied(),
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
            Container::CompressedTar { small, .. } if small.contains_key(&member) => {
                Ok(Box::new(io::Cursor::new(small[&member].clone())))
            }
            Container::CompressedTar {
                path, compression, ..
            } => {
                let f = File::open(path)?;
                let mut tar = TarReader::new(decoder(f, *compression)?);
                while let Some(h) = tar.next_entry().map_err(to_io)? {
                    if h.kind == EntryKind::File && normalize_path(&h.path) == member {
                        return Ok(Box::new(tar));
                    }
                }
                Err(missing())
            }
        }
    }

    /// The first bytes of a member (up to 16), without another pass over a compressed archive.
    pub fn head(&self, member: &str) -> io::Result<Vec<u8>> {
        let member = normalize_path(member);
        if let Container::CompressedTar { small, heads, .. } = self {
            if let Some(h) = heads.get(&member).or_else(|| small.get(&member)) {
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

fn decoder(f: File, c: Compression) -> io::Result<Box<dyn Read + Send>> {
    let b = BufReader::with_capacity(256 * 1024, f);
    Ok(match c {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(b)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(b)?),
        Compression::None => Box::new(b),
    })
}

fn to_io(e: crate::tar::TarError) -> io::Error {
    match e {
        crate::tar::TarError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}
