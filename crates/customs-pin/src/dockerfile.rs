//! Image references in Dockerfiles: `FROM [--platform=…] image [AS name]` with build-argument
//! substitution from the `ARG`s before the first `FROM`, `COPY --from=image` and
//! `RUN --mount=…,from=image`. Stage names and `scratch` are not images. Line continuations,
//! comments, the `escape` directive and heredocs are understood.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::text::LineIndex;
use crate::{ImageRef, Span, Warning};

/// One instruction, joined across continuation lines, with the file offset of each byte.
struct Logical {
    text: String,
    offsets: Vec<usize>,
    line: usize,
}

impl Logical {
    fn push(&mut self, s: &str, file_offset: usize) {
        self.text.push_str(s);
        self.offsets.extend(file_offset..file_offset + s.len());
    }

    /// The file range of `r` (a range of `text`), when those bytes are contiguous in the file.
    fn file_range(&self, r: Range<usize>) -> Option<Range<usize>> {
        if r.is_empty() {
            return None;
        }
        let start = *self.offsets.get(r.start)?;
        let last = *self.offsets.get(r.end - 1)?;
        (last - start == r.end - 1 - r.start).then_some(start..last + 1)
    }
}

/// Whether `text` reads as a Dockerfile: its first instruction is `FROM` or `ARG`.
pub fn looks_like_dockerfile(text: &str) -> bool {
    let escape = escape_directive(text);
    let instrs = logical_lines(text, escape);
    let first = instrs
        .first()
        .and_then(|l| l.text.split_whitespace().next())
        .map(str::to_ascii_uppercase);
    matches!(first.as_deref(), Some("FROM") | Some("ARG"))
        && instrs.iter().any(|l| {
            l.text
                .split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        })
}

/// The escape character set by a `# escape=` parser directive, else `\`.
fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let t = line.trim_start_matches('\u{feff}').trim();
        let Some(rest) = t.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

/// Physical lines: (byte offset of the line, the line without its `\r\n` or `\n`).
fn physical_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    // A byte-order mark is not part of the first instruction.
    let mut offset = if text.starts_with('\u{feff}') { 3 } else { 0 };
    for raw in text[offset..].split_inclusive('\n') {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push((offset, line));
        offset += raw.len();
    }
    out
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

fn logical_lines(text: &str, escape: char) -> Vec<Logical> {
    let lines = physical_lines(text);
    let mut out: Vec<Logical> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if is_comment_or_blank(lines[i].1) {
            i += 1;
            continue;
        }
        let mut logical = Logical {
            text: String::new(),
            offsets: Vec::new(),
            line: i + 1,
        };
        while i < lines.len() {
            let (offset, content) = lines[i];
            i += 1;
            let trimmed = content.trim_end();
            match trimmed.strip_suffix(escape) {
                Some(body) => {
                    logical.push(body, offset);
                    // Comment and blank lines inside a continued instruction are dropped.
                    while i < lines.len() && is_comment_or_blank(lines[i].1) {
                        i += 1;
                    }
                }
                None => {
                    logical.push(content, offset);
                    break;
                }
            }
        }
        // Heredoc bodies (`RUN <<EOF` … `EOF`) are not instructions.
        for (word, strip_tabs) in heredoc_terminators(&logical.text) {
            while i < lines.len() {
                let l = lines[i].1;
                i += 1;
                let l = if strip_tabs {
                    l.trim_start_matches('\t')
                } else {
                    l
                };
                if l == word {
                    break;
                }
            }
        }
        out.push(logical);
    }
    out
}

/// The terminators of the heredocs an instruction opens (`<<EOF`, `<<-"EOF"`), with whether
/// leading tabs are stripped.
fn heredoc_terminators(instr: &str) -> Vec<(String, bool)> {
    let first = instr.split_whitespace().next().unwrap_or("");
    if !["RUN", "COPY", "ADD"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = instr;
    while let Some(pos) = rest.find("<<") {
        rest = &rest[pos + 2..];
        let strip = rest.starts_with('-');
        let r = rest.trim_start_matches('-');
        let r = r.trim_start_matches(['"', '\'']);
        let word: String = r
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            out.push((word, strip));
        }
    }
    out
}

