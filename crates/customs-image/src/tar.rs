//! A streaming tar reader for image layers and archives: ustar, GNU (long names, base-256
//! numbers) and PAX (path, linkpath, size, ids, xattrs). Written here rather than taken from
//! the `tar` crate because layers need three things it does not give together: bounded
//! memory for PAX and long-name records, a clean end when a layer stops right after its
//! last entry's data (real images do this), and a precise error for every other truncation.

use std::io::{self, Read, Seek, SeekFrom};

const BLOCK: usize = 512;
/// Largest PAX or GNU long-name record accepted, in bytes.
pub const MAX_META_RECORD: u64 = 1 << 20;

/// What kind of filesystem object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// Types this reader does not interpret (GNU sparse, volume labels, ...).
    Other(u8),
}

/// One entry's header, after PAX and GNU extensions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The raw path as written (not normalised).
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: i64,
    pub link: Option<String>,
    /// `SCHILY.xattr.*` PAX records, such as `security.capability`.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("I/O error reading tar: {0}")]
    Io(#[from] io::Error),
    #[error("truncated tar: {0}")]
    Truncated(String),
    #[error("malformed tar header at offset {offset}: {reason}")]
    Malformed { offset: u64, reason: String },
    #[error("tar {what} record of {size} bytes exceeds the {MAX_META_RECORD}-byte limit")]
    TooLarge { what: &'static str, size: u64 },
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
    global_pax: Vec<(String, Vec<u8>)>,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            done: false,
            entries: 0,
            global_pax: Vec::new(),
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
    pub fn next_entry(&mut self) -> Result<Option<Header>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.finish_entry()?;
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        loop {
            let header_offset = self.offset;
            let mut block = [0u8; BLOCK];
            let n = read_full(&mut self.inner, &mut block)?;
            self.offset += n as u64;
            if n == 0 {
                // End of stream at a block boundary: layers written without end blocks.
                return self.end(long_name.is_some() || long_link.is_some() || !pax.is_empty());
            }
            if n < BLOCK {
                return Err(TarError::Truncated(format!(
                    "header at offset {header_offset} has only {n} of 512 bytes"
                )));
            }
            if block.iter().all(|&b| b == 0) {
                return self.end(long_name.is_some() || long_link.is_some() || !pax.is_empty());
            }
            verify_checksum(&block, header_offset)?;
            let typeflag = block[156];
            let size = parse_number(&block[124..136])
                .ok_or_else(|| malformed(header_offset, "size field"))?;
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
                        b'x' => pax = parse_pax(&data, header_offset)?,
                        b'g' => self.global_pax = parse_pax(&data, header_offset)?,
                        b'L' => long_name = Some(c_string(&data)),
                        _ => long_link = Some(c_string(&data)),
                    }
                    continue;
                }
                _ => {}
            }
            let mut header = parse_header(&block, header_offset)?;
            if let Some(name) = long_name.take() {
                header.path = name;
            }
            if let Some(link) = long_link.take() {
                header.link = Some(link);
            }
            for (k, v) in self.global_pax.iter().chain(pax.iter()) {
                apply_pax(&mut header, k, v, header_offset)?;
            }
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

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s: Vec<u8> = field.iter().copied().take_while(|&b| b != 0).collect();
    let s = std::str::from_utf8(&s).ok()?.trim_matches(|c| c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
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
    let is_ustar = &block[257..262] == b"ustar";
    let is_gnu = &block[257..265] == b"ustar  \0";
    let path = if is_ustar && !is_gnu && block[345] != 0 {
        format!("{}/{}", c_string(&block[345..500]), name)
    } else {
        name
    };
    let typeflag = block[156];
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
    // Old tars mark directories only with a trailing slash.
    let kind = if kind == EntryKind::File && path.ends_with('/') {
        EntryKind::Dir
    } else {
        kind
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
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| malformed(offset, "PAX record length"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(malformed(offset, "PAX record length out of range"));
        }
        let record = &rest[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| malformed(offset, "PAX record without '='"))?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        out.push((key, record[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

fn apply_pax(h: &mut Header, key: &str, value: &[u8], offset: u64) -> Result<(), TarError> {
    let text = || String::from_utf8_lossy(value).into_owned();
    let number = || -> Result<u64, TarError> {
        text()
            .trim()
            .parse::<u64>()
            .map_err(|_| malformed(offset, &format!("PAX {key} is not a number")))
    };
    match key {
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
