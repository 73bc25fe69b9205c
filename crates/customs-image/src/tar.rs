//! A streaming tar reader for image layers and archives: ustar, GNU (long names, base-256
//! numbers) and PAX (path, linkpath, size, ids, xattrs). Written here rather than taken from
//! the `tar` crate because layers need three things it does not give together: bounded
//! memory for PAX and long-name records, a clean end when a layer stops right after its
//! last entry's data (real images do this), and a precise error for every other truncation.

use std::io::{self, Read, Seek, SeekFrom};

const BLOCK: usize = 512;
/// Largest PAX or GNU long-name record accepted, in bytes (Go's archive/tar has the same cap).
pub const MAX_META_RECORD: u64 = 1 << 20;
/// Longest entry path or link target accepted once normalised: Linux's `PATH_MAX`, beyond
/// which no runtime can create the entry.
pub const MAX_PATH_BYTES: usize = 4096;
/// Most path components accepted in one entry path.
pub const MAX_PATH_DEPTH: usize = 256;
/// Most bytes of extended attributes (names and values) accepted for one entry (Linux's
/// `XATTR_LIST_MAX` plus one 64 KiB value).
pub const MAX_ENTRY_XATTR_BYTES: usize = 128 << 10;
/// Most bytes of extended attributes accepted across one archive.
pub const MAX_TOTAL_XATTR_BYTES: u64 = 16 << 20;

/// What kind of filesystem object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// Types this reader does not interpret (GNU sparse, volume labels, ...).
    Other(u8),
}

/// One entry's header, after PAX and GNU extensions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The raw path as written (not normalised).
    pub path: String,
    /// File, directory, link or device.
    pub kind: EntryKind,
    /// Permission bits (and setuid/setgid/sticky).
    pub mode: u32,
    /// Owner's numeric user id.
    pub uid: u64,
    /// Owner's numeric group id.
    pub gid: u64,
    /// Size in bytes of the entry's data.
    pub size: u64,
    /// Modification time, in seconds since the Unix epoch.
    pub mtime: i64,
    /// Link target as written (symlinks and hardlinks).
    pub link: Option<String>,
    /// `SCHILY.xattr.*` PAX records, such as `security.capability`.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
/// A tar stream that could not be read.
pub enum TarError {
    #[error("I/O error reading tar: {0}")]
    /// Reading the underlying stream failed.
    Io(#[from] io::Error),
    #[error("truncated tar: {0}")]
    /// The stream ended inside a header or an entry's data.
    Truncated(String),
    #[error("malformed tar header at offset {offset}: {reason}")]
    /// A header's fields cannot be read (bad checksum, bad number).
    Malformed {
        /// Byte offset of the header in the stream.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    #[error("tar {what} record of {size} bytes exceeds the {MAX_META_RECORD}-byte limit")]
    /// A metadata record is larger than customs accepts.
    TooLarge {
        /// Which record (PAX, GNU long name).
        what: &'static str,
        /// Its declared size in bytes.
        size: u64,
    },
    /// Input that tar extractors read differently (Go's archive/tar, GNU tar, Python's
    /// tarfile): refused rather than guessed, so no reading can hide a file.
    #[error("tar entry at offset {offset} is ambiguous: {reason}; extractors disagree on it, so it is refused")]
    Ambiguous {
        /// Byte offset of the entry in the stream.
        offset: u64,
        /// What extractors would disagree on.
        reason: String,
    },
    #[error("tar entry at offset {offset}: {reason}")]
    /// An entry exceeds a limit (path length, entry count, xattr bytes).
    Limit {
        /// Byte offset of the entry in the stream.
        offset: u64,
        /// Which limit, and by how much.
        reason: String,
    },
}

/// Reads entries one after the other. Call [`TarReader::next_entry`], then optionally read
/// the entry's data through the reader itself ([`Read`] is limited to the current entry).
pub struct TarReader<R> {
    inner: R,
    offset: u64,
    remaining: u64,
    padding: u64,
    done: bool,
    entries: u64,
    xattr_bytes: u64,
}

impl<R: Read> TarReader<R> {
    /// A reader of the tar stream `inner` (already decompressed).
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            done: false,
            entries: 0,
            xattr_bytes: 0,
        }
    }

    /// Byte offset of the next unread byte of the underlying stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of entries returned so far.
    pub fn entry_count(&self) -> u64 {
        self.entries
    }

