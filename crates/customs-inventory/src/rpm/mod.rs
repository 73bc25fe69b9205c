//! rpm package databases: BerkeleyDB `Packages`, NDB `Packages.db`, SQLite `rpmdb.sqlite`,
//! and the CBL-Mariner text manifest `container-manifest-2`. Packages are reported with
//! ecosystem `rpm`; the image scan picks the distribution ecosystem from `os-release`.

pub mod bdb;
pub mod header;
pub mod manifest;
pub mod ndb;
pub mod sqlite;

use crate::Purl;
use crate::{ExtractError, OsInfo, Package};

/// Directories rpm keeps its database in, across distributions and rpm versions.
const DB_DIRS: &[&str] = &["var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/"];
const DB_FILES: &[&str] = &["Packages", "Packages.db", "rpmdb.sqlite"];
const MANIFEST: &str = "var/lib/rpmmanifest/container-manifest-2";

/// Every path (relative to the image root) [`matches`] accepts.
pub fn database_paths() -> Vec<String> {
    let mut out = vec![MANIFEST.to_string()];
    for dir in DB_DIRS {
        out.extend(DB_FILES.iter().map(|f| format!("{dir}{f}")));
    }
    out
}

/// Whether `path` (relative to the image root) is an rpm database or manifest.
pub fn matches(path: &str) -> bool {
    path == MANIFEST
        || DB_DIRS.iter().any(|dir| {
            path.strip_prefix(dir)
                .is_some_and(|file| DB_FILES.contains(&file))
        })
}

/// Reads every package from the database or manifest at `path`. The format is chosen by
/// content (SQLite, NDB and BerkeleyDB magic), the manifest by its file name. A corrupt
/// database is an error; rpm's `gpg-pubkey` pseudo-packages (imported signing keys) are not
/// packages and are left out.
pub fn parse_database(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let location = format!("/{}", path.trim_start_matches('/'));
    if path.ends_with("container-manifest-2") {
        return Ok(manifest::parse(data)?
            .into_iter()
            .map(|e| manifest_package(&e, &location))
            .collect());
    }
    let mut packages = Vec::new();
    let mut add = |blob: &[u8]| -> Result<(), ExtractError> {
        let h = header::parse(blob)?;
        if h.name != "gpg-pubkey" {
            packages.push(header_package(h, &location));
        }
        Ok(())
    };
    if data.starts_with(sqlite::MAGIC) {
        sqlite::for_each_blob(data, &mut add)?;
    } else if data.starts_with(b"RpmP") {
        ndb::for_each_blob(data, &mut add)?;
    } else {
        bdb::for_each_value(data, &mut add)?;
    }
    Ok(packages)
}

fn header_package(h: header::RpmHeader, location: &str) -> Package {
    let mut version = String::with_capacity(h.version.len() + h.release.len() + 12);
    if let Some(epoch) = h.epoch {
        version.push_str(&epoch.to_string());
        version.push(':');
    }
    version.push_str(&h.version);
    version.push('-');
    version.push_str(&h.release);
    let (source_name, source_version) = split_source_rpm(h.source_rpm.as_deref());
    Package {
        ecosystem: "rpm".into(),
        name: h.name,
        version,
        licenses: h.license.into_iter().collect(),
        source_name,
        source_version,
        arch: h.arch,
        found_by: "rpm".into(),
        locations: vec![location.to_owned()],
        files: h.files,
        ..Package::default()
    }
}

fn manifest_package(e: &manifest::ManifestEntry<'_>, location: &str) -> Package {
    let version = match e.epoch {
        Some(epoch) => format!("{epoch}:{}", e.version_release),
        None => e.version_release.to_owned(),
    };
    let (source_name, source_version) = split_source_rpm(Some(e.source_rpm));
    Package {
        ecosystem: "rpm".into(),
        name: e.name.to_owned(),
        version,
        source_name,
        source_version,
        arch: Some(e.arch.to_owned()).filter(|a| !a.is_empty()),
        found_by: "rpm-manifest".into(),
        locations: vec![location.to_owned()],
        ..Package::default()
    }
}

