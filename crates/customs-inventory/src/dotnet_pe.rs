//! .NET executables and libraries (PE files): the package named by the version resource
//! (`RT_VERSION` -> `VS_VERSIONINFO` -> `StringFileInfo`), `ProductName` at `FileVersion`.
//!
//! Only PE files that are .NET are reported: those with a CLR runtime header (managed
//! assemblies) and .NET app hosts, which carry no CLR header but name `hostfxr`, the .NET
//! host they load. Native Windows binaries have version resources too, and their product
//! names are not NuGet packages.

use object::pe;
use object::read::pe::{ImageNtHeaders, PeFile, ResourceDirectoryEntryData, ResourceNameOrId};
use object::LittleEndian as LE;

use crate::{ExtractError, Package, Purl};

const FORMAT: &str = "PE version resource";
/// `RT_VERSION` resource type id.
const RT_VERSION: u16 = 16;
/// Text an app host contains: the entry points of the .NET host library it loads.
const APPHOST_MARKER: &[u8] = b"hostfxr_main";

/// Whether `path` names a PE file by extension (`.exe`, `.dll`).
pub fn matches(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && (ext.eq_ignore_ascii_case("exe") || ext.eq_ignore_ascii_case("dll"))
    })
}

/// The package of a .NET PE file, from its version resource. Files that are not PE, not .NET,
/// or have no `ProductName` give an empty list.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let strings = match object::FileKind::parse(data) {
        Ok(object::FileKind::Pe32) => read::<pe::ImageNtHeaders32>(data)?,
        Ok(object::FileKind::Pe64) => read::<pe::ImageNtHeaders64>(data)?,
        _ => return Ok(Vec::new()),
    };
    let Some(info) = strings else {
        return Ok(Vec::new());
    };
    let (Some(name), Some(version)) = (info.product_name, info.file_version) else {
        return Ok(Vec::new());
    };
    Ok(vec![Package {
        ecosystem: "NuGet".into(),
        purl: Purl::new("nuget", None, &name, &version, &[]),
        name,
        version,
        found_by: "dotnet-pe".into(),
        locations: vec![format!("/{}", path.trim_start_matches('/'))],
        ..Package::default()
    }])
}

/// What the version resource says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VersionInfo {
    /// `ProductName` string, when present.
    pub product_name: Option<String>,
    /// `FileVersion` string (first word, `6.0.1 (build)` -> `6.0.1`), else the fixed file
    /// version `a.b.c.d`.
    pub file_version: Option<String>,
}

/// The version resource of a .NET PE file; `None` when the file is not .NET or has none.
fn read<Pe: ImageNtHeaders>(data: &[u8]) -> Result<Option<VersionInfo>, ExtractError> {
    let err =
        |what: &str, e: object::Error| ExtractError::malformed(FORMAT, format!("{what}: {e}"));
    let file = PeFile::<Pe>::parse(data).map_err(|e| err("PE headers", e))?;
    let has_clr = file
        .data_directory(pe::IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR)
        .is_some_and(|dir| dir.size.get(LE) != 0);
    if !has_clr && memchr::memmem::find(data, APPHOST_MARKER).is_none() {
        return Ok(None);
    }
    let sections = file.section_table();
    let Some(rsrc) = file
        .data_directories()
        .resource_directory(data, &sections)
        .map_err(|e| err("resource directory", e))?
    else {
        return Ok(None);
    };
    // Type -> name -> language; the first name and language of RT_VERSION.
    let root = rsrc.root().map_err(|e| err("resource table", e))?;
    let Some(types) = root
        .entries
        .iter()
        .find(|e| matches!(e.name_or_id(), ResourceNameOrId::Id(RT_VERSION)))
    else {
        return Ok(None);
    };
    let mut entry = types.data(rsrc).map_err(|e| err("resource entry", e))?;
    let mut levels = 0;
    let leaf = loop {
        match entry {
            ResourceDirectoryEntryData::Data(leaf) => break leaf,
            ResourceDirectoryEntryData::Table(table) => {
                // Name and language tables lie below the type; a table pointing back up
                // would loop forever.
                levels += 1;
                if levels > 2 {
                    return Err(ExtractError::malformed(
                        FORMAT,
                        "resource tables nest too deep",
                    ));
                }
                let Some(first) = table.entries.first() else {
                    return Ok(None);
                };
                entry = first.data(rsrc).map_err(|e| err("resource entry", e))?;
            }
        }
    };
    let rva = leaf.offset_to_data.get(LE);
    let size = leaf.size.get(LE) as usize;
    let bytes = sections
        .pe_data_at(data, rva)
        .and_then(|b| b.get(..size))
        .ok_or_else(|| ExtractError::malformed(FORMAT, "version resource outside the file"))?;
    Ok(Some(parse_version_info(bytes)))
}