/// Splits an instruction into words (whitespace outside quotes separates them).
fn words(text: &str) -> Vec<(Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    out.push((s..i, &text[s..i]));
                }
            }
            None => {
                if start.is_none() {
                    start = Some(i);
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push((s..text.len(), &text[s..]));
    }
    out
}

/// A build argument declared before the first `FROM`.
#[derive(Debug, Clone)]
struct Arg {
    value: Option<String>,
    /// Where the value is written, when it is written literally (no substitution).
    written: Option<Range<usize>>,
}

/// Where an expanded word's value came from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// The word had no substitutions; it is written where it stands.
    Literal,
    /// The word was one `$NAME`/`${NAME}` (or a default that was not used).
    Arg(String),
    /// The word was `${NAME:-default}` and the default (this range of the word) was used.
    Default(Range<usize>),
    /// Pieces from several places.
    Mixed,
}

#[derive(Debug)]
struct Expanded {
    value: String,
    unresolved: Vec<String>,
    origin: Origin,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` and
/// `${NAME+word}` in `word` from `args`, as Docker does for `FROM`.
fn expand(word: &str, args: &HashMap<String, Arg>, escape: char, depth: usize) -> Expanded {
    let mut value = String::new();
    let mut unresolved = Vec::new();
    let mut pieces = 0usize;
    let mut origin = Origin::Literal;
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut i = 0;
    let lookup = |name: &str| -> Option<String> { args.get(name).and_then(|a| a.value.clone()) };
    while i < chars.len() {
        let (_, c) = chars[i];
        if c == escape && chars.get(i + 1).is_some_and(|&(_, n)| n == '$') {
            value.push('$');
            pieces += 1;
            origin = Origin::Mixed;
            i += 2;
            continue;
        }
        if c != '$' {
            value.push(c);
            pieces += 1;
            i += 1;
            continue;
        }
        // A substitution.
        let braced = chars.get(i + 1).is_some_and(|&(_, n)| n == '{');
        let name_start = if braced { i + 2 } else { i + 1 };
        let mut j = name_start;
        while j < chars.len() && is_name_char(chars[j].1) {
            j += 1;
        }
        let name: String = chars[name_start..j].iter().map(|&(_, c)| c).collect();
        if name.is_empty() {
            value.push('$');
            pieces += 1;
            i += 1;
            continue;
        }
        let this: Origin;
        if !braced {
            match lookup(&name) {
                Some(v) => value.push_str(&v),
                None => unresolved.push(name.clone()),
            }
            this = Origin::Arg(name);
            i = j;
        } else {
            // Find the closing brace, allowing nesting in the word.
            let mut depth_b = 1;
            let mut k = j;
            while k < chars.len() {
                match chars[k].1 {
                    '{' => depth_b += 1,
                    '}' => {
                        depth_b -= 1;
                        if depth_b == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            if k >= chars.len() {
                // No closing brace: Docker rejects this; keep it as written.
                unresolved.push(name.clone());
                value.push_str(&word[chars[i].0..]);
                return Expanded {
                    value,
                    unresolved,
                    origin: Origin::Mixed,
                };
            }
            let op_start = chars.get(j).map_or(word.len(), |&(b, _)| b);
            let close = chars[k].0;
            let op_and_word = &word[op_start..close];
            let current = lookup(&name);
            let (op, alt_start) = if let Some(w) = op_and_word.strip_prefix(":-") {
                (":-", close - w.len())
            } else if let Some(w) = op_and_word.strip_prefix(":+") {
                (":+", close - w.len())
            } else if let Some(w) = op_and_word.strip_prefix('-') {
                ("-", close - w.len())
            } else if let Some(w) = op_and_word.strip_prefix('+') {
                ("+", close - w.len())
            } else if op_and_word.is_empty() {
                ("", close)
            } else {
                // `${NAME#pattern}` and the like are not supported for image names.
                unresolved.push(name.clone());
                ("?", close)
            };
            let alt = &word[alt_start..close];
            let use_alt = match op {
                ":-" => current.as_deref().is_none_or(str::is_empty),
                "-" => current.is_none(),
                ":+" => current.as_deref().is_some_and(|v| !v.is_empty()),
                "+" => current.is_some(),
                _ => false,
            };
            let substitute_none = matches!(op, ":+" | "+") && !use_alt;
            if use_alt {
                let inner = if depth < 4 {
                    expand(alt, args, escape, depth + 1)
                } else {
                    Expanded {
                        value: alt.to_string(),
                        unresolved: vec![name.clone()],
                        origin: Origin::Mixed,
                    }
                };
                value.push_str(&inner.value);
                unresolved.extend(inner.unresolved);
                this = if inner.origin == Origin::Literal {
                    Origin::Default(alt_start..close)
                } else {
                    Origin::Mixed
                };
            } else if substitute_none || op == "?" {
                this = Origin::Mixed;
            } else {
                match current {
                    Some(v) => value.push_str(&v),
                    None => unresolved.push(name.clone()),
                }
                this = Origin::Arg(name);
            }
            i = k + 1;
        }
        pieces += 1;
        origin = if pieces == 1 && i >= chars.len() {
            this
        } else {
            Origin::Mixed
        };
    }
    if pieces > 1 && origin != Origin::Literal {
        origin = Origin::Mixed;
    }
    Expanded {
        value,
        unresolved,
        origin,
    }
}

