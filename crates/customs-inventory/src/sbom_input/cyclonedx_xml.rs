//! CycloneDX XML (1.2–1.7, told by the namespace `http://cyclonedx.org/schema/bom/1.N`), read
//! as a stream of events into the same entries as the JSON path: components nested under
//! `bom/components` (and under each other's `components`), their `name`, `version`, `purl`
//! and `properties/property`, the operating-system component, and the tool names under
//! `metadata/tools` (1.2–1.4 `tool`, 1.5+ `components/component`). The image itself, named by
//! `metadata/component`, is no package. No DTD or external entity is ever expanded: only the
//! five predefined entities and character references.

use quick_xml::events::{BytesStart, Event};

use super::{
    apply_property, finish_component, is_not_a_package, os_of_component, tool_elides_equal_sources,
    Entry, Reader, SbomInputError, TrivySource, CYCLONEDX_VERSIONS,
};
use crate::Inventory;

/// The namespace every CycloneDX XML schema lives under; the version follows it.
const NAMESPACE: &str = "http://cyclonedx.org/schema/bom/";

/// Elements nested deeper than this are refused: no real BOM comes close.
const MAX_DEPTH: usize = 256;

fn malformed(reason: impl Into<String>) -> SbomInputError {
    SbomInputError::Malformed {
        format: "CycloneDX XML",
        reason: reason.into(),
    }
}

/// One component being read: where it sits, its slot in document order, and what it says.
struct Frame {
    /// Index of the `component` element in the path.
    depth: usize,
    /// Index in `slots`, so packages keep document order (parents before children).
    slot: usize,
    ty: String,
    entry: Entry,
    trivy: TrivySource,
    description: Option<String>,
}

/// The local name of an element (`cdx:component` → `component`).
fn local(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, SbomInputError> {
    for a in e.attributes() {
        let a = a.map_err(|err| malformed(format!("attribute: {err}")))?;
        if a.key.as_ref() == key.as_bytes() {
            let v = a
                .unescape_value()
                .map_err(|err| malformed(format!("attribute {key}: {err}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// The CycloneDX version the root element's namespace declares, checked against the versions
/// customs reads.
fn root_version(e: &BytesStart<'_>) -> Result<String, SbomInputError> {
    if e.local_name().as_ref() != b"bom" {
        return Err(SbomInputError::UnknownFormat);
    }
    let xmlns = match e.name().prefix() {
        Some(p) => format!("xmlns:{}", String::from_utf8_lossy(p.as_ref())),
        None => "xmlns".to_string(),
    };
    let ns = attribute(e, &xmlns)?.unwrap_or_default();
    let Some(version) = ns.strip_prefix(NAMESPACE) else {
        return Err(malformed(format!(
            "the bom element's namespace is {ns:?}, not {NAMESPACE}1.N"
        )));
    };
    if !CYCLONEDX_VERSIONS.contains(&version) {
        return Err(SbomInputError::UnsupportedVersion {
            format: "CycloneDX",
            version: version.to_string(),
        });
    }
    Ok(version.to_string())
}

/// Reads a CycloneDX XML document into an inventory. `origin` (the file name) names the
/// document in warnings.
pub fn read_cyclonedx_xml(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let text = std::str::from_utf8(bytes).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let mut xml = quick_xml::Reader::from_str(text);
    xml.config_mut().expand_empty_elements = true;

    let mut reader = Reader::new();
    let mut path: Vec<String> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut slots: Vec<Option<Entry>> = Vec::new();
    let mut text_buf = String::new();
    let mut property_name: Option<String> = None;
    let mut tools_text = String::new();
    let mut seen_root = false;

    loop {
        let event = xml
            .read_event()
            .map_err(|e| malformed(format!("at byte {}: {e}", xml.error_position())))?;
        match event {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "elements nested deeper than {MAX_DEPTH}"
                    )));
                }
                let name = local(&e);
                if path.is_empty() {
                    if seen_root {
                        return Err(malformed("more than one root element"));
                    }
                    root_version(&e)?;
                    seen_root = true;
                }
                text_buf.clear();
                let parent_is_components = path.last().is_some_and(|p| p == "components");
                let under_bom = path.len() == 2 && path[0] == "bom";
                let under_frame = frames.last().is_some_and(|f| f.depth + 2 == path.len());
                if name == "component" && parent_is_components && (under_bom || under_frame) {
                    frames.push(Frame {
                        depth: path.len(),
                        slot: slots.len(),
                        ty: attribute(&e, "type")?.unwrap_or_else(|| "library".to_string()),
                        entry: Entry::default(),
                        trivy: TrivySource::default(),
                        description: None,
                    });
                    slots.push(None);
                } else if name == "property" {
                    property_name = attribute(&e, "name")?;
                }
                path.push(name);
            }
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(malformed("an end tag without its start"));
                };
                let idx = path.len();
                let value = std::mem::take(&mut text_buf);
                if path.len() >= 2 && path[0] == "bom" && path[1] == "metadata" {
                    if path.get(2).is_some_and(|p| p == "tools") {
                        tools_text.push(' ');
                        tools_text.push_str(&value);
                    }
                    continue;
                }
                let Some(frame) = frames.last_mut() else {
                    continue;
                };
                if idx == frame.depth {
                    let f = frames.pop().expect("a frame was just seen");
                    let mut entry = f.entry;
                    if f.ty == "operating-system" {
                        if reader.os_entry.is_none() {
                            reader.os_entry = os_of_component(
                                entry.name.as_deref(),
                                entry.version.as_deref(),
                                f.description.as_deref(),
                            );
                        }
                    } else if !is_not_a_package(&f.ty) {
                        finish_component(&mut entry, f.trivy);
                        slots[f.slot] = Some(entry);
                    }
                } else if idx == frame.depth + 1 {
                    let value = value.trim().to_string();
                    match name.as_str() {
                        "name" => frame.entry.name = Some(value),
                        "version" => frame.entry.version = Some(value),
                        "purl" => frame.entry.purl = Some(value),
                        "description" => frame.description = Some(value),
                        _ => {}
                    }
                } else if idx == frame.depth + 2
                    && name == "property"
                    && path[frame.depth + 1] == "properties"
                {
                    if let Some(k) = property_name.take() {
                        apply_property(&mut frame.entry, &mut frame.trivy, &k, value.trim());
                    }
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| malformed(format!("text: {e}")))?;
                text_buf.push_str(&s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| malformed(format!("CDATA: {e}")))?;
                text_buf.push_str(&s);
            }
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| malformed(format!("character reference: {e}")))?
                {
                    text_buf.push(c);
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| malformed(format!("entity reference: {e}")))?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => text_buf.push_str(s),
                        None => return Err(malformed(format!("unknown entity &{name};"))),
                    }
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions and a DOCTYPE (never expanded).
            _ => {}
        }
    }
    if !seen_root {
        return Err(SbomInputError::UnknownFormat);
    }
    if let Some(open) = path.last() {
        return Err(malformed(format!("the document ends inside <{open}>")));
    }
    reader.source_elided_when_equal = tool_elides_equal_sources(&tools_text);
    for entry in slots.into_iter().flatten() {
        reader.add(entry);
    }
    Ok(reader.finish(origin))
}
