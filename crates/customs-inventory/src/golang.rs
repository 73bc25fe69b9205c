//! Go binaries: reads the build information the Go linker embeds in every executable (ELF, PE,
//! Mach-O) and reports the main module, its dependencies (with `replace` directives applied)
//! and the toolchain as `stdlib`.
//!
//! # Build info layout
//!
//! The linker writes a 32-byte header, 16-byte aligned, into a writable data section (ELF
//! `.go.buildinfo`, Mach-O `__go_buildinfo`, the start of `.data` in PE):
//!
//! ```text
//! 0..14   magic "\xff Go buildinf:"
//! 14      pointer size in bytes (4 or 8)
//! 15      flags: bit 0 = big endian (pointer layout only), bit 1 = strings inline (Go 1.18+)
//! 16..32  pointer layout: two pointers (version, modinfo), each to a Go string header
//!         `{data pointer, length}` of pointer-size words somewhere in the data segments;
//!         inline layout: padding, then at offset 32 the version and the modinfo strings,
//!         each as an unsigned varint length followed by the bytes.
//! ```
//!
//! The modinfo string is wrapped in two 16-byte sentinels and holds tab-separated lines:
//! `path <import path>`, `mod <path> <version> <sum>`, `dep <path> <version> <sum>`,
//! `=> <path> <version> <sum>` (replaces the module on the line before) and, since Go 1.18,
//! `build <key>=<value>` settings.

use object::{Object, ObjectSection, ObjectSegment};

use crate::{ExtractError, Package, Purl};

const FORMAT: &str = "Go build info";
const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;
/// Section names that hold only the build info header, per object format.
const BUILDINFO_SECTIONS: &[&str] = &[".go.buildinfo", "__go_buildinfo"];

/// One module of the build: the main module, a dependency, or a replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Module path (`golang.org/x/net`).
    pub path: String,
    /// As written by Go, with its leading `v` (`v0.3.0`), or `(devel)`; empty for a local
    /// directory replacement.
    pub version: String,
    /// `go.sum` hash (`h1:…`), empty when not recorded.
    pub sum: String,
    /// The module that a `replace` directive substituted for this one.
    pub replace: Option<Box<Module>>,
}

/// The build information of one Go executable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// Toolchain version as embedded (`go1.22.0`, `go1.20.3 X:boringcrypto`).
    pub go_version: String,
    /// Import path of the main package (`path` line).
    pub path: String,
    /// The main module (`mod` line), when recorded.
    pub main: Option<Module>,
    /// Dependencies (`dep` lines), in order.
    pub deps: Vec<Module>,
    /// `build` settings in order (`GOOS`, `GOARCH`, `-ldflags`, `vcs.revision`, ...).
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    /// The value of a `build` setting such as `GOARCH` or `-ldflags`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a file starting with these bytes is an executable format that may carry Go build
/// info: ELF, PE (`MZ`) or Mach-O (thin or universal).
pub fn is_candidate(first_bytes: &[u8]) -> bool {
    let Some(head) = first_bytes.get(..4) else {
        return first_bytes.starts_with(b"MZ");
    };
    matches!(
        head,
        [0x7f, b'E', b'L', b'F']
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe]
    ) || head.starts_with(b"MZ")
}

/// Packages of a Go executable: the main module, each dependency (replacement applied) and
/// `stdlib` at the toolchain version. Files without Go build info give an empty list; a file
/// that claims to be an executable but cannot be read gives an error.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    match read_build_info(data)? {
        Some(info) => Ok(packages(path, &info)),
        None => Ok(Vec::new()),
    }
}

/// Reads the build info of an executable; `None` when the file is not a Go executable.
pub fn read_build_info(data: &[u8]) -> Result<Option<BuildInfo>, ExtractError> {
    if !is_candidate(data) {
        return Ok(None);
    }
    if data.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) {
        return read_universal(data);
    }
    let file = object::File::parse(data)
        .map_err(|e| ExtractError::malformed(FORMAT, format!("executable headers: {e}")))?;
    let Some(header_at) = find_header(&file)? else {
        return Ok(None);
    };
    let memory = Memory::of(&file);
    decode(header_at, &memory).map(Some)
}

