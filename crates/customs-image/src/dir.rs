//! Directories as image sources: a project checkout (`dir:PATH`) or an unpacked root
//! filesystem (`rootfs:PATH`), read from disk as one synthetic layer so that every consumer of
//! layers (the inventory, audit, inspect) works on them unchanged.
//!
//! The layer is a tar stream written while it is read: a thread walks the tree in sorted
//! order and writes entries with the `tar` crate into a bounded in-process pipe (a few
//! 256 KiB chunks), so no file is held in memory and nothing is copied to disk. The walk
//! - never follows a symlink: it is recorded as a link, and the layered filesystem view
//!   resolves it inside the root, as it does for image layers; regular files are opened with
//!   `O_NOFOLLOW` and re-checked after opening, so a file swapped for a link mid-walk is skipped;
//! - does not cross into other filesystems (`find -xdev`), so `rootfs:/` reads neither `/proc`
//!   nor `/sys`; a mount point appears as an empty directory;
//! - in a project (`dir:`) skips `.git` directories, as `trivy fs` does, and nothing else:
//!   `.gitignore` is not consulted, so build outputs and `node_modules` are read;
//! - writes a hard link's second and later names as tar hard links;
//! - skips, with a warning, what it cannot read (permissions, files vanishing, sockets), and
//!   writes a file that changes size while read with exactly the size its header declared
//!   (cut or zero-padded), so the stream stays a valid tar.
//!
//! A fatal error (the root itself unreadable) surfaces as a read error at the end of the
//! stream, not as a short layer.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What a directory stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirKind {
    /// A project checkout: lockfiles, manifests and binaries; OS package databases are not
    /// read (a checkout's `var/lib/dpkg/status` is test data, not installed state).
    Project,
    /// An unpacked image root: OS package databases count.
    Rootfs,
}

impl DirKind {
    /// The transport prefix (`dir` or `rootfs`).
    pub fn transport(self) -> &'static str {
        match self {
            DirKind::Project => "dir",
            DirKind::Rootfs => "rootfs",
        }
    }
}

/// Problems met while walking, shared between the walking thread and the image.
pub(crate) type Warnings = Arc<Mutex<Vec<(String, String)>>>;

/// Most warnings kept; the rest are counted.
const MAX_WARNINGS: usize = 1000;

fn warn(warnings: &Warnings, path: &str, message: String) {
    let mut w = warnings.lock().unwrap_or_else(|e| e.into_inner());
    if w.len() < MAX_WARNINGS {
        w.push((path.to_string(), message));
    } else if w.len() == MAX_WARNINGS {
        w.push((
            String::new(),
            "more entries skipped; warnings stop here".into(),
        ));
    }
}

/// The layer of directory `root` as an uncompressed tar stream.
pub(crate) fn layer_stream(
    root: &Path,
    kind: DirKind,
    warnings: Warnings,
) -> io::Result<Box<dyn Read + Send>> {
    let meta = std::fs::symlink_metadata(root)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a directory", root.display()),
        ));
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(CHANNEL_CHUNKS);
    let writer = ChunkWriter {
        tx,
        buf: Vec::with_capacity(CHUNK),
    };
    let reader = ChunkReader {
        rx,
        chunk: Vec::new(),
        pos: 0,
    };
    let root = root.to_path_buf();
    let handle = std::thread::Builder::new()
        .name("customs-dir-walk".into())
        .spawn(move || {
            let mut walker = Walker {
                builder: tar::Builder::new(writer),
                root_dev: meta.dev(),
                kind,
                warnings,
                inodes: HashMap::new(),
            };
            walker.walk(&root)?;
            let mut w = walker.builder.into_inner()?;
            w.flush()
        })?;
    Ok(Box::new(DirStream {
        reader,
        handle: Some(handle),
    }))
}

/// Bytes per chunk handed from the walking thread to the reader.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight at most: the walk stays at most this far ahead of the reader.
const CHANNEL_CHUNKS: usize = 4;

/// The walking thread's end of a bounded in-process pipe.
struct ChunkWriter {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The reader's end: chunks in order, then end of stream when the writer is gone.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The reading end: at end of stream, the walking thread's result is the stream's.
struct DirStream {
    reader: ChunkReader,
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl Read for DirStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if let Some(h) = self.handle.take() {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(io::Error::other("the directory walk panicked")),
                }
            }
        }
        Ok(n)
    }
}