    /// Returns the underlying reader (for example to drain it so a digest can be checked).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next entry, or `None` at the end of the archive.
    ///
    /// Extensions are applied the way Go's `archive/tar` (which containerd and moby extract
    /// with) applies them: a GNU long name or link wins over a PAX `path`/`linkpath`, global
    /// PAX headers never change an entry, and the trailing-slash directory rule applies only
    /// to the final name of an old-style (`'\0'`) entry. Where GNU tar or Python's tarfile
    /// read the same bytes differently, the entry is refused ([`TarError::Ambiguous`]).
    pub fn next_entry(&mut self) -> Result<Option<Header>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.finish_entry()?;
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut pax: Option<Vec<(String, Vec<u8>)>> = None;
        loop {
            let header_offset = self.offset;
            let mut block = [0u8; BLOCK];
            let n = read_full(&mut self.inner, &mut block)?;
            self.offset += n as u64;
            let pending = long_name.is_some() || long_link.is_some() || pax.is_some();
            if n == 0 {
                // End of stream at a block boundary: layers written without end blocks.
                return self.end(pending);
            }
            if n < BLOCK {
                return Err(TarError::Truncated(format!(
                    "header at offset {header_offset} has only {n} of 512 bytes"
                )));
            }
            if block.iter().all(|&b| b == 0) {
                // One zero block must be followed by another (or the end of the stream):
                // Go fails an archive whose zero block is followed by more headers.
                let k = read_full(&mut self.inner, &mut block)?;
                self.offset += k as u64;
                if k > 0 && block[..k].iter().any(|&b| b != 0) {
                    return Err(malformed(
                        header_offset,
                        "a single zero block followed by more data",
                    ));
                }
                return self.end(pending);
            }
            verify_checksum(&block, header_offset)?;
            let typeflag = block[156];
            let size = parse_number(&block[124..136])
                .ok_or_else(|| malformed(header_offset, "size field"))?;
            let ambiguous = |reason: &str| TarError::Ambiguous {
                offset: header_offset,
                reason: reason.to_string(),
            };
            match typeflag {
                b'x' | b'g' | b'L' | b'K' => {
                    let what = if typeflag == b'x' || typeflag == b'g' {
                        "PAX"
                    } else {
                        "GNU long name"
                    };
                    if size > MAX_META_RECORD {
                        return Err(TarError::TooLarge { what, size });
                    }
                    let data = self.read_record(size)?;
                    match typeflag {
                        b'x' => {
                            if pax.is_some() {
                                return Err(ambiguous("two PAX headers for one entry"));
                            }
                            pax = Some(parse_pax(&data, header_offset)?);
                        }
                        b'g' => {
                            if pending {
                                return Err(ambiguous(
                                    "a global PAX header between an extension header and its entry",
                                ));
                            }
                            // Go ignores global headers; GNU tar and Python apply them to
                            // later entries. Only records that change no entry are accepted.
                            for (k, _) in parse_pax(&data, header_offset)? {
                                if !matches!(k.as_str(), "comment" | "hdrcharset") {
                                    return Err(ambiguous(&format!(
                                        "a global PAX header sets {k:?}"
                                    )));
                                }
                            }
                        }
                        b'L' => {
                            if long_name.is_some() {
                                return Err(ambiguous("two GNU long names for one entry"));
                            }
                            long_name = Some(c_string(&data));
                        }
                        _ => {
                            if long_link.is_some() {
                                return Err(ambiguous("two GNU long link names for one entry"));
                            }
                            long_link = Some(c_string(&data));
                        }
                    }
                    continue;
                }
                b'X' => {
                    return Err(ambiguous(
                        "a Solaris extended header ('X'), which GNU tar and Python apply and Go does not",
                    ))
                }
                b'S' => {
                    return Err(TarError::Malformed {
                        offset: header_offset,
                        reason: "GNU sparse files ('S') are not supported".into(),
                    })
                }
                _ => {}
            }
            let raw_name_slash = c_string(&block[0..100]).ends_with('/');
            let mut header = parse_header(&block, header_offset)?;
            let pax = pax.unwrap_or_default();
            let mut pax_path = false;
            let mut pax_link = false;
            for (k, v) in &pax {
                match k.as_str() {
                    "path" => pax_path = true,
                    "linkpath" => pax_link = true,
                    _ => {}
                }
                apply_pax(&mut header, k, v, header_offset)?;
            }
            if let Some(name) = long_name.take() {
                if pax_path && name != header.path {
                    return Err(ambiguous("both a PAX path and a GNU long name"));
                }
                header.path = name;
            }
            if let Some(link) = long_link.take() {
                if pax_link && header.link.as_deref() != Some(link.as_str()) {
                    return Err(ambiguous("both a PAX linkpath and a GNU long link name"));
                }
                header.link = Some(link);
            }
            let final_slash = header.path.ends_with('/');
            match typeflag {
                // Old tars mark directories only with a trailing slash on an untyped entry.
                0 if final_slash != raw_name_slash => return Err(ambiguous(
                    "an untyped entry whose header name and full name disagree on a trailing slash",
                )),
                0 if final_slash => header.kind = EntryKind::Dir,
                b'0' | b'7' if final_slash => {
                    return Err(ambiguous("a regular file whose name ends in '/'"))
                }
                _ => {}
            }
            if header.size > 0
                && matches!(
                    header.kind,
                    EntryKind::Hardlink
                        | EntryKind::Symlink
                        | EntryKind::CharDevice
                        | EntryKind::BlockDevice
                        | EntryKind::Fifo
                )
            {
                // Go and Python skip no data for these, GNU tar skips some of them.
                return Err(ambiguous("a link or device entry with a non-zero size"));
            }
            self.check_limits(&header, header_offset)?;
            // Header-only types carry no data whatever their size field says (as Go's
            // archive/tar, which wrote most layers, treats them).
            let data_size = match header.kind {
                EntryKind::File | EntryKind::Other(_) => header.size,
                _ => 0,
            };
            self.remaining = data_size;
            self.padding = pad(data_size);
            self.entries += 1;
            return Ok(Some(header));
        }
    }

    fn check_limits(&mut self, h: &Header, offset: u64) -> Result<(), TarError> {
        let limit = |reason: String| TarError::Limit { offset, reason };
        for (what, p) in [("path", Some(&h.path)), ("link target", h.link.as_ref())] {
            let Some(p) = p else { continue };
            if p.len() > MAX_PATH_BYTES && normalize_path(p).len() > MAX_PATH_BYTES {
                return Err(limit(format!(
                    "{what} of {} bytes exceeds the {MAX_PATH_BYTES}-byte PATH_MAX",
                    p.len()
                )));
            }
        }
        let depth = h.path.split('/').filter(|c| !c.is_empty()).count();
        if depth > MAX_PATH_DEPTH {
            return Err(limit(format!(
                "path of {depth} components exceeds the {MAX_PATH_DEPTH}-component limit"
            )));
        }
        let xattrs: usize = h.xattrs.iter().map(|(k, v)| k.len() + v.len()).sum();
        if xattrs > MAX_ENTRY_XATTR_BYTES {
            return Err(limit(format!(
                "{xattrs} bytes of extended attributes exceed the {MAX_ENTRY_XATTR_BYTES}-byte limit"
            )));
        }
        self.xattr_bytes += xattrs as u64;
        if self.xattr_bytes > MAX_TOTAL_XATTR_BYTES {
            return Err(limit(format!(
                "extended attributes exceed {MAX_TOTAL_XATTR_BYTES} bytes in one archive"
            )));
        }
        Ok(())
    }

    fn end(&mut self, dangling_extension: bool) -> Result<Option<Header>, TarError> {
        self.done = true;
        if dangling_extension {
            return Err(TarError::Truncated(
                "extension header without the entry it describes".into(),
            ));
        }
        Ok(None)
    }

    /// Skips the rest of the current entry's data and its padding.
    fn finish_entry(&mut self) -> Result<(), TarError> {
        if self.remaining > 0 {
            let want = self.remaining;
            let skipped = io::copy(&mut (&mut self.inner).take(want), &mut io::sink())?;
            self.offset += skipped;
            self.remaining -= skipped;
            if skipped < want {
                return Err(TarError::Truncated(format!(
                    "entry data ends {} bytes early at offset {}",
                    want - skipped,
                    self.offset
                )));
            }
        }
        if self.padding > 0 {
            let want = self.padding;
            let skipped = io::copy(&mut (&mut self.inner).take(want), &mut io::sink())?;
            self.offset += skipped;
            self.padding = 0;
            if skipped < want {
                // The stream stopped right after the last entry's data: accept it as the end.
                self.done = true;
            }
        }
        Ok(())
    }

    fn read_record(&mut self, size: u64) -> Result<Vec<u8>, TarError> {
        let mut data = Vec::with_capacity(size as usize);
        (&mut self.inner).take(size).read_to_end(&mut data)?;
        self.offset += data.len() as u64;
        if (data.len() as u64) < size {
            return Err(TarError::Truncated("extension record cut short".into()));
        }
        let p = pad(size);
        let skipped = io::copy(&mut (&mut self.inner).take(p), &mut io::sink())?;
        self.offset += skipped;
        if skipped < p {
            return Err(TarError::Truncated(
                "extension record padding cut short".into(),
            ));
        }
        Ok(data)
    }
}

