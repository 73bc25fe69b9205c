//! Runs every line of the OSV version-ordering corpus in `shared/versions/` (copied from
//! google/osv-scalibr `semantic/testdata`, plus a Go file written for customs) through
//! `compare`, in both directions, as the upstream `semantic/compare_test.go` does.

mod common;

use customs_version::Scheme;

/// Checks `shared/versions/<file>` under `scheme`.
fn check(scheme: Scheme, file: &str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/versions/");
    common::check(scheme, &format!("{dir}{file}"));
}

#[test]
fn alpine_hand_written_cases_order_like_apk() {
    check(Scheme::Apk, "alpine-versions.txt");
}

#[test]
fn alpine_real_versions_order_like_apk() {
    check(Scheme::Apk, "alpine-versions-generated.txt");
}

#[test]
fn debian_hand_written_cases_order_like_dpkg() {
    check(Scheme::Dpkg, "debian-versions.txt");
}

#[test]
fn debian_real_versions_order_like_dpkg() {
    check(Scheme::Dpkg, "debian-versions-generated.txt");
}

#[test]
fn redhat_cases_order_like_rpmvercmp() {
    check(Scheme::Rpm, "redhat-versions.txt");
}

#[test]
fn pypi_hand_written_cases_order_like_packaging() {
    check(Scheme::Pep440, "pypi-versions.txt");
}

#[test]
fn pypi_real_versions_order_like_packaging() {
    check(Scheme::Pep440, "pypi-versions-generated.txt");
}

#[test]
fn semver_cases_order_by_semver_precedence() {
    check(Scheme::Semver, "semver-versions.txt");
}

#[test]
fn go_module_and_toolchain_cases_order_like_go() {
    check(Scheme::Go, "go-versions.txt");
}

#[test]
fn maven_hand_written_cases_order_like_comparable_version() {
    check(Scheme::Maven, "maven-versions.txt");
}

#[test]
fn maven_real_versions_order_like_comparable_version() {
    check(Scheme::Maven, "maven-versions-generated.txt");
}

#[test]
fn nuget_cases_order_like_nuget() {
    check(Scheme::NuGet, "nuget-versions.txt");
}

#[test]
fn packagist_hand_written_cases_order_like_version_compare() {
    check(Scheme::Composer, "packagist-versions.txt");
}

#[test]
fn packagist_real_versions_order_like_version_compare() {
    check(Scheme::Composer, "packagist-versions-generated.txt");
}

#[test]
fn rubygems_hand_written_cases_order_like_gem_version() {
    check(Scheme::RubyGems, "rubygems-versions.txt");
}

#[test]
fn rubygems_real_versions_order_like_gem_version() {
    check(Scheme::RubyGems, "rubygems-versions-generated.txt");
}