struct Walker<W: Write> {
    builder: tar::Builder<W>,
    root_dev: u64,
    kind: DirKind,
    warnings: Warnings,
    /// (device, inode) of files with several links → the first name written.
    inodes: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Walker<W> {
    fn walk(&mut self, root: &Path) -> io::Result<()> {
        // Depth first, children sorted by name, so the stream is the same for the same tree.
        let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
        let mut first = true;
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            let children = match sorted_children(&dir) {
                Ok(c) => c,
                // The root must be readable; below it, an unreadable directory is skipped.
                Err(e) if first => return Err(e),
                Err(e) => {
                    warn(&self.warnings, &rel.to_string_lossy(), e.to_string());
                    continue;
                }
            };
            first = false;
            let mut subdirs = Vec::new();
            for name in children {
                let rel_child = rel.join(&name);
                let path = root.join(&rel_child);
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        warn(&self.warnings, &rel_child.to_string_lossy(), e.to_string());
                        continue;
                    }
                };
                if meta.is_dir() {
                    if self.kind == DirKind::Project && name == ".git" {
                        continue;
                    }
                    self.entry(&rel_child, &path, &meta)?;
                    if meta.dev() == self.root_dev {
                        subdirs.push(rel_child);
                    }
                } else {
                    self.entry(&rel_child, &path, &meta)?;
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        self.builder.finish()
    }

    /// Writes one entry. Only errors writing the stream are returned; problems with the
    /// entry itself become warnings.
    fn entry(&mut self, rel: &Path, path: &Path, meta: &Metadata) -> io::Result<()> {
        let ft = meta.file_type();
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        if ft.is_symlink() {
            let target = match std::fs::read_link(path) {
                Ok(t) => t,
                Err(e) => {
                    warn(&self.warnings, &rel.to_string_lossy(), e.to_string());
                    return Ok(());
                }
            };
            header.set_size(0);
            return self.builder.append_link(&mut header, rel, target);
        }
        if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.inodes.get(&key) {
                    let first = first.clone();
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_size(0);
                    return self.builder.append_link(&mut header, rel, first);
                }
            }
            let file = match open_regular(path, meta) {
                Ok(f) => f,
                Err(e) => {
                    warn(&self.warnings, &rel.to_string_lossy(), e.to_string());
                    return Ok(());
                }
            };
            if meta.nlink() > 1 {
                self.inodes
                    .insert((meta.dev(), meta.ino()), rel.to_path_buf());
            }
            let size = meta.len();
            let data = Exact {
                inner: file.take(size),
                left: size,
                warned: false,
                rel,
                warnings: &self.warnings,
            };
            return self.builder.append_data(&mut header, rel, data);
        }
        if ft.is_dir() {
            header.set_size(0);
            return self.builder.append_data(&mut header, rel, io::empty());
        }
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            header.set_size(0);
            return self.builder.append_data(&mut header, rel, io::empty());
        }
        // Sockets have no place in a tar.
        warn(
            &self.warnings,
            &rel.to_string_lossy(),
            "socket skipped".into(),
        );
        Ok(())
    }
}

fn sorted_children(dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir)? {
        names.push(e?.file_name());
    }
    names.sort();
    Ok(names)
}

/// Opens a regular file without following a symlink, and checks it is still the file that
/// was listed.
fn open_regular(path: &Path, listed: &Metadata) -> io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let now = f.metadata()?;
    if !now.is_file() || now.ino() != listed.ino() || now.dev() != listed.dev() {
        return Err(io::Error::other("replaced while the directory was read"));
    }
    Ok(f)
}

/// Yields exactly `left` bytes: the file's, then zeros if it shrank while read.
struct Exact<'a, R> {
    inner: R,
    left: u64,
    warned: bool,
    rel: &'a Path,
    warnings: &'a Warnings,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(0) | Err(_) => {
                if !self.warned {
                    self.warned = true;
                    warn(
                        self.warnings,
                        &self.rel.to_string_lossy(),
                        "changed or unreadable while read; its data is incomplete".into(),
                    );
                }
                buf[..want].fill(0);
                want
            }
            Ok(n) => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::walk_layer;
    use crate::tar::EntryKind;

    fn walk(root: &Path, kind: DirKind) -> (Vec<crate::EntryMeta>, Vec<(String, String)>) {
        let w = Warnings::default();
        let r = layer_stream(root, kind, w.clone()).unwrap();
        let entries = walk_layer(r, |_, _| Ok(())).unwrap();
        let w = w.lock().unwrap().clone();
        (entries, w)
    }

    #[test]
    fn symlinks_are_recorded_not_followed_and_git_is_skipped() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        std::fs::create_dir_all(t.path().join("a/.git")).unwrap();
        std::fs::create_dir_all(t.path().join(".git")).unwrap();
        std::fs::write(t.path().join(".git/config"), b"x").unwrap();
        std::fs::write(t.path().join("a/f"), b"hello").unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), t.path().join("s")).unwrap();
        std::fs::hard_link(t.path().join("a/f"), t.path().join("a/g")).unwrap();
        let long = "n".repeat(150);
        std::fs::create_dir_all(t.path().join(&long)).unwrap();
        std::fs::write(t.path().join(&long).join(&long), b"long").unwrap();
        let (entries, warnings) = walk(t.path(), DirKind::Project);
        assert!(warnings.is_empty(), "{warnings:?}");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert!(!paths.iter().any(|p| p.contains(".git")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.contains("secret")), "{paths:?}");
        let out = entries.iter().find(|e| e.path == "out").unwrap();
        assert_eq!(out.kind, EntryKind::Symlink);
        let f = entries.iter().find(|e| e.path == "a/f").unwrap();
        assert_eq!((f.kind, f.size), (EntryKind::File, 5));
        let g = entries.iter().find(|e| e.path == "a/g").unwrap();
        assert_eq!(
            (g.kind, g.link.as_deref()),
            (EntryKind::Hardlink, Some("a/f"))
        );
        let l = format!("{long}/{long}");
        assert!(paths.contains(&l.as_str()));

        let (rootfs, _) = walk(t.path(), DirKind::Rootfs);
        assert!(rootfs.iter().any(|e| e.path == ".git/config"));
    }

    #[test]
    fn a_missing_root_is_an_error_and_an_unreadable_file_a_warning() {
        let t = tempfile::tempdir().unwrap();
        assert!(layer_stream(
            &t.path().join("nope"),
            DirKind::Project,
            Warnings::default()
        )
        .is_err());
        std::fs::write(t.path().join("f"), b"x").unwrap();
        assert!(layer_stream(&t.path().join("f"), DirKind::Project, Warnings::default()).is_err());
        // A fifo is written as a fifo, never opened (opening it would block).
        let fifo = std::ffi::CString::new(t.path().join("p").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let (entries, _) = walk(t.path(), DirKind::Project);
        assert_eq!(
            entries.iter().find(|e| e.path == "p").unwrap().kind,
            EntryKind::Fifo
        );
    }
}
