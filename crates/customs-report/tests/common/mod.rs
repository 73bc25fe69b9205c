//! A small hand-built image, inventory and finding list shared by the rendering tests. Values
//! are modelled on a Debian 12 image; the advisories are real ids with their real fixes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use customs_inventory::{Inventory, OsInfo, Package, Warning};
use customs_report::{DocumentInfo, LayerInfo, Platform, Subject, Timestamp};
use customs_vulndb::{Finding, FixStatus, Severity, SeveritySource};

pub const BASE_LAYER: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const APP_LAYER: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

pub fn info() -> DocumentInfo {
    // 2023-11-14T22:13:20Z
    DocumentInfo::new(
        "0.1.0",
        Timestamp::from_unix_seconds(1_700_000_000).unwrap(),
    )
}

pub fn subject() -> Subject {
    Subject {
        name: "registry.example.test/team/app:1.0".into(),
        manifest_digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            .into(),
        config_digest: "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
            .into(),
        platform: Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        },
        layers: vec![
            LayerInfo {
                diff_id: BASE_LAYER.into(),
                digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333"
                    .into(),
                size: 29_150_000,
            },
            LayerInfo {
                diff_id: APP_LAYER.into(),
                digest: "sha256:4444444444444444444444444444444444444444444444444444444444444444"
                    .into(),
                size: 1_024,
            },
        ],
        labels: BTreeMap::from([
            (
                "org.opencontainers.image.source".into(),
                "https://example.test/app".into(),
            ),
            ("maintainer".into(), "team@example.test".into()),
        ]),
        base_name: Some("docker.io/library/debian:12".into()),
        base_digest: Some(
            "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
        ),
    }
}

fn deb(name: &str, version: &str, source: Option<(&str, &str)>, licenses: &[&str]) -> Package {
    Package {
        ecosystem: "Debian".into(),
        name: name.into(),
        version: version.into(),
        purl: customs_inventory::Purl::new(
            "deb",
            Some("debian"),
            name,
            version,
            &[("arch", "amd64"), ("distro", "debian-12")],
        ),
        licenses: licenses.iter().map(|l| l.to_string()).collect(),
        source_name: source.map(|s| s.0.into()),
        source_version: source.map(|s| s.1.into()),
        arch: Some("amd64".into()),
        found_by: "dpkg".into(),
        locations: vec!["/var/lib/dpkg/status".into()],
        layer: Some(BASE_LAYER.into()),
        files: vec![format!("/usr/share/doc/{name}/copyright")],
        root: false,
        private: false,
    }
}

fn lang(
    ecosystem: &str,
    name: &str,
    version: &str,
    purl: &str,
    licenses: &[&str],
    found_by: &str,
    location: &str,
) -> Package {
    Package {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: version.into(),
        purl: customs_inventory::Purl::parse(purl).ok(),
        licenses: licenses.iter().map(|l| l.to_string()).collect(),
        found_by: found_by.into(),
        locations: vec![location.into()],
        layer: Some(APP_LAYER.into()),
        ..Package::default()
    }
}

pub fn bash() -> Package {
    deb("bash", "5.2.15-2+b2", None, &["GPL-3.0-or-later"])
}
pub fn libssl() -> Package {
    deb(
        "libssl3",
        "3.0.11-1~deb12u2",
        Some(("openssl", "3.0.11-1~deb12u2")),
        &["Apache-2.0", "Artistic"],
    )
}
pub fn openssl() -> Package {
    deb("openssl", "3.0.11-1~deb12u2", None, &["Apache-2.0"])
}
pub fn requests() -> Package {
    lang(
        "PyPI",
        "requests",
        "2.30.0",
        "pkg:pypi/requests@2.30.0",
        &["Apache 2.0"],
        "python-dist-info",
        "/usr/lib/python3/dist-packages/requests-2.30.0.dist-info/METADATA",
    )
}
pub fn x_net() -> Package {
    lang(
        "Go",
        "golang.org/x/net",
        "v0.15.0",
        "pkg:golang/golang.org/x/net@v0.15.0",
        &["BSD-3-Clause"],
        "go-binary",
        "/usr/local/bin/app",
    )
}
pub fn left_pad(dir: &str) -> Package {
    lang(
        "npm",
        "left-pad",
        "1.3.0",
        "pkg:npm/left-pad@1.3.0",
        &["WTFPL"],
        "npm-package-json",
        &format!("/{dir}/node_modules/left-pad/package.json"),
    )
}
pub fn smallvec() -> Package {
    lang(
        "crates.io",
        "smallvec",
        "1.11.0",
        "pkg:cargo/smallvec@1.11.0",
        &["MIT OR Apache-2.0"],
        "rust-cargo-auditable",
        "/usr/local/bin/app",
    )
}

