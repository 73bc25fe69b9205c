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

/// Largest registry `Cargo.toml` read for its licence.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// Whether `path` is the `Cargo.toml` of a crate unpacked in a Cargo registry source
/// (`…/registry/src/<index>/<name>-<version>/Cargo.toml`, as under `$CARGO_HOME`).
pub fn registry_manifest_matches(path: &str) -> bool {
    let rest = match path.find("registry/src/") {
        Some(0) => &path["registry/src/".len()..],
        Some(i) if path.as_bytes()[i - 1] == b'/' => &path[i + "registry/src/".len()..],
        _ => return false,
    };
    let mut parts = rest.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(index), Some(dir), Some("Cargo.toml"), None) if !index.is_empty() && !dir.is_empty()
    )
}

#[derive(Deserialize)]
struct Manifest {
    package: Option<ManifestPackage>,
}

#[derive(Deserialize)]
struct ManifestPackage {
    name: String,
    version: String,
    license: Option<String>,
}

/// `(name, version, [licence])` from a registry crate's `Cargo.toml` (`license`, an SPDX
/// expression, kept as written). `None` when the file is not valid TOML, is larger than
/// [`MAX_MANIFEST_BYTES`], has no `[package]` with a plain name and version, or no licence.
pub fn registry_manifest_license(data: &[u8]) -> Option<(String, String, Vec<String>)> {
    if data.len() > MAX_MANIFEST_BYTES {
        return None;
    }
    let m: Manifest = toml::from_str(std::str::from_utf8(data).ok()?).ok()?;
    let p = m.package?;
    let license = p
        .license
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())?;
    (!p.name.is_empty() && !p.version.is_empty()).then(|| (p.name, p.version, vec![license]))
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

    #[test]
    fn registry_manifests_are_recognised_by_their_place() {
        let ok = "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.1/Cargo.toml";
        assert!(registry_manifest_matches(ok));
        assert!(registry_manifest_matches(
            "usr/local/cargo/registry/src/github.com-1ecc6299db9ec823/libc-0.2.0/Cargo.toml"
        ));
        assert!(!registry_manifest_matches(
            "root/.cargo/registry/src/idx/serde-1.0.1/sub/Cargo.toml"
        ));
        assert!(!registry_manifest_matches("src/app/Cargo.toml"));
        assert!(!registry_manifest_matches(
            "myregistry/src/i/a-1/Cargo.toml"
        ));
    }

    #[test]
    fn registry_manifest_licence_is_read_as_written() {
        let m =
            b"[package]\nname = \"serde\"\nversion = \"1.0.1\"\nlicense = \"MIT OR Apache-2.0\"\n";
        assert_eq!(
            registry_manifest_license(m),
            Some((
                "serde".into(),
                "1.0.1".into(),
                vec!["MIT OR Apache-2.0".into()]
            ))
        );
        assert_eq!(
            registry_manifest_license(b"[package]\nname = \"a\"\nversion = \"1\"\n"),
            None
        );
        assert_eq!(registry_manifest_license(b"[package\n"), None);
        assert_eq!(
            registry_manifest_license(
                b"[package]\nname = \"a\"\nversion.workspace = true\nlicense = \"MIT\"\n"
            ),
            None
        );
    }
}