impl<R: Read + Seek> TarReader<R> {
    /// Like `next_entry`, but seeks over unread data instead of reading it. Returns the
    /// offset of the entry's data alongside the header, for building an index of members.
    pub fn next_entry_seeking(&mut self) -> Result<Option<(Header, u64)>, TarError> {
        if self.remaining + self.padding > 0 {
            let skip = self.remaining + self.padding;
            let end = self.inner.seek(SeekFrom::End(0))?;
            if self.offset + self.remaining > end {
                return Err(TarError::Truncated(format!(
                    "entry data runs past the end of the file at offset {}",
                    self.offset
                )));
            }
            let target = (self.offset + skip).min(end);
            self.inner.seek(SeekFrom::Start(target))?;
            self.offset = target;
            self.remaining = 0;
            self.padding = 0;
        }
        let h = self.next_entry()?;
        Ok(h.map(|h| (h, self.offset)))
    }
}

impl<R: Read> Read for TarReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("tar entry data ends {} bytes early", self.remaining),
            ));
        }
        self.remaining -= n as u64;
        self.offset += n as u64;
        Ok(n)
    }
}

fn pad(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn malformed(offset: u64, reason: &str) -> TarError {
    TarError::Malformed {
        offset,
        reason: reason.to_string(),
    }
}

fn verify_checksum(block: &[u8; BLOCK], offset: u64) -> Result<(), TarError> {
    let stored =
        parse_octal(&block[148..156]).ok_or_else(|| malformed(offset, "checksum field"))?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += b as u64;
        signed += (b as i8) as i64;
    }
    if stored != unsigned && stored as i64 != signed {
        return Err(malformed(
            offset,
            "checksum mismatch (not a tar archive, or corrupt)",
        ));
    }
    Ok(())
}

