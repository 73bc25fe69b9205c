//! Rust binaries built with `cargo auditable`: the dependency list it embeds, zlib-compressed
//! JSON in the `.dep-v0` section (`__dep_v0` in Mach-O), reported as crates.io packages.

use std::io::Read;

use object::{Object, ObjectSection};
use serde::Deserialize;

use crate::{ExtractError, Package, Purl};

const FORMAT: &str = "cargo-auditable data";
/// Section names per object format (ELF and PE share one).
const SECTIONS: &[&str] = &[".dep-v0", "__dep_v0"];
/// Largest decompressed JSON accepted; real dependency lists are a few KiB to a few hundred.
pub const MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct VersionInfo {
    packages: Vec<AuditPackage>,
}

/// One entry of `packages`; the other fields (`source`: `crates.io`, `local`, `git`, ...;
/// `kind`: `runtime` or `build`; `dependencies`; `root`) are not needed for the inventory.
#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
}

/// Every package of the embedded list, the root crate and build-time dependencies included.
/// Files that are not executables, or carry no `.dep-v0` section, give an empty list.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    if !crate::golang::is_candidate(data) {
        return Ok(Vec::new());
    }
    let file = match object::File::parse(data) {
        Ok(file) => file,
        // A universal Mach-O or a Java class file: not read here.
        Err(_) if data.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) => return Ok(Vec::new()),
        Err(e) => {
            return Err(ExtractError::malformed(
                FORMAT,
                format!("executable headers: {e}"),
            ))
        }
    };
    let Some(section) = SECTIONS.iter().find_map(|name| file.section_by_name(name)) else {
        return Ok(Vec::new());
    };
    let compressed = section
        .data()
        .map_err(|e| ExtractError::malformed(FORMAT, format!("section: {e}")))?;
    let json = inflate(compressed)?;
    let info: VersionInfo = serde_json::from_slice(&json)
        .map_err(|e| ExtractError::malformed(FORMAT, format!("JSON: {e}")))?;
    let location = format!("/{}", path.trim_start_matches('/'));
    Ok(info
        .packages
        .into_iter()
        .map(|p| Package {
            ecosystem: "crates.io".into(),
            purl: Purl::new("cargo", None, &p.name, &p.version, &[]),
            name: p.name,
            version: p.version,
            found_by: "rust-audit-binary".into(),
            locations: vec![location.clone()],
            ..Package::default()
        })
        .collect())
}

/// zlib-decompresses at most [`MAX_JSON_BYTES`].
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, ExtractError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| ExtractError::malformed(FORMAT, format!("zlib: {e}")))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(ExtractError::limit(
            FORMAT,
            format!("more than {MAX_JSON_BYTES} bytes of JSON"),
        ));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn decompression_stops_at_the_json_cap() {
        let bomb = zlib(&vec![b' '; MAX_JSON_BYTES as usize + 1]);
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(inflate(&bomb), Err(ExtractError::Limit { .. })));
        let at_cap = zlib(&vec![b' '; MAX_JSON_BYTES as usize]);
        assert_eq!(inflate(&at_cap).unwrap().len() as u64, MAX_JSON_BYTES);
    }

    #[test]
    fn corrupt_zlib_is_malformed() {
        let mut data = zlib(br#"{"packages":[]}"#);
        data.truncate(data.len() / 2);
        assert!(matches!(
            inflate(&data),
            Err(ExtractError::Malformed { .. })
        ));
        assert!(matches!(
            inflate(b"not zlib"),
            Err(ExtractError::Malformed { .. })
        ));
    }

    #[test]
    fn non_executables_give_nothing() {
        assert!(parse("bin/x", b"#!/bin/sh\necho hi\n").unwrap().is_empty());
        assert!(parse("bin/x", b"").unwrap().is_empty());
    }
}
