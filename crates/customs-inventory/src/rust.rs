//! crates.io packages from `Cargo.lock`: every `[[package]]`, local ones without `source`
//! included. (cargo-auditable binaries are read in `rust_audit`.)

use serde::Deserialize;

use crate::Purl;
use crate::{ExtractError, Package};

/// Whether `path` is a `Cargo.lock`.
pub fn matches(path: &str) -> bool {
    path.rsplit('/').next() == Some("Cargo.lock")
}

/// Reads a `Cargo.lock`; same as [`parse_cargo_lock`].
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    parse_cargo_lock(path, data)
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
}

/// Reads a `Cargo.lock` (any lockfile version): one package per `[[package]]` entry.
pub fn parse_cargo_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| ExtractError::malformed("Cargo.lock", e.to_string()))?;
    let lock: Lockfile =
        toml::from_str(text).map_err(|e| ExtractError::malformed("Cargo.lock", e.to_string()))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| !p.name.is_empty() && !p.version.is_empty())
        .map(|p| Package {
            ecosystem: "crates.io".into(),
            purl: Purl::new("cargo", None, &p.name, &p.version, &[]),
            name: p.name,
            version: p.version,
            found_by: "cargo-lock".to_string(),
            locations: vec![format!("/{}", path.trim_start_matches('/'))],
            ..Package::default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_without_version_is_malformed() {
        assert!(parse_cargo_lock("Cargo.lock", b"[[package]]\nname = \"a\"\n").is_err());
    }

    #[test]
    fn lockfile_without_packages_is_empty() {
        assert!(parse_cargo_lock("Cargo.lock", b"version = 4\n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn matches_only_cargo_lock() {
        assert!(matches("src/app/Cargo.lock"));
        assert!(!matches("src/app/Cargo.toml"));
    }
}
