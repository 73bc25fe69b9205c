//! SPDX 2.2/2.3 tag-value: `Tag: value` lines, `#` comments, and multi-line values between
//! `<text>` and `</text>`. A package runs from its `PackageName` to the next `PackageName`,
//! `FileName`, `SnippetSPDXID` or `LicenseID`; customs reads its version, `PackageSourceInfo`,
//! `PrimaryPackagePurpose` and the first `ExternalRef: PACKAGE-MANAGER purl …`, the same
//! fields the JSON path reads.

use super::{
    add_spdx_package, check_spdx_version, tool_elides_equal_sources, Reader, SbomInputError,
    SpdxPackage,
};
use crate::Inventory;

fn malformed(line: usize, reason: impl std::fmt::Display) -> SbomInputError {
    SbomInputError::Malformed {
        format: "SPDX tag-value",
        reason: format!("line {line}: {reason}"),
    }
}

/// Whether the document's first line that is neither blank nor a comment is a `Tag: value`
/// line, so it is worth reading as tag-value.
pub(super) fn looks_like_tag_value(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_once(':'))
        .is_some_and(|(tag, _)| !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Reads an SPDX tag-value document into an inventory. `origin` (the file name) names the
/// document in warnings.
pub fn read_spdx_tag_value(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let text = std::str::from_utf8(bytes).map_err(|e| malformed(1, format!("not UTF-8: {e}")))?;
    let mut reader = Reader::new();
    let mut version_seen = false;
    let mut creators = String::new();
    let mut current: Option<SpdxPackage> = None;
    let mut packages: Vec<SpdxPackage> = Vec::new();

    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((tag, rest)) = line.split_once(':') else {
            return Err(malformed(
                line_no,
                format!("expected `Tag: value`, found {line:?}"),
            ));
        };
        let tag = tag.trim();
        if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(malformed(line_no, format!("{tag:?} is not a tag")));
        }
        let rest = rest.trim_start();
        let value = match rest.strip_prefix("<text>") {
            Some(first) => {
                // A multi-line value: up to the closing tag, on this line or a later one.
                let mut value = String::new();
                let mut chunk = first;
                loop {
                    if let Some(end) = chunk.find("</text>") {
                        value.push_str(&chunk[..end]);
                        break;
                    }
                    value.push_str(chunk);
                    value.push('\n');
                    match lines.next() {
                        Some((_, next)) => chunk = next,
                        None => return Err(malformed(line_no, "<text> is never closed")),
                    }
                }
                value
            }
            None => rest.trim_end().to_string(),
        };
        match tag {
            "SPDXVersion" => {
                check_spdx_version(&value)?;
                version_seen = true;
            }
            "Creator" => {
                creators.push(' ');
                creators.push_str(&value);
            }
            "PackageName" => {
                if !version_seen {
                    return Err(malformed(line_no, "a package before SPDXVersion"));
                }
                packages.extend(current.take());
                current = Some(SpdxPackage {
                    name: Some(value),
                    ..SpdxPackage::default()
                });
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => packages.extend(current.take()),
            _ => {
                if let Some(p) = current.as_mut() {
                    match tag {
                        "PackageVersion" => p.version = Some(value),
                        "PackageSourceInfo" => p.source_info = Some(value),
                        "PackageDescription" => p.description = Some(value),
                        "PrimaryPackagePurpose" => p.purpose = Some(value),
                        "ExternalRef" if p.purl.is_none() => {
                            let mut parts = value.split_whitespace();
                            if let (Some(_category), Some("purl"), Some(locator)) =
                                (parts.next(), parts.next(), parts.next())
                            {
                                p.purl = Some(locator.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if !version_seen {
        return Err(SbomInputError::UnknownFormat);
    }
    packages.extend(current.take());
    reader.source_elided_when_equal = tool_elides_equal_sources(&creators);
    for p in packages {
        add_spdx_package(&mut reader, p);
    }
    Ok(reader.finish(origin))
}