/// A universal Mach-O holds one binary per architecture, all built from the same sources:
/// the first with build info answers. The same magic starts Java class files, which are not
/// executables and give `None`.
fn read_universal(data: &[u8]) -> Result<Option<BuildInfo>, ExtractError> {
    use object::read::macho::{FatArch, MachOFatFile32};
    let Ok(fat) = MachOFatFile32::parse(data) else {
        return Ok(None);
    };
    for arch in fat.arches() {
        let slice = arch
            .data(data)
            .map_err(|e| ExtractError::malformed(FORMAT, format!("universal binary: {e}")))?;
        // A nested universal header would recurse forever; only thin binaries are read.
        if slice.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) {
            continue;
        }
        if let Some(info) = read_build_info(slice)? {
            return Ok(Some(info));
        }
    }
    Ok(None)
}

/// Looks for the header in the dedicated section, then in every writable data section.
/// Returns the bytes from the header to the end of its section.
fn find_header<'a>(file: &object::File<'a>) -> Result<Option<&'a [u8]>, ExtractError> {
    for name in BUILDINFO_SECTIONS {
        if let Some(section) = file.section_by_name(name) {
            let bytes = section_data(&section)?;
            if let Some(found) = find_magic(bytes) {
                return Ok(Some(found));
            }
        }
    }
    let mut have_sections = false;
    for section in file.sections() {
        have_sections = true;
        if section.kind() != object::SectionKind::Data {
            continue;
        }
        if let Some(found) = find_magic(section_data(&section)?) {
            return Ok(Some(found));
        }
    }
    if have_sections {
        return Ok(None);
    }
    // An ELF stripped of its section headers: the writable loadable segments.
    for segment in file.segments() {
        let writable = match segment.flags() {
            object::SegmentFlags::Elf { p_flags, .. } => p_flags.0 & object::elf::PF_W.0 != 0,
            _ => false,
        };
        if !writable {
            continue;
        }
        let bytes = segment
            .data()
            .map_err(|e| ExtractError::malformed(FORMAT, format!("segment: {e}")))?;
        if let Some(found) = find_magic(bytes) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn section_data<'a>(section: &object::Section<'a, '_>) -> Result<&'a [u8], ExtractError> {
    section.data().map_err(|e| {
        let name = section.name().unwrap_or("?");
        ExtractError::malformed(FORMAT, format!("section {name}: {e}"))
    })
}

/// The magic only ever starts at a 16-byte boundary of its section or segment.
fn find_magic(bytes: &[u8]) -> Option<&[u8]> {
    memchr::memmem::find_iter(bytes, MAGIC)
        .find(|at| at % 16 == 0)
        .map(|at| &bytes[at..])
}

/// The file's loadable segments, for reading what a virtual address points at.
pub(crate) struct Memory<'a> {
    /// `(virtual address, bytes present in the file)`.
    regions: Vec<(u64, &'a [u8])>,
}

impl<'a> Memory<'a> {
    fn of(file: &object::File<'a>) -> Self {
        let regions = file
            .segments()
            .filter_map(|seg| Some((seg.address(), seg.data().ok()?)))
            .filter(|(_, bytes)| !bytes.is_empty())
            .collect();
        Memory { regions }
    }

    /// `len` bytes at virtual address `addr`, if a segment holds all of them in the file.
    fn read(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.regions.iter().find_map(|&(start, bytes)| {
            let offset = addr.checked_sub(start)?;
            let end = offset.checked_add(len)?;
            if end > bytes.len() as u64 {
                return None;
            }
            bytes.get(offset as usize..end as usize)
        })
    }
}

/// Decodes the header (and what it points at) into build info.
fn decode(header: &[u8], memory: &Memory<'_>) -> Result<BuildInfo, ExtractError> {
    let head = header
        .get(..HEADER_LEN)
        .ok_or_else(|| ExtractError::malformed(FORMAT, "header truncated"))?;
    let ptr_size = head[14];
    let flags = head[15];
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let mut rest = &header[HEADER_LEN..];
        let version = read_varint_string(&mut rest)?;
        let modinfo = read_varint_string(&mut rest)?;
        (version, modinfo)
    } else {
        let word = Word::new(ptr_size, flags & FLAG_BIG_ENDIAN != 0)?;
        let n = ptr_size as usize;
        let version_ptr = word.read(&head[16..16 + n]);
        let modinfo_ptr = word.read(&head[16 + n..16 + 2 * n]);
        let version = read_go_string(memory, word, version_ptr)?;
        let modinfo = read_go_string(memory, word, modinfo_ptr)?;
        (version, modinfo)
    };
    let mut info = parse_modinfo(&String::from_utf8_lossy(strip_sentinels(modinfo)));
    info.go_version = String::from_utf8_lossy(version).into_owned();
    Ok(info)
}