/// Packages in a deliberately jumbled order.
pub fn inventory() -> Inventory {
    Inventory {
        os: Some(OsInfo {
            family: "debian".into(),
            version: "12".into(),
            codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        packages: vec![
            requests(),
            left_pad("srv"),
            libssl(),
            x_net(),
            bash(),
            smallvec(),
            openssl(),
            left_pad("app"),
        ],
        suppressed: vec![lang(
            "PyPI",
            "six",
            "1.16.0",
            "pkg:pypi/six@1.16.0",
            &["MIT"],
            "python-dist-info",
            "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
        )],
        warnings: vec![Warning {
            path: "/usr/local/bin/broken".into(),
            layer: Some(APP_LAYER.into()),
            message: "truncated ELF file".into(),
        }],
        ..Inventory::default()
    }
}

fn cvss(vector: &str, score: f64) -> SeveritySource {
    SeveritySource {
        source: String::new(),
        kind: "CVSS_V3".into(),
        vector: Some(vector.into()),
        score: Some(score),
    }
}

fn finding(id: &str, package: Package, severity: Severity, source: SeveritySource) -> Finding {
    Finding {
        id: id.into(),
        aliases: Vec::new(),
        package,
        severity,
        severity_source: source,
        fix_status: FixStatus::NotFixed,
        fixed_versions: Vec::new(),
        summary: String::new(),
        source: String::new(),
        references: Vec::new(),
        ratings: Vec::new(),
        kev: None,
        epss: None,
    }
}

fn fixed(mut f: Finding, version: &str) -> Finding {
    f.fix_status = FixStatus::Fixed;
    f.fixed_versions = vec![version.into()];
    f
}

/// Findings in a deliberately jumbled order; CVE-2023-5678 affects two packages.
pub fn findings() -> Vec<Finding> {
    let openssl_source = cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3);
    let mut libssl_cve = fixed(
        finding(
            "CVE-2023-5678",
            libssl(),
            Severity::Medium,
            openssl_source.clone(),
        ),
        "3.0.13-1~deb12u1",
    );
    libssl_cve.summary =
        "Excessive time spent in DH check / generation with large Q parameter value".into();
    libssl_cve.source = "osv:Debian".into();
    libssl_cve.references = vec!["https://www.openssl.org/news/secadv/20231106.txt".into()];
    let mut openssl_cve = libssl_cve.clone();
    openssl_cve.package = openssl();

    let mut requests_ghsa = fixed(
        finding(
            "GHSA-j8r2-6x86-q33q",
            requests(),
            Severity::Medium,
            cvss("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),
        ),
        "2.31.0",
    );
    requests_ghsa.aliases = vec!["CVE-2023-32681".into()];
    requests_ghsa.summary = "Unintended leak of Proxy-Authorization header in requests".into();
    requests_ghsa.source = "osv:PyPI".into();
    requests_ghsa.references =
        vec!["https://github.com/psf/requests/security/advisories/GHSA-j8r2-6x86-q33q".into()];

    let mut go = fixed(
        finding(
            "GO-2023-2102",
            x_net(),
            Severity::High,
            cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ),
        "v0.17.0",
    );
    go.aliases = vec!["CVE-2023-39325".into(), "GHSA-4374-p667-p6c8".into()];
    go.summary = "HTTP/2 rapid reset can cause excessive work in net/http".into();
    go.source = "osv:Go".into();

    let mut bash_cve = finding(
        "CVE-2022-3715",
        bash(),
        Severity::Low,
        SeveritySource {
            source: String::new(),
            kind: "ecosystem".into(),
            vector: Some("unimportant".into()),
            score: None,
        },
    );
    bash_cve.summary = "A flaw was found in the bash package, where a heap-buffer overflow can occur in valid parameter_transform.".into();
    bash_cve.source = "osv:Debian".into();

    vec![requests_ghsa, bash_cve, openssl_cve, go, libssl_cve]
}
