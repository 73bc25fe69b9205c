//! Image references in YAML: Kubernetes manifests (every `containers`, `initContainers` and
//! `ephemeralContainers` entry of any kind, including `List`s, across multi-document files)
//! and compose files (`services.*.image`). The YAML is read as events with positions so that
//! each reference keeps the exact bytes where it is written; it is never re-serialised.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use crate::text::LineIndex;
use crate::{ImageRef, Warning};

/// How many nodes a walk visits at most (aliases can make a small file a huge tree).
const WALK_BUDGET: usize = 1_000_000;
/// How deep collections may nest.
const MAX_DEPTH: usize = 256;

#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        /// Byte offset where the scalar (or its opening quote) starts.
        start: usize,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
    /// An alias to an anchor that is unknown or still open.
    Missing,
}

impl Node {
    fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of `key` in a mapping, following `<<` merge keys.
    fn get(&self, key: &str) -> Option<&Rc<Node>> {
        self.get_depth(key, 0)
    }

    fn get_depth(&self, key: &str, depth: usize) -> Option<&Rc<Node>> {
        let Node::Map(entries) = self else {
            return None;
        };
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.as_str() == Some(key)) {
            return Some(v);
        }
        if depth > 8 {
            return None;
        }
        let merged = entries.iter().find(|(k, _)| k.as_str() == Some("<<"))?;
        match &*merged.1 {
            Node::Map(_) => merged.1.get_depth(key, depth + 1),
            Node::Seq(items) => items.iter().find_map(|m| m.get_depth(key, depth + 1)),
            _ => None,
        }
    }
}

/// Char index → byte offset (the parser counts characters).
struct CharOffsets {
    offsets: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        CharOffsets {
            offsets: (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect()),
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.len),
            Some(v) => v.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

enum Frame {
    Seq(Vec<Rc<Node>>, usize),
    Map(Vec<(Rc<Node>, Rc<Node>)>, Option<Rc<Node>>, usize),
}

/// Parses every document; a syntax error ends the parse with a warning, keeping the
/// documents completed before it.
fn parse_documents(text: &str) -> (Vec<Rc<Node>>, Vec<Warning>) {
    let chars = CharOffsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut warnings = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut current_doc: Option<Rc<Node>> = None;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(x) => x,
            Err(e) => {
                warnings.push(Warning {
                    line: e.marker().line(),
                    message: format!("YAML syntax error: {}", e.info()),
                });
                break;
            }
        };
        let node = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                current_doc = None;
                continue;
            }
            Event::DocumentEnd => {
                if let Some(d) = current_doc.take() {
                    docs.push(d);
                }
                anchors.clear();
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    warnings.push(Warning {
                        line: mark.line(),
                        message: format!("YAML nested deeper than {MAX_DEPTH} levels"),
                    });
                    break;
                }
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    warnings.push(Warning {
                        line: mark.line(),
                        message: format!("YAML nested deeper than {MAX_DEPTH} levels"),
                    });
                    break;
                }
                stack.push(Frame::Map(Vec::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq(items, a)) => (Node::Seq(items), a),
                    Some(Frame::Map(entries, _, a)) => (Node::Map(entries), a),
                    None => break,
                };
                let node = Rc::new(node);
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Scalar(value, style, anchor, _) => {
                let node = Rc::new(Node::Scalar {
                    value,
                    style,
                    start: chars.byte(mark.index()),
                });
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => anchors
                .get(&id)
                .cloned()
                .unwrap_or_else(|| Rc::new(Node::Missing)),
            Event::StreamStart | Event::Nothing => continue,
        };
        match stack.last_mut() {
            None => current_doc = Some(node),
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    (docs, warnings)
}

/// The bytes of `text` that hold a scalar's value, when the value is written there verbatim
/// on one line (plain, or quoted without escapes).
fn scalar_range(text: &str, node: &Node) -> Option<Range<usize>> {
    let Node::Scalar {
        value,
        style,
        start,
    } = node
    else {
        return None;
    };
    if value.is_empty() || value.contains(['\n', '\r']) {
        return None;
    }
    let (inner, closing) = match style {
        TScalarStyle::Plain => (*start, None),
        TScalarStyle::SingleQuoted if !value.contains('\'') => (*start + 1, Some('\'')),
        TScalarStyle::DoubleQuoted if !value.contains(['"', '\\']) => (*start + 1, Some('"')),
        _ => return None,
    };
    if let Some(q) = closing {
        if !text.get(*start..)?.starts_with(q) {
            return None;
        }
    }
    let end = inner + value.len();
    if text.get(inner..end)? != value {
        return None;
    }
    if let Some(q) = closing {
        if !text.get(end..)?.starts_with(q) {
            return None;
        }
    }
    Some(inner..end)
}