/// Expands `${VAR:-default}`-style variables with no variable set, as for a compose file read
/// without its environment. Gives the reference (or `None` and the variables that have no
/// value), and, when the whole value is one `${VAR:-default}` whose default was used, where
/// the default is written in `value`.
pub(crate) fn expand_env(value: &str) -> EnvExpansion {
    let e = expand(value, &HashMap::new(), '\\', 0);
    if e.unresolved.is_empty() {
        EnvExpansion {
            reference: Some(e.value),
            unresolved: None,
            default_at: match e.origin {
                Origin::Default(r) => Some(r),
                _ => None,
            },
        }
    } else {
        EnvExpansion {
            reference: None,
            unresolved: Some(e.unresolved.join(", ")),
            default_at: None,
        }
    }
}

pub(crate) struct EnvExpansion {
    pub reference: Option<String>,
    pub unresolved: Option<String>,
    pub default_at: Option<Range<usize>>,
}

/// Finds the image references of a Dockerfile.
pub fn scan(text: &str) -> (Vec<ImageRef>, Vec<Warning>) {
    let escape = escape_directive(text);
    let index = LineIndex::new(text);
    let mut images = Vec::new();
    let mut warnings = Vec::new();
    let mut args: HashMap<String, Arg> = HashMap::new();
    let mut stages: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    for instr in logical_lines(text, escape) {
        let ws = words(&instr.text);
        let Some((_, keyword)) = ws.first() else {
            continue;
        };
        let keyword = keyword.to_ascii_uppercase();
        let span_of = |r: Range<usize>| -> Option<Span> {
            instr.file_range(r).map(|fr| index.span(fr.start, fr.end))
        };
        match keyword.as_str() {
            "ARG" if !seen_from => {
                for (r, w) in &ws[1..] {
                    let (name, value) = match w.split_once('=') {
                        Some((n, v)) => (n, Some((r.start + n.len() + 1, v))),
                        None => (*w, None),
                    };
                    let arg = match value {
                        None => Arg {
                            // A bare `ARG NAME` keeps a default declared earlier.
                            value: args.get(name).and_then(|a| a.value.clone()),
                            written: args.get(name).and_then(|a| a.written.clone()),
                        },
                        Some((start, v)) => {
                            let (inner_start, inner) = unquote(start, v);
                            let e = expand(inner, &args, escape, 0);
                            let literal =
                                e.origin == Origin::Literal && !inner.contains(['"', '\'']);
                            Arg {
                                value: e.unresolved.is_empty().then_some(e.value),
                                written: if literal {
                                    instr.file_range(inner_start..inner_start + inner.len())
                                } else {
                                    None
                                },
                            }
                        }
                    };
                    args.insert(name.to_string(), arg);
                }
            }
            "FROM" => {
                seen_from = true;
                let mut rest = ws[1..].iter().skip_while(|(_, w)| w.starts_with("--"));
                let Some((r, word)) = rest.next() else {
                    warnings.push(Warning {
                        line: instr.line,
                        message: "FROM without an image".into(),
                    });
                    continue;
                };
                let (line, column) = index.position(instr.offsets[r.start]);
                let e = expand(word, &args, escape, 0);
                let lower = e.value.to_ascii_lowercase();
                // A name is a stage only if an earlier FROM defined it.
                let is_stage = stages.contains(&lower);
                let mut rest = rest.skip_while(|(_, kw)| !kw.eq_ignore_ascii_case("AS"));
                if let (Some(_), Some((_, name))) = (rest.next(), rest.next()) {
                    stages.insert(name.to_ascii_lowercase());
                }
                if !e.unresolved.is_empty() {
                    images.push(ImageRef {
                        reference: None,
                        line,
                        column,
                        written_at: None,
                        context: "FROM".into(),
                        via_arg: Some(e.unresolved.join(", ")),
                    });
                    continue;
                }
                if is_stage || lower == "scratch" || lower.is_empty() {
                    continue;
                }
                let (written_at, via_arg) = match &e.origin {
                    Origin::Literal => (span_of(r.clone()), None),
                    Origin::Arg(name) => (
                        args.get(name)
                            .and_then(|a| a.written.clone())
                            .map(|fr| index.span(fr.start, fr.end)),
                        Some(name.clone()),
                    ),
                    Origin::Default(dr) => (span_of(r.start + dr.start..r.start + dr.end), None),
                    Origin::Mixed => (None, None),
                };
                images.push(ImageRef {
                    reference: Some(e.value),
                    line,
                    column,
                    written_at,
                    context: "FROM".into(),
                    via_arg,
                });
            }
            "COPY" | "RUN" => {
                for (r, w) in ws[1..].iter().take_while(|(_, w)| w.starts_with("--")) {
                    let (context, found) = if keyword == "COPY" {
                        match w.strip_prefix("--from=") {
                            Some(v) => ("COPY --from", Some((r.start + 7, v))),
                            None => ("", None),
                        }
                    } else {
                        match w.strip_prefix("--mount=") {
                            Some(spec) => {
                                let base = r.start + 8;
                                let mut found = None;
                                let mut pos = 0;
                                for kv in spec.split(',') {
                                    if let Some(v) = kv.strip_prefix("from=") {
                                        found = Some((base + pos + 5, v));
                                    }
                                    pos += kv.len() + 1;
                                }
                                ("RUN --mount from", found)
                            }
                            None => ("", None),
                        }
                    };
                    let Some((start, value)) = found else {
                        continue;
                    };
                    let (start, value) = unquote(start, value);
                    let lower = value.to_ascii_lowercase();
                    if value.is_empty()
                        || stages.contains(&lower)
                        || value.chars().all(|c| c.is_ascii_digit())
                    {
                        continue;
                    }
                    let (line, column) = index.position(instr.offsets[start]);
                    let e = expand(value, &args, escape, 0);
                    let literal = e.origin == Origin::Literal;
                    images.push(ImageRef {
                        reference: e.unresolved.is_empty().then_some(e.value),
                        line,
                        column,
                        written_at: if literal {
                            span_of(start..start + value.len())
                        } else {
                            None
                        },
                        context: context.into(),
                        via_arg: (!e.unresolved.is_empty()).then(|| e.unresolved.join(", ")),
                    });
                }
            }
            _ => {}
        }
    }
    (images, warnings)
}