/// `bash-4.4-19.6.1.src.rpm` -> (`bash`, `4.4-19.6.1`): the name is everything before the
/// second-to-last hyphen. `None`s when the file name has not that shape.
pub fn split_source_rpm(file: Option<&str>) -> (Option<String>, Option<String>) {
    let parsed = file.and_then(|f| {
        let stem = f
            .strip_suffix(".src.rpm")
            .or_else(|| f.strip_suffix(".nosrc.rpm"))?;
        let (rest, release) = stem.rsplit_once('-')?;
        let (name, version) = rest.rsplit_once('-')?;
        if name.is_empty() || version.is_empty() || release.is_empty() {
            return None;
        }
        Some((name.to_owned(), format!("{version}-{release}")))
    });
    match parsed {
        Some((n, v)) => (Some(n), Some(v)),
        None => (None, None),
    }
}

/// `pkg:rpm/<os id>/<name>@<version>-<release>?arch=..&distro=<id>-<version_id>&epoch=..`,
/// with `upstream=<source rpm file>` when the source is known, as Syft writes it. Without an
/// OS the namespace and `distro` are left out.
pub fn purl_for(pkg: &Package, os: Option<&OsInfo>) -> Option<Purl> {
    let (epoch, version) = match pkg.version.split_once(':') {
        Some((e, v)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e, v),
        _ => ("", pkg.version.as_str()),
    };
    let distro = os.map(crate::os::distro_qualifier).unwrap_or_default();
    let upstream = match (&pkg.source_name, &pkg.source_version) {
        (Some(n), Some(v)) => format!("{n}-{v}.src.rpm"),
        _ => String::new(),
    };
    Purl::new(
        "rpm",
        os.map(|o| o.family.as_str()),
        &pkg.name,
        version,
        &[
            ("arch", pkg.arch.as_deref().unwrap_or("")),
            ("epoch", epoch),
            ("distro", &distro),
            ("upstream", &upstream),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_splits_at_last_two_hyphens() {
        assert_eq!(
            split_source_rpm(Some("rpm-config-SUSE-1-5.6.1.src.rpm")),
            (Some("rpm-config-SUSE".into()), Some("1-5.6.1".into()))
        );
        assert_eq!(split_source_rpm(Some("nohyphen.src.rpm")), (None, None));
        assert_eq!(split_source_rpm(Some("a-1-2.rpm")), (None, None));
    }

    #[test]
    fn matches_database_files_in_known_directories_only() {
        assert!(matches("var/lib/rpm/Packages"));
        assert!(matches("usr/lib/sysimage/rpm/Packages.db"));
        assert!(matches("var/lib/rpm/rpmdb.sqlite"));
        assert!(matches("var/lib/rpmmanifest/container-manifest-2"));
        assert!(!matches("var/lib/rpm/Name"));
        assert!(!matches("home/u/var/lib/rpm/Packages"));
    }

    #[test]
    fn purl_separates_epoch_and_names_source_rpm() {
        let pkg = Package {
            name: "vim".into(),
            version: "2:9.0-1.cm2".into(),
            arch: Some("x86_64".into()),
            source_name: Some("vim".into()),
            source_version: Some("9.0-1.cm2".into()),
            ..Package::default()
        };
        let os = OsInfo {
            family: "mariner".into(),
            version: "2.0".into(),
            ..OsInfo::default()
        };
        assert_eq!(
            purl_for(&pkg, Some(&os)).unwrap().to_string(),
            "pkg:rpm/mariner/vim@9.0-1.cm2?arch=x86_64&distro=mariner-2.0&epoch=2&upstream=vim-9.0-1.cm2.src.rpm"
        );
        assert_eq!(
            purl_for(&pkg, None).unwrap().to_string(),
            "pkg:rpm/vim@9.0-1.cm2?arch=x86_64&epoch=2&upstream=vim-9.0-1.cm2.src.rpm"
        );
    }
}