/// Reads a `VS_VERSIONINFO` tree. Each node is
/// `{u16 length, u16 value_length, u16 type, UTF-16 key NUL, pad to 4, value, pad to 4,
/// children}`; `type` 1 means the value is text. Malformed nodes end the walk quietly.
pub fn parse_version_info(bytes: &[u8]) -> VersionInfo {
    let mut info = VersionInfo::default();
    let Some(root) = Node::at(bytes, 0) else {
        return info;
    };
    if root.key != "VS_VERSION_INFO" {
        return info;
    }
    for child in root.children(bytes) {
        if child.key != "StringFileInfo" {
            continue;
        }
        for table in child.children(bytes) {
            let mut name = None;
            let mut version = None;
            for string in table.children(bytes) {
                let value = string.text(bytes);
                let value = value.trim();
                match string.key.as_str() {
                    "ProductName" if !value.is_empty() => name = Some(value.to_string()),
                    "FileVersion" => version = value.split_whitespace().next().map(str::to_string),
                    _ => {}
                }
            }
            if info.product_name.is_none() && name.is_some() {
                info.product_name = name;
                info.file_version = version.or(info.file_version);
            } else if info.file_version.is_none() {
                info.file_version = version;
            }
        }
    }
    if info.file_version.is_none() {
        info.file_version = fixed_file_version(root.value(bytes));
    }
    info
}

/// `VS_FIXEDFILEINFO`: signature `0xFEEF04BD`, struct version, then the file version as two
/// u32 (`major << 16 | minor`, `build << 16 | revision`).
fn fixed_file_version(value: &[u8]) -> Option<String> {
    let word = |at: usize| Some(u32::from_le_bytes(value.get(at..at + 4)?.try_into().ok()?));
    if word(0)? != 0xFEEF_04BD {
        return None;
    }
    let (ms, ls) = (word(8)?, word(12)?);
    Some(format!(
        "{}.{}.{}.{}",
        ms >> 16,
        ms & 0xffff,
        ls >> 16,
        ls & 0xffff
    ))
}

/// One node of the version tree, as offsets into the resource bytes.
struct Node {
    key: String,
    /// Where the node ends (start + length), clamped to the data.
    end: usize,
    value_start: usize,
    value_type: u16,
    value_len: usize,
}