/// Strips one pair of matching quotes around `v` (which starts at `start`).
fn unquote(start: usize, v: &str) -> (usize, &str) {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return (start + 1, &v[1..v.len() - 1]);
        }
    }
    (start, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(text: &str) -> Vec<(Option<String>, usize, Option<String>)> {
        scan(text)
            .0
            .into_iter()
            .map(|r| {
                let written = r.written_at.map(|s| text[s.range()].to_string());
                (r.reference, r.line, written)
            })
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn from_with_platform_flag_and_stage_name() {
        let t = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM build\nFROM scratch\n";
        assert_eq!(refs(t), vec![(s("golang:1.22"), 1, s("golang:1.22"))]);
    }

    #[test]
    fn stage_names_are_case_insensitive() {
        let t = "FROM alpine AS Builder\nFROM builder\nCOPY --from=BUILDER /a /b\nCOPY --from=0 /a /b\n";
        assert_eq!(refs(t), vec![(s("alpine"), 1, s("alpine"))]);
    }

    #[test]
    fn arg_substitution_points_at_arg_value() {
        let t =
            "ARG BASE=alpine:3.20\nARG TAG=\"1.2\"\nFROM ${BASE}\nFROM $BASE\nFROM app:${TAG}\n";
        assert_eq!(
            refs(t),
            vec![
                (s("alpine:3.20"), 3, s("alpine:3.20")),
                (s("alpine:3.20"), 4, s("alpine:3.20")),
                (s("app:1.2"), 5, None),
            ]
        );
        let first = &scan(t).0[0];
        assert_eq!(first.via_arg.as_deref(), Some("BASE"));
        assert_eq!(first.written_at.as_ref().unwrap().line, 1);
    }

    #[test]
    fn default_in_from_is_used_when_arg_has_no_value() {
        let t = "ARG BASE\nARG OTHER=busybox\nFROM ${BASE:-debian:12}\nFROM ${OTHER:-debian:12}\n";
        assert_eq!(
            refs(t),
            vec![
                (s("debian:12"), 3, s("debian:12")),
                (s("busybox"), 4, s("busybox"))
            ]
        );
        // The default is written in the FROM line; the ARG value on line 2.
        let (images, _) = scan(t);
        assert_eq!(images[0].written_at.as_ref().unwrap().line, 3);
        assert_eq!(images[1].written_at.as_ref().unwrap().line, 2);
    }

    #[test]
    fn args_after_first_from_do_not_reach_from() {
        let t = "FROM alpine\nARG LATER=debian\nFROM ${LATER}\n";
        let (images, _) = scan(t);
        assert_eq!(images.len(), 2);
        assert_eq!(images[1].reference, None);
        assert_eq!(images[1].via_arg.as_deref(), Some("LATER"));
    }

    #[test]
    fn continuation_lines_and_comments() {
        let t = "# syntax=docker/dockerfile:1\n# a comment\nFROM \\\n  # inside\n  alpine:3.20 \\\n  AS base\nRUN echo hi\n";
        assert_eq!(refs(t), vec![(s("alpine:3.20"), 5, s("alpine:3.20"))]);
    }

    #[test]
    fn escape_directive_backtick() {
        let t = "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\n";
        assert_eq!(
            refs(t),
            vec![(
                s("mcr.microsoft.com/windows/servercore:ltsc2022"),
                3,
                s("mcr.microsoft.com/windows/servercore:ltsc2022")
            )]
        );
    }

    #[test]
    fn heredoc_body_is_not_read() {
        let t = "FROM alpine\nRUN <<EOF\nFROM evil\nEOF\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n";
        assert_eq!(
            refs(t),
            vec![
                (s("alpine"), 1, s("alpine")),
                (s("nginx:1.27"), 5, s("nginx:1.27"))
            ]
        );
    }

    #[test]
    fn run_mount_from_image() {
        let t = "FROM alpine AS a\nRUN --mount=type=bind,from=busybox:1.36,target=/b ls\nRUN --mount=type=cache,from=a,target=/c ls\n";
        assert_eq!(
            refs(t),
            vec![
                (s("alpine"), 1, s("alpine")),
                (s("busybox:1.36"), 2, s("busybox:1.36"))
            ]
        );
    }

    #[test]
    fn crlf_and_byte_order_mark() {
        let t = "\u{feff}ARG B=alpine:3\r\nFROM \\\r\n  ${B}\r\nFROM nginx:1 AS web\r\n";
        assert_eq!(
            refs(t),
            vec![
                (s("alpine:3"), 3, s("alpine:3")),
                (s("nginx:1"), 4, s("nginx:1"))
            ]
        );
    }

    #[test]
    fn looks_like_dockerfile_needs_from() {
        assert!(looks_like_dockerfile("# hi\nARG X=1\nFROM alpine\n"));
        assert!(!looks_like_dockerfile("ARG X=1\n"));
        assert!(!looks_like_dockerfile("apiVersion: v1\n"));
    }
}
