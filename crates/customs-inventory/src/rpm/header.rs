//! The rpm header blob as stored in every rpm database: a count of index entries and the
//! size of the data store (`il`, `dl`, big-endian), `il` 16-byte index entries
//! (tag, type, offset, count) and the data store they point into.
//!
//! Only the tags an inventory needs are decoded. Every offset and count is checked against
//! the blob, so a corrupt header is an error, never a panic or a huge allocation.

use crate::ExtractError;

const FORMAT: &str = "rpm header";

/// Limits from rpm's own `hdrblobInit`: at most 0xffff index entries, a data store under
/// 256 MiB.
const MAX_INDEX_ENTRIES: usize = 0xffff;
const MAX_DATA_LEN: usize = 256 << 20;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_OLDFILENAMES: i32 = 1027;
const TAG_SOURCERPM: i32 = 1044;
const TAG_DIRINDEXES: i32 = 1116;
const TAG_BASENAMES: i32 = 1117;
const TAG_DIRNAMES: i32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The fields of one installed package, decoded from its header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// Present only when the header carries an `EPOCH` tag.
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH`, when present.
    pub arch: Option<String>,
    /// File name of the source rpm (`bash-4.4-19.6.1.src.rpm`).
    pub source_rpm: Option<String>,
    /// `LICENSE`, when present.
    pub license: Option<String>,
    /// Absolute paths of the files the package owns.
    pub files: Vec<String>,
}

/// One index entry: where a tag's value lives in the data store.
#[derive(Clone, Copy)]
struct Entry {
    ty: u32,
    offset: usize,
    count: usize,
}

/// Decodes the tags an inventory needs from a header blob (`il`, `dl`, index, data store).
/// Trailing bytes after the data store are ignored.
pub fn parse(blob: &[u8]) -> Result<RpmHeader, ExtractError> {
    let il = be_u32(blob, 0).ok_or_else(|| malformed("blob shorter than 8 bytes"))? as usize;
    let dl = be_u32(blob, 4).ok_or_else(|| malformed("blob shorter than 8 bytes"))? as usize;
    if il == 0 || il > MAX_INDEX_ENTRIES {
        return Err(malformed(format!("index entry count {il} out of range")));
    }
    if dl > MAX_DATA_LEN {
        return Err(malformed(format!("data store length {dl} out of range")));
    }
    let index_end = 8 + il * 16;
    let store_end = index_end + dl;
    if store_end > blob.len() {
        return Err(malformed(format!(
            "header declares {store_end} bytes, blob has {}",
            blob.len()
        )));
    }
    let index = &blob[8..index_end];
    let store = &blob[index_end..store_end];

    // Later entries win: rpm lets "dribble" entries after the immutable region replace
    // region entries with the same tag.
    let mut wanted: [Option<Entry>; 11] = [None; 11];
    for raw in index.chunks_exact(16) {
        let tag = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let slot = match tag {
            TAG_NAME => 0,
            TAG_VERSION => 1,
            TAG_RELEASE => 2,
            TAG_EPOCH => 3,
            TAG_LICENSE => 4,
            TAG_ARCH => 5,
            TAG_OLDFILENAMES => 6,
            TAG_SOURCERPM => 7,
            TAG_DIRINDEXES => 8,
            TAG_BASENAMES => 9,
            TAG_DIRNAMES => 10,
            _ => continue,
        };
        let ty = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
        let offset = u32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize;
        let count = u32::from_be_bytes([raw[12], raw[13], raw[14], raw[15]]) as usize;
        if offset >= store.len() {
            return Err(malformed(format!(
                "tag {tag} points outside the data store"
            )));
        }
        wanted[slot] = Some(Entry { ty, offset, count });
    }
    let [name, version, release, epoch, license, arch, oldfilenames, sourcerpm, dirindexes, basenames, dirnames] =
        wanted;

    let name = string(store, name.ok_or_else(|| malformed("no NAME tag"))?, "NAME")?;
    let version = string(
        store,
        version.ok_or_else(|| malformed("no VERSION tag"))?,
        "VERSION",
    )?;
    let release = string(
        store,
        release.ok_or_else(|| malformed("no RELEASE tag"))?,
        "RELEASE",
    )?;
    let epoch = epoch.map(|e| first_int32(store, e, "EPOCH")).transpose()?;
    let license = license.map(|e| string(store, e, "LICENSE")).transpose()?;
    let arch = arch.map(|e| string(store, e, "ARCH")).transpose()?;
    let source_rpm = sourcerpm
        .map(|e| string(store, e, "SOURCERPM"))
        .transpose()?;

    let files = match (basenames, dirnames, dirindexes) {
        (Some(b), Some(d), Some(i)) => split_file_list(store, b, d, i)?,
        (None, None, None) => match oldfilenames {
            Some(e) => string_array(store, e, "OLDFILENAMES")?
                .into_iter()
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        },
        _ => {
            return Err(malformed(
                "incomplete file list (BASENAMES/DIRNAMES/DIRINDEXES)",
            ))
        }
    };

    Ok(RpmHeader {
        name: name.to_owned(),
        epoch,
        version: version.to_owned(),
        release: release.to_owned(),
        arch: arch.map(str::to_owned),
        source_rpm: source_rpm.map(str::to_owned),
        license: license.map(str::to_owned),
        files,
    })
}

/// Joins `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`. The total length is bounded before any
/// path is built, so a small header cannot make us build gigabytes of paths.
fn split_file_list(
    store: &[u8],
    basenames: Entry,
    dirnames: Entry,
    dirindexes: Entry,
) -> Result<Vec<String>, ExtractError> {
    let bases = string_array(store, basenames, "BASENAMES")?;
    let dirs = string_array(store, dirnames, "DIRNAMES")?;
    if dirindexes.ty != TYPE_INT32 {
        return Err(malformed("DIRINDEXES is not INT32"));
    }
    let ints = int32_slice(store, dirindexes, "DIRINDEXES")?;
    if ints.len() / 4 != bases.len() {
        return Err(malformed("BASENAMES and DIRINDEXES differ in length"));
    }
    let mut total = 0usize;
    for (raw, base) in ints.chunks_exact(4).zip(&bases) {
        let idx = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
        let dir = dirs
            .get(idx)
            .ok_or_else(|| malformed("DIRINDEXES entry out of range"))?;
        total = total.saturating_add(dir.len() + base.len());
    }
    // Real packages share directories between many files; 64 times the data store is far
    // beyond any real header and still a bounded allocation.
    if total > store.len().saturating_mul(64) {
        return Err(ExtractError::limit(
            FORMAT,
            "file list expands beyond 64 times the header size",
        ));
    }
    let mut files = Vec::with_capacity(bases.len());
    for (raw, base) in ints.chunks_exact(4).zip(&bases) {
        let dir = dirs[u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize];
        let mut path = String::with_capacity(dir.len() + base.len());
        path.push_str(dir);
        path.push_str(base);
        files.push(path);
    }
    Ok(files)
}

/// A `STRING` (or the first string of an `I18NSTRING`/`STRING_ARRAY`) value.
fn string<'a>(store: &'a [u8], e: Entry, what: &str) -> Result<&'a str, ExtractError> {
    match e.ty {
        TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY if e.count >= 1 => {
            nul_terminated(store, e.offset, what).map(|(s, _)| s)
        }
        _ => Err(malformed(format!("{what} is not a string"))),
    }
}

/// A `STRING_ARRAY` value: `count` NUL-terminated strings in a row.
fn string_array<'a>(store: &'a [u8], e: Entry, what: &str) -> Result<Vec<&'a str>, ExtractError> {
    if e.ty != TYPE_STRING_ARRAY && e.ty != TYPE_I18NSTRING {
        return Err(malformed(format!("{what} is not a string array")));
    }
    // Each string takes at least its NUL byte, so a count beyond the remaining bytes is a lie.
    if e.count > store.len() - e.offset {
        return Err(malformed(format!("{what} count exceeds the data store")));
    }
    let mut out = Vec::with_capacity(e.count);
    let mut pos = e.offset;
    for _ in 0..e.count {
        let (s, next) = nul_terminated(store, pos, what)?;
        out.push(s);
        pos = next;
    }
    Ok(out)
}

fn first_int32(store: &[u8], e: Entry, what: &str) -> Result<u32, ExtractError> {
    if e.ty != TYPE_INT32 || e.count == 0 {
        return Err(malformed(format!("{what} is not INT32")));
    }
    be_u32(store, e.offset).ok_or_else(|| malformed(format!("{what} outside the data store")))
}

fn int32_slice<'a>(store: &'a [u8], e: Entry, what: &str) -> Result<&'a [u8], ExtractError> {
    e.count
        .checked_mul(4)
        .and_then(|len| store.get(e.offset..e.offset.checked_add(len)?))
        .ok_or_else(|| malformed(format!("{what} extends past the data store")))
}

/// The string starting at `pos` and the position after its NUL.
fn nul_terminated<'a>(
    store: &'a [u8],
    pos: usize,
    what: &str,
) -> Result<(&'a str, usize), ExtractError> {
    let rest = store
        .get(pos..)
        .ok_or_else(|| malformed(format!("{what} outside the data store")))?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| malformed(format!("{what} is not NUL-terminated")))?;
    let s = std::str::from_utf8(&rest[..len])
        .map_err(|_| malformed(format!("{what} is not valid UTF-8")))?;
    Ok((s, pos + len + 1))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn malformed(reason: impl Into<String>) -> ExtractError {
    ExtractError::malformed(FORMAT, reason)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob from `(tag, type, count, data)` entries, data laid out in order.
    pub(crate) fn build(entries: &[(i32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, ty, count, data) in entries {
            if *ty == TYPE_INT32 {
                while store.len() % 4 != 0 {
                    store.push(0);
                }
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(store.len() as u32).to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            store.extend_from_slice(data);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);
        blob
    }

    pub(crate) fn s(v: &str) -> Vec<u8> {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        b
    }

    fn minimal() -> Vec<(i32, u32, u32, Vec<u8>)> {
        vec![
            (TAG_NAME, TYPE_STRING, 1, s("bash")),
            (TAG_VERSION, TYPE_STRING, 1, s("5.1")),
            (TAG_RELEASE, TYPE_STRING, 1, s("2.el9")),
        ]
    }

    #[test]
    fn decodes_name_version_release_and_file_list() {
        let mut e = minimal();
        e.push((TAG_EPOCH, TYPE_INT32, 1, 3u32.to_be_bytes().to_vec()));
        e.push((
            TAG_BASENAMES,
            TYPE_STRING_ARRAY,
            3,
            [s("bash"), s("sh"), s("bashrc")].concat(),
        ));
        e.push((
            TAG_DIRNAMES,
            TYPE_STRING_ARRAY,
            2,
            [s("/usr/bin/"), s("/etc/")].concat(),
        ));
        e.push((
            TAG_DIRINDEXES,
            TYPE_INT32,
            3,
            [0u32, 0, 1].iter().flat_map(|i| i.to_be_bytes()).collect(),
        ));
        let h = parse(&build(&e)).unwrap();
        assert_eq!(
            (h.name.as_str(), h.version.as_str(), h.release.as_str()),
            ("bash", "5.1", "2.el9")
        );
        assert_eq!(h.epoch, Some(3));
        assert_eq!(h.files, ["/usr/bin/bash", "/usr/bin/sh", "/etc/bashrc"]);
    }

    #[test]
    fn later_entry_replaces_earlier_one_with_same_tag() {
        let mut e = minimal();
        e.push((TAG_RELEASE, TYPE_STRING, 1, s("3.el9")));
        assert_eq!(parse(&build(&e)).unwrap().release, "3.el9");
    }

    #[test]
    fn old_style_file_names_are_read() {
        let mut e = minimal();
        e.push((
            TAG_OLDFILENAMES,
            TYPE_STRING_ARRAY,
            2,
            [s("/bin/a"), s("/bin/b")].concat(),
        ));
        assert_eq!(parse(&build(&e)).unwrap().files, ["/bin/a", "/bin/b"]);
    }

    #[test]
    fn dir_index_out_of_range_is_an_error() {
        let mut e = minimal();
        e.push((TAG_BASENAMES, TYPE_STRING_ARRAY, 1, s("x")));
        e.push((TAG_DIRNAMES, TYPE_STRING_ARRAY, 1, s("/")));
        e.push((TAG_DIRINDEXES, TYPE_INT32, 1, 7u32.to_be_bytes().to_vec()));
        assert!(parse(&build(&e)).is_err());
    }

    #[test]
    fn huge_string_array_count_is_rejected_without_allocating() {
        let mut e = minimal();
        e.push((TAG_OLDFILENAMES, TYPE_STRING_ARRAY, u32::MAX, s("/x")));
        assert!(parse(&build(&e)).is_err());
    }

    #[test]
    fn file_list_expanding_far_beyond_the_header_is_refused() {
        // One 10 kB directory shared by 200 files: 2 MB of paths from a 10 kB header.
        let mut e = minimal();
        e.push((TAG_BASENAMES, TYPE_STRING_ARRAY, 200, s("a").repeat(200)));
        e.push((TAG_DIRNAMES, TYPE_STRING_ARRAY, 1, s(&"d".repeat(10_000))));
        e.push((TAG_DIRINDEXES, TYPE_INT32, 200, vec![0; 800]));
        assert!(matches!(parse(&build(&e)), Err(ExtractError::Limit { .. })));
    }

    #[test]
    fn missing_name_is_an_error() {
        let e = vec![
            (TAG_VERSION, TYPE_STRING, 1, s("1")),
            (TAG_RELEASE, TYPE_STRING, 1, s("1")),
        ];
        assert!(parse(&build(&e)).is_err());
    }

    #[test]
    fn wrong_tag_type_is_an_error() {
        let mut e = minimal();
        e[0] = (TAG_NAME, TYPE_INT32, 1, 1u32.to_be_bytes().to_vec());
        assert!(parse(&build(&e)).is_err());
    }

    #[test]
    fn truncated_blob_is_an_error() {
        let blob = build(&minimal());
        for len in 0..blob.len() {
            assert!(parse(&blob[..len]).is_err(), "length {len}");
        }
    }
}
