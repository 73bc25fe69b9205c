//! npm packages from `yarn.lock`: yarn classic (v1, its own indented format) and yarn berry
//! (v2+, YAML with `__metadata`), read with one line-oriented parser since both put each
//! entry's descriptors at column 0 and its fields two spaces in.

use std::collections::BTreeSet;

use crate::npm::{alias_target, package, push_unique, split_name};
use crate::{ExtractError, Package};

const FOUND_BY: &str = "yarn-lock";

/// Whether `path` is a `yarn.lock`.
pub fn matches(path: &str) -> bool {
    path.rsplit('/').next() == Some("yarn.lock")
}

/// One entry of the lockfile: its descriptor line and the fields this extractor uses.
#[derive(Default)]
struct Entry {
    descriptors: String,
    version: Option<String>,
    resolution: Option<String>,
}

/// Reads a `yarn.lock`. Aliases (`alias@npm:real@range`) are reported under the real name;
/// workspace, link and portal entries (local projects) are not packages. Each distinct name
/// and version is reported once.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| ExtractError::malformed("yarn.lock", e.to_string()))?;
    let mut entries: Vec<Entry> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let descriptors = line.strip_suffix(':').unwrap_or(line);
            entries.push(Entry {
                descriptors: descriptors.to_string(),
                ..Entry::default()
            });
            continue;
        }
        // Fields of the current entry sit exactly two spaces in; deeper lines are maps.
        let Some(field) = line.strip_prefix("  ").filter(|f| !f.starts_with(' ')) else {
            continue;
        };
        let Some(entry) = entries.last_mut() else {
            continue;
        };
        let (key, value) = match field.split_once(": ") {
            Some((k, v)) => (k, v),
            None => match field.split_once(' ') {
                Some((k, v)) => (k, v),
                None => continue,
            },
        };
        let value = unquote(value.trim()).to_string();
        match unquote(key) {
            "version" => entry.version = Some(value),
            "resolution" => entry.resolution = Some(value),
            _ => {}
        }
    }

    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in &entries {
        if entry.descriptors == "__metadata" {
            continue;
        }
        let Some(version) = entry.version.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let Some(name) = entry_name(entry) else {
            continue;
        };
        push_unique(&mut out, &mut seen, package(name, version, FOUND_BY, path));
    }
    Ok(out)
}

/// The real package name of an entry, or `None` for local projects.
fn entry_name(entry: &Entry) -> Option<&str> {
    if let Some(resolution) = entry.resolution.as_deref() {
        // Berry: `name@protocol:reference`; the name is the resolved package's own.
        let (name, reference) = split_name(resolution);
        if ["workspace:", "link:", "portal:"]
            .iter()
            .any(|p| reference.starts_with(p))
        {
            return None;
        }
        return (!name.is_empty()).then_some(name);
    }
    // Classic: the first descriptor says it all; `alias@npm:real@range` names `real`.
    let first = entry
        .descriptors
        .split(", ")
        .next()
        .map(|d| unquote(d.trim()))?;
    let (name, range) = split_name(first);
    if let Some(target) = range.strip_prefix("npm:").and_then(alias_target) {
        return Some(target.0);
    }
    if ["workspace:", "link:", "portal:", "file:"]
        .iter()
        .any(|p| range.starts_with(p))
    {
        return None;
    }
    (!name.is_empty()).then_some(name)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pkgs: &[Package]) -> Vec<(String, String)> {
        let mut v: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn berry_workspace_root_is_not_a_package() {
        let lock = "__metadata:\n  version: 6\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n\n\"left-pad@npm:^1.0.0\":\n  version: 1.3.0\n  resolution: \"left-pad@npm:1.3.0\"\n";
        assert_eq!(
            names(&parse("yarn.lock", lock.as_bytes()).unwrap()),
            [("left-pad".into(), "1.3.0".into())]
        );
    }

    #[test]
    fn berry_patch_entry_collapses_into_its_package() {
        let lock = "\"resolve@npm:^1.20.0\":\n  version: 1.22.1\n  resolution: \"resolve@npm:1.22.1\"\n\n\"resolve@patch:resolve@^1.20.0#~builtin<compat/resolve>\":\n  version: 1.22.1\n  resolution: \"resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=07638b\"\n";
        assert_eq!(
            names(&parse("yarn.lock", lock.as_bytes()).unwrap()),
            [("resolve".into(), "1.22.1".into())]
        );
    }

    #[test]
    fn classic_nested_maps_do_not_override_fields() {
        let lock = "foo@^1.0.0, foo@^1.1.0:\n  version \"1.2.0\"\n  dependencies:\n    version \"9.9.9\"\n";
        assert_eq!(
            names(&parse("yarn.lock", lock.as_bytes()).unwrap()),
            [("foo".into(), "1.2.0".into())]
        );
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let lock = "foo@^1.0.0:\r\n  version \"1.2.0\"\r\n";
        assert_eq!(
            names(&parse("yarn.lock", lock.as_bytes()).unwrap()),
            [("foo".into(), "1.2.0".into())]
        );
    }
}