fn read_varint_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], ExtractError> {
    let mut len: u64 = 0;
    let mut used = 0;
    loop {
        let byte = *rest
            .get(used)
            .ok_or_else(|| ExtractError::malformed(FORMAT, "string length truncated"))?;
        if used == 9 && byte > 1 {
            return Err(ExtractError::malformed(FORMAT, "string length overflows"));
        }
        len |= u64::from(byte & 0x7f) << (7 * used);
        used += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let bytes = &rest[used..];
    if len > bytes.len() as u64 {
        return Err(ExtractError::malformed(
            FORMAT,
            "string runs past the section",
        ));
    }
    let (value, tail) = bytes.split_at(len as usize);
    *rest = tail;
    Ok(value)
}

/// A pointer-size integer of the target.
#[derive(Clone, Copy)]
struct Word {
    size: u8,
    big_endian: bool,
}

impl Word {
    fn new(size: u8, big_endian: bool) -> Result<Self, ExtractError> {
        match size {
            4 | 8 => Ok(Word { size, big_endian }),
            other => Err(ExtractError::malformed(
                FORMAT,
                format!("pointer size {other}"),
            )),
        }
    }

    /// Caller guarantees `bytes.len() == self.size`.
    fn read(self, bytes: &[u8]) -> u64 {
        let mut buf = [0u8; 8];
        let n = self.size as usize;
        if self.big_endian {
            buf[8 - n..].copy_from_slice(&bytes[..n]);
            u64::from_be_bytes(buf)
        } else {
            buf[..n].copy_from_slice(&bytes[..n]);
            u64::from_le_bytes(buf)
        }
    }
}

/// Follows a pointer to a Go string header `{data, len}` and returns the string's bytes.
fn read_go_string<'a>(
    memory: &Memory<'a>,
    word: Word,
    header_addr: u64,
) -> Result<&'a [u8], ExtractError> {
    let n = u64::from(word.size);
    let header = memory
        .read(header_addr, 2 * n)
        .ok_or_else(|| ExtractError::malformed(FORMAT, "string header outside the file"))?;
    let data = word.read(&header[..n as usize]);
    let len = word.read(&header[n as usize..]);
    if len == 0 {
        return Ok(&[]);
    }
    memory
        .read(data, len)
        .ok_or_else(|| ExtractError::malformed(FORMAT, "string data outside the file"))
}

/// Removes the 16-byte sentinels around modinfo; without them there is no module info.
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[]
    }
}