struct Collector<'a> {
    text: &'a str,
    index: LineIndex<'a>,
    images: Vec<ImageRef>,
    budget: usize,
    warned_budget: bool,
    warnings: Vec<Warning>,
}

impl<'a> Collector<'a> {
    fn new(text: &'a str) -> Collector<'a> {
        Collector {
            text,
            index: LineIndex::new(text),
            images: Vec::new(),
            budget: WALK_BUDGET,
            warned_budget: false,
            warnings: Vec::new(),
        }
    }

    /// Counts a visited node; false once the budget is spent.
    fn visit(&mut self) -> bool {
        if self.budget == 0 {
            if !self.warned_budget {
                self.warned_budget = true;
                self.warnings.push(Warning {
                    line: 0,
                    message: format!("stopped after {WALK_BUDGET} YAML nodes (alias expansion?)"),
                });
            }
            return false;
        }
        self.budget -= 1;
        true
    }

    fn push(&mut self, node: &Node, context: String) {
        let Node::Scalar { value, start, .. } = node else {
            return;
        };
        let value = value.trim();
        if value.is_empty() || value == "~" || value == "null" {
            return;
        }
        let (line, column) = self.index.position(*start);
        let written_at = scalar_range(self.text, node).map(|r| self.index.span(r.start, r.end));
        if let Some(w) = &written_at {
            if self.images.iter().any(|i| i.written_at.as_ref() == Some(w)) {
                return;
            }
        }
        let (reference, via_arg, written_at) = if value.contains('$') {
            // Compose interpolates `${VAR}` and `${VAR:-default}` from the environment; a
            // default is pinned where it is written.
            let e = crate::dockerfile::expand_env(value);
            let default_at = match (&written_at, e.default_at) {
                (Some(w), Some(d)) if self.text[w.range()] == *value => {
                    Some(self.index.span(w.start + d.start, w.start + d.end))
                }
                _ => None,
            };
            (e.reference, e.unresolved, default_at)
        } else {
            (Some(value.to_string()), None, written_at)
        };
        self.images.push(ImageRef {
            reference,
            line,
            column,
            written_at,
            context,
            via_arg,
        });
    }

    /// Looks for container lists anywhere below `node`.
    fn containers(&mut self, node: &Node, path: &str, label: &str, depth: usize) {
        if depth > MAX_DEPTH || !self.visit() {
            return;
        }
        match node {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let Some(key) = k.as_str() else { continue };
                    let here = if path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{path}.{key}")
                    };
                    let is_list =
                        matches!(key, "containers" | "initContainers" | "ephemeralContainers");
                    match (&**v, is_list) {
                        (Node::Seq(items), true) => {
                            for (i, c) in items.iter().enumerate() {
                                if !self.visit() {
                                    return;
                                }
                                let Some(image) = c.get("image") else {
                                    continue;
                                };
                                let name = c
                                    .get("name")
                                    .and_then(|n| n.as_str().map(str::to_string))
                                    .unwrap_or_else(|| i.to_string());
                                let context = format!("{label}{here}[{name}].image");
                                self.push(image, context);
                            }
                        }
                        _ => self.containers(v, &here, label, depth + 1),
                    }
                }
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.containers(item, &format!("{path}[{i}]"), label, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn kubernetes_object(&mut self, node: &Node, depth: usize) {
        if depth > 16 {
            return;
        }
        let kind = node.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        if kind.ends_with("List") {
            if let Some(items) = node.get("items") {
                if let Node::Seq(items) = &**items {
                    for item in items {
                        self.kubernetes_object(item, depth + 1);
                    }
                    return;
                }
            }
        }
        let name = node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or("");
        let label = match (kind, name) {
            ("", "") => String::new(),
            (k, "") => format!("{k} "),
            ("", n) => format!("{n} "),
            (k, n) => format!("{k}/{n} "),
        };
        self.containers(node, "", &label, 0);
    }
}

/// Finds the images of every container of every workload in a (multi-document) manifest.
pub fn scan_kubernetes(text: &str) -> (Vec<ImageRef>, Vec<Warning>) {
    let (docs, mut warnings) = parse_documents(text);
    let mut c = Collector::new(text);
    for doc in &docs {
        c.kubernetes_object(doc, 0);
    }
    warnings.append(&mut c.warnings);
    (c.images, warnings)
}

/// Finds `services.*.image` in a compose file. A service that also has `build` names the image
/// it builds, not one it pulls, and is left out.
pub fn scan_compose(text: &str) -> (Vec<ImageRef>, Vec<Warning>) {
    let (docs, mut warnings) = parse_documents(text);
    let mut c = Collector::new(text);
    for doc in &docs {
        let Some(services) = doc.get("services") else {
            continue;
        };
        let Node::Map(entries) = &**services else {
            continue;
        };
        for (name, service) in entries {
            let Some(name) = name.as_str() else { continue };
            if service.get("build").is_some() {
                continue;
            }
            if let Some(image) = service.get("image") {
                c.push(image, format!("services.{name}.image"));
            }
        }
    }
    warnings.append(&mut c.warnings);
    (c.images, warnings)
}

/// Tells a compose file from a Kubernetes manifest by content; `None` if it is neither.
pub fn sniff(text: &str) -> Option<crate::FileKind> {
    let (docs, _) = parse_documents(text);
    let mut kube = false;
    for doc in &docs {
        let has_kind = doc.get("kind").is_some() || doc.get("apiVersion").is_some();
        if doc.get("services").is_some() && !has_kind {
            return Some(crate::FileKind::Compose);
        }
        kube |= has_kind;
    }
    kube.then_some(crate::FileKind::Kubernetes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(images: &[ImageRef], text: &str) -> Vec<(String, usize, Option<String>)> {
        images
            .iter()
            .map(|i| {
                (
                    i.context.clone(),
                    i.line,
                    i.written_at.as_ref().map(|s| text[s.range()].to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn quoted_scalars_give_inner_range() {
        let t = "a: 'x:1'\nb: \"ç/y:2\"\nc: plain:3 # comment\n";
        let (images, w) = scan_compose(&format!("services:\n  s1:\n    image: 'x:1'\n  s2:\n    image: \"ç/y:2\"\n  s3:\n    image: plain:3 # c\n{t}"));
        assert!(w.is_empty());
        let text = format!("services:\n  s1:\n    image: 'x:1'\n  s2:\n    image: \"ç/y:2\"\n  s3:\n    image: plain:3 # c\n{t}");
        let got = found(&images, &text);
        assert_eq!(got[0].2.as_deref(), Some("x:1"));
        assert_eq!(got[1].2.as_deref(), Some("ç/y:2"));
        assert_eq!(got[2].2.as_deref(), Some("plain:3"));
    }

    #[test]
    fn flow_style_containers() {
        let t = "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: \"nginx:1\"}, {name: b, image: redis}]}\n";
        let (images, _) = scan_kubernetes(t);
        assert_eq!(
            found(&images, t),
            vec![
                (
                    "Pod/p spec.containers[a].image".to_string(),
                    3,
                    Some("nginx:1".into())
                ),
                (
                    "Pod/p spec.containers[b].image".to_string(),
                    3,
                    Some("redis".into())
                ),
            ]
        );
    }

    #[test]
    fn block_scalar_is_found_but_not_writable() {
        let t = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: >-\n      nginx:1\n";
        let (images, _) = scan_kubernetes(t);
        assert_eq!(images[0].reference.as_deref(), Some("nginx:1"));
        assert_eq!(images[0].written_at, None);
    }

    #[test]
    fn compose_merge_keys_and_build_services() {
        let t = "x-base: &base\n  image: postgres:16\nservices:\n  db:\n    <<: *base\n  db2:\n    <<: *base\n  app:\n    build: .\n    image: me/app\n";
        let (images, _) = scan_compose(t);
        // The anchored image is written once, so it is reported once.
        assert_eq!(
            found(&images, t),
            vec![(
                "services.db.image".to_string(),
                2,
                Some("postgres:16".into())
            )]
        );
    }

    #[test]
    fn compose_interpolation_uses_defaults() {
        let t = "services:\n  a:\n    image: ${IMG:-redis:7}\n  b:\n    image: ${REG}/app\n";
        let (images, _) = scan_compose(t);
        assert_eq!(images[0].reference.as_deref(), Some("redis:7"));
        let at = images[0].written_at.as_ref().unwrap();
        assert_eq!(&t[at.range()], "redis:7");
        assert_eq!(images[1].reference, None);
        assert_eq!(images[1].written_at, None);
        assert_eq!(images[1].via_arg.as_deref(), Some("REG"));
    }

    #[test]
    fn syntax_error_keeps_earlier_documents() {
        let t = "kind: Pod\nspec:\n  containers:\n  - image: a\n---\nkind: Pod\nspec: [unclosed\n";
        let (images, warnings) = scan_kubernetes(t);
        assert_eq!(images.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("syntax"), "{warnings:?}");
    }
}
