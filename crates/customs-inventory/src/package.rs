//! The package model shared by every extractor, matching and every report.

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Purl};

/// One package found in an image (or in a single file, for unit tests).
///
/// `ecosystem` uses OSV ecosystem names without a release suffix: `Debian`, `Alpine`, `rpm`
/// (until the OS decides `Red Hat`, `SUSE`, ...), `PyPI`, `npm`, `Go`, `crates.io`, `Maven`,
/// `RubyGems`, `NuGet`, `Packagist`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Package {
    /// The ecosystem, as above.
    pub ecosystem: Ecosystem,
    /// Name, as the ecosystem writes it.
    pub name: String,
    /// Version, as installed or locked.
    pub version: String,
    /// Package URL (`pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<Purl>,
    /// Declared licences, as written by the package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// OS packages: the source package (dpkg `Source:`, apk origin, rpm `sourcerpm` name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// OS packages: the source version when it differs or is written explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Architecture of an OS package (`amd64`, `x86_64`).
    pub arch: Option<String>,
    /// Which extractor found it (`dpkg`, `apk`, `rpm`, `python-dist-info`, `npm-package-json`,
    /// `go-binary`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub found_by: String,
    /// Paths (absolute inside the image) of the files the package was read from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
    /// diff-id of the layer that introduced the package (filled by the image scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The application component itself: the project whose manifest or lockfile was found
    /// (a `package.json` outside `node_modules`, a lockfile's own entry), not something it
    /// installed. Syft and Trivy list it too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
    /// A root project that declares itself unpublishable (`"private": true`): no registry
    /// package has its name, so it is never matched against advisories.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// Files the package owns (OS packages), used to avoid double counting. Not serialised.
    #[serde(skip)]
    pub files: Vec<String>,
}

impl Package {
    /// The package URL as text, or an empty string when the package has none.
    pub fn purl_string(&self) -> String {
        self.purl.as_ref().map(Purl::to_string).unwrap_or_default()
    }

    /// Whether advisories may name this package: false for a private root project.
    pub fn matchable(&self) -> bool {
        !(self.root && self.private)
    }
}

/// Operating system of an image, from `os-release` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OsInfo {
    /// `ID` from os-release: `debian`, `alpine`, `ubuntu`, `rhel`, `rocky`, `almalinux`, `wolfi`, ...
    pub family: String,
    /// `VERSION_ID`: `12`, `3.11.5`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `VERSION_CODENAME` (`bookworm`), when given.
    pub codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `PRETTY_NAME`, when given.
    pub pretty_name: Option<String>,
}

/// A problem that did not stop the scan: a corrupt database, a truncated binary, a zip bomb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The file (absolute inside the image), or the document, it is about.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// diff-id of the layer the file is in, when known.
    pub layer: Option<String>,
    /// What went wrong, for a person.
    pub message: String,
}

/// Everything found in one image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The operating system, when one was detected.
    pub os: Option<OsInfo>,
    /// Every package, OS and language, in a stable order.
    pub packages: Vec<Package>,
    /// Language packages not reported because an OS package owns their files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Problems met on the way; the inventory is still usable.
    pub warnings: Vec<Warning>,
    /// OS package databases (dpkg, apk) that are present but could not be read: the package
    /// list is incomplete, so `scan` fails and `check` reports a violation unless told
    /// otherwise. Each is also in `warnings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<Warning>,
}