fn align4(at: usize) -> usize {
    at.saturating_add(3) & !3
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

impl Node {
    fn at(bytes: &[u8], start: usize) -> Option<Node> {
        let length = usize::from(u16_at(bytes, start)?);
        let value_len = usize::from(u16_at(bytes, start + 2)?);
        let value_type = u16_at(bytes, start + 4)?;
        if length < 6 {
            return None;
        }
        let end = (start + length).min(bytes.len());
        let mut key = Vec::new();
        let mut at = start + 6;
        loop {
            let unit = u16_at(bytes, at).filter(|_| at + 2 <= end)?;
            at += 2;
            if unit == 0 {
                break;
            }
            key.push(unit);
        }
        Some(Node {
            key: String::from_utf16_lossy(&key),
            end,
            value_start: align4(at),
            value_type,
            value_len,
        })
    }

    /// The value bytes (text values are counted in UTF-16 units).
    fn value<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let len = if self.value_type == 1 {
            self.value_len * 2
        } else {
            self.value_len
        };
        let start = self.value_start.min(self.end);
        &bytes[start..(start + len).min(self.end)]
    }

    /// A text value up to its NUL. Producers disagree on whether `value_len` counts bytes or
    /// characters, so the text runs to the NUL or the node's end.
    fn text(&self, bytes: &[u8]) -> String {
        let start = self.value_start.min(self.end);
        let units: Vec<u16> = bytes[start..self.end]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    }

    fn children<'a>(&self, bytes: &'a [u8]) -> impl Iterator<Item = Node> + 'a {
        let len = if self.value_type == 1 {
            self.value_len * 2
        } else {
            self.value_len
        };
        let mut at = align4(self.value_start + len);
        let end = self.end;
        std::iter::from_fn(move || {
            if at + 6 > end {
                return None;
            }
            let node = Node::at(&bytes[..end], at)?;
            at = align4(node.end);
            Some(node)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialises a version-tree node the way resource compilers lay it out.
    fn node(
        key: &str,
        value_type: u16,
        value: &[u8],
        value_len: u16,
        children: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut out = vec![0, 0];
        out.extend_from_slice(&value_len.to_le_bytes());
        out.extend_from_slice(&value_type.to_le_bytes());
        for unit in key.encode_utf16().chain([0]) {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out.resize(align4(out.len()), 0);
        out.extend_from_slice(value);
        for child in children {
            out.resize(align4(out.len()), 0);
            out.extend_from_slice(child);
        }
        let len = out.len() as u16;
        out[..2].copy_from_slice(&len.to_le_bytes());
        out
    }

    fn string(key: &str, value: &str) -> Vec<u8> {
        let text: Vec<u8> = value
            .encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect();
        node(key, 1, &text, (text.len() / 2) as u16, &[])
    }

    fn fixed(ms: u32, ls: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for word in [0xFEEF_04BDu32, 0x1_0000, ms, ls, 0, 0, 0, 0, 0, 0, 0, 0, 0] {
            v.extend_from_slice(&word.to_le_bytes());
        }
        v
    }

    #[test]
    fn string_file_info_gives_product_name_and_file_version() {
        let table = node(
            "040904b0",
            1,
            &[],
            0,
            &[
                string("CompanyName", "X"),
                string("FileVersion", "6.0.1 (build 7)"),
                string("ProductName", "Lib.Core"),
            ],
        );
        let sfi = node("StringFileInfo", 1, &[], 0, &[table]);
        let fixed = fixed(0x0001_0002, 0x0003_0004);
        let root = node("VS_VERSION_INFO", 0, &fixed, fixed.len() as u16, &[sfi]);
        let info = parse_version_info(&root);
        assert_eq!(info.product_name.as_deref(), Some("Lib.Core"));
        assert_eq!(info.file_version.as_deref(), Some("6.0.1"));
    }

    #[test]
    fn fixed_file_info_is_the_fallback_version() {
        let table = node("040904b0", 1, &[], 0, &[string("ProductName", "App")]);
        let sfi = node("StringFileInfo", 1, &[], 0, &[table]);
        let fixed = fixed(0x0001_0002, 0x0003_0004);
        let root = node("VS_VERSION_INFO", 0, &fixed, fixed.len() as u16, &[sfi]);
        assert_eq!(
            parse_version_info(&root).file_version.as_deref(),
            Some("1.2.3.4")
        );
        // Every truncation is read without panicking.
        for n in 0..root.len() {
            let _ = parse_version_info(&root[..n]);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_version_tree_bytes_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024),
        ) {
            let _ = parse_version_info(&bytes);
        }
    }

    #[test]
    fn pe_extensions_match() {
        assert!(matches("app/HelloWorldApp.exe"));
        assert!(matches("app/Lib.DLL"));
        assert!(!matches("app/dll"));
        assert!(!matches("app/a.so"));
    }
}