/// Parses the modinfo text (without sentinels). Unknown or malformed lines are skipped.
pub fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo::default();
    // Which module a `=>` line replaces: the last `mod` or `dep` line.
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    for line in text.lines() {
        let (word, rest) = line.split_once('\t').unwrap_or((line, ""));
        match word {
            "path" => info.path = rest.to_string(),
            "mod" | "dep" | "=>" => {
                let mut fields = rest.split('\t');
                let module = Module {
                    path: fields.next().unwrap_or_default().to_string(),
                    version: fields.next().unwrap_or_default().to_string(),
                    sum: fields.next().unwrap_or_default().to_string(),
                    replace: None,
                };
                if module.path.is_empty() {
                    continue;
                }
                match word {
                    "mod" => {
                        info.main = Some(module);
                        last = Last::Main;
                    }
                    "dep" => {
                        info.deps.push(module);
                        last = Last::Dep;
                    }
                    _ => {
                        let target = match last {
                            Last::Main => info.main.as_mut(),
                            Last::Dep => info.deps.last_mut(),
                            Last::None => None,
                        };
                        if let Some(target) = target {
                            target.replace = Some(Box::new(module));
                        }
                        last = Last::None;
                    }
                }
            }
            "build" => {
                if let Some((key, value)) = rest.split_once('=') {
                    info.settings.push((key.to_string(), unquote(value)));
                }
            }
            _ => {}
        }
    }
    info
}

/// Build setting values containing spaces, tabs, quotes or `=` are Go-quoted.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => {}
                }
            }
            out
        }
        None => value.to_string(),
    }
}

/// The toolchain version as OSV's Go ecosystem writes it: `go1.21rc2` -> `1.21rc2`,
/// `go1.20.3 X:boringcrypto` -> `1.20.3`, `go1.22.0+auto` -> `1.22.0`; development toolchains
/// (`devel go1.23-abc...`) have no release version and give `None`.
pub fn stdlib_version(go_version: &str) -> Option<&str> {
    let first = go_version.split_whitespace().next()?;
    let version = first.strip_prefix("go")?;
    let version = version.split('+').next()?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(version)
}

