//! NuGet packages from `*.deps.json`, the dependency manifest .NET writes beside an app:
//! each entry of `libraries` (`Name/Version`). Version resources of PE files are read in
//! `dotnet_pe`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::json::{object_capped, Str};

use crate::Purl;
use crate::{ExtractError, Package};

/// Library types that are NuGet packages or projects; `reference` (a bare assembly) is not.
/// The one part of a `.deps.json` that is read: `libraries`, keyed `name/version`. The
/// `targets` tree (most of the file) is skipped unparsed.
#[derive(Deserialize)]
struct DepsJson {
    libraries: Option<BTreeMap<String, Library>>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type", default)]
    kind: Str,
}

const PACKAGE_TYPES: [&str; 3] = ["package", "project", "runtimepack"];

/// Whether `path` is a `*.deps.json`.
pub fn matches(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|f| f.len() > ".deps.json".len() && f.ends_with(".deps.json"))
}

/// Reads a `*.deps.json`; same as [`parse_deps_json`].
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    parse_deps_json(path, data)
}

/// Reads a `*.deps.json`: one package per `libraries` entry of type `package`, `project` or
/// `runtimepack`. Names that appear only in `dependencies` maps are not packages.
pub fn parse_deps_json(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let deps: DepsJson = object_capped("deps.json", data)?;
    let Some(libraries) = deps.libraries else {
        return Err(ExtractError::malformed("deps.json", "no libraries"));
    };
    let mut out = Vec::new();
    for (key, lib) in &libraries {
        let ty = lib.kind.get().unwrap_or("package");
        if !PACKAGE_TYPES.contains(&ty) {
            continue;
        }
        let Some((name, version)) = key.split_once('/') else {
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        out.push(Package {
            ecosystem: "NuGet".into(),
            name: name.to_string(),
            version: version.to_string(),
            purl: Purl::new("nuget", None, name, version, &[]),
            found_by: "dotnet-deps".to_string(),
            locations: vec![format!("/{}", path.trim_start_matches('/'))],
            ..Package::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_assemblies_are_not_packages() {
        let deps =
            br#"{"libraries":{"A/1.0.0":{"type":"package"},"B/2.0.0":{"type":"reference"}}}"#;
        let p = parse_deps_json("app/App.deps.json", deps).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].purl_string(), "pkg:nuget/A@1.0.0");
    }

    #[test]
    fn matches_deps_json_files() {
        assert!(matches("app/App.deps.json"));
        assert!(!matches("app/.deps.json"));
        assert!(!matches("app/App.runtimeconfig.json"));
    }

    #[test]
    fn missing_libraries_is_malformed() {
        assert!(parse_deps_json("a.deps.json", b"{}").is_err());
    }
}