/// An octal field: optional leading spaces, octal digits, then only NULs or spaces. Anything
/// else (a sign, digits after a NUL) is refused, since extractors disagree on it.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|&b| b != b' ').unwrap_or(field.len());
    let digits = field[start..]
        .iter()
        .position(|b| !(b'0'..=b'7').contains(b))
        .map_or(field.len(), |p| start + p);
    if !field[digits..].iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &field[start..digits] {
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// Octal, or GNU base-256 when the high bit of the first byte is set.
fn parse_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = (field[0] & 0x3f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    parse_octal(field)
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn parse_header(block: &[u8; BLOCK], offset: u64) -> Result<Header, TarError> {
    let name = c_string(&block[0..100]);
    let typeflag = block[156];
    // Go, GNU tar and POSIX join the prefix field only under the POSIX magic "ustar\0" (any
    // version); Python's tarfile joins any non-empty prefix. Where they differ, refuse.
    let posix = &block[257..263] == b"ustar\0";
    let prefix_field = &block[345..500];
    let path = if posix {
        let star = &block[508..512] == b"tar\0";
        if star && prefix_field[..131].iter().all(|&b| b != 0) {
            // Go reads 131 prefix bytes in the star format, Python and GNU tar 155.
            return Err(TarError::Ambiguous {
                offset,
                reason: "a star-format prefix longer than 130 bytes".into(),
            });
        }
        let prefix = c_string(prefix_field);
        if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        }
    } else {
        if prefix_field[0] != 0 && !matches!(typeflag, b'L' | b'K' | b'S') {
            return Err(TarError::Ambiguous {
                offset,
                reason: "a non-POSIX header with bytes in the ustar prefix field".into(),
            });
        }
        name
    };
    let kind = match typeflag {
        b'0' | 0 | b'7' => EntryKind::File,
        b'1' => EntryKind::Hardlink,
        b'2' => EntryKind::Symlink,
        b'3' => EntryKind::CharDevice,
        b'4' => EntryKind::BlockDevice,
        b'5' => EntryKind::Dir,
        b'6' => EntryKind::Fifo,
        other => EntryKind::Other(other),
    };
    let link = c_string(&block[157..257]);
    Ok(Header {
        path,
        kind,
        mode: parse_number(&block[100..108]).ok_or_else(|| malformed(offset, "mode field"))? as u32,
        uid: parse_number(&block[108..116]).ok_or_else(|| malformed(offset, "uid field"))?,
        gid: parse_number(&block[116..124]).ok_or_else(|| malformed(offset, "gid field"))?,
        size: parse_number(&block[124..136]).ok_or_else(|| malformed(offset, "size field"))?,
        mtime: parse_number(&block[136..148])
            .unwrap_or(0)
            .min(i64::MAX as u64) as i64,
        link: if link.is_empty() { None } else { Some(link) },
        xattrs: Vec::new(),
    })
}

fn parse_pax(data: &[u8], offset: u64) -> Result<Vec<(String, Vec<u8>)>, TarError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| malformed(offset, "PAX record without length"))?;
        let len: usize = Some(&rest[..sp])
            .filter(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
            .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
            .ok_or_else(|| malformed(offset, "PAX record length"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(malformed(offset, "PAX record length out of range"));
        }
        let record = &rest[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| malformed(offset, "PAX record without '='"))?;
        if eq == 0 {
            return Err(malformed(offset, "PAX record with an empty keyword"));
        }
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        out.push((key, record[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

fn apply_pax(h: &mut Header, key: &str, value: &[u8], offset: u64) -> Result<(), TarError> {
    let text = || String::from_utf8_lossy(value).into_owned();
    let ambiguous = |reason: String| TarError::Ambiguous { offset, reason };
    let number = || -> Result<u64, TarError> {
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(malformed(offset, &format!("PAX {key} is not a number")));
        }
        text()
            .parse::<u64>()
            .map_err(|_| malformed(offset, &format!("PAX {key} is out of range")))
    };
    if key.starts_with("GNU.sparse.") {
        return Err(malformed(
            offset,
            "GNU sparse files (PAX) are not supported",
        ));
    }
    let names_a_field = matches!(key, "path" | "linkpath" | "size" | "uid" | "gid" | "mtime");
    if names_a_field && value.is_empty() {
        // Go keeps the header's value, Python clears it.
        return Err(ambiguous(format!("an empty PAX {key}")));
    }
    match key {
        "path" | "linkpath" if value.contains(&0) => {
            return Err(malformed(offset, &format!("PAX {key} holds a NUL byte")))
        }
        "path" => h.path = text(),
        "linkpath" => h.link = Some(text()),
        "size" => h.size = number()?,
        "uid" => h.uid = number()?,
        "gid" => h.gid = number()?,
        "mtime" => {
            let t = text();
            h.mtime = t
                .split('.')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(h.mtime);
        }
        k if k.starts_with("SCHILY.xattr.") => {
            h.xattrs
                .push((k["SCHILY.xattr.".len()..].to_string(), value.to_vec()));
        }
        _ => {}
    }
    Ok(())
}

/// Normalises an entry path the way container runtimes do before applying it: `./`, `/`
/// and `.` components are dropped and `..` never climbs above the root. The result has no
/// leading slash; the root itself is the empty string.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ustar header block for tests.
    pub fn header_block(name: &str, typeflag: u8, size: u64, link: &str) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[100..107].copy_from_slice(b"0000644");
        b[108..115].copy_from_slice(b"0000000");
        b[116..123].copy_from_slice(b"0000000");
        let s = format!("{size:011o}");
        b[124..135].copy_from_slice(s.as_bytes());
        b[136..147].copy_from_slice(b"00000000000");
        b[156] = typeflag;
        b[157..157 + link.len()].copy_from_slice(link.as_bytes());
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        b[148..156].copy_from_slice(b"        ");
        let sum: u64 = b.iter().map(|&x| x as u64).sum();
        let c = format!("{sum:06o}\0 ");
        b[148..156].copy_from_slice(c.as_bytes());
        b
    }

    pub fn entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = header_block(name, b'0', data.len() as u64, "").to_vec();
        v.extend_from_slice(data);
        v.resize(v.len() + pad(data.len() as u64) as usize, 0);
        v
    }

    fn pax_entry(records: &[(&str, &str)]) -> Vec<u8> {
        let mut body = String::new();
        for (k, v) in records {
            let mut len = k.len() + v.len() + 3;
            len += len.to_string().len();
            if format!("{len} {k}={v}\n").len() != len {
                len += 1;
            }
            body.push_str(&format!("{len} {k}={v}\n"));
        }
        let mut v = header_block("pax", b'x', body.len() as u64, "").to_vec();
        v.extend_from_slice(body.as_bytes());
        v.resize(v.len() + pad(body.len() as u64) as usize, 0);
        v
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(Header, Vec<u8>)>, TarError> {
        let mut r = TarReader::new(bytes);
        let mut out = Vec::new();
        while let Some(h) = r.next_entry()? {
            let mut d = Vec::new();
            r.read_to_end(&mut d)?;
            out.push((h, d));
        }
        Ok(out)
    }

    #[test]
    fn reads_entries_and_end_blocks() {
        let mut t = entry("a.txt", b"hello");
        t.extend(entry("dir/b.txt", b"world!"));
        t.extend([0u8; 1024]);
        let e = read_all(&t).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].0.path, "dir/b.txt");
        assert_eq!(e[1].1, b"world!");
    }

    #[test]
    fn stream_ending_after_last_data_without_padding_is_a_clean_end() {
        let mut t = entry("a.txt", b"hello");
        t.truncate(512 + 5);
        let e = read_all(&t).unwrap();
        assert_eq!(e[0].1, b"hello");
    }

    #[test]
    fn stream_ending_inside_entry_data_is_an_error() {
        let mut t = entry("a.txt", b"hello");
        t.truncate(512 + 3);
        let mut r = TarReader::new(&t[..]);
        r.next_entry().unwrap();
        assert!(r.next_entry().is_err());
    }

    #[test]
    fn stream_ending_inside_a_header_is_an_error() {
        let mut t = entry("a.txt", b"hello");
        t.extend_from_slice(&header_block("b", b'0', 0, "")[..100]);
        assert!(matches!(read_all(&t), Err(TarError::Truncated(_))));
    }

    #[test]
    fn pax_path_size_and_xattrs_apply() {
        let mut t = pax_entry(&[
            ("path", "very/long/name"),
            ("SCHILY.xattr.security.capability", "cap"),
        ]);
        t.extend(entry("short", b"abc"));
        let e = read_all(&t).unwrap();
        assert_eq!(e[0].0.path, "very/long/name");
        assert_eq!(
            e[0].0.xattrs,
            vec![("security.capability".to_string(), b"cap".to_vec())]
        );
    }

    #[test]
    fn huge_pax_record_is_refused_without_allocating() {
        let t = header_block("pax", b'x', 1 << 32, "").to_vec();
        assert!(matches!(read_all(&t), Err(TarError::TooLarge { .. })));
    }

    #[test]
    fn pax_size_beyond_the_stream_is_truncation_not_allocation() {
        let mut t = pax_entry(&[("size", "99999999999999")]);
        t.extend(entry("f", b"abc"));
        let err = read_all(&t).unwrap_err();
        assert!(
            matches!(err, TarError::Io(_) | TarError::Truncated(_)),
            "{err}"
        );
    }

    #[test]
    fn bad_checksum_is_malformed() {
        let mut t = entry("a", b"x");
        t[0] = b'b';
        assert!(matches!(read_all(&t), Err(TarError::Malformed { .. })));
    }

    #[test]
    fn normalize_never_escapes_root() {
        assert_eq!(normalize_path("../../etc/passwd"), "etc/passwd");
        assert_eq!(normalize_path("/a/./b/../c/"), "a/c");
        assert_eq!(normalize_path("./"), "");
    }

    #[test]
    fn seeking_index_reports_data_offsets() {
        let mut t = entry("a", b"hello");
        t.extend(entry("b", b"xyz"));
        let mut r = TarReader::new(std::io::Cursor::new(&t));
        let (h, off) = r.next_entry_seeking().unwrap().unwrap();
        assert_eq!((h.path.as_str(), off), ("a", 512));
        let (h, off) = r.next_entry_seeking().unwrap().unwrap();
        assert_eq!((h.path.as_str(), off), ("b", 1536));
        assert!(r.next_entry_seeking().unwrap().is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = read_all(&data);
        }
    }
}