/// One package per module, replacements applied (a replacement by a local directory has no
/// version and is reported as `(devel)`, like a main module built from a work tree); versions
/// without their leading `v`.
fn packages(path: &str, info: &BuildInfo) -> Vec<Package> {
    let location = format!("/{}", path.trim_start_matches('/'));
    let package = |module_path: &str, version: &str| {
        let version = version.strip_prefix('v').unwrap_or(version);
        let version = if version.is_empty() {
            "(devel)"
        } else {
            version
        };
        let (namespace, name) = match module_path.rsplit_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, module_path),
        };
        // The purl keeps Go's own version spelling (`v1.2.3`); `(devel)` has no version.
        let purl_version = match version {
            "(devel)" => String::new(),
            _ if module_path == "stdlib" => version.to_string(),
            _ => format!("v{version}"),
        };
        Package {
            ecosystem: "Go".into(),
            name: module_path.to_string(),
            version: version.to_string(),
            purl: Purl::new("golang", namespace, name, &purl_version, &[]),
            found_by: "go-binary".into(),
            locations: vec![location.clone()],
            ..Package::default()
        }
    };
    let mut out = Vec::new();
    if let Some(main) = &info.main {
        let module = main.replace.as_deref().unwrap_or(main);
        out.push(package(&module.path, &module.version));
    } else if !info.path.is_empty() && info.path != "command-line-arguments" {
        // GOPATH mode (no `mod` line, as Debian builds Go): the main package path stands for
        // the main module, built from a work tree.
        out.push(package(&info.path, ""));
    }
    for dep in &info.deps {
        let module = dep.replace.as_deref().unwrap_or(dep);
        out.push(package(&module.path, &module.version));
    }
    if let Some(version) = stdlib_version(&info.go_version) {
        out.push(package("stdlib", version));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &[u8; 16] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8; 16] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    fn wrapped(modinfo: &str) -> Vec<u8> {
        [START.as_slice(), modinfo.as_bytes(), END.as_slice()].concat()
    }

    const MODINFO: &str = "path\texample.com/app\n\
        mod\texample.com/app\tv1.2.3\th1:abc=\n\
        dep\tgolang.org/x/text\tv0.3.7\th1:def=\n\
        dep\tgolang.org/x/xerrors\tv0.0.0-2022\th1:ghi=\n\
        =>\tgithub.com/golang/xerrors\tv0.0.0-2023\th1:jkl=\n\
        dep\texample.com/local\tv1.0.0\n\
        =>\t../local\t\n";

    /// A hand-built pre-1.18 (pointer layout) build info, 64-bit little endian, laid out in
    /// one data segment at virtual address 0x50_0000:
    ///
    /// ```text
    /// +0x00  header: magic, ptr size 8, flags 0, ptr -> +0x20, ptr -> +0x30
    /// +0x20  string header {data: +0x40, len: 8}          (version)
    /// +0x30  string header {data: +0x48, len: modinfo}    (modinfo with sentinels)
    /// +0x40  "go1.16.5"
    /// +0x48  modinfo bytes
    /// ```
    fn pointer_layout(big_endian: bool, ptr_size: u8) -> (u64, Vec<u8>) {
        let base: u64 = 0x50_0000;
        let put = |buf: &mut Vec<u8>, value: u64| {
            let bytes = if big_endian {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            match (ptr_size, big_endian) {
                (8, _) => buf.extend_from_slice(&bytes),
                (_, true) => buf.extend_from_slice(&bytes[4..]),
                (_, false) => buf.extend_from_slice(&bytes[..4]),
            }
        };
        let modinfo = wrapped(MODINFO);
        let mut seg = MAGIC.to_vec();
        seg.push(ptr_size);
        seg.push(u8::from(big_endian));
        put(&mut seg, base + 0x20);
        put(&mut seg, base + 0x30);
        seg.resize(0x20, 0);
        put(&mut seg, base + 0x40);
        put(&mut seg, 8);
        seg.resize(0x30, 0);
        put(&mut seg, base + 0x48);
        put(&mut seg, modinfo.len() as u64);
        seg.resize(0x40, 0);
        seg.extend_from_slice(b"go1.16.5");
        seg.extend_from_slice(&modinfo);
        (base, seg)
    }

    fn names(info: &BuildInfo) -> Vec<(String, String)> {
        packages("app", info)
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn pointer_layout_is_read_through_string_headers() {
        for (big_endian, ptr_size) in [(false, 8), (true, 8), (false, 4), (true, 4)] {
            let (base, seg) = pointer_layout(big_endian, ptr_size);
            let memory = Memory {
                regions: vec![(0x40_0000, &[0u8; 64][..]), (base, &seg)],
            };
            let info = decode(&seg, &memory).unwrap();
            assert_eq!(info.go_version, "go1.16.5");
            assert_eq!(
                names(&info),
                [
                    ("example.com/app", "1.2.3"),
                    ("golang.org/x/text", "0.3.7"),
                    ("github.com/golang/xerrors", "0.0.0-2023"),
                    ("../local", "(devel)"),
                    ("stdlib", "1.16.5"),
                ]
                .map(|(a, b)| (a.to_string(), b.to_string())),
                "big_endian={big_endian} ptr_size={ptr_size}"
            );
        }
    }

    #[test]
    fn pointer_outside_the_file_is_an_error() {
        let (base, mut seg) = pointer_layout(false, 8);
        seg[16..24].copy_from_slice(&(base + 0x10_0000).to_le_bytes());
        let memory = Memory {
            regions: vec![(base, &seg)],
        };
        assert!(decode(&seg, &memory).is_err());
    }

    #[test]
    fn inline_layout_reads_varint_strings() {
        let modinfo = wrapped(MODINFO);
        let mut seg = MAGIC.to_vec();
        seg.extend_from_slice(&[8, FLAG_INLINE]);
        seg.resize(HEADER_LEN, 0);
        seg.push(9);
        seg.extend_from_slice(b"go1.21rc2");
        // Two-byte varint: modinfo is longer than 127 bytes.
        assert!(modinfo.len() > 127 && modinfo.len() < 16384);
        seg.push((modinfo.len() as u8 & 0x7f) | 0x80);
        seg.push((modinfo.len() >> 7) as u8);
        seg.extend_from_slice(&modinfo);
        let info = decode(&seg, &Memory { regions: vec![] }).unwrap();
        assert_eq!(info.go_version, "go1.21rc2");
        assert_eq!(info.deps.len(), 3);
        assert_eq!(names(&info).last().unwrap().1, "1.21rc2");
        // Cutting the modinfo short is an error, not a panic.
        assert!(decode(&seg[..seg.len() - 1], &Memory { regions: vec![] }).is_err());
    }

    #[test]
    fn modinfo_without_sentinels_has_no_modules() {
        assert!(strip_sentinels(MODINFO.as_bytes()).is_empty());
        assert_eq!(strip_sentinels(&wrapped(MODINFO)), MODINFO.as_bytes());
    }

    #[test]
    fn build_settings_are_recorded_and_unquoted() {
        let info = parse_modinfo(
            "path\tx\nbuild\t-ldflags=\"-X main.version=1.0 -s\"\nbuild\tGOARCH=arm64\n\
             build\tGOOS=linux\n",
        );
        assert_eq!(info.setting("-ldflags"), Some("-X main.version=1.0 -s"));
        assert_eq!(info.setting("GOARCH"), Some("arm64"));
        assert_eq!(info.setting("GOOS"), Some("linux"));
    }

    #[test]
    fn toolchain_suffixes_are_stripped() {
        assert_eq!(stdlib_version("go1.22.0"), Some("1.22.0"));
        assert_eq!(stdlib_version("go1.21rc2"), Some("1.21rc2"));
        assert_eq!(stdlib_version("go1.20.3 X:boringcrypto"), Some("1.20.3"));
        assert_eq!(stdlib_version("go1.22.0+auto"), Some("1.22.0"));
        assert_eq!(stdlib_version("devel go1.23-abcdef Tue"), None);
        assert_eq!(stdlib_version(""), None);
    }

    #[test]
    fn gopath_builds_report_the_main_package_path() {
        // As Debian's golang builds write it: `path` but no `mod` line.
        let info = parse_modinfo("path\tgithub.com/prometheus/node_exporter\n");
        let pkgs = packages("usr/bin/prometheus-node-exporter", &info);
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "github.com/prometheus/node_exporter");
        assert_eq!(pkgs[0].version, "(devel)");
        assert_eq!(
            pkgs[0].purl_string(),
            "pkg:golang/github.com/prometheus/node_exporter"
        );
        // `go run x.go` writes this placeholder; it names no package.
        let info = parse_modinfo("path\tcommand-line-arguments\n");
        assert!(packages("x", &info).is_empty());
    }

    #[test]
    fn replaced_main_and_purls() {
        let info = parse_modinfo("mod\tex.com/a\tv1.0.0\n=>\tex.com/b\tv2.0.0\n");
        let pkgs = packages("bin/a", &info);
        assert_eq!(pkgs[0].name, "ex.com/b");
        assert_eq!(pkgs[0].purl_string(), "pkg:golang/ex.com/b@v2.0.0");
        assert_eq!(pkgs[0].locations, ["/bin/a"]);
    }

    proptest::proptest! {
        #[test]
        fn decoding_any_header_never_panics(
            flags in 0u8..4,
            ptr_size in proptest::prelude::any::<u8>(),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            let mut header = MAGIC.to_vec();
            header.extend_from_slice(&[ptr_size, flags]);
            header.extend_from_slice(&tail);
            // Pointers resolve into the header itself, at address 0 and at 0x1000.
            let memory = Memory { regions: vec![(0, &header[..]), (0x1000, &tail[..])] };
            let _ = decode(&header, &memory);
        }

        #[test]
        fn parsing_any_modinfo_never_panics(text in "(path|mod|dep|=>|build|\\t|\\n|[a-z=\"\\\\ ]){0,64}") {
            let _ = parse_modinfo(&text);
        }
    }

    #[test]
    fn candidates_are_executable_magics() {
        assert!(is_candidate(b"\x7fELF\x02"));
        assert!(is_candidate(b"MZ"));
        assert!(is_candidate(&[0xcf, 0xfa, 0xed, 0xfe]));
        assert!(!is_candidate(b"#!/bin/sh"));
        assert!(!is_candidate(b""));
    }
}
